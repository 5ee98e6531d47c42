/*
 * file.c — file objects: creation, the open (IRP_MJ_CREATE), cleanup (IRP_MJ_CLEANUP) and the
 * close (IRP_MJ_CLOSE) that the last dereference sends, plus IoGetDeviceObjectPointer and
 * IoGetRelatedDeviceObject.
 *
 * A file object's life: PnpkitIoOpenDevice (or PnpkitIoCreateFileObject and
 * PnpkitIoFileObjectOpened) → I/O → PnpkitIoCleanupFileObject → last ObDereferenceObject →
 * close → freed. The IRP for cleanup and close is allocated with the file object and reused,
 * so that neither can fail for lack of memory, as on Windows. While the close is in flight the
 * file object holds one reference of its own (`closed` tells the second last-dereference that
 * only the memory is left to free), so a driver may reference it during the close.
 *
 * Locking: none; `opened`, `cleaned_up` and `closed` are atomic flags, set once. The create,
 * cleanup and close requests are sent with no pnpkit lock held, at PASSIVE_LEVEL (a last
 * dereference above PASSIVE_LEVEL sends the close from a work item).
 *
 * Who frees what: file_free frees the block, the name, the preallocated IRP, and drops the
 * references on the device and the related file object.
 */
#include "io/io_internal.h"

#include <string.h>

static void file_free(io_file *f)
{
    PDEVICE_OBJECT device = f->file.DeviceObject;
    PFILE_OBJECT related = f->file.RelatedFileObject;

    PK_TRACE(PnpkitTraceVerbose, "io", "file object %p freed", (void *)&f->file);
    if (f->irp)
        io_irp_release(f->irp);
    pk_free(f->file.FileName.Buffer);
    __atomic_sub_fetch(&device->ReferenceCount, 1, __ATOMIC_ACQ_REL);
    f->header.magic = IO_OBJECT_DEAD;
    pk_free(f);
    pk_live_add(-1);
    if (related)
        io_object_dereference(related);
    io_object_dereference(device);
}

/* Allocates a file object on device, with an IRP for stack_size locations. */
static NTSTATUS file_alloc(PDEVICE_OBJECT device, PCUNICODE_STRING name, CCHAR stack_size, io_file **out)
{
    io_file *f;

    if (!io_object_is(device, IO_KIND_DEVICE))
        return STATUS_INVALID_PARAMETER;
    if (pk_load_acquire(&io_header_of(device)->deleted))
        return STATUS_NO_SUCH_DEVICE;
    if (name && name->Length && (!name->Buffer || (name->Length & 1)))
        return STATUS_INVALID_PARAMETER;
    f = pk_zalloc(sizeof(*f));
    if (!f)
        return STATUS_INSUFFICIENT_RESOURCES;
    if (name && name->Length) {
        size_t n = name->Length / sizeof(WCHAR);
        f->file.FileName.Buffer = pk_alloc((n + 1) * sizeof(WCHAR));
        if (!f->file.FileName.Buffer)
            goto free_file;
        memcpy(f->file.FileName.Buffer, name->Buffer, name->Length);
        f->file.FileName.Buffer[n] = 0;
        f->file.FileName.Length = name->Length;
        f->file.FileName.MaximumLength = (USHORT)(name->Length + sizeof(WCHAR));
    }
    f->irp = IoAllocateIrp(stack_size, FALSE);
    if (!f->irp)
        goto free_name;

    io_object_init(&f->header, IO_KIND_FILE);
    f->file.Type = IO_TYPE_FILE;
    f->file.Size = (CSHORT)sizeof(FILE_OBJECT);
    f->file.DeviceObject = device;
    KeInitializeEvent(&f->file.Lock, SynchronizationEvent, FALSE);
    KeInitializeEvent(&f->file.Event, NotificationEvent, FALSE);
    KeInitializeSpinLock(&f->file.IrpListLock);
    InitializeListHead(&f->file.IrpList);
    KeInitializeEvent(&f->irp_done, NotificationEvent, FALSE);
    io_object_reference(device);
    __atomic_add_fetch(&device->ReferenceCount, 1, __ATOMIC_ACQ_REL);
    pk_live_add(1);
    *out = f;
    return STATUS_SUCCESS;

free_name:
    pk_free(f->file.FileName.Buffer);
free_file:
    pk_free(f);
    return STATUS_INSUFFICIENT_RESOURCES;
}

/* The device f's requests go to, referenced: the top of its device's stack, or the device
 * itself for a direct open. */
