/* WdfRequestSend to the local I/O target: asynchronous sends completed inline or later on another
 * thread, synchronous sends, timeouts (I44), WdfRequestCancelSentRequest (I45), refused sends
 * (I46), completion at PASSIVE_LEVEL for passive requests, and the synchronous IOCTL helper.
 * The stack is a WDF filter (whose local target the test uses, as the filter's own code would)
 * above a WDM function driver that completes WT_IOCTL_ECHO inline, WT_IOCTL_LATER from a worker
 * thread, and never completes WT_IOCTL_NEVER (cancelable). */
#include "wdf_testdrv.h"

static HSWDEVICE h;
static DEVINST dn;
static WDFIOTARGET target;
static char inbuf[8] = "request", outbuf[8];
static WDFMEMORY in_mem, out_mem;

static void setup(PCWSTR name)
{
    wt_reset();
    wt_cfg[0].name = "filt";
    wtw_cfg[0].name = "wdm";
    wt_register_wdm(0, WT_FUNCTION);
    wt_register_wdf(0, WT_UPPER);
    wtw_start_worker();
    h = wt_device_create(name, &dn);
    target = WdfDeviceGetIoTarget(wt_st[0].device);
    assert_non_null(target);
    assert_int_equal(WdfMemoryCreatePreallocated(NULL, inbuf, sizeof(inbuf), &in_mem), STATUS_SUCCESS);
    assert_int_equal(WdfMemoryCreatePreallocated(NULL, outbuf, sizeof(outbuf), &out_mem), STATUS_SUCCESS);
}

static void finish(void)
{
    WdfObjectDelete(in_mem);
    WdfObjectDelete(out_mem);
    wtw_flush_never();
    wt_device_close(h);
    wt_teardown();
}

static WDFREQUEST new_request(ULONG code)
{
    WDFREQUEST r;
    assert_int_equal(WdfRequestCreate(NULL, target, &r), STATUS_SUCCESS);
    assert_int_equal(WdfIoTargetFormatRequestForIoctl(target, r, code, in_mem, NULL, out_mem, NULL), STATUS_SUCCESS);
    return r;
}

static void reuse(WDFREQUEST r, ULONG code)
{
    WDF_REQUEST_REUSE_PARAMS p;
    WDF_REQUEST_REUSE_PARAMS_INIT(&p, WDF_REQUEST_REUSE_NO_FLAGS, STATUS_SUCCESS);
    assert_int_equal(WdfRequestReuse(r, &p), STATUS_SUCCESS);
    assert_int_equal(WdfIoTargetFormatRequestForIoctl(target, r, code, in_mem, NULL, out_mem, NULL), STATUS_SUCCESS);
}

typedef struct done_record {
    volatile LONG calls;
    NTSTATUS status;
    KIRQL irql;
    pthread_t thread;
    KEVENT event;
} done_record;

static void on_done(WDFREQUEST request, WDFIOTARGET t, PWDF_REQUEST_COMPLETION_PARAMS params, WDFCONTEXT context)
{
    done_record *d = context;
    d->status = params->IoStatus.Status;
    d->irql = KeGetCurrentIrql();
    d->thread = pthread_self();
    assert_ptr_equal(t, target);
    assert_int_equal(WdfRequestGetStatus(request), params->IoStatus.Status);
    InterlockedIncrement(&d->calls);
    KeSetEvent(&d->event, IO_NO_INCREMENT, FALSE);
}

static done_record done_records[4];

static void init_record(done_record *d)
{
    memset(d, 0, sizeof(*d));
    KeInitializeEvent(&d->event, NotificationEvent, FALSE);
}

static void async_send_completed_inline_runs_the_routine_once_on_the_sending_thread(void **state)
{
    done_record d;
    WDFREQUEST r;

    setup(u"inline");
    init_record(&d);
    r = new_request(WT_IOCTL_ECHO);
    WdfRequestSetCompletionRoutine(r, on_done, &d);
    memset(outbuf, 0, sizeof(outbuf));
    assert_true(WdfRequestSend(r, target, WDF_NO_SEND_OPTIONS));
    /* Inline: done before WdfRequestSend returned, on this thread, no hop. */
    assert_int_equal(d.calls, 1);
    assert_true(pthread_equal(d.thread, pthread_self()));
    assert_int_equal(d.status, STATUS_SUCCESS);
    assert_memory_equal(outbuf, "request", 8);
    WdfObjectDelete(r);
    finish();
}

static void async_send_completed_later_runs_the_routine_on_the_completing_thread(void **state)
{
    done_record d;
    WDFREQUEST r;

    setup(u"later");
    init_record(&d);
    r = new_request(WT_IOCTL_LATER);
    WdfRequestSetCompletionRoutine(r, on_done, &d);
    assert_true(WdfRequestSend(r, target, NULL));
    pk_test_wait_event(&d.event);
    assert_int_equal(d.calls, 1);
    assert_false(pthread_equal(d.thread, pthread_self()));
    assert_int_equal(d.status, STATUS_SUCCESS);
    WdfObjectDelete(r);
    finish();
}

