/*
 * dmf_request_target.c — DMF_RequestTarget, and the request engine it shares with
 * DMF_ContinuousRequestTarget (dmf_request_target_engine.h).
 *
 * Single requests come from a per-module pool of records (a WDFREQUEST with two preallocated
 * memory objects): a send takes an idle record or makes one, and the completion returns it, so
 * steady traffic allocates nothing. A send with an id enters its record in the cancellable list;
 * Cancel finds the id under the engine's lock, pins the record (so it is not handed out again),
 * and cancels after the lock is released. Reusable requests are records of their own, kept in
 * the reuse list until ReuseDelete or close. Passive modules deliver completions on a work item.
 *
 * Locking: the engine's spin lock (rt_engine.lock, not the module lock: completions arrive at
 * DISPATCH_LEVEL even for passive modules) protects the lists, the target and the flags. WDF
 * calls and client callbacks run with no lock held.
 *
 * Who frees what: a record is counted (rt_req.refs: its owner and any Cancel pinning it); the last
 * count destroys it and its WDFREQUEST and memory objects. Every send holds a module reference
 * until its client callback returned, so the framework's close (which waits for references)
 * waits for sends; dmf_rt_close then frees the idle records, reports reusable requests never
 * deleted, and waits for the passive-delivery work item to go idle.
 */
#include "dmf/dmf_request_target_engine.h"
#include "base/base_internal.h"

#include <stdlib.h>
#include <string.h>

/* =============================================================================================
 * Module Private Enumerations and Structures
 * ============================================================================================= */

typedef struct {
    rt_engine engine;
} rt_context;

static const dmf_module_descriptor request_target_descriptor;

/* One counter for every cancel and reuse id of the process. */
static ULONG64 rt_next_id = 0x100;

static ULONG64 rt_new_id(void) { return __atomic_fetch_add(&rt_next_id, 1, __ATOMIC_RELAXED); }

/* =============================================================================================
 * Module Private Code (the engine)
 * ============================================================================================= */

static void rt_deliver(rt_req *rec);

static VOID rt_work(PVOID context)
{
    rt_engine *e = context;

    for (;;) {
        rt_req *rec = NULL;
        RT_LOCK(e);
        if (IsListEmpty(&e->passive_queue)) {
            dmf_module *m = e->m;
            e->worker_scheduled = false;
            KeSetEvent(&e->worker_idle, IO_NO_INCREMENT, FALSE);
            RT_UNLOCK(e);
            /* The reference taken when the item was queued kept the engine's memory alive
             * through the unlock, although close may already have gone on. */
            dmf_module_object_dereference(m);
            return;
        }
        rec = CONTAINING_RECORD(RemoveHeadList(&e->passive_queue), rt_req, work_link);
        RT_UNLOCK(e);
        rt_deliver(rec);
    }
}

void dmf_rt_init(rt_engine *e, dmf_module *m)
{
    memset(e, 0, sizeof(*e));
    e->m = m;
    KeInitializeSpinLock(&e->lock);
    InitializeListHead(&e->cancellable);
    InitializeListHead(&e->reuse);
    InitializeListHead(&e->free_pool);
    InitializeListHead(&e->passive_queue);
    ExInitializeWorkItem(&e->work_item, rt_work, e);
    KeInitializeEvent(&e->worker_idle, NotificationEvent, TRUE);
}

rt_req *dmf_rt_req_new(rt_engine *e, rt_kind kind)
{
    rt_req *rec = calloc(1, sizeof(*rec));

    if (!rec)
        return NULL;
    if (!NT_SUCCESS(WdfRequestCreate(WDF_NO_OBJECT_ATTRIBUTES, NULL, &rec->request))) {
        free(rec);
        return NULL;
    }
    rec->e = e;
    rec->kind = kind;
    rec->refs = 1;
    InitializeListHead(&rec->link);
    return rec;
}

void dmf_rt_req_destroy(rt_req *rec)
{
    if (!rec)
        return;
    WdfObjectDelete(rec->request);
    if (rec->in_mem)
        WdfObjectDelete(rec->in_mem);
    if (rec->out_mem)
        WdfObjectDelete(rec->out_mem);
    free(rec);
}

/* Drops one reference of rec; the last one returns a pooled record to the pool (or frees it
 * when the module is closed) and frees a deleted reuse record. */
