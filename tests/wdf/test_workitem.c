/* WDFWORKITEM: driver callbacks at PASSIVE_LEVEL on the thread pool. */
#include "pk_test.h"
#include <pnpkit/wdfutil.h>

#include <string.h>
#include <unistd.h>

typedef struct {
    int32_t runs;
    int32_t cleanups;
    int32_t requeue;        /* callbacks that should queue the item again */
    int32_t delete_self;    /* the callback deletes its own work item */
    KEVENT started;         /* set by every callback */
    KEVENT may_finish;      /* the callback waits for it when gate is set */
    int32_t gate;
    int32_t finished;
    KIRQL irql;
    bool on_test_thread;
} ITEM_CONTEXT;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(ITEM_CONTEXT, GetItemContext)

static pthread_t test_thread;

static VOID item_callback(WDFWORKITEM item)
{
    ITEM_CONTEXT *c = GetItemContext(item);

    c->irql = KeGetCurrentIrql();
    c->on_test_thread = pthread_equal(pthread_self(), test_thread);
    __atomic_add_fetch(&c->runs, 1, __ATOMIC_SEQ_CST);
    KeSetEvent(&c->started, 0, FALSE);
    if (__atomic_load_n(&c->gate, __ATOMIC_SEQ_CST))
        pk_test_wait_event(&c->may_finish);
    if (__atomic_load_n(&c->requeue, __ATOMIC_SEQ_CST) > 0) {
        __atomic_sub_fetch(&c->requeue, 1, __ATOMIC_SEQ_CST);
        WdfWorkItemEnqueue(item);
    }
    __atomic_add_fetch(&c->finished, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&c->delete_self, __ATOMIC_SEQ_CST))
        WdfObjectDelete(item);
}

static int32_t cleanups_total;

static VOID item_cleanup(WDFOBJECT item)
{
    ITEM_CONTEXT *c = GetItemContext(item);
    /* A work item is cleaned up only once no callback is queued or running (unless deleted by
     * its own callback, where this runs inside it). */
    if (!__atomic_load_n(&c->delete_self, __ATOMIC_SEQ_CST))
        assert_int_equal(__atomic_load_n(&c->finished, __ATOMIC_SEQ_CST), __atomic_load_n(&c->runs, __ATOMIC_SEQ_CST));
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    __atomic_add_fetch(&c->cleanups, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&cleanups_total, 1, __ATOMIC_SEQ_CST);
}

static WDFOBJECT make_parent(void)
{
    WDFOBJECT parent;
    assert_int_equal(WdfObjectCreate(NULL, &parent), STATUS_SUCCESS);
    return parent;
}

static WDFWORKITEM make_item(WDFOBJECT parent)
{
    WDF_WORKITEM_CONFIG config;
    WDF_OBJECT_ATTRIBUTES a;
    WDFWORKITEM item;
    ITEM_CONTEXT *c;

    test_thread = pthread_self();
    WDF_WORKITEM_CONFIG_INIT(&config, item_callback);
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, ITEM_CONTEXT);
    a.ParentObject = parent;
    a.EvtCleanupCallback = item_cleanup;
    assert_int_equal(WdfWorkItemCreate(&config, &a, &item), STATUS_SUCCESS);
    c = GetItemContext(item);
    KeInitializeEvent(&c->started, SynchronizationEvent, FALSE);
    KeInitializeEvent(&c->may_finish, NotificationEvent, FALSE);
    c->irql = 0xFF;
    return item;
}

static void work_item_runs_at_passive_level_on_a_pool_thread(void **state)
{
    WDFOBJECT parent = make_parent();
    WDFWORKITEM item = make_item(parent);
    ITEM_CONTEXT *c = GetItemContext(item);

    WdfWorkItemEnqueue(item);
    pk_test_wait_event(&c->started);
    WdfWorkItemFlush(item);
    assert_int_equal(c->runs, 1);
    assert_int_equal(c->irql, PASSIVE_LEVEL);
    assert_false(c->on_test_thread);
    WdfObjectDelete(parent);
}

