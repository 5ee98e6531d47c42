/* Framework file objects (seed 003, io.md 1.1-1.2): WDF_FILEOBJECT_CONFIG, the create / cleanup /
 * close callbacks, AutoForwardCleanupClose and its balance rule toward the local I/O target,
 * the file-object classes, reference strings reaching the create, exclusive devices, failed
 * creates, and the cancellation of a handle's queued requests at cleanup. */
#include "wdf_testdrv.h"

/* Stack for a WDF function driver: WDM lower filter (counts, forwards) below it.
 * Stack for a WDF filter: WDM function driver (counts, completes) below it. */
static HSWDEVICE make_stack(bool wdf_filter, PCWSTR name, DEVINST *dn)
{
    wtw_cfg[0].name = "lower";
    wt_cfg[0].name = "wdf";
    wt_cfg[0].iface = &WT_GUID;
    wt_register_wdm(0, wdf_filter ? WT_FUNCTION : WT_LOWER);
    wt_register_wdf(0, wdf_filter ? WT_UPPER : WT_FUNCTION);
    return wt_device_create(name, dn);
}

static void expect_lower(LONG creates, LONG cleanups, LONG closes)
{
    assert_int_equal(wtw_st[0].creates, creates);
    assert_int_equal(wtw_st[0].cleanups, cleanups);
    assert_int_equal(wtw_st[0].closes, closes);
}

static void open_close_once(void)
{
    PFILE_OBJECT fo;
    assert_int_equal(wt_open(&WT_GUID, NULL, &fo), STATUS_SUCCESS);
    wt_close(fo);
}

/* I1 */
static void config_init_sets_size_use_default_and_cannot_use_fs_contexts(void **state)
{
    WDF_FILEOBJECT_CONFIG c;

    memset(&c, 0xCC, sizeof(c));
    WDF_FILEOBJECT_CONFIG_INIT(&c, NULL, NULL, NULL);
    assert_int_equal(c.Size, sizeof(WDF_FILEOBJECT_CONFIG));
    assert_int_equal(c.AutoForwardCleanupClose, WdfUseDefault);
    assert_int_equal(c.AutoForwardCleanupClose, 2);
    assert_int_equal(c.FileObjectClass, WdfFileObjectWdfCannotUseFsContexts);
    assert_int_equal(c.FileObjectClass, 4);
    assert_null(c.EvtDeviceFileCreate);
    assert_true((ULONG)WdfFileObjectCanBeOptional == 0x80000000u);
    assert_int_equal(WdfFalse, 0);
    assert_int_equal(WdfTrue, 1);
    assert_int_equal(offsetof(WDF_FILEOBJECT_CONFIG, EvtDeviceFileCreate), 8);
}

/* I2 */
static void function_driver_without_create_handler_completes_open_and_sends_nothing_down(void **state)
{
    HSWDEVICE h;

    wt_reset();
    wt_cfg[0].file_config = true;
    wt_cfg[0].cleanup_cb = wt_cfg[0].close_cb = true;
    h = make_stack(false, u"i2", NULL);
    open_close_once();
    PnpkitSimWaitIdle();
    expect_lower(0, 0, 0);
    assert_int_equal(wt_st[0].cleanups, 1);
    assert_int_equal(wt_st[0].closes, 1);
    wt_device_close(h);
    wt_teardown();
}

/* I3 */
static void filter_with_use_default_forwards_create_cleanup_close_once_each(void **state)
{
    HSWDEVICE h;

    wt_reset();
    wt_cfg[0].file_config = true;
    wt_cfg[0].cleanup_cb = wt_cfg[0].close_cb = true;
    h = make_stack(true, u"i3", NULL);
    open_close_once();
    expect_lower(1, 1, 1);
    assert_true(pk_log_find("wdf:cleanup:file", 0) < pk_log_find("lower:irp-cleanup", 0));
    assert_true(pk_log_find("wdf:close:file", 0) < pk_log_find("lower:irp-close", 0));
    wt_device_close(h);
    wt_teardown();
}

