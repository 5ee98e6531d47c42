/*
 * umdf1_remote.c — seed 001's remote-interface model: RegisterRemoteInterfaceNotification
 * (a PnP interface-change registration per device and class), OnRemoteInterfaceArrival with
 * IWDFRemoteInterfaceInitialize, IWDFRemoteInterface and its removal, IWDFRemoteTarget over a
 * remote WDFIOTARGET (its removal callbacks become IRemoteTargetCallbackRemoval's), and the
 * delivery of custom events to IRemoteInterfaceCallbackEvent through a target-device
 * registration held while a target opened with OpenRemoteInterface is open.
 *
 * Threads: every callback of this file runs on the PnP worker, at PASSIVE_LEVEL, one at a time
 * (the PnP layer's rule), with no lock held. u1_in_callback counts, per thread, how deep we
 * are in them: OpenRemoteInterface uses it for seed 001's work-item rule.
 *
 * Locking: u1_lock (the fields marked so in umdf1_internal.h).
 *
 * Who frees what:
 *   - a u1_registration belongs to its device's list; the device's cleanup unregisters it
 *     (waiting for a callback in progress) and frees it;
 *   - an Init lives for its arrival callback (the framework's reference) plus whatever
 *     references the driver took; it is invalid after the callback;
 *   - a remote interface is a WDF object under the device; the device's list holds no
 *     reference (its cleanup unlinks it); a target that opened it holds one;
 *   - a target's custom-event registration is removed by Close, by the default
 *     remove-complete handling, and at the latest by the target's cleanup.
 */
#include "umdf1/umdf1_internal.h"

#include <stddef.h>
#include <string.h>

typedef struct u1_registration {
    LIST_ENTRY link;              /* device->registrations (u1_lock) */
    GUID guid;
    PVOID entry;                  /* IoRegisterPlugPlayNotification's; NULL while registering */
    u1_device *device;            /* not referenced: the device's cleanup ends the registration */
} u1_registration;

static __thread int u1_in_callback;

/* ---- Links ---- */

#define LINK_PREFIX 4 /* \??\ or \\?\ */

static WCHAR *user_form_copy(PCUNICODE_STRING kernel, size_t *chars)
{
    size_t n = kernel->Length / sizeof(WCHAR);
    WCHAR *s = pk_alloc((n + 1) * sizeof(WCHAR));

    if (!s)
        return NULL;
    memcpy(s, kernel->Buffer, n * sizeof(WCHAR));
    s[n] = 0;
    if (n >= LINK_PREFIX && s[1] == u'?')
        s[1] = u'\\';
    *chars = n;
    return s;
}

static WCHAR upcase(WCHAR c) { return c >= u'a' && c <= u'z' ? (WCHAR)(c - 32) : c; }

/* Equal links, whatever their prefix form. */
static bool same_link(PCWSTR a, size_t a_chars, PCWSTR b, size_t b_chars)
{
    if (a_chars != b_chars || a_chars < LINK_PREFIX)
        return false;
    for (size_t i = LINK_PREFIX; i < a_chars; i++)
        if (upcase(a[i]) != upcase(b[i]))
            return false;
    return true;
}

