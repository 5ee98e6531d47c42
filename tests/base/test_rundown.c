/* Rundown protection: holders, waiters, refusal after the wait began. */
#include "pk_test.h"

static void rundown_acquire_and_release_while_open(void **state)
{
    EX_RUNDOWN_REF r;
    ExInitializeRundownProtection(&r);
    assert_true(ExAcquireRundownProtection(&r));
    assert_true(ExAcquireRundownProtectionEx(&r, 3));
    ExReleaseRundownProtectionEx(&r, 3);
    ExReleaseRundownProtection(&r);
    assert_int_equal(r.Count, 0);
}

static void rundown_wait_without_holders_returns_at_once_and_refuses_later_acquires(void **state)
{
    EX_RUNDOWN_REF r;
    ExInitializeRundownProtection(&r);
    ExWaitForRundownProtectionRelease(&r);
    assert_false(ExAcquireRundownProtection(&r));
    ExReInitializeRundownProtection(&r);
    assert_true(ExAcquireRundownProtection(&r));
    ExReleaseRundownProtection(&r);
}

static EX_RUNDOWN_REF shared;
static KEVENT wait_returned;

static void *rundown_waiter(void *arg)
{
    ExWaitForRundownProtectionRelease(&shared);
    KeSetEvent(&wait_returned, IO_NO_INCREMENT, FALSE);
    return NULL;
}

static void rundown_wait_blocks_until_every_holder_released(void **state)
{
    pk_test_threads t;
    LARGE_INTEGER short_wait = pk_test_timeout_ms(20);

    ExInitializeRundownProtection(&shared);
    KeInitializeEvent(&wait_returned, NotificationEvent, FALSE);
    for (int i = 0; i < 3; i++)
        assert_true(ExAcquireRundownProtection(&shared));
    pk_test_threads_start(&t, 1, rundown_waiter, NULL);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(KeWaitForSingleObject(&wait_returned, Executive, KernelMode, FALSE, &short_wait),
                         STATUS_TIMEOUT);
        ExReleaseRundownProtection(&shared);
    }
    pk_test_wait_event(&wait_returned);
    pk_test_threads_join(&t);
}

static void rundown_refuses_new_acquires_once_the_wait_began(void **state)
{
    pk_test_threads t;

    ExInitializeRundownProtection(&shared);
    KeInitializeEvent(&wait_returned, NotificationEvent, FALSE);
    assert_true(ExAcquireRundownProtection(&shared));
    pk_test_threads_start(&t, 1, rundown_waiter, NULL);
    /* Until the waiter has started, acquires still succeed; once it has, they fail. The wait is
     * observable through the Count word (bit 0 set), without polling the API itself. */
    while (!(ReadAcquire(&shared.Count) & 1)) {
        LARGE_INTEGER ms = pk_test_timeout_ms(1);
        KeDelayExecutionThread(KernelMode, FALSE, &ms);
    }
    assert_false(ExAcquireRundownProtection(&shared));
    ExReleaseRundownProtection(&shared);
    pk_test_wait_event(&wait_returned);
    pk_test_threads_join(&t);
    assert_false(ExAcquireRundownProtection(&shared));
}

static void rundown_completed_refuses_acquires(void **state)
{
    EX_RUNDOWN_REF r;
    ExInitializeRundownProtection(&r);
    ExRundownCompleted(&r);
    assert_false(ExAcquireRundownProtection(&r));
}

static void rundown_release_without_acquire_is_a_verifier_stop(void **state)
{
    EX_RUNDOWN_REF r;
    pk_test_capture_verifier();
    ExInitializeRundownProtection(&r);
    ExReleaseRundownProtection(&r);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_int_equal(r.Count, 0);
}

/* Holders enter a protected region under rundown protection; a rundown waits and then checks
 * that nobody is inside and nobody gets in afterwards. */
static volatile LONG inside, stop_holders, acquired_total;

static void *rundown_holder(void *arg)
{
    while (!ReadAcquire(&stop_holders)) {
        if (ExAcquireRundownProtection(&shared)) {
            InterlockedIncrement(&inside);
            InterlockedIncrement(&acquired_total);
            InterlockedDecrement(&inside);
            ExReleaseRundownProtection(&shared);
        }
    }
    return NULL;
}

static void rundown_races_with_acquire_and_release_stress(void **state)
{
    for (int round = 0; round < 300; round++) {
        pk_test_threads t;
        ExInitializeRundownProtection(&shared);
        stop_holders = 0;
        inside = 0;
        pk_test_threads_start(&t, 3, rundown_holder, NULL);
        for (LONG seen = ReadAcquire(&acquired_total); ReadAcquire(&acquired_total) < seen + 20;)
            ;
        ExWaitForRundownProtectionRelease(&shared);
        assert_int_equal(ReadAcquire(&inside), 0);
        LONG after = ReadAcquire(&acquired_total);
        KeStallExecutionProcessor(100);
        assert_int_equal(ReadAcquire(&acquired_total), after);
        WriteRelease(&stop_holders, 1);
        pk_test_threads_join(&t);
    }
}

PK_TEST_MAIN(
    PK_TEST(rundown_acquire_and_release_while_open),
    PK_TEST(rundown_wait_without_holders_returns_at_once_and_refuses_later_acquires),
    PK_TEST(rundown_wait_blocks_until_every_holder_released),
    PK_TEST(rundown_refuses_new_acquires_once_the_wait_began),
    PK_TEST(rundown_completed_refuses_acquires),
    PK_TEST(rundown_release_without_acquire_is_a_verifier_stop),
    PK_TEST(rundown_races_with_acquire_and_release_stress),
)