/* I4 */
static void forwarded_create_failure_destroys_file_object_without_cleanup_close_and_restores_count(void **state)
{
    HSWDEVICE h;
    PFILE_OBJECT fo;

    wt_reset();
    wt_cfg[0].file_config = true;
    wt_cfg[0].autoforward = WdfTrue;
    wt_cfg[0].exclusive = true;
    wt_cfg[0].file_attributes = true;
    wt_cfg[0].cleanup_cb = wt_cfg[0].close_cb = true;
    wtw_cfg[0].create_status = STATUS_SHARING_VIOLATION;
    h = make_stack(false, u"i4", NULL);
    assert_int_equal(wt_open(&WT_GUID, NULL, &fo), STATUS_SHARING_VIOLATION);
    assert_int_equal(wtw_st[0].creates, 1);
    assert_true(pk_log_find("wdf:fileobject-cleanup", 0) >= 0);
    assert_true(pk_log_find("wdf:fileobject-destroy", 0) >= 0);
    assert_int_equal(wt_st[0].cleanups, 0);
    assert_int_equal(wt_st[0].closes, 0);
    /* The open count is back where it was: the exclusive device opens again. */
    wtw_cfg[0].create_status = 0;
    assert_int_equal(wt_open(&WT_GUID, NULL, &fo), STATUS_SUCCESS);
    wt_close(fo);
    expect_lower(2, 1, 1);
    wt_device_close(h);
    wt_teardown();
}

/* I5 */
static void autoforward_false_completes_cleanup_close_after_callbacks_and_sends_nothing_down(void **state)
{
    HSWDEVICE h;

    wt_reset();
    wt_cfg[0].file_config = true;
    wt_cfg[0].autoforward = WdfFalse;
    wt_cfg[0].cleanup_cb = wt_cfg[0].close_cb = true;
    h = make_stack(true, u"i5", NULL);
    open_close_once();
    expect_lower(0, 0, 0);
    assert_true(pk_log_find("wdf:cleanup:file", 0) >= 0);
    assert_true(pk_log_find("wdf:close:file", 0) > pk_log_find("wdf:cleanup:file", 0));
    wt_device_close(h);
    wt_teardown();
}

/* I6 */
static void forwarding_create_callback_balances_n_opens(void **state)
{
    HSWDEVICE h;
    PFILE_OBJECT fo[5];

    wt_reset();
    wt_cfg[0].file_config = true;
    wt_cfg[0].create_mode = WT_CREATE_FORWARD_ASYNC;
    wt_cfg[0].cleanup_cb = wt_cfg[0].close_cb = true;
    h = make_stack(true, u"i6", NULL);
    for (int i = 0; i < 5; i++)
        assert_int_equal(wt_open(&WT_GUID, NULL, &fo[i]), STATUS_SUCCESS);
    for (int i = 0; i < 5; i++)
        wt_close(fo[i]);
    expect_lower(5, 5, 5);
    assert_int_equal(wt_st[0].creates, 5);
    assert_int_equal(pk_test_verifier_stops(), 0);
    wt_device_close(h);
    wt_teardown();
}

/* I7 */
static void create_callback_not_forwarding_with_autoforward_breaks_balance_rule(void **state)
{
    HSWDEVICE h;

    pk_test_capture_verifier();
    wt_reset();
    wt_cfg[0].file_config = true;
    wt_cfg[0].create_mode = WT_CREATE_SUCCEED; /* completes without forwarding: wrong for a filter */
    h = make_stack(true, u"i7", NULL);
    open_close_once();
    expect_lower(0, 1, 1);
    assert_true(pk_test_verifier_stops() >= 1);
    assert_true(pk_test_verifier_saw("AutoForwardCleanupClose"));
    wt_device_close(h);
    wt_teardown();
}

/* I8 */
static void failed_create_callback_runs_object_callbacks_not_file_callbacks(void **state)
{
    HSWDEVICE h;
    PFILE_OBJECT fo;

    wt_reset();
    wt_cfg[0].file_config = true;
    wt_cfg[0].create_mode = WT_CREATE_FAIL;
    wt_cfg[0].create_fail_status = STATUS_ACCESS_DENIED;
    wt_cfg[0].file_attributes = true;
    wt_cfg[0].cleanup_cb = wt_cfg[0].close_cb = true;
    h = make_stack(false, u"i8", NULL);
    assert_int_equal(wt_open(&WT_GUID, NULL, &fo), STATUS_ACCESS_DENIED);
    assert_true(pk_log_find("wdf:fileobject-cleanup", 0) > pk_log_find("wdf:create:file", 0));
    assert_true(pk_log_find("wdf:fileobject-destroy", 0) > pk_log_find("wdf:fileobject-cleanup", 0));
    assert_int_equal(pk_log_find("wdf:cleanup:file", 0), -1);
    assert_int_equal(pk_log_find("wdf:close:file", 0), -1);
    wt_device_close(h);
    wt_teardown();
}

