/* DMF_DeviceInterfaceMultipleTarget: discovery, lifecycle and the removal state machine (spec
 * dmf.md 1.4 and behaviours D1-D12, D15-D33). Sensors (dimt_testdev.h) expose interfaces of
 * DIMT_GUID; the module lives on the client device "host", dynamic (open option Create) or
 * static (hosted through DMF_ModulesCreate and driven by the host's PnP and power events). The
 * client's callbacks are recorded in order with their Target, so every test checks the exact
 * sequence. */
#include "pk_test.h"
#include "dimt_testdev.h"

#include <wctype.h>

#define ST_OPEN DeviceInterfaceMultipleTarget_StateType_Open
#define ST_QR DeviceInterfaceMultipleTarget_StateType_QueryRemove
#define ST_RCANCEL DeviceInterfaceMultipleTarget_StateType_RemoveCancel
#define ST_RCOMPLETE DeviceInterfaceMultipleTarget_StateType_RemoveComplete
#define ST_CLOSE DeviceInterfaceMultipleTarget_StateType_Close

/* A Target context the client attaches in Open (D21). */
typedef struct dimt_tctx {
    uint32_t magic;
    int sensor;
} dimt_tctx;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(dimt_tctx, dimt_tctx_get)

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
/* Discovery and lifecycle                                                                       */
/* ============================================================================================= */

/* D1 */
static void D1_prepare_hardware_option_opens_present_interfaces_and_release_hardware_closes_each(void **state)
{
    DMFIOTARGET t0, t1;
    int from;

    dimt_begin();
    ds_sensor *s0 = ds_create(0, NULL);
    ds_sensor *s1 = ds_create(1, u"second");
    dimt_config(&dimt_static_config, &attr, &cbs);
    dimt_static_config.ModuleOpenOption = DeviceInterfaceMultipleTarget_PnpRegisterWhen_PrepareHardware;
    dimt_host_start(true);

    /* Both present interfaces are open once the host has started. */
    assert_true(pk_log_find("host:prepare", 0) >= 0);
    DIMT_EXPECT(0, { R_PNP, NULL }, { R_POSTOPEN, NULL }, { ST_OPEN, NULL }, { R_PNP, NULL }, { ST_OPEN, NULL });
    t0 = dimt_opened(0);
    t1 = dimt_opened(1);
    assert_non_null(t0);
    assert_non_null(t1);
    assert_ptr_not_equal(t0, t1);
    assert_int_equal(dimt_load(&s0->creates), 1);
    assert_int_equal(dimt_load(&s1->creates), 1);
    assert_int_equal(dimt_echo(dimt_static_module, t0), STATUS_SUCCESS);
    assert_int_equal(dimt_echo(dimt_static_module, t1), STATUS_SUCCESS);

    /* Power transitions leave the targets alone with this option (spec 1.4 "Power"). */
    from = dimt_recs_count();
    assert_int_equal(dimt_host_power(PowerDeviceD3), STATUS_SUCCESS);
    assert_int_equal(dimt_host_power(PowerDeviceD0), STATUS_SUCCESS);
    assert_int_equal(dimt_recs_count(), from);
    assert_int_equal(dimt_load(&s0->creates), 1);
    assert_int_equal(dimt_echo(dimt_static_module, t0), STATUS_SUCCESS);

    /* ReleaseHardware (orderly removal of the host): one Close per open target, then PreClose. */
    from = dimt_recs_count();
    assert_int_equal(CM_Query_And_Remove_SubTreeW(dimt_host_dn, NULL, NULL, 0, 0), CR_SUCCESS);
    PnpkitSimWaitIdle();
    assert_true(pk_log_find("host:release", 0) >= 0);
    DIMT_EXPECT(from, { ST_CLOSE, NULL }, { ST_CLOSE, NULL }, { R_PRECLOSE, NULL });
    assert_int_equal(dimt_count(ST_CLOSE, t0), 1);
    assert_int_equal(dimt_count(ST_CLOSE, t1), 1);
    assert_int_equal(dimt_load(&s0->closes), 1);
    assert_int_equal(dimt_load(&s1->closes), 1);
    dimt_finish();
}

/* D2 */
static void D2_d0entry_option_closes_every_target_at_d0exit_and_opens_every_interface_at_d0entry(void **state)
{
    int from;

    dimt_begin();
    ds_sensor *s0 = ds_create(0, NULL);
    ds_sensor *s1 = ds_create(1, NULL);
    dimt_config(&dimt_static_config, &attr, &cbs);
    dimt_static_config.ModuleOpenOption = DeviceInterfaceMultipleTarget_PnpRegisterWhen_D0Entry;
    dimt_host_start(true);
    assert_int_equal(dimt_count(ST_OPEN, NULL), 2);
    assert_int_equal(dimt_postopen_count, 1);

    for (int cycle = 0; cycle < 2; cycle++) {
        DMFIOTARGET a = dimt_opened(2 * cycle), b = dimt_opened(2 * cycle + 1);
        from = dimt_recs_count();
        assert_int_equal(dimt_host_power(PowerDeviceD3), STATUS_SUCCESS);
        DIMT_EXPECT(from, { ST_CLOSE, NULL }, { ST_CLOSE, NULL }, { R_PRECLOSE, NULL });
        assert_int_equal(dimt_count(ST_CLOSE, a), 1);
        assert_int_equal(dimt_count(ST_CLOSE, b), 1);
        assert_int_equal(dimt_load(&s0->closes), cycle + 1);
        assert_int_equal(dimt_load(&s1->closes), cycle + 1);

        from = dimt_recs_count();
        assert_int_equal(dimt_host_power(PowerDeviceD0), STATUS_SUCCESS);
        DIMT_EXPECT(from, { R_PNP, NULL }, { R_POSTOPEN, NULL }, { ST_OPEN, NULL }, { R_PNP, NULL }, { ST_OPEN, NULL });
        assert_int_equal(dimt_load(&s0->creates), cycle + 2);
        assert_int_equal(dimt_load(&s1->creates), cycle + 2);
        assert_int_equal(dimt_echo(dimt_static_module, dimt_opened(2 * cycle + 2)), STATUS_SUCCESS);
    }
    dimt_finish();
}

/* D57 (and spec 1.4 "Power" for the Create option of a static module) */
static void d57_run(DeviceInterfaceMultipleTarget_PnpRegisterWhen_Type option)
{
    int from;

    dimt_begin();
    ds_sensor *s0 = ds_create(0, NULL);
    ds_sensor *s1 = ds_create(1, NULL);
    dimt_config(&dimt_static_config, &attr, &cbs);
    dimt_static_config.ModuleOpenOption = option;
    dimt_config_stream(&dimt_static_config, 2, 16, true);
    dimt_host_start(true);
    assert_int_equal(dimt_count(ST_OPEN, NULL), 2);
    DIMT_WAIT(dimt_load(&s0->held) == 2 && dimt_load(&s1->held) == 2);
    from = dimt_recs_count();

    for (int cycle = 1; cycle <= 2; cycle++) {
        /* D0Exit: every stream stopped (its requests cancelled and back), no Close. */
        assert_int_equal(dimt_host_power(PowerDeviceD3), STATUS_SUCCESS);
        assert_int_equal(dimt_load(&s0->held), 0);
        assert_int_equal(dimt_load(&s1->held), 0);
        assert_int_equal(dimt_load(&s0->cancels), 2 * cycle);
        assert_int_equal(dimt_load(&s1->cancels), 2 * cycle);
        assert_int_equal(dimt_str.outputs, 0);
        NO_STATES(from);
        assert_int_equal(dimt_load(&s0->cleanups), 0); /* the targets stay open */
        assert_int_equal(dimt_echo(dimt_static_module, dimt_opened(0)), STATUS_SUCCESS);

        /* D0Entry: started again. */
        assert_int_equal(dimt_host_power(PowerDeviceD0), STATUS_SUCCESS);
        DIMT_WAIT(dimt_load(&s0->held) == 2 && dimt_load(&s1->held) == 2);
        assert_int_equal(dimt_load(&s0->holds_received), 2 * (cycle + 1));
        assert_int_equal(dimt_load(&s1->holds_received), 2 * (cycle + 1));
        NO_STATES(from);
    }
    assert_int_equal(dimt_postopen_count, 1);
    assert_int_equal(dimt_preclose_count, 0);
    assert_int_equal(dimt_load(&s0->creates), 1);
    assert_int_equal(dimt_load(&s1->creates), 1);
    /* Still streaming. */
    assert_int_equal(ds_release(s1, 1, STATUS_SUCCESS), 1);
    DIMT_WAIT(dimt_load(&dimt_str.outputs) == 1 && dimt_load(&s1->held) == 2);
    assert_int_equal(dimt_str.bad_payload, 0);
    dimt_finish();
}

static void D57_prepare_hardware_option_automatic_stream_stops_at_d0exit_without_close_and_restarts_at_d0entry(void **state)
{
    d57_run(DeviceInterfaceMultipleTarget_PnpRegisterWhen_PrepareHardware);
}

static void D57_static_create_option_automatic_stream_stops_at_d0exit_without_close_and_restarts_at_d0entry(void **state)
{
    d57_run(DeviceInterfaceMultipleTarget_PnpRegisterWhen_Create);
}

