/* Removal flows: orderly removal, vetoes, surprise removal, failed start, disable/enable, and the
 * target-device notifications that go with them, checked event by event. */
#include "pk_testdrv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static NTSTATUS dummy_entry(PDRIVER_OBJECT d, PUNICODE_STRING p) { return STATUS_SUCCESS; }
static PDRIVER_OBJECT registrant;

/* A kernel target-device registrant. */
typedef struct {
    const char *name;
    PVOID entry;
    PFILE_OBJECT expected_file;
    bool veto;
} target_probe;

static NTSTATUS on_target(PVOID notification, PVOID context)
{
    PTARGET_DEVICE_REMOVAL_NOTIFICATION n = notification;
    target_probe *p = context;
    const char *what = IsEqualGUID(&n->Event, &GUID_TARGET_DEVICE_QUERY_REMOVE)       ? "query-remove"
                       : IsEqualGUID(&n->Event, &GUID_TARGET_DEVICE_REMOVE_CANCELLED) ? "remove-cancelled"
                       : IsEqualGUID(&n->Event, &GUID_TARGET_DEVICE_REMOVE_COMPLETE)  ? "remove-complete"
                                                                                       : "custom";
    assert_ptr_equal(n->FileObject, p->expected_file); /* P40 */
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    pk_log("%s:%s", p->name, what);
    if (p->veto && IsEqualGUID(&n->Event, &GUID_TARGET_DEVICE_QUERY_REMOVE))
        return STATUS_UNSUCCESSFUL;
    return STATUS_SUCCESS;
}

static UNICODE_STRING the_link(void) { return pk_testdrv_last_link; }

/* Opens the device's interface, registers probe p on the file object, and (unless keep_open)
 * closes the handle again: the registration outlives it (P41). */
static PFILE_OBJECT register_on_device(target_probe *p, bool keep_open)
{
    PFILE_OBJECT fo;
    UNICODE_STRING link = the_link();
    if (!registrant)
        assert_int_equal(PnpkitIoCreateDriver(u"registrant", dummy_entry, &registrant), STATUS_SUCCESS);
    assert_int_equal(PnpkitOpenDeviceInterface(&link, GENERIC_READ, 0, &fo), STATUS_SUCCESS);
    p->expected_file = fo;
    assert_int_equal(IoRegisterPlugPlayNotification(EventCategoryTargetDeviceChange, 0, fo, registrant, on_target,
                                                    p, &p->entry),
                     STATUS_SUCCESS);
    if (!keep_open)
        PnpkitCloseDeviceInterface(fo);
    return fo;
}

static void finish(HSWDEVICE h, target_probe *probes, int n)
{
    for (int i = 0; i < n; i++)
        if (probes[i].entry)
            IoUnregisterPlugPlayNotificationEx(probes[i].entry);
    if (h)
        pk_testdrv_close_device(h);
    PnpkitSimWaitIdle();
    PnpkitDriverUnregister(u"pktest");
    if (registrant)
        PnpkitIoDeleteDriver(registrant);
    registrant = NULL;
}

static CONFIGRET eject(DEVINST dn, PNP_VETO_TYPE *veto, WCHAR *name, ULONG len)
{
    return CM_Query_And_Remove_SubTreeW(dn, veto, name, len, 0);
}

/* P3 */
static void orderly_removal_notifies_then_queries_then_notifies_completion_then_removes(void **state)
{
    DEVINST dn;
    target_probe k = { .name = "k" };
    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", &dn);
    register_on_device(&k, false);
    PnpkitSimWaitIdle();
    pk_log_clear();
    assert_int_equal(eject(dn, NULL, NULL, 0), CR_SUCCESS);
    const char *expected[] = { "irp:cleanup:d", "irp:close:d", "k:query-remove", "irp:query-remove:d",
                               "k:remove-complete", "irp:remove:d", NULL };
    (void)expected;
    int q = pk_log_find("k:query-remove", 0);
    assert_true(q >= 0);
    assert_int_equal(pk_log_find("irp:query-remove:d", 0), q + 1);
    assert_int_equal(pk_log_find("k:remove-complete", 0), q + 2);
    assert_int_equal(pk_log_find("irp:remove:d", 0), q + 3);
    assert_int_equal(pk_log_find("k:remove-cancelled", 0), -1);
    ULONG st, pr;
    assert_int_equal(CM_Get_DevNode_Status(&st, &pr, dn, 0), CR_INVALID_DEVNODE);
    finish(h, &k, 1);
}

