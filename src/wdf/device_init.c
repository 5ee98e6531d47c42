/*
 * device_init.c — WDFDEVICE_INIT: the framework's AddDevice (which allocates one and calls
 * EvtDriverDeviceAdd with it) and the WdfDeviceInit* / WdfFdoInit* calls that fill it.
 *
 * Locking: none. A WDFDEVICE_INIT belongs to the thread running EvtDriverDeviceAdd (the PnP
 * worker) from its allocation to its free.
 *
 * Who frees what: wdf_driver_add_device frees the init it allocated when EvtDriverDeviceAdd
 * returns, whether or not WdfDeviceCreate consumed it. If EvtDriverDeviceAdd fails after
 * WdfDeviceCreate succeeded, the device is detached and deleted here, as KMDF does.
 */
#include "wdf/wdf_internal.h"

#include <string.h>

static void init_free(PWDFDEVICE_INIT init)
{
    RtlFreeUnicodeString(&init->name);
    init->magic = 0;
    pk_free(init);
}

bool wdf_device_init_ok(PWDFDEVICE_INIT init, const char *api)
{
    if (!init || init->magic != WDF_DEVICE_INIT_MAGIC) {
        pk_verifier_stop(api, "%p is not a WDFDEVICE_INIT", (void *)init);
        return false;
    }
    if (init->consumed) {
        pk_verifier_stop(api, "WDFDEVICE_INIT %p was used by WdfDeviceCreate already", (void *)init);
        return false;
    }
    return true;
}

/* Deletes a device whose EvtDriverDeviceAdd failed after WdfDeviceCreate: it never started. */
static void delete_unstarted_device(wdf_device *dev)
{
    PDEVICE_OBJECT self = dev->self;

    if (dev->lower)
        IoDetachDevice(dev->lower);
    dev->lower = NULL;
    wdf_object_delete(&dev->header);
    IoDeleteDevice(self);
}

