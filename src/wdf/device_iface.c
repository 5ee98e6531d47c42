/*
 * device_iface.c — the device interfaces of a WDFDEVICE: WdfDeviceCreateDeviceInterface,
 * WdfDeviceSetDeviceInterfaceState(Ex), WdfDeviceRetrieveDeviceInterfaceString, and the
 * automatic enable at start and disable at removal (pnp.md 1.3, "WDF").
 *
 * Each instance the driver registered is a wdf_interface record in dev->interfaces, holding its
 * link. The PnP layer owns the instance itself (IoRegisterDeviceInterface, IoSetDeviceInterface-
 * State); these records only remember which instances the WDF device manages.
 *
 * Locking: dev->iface_lock protects the list. Records are never removed before the device's
 * dispose, so a record found under the lock stays valid; the IoSetDeviceInterfaceState calls are
 * made after unlocking (they queue notifications and take the PnP layer's locks).
 *
 * Who frees what: wdf_interfaces_free (the device's dispose hook) frees every record.
 */
#include "wdf/wdf_internal.h"

#include <string.h>

static bool ustring_ok(PCUNICODE_STRING s)
{
    if (!s)
        return true;
    if ((s->Length & 1) || (s->MaximumLength & 1) || s->Length > s->MaximumLength)
        return false;
    if ((s->MaximumLength || s->Length) && !s->Buffer)
        return false;
    return true;
}

/* An absent reference string matches only an absent or empty one (pnp.md 1.3). Case matters
 * as the PnP layer stores the string as given. */
static bool ref_matches(const wdf_interface *i, PCUNICODE_STRING ref)
{
    USHORT len = ref ? ref->Length : 0;

    if (i->ref.Length != len)
        return false;
    return len == 0 || memcmp(i->ref.Buffer, ref->Buffer, len) == 0;
}

static wdf_interface *find_locked(wdf_device *dev, const GUID *guid, PCUNICODE_STRING ref)
{
    for (PLIST_ENTRY e = dev->interfaces.Flink; e != &dev->interfaces; e = e->Flink) {
        wdf_interface *i = CONTAINING_RECORD(e, wdf_interface, link);
        if (IsEqualGUID(&i->guid, guid) && ref_matches(i, ref))
            return i;
    }
    return NULL;
}

