/*
 * fileobject.c — WDFFILEOBJECT and the framework's handling of IRP_MJ_CREATE, IRP_MJ_CLEANUP and
 * IRP_MJ_CLOSE (seed 003, io.md 1.1 and 1.2): the file-object configuration check, the open
 * count and exclusive devices, the create / cleanup / close callbacks, AutoForwardCleanupClose,
 * and the balance rule toward the local I/O target.
 *
 * Locking: dev->file_lock protects dev->files (the WDFFILEOBJECTs of open file objects, the
 * only index for class 4 and the one the framework trusts for every class: a lower WDF driver
 * may overwrite FsContext). dev->open_count is atomic. No lock is held while a callback runs,
 * except the device's passive callback lock when the file-object SynchronizationScope is Device.
 *
 * Who frees what: a WDFFILEOBJECT's creation reference is dropped by pk_object_delete at
 * IRP_MJ_CLOSE, or at once when its create fails; its parent is the device, so the device's
 * removal deletes file objects whose close never came. A request that carries a create holds a
 * reference on its file object until the create completes.
 */
#include "wdf/wdf_internal.h"

/* ---- Configuration ---- */

bool wdf_file_config_ok(const WDF_FILEOBJECT_CONFIG *c, const WDF_OBJECT_ATTRIBUTES *a, const char *api)
{
    ULONG cls;

    if (!c || c->Size != sizeof(WDF_FILEOBJECT_CONFIG)) {
        pk_verifier_stop(api, "WDF_FILEOBJECT_CONFIG is NULL or its Size is %u, not %zu: the configuration is ignored",
                         c ? c->Size : 0, sizeof(WDF_FILEOBJECT_CONFIG));
        return false;
    }
    if (a && (a->Size != sizeof(WDF_OBJECT_ATTRIBUTES) || a->ParentObject)) {
        pk_verifier_stop(api, "the file-object attributes have a wrong Size or a ParentObject: the configuration is "
                              "ignored");
        return false;
    }
    if ((unsigned)c->AutoForwardCleanupClose > (unsigned)WdfUseDefault) {
        pk_verifier_stop(api, "AutoForwardCleanupClose %d is not a WDF_TRI_STATE: the configuration is ignored",
                         (int)c->AutoForwardCleanupClose);
        return false;
    }
    cls = (ULONG)c->FileObjectClass & ~(ULONG)WdfFileObjectCanBeOptional;
    if (cls == WdfFileObjectInvalid || cls > WdfFileObjectWdfCannotUseFsContexts) {
        pk_verifier_stop(api, "FileObjectClass 0x%x is not a WDF_FILEOBJECT_CLASS: the configuration is ignored",
                         (unsigned)c->FileObjectClass);
        return false;
    }
    if (cls == WdfFileObjectNotRequired && ((ULONG)c->FileObjectClass & (ULONG)WdfFileObjectCanBeOptional)) {
        pk_verifier_stop(api, "WdfFileObjectCanBeOptional cannot be combined with WdfFileObjectNotRequired: the "
                              "configuration is ignored");
        return false;
    }
    return true;
}

/* ---- The object ---- */

static void file_dispose(pk_object *o);

static const pk_object_type file_type = { "WDFFILEOBJECT", PK_KIND_FILEOBJECT, PK_OBJTYPE_NO_CLIENT_DELETE,
                                          file_dispose, NULL };

static void unlink_file(wdf_fileobject *f)
{
    wdf_device *dev = f->device;

    pk_lock_acquire(&dev->file_lock);
    if (f->in_list) {
        RemoveEntryList(&f->link);
        f->in_list = false;
    }
    pk_lock_release(&dev->file_lock);
    if (f->wdm) {
        if (dev->file_class == WdfFileObjectWdfCanUseFsContext && f->wdm->FsContext == pk_object_handle(&f->header))
            f->wdm->FsContext = NULL;
        if (dev->file_class == WdfFileObjectWdfCanUseFsContext2 && f->wdm->FsContext2 == pk_object_handle(&f->header))
            f->wdm->FsContext2 = NULL;
    }
}