/* I9 */
static void cleanup_runs_before_close_and_cancels_queued_requests_of_the_handle_in_between(void **state)
{
    HSWDEVICE h;
    PFILE_OBJECT fo;
    wt_io io[2];

    wt_reset();
    wt_cfg[0].file_config = true;
    wt_cfg[0].autoforward = WdfFalse;
    wt_cfg[0].cleanup_cb = wt_cfg[0].close_cb = true;
    wt_cfg[0].file_attributes = true;
    wt_cfg[0].io_mode = WT_IO_COMPLETE;
    wt_cfg[0].dispatch = WdfIoQueueDispatchManual;
    h = make_stack(false, u"i9", NULL);
    assert_int_equal(wt_open(&WT_GUID, NULL, &fo), STATUS_SUCCESS);
    wt_io_start(&io[0], fo, WT_IOCTL_ECHO, 4, 4);
    wt_io_start(&io[1], fo, WT_IOCTL_ECHO, 4, 4);
    assert_false(wt_io_completed(&io[0]));
    pk_log_clear();
    wt_close(fo);
    assert_int_equal(wt_io_wait(&io[0]), STATUS_CANCELLED);
    assert_int_equal(wt_io_wait(&io[1]), STATUS_CANCELLED);
    {
        int cleanup = pk_log_find("wdf:cleanup:file", 0);
        int cancelled = pk_log_find("io:STATUS_CANCELLED", 0);
        int close = pk_log_find("wdf:close:file", 0);
        int destroy = pk_log_find("wdf:fileobject-cleanup", 0);
        assert_true(cleanup >= 0 && cleanup < cancelled);
        assert_true(cancelled < close);
        assert_true(close < destroy);
    }
    wt_device_close(h);
    wt_teardown();
}

/* I10 */
static void cleanup_cancels_no_request_of_another_handle(void **state)
{
    HSWDEVICE h;
    PFILE_OBJECT a, b;
    wt_io ia, ib;
    WDFREQUEST r;
    WDFQUEUE q;

    wt_reset();
    wt_cfg[0].file_config = true;
    wt_cfg[0].autoforward = WdfFalse;
    wt_cfg[0].io_mode = WT_IO_COMPLETE;
    wt_cfg[0].dispatch = WdfIoQueueDispatchManual;
    h = make_stack(false, u"i10", NULL);
    assert_int_equal(wt_open(&WT_GUID, NULL, &a), STATUS_SUCCESS);
    assert_int_equal(wt_open(&WT_GUID, NULL, &b), STATUS_SUCCESS);
    wt_io_start(&ia, a, WT_IOCTL_ECHO, 4, 4);
    wt_io_start(&ib, b, WT_IOCTL_ECHO, 4, 4);
    wt_close(a);
    assert_int_equal(wt_io_wait(&ia), STATUS_CANCELLED);
    assert_false(wt_io_completed(&ib));
    q = WdfDeviceGetDefaultQueue(wt_st[0].device);
    assert_int_equal(WdfIoQueueRetrieveNextRequest(q, &r), STATUS_SUCCESS);
    assert_ptr_equal(WdfFileObjectWdmGetFileObject(WdfRequestGetFileObject(r)), b);
    WdfRequestComplete(r, STATUS_SUCCESS);
    assert_int_equal(wt_io_wait(&ib), STATUS_SUCCESS);
    wt_close(b);
    wt_device_close(h);
    wt_teardown();
}

