/*
 * lookaside.c — WDFLOOKASIDE: a list of equally sized buffers, and the memory objects that
 * borrow them (WdfMemoryCreateFromLookaside).
 *
 * Locking: wdf_lookaside.lock protects the free list and its depth; it is held only to push or
 * pop one buffer, never across an allocation or a call out.
 *
 * Who frees what: a memory object holds a reference on its list and gives its buffer back from
 * its destroy hook (after the last reference). The list keeps at most LOOKASIDE_MAX_DEPTH free
 * buffers and frees the others; once the list is being deleted, returned buffers are freed at
 * once. The list's destroy hook frees what is left; it runs after every memory object made
 * from the list is destroyed, because each holds a reference.
 *
 * Under AddressSanitizer a buffer on the free list is poisoned (all but the link word), so a
 * driver that keeps using a buffer after deleting its memory object is caught.
 */
#include "wdf/wdf_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define PK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PK_ASAN 1
#endif
#endif
#ifdef PK_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define LOOKASIDE_MAX_DEPTH 256

typedef struct free_buffer {
    struct free_buffer *next;
} free_buffer;

typedef struct wdf_lookaside {
    pk_object header;
    pk_lock lock;              /* protects free_list and depth */
    free_buffer *free_list;    /* LIFO: the most recently returned buffer is the warmest */
    uint32_t depth;
    size_t buffer_size;        /* what WdfMemoryGetBuffer reports */
    size_t alloc_size;         /* buffer_size, at least large enough for the link */
    bool paged;
    bool has_memory_attributes;
    WDF_OBJECT_ATTRIBUTES memory_attributes; /* a copy; applied to every memory object */
} wdf_lookaside;

typedef struct lookaside_memory {
    wdf_memory memory;
    wdf_lookaside *list;       /* holds a reference on the list */
} lookaside_memory;

static void lookaside_destroy(pk_object *o);
static void lookaside_memory_destroy(pk_object *o);

static const pk_object_type lookaside_type = { "WDFLOOKASIDE", WDF_KIND_LOOKASIDE, 0, NULL, lookaside_destroy };
static const pk_object_type lookaside_memory_type = { "WDFMEMORY (lookaside)", PK_KIND_MEMORY, 0, NULL,
                                                      lookaside_memory_destroy };

/* ---- The free list ---- */

static void *buffer_take(wdf_lookaside *l)
{
    free_buffer *b;

    pk_lock_acquire(&l->lock);
    b = l->free_list;
    if (b) {
        l->free_list = b->next;
        l->depth--;
    }
    pk_lock_release(&l->lock);
    if (b) {
        UNPOISON(b, l->alloc_size);
        return b;
    }
    return pk_alloc(l->alloc_size);
}

static void buffer_give(wdf_lookaside *l, void *p)
{
    bool keep;

    pk_lock_acquire(&l->lock);
    keep = l->depth < LOOKASIDE_MAX_DEPTH && pk_object_get_state(&l->header) == PK_OBJ_CREATED;
    if (keep) {
        free_buffer *b = p;
        b->next = l->free_list;
        l->free_list = b;
        l->depth++;
        POISON((char *)p + sizeof(free_buffer), l->alloc_size - sizeof(free_buffer));
    }
    pk_lock_release(&l->lock);
    if (!keep)
        pk_free(p);
}

static void lookaside_destroy(pk_object *o)
{
    wdf_lookaside *l = CONTAINING_RECORD(o, wdf_lookaside, header);
    free_buffer *b, *next;

    /* Last reference: no memory object of this list exists any more, nobody else looks. */
    for (b = l->free_list; b; b = next) {
        next = b->next;
        UNPOISON(b, l->alloc_size);
        pk_free(b);
    }
    l->free_list = NULL;
    l->depth = 0;
}

static void lookaside_memory_destroy(pk_object *o)
{
    lookaside_memory *m = CONTAINING_RECORD(o, lookaside_memory, memory.header);

    if (!m->list)
        return; /* creation did not get as far as taking a buffer */
    buffer_give(m->list, m->memory.buffer);
    m->memory.buffer = NULL;
    pk_object_dereference(&m->list->header);
    m->list = NULL;
}

/* ---- Attributes kept for the memory objects ---- */

/* The checks pk_object_create will make on every memory object, made once here so that a bad
 * MemoryAttributes fails WdfLookasideListCreate rather than each later allocation. */
