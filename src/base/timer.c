/*
 * timer.c — the timer engine and the KTIMER/KDPC and EX_TIMER interfaces on top of it.
 *
 * One timer thread sleeps until the earliest deadline of a binary min-heap of armed pk_timers.
 * engine.mutex protects the heap and every pk_timer field marked "engine lock"; callbacks run
 * on the timer thread at DISPATCH_LEVEL without the lock (a passive timer's callback is handed
 * to the thread pool instead). Cancel-and-wait sleeps on engine.callback_done until the timer's
 * running count is zero. The thread starts on first use and stops in PnpkitShutdown.
 * Resolution: the thread wakes at the deadline (nanosecond clock), so timers fire to within
 * scheduling latency; periods are kept in whole milliseconds by the public interfaces.
 */
#include "base/base_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct {
    pthread_mutex_t mutex;
    pthread_cond_t wake;          /* heap changed or stopping; uses CLOCK_MONOTONIC */
    pthread_cond_t callback_done; /* a callback returned */
    pk_timer **heap;
    int count, capacity;
    bool started, stopping;
    pthread_t thread;
    uint64_t callbacks_started, callbacks_finished; /* for flush */
} engine = { .mutex = PTHREAD_MUTEX_INITIALIZER, .callback_done = PTHREAD_COND_INITIALIZER };

static __thread pk_timer *tls_running_timer; /* the timer whose callback this thread runs */
static __thread bool tls_is_timer_thread;

bool pk_thread_is_timer_thread(void) { return tls_is_timer_thread; }

/* ---- Heap (engine lock) ---- */

static void heap_swap(int a, int b)
{
    pk_timer *t = engine.heap[a];
    engine.heap[a] = engine.heap[b];
    engine.heap[b] = t;
    engine.heap[a]->heap_index = a;
    engine.heap[b]->heap_index = b;
}

static void heap_up(int i)
{
    while (i > 0) {
        int p = (i - 1) / 2;
        if (engine.heap[p]->due_ns <= engine.heap[i]->due_ns)
            break;
        heap_swap(i, p);
        i = p;
    }
}

static void heap_down(int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < engine.count && engine.heap[l]->due_ns < engine.heap[m]->due_ns)
            m = l;
        if (r < engine.count && engine.heap[r]->due_ns < engine.heap[m]->due_ns)
            m = r;
        if (m == i)
            break;
        heap_swap(i, m);
        i = m;
    }
}

static bool heap_insert_locked(pk_timer *t)
{
    if (engine.count == engine.capacity) {
        int cap = engine.capacity ? engine.capacity * 2 : 64;
        pk_timer **h = realloc(engine.heap, sizeof(*h) * (size_t)cap);
        if (!h)
            return false;
        engine.heap = h;
        engine.capacity = cap;
    }
    t->heap_index = engine.count;
    engine.heap[engine.count++] = t;
    heap_up(t->heap_index);
    return true;
}

static void heap_remove_locked(pk_timer *t)
{
    int i = t->heap_index;
    engine.count--;
    if (i != engine.count) {
        engine.heap[i] = engine.heap[engine.count];
        engine.heap[i]->heap_index = i;
        heap_down(i);
        heap_up(i);
    }
    t->heap_index = -1;
}

/* ---- The timer thread ---- */

static void passive_trampoline(void *context)
{
    pk_timer *t = context;

    tls_running_timer = t;
    t->fn(t->context);
    tls_running_timer = NULL;
    pthread_mutex_lock(&engine.mutex);
    t->running--;
    engine.callbacks_finished++;
    pthread_cond_broadcast(&engine.callback_done);
    pthread_mutex_unlock(&engine.mutex);
}

