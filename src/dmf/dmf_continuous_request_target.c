/*
 * dmf_continuous_request_target.c — DMF_ContinuousRequestTarget: the single-request methods of
 * DMF_RequestTarget (through the shared engine, dmf_request_target_engine.h) plus a stream of
 * ContinuousRequestCount requests that are re-sent as they complete.
 *
 * Stream records are made at Open and live until Close. A re-send from a completion never
 * grows the stack: a thread that is already sending stream requests queues the record on a
 * per-thread list, and the outermost sender on that thread drains it (a trampoline), so a
 * target that completes inline turns recursion into a loop. StopAndWait marks the stream
 * stopping, cancels what was sent, and waits on an event signalled by the last stream request
 * to end.
 *
 * Locking: the shared engine's spin lock (RT_LOCK) protects the stream state (running, stopping,
 * the count of stream requests out); pool calls, sends, cancels and client callbacks run with no
 * lock held. The per-thread re-send list needs no lock.
 *
 * Who frees what: the module owns its stream records (made at Open, destroyed at Close after the
 * stream stopped) and its two BufferPool children (deleted by the framework with the module). A
 * buffer is in the output pool, in a request, or with the client after a Client* disposition,
 * who returns it with BufferPut.
 */
#include "dmf/dmf_request_target_engine.h"
#include "base/base_internal.h"

#include <stdlib.h>
#include <string.h>

/* =============================================================================================
 * Module Private Enumerations and Structures
 * ============================================================================================= */

typedef struct {
    rt_engine engine; /* first: the engine's work item finds it at the start of the context */
    DMFMODULE input_pool, output_pool;
    DMFMODULE power; /* the D0 child (static modules with PurgeAndStartTargetInD0Callbacks) */
    rt_req **stream;  /* ContinuousRequestCount records, from Open to Close */
    ULONG live;       /* stream requests that have not ended */
    bool running;     /* Start succeeded, no Stop since */
    bool stopping;    /* completions end their request instead of re-sending */
    KEVENT stream_done; /* signalled while live == 0 */
} crt_context;

static const dmf_module_descriptor crt_descriptor;

/* The per-thread re-send queue of the trampoline. */
static __thread rt_req *crt_tl_head, *crt_tl_tail;
static __thread bool crt_tl_active;

/* =============================================================================================
 * Module Private Code
 * ============================================================================================= */

static crt_context *crt_of(rt_engine *e) { return (crt_context *)e; }

static DMF_CONFIG_ContinuousRequestTarget *crt_config(crt_context *c)
{
    return dmf_module_config(c->engine.m);
}

/* A stream request's stream ended (it will not be sent again until the next Start). */
static void crt_stream_end(crt_context *c, rt_req *rec)
{
    rt_engine *e = &c->engine;
    dmf_module *m = e->m;

    /* Once stream_done is set, close may go on: the object reference keeps the context alive
     * through the unlock. */
    dmf_module_object_reference(m);
    RT_LOCK(e);
    rec->in_flight = false;
    if (--c->live == 0)
        KeSetEvent(&c->stream_done, IO_NO_INCREMENT, FALSE);
    RT_UNLOCK(e);
    dmf_module_object_dereference(m);
}

static void crt_return_buffers(crt_context *c, rt_req *rec, bool output)
{
    if (rec->in_buf) {
        DMF_BufferPool_Put(c->input_pool, rec->in_buf);
        rec->in_buf = NULL;
    }
    if (output && rec->out_buf)
        DMF_BufferPool_Put(c->output_pool, rec->out_buf);
    rec->out_buf = NULL;
}

/* Takes buffers, formats and sends one stream request. False (buffers returned) when the
 * request could not be sent; *status tells why. */
