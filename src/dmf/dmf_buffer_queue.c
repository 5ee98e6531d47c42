/*
 * dmf_buffer_queue.c — DMF_BufferQueue: a producer (source DMF_BufferPool of empty buffers)
 * paired with a consumer (sink DMF_BufferPool of work), created as the queue's two children.
 *
 * Locking: none of its own. Every operation is one call on one of the two pools, which
 * serialize themselves; Flush is a loop of such calls, so work enqueued while it runs may stay.
 *
 * Who frees what: the pools own the buffers (see dmf_buffer_pool.c). The queue is closed before
 * its children (DMF closes parents first), then each pool frees its list.
 *
 * Callbacks to the client carry the queue's handle: the consumer pool is an internal child, so
 * the pool reports the module the client created (dmf_module_client_handle).
 */
#include "dmf/dmf_internal.h"

/* =============================================================================================
 * Module Private Enumerations and Structures
 *
 * None.
 * ============================================================================================= */

/* =============================================================================================
 * Module Private Context
 * ============================================================================================= */

typedef struct bq_context {
    DMFMODULE producer; /* source pool; written when the child is created, then read-only */
    DMFMODULE consumer; /* sink pool; likewise */
} bq_context;

static const dmf_module_descriptor buffer_queue_descriptor;

/* =============================================================================================
 * Module Private Code
 * ============================================================================================= */

/* The queue's context after the method bracket; NULL (method fails) for a bad handle. */
static bq_context *queue_enter(DMFMODULE DmfModule, const char *api, dmf_module **m)
{
    if (!dmf_method_enter(DmfModule, &buffer_queue_descriptor, api, DISPATCH_LEVEL, m))
        return NULL;
    return dmf_module_context(*m);
}

/* Cleanup callback, then back to the producer. */
static void reuse(dmf_module *m, bq_context *c, void *buffer, const char *api)
{
    DMF_CONFIG_BufferQueue *config = dmf_module_config(m);

    if (!dmf_buffer_pool_buffer_is_from(c->producer, buffer, api))
        return;
    if (config->EvtBufferQueueReuseCleanup) {
        void *context = NULL;
        DMF_BufferPool_ContextGet(c->producer, buffer, &context);
        config->EvtBufferQueueReuseCleanup(dmf_module_handle(m), buffer, context);
    }
    DMF_BufferPool_Put(c->producer, buffer);
}

/* =============================================================================================
 * WDF Module Callbacks
 *
 * None: the queue does not take part in PnP or power events.
 * ============================================================================================= */

/* =============================================================================================
 * DMF Module Callbacks
 * ============================================================================================= */

static VOID buffer_queue_child_modules_add(DMFMODULE DmfModule, DMF_MODULE_ATTRIBUTES *DmfParentModuleAttributes,
                                           PDMFMODULE_INIT DmfModuleInit)
{
    dmf_module *m = dmf_module_from_callback(DmfModule);
    bq_context *c = dmf_module_context(m);
    DMF_CONFIG_BufferQueue *config = dmf_module_config(m);
    DMF_CONFIG_BufferPool pool_config;
    DMF_MODULE_ATTRIBUTES attributes;

    /* Producer: the client's source settings. */
    DMF_CONFIG_BufferPool_AND_ATTRIBUTES_INIT(&pool_config, &attributes);
    pool_config.BufferPoolMode = BufferPool_Mode_Source;
    pool_config.Mode.SourceSettings = config->SourceSettings;
    attributes.PassiveLevel = DmfParentModuleAttributes->PassiveLevel;
    attributes.ClientModuleInstanceName = (PSTR)(uintptr_t)"BufferQueue.Producer";
    DMF_DmfModuleAdd(DmfModuleInit, &attributes, WDF_NO_OBJECT_ATTRIBUTES, &c->producer);

    /* Consumer: an empty sink. */
    DMF_CONFIG_BufferPool_AND_ATTRIBUTES_INIT(&pool_config, &attributes);
    pool_config.BufferPoolMode = BufferPool_Mode_Sink;
    attributes.PassiveLevel = DmfParentModuleAttributes->PassiveLevel;
    attributes.ClientModuleInstanceName = (PSTR)(uintptr_t)"BufferQueue.Consumer";
    DMF_DmfModuleAdd(DmfModuleInit, &attributes, WDF_NO_OBJECT_ATTRIBUTES, &c->consumer);
}

