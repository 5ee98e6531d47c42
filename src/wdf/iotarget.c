/*
 * iotarget.c — WDFIOTARGET: what every target shares (the state, the tracking of sent requests,
 * the list of held requests, Start / Stop / Purge) and the local I/O target of a device (the
 * device it attached to). Remote targets (iotarget_remote.c: WdfIoTargetCreate, Open, Close,
 * removal notifications) build on the hooks declared in wdf_internal.h.
 *
 * Sending. request_send.c sets a request up as sent, then asks wdf_target_begin_send, under the
 * target lock, what to do with it: deliver it to t->target_device (tracked in `sent` until its
 * send finishes, wdf_target_end_send), hold it (a Stopped target: tracked in `held`, FIFO), or
 * refuse it (the status). A held request never went down: Start delivers the held requests in
 * order (wdf_target_deliver_held), Purge finishes them with STATUS_CANCELLED, a close with
 * STATUS_WDF_DEVICE_REMOVED_NOT_SENT, a cancel or a timeout with STATUS_CANCELLED (the send
 * turns it into STATUS_IO_TIMEOUT); wdf_request_finish_unsent finishes one without an IRP ever
 * reaching a driver. So holding costs a target no object of its own: a list head and a count.
 * A held request's IRP carries a cancel routine (held_irp_cancel), so that whoever cancels the
 * IRP itself (the originator of a request a driver forwarded) ends it too: whoever clears that
 * routine (IoSetCancelRoutine(NULL) returns it) finishes or delivers the request; when the clear
 * fails, the routine is running and finishes it.
 *
 * Locking: t->lock protects the state, the sent and held lists and their counts, and a remote
 * target's device and file while open. It is a leaf: no other lock is taken under it and no
 * callback runs under it. A cancel pass takes a reference on each request under the lock and
 * cancels after unlocking; held requests are taken off the list under the lock and finished or
 * delivered after unlocking.
 *
 * Who frees what: the local target references its device object (released by its destroy
 * hook) and is deleted with its device (it is a child of the WDFDEVICE).
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

void wdf_target_init_common(wdf_iotarget *t, wdf_device *dev, bool local)
{
    t->device = dev;
    t->local = local;
    pk_lock_init(&t->lock);
    InitializeListHead(&t->sent);
    InitializeListHead(&t->sent_ignore);
    InitializeListHead(&t->held);
    KeInitializeEvent(&t->sent_empty, NotificationEvent, FALSE);
    KeInitializeEvent(&t->change_done, NotificationEvent, FALSE);
}

NTSTATUS wdf_target_create_local(wdf_device *dev, wdf_iotarget **out)
{
    wdf_iotarget *t;
    NTSTATUS status;

    status = pk_object_create(&local_target_type, NULL, &dev->header, sizeof(*t), "WdfDeviceCreate", (void **)&t);
    if (!NT_SUCCESS(status))
        return status;
    wdf_target_init_common(t, dev, true);
    ObReferenceObject(dev->lower);
    t->target_device = dev->lower;
    t->target_pdo = dev->pdo;
    t->target_file = NULL;
    t->stack_size = dev->lower->StackSize;
    /* The framework opens and starts the local target with its device. */
    t->state = WdfIoTargetStarted;
    pk_object_commit(&t->header);
    *out = t;
    return STATUS_SUCCESS;
}

/* ---- The hooks around every send ---- */

static VOID held_irp_cancel(PDEVICE_OBJECT device, PIRP irp);

