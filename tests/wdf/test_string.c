/* WDFSTRING: framework-owned copies of UNICODE_STRINGs. */
#include "pk_test.h"
#include <pnpkit/wdfutil.h>
#include "wdf/wdf_internal.h"

#include <string.h>

static void string_create_copies_the_callers_string(void **state)
{
    WCHAR text[] = u"Device42";
    UNICODE_STRING in, out;
    WDFSTRING s;

    RtlInitUnicodeString(&in, text);
    assert_int_equal(WdfStringCreate(&in, WDF_NO_OBJECT_ATTRIBUTES, &s), STATUS_SUCCESS);
    text[0] = u'X'; /* the object has its own copy */
    WdfStringGetUnicodeString(s, &out);
    assert_int_equal(out.Length, 16);
    assert_true(out.MaximumLength >= out.Length);
    assert_ptr_not_equal(out.Buffer, text);
    assert_memory_equal(out.Buffer, u"Device42", 16);
    WdfObjectDelete(s);
}

static void string_create_without_a_string_is_empty(void **state)
{
    UNICODE_STRING out;
    WDFSTRING s;

    assert_int_equal(WdfStringCreate(NULL, NULL, &s), STATUS_SUCCESS);
    memset(&out, 0xAB, sizeof(out));
    WdfStringGetUnicodeString(s, &out);
    assert_int_equal(out.Length, 0);
    WdfObjectDelete(s);
}

static void string_create_copies_only_length_bytes(void **state)
{
    UNICODE_STRING in, out;
    WDFSTRING s;

    in.Buffer = (PWSTR)(uintptr_t)u"abcdef";
    in.Length = 3 * sizeof(WCHAR);
    in.MaximumLength = 7 * sizeof(WCHAR);
    assert_int_equal(WdfStringCreate(&in, NULL, &s), STATUS_SUCCESS);
    WdfStringGetUnicodeString(s, &out);
    assert_int_equal(out.Length, 6);
    assert_memory_equal(out.Buffer, u"abc", 6);
    WdfObjectDelete(s);
}

static void string_create_rejects_malformed_unicode_strings(void **state)
{
    UNICODE_STRING bad;
    WDFSTRING s = NULL;

    pk_test_capture_verifier();
    bad.Buffer = (PWSTR)(uintptr_t)u"abc";
    bad.Length = 3; /* odd */
    bad.MaximumLength = 8;
    assert_int_equal(WdfStringCreate(&bad, NULL, &s), STATUS_INVALID_PARAMETER);
    bad.Length = 10; /* longer than MaximumLength */
    assert_int_equal(WdfStringCreate(&bad, NULL, &s), STATUS_INVALID_PARAMETER);
    bad.Length = 2;
    bad.MaximumLength = 5; /* odd */
    assert_int_equal(WdfStringCreate(&bad, NULL, &s), STATUS_INVALID_PARAMETER);
    bad.Buffer = NULL;
    bad.MaximumLength = 4; /* text without a buffer */
    assert_int_equal(WdfStringCreate(&bad, NULL, &s), STATUS_INVALID_PARAMETER);
    assert_int_equal(WdfStringCreate(NULL, NULL, NULL), STATUS_INVALID_PARAMETER);
    assert_null(s);
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

static void string_functions_require_passive_level(void **state)
{
    WDFSTRING s = NULL, good;
    UNICODE_STRING out = { 0 };
    KIRQL old;

    pk_test_capture_verifier();
    assert_int_equal(WdfStringCreate(NULL, NULL, &good), STATUS_SUCCESS);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(WdfStringCreate(NULL, NULL, &s), STATUS_INVALID_DEVICE_REQUEST);
    WdfStringGetUnicodeString(good, &out);
    KeLowerIrql(old);
    assert_int_equal(pk_test_verifier_stops(), 2);
    assert_null(s);
    WdfObjectDelete(good);
}

static void string_create_fails_cleanly_when_an_allocation_fails(void **state)
{
    UNICODE_STRING in;
    WDFSTRING s = NULL;

    RtlInitUnicodeString(&in, u"text");
    for (ULONG nth = 1; nth <= 2; nth++) {
        PnpkitSimFailAllocation(nth);
        assert_int_equal(WdfStringCreate(&in, NULL, &s), STATUS_INSUFFICIENT_RESOURCES);
    }
    PnpkitSimFailAllocation(0);
    assert_null(s);
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

static void get_unicode_string_rejects_bad_handles_and_null_output(void **state)
{
    WDFSTRING s;
    WDFOBJECT generic;
    UNICODE_STRING out = { 0, 0, NULL };

    pk_test_capture_verifier();
    assert_int_equal(WdfStringCreate(NULL, NULL, &s), STATUS_SUCCESS);
    assert_int_equal(WdfObjectCreate(NULL, &generic), STATUS_SUCCESS);
    WdfStringGetUnicodeString((WDFSTRING)generic, &out);
    WdfStringGetUnicodeString(s, NULL);
    assert_int_equal(pk_test_verifier_reports(), 2);
    assert_null(out.Buffer);
    WdfObjectDelete(generic);
    WdfObjectDelete(s);
}

static void string_assign_replaces_the_text(void **state)
{
    UNICODE_STRING in, out;
    WDFSTRING s;
    pk_object *o;

    RtlInitUnicodeString(&in, u"old");
    assert_int_equal(WdfStringCreate(&in, NULL, &s), STATUS_SUCCESS);
    assert_int_equal(pk_object_reference_handle((WDFOBJECT)s, PK_KIND_STRING, "test", &o), STATUS_SUCCESS);
    RtlInitUnicodeString(&in, u"a new name");
    assert_int_equal(wdf_string_assign(o, &in), STATUS_SUCCESS);
    WdfStringGetUnicodeString(s, &out);
    assert_int_equal(out.Length, 20);
    assert_memory_equal(out.Buffer, u"a new name", 20);
    assert_int_equal(wdf_string_assign(o, NULL), STATUS_SUCCESS);
    WdfStringGetUnicodeString(s, &out);
    assert_int_equal(out.Length, 0);
    pk_object_dereference(o);
    WdfObjectDelete(s);
}

PK_TEST_MAIN(
    PK_TEST(string_create_copies_the_callers_string),
    PK_TEST(string_create_without_a_string_is_empty),
    PK_TEST(string_create_copies_only_length_bytes),
    PK_TEST(string_create_rejects_malformed_unicode_strings),
    PK_TEST(string_functions_require_passive_level),
    PK_TEST(string_create_fails_cleanly_when_an_allocation_fails),
    PK_TEST(get_unicode_string_rejects_bad_handles_and_null_output),
    PK_TEST(string_assign_replaces_the_text)
)
