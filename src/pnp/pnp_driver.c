/*
 * pnp_driver.c — the in-process driver packages (PnpkitDriverRegister: what an INF does on
 * Windows), matching of device nodes to drivers by hardware id, and "SoftwareDevice", the bus
 * driver that owns the PDOs of software devices and of sim devices.
 *
 * drivers.lock protects the list of registered drivers and each entry's driver_object pointer.
 * DriverEntry runs (through PnpkitIoCreateDriver) outside the lock, once per driver, on the
 * thread that first matched a device (the PnP worker). A driver object is deleted at shutdown,
 * or by PnpkitDriverUnregister when it has no device left.
 */
#include "pnp/pnp_internal.h"
#include "pnp/swenum.h"
#include "io/io_internal.h"

#include <string.h>

static struct {
    pk_lock lock;
    LIST_ENTRY list;       /* pnp_driver.link */
    bool initialised;
    PDRIVER_OBJECT swenum; /* created on first use */
} drivers = { .lock = PK_LOCK_INIT };

static void init_locked(void)
{
    if (!drivers.initialised) {
        InitializeListHead(&drivers.list);
        drivers.initialised = true;
    }
}

static size_t msz_chars(PCZZWSTR s)
{
    size_t n = 0;
    while (s[n] || s[n + 1])
        n++;
    return n + 2;
}

static bool wide_ieq(PCWSTR a, PCWSTR b)
{
    for (;; a++, b++) {
        if (RtlUpcaseUnicodeChar(*a) != RtlUpcaseUnicodeChar(*b))
            return false;
        if (!*a)
            return true;
    }
}

static bool msz_contains(PCZZWSTR list, PCWSTR id)
{
    for (PCWSTR p = list; p && *p; p += PnpkitWcsLen(p) + 1)
        if (wide_ieq(p, id))
            return true;
    return false;
}

static pnp_driver *find_by_name_locked(PCWSTR name)
{
    for (PLIST_ENTRY e = drivers.list.Flink; e != &drivers.list; e = e->Flink) {
        pnp_driver *d = CONTAINING_RECORD(e, pnp_driver, link);
        if (wide_ieq(d->service_name, name))
            return d;
    }
    return NULL;
}

