/* WDF drivers and devices: WdfDriverCreate, EvtDriverDeviceAdd and WdfDeviceCreate, device
 * stacks (a WDF filter above a WDF function driver, WDF over a plain WDM driver), and the PnP and
 * power callbacks in KMDF order for start, orderly removal, surprise removal, query-remove vetoes,
 * failed starts, stop/restart and device power transitions. */
#include "wdf_testdrv.h"

/* ---- WdfDriverCreate ---- */

static volatile LONG unload_calls;
static WDFDRIVER created_driver;
static NTSTATUS second_create_status;

static NTSTATUS plain_add(WDFDRIVER driver, PWDFDEVICE_INIT init) { return STATUS_SUCCESS; }
static VOID plain_unload(WDFDRIVER driver) { InterlockedIncrement(&unload_calls); }

static NTSTATUS plain_entry(PDRIVER_OBJECT d, PUNICODE_STRING path)
{
    WDF_DRIVER_CONFIG config;
    NTSTATUS status;

    WDF_DRIVER_CONFIG_INIT(&config, plain_add);
    config.EvtDriverUnload = plain_unload;
    status = WdfDriverCreate(d, path, WDF_NO_OBJECT_ATTRIBUTES, &config, &created_driver);
    if (!NT_SUCCESS(status))
        return status;
    second_create_status = WdfDriverCreate(d, path, WDF_NO_OBJECT_ATTRIBUTES, &config, NULL);
    return status;
}

static void driver_create_installs_framework_dispatch_and_add_device(void **state)
{
    PDRIVER_OBJECT d;

    pk_test_capture_verifier();
    assert_int_equal(PnpkitIoCreateDriver(u"plainwdf", plain_entry, &d), STATUS_SUCCESS);
    assert_non_null(created_driver);
    assert_ptr_equal(WdfDriverWdmGetDriverObject(created_driver), d);
    assert_ptr_equal(WdfWdmDriverGetWdfDriverHandle(d), created_driver);
    assert_non_null(d->DriverExtension->AddDevice);
    assert_non_null(d->DriverUnload);
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        assert_ptr_equal(d->MajorFunction[i], d->MajorFunction[IRP_MJ_CREATE]);
    assert_non_null(WdfDriverGetRegistryPath(created_driver));
    /* One WDFDRIVER per DRIVER_OBJECT. */
    assert_int_equal(second_create_status, STATUS_INVALID_DEVICE_STATE);
    PnpkitIoDeleteDriver(d);
    assert_int_equal(unload_calls, 1);
}

