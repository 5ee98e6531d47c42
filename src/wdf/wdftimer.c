/*
 * wdftimer.c — WDFTIMER: a one-shot or periodic timer whose driver callback runs at
 * DISPATCH_LEVEL on pnpkit's timer thread, or at PASSIVE_LEVEL on the thread pool, built on
 * the base layer's pk_timer engine.
 *
 * Locking: `lock` protects ready, running_down, stoppers and start_aborted, and WdfTimerStart
 * arms the engine while holding it, so that a start and a WdfTimerStop(Wait=TRUE) are ordered:
 * while a stop-with-wait is in progress (stoppers > 0) starts are refused, which keeps a
 * callback from re-arming the timer behind the stop's back. The lock is never held while the
 * driver's callback runs or while waiting for it (lock order: this lock, then the engine's).
 *
 * Who frees what: the pk_timer lives inside the object, so the object's memory must not go
 * while the engine may still touch it. Dispose (at PASSIVE_LEVEL: the timer's execution level
 * is forced to Passive, as KMDF marks timers for passive dispose) disarms the timer and waits
 * for a running callback, after which the engine never touches it again. The one case where
 * dispose cannot wait is a delete from the timer's own passive callback; then the destroy hook
 * keeps the memory (an extra reference) and a pool work item waits for the engine to let go
 * before releasing it.
 *
 * `ready` covers the window in which the object is already linked under its parent but not yet
 * initialized: a concurrent delete of the parent then finds nothing to stop.
 */
#include "wdf/wdf_internal.h"

typedef struct wdf_timer {
    pk_object header;
    pk_lock lock;                 /* protects the flags below, stoppers and start_aborted */
    pk_timer timer;               /* the engine's; armed and cancelled under `lock` */
    PFN_WDF_TIMER callback;       /* may be NULL */
    uint64_t period_ns;
    bool passive;                 /* callback at PASSIVE_LEVEL on the pool */
    bool automatic_serialization; /* kept for when parents have callback locks */
    bool ready;
    bool running_down;            /* deletion started: starts are refused */
    bool start_aborted;           /* a start was refused during a stop-with-wait */
    bool engine_released;         /* dispose waited until the engine let go of `timer` */
    uint32_t stoppers;            /* WdfTimerStop(Wait=TRUE) calls in progress */
    WORK_QUEUE_ITEM deferred_release;
} wdf_timer;

/* The timer whose callback this thread is running, to catch stop-with-wait and delete from it. */
static __thread wdf_timer *tls_running_timer;

static void timer_dispose(pk_object *o);
static void timer_destroy(pk_object *o);

static const pk_object_type timer_type = { "WDFTIMER", PK_KIND_TIMER, 0, timer_dispose, timer_destroy };

static void timer_fire(void *context)
{
    wdf_timer *t = context;
    wdf_timer *outer = tls_running_timer;

    /* Once deletion has begun no new callback starts, even before the dispose (deferred to a
     * pool thread after a delete at DISPATCH_LEVEL) has disarmed the timer. */
    if (!t->callback || pk_object_get_state(&t->header) != PK_OBJ_CREATED)
        return;
    tls_running_timer = t;
    t->callback((WDFTIMER)pk_object_handle(&t->header));
    tls_running_timer = outer;
}

/* ---- Deletion ---- */

static void timer_dispose(pk_object *o)
{
    wdf_timer *t = CONTAINING_RECORD(o, wdf_timer, header);
    bool ready;

    pk_lock_acquire(&t->lock);
    t->running_down = true;
    ready = t->ready;
    if (ready)
        pk_timer_cancel(&t->timer, false);
    pk_lock_release(&t->lock);
    if (!ready)
        return;
    /* From the timer's own (passive) callback we cannot wait for ourselves; timer_destroy then
     * defers the release of the memory. */
    if (tls_running_timer != t) {
        pk_timer_cancel(&t->timer, true);
        pk_lock_acquire(&t->lock);
        t->engine_released = true;
        pk_lock_release(&t->lock);
    }
}

/* Runs on a pool thread: waits until the engine is done with the timer, then drops the
 * reference that timer_destroy took to keep the memory. */
static void timer_deferred_release(void *context)
{
    wdf_timer *t = context;

    pk_timer_cancel(&t->timer, true);
    pk_object_dereference(&t->header); /* frees the object */
}

static void timer_destroy(pk_object *o)
{
    wdf_timer *t = CONTAINING_RECORD(o, wdf_timer, header);
    bool engine_done;

    pk_lock_acquire(&t->lock);
    engine_done = !t->ready || t->engine_released;
    pk_lock_release(&t->lock);
    if (engine_done)
        return;
    /* The callback that deleted the timer may still be on its way out of the engine. */
    pk_object_reference(o);
    ExInitializeWorkItem(&t->deferred_release, (PWORKER_THREAD_ROUTINE)timer_deferred_release, t);
    pk_work_queue(&t->deferred_release);
}

/* ---- Public entry points ---- */

static NTSTATUS timer_reference(WDFTIMER handle, const char *api, wdf_timer **out)
{
    pk_object *o;
    NTSTATUS status = pk_object_reference_handle((WDFOBJECT)handle, PK_KIND_TIMER, api, &o);

    if (NT_SUCCESS(status))
        *out = CONTAINING_RECORD(o, wdf_timer, header);
    return status;
}

