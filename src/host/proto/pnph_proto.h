/*
 * pnph_proto.h — the wire protocol between pnphost and applications (docs/protocol.md is the
 * normative description; this header is its C form).
 *
 * What this file owns: the message header, the message types and their fields, the limits, a
 * builder that encodes messages into a caller's buffer, and pnph_decode, a pure function that
 * validates one complete message and describes its fields without copying. Nothing here
 * allocates, locks, or touches a socket, so the fuzz target (fuzz/fuzz_decoder.c), the host and
 * the client library all use the same code.
 *
 * Byte order is little-endian throughout. Strings are UTF-16LE code units with an explicit
 * count and no terminating NUL, except multi-strings (interface lists), which carry their NULs.
 * Decoded strings point into the message buffer and may be unaligned: copy them with
 * pnph_wstr_copy before use as WCHAR arrays.
 */
#ifndef PNPKIT_HOST_PNPH_PROTO_H
#define PNPKIT_HOST_PNPH_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pnpkit/ntdef.h>

#define PNPH_MAGIC 0x48504e50u /* "PNPH" as bytes on the wire: 50 4e 50 48 */
#define PNPH_VERSION 1u
/* The revision of version 1 this code speaks: which compatible additions it knows (docs/protocol.md
 * section 7). A host reports it as PNPH_STAT_REVISION; a client sends the messages of a revision
 * only to a host that reports at least that revision (an older host would close the connection
 * on them, ending the client's session).
 *   1: the messages of the first release.
 *   2: PNPH_DEVICE_EVENT, PNPH_DN_SURPRISE_REMOVE, PNPH_HANDLES, PNPH_LIST_ALL_CLASSES. */
#define PNPH_REVISION 2u
#define PNPH_HEADER_SIZE 16u

/* Limits. A message whose header announces more than PNPH_MAX_PAYLOAD bytes is malformed and
 * closes the connection before any of the payload is read. */
#define PNPH_MAX_IO 65536u                     /* bytes of one read, write or IOCTL buffer */
#define PNPH_MAX_PAYLOAD (PNPH_MAX_IO + 64u)    /* bytes after the header */
#define PNPH_MAX_MESSAGE (PNPH_HEADER_SIZE + PNPH_MAX_PAYLOAD)
#define PNPH_MAX_NAME_CHARS 1024u              /* a CreateFileW name */
#define PNPH_MAX_ID_CHARS 199u                 /* a device instance id (MAX_DEVICE_ID_LEN - 1) */
#define PNPH_MAX_LIST_CHARS ((PNPH_MAX_PAYLOAD - 32u) / 2u) /* an interface multi-string */
/* The data of a custom event (PNPH_DEVICE_EVENT): what fits in a TARGET_DEVICE_CUSTOM_NOTIFICATION,
 * whose Size is a USHORT, after its 36-byte header, rounded down. */
#define PNPH_MAX_EVENT_DATA 65000u

/* Message types. A reply has the type of its request with PNPH_REPLY set and the request's
 * request_id. Unsolicited host messages have PNPH_UNSOLICITED set and request_id 0. */
#define PNPH_REPLY 0x8000u
#define PNPH_UNSOLICITED 0x4000u

enum pnph_type {
    PNPH_HELLO = 0x0001,
    PNPH_LIST_INTERFACES = 0x0002,
    PNPH_LOCATE_DEVNODE = 0x0003,
    PNPH_DEVNODE = 0x0004,
    PNPH_DEVICE_EVENT = 0x0005,  /* revision 2 */
    PNPH_CREATE = 0x0010,
    PNPH_CLOSE = 0x0011,
    PNPH_IOCTL = 0x0012,
    PNPH_READ = 0x0013,
    PNPH_WRITE = 0x0014,
    PNPH_CANCEL = 0x0015,
    PNPH_REGISTER = 0x0020,
    PNPH_UNREGISTER = 0x0021,
    PNPH_EVENT_ANSWER = 0x0022,
    PNPH_STATS = 0x0030,
    PNPH_HANDLES = 0x0031,       /* revision 2 */
    PNPH_EVENT = PNPH_UNSOLICITED | 0x0001,
};

/* PNPH_HELLO flags. */
#define PNPH_HELLO_ATTACH 0x1u /* join the session named by session_id/session_key */

/* PNPH_DEVNODE operations. */
enum pnph_devnode_op {
    PNPH_DN_GET_ID = 1,       /* value1: -, text: the instance id */
    PNPH_DN_PARENT = 2,       /* value1: the parent's devinst */
    PNPH_DN_CHILD = 3,
    PNPH_DN_SIBLING = 4,
    PNPH_DN_STATUS = 5,       /* value1: DN_* status, value2: problem */
    PNPH_DN_DISABLE = 6,
    PNPH_DN_ENABLE = 7,
    PNPH_DN_QUERY_REMOVE = 8, /* value1: veto type, text: veto name (arg: chars wanted) */
    PNPH_DN_SURPRISE_REMOVE = 9, /* revision 2: value1: the NTSTATUS of PnpkitSimSurpriseRemove */
};

