/*
 * wdf_internal.h — what the files of the wdf layer share and nothing outside it includes.
 *
 * Naming: wdf_<thing>_<verb>. Public entry points (Wdf*) validate IRQL, arguments and handles,
 * then call into the file that owns the object type.
 */
#ifndef PNPKIT_WDF_INTERNAL_H
#define PNPKIT_WDF_INTERNAL_H

#include "object/object_internal.h"
#include <pnpkit/wdfutil.h>

/* =============================================================================================
 * Utility objects: memory.c, lookaside.c, collection.c, wdflock.c, workitem.c, wdftimer.c,
 * wdfstring.c.
 * ============================================================================================= */

/* WDFLOOKASIDE has no object kind of its own yet: its handles are registered as GENERIC and
 * lookaside.c tells them apart by their pk_object_type. Switch to PK_KIND_LOOKASIDE once
 * object_internal.h has it. */
#define WDF_KIND_LOOKASIDE PK_KIND_LOOKASIDE

#define WDF_MAXLONG 0x7FFFFFFFu

/* Paged pool types are the odd ones (PagedPool, PagedPoolCacheAligned, ...), as in Windows. */
static inline bool wdf_pool_type_is_paged(POOL_TYPE type) { return ((unsigned)type & 1u) != 0; }

/* The check of the work item and timer constructors: attributes with a ParentObject are
 * required. A wrong Attributes->Size is reported first, as KMDF does (and reading ParentObject
 * of a smaller structure would read past it). */
static inline NTSTATUS wdf_require_parent(const WDF_OBJECT_ATTRIBUTES *attributes, const char *api)
{
    if (!attributes || (attributes->Size == sizeof(WDF_OBJECT_ATTRIBUTES) && !attributes->ParentObject)) {
        pk_verifier_report(api, "WDF_OBJECT_ATTRIBUTES with a ParentObject are required");
        return STATUS_WDF_PARENT_NOT_SPECIFIED;
    }
    if (attributes->Size != sizeof(WDF_OBJECT_ATTRIBUTES)) {
        pk_verifier_report(api, "WDF_OBJECT_ATTRIBUTES.Size is %u, expected %zu", attributes->Size,
                           sizeof(WDF_OBJECT_ATTRIBUTES));
        return STATUS_INFO_LENGTH_MISMATCH;
    }
    return STATUS_SUCCESS;
}

/* The head of every WDFMEMORY (memory.c owns the created and preallocated kinds, lookaside.c
 * the kind whose buffer comes from a WDFLOOKASIDE). buffer and size are written at creation
 * and, for preallocated memory only, by WdfMemoryAssignBuffer (the driver serializes that with
 * its own use of the buffer, as in KMDF). */
typedef struct wdf_memory {
    pk_object header;
    void *buffer;
    size_t size;
} wdf_memory;

/* Validates `memory` as a WDFMEMORY of any kind and takes a reference (release it with
 * pk_object_dereference). *buffer and *size describe its buffer, valid while the reference is
 * held. STATUS_INVALID_HANDLE (with a report naming api) for a bad handle. Any IRQL. */
NTSTATUS wdf_memory_reference(WDFMEMORY memory, const char *api, pk_object **object, void **buffer, size_t *size);

/* Replaces the text of a WDFSTRING with a copy of value (validated by the caller; NULL or
 * empty makes it empty). For the functions that fill a caller's WDFSTRING (device names,
 * registry values). The previous buffer is freed: a UNICODE_STRING obtained earlier with
 * WdfStringGetUnicodeString is stale afterwards, as in KMDF. STATUS_INSUFFICIENT_RESOURCES
 * leaves the old text. PASSIVE_LEVEL. */
NTSTATUS wdf_string_assign(pk_object *string, PCUNICODE_STRING value);

#endif /* PNPKIT_WDF_INTERNAL_H */
