/* DMF_DeviceInterfaceMultipleTarget: I/O through the module's methods and I/O on removal (spec
 * dmf.md 1.4 "Methods", "Cancel spellings", "Stream callbacks and BufferPut", behaviours D13,
 * D14, D34-D37, D55, D56, D58, and D45's ids seen through this module). Sensors
 * (dimt_testdev.h) answer DS_IOCTL_ECHO inline, hold DS_IOCTL_HOLD until cancelled or released
 * (stream requests use it too), so every test knows exactly what is pending. */
#include "pk_test.h"
#include "dimt_testdev.h"

#define ST_OPEN DeviceInterfaceMultipleTarget_StateType_Open
#define ST_QR DeviceInterfaceMultipleTarget_StateType_QueryRemove
#define ST_RCANCEL DeviceInterfaceMultipleTarget_StateType_RemoveCancel
#define ST_RCOMPLETE DeviceInterfaceMultipleTarget_StateType_RemoveComplete
#define ST_CLOSE DeviceInterfaceMultipleTarget_StateType_Close
#define IOCTL ContinuousRequestTarget_RequestType_Ioctl

static DMF_CONFIG_DeviceInterfaceMultipleTarget cfg;
static DMF_MODULE_ATTRIBUTES attr;
static DMF_MODULE_EVENT_CALLBACKS cbs;

static void begin_dynamic(void)
{
    dimt_begin();
    dimt_host_start(false);
    dimt_config(&cfg, &attr, &cbs);
}

/* ============================================================================================= */
/* Methods                                                                                       */
/* ============================================================================================= */

/* D13 */
static void D13_without_stream_requests_stream_start_is_invalid_device_request_and_single_requests_work(void **state)
{
    DMFMODULE m;
    DMFIOTARGET t;
    dimt_done d;
    unsigned char in[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, out[8], rd[32];
    RequestTarget_DmfRequestCancel id = NULL, id2 = NULL;
    RequestTarget_DmfRequestReuse rid = NULL;
    int reports;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    m = dimt_create(&cfg, &attr);
    t = dimt_opened(0);

    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_StreamStart(m, t), STATUS_INVALID_DEVICE_REQUEST);
    reports = dimt_reports();
    DMF_DeviceInterfaceMultipleTarget_StreamStop(m, t); /* does nothing, with a warning */
    assert_true(dimt_reports() > reports);
    assert_int_equal(dimt_load(&s->ioctls), 0);

    /* Send */
    dimt_done_init(&d);
    memset(out, 0, sizeof(out));
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_Send(m, t, in, 8, out, 8, IOCTL, DS_IOCTL_ECHO, 0, dimt_on_done, &d),
                     STATUS_SUCCESS);
    DIMT_WAIT(dimt_load(&d.calls) == 1);
    assert_int_equal(d.status, STATUS_SUCCESS);
    assert_ptr_equal(d.module, m);
    assert_int_equal(d.in_written, 8);
    assert_int_equal(d.out_read, 8);
    for (int i = 0; i < 8; i++)
        assert_int_equal(out[i], in[i] ^ 0x5A);

    /* SendEx with an id, and Cancel of a pending one */
    dimt_done_init(&d);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_SendEx(m, t, in, 8, out, 8, IOCTL, DS_IOCTL_ECHO, 0, dimt_on_done,
                                                              &d, &id),
                     STATUS_SUCCESS);
    assert_non_null(id);
    DIMT_WAIT(dimt_load(&d.calls) == 1);
    assert_false(DMF_DeviceInterfaceMultipleTarget_Cancel(m, id)); /* completed */
    dimt_done_init(&d);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_SendEx(m, t, in, 8, out, 8, IOCTL, DS_IOCTL_HOLD, 0, dimt_on_done,
                                                              &d, &id2),
                     STATUS_SUCCESS);
    assert_true((uintptr_t)id2 > (uintptr_t)id);
    DIMT_WAIT(dimt_load(&s->held) == 1);
    assert_true(DMF_DeviceInterfaceMultipleTarget_Cancel(m, id2));
    DIMT_WAIT(dimt_load(&d.calls) == 1);
    assert_int_equal(d.status, STATUS_CANCELLED);
    assert_false(DMF_DeviceInterfaceMultipleTarget_Cancel(m, t, id2));

    /* SendSynchronously */
    assert_int_equal(dimt_echo(m, t), STATUS_SUCCESS);

    /* Read and Write */
    dimt_done_init(&d);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_Send(m, t, NULL, 0, rd, sizeof(rd),
                                                            ContinuousRequestTarget_RequestType_Read, 0, 0, dimt_on_done, &d),
                     STATUS_SUCCESS);
    DIMT_WAIT(dimt_load(&d.calls) == 1);
    assert_int_equal(d.status, STATUS_SUCCESS);
    assert_int_equal(d.out_read, sizeof(rd));
    assert_int_equal(ds_check_payload(rd, sizeof(rd)), 0);
    dimt_done_init(&d);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_Send(m, t, in, 8, NULL, 0, ContinuousRequestTarget_RequestType_Write,
                                                            0, 0, dimt_on_done, &d),
                     STATUS_SUCCESS);
    DIMT_WAIT(dimt_load(&d.calls) == 1);
    assert_int_equal(d.status, STATUS_SUCCESS);
    assert_int_equal(d.in_written, 8);
    assert_int_equal(dimt_load(&s->writes), 1);

    /* Reuse */
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_ReuseCreate(m, t, &rid), STATUS_SUCCESS);
    assert_non_null(rid);
    for (int round = 0; round < 2; round++) {
        dimt_done_init(&d);
        memset(out, 0, sizeof(out));
        assert_int_equal(DMF_DeviceInterfaceMultipleTarget_ReuseSend(m, t, rid, in, 8, out, 8, IOCTL, DS_IOCTL_ECHO, 0,
                                                                     dimt_on_done, &d, NULL),
                         STATUS_SUCCESS);
        DIMT_WAIT(dimt_load(&d.calls) == 1);
        assert_int_equal(d.status, STATUS_SUCCESS);
        assert_int_equal(out[0], in[0] ^ 0x5A);
    }
    dimt_done_init(&d);
    id = NULL;
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_ReuseSend(m, t, rid, in, 8, out, 8, IOCTL, DS_IOCTL_HOLD, 0,
                                                                 dimt_on_done, &d, &id),
                     STATUS_SUCCESS);
    assert_non_null(id);
    DIMT_WAIT(dimt_load(&s->held) == 1);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_ReuseSend(m, t, rid, in, 8, out, 8, IOCTL, DS_IOCTL_ECHO, 0,
                                                                 dimt_on_done, &d, NULL),
                     STATUS_OBJECTID_NOT_FOUND);
    assert_false(DMF_DeviceInterfaceMultipleTarget_ReuseDelete(m, t, rid)); /* in flight */
    assert_true(DMF_DeviceInterfaceMultipleTarget_Cancel(m, t, id));
    DIMT_WAIT(dimt_load(&d.calls) == 1);
    assert_int_equal(d.status, STATUS_CANCELLED);
    assert_true(DMF_DeviceInterfaceMultipleTarget_ReuseDelete(m, t, rid));
    assert_false(DMF_DeviceInterfaceMultipleTarget_ReuseDelete(m, t, rid));

    dimt_delete(m);
    dimt_finish();
}