static bool crt_send_one(crt_context *c, rt_req *rec, NTSTATUS *status)
{
    rt_engine *e = &c->engine;
    DMF_CONFIG_ContinuousRequestTarget *config = crt_config(c);
    WDFIOTARGET target;
    bool stopping;

    RT_LOCK(e);
    stopping = c->stopping;
    target = e->target;
    RT_UNLOCK(e);
    if (stopping || !target) {
        *status = stopping ? STATUS_CANCELLED : STATUS_INVALID_DEVICE_STATE;
        return false;
    }
    rec->in = rec->out = NULL;
    rec->in_len = rec->out_len = 0;
    if (config->BufferInputSize) {
        size_t size = config->BufferInputSize;
        *status = c->input_pool ? DMF_BufferPool_Get(c->input_pool, &rec->in_buf, &rec->in_ctx)
                                : STATUS_INSUFFICIENT_RESOURCES;
        if (!NT_SUCCESS(*status))
            return false;
        if (config->EvtContinuousRequestTargetBufferInput) {
            config->EvtContinuousRequestTargetBufferInput(dmf_module_client_handle(e->m), rec->in_buf, &size,
                                                          rec->in_ctx);
            if (size > config->BufferInputSize)
                pk_verifier_stop("EvtContinuousRequestTargetBufferInput",
                                 "reported %zu bytes for an input buffer of %u", size, config->BufferInputSize);
        }
        rec->in = rec->in_buf;
        rec->in_len = config->BufferInputSize;
    }
    if (config->BufferOutputSize) {
        *status = c->output_pool ? DMF_BufferPool_Get(c->output_pool, &rec->out_buf, &rec->out_ctx)
                                 : STATUS_INSUFFICIENT_RESOURCES;
        if (!NT_SUCCESS(*status)) {
            crt_return_buffers(c, rec, false);
            return false;
        }
        rec->out = rec->out_buf;
        rec->out_len = config->BufferOutputSize;
    }
    rec->type = config->RequestType;
    if (!dmf_rt_stream_send(e, rec, target, config->ContinuousRequestTargetIoctl, status)) {
        crt_return_buffers(c, rec, true);
        return false;
    }
    /* A Stop that ran between the check above and the send did not see this request sent. */
    RT_LOCK(e);
    stopping = c->stopping;
    RT_UNLOCK(e);
    if (stopping)
        WdfRequestCancelSentRequest(rec->request);
    return true;
}

/* Sends the records queued on this thread until none is left (the trampoline's loop). */
static void crt_drain(void)
{
    crt_tl_active = true;
    while (crt_tl_head) {
        rt_req *r = crt_tl_head;
        NTSTATUS status;
        crt_tl_head = r->tl_next;
        if (!crt_tl_head)
            crt_tl_tail = NULL;
        if (!crt_send_one(crt_of(r->e), r, &status))
            crt_stream_end(crt_of(r->e), r);
    }
    crt_tl_active = false;
}

/* Re-sends rec, through the per-thread trampoline: a thread already sending stream requests
 * only queues it, and its outermost loop sends it. */
static void crt_resend(crt_context *c, rt_req *rec)
{
    rec->tl_next = NULL;
    if (crt_tl_tail)
        crt_tl_tail->tl_next = rec;
    else
        crt_tl_head = rec;
    crt_tl_tail = rec;
    if (!crt_tl_active)
        crt_drain();
}

/* Completion of a stream request (inline, or on the work item for a passive module). */
static void crt_stream_complete(rt_engine *e, rt_req *rec)
{
    crt_context *c = crt_of(e);
    DMF_CONFIG_ContinuousRequestTarget *config = crt_config(c);
    ContinuousRequestTarget_BufferDisposition disposition;
    bool stopping;

    RT_LOCK(e);
    stopping = c->stopping;
    RT_UNLOCK(e);
    if (stopping) {
        disposition = ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndStopStreaming;
    } else if (config->EvtContinuousRequestTargetBufferOutput) {
        disposition = config->EvtContinuousRequestTargetBufferOutput(
            dmf_module_client_handle(e->m), rec->out_buf, rec->out_buf ? rec->information : 0, rec->out_ctx,
            rec->status);
        if (disposition <= ContinuousRequestTarget_BufferDisposition_Invalid ||
            disposition >= ContinuousRequestTarget_BufferDisposition_Maximum) {
            pk_verifier_stop("EvtContinuousRequestTargetBufferOutput", "invalid disposition %d", (int)disposition);
            disposition = ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndStopStreaming;
        }
    } else {
        disposition = NT_SUCCESS(rec->status)
                          ? ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndContinueStreaming
                          : ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndStopStreaming;
    }
    crt_return_buffers(c, rec,
                       disposition == ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndContinueStreaming ||
                           disposition == ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndStopStreaming);
    if (disposition == ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndContinueStreaming ||
        disposition == ContinuousRequestTarget_BufferDisposition_ClientAndContinueStreaming)
        crt_resend(c, rec);
    else
        crt_stream_end(c, rec);
}

