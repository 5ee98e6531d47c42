/* WDFCOLLECTION: an ordered list of referenced framework objects. */
#include "pk_test.h"
#include <pnpkit/wdfutil.h>

static int destroyed;

static VOID count_destroy(WDFOBJECT o) { __atomic_add_fetch(&destroyed, 1, __ATOMIC_RELAXED); }

static WDFOBJECT make_object(void)
{
    WDF_OBJECT_ATTRIBUTES a;
    WDFOBJECT o;

    WDF_OBJECT_ATTRIBUTES_INIT(&a);
    a.EvtDestroyCallback = count_destroy;
    assert_int_equal(WdfObjectCreate(&a, &o), STATUS_SUCCESS);
    return o;
}

static WDFCOLLECTION make_collection(void)
{
    WDFCOLLECTION c;
    assert_int_equal(WdfCollectionCreate(WDF_NO_OBJECT_ATTRIBUTES, &c), STATUS_SUCCESS);
    return c;
}

static void a_new_collection_is_empty(void **state)
{
    WDFCOLLECTION c = make_collection();

    assert_int_equal(WdfCollectionGetCount(c), 0);
    assert_null(WdfCollectionGetFirstItem(c));
    assert_null(WdfCollectionGetLastItem(c));
    assert_null(WdfCollectionGetItem(c, 0));
    WdfObjectDelete(c);
}

static void collection_keeps_items_in_the_order_they_were_added(void **state)
{
    WDFCOLLECTION c = make_collection();
    WDFOBJECT o[3] = { make_object(), make_object(), make_object() };

    for (int i = 0; i < 3; i++)
        assert_int_equal(WdfCollectionAdd(c, o[i]), STATUS_SUCCESS);
    assert_int_equal(WdfCollectionGetCount(c), 3);
    for (ULONG i = 0; i < 3; i++)
        assert_ptr_equal(WdfCollectionGetItem(c, i), o[i]);
    assert_null(WdfCollectionGetItem(c, 3));
    assert_ptr_equal(WdfCollectionGetFirstItem(c), o[0]);
    assert_ptr_equal(WdfCollectionGetLastItem(c), o[2]);
    WdfObjectDelete(c);
    for (int i = 0; i < 3; i++)
        WdfObjectDelete(o[i]);
}

static void collection_add_keeps_the_item_alive_until_removed(void **state)
{
    WDFCOLLECTION c = make_collection();
    WDFOBJECT o = make_object();

    destroyed = 0;
    assert_int_equal(WdfCollectionAdd(c, o), STATUS_SUCCESS);
    WdfObjectDelete(o);
    assert_int_equal(destroyed, 0); /* the collection's reference keeps it */
    assert_ptr_equal(WdfCollectionGetItem(c, 0), o);
    WdfCollectionRemove(c, o);
    assert_int_equal(destroyed, 1);
    assert_int_equal(WdfCollectionGetCount(c), 0);
    WdfObjectDelete(c);
}

static void remove_item_removes_by_index_and_shifts_the_rest(void **state)
{
    WDFCOLLECTION c = make_collection();
    WDFOBJECT o[3] = { make_object(), make_object(), make_object() };

    for (int i = 0; i < 3; i++)
        assert_int_equal(WdfCollectionAdd(c, o[i]), STATUS_SUCCESS);
    WdfCollectionRemoveItem(c, 1);
    assert_int_equal(WdfCollectionGetCount(c), 2);
    assert_ptr_equal(WdfCollectionGetItem(c, 0), o[0]);
    assert_ptr_equal(WdfCollectionGetItem(c, 1), o[2]);
    WdfCollectionRemoveItem(c, 0);
    assert_ptr_equal(WdfCollectionGetFirstItem(c), o[2]);
    WdfObjectDelete(c);
    for (int i = 0; i < 3; i++)
        WdfObjectDelete(o[i]);
}

