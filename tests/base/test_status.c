/* Status codes: Windows values, names, and the NT_SUCCESS family. */
#include "pk_test.h"

#include <string.h>

static void status_values_are_the_windows_values(void **state)
{
    assert_int_equal(STATUS_SUCCESS, 0);
    assert_int_equal(STATUS_PENDING, 0x103);
    assert_int_equal(STATUS_OBJECT_NAME_EXISTS, 0x40000000);
    assert_int_equal((ULONG)STATUS_UNSUCCESSFUL, 0xC0000001u);
    assert_int_equal((ULONG)STATUS_NOT_IMPLEMENTED, 0xC0000002u);
    assert_int_equal((ULONG)STATUS_INVALID_HANDLE, 0xC0000008u);
    assert_int_equal((ULONG)STATUS_INVALID_PARAMETER, 0xC000000Du);
    assert_int_equal((ULONG)STATUS_NO_SUCH_DEVICE, 0xC000000Eu);
    assert_int_equal((ULONG)STATUS_INVALID_DEVICE_REQUEST, 0xC0000010u);
    assert_int_equal((ULONG)STATUS_ACCESS_DENIED, 0xC0000022u);
    assert_int_equal((ULONG)STATUS_BUFFER_TOO_SMALL, 0xC0000023u);
    assert_int_equal((ULONG)STATUS_OBJECT_NAME_NOT_FOUND, 0xC0000034u);
    assert_int_equal((ULONG)STATUS_DELETE_PENDING, 0xC0000056u);
    assert_int_equal((ULONG)STATUS_INSUFFICIENT_RESOURCES, 0xC000009Au);
    assert_int_equal((ULONG)STATUS_IO_TIMEOUT, 0xC00000B5u);
    assert_int_equal((ULONG)STATUS_NOT_SUPPORTED, 0xC00000BBu);
    assert_int_equal((ULONG)STATUS_CANCELLED, 0xC0000120u);
    assert_int_equal((ULONG)STATUS_INVALID_DEVICE_STATE, 0xC0000184u);
    assert_int_equal((ULONG)STATUS_NOT_FOUND, 0xC0000225u);
    assert_int_equal((ULONG)STATUS_DEVICE_REMOVED, 0xC00002B6u);
    assert_int_equal((ULONG)STATUS_NOINTERFACE, 0xC00002B9u);
    assert_int_equal((ULONG)STATUS_OBJECTID_NOT_FOUND, 0xC00002F0u);
    assert_int_equal((ULONG)STATUS_WDF_DEVICE_REMOVED_NOT_SENT, 0xC0200206u);
}

/* The names table and the #defines come from different places; every listed value must be
 * the value its macro has, and must be named. */
static void status_name_names_every_listed_status(void **state)
{
#define CHECK(name, value) \
    assert_int_equal((ULONG)(name), (ULONG)(value)); \
    if ((ULONG)(value) != 0 && (ULONG)(value) != 1) \
        assert_string_equal(PnpkitStatusName(name), #name);
    PNPKIT_STATUS_LIST(CHECK)
#undef CHECK
    assert_string_equal(PnpkitStatusName(STATUS_SUCCESS), "STATUS_SUCCESS");
}

static void status_name_of_unknown_value_is_hex(void **state)
{
    assert_string_equal(PnpkitStatusName((NTSTATUS)0xC0FFEE01), "0xC0FFEE01");
    assert_string_equal(PnpkitStatusName((NTSTATUS)0x12345678), "0x12345678");
}

static void nt_success_counts_information_and_pending_as_success(void **state)
{
    assert_true(NT_SUCCESS(STATUS_SUCCESS));
    assert_true(NT_SUCCESS(STATUS_PENDING));
    assert_true(NT_SUCCESS(STATUS_OBJECT_NAME_EXISTS));
    assert_true(NT_INFORMATION(STATUS_OBJECT_NAME_EXISTS));
    assert_false(NT_SUCCESS(STATUS_BUFFER_OVERFLOW));
    assert_true(NT_WARNING(STATUS_BUFFER_OVERFLOW));
    assert_false(NT_SUCCESS(STATUS_INVALID_PARAMETER));
    assert_true(NT_ERROR(STATUS_INVALID_PARAMETER));
}

PK_TEST_MAIN(
    PK_TEST(status_values_are_the_windows_values),
    PK_TEST(status_name_names_every_listed_status),
    PK_TEST(status_name_of_unknown_value_is_hex),
    PK_TEST(nt_success_counts_information_and_pending_as_success),
)
