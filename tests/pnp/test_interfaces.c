/* Device interfaces: links, registration, enable/disable, lists, and interface notifications. */
#include "pk_testdrv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static NTSTATUS dummy_entry(PDRIVER_OBJECT d, PUNICODE_STRING p) { return STATUS_SUCCESS; }
static PDRIVER_OBJECT registrant;

static void setup_registrant(void)
{
    assert_int_equal(PnpkitIoCreateDriver(u"registrant", dummy_entry, &registrant), STATUS_SUCCESS);
}

static void teardown_all(HSWDEVICE h)
{
    if (h)
        pk_testdrv_close_device(h);
    PnpkitSimWaitIdle();
    PnpkitDriverUnregister(u"pktest");
    if (registrant)
        PnpkitIoDeleteDriver(registrant);
    registrant = NULL;
}

/* A kernel registrant that logs what it receives. */
typedef struct {
    const char *name;
    PVOID entry;
    volatile LONG calls;
    PVOID entry_at_first_call;
    bool unregister_self;
    bool started_at_arrival;
} probe;

static NTSTATUS on_interface(PVOID notification, PVOID context)
{
    PDEVICE_INTERFACE_CHANGE_NOTIFICATION n = notification;
    probe *p = context;
    char *link = PnpkitUnicodeStringToUtf8(n->SymbolicLinkName);
    bool arrival = IsEqualGUID(&n->Event, &GUID_DEVICE_INTERFACE_ARRIVAL);

    assert_int_equal(n->Version, 1);
    assert_int_equal(n->Size, sizeof(DEVICE_INTERFACE_CHANGE_NOTIFICATION));
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    if (InterlockedIncrement(&p->calls) == 1)
        p->entry_at_first_call = p->entry;
    pk_log("%s:%s:%s", p->name, arrival ? "arrival" : "removal", link);
    free(link);
    if (p->unregister_self) {
        p->unregister_self = false;
        assert_int_equal(IoUnregisterPlugPlayNotificationEx(p->entry), STATUS_SUCCESS);
    }
    return STATUS_SUCCESS;
}

static void watch(probe *p, const GUID *g, bool existing)
{
    assert_int_equal(IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange,
                                                    existing ? PNPNOTIFY_DEVICE_INTERFACE_INCLUDE_EXISTING_INTERFACES : 0,
                                                    (PVOID)g, registrant, on_interface, p, &p->entry),
                     STATUS_SUCCESS);
}

static char *utf8(PCUNICODE_STRING s)
{
    static char buf[4][512];
    static int next;
    char *u = PnpkitUnicodeStringToUtf8(s);
    char *out = buf[next++ % 4];
    snprintf(out, 512, "%s", u);
    free(u);
    return out;
}

static ULONG list_count(const GUID *g, ULONG flags)
{
    PZZWSTR list;
    ULONG n = 0;
    assert_int_equal(IoGetDeviceInterfaces(g, NULL, flags, &list), STATUS_SUCCESS);
    for (PCWSTR p = list; *p; p += PnpkitWcsLen(p) + 1)
        n++;
    ExFreePool(list);
    return n;
}

/* P14 */
static void a_link_is_the_instance_id_with_hashes_then_the_lowercase_guid_then_the_reference_string(void **state)
{
    HSWDEVICE h;
    pk_testdrv_register();
    h = pk_testdrv_create_device(u"Dev1", NULL);
    assert_string_equal(utf8(&pk_testdrv_last_link), "\\??\\SWD#PK#Dev1#{1c8a7d3e-55aa-4e21-9b3c-102233445566}");
    pk_testdrv_close_device(h);
    pk_testdrv.ref_string = u"ref";
    h = pk_testdrv_create_device(u"Dev2", NULL);
    assert_string_equal(utf8(&pk_testdrv_last_link), "\\??\\SWD#PK#Dev2#{1c8a7d3e-55aa-4e21-9b3c-102233445566}\\ref");
    teardown_all(h);
}