static void deleting_the_collection_releases_its_items(void **state)
{
    WDFCOLLECTION c = make_collection();
    WDFOBJECT a = make_object(), b = make_object();

    destroyed = 0;
    assert_int_equal(WdfCollectionAdd(c, a), STATUS_SUCCESS);
    assert_int_equal(WdfCollectionAdd(c, b), STATUS_SUCCESS);
    assert_int_equal(WdfCollectionAdd(c, a), STATUS_SUCCESS); /* twice: two references */
    WdfObjectDelete(a);
    WdfObjectDelete(b);
    assert_int_equal(destroyed, 0);
    WdfObjectDelete(c);
    assert_int_equal(destroyed, 2);
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

static void a_collection_is_deleted_with_its_parent(void **state)
{
    WDF_OBJECT_ATTRIBUTES attributes;
    WDFOBJECT parent = make_object(), item = make_object();
    WDFCOLLECTION c;

    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    attributes.ParentObject = parent;
    assert_int_equal(WdfCollectionCreate(&attributes, &c), STATUS_SUCCESS);
    /* The parent is in its own child's collection: deleting the parent still frees both. */
    assert_int_equal(WdfCollectionAdd(c, parent), STATUS_SUCCESS);
    assert_int_equal(WdfCollectionAdd(c, item), STATUS_SUCCESS);
    WdfObjectDelete(item);
    WdfObjectDelete(parent);
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

static void removing_an_absent_item_or_index_is_reported(void **state)
{
    WDFCOLLECTION c = make_collection();
    WDFOBJECT in = make_object(), out = make_object();

    pk_test_capture_verifier();
    assert_int_equal(WdfCollectionAdd(c, in), STATUS_SUCCESS);
    WdfCollectionRemove(c, out);
    WdfCollectionRemoveItem(c, 1);
    assert_int_equal(pk_test_verifier_reports(), 2);
    assert_true(pk_test_verifier_saw("not in collection"));
    assert_true(pk_test_verifier_saw("index 1 is not valid"));
    assert_int_equal(WdfCollectionGetCount(c), 1);
    WdfObjectDelete(c);
    WdfObjectDelete(in);
    WdfObjectDelete(out);
}

static void a_collection_cannot_contain_itself(void **state)
{
    WDFCOLLECTION c = make_collection();

    pk_test_capture_verifier();
    assert_int_equal(WdfCollectionAdd(c, c), STATUS_INVALID_PARAMETER);
    assert_int_equal(WdfCollectionGetCount(c), 0);
    WdfObjectDelete(c);
}

static void collection_add_fails_cleanly_when_it_cannot_grow(void **state)
{
    WDFCOLLECTION c = make_collection();
    WDFOBJECT o = make_object();

    destroyed = 0;
    PnpkitSimFailAllocation(1);
    assert_int_equal(WdfCollectionAdd(c, o), STATUS_UNSUCCESSFUL);
    PnpkitSimFailAllocation(0);
    assert_int_equal(WdfCollectionGetCount(c), 0);
    WdfObjectDelete(o);
    assert_int_equal(destroyed, 1); /* no reference was left behind */
    WdfObjectDelete(c);
}

static void collection_functions_reject_bad_handles(void **state)
{
    WDFCOLLECTION c = make_collection(), stale;
    WDFOBJECT o = make_object();

    pk_test_capture_verifier();
    stale = make_collection();
    WdfObjectDelete(stale);
    assert_int_equal(WdfCollectionGetCount(stale), 0);
    assert_int_equal(WdfCollectionAdd(stale, o), STATUS_INVALID_HANDLE);
    assert_int_equal(WdfCollectionAdd((WDFCOLLECTION)o, o), STATUS_INVALID_HANDLE);
    assert_int_equal(WdfCollectionAdd(c, (WDFOBJECT)(uintptr_t)0x77), STATUS_INVALID_HANDLE);
    assert_null(WdfCollectionGetFirstItem(stale));
    WdfCollectionRemoveItem(stale, 0);
    assert_int_equal(pk_test_verifier_reports(), 6);
    assert_int_equal(pk_test_verifier_stops(), 0);
    assert_int_equal(WdfCollectionCreate(NULL, NULL), STATUS_INVALID_PARAMETER);
    WdfObjectDelete(c);
    WdfObjectDelete(o);
}

static void collection_grows_past_its_first_allocation(void **state)
{
    enum { N = 100 };
    WDFCOLLECTION c = make_collection();
    WDFOBJECT o[N];

    for (int i = 0; i < N; i++) {
        o[i] = make_object();
        assert_int_equal(WdfCollectionAdd(c, o[i]), STATUS_SUCCESS);
        WdfObjectDelete(o[i]); /* the collection keeps each one */
    }
    for (ULONG i = 0; i < N; i++)
        assert_ptr_equal(WdfCollectionGetItem(c, i), o[i]);
    while (WdfCollectionGetCount(c) > 0)
        WdfCollectionRemoveItem(c, WdfCollectionGetCount(c) - 1);
    assert_int_equal(PnpkitLiveObjectCount(), 1);
    WdfObjectDelete(c);
}

/* ---- Several threads add and remove their own objects at once ---- */

static WDFCOLLECTION shared;

static void *add_and_remove(void *arg)
{
    WDFOBJECT mine[16];

    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 16; i++) {
            assert_int_equal(WdfObjectCreate(NULL, &mine[i]), STATUS_SUCCESS);
            assert_int_equal(WdfCollectionAdd(shared, mine[i]), STATUS_SUCCESS);
            WdfObjectDelete(mine[i]);
        }
        for (int i = 0; i < 16; i++)
            WdfCollectionRemove(shared, mine[i]);
    }
    return NULL;
}

static void concurrent_adds_and_removes_leave_an_empty_collection(void **state)
{
    pk_test_threads threads;

    shared = make_collection();
    pk_test_threads_start(&threads, 4, add_and_remove, NULL);
    pk_test_threads_join(&threads);
    assert_int_equal(WdfCollectionGetCount(shared), 0);
    assert_int_equal(PnpkitLiveObjectCount(), 1);
    WdfObjectDelete(shared);
}

PK_TEST_MAIN(
    PK_TEST(a_new_collection_is_empty),
    PK_TEST(collection_keeps_items_in_the_order_they_were_added),
    PK_TEST(collection_add_keeps_the_item_alive_until_removed),
    PK_TEST(remove_item_removes_by_index_and_shifts_the_rest),
    PK_TEST(deleting_the_collection_releases_its_items),
    PK_TEST(a_collection_is_deleted_with_its_parent),
    PK_TEST(removing_an_absent_item_or_index_is_reported),
    PK_TEST(a_collection_cannot_contain_itself),
    PK_TEST(collection_add_fails_cleanly_when_it_cannot_grow),
    PK_TEST(collection_functions_reject_bad_handles),
    PK_TEST(collection_grows_past_its_first_allocation),
    PK_TEST(concurrent_adds_and_removes_leave_an_empty_collection)
)
