/*
 * collection.c — WDFCOLLECTION: an ordered array of referenced framework objects.
 *
 * Locking: wdf_collection.lock protects items, count and capacity. References are released
 * after the lock is dropped, because releasing the last one runs the object's destroy
 * callbacks (driver code).
 *
 * Who frees what: each entry holds one reference on its object, taken by WdfCollectionAdd and
 * released by WdfCollectionRemove / WdfCollectionRemoveItem or by the collection's destroy hook
 * (after its last reference, as KMDF does in the collection's destructor). The array is freed
 * by the destroy hook.
 */
#include "wdf/wdf_internal.h"

#include <string.h>

typedef struct wdf_collection {
    pk_object header;
    pk_lock lock;       /* protects items, count, capacity */
    pk_object **items;  /* each holds a reference */
    ULONG count;
    ULONG capacity;
} wdf_collection;

static void collection_destroy(pk_object *o)
{
    wdf_collection *c = CONTAINING_RECORD(o, wdf_collection, header);
    pk_object **items = c->items;
    ULONG count = c->count;

    /* Last reference: no API call can be looking at the array. */
    c->items = NULL;
    c->count = c->capacity = 0;
    for (ULONG i = 0; i < count; i++)
        pk_object_dereference(items[i]);
    pk_free(items);
}

static const pk_object_type collection_type = { "WDFCOLLECTION", PK_KIND_COLLECTION, 0, NULL, collection_destroy };

static NTSTATUS collection_reference(WDFCOLLECTION handle, const char *api, wdf_collection **out)
{
    pk_object *o;
    NTSTATUS status = pk_object_reference_handle((WDFOBJECT)handle, PK_KIND_COLLECTION, api, &o);

    if (NT_SUCCESS(status))
        *out = CONTAINING_RECORD(o, wdf_collection, header);
    return status;
}

static void collection_release(wdf_collection *c) { pk_object_dereference(&c->header); }

/* Removes entry i and returns its object (whose reference passes to the caller). */
static pk_object *remove_at_locked(wdf_collection *c, ULONG i)
{
    pk_object *o = c->items[i];

    memmove(&c->items[i], &c->items[i + 1], (size_t)(c->count - i - 1) * sizeof(c->items[0]));
    c->count--;
    return o;
}

