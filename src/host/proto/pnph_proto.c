/*
 * pnph_proto.c — encoding and validating pnphost messages (see pnph_proto.h and
 * docs/protocol.md). Pure functions: no allocation, no locks, no global state.
 *
 * The decoder reads every field through a bounds-checked cursor; a message is accepted only if
 * its fields consume the payload exactly. Each case below mirrors one table of
 * docs/protocol.md: change both together.
 */
#include "host/proto/pnph_proto.h"

#include <string.h>

#include <pnpkit/ntstatus.h>
#include <pnpkit/winerror.h>

/* ---- Cursor over a payload ---- */

typedef struct cursor {
    const uint8_t *p;
    size_t left;
    bool bad;
} cursor;

static uint32_t get32(cursor *c)
{
    if (c->left < 4) {
        c->bad = true;
        c->left = 0;
        return 0;
    }
    uint32_t v = pnph_le32(c->p);
    c->p += 4;
    c->left -= 4;
    return v;
}

static uint64_t get64(cursor *c)
{
    uint64_t lo = get32(c);
    uint64_t hi = get32(c);
    return lo | hi << 32;
}

static const uint8_t *get_bytes(cursor *c, size_t n)
{
    const uint8_t *p = c->p;
    if (c->left < n) {
        c->bad = true;
        c->left = 0;
        return NULL;
    }
    c->p += n;
    c->left -= n;
    return p;
}

/* A string field: u32 count, then count UTF-16 code units; count at most max. */
static pnph_wstr get_wstr(cursor *c, uint32_t max)
{
    pnph_wstr s = { NULL, 0 };
    uint32_t n = get32(c);
    if (n > max) {
        c->bad = true;
        return s;
    }
    s.bytes = get_bytes(c, (size_t)n * 2u);
    s.chars = s.bytes ? n : 0;
    return s;
}

static uint16_t wchar_at(const uint8_t *p, size_t i) { return (uint16_t)(p[2 * i] | p[2 * i + 1] << 8); }

/* A multi-string: either empty (0 units, only with a failure code) or a sequence of non-empty
 * NUL-terminated strings followed by one more NUL; the empty list is a single NUL. */
static bool multi_sz_ok(pnph_wstr s, bool allow_absent)
{
    if (s.chars == 0)
        return allow_absent;
    if (wchar_at(s.bytes, s.chars - 1) != 0)
        return false;
    if (s.chars == 1)
        return true;
    if (wchar_at(s.bytes, s.chars - 2) != 0 || wchar_at(s.bytes, 0) == 0)
        return false;
    for (size_t i = 1; i + 2 < s.chars; i++)
        if (wchar_at(s.bytes, i) == 0 && wchar_at(s.bytes, i + 1) == 0)
            return false;
    return true;
}

/* True if a NUL code unit occurs among the `chars` units at p. */
static bool has_nul(const uint8_t *p, size_t chars)
{
    for (size_t i = 0; i < chars; i++)
        if (wchar_at(p, i) == 0)
            return true;
    return false;
}

/* ---- Header ---- */

int pnph_header_check(const uint8_t *buf, size_t len, pnph_header *hdr)
{
    if (len < PNPH_HEADER_SIZE)
        return PNPH_NEED_MORE;
    hdr->magic = pnph_le32(buf);
    hdr->version = (uint16_t)(buf[4] | buf[5] << 8);
    hdr->type = (uint16_t)(buf[6] | buf[7] << 8);
    hdr->length = pnph_le32(buf + 8);
    hdr->request_id = pnph_le32(buf + 12);
    if (hdr->magic != PNPH_MAGIC)
        return PNPH_BAD_MAGIC;
    if (hdr->length > PNPH_MAX_PAYLOAD)
        return PNPH_TOO_LARGE;
    if (hdr->version != PNPH_VERSION)
        return PNPH_BAD_VERSION;
    return PNPH_OK;
}

/* ---- Event data (CM_NOTIFY_EVENT_DATA, LP64) ---- */

