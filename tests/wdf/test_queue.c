/* I/O queues: sequential, parallel and manual dispatching, request dispatching by type, the
 * default queue, flat stacks under inline completion, power-managed queues, stop / start /
 * purge / drain, cancellation of waiting requests and of cancelable requests the driver holds,
 * and forwarding between queues. */
#include "wdf_testdrv.h"

static HSWDEVICE h;
static PFILE_OBJECT fo;

/* A WDF function driver with a default queue, opened once. */
static void setup(PCWSTR name)
{
    wt_cfg[0].name = "wdf";
    wt_cfg[0].iface = &WT_GUID;
    if (!wt_cfg[0].io_mode)
        wt_cfg[0].io_mode = WT_IO_COMPLETE;
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(name, NULL);
    assert_non_null(wt_st[0].device);
    assert_int_equal(wt_open(&WT_GUID, NULL, &fo), STATUS_SUCCESS);
}

static void finish(void)
{
    if (fo)
        wt_close(fo);
    fo = NULL;
    wt_device_close(h);
    wt_teardown();
}

static WDFQUEUE default_queue(void) { return WdfDeviceGetDefaultQueue(wt_st[0].device); }

static void sequential_queue_presents_one_request_at_a_time(void **state)
{
    wt_io io[3];

    wt_reset();
    wt_cfg[0].dispatch = WdfIoQueueDispatchSequential;
    setup(u"seq");
    for (int i = 0; i < 3; i++)
        wt_io_start(&io[i], fo, WT_IOCTL_HOLD, 0, 0);
    assert_int_equal(wt_st[0].nheld, 1);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(wt_complete_held(0, STATUS_SUCCESS), 1);
        assert_int_equal(wt_io_wait(&io[i]), STATUS_SUCCESS);
    }
    assert_int_equal(wt_st[0].nheld, 0);
    finish();
}

static void parallel_queue_presents_up_to_the_configured_limit(void **state)
{
    wt_io io[4];

    wt_reset();
    wt_cfg[0].dispatch = WdfIoQueueDispatchParallel;
    wt_cfg[0].parallel_limit = 2;
    setup(u"par");
    for (int i = 0; i < 4; i++)
        wt_io_start(&io[i], fo, WT_IOCTL_HOLD, 0, 0);
    assert_int_equal(wt_st[0].nheld, 2);
    assert_int_equal(wt_complete_held(0, STATUS_SUCCESS), 2);
    assert_int_equal(wt_st[0].nheld, 2);
    assert_int_equal(wt_complete_held(0, STATUS_SUCCESS), 2);
    for (int i = 0; i < 4; i++)
        assert_int_equal(wt_io_wait(&io[i]), STATUS_SUCCESS);
    finish();
}

static void manual_queue_keeps_requests_until_retrieved(void **state)
{
    wt_io io[2];
    WDFREQUEST r;

    wt_reset();
    wt_cfg[0].dispatch = WdfIoQueueDispatchManual;
    setup(u"manual");
    assert_int_equal(WdfIoQueueRetrieveNextRequest(default_queue(), &r), STATUS_NO_MORE_ENTRIES);
    assert_null(r);
    wt_io_start(&io[0], fo, WT_IOCTL_ECHO, 4, 4);
    wt_io_start(&io[1], fo, WT_IOCTL_ECHO, 4, 4);
    assert_int_equal(wt_st[0].ioctls, 0);
    for (int i = 0; i < 2; i++) {
        WDF_REQUEST_PARAMETERS p;
        assert_int_equal(WdfIoQueueRetrieveNextRequest(default_queue(), &r), STATUS_SUCCESS);
        WDF_REQUEST_PARAMETERS_INIT(&p);
        WdfRequestGetParameters(r, &p);
        assert_int_equal(p.Type, WdfRequestTypeDeviceControl);
        assert_int_equal(p.Parameters.DeviceIoControl.IoControlCode, WT_IOCTL_ECHO);
        assert_ptr_equal(WdfRequestGetIoQueue(r), default_queue());
        WdfRequestCompleteWithInformation(r, STATUS_SUCCESS, 3);
        assert_int_equal(wt_io_wait(&io[i]), STATUS_SUCCESS);
        assert_int_equal(io[i].information, 3);
    }
    finish();
}

