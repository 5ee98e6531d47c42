/* Synchronization scope of queue callbacks: with scope Queue, the I/O callbacks of one queue
 * never run at the same time, even on a parallel queue; with scope Device, the I/O callbacks of
 * all the device's queues (and its file-object callbacks) never run at the same time; with scope
 * None they may. A request forwarded inside a callback to another queue of the same Device scope
 * is presented afterwards (not inside the callback that holds the scope, which would deadlock).
 * Each test sends many IOCTLs from several threads to a parallel default queue whose callback
 * lingers a little, counting the callbacks running at once; every request completes exactly
 * once and nothing is left (the harness checks live objects). */
#include "wdf_testdrv.h"

#define THREADS 4
#define PER_THREAD 40
#define CODE_FORWARD CTL_CODE(FILE_DEVICE_UNKNOWN, 0x8A0, METHOD_BUFFERED, FILE_ANY_ACCESS)

static HSWDEVICE h;
static PFILE_OBJECT fo;
static WDFQUEUE second_queue;
static volatile LONG running, max_running, callbacks, second_callbacks, forward_inside_ok;

static void enter(void)
{
    LONG now = InterlockedIncrement(&running);
    LONG m = __atomic_load_n(&max_running, __ATOMIC_ACQUIRE);
    while (now > m && !__atomic_compare_exchange_n(&max_running, &m, now, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        ;
    usleep(300); /* long enough for the other threads' requests to arrive meanwhile */
}

static void leave(void) { InterlockedDecrement(&running); }

/* The second queue's callback: completes what the default queue forwarded. */
static VOID second_ioctl(WDFQUEUE q, WDFREQUEST r, size_t out_len, size_t in_len, ULONG code)
{
    enter();
    InterlockedIncrement(&second_callbacks);
    leave();
    WdfRequestComplete(r, STATUS_SUCCESS);
}

/* The default queue's callback: completes inline, or forwards CODE_FORWARD to the second queue
 * (with scope Device, the second queue cannot present it inside this callback). */
static VOID linger_ioctl(WDFQUEUE q, WDFREQUEST r, size_t out_len, size_t in_len, ULONG code)
{
    enter();
    InterlockedIncrement(&callbacks);
    if (code == CODE_FORWARD && second_queue) {
        LONG before = __atomic_load_n(&second_callbacks, __ATOMIC_ACQUIRE);
        NTSTATUS status = WdfRequestForwardToIoQueue(r, second_queue);
        if (NT_SUCCESS(status) && __atomic_load_n(&second_callbacks, __ATOMIC_ACQUIRE) == before)
            InterlockedIncrement(&forward_inside_ok);
        leave();
        if (!NT_SUCCESS(status))
            WdfRequestComplete(r, status);
        return;
    }
    leave();
    WdfRequestComplete(r, STATUS_SUCCESS);
}

static void make_second_queue(WDFDEVICE device)
{
    WDF_IO_QUEUE_CONFIG qc;

    WDF_IO_QUEUE_CONFIG_INIT(&qc, WdfIoQueueDispatchParallel);
    qc.EvtIoDeviceControl = second_ioctl;
    qc.PowerManaged = WdfFalse;
    assert_int_equal(WdfIoQueueCreate(device, &qc, WDF_NO_OBJECT_ATTRIBUTES, &second_queue), STATUS_SUCCESS);
}

static void setup(PCWSTR name, WDF_SYNCHRONIZATION_SCOPE device_scope, WDF_SYNCHRONIZATION_SCOPE queue_scope,
                  bool second)
{
    wt_reset();
    running = max_running = callbacks = second_callbacks = forward_inside_ok = 0;
    second_queue = NULL;
    wt_cfg[0].name = "sync";
    wt_cfg[0].iface = &WT_GUID;
    wt_cfg[0].io_mode = WT_IO_COMPLETE;
    wt_cfg[0].dispatch = WdfIoQueueDispatchParallel;
    wt_cfg[0].ioctl = linger_ioctl;
    wt_cfg[0].power_managed = WdfFalse;
    wt_cfg[0].power_managed_set = true;
    wt_cfg[0].device_scope = device_scope;
    wt_cfg[0].queue_scope = queue_scope;
    if (device_scope == WdfSynchronizationScopeDevice)
        wt_cfg[0].device_level = WdfExecutionLevelPassive; /* its file objects inherit the scope */
    wt_cfg[0].device_created = second ? make_second_queue : NULL;
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(name, NULL);
    assert_non_null(wt_st[0].device);
    assert_int_equal(wt_open(&WT_GUID, NULL, &fo), STATUS_SUCCESS);
}

static void finish(void)
{
    wt_close(fo);
    fo = NULL;
    wt_device_close(h);
    wt_teardown();
}

typedef struct sender_arg {
    int index;
    bool forward_half;
} sender_arg;

static void *sender_main(void *arg)
{
    sender_arg *a = arg;
    wt_io io[PER_THREAD];

    for (int i = 0; i < PER_THREAD; i++)
        wt_io_start(&io[i], fo, a->forward_half && (i & 1) ? CODE_FORWARD : WT_IOCTL_ECHO, 4, 4);
    for (int i = 0; i < PER_THREAD; i++)
        assert_int_equal(wt_io_wait(&io[i]), STATUS_SUCCESS);
    return NULL;
}

/* THREADS threads each send PER_THREAD IOCTLs without waiting, then wait for all. */
static void send_from_threads(bool forward_half)
{
    pthread_t t[THREADS];
    sender_arg a[THREADS];

    for (int i = 0; i < THREADS; i++) {
        a[i].index = i;
        a[i].forward_half = forward_half;
        assert_int_equal(pthread_create(&t[i], NULL, sender_main, &a[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
}

static void scope_none_lets_a_parallel_queues_callbacks_overlap(void **state)
{
    setup(u"syncnone", 0, WdfSynchronizationScopeNone, false);
    send_from_threads(false);
    assert_int_equal(callbacks, THREADS * PER_THREAD);
    /* The control: without a scope the lingering callbacks do run at the same time. */
    assert_true(max_running > 1);
    finish();
}

static void scope_queue_runs_a_parallel_queues_callbacks_one_at_a_time(void **state)
{
    setup(u"syncqueue", 0, WdfSynchronizationScopeQueue, false);
    send_from_threads(false);
    assert_int_equal(callbacks, THREADS * PER_THREAD);
    assert_int_equal(max_running, 1);
    finish();
}

static void scope_device_runs_the_callbacks_of_all_its_queues_one_at_a_time(void **state)
{
    /* The default queue inherits Device from the device, and so does the second queue; half
     * the requests are forwarded from the first queue's callback to the second queue. */
    setup(u"syncdevice", WdfSynchronizationScopeDevice, 0, true);
    send_from_threads(true);
    assert_int_equal(callbacks, THREADS * PER_THREAD);
    assert_int_equal(second_callbacks, THREADS * PER_THREAD / 2);
    assert_int_equal(max_running, 1);
    /* Never presented inside the callback that forwarded it (the scope was held there). */
    assert_int_equal(forward_inside_ok, THREADS * PER_THREAD / 2);
    finish();
}

static void scope_queue_lets_two_queues_of_one_device_overlap(void **state)
{
    /* Scope Queue on the default queue only, none on the second: a request forwarded to the
     * second queue is presented at once, inside the first queue's callback (no lock of its own
     * to wait for), and the second queue's callbacks may run beside the first's. */
    setup(u"syncqueue2", 0, WdfSynchronizationScopeQueue, true);
    send_from_threads(true);
    assert_int_equal(callbacks, THREADS * PER_THREAD);
    assert_int_equal(second_callbacks, THREADS * PER_THREAD / 2);
    assert_int_equal(forward_inside_ok, 0);
    finish();
}

PK_TEST_MAIN(PK_TEST(scope_none_lets_a_parallel_queues_callbacks_overlap),
             PK_TEST(scope_queue_runs_a_parallel_queues_callbacks_one_at_a_time),
             PK_TEST(scope_device_runs_the_callbacks_of_all_its_queues_one_at_a_time),
             PK_TEST(scope_queue_lets_two_queues_of_one_device_overlap))
