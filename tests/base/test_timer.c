/* Timers: KTIMER + KDPC, EX_TIMER, cancel with and without waiting. */
#include "pk_test.h"

typedef struct {
    KDPC dpc;
    KTIMER timer;
    volatile LONG fired;
    KIRQL irql;
    KEVENT event;
    LONG stop_after; /* cancel from the DPC after this many */
} ktimer_probe;

static VOID probe_dpc(PKDPC dpc, PVOID ctx, PVOID a1, PVOID a2)
{
    ktimer_probe *p = ctx;
    p->irql = KeGetCurrentIrql();
    LONG n = InterlockedIncrement(&p->fired);
    if (p->stop_after && n >= p->stop_after)
        KeCancelTimer(&p->timer);
    KeSetEvent(&p->event, IO_NO_INCREMENT, FALSE);
}

static void ktimer_one_shot_queues_its_dpc_once_at_dispatch_level(void **state)
{
    ktimer_probe p = { 0 };
    KeInitializeEvent(&p.event, NotificationEvent, FALSE);
    KeInitializeDpc(&p.dpc, probe_dpc, &p);
    KeInitializeTimer(&p.timer);
    assert_false(KeSetTimer(&p.timer, pk_test_timeout_ms(5), &p.dpc));
    pk_test_wait_event(&p.event);
    KeFlushQueuedDpcs();
    LARGE_INTEGER t = pk_test_timeout_ms(30);
    KeDelayExecutionThread(KernelMode, FALSE, &t);
    assert_int_equal(p.fired, 1);
    assert_int_equal(p.irql, DISPATCH_LEVEL);
    assert_true(KeReadStateTimer(&p.timer));
}

static void ktimer_periodic_fires_until_cancelled(void **state)
{
    ktimer_probe p = { .stop_after = 5 };
    KeInitializeEvent(&p.event, SynchronizationEvent, FALSE);
    KeInitializeDpc(&p.dpc, probe_dpc, &p);
    KeInitializeTimerEx(&p.timer, NotificationTimer);
    KeSetTimerEx(&p.timer, pk_test_timeout_ms(1), 2, &p.dpc);
    while (ReadAcquire(&p.fired) < 5)
        pk_test_wait_event(&p.event);
    KeFlushQueuedDpcs();
    LONG fired = p.fired;
    LARGE_INTEGER t = pk_test_timeout_ms(20);
    KeDelayExecutionThread(KernelMode, FALSE, &t);
    assert_int_equal(p.fired, fired);
    assert_int_equal(fired, 5);
}

static void ke_cancel_timer_reports_whether_it_was_armed(void **state)
{
    ktimer_probe p = { 0 };
    KeInitializeEvent(&p.event, NotificationEvent, FALSE);
    KeInitializeDpc(&p.dpc, probe_dpc, &p);
    KeInitializeTimer(&p.timer);
    assert_false(KeCancelTimer(&p.timer));
    KeSetTimer(&p.timer, pk_test_timeout_ms(10000), &p.dpc);
    assert_true(KeSetTimer(&p.timer, pk_test_timeout_ms(10000), &p.dpc)); /* re-armed */
    assert_true(KeCancelTimer(&p.timer));
    assert_false(KeCancelTimer(&p.timer));
    assert_int_equal(p.fired, 0);
}

static KEVENT callback_started;
static volatile LONG callback_finished;

static VOID slow_dpc(PKDPC dpc, PVOID ctx, PVOID a1, PVOID a2)
{
    KeSetEvent(&callback_started, IO_NO_INCREMENT, FALSE);
    KeStallExecutionProcessor(30000);
    WriteRelease(&callback_finished, 1);
}

static void ke_flush_queued_dpcs_waits_for_a_running_dpc(void **state)
{
    KDPC dpc;
    KTIMER timer;
    KeInitializeEvent(&callback_started, NotificationEvent, FALSE);
    callback_finished = 0;
    KeInitializeDpc(&dpc, slow_dpc, NULL);
    KeInitializeTimer(&timer);
    KeSetTimer(&timer, pk_test_timeout_ms(1), &dpc);
    pk_test_wait_event(&callback_started);
    KeFlushQueuedDpcs();
    assert_int_equal(ReadAcquire(&callback_finished), 1);
}

static VOID ex_callback(PEX_TIMER timer, PVOID ctx)
{
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    InterlockedIncrement((LONG *)ctx);
    KeSetEvent(&callback_started, IO_NO_INCREMENT, FALSE);
}

static void ex_timer_one_shot_fires_once(void **state)
{
    LONG count = 0;
    PEX_TIMER t = ExAllocateTimer(ex_callback, &count, 0);
    assert_non_null(t);
    KeInitializeEvent(&callback_started, NotificationEvent, FALSE);
    assert_false(ExSetTimer(t, -10000 * 2, 0, NULL));
    pk_test_wait_event(&callback_started);
    assert_false(ExDeleteTimer(t, TRUE, TRUE, NULL));
    assert_int_equal(count, 1);
}

static VOID ex_slow_callback(PEX_TIMER timer, PVOID ctx)
{
    KeSetEvent(&callback_started, IO_NO_INCREMENT, FALSE);
    KeStallExecutionProcessor(30000);
    WriteRelease(&callback_finished, 1);
}

static void ex_delete_timer_with_wait_returns_after_the_running_callback(void **state)
{
    PEX_TIMER t = ExAllocateTimer(ex_slow_callback, NULL, 0);
    KeInitializeEvent(&callback_started, NotificationEvent, FALSE);
    callback_finished = 0;
    ExSetTimer(t, -10000, 0, NULL);
    pk_test_wait_event(&callback_started);
    ExDeleteTimer(t, TRUE, TRUE, NULL);
    assert_int_equal(ReadAcquire(&callback_finished), 1);
}

