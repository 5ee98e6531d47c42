/*
 * request.c — WDFREQUEST: the pool of framework requests, presentation to queue callbacks,
 * completion, the request's buffers and parameters, cancelable requests, WdfRequestCreate and
 * WdfRequestReuse. Sending is in request_send.c.
 *
 * The pool. Each device keeps the framework requests it made, so that steady I/O allocates
 * nothing: a request stays a live object (a child of its device) and goes back to the pool when
 * it completes. A request that somebody still references when it completes (the driver took a
 * WdfObjectReference, a timer callback still runs) is deleted instead of pooled, so its handle
 * stays valid for them; the pool makes another one later. Handles of pooled requests are reused:
 * a stale handle used after completion reaches an idle or reused request, not freed memory, as
 * with KMDF's lookaside lists. The request attributes' cleanup and destroy callbacks (from
 * WdfDeviceInitSetRequestAttributes) run at each completion, and the context is zeroed.
 *
 * Completion order (wdf_request_complete): the request leaves its queue's list, is recycled, its
 * IRP completes, and only then the queue's count drops, so that a removal waiting for the queue
 * cannot delete the device (and its pool) while the completing thread still uses them.
 *
 * Locking: dev->pool_lock protects the pool list. A request's own fields belong to whoever owns
 * it (state), with the queue fields under its queue's lock.
 */
#include "wdf/wdf_internal.h"

#include <string.h>

#define POOL_MAX 256

static void request_destroy(pk_object *o)
{
    wdf_request *r = CONTAINING_RECORD(o, wdf_request, header);

    wdf_request_timer_quiesce(r);
    wdf_request_release_format(r);
    if (r->own_irp && r->irp)
        IoFreeIrp(r->irp);
    r->irp = NULL;
    pk_free(r->sysbuf);
    r->sysbuf = NULL;
}

static void created_dispose(pk_object *o)
{
    wdf_request *r = CONTAINING_RECORD(o, wdf_request, header);

    if (pk_load_acquire(&r->state) == WDF_REQ_SENT) {
        pk_verifier_stop("WdfObjectDelete", "WDFREQUEST %p is deleted while it is sent to a target",
                         pk_object_handle(o));
        return;
    }
    /* The format references its WDFMEMORY objects; when they are the request's own children
     * they hold the request until they are destroyed, so the references must go now, not at
     * destroy (which would never come). */
    wdf_request_release_format(r);
}

static const pk_object_type framework_request_type = { "WDFREQUEST", PK_KIND_REQUEST, PK_OBJTYPE_NO_CLIENT_DELETE,
                                                       NULL, request_destroy };
static const pk_object_type created_request_type = { "WDFREQUEST", PK_KIND_REQUEST, 0, created_dispose,
                                                     request_destroy };

NTSTATUS wdf_request_reference(WDFREQUEST handle, const char *api, wdf_request **out)
{
    pk_object *o;
    NTSTATUS status = pk_object_reference_handle((WDFOBJECT)handle, PK_KIND_REQUEST, api, &o);

    if (NT_SUCCESS(status))
        *out = CONTAINING_RECORD(o, wdf_request, header);
    return status;
}

static void init_common(wdf_request *r)
{
    InitializeListHead(&r->queue_link);
    InitializeListHead(&r->target_link);
    KeInitializeEvent(&r->sync_done, NotificationEvent, FALSE);
    WDF_REQUEST_COMPLETION_PARAMS_INIT(&r->completion_params);
    wdf_request_timer_init(r);
}

/* ---- The pool ---- */

