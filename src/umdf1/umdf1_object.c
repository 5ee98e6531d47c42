/*
 * umdf1_object.c — what every UMDF 1 interface shares: allocation and reference counting of
 * the wrappers, IUnknown::QueryInterface, the IWDFObject methods, the link between a wrapper
 * and its WDF object (the u1_ctx context and the cleanup callback), and the status mapping.
 *
 * Locking: u1_lock (defined here) is the layer's leaf lock; see umdf1_internal.h for what it
 * protects. Who frees what: a wrapper is freed by its last Release (u1_release), after its
 * kind's destroy hook; the framework's reference is dropped by u1_object_wdf_cleanup.
 */
#include "umdf1/umdf1_internal.h"

#include <string.h>

pk_lock u1_lock;

WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(u1_ctx, u1_ctx_get)

/* ---- Status mapping ---- */

HRESULT u1_hr(NTSTATUS status)
{
    switch (status) {
    case STATUS_SUCCESS: return S_OK;
    case STATUS_INSUFFICIENT_RESOURCES:
    case STATUS_NO_MEMORY: return E_OUTOFMEMORY;
    case STATUS_INVALID_PARAMETER: return E_INVALIDARG;
    case STATUS_OBJECT_NAME_NOT_FOUND: return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
    case STATUS_INVALID_DEVICE_STATE: return HRESULT_FROM_WIN32(ERROR_INVALID_STATE);
    default: return NT_SUCCESS(status) ? S_OK : HRESULT_FROM_NT(status);
    }
}

HRESULT PnpkitUmdf1HresultFromNtStatus(NTSTATUS Status) { return u1_hr(Status); }

NTSTATUS u1_status(HRESULT hr)
{
    if (SUCCEEDED(hr))
        return STATUS_SUCCESS;
    if (hr & FACILITY_NT_BIT)
        return (NTSTATUS)(hr & ~FACILITY_NT_BIT);
    switch (hr) {
    case E_OUTOFMEMORY: return STATUS_INSUFFICIENT_RESOURCES;
    case E_INVALIDARG: return STATUS_INVALID_PARAMETER;
    case E_ACCESSDENIED: return STATUS_ACCESS_DENIED;
    case HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND): return STATUS_OBJECT_NAME_NOT_FOUND;
    case HRESULT_FROM_WIN32(ERROR_INVALID_STATE): return STATUS_INVALID_DEVICE_STATE;
    case HRESULT_FROM_WIN32(ERROR_CANCELLED):
    case HRESULT_FROM_WIN32(ERROR_OPERATION_ABORTED): return STATUS_CANCELLED;
    case E_NOTIMPL: return STATUS_NOT_IMPLEMENTED;
    default: return STATUS_UNSUCCESSFUL;
    }
}

HRESULT u1_copy_string(PCWSTR text, size_t chars, PWSTR buffer, DWORD *length)
{
    DWORD needed = (DWORD)chars + 1;

    if (!length || (!buffer && *length))
        return E_POINTER;
    if (!buffer) {
        *length = needed;
        return S_OK;
    }
    if (*length < needed) {
        *length = needed;
        return HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER);
    }
    if (chars)
        memcpy(buffer, text, chars * sizeof(WCHAR));
    buffer[chars] = 0;
    *length = needed;
    return S_OK;
}

/* ---- Wrappers ---- */

void *u1_object_alloc(size_t size, u1_kind kind, const void *vtbl, bool framework_ref)
{
    u1_object *o = pk_zalloc(size);

    if (!o)
        return NULL;
    o->vtbl = vtbl;
    o->refs = 1;
    o->kind = (uint8_t)kind;
    o->framework_ref = framework_ref;
    pthread_mutex_init(&o->user_lock, NULL);
    pk_live_add(1);
    return o;
}

ULONG u1_addref(void *p)
{
    u1_object *o = p;
    return pk_fetch_add(&o->refs, 1) + 1;
}

ULONG u1_release(void *p)
{
    u1_object *o = p;
    uint32_t left;
    IObjectCleanup *cleanup;

    left = pk_fetch_sub(&o->refs, 1) - 1;
    if (left)
        return left;
    if (o->destroy)
        o->destroy(o);
    pk_lock_acquire(&u1_lock);
    cleanup = o->cleanup;
    o->cleanup = NULL;
    pk_lock_release(&u1_lock);
    if (cleanup)
        IObjectCleanup_Release(cleanup);
    pthread_mutex_destroy(&o->user_lock);
    o->vtbl = NULL; /* a later call through a stale pointer faults instead of running */
    pk_free(o);
    pk_live_add(-1);
    return 0;
}

void u1_attributes_init(WDF_OBJECT_ATTRIBUTES *attributes, WDFOBJECT parent)
{
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(attributes, u1_ctx);
    attributes->EvtCleanupCallback = u1_object_wdf_cleanup;
    attributes->ParentObject = parent;
}