/* P4, P12 (PNP_VetoDriver) */
static void a_kernel_veto_stops_before_any_query_irp_and_everyone_queried_hears_the_cancel(void **state)
{
    DEVINST dn;
    target_probe k[2] = { { .name = "k1" }, { .name = "k2", .veto = true } };
    PNP_VETO_TYPE veto = PNP_VetoTypeUnknown;
    WCHAR name[64];
    ULONG st, pr, len = 0;

    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", &dn);
    register_on_device(&k[0], false);
    register_on_device(&k[1], false);
    PnpkitSimWaitIdle();
    pk_log_clear();
    assert_int_equal(eject(dn, &veto, name, ARRAYSIZE(name)), CR_REMOVE_VETOED);
    assert_int_equal(veto, PNP_VetoDriver);
    const char *expected[] = { "k1:query-remove", "k2:query-remove", "k1:remove-cancelled", "k2:remove-cancelled",
                               NULL };
    pk_log_expect(expected);
    assert_int_equal(CM_Get_DevNode_Status(&st, &pr, dn, 0), CR_SUCCESS);
    assert_true(st & DN_STARTED);
    assert_int_equal(CM_Get_Device_Interface_List_SizeW(&len, (LPGUID)&PK_TEST_GUID, NULL, 0), CR_SUCCESS);
    assert_true(len > 1); /* the interface is still enabled */
    finish(h, k, 2);
}

/* P5, P12 (PNP_VetoDevice) */
static void a_failed_query_irp_is_cancelled_before_registrants_hear_remove_cancelled(void **state)
{
    DEVINST dn;
    target_probe k = { .name = "k" };
    PNP_VETO_TYPE veto = PNP_VetoTypeUnknown;

    pk_testdrv_register();
    pk_testdrv.veto_query_remove = true;
    HSWDEVICE h = pk_testdrv_create_device(u"d", &dn);
    register_on_device(&k, false);
    PnpkitSimWaitIdle();
    pk_log_clear();
    assert_int_equal(eject(dn, &veto, NULL, 0), CR_REMOVE_VETOED);
    assert_int_equal(veto, PNP_VetoDevice);
    const char *expected[] = { "k:query-remove", "irp:query-remove:d", "irp:cancel-remove:d", "k:remove-cancelled",
                               NULL };
    pk_log_expect(expected);
    pk_testdrv.veto_query_remove = false;
    finish(h, &k, 1);
}

/* P6, P12 (PNP_VetoOutstandingOpen) */
static void a_handle_left_open_vetoes_with_outstanding_open(void **state)
{
    DEVINST dn;
    target_probe k = { .name = "k" };
    PNP_VETO_TYPE veto = PNP_VetoTypeUnknown;
    WCHAR name[MAX_DEVICE_ID_LEN];

    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", &dn);
    PFILE_OBJECT fo = register_on_device(&k, true);
    PnpkitSimWaitIdle();
    pk_log_clear();
    assert_int_equal(eject(dn, &veto, name, ARRAYSIZE(name)), CR_REMOVE_VETOED);
    assert_int_equal(veto, PNP_VetoOutstandingOpen);
    assert_memory_equal(name, u"SWD\\PK\\d", 9 * sizeof(WCHAR));
    const char *expected[] = { "k:query-remove", "k:remove-cancelled", NULL };
    pk_log_expect(expected);
    PnpkitCloseDeviceInterface(fo);
    finish(h, &k, 1);
}