static void synchronous_send_returns_after_completion_with_the_final_status(void **state)
{
    WDF_REQUEST_SEND_OPTIONS o;
    WDFREQUEST r;

    setup(u"sync");
    r = new_request(WT_IOCTL_LATER);
    WDF_REQUEST_SEND_OPTIONS_INIT(&o, WDF_REQUEST_SEND_OPTION_SYNCHRONOUS);
    assert_true(WdfRequestSend(r, target, &o));
    assert_int_equal(WdfRequestGetStatus(r), STATUS_SUCCESS);
    WdfObjectDelete(r);
    finish();
}

static void synchronous_send_with_timeout_returns_io_timeout(void **state)
{
    WDF_REQUEST_SEND_OPTIONS o;
    WDFREQUEST r;
    uint64_t start;

    setup(u"synctimeout");
    r = new_request(WT_IOCTL_NEVER);
    WDF_REQUEST_SEND_OPTIONS_INIT(&o, WDF_REQUEST_SEND_OPTION_SYNCHRONOUS);
    WDF_REQUEST_SEND_OPTIONS_SET_TIMEOUT(&o, WDF_REL_TIMEOUT_IN_MS(10));
    start = pk_test_now_ms();
    assert_true(WdfRequestSend(r, target, &o));
    assert_true(pk_test_now_ms() - start >= 9);
    assert_int_equal(WdfRequestGetStatus(r), STATUS_IO_TIMEOUT);
    WdfObjectDelete(r);
    finish();
}

/* I44 */
static void async_request_with_10ms_timeout_times_out_and_timeout_0_never_does(void **state)
{
    WDF_REQUEST_SEND_OPTIONS o;
    done_record d1, d2;
    WDFREQUEST r1, r2;

    setup(u"timeout");
    init_record(&d1);
    init_record(&d2);
    r1 = new_request(WT_IOCTL_NEVER);
    WdfRequestSetCompletionRoutine(r1, on_done, &d1);
    WDF_REQUEST_SEND_OPTIONS_INIT(&o, 0);
    WDF_REQUEST_SEND_OPTIONS_SET_TIMEOUT(&o, WDF_REL_TIMEOUT_IN_MS(10));
    assert_true(WdfRequestSend(r1, target, &o));
    pk_test_wait_event(&d1.event);
    assert_int_equal(d1.status, STATUS_IO_TIMEOUT);
    assert_int_equal(WdfRequestGetStatus(r1), STATUS_IO_TIMEOUT);

    r2 = new_request(WT_IOCTL_NEVER);
    WdfRequestSetCompletionRoutine(r2, on_done, &d2);
    WDF_REQUEST_SEND_OPTIONS_INIT(&o, 0);
    WDF_REQUEST_SEND_OPTIONS_SET_TIMEOUT(&o, 0);
    assert_true(WdfRequestSend(r2, target, &o));
    usleep(50000);
    assert_int_equal(d2.calls, 0);
    assert_true(WdfRequestCancelSentRequest(r2));
    pk_test_wait_event(&d2.event);
    assert_int_equal(d2.status, STATUS_CANCELLED);
    assert_int_equal(d1.calls, 1);
    assert_int_equal(d2.calls, 1);
    WdfObjectDelete(r1);
    WdfObjectDelete(r2);
    finish();
}

/* I45 */
static void cancel_sent_request_is_true_while_outstanding_and_false_after(void **state)
{
    done_record d;
    WDFREQUEST r;

    setup(u"cancel");
    init_record(&d);
    r = new_request(WT_IOCTL_NEVER);
    WdfRequestSetCompletionRoutine(r, on_done, &d);
    assert_true(WdfRequestSend(r, target, NULL));
    assert_int_equal(d.calls, 0);
    assert_true(WdfRequestCancelSentRequest(r));
    assert_int_equal(d.calls, 1); /* the WDM cancel routine completes it on this thread */
    assert_int_equal(d.status, STATUS_CANCELLED);
    assert_false(WdfRequestCancelSentRequest(r));

    /* A request that completes on its own: the cancel comes too late. */
    init_record(&d);
    reuse(r, WT_IOCTL_ECHO);
    WdfRequestSetCompletionRoutine(r, on_done, &d);
    assert_true(WdfRequestSend(r, target, NULL));
    assert_false(WdfRequestCancelSentRequest(r));
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.status, STATUS_SUCCESS);
    WdfObjectDelete(r);
    finish();
}