/* I11 */
static void not_required_class_gives_callbacks_and_requests_no_file_object(void **state)
{
    HSWDEVICE h;
    PFILE_OBJECT fo;
    wt_io io;

    wt_reset();
    wt_cfg[0].file_config = true;
    wt_cfg[0].file_class = WdfFileObjectNotRequired;
    wt_cfg[0].create_mode = WT_CREATE_SUCCEED;
    wt_cfg[0].cleanup_cb = wt_cfg[0].close_cb = true;
    wt_cfg[0].autoforward = WdfFalse;
    wt_cfg[0].io_mode = WT_IO_COMPLETE;
    h = make_stack(false, u"i11", NULL);
    assert_int_equal(wt_open(&WT_GUID, NULL, &fo), STATUS_SUCCESS);
    assert_true(pk_log_find("wdf:create:nofile", 0) >= 0);
    wt_io_start(&io, fo, WT_IOCTL_HOLD, 0, 0);
    assert_int_equal(wt_st[0].nheld, 1);
    assert_null(WdfRequestGetFileObject(wt_st[0].held[0]));
    wt_complete_held(0, STATUS_SUCCESS);
    assert_int_equal(wt_io_wait(&io), STATUS_SUCCESS);
    wt_close(fo);
    assert_true(pk_log_find("wdf:cleanup:nofile", 0) >= 0);
    assert_true(pk_log_find("wdf:close:nofile", 0) >= 0);
    wt_device_close(h);
    wt_teardown();
}

/* I12 */
static void fs_context_classes_store_the_handle_where_configured(void **state)
{
    static const ULONG classes[3] = { WdfFileObjectWdfCanUseFsContext, WdfFileObjectWdfCanUseFsContext2,
                                      WdfFileObjectWdfCannotUseFsContexts };

    for (int i = 0; i < 3; i++) {
        HSWDEVICE h;
        PFILE_OBJECT fo;
        WDFFILEOBJECT f;
        WCHAR name[8] = u"i12x";

        name[3] = (WCHAR)(u'a' + i);
        wt_reset();
        wt_cfg[0].file_config = true;
        wt_cfg[0].file_class = classes[i];
        wt_cfg[0].create_mode = WT_CREATE_FORWARD;
        h = make_stack(true, name, NULL);
        assert_int_equal(wt_open(&WT_GUID, NULL, &fo), STATUS_SUCCESS);
        f = wt_st[0].last_file;
        assert_non_null(f);
        assert_ptr_equal(WdfDeviceGetFileObject(wt_st[0].device, fo), f);
        assert_ptr_equal(WdfFileObjectWdmGetFileObject(f), fo);
        assert_ptr_equal(fo->FsContext, i == 0 ? (PVOID)f : NULL);
        assert_ptr_equal(fo->FsContext2, i == 1 ? (PVOID)f : NULL);
        wt_close(fo);
        /* Reset to NULL before the close is forwarded below. */
        assert_null(wtw_st[0].close_fscontext);
        assert_null(wtw_st[0].close_fscontext2);
        wt_device_close(h);
        wt_teardown();
    }
}

/* Sends IRP_MJ_CREATE without a FILE_OBJECT straight to the device. */
static NTSTATUS create_without_file_object(PDEVICE_OBJECT top)
{
    IO_STATUS_BLOCK iosb;
    KEVENT done;
    PIRP irp;
    NTSTATUS status;

    KeInitializeEvent(&done, NotificationEvent, FALSE);
    irp = IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, top, NULL, 0, NULL, &done, &iosb);
    assert_non_null(irp);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_CREATE;
    status = IoCallDriver(top, irp);
    if (status == STATUS_PENDING)
        KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
    return iosb.Status;
}

/* I13 */
static void create_without_file_object_needs_exclusive_device_and_class_4(void **state)
{
    static const struct {
        bool exclusive;
        ULONG cls;
        NTSTATUS expected;
    } cases[3] = {
        { false, WdfFileObjectWdfCannotUseFsContexts, STATUS_DEVICE_CONFIGURATION_ERROR },
        { true, WdfFileObjectWdfCanUseFsContext, STATUS_DEVICE_CONFIGURATION_ERROR },
        { true, WdfFileObjectWdfCannotUseFsContexts, STATUS_SUCCESS },
    };

    for (int i = 0; i < 3; i++) {
        HSWDEVICE h;
        WCHAR name[8] = u"i13x";

        name[3] = (WCHAR)(u'a' + i);
        wt_reset();
        wt_cfg[0].file_config = true;
        wt_cfg[0].autoforward = WdfFalse;
        wt_cfg[0].exclusive = cases[i].exclusive;
        wt_cfg[0].file_class = cases[i].cls;
        h = make_stack(false, name, NULL);
        assert_int_equal(create_without_file_object(WdfDeviceWdmGetDeviceObject(wt_st[0].device)), cases[i].expected);
        wt_device_close(h);
        wt_teardown();
    }
}