/* D3 */
static void D3_create_option_registers_at_create_and_delete_closes_every_target_before_returning(void **state)
{
    DMFMODULE m;
    int from;

    begin_dynamic();
    ds_sensor *s0 = ds_create(0, NULL);
    ds_sensor *s1 = ds_create(1, NULL);
    m = dimt_create(&cfg, &attr);
    assert_int_equal(dimt_count(ST_OPEN, NULL), 2);
    assert_int_equal(dimt_load(&s0->creates), 1);
    assert_int_equal(dimt_load(&s1->creates), 1);

    from = dimt_recs_count();
    WdfObjectDelete(m); /* with both Targets open */
    /* Checked without waiting: the delete returned only after the module closed. */
    DIMT_EXPECT(from, { ST_CLOSE, NULL }, { ST_CLOSE, NULL }, { R_PRECLOSE, NULL });
    assert_int_equal(dimt_count(ST_CLOSE, dimt_opened(0)), 1);
    assert_int_equal(dimt_count(ST_CLOSE, dimt_opened(1)), 1);
    assert_int_equal(dimt_load(&s0->closes), 1);
    assert_int_equal(dimt_load(&s1->closes), 1);

    /* Unregistered: a new interface is not seen. */
    from = dimt_recs_count();
    ds_create(2, NULL);
    assert_int_equal(dimt_recs_count(), from);
    dimt_finish();
}

/* D4 */
static void D4_every_interface_enabled_at_registration_opens_with_its_own_target(void **state)
{
    DMFMODULE m;
    DMFIOTARGET t[3];

    begin_dynamic();
    ds_sensor *s[3] = { ds_create(0, NULL), ds_create(1, u"ref1"), ds_create(2, u"ref2") };
    m = dimt_create(&cfg, &attr);
    assert_int_equal(dimt_count(ST_OPEN, NULL), 3);
    assert_int_equal(dimt_postopen_count, 1);
    for (int i = 0; i < 3; i++) {
        t[i] = dimt_opened(i);
        assert_non_null(t[i]);
        assert_int_equal(dimt_load(&s[i]->creates), 1);
        assert_int_equal(dimt_echo(m, t[i]), STATUS_SUCCESS);
    }
    assert_ptr_not_equal(t[0], t[1]);
    assert_ptr_not_equal(t[0], t[2]);
    assert_ptr_not_equal(t[1], t[2]);
    dimt_delete(m);
    dimt_finish();
}

/* D5 */
static void D5_a_duplicate_arrival_of_an_open_link_in_any_spelling_creates_nothing(void **state)
{
    DMFMODULE m;
    WCHAR upper[256], user[256];
    int from;

    begin_dynamic();
    ds_sensor *s = ds_create(0, u"Ref");
    m = dimt_create(&cfg, &attr);
    assert_int_equal(dimt_count(ST_OPEN, NULL), 1);
    from = dimt_recs_count();

    dimt_inject_arrival(s->link); /* the same link again */
    size_t n = PnpkitWcsLen(s->link);
    for (size_t i = 0; i <= n; i++)
        upper[i] = (s->link[i] >= 'a' && s->link[i] <= 'z') ? (WCHAR)(s->link[i] - 'a' + 'A') : s->link[i];
    assert_true(memcmp(upper, s->link, n * sizeof(WCHAR)) != 0);
    dimt_inject_arrival(upper); /* another letter case */
    memcpy(user, s->link, (n + 1) * sizeof(WCHAR));
    assert_true(user[0] == '\\' && user[1] == '?' && user[2] == '?' && user[3] == '\\');
    user[1] = '\\'; /* \\?\ instead of \??\ */
    dimt_inject_arrival(user);
    user[5] = (WCHAR)towlower(user[5]);
    dimt_inject_arrival(upper);

    assert_int_equal(dimt_recs_count(), from); /* no PnP notification, no state callback */
    assert_int_equal(dimt_load(&s->creates), 1);
    assert_int_equal(dimt_echo(m, dimt_opened(0)), STATUS_SUCCESS);
    dimt_delete(m);
    dimt_finish();
}

/* D6 */
static void D6_pnp_notification_writing_false_creates_no_target_and_sends_no_create(void **state)
{
    DMFMODULE m;

    begin_dynamic();
    ds_sensor *s0 = ds_create(0, NULL);
    dimt_cli.deny_open = true;
    m = dimt_create(&cfg, &attr);
    ds_sensor *s1 = ds_create(1, NULL);
    DIMT_EXPECT(0, { R_PNP, NULL }, { R_PNP, NULL });
    assert_int_equal(dimt_load(&s0->creates), 0);
    assert_int_equal(dimt_load(&s1->creates), 0);
    assert_int_equal(dimt_postopen_count, 0);
    /* Their removal makes no callback either. */
    assert_int_equal(ds_query_and_remove(s0), CR_SUCCESS);
    ds_surprise_remove(s1);
    DIMT_EXPECT(0, { R_PNP, NULL }, { R_PNP, NULL });
    dimt_delete(m);
    assert_int_equal(dimt_preclose_count, 0);
    dimt_finish();
}

/* D7 */
static void D7_pnp_notification_is_called_once_per_arrival_before_open_with_the_exact_link(void **state)
{
    DMFMODULE m;

    begin_dynamic();
    ds_sensor *s0 = ds_create(0, NULL);
    m = dimt_create(&cfg, &attr);
    DIMT_EXPECT(0, { R_PNP, NULL }, { R_POSTOPEN, NULL }, { ST_OPEN, NULL });
    assert_int_equal(dimt_cli.pnp_calls, 1);
    assert_int_equal(dimt_cli.pnp_preset, TRUE);
    assert_int_equal(PnpkitWcsLen(dimt_cli.pnp_link), PnpkitWcsLen(s0->link));
    assert_memory_equal(dimt_cli.pnp_link, s0->link, PnpkitWcsLen(s0->link) * sizeof(WCHAR));

    int from = dimt_recs_count();
    ds_sensor *s1 = ds_create(1, u"late");
    DIMT_EXPECT(from, { R_PNP, NULL }, { ST_OPEN, NULL });
    assert_int_equal(dimt_cli.pnp_calls, 2);
    assert_int_equal(dimt_cli.pnp_preset, TRUE);
    assert_int_equal(PnpkitWcsLen(dimt_cli.pnp_link), PnpkitWcsLen(s1->link));
    assert_memory_equal(dimt_cli.pnp_link, s1->link, PnpkitWcsLen(s1->link) * sizeof(WCHAR));

    /* A removal is not an arrival. */
    assert_int_equal(ds_query_and_remove(s1), CR_SUCCESS);
    assert_int_equal(dimt_cli.pnp_calls, 2);
    dimt_delete(m);
    dimt_finish();
}

/* D8 */
static void D8_zero_open_mode_and_share_access_open_for_read_write_shared(void **state)
{
    DMFMODULE m;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    cfg.OpenMode = 0;
    cfg.ShareAccess = 0;
    m = dimt_create(&cfg, &attr);
    assert_int_equal(dimt_load(&s->creates), 1);
    assert_int_equal(s->last_access, GENERIC_READ | GENERIC_WRITE);
    assert_int_equal(s->last_access, 0xC0000000u);
    assert_int_equal(s->last_share, FILE_SHARE_READ | FILE_SHARE_WRITE);
    assert_int_equal(s->last_share, 3);
    dimt_delete(m);
    dimt_finish();
}

/* D9 */
static void D9_nonzero_open_mode_and_share_access_reach_the_device_exactly(void **state)
{
    DMFMODULE m;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    cfg.OpenMode = GENERIC_READ;
    cfg.ShareAccess = FILE_SHARE_READ;
    m = dimt_create(&cfg, &attr);
    assert_int_equal(dimt_load(&s->creates), 1);
    assert_int_equal(s->last_access, GENERIC_READ);
    assert_int_equal(s->last_share, FILE_SHARE_READ);
    ds_set_interface(s, false); /* the Target goes; the device stays for the next module */
    WdfObjectDelete(m);
    ds_set_interface(s, true);

    dimt_recs_clear();
    cfg.OpenMode = GENERIC_WRITE;
    cfg.ShareAccess = FILE_SHARE_WRITE | FILE_SHARE_DELETE;
    m = dimt_create(&cfg, &attr);
    assert_int_equal(dimt_load(&s->creates), 2);
    assert_int_equal(s->last_access, GENERIC_WRITE);
    assert_int_equal(s->last_share, FILE_SHARE_WRITE | FILE_SHARE_DELETE);
    dimt_delete(m);
    dimt_finish();
}

