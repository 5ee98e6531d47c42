/* UNICODE_STRING helpers and UTF-8 <-> UTF-16 conversion. */
#include "pk_test.h"

#include <stdlib.h>
#include <string.h>

static void rtl_init_unicode_string_counts_bytes_without_the_nul(void **state)
{
    UNICODE_STRING s;
    RtlInitUnicodeString(&s, u"Device");
    assert_int_equal(s.Length, 12);
    assert_int_equal(s.MaximumLength, 14);
    RtlInitUnicodeString(&s, NULL);
    assert_int_equal(s.Length, 0);
    assert_int_equal(s.MaximumLength, 0);
    assert_null(s.Buffer);
}

static void rtl_compare_case_sensitive_orders_by_code_unit(void **state)
{
    UNICODE_STRING a, b, c;
    RtlInitUnicodeString(&a, u"abc");
    RtlInitUnicodeString(&b, u"abd");
    RtlInitUnicodeString(&c, u"ab");
    assert_true(RtlCompareUnicodeString(&a, &b, FALSE) < 0);
    assert_true(RtlCompareUnicodeString(&b, &a, FALSE) > 0);
    assert_true(RtlCompareUnicodeString(&c, &a, FALSE) < 0); /* a prefix compares less */
    assert_int_equal(RtlCompareUnicodeString(&a, &a, FALSE), 0);
    RtlInitUnicodeString(&b, u"ABC");
    assert_true(RtlCompareUnicodeString(&a, &b, FALSE) != 0);
}

static void rtl_compare_case_insensitive_ignores_ascii_case(void **state)
{
    UNICODE_STRING a, b;
    RtlInitUnicodeString(&a, u"\\??\\SWD#Sensor#1#{4d1e55b2-f16f-11cf-88cb-001111000030}");
    RtlInitUnicodeString(&b, u"\\??\\swd#sensor#1#{4D1E55B2-F16F-11CF-88CB-001111000030}");
    assert_int_equal(RtlCompareUnicodeString(&a, &b, TRUE), 0);
    assert_true(RtlEqualUnicodeString(&a, &b, TRUE));
    assert_false(RtlEqualUnicodeString(&a, &b, FALSE));
}

static void rtl_compare_case_insensitive_folds_latin1_greek_and_cyrillic(void **state)
{
    UNICODE_STRING a, b;
    RtlInitUnicodeString(&a, u"gerät-αβγ-жук-ÿ-ł");
    RtlInitUnicodeString(&b, u"GERÄT-ΑΒΓ-ЖУК-Ÿ-Ł");
    assert_true(RtlEqualUnicodeString(&a, &b, TRUE));
    assert_int_equal(RtlUpcaseUnicodeChar(u'ß'), u'ß'); /* no single-unit upper case */
    assert_int_equal(RtlUpcaseUnicodeChar(u'÷'), u'÷');
    assert_int_equal(RtlUpcaseUnicodeChar(u'ё'), u'Ё');
}

static void rtl_equal_unicode_string_requires_equal_lengths(void **state)
{
    UNICODE_STRING a, b, empty = { 0, 0, NULL };
    RtlInitUnicodeString(&a, u"ref");
    RtlInitUnicodeString(&b, u"ref2");
    assert_false(RtlEqualUnicodeString(&a, &b, TRUE));
    assert_true(RtlEqualUnicodeString(&empty, NULL, FALSE));
    assert_true(RtlPrefixUnicodeString(&a, &b, FALSE));
    assert_false(RtlPrefixUnicodeString(&b, &a, FALSE));
}

static void rtl_copy_unicode_string_truncates_to_the_destination(void **state)
{
    WCHAR buf[4];
    UNICODE_STRING dst, src;
    RtlInitEmptyUnicodeString(&dst, buf, sizeof(buf));
    RtlInitUnicodeString(&src, u"abcdef");
    RtlCopyUnicodeString(&dst, &src);
    assert_int_equal(dst.Length, sizeof(buf));
    assert_memory_equal(buf, u"abcd", sizeof(buf));
    RtlInitUnicodeString(&src, u"x");
    RtlCopyUnicodeString(&dst, &src);
    assert_int_equal(dst.Length, 2);
    assert_int_equal(buf[1], 0); /* NUL added when it fits */
    RtlCopyUnicodeString(&dst, NULL);
    assert_int_equal(dst.Length, 0);
}

static void rtl_create_unicode_string_copies_and_frees(void **state)
{
    UNICODE_STRING s;
    WCHAR src[] = u"copy me";
    assert_true(RtlCreateUnicodeString(&s, src));
    src[0] = u'X';
    assert_int_equal(s.Buffer[0], u'c');
    assert_int_equal(s.Length, 14);
    RtlFreeUnicodeString(&s);
    assert_false(RtlCreateUnicodeString(&s, NULL));
}

