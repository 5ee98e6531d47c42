/*
 * object.c — creation, references, deletion and destruction of framework objects.
 *
 * Locking: o->lock protects o's state, its children list and child_count, and the context
 * chain's tail. Lock order is parent before child; no pnpkit lock is held while a client
 * callback (cleanup, destroy) runs.
 *
 * Who frees what: the memory of an object (implementation struct and primary context in one
 * block, further contexts in their own blocks) is freed by pk_object_finalize, after the
 * last reference is gone and the destroy callbacks have run. The handle-table slot is retired
 * at the same time, which makes every copy of the handle stale.
 */
#include "object/object_internal.h"

#include <stdio.h>
#include <string.h>

#define CONTEXT_MAGIC 0x43584b50u /* "PKXC" */

struct pk_context_header {
    uint32_t magic;
    pk_object *object;
    PCWDF_OBJECT_CONTEXT_TYPE_INFO type;  /* NULL: no typed context (callbacks only) */
    PFN_WDF_OBJECT_CONTEXT_CLEANUP cleanup;
    PFN_WDF_OBJECT_CONTEXT_DESTROY destroy;
    pk_context_header *next;
    bool separate_block;                  /* allocated on its own (WdfObjectAllocateContext) */
} __attribute__((aligned(16)));

static uint32_t live_objects;

void pk_live_add(int delta) { pk_fetch_add(&live_objects, (uint32_t)delta); }

ULONG PnpkitLiveObjectCount(void) { return pk_load_acquire(&live_objects); }

static size_t align16(size_t n) { return (n + 15) & ~(size_t)15; }

static inline void *context_data(pk_context_header *h) { return (char *)h + sizeof(*h); }

/* ---- The state machine ---- */

static const char *state_name(unsigned s)
{
    static const char *const names[] = { "?", "CREATED", "DELETING", "DISPOSING", "DISPOSED", "DESTROYED" };
    return s < ARRAYSIZE(names) ? names[s] : "?";
}

static bool transition_is_legal(pk_object_state from, pk_object_state to)
{
    switch (to) {
    case PK_OBJ_DELETING: return from == PK_OBJ_CREATED;
    case PK_OBJ_DISPOSING: return from == PK_OBJ_DELETING;
    case PK_OBJ_DISPOSED: return from == PK_OBJ_DISPOSING;
    case PK_OBJ_DESTROYED: return from == PK_OBJ_DISPOSED || from == PK_OBJ_CREATED;
    default: return false;
    }
}

/* The one function that changes an object's state. Called with o->lock held, or when no other
 * thread can reach the object (creation, final release). */
static void obj_transition(pk_object *o, pk_object_state to, pk_object_event event)
{
    pk_object_state from = (pk_object_state)o->state;

    if (!transition_is_legal(from, to))
        pk_internal_bug("legal object state transition", __FILE__, __LINE__);
    o->history[o->history_next].from = (uint8_t)from;
    o->history[o->history_next].to = (uint8_t)to;
    o->history[o->history_next].event = (uint8_t)event;
    o->history_next = (uint8_t)((o->history_next + 1) % PK_OBJECT_HISTORY);
    pk_store_release(&o->state, (uint8_t)to);
    PK_TRACE(PnpkitTraceVerbose, "object", "%s %p: %s -> %s", o->type->name, pk_object_handle(o),
             state_name(from), state_name(to));
}

/* ---- Creation ---- */