static bool starts_with(PCWSTR s, size_t chars, PCWSTR prefix)
{
    size_t n = PnpkitWcsLen(prefix);

    if (chars < n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (upcase(s[i]) != prefix[i])
            return false;
    return true;
}

/* A link of a software-enumerated device: its instance id (the link's first part, with # for
 * \) starts with SWD\ or SW\. */
static bool software_enumerated(PCWSTR link, size_t chars)
{
    if (chars < LINK_PREFIX)
        return false;
    return starts_with(link + LINK_PREFIX, chars - LINK_PREFIX, u"SWD#") ||
           starts_with(link + LINK_PREFIX, chars - LINK_PREFIX, u"SW#");
}

/* =============================================================================================
 * IWDFRemoteInterfaceInitialize
 * ============================================================================================= */

static void rinit_destroy(u1_object *o) { pk_free(((u1_rinit *)o)->link); }

static void rinit_get_guid(IWDFRemoteInterfaceInitialize *This, GUID *guid)
{
    if (guid)
        *guid = ((u1_rinit *)This)->guid;
}

static HRESULT rinit_retrieve_link(IWDFRemoteInterfaceInitialize *This, PWSTR buffer, DWORD *length)
{
    u1_rinit *init = (u1_rinit *)This;
    bool valid;

    pk_lock_acquire(&u1_lock);
    valid = init->valid;
    pk_lock_release(&u1_lock);
    if (!length)
        return E_POINTER;
    if (!valid)
        return U1_E_INVALID_STATE;
    return u1_copy_string(init->link, init->link_chars, buffer, length);
}

const IWDFRemoteInterfaceInitializeVtbl u1_rinit_vtbl = {
    .QueryInterface = (void *)u1_query_interface,
    .AddRef = (void *)u1_addref,
    .Release = (void *)u1_release,
    .GetInterfaceGuid = rinit_get_guid,
    .RetrieveSymbolicLink = rinit_retrieve_link,
};

/* =============================================================================================
 * Notifications of the registered classes
 * ============================================================================================= */

static void arrival(u1_device *dev, PDEVICE_INTERFACE_CHANGE_NOTIFICATION n)
{
    u1_rinit *init = u1_object_alloc(sizeof(*init), U1_RINIT, &u1_rinit_vtbl, false);
    u1_rinit *outer;

    if (!init)
        return; /* no memory: this arrival is lost, as a notification Windows could not deliver */
    init->base.destroy = rinit_destroy;
    init->device = dev;
    init->guid = n->InterfaceClassGuid;
    init->link = user_form_copy(n->SymbolicLinkName, &init->link_chars);
    if (!init->link) {
        u1_release(init);
        return;
    }
    pk_lock_acquire(&u1_lock);
    init->valid = true;
    outer = dev->arrival;
    dev->arrival = init;
    pk_lock_release(&u1_lock);
    IPnpCallbackRemoteInterfaceNotification_OnRemoteInterfaceArrival(dev->rin, (IWDFRemoteInterfaceInitialize *)init);
    pk_lock_acquire(&u1_lock);
    init->valid = false;
    dev->arrival = outer;
    pk_lock_release(&u1_lock);
    u1_release(init);
}

/* The instance was disabled: every live remote interface of this device on that link is
 * removed, through the driver's callback or by the framework. */
static void removal(u1_device *dev, PDEVICE_INTERFACE_CHANGE_NOTIFICATION n)
{
    PCWSTR link = n->SymbolicLinkName->Buffer;
    size_t chars = n->SymbolicLinkName->Length / sizeof(WCHAR);

    for (;;) {
        u1_riface *hit = NULL;

        pk_lock_acquire(&u1_lock);
        for (PLIST_ENTRY e = dev->interfaces.Flink; e != &dev->interfaces; e = e->Flink) {
            u1_riface *ri = CONTAINING_RECORD(e, u1_riface, link);
            if (!ri->removed && same_link(ri->link_name, ri->link_chars, link, chars)) {
                ri->removed = true;
                hit = ri;
                u1_addref(hit);
                break;
            }
        }
        pk_lock_release(&u1_lock);
        if (!hit)
            return;
        if (hit->on_removal)
            IRemoteInterfaceCallbackRemoval_OnRemoteInterfaceRemoval(hit->on_removal, (IWDFRemoteInterface *)hit);
        else
            u1_delete_wdf_object(hit); /* io.md 1.4: without the callback the framework deletes it */
        u1_release(hit);
    }
}

static NTSTATUS interface_change(PVOID notification, PVOID context)
{
    PDEVICE_INTERFACE_CHANGE_NOTIFICATION n = notification;
    u1_registration *reg = context;

    u1_in_callback++;
    if (IsEqualGUID(&n->Event, &GUID_DEVICE_INTERFACE_ARRIVAL))
        arrival(reg->device, n);
    else if (IsEqualGUID(&n->Event, &GUID_DEVICE_INTERFACE_REMOVAL))
        removal(reg->device, n);
    u1_in_callback--;
    return STATUS_SUCCESS;
}

HRESULT u1_register_notification(u1_device *dev, LPCGUID guid, BOOL include_existing)
{
    u1_registration *reg;
    PVOID entry;
    NTSTATUS status;

    if (!guid)
        return E_INVALIDARG;
    if (!dev->rin)
        return U1_E_INVALID_STATE;
    if (!u1_object_handle(&dev->base))
        return U1_E_GONE;
    reg = pk_zalloc(sizeof(*reg));
    if (!reg)
        return E_OUTOFMEMORY;
    reg->guid = *guid;
    reg->device = dev;
    /* Listed first (entry NULL), so that a concurrent registration of the same class sees it. */
    pk_lock_acquire(&u1_lock);
    for (PLIST_ENTRY e = dev->registrations.Flink; e != &dev->registrations; e = e->Flink)
        if (IsEqualGUID(&CONTAINING_RECORD(e, u1_registration, link)->guid, guid)) {
            pk_lock_release(&u1_lock);
            pk_free(reg);
            return HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS);
        }
    InsertTailList(&dev->registrations, &reg->link);
    pk_lock_release(&u1_lock);
    status = IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange,
                                            include_existing ? PNPNOTIFY_DEVICE_INTERFACE_INCLUDE_EXISTING_INTERFACES : 0,
                                            (PVOID)(uintptr_t)guid, dev->driver->wdm, interface_change, reg, &entry);
    pk_lock_acquire(&u1_lock);
    if (NT_SUCCESS(status))
        reg->entry = entry;
    else
        RemoveEntryList(&reg->link);
    pk_lock_release(&u1_lock);
    if (!NT_SUCCESS(status)) {
        pk_free(reg);
        return u1_hr(status);
    }
    return S_OK;
}

