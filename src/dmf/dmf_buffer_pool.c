/*
 * dmf_buffer_pool.c — DMF_BufferPool: source and sink lists of guarded buffers, look-aside
 * allocation, per-buffer timers, enumeration.
 *
 * Locking: the module lock (a spin lock, or the passive lock when the module runs passive)
 * protects the pool's list, count, open flag, generation, look-aside count and timer count, and
 * the `holder`, `link` and timer fields of every buffer in the list. A buffer's `owner` word is
 * atomic: Put claims a buffer with a compare-and-swap, so a buffer put twice is caught even
 * when the two puts race on two pools. The enumeration callback is the one client callback
 * that runs under the lock (documented in <pnpkit/dmf.h>); every other callback runs after it
 * is released.
 *
 * Timers: a buffer of a source pool created with CreateWithTimer carries a pk_timer and a work
 * item in its metadata (not a WDFTIMER: a buffer moves between pools and may outlive its source
 * pool, while a WDFTIMER needs a parent object it cannot outlive). The timer fires on the timer
 * thread and only queues the work item; the work item (PASSIVE_LEVEL) takes the sink's lock,
 * removes the buffer and calls the client. A Get or Enumerate that finds the timer armed
 * cancels it; one that finds it already fired marks the buffer EXPIRED and skips it, leaving it
 * to the work item. timers_pending counts buffers whose timer is armed or whose work item has
 * not finished, and Close waits on an event until it is zero.
 *
 * Who frees what: every buffer is two WDFMEMORY objects without parent (the allocation, from
 * WdfMemoryCreate or the look-aside list, and a preallocated one over the client part) and
 * holds a reference on its source pool's module object. Close frees the buffers in the list; a
 * buffer the client owns is freed when it is put into a closed pool or back into its source
 * after that source closed (its reference keeps the source's memory until then).
 */
#include "dmf/dmf_internal.h"

#include <string.h>

/* =============================================================================================
 * Module Private Enumerations and Structures
 * ============================================================================================= */

#define BP_SIGNATURE 0x87654321u
#define BP_DATA_SENTINEL 0x33334444u
#define BP_CONTEXT_SENTINEL 0x11112222u
#define BP_POOL_TAG 'looP'

enum { BP_OWNER_CLIENT = 0, BP_OWNER_POOL = 1 };

enum {
    BP_TIMER_IDLE = 0, /* no timer armed */
    BP_TIMER_ARMED,    /* armed; the buffer is in the sink whose timer_sink it names */
    BP_TIMER_EXPIRED,  /* fired (or could not be cancelled): the work item will deliver it */
};

/* The metadata in front of every client buffer. */
typedef struct bp_entry {
    LIST_ENTRY link;          /* in holder's list; holder's lock */
    dmf_module *source;       /* the source pool; referenced */
    dmf_module *holder;       /* the pool whose list holds the buffer, NULL when the client owns it */
    void *buffer;             /* the client buffer (right after the metadata) */
    void *client_context;     /* NULL without a context */
    ULONG buffer_size;
    ULONG context_size;
    uint32_t generation;      /* the source's generation when the buffer was made */
    uint32_t owner;           /* BP_OWNER_*; atomic */
    bool has_timer;
    uint8_t timer_state;      /* BP_TIMER_*; holder's lock */
    WDFMEMORY block;          /* the allocation holding all of this */
    WDFMEMORY client_memory;  /* over the client buffer */
    WDF_MEMORY_DESCRIPTOR descriptor;
    /* Timer (has_timer only); the callback fields are set while the buffer is in a sink. */
    pk_timer timer;
    WORK_QUEUE_ITEM timer_work;
    dmf_module *timer_sink;
    EVT_DMF_BufferPool_TimerCallback *timer_callback;
    void *timer_callback_context;
    uint64_t timer_period_ns;
} bp_entry;

#define ALIGN16(n) (((size_t)(n) + 15) & ~(size_t)15)
/* Metadata, then the signature in the last 4 bytes before the client buffer. */
#define BP_META_SIZE ALIGN16(sizeof(bp_entry) + sizeof(uint32_t))
#define BP_SENTINEL_SIZE 16

/* The sentinel patterns as bytes (little-endian words), long enough for any slack plus phase. */
#define P4(v) (uint8_t)(v), (uint8_t)((v) >> 8), (uint8_t)((v) >> 16), (uint8_t)((v) >> 24)
#define P16(v) P4(v), P4(v), P4(v), P4(v)
static const uint8_t data_pattern[48] = { P16(BP_DATA_SENTINEL), P16(BP_DATA_SENTINEL), P16(BP_DATA_SENTINEL) };
static const uint8_t context_pattern[48] = { P16(BP_CONTEXT_SENTINEL), P16(BP_CONTEXT_SENTINEL),
                                             P16(BP_CONTEXT_SENTINEL) };

