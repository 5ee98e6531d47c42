/*
 * iotarget_remote.c — remote WDFIOTARGETs: WdfIoTargetCreate, WdfIoTargetOpen (UseExistingDevice,
 * ByName, Reopen), WdfIoTargetClose / CloseForQueryRemove, Start / Stop / Purge for every target,
 * the target-device removal notifications with their default behaviours, and the synchronous
 * read and write helpers.
 *
 * Holding requests. Each remote target owns a small WDM driver and device object (the hold
 * device); t->target_device is that device for the target's whole life, so the send path
 * (request_send.c) always has a valid device and stack size, whatever the open state. Its
 * stack size is the real device's plus one. The hold device's dispatch forwards an IRP to the
 * real device (IoSkipCurrentIrpStackLocation: the real device sees the location the sender
 * formatted), or, while the target is Stopped, keeps it in t->held (FIFO) with a cancel routine:
 * Start forwards the held IRPs in order, Purge completes them with STATUS_CANCELLED, a close
 * with STATUS_WDF_DEVICE_REMOVED_NOT_SENT, a cancel or a timeout with STATUS_CANCELLED (the send
 * turns it into STATUS_IO_TIMEOUT). wdf_target_begin_send marks IRPs that must pass whatever
 * the state (IGNORE_TARGET_STATE, SEND_AND_FORGET) in Tail.Overlay.DriverContext[3].
 *
 * Locking: t->lock (a leaf) protects the state, the open state, the file and device pointers,
 * the held list and the callbacks. The cancel spin lock may be held when t->lock is taken (the
 * hold cancel routine), never the reverse. Open and close are serialised by open_state:
 * Opening excludes a second open and makes a close wait on open_done.
 *
 * Lifetime: the target is a child of its device (or of the given parent under it); its dispose
 * closes it (held requests failed, sent requests cancelled and waited for, the notification
 * unregistered, the file and device released), its destroy deletes the hold device and driver.
 * A notification callback holds a reference on the target for its duration.
 */
#include "wdf/wdf_internal.h"

#include <string.h>

enum { FILE_KIND_NONE, FILE_KIND_INTERFACE, FILE_KIND_DEREF };

typedef struct hold_ext {
    wdf_iotarget *t;
} hold_ext;

/* ---- The hold device ---- */

