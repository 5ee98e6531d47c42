/*
 * memory.c — WDFMEMORY: memory objects that own their buffer (WdfMemoryCreate) or describe a
 * caller's buffer (WdfMemoryCreatePreallocated), and the operations every memory object
 * shares (get the buffer, copy to and from it), including those made from a lookaside list
 * (lookaside.c).
 *
 * Locking: none of its own. A memory object's buffer and size do not change after creation,
 * except through WdfMemoryAssignBuffer on preallocated memory, which the driver serializes
 * with its own use of the object, as in KMDF.
 *
 * Who frees what: a created object's buffer is a separate allocation (so that ASan sees its
 * exact bounds), freed by the object's destroy hook once the last reference is gone. A
 * preallocated object never frees its buffer.
 */
#include "wdf/wdf_internal.h"

#include <string.h>

static void created_memory_destroy(pk_object *o)
{
    wdf_memory *m = CONTAINING_RECORD(o, wdf_memory, header);
    pk_free(m->buffer);
    m->buffer = NULL;
}

static const pk_object_type created_memory_type = { "WDFMEMORY", PK_KIND_MEMORY, 0, NULL, created_memory_destroy };
static const pk_object_type preallocated_memory_type = { "WDFMEMORY (preallocated)", PK_KIND_MEMORY, 0, NULL, NULL };

NTSTATUS wdf_memory_reference(WDFMEMORY memory, const char *api, pk_object **object, void **buffer, size_t *size)
{
    pk_object *o;
    NTSTATUS status = pk_object_reference_handle((WDFOBJECT)memory, PK_KIND_MEMORY, api, &o);

    if (!NT_SUCCESS(status))
        return status;
    *object = o;
    *buffer = CONTAINING_RECORD(o, wdf_memory, header)->buffer;
    *size = CONTAINING_RECORD(o, wdf_memory, header)->size;
    return STATUS_SUCCESS;
}

NTSTATUS WdfMemoryCreate(PWDF_OBJECT_ATTRIBUTES Attributes, POOL_TYPE PoolType, ULONG PoolTag, size_t BufferSize,
                         WDFMEMORY *Memory, PVOID *Buffer)
{
    wdf_memory *m;
    void *buffer;
    NTSTATUS status;

    if (!pk_irql_ok("WdfMemoryCreate", wdf_pool_type_is_paged(PoolType) ? APC_LEVEL : DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!Memory || BufferSize == 0)
        return STATUS_INVALID_PARAMETER;

    buffer = pk_alloc(BufferSize);
    if (!buffer)
        return STATUS_INSUFFICIENT_RESOURCES;
    status = pk_object_create(&created_memory_type, Attributes, NULL, sizeof(*m), "WdfMemoryCreate", (void **)&m);
    if (!NT_SUCCESS(status)) {
        pk_free(buffer);
        return status;
    }
    m->buffer = buffer;
    m->size = BufferSize;
    *Memory = (WDFMEMORY)pk_object_handle(&m->header);
    if (Buffer)
        *Buffer = buffer;
    pk_object_commit(&m->header);
    return STATUS_SUCCESS;
}

NTSTATUS WdfMemoryCreatePreallocated(PWDF_OBJECT_ATTRIBUTES Attributes, PVOID Buffer, size_t BufferSize,
                                     WDFMEMORY *Memory)
{
    wdf_memory *m;
    NTSTATUS status;

    if (!pk_irql_ok("WdfMemoryCreatePreallocated", DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!Buffer || !Memory || BufferSize == 0)
        return STATUS_INVALID_PARAMETER;
    status = pk_object_create(&preallocated_memory_type, Attributes, NULL, sizeof(*m), "WdfMemoryCreatePreallocated",
                              (void **)&m);
    if (!NT_SUCCESS(status))
        return status;
    m->buffer = Buffer;
    m->size = BufferSize;
    *Memory = (WDFMEMORY)pk_object_handle(&m->header);
    pk_object_commit(&m->header);
    return STATUS_SUCCESS;
}

NTSTATUS WdfMemoryAssignBuffer(WDFMEMORY Memory, PVOID Buffer, size_t BufferSize)
{
    pk_object *o;
    NTSTATUS status;

    if (!pk_irql_ok("WdfMemoryAssignBuffer", DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    status = pk_object_reference_handle((WDFOBJECT)Memory, PK_KIND_MEMORY, "WdfMemoryAssignBuffer", &o);
    if (!NT_SUCCESS(status))
        return status;
    if (o->type != &preallocated_memory_type) {
        pk_verifier_report("WdfMemoryAssignBuffer", "memory %p was not created by WdfMemoryCreatePreallocated",
                           (void *)Memory);
        status = STATUS_INVALID_HANDLE;
    } else if (!Buffer || BufferSize == 0) {
        status = STATUS_INVALID_PARAMETER;
    } else {
        wdf_memory *m = CONTAINING_RECORD(o, wdf_memory, header);
        m->buffer = Buffer;
        m->size = BufferSize;
    }
    pk_object_dereference(o);
    return status;
}

PVOID WdfMemoryGetBuffer(WDFMEMORY Memory, size_t *BufferSize)
{
    pk_object *o;
    void *buffer;
    size_t size;

    if (!pk_irql_ok("WdfMemoryGetBuffer", DISPATCH_LEVEL))
        return NULL;
    if (!NT_SUCCESS(wdf_memory_reference(Memory, "WdfMemoryGetBuffer", &o, &buffer, &size)))
        return NULL;
    pk_object_dereference(o);
    if (BufferSize)
        *BufferSize = size;
    return buffer;
}

NTSTATUS WdfMemoryCopyToBuffer(WDFMEMORY SourceMemory, size_t SourceOffset, PVOID Buffer, size_t NumBytesToCopyTo)
{
    pk_object *o;
    void *buffer;
    size_t size;
    NTSTATUS status;

    if (!pk_irql_ok("WdfMemoryCopyToBuffer", DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    status = wdf_memory_reference(SourceMemory, "WdfMemoryCopyToBuffer", &o, &buffer, &size);
    if (!NT_SUCCESS(status))
        return status;
    if (!Buffer || NumBytesToCopyTo == 0)
        status = STATUS_INVALID_PARAMETER;
    else if (SourceOffset >= size || NumBytesToCopyTo > size - SourceOffset)
        status = STATUS_BUFFER_TOO_SMALL;
    else
        memmove(Buffer, (char *)buffer + SourceOffset, NumBytesToCopyTo);
    pk_object_dereference(o);
    return status;
}

NTSTATUS WdfMemoryCopyFromBuffer(WDFMEMORY DestinationMemory, size_t DestinationOffset, PVOID Buffer,
                                 size_t NumBytesToCopyFrom)
{
    pk_object *o;
    void *buffer;
    size_t size;
    NTSTATUS status;

    if (!pk_irql_ok("WdfMemoryCopyFromBuffer", DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    status = wdf_memory_reference(DestinationMemory, "WdfMemoryCopyFromBuffer", &o, &buffer, &size);
    if (!NT_SUCCESS(status))
        return status;
    if (!Buffer || NumBytesToCopyFrom == 0)
        status = STATUS_INVALID_PARAMETER;
    else if (DestinationOffset >= size || NumBytesToCopyFrom > size - DestinationOffset)
        status = STATUS_INVALID_BUFFER_SIZE;
    else
        memmove((char *)buffer + DestinationOffset, Buffer, NumBytesToCopyFrom);
    pk_object_dereference(o);
    return status;
}