void u1_device_remote_cleanup(u1_device *dev)
{
    LIST_ENTRY gone;

    InitializeListHead(&gone);
    pk_lock_acquire(&u1_lock);
    while (!IsListEmpty(&dev->registrations))
        InsertTailList(&gone, RemoveHeadList(&dev->registrations));
    pk_lock_release(&u1_lock);
    while (!IsListEmpty(&gone)) {
        u1_registration *reg = CONTAINING_RECORD(RemoveHeadList(&gone), u1_registration, link);
        if (reg->entry)
            IoUnregisterPlugPlayNotificationEx(reg->entry); /* waits for a callback in progress */
        pk_free(reg);
    }
}

/* =============================================================================================
 * IWDFRemoteInterface
 * ============================================================================================= */

static void riface_destroy(u1_object *o)
{
    u1_riface *ri = (u1_riface *)o;

    if (ri->on_event)
        IRemoteInterfaceCallbackEvent_Release(ri->on_event);
    if (ri->on_removal)
        IRemoteInterfaceCallbackRemoval_Release(ri->on_removal);
    pk_free(ri->link_name);
}

static void riface_cleanup(u1_object *o)
{
    u1_riface *ri = (u1_riface *)o;

    pk_lock_acquire(&u1_lock);
    if (ri->listed) {
        RemoveEntryList(&ri->link);
        ri->listed = false;
    }
    pk_lock_release(&u1_lock);
}

static void riface_get_guid(IWDFRemoteInterface *This, GUID *guid)
{
    if (guid)
        *guid = ((u1_riface *)This)->guid;
}

static HRESULT riface_retrieve_link(IWDFRemoteInterface *This, PWSTR buffer, DWORD *length)
{
    u1_riface *ri = (u1_riface *)This;
    return u1_copy_string(ri->link_name, ri->link_chars, buffer, length);
}

const IWDFRemoteInterfaceVtbl u1_riface_vtbl = {
    U1_IWDFOBJECT_METHODS,
    .GetInterfaceGuid = riface_get_guid,
    .RetrieveSymbolicLink = riface_retrieve_link,
};

