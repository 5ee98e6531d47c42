/*
 * queue.c — WDFQUEUE: queue creation and request dispatching (sequential, parallel, manual),
 * power management of queues (EvtIoStop, hold and resume), stop, drain and purge, cancellation
 * of waiting requests (by their originator, by a purge, by a file cleanup), cancelable requests
 * the driver holds, and WdfDeviceConfigureRequestDispatching.
 *
 * Locking: q->lock protects the two lists (pending: waiting requests; owned: requests the driver
 * holds), their counts, the queue's state flags and the pending stop/purge/drain notification.
 * It is a leaf under dev->queue_lock and is never held while a driver callback runs.
 *
 * Presentation runs on the thread that made it possible: the dispatch routine for a new request
 * (inline), or the thread whose completion freed a slot. tls_presenting records the queue whose
 * callback runs on this thread: a completion inside that callback does not present the next
 * request recursively but flags tls_redispatch, and the presenter continues after the callback
 * returned, so a stream of inline completions keeps the stack flat.
 *
 * Synchronization scope: a queue with scope Queue or Device presents under q->sync (a sleeping
 * lock held across the callback, as the driver asked; the only pnpkit lock held across driver
 * code besides the PnP serialization). Where it cannot be taken (above PASSIVE_LEVEL, or on a
 * thread whose callback holds it already: a request forwarded or completed between queues of one
 * device), the queue is not presented from this thread; its work item (sync_work) presents on
 * the thread pool instead. A queue with scope None, the hot path, takes no lock.
 *
 * Cancellation of a waiting request follows the cancel-safe-queue protocol: a waiting request's
 * IRP has queue_cancel_routine set; whoever takes the request out of `pending` clears the
 * routine with IoSetCancelRoutine(NULL), and a NULL result means the cancel routine owns the
 * request and will complete it.
 *
 * References: a request in a queue (pending or owned) holds a reference on the queue, released by
 * wdf_queue_release or when the framework completes a waiting request, so that a queue
 * deleted while requests are out stays valid until they are back.
 */
#include "wdf/wdf_internal.h"

static __thread wdf_queue *tls_presenting;
static __thread bool tls_redispatch;
/* The synchronization-scope lock this thread holds around a driver callback, or NULL. */
static __thread wdf_callback_lock *tls_sync_held;

enum { NOTIFY_NONE, NOTIFY_STOP, NOTIFY_PURGE, NOTIFY_DRAIN };

/* ---- Conditions ---- */

static bool can_present_locked(wdf_queue *q)
{
    if (!q->dispatching || q->config.DispatchType == WdfIoQueueDispatchManual)
        return false;
    if (q->power_managed && !pk_load_acquire(&q->device->powered))
        return false;
    if (q->config.DispatchType == WdfIoQueueDispatchSequential)
        return q->driver_count == 0;
    return q->driver_count < q->config.Settings.Parallel.NumberOfPresentedRequests;
}

static bool notify_ready_locked(wdf_queue *q)
{
    switch (q->notify_kind) {
    case NOTIFY_STOP: return q->driver_count - q->stop_acked == 0;
    case NOTIFY_PURGE: return q->driver_count == 0;
    case NOTIFY_DRAIN: return q->driver_count == 0 && q->pending_count == 0;
    default: return false;
    }
}

/* After a count changed: wakes the synchronous waiters (who re-check their own condition under
 * the lock) and takes the stop/purge/drain callback if its condition holds; the caller runs it
 * after unlocking. */
static PFN_WDF_IO_QUEUE_STATE changed_locked(wdf_queue *q, WDFCONTEXT *context)
{
    PFN_WDF_IO_QUEUE_STATE fn = NULL;

    if (q->waiters)
        KeSetEvent(&q->idle, IO_NO_INCREMENT, FALSE);
    if (q->notify && notify_ready_locked(q)) {
        fn = q->notify;
        *context = q->notify_context;
        q->notify = NULL;
        q->notify_kind = NOTIFY_NONE;
    }
    return fn;
}

static WDFQUEUE queue_handle(wdf_queue *q) { return (WDFQUEUE)pk_object_handle(&q->header); }

static void run_notify(wdf_queue *q, PFN_WDF_IO_QUEUE_STATE fn, WDFCONTEXT context)
{
    if (fn)
        fn(queue_handle(q), context);
}

/* Waits (PASSIVE_LEVEL) until cond(q) holds under the lock. */
static void wait_for(wdf_queue *q, bool (*cond)(wdf_queue *))
{
    for (;;) {
        pk_lock_acquire(&q->lock);
        if (cond(q)) {
            pk_lock_release(&q->lock);
            return;
        }
        q->waiters++;
        KeClearEvent(&q->idle);
        pk_lock_release(&q->lock);
        KeWaitForSingleObject(&q->idle, Executive, KernelMode, FALSE, NULL);
        pk_lock_acquire(&q->lock);
        q->waiters--;
        pk_lock_release(&q->lock);
    }
}

static bool driver_idle(wdf_queue *q) { return q->driver_count == 0; }
static bool driver_stopped(wdf_queue *q) { return q->driver_count - q->stop_acked == 0; }
static bool all_idle(wdf_queue *q) { return q->driver_count == 0 && q->pending_count == 0; }

/* ---- Lists ---- */

static void add_owned_locked(wdf_queue *q, wdf_request *r)
{
    InsertTailList(&q->owned, &r->queue_link);
    r->in_owned = true;
    q->driver_count++;
    pk_store_release(&r->state, WDF_REQ_DRIVER);
}

