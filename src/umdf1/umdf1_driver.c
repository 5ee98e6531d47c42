/*
 * umdf1_driver.c — loading a UMDF 1 driver and its devices: PnpkitUmdf1DriverRegister (the
 * package: an IDriverEntry for a service name), the WDF driver that hosts it (DriverEntry,
 * EvtDriverDeviceAdd, EvtDriverUnload), IWDFDriver, IWDFDeviceInitialize and IWDFDevice /
 * IWDFDevice2 (the IWDFDevice2 methods delegate to umdf1_remote.c, the I/O ones to umdf1_io.c).
 *
 * Locking: packages.lock protects the package list. Wrapper fields: u1_lock.
 *
 * Who frees what: a package holds one reference on its IDriverEntry, released when the package
 * is unregistered; the driver wrapper holds another while the WDFDRIVER exists. The device
 * wrapper holds its callback object and the IPnpCallbackRemoteInterfaceNotification it got from
 * it until its last Release.
 */
#include "umdf1/umdf1_internal.h"
#include "pnp/pnp_internal.h"
#include "wdf/wdf_internal.h"
#include <pnpkit/sim.h>

#include <string.h>

typedef struct u1_package {
    LIST_ENTRY link;              /* packages.list */
    WCHAR *service;               /* owned */
    IDriverEntry *entry;          /* referenced */
} u1_package;

static struct {
    pk_lock lock;                 /* protects list, initialised */
    LIST_ENTRY list;
    bool initialised;
} packages;

static void packages_init_locked(void)
{
    if (!packages.initialised) {
        InitializeListHead(&packages.list);
        packages.initialised = true;
    }
}

static bool same_name(PCWSTR a, PCWSTR b, size_t b_chars)
{
    size_t n = PnpkitWcsLen(a);

    if (n != b_chars)
        return false;
    for (size_t i = 0; i < n; i++) {
        WCHAR x = a[i], y = b[i];
        if (x >= u'a' && x <= u'z')
            x = (WCHAR)(x - 32);
        if (y >= u'a' && y <= u'z')
            y = (WCHAR)(y - 32);
        if (x != y)
            return false;
    }
    return true;
}

/* The IDriverEntry of a service (referenced), or NULL. */
static IDriverEntry *package_entry(PCWSTR name, size_t chars)
{
    IDriverEntry *entry = NULL;

    pk_lock_acquire(&packages.lock);
    packages_init_locked();
    for (PLIST_ENTRY e = packages.list.Flink; e != &packages.list; e = e->Flink) {
        u1_package *p = CONTAINING_RECORD(e, u1_package, link);
        if (same_name(p->service, name, chars)) {
            entry = p->entry;
            IDriverEntry_AddRef(entry);
            break;
        }
    }
    pk_lock_release(&packages.lock);
    return entry;
}

/* =============================================================================================
 * The hosting WDF driver
 * ============================================================================================= */

static void driver_destroy(u1_object *o)
{
    u1_driver *d = (u1_driver *)o;
    if (d->entry)
        IDriverEntry_Release(d->entry);
}

static VOID u1_driver_unload(WDFDRIVER driver)
{
    u1_driver *d = (u1_driver *)u1_object_from_wdf(driver);

    if (d)
        IDriverEntry_OnDeinitialize(d->entry, (IWDFDriver *)d);
}

static const IWDFDeviceInitializeVtbl u1_devinit_vtbl;

/* EvtDriverDeviceAdd: OnDeviceAdd with an IWDFDeviceInitialize valid for the call. */
static NTSTATUS u1_device_add(WDFDRIVER driver, PWDFDEVICE_INIT init)
{
    u1_driver *d = (u1_driver *)u1_object_from_wdf(driver);
    u1_devinit *di;
    HRESULT hr;

    if (!d)
        return STATUS_INVALID_DEVICE_STATE;
    di = u1_object_alloc(sizeof(*di), U1_DEVINIT, &u1_devinit_vtbl, true);
    if (!di)
        return STATUS_INSUFFICIENT_RESOURCES;
    di->init = init;
    di->driver = d;
    di->autoforward = WdfUseDefault;
    hr = IDriverEntry_OnDeviceAdd(d->entry, (IWDFDriver *)d, (IWDFDeviceInitialize *)di);
    pk_lock_acquire(&u1_lock);
    di->init = NULL; /* stale after the callback, whatever the driver kept */
    di->base.framework_ref = false;
    pk_lock_release(&u1_lock);
    u1_release(di);
    return u1_status(hr);
}