static void file_dispose(pk_object *o)
{
    unlink_file(CONTAINING_RECORD(o, wdf_fileobject, header));
}

static NTSTATUS file_create(wdf_device *dev, PFILE_OBJECT fo, wdf_fileobject **out)
{
    wdf_fileobject *f;
    NTSTATUS status;

    status = pk_object_create(&file_type, dev->file_attributes_set ? &dev->file_attributes : NULL, &dev->header,
                              sizeof(*f), "IRP_MJ_CREATE", (void **)&f);
    if (!NT_SUCCESS(status))
        return status == STATUS_DELETE_PENDING ? STATUS_DELETE_PENDING : STATUS_INSUFFICIENT_RESOURCES;
    f->device = dev;
    f->wdm = fo;
    pk_lock_acquire(&dev->file_lock);
    InsertTailList(&dev->files, &f->link);
    f->in_list = true;
    pk_lock_release(&dev->file_lock);
    if (fo && dev->file_class == WdfFileObjectWdfCanUseFsContext)
        fo->FsContext = pk_object_handle(&f->header);
    if (fo && dev->file_class == WdfFileObjectWdfCanUseFsContext2)
        fo->FsContext2 = pk_object_handle(&f->header);
    pk_object_reference(&f->header); /* the caller's */
    pk_object_commit(&f->header);
    *out = f;
    return STATUS_SUCCESS;
}

/* A create that failed: the file object goes without EvtFileCleanup or EvtFileClose; its object
 * cleanup and destroy callbacks run (I8). */
static void file_destroy_failed(wdf_fileobject *f)
{
    unlink_file(f);
    wdf_object_delete(&f->header);
}

wdf_fileobject *wdf_file_lookup(wdf_device *dev, PFILE_OBJECT fo)
{
    wdf_fileobject *found = NULL;

    if (!fo || dev->file_class == WdfFileObjectNotRequired)
        return NULL;
    pk_lock_acquire(&dev->file_lock);
    for (PLIST_ENTRY e = dev->files.Flink; e != &dev->files; e = e->Flink) {
        wdf_fileobject *f = CONTAINING_RECORD(e, wdf_fileobject, link);
        if (f->wdm == fo) {
            found = f;
            pk_object_reference(&f->header);
            break;
        }
    }
    pk_lock_release(&dev->file_lock);
    return found;
}

/* ---- Callbacks ---- */

/* The execution level and synchronization scope of the device's file objects. */
static WDF_EXECUTION_LEVEL file_level(wdf_device *dev, wdf_fileobject *f)
{
    WDF_EXECUTION_LEVEL level;

    if (f)
        return (WDF_EXECUTION_LEVEL)f->header.execution_level;
    level = dev->file_attributes_set ? dev->file_attributes.ExecutionLevel : WdfExecutionLevelInheritFromParent;
    return level == WdfExecutionLevelInheritFromParent ? (WDF_EXECUTION_LEVEL)dev->header.execution_level : level;
}

static bool file_serialized(wdf_device *dev, wdf_fileobject *f)
{
    WDF_SYNCHRONIZATION_SCOPE scope;

    if (f)
        return f->header.synchronization_scope == WdfSynchronizationScopeDevice;
    scope = dev->file_attributes_set ? dev->file_attributes.SynchronizationScope
                                     : WdfSynchronizationScopeInheritFromParent;
    if (scope == WdfSynchronizationScopeInheritFromParent)
        scope = (WDF_SYNCHRONIZATION_SCOPE)dev->header.synchronization_scope;
    return scope == WdfSynchronizationScopeDevice;
}

static WDFFILEOBJECT file_handle(wdf_fileobject *f) { return f ? (WDFFILEOBJECT)pk_object_handle(&f->header) : NULL; }

