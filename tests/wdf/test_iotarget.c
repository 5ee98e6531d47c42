/* WDF I/O targets (io.md section 1.3, behaviours I21-I48): remote targets created on a WDF
 * function device ("src", hardware id WT\DEV) and opened by name on the device interface of a
 * WDM function device ("tgt", hardware id WT\TGT, driver role 1 of wdf_testdrv.h, whose create
 * handler records the access and share mask it receives and can be held at a gate).
 * Open, close, reopen, Start / Stop / Purge with held requests, removal notifications and their
 * defaults, timeouts, cancel and refused sends. */
#include "wdf_testdrv.h"
#include "wdf/wdf_internal.h" /* wdf_target_open_hook (I41) */

#include <pnpkit/cfgmgr32.h>
#include <pnpkit/sim.h>

DEFINE_GUID(TGT_GUID, 0x6d2a6b1e, 0x1f0a, 0x4c55, 0x9a, 0x11, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x70);
#define TGT_HWID u"WT\\TGT\0"

static HSWDEVICE src_h, tgt_h;
static DEVINST src_dn, tgt_dn;
static WDFDEVICE src;
static WCHAR link_buf[512];
static UNICODE_STRING link_name;
static char inbuf[8] = "request", outbuf[8];
static WDFMEMORY in_mem, out_mem;

/* What the target driver's create saw. */
static volatile ACCESS_MASK seen_access;
static volatile ULONG seen_share;
static volatile ULONG seen_options, seen_ea_length;
static char seen_ea[16];
static PKEVENT create_gate;
static KEVENT create_entered;

static NTSTATUS tgt_create(PDEVICE_OBJECT dev, PIRP irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);

    if (sp->Parameters.Create.SecurityContext)
        seen_access = sp->Parameters.Create.SecurityContext->DesiredAccess;
    seen_share = sp->Parameters.Create.ShareAccess;
    seen_options = sp->Parameters.Create.Options;
    seen_ea_length = sp->Parameters.Create.EaLength;
    memset(seen_ea, 0, sizeof(seen_ea));
    if (seen_ea_length && irp->AssociatedIrp.SystemBuffer)
        memcpy(seen_ea, irp->AssociatedIrp.SystemBuffer, seen_ea_length < sizeof(seen_ea) ? seen_ea_length : sizeof(seen_ea));
    KeSetEvent(&create_entered, IO_NO_INCREMENT, FALSE);
    if (create_gate)
        KeWaitForSingleObject(create_gate, Executive, KernelMode, FALSE, NULL);
    return wtw_create(dev, irp);
}

static NTSTATUS tgt_entry(PDRIVER_OBJECT d, PUNICODE_STRING p)
{
    wtw_install(d, wtw_add1);
    d->MajorFunction[IRP_MJ_CREATE] = tgt_create;
    return STATUS_SUCCESS;
}

static int expected_reports, expected_stops;

static void setup(void)
{
    pk_test_capture_verifier();
    expected_reports = 0;
    expected_stops = 0;
    wt_reset();
    create_gate = NULL;
    seen_access = 0;
    seen_share = 0;
    KeInitializeEvent(&create_entered, NotificationEvent, FALSE);
    wt_cfg[0].name = "src";
    wt_register_wdf(0, WT_FUNCTION);
    wtw_cfg[1].name = "tgt";
    wtw_cfg[1].iface = &TGT_GUID;
    assert_int_equal(PnpkitDriverRegister(wtw_services[1], tgt_entry, TGT_HWID), STATUS_SUCCESS);
    wtw_registered[1] = true;
    wtw_start_worker();
    src_h = wt_device_create(u"src", &src_dn);
    src = wt_st[0].device;
    assert_non_null(src);
    tgt_h = wt_device_create_with_ids(u"tgt", TGT_HWID, &tgt_dn);
    assert_true(wt_link(&TGT_GUID, link_buf, 512));
    RtlInitUnicodeString(&link_name, link_buf);
    assert_int_equal(WdfMemoryCreatePreallocated(NULL, inbuf, sizeof(inbuf), &in_mem), STATUS_SUCCESS);
    assert_int_equal(WdfMemoryCreatePreallocated(NULL, outbuf, sizeof(outbuf), &out_mem), STATUS_SUCCESS);
}

static void finish(void)
{
    assert_int_equal(pk_test_verifier_stops(), expected_stops);
    assert_int_equal(pk_test_verifier_reports(), expected_reports);
    WdfObjectDelete(in_mem);
    WdfObjectDelete(out_mem);
    wtw_flush_never();
    if (tgt_h)
        wt_device_close(tgt_h);
    if (src_h)
        wt_device_close(src_h);
    wt_teardown();
}

static WDFIOTARGET new_target(void)
{
    WDFIOTARGET t;
    assert_int_equal(WdfIoTargetCreate(src, WDF_NO_OBJECT_ATTRIBUTES, &t), STATUS_SUCCESS);
    return t;
}

static NTSTATUS open_by_name(WDFIOTARGET t, PFN_WDF_IO_TARGET_QUERY_REMOVE qr, PFN_WDF_IO_TARGET_REMOVE_CANCELED rc,
                             PFN_WDF_IO_TARGET_REMOVE_COMPLETE rcomp)
{
    WDF_IO_TARGET_OPEN_PARAMS p;
    WDF_IO_TARGET_OPEN_PARAMS_INIT_OPEN_BY_NAME(&p, &link_name, GENERIC_READ | GENERIC_WRITE);
    p.EvtIoTargetQueryRemove = qr;
    p.EvtIoTargetRemoveCanceled = rc;
    p.EvtIoTargetRemoveComplete = rcomp;
    return WdfIoTargetOpen(t, &p);
}

static WDFIOTARGET opened_target(void)
{
    WDFIOTARGET t = new_target();
    assert_int_equal(open_by_name(t, NULL, NULL, NULL), STATUS_SUCCESS);
    return t;
}

/* Completion records: calls, status and the order of completion. */
typedef struct done_record {
    volatile LONG calls;
    NTSTATUS status;
    int order;
    KEVENT event;
} done_record;

static volatile LONG done_seq;

static void on_done(WDFREQUEST request, WDFIOTARGET t, PWDF_REQUEST_COMPLETION_PARAMS params, WDFCONTEXT context)
{
    done_record *d = context;
    d->status = params->IoStatus.Status;
    d->order = (int)InterlockedIncrement(&done_seq);
    InterlockedIncrement(&d->calls);
    KeSetEvent(&d->event, IO_NO_INCREMENT, FALSE);
}

static void init_record(done_record *d)
{
    memset(d, 0, sizeof(*d));
    KeInitializeEvent(&d->event, NotificationEvent, FALSE);
}

static WDFREQUEST new_request(WDFIOTARGET t, ULONG code, done_record *d)
{
    WDFREQUEST r;
    assert_int_equal(WdfRequestCreate(NULL, t, &r), STATUS_SUCCESS);
    assert_int_equal(WdfIoTargetFormatRequestForIoctl(t, r, code, in_mem, NULL, out_mem, NULL), STATUS_SUCCESS);
    if (d) {
        init_record(d);
        WdfRequestSetCompletionRoutine(r, on_done, d);
    }
    return r;
}

static NTSTATUS sync_ioctl(WDFIOTARGET t, ULONG code)
{
    WDF_MEMORY_DESCRIPTOR in, out;
    char ib[4] = "abc", ob[4];
    WDF_MEMORY_DESCRIPTOR_INIT_BUFFER(&in, ib, sizeof(ib));
    WDF_MEMORY_DESCRIPTOR_INIT_BUFFER(&out, ob, sizeof(ob));
    return WdfIoTargetSendIoctlSynchronously(t, NULL, code, &in, &out, NULL, NULL);
}

