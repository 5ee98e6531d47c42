/* The emulated IRQL and the verifier's IRQL checks. */
#include "pk_test.h"

#include <string.h>

static void every_thread_starts_at_passive_level(void **state)
{
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

static void *report_thread_irql(void *arg)
{
    *(KIRQL *)arg = KeGetCurrentIrql();
    return NULL;
}

static void raising_irql_is_per_thread(void **state)
{
    KIRQL old, other = 99;
    pthread_t t;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(old, PASSIVE_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    pthread_create(&t, NULL, report_thread_irql, &other);
    pthread_join(t, NULL);
    assert_int_equal(other, PASSIVE_LEVEL);
    KeLowerIrql(old);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_int_equal(KeRaiseIrqlToDpcLevel(), PASSIVE_LEVEL);
    KeLowerIrql(PASSIVE_LEVEL);
}

static void holding_a_spin_lock_raises_to_dispatch_level(void **state)
{
    KSPIN_LOCK lock;
    KIRQL old;
    KeInitializeSpinLock(&lock);
    KeAcquireSpinLock(&lock, &old);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    assert_int_equal(old, PASSIVE_LEVEL);
    KeReleaseSpinLock(&lock, old);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

static void holding_a_fast_mutex_raises_to_apc_level(void **state)
{
    FAST_MUTEX m;
    ExInitializeFastMutex(&m);
    ExAcquireFastMutex(&m);
    assert_int_equal(KeGetCurrentIrql(), APC_LEVEL);
    assert_false(ExTryToAcquireFastMutex(&m));
    ExReleaseFastMutex(&m);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

static void wait_at_dispatch(void *ctx)
{
    KEVENT e;
    KIRQL old;
    KeInitializeEvent(&e, NotificationEvent, FALSE);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, NULL);
}

static void verifier_stops_a_wait_at_dispatch_level(void **state)
{
    char out[1024];
    int status = pk_test_run_in_child(wait_at_dispatch, NULL, out, sizeof(out));
    assert_true(pk_test_died_of_abort(status));
    assert_non_null(strstr(out, "pnpkit verifier stop: KeWaitForSingleObject"));
    assert_non_null(strstr(out, "DISPATCH_LEVEL"));
}

static void rundown_wait_at_dispatch(void *ctx)
{
    EX_RUNDOWN_REF r;
    KIRQL old;
    ExInitializeRundownProtection(&r);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    ExWaitForRundownProtectionRelease(&r);
}

static void verifier_stop_names_the_api_and_both_levels(void **state)
{
    char out[1024];
    int status = pk_test_run_in_child(rundown_wait_at_dispatch, NULL, out, sizeof(out));
    assert_true(pk_test_died_of_abort(status));
    assert_non_null(strstr(out, "ExWaitForRundownProtectionRelease: called at DISPATCH_LEVEL; the documented "
                                "maximum is APC_LEVEL"));
}

static void lower_to_higher(void *ctx) { KeLowerIrql(DISPATCH_LEVEL); }

static void verifier_stops_lowering_irql_to_a_higher_level(void **state)
{
    char out[1024];
    int status = pk_test_run_in_child(lower_to_higher, NULL, out, sizeof(out));
    assert_true(pk_test_died_of_abort(status));
    assert_non_null(strstr(out, "KeLowerIrql"));
}

static void without_verifier_an_api_above_its_irql_returns_invalid_device_request(void **state)
{
    KEVENT e;
    KIRQL old;
    LARGE_INTEGER t = pk_test_timeout_ms(1);
    PnpkitVerifierEnable(FALSE);
    KeInitializeEvent(&e, NotificationEvent, FALSE);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, &t), STATUS_INVALID_DEVICE_REQUEST);
    KeLowerIrql(old);
}

static void verifier_handler_receives_the_stop_instead_of_an_abort(void **state)
{
    KEVENT e;
    KIRQL old;
    pk_test_capture_verifier();
    KeInitializeEvent(&e, NotificationEvent, FALSE);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, NULL), STATUS_INVALID_DEVICE_REQUEST);
    KeLowerIrql(old);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("KeWaitForSingleObject"));
}

static void a_zero_timeout_wait_is_allowed_at_dispatch_level(void **state)
{
    KEVENT e;
    KIRQL old;
    LARGE_INTEGER zero = { .QuadPart = 0 };
    KeInitializeEvent(&e, NotificationEvent, FALSE);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT);
    KeSetEvent(&e, IO_NO_INCREMENT, FALSE);
    assert_int_equal(KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS);
    KeLowerIrql(old);
}

PK_TEST_MAIN(
    PK_TEST(every_thread_starts_at_passive_level),
    PK_TEST(raising_irql_is_per_thread),
    PK_TEST(holding_a_spin_lock_raises_to_dispatch_level),
    PK_TEST(holding_a_fast_mutex_raises_to_apc_level),
    PK_TEST(verifier_stops_a_wait_at_dispatch_level),
    PK_TEST(verifier_stop_names_the_api_and_both_levels),
    PK_TEST(verifier_stops_lowering_irql_to_a_higher_level),
    PK_TEST(without_verifier_an_api_above_its_irql_returns_invalid_device_request),
    PK_TEST(verifier_handler_receives_the_stop_instead_of_an_abort),
    PK_TEST(a_zero_timeout_wait_is_allowed_at_dispatch_level),
)