/* I46 */
static void refused_send_returns_false_with_the_reason_and_never_completes(void **state)
{
    WDF_REQUEST_SEND_OPTIONS o;
    done_record d;
    WDFREQUEST r, unformatted;

    pk_test_capture_verifier();
    setup(u"refused");
    init_record(&d);
    r = new_request(WT_IOCTL_ECHO);
    WdfRequestSetCompletionRoutine(r, on_done, &d);
    /* Send-and-forget is for requests from a queue. */
    WDF_REQUEST_SEND_OPTIONS_INIT(&o, WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET);
    assert_false(WdfRequestSend(r, target, &o));
    assert_int_equal(WdfRequestGetStatus(r), STATUS_INVALID_DEVICE_STATE);
    /* Bad options. */
    WDF_REQUEST_SEND_OPTIONS_INIT(&o, 0);
    o.Size = 4;
    assert_false(WdfRequestSend(r, target, &o));
    assert_int_equal(WdfRequestGetStatus(r), STATUS_INVALID_PARAMETER);
    /* Never formatted: no IRP to send. */
    assert_int_equal(WdfRequestCreate(NULL, NULL, &unformatted), STATUS_SUCCESS);
    assert_false(WdfRequestSend(unformatted, target, NULL));
    assert_int_equal(WdfRequestGetStatus(unformatted), STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(d.calls, 0);

    /* A target whose device was removed refuses with STATUS_INVALID_DEVICE_STATE. */
    WdfObjectReference(target);
    WdfObjectDelete(in_mem);
    WdfObjectDelete(out_mem);
    wt_device_close(h);
    assert_int_equal(WdfIoTargetGetState(target), WdfIoTargetClosed);
    assert_false(WdfRequestSend(r, target, NULL));
    assert_int_equal(WdfRequestGetStatus(r), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(d.calls, 0);
    WdfObjectDereference(target);
    WdfObjectDelete(r);
    WdfObjectDelete(unformatted);
    wt_teardown();
}

static void passive_request_gets_its_completion_at_passive_level(void **state)
{
    WDF_OBJECT_ATTRIBUTES a;
    done_record d1, d2;
    WDFREQUEST passive, plain;

    setup(u"passive");
    wtw_cfg[0].complete_later_at_dispatch = true;
    init_record(&d1);
    init_record(&d2);
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.ExecutionLevel = WdfExecutionLevelPassive;
    assert_int_equal(WdfRequestCreate(&a, target, &passive), STATUS_SUCCESS);
    assert_int_equal(WdfIoTargetFormatRequestForIoctl(target, passive, WT_IOCTL_LATER, in_mem, NULL, out_mem, NULL),
                     STATUS_SUCCESS);
    WdfRequestSetCompletionRoutine(passive, on_done, &d1);
    plain = new_request(WT_IOCTL_LATER);
    WdfRequestSetCompletionRoutine(plain, on_done, &d2);
    assert_true(WdfRequestSend(passive, target, NULL));
    assert_true(WdfRequestSend(plain, target, NULL));
    pk_test_wait_event(&d1.event);
    pk_test_wait_event(&d2.event);
    assert_int_equal(d1.irql, PASSIVE_LEVEL);
    assert_int_equal(d2.irql, DISPATCH_LEVEL); /* stays on the completing thread, at its IRQL */
    WdfObjectDelete(passive);
    WdfObjectDelete(plain);
    finish();
}

static void synchronous_ioctl_helper_sends_descriptors_and_returns_bytes(void **state)
{
    WDF_MEMORY_DESCRIPTOR in, out;
    char i[8] = "helper!", o[16] = { 0 };
    ULONG_PTR bytes = 0;
    WDFREQUEST r;

    setup(u"helper");
    WDF_MEMORY_DESCRIPTOR_INIT_BUFFER(&in, i, sizeof(i));
    WDF_MEMORY_DESCRIPTOR_INIT_BUFFER(&out, o, sizeof(o));
    assert_int_equal(WdfIoTargetSendIoctlSynchronously(target, NULL, WT_IOCTL_ECHO, &in, &out, NULL, &bytes),
                     STATUS_SUCCESS);
    assert_int_equal(bytes, 8);
    assert_string_equal(o, "helper!");
    /* With the driver's own request, and a timeout that fires. */
    assert_int_equal(WdfRequestCreate(NULL, target, &r), STATUS_SUCCESS);
    {
        WDF_REQUEST_SEND_OPTIONS opt;
        WDF_REQUEST_SEND_OPTIONS_INIT(&opt, 0);
        WDF_REQUEST_SEND_OPTIONS_SET_TIMEOUT(&opt, WDF_REL_TIMEOUT_IN_MS(5));
        assert_int_equal(WdfIoTargetSendIoctlSynchronously(target, r, WT_IOCTL_NEVER, &in, &out, &opt, &bytes),
                         STATUS_IO_TIMEOUT);
    }
    WdfObjectDelete(r);
    finish();
}

static void created_request_without_target_gets_its_irp_at_format(void **state)
{
    WDF_REQUEST_SEND_OPTIONS o;
    WDFREQUEST r;

    setup(u"lateirp");
    assert_int_equal(WdfRequestCreate(NULL, NULL, &r), STATUS_SUCCESS);
    assert_null(WdfRequestWdmGetIrp(r));
    assert_int_equal(WdfIoTargetFormatRequestForIoctl(target, r, WT_IOCTL_ECHO, in_mem, NULL, out_mem, NULL),
                     STATUS_SUCCESS);
    assert_non_null(WdfRequestWdmGetIrp(r));
    assert_true(WdfRequestWdmGetIrp(r)->StackCount >= WdfIoTargetWdmGetTargetDeviceObject(target)->StackSize);
    WDF_REQUEST_SEND_OPTIONS_INIT(&o, WDF_REQUEST_SEND_OPTION_SYNCHRONOUS);
    assert_true(WdfRequestSend(r, target, &o));
    assert_int_equal(WdfRequestGetStatus(r), STATUS_SUCCESS);
    WdfObjectDelete(r);
    finish();
}

/* A filter that forwards each IOCTL with a 10 ms timeout and completes it with the outcome. */
static VOID timeout_forward_ioctl(WDFQUEUE q, WDFREQUEST r, size_t out_len, size_t in_len, ULONG code)
{
    WDFDEVICE d = WdfIoQueueGetDevice(q);
    WDF_REQUEST_SEND_OPTIONS o;

    WdfRequestFormatRequestUsingCurrentType(r);
    WdfRequestSetCompletionRoutine(r, (PFN_WDF_REQUEST_COMPLETION_ROUTINE)wt_forward_done, NULL);
    WDF_REQUEST_SEND_OPTIONS_INIT(&o, 0);
    WDF_REQUEST_SEND_OPTIONS_SET_TIMEOUT(&o, WDF_REL_TIMEOUT_IN_MS(10));
    if (!WdfRequestSend(r, WdfDeviceGetIoTarget(d), &o))
        WdfRequestComplete(r, WdfRequestGetStatus(r));
}

static void forwarded_request_timing_out_completes_upward_with_io_timeout(void **state)
{
    PFILE_OBJECT fo;

    wt_reset();
    wt_cfg[0].name = "filt";
    wt_cfg[0].io_mode = WT_IO_COMPLETE;
    wt_cfg[0].ioctl = timeout_forward_ioctl;
    wt_cfg[0].dispatch = WdfIoQueueDispatchParallel;
    wtw_cfg[0].name = "wdm";
    wtw_cfg[0].iface = &WT_GUID;
    wt_register_wdm(0, WT_FUNCTION);
    wt_register_wdf(0, WT_UPPER);
    h = wt_device_create(u"fwdtimeout", NULL);
    assert_int_equal(wt_open(&WT_GUID, NULL, &fo), STATUS_SUCCESS);
    assert_int_equal(wt_ioctl_sync(fo, WT_IOCTL_NEVER, 0, 0, NULL), STATUS_IO_TIMEOUT);
    assert_int_equal(wt_ioctl_sync(fo, WT_IOCTL_ECHO, 4, 4, NULL), STATUS_SUCCESS);
    wt_close(fo);
    wt_device_close(h);
    wt_teardown();
}

static void removal_cancels_requests_sent_to_the_local_target(void **state)
{
    done_record d;
    WDFREQUEST r;
    WDF_OBJECT_ATTRIBUTES a;

    setup(u"removalcancel");
    init_record(&d);
    /* Parented to nothing, so that the request outlives the device. */
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    assert_int_equal(WdfRequestCreate(&a, NULL, &r), STATUS_SUCCESS);
    assert_int_equal(WdfIoTargetFormatRequestForIoctl(target, r, WT_IOCTL_NEVER, in_mem, NULL, out_mem, NULL),
                     STATUS_SUCCESS);
    WdfRequestSetCompletionRoutine(r, on_done, &d);
    assert_true(WdfRequestSend(r, target, NULL));
    WdfObjectDelete(in_mem);
    WdfObjectDelete(out_mem);
    wt_device_close(h); /* surprise removal, then removal: the local target cancels what it sent */
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.status, STATUS_CANCELLED);
    WdfObjectDelete(r);
    wt_teardown();
}

static void read_write_and_direct_ioctl_formats_move_the_data(void **state)
{
    WDF_REQUEST_SEND_OPTIONS o;
    WDF_REQUEST_COMPLETION_PARAMS p;
    WDFREQUEST r;
    LONGLONG offset = 512;

    setup(u"formats");
    WDF_REQUEST_SEND_OPTIONS_INIT(&o, WDF_REQUEST_SEND_OPTION_SYNCHRONOUS);
    assert_int_equal(WdfRequestCreate(NULL, target, &r), STATUS_SUCCESS);
    /* A read into out_mem: the buffered target's data comes back into the memory object. */
    memset(outbuf, 0, sizeof(outbuf));
    assert_int_equal(WdfIoTargetFormatRequestForRead(target, r, out_mem, NULL, &offset), STATUS_SUCCESS);
    assert_true(WdfRequestSend(r, target, &o));
    assert_int_equal(WdfRequestGetStatus(r), STATUS_SUCCESS);
    assert_memory_equal(outbuf, "rrrrrrrr", 8);
    WdfRequestGetCompletionParams(r, &p);
    assert_int_equal(p.Type, WdfRequestTypeRead);
    assert_int_equal(p.Parameters.Read.Length, 8);
    assert_ptr_equal(p.Parameters.Read.Buffer, out_mem);
    /* A write of in_mem. */
    reuse(r, WT_IOCTL_ECHO);
    assert_int_equal(WdfIoTargetFormatRequestForWrite(target, r, in_mem, NULL, NULL), STATUS_SUCCESS);
    assert_true(WdfRequestSend(r, target, &o));
    assert_int_equal(WdfRequestGetInformation(r), 8);
    assert_memory_equal(wtw_last_write, "request", 8);
    /* METHOD_OUT_DIRECT: the output goes through an MDL. */
    reuse(r, WT_IOCTL_DIRECT);
    memset(outbuf, 0, sizeof(outbuf));
    assert_true(WdfRequestSend(r, target, &o));
    assert_int_equal(WdfRequestGetStatus(r), STATUS_SUCCESS);
    assert_memory_equal(outbuf, "request", 8);
    /* An offset outside the memory. */
    {
        WDFMEMORY_OFFSET bad = { 16, 4 };
        WDF_REQUEST_REUSE_PARAMS rp;
        WDF_REQUEST_REUSE_PARAMS_INIT(&rp, WDF_REQUEST_REUSE_NO_FLAGS, STATUS_SUCCESS);
        assert_int_equal(WdfRequestReuse(r, &rp), STATUS_SUCCESS);
        assert_int_equal(WdfIoTargetFormatRequestForRead(target, r, out_mem, &bad, NULL), STATUS_INVALID_PARAMETER);
    }
    WdfObjectDelete(r);
    finish();
}


/* The local target held like a remote one (io.md 1.3, "Stopped"): a Stopped local target keeps
 * the requests sent to it, asynchronous and synchronous, and Start delivers them in FIFO order. */
static volatile LONG done_seq;
static int done_order[4];

static void on_done_ordered(WDFREQUEST request, WDFIOTARGET t, PWDF_REQUEST_COMPLETION_PARAMS params,
                            WDFCONTEXT context)
{
    done_order[(intptr_t)context] = (int)InterlockedIncrement(&done_seq);
    on_done(request, t, params, &((done_record *)done_records)[(intptr_t)context]);
}

typedef struct sync_arg {
    WDFREQUEST r;
    NTSTATUS status;
    volatile bool done;
} sync_arg;

static void *sync_sender(void *arg)
{
    sync_arg *a = arg;
    WDF_REQUEST_SEND_OPTIONS o;

    WDF_REQUEST_SEND_OPTIONS_INIT(&o, WDF_REQUEST_SEND_OPTION_SYNCHRONOUS);
    assert_true(WdfRequestSend(a->r, target, &o));
    a->status = WdfRequestGetStatus(a->r);
    __atomic_store_n(&a->done, true, __ATOMIC_RELEASE);
    return NULL;
}

static void a_stopped_local_target_holds_sends_and_start_delivers_them_in_order(void **state)
{
    WDFREQUEST r[3], rs;
    sync_arg a = { 0 };
    pthread_t th;

    setup(u"localhold");
    done_seq = 0;
    WdfIoTargetStop(target, WdfIoTargetLeaveSentIoPending);
    assert_int_equal(WdfIoTargetGetState(target), WdfIoTargetStopped);
    for (int i = 0; i < 3; i++) {
        init_record(&done_records[i]);
        r[i] = new_request(WT_IOCTL_ECHO);
        WdfRequestSetCompletionRoutine(r[i], on_done_ordered, (WDFCONTEXT)(intptr_t)i);
        assert_true(WdfRequestSend(r[i], target, NULL));
    }
    rs = new_request(WT_IOCTL_ECHO);
    a.r = rs;
    assert_int_equal(pthread_create(&th, NULL, sync_sender, &a), 0);
    usleep(20000);
    for (int i = 0; i < 3; i++)
        assert_int_equal(done_records[i].calls, 0);
    assert_false(__atomic_load_n(&a.done, __ATOMIC_ACQUIRE));
    assert_int_equal(wtw_st[0].ioctls, 0);
    assert_int_equal(WdfIoTargetStart(target), STATUS_SUCCESS);
    pthread_join(th, NULL);
    assert_int_equal(a.status, STATUS_SUCCESS);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(done_records[i].calls, 1);
        assert_int_equal(done_records[i].status, STATUS_SUCCESS);
        assert_int_equal(done_order[i], i + 1);
        WdfObjectDelete(r[i]);
    }
    assert_int_equal(wtw_st[0].ioctls, 4);
    WdfObjectDelete(rs);
    finish();
}

