/* Stress of a remote I/O target: sender threads send asynchronous and synchronous requests
 * (completed inline, later, or never: then cancelled through the framework or on their IRP, or
 * timed out) while the main thread stops,
 * starts, purges, closes and reopens the target, query-removes its device with a veto (the
 * default close for the query-remove and reopen on the cancel) and finally surprise-removes it.
 * Every accepted send completes exactly once, refused sends never complete, and every object
 * is gone at the end (the harness checks live objects). Meant for TSan as well. */
#include "wdf_testdrv.h"

#include <pnpkit/cfgmgr32.h>
#include <pnpkit/sim.h>

DEFINE_GUID(STRESS_GUID, 0x7d2a6b1e, 0x1f0a, 0x4c55, 0x9a, 0x11, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x71);
#define TGT_HWID u"WT\\TGT\0"
#define SENDERS 4

static NTSTATUS tgt_entry(PDRIVER_OBJECT d, PUNICODE_STRING p)
{
    wtw_install(d, wtw_add1);
    return STATUS_SUCCESS;
}

static WDFIOTARGET target;
static WCHAR link_buf[512];
static UNICODE_STRING link_name;
static volatile bool stop_senders;
static volatile LONG accepted, completed, refused, sync_done_count, twice;

typedef struct sender {
    int index;
    uint32_t rng;
    WDFREQUEST request;
    WDFMEMORY in, out;
    char inbuf[8], outbuf[8];
    volatile LONG calls;
    KEVENT done;
} sender;

static sender senders[SENDERS];

static void on_done(WDFREQUEST request, WDFIOTARGET t, PWDF_REQUEST_COMPLETION_PARAMS params, WDFCONTEXT context)
{
    sender *s = context;
    if (InterlockedIncrement(&s->calls) != 1)
        InterlockedIncrement(&twice);
    InterlockedIncrement(&completed);
    KeSetEvent(&s->done, IO_NO_INCREMENT, FALSE);
}

static void *sender_main(void *arg)
{
    sender *s = arg;
    static const ULONG codes[3] = { WT_IOCTL_ECHO, WT_IOCTL_LATER, WT_IOCTL_NEVER };

    while (!__atomic_load_n(&stop_senders, __ATOMIC_ACQUIRE)) {
        uint32_t x = pk_test_rand(&s->rng);
        ULONG code = codes[x % 3];
        WDF_REQUEST_SEND_OPTIONS o;
        WDF_REQUEST_REUSE_PARAMS rp;
        bool timeout = (x >> 4) & 1;

        if (((x >> 8) & 7) == 0) {
            /* A synchronous send with a timeout. */
            WDF_MEMORY_DESCRIPTOR in;
            char b[4] = "syn";
            WDF_MEMORY_DESCRIPTOR_INIT_BUFFER(&in, b, sizeof(b));
            WDF_REQUEST_SEND_OPTIONS_INIT(&o, 0);
            WDF_REQUEST_SEND_OPTIONS_SET_TIMEOUT(&o, WDF_REL_TIMEOUT_IN_MS(3));
            (void)WdfIoTargetSendIoctlSynchronously(target, NULL, code, &in, NULL, &o, NULL);
            InterlockedIncrement(&sync_done_count);
            continue;
        }
        WDF_REQUEST_REUSE_PARAMS_INIT(&rp, WDF_REQUEST_REUSE_NO_FLAGS, STATUS_SUCCESS);
        assert_int_equal(WdfRequestReuse(s->request, &rp), STATUS_SUCCESS);
        if (!NT_SUCCESS(WdfIoTargetFormatRequestForIoctl(target, s->request, code, s->in, NULL, s->out, NULL))) {
            usleep(100);
            continue;
        }
        s->calls = 0;
        KeClearEvent(&s->done);
        WdfRequestSetCompletionRoutine(s->request, on_done, s);
        WDF_REQUEST_SEND_OPTIONS_INIT(&o, 0);
        if (timeout)
            WDF_REQUEST_SEND_OPTIONS_SET_TIMEOUT(&o, WDF_REL_TIMEOUT_IN_MS(1 + (x >> 12) % 4));
        if (!WdfRequestSend(s->request, target, &o)) {
            InterlockedIncrement(&refused);
            assert_int_equal(s->calls, 0);
            usleep(100);
            continue;
        }
        InterlockedIncrement(&accepted);
        if (!timeout) {
            usleep((x >> 16) % 2000);
            /* Through the framework, or on the IRP itself (a held request's IRP has a cancel
             * routine of the target's). */
            if (x & 32)
                (void)IoCancelIrp(WdfRequestWdmGetIrp(s->request));
            else
                (void)WdfRequestCancelSentRequest(s->request);
        }
        pk_test_wait_event(&s->done);
        assert_int_equal(s->calls, 1);
    }
    return NULL;
}