NTSTATUS wdf_driver_add_device(PDRIVER_OBJECT driver_object, PDEVICE_OBJECT pdo)
{
    wdf_driver *d = wdf_driver_lookup(driver_object);
    PWDFDEVICE_INIT init;
    NTSTATUS status;

    if (!d)
        return STATUS_INVALID_DEVICE_STATE;
    init = pk_zalloc(sizeof(*init));
    if (!init) {
        pk_object_dereference(&d->header);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    init->magic = WDF_DEVICE_INIT_MAGIC;
    init->driver = d;
    init->pdo = pdo;
    init->framework_owned = true;
    init->power_policy_owner = true;
    init->io_type = WdfDeviceIoBuffered;
    init->device_type = FILE_DEVICE_UNKNOWN;

    status = d->config.EvtDriverDeviceAdd((WDFDRIVER)pk_object_handle(&d->header), init);
    if (init->created) {
        if (NT_SUCCESS(status))
            init->created->self->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
        else
            delete_unstarted_device(init->created);
    }
    init_free(init);
    pk_object_dereference(&d->header);
    return status;
}

VOID WdfFdoInitSetFilter(PWDFDEVICE_INIT DeviceInit)
{
    if (!pk_irql_ok("WdfFdoInitSetFilter", DISPATCH_LEVEL) || !wdf_device_init_ok(DeviceInit, "WdfFdoInitSetFilter"))
        return;
    DeviceInit->filter = true;
}

VOID WdfDeviceInitSetExclusive(PWDFDEVICE_INIT DeviceInit, BOOLEAN IsExclusive)
{
    if (!pk_irql_ok("WdfDeviceInitSetExclusive", DISPATCH_LEVEL) ||
        !wdf_device_init_ok(DeviceInit, "WdfDeviceInitSetExclusive"))
        return;
    DeviceInit->exclusive = IsExclusive != FALSE;
}

VOID WdfDeviceInitSetPnpPowerEventCallbacks(PWDFDEVICE_INIT DeviceInit, PWDF_PNPPOWER_EVENT_CALLBACKS PnpPowerEventCallbacks)
{
    static const char api[] = "WdfDeviceInitSetPnpPowerEventCallbacks";

    if (!pk_irql_ok(api, DISPATCH_LEVEL) || !wdf_device_init_ok(DeviceInit, api))
        return;
    if (!PnpPowerEventCallbacks || PnpPowerEventCallbacks->Size != sizeof(WDF_PNPPOWER_EVENT_CALLBACKS)) {
        pk_verifier_stop(api, "WDF_PNPPOWER_EVENT_CALLBACKS is NULL or its Size is not %zu",
                         sizeof(WDF_PNPPOWER_EVENT_CALLBACKS));
        return;
    }
    DeviceInit->pnp = *PnpPowerEventCallbacks;
}

VOID WdfDeviceInitSetFileObjectConfig(PWDFDEVICE_INIT DeviceInit, PWDF_FILEOBJECT_CONFIG FileObjectConfig,
                                      PWDF_OBJECT_ATTRIBUTES FileObjectAttributes)
{
    static const char api[] = "WdfDeviceInitSetFileObjectConfig";

    if (!pk_irql_ok(api, DISPATCH_LEVEL) || !wdf_device_init_ok(DeviceInit, api))
        return;
    /* An invalid configuration is a verifier stop; outside verifier mode the call is ignored
     * (io.md 1.1). */
    if (!wdf_file_config_ok(FileObjectConfig, FileObjectAttributes, api))
        return;
    DeviceInit->file_config = *FileObjectConfig;
    DeviceInit->file_config_set = true;
    DeviceInit->file_attributes_set = FileObjectAttributes != NULL;
    if (FileObjectAttributes)
        DeviceInit->file_attributes = *FileObjectAttributes;
}

VOID WdfDeviceInitSetIoType(PWDFDEVICE_INIT DeviceInit, WDF_DEVICE_IO_TYPE IoType)
{
    if (!pk_irql_ok("WdfDeviceInitSetIoType", DISPATCH_LEVEL) || !wdf_device_init_ok(DeviceInit, "WdfDeviceInitSetIoType"))
        return;
    if (IoType < WdfDeviceIoNeither || IoType >= WdfDeviceIoMaximum) {
        pk_verifier_report("WdfDeviceInitSetIoType", "IoType %d is not a WDF_DEVICE_IO_TYPE", (int)IoType);
        return;
    }
    DeviceInit->io_type = IoType == WdfDeviceIoBufferedOrDirect ? WdfDeviceIoBuffered : IoType;
}

VOID WdfDeviceInitSetDeviceType(PWDFDEVICE_INIT DeviceInit, DEVICE_TYPE DeviceType)
{
    if (!pk_irql_ok("WdfDeviceInitSetDeviceType", DISPATCH_LEVEL) ||
        !wdf_device_init_ok(DeviceInit, "WdfDeviceInitSetDeviceType"))
        return;
    DeviceInit->device_type = DeviceType;
}

VOID WdfDeviceInitSetCharacteristics(PWDFDEVICE_INIT DeviceInit, ULONG DeviceCharacteristics, BOOLEAN OrInValues)
{
    if (!pk_irql_ok("WdfDeviceInitSetCharacteristics", DISPATCH_LEVEL) ||
        !wdf_device_init_ok(DeviceInit, "WdfDeviceInitSetCharacteristics"))
        return;
    DeviceInit->characteristics = OrInValues ? DeviceInit->characteristics | DeviceCharacteristics : DeviceCharacteristics;
}

VOID WdfDeviceInitSetRequestAttributes(PWDFDEVICE_INIT DeviceInit, PWDF_OBJECT_ATTRIBUTES RequestAttributes)
{
    static const char api[] = "WdfDeviceInitSetRequestAttributes";

    if (!pk_irql_ok(api, DISPATCH_LEVEL) || !wdf_device_init_ok(DeviceInit, api))
        return;
    if (!RequestAttributes || RequestAttributes->Size != sizeof(WDF_OBJECT_ATTRIBUTES) ||
        RequestAttributes->ParentObject) {
        pk_verifier_stop(api, "the request attributes are NULL, have a wrong Size, or a ParentObject");
        return;
    }
    DeviceInit->request_attributes = *RequestAttributes;
    DeviceInit->request_attributes_set = true;
}

NTSTATUS WdfDeviceInitAssignName(PWDFDEVICE_INIT DeviceInit, PCUNICODE_STRING DeviceName)
{
    UNICODE_STRING copy = { 0, 0, NULL };

    if (!pk_irql_ok("WdfDeviceInitAssignName", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!wdf_device_init_ok(DeviceInit, "WdfDeviceInitAssignName"))
        return STATUS_INVALID_PARAMETER;
    if (DeviceName && DeviceName->Length) {
        if ((DeviceName->Length & 1) || !DeviceName->Buffer)
            return STATUS_INVALID_PARAMETER;
        copy.Buffer = pk_alloc(DeviceName->Length + sizeof(WCHAR));
        if (!copy.Buffer)
            return STATUS_INSUFFICIENT_RESOURCES;
        memcpy(copy.Buffer, DeviceName->Buffer, DeviceName->Length);
        copy.Buffer[DeviceName->Length / sizeof(WCHAR)] = 0;
        copy.Length = DeviceName->Length;
        copy.MaximumLength = (USHORT)(DeviceName->Length + sizeof(WCHAR));
    }
    RtlFreeUnicodeString(&DeviceInit->name);
    DeviceInit->name = copy;
    return STATUS_SUCCESS;
}

VOID WdfDeviceInitSetPowerPolicyOwnership(PWDFDEVICE_INIT DeviceInit, BOOLEAN IsPowerPolicyOwner)
{
    if (!pk_irql_ok("WdfDeviceInitSetPowerPolicyOwnership", DISPATCH_LEVEL) ||
        !wdf_device_init_ok(DeviceInit, "WdfDeviceInitSetPowerPolicyOwnership"))
        return;
    DeviceInit->power_policy_owner = IsPowerPolicyOwner != FALSE;
}

PDEVICE_OBJECT WdfFdoInitWdmGetPhysicalDevice(PWDFDEVICE_INIT DeviceInit)
{
    if (!pk_irql_ok("WdfFdoInitWdmGetPhysicalDevice", DISPATCH_LEVEL) ||
        !wdf_device_init_ok(DeviceInit, "WdfFdoInitWdmGetPhysicalDevice"))
        return NULL;
    return DeviceInit->pdo;
}

PWDFDEVICE_INIT WdfControlDeviceInitAllocate(WDFDRIVER Driver, const void *SDDLString)
{
    pk_verifier_report("WdfControlDeviceInitAllocate", "control devices are not implemented in pnpkit");
    return NULL;
}

PWDFDEVICE_INIT WdfPdoInitAllocate(WDFDEVICE ParentDevice)
{
    pk_verifier_report("WdfPdoInitAllocate", "PDOs (bus drivers) are not implemented in pnpkit");
    return NULL;
}

VOID WdfDeviceInitFree(PWDFDEVICE_INIT DeviceInit)
{
    if (!DeviceInit || DeviceInit->magic != WDF_DEVICE_INIT_MAGIC) {
        pk_verifier_stop("WdfDeviceInitFree", "%p is not a WDFDEVICE_INIT", (void *)DeviceInit);
        return;
    }
    if (DeviceInit->framework_owned) {
        pk_verifier_report("WdfDeviceInitFree", "the WDFDEVICE_INIT of EvtDriverDeviceAdd belongs to the framework");
        return;
    }
    init_free(DeviceInit);
}