/* PNPH_LIST_INTERFACES flags: CM_GET_DEVICE_INTERFACE_LIST_ALL_DEVICES (1), and (revision 2)
 * every class's present interfaces (the class field must then be zero, ALL_DEVICES clear). */
#define PNPH_LIST_ALL_DEVICES 0x1u
#define PNPH_LIST_ALL_CLASSES 0x80000000u

/* PNPH_HANDLES: one record per open handle. access bits: */
#define PNPH_HANDLE_READ 0x1u
#define PNPH_HANDLE_WRITE 0x2u
#define PNPH_HANDLE_RECORD_FIXED 48u /* bytes of a record before its name */

/* PNPH_READ / PNPH_WRITE flags. */
#define PNPH_RW_OFFSET 0x1u /* offset is meaningful (it came from an OVERLAPPED) */

/* PNPH_STATS values, in order. */
enum pnph_stat {
    PNPH_STAT_SESSIONS,
    PNPH_STAT_CONNECTIONS,
    PNPH_STAT_HANDLES,
    PNPH_STAT_REQUESTS,
    PNPH_STAT_REGISTRATIONS,
    PNPH_STAT_PENDING_ANSWERS,
    PNPH_STAT_LIVE_OBJECTS,
    PNPH_STAT_MALFORMED,
    PNPH_STAT_REVISION,      /* PNPH_REVISION of the host; a host of revision 1 sends 8 values */
    PNPH_STAT_COUNT
};

/* Results of pnph_header_check and pnph_decode. */
enum pnph_result {
    PNPH_OK = 0,
    PNPH_NEED_MORE = 1,     /* fewer bytes than a header, or than header + length */
    PNPH_BAD_MAGIC = -1,
    PNPH_BAD_VERSION = -2,  /* a well-formed header of another protocol version */
    PNPH_TOO_LARGE = -3,
    PNPH_BAD_TYPE = -4,
    PNPH_BAD_LENGTH = -5,   /* the payload does not have the size its fields announce */
    PNPH_BAD_FIELD = -6,    /* a field out of its range */
};

typedef struct pnph_header {
    uint32_t magic;
    uint16_t version;
    uint16_t type;
    uint32_t length;     /* payload bytes after the header */
    uint32_t request_id;
} pnph_header;

/* A UTF-16LE string inside a message: `chars` code units at `bytes` (maybe unaligned). */
typedef struct pnph_wstr {
    const uint8_t *bytes;
    uint32_t chars;
} pnph_wstr;

/* One record of a PNPH_HANDLES reply, as pnph_next_handle reads it. */
typedef struct pnph_handle_info {
    uint32_t pid, uid;
    uint64_t handle;
    uint32_t access, in_flight;
    uint64_t requests, bytes_in, bytes_out;
    pnph_wstr name;
} pnph_handle_info;

/* One decoded message. Pointers point into the buffer given to pnph_decode. */
typedef struct pnph_msg {
    pnph_header hdr;
    union {
        struct { uint32_t flags; uint64_t session_id, session_key; } hello;
        struct { uint32_t status, max_payload; uint64_t session_id, session_key; } hello_reply;
        struct { uint8_t class_guid[16]; uint32_t flags; pnph_wstr device_id; } list;
        struct { uint32_t cr; pnph_wstr list; } list_reply;
        struct { uint32_t flags; pnph_wstr device_id; } locate;
        struct { uint32_t cr, devinst; } locate_reply;
        struct { uint32_t op, devinst, flags, arg; } devnode;
        struct { uint32_t cr, value1, value2; pnph_wstr text; } devnode_reply;
        struct { uint32_t devinst; int32_t name_offset; uint8_t event_guid[16]; uint32_t data_len; const uint8_t *data; } devevent;
        struct { uint32_t cr, status; } devevent_reply;
        struct { uint32_t access, share, disposition, flags; pnph_wstr name; } create;
        struct { uint32_t status; uint64_t handle; } create_reply;
        struct { uint64_t handle; } close;
        struct { uint32_t status; } status_reply;
        struct { uint64_t handle; uint32_t code, in_len, out_len; const uint8_t *in; } ioctl;
        struct { uint64_t handle, offset; uint32_t length, flags; const uint8_t *data; } rw;
        struct { uint32_t status, information, data_len; const uint8_t *data; } io_reply;
        struct { uint64_t handle; uint32_t target_request_id; } cancel;
        struct { uint32_t filter_type, flags; uint64_t reg_id; uint8_t class_guid[16]; uint64_t handle; pnph_wstr instance_id; } reg;
        struct { uint32_t cr; uint64_t reg_id; pnph_wstr links; } reg_reply;
        struct { uint64_t reg_id; } unreg;
        struct { uint32_t event_id, result; } answer;
        struct { uint32_t count; uint32_t values[PNPH_STAT_COUNT]; } stats_reply;
        struct { uint32_t count, omitted; const uint8_t *records; size_t records_len; } handles_reply;
        struct { uint64_t reg_id; uint32_t event_id, action, data_size; const uint8_t *data; } event;
    } u;
} pnph_msg;