static void reopen(void)
{
    WDF_IO_TARGET_OPEN_PARAMS p;
    WDF_IO_TARGET_OPEN_PARAMS_INIT_OPEN_BY_NAME(&p, &link_name, GENERIC_READ | GENERIC_WRITE);
    assert_int_equal(WdfIoTargetOpen(target, &p), STATUS_SUCCESS);
}

static HSWDEVICE src_h, tgt_h;
static DEVINST src_dn, tgt_dn;
static pk_test_threads sender_threads[SENDERS];

/* The stack, an open target and SENDERS sender threads sending to it. */
static void stress_begin(void)
{
    pk_test_capture_verifier();
    wt_reset();
    wt_cfg[0].name = "src";
    wt_register_wdf(0, WT_FUNCTION);
    wtw_cfg[1].name = "tgt";
    wtw_cfg[1].iface = &STRESS_GUID;
    assert_int_equal(PnpkitDriverRegister(wtw_services[1], tgt_entry, TGT_HWID), STATUS_SUCCESS);
    wtw_registered[1] = true;
    wtw_start_worker();
    src_h = wt_device_create(u"src", &src_dn);
    tgt_h = wt_device_create_with_ids(u"tgt", TGT_HWID, &tgt_dn);
    assert_true(wt_link(&STRESS_GUID, link_buf, 512));
    RtlInitUnicodeString(&link_name, link_buf);
    assert_int_equal(WdfIoTargetCreate(wt_st[0].device, WDF_NO_OBJECT_ATTRIBUTES, &target), STATUS_SUCCESS);
    reopen();

    stop_senders = false;
    accepted = completed = refused = sync_done_count = twice = 0;
    for (int i = 0; i < SENDERS; i++) {
        sender *s = &senders[i];
        memset(s, 0, sizeof(*s));
        s->index = i;
        s->rng = 77u + (uint32_t)i * 1013u;
        KeInitializeEvent(&s->done, NotificationEvent, FALSE);
        assert_int_equal(WdfRequestCreate(NULL, target, &s->request), STATUS_SUCCESS);
        assert_int_equal(WdfMemoryCreatePreallocated(NULL, s->inbuf, sizeof(s->inbuf), &s->in), STATUS_SUCCESS);
        assert_int_equal(WdfMemoryCreatePreallocated(NULL, s->outbuf, sizeof(s->outbuf), &s->out), STATUS_SUCCESS);
    }
    for (int i = 0; i < SENDERS; i++)
        pk_test_threads_start(&sender_threads[i], 1, sender_main, &senders[i]);
}

/* Stops the senders and checks the invariants: every accepted send completed exactly once;
 * then everything is deleted (the harness checks that no object is left). */
static void stress_end(void)
{
    __atomic_store_n(&stop_senders, true, __ATOMIC_RELEASE);
    for (int i = 0; i < SENDERS; i++)
        pk_test_threads_join(&sender_threads[i]);

    assert_int_equal(__atomic_load_n(&twice, __ATOMIC_ACQUIRE), 0);
    assert_int_equal(__atomic_load_n(&accepted, __ATOMIC_ACQUIRE), __atomic_load_n(&completed, __ATOMIC_ACQUIRE));
    assert_true(__atomic_load_n(&accepted, __ATOMIC_ACQUIRE) > 0);
    print_message("accepted %ld refused %ld sync %ld\n", (long)__atomic_load_n(&accepted, __ATOMIC_ACQUIRE),
                  (long)__atomic_load_n(&refused, __ATOMIC_ACQUIRE),
                  (long)__atomic_load_n(&sync_done_count, __ATOMIC_ACQUIRE));
    for (int i = 0; i < SENDERS; i++) {
        WdfObjectDelete(senders[i].request);
        WdfObjectDelete(senders[i].in);
        WdfObjectDelete(senders[i].out);
    }
    WdfObjectDelete(target);
    wtw_flush_never();
    wt_device_close(tgt_h);
    wt_device_close(src_h);
    wt_teardown();
    assert_int_equal(pk_test_verifier_stops(), 0);
}