static PDEVICE_OBJECT file_request_device(io_file *f)
{
    if (f->direct) {
        io_object_reference(f->file.DeviceObject);
        return f->file.DeviceObject;
    }
    return IoGetAttachedDeviceReference(f->file.DeviceObject);
}

/* Sends a cleanup or close for f to the top of its device's stack (or, direct, to its device)
 * and waits. */
static NTSTATUS send_file_request(io_file *f, UCHAR major)
{
    PDEVICE_OBJECT top = file_request_device(f);
    PIO_STACK_LOCATION sp;
    NTSTATUS status;
    PIRP irp;

    if (!top)
        return STATUS_NO_SUCH_DEVICE;
    if (f->irp->StackCount < top->StackSize) {
        /* The stack grew after the open; the request needs a bigger IRP. */
        irp = IoAllocateIrp(top->StackSize, FALSE);
        if (!irp) {
            pk_verifier_report(major == IRP_MJ_CLOSE ? "IRP_MJ_CLOSE" : "IRP_MJ_CLEANUP",
                               "no memory for the request of file object %p: not sent", (void *)&f->file);
            io_object_dereference(top);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        io_irp_release(f->irp);
        f->irp = irp;
    }
    irp = f->irp;
    IoReuseIrp(irp, STATUS_SUCCESS);
    irp->Flags = IRP_SYNCHRONOUS_API | (major == IRP_MJ_CLOSE ? IRP_CLOSE_OPERATION : 0);
    irp->Tail.Overlay.OriginalFileObject = &f->file;
    sp = IoGetNextIrpStackLocation(irp);
    sp->MajorFunction = major;
    sp->FileObject = &f->file;
    status = io_irp_send_and_wait(top, irp, &f->irp_done);
    io_object_dereference(top);
    return status;
}

static void file_close(io_file *f)
{
    /* The close's own reference: a driver may reference the file object while closing it. */
    pk_store_release(&f->header.refs, 1);
    if (!__atomic_exchange_n(&f->cleaned_up, 1, __ATOMIC_ACQ_REL)) {
        send_file_request(f, IRP_MJ_CLEANUP);
        f->file.Flags |= FO_CLEANUP_COMPLETE;
    }
    send_file_request(f, IRP_MJ_CLOSE);
    pk_store_release(&f->closed, 1);
    {
        const io_upper_hooks *hooks = pk_load_acquire(&io_hooks);
        if (hooks && hooks->file_closed)
            hooks->file_closed(&f->file);
    }
    io_object_dereference(&f->file);
}

static void close_worker(PVOID context) { file_close(context); }

const io_upper_hooks *io_hooks;

void io_set_upper_hooks(const io_upper_hooks *hooks) { pk_store_release(&io_hooks, hooks); }

void io_file_last_reference(io_file *f)
{
    if (pk_load_acquire(&f->closed) || !pk_load_acquire(&f->opened)) {
        file_free(f);
        return;
    }
    if (pk_irql() > PASSIVE_LEVEL) {
        ExInitializeWorkItem(&f->close_work, close_worker, f);
        pk_work_queue(&f->close_work);
        return;
    }
    file_close(f);
}

NTSTATUS PnpkitIoCreateFileObject(PDEVICE_OBJECT DeviceObject, PCUNICODE_STRING FileName, PFILE_OBJECT *FileObject)
{
    PDEVICE_OBJECT top;
    io_file *f;
    NTSTATUS status;

    if (!pk_irql_ok("PnpkitIoCreateFileObject", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!FileObject || !io_object_is(DeviceObject, IO_KIND_DEVICE))
        return STATUS_INVALID_PARAMETER;
    top = IoGetAttachedDevice(DeviceObject);
    status = file_alloc(DeviceObject, FileName, top->StackSize, &f);
    if (!NT_SUCCESS(status))
        return status;
    *FileObject = &f->file;
    return STATUS_SUCCESS;
}

VOID PnpkitIoFileObjectOpened(PFILE_OBJECT FileObject)
{
    if (!io_object_is(FileObject, IO_KIND_FILE)) {
        pk_verifier_stop("PnpkitIoFileObjectOpened", "%p is not a live file object", (void *)FileObject);
        return;
    }
    FileObject->Flags |= FO_HANDLE_CREATED;
    pk_store_release(&io_file_of(FileObject)->opened, 1);
}

static NTSTATUS open_device(PDEVICE_OBJECT DeviceObject, const PNPKIT_IO_OPEN_PARAMETERS *Parameters,
                            PFILE_OBJECT *FileObject, bool direct, const char *api)
{
    PNPKIT_IO_OPEN_PARAMETERS p = { 0 };
    PDEVICE_OBJECT top;
    PIO_STACK_LOCATION sp;
    ACCESS_MASK access;
    io_file *f;
    NTSTATUS status;
    PIRP irp;

    if (!pk_irql_ok(api, PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!FileObject || !Parameters ||
        (Parameters->Size != sizeof(*Parameters) && Parameters->Size != PNPKIT_IO_OPEN_PARAMETERS_SIZE_V1))
        return STATUS_INVALID_PARAMETER;
    /* An older caller's structure ends before EaBuffer: the rest reads as zero. */
    memcpy(&p, Parameters, Parameters->Size);
    Parameters = &p;
    if (!io_object_is(DeviceObject, IO_KIND_DEVICE) ||
        (Parameters->RelatedFileObject && !io_object_is(Parameters->RelatedFileObject, IO_KIND_FILE)) ||
        (Parameters->EaLength && !Parameters->EaBuffer))
        return STATUS_INVALID_PARAMETER;

    if (!direct) {
        /* The PnP manager marks the bottom of a stack whose start has not completed, or that is
         * being removed: a create cannot reach it then (pnp.md 1.1, "Opening a device"). A
         * direct open comes from a driver of the stack, which may send to the devices below it
         * while the stack starts. */
        PDEVICE_OBJECT base = IoGetDeviceAttachmentBaseRef(DeviceObject);
        ULONG flags = base ? ReadAcquire(&base->DeviceObjectExtension->ExtensionFlags) : 0;
        if (base)
            ObDereferenceObject(base);
        if (flags & DOE_START_PENDING)
            return STATUS_NO_SUCH_DEVICE;
        if (flags & DOE_REMOVE_PENDING)
            return STATUS_DELETE_PENDING;
    }
    if (direct) {
        io_object_reference(DeviceObject);
        top = DeviceObject;
    } else {
        top = IoGetAttachedDeviceReference(DeviceObject);
    }
    status = file_alloc(DeviceObject, Parameters->FileName, top->StackSize, &f);
    if (!NT_SUCCESS(status))
        goto release_top;
    f->direct = direct;
    if (Parameters->RelatedFileObject) {
        io_object_reference(Parameters->RelatedFileObject);
        f->file.RelatedFileObject = Parameters->RelatedFileObject;
    }
    access = Parameters->DesiredAccess;
    f->security.DesiredAccess = access;
    f->security.FullCreateOptions = Parameters->CreateOptions;
    f->file.ReadAccess = (access & (FILE_READ_DATA | GENERIC_READ | GENERIC_ALL)) != 0;
    f->file.WriteAccess = (access & (FILE_WRITE_DATA | FILE_APPEND_DATA | GENERIC_WRITE | GENERIC_ALL)) != 0;
    f->file.DeleteAccess = (access & (DELETE | GENERIC_ALL)) != 0;
    f->file.SharedRead = (Parameters->ShareAccess & FILE_SHARE_READ) != 0;
    f->file.SharedWrite = (Parameters->ShareAccess & FILE_SHARE_WRITE) != 0;
    f->file.SharedDelete = (Parameters->ShareAccess & FILE_SHARE_DELETE) != 0;
    if (Parameters->CreateOptions & (FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT))
        f->file.Flags |= FO_SYNCHRONOUS_IO;

    irp = f->irp;
    irp->Flags = IRP_CREATE_OPERATION | IRP_SYNCHRONOUS_API;
    irp->Tail.Overlay.OriginalFileObject = &f->file;
    sp = IoGetNextIrpStackLocation(irp);
    sp->MajorFunction = IRP_MJ_CREATE;
    sp->FileObject = &f->file;
    sp->Parameters.Create.SecurityContext = &f->security;
    sp->Parameters.Create.Options = (Parameters->CreateDisposition << 24) | (Parameters->CreateOptions & 0x00FFFFFF);
    sp->Parameters.Create.ShareAccess = (USHORT)Parameters->ShareAccess;
    sp->Parameters.Create.EaLength = Parameters->EaLength;
    irp->AssociatedIrp.SystemBuffer = Parameters->EaLength ? Parameters->EaBuffer : NULL;
    status = io_irp_send_and_wait(top, irp, &f->irp_done);
    irp->AssociatedIrp.SystemBuffer = NULL; /* the caller's: the IRP is reused for cleanup and close */
    f->file.FinalStatus = status;
    if (!NT_SUCCESS(status)) {
        PK_TRACE(PnpkitTraceInfo, "io", "create on device %p failed: %s", (void *)DeviceObject, PnpkitStatusName(status));
        io_object_dereference(&f->file); /* not opened: freed without cleanup or close */
        goto release_top;
    }
    PnpkitIoFileObjectOpened(&f->file);
    *FileObject = &f->file;

release_top:
    io_object_dereference(top);
    return status;
}

NTSTATUS PnpkitIoOpenDevice(PDEVICE_OBJECT DeviceObject, const PNPKIT_IO_OPEN_PARAMETERS *Parameters,
                            PFILE_OBJECT *FileObject)
{
    return open_device(DeviceObject, Parameters, FileObject, false, "PnpkitIoOpenDevice");
}

NTSTATUS PnpkitIoOpenDeviceDirect(PDEVICE_OBJECT DeviceObject, const PNPKIT_IO_OPEN_PARAMETERS *Parameters,
                                  PFILE_OBJECT *FileObject)
{
    return open_device(DeviceObject, Parameters, FileObject, true, "PnpkitIoOpenDeviceDirect");
}

NTSTATUS PnpkitIoCleanupFileObject(PFILE_OBJECT FileObject)
{
    io_file *f;
    NTSTATUS status;

    if (!pk_irql_ok("PnpkitIoCleanupFileObject", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!io_object_is(FileObject, IO_KIND_FILE)) {
        pk_verifier_stop("PnpkitIoCleanupFileObject", "%p is not a live file object", (void *)FileObject);
        return STATUS_INVALID_PARAMETER;
    }
    f = io_file_of(FileObject);
    if (!pk_load_acquire(&f->opened)) {
        pk_verifier_stop("PnpkitIoCleanupFileObject", "file object %p was never opened", (void *)FileObject);
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    if (__atomic_exchange_n(&f->cleaned_up, 1, __ATOMIC_ACQ_REL)) {
        pk_verifier_stop("PnpkitIoCleanupFileObject", "file object %p is cleaned up already", (void *)FileObject);
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    status = send_file_request(f, IRP_MJ_CLEANUP);
    FileObject->Flags |= FO_CLEANUP_COMPLETE;
    return status;
}

NTSTATUS IoGetDeviceObjectPointer(PUNICODE_STRING ObjectName, ACCESS_MASK DesiredAccess, PFILE_OBJECT *FileObject,
                                  PDEVICE_OBJECT *DeviceObject)
{
    PNPKIT_IO_OPEN_PARAMETERS parameters;
    PDEVICE_OBJECT device;
    PFILE_OBJECT file;
    NTSTATUS status;

    if (!pk_irql_ok("IoGetDeviceObjectPointer", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!ObjectName || !FileObject || !DeviceObject)
        return STATUS_INVALID_PARAMETER;
    {
        /* Symbolic links of device interfaces belong to the PnP manager. */
        const io_upper_hooks *hooks = pk_load_acquire(&io_hooks);
        if (hooks && hooks->open_by_name) {
            status = hooks->open_by_name(ObjectName, DesiredAccess, &file);
            if (status != STATUS_OBJECT_NAME_NOT_FOUND) {
                if (NT_SUCCESS(status)) {
                    *FileObject = file;
                    *DeviceObject = IoGetRelatedDeviceObject(file);
                }
                return status;
            }
        }
    }
    status = PnpkitIoReferenceDeviceByName(ObjectName, &device);
    if (!NT_SUCCESS(status))
        return status;
    PNPKIT_IO_OPEN_PARAMETERS_INIT(&parameters, DesiredAccess);
    status = PnpkitIoOpenDevice(device, &parameters, &file);
    io_object_dereference(device);
    if (!NT_SUCCESS(status))
        return status;
    /* No handle is kept: the cleanup of the handle Windows opened and closed. */
    PnpkitIoCleanupFileObject(file);
    *FileObject = file;
    *DeviceObject = IoGetRelatedDeviceObject(file);
    return STATUS_SUCCESS;
}

PDEVICE_OBJECT IoGetRelatedDeviceObject(PFILE_OBJECT FileObject)
{
    if (!io_object_is(FileObject, IO_KIND_FILE)) {
        pk_verifier_stop("IoGetRelatedDeviceObject", "%p is not a live file object", (void *)FileObject);
        return NULL;
    }
    /* A direct open's requests go to its device itself (as with a device hint on Windows). */
    if (io_file_of(FileObject)->direct)
        return FileObject->DeviceObject;
    return IoGetAttachedDevice(FileObject->DeviceObject);
}
