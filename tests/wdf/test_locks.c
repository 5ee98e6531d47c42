/* WDFSPINLOCK and WDFWAITLOCK. */
#include "pk_test.h"
#include <pnpkit/wdfutil.h>

#include <string.h>

/* ---- Spin locks ---- */

static void spin_lock_raises_to_dispatch_level_and_restores(void **state)
{
    WDFSPINLOCK lock;
    KIRQL old;

    assert_int_equal(WdfSpinLockCreate(WDF_NO_OBJECT_ATTRIBUTES, &lock), STATUS_SUCCESS);
    WdfSpinLockAcquire(lock);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    WdfSpinLockRelease(lock);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);

    /* Acquired at DISPATCH_LEVEL already: released back to DISPATCH_LEVEL. */
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    WdfSpinLockAcquire(lock);
    WdfSpinLockRelease(lock);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeLowerIrql(old);
    WdfObjectDelete(lock);
}

static WDFSPINLOCK shared_spin;
static WDFWAITLOCK shared_wait;
static uint64_t unprotected_counter; /* only touched under the lock under test */

static void *spin_increment(void *arg)
{
    for (int i = 0; i < 20000; i++) {
        WdfSpinLockAcquire(shared_spin);
        unprotected_counter++;
        WdfSpinLockRelease(shared_spin);
    }
    return NULL;
}

static void spin_lock_excludes_other_threads(void **state)
{
    pk_test_threads threads;

    assert_int_equal(WdfSpinLockCreate(NULL, &shared_spin), STATUS_SUCCESS);
    unprotected_counter = 0;
    pk_test_threads_start(&threads, 4, spin_increment, NULL);
    pk_test_threads_join(&threads);
    assert_int_equal(unprotected_counter, 4 * 20000);
    WdfObjectDelete(shared_spin);
}

static void spin_lock_acquired_recursively_is_a_verifier_stop(void **state)
{
    WDFSPINLOCK lock;

    pk_test_capture_verifier();
    assert_int_equal(WdfSpinLockCreate(NULL, &lock), STATUS_SUCCESS);
    WdfSpinLockAcquire(lock);
    WdfSpinLockAcquire(lock); /* would deadlock: stops, and does not acquire */
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("recursively"));
    WdfSpinLockRelease(lock);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    WdfObjectDelete(lock);
}

static void spin_lock_released_when_not_held_is_a_verifier_stop(void **state)
{
    WDFSPINLOCK lock;

    pk_test_capture_verifier();
    assert_int_equal(WdfSpinLockCreate(NULL, &lock), STATUS_SUCCESS);
    WdfSpinLockRelease(lock);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("not held"));
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    WdfObjectDelete(lock);
}

static void *release_foreign_spin(void *arg)
{
    WdfSpinLockRelease(shared_spin);
    return NULL;
}

static void spin_lock_released_by_another_thread_is_a_verifier_stop(void **state)
{
    pk_test_threads threads;

    pk_test_capture_verifier();
    assert_int_equal(WdfSpinLockCreate(NULL, &shared_spin), STATUS_SUCCESS);
    WdfSpinLockAcquire(shared_spin);
    pk_test_threads_start(&threads, 1, release_foreign_spin, NULL);
    pk_test_threads_join(&threads);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("held by another thread"));
    WdfSpinLockRelease(shared_spin); /* still ours */
    assert_int_equal(pk_test_verifier_stops(), 1);
    WdfObjectDelete(shared_spin);
}

static void spin_lock_stops_without_a_handler(void *ctx)
{
    WDFSPINLOCK lock;
    WdfSpinLockCreate(NULL, &lock);
    WdfSpinLockRelease(lock);
}

static void releasing_an_unheld_spin_lock_aborts_under_the_verifier(void **state)
{
    char out[1024];
    int status = pk_test_run_in_child(spin_lock_stops_without_a_handler, NULL, out, sizeof(out));

    assert_true(pk_test_died_of_abort(status));
    assert_non_null(strstr(out, "WdfSpinLockRelease"));
}

static void spin_lock_functions_reject_bad_handles(void **state)
{
    WDFWAITLOCK wait;

    pk_test_capture_verifier();
    assert_int_equal(WdfWaitLockCreate(NULL, &wait), STATUS_SUCCESS);
    WdfSpinLockAcquire((WDFSPINLOCK)wait);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    WdfSpinLockRelease((WDFSPINLOCK)wait);
    assert_int_equal(pk_test_verifier_reports(), 2);
    assert_int_equal(WdfSpinLockCreate(NULL, NULL), STATUS_INVALID_PARAMETER);
    WdfObjectDelete(wait);
}

/* ---- Wait locks ---- */

static void wait_lock_acquire_without_timeout_takes_a_free_lock(void **state)
{
    WDFWAITLOCK lock;

    assert_int_equal(WdfWaitLockCreate(NULL, &lock), STATUS_SUCCESS);
    assert_int_equal(WdfWaitLockAcquire(lock, NULL), STATUS_SUCCESS);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL); /* a wait lock does not raise */
    WdfWaitLockRelease(lock);
    WdfObjectDelete(lock);
}