/* Marks the stream stopping, cancels what was sent, and (wait, PASSIVE_LEVEL) waits. */
static void crt_stop(crt_context *c, bool wait)
{
    rt_engine *e = &c->engine;
    ULONG count = crt_config(c)->ContinuousRequestCount;

    RT_LOCK(e);
    c->stopping = true;
    c->running = false;
    RT_UNLOCK(e);
    for (ULONG i = 0; c->stream && i < count; i++) {
        bool sent;
        RT_LOCK(e);
        sent = c->stream[i]->in_flight;
        RT_UNLOCK(e);
        if (sent)
            WdfRequestCancelSentRequest(c->stream[i]->request);
    }
    if (wait && KeGetCurrentIrql() == PASSIVE_LEVEL)
        KeWaitForSingleObject(&c->stream_done, Executive, KernelMode, FALSE, NULL);
}

static NTSTATUS crt_start(crt_context *c)
{
    rt_engine *e = &c->engine;
    DMF_CONFIG_ContinuousRequestTarget *config = crt_config(c);
    ULONG count = config->ContinuousRequestCount;
    NTSTATUS status = STATUS_SUCCESS;
    bool outer;

    if (config->BufferInputSize && config->BufferCountInput < count)
        return STATUS_INSUFFICIENT_RESOURCES;
    RT_LOCK(e);
    if (c->running || c->live || !e->target || !c->stream) {
        RT_UNLOCK(e);
        return STATUS_INVALID_DEVICE_STATE;
    }
    c->running = true;
    c->stopping = false;
    c->live = count;
    if (count)
        KeClearEvent(&c->stream_done);
    for (ULONG i = 0; i < count; i++)
        c->stream[i]->in_flight = true;
    RT_UNLOCK(e);
    /* Every request is sent once before any inline completion re-sends one. */
    outer = !crt_tl_active;
    crt_tl_active = true;
    for (ULONG i = 0; i < count; i++) {
        if (crt_send_one(c, c->stream[i], &status))
            continue;
        /* This request and the ones not yet sent end; the sent ones are cancelled. */
        for (ULONG j = i; j < count; j++)
            crt_stream_end(c, c->stream[j]);
        crt_stop(c, false);
        break;
    }
    if (outer)
        crt_drain();
    if (!NT_SUCCESS(status) && KeGetCurrentIrql() == PASSIVE_LEVEL)
        KeWaitForSingleObject(&c->stream_done, Executive, KernelMode, FALSE, NULL);
    return status;
}

/* =============================================================================================
 * WDF Module Callbacks
 *
 * D0 handling (PurgeAndStartTargetInD0Callbacks) lives in an internal child module,
 * "ContinuousRequestTarget.Power", added only when the module is static: a dynamic module may
 * not take part in power events. Its D0Exit stops the stream (CancelAndResendRequestInD0Callbacks)
 * and purges the target (waiting for what was sent); its D0Entry, except the first, starts the
 * target and restarts a stream that D0Exit stopped. The child gets D0Entry before and D0Exit after its parent, which
 * has no power callbacks of its own.
 * ============================================================================================= */