static void work_item_create_requires_a_parent_object(void **state)
{
    WDF_WORKITEM_CONFIG config;
    WDF_OBJECT_ATTRIBUTES a;
    WDFWORKITEM item = NULL;

    WDF_WORKITEM_CONFIG_INIT(&config, item_callback);
    pk_test_capture_verifier();
    assert_int_equal(WdfWorkItemCreate(&config, NULL, &item), STATUS_WDF_PARENT_NOT_SPECIFIED);
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    assert_int_equal(WdfWorkItemCreate(&config, &a, &item), STATUS_WDF_PARENT_NOT_SPECIFIED);
    a.ParentObject = (WDFOBJECT)(uintptr_t)0x999;
    assert_int_equal(WdfWorkItemCreate(&config, &a, &item), STATUS_INVALID_HANDLE);
    assert_null(item);
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

static void work_item_create_validates_config_and_arguments(void **state)
{
    WDF_WORKITEM_CONFIG config;
    WDF_OBJECT_ATTRIBUTES a;
    WDFOBJECT parent = make_parent();
    WDFWORKITEM item = NULL;

    pk_test_capture_verifier();
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.ParentObject = parent;
    WDF_WORKITEM_CONFIG_INIT(&config, item_callback);
    assert_true(config.AutomaticSerialization);
    config.Size = 4;
    assert_int_equal(WdfWorkItemCreate(&config, &a, &item), STATUS_INFO_LENGTH_MISMATCH);
    WDF_WORKITEM_CONFIG_INIT(&config, NULL);
    assert_int_equal(WdfWorkItemCreate(&config, &a, &item), STATUS_INVALID_PARAMETER);
    assert_int_equal(WdfWorkItemCreate(NULL, &a, &item), STATUS_INVALID_PARAMETER);
    WDF_WORKITEM_CONFIG_INIT(&config, item_callback);
    assert_int_equal(WdfWorkItemCreate(&config, &a, NULL), STATUS_INVALID_PARAMETER);
    a.Size = 8;
    assert_int_equal(WdfWorkItemCreate(&config, &a, &item), STATUS_INFO_LENGTH_MISMATCH);
    assert_null(item);
    assert_int_equal(PnpkitLiveObjectCount(), 1);
    WdfObjectDelete(parent);
}

static void work_item_get_parent_object_returns_the_parent(void **state)
{
    WDFOBJECT parent = make_parent();
    WDFWORKITEM item = make_item(parent);

    assert_ptr_equal(WdfWorkItemGetParentObject(item), parent);
    pk_test_capture_verifier();
    assert_null(WdfWorkItemGetParentObject((WDFWORKITEM)parent));
    WdfObjectDelete(parent);
}

/* Occupies every pool thread, so that what is queued next waits in the queue. The pool creates
 * a thread inside the queueing call when none is free, up to its limit; a blocker that has not
 * started a second after it was queued has no thread, and nothing queued after it has one. */
static struct {
    WORK_QUEUE_ITEM items[256];
    int32_t started;
    KEVENT release;
    int count;
} blockers;

static void blocker(void *context)
{
    __atomic_add_fetch(&blockers.started, 1, __ATOMIC_SEQ_CST);
    pk_test_wait_event(&blockers.release);
}

static void occupy_every_pool_thread(void)
{
    KeInitializeEvent(&blockers.release, NotificationEvent, FALSE);
    for (blockers.count = 0; blockers.count < 256; blockers.count++) {
        uint64_t deadline = pk_test_now_ms() + 1000;
        ExInitializeWorkItem(&blockers.items[blockers.count], blocker, NULL);
        ExQueueWorkItem(&blockers.items[blockers.count], DelayedWorkQueue);
        while (__atomic_load_n(&blockers.started, __ATOMIC_SEQ_CST) <= blockers.count && pk_test_now_ms() < deadline)
            usleep(200);
        if (__atomic_load_n(&blockers.started, __ATOMIC_SEQ_CST) <= blockers.count)
            return; /* this one waits in the queue: the pool is full */
    }
    fail_msg("the pool did not run out of threads");
}

static void work_item_enqueued_twice_before_it_runs_runs_once(void **state)
{
    WDFOBJECT parent = make_parent();
    WDFWORKITEM item = make_item(parent);
    ITEM_CONTEXT *c = GetItemContext(item);

    occupy_every_pool_thread();
    WdfWorkItemEnqueue(item);
    WdfWorkItemEnqueue(item); /* still queued, not started: nothing happens */
    assert_int_equal(__atomic_load_n(&c->runs, __ATOMIC_SEQ_CST), 0);
    KeSetEvent(&blockers.release, 0, FALSE);
    WdfWorkItemFlush(item);
    assert_int_equal(c->runs, 1);
    WdfObjectDelete(parent);
}

static void work_item_can_be_queued_again_once_its_callback_started(void **state)
{
    WDFOBJECT parent = make_parent();
    WDFWORKITEM item = make_item(parent);
    ITEM_CONTEXT *c = GetItemContext(item);

    c->gate = 1;
    WdfWorkItemEnqueue(item);
    pk_test_wait_event(&c->started);
    WdfWorkItemEnqueue(item); /* the first run is running: this queues a second */
    KeSetEvent(&c->may_finish, 0, FALSE);
    WdfWorkItemFlush(item);
    assert_int_equal(c->runs, 2);
    WdfObjectDelete(parent);
}

static void work_item_can_queue_itself_from_its_callback(void **state)
{
    WDFOBJECT parent = make_parent();
    WDFWORKITEM item = make_item(parent);
    ITEM_CONTEXT *c = GetItemContext(item);

    c->requeue = 5;
    WdfWorkItemEnqueue(item);
    WdfWorkItemFlush(item); /* waits for the chain, not just the first run */
    assert_int_equal(c->runs, 6);
    WdfObjectDelete(parent);
}

static void work_item_flush_waits_for_the_callback(void **state)
{
    WDFOBJECT parent = make_parent();
    WDFWORKITEM item = make_item(parent);
    ITEM_CONTEXT *c = GetItemContext(item);

    c->gate = 1;
    WdfWorkItemEnqueue(item);
    pk_test_wait_event(&c->started);
    KeSetEvent(&c->may_finish, 0, FALSE);
    WdfWorkItemFlush(item);
    assert_int_equal(__atomic_load_n(&c->finished, __ATOMIC_SEQ_CST), 1);
    WdfWorkItemFlush(item); /* idle: returns at once */
    WdfObjectDelete(parent);
}

static VOID flushing_callback(WDFWORKITEM item)
{
    WdfWorkItemFlush(item);
    KeSetEvent(&GetItemContext(item)->started, 0, FALSE);
}

static void work_item_flush_from_its_own_callback_is_a_verifier_stop(void **state)
{
    WDF_WORKITEM_CONFIG config;
    WDF_OBJECT_ATTRIBUTES a;
    WDFOBJECT parent = make_parent();
    WDFWORKITEM item;

    pk_test_capture_verifier();
    WDF_WORKITEM_CONFIG_INIT(&config, flushing_callback);
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, ITEM_CONTEXT);
    a.ParentObject = parent;
    assert_int_equal(WdfWorkItemCreate(&config, &a, &item), STATUS_SUCCESS);
    KeInitializeEvent(&GetItemContext(item)->started, NotificationEvent, FALSE);
    WdfWorkItemEnqueue(item);
    pk_test_wait_event(&GetItemContext(item)->started);
    WdfWorkItemFlush(item);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("wait for itself"));
    WdfObjectDelete(parent);
}