/* I14 */
static void exclusive_device_refuses_a_second_concurrent_open(void **state)
{
    HSWDEVICE h;
    PFILE_OBJECT a, b;

    wt_reset();
    wt_cfg[0].file_config = true;
    wt_cfg[0].exclusive = true;
    h = make_stack(false, u"i14", NULL);
    assert_int_equal(wt_open(&WT_GUID, NULL, &a), STATUS_SUCCESS);
    assert_int_equal(wt_open(&WT_GUID, NULL, &b), STATUS_ACCESS_DENIED);
    wt_close(a);
    assert_int_equal(wt_open(&WT_GUID, NULL, &b), STATUS_SUCCESS);
    wt_close(b);
    wt_device_close(h);
    wt_teardown();
}

/* I15 */
static void create_queue_takes_precedence_over_create_callback(void **state)
{
    HSWDEVICE h;

    wt_reset();
    wt_cfg[0].file_config = true;
    wt_cfg[0].create_mode = WT_CREATE_SUCCEED;
    wt_cfg[0].create_queue = true;
    wt_cfg[0].autoforward = WdfFalse;
    h = make_stack(false, u"i15", NULL);
    open_close_once();
    assert_true(pk_log_find("wdf:create-queue:file", 0) >= 0);
    assert_int_equal(pk_log_find("wdf:create:file", 0), -1);
    wt_device_close(h);
    wt_teardown();
}

/* I16 */
static void file_name_is_the_reference_string_or_empty(void **state)
{
    HSWDEVICE h;
    PFILE_OBJECT fo;

    wt_reset();
    wt_cfg[0].file_config = true;
    wt_cfg[0].create_mode = WT_CREATE_SUCCEED;
    wt_cfg[0].autoforward = WdfFalse;
    wt_cfg[0].iface_ref = u"ref";
    h = make_stack(false, u"i16a", NULL);
    assert_int_equal(wt_open(&WT_GUID, NULL, &fo), STATUS_SUCCESS);
    assert_string_equal(wt_st[0].last_file_name, "\\ref");
    wt_close(fo);
    assert_int_equal(wt_open(&WT_GUID, u"\\more", &fo), STATUS_SUCCESS);
    assert_string_equal(wt_st[0].last_file_name, "\\ref\\more");
    wt_close(fo);
    wt_device_close(h);
    wt_teardown();

    wt_reset();
    wt_cfg[0].file_config = true;
    wt_cfg[0].create_mode = WT_CREATE_SUCCEED;
    wt_cfg[0].autoforward = WdfFalse;
    h = make_stack(false, u"i16b", NULL);
    assert_int_equal(wt_open(&WT_GUID, NULL, &fo), STATUS_SUCCESS);
    assert_string_equal(wt_st[0].last_file_name, "");
    wt_close(fo);
    wt_device_close(h);
    wt_teardown();
}

/* I17 */
/* A driver whose file-object config has the wrong Size (I17). */
static volatile LONG i17_creates;
static VOID i17_create(WDFDEVICE d, WDFREQUEST r, WDFFILEOBJECT f)
{
    InterlockedIncrement(&i17_creates);
    WdfRequestComplete(r, STATUS_UNSUCCESSFUL);
}

static NTSTATUS i17_add(WDFDRIVER driver, PWDFDEVICE_INIT init)
{
    WDF_FILEOBJECT_CONFIG fc;
    WDFDEVICE device;
    NTSTATUS status;

    WDF_FILEOBJECT_CONFIG_INIT(&fc, i17_create, NULL, NULL);
    fc.Size = sizeof(fc) - 4;
    WdfDeviceInitSetFileObjectConfig(init, &fc, WDF_NO_OBJECT_ATTRIBUTES);
    status = WdfDeviceCreate(&init, WDF_NO_OBJECT_ATTRIBUTES, &device);
    if (NT_SUCCESS(status))
        status = WdfDeviceCreateDeviceInterface(device, &WT_GUID2, NULL);
    return status;
}