/* I21 */
static void open_checks_the_size_and_accepts_the_older_size(void **state)
{
    WDF_IO_TARGET_OPEN_PARAMS p;
    WDFIOTARGET t;

    setup();
    t = new_target();
    WDF_IO_TARGET_OPEN_PARAMS_INIT_OPEN_BY_NAME(&p, &link_name, GENERIC_READ);
    p.Size = 0;
    assert_int_equal(WdfIoTargetOpen(t, &p), STATUS_INFO_LENGTH_MISMATCH);
    expected_reports = 1; /* the wrong Size is reported */
    p.Size = WDF_IO_TARGET_OPEN_PARAMS_SIZE_V1_7;
    p.FileName.Length = 0xFFFF; /* beyond the older size: must read as zero */
    assert_int_equal(WdfIoTargetOpen(t, &p), STATUS_SUCCESS);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetStarted);
    WdfObjectDelete(t);
    finish();
}

/* I22 */
static void open_by_empty_name_or_unknown_type_is_invalid_parameter(void **state)
{
    WDF_IO_TARGET_OPEN_PARAMS p;
    UNICODE_STRING empty = { 0 };
    WDFIOTARGET t;

    setup();
    t = new_target();
    WDF_IO_TARGET_OPEN_PARAMS_INIT_OPEN_BY_NAME(&p, &empty, GENERIC_READ);
    assert_int_equal(WdfIoTargetOpen(t, &p), STATUS_INVALID_PARAMETER);
    WDF_IO_TARGET_OPEN_PARAMS_INIT_OPEN_BY_NAME(&p, &link_name, GENERIC_READ);
    p.Type = (WDF_IO_TARGET_OPEN_TYPE)7;
    assert_int_equal(WdfIoTargetOpen(t, &p), STATUS_INVALID_PARAMETER);
    WDF_IO_TARGET_OPEN_PARAMS_INIT_EXISTING_DEVICE(&p, NULL);
    assert_int_equal(WdfIoTargetOpen(t, &p), STATUS_INVALID_PARAMETER);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetClosed);
    WdfObjectDelete(t);
    finish();
}

/* I23 */
static void reopen_without_a_previous_open_by_name_is_invalid_device_request(void **state)
{
    WDF_IO_TARGET_OPEN_PARAMS p;
    WDFIOTARGET t;

    setup();
    t = new_target();
    WDF_IO_TARGET_OPEN_PARAMS_INIT_REOPEN(&p);
    assert_int_equal(WdfIoTargetOpen(t, &p), STATUS_INVALID_DEVICE_REQUEST);
    WdfObjectDelete(t);
    finish();
}

/* I24 */
static void opening_an_open_target_is_invalid_device_state_and_it_stays_usable(void **state)
{
    WDFIOTARGET t;

    setup();
    t = opened_target();
    assert_int_equal(open_by_name(t, NULL, NULL, NULL), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetStarted);
    assert_int_equal(sync_ioctl(t, WT_IOCTL_ECHO), STATUS_SUCCESS);
    assert_int_equal(wtw_st[1].creates, 1);
    WdfObjectDelete(t);
    assert_int_equal(wtw_st[1].cleanups, 1);
    finish();
}

/* I25 */
static void an_opened_target_is_started_and_delivers(void **state)
{
    WDFIOTARGET t;

    setup();
    t = opened_target();
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetStarted);
    assert_ptr_equal(WdfIoTargetWdmGetTargetDeviceObject(t), wtw_st[1].fdo);
    assert_non_null(WdfIoTargetWdmGetTargetFileObject(t));
    assert_ptr_equal(WdfIoTargetGetDevice(t), src);
    assert_int_equal(sync_ioctl(t, WT_IOCTL_ECHO), STATUS_SUCCESS);
    assert_int_equal(sync_ioctl(t, WT_IOCTL_LATER), STATUS_SUCCESS);
    assert_int_equal(wtw_st[1].ioctls, 2);
    WdfObjectDelete(t);
    finish();
}

/* I26 */
static void stop_leave_pending_holds_sends_and_start_delivers_them_in_order(void **state)
{
    done_record d[3];
    WDFREQUEST r[3];
    WDFIOTARGET t;

    setup();
    t = opened_target();
    WdfIoTargetStop(t, WdfIoTargetLeaveSentIoPending);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetStopped);
    done_seq = 0;
    for (int i = 0; i < 3; i++) {
        r[i] = new_request(t, WT_IOCTL_ECHO, &d[i]);
        assert_true(WdfRequestSend(r[i], t, NULL));
    }
    usleep(20000);
    for (int i = 0; i < 3; i++)
        assert_int_equal(d[i].calls, 0);
    assert_int_equal(wtw_st[1].ioctls, 0);
    assert_int_equal(WdfIoTargetStart(t), STATUS_SUCCESS);
    for (int i = 0; i < 3; i++) {
        pk_test_wait_event(&d[i].event);
        assert_int_equal(d[i].calls, 1);
        assert_int_equal(d[i].status, STATUS_SUCCESS);
        assert_int_equal(d[i].order, i + 1);
        WdfObjectDelete(r[i]);
    }
    WdfObjectDelete(t);
    finish();
}

/* I27 */
static void stop_cancel_sent_io_cancels_and_waits(void **state)
{
    done_record d;
    WDFREQUEST r;
    WDFIOTARGET t;

    setup();
    t = opened_target();
    r = new_request(t, WT_IOCTL_NEVER, &d);
    assert_true(WdfRequestSend(r, t, NULL));
    WdfIoTargetStop(t, WdfIoTargetCancelSentIo);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.status, STATUS_CANCELLED);
    assert_int_equal(WdfIoTargetStart(t), STATUS_SUCCESS);
    WdfObjectDelete(r);
    WdfObjectDelete(t);
    finish();
}

/* I28 */
typedef struct sync_arg {
    WDFIOTARGET t;
    NTSTATUS status;
    volatile bool done;
} sync_arg;

static void *sync_sender(void *arg)
{
    sync_arg *a = arg;
    a->status = sync_ioctl(a->t, WT_IOCTL_ECHO);
    __atomic_store_n(&a->done, true, __ATOMIC_RELEASE);
    return NULL;
}

static void sync_send_to_a_stopped_target_waits_for_start_or_times_out(void **state)
{
    WDF_MEMORY_DESCRIPTOR in;
    WDF_REQUEST_SEND_OPTIONS o;
    char ib[4] = "abc";
    pk_test_threads th;
    sync_arg a = { 0 };
    WDFIOTARGET t;

    setup();
    t = opened_target();
    WdfIoTargetStop(t, WdfIoTargetLeaveSentIoPending);
    WDF_MEMORY_DESCRIPTOR_INIT_BUFFER(&in, ib, sizeof(ib));
    WDF_REQUEST_SEND_OPTIONS_INIT(&o, 0);
    WDF_REQUEST_SEND_OPTIONS_SET_TIMEOUT(&o, WDF_REL_TIMEOUT_IN_MS(30));
    assert_int_equal(WdfIoTargetSendIoctlSynchronously(t, NULL, WT_IOCTL_ECHO, &in, NULL, &o, NULL), STATUS_IO_TIMEOUT);
    a.t = t;
    pk_test_threads_start(&th, 1, sync_sender, &a);
    usleep(20000);
    assert_false(__atomic_load_n(&a.done, __ATOMIC_ACQUIRE));
    assert_int_equal(WdfIoTargetStart(t), STATUS_SUCCESS);
    pk_test_threads_join(&th);
    assert_int_equal(a.status, STATUS_SUCCESS);
    WdfObjectDelete(t);
    finish();
}