/* Purge of the local target completes its held requests with STATUS_CANCELLED and refuses sends
 * with STATUS_INVALID_DEVICE_STATE until Start. */
static void purging_the_local_target_cancels_held_requests_and_refuses_sends_until_start(void **state)
{
    done_record d, d2;
    WDFREQUEST r, r2;

    setup(u"localpurge");
    init_record(&d);
    init_record(&d2);
    WdfIoTargetStop(target, WdfIoTargetLeaveSentIoPending);
    r = new_request(WT_IOCTL_ECHO);
    WdfRequestSetCompletionRoutine(r, on_done, &d);
    r2 = new_request(WT_IOCTL_ECHO); /* formatted now: a Purged target refuses formats too */
    WdfRequestSetCompletionRoutine(r2, on_done, &d2);
    assert_true(WdfRequestSend(r, target, NULL));
    WdfIoTargetPurge(target, WdfIoTargetPurgeIoAndWait);
    assert_int_equal(WdfIoTargetGetState(target), WdfIoTargetPurged);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.status, STATUS_CANCELLED);
    assert_int_equal(wtw_st[0].ioctls, 0);
    assert_false(WdfRequestSend(r2, target, NULL));
    assert_int_equal(WdfRequestGetStatus(r2), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(d2.calls, 0);
    assert_int_equal(WdfIoTargetStart(target), STATUS_SUCCESS);
    assert_true(WdfRequestSend(r2, target, NULL));
    assert_int_equal(d2.calls, 1);
    assert_int_equal(d2.status, STATUS_SUCCESS);
    assert_int_equal(wtw_st[0].ioctls, 1);
    WdfObjectDelete(r);
    WdfObjectDelete(r2);
    finish();
}