/* P15 */
static void registering_the_same_triple_again_returns_the_same_link_with_object_name_exists(void **state)
{
    UNICODE_STRING again;
    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", NULL);
    assert_int_equal(IoRegisterDeviceInterface(pk_testdrv_last_pdo, &PK_TEST_GUID, NULL, &again),
                     STATUS_OBJECT_NAME_EXISTS);
    assert_true(RtlEqualUnicodeString(&again, &pk_testdrv_last_link, FALSE));
    RtlFreeUnicodeString(&again);
    teardown_all(h);
}

/* P16 */
static void a_reference_string_with_a_slash_or_backslash_is_refused(void **state)
{
    UNICODE_STRING ref, link = { 0, 0, NULL };
    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", NULL);
    RtlInitUnicodeString(&ref, u"a\\b");
    assert_int_equal(IoRegisterDeviceInterface(pk_testdrv_last_pdo, &PK_OTHER_GUID, &ref, &link),
                     STATUS_INVALID_DEVICE_REQUEST);
    RtlInitUnicodeString(&ref, u"a/b");
    assert_int_equal(IoRegisterDeviceInterface(pk_testdrv_last_pdo, &PK_OTHER_GUID, &ref, &link),
                     STATUS_INVALID_DEVICE_REQUEST);
    assert_null(link.Buffer);
    assert_int_equal(list_count(&PK_OTHER_GUID, DEVICE_INTERFACE_INCLUDE_NONACTIVE), 0);
    /* Not a PDO in the tree. */
    assert_int_equal(IoRegisterDeviceInterface((PDEVICE_OBJECT)&ref, &PK_OTHER_GUID, NULL, &link),
                     STATUS_INVALID_DEVICE_REQUEST);
    teardown_all(h);
}

/* P17, P20 */
static void a_new_instance_is_disabled_and_listed_only_with_the_nonactive_flags(void **state)
{
    UNICODE_STRING link;
    ULONG len = 0;
    WCHAR one[1];
    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", NULL);
    assert_int_equal(list_count(&PK_OTHER_GUID, 0), 0);
    assert_int_equal(CM_Get_Device_Interface_List_SizeW(&len, (LPGUID)&PK_OTHER_GUID, NULL, 0), CR_SUCCESS);
    assert_int_equal(len, 1); /* P20: an empty list has size 1 */
    assert_int_equal(CM_Get_Device_Interface_ListW((LPGUID)&PK_OTHER_GUID, NULL, one, 1, 0), CR_SUCCESS);
    assert_int_equal(one[0], 0);
    assert_int_equal(IoRegisterDeviceInterface(pk_testdrv_last_pdo, &PK_OTHER_GUID, NULL, &link), STATUS_SUCCESS);
    assert_int_equal(list_count(&PK_OTHER_GUID, 0), 0);
    assert_int_equal(list_count(&PK_OTHER_GUID, DEVICE_INTERFACE_INCLUDE_NONACTIVE), 1);
    assert_int_equal(CM_Get_Device_Interface_List_SizeW(&len, (LPGUID)&PK_OTHER_GUID, NULL,
                                                       CM_GET_DEVICE_INTERFACE_LIST_ALL_DEVICES),
                     CR_SUCCESS);
    assert_int_equal(len, link.Length / 2 + 2);
    RtlFreeUnicodeString(&link);
    teardown_all(h);
}

