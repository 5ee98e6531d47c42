/* WDFLOOKASIDE: memory objects whose buffers come from, and go back to, a lookaside list. */
#include "pk_test.h"
#include <pnpkit/wdfutil.h>

#include <string.h>
#include <sys/wait.h>

typedef struct {
    uint32_t sequence;
} BUFFER_CONTEXT;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(BUFFER_CONTEXT, GetBufferContext)

static void lookaside_memory_has_the_list_buffer_size(void **state)
{
    WDFLOOKASIDE list;
    WDFMEMORY m;
    size_t size = 0;
    void *buffer;

    assert_int_equal(WdfLookasideListCreate(NULL, 200, NonPagedPoolNx, NULL, 'kooL', &list), STATUS_SUCCESS);
    assert_int_equal(WdfMemoryCreateFromLookaside(list, &m), STATUS_SUCCESS);
    buffer = WdfMemoryGetBuffer(m, &size);
    assert_non_null(buffer);
    assert_int_equal(size, 200);
    memset(buffer, 0x33, 200);
    WdfObjectDelete(m);
    WdfObjectDelete(list);
}

static void lookaside_memory_reuses_buffers_without_allocating(void **state)
{
    WDFLOOKASIDE list;
    WDFMEMORY m;
    void *first, *again;

    assert_int_equal(WdfLookasideListCreate(NULL, 512, NonPagedPool, NULL, 0, &list), STATUS_SUCCESS);
    assert_int_equal(WdfMemoryCreateFromLookaside(list, &m), STATUS_SUCCESS); /* warm-up */
    first = WdfMemoryGetBuffer(m, NULL);
    WdfObjectDelete(m);

    /* The memory object's header is the one allocation left: make the second one fail. */
    PnpkitSimFailAllocation(2);
    assert_int_equal(WdfMemoryCreateFromLookaside(list, &m), STATUS_SUCCESS);
    PnpkitSimFailAllocation(0);
    again = WdfMemoryGetBuffer(m, NULL);
    assert_ptr_equal(again, first);
    WdfObjectDelete(m);
    WdfObjectDelete(list);
}

static void lookaside_keeps_many_buffers_for_reuse(void **state)
{
    enum { N = 32 };
    WDFLOOKASIDE list;
    WDFMEMORY m[N];
    void *buffers[N];

    assert_int_equal(WdfLookasideListCreate(NULL, 64, NonPagedPool, NULL, 0, &list), STATUS_SUCCESS);
    for (int i = 0; i < N; i++) {
        assert_int_equal(WdfMemoryCreateFromLookaside(list, &m[i]), STATUS_SUCCESS);
        buffers[i] = WdfMemoryGetBuffer(m[i], NULL);
    }
    for (int i = 0; i < N; i++)
        WdfObjectDelete(m[i]);
    /* Every buffer comes back from the list: the same set, no new allocation needed. */
    for (int i = 0; i < N; i++) {
        void *b;
        bool known = false;
        assert_int_equal(WdfMemoryCreateFromLookaside(list, &m[i]), STATUS_SUCCESS);
        b = WdfMemoryGetBuffer(m[i], NULL);
        for (int j = 0; j < N; j++)
            known |= buffers[j] == b;
        assert_true(known);
    }
    for (int i = 0; i < N; i++)
        WdfObjectDelete(m[i]);
    WdfObjectDelete(list);
}

static void lookaside_memory_gets_the_memory_attributes(void **state)
{
    WDF_OBJECT_ATTRIBUTES ma;
    WDFOBJECT parent;
    WDFLOOKASIDE list;
    WDFMEMORY m1, m2;

    assert_int_equal(WdfObjectCreate(NULL, &parent), STATUS_SUCCESS);
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&ma, BUFFER_CONTEXT);
    ma.ParentObject = parent;
    assert_int_equal(WdfLookasideListCreate(NULL, 16, NonPagedPool, &ma, 0, &list), STATUS_SUCCESS);
    assert_int_equal(WdfMemoryCreateFromLookaside(list, &m1), STATUS_SUCCESS);
    assert_int_equal(WdfMemoryCreateFromLookaside(list, &m2), STATUS_SUCCESS);
    assert_non_null(GetBufferContext(m1));
    assert_int_equal(GetBufferContext(m1)->sequence, 0);
    assert_ptr_not_equal(GetBufferContext(m1), GetBufferContext(m2));
    /* The memory objects are children of the parent named in the memory attributes. */
    WdfObjectDelete(parent);
    assert_int_equal(PnpkitLiveObjectCount(), 1);
    WdfObjectDelete(list);
}

