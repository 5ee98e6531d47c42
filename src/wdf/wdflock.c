/*
 * wdflock.c — WDFSPINLOCK and WDFWAITLOCK.
 *
 * Both are the driver's own locks, so unlike pnpkit's internal locks they are held across
 * driver code by design. Each object's lock word is a futex word (0 free, 1 held, 2 held and
 * someone may sleep): a spin lock spins briefly and then sleeps like KSPIN_LOCK (pk_lock), a
 * wait lock sleeps with an optional deadline. Nothing polls.
 *
 * `owner` identifies the holding thread (the address of a thread-local variable) so that the
 * verifier can name recursion and foreign releases; it is written by the holder only, and read
 * atomically by others. `old_irql` of a spin lock is written and read by the holder only.
 *
 * Who frees what: nothing beyond the object itself, which the object layer frees.
 */
#include "wdf/wdf_internal.h"

static __thread char tls_token;

static inline uintptr_t this_thread(void) { return (uintptr_t)&tls_token; }

/* =============================================================================================
 * WDFSPINLOCK
 * ============================================================================================= */

typedef struct wdf_spinlock {
    pk_object header;
    pk_lock word;
    uintptr_t owner;   /* this_thread() of the holder, 0 when free */
    KIRQL old_irql;    /* the IRQL of the holder's acquire */
} wdf_spinlock;

static const pk_object_type spinlock_type = { "WDFSPINLOCK", PK_KIND_SPINLOCK, 0, NULL, NULL };

