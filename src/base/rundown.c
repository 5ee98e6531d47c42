/*
 * rundown.c — rundown protection (EX_RUNDOWN_REF), with Windows' semantics.
 *
 * Count encodes the whole state in one word, changed only by compare-and-swap:
 *   - open:      (holders << 1), bit 0 clear;
 *   - running down with holders: address of the waiter's wait block | 1; the wait block (on
 *     the waiter's stack) counts the holders still to release;
 *   - complete:  1.
 * The last holder to release decrements the wait block to zero and wakes the waiter through the
 * futex on that counter. The waiter re-checks the counter after every wake, so a late wake that
 * lands on the dead stack slot of a finished wait is harmless.
 */
#include "base/base_internal.h"

#define RUNDOWN_ACTIVE ((ULONG_PTR)1)

typedef struct rundown_wait_block {
    int32_t remaining; /* futex word: holders that have not released yet */
} rundown_wait_block;

VOID ExInitializeRundownProtection(PEX_RUNDOWN_REF RunRef) { __atomic_store_n(&RunRef->Count, 0, __ATOMIC_RELEASE); }

VOID ExReInitializeRundownProtection(PEX_RUNDOWN_REF RunRef) { __atomic_store_n(&RunRef->Count, 0, __ATOMIC_RELEASE); }

BOOLEAN ExAcquireRundownProtectionEx(PEX_RUNDOWN_REF RunRef, ULONG Count)
{
    ULONG_PTR c = __atomic_load_n(&RunRef->Count, __ATOMIC_RELAXED);

    for (;;) {
        if (c & RUNDOWN_ACTIVE)
            return FALSE;
        if (__atomic_compare_exchange_n(&RunRef->Count, &c, c + ((ULONG_PTR)Count << 1), 1, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return TRUE;
    }
}

BOOLEAN ExAcquireRundownProtection(PEX_RUNDOWN_REF RunRef) { return ExAcquireRundownProtectionEx(RunRef, 1); }

VOID ExReleaseRundownProtectionEx(PEX_RUNDOWN_REF RunRef, ULONG Count)
{
    /* Acquire: a wait block published by the waiter must be visible before we touch it. */
    ULONG_PTR c = __atomic_load_n(&RunRef->Count, __ATOMIC_ACQUIRE);

    for (;;) {
        if (c & RUNDOWN_ACTIVE) {
            rundown_wait_block *wb = (rundown_wait_block *)(c & ~RUNDOWN_ACTIVE);
            if (!wb) {
                pk_verifier_stop("ExReleaseRundownProtection", "release after the rundown completed");
                return;
            }
            if (__atomic_sub_fetch(&wb->remaining, (int32_t)Count, __ATOMIC_ACQ_REL) == 0)
                pk_futex_wake(&wb->remaining, 1);
            return;
        }
        if ((c >> 1) < Count) {
            pk_verifier_stop("ExReleaseRundownProtection", "release without a matching acquire");
            return;
        }
        if (__atomic_compare_exchange_n(&RunRef->Count, &c, c - ((ULONG_PTR)Count << 1), 1, __ATOMIC_RELEASE,
                                        __ATOMIC_ACQUIRE))
            return;
    }
}

VOID ExReleaseRundownProtection(PEX_RUNDOWN_REF RunRef) { ExReleaseRundownProtectionEx(RunRef, 1); }

VOID ExWaitForRundownProtectionRelease(PEX_RUNDOWN_REF RunRef)
{
    rundown_wait_block wb;
    ULONG_PTR c = __atomic_load_n(&RunRef->Count, __ATOMIC_RELAXED);

    if (!pk_irql_ok("ExWaitForRundownProtectionRelease", APC_LEVEL))
        return;
    for (;;) {
        if (c == RUNDOWN_ACTIVE)
            return; /* already run down */
        if (c & RUNDOWN_ACTIVE) {
            pk_verifier_stop("ExWaitForRundownProtectionRelease", "another thread is already waiting");
            return;
        }
        if (c == 0) {
            if (__atomic_compare_exchange_n(&RunRef->Count, &c, RUNDOWN_ACTIVE, 1, __ATOMIC_ACQ_REL,
                                            __ATOMIC_RELAXED))
                return;
            continue;
        }
        __atomic_store_n(&wb.remaining, (int32_t)(c >> 1), __ATOMIC_RELAXED);
        if (__atomic_compare_exchange_n(&RunRef->Count, &c, (ULONG_PTR)&wb | RUNDOWN_ACTIVE, 1, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
            break;
    }
    for (;;) {
        int32_t r = __atomic_load_n(&wb.remaining, __ATOMIC_ACQUIRE);
        if (r == 0)
            break;
        pk_futex_wait(&wb.remaining, r);
    }
    __atomic_store_n(&RunRef->Count, RUNDOWN_ACTIVE, __ATOMIC_RELEASE);
}

VOID ExRundownCompleted(PEX_RUNDOWN_REF RunRef) { __atomic_store_n(&RunRef->Count, RUNDOWN_ACTIVE, __ATOMIC_RELEASE); }
