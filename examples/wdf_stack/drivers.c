/*
 * drivers.c — the drivers of the wdf_stack example.
 *
 * counter: a WDF function driver. Each handle (a WDFFILEOBJECT) has its own counter, in the file
 *   object's context; IOCTL_COUNTER_ADD adds the 32-bit input to it and IOCTL_COUNTER_GET returns
 *   it. It registers the GUID_DEVINTERFACE_WDFSTACK_COUNTER interface with reference string
 *   "control", which the framework enables at start and disables on removal. Its queue is
 *   sequential and power-managed. It handles creates itself (EvtDeviceFileCreate) and, as a
 *   function driver, does not forward them (AutoForwardCleanupClose defaults to no forwarding).
 * audit: a WDF upper filter. It counts the IOCTLs that pass, forwards each one with a completion
 *   routine and reports the lower driver's status. It has no create callback: with the filter
 *   default (WdfUseDefault = forward) the framework forwards creates, cleanups and closes.
 * watcher: a WDF function driver of another device. It registers for arrivals of the counter
 *   interface (EvtDeviceSelfManagedIoInit); on each arrival a work item creates a remote I/O
 *   target on its own device, opens it by the symbolic link (the create goes through audit to
 *   counter, with the file name "\control") and sends IOCTLs through it. The target's removal
 *   callbacks let a query-remove proceed (close, then reopen if it is cancelled) and close the
 *   target when the counter device is removed or unplugged.
 */
#include "drivers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- counter ---- */

typedef struct {
    LONG value;
} HANDLE_COUNTER;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(HANDLE_COUNTER, handle_counter)

static NTSTATUS counter_prepare(WDFDEVICE d, WDFCMRESLIST raw, WDFCMRESLIST tr)
{
    say("counter", "EvtDevicePrepareHardware");
    return STATUS_SUCCESS;
}
static NTSTATUS counter_d0_entry(WDFDEVICE d, WDF_POWER_DEVICE_STATE previous)
{
    say("counter", "EvtDeviceD0Entry (from D%d)", previous == WdfPowerDeviceD3Final ? 3 : (int)previous - 1);
    return STATUS_SUCCESS;
}
static NTSTATUS counter_d0_exit(WDFDEVICE d, WDF_POWER_DEVICE_STATE target)
{
    say("counter", "EvtDeviceD0Exit (to %s)", target == WdfPowerDeviceD3Final ? "D3 final" : "Dx");
    return STATUS_SUCCESS;
}
static NTSTATUS counter_release(WDFDEVICE d, WDFCMRESLIST tr)
{
    say("counter", "EvtDeviceReleaseHardware");
    return STATUS_SUCCESS;
}
static NTSTATUS counter_query_remove(WDFDEVICE d)
{
    say("counter", "EvtDeviceQueryRemove: allowed");
    return STATUS_SUCCESS;
}
static VOID counter_surprise(WDFDEVICE d) { say("counter", "EvtDeviceSurpriseRemoval"); }

static VOID counter_create(WDFDEVICE d, WDFREQUEST r, WDFFILEOBJECT f)
{
    PUNICODE_STRING name = WdfFileObjectGetFileName(f);
    char *u8 = name ? PnpkitUnicodeStringToUtf8(name) : NULL;
    say("counter", "EvtDeviceFileCreate: file name \"%s\"", u8 ? u8 : "");
    free(u8);
    handle_counter(f)->value = 0;
    WdfRequestComplete(r, STATUS_SUCCESS);
}
static VOID counter_cleanup(WDFFILEOBJECT f) { say("counter", "EvtFileCleanup (counter was %d)", handle_counter(f)->value); }
static VOID counter_close(WDFFILEOBJECT f) { say("counter", "EvtFileClose"); }