static void call_file_callback(wdf_device *dev, wdf_fileobject *f, PFN_WDF_FILE_CLEANUP callback)
{
    bool serialized = file_serialized(dev, f);

    if (serialized)
        wdf_callback_lock_acquire(&dev->callback_lock);
    callback(file_handle(f));
    if (serialized)
        wdf_callback_lock_release(&dev->callback_lock);
}

/* ---- The hosted extension's file events (DMF modules) ---- */

/* A create the extension did not take, on a device without EvtDeviceFileCreate: what the
 * framework would have done alone (step 3), through the request: forward it to the local target
 * when AutoForwardCleanupClose applies, else complete it. */
static void create_default(wdf_device *dev, wdf_request *r)
{
    WDFREQUEST h = wdf_request_handle(r);
    WDF_REQUEST_SEND_OPTIONS options;

    if (!dev->autoforward) {
        WdfRequestComplete(h, STATUS_SUCCESS);
        return;
    }
    WdfRequestFormatRequestUsingCurrentType(h);
    WDF_REQUEST_SEND_OPTIONS_INIT(&options, WDF_REQUEST_SEND_OPTION_SYNCHRONOUS);
    (void)WdfRequestSend(h, WdfDeviceGetIoTarget((WDFDEVICE)pk_object_handle(&dev->header)), &options);
    WdfRequestComplete(h, WdfRequestGetStatus(h));
}

/* Cleanup (close = false) or close of a known file object, to an extension that takes file
 * events, before the client's callback. */
static void extension_file_event(wdf_device *dev, wdf_fileobject *f, bool known, bool close)
{
    const wdf_device_extension *ext = pk_load_acquire(&dev->extension);
    WDFDEVICE dh = (WDFDEVICE)pk_object_handle(&dev->header);

    if (!known || !ext || !ext->takes_file_events || !ext->takes_file_events((WDFOBJECT)dh))
        return;
    if (close && ext->file_close)
        ext->file_close(dh, file_handle(f));
    else if (!close && ext->file_cleanup)
        ext->file_cleanup(dh, file_handle(f));
}

/* ---- IRP_MJ_CREATE ---- */

static void undo_open(wdf_device *dev, wdf_fileobject *f)
{
    if (f) {
        file_destroy_failed(f);
        pk_object_dereference(&f->header);
    }
    __atomic_sub_fetch(&dev->open_count, 1, __ATOMIC_ACQ_REL);
}

/* The completion of a create the framework forwarded on its own (no callback, no queue). The
 * IRP's DriverContext belongs to the lower driver by now, so the context is the file object
 * (whose device is known) or, for class NotRequired, the device: two routines. The device's
 * remove lock, taken for the forward, is released here. */
static void create_forward_finish(wdf_device *dev, wdf_fileobject *f, PIRP irp)
{
    if (irp->PendingReturned)
        IoMarkIrpPending(irp);
    if (!NT_SUCCESS(irp->IoStatus.Status)) {
        undo_open(dev, f);
    } else if (f) {
        pk_store_release(&f->opened, true);
        pk_object_dereference(&f->header);
    }
    IoReleaseRemoveLock(&dev->ext->remove_lock, irp);
}

static NTSTATUS create_forward_done_file(PDEVICE_OBJECT device, PIRP irp, PVOID context)
{
    wdf_fileobject *f = context;
    create_forward_finish(f->device, f, irp);
    return STATUS_CONTINUE_COMPLETION;
}

static NTSTATUS create_forward_done_device(PDEVICE_OBJECT device, PIRP irp, PVOID context)
{
    create_forward_finish(context, NULL, irp);
    return STATUS_CONTINUE_COMPLETION;
}