int pnph_check_event_data(const uint8_t *data, uint32_t size)
{
    uint32_t type;

    if (!data || size < 8u || size > PNPH_MAX_PAYLOAD)
        return PNPH_BAD_LENGTH;
    type = pnph_le32(data);
    switch (type) {
    case 0: /* DEVICEINTERFACE: ClassGuid at 8, SymbolicLink at 24 */
        if (size < 26u || (size - 24u) % 2u)
            return PNPH_BAD_LENGTH;
        return has_nul(data + 24, (size - 24u) / 2u) ? PNPH_OK : PNPH_BAD_FIELD;
    case 1: { /* DEVICEHANDLE: EventGuid at 8, NameOffset at 24, DataSize at 28, Data at 32 */
        if (size < 32u)
            return PNPH_BAD_LENGTH;
        int32_t name_offset = (int32_t)pnph_le32(data + 24);
        uint32_t data_size = pnph_le32(data + 28);
        if (data_size > size - 32u)
            return PNPH_BAD_LENGTH;
        /* -1, or inside the data; removal events carry zeroes here. */
        if (name_offset != -1 && (name_offset < 0 || (uint32_t)name_offset > data_size))
            return PNPH_BAD_FIELD;
        return PNPH_OK;
    }
    case 2: /* DEVICEINSTANCE: InstanceId at 8 */
        if (size < 10u || (size - 8u) % 2u)
            return PNPH_BAD_LENGTH;
        return has_nul(data + 8, (size - 8u) / 2u) ? PNPH_OK : PNPH_BAD_FIELD;
    default:
        return PNPH_BAD_FIELD;
    }
}

/* ---- Messages ---- */

