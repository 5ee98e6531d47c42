/*
 * pnp_demo — devices and their interfaces arriving and leaving, and who hears about it.
 *
 * A WDM "sensor" function driver is registered for hardware id PNPKIT\SENSOR (the role of an
 * INF). Three software devices appear; each sensor registers a device interface with a reference
 * string and enables it during IRP_MN_START_DEVICE. A kernel registrant watches the interface
 * class, another watches one sensor as a target device, and an application-style registrant
 * (CM_Register_Notification) watches the same sensor. Then: a custom event, an eject that the
 * application vetoes, an eject that succeeds, a surprise removal, and the last unplug.
 */
#include <pnpkit.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

DEFINE_GUID(GUID_DEVINTERFACE_PNPKIT_SENSOR, 0x5b8f2c1e, 0x3d4a, 0x4f6b, 0x9a, 0x1c, 0x7e, 0x2d, 0x4b, 0x8f, 0x60, 0x13);
DEFINE_GUID(GUID_SENSOR_THRESHOLD_EVENT, 0x5b8f2c1f, 0x3d4a, 0x4f6b, 0x9a, 0x1c, 0x7e, 0x2d, 0x4b, 0x8f, 0x60, 0x13);

static void say(const char *who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const char *who, const char *fmt, ...)
{
    va_list ap;
    printf("  %-12s ", who);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static char *text(PCUNICODE_STRING s)
{
    static char buf[4][300];
    static int next;
    char *u = PnpkitUnicodeStringToUtf8(s), *out = buf[next++ % 4];
    snprintf(out, 300, "%s", u ? u : "?");
    free(u);
    return out;
}

/* ---- The sensor driver (plain WDM) ---- */

typedef struct {
    PDEVICE_OBJECT lower, pdo;
    UNICODE_STRING link;
} SENSOR;

static NTSTATUS forwarded(PDEVICE_OBJECT d, PIRP irp, PVOID ctx)
{
    KeSetEvent(ctx, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS sensor_pnp(PDEVICE_OBJECT fdo, PIRP irp)
{
    SENSOR *s = fdo->DeviceExtension;
    UCHAR minor = IoGetCurrentIrpStackLocation(irp)->MinorFunction;
    NTSTATUS status;

    switch (minor) {
    case IRP_MN_START_DEVICE: {
        KEVENT done;
        KeInitializeEvent(&done, NotificationEvent, FALSE);
        IoCopyCurrentIrpStackLocationToNext(irp);
        IoSetCompletionRoutine(irp, forwarded, &done, TRUE, TRUE, TRUE);
        IoCallDriver(s->lower, irp);
        KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
        status = irp->IoStatus.Status;
        if (NT_SUCCESS(status))
            IoSetDeviceInterfaceState(&s->link, TRUE);
        say("driver", "IRP_MN_START_DEVICE: %s; interface enabled (announced once the start completes)",
            PnpkitStatusName(status));
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return status;
    }
    case IRP_MN_QUERY_REMOVE_DEVICE:
        say("driver", "IRP_MN_QUERY_REMOVE_DEVICE: nothing in flight, agreed");
        break;
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        say("driver", "IRP_MN_CANCEL_REMOVE_DEVICE");
        break;
    case IRP_MN_SURPRISE_REMOVAL:
        say("driver", "IRP_MN_SURPRISE_REMOVAL: the sensor is gone; interface disabled");
        IoSetDeviceInterfaceState(&s->link, FALSE);
        break;
    case IRP_MN_REMOVE_DEVICE:
        say("driver", "IRP_MN_REMOVE_DEVICE: detach and delete");
        IoSetDeviceInterfaceState(&s->link, FALSE);
        irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(irp);
        status = IoCallDriver(s->lower, irp);
        IoDetachDevice(s->lower);
        RtlFreeUnicodeString(&s->link);
        IoDeleteDevice(fdo);
        return status;
    default:
        IoSkipCurrentIrpStackLocation(irp);
        return IoCallDriver(s->lower, irp);
    }
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoSkipCurrentIrpStackLocation(irp);
    return IoCallDriver(s->lower, irp);
}

static NTSTATUS sensor_file(PDEVICE_OBJECT fdo, PIRP irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(irp);
    if (sl->MajorFunction == IRP_MJ_CREATE)
        say("driver", "IRP_MJ_CREATE for file name \"%s\"", text(&sl->FileObject->FileName));
    else
        say("driver", "%s", sl->MajorFunction == IRP_MJ_CLEANUP ? "IRP_MJ_CLEANUP" : "IRP_MJ_CLOSE");
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static NTSTATUS sensor_add_device(PDRIVER_OBJECT driver, PDEVICE_OBJECT pdo)
{
    PDEVICE_OBJECT fdo;
    UNICODE_STRING ref = RTL_CONSTANT_STRING(u"readings");
    NTSTATUS status = IoCreateDevice(driver, sizeof(SENSOR), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &fdo);
    if (!NT_SUCCESS(status))
        return status;
    SENSOR *s = fdo->DeviceExtension;
    s->pdo = pdo;
    s->lower = IoAttachDeviceToDeviceStack(fdo, pdo);
    IoRegisterDeviceInterface(pdo, &GUID_DEVINTERFACE_PNPKIT_SENSOR, &ref, &s->link);
    fdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    say("driver", "AddDevice: FDO attached, interface %s registered (disabled)", text(&s->link));
    return STATUS_SUCCESS;
}

static NTSTATUS sensor_entry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    say("driver", "DriverEntry of %s (runs once)", text(&driver->DriverName));
    driver->DriverExtension->AddDevice = sensor_add_device;
    driver->MajorFunction[IRP_MJ_PNP] = sensor_pnp;
    driver->MajorFunction[IRP_MJ_CREATE] = sensor_file;
    driver->MajorFunction[IRP_MJ_CLEANUP] = sensor_file;
    driver->MajorFunction[IRP_MJ_CLOSE] = sensor_file;
    return STATUS_SUCCESS;
}

/* ---- Listeners ---- */

static NTSTATUS on_interface(PVOID notification, PVOID context)
{
    PDEVICE_INTERFACE_CHANGE_NOTIFICATION n = notification;
    say("kernel", "interface %s: %s",
        IsEqualGUID(&n->Event, &GUID_DEVICE_INTERFACE_ARRIVAL) ? "ARRIVAL" : "REMOVAL", text(n->SymbolicLinkName));
    return STATUS_SUCCESS;
}

static NTSTATUS on_target(PVOID notification, PVOID context)
{
    PTARGET_DEVICE_REMOVAL_NOTIFICATION n = notification;
    const char *what = IsEqualGUID(&n->Event, &GUID_TARGET_DEVICE_QUERY_REMOVE)       ? "QUERY_REMOVE"
                       : IsEqualGUID(&n->Event, &GUID_TARGET_DEVICE_REMOVE_CANCELLED) ? "REMOVE_CANCELLED"
                       : IsEqualGUID(&n->Event, &GUID_TARGET_DEVICE_REMOVE_COMPLETE)  ? "REMOVE_COMPLETE"
                                                                                       : "custom event";
    if (!strcmp(what, "custom event")) {
        PTARGET_DEVICE_CUSTOM_NOTIFICATION c = notification;
        say("kernel", "target: custom event with %d data bytes: \"%.*s\"", c->Size - 36, c->Size - 36,
            (const char *)c->CustomDataBuffer);
    } else {
        say("kernel", "target: %s", what);
    }
    return STATUS_SUCCESS;
}

static volatile LONG app_vetoes = 1;
static DWORD on_app(HCMNOTIFICATION h, PVOID ctx, CM_NOTIFY_ACTION action, PCM_NOTIFY_EVENT_DATA data, DWORD size)
{
    static const char *const names[] = { "DEVICEINTERFACEARRIVAL", "DEVICEINTERFACEREMOVAL", "DEVICEQUERYREMOVE",
                                         "DEVICEQUERYREMOVEFAILED", "DEVICEREMOVEPENDING", "DEVICEREMOVECOMPLETE",
                                         "DEVICECUSTOMEVENT" };
    if (action == CM_NOTIFY_ACTION_DEVICEQUERYREMOVE && InterlockedExchange(&app_vetoes, 0)) {
        say("application", "%s -> ERROR_CANCELLED (veto: the user is still reading)", names[action]);
        return ERROR_CANCELLED;
    }
    say("application", "%s", action < 7 ? names[action] : "?");
    return ERROR_SUCCESS;
}

/* ---- The scenario ---- */

static KEVENT created;
static VOID on_created(HSWDEVICE h, HRESULT hr, PVOID ctx, PCWSTR id)
{
    UNICODE_STRING s;
    RtlInitUnicodeString(&s, id);
    say("SwDevice", "%s created (0x%08X)", text(&s), (unsigned)hr);
    KeSetEvent(&created, IO_NO_INCREMENT, FALSE);
}

static HSWDEVICE plug(PCWSTR name)
{
    SW_DEVICE_CREATE_INFO info = { .cbSize = sizeof(info), .pszInstanceId = name,
                                   .pszzHardwareIds = u"PNPKIT\\SENSOR\0" };
    HSWDEVICE h;
    KeInitializeEvent(&created, NotificationEvent, FALSE);
    SwDeviceCreate(u"SENSORBUS", u"HTREE\\ROOT\\0", &info, 0, NULL, on_created, NULL, &h);
    KeWaitForSingleObject(&created, Executive, KernelMode, FALSE, NULL);
    PnpkitSimWaitIdle();
    return h;
}

static NTSTATUS watcher_entry(PDRIVER_OBJECT d, PUNICODE_STRING p) { return STATUS_SUCCESS; }

int main(void)
{
    PDRIVER_OBJECT watcher;
    PVOID class_entry, target_entry;
    HSWDEVICE s1, s2, s3;
    DEVINST d1, d2;
    PFILE_OBJECT file;
    HCMNOTIFICATION app;
    WCHAR list[1024];
    ULONG len;
    PNP_VETO_TYPE veto;
    WCHAR vetoer[64];

    printf("pnp_demo: devices and interfaces come and go\n============================================\n\n");
    PnpkitDriverRegister(u"sensor", sensor_entry, u"PNPKIT\\SENSOR\0");
    PnpkitIoCreateDriver(u"watcher", watcher_entry, &watcher);
    IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange,
                                   PNPNOTIFY_DEVICE_INTERFACE_INCLUDE_EXISTING_INTERFACES,
                                   (PVOID)(uintptr_t)&GUID_DEVINTERFACE_PNPKIT_SENSOR, watcher, on_interface, NULL,
                                   &class_entry);

    printf("1. Three sensors are plugged in\n");
    s1 = plug(u"1");
    s2 = plug(u"2");
    s3 = plug(u"3");
    GUID sensor_class = GUID_DEVINTERFACE_PNPKIT_SENSOR;
    CM_Get_Device_Interface_List_SizeW(&len, &sensor_class, NULL, 0);
    CM_Get_Device_Interface_ListW(&sensor_class, NULL, list, ARRAYSIZE(list), 0);
    printf("   CM_Get_Device_Interface_List (%u WCHARs):\n", len);
    for (PCWSTR p = list; *p; p += PnpkitWcsLen(p) + 1) {
        UNICODE_STRING s;
        RtlInitUnicodeString(&s, p);
        printf("     %s\n", text(&s));
    }

    printf("\n2. Sensor 1 is opened through its link; a kernel and an application registrant watch it\n");
    UNICODE_STRING link;
    RtlInitUnicodeString(&link, list);
    PnpkitOpenDeviceInterface(&link, GENERIC_READ, 0, &file);
    IoRegisterPlugPlayNotification(EventCategoryTargetDeviceChange, 0, file, watcher, on_target, NULL, &target_entry);
    CM_NOTIFY_FILTER f = { .cbSize = sizeof(f), .FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEHANDLE };
    f.u.DeviceHandle.hTarget = (HANDLE)file;
    CM_Register_Notification(&f, NULL, on_app, &app);

    printf("\n3. Sensor 1 reports a custom event (IoReportTargetDeviceChangeAsynchronous)\n");
    WCHAR id1[] = u"SWD\\SENSORBUS\\1", id2[] = u"SWD\\SENSORBUS\\2";
    CM_Locate_DevNodeW(&d1, id1, 0);
    struct {
        TARGET_DEVICE_CUSTOM_NOTIFICATION n;
        char more[16];
    } ev = { { 1, 36 + 12, GUID_SENSOR_THRESHOLD_EVENT, NULL, -1, { 0 } }, { 0 } };
    memcpy(ev.n.CustomDataBuffer, "temp>40.0 C", 12);
    PDEVICE_OBJECT pdo = IoGetDeviceAttachmentBaseRef(file->DeviceObject);
    NTSTATUS st = IoReportTargetDeviceChangeAsynchronous(pdo, &ev, NULL, NULL);
    ObDereferenceObject(pdo);
    say("reporter", "returned %s at once", PnpkitStatusName(st));
    PnpkitSimWaitIdle();

    printf("\n4. Eject sensor 1: the application vetoes\n");
    PnpkitCloseDeviceInterface(file); /* the handle is closed; the registrations stay */
    CONFIGRET cr = CM_Query_And_Remove_SubTreeW(d1, &veto, vetoer, ARRAYSIZE(vetoer), 0);
    say("initiator", "CM_Query_And_Remove_SubTree -> 0x%X (CR_REMOVE_VETOED is 0x17), veto type %d (PNP_VetoWindowsApp)",
        cr, veto);

    printf("\n5. Eject sensor 1 again: everyone agrees\n");
    cr = CM_Query_And_Remove_SubTreeW(d1, &veto, vetoer, ARRAYSIZE(vetoer), 0);
    say("initiator", "CM_Query_And_Remove_SubTree -> 0x%X", cr);
    PnpkitSimWaitIdle();
    CM_Unregister_Notification(app);
    IoUnregisterPlugPlayNotificationEx(target_entry);

    printf("\n6. Sensor 2 is yanked out (surprise removal)\n");
    CM_Locate_DevNodeW(&d2, id2, 0);
    PnpkitSimSurpriseRemove(d2);
    PnpkitSimWaitIdle();

    printf("\n7. The remaining software devices are closed\n");
    SwDeviceClose(s1);
    SwDeviceClose(s2);
    SwDeviceClose(s3);
    PnpkitSimWaitIdle();

    IoUnregisterPlugPlayNotificationEx(class_entry);
    PnpkitIoDeleteDriver(watcher);
    PnpkitDriverUnregister(u"sensor");
    PnpkitShutdown();
    printf("\nShut down; %u live objects remain.\n", PnpkitLiveObjectCount());
    return PnpkitLiveObjectCount() == 0 ? 0 : 1;
}