static void *timer_main(void *arg)
{
    tls_is_timer_thread = true;
    pthread_mutex_lock(&engine.mutex);
    while (!engine.stopping) {
        if (engine.count == 0) {
            pthread_cond_wait(&engine.wake, &engine.mutex);
            continue;
        }
        pk_timer *t = engine.heap[0];
        uint64_t now = pk_now_ns();
        if (t->due_ns > now) {
            struct timespec ts = { (time_t)(t->due_ns / 1000000000u), (long)(t->due_ns % 1000000000u) };
            pthread_cond_timedwait(&engine.wake, &engine.mutex, &ts);
            continue;
        }
        heap_remove_locked(t);
        if (t->period_ns) {
            t->due_ns += t->period_ns;
            if (t->due_ns <= now) /* fell behind: skip missed periods */
                t->due_ns = now + t->period_ns;
            heap_insert_locked(t);
        }
        if (t->passive && t->running) /* previous passive run still queued: coalesce */
            continue;
        t->running++;
        t->fire_seq++;
        engine.callbacks_started++;
        if (t->passive) {
            ExInitializeWorkItem(&t->work, (PWORKER_THREAD_ROUTINE)passive_trampoline, t);
            pthread_mutex_unlock(&engine.mutex);
            pk_work_queue(&t->work);
            pthread_mutex_lock(&engine.mutex);
            continue;
        }
        pthread_mutex_unlock(&engine.mutex);

        KIRQL old = pk_irql_raise(DISPATCH_LEVEL);
        tls_running_timer = t;
        t->fn(t->context);
        tls_running_timer = NULL;
        if (pk_tls_irql != DISPATCH_LEVEL)
            pk_verifier_stop("timer callback", "returned at IRQL %u instead of DISPATCH_LEVEL", pk_tls_irql);
        pk_irql_restore(old);

        pthread_mutex_lock(&engine.mutex);
        /* t may have been freed by its own callback (ExDeleteTimer without wait defers that to
         * here, see below), so only touch it through the engine's bookkeeping. */
        t->running--;
        engine.callbacks_finished++;
        pthread_cond_broadcast(&engine.callback_done);
    }
    pthread_mutex_unlock(&engine.mutex);
    return arg;
}

/* Called with the engine lock held. */
static void ensure_started_locked(void)
{
    if (engine.started)
        return;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&engine.wake, &ca);
    pthread_condattr_destroy(&ca);
    engine.stopping = false;
    if (pthread_create(&engine.thread, NULL, timer_main, NULL) == 0)
        engine.started = true;
}

void pk_timer_init(pk_timer *t, pk_timer_fn *fn, void *context, bool passive)
{
    memset(t, 0, sizeof(*t));
    t->fn = fn;
    t->context = context;
    t->passive = passive;
    t->heap_index = -1;
}

bool pk_timer_set(pk_timer *t, uint64_t deadline_ns, uint64_t period_ns)
{
    bool was_armed;

    pthread_mutex_lock(&engine.mutex);
    ensure_started_locked();
    was_armed = t->heap_index >= 0;
    if (was_armed)
        heap_remove_locked(t);
    t->due_ns = deadline_ns;
    t->period_ns = period_ns;
    if (!heap_insert_locked(t))
        was_armed = false; /* out of memory: the timer stays disarmed */
    if (engine.heap[0] == t)
        pthread_cond_signal(&engine.wake);
    pthread_mutex_unlock(&engine.mutex);
    return was_armed;
}

bool pk_timer_is_armed(pk_timer *t)
{
    bool armed;
    pthread_mutex_lock(&engine.mutex);
    armed = t->heap_index >= 0;
    pthread_mutex_unlock(&engine.mutex);
    return armed;
}

bool pk_timer_cancel(pk_timer *t, bool wait)
{
    bool was_armed;

    pthread_mutex_lock(&engine.mutex);
    was_armed = t->heap_index >= 0;
    if (was_armed)
        heap_remove_locked(t);
    t->period_ns = 0;
    if (wait && tls_running_timer != t) {
        while (t->running > 0)
            pthread_cond_wait(&engine.callback_done, &engine.mutex);
    }
    pthread_mutex_unlock(&engine.mutex);
    return was_armed;
}