int pnph_decode(const uint8_t *buf, size_t len, pnph_msg *msg)
{
    int r = pnph_header_check(buf, len, &msg->hdr);
    cursor c;

    if (r != PNPH_OK)
        return r == PNPH_NEED_MORE ? PNPH_BAD_LENGTH : r;
    if (len != PNPH_HEADER_SIZE + (size_t)msg->hdr.length)
        return PNPH_BAD_LENGTH;
    c.p = buf + PNPH_HEADER_SIZE;
    c.left = msg->hdr.length;
    c.bad = false;

    switch (msg->hdr.type) {
    case PNPH_HELLO:
        msg->u.hello.flags = get32(&c);
        if (get32(&c) != 0 || (msg->u.hello.flags & ~PNPH_HELLO_ATTACH))
            return PNPH_BAD_FIELD;
        msg->u.hello.session_id = get64(&c);
        msg->u.hello.session_key = get64(&c);
        break;
    case PNPH_HELLO | PNPH_REPLY:
        msg->u.hello_reply.status = get32(&c);
        msg->u.hello_reply.max_payload = get32(&c);
        msg->u.hello_reply.session_id = get64(&c);
        msg->u.hello_reply.session_key = get64(&c);
        break;
    case PNPH_LIST_INTERFACES: {
        const uint8_t *g = get_bytes(&c, 16);
        if (g)
            memcpy(msg->u.list.class_guid, g, 16);
        msg->u.list.flags = get32(&c);
        msg->u.list.device_id = get_wstr(&c, PNPH_MAX_ID_CHARS);
        if (msg->u.list.flags & ~(PNPH_LIST_ALL_DEVICES | PNPH_LIST_ALL_CLASSES))
            return PNPH_BAD_FIELD;
        if (msg->u.list.flags & PNPH_LIST_ALL_CLASSES) {
            static const uint8_t zero[16];
            if ((msg->u.list.flags & PNPH_LIST_ALL_DEVICES) || memcmp(msg->u.list.class_guid, zero, 16) != 0)
                return PNPH_BAD_FIELD;
        }
        break;
    }
    case PNPH_LIST_INTERFACES | PNPH_REPLY:
        msg->u.list_reply.cr = get32(&c);
        msg->u.list_reply.list = get_wstr(&c, PNPH_MAX_LIST_CHARS);
        if (!c.bad && !multi_sz_ok(msg->u.list_reply.list, msg->u.list_reply.cr != 0))
            return PNPH_BAD_FIELD;
        if (!c.bad && msg->u.list_reply.cr != 0 && msg->u.list_reply.list.chars != 0)
            return PNPH_BAD_FIELD;
        break;
    case PNPH_LOCATE_DEVNODE:
        msg->u.locate.flags = get32(&c);
        msg->u.locate.device_id = get_wstr(&c, PNPH_MAX_ID_CHARS);
        break;
    case PNPH_LOCATE_DEVNODE | PNPH_REPLY:
        msg->u.locate_reply.cr = get32(&c);
        msg->u.locate_reply.devinst = get32(&c);
        break;
    case PNPH_DEVNODE:
        msg->u.devnode.op = get32(&c);
        msg->u.devnode.devinst = get32(&c);
        msg->u.devnode.flags = get32(&c);
        msg->u.devnode.arg = get32(&c);
        if (msg->u.devnode.op < PNPH_DN_GET_ID || msg->u.devnode.op > PNPH_DN_SURPRISE_REMOVE)
            return PNPH_BAD_FIELD;
        break;
    case PNPH_DEVNODE | PNPH_REPLY:
        msg->u.devnode_reply.cr = get32(&c);
        msg->u.devnode_reply.value1 = get32(&c);
        msg->u.devnode_reply.value2 = get32(&c);
        msg->u.devnode_reply.text = get_wstr(&c, PNPH_MAX_NAME_CHARS);
        break;
    case PNPH_DEVICE_EVENT: {
        msg->u.devevent.devinst = get32(&c);
        msg->u.devevent.name_offset = (int32_t)get32(&c);
        const uint8_t *g = get_bytes(&c, 16);
        if (g)
            memcpy(msg->u.devevent.event_guid, g, 16);
        msg->u.devevent.data_len = get32(&c);
        if (msg->u.devevent.data_len > PNPH_MAX_EVENT_DATA)
            return PNPH_BAD_FIELD;
        msg->u.devevent.data = get_bytes(&c, msg->u.devevent.data_len);
        if (c.bad)
            break;
        /* -1 (no text), or the offset of a NUL-terminated UTF-16 name inside the data. */
        if (msg->u.devevent.name_offset != -1) {
            uint32_t off = (uint32_t)msg->u.devevent.name_offset;
            if (msg->u.devevent.name_offset < 0 || off >= msg->u.devevent.data_len || off % 2u ||
                (msg->u.devevent.data_len - off) % 2u ||
                !has_nul(msg->u.devevent.data + off, (msg->u.devevent.data_len - off) / 2u))
                return PNPH_BAD_FIELD;
        }
        break;
    }
    case PNPH_DEVICE_EVENT | PNPH_REPLY:
        msg->u.devevent_reply.cr = get32(&c);
        msg->u.devevent_reply.status = get32(&c);
        break;
    case PNPH_CREATE:
        msg->u.create.access = get32(&c);
        msg->u.create.share = get32(&c);
        msg->u.create.disposition = get32(&c);
        msg->u.create.flags = get32(&c);
        msg->u.create.name = get_wstr(&c, PNPH_MAX_NAME_CHARS);
        if (!c.bad && msg->u.create.name.chars == 0)
            return PNPH_BAD_FIELD;
        break;
    case PNPH_CREATE | PNPH_REPLY:
        msg->u.create_reply.status = get32(&c);
        get32(&c);
        msg->u.create_reply.handle = get64(&c);
        break;
    case PNPH_CLOSE:
        msg->u.close.handle = get64(&c);
        break;
    case PNPH_CLOSE | PNPH_REPLY:
    case PNPH_CANCEL | PNPH_REPLY:
    case PNPH_UNREGISTER | PNPH_REPLY:
        msg->u.status_reply.status = get32(&c);
        break;
    case PNPH_IOCTL:
        msg->u.ioctl.handle = get64(&c);
        msg->u.ioctl.code = get32(&c);
        msg->u.ioctl.in_len = get32(&c);
        msg->u.ioctl.out_len = get32(&c);
        get32(&c);
        if (msg->u.ioctl.in_len > PNPH_MAX_IO || msg->u.ioctl.out_len > PNPH_MAX_IO)
            return PNPH_BAD_FIELD;
        msg->u.ioctl.in = get_bytes(&c, msg->u.ioctl.in_len);
        break;
    case PNPH_READ:
    case PNPH_WRITE:
        msg->u.rw.handle = get64(&c);
        msg->u.rw.offset = get64(&c);
        msg->u.rw.length = get32(&c);
        msg->u.rw.flags = get32(&c);
        if (msg->u.rw.length > PNPH_MAX_IO || (msg->u.rw.flags & ~PNPH_RW_OFFSET))
            return PNPH_BAD_FIELD;
        msg->u.rw.data = msg->hdr.type == PNPH_WRITE ? get_bytes(&c, msg->u.rw.length) : NULL;
        break;
    case PNPH_IOCTL | PNPH_REPLY:
    case PNPH_READ | PNPH_REPLY:
    case PNPH_WRITE | PNPH_REPLY:
        msg->u.io_reply.status = get32(&c);
        msg->u.io_reply.information = get32(&c);
        msg->u.io_reply.data_len = get32(&c);
        get32(&c);
        if (msg->u.io_reply.data_len > PNPH_MAX_IO)
            return PNPH_BAD_FIELD;
        msg->u.io_reply.data = get_bytes(&c, msg->u.io_reply.data_len);
        break;
    case PNPH_CANCEL:
        msg->u.cancel.handle = get64(&c);
        msg->u.cancel.target_request_id = get32(&c);
        get32(&c);
        break;
    case PNPH_REGISTER: {
        msg->u.reg.filter_type = get32(&c);
        msg->u.reg.flags = get32(&c);
        msg->u.reg.reg_id = get64(&c);
        const uint8_t *g = get_bytes(&c, 16);
        if (g)
            memcpy(msg->u.reg.class_guid, g, 16);
        msg->u.reg.handle = get64(&c);
        msg->u.reg.instance_id = get_wstr(&c, PNPH_MAX_ID_CHARS);
        if (msg->u.reg.filter_type > 2u || msg->u.reg.flags > 3u)
            return PNPH_BAD_FIELD;
        break;
    }
    case PNPH_REGISTER | PNPH_REPLY:
        msg->u.reg_reply.cr = get32(&c);
        get32(&c);
        msg->u.reg_reply.reg_id = get64(&c);
        msg->u.reg_reply.links = get_wstr(&c, PNPH_MAX_LIST_CHARS);
        if (!c.bad && !multi_sz_ok(msg->u.reg_reply.links, true))
            return PNPH_BAD_FIELD;
        break;
    case PNPH_UNREGISTER:
        msg->u.unreg.reg_id = get64(&c);
        break;
    case PNPH_EVENT_ANSWER:
        msg->u.answer.event_id = get32(&c);
        msg->u.answer.result = get32(&c);
        break;
    case PNPH_STATS:
        break;
    case PNPH_STATS | PNPH_REPLY: {
        uint32_t n = get32(&c);
        if (n > 32u)
            return PNPH_BAD_FIELD;
        memset(msg->u.stats_reply.values, 0, sizeof(msg->u.stats_reply.values));
        msg->u.stats_reply.count = n < PNPH_STAT_COUNT ? n : PNPH_STAT_COUNT;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t v = get32(&c);
            if (i < PNPH_STAT_COUNT)
                msg->u.stats_reply.values[i] = v;
        }
        break;
    }
    case PNPH_HANDLES:
        break;
    case PNPH_HANDLES | PNPH_REPLY: {
        /* count, omitted, then count records of 48 fixed bytes and a name (1..1,024 units). */
        msg->u.handles_reply.count = get32(&c);
        msg->u.handles_reply.omitted = get32(&c);
        msg->u.handles_reply.records = c.p;
        for (uint32_t i = 0; i < msg->u.handles_reply.count && !c.bad; i++) {
            get_bytes(&c, 16);
            uint32_t access = get32(&c);
            get_bytes(&c, 28);
            pnph_wstr name = get_wstr(&c, PNPH_MAX_NAME_CHARS);
            if (!c.bad && ((access & ~(PNPH_HANDLE_READ | PNPH_HANDLE_WRITE)) || name.chars == 0))
                return PNPH_BAD_FIELD;
        }
        msg->u.handles_reply.records_len = (size_t)(c.p - msg->u.handles_reply.records);
        break;
    }
    case PNPH_EVENT:
        msg->u.event.reg_id = get64(&c);
        msg->u.event.event_id = get32(&c);
        msg->u.event.action = get32(&c);
        msg->u.event.data_size = get32(&c);
        get32(&c);
        if (msg->u.event.action > 9u || msg->u.event.data_size > PNPH_MAX_PAYLOAD)
            return PNPH_BAD_FIELD;
        msg->u.event.data = get_bytes(&c, msg->u.event.data_size);
        if (!c.bad && pnph_check_event_data(msg->u.event.data, msg->u.event.data_size) != PNPH_OK)
            return PNPH_BAD_FIELD;
        break;
    default:
        return PNPH_BAD_TYPE;
    }
    if (c.bad || c.left != 0)
        return PNPH_BAD_LENGTH;
    return PNPH_OK;
}