/* =============================================================================================
 * Module Private Context
 * ============================================================================================= */

typedef struct bp_context {
    BufferPool_ModeType mode;
    BufferPool_SourceSettings settings; /* source pools */
    size_t block_size;                  /* one buffer's allocation */
    /* Module lock: */
    LIST_ENTRY list;          /* buffers in the pool, head first */
    ULONG count;              /* buffers in list */
    bool open;                /* between Open and Close: Get/Put work */
    bool closing;             /* Close waits for timers_pending */
    uint32_t generation;      /* bumped by every Open; older buffers are freed when returned */
    ULONG additional;         /* look-aside buffers handed out beyond the pool's own */
    ULONG timers_pending;     /* sink: timers armed, or fired and not yet delivered */
    WDFLOOKASIDE lookaside;   /* source with look-aside, between Open and Close */
    /* Set when timers_pending reaches 0 while closing. */
    KEVENT timers_done;
} bp_context;

static const dmf_module_descriptor buffer_pool_descriptor;

/* =============================================================================================
 * Module Private Code
 * ============================================================================================= */

static inline uint32_t *signature_of(void *buffer) { return (uint32_t *)((char *)buffer - sizeof(uint32_t)); }

static inline bp_entry *entry_of(void *buffer) { return (bp_entry *)((char *)buffer - BP_META_SIZE); }

static inline size_t data_slack(const bp_entry *e) { return ALIGN16(e->buffer_size) + BP_SENTINEL_SIZE - e->buffer_size; }

static inline size_t context_slack(const bp_entry *e)
{
    return ALIGN16(e->context_size) + BP_SENTINEL_SIZE - e->context_size;
}

static inline uint8_t *context_area(const bp_entry *e)
{
    return (uint8_t *)e->buffer + ALIGN16(e->buffer_size) + BP_SENTINEL_SIZE;
}

static void write_sentinels(bp_entry *e)
{
    memcpy((uint8_t *)e->buffer + e->buffer_size, data_pattern + e->buffer_size % 4, data_slack(e));
    memcpy(context_area(e) + e->context_size, context_pattern + e->context_size % 4, context_slack(e));
}

/* Checks that buffer is a pool buffer and that nothing ran over it; a verifier stop naming api
 * otherwise. The signature check reads the 4 bytes in front of the pointer. */
static bool entry_from_buffer(void *buffer, const char *api, bp_entry **out)
{
    bp_entry *e;

    if (!buffer) {
        pk_verifier_stop(api, "NULL buffer");
        return false;
    }
    if (((uintptr_t)buffer & 15) != 0 || *signature_of(buffer) != BP_SIGNATURE ||
        entry_of(buffer)->buffer != buffer) {
        pk_verifier_stop(api, "%p is not a DMF_BufferPool buffer (signature 0x%08x missing: a foreign pointer, "
                              "or an underrun)",
                         buffer, BP_SIGNATURE);
        return false;
    }
    e = entry_of(buffer);
    if (memcmp((uint8_t *)buffer + e->buffer_size, data_pattern + e->buffer_size % 4, data_slack(e)) != 0) {
        pk_verifier_stop(api, "buffer %p: data sentinel 0x%08x overwritten (a write past BufferSize %u)", buffer,
                         BP_DATA_SENTINEL, e->buffer_size);
        return false;
    }
    if (memcmp(context_area(e) + e->context_size, context_pattern + e->context_size % 4, context_slack(e)) != 0) {
        pk_verifier_stop(api, "buffer %p: context sentinel 0x%08x overwritten (a write past BufferContextSize %u)",
                         buffer, BP_CONTEXT_SENTINEL, e->context_size);
        return false;
    }
    *out = e;
    return true;
}

static void entry_timer_fired(void *context);
static void entry_timer_work(void *context);

