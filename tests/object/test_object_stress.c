/* Races of the object model, repeated many times, with invariants checked at the end. */
#include "pk_test.h"
#include "object/object_internal.h"

typedef struct {
    uint64_t id;          /* written at create; a lookup that returns this object must see it */
    volatile LONG cleanups, destroys;
} STRESS_CONTEXT;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(STRESS_CONTEXT, GetStressContext)

static volatile LONG total_cleanups, total_destroys, total_created;

static VOID stress_cleanup(WDFOBJECT o)
{
    STRESS_CONTEXT *c = GetStressContext(o);
    assert_int_equal(InterlockedIncrement(&c->cleanups), 1);
    InterlockedIncrement(&total_cleanups);
}

static VOID stress_destroy(WDFOBJECT o)
{
    STRESS_CONTEXT *c = GetStressContext(o);
    assert_int_equal(c->cleanups, 1); /* cleanup before destroy */
    assert_int_equal(InterlockedIncrement(&c->destroys), 1);
    InterlockedIncrement(&total_destroys);
}

static WDFOBJECT stress_make(WDFOBJECT parent, uint64_t id)
{
    WDF_OBJECT_ATTRIBUTES a;
    WDFOBJECT o;
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, STRESS_CONTEXT);
    a.EvtCleanupCallback = stress_cleanup;
    a.EvtDestroyCallback = stress_destroy;
    a.ParentObject = parent;
    if (!NT_SUCCESS(WdfObjectCreate(&a, &o)))
        return NULL;
    InterlockedIncrement(&total_created);
    /* A concurrent delete of the parent may already have deleted o: the context is NULL then. */
    STRESS_CONTEXT *c = GetStressContext(o);
    if (c)
        c->id = id;
    return o;
}

/* ---- References racing with delete ---- */

static WDFOBJECT volatile shared_handle;
static volatile LONG go, done_threads;

static void *reference_hammer(void *arg)
{
    while (!ReadAcquire(&go))
        ;
    for (int i = 0; i < 2000; i++) {
        WDFOBJECT h = ReadAcquire(&shared_handle);
        pk_object *o;
        if (NT_SUCCESS(pk_object_reference_handle(h, PK_KIND_ANY, "stress", &o))) {
            STRESS_CONTEXT *c = pk_object_primary_context(o);
            assert_int_equal(c->id, (uint64_t)(uintptr_t)h); /* never another object's memory */
            pk_object_dereference(o);
        }
    }
    InterlockedIncrement(&done_threads);
    return NULL;
}

static void references_race_with_delete_stress(void **state)
{
    pk_test_capture_verifier(); /* stale lookups are expected here: they are reports */
    for (int round = 0; round < 200; round++) {
        pk_test_threads t;
        WDFOBJECT h = stress_make(NULL, 0);
        GetStressContext(h)->id = (uint64_t)(uintptr_t)h;
        WriteRelease(&shared_handle, h);
        go = 0;
        pk_test_threads_start(&t, 3, reference_hammer, NULL);
        WriteRelease(&go, 1);
        WdfObjectDelete(h);
        pk_test_threads_join(&t);
    }
    assert_int_equal(total_cleanups, total_created);
    assert_int_equal(total_destroys, total_created);
}

/* ---- Stale handles racing with slot reuse ---- */

#define CHURN_HANDLES 64
static WDFOBJECT volatile churn[CHURN_HANDLES];

static void *churn_creator(void *arg)
{
    uint32_t seed = (uint32_t)(uintptr_t)arg;
    for (int i = 0; i < 5000; i++) {
        int k = (int)(pk_test_rand(&seed) % CHURN_HANDLES);
        WDFOBJECT old = __atomic_exchange_n(&churn[k], NULL, __ATOMIC_ACQ_REL);
        if (old)
            WdfObjectDelete(old);
        WDFOBJECT h = stress_make(NULL, 0);
        GetStressContext(h)->id = (uint64_t)(uintptr_t)h;
        old = __atomic_exchange_n(&churn[k], h, __ATOMIC_ACQ_REL);
        if (old)
            WdfObjectDelete(old);
    }
    return NULL;
}

static void *churn_reader(void *arg)
{
    uint32_t seed = (uint32_t)(uintptr_t)arg;
    for (int i = 0; i < 20000; i++) {
        WDFOBJECT h = ReadAcquire(&churn[pk_test_rand(&seed) % CHURN_HANDLES]);
        pk_object *o;
        /* Either the handle is stale, or the reference pins this very object: its context
         * carries the handle's own value. (A context pointer is only valid under a reference,
         * as in WDF, so the reader takes one first.) */
        if (h && NT_SUCCESS(pk_object_reference_handle(h, PK_KIND_ANY, "stress", &o))) {
            STRESS_CONTEXT *c = GetStressContext(h);
            assert_non_null(c);
            assert_int_equal(c->id, (uint64_t)(uintptr_t)h);
            pk_object_dereference(o);
        }
        WdfObjectReference(h);
        WdfObjectDereference(h);
    }
    return NULL;
}

