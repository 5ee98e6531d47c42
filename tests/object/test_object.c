/* The WDF object model: handles, contexts, parent/child lifetime, cleanup and destroy. */
#include "pk_test.h"
#include "object/object_internal.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    int value;
    char name[32];
} TEST_CONTEXT;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(TEST_CONTEXT, GetTestContext)

typedef struct {
    uint64_t big[8];
} EXTRA_CONTEXT;
WDF_DECLARE_CONTEXT_TYPE(EXTRA_CONTEXT)

/* ---- A log of callbacks, to check orders ---- */
static char event_log[64][48];
static int event_count;
static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;

static void log_event(const char *what, WDFOBJECT o)
{
    TEST_CONTEXT *c = GetTestContext(o);
    pthread_mutex_lock(&log_mutex);
    if (event_count < 64)
        snprintf(event_log[event_count++], sizeof(event_log[0]), "%s:%s", what, c ? c->name : "?");
    pthread_mutex_unlock(&log_mutex);
}
static VOID on_cleanup(WDFOBJECT o) { log_event("cleanup", o); }
static VOID on_destroy(WDFOBJECT o) { log_event("destroy", o); }

static WDFOBJECT make(const char *name, WDFOBJECT parent)
{
    WDF_OBJECT_ATTRIBUTES a;
    WDFOBJECT o;
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, TEST_CONTEXT);
    a.EvtCleanupCallback = on_cleanup;
    a.EvtDestroyCallback = on_destroy;
    a.ParentObject = parent;
    assert_int_equal(WdfObjectCreate(&a, &o), STATUS_SUCCESS);
    snprintf(GetTestContext(o)->name, sizeof(GetTestContext(o)->name), "%s", name);
    return o;
}

static int find_event(const char *text)
{
    for (int i = 0; i < event_count; i++)
        if (strcmp(event_log[i], text) == 0)
            return i;
    fail_msg("event %s not logged", text);
    return -1;
}

/* ---- Tests ---- */

static void object_create_gives_a_valid_handle_and_counts_a_live_object(void **state)
{
    WDFOBJECT o = NULL;
    ULONG before = PnpkitLiveObjectCount();
    assert_int_equal(WdfObjectCreate(WDF_NO_OBJECT_ATTRIBUTES, &o), STATUS_SUCCESS);
    assert_non_null(o);
    assert_int_equal(PnpkitLiveObjectCount(), before + 1);
    WdfObjectDelete(o);
    assert_int_equal(PnpkitLiveObjectCount(), before);
}

static void context_from_attributes_is_zeroed_and_typed(void **state)
{
    WDFOBJECT o = make("", NULL);
    TEST_CONTEXT *c = GetTestContext(o);
    assert_non_null(c);
    assert_int_equal(c->value, 0);
    assert_ptr_equal(WdfObjectGetTypedContext(o, TEST_CONTEXT), c);
    assert_null(WdfObjectGet_EXTRA_CONTEXT(o)); /* no context of that type */
    assert_ptr_equal(WdfObjectContextGetObject(c), o);
    WdfObjectDelete(o);
}

static void context_size_override_enlarges_the_context(void **state)
{
    WDF_OBJECT_ATTRIBUTES a;
    WDFOBJECT o;
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, TEST_CONTEXT);
    a.ContextSizeOverride = sizeof(TEST_CONTEXT) + 4000;
    assert_int_equal(WdfObjectCreate(&a, &o), STATUS_SUCCESS);
    memset(GetTestContext(o), 0x5A, a.ContextSizeOverride); /* ASan checks the size */
    WdfObjectDelete(o);
}

static void bad_attributes_are_refused_and_create_nothing(void **state)
{
    WDF_OBJECT_ATTRIBUTES a;
    WDFOBJECT o = NULL;
    ULONG before = PnpkitLiveObjectCount();

    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.Size = sizeof(a) - 8;
    assert_int_equal(WdfObjectCreate(&a, &o), STATUS_INFO_LENGTH_MISMATCH);
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, TEST_CONTEXT);
    a.ContextSizeOverride = 1;
    assert_int_equal(WdfObjectCreate(&a, &o), STATUS_INVALID_PARAMETER);
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.ContextSizeOverride = 64; /* without a type */
    assert_int_equal(WdfObjectCreate(&a, &o), STATUS_INVALID_PARAMETER);
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.ExecutionLevel = (WDF_EXECUTION_LEVEL)9;
    assert_int_equal(WdfObjectCreate(&a, &o), STATUS_INVALID_PARAMETER);
    assert_int_equal(WdfObjectCreate(NULL, NULL), STATUS_INVALID_PARAMETER);
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.ParentObject = (WDFOBJECT)(uintptr_t)0x1234;
    assert_int_equal(WdfObjectCreate(&a, &o), STATUS_INVALID_HANDLE);
    assert_null(o);
    assert_int_equal(PnpkitLiveObjectCount(), before);
}