static void lookaside_list_outlives_its_memory_objects(void **state)
{
    WDFLOOKASIDE list;
    WDFMEMORY m;
    char *buffer;

    assert_int_equal(WdfLookasideListCreate(NULL, 24, NonPagedPool, NULL, 0, &list), STATUS_SUCCESS);
    assert_int_equal(WdfMemoryCreateFromLookaside(list, &m), STATUS_SUCCESS);
    WdfObjectDelete(list); /* the memory object still needs the list */
    buffer = WdfMemoryGetBuffer(m, NULL);
    memset(buffer, 7, 24);
    assert_int_equal(PnpkitLiveObjectCount(), 2);
    WdfObjectDelete(m); /* gives the buffer back, then the list goes */
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

static void lookaside_create_validates_its_arguments(void **state)
{
    WDF_OBJECT_ATTRIBUTES ma;
    WDFLOOKASIDE list = NULL;

    assert_int_equal(WdfLookasideListCreate(NULL, 0, NonPagedPool, NULL, 0, &list), STATUS_INVALID_PARAMETER);
    assert_int_equal(WdfLookasideListCreate(NULL, 8, NonPagedPool, NULL, 0, NULL), STATUS_INVALID_PARAMETER);
    pk_test_capture_verifier();
    WDF_OBJECT_ATTRIBUTES_INIT(&ma);
    ma.Size = 4;
    assert_int_equal(WdfLookasideListCreate(NULL, 8, NonPagedPool, &ma, 0, &list), STATUS_INFO_LENGTH_MISMATCH);
    WDF_OBJECT_ATTRIBUTES_INIT(&ma);
    ma.ExecutionLevel = (WDF_EXECUTION_LEVEL)42;
    assert_int_equal(WdfLookasideListCreate(NULL, 8, NonPagedPool, &ma, 0, &list), STATUS_INVALID_PARAMETER);
    WDF_OBJECT_ATTRIBUTES_INIT(&ma);
    ma.ParentObject = (WDFOBJECT)(uintptr_t)0x4242;
    assert_int_equal(WdfLookasideListCreate(NULL, 8, NonPagedPool, &ma, 0, &list), STATUS_INVALID_HANDLE);
    assert_null(list);
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

static void memory_create_from_lookaside_rejects_other_handles(void **state)
{
    WDFOBJECT generic;
    WDFMEMORY m = NULL, plain;
    WDFLOOKASIDE list;

    pk_test_capture_verifier();
    assert_int_equal(WdfObjectCreate(NULL, &generic), STATUS_SUCCESS);
    assert_int_equal(WdfMemoryCreateFromLookaside((WDFLOOKASIDE)generic, &m), STATUS_INVALID_HANDLE);
    assert_true(pk_test_verifier_saw("not the object type this API takes"));
    assert_int_equal(WdfMemoryCreate(NULL, NonPagedPool, 0, 8, &plain, NULL), STATUS_SUCCESS);
    assert_int_equal(WdfMemoryCreateFromLookaside((WDFLOOKASIDE)plain, &m), STATUS_INVALID_HANDLE);
    assert_null(m);
    assert_int_equal(WdfLookasideListCreate(NULL, 8, NonPagedPool, NULL, 0, &list), STATUS_SUCCESS);
    assert_int_equal(WdfMemoryCreateFromLookaside(list, NULL), STATUS_INVALID_PARAMETER);
    WdfObjectDelete(list);
    WdfObjectDelete(plain);
    WdfObjectDelete(generic);
}

static void lookaside_memory_creation_failure_keeps_the_buffer(void **state)
{
    WDFLOOKASIDE list;
    WDFMEMORY m = NULL;

    assert_int_equal(WdfLookasideListCreate(NULL, 40, NonPagedPool, NULL, 0, &list), STATUS_SUCCESS);
    PnpkitSimFailAllocation(1); /* the buffer */
    assert_int_equal(WdfMemoryCreateFromLookaside(list, &m), STATUS_INSUFFICIENT_RESOURCES);
    PnpkitSimFailAllocation(2); /* the memory object's header */
    assert_int_equal(WdfMemoryCreateFromLookaside(list, &m), STATUS_INSUFFICIENT_RESOURCES);
    PnpkitSimFailAllocation(0);
    assert_null(m);
    assert_int_equal(PnpkitLiveObjectCount(), 1);
    WdfObjectDelete(list);
}

static void paged_lookaside_at_dispatch_level_is_a_verifier_stop(void **state)
{
    WDFLOOKASIDE list = NULL;
    WDFMEMORY m = NULL;
    KIRQL old;

    pk_test_capture_verifier();
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(WdfLookasideListCreate(NULL, 8, PagedPool, NULL, 0, &list), STATUS_INVALID_DEVICE_REQUEST);
    KeLowerIrql(old);
    assert_int_equal(WdfLookasideListCreate(NULL, 8, PagedPool, NULL, 0, &list), STATUS_SUCCESS);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(WdfMemoryCreateFromLookaside(list, &m), STATUS_INVALID_DEVICE_REQUEST);
    KeLowerIrql(old);
    assert_int_equal(pk_test_verifier_stops(), 2);
    assert_null(m);
    WdfObjectDelete(list);
}

#if defined(__SANITIZE_ADDRESS__)
static void touch_a_returned_buffer(void *ctx)
{
    WDFLOOKASIDE list;
    WDFMEMORY m;
    volatile char *buffer;

    WdfLookasideListCreate(NULL, 64, NonPagedPool, NULL, 0, &list);
    WdfMemoryCreateFromLookaside(list, &m);
    buffer = WdfMemoryGetBuffer(m, NULL);
    WdfObjectDelete(m); /* the buffer is back on the list */
    buffer[32] = 1;     /* a driver bug that AddressSanitizer must catch */
}
#endif

static void a_buffer_used_after_its_memory_object_is_deleted_is_caught_by_asan(void **state)
{
#if defined(__SANITIZE_ADDRESS__)
    char out[4096];
    int status = pk_test_run_in_child(touch_a_returned_buffer, NULL, out, sizeof(out));

    assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_non_null(strstr(out, "use-after-poison"));
#else
    skip(); /* only an AddressSanitizer build can see it */
#endif
}

/* ---- Stress: several threads borrow and return buffers of one list ---- */

static WDFLOOKASIDE stress_list;
static uint32_t stress_threads;

static void *borrow_and_return(void *arg)
{
    uint32_t seed = 12345u + 7919u * __atomic_add_fetch(&stress_threads, 1, __ATOMIC_RELAXED);
    WDFMEMORY held[8] = { 0 };

    for (int i = 0; i < 4000; i++) {
        int slot = (int)(pk_test_rand(&seed) % 8);
        if (held[slot]) {
            uint8_t *b = WdfMemoryGetBuffer(held[slot], NULL);
            for (int k = 0; k < 48; k++)
                assert_int_equal(b[k], (uint8_t)slot); /* nobody else wrote to our buffer */
            WdfObjectDelete(held[slot]);
            held[slot] = NULL;
        } else {
            assert_int_equal(WdfMemoryCreateFromLookaside(stress_list, &held[slot]), STATUS_SUCCESS);
            memset(WdfMemoryGetBuffer(held[slot], NULL), slot, 48);
        }
    }
    for (int slot = 0; slot < 8; slot++)
        if (held[slot])
            WdfObjectDelete(held[slot]);
    return NULL;
}

static void lookaside_buffers_are_never_shared_between_live_memory_objects(void **state)
{
    pk_test_threads threads;

    assert_int_equal(WdfLookasideListCreate(NULL, 48, NonPagedPool, NULL, 0, &stress_list), STATUS_SUCCESS);
    pk_test_threads_start(&threads, 4, borrow_and_return, NULL);
    pk_test_threads_join(&threads);
    assert_int_equal(PnpkitLiveObjectCount(), 1);
    WdfObjectDelete(stress_list);
}

PK_TEST_MAIN(
    PK_TEST(lookaside_memory_has_the_list_buffer_size),
    PK_TEST(lookaside_memory_reuses_buffers_without_allocating),
    PK_TEST(lookaside_keeps_many_buffers_for_reuse),
    PK_TEST(lookaside_memory_gets_the_memory_attributes),
    PK_TEST(lookaside_list_outlives_its_memory_objects),
    PK_TEST(lookaside_create_validates_its_arguments),
    PK_TEST(memory_create_from_lookaside_rejects_other_handles),
    PK_TEST(lookaside_memory_creation_failure_keeps_the_buffer),
    PK_TEST(paged_lookaside_at_dispatch_level_is_a_verifier_stop),
    PK_TEST(a_buffer_used_after_its_memory_object_is_deleted_is_caught_by_asan),
    PK_TEST(lookaside_buffers_are_never_shared_between_live_memory_objects)
)