static void stale_handle_lookups_race_with_slot_reuse_stress(void **state)
{
    pk_test_threads writers, readers;
    pk_test_capture_verifier();
    pk_test_threads_start(&writers, 2, churn_creator, (void *)(uintptr_t)7);
    pk_test_threads_start(&readers, 2, churn_reader, (void *)(uintptr_t)11);
    pk_test_threads_join(&writers);
    pk_test_threads_join(&readers);
    for (int k = 0; k < CHURN_HANDLES; k++)
        if (churn[k])
            WdfObjectDelete(churn[k]);
    assert_int_equal(total_cleanups, total_created);
    assert_int_equal(total_destroys, total_created);
}

/* ---- Parent deletion racing with child deletion ---- */

#define TREE_CHILDREN 16
static WDFOBJECT volatile tree_parent;
static WDFOBJECT volatile tree_children[TREE_CHILDREN];
static volatile LONG parent_cleaned;
static volatile LONG children_cleaned_after_parent;

static VOID tree_child_cleanup(WDFOBJECT o)
{
    if (ReadAcquire(&parent_cleaned))
        InterlockedIncrement(&children_cleaned_after_parent);
    stress_cleanup(o);
}

static VOID tree_parent_cleanup(WDFOBJECT o)
{
    WriteRelease(&parent_cleaned, 1);
    stress_cleanup(o);
}

static void *child_deleter(void *arg)
{
    uint32_t seed = (uint32_t)(uintptr_t)arg;
    while (!ReadAcquire(&go))
        ;
    for (int i = 0; i < TREE_CHILDREN; i++) {
        int k = (int)(pk_test_rand(&seed) % TREE_CHILDREN);
        WDFOBJECT h = __atomic_exchange_n(&tree_children[k], NULL, __ATOMIC_ACQ_REL);
        if (h)
            WdfObjectDelete(h);
    }
    return NULL;
}

static void parent_delete_races_with_child_deletes_stress(void **state)
{
    pk_test_capture_verifier(); /* children deleted by the parent leave stale handles */
    for (int round = 0; round < 300; round++) {
        pk_test_threads t;
        WDF_OBJECT_ATTRIBUTES a;
        WDFOBJECT parent;

        parent_cleaned = 0;
        WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, STRESS_CONTEXT);
        a.EvtCleanupCallback = tree_parent_cleanup;
        a.EvtDestroyCallback = stress_destroy;
        assert_int_equal(WdfObjectCreate(&a, &parent), STATUS_SUCCESS);
        InterlockedIncrement(&total_created);
        for (int i = 0; i < TREE_CHILDREN; i++) {
            WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, STRESS_CONTEXT);
            a.EvtCleanupCallback = tree_child_cleanup;
            a.EvtDestroyCallback = stress_destroy;
            a.ParentObject = parent;
            WDFOBJECT c;
            assert_int_equal(WdfObjectCreate(&a, &c), STATUS_SUCCESS);
            InterlockedIncrement(&total_created);
            if (i % 3 == 0)
                stress_make(c, 0); /* a grandchild */
            tree_children[i] = c;
        }
        go = 0;
        pk_test_threads_start(&t, 2, child_deleter, (void *)(uintptr_t)(round + 1));
        WriteRelease(&go, 1);
        WdfObjectDelete(parent);
        pk_test_threads_join(&t);
        for (int i = 0; i < TREE_CHILDREN; i++)
            tree_children[i] = NULL;
        assert_int_equal(children_cleaned_after_parent, 0);
    }
    assert_int_equal(total_cleanups, total_created);
    assert_int_equal(total_destroys, total_created);
}

/* ---- Children created while their parent is deleted ---- */

static WDFOBJECT volatile creating_parent;

static void *child_creator(void *arg)
{
    while (!ReadAcquire(&go))
        ;
    for (int i = 0; i < 20; i++) {
        WDFOBJECT c = stress_make(ReadAcquire(&creating_parent), 0);
        (void)c; /* success or STATUS_DELETE_PENDING; either way nothing leaks */
    }
    return NULL;
}

static void children_created_while_the_parent_is_deleted_stress(void **state)
{
    pk_test_capture_verifier();
    for (int round = 0; round < 300; round++) {
        pk_test_threads t;
        WDFOBJECT parent = stress_make(NULL, 0);
        WriteRelease(&creating_parent, parent);
        go = 0;
        pk_test_threads_start(&t, 2, child_creator, NULL);
        WriteRelease(&go, 1);
        WdfObjectDelete(parent);
        pk_test_threads_join(&t);
    }
    assert_int_equal(total_cleanups, total_created);
    assert_int_equal(total_destroys, total_created);
}

PK_TEST_MAIN(
    PK_TEST(references_race_with_delete_stress),
    PK_TEST(stale_handle_lookups_race_with_slot_reuse_stress),
    PK_TEST(parent_delete_races_with_child_deletes_stress),
    PK_TEST(children_created_while_the_parent_is_deleted_stress),
)