static void delete_runs_cleanup_then_destroy(void **state)
{
    event_count = 0;
    WdfObjectDelete(make("a", NULL));
    assert_int_equal(event_count, 2);
    assert_string_equal(event_log[0], "cleanup:a");
    assert_string_equal(event_log[1], "destroy:a");
}

static void an_outstanding_reference_delays_destroy_but_not_cleanup(void **state)
{
    WDFOBJECT o = make("a", NULL);
    event_count = 0;
    WdfObjectReference(o);
    WdfObjectDelete(o);
    assert_int_equal(event_count, 1);
    assert_string_equal(event_log[0], "cleanup:a");
    WdfObjectDereference(o);
    assert_int_equal(event_count, 2);
    assert_string_equal(event_log[1], "destroy:a");
}

static void a_reference_keeps_context_memory_valid_after_delete(void **state)
{
    WDFOBJECT o = make("a", NULL);
    TEST_CONTEXT *c = GetTestContext(o);
    WdfObjectReferenceWithTag(o, (PVOID)0x1);
    WdfObjectDelete(o);
    c->value = 42; /* ASan reports a use after free if the memory went away */
    assert_ptr_equal(GetTestContext(o), c);
    assert_int_equal(GetTestContext(o)->value, 42);
    WdfObjectDereferenceWithTag(o, (PVOID)0x1);
}

static void deleting_a_parent_deletes_its_children_first_newest_first(void **state)
{
    WDFOBJECT parent = make("parent", NULL);
    WDFOBJECT child1 = make("child1", parent);
    WDFOBJECT child2 = make("child2", parent);
    make("grandchild", child1);
    (void)child2;
    event_count = 0;
    WdfObjectDelete(parent);
    assert_int_equal(event_count, 8);
    assert_true(find_event("cleanup:child2") < find_event("cleanup:child1"));
    assert_true(find_event("cleanup:grandchild") < find_event("cleanup:child1"));
    assert_true(find_event("cleanup:child1") < find_event("cleanup:parent"));
    assert_true(find_event("cleanup:parent") < find_event("destroy:parent"));
}

static void a_parent_is_destroyed_after_its_children(void **state)
{
    WDFOBJECT parent = make("parent", NULL);
    WDFOBJECT child = make("child", parent);
    event_count = 0;
    WdfObjectReference(child);
    WdfObjectDelete(parent);
    /* The child is cleaned up, but referenced: neither it nor its parent may be destroyed. */
    assert_int_equal(event_count, 2);
    assert_true(find_event("cleanup:child") < find_event("cleanup:parent"));
    WdfObjectDereference(child);
    assert_int_equal(event_count, 4);
    assert_true(find_event("destroy:child") < find_event("destroy:parent"));
}

static WDFOBJECT refused_parent;
static NTSTATUS refused_status;
static VOID cleanup_creates_sibling(WDFOBJECT o)
{
    WDF_OBJECT_ATTRIBUTES a;
    WDFOBJECT x = NULL;
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.ParentObject = refused_parent;
    refused_status = WdfObjectCreate(&a, &x);
}

static void a_child_of_a_parent_being_deleted_is_refused_with_delete_pending(void **state)
{
    WDF_OBJECT_ATTRIBUTES a;
    WDFOBJECT child;
    refused_parent = make("parent", NULL);
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.ParentObject = refused_parent;
    a.EvtCleanupCallback = cleanup_creates_sibling;
    assert_int_equal(WdfObjectCreate(&a, &child), STATUS_SUCCESS);
    WdfObjectDelete(refused_parent);
    assert_int_equal(refused_status, STATUS_DELETE_PENDING);
}

static void a_stale_handle_returns_invalid_handle_and_a_verifier_report(void **state)
{
    WDFOBJECT o = make("a", NULL);
    PVOID ctx = NULL;
    WDF_OBJECT_ATTRIBUTES a;
    pk_test_capture_verifier();
    WdfObjectDelete(o);
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, EXTRA_CONTEXT);
    assert_int_equal(WdfObjectAllocateContext(o, &a, &ctx), STATUS_INVALID_HANDLE);
    assert_null(ctx);
    assert_null(GetTestContext(o));
    WdfObjectReference(o);
    WdfObjectDereference(o);
    WdfObjectDelete(o);
    assert_int_equal(PnpkitObjectDump(o), STATUS_INVALID_HANDLE);
    assert_true(pk_test_verifier_reports() >= 5);
    assert_true(pk_test_verifier_saw("invalid handle"));
}

