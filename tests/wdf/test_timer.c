/* WDFTIMER: one-shot and periodic timers, stop with and without wait, deletion. */
#include "pk_test.h"
#include <pnpkit/wdfutil.h>

#include <string.h>
#include <unistd.h>

typedef struct {
    int32_t fires;
    int32_t finished;
    int32_t cleanups;
    int32_t fires_at_cleanup;
    int32_t sleep_ms;        /* the callback sleeps this long (after signalling `fired`) */
    int32_t restart_ms;      /* > 0: the callback starts the timer again */
    int32_t delete_self;     /* the callback deletes its timer */
    int32_t stop_with_wait;  /* the callback calls WdfTimerStop(Wait=TRUE) on its timer */
    KIRQL irql;
    KEVENT fired;            /* set by every callback */
    KEVENT cleaned_up;
} TIMER_CONTEXT;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(TIMER_CONTEXT, GetTimerContext)

static void sleep_ms(int ms) { usleep((useconds_t)ms * 1000); }

static VOID timer_callback(WDFTIMER timer)
{
    TIMER_CONTEXT *c = GetTimerContext(timer);

    c->irql = KeGetCurrentIrql();
    __atomic_add_fetch(&c->fires, 1, __ATOMIC_SEQ_CST);
    KeSetEvent(&c->fired, 0, FALSE);
    if (c->sleep_ms)
        sleep_ms(c->sleep_ms);
    if (c->restart_ms)
        WdfTimerStart(timer, WDF_REL_TIMEOUT_IN_MS(c->restart_ms));
    if (c->stop_with_wait)
        WdfTimerStop(timer, TRUE);
    __atomic_add_fetch(&c->finished, 1, __ATOMIC_SEQ_CST);
    if (c->delete_self)
        WdfObjectDelete(timer);
}

static KEVENT some_cleanup; /* set by every cleanup callback, for objects the test cannot read */

static VOID timer_cleanup(WDFOBJECT timer)
{
    TIMER_CONTEXT *c = GetTimerContext(timer);

    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    c->fires_at_cleanup = __atomic_load_n(&c->fires, __ATOMIC_SEQ_CST);
    /* Deletion stopped the timer and waited for its callback, unless the callback deleted it. */
    if (!c->delete_self)
        assert_int_equal(__atomic_load_n(&c->finished, __ATOMIC_SEQ_CST), c->fires_at_cleanup);
    __atomic_add_fetch(&c->cleanups, 1, __ATOMIC_SEQ_CST);
    KeSetEvent(&c->cleaned_up, 0, FALSE);
    KeSetEvent(&some_cleanup, 0, FALSE);
}

static WDFOBJECT make_parent(WDF_EXECUTION_LEVEL level)
{
    WDF_OBJECT_ATTRIBUTES a;
    WDFOBJECT parent;

    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.ExecutionLevel = level;
    assert_int_equal(WdfObjectCreate(&a, &parent), STATUS_SUCCESS);
    return parent;
}

static WDFTIMER make_timer(WDFOBJECT parent, ULONG period_ms, WDF_EXECUTION_LEVEL level)
{
    WDF_TIMER_CONFIG config;
    WDF_OBJECT_ATTRIBUTES a;
    WDFTIMER timer;
    TIMER_CONTEXT *c;

    if (period_ms)
        WDF_TIMER_CONFIG_INIT_PERIODIC(&config, timer_callback, (LONG)period_ms);
    else
        WDF_TIMER_CONFIG_INIT(&config, timer_callback);
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, TIMER_CONTEXT);
    a.ParentObject = parent;
    a.ExecutionLevel = level;
    a.EvtCleanupCallback = timer_cleanup;
    assert_int_equal(WdfTimerCreate(&config, &a, &timer), STATUS_SUCCESS);
    c = GetTimerContext(timer);
    KeInitializeEvent(&c->fired, SynchronizationEvent, FALSE);
    KeInitializeEvent(&c->cleaned_up, NotificationEvent, FALSE);
    c->irql = 0xFF;
    return timer;
}

