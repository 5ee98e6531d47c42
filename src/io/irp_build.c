/*
 * irp_build.c — IRPs the I/O manager builds, finishes and frees (IoBuildDeviceIoControlRequest,
 * IoBuildSynchronousFsdRequest), and MDLs (IoAllocateMdl, IoFreeMdl).
 *
 * A built IRP carries IO_IRP_ALLOC_THREADED. When its completion passes the top of its stack,
 * complete_walk (irp.c) calls io_threaded_irp_finish on the completing thread: it copies a
 * buffered output back to the caller's buffer, frees the system buffer and the MDLs, writes
 * the caller's I/O status block, frees the IRP and sets the caller's event, in that order,
 * because the waiter may return (and its event and status block go away) the moment the event
 * is set.
 *
 * Locking: none. Who frees what: the system buffer (IRP_DEALLOCATE_BUFFER), the MDL chain and
 * the IRP are freed by io_threaded_irp_finish; an MDL from IoAllocateMdl without an IRP by
 * IoFreeMdl.
 */
#include "io/io_internal.h"

#include <string.h>

#define IO_PAGE_SIZE 4096u

PMDL IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer, BOOLEAN ChargeQuota, PIRP Irp)
{
    PMDL mdl;

    if (!pk_irql_ok("IoAllocateMdl", DISPATCH_LEVEL) || Length == 0)
        return NULL;
    mdl = pk_zalloc(sizeof(*mdl));
    if (!mdl)
        return NULL;
    mdl->Size = (CSHORT)sizeof(*mdl);
    mdl->StartVa = (PVOID)((uintptr_t)VirtualAddress & ~(uintptr_t)(IO_PAGE_SIZE - 1));
    mdl->ByteOffset = (ULONG)((uintptr_t)VirtualAddress & (IO_PAGE_SIZE - 1));
    mdl->ByteCount = Length;
    if (Irp) {
        if (SecondaryBuffer && Irp->MdlAddress) {
            PMDL last = Irp->MdlAddress;
            while (last->Next)
                last = last->Next;
            last->Next = mdl;
        } else {
            Irp->MdlAddress = mdl;
        }
    }
    pk_live_add(1);
    return mdl;
}

VOID IoFreeMdl(PMDL Mdl)
{
    if (!Mdl)
        return;
    pk_free(Mdl);
    pk_live_add(-1);
}

void io_threaded_irp_finish(PIRP irp)
{
    PVOID system_buffer = irp->AssociatedIrp.SystemBuffer;
    ULONG_PTR output_length = irp->PnpkitPrivate.Reserved;
    PKEVENT event = irp->UserEvent;

    if ((irp->Flags & IRP_BUFFERED_IO) && (irp->Flags & IRP_INPUT_OPERATION) && !NT_ERROR(irp->IoStatus.Status) &&
        irp->UserBuffer && system_buffer) {
        ULONG_PTR n = irp->IoStatus.Information;
        if (n > output_length) {
            pk_verifier_stop("IoCompleteRequest", "IRP %p: Information %zu exceeds the output buffer of %zu bytes",
                             (void *)irp, (size_t)n, (size_t)output_length);
            n = output_length;
        }
        memcpy(irp->UserBuffer, system_buffer, n);
    }
    if (irp->Flags & IRP_DEALLOCATE_BUFFER)
        pk_free(system_buffer);
    for (PMDL mdl = irp->MdlAddress, next; mdl; mdl = next) {
        next = mdl->Next;
        IoFreeMdl(mdl);
    }
    if (irp->UserIosb)
        *irp->UserIosb = irp->IoStatus;
    io_irp_release(irp);
    if (event)
        KeSetEvent(event, IO_NO_INCREMENT, FALSE);
}

/* Allocates the IRP of a built request for device's stack; NULL on failure. */
static PIRP new_threaded_irp(PDEVICE_OBJECT device, PKEVENT event, PIO_STATUS_BLOCK iosb)
{
    PIRP irp = IoAllocateIrp(device->StackSize, FALSE);

    if (!irp)
        return NULL;
    irp->AllocationFlags |= IO_IRP_ALLOC_THREADED;
    irp->Flags |= IRP_SYNCHRONOUS_API;
    irp->UserIosb = iosb;
    irp->UserEvent = event;
    return irp;
}

/* Undoes a built request that could not be completed: buffers, MDLs, the IRP. */
static void discard_threaded_irp(PIRP irp)
{
    if (irp->Flags & IRP_DEALLOCATE_BUFFER)
        pk_free(irp->AssociatedIrp.SystemBuffer);
    for (PMDL mdl = irp->MdlAddress, next; mdl; mdl = next) {
        next = mdl->Next;
        IoFreeMdl(mdl);
    }
    io_irp_release(irp);
}

/* Gives irp a system buffer of size bytes, with the first copy_length bytes from source and
 * the rest zeroed. */
static bool attach_system_buffer(PIRP irp, ULONG size, PVOID source, ULONG copy_length, ULONG flags)
{
    PUCHAR buffer = pk_alloc(size);

    if (!buffer)
        return false;
    if (copy_length)
        memcpy(buffer, source, copy_length);
    memset(buffer + copy_length, 0, size - copy_length);
    irp->AssociatedIrp.SystemBuffer = buffer;
    irp->Flags |= IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER | flags;
    return true;
}