static void senders_survive_stop_start_purge_close_reopen_query_remove_and_surprise_removal(void **state)
{
    uint32_t rng = 12345;
    uint64_t end;

    stress_begin();
    end = pk_test_now_ms() + 1500;
    PnpkitSimVetoQueryRemove(tgt_dn, TRUE);
    while (pk_test_now_ms() < end) {
        switch (pk_test_rand(&rng) % 5) {
        case 0:
            WdfIoTargetStop(target, WdfIoTargetLeaveSentIoPending);
            usleep(500);
            assert_int_equal(WdfIoTargetStart(target), STATUS_SUCCESS);
            break;
        case 1:
            WdfIoTargetStop(target, WdfIoTargetCancelSentIo);
            assert_int_equal(WdfIoTargetStart(target), STATUS_SUCCESS);
            break;
        case 2:
            WdfIoTargetPurge(target, WdfIoTargetPurgeIoAndWait);
            usleep(200);
            assert_int_equal(WdfIoTargetStart(target), STATUS_SUCCESS);
            break;
        case 3:
            /* Vetoed by the stack: closed for the query-remove, then reopened by default. */
            assert_int_equal(CM_Query_And_Remove_SubTreeW(tgt_dn, NULL, NULL, 0, 0), CR_REMOVE_VETOED);
            PnpkitSimWaitIdle();
            assert_int_equal(WdfIoTargetGetState(target), WdfIoTargetStarted);
            break;
        default:
            WdfIoTargetClose(target);
            usleep(200);
            reopen();
            break;
        }
        usleep(300);
    }
    PnpkitSimVetoQueryRemove(tgt_dn, FALSE);
    /* Surprise removal: the default RemoveComplete closes the target. */
    assert_int_equal(PnpkitSimSurpriseRemove(tgt_dn), STATUS_SUCCESS);
    PnpkitSimWaitIdle();
    assert_int_equal(WdfIoTargetGetState(target), WdfIoTargetClosed);
    stress_end();
}

/* Start, Stop (each action) and Purge (each action) from two threads at once, at PASSIVE_LEVEL
 * and (Start, Stop with LeaveSentIoPending, PurgeIo) at DISPATCH_LEVEL, while the senders send,
 * cancel and time out. Start waits for a Stop or Purge in progress, or hands itself to it when
 * it cannot wait. Invariants: every state change returns (no deadlock, no lost wake-up); a
 * Start at PASSIVE_LEVEL succeeds; after the last Start the target is Started and delivers; each
 * accepted request completes exactly once; nothing is left. */
static volatile bool stop_controllers;
static volatile LONG changes;

static void *controller_main(void *arg)
{
    uint32_t rng = (uint32_t)(uintptr_t)arg;

    while (!__atomic_load_n(&stop_controllers, __ATOMIC_ACQUIRE)) {
        uint32_t x = pk_test_rand(&rng);
        KIRQL old;

        switch (x % 7) {
        case 0: WdfIoTargetStop(target, WdfIoTargetCancelSentIo); break;
        case 1: WdfIoTargetStop(target, WdfIoTargetWaitForSentIoToComplete); break;
        case 2: WdfIoTargetPurge(target, WdfIoTargetPurgeIoAndWait); break;
        case 3:
            KeRaiseIrql(DISPATCH_LEVEL, &old);
            if (x & 8)
                WdfIoTargetStop(target, WdfIoTargetLeaveSentIoPending);
            else
                WdfIoTargetPurge(target, WdfIoTargetPurgeIo);
            KeLowerIrql(old);
            break;
        case 4:
            KeRaiseIrql(DISPATCH_LEVEL, &old);
            assert_int_equal(WdfIoTargetStart(target), STATUS_SUCCESS);
            KeLowerIrql(old);
            break;
        default: assert_int_equal(WdfIoTargetStart(target), STATUS_SUCCESS); break;
        }
        InterlockedIncrement(&changes);
        if (x & 16)
            usleep((x >> 8) % 400);
    }
    return NULL;
}

static void start_stop_and_purge_racing_on_two_threads_complete_each_request_once(void **state)
{
    pk_test_threads c[2];
    NTSTATUS status;
    uint64_t end;

    stress_begin();
    stop_controllers = false;
    changes = 0;
    pk_test_threads_start(&c[0], 1, controller_main, (void *)(uintptr_t)991u);
    pk_test_threads_start(&c[1], 1, controller_main, (void *)(uintptr_t)4409u);
    end = pk_test_now_ms() + 1500;
    while (pk_test_now_ms() < end)
        usleep(10000);
    __atomic_store_n(&stop_controllers, true, __ATOMIC_RELEASE);
    pk_test_threads_join(&c[0]);
    pk_test_threads_join(&c[1]);
    assert_true(__atomic_load_n(&changes, __ATOMIC_ACQUIRE) > 100);
    assert_int_equal(WdfIoTargetStart(target), STATUS_SUCCESS);
    assert_int_equal(WdfIoTargetGetState(target), WdfIoTargetStarted);
    {
        WDF_MEMORY_DESCRIPTOR in;
        char b[4] = "end";
        WDF_MEMORY_DESCRIPTOR_INIT_BUFFER(&in, b, sizeof(b));
        status = WdfIoTargetSendIoctlSynchronously(target, NULL, WT_IOCTL_ECHO, &in, NULL, NULL, NULL);
        assert_int_equal(status, STATUS_SUCCESS);
    }
    print_message("state changes %ld\n", (long)__atomic_load_n(&changes, __ATOMIC_ACQUIRE));
    stress_end();
}

PK_TEST_MAIN(PK_TEST(senders_survive_stop_start_purge_close_reopen_query_remove_and_surprise_removal),
             PK_TEST(start_stop_and_purge_racing_on_two_threads_complete_each_request_once))