/* P18, P19, P35, P36 */
static void enable_and_disable_announce_once_each_to_every_registrant_of_the_class(void **state)
{
    probe a = { .name = "a" }, b = { .name = "b" }, other = { .name = "other" };
    UNICODE_STRING link;
    char expect_arrival[300], expect_removal[300];

    setup_registrant();
    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", NULL);
    assert_int_equal(IoRegisterDeviceInterface(pk_testdrv_last_pdo, &PK_OTHER_GUID, NULL, &link), STATUS_SUCCESS);
    watch(&a, &PK_OTHER_GUID, false);
    watch(&b, &PK_OTHER_GUID, false);
    watch(&other, &PK_CUSTOM_EVENT_GUID, false);
    pk_log_clear();
    assert_int_equal(IoSetDeviceInterfaceState(&link, TRUE), STATUS_SUCCESS);
    assert_int_equal(IoSetDeviceInterfaceState(&link, TRUE), STATUS_OBJECT_NAME_EXISTS);
    assert_int_equal(list_count(&PK_OTHER_GUID, 0), 1);
    assert_int_equal(IoSetDeviceInterfaceState(&link, FALSE), STATUS_SUCCESS);
    assert_int_equal(IoSetDeviceInterfaceState(&link, FALSE), STATUS_OBJECT_NAME_NOT_FOUND);
    PnpkitSimWaitIdle();
    snprintf(expect_arrival, sizeof(expect_arrival), "a:arrival:%s", utf8(&link));
    snprintf(expect_removal, sizeof(expect_removal), "a:removal:%s", utf8(&link));
    char b_arrival[300], b_removal[300];
    snprintf(b_arrival, sizeof(b_arrival), "b:arrival:%s", utf8(&link));
    snprintf(b_removal, sizeof(b_removal), "b:removal:%s", utf8(&link));
    const char *expected[] = { expect_arrival, b_arrival, expect_removal, b_removal, NULL };
    pk_log_expect(expected);
    assert_int_equal(other.calls, 0);
    RtlFreeUnicodeString(&link);
    IoUnregisterPlugPlayNotificationEx(a.entry);
    IoUnregisterPlugPlayNotificationEx(b.entry);
    IoUnregisterPlugPlayNotificationEx(other.entry);
    teardown_all(h);
}

/* P19: the statuses for unknown and malformed links */
static void set_state_on_an_unknown_or_malformed_link_changes_nothing(void **state)
{
    UNICODE_STRING bad, odd;
    RtlInitUnicodeString(&bad, u"\\??\\SWD#PK#none#{1c8a7d3e-55aa-4e21-9b3c-102233445566}");
    assert_int_equal(IoSetDeviceInterfaceState(&bad, TRUE), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(IoSetDeviceInterfaceState(NULL, TRUE), STATUS_INVALID_PARAMETER);
    RtlInitUnicodeString(&odd, u"no-prefix");
    assert_int_equal(IoSetDeviceInterfaceState(&odd, TRUE), STATUS_INVALID_PARAMETER);
    odd.Length = 3;
    assert_int_equal(IoSetDeviceInterfaceState(&odd, TRUE), STATUS_INVALID_PARAMETER);
}

/* P1, P22-like for WDM: an interface enabled inside IRP_MN_START_DEVICE is neither listed nor
 * announced before the start completed. */
typedef struct {
    probe p;
    bool started_seen;
} start_probe;

static NTSTATUS on_arrival_check_started(PVOID notification, PVOID context)
{
    PDEVICE_INTERFACE_CHANGE_NOTIFICATION n = notification;
    start_probe *sp = context;
    DEVINST dn;
    ULONG st = 0, problem;
    WCHAR id[] = u"SWD\\PK\\d";
    if (IsEqualGUID(&n->Event, &GUID_DEVICE_INTERFACE_ARRIVAL) && CM_Locate_DevNodeW(&dn, id, 0) == CR_SUCCESS &&
        CM_Get_DevNode_Status(&st, &problem, dn, 0) == CR_SUCCESS)
        sp->started_seen = (st & DN_STARTED) != 0;
    InterlockedIncrement(&sp->p.calls);
    return STATUS_SUCCESS;
}

static void an_interface_enabled_during_start_is_invisible_until_the_start_completes(void **state)
{
    start_probe sp = { .p = { .name = "s" } };
    setup_registrant();
    pk_testdrv_register();
    assert_int_equal(IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange, 0, (PVOID)&PK_TEST_GUID,
                                                    registrant, on_arrival_check_started, &sp, &sp.p.entry),
                     STATUS_SUCCESS);
    HSWDEVICE h = pk_testdrv_create_device(u"d", NULL);
    PnpkitSimWaitIdle();
    assert_int_equal(pk_testdrv_listed_during_start, 0);
    assert_int_equal(sp.p.calls, 1);
    assert_true(sp.started_seen);
    assert_int_equal(list_count(&PK_TEST_GUID, 0), 1);
    IoUnregisterPlugPlayNotificationEx(sp.p.entry);
    teardown_all(h);
}