/* I29 */
static void sends_to_a_closed_target_are_refused_even_with_ignore_target_state(void **state)
{
    WDF_REQUEST_SEND_OPTIONS o;
    done_record d;
    WDFREQUEST r;
    WDFIOTARGET t;

    setup();
    t = opened_target();
    r = new_request(t, WT_IOCTL_ECHO, &d);
    WdfIoTargetClose(t);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetClosed);
    assert_false(WdfRequestSend(r, t, NULL));
    assert_int_equal(WdfRequestGetStatus(r), STATUS_INVALID_DEVICE_STATE);
    WDF_REQUEST_SEND_OPTIONS_INIT(&o, WDF_REQUEST_SEND_OPTION_IGNORE_TARGET_STATE);
    assert_false(WdfRequestSend(r, t, &o));
    assert_int_equal(WdfRequestGetStatus(r), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(d.calls, 0);
    WdfObjectDelete(r);
    WdfObjectDelete(t);
    finish();
}

/* I30 */
static void closing_a_stopped_target_fails_held_requests_with_removed_not_sent(void **state)
{
    done_record d;
    WDFREQUEST r;
    WDFIOTARGET t;

    setup();
    t = opened_target();
    WdfIoTargetStop(t, WdfIoTargetLeaveSentIoPending);
    r = new_request(t, WT_IOCTL_ECHO, &d);
    assert_true(WdfRequestSend(r, t, NULL));
    WdfIoTargetClose(t);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.status, STATUS_WDF_DEVICE_REMOVED_NOT_SENT);
    assert_int_equal(wtw_st[1].ioctls, 0);
    WdfObjectDelete(r);
    WdfObjectDelete(t);
    finish();
}

/* I31 */
static void close_then_open_by_name_starts_the_target_again(void **state)
{
    WDFIOTARGET t;

    setup();
    t = opened_target();
    WdfIoTargetClose(t);
    assert_int_equal(wtw_st[1].cleanups, 1);
    assert_int_equal(open_by_name(t, NULL, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetStarted);
    assert_int_equal(sync_ioctl(t, WT_IOCTL_ECHO), STATUS_SUCCESS);
    assert_int_equal(wtw_st[1].creates, 2);
    WdfObjectDelete(t);
    finish();
}

/* I32 */
static void start_on_a_deleted_target_is_invalid_device_state(void **state)
{
    WDFIOTARGET t;

    setup();
    t = opened_target();
    WdfObjectReference(t);
    WdfObjectDelete(t);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetDeleted);
    assert_int_equal(WdfIoTargetStart(t), STATUS_INVALID_DEVICE_STATE);
    WdfObjectDereference(t);
    finish();
}

/* I33 */
static void without_callbacks_query_remove_closes_cancel_reopens_and_complete_closes(void **state)
{
    WDFIOTARGET t;

    setup();
    t = opened_target();
    /* The stack vetoes: the target closed for the query-remove, then reopened on the cancel. */
    PnpkitSimVetoQueryRemove(tgt_dn, TRUE);
    assert_int_equal(CM_Query_And_Remove_SubTreeW(tgt_dn, NULL, NULL, 0, 0), CR_REMOVE_VETOED);
    PnpkitSimWaitIdle();
    assert_int_equal(wtw_st[1].cleanups, 1);
    assert_int_equal(wtw_st[1].creates, 2);
    assert_int_equal(seen_access, GENERIC_READ | GENERIC_WRITE);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetStarted);
    assert_int_equal(sync_ioctl(t, WT_IOCTL_ECHO), STATUS_SUCCESS);
    PnpkitSimVetoQueryRemove(tgt_dn, FALSE);
    assert_int_equal(CM_Query_And_Remove_SubTreeW(tgt_dn, NULL, NULL, 0, 0), CR_SUCCESS);
    PnpkitSimWaitIdle();
    assert_int_equal(wtw_st[1].cleanups, 2);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetClosed);
    WdfObjectDelete(t);
    finish();
}

static volatile LONG qr_calls, rc_calls, rcomp_calls;
static NTSTATUS qr_status;
static bool qr_close;

static NTSTATUS cb_query_remove(WDFIOTARGET t)
{
    InterlockedIncrement(&qr_calls);
    if (qr_close && NT_SUCCESS(qr_status))
        WdfIoTargetCloseForQueryRemove(t);
    return qr_status;
}

static VOID cb_remove_canceled(WDFIOTARGET t)
{
    WDF_IO_TARGET_OPEN_PARAMS p;
    InterlockedIncrement(&rc_calls);
    if (WdfIoTargetGetState(t) == WdfIoTargetClosedForQueryRemove) {
        WDF_IO_TARGET_OPEN_PARAMS_INIT_REOPEN(&p);
        assert_int_equal(WdfIoTargetOpen(t, &p), STATUS_SUCCESS);
    }
}

static VOID cb_remove_complete(WDFIOTARGET t)
{
    InterlockedIncrement(&rcomp_calls);
    WdfIoTargetClose(t);
}

static VOID cb_remove_complete_delete(WDFIOTARGET t)
{
    InterlockedIncrement(&rcomp_calls);
    WdfIoTargetClose(t);
    WdfObjectDelete(t);
    /* The framework's reference keeps the target for the rest of the callback. */
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetDeleted);
}

static void reset_callbacks(NTSTATUS status, bool close)
{
    qr_calls = rc_calls = rcomp_calls = 0;
    qr_status = status;
    qr_close = close;
}

/* I34 */
static void a_failing_query_remove_callback_vetoes_and_gets_remove_canceled(void **state)
{
    WDFIOTARGET t;

    setup();
    reset_callbacks(STATUS_UNSUCCESSFUL, false);
    t = new_target();
    assert_int_equal(open_by_name(t, cb_query_remove, cb_remove_canceled, cb_remove_complete), STATUS_SUCCESS);
    assert_int_equal(CM_Query_And_Remove_SubTreeW(tgt_dn, NULL, NULL, 0, 0), CR_REMOVE_VETOED);
    PnpkitSimWaitIdle();
    assert_int_equal(qr_calls, 1);
    assert_int_equal(rc_calls, 1);
    assert_int_equal(rcomp_calls, 0);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetStarted);
    assert_int_equal(wtw_st[1].cleanups, 0);
    WdfObjectDelete(t);
    finish();
}

/* I35 */
static void a_query_remove_callback_that_leaves_the_handle_open_is_vetoed_by_it(void **state)
{
    WDFIOTARGET t;

    setup();
    reset_callbacks(STATUS_SUCCESS, false);
    t = new_target();
    assert_int_equal(open_by_name(t, cb_query_remove, cb_remove_canceled, cb_remove_complete), STATUS_SUCCESS);
    assert_int_equal(CM_Query_And_Remove_SubTreeW(tgt_dn, NULL, NULL, 0, 0), CR_REMOVE_VETOED);
    PnpkitSimWaitIdle();
    assert_int_equal(qr_calls, 1);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetStarted);
    assert_int_equal(wtw_st[1].cleanups, 0);
    assert_int_equal(sync_ioctl(t, WT_IOCTL_ECHO), STATUS_SUCCESS);
    WdfObjectDelete(t);
    finish();
}

/* I36 */
static void surprise_removal_calls_remove_complete_only_and_defaults_to_closed(void **state)
{
    WDFIOTARGET t, t2;

    setup();
    reset_callbacks(STATUS_SUCCESS, true);
    t = new_target();
    assert_int_equal(open_by_name(t, cb_query_remove, cb_remove_canceled, cb_remove_complete), STATUS_SUCCESS);
    t2 = opened_target();
    assert_int_equal(PnpkitSimSurpriseRemove(tgt_dn), STATUS_SUCCESS);
    PnpkitSimWaitIdle();
    assert_int_equal(qr_calls, 0);
    assert_int_equal(rc_calls, 0);
    assert_int_equal(rcomp_calls, 1);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetClosed);
    assert_int_equal(WdfIoTargetGetState(t2), WdfIoTargetClosed);
    WdfObjectDelete(t);
    WdfObjectDelete(t2);
    PnpkitSimWaitIdle();
    finish();
}