/* D10 */
static void D10_ex_open_veto_deletes_the_target_for_good_and_a_later_arrival_asks_again(void **state)
{
    DMFMODULE m;
    DMFIOTARGET vetoed, t;
    WDFIOTARGET io = (WDFIOTARGET)(uintptr_t)1;
    int from;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    dimt_cli.ex_status[ST_OPEN] = STATUS_ACCESS_DENIED;
    m = dimt_create(&cfg, &attr);
    DIMT_EXPECT(0, { R_PNP, NULL }, { R_POSTOPEN, NULL }, { ST_OPEN, NULL }, { R_PRECLOSE, NULL });
    vetoed = dimt_opened(0);
    assert_int_equal(dimt_load(&s->creates), 1);
    assert_int_equal(dimt_load(&s->cleanups), 1);
    assert_int_equal(dimt_load(&s->closes), 1);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_Get(m, vetoed, &io), STATUS_INVALID_DEVICE_STATE);
    assert_null(io);
    assert_int_equal(dimt_echo(m, vetoed), STATUS_INVALID_DEVICE_STATE);

    /* The same link arrives again (interface disabled and enabled): asked again, opened. */
    from = dimt_recs_count();
    ds_set_interface(s, false);
    NO_STATES(from);
    dimt_cli.ex_status[ST_OPEN] = STATUS_SUCCESS;
    ds_set_interface(s, true);
    DIMT_EXPECT(from, { R_PNP, NULL }, { R_POSTOPEN, NULL }, { ST_OPEN, NULL });
    t = dimt_opened(1);
    assert_int_equal(dimt_load(&s->creates), 2);
    assert_int_equal(dimt_echo(m, t), STATUS_SUCCESS);

    /* Nothing more ever for the vetoed instance: the removal concerns the new Target only. */
    from = dimt_recs_count();
    assert_int_equal(ds_query_and_remove(s), CR_SUCCESS);
    EXPECT_STATES(from, { ST_QR, t }, { ST_RCOMPLETE, t });
    assert_int_equal(dimt_count(ST_CLOSE, vetoed), 0);
    assert_int_equal(dimt_count(ST_QR, vetoed), 0);
    assert_int_equal(dimt_count(ST_RCOMPLETE, vetoed), 0);
    dimt_delete(m);
    assert_int_equal(dimt_postopen_count, 2);
    assert_int_equal(dimt_preclose_count, 2);
    dimt_finish();
}

/* D11 */
static NTSTATUS d11_send, d11_sync, d11_get, d11_ref;
static WDFIOTARGET d11_io;
static dimt_done d11_done;
static unsigned char d11_in[8] = "sensor", d11_out[8];

static void d11_in_open(DMFMODULE m, DMFIOTARGET t, int state)
{
    if (state != ST_OPEN)
        return;
    d11_send = DMF_DeviceInterfaceMultipleTarget_Send(m, t, d11_in, sizeof(d11_in), d11_out, sizeof(d11_out),
                                                      ContinuousRequestTarget_RequestType_Ioctl, DS_IOCTL_ECHO, 0,
                                                      dimt_on_done, &d11_done);
    d11_sync = dimt_echo(m, t);
    d11_get = DMF_DeviceInterfaceMultipleTarget_Get(m, t, &d11_io);
    d11_ref = DMF_DeviceInterfaceMultipleTarget_TargetReference(m, t);
    if (NT_SUCCESS(d11_ref))
        DMF_DeviceInterfaceMultipleTarget_TargetDereference(m, t);
}

static void D11_send_sync_get_and_reference_already_work_inside_the_open_callback(void **state)
{
    DMFMODULE m;

    begin_dynamic();
    ds_create(0, NULL);
    d11_send = d11_sync = d11_get = d11_ref = STATUS_PENDING;
    d11_io = NULL;
    dimt_done_init(&d11_done);
    dimt_cli.on_state = d11_in_open;
    m = dimt_create(&cfg, &attr);
    assert_int_equal(dimt_count(ST_OPEN, NULL), 1);
    assert_int_equal(d11_send, STATUS_SUCCESS);
    assert_int_equal(d11_sync, STATUS_SUCCESS);
    assert_int_equal(d11_get, STATUS_SUCCESS);
    assert_non_null(d11_io);
    assert_int_equal(d11_ref, STATUS_SUCCESS);
    DIMT_WAIT(dimt_load(&d11_done.calls) == 1);
    assert_int_equal(d11_done.status, STATUS_SUCCESS);
    assert_ptr_equal(d11_done.module, m);
    assert_int_equal(d11_done.out_read, sizeof(d11_out));
    for (int i = 0; i < 8; i++)
        assert_int_equal(d11_out[i], d11_in[i] ^ 0x5A);
    dimt_delete(m);
    assert_int_equal(dimt_load(&d11_done.calls), 1);
    dimt_finish();
}

/* D12 */
static volatile LONG d12_seen_in_open = -1, d12_seen_at_end_of_open = -1;
static ds_sensor *d12_sensor;

static void d12_in_open(DMFMODULE m, DMFIOTARGET t, int state)
{
    if (state != ST_OPEN)
        return;
    d12_seen_in_open = dimt_load(&d12_sensor->holds_received);
    /* Give a stream that started too early every chance to reach the device. */
    unsigned char in[4] = { 1, 2, 3, 4 }, out[4];
    (void)DMF_DeviceInterfaceMultipleTarget_SendSynchronously(m, t, in, 4, out, 4, ContinuousRequestTarget_RequestType_Ioctl,
                                                              DS_IOCTL_ECHO, 0, NULL);
    d12_seen_at_end_of_open = dimt_load(&d12_sensor->holds_received);
}

static void D12_automatic_mode_sends_no_stream_request_before_open_returns(void **state)
{
    DMFMODULE m;

    begin_dynamic();
    d12_sensor = ds_create(0, NULL);
    dimt_config_stream(&cfg, 3, 16, true);
    dimt_cli.on_state = d12_in_open;
    m = dimt_create(&cfg, &attr);
    assert_int_equal(dimt_count(ST_OPEN, NULL), 1);
    assert_int_equal(d12_seen_in_open, 0);
    assert_int_equal(d12_seen_at_end_of_open, 0);
    DIMT_WAIT(dimt_load(&d12_sensor->held) == 3);
    assert_int_equal(dimt_load(&d12_sensor->holds_received), 3);
    assert_int_equal(dimt_str.outputs, 0);
    dimt_delete(m);
    assert_int_equal(dimt_load(&d12_sensor->held), 0);
    dimt_finish();
}

/* D15 */
static void D15_guid_get_returns_the_configured_guid_at_all_times(void **state)
{
    DMFMODULE m, other;
    GUID g;
    DMF_CONFIG_DeviceInterfaceMultipleTarget c2;
    DMF_MODULE_ATTRIBUTES a2;
    DMF_MODULE_EVENT_CALLBACKS cb2;

    begin_dynamic();
    m = dimt_create(&cfg, &attr);
    memset(&g, 0, sizeof(g));
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_GuidGet(m, &g), STATUS_SUCCESS); /* no Target */
    assert_true(IsEqualGUID(&g, &DIMT_GUID));
    ds_sensor *s = ds_create(0, NULL);
    assert_int_equal(dimt_count(ST_OPEN, NULL), 1);
    memset(&g, 0, sizeof(g));
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_GuidGet(m, &g), STATUS_SUCCESS);
    assert_true(IsEqualGUID(&g, &DIMT_GUID));
    ds_surprise_remove(s);
    memset(&g, 0, sizeof(g));
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_GuidGet(m, &g), STATUS_SUCCESS);
    assert_true(IsEqualGUID(&g, &DIMT_GUID));

    dimt_config(&c2, &a2, &cb2);
    c2.DeviceInterfaceMultipleTargetGuid = DIMT_OTHER_GUID;
    other = dimt_create(&c2, &a2);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_GuidGet(other, &g), STATUS_SUCCESS);
    assert_true(IsEqualGUID(&g, &DIMT_OTHER_GUID));
    dimt_delete(other);
    dimt_delete(m);
    dimt_finish();
}

/* D16 */
static void D16_post_open_at_the_first_target_and_pre_close_at_the_last_also_through_query_remove(void **state)
{
    DMFMODULE m;
    DMFIOTARGET t0, t1;
    int from;

    begin_dynamic();
    ds_sensor *s0 = ds_create(0, NULL);
    m = dimt_create(&cfg, &attr);
    ds_sensor *s1 = ds_create(1, NULL);
    DIMT_EXPECT(0, { R_PNP, NULL }, { R_POSTOPEN, NULL }, { ST_OPEN, NULL }, { R_PNP, NULL }, { ST_OPEN, NULL });
    t0 = dimt_opened(0);
    t1 = dimt_opened(1);

    from = dimt_recs_count();
    assert_int_equal(ds_query_and_remove(s0), CR_SUCCESS);
    DIMT_EXPECT(from, { ST_QR, t0 }, { ST_RCOMPLETE, t0 });
    from = dimt_recs_count();
    assert_int_equal(ds_query_and_remove(s1), CR_SUCCESS);
    DIMT_EXPECT(from, { ST_QR, t1 }, { R_PRECLOSE, NULL }, { ST_RCOMPLETE, t1 });

    /* A new first target opens the module again. */
    from = dimt_recs_count();
    ds_create(2, NULL);
    DIMT_EXPECT(from, { R_PNP, NULL }, { R_POSTOPEN, NULL }, { ST_OPEN, NULL });
    from = dimt_recs_count();
    ds_set_interface(&ds_sensors[2], false);
    DIMT_EXPECT(from, { ST_CLOSE, NULL }, { R_PRECLOSE, NULL });
    dimt_delete(m);
    assert_int_equal(dimt_postopen_count, 2);
    assert_int_equal(dimt_preclose_count, 2);
    dimt_finish();
}