void pk_timer_flush(void)
{
    pthread_mutex_lock(&engine.mutex);
    uint64_t target = engine.callbacks_started;
    /* A callback that flushes would wait for itself. */
    if (tls_running_timer)
        target = engine.callbacks_finished;
    while (engine.callbacks_finished < target)
        pthread_cond_wait(&engine.callback_done, &engine.mutex);
    pthread_mutex_unlock(&engine.mutex);
}

void pk_timer_shutdown(void)
{
    pthread_mutex_lock(&engine.mutex);
    if (!engine.started) {
        pthread_mutex_unlock(&engine.mutex);
        return;
    }
    engine.stopping = true;
    pthread_cond_broadcast(&engine.wake);
    pthread_mutex_unlock(&engine.mutex);
    pthread_join(engine.thread, NULL);
    pthread_mutex_lock(&engine.mutex);
    engine.started = false;
    engine.stopping = false;
    pthread_cond_destroy(&engine.wake);
    pthread_mutex_unlock(&engine.mutex);
}

/* =============================================================================================
 * KTIMER + KDPC
 * ============================================================================================= */

typedef struct ktimer_impl {
    pk_timer timer;
    PKDPC dpc;
    int32_t signaled;
} ktimer_impl;
_Static_assert(sizeof(ktimer_impl) <= sizeof(((KTIMER *)0)->Opaque), "KTIMER too small for its implementation");

static ktimer_impl *ktimer(PKTIMER t) { return (ktimer_impl *)(void *)t->Opaque; }

static void ktimer_fire(void *context)
{
    PKTIMER t = context;
    ktimer_impl *k = ktimer(t);
    PKDPC dpc = k->dpc;

    pk_store_release(&k->signaled, 1);
    if (dpc && dpc->DeferredRoutine)
        dpc->DeferredRoutine(dpc, dpc->DeferredContext, dpc->SystemArgument1, dpc->SystemArgument2);
}

VOID KeInitializeDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext)
{
    Dpc->DeferredRoutine = DeferredRoutine;
    Dpc->DeferredContext = DeferredContext;
    Dpc->SystemArgument1 = Dpc->SystemArgument2 = NULL;
}

VOID KeInitializeTimerEx(PKTIMER Timer, TIMER_TYPE Type)
{
    memset(Timer, 0, sizeof(*Timer));
    Timer->Header.Type = 8 + (UCHAR)Type; /* not waitable with KeWaitForSingleObject */
    pk_timer_init(&ktimer(Timer)->timer, ktimer_fire, Timer, false);
}

VOID KeInitializeTimer(PKTIMER Timer) { KeInitializeTimerEx(Timer, NotificationTimer); }

BOOLEAN KeSetTimerEx(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc)
{
    ktimer_impl *k = ktimer(Timer);

    if (!pk_irql_ok("KeSetTimerEx", DISPATCH_LEVEL))
        return FALSE;
    if (Period < 0) {
        pk_verifier_stop("KeSetTimerEx", "negative Period %d", Period);
        return FALSE;
    }
    k->dpc = Dpc;
    pk_store_release(&k->signaled, 0);
    return (BOOLEAN)pk_timer_set(&k->timer, pk_deadline_from_timeout(DueTime.QuadPart),
                                 (uint64_t)Period * 1000000u);
}

BOOLEAN KeSetTimer(PKTIMER Timer, LARGE_INTEGER DueTime, PKDPC Dpc) { return KeSetTimerEx(Timer, DueTime, 0, Dpc); }

BOOLEAN KeCancelTimer(PKTIMER Timer)
{
    if (!pk_irql_ok("KeCancelTimer", DISPATCH_LEVEL))
        return FALSE;
    return (BOOLEAN)pk_timer_cancel(&ktimer(Timer)->timer, false);
}

