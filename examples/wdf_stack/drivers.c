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