typedef struct {
    bool powered_once;
    bool restart_stream;
} crt_power_context;

static crt_context *crt_power_parent(DMFMODULE child)
{
    dmf_module *parent = dmf_module_from_callback(DMF_ParentModuleGet(child));
    return parent ? dmf_module_context(parent) : NULL;
}

static NTSTATUS crt_power_d0_entry(DMFMODULE DmfModule, ULONG previous_state)
{
    crt_power_context *p = dmf_module_context(dmf_module_from_callback(DmfModule));
    crt_context *c = crt_power_parent(DmfModule);

    if (!c)
        return STATUS_SUCCESS;
    if (!p->powered_once) {
        p->powered_once = true;
        return STATUS_SUCCESS;
    }
    RT_LOCK(&c->engine);
    WDFIOTARGET target = c->engine.target;
    RT_UNLOCK(&c->engine);
    if (target) {
        NTSTATUS status = WdfIoTargetStart(target);
        if (!NT_SUCCESS(status))
            return status;
    }
    if (p->restart_stream) {
        p->restart_stream = false;
        NTSTATUS status = crt_start(c);
        if (!NT_SUCCESS(status))
            pk_verifier_report("ContinuousRequestTarget D0Entry", "restarting the stream failed: 0x%08x",
                               (unsigned)status);
    }
    return STATUS_SUCCESS;
}

static NTSTATUS crt_power_d0_exit(DMFMODULE DmfModule, ULONG target_state)
{
    crt_power_context *p = dmf_module_context(dmf_module_from_callback(DmfModule));
    crt_context *c = crt_power_parent(DmfModule);
    WDFIOTARGET target;
    bool running;

    if (!c)
        return STATUS_SUCCESS;
    RT_LOCK(&c->engine);
    target = c->engine.target;
    running = c->running;
    RT_UNLOCK(&c->engine);
    if (crt_config(c)->CancelAndResendRequestInD0Callbacks) {
        p->restart_stream = running;
        crt_stop(c, true);
    }
    if (target)
        WdfIoTargetPurge(target, WdfIoTargetPurgeIoAndWait);
    return STATUS_SUCCESS;
}

static const dmf_module_descriptor crt_power_descriptor = {
    .name = "ContinuousRequestTarget.Power",
    .options = DMF_MODULE_OPTIONS_DISPATCH_MAXIMUM,
    .open_option = DMF_MODULE_OPEN_OPTION_OPEN_Create,
    .context_size = sizeof(crt_power_context),
    .d0_entry = crt_power_d0_entry,
    .d0_exit = crt_power_d0_exit,
};

static NTSTATUS crt_power_create(WDFDEVICE Device, DMF_MODULE_ATTRIBUTES *DmfModuleAttributes,
                                 WDF_OBJECT_ATTRIBUTES *ObjectAttributes, DMFMODULE *DmfModule)
{
    return dmf_module_create(Device, DmfModuleAttributes, ObjectAttributes, &crt_power_descriptor, DmfModule);
}

/* =============================================================================================
 * DMF Module Callbacks
 * ============================================================================================= */

static NTSTATUS crt_create(DMFMODULE DmfModule)
{
    dmf_module *m = dmf_module_from_callback(DmfModule);
    crt_context *c = dmf_module_context(m);
    DMF_CONFIG_ContinuousRequestTarget *config = dmf_module_config(m);
    NTSTATUS status;

    if (config->ContinuousRequestCount &&
        (config->RequestType < ContinuousRequestTarget_RequestType_InternalIoctl ||
         config->RequestType > ContinuousRequestTarget_RequestType_Write)) {
        pk_verifier_report("DMF_ContinuousRequestTarget_Create", "RequestType %d is invalid", (int)config->RequestType);
        return STATUS_INVALID_PARAMETER;
    }
    if (config->ContinuousRequestTargetMode != ContinuousRequestTarget_Mode_Manual &&
        config->ContinuousRequestTargetMode != ContinuousRequestTarget_Mode_Automatic)
        return STATUS_INVALID_PARAMETER;
    if (config->BufferInputSize &&
        !NT_SUCCESS(status = dmf_module_check_pool_type(m, config->PoolTypeInput, "PoolTypeInput")))
        return status;
    if (config->BufferOutputSize &&
        !NT_SUCCESS(status = dmf_module_check_pool_type(m, config->PoolTypeOutput, "PoolTypeOutput")))
        return status;
    dmf_rt_init(&c->engine, m);
    c->engine.stream_complete = crt_stream_complete;
    KeInitializeEvent(&c->stream_done, NotificationEvent, TRUE);
    return STATUS_SUCCESS;
}