/* D14 */
static void check_no_target(DMFMODULE m)
{
    unsigned char in[8] = { 0 }, out[8];
    dimt_done d;
    RequestTarget_DmfRequestCancel id = (RequestTarget_DmfRequestCancel)(uintptr_t)0x77;
    RequestTarget_DmfRequestReuse rid = (RequestTarget_DmfRequestReuse)(uintptr_t)0x88;
    WDFIOTARGET io = (WDFIOTARGET)(uintptr_t)1;
    size_t written = 5;
    GUID g;

    dimt_done_init(&d);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_Send(m, NULL, in, 8, out, 8, IOCTL, DS_IOCTL_ECHO, 0, dimt_on_done, &d),
                     STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_SendEx(m, NULL, in, 8, out, 8, IOCTL, DS_IOCTL_ECHO, 0, dimt_on_done,
                                                              &d, &id),
                     STATUS_INVALID_DEVICE_STATE);
    assert_ptr_equal(id, (RequestTarget_DmfRequestCancel)(uintptr_t)0x77);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_SendSynchronously(m, NULL, in, 8, out, 8, IOCTL, DS_IOCTL_ECHO, 0,
                                                                         &written),
                     STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_ReuseCreate(m, NULL, &rid), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_ReuseSend(m, NULL, rid, in, 8, out, 8, IOCTL, DS_IOCTL_ECHO, 0,
                                                                 dimt_on_done, &d, NULL),
                     STATUS_INVALID_DEVICE_STATE);
    assert_false(DMF_DeviceInterfaceMultipleTarget_ReuseDelete(m, NULL, rid));
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_StreamStart(m, NULL), STATUS_INVALID_DEVICE_STATE);
    DMF_DeviceInterfaceMultipleTarget_StreamStop(m, NULL);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_Get(m, NULL, &io), STATUS_INVALID_DEVICE_STATE);
    assert_null(io);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_TargetReference(m, NULL), STATUS_INVALID_DEVICE_STATE);
    assert_false(DMF_DeviceInterfaceMultipleTarget_Cancel(m, (RequestTarget_DmfRequestCancel)(uintptr_t)0x100));
    assert_false(DMF_DeviceInterfaceMultipleTarget_Cancel(m, NULL, (RequestTarget_DmfRequestCancel)(uintptr_t)0x100));
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_GuidGet(m, &g), STATUS_SUCCESS);
    assert_int_equal(dimt_load(&d.calls), 0);
}

static void D14_with_no_target_open_every_per_target_method_fails(void **state)
{
    DMFMODULE m, ms;
    RequestTarget_DmfRequestCancel id = NULL;
    dimt_done d;
    unsigned char in[8] = { 0 }, out[8];
    DMF_CONFIG_DeviceInterfaceMultipleTarget c2;
    DMF_MODULE_ATTRIBUTES a2;
    DMF_MODULE_EVENT_CALLBACKS cb2;

    begin_dynamic();
    m = dimt_create(&cfg, &attr); /* no interface present */
    dimt_config(&c2, &a2, &cb2);
    dimt_config_stream(&c2, 2, 16, false);
    ms = dimt_create(&c2, &a2);
    assert_int_equal(dimt_recs_count(), 0);
    check_no_target(m);
    check_no_target(ms);

    /* After the only target went (the module closed again). */
    ds_sensor *s = ds_create(0, NULL);
    DMFIOTARGET t = dimt_opened(0);
    dimt_done_init(&d);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_SendEx(m, t, in, 8, out, 8, IOCTL, DS_IOCTL_ECHO, 0, dimt_on_done,
                                                              &d, &id),
                     STATUS_SUCCESS);
    DIMT_WAIT(dimt_load(&d.calls) == 1);
    ds_surprise_remove(s);
    check_no_target(m);
    check_no_target(ms);
    assert_false(DMF_DeviceInterfaceMultipleTarget_Cancel(m, id));
    dimt_delete(ms);
    dimt_delete(m);
    dimt_finish();
}