/* I37 */
static void deleting_the_target_inside_remove_complete_is_safe(void **state)
{
    WDFIOTARGET t;

    setup();
    reset_callbacks(STATUS_SUCCESS, true);
    t = new_target();
    assert_int_equal(open_by_name(t, cb_query_remove, cb_remove_canceled, cb_remove_complete_delete), STATUS_SUCCESS);
    assert_int_equal(CM_Query_And_Remove_SubTreeW(tgt_dn, NULL, NULL, 0, 0), CR_SUCCESS);
    PnpkitSimWaitIdle();
    assert_int_equal(qr_calls, 1);
    assert_int_equal(rcomp_calls, 1);
    finish();
}

/* I38 */
typedef struct open_arg {
    WDFIOTARGET t;
    NTSTATUS status;
} open_arg;

static void *opener(void *arg)
{
    open_arg *a = arg;
    a->status = open_by_name(a->t, NULL, NULL, NULL);
    return NULL;
}

static void *closer(void *arg)
{
    WdfIoTargetClose(((open_arg *)arg)->t);
    return NULL;
}

static void an_open_racing_a_close_ends_closed_and_the_close_waits_for_it(void **state)
{
    pk_test_threads o, c;
    open_arg a;
    KEVENT gate;
    WDFIOTARGET t;

    setup();
    t = new_target();
    a.t = t;
    KeInitializeEvent(&gate, NotificationEvent, FALSE);
    create_gate = &gate;
    pk_test_threads_start(&o, 1, opener, &a);
    pk_test_wait_event(&create_entered);
    pk_test_threads_start(&c, 1, closer, &a);
    usleep(20000);
    /* The close waits for the open held in the create. */
    assert_int_equal(wtw_st[1].cleanups, 0);
    KeSetEvent(&gate, IO_NO_INCREMENT, FALSE);
    pk_test_threads_join(&o);
    pk_test_threads_join(&c);
    create_gate = NULL;
    assert_int_equal(a.status, STATUS_SUCCESS);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetClosed);
    assert_int_equal(wtw_st[1].creates, 1);
    assert_int_equal(wtw_st[1].cleanups, 1);
    /* Many races: no handle leaks. */
    for (int i = 0; i < 20; i++) {
        pk_test_threads_start(&o, 1, opener, &a);
        pk_test_threads_start(&c, 1, closer, &a);
        pk_test_threads_join(&o);
        pk_test_threads_join(&c);
        WdfIoTargetClose(t);
        assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetClosed);
    }
    assert_int_equal(wtw_st[1].creates, wtw_st[1].cleanups);
    WdfObjectDelete(t);
    finish();
}

/* I39 */
static void a_reopen_after_close_for_query_remove_gets_each_query_remove_once(void **state)
{
    WDFIOTARGET t;

    setup();
    reset_callbacks(STATUS_SUCCESS, true);
    t = new_target();
    assert_int_equal(open_by_name(t, cb_query_remove, cb_remove_canceled, cb_remove_complete), STATUS_SUCCESS);
    PnpkitSimVetoQueryRemove(tgt_dn, TRUE);
    assert_int_equal(CM_Query_And_Remove_SubTreeW(tgt_dn, NULL, NULL, 0, 0), CR_REMOVE_VETOED);
    PnpkitSimWaitIdle();
    assert_int_equal(qr_calls, 1);
    assert_int_equal(rc_calls, 1);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetStarted);
    assert_int_equal(CM_Query_And_Remove_SubTreeW(tgt_dn, NULL, NULL, 0, 0), CR_REMOVE_VETOED);
    PnpkitSimWaitIdle();
    assert_int_equal(qr_calls, 2);
    assert_int_equal(rc_calls, 2);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetStarted);
    PnpkitSimVetoQueryRemove(tgt_dn, FALSE);
    WdfObjectDelete(t);
    finish();
}

/* I40 */
static volatile LONG target_cleanups;
static VOID target_cleanup(WDFOBJECT o) { InterlockedIncrement(&target_cleanups); }

static void removal_of_the_device_closes_its_local_target_and_deletes_its_remote_targets(void **state)
{
    WDF_OBJECT_ATTRIBUTES attributes;
    WDFIOTARGET t, local;

    setup();
    target_cleanups = 0;
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    attributes.EvtCleanupCallback = target_cleanup;
    assert_int_equal(WdfIoTargetCreate(src, &attributes, &t), STATUS_SUCCESS);
    assert_int_equal(open_by_name(t, NULL, NULL, NULL), STATUS_SUCCESS);
    local = WdfDeviceGetIoTarget(src);
    assert_int_equal(WdfIoTargetGetState(local), WdfIoTargetStarted);
    assert_int_equal(CM_Query_And_Remove_SubTreeW(src_dn, NULL, NULL, 0, 0), CR_SUCCESS);
    PnpkitSimWaitIdle();
    assert_int_equal(target_cleanups, 1);
    assert_int_equal(wtw_st[1].cleanups, 1);
    finish();
}

/* I42 */
static NTSTATUS plain_entry(PDRIVER_OBJECT d, PUNICODE_STRING p)
{
    d->MajorFunction[IRP_MJ_CREATE] = NULL;
    return STATUS_SUCCESS;
}

static void open_succeeds_when_registration_for_notifications_fails(void **state)
{
    WDF_IO_TARGET_OPEN_PARAMS p;
    PDRIVER_OBJECT drv;
    PDEVICE_OBJECT dev;
    PFILE_OBJECT fo;
    WDFIOTARGET t;

    setup();
    reset_callbacks(STATUS_SUCCESS, true);
    assert_int_equal(PnpkitIoCreateDriver(u"wtplain", plain_entry, &drv), STATUS_SUCCESS);
    assert_int_equal(IoCreateDevice(drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev), STATUS_SUCCESS);
    dev->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    assert_int_equal(PnpkitIoCreateFileObject(dev, NULL, &fo), STATUS_SUCCESS);
    t = new_target();
    WDF_IO_TARGET_OPEN_PARAMS_INIT_EXISTING_DEVICE(&p, dev);
    p.TargetFileObject = fo;
    p.EvtIoTargetQueryRemove = cb_query_remove;
    p.EvtIoTargetRemoveComplete = cb_remove_complete;
    assert_int_equal(WdfIoTargetOpen(t, &p), STATUS_SUCCESS); /* not a PnP device: no registration */
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetStarted);
    assert_ptr_equal(WdfIoTargetWdmGetTargetDeviceObject(t), dev);
    assert_ptr_equal(WdfIoTargetWdmGetTargetFileObject(t), fo);
    /* Callbacks without a file object are refused. */
    WdfIoTargetClose(t);
    p.TargetFileObject = NULL;
    assert_int_equal(WdfIoTargetOpen(t, &p), STATUS_INVALID_PARAMETER);
    WdfObjectDelete(t);
    assert_int_equal(qr_calls + rc_calls + rcomp_calls, 0);
    ObDereferenceObject(fo);
    IoDeleteDevice(dev);
    PnpkitIoDeleteDriver(drv);
    finish();
}