/* P9 */
static void a_failed_start_gets_only_the_remove_irp(void **state)
{
    DEVINST dn;
    ULONG st, pr;
    pk_testdrv_register();
    assert_int_equal(PnpkitSimFailNextStart(u"SWD\\PK\\f"), STATUS_SUCCESS);
    HSWDEVICE h = pk_testdrv_create_device(u"f", &dn);
    PnpkitSimWaitIdle();
    const char *expected[] = { "irp:start:f:failed", "irp:remove:f", NULL };
    pk_log_expect(expected);
    assert_int_equal(CM_Get_DevNode_Status(&st, &pr, dn, 0), CR_SUCCESS);
    assert_false(st & DN_STARTED);
    assert_int_equal(pr, CM_PROB_FAILED_START);
    pk_log_clear();
    pk_testdrv_close_device(h);
    assert_int_equal(pk_log_count(), 0); /* nothing more: no surprise removal of a failed device */
    finish(NULL, NULL, 0);
}

/* P11 */
static void disable_keeps_the_node_with_problem_22_and_enable_restarts_it_with_the_same_link(void **state)
{
    DEVINST dn;
    ULONG st, pr;
    WCHAR before[300], after[300];
    ULONG len;

    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", &dn);
    PnpkitSimWaitIdle();
    CM_Get_Device_Interface_List_SizeW(&len, (LPGUID)&PK_TEST_GUID, NULL, 0);
    CM_Get_Device_Interface_ListW((LPGUID)&PK_TEST_GUID, NULL, before, ARRAYSIZE(before), 0);
    pk_log_clear();
    assert_int_equal(CM_Disable_DevNode(dn, 0), CR_SUCCESS);
    assert_int_equal(CM_Get_DevNode_Status(&st, &pr, dn, 0), CR_SUCCESS);
    assert_int_equal(pr, CM_PROB_DISABLED);
    assert_false(st & DN_STARTED);
    CM_Get_Device_Interface_List_SizeW(&len, (LPGUID)&PK_TEST_GUID, NULL, 0);
    assert_int_equal(len, 1);
    assert_int_equal(CM_Enable_DevNode(dn, 0), CR_SUCCESS);
    assert_int_equal(CM_Get_DevNode_Status(&st, &pr, dn, 0), CR_SUCCESS);
    assert_true(st & DN_STARTED);
    assert_int_equal(pr, 0);
    CM_Get_Device_Interface_ListW((LPGUID)&PK_TEST_GUID, NULL, after, ARRAYSIZE(after), 0);
    assert_memory_equal(before, after, (PnpkitWcsLen(before) + 1) * sizeof(WCHAR));
    const char *expected[] = { "irp:query-remove:d", "irp:remove:d", "irp:start:d:ok", NULL };
    pk_log_expect(expected);
    finish(h, NULL, 0);
}

typedef struct {
    KEVENT done;
} created_wait;

static VOID on_created(HSWDEVICE h, HRESULT result, PVOID ctx, PCWSTR id)
{
    KeSetEvent(&((created_wait *)ctx)->done, IO_NO_INCREMENT, FALSE);
}

static HSWDEVICE create_child(PCWSTR parent, PCWSTR name)
{
    SW_DEVICE_CREATE_INFO ci = { .cbSize = sizeof(ci), .pszInstanceId = name, .pszzHardwareIds = u"PK\\TESTDEV\0" };
    HSWDEVICE h;
    created_wait w;
    UNICODE_STRING us;
    RtlInitUnicodeString(&us, name);
    char *u8 = PnpkitUnicodeStringToUtf8(&us);
    pk_testdrv_set_next_name(u8);
    free(u8);
    KeInitializeEvent(&w.done, NotificationEvent, FALSE);
    assert_int_equal(SwDeviceCreate(u"PK", parent, &ci, 0, NULL, on_created, &w, &h), S_OK);
    pk_test_wait_event(&w.done);
    return h;
}

