/*
 * handle_table.c — the table behind WDF handles.
 *
 * A handle is 0xA | generation (28 bits) | slot index (32 bits). Slots live in chunks that are
 * never freed, so checking a handle never touches freed memory: the generation and the
 * reference count are in the slot, and the object pointer is trusted only while the reference
 * count is nonzero and the generation still matches.
 *
 * Lookup: read the generation, take a reference unless the count is zero, and read the
 * generation again; if it changed (the slot was reused in between), drop the reference again.
 * That drop may be the last one of the slot's new object; it then runs the normal final release.
 *
 * table_lock protects the chunk array growth and the free list. Freed slots go to the tail of a
 * FIFO, so a slot is reused as late as possible and a stale handle stays detectable for long.
 */
#include "object/object_internal.h"

#include <stdlib.h>

#define SLOTS_PER_CHUNK 4096u
#define MAX_CHUNKS 4096u
#define NO_SLOT UINT32_MAX
#define HANDLE_TAG 0xA000000000000000ull

typedef struct pk_slot {
    uint32_t generation; /* never 0 for a live slot */
    uint32_t refs;
    pk_object *object;
    uint32_t next_free;
    uint16_t kind;
} pk_slot;

static pk_slot *chunks[MAX_CHUNKS];
static pk_lock table_lock = PK_LOCK_INIT;
static uint32_t slots_made;               /* table_lock */
static uint32_t free_head = NO_SLOT, free_tail = NO_SLOT; /* table_lock */

/* The slot of an index that may come from a caller's handle: NULL if its chunk never existed. */
static inline pk_slot *slot_lookup(uint32_t index)
{
    pk_slot *chunk = pk_load_acquire(&chunks[index / SLOTS_PER_CHUNK]);
    return chunk ? &chunk[index % SLOTS_PER_CHUNK] : NULL;
}

/* The slot of an index pnpkit handed out itself: its chunk exists. */
static inline pk_slot *slot_at(uint32_t index)
{
    return &pk_load_acquire(&chunks[index / SLOTS_PER_CHUNK])[index % SLOTS_PER_CHUNK];
}

bool pk_handle_alloc(pk_object *o, pk_object_kind kind)
{
    uint32_t index;
    pk_slot *s;

    pk_lock_acquire(&table_lock);
    if (free_head != NO_SLOT) {
        index = free_head;
        s = slot_at(index);
        free_head = s->next_free;
        if (free_head == NO_SLOT)
            free_tail = NO_SLOT;
    } else {
        index = slots_made;
        if (index % SLOTS_PER_CHUNK == 0) {
            pk_slot *chunk;
            if (index / SLOTS_PER_CHUNK >= MAX_CHUNKS || !(chunk = pk_zalloc(sizeof(pk_slot) * SLOTS_PER_CHUNK))) {
                pk_lock_release(&table_lock);
                return false;
            }
            pk_store_release(&chunks[index / SLOTS_PER_CHUNK], chunk);
        }
        slots_made++;
        s = slot_at(index);
        s->generation = 0;
    }
    pk_lock_release(&table_lock);

    uint32_t gen = (pk_load_relaxed(&s->generation) + 1) & 0x0FFFFFFFu;
    if (gen == 0)
        gen = 1;
    s->object = o;
    s->kind = (uint16_t)kind;
    o->slot = index;
    o->generation = gen;
    pk_store_release(&s->refs, 1u);
    /* Publishing the generation last makes the slot findable only once it is complete. */
    pk_store_release(&s->generation, gen);
    return true;
}

pk_object *pk_handle_lookup(WDFOBJECT handle, pk_object_kind *kind_out)
{
    uint64_t h = (uint64_t)(uintptr_t)handle;
    uint32_t index = (uint32_t)h, gen = (uint32_t)(h >> 32) & 0x0FFFFFFFu;
    pk_slot *s;

    if ((h & 0xF000000000000000ull) != HANDLE_TAG || gen == 0 || index >= MAX_CHUNKS * SLOTS_PER_CHUNK)
        return NULL;
    s = slot_lookup(index);
    if (!s || pk_load_acquire(&s->generation) != gen)
        return NULL;
    if (!pk_ref_get_unless_zero(&s->refs))
        return NULL;
    if (pk_load_acquire(&s->generation) != gen) {
        /* The slot was reused between the two reads: the reference we took belongs to the new
         * object. Give it back through the normal path. */
        if (pk_ref_put(&s->refs))
            pk_object_finalize(s->object);
        return NULL;
    }
    if (kind_out)
        *kind_out = (pk_object_kind)s->kind;
    return s->object;
}

void pk_handle_get(pk_object *o) { pk_fetch_add(&slot_at(o->slot)->refs, 1u); }

bool pk_handle_put(pk_object *o) { return pk_ref_put(&slot_at(o->slot)->refs); }

bool pk_handle_put_two(pk_object *o) { return pk_fetch_sub(&slot_at(o->slot)->refs, 2u) == 2u; }

uint32_t pk_handle_refs(pk_object *o) { return pk_load_acquire(&slot_at(o->slot)->refs); }

bool pk_handle_put_unless_last(pk_object *o)
{
    uint32_t *refs = &slot_at(o->slot)->refs;
    uint32_t c = pk_load_relaxed(refs);
    do {
        if (c <= 1)
            return false;
    } while (!pk_cas(refs, &c, c - 1));
    return true;
}

void pk_handle_free(pk_object *o)
{
    uint32_t index = o->slot;
    pk_slot *s = slot_at(index);

    /* A new generation makes every copy of the old handle stale. */
    pk_store_release(&s->generation, (s->generation + 1) & 0x0FFFFFFFu);
    s->object = NULL;
    pk_lock_acquire(&table_lock);
    s->next_free = NO_SLOT;
    if (free_tail == NO_SLOT)
        free_head = index;
    else
        slot_at(free_tail)->next_free = index;
    free_tail = index;
    pk_lock_release(&table_lock);
}
