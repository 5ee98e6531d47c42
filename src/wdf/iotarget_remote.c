/*
 * iotarget_remote.c — remote WDFIOTARGETs: WdfIoTargetCreate, WdfIoTargetOpen (UseExistingDevice,
 * ByName, Reopen), WdfIoTargetClose / CloseForQueryRemove, the target-device removal
 * notifications with their default behaviours, and the synchronous read and write helpers.
 * Start / Stop / Purge and the holding of requests while Stopped are iotarget.c's (the same for
 * every target).
 *
 * A remote target is one object: no driver or device object of its own. While open,
 * t->target_device and t->target_file are the opened device and file; the send path reads them
 * under t->lock (wdf_target_begin_send) and writes the file into the stack location, and a
 * request held while the target is Stopped is a list entry in the target, its IRP not sent.
 *
 * Locking: t->lock (a leaf) protects the state, the open state, the file and device pointers,
 * the held list and the callbacks. Open and close are serialised by open_state: Opening excludes
 * a second open and makes a close wait on open_done.
 *
 * Lifetime: the target is a child of its device (or of the given parent under it); its dispose
 * closes it (held requests failed, sent requests cancelled and waited for, the notification
 * unregistered, the file and device released). A notification callback holds a reference on the
 * target for its duration.
 */
#include "wdf/wdf_internal.h"

#include <string.h>

/* How a target's file is released: PnpkitCloseDeviceInterface (an interface link), a plain
 * dereference (a file given by the driver, or IoGetDeviceObjectPointer's, cleaned up already),
 * or cleanup then dereference (LocalTargetByFile: opened on the lower device directly). */
enum { FILE_KIND_NONE, FILE_KIND_INTERFACE, FILE_KIND_DEREF, FILE_KIND_LOCAL };

/* ---- Close ---- */

static void release_file(PFILE_OBJECT file, uint8_t kind)
{
    if (!file)
        return;
    if (kind == FILE_KIND_INTERFACE)
        PnpkitCloseDeviceInterface(file);
    else if (kind == FILE_KIND_DEREF)
        ObDereferenceObject(file);
    else if (kind == FILE_KIND_LOCAL) {
        PnpkitIoCleanupFileObject(file);
        ObDereferenceObject(file);
    }
}

/* The internal close with a reason: Closed, ClosedForQueryRemove (keeps the registration) or
 * Deleted. PASSIVE_LEVEL. */
static void close_target(wdf_iotarget *t, WDF_IO_TARGET_STATE reason)
{
    PFILE_OBJECT file, nfile = NULL;
    PDEVICE_OBJECT real;
    PVOID entry = NULL;
    uint8_t kind;
    bool was_open;

    for (;;) {
        pk_lock_acquire(&t->lock);
        if (t->open_state != WDF_TARGET_OPEN_OPENING)
            break;
        pk_lock_release(&t->lock);
        KeWaitForSingleObject(&t->open_done, Executive, KernelMode, FALSE, NULL);
    }
    if (t->state == WdfIoTargetDeleted) {
        pk_lock_release(&t->lock);
        return;
    }
    was_open = t->open_state == WDF_TARGET_OPEN_OPEN;
    pk_store_release(&t->state, reason);
    pk_lock_release(&t->lock);

    wdf_target_finish_held(t, STATUS_WDF_DEVICE_REMOVED_NOT_SENT);
    if (was_open) {
        /* The removing phase: IGNORE_TARGET_STATE sends are still accepted. */
        wdf_target_cancel_tracked(t, true);
        /* All: a held request being finished by its cancel or timeout is still counted; the
         * device and file must outlive it. */
        wdf_target_wait_tracked(t, true);
    }

    pk_lock_acquire(&t->lock);
    file = t->target_file;
    kind = t->file_kind;
    real = t->target_device;
    t->target_file = NULL;
    t->target_device = NULL;
    t->target_pdo = NULL;
    t->file_kind = FILE_KIND_NONE;
    t->open_state = WDF_TARGET_OPEN_CLOSED;
    if (reason != WdfIoTargetClosedForQueryRemove) {
        entry = t->notify_entry;
        nfile = t->notify_file;
        t->notify_entry = NULL;
        t->notify_file = NULL;
    }
    pk_lock_release(&t->lock);

    if (entry)
        IoUnregisterPlugPlayNotificationEx(entry);
    if (nfile)
        ObDereferenceObject(nfile);
    release_file(file, kind);
    if (real)
        ObDereferenceObject(real);
}