/* Makes a buffer of source pool m (owner: the caller decides). IRQL of the caller. */
static NTSTATUS entry_create(dmf_module *m, bp_context *c, WDFLOOKASIDE lookaside, uint32_t generation, bp_entry **out)
{
    WDFMEMORY block;
    void *p = NULL;
    bp_entry *e;
    NTSTATUS status;

    if (lookaside) {
        status = WdfMemoryCreateFromLookaside(lookaside, &block);
        if (NT_SUCCESS(status))
            p = WdfMemoryGetBuffer(block, NULL);
    } else {
        status = WdfMemoryCreate(WDF_NO_OBJECT_ATTRIBUTES, c->settings.PoolType, BP_POOL_TAG, c->block_size, &block, &p);
    }
    if (!NT_SUCCESS(status))
        return status;
    if (!PK_ALWAYS(p && ((uintptr_t)p & 15) == 0)) {
        WdfObjectDelete(block);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    memset(p, 0, c->block_size);
    e = p;
    e->block = block;
    e->buffer = (char *)p + BP_META_SIZE;
    e->buffer_size = c->settings.BufferSize;
    e->context_size = c->settings.BufferContextSize;
    e->client_context = e->context_size ? context_area(e) : NULL;
    status = WdfMemoryCreatePreallocated(WDF_NO_OBJECT_ATTRIBUTES, e->buffer, e->buffer_size, &e->client_memory);
    if (!NT_SUCCESS(status)) {
        WdfObjectDelete(block);
        return status;
    }
    WDF_MEMORY_DESCRIPTOR_INIT_BUFFER(&e->descriptor, e->buffer, e->buffer_size);
    InitializeListHead(&e->link);
    e->generation = generation;
    e->has_timer = c->settings.CreateWithTimer != 0;
    if (e->has_timer) {
        pk_timer_init(&e->timer, entry_timer_fired, e, false);
        ExInitializeWorkItem(&e->timer_work, (PWORKER_THREAD_ROUTINE)entry_timer_work, e);
    }
    write_sentinels(e);
    *signature_of(e->buffer) = BP_SIGNATURE;
    e->source = m;
    dmf_module_object_reference(m);
    *out = e;
    return STATUS_SUCCESS;
}

/* Frees a buffer nobody else can reach. No lock held. */
static void entry_free(bp_entry *e)
{
    dmf_module *source = e->source;
    WDFMEMORY block = e->block;

    /* The timer thread may still be in entry_timer_fired for this buffer. */
    if (e->has_timer)
        pk_timer_cancel(&e->timer, true);
    WdfObjectDelete(e->client_memory);
    *signature_of(e->buffer) = 0;
    WdfObjectDelete(block);
    dmf_module_object_dereference(source);
}

static void free_list(LIST_ENTRY *list)
{
    while (!IsListEmpty(list))
        entry_free(CONTAINING_RECORD(RemoveHeadList(list), bp_entry, link));
}

/* Module lock held. */
static void remove_locked(bp_context *c, bp_entry *e)
{
    RemoveEntryList(&e->link);
    InitializeListHead(&e->link);
    c->count--;
    e->holder = NULL;
    pk_store_release(&e->owner, (uint32_t)BP_OWNER_CLIENT);
}

static void insert_locked(dmf_module *m, bp_context *c, bp_entry *e, bool at_head)
{
    if (at_head)
        InsertHeadList(&c->list, &e->link);
    else
        InsertTailList(&c->list, &e->link);
    c->count++;
    e->holder = m;
}

/* Stops an armed timer of a buffer in this pool. True when stopped before it fired (the
 * callback will never run); false when it fired already (the buffer is marked EXPIRED and left
 * to the work item). Module lock held. */
static bool stop_timer_locked(bp_context *c, bp_entry *e)
{
    if (e->timer_state != BP_TIMER_ARMED)
        return e->timer_state == BP_TIMER_IDLE;
    if (pk_timer_cancel(&e->timer, false)) {
        e->timer_state = BP_TIMER_IDLE;
        c->timers_pending--;
        return true;
    }
    e->timer_state = BP_TIMER_EXPIRED;
    return false;
}

static void arm_timer_locked(bp_entry *e)
{
    e->timer_state = BP_TIMER_ARMED;
    pk_timer_set(&e->timer, pk_now_ns() + e->timer_period_ns, 0);
}

/* The first buffer that can be handed out, removed from the list; NULL if none. */
static bp_entry *take_first_locked(bp_context *c)
{
    for (LIST_ENTRY *le = c->list.Flink; le != &c->list; le = le->Flink) {
        bp_entry *e = CONTAINING_RECORD(le, bp_entry, link);
        if (!stop_timer_locked(c, e))
            continue; /* its expiry callback is on its way */
        remove_locked(c, e);
        return e;
    }
    return NULL;
}

/* Get: a buffer from the head of the list, or a new look-aside buffer. */
static NTSTATUS pool_get(dmf_module *m, const char *api, NTSTATUS empty_status, bp_entry **out)
{
    bp_context *c = dmf_module_context(m);
    WDFLOOKASIDE lookaside = NULL;
    uint32_t generation = 0;
    bp_entry *e = NULL;
    NTSTATUS status;
    bool keep;

    if (!dmf_module_lock(m, api))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (c->open) {
        e = take_first_locked(c);
        if (!e && c->lookaside) {
            /* Reserve the additional buffer now; the allocation happens outside the lock, and
             * the reference keeps the list's handle valid if Close deletes it meanwhile. */
            c->additional++;
            generation = c->generation;
            lookaside = c->lookaside;
            WdfObjectReference(lookaside);
        }
    }
    dmf_module_unlock(m);

    if (e) {
        bp_entry *checked;
        entry_from_buffer(e->buffer, api, &checked); /* an overrun while it was listed: a stop */
        *out = e;
        return STATUS_SUCCESS;
    }
    if (!lookaside)
        return empty_status;

    status = entry_create(m, c, lookaside, generation, &e);
    WdfObjectDereference(lookaside);
    /* The lock cannot fail here: this thread took it a moment ago. */
    keep = false;
    if (PK_ALWAYS(dmf_module_lock(m, api))) {
        keep = NT_SUCCESS(status) && c->open && c->generation == generation;
        if (!keep && c->generation == generation)
            c->additional--;
        dmf_module_unlock(m);
    }
    if (!NT_SUCCESS(status))
        return status;
    if (!keep) {
        entry_free(e);
        return empty_status;
    }
    pk_store_release(&e->owner, (uint32_t)BP_OWNER_CLIENT);
    *out = e;
    return STATUS_SUCCESS;
}

typedef struct put_timer {
    ULONGLONG milliseconds;
    EVT_DMF_BufferPool_TimerCallback *callback;
    void *context;
} put_timer;

/* Put, PutAtHead and PutInSinkWithTimer. */
static void pool_put(dmf_module *m, void *buffer, bool at_head, const put_timer *timer, const char *api)
{
    bp_context *c = dmf_module_context(m);
    bool source = c->mode == BufferPool_Mode_Source, free_it = false;
    uint32_t expected = BP_OWNER_CLIENT;
    bp_entry *e;

    if (!entry_from_buffer(buffer, api, &e))
        return;
    if (source && e->source != m) {
        pk_verifier_stop(api, "buffer %p belongs to another source pool (%s %p); a source pool takes back only "
                              "its own buffers",
                         buffer, dmf_module_name(e->source), (void *)dmf_module_handle(e->source));
        return;
    }
    if (timer) {
        if (source || !e->has_timer || !timer->callback) {
            pk_verifier_stop(api, "%s (the buffer stays with the client)",
                             source ? "the pool is a source pool, not a sink"
                             : !e->has_timer ? "the buffer's source pool was not created with CreateWithTimer"
                                             : "NULL TimerExpirationCallback");
            return;
        }
    }
    if (!pk_cas(&e->owner, &expected, (uint32_t)BP_OWNER_POOL)) {
        pk_verifier_stop(api, "buffer %p is already in a pool", buffer);
        return;
    }
    if (source) {
        memset(e->buffer, 0, e->buffer_size);
        if (e->client_context)
            memset(e->client_context, 0, e->context_size);
    }

    if (!dmf_module_lock(m, api)) {
        pk_store_release(&e->owner, (uint32_t)BP_OWNER_CLIENT);
        return;
    }
    if (!c->open || (source && e->generation != c->generation)) {
        free_it = true; /* its pool has gone */
    } else if (source && c->lookaside && c->additional > 0) {
        c->additional--;
        free_it = true;
    } else {
        insert_locked(m, c, e, at_head);
        if (timer) {
            e->timer_sink = m;
            e->timer_callback = timer->callback;
            e->timer_callback_context = timer->context;
            /* Clamped to about 290 years so that the deadline cannot wrap. */
            e->timer_period_ns = (timer->milliseconds > (1ull << 43) ? (1ull << 43) : timer->milliseconds) * 1000000u;
            c->timers_pending++;
            arm_timer_locked(e);
        }
    }
    dmf_module_unlock(m);
    if (free_it) {
        e->holder = NULL;
        entry_free(e);
    }
}

/* Timer thread, DISPATCH_LEVEL: hand the buffer to the pool thread. Nothing else may touch the
 * buffer here: the work item may already be running. */
static void entry_timer_fired(void *context)
{
    bp_entry *e = context;
    pk_work_queue(&e->timer_work);
}

/* Pool thread, PASSIVE_LEVEL: remove the buffer from its sink and give it to the client. */
static void entry_timer_work(void *context)
{
    bp_entry *e = context;
    dmf_module *sink = e->timer_sink; /* valid: the sink's Close waits for timers_pending */
    bp_context *c = dmf_module_context(sink);
    EVT_DMF_BufferPool_TimerCallback *callback;
    void *callback_context;
    bool signal;

    if (!PK_ALWAYS(dmf_module_lock(sink, "DMF_BufferPool timer")))
        return;
    if (!PK_ALWAYS(e->holder == sink && e->timer_state != BP_TIMER_IDLE)) {
        dmf_module_unlock(sink);
        return;
    }
    callback = e->timer_callback;
    callback_context = e->timer_callback_context;
    e->timer_state = BP_TIMER_IDLE;
    remove_locked(c, e);
    dmf_module_unlock(sink);

    callback(dmf_module_client_handle(sink), e->buffer, e->client_context, callback_context);

    dmf_module_lock(sink, "DMF_BufferPool timer");
    c->timers_pending--;
    signal = c->closing && c->timers_pending == 0;
    dmf_module_unlock(sink);
    /* After this the sink may be gone: touch nothing. */
    if (signal)
        KeSetEvent(&c->timers_done, IO_NO_INCREMENT, FALSE);
}

bool dmf_buffer_pool_buffer_is_from(DMFMODULE source, void *buffer, const char *api)
{
    bp_entry *e;

    if (!entry_from_buffer(buffer, api, &e))
        return false;
    if (dmf_module_handle(e->source) != source) {
        pk_verifier_stop(api, "buffer %p comes from another pool (%s %p)", buffer, dmf_module_name(e->source),
                         (void *)dmf_module_handle(e->source));
        return false;
    }
    return true;
}

DMFMODULE dmf_buffer_pool_source_of(void *buffer, const char *api)
{
    bp_entry *e;

    if (!entry_from_buffer(buffer, api, &e))
        return NULL;
    return dmf_module_handle(e->source);
}

/* =============================================================================================
 * WDF Module Callbacks
 *
 * None: the pool does not take part in PnP or power events.
 * ============================================================================================= */

/* =============================================================================================
 * DMF Module Callbacks
 * ============================================================================================= */

static NTSTATUS buffer_pool_create(DMFMODULE DmfModule)
{
    dmf_module *m = dmf_module_from_callback(DmfModule);
    bp_context *c = dmf_module_context(m);
    DMF_CONFIG_BufferPool *config = dmf_module_config(m);
    const BufferPool_SourceSettings *s = &config->Mode.SourceSettings;
    NTSTATUS status;

    InitializeListHead(&c->list);
    KeInitializeEvent(&c->timers_done, NotificationEvent, FALSE);
    c->mode = config->BufferPoolMode;
    switch (c->mode) {
    case BufferPool_Mode_Source:
        if (s->BufferSize == 0 || (s->BufferCount == 0 && !s->EnableLookAside)) {
            pk_verifier_report("DMF_BufferPool_Create", "a source pool needs BufferSize > 0, and BufferCount > 0 "
                                                        "unless EnableLookAside is set");
            return STATUS_INVALID_PARAMETER;
        }
        status = dmf_module_check_pool_type(m, s->PoolType, "Mode.SourceSettings.PoolType");
        if (!NT_SUCCESS(status))
            return status;
        c->settings = *s;
        c->block_size = BP_META_SIZE + ALIGN16(s->BufferSize) + BP_SENTINEL_SIZE + ALIGN16(s->BufferContextSize) +
                        BP_SENTINEL_SIZE;
        return STATUS_SUCCESS;
    case BufferPool_Mode_Sink:
        if (s->BufferCount != 0 || s->EnableLookAside) {
            pk_verifier_report("DMF_BufferPool_Create", "a sink pool needs BufferCount 0 and no look-aside");
            return STATUS_INVALID_PARAMETER;
        }
        return STATUS_SUCCESS;
    default:
        pk_verifier_report("DMF_BufferPool_Create", "BufferPoolMode %d is not Source or Sink", (int)c->mode);
        return STATUS_INVALID_PARAMETER;
    }
}

static NTSTATUS buffer_pool_open(DMFMODULE DmfModule)
{
    dmf_module *m = dmf_module_from_callback(DmfModule);
    bp_context *c = dmf_module_context(m);
    WDFLOOKASIDE lookaside = NULL;
    LIST_ENTRY fresh;
    uint32_t generation;
    NTSTATUS status = STATUS_SUCCESS;

    InitializeListHead(&fresh);
    dmf_module_lock(m, "DMF_BufferPool Open");
    generation = ++c->generation;
    c->additional = 0;
    dmf_module_unlock(m);

    if (c->mode == BufferPool_Mode_Source) {
        if (c->settings.EnableLookAside) {
            status = WdfLookasideListCreate(WDF_NO_OBJECT_ATTRIBUTES, c->block_size, c->settings.PoolType,
                                            WDF_NO_OBJECT_ATTRIBUTES, BP_POOL_TAG, &lookaside);
            if (!NT_SUCCESS(status))
                return status;
        }
        for (ULONG i = 0; i < c->settings.BufferCount; i++) {
            bp_entry *e;
            status = entry_create(m, c, lookaside, generation, &e);
            if (!NT_SUCCESS(status))
                goto free_buffers;
            e->owner = BP_OWNER_POOL;
            e->holder = m;
            InsertTailList(&fresh, &e->link);
        }
    }

    dmf_module_lock(m, "DMF_BufferPool Open");
    while (!IsListEmpty(&fresh)) {
        InsertTailList(&c->list, RemoveHeadList(&fresh));
        c->count++;
    }
    c->lookaside = lookaside;
    c->open = true;
    dmf_module_unlock(m);
    return STATUS_SUCCESS;

free_buffers:
    free_list(&fresh);
    if (lookaside)
        WdfObjectDelete(lookaside);
    return status;
}

static void buffer_pool_close(DMFMODULE DmfModule)
{
    dmf_module *m = dmf_module_from_callback(DmfModule);
    bp_context *c = dmf_module_context(m);
    WDFLOOKASIDE lookaside;
    LIST_ENTRY gone;
    bool wait;

    InitializeListHead(&gone);
    dmf_module_lock(m, "DMF_BufferPool Close");
    c->open = false;
    c->closing = true;
    KeClearEvent(&c->timers_done);
    for (LIST_ENTRY *le = c->list.Flink; le != &c->list; le = le->Flink)
        stop_timer_locked(c, CONTAINING_RECORD(le, bp_entry, link));
    wait = c->timers_pending != 0;
    dmf_module_unlock(m);

    /* Expiry callbacks already on their way take their buffers out of the list themselves. */
    if (wait)
        KeWaitForSingleObject(&c->timers_done, Executive, KernelMode, FALSE, NULL);

    dmf_module_lock(m, "DMF_BufferPool Close");
    while (!IsListEmpty(&c->list)) {
        bp_entry *e = CONTAINING_RECORD(RemoveHeadList(&c->list), bp_entry, link);
        e->holder = NULL;
        InsertTailList(&gone, &e->link);
    }
    c->count = 0;
    c->closing = false;
    lookaside = c->lookaside;
    c->lookaside = NULL;
    dmf_module_unlock(m);

    free_list(&gone);
    if (lookaside)
        WdfObjectDelete(lookaside);
}

static const dmf_module_descriptor buffer_pool_descriptor = {
    .name = "BufferPool",
    .options = DMF_MODULE_OPTIONS_DISPATCH_MAXIMUM,
    .open_option = DMF_MODULE_OPEN_OPTION_OPEN_Create,
    .context_size = sizeof(bp_context),
    .config_size = sizeof(DMF_CONFIG_BufferPool),
    .create = buffer_pool_create,
    .open = buffer_pool_open,
    .close = buffer_pool_close,
};

/* =============================================================================================
 * Public Calls by Client
 * ============================================================================================= */

NTSTATUS DMF_BufferPool_Create(WDFDEVICE Device, DMF_MODULE_ATTRIBUTES *DmfModuleAttributes,
                               WDF_OBJECT_ATTRIBUTES *ObjectAttributes, DMFMODULE *DmfModule)
{
    return dmf_module_create(Device, DmfModuleAttributes, ObjectAttributes, &buffer_pool_descriptor, DmfModule);
}

VOID DMF_BufferPool_ContextGet(DMFMODULE DmfModule, VOID *ClientBuffer, VOID **ClientBufferContext)
{
    dmf_module *m;
    bp_entry *e;

    if (!dmf_method_enter(DmfModule, &buffer_pool_descriptor, "DMF_BufferPool_ContextGet", DISPATCH_LEVEL, &m))
        return;
    if (!ClientBufferContext)
        pk_verifier_stop("DMF_BufferPool_ContextGet", "NULL ClientBufferContext");
    else if (entry_from_buffer(ClientBuffer, "DMF_BufferPool_ContextGet", &e))
        *ClientBufferContext = e->client_context;
    dmf_method_leave(m);
}

ULONG DMF_BufferPool_Count(DMFMODULE DmfModule)
{
    dmf_module *m;
    bp_context *c;
    ULONG count = 0;

    if (!dmf_method_enter(DmfModule, &buffer_pool_descriptor, "DMF_BufferPool_Count", DISPATCH_LEVEL, &m))
        return 0;
    c = dmf_module_context(m);
    if (dmf_module_lock(m, "DMF_BufferPool_Count")) {
        count = c->count;
        dmf_module_unlock(m);
    }
    dmf_method_leave(m);
    return count;
}

VOID DMF_BufferPool_Enumerate(DMFMODULE DmfModule, EVT_DMF_BufferPool_Enumeration EntryEnumerationCallback,
                              VOID *ClientDriverCallbackContext, VOID **ClientBuffer, VOID **ClientBufferContext)
{
    static const char api[] = "DMF_BufferPool_Enumerate";
    dmf_module *m;
    bp_context *c;
    DMFMODULE client;
    LIST_ENTRY *le, *next;

    if (!dmf_method_enter(DmfModule, &buffer_pool_descriptor, api, DISPATCH_LEVEL, &m))
        return;
    c = dmf_module_context(m);
    if (ClientBuffer)
        *ClientBuffer = NULL;
    if (ClientBufferContext)
        *ClientBufferContext = NULL;
    if (c->mode != BufferPool_Mode_Sink || !EntryEnumerationCallback) {
        pk_verifier_stop(api, "%s", c->mode != BufferPool_Mode_Sink ? "only sink pools can be enumerated"
                                                                    : "NULL EntryEnumerationCallback");
        goto leave;
    }
    if (!dmf_module_lock(m, api))
        goto leave;
    client = dmf_module_client_handle(m);
    for (le = c->list.Flink; le != &c->list; le = next) {
        bp_entry *e = CONTAINING_RECORD(le, bp_entry, link);
        BufferPool_EnumerationDispositionType disposition;

        next = le->Flink;
        if (e->timer_state == BP_TIMER_EXPIRED)
            continue;
        if (e->timer_state == BP_TIMER_ARMED && !pk_timer_is_armed(&e->timer)) {
            e->timer_state = BP_TIMER_EXPIRED; /* fired: its callback is on its way */
            continue;
        }
        /* Called with the pool lock held (documented). */
        disposition = EntryEnumerationCallback(client, e->buffer, e->client_context, ClientDriverCallbackContext);
        switch (disposition) {
        case BufferPool_EnumerationDisposition_ContinueEnumeration:
            continue;
        case BufferPool_EnumerationDisposition_StopEnumeration:
            break;
        case BufferPool_EnumerationDisposition_RemoveAndStopEnumeration:
            if (!ClientBuffer) {
                pk_verifier_stop(api, "RemoveAndStopEnumeration without a ClientBuffer out parameter");
                break;
            }
            if (!stop_timer_locked(c, e))
                break; /* expired meanwhile: its callback delivers it */
            remove_locked(c, e);
            *ClientBuffer = e->buffer;
            if (ClientBufferContext)
                *ClientBufferContext = e->client_context;
            break;
        case BufferPool_EnumerationDisposition_StopTimerAndStopEnumeration:
        case BufferPool_EnumerationDisposition_StopTimerAndContinueEnumeration:
            stop_timer_locked(c, e);
            if (disposition == BufferPool_EnumerationDisposition_StopTimerAndContinueEnumeration)
                continue;
            break;
        case BufferPool_EnumerationDisposition_ResetTimerAndStopEnumeration:
        case BufferPool_EnumerationDisposition_ResetTimerAndContinueEnumeration:
            if (e->timer_state == BP_TIMER_ARMED && stop_timer_locked(c, e)) {
                c->timers_pending++;
                arm_timer_locked(e);
            }
            if (disposition == BufferPool_EnumerationDisposition_ResetTimerAndContinueEnumeration)
                continue;
            break;
        default:
            pk_verifier_stop(api, "the enumeration callback returned %d, not a BufferPool_EnumerationDisposition",
                             (int)disposition);
            break;
        }
        break;
    }
    dmf_module_unlock(m);
leave:
    dmf_method_leave(m);
}

static NTSTATUS get_common(DMFMODULE DmfModule, const char *api, NTSTATUS empty_status, VOID **ClientBuffer,
                           VOID **ClientBufferContext, WDFMEMORY *ClientBufferMemory,
                           PWDF_MEMORY_DESCRIPTOR MemoryDescriptor)
{
    dmf_module *m;
    bp_entry *e = NULL;
    NTSTATUS status;

    if (!dmf_method_enter(DmfModule, &buffer_pool_descriptor, api, DISPATCH_LEVEL, &m))
        return STATUS_INVALID_PARAMETER;
    status = STATUS_INVALID_PARAMETER;
    if (ClientBuffer)
        status = pool_get(m, api, empty_status, &e);
    if (NT_SUCCESS(status)) {
        *ClientBuffer = e->buffer;
        if (ClientBufferContext)
            *ClientBufferContext = e->client_context;
        if (ClientBufferMemory)
            *ClientBufferMemory = e->client_memory;
        if (MemoryDescriptor)
            *MemoryDescriptor = e->descriptor;
    }
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_BufferPool_Get(DMFMODULE DmfModule, VOID **ClientBuffer, VOID **ClientBufferContext)
{
    return get_common(DmfModule, "DMF_BufferPool_Get", STATUS_UNSUCCESSFUL, ClientBuffer, ClientBufferContext, NULL,
                      NULL);
}

NTSTATUS DMF_BufferPool_GetWithMemory(DMFMODULE DmfModule, VOID **ClientBuffer, VOID **ClientBufferContext,
                                      WDFMEMORY *ClientBufferMemory)
{
    if (!ClientBufferMemory)
        return STATUS_INVALID_PARAMETER;
    return get_common(DmfModule, "DMF_BufferPool_GetWithMemory", STATUS_UNSUCCESSFUL, ClientBuffer,
                      ClientBufferContext, ClientBufferMemory, NULL);
}

NTSTATUS DMF_BufferPool_GetWithMemoryDescriptor(DMFMODULE DmfModule, VOID **ClientBuffer,
                                                PWDF_MEMORY_DESCRIPTOR MemoryDescriptor, VOID **ClientBufferContext)
{
    if (!MemoryDescriptor)
        return STATUS_INVALID_PARAMETER;
    return get_common(DmfModule, "DMF_BufferPool_GetWithMemoryDescriptor", STATUS_INSUFFICIENT_RESOURCES,
                      ClientBuffer, ClientBufferContext, NULL, MemoryDescriptor);
}

VOID DMF_BufferPool_ParametersGet(DMFMODULE DmfModule, VOID *ClientBuffer, PWDF_MEMORY_DESCRIPTOR MemoryDescriptor,
                                  WDFMEMORY *ClientBufferMemory, ULONG *ClientBufferSize, VOID **ClientBufferContext,
                                  ULONG *ClientBufferContextSize)
{
    dmf_module *m;
    bp_entry *e;

    if (!dmf_method_enter(DmfModule, &buffer_pool_descriptor, "DMF_BufferPool_ParametersGet", DISPATCH_LEVEL, &m))
        return;
    if (entry_from_buffer(ClientBuffer, "DMF_BufferPool_ParametersGet", &e)) {
        if (MemoryDescriptor)
            *MemoryDescriptor = e->descriptor;
        if (ClientBufferMemory)
            *ClientBufferMemory = e->client_memory;
        if (ClientBufferSize)
            *ClientBufferSize = e->buffer_size;
        if (ClientBufferContext)
            *ClientBufferContext = e->client_context;
        if (ClientBufferContextSize)
            *ClientBufferContextSize = e->context_size;
    }
    dmf_method_leave(m);
}

static void put_common(DMFMODULE DmfModule, VOID *ClientBuffer, bool at_head, const put_timer *timer, const char *api)
{
    dmf_module *m;

    if (!dmf_method_enter(DmfModule, &buffer_pool_descriptor, api, DISPATCH_LEVEL, &m))
        return;
    pool_put(m, ClientBuffer, at_head, timer, api);
    dmf_method_leave(m);
}

VOID DMF_BufferPool_Put(DMFMODULE DmfModule, VOID *ClientBuffer)
{
    put_common(DmfModule, ClientBuffer, false, NULL, "DMF_BufferPool_Put");
}

VOID DMF_BufferPool_PutAtHead(DMFMODULE DmfModule, VOID *ClientBuffer)
{
    put_common(DmfModule, ClientBuffer, true, NULL, "DMF_BufferPool_PutAtHead");
}

VOID DMF_BufferPool_PutInSinkWithTimer(DMFMODULE DmfModule, VOID *ClientBuffer, ULONGLONG TimerExpirationMilliseconds,
                                       EVT_DMF_BufferPool_TimerCallback *TimerExpirationCallback,
                                       VOID *TimerExpirationCallbackContext)
{
    put_timer timer = { TimerExpirationMilliseconds, TimerExpirationCallback, TimerExpirationCallbackContext };
    put_common(DmfModule, ClientBuffer, false, &timer, "DMF_BufferPool_PutInSinkWithTimer");
}