static const dmf_module_descriptor buffer_queue_descriptor = {
    .name = "BufferQueue",
    .options = DMF_MODULE_OPTIONS_DISPATCH_MAXIMUM,
    .open_option = DMF_MODULE_OPEN_OPTION_OPEN_Create,
    .context_size = sizeof(bq_context),
    .config_size = sizeof(DMF_CONFIG_BufferQueue),
    .child_modules_add = buffer_queue_child_modules_add,
};

/* =============================================================================================
 * Public Calls by Client
 * ============================================================================================= */

NTSTATUS DMF_BufferQueue_Create(WDFDEVICE Device, DMF_MODULE_ATTRIBUTES *DmfModuleAttributes,
                                WDF_OBJECT_ATTRIBUTES *ObjectAttributes, DMFMODULE *DmfModule)
{
    return dmf_module_create(Device, DmfModuleAttributes, ObjectAttributes, &buffer_queue_descriptor, DmfModule);
}

VOID DMF_BufferQueue_ContextGet(DMFMODULE DmfModule, VOID *ClientBuffer, VOID **ClientBufferContext)
{
    dmf_module *m;
    bq_context *c = queue_enter(DmfModule, "DMF_BufferQueue_ContextGet", &m);

    if (!c)
        return;
    DMF_BufferPool_ContextGet(c->consumer, ClientBuffer, ClientBufferContext);
    dmf_method_leave(m);
}

ULONG DMF_BufferQueue_Count(DMFMODULE DmfModule)
{
    dmf_module *m;
    bq_context *c = queue_enter(DmfModule, "DMF_BufferQueue_Count", &m);
    ULONG count;

    if (!c)
        return 0;
    count = DMF_BufferPool_Count(c->consumer);
    dmf_method_leave(m);
    return count;
}