/* Spec 1.4 "Methods": SendSynchronously must wait; at DISPATCH_LEVEL it returns
 * STATUS_INVALID_DEVICE_REQUEST and sends nothing. */
static void send_synchronously_at_dispatch_level_is_invalid_device_request_and_sends_nothing(void **state)
{
    DMFMODULE m;
    DMFIOTARGET t;
    unsigned char in[4] = { 1, 2, 3, 4 }, out[4];
    size_t written = 99;
    NTSTATUS status;
    KIRQL old;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    m = dimt_create(&cfg, &attr);
    t = dimt_opened(0);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    status = DMF_DeviceInterfaceMultipleTarget_SendSynchronously(m, t, in, 4, out, 4, IOCTL, DS_IOCTL_ECHO, 0, &written);
    KeLowerIrql(old);
    assert_int_equal(status, STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(dimt_load(&s->ioctls), 0);
    dimt_expected_stops = dimt_stops(); /* a verifier finding is allowed */
    assert_int_equal(dimt_echo(m, t), STATUS_SUCCESS);
    dimt_delete(m);
    dimt_finish();
}

/* D49 through this module: with PassiveLevel, completions run at PASSIVE_LEVEL on a worker
 * thread (not the completing one), and carry the module's handle. */
static pthread_t d49_thread;
static KIRQL d49_irql;
static volatile LONG d49_calls;

static VOID d49_done(DMFMODULE m, VOID *context, VOID *in, size_t in_written, VOID *out, size_t out_read, NTSTATUS status)
{
    d49_thread = pthread_self();
    d49_irql = KeGetCurrentIrql();
    dimt_on_done(m, context, in, in_written, out, out_read, status);
    dimt_inc(&d49_calls);
}

static void D49_passive_module_completions_run_at_passive_level_on_a_worker(void **state)
{
    DMFMODULE m;
    DMFIOTARGET t;
    dimt_done d;
    unsigned char in[8] = { 7 }, out[8];

    begin_dynamic();
    ds_create(0, NULL);
    attr.PassiveLevel = TRUE;
    m = dimt_create(&cfg, &attr);
    t = dimt_opened(0);
    dimt_done_init(&d);
    d49_calls = 0;
    /* DS_IOCTL_ECHO completes inline, on this thread, inside the send. */
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_Send(m, t, in, 8, out, 8, IOCTL, DS_IOCTL_ECHO, 0, d49_done, &d),
                     STATUS_SUCCESS);
    DIMT_WAIT(dimt_load(&d49_calls) == 1);
    assert_false(pthread_equal(d49_thread, pthread_self()));
    assert_int_equal(d49_irql, PASSIVE_LEVEL);
    assert_ptr_equal(d.module, m);
    assert_int_equal(d.status, STATUS_SUCCESS);
    dimt_delete(m);
    dimt_finish();
}

/* Spec 1.4 "Stream callbacks": the client's BufferInput gets the module's handle, and what it
 * writes reaches the device. */
static DMFMODULE d38_module;
static volatile LONG d38_inputs;

static VOID d38_input(DMFMODULE m, VOID *buffer, size_t *size, VOID *context)
{
    d38_module = m;
    memset(buffer, 0xA7, *size);
    dimt_inc(&d38_inputs);
}

static void stream_buffer_input_gets_the_module_handle_and_its_bytes_reach_the_device(void **state)
{
    DMFMODULE m;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    dimt_config_stream(&cfg, 2, 16, true);
    cfg.ContinuousRequestTargetModuleConfig.BufferInputSize = 8;
    cfg.ContinuousRequestTargetModuleConfig.BufferCountInput = 2;
    cfg.ContinuousRequestTargetModuleConfig.EvtContinuousRequestTargetBufferInput = d38_input;
    d38_inputs = 0;
    d38_module = NULL;
    m = dimt_create(&cfg, &attr);
    DIMT_WAIT(dimt_load(&s->held) == 2);
    assert_int_equal(dimt_load(&d38_inputs), 2);
    assert_ptr_equal(d38_module, m);
    assert_int_equal(dimt_load(&s->last_hold_in_len), 8);
    assert_int_equal(dimt_load(&s->last_hold_in_byte), 0xA7);
    /* The output side gets the module's handle too. */
    assert_int_equal(ds_release(s, 1, STATUS_SUCCESS), 1);
    DIMT_WAIT(dimt_load(&dimt_str.outputs) == 1 && dimt_load(&s->held) == 2);
    assert_ptr_equal(dimt_str.last_module, m);
    assert_int_equal(dimt_load(&d38_inputs), 3);
    dimt_delete(m);
    dimt_finish();
}

/* Spec 1.3 "Each (re)send" and 1.4 "Stream callbacks": without a client BufferInput the
 * zeroed input buffer is sent; the request always carries BufferInputSize bytes. */
static void stream_without_buffer_input_sends_buffer_input_size_zeroed_bytes(void **state)
{
    DMFMODULE m;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    dimt_config_stream(&cfg, 2, 16, true);
    cfg.ContinuousRequestTargetModuleConfig.BufferInputSize = 8;
    cfg.ContinuousRequestTargetModuleConfig.BufferCountInput = 2;
    s->last_hold_in_byte = 0x55;
    m = dimt_create(&cfg, &attr);
    DIMT_WAIT(dimt_load(&s->held) == 2);
    assert_int_equal(dimt_load(&s->last_hold_in_len), 8);
    assert_int_equal(dimt_load(&s->last_hold_in_byte), 0);
    dimt_delete(m);
    dimt_finish();
}