const char *pnph_result_text(int result)
{
    switch (result) {
    case PNPH_OK: return "ok";
    case PNPH_NEED_MORE: return "incomplete message";
    case PNPH_BAD_MAGIC: return "bad magic";
    case PNPH_BAD_VERSION: return "unsupported protocol version";
    case PNPH_TOO_LARGE: return "message too large";
    case PNPH_BAD_TYPE: return "unknown message type";
    case PNPH_BAD_LENGTH: return "payload length does not match its fields";
    case PNPH_BAD_FIELD: return "field out of range";
    default: return "unknown error";
    }
}

bool pnph_next_handle(const uint8_t **p, size_t *left, pnph_handle_info *out)
{
    cursor c = { *p, *left, false };

    if (*left == 0)
        return false;
    out->pid = get32(&c);
    out->uid = get32(&c);
    out->handle = get64(&c);
    out->access = get32(&c);
    out->in_flight = get32(&c);
    out->requests = get64(&c);
    out->bytes_in = get64(&c);
    out->bytes_out = get64(&c);
    out->name = get_wstr(&c, PNPH_MAX_NAME_CHARS);
    if (c.bad)
        return false;
    *p = c.p;
    *left = c.left;
    return true;
}

bool pnph_wstr_copy(WCHAR *dst, size_t dst_chars, pnph_wstr s)
{
    if (!dst_chars)
        return false;
    if ((size_t)s.chars >= dst_chars) {
        dst[0] = 0;
        return false;
    }
    for (uint32_t i = 0; i < s.chars; i++)
        dst[i] = (WCHAR)wchar_at(s.bytes, i);
    dst[s.chars] = 0;
    return true;
}