static int32_t fires(WDFTIMER t) { return __atomic_load_n(&GetTimerContext(t)->fires, __ATOMIC_SEQ_CST); }

/* ---- Creation ---- */

static void timer_config_initializers_set_the_kmdf_defaults(void **state)
{
    WDF_TIMER_CONFIG config;

    memset(&config, 0xFF, sizeof(config));
    WDF_TIMER_CONFIG_INIT(&config, timer_callback);
    assert_int_equal(config.Size, sizeof(WDF_TIMER_CONFIG));
    assert_ptr_equal(config.EvtTimerFunc, timer_callback);
    assert_int_equal(config.Period, 0);
    assert_true(config.AutomaticSerialization);
    assert_int_equal(config.TolerableDelay, 0);
    assert_false(config.UseHighResolutionTimer);
    WDF_TIMER_CONFIG_INIT_PERIODIC(&config, timer_callback, 25);
    assert_int_equal(config.Period, 25);
    assert_true(config.AutomaticSerialization);
}

static void timer_create_requires_a_parent_object(void **state)
{
    WDF_TIMER_CONFIG config;
    WDF_OBJECT_ATTRIBUTES a;
    WDFTIMER timer = NULL;

    pk_test_capture_verifier();
    WDF_TIMER_CONFIG_INIT(&config, timer_callback);
    assert_int_equal(WdfTimerCreate(&config, NULL, &timer), STATUS_WDF_PARENT_NOT_SPECIFIED);
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    assert_int_equal(WdfTimerCreate(&config, &a, &timer), STATUS_WDF_PARENT_NOT_SPECIFIED);
    assert_null(timer);
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

static void timer_create_validates_its_config(void **state)
{
    WDF_TIMER_CONFIG config;
    WDF_OBJECT_ATTRIBUTES a;
    WDFOBJECT parent = make_parent(WdfExecutionLevelInheritFromParent);
    WDFTIMER timer = NULL;

    pk_test_capture_verifier();
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.ParentObject = parent;
    WDF_TIMER_CONFIG_INIT(&config, timer_callback);
    config.Size = 12;
    assert_int_equal(WdfTimerCreate(&config, &a, &timer), STATUS_INFO_LENGTH_MISMATCH);
    WDF_TIMER_CONFIG_INIT(&config, timer_callback);
    config.Period = 0x80000000u;
    assert_int_equal(WdfTimerCreate(&config, &a, &timer), STATUS_INVALID_PARAMETER);
    WDF_TIMER_CONFIG_INIT(&config, timer_callback);
    config.TolerableDelay = 5;
    config.UseHighResolutionTimer = TRUE;
    assert_int_equal(WdfTimerCreate(&config, &a, &timer), STATUS_INVALID_PARAMETER);
    assert_int_equal(WdfTimerCreate(NULL, &a, &timer), STATUS_INVALID_PARAMETER);
    WDF_TIMER_CONFIG_INIT(&config, timer_callback);
    assert_int_equal(WdfTimerCreate(&config, &a, NULL), STATUS_INVALID_PARAMETER);
    assert_null(timer);
    assert_int_equal(PnpkitLiveObjectCount(), 1);
    WdfObjectDelete(parent);
}

static void a_periodic_timer_asking_for_passive_level_is_not_supported(void **state)
{
    WDF_TIMER_CONFIG config;
    WDF_OBJECT_ATTRIBUTES a;
    WDFOBJECT parent = make_parent(WdfExecutionLevelInheritFromParent);
    WDFTIMER timer = NULL;

    pk_test_capture_verifier();
    WDF_TIMER_CONFIG_INIT_PERIODIC(&config, timer_callback, 10);
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.ParentObject = parent;
    a.ExecutionLevel = WdfExecutionLevelPassive;
    assert_int_equal(WdfTimerCreate(&config, &a, &timer), STATUS_NOT_SUPPORTED);
    assert_null(timer);
    WdfObjectDelete(parent);
}

static void timer_get_parent_object_returns_the_parent(void **state)
{
    WDFOBJECT parent = make_parent(WdfExecutionLevelInheritFromParent);
    WDFTIMER timer = make_timer(parent, 0, WdfExecutionLevelInheritFromParent);

    assert_ptr_equal(WdfTimerGetParentObject(timer), parent);
    pk_test_capture_verifier();
    assert_null(WdfTimerGetParentObject((WDFTIMER)parent));
    assert_int_equal(pk_test_verifier_reports(), 1);
    WdfObjectDelete(parent);
}

/* ---- Firing ---- */

static void a_one_shot_timer_fires_once_at_dispatch_level(void **state)
{
    WDFOBJECT parent = make_parent(WdfExecutionLevelInheritFromParent);
    WDFTIMER timer = make_timer(parent, 0, WdfExecutionLevelInheritFromParent);
    uint64_t start = pk_test_now_ms();

    assert_false(WdfTimerStart(timer, WDF_REL_TIMEOUT_IN_MS(20)));
    pk_test_wait_event(&GetTimerContext(timer)->fired);
    assert_true(pk_test_now_ms() - start >= 19);
    sleep_ms(60);
    assert_int_equal(fires(timer), 1);
    assert_int_equal(GetTimerContext(timer)->irql, DISPATCH_LEVEL);
    assert_false(WdfTimerStop(timer, TRUE)); /* not armed any more */
    WdfObjectDelete(parent);
}

static void a_due_time_of_zero_fires_at_once(void **state)
{
    WDFOBJECT parent = make_parent(WdfExecutionLevelInheritFromParent);
    WDFTIMER timer = make_timer(parent, 0, WdfExecutionLevelInheritFromParent);

    WdfTimerStart(timer, 0);
    pk_test_wait_event(&GetTimerContext(timer)->fired);
    WdfObjectDelete(parent);
}

static void an_absolute_due_time_is_honoured(void **state)
{
    WDFOBJECT parent = make_parent(WdfExecutionLevelInheritFromParent);
    WDFTIMER timer = make_timer(parent, 0, WdfExecutionLevelInheritFromParent);
    LARGE_INTEGER now;
    uint64_t start = pk_test_now_ms();

    KeQuerySystemTime(&now);
    WdfTimerStart(timer, now.QuadPart + WDF_ABS_TIMEOUT_IN_MS(30));
    pk_test_wait_event(&GetTimerContext(timer)->fired);
    assert_true(pk_test_now_ms() - start >= 25);
    WdfObjectDelete(parent);
}

static void starting_a_queued_timer_returns_true_and_reschedules_it(void **state)
{
    WDFOBJECT parent = make_parent(WdfExecutionLevelInheritFromParent);
    WDFTIMER timer = make_timer(parent, 0, WdfExecutionLevelInheritFromParent);
    uint64_t start = pk_test_now_ms();

    assert_false(WdfTimerStart(timer, WDF_REL_TIMEOUT_IN_SEC(10)));
    assert_true(WdfTimerStart(timer, WDF_REL_TIMEOUT_IN_MS(10)));
    pk_test_wait_event(&GetTimerContext(timer)->fired);
    assert_true(pk_test_now_ms() - start < 5000);
    sleep_ms(30);
    assert_int_equal(fires(timer), 1);
    WdfObjectDelete(parent);
}

static void timer_stop_returns_true_only_for_a_queued_timer(void **state)
{
    WDFOBJECT parent = make_parent(WdfExecutionLevelInheritFromParent);
    WDFTIMER timer = make_timer(parent, 0, WdfExecutionLevelInheritFromParent);

    assert_false(WdfTimerStop(timer, FALSE));
    WdfTimerStart(timer, WDF_REL_TIMEOUT_IN_SEC(10));
    assert_true(WdfTimerStop(timer, FALSE));
    assert_false(WdfTimerStop(timer, FALSE));
    WdfTimerStart(timer, WDF_REL_TIMEOUT_IN_SEC(10));
    assert_true(WdfTimerStop(timer, TRUE));
    assert_int_equal(fires(timer), 0);
    WdfObjectDelete(parent);
}

static void periodic_timer_fires_repeatedly_until_stopped(void **state)
{
    WDFOBJECT parent = make_parent(WdfExecutionLevelInheritFromParent);
    WDFTIMER timer = make_timer(parent, 5, WdfExecutionLevelInheritFromParent);
    int32_t at_stop;

    WdfTimerStart(timer, WDF_REL_TIMEOUT_IN_MS(5));
    for (int i = 0; i < 5; i++)
        pk_test_wait_event(&GetTimerContext(timer)->fired);
    assert_true(WdfTimerStop(timer, TRUE)); /* a periodic timer stays queued between fires */
    at_stop = fires(timer);
    assert_true(at_stop >= 5);
    sleep_ms(40);
    assert_int_equal(fires(timer), at_stop);
    WdfObjectDelete(parent);
}

static void passive_timer_callback_runs_at_passive_level(void **state)
{
    WDFOBJECT parent = make_parent(WdfExecutionLevelInheritFromParent);
    WDFTIMER timer = make_timer(parent, 0, WdfExecutionLevelPassive);

    WdfTimerStart(timer, WDF_REL_TIMEOUT_IN_MS(1));
    pk_test_wait_event(&GetTimerContext(timer)->fired);
    WdfTimerStop(timer, TRUE);
    assert_int_equal(GetTimerContext(timer)->irql, PASSIVE_LEVEL);
    WdfObjectDelete(parent);
}

static void a_timer_under_a_passive_parent_runs_its_callback_at_passive_level(void **state)
{
    WDFOBJECT parent = make_parent(WdfExecutionLevelPassive);
    WDFTIMER timer = make_timer(parent, 3, WdfExecutionLevelInheritFromParent); /* periodic: allowed */

    WdfTimerStart(timer, WDF_REL_TIMEOUT_IN_MS(1));
    pk_test_wait_event(&GetTimerContext(timer)->fired);
    pk_test_wait_event(&GetTimerContext(timer)->fired);
    WdfTimerStop(timer, TRUE);
    assert_int_equal(GetTimerContext(timer)->irql, PASSIVE_LEVEL);
    WdfObjectDelete(parent);
}

/* ---- Stop with wait ---- */

static void timer_stop_with_wait_waits_for_a_running_callback(void **state)
{
    WDFOBJECT parent = make_parent(WdfExecutionLevelInheritFromParent);
    WDFTIMER timer = make_timer(parent, 0, WdfExecutionLevelInheritFromParent);
    TIMER_CONTEXT *c = GetTimerContext(timer);

    c->sleep_ms = 50;
    WdfTimerStart(timer, 0);
    pk_test_wait_event(&c->fired);
    assert_false(WdfTimerStop(timer, TRUE)); /* it already fired: not queued */
    assert_int_equal(__atomic_load_n(&c->finished, __ATOMIC_SEQ_CST), 1);
    WdfObjectDelete(parent);
}

static void a_passive_timer_stop_with_wait_waits_for_its_callback(void **state)
{
    WDFOBJECT parent = make_parent(WdfExecutionLevelInheritFromParent);
    WDFTIMER timer = make_timer(parent, 0, WdfExecutionLevelPassive);
    TIMER_CONTEXT *c = GetTimerContext(timer);

    c->sleep_ms = 50;
    WdfTimerStart(timer, 0);
    pk_test_wait_event(&c->fired);
    WdfTimerStop(timer, TRUE);
    assert_int_equal(__atomic_load_n(&c->finished, __ATOMIC_SEQ_CST), 1);
    WdfObjectDelete(parent);
}

static void a_callback_cannot_restart_a_timer_that_is_being_stopped(void **state)
{
    WDFOBJECT parent = make_parent(WdfExecutionLevelInheritFromParent);
    WDFTIMER timer = make_timer(parent, 0, WdfExecutionLevelInheritFromParent);
    TIMER_CONTEXT *c = GetTimerContext(timer);

    c->sleep_ms = 100;  /* long enough for the stop to begin while the callback runs */
    c->restart_ms = 1;  /* ...after which the callback tries to start the timer again */
    WdfTimerStart(timer, 0);
    pk_test_wait_event(&c->fired);
    assert_true(WdfTimerStop(timer, TRUE)); /* TRUE: a start was refused during the stop */
    assert_false(WdfTimerStop(timer, FALSE)); /* and the timer is not armed */
    assert_int_equal(fires(timer), 1);
    sleep_ms(30);
    assert_int_equal(fires(timer), 1);
    WdfObjectDelete(parent);
}

static void timer_stop_with_wait_from_its_own_callback_is_a_verifier_stop(void **state)
{
    WDFOBJECT parent = make_parent(WdfExecutionLevelInheritFromParent);
    WDFTIMER timer = make_timer(parent, 0, WdfExecutionLevelPassive);

    pk_test_capture_verifier();
    GetTimerContext(timer)->stop_with_wait = 1;
    WdfTimerStart(timer, 0);
    pk_test_wait_event(&GetTimerContext(timer)->fired);
    WdfTimerStop(timer, TRUE);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("wait for itself"));
    WdfObjectDelete(parent);
}