static NTSTATUS validate_memory_attributes(const WDF_OBJECT_ATTRIBUTES *a)
{
    pk_object *parent;
    NTSTATUS status;

    if (a->Size != sizeof(WDF_OBJECT_ATTRIBUTES)) {
        pk_verifier_report("WdfLookasideListCreate", "MemoryAttributes->Size is %u, expected %zu", a->Size,
                           sizeof(WDF_OBJECT_ATTRIBUTES));
        return STATUS_INFO_LENGTH_MISMATCH;
    }
    if (a->ExecutionLevel < WdfExecutionLevelInheritFromParent || a->ExecutionLevel > WdfExecutionLevelDispatch ||
        a->SynchronizationScope < WdfSynchronizationScopeInheritFromParent ||
        a->SynchronizationScope > WdfSynchronizationScopeNone ||
        (a->ContextTypeInfo && a->ContextTypeInfo->Size != sizeof(WDF_OBJECT_CONTEXT_TYPE_INFO)) ||
        (a->ContextSizeOverride && (!a->ContextTypeInfo || a->ContextSizeOverride < a->ContextTypeInfo->ContextSize))) {
        pk_verifier_report("WdfLookasideListCreate", "invalid MemoryAttributes");
        return STATUS_INVALID_PARAMETER;
    }
    if (a->ParentObject) {
        status = pk_object_reference_handle(a->ParentObject, PK_KIND_ANY, "WdfLookasideListCreate", &parent);
        if (!NT_SUCCESS(status))
            return status;
        pk_object_dereference(parent);
    }
    return STATUS_SUCCESS;
}

/* ---- Public entry points ---- */

NTSTATUS WdfLookasideListCreate(PWDF_OBJECT_ATTRIBUTES LookasideAttributes, size_t BufferSize, POOL_TYPE PoolType,
                                PWDF_OBJECT_ATTRIBUTES MemoryAttributes, ULONG PoolTag, WDFLOOKASIDE *Lookaside)
{
    wdf_lookaside *l;
    NTSTATUS status;

    if (!pk_irql_ok("WdfLookasideListCreate", wdf_pool_type_is_paged(PoolType) ? PASSIVE_LEVEL : DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!Lookaside || BufferSize == 0)
        return STATUS_INVALID_PARAMETER;
    if (MemoryAttributes) {
        status = validate_memory_attributes(MemoryAttributes);
        if (!NT_SUCCESS(status))
            return status;
    }
    status = pk_object_create(&lookaside_type, LookasideAttributes, NULL, sizeof(*l), "WdfLookasideListCreate",
                              (void **)&l);
    if (!NT_SUCCESS(status))
        return status;
    l->buffer_size = BufferSize;
    l->alloc_size = BufferSize < sizeof(free_buffer) ? sizeof(free_buffer) : BufferSize;
    l->paged = wdf_pool_type_is_paged(PoolType);
    if (MemoryAttributes) {
        l->memory_attributes = *MemoryAttributes;
        l->has_memory_attributes = true;
    }
    *Lookaside = (WDFLOOKASIDE)pk_object_handle(&l->header);
    pk_object_commit(&l->header);
    return STATUS_SUCCESS;
}

NTSTATUS WdfMemoryCreateFromLookaside(WDFLOOKASIDE Lookaside, WDFMEMORY *Memory)
{
    static const char api[] = "WdfMemoryCreateFromLookaside";
    pk_object *o;
    wdf_lookaside *l;
    lookaside_memory *m;
    void *buffer;
    NTSTATUS status;

    if (!pk_irql_ok(api, DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!Memory)
        return STATUS_INVALID_PARAMETER;
    status = pk_object_reference_handle((WDFOBJECT)Lookaside, WDF_KIND_LOOKASIDE, api, &o);
    if (!NT_SUCCESS(status))
        return status;
    if (o->type != &lookaside_type) {
        pk_verifier_report(api, "handle %p is a %s, not a WDFLOOKASIDE", (void *)Lookaside, o->type->name);
        status = STATUS_INVALID_HANDLE;
        goto release_list;
    }
    l = CONTAINING_RECORD(o, wdf_lookaside, header);
    if (l->paged && !pk_irql_ok(api, APC_LEVEL)) {
        status = STATUS_INVALID_DEVICE_REQUEST;
        goto release_list;
    }

    buffer = buffer_take(l);
    if (!buffer) {
        status = STATUS_INSUFFICIENT_RESOURCES;
        goto release_list;
    }
    status = pk_object_create(&lookaside_memory_type, l->has_memory_attributes ? &l->memory_attributes : NULL, NULL,
                              sizeof(*m), api, (void **)&m);
    if (!NT_SUCCESS(status))
        goto give_back_buffer;
    m->memory.buffer = buffer;
    m->memory.size = l->buffer_size;
    m->list = l; /* the reference taken by the handle lookup is the memory object's now */
    *Memory = (WDFMEMORY)pk_object_handle(&m->memory.header);
    pk_object_commit(&m->memory.header);
    return STATUS_SUCCESS;

give_back_buffer:
    buffer_give(l, buffer);
release_list:
    pk_object_dereference(o);
    return status;
}