NTSTATUS DMF_BufferQueue_Dequeue(DMFMODULE DmfModule, VOID **ClientBuffer, VOID **ClientBufferContext)
{
    dmf_module *m;
    bq_context *c = queue_enter(DmfModule, "DMF_BufferQueue_Dequeue", &m);
    NTSTATUS status;

    if (!c)
        return STATUS_INVALID_PARAMETER;
    status = DMF_BufferPool_Get(c->consumer, ClientBuffer, ClientBufferContext);
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_BufferQueue_DequeueWithMemoryDescriptor(DMFMODULE DmfModule, VOID **ClientBuffer,
                                                     PWDF_MEMORY_DESCRIPTOR MemoryDescriptor, VOID **ClientBufferContext)
{
    dmf_module *m;
    bq_context *c = queue_enter(DmfModule, "DMF_BufferQueue_DequeueWithMemoryDescriptor", &m);
    NTSTATUS status;

    if (!c)
        return STATUS_INVALID_PARAMETER;
    status = DMF_BufferPool_GetWithMemoryDescriptor(c->consumer, ClientBuffer, MemoryDescriptor, ClientBufferContext);
    dmf_method_leave(m);
    return status;
}

static void enqueue(DMFMODULE DmfModule, VOID *ClientBuffer, bool at_head, const char *api)
{
    dmf_module *m;
    bq_context *c = queue_enter(DmfModule, api, &m);

    if (!c)
        return;
    if (dmf_buffer_pool_buffer_is_from(c->producer, ClientBuffer, api)) {
        if (at_head)
            DMF_BufferPool_PutAtHead(c->consumer, ClientBuffer);
        else
            DMF_BufferPool_Put(c->consumer, ClientBuffer);
    }
    dmf_method_leave(m);
}

VOID DMF_BufferQueue_Enqueue(DMFMODULE DmfModule, VOID *ClientBuffer)
{
    enqueue(DmfModule, ClientBuffer, false, "DMF_BufferQueue_Enqueue");
}

VOID DMF_BufferQueue_EnqueueAtHead(DMFMODULE DmfModule, VOID *ClientBuffer)
{
    enqueue(DmfModule, ClientBuffer, true, "DMF_BufferQueue_EnqueueAtHead");
}

NTSTATUS DMF_BufferQueue_EnqueueWithTimer(DMFMODULE DmfModule, VOID *ClientBuffer, ULONGLONG TimerExpirationMilliseconds,
                                          EVT_DMF_BufferPool_TimerCallback *TimerExpirationCallback,
                                          VOID *TimerExpirationCallbackContext)
{
    static const char api[] = "DMF_BufferQueue_EnqueueWithTimer";
    dmf_module *m;
    bq_context *c = queue_enter(DmfModule, api, &m);
    NTSTATUS status = STATUS_INVALID_PARAMETER;

    if (!c)
        return STATUS_INVALID_PARAMETER;
    if (!TimerExpirationCallback) {
        pk_verifier_report(api, "NULL TimerExpirationCallback");
    } else if (dmf_buffer_pool_buffer_is_from(c->producer, ClientBuffer, api)) {
        DMF_BufferPool_PutInSinkWithTimer(c->consumer, ClientBuffer, TimerExpirationMilliseconds,
                                          TimerExpirationCallback, TimerExpirationCallbackContext);
        status = STATUS_SUCCESS;
    }
    dmf_method_leave(m);
    return status;
}

VOID DMF_BufferQueue_Enumerate(DMFMODULE DmfModule, EVT_DMF_BufferPool_Enumeration EntryEnumerationCallback,
                               VOID *ClientDriverCallbackContext, VOID **ClientBuffer, VOID **ClientBufferContext)
{
    dmf_module *m;
    bq_context *c = queue_enter(DmfModule, "DMF_BufferQueue_Enumerate", &m);

    if (!c)
        return;
    /* The consumer reports the queue's handle to the callback (it is the module the client
     * created). */
    DMF_BufferPool_Enumerate(c->consumer, EntryEnumerationCallback, ClientDriverCallbackContext, ClientBuffer,
                             ClientBufferContext);
    dmf_method_leave(m);
}

NTSTATUS DMF_BufferQueue_Fetch(DMFMODULE DmfModule, VOID **ClientBuffer, VOID **ClientBufferContext)
{
    dmf_module *m;
    bq_context *c = queue_enter(DmfModule, "DMF_BufferQueue_Fetch", &m);
    NTSTATUS status;

    if (!c)
        return STATUS_INVALID_PARAMETER;
    status = DMF_BufferPool_Get(c->producer, ClientBuffer, ClientBufferContext);
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_BufferQueue_FetchWithMemory(DMFMODULE DmfModule, VOID **ClientBuffer, VOID **ClientBufferContext,
                                         WDFMEMORY *ClientBufferMemory)
{
    dmf_module *m;
    bq_context *c = queue_enter(DmfModule, "DMF_BufferQueue_FetchWithMemory", &m);
    NTSTATUS status;

    if (!c)
        return STATUS_INVALID_PARAMETER;
    status = DMF_BufferPool_GetWithMemory(c->producer, ClientBuffer, ClientBufferContext, ClientBufferMemory);
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_BufferQueue_FetchWithMemoryDescriptor(DMFMODULE DmfModule, VOID **ClientBuffer,
                                                   PWDF_MEMORY_DESCRIPTOR MemoryDescriptor, VOID **ClientBufferContext)
{
    dmf_module *m;
    bq_context *c = queue_enter(DmfModule, "DMF_BufferQueue_FetchWithMemoryDescriptor", &m);
    NTSTATUS status;

    if (!c)
        return STATUS_INVALID_PARAMETER;
    status = DMF_BufferPool_GetWithMemoryDescriptor(c->producer, ClientBuffer, MemoryDescriptor, ClientBufferContext);
    dmf_method_leave(m);
    return status;
}

VOID DMF_BufferQueue_Reuse(DMFMODULE DmfModule, VOID *ClientBuffer)
{
    dmf_module *m;
    bq_context *c = queue_enter(DmfModule, "DMF_BufferQueue_Reuse", &m);

    if (!c)
        return;
    reuse(m, c, ClientBuffer, "DMF_BufferQueue_Reuse");
    dmf_method_leave(m);
}

VOID DMF_BufferQueue_Flush(DMFMODULE DmfModule)
{
    dmf_module *m;
    bq_context *c = queue_enter(DmfModule, "DMF_BufferQueue_Flush", &m);
    void *buffer;
    ULONG count;

    if (!c)
        return;
    /* Bounded by the count at the start, so a cleanup callback that enqueues again cannot keep
     * the loop going. */
    count = DMF_BufferPool_Count(c->consumer);
    while (count-- > 0 && NT_SUCCESS(DMF_BufferPool_Get(c->consumer, &buffer, NULL)))
        reuse(m, c, buffer, "DMF_BufferQueue_Flush");
    dmf_method_leave(m);
}