static void complete_irp(PIRP irp, NTSTATUS status)
{
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

static void hold_cancel(PDEVICE_OBJECT device, PIRP irp)
{
    wdf_iotarget *t = ((hold_ext *)device->DeviceExtension)->t;

    IoReleaseCancelSpinLock(irp->CancelIrql);
    pk_lock_acquire(&t->lock);
    RemoveEntryList(&irp->Tail.Overlay.ListEntry);
    t->held_count--;
    pk_lock_release(&t->lock);
    complete_irp(irp, STATUS_CANCELLED);
}

/* Sends irp on to the real device, in the location its sender formatted, with the file. */
static NTSTATUS forward(PIRP irp, PDEVICE_OBJECT real, PFILE_OBJECT file)
{
    IoGetCurrentIrpStackLocation(irp)->FileObject = file;
    IoSkipCurrentIrpStackLocation(irp);
    return IoCallDriver(real, irp);
}

static NTSTATUS hold_dispatch(PDEVICE_OBJECT device, PIRP irp)
{
    wdf_iotarget *t = ((hold_ext *)device->DeviceExtension)->t;
    PVOID mark = irp->Tail.Overlay.DriverContext[3];
    PDEVICE_OBJECT real;
    PFILE_OBJECT file;
    WDF_IO_TARGET_STATE state;
    NTSTATUS status;

    irp->Tail.Overlay.DriverContext[3] = NULL;
    pk_lock_acquire(&t->lock);
    state = t->state;
    real = t->real_device;
    file = t->real_file;
    if (real && (mark == WDF_TARGET_PASS_MARK || state == WdfIoTargetStarted)) {
        pk_lock_release(&t->lock);
        return forward(irp, real, file);
    }
    if (state == WdfIoTargetStopped) {
        IoMarkIrpPending(irp);
        InsertTailList(&t->held, &irp->Tail.Overlay.ListEntry);
        t->held_count++;
        IoSetCancelRoutine(irp, hold_cancel);
        if (__atomic_load_n(&irp->Cancel, __ATOMIC_ACQUIRE) && IoSetCancelRoutine(irp, NULL)) {
            RemoveEntryList(&irp->Tail.Overlay.ListEntry);
            t->held_count--;
            pk_lock_release(&t->lock);
            complete_irp(irp, STATUS_CANCELLED);
            return STATUS_PENDING;
        }
        if (t->waiters)
            KeSetEvent(&t->sent_empty, IO_NO_INCREMENT, FALSE);
        pk_lock_release(&t->lock);
        return STATUS_PENDING;
    }
    pk_lock_release(&t->lock);
    status = state == WdfIoTargetPurged ? STATUS_CANCELLED : STATUS_WDF_DEVICE_REMOVED_NOT_SENT;
    complete_irp(irp, status);
    return status;
}

static NTSTATUS hold_entry(PDRIVER_OBJECT driver, PUNICODE_STRING path)
{
    (void)path;
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        driver->MajorFunction[i] = hold_dispatch;
    return STATUS_SUCCESS;
}

/* Moves the held IRPs whose cancel routine could still be cleared to *out (t->lock held). */
static void take_held(wdf_iotarget *t, PLIST_ENTRY out)
{
    PLIST_ENTRY e = t->held.Flink;

    InitializeListHead(out);
    while (e != &t->held) {
        PIRP irp = CONTAINING_RECORD(e, IRP, Tail.Overlay.ListEntry);
        e = e->Flink;
        if (IoSetCancelRoutine(irp, NULL)) {
            RemoveEntryList(&irp->Tail.Overlay.ListEntry);
            t->held_count--;
            InsertTailList(out, &irp->Tail.Overlay.ListEntry);
        }
        /* else its cancel routine runs and removes it. */
    }
}

/* Completes (status != 0) or forwards to real (FIFO) the IRPs of a take_held list. */
static void finish_held(PLIST_ENTRY list, NTSTATUS status, PDEVICE_OBJECT real, PFILE_OBJECT file)
{
    while (!IsListEmpty(list)) {
        PIRP irp = CONTAINING_RECORD(RemoveHeadList(list), IRP, Tail.Overlay.ListEntry);
        if (status)
            complete_irp(irp, status);
        else
            forward(irp, real, file);
    }
}

/* ---- Close ---- */

static void release_file(PFILE_OBJECT file, uint8_t kind)
{
    if (!file)
        return;
    if (kind == FILE_KIND_INTERFACE)
        PnpkitCloseDeviceInterface(file);
    else if (kind == FILE_KIND_DEREF)
        ObDereferenceObject(file);
}

/* The internal close with a reason: Closed, ClosedForQueryRemove (keeps the registration) or
 * Deleted. PASSIVE_LEVEL. */
static void close_target(wdf_iotarget *t, WDF_IO_TARGET_STATE reason)
{
    LIST_ENTRY held;
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
    take_held(t, &held);
    pk_lock_release(&t->lock);

    finish_held(&held, STATUS_WDF_DEVICE_REMOVED_NOT_SENT, NULL, NULL);
    if (was_open) {
        /* The removing phase: IGNORE_TARGET_STATE sends are still accepted. */
        wdf_target_cancel_tracked(t, true);
        /* All: a held request whose cancel routine was running when the held ones were taken
         * is still counted; the target must outlive it. */
        wdf_target_wait_tracked(t, true);
    }

    pk_lock_acquire(&t->lock);
    file = t->real_file;
    kind = t->file_kind;
    real = t->real_device;
    t->real_file = NULL;
    t->real_device = NULL;
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
    LIST_ENTRY held;
    NTSTATUS status;
    ACCESS_MASK access;
    ULONG share;

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
        if (reopen) {
            name = t->open_name; /* stable: only an open (this one) replaces it */
            access = t->open_access;
            share = t->open_share;
        } else {
            name = p->TargetDeviceName;
            access = p->DesiredAccess;
            share = p->ShareAccess;
        }
        status = PnpkitOpenDeviceInterface(&name, access, share, &file);
        kind = FILE_KIND_INTERFACE;
        if (status == STATUS_OBJECT_NAME_NOT_FOUND) {
            PDEVICE_OBJECT top;
            status = IoGetDeviceObjectPointer(&name, access, &file, &top);
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
                t->open_name = copy;
                t->open_access = p->DesiredAccess;
                t->open_share = p->ShareAccess;
                t->open_disposition = p->CreateDisposition;
                t->open_options = p->CreateOptions;
            }
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
    if (file) {
        ObReferenceObject(file);
        t->notify_file = file;
    }
    pk_lock_release(&t->lock);

    /* 5. The registration; its failure is not an error. */
    if (file) {
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

    /* 6. Open and Started. The hold device takes the real device's shape. */
    if (t->hold_device->StackSize != real->StackSize + 1)
        t->hold_device->StackSize = (CCHAR)(real->StackSize + 1);
    {
        ULONG want = (t->hold_device->Flags & ~(ULONG)(DO_BUFFERED_IO | DO_DIRECT_IO)) |
                     (real->Flags & (DO_BUFFERED_IO | DO_DIRECT_IO));
        if (t->hold_device->Flags != want)
            t->hold_device->Flags = want;
    }
    base = IoGetDeviceAttachmentBaseRef(real);
    if (base)
        ObDereferenceObject(base);
    pk_lock_acquire(&t->lock);
    t->real_file = file;
    t->file_kind = kind;
    t->real_device = real;
    t->target_pdo = base;
    t->open_state = WDF_TARGET_OPEN_OPEN;
    pk_store_release(&t->state, WdfIoTargetStarted);
    take_held(t, &held);
    pk_lock_release(&t->lock);
    KeSetEvent(&t->open_done, IO_NO_INCREMENT, FALSE);
    finish_held(&held, 0, real, file);
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
        status = callbacks ? STATUS_INVALID_PARAMETER : STATUS_NOT_IMPLEMENTED;
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

    if (t->hold_device)
        IoDeleteDevice(t->hold_device);
    if (t->hold_driver)
        PnpkitIoDeleteDriver(t->hold_driver);
    t->hold_device = NULL;
    t->hold_driver = NULL;
    t->target_device = NULL;
    pk_free(t->open_name.Buffer);
    t->open_name.Buffer = NULL;
}

static const pk_object_type remote_target_type = { "WDFIOTARGET", PK_KIND_IOTARGET, 0, remote_dispose,
                                                   remote_destroy };

NTSTATUS WdfIoTargetCreate(WDFDEVICE Device, PWDF_OBJECT_ATTRIBUTES IoTargetAttributes, WDFIOTARGET *IoTarget)
{
    static const char api[] = "WdfIoTargetCreate";
    PDRIVER_OBJECT driver = NULL;
    PDEVICE_OBJECT hold = NULL;
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
    status = PnpkitIoCreateDriver(u"WdfIoTargetHold", hold_entry, &driver);
    if (!NT_SUCCESS(status))
        goto out;
    status = IoCreateDevice(driver, sizeof(hold_ext), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &hold);
    if (!NT_SUCCESS(status))
        goto out_driver;
    hold->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    status = pk_object_create(&remote_target_type, IoTargetAttributes, &dev->header, sizeof(*t), api, (void **)&t);
    if (!NT_SUCCESS(status))
        goto out_device;
    ((hold_ext *)hold->DeviceExtension)->t = t;
    t->device = dev;
    t->hold_driver = driver;
    t->hold_device = hold;
    t->target_device = hold;
    t->local = false;
    pk_lock_init(&t->lock);
    InitializeListHead(&t->sent);
    InitializeListHead(&t->sent_ignore);
    InitializeListHead(&t->held);
    KeInitializeEvent(&t->sent_empty, NotificationEvent, FALSE);
    KeInitializeEvent(&t->open_done, NotificationEvent, TRUE);
    t->open_state = WDF_TARGET_OPEN_CLOSED;
    pk_store_release(&t->state, WdfIoTargetClosed); /* never opened: Closed (a departure, see the spec) */
    *IoTarget = (WDFIOTARGET)pk_object_handle(&t->header);
    pk_object_commit(&t->header);
    status = STATUS_SUCCESS;
    goto out;
out_device:
    IoDeleteDevice(hold);
out_driver:
    PnpkitIoDeleteDriver(driver);
out:
    pk_object_dereference(&dev->header);
    return status;
}

/* ---- Close, Start, Stop, Purge ---- */

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

NTSTATUS WdfIoTargetStart(WDFIOTARGET IoTarget)
{
    static const char api[] = "WdfIoTargetStart";
    LIST_ENTRY held;
    PDEVICE_OBJECT real;
    PFILE_OBJECT file;
    wdf_iotarget *t;
    NTSTATUS status = STATUS_SUCCESS;

    if (!pk_irql_ok(api, DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    status = wdf_target_reference(IoTarget, api, &t);
    if (!NT_SUCCESS(status))
        return status;
    pk_lock_acquire(&t->lock);
    InitializeListHead(&held);
    real = t->real_device;
    file = t->real_file;
    if (t->state == WdfIoTargetStopped || t->state == WdfIoTargetPurged) {
        pk_store_release(&t->state, WdfIoTargetStarted);
        take_held(t, &held);
    } else if (t->state != WdfIoTargetStarted) {
        status = STATUS_INVALID_DEVICE_STATE;
    }
    pk_lock_release(&t->lock);
    /* The held requests are counted as sent: the target cannot close before they finish. */
    finish_held(&held, 0, real, file);
    pk_object_dereference(&t->header);
    return status;
}

VOID WdfIoTargetStop(WDFIOTARGET IoTarget, WDF_IO_TARGET_SENT_IO_ACTION Action)
{
    static const char api[] = "WdfIoTargetStop";
    wdf_iotarget *t;
    bool changed = false;

    if (Action < WdfIoTargetCancelSentIo || Action > WdfIoTargetLeaveSentIoPending) {
        pk_verifier_report(api, "invalid action %d", (int)Action);
        return;
    }
    if (!pk_irql_ok(api, Action == WdfIoTargetLeaveSentIoPending ? DISPATCH_LEVEL : PASSIVE_LEVEL))
        return;
    if (!NT_SUCCESS(wdf_target_reference(IoTarget, api, &t)))
        return;
    pk_lock_acquire(&t->lock);
    if (t->state == WdfIoTargetStarted || t->state == WdfIoTargetStopped || t->state == WdfIoTargetPurged) {
        pk_store_release(&t->state, WdfIoTargetStopped);
        changed = true;
    }
    pk_lock_release(&t->lock);
    if (!changed) {
        pk_verifier_report(api, "the target is closed or deleted");
    } else if (Action == WdfIoTargetCancelSentIo) {
        wdf_target_cancel_sent(t);
        wdf_target_wait_sent(t);
    } else if (Action == WdfIoTargetWaitForSentIoToComplete) {
        wdf_target_wait_sent(t);
    }
    pk_object_dereference(&t->header);
}

VOID WdfIoTargetPurge(WDFIOTARGET IoTarget, WDF_IO_TARGET_PURGE_IO_ACTION Action)
{
    static const char api[] = "WdfIoTargetPurge";
    LIST_ENTRY held;
    wdf_iotarget *t;
    bool changed = false;

    if (Action != WdfIoTargetPurgeIoAndWait && Action != WdfIoTargetPurgeIo) {
        pk_verifier_report(api, "invalid action %d", (int)Action);
        return;
    }
    if (!pk_irql_ok(api, Action == WdfIoTargetPurgeIo ? DISPATCH_LEVEL : PASSIVE_LEVEL))
        return;
    if (!NT_SUCCESS(wdf_target_reference(IoTarget, api, &t)))
        return;
    InitializeListHead(&held);
    pk_lock_acquire(&t->lock);
    if (t->state == WdfIoTargetStarted || t->state == WdfIoTargetStopped || t->state == WdfIoTargetPurged) {
        pk_store_release(&t->state, WdfIoTargetPurged);
        take_held(t, &held);
        changed = true;
    }
    pk_lock_release(&t->lock);
    if (!changed) {
        pk_verifier_report(api, "the target is closed or deleted");
    } else {
        finish_held(&held, STATUS_CANCELLED, NULL, NULL);
        wdf_target_cancel_sent(t);
        if (Action == WdfIoTargetPurgeIoAndWait)
            wdf_target_wait_sent(t);
    }
    pk_object_dereference(&t->header);
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