static void rt_req_release(rt_req *rec)
{
    rt_engine *e = rec->e;
    bool destroy = false;

    RT_LOCK(e);
    if (--rec->refs == 0) {
        if (rec->kind == RT_POOLED && e->open) {
            rec->refs = 1;
            InsertHeadList(&e->free_pool, &rec->link);
        } else {
            destroy = true;
        }
    }
    RT_UNLOCK(e);
    if (destroy)
        dmf_rt_req_destroy(rec);
}

static rt_req *rt_req_get_pooled(rt_engine *e)
{
    rt_req *rec = NULL;

    RT_LOCK(e);
    if (!IsListEmpty(&e->free_pool))
        rec = CONTAINING_RECORD(RemoveHeadList(&e->free_pool), rt_req, link);
    RT_UNLOCK(e);
    if (!rec)
        rec = dmf_rt_req_new(e, RT_POOLED);
    return rec;
}

static NTSTATUS rt_memory(WDFMEMORY *mem, VOID *buffer, size_t length, WDFMEMORY *use)
{
    *use = NULL;
    if (!buffer || !length)
        return STATUS_SUCCESS;
    if (*mem) {
        NTSTATUS status = WdfMemoryAssignBuffer(*mem, buffer, length);
        if (NT_SUCCESS(status))
            *use = *mem;
        return status;
    }
    NTSTATUS status = WdfMemoryCreatePreallocated(WDF_NO_OBJECT_ATTRIBUTES, buffer, length, mem);
    if (NT_SUCCESS(status))
        *use = *mem;
    return status;
}

/* Reuses rec's request and formats it for target with rec's type and buffers. */
static NTSTATUS rt_format(rt_req *rec, WDFIOTARGET target, ULONG ioctl)
{
    WDF_REQUEST_REUSE_PARAMS reuse;
    WDFMEMORY in = NULL, out = NULL;
    NTSTATUS status;

    WDF_REQUEST_REUSE_PARAMS_INIT(&reuse, WDF_REQUEST_REUSE_NO_FLAGS, STATUS_SUCCESS);
    status = WdfRequestReuse(rec->request, &reuse);
    if (!NT_SUCCESS(status))
        return status;
    status = rt_memory(&rec->in_mem, rec->in, rec->in_len, &in);
    if (NT_SUCCESS(status))
        status = rt_memory(&rec->out_mem, rec->out, rec->out_len, &out);
    if (!NT_SUCCESS(status))
        return status;
    switch (rec->type) {
    case ContinuousRequestTarget_RequestType_Ioctl:
        return WdfIoTargetFormatRequestForIoctl(target, rec->request, ioctl, in, NULL, out, NULL);
    case ContinuousRequestTarget_RequestType_InternalIoctl:
        return WdfIoTargetFormatRequestForInternalIoctl(target, rec->request, ioctl, in, NULL, out, NULL);
    case ContinuousRequestTarget_RequestType_Read:
        return WdfIoTargetFormatRequestForRead(target, rec->request, out, NULL, NULL);
    case ContinuousRequestTarget_RequestType_Write:
        return WdfIoTargetFormatRequestForWrite(target, rec->request, in, NULL, NULL);
    default:
        return STATUS_INVALID_PARAMETER;
    }
}

/* Runs the client callback of a completed single or reuse request, or the stream handler. */
static void rt_deliver(rt_req *rec)
{
    rt_engine *e = rec->e;
    dmf_module *m = e->m;
    EVT_DMF_RequestTarget_SendCompletion *callback;
    VOID *context, *in, *out;
    size_t in_written = 0, out_read = 0;
    NTSTATUS status = rec->status;
    bool pooled;

    if (rec->kind == RT_STREAM) {
        e->stream_complete(e, rec);
        return;
    }
    pooled = rec->kind == RT_POOLED;
    callback = rec->callback;
    context = rec->callback_context;
    in = rec->in;
    out = rec->out;
    switch (rec->type) {
    case ContinuousRequestTarget_RequestType_Ioctl:
    case ContinuousRequestTarget_RequestType_InternalIoctl:
        in_written = rec->in_len;
        out_read = rec->information;
        break;
    case ContinuousRequestTarget_RequestType_Read:
        out_read = rec->information;
        break;
    default:
        in_written = rec->information;
        break;
    }
    RT_LOCK(e);
    if (rec->in_cancel_list) {
        RemoveEntryList(&rec->cancel_link);
        rec->in_cancel_list = false;
    }
    /* Idle before the callback: the callback may send this reuse id again. */
    rec->in_flight = false;
    RT_UNLOCK(e);

    /* A reuse record may be sent again or deleted from here on: touch it no more. */
    if (callback)
        callback(dmf_module_client_handle(m), context, in, in_written, out, out_read, status);
    if (pooled)
        rt_req_release(rec);
    DMF_ModuleDereference(dmf_module_handle(m));
}