/* The removal of the device closes its Stopped local target: the requests held there complete
 * with STATUS_WDF_DEVICE_REMOVED_NOT_SENT and never reach the lower device. */
static void removal_fails_requests_held_in_the_local_target_with_removed_not_sent(void **state)
{
    done_record d;
    WDFREQUEST r;
    WDF_OBJECT_ATTRIBUTES a;

    setup(u"localremoved");
    init_record(&d);
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    assert_int_equal(WdfRequestCreate(&a, NULL, &r), STATUS_SUCCESS);
    assert_int_equal(WdfIoTargetFormatRequestForIoctl(target, r, WT_IOCTL_ECHO, in_mem, NULL, out_mem, NULL),
                     STATUS_SUCCESS);
    WdfRequestSetCompletionRoutine(r, on_done, &d);
    WdfIoTargetStop(target, WdfIoTargetLeaveSentIoPending);
    assert_true(WdfRequestSend(r, target, NULL));
    WdfObjectDelete(in_mem);
    WdfObjectDelete(out_mem);
    wt_device_close(h);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.status, STATUS_WDF_DEVICE_REMOVED_NOT_SENT);
    assert_int_equal(wtw_st[0].ioctls, 0);
    WdfObjectDelete(r);
    wt_teardown();
}


/* WDF_REQUEST_REUSE_SET_NEW_IRP: the request sends the caller's IRP from then on (the caller
 * frees it after deleting the request); an IRP too small for the target fails the format with
 * STATUS_REQUEST_NOT_ACCEPTED; no NewIrp is STATUS_INVALID_PARAMETER and changes nothing. */
