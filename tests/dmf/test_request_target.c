/* DMF_RequestTarget (spec dmf.md 1.3 and behaviours D45-D54): single asynchronous sends with and
 * without cancel ids, synchronous sends, timeouts, byte counts by request type, passive
 * delivery, reusable requests, close with a reusable request never deleted. */
#include "pk_test.h"
#include "dmf_target_testdrv.h"

static char inbuf[8] = "request", outbuf[8];

static DMFMODULE rt_new(BOOLEAN passive, bool set_target)
{
    DMF_MODULE_ATTRIBUTES a;
    DMFMODULE m;

    DMF_RequestTarget_ATTRIBUTES_INIT(&a);
    a.PassiveLevel = passive;
    assert_int_equal(DMF_RequestTarget_Create((WDFDEVICE)dt_parent, &a, WDF_NO_OBJECT_ATTRIBUTES, &m), STATUS_SUCCESS);
    if (set_target)
        assert_int_equal(DMF_RequestTarget_IoTargetSet(m, dt_target), STATUS_SUCCESS);
    return m;
}

static NTSTATUS send_ex(DMFMODULE m, ULONG code, ULONG timeout, dt_done *d, RequestTarget_DmfRequestCancel *id)
{
    return DMF_RequestTarget_SendEx(m, inbuf, sizeof(inbuf), outbuf, sizeof(outbuf),
                                    ContinuousRequestTarget_RequestType_Ioctl, code, timeout, dt_on_done, d, id);
}

/* D45: ids are non-zero, the first is 0x100, and they grow across instances. */
static void d45_ids_start_at_0x100_and_grow_across_instances(void **state)
{
    RequestTarget_DmfRequestCancel a = NULL, b = NULL, c = NULL;
    RequestTarget_DmfRequestReuse r = NULL;
    dt_done d1, d2, d3;

    dt_setup(u"d45");
    DMFMODULE m1 = rt_new(FALSE, true), m2 = rt_new(FALSE, true);
    dt_done_init(&d1);
    dt_done_init(&d2);
    dt_done_init(&d3);
    assert_int_equal(send_ex(m1, WT_IOCTL_ECHO, 0, &d1, &a), STATUS_SUCCESS);
    assert_int_equal(send_ex(m2, WT_IOCTL_ECHO, 0, &d2, &b), STATUS_SUCCESS);
    assert_int_equal(DMF_RequestTarget_ReuseCreate(m1, &r), STATUS_SUCCESS);
    assert_int_equal(send_ex(m1, WT_IOCTL_ECHO, 0, &d3, &c), STATUS_SUCCESS);
    assert_int_equal((uintptr_t)a, 0x100);
    assert_true((uintptr_t)b > (uintptr_t)a);
    assert_true((uintptr_t)r > (uintptr_t)b);
    assert_true((uintptr_t)c > (uintptr_t)r);
    assert_true(DMF_RequestTarget_ReuseDelete(m1, r));
    dt_finish();
}

/* D46: Cancel of a pending request is TRUE and it completes with STATUS_CANCELLED; a completed,
 * unknown, foreign or id-less request gives FALSE. */
static void d46_cancel_pending_true_everything_else_false(void **state)
{
    RequestTarget_DmfRequestCancel id = NULL, done_id = NULL;
    dt_done d, e, f;

    dt_setup(u"d46");
    DMFMODULE m = rt_new(FALSE, true), other = rt_new(FALSE, true);
    dt_done_init(&d);
    dt_done_init(&e);
    dt_done_init(&f);
    assert_int_equal(send_ex(m, WT_IOCTL_NEVER, 0, &d, &id), STATUS_SUCCESS);
    assert_int_equal(send_ex(m, WT_IOCTL_ECHO, 0, &e, &done_id), STATUS_SUCCESS);
    assert_int_equal(e.calls, 1);
    assert_false(DMF_RequestTarget_Cancel(m, done_id));                   /* completed */
    assert_false(DMF_RequestTarget_Cancel(m, (RequestTarget_DmfRequestCancel)(uintptr_t)0x7fffffff)); /* unknown */
    assert_false(DMF_RequestTarget_Cancel(other, id));                    /* another instance */
    assert_int_equal(d.calls, 0);
    assert_true(DMF_RequestTarget_Cancel(m, id));
    pk_test_wait_event(&d.event);
    assert_int_equal(d.status, STATUS_CANCELLED);
    assert_int_equal(d.calls, 1);
    assert_false(DMF_RequestTarget_Cancel(m, id));
    /* A send without an id pointer cannot be cancelled by any id. */
    assert_int_equal(DMF_RequestTarget_Send(m, inbuf, sizeof(inbuf), outbuf, sizeof(outbuf),
                                            ContinuousRequestTarget_RequestType_Ioctl, WT_IOCTL_NEVER, 0, dt_on_done, &f),
                     STATUS_SUCCESS);
    for (uintptr_t i = 0x100; i < 0x110; i++)
        assert_false(DMF_RequestTarget_Cancel(m, (RequestTarget_DmfRequestCancel)i));
    assert_int_equal(wtw_flush_never(), 1);
    pk_test_wait_event(&f.event);
    assert_int_equal(f.calls, 1);
    dt_finish();
}