/* D17 */
static void D17_with_both_state_callbacks_only_ex_is_called(void **state)
{
    DMFMODULE m;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    cfg.EvtDeviceInterfaceMultipleTargetOnStateChange = dimt_on_state_legacy;
    m = dimt_create(&cfg, &attr);
    assert_true(dimt_reports() >= 1); /* a warning is traced */
    assert_int_equal(ds_query_and_remove(s), CR_SUCCESS);
    ds_sensor *s1 = ds_create(1, NULL);
    ds_surprise_remove(s1);
    EXPECT_STATES(0, { ST_OPEN, NULL }, { ST_QR, NULL }, { ST_RCOMPLETE, NULL }, { ST_OPEN, NULL }, { ST_RCOMPLETE, NULL },
                  { ST_CLOSE, NULL });
    for (int i = 0; i < dimt_recs_count(); i++)
        assert_false(dimt_rec_at(i).legacy);
    dimt_delete(m);
    dimt_finish();
}

/* D18 */
static void D18_a_d0_flag_in_the_child_config_fails_create_with_invalid_parameter(void **state)
{
    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    cfg.ContinuousRequestTargetModuleConfig.PurgeAndStartTargetInD0Callbacks = TRUE;
    (void)dimt_create_expect(&cfg, &attr, STATUS_INVALID_PARAMETER);
    dimt_config(&cfg, &attr, &cbs);
    cfg.ContinuousRequestTargetModuleConfig.CancelAndResendRequestInD0Callbacks = TRUE;
    (void)dimt_create_expect(&cfg, &attr, STATUS_INVALID_PARAMETER);
    dimt_config(&cfg, &attr, &cbs);
    dimt_config_stream(&cfg, 2, 16, true);
    cfg.ContinuousRequestTargetModuleConfig.PurgeAndStartTargetInD0Callbacks = TRUE;
    cfg.ContinuousRequestTargetModuleConfig.CancelAndResendRequestInD0Callbacks = TRUE;
    (void)dimt_create_expect(&cfg, &attr, STATUS_INVALID_PARAMETER);
    assert_int_equal(dimt_recs_count(), 0);
    assert_int_equal(dimt_load(&s->creates), 0);
    dimt_finish(); /* refused with a status, no verifier stop */
}

static void D18_config_open_option_above_2_fails_create_with_invalid_parameter(void **state)
{
    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    cfg.ModuleOpenOption = (DeviceInterfaceMultipleTarget_PnpRegisterWhen_Type)3;
    (void)dimt_create_expect(&cfg, &attr, STATUS_INVALID_PARAMETER);
    dimt_config(&cfg, &attr, &cbs);
    cfg.ModuleOpenOption = (DeviceInterfaceMultipleTarget_PnpRegisterWhen_Type)7;
    (void)dimt_create_expect(&cfg, &attr, STATUS_INVALID_PARAMETER);
    assert_int_equal(dimt_recs_count(), 0);
    assert_int_equal(dimt_load(&s->creates), 0);
    dimt_finish();
}

static void D18_config_paged_pool_without_passive_level_fails_create_with_invalid_parameter(void **state)
{
    DMFMODULE m;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    dimt_config_stream(&cfg, 2, 16, false);
    cfg.ContinuousRequestTargetModuleConfig.PoolTypeOutput = PagedPool;
    (void)dimt_create_expect(&cfg, &attr, STATUS_INVALID_PARAMETER);
    assert_int_equal(dimt_recs_count(), 0);
    assert_int_equal(dimt_load(&s->creates), 0);
    assert_int_equal(dimt_stops(), 1); /* spec 1.1: a paged type without PassiveLevel is a verifier stop */
    dimt_expected_stops = 1;
    /* With PassiveLevel it is accepted. */
    attr.PassiveLevel = TRUE;
    m = dimt_create(&cfg, &attr);
    assert_int_equal(dimt_count(ST_OPEN, NULL), 1);
    dimt_delete(m);
    dimt_finish();
}

static void D18_config_dynamic_module_with_a_hardware_open_option_fails_create_with_unsuccessful(void **state)
{
    begin_dynamic();
    ds_create(0, NULL);
    cfg.ModuleOpenOption = DeviceInterfaceMultipleTarget_PnpRegisterWhen_PrepareHardware;
    (void)dimt_create_expect(&cfg, &attr, STATUS_UNSUCCESSFUL);
    dimt_config(&cfg, &attr, &cbs);
    cfg.ModuleOpenOption = DeviceInterfaceMultipleTarget_PnpRegisterWhen_D0Entry;
    (void)dimt_create_expect(&cfg, &attr, STATUS_UNSUCCESSFUL);
    assert_int_equal(dimt_recs_count(), 0);
    dimt_finish();
}

/* ============================================================================================= */
/* Removal state machine                                                                         */
/* ============================================================================================= */

/* Spec 1.4 "Arrival" step 8 and the table: an Automatic stream that cannot start gives Open,
 * Close. (Start fails when BufferInputSize > 0 and BufferCountInput < ContinuousRequestCount.) */
static void automatic_stream_start_failure_yields_open_then_close(void **state)
{
    DMFMODULE m;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    dimt_config_stream(&cfg, 2, 16, true);
    cfg.ContinuousRequestTargetModuleConfig.BufferInputSize = 8;
    cfg.ContinuousRequestTargetModuleConfig.BufferCountInput = 1;
    m = dimt_create(&cfg, &attr);
    DIMT_EXPECT(0, { R_PNP, NULL }, { R_POSTOPEN, NULL }, { ST_OPEN, NULL }, { ST_CLOSE, NULL }, { R_PRECLOSE, NULL });
    assert_ptr_equal(dimt_rec_at(2).t, dimt_rec_at(3).t);
    assert_int_equal(dimt_load(&s->holds_received), 0);
    assert_int_equal(dimt_load(&s->closes), 1);
    /* Nothing more for that instance when the device goes. */
    int from = dimt_recs_count();
    assert_int_equal(ds_query_and_remove(s), CR_SUCCESS);
    assert_int_equal(dimt_recs_count(), from);
    dimt_delete(m);
    dimt_finish();
}

/* Spec 1.4 and pnp.md 1.2: two instances watch the same device; the second one's Ex veto
 * refuses the removal after the first accepted, so the first gets RemoveCancel (reopened) and
 * the second nothing more. */
static void two_instances_a_veto_by_one_gives_the_other_remove_cancel(void **state)
{
    DMFMODULE a, b;
    DMFIOTARGET ta = NULL, tb = NULL;
    DMF_CONFIG_DeviceInterfaceMultipleTarget c2;
    DMF_MODULE_ATTRIBUTES a2;
    DMF_MODULE_EVENT_CALLBACKS cb2;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    a = dimt_create(&cfg, &attr);
    dimt_config(&c2, &a2, &cb2);
    b = dimt_create(&c2, &a2);
    for (int i = 0; i < dimt_recs_count(); i++) {
        dimt_rec r = dimt_rec_at(i);
        if (r.state == ST_OPEN)
            *(r.m == a ? &ta : &tb) = r.t;
    }
    assert_non_null(ta);
    assert_non_null(tb);
    assert_int_equal(dimt_load(&s->creates), 2);
    dimt_cli.veto_qr_module = b;
    int from = dimt_recs_count();
    assert_int_equal(ds_query_and_remove(s), CR_REMOVE_VETOED);
    EXPECT_STATES(from, { ST_QR, ta }, { ST_QR, tb }, { ST_RCANCEL, ta });
    assert_int_equal(dimt_load(&s->creates), 3); /* a reopened */
    assert_int_equal(dimt_echo(a, ta), STATUS_SUCCESS);
    assert_int_equal(dimt_echo(b, tb), STATUS_SUCCESS);
    /* Without the veto both go (in either order: a's reopen may have registered again). */
    dimt_cli.veto_qr_module = NULL;
    from = dimt_recs_count();
    assert_int_equal(ds_query_and_remove(s), CR_SUCCESS);
    EXPECT_STATES(from, { ST_QR, NULL }, { ST_QR, NULL }, { ST_RCOMPLETE, NULL }, { ST_RCOMPLETE, NULL });
    assert_int_equal(dimt_count(ST_QR, ta), 2);
    assert_int_equal(dimt_count(ST_QR, tb), 2);
    assert_int_equal(dimt_count(ST_RCOMPLETE, ta), 1);
    assert_int_equal(dimt_count(ST_RCOMPLETE, tb), 1);
    assert_int_equal(dimt_count(ST_CLOSE, NULL), 0);
    dimt_delete(b);
    dimt_delete(a);
    assert_int_equal(dimt_postopen_count, dimt_preclose_count);
    dimt_finish();
}

/* Spec 1.4 "Methods": an unmatched TargetDereference is a verifier stop, and changes nothing. */
static void an_unmatched_target_dereference_is_a_verifier_stop_and_changes_nothing(void **state)
{
    DMFMODULE m;
    DMFIOTARGET t;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    m = dimt_create(&cfg, &attr);
    t = dimt_opened(0);
    DMF_DeviceInterfaceMultipleTarget_TargetDereference(m, t);
    assert_int_equal(dimt_stops(), 1);
    dimt_expected_stops = 1;
    /* The Target still works, and its removal does not wait for anything. */
    assert_int_equal(dimt_echo(m, t), STATUS_SUCCESS);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_TargetReference(m, t), STATUS_SUCCESS);
    DMF_DeviceInterfaceMultipleTarget_TargetDereference(m, t);
    assert_int_equal(dimt_stops(), 1);
    int from = dimt_recs_count();
    assert_int_equal(ds_query_and_remove(s), CR_SUCCESS);
    EXPECT_STATES(from, { ST_QR, t }, { ST_RCOMPLETE, t });
    dimt_delete(m);
    dimt_finish();
}