/* ---- Builder ---- */

void pnph_begin(pnph_builder *b, void *buf, size_t cap, uint16_t type, uint32_t request_id)
{
    b->buf = buf;
    b->cap = cap;
    b->len = 0;
    b->overflow = cap < PNPH_HEADER_SIZE;
    if (b->overflow)
        return;
    pnph_st32(b->buf, PNPH_MAGIC);
    b->buf[4] = (uint8_t)PNPH_VERSION;
    b->buf[5] = (uint8_t)(PNPH_VERSION >> 8);
    b->buf[6] = (uint8_t)type;
    b->buf[7] = (uint8_t)(type >> 8);
    pnph_st32(b->buf + 8, 0);
    pnph_st32(b->buf + 12, request_id);
    b->len = PNPH_HEADER_SIZE;
}

uint8_t *pnph_reserve(pnph_builder *b, size_t n)
{
    if (b->overflow || n > b->cap - b->len || b->len + n - PNPH_HEADER_SIZE > PNPH_MAX_PAYLOAD) {
        b->overflow = true;
        return NULL;
    }
    uint8_t *p = b->buf + b->len;
    b->len += n;
    return p;
}

void pnph_put_u32(pnph_builder *b, uint32_t v)
{
    uint8_t *p = pnph_reserve(b, 4);
    if (p)
        pnph_st32(p, v);
}

void pnph_put_u64(pnph_builder *b, uint64_t v)
{
    pnph_put_u32(b, (uint32_t)v);
    pnph_put_u32(b, (uint32_t)(v >> 32));
}

void pnph_put_bytes(pnph_builder *b, const void *p, size_t n)
{
    uint8_t *d = pnph_reserve(b, n);
    if (d && n)
        memcpy(d, p, n);
}

void pnph_put_wchars(pnph_builder *b, const WCHAR *s, size_t chars)
{
    uint8_t *d = pnph_reserve(b, chars * 2u);
    if (!d)
        return;
    for (size_t i = 0; i < chars; i++) {
        d[2 * i] = (uint8_t)s[i];
        d[2 * i + 1] = (uint8_t)(s[i] >> 8);
    }
}

void pnph_put_wstr(pnph_builder *b, const WCHAR *s, size_t chars)
{
    pnph_put_u32(b, (uint32_t)chars);
    pnph_put_wchars(b, s, chars);
}