/* D45 (through this module) */
static void D45_send_ex_and_reuse_ids_through_the_module_are_nonzero_and_strictly_increasing(void **state)
{
    DMFMODULE m;
    DMFIOTARGET t0, t1;
    uintptr_t last = 0;
    dimt_done d;
    unsigned char in[4] = { 1 }, out[4];

    begin_dynamic();
    ds_create(0, NULL);
    ds_create(1, NULL);
    m = dimt_create(&cfg, &attr);
    t0 = dimt_opened(0);
    t1 = dimt_opened(1);
    for (int i = 0; i < 6; i++) {
        RequestTarget_DmfRequestCancel id = NULL;
        RequestTarget_DmfRequestReuse rid = NULL;
        DMFIOTARGET t = (i & 1) ? t1 : t0;
        dimt_done_init(&d);
        assert_int_equal(DMF_DeviceInterfaceMultipleTarget_SendEx(m, t, in, 4, out, 4, IOCTL, DS_IOCTL_ECHO, 0, dimt_on_done,
                                                                  &d, &id),
                         STATUS_SUCCESS);
        DIMT_WAIT(dimt_load(&d.calls) == 1);
        assert_true((uintptr_t)id >= 0x100);
        assert_true((uintptr_t)id > last);
        last = (uintptr_t)id;
        assert_int_equal(DMF_DeviceInterfaceMultipleTarget_ReuseCreate(m, t, &rid), STATUS_SUCCESS);
        assert_true((uintptr_t)rid > last);
        last = (uintptr_t)rid;
        assert_true(DMF_DeviceInterfaceMultipleTarget_ReuseDelete(m, t, rid));
    }
    dimt_delete(m);
    dimt_finish();
}

/* D55 */
static void D55_both_cancel_spellings_work_and_the_target_form_refuses_another_targets_id(void **state)
{
    DMFMODULE m, m2;
    DMFIOTARGET t0, t1, t2 = NULL;
    dimt_done d0, d1, d2;
    unsigned char in[3][4] = { { 1 }, { 2 }, { 3 } }, out[3][4];
    RequestTarget_DmfRequestCancel id0 = NULL, id1 = NULL, id2 = NULL;
    DMF_CONFIG_DeviceInterfaceMultipleTarget c2;
    DMF_MODULE_ATTRIBUTES a2;
    DMF_MODULE_EVENT_CALLBACKS cb2;

    begin_dynamic();
    ds_sensor *s0 = ds_create(0, NULL);
    m = dimt_create(&cfg, &attr);
    ds_sensor *s1 = ds_create(1, NULL);
    t0 = dimt_opened(0);
    t1 = dimt_opened(1);
    dimt_config(&c2, &a2, &cb2);
    m2 = dimt_create(&c2, &a2);
    for (int i = 0; i < dimt_recs_count(); i++)
        if (dimt_rec_at(i).m == m2 && dimt_rec_at(i).state == ST_OPEN && !t2)
            t2 = dimt_rec_at(i).t;
    assert_non_null(t2);

    dimt_done_init(&d0);
    dimt_done_init(&d1);
    dimt_done_init(&d2);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_SendEx(m, t0, in[0], 4, out[0], 4, IOCTL, DS_IOCTL_HOLD, 0,
                                                              dimt_on_done, &d0, &id0),
                     STATUS_SUCCESS);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_SendEx(m, t1, in[1], 4, out[1], 4, IOCTL, DS_IOCTL_HOLD, 0,
                                                              dimt_on_done, &d1, &id1),
                     STATUS_SUCCESS);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_SendEx(m2, t2, in[2], 4, out[2], 4, IOCTL, DS_IOCTL_HOLD, 0,
                                                              dimt_on_done, &d2, &id2),
                     STATUS_SUCCESS);
    DIMT_WAIT(dimt_load(&s0->held) == 2 && dimt_load(&s1->held) == 1);

    /* The three-argument form looks in the given Target only. */
    assert_false(DMF_DeviceInterfaceMultipleTarget_Cancel(m, t1, id0));
    assert_false(DMF_DeviceInterfaceMultipleTarget_Cancel(m, t0, id1));
    /* Neither form finds an id of another instance. */
    assert_false(DMF_DeviceInterfaceMultipleTarget_Cancel(m, id2));
    assert_false(DMF_DeviceInterfaceMultipleTarget_Cancel(m, t0, id2));
    assert_int_equal(dimt_load(&d0.calls) + dimt_load(&d1.calls) + dimt_load(&d2.calls), 0);

    assert_true(DMF_DeviceInterfaceMultipleTarget_Cancel(m, t0, id0));
    DIMT_WAIT(dimt_load(&d0.calls) == 1);
    assert_int_equal(d0.status, STATUS_CANCELLED);
    assert_true(DMF_DeviceInterfaceMultipleTarget_Cancel(m, id1)); /* the seed's spelling, any Target */
    DIMT_WAIT(dimt_load(&d1.calls) == 1);
    assert_int_equal(d1.status, STATUS_CANCELLED);
    assert_true(DMF_DeviceInterfaceMultipleTarget_Cancel(m2, id2));
    DIMT_WAIT(dimt_load(&d2.calls) == 1);
    assert_int_equal(d2.status, STATUS_CANCELLED);

    /* Completed ids are not found any more. */
    assert_false(DMF_DeviceInterfaceMultipleTarget_Cancel(m, id0));
    assert_false(DMF_DeviceInterfaceMultipleTarget_Cancel(m, t1, id1));
    assert_int_equal(dimt_load(&d0.calls), 1);
    assert_int_equal(dimt_load(&d1.calls), 1);
    assert_int_equal(dimt_load(&d2.calls), 1);
    dimt_delete(m2);
    dimt_delete(m);
    dimt_finish();
}