static void garbage_handles_are_rejected_without_being_dereferenced(void **state)
{
    int on_stack;
    WDFOBJECT bad[] = {
        NULL,
        (WDFOBJECT)&on_stack,
        (WDFOBJECT)(uintptr_t)0xA000000000000000ull,        /* generation 0 */
        (WDFOBJECT)(uintptr_t)0xA0000001FFFFFFFFull,        /* index far beyond the table */
        (WDFOBJECT)(uintptr_t)(0xA000000100000000ull | 4000), /* a slot never handed out */
        (WDFOBJECT)(uintptr_t)0xDEADBEEFDEADBEEFull,
    };
    pk_test_capture_verifier();
    WDFOBJECT keep = make("keep", NULL); /* so that the table exists */
    for (size_t i = 0; i < ARRAYSIZE(bad); i++) {
        PVOID ctx = (PVOID)0x1;
        WDF_OBJECT_ATTRIBUTES a;
        WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, EXTRA_CONTEXT);
        assert_null(WdfObjectGetTypedContextWorker(bad[i], WDF_GET_CONTEXT_TYPE_INFO(TEST_CONTEXT)));
        assert_int_equal(WdfObjectAllocateContext(bad[i], &a, &ctx), STATUS_INVALID_HANDLE);
        assert_ptr_equal(ctx, (PVOID)0x1);
        WdfObjectDelete(bad[i]);
        WdfObjectReference(bad[i]);
        WdfObjectDereference(bad[i]);
    }
    WdfObjectDelete(keep);
}

static const pk_object_type other_type = { "WDFTESTTHING", PK_KIND_TIMER, 0, NULL, NULL };
static const pk_object_type framework_only_type = { "WDFFRAMEWORKTHING", PK_KIND_DEVICE, PK_OBJTYPE_NO_CLIENT_DELETE,
                                                    NULL, NULL };

static void a_handle_of_the_wrong_type_is_rejected(void **state)
{
    pk_object *thing, *got = NULL;
    WDFOBJECT generic = make("g", NULL);
    pk_test_capture_verifier();
    assert_int_equal(pk_object_create(&other_type, NULL, NULL, sizeof(pk_object), "test", (void **)&thing),
                     STATUS_SUCCESS);
    assert_int_equal(pk_object_reference_handle(pk_object_handle(thing), PK_KIND_DEVICE, "test", &got),
                     STATUS_INVALID_HANDLE);
    assert_null(got);
    assert_int_equal(pk_object_reference_handle(generic, PK_KIND_TIMER, "test", &got), STATUS_INVALID_HANDLE);
    assert_int_equal(pk_object_reference_handle(pk_object_handle(thing), PK_KIND_TIMER, "test", &got),
                     STATUS_SUCCESS);
    assert_ptr_equal(got, thing);
    pk_object_dereference(got);
    assert_true(pk_test_verifier_saw("WDFTESTTHING"));
    pk_object_delete(thing);
    WdfObjectDelete(generic);
}

static void deleting_twice_is_reported_and_ignored(void **state)
{
    WDFOBJECT o = make("a", NULL);
    pk_test_capture_verifier();
    event_count = 0;
    WdfObjectReference(o);
    WdfObjectDelete(o);
    WdfObjectDelete(o);
    assert_int_equal(event_count, 1);
    assert_int_equal(pk_test_verifier_reports(), 1);
    assert_true(pk_test_verifier_saw("already being deleted"));
    WdfObjectDereference(o);
    assert_int_equal(event_count, 2);
}

static void more_dereferences_than_references_are_reported_and_ignored(void **state)
{
    WDFOBJECT o = make("a", NULL);
    pk_test_capture_verifier();
    event_count = 0;
    WdfObjectDereference(o); /* would drop the creation reference */
    assert_int_equal(pk_test_verifier_reports(), 1);
    assert_true(pk_test_verifier_saw("more dereferences than references"));
    assert_int_equal(event_count, 0);
    assert_non_null(GetTestContext(o));
    WdfObjectDelete(o);
    assert_int_equal(event_count, 2);
}

static void an_object_only_the_framework_deletes_refuses_wdf_object_delete(void **state)
{
    pk_object *thing;
    pk_test_capture_verifier();
    assert_int_equal(pk_object_create(&framework_only_type, NULL, NULL, sizeof(pk_object), "test", (void **)&thing),
                     STATUS_SUCCESS);
    WdfObjectDelete(pk_object_handle(thing));
    assert_int_equal(pk_object_get_state(thing), PK_OBJ_CREATED);
    assert_true(pk_test_verifier_saw("deleted by the framework"));
    pk_object_delete(thing);
}