/* P10 */
static void removing_a_node_removes_its_descendants_first(void **state)
{
    DEVINST mom;
    pk_testdrv_register();
    HSWDEVICE hp = pk_testdrv_create_device(u"mom", &mom);
    HSWDEVICE hc = create_child(u"SWD\\PK\\mom", u"kid");
    HSWDEVICE hg = create_child(u"SWD\\PK\\kid", u"grandkid");
    PnpkitSimWaitIdle();
    pk_log_clear();
    assert_int_equal(eject(mom, NULL, NULL, 0), CR_SUCCESS);
    const char *expected[] = { "irp:query-remove:grandkid", "irp:query-remove:kid", "irp:query-remove:mom",
                               "irp:remove:grandkid", "irp:remove:kid", "irp:remove:mom", NULL };
    pk_log_expect(expected);
    SwDeviceClose(hg);
    SwDeviceClose(hc);
    finish(hp, NULL, 0);
}

static void a_veto_by_a_descendant_cancels_the_removal_of_the_whole_subtree(void **state)
{
    DEVINST mom;
    ULONG st, pr;
    PNP_VETO_TYPE veto;
    pk_testdrv_register();
    HSWDEVICE hp = pk_testdrv_create_device(u"mom", &mom);
    pk_testdrv.veto_query_remove = true;
    HSWDEVICE hc = create_child(u"SWD\\PK\\mom", u"kid");
    pk_testdrv.veto_query_remove = false;
    PnpkitSimWaitIdle();
    pk_log_clear();
    assert_int_equal(eject(mom, &veto, NULL, 0), CR_REMOVE_VETOED);
    assert_int_equal(veto, PNP_VetoDevice);
    /* Only the child was queried; it got the cancel; the parent never got a query. */
    const char *expected[] = { "irp:query-remove:kid", "irp:cancel-remove:kid", NULL };
    pk_log_expect(expected);
    assert_int_equal(CM_Get_DevNode_Status(&st, &pr, mom, 0), CR_SUCCESS);
    assert_true(st & DN_STARTED);
    SwDeviceClose(hc);
    finish(hp, NULL, 0);
}

/* P7, P8 */
typedef struct {
    const char *name;
    PVOID entry;
} iface_probe;

static NTSTATUS on_iface(PVOID notification, PVOID context)
{
    PDEVICE_INTERFACE_CHANGE_NOTIFICATION n = notification;
    pk_log("%s:%s", ((iface_probe *)context)->name,
           IsEqualGUID(&n->Event, &GUID_DEVICE_INTERFACE_ARRIVAL) ? "arrival" : "removal");
    return STATUS_SUCCESS;
}

static void surprise_removal_notifies_completion_without_a_query_and_removes_after_the_last_close(void **state)
{
    DEVINST dn;
    target_probe k = { .name = "k" };
    iface_probe ip = { .name = "i" };
    ULONG len;

    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", &dn);
    PFILE_OBJECT fo = register_on_device(&k, true);
    assert_int_equal(IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange, 0, (PVOID)&PK_TEST_GUID,
                                                    registrant, on_iface, &ip, &ip.entry),
                     STATUS_SUCCESS);
    PnpkitSimWaitIdle();
    pk_log_clear();
    assert_int_equal(PnpkitSimSurpriseRemove(dn), STATUS_SUCCESS);
    PnpkitSimWaitIdle();
    const char *expected[] = { "irp:surprise-removal:d", "k:remove-complete", "i:removal", NULL };
    pk_log_expect(expected);
    /* P8: not enabled again, not listed. */
    assert_int_equal(CM_Get_Device_Interface_List_SizeW(&len, (LPGUID)&PK_TEST_GUID, NULL, 0), CR_SUCCESS);
    assert_int_equal(len, 1);
    /* The open handle keeps IRP_MN_REMOVE_DEVICE from being sent (P7). */
    assert_int_equal(pk_log_find("irp:remove:d", 0), -1);
    PnpkitCloseDeviceInterface(fo);
    PnpkitSimWaitIdle();
    assert_true(pk_log_find("irp:remove:d", 0) > pk_log_find("irp:close:d", 0));
    IoUnregisterPlugPlayNotificationEx(ip.entry);
    SwDeviceClose(h);
    finish(NULL, &k, 1);
}