/* D55, a Target not listed yet: from its Open callback on a Target takes requests, and the
 * seed's spelling looks in every Target, so it must find the id of a request sent in the Open
 * callback, before the arrival lists the Target (a regression: it walked the list only, and a
 * client thread that got the Target from the Open callback could lose its cancel). */
static ds_sensor *d55o_sensor;
static dimt_done d55o_done[2];
static unsigned char d55o_in[2][4] = { { 1 }, { 2 } }, d55o_out[2][4];
static NTSTATUS d55o_send[2];
static bool d55o_held[2], d55o_cancelled[2], d55o_completed[2];

static void d55o_in_open(DMFMODULE m, DMFIOTARGET t, int state)
{
    if (state != ST_OPEN)
        return;
    for (int k = 0; k < 2; k++) {
        RequestTarget_DmfRequestCancel id = NULL;
        d55o_send[k] = DMF_DeviceInterfaceMultipleTarget_SendEx(m, t, d55o_in[k], 4, d55o_out[k], 4, IOCTL, DS_IOCTL_HOLD, 0,
                                                               dimt_on_done, &d55o_done[k], &id);
        if (!NT_SUCCESS(d55o_send[k]))
            return;
        DIMT_WAIT_FOR_MS(dimt_load(&d55o_sensor->held) == 1, 5000, d55o_held[k]);
        /* k = 0: the seed's spelling (any Target); k = 1: Microsoft DMF's (this Target). */
        d55o_cancelled[k] = k == 0 ? DMF_DeviceInterfaceMultipleTarget_Cancel(m, id)
                                   : DMF_DeviceInterfaceMultipleTarget_Cancel(m, t, id);
        DIMT_WAIT_FOR_MS(dimt_load(&d55o_done[k].calls) == 1, 5000, d55o_completed[k]);
    }
}

static void D55_both_cancel_spellings_find_a_request_sent_inside_the_open_callback(void **state)
{
    DMFMODULE m;

    begin_dynamic();
    d55o_sensor = ds_create(0, NULL);
    for (int k = 0; k < 2; k++) {
        dimt_done_init(&d55o_done[k]);
        d55o_send[k] = STATUS_PENDING;
        d55o_held[k] = d55o_cancelled[k] = d55o_completed[k] = false;
    }
    dimt_cli.on_state = d55o_in_open;
    m = dimt_create(&cfg, &attr);
    dimt_cli.on_state = NULL;
    assert_int_equal(dimt_count(ST_OPEN, NULL), 1);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(d55o_send[k], STATUS_SUCCESS);
        assert_true(d55o_held[k]);
        assert_true(d55o_cancelled[k]);
        assert_true(d55o_completed[k]);
        assert_int_equal(d55o_done[k].status, STATUS_CANCELLED);
    }
    assert_int_equal(dimt_load(&d55o_sensor->held), 0);
    dimt_delete(m);
    assert_int_equal(dimt_load(&d55o_done[0].calls), 1);
    assert_int_equal(dimt_load(&d55o_done[1].calls), 1);
    dimt_finish();
}

/* D56 */
static void D56_buffer_put_refuses_another_targets_buffer_and_frees_it_for_a_stale_target(void **state)
{
    DMFMODULE m;
    DMFIOTARGET t[2];
    void *buf[2] = { NULL, NULL };

    begin_dynamic();
    ds_sensor *s0 = ds_create(0, NULL);
    dimt_config_stream(&cfg, 1, 32, true);
    dimt_str.disposition = ContinuousRequestTarget_BufferDisposition_ClientAndStopStreaming;
    m = dimt_create(&cfg, &attr);
    ds_sensor *s1 = ds_create(1, NULL);
    t[0] = dimt_opened(0);
    t[1] = dimt_opened(1);
    DIMT_WAIT(dimt_load(&s0->held) == 1 && dimt_load(&s1->held) == 1);
    assert_int_equal(ds_release(s0, 1, STATUS_SUCCESS), 1);
    assert_int_equal(ds_release(s1, 1, STATUS_SUCCESS), 1);
    DIMT_WAIT(dimt_load(&dimt_str.outputs) == 2);
    assert_int_equal(dimt_str.nkept, 2);
    assert_int_equal(dimt_str.bad_payload, 0);
    assert_ptr_equal(dimt_str.last_module, m);
    for (int i = 0; i < 2; i++) {
        assert_true(dimt_str.kept_sensor[i] == 0 || dimt_str.kept_sensor[i] == 1);
        buf[dimt_str.kept_sensor[i]] = dimt_str.kept[i];
    }
    assert_non_null(buf[0]);
    assert_non_null(buf[1]);

    /* Another Target's buffer is refused and stays with the client (still readable). */
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_BufferPut(m, t[1], buf[0]), STATUS_INVALID_PARAMETER);
    assert_int_equal(ds_check_payload(buf[0], 32), 0);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_BufferPut(m, t[0], buf[1]), STATUS_INVALID_PARAMETER);
    assert_int_equal(ds_check_payload(buf[1], 32), 1);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_BufferPut(m, t[0], buf[0]), STATUS_SUCCESS);

    /* A stale Target: the buffer is freed, STATUS_INVALID_DEVICE_STATE. */
    assert_int_equal(ds_query_and_remove(s1), CR_SUCCESS);
    assert_int_equal(dimt_count(ST_RCOMPLETE, t[1]), 1);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_BufferPut(m, t[1], buf[1]), STATUS_INVALID_DEVICE_STATE);
    dimt_delete(m);
    dimt_finish();
}

