/*
 * pkhost_drv.c — a WDM function driver built as a driver package (a shared object that
 * exports DriverEntry), loaded by pnphost in the host tests and bench_host.
 *
 * Per device: three interfaces (pkhost_ioctl.h), a data buffer for reads and writes, the file
 * name of the last create, and a queue of pending requests (IOCTL_PKH_PEND) with Windows'
 * cancel-safe protocol: a cancel routine set under the queue's spin lock, cleared on the way
 * out; IRP_MJ_CLEANUP completes the requests of the closing file object. Module-wide counters
 * (creates, cleanups, closes, cancellations, ...) let tests see what the host did for a client
 * that crashed.
 */
#include <pnpkit.h>

#include <stdlib.h>
#include <string.h>

#include "pkhost_ioctl.h"

#define DATA_MAX 65536u

typedef struct fdo_ext {
    PDEVICE_OBJECT self, lower, pdo;
    UNICODE_STRING echo_link, secure_link, toggle_link;
    volatile LONG veto;
    KSPIN_LOCK lock;            /* protects pending, data, data_len, last_create */
    LIST_ENTRY pending;         /* IRPs of IOCTL_PKH_PEND, by Tail.Overlay.ListEntry */
    UCHAR *data;
    ULONG data_len;
    WCHAR last_create[256];
    USHORT last_create_chars;
} fdo_ext;

static pkh_counters counters;

PNPKIT_API NTSTATUS DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING path);

static NTSTATUS complete(PIRP irp, NTSTATUS status, ULONG_PTR info)
{
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = info;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
}

/* ---- PnP ---- */

