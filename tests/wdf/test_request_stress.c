/* Stress (run it under TSan too): threads send requests through a WDF filter's local I/O target
 * to a WDM driver that completes some inline, some later from another thread and never completes
 * others (they end by cancel or timeout); another thread cancels at random; meanwhile the device
 * is surprise-removed. Every request that was sent completes exactly once, every refused send
 * says why, and nothing is left alive at the end. */
#include "wdf_testdrv.h"

#define SENDERS 3
#define SLOTS 4

typedef struct slot {
    WDFREQUEST request;
    WDFMEMORY in, out;
    char inbuf[8], outbuf[8];
    volatile LONG outstanding;   /* 1 from a successful send until its completion routine */
} slot;

static slot slots[SENDERS][SLOTS];
static WDFIOTARGET target;
static volatile LONG stop, sent, completed, refused, double_completions, bad_refusals, cancels_true;
static volatile LONG by_status[4]; /* success, cancelled, timeout, other */

static void on_done(WDFREQUEST request, WDFIOTARGET t, PWDF_REQUEST_COMPLETION_PARAMS params, WDFCONTEXT context)
{
    slot *s = context;
    NTSTATUS st = params->IoStatus.Status;

    InterlockedIncrement(&completed);
    InterlockedIncrement(&by_status[st == STATUS_SUCCESS ? 0 : st == STATUS_CANCELLED ? 1 : st == STATUS_IO_TIMEOUT ? 2 : 3]);
    if (__atomic_exchange_n(&s->outstanding, 0, __ATOMIC_SEQ_CST) != 1)
        InterlockedIncrement(&double_completions);
}

static void *sender(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint32_t rnd = 0x9E3779B9u * (uint32_t)(id + 1);

    while (!__atomic_load_n(&stop, __ATOMIC_SEQ_CST)) {
        slot *s = &slots[id][pk_test_rand(&rnd) % SLOTS];
        WDF_REQUEST_REUSE_PARAMS reuse;
        WDF_REQUEST_SEND_OPTIONS options;
        uint32_t pick = pk_test_rand(&rnd) % 10;
        ULONG code = pick < 4 ? WT_IOCTL_ECHO : pick < 8 ? WT_IOCTL_LATER : WT_IOCTL_NEVER;
        NTSTATUS status;

        if (__atomic_load_n(&s->outstanding, __ATOMIC_SEQ_CST))
            continue;
        WDF_REQUEST_REUSE_PARAMS_INIT(&reuse, WDF_REQUEST_REUSE_NO_FLAGS, STATUS_SUCCESS);
        if (!NT_SUCCESS(WdfRequestReuse(s->request, &reuse))) {
            InterlockedIncrement(&bad_refusals);
            continue;
        }
        status = WdfIoTargetFormatRequestForIoctl(target, s->request, code, s->in, NULL, s->out, NULL);
        if (!NT_SUCCESS(status)) {
            /* The device is gone: the target refuses formats too. */
            InterlockedIncrement(&refused);
            if (status != STATUS_INVALID_DEVICE_STATE)
                InterlockedIncrement(&bad_refusals);
            continue;
        }
        WdfRequestSetCompletionRoutine(s->request, on_done, s);
        WDF_REQUEST_SEND_OPTIONS_INIT(&options, 0);
        if (code == WT_IOCTL_NEVER || pk_test_rand(&rnd) % 3 == 0)
            WDF_REQUEST_SEND_OPTIONS_SET_TIMEOUT(&options, WDF_REL_TIMEOUT_IN_MS(1 + pk_test_rand(&rnd) % 4));
        __atomic_store_n(&s->outstanding, 1, __ATOMIC_SEQ_CST);
        if (WdfRequestSend(s->request, target, &options)) {
            InterlockedIncrement(&sent);
        } else {
            __atomic_store_n(&s->outstanding, 0, __ATOMIC_SEQ_CST);
            InterlockedIncrement(&refused);
            if (WdfRequestGetStatus(s->request) != STATUS_INVALID_DEVICE_STATE)
                InterlockedIncrement(&bad_refusals);
        }
    }
    return NULL;
}

static void *canceller(void *arg)
{
    uint32_t rnd = 12345;

    while (!__atomic_load_n(&stop, __ATOMIC_SEQ_CST)) {
        slot *s = &slots[pk_test_rand(&rnd) % SENDERS][pk_test_rand(&rnd) % SLOTS];
        if (WdfRequestCancelSentRequest(s->request))
            InterlockedIncrement(&cancels_true);
        usleep(100);
    }
    return NULL;
}

static void sends_cancels_timeouts_and_surprise_removal_complete_each_request_once(void **state)
{
    pthread_t threads[SENDERS + 1];
    WDF_OBJECT_ATTRIBUTES a;
    WDFOBJECT root;
    HSWDEVICE h;
    DEVINST dn;

    wt_reset();
    wt_cfg[0].name = "sender";
    wtw_cfg[0].name = "wdm";
    wt_register_wdm(0, WT_FUNCTION);
    wt_register_wdf(0, WT_UPPER);
    wtw_start_worker();
    h = wt_device_create(u"stress", &dn);
    target = WdfDeviceGetIoTarget(wt_st[0].device);
    /* The test's reference keeps the handle valid after the device is gone. */
    WdfObjectReference(target);
    assert_int_equal(WdfObjectCreate(NULL, &root), STATUS_SUCCESS);
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.ParentObject = root;
    for (int i = 0; i < SENDERS; i++)
        for (int k = 0; k < SLOTS; k++) {
            slot *s = &slots[i][k];
            memcpy(s->inbuf, "stress!", 8);
            assert_int_equal(WdfRequestCreate(&a, target, &s->request), STATUS_SUCCESS);
            assert_int_equal(WdfMemoryCreatePreallocated(&a, s->inbuf, 8, &s->in), STATUS_SUCCESS);
            assert_int_equal(WdfMemoryCreatePreallocated(&a, s->outbuf, 8, &s->out), STATUS_SUCCESS);
        }

    for (int i = 0; i < SENDERS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, sender, (void *)(intptr_t)i), 0);
    assert_int_equal(pthread_create(&threads[SENDERS], NULL, canceller, NULL), 0);
    usleep(300000);
    /* Unplugged while the requests fly: the removal closes the local target, which cancels what
     * it sent and waits for it. */
    assert_int_equal(PnpkitSimSurpriseRemove(dn), STATUS_SUCCESS);
    PnpkitSimWaitIdle();
    assert_int_equal(WdfIoTargetGetState(target), WdfIoTargetClosed);
    usleep(50000);
    __atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i <= SENDERS; i++)
        pthread_join(threads[i], NULL);

    /* The removal waited for every request it had sent; nothing is outstanding. */
    for (int i = 0; i < SENDERS; i++)
        for (int k = 0; k < SLOTS; k++)
            assert_int_equal(slots[i][k].outstanding, 0);
    fprintf(stderr, "stress: sent %d completed %d (ok %d cancelled %d timeout %d other %d) refused %d cancel-true %d\n",
            sent, completed, by_status[0], by_status[1], by_status[2], by_status[3], refused, cancels_true);
    assert_int_equal(double_completions, 0);
    assert_int_equal(bad_refusals, 0);
    assert_int_equal(sent, completed);
    assert_int_equal(by_status[3], 0);
    assert_true(sent > 0);
    assert_true(refused > 0);

    WdfObjectDelete(root);
    WdfObjectDereference(target);
    wt_device_close(h);
    wt_teardown();
}

PK_TEST_MAIN(PK_TEST(sends_cancels_timeouts_and_surprise_removal_complete_each_request_once))