/* P12 (PNP_VetoWindowsApp), P44, P47 */
typedef struct {
    bool veto;
    HANDLE handle_to_close;
    char log_name[8];
} app_probe;

static DWORD on_app(HCMNOTIFICATION h, PVOID ctx, CM_NOTIFY_ACTION action, PCM_NOTIFY_EVENT_DATA data, DWORD size)
{
    app_probe *p = ctx;
    static const char *const names[] = { "arrival", "removal", "query-remove", "query-remove-failed",
                                         "remove-pending", "remove-complete", "custom" };
    pk_log("%s:%s", p->log_name, action < 7 ? names[action] : "?");
    if (action == CM_NOTIFY_ACTION_DEVICEQUERYREMOVE) {
        if (p->veto)
            return ERROR_CANCELLED;
        if (p->handle_to_close) {
            PnpkitCloseDeviceInterface((PFILE_OBJECT)p->handle_to_close);
            p->handle_to_close = NULL;
        }
    }
    return ERROR_SUCCESS;
}

static HCMNOTIFICATION watch_handle(app_probe *p, PFILE_OBJECT fo)
{
    CM_NOTIFY_FILTER f = { .cbSize = sizeof(f), .FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEHANDLE };
    HCMNOTIFICATION reg;
    f.u.DeviceHandle.hTarget = (HANDLE)fo;
    assert_int_equal(CM_Register_Notification(&f, p, on_app, &reg), CR_SUCCESS);
    return reg;
}

static void an_application_veto_returns_windows_app_and_the_vetoer_hears_query_remove_failed(void **state)
{
    DEVINST dn;
    PFILE_OBJECT fo;
    app_probe p = { .veto = true, .log_name = "app" };
    PNP_VETO_TYPE veto;
    UNICODE_STRING link;

    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", &dn);
    link = the_link();
    assert_int_equal(PnpkitOpenDeviceInterface(&link, GENERIC_READ, 0, &fo), STATUS_SUCCESS);
    HCMNOTIFICATION reg = watch_handle(&p, fo);
    pk_log_clear();
    assert_int_equal(eject(dn, &veto, NULL, 0), CR_REMOVE_VETOED);
    assert_int_equal(veto, PNP_VetoWindowsApp);
    PnpkitSimWaitIdle();
    const char *expected[] = { "app:query-remove", "app:query-remove-failed", NULL };
    pk_log_expect(expected);
    assert_int_equal(CM_Unregister_Notification(reg), CR_SUCCESS);
    PnpkitCloseDeviceInterface(fo);
    finish(h, NULL, 0);
}

static void a_device_handle_registration_survives_closing_its_handle_on_query_remove(void **state)
{
    DEVINST dn;
    PFILE_OBJECT fo;
    app_probe p = { .log_name = "app" };
    UNICODE_STRING link;

    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", &dn);
    link = the_link();
    assert_int_equal(PnpkitOpenDeviceInterface(&link, GENERIC_READ, 0, &fo), STATUS_SUCCESS);
    p.handle_to_close = fo;
    HCMNOTIFICATION reg = watch_handle(&p, fo);
    pk_log_clear();
    assert_int_equal(eject(dn, NULL, NULL, 0), CR_SUCCESS);
    PnpkitSimWaitIdle();
    PnpkitShutdown(); /* drains the application callbacks */
    assert_int_equal(pk_log_find("app:query-remove", 0), 0);
    assert_true(pk_log_find("app:remove-pending", 0) > 0);
    assert_true(pk_log_find("app:remove-complete", 0) > pk_log_find("irp:remove:d", 0));
    assert_int_equal(CM_Unregister_Notification(reg), CR_SUCCESS);
    finish(h, NULL, 0);
}