static void retrieve_from_a_parallel_queue_is_refused(void **state)
{
    WDFREQUEST r;

    wt_reset();
    wt_cfg[0].dispatch = WdfIoQueueDispatchParallel;
    setup(u"retpar");
    assert_int_equal(WdfIoQueueRetrieveNextRequest(default_queue(), &r), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(WdfIoQueueRetrieveNextRequest(default_queue(), NULL), STATUS_INVALID_PARAMETER);
    finish();
}

/* ---- Dispatching by type ---- */

static VOID readq_read(WDFQUEUE q, WDFREQUEST r, size_t length)
{
    pk_log("readq:read:%zu", length);
    WdfRequestCompleteWithInformation(r, STATUS_SUCCESS, length);
}

static NTSTATUS config_status[8];

static void make_read_queue(WDFDEVICE device)
{
    WDF_IO_QUEUE_CONFIG qc;
    WDFQUEUE q, bad, second;

    WDF_IO_QUEUE_CONFIG_INIT(&qc, WdfIoQueueDispatchParallel);
    qc.EvtIoRead = readq_read;
    assert_int_equal(WdfIoQueueCreate(device, &qc, NULL, &q), STATUS_SUCCESS);
    config_status[0] = WdfDeviceConfigureRequestDispatching(device, q, WdfRequestTypeRead);
    /* The same type twice, a type queues cannot receive, a create queue without EvtIoDefault. */
    config_status[1] = WdfDeviceConfigureRequestDispatching(device, q, WdfRequestTypeRead);
    config_status[2] = WdfDeviceConfigureRequestDispatching(device, q, WdfRequestTypeCleanup);
    config_status[3] = WdfDeviceConfigureRequestDispatching(device, q, WdfRequestTypeCreate);
    /* A second default queue; a queue without any callback. */
    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&qc, WdfIoQueueDispatchParallel);
    qc.EvtIoDefault = (PFN_WDF_IO_QUEUE_IO_DEFAULT)wt_create_queue_default;
    config_status[4] = WdfIoQueueCreate(device, &qc, NULL, &second);
    WDF_IO_QUEUE_CONFIG_INIT(&qc, WdfIoQueueDispatchSequential);
    config_status[5] = WdfIoQueueCreate(device, &qc, NULL, &bad);
    qc.Size = 8;
    config_status[6] = WdfIoQueueCreate(device, &qc, NULL, &bad);
}

static NTSTATUS send_read(PFILE_OBJECT f, ULONG length, ULONG_PTR *information)
{
    PDEVICE_OBJECT top = IoGetRelatedDeviceObject(f);
    UCHAR buffer[16];
    IO_STATUS_BLOCK iosb;
    KEVENT done;
    PIRP irp;

    KeInitializeEvent(&done, NotificationEvent, FALSE);
    irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, top, buffer, length, NULL, &done, &iosb);
    assert_non_null(irp);
    IoGetNextIrpStackLocation(irp)->FileObject = f;
    if (IoCallDriver(top, irp) == STATUS_PENDING)
        KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
    if (information)
        *information = iosb.Information;
    return iosb.Status;
}

static void configured_type_goes_to_its_queue_and_the_rest_to_the_default_queue(void **state)
{
    ULONG_PTR info;

    pk_test_capture_verifier();
    wt_reset();
    wt_cfg[0].device_created = make_read_queue;
    setup(u"dispatch");
    assert_int_equal(config_status[0], STATUS_SUCCESS);
    assert_int_equal(send_read(fo, 8, &info), STATUS_SUCCESS);
    assert_int_equal(info, 8);
    assert_true(pk_log_find("readq:read:8", 0) >= 0);
    assert_int_equal(wt_ioctl_sync(fo, WT_IOCTL_ECHO, 4, 4, &info), STATUS_SUCCESS);
    assert_int_equal(wt_st[0].ioctls, 1);
    finish();
}

