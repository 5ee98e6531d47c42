/*
 * workitem.c — WDFWORKITEM: a reusable request to run a driver callback at PASSIVE_LEVEL on
 * pnpkit's thread pool.
 *
 * States (wdf_workitem fields, under `lock`): `enqueued` is true from WdfWorkItemEnqueue until
 * the pool starts the callback, so a second enqueue in that window does nothing (KMDF
 * semantics); once the callback has started, the item may be queued again, from the callback
 * too, so two runs of one item can overlap. `busy` counts queued plus running callbacks; flush
 * and delete sleep on it (a futex word) until it is zero. `running_down` is set by the dispose;
 * from the moment deletion begins (the object leaves the CREATED state) enqueues are refused.
 *
 * Locking: `lock` protects enqueued, running_down and every change of busy; it is never held
 * while the callback runs or while waiting.
 *
 * Who frees what: a queued item holds a reference on itself (taken by the enqueue, released by
 * the pool thread after the callback returned), so the object outlives every queued or running
 * callback. The item is disposed at PASSIVE_LEVEL (its execution level is forced to Passive,
 * as KMDF marks work items for passive dispose); the dispose waits until busy is zero, except
 * when it runs inside the item's own callback, where the queued reference alone keeps the
 * memory alive until the callback returns.
 */
#include "wdf/wdf_internal.h"

#include <limits.h>

typedef struct wdf_workitem {
    pk_object header;
    pk_lock lock;                 /* protects enqueued, running_down, changes of busy */
    PFN_WDF_WORKITEM callback;
    bool automatic_serialization; /* kept for when parents have callback locks */
    bool enqueued;
    bool running_down;
    int32_t busy;                 /* queued + running callbacks; a futex word */
    int32_t waiters;              /* threads sleeping until busy is zero */
    WORK_QUEUE_ITEM work;
} wdf_workitem;

/* The work item whose callback this thread is running, to catch flush and delete from it. */
static __thread wdf_workitem *tls_running_item;

static void workitem_dispose(pk_object *o);

static const pk_object_type workitem_type = { "WDFWORKITEM", PK_KIND_WORKITEM, 0, workitem_dispose, NULL };

/* ---- busy: a counter that waiters sleep on until it is zero ---- */

/* Called with w->lock held. */
static void busy_add_locked(wdf_workitem *w, int32_t delta)
{
    int32_t now = __atomic_add_fetch(&w->busy, delta, __ATOMIC_SEQ_CST);

    if (now == 0 && __atomic_load_n(&w->waiters, __ATOMIC_SEQ_CST) > 0)
        pk_futex_wake(&w->busy, INT_MAX);
}

/* Sleeps until no callback is queued or running. Waiter and waker use sequentially consistent
 * operations on waiters and busy, so either the waker sees the waiter or the waiter sees zero. */
static void wait_until_idle(wdf_workitem *w)
{
    int32_t v;

    __atomic_add_fetch(&w->waiters, 1, __ATOMIC_SEQ_CST);
    while ((v = __atomic_load_n(&w->busy, __ATOMIC_SEQ_CST)) != 0)
        pk_futex_wait(&w->busy, v);
    __atomic_sub_fetch(&w->waiters, 1, __ATOMIC_SEQ_CST);
}

/* ---- The pool side ---- */

static void workitem_run(void *context)
{
    wdf_workitem *w = context;
    wdf_workitem *outer = tls_running_item;

    pk_lock_acquire(&w->lock);
    w->enqueued = false; /* from here the callback may queue the item again */
    pk_lock_release(&w->lock);

    tls_running_item = w;
    w->callback((WDFWORKITEM)pk_object_handle(&w->header));
    tls_running_item = outer;

    pk_lock_acquire(&w->lock);
    busy_add_locked(w, -1);
    pk_lock_release(&w->lock);
    pk_object_dereference(&w->header); /* the queued reference; may destroy the item */
}

static void workitem_dispose(pk_object *o)
{
    wdf_workitem *w = CONTAINING_RECORD(o, wdf_workitem, header);

    pk_lock_acquire(&w->lock);
    w->running_down = true;
    pk_lock_release(&w->lock);
    /* Deleted from its own callback: waiting would wait for ourselves. The queued reference
     * keeps the object until the callback has returned. */
    if (tls_running_item != w)
        wait_until_idle(w);
}

/* ---- Public entry points ---- */

