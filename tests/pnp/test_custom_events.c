/* Custom target-device events (seed 002): IoReportTargetDeviceChange[Asynchronous]. */
#include "pk_testdrv.h"

#include <stdlib.h>
#include <string.h>

static NTSTATUS dummy_entry(PDRIVER_OBJECT d, PUNICODE_STRING p) { return STATUS_SUCCESS; }
static PDRIVER_OBJECT registrant;

typedef struct {
    const char *name;
    PVOID entry;
    PFILE_OBJECT file;
    KEVENT *wait_for;          /* P52: waits for an event the reporter sets after the call */
    UCHAR data[64];
    USHORT size;
    LONG name_offset;
    GUID event;
    KIRQL irql;
} custom_probe;

static NTSTATUS on_target(PVOID notification, PVOID context)
{
    PTARGET_DEVICE_CUSTOM_NOTIFICATION n = notification;
    custom_probe *p = context;
    if (IsEqualGUID(&n->Event, &GUID_TARGET_DEVICE_QUERY_REMOVE) ||
        IsEqualGUID(&n->Event, &GUID_TARGET_DEVICE_REMOVE_COMPLETE) ||
        IsEqualGUID(&n->Event, &GUID_TARGET_DEVICE_REMOVE_CANCELLED))
        return STATUS_SUCCESS;
    if (p->wait_for)
        pk_test_wait_event(p->wait_for);
    assert_ptr_equal(n->FileObject, p->file);
    p->size = n->Size;
    p->event = n->Event;
    p->name_offset = n->NameBufferOffset;
    p->irql = KeGetCurrentIrql();
    memcpy(p->data, n->CustomDataBuffer, (size_t)n->Size - 36 < sizeof(p->data) ? (size_t)n->Size - 36 : sizeof(p->data));
    pk_log("%s:custom", p->name);
    return STATUS_SUCCESS;
}

static void watch(custom_probe *p)
{
    UNICODE_STRING link = pk_testdrv_last_link;
    if (!registrant)
        assert_int_equal(PnpkitIoCreateDriver(u"registrant", dummy_entry, &registrant), STATUS_SUCCESS);
    assert_int_equal(PnpkitOpenDeviceInterface(&link, GENERIC_READ, 0, &p->file), STATUS_SUCCESS);
    assert_int_equal(IoRegisterPlugPlayNotification(EventCategoryTargetDeviceChange, 0, p->file, registrant, on_target,
                                                    p, &p->entry),
                     STATUS_SUCCESS);
}

static void unwatch(custom_probe *p)
{
    IoUnregisterPlugPlayNotificationEx(p->entry);
    PnpkitCloseDeviceInterface(p->file);
}

static void finish(HSWDEVICE h)
{
    if (h)
        pk_testdrv_close_device(h);
    PnpkitSimWaitIdle();
    PnpkitDriverUnregister(u"pktest");
    if (registrant)
        PnpkitIoDeleteDriver(registrant);
    registrant = NULL;
}

/* A 36-byte header and `len` data bytes. */
static PTARGET_DEVICE_CUSTOM_NOTIFICATION make_event(const GUID *g, const void *data, USHORT len, LONG name_offset)
{
    PTARGET_DEVICE_CUSTOM_NOTIFICATION n = calloc(1, 36 + len + 8);
    n->Version = 1;
    n->Size = (USHORT)(36 + len);
    n->Event = *g;
    n->FileObject = NULL;
    n->NameBufferOffset = name_offset;
    memcpy(n->CustomDataBuffer, data, len);
    return n;
}

static volatile LONG completions;
static KIRQL completion_irql;
static int log_count_at_completion;
static VOID on_complete(PVOID ctx)
{
    completion_irql = KeGetCurrentIrql();
    log_count_at_completion = pk_log_count();
    InterlockedIncrement(&completions);
    if (ctx)
        KeSetEvent(ctx, IO_NO_INCREMENT, FALSE);
}