/* I43 */
static void a_never_opened_target_is_closed_and_refuses_sends(void **state)
{
    WDFIOTARGET t, local;
    WDFREQUEST r;
    done_record d;

    setup();
    t = new_target();
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetClosed);
    assert_null(WdfIoTargetWdmGetTargetDeviceObject(t));
    local = WdfDeviceGetIoTarget(src);
    assert_int_equal(WdfRequestCreate(NULL, t, &r), STATUS_SUCCESS);
    assert_int_equal(WdfIoTargetFormatRequestForIoctl(t, r, WT_IOCTL_ECHO, in_mem, NULL, out_mem, NULL),
                     STATUS_INVALID_DEVICE_STATE);
    (void)local;
    WdfObjectDelete(r);
    /* A request formatted while the target was open, sent after it closed. */
    assert_int_equal(open_by_name(t, NULL, NULL, NULL), STATUS_SUCCESS);
    r = new_request(t, WT_IOCTL_ECHO, &d);
    WdfIoTargetClose(t);
    assert_false(WdfRequestSend(r, t, NULL));
    assert_int_equal(WdfRequestGetStatus(r), STATUS_INVALID_DEVICE_STATE);
    WdfObjectDelete(r);
    WdfObjectDelete(t);
    finish();
}

/* I44 */
static void a_10ms_timeout_times_out_and_timeout_0_does_not(void **state)
{
    WDF_REQUEST_SEND_OPTIONS o;
    done_record d1, d2;
    WDFREQUEST r1, r2;
    WDFIOTARGET t;

    setup();
    t = opened_target();
    r1 = new_request(t, WT_IOCTL_NEVER, &d1);
    WDF_REQUEST_SEND_OPTIONS_INIT(&o, 0);
    WDF_REQUEST_SEND_OPTIONS_SET_TIMEOUT(&o, WDF_REL_TIMEOUT_IN_MS(10));
    assert_true(WdfRequestSend(r1, t, &o));
    pk_test_wait_event(&d1.event);
    assert_int_equal(d1.status, STATUS_IO_TIMEOUT);
    r2 = new_request(t, WT_IOCTL_NEVER, &d2);
    WDF_REQUEST_SEND_OPTIONS_SET_TIMEOUT(&o, 0);
    assert_true(WdfRequestSend(r2, t, &o));
    usleep(50000);
    assert_int_equal(d2.calls, 0);
    assert_true(WdfRequestCancelSentRequest(r2));
    pk_test_wait_event(&d2.event);
    assert_int_equal(d2.status, STATUS_CANCELLED);
    /* A held request times out too. */
    WdfIoTargetStop(t, WdfIoTargetLeaveSentIoPending);
    WdfRequestReuse(r1, &(WDF_REQUEST_REUSE_PARAMS){ sizeof(WDF_REQUEST_REUSE_PARAMS), 0, STATUS_SUCCESS, NULL });
    assert_int_equal(WdfIoTargetFormatRequestForIoctl(t, r1, WT_IOCTL_ECHO, in_mem, NULL, out_mem, NULL),
                     STATUS_SUCCESS);
    init_record(&d1);
    WdfRequestSetCompletionRoutine(r1, on_done, &d1);
    WDF_REQUEST_SEND_OPTIONS_SET_TIMEOUT(&o, WDF_REL_TIMEOUT_IN_MS(10));
    assert_true(WdfRequestSend(r1, t, &o));
    pk_test_wait_event(&d1.event);
    assert_int_equal(d1.status, STATUS_IO_TIMEOUT);
    WdfObjectDelete(r1);
    WdfObjectDelete(r2);
    WdfObjectDelete(t);
    finish();
}

/* I45 */
static void cancel_sent_request_is_true_while_outstanding_and_false_after(void **state)
{
    done_record d;
    WDFREQUEST r;
    WDFIOTARGET t;

    setup();
    t = opened_target();
    r = new_request(t, WT_IOCTL_NEVER, &d);
    assert_true(WdfRequestSend(r, t, NULL));
    assert_true(WdfRequestCancelSentRequest(r));
    pk_test_wait_event(&d.event);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.status, STATUS_CANCELLED);
    assert_false(WdfRequestCancelSentRequest(r));
    assert_int_equal(d.calls, 1);
    WdfObjectDelete(r);
    WdfObjectDelete(t);
    finish();
}

/* I46 */
static void a_refused_send_returns_false_with_the_reason_and_no_completion(void **state)
{
    done_record d;
    WDFREQUEST r;
    WDFIOTARGET t;

    setup();
    t = opened_target();
    r = new_request(t, WT_IOCTL_ECHO, &d);
    WdfIoTargetCloseForQueryRemove(t);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetClosedForQueryRemove);
    assert_false(WdfRequestSend(r, t, NULL));
    assert_int_equal(WdfRequestGetStatus(r), STATUS_INVALID_DEVICE_STATE);
    usleep(10000);
    assert_int_equal(d.calls, 0);
    WdfObjectDelete(r);
    WdfObjectDelete(t);
    finish();
}

/* I47 */
static void purge_cancels_held_requests_and_refuses_sends_until_start(void **state)
{
    done_record d;
    WDFREQUEST r;
    WDFIOTARGET t;

    setup();
    t = opened_target();
    WdfIoTargetStop(t, WdfIoTargetLeaveSentIoPending);
    r = new_request(t, WT_IOCTL_ECHO, &d);
    assert_true(WdfRequestSend(r, t, NULL));
    WdfIoTargetPurge(t, WdfIoTargetPurgeIoAndWait);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetPurged);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.status, STATUS_CANCELLED);
    assert_int_equal(sync_ioctl(t, WT_IOCTL_ECHO), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(WdfIoTargetStart(t), STATUS_SUCCESS);
    assert_int_equal(sync_ioctl(t, WT_IOCTL_ECHO), STATUS_SUCCESS);
    WdfObjectDelete(r);
    WdfObjectDelete(t);
    finish();
}

/* I48 */
static void desired_and_share_access_reach_the_target_driver(void **state)
{
    WDF_IO_TARGET_OPEN_PARAMS p;
    WDFIOTARGET t;

    setup();
    t = new_target();
    WDF_IO_TARGET_OPEN_PARAMS_INIT_OPEN_BY_NAME(&p, &link_name, GENERIC_READ);
    p.ShareAccess = FILE_SHARE_READ | FILE_SHARE_WRITE;
    assert_int_equal(WdfIoTargetOpen(t, &p), STATUS_SUCCESS);
    assert_int_equal(seen_access, GENERIC_READ);
    assert_int_equal(seen_share, FILE_SHARE_READ | FILE_SHARE_WRITE);
    WdfObjectDelete(t);
    finish();
}

/* Stop neither cancels nor waits for IGNORE_TARGET_STATE requests; a close cancels them. */
static void stop_leaves_ignore_target_state_requests_and_close_cancels_them(void **state)
{
    WDF_REQUEST_SEND_OPTIONS o;
    done_record d;
    WDFREQUEST r;
    WDFIOTARGET t;

    setup();
    t = opened_target();
    r = new_request(t, WT_IOCTL_NEVER, &d);
    WDF_REQUEST_SEND_OPTIONS_INIT(&o, WDF_REQUEST_SEND_OPTION_IGNORE_TARGET_STATE);
    assert_true(WdfRequestSend(r, t, &o));
    WdfIoTargetStop(t, WdfIoTargetCancelSentIo);
    WdfIoTargetStop(t, WdfIoTargetWaitForSentIoToComplete);
    assert_int_equal(d.calls, 0);
    WdfIoTargetClose(t);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.status, STATUS_CANCELLED);
    WdfObjectDelete(r);
    WdfObjectDelete(t);
    finish();
}

/* Read and write helpers, and the remote target's accessors. */
static void synchronous_read_and_write_reach_the_target(void **state)
{
    WDF_MEMORY_DESCRIPTOR d;
    char buf[6] = "hello";
    ULONG_PTR n = 0;
    WDFIOTARGET t;

    setup();
    t = opened_target();
    WDF_MEMORY_DESCRIPTOR_INIT_BUFFER(&d, buf, 5);
    assert_int_equal(WdfIoTargetSendWriteSynchronously(t, NULL, &d, NULL, NULL, &n), STATUS_SUCCESS);
    assert_int_equal(n, 5);
    assert_memory_equal(wtw_last_write, "hello", 5);
    assert_int_equal(WdfIoTargetSendReadSynchronously(t, NULL, &d, NULL, NULL, &n), STATUS_SUCCESS);
    assert_memory_equal(buf, "rrrrr", 5);
    WdfObjectDelete(t);
    finish();
}