NTSTATUS wdf_file_dispatch_create(wdf_device *dev, PIRP irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    PFILE_OBJECT fo = sp->FileObject;
    wdf_fileobject *f = NULL;
    wdf_pnp_state st = wdf_device_pnp_state(dev);
    const wdf_device_extension *ext;
    bool ext_files;
    wdf_queue *q;
    wdf_request *r;
    NTSTATUS status;

    /* Step 1: the device must be started, and an exclusive device opened once at a time. */
    if (st == WDF_PNP_ADDED || st == WDF_PNP_START_FAILED)
        return wdf_complete_irp(irp, STATUS_NO_SUCH_DEVICE, 0);
    if (st == WDF_PNP_QUERY_REMOVED || st == WDF_PNP_SURPRISE_REMOVED || st == WDF_PNP_REMOVED)
        return wdf_complete_irp(irp, STATUS_DELETE_PENDING, 0);
    if (__atomic_add_fetch(&dev->open_count, 1, __ATOMIC_ACQ_REL) > 1 && dev->exclusive) {
        __atomic_sub_fetch(&dev->open_count, 1, __ATOMIC_ACQ_REL);
        return wdf_complete_irp(irp, STATUS_ACCESS_DENIED, 0);
    }

    /* Step 2: the WDFFILEOBJECT. */
    if (dev->file_class != WdfFileObjectNotRequired) {
        if (!fo && !(dev->exclusive && dev->file_class == WdfFileObjectWdfCannotUseFsContexts)) {
            undo_open(dev, NULL);
            return wdf_complete_irp(irp, STATUS_DEVICE_CONFIGURATION_ERROR, 0);
        }
        status = file_create(dev, fo, &f);
        if (!NT_SUCCESS(status)) {
            undo_open(dev, NULL);
            return wdf_complete_irp(irp, status, 0);
        }
    }

    pk_lock_acquire(&dev->queue_lock);
    q = dev->dispatch[WDF_DISPATCH_CREATE];
    if (q)
        pk_object_reference(&q->header);
    pk_lock_release(&dev->queue_lock);

    ext = pk_load_acquire(&dev->extension);
    ext_files = !q && ext && ext->takes_file_events && ext->takes_file_events((WDFOBJECT)pk_object_handle(&dev->header));

    /* Step 3: nothing of the driver's: the framework acts alone. */
    if (!q && !dev->file_config.EvtDeviceFileCreate && !ext_files) {
        if (!dev->autoforward) {
            if (f) {
                pk_store_release(&f->opened, true);
                pk_object_dereference(&f->header);
            }
            return wdf_complete_irp(irp, STATUS_SUCCESS, 0);
        }
        /* Held until the forwarded create completes (released by create_forward_finish); it
         * fails only once the removal has begun. */
        if (!NT_SUCCESS(IoAcquireRemoveLock(&dev->ext->remove_lock, irp))) {
            undo_open(dev, f);
            return wdf_complete_irp(irp, STATUS_DELETE_PENDING, 0);
        }
        if (f)
            __atomic_add_fetch(&f->creates_sent, 1, __ATOMIC_ACQ_REL);
        IoCopyCurrentIrpStackLocationToNext(irp);
        if (f)
            IoSetCompletionRoutine(irp, create_forward_done_file, f, TRUE, TRUE, TRUE);
        else
            IoSetCompletionRoutine(irp, create_forward_done_device, dev, TRUE, TRUE, TRUE);
        return IoCallDriver(dev->lower, irp);
    }

    /* Step 4: a request for the driver. */
    if (file_level(dev, f) == WdfExecutionLevelPassive && pk_irql() > PASSIVE_LEVEL) {
        status = STATUS_INVALID_DEVICE_REQUEST;
        goto undo;
    }
    r = wdf_request_get(dev, irp);
    if (!r) {
        status = STATUS_INSUFFICIENT_RESOURCES;
        goto undo;
    }
    r->fileobject = f; /* keeps our reference until the create completes */
    IoMarkIrpPending(irp);
    if (q) {
        /* Step 5: a create queue takes precedence over EvtDeviceFileCreate (I15). */
        wdf_queue_insert(q, r);
        pk_object_dereference(&q->header);
    } else {
        bool serialized = file_serialized(dev, f);
        pk_store_release(&r->state, WDF_REQ_DRIVER);
        if (serialized)
            wdf_callback_lock_acquire(&dev->callback_lock);
        WDFDEVICE dh = (WDFDEVICE)pk_object_handle(&dev->header);
        if (ext_files && ext->file_create(dh, wdf_request_handle(r), file_handle(f)))
            ; /* the extension (a DMF module) took it */
        else if (dev->file_config.EvtDeviceFileCreate)
            dev->file_config.EvtDeviceFileCreate(dh, wdf_request_handle(r), file_handle(f));
        else
            create_default(dev, r);
        if (serialized)
            wdf_callback_lock_release(&dev->callback_lock);
    }
    return STATUS_PENDING;

undo:
    if (q)
        pk_object_dereference(&q->header);
    undo_open(dev, f);
    return wdf_complete_irp(irp, status, 0);
}