static VOID rt_completion(WDFREQUEST request, WDFIOTARGET target, PWDF_REQUEST_COMPLETION_PARAMS params,
                          WDFCONTEXT context)
{
    rt_req *rec = context;
    rt_engine *e = rec->e;

    rec->status = params->IoStatus.Status;
    rec->information = params->IoStatus.Information;
    if (e->passive) {
        bool schedule;
        RT_LOCK(e);
        InsertTailList(&e->passive_queue, &rec->work_link);
        schedule = !e->worker_scheduled;
        if (schedule) {
            e->worker_scheduled = true;
            KeClearEvent(&e->worker_idle);
            dmf_module_object_reference(e->m);
        }
        RT_UNLOCK(e);
        if (schedule)
            ExQueueWorkItem(&e->work_item, DelayedWorkQueue);
        return;
    }
    rt_deliver(rec);
}

NTSTATUS dmf_rt_open(rt_engine *e)
{
    RT_LOCK(e);
    e->passive = dmf_module_is_passive(e->m);
    e->open = true;
    RT_UNLOCK(e);
    return STATUS_SUCCESS;
}

void dmf_rt_close(rt_engine *e)
{
    LIST_ENTRY gone;
    int leaked = 0;

    InitializeListHead(&gone);
    /* Every single and reuse send holds a module reference until its callback returned, so
     * the framework's wait for references (an event) already waited for them. */
    RT_LOCK(e);
    e->open = false;
    while (!IsListEmpty(&e->free_pool))
        InsertTailList(&gone, RemoveHeadList(&e->free_pool));
    while (!IsListEmpty(&e->reuse)) {
        rt_req *rec = CONTAINING_RECORD(RemoveHeadList(&e->reuse), rt_req, link);
        leaked++;
        if (--rec->refs == 0)
            InsertTailList(&gone, &rec->link);
    }
    RT_UNLOCK(e);
    if (leaked)
        pk_verifier_report("DMF_ModuleClose", "%s: %d reusable request(s) never deleted with ReuseDelete",
                           dmf_module_name(e->m), leaked);
    while (!IsListEmpty(&gone))
        dmf_rt_req_destroy(CONTAINING_RECORD(RemoveHeadList(&gone), rt_req, link));
    /* The work item may still be finishing its loop after the last delivery. */
    KeWaitForSingleObject(&e->worker_idle, Executive, KernelMode, FALSE, NULL);
}

NTSTATUS dmf_rt_target_set(rt_engine *e, WDFIOTARGET target)
{
    NTSTATUS status = STATUS_SUCCESS;

    if (!target)
        return STATUS_INVALID_PARAMETER;
    RT_LOCK(e);
    if (e->target)
        status = STATUS_INVALID_DEVICE_STATE;
    else
        e->target = target;
    RT_UNLOCK(e);
    return status;
}

void dmf_rt_target_clear(rt_engine *e)
{
    RT_LOCK(e);
    e->target = NULL;
    RT_UNLOCK(e);
}

NTSTATUS dmf_rt_target_get(rt_engine *e, WDFIOTARGET *target)
{
    WDFIOTARGET t;

    if (!target)
        return STATUS_INVALID_PARAMETER;
    RT_LOCK(e);
    t = e->target;
    RT_UNLOCK(e);
    *target = t;
    return t ? STATUS_SUCCESS : STATUS_INVALID_DEVICE_STATE;
}

static bool rt_type_valid(ContinuousRequestTarget_RequestType type)
{
    return type >= ContinuousRequestTarget_RequestType_InternalIoctl && type <= ContinuousRequestTarget_RequestType_Write;
}

static rt_req *rt_reuse_find_locked(rt_engine *e, ULONG64 id)
{
    for (LIST_ENTRY *le = e->reuse.Flink; le != &e->reuse; le = le->Flink) {
        rt_req *rec = CONTAINING_RECORD(le, rt_req, link);
        if (rec->reuse_id == id)
            return rec;
    }
    return NULL;
}