static NTSTATUS i17_entry_fn(PDRIVER_OBJECT d, PUNICODE_STRING path)
{
    WDF_DRIVER_CONFIG config;
    WDF_DRIVER_CONFIG_INIT(&config, i17_add);
    return WdfDriverCreate(d, path, NULL, &config, NULL);
}

static void i17_in_child(void *ctx)
{
    HSWDEVICE h;
    PnpkitDriverRegister(u"i17c", i17_entry_fn, u"WT\\I17\0");
    SW_DEVICE_CREATE_INFO info;
    wt_create_wait w;
    memset(&info, 0, sizeof(info));
    info.cbSize = sizeof(info);
    info.pszInstanceId = u"i17c";
    info.pszzHardwareIds = u"WT\\I17\0";
    KeInitializeEvent(&w.done, NotificationEvent, FALSE);
    SwDeviceCreate(u"WT", u"HTREE\\ROOT\\0", &info, 0, NULL, wt_created, &w, &h);
    KeWaitForSingleObject(&w.done, Executive, KernelMode, FALSE, NULL);
}

static void wrong_size_file_object_config_is_a_verifier_stop_and_is_ignored(void **state)
{
    char out[2048];
    HSWDEVICE h;
    SW_DEVICE_CREATE_INFO info;
    wt_create_wait w;
    PFILE_OBJECT fo;

    /* With the verifier on and no handler: the process stops, naming the structure. */
    int st = pk_test_run_in_child(i17_in_child, NULL, out, sizeof(out));
    assert_true(pk_test_died_of_abort(st));
    assert_non_null(strstr(out, "WDF_FILEOBJECT_CONFIG"));

    /* When the stop returns: the configuration is ignored (class NotRequired, no callback). */
    pk_test_capture_verifier();
    assert_int_equal(PnpkitDriverRegister(u"i17", i17_entry_fn, u"WT\\I17\0"), STATUS_SUCCESS);
    memset(&info, 0, sizeof(info));
    info.cbSize = sizeof(info);
    info.pszInstanceId = u"i17";
    info.pszzHardwareIds = u"WT\\I17\0";
    KeInitializeEvent(&w.done, NotificationEvent, FALSE);
    assert_int_equal(SwDeviceCreate(u"WT", u"HTREE\\ROOT\\0", &info, 0, NULL, wt_created, &w, &h), S_OK);
    pk_test_wait_event(&w.done);
    PnpkitSimWaitIdle();
    assert_true(pk_test_verifier_stops() >= 1);
    assert_int_equal(wt_open(&WT_GUID2, NULL, &fo), STATUS_SUCCESS);
    assert_int_equal(i17_creates, 0);
    wt_close(fo);
    SwDeviceClose(h);
    PnpkitSimWaitIdle();
    assert_int_equal(PnpkitDriverUnregister(u"i17"), STATUS_SUCCESS);
}

/* I18 */
typedef struct closer {
    PFILE_OBJECT fo;
} closer;

static void *close_in_thread(void *arg)
{
    wt_close(((closer *)arg)->fo);
    return NULL;
}

static void open_count_drops_only_after_the_close_went_down(void **state)
{
    HSWDEVICE h;
    PFILE_OBJECT a, b;
    KEVENT gate;
    pthread_t t;
    closer c;

    wt_reset();
    wt_cfg[0].file_config = true;
    wt_cfg[0].exclusive = true;
    h = make_stack(true, u"i18", NULL); /* a filter: the close is forwarded */
    assert_int_equal(wt_open(&WT_GUID, NULL, &a), STATUS_SUCCESS);
    KeInitializeEvent(&gate, NotificationEvent, FALSE);
    wtw_st[0].close_gate = &gate;
    c.fo = a;
    assert_int_equal(pthread_create(&t, NULL, close_in_thread, &c), 0);
    while (pk_log_find("lower:irp-close-blocked", 0) < 0)
        usleep(1000);
    /* The close is in the lower device: the open count still counts it. */
    assert_int_equal(wt_open(&WT_GUID, NULL, &b), STATUS_ACCESS_DENIED);
    KeSetEvent(&gate, IO_NO_INCREMENT, FALSE);
    pthread_join(t, NULL);
    wtw_st[0].close_gate = NULL;
    assert_int_equal(wt_open(&WT_GUID, NULL, &b), STATUS_SUCCESS);
    wt_close(b);
    wt_device_close(h);
    wt_teardown();
}

