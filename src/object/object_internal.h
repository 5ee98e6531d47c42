/*
 * object_internal.h — the framework object core, for the layers above (wdf, dmf, umdf1, ...).
 *
 * Every framework object is a struct whose first member is a pk_object. The header links the
 * object to its handle-table slot (where its reference count and generation live, in memory
 * that is never freed, so a stale handle can always be checked safely), its parent and
 * children, its contexts, and its deletion state machine.
 *
 * Deletion states (changed only by obj_transition in object.c, each change recorded in
 * `history`):
 *
 *   CREATED --delete--> DELETING --children gone--> DISPOSING --cleanup done--> DISPOSED
 *                                                                   --last ref--> DESTROYED
 *   CREATED --create failed--> DESTROYED
 */
#ifndef PNPKIT_OBJECT_INTERNAL_H
#define PNPKIT_OBJECT_INTERNAL_H

#include "base/base_internal.h"
#include <pnpkit/wdf.h>

/* Object kinds; a handle is checked against the kind an API expects. */
typedef enum pk_object_kind {
    PK_KIND_ANY = 0,
    PK_KIND_GENERIC,
    PK_KIND_DRIVER,
    PK_KIND_DEVICE,
    PK_KIND_QUEUE,
    PK_KIND_REQUEST,
    PK_KIND_FILEOBJECT,
    PK_KIND_IOTARGET,
    PK_KIND_MEMORY,
    PK_KIND_WORKITEM,
    PK_KIND_TIMER,
    PK_KIND_SPINLOCK,
    PK_KIND_WAITLOCK,
    PK_KIND_COLLECTION,
    PK_KIND_STRING,
    PK_KIND_DMFMODULE,
    PK_KIND_UMDF1,
    PK_KIND_LOOKASIDE,
    PK_KIND_DMFIOTARGET,
    PK_KIND_MAX
} pk_object_kind;

typedef enum pk_object_state {
    PK_OBJ_CREATED = 1,
    PK_OBJ_DELETING,   /* delete requested; waiting for the children to be disposed */
    PK_OBJ_DISPOSING,  /* running the framework dispose and the client cleanup callbacks */
    PK_OBJ_DISPOSED,   /* cleaned up; waiting for the last reference */
    PK_OBJ_DESTROYED,  /* destroy callbacks ran; memory about to be freed */
} pk_object_state;

typedef enum pk_object_event {
    PK_EV_CREATE = 1,
    PK_EV_DELETE,
    PK_EV_CHILDREN_GONE,
    PK_EV_CLEANUP_DONE,
    PK_EV_LAST_REFERENCE,
    PK_EV_CREATE_FAILED,
} pk_object_event;

typedef struct pk_object pk_object;

#define PK_OBJTYPE_NO_CLIENT_DELETE 0x1 /* only the framework deletes it (WdfObjectDelete refuses) */

typedef struct pk_object_type {
    const char *name;   /* "WDFDEVICE" */
    pk_object_kind kind;
    unsigned flags;
    /* Framework cleanup: after the children are gone, before the client's cleanup callbacks. */
    void (*dispose)(pk_object *object);
    /* Framework destruction: after the client's destroy callbacks, before the memory is freed. */
    void (*destroy)(pk_object *object);
} pk_object_type;

/* A type with PK_OBJTYPE_DELETE_BEGIN in its flags is the first member of a pk_object_type_ex:
 * delete_begin runs when deletion starts, before the children are deleted (for an object that
 * must shut down while its children still exist), when the deletion starts at PASSIVE_LEVEL. */
#define PK_OBJTYPE_DELETE_BEGIN 0x2
typedef struct pk_object_type_ex {
    pk_object_type base;
    void (*delete_begin)(pk_object *object);
} pk_object_type_ex;

typedef struct pk_context_header pk_context_header;

#define PK_OBJECT_HISTORY 8

struct pk_object {
    const pk_object_type *type;
    uint32_t slot;             /* index in the handle table */
    uint32_t generation;       /* generation of the handle */
    pk_lock lock;              /* protects state, children, child_count, contexts (append) */
    uint8_t state;             /* pk_object_state; written under lock, read atomically */
    uint8_t execution_level;   /* WDF_EXECUTION_LEVEL, resolved (Passive or Dispatch) */
    uint8_t synchronization_scope;
    bool creation_ref_held;    /* the reference dropped by delete; lock */
    bool committed;            /* set up by its creator (pk_object_commit); read atomically */
    pk_object *parent;         /* holds a reference on the parent until destroy */
    LIST_ENTRY children;       /* of pk_object.sibling; lock */
    LIST_ENTRY sibling;        /* in parent->children; parent's lock */
    uint32_t child_count;      /* entries in children; lock */
    pk_context_header *contexts;
    WORK_QUEUE_ITEM deferred_dispose; /* passive-level cleanup requested at DISPATCH_LEVEL */
    /* Last transitions, oldest overwritten first: readable in a debugger and by
     * PnpkitObjectDump. */
    struct {
        uint8_t from, to, event;
    } history[PK_OBJECT_HISTORY];
    uint8_t history_next;
};