NTSTATUS dmf_rt_send(rt_engine *e, const char *api, VOID *in, size_t in_len, VOID *out, size_t out_len,
                     ContinuousRequestTarget_RequestType type, ULONG ioctl, ULONG timeout_ms,
                     EVT_DMF_RequestTarget_SendCompletion *callback, VOID *context,
                     RequestTarget_DmfRequestCancel *id_out, RequestTarget_DmfRequestReuse reuse_id)
{
    DMFMODULE handle = dmf_module_handle(e->m);
    WDF_REQUEST_SEND_OPTIONS options;
    WDFIOTARGET target;
    rt_req *rec;
    NTSTATUS status;

    if (!NT_SUCCESS(DMF_ModuleReference(handle)))
        return STATUS_INVALID_DEVICE_STATE;
    if (!rt_type_valid(type)) {
        status = STATUS_INVALID_PARAMETER;
        goto fail;
    }
    RT_LOCK(e);
    target = e->target;
    rec = NULL;
    if (reuse_id) {
        rec = rt_reuse_find_locked(e, (ULONG64)(uintptr_t)reuse_id);
        if (!rec || rec->in_flight) {
            RT_UNLOCK(e);
            status = STATUS_OBJECTID_NOT_FOUND;
            goto fail;
        }
        rec->in_flight = true;
    }
    RT_UNLOCK(e);
    if (!target) {
        status = STATUS_INVALID_DEVICE_STATE;
        goto fail_rec;
    }
    if (!rec) {
        rec = rt_req_get_pooled(e);
        if (!rec) {
            status = STATUS_INSUFFICIENT_RESOURCES;
            goto fail;
        }
    }
    rec->type = type;
    rec->in = in;
    rec->in_len = in_len;
    rec->out = out;
    rec->out_len = out_len;
    rec->callback = callback;
    rec->callback_context = context;
    rec->cancel_id = 0;
    status = rt_format(rec, target, ioctl);
    if (!NT_SUCCESS(status))
        goto fail_rec;
    WdfRequestSetCompletionRoutine(rec->request, rt_completion, rec);
    if (id_out) {
        rec->cancel_id = rt_new_id();
        RT_LOCK(e);
        InsertTailList(&e->cancellable, &rec->cancel_link);
        rec->in_cancel_list = true;
        RT_UNLOCK(e);
    }
    WDF_REQUEST_SEND_OPTIONS_INIT(&options, 0);
    if (timeout_ms)
        WDF_REQUEST_SEND_OPTIONS_SET_TIMEOUT(&options, WDF_REL_TIMEOUT_IN_MS(timeout_ms));
    {
        ULONG64 id = rec->cancel_id; /* rec may complete and be reused once sent */
        if (!WdfRequestSend(rec->request, target, &options)) {
            status = WdfRequestGetStatus(rec->request);
            if (NT_SUCCESS(status))
                status = STATUS_INVALID_DEVICE_STATE;
            RT_LOCK(e);
            if (rec->in_cancel_list) {
                RemoveEntryList(&rec->cancel_link);
                rec->in_cancel_list = false;
            }
            RT_UNLOCK(e);
            goto fail_rec;
        }
        if (id_out)
            *id_out = (RequestTarget_DmfRequestCancel)(uintptr_t)id;
    }
    /* The module reference is dropped by rt_deliver. */
    return STATUS_SUCCESS;

fail_rec:
    if (rec) {
        if (rec->kind == RT_REUSE) {
            RT_LOCK(e);
            rec->in_flight = false;
            RT_UNLOCK(e);
        } else {
            rt_req_release(rec);
        }
    }
fail:
    DMF_ModuleDereference(handle);
    return status;
}