/* NULL, deleted and wrong-typed handles to the target calls: an error status (or nothing for
 * the VOID calls), a verifier finding, no crash; a good target is left as it was. */
static void bad_target_handles_are_refused_and_change_nothing(void **state)
{
    WDF_IO_TARGET_OPEN_PARAMS p;
    WDFIOTARGET good, gone, created = NULL;

    setup();
    good = opened_target();
    gone = new_target();
    WdfObjectDelete(gone);
    WDF_IO_TARGET_OPEN_PARAMS_INIT_OPEN_BY_NAME(&p, &link_name, GENERIC_READ);
    WDFIOTARGET bad[] = { NULL, gone, (WDFIOTARGET)in_mem };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(NT_SUCCESS(WdfIoTargetOpen(bad[i], &p)));
        assert_false(NT_SUCCESS(WdfIoTargetStart(bad[i])));
        WdfIoTargetStop(bad[i], WdfIoTargetCancelSentIo);
        WdfIoTargetPurge(bad[i], WdfIoTargetPurgeIo);
        WdfIoTargetClose(bad[i]);
        WdfIoTargetCloseForQueryRemove(bad[i]);
    }
    assert_false(NT_SUCCESS(WdfIoTargetCreate((WDFDEVICE)in_mem, WDF_NO_OBJECT_ATTRIBUTES, &created)));
    assert_null(created);
    assert_int_equal(WdfIoTargetCreate(src, WDF_NO_OBJECT_ATTRIBUTES, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(WdfIoTargetOpen(good, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(WdfIoTargetGetState(good), WdfIoTargetStarted);
    assert_true(pk_test_verifier_stops() + pk_test_verifier_reports() > 0);
    WdfObjectDelete(good);
    expected_stops = pk_test_verifier_stops(); /* the findings this test asked for */
    expected_reports = pk_test_verifier_reports();
    finish();
}


/* A remote target is one object: no driver or device object of its own (a DMF module may open
 * thousands). Its requests need only the opened device's stack locations, and the WDM accessors
 * give the opened device and file. */
static void a_remote_target_is_one_object_and_its_requests_need_only_the_devices_stack(void **state)
{
    WDFIOTARGET t[64];
    WDFREQUEST r;
    PDEVICE_OBJECT dev;
    ULONG before;
    done_record d;

    setup();
    before = PnpkitLiveObjectCount();
    assert_int_equal(WdfIoTargetCreate(src, WDF_NO_OBJECT_ATTRIBUTES, &t[0]), STATUS_SUCCESS);
    assert_int_equal(PnpkitLiveObjectCount(), before + 1);
    for (int i = 1; i < 64; i++)
        assert_int_equal(WdfIoTargetCreate(src, WDF_NO_OBJECT_ATTRIBUTES, &t[i]), STATUS_SUCCESS);
    assert_int_equal(PnpkitLiveObjectCount(), before + 64);
    for (int i = 0; i < 64; i++)
        assert_int_equal(open_by_name(t[i], NULL, NULL, NULL), STATUS_SUCCESS);
    dev = WdfIoTargetWdmGetTargetDeviceObject(t[0]);
    assert_non_null(dev);
    assert_ptr_equal(IoGetRelatedDeviceObject(WdfIoTargetWdmGetTargetFileObject(t[0])), dev);
    assert_int_equal(WdfRequestCreate(NULL, t[0], &r), STATUS_SUCCESS);
    assert_int_equal(WdfIoTargetFormatRequestForIoctl(t[0], r, WT_IOCTL_ECHO, in_mem, NULL, out_mem, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(WdfRequestWdmGetIrp(r)->StackCount, dev->StackSize);
    init_record(&d);
    WdfRequestSetCompletionRoutine(r, on_done, &d);
    assert_true(WdfRequestSend(r, t[0], NULL));
    pk_test_wait_event(&d.event);
    assert_int_equal(d.status, STATUS_SUCCESS);
    WdfObjectDelete(r);
    for (int i = 0; i < 64; i++)
        WdfObjectDelete(t[i]);
    assert_int_equal(PnpkitLiveObjectCount(), before);
    finish();
}

/* A held request that is cancelled, or whose timeout fires, completes once with
 * STATUS_CANCELLED or STATUS_IO_TIMEOUT without reaching the device, and Start delivers only
 * the others, in order. */
static void a_held_request_cancelled_or_timed_out_never_reaches_the_device(void **state)
{
    WDF_REQUEST_SEND_OPTIONS o;
    done_record d[3];
    WDFREQUEST r[3];
    WDFIOTARGET t;

    setup();
    t = opened_target();
    WdfIoTargetStop(t, WdfIoTargetLeaveSentIoPending);
    done_seq = 0;
    for (int i = 0; i < 3; i++)
        r[i] = new_request(t, WT_IOCTL_ECHO, &d[i]);
    assert_true(WdfRequestSend(r[0], t, NULL));
    WDF_REQUEST_SEND_OPTIONS_INIT(&o, WDF_REQUEST_SEND_OPTION_TIMEOUT);
    o.Timeout = WDF_REL_TIMEOUT_IN_MS(10);
    assert_true(WdfRequestSend(r[1], t, &o));
    assert_true(WdfRequestSend(r[2], t, NULL));
    assert_true(WdfRequestCancelSentRequest(r[0]));
    assert_int_equal(d[0].calls, 1);
    assert_int_equal(d[0].status, STATUS_CANCELLED);
    assert_false(WdfRequestCancelSentRequest(r[0]));
    pk_test_wait_event(&d[1].event);
    assert_int_equal(d[1].calls, 1);
    assert_int_equal(d[1].status, STATUS_IO_TIMEOUT);
    assert_int_equal(d[2].calls, 0);
    assert_int_equal(wtw_st[1].ioctls, 0);
    assert_int_equal(WdfIoTargetStart(t), STATUS_SUCCESS);
    pk_test_wait_event(&d[2].event);
    assert_int_equal(d[2].calls, 1);
    assert_int_equal(d[2].status, STATUS_SUCCESS);
    assert_int_equal(wtw_st[1].ioctls, 1);
    for (int i = 0; i < 3; i++)
        WdfObjectDelete(r[i]);
    WdfObjectDelete(t);
    finish();
}


/* Start waits for a Stop or Purge in progress on another thread (io.md 1.3, "Start, Stop and
 * Purge"). */
typedef struct change_arg {
    WDFIOTARGET t;
    int kind;                   /* 0: Stop(WaitForSentIo), 1: Purge(PurgeIoAndWait), 2: Start */
    WDFREQUEST watch;           /* Start: the request whose send must have finished first */
    NTSTATUS watch_status;      /* its status when Start returned */
    NTSTATUS status;
    volatile bool done;
} change_arg;

static void *change_thread(void *arg)
{
    change_arg *a = arg;

    if (a->kind == 0) {
        WdfIoTargetStop(a->t, WdfIoTargetWaitForSentIoToComplete);
    } else if (a->kind == 1) {
        WdfIoTargetPurge(a->t, WdfIoTargetPurgeIoAndWait);
    } else {
        a->status = WdfIoTargetStart(a->t);
        a->watch_status = WdfRequestGetStatus(a->watch);
    }
    __atomic_store_n(&a->done, true, __ATOMIC_RELEASE);
    return NULL;
}

static void wait_for_state(WDFIOTARGET t, WDF_IO_TARGET_STATE s)
{
    for (int i = 0; i < 5000 && WdfIoTargetGetState(t) != s; i++)
        usleep(1000);
    assert_int_equal(WdfIoTargetGetState(t), s);
}

static void start_waits_for_a_stop_in_progress_on_another_thread(void **state)
{
    change_arg stop = { 0 }, start = { 0 };
    pthread_t a, b;
    done_record d;
    WDFREQUEST r;
    WDFIOTARGET t;

    setup();
    t = opened_target();
    r = new_request(t, WT_IOCTL_NEVER, &d);
    assert_true(WdfRequestSend(r, t, NULL));
    stop.t = start.t = t;
    stop.kind = 0;
    start.kind = 2;
    start.watch = r;
    assert_int_equal(pthread_create(&a, NULL, change_thread, &stop), 0);
    wait_for_state(t, WdfIoTargetStopped); /* the Stop is in its wait */
    assert_int_equal(pthread_create(&b, NULL, change_thread, &start), 0);
    usleep(30000);
    assert_false(__atomic_load_n(&stop.done, __ATOMIC_ACQUIRE));
    assert_false(__atomic_load_n(&start.done, __ATOMIC_ACQUIRE));
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetStopped);
    assert_int_equal(wtw_flush_never(), 1); /* the sent request completes: the Stop ends */
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    assert_int_equal(start.status, STATUS_SUCCESS);
    assert_int_equal(start.watch_status, STATUS_CANCELLED);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetStarted);
    WdfObjectDelete(r);
    WdfObjectDelete(t);
    finish();
}

/* A completion routine that blocks the thread completing it until the test opens the gate. */
static KEVENT purge_gate, purge_in_routine;

static void on_done_gated(WDFREQUEST request, WDFIOTARGET t, PWDF_REQUEST_COMPLETION_PARAMS params,
                          WDFCONTEXT context)
{
    KeSetEvent(&purge_in_routine, IO_NO_INCREMENT, FALSE);
    KeWaitForSingleObject(&purge_gate, Executive, KernelMode, FALSE, NULL);
    on_done(request, t, params, context);
}

static void start_waits_for_a_purge_in_progress_on_another_thread(void **state)
{
    change_arg purge = { 0 }, start = { 0 };
    pthread_t a, b;
    done_record d;
    WDFREQUEST r;
    WDFIOTARGET t;

    setup();
    KeInitializeEvent(&purge_gate, NotificationEvent, FALSE);
    KeInitializeEvent(&purge_in_routine, NotificationEvent, FALSE);
    t = opened_target();
    r = new_request(t, WT_IOCTL_NEVER, NULL);
    init_record(&d);
    WdfRequestSetCompletionRoutine(r, on_done_gated, &d);
    assert_true(WdfRequestSend(r, t, NULL));
    purge.t = start.t = t;
    purge.kind = 1;
    start.kind = 2;
    start.watch = r;
    assert_int_equal(pthread_create(&a, NULL, change_thread, &purge), 0);
    /* The purge cancelled the request; its completion routine runs (and blocks) on the purging
     * thread, inside the purge. */
    pk_test_wait_event(&purge_in_routine);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetPurged);
    assert_int_equal(pthread_create(&b, NULL, change_thread, &start), 0);
    usleep(30000);
    assert_false(__atomic_load_n(&start.done, __ATOMIC_ACQUIRE));
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetPurged);
    KeSetEvent(&purge_gate, IO_NO_INCREMENT, FALSE);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    assert_int_equal(start.status, STATUS_SUCCESS);
    assert_int_equal(start.watch_status, STATUS_CANCELLED);
    assert_int_equal(d.status, STATUS_CANCELLED);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetStarted);
    WdfObjectDelete(r);
    WdfObjectDelete(t);
    finish();
}