/* P33, P34 */
static void include_existing_reports_each_enabled_instance_once_and_the_entry_is_set_first(void **state)
{
    probe with = { .name = "with" }, without = { .name = "without" };
    HSWDEVICE h[3];
    UNICODE_STRING disabled;

    setup_registrant();
    pk_testdrv_register();
    h[0] = pk_testdrv_create_device(u"d0", NULL);
    h[1] = pk_testdrv_create_device(u"d1", NULL);
    h[2] = pk_testdrv_create_device(u"d2", NULL);
    assert_int_equal(IoRegisterDeviceInterface(pk_testdrv_last_pdo, &PK_TEST_GUID, &(UNICODE_STRING)
                                               RTL_CONSTANT_STRING(u"off"), &disabled),
                     STATUS_SUCCESS);
    PnpkitSimWaitIdle();
    watch(&with, &PK_TEST_GUID, true);
    watch(&without, &PK_TEST_GUID, false);
    PnpkitSimWaitIdle();
    assert_int_equal(with.calls, 3);
    assert_ptr_equal(with.entry_at_first_call, with.entry);
    assert_int_equal(without.calls, 0);
    RtlFreeUnicodeString(&disabled);
    IoUnregisterPlugPlayNotificationEx(with.entry);
    IoUnregisterPlugPlayNotificationEx(without.entry);
    pk_testdrv_close_device(h[0]);
    pk_testdrv_close_device(h[1]);
    teardown_all(h[2]);
}

/* P38 */
static void a_callback_may_unregister_itself_without_deadlock(void **state)
{
    probe p = { .name = "self", .unregister_self = true };
    setup_registrant();
    pk_testdrv_register();
    watch(&p, &PK_TEST_GUID, false);
    HSWDEVICE h = pk_testdrv_create_device(u"d", NULL);
    HSWDEVICE h2 = pk_testdrv_create_device(u"e", NULL);
    PnpkitSimWaitIdle();
    assert_int_equal(p.calls, 1);
    assert_int_equal(IoUnregisterPlugPlayNotificationEx(p.entry), STATUS_INVALID_PARAMETER); /* already gone */
    pk_testdrv_close_device(h2);
    teardown_all(h);
}

/* P32, P43 */
typedef struct {
    volatile LONG arrivals;
    WCHAR link[300];
    KEVENT arrived;
} cm_probe;

static DWORD on_cm(HCMNOTIFICATION h, PVOID ctx, CM_NOTIFY_ACTION action, PCM_NOTIFY_EVENT_DATA data, DWORD size)
{
    cm_probe *p = ctx;
    if (action == CM_NOTIFY_ACTION_DEVICEINTERFACEARRIVAL) {
        memcpy(p->link, data->u.DeviceInterface.SymbolicLink,
               (PnpkitWcsLen(data->u.DeviceInterface.SymbolicLink) + 1) * sizeof(WCHAR));
        InterlockedIncrement(&p->arrivals);
        KeSetEvent(&p->arrived, IO_NO_INCREMENT, FALSE);
    }
    return ERROR_SUCCESS;
}

static void user_registrations_get_user_form_links_and_no_replay(void **state)
{
    CM_NOTIFY_FILTER f = { .cbSize = sizeof(f), .FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE };
    HCMNOTIFICATION reg;
    cm_probe p = { 0 };
    UNICODE_STRING user;

    KeInitializeEvent(&p.arrived, NotificationEvent, FALSE);
    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", NULL);
    f.u.DeviceInterface.ClassGuid = PK_TEST_GUID;
    assert_int_equal(CM_Register_Notification(&f, &p, on_cm, &reg), CR_SUCCESS);
    PnpkitSimWaitIdle();
    PnpkitShutdown(); /* drains the pool: any replayed callback would have run */
    assert_int_equal(p.arrivals, 0);
    HSWDEVICE h2 = pk_testdrv_create_device(u"e", NULL);
    pk_test_wait_event(&p.arrived); /* user notifications are posted, not waited for */
    assert_int_equal(CM_Unregister_Notification(reg), CR_SUCCESS);
    assert_int_equal(p.arrivals, 1);
    RtlInitUnicodeString(&user, p.link);
    assert_string_equal(utf8(&user), "\\\\?\\SWD#PK#e#{1c8a7d3e-55aa-4e21-9b3c-102233445566}");
    assert_int_equal(sizeof(CM_NOTIFY_FILTER), 416);
    pk_testdrv_close_device(h2);
    teardown_all(h);
}