HRESULT u1_remote_interface_create(u1_device *dev, IWDFRemoteInterfaceInitialize *pinit, IUnknown *cb,
                                   IWDFRemoteInterface **out)
{
    u1_rinit *init = (u1_rinit *)pinit;
    WDF_OBJECT_ATTRIBUTES attributes;
    WDFDEVICE device;
    WDFOBJECT h;
    u1_riface *ri;
    NTSTATUS status;
    bool inside;

    if (!out)
        return E_POINTER;
    if (!u1_is_kind(pinit, U1_RINIT))
        return E_INVALIDARG;
    pk_lock_acquire(&u1_lock);
    inside = init->valid && init->device == dev && dev->arrival == init;
    pk_lock_release(&u1_lock);
    if (!inside)
        return U1_E_INVALID_STATE; /* io.md 1.4: only from inside OnRemoteInterfaceArrival */
    device = (WDFDEVICE)u1_object_handle(&dev->base);
    if (!device)
        return U1_E_GONE;
    ri = u1_object_alloc(sizeof(*ri), U1_RIFACE, &u1_riface_vtbl, true);
    if (!ri)
        return E_OUTOFMEMORY;
    ri->base.destroy = riface_destroy;
    ri->base.on_cleanup = riface_cleanup;
    ri->device = dev;
    ri->guid = init->guid;
    ri->link_name = pk_alloc((init->link_chars + 1) * sizeof(WCHAR));
    if (!ri->link_name) {
        u1_release(ri);
        return E_OUTOFMEMORY;
    }
    memcpy(ri->link_name, init->link, (init->link_chars + 1) * sizeof(WCHAR));
    ri->link_chars = init->link_chars;
    ri->on_event = u1_query(cb, &IID_IRemoteInterfaceCallbackEvent);
    ri->on_removal = u1_query(cb, &IID_IRemoteInterfaceCallbackRemoval);
    u1_attributes_init(&attributes, device);
    status = WdfObjectCreate(&attributes, &h);
    if (!NT_SUCCESS(status)) {
        u1_release(ri);
        return u1_hr(status);
    }
    u1_object_bind(&ri->base, h);
    pk_lock_acquire(&u1_lock);
    InsertTailList(&dev->interfaces, &ri->link);
    ri->listed = true;
    pk_lock_release(&u1_lock);
    u1_addref(ri);
    *out = (IWDFRemoteInterface *)ri;
    return S_OK;
}

/* =============================================================================================
 * IWDFRemoteTarget: custom events
 * ============================================================================================= */

static NTSTATUS target_event(PVOID notification, PVOID context)
{
    PTARGET_DEVICE_CUSTOM_NOTIFICATION n = notification;
    u1_target *t = context;
    u1_riface *ri = NULL;
    DWORD size;

    /* The registration also hears the removal events; the target's own registration (in the
     * WDF layer) answers those. */
    if (IsEqualGUID(&n->Event, &GUID_TARGET_DEVICE_QUERY_REMOVE) ||
        IsEqualGUID(&n->Event, &GUID_TARGET_DEVICE_REMOVE_CANCELLED) ||
        IsEqualGUID(&n->Event, &GUID_TARGET_DEVICE_REMOVE_COMPLETE))
        return STATUS_SUCCESS;
    pk_lock_acquire(&u1_lock);
    if (t->event_entry && t->riface && !t->riface->base.deleted && t->riface->on_event) {
        ri = t->riface;
        u1_addref(ri);
    }
    pk_lock_release(&u1_lock);
    if (!ri)
        return STATUS_SUCCESS;
    size = n->Size > offsetof(TARGET_DEVICE_CUSTOM_NOTIFICATION, CustomDataBuffer)
               ? (DWORD)(n->Size - offsetof(TARGET_DEVICE_CUSTOM_NOTIFICATION, CustomDataBuffer))
               : 0;
    u1_in_callback++;
    IRemoteInterfaceCallbackEvent_OnRemoteInterfaceEvent(ri->on_event, (IWDFRemoteInterface *)ri, &n->Event,
                                                         n->CustomDataBuffer, size, (DWORD)n->NameBufferOffset);
    u1_in_callback--;
    u1_release(ri);
    return STATUS_SUCCESS;
}

/* From the open until Close: a target-device registration on the target's file object brings
 * the device's custom events (pnp.md 1.5). A failure to register only loses the events. */