static KEVENT holder_has_it, holder_may_release;

static void *hold_wait_lock(void *arg)
{
    assert_int_equal(WdfWaitLockAcquire(shared_wait, NULL), STATUS_SUCCESS);
    KeSetEvent(&holder_has_it, 0, FALSE);
    pk_test_wait_event(&holder_may_release);
    WdfWaitLockRelease(shared_wait);
    return NULL;
}

static void wait_lock_times_out_when_held(void **state)
{
    pk_test_threads threads;
    LONGLONG timeout = WDF_REL_TIMEOUT_IN_MS(30), zero = 0;
    uint64_t start;

    assert_int_equal(WdfWaitLockCreate(NULL, &shared_wait), STATUS_SUCCESS);
    KeInitializeEvent(&holder_has_it, NotificationEvent, FALSE);
    KeInitializeEvent(&holder_may_release, NotificationEvent, FALSE);
    pk_test_threads_start(&threads, 1, hold_wait_lock, NULL);
    pk_test_wait_event(&holder_has_it);

    start = pk_test_now_ms();
    assert_int_equal(WdfWaitLockAcquire(shared_wait, &timeout), STATUS_TIMEOUT);
    assert_true(pk_test_now_ms() - start >= 29);
    assert_int_equal(WdfWaitLockAcquire(shared_wait, &zero), STATUS_TIMEOUT);

    KeSetEvent(&holder_may_release, 0, FALSE);
    pk_test_threads_join(&threads);
    assert_int_equal(WdfWaitLockAcquire(shared_wait, &zero), STATUS_SUCCESS);
    WdfWaitLockRelease(shared_wait);
    WdfObjectDelete(shared_wait);
}

static void wait_lock_waiter_gets_the_lock_when_it_is_released(void **state)
{
    pk_test_threads threads;
    LONGLONG timeout = WDF_REL_TIMEOUT_IN_SEC(10);

    assert_int_equal(WdfWaitLockCreate(NULL, &shared_wait), STATUS_SUCCESS);
    KeInitializeEvent(&holder_has_it, NotificationEvent, FALSE);
    KeInitializeEvent(&holder_may_release, NotificationEvent, FALSE);
    pk_test_threads_start(&threads, 1, hold_wait_lock, NULL);
    pk_test_wait_event(&holder_has_it);
    KeSetEvent(&holder_may_release, 0, FALSE); /* released while (or before) we wait */
    assert_int_equal(WdfWaitLockAcquire(shared_wait, &timeout), STATUS_SUCCESS);
    WdfWaitLockRelease(shared_wait);
    pk_test_threads_join(&threads);
    WdfObjectDelete(shared_wait);
}

static void wait_lock_try_at_dispatch_level_is_allowed(void **state)
{
    WDFWAITLOCK lock;
    LONGLONG zero = 0;
    KIRQL old;

    assert_int_equal(WdfWaitLockCreate(NULL, &lock), STATUS_SUCCESS);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(WdfWaitLockAcquire(lock, &zero), STATUS_SUCCESS);
    WdfWaitLockRelease(lock);
    KeLowerIrql(old);
    WdfObjectDelete(lock);
}