static void remove_pending_locked(wdf_queue *q, wdf_request *r)
{
    RemoveEntryList(&r->queue_link);
    r->in_pending = false;
    q->pending_count--;
}

/* Takes the oldest waiting request whose cancel routine we can still clear. */
static wdf_request *pop_pending_locked(wdf_queue *q, PFILE_OBJECT file_filter)
{
    for (PLIST_ENTRY e = q->pending.Flink; e != &q->pending;) {
        wdf_request *r = CONTAINING_RECORD(e, wdf_request, queue_link);
        e = e->Flink;
        if (file_filter && r->file != file_filter)
            continue;
        remove_pending_locked(q, r);
        if (IoSetCancelRoutine(r->irp, NULL) == NULL)
            continue; /* its cancel routine runs and completes it */
        return r;
    }
    return NULL;
}

static VOID queue_cancel_routine(PDEVICE_OBJECT device, PIRP irp);

/* ---- Presentation ---- */

/* Whether this thread cannot take q's synchronization-scope lock now. */
static bool sync_blocked(wdf_queue *q)
{
    return q->sync && (tls_sync_held == q->sync || pk_irql() > PASSIVE_LEVEL);
}

/* Presents r on this thread, under q's synchronization-scope lock if it has one; returns true
 * if a completion inside asked for more presenting. */
static bool present(wdf_queue *q, wdf_request *r)
{
    wdf_queue *outer = tls_presenting;
    bool outer_redispatch = tls_redispatch, redispatch;
    wdf_callback_lock *outer_sync = tls_sync_held;

    tls_presenting = q;
    tls_redispatch = false;
    if (q->sync) {
        wdf_callback_lock_acquire(q->sync);
        tls_sync_held = q->sync;
    }
    wdf_request_present(q, r);
    if (q->sync) {
        tls_sync_held = outer_sync;
        wdf_callback_lock_release(q->sync);
    }
    redispatch = tls_redispatch;
    tls_presenting = outer;
    tls_redispatch = outer_redispatch;
    return redispatch;
}

static void queue_dispatch(wdf_queue *q);

static void sync_work_routine(PVOID context)
{
    wdf_queue *q = context;

    pk_lock_acquire(&q->lock);
    q->sync_work_queued = false;
    pk_lock_release(&q->lock);
    queue_dispatch(q);
    pk_object_dereference(&q->header); /* the work item's */
}

/* Hands q's presenting to its work item (at most one queued at a time). */
static void queue_sync_work(wdf_queue *q)
{
    bool queue;

    pk_lock_acquire(&q->lock);
    queue = !q->sync_work_queued;
    q->sync_work_queued = true;
    pk_lock_release(&q->lock);
    if (!queue)
        return;
    pk_object_reference(&q->header); /* the work item's */
    ExInitializeWorkItem(&q->sync_work, sync_work_routine, q);
    pk_work_queue(&q->sync_work);
}

static void queue_dispatch(wdf_queue *q)
{
    if (tls_presenting == q) {
        tls_redispatch = true;
        return;
    }
    if (sync_blocked(q)) {
        queue_sync_work(q);
        return;
    }
    for (;;) {
        wdf_request *r = NULL;

        pk_lock_acquire(&q->lock);
        if (can_present_locked(q)) {
            r = pop_pending_locked(q, NULL);
            if (r)
                add_owned_locked(q, r);
        }
        pk_lock_release(&q->lock);
        if (!r)
            return;
        present(q, r);
    }
}

/* A waiting request cancelled (by its originator, a purge, a cleanup): given to
 * EvtIoCanceledOnQueue, or completed with STATUS_CANCELLED. r is out of `pending`. */
static void cancel_waiting(wdf_queue *q, wdf_request *r)
{
    PFN_WDF_IO_QUEUE_STATE fn;
    WDFCONTEXT context = NULL;

    if (q->config.EvtIoCanceledOnQueue) {
        pk_lock_acquire(&q->lock);
        add_owned_locked(q, r);
        pk_lock_release(&q->lock);
        q->config.EvtIoCanceledOnQueue(queue_handle(q), wdf_request_handle(r));
        return;
    }
    r->queue = NULL;
    wdf_request_complete_internal(r, STATUS_CANCELLED, 0);
    pk_lock_acquire(&q->lock);
    fn = changed_locked(q, &context);
    pk_lock_release(&q->lock);
    run_notify(q, fn, context);
    pk_object_dereference(&q->header); /* the request's */
}

static VOID queue_cancel_routine(PDEVICE_OBJECT device, PIRP irp)
{
    wdf_request *r = irp->Tail.Overlay.DriverContext[0];
    wdf_queue *q = r->queue;

    IoReleaseCancelSpinLock(irp->CancelIrql);
    pk_lock_acquire(&q->lock);
    if (r->in_pending)
        remove_pending_locked(q, r);
    pk_lock_release(&q->lock);
    cancel_waiting(q, r);
}

/* Appends r to `pending` with its cancel routine; false if its IRP was cancelled already (r is
 * then out of the list again and the caller cancels it). */
static bool append_pending_locked(wdf_queue *q, wdf_request *r, bool head)
{
    pk_store_release(&r->state, WDF_REQ_QUEUED);
    if (head)
        InsertHeadList(&q->pending, &r->queue_link);
    else
        InsertTailList(&q->pending, &r->queue_link);
    r->in_pending = true;
    q->pending_count++;
    r->irp->Tail.Overlay.DriverContext[0] = r;
    IoSetCancelRoutine(r->irp, queue_cancel_routine);
    if (pk_load_acquire(&r->irp->Cancel) && IoSetCancelRoutine(r->irp, NULL) != NULL) {
        remove_pending_locked(q, r);
        return false;
    }
    return true;
}

