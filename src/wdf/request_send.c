/*
 * request_send.c — sending requests to I/O targets: WdfRequestSend (asynchronous, synchronous,
 * with a timeout, send-and-forget), the completion of a sent request, WdfRequestCancelSentRequest,
 * timeouts, formatting (WdfRequestFormatRequestUsingCurrentType, WdfIoTargetFormatRequestFor*)
 * and the synchronous IOCTL helpers.
 *
 * Exactly-once completion. While a request is sent, r->send_refs counts who may still touch its
 * IRP: 1 for the completion itself, plus 1 for each cancel (WdfRequestCancelSentRequest, the
 * timeout timer, a target's cancel pass) in progress. A canceller takes its count only while it
 * is not zero, so it never touches an IRP whose completion has finished. The IRP's completion
 * routine returns STATUS_MORE_PROCESSING_REQUIRED and drops the completion's count; whoever drops
 * the last count finishes the send (send_finish), once: untracks it from the target, turns a
 * cancelled-by-timeout STATUS_CANCELLED into STATUS_IO_TIMEOUT, and calls the driver's completion
 * routine on that thread (or wakes the synchronous sender).
 *
 * Timeouts: a pk_timer embedded in the request (no allocation). While armed or firing,
 * r->timer_busy is set and the timer holds a reference on the request; send_finish disarms it and
 * drops that reference when the callback can no longer run, otherwise the callback does.
 *
 * The hot path (format, send, inline completion, reuse) allocates nothing: the IRP is the
 * request's own, the buffered-I/O system buffer is kept across uses, and nothing is queued.
 */
#include "wdf/wdf_internal.h"

#include <string.h>

static bool send_ref_get(wdf_request *r)
{
    int32_t c = pk_load_relaxed(&r->send_refs);
    do {
        if (c <= 0)
            return false;
    } while (!pk_cas(&r->send_refs, &c, c + 1));
    return true;
}

static bool send_ref_put(wdf_request *r) { return __atomic_sub_fetch(&r->send_refs, 1, __ATOMIC_ACQ_REL) == 0; }

/* ---- Formatting ---- */

void wdf_request_release_format(wdf_request *r)
{
    PIRP irp = r->irp;

    if (r->buffers_replaced && irp) {
        irp->AssociatedIrp.SystemBuffer = r->saved_system_buffer;
        irp->UserBuffer = r->saved_user_buffer;
        irp->MdlAddress = r->saved_mdl;
    } else if (r->mdl && irp && irp->MdlAddress == r->mdl) {
        irp->MdlAddress = NULL;
    }
    r->buffers_replaced = false;
    if (r->mdl) {
        IoFreeMdl(r->mdl);
        r->mdl = NULL;
    }
    for (int i = 0; i < 2; i++)
        if (r->format_mem[i]) {
            pk_object_dereference(r->format_mem[i]);
            r->format_mem[i] = NULL;
        }
    r->copy_back_to = NULL;
    r->copy_back_max = 0;
    r->formatted = false;
}

static NTSTATUS ensure_sysbuf(wdf_request *r, size_t size)
{
    void *b;

    if (size <= r->sysbuf_size)
        return STATUS_SUCCESS;
    b = pk_alloc(size);
    if (!b)
        return STATUS_INSUFFICIENT_RESOURCES;
    pk_free(r->sysbuf);
    r->sysbuf = b;
    r->sysbuf_size = size;
    return STATUS_SUCCESS;
}

/* Makes sure r has an IRP with room for t's stack below the current location. */
static NTSTATUS ensure_stack(wdf_request *r, wdf_iotarget *t)
{
    CCHAR need = wdf_target_stack_size(t);

    if (r->framework)
        return r->irp->CurrentLocation - 1 >= need ? STATUS_SUCCESS : STATUS_REQUEST_NOT_ACCEPTED;
    if (r->irp && !r->own_irp)
        /* The caller's IRP (WDF_REQUEST_REUSE_SET_NEW_IRP): never replaced here. */
        return r->irp->StackCount >= need ? STATUS_SUCCESS : STATUS_REQUEST_NOT_ACCEPTED;
    if (!r->irp || r->irp->StackCount < need) {
        PIRP irp = IoAllocateIrp(need, FALSE);
        if (!irp)
            return STATUS_INSUFFICIENT_RESOURCES;
        if (r->irp)
            IoFreeIrp(r->irp);
        r->irp = irp;
    }
    return STATUS_SUCCESS;
}

static bool formattable(wdf_request *r, const char *api)
{
    uint32_t state = pk_load_acquire(&r->state);

    if (r->framework ? state == WDF_REQ_DRIVER : state == WDF_REQ_IDLE)
        return true;
    pk_verifier_report(api, "WDFREQUEST %p cannot be formatted now (%s)", wdf_request_handle(r),
                       state == WDF_REQ_SENT   ? "it is sent"
                       : state == WDF_REQ_DONE ? "it completed: call WdfRequestReuse first"
                                               : "the driver does not own it");
    return false;
}