void wdf_file_create_completing(wdf_request *r, NTSTATUS status)
{
    wdf_fileobject *f = r->fileobject;

    r->fileobject = NULL;
    if (!NT_SUCCESS(status)) {
        /* Whoever failed it: no cleanup or close will follow (step 7). */
        undo_open(r->device, f);
        return;
    }
    if (f) {
        pk_store_release(&f->opened, true);
        pk_object_dereference(&f->header);
    }
}

void wdf_file_create_sent(wdf_request *r)
{
    if (r->fileobject)
        __atomic_add_fetch(&r->fileobject->creates_sent, 1, __ATOMIC_ACQ_REL);
}

/* ---- IRP_MJ_CLEANUP ---- */

NTSTATUS wdf_file_dispatch_cleanup(wdf_device *dev, PIRP irp)
{
    PFILE_OBJECT fo = IoGetCurrentIrpStackLocation(irp)->FileObject;
    wdf_fileobject *f = wdf_file_lookup(dev, fo);
    bool known = f || dev->file_class == WdfFileObjectNotRequired;
    NTSTATUS status;

    extension_file_event(dev, f, known, false);
    if (known && dev->file_config.EvtFileCleanup)
        call_file_callback(dev, f, dev->file_config.EvtFileCleanup);
    /* Then the requests of this handle still waiting in queues (I9, I10). */
    if (fo)
        wdf_queues_cancel_file(dev, fo);
    if (dev->autoforward) {
        if (f)
            __atomic_add_fetch(&f->cleanups_sent, 1, __ATOMIC_ACQ_REL);
        status = wdf_forward_irp(dev, irp);
    } else {
        status = wdf_complete_irp(irp, STATUS_SUCCESS, 0);
    }
    if (f)
        pk_object_dereference(&f->header);
    return status;
}

/* ---- IRP_MJ_CLOSE ---- */

/* The balance rule of seed 003, checked when a file object is destroyed by its close. */
static void check_balance(wdf_fileobject *f)
{
    uint32_t creates = pk_load_acquire(&f->creates_sent), cleanups = pk_load_acquire(&f->cleanups_sent),
             closes = pk_load_acquire(&f->closes_sent);

    if (!pk_verifier_on() || (creates == cleanups && creates == closes))
        return;
    pk_verifier_stop("WDFFILEOBJECT",
                     "file object %p: the local I/O target received %u create(s), %u cleanup(s) and %u close(s). "
                     "AutoForwardCleanupClose rule: with auto-forward in effect the driver must forward every "
                     "create to the local I/O target, and without it must forward none",
                     pk_object_handle(&f->header), creates, cleanups, closes);
}