/* D47: a send that fails synchronously returns the error, never calls back, and leaves the id
 * pointer unwritten. */
static void d47_refused_send_no_callback_no_id(void **state)
{
    RequestTarget_DmfRequestCancel id = (RequestTarget_DmfRequestCancel)(uintptr_t)0x5a5a;
    dt_done d;

    dt_setup(u"d47");
    DMFMODULE m = rt_new(FALSE, false);
    dt_done_init(&d);
    assert_int_equal(send_ex(m, WT_IOCTL_ECHO, 0, &d, &id), STATUS_INVALID_DEVICE_STATE); /* no target */
    assert_int_equal(DMF_RequestTarget_IoTargetSet(m, dt_target), STATUS_SUCCESS);
    assert_int_equal(DMF_RequestTarget_IoTargetSet(m, dt_target), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(DMF_RequestTarget_SendEx(m, inbuf, 8, outbuf, 8, ContinuousRequestTarget_RequestType_Invalid,
                                              WT_IOCTL_ECHO, 0, dt_on_done, &d, &id),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(DMF_RequestTarget_SendEx(m, inbuf, 8, outbuf, 8, (ContinuousRequestTarget_RequestType)5,
                                              WT_IOCTL_ECHO, 0, dt_on_done, &d, &id),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(d.calls, 0);
    assert_int_equal((uintptr_t)id, 0x5a5a);
    dt_finish();
}

/* D48: byte counts by request type. */
static void d48_byte_counts_by_request_type(void **state)
{
    char big[6];
    dt_done d;

    dt_setup(u"d48");
    DMFMODULE m = rt_new(FALSE, true);
    dt_done_init(&d);
    assert_int_equal(DMF_RequestTarget_Send(m, inbuf, 8, outbuf, 4, ContinuousRequestTarget_RequestType_Ioctl,
                                            WT_IOCTL_ECHO, 0, dt_on_done, &d),
                     STATUS_SUCCESS);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.in_written, 8);
    assert_int_equal(d.out_read, 4);
    assert_memory_equal(outbuf, "requ", 4);
    dt_done_init(&d);
    assert_int_equal(DMF_RequestTarget_Send(m, NULL, 0, big, sizeof(big), ContinuousRequestTarget_RequestType_Read, 0, 0,
                                            dt_on_done, &d),
                     STATUS_SUCCESS);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.in_written, 0);
    assert_int_equal(d.out_read, 6);
    assert_memory_equal(big, "rrrrrr", 6);
    dt_done_init(&d);
    assert_int_equal(DMF_RequestTarget_Send(m, inbuf, 5, NULL, 0, ContinuousRequestTarget_RequestType_Write, 0, 0,
                                            dt_on_done, &d),
                     STATUS_SUCCESS);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.in_written, 5);
    assert_int_equal(d.out_read, 0);
    assert_memory_equal(wtw_last_write, "reque", 5);
    dt_finish();
}

/* D49: passive modules call back on a worker at PASSIVE_LEVEL; others in the completing context. */
static void d49_passive_on_worker_dispatch_inline(void **state)
{
    dt_done d;

    dt_setup(u"d49");
    DMFMODULE inl = rt_new(FALSE, true), pas = rt_new(TRUE, true);
    dt_done_init(&d);
    assert_int_equal(send_ex(inl, WT_IOCTL_ECHO, 0, &d, NULL), STATUS_SUCCESS);
    assert_int_equal(d.calls, 1);
    assert_true(pthread_equal(d.thread, pthread_self()));
    assert_ptr_equal(d.module, inl);
    dt_done_init(&d);
    assert_int_equal(send_ex(pas, WT_IOCTL_ECHO, 0, &d, NULL), STATUS_SUCCESS);
    pk_test_wait_event(&d.event);
    assert_false(pthread_equal(d.thread, pthread_self()));
    assert_int_equal(d.irql, PASSIVE_LEVEL);
    assert_ptr_equal(d.module, pas);
    dt_finish();
}