static NTSTATUS validate_attributes(const WDF_OBJECT_ATTRIBUTES *a, const char *api)
{
    if (!a)
        return STATUS_SUCCESS;
    if (a->Size != sizeof(WDF_OBJECT_ATTRIBUTES)) {
        pk_verifier_report(api, "WDF_OBJECT_ATTRIBUTES.Size is %u, expected %zu", a->Size,
                           sizeof(WDF_OBJECT_ATTRIBUTES));
        return STATUS_INFO_LENGTH_MISMATCH;
    }
    if (a->ExecutionLevel < WdfExecutionLevelInheritFromParent || a->ExecutionLevel > WdfExecutionLevelDispatch ||
        a->SynchronizationScope < WdfSynchronizationScopeInheritFromParent ||
        a->SynchronizationScope > WdfSynchronizationScopeNone) {
        pk_verifier_report(api, "invalid ExecutionLevel or SynchronizationScope");
        return STATUS_INVALID_PARAMETER;
    }
    if (a->ContextSizeOverride &&
        (!a->ContextTypeInfo || a->ContextSizeOverride < a->ContextTypeInfo->ContextSize)) {
        pk_verifier_report(api, "ContextSizeOverride needs a ContextTypeInfo and at least its ContextSize");
        return STATUS_INVALID_PARAMETER;
    }
    if (a->ContextTypeInfo && a->ContextTypeInfo->Size != sizeof(WDF_OBJECT_CONTEXT_TYPE_INFO)) {
        pk_verifier_report(api, "ContextTypeInfo is not a WDF_OBJECT_CONTEXT_TYPE_INFO");
        return STATUS_INVALID_PARAMETER;
    }
    return STATUS_SUCCESS;
}

static PCWDF_OBJECT_CONTEXT_TYPE_INFO unique_type(PCWDF_OBJECT_CONTEXT_TYPE_INFO t)
{
    if (!t)
        return NULL;
    if (t->EvtDriverGetUniqueContextType) {
        PCWDF_OBJECT_CONTEXT_TYPE_INFO u = t->EvtDriverGetUniqueContextType();
        if (u)
            return u;
    }
    return t->UniqueType ? t->UniqueType : t;
}

static size_t context_size(const WDF_OBJECT_ATTRIBUTES *a)
{
    if (!a || !a->ContextTypeInfo)
        return 0;
    return a->ContextSizeOverride ? a->ContextSizeOverride : a->ContextTypeInfo->ContextSize;
}

NTSTATUS pk_object_create(const pk_object_type *type, const WDF_OBJECT_ATTRIBUTES *attributes,
                          pk_object *default_parent, size_t impl_size, const char *api, void **out)
{
    NTSTATUS status;
    pk_object *parent = NULL, *o;
    pk_context_header *ctx;
    size_t head = align16(impl_size);
    WDF_EXECUTION_LEVEL level;
    WDF_SYNCHRONIZATION_SCOPE scope;

    status = validate_attributes(attributes, api);
    if (!NT_SUCCESS(status))
        return status;

    if (attributes && attributes->ParentObject) {
        status = pk_object_reference_handle(attributes->ParentObject, PK_KIND_ANY, api, &parent);
        if (!NT_SUCCESS(status))
            return status;
    } else if (default_parent) {
        parent = default_parent;
        pk_object_reference(parent);
    }

    o = pk_zalloc(head + sizeof(pk_context_header) + align16(context_size(attributes)));
    if (!o) {
        status = STATUS_INSUFFICIENT_RESOURCES;
        goto release_parent;
    }
    o->type = type;
    pk_lock_init(&o->lock);
    InitializeListHead(&o->children);
    InitializeListHead(&o->sibling);
    o->state = 0;

    ctx = (pk_context_header *)((char *)o + head);
    ctx->magic = CONTEXT_MAGIC;
    ctx->object = o;
    ctx->type = attributes ? attributes->ContextTypeInfo : NULL;
    ctx->cleanup = attributes ? attributes->EvtCleanupCallback : NULL;
    ctx->destroy = attributes ? attributes->EvtDestroyCallback : NULL;
    o->contexts = ctx;

    level = attributes ? attributes->ExecutionLevel : WdfExecutionLevelInheritFromParent;
    if (level == WdfExecutionLevelInheritFromParent)
        level = parent ? (WDF_EXECUTION_LEVEL)parent->execution_level : WdfExecutionLevelDispatch;
    scope = attributes ? attributes->SynchronizationScope : WdfSynchronizationScopeInheritFromParent;
    if (scope == WdfSynchronizationScopeInheritFromParent)
        scope = parent ? (WDF_SYNCHRONIZATION_SCOPE)parent->synchronization_scope : WdfSynchronizationScopeNone;
    o->execution_level = (uint8_t)level;
    o->synchronization_scope = (uint8_t)scope;

    if (!pk_handle_alloc(o, type->kind)) {
        status = STATUS_INSUFFICIENT_RESOURCES;
        goto free_object;
    }
    o->creation_ref_held = true;
    o->history[0].from = 0;
    o->history[0].to = PK_OBJ_CREATED;
    o->history[0].event = PK_EV_CREATE;
    o->history_next = 1;
    o->state = PK_OBJ_CREATED;

    if (parent) {
        pk_lock_acquire(&parent->lock);
        if (parent->state != PK_OBJ_CREATED) {
            pk_lock_release(&parent->lock);
            status = STATUS_DELETE_PENDING;
            goto free_slot;
        }
        InsertTailList(&parent->children, &o->sibling);
        parent->child_count++;
        pk_lock_release(&parent->lock);
        o->parent = parent; /* keeps the reference taken above */
    }
    pk_live_add(1);
    *out = o;
    return STATUS_SUCCESS;

free_slot:
    pk_handle_put(o);
    pk_handle_free(o);
free_object:
    pk_free(o);
release_parent:
    if (parent)
        pk_object_dereference(parent);
    return status;
}