/* P49 */
static void a_synchronous_report_reaches_every_registrant_of_the_device_and_nobody_else(void **state)
{
    custom_probe a = { .name = "a" }, b = { .name = "b" }, other = { .name = "other" };
    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", NULL);
    watch(&a);
    watch(&b);
    HSWDEVICE h2 = pk_testdrv_create_device(u"e", NULL);
    watch(&other);
    PTARGET_DEVICE_CUSTOM_NOTIFICATION n = make_event(&PK_CUSTOM_EVENT_GUID, "hello", 5, 1);
    pk_log_clear();
    /* The PDO of "d": found through a's file object. */
    PDEVICE_OBJECT pdo = IoGetDeviceAttachmentBaseRef(a.file->DeviceObject);
    assert_int_equal(IoReportTargetDeviceChange(pdo, n), STATUS_SUCCESS);
    const char *expected[] = { "a:custom", "b:custom", NULL };
    pk_log_expect(expected); /* returned after the last registrant */
    assert_int_equal(a.size, 41);
    assert_int_equal(a.name_offset, 1);
    assert_memory_equal(a.data, "hello", 5);
    assert_true(IsEqualGUID(&b.event, &PK_CUSTOM_EVENT_GUID));
    ObDereferenceObject(pdo);
    free(n);
    unwatch(&a);
    unwatch(&b);
    unwatch(&other);
    pk_testdrv_close_device(h2);
    finish(h);
}

/* P50 */
static void system_events_are_refused_by_both_reporters(void **state)
{
    const GUID *system[] = { &GUID_HWPROFILE_QUERY_CHANGE, &GUID_HWPROFILE_CHANGE_CANCELLED,
                             &GUID_HWPROFILE_CHANGE_COMPLETE, &GUID_DEVICE_INTERFACE_ARRIVAL,
                             &GUID_DEVICE_INTERFACE_REMOVAL, &GUID_TARGET_DEVICE_QUERY_REMOVE,
                             &GUID_TARGET_DEVICE_REMOVE_CANCELLED, &GUID_TARGET_DEVICE_REMOVE_COMPLETE };
    custom_probe a = { .name = "a" };
    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", NULL);
    watch(&a);
    PDEVICE_OBJECT pdo = pk_testdrv_last_pdo;
    pk_log_clear();
    completions = 0;
    for (size_t i = 0; i < ARRAYSIZE(system); i++) {
        PTARGET_DEVICE_CUSTOM_NOTIFICATION n = make_event(system[i], "x", 1, -1);
        assert_int_equal(IoReportTargetDeviceChange(pdo, n), STATUS_INVALID_DEVICE_REQUEST);
        assert_int_equal(IoReportTargetDeviceChangeAsynchronous(pdo, n, on_complete, NULL), STATUS_INVALID_DEVICE_REQUEST);
        free(n);
    }
    PnpkitSimWaitIdle();
    assert_int_equal(pk_log_count(), 0);
    assert_int_equal(completions, 0);
    PTARGET_DEVICE_CUSTOM_NOTIFICATION ok = make_event(&PK_OTHER_GUID, "x", 1, -1);
    assert_int_equal(IoReportTargetDeviceChange(pdo, ok), STATUS_SUCCESS);
    free(ok);
    unwatch(&a);
    finish(h);
}

/* P51 */
static void malformed_structures_are_refused_with_invalid_parameter(void **state)
{
    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", NULL);
    PDEVICE_OBJECT pdo = pk_testdrv_last_pdo;
    PTARGET_DEVICE_CUSTOM_NOTIFICATION n = make_event(&PK_CUSTOM_EVENT_GUID, "abcd", 4, -1);
    n->Version = 2;
    assert_int_equal(IoReportTargetDeviceChangeAsynchronous(pdo, n, NULL, NULL), STATUS_INVALID_PARAMETER);
    n->Version = 1;
    n->Size = 35;
    assert_int_equal(IoReportTargetDeviceChangeAsynchronous(pdo, n, NULL, NULL), STATUS_INVALID_PARAMETER);
    n->Size = 40;
    n->FileObject = (PFILE_OBJECT)n;
    assert_int_equal(IoReportTargetDeviceChangeAsynchronous(pdo, n, NULL, NULL), STATUS_INVALID_PARAMETER);
    n->FileObject = NULL;
    n->NameBufferOffset = 4; /* outside the 4 data bytes */
    assert_int_equal(IoReportTargetDeviceChange(pdo, n), STATUS_INVALID_PARAMETER);
    n->NameBufferOffset = -2;
    assert_int_equal(IoReportTargetDeviceChange(pdo, n), STATUS_INVALID_PARAMETER);
    assert_int_equal(IoReportTargetDeviceChange(pdo, NULL), STATUS_INVALID_PARAMETER);
    n->NameBufferOffset = 3;
    assert_int_equal(IoReportTargetDeviceChange(pdo, n), STATUS_SUCCESS);
    /* A PDO that is not in the tree: a verifier stop, STATUS_INVALID_PARAMETER. */
    pk_test_capture_verifier();
    assert_int_equal(IoReportTargetDeviceChange((PDEVICE_OBJECT)n, n), STATUS_INVALID_PARAMETER);
    assert_int_equal(pk_test_verifier_stops(), 1);
    free(n);
    finish(h);
}