NTSTATUS wdf_file_dispatch_close(wdf_device *dev, PIRP irp)
{
    PFILE_OBJECT fo = IoGetCurrentIrpStackLocation(irp)->FileObject;
    wdf_fileobject *f = wdf_file_lookup(dev, fo);
    bool known = f || dev->file_class == WdfFileObjectNotRequired;
    NTSTATUS status;

    extension_file_event(dev, f, known, true);
    if (known && dev->file_config.EvtFileClose)
        call_file_callback(dev, f, dev->file_config.EvtFileClose);
    if (f) {
        /* Counted before the destroy, which checks the balance; the close is forwarded next. */
        if (dev->autoforward)
            __atomic_add_fetch(&f->closes_sent, 1, __ATOMIC_ACQ_REL);
        if (pk_load_acquire(&f->opened))
            check_balance(f);
        unlink_file(f);
        wdf_object_delete(&f->header);
        pk_object_dereference(&f->header);
    }
    status = dev->autoforward ? wdf_forward_irp(dev, irp) : wdf_complete_irp(irp, STATUS_SUCCESS, 0);
    /* Only now (I18); the dispatch still holds the remove lock. */
    __atomic_sub_fetch(&dev->open_count, 1, __ATOMIC_ACQ_REL);
    return status;
}

/* ---- Public accessors ---- */

static NTSTATUS file_reference(WDFFILEOBJECT handle, const char *api, wdf_fileobject **out)
{
    pk_object *o;
    NTSTATUS status = pk_object_reference_handle((WDFOBJECT)handle, PK_KIND_FILEOBJECT, api, &o);

    if (NT_SUCCESS(status))
        *out = CONTAINING_RECORD(o, wdf_fileobject, header);
    return status;
}

PUNICODE_STRING WdfFileObjectGetFileName(WDFFILEOBJECT FileObject)
{
    wdf_fileobject *f;
    PUNICODE_STRING name;

    if (!pk_irql_ok("WdfFileObjectGetFileName", PASSIVE_LEVEL))
        return NULL;
    if (!NT_SUCCESS(file_reference(FileObject, "WdfFileObjectGetFileName", &f)))
        return NULL;
    name = f->wdm ? &f->wdm->FileName : NULL;
    pk_object_dereference(&f->header);
    return name;
}

ULONG WdfFileObjectGetFlags(WDFFILEOBJECT FileObject)
{
    wdf_fileobject *f;
    ULONG flags;

    if (!pk_irql_ok("WdfFileObjectGetFlags", DISPATCH_LEVEL))
        return 0;
    if (!NT_SUCCESS(file_reference(FileObject, "WdfFileObjectGetFlags", &f)))
        return 0;
    flags = f->wdm ? f->wdm->Flags : 0;
    pk_object_dereference(&f->header);
    return flags;
}

WDFDEVICE WdfFileObjectGetDevice(WDFFILEOBJECT FileObject)
{
    wdf_fileobject *f;
    WDFDEVICE device;

    if (!pk_irql_ok("WdfFileObjectGetDevice", DISPATCH_LEVEL))
        return NULL;
    if (!NT_SUCCESS(file_reference(FileObject, "WdfFileObjectGetDevice", &f)))
        return NULL;
    device = (WDFDEVICE)pk_object_handle(&f->device->header);
    pk_object_dereference(&f->header);
    return device;
}

PFILE_OBJECT WdfFileObjectWdmGetFileObject(WDFFILEOBJECT FileObject)
{
    wdf_fileobject *f;
    PFILE_OBJECT wdm;

    if (!pk_irql_ok("WdfFileObjectWdmGetFileObject", DISPATCH_LEVEL))
        return NULL;
    if (!NT_SUCCESS(file_reference(FileObject, "WdfFileObjectWdmGetFileObject", &f)))
        return NULL;
    wdm = f->wdm;
    pk_object_dereference(&f->header);
    return wdm;
}

WDFFILEOBJECT WdfDeviceGetFileObject(WDFDEVICE Device, PFILE_OBJECT FileObject)
{
    wdf_device *dev;
    wdf_fileobject *f;
    WDFFILEOBJECT handle = NULL;

    if (!pk_irql_ok("WdfDeviceGetFileObject", DISPATCH_LEVEL))
        return NULL;
    if (!NT_SUCCESS(wdf_device_reference(Device, "WdfDeviceGetFileObject", &dev)))
        return NULL;
    f = wdf_file_lookup(dev, FileObject);
    if (f) {
        handle = file_handle(f);
        pk_object_dereference(&f->header);
    }
    pk_object_dereference(&dev->header);
    return handle;
}