wdf_request *wdf_request_get(wdf_device *dev, PIRP irp)
{
    wdf_request *r;

    pk_lock_acquire(&dev->pool_lock);
    r = dev->pool;
    if (r) {
        dev->pool = r->pool_next;
        dev->pool_count--;
    }
    pk_lock_release(&dev->pool_lock);
    if (!r) {
        WDF_OBJECT_ATTRIBUTES a, *pa = NULL;
        if (dev->request_attributes_set) {
            /* The callbacks run at each completion (wdf_request_recycle), not at the object's end. */
            a = dev->request_attributes;
            a.EvtCleanupCallback = NULL;
            a.EvtDestroyCallback = NULL;
            pa = &a;
        }
        if (!NT_SUCCESS(pk_object_create(&framework_request_type, pa, &dev->header, sizeof(*r), "IRP dispatch",
                                         (void **)&r)))
            return NULL;
        init_common(r);
        r->framework = true;
        r->device = dev;
        pk_object_commit(&r->header);
    }
    r->pool_next = NULL;
    r->irp = irp;
    r->major = IoGetCurrentIrpStackLocation(irp)->MajorFunction;
    r->file = IoGetCurrentIrpStackLocation(irp)->FileObject;
    r->information = 0;
    r->status_valid = false;
    r->completion = NULL;
    r->completion_context = NULL;
    r->passive_completion = r->header.execution_level == WdfExecutionLevelPassive;
    pk_store_release(&r->state, WDF_REQ_IDLE);
    return r;
}

void wdf_request_recycle(wdf_request *r, uint32_t extra_refs)
{
    wdf_device *dev = r->device;
    WDFREQUEST h = wdf_request_handle(r);

    if (dev->request_attributes_set) {
        void *context = pk_object_primary_context(&r->header);
        if (dev->request_attributes.EvtCleanupCallback)
            dev->request_attributes.EvtCleanupCallback((WDFOBJECT)h);
        if (dev->request_attributes.EvtDestroyCallback)
            dev->request_attributes.EvtDestroyCallback((WDFOBJECT)h);
        if (context && dev->request_context_size)
            memset(context, 0, dev->request_context_size);
    }
    wdf_request_release_format(r);
    r->irp = NULL;
    r->queue = NULL;
    r->file = NULL;
    r->fileobject = NULL;
    r->cancelable = false;
    r->evt_cancel = NULL;
    r->completion = NULL;
    WDF_REQUEST_COMPLETION_PARAMS_INIT(&r->completion_params);
    pk_store_release(&r->state, WDF_REQ_IDLE);
    /* Its own memory objects (children) hold a reference on it each. */
    extra_refs += (r->in_memory ? 1u : 0u) + (r->out_memory ? 1u : 0u);
    if (pk_load_acquire(&r->timer_busy) || pk_handle_refs(&r->header) != 1 + extra_refs ||
        pk_object_get_state(&r->header) != PK_OBJ_CREATED) {
        /* Someone still holds it: it becomes an ordinary object that goes with its last
         * reference. */
        wdf_object_delete(&r->header);
        return;
    }
    pk_lock_acquire(&dev->pool_lock);
    if (dev->pool_count < POOL_MAX) {
        r->pool_next = dev->pool;
        dev->pool = r;
        dev->pool_count++;
        pk_lock_release(&dev->pool_lock);
        return;
    }
    pk_lock_release(&dev->pool_lock);
    wdf_object_delete(&r->header);
}

/* ---- Presentation ---- */

void wdf_request_present(wdf_queue *q, wdf_request *r)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(r->irp);
    WDFQUEUE qh = (WDFQUEUE)pk_object_handle(&q->header);
    WDFREQUEST rh = wdf_request_handle(r);
    const WDF_IO_QUEUE_CONFIG *c = &q->config;

    switch (r->major) {
    case IRP_MJ_READ:
        if (c->EvtIoRead) {
            c->EvtIoRead(qh, rh, sp->Parameters.Read.Length);
            return;
        }
        break;
    case IRP_MJ_WRITE:
        if (c->EvtIoWrite) {
            c->EvtIoWrite(qh, rh, sp->Parameters.Write.Length);
            return;
        }
        break;
    case IRP_MJ_DEVICE_CONTROL:
        if (c->EvtIoDeviceControl) {
            c->EvtIoDeviceControl(qh, rh, sp->Parameters.DeviceIoControl.OutputBufferLength,
                                  sp->Parameters.DeviceIoControl.InputBufferLength,
                                  sp->Parameters.DeviceIoControl.IoControlCode);
            return;
        }
        break;
    case IRP_MJ_INTERNAL_DEVICE_CONTROL:
        if (c->EvtIoInternalDeviceControl) {
            c->EvtIoInternalDeviceControl(qh, rh, sp->Parameters.DeviceIoControl.OutputBufferLength,
                                          sp->Parameters.DeviceIoControl.InputBufferLength,
                                          sp->Parameters.DeviceIoControl.IoControlCode);
            return;
        }
        break;
    default:
        break;
    }
    if (c->EvtIoDefault) {
        c->EvtIoDefault(qh, rh);
        return;
    }
    /* The queue has no callback for this type. */
    WdfRequestComplete(rh, STATUS_INVALID_DEVICE_REQUEST);
}

