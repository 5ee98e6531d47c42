/*
 * remove_lock.c — IO_REMOVE_LOCK: the count of operations in progress on a device that
 * IRP_MN_REMOVE_DEVICE waits for.
 *
 * IoCount starts at one (the lock's own bias) and each acquire adds one. Once Removed is set
 * an acquire backs out and fails with STATUS_DELETE_PENDING. IoReleaseRemoveLockAndWait sets
 * Removed, drops the caller's acquire and the bias, and sleeps on RemoveEvent unless the count
 * reached zero; whoever takes the count to zero sets the event. That is the rundown pattern:
 * no polling, no lock, an acquire that races with the wait either gets in before Removed is
 * seen (and is waited for) or backs out (and may be the one that sets the event).
 *
 * Locking: none; IoCount is atomic and Removed is read and written atomically. Who frees what:
 * the lock lives in the caller's memory (usually the device extension); nothing is allocated.
 */
#include "io/io_internal.h"

static bool size_ok(ULONG size, const char *api)
{
    if (pk_likely(size == sizeof(IO_REMOVE_LOCK)))
        return true;
    pk_verifier_stop(api, "RemlockSize %u is not sizeof(IO_REMOVE_LOCK) (%zu)", size, sizeof(IO_REMOVE_LOCK));
    return false;
}

VOID IoInitializeRemoveLockEx(PIO_REMOVE_LOCK Lock, ULONG AllocateTag, ULONG MaxLockedMinutes, ULONG HighWatermark,
                              ULONG RemlockSize)
{
    if (!Lock || !size_ok(RemlockSize, "IoInitializeRemoveLockEx"))
        return;
    Lock->Common.Removed = FALSE;
    Lock->Common.Reserved[0] = Lock->Common.Reserved[1] = Lock->Common.Reserved[2] = 0;
    KeInitializeEvent(&Lock->Common.RemoveEvent, NotificationEvent, FALSE);
    pk_store_release(&Lock->Common.IoCount, 1);
}

/* Drops one count; the one that reaches zero (only possible once Removed is set) sets the
 * event. Returns the new count. */
static LONG put(PIO_REMOVE_LOCK lock)
{
    LONG left = __atomic_sub_fetch(&lock->Common.IoCount, 1, __ATOMIC_ACQ_REL);
    if (left == 0)
        KeSetEvent(&lock->Common.RemoveEvent, IO_NO_INCREMENT, FALSE);
    return left;
}

NTSTATUS IoAcquireRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, PCSTR File, ULONG Line, ULONG RemlockSize)
{
    if (!pk_irql_ok("IoAcquireRemoveLockEx", DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!RemoveLock || !size_ok(RemlockSize, "IoAcquireRemoveLockEx"))
        return STATUS_INVALID_PARAMETER;
    __atomic_add_fetch(&RemoveLock->Common.IoCount, 1, __ATOMIC_ACQ_REL);
    if (pk_unlikely(__atomic_load_n(&RemoveLock->Common.Removed, __ATOMIC_ACQUIRE))) {
        put(RemoveLock);
        return STATUS_DELETE_PENDING;
    }
    return STATUS_SUCCESS;
}

VOID IoReleaseRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize)
{
    LONG c;

    if (!pk_irql_ok("IoReleaseRemoveLockEx", DISPATCH_LEVEL))
        return;
    if (!RemoveLock || !size_ok(RemlockSize, "IoReleaseRemoveLockEx"))
        return;
    /* The bias keeps the count at one or more until the wait; a release that would take it
     * lower had no matching acquire. Reading the count with acquire makes a Removed set before
     * the wait dropped the bias visible together with the count it left. */
    c = pk_load_acquire(&RemoveLock->Common.IoCount);
    for (;;) {
        LONG floor = __atomic_load_n(&RemoveLock->Common.Removed, __ATOMIC_ACQUIRE) ? 0 : 1;
        if (c <= floor) {
            pk_verifier_stop("IoReleaseRemoveLockEx", "remove lock %p released more often than acquired (tag %p)",
                             (void *)RemoveLock, Tag);
            return;
        }
        if (pk_cas(&RemoveLock->Common.IoCount, &c, c - 1))
            break;
    }
    if (c - 1 == 0)
        KeSetEvent(&RemoveLock->Common.RemoveEvent, IO_NO_INCREMENT, FALSE);
}

VOID IoReleaseRemoveLockAndWaitEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize)
{
    BOOLEAN was_removed;

    if (!pk_irql_ok("IoReleaseRemoveLockAndWaitEx", PASSIVE_LEVEL))
        return;
    if (!RemoveLock || !size_ok(RemlockSize, "IoReleaseRemoveLockAndWaitEx"))
        return;
    was_removed = __atomic_exchange_n(&RemoveLock->Common.Removed, TRUE, __ATOMIC_ACQ_REL);
    if (was_removed) {
        pk_verifier_stop("IoReleaseRemoveLockAndWaitEx", "remove lock %p is released and waited for twice",
                         (void *)RemoveLock);
        return;
    }
    /* The caller's acquire: the bias must remain behind it. */
    if (pk_unlikely(put(RemoveLock) <= 0)) {
        pk_verifier_stop("IoReleaseRemoveLockAndWaitEx", "called without holding remove lock %p (tag %p)",
                         (void *)RemoveLock, Tag);
        return;
    }
    /* The bias. */
    if (put(RemoveLock) > 0)
        KeWaitForSingleObject(&RemoveLock->Common.RemoveEvent, Executive, KernelMode, FALSE, NULL);
}