static VOID crt_child_modules_add(DMFMODULE DmfModule, DMF_MODULE_ATTRIBUTES *DmfParentModuleAttributes,
                                  PDMFMODULE_INIT DmfModuleInit)
{
    dmf_module *m = dmf_module_from_callback(DmfModule);
    crt_context *c = dmf_module_context(m);
    DMF_CONFIG_ContinuousRequestTarget *config = dmf_module_config(m);
    DMF_CONFIG_BufferPool pool_config;
    DMF_MODULE_ATTRIBUTES attributes;

    if (config->BufferInputSize && config->BufferCountInput) {
        DMF_CONFIG_BufferPool_AND_ATTRIBUTES_INIT(&pool_config, &attributes);
        pool_config.BufferPoolMode = BufferPool_Mode_Source;
        pool_config.Mode.SourceSettings.BufferCount = config->BufferCountInput;
        pool_config.Mode.SourceSettings.BufferSize = config->BufferInputSize;
        pool_config.Mode.SourceSettings.BufferContextSize = config->BufferContextInputSize;
        pool_config.Mode.SourceSettings.PoolType = config->PoolTypeInput;
        attributes.PassiveLevel = DmfParentModuleAttributes->PassiveLevel;
        attributes.ClientModuleInstanceName = (PSTR)(uintptr_t)"ContinuousRequestTarget.Input";
        DMF_DmfModuleAdd(DmfModuleInit, &attributes, WDF_NO_OBJECT_ATTRIBUTES, &c->input_pool);
    }
    if (config->PurgeAndStartTargetInD0Callbacks && !DmfParentModuleAttributes->DynamicModule) {
        DMF_MODULE_ATTRIBUTES_INIT(&attributes, 0);
        attributes.InstanceCreator = crt_power_create;
        attributes.PassiveLevel = DmfParentModuleAttributes->PassiveLevel;
        attributes.ClientModuleInstanceName = (PSTR)(uintptr_t)"ContinuousRequestTarget.Power";
        DMF_DmfModuleAdd(DmfModuleInit, &attributes, WDF_NO_OBJECT_ATTRIBUTES, &c->power);
    }
    if (config->BufferOutputSize && (config->BufferCountOutput || config->EnableLookAsideOutput)) {
        DMF_CONFIG_BufferPool_AND_ATTRIBUTES_INIT(&pool_config, &attributes);
        pool_config.BufferPoolMode = BufferPool_Mode_Source;
        pool_config.Mode.SourceSettings.BufferCount = config->BufferCountOutput;
        pool_config.Mode.SourceSettings.BufferSize = config->BufferOutputSize;
        pool_config.Mode.SourceSettings.BufferContextSize = config->BufferContextOutputSize;
        pool_config.Mode.SourceSettings.EnableLookAside = config->EnableLookAsideOutput;
        pool_config.Mode.SourceSettings.PoolType = config->PoolTypeOutput;
        attributes.PassiveLevel = DmfParentModuleAttributes->PassiveLevel;
        attributes.ClientModuleInstanceName = (PSTR)(uintptr_t)"ContinuousRequestTarget.Output";
        DMF_DmfModuleAdd(DmfModuleInit, &attributes, WDF_NO_OBJECT_ATTRIBUTES, &c->output_pool);
    }
}