static NTSTATUS add_driver(PCWSTR ServiceName, PDRIVER_INITIALIZE DriverEntry, PCZZWSTR HardwareIds, int filter)
{
    pnp_driver *d;
    size_t chars;

    if (!pk_irql_ok("PnpkitDriverRegister", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!ServiceName || !ServiceName[0] || !DriverEntry || !HardwareIds || !HardwareIds[0])
        return STATUS_INVALID_PARAMETER;
    chars = msz_chars(HardwareIds);
    d = pk_zalloc(sizeof(*d));
    if (!d)
        return STATUS_INSUFFICIENT_RESOURCES;
    d->service_name = pk_wcsdup(ServiceName);
    d->hardware_ids = pk_alloc(chars * sizeof(WCHAR));
    if (!d->service_name || !d->hardware_ids) {
        pk_free(d->service_name);
        pk_free(d->hardware_ids);
        pk_free(d);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    memcpy(d->hardware_ids, HardwareIds, chars * sizeof(WCHAR));
    d->entry = DriverEntry;
    d->upper_filter = filter > 0;
    d->lower_filter = filter < 0;

    pk_lock_acquire(&drivers.lock);
    init_locked();
    if (find_by_name_locked(ServiceName)) {
        pk_lock_release(&drivers.lock);
        pk_free(d->service_name);
        pk_free(d->hardware_ids);
        pk_free(d);
        return STATUS_OBJECT_NAME_COLLISION;
    }
    InsertTailList(&drivers.list, &d->link);
    pk_lock_release(&drivers.lock);
    return STATUS_SUCCESS;
}

NTSTATUS PnpkitDriverRegister(PCWSTR ServiceName, PDRIVER_INITIALIZE DriverEntry, PCZZWSTR HardwareIds)
{
    return add_driver(ServiceName, DriverEntry, HardwareIds, 0);
}

NTSTATUS PnpkitDriverRegisterFilter(PCWSTR ServiceName, PDRIVER_INITIALIZE DriverEntry, PCZZWSTR HardwareIds,
                                    BOOLEAN UpperFilter)
{
    return add_driver(ServiceName, DriverEntry, HardwareIds, UpperFilter ? 1 : -1);
}

NTSTATUS PnpkitDriverUnregister(PCWSTR ServiceName)
{
    pnp_driver *d;
    PDRIVER_OBJECT obj;

    if (!pk_irql_ok("PnpkitDriverUnregister", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!ServiceName)
        return STATUS_INVALID_PARAMETER;
    pk_lock_acquire(&drivers.lock);
    init_locked();
    d = find_by_name_locked(ServiceName);
    if (!d) {
        pk_lock_release(&drivers.lock);
        return STATUS_OBJECT_NAME_NOT_FOUND;
    }
    obj = d->driver_object;
    /* Devices still use it, or registrations hold it (P42): it cannot be unloaded yet. The
     * creation reference is the only one a driver without devices may have. */
    if (obj && (obj->DeviceObject || io_object_references(obj) > 1)) {
        pk_lock_release(&drivers.lock);
        return STATUS_INVALID_DEVICE_STATE;
    }
    RemoveEntryList(&d->link);
    pk_lock_release(&drivers.lock);
    if (obj)
        PnpkitIoDeleteDriver(obj);
    pk_free(d->service_name);
    pk_free(d->hardware_ids);
    pk_free(d);
    return STATUS_SUCCESS;
}

PDRIVER_OBJECT pnp_driver_object(pnp_driver *d)
{
    PDRIVER_OBJECT obj;

    pk_lock_acquire(&drivers.lock);
    obj = d->driver_object;
    pk_lock_release(&drivers.lock);
    if (obj)
        return obj;
    /* DriverEntry runs once: only the PnP worker creates driver objects. */
    if (!NT_SUCCESS(PnpkitIoCreateDriver(d->service_name, d->entry, &obj)))
        return NULL;
    pk_lock_acquire(&drivers.lock);
    d->driver_object = obj;
    pk_lock_release(&drivers.lock);
    return obj;
}

/* The first function driver (and the filters) whose hardware ids contain one of the node's
 * ids, hardware ids first then compatible ids, in order. */
int pnp_driver_match(pnp_devnode *n, pnp_driver **out, int max)
{
    pnp_driver *function = NULL;
    int count = 0;

    pk_lock_acquire(&drivers.lock);
    init_locked();
    for (int pass = 0; pass < 2 && !function; pass++) {
        PCWSTR ids = pass == 0 ? n->hardware_ids : n->compatible_ids;
        for (PCWSTR id = ids; id && *id && !function; id += PnpkitWcsLen(id) + 1)
            for (PLIST_ENTRY e = drivers.list.Flink; e != &drivers.list; e = e->Flink) {
                pnp_driver *d = CONTAINING_RECORD(e, pnp_driver, link);
                if (!d->upper_filter && !d->lower_filter && msz_contains(d->hardware_ids, id)) {
                    function = d;
                    break;
                }
            }
    }
    if (function) {
        /* Bottom-up: lower filters, the function driver, upper filters. */
        for (int kind = 0; kind < 3; kind++) {
            if (kind == 1) {
                if (count < max)
                    out[count++] = function;
                continue;
            }
            for (PLIST_ENTRY e = drivers.list.Flink; e != &drivers.list; e = e->Flink) {
                pnp_driver *d = CONTAINING_RECORD(e, pnp_driver, link);
                if ((kind == 0 ? d->lower_filter : d->upper_filter) && count < max) {
                    bool match = false;
                    for (int pass = 0; pass < 2 && !match; pass++) {
                        PCWSTR ids = pass == 0 ? n->hardware_ids : n->compatible_ids;
                        for (PCWSTR id = ids; id && *id && !match; id += PnpkitWcsLen(id) + 1)
                            match = msz_contains(d->hardware_ids, id);
                    }
                    if (match)
                        out[count++] = d;
                }
            }
        }
    }
    pk_lock_release(&drivers.lock);
    return count;
}

void pnp_drivers_shutdown(void)
{
    for (;;) {
        PDRIVER_OBJECT obj = NULL;
        pk_lock_acquire(&drivers.lock);
        init_locked();
        for (PLIST_ENTRY e = drivers.list.Flink; e != &drivers.list; e = e->Flink) {
            pnp_driver *d = CONTAINING_RECORD(e, pnp_driver, link);
            if (d->driver_object && !d->driver_object->DeviceObject) {
                obj = d->driver_object;
                d->driver_object = NULL;
                break;
            }
        }
        if (!obj && drivers.swenum && !drivers.swenum->DeviceObject) {
            obj = drivers.swenum;
            drivers.swenum = NULL;
        }
        pk_lock_release(&drivers.lock);
        if (!obj)
            break;
        PnpkitIoDeleteDriver(obj);
    }
}

/* =============================================================================================
 * SoftwareDevice: the bus driver of software and sim devices
 * ============================================================================================= */

static NTSTATUS complete(PIRP irp, NTSTATUS status, ULONG_PTR information)
{
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = information;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
}

static NTSTATUS swenum_pnp(PDEVICE_OBJECT pdo, PIRP irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(irp);
    swenum_pdo_extension *ext = pdo->DeviceExtension;

    switch (sl->MinorFunction) {
    case IRP_MN_START_DEVICE:
        if (__atomic_exchange_n(&ext->fail_next_start, false, __ATOMIC_ACQ_REL))
            return complete(irp, STATUS_UNSUCCESSFUL, 0);
        return complete(irp, STATUS_SUCCESS, 0);
    case IRP_MN_QUERY_REMOVE_DEVICE:
        if (__atomic_load_n(&ext->veto_query_remove, __ATOMIC_ACQUIRE))
            return complete(irp, STATUS_UNSUCCESSFUL, 0);
        return complete(irp, STATUS_SUCCESS, 0);
    case IRP_MN_CANCEL_REMOVE_DEVICE:
    case IRP_MN_SURPRISE_REMOVAL:
    case IRP_MN_STOP_DEVICE:
    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE:
        return complete(irp, STATUS_SUCCESS, 0);
    case IRP_MN_REMOVE_DEVICE:
        /* A PDO stays while its bus reports the child; a device gone from the bus (SwDeviceClose,
         * an unplug, an eject) takes its PDO with it. */
        if (__atomic_load_n(&ext->missing, __ATOMIC_ACQUIRE)) {
            complete(irp, STATUS_SUCCESS, 0);
            IoDeleteDevice(pdo);
            return STATUS_SUCCESS;
        }
        return complete(irp, STATUS_SUCCESS, 0);
    case IRP_MN_QUERY_DEVICE_RELATIONS:
        if (sl->Parameters.QueryDeviceRelations.Type == TargetDeviceRelation) {
            PDEVICE_RELATIONS r = ExAllocatePool2(POOL_FLAG_PAGED, sizeof(DEVICE_RELATIONS), 'rDwS');
            if (!r)
                return complete(irp, STATUS_INSUFFICIENT_RESOURCES, 0);
            r->Count = 1;
            r->Objects[0] = pdo;
            ObReferenceObject(pdo);
            return complete(irp, STATUS_SUCCESS, (ULONG_PTR)r);
        }
        break;
    default:
        break;
    }
    /* Not handled: leave the status the IRP came with. */
    NTSTATUS status = irp->IoStatus.Status;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
}

static NTSTATUS swenum_success(PDEVICE_OBJECT device, PIRP irp) { return complete(irp, STATUS_SUCCESS, 0); }

static NTSTATUS swenum_entry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    driver->MajorFunction[IRP_MJ_PNP] = swenum_pnp;
    driver->MajorFunction[IRP_MJ_POWER] = swenum_success;
    driver->MajorFunction[IRP_MJ_CREATE] = swenum_success;
    driver->MajorFunction[IRP_MJ_CLEANUP] = swenum_success;
    driver->MajorFunction[IRP_MJ_CLOSE] = swenum_success;
    return STATUS_SUCCESS;
}

PDRIVER_OBJECT pnp_swenum_driver(void)
{
    PDRIVER_OBJECT obj;

    pk_lock_acquire(&drivers.lock);
    obj = drivers.swenum;
    pk_lock_release(&drivers.lock);
    if (obj)
        return obj;
    if (!NT_SUCCESS(PnpkitIoCreateDriver(u"SoftwareDevice", swenum_entry, &obj)))
        return NULL;
    pk_lock_acquire(&drivers.lock);
    if (drivers.swenum) {
        PDRIVER_OBJECT extra = obj;
        obj = drivers.swenum;
        pk_lock_release(&drivers.lock);
        PnpkitIoDeleteDriver(extra);
        return obj;
    }
    drivers.swenum = obj;
    pk_lock_release(&drivers.lock);
    return obj;
}

NTSTATUS pnp_create_pdo(pnp_devnode *n)
{
    PDRIVER_OBJECT bus = pnp_swenum_driver();
    PDEVICE_OBJECT pdo;
    NTSTATUS status;

    if (!bus)
        return STATUS_INSUFFICIENT_RESOURCES;
    status = IoCreateDevice(bus, sizeof(swenum_pdo_extension), NULL, FILE_DEVICE_UNKNOWN,
                            FILE_AUTOGENERATED_DEVICE_NAME, FALSE, &pdo);
    if (!NT_SUCCESS(status))
        return status;
    swenum_pdo_extension *ext = pdo->DeviceExtension;
    ext->node = n;
    ext->fail_next_start = pnp_sim_take_fail_start(n);
    pdo->Flags |= DO_BUS_ENUMERATED_DEVICE;
    pdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    pdo->DeviceObjectExtension->DeviceNode = n;
    pnp_node_mark_pdo(n, DOE_START_PENDING, 0);
    pnp_node_set_pdo(n, pdo);
    return STATUS_SUCCESS;
}