void u1_object_bind(u1_object *o, WDFOBJECT wdf)
{
    u1_ctx *ctx = u1_ctx_get(wdf);

    pk_lock_acquire(&u1_lock);
    o->wdf = wdf;
    if (ctx)
        ctx->com = o;
    pk_lock_release(&u1_lock);
}

u1_object *u1_object_bind_or_get(u1_object *o, WDFOBJECT wdf)
{
    u1_ctx *ctx = u1_ctx_get(wdf);
    u1_object *have;

    if (!ctx)
        return NULL;
    pk_lock_acquire(&u1_lock);
    have = ctx->com;
    if (!have) {
        ctx->com = o;
        o->wdf = wdf;
        have = o;
    }
    pk_lock_release(&u1_lock);
    return have;
}

u1_object *u1_object_from_wdf(WDFOBJECT wdf)
{
    u1_ctx *ctx = wdf ? u1_ctx_get(wdf) : NULL;
    u1_object *o;

    if (!ctx)
        return NULL;
    pk_lock_acquire(&u1_lock);
    o = ctx->com;
    pk_lock_release(&u1_lock);
    return o;
}

WDFOBJECT u1_object_handle(u1_object *o)
{
    WDFOBJECT h;

    if (!o)
        return NULL;
    pk_lock_acquire(&u1_lock);
    h = o->wdf;
    pk_lock_release(&u1_lock);
    return h;
}

/* The WDF object is being deleted (its cleanup callback, at PASSIVE_LEVEL for passive objects):
 * the driver's IObjectCleanup runs while the interface still works, the kind lets go of what
 * it holds below, the wrapper becomes stale, and the framework's reference goes. */
VOID u1_object_wdf_cleanup(WDFOBJECT object)
{
    u1_ctx *ctx = u1_ctx_get(object);
    u1_object *o;
    IObjectCleanup *cleanup;
    bool drop;

    if (!ctx)
        return;
    pk_lock_acquire(&u1_lock);
    o = ctx->com;
    ctx->com = NULL;
    if (o) {
        cleanup = o->cleanup;
        if (cleanup)
            IObjectCleanup_AddRef(cleanup);
        o->deleted = true;
    }
    pk_lock_release(&u1_lock);
    if (!o)
        return;
    if (cleanup) {
        IObjectCleanup_OnCleanup(cleanup, (IWDFObject *)o);
        IObjectCleanup_Release(cleanup);
    }
    if (o->on_cleanup)
        o->on_cleanup(o);
    pk_lock_acquire(&u1_lock);
    o->wdf = NULL;
    drop = o->framework_ref;
    o->framework_ref = false;
    pk_lock_release(&u1_lock);
    if (drop)
        u1_release(o);
}

bool u1_is_kind(const void *p, u1_kind kind)
{
    const u1_object *o = p;
    const void *v;

    if (!o)
        return false;
    switch (kind) {
    case U1_DRIVER: v = &u1_driver_vtbl; break;
    case U1_DEVICE: v = &u1_device_vtbl; break;
    case U1_QUEUE: v = &u1_queue_vtbl; break;
    case U1_REQUEST: v = &u1_request_vtbl; break;
    case U1_FILE: v = &u1_file_vtbl; break;
    case U1_MEMORY: v = &u1_memory_vtbl; break;
    case U1_TARGET: v = &u1_target_vtbl; break;
    case U1_RIFACE: v = &u1_riface_vtbl; break;
    case U1_RINIT: v = &u1_rinit_vtbl; break;
    case U1_GENERIC: v = &u1_generic_vtbl; break;
    default: return false;
    }
    return o->vtbl == v;
}

WDFOBJECT u1_parent_handle(IWDFObject *parent)
{
    static const u1_kind kinds[] = { U1_DRIVER, U1_DEVICE, U1_QUEUE, U1_REQUEST, U1_FILE,
                                     U1_MEMORY, U1_TARGET, U1_RIFACE, U1_GENERIC };

    for (size_t i = 0; i < ARRAYSIZE(kinds); i++)
        if (u1_is_kind(parent, kinds[i]))
            return u1_object_handle((u1_object *)parent);
    return NULL;
}

/* A plain framework object (CreateWdfObject): the IWDFObject methods and nothing else. */
const IWDFObjectVtbl u1_generic_vtbl = { U1_IWDFOBJECT_METHODS };

/* ---- IUnknown ---- */