static void wait_lock_wait_at_dispatch_level_is_a_verifier_stop(void **state)
{
    WDFWAITLOCK lock;
    LONGLONG timeout = WDF_REL_TIMEOUT_IN_MS(1);
    KIRQL old;

    pk_test_capture_verifier();
    assert_int_equal(WdfWaitLockCreate(NULL, &lock), STATUS_SUCCESS);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(WdfWaitLockAcquire(lock, NULL), STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(WdfWaitLockAcquire(lock, &timeout), STATUS_INVALID_DEVICE_REQUEST);
    KeLowerIrql(old);
    assert_int_equal(pk_test_verifier_stops(), 2);
    assert_true(pk_test_verifier_saw("WdfWaitLockAcquire"));
    WdfObjectDelete(lock);
}

static void wait_lock_acquired_recursively_is_a_verifier_stop(void **state)
{
    WDFWAITLOCK lock;
    LONGLONG zero = 0;

    pk_test_capture_verifier();
    assert_int_equal(WdfWaitLockCreate(NULL, &lock), STATUS_SUCCESS);
    assert_int_equal(WdfWaitLockAcquire(lock, NULL), STATUS_SUCCESS);
    assert_int_equal(WdfWaitLockAcquire(lock, NULL), STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(WdfWaitLockAcquire(lock, &zero), STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(pk_test_verifier_stops(), 2);
    WdfWaitLockRelease(lock);
    WdfObjectDelete(lock);
}

static void wait_lock_released_when_not_held_is_a_verifier_stop(void **state)
{
    WDFWAITLOCK lock;

    pk_test_capture_verifier();
    assert_int_equal(WdfWaitLockCreate(NULL, &lock), STATUS_SUCCESS);
    WdfWaitLockRelease(lock);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("not held"));
    WdfObjectDelete(lock);
}

static void *release_foreign_wait(void *arg)
{
    WdfWaitLockRelease(shared_wait);
    return NULL;
}

static void wait_lock_released_by_another_thread_is_reported_and_released(void **state)
{
    pk_test_threads threads;
    LONGLONG zero = 0;

    pk_test_capture_verifier();
    assert_int_equal(WdfWaitLockCreate(NULL, &shared_wait), STATUS_SUCCESS);
    assert_int_equal(WdfWaitLockAcquire(shared_wait, NULL), STATUS_SUCCESS);
    pk_test_threads_start(&threads, 1, release_foreign_wait, NULL);
    pk_test_threads_join(&threads);
    assert_int_equal(pk_test_verifier_reports(), 1);
    assert_int_equal(pk_test_verifier_stops(), 0);
    assert_int_equal(WdfWaitLockAcquire(shared_wait, &zero), STATUS_SUCCESS);
    WdfWaitLockRelease(shared_wait);
    WdfObjectDelete(shared_wait);
}

static void *wait_increment(void *arg)
{
    for (int i = 0; i < 5000; i++) {
        assert_int_equal(WdfWaitLockAcquire(shared_wait, NULL), STATUS_SUCCESS);
        unprotected_counter++;
        WdfWaitLockRelease(shared_wait);
    }
    return NULL;
}

static void *wait_increment_with_timeouts(void *arg)
{
    int done = 0;
    while (done < 5000) {
        LONGLONG timeout = WDF_REL_TIMEOUT_IN_US(50);
        NTSTATUS status = WdfWaitLockAcquire(shared_wait, &timeout);
        if (status == STATUS_TIMEOUT)
            continue;
        assert_int_equal(status, STATUS_SUCCESS);
        unprotected_counter++;
        done++;
        WdfWaitLockRelease(shared_wait);
    }
    return NULL;
}

static void wait_lock_excludes_other_threads_including_timed_waiters(void **state)
{
    pk_test_threads plain, timed;

    assert_int_equal(WdfWaitLockCreate(NULL, &shared_wait), STATUS_SUCCESS);
    unprotected_counter = 0;
    pk_test_threads_start(&plain, 3, wait_increment, NULL);
    pk_test_threads_start(&timed, 3, wait_increment_with_timeouts, NULL);
    pk_test_threads_join(&plain);
    pk_test_threads_join(&timed);
    assert_int_equal(unprotected_counter, 6 * 5000);
    WdfObjectDelete(shared_wait);
}

static void lock_objects_are_deleted_with_their_parent(void **state)
{
    WDF_OBJECT_ATTRIBUTES a;
    WDFOBJECT parent;
    WDFSPINLOCK spin;
    WDFWAITLOCK wait;

    assert_int_equal(WdfObjectCreate(NULL, &parent), STATUS_SUCCESS);
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.ParentObject = parent;
    assert_int_equal(WdfSpinLockCreate(&a, &spin), STATUS_SUCCESS);
    assert_int_equal(WdfWaitLockCreate(&a, &wait), STATUS_SUCCESS);
    assert_int_equal(WdfWaitLockCreate(NULL, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(PnpkitLiveObjectCount(), 3);
    WdfObjectDelete(parent);
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

PK_TEST_MAIN(
    PK_TEST(spin_lock_raises_to_dispatch_level_and_restores),
    PK_TEST(spin_lock_excludes_other_threads),
    PK_TEST(spin_lock_acquired_recursively_is_a_verifier_stop),
    PK_TEST(spin_lock_released_when_not_held_is_a_verifier_stop),
    PK_TEST(spin_lock_released_by_another_thread_is_a_verifier_stop),
    PK_TEST(releasing_an_unheld_spin_lock_aborts_under_the_verifier),
    PK_TEST(spin_lock_functions_reject_bad_handles),
    PK_TEST(wait_lock_acquire_without_timeout_takes_a_free_lock),
    PK_TEST(wait_lock_times_out_when_held),
    PK_TEST(wait_lock_waiter_gets_the_lock_when_it_is_released),
    PK_TEST(wait_lock_try_at_dispatch_level_is_allowed),
    PK_TEST(wait_lock_wait_at_dispatch_level_is_a_verifier_stop),
    PK_TEST(wait_lock_acquired_recursively_is_a_verifier_stop),
    PK_TEST(wait_lock_released_when_not_held_is_a_verifier_stop),
    PK_TEST(wait_lock_released_by_another_thread_is_reported_and_released),
    PK_TEST(wait_lock_excludes_other_threads_including_timed_waiters),
    PK_TEST(lock_objects_are_deleted_with_their_parent)
)