/* D19 */
static void D19_orderly_removal_yields_query_remove_then_remove_complete(void **state)
{
    DMFMODULE m;
    DMFIOTARGET t;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    m = dimt_create(&cfg, &attr);
    t = dimt_opened(0);
    int from = dimt_recs_count();
    assert_int_equal(ds_query_and_remove(s), CR_SUCCESS);
    EXPECT_STATES(from, { ST_QR, t }, { ST_RCOMPLETE, t });
    assert_int_equal(dimt_count(ST_CLOSE, NULL), 0);
    assert_int_equal(dimt_preclose_count, 1);
    assert_int_equal(dimt_load(&s->cleanups), 1);
    assert_int_equal(dimt_load(&s->closes), 1);
    dimt_delete(m);
    assert_int_equal(dimt_count(ST_CLOSE, NULL), 0);
    dimt_finish();
}

/* D20 */
static void D20_surprise_removal_yields_remove_complete_then_close(void **state)
{
    DMFMODULE m;
    DMFIOTARGET t;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    m = dimt_create(&cfg, &attr);
    t = dimt_opened(0);
    int from = dimt_recs_count();
    ds_surprise_remove(s);
    EXPECT_STATES(from, { ST_RCOMPLETE, t }, { ST_CLOSE, t });
    assert_int_equal(dimt_count(ST_QR, NULL), 0);
    assert_int_equal(dimt_preclose_count, 1);
    assert_int_equal(dimt_load(&s->closes), 1);
    dimt_delete(m);
    dimt_finish();
}

/* D21 */
static volatile LONG d21_context_ok;

static void d21_callback(DMFMODULE m, DMFIOTARGET t, int state)
{
    if (state == ST_OPEN) {
        WDF_OBJECT_ATTRIBUTES a;
        dimt_tctx *c = NULL;
        WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, dimt_tctx);
        if (NT_SUCCESS(WdfObjectAllocateContext((WDFOBJECT)t, &a, (PVOID *)&c)) && c) {
            c->magic = 0xC0FFEE11u;
            c->sensor = 0;
        }
    } else if (state == ST_RCANCEL) {
        dimt_tctx *c = dimt_tctx_get((WDFOBJECT)t);
        d21_context_ok = c && c->magic == 0xC0FFEE11u && c->sensor == 0;
    }
}

static void D21_query_remove_then_cancel_yields_remove_cancel_with_the_same_target_and_context(void **state)
{
    DMFMODULE m;
    DMFIOTARGET t;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    dimt_cli.on_state = d21_callback;
    d21_context_ok = -1;
    m = dimt_create(&cfg, &attr);
    t = dimt_opened(0);
    assert_non_null(dimt_tctx_get((WDFOBJECT)t));
    int from = dimt_recs_count();
    s->veto_query_remove = 1; /* the device's driver refuses after the module accepted */
    assert_int_equal(ds_query_and_remove(s), CR_REMOVE_VETOED);
    EXPECT_STATES(from, { ST_QR, t }, { ST_RCANCEL, t });
    assert_int_equal(d21_context_ok, 1);
    assert_int_equal(dimt_load(&s->query_removes), 1);
    assert_int_equal(dimt_load(&s->creates), 2); /* reopened */
    assert_int_equal(dimt_load(&s->closes), 1);
    assert_int_equal(dimt_postopen_count, 2);
    assert_int_equal(dimt_preclose_count, 1);

    /* Once more, refused by the bus driver this time. */
    s->veto_query_remove = 0;
    d21_context_ok = -1;
    assert_int_equal(PnpkitSimVetoQueryRemove(s->dn, TRUE), STATUS_SUCCESS);
    from = dimt_recs_count();
    assert_int_equal(ds_query_and_remove(s), CR_REMOVE_VETOED);
    assert_int_equal(PnpkitSimVetoQueryRemove(s->dn, FALSE), STATUS_SUCCESS);
    EXPECT_STATES(from, { ST_QR, t }, { ST_RCANCEL, t });
    assert_int_equal(d21_context_ok, 1);
    assert_int_equal(dimt_load(&s->creates), 3);
    assert_int_equal(dimt_echo(m, t), STATUS_SUCCESS);
    dimt_delete(m);
    assert_int_equal(dimt_postopen_count, 3);
    assert_int_equal(dimt_preclose_count, 3);
    dimt_finish();
}

/* D22 */
static NTSTATUS d22_start_in_cancel;
static LONG d22_received_at_qr, d22_received_at_cancel;
static ds_sensor *d22_sensor;

static void d22_callback(DMFMODULE m, DMFIOTARGET t, int state)
{
    if (state == ST_QR)
        d22_received_at_qr = dimt_load(&d22_sensor->holds_received);
    if (state == ST_RCANCEL) {
        d22_received_at_cancel = dimt_load(&d22_sensor->holds_received);
        d22_start_in_cancel = DMF_DeviceInterfaceMultipleTarget_StreamStart(m, t); /* already running */
    }
}