static void timer_stop_with_wait_at_dispatch_level_is_a_verifier_stop(void **state)
{
    WDFOBJECT parent = make_parent(WdfExecutionLevelInheritFromParent);
    WDFTIMER timer = make_timer(parent, 0, WdfExecutionLevelInheritFromParent);
    KIRQL old;

    pk_test_capture_verifier();
    WdfTimerStart(timer, WDF_REL_TIMEOUT_IN_SEC(10));
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_false(WdfTimerStop(timer, TRUE));
    assert_true(WdfTimerStop(timer, FALSE)); /* allowed at DISPATCH_LEVEL */
    KeLowerIrql(old);
    assert_int_equal(pk_test_verifier_stops(), 1);
    WdfObjectDelete(parent);
}

/* ---- Deletion ---- */

static void deleting_a_timer_stops_it_and_waits_for_its_callback(void **state)
{
    WDFOBJECT parent = make_parent(WdfExecutionLevelInheritFromParent);
    WDFTIMER timer = make_timer(parent, 2, WdfExecutionLevelInheritFromParent);
    TIMER_CONTEXT *c = GetTimerContext(timer);
    int32_t at_cleanup;

    c->sleep_ms = 5;
    WdfTimerStart(timer, 0);
    pk_test_wait_event(&c->fired);
    WdfObjectReference(timer);
    WdfObjectDelete(timer); /* the cleanup callback checks that no callback is in flight */
    assert_int_equal(c->cleanups, 1);
    at_cleanup = c->fires_at_cleanup;
    sleep_ms(20);
    assert_int_equal(fires(timer), at_cleanup);
    WdfObjectDereference(timer);
    WdfObjectDelete(parent);
}