/* I19 */
static void file_object_scope_queue_fails_device_create(void **state)
{
    HSWDEVICE h;

    wt_reset();
    wt_cfg[0].file_config = true;
    wt_cfg[0].file_attributes = true;
    wt_cfg[0].file_scope = WdfSynchronizationScopeQueue;
    h = make_stack(false, u"i19a", NULL);
    assert_true(pk_log_find("wdf:device-create-failed:STATUS_INVALID_DEVICE_REQUEST", 0) >= 0);
    wt_device_close(h);
    wt_teardown();

    /* Scope Device with a device whose execution level is not Passive: the same. */
    wt_reset();
    wt_cfg[0].file_config = true;
    wt_cfg[0].file_attributes = true;
    wt_cfg[0].file_scope = WdfSynchronizationScopeDevice;
    h = make_stack(false, u"i19b", NULL);
    assert_true(pk_log_find("wdf:device-create-failed:STATUS_INVALID_DEVICE_REQUEST", 0) >= 0);
    wt_device_close(h);
    wt_teardown();
}

/* io.md 1.2 step 4 */
static void create_at_dispatch_level_fails_for_passive_file_objects(void **state)
{
    HSWDEVICE h;
    PDEVICE_OBJECT top;
    IO_STATUS_BLOCK iosb;
    KEVENT done;
    PIRP irp;
    KIRQL old;

    wt_reset();
    wt_cfg[0].file_config = true;
    wt_cfg[0].autoforward = WdfFalse;
    wt_cfg[0].exclusive = true; /* class 4, exclusive: a create without FILE_OBJECT is accepted */
    wt_cfg[0].create_mode = WT_CREATE_SUCCEED;
    wt_cfg[0].file_attributes = true;
    wt_cfg[0].file_level = WdfExecutionLevelPassive;
    h = make_stack(false, u"dispcreate", NULL);
    top = WdfDeviceWdmGetDeviceObject(wt_st[0].device);
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    irp = IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, top, NULL, 0, NULL, &done, &iosb);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_CREATE;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    IoCallDriver(top, irp);
    KeLowerIrql(old);
    assert_int_equal(iosb.Status, STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(wt_st[0].creates, 0);
    /* At PASSIVE_LEVEL the same create succeeds. */
    assert_int_equal(create_without_file_object(top), STATUS_SUCCESS);
    assert_int_equal(wt_st[0].creates, 1);
    wt_device_close(h);
    wt_teardown();
}

/* io.md 1.2, cleanup step 2 */
static void cleanup_leaves_requests_the_driver_holds_to_the_driver(void **state)
{
    HSWDEVICE h;
    PFILE_OBJECT fo;
    wt_io held, waiting;

    wt_reset();
    wt_cfg[0].file_config = true;
    wt_cfg[0].autoforward = WdfFalse;
    wt_cfg[0].io_mode = WT_IO_COMPLETE;
    wt_cfg[0].dispatch = WdfIoQueueDispatchSequential;
    h = make_stack(false, u"cleanupheld", NULL);
    assert_int_equal(wt_open(&WT_GUID, NULL, &fo), STATUS_SUCCESS);
    wt_io_start(&held, fo, WT_IOCTL_HOLD, 0, 0);
    wt_io_start(&waiting, fo, WT_IOCTL_ECHO, 4, 4);
    assert_int_equal(wt_st[0].nheld, 1);
    wt_close(fo);
    assert_int_equal(wt_io_wait(&waiting), STATUS_CANCELLED);
    assert_false(wt_io_completed(&held));
    wt_complete_held(0, STATUS_SUCCESS);
    assert_int_equal(wt_io_wait(&held), STATUS_SUCCESS);
    wt_device_close(h);
    wt_teardown();
}