/* P52, P53, P54 */
static void the_asynchronous_report_returns_pending_at_once_copies_and_calls_back_after_the_last(void **state)
{
    KEVENT go, done;
    custom_probe a = { .name = "a" }, b = { .name = "b" };
    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", NULL);
    KeInitializeEvent(&go, NotificationEvent, FALSE);
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    a.wait_for = &go;
    watch(&a);
    watch(&b);
    PTARGET_DEVICE_CUSTOM_NOTIFICATION n = make_event(&PK_CUSTOM_EVENT_GUID, "original", 8, -1);
    pk_log_clear();
    completions = 0;
    assert_int_equal(IoReportTargetDeviceChangeAsynchronous(pk_testdrv_last_pdo, n, on_complete, &done), STATUS_PENDING);
    memset(n, 0xEE, 44); /* P53: the caller's buffer is the caller's again */
    free(n);
    KeSetEvent(&go, IO_NO_INCREMENT, FALSE); /* P52: a registrant waiting on us does not deadlock */
    pk_test_wait_event(&done);
    assert_int_equal(completions, 1);
    assert_int_equal(completion_irql, PASSIVE_LEVEL);
    assert_int_equal(log_count_at_completion, 2); /* after the last registrant */
    assert_memory_equal(a.data, "original", 8);
    assert_memory_equal(b.data, "original", 8);
    /* A NULL callback is allowed. */
    n = make_event(&PK_CUSTOM_EVENT_GUID, "x", 1, -1);
    assert_int_equal(IoReportTargetDeviceChangeAsynchronous(pk_testdrv_last_pdo, n, NULL, NULL), STATUS_PENDING);
    free(n);
    PnpkitSimWaitIdle();
    unwatch(&a);
    unwatch(&b);
    finish(h);
}

/* P55 */
static NTSTATUS on_removal_report(PVOID notification, PVOID context)
{
    PTARGET_DEVICE_REMOVAL_NOTIFICATION n = notification;
    if (IsEqualGUID(&n->Event, &GUID_TARGET_DEVICE_REMOVE_COMPLETE))
        pk_log("k:remove-complete");
    else if (IsEqualGUID(&n->Event, &PK_CUSTOM_EVENT_GUID))
        pk_log("k:custom");
    return STATUS_SUCCESS;
}

static void a_report_made_inside_surprise_removal_is_delivered_after_the_removal_unwound(void **state)
{
    PFILE_OBJECT fo;
    PVOID entry;
    DEVINST dn;
    UNICODE_STRING link;

    pk_testdrv_register();
    pk_testdrv.report_in_surprise = true;
    HSWDEVICE h = pk_testdrv_create_device(u"d", &dn);
    link = pk_testdrv_last_link;
    assert_int_equal(PnpkitIoCreateDriver(u"registrant", dummy_entry, &registrant), STATUS_SUCCESS);
    assert_int_equal(PnpkitOpenDeviceInterface(&link, GENERIC_READ, 0, &fo), STATUS_SUCCESS);
    assert_int_equal(IoRegisterPlugPlayNotification(EventCategoryTargetDeviceChange, 0, fo, registrant,
                                                    on_removal_report, NULL, &entry),
                     STATUS_SUCCESS);
    PnpkitCloseDeviceInterface(fo);
    PnpkitSimWaitIdle();
    pk_log_clear();
    assert_int_equal(PnpkitSimSurpriseRemove(dn), STATUS_SUCCESS);
    PnpkitSimWaitIdle();
    const char *expected[] = { "irp:surprise-removal:d", "report:STATUS_PENDING", "k:remove-complete",
                               "irp:remove:d", "k:custom", "report-callback", NULL };
    pk_log_expect(expected);
    IoUnregisterPlugPlayNotificationEx(entry);
    SwDeviceClose(h);
    finish(NULL);
}