static void reuse_with_a_new_irp_sends_the_callers_irp(void **state)
{
    WDF_REQUEST_REUSE_PARAMS p;
    done_record d;
    WDFREQUEST r;
    PIRP mine, small, before;

    setup(u"newirp");
    init_record(&d);
    r = new_request(WT_IOCTL_ECHO);
    before = WdfRequestWdmGetIrp(r);
    WDF_REQUEST_REUSE_PARAMS_INIT(&p, WDF_REQUEST_REUSE_SET_NEW_IRP, STATUS_SUCCESS);
    assert_int_equal(WdfRequestReuse(r, &p), STATUS_INVALID_PARAMETER);
    assert_ptr_equal(WdfRequestWdmGetIrp(r), before);

    mine = IoAllocateIrp(WdfIoTargetWdmGetTargetDeviceObject(target)->StackSize, FALSE);
    assert_non_null(mine);
    p.NewIrp = mine;
    assert_int_equal(WdfRequestReuse(r, &p), STATUS_SUCCESS);
    assert_ptr_equal(WdfRequestWdmGetIrp(r), mine);
    assert_int_equal(WdfIoTargetFormatRequestForIoctl(target, r, WT_IOCTL_ECHO, in_mem, NULL, out_mem, NULL),
                     STATUS_SUCCESS);
    WdfRequestSetCompletionRoutine(r, on_done, &d);
    memset(outbuf, 0, sizeof(outbuf));
    assert_true(WdfRequestSend(r, target, NULL));
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.status, STATUS_SUCCESS);
    assert_memory_equal(outbuf, "request", 8);
    /* A plain reuse keeps the caller's IRP. */
    reuse(r, WT_IOCTL_ECHO);
    assert_ptr_equal(WdfRequestWdmGetIrp(r), mine);

    /* Too small for the target: refused, never replaced. */
    small = IoAllocateIrp(1, FALSE);
    WDF_REQUEST_REUSE_PARAMS_INIT(&p, WDF_REQUEST_REUSE_SET_NEW_IRP, STATUS_SUCCESS);
    p.NewIrp = small;
    assert_int_equal(WdfRequestReuse(r, &p), STATUS_SUCCESS);
    if (WdfIoTargetWdmGetTargetDeviceObject(target)->StackSize > 1)
        assert_int_equal(WdfIoTargetFormatRequestForIoctl(target, r, WT_IOCTL_ECHO, in_mem, NULL, out_mem, NULL),
                         STATUS_REQUEST_NOT_ACCEPTED);
    assert_ptr_equal(WdfRequestWdmGetIrp(r), small);
    WdfObjectDelete(r);
    IoFreeIrp(mine);
    IoFreeIrp(small);
    finish();
}


