/*
 * cancel.c — IRP cancellation: the global cancel spin lock, IoSetCancelRoutine and IoCancelIrp.
 *
 * Windows' protocol, kept as it is because drivers are written against it:
 *   - IoSetCancelRoutine exchanges Irp->CancelRoutine atomically; a driver that takes an IRP
 *     off its queue clears the routine, and a NULL result tells it that the cancel routine owns
 *     the IRP (it has run or is about to).
 *   - IoCancelIrp takes the cancel spin lock, sets Irp->Cancel, exchanges the routine with NULL
 *     and, if there was one, calls it still holding the lock, at DISPATCH_LEVEL. The routine
 *     releases the lock with IoReleaseCancelSpinLock(Irp->CancelIrql). This is the one place
 *     where pnpkit calls driver code under a lock, because the model requires it.
 *
 * Locking: cancel_lock (a KSPIN_LOCK) is the cancel spin lock; drivers may take it to guard
 * their queues of cancelable IRPs. Who frees what: nothing is allocated here.
 */
#include "io/io_internal.h"

static KSPIN_LOCK cancel_lock;

VOID IoAcquireCancelSpinLock(PKIRQL Irql)
{
    if (!Irql) {
        pk_verifier_stop("IoAcquireCancelSpinLock", "Irql is NULL");
        return;
    }
    if (!pk_irql_ok("IoAcquireCancelSpinLock", DISPATCH_LEVEL))
        return;
    KeAcquireSpinLock(&cancel_lock, Irql);
}

VOID IoReleaseCancelSpinLock(KIRQL Irql) { KeReleaseSpinLock(&cancel_lock, Irql); }

PDRIVER_CANCEL IoSetCancelRoutine(PIRP Irp, PDRIVER_CANCEL CancelRoutine)
{
    return __atomic_exchange_n(&Irp->CancelRoutine, CancelRoutine, __ATOMIC_ACQ_REL);
}

BOOLEAN IoCancelIrp(PIRP Irp)
{
    PDRIVER_CANCEL routine;
    PDEVICE_OBJECT device;
    KIRQL irql, entry_irql;

    if (!pk_irql_ok("IoCancelIrp", DISPATCH_LEVEL))
        return FALSE;
    if (!Irp || Irp->Type != IO_TYPE_IRP || Irp->PnpkitPrivate.Magic != IO_IRP_MAGIC) {
        pk_verifier_stop("IoCancelIrp", "%p is not an initialized IRP", (void *)Irp);
        return FALSE;
    }
    if (pk_load_acquire(&Irp->PnpkitPrivate.State) == IO_IRP_FREED) {
        pk_verifier_stop("IoCancelIrp", "IRP %p is freed", (void *)Irp);
        return FALSE;
    }

    entry_irql = pk_irql();
    KeAcquireSpinLock(&cancel_lock, &irql);
    __atomic_store_n(&Irp->Cancel, TRUE, __ATOMIC_RELEASE);
    routine = IoSetCancelRoutine(Irp, NULL);
    if (!routine) {
        KeReleaseSpinLock(&cancel_lock, irql);
        return FALSE;
    }
    /* The routine's owner is the driver whose stack location is current (none before the IRP
     * was first sent). */
    Irp->CancelIrql = irql;
    device = Irp->CurrentLocation >= 1 && Irp->CurrentLocation <= Irp->StackCount
                 ? IoGetCurrentIrpStackLocation(Irp)->DeviceObject : NULL;
    PK_TRACE(PnpkitTraceVerbose, "io", "IRP %p cancelled; cancel routine %p", (void *)Irp, (void *)routine);
    routine(device, Irp);
    if (pk_unlikely(pk_irql() != entry_irql)) {
        /* The routine kept the lock (it cannot have lowered the IRQL without releasing it). */
        pk_verifier_stop("IoCancelIrp", "cancel routine %p returned without IoReleaseCancelSpinLock", (void *)routine);
        KeReleaseSpinLock(&cancel_lock, entry_irql);
    }
    return TRUE;
}