/* P58 */
static NTSTATUS on_sync_from_callback(PVOID notification, PVOID context)
{
    PTARGET_DEVICE_CUSTOM_NOTIFICATION n = make_event(&PK_CUSTOM_EVENT_GUID, "x", 1, -1);
    if (!IsEqualGUID(&((PDEVICE_INTERFACE_CHANGE_NOTIFICATION)notification)->Event, &GUID_DEVICE_INTERFACE_ARRIVAL)) {
        free(n);
        return STATUS_SUCCESS;
    }
    *(NTSTATUS *)context = IoReportTargetDeviceChange(pk_testdrv_last_pdo, n);
    free(n);
    return STATUS_SUCCESS;
}

static void a_synchronous_report_from_a_notification_callback_is_refused(void **state)
{
    PVOID entry;
    NTSTATUS seen = STATUS_PENDING;
    pk_test_capture_verifier();
    assert_int_equal(PnpkitIoCreateDriver(u"registrant", dummy_entry, &registrant), STATUS_SUCCESS);
    assert_int_equal(IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange, 0, (PVOID)&PK_TEST_GUID,
                                                    registrant, on_sync_from_callback, &seen, &entry),
                     STATUS_SUCCESS);
    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", NULL);
    PnpkitSimWaitIdle();
    assert_int_equal(seen, STATUS_INVALID_DEVICE_STATE);
    assert_true(pk_test_verifier_saw("IoReportTargetDeviceChange"));
    IoUnregisterPlugPlayNotificationEx(entry);
    finish(h);
}

/* P56 */
typedef struct {
    DWORD data_size;
    LONG name_offset;
    UCHAR data[16];
    int log_at;
} app_custom;

static DWORD on_app_custom(HCMNOTIFICATION h, PVOID ctx, CM_NOTIFY_ACTION action, PCM_NOTIFY_EVENT_DATA d, DWORD size)
{
    app_custom *a = ctx;
    if (action == CM_NOTIFY_ACTION_DEVICECUSTOMEVENT) {
        a->data_size = d->u.DeviceHandle.DataSize;
        a->name_offset = d->u.DeviceHandle.NameOffset;
        memcpy(a->data, d->u.DeviceHandle.Data, a->data_size < 16 ? a->data_size : 16);
        a->log_at = pk_log_count();
        pk_log("app:custom");
    }
    return ERROR_SUCCESS;
}

static void applications_get_the_custom_event_before_kernel_registrants(void **state)
{
    custom_probe k = { .name = "k" };
    app_custom a = { 0 };
    CM_NOTIFY_FILTER f = { .cbSize = sizeof(f), .FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEHANDLE };
    HCMNOTIFICATION reg;

    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", NULL);
    watch(&k);
    f.u.DeviceHandle.hTarget = (HANDLE)k.file;
    assert_int_equal(CM_Register_Notification(&f, &a, on_app_custom, &reg), CR_SUCCESS);
    PTARGET_DEVICE_CUSTOM_NOTIFICATION n = make_event(&PK_CUSTOM_EVENT_GUID, "payload", 7, -1);
    pk_log_clear();
    assert_int_equal(IoReportTargetDeviceChange(pk_testdrv_last_pdo, n), STATUS_SUCCESS);
    const char *expected[] = { "app:custom", "k:custom", NULL };
    pk_log_expect(expected);
    assert_int_equal(a.data_size, 7);
    assert_int_equal(a.name_offset, -1);
    assert_memory_equal(a.data, "payload", 7);
    free(n);
    assert_int_equal(CM_Unregister_Notification(reg), CR_SUCCESS);
    unwatch(&k);
    finish(h);
}

PK_TEST_MAIN(
    PK_TEST(a_synchronous_report_reaches_every_registrant_of_the_device_and_nobody_else),
    PK_TEST(system_events_are_refused_by_both_reporters),
    PK_TEST(malformed_structures_are_refused_with_invalid_parameter),
    PK_TEST(the_asynchronous_report_returns_pending_at_once_copies_and_calls_back_after_the_last),
    PK_TEST(a_report_made_inside_surprise_removal_is_delivered_after_the_removal_unwound),
    PK_TEST(a_synchronous_report_from_a_notification_callback_is_refused),
    PK_TEST(applications_get_the_custom_event_before_kernel_registrants),
)
