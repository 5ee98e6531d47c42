/*
 * iotarget.c — WDFIOTARGET: the state and sent-request tracking every target shares, and the
 * local I/O target of a device (the device it attached to). Remote targets (WdfIoTargetCreate,
 * Open, Close, Stop, Start, Purge, removal notifications) build on the hooks declared in
 * wdf_internal.h: wdf_target_begin_send / wdf_target_end_send around every send,
 * wdf_target_cancel_sent and wdf_target_wait_sent for stop, purge and close.
 *
 * Locking: t->lock protects the state, the list of sent requests and its count. It is a leaf: no
 * other lock is taken under it and no callback runs under it. A cancel pass takes a reference
 * on each request under the lock and cancels after unlocking.
 *
 * Who frees what: the target references its device object (released by its destroy hook). The
 * local target is deleted with its device (it is a child of the WDFDEVICE).
 */
#include "wdf/wdf_internal.h"

static void target_destroy(pk_object *o)
{
    wdf_iotarget *t = CONTAINING_RECORD(o, wdf_iotarget, header);

    if (t->target_device)
        ObDereferenceObject(t->target_device);
    t->target_device = NULL;
}

static const pk_object_type local_target_type = { "WDFIOTARGET (local)", PK_KIND_IOTARGET, PK_OBJTYPE_NO_CLIENT_DELETE,
                                                  NULL, target_destroy };

NTSTATUS wdf_target_reference(WDFIOTARGET handle, const char *api, wdf_iotarget **out)
{
    pk_object *o;
    NTSTATUS status = pk_object_reference_handle((WDFOBJECT)handle, PK_KIND_IOTARGET, api, &o);

    if (NT_SUCCESS(status))
        *out = CONTAINING_RECORD(o, wdf_iotarget, header);
    return status;
}

NTSTATUS wdf_target_create_local(wdf_device *dev, wdf_iotarget **out)
{
    wdf_iotarget *t;
    NTSTATUS status;

    status = pk_object_create(&local_target_type, NULL, &dev->header, sizeof(*t), "WdfDeviceCreate", (void **)&t);
    if (!NT_SUCCESS(status))
        return status;
    t->device = dev;
    ObReferenceObject(dev->lower);
    t->target_device = dev->lower;
    t->target_pdo = dev->pdo;
    t->target_file = NULL;
    t->local = true;
    pk_lock_init(&t->lock);
    InitializeListHead(&t->sent);
    InitializeListHead(&t->sent_ignore);
    InitializeListHead(&t->held);
    KeInitializeEvent(&t->sent_empty, NotificationEvent, FALSE);
    /* The framework opens and starts the local target with its device. */
    t->state = WdfIoTargetStarted;
    pk_object_commit(&t->header);
    *out = t;
    return STATUS_SUCCESS;
}

/* ---- The hooks around every send ---- */

NTSTATUS wdf_target_begin_send(wdf_iotarget *t, wdf_request *r, ULONG flags, bool untracked)
{
    bool ignore = (flags & WDF_REQUEST_SEND_OPTION_IGNORE_TARGET_STATE) != 0;
    bool pass = ignore || untracked;
    WDF_IO_TARGET_STATE state;
    bool hold;

    pk_lock_acquire(&t->lock);
    state = t->state;
    /* Started delivers. A Stopped remote target accepts the request: its hold device
     * (iotarget_remote.c) holds it until Start, close, purge, cancel or timeout (a Stopped local
     * target refuses). IGNORE_TARGET_STATE also delivers when Stopped or Purged, and while a
     * remote target closes (the removing phase: open_state still Open), never once it is
     * closed or deleted. */
    hold = t->hold_device && state == WdfIoTargetStopped && !pass;
    if (state != WdfIoTargetStarted && !hold &&
        !(ignore && (state == WdfIoTargetStopped || state == WdfIoTargetPurged ||
                     (t->hold_device && t->open_state == WDF_TARGET_OPEN_OPEN && state != WdfIoTargetDeleted)))) {
        pk_lock_release(&t->lock);
        return STATUS_INVALID_DEVICE_STATE;
    }
    if (t->hold_device && r->irp)
        r->irp->Tail.Overlay.DriverContext[3] = pass ? WDF_TARGET_PASS_MARK : NULL;
    if (!untracked) {
        /* IGNORE_TARGET_STATE requests on their own list: Stop neither cancels nor waits for
         * them, a close does both. */
        InsertTailList(ignore ? &t->sent_ignore : &t->sent, &r->target_link);
        r->target_tracked = true;
        t->sent_count++;
        if (ignore)
            t->ignore_count++;
    }
    pk_lock_release(&t->lock);
    return STATUS_SUCCESS;
}

static bool on_list(PLIST_ENTRY head, PLIST_ENTRY entry)
{
    for (PLIST_ENTRY e = head->Flink; e != head; e = e->Flink)
        if (e == entry)
            return true;
    return false;
}

void wdf_target_end_send(wdf_iotarget *t, wdf_request *r)
{
    pk_lock_acquire(&t->lock);
    if (r->target_tracked) {
        if (t->ignore_count && on_list(&t->sent_ignore, &r->target_link))
            t->ignore_count--;
        RemoveEntryList(&r->target_link);
        r->target_tracked = false;
        t->sent_count--;
        if (t->waiters)
            KeSetEvent(&t->sent_empty, IO_NO_INCREMENT, FALSE);
    }
    pk_lock_release(&t->lock);
}

