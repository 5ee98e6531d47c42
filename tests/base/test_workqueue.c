/* Work items on the thread pool. */
#include "pk_test.h"

#include <stdlib.h>

typedef struct {
    WORK_QUEUE_ITEM item;
    KEVENT done;
    KIRQL irql;
    pthread_t thread;
    int runs;
} probe;

static void probe_routine(PVOID p)
{
    probe *pr = p;
    pr->irql = KeGetCurrentIrql();
    pr->thread = pthread_self();
    pr->runs++;
    KeSetEvent(&pr->done, IO_NO_INCREMENT, FALSE);
}

static void work_item_runs_once_at_passive_level_on_a_pool_thread(void **state)
{
    probe pr = { 0 };
    KeInitializeEvent(&pr.done, NotificationEvent, FALSE);
    ExInitializeWorkItem(&pr.item, probe_routine, &pr);
    ExQueueWorkItem(&pr.item, DelayedWorkQueue);
    pk_test_wait_event(&pr.done);
    PnpkitShutdown();
    assert_int_equal(pr.irql, PASSIVE_LEVEL);
    assert_int_equal(pr.runs, 1);
    assert_false(pthread_equal(pr.thread, pthread_self()));
}

static void work_item_queued_at_dispatch_level_runs_at_passive_level(void **state)
{
    probe pr = { 0 };
    KIRQL old;
    KeInitializeEvent(&pr.done, NotificationEvent, FALSE);
    ExInitializeWorkItem(&pr.item, probe_routine, &pr);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    ExQueueWorkItem(&pr.item, CriticalWorkQueue);
    KeLowerIrql(old);
    pk_test_wait_event(&pr.done);
    assert_int_equal(pr.irql, PASSIVE_LEVEL);
}

/* A waits for an event that only B sets; B is queued after A. A fixed pool of one thread would
 * deadlock. */
static KEVENT b_ran, a_done;
static void item_a(PVOID p)
{
    pk_test_wait_event(&b_ran);
    KeSetEvent(&a_done, IO_NO_INCREMENT, FALSE);
}
static void item_b(PVOID p) { KeSetEvent(&b_ran, IO_NO_INCREMENT, FALSE); }

static void work_items_that_wait_for_each_other_do_not_starve_the_pool(void **state)
{
    WORK_QUEUE_ITEM a, b;
    KeInitializeEvent(&b_ran, NotificationEvent, FALSE);
    KeInitializeEvent(&a_done, NotificationEvent, FALSE);
    ExInitializeWorkItem(&a, item_a, NULL);
    ExInitializeWorkItem(&b, item_b, NULL);
    ExQueueWorkItem(&a, DelayedWorkQueue);
    ExQueueWorkItem(&b, DelayedWorkQueue);
    pk_test_wait_event(&a_done);
}

typedef struct {
    WORK_QUEUE_ITEM item;
    int remaining;
    KEVENT done;
} requeue_ctx;

static void requeue_routine(PVOID p)
{
    requeue_ctx *c = p;
    if (--c->remaining > 0)
        ExQueueWorkItem(&c->item, DelayedWorkQueue);
    else
        KeSetEvent(&c->done, IO_NO_INCREMENT, FALSE);
}

static void a_work_item_may_queue_itself_again_from_its_routine(void **state)
{
    requeue_ctx c = { .remaining = 100 };
    KeInitializeEvent(&c.done, NotificationEvent, FALSE);
    ExInitializeWorkItem(&c.item, requeue_routine, &c);
    ExQueueWorkItem(&c.item, DelayedWorkQueue);
    pk_test_wait_event(&c.done);
    assert_int_equal(c.remaining, 0);
}

static void never_runs(PVOID p) { fail_msg("a refused work item ran"); }

/* An item is "queued" from ExQueueWorkItem until a worker takes it (List.Flink != NULL). The
 * test puts an item in that state without the pool (the pool may take a real item at any
 * moment), and checks that queuing it is refused and changes nothing. */
static void queuing_an_item_that_is_already_queued_is_a_verifier_stop(void **state)
{
    WORK_QUEUE_ITEM item;
    LIST_ENTRY fake_queue;

    pk_test_capture_verifier();
    ExInitializeWorkItem(&item, never_runs, NULL);
    InitializeListHead(&fake_queue);
    InsertTailList(&fake_queue, &item.List);
    ExQueueWorkItem(&item, DelayedWorkQueue);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("already queued"));
    assert_ptr_equal(item.List.Flink, &fake_queue);
    assert_ptr_equal(fake_queue.Flink, &item.List);
    PnpkitShutdown();
}

static void queuing_a_null_item_is_a_verifier_stop(void **state)
{
    pk_test_capture_verifier();
    ExQueueWorkItem(NULL, DelayedWorkQueue);
    assert_int_equal(pk_test_verifier_stops(), 1);
}

static volatile LONG counted;
static void count_routine(PVOID p)
{
    InterlockedIncrement(&counted);
    free(p);
}

static void *queue_many(void *arg)
{
    for (int i = 0; i < 2000; i++) {
        PWORK_QUEUE_ITEM w = malloc(sizeof(*w));
        ExInitializeWorkItem(w, count_routine, w);
        ExQueueWorkItem(w, DelayedWorkQueue);
    }
    return NULL;
}

static void shutdown_runs_every_queued_work_item_first_stress(void **state)
{
    pk_test_threads t;
    counted = 0;
    pk_test_threads_start(&t, 4, queue_many, NULL);
    pk_test_threads_join(&t);
    PnpkitShutdown();
    assert_int_equal(counted, 8000);
}

PK_TEST_MAIN(
    PK_TEST(work_item_runs_once_at_passive_level_on_a_pool_thread),
    PK_TEST(work_item_queued_at_dispatch_level_runs_at_passive_level),
    PK_TEST(work_items_that_wait_for_each_other_do_not_starve_the_pool),
    PK_TEST(a_work_item_may_queue_itself_again_from_its_routine),
    PK_TEST(queuing_an_item_that_is_already_queued_is_a_verifier_stop),
    PK_TEST(queuing_a_null_item_is_a_verifier_stop),
    PK_TEST(shutdown_runs_every_queued_work_item_first_stress),
)