static void events_register(u1_target *t, WDFIOTARGET h)
{
    PFILE_OBJECT fo = WdfIoTargetWdmGetTargetFileObject(h);
    PVOID entry;
    bool have;

    pk_lock_acquire(&u1_lock);
    have = t->event_entry != NULL || !t->riface;
    pk_lock_release(&u1_lock);
    if (have || !fo)
        return;
    if (!NT_SUCCESS(IoRegisterPlugPlayNotification(EventCategoryTargetDeviceChange, 0, fo, t->device->driver->wdm,
                                                   target_event, t, &entry)))
        return;
    pk_lock_acquire(&u1_lock);
    if (!t->event_entry) {
        t->event_entry = entry;
        entry = NULL;
    }
    pk_lock_release(&u1_lock);
    if (entry)
        IoUnregisterPlugPlayNotificationEx(entry); /* another thread registered meanwhile */
}

static void events_unregister(u1_target *t)
{
    PVOID entry;

    pk_lock_acquire(&u1_lock);
    entry = t->event_entry;
    t->event_entry = NULL;
    pk_lock_release(&u1_lock);
    if (entry)
        IoUnregisterPlugPlayNotificationEx(entry);
}

/* =============================================================================================
 * IWDFRemoteTarget: removal of the target's device
 * ============================================================================================= */

static void target_close_h(u1_target *t, WDFIOTARGET h)
{
    WdfIoTargetClose(h);
    events_unregister(t);
}

static NTSTATUS target_reopen_h(u1_target *t, WDFIOTARGET h)
{
    WDF_IO_TARGET_OPEN_PARAMS params;
    NTSTATUS status;

    WDF_IO_TARGET_OPEN_PARAMS_INIT_REOPEN(&params);
    status = WdfIoTargetOpen(h, &params);
    if (NT_SUCCESS(status))
        events_register(t, h);
    return status;
}

static NTSTATUS target_query_remove(WDFIOTARGET h)
{
    u1_target *t = (u1_target *)u1_object_from_wdf(h);
    BOOL allow = TRUE;

    if (!t) {
        WdfIoTargetCloseForQueryRemove(h);
        return STATUS_SUCCESS;
    }
    u1_addref(t);
    u1_in_callback++;
    if (t->on_removal)
        allow = IRemoteTargetCallbackRemoval_OnRemoteTargetQueryRemove(t->on_removal, (IWDFRemoteTarget *)t);
    else
        WdfIoTargetCloseForQueryRemove(h);
    u1_in_callback--;
    u1_release(t);
    return allow ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
}

static VOID target_remove_canceled(WDFIOTARGET h)
{
    u1_target *t = (u1_target *)u1_object_from_wdf(h);

    if (!t)
        return;
    u1_addref(t);
    u1_in_callback++;
    if (t->on_removal)
        IRemoteTargetCallbackRemoval_OnRemoteTargetRemoveCanceled(t->on_removal, (IWDFRemoteTarget *)t);
    else
        (void)target_reopen_h(t, h); /* io.md 1.3: a failed default reopen is ignored */
    u1_in_callback--;
    u1_release(t);
}

static VOID target_remove_complete(WDFIOTARGET h)
{
    u1_target *t = (u1_target *)u1_object_from_wdf(h);

    if (!t) {
        WdfIoTargetClose(h);
        return;
    }
    u1_addref(t);
    u1_in_callback++;
    if (t->on_removal)
        IRemoteTargetCallbackRemoval_OnRemoteTargetRemoveComplete(t->on_removal, (IWDFRemoteTarget *)t);
    else
        target_close_h(t, h);
    u1_in_callback--;
    u1_release(t);
}

/* =============================================================================================
 * IWDFRemoteTarget: opening and the other methods
 * ============================================================================================= */

static WDFIOTARGET target_h(IWDFRemoteTarget *This) { return (WDFIOTARGET)u1_object_handle((u1_object *)This); }

/* CreateFile's dispositions as the NT create dispositions. */
static ULONG nt_disposition(DWORD d)
{
    switch (d) {
    case 1: return FILE_CREATE;       /* CREATE_NEW */
    case 2: return FILE_OVERWRITE_IF; /* CREATE_ALWAYS */
    case 4: return FILE_OPEN_IF;      /* OPEN_ALWAYS */
    case 5: return FILE_OVERWRITE;    /* TRUNCATE_EXISTING */
    default: return FILE_OPEN;        /* OPEN_EXISTING */
    }
}

