/* IO_REMOVE_LOCK: acquire and release while the device lives, and IoReleaseRemoveLockAndWait,
 * which refuses new holders and waits for the old ones. */
#include "pk_test.h"

static IO_REMOVE_LOCK lock;
static KEVENT wait_returned;

static void remove_lock_acquire_and_release_while_open(void **state)
{
    IoInitializeRemoveLock(&lock, 'tseT', 0, 0);
    assert_int_equal(lock.Common.IoCount, 1);
    assert_int_equal(IoAcquireRemoveLock(&lock, (PVOID)1), STATUS_SUCCESS);
    assert_int_equal(IoAcquireRemoveLock(&lock, (PVOID)2), STATUS_SUCCESS);
    assert_int_equal(lock.Common.IoCount, 3);
    IoReleaseRemoveLock(&lock, (PVOID)2);
    IoReleaseRemoveLock(&lock, (PVOID)1);
    assert_int_equal(lock.Common.IoCount, 1);
    assert_false(lock.Common.Removed);
}

static void *remover(void *arg)
{
    assert_int_equal(IoAcquireRemoveLock(&lock, (PVOID)99), STATUS_SUCCESS);
    IoReleaseRemoveLockAndWait(&lock, (PVOID)99);
    KeSetEvent(&wait_returned, IO_NO_INCREMENT, FALSE);
    return NULL;
}

static void remove_lock_release_and_wait_waits_for_every_holder(void **state)
{
    LARGE_INTEGER short_wait = pk_test_timeout_ms(20);
    pk_test_threads t;

    IoInitializeRemoveLock(&lock, 'tseT', 0, 0);
    KeInitializeEvent(&wait_returned, NotificationEvent, FALSE);
    for (int i = 0; i < 3; i++)
        assert_int_equal(IoAcquireRemoveLock(&lock, (PVOID)(intptr_t)i), STATUS_SUCCESS);
    pk_test_threads_start(&t, 1, remover, NULL);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(KeWaitForSingleObject(&wait_returned, Executive, KernelMode, FALSE, &short_wait),
                         STATUS_TIMEOUT);
        IoReleaseRemoveLock(&lock, (PVOID)(intptr_t)i);
    }
    pk_test_wait_event(&wait_returned);
    pk_test_threads_join(&t);
    assert_int_equal(lock.Common.IoCount, 0);
}

static void remove_lock_acquire_after_release_and_wait_returns_delete_pending(void **state)
{
    IoInitializeRemoveLock(&lock, 'tseT', 0, 0);
    assert_int_equal(IoAcquireRemoveLock(&lock, NULL), STATUS_SUCCESS);
    IoReleaseRemoveLockAndWait(&lock, NULL); /* no other holder: returns at once */
    assert_true(lock.Common.Removed);
    assert_int_equal(IoAcquireRemoveLock(&lock, NULL), STATUS_DELETE_PENDING);
    assert_int_equal(IoAcquireRemoveLock(&lock, NULL), STATUS_DELETE_PENDING);
    assert_int_equal(lock.Common.IoCount, 0);
}

static void *remover_waiting(void *arg)
{
    IoReleaseRemoveLockAndWait(&lock, NULL);
    KeSetEvent(&wait_returned, IO_NO_INCREMENT, FALSE);
    return NULL;
}

static void remove_lock_refuses_new_holders_while_waiting_for_old_ones(void **state)
{
    pk_test_threads t;

    IoInitializeRemoveLock(&lock, 'tseT', 0, 0);
    KeInitializeEvent(&wait_returned, NotificationEvent, FALSE);
    assert_int_equal(IoAcquireRemoveLock(&lock, (PVOID)1), STATUS_SUCCESS); /* an I/O in progress */
    assert_int_equal(IoAcquireRemoveLock(&lock, NULL), STATUS_SUCCESS);     /* the remove IRP's */
    pk_test_threads_start(&t, 1, remover_waiting, NULL);
    /* Once the remover has begun, new acquires fail; the removed flag is the sign. */
    while (!ReadAcquire(&lock.Common.Removed)) {
        LARGE_INTEGER ms = pk_test_timeout_ms(1);
        KeDelayExecutionThread(KernelMode, FALSE, &ms);
    }
    assert_int_equal(IoAcquireRemoveLock(&lock, (PVOID)2), STATUS_DELETE_PENDING);
    assert_int_equal(KeReadStateEvent(&wait_returned), 0);
    IoReleaseRemoveLock(&lock, (PVOID)1);
    pk_test_wait_event(&wait_returned);
    pk_test_threads_join(&t);
}