/* ---- References ---- */

NTSTATUS pk_object_reference_handle(WDFOBJECT handle, pk_object_kind kind, const char *api, pk_object **out)
{
    pk_object_kind actual;
    pk_object *o = pk_handle_lookup(handle, &actual);

    if (pk_unlikely(!o)) {
        pk_verifier_report(api, "invalid handle %p (NULL, stale or never valid)", handle);
        return STATUS_INVALID_HANDLE;
    }
    if (pk_unlikely(kind != PK_KIND_ANY && actual != kind)) {
        pk_verifier_report(api, "handle %p is a %s, not the object type this API takes", handle, o->type->name);
        pk_object_dereference(o);
        return STATUS_INVALID_HANDLE;
    }
    *out = o;
    return STATUS_SUCCESS;
}

void pk_object_reference(pk_object *o) { pk_handle_get(o); }

void pk_object_dereference(pk_object *o)
{
    if (pk_handle_put(o))
        pk_object_finalize(o);
}

static void free_object_memory(pk_object *o)
{
    pk_object *parent = o->parent;
    pk_context_header *c, *next;

    pk_handle_free(o);
    for (c = o->contexts; c; c = next) {
        next = c->next;
        c->magic = 0;
        if (c->separate_block)
            pk_free(c);
    }
    pk_free(o);
    pk_live_add(-1);
    if (parent)
        pk_object_dereference(parent);
}

/* Runs the destroy callbacks and frees the object; called by whoever released the last
 * reference. The destroy callbacks may use the handle (to reach their context), so the slot is
 * given one reference back for their duration. If a callback leaked a reference to another
 * thread, the memory is freed when that last reference goes (this function runs again and
 * finds the object DESTROYED). */
void pk_object_finalize(pk_object *o)
{
    WDFOBJECT handle = pk_object_handle(o);

    if (o->state == PK_OBJ_DESTROYED) {
        free_object_memory(o);
        return;
    }
    if (o->state != PK_OBJ_DISPOSED && o->state != PK_OBJ_CREATED)
        pk_internal_bug("final release of an object that is being disposed", __FILE__, __LINE__);
    obj_transition(o, PK_OBJ_DESTROYED, o->state == PK_OBJ_CREATED ? PK_EV_CREATE_FAILED : PK_EV_LAST_REFERENCE);
    pk_handle_get(o);
    for (pk_context_header *c = o->contexts; c; c = c->next)
        if (c->destroy)
            c->destroy(handle);
    if (o->type->destroy)
        o->type->destroy(o);
    if (pk_handle_put(o))
        free_object_memory(o);
}

void pk_object_abandon(pk_object *o)
{
    pk_object *parent = o->parent;

    if (parent) {
        pk_lock_acquire(&parent->lock);
        RemoveEntryList(&o->sibling);
        parent->child_count--;
        pk_lock_release(&parent->lock);
    }
    pk_store_release(&o->creation_ref_held, false);
    if (pk_handle_put(o))
        pk_object_finalize(o);
}