/* A Start that cannot wait (DISPATCH_LEVEL) during a Stop in progress returns at once, and the
 * Stop starts the target when it ends; a later Stop overrides it. */
static void a_start_at_dispatch_level_during_a_stop_takes_effect_when_the_stop_ends(void **state)
{
    change_arg stop = { 0 };
    pthread_t a;
    done_record d;
    WDFREQUEST r;
    WDFIOTARGET t;
    KIRQL old;

    setup();
    t = opened_target();
    r = new_request(t, WT_IOCTL_NEVER, &d);
    assert_true(WdfRequestSend(r, t, NULL));
    stop.t = t;
    stop.kind = 0;
    assert_int_equal(pthread_create(&a, NULL, change_thread, &stop), 0);
    wait_for_state(t, WdfIoTargetStopped);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(WdfIoTargetStart(t), STATUS_SUCCESS);
    KeLowerIrql(old);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetStopped);
    assert_false(__atomic_load_n(&stop.done, __ATOMIC_ACQUIRE));
    assert_int_equal(wtw_flush_never(), 1);
    pthread_join(a, NULL);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetStarted);
    WdfObjectDelete(r);
    WdfObjectDelete(t);
    finish();
}


/* I41: a query-remove that arrives during WdfIoTargetOpen (registered, not yet Open) reaches the
 * driver's EvtIoTargetQueryRemove, not the default; its WdfIoTargetCloseForQueryRemove waits for
 * the open to finish, then closes; the removal proceeds and RemoveComplete closes the target. */
static KEVENT qr_entered;
static volatile LONG qr_during_open_calls;
static volatile ULONG query_remove_result;

static NTSTATUS cb_query_remove_during_open(WDFIOTARGET t)
{
    InterlockedIncrement(&qr_during_open_calls);
    KeSetEvent(&qr_entered, IO_NO_INCREMENT, FALSE);
    WdfIoTargetCloseForQueryRemove(t);
    return STATUS_SUCCESS;
}

static void *query_remove_thread(void *arg)
{
    __atomic_store_n(&query_remove_result, CM_Query_And_Remove_SubTreeW(tgt_dn, NULL, NULL, 0, 0),
                     __ATOMIC_RELEASE);
    return NULL;
}

static pthread_t qr_thread;

static void query_remove_during_open(WDFIOTARGET t)
{
    wdf_target_open_hook = NULL; /* once */
    assert_int_equal(pthread_create(&qr_thread, NULL, query_remove_thread, NULL), 0);
    /* The open goes on only once the driver's callback runs: the event reached the target while
     * it was opening. */
    pk_test_wait_event(&qr_entered);
}

static void a_query_remove_during_open_is_handled_by_the_drivers_callback(void **state)
{
    WDFIOTARGET t;

    setup();
    KeInitializeEvent(&qr_entered, NotificationEvent, FALSE);
    qr_during_open_calls = 0;
    rcomp_calls = 0;
    rc_calls = 0;
    query_remove_result = 0xFFFF;
    t = new_target();
    wdf_target_open_hook = query_remove_during_open;
    assert_int_equal(open_by_name(t, cb_query_remove_during_open, cb_remove_canceled, cb_remove_complete),
                     STATUS_SUCCESS);
    pthread_join(qr_thread, NULL);
    PnpkitSimWaitIdle();
    assert_int_equal(query_remove_result, CR_SUCCESS);
    assert_int_equal(qr_during_open_calls, 1);
    assert_int_equal(rc_calls, 0);
    assert_int_equal(rcomp_calls, 1);
    assert_int_equal(WdfIoTargetGetState(t), WdfIoTargetClosed);
    assert_int_equal(wtw_st[1].creates, 1);
    assert_int_equal(wtw_st[1].cleanups, 1);
    WdfObjectDelete(t);
    finish();
}


/* CreateDisposition, CreateOptions and EaBuffer of WDF_IO_TARGET_OPEN_PARAMS reach the target
 * driver's create (Parameters.Create.Options = disposition << 24 | options, EaLength, the EA
 * bytes in the create's system buffer), and a Reopen sends the same, from the target's own copy
 * of the EA bytes. The CREATE_BY_NAME initializer leaves the disposition 0. */