static int extra_cleanups, extra_destroys;
static VOID extra_cleanup(WDFOBJECT o) { extra_cleanups++; }
static VOID extra_destroy(WDFOBJECT o) { extra_destroys++; }

static void allocate_context_adds_a_context_with_its_own_callbacks(void **state)
{
    WDFOBJECT o = make("a", NULL);
    WDF_OBJECT_ATTRIBUTES a;
    EXTRA_CONTEXT *extra = NULL, *again = NULL;
    extra_cleanups = extra_destroys = 0;
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, EXTRA_CONTEXT);
    a.EvtCleanupCallback = extra_cleanup;
    a.EvtDestroyCallback = extra_destroy;
    assert_int_equal(WdfObjectAllocateContext(o, &a, (PVOID *)&extra), STATUS_SUCCESS);
    assert_non_null(extra);
    assert_int_equal(extra->big[7], 0);
    assert_ptr_equal(WdfObjectGet_EXTRA_CONTEXT(o), extra);
    assert_ptr_equal(WdfObjectContextGetObject(extra), o);
    assert_int_equal(WdfObjectAllocateContext(o, &a, (PVOID *)&again), STATUS_OBJECT_NAME_EXISTS);
    assert_ptr_equal(again, extra);
    WdfObjectDelete(o);
    assert_int_equal(extra_cleanups, 1);
    assert_int_equal(extra_destroys, 1);
}

static void allocate_context_refuses_bad_attributes(void **state)
{
    WDFOBJECT o = make("a", NULL);
    WDF_OBJECT_ATTRIBUTES a;
    PVOID ctx = NULL;
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    assert_int_equal(WdfObjectAllocateContext(o, &a, &ctx), STATUS_INVALID_PARAMETER); /* no type */
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, EXTRA_CONTEXT);
    a.ParentObject = o;
    assert_int_equal(WdfObjectAllocateContext(o, &a, &ctx), STATUS_INVALID_PARAMETER);
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, EXTRA_CONTEXT);
    a.Size = 4;
    assert_int_equal(WdfObjectAllocateContext(o, &a, &ctx), STATUS_INFO_LENGTH_MISMATCH);
    assert_int_equal(WdfObjectAllocateContext(o, NULL, &ctx), STATUS_INVALID_PARAMETER);
    assert_null(ctx);
    WdfObjectDelete(o);
}

static NTSTATUS late_context_status;
static VOID cleanup_allocates_context(WDFOBJECT o)
{
    WDF_OBJECT_ATTRIBUTES a;
    PVOID ctx = NULL;
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, EXTRA_CONTEXT);
    late_context_status = WdfObjectAllocateContext(o, &a, &ctx);
}

static void allocate_context_on_an_object_being_deleted_returns_delete_pending(void **state)
{
    WDF_OBJECT_ATTRIBUTES a;
    WDFOBJECT o;
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.EvtCleanupCallback = cleanup_allocates_context;
    assert_int_equal(WdfObjectCreate(&a, &o), STATUS_SUCCESS);
    WdfObjectDelete(o);
    assert_int_equal(late_context_status, STATUS_DELETE_PENDING);
}

static KEVENT passive_cleanup_done;
static KIRQL passive_cleanup_irql;
static VOID passive_cleanup(WDFOBJECT o)
{
    passive_cleanup_irql = KeGetCurrentIrql();
    KeSetEvent(&passive_cleanup_done, IO_NO_INCREMENT, FALSE);
}

static void passive_level_cleanup_requested_at_dispatch_level_runs_later_at_passive_level(void **state)
{
    WDF_OBJECT_ATTRIBUTES a;
    WDFOBJECT o;
    KIRQL old;
    KeInitializeEvent(&passive_cleanup_done, NotificationEvent, FALSE);
    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.ExecutionLevel = WdfExecutionLevelPassive;
    a.EvtCleanupCallback = passive_cleanup;
    assert_int_equal(WdfObjectCreate(&a, &o), STATUS_SUCCESS);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    WdfObjectDelete(o);
    KeLowerIrql(old);
    pk_test_wait_event(&passive_cleanup_done);
    assert_int_equal(passive_cleanup_irql, PASSIVE_LEVEL);
    PnpkitShutdown();
}