/* ---- Decoding ---- */

/* Checks the first `len` bytes of a stream: PNPH_NEED_MORE while fewer than a header, then the
 * header's magic, version and length cap. On PNPH_OK, *hdr holds the header and the message is
 * complete when len >= PNPH_HEADER_SIZE + hdr->length (the caller checks). PNPH_BAD_VERSION is
 * returned with *hdr filled, so that the host can answer a HELLO of another version. */
int pnph_header_check(const uint8_t *buf, size_t len, pnph_header *hdr);

/* Decodes one complete message (header and payload, exactly `len` bytes) into *msg, validating
 * every field: sizes against the limits above, variable parts against the payload length (no
 * trailing bytes), multi-strings terminated, enum values in range, and event data laid out as
 * a CM_NOTIFY_EVENT_DATA of its filter type. Returns PNPH_OK or a negative pnph_result; *msg is
 * meaningful only on PNPH_OK. Pure: no allocation, no global state. */
int pnph_decode(const uint8_t *buf, size_t len, pnph_msg *msg);

/* Text for a pnph_result ("bad magic"). */
const char *pnph_result_text(int result);

/* Reads the next record of a decoded PNPH_HANDLES reply: *p and *left start as records and
 * records_len, and advance. False after the last one (the decoder checked them all). */
bool pnph_next_handle(const uint8_t **p, size_t *left, pnph_handle_info *out);

/* Copies a wire string into dst (room for dst_chars code units) and NUL-terminates it.
 * Returns false (dst empty) when it does not fit. */
bool pnph_wstr_copy(WCHAR *dst, size_t dst_chars, pnph_wstr s);

/* Validates the bytes of a CM_NOTIFY_EVENT_DATA (LP64 layout) as they travel in PNPH_EVENT.
 * Returns PNPH_OK or PNPH_BAD_FIELD / PNPH_BAD_LENGTH. */
int pnph_check_event_data(const uint8_t *data, uint32_t size);

/* ---- Encoding ----
 * A builder writes one message at a time into a caller buffer. pnph_begin writes the header;
 * the put functions append fields; pnph_finish patches the length and returns the total size,
 * or 0 if anything overflowed the buffer or PNPH_MAX_PAYLOAD. */
typedef struct pnph_builder {
    uint8_t *buf;
    size_t cap;
    size_t len;
    bool overflow;
} pnph_builder;

void pnph_begin(pnph_builder *b, void *buf, size_t cap, uint16_t type, uint32_t request_id);
void pnph_put_u32(pnph_builder *b, uint32_t v);
void pnph_put_u64(pnph_builder *b, uint64_t v);
void pnph_put_bytes(pnph_builder *b, const void *p, size_t n);
/* Appends `chars` code units of s (host-order WCHARs) as UTF-16LE. */
void pnph_put_wchars(pnph_builder *b, const WCHAR *s, size_t chars);
/* Appends u32 count + the code units (the common "string field"). */
void pnph_put_wstr(pnph_builder *b, const WCHAR *s, size_t chars);
/* Reserves n bytes and returns where they start (NULL on overflow), for data filled later. */
uint8_t *pnph_reserve(pnph_builder *b, size_t n);
size_t pnph_finish(pnph_builder *b);

/* Little-endian loads and stores for unaligned bytes. */
static inline uint32_t pnph_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t pnph_le64(const uint8_t *p) { return (uint64_t)pnph_le32(p) | (uint64_t)pnph_le32(p + 4) << 32; }
static inline void pnph_st32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* The class GUID of a symbolic link, read from its text (pnp.md 1.3 fixes the format:
 * \\?\ or \??\, the device part ending in #{guid}, then optionally \ and more). False when
 * the text is not a link. */
bool pnph_link_class(const WCHAR *link, GUID *class_guid);

/* ---- Status mapping (shared so that both sides agree) ---- */

/* RtlNtStatusToDosError for the statuses pnpkit drivers and the host produce; an unknown
 * failure maps to ERROR_GEN_FAILURE, a success to ERROR_SUCCESS. */
DWORD pnph_win32_from_status(NTSTATUS status);

#endif /* PNPKIT_HOST_PNPH_PROTO_H */
