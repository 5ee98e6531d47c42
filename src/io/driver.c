/*
 * driver.c — driver objects: PnpkitIoCreateDriver (DriverEntry), PnpkitIoDeleteDriver
 * (DriverUnload), and the default dispatch routine of the MajorFunction table.
 *
 * Locking: a driver object's fields are written before DriverEntry returns and then only read,
 * except its device list (io_db_lock, device.c) and Flags (DRVO_UNLOAD_INVOKED, set atomically
 * once). DriverEntry and DriverUnload run with no pnpkit lock held.
 *
 * Who frees what: the block (with DriverName and ServiceKeyName) is freed by
 * io_driver_destroy when the last reference goes: the creation reference (dropped by
 * PnpkitIoDeleteDriver, or at once when DriverEntry fails) and one per device object.
 */
#include "io/io_internal.h"

#include <string.h>

static const WCHAR driver_prefix[] = u"\\Driver\\";
static const WCHAR registry_prefix[] = u"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\";

/* Allocates prefix + name into s. */
static bool concat_string(PUNICODE_STRING s, const WCHAR *prefix, size_t prefix_chars, PCWSTR name, size_t name_chars)
{
    size_t chars = prefix_chars + name_chars;

    if (chars >= UNICODE_STRING_MAX_CHARS)
        return false;
    s->Buffer = pk_alloc((chars + 1) * sizeof(WCHAR));
    if (!s->Buffer)
        return false;
    memcpy(s->Buffer, prefix, prefix_chars * sizeof(WCHAR));
    memcpy(s->Buffer + prefix_chars, name, name_chars * sizeof(WCHAR));
    s->Buffer[chars] = 0;
    s->Length = (USHORT)(chars * sizeof(WCHAR));
    s->MaximumLength = (USHORT)((chars + 1) * sizeof(WCHAR));
    return true;
}

NTSTATUS io_invalid_device_request(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    Irp->IoStatus.Status = STATUS_INVALID_DEVICE_REQUEST;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_INVALID_DEVICE_REQUEST;
}

void io_driver_destroy(io_driver *d)
{
    PK_TRACE(PnpkitTraceVerbose, "io", "driver %p destroyed", (void *)&d->driver);
    pk_free(d->driver.DriverName.Buffer);
    pk_free(d->extension.ServiceKeyName.Buffer);
    d->header.magic = IO_OBJECT_DEAD;
    pk_free(d);
    pk_live_add(-1);
}

/* Clears DO_DEVICE_INITIALIZING on the devices DriverEntry created, as Windows' I/O manager
 * does after DriverEntry. */
static void finish_initializing_devices(PDRIVER_OBJECT driver)
{
    pk_lock_acquire(&io_db_lock);
    for (PDEVICE_OBJECT dev = driver->DeviceObject; dev; dev = dev->NextDevice)
        dev->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    pk_lock_release(&io_db_lock);
}

NTSTATUS PnpkitIoCreateDriver(PCWSTR Name, PDRIVER_INITIALIZE DriverEntry, PDRIVER_OBJECT *DriverObject)
{
    UNICODE_STRING registry_path = { 0 };
    size_t name_chars;
    io_driver *d;
    NTSTATUS status;
    KIRQL irql;

    if (!pk_irql_ok("PnpkitIoCreateDriver", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!Name || !*Name || !DriverEntry || !DriverObject)
        return STATUS_INVALID_PARAMETER;
    name_chars = PnpkitWcsLen(Name);

    d = pk_zalloc(sizeof(*d));
    if (!d)
        return STATUS_INSUFFICIENT_RESOURCES;
    if (!concat_string(&d->driver.DriverName, driver_prefix, ARRAYSIZE(driver_prefix) - 1, Name, name_chars))
        goto free_driver;
    if (!concat_string(&d->extension.ServiceKeyName, u"", 0, Name, name_chars))
        goto free_driver;
    if (!concat_string(&registry_path, registry_prefix, ARRAYSIZE(registry_prefix) - 1, Name, name_chars))
        goto free_driver;

    io_object_init(&d->header, IO_KIND_DRIVER);
    d->driver.Type = IO_TYPE_DRIVER;
    d->driver.Size = (CSHORT)sizeof(DRIVER_OBJECT);
    d->driver.DriverExtension = &d->extension;
    d->driver.DriverInit = DriverEntry;
    d->extension.DriverObject = &d->driver;
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        d->driver.MajorFunction[i] = io_invalid_device_request;
    pk_live_add(1);

    irql = pk_irql();
    status = DriverEntry(&d->driver, &registry_path);
    if (pk_irql() != irql) {
        pk_verifier_stop("PnpkitIoCreateDriver", "DriverEntry returned at IRQL %u, called at %u", pk_irql(), irql);
        pk_irql_restore(irql);
    }
    pk_free(registry_path.Buffer);

    if (!NT_SUCCESS(status)) {
        PK_TRACE(PnpkitTraceInfo, "io", "DriverEntry of %p failed: %s", (void *)&d->driver, PnpkitStatusName(status));
        if (pk_load_acquire(&d->driver.DeviceObject))
            pk_verifier_stop("PnpkitIoCreateDriver", "DriverEntry failed (%s) and left device objects behind",
                             PnpkitStatusName(status));
        /* Devices left behind keep the memory alive until they are deleted. */
        pk_store_release(&d->header.deleted, 1);
        io_object_dereference(&d->driver);
        return status;
    }
    finish_initializing_devices(&d->driver);
    PK_TRACE(PnpkitTraceVerbose, "io", "driver %p created", (void *)&d->driver);
    *DriverObject = &d->driver;
    return status;

free_driver:
    pk_free(registry_path.Buffer);
    pk_free(d->driver.DriverName.Buffer);
    pk_free(d->extension.ServiceKeyName.Buffer);
    pk_free(d);
    return STATUS_INSUFFICIENT_RESOURCES;
}

VOID PnpkitIoDeleteDriver(PDRIVER_OBJECT DriverObject)
{
    io_driver *d;
    PDRIVER_UNLOAD unload;
    KIRQL irql;

    if (!pk_irql_ok("PnpkitIoDeleteDriver", PASSIVE_LEVEL) || !DriverObject)
        return;
    if (!io_object_is(DriverObject, IO_KIND_DRIVER)) {
        pk_verifier_stop("PnpkitIoDeleteDriver", "%p is not a live driver object", (void *)DriverObject);
        return;
    }
    d = io_driver_of(DriverObject);
    if (__atomic_fetch_or(&DriverObject->Flags, DRVO_UNLOAD_INVOKED, __ATOMIC_ACQ_REL) & DRVO_UNLOAD_INVOKED) {
        pk_verifier_stop("PnpkitIoDeleteDriver", "driver object %p is deleted already", (void *)DriverObject);
        return;
    }
    unload = DriverObject->DriverUnload;
    if (unload) {
        irql = pk_irql();
        unload(DriverObject);
        if (pk_irql() != irql) {
            pk_verifier_stop("PnpkitIoDeleteDriver", "DriverUnload returned at IRQL %u, called at %u", pk_irql(), irql);
            pk_irql_restore(irql);
        }
    }
    if (pk_load_acquire(&DriverObject->DeviceObject))
        pk_verifier_stop("PnpkitIoDeleteDriver", "driver %p unloaded with device objects still present",
                         (void *)DriverObject);
    pk_store_release(&d->header.deleted, 1);
    io_object_dereference(DriverObject);
}