/* The AutoForwardCleanupClose matrix of seed 003: filter / function driver x WdfTrue / WdfFalse /
 * WdfUseDefault x with / without a create callback x with / without a create queue. A driver that
 * follows the seed's rule (it forwards creates exactly when auto-forward is in effect) keeps the
 * local target's creates, cleanups and closes equal: one each with auto-forward, none without. */
static void autoforward_matrix_follows_the_seed_rules(void **state)
{
    static const WDF_TRI_STATE values[3] = { WdfTrue, WdfFalse, WdfUseDefault };
    int n = 0;

    for (int filter = 0; filter < 2; filter++)
        for (int v = 0; v < 3; v++)
            for (int callback = 0; callback < 2; callback++)
                for (int queue = 0; queue < 2; queue++) {
                    HSWDEVICE h;
                    WCHAR name[16];
                    bool forward = values[v] == WdfTrue || (values[v] == WdfUseDefault && filter);
                    LONG expected = forward ? 1 : 0;

                    name[0] = u'm';
                    name[1] = (WCHAR)(u'0' + n / 10);
                    name[2] = (WCHAR)(u'0' + n % 10);
                    name[3] = 0;
                    n++;
                    wt_reset();
                    wt_cfg[0].file_config = true;
                    wt_cfg[0].autoforward = values[v];
                    wt_cfg[0].cleanup_cb = wt_cfg[0].close_cb = true;
                    wt_cfg[0].create_mode = callback || queue ? (forward ? WT_CREATE_FORWARD : WT_CREATE_SUCCEED)
                                                              : WT_CREATE_NONE;
                    wt_cfg[0].create_queue = queue;
                    wt_cfg[0].no_create_callback = !callback;
                    h = make_stack(filter, name, NULL);
                    open_close_once();
                    if (wtw_st[0].creates != expected || wtw_st[0].cleanups != expected || wtw_st[0].closes != expected)
                        fprintf(stderr, "matrix case filter=%d autoforward=%d callback=%d queue=%d\n", filter,
                                (int)values[v], callback, queue);
                    expect_lower(expected, expected, expected);
                    assert_int_equal(wt_st[0].cleanups, 1);
                    assert_int_equal(wt_st[0].closes, 1);
                    if (queue)
                        assert_int_equal(pk_log_find("wdf:create:file", 0), -1);
                    assert_int_equal(pk_test_verifier_stops(), 0);
                    wt_device_close(h);
                    wt_teardown();
                }
}

PK_TEST_MAIN(PK_TEST(config_init_sets_size_use_default_and_cannot_use_fs_contexts),
             PK_TEST(function_driver_without_create_handler_completes_open_and_sends_nothing_down),
             PK_TEST(filter_with_use_default_forwards_create_cleanup_close_once_each),
             PK_TEST(forwarded_create_failure_destroys_file_object_without_cleanup_close_and_restores_count),
             PK_TEST(autoforward_false_completes_cleanup_close_after_callbacks_and_sends_nothing_down),
             PK_TEST(forwarding_create_callback_balances_n_opens),
             PK_TEST(create_callback_not_forwarding_with_autoforward_breaks_balance_rule),
             PK_TEST(failed_create_callback_runs_object_callbacks_not_file_callbacks),
             PK_TEST(cleanup_runs_before_close_and_cancels_queued_requests_of_the_handle_in_between),
             PK_TEST(cleanup_cancels_no_request_of_another_handle),
             PK_TEST(not_required_class_gives_callbacks_and_requests_no_file_object),
             PK_TEST(fs_context_classes_store_the_handle_where_configured),
             PK_TEST(create_without_file_object_needs_exclusive_device_and_class_4),
             PK_TEST(exclusive_device_refuses_a_second_concurrent_open),
             PK_TEST(create_queue_takes_precedence_over_create_callback),
             PK_TEST(file_name_is_the_reference_string_or_empty),
             PK_TEST(wrong_size_file_object_config_is_a_verifier_stop_and_is_ignored),
             PK_TEST(open_count_drops_only_after_the_close_went_down),
             PK_TEST(file_object_scope_queue_fails_device_create),
             PK_TEST(create_at_dispatch_level_fails_for_passive_file_objects),
             PK_TEST(cleanup_leaves_requests_the_driver_holds_to_the_driver),
             PK_TEST(autoforward_matrix_follows_the_seed_rules))