NTSTATUS WdfCollectionCreate(PWDF_OBJECT_ATTRIBUTES CollectionAttributes, WDFCOLLECTION *Collection)
{
    wdf_collection *c;
    NTSTATUS status;

    if (!pk_irql_ok("WdfCollectionCreate", DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!Collection)
        return STATUS_INVALID_PARAMETER;
    status = pk_object_create(&collection_type, CollectionAttributes, NULL, sizeof(*c), "WdfCollectionCreate",
                              (void **)&c);
    if (!NT_SUCCESS(status))
        return status;
    *Collection = (WDFCOLLECTION)pk_object_handle(&c->header);
    pk_object_commit(&c->header);
    return STATUS_SUCCESS;
}

ULONG WdfCollectionGetCount(WDFCOLLECTION Collection)
{
    wdf_collection *c;
    ULONG count;

    if (!pk_irql_ok("WdfCollectionGetCount", DISPATCH_LEVEL))
        return 0;
    if (!NT_SUCCESS(collection_reference(Collection, "WdfCollectionGetCount", &c)))
        return 0;
    pk_lock_acquire(&c->lock);
    count = c->count;
    pk_lock_release(&c->lock);
    collection_release(c);
    return count;
}

NTSTATUS WdfCollectionAdd(WDFCOLLECTION Collection, WDFOBJECT Object)
{
    wdf_collection *c;
    pk_object *o;
    NTSTATUS status;

    if (!pk_irql_ok("WdfCollectionAdd", DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    status = collection_reference(Collection, "WdfCollectionAdd", &c);
    if (!NT_SUCCESS(status))
        return status;
    status = pk_object_reference_handle(Object, PK_KIND_ANY, "WdfCollectionAdd", &o);
    if (!NT_SUCCESS(status))
        goto release_collection;
    if (o == &c->header) {
        pk_verifier_report("WdfCollectionAdd", "a collection cannot contain itself (it would never be freed)");
        status = STATUS_INVALID_PARAMETER;
        goto release_object;
    }

    pk_lock_acquire(&c->lock);
    if (c->count == c->capacity) {
        ULONG capacity = c->capacity ? c->capacity * 2 : 8;
        pk_object **items = capacity > c->capacity ? pk_realloc(c->items, (size_t)capacity * sizeof(*items)) : NULL;
        if (!items) {
            pk_lock_release(&c->lock);
            status = STATUS_UNSUCCESSFUL;
            goto release_object;
        }
        c->items = items;
        c->capacity = capacity;
    }
    c->items[c->count++] = o; /* the lookup's reference is the collection's now */
    pk_lock_release(&c->lock);
    collection_release(c);
    return STATUS_SUCCESS;

release_object:
    pk_object_dereference(o);
release_collection:
    collection_release(c);
    return status;
}

VOID WdfCollectionRemove(WDFCOLLECTION Collection, WDFOBJECT Item)
{
    wdf_collection *c;
    pk_object *o, *removed = NULL;

    if (!pk_irql_ok("WdfCollectionRemove", DISPATCH_LEVEL))
        return;
    if (!NT_SUCCESS(collection_reference(Collection, "WdfCollectionRemove", &c)))
        return;
    if (NT_SUCCESS(pk_object_reference_handle(Item, PK_KIND_ANY, "WdfCollectionRemove", &o))) {
        pk_lock_acquire(&c->lock);
        for (ULONG i = 0; i < c->count; i++) {
            if (c->items[i] == o) {
                removed = remove_at_locked(c, i);
                break;
            }
        }
        pk_lock_release(&c->lock);
        if (removed)
            pk_object_dereference(removed); /* the collection's reference */
        else
            pk_verifier_report("WdfCollectionRemove", "object %p is not in collection %p", Item, (void *)Collection);
        pk_object_dereference(o); /* the lookup's */
    }
    collection_release(c);
}

VOID WdfCollectionRemoveItem(WDFCOLLECTION Collection, ULONG Index)
{
    wdf_collection *c;
    pk_object *removed = NULL;
    ULONG count;

    if (!pk_irql_ok("WdfCollectionRemoveItem", DISPATCH_LEVEL))
        return;
    if (!NT_SUCCESS(collection_reference(Collection, "WdfCollectionRemoveItem", &c)))
        return;
    pk_lock_acquire(&c->lock);
    count = c->count;
    if (Index < count)
        removed = remove_at_locked(c, Index);
    pk_lock_release(&c->lock);
    if (removed)
        pk_object_dereference(removed);
    else
        pk_verifier_report("WdfCollectionRemoveItem", "index %u is not valid in collection %p (count %u)", Index,
                           (void *)Collection, count);
    collection_release(c);
}

typedef enum { BY_INDEX, FIRST, LAST } item_position;

static WDFOBJECT get_item(WDFCOLLECTION Collection, item_position which, ULONG index, const char *api)
{
    wdf_collection *c;
    WDFOBJECT handle = NULL;

    if (!pk_irql_ok(api, DISPATCH_LEVEL))
        return NULL;
    if (!NT_SUCCESS(collection_reference(Collection, api, &c)))
        return NULL;
    pk_lock_acquire(&c->lock);
    if (which == FIRST)
        index = 0;
    else if (which == LAST)
        index = c->count ? c->count - 1 : 0;
    if (index < c->count)
        handle = pk_object_handle(c->items[index]);
    pk_lock_release(&c->lock);
    collection_release(c);
    return handle;
}

WDFOBJECT WdfCollectionGetItem(WDFCOLLECTION Collection, ULONG Index)
{
    return get_item(Collection, BY_INDEX, Index, "WdfCollectionGetItem");
}

WDFOBJECT WdfCollectionGetFirstItem(WDFCOLLECTION Collection)
{
    return get_item(Collection, FIRST, 0, "WdfCollectionGetFirstItem");
}

WDFOBJECT WdfCollectionGetLastItem(WDFCOLLECTION Collection)
{
    return get_item(Collection, LAST, 0, "WdfCollectionGetLastItem");
}