/* The caller holds a reference on q for the duration of the call. */
void wdf_queue_insert(wdf_queue *q, wdf_request *r)
{
    bool more;

    pk_object_reference(&q->header); /* the request's, until it leaves the queue */
    pk_lock_acquire(&q->lock);
    if (!q->accepting) {
        pk_lock_release(&q->lock);
        r->queue = NULL;
        wdf_request_complete_internal(r, STATUS_INVALID_DEVICE_STATE, 0);
        pk_object_dereference(&q->header);
        return;
    }
    r->queue = q;
    if (IsListEmpty(&q->pending) && tls_presenting != q && can_present_locked(q) && !sync_blocked(q)) {
        /* The hot path: presented at once, never listed as waiting, no cancel routine. */
        add_owned_locked(q, r);
        pk_lock_release(&q->lock);
        if (present(q, r))
            queue_dispatch(q);
        return;
    }
    if (!append_pending_locked(q, r, false)) {
        pk_lock_release(&q->lock);
        cancel_waiting(q, r);
        return;
    }
    more = can_present_locked(q);
    pk_lock_release(&q->lock);
    if (more)
        queue_dispatch(q);
}

/* Takes r out of the requests the driver holds. */
static void owned_remove_locked(wdf_queue *q, wdf_request *r)
{
    if (r->in_owned) {
        RemoveEntryList(&r->queue_link);
        r->in_owned = false;
        q->driver_count--;
        if (r->stop_acked)
            q->stop_acked--;
    }
    r->stop_acked = r->stop_notified = false;
}

/* What follows a request leaving the driver's hands: waiters and notifications, presenting the
 * next request, and the request's reference on q. */
static void after_owned_remove(wdf_queue *q)
{
    PFN_WDF_IO_QUEUE_STATE fn;
    WDFCONTEXT context = NULL;
    bool more;

    pk_lock_acquire(&q->lock);
    fn = changed_locked(q, &context);
    more = !IsListEmpty(&q->pending) && can_present_locked(q);
    pk_lock_release(&q->lock);
    run_notify(q, fn, context);
    if (more)
        queue_dispatch(q);
    pk_object_dereference(&q->header); /* the request's */
}

bool wdf_queue_detach(wdf_queue *q, wdf_request *r)
{
    bool acked;

    pk_lock_acquire(&q->lock);
    if (r->in_owned) {
        RemoveEntryList(&r->queue_link);
        r->in_owned = false;
    }
    acked = r->stop_acked;
    r->stop_acked = r->stop_notified = false;
    pk_lock_release(&q->lock);
    return acked;
}

void wdf_queue_release(wdf_queue *q, bool stop_acked)
{
    PFN_WDF_IO_QUEUE_STATE fn;
    WDFCONTEXT context = NULL;
    bool more;

    pk_lock_acquire(&q->lock);
    q->driver_count--;
    if (stop_acked)
        q->stop_acked--;
    fn = changed_locked(q, &context);
    more = !IsListEmpty(&q->pending) && can_present_locked(q);
    pk_lock_release(&q->lock);
    run_notify(q, fn, context);
    if (more)
        queue_dispatch(q);
    pk_object_dereference(&q->header); /* the request's */
}

/* Presents what waits, if the queue can present (after a power-up). */
static void queue_kick(wdf_queue *q)
{
    bool more;

    pk_lock_acquire(&q->lock);
    more = !IsListEmpty(&q->pending) && can_present_locked(q);
    pk_lock_release(&q->lock);
    if (more)
        queue_dispatch(q);
}

/* ---- Cancelable requests the driver holds ---- */

static VOID driver_cancel_routine(PDEVICE_OBJECT device, PIRP irp)
{
    wdf_request *r = irp->Tail.Overlay.DriverContext[0];

    IoReleaseCancelSpinLock(irp->CancelIrql);
    wdf_request_call_cancel(r);
}

NTSTATUS wdf_queue_mark_cancelable(wdf_request *r, PFN_WDF_REQUEST_CANCEL routine, bool call_if_cancelled)
{
    wdf_queue *q = r->queue;
    bool already = false;

    if (q)
        pk_lock_acquire(&q->lock);
    r->evt_cancel = routine;
    r->cancelable = true;
    r->irp->Tail.Overlay.DriverContext[0] = r;
    IoSetCancelRoutine(r->irp, driver_cancel_routine);
    if (pk_load_acquire(&r->irp->Cancel) && IoSetCancelRoutine(r->irp, NULL) != NULL) {
        /* Cancelled before it was marked: nobody else will call the routine. */
        already = true;
        if (!call_if_cancelled)
            r->cancelable = false;
    }
    if (q)
        pk_lock_release(&q->lock);
    if (!already)
        return STATUS_SUCCESS;
    if (!call_if_cancelled)
        return STATUS_CANCELLED;
    wdf_request_call_cancel(r);
    return STATUS_SUCCESS;
}