/* WdfIoTargetOpenLocalTargetByFile: a remote target of the filter opens a file with a name on
 * the filter's local target (the WDM device below): the create, the cleanup and the close reach
 * that device only (the filter itself sees none), I/O carries the file, and removal callbacks are
 * refused with STATUS_INVALID_PARAMETER. */
static NTSTATUS never_called_query_remove(WDFIOTARGET t) { return STATUS_SUCCESS; }

static void open_local_target_by_file_opens_a_file_on_the_device_below(void **state)
{
    UNICODE_STRING name = RTL_CONSTANT_STRING(u"\\lower");
    WDF_IO_TARGET_OPEN_PARAMS p;
    WDF_MEMORY_DESCRIPTOR in;
    PFILE_OBJECT file;
    WDFIOTARGET t;
    char b[4] = "abc";

    setup(u"localbyfile");
    assert_int_equal(WdfIoTargetCreate(wt_st[0].device, WDF_NO_OBJECT_ATTRIBUTES, &t), STATUS_SUCCESS);
    WDF_IO_TARGET_OPEN_PARAMS_INIT_OPEN_LOCAL_TARGET_BY_FILE(&p, &name);
    p.EvtIoTargetQueryRemove = never_called_query_remove;
    assert_int_equal(WdfIoTargetOpen(t, &p), STATUS_INVALID_PARAMETER);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetClosed);
    assert_int_equal(wtw_st[0].creates, 0);

    pk_log_clear();
    WDF_IO_TARGET_OPEN_PARAMS_INIT_OPEN_LOCAL_TARGET_BY_FILE(&p, &name);
    p.DesiredAccess = GENERIC_READ;
    assert_int_equal(WdfIoTargetOpen(t, &p), STATUS_SUCCESS);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetStarted);
    assert_int_equal(wtw_st[0].creates, 1);
    assert_int_equal(wt_st[0].creates, 0);
    assert_true(pk_log_find("wdm:irp-create:\\lower", 0) >= 0);
    file = WdfIoTargetWdmGetTargetFileObject(t);
    assert_non_null(file);
    assert_ptr_equal(IoGetRelatedDeviceObject(file), WdfIoTargetWdmGetTargetDeviceObject(target));
    assert_ptr_equal(WdfIoTargetWdmGetTargetDeviceObject(t), WdfIoTargetWdmGetTargetDeviceObject(target));

    WDF_MEMORY_DESCRIPTOR_INIT_BUFFER(&in, b, sizeof(b));
    assert_int_equal(WdfIoTargetSendIoctlSynchronously(t, NULL, WT_IOCTL_ECHO, &in, NULL, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(wt_st[0].ioctls, 0); /* not through the filter */

    WdfIoTargetClose(t);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetClosed);
    assert_int_equal(wtw_st[0].cleanups, 1);
    assert_int_equal(wtw_st[0].closes, 1);
    assert_int_equal(wt_st[0].cleanups + wt_st[0].closes, 0);
    WDF_IO_TARGET_OPEN_PARAMS_INIT_REOPEN(&p);
    assert_int_equal(WdfIoTargetOpen(t, &p), STATUS_INVALID_DEVICE_REQUEST); /* not opened by name */
    WdfObjectDelete(t);
    finish();
}


/* A request a driver forwarded to its Stopped local target is held there; when its originator
 * cancels the IRP, it completes once with STATUS_CANCELLED and never reaches the lower device;
 * another held request is delivered by Start. */
