/* Events, waits with timeouts, spin locks and fast mutexes. */
#include "pk_test.h"

static KEVENT shared_event;
static volatile LONG woken;

static void *wait_shared_event(void *arg)
{
    KeWaitForSingleObject(&shared_event, Executive, KernelMode, FALSE, NULL);
    InterlockedIncrement(&woken);
    return NULL;
}

static void notification_event_wakes_every_waiter_and_stays_signaled(void **state)
{
    pk_test_threads t;
    KeInitializeEvent(&shared_event, NotificationEvent, FALSE);
    woken = 0;
    pk_test_threads_start(&t, 4, wait_shared_event, NULL);
    KeSetEvent(&shared_event, IO_NO_INCREMENT, FALSE);
    pk_test_threads_join(&t);
    assert_int_equal(woken, 4);
    assert_int_equal(KeReadStateEvent(&shared_event), 1);
}

static void *wait_sync_event_bounded(void *arg)
{
    LARGE_INTEGER t = pk_test_timeout_ms(300);
    if (KeWaitForSingleObject(&shared_event, Executive, KernelMode, FALSE, &t) == STATUS_SUCCESS)
        InterlockedIncrement(&woken);
    return NULL;
}

static void synchronization_event_releases_one_waiter_and_resets(void **state)
{
    pk_test_threads t;
    KeInitializeEvent(&shared_event, SynchronizationEvent, FALSE);
    woken = 0;
    pk_test_threads_start(&t, 3, wait_sync_event_bounded, NULL);
    KeSetEvent(&shared_event, IO_NO_INCREMENT, FALSE);
    pk_test_threads_join(&t);
    assert_int_equal(woken, 1);
    assert_int_equal(KeReadStateEvent(&shared_event), 0);
}

static void event_wait_times_out_after_a_relative_timeout(void **state)
{
    KEVENT e;
    LARGE_INTEGER t = pk_test_timeout_ms(30);
    uint64_t start = pk_test_now_ms();
    KeInitializeEvent(&e, NotificationEvent, FALSE);
    assert_int_equal(KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, &t), STATUS_TIMEOUT);
    assert_true(pk_test_now_ms() - start >= 29);
}

static void event_wait_with_an_absolute_time_in_the_past_times_out_at_once(void **state)
{
    KEVENT e;
    LARGE_INTEGER now;
    KeInitializeEvent(&e, NotificationEvent, FALSE);
    KeQuerySystemTime(&now);
    now.QuadPart -= 10000000;
    assert_int_equal(KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, &now), STATUS_TIMEOUT);
}

static void set_event_returns_the_previous_state(void **state)
{
    KEVENT e;
    KeInitializeEvent(&e, NotificationEvent, FALSE);
    assert_int_equal(KeSetEvent(&e, IO_NO_INCREMENT, FALSE), 0);
    assert_int_equal(KeSetEvent(&e, IO_NO_INCREMENT, FALSE), 1);
    assert_int_equal(KeResetEvent(&e), 1);
    assert_int_equal(KeReadStateEvent(&e), 0);
    KeInitializeEvent(&e, NotificationEvent, TRUE);
    assert_int_equal(KeReadStateEvent(&e), 1);
}

/* Ping-pong between two threads with synchronization events: a lost wakeup hangs the test. */
static KEVENT ping, pong;
#define PINGPONG_ROUNDS 20000

static void *pong_thread(void *arg)
{
    for (int i = 0; i < PINGPONG_ROUNDS; i++) {
        KeWaitForSingleObject(&ping, Executive, KernelMode, FALSE, NULL);
        KeSetEvent(&pong, IO_NO_INCREMENT, FALSE);
    }
    return NULL;
}

static void event_set_and_wait_race_loses_no_wakeup_stress(void **state)
{
    pk_test_threads t;
    for (int spin = 0; spin < 2; spin++) {
        PnpkitSetSpinBeforeWait(spin ? 100 : 0);
        KeInitializeEvent(&ping, SynchronizationEvent, FALSE);
        KeInitializeEvent(&pong, SynchronizationEvent, FALSE);
        pk_test_threads_start(&t, 1, pong_thread, NULL);
        for (int i = 0; i < PINGPONG_ROUNDS; i++) {
            KeSetEvent(&ping, IO_NO_INCREMENT, FALSE);
            pk_test_wait_event(&pong);
        }
        pk_test_threads_join(&t);
    }
}

static KSPIN_LOCK spin;
static FAST_MUTEX fmutex;
static long counter_spin, counter_mutex;
#define LOCK_ROUNDS 50000

static void *lock_hammer(void *arg)
{
    for (int i = 0; i < LOCK_ROUNDS; i++) {
        KIRQL old;
        KeAcquireSpinLock(&spin, &old);
        counter_spin++;
        KeReleaseSpinLock(&spin, old);
        ExAcquireFastMutex(&fmutex);
        counter_mutex++;
        ExReleaseFastMutex(&fmutex);
    }
    return NULL;
}

static void spin_locks_and_fast_mutexes_exclude_each_other_stress(void **state)
{
    pk_test_threads t;
    KeInitializeSpinLock(&spin);
    ExInitializeFastMutex(&fmutex);
    counter_spin = counter_mutex = 0;
    pk_test_threads_start(&t, 4, lock_hammer, NULL);
    pk_test_threads_join(&t);
    assert_int_equal(counter_spin, 4L * LOCK_ROUNDS);
    assert_int_equal(counter_mutex, 4L * LOCK_ROUNDS);
}

static void releasing_a_spin_lock_not_held_is_a_verifier_stop(void **state)
{
    KSPIN_LOCK lock;
    pk_test_capture_verifier();
    KeInitializeSpinLock(&lock);
    KeReleaseSpinLock(&lock, PASSIVE_LEVEL);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("KeReleaseSpinLock"));
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

static void in_stack_queued_spin_lock_restores_the_irql(void **state)
{
    KSPIN_LOCK lock;
    KLOCK_QUEUE_HANDLE h;
    KeInitializeSpinLock(&lock);
    KeAcquireInStackQueuedSpinLock(&lock, &h);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    assert_false(KeTryToAcquireSpinLockAtDpcLevel(&lock));
    KeReleaseInStackQueuedSpinLock(&h);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

static void interlocked_compare_exchange_returns_the_initial_value(void **state)
{
    LONG v = 5;
    assert_int_equal(InterlockedCompareExchange(&v, 7, 5), 5);
    assert_int_equal(v, 7);
    assert_int_equal(InterlockedCompareExchange(&v, 9, 5), 7);
    assert_int_equal(v, 7);
    assert_int_equal(InterlockedIncrement(&v), 8);
    assert_int_equal(InterlockedExchange(&v, 1), 8);
}

PK_TEST_MAIN(
    PK_TEST(notification_event_wakes_every_waiter_and_stays_signaled),
    PK_TEST(synchronization_event_releases_one_waiter_and_resets),
    PK_TEST(event_wait_times_out_after_a_relative_timeout),
    PK_TEST(event_wait_with_an_absolute_time_in_the_past_times_out_at_once),
    PK_TEST(set_event_returns_the_previous_state),
    PK_TEST(event_set_and_wait_race_loses_no_wakeup_stress),
    PK_TEST(spin_locks_and_fast_mutexes_exclude_each_other_stress),
    PK_TEST(releasing_a_spin_lock_not_held_is_a_verifier_stop),
    PK_TEST(in_stack_queued_spin_lock_restores_the_irql),
    PK_TEST(interlocked_compare_exchange_returns_the_initial_value),
)