NTSTATUS WdfTimerCreate(PWDF_TIMER_CONFIG Config, PWDF_OBJECT_ATTRIBUTES Attributes, WDFTIMER *Timer)
{
    static const char api[] = "WdfTimerCreate";
    wdf_timer *t;
    NTSTATUS status;

    if (!pk_irql_ok(api, DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    status = wdf_require_parent(Attributes, api);
    if (!NT_SUCCESS(status))
        return status;
    if (!Config || !Timer)
        return STATUS_INVALID_PARAMETER;
    if (Config->Size != sizeof(WDF_TIMER_CONFIG)) {
        pk_verifier_report(api, "WDF_TIMER_CONFIG.Size is %u, expected %zu", Config->Size, sizeof(WDF_TIMER_CONFIG));
        return STATUS_INFO_LENGTH_MISMATCH;
    }
    if (Config->Period > WDF_MAXLONG || Config->TolerableDelay > WDF_MAXLONG ||
        (Config->TolerableDelay > 0 && Config->UseHighResolutionTimer)) {
        pk_verifier_report(api, "invalid Period or TolerableDelay");
        return STATUS_INVALID_PARAMETER;
    }
    if (Config->Period > 0 && Attributes->ExecutionLevel == WdfExecutionLevelPassive) {
        pk_verifier_report(api, "a periodic timer cannot ask for WdfExecutionLevelPassive");
        return STATUS_NOT_SUPPORTED;
    }

    status = pk_object_create(&timer_type, Attributes, NULL, sizeof(*t), api, (void **)&t);
    if (!NT_SUCCESS(status))
        return status;
    pk_lock_acquire(&t->lock);
    t->callback = Config->EvtTimerFunc;
    t->period_ns = (uint64_t)Config->Period * 1000000u;
    t->passive = t->header.execution_level == WdfExecutionLevelPassive;
    t->automatic_serialization = Config->AutomaticSerialization != FALSE;
    pk_timer_init(&t->timer, timer_fire, t, t->passive);
    t->ready = true;
    pk_lock_release(&t->lock);
    /* Dispose, which waits for a running callback, and the cleanup callbacks run at
     * PASSIVE_LEVEL: a delete at DISPATCH_LEVEL (from the callback, say) finishes on a pool
     * thread. The callback level was resolved above. */
    t->header.execution_level = WdfExecutionLevelPassive;
    *Timer = (WDFTIMER)pk_object_handle(&t->header);
    pk_object_commit(&t->header);
    return STATUS_SUCCESS;
}

BOOLEAN WdfTimerStart(WDFTIMER Timer, LONGLONG DueTime)
{
    wdf_timer *t;
    bool was_armed = false, deleted = false;

    if (!pk_irql_ok("WdfTimerStart", DISPATCH_LEVEL))
        return FALSE;
    if (!NT_SUCCESS(timer_reference(Timer, "WdfTimerStart", &t)))
        return FALSE;
    pk_lock_acquire(&t->lock);
    if (t->running_down || !t->ready || pk_object_get_state(&t->header) != PK_OBJ_CREATED)
        deleted = true;
    else if (t->stoppers > 0)
        t->start_aborted = true;
    else
        was_armed = pk_timer_set(&t->timer, pk_deadline_from_timeout(DueTime), t->period_ns);
    pk_lock_release(&t->lock);
    if (deleted)
        pk_verifier_report("WdfTimerStart", "timer %p is being deleted", (void *)Timer);
    pk_object_dereference(&t->header);
    return (BOOLEAN)was_armed;
}

BOOLEAN WdfTimerStop(WDFTIMER Timer, BOOLEAN Wait)
{
    wdf_timer *t;
    bool was_armed = false;

    if (!pk_irql_ok("WdfTimerStop", Wait ? PASSIVE_LEVEL : DISPATCH_LEVEL))
        return FALSE;
    if (!NT_SUCCESS(timer_reference(Timer, "WdfTimerStop", &t)))
        return FALSE;
    if (Wait && tls_running_timer == t) {
        pk_verifier_stop("WdfTimerStop", "Wait=TRUE from the callback of timer %p: it would wait for itself",
                         (void *)Timer);
        goto release;
    }

    pk_lock_acquire(&t->lock);
    if (t->ready)
        was_armed = pk_timer_cancel(&t->timer, false);
    if (!Wait || !t->ready) {
        pk_lock_release(&t->lock);
        goto release;
    }
    if (t->stoppers++ == 0)
        t->start_aborted = false;
    pk_lock_release(&t->lock);

    /* Wait for a running (or, for a passive timer, queued) callback. It cannot re-arm the timer
     * meanwhile: starts are refused while stoppers > 0. */
    pk_timer_cancel(&t->timer, true);

    pk_lock_acquire(&t->lock);
    if (t->start_aborted)
        was_armed = true; /* as KMDF: the timer counts as having been queued */
    if (--t->stoppers == 0)
        t->start_aborted = false;
    pk_lock_release(&t->lock);
release:
    pk_object_dereference(&t->header);
    return (BOOLEAN)was_armed;
}

WDFOBJECT WdfTimerGetParentObject(WDFTIMER Timer)
{
    wdf_timer *t;
    WDFOBJECT parent;

    if (!pk_irql_ok("WdfTimerGetParentObject", DISPATCH_LEVEL))
        return NULL;
    if (!NT_SUCCESS(timer_reference(Timer, "WdfTimerGetParentObject", &t)))
        return NULL;
    parent = t->header.parent ? pk_object_handle(t->header.parent) : NULL;
    pk_object_dereference(&t->header);
    return parent;
}
