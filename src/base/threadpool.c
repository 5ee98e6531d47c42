/*
 * threadpool.c — the pool of threads that run work items at PASSIVE_LEVEL.
 *
 * One FIFO of WORK_QUEUE_ITEMs, protected by pool.mutex (a pthread mutex, paired with the
 * condition variable workers sleep on). Workers start on first use. The pool grows by one
 * thread when work is queued and no worker is idle or spinning, up to PK_POOL_MAX threads, so
 * that work items that wait for each other cannot starve the pool; idle workers stay for the
 * life of the runtime.
 *
 * A worker that runs out of work first spins for a short while, watching pool.queued without
 * the lock, before it sleeps: a cross-CPU wakeup costs tens of microseconds, so a work item
 * queued soon after the last one is picked up without one. A submitter that sees a spinning
 * worker neither signals nor starts a thread; the spinner re-checks the queue under the mutex
 * before it sleeps, and gives up spinning (spinning--, idle++) under the same mutex, so a
 * submitter either sees it idle and signals it, or queued the item before that re-check. The item is unlinked before its routine runs, and the pool never touches it after
 * that: the routine may free or re-queue it.
 */
#include "base/base_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define PK_POOL_MAX 64

static struct {
    pthread_mutex_t mutex;
    pthread_cond_t work_ready;   /* signaled when work is queued or the pool stops */
    pthread_cond_t drained;      /* signaled when a worker exits during shutdown */
    LIST_ENTRY queue;            /* WORK_QUEUE_ITEM.List, FIFO */
    bool initialised;
    bool stopping;
    int threads;                 /* started and not exited */
    int idle;                    /* waiting on work_ready */
    int spinning;                /* out of work, spinning before they sleep */
    int32_t queued;              /* items in the queue; written under mutex, read by spinners */
    pthread_t ids[PK_POOL_MAX];
    int nids;
} pool = { .mutex = PTHREAD_MUTEX_INITIALIZER, .work_ready = PTHREAD_COND_INITIALIZER,
           .drained = PTHREAD_COND_INITIALIZER };

static __thread bool tls_is_pool_worker;

bool pk_thread_is_pool_worker(void) { return tls_is_pool_worker; }

static void *worker_main(void *arg)
{
    tls_is_pool_worker = true;
    pthread_mutex_lock(&pool.mutex);
    for (;;) {
        if (IsListEmpty(&pool.queue) && !pool.stopping) {
            ULONG spins = pk_load_relaxed(&pk_spin_before_wait) * 20;
            pool.spinning++;
            pthread_mutex_unlock(&pool.mutex);
            for (ULONG i = 0; i < spins && pk_load_relaxed(&pool.queued) == 0; i++)
                pk_cpu_relax();
            pthread_mutex_lock(&pool.mutex);
            pool.spinning--;
        }
        while (IsListEmpty(&pool.queue) && !pool.stopping) {
            pool.idle++;
            pthread_cond_wait(&pool.work_ready, &pool.mutex);
            pool.idle--;
        }
        if (IsListEmpty(&pool.queue))
            break; /* stopping and drained */
        PWORK_QUEUE_ITEM item = CONTAINING_RECORD(RemoveHeadList(&pool.queue), WORK_QUEUE_ITEM, List);
        pk_store_relaxed(&pool.queued, pool.queued - 1);
        pthread_mutex_unlock(&pool.mutex);

        item->List.Flink = NULL;
        PWORKER_THREAD_ROUTINE routine = item->WorkerRoutine;
        routine(item->Parameter);
        if (pk_tls_irql != PASSIVE_LEVEL) {
            pk_verifier_stop("ExQueueWorkItem", "work routine %p returned at IRQL %u", (void *)routine, pk_tls_irql);
            pk_tls_irql = PASSIVE_LEVEL;
        }

        pthread_mutex_lock(&pool.mutex);
    }
    pool.threads--;
    pthread_cond_broadcast(&pool.drained);
    pthread_mutex_unlock(&pool.mutex);
    return arg;
}

/* Called with pool.mutex held. */
static void start_worker_locked(void)
{
    pthread_t id;
    pthread_attr_t attr;

    if (pool.nids >= PK_POOL_MAX)
        return;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    if (pthread_create(&id, &attr, worker_main, NULL) == 0) {
        pool.ids[pool.nids++] = id;
        pool.threads++;
    } else if (pool.threads == 0) {
        fprintf(stderr, "pnpkit: cannot start a worker thread\n");
    }
    pthread_attr_destroy(&attr);
}

void pk_work_queue(PWORK_QUEUE_ITEM item)
{
    pthread_mutex_lock(&pool.mutex);
    if (!pool.initialised) {
        InitializeListHead(&pool.queue);
        pool.initialised = true;
    }
    InsertTailList(&pool.queue, &item->List);
    pk_store_relaxed(&pool.queued, pool.queued + 1);
    if (pool.spinning > 0 && pk_load_relaxed(&pool.queued) <= pool.spinning)
        ; /* a spinning worker takes it */
    else if (pool.idle > 0)
        pthread_cond_signal(&pool.work_ready);
    else
        start_worker_locked();
    pthread_mutex_unlock(&pool.mutex);
}

VOID ExQueueWorkItem(PWORK_QUEUE_ITEM WorkItem, WORK_QUEUE_TYPE QueueType)
{
    if (!WorkItem || !WorkItem->WorkerRoutine) {
        pk_verifier_stop("ExQueueWorkItem", "NULL work item or routine");
        return;
    }
    if (!pk_irql_ok("ExQueueWorkItem", DISPATCH_LEVEL))
        return;
    if (WorkItem->List.Flink != NULL) {
        pk_verifier_stop("ExQueueWorkItem", "work item %p is already queued", (void *)WorkItem);
        return;
    }
    pk_work_queue(WorkItem);
}

void pk_threadpool_shutdown(void)
{
    int n;
    pthread_t ids[PK_POOL_MAX];

    if (pk_thread_is_pool_worker()) {
        pk_verifier_stop("PnpkitShutdown", "called from a pnpkit worker thread");
        return;
    }
    pthread_mutex_lock(&pool.mutex);
    pool.stopping = true;
    pthread_cond_broadcast(&pool.work_ready);
    while (pool.threads > 0)
        pthread_cond_wait(&pool.drained, &pool.mutex);
    n = pool.nids;
    memcpy(ids, pool.ids, sizeof(ids[0]) * (size_t)n);
    pool.nids = 0;
    pool.stopping = false;
    pthread_mutex_unlock(&pool.mutex);
    for (int i = 0; i < n; i++)
        pthread_join(ids[i], NULL);
}