NTSTATUS WdfDeviceCreateDeviceInterface(WDFDEVICE Device, const GUID *InterfaceClassGUID, PCUNICODE_STRING ReferenceString)
{
    static const char api[] = "WdfDeviceCreateDeviceInterface";
    wdf_interface *i;
    wdf_device *dev;
    NTSTATUS status;
    UNICODE_STRING ref;

    if (!pk_irql_ok(api, PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!InterfaceClassGUID || !ustring_ok(ReferenceString))
        return STATUS_INVALID_PARAMETER;
    status = wdf_device_reference(Device, api, &dev);
    if (!NT_SUCCESS(status))
        return status;
    pk_lock_acquire(&dev->iface_lock);
    i = find_locked(dev, InterfaceClassGUID, ReferenceString);
    pk_lock_release(&dev->iface_lock);
    if (i) {
        status = STATUS_SUCCESS;
        goto release;
    }
    i = pk_zalloc(sizeof(*i));
    if (!i) {
        status = STATUS_INSUFFICIENT_RESOURCES;
        goto release;
    }
    i->guid = *InterfaceClassGUID;
    if (ReferenceString && ReferenceString->Length) {
        i->ref.Buffer = pk_alloc(ReferenceString->Length + sizeof(WCHAR));
        if (!i->ref.Buffer) {
            pk_free(i);
            status = STATUS_INSUFFICIENT_RESOURCES;
            goto release;
        }
        memcpy(i->ref.Buffer, ReferenceString->Buffer, ReferenceString->Length);
        i->ref.Buffer[ReferenceString->Length / sizeof(WCHAR)] = 0;
        i->ref.Length = ReferenceString->Length;
        i->ref.MaximumLength = (USHORT)(ReferenceString->Length + sizeof(WCHAR));
    }
    ref = i->ref;
    status = IoRegisterDeviceInterface(dev->pdo, InterfaceClassGUID, ref.Length ? &ref : NULL, &i->link_name);
    if (!NT_SUCCESS(status)) {
        RtlFreeUnicodeString(&i->ref);
        pk_free(i);
        goto release;
    }
    status = STATUS_SUCCESS;
    /* Instances registered before the first start are enabled by the framework at start;
     * later ones wait for the driver (P22, P24). */
    i->auto_enable = !dev->started_once;
    pk_lock_acquire(&dev->iface_lock);
    if (find_locked(dev, InterfaceClassGUID, ReferenceString)) {
        /* Registered concurrently by another thread of the driver: keep that record. */
        pk_lock_release(&dev->iface_lock);
        RtlFreeUnicodeString(&i->link_name);
        RtlFreeUnicodeString(&i->ref);
        pk_free(i);
        goto release;
    }
    InsertTailList(&dev->interfaces, &i->link);
    pk_lock_release(&dev->iface_lock);
release:
    pk_object_dereference(&dev->header);
    return status;
}

static void set_state(WDFDEVICE Device, const GUID *guid, PCUNICODE_STRING ref, BOOLEAN enable, bool ex,
                      const char *api)
{
    wdf_interface *i;
    wdf_device *dev;
    UNICODE_STRING link;

    if (!pk_irql_ok(api, PASSIVE_LEVEL) || !guid || !ustring_ok(ref))
        return;
    if (!NT_SUCCESS(wdf_device_reference(Device, api, &dev)))
        return;
    pk_lock_acquire(&dev->iface_lock);
    i = find_locked(dev, guid, ref);
    if (i) {
        if (enable)
            i->auto_enable = true;
        else if (ex)
            i->auto_enable = false;
        link = i->link_name;
    }
    pk_lock_release(&dev->iface_lock);
    if (i) {
        /* Enabling before the device started is recorded by the PnP layer and takes effect when
         * the start completes. */
        IoSetDeviceInterfaceState(&link, enable);
    }
    pk_object_dereference(&dev->header);
}

VOID WdfDeviceSetDeviceInterfaceState(WDFDEVICE Device, const GUID *InterfaceClassGUID, PCUNICODE_STRING ReferenceString,
                                      BOOLEAN IsInterfaceEnabled)
{
    set_state(Device, InterfaceClassGUID, ReferenceString, IsInterfaceEnabled, false, "WdfDeviceSetDeviceInterfaceState");
}

VOID WdfDeviceSetDeviceInterfaceStateEx(WDFDEVICE Device, const GUID *InterfaceClassGUID,
                                        PCUNICODE_STRING ReferenceString, BOOLEAN IsInterfaceEnabled)
{
    set_state(Device, InterfaceClassGUID, ReferenceString, IsInterfaceEnabled, true,
              "WdfDeviceSetDeviceInterfaceStateEx");
}

NTSTATUS WdfDeviceRetrieveDeviceInterfaceString(WDFDEVICE Device, const GUID *InterfaceClassGUID,
                                                PCUNICODE_STRING ReferenceString, WDFSTRING String)
{
    static const char api[] = "WdfDeviceRetrieveDeviceInterfaceString";
    wdf_interface *i;
    wdf_device *dev;
    pk_object *string;
    NTSTATUS status;
    UNICODE_STRING link;

    if (!pk_irql_ok(api, PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!InterfaceClassGUID || !ustring_ok(ReferenceString))
        return STATUS_INVALID_PARAMETER;
    status = wdf_device_reference(Device, api, &dev);
    if (!NT_SUCCESS(status))
        return status;
    status = pk_object_reference_handle((WDFOBJECT)String, PK_KIND_STRING, api, &string);
    if (!NT_SUCCESS(status))
        goto release_device;
    pk_lock_acquire(&dev->iface_lock);
    i = find_locked(dev, InterfaceClassGUID, ReferenceString);
    if (i)
        link = i->link_name;
    pk_lock_release(&dev->iface_lock);
    /* The record (and its link) lives until the device's dispose, and we hold the device. */
    status = i ? wdf_string_assign(string, &link) : STATUS_OBJECT_NAME_NOT_FOUND;
    pk_object_dereference(string);
release_device:
    pk_object_dereference(&dev->header);
    return status;
}

/* Walks the records, acting on each after unlocking. Records are only appended before the
 * device's dispose, so the entry we stand on stays valid; its successor is read under the lock. */
static void for_each_link(wdf_device *dev, bool enable)
{
    PLIST_ENTRY e;

    pk_lock_acquire(&dev->iface_lock);
    e = dev->interfaces.Flink;
    pk_lock_release(&dev->iface_lock);
    for (;;) {
        UNICODE_STRING link;
        bool act;

        pk_lock_acquire(&dev->iface_lock);
        if (e == &dev->interfaces) {
            pk_lock_release(&dev->iface_lock);
            break;
        }
        wdf_interface *i = CONTAINING_RECORD(e, wdf_interface, link);
        act = enable ? i->auto_enable : true;
        link = i->link_name;
        e = e->Flink;
        pk_lock_release(&dev->iface_lock);
        /* Disabling a disabled instance returns STATUS_OBJECT_NAME_NOT_FOUND and announces
         * nothing: harmless. */
        if (act)
            IoSetDeviceInterfaceState(&link, enable);
    }
}

/* At start, after self-managed I/O initialization (PnP worker, PASSIVE_LEVEL). */
void wdf_interfaces_enable_at_start(wdf_device *dev) { for_each_link(dev, true); }

/* On removal, after EvtDeviceReleaseHardware (P25). */
void wdf_interfaces_disable_all(wdf_device *dev) { for_each_link(dev, false); }

void wdf_interfaces_free(wdf_device *dev)
{
    pk_lock_acquire(&dev->iface_lock);
    while (!IsListEmpty(&dev->interfaces)) {
        wdf_interface *i = CONTAINING_RECORD(RemoveHeadList(&dev->interfaces), wdf_interface, link);
        RtlFreeUnicodeString(&i->link_name);
        RtlFreeUnicodeString(&i->ref);
        pk_free(i);
    }
    pk_lock_release(&dev->iface_lock);
}