static void crt_free_stream(crt_context *c, ULONG count)
{
    if (!c->stream)
        return;
    for (ULONG i = 0; i < count; i++)
        dmf_rt_req_destroy(c->stream[i]);
    free(c->stream);
    c->stream = NULL;
}

static NTSTATUS crt_open(DMFMODULE DmfModule)
{
    dmf_module *m = dmf_module_from_callback(DmfModule);
    crt_context *c = dmf_module_context(m);
    DMF_CONFIG_ContinuousRequestTarget *config = dmf_module_config(m);
    ULONG count = config->ContinuousRequestCount;
    NTSTATUS status;

    c->stream = calloc(count ? count : 1, sizeof(*c->stream));
    if (!c->stream)
        return STATUS_INSUFFICIENT_RESOURCES;
    for (ULONG i = 0; i < count; i++) {
        c->stream[i] = dmf_rt_req_new(&c->engine, RT_STREAM);
        if (!c->stream[i]) {
            crt_free_stream(c, i);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        c->stream[i]->index = i;
    }
    status = dmf_rt_open(&c->engine);
    if (!NT_SUCCESS(status)) {
        crt_free_stream(c, count);
        return status;
    }
    RT_LOCK(&c->engine);
    c->running = false;
    c->stopping = true;
    RT_UNLOCK(&c->engine);
    return STATUS_SUCCESS;
}

static VOID crt_close(DMFMODULE DmfModule)
{
    dmf_module *m = dmf_module_from_callback(DmfModule);
    crt_context *c = dmf_module_context(m);

    crt_stop(c, true);
    dmf_rt_close(&c->engine);
    crt_free_stream(c, crt_config(c)->ContinuousRequestCount);
}

static const dmf_module_descriptor crt_descriptor = {
    .name = "ContinuousRequestTarget",
    .options = DMF_MODULE_OPTIONS_DISPATCH_MAXIMUM,
    .open_option = DMF_MODULE_OPEN_OPTION_OPEN_Create,
    .context_size = sizeof(crt_context),
    .config_size = sizeof(DMF_CONFIG_ContinuousRequestTarget),
    .create = crt_create,
    .child_modules_add = crt_child_modules_add,
    .open = crt_open,
    .close = crt_close,
};

DMFMODULE dmf_crt_output_pool(DMFMODULE crt)
{
    dmf_module *m = dmf_module_from_callback(crt);
    return m ? ((crt_context *)dmf_module_context(m))->output_pool : NULL;
}

/* =============================================================================================
 * Public Calls by Client
 * ============================================================================================= */

NTSTATUS DMF_ContinuousRequestTarget_Create(WDFDEVICE Device, DMF_MODULE_ATTRIBUTES *DmfModuleAttributes,
                                            WDF_OBJECT_ATTRIBUTES *ObjectAttributes, DMFMODULE *DmfModule)
{
    return dmf_module_create(Device, DmfModuleAttributes, ObjectAttributes, &crt_descriptor, DmfModule);
}

#define CRT_ENTER(api, irql, fail)                                                                 \
    dmf_module *m;                                                                                 \
    if (!dmf_method_enter(DmfModule, &crt_descriptor, api, irql, &m))                              \
        return fail;                                                                               \
    crt_context *c = dmf_module_context(m);                                                        \
    rt_engine *e = &c->engine

NTSTATUS DMF_ContinuousRequestTarget_IoTargetSet(DMFMODULE DmfModule, WDFIOTARGET IoTarget)
{
    CRT_ENTER("DMF_ContinuousRequestTarget_IoTargetSet", DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    NTSTATUS status = dmf_rt_target_set(e, IoTarget);
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_ContinuousRequestTarget_IoTargetClear(DMFMODULE DmfModule)
{
    NTSTATUS status = STATUS_SUCCESS;
    CRT_ENTER("DMF_ContinuousRequestTarget_IoTargetClear", DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    RT_LOCK(e);
    if (c->running || c->live)
        status = STATUS_INVALID_DEVICE_STATE;
    else
        e->target = NULL;
    RT_UNLOCK(e);
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_ContinuousRequestTarget_Get(DMFMODULE DmfModule, WDFIOTARGET *IoTarget)
{
    CRT_ENTER("DMF_ContinuousRequestTarget_Get", DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    NTSTATUS status = dmf_rt_target_get(e, IoTarget);
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_ContinuousRequestTarget_Send(
    DMFMODULE DmfModule, VOID *RequestBuffer, size_t RequestLength, VOID *ResponseBuffer, size_t ResponseLength,
    ContinuousRequestTarget_RequestType RequestType, ULONG RequestIoctl, ULONG RequestTimeoutMilliseconds,
    EVT_DMF_ContinuousRequestTarget_SendCompletion *EvtContinuousRequestTargetSingleAsynchronousRequest,
    VOID *SingleAsynchronousRequestClientContext)
{
    CRT_ENTER("DMF_ContinuousRequestTarget_Send", DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    NTSTATUS status = dmf_rt_send(e, "DMF_ContinuousRequestTarget_Send", RequestBuffer, RequestLength, ResponseBuffer,
                                  ResponseLength, RequestType, RequestIoctl, RequestTimeoutMilliseconds,
                                  EvtContinuousRequestTargetSingleAsynchronousRequest,
                                  SingleAsynchronousRequestClientContext, NULL, NULL);
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_ContinuousRequestTarget_SendEx(
    DMFMODULE DmfModule, VOID *RequestBuffer, size_t RequestLength, VOID *ResponseBuffer, size_t ResponseLength,
    ContinuousRequestTarget_RequestType RequestType, ULONG RequestIoctl, ULONG RequestTimeoutMilliseconds,
    EVT_DMF_ContinuousRequestTarget_SendCompletion *EvtContinuousRequestTargetSingleAsynchronousRequest,
    VOID *SingleAsynchronousRequestClientContext, RequestTarget_DmfRequestCancel *DmfRequestIdCancel)
{
    CRT_ENTER("DMF_ContinuousRequestTarget_SendEx", DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    NTSTATUS status = dmf_rt_send(e, "DMF_ContinuousRequestTarget_SendEx", RequestBuffer, RequestLength,
                                  ResponseBuffer, ResponseLength, RequestType, RequestIoctl,
                                  RequestTimeoutMilliseconds, EvtContinuousRequestTargetSingleAsynchronousRequest,
                                  SingleAsynchronousRequestClientContext, DmfRequestIdCancel, NULL);
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_ContinuousRequestTarget_SendSynchronously(DMFMODULE DmfModule, VOID *RequestBuffer,
                                                       size_t RequestLength, VOID *ResponseBuffer,
                                                       size_t ResponseLength,
                                                       ContinuousRequestTarget_RequestType RequestType,
                                                       ULONG RequestIoctl, ULONG RequestTimeoutMilliseconds,
                                                       size_t *BytesWritten)
{
    CRT_ENTER("DMF_ContinuousRequestTarget_SendSynchronously", DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    NTSTATUS status = dmf_rt_send_sync(e, "DMF_ContinuousRequestTarget_SendSynchronously", RequestBuffer,
                                       RequestLength, ResponseBuffer, ResponseLength, RequestType, RequestIoctl,
                                       RequestTimeoutMilliseconds, BytesWritten);
    dmf_method_leave(m);
    return status;
}

BOOLEAN DMF_ContinuousRequestTarget_Cancel(DMFMODULE DmfModule, RequestTarget_DmfRequestCancel DmfRequestIdCancel)
{
    CRT_ENTER("DMF_ContinuousRequestTarget_Cancel", DISPATCH_LEVEL, FALSE);
    BOOLEAN r = dmf_rt_cancel(e, DmfRequestIdCancel);
    dmf_method_leave(m);
    return r;
}

NTSTATUS DMF_ContinuousRequestTarget_ReuseCreate(DMFMODULE DmfModule, RequestTarget_DmfRequestReuse *DmfRequestIdReuse)
{
    CRT_ENTER("DMF_ContinuousRequestTarget_ReuseCreate", DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    NTSTATUS status = dmf_rt_reuse_create(e, DmfRequestIdReuse);
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_ContinuousRequestTarget_ReuseSend(
    DMFMODULE DmfModule, RequestTarget_DmfRequestReuse DmfRequestIdReuse, VOID *RequestBuffer, size_t RequestLength,
    VOID *ResponseBuffer, size_t ResponseLength, ContinuousRequestTarget_RequestType RequestType, ULONG RequestIoctl,
    ULONG RequestTimeoutMilliseconds,
    EVT_DMF_ContinuousRequestTarget_SendCompletion *EvtContinuousRequestTargetSingleAsynchronousRequest,
    VOID *SingleAsynchronousRequestClientContext, RequestTarget_DmfRequestCancel *DmfRequestIdCancel)
{
    CRT_ENTER("DMF_ContinuousRequestTarget_ReuseSend", DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    NTSTATUS status = DmfRequestIdReuse
                          ? dmf_rt_send(e, "DMF_ContinuousRequestTarget_ReuseSend", RequestBuffer, RequestLength,
                                        ResponseBuffer, ResponseLength, RequestType, RequestIoctl,
                                        RequestTimeoutMilliseconds, EvtContinuousRequestTargetSingleAsynchronousRequest,
                                        SingleAsynchronousRequestClientContext, DmfRequestIdCancel, DmfRequestIdReuse)
                          : STATUS_OBJECTID_NOT_FOUND;
    dmf_method_leave(m);
    return status;
}

BOOLEAN DMF_ContinuousRequestTarget_ReuseDelete(DMFMODULE DmfModule, RequestTarget_DmfRequestReuse DmfRequestIdReuse)
{
    CRT_ENTER("DMF_ContinuousRequestTarget_ReuseDelete", DISPATCH_LEVEL, FALSE);
    BOOLEAN r = dmf_rt_reuse_delete(e, DmfRequestIdReuse);
    dmf_method_leave(m);
    return r;
}

NTSTATUS DMF_ContinuousRequestTarget_Start(DMFMODULE DmfModule)
{
    CRT_ENTER("DMF_ContinuousRequestTarget_Start", DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    NTSTATUS status;
    (void)e;
    if (!NT_SUCCESS(DMF_ModuleReference(DmfModule))) {
        dmf_method_leave(m);
        return STATUS_INVALID_DEVICE_STATE;
    }
    status = crt_start(c);
    DMF_ModuleDereference(DmfModule);
    dmf_method_leave(m);
    return status;
}

VOID DMF_ContinuousRequestTarget_Stop(DMFMODULE DmfModule)
{
    CRT_ENTER("DMF_ContinuousRequestTarget_Stop", DISPATCH_LEVEL, );
    (void)e;
    crt_stop(c, false);
    dmf_method_leave(m);
}

VOID DMF_ContinuousRequestTarget_StopAndWait(DMFMODULE DmfModule)
{
    CRT_ENTER("DMF_ContinuousRequestTarget_StopAndWait", DISPATCH_LEVEL, );
    (void)e;
    crt_stop(c, true);
    dmf_method_leave(m);
}

VOID DMF_ContinuousRequestTarget_BufferPut(DMFMODULE DmfModule, VOID *ClientBuffer)
{
    CRT_ENTER("DMF_ContinuousRequestTarget_BufferPut", DISPATCH_LEVEL, );
    (void)e;
    if (!c->output_pool)
        pk_verifier_stop("DMF_ContinuousRequestTarget_BufferPut", "the module has no output buffers");
    else if (dmf_buffer_pool_buffer_is_from(c->output_pool, ClientBuffer, "DMF_ContinuousRequestTarget_BufferPut"))
        DMF_BufferPool_Put(c->output_pool, ClientBuffer);
    dmf_method_leave(m);
}