static void the_object_history_records_each_transition(void **state)
{
    WDFOBJECT h = make("a", NULL);
    pk_object *o;
    assert_int_equal(pk_object_reference_handle(h, PK_KIND_ANY, "test", &o), STATUS_SUCCESS);
    WdfObjectDelete(h);
    assert_int_equal(pk_object_get_state(o), PK_OBJ_DISPOSED);
    assert_int_equal(o->history_next, 4);
    assert_int_equal(o->history[0].to, PK_OBJ_CREATED);
    assert_int_equal(o->history[1].from, PK_OBJ_CREATED);
    assert_int_equal(o->history[1].to, PK_OBJ_DELETING);
    assert_int_equal(o->history[1].event, PK_EV_DELETE);
    assert_int_equal(o->history[2].to, PK_OBJ_DISPOSING);
    assert_int_equal(o->history[3].to, PK_OBJ_DISPOSED);
    assert_int_equal(PnpkitObjectDump(h), STATUS_SUCCESS);
    pk_object_dereference(o);
}

static void an_allocation_failure_during_create_leaves_nothing(void **state)
{
    WDFOBJECT parent = make("parent", NULL);
    WDF_OBJECT_ATTRIBUTES a;
    WDFOBJECT o = NULL;
    ULONG before = PnpkitLiveObjectCount();
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, TEST_CONTEXT);
    a.ParentObject = parent;
    PnpkitSimFailAllocation(1);
    assert_int_equal(WdfObjectCreate(&a, &o), STATUS_INSUFFICIENT_RESOURCES);
    assert_null(o);
    assert_int_equal(PnpkitLiveObjectCount(), before);
    event_count = 0;
    WdfObjectDelete(parent);
    assert_int_equal(event_count, 2);
}

/* The same context type declared in two separately built modules has two type-info records;
 * it is still the same type. */
static const WDF_OBJECT_CONTEXT_TYPE_INFO other_module_test_context = {
    sizeof(WDF_OBJECT_CONTEXT_TYPE_INFO), "TEST_CONTEXT", sizeof(TEST_CONTEXT), &other_module_test_context, NULL
};

static void a_context_type_declared_in_two_modules_is_one_type(void **state)
{
    WDFOBJECT o = make("a", NULL);
    assert_ptr_equal(WdfObjectGetTypedContextWorker(o, &other_module_test_context), GetTestContext(o));
    WdfObjectDelete(o);
}

static void wdf_object_apis_work_at_dispatch_level(void **state)
{
    /* DISPATCH_LEVEL is the highest level pnpkit emulates, so every WdfObject* API is legal
     * everywhere; check they all work at DISPATCH_LEVEL. */
    KIRQL old;
    WDFOBJECT o;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(WdfObjectCreate(NULL, &o), STATUS_SUCCESS);
    WdfObjectReference(o);
    WdfObjectDereference(o);
    WdfObjectDelete(o);
    KeLowerIrql(old);
}

PK_TEST_MAIN(
    PK_TEST(object_create_gives_a_valid_handle_and_counts_a_live_object),
    PK_TEST(context_from_attributes_is_zeroed_and_typed),
    PK_TEST(context_size_override_enlarges_the_context),
    PK_TEST(bad_attributes_are_refused_and_create_nothing),
    PK_TEST(delete_runs_cleanup_then_destroy),
    PK_TEST(an_outstanding_reference_delays_destroy_but_not_cleanup),
    PK_TEST(a_reference_keeps_context_memory_valid_after_delete),
    PK_TEST(deleting_a_parent_deletes_its_children_first_newest_first),
    PK_TEST(a_parent_is_destroyed_after_its_children),
    PK_TEST(a_child_of_a_parent_being_deleted_is_refused_with_delete_pending),
    PK_TEST(a_stale_handle_returns_invalid_handle_and_a_verifier_report),
    PK_TEST(garbage_handles_are_rejected_without_being_dereferenced),
    PK_TEST(a_handle_of_the_wrong_type_is_rejected),
    PK_TEST(deleting_twice_is_reported_and_ignored),
    PK_TEST(more_dereferences_than_references_are_reported_and_ignored),
    PK_TEST(an_object_only_the_framework_deletes_refuses_wdf_object_delete),
    PK_TEST(allocate_context_adds_a_context_with_its_own_callbacks),
    PK_TEST(allocate_context_refuses_bad_attributes),
    PK_TEST(allocate_context_on_an_object_being_deleted_returns_delete_pending),
    PK_TEST(passive_level_cleanup_requested_at_dispatch_level_runs_later_at_passive_level),
    PK_TEST(the_object_history_records_each_transition),
    PK_TEST(an_allocation_failure_during_create_leaves_nothing),
    PK_TEST(a_context_type_declared_in_two_modules_is_one_type),
    PK_TEST(wdf_object_apis_work_at_dispatch_level),
)