/* ---- Deletion ---- */

static void continue_delete(pk_object *o);

static void run_dispose(pk_object *o)
{
    WDFOBJECT handle = pk_object_handle(o);
    pk_object *parent = o->parent;
    bool parent_ready = false;

    if (o->type->dispose)
        o->type->dispose(o);
    for (pk_context_header *c = o->contexts; c; c = c->next)
        if (c->cleanup)
            c->cleanup(handle);

    pk_lock_acquire(&o->lock);
    obj_transition(o, PK_OBJ_DISPOSED, PK_EV_CLEANUP_DONE);
    pk_store_release(&o->creation_ref_held, false);
    pk_lock_release(&o->lock);

    if (parent) {
        pk_lock_acquire(&parent->lock);
        RemoveEntryList(&o->sibling);
        InitializeListHead(&o->sibling);
        parent->child_count--;
        parent_ready = parent->state == PK_OBJ_DELETING && parent->child_count == 0;
        pk_lock_release(&parent->lock);
    }
    /* The parent cannot go away here: o still holds a reference on it. */
    if (parent_ready)
        continue_delete(parent);
    pk_object_dereference(o); /* the creation reference */
}

static void deferred_dispose(void *context) { run_dispose(context); }

/* Disposes o if its delete was requested and its children are gone. */
static void continue_delete(pk_object *o)
{
    pk_lock_acquire(&o->lock);
    if (o->state != PK_OBJ_DELETING || o->child_count != 0) {
        pk_lock_release(&o->lock);
        return;
    }
    obj_transition(o, PK_OBJ_DISPOSING, PK_EV_CHILDREN_GONE);
    pk_lock_release(&o->lock);

    if (o->execution_level == WdfExecutionLevelPassive && pk_irql() > PASSIVE_LEVEL) {
        ExInitializeWorkItem(&o->deferred_dispose, (PWORKER_THREAD_ROUTINE)deferred_dispose, o);
        pk_work_queue(&o->deferred_dispose);
        return;
    }
    run_dispose(o);
}

void pk_object_commit(pk_object *o)
{
    pk_object *parent = o->parent;
    bool parent_deleting = false;

    if (parent) {
        /* Under the parent's lock: a delete of the parent either saw us committed (and deletes
         * us), or runs its child loop before this and left us for us to delete here. */
        pk_lock_acquire(&parent->lock);
        pk_store_release(&o->committed, true);
        parent_deleting = parent->state != PK_OBJ_CREATED;
        pk_lock_release(&parent->lock);
    } else {
        pk_store_release(&o->committed, true);
    }
    if (parent_deleting)
        pk_object_delete(o);
}

void pk_object_delete(pk_object *o)
{
    /* Our own reference: deleting the children can finish this object's deletion and drop its
     * creation reference before the loop below is done with it. */
    pk_object_reference(o);
    pk_lock_acquire(&o->lock);
    if (o->state != PK_OBJ_CREATED) {
        pk_lock_release(&o->lock);
        pk_object_dereference(o);
        return;
    }
    obj_transition(o, PK_OBJ_DELETING, PK_EV_DELETE);
    if ((o->type->flags & PK_OBJTYPE_DELETE_BEGIN) && pk_irql() == PASSIVE_LEVEL) {
        /* A placeholder child keeps the children that delete_begin deletes from finishing this
         * object's deletion under it. */
        o->child_count++;
        pk_lock_release(&o->lock);
        ((const pk_object_type_ex *)o->type)->delete_begin(o);
        pk_lock_acquire(&o->lock);
        o->child_count--;
    }
    pk_lock_release(&o->lock);

    /* Delete the children, newest first. New children cannot be added any more (the parent is
     * no longer CREATED); a child already being deleted elsewhere is skipped and reports back
     * through continue_delete when its dispose ends. */
    for (;;) {
        pk_object *child = NULL;
        pk_lock_acquire(&o->lock);
        for (PLIST_ENTRY e = o->children.Blink; e != &o->children; e = e->Blink) {
            pk_object *c = CONTAINING_RECORD(e, pk_object, sibling);
            if (pk_load_acquire(&c->state) == PK_OBJ_CREATED && pk_load_acquire(&c->committed)) {
                child = c;
                pk_object_reference(child);
                break;
            }
        }
        pk_lock_release(&o->lock);
        if (!child)
            break;
        pk_object_delete(child);
        pk_object_dereference(child);
    }
    continue_delete(o);
    pk_object_dereference(o);
}