static NTSTATUS forwarded(PDEVICE_OBJECT d, PIRP irp, PVOID ctx)
{
    KeSetEvent(ctx, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS forward_and_wait(fdo_ext *x, PIRP irp)
{
    KEVENT done;
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    IoCopyCurrentIrpStackLocationToNext(irp);
    IoSetCompletionRoutine(irp, forwarded, &done, TRUE, TRUE, TRUE);
    IoCallDriver(x->lower, irp);
    KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
    return irp->IoStatus.Status;
}

static NTSTATUS forward(fdo_ext *x, PIRP irp)
{
    IoSkipCurrentIrpStackLocation(irp);
    return IoCallDriver(x->lower, irp);
}

static void disable_interfaces(fdo_ext *x)
{
    IoSetDeviceInterfaceState(&x->echo_link, FALSE);
    IoSetDeviceInterfaceState(&x->secure_link, FALSE);
    IoSetDeviceInterfaceState(&x->toggle_link, FALSE);
}

static NTSTATUS drv_pnp(PDEVICE_OBJECT dev, PIRP irp)
{
    fdo_ext *x = dev->DeviceExtension;
    NTSTATUS status;

    switch (IoGetCurrentIrpStackLocation(irp)->MinorFunction) {
    case IRP_MN_START_DEVICE:
        status = forward_and_wait(x, irp);
        if (NT_SUCCESS(status)) {
            IoSetDeviceInterfaceState(&x->echo_link, TRUE);
            IoSetDeviceInterfaceState(&x->secure_link, TRUE);
        }
        return complete(irp, status, 0);
    case IRP_MN_QUERY_REMOVE_DEVICE:
        if (ReadAcquire(&x->veto))
            return complete(irp, STATUS_UNSUCCESSFUL, 0);
        irp->IoStatus.Status = STATUS_SUCCESS;
        return forward(x, irp);
    case IRP_MN_CANCEL_REMOVE_DEVICE:
    case IRP_MN_SURPRISE_REMOVAL:
        if (IoGetCurrentIrpStackLocation(irp)->MinorFunction == IRP_MN_SURPRISE_REMOVAL)
            disable_interfaces(x);
        irp->IoStatus.Status = STATUS_SUCCESS;
        return forward(x, irp);
    case IRP_MN_REMOVE_DEVICE:
        disable_interfaces(x);
        irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(irp);
        status = IoCallDriver(x->lower, irp);
        IoDetachDevice(x->lower);
        RtlFreeUnicodeString(&x->echo_link);
        RtlFreeUnicodeString(&x->secure_link);
        RtlFreeUnicodeString(&x->toggle_link);
        free(x->data);
        IoDeleteDevice(dev);
        return status;
    default:
        return forward(x, irp);
    }
}

static NTSTATUS drv_power(PDEVICE_OBJECT dev, PIRP irp) { return forward(dev->DeviceExtension, irp); }

/* ---- Files ---- */

static NTSTATUS drv_create(PDEVICE_OBJECT dev, PIRP irp)
{
    fdo_ext *x = dev->DeviceExtension;
    PCUNICODE_STRING name = &IoGetCurrentIrpStackLocation(irp)->FileObject->FileName;
    USHORT chars = name->Length / sizeof(WCHAR);
    KIRQL irql;

    if (chars > ARRAYSIZE(x->last_create))
        chars = ARRAYSIZE(x->last_create);
    KeAcquireSpinLock(&x->lock, &irql);
    if (chars)
        memcpy(x->last_create, name->Buffer, chars * sizeof(WCHAR));
    x->last_create_chars = chars;
    KeReleaseSpinLock(&x->lock, irql);
    InterlockedIncrement(&counters.creates);
    return complete(irp, STATUS_SUCCESS, 0);
}

static VOID pend_cancel(PDEVICE_OBJECT dev, PIRP irp)
{
    fdo_ext *x = dev->DeviceExtension;
    KIRQL irql;

    IoReleaseCancelSpinLock(irp->CancelIrql);
    KeAcquireSpinLock(&x->lock, &irql);
    RemoveEntryList(&irp->Tail.Overlay.ListEntry);
    KeReleaseSpinLock(&x->lock, irql);
    InterlockedDecrement(&counters.pending);
    InterlockedIncrement(&counters.cancelled);
    complete(irp, STATUS_CANCELLED, 0);
}

static NTSTATUS drv_cleanup(PDEVICE_OBJECT dev, PIRP irp)
{
    fdo_ext *x = dev->DeviceExtension;
    PFILE_OBJECT fo = IoGetCurrentIrpStackLocation(irp)->FileObject;
    LIST_ENTRY done;
    KIRQL irql;

    /* The closing file's pending requests complete now, as a driver's cleanup must. */
    InitializeListHead(&done);
    KeAcquireSpinLock(&x->lock, &irql);
    for (PLIST_ENTRY e = x->pending.Flink, next; e != &x->pending; e = next) {
        PIRP p = CONTAINING_RECORD(e, IRP, Tail.Overlay.ListEntry);
        next = e->Flink;
        if (IoGetCurrentIrpStackLocation(p)->FileObject == fo && IoSetCancelRoutine(p, NULL)) {
            RemoveEntryList(e);
            InsertTailList(&done, e);
        }
    }
    KeReleaseSpinLock(&x->lock, irql);
    while (!IsListEmpty(&done)) {
        PIRP p = CONTAINING_RECORD(RemoveHeadList(&done), IRP, Tail.Overlay.ListEntry);
        InterlockedDecrement(&counters.pending);
        InterlockedIncrement(&counters.cancelled);
        complete(p, STATUS_CANCELLED, 0);
    }
    InterlockedIncrement(&counters.cleanups);
    return complete(irp, STATUS_SUCCESS, 0);
}

static NTSTATUS drv_close(PDEVICE_OBJECT dev, PIRP irp)
{
    InterlockedIncrement(&counters.closes);
    return complete(irp, STATUS_SUCCESS, 0);
}

/* ---- Reads and writes (DO_BUFFERED_IO) ---- */

static NTSTATUS drv_read(PDEVICE_OBJECT dev, PIRP irp)
{
    fdo_ext *x = dev->DeviceExtension;
    ULONG want = IoGetCurrentIrpStackLocation(irp)->Parameters.Read.Length, n;
    KIRQL irql;

    InterlockedIncrement(&counters.reads);
    KeAcquireSpinLock(&x->lock, &irql);
    n = want < x->data_len ? want : x->data_len;
    if (n)
        memcpy(irp->AssociatedIrp.SystemBuffer, x->data, n);
    KeReleaseSpinLock(&x->lock, irql);
    return complete(irp, STATUS_SUCCESS, n);
}

static NTSTATUS drv_write(PDEVICE_OBJECT dev, PIRP irp)
{
    fdo_ext *x = dev->DeviceExtension;
    ULONG n = IoGetCurrentIrpStackLocation(irp)->Parameters.Write.Length;
    KIRQL irql;

    InterlockedIncrement(&counters.writes);
    if (n > DATA_MAX)
        return complete(irp, STATUS_INVALID_BUFFER_SIZE, 0);
    KeAcquireSpinLock(&x->lock, &irql);
    if (n)
        memcpy(x->data, irp->AssociatedIrp.SystemBuffer, n);
    x->data_len = n;
    KeReleaseSpinLock(&x->lock, irql);
    return complete(irp, STATUS_SUCCESS, n);
}

/* ---- IOCTLs ---- */

static VOID echo_later(PDEVICE_OBJECT dev, PVOID context)
{
    PIRP irp = context;
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    ULONG in = sp->Parameters.DeviceIoControl.InputBufferLength, out = sp->Parameters.DeviceIoControl.OutputBufferLength;
    IoFreeWorkItem(irp->Tail.Overlay.DriverContext[0]);
    complete(irp, STATUS_SUCCESS, in < out ? in : out);
}

static NTSTATUS report_event(fdo_ext *x, const void *data, ULONG len)
{
    ULONG size = (ULONG)FIELD_OFFSET(TARGET_DEVICE_CUSTOM_NOTIFICATION, CustomDataBuffer) + len;
    PTARGET_DEVICE_CUSTOM_NOTIFICATION n;
    NTSTATUS status;

    if (size > 0xFFFF)
        return STATUS_INVALID_PARAMETER;
    n = calloc(1, size < sizeof(*n) ? sizeof(*n) : size);
    if (!n)
        return STATUS_INSUFFICIENT_RESOURCES;
    n->Version = 1;
    n->Size = (USHORT)size;
    n->Event = PKHOST_CUSTOM_EVENT_GUID;
    n->FileObject = NULL;
    n->NameBufferOffset = -1;
    if (len)
        memcpy(n->CustomDataBuffer, data, len);
    status = IoReportTargetDeviceChangeAsynchronous(x->pdo, n, NULL, NULL);
    free(n); /* copied by the call */
    return NT_SUCCESS(status) ? STATUS_SUCCESS : status;
}

static NTSTATUS drv_ioctl(PDEVICE_OBJECT dev, PIRP irp)
{
    fdo_ext *x = dev->DeviceExtension;
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    ULONG in = sp->Parameters.DeviceIoControl.InputBufferLength;
    ULONG out = sp->Parameters.DeviceIoControl.OutputBufferLength;
    PVOID buf = irp->AssociatedIrp.SystemBuffer;
    KIRQL irql;

    InterlockedIncrement(&counters.ioctls);
    switch (sp->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_PKH_ECHO:
        return complete(irp, STATUS_SUCCESS, in < out ? in : out);
    case IOCTL_PKH_COUNTERS: {
        pkh_counters c;
        if (out < sizeof(c))
            return complete(irp, STATUS_BUFFER_TOO_SMALL, 0);
        c.creates = ReadAcquire(&counters.creates);
        c.cleanups = ReadAcquire(&counters.cleanups);
        c.closes = ReadAcquire(&counters.closes);
        c.cancelled = ReadAcquire(&counters.cancelled);
        c.pending = ReadAcquire(&counters.pending);
        c.reads = ReadAcquire(&counters.reads);
        c.writes = ReadAcquire(&counters.writes);
        c.ioctls = ReadAcquire(&counters.ioctls);
        memcpy(buf, &c, sizeof(c));
        return complete(irp, STATUS_SUCCESS, sizeof(c));
    }
    case IOCTL_PKH_LAST_CREATE: {
        ULONG n;
        KeAcquireSpinLock(&x->lock, &irql);
        n = x->last_create_chars * (ULONG)sizeof(WCHAR);
        if (n > out)
            n = out;
        if (n)
            memcpy(buf, x->last_create, n);
        KeReleaseSpinLock(&x->lock, irql);
        return complete(irp, STATUS_SUCCESS, n);
    }
    case IOCTL_PKH_PEND:
        KeAcquireSpinLock(&x->lock, &irql);
        IoSetCancelRoutine(irp, pend_cancel);
        if (irp->Cancel && IoSetCancelRoutine(irp, NULL)) {
            KeReleaseSpinLock(&x->lock, irql);
            InterlockedIncrement(&counters.cancelled);
            return complete(irp, STATUS_CANCELLED, 0);
        }
        IoMarkIrpPending(irp);
        InsertTailList(&x->pending, &irp->Tail.Overlay.ListEntry);
        InterlockedIncrement(&counters.pending);
        KeReleaseSpinLock(&x->lock, irql);
        return STATUS_PENDING;
    case IOCTL_PKH_REPORT_EVENT:
        return complete(irp, report_event(x, buf, in), 0);
    case IOCTL_PKH_SET_VETO:
        if (in < sizeof(ULONG))
            return complete(irp, STATUS_INVALID_PARAMETER, 0);
        WriteRelease(&x->veto, *(ULONG *)buf ? 1 : 0);
        return complete(irp, STATUS_SUCCESS, 0);
    case IOCTL_PKH_TOGGLE: {
        NTSTATUS st;
        if (in < sizeof(ULONG))
            return complete(irp, STATUS_INVALID_PARAMETER, 0);
        st = IoSetDeviceInterfaceState(&x->toggle_link, *(ULONG *)buf ? TRUE : FALSE);
        return complete(irp, NT_SUCCESS(st) ? STATUS_SUCCESS : st, 0);
    }
    case IOCTL_PKH_ECHO_LATER: {
        PIO_WORKITEM wi = IoAllocateWorkItem(dev);
        if (!wi)
            return complete(irp, STATUS_INSUFFICIENT_RESOURCES, 0);
        irp->Tail.Overlay.DriverContext[0] = wi;
        IoMarkIrpPending(irp);
        IoQueueWorkItem(wi, echo_later, DelayedWorkQueue, irp);
        return STATUS_PENDING;
    }
    case IOCTL_PKH_ECHO_DIRECT: {
        ULONG n = in < out ? in : out;
        if (n)
            memcpy(MmGetSystemAddressForMdlSafe(irp->MdlAddress, NormalPagePriority), buf, n);
        return complete(irp, STATUS_SUCCESS, n);
    }
    case IOCTL_PKH_ECHO_NEITHER: {
        ULONG n = in < out ? in : out;
        if (n)
            memcpy(irp->UserBuffer, sp->Parameters.DeviceIoControl.Type3InputBuffer, n);
        return complete(irp, STATUS_SUCCESS, n);
    }
    case IOCTL_PKH_NEEDS_WRITE:
        return complete(irp, STATUS_SUCCESS, 0);
    case IOCTL_PKH_OVERFLOW:
        return complete(irp, in > out ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS, in < out ? in : out);
    default:
        return complete(irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    }
}

/* ---- Driver ---- */

static NTSTATUS drv_add_device(PDRIVER_OBJECT driver, PDEVICE_OBJECT pdo)
{
    PDEVICE_OBJECT fdo;
    UNICODE_STRING ref;
    fdo_ext *x;
    NTSTATUS status = IoCreateDevice(driver, sizeof(fdo_ext), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &fdo);

    if (!NT_SUCCESS(status))
        return status;
    x = fdo->DeviceExtension;
    x->self = fdo;
    x->pdo = pdo;
    KeInitializeSpinLock(&x->lock);
    InitializeListHead(&x->pending);
    x->data = malloc(DATA_MAX);
    if (!x->data) {
        IoDeleteDevice(fdo);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    x->lower = IoAttachDeviceToDeviceStack(fdo, pdo);
    RtlInitUnicodeString(&ref, u"ref");
    IoRegisterDeviceInterface(pdo, &PKHOST_ECHO_GUID, &ref, &x->echo_link);
    IoRegisterDeviceInterface(pdo, &PKHOST_SECURE_GUID, NULL, &x->secure_link);
    IoRegisterDeviceInterface(pdo, &PKHOST_TOGGLE_GUID, NULL, &x->toggle_link);
    fdo->Flags |= DO_BUFFERED_IO;
    fdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

static VOID drv_unload(PDRIVER_OBJECT driver) {}

NTSTATUS DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING path)
{
    driver->DriverExtension->AddDevice = drv_add_device;
    driver->DriverUnload = drv_unload;
    driver->MajorFunction[IRP_MJ_PNP] = drv_pnp;
    driver->MajorFunction[IRP_MJ_POWER] = drv_power;
    driver->MajorFunction[IRP_MJ_CREATE] = drv_create;
    driver->MajorFunction[IRP_MJ_CLEANUP] = drv_cleanup;
    driver->MajorFunction[IRP_MJ_CLOSE] = drv_close;
    driver->MajorFunction[IRP_MJ_READ] = drv_read;
    driver->MajorFunction[IRP_MJ_WRITE] = drv_write;
    driver->MajorFunction[IRP_MJ_DEVICE_CONTROL] = drv_ioctl;
    return STATUS_SUCCESS;
}
