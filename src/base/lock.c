/*
 * lock.c — futex helpers, pnpkit's internal lock (pk_lock), and the public spin locks and fast
 * mutexes built on it.
 *
 * The lock word is the futex word: 0 free, 1 held, 2 held and someone may sleep. An acquirer
 * spins pk_spin_before_wait times (a cross-CPU wakeup costs tens of microseconds, far more than
 * a short spin), then sleeps in the kernel. KSPIN_LOCK is pointer-sized; its futex word is the
 * 32-bit half at the lowest address on little-endian machines, and the other half stays zero.
 */
#include "base/base_internal.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "KSPIN_LOCK futex word assumes little-endian");

ULONG pk_spin_before_wait = 100;

VOID PnpkitSetSpinBeforeWait(ULONG Iterations) { pk_store_relaxed(&pk_spin_before_wait, Iterations); }

void pk_futex_wait(volatile void *addr, int32_t expected)
{
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

bool pk_futex_wait_until(volatile void *addr, int32_t expected, uint64_t deadline_ns)
{
    struct timespec ts = { (time_t)(deadline_ns / 1000000000u), (long)(deadline_ns % 1000000000u) };
    long r = syscall(SYS_futex, addr, FUTEX_WAIT_BITSET_PRIVATE, expected, &ts, NULL, FUTEX_BITSET_MATCH_ANY);
    return !(r == -1 && errno == ETIMEDOUT);
}

void pk_futex_wake(volatile void *addr, int count)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}

void pk_lock_acquire_slow(pk_lock *l)
{
    int32_t c;
    ULONG spins = pk_load_relaxed(&pk_spin_before_wait);

    for (ULONG i = 0; i < spins; i++) {
        c = 0;
        if (pk_load_relaxed(&l->word) == 0 &&
            __atomic_compare_exchange_n(&l->word, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return;
        pk_cpu_relax();
    }
    /* Announce a sleeper (2) and sleep until the word is free; taking it as 2 keeps the wake
     * obligation for any other sleeper. */
    c = __atomic_exchange_n(&l->word, 2, __ATOMIC_ACQUIRE);
    while (c != 0) {
        pk_futex_wait(&l->word, 2);
        c = __atomic_exchange_n(&l->word, 2, __ATOMIC_ACQUIRE);
    }
}

/* ---- KSPIN_LOCK ---- */

static inline pk_lock *spin_word(PKSPIN_LOCK l) { return (pk_lock *)(void *)l; }

VOID KeInitializeSpinLock(PKSPIN_LOCK SpinLock)
{
    if (SpinLock)
        *SpinLock = 0;
}

VOID KeAcquireSpinLock(PKSPIN_LOCK SpinLock, PKIRQL OldIrql)
{
    KIRQL old = pk_tls_irql;

    if (old > DISPATCH_LEVEL)
        pk_irql_violation("KeAcquireSpinLock", DISPATCH_LEVEL);
    pk_tls_irql = DISPATCH_LEVEL;
    pk_lock_acquire(spin_word(SpinLock));
    *OldIrql = old;
}

VOID KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql)
{
    if (!pk_lock_is_held(spin_word(SpinLock))) {
        pk_verifier_stop("KeReleaseSpinLock", "the spin lock %p is not held", (void *)SpinLock);
        return;
    }
    pk_lock_release(spin_word(SpinLock));
    if (NewIrql > pk_tls_irql)
        pk_verifier_stop("KeReleaseSpinLock", "NewIrql %u is above the current IRQL %u", NewIrql, pk_tls_irql);
    else
        pk_tls_irql = NewIrql;
}

VOID KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    if (pk_tls_irql != DISPATCH_LEVEL)
        pk_verifier_stop("KeAcquireSpinLockAtDpcLevel", "called at IRQL %u; requires DISPATCH_LEVEL", pk_tls_irql);
    pk_lock_acquire(spin_word(SpinLock));
}

VOID KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock)
{
    if (!pk_lock_is_held(spin_word(SpinLock))) {
        pk_verifier_stop("KeReleaseSpinLockFromDpcLevel", "the spin lock %p is not held", (void *)SpinLock);
        return;
    }
    pk_lock_release(spin_word(SpinLock));
}

BOOLEAN KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    if (pk_tls_irql != DISPATCH_LEVEL)
        pk_verifier_stop("KeTryToAcquireSpinLockAtDpcLevel", "called at IRQL %u; requires DISPATCH_LEVEL",
                         pk_tls_irql);
    return (BOOLEAN)pk_lock_try(spin_word(SpinLock));
}

VOID KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle)
{
    LockHandle->Lock = SpinLock;
    KeAcquireSpinLock(SpinLock, &LockHandle->OldIrql);
}

VOID KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle)
{
    KeReleaseSpinLock(LockHandle->Lock, LockHandle->OldIrql);
}

/* ---- FAST_MUTEX ---- */

static inline pk_lock *mutex_word(PFAST_MUTEX m) { return (pk_lock *)(uintptr_t)&m->Count; }

VOID ExInitializeFastMutex(PFAST_MUTEX FastMutex)
{
    FastMutex->Count = 0;
    FastMutex->Reserved = 0;
    FastMutex->OldIrql = PASSIVE_LEVEL;
}

VOID ExAcquireFastMutex(PFAST_MUTEX FastMutex)
{
    KIRQL old = pk_tls_irql;

    if (old > APC_LEVEL)
        pk_irql_violation("ExAcquireFastMutex", APC_LEVEL);
    pk_lock_acquire(mutex_word(FastMutex));
    FastMutex->OldIrql = old;
    if (pk_tls_irql < APC_LEVEL)
        pk_tls_irql = APC_LEVEL;
}

BOOLEAN ExTryToAcquireFastMutex(PFAST_MUTEX FastMutex)
{
    KIRQL old = pk_tls_irql;

    if (!pk_lock_try(mutex_word(FastMutex)))
        return FALSE;
    FastMutex->OldIrql = old;
    if (pk_tls_irql < APC_LEVEL)
        pk_tls_irql = APC_LEVEL;
    return TRUE;
}

VOID ExReleaseFastMutex(PFAST_MUTEX FastMutex)
{
    KIRQL old = FastMutex->OldIrql;

    if (!pk_lock_is_held(mutex_word(FastMutex))) {
        pk_verifier_stop("ExReleaseFastMutex", "the fast mutex %p is not held", (void *)FastMutex);
        return;
    }
    pk_lock_release(mutex_word(FastMutex));
    pk_tls_irql = old;
}