/* D50: ReuseSend / ReuseDelete on an in-flight id fail; ReuseDelete on an idle id succeeds once. */
static void d50_reuse_in_flight_and_delete(void **state)
{
    RequestTarget_DmfRequestReuse r;
    RequestTarget_DmfRequestCancel id = NULL;
    dt_done d;

    dt_setup(u"d50");
    DMFMODULE m = rt_new(FALSE, true);
    dt_done_init(&d);
    assert_int_equal(DMF_RequestTarget_ReuseCreate(m, &r), STATUS_SUCCESS);
    assert_int_equal(DMF_RequestTarget_ReuseSend(m, r, inbuf, 8, outbuf, 8, ContinuousRequestTarget_RequestType_Ioctl,
                                                 WT_IOCTL_NEVER, 0, dt_on_done, &d, &id),
                     STATUS_SUCCESS);
    assert_int_equal(DMF_RequestTarget_ReuseSend(m, r, inbuf, 8, outbuf, 8, ContinuousRequestTarget_RequestType_Ioctl,
                                                 WT_IOCTL_ECHO, 0, dt_on_done, &d, NULL),
                     STATUS_OBJECTID_NOT_FOUND);
    assert_false(DMF_RequestTarget_ReuseDelete(m, r));
    assert_true(DMF_RequestTarget_Cancel(m, id));
    pk_test_wait_event(&d.event);
    assert_int_equal(d.status, STATUS_CANCELLED);
    assert_int_equal(DMF_RequestTarget_ReuseSend(m, (RequestTarget_DmfRequestReuse)(uintptr_t)0x7fffffff, inbuf, 8,
                                                 outbuf, 8, ContinuousRequestTarget_RequestType_Ioctl, WT_IOCTL_ECHO, 0,
                                                 dt_on_done, &d, NULL),
                     STATUS_OBJECTID_NOT_FOUND);
    /* A failure before the send leaves the request reusable. */
    assert_int_equal(DMF_RequestTarget_ReuseSend(m, r, inbuf, 8, outbuf, 8, ContinuousRequestTarget_RequestType_Invalid,
                                                 WT_IOCTL_ECHO, 0, dt_on_done, &d, NULL),
                     STATUS_INVALID_PARAMETER);
    dt_done_init(&d);
    assert_int_equal(DMF_RequestTarget_ReuseSend(m, r, inbuf, 8, outbuf, 8, ContinuousRequestTarget_RequestType_Ioctl,
                                                 WT_IOCTL_ECHO, 0, dt_on_done, &d, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(d.calls, 1);
    assert_true(DMF_RequestTarget_ReuseDelete(m, r));
    assert_false(DMF_RequestTarget_ReuseDelete(m, r));
    dt_finish();
}

/* D51: the completion callback of a reuse id may send that id again. */
static DMFMODULE d51_module;
static RequestTarget_DmfRequestReuse d51_id;
static int d51_calls;
static VOID d51_done(DMFMODULE DmfModule, VOID *Context, VOID *In, size_t InWritten, VOID *Out, size_t OutRead,
                     NTSTATUS Status)
{
    assert_int_equal(Status, STATUS_SUCCESS);
    if (++d51_calls < 5)
        assert_int_equal(DMF_RequestTarget_ReuseSend(d51_module, d51_id, inbuf, 8, outbuf, 8,
                                                     ContinuousRequestTarget_RequestType_Ioctl, WT_IOCTL_LATER, 0,
                                                     d51_done, Context, NULL),
                         STATUS_SUCCESS);
    else
        KeSetEvent(Context, IO_NO_INCREMENT, FALSE);
}

static void d51_reuse_send_from_its_own_callback(void **state)
{
    KEVENT done;

    dt_setup(u"d51");
    d51_module = rt_new(FALSE, true);
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    assert_int_equal(DMF_RequestTarget_ReuseCreate(d51_module, &d51_id), STATUS_SUCCESS);
    assert_int_equal(DMF_RequestTarget_ReuseSend(d51_module, d51_id, inbuf, 8, outbuf, 8,
                                                 ContinuousRequestTarget_RequestType_Ioctl, WT_IOCTL_ECHO, 0, d51_done,
                                                 &done, NULL),
                     STATUS_SUCCESS);
    pk_test_wait_event(&done);
    assert_int_equal(d51_calls, 5);
    assert_true(DMF_RequestTarget_ReuseDelete(d51_module, d51_id));
    dt_finish();
}

/* D52 (and D37 for SendSynchronously): a timeout completes with STATUS_IO_TIMEOUT; 0 never expires. */
static void d52_timeouts(void **state)
{
    dt_done d, e;
    size_t bytes = 99;
    uint64_t t0;

    dt_setup(u"d52");
    DMFMODULE m = rt_new(FALSE, true);
    dt_done_init(&d);
    dt_done_init(&e);
    assert_int_equal(send_ex(m, WT_IOCTL_NEVER, 30, &d, NULL), STATUS_SUCCESS);
    assert_int_equal(send_ex(m, WT_IOCTL_NEVER, 0, &e, NULL), STATUS_SUCCESS);
    pk_test_wait_event(&d.event);
    assert_int_equal(d.status, STATUS_IO_TIMEOUT);
    t0 = pk_test_now_ms();
    assert_int_equal(DMF_RequestTarget_SendSynchronously(m, inbuf, 8, outbuf, 8, ContinuousRequestTarget_RequestType_Ioctl,
                                                         WT_IOCTL_NEVER, 50, &bytes),
                     STATUS_IO_TIMEOUT);
    assert_true(pk_test_now_ms() - t0 >= 40);
    assert_int_equal(bytes, 0);
    assert_int_equal(e.calls, 0);
    assert_int_equal(wtw_flush_never(), 1);
    pk_test_wait_event(&e.event);
    assert_int_equal(e.status, STATUS_CANCELLED);
    dt_finish();
}

/* SendSynchronously returns the completion status and the byte count. */
static void send_synchronously_returns_status_and_bytes(void **state)
{
    size_t bytes = 0;

    dt_setup(u"sync");
    DMFMODULE m = rt_new(TRUE, true);
    memset(outbuf, 0, sizeof(outbuf));
    assert_int_equal(DMF_RequestTarget_SendSynchronously(m, inbuf, 8, outbuf, 8, ContinuousRequestTarget_RequestType_Ioctl,
                                                         WT_IOCTL_LATER, 0, &bytes),
                     STATUS_SUCCESS);
    assert_int_equal(bytes, 0); /* LATER completes with Information 0 */
    assert_int_equal(DMF_RequestTarget_SendSynchronously(m, inbuf, 8, outbuf, 8, ContinuousRequestTarget_RequestType_Ioctl,
                                                         WT_IOCTL_ECHO, 0, &bytes),
                     STATUS_SUCCESS);
    assert_int_equal(bytes, 8);
    assert_memory_equal(outbuf, inbuf, 8);
    DMF_RequestTarget_IoTargetClear(m);
    assert_int_equal(DMF_RequestTarget_SendSynchronously(m, inbuf, 8, outbuf, 8, ContinuousRequestTarget_RequestType_Ioctl,
                                                         WT_IOCTL_ECHO, 0, &bytes),
                     STATUS_INVALID_DEVICE_STATE);
    dt_finish();
}

/* D53: closing with an idle reuse request never deleted does not hang and warns. */
static void d53_close_with_undeleted_reuse_request_warns(void **state)
{
    RequestTarget_DmfRequestReuse r;
    dt_done d;

    pk_test_capture_verifier();
    dt_setup(u"d53");
    DMFMODULE m = rt_new(FALSE, true);
    dt_done_init(&d);
    assert_int_equal(DMF_RequestTarget_ReuseCreate(m, &r), STATUS_SUCCESS);
    assert_int_equal(DMF_RequestTarget_ReuseSend(m, r, inbuf, 8, outbuf, 8, ContinuousRequestTarget_RequestType_Ioctl,
                                                 WT_IOCTL_ECHO, 0, dt_on_done, &d, NULL),
                     STATUS_SUCCESS);
    WdfObjectDelete(m);
    assert_true(pk_test_verifier_saw("never deleted"));
    dt_finish();
}

/* D54 (pnpkit-hosted part): InternalIoctl reaches the driver as an internal device control. */
static void d54_internal_ioctl_reaches_the_driver(void **state)
{
    dt_done d;

    dt_setup(u"d54");
    DMFMODULE m = rt_new(FALSE, true);
    dt_done_init(&d);
    assert_int_equal(DMF_RequestTarget_Send(m, inbuf, 8, outbuf, 8, ContinuousRequestTarget_RequestType_InternalIoctl,
                                            WT_IOCTL_ECHO, 0, dt_on_done, &d),
                     STATUS_SUCCESS);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.status, STATUS_SUCCESS);
    assert_int_equal(__atomic_load_n(&wtw_st[0].ioctls, __ATOMIC_SEQ_CST), 1);
    dt_finish();
}

/* A closed module refuses sends with STATUS_INVALID_DEVICE_STATE. */
static void closed_module_refuses(void **state)
{
    dt_done d;
    RequestTarget_DmfRequestReuse r;

    dt_setup(u"closed");
    DMFMODULE m = rt_new(FALSE, true);
    dt_done_init(&d);
    DMF_ModuleClose(m);
    assert_int_equal(send_ex(m, WT_IOCTL_ECHO, 0, &d, NULL), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(DMF_RequestTarget_ReuseCreate(m, &r), STATUS_INVALID_DEVICE_STATE);
    assert_false(DMF_RequestTarget_Cancel(m, (RequestTarget_DmfRequestCancel)(uintptr_t)0x100));
    assert_int_equal(d.calls, 0);
    dt_finish();
}

/* NULL, deleted, wrong-typed and wrong-module handles are caught: an error status, no
 * callback, nothing sent. */
static void bad_handles_are_refused_and_change_nothing(void **state)
{
    dt_done d;
    WDFIOTARGET t;
    RequestTarget_DmfRequestReuse r = NULL;
    DMF_CONFIG_ContinuousRequestTarget c;
    DMF_MODULE_ATTRIBUTES a;
    DMFMODULE crt, gone;

    pk_test_capture_verifier();
    dt_setup(u"badhandles");
    dt_done_init(&d);
    DMF_CONFIG_ContinuousRequestTarget_AND_ATTRIBUTES_INIT(&c, &a);
    assert_int_equal(DMF_ContinuousRequestTarget_Create((WDFDEVICE)dt_parent, &a, WDF_NO_OBJECT_ATTRIBUTES, &crt),
                     STATUS_SUCCESS);
    gone = rt_new(FALSE, true);
    WdfObjectDelete(gone);
    LONG before = __atomic_load_n(&wtw_st[0].ioctls, __ATOMIC_SEQ_CST);
    DMFMODULE bad[] = { NULL, gone, crt, (DMFMODULE)dt_target };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(NT_SUCCESS(send_ex(bad[i], WT_IOCTL_ECHO, 0, &d, NULL)));
        assert_false(NT_SUCCESS(DMF_RequestTarget_IoTargetSet(bad[i], dt_target)));
        assert_false(NT_SUCCESS(DMF_RequestTarget_Get(bad[i], &t)));
        assert_false(NT_SUCCESS(DMF_RequestTarget_ReuseCreate(bad[i], &r)));
        assert_false(DMF_RequestTarget_Cancel(bad[i], (RequestTarget_DmfRequestCancel)(uintptr_t)0x100));
    }
    assert_null(r);
    assert_int_equal(d.calls, 0);
    assert_int_equal(__atomic_load_n(&wtw_st[0].ioctls, __ATOMIC_SEQ_CST), before);
    assert_true(pk_test_verifier_stops() + pk_test_verifier_reports() > 0);
    dt_finish();
}

PK_TEST_MAIN(
    PK_TEST(bad_handles_are_refused_and_change_nothing),
    PK_TEST(d45_ids_start_at_0x100_and_grow_across_instances),
    PK_TEST(d46_cancel_pending_true_everything_else_false),
    PK_TEST(d47_refused_send_no_callback_no_id),
    PK_TEST(d48_byte_counts_by_request_type),
    PK_TEST(d49_passive_on_worker_dispatch_inline),
    PK_TEST(d50_reuse_in_flight_and_delete),
    PK_TEST(d51_reuse_send_from_its_own_callback),
    PK_TEST(d52_timeouts),
    PK_TEST(send_synchronously_returns_status_and_bytes),
    PK_TEST(d53_close_with_undeleted_reuse_request_warns),
    PK_TEST(d54_internal_ioctl_reaches_the_driver),
    PK_TEST(closed_module_refuses))