static void deleting_a_timer_from_its_own_callback_is_safe(void **state)
{
    WDFOBJECT parent = make_parent(WdfExecutionLevelInheritFromParent);
    WDFTIMER timer = make_timer(parent, 1, WdfExecutionLevelInheritFromParent);
    TIMER_CONTEXT *c = GetTimerContext(timer);

    c->delete_self = 1;
    WdfObjectReference(timer); /* keeps the context readable */
    WdfTimerStart(timer, 0);
    pk_test_wait_event(&c->cleaned_up); /* the delete at DISPATCH_LEVEL finishes on a pool thread */
    sleep_ms(10);
    assert_int_equal(fires(timer), 1);
    WdfObjectDereference(timer);
    PnpkitShutdown();
    assert_int_equal(PnpkitLiveObjectCount(), 1);
    WdfObjectDelete(parent);
}

static void deleting_a_passive_timer_from_its_own_callback_is_safe(void **state)
{
    WDFOBJECT parent = make_parent(WdfExecutionLevelInheritFromParent);
    WDFTIMER timer = make_timer(parent, 0, WdfExecutionLevelPassive);

    /* The callback re-arms the timer, then deletes it: the delete runs inside the callback, on
     * the pool thread, and drops the last reference there. */
    KeInitializeEvent(&some_cleanup, NotificationEvent, FALSE);
    GetTimerContext(timer)->delete_self = 1;
    GetTimerContext(timer)->restart_ms = 1;
    WdfTimerStart(timer, 0);
    pk_test_wait_event(&some_cleanup);
    sleep_ms(10); /* the re-armed timer would have fired by now */
    PnpkitShutdown(); /* runs the deferred release of the memory */
    assert_int_equal(PnpkitLiveObjectCount(), 1);
    WdfObjectDelete(parent);
}