static void configure_dispatching_and_queue_create_reject_bad_configurations(void **state)
{
    pk_test_capture_verifier();
    wt_reset();
    wt_cfg[0].device_created = make_read_queue;
    setup(u"badcfg");
    assert_int_equal(config_status[1], STATUS_INVALID_PARAMETER);
    assert_int_equal(config_status[2], STATUS_INVALID_PARAMETER);
    assert_int_equal(config_status[3], STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(config_status[4], STATUS_INVALID_PARAMETER);
    assert_int_equal(config_status[5], STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(config_status[6], STATUS_INFO_LENGTH_MISMATCH);
    finish();
}

static void zero_length_read_completes_without_reaching_the_driver(void **state)
{
    wt_reset();
    wt_cfg[0].device_created = make_read_queue;
    setup(u"zerolen");
    assert_int_equal(send_read(fo, 0, NULL), STATUS_SUCCESS);
    assert_int_equal(pk_log_find("readq:read:0", 0), -1);
    finish();
}

static void inline_completions_present_the_next_request_without_nesting(void **state)
{
    wt_io hold, io[100];

    wt_reset();
    wt_cfg[0].dispatch = WdfIoQueueDispatchSequential;
    setup(u"flat");
    wt_io_start(&hold, fo, WT_IOCTL_HOLD, 0, 0);
    for (int i = 0; i < 100; i++)
        wt_io_start(&io[i], fo, WT_IOCTL_ECHO, 4, 4);
    assert_int_equal(wt_st[0].ioctls, 1);
    /* Completing the held request presents the 100 others on this thread, one after the other. */
    wt_complete_held(0, STATUS_SUCCESS);
    assert_int_equal(wt_io_wait(&hold), STATUS_SUCCESS);
    for (int i = 0; i < 100; i++)
        assert_int_equal(wt_io_wait(&io[i]), STATUS_SUCCESS);
    assert_int_equal(wt_st[0].ioctls, 101);
    assert_int_equal(wt_max_depth, 1);
    finish();
}

/* ---- Cancellation ---- */

static void waiting_request_cancelled_by_its_originator_completes_cancelled(void **state)
{
    wt_io io;

    wt_reset();
    wt_cfg[0].dispatch = WdfIoQueueDispatchManual;
    setup(u"cancelwait");
    wt_io_start(&io, fo, WT_IOCTL_ECHO, 4, 4);
    assert_true(IoCancelIrp(io.irp));
    assert_int_equal(wt_io_wait(&io), STATUS_CANCELLED);
    {
        ULONG waiting = 9, driver = 9;
        WdfIoQueueGetState(default_queue(), &waiting, &driver);
        assert_int_equal(waiting, 0);
        assert_int_equal(driver, 0);
    }
    finish();
}

static VOID canceled_on_queue(WDFQUEUE q, WDFREQUEST r)
{
    pk_log("canceled-on-queue");
    WdfRequestComplete(r, STATUS_REQUEST_ABORTED);
}

static void make_cancel_queue(WDFDEVICE device)
{
    WDF_IO_QUEUE_CONFIG qc;
    WDFQUEUE q;

    WDF_IO_QUEUE_CONFIG_INIT(&qc, WdfIoQueueDispatchManual);
    qc.EvtIoCanceledOnQueue = canceled_on_queue;
    assert_int_equal(WdfIoQueueCreate(device, &qc, NULL, &q), STATUS_SUCCESS);
    assert_int_equal(WdfDeviceConfigureRequestDispatching(device, q, WdfRequestTypeDeviceControl), STATUS_SUCCESS);
}

static void canceled_on_queue_callback_receives_a_cancelled_waiting_request(void **state)
{
    wt_io io;

    wt_reset();
    wt_cfg[0].device_created = make_cancel_queue;
    setup(u"cancelcb");
    wt_io_start(&io, fo, WT_IOCTL_ECHO, 4, 4);
    IoCancelIrp(io.irp);
    assert_int_equal(wt_io_wait(&io), STATUS_REQUEST_ABORTED);
    assert_true(pk_log_find("canceled-on-queue", 0) >= 0);
    finish();
}

static VOID cancel_held(WDFREQUEST r)
{
    pk_log("evt-cancel");
    WdfRequestComplete(r, STATUS_CANCELLED);
}

static void cancelable_request_gets_evt_request_cancel(void **state)
{
    wt_io io;
    WDFREQUEST r;

    wt_reset();
    wt_cfg[0].dispatch = WdfIoQueueDispatchParallel;
    setup(u"markcancel");
    wt_io_start(&io, fo, WT_IOCTL_HOLD, 0, 0);
    r = wt_st[0].held[0];
    WdfRequestMarkCancelable(r, cancel_held);
    assert_false(WdfRequestIsCanceled(r));
    assert_true(IoCancelIrp(io.irp));
    assert_int_equal(wt_io_wait(&io), STATUS_CANCELLED);
    assert_true(pk_log_find("evt-cancel", 0) >= 0);
    wt_st[0].nheld = 0;
    finish();
}

static void unmark_reports_a_cancel_in_progress_and_mark_ex_an_earlier_cancel(void **state)
{
    wt_io a, b;
    WDFREQUEST r;

    wt_reset();
    wt_cfg[0].dispatch = WdfIoQueueDispatchParallel;
    setup(u"unmark");
    /* Marked, then unmarked before any cancel: STATUS_SUCCESS, and the driver completes it. */
    wt_io_start(&a, fo, WT_IOCTL_HOLD, 0, 0);
    r = wt_st[0].held[0];
    assert_int_equal(WdfRequestMarkCancelableEx(r, cancel_held), STATUS_SUCCESS);
    assert_int_equal(WdfRequestUnmarkCancelable(r), STATUS_SUCCESS);
    assert_int_equal(WdfRequestUnmarkCancelable(r), STATUS_INVALID_DEVICE_REQUEST);
    IoCancelIrp(a.irp); /* no cancel routine: only the flag */
    assert_true(WdfRequestIsCanceled(r));
    /* Already cancelled when marked: Ex refuses and does not call the routine. */
    assert_int_equal(WdfRequestMarkCancelableEx(r, cancel_held), STATUS_CANCELLED);
    assert_int_equal(pk_log_find("evt-cancel", 0), -1);
    WdfRequestComplete(r, STATUS_CANCELLED);
    assert_int_equal(wt_io_wait(&a), STATUS_CANCELLED);
    /* Already cancelled when marked: WdfRequestMarkCancelable calls the routine at once. */
    wt_st[0].nheld = 0;
    wt_io_start(&b, fo, WT_IOCTL_HOLD, 0, 0);
    r = wt_st[0].held[0];
    IoCancelIrp(b.irp);
    WdfRequestMarkCancelable(r, cancel_held);
    assert_int_equal(wt_io_wait(&b), STATUS_CANCELLED);
    assert_true(pk_log_find("evt-cancel", 0) >= 0);
    wt_st[0].nheld = 0;
    finish();
}

/* ---- Purge, stop, start, drain ---- */

static void purge_cancels_waiting_requests_and_refuses_new_ones_until_start(void **state)
{
    wt_io io[3];

    wt_reset();
    wt_cfg[0].dispatch = WdfIoQueueDispatchManual;
    setup(u"purge");
    wt_io_start(&io[0], fo, WT_IOCTL_ECHO, 4, 4);
    wt_io_start(&io[1], fo, WT_IOCTL_ECHO, 4, 4);
    WdfIoQueuePurgeSynchronously(default_queue());
    assert_int_equal(wt_io_wait(&io[0]), STATUS_CANCELLED);
    assert_int_equal(wt_io_wait(&io[1]), STATUS_CANCELLED);
    wt_io_start(&io[2], fo, WT_IOCTL_ECHO, 4, 4);
    assert_int_equal(wt_io_wait(&io[2]), STATUS_INVALID_DEVICE_STATE);
    assert_false(WdfIoQueueGetState(default_queue(), NULL, NULL) & WdfIoQueueAcceptRequests);
    WdfIoQueueStart(default_queue());
    assert_true(WdfIoQueueGetState(default_queue(), NULL, NULL) & WdfIoQueueAcceptRequests);
    finish();
}

typedef struct purger {
    WDFQUEUE q;
    volatile int done;
} purger;

static void *purge_thread(void *arg)
{
    purger *p = arg;
    WdfIoQueuePurgeSynchronously(p->q);
    __atomic_store_n(&p->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void purge_synchronously_waits_for_requests_the_driver_holds(void **state)
{
    wt_io a, b;
    purger p;
    pthread_t t;

    wt_reset();
    wt_cfg[0].dispatch = WdfIoQueueDispatchParallel;
    setup(u"purgewait");
    wt_io_start(&a, fo, WT_IOCTL_HOLD, 0, 0);
    wt_io_start(&b, fo, WT_IOCTL_HOLD, 0, 0);
    /* One of them cancelable: the purge cancels it; the other it waits for. */
    WdfRequestMarkCancelable(wt_st[0].held[1], cancel_held);
    p.q = default_queue();
    p.done = 0;
    assert_int_equal(pthread_create(&t, NULL, purge_thread, &p), 0);
    assert_int_equal(wt_io_wait(&b), STATUS_CANCELLED);
    usleep(20000);
    assert_int_equal(p.done, 0);
    WdfRequestComplete(wt_st[0].held[0], STATUS_SUCCESS);
    wt_st[0].nheld = 0;
    pthread_join(t, NULL);
    assert_int_equal(p.done, 1);
    assert_int_equal(wt_io_wait(&a), STATUS_SUCCESS);
    finish();
}

static void stopped_queue_holds_requests_and_start_presents_them(void **state)
{
    wt_io io;
    WDFREQUEST r;

    wt_reset();
    wt_cfg[0].dispatch = WdfIoQueueDispatchSequential;
    setup(u"stop");
    WdfIoQueueStopSynchronously(default_queue());
    wt_io_start(&io, fo, WT_IOCTL_ECHO, 4, 4);
    assert_int_equal(wt_st[0].ioctls, 0);
    assert_int_equal(WdfIoQueueRetrieveNextRequest(default_queue(), &r), STATUS_WDF_PAUSED);
    WdfIoQueueStart(default_queue());
    assert_int_equal(wt_io_wait(&io), STATUS_SUCCESS);
    assert_int_equal(wt_st[0].ioctls, 1);
    finish();
}

static volatile LONG stop_notified;
static VOID on_stopped(WDFQUEUE q, WDFCONTEXT context)
{
    assert_ptr_equal(context, &stop_notified);
    InterlockedIncrement(&stop_notified);
}

static void stop_callback_runs_once_the_driver_holds_no_request(void **state)
{
    wt_io io;

    wt_reset();
    wt_cfg[0].dispatch = WdfIoQueueDispatchParallel;
    setup(u"stopcb");
    stop_notified = 0;
    wt_io_start(&io, fo, WT_IOCTL_HOLD, 0, 0);
    WdfIoQueueStop(default_queue(), on_stopped, (WDFCONTEXT)&stop_notified);
    assert_int_equal(stop_notified, 0);
    wt_complete_held(0, STATUS_SUCCESS);
    assert_int_equal(stop_notified, 1);
    assert_int_equal(wt_io_wait(&io), STATUS_SUCCESS);
    WdfIoQueueStart(default_queue());
    finish();
}

static void drain_presents_waiting_requests_but_refuses_new_ones(void **state)
{
    wt_io a, b, c;

    wt_reset();
    wt_cfg[0].dispatch = WdfIoQueueDispatchSequential;
    setup(u"drain");
    wt_io_start(&a, fo, WT_IOCTL_HOLD, 0, 0);
    wt_io_start(&b, fo, WT_IOCTL_ECHO, 4, 4);
    WdfIoQueueDrain(default_queue(), NULL, NULL);
    wt_io_start(&c, fo, WT_IOCTL_ECHO, 4, 4);
    assert_int_equal(wt_io_wait(&c), STATUS_INVALID_DEVICE_STATE);
    wt_complete_held(0, STATUS_SUCCESS);
    assert_int_equal(wt_io_wait(&a), STATUS_SUCCESS);
    assert_int_equal(wt_io_wait(&b), STATUS_SUCCESS);
    WdfIoQueueDrainSynchronously(default_queue());
    WdfIoQueueStart(default_queue());
    finish();
}

/* ---- Forwarding between queues ---- */

static WDFQUEUE side_queue;

static void make_side_queue(WDFDEVICE device)
{
    WDF_IO_QUEUE_CONFIG qc;
    WDF_IO_QUEUE_CONFIG_INIT(&qc, WdfIoQueueDispatchManual);
    assert_int_equal(WdfIoQueueCreate(device, &qc, NULL, &side_queue), STATUS_SUCCESS);
}

static VOID forwarding_ioctl(WDFQUEUE q, WDFREQUEST r, size_t out_len, size_t in_len, ULONG code)
{
    NTSTATUS status = WdfRequestForwardToIoQueue(r, side_queue);
    pk_log("forward:%s", PnpkitStatusName(status));
    assert_int_equal(WdfRequestForwardToIoQueue(r, side_queue), STATUS_INVALID_DEVICE_REQUEST);
}

static void forward_to_io_queue_moves_the_request(void **state)
{
    wt_io io;
    WDFREQUEST r;

    pk_test_capture_verifier();
    wt_reset();
    wt_cfg[0].ioctl = forwarding_ioctl;
    wt_cfg[0].device_created = make_side_queue;
    setup(u"forward");
    wt_io_start(&io, fo, WT_IOCTL_ECHO, 4, 4);
    assert_true(pk_log_find("forward:STATUS_SUCCESS", 0) >= 0);
    assert_false(wt_io_completed(&io));
    assert_int_equal(WdfIoQueueRetrieveNextRequest(side_queue, &r), STATUS_SUCCESS);
    assert_ptr_equal(WdfRequestGetIoQueue(r), side_queue);
    WdfRequestComplete(r, STATUS_SUCCESS);
    assert_int_equal(wt_io_wait(&io), STATUS_SUCCESS);
    finish();
}

/* ---- Power management ---- */

static NTSTATUS send_power(WDFDEVICE device, DEVICE_POWER_STATE ds)
{
    PDEVICE_OBJECT top = IoGetAttachedDeviceReference(WdfDeviceWdmGetPhysicalDevice(device));
    IO_STATUS_BLOCK iosb;
    KEVENT done;
    PIRP irp;
    PIO_STACK_LOCATION sp;

    KeInitializeEvent(&done, NotificationEvent, FALSE);
    irp = IoBuildSynchronousFsdRequest(IRP_MJ_POWER, top, NULL, 0, NULL, &done, &iosb);
    sp = IoGetNextIrpStackLocation(irp);
    sp->MinorFunction = IRP_MN_SET_POWER;
    sp->Parameters.Power.Type = DevicePowerState;
    sp->Parameters.Power.State.DeviceState = ds;
    if (IoCallDriver(top, irp) == STATUS_PENDING)
        KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
    ObDereferenceObject(top);
    return iosb.Status;
}

static void power_managed_queue_holds_requests_outside_d0(void **state)
{
    wt_io held, io;

    wt_reset();
    wt_cfg[0].dispatch = WdfIoQueueDispatchParallel;
    wt_cfg[0].io_stop = true;
    setup(u"pm");
    wt_io_start(&held, fo, WT_IOCTL_HOLD, 0, 0);
    /* Power down: EvtIoStop (Suspend) for the request the driver holds; it acknowledges. */
    assert_int_equal(send_power(wt_st[0].device, PowerDeviceD3), STATUS_SUCCESS);
    assert_true(pk_log_find("wdf:io-stop:suspend", 0) >= 0);
    assert_true(pk_log_find("wdf:io-stop:suspend", 0) < pk_log_find("wdf:d0exit:4", 0));
    wt_io_start(&io, fo, WT_IOCTL_ECHO, 4, 4);
    assert_false(wt_io_completed(&io));
    assert_true(WdfIoQueueGetState(default_queue(), NULL, NULL) & WdfIoQueuePnpHeld);
    assert_int_equal(send_power(wt_st[0].device, PowerDeviceD0), STATUS_SUCCESS);
    assert_int_equal(wt_io_wait(&io), STATUS_SUCCESS);
    wt_complete_held(0, STATUS_SUCCESS);
    assert_int_equal(wt_io_wait(&held), STATUS_SUCCESS);
    finish();
}

static void non_power_managed_queue_keeps_presenting_outside_d0(void **state)
{
    wt_io io;

    wt_reset();
    wt_cfg[0].power_managed = WdfFalse;
    wt_cfg[0].power_managed_set = true;
    setup(u"npm");
    assert_int_equal(send_power(wt_st[0].device, PowerDeviceD3), STATUS_SUCCESS);
    wt_io_start(&io, fo, WT_IOCTL_ECHO, 4, 4);
    assert_int_equal(wt_io_wait(&io), STATUS_SUCCESS);
    assert_int_equal(send_power(wt_st[0].device, PowerDeviceD0), STATUS_SUCCESS);
    finish();
}

static void removal_stops_with_purge_then_cancels_waiting_requests(void **state)
{
    wt_io held, waiting;
    DEVINST dn;

    wt_reset();
    wt_cfg[0].name = "wdf";
    wt_cfg[0].iface = &WT_GUID;
    wt_cfg[0].io_mode = WT_IO_COMPLETE;
    wt_cfg[0].dispatch = WdfIoQueueDispatchSequential;
    wt_cfg[0].io_stop = true;
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(u"removal", &dn);
    assert_int_equal(wt_open(&WT_GUID, NULL, &fo), STATUS_SUCCESS);
    wt_io_start(&held, fo, WT_IOCTL_HOLD, 0, 0);
    wt_io_start(&waiting, fo, WT_IOCTL_ECHO, 4, 4);
    assert_int_equal(PnpkitSimSurpriseRemove(dn), STATUS_SUCCESS);
    /* The surprise removal stops the queue: EvtIoStop(Purge), the request is acknowledged and
     * kept; the waiting one is cancelled. */
    assert_int_equal(wt_io_wait(&waiting), STATUS_CANCELLED);
    assert_true(pk_log_find("wdf:io-stop:purge", 0) >= 0);
    wt_complete_held(0, STATUS_SUCCESS);
    assert_int_equal(wt_io_wait(&held), STATUS_SUCCESS);
    PnpkitSimWaitIdle();
    finish();
}

/* ---- Devices without a queue for a request type ---- */

static void filter_without_queue_forwards_requests_down(void **state)
{
    ULONG_PTR info;

    wt_reset();
    wt_cfg[0].name = "filt";
    wtw_cfg[0].name = "func";
    wtw_cfg[0].iface = &WT_GUID;
    wt_register_wdm(0, WT_FUNCTION);
    wt_register_wdf(0, WT_UPPER);
    h = wt_device_create(u"filterfwd", NULL);
    assert_int_equal(wt_open(&WT_GUID, NULL, &fo), STATUS_SUCCESS);
    assert_int_equal(wt_ioctl_sync(fo, WT_IOCTL_ECHO, 4, 8, &info), STATUS_SUCCESS);
    assert_int_equal(info, 4);
    assert_int_equal(wtw_st[0].ioctls, 1);
    finish();
}

static void function_driver_without_queue_fails_requests(void **state)
{
    wt_reset();
    wt_cfg[0].io_mode = WT_IO_NONE;
    wt_cfg[0].name = "wdf";
    wt_cfg[0].iface = &WT_GUID;
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(u"noqueue", NULL);
    assert_int_equal(wt_open(&WT_GUID, NULL, &fo), STATUS_SUCCESS);
    assert_int_equal(wt_ioctl_sync(fo, WT_IOCTL_ECHO, 4, 4, NULL), STATUS_INVALID_DEVICE_REQUEST);
    finish();
}

/* KMDF's Queue out parameter is optional (WDF_NO_HANDLE): a default queue made without one works. */
static void queue_create_accepts_no_handle_pointer(void **state)
{
    WDF_IO_QUEUE_CONFIG qc;

    setup(u"nohandle");
    WDF_IO_QUEUE_CONFIG_INIT(&qc, WdfIoQueueDispatchManual);
    assert_int_equal(WdfIoQueueCreate(wt_st[0].device, &qc, WDF_NO_OBJECT_ATTRIBUTES, NULL), STATUS_SUCCESS);
    assert_int_equal(WdfIoQueueCreate(wt_st[0].device, NULL, WDF_NO_OBJECT_ATTRIBUTES, NULL), STATUS_INVALID_PARAMETER);
    finish();
}

/* Unmarking a request that is not cancelable (never marked, or unmarked already) is a verifier
 * report, as in KMDF's verifier, and returns STATUS_INVALID_DEVICE_REQUEST. */
static void unmark_of_a_request_that_is_not_cancelable_is_reported(void **state)
{
    wt_io io;
    WDFREQUEST r;

    wt_reset();
    wt_cfg[0].dispatch = WdfIoQueueDispatchParallel;
    setup(u"unmarknot");
    wt_io_start(&io, fo, WT_IOCTL_HOLD, 0, 0);
    r = wt_st[0].held[0];
    pk_test_capture_verifier();
    assert_int_equal(WdfRequestUnmarkCancelable(r), STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(pk_test_verifier_reports(), 1);
    assert_int_equal(WdfRequestMarkCancelableEx(r, cancel_held), STATUS_SUCCESS);
    assert_int_equal(WdfRequestUnmarkCancelable(r), STATUS_SUCCESS);
    assert_int_equal(WdfRequestUnmarkCancelable(r), STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(pk_test_verifier_reports(), 2);
    WdfRequestComplete(r, STATUS_SUCCESS);
    assert_int_equal(wt_io_wait(&io), STATUS_SUCCESS);
    wt_st[0].nheld = 0;
    finish();
}

PK_TEST_MAIN(PK_TEST(unmark_of_a_request_that_is_not_cancelable_is_reported),
             PK_TEST(queue_create_accepts_no_handle_pointer),
             PK_TEST(sequential_queue_presents_one_request_at_a_time),
             PK_TEST(parallel_queue_presents_up_to_the_configured_limit),
             PK_TEST(manual_queue_keeps_requests_until_retrieved),
             PK_TEST(retrieve_from_a_parallel_queue_is_refused),
             PK_TEST(configured_type_goes_to_its_queue_and_the_rest_to_the_default_queue),
             PK_TEST(configure_dispatching_and_queue_create_reject_bad_configurations),
             PK_TEST(zero_length_read_completes_without_reaching_the_driver),
             PK_TEST(inline_completions_present_the_next_request_without_nesting),
             PK_TEST(waiting_request_cancelled_by_its_originator_completes_cancelled),
             PK_TEST(canceled_on_queue_callback_receives_a_cancelled_waiting_request),
             PK_TEST(cancelable_request_gets_evt_request_cancel),
             PK_TEST(unmark_reports_a_cancel_in_progress_and_mark_ex_an_earlier_cancel),
             PK_TEST(purge_cancels_waiting_requests_and_refuses_new_ones_until_start),
             PK_TEST(purge_synchronously_waits_for_requests_the_driver_holds),
             PK_TEST(stopped_queue_holds_requests_and_start_presents_them),
             PK_TEST(stop_callback_runs_once_the_driver_holds_no_request),
             PK_TEST(drain_presents_waiting_requests_but_refuses_new_ones),
             PK_TEST(forward_to_io_queue_moves_the_request),
             PK_TEST(power_managed_queue_holds_requests_outside_d0),
             PK_TEST(non_power_managed_queue_keeps_presenting_outside_d0),
             PK_TEST(removal_stops_with_purge_then_cancels_waiting_requests),
             PK_TEST(filter_without_queue_forwards_requests_down),
             PK_TEST(function_driver_without_queue_fails_requests))