void (*wdf_target_open_hook)(WDFIOTARGET target);

/* ---- Removal notifications ---- */

static NTSTATUS open_target(wdf_iotarget *t, const WDF_IO_TARGET_OPEN_PARAMS *p);

static NTSTATUS notify_callback(PVOID structure, PVOID context)
{
    PTARGET_DEVICE_REMOVAL_NOTIFICATION n = structure;
    wdf_iotarget *t = context;
    PFN_WDF_IO_TARGET_QUERY_REMOVE query;
    PFN_WDF_IO_TARGET_REMOVE_CANCELED canceled;
    PFN_WDF_IO_TARGET_REMOVE_COMPLETE complete;
    WDFIOTARGET handle = (WDFIOTARGET)pk_object_handle(&t->header);
    NTSTATUS status = STATUS_SUCCESS;
    bool current;

    pk_object_reference(&t->header);
    pk_lock_acquire(&t->lock);
    current = t->notify_file && t->notify_file == n->FileObject && t->state != WdfIoTargetDeleted;
    query = t->evt_query_remove;
    canceled = t->evt_remove_canceled;
    complete = t->evt_remove_complete;
    pk_lock_release(&t->lock);
    if (!current) {
        /* Meant for an earlier registration: ignored (a query-remove is allowed). */
    } else if (IsEqualGUID(&n->Event, &GUID_TARGET_DEVICE_QUERY_REMOVE)) {
        if (query)
            status = query(handle);
        else
            close_target(t, WdfIoTargetClosedForQueryRemove);
    } else if (IsEqualGUID(&n->Event, &GUID_TARGET_DEVICE_REMOVE_CANCELLED)) {
        if (canceled) {
            canceled(handle);
        } else if (WdfIoTargetGetState(handle) == WdfIoTargetClosedForQueryRemove) {
            WDF_IO_TARGET_OPEN_PARAMS p;
            WDF_IO_TARGET_OPEN_PARAMS_INIT_REOPEN(&p);
            (void)open_target(t, &p); /* a failure is ignored */
        }
    } else if (IsEqualGUID(&n->Event, &GUID_TARGET_DEVICE_REMOVE_COMPLETE)) {
        if (complete)
            complete(handle);
        else
            close_target(t, WdfIoTargetClosed);
    }
    pk_object_dereference(&t->header);
    return status;
}

/* ---- Open ---- */

static NTSTATUS copy_name(UNICODE_STRING *dst, const UNICODE_STRING *src)
{
    WCHAR *b = pk_alloc((size_t)src->Length + sizeof(WCHAR));

    if (!b)
        return STATUS_INSUFFICIENT_RESOURCES;
    memcpy(b, src->Buffer, src->Length);
    b[src->Length / sizeof(WCHAR)] = 0;
    dst->Buffer = b;
    dst->Length = src->Length;
    dst->MaximumLength = (USHORT)(src->Length + sizeof(WCHAR));
    return STATUS_SUCCESS;
}