static void deleting_the_parent_deletes_an_armed_timer(void **state)
{
    WDFOBJECT parent = make_parent(WdfExecutionLevelInheritFromParent);
    WDFTIMER timer = make_timer(parent, 0, WdfExecutionLevelInheritFromParent);

    WdfTimerStart(timer, WDF_REL_TIMEOUT_IN_MS(20));
    WdfObjectDelete(parent);
    assert_int_equal(PnpkitLiveObjectCount(), 0);
    sleep_ms(40); /* nothing fires into freed memory (ASan would tell) */
}

static void starting_a_timer_that_is_being_deleted_is_reported(void **state)
{
    WDFOBJECT parent = make_parent(WdfExecutionLevelInheritFromParent);
    WDFTIMER timer = make_timer(parent, 0, WdfExecutionLevelInheritFromParent);

    pk_test_capture_verifier();
    WdfObjectReference(timer);
    WdfObjectDelete(timer);
    assert_false(WdfTimerStart(timer, 0));
    assert_true(pk_test_verifier_saw("being deleted"));
    sleep_ms(10);
    assert_int_equal(fires(timer), 0);
    WdfObjectDereference(timer);
    WdfObjectDelete(parent);
}

static void timer_functions_reject_bad_handles(void **state)
{
    WDFOBJECT parent = make_parent(WdfExecutionLevelInheritFromParent);

    pk_test_capture_verifier();
    assert_false(WdfTimerStart((WDFTIMER)parent, 0));
    assert_false(WdfTimerStop((WDFTIMER)parent, TRUE));
    assert_false(WdfTimerStop(NULL, FALSE));
    assert_int_equal(pk_test_verifier_reports(), 3);
    assert_int_equal(pk_test_verifier_stops(), 0);
    WdfObjectDelete(parent);
}