size_t pnph_finish(pnph_builder *b)
{
    if (b->overflow)
        return 0;
    pnph_st32(b->buf + 8, (uint32_t)(b->len - PNPH_HEADER_SIZE));
    return b->len;
}

/* ---- Links ---- */

static int hex_value(WCHAR c)
{
    if (c >= u'0' && c <= u'9')
        return c - u'0';
    if (c >= u'a' && c <= u'f')
        return c - u'a' + 10;
    if (c >= u'A' && c <= u'F')
        return c - u'A' + 10;
    return -1;
}

/* Parses "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" (38 code units). */
static bool parse_guid(const WCHAR *t, GUID *g)
{
    static const uint8_t dash[] = { 9, 14, 19, 24 };
    uint8_t bytes[16];
    int nb = 0;

    if (t[0] != u'{' || t[37] != u'}')
        return false;
    for (int i = 1; i < 37;) {
        bool is_dash = false;
        for (size_t k = 0; k < sizeof(dash); k++)
            is_dash |= i == dash[k];
        if (is_dash) {
            if (t[i] != u'-')
                return false;
            i++;
            continue;
        }
        int hi = hex_value(t[i]), lo = hex_value(t[i + 1]);
        if (hi < 0 || lo < 0 || nb >= 16)
            return false;
        bytes[nb++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    if (nb != 16)
        return false;
    g->Data1 = (ULONG)bytes[0] << 24 | (ULONG)bytes[1] << 16 | (ULONG)bytes[2] << 8 | bytes[3];
    g->Data2 = (USHORT)(bytes[4] << 8 | bytes[5]);
    g->Data3 = (USHORT)(bytes[6] << 8 | bytes[7]);
    memcpy(g->Data4, bytes + 8, 8);
    return true;
}

bool pnph_link_class(const WCHAR *link, GUID *class_guid)
{
    size_t n = 0, end;

    while (link[n])
        n++;
    if (n < 4 || link[0] != u'\\' || (link[1] != u'\\' && link[1] != u'?') || link[2] != u'?' || link[3] != u'\\')
        return false;
    end = 4;
    while (end < n && link[end] != u'\\')
        end++;
    if (end < 4 + 39 || link[end - 39] != u'#')
        return false;
    return parse_guid(link + end - 38, class_guid);
}

/* ---- Status mapping ---- */

#ifndef ERROR_BAD_LENGTH
#define ERROR_BAD_LENGTH 24L
#endif
#ifndef ERROR_CRC
#define ERROR_CRC 23L
#endif
#ifndef ERROR_NO_MORE_FILES
#define ERROR_NO_MORE_FILES 18L
#endif
#ifndef ERROR_NO_MORE_ITEMS
#define ERROR_NO_MORE_ITEMS 259L
#endif
#ifndef ERROR_NO_SYSTEM_RESOURCES
#define ERROR_NO_SYSTEM_RESOURCES 1450L
#endif
#ifndef ERROR_IO_DEVICE
#define ERROR_IO_DEVICE 1117L
#endif
#ifndef ERROR_REQUEST_ABORTED
#define ERROR_REQUEST_ABORTED 1235L
#endif
#ifndef ERROR_RETRY
#define ERROR_RETRY 1237L
#endif
#ifndef ERROR_BUSY
#define ERROR_BUSY 170L
#endif
#ifndef ERROR_INVALID_USER_BUFFER
#define ERROR_INVALID_USER_BUFFER 1784L
#endif
#ifndef ERROR_SHUTDOWN_IN_PROGRESS
#define ERROR_SHUTDOWN_IN_PROGRESS 1115L
#endif

static const struct {
    NTSTATUS status;
    DWORD error;
} status_map[] = {
    { STATUS_PENDING, ERROR_IO_PENDING },
    { STATUS_BUFFER_OVERFLOW, ERROR_MORE_DATA },
    { STATUS_NO_MORE_FILES, ERROR_NO_MORE_FILES },
    { STATUS_NO_MORE_ENTRIES, ERROR_NO_MORE_ITEMS },
    { STATUS_DEVICE_BUSY, ERROR_BUSY },
    { STATUS_UNSUCCESSFUL, ERROR_GEN_FAILURE },
    { STATUS_NOT_IMPLEMENTED, ERROR_INVALID_FUNCTION },
    { STATUS_INVALID_INFO_CLASS, ERROR_INVALID_PARAMETER },
    { STATUS_INFO_LENGTH_MISMATCH, ERROR_BAD_LENGTH },
    { STATUS_ACCESS_VIOLATION, ERROR_NOACCESS },
    { STATUS_INVALID_HANDLE, ERROR_INVALID_HANDLE },
    { STATUS_INVALID_PARAMETER, ERROR_INVALID_PARAMETER },
    { STATUS_NO_SUCH_DEVICE, ERROR_FILE_NOT_FOUND },
    { STATUS_NO_SUCH_FILE, ERROR_FILE_NOT_FOUND },
    { STATUS_INVALID_DEVICE_REQUEST, ERROR_INVALID_FUNCTION },
    { STATUS_END_OF_FILE, ERROR_HANDLE_EOF },
    { STATUS_NO_MEMORY, ERROR_NOT_ENOUGH_MEMORY },
    { STATUS_ACCESS_DENIED, ERROR_ACCESS_DENIED },
    { STATUS_BUFFER_TOO_SMALL, ERROR_INSUFFICIENT_BUFFER },
    { STATUS_OBJECT_TYPE_MISMATCH, ERROR_INVALID_HANDLE },
    { STATUS_OBJECT_NAME_INVALID, ERROR_INVALID_NAME },
    { STATUS_OBJECT_NAME_NOT_FOUND, ERROR_FILE_NOT_FOUND },
    { STATUS_OBJECT_NAME_COLLISION, ERROR_ALREADY_EXISTS },
    { STATUS_OBJECT_PATH_NOT_FOUND, ERROR_PATH_NOT_FOUND },
    { STATUS_DATA_ERROR, ERROR_CRC },
    { STATUS_SHARING_VIOLATION, ERROR_SHARING_VIOLATION },
    { STATUS_DELETE_PENDING, ERROR_ACCESS_DENIED },
    { STATUS_INSUFFICIENT_RESOURCES, ERROR_NO_SYSTEM_RESOURCES },
    { STATUS_DEVICE_DATA_ERROR, ERROR_CRC },
    { STATUS_DEVICE_NOT_CONNECTED, ERROR_DEVICE_NOT_CONNECTED },
    { STATUS_DEVICE_NOT_READY, ERROR_NOT_READY },
    { STATUS_ILLEGAL_FUNCTION, ERROR_INVALID_FUNCTION },
    { STATUS_PIPE_BROKEN, ERROR_BROKEN_PIPE },
    { STATUS_IO_TIMEOUT, ERROR_SEM_TIMEOUT },
    { STATUS_NOT_SUPPORTED, ERROR_NOT_SUPPORTED },
    { STATUS_DEVICE_DOES_NOT_EXIST, ERROR_DEV_NOT_EXIST },
    { STATUS_INVALID_USER_BUFFER, ERROR_INVALID_USER_BUFFER },
    { STATUS_CANCELLED, ERROR_OPERATION_ABORTED },
    { STATUS_FILE_CLOSED, ERROR_INVALID_HANDLE },
    { STATUS_DEVICE_CONFIGURATION_ERROR, ERROR_INVALID_PARAMETER },
    { STATUS_DRIVER_INTERNAL_ERROR, ERROR_IO_DEVICE },
    { STATUS_INVALID_DEVICE_STATE, ERROR_BAD_COMMAND },
    { STATUS_INVALID_BUFFER_SIZE, ERROR_INVALID_USER_BUFFER },
    { STATUS_NOT_FOUND, ERROR_NOT_FOUND },
    { STATUS_RETRY, ERROR_RETRY },
    { STATUS_REQUEST_ABORTED, ERROR_REQUEST_ABORTED },
    { STATUS_DEVICE_REMOVED, ERROR_DEVICE_REMOVED },
    { STATUS_SHUTDOWN_IN_PROGRESS, ERROR_SHUTDOWN_IN_PROGRESS },
    { STATUS_TIMEOUT, ERROR_TIMEOUT },
};

DWORD pnph_win32_from_status(NTSTATUS status)
{
    for (size_t i = 0; i < sizeof(status_map) / sizeof(status_map[0]); i++)
        if (status_map[i].status == status)
            return status_map[i].error;
    if (NT_SUCCESS(status))
        return ERROR_SUCCESS;
    return ERROR_GEN_FAILURE;
}
