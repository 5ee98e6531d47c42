/* WDF device interfaces (pnp.md 1.3 "WDF", P22-P27) and device events posted by a driver
 * (WdfDevicePostEvent, pnp.md 1.5, P57). */
#include "wdf_testdrv.h"

static PDRIVER_OBJECT registrant;
static PVOID iface_entry, target_entry;

static NTSTATUS dummy_entry(PDRIVER_OBJECT d, PUNICODE_STRING p) { return STATUS_SUCCESS; }

static NTSTATUS on_interface(PVOID notification, PVOID context)
{
    PDEVICE_INTERFACE_CHANGE_NOTIFICATION n = notification;
    pk_log(IsEqualGUID(&n->Event, &GUID_DEVICE_INTERFACE_ARRIVAL) ? "arrival" : "removal");
    return STATUS_SUCCESS;
}

static void watch_interfaces(const GUID *g)
{
    assert_int_equal(PnpkitIoCreateDriver(u"registrant", dummy_entry, &registrant), STATUS_SUCCESS);
    assert_int_equal(IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange, 0, (PVOID)g, registrant,
                                                    on_interface, NULL, &iface_entry),
                     STATUS_SUCCESS);
}

static void unwatch(void)
{
    if (iface_entry)
        IoUnregisterPlugPlayNotificationEx(iface_entry);
    if (target_entry)
        IoUnregisterPlugPlayNotificationEx(target_entry);
    iface_entry = target_entry = NULL;
    if (registrant)
        PnpkitIoDeleteDriver(registrant);
    registrant = NULL;
}

/* P22 */
static volatile int listed_at_prepare = -1, listed_at_d0entry = -1, listed_at_smio_init = -1;

static void count_during_start(WDFDEVICE d, const char *event)
{
    if (strcmp(event, "wt_prepare") == 0)
        listed_at_prepare = wt_count_links(&WT_GUID);
    else if (strcmp(event, "wt_d0entry") == 0)
        listed_at_d0entry = wt_count_links(&WT_GUID);
    else if (strcmp(event, "wt_smio_init") == 0)
        listed_at_smio_init = wt_count_links(&WT_GUID);
}

static void interface_created_in_device_add_is_enabled_only_after_prepare_and_d0_entry(void **state)
{
    HSWDEVICE h;

    wt_reset();
    watch_interfaces(&WT_GUID);
    wt_cfg[0].iface = &WT_GUID;
    wt_cfg[0].on_event = count_during_start;
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(u"p22", NULL);
    assert_int_equal(listed_at_prepare, 0);
    assert_int_equal(listed_at_d0entry, 0);
    assert_int_equal(listed_at_smio_init, 0);
    assert_int_equal(wt_count_links(&WT_GUID), 1);
    assert_true(pk_log_find("arrival", 0) > pk_log_find("wdf0:smio-init", 0));
    wt_device_close(h);
    unwatch();
    wt_teardown();
}

/* P23 */
static void keep_disabled(WDFDEVICE d)
{
    WdfDeviceSetDeviceInterfaceStateEx(d, &WT_GUID, NULL, FALSE);
}

static void state_ex_false_in_device_add_keeps_the_interface_disabled_after_start(void **state)
{
    HSWDEVICE h;

    wt_reset();
    wt_cfg[0].iface = &WT_GUID;
    wt_cfg[0].device_created = keep_disabled;
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(u"p23", NULL);
    assert_int_equal(wt_count_links(&WT_GUID), 0);
    WdfDeviceSetDeviceInterfaceState(wt_st[0].device, &WT_GUID, NULL, TRUE);
    assert_int_equal(wt_count_links(&WT_GUID), 1);
    wt_device_close(h);
    wt_teardown();
}

/* P24 */
static void interface_created_after_start_stays_disabled_until_enabled(void **state)
{
    HSWDEVICE h;

    wt_reset();
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(u"p24", NULL);
    assert_int_equal(WdfDeviceCreateDeviceInterface(wt_st[0].device, &WT_GUID2, NULL), STATUS_SUCCESS);
    assert_int_equal(wt_count_links(&WT_GUID2), 0);
    WdfDeviceSetDeviceInterfaceState(wt_st[0].device, &WT_GUID2, NULL, TRUE);
    assert_int_equal(wt_count_links(&WT_GUID2), 1);
    wt_device_close(h);
    assert_int_equal(wt_count_links(&WT_GUID2), 0);
    wt_teardown();
}