/* ---- Stress: start, stop and delete while the timers fire ---- */

enum { STRESS_THREADS = 4, STRESS_ROUNDS = 500 };

static VOID stress_callback(WDFTIMER timer)
{
    TIMER_CONTEXT *c = GetTimerContext(timer);

    __atomic_add_fetch(&c->fires, 1, __ATOMIC_SEQ_CST);
    if (c->restart_ms)
        WdfTimerStart(timer, WDF_REL_TIMEOUT_IN_US(200)); /* races with the stop */
    __atomic_add_fetch(&c->finished, 1, __ATOMIC_SEQ_CST);
}

static WDFOBJECT stress_parent;
static int32_t stress_thread_ids;

static void *stress_worker(void *arg)
{
    uint32_t seed = 31u * (uint32_t)__atomic_add_fetch(&stress_thread_ids, 1, __ATOMIC_SEQ_CST);

    for (int round = 0; round < STRESS_ROUNDS; round++) {
        WDF_TIMER_CONFIG config;
        WDF_OBJECT_ATTRIBUTES a;
        WDFTIMER timer;
        TIMER_CONTEXT *c;
        uint32_t r = pk_test_rand(&seed);
        bool periodic = r & 1, passive = !periodic && (r & 2), restart = !periodic && (r & 4);
        int32_t at_stop;

        if (periodic)
            WDF_TIMER_CONFIG_INIT_PERIODIC(&config, stress_callback, 1);
        else
            WDF_TIMER_CONFIG_INIT(&config, stress_callback);
        WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, TIMER_CONTEXT);
        a.ParentObject = stress_parent;
        a.ExecutionLevel = passive ? WdfExecutionLevelPassive : WdfExecutionLevelInheritFromParent;
        a.EvtCleanupCallback = timer_cleanup;
        assert_int_equal(WdfTimerCreate(&config, &a, &timer), STATUS_SUCCESS);
        c = GetTimerContext(timer);
        KeInitializeEvent(&c->cleaned_up, NotificationEvent, FALSE);
        c->restart_ms = restart;

        WdfTimerStart(timer, (r & 8) ? 0 : WDF_REL_TIMEOUT_IN_US(r % 1500));
        usleep(r % 2000);
        if (r & 16) {
            /* Stop with wait: from its return on, no callback runs. */
            WdfTimerStop(timer, TRUE);
            at_stop = __atomic_load_n(&c->fires, __ATOMIC_SEQ_CST);
            assert_int_equal(__atomic_load_n(&c->finished, __ATOMIC_SEQ_CST), at_stop);
            usleep(300);
            assert_int_equal(__atomic_load_n(&c->fires, __ATOMIC_SEQ_CST), at_stop);
        }
        WdfObjectReference(timer);
        if (r & 32) {
            KIRQL old;
            KeRaiseIrql(DISPATCH_LEVEL, &old);
            WdfObjectDelete(timer); /* finishes on a pool thread */
            KeLowerIrql(old);
            pk_test_wait_event(&c->cleaned_up);
        } else {
            WdfObjectDelete(timer); /* deleted while it may be firing */
        }
        assert_int_equal(c->cleanups, 1);
        at_stop = c->fires_at_cleanup;
        usleep(200);
        assert_int_equal(__atomic_load_n(&c->fires, __ATOMIC_SEQ_CST), at_stop); /* none after delete */
        WdfObjectDereference(timer);
    }
    return NULL;
}