static void remove_lock_release_without_acquire_is_a_verifier_stop(void **state)
{
    IoInitializeRemoveLock(&lock, 'tseT', 0, 0);
    pk_test_capture_verifier();
    IoReleaseRemoveLock(&lock, NULL);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("released more often than acquired"));
    assert_int_equal(lock.Common.IoCount, 1);
    /* The lock still works. */
    assert_int_equal(IoAcquireRemoveLock(&lock, NULL), STATUS_SUCCESS);
    IoReleaseRemoveLockAndWait(&lock, NULL);
    assert_int_equal(lock.Common.IoCount, 0);
}

static void remove_lock_release_and_wait_without_holding_or_twice_is_a_verifier_stop(void **state)
{
    IoInitializeRemoveLock(&lock, 'tseT', 0, 0);
    pk_test_capture_verifier();
    IoReleaseRemoveLockAndWait(&lock, NULL);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("without holding"));
    IoReleaseRemoveLockAndWait(&lock, NULL);
    assert_int_equal(pk_test_verifier_stops(), 2);
    assert_true(pk_test_verifier_saw("twice"));
    assert_int_equal(IoAcquireRemoveLock(&lock, NULL), STATUS_DELETE_PENDING);
}

static void remove_lock_with_a_wrong_size_is_a_verifier_stop(void **state)
{
    pk_test_capture_verifier();
    IoInitializeRemoveLockEx(&lock, 0, 0, 0, 8);
    assert_true(pk_test_verifier_saw("RemlockSize"));
    assert_int_equal(IoAcquireRemoveLockEx(&lock, NULL, __FILE__, __LINE__, 8), STATUS_INVALID_PARAMETER);
}

/* Holders enter and leave under the lock while a remover waits: after the wait nobody is
 * inside and nobody gets in. */
static volatile LONG inside, entered, stop_holders;

static void *holder(void *arg)
{
    while (!ReadAcquire(&stop_holders)) {
        if (IoAcquireRemoveLock(&lock, arg) != STATUS_SUCCESS)
            break;
        InterlockedIncrement(&inside);
        InterlockedIncrement(&entered);
        InterlockedDecrement(&inside);
        IoReleaseRemoveLock(&lock, arg);
    }
    return NULL;
}

static void remove_lock_release_and_wait_races_with_holders(void **state)
{
    for (int round = 0; round < 200; round++) {
        pk_test_threads t;
        LONG seen;

        IoInitializeRemoveLock(&lock, 'tseT', 0, 0);
        inside = 0;
        stop_holders = 0;
        pk_test_threads_start(&t, 3, holder, (PVOID)(intptr_t)round);
        for (seen = ReadAcquire(&entered); ReadAcquire(&entered) < seen + 10;)
            ;
        assert_int_equal(IoAcquireRemoveLock(&lock, NULL), STATUS_SUCCESS);
        IoReleaseRemoveLockAndWait(&lock, NULL);
        assert_int_equal(ReadAcquire(&inside), 0);
        assert_int_equal(IoAcquireRemoveLock(&lock, NULL), STATUS_DELETE_PENDING);
        WriteRelease(&stop_holders, 1);
        pk_test_threads_join(&t);
        assert_int_equal(ReadAcquire(&inside), 0);
        assert_int_equal(lock.Common.IoCount, 0);
    }
}

PK_TEST_MAIN(
    PK_TEST(remove_lock_acquire_and_release_while_open),
    PK_TEST(remove_lock_release_and_wait_waits_for_every_holder),
    PK_TEST(remove_lock_acquire_after_release_and_wait_returns_delete_pending),
    PK_TEST(remove_lock_refuses_new_holders_while_waiting_for_old_ones),
    PK_TEST(remove_lock_release_without_acquire_is_a_verifier_stop),
    PK_TEST(remove_lock_release_and_wait_without_holding_or_twice_is_a_verifier_stop),
    PK_TEST(remove_lock_with_a_wrong_size_is_a_verifier_stop),
    PK_TEST(remove_lock_release_and_wait_races_with_holders))