static NTSTATUS bad_config_entry(PDRIVER_OBJECT d, PUNICODE_STRING path)
{
    WDF_DRIVER_CONFIG config;

    WDF_DRIVER_CONFIG_INIT(&config, plain_add);
    config.Size = 4;
    assert_int_equal(WdfDriverCreate(d, path, NULL, &config, NULL), STATUS_INFO_LENGTH_MISMATCH);
    WDF_DRIVER_CONFIG_INIT(&config, NULL);
    assert_int_equal(WdfDriverCreate(d, path, NULL, &config, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(WdfDriverCreate(NULL, path, NULL, &config, NULL), STATUS_INVALID_PARAMETER);
    return STATUS_UNSUCCESSFUL;
}

static void driver_create_rejects_bad_config(void **state)
{
    PDRIVER_OBJECT d;

    pk_test_capture_verifier();
    assert_int_equal(PnpkitIoCreateDriver(u"badwdf", bad_config_entry, &d), STATUS_UNSUCCESSFUL);
}

/* ---- Devices and stacks ---- */

static void device_add_creates_fdo_attached_to_pdo(void **state)
{
    HSWDEVICE h;
    PDEVICE_OBJECT self, pdo;
    WDFDEVICE dev;

    wt_reset();
    wt_cfg[0].io_mode = WT_IO_COMPLETE;
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(u"fdo", NULL);
    dev = wt_st[0].device;
    assert_non_null(dev);
    self = WdfDeviceWdmGetDeviceObject(dev);
    pdo = WdfDeviceWdmGetPhysicalDevice(dev);
    assert_non_null(self);
    assert_non_null(pdo);
    assert_ptr_equal(WdfDeviceWdmGetAttachedDevice(dev), pdo);
    assert_ptr_equal(IoGetAttachedDevice(pdo), self);
    assert_ptr_equal(WdfWdmDeviceGetWdfDeviceHandle(self), dev);
    assert_null(WdfWdmDeviceGetWdfDeviceHandle(pdo));
    assert_false(self->Flags & DO_DEVICE_INITIALIZING);
    assert_true(self->Flags & DO_BUFFERED_IO);
    assert_ptr_equal(WdfIoTargetWdmGetTargetDeviceObject(WdfDeviceGetIoTarget(dev)), pdo);
    assert_ptr_equal(WdfIoTargetWdmGetTargetPhysicalDevice(WdfDeviceGetIoTarget(dev)), pdo);
    assert_null(WdfIoTargetWdmGetTargetFileObject(WdfDeviceGetIoTarget(dev)));
    assert_ptr_equal(WdfIoTargetGetDevice(WdfDeviceGetIoTarget(dev)), dev);
    assert_int_equal(WdfIoTargetGetState(WdfDeviceGetIoTarget(dev)), WdfIoTargetStarted);
    assert_ptr_equal(WdfDriverWdmGetDriverObject(WdfDeviceGetDriver(dev)), self->DriverObject);
    assert_non_null(WdfDeviceGetDefaultQueue(dev));
    wt_device_close(h);
    wt_teardown();
}

static void filter_attaches_above_function_and_targets_it(void **state)
{
    HSWDEVICE h;
    WDFDEVICE filter, function;

    wt_reset();
    wt_cfg[0].name = "func";
    wt_cfg[1].name = "filt";
    wt_register_wdf(0, WT_FUNCTION);
    wt_register_wdf(1, WT_UPPER);
    h = wt_device_create(u"stack", NULL);
    function = wt_st[0].device;
    filter = wt_st[1].device;
    assert_non_null(function);
    assert_non_null(filter);
    assert_ptr_equal(WdfDeviceWdmGetAttachedDevice(filter), WdfDeviceWdmGetDeviceObject(function));
    /* WdfDeviceGetIoTarget is the next-lower device. */
    assert_ptr_equal(WdfIoTargetWdmGetTargetDeviceObject(WdfDeviceGetIoTarget(filter)),
                     WdfDeviceWdmGetDeviceObject(function));
    assert_ptr_equal(WdfDeviceWdmGetPhysicalDevice(filter), WdfDeviceWdmGetPhysicalDevice(function));
    /* A filter takes the I/O type of the device below it. */
    assert_true(WdfDeviceWdmGetDeviceObject(filter)->Flags & DO_BUFFERED_IO);
    /* Start runs bottom-up: the function driver's start completes before the filter's starts. */
    assert_true(pk_log_find("func:prepare", 0) < pk_log_find("filt:prepare", 0));
    wt_device_close(h);
    wt_teardown();
}

static void wdf_function_over_wdm_lower_filter_starts_lower_first(void **state)
{
    HSWDEVICE h;

    wt_reset();
    wt_cfg[0].name = "func";
    wtw_cfg[0].name = "lower";
    wt_register_wdm(0, WT_LOWER);
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(u"overwdm", NULL);
    assert_non_null(wt_st[0].device);
    assert_ptr_equal(WdfDeviceWdmGetAttachedDevice(wt_st[0].device), wtw_st[0].fdo);
    assert_true(pk_log_find("lower:start", 0) >= 0);
    assert_true(pk_log_find("lower:start", 0) < pk_log_find("func:prepare", 0));
    wt_device_close(h);
    wt_teardown();
}

/* ---- PnP sequences ---- */

static void start_runs_prepare_d0entry_smio_init_in_order(void **state)
{
    HSWDEVICE h;
    static const char *const expected[] = { "wdf0:prepare", "wdf0:d0entry:5", "wdf0:smio-init", NULL };

    wt_reset();
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(u"start", NULL);
    pk_log_expect(expected);
    wt_device_close(h);
    wt_teardown();
}

static void orderly_removal_tears_down_in_kmdf_order(void **state)
{
    HSWDEVICE h;
    DEVINST dn;
    static const char *const expected[] = { "wdf0:query-remove", "wdf0:smio-suspend", "wdf0:d0exit:5",
                                            "wdf0:smio-flush",   "wdf0:release",      "wdf0:smio-cleanup",
                                            "wdf0:device-cleanup", NULL };

    wt_reset();
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(u"orderly", &dn);
    pk_log_clear();
    assert_int_equal(CM_Query_And_Remove_SubTreeW(dn, NULL, NULL, 0, 0), CR_SUCCESS);
    PnpkitSimWaitIdle();
    pk_log_expect(expected);
    wt_device_close(h);
    wt_teardown();
}

static void surprise_removal_calls_surprise_then_teardown_and_cleanup_at_remove(void **state)
{
    HSWDEVICE h;
    static const char *const expected[] = { "wdf0:surprise", "wdf0:smio-suspend", "wdf0:d0exit:5",
                                            "wdf0:smio-flush", "wdf0:release", "wdf0:smio-cleanup",
                                            "wdf0:device-cleanup", NULL };

    wt_reset();
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(u"surprise", NULL);
    pk_log_clear();
    wt_device_close(h);
    pk_log_expect(expected);
    wt_teardown();
}

static void surprise_removed_device_waits_for_last_close_before_cleanup(void **state)
{
    HSWDEVICE h;
    DEVINST dn;
    PFILE_OBJECT fo;

    wt_reset();
    wt_cfg[0].iface = &WT_GUID;
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(u"surpriseopen", &dn);
    assert_int_equal(wt_open(&WT_GUID, NULL, &fo), STATUS_SUCCESS);
    pk_log_clear();
    assert_int_equal(PnpkitSimSurpriseRemove(dn), STATUS_SUCCESS);
    PnpkitSimWaitIdle();
    assert_true(pk_log_find("wdf0:release", 0) >= 0);
    assert_int_equal(pk_log_find("wdf0:smio-cleanup", 0), -1);
    wt_close(fo);
    PnpkitSimWaitIdle();
    assert_true(pk_log_find("wdf0:smio-cleanup", 0) > pk_log_find("wdf0:release", 0));
    assert_true(pk_log_find("wdf0:device-cleanup", 0) > 0);
    wt_device_close(h);
    wt_teardown();
}

static void query_remove_veto_by_driver_keeps_device_started(void **state)
{
    HSWDEVICE h;
    DEVINST dn;
    PNP_VETO_TYPE veto = PNP_VetoTypeUnknown;

    wt_reset();
    wt_cfg[0].veto_query_remove = true;
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(u"veto", &dn);
    pk_log_clear();
    assert_int_equal(CM_Query_And_Remove_SubTreeW(dn, &veto, NULL, 0, 0), CR_REMOVE_VETOED);
    assert_int_equal(veto, PNP_VetoDevice);
    PnpkitSimWaitIdle();
    assert_true(pk_log_find("wdf0:query-remove", 0) >= 0);
    assert_int_equal(pk_log_find("wdf0:d0exit:5", 0), -1);
    assert_int_equal(pk_log_find("wdf0:release", 0), -1);
    /* Still started: a second query-remove without veto removes it. */
    wt_cfg[0].veto_query_remove = false;
    assert_int_equal(CM_Query_And_Remove_SubTreeW(dn, NULL, NULL, 0, 0), CR_SUCCESS);
    PnpkitSimWaitIdle();
    assert_true(pk_log_find("wdf0:release", 0) >= 0);
    wt_device_close(h);
    wt_teardown();
}

static void failed_prepare_hardware_fails_start_and_still_releases(void **state)
{
    HSWDEVICE h;
    static const char *const expected[] = { "wdf0:prepare", "wdf0:release", "wdf0:device-cleanup", NULL };

    wt_reset();
    wt_cfg[0].prepare_status = STATUS_DEVICE_CONFIGURATION_ERROR;
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(u"failprep", NULL);
    pk_log_expect(expected);
    wt_device_close(h);
    wt_teardown();
}

static void failed_d0_entry_releases_hardware_without_d0_exit(void **state)
{
    HSWDEVICE h;
    static const char *const expected[] = { "wdf0:prepare", "wdf0:d0entry:5", "wdf0:release", "wdf0:device-cleanup",
                                            NULL };

    wt_reset();
    wt_cfg[0].d0entry_status = STATUS_DEVICE_NOT_READY;
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(u"faild0", NULL);
    pk_log_expect(expected);
    wt_device_close(h);
    wt_teardown();
}

/* Sends a PnP or power IRP to the top of the device's stack and waits. */
static NTSTATUS send_stack_irp(PDEVICE_OBJECT pdo, UCHAR major, UCHAR minor, DEVICE_POWER_STATE ds)
{
    PDEVICE_OBJECT top = IoGetAttachedDeviceReference(pdo);
    IO_STATUS_BLOCK iosb;
    KEVENT done;
    PIRP irp;
    PIO_STACK_LOCATION sp;
    NTSTATUS status;

    KeInitializeEvent(&done, NotificationEvent, FALSE);
    irp = IoBuildSynchronousFsdRequest(major, top, NULL, 0, NULL, &done, &iosb);
    assert_non_null(irp);
    irp->IoStatus.Status = STATUS_NOT_SUPPORTED;
    sp = IoGetNextIrpStackLocation(irp);
    sp->MinorFunction = minor;
    if (major == IRP_MJ_POWER) {
        sp->Parameters.Power.Type = DevicePowerState;
        sp->Parameters.Power.State.DeviceState = ds;
    }
    status = IoCallDriver(top, irp);
    if (status == STATUS_PENDING)
        KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
    ObDereferenceObject(top);
    return iosb.Status;
}

static void device_power_down_and_up_runs_suspend_and_restart(void **state)
{
    HSWDEVICE h;
    PDEVICE_OBJECT pdo;
    static const char *const expected[] = { "wdf0:smio-suspend", "wdf0:d0exit:4", "wdf0:d0entry:4",
                                            "wdf0:smio-restart", NULL };

    wt_reset();
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(u"power", NULL);
    pdo = WdfDeviceWdmGetPhysicalDevice(wt_st[0].device);
    pk_log_clear();
    assert_int_equal(send_stack_irp(pdo, IRP_MJ_POWER, IRP_MN_SET_POWER, PowerDeviceD3), STATUS_SUCCESS);
    assert_int_equal(send_stack_irp(pdo, IRP_MJ_POWER, IRP_MN_SET_POWER, PowerDeviceD0), STATUS_SUCCESS);
    pk_log_expect(expected);
    wt_device_close(h);
    wt_teardown();
}

static void stop_and_restart_release_and_prepare_hardware_again(void **state)
{
    HSWDEVICE h;
    PDEVICE_OBJECT pdo;
    static const char *const expected[] = { "wdf0:query-stop", "wdf0:smio-suspend", "wdf0:d0exit:4",
                                            "wdf0:release",    "wdf0:prepare",      "wdf0:d0entry:4",
                                            "wdf0:smio-restart", NULL };

    wt_reset();
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(u"stop", NULL);
    pdo = WdfDeviceWdmGetPhysicalDevice(wt_st[0].device);
    pk_log_clear();
    assert_int_equal(send_stack_irp(pdo, IRP_MJ_PNP, IRP_MN_QUERY_STOP_DEVICE, PowerDeviceUnspecified), STATUS_SUCCESS);
    assert_int_equal(send_stack_irp(pdo, IRP_MJ_PNP, IRP_MN_STOP_DEVICE, PowerDeviceUnspecified), STATUS_SUCCESS);
    assert_int_equal(send_stack_irp(pdo, IRP_MJ_PNP, IRP_MN_START_DEVICE, PowerDeviceUnspecified), STATUS_SUCCESS);
    pk_log_expect(expected);
    wt_device_close(h);
    wt_teardown();
}

static void removal_deletes_device_children_before_device_cleanup(void **state)
{
    HSWDEVICE h;
    WDFOBJECT child;
    WDF_OBJECT_ATTRIBUTES a;

    wt_reset();
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(u"children", NULL);
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.ParentObject = wt_st[0].device;
    a.EvtCleanupCallback = wt_file_obj_cleanup0;
    assert_int_equal(WdfObjectCreate(&a, &child), STATUS_SUCCESS);
    pk_log_clear();
    wt_device_close(h);
    assert_true(pk_log_find("wdf0:fileobject-cleanup", 0) >= 0);
    assert_true(pk_log_find("wdf0:fileobject-cleanup", 0) < pk_log_find("wdf0:device-cleanup", 0));
    wt_teardown();
}

static void device_is_deleted_by_framework_only(void **state)
{
    HSWDEVICE h;

    pk_test_capture_verifier();
    wt_reset();
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(u"nodelete", NULL);
    WdfObjectDelete(wt_st[0].device);
    assert_true(pk_test_verifier_saw("deleted by the framework"));
    assert_non_null(WdfDeviceWdmGetDeviceObject(wt_st[0].device));
    wt_device_close(h);
    wt_teardown();
}

static NTSTATUS fail_after_create_add(WDFDRIVER driver, PWDFDEVICE_INIT init)
{
    WDFDEVICE d;
    NTSTATUS status = WdfDeviceCreate(&init, WDF_NO_OBJECT_ATTRIBUTES, &d);
    assert_int_equal(status, STATUS_SUCCESS);
    assert_null(init);
    return STATUS_INSUFFICIENT_RESOURCES;
}

static NTSTATUS fail_after_create_entry(PDRIVER_OBJECT d, PUNICODE_STRING path)
{
    WDF_DRIVER_CONFIG config;
    WDF_DRIVER_CONFIG_INIT(&config, fail_after_create_add);
    return WdfDriverCreate(d, path, NULL, &config, NULL);
}

static void failed_device_add_deletes_the_created_device(void **state)
{
    HSWDEVICE h;
    SW_DEVICE_CREATE_INFO info;
    wt_create_wait w;

    assert_int_equal(PnpkitDriverRegister(u"failadd", fail_after_create_entry, u"WT\\FAILADD\0"), STATUS_SUCCESS);
    memset(&info, 0, sizeof(info));
    info.cbSize = sizeof(info);
    info.pszInstanceId = u"failadd";
    info.pszzHardwareIds = u"WT\\FAILADD\0";
    KeInitializeEvent(&w.done, NotificationEvent, FALSE);
    assert_int_equal(SwDeviceCreate(u"WT", u"HTREE\\ROOT\\0", &info, 0, NULL, wt_created, &w, &h), S_OK);
    pk_test_wait_event(&w.done);
    PnpkitSimWaitIdle();
    /* The device object is gone already: the driver can be unloaded while the node exists. */
    assert_int_equal(PnpkitDriverUnregister(u"failadd"), STATUS_SUCCESS);
    SwDeviceClose(h);
    PnpkitSimWaitIdle();
}

PK_TEST_MAIN(PK_TEST(driver_create_installs_framework_dispatch_and_add_device),
             PK_TEST(driver_create_rejects_bad_config),
             PK_TEST(device_add_creates_fdo_attached_to_pdo),
             PK_TEST(filter_attaches_above_function_and_targets_it),
             PK_TEST(wdf_function_over_wdm_lower_filter_starts_lower_first),
             PK_TEST(start_runs_prepare_d0entry_smio_init_in_order),
             PK_TEST(orderly_removal_tears_down_in_kmdf_order),
             PK_TEST(surprise_removal_calls_surprise_then_teardown_and_cleanup_at_remove),
             PK_TEST(surprise_removed_device_waits_for_last_close_before_cleanup),
             PK_TEST(query_remove_veto_by_driver_keeps_device_started),
             PK_TEST(failed_prepare_hardware_fails_start_and_still_releases),
             PK_TEST(failed_d0_entry_releases_hardware_without_d0_exit),
             PK_TEST(device_power_down_and_up_runs_suspend_and_restart),
             PK_TEST(stop_and_restart_release_and_prepare_hardware_again),
             PK_TEST(removal_deletes_device_children_before_device_cleanup),
             PK_TEST(device_is_deleted_by_framework_only),
             PK_TEST(failed_device_add_deletes_the_created_device))