/* P25 */
static void removal_disables_interfaces_after_release_hardware_on_both_paths(void **state)
{
    HSWDEVICE h;
    DEVINST dn;
    PFILE_OBJECT fo;

    wt_reset();
    watch_interfaces(&WT_GUID);
    wt_cfg[0].iface = &WT_GUID;
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(u"p25a", &dn);
    PnpkitSimWaitIdle();
    pk_log_clear();
    assert_int_equal(CM_Query_And_Remove_SubTreeW(dn, NULL, NULL, 0, 0), CR_SUCCESS);
    PnpkitSimWaitIdle();
    assert_true(pk_log_find("wdf0:release", 0) >= 0);
    assert_true(pk_log_find("removal", 0) > pk_log_find("wdf0:release", 0));
    wt_device_close(h);

    /* Surprise removal, with a handle still open: the interface goes at once. */
    h = wt_device_create(u"p25b", &dn);
    assert_int_equal(wt_open(&WT_GUID, NULL, &fo), STATUS_SUCCESS);
    pk_log_clear();
    assert_int_equal(PnpkitSimSurpriseRemove(dn), STATUS_SUCCESS);
    PnpkitSimWaitIdle();
    assert_int_equal(wt_count_links(&WT_GUID), 0);
    assert_true(pk_log_find("removal", 0) > pk_log_find("wdf0:release", 0));
    wt_close(fo);
    wt_device_close(h);
    unwatch();
    wt_teardown();
}

/* P26 */
static void set_state_ignores_unknown_guid_and_non_matching_reference_strings(void **state)
{
    HSWDEVICE h;
    UNICODE_STRING ref, other;
    WDFDEVICE d;

    wt_reset();
    wt_cfg[0].iface = &WT_GUID;
    wt_cfg[0].iface_ref = u"ref";
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(u"p26", NULL);
    d = wt_st[0].device;
    RtlInitUnicodeString(&ref, u"ref");
    RtlInitUnicodeString(&other, u"other");
    assert_int_equal(wt_count_links(&WT_GUID), 1);
    WdfDeviceSetDeviceInterfaceState(d, &WT_GUID2, &ref, FALSE);
    WdfDeviceSetDeviceInterfaceState(d, &WT_GUID, &other, FALSE);
    WdfDeviceSetDeviceInterfaceState(d, &WT_GUID, NULL, FALSE); /* absent matches only absent */
    assert_int_equal(wt_count_links(&WT_GUID), 1);
    WdfDeviceSetDeviceInterfaceState(d, &WT_GUID, &ref, FALSE);
    assert_int_equal(wt_count_links(&WT_GUID), 0);
    wt_device_close(h);
    wt_teardown();
}