static VOID counter_ioctl(WDFQUEUE q, WDFREQUEST r, size_t out_len, size_t in_len, ULONG code)
{
    WDFFILEOBJECT f = WdfRequestGetFileObject(r);
    HANDLE_COUNTER *c = f ? handle_counter(f) : NULL;
    LONG *in, *out;

    if (!c) {
        WdfRequestComplete(r, STATUS_INVALID_DEVICE_REQUEST);
        return;
    }
    if (code == IOCTL_COUNTER_ADD && NT_SUCCESS(WdfRequestRetrieveInputBuffer(r, sizeof(LONG), (PVOID *)&in, NULL))) {
        c->value += *in;
        WdfRequestComplete(r, STATUS_SUCCESS);
    } else if (code == IOCTL_COUNTER_GET &&
               NT_SUCCESS(WdfRequestRetrieveOutputBuffer(r, sizeof(LONG), (PVOID *)&out, NULL))) {
        *out = c->value;
        WdfRequestCompleteWithInformation(r, STATUS_SUCCESS, sizeof(LONG));
    } else {
        WdfRequestComplete(r, STATUS_INVALID_DEVICE_REQUEST);
    }
}

static NTSTATUS counter_add(WDFDRIVER driver, PWDFDEVICE_INIT init)
{
    WDF_PNPPOWER_EVENT_CALLBACKS pnp;
    WDF_FILEOBJECT_CONFIG files;
    WDF_OBJECT_ATTRIBUTES file_attributes;
    WDF_IO_QUEUE_CONFIG qc;
    UNICODE_STRING ref;
    WDFDEVICE device;
    WDFQUEUE queue;
    NTSTATUS status;

    say("counter", "EvtDriverDeviceAdd");
    WDF_PNPPOWER_EVENT_CALLBACKS_INIT(&pnp);
    pnp.EvtDevicePrepareHardware = counter_prepare;
    pnp.EvtDeviceReleaseHardware = counter_release;
    pnp.EvtDeviceD0Entry = counter_d0_entry;
    pnp.EvtDeviceD0Exit = counter_d0_exit;
    pnp.EvtDeviceQueryRemove = counter_query_remove;
    pnp.EvtDeviceSurpriseRemoval = counter_surprise;
    WdfDeviceInitSetPnpPowerEventCallbacks(init, &pnp);
    WDF_FILEOBJECT_CONFIG_INIT(&files, counter_create, counter_close, counter_cleanup);
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&file_attributes, HANDLE_COUNTER);
    WdfDeviceInitSetFileObjectConfig(init, &files, &file_attributes);
    status = WdfDeviceCreate(&init, WDF_NO_OBJECT_ATTRIBUTES, &device);
    if (!NT_SUCCESS(status))
        return status;
    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&qc, WdfIoQueueDispatchSequential);
    qc.EvtIoDeviceControl = counter_ioctl;
    status = WdfIoQueueCreate(device, &qc, WDF_NO_OBJECT_ATTRIBUTES, &queue);
    if (!NT_SUCCESS(status))
        return status;
    RtlInitUnicodeString(&ref, u"control");
    return WdfDeviceCreateDeviceInterface(device, &GUID_DEVINTERFACE_WDFSTACK_COUNTER, &ref);
}

NTSTATUS counter_driver_entry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    WDF_DRIVER_CONFIG config;
    WDF_DRIVER_CONFIG_INIT(&config, counter_add);
    return WdfDriverCreate(driver, registry_path, WDF_NO_OBJECT_ATTRIBUTES, &config, WDF_NO_HANDLE);
}

/* ---- audit ---- */

static volatile LONG audited;

static void audit_done(WDFREQUEST r, WDFIOTARGET target, PWDF_REQUEST_COMPLETION_PARAMS params, WDFCONTEXT context)
{
    say("audit", "IOCTL 0x%x came back: %s", params->Parameters.Ioctl.IoControlCode,
        PnpkitStatusName(params->IoStatus.Status));
    WdfRequestCompleteWithInformation(r, params->IoStatus.Status, params->IoStatus.Information);
}

static VOID audit_ioctl(WDFQUEUE q, WDFREQUEST r, size_t out_len, size_t in_len, ULONG code)
{
    WDFIOTARGET below = WdfDeviceGetIoTarget(WdfIoQueueGetDevice(q));

    say("audit", "IOCTL 0x%x #%d passes down", code, (int)InterlockedIncrement(&audited));
    WdfRequestFormatRequestUsingCurrentType(r);
    WdfRequestSetCompletionRoutine(r, audit_done, NULL);
    if (!WdfRequestSend(r, below, WDF_NO_SEND_OPTIONS))
        WdfRequestComplete(r, WdfRequestGetStatus(r));
}

static VOID audit_surprise(WDFDEVICE d) { say("audit", "EvtDeviceSurpriseRemoval"); }
static NTSTATUS audit_release(WDFDEVICE d, WDFCMRESLIST tr)
{
    say("audit", "EvtDeviceReleaseHardware");
    return STATUS_SUCCESS;
}