static HRESULT open_by_name(u1_target *t, WDFIOTARGET h, PCWSTR name, size_t chars, DWORD access,
                            PUMDF_IO_TARGET_OPEN_PARAMS params)
{
    WDF_IO_TARGET_OPEN_PARAMS op;
    UNICODE_STRING u;

    if (chars * sizeof(WCHAR) > 0xFFFE)
        return E_INVALIDARG;
    u.Buffer = (PWSTR)(uintptr_t)name; /* read only */
    u.Length = (USHORT)(chars * sizeof(WCHAR));
    u.MaximumLength = u.Length;
    WDF_IO_TARGET_OPEN_PARAMS_INIT_OPEN_BY_NAME(&op, &u, access);
    op.ShareAccess = params ? params->dwShareMode : (FILE_SHARE_READ | FILE_SHARE_WRITE);
    op.CreateDisposition = nt_disposition(params ? params->dwCreationDisposition : 3);
    op.FileAttributes = params ? params->dwFlagsAndAttributes : 0;
    /* Always ours: they call the driver's IRemoteTargetCallbackRemoval, or do what WDF does by
     * default and also end the custom-event registration. */
    op.EvtIoTargetQueryRemove = target_query_remove;
    op.EvtIoTargetRemoveCanceled = target_remove_canceled;
    op.EvtIoTargetRemoveComplete = target_remove_complete;
    return u1_hr(WdfIoTargetOpen(h, &op));
}

static HRESULT target_open_remote_interface(IWDFRemoteTarget *This, IWDFRemoteInterface *pRemoteInterface,
                                            PCWSTR relative, DWORD access, PUMDF_IO_TARGET_OPEN_PARAMS params)
{
    static const char api[] = "IWDFRemoteTarget::OpenRemoteInterface";
    u1_target *t = (u1_target *)This;
    u1_riface *ri = (u1_riface *)pRemoteInterface;
    WDFIOTARGET h = target_h(This);
    size_t rel_chars = PnpkitWcsLen(relative), chars;
    u1_riface *old;
    WCHAR *name;
    bool gone;
    HRESULT hr;

    if (!u1_is_kind(pRemoteInterface, U1_RIFACE))
        return E_INVALIDARG;
    if (!h)
        return U1_E_INVALID_STATE;
    pk_lock_acquire(&u1_lock);
    gone = ri->removed || ri->base.deleted;
    pk_lock_release(&u1_lock);
    if (gone)
        return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
    if (u1_in_callback && software_enumerated(ri->link_name, ri->link_chars))
        pk_verifier_stop(api, "the interface of a software-enumerated device must be opened from a work item, "
                              "not from a PnP callback (seed 001)");
    chars = ri->link_chars + rel_chars;
    name = pk_alloc((chars + 1) * sizeof(WCHAR));
    if (!name)
        return E_OUTOFMEMORY;
    memcpy(name, ri->link_name, ri->link_chars * sizeof(WCHAR));
    if (rel_chars)
        memcpy(name + ri->link_chars, relative, rel_chars * sizeof(WCHAR));
    name[chars] = 0;
    hr = open_by_name(t, h, name, chars, access, params);
    pk_free(name);
    if (FAILED(hr))
        return hr;
    u1_addref(ri);
    pk_lock_acquire(&u1_lock);
    old = t->riface;
    t->riface = ri;
    pk_lock_release(&u1_lock);
    if (old)
        u1_release(old);
    events_register(t, h);
    return S_OK;
}

static HRESULT target_open_file_by_name(IWDFRemoteTarget *This, PCWSTR name, DWORD access,
                                        PUMDF_IO_TARGET_OPEN_PARAMS params)
{
    WDFIOTARGET h = target_h(This);

    if (!name || !name[0])
        return E_INVALIDARG;
    if (!h)
        return U1_E_INVALID_STATE;
    return open_by_name((u1_target *)This, h, name, PnpkitWcsLen(name), access, params);
}