static NTSTATUS open_target(wdf_iotarget *t, const WDF_IO_TARGET_OPEN_PARAMS *p)
{
    bool reopen = p->Type == WdfIoTargetOpenReopen, by_name = p->Type == WdfIoTargetOpenByName || reopen;
    UNICODE_STRING name = { 0 };
    PFILE_OBJECT file = NULL, old_nfile;
    PDEVICE_OBJECT real = NULL, base;
    PVOID old_entry, entry = NULL;
    uint8_t kind = FILE_KIND_NONE;
    PNPKIT_IO_OPEN_PARAMETERS create;
    void *ea_copy = NULL;
    NTSTATUS status;

    pk_lock_acquire(&t->lock);
    if (t->state == WdfIoTargetDeleted || t->open_state != WDF_TARGET_OPEN_CLOSED) {
        pk_lock_release(&t->lock);
        return STATUS_INVALID_DEVICE_STATE;
    }
    if (reopen && !t->ever_opened_by_name) {
        pk_lock_release(&t->lock);
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    t->open_state = WDF_TARGET_OPEN_OPENING;
    KeClearEvent(&t->open_done);
    old_entry = t->notify_entry;
    old_nfile = t->notify_file;
    t->notify_entry = NULL;
    t->notify_file = NULL;
    pk_lock_release(&t->lock);

    /* 2. A registration left by a query-remove goes. */
    if (old_entry)
        IoUnregisterPlugPlayNotificationEx(old_entry);
    if (old_nfile)
        ObDereferenceObject(old_nfile);

    /* 3. The file. */
    if (by_name) {
        /* The create gets the open's access, share mask, disposition, options and extended
         * attributes; a Reopen those of the last ByName open (the EA bytes are the target's copy).
         * Both stay stable: only an open (this one) replaces them. */
        PNPKIT_IO_OPEN_PARAMETERS_INIT(&create, 0);
        if (reopen) {
            name = t->open_name;
            create.DesiredAccess = t->open_access;
            create.ShareAccess = t->open_share;
            create.CreateDisposition = t->open_disposition;
            create.CreateOptions = t->open_options;
            create.EaBuffer = t->open_ea;
            create.EaLength = t->open_ea_length;
            status = STATUS_SUCCESS;
        } else {
            name = p->TargetDeviceName;
            create.DesiredAccess = p->DesiredAccess;
            create.ShareAccess = p->ShareAccess;
            create.CreateDisposition = p->CreateDisposition;
            create.CreateOptions = p->CreateOptions;
            status = STATUS_SUCCESS;
            if (p->EaBuffer && p->EaBufferLength) {
                ea_copy = pk_alloc(p->EaBufferLength);
                if (ea_copy) {
                    memcpy(ea_copy, p->EaBuffer, p->EaBufferLength);
                    create.EaBuffer = ea_copy;
                    create.EaLength = p->EaBufferLength;
                } else {
                    status = STATUS_INSUFFICIENT_RESOURCES;
                }
            }
        }
        if (NT_SUCCESS(status)) {
            status = PnpkitOpenDeviceInterfaceEx(&name, &create, &file);
            kind = FILE_KIND_INTERFACE;
        }
        if (status == STATUS_OBJECT_NAME_NOT_FOUND) {
            /* A device name, not an interface: IoGetDeviceObjectPointer takes the access only
             * (pnpkit's has no disposition, options or EA). */
            PDEVICE_OBJECT top;
            status = IoGetDeviceObjectPointer(&name, create.DesiredAccess, &file, &top);
            kind = FILE_KIND_DEREF;
        }
        if (NT_SUCCESS(status)) {
            real = IoGetRelatedDeviceObject(file);
            ObReferenceObject(real);
        }
        if (NT_SUCCESS(status) && !reopen) {
            UNICODE_STRING copy;
            status = copy_name(&copy, &p->TargetDeviceName);
            if (NT_SUCCESS(status)) {
                pk_free(t->open_name.Buffer);
                pk_free(t->open_ea);
                t->open_name = copy;
                t->open_access = p->DesiredAccess;
                t->open_share = p->ShareAccess;
                t->open_disposition = p->CreateDisposition;
                t->open_options = p->CreateOptions;
                t->open_ea = ea_copy;
                t->open_ea_length = ea_copy ? p->EaBufferLength : 0;
                ea_copy = NULL;
            }
        }
    } else if (p->Type == WdfIoTargetOpenLocalTargetByFile) {
        /* A file of the device's own local target: the create (with FileName), and later the
         * cleanup and the close, go to the device below this one only. */
        PNPKIT_IO_OPEN_PARAMETERS_INIT(&create, p->DesiredAccess);
        create.FileName = p->FileName.Length ? &p->FileName : NULL;
        create.ShareAccess = p->ShareAccess;
        create.CreateDisposition = p->CreateDisposition;
        create.CreateOptions = p->CreateOptions;
        if (p->EaBuffer && p->EaBufferLength) {
            create.EaBuffer = p->EaBuffer; /* used during the call only */
            create.EaLength = p->EaBufferLength;
        }
        real = t->device->target->target_device;
        status = PnpkitIoOpenDeviceDirect(real, &create, &file);
        if (NT_SUCCESS(status)) {
            ObReferenceObject(real);
            kind = FILE_KIND_LOCAL;
        } else {
            real = NULL;
            file = NULL;
        }
    } else {
        real = p->TargetDeviceObject;
        ObReferenceObject(real);
        file = p->TargetFileObject;
        if (file) {
            ObReferenceObject(file);
            kind = FILE_KIND_DEREF;
        }
        status = STATUS_SUCCESS;
    }
    pk_free(ea_copy); /* kept by a successful ByName open */
    if (!NT_SUCCESS(status)) {
        release_file(file, kind);
        if (real)
            ObDereferenceObject(real);
        pk_lock_acquire(&t->lock);
        t->open_state = WDF_TARGET_OPEN_CLOSED;
        pk_lock_release(&t->lock);
        KeSetEvent(&t->open_done, IO_NO_INCREMENT, FALSE);
        return status;
    }

    /* 4. The callbacks, before registering. */
    pk_lock_acquire(&t->lock);
    if (!reopen) {
        t->evt_query_remove = p->EvtIoTargetQueryRemove;
        t->evt_remove_canceled = p->EvtIoTargetRemoveCanceled;
        t->evt_remove_complete = p->EvtIoTargetRemoveComplete;
        t->ever_opened_by_name = by_name;
    }
    if (file && kind != FILE_KIND_LOCAL) {
        ObReferenceObject(file);
        t->notify_file = file;
    }
    pk_lock_release(&t->lock);

    /* 5. The registration; its failure is not an error. A file of the local target has none:
     * the removal of the device itself closes the target. */
    if (file && kind != FILE_KIND_LOCAL) {
        status = IoRegisterPlugPlayNotification(EventCategoryTargetDeviceChange, 0, file, t->device->driver->wdm,
                                                notify_callback, t, &entry);
        pk_lock_acquire(&t->lock);
        if (NT_SUCCESS(status)) {
            t->notify_entry = entry;
            old_nfile = NULL;
        } else {
            old_nfile = t->notify_file;
            t->notify_file = NULL;
        }
        pk_lock_release(&t->lock);
        if (old_nfile)
            ObDereferenceObject(old_nfile);
    }

    /* Tests only: an event (a query-remove) may arrive here, registered but not yet open. */
    if (wdf_target_open_hook)
        wdf_target_open_hook((WDFIOTARGET)pk_object_handle(&t->header));

    /* 6. Open and Started. */
    base = IoGetDeviceAttachmentBaseRef(real);
    if (base)
        ObDereferenceObject(base);
    pk_lock_acquire(&t->lock);
    t->target_file = file;
    t->file_kind = kind;
    t->target_device = real;
    t->target_pdo = base;
    pk_store_release(&t->stack_size, real->StackSize);
    pk_store_release(&t->io_flags, real->Flags & (DO_BUFFERED_IO | DO_DIRECT_IO));
    t->open_state = WDF_TARGET_OPEN_OPEN;
    pk_store_release(&t->state, WdfIoTargetStarted);
    pk_lock_release(&t->lock);
    KeSetEvent(&t->open_done, IO_NO_INCREMENT, FALSE);
    return STATUS_SUCCESS;
}

NTSTATUS WdfIoTargetOpen(WDFIOTARGET IoTarget, PWDF_IO_TARGET_OPEN_PARAMS OpenParams)
{
    static const char api[] = "WdfIoTargetOpen";
    WDF_IO_TARGET_OPEN_PARAMS p;
    wdf_iotarget *t;
    NTSTATUS status;
    bool callbacks;

    if (!pk_irql_ok(api, PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    status = wdf_target_reference(IoTarget, api, &t);
    if (!NT_SUCCESS(status))
        return status;
    memset(&p, 0, sizeof(p));
    if (!OpenParams) {
        status = STATUS_INVALID_PARAMETER;
        goto out;
    }
    if (OpenParams->Size == sizeof(p)) {
        memcpy(&p, OpenParams, sizeof(p));
    } else if (OpenParams->Size == WDF_IO_TARGET_OPEN_PARAMS_SIZE_V1_7) {
        memcpy(&p, OpenParams, WDF_IO_TARGET_OPEN_PARAMS_SIZE_V1_7);
    } else {
        pk_verifier_report(api, "WDF_IO_TARGET_OPEN_PARAMS.Size is %u", OpenParams->Size);
        status = STATUS_INFO_LENGTH_MISMATCH;
        goto out;
    }
    if (t->local) {
        pk_verifier_report(api, "the local I/O target is opened by the framework");
        status = STATUS_INVALID_DEVICE_REQUEST;
        goto out;
    }
    callbacks = p.EvtIoTargetQueryRemove || p.EvtIoTargetRemoveCanceled || p.EvtIoTargetRemoveComplete;
    switch (p.Type) {
    case WdfIoTargetOpenUseExistingDevice:
        if (!p.TargetDeviceObject || (callbacks && !p.TargetFileObject))
            status = STATUS_INVALID_PARAMETER;
        break;
    case WdfIoTargetOpenByName:
        if (!p.TargetDeviceName.Buffer || p.TargetDeviceName.Length == 0)
            status = STATUS_INVALID_PARAMETER;
        break;
    case WdfIoTargetOpenReopen: break;
    case WdfIoTargetOpenLocalTargetByFile:
        if (callbacks || (p.FileName.Length && !p.FileName.Buffer) || (p.FileName.Length & 1))
            status = STATUS_INVALID_PARAMETER;
        else if (!t->device->target)
            status = STATUS_INVALID_DEVICE_REQUEST; /* no device below */
        break;
    default: status = STATUS_INVALID_PARAMETER; break;
    }
    if (NT_SUCCESS(status))
        status = open_target(t, &p);
out:
    pk_object_dereference(&t->header);
    return status;
}

/* ---- Create, dispose, destroy ---- */

static void remote_dispose(pk_object *o)
{
    wdf_iotarget *t = CONTAINING_RECORD(o, wdf_iotarget, header);

    close_target(t, WdfIoTargetDeleted);
    pk_lock_acquire(&t->lock);
    pk_store_release(&t->state, WdfIoTargetDeleted);
    pk_lock_release(&t->lock);
}

static void remote_destroy(pk_object *o)
{
    wdf_iotarget *t = CONTAINING_RECORD(o, wdf_iotarget, header);

    pk_free(t->open_name.Buffer);
    t->open_name.Buffer = NULL;
    pk_free(t->open_ea);
    t->open_ea = NULL;
}

static const pk_object_type remote_target_type = { "WDFIOTARGET", PK_KIND_IOTARGET, 0, remote_dispose,
                                                   remote_destroy };

NTSTATUS WdfIoTargetCreate(WDFDEVICE Device, PWDF_OBJECT_ATTRIBUTES IoTargetAttributes, WDFIOTARGET *IoTarget)
{
    static const char api[] = "WdfIoTargetCreate";
    wdf_device *dev;
    wdf_iotarget *t;
    NTSTATUS status;

    if (!pk_irql_ok(api, PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!IoTarget)
        return STATUS_INVALID_PARAMETER;
    *IoTarget = NULL;
    status = wdf_device_reference(Device, api, &dev);
    if (!NT_SUCCESS(status))
        return status;
    if (IoTargetAttributes && IoTargetAttributes->ParentObject) {
        pk_object *parent, *p;
        bool under = false;
        status = pk_object_reference_handle(IoTargetAttributes->ParentObject, PK_KIND_ANY, api, &parent);
        if (!NT_SUCCESS(status))
            goto out;
        for (p = parent; p; p = p->parent)
            if (p == &dev->header) {
                under = true;
                break;
            }
        pk_object_dereference(parent);
        if (!under) {
            pk_verifier_report(api, "the parent of the target is not under its device");
            status = STATUS_INVALID_DEVICE_REQUEST;
            goto out;
        }
    }
    status = pk_object_create(&remote_target_type, IoTargetAttributes, &dev->header, sizeof(*t), api, (void **)&t);
    if (!NT_SUCCESS(status))
        goto out;
    wdf_target_init_common(t, dev, false);
    t->stack_size = 1; /* until the first open tells the device's */
    KeInitializeEvent(&t->open_done, NotificationEvent, TRUE);
    t->open_state = WDF_TARGET_OPEN_CLOSED;
    pk_store_release(&t->state, WdfIoTargetClosed); /* never opened: Closed (a departure, see the spec) */
    *IoTarget = (WDFIOTARGET)pk_object_handle(&t->header);
    pk_object_commit(&t->header);
    status = STATUS_SUCCESS;
out:
    pk_object_dereference(&dev->header);
    return status;
}

/* ---- Close ---- */

static void close_api(WDFIOTARGET IoTarget, WDF_IO_TARGET_STATE reason, const char *api)
{
    wdf_iotarget *t;

    if (!pk_irql_ok(api, PASSIVE_LEVEL))
        return;
    if (!NT_SUCCESS(wdf_target_reference(IoTarget, api, &t))) {
        pk_verifier_stop(api, "invalid WDFIOTARGET %p", (void *)IoTarget);
        return;
    }
    if (t->local)
        pk_verifier_report(api, "the local I/O target is closed by the framework");
    else
        close_target(t, reason);
    pk_object_dereference(&t->header);
}

VOID WdfIoTargetClose(WDFIOTARGET IoTarget) { close_api(IoTarget, WdfIoTargetClosed, "WdfIoTargetClose"); }

VOID WdfIoTargetCloseForQueryRemove(WDFIOTARGET IoTarget)
{
    close_api(IoTarget, WdfIoTargetClosedForQueryRemove, "WdfIoTargetCloseForQueryRemove");
}

/* ---- Synchronous read and write ---- */

static NTSTATUS send_rw_sync(WDFIOTARGET IoTarget, WDFREQUEST Request, bool read, PWDF_MEMORY_DESCRIPTOR d,
                             PLONGLONG DeviceOffset, PWDF_REQUEST_SEND_OPTIONS RequestOptions, PULONG_PTR Bytes,
                             const char *api)
{
    WDF_REQUEST_SEND_OPTIONS options;
    WDFREQUEST own = NULL, r = Request;
    WDFMEMORY mem = NULL, own_mem = NULL;
    PWDFMEMORY_OFFSET offsets = NULL;
    NTSTATUS status;

    if (Bytes)
        *Bytes = 0;
    if (!pk_irql_ok(api, PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (RequestOptions && RequestOptions->Size != sizeof(WDF_REQUEST_SEND_OPTIONS))
        return STATUS_INFO_LENGTH_MISMATCH;
    if (d) {
        switch (d->Type) {
        case WdfMemoryDescriptorTypeBuffer:
            if (!d->u.BufferType.Buffer || !d->u.BufferType.Length)
                return STATUS_INVALID_PARAMETER;
            status = WdfMemoryCreatePreallocated(WDF_NO_OBJECT_ATTRIBUTES, d->u.BufferType.Buffer,
                                                 d->u.BufferType.Length, &own_mem);
            break;
        case WdfMemoryDescriptorTypeMdl:
            if (!d->u.MdlType.Mdl || !d->u.MdlType.BufferLength)
                return STATUS_INVALID_PARAMETER;
            status = WdfMemoryCreatePreallocated(WDF_NO_OBJECT_ATTRIBUTES, MmGetMdlVirtualAddress(d->u.MdlType.Mdl),
                                                 d->u.MdlType.BufferLength, &own_mem);
            break;
        case WdfMemoryDescriptorTypeHandle:
            mem = d->u.HandleType.Memory;
            offsets = d->u.HandleType.Offsets;
            status = mem ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
            break;
        default: status = STATUS_INVALID_PARAMETER; break;
        }
        if (!NT_SUCCESS(status))
            return status;
        if (own_mem)
            mem = own_mem;
    }
    if (!r) {
        status = WdfRequestCreate(WDF_NO_OBJECT_ATTRIBUTES, IoTarget, &own);
        if (!NT_SUCCESS(status))
            goto out;
        r = own;
    }
    status = read ? WdfIoTargetFormatRequestForRead(IoTarget, r, mem, offsets, DeviceOffset)
                  : WdfIoTargetFormatRequestForWrite(IoTarget, r, mem, offsets, DeviceOffset);
    if (!NT_SUCCESS(status))
        goto out;
    WDF_REQUEST_SEND_OPTIONS_INIT(&options, WDF_REQUEST_SEND_OPTION_SYNCHRONOUS);
    if (RequestOptions) {
        options.Flags |= RequestOptions->Flags &
                         (WDF_REQUEST_SEND_OPTION_TIMEOUT | WDF_REQUEST_SEND_OPTION_IGNORE_TARGET_STATE);
        options.Timeout = RequestOptions->Timeout;
    }
    WdfRequestSend(r, IoTarget, &options);
    status = WdfRequestGetStatus(r);
    if (Bytes && NT_SUCCESS(status))
        *Bytes = WdfRequestGetInformation(r);
out:
    if (own)
        WdfObjectDelete((WDFOBJECT)own);
    if (own_mem)
        WdfObjectDelete((WDFOBJECT)own_mem);
    return status;
}

NTSTATUS WdfIoTargetSendReadSynchronously(WDFIOTARGET IoTarget, WDFREQUEST Request, PWDF_MEMORY_DESCRIPTOR OutputBuffer,
                                          PLONGLONG DeviceOffset, PWDF_REQUEST_SEND_OPTIONS RequestOptions,
                                          PULONG_PTR BytesRead)
{
    return send_rw_sync(IoTarget, Request, true, OutputBuffer, DeviceOffset, RequestOptions, BytesRead,
                        "WdfIoTargetSendReadSynchronously");
}

NTSTATUS WdfIoTargetSendWriteSynchronously(WDFIOTARGET IoTarget, WDFREQUEST Request, PWDF_MEMORY_DESCRIPTOR InputBuffer,
                                           PLONGLONG DeviceOffset, PWDF_REQUEST_SEND_OPTIONS RequestOptions,
                                           PULONG_PTR BytesWritten)
{
    return send_rw_sync(IoTarget, Request, false, InputBuffer, DeviceOffset, RequestOptions, BytesWritten,
                        "WdfIoTargetSendWriteSynchronously");
}
