/*
 * object_ref.c — reference counts of the io objects (driver, device and file objects):
 * ObfReferenceObject, ObfDereferenceObject and the header they work on.
 *
 * Each object has an io_object_header right before its public structure (io_internal.h). The
 * count starts at one, the creation reference. Drivers and devices lose it to
 * PnpkitIoDeleteDriver / IoDeleteDevice, which set `deleted` first; a file object's creation
 * reference is the reference of its open, dropped by the opener.
 *
 * Locking: none; the count is changed by compare-and-swap. Who frees what: the thread that
 * drops the last reference runs the kind's destroy function (driver.c, device.c, file.c),
 * which frees the block. No pnpkit lock is held while it runs (a file object's close calls the
 * driver).
 */
#include "io/io_internal.h"

bool io_object_is(const void *object, io_object_kind kind)
{
    const io_object_header *h;

    if (!object || ((uintptr_t)object & 7))
        return false;
    h = io_header_of(object);
    if (pk_load_relaxed(&h->magic) != IO_OBJECT_MAGIC)
        return false;
    return kind == 0 || h->kind == kind;
}

void io_object_init(io_object_header *h, io_object_kind kind)
{
    h->magic = IO_OBJECT_MAGIC;
    h->kind = (uint8_t)kind;
    h->refs = 1;
    h->deleted = 0;
}

void io_object_reference(void *object)
{
    pk_fetch_add(&io_header_of(object)->refs, 1);
}

static void destroy(io_object_header *h)
{
    void *object = (char *)h + sizeof(*h);

    switch ((io_object_kind)h->kind) {
    case IO_KIND_DRIVER: io_driver_destroy(io_driver_of(object)); break;
    case IO_KIND_DEVICE: io_device_destroy(io_device_of(object)); break;
    case IO_KIND_FILE: io_file_last_reference(io_file_of(object)); break;
    default: pk_internal_bug("known io object kind", __FILE__, __LINE__); break;
    }
}

/* Drops one reference. A driver or device keeps its last reference until it is deleted: that
 * is a caller's bug, reported here. Returns the new count, or the unchanged count when the
 * reference was refused. */
static LONG_PTR dereference(io_object_header *h, const char *api)
{
    uint32_t c = pk_load_relaxed(&h->refs);

    for (;;) {
        if (c == 0) {
            pk_verifier_stop(api, "object %p has no reference left to drop", (void *)(h + 1));
            return 0;
        }
        if (c == 1 && h->kind != IO_KIND_FILE && !pk_load_acquire(&h->deleted)) {
            pk_verifier_stop(api, "%s %p: the last reference would go before %s; the reference is kept",
                             h->kind == IO_KIND_DEVICE ? "device object" : "driver object", (void *)(h + 1),
                             h->kind == IO_KIND_DEVICE ? "IoDeleteDevice" : "PnpkitIoDeleteDriver");
            return 1;
        }
        if (pk_cas(&h->refs, &c, c - 1))
            break;
    }
    if (c == 1)
        destroy(h);
    return (LONG_PTR)c - 1;
}

void io_object_dereference(void *object)
{
    io_object_header *h = io_header_of(object);

    /* Internal callers hold a reference they own, and deletion has been recorded where it
     * must have been: no refusal expected. */
    if (pk_fetch_sub(&h->refs, 1) == 1)
        destroy(h);
}

LONG_PTR ObfReferenceObject(PVOID Object)
{
    if (!pk_irql_ok("ObfReferenceObject", DISPATCH_LEVEL))
        return 0;
    if (!io_object_is(Object, 0)) {
        pk_verifier_stop("ObfReferenceObject", "%p is not a live driver, device or file object", Object);
        return 0;
    }
    return (LONG_PTR)pk_fetch_add(&io_header_of(Object)->refs, 1) + 1;
}

LONG_PTR ObfDereferenceObject(PVOID Object)
{
    if (!pk_irql_ok("ObfDereferenceObject", DISPATCH_LEVEL))
        return 0;
    if (!io_object_is(Object, 0)) {
        pk_verifier_stop("ObfDereferenceObject", "%p is not a live driver, device or file object", Object);
        return 0;
    }
    return dereference(io_header_of(Object), "ObfDereferenceObject");
}

uint32_t io_object_references(void *object) { return pk_load_acquire(&io_header_of(object)->refs); }