NTSTATUS wdf_queue_unmark_cancelable(wdf_request *r)
{
    wdf_queue *q = r->queue;
    PDRIVER_CANCEL previous;

    if (q)
        pk_lock_acquire(&q->lock);
    if (!r->cancelable) {
        if (q)
            pk_lock_release(&q->lock);
        /* KMDF's verifier flags this: the request was never marked, or an earlier unmark (or
         * its cancel) already took it; a driver that goes on to complete it races its cancel
         * routine. */
        pk_verifier_report("WdfRequestUnmarkCancelable", "WDFREQUEST %p is not cancelable (not marked, or already "
                           "unmarked)", wdf_request_handle(r));
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    r->cancelable = false;
    previous = IoSetCancelRoutine(r->irp, NULL);
    if (q)
        pk_lock_release(&q->lock);
    /* NULL: the cancel routine has run or is running and will complete the request. */
    return previous ? STATUS_SUCCESS : STATUS_CANCELLED;
}

/* Takes the cancel of the owned cancelable requests (purge): each one found is referenced and
 * gets EvtRequestCancel after the lock is dropped. */
static int take_owned_cancels_locked(wdf_queue *q, wdf_request **out, int max)
{
    int n = 0;

    for (PLIST_ENTRY e = q->owned.Flink; e != &q->owned && n < max; e = e->Flink) {
        wdf_request *r = CONTAINING_RECORD(e, wdf_request, queue_link);
        if (!r->cancelable || IoSetCancelRoutine(r->irp, NULL) == NULL)
            continue;
        __atomic_store_n(&r->irp->Cancel, TRUE, __ATOMIC_RELEASE);
        pk_object_reference(&r->header);
        out[n++] = r;
    }
    return n;
}

/* ---- Purge, stop, drain, start ---- */

#define BATCH 32

static void queue_purge(wdf_queue *q, PFN_WDF_IO_QUEUE_STATE callback, WDFCONTEXT context, bool wait, bool removal)
{
    for (;;) {
        wdf_request *waiting[BATCH], *owned[BATCH];
        int nw = 0, no;
        PFN_WDF_IO_QUEUE_STATE fn;
        WDFCONTEXT fn_context = NULL;

        pk_lock_acquire(&q->lock);
        q->accepting = false;
        if (removal)
            q->purged_for_removal = true;
        if (callback) {
            q->notify = callback;
            q->notify_context = context;
            q->notify_kind = NOTIFY_PURGE;
            callback = NULL;
        }
        while (nw < BATCH) {
            wdf_request *r = pop_pending_locked(q, NULL);
            if (!r)
                break;
            waiting[nw++] = r;
        }
        no = take_owned_cancels_locked(q, owned, BATCH);
        fn = changed_locked(q, &fn_context);
        pk_lock_release(&q->lock);
        run_notify(q, fn, fn_context);
        for (int i = 0; i < nw; i++)
            cancel_waiting(q, waiting[i]);
        for (int i = 0; i < no; i++) {
            wdf_request_call_cancel(owned[i]);
            pk_object_dereference(&owned[i]->header);
        }
        if (nw < BATCH && no < BATCH)
            break;
    }
    if (wait)
        wait_for(q, driver_idle);
}

static void queue_stop(wdf_queue *q, PFN_WDF_IO_QUEUE_STATE callback, WDFCONTEXT context)
{
    PFN_WDF_IO_QUEUE_STATE fn;
    WDFCONTEXT fn_context = NULL;

    pk_lock_acquire(&q->lock);
    q->dispatching = false;
    if (callback) {
        q->notify = callback;
        q->notify_context = context;
        q->notify_kind = NOTIFY_STOP;
    }
    fn = changed_locked(q, &fn_context);
    pk_lock_release(&q->lock);
    run_notify(q, fn, fn_context);
}

static void queue_start(wdf_queue *q)
{
    bool more;

    pk_lock_acquire(&q->lock);
    if (!q->purged_for_removal)
        q->accepting = true;
    q->dispatching = true;
    q->draining = false;
    more = !IsListEmpty(&q->pending) && can_present_locked(q);
    pk_lock_release(&q->lock);
    if (more)
        queue_dispatch(q);
}

/* ---- Object ---- */

static void queue_dispose(pk_object *o)
{
    wdf_queue *q = CONTAINING_RECORD(o, wdf_queue, header);
    wdf_device *dev = q->device;

    pk_lock_acquire(&dev->queue_lock);
    RemoveEntryList(&q->link);
    InitializeListHead(&q->link);
    if (dev->default_queue == q)
        dev->default_queue = NULL;
    for (int i = 0; i < WDF_DISPATCH_SLOTS; i++)
        if (dev->dispatch[i] == q)
            dev->dispatch[i] = NULL;
    pk_lock_release(&dev->queue_lock);
    /* Requests still out keep the queue's memory alive (they reference it); the wait is only
     * possible at PASSIVE_LEVEL. */
    queue_purge(q, NULL, NULL, pk_irql() == PASSIVE_LEVEL && tls_presenting != q, false);
}

static const pk_object_type queue_type = { "WDFQUEUE", PK_KIND_QUEUE, 0, queue_dispose, NULL };

static NTSTATUS queue_reference(WDFQUEUE handle, const char *api, wdf_queue **out)
{
    pk_object *o;
    NTSTATUS status = pk_object_reference_handle((WDFOBJECT)handle, PK_KIND_QUEUE, api, &o);

    if (NT_SUCCESS(status))
        *out = CONTAINING_RECORD(o, wdf_queue, header);
    return status;
}

NTSTATUS WdfIoQueueCreate(WDFDEVICE Device, PWDF_IO_QUEUE_CONFIG Config, PWDF_OBJECT_ATTRIBUTES QueueAttributes,
                          WDFQUEUE *Queue)
{
    static const char api[] = "WdfIoQueueCreate";
    const WDF_IO_QUEUE_CONFIG *c = Config;
    wdf_device *dev;
    wdf_queue *q;
    NTSTATUS status;
    bool has_callback;

    if (!pk_irql_ok(api, DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!c)
        return STATUS_INVALID_PARAMETER;
    if (c->Size != sizeof(WDF_IO_QUEUE_CONFIG)) {
        pk_verifier_report(api, "WDF_IO_QUEUE_CONFIG.Size is %u, expected %zu", c->Size, sizeof(WDF_IO_QUEUE_CONFIG));
        return STATUS_INFO_LENGTH_MISMATCH;
    }
    if (c->DispatchType <= WdfIoQueueDispatchInvalid || c->DispatchType >= WdfIoQueueDispatchMax ||
        (unsigned)c->PowerManaged > (unsigned)WdfUseDefault ||
        (c->DispatchType == WdfIoQueueDispatchParallel && c->Settings.Parallel.NumberOfPresentedRequests == 0)) {
        pk_verifier_report(api, "invalid DispatchType, PowerManaged or NumberOfPresentedRequests");
        return STATUS_INVALID_PARAMETER;
    }
    has_callback = c->EvtIoDefault || c->EvtIoRead || c->EvtIoWrite || c->EvtIoDeviceControl ||
                   c->EvtIoInternalDeviceControl;
    if (c->DispatchType != WdfIoQueueDispatchManual && !has_callback) {
        pk_verifier_report(api, "a sequential or parallel queue needs an EvtIo* callback");
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    status = wdf_device_reference(Device, api, &dev);
    if (!NT_SUCCESS(status))
        return status;
    status = pk_object_create(&queue_type, QueueAttributes, &dev->header, sizeof(*q), api, (void **)&q);
    if (!NT_SUCCESS(status))
        goto release;
    q->device = dev;
    q->config = *c;
    if (c->DispatchType != WdfIoQueueDispatchParallel)
        q->config.Settings.Parallel.NumberOfPresentedRequests = (ULONG)-1;
    q->power_managed = c->PowerManaged == WdfTrue ||
                       (c->PowerManaged == WdfUseDefault && !dev->filter && dev->power_policy_owner);
    pk_lock_init(&q->lock);
    InitializeListHead(&q->pending);
    InitializeListHead(&q->owned);
    KeInitializeEvent(&q->idle, NotificationEvent, FALSE);
    q->accepting = true;
    q->dispatching = true;
    /* The scope is resolved at creation (InheritFromParent: the device's). */
    if (q->header.synchronization_scope == WdfSynchronizationScopeQueue) {
        wdf_callback_lock_init(&q->own_sync);
        q->sync = &q->own_sync;
    } else if (q->header.synchronization_scope == WdfSynchronizationScopeDevice) {
        q->sync = &dev->callback_lock;
    }

    pk_lock_acquire(&dev->queue_lock);
    if (c->DefaultQueue && dev->default_queue) {
        pk_lock_release(&dev->queue_lock);
        pk_verifier_report(api, "the device has a default queue already");
        InitializeListHead(&q->link);
        pk_object_abandon(&q->header);
        status = STATUS_INVALID_PARAMETER;
        goto release;
    }
    InsertTailList(&dev->queues, &q->link);
    if (c->DefaultQueue)
        dev->default_queue = q;
    pk_lock_release(&dev->queue_lock);
    if (Queue)
        *Queue = queue_handle(q);
    pk_object_commit(&q->header);
release:
    pk_object_dereference(&dev->header);
    return status;
}

NTSTATUS WdfDeviceConfigureRequestDispatching(WDFDEVICE Device, WDFQUEUE Queue, WDF_REQUEST_TYPE RequestType)
{
    static const char api[] = "WdfDeviceConfigureRequestDispatching";
    wdf_device *dev;
    wdf_queue *q;
    NTSTATUS status;
    int slot;

    if (!pk_irql_ok(api, DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    switch (RequestType) {
    case WdfRequestTypeCreate: slot = WDF_DISPATCH_CREATE; break;
    case WdfRequestTypeRead: slot = WDF_DISPATCH_READ; break;
    case WdfRequestTypeWrite: slot = WDF_DISPATCH_WRITE; break;
    case WdfRequestTypeDeviceControl: slot = WDF_DISPATCH_IOCTL; break;
    case WdfRequestTypeDeviceControlInternal: slot = WDF_DISPATCH_INTERNAL_IOCTL; break;
    default:
        pk_verifier_report(api, "request type %d cannot be dispatched to a queue", (int)RequestType);
        return STATUS_INVALID_PARAMETER;
    }
    status = wdf_device_reference(Device, api, &dev);
    if (!NT_SUCCESS(status))
        return status;
    status = queue_reference(Queue, api, &q);
    if (!NT_SUCCESS(status))
        goto release_device;
    if (q->device != dev) {
        pk_verifier_report(api, "the queue belongs to another device");
        status = STATUS_INVALID_PARAMETER;
        goto release_queue;
    }
    if (slot == WDF_DISPATCH_CREATE && !q->config.EvtIoDefault) {
        pk_verifier_report(api, "a create queue needs EvtIoDefault");
        status = STATUS_INVALID_DEVICE_REQUEST;
        goto release_queue;
    }
    pk_lock_acquire(&dev->queue_lock);
    if (dev->dispatch[slot]) {
        status = STATUS_INVALID_PARAMETER;
    } else {
        dev->dispatch[slot] = q;
        status = STATUS_SUCCESS;
    }
    pk_lock_release(&dev->queue_lock);
    if (!NT_SUCCESS(status))
        pk_verifier_report(api, "request type %d is dispatched to a queue already", (int)RequestType);
release_queue:
    pk_object_dereference(&q->header);
release_device:
    pk_object_dereference(&dev->header);
    return status;
}

WDFQUEUE WdfDeviceGetDefaultQueue(WDFDEVICE Device)
{
    wdf_device *dev;
    WDFQUEUE handle = NULL;

    if (!pk_irql_ok("WdfDeviceGetDefaultQueue", DISPATCH_LEVEL) ||
        !NT_SUCCESS(wdf_device_reference(Device, "WdfDeviceGetDefaultQueue", &dev)))
        return NULL;
    pk_lock_acquire(&dev->queue_lock);
    if (dev->default_queue)
        handle = queue_handle(dev->default_queue);
    pk_lock_release(&dev->queue_lock);
    pk_object_dereference(&dev->header);
    return handle;
}

WDFDEVICE WdfIoQueueGetDevice(WDFQUEUE Queue)
{
    wdf_queue *q;
    WDFDEVICE handle;

    if (!pk_irql_ok("WdfIoQueueGetDevice", DISPATCH_LEVEL) ||
        !NT_SUCCESS(queue_reference(Queue, "WdfIoQueueGetDevice", &q)))
        return NULL;
    handle = (WDFDEVICE)pk_object_handle(&q->device->header);
    pk_object_dereference(&q->header);
    return handle;
}

static NTSTATUS retrieve(WDFQUEUE Queue, PFILE_OBJECT file, WDFREQUEST *OutRequest, const char *api)
{
    wdf_queue *q;
    wdf_request *r = NULL;
    NTSTATUS status;

    if (!pk_irql_ok(api, DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!OutRequest)
        return STATUS_INVALID_PARAMETER;
    *OutRequest = NULL;
    status = queue_reference(Queue, api, &q);
    if (!NT_SUCCESS(status))
        return status;
    pk_lock_acquire(&q->lock);
    if (q->config.DispatchType == WdfIoQueueDispatchParallel) {
        status = STATUS_INVALID_DEVICE_STATE;
    } else if (!q->dispatching || (q->power_managed && !pk_load_acquire(&q->device->powered))) {
        status = STATUS_WDF_PAUSED;
    } else {
        r = pop_pending_locked(q, file);
        if (r)
            add_owned_locked(q, r);
        status = r ? STATUS_SUCCESS : STATUS_NO_MORE_ENTRIES;
    }
    pk_lock_release(&q->lock);
    if (r)
        *OutRequest = wdf_request_handle(r);
    pk_object_dereference(&q->header);
    return status;
}

NTSTATUS WdfIoQueueRetrieveNextRequest(WDFQUEUE Queue, WDFREQUEST *OutRequest)
{
    return retrieve(Queue, NULL, OutRequest, "WdfIoQueueRetrieveNextRequest");
}

NTSTATUS WdfIoQueueRetrieveRequestByFileObject(WDFQUEUE Queue, WDFFILEOBJECT FileObject, WDFREQUEST *OutRequest)
{
    PFILE_OBJECT fo = WdfFileObjectWdmGetFileObject(FileObject);

    if (!fo)
        return STATUS_INVALID_PARAMETER;
    return retrieve(Queue, fo, OutRequest, "WdfIoQueueRetrieveRequestByFileObject");
}

#define QUEUE_CALL(api, irql, body) \
    do { \
        wdf_queue *q; \
        if (!pk_irql_ok(api, irql) || !NT_SUCCESS(queue_reference(Queue, api, &q))) \
            return; \
        body; \
        pk_object_dereference(&q->header); \
    } while (0)

VOID WdfIoQueueStart(WDFQUEUE Queue) { QUEUE_CALL("WdfIoQueueStart", DISPATCH_LEVEL, queue_start(q)); }

VOID WdfIoQueueStop(WDFQUEUE Queue, PFN_WDF_IO_QUEUE_STATE StopComplete, WDFCONTEXT Context)
{
    QUEUE_CALL("WdfIoQueueStop", DISPATCH_LEVEL, queue_stop(q, StopComplete, Context));
}

VOID WdfIoQueueStopSynchronously(WDFQUEUE Queue)
{
    QUEUE_CALL("WdfIoQueueStopSynchronously", PASSIVE_LEVEL, {
        queue_stop(q, NULL, NULL);
        if (tls_presenting == q)
            pk_verifier_stop("WdfIoQueueStopSynchronously", "called from a callback of the queue: it would wait for "
                                                            "itself");
        else
            wait_for(q, driver_stopped);
    });
}

VOID WdfIoQueuePurge(WDFQUEUE Queue, PFN_WDF_IO_QUEUE_STATE PurgeComplete, WDFCONTEXT Context)
{
    QUEUE_CALL("WdfIoQueuePurge", DISPATCH_LEVEL, queue_purge(q, PurgeComplete, Context, false, false));
}

VOID WdfIoQueuePurgeSynchronously(WDFQUEUE Queue)
{
    QUEUE_CALL("WdfIoQueuePurgeSynchronously", PASSIVE_LEVEL, {
        if (tls_presenting == q) {
            pk_verifier_stop("WdfIoQueuePurgeSynchronously", "called from a callback of the queue: it would wait for "
                                                             "itself");
            queue_purge(q, NULL, NULL, false, false);
        } else {
            queue_purge(q, NULL, NULL, true, false);
        }
    });
}

static void queue_drain(wdf_queue *q, PFN_WDF_IO_QUEUE_STATE callback, WDFCONTEXT context)
{
    PFN_WDF_IO_QUEUE_STATE fn;
    WDFCONTEXT fn_context = NULL;

    pk_lock_acquire(&q->lock);
    q->accepting = false;
    q->draining = true;
    if (callback) {
        q->notify = callback;
        q->notify_context = context;
        q->notify_kind = NOTIFY_DRAIN;
    }
    fn = changed_locked(q, &fn_context);
    pk_lock_release(&q->lock);
    run_notify(q, fn, fn_context);
}

VOID WdfIoQueueDrain(WDFQUEUE Queue, PFN_WDF_IO_QUEUE_STATE DrainComplete, WDFCONTEXT Context)
{
    QUEUE_CALL("WdfIoQueueDrain", DISPATCH_LEVEL, queue_drain(q, DrainComplete, Context));
}

VOID WdfIoQueueDrainSynchronously(WDFQUEUE Queue)
{
    QUEUE_CALL("WdfIoQueueDrainSynchronously", PASSIVE_LEVEL, {
        queue_drain(q, NULL, NULL);
        wait_for(q, all_idle);
    });
}

WDF_IO_QUEUE_STATE WdfIoQueueGetState(WDFQUEUE Queue, PULONG QueueRequests, PULONG DriverRequests)
{
    wdf_queue *q;
    ULONG state = 0;

    if (!pk_irql_ok("WdfIoQueueGetState", DISPATCH_LEVEL) ||
        !NT_SUCCESS(queue_reference(Queue, "WdfIoQueueGetState", &q)))
        return (WDF_IO_QUEUE_STATE)0;
    pk_lock_acquire(&q->lock);
    if (q->accepting)
        state |= WdfIoQueueAcceptRequests;
    if (q->dispatching && (!q->power_managed || pk_load_acquire(&q->device->powered)))
        state |= WdfIoQueueDispatchRequests;
    if (q->pending_count == 0)
        state |= WdfIoQueueNoRequests;
    if (q->driver_count == 0)
        state |= WdfIoQueueDriverNoRequests;
    if (q->power_managed && !pk_load_acquire(&q->device->powered))
        state |= WdfIoQueuePnpHeld;
    if (QueueRequests)
        *QueueRequests = q->pending_count;
    if (DriverRequests)
        *DriverRequests = q->driver_count;
    pk_lock_release(&q->lock);
    pk_object_dereference(&q->header);
    return (WDF_IO_QUEUE_STATE)state;
}

/* ---- Requests moving between queues ---- */

NTSTATUS WdfRequestForwardToIoQueue(WDFREQUEST Request, WDFQUEUE DestinationQueue)
{
    static const char api[] = "WdfRequestForwardToIoQueue";
    wdf_request *r;
    wdf_queue *dest, *src;
    NTSTATUS status;
    bool more, ok;

    if (!pk_irql_ok(api, DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    status = wdf_request_reference(Request, api, &r);
    if (!NT_SUCCESS(status))
        return status;
    status = queue_reference(DestinationQueue, api, &dest);
    if (!NT_SUCCESS(status))
        goto release_request;
    src = r->queue;
    if (!r->framework || pk_load_acquire(&r->state) != WDF_REQ_DRIVER || !src || src == dest ||
        src->device != dest->device || r->cancelable) {
        pk_verifier_report(api, "the request is not a request the driver holds from another queue of the device, or "
                                "it is cancelable");
        status = STATUS_INVALID_DEVICE_REQUEST;
        goto release_queue;
    }
    /* Out of the source's hands, into the destination's tail; a destination that refuses gives
     * the request back to the driver. The request's LIST_ENTRY serves one list at a time, and
     * the two queue locks are never held together. */
    pk_lock_acquire(&src->lock);
    owned_remove_locked(src, r);
    pk_lock_release(&src->lock);
    pk_lock_acquire(&dest->lock);
    if (!dest->accepting) {
        pk_lock_release(&dest->lock);
        pk_lock_acquire(&src->lock);
        add_owned_locked(src, r);
        pk_lock_release(&src->lock);
        status = STATUS_INVALID_DEVICE_STATE;
        goto release_queue;
    }
    pk_object_reference(&dest->header); /* the request's reference on its new queue */
    r->queue = dest;
    ok = append_pending_locked(dest, r, false);
    more = ok && can_present_locked(dest);
    pk_lock_release(&dest->lock);
    after_owned_remove(src); /* drops the request's reference on src */
    if (!ok)
        cancel_waiting(dest, r);
    else if (more)
        queue_dispatch(dest);
    status = STATUS_SUCCESS;
release_queue:
    pk_object_dereference(&dest->header);
release_request:
    pk_object_dereference(&r->header);
    return status;
}

NTSTATUS WdfRequestRequeue(WDFREQUEST Request)
{
    static const char api[] = "WdfRequestRequeue";
    wdf_request *r;
    wdf_queue *q;
    NTSTATUS status;
    bool ok;

    if (!pk_irql_ok(api, DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    status = wdf_request_reference(Request, api, &r);
    if (!NT_SUCCESS(status))
        return status;
    q = r->queue;
    if (!r->framework || pk_load_acquire(&r->state) != WDF_REQ_DRIVER || !q ||
        q->config.DispatchType != WdfIoQueueDispatchManual || r->cancelable) {
        pk_verifier_report(api, "only a request the driver holds from a manual queue can be requeued");
        pk_object_dereference(&r->header);
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    pk_lock_acquire(&q->lock);
    RemoveEntryList(&r->queue_link);
    r->in_owned = false;
    q->driver_count--;
    ok = append_pending_locked(q, r, true);
    pk_lock_release(&q->lock);
    if (!ok)
        cancel_waiting(q, r);
    pk_object_dereference(&r->header);
    return STATUS_SUCCESS;
}

VOID WdfRequestStopAcknowledge(WDFREQUEST Request, BOOLEAN Requeue)
{
    static const char api[] = "WdfRequestStopAcknowledge";
    PFN_WDF_IO_QUEUE_STATE fn = NULL;
    WDFCONTEXT context = NULL;
    wdf_request *r;
    wdf_queue *q;
    bool ok = true;

    if (!pk_irql_ok(api, DISPATCH_LEVEL) || !NT_SUCCESS(wdf_request_reference(Request, api, &r)))
        return;
    q = r->queue;
    if (!q || !r->in_owned || !r->stop_notified) {
        pk_verifier_report(api, "the request was not given to EvtIoStop");
        pk_object_dereference(&r->header);
        return;
    }
    pk_lock_acquire(&q->lock);
    if (Requeue) {
        if (r->cancelable) {
            r->cancelable = false;
            IoSetCancelRoutine(r->irp, NULL);
        }
        RemoveEntryList(&r->queue_link);
        r->in_owned = false;
        q->driver_count--;
        r->stop_notified = false;
        ok = append_pending_locked(q, r, true);
    } else if (!r->stop_acked) {
        r->stop_acked = true;
        q->stop_acked++;
    }
    fn = changed_locked(q, &context);
    pk_lock_release(&q->lock);
    run_notify(q, fn, context);
    if (!ok)
        cancel_waiting(q, r);
    pk_object_dereference(&r->header);
}

/* ---- Device-wide operations ---- */

/* Snapshots dev's queues, each referenced. */
static int snapshot(wdf_device *dev, wdf_queue **out, int max)
{
    int n = 0;

    pk_lock_acquire(&dev->queue_lock);
    for (PLIST_ENTRY e = dev->queues.Flink; e != &dev->queues && n < max; e = e->Flink) {
        wdf_queue *q = CONTAINING_RECORD(e, wdf_queue, link);
        pk_object_reference(&q->header);
        out[n++] = q;
    }
    pk_lock_release(&dev->queue_lock);
    return n;
}

#define MAX_QUEUES 64

void wdf_queues_cancel_file(wdf_device *dev, PFILE_OBJECT fo)
{
    wdf_queue *queues[MAX_QUEUES];
    int n = snapshot(dev, queues, MAX_QUEUES);

    for (int i = 0; i < n; i++) {
        wdf_queue *q = queues[i];
        for (;;) {
            wdf_request *r;
            pk_lock_acquire(&q->lock);
            r = pop_pending_locked(q, fo);
            pk_lock_release(&q->lock);
            if (!r)
                break;
            cancel_waiting(q, r);
        }
        pk_object_dereference(&q->header);
    }
}

void wdf_queues_power_down(wdf_device *dev, ULONG action)
{
    wdf_queue *queues[MAX_QUEUES];
    int n = snapshot(dev, queues, MAX_QUEUES);

    for (int i = 0; i < n; i++) {
        wdf_queue *q = queues[i];
        if (q->power_managed) {
            for (;;) {
                wdf_request *r = NULL;
                ULONG flags = action;
                pk_lock_acquire(&q->lock);
                for (PLIST_ENTRY e = q->owned.Flink; e != &q->owned; e = e->Flink) {
                    wdf_request *c = CONTAINING_RECORD(e, wdf_request, queue_link);
                    if (!c->stop_notified) {
                        r = c;
                        r->stop_notified = true;
                        if (r->cancelable)
                            flags |= WdfRequestStopRequestCancelable;
                        pk_object_reference(&r->header);
                        break;
                    }
                }
                pk_lock_release(&q->lock);
                if (!r)
                    break;
                if (q->config.EvtIoStop)
                    q->config.EvtIoStop(queue_handle(q), wdf_request_handle(r), flags);
                pk_object_dereference(&r->header);
            }
            wait_for(q, driver_stopped);
        }
        pk_object_dereference(&q->header);
    }
}

void wdf_queues_power_up(wdf_device *dev)
{
    wdf_queue *queues[MAX_QUEUES];
    int n = snapshot(dev, queues, MAX_QUEUES);

    for (int i = 0; i < n; i++) {
        wdf_queue *q = queues[i];
        if (q->power_managed) {
            /* Requests the driver kept through the power-down get EvtIoResume. */
            for (;;) {
                wdf_request *r = NULL;
                pk_lock_acquire(&q->lock);
                for (PLIST_ENTRY e = q->owned.Flink; e != &q->owned; e = e->Flink) {
                    wdf_request *c = CONTAINING_RECORD(e, wdf_request, queue_link);
                    if (c->stop_notified) {
                        c->stop_notified = false;
                        if (c->stop_acked) {
                            c->stop_acked = false;
                            q->stop_acked--;
                            r = c;
                            pk_object_reference(&r->header);
                            break;
                        }
                    }
                }
                pk_lock_release(&q->lock);
                if (!r)
                    break;
                if (q->config.EvtIoResume)
                    q->config.EvtIoResume(queue_handle(q), wdf_request_handle(r));
                pk_object_dereference(&r->header);
            }
            queue_kick(q);
        }
        pk_object_dereference(&q->header);
    }
}

void wdf_queues_purge_for_removal(wdf_device *dev, bool power_managed_only)
{
    wdf_queue *queues[MAX_QUEUES];
    int n = snapshot(dev, queues, MAX_QUEUES);

    for (int i = 0; i < n; i++) {
        if (!power_managed_only || queues[i]->power_managed)
            queue_purge(queues[i], NULL, NULL, true, true);
        pk_object_dereference(&queues[i]->header);
    }
}