static void timers_started_stopped_and_deleted_while_firing(void **state)
{
    pk_test_threads threads;

    /* A callback that restarts its timer while another thread deletes it is a driver bug that
     * the verifier reports; the stress provokes it on purpose. */
    pk_test_capture_verifier();
    stress_parent = make_parent(WdfExecutionLevelInheritFromParent);
    pk_test_threads_start(&threads, STRESS_THREADS, stress_worker, NULL);
    pk_test_threads_join(&threads);
    PnpkitShutdown();
    assert_int_equal(pk_test_verifier_stops(), 0);
    assert_int_equal(PnpkitLiveObjectCount(), 1);
    WdfObjectDelete(stress_parent);
}

PK_TEST_MAIN(
    PK_TEST(timer_config_initializers_set_the_kmdf_defaults),
    PK_TEST(timer_create_requires_a_parent_object),
    PK_TEST(timer_create_validates_its_config),
    PK_TEST(a_periodic_timer_asking_for_passive_level_is_not_supported),
    PK_TEST(timer_get_parent_object_returns_the_parent),
    PK_TEST(a_one_shot_timer_fires_once_at_dispatch_level),
    PK_TEST(a_due_time_of_zero_fires_at_once),
    PK_TEST(an_absolute_due_time_is_honoured),
    PK_TEST(starting_a_queued_timer_returns_true_and_reschedules_it),
    PK_TEST(timer_stop_returns_true_only_for_a_queued_timer),
    PK_TEST(periodic_timer_fires_repeatedly_until_stopped),
    PK_TEST(passive_timer_callback_runs_at_passive_level),
    PK_TEST(a_timer_under_a_passive_parent_runs_its_callback_at_passive_level),
    PK_TEST(timer_stop_with_wait_waits_for_a_running_callback),
    PK_TEST(a_passive_timer_stop_with_wait_waits_for_its_callback),
    PK_TEST(a_callback_cannot_restart_a_timer_that_is_being_stopped),
    PK_TEST(timer_stop_with_wait_from_its_own_callback_is_a_verifier_stop),
    PK_TEST(timer_stop_with_wait_at_dispatch_level_is_a_verifier_stop),
    PK_TEST(deleting_a_timer_stops_it_and_waits_for_its_callback),
    PK_TEST(deleting_a_timer_from_its_own_callback_is_safe),
    PK_TEST(deleting_a_passive_timer_from_its_own_callback_is_safe),
    PK_TEST(deleting_the_parent_deletes_an_armed_timer),
    PK_TEST(starting_a_timer_that_is_being_deleted_is_reported),
    PK_TEST(timer_functions_reject_bad_handles),
    PK_TEST(timers_started_stopped_and_deleted_while_firing)
)
