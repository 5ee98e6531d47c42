/*
 * test_protocol.c — the wire protocol of pnphost (docs/protocol.md) without a host: every
 * message type survives encoding and decoding, and the decoder refuses what the document says
 * it refuses.
 */
#include "harness/host_harness.h"

#include <string.h>

static uint8_t buf[PNPH_MAX_MESSAGE + 64];

static size_t ioctl_message(uint32_t in_len, uint32_t out_len)
{
    pnph_builder b;
    pnph_begin(&b, buf, sizeof(buf), PNPH_IOCTL, 42);
    pnph_put_u64(&b, 0x100000001ull);
    pnph_put_u32(&b, IOCTL_PKH_ECHO);
    pnph_put_u32(&b, in_len);
    pnph_put_u32(&b, out_len);
    pnph_put_u32(&b, 0);
    uint8_t *p = pnph_reserve(&b, in_len);
    if (p)
        memset(p, 0xab, in_len);
    return pnph_finish(&b);
}

static void header_is_little_endian_with_magic_version_type_length_and_id(void **state)
{
    size_t n = ioctl_message(3, 5);
    assert_int_equal(n, PNPH_HEADER_SIZE + 24 + 3);
    assert_memory_equal(buf, "PNPH", 4);
    assert_int_equal(buf[4], 1);
    assert_int_equal(buf[5], 0);
    assert_int_equal(buf[6], 0x12);
    assert_int_equal(buf[7], 0x00);
    assert_int_equal(pnph_le32(buf + 8), 24 + 3);
    assert_int_equal(pnph_le32(buf + 12), 42);
}

static void ioctl_request_decodes_to_its_fields(void **state)
{
    pnph_msg m;
    size_t n = ioctl_message(3, 5);
    assert_int_equal(pnph_decode(buf, n, &m), PNPH_OK);
    assert_int_equal(m.hdr.type, PNPH_IOCTL);
    assert_int_equal(m.hdr.request_id, 42);
    assert_true(m.u.ioctl.handle == 0x100000001ull);
    assert_int_equal(m.u.ioctl.code, IOCTL_PKH_ECHO);
    assert_int_equal(m.u.ioctl.in_len, 3);
    assert_int_equal(m.u.ioctl.out_len, 5);
    assert_ptr_equal(m.u.ioctl.in, buf + PNPH_HEADER_SIZE + 24);
}

static void decoder_refuses_trailing_bytes_and_short_payloads(void **state)
{
    pnph_msg m;
    size_t n = ioctl_message(3, 5);
    /* one byte more in the payload than the fields use */
    pnph_st32(buf + 8, pnph_le32(buf + 8) + 1);
    assert_int_equal(pnph_decode(buf, n + 1, &m), PNPH_BAD_LENGTH);
    /* an input length larger than what follows */
    n = ioctl_message(3, 5);
    pnph_st32(buf + PNPH_HEADER_SIZE + 12, 4);
    assert_int_equal(pnph_decode(buf, n, &m), PNPH_BAD_LENGTH);
    /* a length that does not match the buffer */
    n = ioctl_message(3, 5);
    assert_int_equal(pnph_decode(buf, n - 1, &m), PNPH_BAD_LENGTH);
}

static void oversized_lengths_are_refused_from_the_header_alone(void **state)
{
    pnph_header h;
    pnph_msg m;
    size_t n = ioctl_message(0, 0);
    pnph_st32(buf + 8, PNPH_MAX_PAYLOAD + 1);
    assert_int_equal(pnph_header_check(buf, PNPH_HEADER_SIZE, &h), PNPH_TOO_LARGE);
    n = ioctl_message(0, 0);
    pnph_st32(buf + PNPH_HEADER_SIZE + 16, PNPH_MAX_IO + 1); /* out_len */
    assert_int_equal(pnph_decode(buf, n, &m), PNPH_BAD_FIELD);
}