static void ex_delete_timer_with_cancel_prevents_the_callback(void **state)
{
    LONG count = 0;
    PEX_TIMER t = ExAllocateTimer(ex_callback, &count, 0);
    ExSetTimer(t, -10000 * 50, 0, NULL);
    assert_true(ExDeleteTimer(t, TRUE, TRUE, NULL));
    LARGE_INTEGER d = pk_test_timeout_ms(80);
    KeDelayExecutionThread(KernelMode, FALSE, &d);
    assert_int_equal(count, 0);
}

static VOID self_deleting_callback(PEX_TIMER timer, PVOID ctx)
{
    ExDeleteTimer(timer, TRUE, FALSE, NULL);
    KeSetEvent(&callback_started, IO_NO_INCREMENT, FALSE);
}

static void ex_timer_may_delete_itself_from_its_callback_without_waiting(void **state)
{
    PEX_TIMER t = ExAllocateTimer(self_deleting_callback, NULL, 0);
    KeInitializeEvent(&callback_started, NotificationEvent, FALSE);
    ExSetTimer(t, -10000, 10000 * 5, NULL); /* periodic: deletion must also stop it */
    pk_test_wait_event(&callback_started);
    PnpkitShutdown(); /* the deferred free runs on the pool; ASan catches a leak or reuse */
}

static void ex_delete_timer_with_wait_from_its_own_callback_is_a_verifier_stop(void **state);
static VOID wait_self_callback(PEX_TIMER timer, PVOID ctx)
{
    ExDeleteTimer(timer, TRUE, TRUE, NULL);
    KeSetEvent(&callback_started, IO_NO_INCREMENT, FALSE);
}
static void ex_delete_timer_with_wait_from_its_own_callback_is_a_verifier_stop(void **state)
{
    pk_test_capture_verifier();
    PEX_TIMER t = ExAllocateTimer(wait_self_callback, NULL, 0);
    KeInitializeEvent(&callback_started, NotificationEvent, FALSE);
    ExSetTimer(t, -10000, 0, NULL);
    pk_test_wait_event(&callback_started);
    PnpkitShutdown();
    assert_true(pk_test_verifier_stops() >= 1);
    assert_true(pk_test_verifier_saw("ExDeleteTimer"));
}

/* Fire order follows the deadlines, not the order of arming. */
static LONG order[3];
static volatile LONG order_next;
static VOID order_dpc(PKDPC dpc, PVOID ctx, PVOID a1, PVOID a2)
{
    order[InterlockedIncrement(&order_next) - 1] = (LONG)(intptr_t)ctx;
    if (order_next == 3)
        KeSetEvent(&callback_started, IO_NO_INCREMENT, FALSE);
}

static void timers_fire_in_deadline_order(void **state)
{
    KDPC d[3];
    KTIMER t[3];
    static const int delays_ms[3] = { 60, 20, 40 };
    order_next = 0;
    KeInitializeEvent(&callback_started, NotificationEvent, FALSE);
    for (int i = 0; i < 3; i++) {
        KeInitializeDpc(&d[i], order_dpc, (PVOID)(intptr_t)i);
        KeInitializeTimer(&t[i]);
        KeSetTimer(&t[i], pk_test_timeout_ms(delays_ms[i]), &d[i]);
    }
    pk_test_wait_event(&callback_started);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 0);
}

/* Arm and cancel-with-wait race with firing; after the cancel returns, the callback must not
 * run again and must not be running. */
static volatile LONG in_callback, runs_after_cancel, cancelled_flag;
static VOID race_callback(PEX_TIMER timer, PVOID ctx)
{
    InterlockedIncrement(&in_callback);
    if (ReadAcquire(&cancelled_flag))
        InterlockedIncrement(&runs_after_cancel);
    InterlockedDecrement(&in_callback);
}

static void timer_cancel_with_wait_races_with_firing_stress(void **state)
{
    for (int i = 0; i < 1000; i++) {
        PEX_TIMER t = ExAllocateTimer(race_callback, NULL, 0);
        WriteRelease(&cancelled_flag, 0);
        ExSetTimer(t, -(LONGLONG)(i % 3) * 1000, 1000, NULL); /* 0-200 us, periodic 100 us */
        if (i % 2)
            KeStallExecutionProcessor((ULONG)(i % 5) * 40);
        ExDeleteTimer(t, TRUE, TRUE, NULL);
        WriteRelease(&cancelled_flag, 1);
        assert_int_equal(ReadAcquire(&in_callback), 0);
    }
    assert_int_equal(runs_after_cancel, 0);
}

PK_TEST_MAIN(
    PK_TEST(ktimer_one_shot_queues_its_dpc_once_at_dispatch_level),
    PK_TEST(ktimer_periodic_fires_until_cancelled),
    PK_TEST(ke_cancel_timer_reports_whether_it_was_armed),
    PK_TEST(ke_flush_queued_dpcs_waits_for_a_running_dpc),
    PK_TEST(ex_timer_one_shot_fires_once),
    PK_TEST(ex_delete_timer_with_wait_returns_after_the_running_callback),
    PK_TEST(ex_delete_timer_with_cancel_prevents_the_callback),
    PK_TEST(ex_timer_may_delete_itself_from_its_callback_without_waiting),
    PK_TEST(ex_delete_timer_with_wait_from_its_own_callback_is_a_verifier_stop),
    PK_TEST(timers_fire_in_deadline_order),
    PK_TEST(timer_cancel_with_wait_races_with_firing_stress),
)
