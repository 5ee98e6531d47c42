/* WDFMEMORY: created and preallocated memory objects, copies, descriptors. */
#include "pk_test.h"
#include <pnpkit/wdfutil.h>

#include <stdlib.h>
#include <string.h>

typedef struct {
    int value;
} MEM_CONTEXT;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(MEM_CONTEXT, GetMemContext)

static void memory_create_gives_a_buffer_of_the_requested_size(void **state)
{
    WDFMEMORY m;
    PVOID buffer = NULL;
    size_t size = 0;

    assert_int_equal(WdfMemoryCreate(WDF_NO_OBJECT_ATTRIBUTES, NonPagedPoolNx, 'tseT', 1000, &m, &buffer),
                     STATUS_SUCCESS);
    assert_non_null(buffer);
    memset(buffer, 0x5A, 1000); /* ASan checks the bounds */
    assert_ptr_equal(WdfMemoryGetBuffer(m, &size), buffer);
    assert_int_equal(size, 1000);
    assert_ptr_equal(WdfMemoryGetBuffer(m, NULL), buffer);
    WdfObjectDelete(m);
}

static void memory_create_refuses_a_zero_size_or_a_null_handle_pointer(void **state)
{
    WDFMEMORY m = NULL;
    ULONG before = PnpkitLiveObjectCount();

    assert_int_equal(WdfMemoryCreate(NULL, NonPagedPool, 0, 0, &m, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(WdfMemoryCreate(NULL, NonPagedPool, 0, 16, NULL, NULL), STATUS_INVALID_PARAMETER);
    assert_null(m);
    assert_int_equal(PnpkitLiveObjectCount(), before);
}

static void memory_create_fails_cleanly_when_an_allocation_fails(void **state)
{
    WDFMEMORY m = NULL;
    PVOID buffer = NULL;

    for (ULONG nth = 1; nth <= 2; nth++) {
        PnpkitSimFailAllocation(nth);
        assert_int_equal(WdfMemoryCreate(NULL, NonPagedPool, 0, 64, &m, &buffer), STATUS_INSUFFICIENT_RESOURCES);
        assert_null(m);
        assert_null(buffer);
    }
    PnpkitSimFailAllocation(0);
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

static void paged_memory_at_dispatch_level_is_a_verifier_stop(void **state)
{
    WDFMEMORY m = NULL;
    KIRQL old;

    pk_test_capture_verifier();
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(WdfMemoryCreate(NULL, PagedPool, 0, 64, &m, NULL), STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(WdfMemoryCreate(NULL, NonPagedPool, 0, 64, &m, NULL), STATUS_SUCCESS);
    KeLowerIrql(old);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("WdfMemoryCreate"));
    WdfObjectDelete(m);
}

static void memory_with_a_parent_is_deleted_with_it(void **state)
{
    WDF_OBJECT_ATTRIBUTES a;
    WDFOBJECT parent;
    WDFMEMORY m;

    assert_int_equal(WdfObjectCreate(NULL, &parent), STATUS_SUCCESS);
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.ParentObject = parent;
    assert_int_equal(WdfMemoryCreate(&a, NonPagedPool, 0, 128, &m, NULL), STATUS_SUCCESS);
    assert_int_equal(PnpkitLiveObjectCount(), 2);
    WdfObjectDelete(parent);
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

static void a_reference_keeps_the_buffer_valid_after_delete(void **state)
{
    WDFMEMORY m;
    PVOID buffer;

    assert_int_equal(WdfMemoryCreate(NULL, NonPagedPool, 0, 32, &m, &buffer), STATUS_SUCCESS);
    WdfObjectReference(m);
    WdfObjectDelete(m);
    memset(buffer, 1, 32); /* still ours: ASan would object otherwise */
    assert_ptr_equal(WdfMemoryGetBuffer(m, NULL), buffer);
    WdfObjectDereference(m);
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

static void preallocated_memory_does_not_free_the_callers_buffer(void **state)
{
    char *mine = malloc(64);
    WDFMEMORY m;
    size_t size;

    assert_int_equal(WdfMemoryCreatePreallocated(NULL, mine, 64, &m), STATUS_SUCCESS);
    assert_ptr_equal(WdfMemoryGetBuffer(m, &size), mine);
    assert_int_equal(size, 64);
    WdfObjectDelete(m);
    memset(mine, 2, 64); /* a use after free if pnpkit had freed it */
    free(mine);
}

static void preallocated_memory_refuses_null_buffers_and_zero_sizes(void **state)
{
    char mine[8];
    WDFMEMORY m = NULL;

    assert_int_equal(WdfMemoryCreatePreallocated(NULL, NULL, 8, &m), STATUS_INVALID_PARAMETER);
    assert_int_equal(WdfMemoryCreatePreallocated(NULL, mine, 0, &m), STATUS_INVALID_PARAMETER);
    assert_int_equal(WdfMemoryCreatePreallocated(NULL, mine, 8, NULL), STATUS_INVALID_PARAMETER);
    assert_null(m);
}

static void assign_buffer_replaces_the_buffer_of_preallocated_memory(void **state)
{
    char first[16], second[48];
    WDFMEMORY m;
    size_t size;

    assert_int_equal(WdfMemoryCreatePreallocated(NULL, first, sizeof(first), &m), STATUS_SUCCESS);
    assert_int_equal(WdfMemoryAssignBuffer(m, second, sizeof(second)), STATUS_SUCCESS);
    assert_ptr_equal(WdfMemoryGetBuffer(m, &size), second);
    assert_int_equal(size, sizeof(second));
    assert_int_equal(WdfMemoryAssignBuffer(m, NULL, 4), STATUS_INVALID_PARAMETER);
    assert_int_equal(WdfMemoryAssignBuffer(m, first, 0), STATUS_INVALID_PARAMETER);
    assert_ptr_equal(WdfMemoryGetBuffer(m, NULL), second);
    WdfObjectDelete(m);
}

static void assign_buffer_refuses_memory_that_owns_its_buffer(void **state)
{
    char other[16];
    WDFMEMORY m;
    PVOID buffer;

    pk_test_capture_verifier();
    assert_int_equal(WdfMemoryCreate(NULL, NonPagedPool, 0, 16, &m, &buffer), STATUS_SUCCESS);
    assert_int_equal(WdfMemoryAssignBuffer(m, other, sizeof(other)), STATUS_INVALID_HANDLE);
    assert_ptr_equal(WdfMemoryGetBuffer(m, NULL), buffer);
    assert_true(pk_test_verifier_saw("WdfMemoryCreatePreallocated"));
    WdfObjectDelete(m);
}

static void copy_to_buffer_copies_from_the_offset(void **state)
{
    WDFMEMORY m;
    char *buffer, out[4] = { 0 };

    assert_int_equal(WdfMemoryCreate(NULL, NonPagedPool, 0, 8, &m, (PVOID *)&buffer), STATUS_SUCCESS);
    memcpy(buffer, "abcdefgh", 8);
    assert_int_equal(WdfMemoryCopyToBuffer(m, 4, out, 4), STATUS_SUCCESS);
    assert_memory_equal(out, "efgh", 4);
    assert_int_equal(WdfMemoryCopyToBuffer(m, 0, out, 2), STATUS_SUCCESS);
    assert_memory_equal(out, "abgh", 4);
    WdfObjectDelete(m);
}

static void copy_to_buffer_past_the_end_is_refused_with_buffer_too_small(void **state)
{
    WDFMEMORY m;
    char out[16];

    assert_int_equal(WdfMemoryCreate(NULL, NonPagedPool, 0, 8, &m, NULL), STATUS_SUCCESS);
    assert_int_equal(WdfMemoryCopyToBuffer(m, 0, out, 9), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(WdfMemoryCopyToBuffer(m, 8, out, 1), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(WdfMemoryCopyToBuffer(m, 5, out, 4), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(WdfMemoryCopyToBuffer(m, SIZE_MAX, out, 2), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(WdfMemoryCopyToBuffer(m, 0, NULL, 1), STATUS_INVALID_PARAMETER);
    assert_int_equal(WdfMemoryCopyToBuffer(m, 0, out, 0), STATUS_INVALID_PARAMETER);
    WdfObjectDelete(m);
}

/* KMDF's copy functions take a PVOID source: hand them a writable copy of a literal. */
static char src_buffer[32];
static PVOID src(const char *text)
{
    strncpy(src_buffer, text, sizeof(src_buffer) - 1);
    return src_buffer;
}

static void copy_from_buffer_writes_at_the_offset(void **state)
{
    WDFMEMORY m;
    char *buffer;

    assert_int_equal(WdfMemoryCreate(NULL, NonPagedPool, 0, 8, &m, (PVOID *)&buffer), STATUS_SUCCESS);
    memset(buffer, '.', 8);
    assert_int_equal(WdfMemoryCopyFromBuffer(m, 6, src("xy"), 2), STATUS_SUCCESS);
    assert_int_equal(WdfMemoryCopyFromBuffer(m, 0, src("ab"), 2), STATUS_SUCCESS);
    assert_memory_equal(buffer, "ab....xy", 8);
    WdfObjectDelete(m);
}

static void copy_from_buffer_past_the_end_is_refused_with_invalid_buffer_size(void **state)
{
    WDFMEMORY m;
    char *buffer;

    assert_int_equal(WdfMemoryCreate(NULL, NonPagedPool, 0, 8, &m, (PVOID *)&buffer), STATUS_SUCCESS);
    memset(buffer, '.', 8);
    assert_int_equal(WdfMemoryCopyFromBuffer(m, 0, src("123456789"), 9), STATUS_INVALID_BUFFER_SIZE);
    assert_int_equal(WdfMemoryCopyFromBuffer(m, 8, src("1"), 1), STATUS_INVALID_BUFFER_SIZE);
    assert_int_equal(WdfMemoryCopyFromBuffer(m, 7, src("12"), 2), STATUS_INVALID_BUFFER_SIZE);
    assert_int_equal(WdfMemoryCopyFromBuffer(m, 0, NULL, 1), STATUS_INVALID_PARAMETER);
    assert_int_equal(WdfMemoryCopyFromBuffer(m, 0, src("1"), 0), STATUS_INVALID_PARAMETER);
    assert_memory_equal(buffer, "........", 8); /* nothing was written */
    WdfObjectDelete(m);
}

static void memory_functions_reject_bad_handles_with_a_report(void **state)
{
    WDFMEMORY m;
    WDFOBJECT generic;
    char out[4];
    size_t size = 77;

    pk_test_capture_verifier();
    assert_int_equal(WdfMemoryCreate(NULL, NonPagedPool, 0, 8, &m, NULL), STATUS_SUCCESS);
    WdfObjectDelete(m); /* m is stale now */
    assert_null(WdfMemoryGetBuffer(m, &size));
    assert_int_equal(size, 77);
    assert_int_equal(WdfMemoryCopyToBuffer(m, 0, out, 1), STATUS_INVALID_HANDLE);
    assert_int_equal(WdfMemoryCopyFromBuffer(m, 0, out, 1), STATUS_INVALID_HANDLE);
    assert_int_equal(WdfMemoryAssignBuffer(m, out, 1), STATUS_INVALID_HANDLE);
    assert_int_equal(WdfObjectCreate(NULL, &generic), STATUS_SUCCESS);
    assert_null(WdfMemoryGetBuffer((WDFMEMORY)generic, NULL)); /* another type */
    WdfObjectDelete(generic);
    assert_int_equal(pk_test_verifier_reports(), 5);
    assert_int_equal(pk_test_verifier_stops(), 0);
}

static int memory_destroyed;

static VOID on_memory_destroy(WDFOBJECT o)
{
    assert_non_null(GetMemContext(o));
    memory_destroyed++;
}

static void memory_context_and_destroy_callback_come_from_the_attributes(void **state)
{
    WDF_OBJECT_ATTRIBUTES a;
    WDFMEMORY m;

    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, MEM_CONTEXT);
    a.EvtDestroyCallback = on_memory_destroy;
    assert_int_equal(WdfMemoryCreate(&a, NonPagedPool, 0, 8, &m, NULL), STATUS_SUCCESS);
    assert_non_null(GetMemContext(m));
    WdfObjectReference(m);
    WdfObjectDelete(m);
    assert_int_equal(memory_destroyed, 0);
    WdfObjectDereference(m);
    assert_int_equal(memory_destroyed, 1);
}

static void memory_descriptor_initializers_describe_buffers_and_handles(void **state)
{
    WDF_MEMORY_DESCRIPTOR d;
    WDFMEMORY_OFFSET offsets = { 4, 8 };
    char buffer[16];

    memset(&d, 0xFF, sizeof(d));
    WDF_MEMORY_DESCRIPTOR_INIT_BUFFER(&d, buffer, sizeof(buffer));
    assert_int_equal(d.Type, WdfMemoryDescriptorTypeBuffer);
    assert_ptr_equal(d.u.BufferType.Buffer, buffer);
    assert_int_equal(d.u.BufferType.Length, 16);

    memset(&d, 0xFF, sizeof(d));
    WDF_MEMORY_DESCRIPTOR_INIT_HANDLE(&d, (WDFMEMORY)(uintptr_t)0x1234, &offsets);
    assert_int_equal(d.Type, WdfMemoryDescriptorTypeHandle);
    assert_ptr_equal(d.u.HandleType.Memory, (WDFMEMORY)(uintptr_t)0x1234);
    assert_ptr_equal(d.u.HandleType.Offsets, &offsets);

    WDF_MEMORY_DESCRIPTOR_INIT_MDL(&d, NULL, 10);
    assert_int_equal(d.Type, WdfMemoryDescriptorTypeMdl);
    assert_int_equal(d.u.MdlType.BufferLength, 10);
}

static void timeout_macros_use_100_ns_units(void **state)
{
    assert_true(WDF_REL_TIMEOUT_IN_SEC(2) == -20000000LL);
    assert_true(WDF_REL_TIMEOUT_IN_MS(3) == -30000LL);
    assert_true(WDF_REL_TIMEOUT_IN_US(5) == -50LL);
    assert_true(WDF_ABS_TIMEOUT_IN_SEC(2) == 20000000LL);
    assert_true(WDF_ABS_TIMEOUT_IN_MS(3) == 30000LL);
    assert_true(WDF_ABS_TIMEOUT_IN_US(5) == 50LL);
}

PK_TEST_MAIN(
    PK_TEST(memory_create_gives_a_buffer_of_the_requested_size),
    PK_TEST(memory_create_refuses_a_zero_size_or_a_null_handle_pointer),
    PK_TEST(memory_create_fails_cleanly_when_an_allocation_fails),
    PK_TEST(paged_memory_at_dispatch_level_is_a_verifier_stop),
    PK_TEST(memory_with_a_parent_is_deleted_with_it),
    PK_TEST(a_reference_keeps_the_buffer_valid_after_delete),
    PK_TEST(preallocated_memory_does_not_free_the_callers_buffer),
    PK_TEST(preallocated_memory_refuses_null_buffers_and_zero_sizes),
    PK_TEST(assign_buffer_replaces_the_buffer_of_preallocated_memory),
    PK_TEST(assign_buffer_refuses_memory_that_owns_its_buffer),
    PK_TEST(copy_to_buffer_copies_from_the_offset),
    PK_TEST(copy_to_buffer_past_the_end_is_refused_with_buffer_too_small),
    PK_TEST(copy_from_buffer_writes_at_the_offset),
    PK_TEST(copy_from_buffer_past_the_end_is_refused_with_invalid_buffer_size),
    PK_TEST(memory_functions_reject_bad_handles_with_a_report),
    PK_TEST(memory_context_and_destroy_callback_come_from_the_attributes),
    PK_TEST(memory_descriptor_initializers_describe_buffers_and_handles),
    PK_TEST(timeout_macros_use_100_ns_units)
)
