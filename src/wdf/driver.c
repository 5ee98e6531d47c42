/*
 * driver.c — WDFDRIVER: WdfDriverCreate, which hooks the framework into a DRIVER_OBJECT
 * (AddDevice, DriverUnload, every MajorFunction entry), the driver's unload, and the lookup from
 * a DRIVER_OBJECT to its WDFDRIVER.
 *
 * Locking: drivers.lock protects the list of WDFDRIVERs (one per DRIVER_OBJECT); a lookup
 * references the object under it. No lock is held while EvtDriverUnload runs.
 *
 * Who frees what: the WDFDRIVER is deleted by the framework's DriverUnload (after
 * EvtDriverUnload); its destroy hook frees the registry path copy. It does not reference the
 * DRIVER_OBJECT (that would keep the driver from unloading); a DriverEntry that fails after
 * WdfDriverCreate leaves its WDFDRIVER behind, because pnpkit then deletes the DRIVER_OBJECT
 * without calling DriverUnload.
 */
#include "wdf/wdf_internal.h"

#include <string.h>

static struct {
    pk_lock lock;
    LIST_ENTRY list; /* wdf_driver.link */
    bool initialised;
} drivers = { .lock = PK_LOCK_INIT };

static void list_init_locked(void)
{
    if (!drivers.initialised) {
        InitializeListHead(&drivers.list);
        drivers.initialised = true;
    }
}

static void driver_dispose(pk_object *o)
{
    wdf_driver *d = CONTAINING_RECORD(o, wdf_driver, header);

    pk_lock_acquire(&drivers.lock);
    RemoveEntryList(&d->link);
    InitializeListHead(&d->link);
    pk_lock_release(&drivers.lock);
}

static void driver_destroy(pk_object *o)
{
    wdf_driver *d = CONTAINING_RECORD(o, wdf_driver, header);

    pk_free(d->registry_path);
    d->registry_path = NULL;
    d->wdm = NULL;
}

static const pk_object_type driver_type = { "WDFDRIVER", PK_KIND_DRIVER, PK_OBJTYPE_NO_CLIENT_DELETE, driver_dispose,
                                            driver_destroy };

wdf_driver *wdf_driver_lookup(PDRIVER_OBJECT wdm)
{
    wdf_driver *found = NULL;

    pk_lock_acquire(&drivers.lock);
    list_init_locked();
    for (PLIST_ENTRY e = drivers.list.Flink; e != &drivers.list; e = e->Flink) {
        wdf_driver *d = CONTAINING_RECORD(e, wdf_driver, link);
        if (d->wdm == wdm) {
            found = d;
            pk_object_reference(&d->header);
            break;
        }
    }
    pk_lock_release(&drivers.lock);
    return found;
}

/* The framework's DriverUnload: the driver's EvtDriverUnload, then the WDFDRIVER goes. */
static VOID wdf_driver_unload(PDRIVER_OBJECT driver_object)
{
    wdf_driver *d = wdf_driver_lookup(driver_object);

    if (!d)
        return;
    if (d->config.EvtDriverUnload)
        d->config.EvtDriverUnload((WDFDRIVER)pk_object_handle(&d->header));
    wdf_object_delete(&d->header);
    pk_object_dereference(&d->header);
}