/* ---- Contexts ---- */

void *pk_object_primary_context(pk_object *o)
{
    return o->contexts && o->contexts->type ? context_data(o->contexts) : NULL;
}

static pk_context_header *find_context(pk_object *o, PCWDF_OBJECT_CONTEXT_TYPE_INFO type)
{
    PCWDF_OBJECT_CONTEXT_TYPE_INFO want = unique_type(type);

    for (pk_context_header *c = pk_load_acquire(&o->contexts); c; c = pk_load_acquire(&c->next)) {
        PCWDF_OBJECT_CONTEXT_TYPE_INFO have = unique_type(c->type);
        if (!have)
            continue;
        if (have == want)
            return c;
        /* The same type declared in two modules (two weak definitions that were not merged). */
        if (have->ContextName && want->ContextName && have->ContextSize == want->ContextSize &&
            strcmp(have->ContextName, want->ContextName) == 0)
            return c;
    }
    return NULL;
}

void *pk_object_context(pk_object *o, PCWDF_OBJECT_CONTEXT_TYPE_INFO type)
{
    pk_context_header *c = type ? find_context(o, type) : NULL;
    return c ? context_data(c) : NULL;
}

NTSTATUS pk_object_allocate_context(pk_object *o, const WDF_OBJECT_ATTRIBUTES *a, void **out)
{
    pk_context_header *c, *existing, **tail;
    size_t size = context_size(a);

    c = pk_zalloc(sizeof(*c) + align16(size));
    if (!c)
        return STATUS_INSUFFICIENT_RESOURCES;
    c->magic = CONTEXT_MAGIC;
    c->object = o;
    c->type = a->ContextTypeInfo;
    c->cleanup = a->EvtCleanupCallback;
    c->destroy = a->EvtDestroyCallback;
    c->separate_block = true;

    pk_lock_acquire(&o->lock);
    if (o->state != PK_OBJ_CREATED) {
        pk_lock_release(&o->lock);
        pk_free(c);
        return STATUS_DELETE_PENDING;
    }
    existing = find_context(o, a->ContextTypeInfo);
    if (existing) {
        pk_lock_release(&o->lock);
        pk_free(c);
        *out = context_data(existing);
        return STATUS_OBJECT_NAME_EXISTS;
    }
    for (tail = &o->contexts; *tail; tail = &(*tail)->next) {
    }
    pk_store_release(tail, c);
    pk_lock_release(&o->lock);
    *out = context_data(c);
    return STATUS_SUCCESS;
}

pk_object *pk_object_from_context(void *context)
{
    pk_context_header *c = (pk_context_header *)((char *)context - sizeof(pk_context_header));
    return c->magic == CONTEXT_MAGIC ? c->object : NULL;
}

void pk_object_dump(pk_object *o)
{
    static const char *const events[] = { "?", "create", "delete", "children-gone", "cleanup-done",
                                          "last-reference", "create-failed" };
    fprintf(stderr, "%s %p: state %s, %u references (ours included), %u children\n", o->type->name,
            pk_object_handle(o), state_name(pk_object_get_state(o)), pk_handle_refs(o), o->child_count);
    for (int i = 0; i < PK_OBJECT_HISTORY; i++) {
        int k = (o->history_next + i) % PK_OBJECT_HISTORY;
        if (!o->history[k].event)
            continue;
        fprintf(stderr, "  %-9s -> %-9s on %s\n", state_name(o->history[k].from), state_name(o->history[k].to),
                events[o->history[k].event < ARRAYSIZE(events) ? o->history[k].event : 0]);
    }
}

bool pk_object_creation_ref_held(pk_object *o) { return pk_load_acquire(&o->creation_ref_held); }