/* Which interfaces each kind answers, besides IUnknown. */
static bool kind_answers(u1_kind kind, REFIID riid)
{
    bool object = kind != U1_DEVINIT && kind != U1_RINIT && kind != U1_PARAMS;

    if (object && IsEqualGUID(riid, &IID_IWDFObject))
        return true;
    switch (kind) {
    case U1_DRIVER: return IsEqualGUID(riid, &IID_IWDFDriver);
    case U1_DEVINIT: return IsEqualGUID(riid, &IID_IWDFDeviceInitialize);
    case U1_DEVICE: return IsEqualGUID(riid, &IID_IWDFDevice) || IsEqualGUID(riid, &IID_IWDFDevice2);
    case U1_QUEUE: return IsEqualGUID(riid, &IID_IWDFIoQueue);
    case U1_REQUEST: return IsEqualGUID(riid, &IID_IWDFIoRequest);
    case U1_FILE: return IsEqualGUID(riid, &IID_IWDFFile);
    case U1_MEMORY: return IsEqualGUID(riid, &IID_IWDFMemory);
    case U1_TARGET: return IsEqualGUID(riid, &IID_IWDFIoTarget) || IsEqualGUID(riid, &IID_IWDFRemoteTarget);
    case U1_RINIT: return IsEqualGUID(riid, &IID_IWDFRemoteInterfaceInitialize);
    case U1_RIFACE: return IsEqualGUID(riid, &IID_IWDFRemoteInterface);
    case U1_PARAMS: return IsEqualGUID(riid, &IID_IWDFRequestCompletionParams);
    case U1_GENERIC: return false; /* IWDFObject only */
    }
    return false;
}

HRESULT u1_query_interface(void *This, REFIID riid, void **ppv)
{
    u1_object *o = This;

    if (!ppv)
        return E_POINTER;
    if (!riid) {
        *ppv = NULL;
        return E_INVALIDARG;
    }
    if (IsEqualGUID(riid, &IID_IUnknown) || kind_answers((u1_kind)o->kind, riid)) {
        u1_addref(o);
        *ppv = o;
        return S_OK;
    }
    *ppv = NULL; /* COM's rule: the out pointer is NULL on E_NOINTERFACE */
    return E_NOINTERFACE;
}

void *u1_query(IUnknown *cb, REFIID riid)
{
    void *p = NULL;

    if (!cb || FAILED(IUnknown_QueryInterface(cb, riid, &p)))
        return NULL;
    return p;
}

/* ---- IWDFObject ---- */

/* Kinds the driver may delete; the others belong to the framework (io.md 1.4, WDF's rules). */
static bool driver_deletable(u1_kind kind)
{
    return kind == U1_REQUEST || kind == U1_MEMORY || kind == U1_TARGET || kind == U1_RIFACE || kind == U1_GENERIC;
}

HRESULT u1_delete_wdf_object(void *This)
{
    u1_object *o = This;
    WDFOBJECT h;
    bool framework_request = false;

    if (!driver_deletable((u1_kind)o->kind))
        return U1_E_INVALID_STATE;
    pk_lock_acquire(&u1_lock);
    h = o->deleted ? NULL : o->wdf;
    if (h)
        o->deleted = true;
    pk_lock_release(&u1_lock);
    if (!h)
        return U1_E_INVALID_STATE;
    if (o->kind == U1_REQUEST)
        framework_request = WdfRequestGetIoQueue((WDFREQUEST)h) != NULL;
    if (framework_request) {
        pk_lock_acquire(&u1_lock);
        o->deleted = false;
        pk_lock_release(&u1_lock);
        return U1_E_INVALID_STATE;
    }
    WdfObjectDelete(h);
    return S_OK;
}

HRESULT u1_assign_context(void *This, IObjectCleanup *cb, void *data)
{
    u1_object *o = This;
    HRESULT hr = S_OK;

    pk_lock_acquire(&u1_lock);
    if (o->context_set) {
        hr = HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS);
    } else if (o->kind != U1_DEVINIT && o->kind != U1_RINIT && o->kind != U1_PARAMS && !o->wdf && o->deleted) {
        hr = U1_E_GONE;
    } else {
        o->context_set = true;
        o->context = data;
        o->cleanup = cb;
        if (cb)
            IObjectCleanup_AddRef(cb);
    }
    pk_lock_release(&u1_lock);
    return hr;
}

HRESULT u1_retrieve_context(void *This, void **ppv)
{
    u1_object *o = This;
    HRESULT hr = S_OK;

    if (!ppv)
        return E_POINTER;
    pk_lock_acquire(&u1_lock);
    if (o->context_set)
        *ppv = o->context;
    else
        hr = HRESULT_FROM_WIN32(ERROR_NOT_FOUND);
    pk_lock_release(&u1_lock);
    return hr;
}

void u1_acquire_lock(void *This) { pthread_mutex_lock(&((u1_object *)This)->user_lock); }

void u1_release_lock(void *This) { pthread_mutex_unlock(&((u1_object *)This)->user_lock); }