static NTSTATUS audit_add(WDFDRIVER driver, PWDFDEVICE_INIT init)
{
    WDF_PNPPOWER_EVENT_CALLBACKS pnp;
    WDF_IO_QUEUE_CONFIG qc;
    WDFDEVICE device;
    WDFQUEUE queue;
    NTSTATUS status;

    say("audit", "EvtDriverDeviceAdd (filter)");
    WdfFdoInitSetFilter(init);
    WDF_PNPPOWER_EVENT_CALLBACKS_INIT(&pnp);
    pnp.EvtDeviceSurpriseRemoval = audit_surprise;
    pnp.EvtDeviceReleaseHardware = audit_release;
    WdfDeviceInitSetPnpPowerEventCallbacks(init, &pnp);
    status = WdfDeviceCreate(&init, WDF_NO_OBJECT_ATTRIBUTES, &device);
    if (!NT_SUCCESS(status))
        return status;
    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&qc, WdfIoQueueDispatchParallel);
    qc.EvtIoDeviceControl = audit_ioctl;
    return WdfIoQueueCreate(device, &qc, WDF_NO_OBJECT_ATTRIBUTES, &queue);
}

NTSTATUS audit_driver_entry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    WDF_DRIVER_CONFIG config;
    WDF_DRIVER_CONFIG_INIT(&config, audit_add);
    return WdfDriverCreate(driver, registry_path, WDF_NO_OBJECT_ATTRIBUTES, &config, WDF_NO_HANDLE);
}

/* ---- watcher ---- */

KEVENT watcher_used;
volatile LONG watcher_opens;

static WDFDEVICE watcher_device;
static WDFWORKITEM watcher_item;
static WDFIOTARGET watcher_target;   /* the work item's and the removal callbacks' (one at a time) */
static PVOID watcher_registration;
static WCHAR watcher_link_buffer[300];
static UNICODE_STRING watcher_link;

static NTSTATUS watcher_query_remove(WDFIOTARGET t)
{
    say("watcher", "EvtIoTargetQueryRemove: closing the target so that the removal can go on");
    WdfIoTargetCloseForQueryRemove(t);
    return STATUS_SUCCESS;
}

static VOID watcher_remove_canceled(WDFIOTARGET t)
{
    WDF_IO_TARGET_OPEN_PARAMS p;
    NTSTATUS status;

    WDF_IO_TARGET_OPEN_PARAMS_INIT_REOPEN(&p);
    status = WdfIoTargetOpen(t, &p);
    say("watcher", "EvtIoTargetRemoveCanceled: reopened: %s", PnpkitStatusName(status));
}

static VOID watcher_remove_complete(WDFIOTARGET t)
{
    say("watcher", "EvtIoTargetRemoveComplete: closing the target");
    WdfIoTargetClose(t);
}

static NTSTATUS watcher_ioctl(WDFIOTARGET t, ULONG code, LONG *in, LONG *out)
{
    WDF_MEMORY_DESCRIPTOR din, dout;

    if (in)
        WDF_MEMORY_DESCRIPTOR_INIT_BUFFER(&din, in, sizeof(LONG));
    if (out)
        WDF_MEMORY_DESCRIPTOR_INIT_BUFFER(&dout, out, sizeof(LONG));
    return WdfIoTargetSendIoctlSynchronously(t, NULL, code, in ? &din : NULL, out ? &dout : NULL, NULL, NULL);
}