NTSTATUS WdfDriverCreate(PDRIVER_OBJECT DriverObject, PCUNICODE_STRING RegistryPath,
                         PWDF_OBJECT_ATTRIBUTES DriverAttributes, PWDF_DRIVER_CONFIG DriverConfig, WDFDRIVER *Driver)
{
    wdf_driver *d, *existing;
    NTSTATUS status;
    size_t chars;

    if (!pk_irql_ok("WdfDriverCreate", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!DriverObject || !DriverConfig)
        return STATUS_INVALID_PARAMETER;
    if (DriverConfig->Size != sizeof(WDF_DRIVER_CONFIG)) {
        pk_verifier_report("WdfDriverCreate", "WDF_DRIVER_CONFIG.Size is %u, expected %zu", DriverConfig->Size,
                           sizeof(WDF_DRIVER_CONFIG));
        return STATUS_INFO_LENGTH_MISMATCH;
    }
    if (!(DriverConfig->DriverInitFlags & WdfDriverInitNonPnpDriver) && !DriverConfig->EvtDriverDeviceAdd) {
        pk_verifier_report("WdfDriverCreate", "a PnP driver needs EvtDriverDeviceAdd");
        return STATUS_INVALID_PARAMETER;
    }
    if (DriverAttributes && DriverAttributes->Size == sizeof(WDF_OBJECT_ATTRIBUTES) &&
        DriverAttributes->ParentObject) {
        pk_verifier_report("WdfDriverCreate", "a WDFDRIVER has no parent");
        return STATUS_INVALID_PARAMETER;
    }
    existing = wdf_driver_lookup(DriverObject);
    if (existing) {
        pk_object_dereference(&existing->header);
        pk_verifier_report("WdfDriverCreate", "WdfDriverCreate was called for driver object %p already",
                           (void *)DriverObject);
        return STATUS_INVALID_DEVICE_STATE;
    }

    status = pk_object_create(&driver_type, DriverAttributes, NULL, sizeof(*d), "WdfDriverCreate", (void **)&d);
    if (!NT_SUCCESS(status))
        return status;
    chars = RegistryPath && RegistryPath->Buffer ? RegistryPath->Length / sizeof(WCHAR) : 0;
    d->registry_path = pk_alloc((chars + 1) * sizeof(WCHAR));
    if (!d->registry_path) {
        pk_object_abandon(&d->header);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    if (chars)
        memcpy(d->registry_path, RegistryPath->Buffer, chars * sizeof(WCHAR));
    d->registry_path[chars] = 0;
    d->config = *DriverConfig;
    /* Not referenced: a reference would keep PnpkitDriverUnregister from unloading the driver.
     * The WDFDRIVER is deleted by the driver's own DriverUnload, before the DRIVER_OBJECT goes. */
    d->wdm = DriverObject;

    /* Install the framework, as KMDF's FxDriver does: every IRP of the driver's devices goes
     * through wdf_device_dispatch. */
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        DriverObject->MajorFunction[i] = wdf_device_dispatch;
    if (!(DriverConfig->DriverInitFlags & WdfDriverInitNonPnpDriver))
        DriverObject->DriverExtension->AddDevice = wdf_driver_add_device;
    DriverObject->DriverUnload = wdf_driver_unload;

    pk_lock_acquire(&drivers.lock);
    list_init_locked();
    InsertTailList(&drivers.list, &d->link);
    pk_lock_release(&drivers.lock);

    if (Driver)
        *Driver = (WDFDRIVER)pk_object_handle(&d->header);
    pk_object_commit(&d->header);
    return STATUS_SUCCESS;
}

PDRIVER_OBJECT WdfDriverWdmGetDriverObject(WDFDRIVER Driver)
{
    pk_object *o;
    PDRIVER_OBJECT wdm;

    if (!pk_irql_ok("WdfDriverWdmGetDriverObject", DISPATCH_LEVEL))
        return NULL;
    if (!NT_SUCCESS(pk_object_reference_handle((WDFOBJECT)Driver, PK_KIND_DRIVER, "WdfDriverWdmGetDriverObject", &o)))
        return NULL;
    wdm = CONTAINING_RECORD(o, wdf_driver, header)->wdm;
    pk_object_dereference(o);
    return wdm;
}

WDFDRIVER WdfWdmDriverGetWdfDriverHandle(PDRIVER_OBJECT DriverObject)
{
    wdf_driver *d;
    WDFDRIVER handle;

    if (!pk_irql_ok("WdfWdmDriverGetWdfDriverHandle", DISPATCH_LEVEL) || !DriverObject)
        return NULL;
    d = wdf_driver_lookup(DriverObject);
    if (!d)
        return NULL;
    handle = (WDFDRIVER)pk_object_handle(&d->header);
    pk_object_dereference(&d->header);
    return handle;
}

PWSTR WdfDriverGetRegistryPath(WDFDRIVER Driver)
{
    pk_object *o;
    PWSTR path;

    if (!pk_irql_ok("WdfDriverGetRegistryPath", PASSIVE_LEVEL))
        return NULL;
    if (!NT_SUCCESS(pk_object_reference_handle((WDFOBJECT)Driver, PK_KIND_DRIVER, "WdfDriverGetRegistryPath", &o)))
        return NULL;
    path = CONTAINING_RECORD(o, wdf_driver, header)->registry_path;
    pk_object_dereference(o);
    return path;
}