/* ---- Completion ---- */

/* Completes a framework request the driver owns. extra_refs: references the caller holds. */
static void request_complete(wdf_request *r, NTSTATUS status, ULONG_PTR information, CCHAR boost,
                             uint32_t extra_refs, const char *api)
{
    uint32_t expected = WDF_REQ_DRIVER;
    wdf_queue *q;
    PIRP irp;
    bool acked = false;

    if (!r->framework) {
        pk_verifier_stop(api, "WDFREQUEST %p was created by the driver: delete or reuse it, do not complete it",
                         wdf_request_handle(r));
        return;
    }
    if (!pk_cas(&r->state, &expected, WDF_REQ_DONE)) {
        pk_verifier_stop(api, "WDFREQUEST %p is not owned by the driver (%s)", wdf_request_handle(r),
                         expected == WDF_REQ_SENT     ? "it is sent to a target"
                         : expected == WDF_REQ_QUEUED ? "it waits in a queue"
                                                      : "it was completed already");
        return;
    }
    q = r->queue;
    if (r->cancelable) {
        /* Under the queue lock, so that a purge never cancels an IRP we complete. */
        PDRIVER_CANCEL previous;
        if (q)
            pk_lock_acquire(&q->lock);
        r->cancelable = false;
        previous = IoSetCancelRoutine(r->irp, NULL);
        if (q)
            pk_lock_release(&q->lock);
        if (previous)
            pk_verifier_report(api, "WDFREQUEST %p is completed while still marked cancelable "
                                    "(call WdfRequestUnmarkCancelable first)", wdf_request_handle(r));
    }
    if (r->major == IRP_MJ_CREATE)
        wdf_file_create_completing(r, status);
    irp = r->irp;
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = information;
    if (q)
        acked = wdf_queue_detach(q, r);
    wdf_request_recycle(r, extra_refs);
    IoCompleteRequest(irp, boost);
    if (q)
        wdf_queue_release(q, acked);
}