/* D58: the sensor gives cancelled requests back late (400 ms, then 150 ms), so a StreamStop that waits and
 * one that does not are told apart. */
static void D58_stream_stop_at_dispatch_level_cancels_without_waiting_and_at_passive_waits(void **state)
{
    DMFMODULE m;
    DMFIOTARGET t;
    KIRQL old;
    uint64_t t0, took;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    dimt_config_stream(&cfg, 3, 16, false); /* Manual */
    m = dimt_create(&cfg, &attr);
    t = dimt_opened(0);
    assert_int_equal(dimt_load(&s->holds_received), 0); /* Manual: nothing until StreamStart */
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_StreamStart(m, t), STATUS_SUCCESS);
    DIMT_WAIT(dimt_load(&s->held) == 3);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_StreamStart(m, t), STATUS_INVALID_DEVICE_STATE);
    s->defer_cancel_ms = 400;

    t0 = pk_test_now_ms();
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    DMF_DeviceInterfaceMultipleTarget_StreamStop(m, t);
    KeLowerIrql(old);
    took = pk_test_now_ms() - t0;
    assert_int_equal(dimt_load(&s->held), 0);    /* every request was cancelled ... */
    assert_int_equal(dimt_load(&s->cancels), 0); /* ... and none was back yet: no wait */
    assert_true(took < 400);
    DIMT_WAIT(dimt_load(&s->cancels) == 3);
    assert_int_equal(dimt_str.outputs, 0); /* stopping: BufferOutput is not called */

    /* Started again (every request is back: the sensor counts a cancel after its completion
     * returned), then stopped at PASSIVE_LEVEL: it waits. */
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_StreamStart(m, t), STATUS_SUCCESS);
    DIMT_WAIT(dimt_load(&s->held) == 3);
    s->defer_cancel_ms = 150;
    t0 = pk_test_now_ms();
    DMF_DeviceInterfaceMultipleTarget_StreamStop(m, t);
    took = pk_test_now_ms() - t0;
    assert_true(took >= 140); /* it waited for the device's deferred cancels */
    /* The sensor counts a cancel after its completion returned; StopAndWait returns once the
     * module has the request back, which can be just before that count. */
    DIMT_WAIT(dimt_load(&s->cancels) == 6);
    assert_int_equal(dimt_load(&s->held), 0);
    assert_int_equal(dimt_str.outputs, 0);
    s->defer_cancel_ms = 0;
    dimt_delete(m);
    dimt_finish();
}

/* ============================================================================================= */
/* I/O on removal                                                                                */
/* ============================================================================================= */

/* D34 */
static LONG d34_cancels_seen = -1;
static ds_sensor *d34_sensor;

static void d34_device_query_remove(ds_sensor *s) { d34_cancels_seen = dimt_load(&s->cancels_given); }

static void d34_callback(DMFMODULE m, DMFIOTARGET t, int state)
{
    if (state == ST_RCOMPLETE && d34_cancels_seen < 0)
        d34_cancels_seen = dimt_load(&d34_sensor->cancels_given);
}

static void d34_run(bool surprise)
{
    DMFMODULE m;
    DMFIOTARGET t;

    begin_dynamic();
    d34_sensor = ds_create(0, NULL);
    d34_cancels_seen = -1;
    dimt_config_stream(&cfg, 3, 16, true);
    dimt_cli.on_state = d34_callback;
    m = dimt_create(&cfg, &attr);
    t = dimt_opened(0);
    DIMT_WAIT(dimt_load(&d34_sensor->held) == 3);
    /* Some completions before: BufferOutput runs for them, and they are sent again. */
    assert_int_equal(ds_release(d34_sensor, 2, STATUS_SUCCESS), 2);
    DIMT_WAIT(dimt_load(&dimt_str.outputs) == 2 && dimt_load(&d34_sensor->held) == 3);
    /* The device gives cancelled requests back 50 ms late: the removal must wait for them. */
    d34_sensor->defer_cancel_ms = 50;
    int from = dimt_recs_count();
    if (surprise) {
        ds_surprise_remove(d34_sensor);
        EXPECT_STATES(from, { ST_RCOMPLETE, t }, { ST_CLOSE, t });
    } else {
        d34_sensor->on_query_remove = d34_device_query_remove;
        assert_int_equal(ds_query_and_remove(d34_sensor), CR_SUCCESS);
        EXPECT_STATES(from, { ST_QR, t }, { ST_RCOMPLETE, t });
    }
    /* Cancelled and waited for before the removal went on. */
    assert_int_equal(d34_cancels_seen, 3);
    DIMT_WAIT(dimt_load(&d34_sensor->cancels) == 3);
    assert_int_equal(dimt_load(&d34_sensor->held), 0);
    assert_int_equal(dimt_load(&dimt_str.outputs), 2); /* none for the cancelled completions */
    assert_int_equal(dimt_str.bad_payload, 0);
    dimt_delete(m);
    dimt_finish();
}

static void D34_orderly_removal_cancels_and_waits_for_the_stream_without_buffer_output(void **state) { d34_run(false); }