static void create_disposition_options_and_ea_buffer_reach_the_target_driver(void **state)
{
    WDF_IO_TARGET_OPEN_PARAMS p;
    char ea[8] = "ea-data";
    WDFIOTARGET t;

    setup();
    t = new_target();
    WDF_IO_TARGET_OPEN_PARAMS_INIT_OPEN_BY_NAME(&p, &link_name, GENERIC_READ);
    p.CreateDisposition = FILE_OPEN_IF;
    p.CreateOptions = FILE_NON_DIRECTORY_FILE | FILE_SYNCHRONOUS_IO_NONALERT;
    p.EaBuffer = ea;
    p.EaBufferLength = sizeof(ea);
    assert_int_equal(WdfIoTargetOpen(t, &p), STATUS_SUCCESS);
    assert_int_equal(seen_options, (FILE_OPEN_IF << 24) | FILE_NON_DIRECTORY_FILE | FILE_SYNCHRONOUS_IO_NONALERT);
    assert_int_equal(seen_ea_length, sizeof(ea));
    assert_memory_equal(seen_ea, "ea-data", 8);
    memset(ea, 'x', sizeof(ea)); /* the caller's buffer is not needed after the open */
    WdfIoTargetCloseForQueryRemove(t);
    WDF_IO_TARGET_OPEN_PARAMS_INIT_REOPEN(&p);
    seen_options = 0;
    seen_ea_length = 0;
    assert_int_equal(WdfIoTargetOpen(t, &p), STATUS_SUCCESS);
    assert_int_equal(seen_options, (FILE_OPEN_IF << 24) | FILE_NON_DIRECTORY_FILE | FILE_SYNCHRONOUS_IO_NONALERT);
    assert_int_equal(seen_ea_length, 8);
    assert_memory_equal(seen_ea, "ea-data", 8);
    WdfIoTargetClose(t);
    WDF_IO_TARGET_OPEN_PARAMS_INIT_CREATE_BY_NAME(&p, &link_name, GENERIC_READ);
    assert_int_equal(WdfIoTargetOpen(t, &p), STATUS_SUCCESS);
    assert_int_equal(seen_options, FILE_NON_DIRECTORY_FILE);
    assert_int_equal(seen_ea_length, 0);
    WdfObjectDelete(t);
    finish();
}


/* PnpkitOpenDeviceInterfaceEx (what a ByName open uses): bad parameters are refused with
 * STATUS_INVALID_PARAMETER and nothing reaches the driver. */
static void open_device_interface_ex_refuses_bad_parameters(void **state)
{
    PNPKIT_IO_OPEN_PARAMETERS p;
    UNICODE_STRING name = RTL_CONSTANT_STRING(u"\\x");
    PFILE_OBJECT fo = NULL;

    setup();
    PNPKIT_IO_OPEN_PARAMETERS_INIT(&p, GENERIC_READ);
    p.Size = 3;
    assert_int_equal(PnpkitOpenDeviceInterfaceEx(&link_name, &p, &fo), STATUS_INVALID_PARAMETER);
    PNPKIT_IO_OPEN_PARAMETERS_INIT(&p, GENERIC_READ);
    p.FileName = &name;
    assert_int_equal(PnpkitOpenDeviceInterfaceEx(&link_name, &p, &fo), STATUS_INVALID_PARAMETER);
    PNPKIT_IO_OPEN_PARAMETERS_INIT(&p, GENERIC_READ);
    p.EaLength = 4;
    assert_int_equal(PnpkitOpenDeviceInterfaceEx(&link_name, &p, &fo), STATUS_INVALID_PARAMETER);
    assert_int_equal(PnpkitOpenDeviceInterfaceEx(&link_name, NULL, &fo), STATUS_INVALID_PARAMETER);
    assert_null(fo);
    assert_int_equal(wtw_st[1].creates, 0);
    /* The older size, without the EA fields, is accepted. */
    PNPKIT_IO_OPEN_PARAMETERS_INIT(&p, GENERIC_READ);
    p.Size = PNPKIT_IO_OPEN_PARAMETERS_SIZE_V1;
    assert_int_equal(PnpkitOpenDeviceInterfaceEx(&link_name, &p, &fo), STATUS_SUCCESS);
    assert_int_equal(seen_ea_length, 0);
    PnpkitCloseDeviceInterface(fo);
    finish();
}

PK_TEST_MAIN(PK_TEST(bad_target_handles_are_refused_and_change_nothing),
             PK_TEST(open_checks_the_size_and_accepts_the_older_size),
             PK_TEST(open_by_empty_name_or_unknown_type_is_invalid_parameter),
             PK_TEST(reopen_without_a_previous_open_by_name_is_invalid_device_request),
             PK_TEST(opening_an_open_target_is_invalid_device_state_and_it_stays_usable),
             PK_TEST(an_opened_target_is_started_and_delivers),
             PK_TEST(stop_leave_pending_holds_sends_and_start_delivers_them_in_order),
             PK_TEST(stop_cancel_sent_io_cancels_and_waits),
             PK_TEST(sync_send_to_a_stopped_target_waits_for_start_or_times_out),
             PK_TEST(sends_to_a_closed_target_are_refused_even_with_ignore_target_state),
             PK_TEST(closing_a_stopped_target_fails_held_requests_with_removed_not_sent),
             PK_TEST(close_then_open_by_name_starts_the_target_again),
             PK_TEST(start_on_a_deleted_target_is_invalid_device_state),
             PK_TEST(without_callbacks_query_remove_closes_cancel_reopens_and_complete_closes),
             PK_TEST(a_failing_query_remove_callback_vetoes_and_gets_remove_canceled),
             PK_TEST(a_query_remove_callback_that_leaves_the_handle_open_is_vetoed_by_it),
             PK_TEST(surprise_removal_calls_remove_complete_only_and_defaults_to_closed),
             PK_TEST(deleting_the_target_inside_remove_complete_is_safe),
             PK_TEST(an_open_racing_a_close_ends_closed_and_the_close_waits_for_it),
             PK_TEST(a_reopen_after_close_for_query_remove_gets_each_query_remove_once),
             PK_TEST(removal_of_the_device_closes_its_local_target_and_deletes_its_remote_targets),
             PK_TEST(open_succeeds_when_registration_for_notifications_fails),
             PK_TEST(a_never_opened_target_is_closed_and_refuses_sends),
             PK_TEST(a_10ms_timeout_times_out_and_timeout_0_does_not),
             PK_TEST(cancel_sent_request_is_true_while_outstanding_and_false_after),
             PK_TEST(a_refused_send_returns_false_with_the_reason_and_no_completion),
             PK_TEST(purge_cancels_held_requests_and_refuses_sends_until_start),
             PK_TEST(desired_and_share_access_reach_the_target_driver),
             PK_TEST(stop_leaves_ignore_target_state_requests_and_close_cancels_them),
             PK_TEST(synchronous_read_and_write_reach_the_target),
             PK_TEST(a_remote_target_is_one_object_and_its_requests_need_only_the_devices_stack),
             PK_TEST(a_held_request_cancelled_or_timed_out_never_reaches_the_device),
             PK_TEST(start_waits_for_a_stop_in_progress_on_another_thread),
             PK_TEST(start_waits_for_a_purge_in_progress_on_another_thread),
             PK_TEST(a_start_at_dispatch_level_during_a_stop_takes_effect_when_the_stop_ends),
             PK_TEST(a_query_remove_during_open_is_handled_by_the_drivers_callback),
             PK_TEST(create_disposition_options_and_ea_buffer_reach_the_target_driver),
             PK_TEST(open_device_interface_ex_refuses_bad_parameters))