/* P45 */
static KEVENT in_callback;
static DWORD on_slow(HCMNOTIFICATION h, PVOID ctx, CM_NOTIFY_ACTION action, PCM_NOTIFY_EVENT_DATA data, DWORD size)
{
    if (action != CM_NOTIFY_ACTION_DEVICEINTERFACEARRIVAL)
        return ERROR_SUCCESS;
    assert_int_equal(CM_Unregister_Notification(h), CR_FAILURE); /* from its own callback */
    KeSetEvent(&in_callback, IO_NO_INCREMENT, FALSE);
    LARGE_INTEGER t = pk_test_timeout_ms(50);
    KeDelayExecutionThread(KernelMode, FALSE, &t);
    *(volatile LONG *)ctx = 1;
    return ERROR_SUCCESS;
}

static void cm_unregister_waits_for_a_running_callback_and_fails_from_inside_it(void **state)
{
    CM_NOTIFY_FILTER f = { .cbSize = sizeof(f), .FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE };
    HCMNOTIFICATION reg;
    volatile LONG finished = 0;

    KeInitializeEvent(&in_callback, NotificationEvent, FALSE);
    f.u.DeviceInterface.ClassGuid = PK_TEST_GUID;
    assert_int_equal(CM_Register_Notification(&f, (PVOID)&finished, on_slow, &reg), CR_SUCCESS);
    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", NULL);
    pk_test_wait_event(&in_callback);
    assert_int_equal(CM_Unregister_Notification(reg), CR_SUCCESS);
    assert_int_equal(finished, 1);
    finish(h, NULL, 0);
}

/* P41 */
static void closing_the_registered_handle_does_not_end_a_target_registration(void **state)
{
    DEVINST dn;
    target_probe k = { .name = "k" };
    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", &dn);
    register_on_device(&k, false); /* registers, then closes the handle */
    PnpkitSimWaitIdle();
    pk_log_clear();
    assert_int_equal(eject(dn, NULL, NULL, 0), CR_SUCCESS);
    assert_true(pk_log_find("k:query-remove", 0) >= 0);
    assert_true(pk_log_find("k:remove-complete", 0) >= 0);
    finish(h, &k, 1);
}

/* P39 */
static KEVENT legacy_entered, legacy_release;
static NTSTATUS on_legacy(PVOID notification, PVOID context)
{
    KeSetEvent(&legacy_entered, IO_NO_INCREMENT, FALSE);
    pk_test_wait_event(&legacy_release);
    InterlockedIncrement((LONG *)context);
    return STATUS_SUCCESS;
}

static void legacy_unregister_does_not_wait_for_a_running_callback(void **state)
{
    PVOID entry;
    LONG calls = 0;
    assert_int_equal(PnpkitIoCreateDriver(u"registrant", dummy_entry, &registrant), STATUS_SUCCESS);
    KeInitializeEvent(&legacy_entered, NotificationEvent, FALSE);
    KeInitializeEvent(&legacy_release, NotificationEvent, FALSE);
    assert_int_equal(IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange, 0, (PVOID)&PK_TEST_GUID,
                                                    registrant, on_legacy, &calls, &entry),
                     STATUS_SUCCESS);
    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", NULL);
    pk_test_wait_event(&legacy_entered);
    assert_int_equal(IoUnregisterPlugPlayNotification(entry), STATUS_SUCCESS); /* returns while it runs */
    assert_int_equal(calls, 0);
    KeSetEvent(&legacy_release, IO_NO_INCREMENT, FALSE);
    PnpkitSimWaitIdle();
    assert_int_equal(calls, 1);
    SwDeviceClose(h);
    PnpkitSimWaitIdle();
    assert_int_equal(calls, 1); /* no new callback after unregister */
    finish(NULL, NULL, 0);
}

/* pnp.md 1.4: an application that does not answer within the bound counts as no veto. */
static KEVENT hung_release;
static DWORD on_hung(HCMNOTIFICATION h, PVOID ctx, CM_NOTIFY_ACTION action, PCM_NOTIFY_EVENT_DATA d, DWORD size)
{
    if (action == CM_NOTIFY_ACTION_DEVICEQUERYREMOVE) {
        pk_test_wait_event(&hung_release);
        return ERROR_CANCELLED; /* too late: the removal went on */
    }
    return ERROR_SUCCESS;
}