static HRESULT target_open_file_by_handle(IWDFRemoteTarget *This, HANDLE handle) { return E_NOTIMPL; }

static HRESULT target_close(IWDFRemoteTarget *This)
{
    WDFIOTARGET h = target_h(This);

    if (!h)
        return U1_E_INVALID_STATE;
    target_close_h((u1_target *)This, h);
    return S_OK;
}

static HRESULT target_close_for_query_remove(IWDFRemoteTarget *This)
{
    WDFIOTARGET h = target_h(This);

    if (h)
        WdfIoTargetCloseForQueryRemove(h);
    return S_OK; /* io.md 1.4, I59: always */
}

static HRESULT target_reopen(IWDFRemoteTarget *This)
{
    WDFIOTARGET h = target_h(This);

    if (!h)
        return U1_E_INVALID_STATE;
    return u1_hr(target_reopen_h((u1_target *)This, h));
}

static WDF_IO_TARGET_STATE target_get_state(IWDFRemoteTarget *This)
{
    WDFIOTARGET h = target_h(This);
    return h ? WdfIoTargetGetState(h) : WdfIoTargetDeleted;
}

static HRESULT target_start(IWDFRemoteTarget *This)
{
    WDFIOTARGET h = target_h(This);
    return h ? u1_hr(WdfIoTargetStart(h)) : U1_E_INVALID_STATE;
}

static HRESULT target_stop(IWDFRemoteTarget *This, WDF_IO_TARGET_SENT_IO_ACTION action)
{
    WDFIOTARGET h = target_h(This);

    if (action != WdfIoTargetCancelSentIo && action != WdfIoTargetWaitForSentIoToComplete &&
        action != WdfIoTargetLeaveSentIoPending)
        return E_INVALIDARG;
    if (!h)
        return U1_E_INVALID_STATE;
    WdfIoTargetStop(h, action);
    return S_OK;
}

/* ---- IWDFIoTarget: formatting ---- */

static HRESULT format_args(IWDFRemoteTarget *This, IWDFIoRequest *request, IWDFFile *file, WDFIOTARGET *h,
                           WDFREQUEST *r)
{
    if (file)
        return E_INVALIDARG;
    *r = u1_request_handle(request);
    if (!*r)
        return E_INVALIDARG;
    *h = target_h(This);
    if (!*h)
        return U1_E_INVALID_STATE;
    return S_OK;
}

/* A memory argument: NULL stays NULL; anything else must be a memory object of ours. */
static bool memory_arg(IWDFMemory *m, WDFMEMORY *out)
{
    *out = NULL;
    if (!m)
        return true;
    *out = u1_memory_handle(m);
    return *out != NULL;
}

static HRESULT target_format_read(IWDFRemoteTarget *This, IWDFIoRequest *request, IWDFFile *file, IWDFMemory *memory,
                                  PWDFMEMORY_OFFSET offset, PLONGLONG device_offset)
{
    WDFIOTARGET h;
    WDFREQUEST r;
    WDFMEMORY m;
    HRESULT hr = format_args(This, request, file, &h, &r);

    if (FAILED(hr))
        return hr;
    if (!memory_arg(memory, &m))
        return E_INVALIDARG;
    hr = u1_hr(WdfIoTargetFormatRequestForRead(h, r, m, offset, device_offset));
    if (SUCCEEDED(hr))
        u1_request_set_formatted(request, WdfRequestTypeRead);
    return hr;
}

static HRESULT target_format_write(IWDFRemoteTarget *This, IWDFIoRequest *request, IWDFFile *file, IWDFMemory *memory,
                                   PWDFMEMORY_OFFSET offset, PLONGLONG device_offset)
{
    WDFIOTARGET h;
    WDFREQUEST r;
    WDFMEMORY m;
    HRESULT hr = format_args(This, request, file, &h, &r);

    if (FAILED(hr))
        return hr;
    if (!memory_arg(memory, &m))
        return E_INVALIDARG;
    hr = u1_hr(WdfIoTargetFormatRequestForWrite(h, r, m, offset, device_offset));
    if (SUCCEEDED(hr))
        u1_request_set_formatted(request, WdfRequestTypeWrite);
    return hr;
}