static void D22_after_remove_cancel_methods_succeed_and_the_stream_restarted_before_the_callback(void **state)
{
    DMFMODULE m;
    DMFIOTARGET t;

    begin_dynamic();
    d22_sensor = ds_create(0, NULL);
    dimt_config_stream(&cfg, 2, 16, true);
    dimt_cli.on_state = d22_callback;
    d22_start_in_cancel = STATUS_PENDING;
    m = dimt_create(&cfg, &attr);
    t = dimt_opened(0);
    DIMT_WAIT(dimt_load(&d22_sensor->held) == 2);
    d22_sensor->veto_query_remove = 1;
    int from = dimt_recs_count();
    assert_int_equal(ds_query_and_remove(d22_sensor), CR_REMOVE_VETOED);
    EXPECT_STATES(from, { ST_QR, t }, { ST_RCANCEL, t });
    assert_int_equal(d22_received_at_qr, 2);
    assert_int_equal(d22_received_at_cancel, 4); /* two new stream requests before RemoveCancel */
    assert_int_equal(d22_start_in_cancel, STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(dimt_load(&d22_sensor->cancels), 2); /* the old ones, cancelled at the query */
    assert_int_equal(dimt_str.outputs, 0);                 /* ... without BufferOutput */
    DIMT_WAIT(dimt_load(&d22_sensor->held) == 2);
    assert_int_equal(dimt_echo(m, t), STATUS_SUCCESS);
    /* The stream delivers again. */
    assert_int_equal(ds_release(d22_sensor, 1, STATUS_SUCCESS), 1);
    DIMT_WAIT(dimt_load(&dimt_str.outputs) == 1);
    assert_int_equal(dimt_str.bad_payload, 0);
    DIMT_WAIT(dimt_load(&d22_sensor->held) == 2);
    dimt_delete(m);
    dimt_finish();
}

/* D23 */
static void D23_a_failed_reopen_fires_no_remove_cancel_and_methods_fail(void **state)
{
    DMFMODULE m;
    DMFIOTARGET t;
    WDFIOTARGET io = (WDFIOTARGET)(uintptr_t)1;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    m = dimt_create(&cfg, &attr);
    t = dimt_opened(0);
    s->fail_creates = 1;
    s->veto_query_remove = 1;
    int from = dimt_recs_count();
    assert_int_equal(ds_query_and_remove(s), CR_REMOVE_VETOED);
    EXPECT_STATES(from, { ST_QR, t });
    assert_int_equal(dimt_load(&s->creates), 2); /* the reopen reached the device and failed */
    assert_int_equal(dimt_echo(m, t), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_Get(m, t, &io), STATUS_INVALID_DEVICE_STATE);
    assert_null(io);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_TargetReference(m, t), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(dimt_postopen_count, 1);
    assert_int_equal(dimt_preclose_count, 1);

    /* The device goes: its interface removal tears the closed Target down (spec 1.4: "the next
     * RemoveComplete or teardown cleans up"; teardown is triggered by interface removal), with
     * no RemoveCancel and no Open. */
    s->veto_query_remove = 0;
    from = dimt_recs_count();
    assert_int_equal(ds_query_and_remove(s), CR_SUCCESS);
    ds_close(s);
    assert_int_equal(dimt_count(ST_RCANCEL, NULL), 0);
    assert_int_equal(dimt_count(ST_OPEN, NULL), 1);
    assert_int_equal(dimt_postopen_count, 1);
    assert_int_equal(dimt_preclose_count, 1);
    /* So the same link, when it comes back, is a new arrival: asked and opened again. */
    s = ds_create(0, NULL);
    DIMT_EXPECT(from, { R_PNP, NULL }, { R_POSTOPEN, NULL }, { ST_OPEN, NULL });
    assert_int_equal(dimt_echo(m, dimt_opened(1)), STATUS_SUCCESS);
    assert_int_equal(ds_query_and_remove(s), CR_SUCCESS);
    dimt_delete(m);
    assert_int_equal(dimt_postopen_count, 2);
    assert_int_equal(dimt_preclose_count, 2);
    dimt_finish();
}

/* D24 */
static void D24_an_ex_query_remove_veto_keeps_the_target_open_and_streaming(void **state)
{
    DMFMODULE m;
    DMFIOTARGET t;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    dimt_config_stream(&cfg, 2, 16, true);
    dimt_cli.ex_status[ST_QR] = STATUS_ACCESS_DENIED;
    m = dimt_create(&cfg, &attr);
    t = dimt_opened(0);
    DIMT_WAIT(dimt_load(&s->held) == 2);
    int from = dimt_recs_count();
    assert_int_equal(ds_query_and_remove(s), CR_REMOVE_VETOED);
    DIMT_EXPECT(from, { ST_QR, t }); /* no RemoveCancel, no PreClose */
    assert_int_equal(dimt_load(&s->query_removes), 0); /* refused before the device's driver */
    assert_int_equal(dimt_load(&s->held), 2);
    assert_int_equal(dimt_load(&s->cancels), 0);
    assert_int_equal(dimt_load(&s->cleanups), 0);
    assert_int_equal(dimt_echo(m, t), STATUS_SUCCESS);
    assert_int_equal(ds_release(s, 2, STATUS_SUCCESS), 2);
    DIMT_WAIT(dimt_load(&dimt_str.outputs) == 2);
    DIMT_WAIT(dimt_load(&s->held) == 2); /* sent again */
    assert_int_equal(dimt_str.bad_payload, 0);
    assert_int_equal(dimt_preclose_count, 0);
    dimt_delete(m);
    dimt_finish();
}

/* D25 */
static void D25_the_legacy_callback_cannot_veto_query_remove(void **state)
{
    DMFMODULE m;
    DMFIOTARGET t;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    cfg.EvtDeviceInterfaceMultipleTargetOnStateChangeEx = NULL;
    cfg.EvtDeviceInterfaceMultipleTargetOnStateChange = dimt_on_state_legacy;
    dimt_cli.ex_status[ST_QR] = STATUS_ACCESS_DENIED; /* not used: the legacy callback has no result */
    m = dimt_create(&cfg, &attr);
    t = dimt_opened(0);
    assert_true(dimt_rec_at(dimt_recs_count() - 1).legacy);
    int from = dimt_recs_count();
    assert_int_equal(ds_query_and_remove(s), CR_SUCCESS);
    EXPECT_STATES(from, { ST_QR, t }, { ST_RCOMPLETE, t });
    for (int i = 0; i < dimt_recs_count(); i++)
        if (dimt_rec_at(i).state < R_POSTOPEN)
            assert_true(dimt_rec_at(i).legacy);
    dimt_delete(m);
    dimt_finish();
}

/* D26 */
static void D26_a_duplicate_query_remove_is_accepted_without_a_second_callback(void **state)
{
    DMFMODULE m;
    DMFIOTARGET t;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    m = dimt_create(&cfg, &attr);
    t = dimt_opened(0);
    int from = dimt_recs_count();
    assert_int_equal(dimt_inject_target_event(s, PNP_TARGET_QUERY_REMOVE), STATUS_SUCCESS);
    assert_int_equal(dimt_load(&s->cleanups), 1); /* closed for the query-remove */
    assert_int_equal(dimt_inject_target_event(s, PNP_TARGET_QUERY_REMOVE), STATUS_SUCCESS); /* duplicate */
    DIMT_EXPECT(from, { ST_QR, t }, { R_PRECLOSE, NULL });
    assert_int_equal(dimt_inject_target_event(s, PNP_TARGET_REMOVE_CANCELLED), STATUS_SUCCESS);
    EXPECT_STATES(from, { ST_QR, t }, { ST_RCANCEL, t });
    assert_int_equal(dimt_load(&s->creates), 2);
    assert_int_equal(dimt_echo(m, t), STATUS_SUCCESS);
    assert_int_equal(dimt_postopen_count, 2);
    assert_int_equal(dimt_preclose_count, 1);
    dimt_delete(m);
    assert_int_equal(dimt_preclose_count, 2);
    dimt_finish();
}

/* D27 */
static void D27_disabling_an_interface_of_a_present_device_yields_exactly_one_close(void **state)
{
    DMFMODULE m;
    DMFIOTARGET t;

    begin_dynamic();
    ds_sensor *s = ds_create(0, u"iface");
    m = dimt_create(&cfg, &attr);
    t = dimt_opened(0);
    int from = dimt_recs_count();
    ds_set_interface(s, false);
    EXPECT_STATES(from, { ST_CLOSE, t });
    assert_int_equal(dimt_preclose_count, 1);
    assert_int_equal(dimt_load(&s->cleanups), 1);
    assert_int_equal(dimt_load(&s->closes), 1);
    assert_int_equal(dimt_echo(m, t), STATUS_INVALID_DEVICE_STATE);
    /* Enabled again: a new arrival. */
    from = dimt_recs_count();
    ds_set_interface(s, true);
    DIMT_EXPECT(from, { R_PNP, NULL }, { R_POSTOPEN, NULL }, { ST_OPEN, NULL });
    assert_int_equal(dimt_echo(m, dimt_opened(1)), STATUS_SUCCESS);
    dimt_delete(m);
    dimt_finish();
}

/* D28 */
static DMFMODULE d28_m;
static DMFIOTARGET d28_t;
static NTSTATUS d28_in_qr = STATUS_PENDING, d28_after_qr = STATUS_PENDING, d28_in_rc = STATUS_PENDING,
                d28_in_close = STATUS_PENDING;
static WDFIOTARGET d28_io_in_qr, d28_io_after_qr, d28_io_in_rc, d28_io_in_close;
static WDF_IO_TARGET_STATE d28_state_in_qr;

static void d28_callback(DMFMODULE m, DMFIOTARGET t, int state)
{
    if (state == ST_QR) {
        d28_in_qr = DMF_DeviceInterfaceMultipleTarget_Get(m, t, &d28_io_in_qr);
        if (NT_SUCCESS(d28_in_qr) && d28_io_in_qr)
            d28_state_in_qr = WdfIoTargetGetState(d28_io_in_qr);
    } else if (state == ST_RCOMPLETE) {
        d28_io_in_rc = (WDFIOTARGET)(uintptr_t)1;
        d28_in_rc = DMF_DeviceInterfaceMultipleTarget_Get(m, t, &d28_io_in_rc);
    } else if (state == ST_CLOSE) {
        d28_io_in_close = (WDFIOTARGET)(uintptr_t)1;
        d28_in_close = DMF_DeviceInterfaceMultipleTarget_Get(m, t, &d28_io_in_close);
    }
}

/* Runs in the device's EvtDeviceQueryRemove: after the module accepted the query-remove. */
static void d28_device_query_remove(ds_sensor *s)
{
    d28_io_after_qr = (WDFIOTARGET)(uintptr_t)1;
    d28_after_qr = DMF_DeviceInterfaceMultipleTarget_Get(d28_m, d28_t, &d28_io_after_qr);
}

static void D28_get_fails_with_null_once_closed_and_returns_the_live_target_inside_query_remove(void **state)
{
    WDFIOTARGET io;

    begin_dynamic();
    ds_sensor *s0 = ds_create(0, NULL);
    dimt_cli.on_state = d28_callback;
    d28_m = dimt_create(&cfg, &attr);
    d28_t = dimt_opened(0);
    s0->on_query_remove = d28_device_query_remove;
    assert_int_equal(ds_query_and_remove(s0), CR_SUCCESS);
    assert_int_equal(d28_in_qr, STATUS_SUCCESS);
    assert_non_null(d28_io_in_qr);
    assert_int_equal(d28_state_in_qr, WdfIoTargetStarted);
    assert_int_equal(d28_after_qr, STATUS_INVALID_DEVICE_STATE); /* closed for the query-remove */
    assert_null(d28_io_after_qr);
    assert_int_equal(d28_in_rc, STATUS_INVALID_DEVICE_STATE);
    assert_null(d28_io_in_rc);
    io = (WDFIOTARGET)(uintptr_t)1;
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_Get(d28_m, d28_t, &io), STATUS_INVALID_DEVICE_STATE);
    assert_null(io);

    /* Surprise removal: Get fails inside RemoveComplete and Close too. */
    ds_sensor *s1 = ds_create(1, NULL);
    d28_t = dimt_opened(1);
    d28_in_rc = STATUS_PENDING;
    ds_surprise_remove(s1);
    assert_int_equal(d28_in_rc, STATUS_INVALID_DEVICE_STATE);
    assert_null(d28_io_in_rc);
    assert_int_equal(d28_in_close, STATUS_INVALID_DEVICE_STATE);
    assert_null(d28_io_in_close);
    io = (WDFIOTARGET)(uintptr_t)1;
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_Get(d28_m, d28_t, &io), STATUS_INVALID_DEVICE_STATE);
    assert_null(io);

    /* Interface disabled: Get fails inside Close. */
    ds_sensor *s2 = ds_create(2, NULL);
    d28_t = dimt_opened(2);
    d28_in_close = STATUS_PENDING;
    ds_set_interface(s2, false);
    assert_int_equal(d28_in_close, STATUS_INVALID_DEVICE_STATE);
    assert_null(d28_io_in_close);
    dimt_delete(d28_m);
    dimt_finish();
}

/* D29 */
typedef struct remover {
    pthread_t thread;
    ds_sensor *s;
    CONFIGRET cr;
    volatile LONG done;
} remover;