wdf_send_decision wdf_target_begin_send(wdf_iotarget *t, wdf_request *r, ULONG flags, bool untracked, int32_t refs,
                                        PDEVICE_OBJECT *to, NTSTATUS *refusal)
{
    bool ignore = (flags & WDF_REQUEST_SEND_OPTION_IGNORE_TARGET_STATE) != 0;
    bool pass = ignore || untracked;
    WDF_IO_TARGET_STATE state;
    bool hold;

    pk_lock_acquire(&t->lock);
    state = t->state;
    if (__builtin_expect(state == WdfIoTargetStarted && t->local, 1)) {
        /* The hot path: the local target, Started. */
        *to = t->target_device;
        if (!untracked) {
            wdf_request_prepare_send(r, t, flags, refs);
            InsertTailList(ignore ? &t->sent_ignore : &t->sent, &r->target_link);
            r->target_tracked = true;
            t->sent_count++;
            t->ignore_count += ignore;
        }
        pk_lock_release(&t->lock);
        return WDF_SEND_DELIVER;
    }
    /* Started delivers; Stopped holds (until Start, close, purge, cancel or timeout).
     * IGNORE_TARGET_STATE requests pass a Stopped or Purged target, and a remote target while
     * it closes (the removing phase: open_state still Open), never one that is closed or
     * deleted; SEND_AND_FORGET ones are never held (nothing tracks them). */
    hold = state == WdfIoTargetStopped && !pass;
    if (state != WdfIoTargetStarted && !hold &&
        !(ignore && (state == WdfIoTargetStopped || state == WdfIoTargetPurged ||
                   (!t->local && t->open_state == WDF_TARGET_OPEN_OPEN && state != WdfIoTargetDeleted)))) {
        pk_lock_release(&t->lock);
        *refusal = STATUS_INVALID_DEVICE_STATE;
        return WDF_SEND_REFUSE;
    }
    if (!t->local) {
        /* A remote target's device can differ from the one the request was formatted for (a
         * reopen in between): its stack must fit, and the stack location carries this open's
         * file (the one it goes down with: the next one, or the current one when forgotten). */
        if (r->irp->CurrentLocation - 1 < t->target_device->StackSize) {
            pk_lock_release(&t->lock);
            *refusal = STATUS_REQUEST_NOT_ACCEPTED;
            return WDF_SEND_REFUSE;
        }
        (untracked ? IoGetCurrentIrpStackLocation(r->irp) : IoGetNextIrpStackLocation(r->irp))->FileObject =
            t->target_file;
    }
    *to = t->target_device;
    if (untracked) {
        /* Nothing waits for an untracked request: a remote target's device is referenced for
         * the call (the caller releases it), so that a close cannot release it meanwhile. */
        if (!t->local)
            ObReferenceObject(*to);
        pk_lock_release(&t->lock);
        return WDF_SEND_DELIVER;
    }
    /* Set up as sent before it is in a list: from there another thread may cancel it, and a
     * held one may be delivered or finished as soon as the lock is released. */
    wdf_request_prepare_send(r, t, flags, refs);
    t->sent_count++;
    r->target_tracked = true;
    if (hold) {
        if (pk_load_acquire(&r->cancelled)) {
            /* Cancelled while being sent, before it could be held: it finishes now, cancelled
             * (the canceller found it in no list). */
            InsertTailList(&t->sent, &r->target_link);
            pk_lock_release(&t->lock);
            return WDF_SEND_CANCELLED;
        }
        InsertTailList(&t->held, &r->target_link);
        r->held = true;
        t->held_count++;
        r->irp->Tail.Overlay.DriverContext[3] = r;
        IoSetCancelRoutine(r->irp, held_irp_cancel);
        if (__atomic_load_n(&r->irp->Cancel, __ATOMIC_ACQUIRE) && IoSetCancelRoutine(r->irp, NULL)) {
            /* Its IRP was cancelled already: it is not held. */
            RemoveEntryList(&r->target_link);
            r->held = false;
            t->held_count--;
            InsertTailList(&t->sent, &r->target_link);
            pk_lock_release(&t->lock);
            return WDF_SEND_CANCELLED;
        }
        if (t->waiters)
            KeSetEvent(&t->sent_empty, IO_NO_INCREMENT, FALSE);
        pk_lock_release(&t->lock);
        return WDF_SEND_HELD;
    }
    /* IGNORE_TARGET_STATE requests on their own list: Stop neither cancels nor waits for them,
     * a close does both. */
    InsertTailList(ignore ? &t->sent_ignore : &t->sent, &r->target_link);
    if (ignore)
        t->ignore_count++;
    pk_lock_release(&t->lock);
    return WDF_SEND_DELIVER;
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
        /* A held request taken off the held list is linked to itself: removing it is harmless. */
        RemoveEntryList(&r->target_link);
        r->target_tracked = false;
        t->sent_count--;
        if (t->waiters)
            KeSetEvent(&t->sent_empty, IO_NO_INCREMENT, FALSE);
    }
    pk_lock_release(&t->lock);
}

/* ---- Held requests ---- */

/* Takes r off the held list (t->lock held); it stays tracked (sent_count) until its send ends.
 * True when the caller now finishes or delivers it; false when its IRP's cancel routine runs
 * and will finish it. */
static bool unhold_locked(wdf_iotarget *t, wdf_request *r)
{
    RemoveEntryList(&r->target_link);
    InitializeListHead(&r->target_link);
    r->held = false;
    t->held_count--;
    return IoSetCancelRoutine(r->irp, NULL) != NULL;
}

/* The IRP of a held request was cancelled (IoCancelIrp, with the cancel spin lock held). The
 * request is tracked, so its target and the request itself are alive. */
static VOID held_irp_cancel(PDEVICE_OBJECT device, PIRP irp)
{
    wdf_request *r = irp->Tail.Overlay.DriverContext[3];
    wdf_iotarget *t = r->target;

    IoReleaseCancelSpinLock(irp->CancelIrql);
    pk_lock_acquire(&t->lock);
    if (r->held)
        (void)unhold_locked(t, r); /* the routine is cleared already: this thread finishes it */
    pk_lock_release(&t->lock);
    wdf_request_finish_unsent(r, STATUS_CANCELLED);
}