static void bad_magic_version_and_type_are_refused(void **state)
{
    pnph_header h;
    pnph_msg m;
    size_t n = ioctl_message(0, 0);
    buf[0] ^= 1;
    assert_int_equal(pnph_header_check(buf, n, &h), PNPH_BAD_MAGIC);
    n = ioctl_message(0, 0);
    buf[4] = 2;
    assert_int_equal(pnph_header_check(buf, n, &h), PNPH_BAD_VERSION);
    n = ioctl_message(0, 0);
    buf[6] = 0x7f;
    assert_int_equal(pnph_decode(buf, n, &m), PNPH_BAD_TYPE);
    assert_int_equal(pnph_header_check(buf, 3, &h), PNPH_NEED_MORE);
}

static void interface_list_reply_must_be_a_multi_string(void **state)
{
    static const WCHAR good[] = u"\\\\?\\A#{6d1f3a20-4b7c-4e55-8a10-314253647586}\0";
    static const WCHAR empty_inside[] = u"ab\0\0cd\0";
    pnph_builder b;
    pnph_msg m;

    pnph_begin(&b, buf, sizeof(buf), PNPH_LIST_INTERFACES | PNPH_REPLY, 1);
    pnph_put_u32(&b, 0);
    pnph_put_wstr(&b, good, ARRAYSIZE(good)); /* the string's NUL and the list's */
    assert_int_equal(pnph_decode(buf, pnph_finish(&b), &m), PNPH_OK);
    assert_int_equal(m.u.list_reply.list.chars, ARRAYSIZE(good));

    pnph_begin(&b, buf, sizeof(buf), PNPH_LIST_INTERFACES | PNPH_REPLY, 1);
    pnph_put_u32(&b, 0);
    pnph_put_wstr(&b, u"", 1); /* the empty list: one NUL */
    assert_int_equal(pnph_decode(buf, pnph_finish(&b), &m), PNPH_OK);

    pnph_begin(&b, buf, sizeof(buf), PNPH_LIST_INTERFACES | PNPH_REPLY, 1);
    pnph_put_u32(&b, 0);
    pnph_put_wstr(&b, u"abc", 3); /* not terminated */
    assert_int_equal(pnph_decode(buf, pnph_finish(&b), &m), PNPH_BAD_FIELD);

    pnph_begin(&b, buf, sizeof(buf), PNPH_LIST_INTERFACES | PNPH_REPLY, 1);
    pnph_put_u32(&b, 0);
    pnph_put_wstr(&b, empty_inside, ARRAYSIZE(empty_inside));
    assert_int_equal(pnph_decode(buf, pnph_finish(&b), &m), PNPH_BAD_FIELD);
}

static void event_data_is_checked_against_its_filter_type(void **state)
{
    uint8_t d[64];
    memset(d, 0, sizeof(d));
    d[0] = 1; /* DEVICEHANDLE */
    pnph_st32(d + 24, 0xffffffffu);
    pnph_st32(d + 28, 8);
    assert_int_equal(pnph_check_event_data(d, 40), PNPH_OK);
    assert_int_equal(pnph_check_event_data(d, 39), PNPH_BAD_LENGTH); /* DataSize past the end */
    pnph_st32(d + 24, 9);
    assert_int_equal(pnph_check_event_data(d, 40), PNPH_BAD_FIELD); /* NameOffset outside the data */
    pnph_st32(d + 24, 0);
    pnph_st32(d + 28, 0);
    assert_int_equal(pnph_check_event_data(d, 36), PNPH_OK); /* a removal event: zeroes */
    memset(d, 'x', sizeof(d));
    pnph_st32(d, 0); /* DEVICEINTERFACE with no NUL in its link */
    assert_int_equal(pnph_check_event_data(d, 40), PNPH_BAD_FIELD);
    pnph_st32(d, 3);
    assert_int_equal(pnph_check_event_data(d, 40), PNPH_BAD_FIELD);
}

