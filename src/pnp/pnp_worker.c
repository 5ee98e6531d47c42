/*
 * pnp_worker.c — the PnP worker: one thread that runs the PnP actions and delivers the
 * notifications, one at a time, in the order they were queued.
 *
 * worker.lock protects the FIFO and the started/stopping flags; the thread sleeps on a
 * synchronization event when the FIFO is empty. Work queued while an item runs (an interface
 * disabled inside IRP_MN_REMOVE_DEVICE, a custom event reported during a removal) runs after
 * that item: this is what orders a surprise removal's REMOVE_COMPLETE before the REMOVAL of the
 * device's interfaces. The pnp_work items belong to whoever queued them; the worker does not
 * touch an item after its fn returned (fn may free it) except to set `done`, which the caller
 * owns.
 */
#include "pnp/pnp_internal.h"

#include <pthread.h>

pnp_globals pnp = { PK_LOCK_INIT, PK_LOCK_INIT, PK_LOCK_INIT };

static struct {
    pk_lock lock;
    LIST_ENTRY queue;       /* pnp_work.link; lock */
    KEVENT ready;           /* synchronization event: work was queued or stop requested */
    bool started, stopping; /* lock */
    pthread_t thread;
} worker = { .lock = PK_LOCK_INIT };

static __thread bool tls_on_worker;
static pk_shutdown_hook worker_hook;

bool pnp_on_worker(void) { return tls_on_worker; }

static void *worker_main(void *arg)
{
    tls_on_worker = true;
    for (;;) {
        pnp_work *w = NULL;
        bool stop;

        pk_lock_acquire(&worker.lock);
        if (!IsListEmpty(&worker.queue))
            w = CONTAINING_RECORD(RemoveHeadList(&worker.queue), pnp_work, link);
        stop = worker.stopping && !w;
        pk_lock_release(&worker.lock);
        if (stop)
            break;
        if (!w) {
            KeWaitForSingleObject(&worker.ready, Executive, KernelMode, FALSE, NULL);
            continue;
        }
        KEVENT *done = w->done;
        w->fn(w);
        if (pk_irql() != PASSIVE_LEVEL) {
            pk_verifier_stop("PnP worker", "a PnP callback returned at IRQL %u", pk_irql());
            pk_irql_restore(PASSIVE_LEVEL);
        }
        if (done)
            KeSetEvent(done, IO_NO_INCREMENT, FALSE);
    }
    return arg;
}

static void worker_stop(void)
{
    pthread_t t;

    pk_lock_acquire(&worker.lock);
    if (!worker.started) {
        pk_lock_release(&worker.lock);
        return;
    }
    worker.stopping = true;
    t = worker.thread;
    pk_lock_release(&worker.lock);
    KeSetEvent(&worker.ready, IO_NO_INCREMENT, FALSE);
    pthread_join(t, NULL);
    pk_lock_acquire(&worker.lock);
    worker.started = false;
    worker.stopping = false;
    pk_lock_release(&worker.lock);
}

static void pnp_shutdown(void)
{
    worker_stop();
    pnp_drivers_shutdown();
    pnp_notify_shutdown();
    pnp_interfaces_shutdown();
    pnp_tree_shutdown();
}

/* Called with worker.lock held. */
static void ensure_thread_locked(void)
{
    if (worker.started)
        return;
    pnp_open_install_hooks();
    if (!worker.queue.Flink)
        InitializeListHead(&worker.queue);
    KeInitializeEvent(&worker.ready, SynchronizationEvent, FALSE);
    if (pthread_create(&worker.thread, NULL, worker_main, NULL) == 0)
        worker.started = true;
    worker_hook.fn = pnp_shutdown;
    pk_runtime_add_shutdown_hook(&worker_hook);
}

void pnp_ensure_started(void)
{
    pk_lock_acquire(&worker.lock);
    ensure_thread_locked();
    pk_lock_release(&worker.lock);
}

void pnp_worker_queue(pnp_work *work)
{
    pk_lock_acquire(&worker.lock);
    ensure_thread_locked();
    InsertTailList(&worker.queue, &work->link);
    pk_lock_release(&worker.lock);
    KeSetEvent(&worker.ready, IO_NO_INCREMENT, FALSE);
}

bool pnp_worker_run_sync(pnp_work *work)
{
    KEVENT done;

    if (pnp_on_worker())
        return false;
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    work->done = &done;
    pnp_worker_queue(work);
    KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
    return true;
}

typedef struct flush_work {
    pnp_work work;
    bool queue_was_empty;
} flush_work;

static void check_empty(pnp_work *w)
{
    flush_work *f = CONTAINING_RECORD(w, flush_work, work);
    pk_lock_acquire(&worker.lock);
    f->queue_was_empty = IsListEmpty(&worker.queue);
    pk_lock_release(&worker.lock);
}

/* Runs until a flush item finds nothing queued behind it: work that the drained items queued
 * themselves (a report made inside a removal, the events of an action) is waited for too. */
void pnp_worker_flush(void)
{
    flush_work f;
    do {
        f.work.fn = check_empty;
        f.queue_was_empty = false;
        if (!pnp_worker_run_sync(&f.work))
            return;
    } while (!f.queue_was_empty);
}