bool wdf_target_unhold(wdf_iotarget *t, wdf_request *r)
{
    bool mine = false;

    pk_lock_acquire(&t->lock);
    if (r->held)
        mine = unhold_locked(t, r);
    pk_lock_release(&t->lock);
    return mine;
}

void wdf_target_finish_held(wdf_iotarget *t, NTSTATUS status)
{
    for (;;) {
        wdf_request *r;
        bool mine;

        pk_lock_acquire(&t->lock);
        if (IsListEmpty(&t->held)) {
            pk_lock_release(&t->lock);
            return;
        }
        r = CONTAINING_RECORD(t->held.Flink, wdf_request, target_link);
        mine = unhold_locked(t, r);
        pk_lock_release(&t->lock);
        /* Its completion reference keeps it: the send cannot finish before this does. */
        if (mine)
            wdf_request_finish_unsent(r, status);
    }
}

void wdf_target_deliver_held(wdf_iotarget *t)
{
    for (;;) {
        PDEVICE_OBJECT to;
        wdf_request *r;

        pk_lock_acquire(&t->lock);
        /* One at a time, each while the target is still Started: a Stop that comes in between
         * leaves the rest held, in order. */
        if (t->state != WdfIoTargetStarted || IsListEmpty(&t->held)) {
            pk_lock_release(&t->lock);
            return;
        }
        r = CONTAINING_RECORD(t->held.Flink, wdf_request, target_link);
        if (!unhold_locked(t, r)) {
            pk_lock_release(&t->lock);
            continue; /* its IRP's cancel routine finishes it */
        }
        InsertTailList(&t->sent, &r->target_link);
        to = t->target_device;
        pk_lock_release(&t->lock);
        if (pk_load_acquire(&r->cancelled))
            wdf_request_finish_unsent(r, STATUS_CANCELLED); /* its cancel found it in no list */
        else
            IoCallDriver(to, r->irp); /* the target stays open: it is tracked */
    }
}

/* ---- Cancelling and waiting for sent requests ---- */

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
    wdf_target_finish_held(t, STATUS_WDF_DEVICE_REMOVED_NOT_SENT);
    wdf_target_cancel_tracked(t, true);
    wdf_target_wait_tracked(t, true);
}

/* ---- Start, Stop, Purge ----
 *
 * State changes are serialized as the spec asks: a Stop that cancels or waits for sent I/O and
 * every Purge count in t->changing from their state change until they are done, and a Start
 * waits until no such change is in progress (t->change_done), then moves the target. A Start
 * that cannot wait (DISPATCH_LEVEL, or called by the thread running the change, from a
 * completion routine its cancel pass ran) is recorded in t->start_pending and carried out by
 * the last change when it ends. Stop with LeaveSentIoPending changes the state under the lock
 * and is done at once. */

/* The target whose Stop or Purge this thread is running (a Start from inside it must not wait
 * for it). */
static __thread wdf_iotarget *tls_changing;

/* Stopped or Purged -> Started (t->lock held); false in any other state but Started. */
static bool start_locked(wdf_iotarget *t)
{
    if (t->state == WdfIoTargetStopped || t->state == WdfIoTargetPurged) {
        pk_store_release(&t->state, WdfIoTargetStarted);
        return true;
    }
    return t->state == WdfIoTargetStarted;
}

/* Moves t to `to` and counts a change in progress when it waits (t->lock held). Only from
 * Started, Stopped or Purged (false otherwise). */
static bool change_begin_locked(wdf_iotarget *t, WDF_IO_TARGET_STATE to, bool waits)
{
    if (t->state != WdfIoTargetStarted && t->state != WdfIoTargetStopped && t->state != WdfIoTargetPurged)
        return false;
    pk_store_release(&t->state, to);
    /* A Start deferred by an earlier change is overtaken by this one. */
    t->start_pending = false;
    if (waits)
        t->changing++;
    return true;
}

static void change_end(wdf_iotarget *t)
{
    bool start = false;

    pk_lock_acquire(&t->lock);
    if (--t->changing == 0) {
        if (t->start_pending) {
            t->start_pending = false;
            start = start_locked(t);
        }
        KeSetEvent(&t->change_done, IO_NO_INCREMENT, FALSE);
    }
    pk_lock_release(&t->lock);
    if (start)
        wdf_target_deliver_held(t);
}