BOOLEAN KeReadStateTimer(PKTIMER Timer) { return (BOOLEAN)(pk_load_acquire(&ktimer(Timer)->signaled) != 0); }

VOID KeFlushQueuedDpcs(void)
{
    if (!pk_irql_ok("KeFlushQueuedDpcs", PASSIVE_LEVEL))
        return;
    pk_timer_flush();
}

/* =============================================================================================
 * EX_TIMER
 * ============================================================================================= */

struct _EX_TIMER {
    pk_timer timer;
    PEXT_CALLBACK callback;
    PVOID context;
    WORK_QUEUE_ITEM deferred_free; /* frees the timer once a running callback has returned */
};

static void ex_timer_fire(void *context)
{
    PEX_TIMER t = context;
    t->callback(t, t->context);
}

PEX_TIMER ExAllocateTimer(PEXT_CALLBACK Callback, PVOID CallbackContext, ULONG Attributes)
{
    PEX_TIMER t;

    if (!pk_irql_ok("ExAllocateTimer", DISPATCH_LEVEL) || !Callback)
        return NULL;
    t = pk_zalloc(sizeof(*t));
    if (!t)
        return NULL;
    pk_timer_init(&t->timer, ex_timer_fire, t, false);
    t->callback = Callback;
    t->context = CallbackContext;
    return t;
}

BOOLEAN ExSetTimer(PEX_TIMER Timer, LONGLONG DueTime, LONGLONG Period, PEXT_SET_PARAMETERS Parameters)
{
    if (!Timer || !pk_irql_ok("ExSetTimer", DISPATCH_LEVEL))
        return FALSE;
    if (Period < 0) {
        pk_verifier_stop("ExSetTimer", "negative Period");
        return FALSE;
    }
    return (BOOLEAN)pk_timer_set(&Timer->timer, pk_deadline_from_timeout(DueTime), (uint64_t)Period * 100u);
}

BOOLEAN ExCancelTimer(PEX_TIMER Timer, PVOID Parameters)
{
    if (!Timer || !pk_irql_ok("ExCancelTimer", DISPATCH_LEVEL))
        return FALSE;
    return (BOOLEAN)pk_timer_cancel(&Timer->timer, false);
}

/* Runs on the pool: waits for the callback that was running at delete time, then frees. */
static void ex_timer_deferred_free(void *context)
{
    PEX_TIMER t = context;
    pk_timer_cancel(&t->timer, true);
    pk_free(t);
}

BOOLEAN ExDeleteTimer(PEX_TIMER Timer, BOOLEAN Cancel, BOOLEAN Wait, PEXT_DELETE_PARAMETERS Parameters)
{
    bool was_armed, running;

    if (!Timer)
        return FALSE;
    if (Wait && !pk_irql_ok("ExDeleteTimer(Wait)", PASSIVE_LEVEL))
        Wait = FALSE;
    if (!Cancel && pk_timer_is_armed(&Timer->timer))
        pk_verifier_stop("ExDeleteTimer", "the timer is armed and Cancel is FALSE");
    if (Wait && tls_running_timer == &Timer->timer) {
        pk_verifier_stop("ExDeleteTimer", "Wait from the timer's own callback");
        Wait = FALSE;
    }
    was_armed = pk_timer_cancel(&Timer->timer, Wait);
    if (Parameters && Parameters->DeleteCallback)
        Parameters->DeleteCallback(Timer, Parameters->DeleteContext);

    pthread_mutex_lock(&engine.mutex);
    running = Timer->timer.running > 0;
    pthread_mutex_unlock(&engine.mutex);
    if (!running) {
        pk_free(Timer);
    } else {
        /* The caller asked not to wait for the running callback: free after it, from the pool. */
        ExInitializeWorkItem(&Timer->deferred_free, (PWORKER_THREAD_ROUTINE)ex_timer_deferred_free, Timer);
        pk_work_queue(&Timer->deferred_free);
    }
    return (BOOLEAN)was_armed;
}