void wdf_request_complete_internal(wdf_request *r, NTSTATUS status, ULONG_PTR information)
{
    PIRP irp = r->irp;

    pk_store_release(&r->state, WDF_REQ_DONE);
    if (r->major == IRP_MJ_CREATE)
        wdf_file_create_completing(r, status);
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = information;
    r->queue = NULL;
    wdf_request_recycle(r, 0);
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

static void complete_api(WDFREQUEST Request, NTSTATUS Status, bool with_information, ULONG_PTR Information,
                         CCHAR boost, const char *api)
{
    wdf_request *r;

    if (!pk_irql_ok(api, DISPATCH_LEVEL) || !NT_SUCCESS(wdf_request_reference(Request, api, &r)))
        return;
    if (Status == STATUS_PENDING) {
        pk_verifier_stop(api, "a request cannot be completed with STATUS_PENDING");
        pk_object_dereference(&r->header);
        return;
    }
    request_complete(r, Status, with_information ? Information : r->information, boost, 1, api);
    pk_object_dereference(&r->header);
}

VOID WdfRequestComplete(WDFREQUEST Request, NTSTATUS Status)
{
    complete_api(Request, Status, false, 0, IO_NO_INCREMENT, "WdfRequestComplete");
}

VOID WdfRequestCompleteWithInformation(WDFREQUEST Request, NTSTATUS Status, ULONG_PTR Information)
{
    complete_api(Request, Status, true, Information, IO_NO_INCREMENT, "WdfRequestCompleteWithInformation");
}

VOID WdfRequestCompleteWithPriorityBoost(WDFREQUEST Request, NTSTATUS Status, CCHAR PriorityBoost)
{
    complete_api(Request, Status, false, 0, PriorityBoost, "WdfRequestCompleteWithPriorityBoost");
}

/* ---- Cancelable requests ---- */

void wdf_request_call_cancel(wdf_request *r)
{
    PFN_WDF_REQUEST_CANCEL routine = r->evt_cancel;

    if (routine)
        routine(wdf_request_handle(r));
}

static bool driver_owned(wdf_request *r, const char *api)
{
    if (!r->framework || pk_load_acquire(&r->state) != WDF_REQ_DRIVER) {
        pk_verifier_report(api, "WDFREQUEST %p is not a request the driver owns", wdf_request_handle(r));
        return false;
    }
    return true;
}

static NTSTATUS mark(WDFREQUEST Request, PFN_WDF_REQUEST_CANCEL routine, bool call_if_cancelled, const char *api)
{
    wdf_request *r;
    NTSTATUS status;

    if (!pk_irql_ok(api, DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    status = wdf_request_reference(Request, api, &r);
    if (!NT_SUCCESS(status))
        return status;
    if (!routine || !driver_owned(r, api)) {
        pk_object_dereference(&r->header);
        return STATUS_INVALID_PARAMETER;
    }
    status = wdf_queue_mark_cancelable(r, routine, call_if_cancelled);
    pk_object_dereference(&r->header);
    return status;
}

VOID WdfRequestMarkCancelable(WDFREQUEST Request, PFN_WDF_REQUEST_CANCEL EvtRequestCancel)
{
    mark(Request, EvtRequestCancel, true, "WdfRequestMarkCancelable");
}

NTSTATUS WdfRequestMarkCancelableEx(WDFREQUEST Request, PFN_WDF_REQUEST_CANCEL EvtRequestCancel)
{
    return mark(Request, EvtRequestCancel, false, "WdfRequestMarkCancelableEx");
}

NTSTATUS WdfRequestUnmarkCancelable(WDFREQUEST Request)
{
    wdf_request *r;
    NTSTATUS status;

    if (!pk_irql_ok("WdfRequestUnmarkCancelable", DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    status = wdf_request_reference(Request, "WdfRequestUnmarkCancelable", &r);
    if (!NT_SUCCESS(status))
        return status;
    status = driver_owned(r, "WdfRequestUnmarkCancelable") ? wdf_queue_unmark_cancelable(r)
                                                             : STATUS_INVALID_DEVICE_REQUEST;
    pk_object_dereference(&r->header);
    return status;
}

BOOLEAN WdfRequestIsCanceled(WDFREQUEST Request)
{
    wdf_request *r;
    BOOLEAN cancelled;

    if (!pk_irql_ok("WdfRequestIsCanceled", DISPATCH_LEVEL) ||
        !NT_SUCCESS(wdf_request_reference(Request, "WdfRequestIsCanceled", &r)))
        return FALSE;
    cancelled = r->irp ? pk_load_acquire(&r->irp->Cancel) : FALSE;
    pk_object_dereference(&r->header);
    return cancelled;
}

/* ---- Information, status, parameters ---- */

VOID WdfRequestSetInformation(WDFREQUEST Request, ULONG_PTR Information)
{
    wdf_request *r;

    if (!pk_irql_ok("WdfRequestSetInformation", DISPATCH_LEVEL) ||
        !NT_SUCCESS(wdf_request_reference(Request, "WdfRequestSetInformation", &r)))
        return;
    r->information = Information;
    if (r->irp)
        r->irp->IoStatus.Information = Information;
    pk_object_dereference(&r->header);
}

ULONG_PTR WdfRequestGetInformation(WDFREQUEST Request)
{
    wdf_request *r;
    ULONG_PTR information;

    if (!pk_irql_ok("WdfRequestGetInformation", DISPATCH_LEVEL) ||
        !NT_SUCCESS(wdf_request_reference(Request, "WdfRequestGetInformation", &r)))
        return 0;
    information = r->irp ? r->irp->IoStatus.Information : r->information;
    pk_object_dereference(&r->header);
    return information;
}

NTSTATUS WdfRequestGetStatus(WDFREQUEST Request)
{
    wdf_request *r;
    NTSTATUS status;

    if (!pk_irql_ok("WdfRequestGetStatus", DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    status = wdf_request_reference(Request, "WdfRequestGetStatus", &r);
    if (!NT_SUCCESS(status))
        return status;
    if (r->status_valid)
        status = r->status;
    else
        status = r->irp ? r->irp->IoStatus.Status : STATUS_SUCCESS;
    pk_object_dereference(&r->header);
    return status;
}

VOID WdfRequestGetParameters(WDFREQUEST Request, PWDF_REQUEST_PARAMETERS Parameters)
{
    wdf_request *r;
    PIO_STACK_LOCATION sp;

    if (!pk_irql_ok("WdfRequestGetParameters", DISPATCH_LEVEL))
        return;
    if (!Parameters || Parameters->Size != sizeof(WDF_REQUEST_PARAMETERS)) {
        pk_verifier_report("WdfRequestGetParameters", "WDF_REQUEST_PARAMETERS is NULL or its Size is not %zu",
                           sizeof(WDF_REQUEST_PARAMETERS));
        return;
    }
    if (!NT_SUCCESS(wdf_request_reference(Request, "WdfRequestGetParameters", &r)))
        return;
    if (!r->framework || !r->irp) {
        /* A driver-created request has no current stack location. */
        WDF_REQUEST_PARAMETERS_INIT(Parameters);
        Parameters->Type = WdfRequestTypeNoFormat;
        pk_object_dereference(&r->header);
        return;
    }
    sp = IoGetCurrentIrpStackLocation(r->irp);
    WDF_REQUEST_PARAMETERS_INIT(Parameters);
    Parameters->MinorFunction = sp->MinorFunction;
    Parameters->Type = (WDF_REQUEST_TYPE)sp->MajorFunction;
    switch (sp->MajorFunction) {
    case IRP_MJ_CREATE:
        Parameters->Parameters.Create.SecurityContext = sp->Parameters.Create.SecurityContext;
        Parameters->Parameters.Create.Options = sp->Parameters.Create.Options;
        Parameters->Parameters.Create.FileAttributes = sp->Parameters.Create.FileAttributes;
        Parameters->Parameters.Create.ShareAccess = sp->Parameters.Create.ShareAccess;
        Parameters->Parameters.Create.EaLength = sp->Parameters.Create.EaLength;
        break;
    case IRP_MJ_READ:
        Parameters->Parameters.Read.Length = sp->Parameters.Read.Length;
        Parameters->Parameters.Read.Key = sp->Parameters.Read.Key;
        Parameters->Parameters.Read.DeviceOffset = sp->Parameters.Read.ByteOffset.QuadPart;
        break;
    case IRP_MJ_WRITE:
        Parameters->Parameters.Write.Length = sp->Parameters.Write.Length;
        Parameters->Parameters.Write.Key = sp->Parameters.Write.Key;
        Parameters->Parameters.Write.DeviceOffset = sp->Parameters.Write.ByteOffset.QuadPart;
        break;
    case IRP_MJ_DEVICE_CONTROL:
    case IRP_MJ_INTERNAL_DEVICE_CONTROL:
        Parameters->Parameters.DeviceIoControl.OutputBufferLength = sp->Parameters.DeviceIoControl.OutputBufferLength;
        Parameters->Parameters.DeviceIoControl.InputBufferLength = sp->Parameters.DeviceIoControl.InputBufferLength;
        Parameters->Parameters.DeviceIoControl.IoControlCode = sp->Parameters.DeviceIoControl.IoControlCode;
        Parameters->Parameters.DeviceIoControl.Type3InputBuffer = sp->Parameters.DeviceIoControl.Type3InputBuffer;
        break;
    default:
        Parameters->Parameters.Others.Arg1 = sp->Parameters.Others.Argument1;
        Parameters->Parameters.Others.Arg2 = sp->Parameters.Others.Argument2;
        Parameters->Parameters.Others.Arg4 = sp->Parameters.Others.Argument4;
        break;
    }
    pk_object_dereference(&r->header);
}

VOID WdfRequestGetCompletionParams(WDFREQUEST Request, PWDF_REQUEST_COMPLETION_PARAMS Params)
{
    wdf_request *r;

    if (!pk_irql_ok("WdfRequestGetCompletionParams", DISPATCH_LEVEL) || !Params ||
        !NT_SUCCESS(wdf_request_reference(Request, "WdfRequestGetCompletionParams", &r)))
        return;
    *Params = r->completion_params;
    pk_object_dereference(&r->header);
}

/* ---- Buffers ---- */

static NTSTATUS request_buffer(wdf_request *r, bool input, void **buffer, size_t *length)
{
    PIRP irp = r->irp;
    PIO_STACK_LOCATION sp;
    ULONG flags;

    if (!r->framework || pk_load_acquire(&r->state) != WDF_REQ_DRIVER || !irp)
        return STATUS_INVALID_DEVICE_REQUEST;
    sp = IoGetCurrentIrpStackLocation(irp);
    flags = r->device->self->Flags;
    *buffer = NULL;
    *length = 0;
    switch (r->major) {
    case IRP_MJ_DEVICE_CONTROL:
    case IRP_MJ_INTERNAL_DEVICE_CONTROL: {
        ULONG method = METHOD_FROM_CTL_CODE(sp->Parameters.DeviceIoControl.IoControlCode);
        if (method == METHOD_NEITHER)
            return STATUS_INVALID_DEVICE_REQUEST;
        if (input) {
            *buffer = irp->AssociatedIrp.SystemBuffer;
            *length = sp->Parameters.DeviceIoControl.InputBufferLength;
        } else if (method == METHOD_BUFFERED) {
            *buffer = irp->AssociatedIrp.SystemBuffer;
            *length = sp->Parameters.DeviceIoControl.OutputBufferLength;
        } else {
            *buffer = irp->MdlAddress ? MmGetMdlVirtualAddress(irp->MdlAddress) : NULL;
            *length = sp->Parameters.DeviceIoControl.OutputBufferLength;
        }
        break;
    }
    case IRP_MJ_READ:
    case IRP_MJ_WRITE:
        if (input != (r->major == IRP_MJ_WRITE))
            return STATUS_INVALID_DEVICE_REQUEST;
        if (flags & DO_BUFFERED_IO)
            *buffer = irp->AssociatedIrp.SystemBuffer;
        else if (flags & DO_DIRECT_IO)
            *buffer = irp->MdlAddress ? MmGetMdlVirtualAddress(irp->MdlAddress) : NULL;
        else
            return STATUS_INVALID_DEVICE_REQUEST;
        *length = r->major == IRP_MJ_READ ? sp->Parameters.Read.Length : sp->Parameters.Write.Length;
        break;
    default:
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    return STATUS_SUCCESS;
}

static NTSTATUS retrieve_buffer(WDFREQUEST Request, bool input, size_t minimum, PVOID *Buffer, size_t *Length,
                                const char *api)
{
    wdf_request *r;
    void *buffer;
    size_t length;
    NTSTATUS status;

    if (!pk_irql_ok(api, DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!Buffer)
        return STATUS_INVALID_PARAMETER;
    status = wdf_request_reference(Request, api, &r);
    if (!NT_SUCCESS(status))
        return status;
    status = request_buffer(r, input, &buffer, &length);
    if (NT_SUCCESS(status) && (length == 0 || !buffer || length < minimum))
        status = STATUS_BUFFER_TOO_SMALL;
    if (NT_SUCCESS(status)) {
        *Buffer = buffer;
        if (Length)
            *Length = length;
    }
    pk_object_dereference(&r->header);
    return status;
}

NTSTATUS WdfRequestRetrieveInputBuffer(WDFREQUEST Request, size_t MinimumRequiredLength, PVOID *Buffer, size_t *Length)
{
    return retrieve_buffer(Request, true, MinimumRequiredLength, Buffer, Length, "WdfRequestRetrieveInputBuffer");
}

NTSTATUS WdfRequestRetrieveOutputBuffer(WDFREQUEST Request, size_t MinimumRequiredSize, PVOID *Buffer, size_t *Length)
{
    return retrieve_buffer(Request, false, MinimumRequiredSize, Buffer, Length, "WdfRequestRetrieveOutputBuffer");
}

static NTSTATUS retrieve_memory(WDFREQUEST Request, bool input, WDFMEMORY *Memory, const char *api)
{
    wdf_request *r;
    void *buffer;
    size_t length;
    NTSTATUS status;
    WDFMEMORY *slot;

    if (!pk_irql_ok(api, DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!Memory)
        return STATUS_INVALID_PARAMETER;
    status = wdf_request_reference(Request, api, &r);
    if (!NT_SUCCESS(status))
        return status;
    status = request_buffer(r, input, &buffer, &length);
    if (NT_SUCCESS(status) && (length == 0 || !buffer))
        status = STATUS_BUFFER_TOO_SMALL;
    if (!NT_SUCCESS(status))
        goto release;
    /* One memory object per direction, made on first use and kept with the (pooled) request. */
    slot = input ? &r->in_memory : &r->out_memory;
    if (*slot) {
        status = WdfMemoryAssignBuffer(*slot, buffer, length);
    } else {
        WDF_OBJECT_ATTRIBUTES a;
        WDF_OBJECT_ATTRIBUTES_INIT(&a);
        a.ParentObject = (WDFOBJECT)Request;
        status = WdfMemoryCreatePreallocated(&a, buffer, length, slot);
    }
    if (NT_SUCCESS(status))
        *Memory = *slot;
release:
    pk_object_dereference(&r->header);
    return status;
}

NTSTATUS WdfRequestRetrieveInputMemory(WDFREQUEST Request, WDFMEMORY *Memory)
{
    return retrieve_memory(Request, true, Memory, "WdfRequestRetrieveInputMemory");
}

NTSTATUS WdfRequestRetrieveOutputMemory(WDFREQUEST Request, WDFMEMORY *Memory)
{
    return retrieve_memory(Request, false, Memory, "WdfRequestRetrieveOutputMemory");
}

/* ---- Accessors ---- */

WDFFILEOBJECT WdfRequestGetFileObject(WDFREQUEST Request)
{
    static const char api[] = "WdfRequestGetFileObject";
    wdf_request *r;
    wdf_fileobject *f;
    WDFFILEOBJECT handle = NULL;

    if (!pk_irql_ok(api, DISPATCH_LEVEL) || !NT_SUCCESS(wdf_request_reference(Request, api, &r)))
        return NULL;
    if (!r->framework || r->device->file_class == WdfFileObjectNotRequired)
        goto release;
    if (r->fileobject) {
        handle = (WDFFILEOBJECT)pk_object_handle(&r->fileobject->header);
        goto release;
    }
    f = wdf_file_lookup(r->device, r->file);
    if (f) {
        handle = (WDFFILEOBJECT)pk_object_handle(&f->header);
        pk_object_dereference(&f->header);
    } else if (!r->device->file_optional) {
        pk_verifier_stop(api, "WDFREQUEST %p has %s: set WdfFileObjectCanBeOptional for such requests",
                         Request, r->file ? "a FILE_OBJECT the device did not see at create" : "no FILE_OBJECT");
    }
release:
    pk_object_dereference(&r->header);
    return handle;
}

WDFQUEUE WdfRequestGetIoQueue(WDFREQUEST Request)
{
    wdf_request *r;
    WDFQUEUE handle = NULL;

    if (!pk_irql_ok("WdfRequestGetIoQueue", DISPATCH_LEVEL) ||
        !NT_SUCCESS(wdf_request_reference(Request, "WdfRequestGetIoQueue", &r)))
        return NULL;
    if (r->queue)
        handle = (WDFQUEUE)pk_object_handle(&r->queue->header);
    pk_object_dereference(&r->header);
    return handle;
}

PIRP WdfRequestWdmGetIrp(WDFREQUEST Request)
{
    wdf_request *r;
    PIRP irp;

    if (!pk_irql_ok("WdfRequestWdmGetIrp", DISPATCH_LEVEL) ||
        !NT_SUCCESS(wdf_request_reference(Request, "WdfRequestWdmGetIrp", &r)))
        return NULL;
    irp = r->irp;
    pk_object_dereference(&r->header);
    return irp;
}

KPROCESSOR_MODE WdfRequestGetRequestorMode(WDFREQUEST Request)
{
    PIRP irp = WdfRequestWdmGetIrp(Request);
    return irp ? irp->RequestorMode : KernelMode;
}

/* ---- Driver-created requests ---- */

NTSTATUS WdfRequestCreate(PWDF_OBJECT_ATTRIBUTES RequestAttributes, WDFIOTARGET IoTarget, WDFREQUEST *Request)
{
    static const char api[] = "WdfRequestCreate";
    wdf_iotarget *t = NULL;
    wdf_request *r;
    NTSTATUS status;

    if (!pk_irql_ok(api, DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!Request)
        return STATUS_INVALID_PARAMETER;
    if (IoTarget) {
        status = wdf_target_reference(IoTarget, api, &t);
        if (!NT_SUCCESS(status))
            return status;
    }
    status = pk_object_create(&created_request_type, RequestAttributes, t ? &t->device->driver->header : NULL,
                              sizeof(*r), api, (void **)&r);
    if (!NT_SUCCESS(status))
        goto release_target;
    init_common(r);
    r->own_irp = true;
    r->passive_completion = r->header.execution_level == WdfExecutionLevelPassive;
    r->state = WDF_REQ_IDLE;
    if (t) {
        r->irp = IoAllocateIrp(wdf_target_stack_size(t), FALSE);
        if (!r->irp) {
            pk_object_abandon(&r->header);
            status = STATUS_INSUFFICIENT_RESOURCES;
            goto release_target;
        }
    }
    *Request = wdf_request_handle(r);
    pk_object_commit(&r->header);
release_target:
    if (t)
        pk_object_dereference(&t->header);
    return status;
}

NTSTATUS WdfRequestReuse(WDFREQUEST Request, PWDF_REQUEST_REUSE_PARAMS ReuseParams)
{
    static const char api[] = "WdfRequestReuse";
    wdf_request *r;
    NTSTATUS status;

    if (!pk_irql_ok(api, DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!ReuseParams)
        return STATUS_INVALID_PARAMETER;
    if (ReuseParams->Size != sizeof(WDF_REQUEST_REUSE_PARAMS))
        return STATUS_INFO_LENGTH_MISMATCH;
    if (ReuseParams->Flags & ~(ULONG)WDF_REQUEST_REUSE_SET_NEW_IRP)
        return STATUS_INVALID_PARAMETER;
    if ((ReuseParams->Flags & WDF_REQUEST_REUSE_SET_NEW_IRP) &&
        (!ReuseParams->NewIrp || ReuseParams->NewIrp->Type != IO_TYPE_IRP))
        return STATUS_INVALID_PARAMETER;
    status = wdf_request_reference(Request, api, &r);
    if (!NT_SUCCESS(status))
        return status;
    if (r->framework || pk_load_acquire(&r->state) == WDF_REQ_SENT) {
        pk_verifier_report(api, "WDFREQUEST %p is a framework request or is still sent", Request);
        status = STATUS_INVALID_DEVICE_REQUEST;
        goto release;
    }
    /* A timeout timer of the previous send may still be finishing on the timer thread. */
    wdf_request_timer_quiesce(r);
    wdf_request_release_format(r);
    if (ReuseParams->Flags & WDF_REQUEST_REUSE_SET_NEW_IRP) {
        /* The caller's IRP from now on; the one the framework allocated goes, one given before
         * stays the caller's. */
        if (r->own_irp && r->irp && r->irp != ReuseParams->NewIrp)
            IoFreeIrp(r->irp);
        r->irp = ReuseParams->NewIrp;
        r->own_irp = false;
    }
    if (r->irp)
        IoReuseIrp(r->irp, ReuseParams->Status);
    r->status_valid = false;
    r->cancelled = false;
    r->timed_out = false;
    WDF_REQUEST_COMPLETION_PARAMS_INIT(&r->completion_params);
    pk_store_release(&r->state, WDF_REQ_IDLE);
    status = STATUS_SUCCESS;
release:
    pk_object_dereference(&r->header);
    return status;
}