/* P46 */
static void cm_register_notification_checks_its_arguments(void **state)
{
    CM_NOTIFY_FILTER f = { .cbSize = sizeof(f), .FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE };
    HCMNOTIFICATION reg = NULL;
    assert_int_equal(CM_Register_Notification(&f, NULL, on_cm, NULL), CR_FAILURE);
    f.cbSize = 12;
    assert_int_equal(CM_Register_Notification(&f, NULL, on_cm, &reg), CR_INVALID_DATA);
    f.cbSize = sizeof(f);
    assert_int_equal(CM_Register_Notification(&f, NULL, NULL, &reg), CR_INVALID_DATA);
    f.FilterType = (CM_NOTIFY_FILTER_TYPE)9;
    assert_int_equal(CM_Register_Notification(&f, NULL, on_cm, &reg), CR_INVALID_DATA);
    f.FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE;
    f.Flags = CM_NOTIFY_FILTER_FLAG_ALL_INTERFACE_CLASSES;
    f.u.DeviceInterface.ClassGuid = PK_TEST_GUID; /* ALL with a GUID */
    assert_int_equal(CM_Register_Notification(&f, NULL, on_cm, &reg), CR_INVALID_DATA);
    f.FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEHANDLE;
    f.Flags = 0;
    f.u.DeviceHandle.hTarget = (HANDLE)&f;
    assert_int_equal(CM_Register_Notification(&f, NULL, on_cm, &reg), CR_INVALID_DATA);
    assert_null(reg);
    assert_int_equal(CM_Unregister_Notification((HCMNOTIFICATION)&f), CR_INVALID_DATA);
}

/* P21 */
static void a_list_that_grew_since_its_size_was_asked_returns_buffer_small_and_a_retry_succeeds(void **state)
{
    ULONG len = 0;
    WCHAR *buf;
    CONFIGRET cr;
    HSWDEVICE h2 = NULL;
    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", NULL);
    assert_int_equal(CM_Get_Device_Interface_List_SizeW(&len, (LPGUID)&PK_TEST_GUID, NULL, 0), CR_SUCCESS);
    h2 = pk_testdrv_create_device(u"e", NULL); /* the list grows in between */
    int tries = 0;
    for (;;) {
        buf = malloc(len * sizeof(WCHAR));
        cr = CM_Get_Device_Interface_ListW((LPGUID)&PK_TEST_GUID, NULL, buf, len, 0);
        tries++;
        if (cr != CR_BUFFER_SMALL)
            break;
        free(buf);
        assert_int_equal(CM_Get_Device_Interface_List_SizeW(&len, (LPGUID)&PK_TEST_GUID, NULL, 0), CR_SUCCESS);
    }
    assert_int_equal(cr, CR_SUCCESS);
    assert_int_equal(tries, 2);
    ULONG n = 0;
    for (PCWSTR p = buf; *p; p += PnpkitWcsLen(p) + 1)
        n++;
    assert_int_equal(n, 2);
    free(buf);
    pk_testdrv_close_device(h2);
    teardown_all(h);
}

/* CM DEVICEINSTANCE registrations hear enumeration, start and removal of their device. */
typedef struct {
    volatile LONG seen[CM_NOTIFY_ACTION_MAX];
    KEVENT removed;
} instance_probe;

static DWORD on_instance(HCMNOTIFICATION h, PVOID ctx, CM_NOTIFY_ACTION a, PCM_NOTIFY_EVENT_DATA d, DWORD size)
{
    instance_probe *p = ctx;
    assert_int_equal(d->FilterType, CM_NOTIFY_FILTER_TYPE_DEVICEINSTANCE);
    InterlockedIncrement(&p->seen[a]);
    if (a == CM_NOTIFY_ACTION_DEVICEINSTANCEREMOVED)
        KeSetEvent(&p->removed, IO_NO_INCREMENT, FALSE);
    return ERROR_SUCCESS;
}