#define CANCEL_BATCH 32

static void cancel_list(wdf_iotarget *t, PLIST_ENTRY head)
{
    uint32_t epoch;

    pk_lock_acquire(&t->lock);
    epoch = ++t->cancel_epoch;
    pk_lock_release(&t->lock);
    for (;;) {
        wdf_request *batch[CANCEL_BATCH];
        int n = 0;

        pk_lock_acquire(&t->lock);
        for (PLIST_ENTRY e = head->Flink; e != head && n < CANCEL_BATCH; e = e->Flink) {
            wdf_request *r = CONTAINING_RECORD(e, wdf_request, target_link);
            if (r->cancel_epoch == epoch)
                continue;
            if (t->held_count && wdf_target_irp_held(t, r->irp))
                continue; /* held, not sent: Stop leaves it held */
            r->cancel_epoch = epoch;
            pk_object_reference(&r->header);
            batch[n++] = r;
        }
        pk_lock_release(&t->lock);
        for (int i = 0; i < n; i++) {
            wdf_request_cancel_sent(batch[i]);
            pk_object_dereference(&batch[i]->header);
        }
        if (n < CANCEL_BATCH)
            break;
    }
}

void wdf_target_cancel_sent(wdf_iotarget *t) { cancel_list(t, &t->sent); }

void wdf_target_cancel_tracked(wdf_iotarget *t, bool all)
{
    cancel_list(t, &t->sent);
    if (all)
        cancel_list(t, &t->sent_ignore);
}

bool wdf_target_irp_held(wdf_iotarget *t, PIRP irp)
{
    for (PLIST_ENTRY e = t->held.Flink; e && e != &t->held; e = e->Flink)
        if (CONTAINING_RECORD(e, IRP, Tail.Overlay.ListEntry) == irp)
            return true;
    return false;
}

void wdf_target_wait_sent(wdf_iotarget *t) { wdf_target_wait_tracked(t, false); }

void wdf_target_wait_tracked(wdf_iotarget *t, bool all)
{
    for (;;) {
        pk_lock_acquire(&t->lock);
        if (t->sent_count == (all ? 0 : t->held_count + t->ignore_count)) {
            pk_lock_release(&t->lock);
            return;
        }
        t->waiters++;
        KeClearEvent(&t->sent_empty);
        pk_lock_release(&t->lock);
        KeWaitForSingleObject(&t->sent_empty, Executive, KernelMode, FALSE, NULL);
        pk_lock_acquire(&t->lock);
        t->waiters--;
        pk_lock_release(&t->lock);
    }
}

void wdf_target_close_for_removal(wdf_iotarget *t)
{
    if (!t)
        return;
    pk_lock_acquire(&t->lock);
    pk_store_release(&t->state, WdfIoTargetClosed);
    pk_lock_release(&t->lock);
    wdf_target_cancel_tracked(t, true);
    wdf_target_wait_tracked(t, true);
}

/* ---- Public accessors ---- */

#define TARGET_GETTER(name, type, expr) \
    type name(WDFIOTARGET IoTarget) \
    { \
        wdf_iotarget *t; \
        type value; \
        if (!pk_irql_ok(#name, DISPATCH_LEVEL) || !NT_SUCCESS(wdf_target_reference(IoTarget, #name, &t))) \
            return (type)0; \
        value = (expr); \
        pk_object_dereference(&t->header); \
        return value; \
    }

static WDF_IO_TARGET_STATE target_state(wdf_iotarget *t)
{
    WDF_IO_TARGET_STATE state;

    pk_lock_acquire(&t->lock);
    state = t->state;
    pk_lock_release(&t->lock);
    return state;
}

TARGET_GETTER(WdfIoTargetGetState, WDF_IO_TARGET_STATE, target_state(t))
TARGET_GETTER(WdfIoTargetGetDevice, WDFDEVICE, (WDFDEVICE)pk_object_handle(&t->device->header))
static PDEVICE_OBJECT target_device_of(wdf_iotarget *t)
{
    PDEVICE_OBJECT d;

    if (!t->hold_device)
        return t->target_device;
    pk_lock_acquire(&t->lock);
    d = t->open_state == WDF_TARGET_OPEN_OPEN ? t->real_device : NULL;
    pk_lock_release(&t->lock);
    return d;
}

static PDEVICE_OBJECT target_pdo_of(wdf_iotarget *t)
{
    PDEVICE_OBJECT d;

    if (!t->hold_device)
        return t->target_pdo;
    pk_lock_acquire(&t->lock);
    d = t->open_state == WDF_TARGET_OPEN_OPEN ? t->target_pdo : NULL;
    pk_lock_release(&t->lock);
    return d;
}

static PFILE_OBJECT target_file_of(wdf_iotarget *t)
{
    PFILE_OBJECT f;

    pk_lock_acquire(&t->lock);
    f = t->hold_device ? t->real_file : t->target_file;
    pk_lock_release(&t->lock);
    return f;
}

TARGET_GETTER(WdfIoTargetWdmGetTargetDeviceObject, PDEVICE_OBJECT, target_device_of(t))
TARGET_GETTER(WdfIoTargetWdmGetTargetPhysicalDevice, PDEVICE_OBJECT, target_pdo_of(t))
TARGET_GETTER(WdfIoTargetWdmGetTargetFileObject, PFILE_OBJECT, target_file_of(t))