static NTSTATUS u1_driver_entry(PDRIVER_OBJECT wdm, PUNICODE_STRING registry_path)
{
    PUNICODE_STRING service = &wdm->DriverExtension->ServiceKeyName;
    IDriverEntry *entry = package_entry(service->Buffer, service->Length / sizeof(WCHAR));
    WDF_OBJECT_ATTRIBUTES attributes;
    WDF_DRIVER_CONFIG config;
    WDFDRIVER driver;
    u1_driver *d;
    NTSTATUS status;
    HRESULT hr;

    if (!entry)
        return STATUS_OBJECT_NAME_NOT_FOUND;
    d = u1_object_alloc(sizeof(*d), U1_DRIVER, &u1_driver_vtbl, true);
    if (!d) {
        IDriverEntry_Release(entry);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    d->entry = entry; /* the lookup's reference becomes the wrapper's */
    d->wdm = wdm;
    d->base.destroy = driver_destroy;
    WDF_DRIVER_CONFIG_INIT(&config, u1_device_add);
    config.EvtDriverUnload = u1_driver_unload;
    u1_attributes_init(&attributes, NULL);
    status = WdfDriverCreate(wdm, registry_path, &attributes, &config, &driver);
    if (!NT_SUCCESS(status)) {
        u1_release(d);
        return status;
    }
    u1_object_bind(&d->base, driver);
    hr = IDriverEntry_OnInitialize(entry, (IWDFDriver *)d);
    /* A failed OnInitialize fails the load; the WDFDRIVER goes with the driver object. */
    return u1_status(hr);
}

NTSTATUS PnpkitUmdf1DriverRegister(PCWSTR ServiceName, IDriverEntry *DriverEntry, PCZZWSTR HardwareIds)
{
    u1_package *p;
    size_t n;
    NTSTATUS status;

    if (!pk_irql_ok("PnpkitUmdf1DriverRegister", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!ServiceName || !ServiceName[0] || !DriverEntry || !HardwareIds || !HardwareIds[0])
        return STATUS_INVALID_PARAMETER;
    n = PnpkitWcsLen(ServiceName);
    p = pk_zalloc(sizeof(*p));
    if (!p)
        return STATUS_INSUFFICIENT_RESOURCES;
    p->service = pk_alloc((n + 1) * sizeof(WCHAR));
    if (!p->service) {
        status = STATUS_INSUFFICIENT_RESOURCES;
        goto free_package;
    }
    memcpy(p->service, ServiceName, (n + 1) * sizeof(WCHAR));
    p->entry = DriverEntry;
    IDriverEntry_AddRef(DriverEntry);
    /* Listed before the PnP layer knows the package, so that a device appearing at once finds
     * the entry; a name the PnP layer refuses is taken out again. */
    pk_lock_acquire(&packages.lock);
    packages_init_locked();
    for (PLIST_ENTRY e = packages.list.Flink; e != &packages.list; e = e->Flink)
        if (same_name(CONTAINING_RECORD(e, u1_package, link)->service, ServiceName, n)) {
            pk_lock_release(&packages.lock);
            status = STATUS_OBJECT_NAME_COLLISION;
            goto release_entry;
        }
    InsertTailList(&packages.list, &p->link);
    pk_lock_release(&packages.lock);
    status = PnpkitDriverRegister(ServiceName, u1_driver_entry, HardwareIds);
    if (NT_SUCCESS(status))
        return status;
    pk_lock_acquire(&packages.lock);
    RemoveEntryList(&p->link);
    pk_lock_release(&packages.lock);
release_entry:
    IDriverEntry_Release(DriverEntry);
    pk_free(p->service);
free_package:
    pk_free(p);
    return status;
}

NTSTATUS PnpkitUmdf1DriverUnregister(PCWSTR ServiceName)
{
    u1_package *p = NULL;
    NTSTATUS status;

    if (!ServiceName || !ServiceName[0])
        return STATUS_INVALID_PARAMETER;
    status = PnpkitDriverUnregister(ServiceName);
    if (!NT_SUCCESS(status))
        return status;
    pk_lock_acquire(&packages.lock);
    packages_init_locked();
    for (PLIST_ENTRY e = packages.list.Flink; e != &packages.list; e = e->Flink)
        if (same_name(CONTAINING_RECORD(e, u1_package, link)->service, ServiceName, PnpkitWcsLen(ServiceName))) {
            p = CONTAINING_RECORD(e, u1_package, link);
            RemoveEntryList(&p->link);
            break;
        }
    pk_lock_release(&packages.lock);
    if (p) {
        IDriverEntry_Release(p->entry);
        pk_free(p->service);
        pk_free(p);
    }
    return STATUS_SUCCESS;
}

/* =============================================================================================
 * IWDFDeviceInitialize
 * ============================================================================================= */

static PWDFDEVICE_INIT devinit_get(IWDFDeviceInitialize *This)
{
    u1_devinit *di = (u1_devinit *)This;
    PWDFDEVICE_INIT init;

    pk_lock_acquire(&u1_lock);
    init = di->init;
    pk_lock_release(&u1_lock);
    return init;
}

static void devinit_set_locking(IWDFDeviceInitialize *This, WDF_CALLBACK_CONSTRAINT type)
{
    if (devinit_get(This) && (type == None || type == WdfDeviceLevel))
        ((u1_devinit *)This)->locking_device = type == WdfDeviceLevel;
}

static void devinit_set_ppo(IWDFDeviceInitialize *This, BOOL owner)
{
    PWDFDEVICE_INIT init = devinit_get(This);
    if (init)
        WdfDeviceInitSetPowerPolicyOwnership(init, owner ? TRUE : FALSE);
}

static void devinit_set_filter(IWDFDeviceInitialize *This)
{
    PWDFDEVICE_INIT init = devinit_get(This);
    if (init)
        WdfFdoInitSetFilter(init);
}

static void devinit_autoforward(IWDFDeviceInitialize *This, WDF_TRI_STATE state)
{
    if (devinit_get(This) && (state == WdfFalse || state == WdfTrue || state == WdfUseDefault))
        ((u1_devinit *)This)->autoforward = state;
}

/* The device instance id of the device being added (its PnP node's, e.g. SWD\ENUM\unit0), with
 * the two-call rule of u1_copy_string. HRESULT_FROM_WIN32(ERROR_INVALID_STATE) once OnDeviceAdd
 * returned or CreateDevice used the object; E_POINTER for a NULL length. */
static HRESULT devinit_instance_id(IWDFDeviceInitialize *This, PWSTR buffer, DWORD *chars)
{
    PWDFDEVICE_INIT init = devinit_get(This);
    pnp_devnode *node;
    HRESULT hr;

    if (!chars)
        return E_POINTER;
    if (!init || !init->pdo)
        return U1_E_INVALID_STATE;
    node = pnp_node_from_pdo(init->pdo);
    if (!node)
        return U1_E_INVALID_STATE;
    hr = u1_copy_string(node->instance_id, node->instance_id_len, buffer, chars);
    pnp_node_dereference(node);
    return hr;
}

static const IWDFDeviceInitializeVtbl u1_devinit_vtbl = {
    .QueryInterface = (void *)u1_query_interface,
    .AddRef = (void *)u1_addref,
    .Release = (void *)u1_release,
    .SetLockingConstraint = devinit_set_locking,
    .SetPowerPolicyOwnership = devinit_set_ppo,
    .SetFilter = devinit_set_filter,
    .AutoForwardCreateCleanupClose = devinit_autoforward,
    .RetrieveDeviceInstanceId = devinit_instance_id,
};

/* =============================================================================================
 * IWDFDriver
 * ============================================================================================= */

static void device_destroy(u1_object *o)
{
    u1_device *dev = (u1_device *)o;

    if (dev->rin)
        IPnpCallbackRemoteInterfaceNotification_Release(dev->rin);
    if (dev->callback)
        IUnknown_Release(dev->callback);
    if (dev->driver)
        u1_release(dev->driver);
}

static void device_cleanup(u1_object *o) { u1_device_remote_cleanup((u1_device *)o); }

static HRESULT driver_create_device(IWDFDriver *This, IWDFDeviceInitialize *pDeviceInit, IUnknown *pCallbackInterface,
                                    IWDFDevice **ppDevice)
{
    u1_driver *d = (u1_driver *)This;
    u1_devinit *di = (u1_devinit *)pDeviceInit;
    WDF_OBJECT_ATTRIBUTES attributes;
    PWDFDEVICE_INIT init;
    WDFDEVICE device;
    u1_device *dev;
    NTSTATUS status;

    if (!ppDevice)
        return E_POINTER;
    if (!pDeviceInit || pDeviceInit->lpVtbl != &u1_devinit_vtbl || di->driver != d)
        return E_INVALIDARG;
    pk_lock_acquire(&u1_lock);
    init = di->init;
    di->init = NULL; /* used: a second CreateDevice with it is refused */
    pk_lock_release(&u1_lock);
    if (!init)
        return E_INVALIDARG;
    dev = u1_object_alloc(sizeof(*dev), U1_DEVICE, &u1_device_vtbl, true);
    if (!dev)
        return E_OUTOFMEMORY;
    InitializeListHead(&dev->registrations);
    InitializeListHead(&dev->interfaces);
    dev->base.destroy = device_destroy;
    dev->base.on_cleanup = device_cleanup;
    u1_io_setup_device_init(init, di->autoforward);
    u1_attributes_init(&attributes, NULL);
    if (di->locking_device) {
        attributes.ExecutionLevel = WdfExecutionLevelPassive;
        attributes.SynchronizationScope = WdfSynchronizationScopeDevice;
    }
    status = WdfDeviceCreate(&init, &attributes, &device);
    if (!NT_SUCCESS(status)) {
        u1_release(dev);
        return u1_hr(status);
    }
    dev->driver = d;
    u1_addref(d);
    if (pCallbackInterface) {
        dev->callback = pCallbackInterface;
        IUnknown_AddRef(pCallbackInterface);
        dev->rin = u1_query(pCallbackInterface, &IID_IPnpCallbackRemoteInterfaceNotification);
    }
    u1_object_bind(&dev->base, device);
    u1_addref(dev);
    *ppDevice = (IWDFDevice *)dev;
    return S_OK;
}

/* A plain WDF object under parent (default: the driver), wrapped as IWDFObject. A callback
 * object that answers IObjectCleanup gets OnCleanup when the object is deleted (with its
 * parent, or by DeleteWdfObject). The caller's reference is returned in *pp. */
static HRESULT driver_create_object(IWDFDriver *This, IUnknown *cb, IWDFObject *parent, IWDFObject **pp)
{
    WDF_OBJECT_ATTRIBUTES attributes;
    WDFOBJECT parent_h, h;
    u1_object *o;
    NTSTATUS status;

    if (!pp)
        return E_POINTER;
    *pp = NULL;
    parent_h = parent ? u1_parent_handle(parent) : u1_object_handle(&((u1_driver *)This)->base);
    if (!parent_h)
        return parent ? E_INVALIDARG : U1_E_GONE;
    o = u1_object_alloc(sizeof(*o), U1_GENERIC, &u1_generic_vtbl, true);
    if (!o)
        return E_OUTOFMEMORY;
    if (cb)
        o->cleanup = u1_query(cb, &IID_IObjectCleanup);
    u1_attributes_init(&attributes, parent_h);
    status = WdfObjectCreate(&attributes, &h);
    if (!NT_SUCCESS(status)) {
        u1_release(o);
        return u1_hr(status);
    }
    u1_object_bind(o, h);
    u1_addref(o);
    *pp = (IWDFObject *)o;
    return S_OK;
}

static HRESULT driver_create_prealloc_memory(IWDFDriver *This, BYTE *buffer, SIZE_T size, IUnknown *cb,
                                             IWDFObject *parent, IWDFMemory **pp)
{
    return u1_memory_create((u1_driver *)This, buffer, size, true, parent, pp);
}

static HRESULT driver_create_memory(IWDFDriver *This, SIZE_T size, IUnknown *cb, IWDFObject *parent, IWDFMemory **pp)
{
    return u1_memory_create((u1_driver *)This, NULL, size, false, parent, pp);
}

const IWDFDriverVtbl u1_driver_vtbl = {
    U1_IWDFOBJECT_METHODS,
    .CreateDevice = driver_create_device,
    .CreateWdfObject = driver_create_object,
    .CreatePreallocatedWdfMemory = driver_create_prealloc_memory,
    .CreateWdfMemory = driver_create_memory,
};

/* =============================================================================================
 * IWDFDevice / IWDFDevice2
 * ============================================================================================= */

u1_device *u1_device_of_wdf(WDFDEVICE device) { return (u1_device *)u1_object_from_wdf(device); }

static void device_retrieve_driver(IWDFDevice2 *This, IWDFDriver **pp)
{
    u1_device *dev = (u1_device *)This;

    if (!pp)
        return;
    u1_addref(dev->driver);
    *pp = (IWDFDriver *)dev->driver;
}

static HRESULT device_create_queue(IWDFDevice2 *This, IUnknown *cb, BOOL def, WDF_IO_QUEUE_DISPATCH_TYPE type,
                                   BOOL power, BOOL zero, IWDFIoQueue **pp)
{
    return u1_queue_create((u1_device *)This, cb, def, type, power, zero, pp);
}

static HRESULT device_create_request(IWDFDevice2 *This, IUnknown *cb, IWDFObject *parent, IWDFIoRequest **pp)
{
    return u1_request_create((u1_device *)This, cb, parent, pp);
}

/* A PCWSTR as the UNICODE_STRING the WDF calls take (NULL or empty: none). */
static PCUNICODE_STRING ref_string(PCWSTR ref, UNICODE_STRING *u)
{
    size_t n = PnpkitWcsLen(ref);

    if (!n)
        return NULL;
    if (n > 0x7FFF)
        n = 0x7FFF; /* longer than any name; IoRegisterDeviceInterface refuses it */
    u->Buffer = (PWSTR)(uintptr_t)ref; /* read only: the WDF calls copy it */
    u->Length = (USHORT)(n * sizeof(WCHAR));
    u->MaximumLength = u->Length;
    return u;
}

static HRESULT device_create_interface(IWDFDevice2 *This, REFGUID guid, PCWSTR ref)
{
    WDFDEVICE device = (WDFDEVICE)u1_object_handle(&((u1_device *)This)->base);
    UNICODE_STRING u;
    NTSTATUS status;

    if (!guid)
        return E_INVALIDARG;
    if (!device)
        return U1_E_GONE;
    status = WdfDeviceCreateDeviceInterface(device, guid, ref_string(ref, &u));
    if (status == STATUS_INVALID_DEVICE_REQUEST)
        return E_INVALIDARG; /* a reference string with \ or / */
    return u1_hr(status);
}

static HRESULT device_assign_interface_state(IWDFDevice2 *This, REFGUID guid, PCWSTR ref, BOOL enable)
{
    WDFDEVICE device = (WDFDEVICE)u1_object_handle(&((u1_device *)This)->base);
    PCUNICODE_STRING r;
    UNICODE_STRING u;
    WDFSTRING link;
    NTSTATUS status;

    if (!guid)
        return E_INVALIDARG;
    if (!device)
        return U1_E_GONE;
    r = ref_string(ref, &u);
    /* WdfDeviceSetDeviceInterfaceState says nothing about a missing instance; the retrieval
     * does (pnp.md 1.3: UMDF 1 reports it). */
    status = WdfStringCreate(NULL, NULL, &link);
    if (!NT_SUCCESS(status))
        return u1_hr(status);
    status = WdfDeviceRetrieveDeviceInterfaceString(device, guid, r, link);
    WdfObjectDelete(link);
    if (status == STATUS_OBJECT_NAME_NOT_FOUND)
        return HRESULT_FROM_WIN32(ERROR_NOT_FOUND);
    if (!NT_SUCCESS(status))
        return u1_hr(status);
    WdfDeviceSetDeviceInterfaceState(device, guid, r, enable ? TRUE : FALSE);
    return S_OK;
}

#define U1_MAX_EVENT_DATA (0xFFFFu - 36u)

static HRESULT device_post_event(IWDFDevice2 *This, REFGUID guid, WDF_EVENT_TYPE type, BYTE *data, DWORD size)
{
    WDFDEVICE device = (WDFDEVICE)u1_object_handle(&((u1_device *)This)->base);
    NTSTATUS status;

    if (type != WdfEventBroadcast || !guid || (!data && size))
        return E_INVALIDARG;
    if (size > U1_MAX_EVENT_DATA)
        return HRESULT_FROM_WIN32(ERROR_NOT_ENOUGH_MEMORY);
    if (!device)
        return U1_E_GONE;
    status = WdfDevicePostEvent(device, guid, type, data, size);
    if (status == STATUS_INVALID_DEVICE_REQUEST)
        return E_INVALIDARG; /* a system PnP event */
    return u1_hr(status);
}

static HRESULT device_register_rin(IWDFDevice2 *This, LPCGUID guid, BOOL include)
{
    return u1_register_notification((u1_device *)This, guid, include);
}

static HRESULT device_create_remote_interface(IWDFDevice2 *This, IWDFRemoteInterfaceInitialize *init, IUnknown *cb,
                                              IWDFRemoteInterface **pp)
{
    return u1_remote_interface_create((u1_device *)This, init, cb, pp);
}

static HRESULT device_create_remote_target(IWDFDevice2 *This, IUnknown *cb, IWDFObject *parent, IWDFRemoteTarget **pp)
{
    return u1_remote_target_create((u1_device *)This, cb, parent, pp);
}

const IWDFDevice2Vtbl u1_device_vtbl = {
    U1_IWDFOBJECT_METHODS,
    .RetrieveDriver = device_retrieve_driver,
    .CreateIoQueue = device_create_queue,
    .CreateRequest = device_create_request,
    .CreateDeviceInterface = device_create_interface,
    .AssignDeviceInterfaceState = device_assign_interface_state,
    .PostEvent = device_post_event,
    .RegisterRemoteInterfaceNotification = device_register_rin,
    .CreateRemoteInterface = device_create_remote_interface,
    .CreateRemoteTarget = device_create_remote_target,
};