/* PASSIVE_LEVEL, on the thread pool: a new counter interface is opened and used. */
static VOID watcher_work(WDFWORKITEM item)
{
    WDF_IO_TARGET_OPEN_PARAMS p;
    LONG add = 100, value = 0;
    NTSTATUS status;

    if (watcher_target) {
        /* The previous interface's target, closed by its removal: gone with it. */
        WdfObjectDelete(watcher_target);
        watcher_target = NULL;
    }
    status = WdfIoTargetCreate(watcher_device, WDF_NO_OBJECT_ATTRIBUTES, &watcher_target);
    if (NT_SUCCESS(status)) {
        WDF_IO_TARGET_OPEN_PARAMS_INIT_OPEN_BY_NAME(&p, &watcher_link, GENERIC_READ | GENERIC_WRITE);
        p.EvtIoTargetQueryRemove = watcher_query_remove;
        p.EvtIoTargetRemoveCanceled = watcher_remove_canceled;
        p.EvtIoTargetRemoveComplete = watcher_remove_complete;
        status = WdfIoTargetOpen(watcher_target, &p);
    }
    say("watcher", "WdfIoTargetOpen by symbolic link: %s", PnpkitStatusName(status));
    if (NT_SUCCESS(status)) {
        status = watcher_ioctl(watcher_target, IOCTL_COUNTER_ADD, &add, NULL);
        say("watcher", "add %d through the target: %s", add, PnpkitStatusName(status));
        status = watcher_ioctl(watcher_target, IOCTL_COUNTER_GET, NULL, &value);
        say("watcher", "get through the target: %s, counter = %d", PnpkitStatusName(status), value);
    }
    InterlockedIncrement(&watcher_opens);
    KeSetEvent(&watcher_used, IO_NO_INCREMENT, FALSE);
}

/* On the PnP worker: only the link is copied; the open runs on the work item. */
static NTSTATUS watcher_arrival(PVOID structure, PVOID context)
{
    PDEVICE_INTERFACE_CHANGE_NOTIFICATION n = structure;
    USHORT len = n->SymbolicLinkName->Length;

    if (!IsEqualGUID(&n->Event, &GUID_DEVICE_INTERFACE_ARRIVAL) || len >= sizeof(watcher_link_buffer))
        return STATUS_SUCCESS;
    memcpy(watcher_link_buffer, n->SymbolicLinkName->Buffer, len);
    watcher_link_buffer[len / sizeof(WCHAR)] = 0;
    RtlInitUnicodeString(&watcher_link, watcher_link_buffer);
    say("watcher", "a counter interface arrived");
    WdfWorkItemEnqueue(watcher_item);
    return STATUS_SUCCESS;
}

static NTSTATUS watcher_smio_init(WDFDEVICE d)
{
    say("watcher", "EvtDeviceSelfManagedIoInit: registering for counter interfaces");
    return IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange,
                                          PNPNOTIFY_DEVICE_INTERFACE_INCLUDE_EXISTING_INTERFACES,
                                          (PVOID)(uintptr_t)&GUID_DEVINTERFACE_WDFSTACK_COUNTER,
                                          WdfDriverWdmGetDriverObject(WdfDeviceGetDriver(d)), watcher_arrival, NULL,
                                          &watcher_registration);
}

static VOID watcher_smio_cleanup(WDFDEVICE d)
{
    say("watcher", "EvtDeviceSelfManagedIoCleanup: unregistering; the target goes with the device");
    if (watcher_registration)
        IoUnregisterPlugPlayNotificationEx(watcher_registration);
    watcher_registration = NULL;
    WdfWorkItemFlush(watcher_item);
}

static NTSTATUS watcher_add(WDFDRIVER driver, PWDFDEVICE_INIT init)
{
    WDF_PNPPOWER_EVENT_CALLBACKS pnp;
    WDF_WORKITEM_CONFIG wc;
    WDF_OBJECT_ATTRIBUTES a;
    NTSTATUS status;

    say("watcher", "EvtDriverDeviceAdd");
    WDF_PNPPOWER_EVENT_CALLBACKS_INIT(&pnp);
    pnp.EvtDeviceSelfManagedIoInit = watcher_smio_init;
    pnp.EvtDeviceSelfManagedIoCleanup = watcher_smio_cleanup;
    WdfDeviceInitSetPnpPowerEventCallbacks(init, &pnp);
    status = WdfDeviceCreate(&init, WDF_NO_OBJECT_ATTRIBUTES, &watcher_device);
    if (!NT_SUCCESS(status))
        return status;
    WDF_WORKITEM_CONFIG_INIT(&wc, watcher_work);
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.ParentObject = watcher_device;
    return WdfWorkItemCreate(&wc, &a, &watcher_item);
}

NTSTATUS watcher_driver_entry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    WDF_DRIVER_CONFIG config;
    WDF_DRIVER_CONFIG_INIT(&config, watcher_add);
    return WdfDriverCreate(driver, registry_path, WDF_NO_OBJECT_ATTRIBUTES, &config, WDF_NO_HANDLE);
}