/* P27 */
static void retrieve_interface_string_gives_the_link_or_not_found(void **state)
{
    HSWDEVICE h;
    WDFSTRING s;
    UNICODE_STRING u, ref, bad;
    WCHAR link[512];

    wt_reset();
    wt_cfg[0].iface = &WT_GUID;
    wt_cfg[0].iface_ref = u"ref";
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(u"p27", NULL);
    assert_int_equal(WdfStringCreate(NULL, NULL, &s), STATUS_SUCCESS);
    RtlInitUnicodeString(&ref, u"ref");
    assert_int_equal(WdfDeviceRetrieveDeviceInterfaceString(wt_st[0].device, &WT_GUID, NULL, s),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(WdfDeviceRetrieveDeviceInterfaceString(wt_st[0].device, &WT_GUID2, &ref, s),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(WdfDeviceRetrieveDeviceInterfaceString(wt_st[0].device, &WT_GUID, &ref, s), STATUS_SUCCESS);
    WdfStringGetUnicodeString(s, &u);
    assert_true(wt_link(&WT_GUID, link, 400));
    assert_int_equal(u.Length, PnpkitWcsLen(link) * sizeof(WCHAR));
    assert_memory_equal(u.Buffer, link, u.Length);
    /* A malformed reference string. */
    bad.Length = 3;
    bad.MaximumLength = 4;
    bad.Buffer = (PWSTR)u"ab";
    assert_int_equal(WdfDeviceRetrieveDeviceInterfaceString(wt_st[0].device, &WT_GUID, &bad, s),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(WdfDeviceCreateDeviceInterface(wt_st[0].device, &WT_GUID, &bad), STATUS_INVALID_PARAMETER);
    WdfObjectDelete(s);
    wt_device_close(h);
    wt_teardown();
}

/* P57 and delivery of posted events */
static struct {
    KEVENT done;
    GUID event;
    USHORT size;
    LONG name_offset;
    UCHAR data[8];
    PFILE_OBJECT file;
} posted;

static NTSTATUS on_target(PVOID notification, PVOID context)
{
    PTARGET_DEVICE_CUSTOM_NOTIFICATION n = notification;
    if (!IsEqualGUID(&n->Event, &WT_EVENT_GUID))
        return STATUS_SUCCESS;
    posted.event = n->Event;
    posted.size = n->Size;
    posted.name_offset = n->NameBufferOffset;
    posted.file = n->FileObject;
    memcpy(posted.data, n->CustomDataBuffer, 3);
    KeSetEvent(&posted.done, IO_NO_INCREMENT, FALSE);
    return STATUS_SUCCESS;
}

static void post_event_reaches_registrants_and_rejects_bad_type_and_size(void **state)
{
    HSWDEVICE h;
    PFILE_OBJECT fo;
    BYTE data[3] = { 1, 2, 3 };
    BYTE *big;

    wt_reset();
    wt_cfg[0].iface = &WT_GUID;
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(u"p57", NULL);
    assert_int_equal(PnpkitIoCreateDriver(u"registrant", dummy_entry, &registrant), STATUS_SUCCESS);
    assert_int_equal(wt_open(&WT_GUID, NULL, &fo), STATUS_SUCCESS);
    KeInitializeEvent(&posted.done, NotificationEvent, FALSE);
    assert_int_equal(IoRegisterPlugPlayNotification(EventCategoryTargetDeviceChange, 0, fo, registrant, on_target,
                                                    NULL, &target_entry),
                     STATUS_SUCCESS);
    assert_int_equal(WdfDevicePostEvent(wt_st[0].device, &WT_EVENT_GUID, WdfEventBroadcast, data, 3), STATUS_SUCCESS);
    pk_test_wait_event(&posted.done);
    assert_true(IsEqualGUID(&posted.event, &WT_EVENT_GUID));
    assert_int_equal(posted.size, FIELD_OFFSET(TARGET_DEVICE_CUSTOM_NOTIFICATION, CustomDataBuffer) + 3);
    assert_int_equal(posted.name_offset, -1);
    assert_memory_equal(posted.data, data, 3);
    assert_ptr_equal(posted.file, fo);

    assert_int_equal(WdfDevicePostEvent(wt_st[0].device, &WT_EVENT_GUID, (WDF_EVENT_TYPE)2, data, 3),
                     STATUS_INVALID_PARAMETER);
    big = calloc(1, 0x10000);
    assert_int_equal(WdfDevicePostEvent(wt_st[0].device, &WT_EVENT_GUID, WdfEventBroadcast, big, 0xFFFF - 36 + 1),
                     STATUS_INSUFFICIENT_RESOURCES);
    assert_int_equal(WdfDevicePostEvent(wt_st[0].device, &WT_EVENT_GUID, WdfEventBroadcast, big, 0xFFFF - 36),
                     STATUS_SUCCESS);
    free(big);
    assert_int_equal(WdfDevicePostEvent(wt_st[0].device, &GUID_TARGET_DEVICE_REMOVE_COMPLETE, WdfEventBroadcast, data,
                                        3),
                     STATUS_INVALID_DEVICE_REQUEST);
    PnpkitSimWaitIdle();
    wt_close(fo);
    unwatch();
    wt_device_close(h);
    wt_teardown();
}

PK_TEST_MAIN(PK_TEST(interface_created_in_device_add_is_enabled_only_after_prepare_and_d0_entry),
             PK_TEST(state_ex_false_in_device_add_keeps_the_interface_disabled_after_start),
             PK_TEST(interface_created_after_start_stays_disabled_until_enabled),
             PK_TEST(removal_disables_interfaces_after_release_hardware_on_both_paths),
             PK_TEST(set_state_ignores_unknown_guid_and_non_matching_reference_strings),
             PK_TEST(retrieve_interface_string_gives_the_link_or_not_found),
             PK_TEST(post_event_reaches_registrants_and_rejects_bad_type_and_size))