static void work_item_flush_at_dispatch_level_is_a_verifier_stop(void **state)
{
    WDFOBJECT parent = make_parent();
    WDFWORKITEM item = make_item(parent);
    KIRQL old;

    pk_test_capture_verifier();
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    WdfWorkItemEnqueue(item); /* allowed at DISPATCH_LEVEL */
    WdfWorkItemFlush(item);
    KeLowerIrql(old);
    assert_int_equal(pk_test_verifier_stops(), 1);
    WdfWorkItemFlush(item);
    assert_int_equal(GetItemContext(item)->runs, 1);
    WdfObjectDelete(parent);
}

static void deleting_a_work_item_waits_for_its_running_callback(void **state)
{
    WDFOBJECT parent = make_parent();
    WDFWORKITEM item = make_item(parent);
    ITEM_CONTEXT *c = GetItemContext(item);
    static int32_t finished_at_delete;

    c->gate = 1;
    WdfWorkItemEnqueue(item);
    pk_test_wait_event(&c->started);
    WdfObjectReference(item); /* to read the context after the delete */
    KeSetEvent(&c->may_finish, 0, FALSE);
    WdfObjectDelete(item);
    finished_at_delete = __atomic_load_n(&c->finished, __ATOMIC_SEQ_CST);
    assert_int_equal(finished_at_delete, 1);
    assert_int_equal(c->cleanups, 1);
    WdfObjectDereference(item);
    WdfObjectDelete(parent);
}