/* Creates an object of `type` whose implementation struct (starting with pk_object) is
 * impl_size bytes. Attributes may be NULL. default_parent applies when attributes give none
 * (may be NULL). On success *out points at the zeroed implementation struct; the object holds
 * its creation reference, which pk_object_delete drops.
 * Returns the statuses documented at WdfObjectCreate. `api` names the caller in reports. */
NTSTATUS pk_object_create(const pk_object_type *type, const WDF_OBJECT_ATTRIBUTES *attributes,
                          pk_object *default_parent, size_t impl_size, const char *api, void **out);

/* Ends the creation: until this call, the deletion of the object's parent waits for it and
 * does not dispose it, so the creator can finish setting it up. If the parent began deleting
 * meanwhile, the object is deleted here; the caller must not touch it afterwards unless it
 * holds a reference of its own. Every successful pk_object_create is followed by exactly one
 * pk_object_commit or pk_object_abandon. */
void pk_object_commit(pk_object *object);

/* Abandons an object whose creation failed after pk_object_create succeeded: no cleanup
 * callback runs, its destroy callbacks do. */
void pk_object_abandon(pk_object *object);

static inline WDFOBJECT pk_object_handle(const pk_object *o)
{
    return (WDFOBJECT)(uintptr_t)(0xA000000000000000ull | ((uint64_t)(o->generation & 0x0FFFFFFFu) << 32) | o->slot);
}

/* Validates `handle` as an object of `kind` (PK_KIND_ANY for any) and takes a reference.
 * STATUS_INVALID_HANDLE (with a verifier report naming `api`) when it is NULL, stale or of
 * another kind. Objects being deleted are returned too (check pk_object_state). */
NTSTATUS pk_object_reference_handle(WDFOBJECT handle, pk_object_kind kind, const char *api, pk_object **out);
void pk_object_reference(pk_object *o);
void pk_object_dereference(pk_object *o);

/* Starts deletion (children first). No effect if deletion already started. */
void pk_object_delete(pk_object *o);

static inline pk_object_state pk_object_get_state(pk_object *o) { return (pk_object_state)pk_load_acquire(&o->state); }

/* The primary context (attributes' ContextTypeInfo), or NULL. */
void *pk_object_primary_context(pk_object *o);

/* Live framework objects; other layers that account objects of their own (IRPs, device
 * objects) use pk_live_add. */
void pk_live_add(int delta);

/* Runs the destroy callbacks and frees o; called by whoever released the last reference. */
void pk_object_finalize(pk_object *o);
/* The context of `type` on o, or NULL. */
void *pk_object_context(pk_object *o, PCWDF_OBJECT_CONTEXT_TYPE_INFO type);
/* Adds a context (see WdfObjectAllocateContext; attributes already validated). */
NTSTATUS pk_object_allocate_context(pk_object *o, const WDF_OBJECT_ATTRIBUTES *attributes, void **out);
/* The object owning a context pointer, or NULL if it is not one. */
pk_object *pk_object_from_context(void *context);
/* Whether the creation reference is still held (deletion has not finished). */
bool pk_object_creation_ref_held(pk_object *o);
void pk_object_dump(pk_object *o);

/* ---- Handle table (handle_table.c) ---- */
/* Allocates a slot for o with a reference count of 1; fills o->slot and o->generation. */
bool pk_handle_alloc(pk_object *o, pk_object_kind kind);
/* Looks up and references the object behind handle; NULL if the handle is not live. *kind_out
 * receives the slot's kind. */
pk_object *pk_handle_lookup(WDFOBJECT handle, pk_object_kind *kind_out);
/* Reference count operations on o's slot. pk_handle_put returns true when it released the
 * last reference. */
void pk_handle_get(pk_object *o);
bool pk_handle_put(pk_object *o);
/* Releases two references at once (a lookup's and the caller's). */
bool pk_handle_put_two(pk_object *o);
uint32_t pk_handle_refs(pk_object *o);
/* Decrements unless that would release the last reference; returns false then. */
bool pk_handle_put_unless_last(pk_object *o);
/* Retires the slot after the last reference: the handle becomes stale. */
void pk_handle_free(pk_object *o);

#endif /* PNPKIT_OBJECT_INTERNAL_H */