static void *remover_main(void *arg)
{
    remover *r = arg;
    r->cr = CM_Query_And_Remove_SubTreeW(r->s->dn, NULL, NULL, 0, 0);
    dimt_inc(&r->done);
    return NULL;
}

static void D29_a_target_reference_delays_removal_and_a_reference_during_rundown_fails(void **state)
{
    DMFMODULE m;
    DMFIOTARGET t;
    dimt_done d;
    unsigned char in[4] = { 9, 8, 7, 6 }, out[4];
    remover r;
    bool happened;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    m = dimt_create(&cfg, &attr);
    t = dimt_opened(0);
    dimt_done_init(&d);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_Send(m, t, in, 4, out, 4, ContinuousRequestTarget_RequestType_Ioctl,
                                                            DS_IOCTL_HOLD, 0, dimt_on_done, &d),
                     STATUS_SUCCESS);
    DIMT_WAIT(dimt_load(&s->held) == 1);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_TargetReference(m, t), STATUS_SUCCESS);

    memset(&r, 0, sizeof(r));
    r.s = s;
    assert_int_equal(pthread_create(&r.thread, NULL, remover_main, &r), 0);
    /* The query-remove ends the rundown and cancels the sent request ... */
    DIMT_WAIT(dimt_load(&d.calls) == 1);
    assert_int_equal(d.status, STATUS_CANCELLED);
    assert_int_equal(dimt_count(ST_QR, t), 1);
    /* ... then waits for the reference: new references fail, the removal does not finish. */
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_TargetReference(m, t), STATUS_INVALID_DEVICE_STATE);
    DIMT_WAIT_FOR_MS(dimt_load(&r.done) != 0, 200, happened);
    assert_false(happened);
    assert_int_equal(dimt_load(&s->query_removes), 0);
    assert_int_equal(dimt_count(ST_RCOMPLETE, NULL), 0);

    DMF_DeviceInterfaceMultipleTarget_TargetDereference(m, t);
    DIMT_WAIT(dimt_load(&r.done) == 1);
    pthread_join(r.thread, NULL);
    assert_int_equal(r.cr, CR_SUCCESS);
    PnpkitSimWaitIdle();
    EXPECT_STATES(0, { ST_OPEN, t }, { ST_QR, t }, { ST_RCOMPLETE, t });
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_TargetReference(m, t), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(dimt_load(&d.calls), 1);
    dimt_delete(m);
    dimt_finish();
}

/* D30 */
typedef struct racer {
    pthread_t thread;
    ds_sensor *a, *b;
    int kind;
    volatile LONG *go;
} racer;

static void *racer_main(void *arg)
{
    racer *r = arg;
    DIMT_WAIT(dimt_load(r->go) != 0);
    if (r->kind == 0) {
        (void)PnpkitSimSurpriseRemove(r->a->dn);
        (void)PnpkitSimSurpriseRemove(r->b->dn);
    } else {
        WdfDeviceSetDeviceInterfaceState(r->a->device, &DIMT_GUID, NULL, FALSE);
        WdfDeviceSetDeviceInterfaceState(r->b->device, &DIMT_GUID, NULL, FALSE);
    }
    return NULL;
}

static void D30_teardown_runs_once_per_target_when_removal_remove_complete_and_unregistration_race(void **state)
{
    begin_dynamic();
    for (int round = 0; round < 4; round++) {
        DMFMODULE m;
        DMFIOTARGET t[4];
        ds_sensor *s[4];
        racer rc[2];
        volatile LONG go = 0;
        LONG opens0 = dimt_postopen_count, closes0 = dimt_preclose_count;

        dimt_recs_clear();
        for (int i = 0; i < 4; i++)
            s[i] = ds_create(round * 4 + i, NULL);
        m = dimt_create(&cfg, &attr);
        assert_int_equal(dimt_count(ST_OPEN, NULL), 4);
        for (int i = 0; i < 4; i++)
            t[i] = dimt_opened(i);
        for (int k = 0; k < 2; k++) {
            rc[k].a = s[2 * k];
            rc[k].b = s[2 * k + 1];
            rc[k].kind = k;
            rc[k].go = &go;
            assert_int_equal(pthread_create(&rc[k].thread, NULL, racer_main, &rc[k]), 0);
        }
        if (round & 1)
            PnpkitSimWaitIdle();
        dimt_inc(&go);
        WdfObjectDelete(m); /* unregistration, racing both */
        for (int k = 0; k < 2; k++)
            pthread_join(rc[k].thread, NULL);
        PnpkitSimWaitIdle();
        for (int i = 0; i < 4; i++) {
            if (dimt_count(ST_CLOSE, t[i]) != 1 || dimt_count(ST_RCOMPLETE, t[i]) > 1 || dimt_count(ST_QR, t[i]) != 0) {
                dimt_recs_dump();
                fail_msg("round %d, target %d: teardown not exactly once", round, i);
            }
            assert_int_equal(dimt_load(&s[i]->closes), 1);
        }
        assert_int_equal(dimt_postopen_count - opens0, 1);
        assert_int_equal(dimt_preclose_count - closes0, 1);
    }
    dimt_finish();
}

/* D31 */
static void check_dead_target(DMFMODULE m, DMFIOTARGET t, RequestTarget_DmfRequestReuse live_reuse)
{
    unsigned char in[8] = { 1 }, out[8];
    dimt_done d;
    RequestTarget_DmfRequestCancel id = (RequestTarget_DmfRequestCancel)(uintptr_t)0x5151;
    RequestTarget_DmfRequestReuse rid = (RequestTarget_DmfRequestReuse)(uintptr_t)0x6161;
    WDFIOTARGET io = (WDFIOTARGET)(uintptr_t)1;
    size_t written = 77;

    dimt_done_init(&d);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_Send(m, t, in, 8, out, 8, ContinuousRequestTarget_RequestType_Ioctl,
                                                            DS_IOCTL_ECHO, 0, dimt_on_done, &d),
                     STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_SendEx(m, t, in, 8, out, 8, ContinuousRequestTarget_RequestType_Ioctl,
                                                              DS_IOCTL_ECHO, 0, dimt_on_done, &d, &id),
                     STATUS_INVALID_DEVICE_STATE);
    assert_ptr_equal(id, (RequestTarget_DmfRequestCancel)(uintptr_t)0x5151);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_SendSynchronously(m, t, in, 8, out, 8,
                                                                         ContinuousRequestTarget_RequestType_Ioctl,
                                                                         DS_IOCTL_ECHO, 0, &written),
                     STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_ReuseCreate(m, t, &rid), STATUS_INVALID_DEVICE_STATE);
    assert_ptr_equal(rid, (RequestTarget_DmfRequestReuse)(uintptr_t)0x6161);
    if (live_reuse) {
        assert_int_equal(DMF_DeviceInterfaceMultipleTarget_ReuseSend(m, t, live_reuse, in, 8, out, 8,
                                                                     ContinuousRequestTarget_RequestType_Ioctl,
                                                                     DS_IOCTL_ECHO, 0, dimt_on_done, &d, NULL),
                         STATUS_INVALID_DEVICE_STATE);
        assert_false(DMF_DeviceInterfaceMultipleTarget_ReuseDelete(m, t, live_reuse));
    }
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_StreamStart(m, t), STATUS_INVALID_DEVICE_STATE);
    DMF_DeviceInterfaceMultipleTarget_StreamStop(m, t);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_Get(m, t, &io), STATUS_INVALID_DEVICE_STATE);
    assert_null(io);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_TargetReference(m, t), STATUS_INVALID_DEVICE_STATE);
    assert_false(DMF_DeviceInterfaceMultipleTarget_Cancel(m, t, (RequestTarget_DmfRequestCancel)(uintptr_t)0x100));
    assert_int_equal(dimt_load(&d.calls), 0);
}

static void D31_every_method_refuses_a_dead_target_without_crashing(void **state)
{
    DMFMODULE m, other;
    DMFIOTARGET t0, t1, t2, foreign;
    RequestTarget_DmfRequestReuse r0 = NULL, r1 = NULL;
    DMF_CONFIG_DeviceInterfaceMultipleTarget c2;
    DMF_MODULE_ATTRIBUTES a2;
    DMF_MODULE_EVENT_CALLBACKS cb2;
    int stops;

    begin_dynamic();
    ds_sensor *s0 = ds_create(0, NULL);
    ds_sensor *s1 = ds_create(1, NULL);
    m = dimt_create(&cfg, &attr);
    t0 = dimt_opened(0);
    t1 = dimt_opened(1);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_ReuseCreate(m, t0, &r0), STATUS_SUCCESS);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_ReuseCreate(m, t1, &r1), STATUS_SUCCESS);

    /* Dead after RemoveComplete (orderly), and after Close (surprise). */
    assert_int_equal(ds_query_and_remove(s0), CR_SUCCESS);
    assert_int_equal(dimt_count(ST_RCOMPLETE, t0), 1);
    check_dead_target(m, t0, r0);
    ds_surprise_remove(s1);
    assert_int_equal(dimt_count(ST_CLOSE, t1), 1);
    check_dead_target(m, t1, r1);

    /* Dead after Close (interface disabled). */
    ds_sensor *s2 = ds_create(2, NULL);
    t2 = dimt_opened(2);
    ds_set_interface(s2, false);
    assert_int_equal(dimt_count(ST_CLOSE, t2), 1);
    check_dead_target(m, t2, NULL);

    /* NULL, and a live Target of another instance. */
    check_dead_target(m, NULL, NULL);
    dimt_config(&c2, &a2, &cb2);
    other = dimt_create(&c2, &a2);
    ds_create(3, NULL);
    assert_int_equal(dimt_count(ST_OPEN, NULL), 5); /* sensor 3 in both modules */
    foreign = NULL;
    for (int i = 0; i < dimt_recs_count(); i++) {
        dimt_rec r = dimt_rec_at(i);
        if (r.state == ST_OPEN && r.m == other)
            foreign = r.t;
    }
    assert_non_null(foreign);
    check_dead_target(m, foreign, NULL);
    assert_int_equal(dimt_echo(other, foreign), STATUS_SUCCESS);

    /* An unmatched TargetDereference of a dead Target changes nothing (a verifier finding is
     * allowed). */
    stops = dimt_stops();
    DMF_DeviceInterfaceMultipleTarget_TargetDereference(m, t0);
    DMF_DeviceInterfaceMultipleTarget_TargetDereference(m, NULL);
    assert_true(dimt_stops() - stops <= 2);
    dimt_expected_stops = dimt_stops();
    dimt_delete(other);
    dimt_delete(m);
    dimt_finish();
}