static void device_instance_registrations_hear_enumeration_start_and_removal(void **state)
{
    CM_NOTIFY_FILTER f = { .cbSize = sizeof(f), .FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEINSTANCE };
    HCMNOTIFICATION reg;
    instance_probe p = { 0 };
    KeInitializeEvent(&p.removed, NotificationEvent, FALSE);
    memcpy(f.u.DeviceInstance.InstanceId, u"SWD\\PK\\d", 9 * sizeof(WCHAR));
    assert_int_equal(CM_Register_Notification(&f, &p, on_instance, &reg), CR_SUCCESS);
    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", NULL);
    HSWDEVICE other = pk_testdrv_create_device(u"other", NULL);
    pk_testdrv_close_device(h);
    pk_test_wait_event(&p.removed);
    assert_int_equal(CM_Unregister_Notification(reg), CR_SUCCESS);
    assert_int_equal(p.seen[CM_NOTIFY_ACTION_DEVICEINSTANCEENUMERATED], 1);
    assert_int_equal(p.seen[CM_NOTIFY_ACTION_DEVICEINSTANCESTARTED], 1);
    assert_int_equal(p.seen[CM_NOTIFY_ACTION_DEVICEINSTANCEREMOVED], 1);
    teardown_all(other);
}

/* P48 */
static void notification_structures_have_the_windows_layout(void **state)
{
    assert_int_equal(offsetof(DEVICE_INTERFACE_CHANGE_NOTIFICATION, InterfaceClassGuid), 20);
    assert_int_equal(offsetof(DEVICE_INTERFACE_CHANGE_NOTIFICATION, SymbolicLinkName), 40);
    assert_int_equal(sizeof(DEVICE_INTERFACE_CHANGE_NOTIFICATION), 48);
    assert_int_equal(offsetof(TARGET_DEVICE_REMOVAL_NOTIFICATION, FileObject), 24);
    assert_int_equal(sizeof(TARGET_DEVICE_REMOVAL_NOTIFICATION), 32);
    assert_int_equal(offsetof(TARGET_DEVICE_CUSTOM_NOTIFICATION, FileObject), 24);
    assert_int_equal(offsetof(TARGET_DEVICE_CUSTOM_NOTIFICATION, NameBufferOffset), 32);
    assert_int_equal(offsetof(TARGET_DEVICE_CUSTOM_NOTIFICATION, CustomDataBuffer), 36);
    assert_int_equal(sizeof(TARGET_DEVICE_CUSTOM_NOTIFICATION), 40);
    assert_int_equal(sizeof(HWPROFILE_CHANGE_NOTIFICATION), 20);
    assert_int_equal(sizeof(CM_NOTIFY_FILTER), 416);
    assert_int_equal(offsetof(CM_NOTIFY_EVENT_DATA, u), 8);
    assert_int_equal(GUID_TARGET_DEVICE_REMOVE_COMPLETE.Data1, 0xcb3a4008);
}

PK_TEST_MAIN(
    PK_TEST(a_link_is_the_instance_id_with_hashes_then_the_lowercase_guid_then_the_reference_string),
    PK_TEST(registering_the_same_triple_again_returns_the_same_link_with_object_name_exists),
    PK_TEST(a_reference_string_with_a_slash_or_backslash_is_refused),
    PK_TEST(a_new_instance_is_disabled_and_listed_only_with_the_nonactive_flags),
    PK_TEST(enable_and_disable_announce_once_each_to_every_registrant_of_the_class),
    PK_TEST(set_state_on_an_unknown_or_malformed_link_changes_nothing),
    PK_TEST(an_interface_enabled_during_start_is_invisible_until_the_start_completes),
    PK_TEST(include_existing_reports_each_enabled_instance_once_and_the_entry_is_set_first),
    PK_TEST(a_callback_may_unregister_itself_without_deadlock),
    PK_TEST(user_registrations_get_user_form_links_and_no_replay),
    PK_TEST(cm_register_notification_checks_its_arguments),
    PK_TEST(notification_structures_have_the_windows_layout),
    PK_TEST(a_list_that_grew_since_its_size_was_asked_returns_buffer_small_and_a_retry_succeeds),
    PK_TEST(device_instance_registrations_hear_enumeration_start_and_removal),
)