static void a_forwarded_request_held_in_a_stopped_target_is_cancelled_by_its_originator(void **state)
{
    PFILE_OBJECT file;
    wt_io a, b;

    wt_reset();
    wt_cfg[0].name = "filt";
    wt_cfg[0].io_mode = WT_IO_FORWARD_CR;
    wt_cfg[0].dispatch = WdfIoQueueDispatchParallel;
    wt_cfg[0].iface = &WT_GUID;
    wtw_cfg[0].name = "wdm";
    wt_register_wdm(0, WT_FUNCTION);
    wt_register_wdf(0, WT_UPPER);
    wtw_start_worker();
    h = wt_device_create(u"heldcancel", &dn);
    target = WdfDeviceGetIoTarget(wt_st[0].device);
    assert_int_equal(wt_open(&WT_GUID, NULL, &file), STATUS_SUCCESS);

    WdfIoTargetStop(target, WdfIoTargetLeaveSentIoPending);
    wt_io_start(&a, file, WT_IOCTL_ECHO, 4, 4);
    wt_io_start(&b, file, WT_IOCTL_ECHO, 4, 4);
    usleep(10000);
    assert_false(wt_io_completed(&a));
    assert_false(wt_io_completed(&b));
    assert_int_equal(wtw_st[0].ioctls, 0);
    assert_true(IoCancelIrp(a.irp));
    assert_int_equal(wt_io_wait(&a), STATUS_CANCELLED);
    assert_false(wt_io_completed(&b));
    assert_int_equal(WdfIoTargetStart(target), STATUS_SUCCESS);
    assert_int_equal(wt_io_wait(&b), STATUS_SUCCESS);
    assert_int_equal(wtw_st[0].ioctls, 1);
    wt_close(file);
    wtw_flush_never();
    wt_device_close(h);
    wt_teardown();
}

/* The request's format references WDFMEMORY objects that are the request's own children: deleting
 * the request must still free the request and the memory objects (no reference cycle). */
static void deleting_a_request_formatted_with_its_own_child_memory_frees_both(void **state)
{
    WDF_OBJECT_ATTRIBUTES a;
    WDFMEMORY in, out;
    WDFREQUEST r;
    ULONG before;
    PVOID buf;

    setup(u"childmem");
    before = PnpkitLiveObjectCount();
    assert_int_equal(WdfRequestCreate(NULL, target, &r), STATUS_SUCCESS);
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.ParentObject = (WDFOBJECT)r;
    assert_int_equal(WdfMemoryCreate(&a, NonPagedPoolNx, 0, 8, &in, &buf), STATUS_SUCCESS);
    assert_int_equal(WdfMemoryCreate(&a, NonPagedPoolNx, 0, 8, &out, &buf), STATUS_SUCCESS);
    assert_int_equal(WdfIoTargetFormatRequestForIoctl(target, r, WT_IOCTL_ECHO, in, NULL, out, NULL), STATUS_SUCCESS);
    assert_true(PnpkitLiveObjectCount() >= before + 3);
    WdfObjectDelete(r);
    assert_int_equal(PnpkitLiveObjectCount(), before);
    finish();
}

PK_TEST_MAIN(PK_TEST(deleting_a_request_formatted_with_its_own_child_memory_frees_both),
             PK_TEST(async_send_completed_inline_runs_the_routine_once_on_the_sending_thread),
             PK_TEST(async_send_completed_later_runs_the_routine_on_the_completing_thread),
             PK_TEST(synchronous_send_returns_after_completion_with_the_final_status),
             PK_TEST(synchronous_send_with_timeout_returns_io_timeout),
             PK_TEST(async_request_with_10ms_timeout_times_out_and_timeout_0_never_does),
             PK_TEST(cancel_sent_request_is_true_while_outstanding_and_false_after),
             PK_TEST(refused_send_returns_false_with_the_reason_and_never_completes),
             PK_TEST(passive_request_gets_its_completion_at_passive_level),
             PK_TEST(synchronous_ioctl_helper_sends_descriptors_and_returns_bytes),
             PK_TEST(created_request_without_target_gets_its_irp_at_format),
             PK_TEST(forwarded_request_timing_out_completes_upward_with_io_timeout),
             PK_TEST(removal_cancels_requests_sent_to_the_local_target),
             PK_TEST(read_write_and_direct_ioctl_formats_move_the_data),
             PK_TEST(a_stopped_local_target_holds_sends_and_start_delivers_them_in_order),
             PK_TEST(purging_the_local_target_cancels_held_requests_and_refuses_sends_until_start),
             PK_TEST(removal_fails_requests_held_in_the_local_target_with_removed_not_sent),
             PK_TEST(reuse_with_a_new_irp_sends_the_callers_irp),
             PK_TEST(open_local_target_by_file_opens_a_file_on_the_device_below),
             PK_TEST(a_forwarded_request_held_in_a_stopped_target_is_cancelled_by_its_originator))