NTSTATUS WdfSpinLockCreate(PWDF_OBJECT_ATTRIBUTES SpinLockAttributes, WDFSPINLOCK *SpinLock)
{
    wdf_spinlock *s;
    NTSTATUS status;

    if (!pk_irql_ok("WdfSpinLockCreate", DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!SpinLock)
        return STATUS_INVALID_PARAMETER;
    status = pk_object_create(&spinlock_type, SpinLockAttributes, NULL, sizeof(*s), "WdfSpinLockCreate", (void **)&s);
    if (!NT_SUCCESS(status))
        return status;
    *SpinLock = (WDFSPINLOCK)pk_object_handle(&s->header);
    pk_object_commit(&s->header);
    return STATUS_SUCCESS;
}

VOID WdfSpinLockAcquire(WDFSPINLOCK SpinLock)
{
    pk_object *o;
    wdf_spinlock *s;
    KIRQL old;

    if (!pk_irql_ok("WdfSpinLockAcquire", DISPATCH_LEVEL))
        return;
    if (!NT_SUCCESS(pk_object_reference_handle((WDFOBJECT)SpinLock, PK_KIND_SPINLOCK, "WdfSpinLockAcquire", &o)))
        return;
    s = CONTAINING_RECORD(o, wdf_spinlock, header);
    if (pk_load_relaxed(&s->owner) == this_thread()) {
        pk_verifier_stop("WdfSpinLockAcquire", "spin lock %p acquired recursively (the thread already holds it)",
                         (void *)SpinLock);
        goto release;
    }
    old = pk_irql_raise(DISPATCH_LEVEL);
    pk_lock_acquire(&s->word);
    s->old_irql = old;
    pk_store_relaxed(&s->owner, this_thread());
release:
    pk_object_dereference(o);
}

VOID WdfSpinLockRelease(WDFSPINLOCK SpinLock)
{
    pk_object *o;
    wdf_spinlock *s;
    uintptr_t owner;
    KIRQL old;

    if (!NT_SUCCESS(pk_object_reference_handle((WDFOBJECT)SpinLock, PK_KIND_SPINLOCK, "WdfSpinLockRelease", &o)))
        return;
    s = CONTAINING_RECORD(o, wdf_spinlock, header);
    owner = pk_load_relaxed(&s->owner);
    if (owner != this_thread()) {
        if (owner == 0)
            pk_verifier_stop("WdfSpinLockRelease", "spin lock %p is not held", (void *)SpinLock);
        else
            pk_verifier_stop("WdfSpinLockRelease", "spin lock %p is held by another thread", (void *)SpinLock);
        goto release;
    }
    if (pk_irql() != DISPATCH_LEVEL)
        pk_verifier_stop("WdfSpinLockRelease", "called at IRQL %u; a held spin lock keeps DISPATCH_LEVEL", pk_irql());
    old = s->old_irql;
    pk_store_relaxed(&s->owner, (uintptr_t)0);
    pk_lock_release(&s->word);
    pk_irql_restore(old);
release:
    pk_object_dereference(o);
}

/* =============================================================================================
 * WDFWAITLOCK
 * ============================================================================================= */

typedef struct wdf_waitlock {
    pk_object header;
    int32_t word;      /* futex word: 0 free, 1 held, 2 held and someone may sleep */
    uintptr_t owner;   /* this_thread() of the holder, 0 when free */
} wdf_waitlock;

static const pk_object_type waitlock_type = { "WDFWAITLOCK", PK_KIND_WAITLOCK, 0, NULL, NULL };

/* Takes the lock word before deadline_ns (UINT64_MAX: no deadline; 0: one try). */
static bool waitlock_take(wdf_waitlock *w, uint64_t deadline_ns, bool try_only)
{
    int32_t c = 0;
    ULONG spins;

    if (__atomic_compare_exchange_n(&w->word, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return true;
    if (try_only)
        return false;
    spins = pk_load_relaxed(&pk_spin_before_wait);
    for (ULONG i = 0; i < spins; i++) {
        c = 0;
        if (pk_load_relaxed(&w->word) == 0 &&
            __atomic_compare_exchange_n(&w->word, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return true;
        pk_cpu_relax();
    }
    /* Announce a sleeper (2) and sleep until the word is free. A waiter that times out leaves
     * the 2 behind: the next release then makes one needless wake call, never a lost one. */
    for (;;) {
        if (__atomic_exchange_n(&w->word, 2, __ATOMIC_ACQUIRE) == 0)
            return true;
        if (deadline_ns == UINT64_MAX) {
            pk_futex_wait(&w->word, 2);
        } else {
            if (pk_now_ns() >= deadline_ns)
                return false;
            pk_futex_wait_until(&w->word, 2, deadline_ns);
        }
    }
}

NTSTATUS WdfWaitLockCreate(PWDF_OBJECT_ATTRIBUTES LockAttributes, WDFWAITLOCK *Lock)
{
    wdf_waitlock *w;
    NTSTATUS status;

    if (!pk_irql_ok("WdfWaitLockCreate", DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!Lock)
        return STATUS_INVALID_PARAMETER;
    status = pk_object_create(&waitlock_type, LockAttributes, NULL, sizeof(*w), "WdfWaitLockCreate", (void **)&w);
    if (!NT_SUCCESS(status))
        return status;
    *Lock = (WDFWAITLOCK)pk_object_handle(&w->header);
    pk_object_commit(&w->header);
    return STATUS_SUCCESS;
}

NTSTATUS WdfWaitLockAcquire(WDFWAITLOCK Lock, PLONGLONG Timeout)
{
    pk_object *o;
    wdf_waitlock *w;
    NTSTATUS status;
    bool try_only = Timeout && *Timeout == 0;

    if (!pk_irql_ok("WdfWaitLockAcquire", try_only ? DISPATCH_LEVEL : PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    status = pk_object_reference_handle((WDFOBJECT)Lock, PK_KIND_WAITLOCK, "WdfWaitLockAcquire", &o);
    if (!NT_SUCCESS(status))
        return status;
    w = CONTAINING_RECORD(o, wdf_waitlock, header);
    if (pk_load_relaxed(&w->owner) == this_thread()) {
        pk_verifier_stop("WdfWaitLockAcquire", "wait lock %p acquired recursively (the thread already holds it)",
                         (void *)Lock);
        status = STATUS_INVALID_DEVICE_REQUEST;
    } else if (waitlock_take(w, Timeout && !try_only ? pk_deadline_from_timeout(*Timeout) : UINT64_MAX, try_only)) {
        pk_store_relaxed(&w->owner, this_thread());
        status = STATUS_SUCCESS;
    } else {
        status = STATUS_TIMEOUT;
    }
    pk_object_dereference(o);
    return status;
}

VOID WdfWaitLockRelease(WDFWAITLOCK Lock)
{
    pk_object *o;
    wdf_waitlock *w;

    if (!pk_irql_ok("WdfWaitLockRelease", DISPATCH_LEVEL))
        return;
    if (!NT_SUCCESS(pk_object_reference_handle((WDFOBJECT)Lock, PK_KIND_WAITLOCK, "WdfWaitLockRelease", &o)))
        return;
    w = CONTAINING_RECORD(o, wdf_waitlock, header);
    if (pk_load_relaxed(&w->word) == 0) {
        pk_verifier_stop("WdfWaitLockRelease", "wait lock %p is not held", (void *)Lock);
        goto release;
    }
    if (pk_load_relaxed(&w->owner) != this_thread())
        pk_verifier_report("WdfWaitLockRelease", "wait lock %p is released by a thread that did not acquire it",
                           (void *)Lock);
    pk_store_relaxed(&w->owner, (uintptr_t)0);
    if (__atomic_exchange_n(&w->word, 0, __ATOMIC_RELEASE) == 2)
        pk_futex_wake(&w->word, 1);
release:
    pk_object_dereference(o);
}
