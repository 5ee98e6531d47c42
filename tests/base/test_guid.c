/* GUIDs: DEFINE_GUID, IsEqualGUID, the registry string form in both directions. */
#include "pk_test.h"

#include <string.h>

/* GUID_DEVINTERFACE_HID, a value every Windows driver writer knows. */
DEFINE_GUID(TEST_GUID_HID, 0x4D1E55B2, 0xF16F, 0x11CF, 0x88, 0xCB, 0x00, 0x11, 0x11, 0x00, 0x00, 0x30);

static void define_guid_defines_the_given_value(void **state)
{
    assert_int_equal(TEST_GUID_HID.Data1, 0x4D1E55B2u);
    assert_int_equal(TEST_GUID_HID.Data2, 0xF16F);
    assert_int_equal(TEST_GUID_HID.Data3, 0x11CF);
    assert_int_equal(TEST_GUID_HID.Data4[0], 0x88);
    assert_int_equal(TEST_GUID_HID.Data4[7], 0x30);
    assert_int_equal(sizeof(GUID), 16);
}

static void guid_format_is_the_lowercase_registry_form(void **state)
{
    char text[PNPKIT_GUID_STRING_CHARS];
    assert_int_equal(PnpkitGuidFormat(&TEST_GUID_HID, text, sizeof(text), 0), STATUS_SUCCESS);
    assert_string_equal(text, "{4d1e55b2-f16f-11cf-88cb-001111000030}");
    assert_int_equal(PnpkitGuidFormat(&TEST_GUID_HID, text, sizeof(text), PNPKIT_GUID_FORMAT_UPPERCASE),
                     STATUS_SUCCESS);
    assert_string_equal(text, "{4D1E55B2-F16F-11CF-88CB-001111000030}");
}

static void guid_format_refuses_a_short_buffer(void **state)
{
    char text[PNPKIT_GUID_STRING_CHARS] = "untouched";
    assert_int_equal(PnpkitGuidFormat(&TEST_GUID_HID, text, sizeof(text) - 1, 0), STATUS_BUFFER_TOO_SMALL);
    assert_string_equal(text, "untouched");
    assert_int_equal(PnpkitGuidFormat(NULL, text, sizeof(text), 0), STATUS_INVALID_PARAMETER);
}

static void guid_parse_round_trips_random_guids(void **state)
{
    uint32_t seed = 12345;
    for (int i = 0; i < 2000; i++) {
        GUID g, back;
        char text[PNPKIT_GUID_STRING_CHARS];
        for (int b = 0; b < 16; b++)
            ((unsigned char *)&g)[b] = (unsigned char)pk_test_rand(&seed);
        assert_int_equal(PnpkitGuidFormat(&g, text, sizeof(text), i & 1), STATUS_SUCCESS);
        assert_int_equal(PnpkitGuidParse(text, &back), STATUS_SUCCESS);
        assert_true(IsEqualGUID(&g, &back));
    }
}

static void guid_parse_accepts_either_letter_case(void **state)
{
    GUID a, b;
    assert_int_equal(PnpkitGuidParse("{4d1e55b2-f16f-11cf-88cb-001111000030}", &a), STATUS_SUCCESS);
    assert_int_equal(PnpkitGuidParse("{4D1E55B2-F16F-11Cf-88CB-001111000030}", &b), STATUS_SUCCESS);
    assert_true(IsEqualGUID(&a, &b));
    assert_true(IsEqualGUID(&a, &TEST_GUID_HID));
}

static void guid_parse_rejects_malformed_strings_and_leaves_output_untouched(void **state)
{
    static const char *const bad[] = {
        "4d1e55b2-f16f-11cf-88cb-001111000030",    /* no braces */
        "{4d1e55b2-f16f-11cf-88cb-001111000030",   /* no closing brace */
        "(4d1e55b2-f16f-11cf-88cb-001111000030)",  /* wrong brackets */
        "{4d1e55b2-f16f-11cf-88cb-00111100003}",   /* short */
        "{4d1e55b2-f16f-11cf-88cb-0011110000300}", /* long */
        "{4d1e55b2f-16f-11cf-88cb-001111000030}",  /* dash misplaced */
        "{4d1e55b2-f16f-11cf-88cb+001111000030}",  /* wrong separator */
        "{4d1e55g2-f16f-11cf-88cb-001111000030}",  /* not hex */
        "{4d1e55b2-f16f-11cf-88cb-00111100003 }",  /* space */
        "",
    };
    GUID out;
    memset(&out, 0xAB, sizeof(out));
    for (size_t i = 0; i < ARRAYSIZE(bad); i++)
        assert_int_equal(PnpkitGuidParse(bad[i], &out), STATUS_INVALID_PARAMETER);
    assert_int_equal(PnpkitGuidParse(NULL, &out), STATUS_INVALID_PARAMETER);
    assert_int_equal(PnpkitGuidParse("{4d1e55b2-f16f-11cf-88cb-001111000030}", NULL), STATUS_INVALID_PARAMETER);
    for (int b = 0; b < 16; b++)
        assert_int_equal(((unsigned char *)&out)[b], 0xAB);
}

static void rtl_string_from_guid_round_trips_through_rtl_guid_from_string(void **state)
{
    UNICODE_STRING s;
    GUID back;
    assert_int_equal(RtlStringFromGUID(&TEST_GUID_HID, &s), STATUS_SUCCESS);
    assert_int_equal(s.Length, 38 * sizeof(WCHAR));
    assert_int_equal(s.Buffer[0], u'{');
    assert_int_equal(s.Buffer[1], u'4');
    assert_int_equal(s.Buffer[2], u'D'); /* Windows writes upper case */
    assert_int_equal(RtlGUIDFromString(&s, &back), STATUS_SUCCESS);
    assert_true(IsEqualGUID(&back, &TEST_GUID_HID));
    RtlFreeUnicodeString(&s);
    assert_null(s.Buffer);
}

static void rtl_guid_from_string_rejects_missing_braces(void **state)
{
    UNICODE_STRING s;
    GUID g;
    RtlInitUnicodeString(&s, u"4d1e55b2-f16f-11cf-88cb-001111000030");
    assert_int_equal(RtlGUIDFromString(&s, &g), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlGUIDFromString(NULL, &g), STATUS_INVALID_PARAMETER);
}

static void is_equal_guid_compares_every_byte(void **state)
{
    GUID a = TEST_GUID_HID;
    for (int b = 0; b < 16; b++) {
        GUID c = a;
        ((unsigned char *)&c)[b] ^= 1;
        assert_false(IsEqualGUID(&a, &c));
    }
    assert_true(IsEqualGUID(&a, &TEST_GUID_HID));
}

PK_TEST_MAIN(
    PK_TEST(define_guid_defines_the_given_value),
    PK_TEST(guid_format_is_the_lowercase_registry_form),
    PK_TEST(guid_format_refuses_a_short_buffer),
    PK_TEST(guid_parse_round_trips_random_guids),
    PK_TEST(guid_parse_accepts_either_letter_case),
    PK_TEST(guid_parse_rejects_malformed_strings_and_leaves_output_untouched),
    PK_TEST(rtl_string_from_guid_round_trips_through_rtl_guid_from_string),
    PK_TEST(rtl_guid_from_string_rejects_missing_braces),
    PK_TEST(is_equal_guid_compares_every_byte),
)