NTSTATUS WdfWorkItemCreate(PWDF_WORKITEM_CONFIG Config, PWDF_OBJECT_ATTRIBUTES Attributes, WDFWORKITEM *WorkItem)
{
    static const char api[] = "WdfWorkItemCreate";
    wdf_workitem *w;
    NTSTATUS status;

    if (!pk_irql_ok(api, DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    status = wdf_require_parent(Attributes, api);
    if (!NT_SUCCESS(status))
        return status;
    if (!Config || !WorkItem)
        return STATUS_INVALID_PARAMETER;
    if (Config->Size != sizeof(WDF_WORKITEM_CONFIG)) {
        pk_verifier_report(api, "WDF_WORKITEM_CONFIG.Size is %u, expected %zu", Config->Size,
                           sizeof(WDF_WORKITEM_CONFIG));
        return STATUS_INFO_LENGTH_MISMATCH;
    }
    if (!Config->EvtWorkItemFunc)
        return STATUS_INVALID_PARAMETER;

    status = pk_object_create(&workitem_type, Attributes, NULL, sizeof(*w), api, (void **)&w);
    if (!NT_SUCCESS(status))
        return status;
    w->callback = Config->EvtWorkItemFunc;
    w->automatic_serialization = Config->AutomaticSerialization != FALSE;
    ExInitializeWorkItem(&w->work, (PWORKER_THREAD_ROUTINE)workitem_run, w);
    /* Dispose (which may wait for the callback) and the cleanup callbacks run at PASSIVE_LEVEL:
     * a delete at DISPATCH_LEVEL finishes on a pool thread. */
    w->header.execution_level = WdfExecutionLevelPassive;
    *WorkItem = (WDFWORKITEM)pk_object_handle(&w->header);
    pk_object_commit(&w->header);
    return STATUS_SUCCESS;
}

VOID WdfWorkItemEnqueue(WDFWORKITEM WorkItem)
{
    pk_object *o;
    wdf_workitem *w;
    bool queue = false, deleted = false;

    if (!pk_irql_ok("WdfWorkItemEnqueue", DISPATCH_LEVEL))
        return;
    if (!NT_SUCCESS(pk_object_reference_handle((WDFOBJECT)WorkItem, PK_KIND_WORKITEM, "WdfWorkItemEnqueue", &o)))
        return;
    w = CONTAINING_RECORD(o, wdf_workitem, header);

    pk_lock_acquire(&w->lock);
    if (w->running_down || pk_object_get_state(o) != PK_OBJ_CREATED) {
        deleted = true;
    } else if (!w->enqueued) {
        w->enqueued = true;
        busy_add_locked(w, 1);
        queue = true;
    }
    pk_lock_release(&w->lock);

    if (deleted)
        pk_verifier_report("WdfWorkItemEnqueue", "work item %p is being deleted", (void *)WorkItem);
    if (queue)
        pk_work_queue(&w->work); /* the lookup's reference travels with the queued item */
    else
        pk_object_dereference(o);
}

WDFOBJECT WdfWorkItemGetParentObject(WDFWORKITEM WorkItem)
{
    pk_object *o;
    WDFOBJECT parent;

    if (!pk_irql_ok("WdfWorkItemGetParentObject", DISPATCH_LEVEL))
        return NULL;
    if (!NT_SUCCESS(pk_object_reference_handle((WDFOBJECT)WorkItem, PK_KIND_WORKITEM, "WdfWorkItemGetParentObject", &o)))
        return NULL;
    parent = o->parent ? pk_object_handle(o->parent) : NULL;
    pk_object_dereference(o);
    return parent;
}

VOID WdfWorkItemFlush(WDFWORKITEM WorkItem)
{
    pk_object *o;
    wdf_workitem *w;

    if (!pk_irql_ok("WdfWorkItemFlush", PASSIVE_LEVEL))
        return;
    if (!NT_SUCCESS(pk_object_reference_handle((WDFOBJECT)WorkItem, PK_KIND_WORKITEM, "WdfWorkItemFlush", &o)))
        return;
    w = CONTAINING_RECORD(o, wdf_workitem, header);
    if (tls_running_item == w)
        pk_verifier_stop("WdfWorkItemFlush", "called from the callback of work item %p: it would wait for itself",
                         (void *)WorkItem);
    else
        wait_until_idle(w);
    pk_object_dereference(o);
}
