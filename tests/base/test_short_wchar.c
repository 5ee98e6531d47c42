/* With -fshort-wchar (set for this file by CMake), Windows-style L"..." literals are PCWSTR. */
#include "pk_test.h"

static void short_wchar_lets_l_literals_be_pcwstr(void **state)
{
    UNICODE_STRING a, b;
    _Static_assert(sizeof(L'x') == 2, "this file must be built with -fshort-wchar");
    RtlInitUnicodeString(&a, L"Device");
    RtlInitUnicodeString(&b, u"DEVICE");
    assert_int_equal(a.Length, 12);
    assert_true(RtlEqualUnicodeString(&a, &b, TRUE));
}

PK_TEST_MAIN(
    PK_TEST(short_wchar_lets_l_literals_be_pcwstr),
)