static void deleting_a_work_item_from_its_own_callback_is_safe(void **state)
{
    WDFOBJECT parent = make_parent();
    WDFWORKITEM item = make_item(parent);

    cleanups_total = 0;
    GetItemContext(item)->delete_self = 1;
    WdfWorkItemEnqueue(item);
    PnpkitShutdown(); /* drains the pool: the callback has run and returned */
    assert_int_equal(cleanups_total, 1);
    assert_int_equal(PnpkitLiveObjectCount(), 1); /* only the parent */
    WdfObjectDelete(parent);
}

static void deleting_the_parent_at_dispatch_level_finishes_at_passive_level(void **state)
{
    WDFOBJECT parent = make_parent();
    WDFWORKITEM item = make_item(parent);
    ITEM_CONTEXT *c = GetItemContext(item);
    KIRQL old;

    cleanups_total = 0;
    c->gate = 1;
    WdfWorkItemEnqueue(item);
    pk_test_wait_event(&c->started);
    WdfObjectReference(item); /* keeps the context (and its events) until we are done */
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    WdfObjectDelete(parent); /* cannot wait here: returns, the wait moves to a pool thread */
    KeLowerIrql(old);
    assert_int_equal(__atomic_load_n(&cleanups_total, __ATOMIC_SEQ_CST), 0);
    KeSetEvent(&c->may_finish, 0, FALSE);
    WdfObjectDereference(item);
    PnpkitShutdown();
    assert_int_equal(cleanups_total, 1);
}

static void work_item_enqueued_while_being_deleted_is_reported_and_does_not_run(void **state)
{
    WDFOBJECT parent = make_parent();
    WDFWORKITEM item = make_item(parent);

    pk_test_capture_verifier();
    WdfObjectReference(item);
    WdfObjectDelete(item);
    WdfWorkItemEnqueue(item);
    WdfWorkItemFlush(item);
    assert_int_equal(GetItemContext(item)->runs, 0);
    assert_true(pk_test_verifier_saw("being deleted"));
    WdfObjectDereference(item);
    WdfObjectDelete(parent);
}

/* ---- Stress: enqueues from several threads while others flush, then delete ---- */

enum { STRESS_ITEMS = 8 };
static WDFWORKITEM stress_items[STRESS_ITEMS];
static int32_t stress_enqueues, stress_stop;

static VOID stress_callback(WDFWORKITEM item)
{
    ITEM_CONTEXT *c = GetItemContext(item);

    /* Runs of one item may overlap (an enqueue after a run started queues another); the
     * cleanup callback checks that none is still in flight (runs == finished). */
    __atomic_add_fetch(&c->runs, 1, __ATOMIC_SEQ_CST);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    __atomic_add_fetch(&c->finished, 1, __ATOMIC_SEQ_CST);
}