NTSTATUS wdf_request_format(wdf_request *r, wdf_iotarget *t, UCHAR major, ULONG ioctl, void *in, size_t in_len,
                            void *out, size_t out_len, pk_object *in_mem, size_t in_off, pk_object *out_mem,
                            size_t out_off, const LONGLONG *device_offset, const char *api)
{
    PIO_STACK_LOCATION next;
    PIRP irp;
    NTSTATUS status;
    ULONG flags = t->local ? t->target_device->Flags : pk_load_relaxed(&t->io_flags);
    bool buffered, direct;

    if (!formattable(r, api))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (pk_load_acquire(&t->state) != WdfIoTargetStarted && pk_load_acquire(&t->state) != WdfIoTargetStopped)
        return STATUS_INVALID_DEVICE_STATE;
    if (in_len > 0xFFFFFFFFu || out_len > 0xFFFFFFFFu)
        return STATUS_INVALID_PARAMETER;
    wdf_request_release_format(r);
    status = ensure_stack(r, t);
    if (!NT_SUCCESS(status))
        return status;
    irp = r->irp;

    if (major == IRP_MJ_DEVICE_CONTROL || major == IRP_MJ_INTERNAL_DEVICE_CONTROL) {
        ULONG method = METHOD_FROM_CTL_CODE(ioctl);
        buffered = method == METHOD_BUFFERED;
        direct = method == METHOD_IN_DIRECT || method == METHOD_OUT_DIRECT;
    } else {
        buffered = (flags & DO_BUFFERED_IO) != 0;
        direct = !buffered && (flags & DO_DIRECT_IO) != 0;
    }
    if (buffered || direct) {
        size_t size = buffered ? (in_len > out_len ? in_len : out_len) : in_len;
        status = ensure_sysbuf(r, size);
        if (!NT_SUCCESS(status))
            return status;
    }
    if (r->framework) {
        /* A framework request gets its own buffers back when the send completes. */
        r->saved_system_buffer = irp->AssociatedIrp.SystemBuffer;
        r->saved_user_buffer = irp->UserBuffer;
        r->saved_mdl = irp->MdlAddress;
        r->buffers_replaced = true;
    }
    irp->AssociatedIrp.SystemBuffer = NULL;
    irp->UserBuffer = NULL;
    irp->MdlAddress = NULL;
    if (direct && out_len && major != IRP_MJ_WRITE) {
        r->mdl = IoAllocateMdl(out, (ULONG)out_len, FALSE, FALSE, NULL);
        if (!r->mdl) {
            wdf_request_release_format(r);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        MmBuildMdlForNonPagedPool(r->mdl);
    } else if (direct && in_len && major == IRP_MJ_WRITE) {
        r->mdl = IoAllocateMdl(in, (ULONG)in_len, FALSE, FALSE, NULL);
        if (!r->mdl) {
            wdf_request_release_format(r);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        MmBuildMdlForNonPagedPool(r->mdl);
    }

    next = IoGetNextIrpStackLocation(irp);
    memset(next, 0, offsetof(IO_STACK_LOCATION, CompletionRoutine));
    next->MajorFunction = major;
    /* A remote target's send writes the file of the open it goes to (wdf_target_begin_send): a
     * format never races a reopen. The local target sends no file. */
    next->FileObject = NULL;
    WDF_REQUEST_COMPLETION_PARAMS_INIT(&r->completion_params);
    r->completion_params.Type = (WDF_REQUEST_TYPE)major;
    switch (major) {
    case IRP_MJ_DEVICE_CONTROL:
    case IRP_MJ_INTERNAL_DEVICE_CONTROL:
        next->Parameters.DeviceIoControl.IoControlCode = ioctl;
        next->Parameters.DeviceIoControl.InputBufferLength = (ULONG)in_len;
        next->Parameters.DeviceIoControl.OutputBufferLength = (ULONG)out_len;
        if (buffered) {
            if (in_len)
                memcpy(r->sysbuf, in, in_len);
            irp->AssociatedIrp.SystemBuffer = (in_len || out_len) ? r->sysbuf : NULL;
            irp->UserBuffer = out;
            r->copy_back_to = out;
            r->copy_back_max = out_len;
        } else if (direct) {
            if (in_len)
                memcpy(r->sysbuf, in, in_len);
            irp->AssociatedIrp.SystemBuffer = in_len ? r->sysbuf : NULL;
            irp->MdlAddress = r->mdl;
        } else {
            next->Parameters.DeviceIoControl.Type3InputBuffer = in;
            irp->UserBuffer = out;
        }
        r->completion_params.Parameters.Ioctl.IoControlCode = ioctl;
        r->completion_params.Parameters.Ioctl.Input.Buffer = in_mem ? (WDFMEMORY)pk_object_handle(in_mem) : NULL;
        r->completion_params.Parameters.Ioctl.Input.Offset = in_off;
        r->completion_params.Parameters.Ioctl.Output.Buffer = out_mem ? (WDFMEMORY)pk_object_handle(out_mem) : NULL;
        r->completion_params.Parameters.Ioctl.Output.Offset = out_off;
        break;
    case IRP_MJ_READ:
        next->Parameters.Read.Length = (ULONG)out_len;
        next->Parameters.Read.ByteOffset.QuadPart = device_offset ? *device_offset : 0;
        if (buffered) {
            irp->AssociatedIrp.SystemBuffer = out_len ? r->sysbuf : NULL;
            r->copy_back_to = out;
            r->copy_back_max = out_len;
        } else if (direct) {
            irp->MdlAddress = r->mdl;
        } else {
            irp->UserBuffer = out;
        }
        r->completion_params.Parameters.Read.Buffer = out_mem ? (WDFMEMORY)pk_object_handle(out_mem) : NULL;
        r->completion_params.Parameters.Read.Offset = out_off;
        break;
    case IRP_MJ_WRITE:
        next->Parameters.Write.Length = (ULONG)in_len;
        next->Parameters.Write.ByteOffset.QuadPart = device_offset ? *device_offset : 0;
        if (buffered) {
            if (in_len)
                memcpy(r->sysbuf, in, in_len);
            irp->AssociatedIrp.SystemBuffer = in_len ? r->sysbuf : NULL;
        } else if (direct) {
            irp->MdlAddress = r->mdl;
        } else {
            irp->UserBuffer = in;
        }
        r->completion_params.Parameters.Write.Buffer = in_mem ? (WDFMEMORY)pk_object_handle(in_mem) : NULL;
        r->completion_params.Parameters.Write.Offset = in_off;
        break;
    default:
        break;
    }
    /* The format keeps the memory objects it was given (references passed in by the caller). */
    r->format_mem[0] = in_mem;
    r->format_mem[1] = out_mem;
    r->formatted = true;
    return STATUS_SUCCESS;
}

/* The completion parameters of a request sent as its current type: the type and IOCTL code of
 * the stack location it goes down with (lengths are filled in at completion). */
static void params_from_next_location(wdf_request *r)
{
    PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(r->irp);

    WDF_REQUEST_COMPLETION_PARAMS_INIT(&r->completion_params);
    r->completion_params.Type = (WDF_REQUEST_TYPE)next->MajorFunction;
    if (next->MajorFunction == IRP_MJ_DEVICE_CONTROL || next->MajorFunction == IRP_MJ_INTERNAL_DEVICE_CONTROL)
        r->completion_params.Parameters.Ioctl.IoControlCode = next->Parameters.DeviceIoControl.IoControlCode;
}

VOID WdfRequestFormatRequestUsingCurrentType(WDFREQUEST Request)
{
    static const char api[] = "WdfRequestFormatRequestUsingCurrentType";
    wdf_request *r;

    if (!pk_irql_ok(api, DISPATCH_LEVEL) || !NT_SUCCESS(wdf_request_reference(Request, api, &r)))
        return;
    if (!r->framework || !r->irp || r->irp->CurrentLocation < 2) {
        pk_verifier_stop(api, "WDFREQUEST %p has no current stack location to copy, or no next one", Request);
    } else if (formattable(r, api)) {
        wdf_request_release_format(r);
        IoCopyCurrentIrpStackLocationToNext(r->irp);
        params_from_next_location(r);
        r->formatted = true;
    }
    pk_object_dereference(&r->header);
}

VOID WdfRequestWdmFormatUsingStackLocation(WDFREQUEST Request, PIO_STACK_LOCATION Stack)
{
    static const char api[] = "WdfRequestWdmFormatUsingStackLocation";
    wdf_request *r;

    if (!pk_irql_ok(api, DISPATCH_LEVEL) || !NT_SUCCESS(wdf_request_reference(Request, api, &r)))
        return;
    if (!Stack || !r->irp || r->irp->CurrentLocation < 2) {
        pk_verifier_stop(api, "NULL Stack, or WDFREQUEST %p has no IRP or no next stack location", Request);
    } else if (formattable(r, api)) {
        PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(r->irp);
        wdf_request_release_format(r);
        memcpy(next, Stack, offsetof(IO_STACK_LOCATION, CompletionRoutine));
        next->Control = 0;
        params_from_next_location(r);
        r->formatted = true;
    }
    pk_object_dereference(&r->header);
}

/* ---- Completion of a sent request ---- */

static void deliver_completion(wdf_request *r, wdf_iotarget *t);

static void passive_completion(PVOID context)
{
    wdf_request *r = context;
    deliver_completion(r, r->target);
}

/* Calls the driver's completion routine once. The send's reference on the request goes first:
 * the routine may reuse, resend or delete the request, and once it returns nothing of the
 * framework's may still hold the device (a driver that waits for its routine and then unloads
 * must find nothing left). The driver's own reference keeps the request alive during the
 * routine; the target handle is validated by every API that takes it. */
static void deliver_completion(wdf_request *r, wdf_iotarget *t)
{
    PFN_WDF_REQUEST_COMPLETION_ROUTINE routine = r->completion;
    WDFCONTEXT context = r->completion_context;
    WDFREQUEST rh = wdf_request_handle(r);
    WDFIOTARGET th = (WDFIOTARGET)pk_object_handle(&t->header);

    r->completion = NULL;
    r->completion_context = NULL;
    r->target = NULL;
    pk_store_release(&r->state, r->framework ? WDF_REQ_DRIVER : WDF_REQ_DONE);
    pk_object_dereference(&r->header);
    if (routine)
        routine(rh, th, &r->completion_params, context);
}

static void send_finish(wdf_request *r)
{
    wdf_iotarget *t = r->target;
    PIRP irp = r->irp;
    NTSTATUS status;

    if (pk_load_acquire(&r->timer_busy) && pk_timer_cancel(&r->timer, false)) {
        /* Disarmed before it fired: its callback will not run, its reference is ours to drop. */
        pk_store_release(&r->timer_busy, 0);
        pk_object_dereference(&r->header);
    }
    status = irp->IoStatus.Status;
    if (pk_load_acquire(&r->timed_out) && status == STATUS_CANCELLED) {
        status = STATUS_IO_TIMEOUT;
        irp->IoStatus.Status = status;
    }
    if (r->copy_back_to && r->sysbuf && NT_SUCCESS(status)) {
        size_t n = irp->IoStatus.Information < r->copy_back_max ? irp->IoStatus.Information : r->copy_back_max;
        if (n)
            memcpy(r->copy_back_to, r->sysbuf, n);
    }
    r->completion_params.IoStatus = irp->IoStatus;
    switch (r->completion_params.Type) {
    case WdfRequestTypeRead: r->completion_params.Parameters.Read.Length = irp->IoStatus.Information; break;
    case WdfRequestTypeWrite: r->completion_params.Parameters.Write.Length = irp->IoStatus.Information; break;
    case WdfRequestTypeDeviceControl:
    case WdfRequestTypeDeviceControlInternal:
        r->completion_params.Parameters.Ioctl.Output.Length = irp->IoStatus.Information;
        break;
    default: break;
    }
    if (r->framework && r->buffers_replaced) {
        /* Its own buffers again before the driver completes it upward. */
        wdf_request_release_format(r);
    }
    r->formatted = false;
    r->status = status;
    r->status_valid = true;
    wdf_target_end_send(t, r);

    if (r->synchronous) {
        /* The sender waits in wdf_request_send and drops the send's reference on the request
         * once woken; this thread keeps the request for the KeSetEvent with one of its own. */
        r->target = NULL;
        pk_store_release(&r->state, r->framework ? WDF_REQ_DRIVER : WDF_REQ_DONE);
        pk_object_reference(&r->header);
        KeSetEvent(&r->sync_done, IO_NO_INCREMENT, FALSE);
        pk_object_dereference(&r->header);
        return;
    }
    if (r->passive_completion && pk_irql() > PASSIVE_LEVEL) {
        ExInitializeWorkItem(&r->passive_work, passive_completion, r);
        pk_work_queue(&r->passive_work);
        return;
    }
    deliver_completion(r, t);
}

static NTSTATUS send_completion(PDEVICE_OBJECT device, PIRP irp, PVOID context)
{
    wdf_request *r = context;

    if (send_ref_put(r))
        send_finish(r);
    /* The request keeps its IRP: a framework request completes it upward later, a driver-created
     * one reuses it. */
    return STATUS_MORE_PROCESSING_REQUIRED;
}

void wdf_request_finish_unsent(wdf_request *r, NTSTATUS status)
{
    r->irp->IoStatus.Status = status;
    r->irp->IoStatus.Information = 0;
    if (send_ref_put(r))
        send_finish(r);
}

/* Cancels a sent request whose count the caller holds: a held one is taken off its target's
 * held list and finished unsent; a delivered one has its IRP cancelled. cancelled is set first:
 * a request being held at the same time sees it (wdf_target_begin_send). */
static void cancel_counted(wdf_request *r)
{
    pk_store_release(&r->cancelled, true);
    if (wdf_target_unhold(r->target, r))
        wdf_request_finish_unsent(r, STATUS_CANCELLED);
    else
        IoCancelIrp(r->irp);
}

/* Cancels the IRP of a sent request if its completion has not finished (TRUE). */
BOOLEAN wdf_request_cancel_sent(wdf_request *r)
{
    if (!send_ref_get(r))
        return FALSE;
    cancel_counted(r);
    if (send_ref_put(r))
        send_finish(r);
    return TRUE;
}

static void timer_release(PVOID context)
{
    wdf_request *r = context;

    /* The timer engine touches the timer after its callback returned: wait for that before the
     * request (and the timer in it) can go. */
    pk_timer_cancel(&r->timer, true);
    pk_object_dereference(&r->header);
}

static void send_timer_fired(void *context)
{
    wdf_request *r = context;
    bool last = false;

    if (send_ref_get(r)) {
        pk_store_release(&r->timed_out, true);
        cancel_counted(r);
        last = send_ref_put(r);
    }
    /* From here on this callback only finishes: a resend may re-arm the timer. */
    pk_store_release(&r->timer_busy, 0);
    if (last)
        send_finish(r);
    /* The timer's reference. Its last release cannot happen here, on the timer thread inside
     * the callback: a work item does it once the callback is over. */
    if (!pk_handle_put_unless_last(&r->header)) {
        ExInitializeWorkItem(&r->timer_release, timer_release, r);
        pk_work_queue(&r->timer_release);
    }
}

void wdf_request_timer_init(wdf_request *r) { pk_timer_init(&r->timer, send_timer_fired, r, false); }

void wdf_request_timer_quiesce(wdf_request *r)
{
    /* Returns at once when called from the timer's own callback (a completion routine that
     * resends from it); the callback cleared timer_busy before it could call that routine. */
    if (r->timer_used)
        pk_timer_cancel(&r->timer, true);
}

/* ---- Sending ---- */

void wdf_request_prepare_send(wdf_request *r, wdf_iotarget *t, ULONG flags, int32_t refs)
{
    /* The caller's reference on r is the send's now. The target takes no reference: a target is
     * never destroyed while it has tracked requests (its close waits for them), and send_finish
     * untracks before it lets go of the request. */
    r->target = t;
    r->synchronous = (flags & WDF_REQUEST_SEND_OPTION_SYNCHRONOUS) != 0;
    r->cancelled = false;
    r->timed_out = false;
    r->status_valid = false;
    if (r->major == IRP_MJ_CREATE && r->framework && t == r->device->target)
        wdf_file_create_sent(r);
    IoSetCompletionRoutine(r->irp, send_completion, r, TRUE, TRUE, TRUE);
    pk_store_release(&r->send_refs, refs);
    pk_store_release(&r->state, WDF_REQ_SENT);
}

/* Refuses the send; the caller's reference on r is consumed. */
static BOOLEAN refuse(wdf_request *r, NTSTATUS status)
{
    r->status = status;
    r->status_valid = true;
    pk_object_dereference(&r->header);
    return FALSE;
}

/* Consumes the caller's reference on r: a refusal drops it, an asynchronous send makes it the
 * send's reference (dropped before the completion routine runs, so that a request completed
 * inline can go back to its pool), a synchronous send drops it after the wait. */
BOOLEAN wdf_request_send(wdf_request *r, wdf_iotarget *t, const WDF_REQUEST_SEND_OPTIONS *options)
{
    static const char api[] = "WdfRequestSend";
    ULONG flags = options ? options->Flags : 0;
    uint32_t state = pk_load_acquire(&r->state);
    LONGLONG timeout = 0;
    wdf_send_decision decision;
    PDEVICE_OBJECT to;
    NTSTATUS status;
    PIRP irp;

    if (options && options->Size != sizeof(WDF_REQUEST_SEND_OPTIONS)) {
        pk_verifier_report(api, "WDF_REQUEST_SEND_OPTIONS.Size is %u, expected %zu", options->Size,
                           sizeof(WDF_REQUEST_SEND_OPTIONS));
        return refuse(r, STATUS_INVALID_PARAMETER);
    }
    if ((flags & WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET) &&
        (flags & (WDF_REQUEST_SEND_OPTION_TIMEOUT | WDF_REQUEST_SEND_OPTION_SYNCHRONOUS))) {
        pk_verifier_report(api, "SEND_AND_FORGET cannot be combined with a timeout or SYNCHRONOUS");
        return refuse(r, STATUS_INVALID_PARAMETER);
    }
    if ((flags & WDF_REQUEST_SEND_OPTION_SYNCHRONOUS) && !pk_irql_ok(api, PASSIVE_LEVEL))
        return refuse(r, STATUS_INVALID_DEVICE_REQUEST);
    if (flags & WDF_REQUEST_SEND_OPTION_TIMEOUT)
        timeout = options->Timeout;
    if (r->framework ? state != WDF_REQ_DRIVER : state != WDF_REQ_IDLE) {
        pk_verifier_report(api, "WDFREQUEST %p cannot be sent now (%s)", wdf_request_handle(r),
                           state == WDF_REQ_SENT   ? "it is sent already"
                           : state == WDF_REQ_DONE ? "it completed: call WdfRequestReuse first"
                                                   : "the driver does not own it");
        return refuse(r, STATUS_INVALID_DEVICE_REQUEST);
    }

    if (flags & WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET) {
        wdf_queue *q = r->queue;
        bool acked = false;

        if (!r->framework)
            return refuse(r, STATUS_INVALID_DEVICE_STATE);
        if (r->buffers_replaced || r->cancelable) {
            pk_verifier_report(api, "a request with formatted buffers, or marked cancelable, cannot be sent and forgotten");
            return refuse(r, STATUS_INVALID_DEVICE_REQUEST);
        }
        if (r->major == IRP_MJ_CREATE && r->device->file_class != WdfFileObjectNotRequired) {
            pk_verifier_report(api, "a create is sent and forgotten: its outcome would be lost (allowed only with "
                                    "WdfFileObjectNotRequired)");
            return refuse(r, STATUS_INVALID_DEVICE_REQUEST);
        }
        if (r->irp->CurrentLocation - 1 < wdf_target_stack_size(t))
            return refuse(r, STATUS_REQUEST_NOT_ACCEPTED);
        if (wdf_target_begin_send(t, r, flags, true, 0, &to, &status) == WDF_SEND_REFUSE)
            return refuse(r, status);
        /* The request is gone for the driver; the IRP goes down as it came. */
        irp = r->irp;
        pk_store_release(&r->state, WDF_REQ_DONE);
        if (r->major == IRP_MJ_CREATE)
            wdf_file_create_completing(r, STATUS_SUCCESS);
        if (q)
            acked = wdf_queue_detach(q, r);
        /* The driver no longer owns it: our reference goes first, so that it can be pooled. */
        pk_object_dereference(&r->header);
        wdf_request_recycle(r, 0);
        IoSkipCurrentIrpStackLocation(irp);
        IoCallDriver(to, irp);
        if (!t->local)
            ObDereferenceObject(to); /* wdf_target_begin_send's */
        if (q)
            wdf_queue_release(q, acked);
        return TRUE;
    }

    if (!(flags & WDF_REQUEST_SEND_OPTION_SYNCHRONOUS) && r->framework && !r->completion) {
        pk_verifier_report(api, "a request from a queue sent asynchronously needs a completion routine");
        return refuse(r, STATUS_INVALID_DEVICE_REQUEST);
    }
    irp = r->irp;
    if (!irp) {
        pk_verifier_report(api, "WDFREQUEST %p has no IRP: format it first", wdf_request_handle(r));
        return refuse(r, STATUS_INVALID_DEVICE_REQUEST);
    }
    if (!r->formatted) {
        if (!r->framework) {
            pk_verifier_report(api, "WDFREQUEST %p was not formatted", wdf_request_handle(r));
            return refuse(r, STATUS_INVALID_DEVICE_REQUEST);
        }
        /* KMDF's verifier flags this; the request goes on as its current type. */
        if (irp->CurrentLocation < 2)
            return refuse(r, STATUS_REQUEST_NOT_ACCEPTED);
        IoCopyCurrentIrpStackLocationToNext(irp);
        params_from_next_location(r);
        r->formatted = true;
    }
    if (irp->CurrentLocation - 1 < wdf_target_stack_size(t))
        return refuse(r, STATUS_REQUEST_NOT_ACCEPTED);
    /* A timeout timer of the previous send may still be finishing. */
    wdf_request_timer_quiesce(r);

    if (flags & WDF_REQUEST_SEND_OPTION_SYNCHRONOUS)
        KeClearEvent(&r->sync_done);
    /* wdf_target_begin_send sets r up as sent (wdf_request_prepare_send) under the target lock
     * before the request is in any of the target's lists. With a timeout the sender keeps a
     * count of its own until the timer is armed, so that a held request cannot finish (and
     * disarm the timer) before it is armed. */
    decision = wdf_target_begin_send(t, r, flags, false, timeout ? 2 : 1, &to, &status);
    if (decision == WDF_SEND_REFUSE)
        return refuse(r, status);
    if (timeout) {
        pk_object_reference(&r->header); /* the timer's */
        pk_store_release(&r->timer_busy, 1);
        r->timer_used = true;
        pk_timer_set(&r->timer, pk_deadline_from_timeout(timeout), 0);
    }
    if (decision == WDF_SEND_DELIVER) {
        if (timeout)
            send_ref_put(r); /* never the last: the completion's count is held until IoCallDriver */
        /* Asynchronous: from here on the request may be completed, reused or gone. */
        IoCallDriver(to, irp);
    } else {
        if (decision == WDF_SEND_CANCELLED)
            wdf_request_finish_unsent(r, STATUS_CANCELLED);
        if (timeout && send_ref_put(r))
            send_finish(r);
    }
    if (!(flags & WDF_REQUEST_SEND_OPTION_SYNCHRONOUS))
        return TRUE;
    KeWaitForSingleObject(&r->sync_done, Executive, KernelMode, FALSE, NULL);
    pk_object_dereference(&r->header);
    return TRUE;
}

BOOLEAN WdfRequestSend(WDFREQUEST Request, WDFIOTARGET Target, PWDF_REQUEST_SEND_OPTIONS Options)
{
    static const char api[] = "WdfRequestSend";
    wdf_request *r;
    wdf_iotarget *t;
    BOOLEAN sent;

    if (!pk_irql_ok(api, DISPATCH_LEVEL))
        return FALSE;
    if (!NT_SUCCESS(wdf_request_reference(Request, api, &r)))
        return FALSE;
    if (!NT_SUCCESS(wdf_target_reference(Target, api, &t)))
        return refuse(r, STATUS_INVALID_HANDLE);
    sent = wdf_request_send(r, t, Options); /* consumes our reference on r */
    pk_object_dereference(&t->header);
    return sent;
}

VOID WdfRequestSetCompletionRoutine(WDFREQUEST Request, PFN_WDF_REQUEST_COMPLETION_ROUTINE CompletionRoutine,
                                    WDFCONTEXT CompletionContext)
{
    wdf_request *r;

    if (!pk_irql_ok("WdfRequestSetCompletionRoutine", DISPATCH_LEVEL) ||
        !NT_SUCCESS(wdf_request_reference(Request, "WdfRequestSetCompletionRoutine", &r)))
        return;
    r->completion = CompletionRoutine;
    r->completion_context = CompletionContext;
    pk_object_dereference(&r->header);
}

BOOLEAN WdfRequestCancelSentRequest(WDFREQUEST Request)
{
    wdf_request *r;
    BOOLEAN result;

    if (!pk_irql_ok("WdfRequestCancelSentRequest", DISPATCH_LEVEL) ||
        !NT_SUCCESS(wdf_request_reference(Request, "WdfRequestCancelSentRequest", &r)))
        return FALSE;
    result = wdf_request_cancel_sent(r);
    pk_object_dereference(&r->header);
    return result;
}

/* ---- WdfIoTargetFormatRequestFor* ---- */

/* Resolves a memory object and its offsets to a buffer, referencing the object. */
static NTSTATUS memory_range(WDFMEMORY memory, PWDFMEMORY_OFFSET offsets, const char *api, pk_object **object,
                             void **buffer, size_t *length, size_t *offset)
{
    void *base;
    size_t size, off = 0, len;
    NTSTATUS status;

    *object = NULL;
    *buffer = NULL;
    *length = 0;
    *offset = 0;
    if (!memory)
        return STATUS_SUCCESS;
    status = wdf_memory_reference(memory, api, object, &base, &size);
    if (!NT_SUCCESS(status))
        return status;
    len = size;
    if (offsets) {
        off = offsets->BufferOffset;
        if (off > size) {
            pk_object_dereference(*object);
            *object = NULL;
            return STATUS_INVALID_PARAMETER;
        }
        len = offsets->BufferLength ? offsets->BufferLength : size - off;
        if (len > size - off) {
            pk_object_dereference(*object);
            *object = NULL;
            return STATUS_BUFFER_TOO_SMALL;
        }
    }
    *buffer = (char *)base + off;
    *length = len;
    *offset = off;
    return STATUS_SUCCESS;
}

static NTSTATUS format_api(WDFIOTARGET IoTarget, WDFREQUEST Request, UCHAR major, ULONG ioctl, WDFMEMORY in_memory,
                           PWDFMEMORY_OFFSET in_offsets, WDFMEMORY out_memory, PWDFMEMORY_OFFSET out_offsets,
                           PLONGLONG device_offset, const char *api)
{
    wdf_iotarget *t;
    wdf_request *r;
    pk_object *in_obj = NULL, *out_obj = NULL;
    void *in, *out;
    size_t in_len, out_len, in_off, out_off;
    NTSTATUS status;

    if (!pk_irql_ok(api, DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    status = wdf_target_reference(IoTarget, api, &t);
    if (!NT_SUCCESS(status))
        return status;
    status = wdf_request_reference(Request, api, &r);
    if (!NT_SUCCESS(status))
        goto release_target;
    status = memory_range(in_memory, in_offsets, api, &in_obj, &in, &in_len, &in_off);
    if (!NT_SUCCESS(status))
        goto release_request;
    status = memory_range(out_memory, out_offsets, api, &out_obj, &out, &out_len, &out_off);
    if (!NT_SUCCESS(status))
        goto release_in;
    status = wdf_request_format(r, t, major, ioctl, in, in_len, out, out_len, in_obj, in_off, out_obj, out_off,
                                device_offset, api);
    if (NT_SUCCESS(status))
        goto release_request; /* the request keeps both references */
    if (out_obj)
        pk_object_dereference(out_obj);
release_in:
    if (in_obj)
        pk_object_dereference(in_obj);
release_request:
    pk_object_dereference(&r->header);
release_target:
    pk_object_dereference(&t->header);
    return status;
}

NTSTATUS WdfIoTargetFormatRequestForIoctl(WDFIOTARGET IoTarget, WDFREQUEST Request, ULONG IoctlCode,
                                          WDFMEMORY InputBuffer, PWDFMEMORY_OFFSET InputBufferOffset,
                                          WDFMEMORY OutputBuffer, PWDFMEMORY_OFFSET OutputBufferOffset)
{
    return format_api(IoTarget, Request, IRP_MJ_DEVICE_CONTROL, IoctlCode, InputBuffer, InputBufferOffset,
                      OutputBuffer, OutputBufferOffset, NULL, "WdfIoTargetFormatRequestForIoctl");
}

NTSTATUS WdfIoTargetFormatRequestForInternalIoctl(WDFIOTARGET IoTarget, WDFREQUEST Request, ULONG IoctlCode,
                                                  WDFMEMORY InputBuffer, PWDFMEMORY_OFFSET InputBufferOffset,
                                                  WDFMEMORY OutputBuffer, PWDFMEMORY_OFFSET OutputBufferOffset)
{
    return format_api(IoTarget, Request, IRP_MJ_INTERNAL_DEVICE_CONTROL, IoctlCode, InputBuffer, InputBufferOffset,
                      OutputBuffer, OutputBufferOffset, NULL, "WdfIoTargetFormatRequestForInternalIoctl");
}

NTSTATUS WdfIoTargetFormatRequestForRead(WDFIOTARGET IoTarget, WDFREQUEST Request, WDFMEMORY OutputBuffer,
                                         PWDFMEMORY_OFFSET OutputBufferOffset, PLONGLONG DeviceOffset)
{
    return format_api(IoTarget, Request, IRP_MJ_READ, 0, NULL, NULL, OutputBuffer, OutputBufferOffset, DeviceOffset,
                      "WdfIoTargetFormatRequestForRead");
}

NTSTATUS WdfIoTargetFormatRequestForWrite(WDFIOTARGET IoTarget, WDFREQUEST Request, WDFMEMORY InputBuffer,
                                          PWDFMEMORY_OFFSET InputBufferOffset, PLONGLONG DeviceOffset)
{
    return format_api(IoTarget, Request, IRP_MJ_WRITE, 0, InputBuffer, InputBufferOffset, NULL, NULL, DeviceOffset,
                      "WdfIoTargetFormatRequestForWrite");
}

/* ---- Synchronous IOCTLs ---- */

static NTSTATUS descriptor_range(PWDF_MEMORY_DESCRIPTOR d, const char *api, pk_object **object, void **buffer,
                                 size_t *length, size_t *offset)
{
    *object = NULL;
    *buffer = NULL;
    *length = 0;
    *offset = 0;
    if (!d)
        return STATUS_SUCCESS;
    switch (d->Type) {
    case WdfMemoryDescriptorTypeBuffer:
        if (!d->u.BufferType.Buffer && d->u.BufferType.Length)
            return STATUS_INVALID_PARAMETER;
        *buffer = d->u.BufferType.Buffer;
        *length = d->u.BufferType.Length;
        return STATUS_SUCCESS;
    case WdfMemoryDescriptorTypeMdl:
        if (!d->u.MdlType.Mdl)
            return STATUS_INVALID_PARAMETER;
        *buffer = MmGetMdlVirtualAddress(d->u.MdlType.Mdl);
        *length = d->u.MdlType.BufferLength;
        return STATUS_SUCCESS;
    case WdfMemoryDescriptorTypeHandle:
        return memory_range(d->u.HandleType.Memory, d->u.HandleType.Offsets, api, object, buffer, length, offset);
    default:
        return STATUS_INVALID_PARAMETER;
    }
}

static NTSTATUS send_ioctl_sync(WDFIOTARGET IoTarget, WDFREQUEST Request, UCHAR major, ULONG IoctlCode,
                                PWDF_MEMORY_DESCRIPTOR InputBuffer, PWDF_MEMORY_DESCRIPTOR OutputBuffer,
                                PWDF_REQUEST_SEND_OPTIONS RequestOptions, PULONG_PTR BytesReturned, const char *api)
{
    WDF_REQUEST_SEND_OPTIONS options;
    pk_object *in_obj, *out_obj;
    void *in, *out;
    size_t in_len, out_len, in_off, out_off;
    wdf_iotarget *t;
    wdf_request *r;
    WDFREQUEST own = NULL;
    NTSTATUS status;

    if (!pk_irql_ok(api, PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (RequestOptions && RequestOptions->Size != sizeof(WDF_REQUEST_SEND_OPTIONS))
        return STATUS_INFO_LENGTH_MISMATCH;
    status = wdf_target_reference(IoTarget, api, &t);
    if (!NT_SUCCESS(status))
        return status;
    if (!Request) {
        status = WdfRequestCreate(WDF_NO_OBJECT_ATTRIBUTES, IoTarget, &own);
        if (!NT_SUCCESS(status))
            goto release_target;
        Request = own;
    }
    status = wdf_request_reference(Request, api, &r);
    if (!NT_SUCCESS(status))
        goto delete_own;
    status = descriptor_range(InputBuffer, api, &in_obj, &in, &in_len, &in_off);
    if (!NT_SUCCESS(status))
        goto release_request;
    status = descriptor_range(OutputBuffer, api, &out_obj, &out, &out_len, &out_off);
    if (!NT_SUCCESS(status)) {
        if (in_obj)
            pk_object_dereference(in_obj);
        goto release_request;
    }
    status = wdf_request_format(r, t, major, IoctlCode, in, in_len, out, out_len, in_obj, in_off, out_obj, out_off,
                                NULL, api);
    if (!NT_SUCCESS(status)) {
        if (in_obj)
            pk_object_dereference(in_obj);
        if (out_obj)
            pk_object_dereference(out_obj);
        goto release_request;
    }
    WDF_REQUEST_SEND_OPTIONS_INIT(&options, WDF_REQUEST_SEND_OPTION_SYNCHRONOUS);
    if (RequestOptions) {
        options.Flags |= RequestOptions->Flags & (WDF_REQUEST_SEND_OPTION_TIMEOUT | WDF_REQUEST_SEND_OPTION_IGNORE_TARGET_STATE);
        options.Timeout = RequestOptions->Timeout;
    }
    pk_object_reference(&r->header); /* consumed by the send; ours stays for what follows */
    wdf_request_send(r, t, &options);
    status = r->status;
    if (BytesReturned)
        *BytesReturned = NT_SUCCESS(status) && r->irp ? r->irp->IoStatus.Information : 0;
release_request:
    pk_object_dereference(&r->header);
delete_own:
    if (own)
        WdfObjectDelete((WDFOBJECT)own);
release_target:
    pk_object_dereference(&t->header);
    return status;
}

NTSTATUS WdfIoTargetSendIoctlSynchronously(WDFIOTARGET IoTarget, WDFREQUEST Request, ULONG IoctlCode,
                                           PWDF_MEMORY_DESCRIPTOR InputBuffer, PWDF_MEMORY_DESCRIPTOR OutputBuffer,
                                           PWDF_REQUEST_SEND_OPTIONS RequestOptions, PULONG_PTR BytesReturned)
{
    return send_ioctl_sync(IoTarget, Request, IRP_MJ_DEVICE_CONTROL, IoctlCode, InputBuffer, OutputBuffer,
                           RequestOptions, BytesReturned, "WdfIoTargetSendIoctlSynchronously");
}

NTSTATUS WdfIoTargetSendInternalIoctlSynchronously(WDFIOTARGET IoTarget, WDFREQUEST Request, ULONG IoctlCode,
                                                   PWDF_MEMORY_DESCRIPTOR InputBuffer,
                                                   PWDF_MEMORY_DESCRIPTOR OutputBuffer,
                                                   PWDF_REQUEST_SEND_OPTIONS RequestOptions, PULONG_PTR BytesReturned)
{
    return send_ioctl_sync(IoTarget, Request, IRP_MJ_INTERNAL_DEVICE_CONTROL, IoctlCode, InputBuffer, OutputBuffer,
                           RequestOptions, BytesReturned, "WdfIoTargetSendInternalIoctlSynchronously");
}