NTSTATUS dmf_rt_send_sync(rt_engine *e, const char *api, VOID *in, size_t in_len, VOID *out, size_t out_len,
                          ContinuousRequestTarget_RequestType type, ULONG ioctl, ULONG timeout_ms, size_t *bytes)
{
    DMFMODULE handle = dmf_module_handle(e->m);
    WDF_REQUEST_SEND_OPTIONS options;
    WDFIOTARGET target;
    rt_req *rec = NULL;
    NTSTATUS status;

    if (bytes)
        *bytes = 0;
    if (KeGetCurrentIrql() > PASSIVE_LEVEL)
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!NT_SUCCESS(DMF_ModuleReference(handle)))
        return STATUS_INVALID_DEVICE_STATE;
    if (!rt_type_valid(type)) {
        status = STATUS_INVALID_PARAMETER;
        goto done;
    }
    RT_LOCK(e);
    target = e->target;
    RT_UNLOCK(e);
    if (!target) {
        status = STATUS_INVALID_DEVICE_STATE;
        goto done;
    }
    rec = rt_req_get_pooled(e);
    if (!rec) {
        status = STATUS_INSUFFICIENT_RESOURCES;
        goto done;
    }
    rec->type = type;
    rec->in = in;
    rec->in_len = in_len;
    rec->out = out;
    rec->out_len = out_len;
    status = rt_format(rec, target, ioctl);
    if (!NT_SUCCESS(status))
        goto done;
    WdfRequestSetCompletionRoutine(rec->request, NULL, NULL);
    WDF_REQUEST_SEND_OPTIONS_INIT(&options, WDF_REQUEST_SEND_OPTION_SYNCHRONOUS);
    if (timeout_ms)
        WDF_REQUEST_SEND_OPTIONS_SET_TIMEOUT(&options, WDF_REL_TIMEOUT_IN_MS(timeout_ms));
    (void)WdfRequestSend(rec->request, target, &options);
    status = WdfRequestGetStatus(rec->request);
    if (NT_SUCCESS(status) && bytes)
        *bytes = WdfRequestGetInformation(rec->request);
done:
    if (rec)
        rt_req_release(rec);
    DMF_ModuleDereference(handle);
    return status;
}

BOOLEAN dmf_rt_cancel(rt_engine *e, RequestTarget_DmfRequestCancel id)
{
    DMFMODULE handle = dmf_module_handle(e->m);
    ULONG64 want = (ULONG64)(uintptr_t)id;
    rt_req *found = NULL;
    BOOLEAN cancelled = FALSE;

    if (!want || !NT_SUCCESS(DMF_ModuleReference(handle)))
        return FALSE;
    RT_LOCK(e);
    for (LIST_ENTRY *le = e->cancellable.Flink; le != &e->cancellable; le = le->Flink) {
        rt_req *rec = CONTAINING_RECORD(le, rt_req, cancel_link);
        if (rec->cancel_id == want) {
            found = rec;
            found->refs++; /* pinned: not handed out again until we are done */
            break;
        }
    }
    RT_UNLOCK(e);
    if (found) {
        cancelled = WdfRequestCancelSentRequest(found->request);
        rt_req_release(found);
    }
    DMF_ModuleDereference(handle);
    return cancelled;
}