static void an_application_that_does_not_answer_in_time_does_not_veto(void **state)
{
    DEVINST dn;
    PFILE_OBJECT fo;
    CM_NOTIFY_FILTER f = { .cbSize = sizeof(f), .FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEHANDLE };
    HCMNOTIFICATION reg;
    UNICODE_STRING link;

    PnpkitSetNotificationTimeout(100);
    KeInitializeEvent(&hung_release, NotificationEvent, FALSE);
    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", &dn);
    link = the_link();
    assert_int_equal(PnpkitOpenDeviceInterface(&link, GENERIC_READ, 0, &fo), STATUS_SUCCESS);
    f.u.DeviceHandle.hTarget = (HANDLE)fo;
    assert_int_equal(CM_Register_Notification(&f, NULL, on_hung, &reg), CR_SUCCESS);
    PnpkitCloseDeviceInterface(fo);
    uint64_t t0 = pk_test_now_ms();
    assert_int_equal(eject(dn, NULL, NULL, 0), CR_SUCCESS);
    assert_true(pk_test_now_ms() - t0 >= 99);
    KeSetEvent(&hung_release, IO_NO_INCREMENT, FALSE);
    assert_int_equal(CM_Unregister_Notification(reg), CR_SUCCESS);
    PnpkitSetNotificationTimeout(30000);
    finish(h, NULL, 0);
}

/* P42 */
static NTSTATUS noop_cb(PVOID n, PVOID c) { return STATUS_SUCCESS; }

static void a_driver_with_a_registration_is_not_unloaded(void **state)
{
    PVOID entry;
    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", NULL);
    /* The test driver's DRIVER_OBJECT is the FDO's driver: reach it through the stack. */
    PDEVICE_OBJECT top = IoGetAttachedDeviceReference(pk_testdrv_last_pdo);
    PDRIVER_OBJECT testdrv = top->DriverObject;
    ObDereferenceObject(top);
    assert_int_equal(IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange, 0, (PVOID)&PK_OTHER_GUID,
                                                    testdrv, noop_cb, NULL, &entry),
                     STATUS_SUCCESS);
    pk_testdrv_close_device(h); /* no device left */
    assert_int_equal(PnpkitDriverUnregister(u"pktest"), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(IoUnregisterPlugPlayNotificationEx(entry), STATUS_SUCCESS);
    assert_int_equal(PnpkitDriverUnregister(u"pktest"), STATUS_SUCCESS);
}

PK_TEST_MAIN(
    PK_TEST(orderly_removal_notifies_then_queries_then_notifies_completion_then_removes),
    PK_TEST(a_kernel_veto_stops_before_any_query_irp_and_everyone_queried_hears_the_cancel),
    PK_TEST(a_failed_query_irp_is_cancelled_before_registrants_hear_remove_cancelled),
    PK_TEST(a_handle_left_open_vetoes_with_outstanding_open),
    PK_TEST(a_failed_start_gets_only_the_remove_irp),
    PK_TEST(disable_keeps_the_node_with_problem_22_and_enable_restarts_it_with_the_same_link),
    PK_TEST(removing_a_node_removes_its_descendants_first),
    PK_TEST(a_veto_by_a_descendant_cancels_the_removal_of_the_whole_subtree),
    PK_TEST(surprise_removal_notifies_completion_without_a_query_and_removes_after_the_last_close),
    PK_TEST(an_application_veto_returns_windows_app_and_the_vetoer_hears_query_remove_failed),
    PK_TEST(a_device_handle_registration_survives_closing_its_handle_on_query_remove),
    PK_TEST(cm_unregister_waits_for_a_running_callback_and_fails_from_inside_it),
    PK_TEST(closing_the_registered_handle_does_not_end_a_target_registration),
    PK_TEST(legacy_unregister_does_not_wait_for_a_running_callback),
    PK_TEST(a_driver_with_a_registration_is_not_unloaded),
    PK_TEST(an_application_that_does_not_answer_in_time_does_not_veto),
)