static void utf8_round_trips_bmp_and_astral_characters(void **state)
{
    const char *text = "Sensor ü € 😀 ж";
    UNICODE_STRING s;
    char *back;

    assert_int_equal(PnpkitUnicodeStringFromUtf8(&s, text), STATUS_SUCCESS);
    /* "Sensor " 7, u-umlaut, space, euro, space, the emoji as a surrogate pair, space, zhe */
    assert_int_equal(s.Length / sizeof(WCHAR), 15);
    assert_int_equal(s.Buffer[7], 0xFC);
    assert_int_equal(s.Buffer[9], 0x20AC);
    assert_int_equal(s.Buffer[11], 0xD83D);
    assert_int_equal(s.Buffer[12], 0xDE00);
    assert_int_equal(s.Buffer[14], 0x436);
    back = PnpkitUnicodeStringToUtf8(&s);
    assert_string_equal(back, text);
    free(back);
    RtlFreeUnicodeString(&s);
}

static void utf8_invalid_sequences_become_replacement_characters(void **state)
{
    WCHAR out[8];
    ULONG bytes = 0;
    const char bad[] = { 'a', (char)0xC0, (char)0xAF, 'b', (char)0xED, (char)0xA0, (char)0x80 };
    NTSTATUS st = RtlUTF8ToUnicodeN(out, sizeof(out), &bytes, bad, sizeof(bad));
    assert_int_equal(st, STATUS_SOME_NOT_MAPPED);
    assert_true(NT_SUCCESS(st));
    assert_int_equal(out[0], u'a');
    assert_int_equal(out[1], 0xFFFD); /* overlong */
    assert_int_equal(out[3], u'b');
    assert_int_equal(out[4], 0xFFFD); /* encoded surrogate */
    /* A lone surrogate in UTF-16 becomes U+FFFD in UTF-8. */
    WCHAR lone[] = { u'x', 0xD800, u'y' };
    char u8[16];
    st = RtlUnicodeToUTF8N(u8, sizeof(u8), &bytes, lone, sizeof(lone));
    assert_int_equal(st, STATUS_SOME_NOT_MAPPED);
    assert_int_equal(bytes, 5);
    assert_memory_equal(u8, "x\xEF\xBF\xBDy", 5);
}

static void utf8_conversion_reports_a_short_destination(void **state)
{
    WCHAR out[2];
    ULONG bytes = 0;
    assert_int_equal(RtlUTF8ToUnicodeN(out, sizeof(out), &bytes, "abc", 3), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(bytes, 4);
    assert_int_equal(out[0], u'a');
    assert_int_equal(out[1], u'b');
}

static void utf8_conversion_with_null_destination_returns_the_size(void **state)
{
    ULONG bytes = 0;
    assert_int_equal(RtlUTF8ToUnicodeN(NULL, 0, &bytes, "h\xC3\xA9", 3), STATUS_SUCCESS);
    assert_int_equal(bytes, 4);
    assert_int_equal(RtlUTF8ToUnicodeN(NULL, 0, NULL, "x", 1), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlUnicodeToUTF8N(NULL, 0, &bytes, u"h\u00e9", 4), STATUS_SUCCESS);
    assert_int_equal(bytes, 3);
    assert_int_equal(PnpkitUnicodeStringFromUtf8(NULL, "x"), STATUS_INVALID_PARAMETER);
}

static void utf8_allocation_failure_returns_insufficient_resources(void **state)
{
    UNICODE_STRING s = { 0, 0, NULL };
    PnpkitSimFailAllocation(1);
    assert_int_equal(PnpkitUnicodeStringFromUtf8(&s, "abc"), STATUS_INSUFFICIENT_RESOURCES);
    assert_null(s.Buffer);
}

PK_TEST_MAIN(
    PK_TEST(rtl_init_unicode_string_counts_bytes_without_the_nul),
    PK_TEST(rtl_compare_case_sensitive_orders_by_code_unit),
    PK_TEST(rtl_compare_case_insensitive_ignores_ascii_case),
    PK_TEST(rtl_compare_case_insensitive_folds_latin1_greek_and_cyrillic),
    PK_TEST(rtl_equal_unicode_string_requires_equal_lengths),
    PK_TEST(rtl_copy_unicode_string_truncates_to_the_destination),
    PK_TEST(rtl_create_unicode_string_copies_and_frees),
    PK_TEST(utf8_round_trips_bmp_and_astral_characters),
    PK_TEST(utf8_invalid_sequences_become_replacement_characters),
    PK_TEST(utf8_conversion_reports_a_short_destination),
    PK_TEST(utf8_conversion_with_null_destination_returns_the_size),
    PK_TEST(utf8_allocation_failure_returns_insufficient_resources),
)