NTSTATUS WdfIoTargetStart(WDFIOTARGET IoTarget)
{
    static const char api[] = "WdfIoTargetStart";
    bool can_wait = pk_irql() == PASSIVE_LEVEL;
    wdf_iotarget *t;
    NTSTATUS status = STATUS_SUCCESS;
    bool deliver = false;

    if (!pk_irql_ok(api, DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    status = wdf_target_reference(IoTarget, api, &t);
    if (!NT_SUCCESS(status))
        return status;
    if (tls_changing == t)
        can_wait = false;
    pk_lock_acquire(&t->lock);
    while (t->changing && can_wait) {
        KeClearEvent(&t->change_done);
        pk_lock_release(&t->lock);
        KeWaitForSingleObject(&t->change_done, Executive, KernelMode, FALSE, NULL);
        pk_lock_acquire(&t->lock);
    }
    if (t->changing && (t->state == WdfIoTargetStopped || t->state == WdfIoTargetPurged)) {
        /* It cannot wait: the change in progress starts the target when it ends. */
        t->start_pending = true;
    } else if (start_locked(t)) {
        deliver = true;
    } else {
        status = STATUS_INVALID_DEVICE_STATE;
    }
    pk_lock_release(&t->lock);
    /* The held requests are counted as sent: the target cannot close before they finish. */
    if (deliver)
        wdf_target_deliver_held(t);
    pk_object_dereference(&t->header);
    return status;
}

VOID WdfIoTargetStop(WDFIOTARGET IoTarget, WDF_IO_TARGET_SENT_IO_ACTION Action)
{
    static const char api[] = "WdfIoTargetStop";
    bool waits = Action != WdfIoTargetLeaveSentIoPending;
    wdf_iotarget *t, *outer;
    bool changed;

    if (Action < WdfIoTargetCancelSentIo || Action > WdfIoTargetLeaveSentIoPending) {
        pk_verifier_report(api, "invalid action %d", (int)Action);
        return;
    }
    if (!pk_irql_ok(api, waits ? PASSIVE_LEVEL : DISPATCH_LEVEL))
        return;
    if (!NT_SUCCESS(wdf_target_reference(IoTarget, api, &t)))
        return;
    pk_lock_acquire(&t->lock);
    changed = change_begin_locked(t, WdfIoTargetStopped, waits);
    pk_lock_release(&t->lock);
    if (!changed) {
        pk_verifier_report(api, "the target is closed or deleted");
    } else if (waits) {
        outer = tls_changing;
        tls_changing = t;
        if (Action == WdfIoTargetCancelSentIo)
            wdf_target_cancel_sent(t);
        wdf_target_wait_sent(t);
        tls_changing = outer;
        change_end(t);
    }
    pk_object_dereference(&t->header);
}

VOID WdfIoTargetPurge(WDFIOTARGET IoTarget, WDF_IO_TARGET_PURGE_IO_ACTION Action)
{
    static const char api[] = "WdfIoTargetPurge";
    wdf_iotarget *t, *outer;
    bool changed;

    if (Action != WdfIoTargetPurgeIoAndWait && Action != WdfIoTargetPurgeIo) {
        pk_verifier_report(api, "invalid action %d", (int)Action);
        return;
    }
    if (!pk_irql_ok(api, Action == WdfIoTargetPurgeIo ? DISPATCH_LEVEL : PASSIVE_LEVEL))
        return;
    if (!NT_SUCCESS(wdf_target_reference(IoTarget, api, &t)))
        return;
    pk_lock_acquire(&t->lock);
    changed = change_begin_locked(t, WdfIoTargetPurged, true);
    pk_lock_release(&t->lock);
    if (!changed) {
        pk_verifier_report(api, "the target is closed or deleted");
    } else {
        outer = tls_changing;
        tls_changing = t;
        wdf_target_finish_held(t, STATUS_CANCELLED);
        wdf_target_cancel_sent(t);
        if (Action == WdfIoTargetPurgeIoAndWait)
            wdf_target_wait_sent(t);
        tls_changing = outer;
        change_end(t);
    }
    pk_object_dereference(&t->header);
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

/* A remote target's device, PDO and file while it is open; the local target's always. */
static PVOID open_field(wdf_iotarget *t, PVOID *field)
{
    PVOID v;

    if (t->local)
        return *field;
    pk_lock_acquire(&t->lock);
    v = t->open_state == WDF_TARGET_OPEN_OPEN ? *field : NULL;
    pk_lock_release(&t->lock);
    return v;
}

TARGET_GETTER(WdfIoTargetGetState, WDF_IO_TARGET_STATE, target_state(t))
TARGET_GETTER(WdfIoTargetGetDevice, WDFDEVICE, (WDFDEVICE)pk_object_handle(&t->device->header))
TARGET_GETTER(WdfIoTargetWdmGetTargetDeviceObject, PDEVICE_OBJECT, open_field(t, (PVOID *)&t->target_device))
TARGET_GETTER(WdfIoTargetWdmGetTargetPhysicalDevice, PDEVICE_OBJECT, open_field(t, (PVOID *)&t->target_pdo))
TARGET_GETTER(WdfIoTargetWdmGetTargetFileObject, PFILE_OBJECT, open_field(t, (PVOID *)&t->target_file))