static void *stress_enqueuer(void *arg)
{
    uint32_t seed = 99u + (uint32_t)__atomic_add_fetch(&stress_enqueues, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 20000; i++) {
        KIRQL old;
        bool dispatch = pk_test_rand(&seed) & 1;
        if (dispatch)
            KeRaiseIrql(DISPATCH_LEVEL, &old);
        WdfWorkItemEnqueue(stress_items[pk_test_rand(&seed) % STRESS_ITEMS]);
        if (dispatch)
            KeLowerIrql(old);
    }
    return NULL;
}

static void *stress_flusher(void *arg)
{
    uint32_t seed = 7u;
    while (!__atomic_load_n(&stress_stop, __ATOMIC_SEQ_CST))
        WdfWorkItemFlush(stress_items[pk_test_rand(&seed) % STRESS_ITEMS]);
    return NULL;
}

static void work_items_enqueued_from_many_threads_while_flushed_and_deleted(void **state)
{
    WDF_WORKITEM_CONFIG config;
    WDF_OBJECT_ATTRIBUTES a;
    WDFOBJECT parent = make_parent();
    pk_test_threads enqueuers, flushers;
    int32_t runs = 0;

    WDF_WORKITEM_CONFIG_INIT(&config, stress_callback);
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, ITEM_CONTEXT);
    a.ParentObject = parent;
    a.EvtCleanupCallback = item_cleanup;
    cleanups_total = 0;
    for (int i = 0; i < STRESS_ITEMS; i++)
        assert_int_equal(WdfWorkItemCreate(&config, &a, &stress_items[i]), STATUS_SUCCESS);
    pk_test_threads_start(&flushers, 2, stress_flusher, NULL);
    pk_test_threads_start(&enqueuers, 4, stress_enqueuer, NULL);
    pk_test_threads_join(&enqueuers);
    __atomic_store_n(&stress_stop, 1, __ATOMIC_SEQ_CST);
    pk_test_threads_join(&flushers);

    for (int i = 0; i < STRESS_ITEMS; i++) {
        WdfObjectReference(stress_items[i]);
        WdfObjectDelete(stress_items[i]); /* waits for what is queued or running */
        runs += GetItemContext(stress_items[i])->runs;
        assert_int_equal(GetItemContext(stress_items[i])->finished, GetItemContext(stress_items[i])->runs);
        assert_int_equal(GetItemContext(stress_items[i])->cleanups, 1);
        WdfObjectDereference(stress_items[i]);
    }
    assert_true(runs >= 1 && runs <= 4 * 20000);
    assert_int_equal(cleanups_total, STRESS_ITEMS);
    /* A pool thread may still be dropping the queued reference of a run that just returned. */
    PnpkitShutdown();
    assert_int_equal(PnpkitLiveObjectCount(), 1);
    WdfObjectDelete(parent);
}

PK_TEST_MAIN(
    PK_TEST(work_item_runs_at_passive_level_on_a_pool_thread),
    PK_TEST(work_item_create_requires_a_parent_object),
    PK_TEST(work_item_create_validates_config_and_arguments),
    PK_TEST(work_item_get_parent_object_returns_the_parent),
    PK_TEST(work_item_enqueued_twice_before_it_runs_runs_once),
    PK_TEST(work_item_can_be_queued_again_once_its_callback_started),
    PK_TEST(work_item_can_queue_itself_from_its_callback),
    PK_TEST(work_item_flush_waits_for_the_callback),
    PK_TEST(work_item_flush_from_its_own_callback_is_a_verifier_stop),
    PK_TEST(work_item_flush_at_dispatch_level_is_a_verifier_stop),
    PK_TEST(deleting_a_work_item_waits_for_its_running_callback),
    PK_TEST(deleting_a_work_item_from_its_own_callback_is_safe),
    PK_TEST(deleting_the_parent_at_dispatch_level_finishes_at_passive_level),
    PK_TEST(work_item_enqueued_while_being_deleted_is_reported_and_does_not_run),
    PK_TEST(work_items_enqueued_from_many_threads_while_flushed_and_deleted)
)