static size_t device_event_message(int32_t name_offset, const void *data, uint32_t len)
{
    pnph_builder b;
    pnph_begin(&b, buf, sizeof(buf), PNPH_DEVICE_EVENT, 7);
    pnph_put_u32(&b, 2);
    pnph_put_u32(&b, (uint32_t)name_offset);
    pnph_put_bytes(&b, &PKHOST_CUSTOM_EVENT_GUID, sizeof(GUID));
    pnph_put_u32(&b, len);
    pnph_put_bytes(&b, data, len);
    return pnph_finish(&b);
}

static void device_event_decodes_and_its_name_offset_and_size_are_checked(void **state)
{
    static const uint8_t named[] = { 1, 2, 'n', 0, 'm', 0, 0, 0 };
    pnph_msg m;
    size_t n = device_event_message(-1, "\x01\x02\x03", 3);
    assert_int_equal(pnph_decode(buf, n, &m), PNPH_OK);
    assert_int_equal(m.u.devevent.devinst, 2);
    assert_int_equal(m.u.devevent.name_offset, -1);
    assert_memory_equal(m.u.devevent.event_guid, &PKHOST_CUSTOM_EVENT_GUID, 16);
    assert_int_equal(m.u.devevent.data_len, 3);
    assert_memory_equal(m.u.devevent.data, "\x01\x02\x03", 3);
    /* A name: at an even offset, NUL-terminated inside the data. */
    assert_int_equal(pnph_decode(buf, device_event_message(2, named, sizeof(named)), &m), PNPH_OK);
    assert_int_equal(pnph_decode(buf, device_event_message(3, named, sizeof(named)), &m), PNPH_BAD_FIELD);
    assert_int_equal(pnph_decode(buf, device_event_message(8, named, sizeof(named)), &m), PNPH_BAD_FIELD);
    assert_int_equal(pnph_decode(buf, device_event_message(-2, named, sizeof(named)), &m), PNPH_BAD_FIELD);
    assert_int_equal(pnph_decode(buf, device_event_message(2, named, 6), &m), PNPH_BAD_FIELD); /* no NUL */
    /* Data beyond PNPH_MAX_EVENT_DATA, and a length the payload does not hold. */
    n = device_event_message(-1, NULL, 0);
    pnph_st32(buf + PNPH_HEADER_SIZE + 24, PNPH_MAX_EVENT_DATA + 1);
    assert_int_equal(pnph_decode(buf, n, &m), PNPH_BAD_FIELD);
    pnph_st32(buf + PNPH_HEADER_SIZE + 24, 1);
    assert_int_equal(pnph_decode(buf, n, &m), PNPH_BAD_LENGTH);
    /* The reply, and the new DEVNODE operation (an operation past it is still refused). */
    pnph_builder b;
    pnph_begin(&b, buf, sizeof(buf), PNPH_DEVICE_EVENT | PNPH_REPLY, 7);
    pnph_put_u32(&b, CR_INVALID_DATA);
    pnph_put_u32(&b, (uint32_t)STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(pnph_decode(buf, pnph_finish(&b), &m), PNPH_OK);
    assert_int_equal(m.u.devevent_reply.cr, CR_INVALID_DATA);
    for (uint32_t op = PNPH_DN_SURPRISE_REMOVE; op <= PNPH_DN_SURPRISE_REMOVE + 1; op++) {
        pnph_begin(&b, buf, sizeof(buf), PNPH_DEVNODE, 8);
        pnph_put_u32(&b, op);
        pnph_put_u32(&b, 2);
        pnph_put_u32(&b, 0);
        pnph_put_u32(&b, 0);
        assert_int_equal(pnph_decode(buf, pnph_finish(&b), &m), op == PNPH_DN_SURPRISE_REMOVE ? PNPH_OK : PNPH_BAD_FIELD);
    }
}

static void handles_reply_records_are_checked_and_iterated(void **state)
{
    pnph_builder b;
    pnph_msg m;
    pnph_handle_info info;
    const uint8_t *p;
    size_t left, n;

    pnph_begin(&b, buf, sizeof(buf), PNPH_HANDLES | PNPH_REPLY, 3);
    pnph_put_u32(&b, 2);
    pnph_put_u32(&b, 5); /* omitted */
    for (uint32_t i = 0; i < 2; i++) {
        pnph_put_u32(&b, 100 + i); /* pid */
        pnph_put_u32(&b, 0);
        pnph_put_u64(&b, 0x100000001ull + i);
        pnph_put_u32(&b, PNPH_HANDLE_READ | PNPH_HANDLE_WRITE);
        pnph_put_u32(&b, 1);
        pnph_put_u64(&b, 1000 + i);
        pnph_put_u64(&b, 8000);
        pnph_put_u64(&b, 8000);
        pnph_put_wstr(&b, u"\\\\?\\X#{6d1f3a20-4b7c-4e55-8a10-314253647586}", 44);
    }
    n = pnph_finish(&b);
    assert_int_equal(pnph_decode(buf, n, &m), PNPH_OK);
    assert_int_equal(m.u.handles_reply.count, 2);
    assert_int_equal(m.u.handles_reply.omitted, 5);
    p = m.u.handles_reply.records;
    left = m.u.handles_reply.records_len;
    assert_true(pnph_next_handle(&p, &left, &info));
    assert_int_equal(info.pid, 100);
    assert_true(info.requests == 1000);
    assert_int_equal(info.name.chars, 44);
    assert_true(pnph_next_handle(&p, &left, &info));
    assert_true(info.handle == 0x100000002ull);
    assert_false(pnph_next_handle(&p, &left, &info));
    /* One record more announced than sent; an unknown access bit; trailing bytes. */
    pnph_st32(buf + PNPH_HEADER_SIZE, 3);
    assert_int_equal(pnph_decode(buf, n, &m), PNPH_BAD_LENGTH);
    pnph_st32(buf + PNPH_HEADER_SIZE, 2);
    pnph_st32(buf + PNPH_HEADER_SIZE + 8 + 16, 4);
    assert_int_equal(pnph_decode(buf, n, &m), PNPH_BAD_FIELD);
    pnph_st32(buf + PNPH_HEADER_SIZE, 1);
    pnph_st32(buf + PNPH_HEADER_SIZE + 8 + 16, 1);
    assert_int_equal(pnph_decode(buf, n, &m), PNPH_BAD_LENGTH);
    /* The request has no payload. */
    pnph_begin(&b, buf, sizeof(buf), PNPH_HANDLES, 3);
    assert_int_equal(pnph_decode(buf, pnph_finish(&b), &m), PNPH_OK);
    pnph_begin(&b, buf, sizeof(buf), PNPH_HANDLES, 3);
    pnph_put_u32(&b, 0);
    assert_int_equal(pnph_decode(buf, pnph_finish(&b), &m), PNPH_BAD_LENGTH);
}

static size_t list_message(const GUID *g, uint32_t flags)
{
    pnph_builder b;
    pnph_begin(&b, buf, sizeof(buf), PNPH_LIST_INTERFACES, 4);
    pnph_put_bytes(&b, g, sizeof(GUID));
    pnph_put_u32(&b, flags);
    pnph_put_u32(&b, 0);
    return pnph_finish(&b);
}

static void list_flags_are_all_devices_or_all_classes_with_a_zero_class(void **state)
{
    static const GUID zero;
    pnph_msg m;
    assert_int_equal(pnph_decode(buf, list_message(&PKHOST_ECHO_GUID, 0), &m), PNPH_OK);
    assert_int_equal(pnph_decode(buf, list_message(&PKHOST_ECHO_GUID, PNPH_LIST_ALL_DEVICES), &m), PNPH_OK);
    assert_int_equal(pnph_decode(buf, list_message(&zero, PNPH_LIST_ALL_CLASSES), &m), PNPH_OK);
    assert_int_equal(pnph_decode(buf, list_message(&PKHOST_ECHO_GUID, PNPH_LIST_ALL_CLASSES), &m), PNPH_BAD_FIELD);
    assert_int_equal(pnph_decode(buf, list_message(&zero, PNPH_LIST_ALL_CLASSES | PNPH_LIST_ALL_DEVICES), &m),
                     PNPH_BAD_FIELD);
    assert_int_equal(pnph_decode(buf, list_message(&PKHOST_ECHO_GUID, 2), &m), PNPH_BAD_FIELD);
}

static void link_class_is_read_from_either_prefix_and_any_case(void **state)
{
    GUID g;
    assert_true(pnph_link_class(u"\\\\?\\SWD#PKHOST#dev1#{6d1f3a20-4b7c-4e55-8a10-314253647586}\\ref", &g));
    assert_true(IsEqualGUID(&g, &PKHOST_ECHO_GUID));
    assert_true(pnph_link_class(u"\\??\\SWD#PKHOST#dev1#{6D1F3A21-4B7C-4E55-8A10-314253647586}", &g));
    assert_true(IsEqualGUID(&g, &PKHOST_SECURE_GUID));
    assert_false(pnph_link_class(u"\\\\?\\SWD#PKHOST#dev1{6d1f3a20-4b7c-4e55-8a10-314253647586}", &g));
    assert_false(pnph_link_class(u"C:\\file", &g));
    assert_false(pnph_link_class(u"", &g));
}

static void status_mapping_follows_windows(void **state)
{
    assert_int_equal(pnph_win32_from_status(STATUS_SUCCESS), ERROR_SUCCESS);
    assert_int_equal(pnph_win32_from_status(STATUS_CANCELLED), ERROR_OPERATION_ABORTED);
    assert_int_equal(pnph_win32_from_status(STATUS_OBJECT_NAME_NOT_FOUND), ERROR_FILE_NOT_FOUND);
    assert_int_equal(pnph_win32_from_status(STATUS_ACCESS_DENIED), ERROR_ACCESS_DENIED);
    assert_int_equal(pnph_win32_from_status(STATUS_INVALID_DEVICE_REQUEST), ERROR_INVALID_FUNCTION);
    assert_int_equal(pnph_win32_from_status(STATUS_BUFFER_OVERFLOW), ERROR_MORE_DATA);
    assert_int_equal(pnph_win32_from_status(STATUS_DEVICE_NOT_CONNECTED), ERROR_DEVICE_NOT_CONNECTED);
    assert_int_equal(pnph_win32_from_status(STATUS_INVALID_HANDLE), ERROR_INVALID_HANDLE);
    assert_int_equal(pnph_win32_from_status((NTSTATUS)0xC0FFEE01), ERROR_GEN_FAILURE);
}

static void builder_reports_overflow_instead_of_writing_past_its_buffer(void **state)
{
    uint8_t small[PNPH_HEADER_SIZE + 4];
    pnph_builder b;
    pnph_begin(&b, small, sizeof(small), PNPH_CLOSE, 1);
    pnph_put_u64(&b, 1);
    assert_int_equal(pnph_finish(&b), 0);
}

PK_TEST_MAIN(PK_TEST(header_is_little_endian_with_magic_version_type_length_and_id),
             PK_TEST(ioctl_request_decodes_to_its_fields),
             PK_TEST(decoder_refuses_trailing_bytes_and_short_payloads),
             PK_TEST(oversized_lengths_are_refused_from_the_header_alone),
             PK_TEST(bad_magic_version_and_type_are_refused),
             PK_TEST(interface_list_reply_must_be_a_multi_string),
             PK_TEST(event_data_is_checked_against_its_filter_type),
             PK_TEST(device_event_decodes_and_its_name_offset_and_size_are_checked),
             PK_TEST(handles_reply_records_are_checked_and_iterated),
             PK_TEST(list_flags_are_all_devices_or_all_classes_with_a_zero_class),
             PK_TEST(link_class_is_read_from_either_prefix_and_any_case),
             PK_TEST(status_mapping_follows_windows),
             PK_TEST(builder_reports_overflow_instead_of_writing_past_its_buffer))