static bool attach_mdl(PIRP irp, PVOID buffer, ULONG length)
{
    PMDL mdl = IoAllocateMdl(buffer, length, FALSE, FALSE, irp);

    if (!mdl)
        return false;
    MmProbeAndLockPages(mdl, KernelMode, IoModifyAccess);
    return true;
}

PIRP IoBuildDeviceIoControlRequest(ULONG IoControlCode, PDEVICE_OBJECT DeviceObject, PVOID InputBuffer,
                                   ULONG InputBufferLength, PVOID OutputBuffer, ULONG OutputBufferLength,
                                   BOOLEAN InternalDeviceIoControl, PKEVENT Event, PIO_STATUS_BLOCK IoStatusBlock)
{
    PIO_STACK_LOCATION sp;
    PIRP irp;

    if (!pk_irql_ok("IoBuildDeviceIoControlRequest", PASSIVE_LEVEL))
        return NULL;
    if (!io_object_is(DeviceObject, IO_KIND_DEVICE) || !IoStatusBlock || (!InputBuffer && InputBufferLength) ||
        (!OutputBuffer && OutputBufferLength))
        return NULL;
    irp = new_threaded_irp(DeviceObject, Event, IoStatusBlock);
    if (!irp)
        return NULL;
    sp = IoGetNextIrpStackLocation(irp);
    sp->MajorFunction = InternalDeviceIoControl ? IRP_MJ_INTERNAL_DEVICE_CONTROL : IRP_MJ_DEVICE_CONTROL;
    sp->Parameters.DeviceIoControl.OutputBufferLength = OutputBufferLength;
    sp->Parameters.DeviceIoControl.InputBufferLength = InputBufferLength;
    sp->Parameters.DeviceIoControl.IoControlCode = IoControlCode;

    switch (METHOD_FROM_CTL_CODE(IoControlCode)) {
    case METHOD_BUFFERED: {
        ULONG size = InputBufferLength > OutputBufferLength ? InputBufferLength : OutputBufferLength;
        if (size && !attach_system_buffer(irp, size, InputBuffer, InputBufferLength,
                                          OutputBufferLength ? IRP_INPUT_OPERATION : 0))
            goto discard;
        irp->UserBuffer = OutputBuffer;
        irp->PnpkitPrivate.Reserved = OutputBufferLength;
        break;
    }
    case METHOD_IN_DIRECT:
    case METHOD_OUT_DIRECT:
        if (InputBufferLength && !attach_system_buffer(irp, InputBufferLength, InputBuffer, InputBufferLength, 0))
            goto discard;
        if (OutputBufferLength && !attach_mdl(irp, OutputBuffer, OutputBufferLength))
            goto discard;
        break;
    default: /* METHOD_NEITHER */
        sp->Parameters.DeviceIoControl.Type3InputBuffer = InputBuffer;
        irp->UserBuffer = OutputBuffer;
        break;
    }
    return irp;

discard:
    discard_threaded_irp(irp);
    return NULL;
}

PIRP IoBuildSynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject, PVOID Buffer, ULONG Length,
                                  PLARGE_INTEGER StartingOffset, PKEVENT Event, PIO_STATUS_BLOCK IoStatusBlock)
{
    PIO_STACK_LOCATION sp;
    PIRP irp;

    if (!pk_irql_ok("IoBuildSynchronousFsdRequest", PASSIVE_LEVEL))
        return NULL;
    switch (MajorFunction) {
    case IRP_MJ_READ:
    case IRP_MJ_WRITE:
    case IRP_MJ_FLUSH_BUFFERS:
    case IRP_MJ_SHUTDOWN:
    case IRP_MJ_PNP:
    case IRP_MJ_POWER:
        break;
    default:
        return NULL;
    }
    if (!io_object_is(DeviceObject, IO_KIND_DEVICE) || !IoStatusBlock)
        return NULL;
    if ((MajorFunction == IRP_MJ_READ || MajorFunction == IRP_MJ_WRITE) && !Buffer && Length)
        return NULL;
    irp = new_threaded_irp(DeviceObject, Event, IoStatusBlock);
    if (!irp)
        return NULL;
    sp = IoGetNextIrpStackLocation(irp);
    sp->MajorFunction = (UCHAR)MajorFunction;
    if (MajorFunction == IRP_MJ_READ || MajorFunction == IRP_MJ_WRITE) {
        bool read = MajorFunction == IRP_MJ_READ;
        /* Read and Write share one layout. */
        sp->Parameters.Read.Length = Length;
        sp->Parameters.Read.ByteOffset.QuadPart = StartingOffset ? StartingOffset->QuadPart : 0;
        irp->Flags |= read ? IRP_READ_OPERATION : IRP_WRITE_OPERATION;
        if ((DeviceObject->Flags & DO_BUFFERED_IO) && Length) {
            if (!attach_system_buffer(irp, Length, read ? NULL : Buffer, read ? 0 : Length,
                                      read ? IRP_INPUT_OPERATION : 0))
                goto discard;
            irp->UserBuffer = Buffer;
            irp->PnpkitPrivate.Reserved = Length;
        } else if ((DeviceObject->Flags & DO_DIRECT_IO) && Length) {
            if (!attach_mdl(irp, Buffer, Length))
                goto discard;
        } else {
            irp->UserBuffer = Buffer;
        }
    }
    return irp;

discard:
    discard_threaded_irp(irp);
    return NULL;
}
