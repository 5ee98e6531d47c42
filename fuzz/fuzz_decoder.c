/*
 * fuzz_decoder.c — the fuzz target of pnphost's message decoder (src/host/proto/pnph_proto.c).
 *
 * Every byte string is a candidate message: the header check, the decoder and the event-data
 * check must return a result without reading outside the input (AddressSanitizer watches), and
 * whatever the decoder accepts must describe only bytes inside the input. Built two ways:
 *   - with clang and -fsanitize=fuzzer as a libFuzzer target (target fuzz_decoder);
 *   - with any compiler, linked with fuzz_main.c, as the plain driver that CTest runs for a few
 *     seconds on every test run (target fuzz_decoder_driver).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host/proto/pnph_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint32_t sink;

/* Reads every byte a decoded field claims, so that a field pointing outside the input is seen. */
static void touch(const uint8_t *p, size_t n, const uint8_t *base, size_t size)
{
    if (!n)
        return;
    if (!p || p < base || p + n > base + size)
        abort(); /* the decoder described bytes that are not in the message */
    for (size_t i = 0; i < n; i++)
        sink += p[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pnph_header h;
    pnph_msg m;

    (void)pnph_header_check(data, size, &h);
    (void)pnph_check_event_data(size ? data : NULL, (uint32_t)(size > UINT32_MAX ? UINT32_MAX : size));
    if (pnph_decode(data, size, &m) == PNPH_OK) {
        switch (m.hdr.type) {
        case PNPH_LIST_INTERFACES: touch(m.u.list.device_id.bytes, m.u.list.device_id.chars * 2u, data, size); break;
        case PNPH_LIST_INTERFACES | PNPH_REPLY:
            touch(m.u.list_reply.list.bytes, m.u.list_reply.list.chars * 2u, data, size);
            break;
        case PNPH_LOCATE_DEVNODE: touch(m.u.locate.device_id.bytes, m.u.locate.device_id.chars * 2u, data, size); break;
        case PNPH_DEVNODE | PNPH_REPLY:
            touch(m.u.devnode_reply.text.bytes, m.u.devnode_reply.text.chars * 2u, data, size);
            break;
        case PNPH_CREATE: {
            touch(m.u.create.name.bytes, m.u.create.name.chars * 2u, data, size);
            WCHAR name[PNPH_MAX_NAME_CHARS + 1];
            GUID g;
            if (pnph_wstr_copy(name, PNPH_MAX_NAME_CHARS + 1, m.u.create.name))
                (void)pnph_link_class(name, &g);
            break;
        }
        case PNPH_IOCTL: touch(m.u.ioctl.in, m.u.ioctl.in_len, data, size); break;
        case PNPH_WRITE: touch(m.u.rw.data, m.u.rw.length, data, size); break;
        case PNPH_IOCTL | PNPH_REPLY:
        case PNPH_READ | PNPH_REPLY:
        case PNPH_WRITE | PNPH_REPLY: touch(m.u.io_reply.data, m.u.io_reply.data_len, data, size); break;
        case PNPH_REGISTER: touch(m.u.reg.instance_id.bytes, m.u.reg.instance_id.chars * 2u, data, size); break;
        case PNPH_REGISTER | PNPH_REPLY:
            touch(m.u.reg_reply.links.bytes, m.u.reg_reply.links.chars * 2u, data, size);
            break;
        case PNPH_EVENT: touch(m.u.event.data, m.u.event.data_size, data, size); break;
        case PNPH_HANDLES | PNPH_REPLY: {
            const uint8_t *p = m.u.handles_reply.records;
            size_t left = m.u.handles_reply.records_len;
            pnph_handle_info info;
            uint32_t n = 0;
            touch(p, left, data, size);
            while (pnph_next_handle(&p, &left, &info)) {
                touch(info.name.bytes, info.name.chars * 2u, data, size);
                n++;
            }
            if (n != m.u.handles_reply.count || left != 0)
                abort(); /* the decoder accepted records the iterator cannot read */
            break;
        }
        case PNPH_DEVICE_EVENT:
            touch(m.u.devevent.data, m.u.devevent.data_len, data, size);
            if (m.u.devevent.data_len > PNPH_MAX_EVENT_DATA ||
                (m.u.devevent.name_offset != -1 && (uint32_t)m.u.devevent.name_offset >= m.u.devevent.data_len))
                abort(); /* the decoder let a field out of its range through */
            break;
        default: break;
        }
    }
    return 0;
}