static HRESULT target_format_ioctl(IWDFRemoteTarget *This, IWDFIoRequest *request, ULONG code, IWDFFile *file,
                                   IWDFMemory *in, PWDFMEMORY_OFFSET in_offset, IWDFMemory *out,
                                   PWDFMEMORY_OFFSET out_offset)
{
    WDFIOTARGET h;
    WDFREQUEST r;
    WDFMEMORY mi, mo;
    HRESULT hr = format_args(This, request, file, &h, &r);

    if (FAILED(hr))
        return hr;
    if (!memory_arg(in, &mi) || !memory_arg(out, &mo))
        return E_INVALIDARG;
    hr = u1_hr(WdfIoTargetFormatRequestForIoctl(h, r, code, mi, in_offset, mo, out_offset));
    if (SUCCEEDED(hr))
        u1_request_set_formatted(request, WdfRequestTypeDeviceControl);
    return hr;
}

static HRESULT target_cancel_for_file(IWDFRemoteTarget *This, IWDFFile *file) { return E_NOTIMPL; }

const IWDFRemoteTargetVtbl u1_target_vtbl = {
    U1_IWDFOBJECT_METHODS,
    .FormatRequestForRead = target_format_read,
    .FormatRequestForWrite = target_format_write,
    .FormatRequestForIoctl = target_format_ioctl,
    .CancelSentRequestsForFile = target_cancel_for_file,
    .GetState = target_get_state,
    .Stop = target_stop,
    .Start = target_start,
    .OpenFileByName = target_open_file_by_name,
    .OpenRemoteInterface = target_open_remote_interface,
    .OpenFileByHandle = target_open_file_by_handle,
    .Close = target_close,
    .CloseForQueryRemove = target_close_for_query_remove,
    .Reopen = target_reopen,
};

static void target_cleanup(u1_object *o)
{
    u1_target *t = (u1_target *)o;
    u1_riface *ri;

    events_unregister(t);
    pk_lock_acquire(&u1_lock);
    ri = t->riface;
    t->riface = NULL;
    pk_lock_release(&u1_lock);
    if (ri)
        u1_release(ri);
}

static void target_destroy(u1_object *o)
{
    u1_target *t = (u1_target *)o;

    target_cleanup(o); /* a target that never had a WDF object */
    if (t->on_removal)
        IRemoteTargetCallbackRemoval_Release(t->on_removal);
    u1_release(t->device);
}

HRESULT u1_remote_target_create(u1_device *dev, IUnknown *cb, IWDFObject *parent, IWDFRemoteTarget **out)
{
    WDFDEVICE device = (WDFDEVICE)u1_object_handle(&dev->base);
    WDF_OBJECT_ATTRIBUTES attributes;
    WDFOBJECT parent_h = device;
    WDFIOTARGET h;
    u1_target *t;
    NTSTATUS status;

    if (!out)
        return E_POINTER;
    if (!device)
        return U1_E_GONE;
    if (parent) {
        parent_h = u1_parent_handle(parent);
        if (!parent_h)
            return E_INVALIDARG;
    }
    t = u1_object_alloc(sizeof(*t), U1_TARGET, &u1_target_vtbl, true);
    if (!t)
        return E_OUTOFMEMORY;
    t->device = dev;
    u1_addref(dev); /* the target's removal handling reaches the device's driver object */
    t->base.destroy = target_destroy;
    t->base.on_cleanup = target_cleanup;
    t->on_removal = u1_query(cb, &IID_IRemoteTargetCallbackRemoval);
    u1_attributes_init(&attributes, parent_h);
    status = WdfIoTargetCreate(device, &attributes, &h);
    if (!NT_SUCCESS(status)) {
        u1_release(t);
        return status == STATUS_INVALID_DEVICE_REQUEST ? E_INVALIDARG : u1_hr(status);
    }
    u1_object_bind(&t->base, h);
    u1_addref(t);
    *out = (IWDFRemoteTarget *)t;
    return S_OK;
}