NTSTATUS dmf_rt_reuse_create(rt_engine *e, RequestTarget_DmfRequestReuse *id)
{
    DMFMODULE handle = dmf_module_handle(e->m);
    rt_req *rec;

    if (!id)
        return STATUS_INVALID_PARAMETER;
    if (!NT_SUCCESS(DMF_ModuleReference(handle)))
        return STATUS_INVALID_DEVICE_STATE;
    rec = dmf_rt_req_new(e, RT_REUSE);
    if (!rec) {
        DMF_ModuleDereference(handle);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    rec->reuse_id = rt_new_id();
    RT_LOCK(e);
    InsertTailList(&e->reuse, &rec->link);
    RT_UNLOCK(e);
    *id = (RequestTarget_DmfRequestReuse)(uintptr_t)rec->reuse_id;
    DMF_ModuleDereference(handle);
    return STATUS_SUCCESS;
}

BOOLEAN dmf_rt_reuse_delete(rt_engine *e, RequestTarget_DmfRequestReuse id)
{
    rt_req *rec;
    bool destroy = false;

    RT_LOCK(e);
    rec = id ? rt_reuse_find_locked(e, (ULONG64)(uintptr_t)id) : NULL;
    if (!rec || rec->in_flight) {
        RT_UNLOCK(e);
        return FALSE;
    }
    RemoveEntryList(&rec->link);
    destroy = --rec->refs == 0;
    RT_UNLOCK(e);
    if (destroy)
        dmf_rt_req_destroy(rec);
    return TRUE;
}

bool dmf_rt_stream_send(rt_engine *e, rt_req *rec, WDFIOTARGET target, ULONG ioctl, NTSTATUS *status)
{
    *status = rt_format(rec, target, ioctl);
    if (!NT_SUCCESS(*status))
        return false;
    WdfRequestSetCompletionRoutine(rec->request, rt_completion, rec);
    if (!WdfRequestSend(rec->request, target, WDF_NO_SEND_OPTIONS)) {
        *status = WdfRequestGetStatus(rec->request);
        if (NT_SUCCESS(*status))
            *status = STATUS_INVALID_DEVICE_STATE;
        return false;
    }
    return true;
}

/* =============================================================================================
 * WDF Module Callbacks
 *
 * None: RequestTarget takes no part in PnP or power events.
 * ============================================================================================= */

/* =============================================================================================
 * DMF Module Callbacks
 * ============================================================================================= */

static NTSTATUS request_target_create(DMFMODULE DmfModule)
{
    dmf_module *m = dmf_module_from_callback(DmfModule);
    dmf_rt_init(&((rt_context *)dmf_module_context(m))->engine, m);
    return STATUS_SUCCESS;
}

static NTSTATUS request_target_open(DMFMODULE DmfModule)
{
    dmf_module *m = dmf_module_from_callback(DmfModule);
    return dmf_rt_open(&((rt_context *)dmf_module_context(m))->engine);
}

static VOID request_target_close(DMFMODULE DmfModule)
{
    dmf_module *m = dmf_module_from_callback(DmfModule);
    dmf_rt_close(&((rt_context *)dmf_module_context(m))->engine);
}

static const dmf_module_descriptor request_target_descriptor = {
    .name = "RequestTarget",
    .options = DMF_MODULE_OPTIONS_DISPATCH_MAXIMUM,
    .open_option = DMF_MODULE_OPEN_OPTION_OPEN_Create,
    .context_size = sizeof(rt_context),
    .config_size = 0,
    .create = request_target_create,
    .open = request_target_open,
    .close = request_target_close,
};

/* =============================================================================================
 * Public Calls by Client
 * ============================================================================================= */

NTSTATUS DMF_RequestTarget_Create(WDFDEVICE Device, DMF_MODULE_ATTRIBUTES *DmfModuleAttributes,
                                  WDF_OBJECT_ATTRIBUTES *ObjectAttributes, DMFMODULE *DmfModule)
{
    return dmf_module_create(Device, DmfModuleAttributes, ObjectAttributes, &request_target_descriptor, DmfModule);
}

#define RT_ENTER(api, irql, fail)                                                                  \
    dmf_module *m;                                                                                 \
    if (!dmf_method_enter(DmfModule, &request_target_descriptor, api, irql, &m))                   \
        return fail;                                                                               \
    rt_engine *e = &((rt_context *)dmf_module_context(m))->engine

NTSTATUS DMF_RequestTarget_IoTargetSet(DMFMODULE DmfModule, WDFIOTARGET IoTarget)
{
    RT_ENTER("DMF_RequestTarget_IoTargetSet", DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    NTSTATUS status = dmf_rt_target_set(e, IoTarget);
    dmf_method_leave(m);
    return status;
}

VOID DMF_RequestTarget_IoTargetClear(DMFMODULE DmfModule)
{
    RT_ENTER("DMF_RequestTarget_IoTargetClear", DISPATCH_LEVEL, );
    dmf_rt_target_clear(e);
    dmf_method_leave(m);
}

NTSTATUS DMF_RequestTarget_Get(DMFMODULE DmfModule, WDFIOTARGET *IoTarget)
{
    RT_ENTER("DMF_RequestTarget_Get", DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    NTSTATUS status = dmf_rt_target_get(e, IoTarget);
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_RequestTarget_Send(DMFMODULE DmfModule, VOID *RequestBuffer, size_t RequestLength, VOID *ResponseBuffer,
                                size_t ResponseLength, ContinuousRequestTarget_RequestType RequestType,
                                ULONG RequestIoctl, ULONG RequestTimeoutMilliseconds,
                                EVT_DMF_RequestTarget_SendCompletion *EvtRequestTargetSingleAsynchronousRequest,
                                VOID *SingleAsynchronousRequestClientContext)
{
    RT_ENTER("DMF_RequestTarget_Send", DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    NTSTATUS status = dmf_rt_send(e, "DMF_RequestTarget_Send", RequestBuffer, RequestLength, ResponseBuffer,
                                  ResponseLength, RequestType, RequestIoctl, RequestTimeoutMilliseconds,
                                  EvtRequestTargetSingleAsynchronousRequest, SingleAsynchronousRequestClientContext,
                                  NULL, NULL);
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_RequestTarget_SendEx(DMFMODULE DmfModule, VOID *RequestBuffer, size_t RequestLength, VOID *ResponseBuffer,
                                  size_t ResponseLength, ContinuousRequestTarget_RequestType RequestType,
                                  ULONG RequestIoctl, ULONG RequestTimeoutMilliseconds,
                                  EVT_DMF_RequestTarget_SendCompletion *EvtRequestTargetSingleAsynchronousRequest,
                                  VOID *SingleAsynchronousRequestClientContext,
                                  RequestTarget_DmfRequestCancel *DmfRequestIdCancel)
{
    RT_ENTER("DMF_RequestTarget_SendEx", DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    NTSTATUS status = dmf_rt_send(e, "DMF_RequestTarget_SendEx", RequestBuffer, RequestLength, ResponseBuffer,
                                  ResponseLength, RequestType, RequestIoctl, RequestTimeoutMilliseconds,
                                  EvtRequestTargetSingleAsynchronousRequest, SingleAsynchronousRequestClientContext,
                                  DmfRequestIdCancel, NULL);
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_RequestTarget_SendSynchronously(DMFMODULE DmfModule, VOID *RequestBuffer, size_t RequestLength,
                                             VOID *ResponseBuffer, size_t ResponseLength,
                                             ContinuousRequestTarget_RequestType RequestType, ULONG RequestIoctl,
                                             ULONG RequestTimeoutMilliseconds, size_t *BytesWritten)
{
    RT_ENTER("DMF_RequestTarget_SendSynchronously", DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    NTSTATUS status = dmf_rt_send_sync(e, "DMF_RequestTarget_SendSynchronously", RequestBuffer, RequestLength,
                                       ResponseBuffer, ResponseLength, RequestType, RequestIoctl,
                                       RequestTimeoutMilliseconds, BytesWritten);
    dmf_method_leave(m);
    return status;
}

BOOLEAN DMF_RequestTarget_Cancel(DMFMODULE DmfModule, RequestTarget_DmfRequestCancel DmfRequestIdCancel)
{
    RT_ENTER("DMF_RequestTarget_Cancel", DISPATCH_LEVEL, FALSE);
    BOOLEAN r = dmf_rt_cancel(e, DmfRequestIdCancel);
    dmf_method_leave(m);
    return r;
}

NTSTATUS DMF_RequestTarget_ReuseCreate(DMFMODULE DmfModule, RequestTarget_DmfRequestReuse *DmfRequestIdReuse)
{
    RT_ENTER("DMF_RequestTarget_ReuseCreate", DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    NTSTATUS status = dmf_rt_reuse_create(e, DmfRequestIdReuse);
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_RequestTarget_ReuseSend(DMFMODULE DmfModule, RequestTarget_DmfRequestReuse DmfRequestIdReuse,
                                     VOID *RequestBuffer, size_t RequestLength, VOID *ResponseBuffer,
                                     size_t ResponseLength, ContinuousRequestTarget_RequestType RequestType,
                                     ULONG RequestIoctl, ULONG RequestTimeoutMilliseconds,
                                     EVT_DMF_RequestTarget_SendCompletion *EvtRequestTargetSingleAsynchronousRequest,
                                     VOID *SingleAsynchronousRequestClientContext,
                                     RequestTarget_DmfRequestCancel *DmfRequestIdCancel)
{
    RT_ENTER("DMF_RequestTarget_ReuseSend", DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    NTSTATUS status = DmfRequestIdReuse
                          ? dmf_rt_send(e, "DMF_RequestTarget_ReuseSend", RequestBuffer, RequestLength,
                                        ResponseBuffer, ResponseLength, RequestType, RequestIoctl,
                                        RequestTimeoutMilliseconds, EvtRequestTargetSingleAsynchronousRequest,
                                        SingleAsynchronousRequestClientContext, DmfRequestIdCancel, DmfRequestIdReuse)
                          : STATUS_OBJECTID_NOT_FOUND;
    dmf_method_leave(m);
    return status;
}

BOOLEAN DMF_RequestTarget_ReuseDelete(DMFMODULE DmfModule, RequestTarget_DmfRequestReuse DmfRequestIdReuse)
{
    RT_ENTER("DMF_RequestTarget_ReuseDelete", DISPATCH_LEVEL, FALSE);
    BOOLEAN r = dmf_rt_reuse_delete(e, DmfRequestIdReuse);
    dmf_method_leave(m);
    return r;
}