static void D34_surprise_removal_cancels_and_waits_for_the_stream_without_buffer_output(void **state) { d34_run(true); }

/* D35 */
static DMFMODULE d35_m;
static DMFIOTARGET d35_t;
static RequestTarget_DmfRequestReuse d35_rid;
static int d35_delete_in;
static BOOLEAN d35_deleted;

static void d35_callback(DMFMODULE m, DMFIOTARGET t, int state)
{
    if (t == d35_t && state == d35_delete_in)
        d35_deleted = DMF_DeviceInterfaceMultipleTarget_ReuseDelete(m, t, d35_rid);
}

static void d35_run(int path, BOOLEAN passive)
{
    DMFIOTARGET t;
    dimt_done d[3];
    unsigned char in[3][8], out[3][8];
    RequestTarget_DmfRequestCancel id = NULL, rid_cancel = NULL;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    ds_sensor *other = ds_create(1, NULL);
    attr.PassiveLevel = passive;
    dimt_cli.on_state = d35_callback;
    d35_deleted = FALSE;
    d35_delete_in = path == 0 ? ST_RCOMPLETE : ST_CLOSE;
    d35_m = dimt_create(&cfg, &attr);
    /* Which Target is sensor 0's: the one whose Get leads to its device. */
    t = NULL;
    for (int k = 0; k < 2; k++) {
        DMFIOTARGET c = dimt_opened(k);
        LONG before = dimt_load(&s->ioctls);
        assert_int_equal(dimt_echo(d35_m, c), STATUS_SUCCESS);
        if (dimt_load(&s->ioctls) != before)
            t = c;
    }
    assert_non_null(t);
    d35_t = t;
    for (int i = 0; i < 3; i++) {
        dimt_done_init(&d[i]);
        memset(in[i], 0x30 + i, 8);
    }
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_Send(d35_m, t, in[0], 8, out[0], 8, IOCTL, DS_IOCTL_HOLD, 0,
                                                            dimt_on_done, &d[0]),
                     STATUS_SUCCESS);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_SendEx(d35_m, t, in[1], 8, out[1], 8, IOCTL, DS_IOCTL_HOLD, 0,
                                                              dimt_on_done, &d[1], &id),
                     STATUS_SUCCESS);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_ReuseCreate(d35_m, t, &d35_rid), STATUS_SUCCESS);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_ReuseSend(d35_m, t, d35_rid, in[2], 8, out[2], 8, IOCTL,
                                                                 DS_IOCTL_HOLD, 0, dimt_on_done, &d[2], &rid_cancel),
                     STATUS_SUCCESS);
    DIMT_WAIT(dimt_load(&s->held) == 3);

    if (path == 0)
        assert_int_equal(ds_query_and_remove(s), CR_SUCCESS);
    else if (path == 1)
        ds_surprise_remove(s);
    else
        ds_set_interface(s, false);
    for (int i = 0; i < 3; i++) {
        DIMT_WAIT(dimt_load(&d[i].calls) >= 1);
        assert_int_equal(d[i].status, STATUS_CANCELLED);
        assert_ptr_equal(d[i].module, d35_m);
        assert_ptr_equal(d[i].in, in[i]);
    }
    assert_int_equal(dimt_load(&s->cancels), 3);
    if (!passive)
        assert_true(d35_deleted); /* idle again, deleted while the Target closed */
    else if (!d35_deleted)
        assert_false(DMF_DeviceInterfaceMultipleTarget_ReuseDelete(d35_m, t, d35_rid)); /* stale: freed with it */
    assert_false(DMF_DeviceInterfaceMultipleTarget_Cancel(d35_m, id));
    assert_false(DMF_DeviceInterfaceMultipleTarget_Cancel(d35_m, rid_cancel));
    /* The other Target is untouched. */
    assert_int_equal(dimt_echo(d35_m, dimt_opened(0) == t ? dimt_opened(1) : dimt_opened(0)), STATUS_SUCCESS);
    (void)other;
    dimt_delete(d35_m);
    for (int i = 0; i < 3; i++)
        assert_int_equal(dimt_load(&d[i].calls), 1); /* exactly once */
    dimt_finish();
}

static void D35_pending_send_sendex_and_reuse_send_complete_cancelled_once_on_orderly_removal(void **state)
{
    d35_run(0, FALSE);
}

static void D35_pending_send_sendex_and_reuse_send_complete_cancelled_once_on_surprise_removal(void **state)
{
    d35_run(1, FALSE);
}

static void D35_pending_send_sendex_and_reuse_send_complete_cancelled_once_on_interface_removal(void **state)
{
    d35_run(2, FALSE);
}

static void D35_passive_module_pending_requests_complete_cancelled_once_on_orderly_removal(void **state)
{
    d35_run(0, TRUE);
}

/* D36 */
typedef struct deleter {
    pthread_t thread;
    DMFMODULE m;
    volatile LONG done;
} deleter;

static void *deleter_main(void *arg)
{
    deleter *d = arg;
    WdfObjectDelete(d->m); /* unregistration with the Target open */
    dimt_inc(&d->done);
    return NULL;
}