/* D32 */
static void D32_removing_one_instance_leaves_the_other_targets_undisturbed(void **state)
{
    DMFMODULE m;
    DMFIOTARGET t0, t1, t2;
    dimt_done d;
    unsigned char in[8] = { 10, 20, 30, 40, 50, 60, 70, 80 }, out[8];

    begin_dynamic();
    ds_sensor *s0 = ds_create(0, NULL);
    m = dimt_create(&cfg, &attr);
    ds_sensor *s1 = ds_create(1, NULL);
    ds_sensor *s2 = ds_create(2, NULL);
    t0 = dimt_opened(0);
    t1 = dimt_opened(1);
    t2 = dimt_opened(2);
    dimt_done_init(&d);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_Send(m, t1, in, 8, out, 8, ContinuousRequestTarget_RequestType_Ioctl,
                                                            DS_IOCTL_HOLD, 0, dimt_on_done, &d),
                     STATUS_SUCCESS);
    DIMT_WAIT(dimt_load(&s1->held) == 1);

    int from = dimt_recs_count();
    assert_int_equal(ds_query_and_remove(s0), CR_SUCCESS);
    DIMT_EXPECT(from, { ST_QR, t0 }, { ST_RCOMPLETE, t0 });
    from = dimt_recs_count();
    ds_surprise_remove(s2);
    DIMT_EXPECT(from, { ST_RCOMPLETE, t2 }, { ST_CLOSE, t2 });

    assert_int_equal(dimt_load(&d.calls), 0);
    assert_int_equal(dimt_load(&s1->held), 1);
    assert_int_equal(dimt_load(&s1->cancels), 0);
    assert_int_equal(dimt_load(&s1->cleanups), 0);
    assert_int_equal(dimt_echo(m, t1), STATUS_SUCCESS);
    assert_int_equal(ds_release(s1, 1, STATUS_SUCCESS), 1);
    DIMT_WAIT(dimt_load(&d.calls) == 1);
    assert_int_equal(d.status, STATUS_SUCCESS);
    for (int i = 0; i < 8; i++)
        assert_int_equal(out[i], in[i] ^ 0x5A);
    assert_int_equal(dimt_preclose_count, 0);
    dimt_delete(m);
    dimt_finish();
}

/* D33 */
static void D33_remove_complete_after_a_vetoed_query_remove_yields_remove_complete_then_close(void **state)
{
    DMFMODULE m;
    DMFIOTARGET t;
    WDFIOTARGET io = (WDFIOTARGET)(uintptr_t)1;

    begin_dynamic();
    ds_sensor *s = ds_create(0, NULL);
    dimt_cli.ex_status[ST_QR] = STATUS_ACCESS_DENIED;
    m = dimt_create(&cfg, &attr);
    t = dimt_opened(0);
    int from = dimt_recs_count();
    /* The veto is returned to WDF as STATUS_UNSUCCESSFUL, whatever the client returned. */
    assert_int_equal(dimt_inject_target_event(s, PNP_TARGET_QUERY_REMOVE), STATUS_UNSUCCESSFUL);
    assert_int_equal(dimt_inject_target_event(s, PNP_TARGET_REMOVE_COMPLETE), STATUS_SUCCESS);
    EXPECT_STATES(from, { ST_QR, t }, { ST_RCOMPLETE, t }, { ST_CLOSE, t });
    assert_int_equal(dimt_postopen_count, 1);
    assert_int_equal(dimt_preclose_count, 1);
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_Get(m, t, &io), STATUS_INVALID_DEVICE_STATE);
    assert_null(io);
    assert_int_equal(dimt_load(&s->closes), 1);
    /* The count is exact: a new target opens the module again. */
    from = dimt_recs_count();
    ds_create(1, NULL);
    DIMT_EXPECT(from, { R_PNP, NULL }, { R_POSTOPEN, NULL }, { ST_OPEN, NULL });
    dimt_delete(m);
    assert_int_equal(dimt_postopen_count, 2);
    assert_int_equal(dimt_preclose_count, 2);
    dimt_finish();
}

PK_TEST_MAIN(PK_TEST(D1_prepare_hardware_option_opens_present_interfaces_and_release_hardware_closes_each),
             PK_TEST(D2_d0entry_option_closes_every_target_at_d0exit_and_opens_every_interface_at_d0entry),
             PK_TEST(D57_prepare_hardware_option_automatic_stream_stops_at_d0exit_without_close_and_restarts_at_d0entry),
             PK_TEST(D57_static_create_option_automatic_stream_stops_at_d0exit_without_close_and_restarts_at_d0entry),
             PK_TEST(D3_create_option_registers_at_create_and_delete_closes_every_target_before_returning),
             PK_TEST(D4_every_interface_enabled_at_registration_opens_with_its_own_target),
             PK_TEST(D5_a_duplicate_arrival_of_an_open_link_in_any_spelling_creates_nothing),
             PK_TEST(D6_pnp_notification_writing_false_creates_no_target_and_sends_no_create),
             PK_TEST(D7_pnp_notification_is_called_once_per_arrival_before_open_with_the_exact_link),
             PK_TEST(D8_zero_open_mode_and_share_access_open_for_read_write_shared),
             PK_TEST(D9_nonzero_open_mode_and_share_access_reach_the_device_exactly),
             PK_TEST(D10_ex_open_veto_deletes_the_target_for_good_and_a_later_arrival_asks_again),
             PK_TEST(D11_send_sync_get_and_reference_already_work_inside_the_open_callback),
             PK_TEST(D12_automatic_mode_sends_no_stream_request_before_open_returns),
             PK_TEST(D15_guid_get_returns_the_configured_guid_at_all_times),
             PK_TEST(D16_post_open_at_the_first_target_and_pre_close_at_the_last_also_through_query_remove),
             PK_TEST(D17_with_both_state_callbacks_only_ex_is_called),
             PK_TEST(D18_a_d0_flag_in_the_child_config_fails_create_with_invalid_parameter),
             PK_TEST(D18_config_open_option_above_2_fails_create_with_invalid_parameter),
             PK_TEST(D18_config_paged_pool_without_passive_level_fails_create_with_invalid_parameter),
             PK_TEST(D18_config_dynamic_module_with_a_hardware_open_option_fails_create_with_unsuccessful),
             PK_TEST(automatic_stream_start_failure_yields_open_then_close),
             PK_TEST(two_instances_a_veto_by_one_gives_the_other_remove_cancel),
             PK_TEST(an_unmatched_target_dereference_is_a_verifier_stop_and_changes_nothing),
             PK_TEST(D19_orderly_removal_yields_query_remove_then_remove_complete),
             PK_TEST(D20_surprise_removal_yields_remove_complete_then_close),
             PK_TEST(D21_query_remove_then_cancel_yields_remove_cancel_with_the_same_target_and_context),
             PK_TEST(D22_after_remove_cancel_methods_succeed_and_the_stream_restarted_before_the_callback),
             PK_TEST(D23_a_failed_reopen_fires_no_remove_cancel_and_methods_fail),
             PK_TEST(D24_an_ex_query_remove_veto_keeps_the_target_open_and_streaming),
             PK_TEST(D25_the_legacy_callback_cannot_veto_query_remove),
             PK_TEST(D26_a_duplicate_query_remove_is_accepted_without_a_second_callback),
             PK_TEST(D27_disabling_an_interface_of_a_present_device_yields_exactly_one_close),
             PK_TEST(D28_get_fails_with_null_once_closed_and_returns_the_live_target_inside_query_remove),
             PK_TEST(D29_a_target_reference_delays_removal_and_a_reference_during_rundown_fails),
             PK_TEST(D30_teardown_runs_once_per_target_when_removal_remove_complete_and_unregistration_race),
             PK_TEST(D31_every_method_refuses_a_dead_target_without_crashing),
             PK_TEST(D32_removing_one_instance_leaves_the_other_targets_undisturbed),
             PK_TEST(D33_remove_complete_after_a_vetoed_query_remove_yields_remove_complete_then_close))