static void d36_run(int path)
{
    DMFMODULE m;
    DMFIOTARGET t;
    dimt_blocked b;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    m = dimt_create(&cfg, &attr);
    t = dimt_opened(0);
    dimt_blocked_start(&b, m, t, DS_IOCTL_HOLD, 0);
    DIMT_WAIT(dimt_load(&s->held) == 1);
    switch (path) {
    case 0:
        ds_set_interface(s, false);
        break;
    case 1: {
        /* On another thread, so that a delete that waits for the blocked call forever fails
         * the test instead of hanging it: after 5 s the device completes the request. */
        deleter d = { .m = m };
        bool returned;
        assert_int_equal(pthread_create(&d.thread, NULL, deleter_main, &d), 0);
        DIMT_WAIT_FOR_MS(dimt_load(&d.done) != 0, 5000, returned);
        if (!returned)
            ds_release_all();
        DIMT_WAIT(dimt_load(&d.done) != 0);
        pthread_join(d.thread, NULL);
        m = NULL;
        if (!returned) {
            (void)dimt_blocked_join(&b);
            fail_msg("the delete did not return within 5 s: the blocked SendSynchronously was not cancelled");
        }
        break;
    }
    case 2:
        assert_int_equal(ds_query_and_remove(s), CR_SUCCESS);
        break;
    default:
        ds_surprise_remove(s);
        break;
    }
    assert_int_equal(dimt_blocked_join(&b), STATUS_CANCELLED);
    assert_int_equal(b.written, 0);
    assert_int_equal(dimt_load(&s->cancels), 1);
    if (m)
        dimt_delete(m);
    dimt_finish();
}

static void D36_blocked_send_synchronously_returns_cancelled_on_interface_removal(void **state) { d36_run(0); }
static void D36_blocked_send_synchronously_returns_cancelled_on_unregistration(void **state) { d36_run(1); }
static void D36_blocked_send_synchronously_returns_cancelled_on_accepted_query_remove(void **state) { d36_run(2); }
static void D36_blocked_send_synchronously_returns_cancelled_on_surprise_removal(void **state) { d36_run(3); }

/* D37 */
static void D37_send_synchronously_times_out_after_about_t_and_with_zero_keeps_waiting(void **state)
{
    DMFMODULE m;
    DMFIOTARGET t;
    dimt_blocked b;
    bool returned;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    m = dimt_create(&cfg, &attr);
    t = dimt_opened(0);

    dimt_blocked_start(&b, m, t, DS_IOCTL_HOLD, 60);
    assert_int_equal(dimt_blocked_join(&b), STATUS_IO_TIMEOUT);
    assert_true(b.elapsed_ms >= 50);
    assert_true(b.elapsed_ms < 5000);
    assert_int_equal(b.written, 0);
    DIMT_WAIT(dimt_load(&s->cancels) == 1);

    dimt_blocked_start(&b, m, t, DS_IOCTL_HOLD, 0);
    DIMT_WAIT(dimt_load(&s->held) == 1);
    DIMT_WAIT_FOR_MS(dimt_load(&b.done) != 0, 300, returned);
    assert_false(returned);
    assert_int_equal(ds_release(s, 1, STATUS_SUCCESS), 1);
    assert_int_equal(dimt_blocked_join(&b), STATUS_SUCCESS);
    assert_int_equal(b.written, sizeof(b.out));
    for (size_t i = 0; i < sizeof(b.out); i++)
        assert_int_equal(b.out[i], b.in[i] ^ 0x5A);
    dimt_delete(m);
    dimt_finish();
}

PK_TEST_MAIN(PK_TEST(D13_without_stream_requests_stream_start_is_invalid_device_request_and_single_requests_work),
             PK_TEST(D14_with_no_target_open_every_per_target_method_fails),
             PK_TEST(send_synchronously_at_dispatch_level_is_invalid_device_request_and_sends_nothing),
             PK_TEST(D49_passive_module_completions_run_at_passive_level_on_a_worker),
             PK_TEST(stream_buffer_input_gets_the_module_handle_and_its_bytes_reach_the_device),
             PK_TEST(stream_without_buffer_input_sends_buffer_input_size_zeroed_bytes),
             PK_TEST(D45_send_ex_and_reuse_ids_through_the_module_are_nonzero_and_strictly_increasing),
             PK_TEST(D55_both_cancel_spellings_work_and_the_target_form_refuses_another_targets_id),
             PK_TEST(D55_both_cancel_spellings_find_a_request_sent_inside_the_open_callback),
             PK_TEST(D56_buffer_put_refuses_another_targets_buffer_and_frees_it_for_a_stale_target),
             PK_TEST(D58_stream_stop_at_dispatch_level_cancels_without_waiting_and_at_passive_waits),
             PK_TEST(D34_orderly_removal_cancels_and_waits_for_the_stream_without_buffer_output),
             PK_TEST(D34_surprise_removal_cancels_and_waits_for_the_stream_without_buffer_output),
             PK_TEST(D35_pending_send_sendex_and_reuse_send_complete_cancelled_once_on_orderly_removal),
             PK_TEST(D35_pending_send_sendex_and_reuse_send_complete_cancelled_once_on_surprise_removal),
             PK_TEST(D35_pending_send_sendex_and_reuse_send_complete_cancelled_once_on_interface_removal),
             PK_TEST(D35_passive_module_pending_requests_complete_cancelled_once_on_orderly_removal),
             PK_TEST(D36_blocked_send_synchronously_returns_cancelled_on_interface_removal),
             PK_TEST(D36_blocked_send_synchronously_returns_cancelled_on_unregistration),
             PK_TEST(D36_blocked_send_synchronously_returns_cancelled_on_accepted_query_remove),
             PK_TEST(D36_blocked_send_synchronously_returns_cancelled_on_surprise_removal),
             PK_TEST(D37_send_synchronously_times_out_after_about_t_and_with_zero_keeps_waiting))
