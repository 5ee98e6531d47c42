/*
 * pnpctl.c — the command-line tool of a running pnphost: the device tree, interface lists and
 * notifications, eject/disable/enable, IOCTLs, a Graphviz view. An ordinary application of
 * libpnpkit-client (CM_* and the Win32 file API); it finds the host as the library does
 * (PNPKIT_HOST_SOCKET, then the default paths of <pnpkit/fileapi.h>). docs/pnpctl.md is its
 * manual.
 *
 * Exit codes: 0 success, 1 the operation failed, 2 usage error, 3 no host, 4 not supported by
 * this host's protocol revision, 5 not permitted (the socket refuses this user, or the operation
 * is reserved to the host's owner).
 */
#include <pnpkit/fileapi.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum {
    EXIT_OK = 0,
    EXIT_FAILED = 1,
    EXIT_USAGE = 2,
    EXIT_NO_HOST = 3,
    EXIT_UNSUPPORTED = 4,
    EXIT_DENIED = 5,
};

#define MAX_CLASSES 16

/* The parsed command line: positional words and the options any command may be given. */
typedef struct options {
    bool json;
    bool help;
    long count;          /* watch --count; 0: unbounded */
    double timeout;      /* watch --timeout in seconds; 0: none */
    double interval;     /* watch --interval in seconds (request rates) */
    bool no_events;      /* watch --no-events: do not open devices for their custom events */
    bool no_rates;       /* watch --no-rates */
    bool watch_only;     /* an option only watch takes was given */
    unsigned long out;   /* ioctl --out */
    const char *classes[MAX_CLASSES]; /* graph --class */
    const char *name;    /* event --name: text carried after the data (NameBufferOffset) */
    int nclasses;
    const char *args[8];
    int nargs;
} options;

typedef struct command {
    const char *name;
    int (*run)(const options *o);
    int min_args, max_args;
    const char *usage;
    const char *help;
} command;

/* ---- Text helpers ---- */

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("pnpctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (pnpctl --help)\n", stderr);
}

/* UTF-8 to NUL-terminated UTF-16; false when it does not fit or is not UTF-8. */
static bool to_wide(const char *s, WCHAR *w, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;

    while (*p) {
        uint32_t c;
        int extra;
        if (*p < 0x80) {
            c = *p;
            extra = 0;
        } else if ((*p & 0xe0) == 0xc0) {
            c = *p & 0x1f;
            extra = 1;
        } else if ((*p & 0xf0) == 0xe0) {
            c = *p & 0x0f;
            extra = 2;
        } else if ((*p & 0xf8) == 0xf0) {
            c = *p & 0x07;
            extra = 3;
        } else {
            return false;
        }
        p++;
        for (int i = 0; i < extra; i++, p++) {
            if ((*p & 0xc0) != 0x80)
                return false;
            c = (c << 6) | (*p & 0x3f);
        }
        if (c >= 0x10000) {
            if (n + 2 >= cap)
                return false;
            c -= 0x10000;
            w[n++] = (WCHAR)(0xd800 + (c >> 10));
            w[n++] = (WCHAR)(0xdc00 + (c & 0x3ff));
        } else {
            if (n + 1 >= cap)
                return false;
            w[n++] = (WCHAR)c;
        }
    }
    w[n] = 0;
    return true;
}

/* UTF-16 (NUL-terminated, at most max units) to UTF-8; unpaired surrogates become U+FFFD. */
static void to_utf8(const WCHAR *w, size_t max, char *s, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < max && w[i]; i++) {
        uint32_t c = w[i];
        if (c >= 0xd800 && c < 0xdc00 && i + 1 < max && w[i + 1] >= 0xdc00 && w[i + 1] < 0xe000) {
            c = 0x10000 + ((c - 0xd800) << 10) + (w[i + 1] - 0xdc00u);
            i++;
        } else if (c >= 0xd800 && c < 0xe000) {
            c = 0xfffd;
        }
        char b[4];
        int k;
        if (c < 0x80) {
            b[0] = (char)c;
            k = 1;
        } else if (c < 0x800) {
            b[0] = (char)(0xc0 | (c >> 6));
            b[1] = (char)(0x80 | (c & 0x3f));
            k = 2;
        } else if (c < 0x10000) {
            b[0] = (char)(0xe0 | (c >> 12));
            b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
            b[2] = (char)(0x80 | (c & 0x3f));
            k = 3;
        } else {
            b[0] = (char)(0xf0 | (c >> 18));
            b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
            b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
            b[3] = (char)(0x80 | (c & 0x3f));
            k = 4;
        }
        if (n + (size_t)k >= cap)
            break;
        memcpy(s + n, b, (size_t)k);
        n += (size_t)k;
    }
    s[n] = 0;
}

/* Writes s as a JSON string (with the quotes). */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* Writes s escaped for the inside of a DOT string. */
static void dot_text(FILE *f, const char *s)
{
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fputc('\\', f);
        fputc(*p, f);
    }
}

/* Writes s as a DOT string (with the quotes). */
static void dot_string(FILE *f, const char *s)
{
    fputc('"', f);
    dot_text(f, s);
    fputc('"', f);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static WCHAR towlower_ascii(WCHAR c) { return c >= 'A' && c <= 'Z' ? (WCHAR)(c + 32) : c; }

#define MAX_NAME_UNITS 1100

/* "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" (braces optional) to a GUID. */
static bool parse_guid(const char *s, GUID *g)
{
    char hex[33];
    size_t n = 0, len = strlen(s);
    bool braces = len > 0 && s[0] == '{';

    if (len != (braces ? 38u : 36u) || (braces && s[37] != '}'))
        return false;
    for (size_t i = braces ? 1 : 0, k = 0; k < 36; i++, k++) {
        if (k == 8 || k == 13 || k == 18 || k == 23) {
            if (s[i] != '-')
                return false;
            continue;
        }
        if (hex_digit(s[i]) < 0)
            return false;
        hex[n++] = s[i];
    }
    hex[n] = 0;
    uint64_t d1 = 0;
    for (int i = 0; i < 8; i++)
        d1 = d1 << 4 | (uint64_t)hex_digit(hex[i]);
    g->Data1 = (ULONG)d1;
    g->Data2 = (USHORT)(hex_digit(hex[8]) << 12 | hex_digit(hex[9]) << 8 | hex_digit(hex[10]) << 4 | hex_digit(hex[11]));
    g->Data3 = (USHORT)(hex_digit(hex[12]) << 12 | hex_digit(hex[13]) << 8 | hex_digit(hex[14]) << 4 | hex_digit(hex[15]));
    for (int i = 0; i < 8; i++)
        g->Data4[i] = (UCHAR)(hex_digit(hex[16 + 2 * i]) << 4 | hex_digit(hex[17 + 2 * i]));
    return true;
}

/* The class GUID of a symbolic link: the {...} that ends its device part. */
static bool link_class_of(const WCHAR *link, GUID *g)
{
    char text[39];
    size_t end = 0;

    if (!(link[0] == '\\' && (link[1] == '\\' || link[1] == '?') && link[2] == '?' && link[3] == '\\'))
        return false;
    link += 4;
    while (link[end] && link[end] != '\\')
        end++;
    if (end < 39)
        return false;
    for (size_t i = 0; i < 38; i++) {
        WCHAR c = link[end - 38 + i];
        if (c > 0x7f)
            return false;
        text[i] = (char)c;
    }
    text[38] = 0;
    return parse_guid(text, g);
}

static void format_guid(const GUID *g, char *s, size_t cap)
{
    snprintf(s, cap, "{%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x}", (unsigned)g->Data1, g->Data2, g->Data3,
             g->Data4[0], g->Data4[1], g->Data4[2], g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6], g->Data4[7]);
}

/* Hex text ("-" or empty: nothing) to bytes; *len gets the count. The caller frees *out. */
static bool parse_hex(const char *s, unsigned char **out, size_t *len)
{
    size_t n = strcmp(s, "-") == 0 ? 0 : strlen(s);
    if (n % 2)
        return false;
    unsigned char *b = malloc(n / 2 + 1);
    if (!b)
        return false;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(b);
            return false;
        }
        b[i] = (unsigned char)(hi << 4 | lo);
    }
    *out = b;
    *len = n / 2;
    return true;
}

static const char *cr_name(CONFIGRET cr)
{
    switch (cr) {
    case CR_SUCCESS: return "CR_SUCCESS";
    case CR_DEFAULT: return "CR_DEFAULT";
    case CR_OUT_OF_MEMORY: return "CR_OUT_OF_MEMORY";
    case CR_INVALID_POINTER: return "CR_INVALID_POINTER";
    case CR_INVALID_FLAG: return "CR_INVALID_FLAG";
    case CR_INVALID_DEVNODE: return "CR_INVALID_DEVNODE";
    case CR_NO_SUCH_DEVNODE: return "CR_NO_SUCH_DEVNODE";
    case CR_ALREADY_SUCH_DEVNODE: return "CR_ALREADY_SUCH_DEVNODE";
    case CR_FAILURE: return "CR_FAILURE";
    case CR_REMOVE_VETOED: return "CR_REMOVE_VETOED";
    case CR_BUFFER_SMALL: return "CR_BUFFER_SMALL";
    case CR_INVALID_DEVICE_ID: return "CR_INVALID_DEVICE_ID";
    case CR_INVALID_DATA: return "CR_INVALID_DATA";
    case CR_NOT_DISABLEABLE: return "CR_NOT_DISABLEABLE";
    case CR_REMOTE_COMM_FAILURE: return "CR_REMOTE_COMM_FAILURE";
    case CR_NO_CM_SERVICES: return "CR_NO_CM_SERVICES";
    case CR_ACCESS_DENIED: return "CR_ACCESS_DENIED";
    case CR_NO_SUCH_DEVICE_INTERFACE: return "CR_NO_SUCH_DEVICE_INTERFACE";
    case CR_INVALID_STRUCTURE_SIZE: return "CR_INVALID_STRUCTURE_SIZE";
    case CR_CALL_NOT_IMPLEMENTED: return "CR_CALL_NOT_IMPLEMENTED";
    default: return "CR_UNKNOWN";
    }
}

static const char *error_name(DWORD e)
{
    switch (e) {
    case ERROR_SUCCESS: return "ERROR_SUCCESS";
    case ERROR_INVALID_FUNCTION: return "ERROR_INVALID_FUNCTION";
    case ERROR_FILE_NOT_FOUND: return "ERROR_FILE_NOT_FOUND";
    case ERROR_PATH_NOT_FOUND: return "ERROR_PATH_NOT_FOUND";
    case ERROR_ACCESS_DENIED: return "ERROR_ACCESS_DENIED";
    case ERROR_INVALID_HANDLE: return "ERROR_INVALID_HANDLE";
    case ERROR_NOT_ENOUGH_MEMORY: return "ERROR_NOT_ENOUGH_MEMORY";
    case ERROR_OUTOFMEMORY: return "ERROR_OUTOFMEMORY";
    case ERROR_NOT_READY: return "ERROR_NOT_READY";
    case ERROR_BAD_COMMAND: return "ERROR_BAD_COMMAND";
    case ERROR_GEN_FAILURE: return "ERROR_GEN_FAILURE";
    case ERROR_SHARING_VIOLATION: return "ERROR_SHARING_VIOLATION";
    case ERROR_HANDLE_EOF: return "ERROR_HANDLE_EOF";
    case ERROR_NOT_SUPPORTED: return "ERROR_NOT_SUPPORTED";
    case ERROR_DEV_NOT_EXIST: return "ERROR_DEV_NOT_EXIST";
    case ERROR_INVALID_PARAMETER: return "ERROR_INVALID_PARAMETER";
    case ERROR_BROKEN_PIPE: return "ERROR_BROKEN_PIPE";
    case ERROR_SEM_TIMEOUT: return "ERROR_SEM_TIMEOUT";
    case ERROR_INSUFFICIENT_BUFFER: return "ERROR_INSUFFICIENT_BUFFER";
    case ERROR_INVALID_NAME: return "ERROR_INVALID_NAME";
    case ERROR_ALREADY_EXISTS: return "ERROR_ALREADY_EXISTS";
    case ERROR_FILENAME_EXCED_RANGE: return "ERROR_FILENAME_EXCED_RANGE";
    case ERROR_MORE_DATA: return "ERROR_MORE_DATA";
    case ERROR_OPERATION_ABORTED: return "ERROR_OPERATION_ABORTED";
    case ERROR_IO_INCOMPLETE: return "ERROR_IO_INCOMPLETE";
    case ERROR_IO_PENDING: return "ERROR_IO_PENDING";
    case ERROR_NOACCESS: return "ERROR_NOACCESS";
    case ERROR_NOT_FOUND: return "ERROR_NOT_FOUND";
    case ERROR_NO_SUCH_DEVICE: return "ERROR_NO_SUCH_DEVICE";
    case ERROR_CANCELLED: return "ERROR_CANCELLED";
    case ERROR_DEVICE_REMOVED: return "ERROR_DEVICE_REMOVED";
    case ERROR_TIMEOUT: return "ERROR_TIMEOUT";
    case ERROR_INVALID_STATE: return "ERROR_INVALID_STATE";
    case ERROR_DELETE_PENDING: return "ERROR_DELETE_PENDING";
    case ERROR_DEVICE_NOT_CONNECTED: return "ERROR_DEVICE_NOT_CONNECTED";
    default: return "ERROR_UNKNOWN";
    }
}

static const char *veto_name(PNP_VETO_TYPE v)
{
    static const char *const names[] = {
        "PNP_VetoTypeUnknown",       "PNP_VetoLegacyDevice",   "PNP_VetoPendingClose",
        "PNP_VetoWindowsApp",        "PNP_VetoWindowsService", "PNP_VetoOutstandingOpen",
        "PNP_VetoDevice",            "PNP_VetoDriver",         "PNP_VetoIllegalDeviceRequest",
        "PNP_VetoInsufficientPower", "PNP_VetoNonDisableable", "PNP_VetoLegacyDriver",
        "PNP_VetoInsufficientRights", "PNP_VetoAlreadyRemoved",
    };
    return (unsigned)v < ARRAYSIZE(names) ? names[v] : "PNP_VetoTypeUnknown";
}

static bool cr_is_no_host(CONFIGRET cr) { return cr == CR_NO_CM_SERVICES || cr == CR_REMOTE_COMM_FAILURE; }

/* Reports a failed CM_* call and returns the exit code it maps to. */
static int cr_fail(const options *o, const char *what, CONFIGRET cr)
{
    int code = cr_is_no_host(cr)                  ? EXIT_NO_HOST
               : cr == CR_CALL_NOT_IMPLEMENTED    ? EXIT_UNSUPPORTED
               : cr == CR_ACCESS_DENIED           ? EXIT_DENIED
                                                  : EXIT_FAILED;
    if (o->json) {
        printf("{\"error\":");
        json_string(stdout, what);
        printf(",\"cr\":%u,\"name\":\"%s\"}\n", (unsigned)cr, cr_name(cr));
    }
    if (code == EXIT_NO_HOST)
        fprintf(stderr, "pnpctl: %s: cannot reach pnphost (%s); is it running? (PNPKIT_HOST_SOCKET)\n", what,
                cr_name(cr));
    else if (code == EXIT_UNSUPPORTED)
        fprintf(stderr, "pnpctl: %s: not supported by this host's protocol revision (%s)\n", what, cr_name(cr));
    else if (code == EXIT_DENIED)
        fprintf(stderr, "pnpctl: %s: not permitted (%s): reserved to root and the host's user, or the socket "
                        "refuses this user\n", what, cr_name(cr));
    else
        fprintf(stderr, "pnpctl: %s: %s (0x%x)\n", what, cr_name(cr), (unsigned)cr);
    return code;
}

/* ---- tree and graph ---- */

typedef struct node_info {
    char id[MAX_DEVICE_ID_LEN * 3 + 1];
    ULONG status, problem;
} node_info;

static CONFIGRET node_get(DEVINST dn, node_info *n)
{
    WCHAR wid[MAX_DEVICE_ID_LEN + 1];
    CONFIGRET cr = CM_Get_Device_IDW(dn, wid, ARRAYSIZE(wid), 0);
    if (cr != CR_SUCCESS)
        return cr;
    wid[MAX_DEVICE_ID_LEN] = 0;
    to_utf8(wid, ARRAYSIZE(wid), n->id, sizeof(n->id));
    n->status = n->problem = 0;
    return CM_Get_DevNode_Status(&n->status, &n->problem, dn, 0);
}

static const struct {
    ULONG bit;
    const char *name;
} status_bits[] = {
    { DN_DRIVER_LOADED, "DRIVER_LOADED" }, { DN_STARTED, "STARTED" },      { DN_HAS_PROBLEM, "HAS_PROBLEM" },
    { DN_DISABLEABLE, "DISABLEABLE" },     { DN_REMOVABLE, "REMOVABLE" },
};

static const char *problem_name(ULONG p)
{
    switch (p) {
    case 0: return "NONE";
    case CM_PROB_FAILED_START: return "FAILED_START";
    case CM_PROB_DISABLED: return "DISABLED";
    default: return "UNKNOWN";
    }
}

static CONFIGRET tree_print(const options *o, DEVINST dn, int depth)
{
    node_info n;
    CONFIGRET cr = node_get(dn, &n);
    if (cr != CR_SUCCESS)
        return cr;
    if (o->json) {
        printf("{\"id\":");
        json_string(stdout, n.id);
        printf(",\"status\":%lu,\"flags\":[", (unsigned long)n.status);
        bool first = true;
        for (size_t i = 0; i < ARRAYSIZE(status_bits); i++) {
            if (n.status & status_bits[i].bit) {
                printf("%s\"%s\"", first ? "" : ",", status_bits[i].name);
                first = false;
            }
        }
        printf("],\"problem\":%lu,\"problem_name\":\"%s\",\"children\":[", (unsigned long)n.problem,
               problem_name(n.problem));
    } else {
        printf("%*s%s [", depth * 2, "", n.id);
        bool first = true;
        for (size_t i = 0; i < ARRAYSIZE(status_bits); i++) {
            if (n.status & status_bits[i].bit) {
                printf("%s%s", first ? "" : " ", status_bits[i].name);
                first = false;
            }
        }
        printf("]");
        if (n.problem)
            printf(" problem %lu (%s)", (unsigned long)n.problem, problem_name(n.problem));
        printf("\n");
    }
    DEVINST child;
    cr = CM_Get_Child(&child, dn, 0);
    bool first = true;
    while (cr == CR_SUCCESS) {
        if (o->json && !first)
            printf(",");
        first = false;
        cr = tree_print(o, child, depth + 1);
        if (cr != CR_SUCCESS)
            return cr;
        cr = CM_Get_Sibling(&child, child, 0);
    }
    if (o->json)
        printf("]}");
    return cr == CR_NO_SUCH_DEVNODE ? CR_SUCCESS : cr;
}

static int cmd_tree(const options *o)
{
    DEVINST root;
    CONFIGRET cr = CM_Locate_DevNodeW(&root, NULL, CM_LOCATE_DEVNODE_NORMAL);
    if (cr != CR_SUCCESS)
        return cr_fail(o, "locate the root", cr);
    cr = tree_print(o, root, 0);
    if (o->json)
        printf("\n");
    fflush(stdout);
    if (cr != CR_SUCCESS)
        return cr_fail(o, "walk the tree", cr);
    return EXIT_OK;
}

/* The present interface links of a class, or of every class when g is NULL (a host of
 * revision 2: PNPKIT_CM_GET_DEVICE_INTERFACE_LIST_ALL_CLASSES), of one device when id is not
 * NULL, as a multi-sz the caller frees. Loops while the list grows between the two calls. */
static CONFIGRET get_links(GUID *g, const char *id, WCHAR **out)
{
    WCHAR wid[MAX_DEVICE_ID_LEN + 1], *buf = NULL;
    ULONG flags = CM_GET_DEVICE_INTERFACE_LIST_PRESENT | (g ? 0u : PNPKIT_CM_GET_DEVICE_INTERFACE_LIST_ALL_CLASSES);
    CONFIGRET cr;

    if (id && !to_wide(id, wid, ARRAYSIZE(wid)))
        return CR_INVALID_DEVICE_ID;
    for (int tries = 0; tries < 8; tries++) {
        ULONG len = 0;
        cr = CM_Get_Device_Interface_List_SizeW(&len, g, id ? wid : NULL, flags);
        if (cr != CR_SUCCESS)
            break;
        free(buf);
        buf = calloc(len + 1, sizeof(WCHAR));
        if (!buf)
            return CR_OUT_OF_MEMORY;
        cr = CM_Get_Device_Interface_ListW(g, id ? wid : NULL, buf, len, flags);
        if (cr != CR_BUFFER_SMALL)
            break;
    }
    if (cr != CR_SUCCESS) {
        free(buf);
        return cr;
    }
    *out = buf;
    return CR_SUCCESS;
}

static int cmd_interfaces(const options *o)
{
    GUID g;
    WCHAR *list;
    char link[4096];
    bool all = o->nargs == 0;

    if (!all && !parse_guid(o->args[0], &g)) {
        usage_error("interfaces: '%s' is not a GUID", o->args[0]);
        return EXIT_USAGE;
    }
    CONFIGRET cr = get_links(all ? NULL : &g, NULL, &list);
    if (cr != CR_SUCCESS)
        return cr_fail(o, all ? "list interfaces of every class (give a GUID with an older host)" : "list interfaces", cr);
    if (o->json) {
        char gt[40];
        if (all) {
            printf("{\"class\":null,\"links\":[");
        } else {
            format_guid(&g, gt, sizeof(gt));
            printf("{\"class\":\"%s\",\"links\":[", gt);
        }
    }
    int n = 0;
    for (WCHAR *p = list; *p;) {
        size_t len = 0;
        while (p[len])
            len++;
        to_utf8(p, len, link, sizeof(link));
        if (o->json) {
            printf("%s", n ? "," : "");
            json_string(stdout, link);
        } else {
            printf("%s\n", link);
        }
        n++;
        p += len + 1;
    }
    if (o->json)
        printf("]}\n");
    free(list);
    return EXIT_OK;
}

/* ---- graph ----
 * The device tree, each device's present interfaces, and the applications' open handles, as a
 * Graphviz DOT digraph (or, with --json, one JSON document with the same facts). Collected
 * first, then printed, so that a failure half-way prints nothing. */

typedef struct graph_device {
    node_info n;
    int parent;          /* index, -1 for the root */
    WCHAR *links;        /* multi-sz (NULL: none) */
} graph_device;

typedef struct graph {
    graph_device *devs;
    int ndevs, cap;
    PNPKIT_HOST_HANDLE_INFO *handles;
    ULONG nhandles;
    bool handles_known;  /* false with a host of revision 1 */
} graph;

static CONFIGRET graph_collect(graph *g, DEVINST dn, int parent)
{
    if (g->ndevs == g->cap) {
        int cap = g->cap ? g->cap * 2 : 16;
        graph_device *t = realloc(g->devs, (size_t)cap * sizeof(*t));
        if (!t)
            return CR_OUT_OF_MEMORY;
        g->devs = t;
        g->cap = cap;
    }
    int self = g->ndevs++;
    memset(&g->devs[self], 0, sizeof(g->devs[self]));
    g->devs[self].parent = parent;
    CONFIGRET cr = node_get(dn, &g->devs[self].n);
    if (cr != CR_SUCCESS)
        return cr;
    DEVINST child;
    cr = CM_Get_Child(&child, dn, 0);
    while (cr == CR_SUCCESS) {
        cr = graph_collect(g, child, self);
        if (cr != CR_SUCCESS)
            return cr;
        cr = CM_Get_Sibling(&child, child, 0);
    }
    return cr == CR_NO_SUCH_DEVNODE ? CR_SUCCESS : cr;
}

/* Appends list b to multi-sz *a (either may be NULL); frees b. */
static void links_append(WCHAR **a, WCHAR *b)
{
    size_t na = 0, nb = 0;
    if (!b || !*b) {
        free(b);
        return;
    }
    if (!*a) {
        *a = b;
        return;
    }
    while ((*a)[na] || (*a)[na + 1])
        na++;
    na++; /* the last string's NUL */
    while (b[nb] || b[nb + 1])
        nb++;
    nb += 2;
    WCHAR *t = realloc(*a, (na + nb) * sizeof(WCHAR));
    if (t) {
        memcpy(t + na, b, nb * sizeof(WCHAR));
        *a = t;
    }
    free(b);
}

static void graph_free(graph *g)
{
    for (int i = 0; i < g->ndevs; i++)
        free(g->devs[i].links);
    free(g->devs);
    free(g->handles);
}

/* The link (of those drawn) that a handle's name opened: the name itself, or the link it starts
 * with followed by \ and more. NULL when none is drawn. */
static const WCHAR *graph_link_of(const graph *g, const WCHAR *name)
{
    for (int i = 0; i < g->ndevs; i++)
        for (const WCHAR *p = g->devs[i].links; p && *p;) {
            size_t n = 0;
            while (p[n])
                n++;
            bool match = true;
            for (size_t k = 0; k < n && match; k++)
                match = name[k] && towlower_ascii(name[k]) == towlower_ascii(p[k]);
            if (match && (name[n] == 0 || name[n] == '\\'))
                return p;
            p += n + 1;
        }
    return NULL;
}

/* The program name of a process on this machine (/proc/PID/comm), or "?". */
static void process_name(ULONG pid, char *out, size_t cap)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%lu/comm", (unsigned long)pid);
    FILE *f = fopen(path, "re");
    snprintf(out, cap, "?");
    if (!f)
        return;
    if (fgets(out, (int)cap, f)) {
        size_t n = strlen(out);
        if (n && out[n - 1] == '\n')
            out[n - 1] = 0;
    }
    fclose(f);
}

static void access_text(ULONG access, char *out)
{
    out[0] = (access & PNPKIT_HOST_HANDLE_READ) ? 'r' : '-';
    out[1] = (access & PNPKIT_HOST_HANDLE_WRITE) ? 'w' : '-';
    out[2] = 0;
}

static void graph_print_dot(const graph *g)
{
    char link[4096], acc[3];

    printf("digraph pnp {\n  rankdir=LR;\n");
    for (int i = 0; i < g->ndevs; i++) {
        const graph_device *d = &g->devs[i];
        printf("  ");
        dot_string(stdout, d->n.id);
        printf(" [shape=box%s];\n", d->n.problem ? ",style=dashed" : (d->n.status & DN_STARTED) ? "" : ",color=gray");
        if (d->parent >= 0) {
            printf("  ");
            dot_string(stdout, g->devs[d->parent].n.id);
            printf(" -> ");
            dot_string(stdout, d->n.id);
            printf(";\n");
        }
        for (const WCHAR *p = d->links; p && *p;) {
            size_t len = 0;
            while (p[len])
                len++;
            to_utf8(p, len + 1, link, sizeof(link));
            printf("  ");
            dot_string(stdout, link);
            printf(" [shape=ellipse];\n  ");
            dot_string(stdout, d->n.id);
            printf(" -> ");
            dot_string(stdout, link);
            printf(" [style=dotted];\n");
            p += len + 1;
        }
    }
    /* Open handles: process -> handle -> the interface it opened. */
    for (ULONG i = 0; i < g->nhandles; i++) {
        const PNPKIT_HOST_HANDLE_INFO *h = &g->handles[i];
        char pnode[96], hnode[96], pname[64];
        bool first = true;
        for (ULONG k = 0; k < i && first; k++)
            first = g->handles[k].ProcessId != h->ProcessId;
        snprintf(pnode, sizeof(pnode), "pid %lu", (unsigned long)h->ProcessId);
        snprintf(hnode, sizeof(hnode), "handle %lu:0x%016llx", (unsigned long)h->ProcessId,
                 (unsigned long long)h->Handle);
        if (first) {
            process_name(h->ProcessId, pname, sizeof(pname));
            printf("  ");
            dot_string(stdout, pnode);
            printf(" [shape=component,label=\"");
            dot_text(stdout, pname);
            printf("\\npid %lu\"];\n", (unsigned long)h->ProcessId); /* \n: a line break in a DOT label */
        }
        access_text(h->Access, acc);
        printf("  ");
        dot_string(stdout, hnode);
        printf(" [shape=note,label=\"handle 0x%llx\\n%s, %llu requests, %lu in flight\"];\n  ",
               (unsigned long long)h->Handle, acc, (unsigned long long)h->Requests, (unsigned long)h->InFlight);
        dot_string(stdout, pnode);
        printf(" -> ");
        dot_string(stdout, hnode);
        printf(";\n");
        const WCHAR *target = graph_link_of(g, h->Name);
        to_utf8(target ? target : h->Name, target ? MAX_NAME_UNITS : ARRAYSIZE(h->Name), link, sizeof(link));
        if (!target) { /* an interface not drawn (its class was not asked for, or it went away) */
            printf("  ");
            dot_string(stdout, link);
            printf(" [shape=ellipse,style=dashed];\n");
        }
        printf("  ");
        dot_string(stdout, hnode);
        printf(" -> ");
        dot_string(stdout, link);
        printf(" [style=bold];\n");
    }
    printf("}\n");
}

static void graph_print_json(const graph *g)
{
    char link[4096], pname[64], acc[3];

    printf("{\"devices\":[");
    for (int i = 0; i < g->ndevs; i++) {
        const graph_device *d = &g->devs[i];
        printf("%s{\"id\":", i ? "," : "");
        json_string(stdout, d->n.id);
        printf(",\"parent\":");
        if (d->parent >= 0)
            json_string(stdout, g->devs[d->parent].n.id);
        else
            printf("null");
        printf(",\"status\":%lu,\"problem\":%lu,\"interfaces\":[", (unsigned long)d->n.status,
               (unsigned long)d->n.problem);
        int n = 0;
        for (const WCHAR *p = d->links; p && *p;) {
            size_t len = 0;
            while (p[len])
                len++;
            to_utf8(p, len + 1, link, sizeof(link));
            printf("%s", n++ ? "," : "");
            json_string(stdout, link);
            p += len + 1;
        }
        printf("]}");
    }
    printf("],\"handles\":");
    if (!g->handles_known) {
        printf("null}\n");
        return;
    }
    printf("[");
    for (ULONG i = 0; i < g->nhandles; i++) {
        const PNPKIT_HOST_HANDLE_INFO *h = &g->handles[i];
        process_name(h->ProcessId, pname, sizeof(pname));
        to_utf8(h->Name, ARRAYSIZE(h->Name), link, sizeof(link));
        access_text(h->Access, acc);
        printf("%s{\"pid\":%lu,\"process\":", i ? "," : "", (unsigned long)h->ProcessId);
        json_string(stdout, pname);
        printf(",\"uid\":%lu,\"handle\":\"0x%016llx\",\"name\":", (unsigned long)h->UserId,
               (unsigned long long)h->Handle);
        json_string(stdout, link);
        printf(",\"access\":\"%s\",\"requests\":%llu,\"in_flight\":%lu,\"bytes_to_device\":%llu,"
               "\"bytes_from_device\":%llu}",
               acc, (unsigned long long)h->Requests, (unsigned long)h->InFlight,
               (unsigned long long)h->BytesToDevice, (unsigned long long)h->BytesFromDevice);
    }
    printf("]}\n");
}

static int cmd_graph(const options *o)
{
    GUID classes[MAX_CLASSES];
    DEVINST root;
    graph g;
    int rc = EXIT_OK;

    memset(&g, 0, sizeof(g));
    for (int i = 0; i < o->nclasses; i++) {
        if (!parse_guid(o->classes[i], &classes[i])) {
            usage_error("graph: '%s' is not a GUID", o->classes[i]);
            return EXIT_USAGE;
        }
    }
    CONFIGRET cr = CM_Locate_DevNodeW(&root, NULL, CM_LOCATE_DEVNODE_NORMAL);
    if (cr != CR_SUCCESS)
        return cr_fail(o, "locate the root", cr);
    cr = graph_collect(&g, root, -1);
    if (cr != CR_SUCCESS) {
        rc = cr_fail(o, "walk the tree", cr);
        goto out;
    }
    /* Interfaces: of the classes asked for, else of every class (a host of revision 1 cannot
     * list every class: then none are drawn). */
    for (int i = 0; i < g.ndevs; i++) {
        for (int c = 0; c < (o->nclasses ? o->nclasses : 1); c++) {
            WCHAR *list = NULL;
            cr = get_links(o->nclasses ? &classes[c] : NULL, g.devs[i].n.id, &list);
            if (cr == CR_SUCCESS)
                links_append(&g.devs[i].links, list);
            else if (cr != CR_NO_SUCH_DEVNODE && cr != CR_INVALID_DEVICE_ID && cr != CR_CALL_NOT_IMPLEMENTED) {
                rc = cr_fail(o, "list interfaces", cr);
                goto out;
            }
        }
    }
    /* Open handles (a host of revision 2). */
    for (;;) {
        ULONG n = 0;
        cr = PnpkitHostGetHandles(g.handles, (ULONG)g.nhandles, &n, NULL);
        if (cr != CR_BUFFER_SMALL) {
            g.nhandles = cr == CR_SUCCESS ? n : 0;
            break;
        }
        PNPKIT_HOST_HANDLE_INFO *t = realloc(g.handles, (size_t)(n + 8) * sizeof(*t));
        if (!t) {
            cr = CR_OUT_OF_MEMORY;
            break;
        }
        g.handles = t;
        g.nhandles = n + 8;
    }
    if (cr != CR_SUCCESS && cr != CR_CALL_NOT_IMPLEMENTED) {
        rc = cr_fail(o, "list open handles", cr);
        goto out;
    }
    g.handles_known = cr == CR_SUCCESS;
    if (o->json)
        graph_print_json(&g);
    else
        graph_print_dot(&g);
out:
    graph_free(&g);
    return rc;
}

/* ---- eject, disable, enable ---- */

static int locate(const options *o, const char *id, DEVINST *dn)
{
    WCHAR wid[MAX_DEVICE_ID_LEN + 1];
    if (!*id || !to_wide(id, wid, ARRAYSIZE(wid))) {
        usage_error("'%s' is not a device instance id", id);
        return EXIT_USAGE;
    }
    CONFIGRET cr = CM_Locate_DevNodeW(dn, wid, CM_LOCATE_DEVNODE_NORMAL);
    if (cr != CR_SUCCESS)
        return cr_fail(o, id, cr);
    return EXIT_OK;
}

static int done(const options *o, const char *action, const char *id)
{
    if (o->json) {
        printf("{\"device\":");
        json_string(stdout, id);
        printf(",\"result\":\"%s\"}\n", action);
    } else {
        printf("%s: %s\n", id, action);
    }
    return EXIT_OK;
}

static int cmd_eject(const options *o)
{
    DEVINST dn;
    PNP_VETO_TYPE veto = PNP_VetoTypeUnknown;
    WCHAR wname[512] = { 0 };
    char name[1536];
    int rc = locate(o, o->args[0], &dn);
    if (rc != EXIT_OK)
        return rc;
    CONFIGRET cr = CM_Query_And_Remove_SubTreeW(dn, &veto, wname, ARRAYSIZE(wname), 0);
    if (cr == CR_REMOVE_VETOED) {
        to_utf8(wname, ARRAYSIZE(wname), name, sizeof(name));
        if (o->json) {
            printf("{\"device\":");
            json_string(stdout, o->args[0]);
            printf(",\"result\":\"vetoed\",\"veto_type\":%d,\"veto_type_name\":\"%s\",\"veto_name\":", (int)veto,
                   veto_name(veto));
            json_string(stdout, name);
            printf("}\n");
        }
        fprintf(stderr, "pnpctl: eject %s: vetoed: %s by %s\n", o->args[0], veto_name(veto), name[0] ? name : "-");
        return EXIT_FAILED;
    }
    if (cr != CR_SUCCESS)
        return cr_fail(o, "eject", cr);
    return done(o, "removed", o->args[0]);
}

static int cmd_disable(const options *o)
{
    DEVINST dn;
    int rc = locate(o, o->args[0], &dn);
    if (rc != EXIT_OK)
        return rc;
    CONFIGRET cr = CM_Disable_DevNode(dn, 0);
    if (cr != CR_SUCCESS)
        return cr_fail(o, "disable", cr);
    return done(o, "disabled", o->args[0]);
}

static int cmd_enable(const options *o)
{
    DEVINST dn;
    int rc = locate(o, o->args[0], &dn);
    if (rc != EXIT_OK)
        return rc;
    CONFIGRET cr = CM_Enable_DevNode(dn, 0);
    if (cr != CR_SUCCESS)
        return cr_fail(o, "enable", cr);
    return done(o, "enabled", o->args[0]);
}

/* ---- ioctl ---- */

static void print_hex(const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
}

static int win32_fail(const options *o, const char *what, DWORD e)
{
    if (o->json)
        printf("{\"error\":\"%s\",\"win32\":%lu,\"name\":\"%s\"}\n", what, (unsigned long)e, error_name(e));
    fprintf(stderr, "pnpctl: %s: error %lu (%s)\n", what, (unsigned long)e, error_name(e));
    return e == ERROR_DEVICE_NOT_CONNECTED ? EXIT_NO_HOST : EXIT_FAILED;
}

static int cmd_ioctl(const options *o)
{
    WCHAR wlink[1100];
    unsigned char *in = NULL, *out = NULL;
    size_t in_len = 0;
    char *end;
    int rc;

    errno = 0;
    unsigned long code = strtoul(o->args[1], &end, 0);
    if (errno || *end || end == o->args[1] || code > 0xffffffffUL) {
        usage_error("ioctl: '%s' is not a control code", o->args[1]);
        return EXIT_USAGE;
    }
    if (o->nargs > 2 && !parse_hex(o->args[2], &in, &in_len)) {
        usage_error("ioctl: '%s' is not hex bytes", o->args[2]);
        return EXIT_USAGE;
    }
    if (!to_wide(o->args[0], wlink, ARRAYSIZE(wlink))) {
        free(in);
        usage_error("ioctl: link too long");
        return EXIT_USAGE;
    }
    out = malloc(o->out ? o->out : 1);
    if (!out) {
        free(in);
        return EXIT_FAILED;
    }
    HANDLE h = CreateFileW(wlink, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        rc = win32_fail(o, "open", GetLastError());
        goto free_buffers;
    }
    DWORD got = 0;
    BOOL ok = DeviceIoControl(h, (DWORD)code, in_len ? in : NULL, (DWORD)in_len, o->out ? out : NULL, (DWORD)o->out,
                              &got, NULL);
    DWORD e = ok ? ERROR_SUCCESS : GetLastError();
    if (ok || e == ERROR_MORE_DATA) {
        if (o->json) {
            printf("{\"bytes\":%lu,\"data\":\"", (unsigned long)got);
            print_hex(out, got);
            printf("\"%s}\n", ok ? "" : ",\"win32\":234,\"name\":\"ERROR_MORE_DATA\"");
        } else {
            print_hex(out, got);
            printf("\n");
        }
    }
    if (ok)
        rc = EXIT_OK;
    else if (e == ERROR_MORE_DATA)
        rc = (fprintf(stderr, "pnpctl: ioctl: error %lu (%s)\n", (unsigned long)e, error_name(e)), EXIT_FAILED);
    else
        rc = win32_fail(o, "ioctl", e);
    CloseHandle(h);
free_buffers:
    free(out);
    free(in);
    return rc;
}

/* ---- watch ----
 *
 * Three sources, one line each on stdout:
 *   - interface arrivals and removals: a DEVICEINTERFACE registration (one class, or all);
 *   - custom events of devices: as on Windows an application hears a device's custom events
 *     only through a DEVICEHANDLE registration on a handle it opened, so watch opens, for each
 *     device with a present interface (of the class, when one is given), one of its interfaces
 *     with no access (CreateFileW, dwDesiredAccess 0) and registers on that handle. Like a
 *     well-behaved Windows application it closes the handle when asked for a query-remove
 *     (never vetoes), opens it again when the removal is cancelled, and lets the device go on
 *     remove-complete. The callbacks only close handles and mark devices; opening, registering
 *     and unregistering happen on the main thread between waits (CM_Unregister_Notification
 *     cannot run in its own callback);
 *   - request rates: every --interval seconds the host's per-handle counters
 *     (PnpkitHostGetHandles), and for each handle that completed requests since the last sample
 *     its requests/s and bytes/s.
 * w->lock serialises output lines and guards the event count and the device table.
 */

#define MAX_WATCHED 256
#define PREVIEW_BYTES 32

enum { DEV_WANT_OPEN, DEV_OPEN, DEV_QUERIED, DEV_GONE, DEV_FAILED };

typedef struct watched_device {
    char id[MAX_DEVICE_ID_LEN * 3 + 1]; /* instance id, from the link's device part */
    WCHAR link[1100];                   /* the interface watch opens */
    HANDLE h;                           /* NULL while closed (lock) */
    HCMNOTIFICATION reg;                /* main thread */
    int state;                          /* DEV_* (lock) */
} watched_device;

typedef struct handle_sample {
    ULONG pid;
    ULONGLONG handle, requests, bytes;
} handle_sample;

typedef struct watch_state {
    pthread_mutex_t lock;
    long events;
    bool json;
    bool all;
    GUID class_guid;
    watched_device *devs[MAX_WATCHED];
    int ndevs;
} watch_state;

/* The instance id of a link ("\\?\SWD#PKHOST#dev1#{...}\ref" -> "SWD\PKHOST\dev1") in UTF-8;
 * false for text that is not a link. */
static bool link_device_id(const WCHAR *link, char *id, size_t cap)
{
    WCHAR w[MAX_DEVICE_ID_LEN + 1];
    size_t n = 0, end = 0;

    if (!(link[0] == '\\' && (link[1] == '\\' || link[1] == '?') && link[2] == '?' && link[3] == '\\'))
        return false;
    link += 4;
    while (link[end] && link[end] != '\\')
        end++;
    if (end < 40 || link[end - 39] != '#' || link[end - 38] != '{')
        return false;
    for (; n < end - 39 && n < MAX_DEVICE_ID_LEN; n++)
        w[n] = link[n] == '#' ? '\\' : link[n];
    w[n] = 0;
    to_utf8(w, n + 1, id, cap);
    return n > 0;
}

/* The device entry for link's device (lock held); adds one (DEV_WANT_OPEN) when asked. */
static watched_device *watch_device_locked(watch_state *w, const WCHAR *link, bool add)
{
    char id[MAX_DEVICE_ID_LEN * 3 + 1];
    size_t n = 0;

    if (!link_device_id(link, id, sizeof(id)))
        return NULL;
    for (int i = 0; i < w->ndevs; i++)
        if (!strcasecmp(w->devs[i]->id, id))
            return w->devs[i];
    while (link[n])
        n++;
    if (!add || w->ndevs == MAX_WATCHED || n >= ARRAYSIZE(w->devs[0]->link))
        return NULL;
    watched_device *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    strcpy(d->id, id);
    memcpy(d->link, link, (n + 1) * sizeof(WCHAR));
    d->state = DEV_WANT_OPEN;
    w->devs[w->ndevs++] = d;
    return d;
}

static DWORD on_interface_event(HCMNOTIFICATION h, PVOID ctx, CM_NOTIFY_ACTION action, PCM_NOTIFY_EVENT_DATA data,
                                DWORD size)
{
    watch_state *w = ctx;
    char gt[40], link[4096];
    (void)h;

    if (action != CM_NOTIFY_ACTION_DEVICEINTERFACEARRIVAL && action != CM_NOTIFY_ACTION_DEVICEINTERFACEREMOVAL)
        return ERROR_SUCCESS;
    size_t off = offsetof(CM_NOTIFY_EVENT_DATA, u.DeviceInterface.SymbolicLink);
    size_t max = size > off ? (size - off) / sizeof(WCHAR) : 0;
    format_guid(&data->u.DeviceInterface.ClassGuid, gt, sizeof(gt));
    to_utf8(data->u.DeviceInterface.SymbolicLink, max, link, sizeof(link));
    const char *what = action == CM_NOTIFY_ACTION_DEVICEINTERFACEARRIVAL ? "arrival" : "removal";
    pthread_mutex_lock(&w->lock);
    if (w->json) {
        printf("{\"event\":\"%s\",\"class\":\"%s\",\"link\":", what, gt);
        json_string(stdout, link);
        printf("}\n");
    } else {
        printf("%s %s %s\n", what, gt, link);
    }
    fflush(stdout);
    w->events++;
    /* The device table: a new device is opened on the main thread; the removal of the very
     * interface watch holds open lets the device go (its remove-complete may come first). */
    if (max > 0 && data->u.DeviceInterface.SymbolicLink[max - 1] == 0) {
        const WCHAR *wl = data->u.DeviceInterface.SymbolicLink;
        watched_device *d = watch_device_locked(w, wl, action == CM_NOTIFY_ACTION_DEVICEINTERFACEARRIVAL);
        /* An arrival of a device watch had let go of (or never heard remove-complete for, after
         * closing its handle on the query) means it is back: open it again. */
        if (d && action == CM_NOTIFY_ACTION_DEVICEINTERFACEARRIVAL &&
            (d->state == DEV_GONE || d->state == DEV_FAILED || d->state == DEV_QUERIED)) {
            size_t n = 0;
            while (wl[n] && n + 1 < ARRAYSIZE(d->link))
                n++;
            memcpy(d->link, wl, n * sizeof(WCHAR));
            d->link[n] = 0;
            d->state = DEV_WANT_OPEN;
        }
    }
    pthread_mutex_unlock(&w->lock);
    return ERROR_SUCCESS;
}

static watch_state *the_watch;

static DWORD on_device_event(HCMNOTIFICATION h, PVOID ctx, CM_NOTIFY_ACTION action, PCM_NOTIFY_EVENT_DATA data,
                             DWORD size)
{
    watched_device *d = ctx;
    watch_state *w = the_watch;
    HANDLE to_close = NULL;
    (void)h;

    pthread_mutex_lock(&w->lock);
    switch (action) {
    case CM_NOTIFY_ACTION_DEVICECUSTOMEVENT: {
        char gt[40];
        DWORD header = (DWORD)offsetof(CM_NOTIFY_EVENT_DATA, u.DeviceHandle.Data);
        DWORD len = data->u.DeviceHandle.DataSize;
        if (size < header || len > size - header)
            break;
        format_guid(&data->u.DeviceHandle.EventGuid, gt, sizeof(gt));
        DWORD shown = len > PREVIEW_BYTES ? PREVIEW_BYTES : len;
        char name[1024] = "";
        LONG no = data->u.DeviceHandle.NameOffset;
        if (no >= 0 && (DWORD)no < len) {
            WCHAR wname[512];
            size_t k = 0;
            for (DWORD i = (DWORD)no; i + 1 < len && k + 1 < ARRAYSIZE(wname); i += 2) {
                wname[k] = (WCHAR)(data->u.DeviceHandle.Data[i] | data->u.DeviceHandle.Data[i + 1] << 8);
                if (!wname[k])
                    break;
                k++;
            }
            wname[k] = 0;
            to_utf8(wname, k + 1, name, sizeof(name));
        }
        if (w->json) {
            printf("{\"event\":\"custom\",\"device\":");
            json_string(stdout, d->id);
            printf(",\"guid\":\"%s\",\"bytes\":%lu,\"data\":\"", gt, (unsigned long)len);
            print_hex(data->u.DeviceHandle.Data, shown);
            printf("\",\"truncated\":%s", shown < len ? "true" : "false");
            if (no >= 0) {
                printf(",\"name\":");
                json_string(stdout, name);
            }
            printf("}\n");
        } else {
            printf("event %s %s %lu ", d->id, gt, (unsigned long)len);
            print_hex(data->u.DeviceHandle.Data, shown);
            printf("%s", shown < len ? "..." : len ? "" : "-");
            if (no >= 0)
                printf(" name=%s", name);
            printf("\n");
        }
        fflush(stdout);
        w->events++;
        break;
    }
    case CM_NOTIFY_ACTION_DEVICEQUERYREMOVE:
        /* Let the device go: close (never veto); reopened if the removal is cancelled. */
        to_close = d->h;
        d->h = NULL;
        d->state = DEV_QUERIED;
        break;
    case CM_NOTIFY_ACTION_DEVICEQUERYREMOVEFAILED:
        if (d->state == DEV_QUERIED)
            d->state = DEV_WANT_OPEN;
        break;
    case CM_NOTIFY_ACTION_DEVICEREMOVEPENDING:
    case CM_NOTIFY_ACTION_DEVICEREMOVECOMPLETE:
        to_close = d->h;
        d->h = NULL;
        d->state = DEV_GONE;
        break;
    default:
        break;
    }
    pthread_mutex_unlock(&w->lock);
    if (to_close)
        CloseHandle(to_close);
    return ERROR_SUCCESS;
}

/* Main thread: opens what is to be opened, forgets what went. */
static void watch_devices_step(watch_state *w)
{
    for (int i = 0; i < MAX_WATCHED; i++) {
        watched_device *d;
        int state;
        HCMNOTIFICATION old;
        pthread_mutex_lock(&w->lock);
        if (i >= w->ndevs) {
            pthread_mutex_unlock(&w->lock);
            break;
        }
        d = w->devs[i];
        state = d->state;
        old = (state == DEV_WANT_OPEN || state == DEV_GONE) ? d->reg : NULL;
        if (old)
            d->reg = NULL;
        pthread_mutex_unlock(&w->lock);
        if (old)
            CM_Unregister_Notification(old); /* waits for its running callback */
        if (state == DEV_GONE) {
            pthread_mutex_lock(&w->lock);
            HANDLE h = d->h;
            if (d->state == DEV_GONE) {
                w->devs[i] = w->devs[--w->ndevs];
                i--;
            } else {
                d = NULL; /* it arrived again meanwhile: next step */
                h = NULL;
            }
            pthread_mutex_unlock(&w->lock);
            if (h)
                CloseHandle(h);
            free(d);
            continue;
        }
        if (state != DEV_WANT_OPEN)
            continue;
        HANDLE h = CreateFileW(d->link, 0, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
        if (h == INVALID_HANDLE_VALUE) {
            pthread_mutex_lock(&w->lock);
            if (d->state == DEV_WANT_OPEN)
                d->state = DEV_FAILED; /* until its next arrival */
            pthread_mutex_unlock(&w->lock);
            continue;
        }
        pthread_mutex_lock(&w->lock);
        d->h = h;
        d->state = DEV_OPEN;
        pthread_mutex_unlock(&w->lock);
        CM_NOTIFY_FILTER f;
        memset(&f, 0, sizeof(f));
        f.cbSize = sizeof(f);
        f.FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEHANDLE;
        f.u.DeviceHandle.hTarget = h;
        HCMNOTIFICATION reg;
        if (CM_Register_Notification(&f, d, on_device_event, &reg) == CR_SUCCESS) {
            pthread_mutex_lock(&w->lock);
            d->reg = reg;
            pthread_mutex_unlock(&w->lock);
        } else {
            pthread_mutex_lock(&w->lock);
            h = d->h;
            d->h = NULL;
            d->state = DEV_FAILED;
            pthread_mutex_unlock(&w->lock);
            if (h)
                CloseHandle(h);
        }
    }
}

static void watch_devices_end(watch_state *w)
{
    for (int i = 0; i < w->ndevs; i++) {
        watched_device *d = w->devs[i];
        if (d->reg)
            CM_Unregister_Notification(d->reg);
        if (d->h)
            CloseHandle(d->h);
        free(d);
    }
    w->ndevs = 0;
}

/* Samples the host's handle counters and prints the rate of each handle that did something
 * since the previous sample. Returns false when the host cannot tell (an older revision). */
static bool watch_rates(watch_state *w, handle_sample **prev, ULONG *nprev, double seconds)
{
    static PNPKIT_HOST_HANDLE_INFO *info;
    static ULONG cap;
    ULONG n = 0;
    CONFIGRET cr;

    for (;;) {
        cr = PnpkitHostGetHandles(info, cap, &n, NULL);
        if (cr != CR_BUFFER_SMALL)
            break;
        PNPKIT_HOST_HANDLE_INFO *t = realloc(info, (size_t)(n + 16) * sizeof(*t));
        if (!t)
            return true;
        info = t;
        cap = n + 16;
    }
    if (cr == CR_CALL_NOT_IMPLEMENTED)
        return false;
    if (cr != CR_SUCCESS)
        return true;
    handle_sample *now = calloc(n ? n : 1, sizeof(*now));
    if (!now)
        return true;
    for (ULONG i = 0; i < n; i++) {
        now[i].pid = info[i].ProcessId;
        now[i].handle = info[i].Handle;
        now[i].requests = info[i].Requests;
        now[i].bytes = info[i].BytesToDevice + info[i].BytesFromDevice;
        if (!*prev || seconds <= 0)
            continue;
        GUID g;
        if (!w->all && (!link_class_of(info[i].Name, &g) || !IsEqualGUID(&g, &w->class_guid)))
            continue;
        for (ULONG k = 0; k < *nprev; k++) {
            handle_sample *p = &(*prev)[k];
            if (p->pid != now[i].pid || p->handle != now[i].handle || p->requests == now[i].requests)
                continue;
            double rate = (double)(now[i].requests - p->requests) / seconds;
            double bps = (double)(now[i].bytes - p->bytes) / seconds;
            char link[4096];
            to_utf8(info[i].Name, ARRAYSIZE(info[i].Name), link, sizeof(link));
            pthread_mutex_lock(&w->lock);
            if (w->json) {
                printf("{\"event\":\"rate\",\"pid\":%lu,\"handle\":\"0x%016llx\",\"link\":", (unsigned long)now[i].pid,
                       (unsigned long long)now[i].handle);
                json_string(stdout, link);
                printf(",\"requests_per_s\":%.1f,\"bytes_per_s\":%.0f,\"requests\":%llu,\"in_flight\":%lu}\n", rate,
                       bps, (unsigned long long)now[i].requests, (unsigned long)info[i].InFlight);
            } else {
                printf("rate pid %lu handle 0x%016llx %.1f req/s %.0f B/s %s\n", (unsigned long)now[i].pid,
                       (unsigned long long)now[i].handle, rate, bps, link);
            }
            fflush(stdout);
            pthread_mutex_unlock(&w->lock);
        }
    }
    free(*prev);
    *prev = now;
    *nprev = n;
    return true;
}

static int cmd_watch(const options *o)
{
    static watch_state w = { .lock = PTHREAD_MUTEX_INITIALIZER };
    CM_NOTIFY_FILTER f;
    HCMNOTIFICATION reg;
    sigset_t stop;
    struct timespec start, now, last_sample, tick = { 0, 100 * 1000 * 1000 };
    handle_sample *samples = NULL;
    ULONG nsamples = 0;
    bool rates = !o->no_rates;
    int rc = EXIT_OK;

    memset(&f, 0, sizeof(f));
    f.cbSize = sizeof(f);
    f.FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE;
    if (o->nargs > 0) {
        if (!parse_guid(o->args[0], &f.u.DeviceInterface.ClassGuid)) {
            usage_error("watch: '%s' is not a GUID", o->args[0]);
            return EXIT_USAGE;
        }
        w.class_guid = f.u.DeviceInterface.ClassGuid;
    } else {
        f.Flags = CM_NOTIFY_FILTER_FLAG_ALL_INTERFACE_CLASSES;
        w.all = true;
    }
    w.json = o->json;
    the_watch = &w;
    /* Blocked before the library starts its threads, so that they inherit the mask and only
     * this thread takes Ctrl-C (through sigtimedwait). */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    CONFIGRET cr = CM_Register_Notification(&f, &w, on_interface_event, &reg);
    if (cr != CR_SUCCESS)
        return cr_fail(o, "register for notifications", cr);
    if (!o->no_events) {
        /* The devices present now (arrivals add the later ones). */
        WCHAR *list = NULL;
        cr = get_links(w.all ? NULL : &w.class_guid, NULL, &list);
        if (cr == CR_SUCCESS) {
            pthread_mutex_lock(&w.lock);
            for (WCHAR *p = list; *p;) {
                size_t len = 0;
                while (p[len])
                    len++;
                watch_device_locked(&w, p, true);
                p += len + 1;
            }
            pthread_mutex_unlock(&w.lock);
            free(list);
        }
        watch_devices_step(&w);
    }
    if (rates && !watch_rates(&w, &samples, &nsamples, 0))
        rates = false; /* a host of revision 1 keeps no counters */
    if (!o->json)
        fprintf(stderr, "pnpctl: watching %s\n", o->nargs > 0 ? o->args[0] : "every interface class");
    clock_gettime(CLOCK_MONOTONIC, &start);
    last_sample = start;
    for (;;) {
        pthread_mutex_lock(&w.lock);
        long n = w.events;
        pthread_mutex_unlock(&w.lock);
        if (o->count > 0 && n >= o->count)
            break;
        if (sigtimedwait(&stop, NULL, &tick) > 0)
            break;
        if (!o->no_events)
            watch_devices_step(&w);
        clock_gettime(CLOCK_MONOTONIC, &now);
        double since = (double)(now.tv_sec - last_sample.tv_sec) + (double)(now.tv_nsec - last_sample.tv_nsec) / 1e9;
        if (rates && since >= o->interval) {
            watch_rates(&w, &samples, &nsamples, since);
            last_sample = now;
        }
        double elapsed = (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9;
        if (o->timeout > 0 && elapsed >= o->timeout) {
            /* A timeout before the asked-for count is a failure; without --count it is the end. */
            if (o->count > 0)
                rc = EXIT_FAILED;
            break;
        }
    }
    CM_Unregister_Notification(reg);
    watch_devices_end(&w);
    free(samples);
    return rc;
}

/* ---- surprise-remove, event ---- */

static int cmd_surprise_remove(const options *o)
{
    DEVINST dn;
    int rc = locate(o, o->args[0], &dn);
    if (rc != EXIT_OK)
        return rc;
    CONFIGRET cr = PnpkitHostSurpriseRemove(dn);
    if (cr != CR_SUCCESS)
        return cr_fail(o, "surprise-remove", cr);
    return done(o, "surprise-removed", o->args[0]);
}

static int cmd_event(const options *o)
{
    GUID g;
    DEVINST dn;
    unsigned char *data = NULL;
    size_t len = 0;
    char gt[40];

    if (!parse_guid(o->args[1], &g)) {
        usage_error("event: '%s' is not a GUID", o->args[1]);
        return EXIT_USAGE;
    }
    if (o->nargs > 2 && !parse_hex(o->args[2], &data, &len)) {
        usage_error("event: '%s' is not hex bytes", o->args[2]);
        return EXIT_USAGE;
    }
    if (len > PNPKIT_HOST_MAX_EVENT_DATA) {
        free(data);
        usage_error("event: at most %u bytes of data", PNPKIT_HOST_MAX_EVENT_DATA);
        return EXIT_USAGE;
    }
    int rc = locate(o, o->args[0], &dn);
    if (rc != EXIT_OK) {
        free(data);
        return rc;
    }
    /* Without --name: binary data only, NameBufferOffset -1, as IoReportTargetDeviceChangeAsynchronous
     * callers without text pass. With it: the text follows the data (at an even offset) as
     * NUL-terminated UTF-16, and NameBufferOffset says where. */
    LONG name_offset = -1;
    if (o->name) {
        WCHAR wname[512];
        size_t wn = 0;
        if (!to_wide(o->name, wname, ARRAYSIZE(wname))) {
            free(data);
            usage_error("event: --name: not UTF-8, or longer than %zu characters", ARRAYSIZE(wname) - 1);
            return EXIT_USAGE;
        }
        while (wname[wn])
            wn++;
        size_t off = (len + 1) & ~(size_t)1, total = off + (wn + 1) * 2;
        if (total > PNPKIT_HOST_MAX_EVENT_DATA) {
            free(data);
            usage_error("event: at most %u bytes of data and name", PNPKIT_HOST_MAX_EVENT_DATA);
            return EXIT_USAGE;
        }
        unsigned char *t = realloc(data, total);
        if (!t) {
            free(data);
            return EXIT_FAILED;
        }
        data = t;
        memset(data + len, 0, total - len);
        for (size_t i = 0; i < wn; i++) {
            data[off + 2 * i] = (unsigned char)wname[i];
            data[off + 2 * i + 1] = (unsigned char)(wname[i] >> 8);
        }
        name_offset = (LONG)off;
        len = total;
    }
    CONFIGRET cr = PnpkitHostReportCustomEvent(dn, &g, name_offset, data, (ULONG)len);
    free(data);
    if (cr != CR_SUCCESS)
        return cr_fail(o, "event", cr);
    format_guid(&g, gt, sizeof(gt));
    if (o->json) {
        printf("{\"device\":");
        json_string(stdout, o->args[0]);
        printf(",\"result\":\"delivered\",\"event\":\"%s\",\"bytes\":%zu}\n", gt, len);
    } else {
        printf("%s: event %s delivered (%zu bytes)\n", o->args[0], gt, len);
    }
    return EXIT_OK;
}

/* ---- Command line ---- */

static const command commands[] = {
    { "tree", cmd_tree, 0, 0, "pnpctl [--json] tree",
      "Prints the device tree from the root: each device's instance id, its DN_* status flags and\n"
      "its problem code when it has one." },
    { "interfaces", cmd_interfaces, 0, 1, "pnpctl [--json] interfaces [GUID]",
      "Lists the present interface links of the class GUID ({xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx},\n"
      "braces optional), one per line, or of every class without GUID (a host of protocol\n"
      "revision 2: PNPKIT_CM_GET_DEVICE_INTERFACE_LIST_ALL_CLASSES; an older host needs the GUID,\n"
      "exit 4). Disabled interfaces are not listed." },
    { "watch", cmd_watch, 0, 1,
      "pnpctl [--json] watch [GUID] [--count N] [--timeout SECONDS] [--interval SECONDS] [--no-events] [--no-rates]",
      "Prints what happens to the interfaces of the class GUID, or of every class, one line each:\n"
      "  arrival CLASS LINK / removal CLASS LINK      interface arrivals and removals\n"
      "  event DEVICE GUID LENGTH HEX                 a custom event of a device (first 32 bytes)\n"
      "  rate pid PID handle H R req/s B B/s LINK     requests/s of each open handle that did\n"
      "                                               I/O, sampled every --interval (default 1 s)\n"
      "To hear a device's custom events watch opens one of its interfaces with no access and\n"
      "registers on that handle (as any application must); it closes it on a query-remove (never\n"
      "vetoes) and reopens it when the removal is cancelled. --no-events: open nothing.\n"
      "Ends on Ctrl-C, after N arrivals, removals and events (exit 0), or after the timeout (exit 0\n"
      "without --count, 1 when fewer than N came)." },
    { "eject", cmd_eject, 1, 1, "pnpctl [--json] eject DEVICE",
      "Orderly removal of DEVICE (an instance id such as SWD\\PKHOST\\dev1) and its children\n"
      "(CM_Query_And_Remove_SubTree). A veto prints the veto type and the vetoer's name, exit 1." },
    { "disable", cmd_disable, 1, 1, "pnpctl [--json] disable DEVICE",
      "Removes DEVICE and keeps it in the tree as disabled (problem 22)." },
    { "enable", cmd_enable, 1, 1, "pnpctl [--json] enable DEVICE", "Starts a disabled DEVICE again." },
    { "ioctl", cmd_ioctl, 2, 3, "pnpctl [--json] ioctl LINK CODE [HEX] [--out N]",
      "Opens LINK (\\\\?\\... as 'interfaces' prints it) for reading and writing, sends the control\n"
      "code CODE (decimal or 0x hex) with the bytes HEX as input and an N-byte output buffer\n"
      "(default 4096), and prints the output as hex. An error prints its Win32 value and name." },
    { "graph", cmd_graph, 0, 0, "pnpctl [--json] graph [--class GUID]...",
      "Prints the device tree as a Graphviz DOT digraph (pnpctl graph | dot -Tsvg > pnp.svg): devices\n"
      "(boxes; dashed with a problem, grey when not started), their present interfaces (ellipses;\n"
      "of the classes given with --class, else of every class), and the applications' open\n"
      "handles: a node per process (pid and program name) with an edge to a node per handle\n"
      "(access, requests completed, in flight) and an edge from it to the interface it opened.\n"
      "With --json: {\"devices\":[...],\"handles\":[...]}." },
    { "surprise-remove", cmd_surprise_remove, 1, 1, "pnpctl [--json] surprise-remove DEVICE",
      "Makes DEVICE and its children vanish as unplugged hardware does: nobody is asked (no\n"
      "query-remove, no veto); drivers and applications registered on it get remove-complete.\n"
      "Returns once the removal and its notifications are done. Reserved to root and the host's\n"
      "user (exit 5 for others); exit 4 with a host older than protocol revision 2." },
    { "event", cmd_event, 2, 3, "pnpctl [--json] event DEVICE GUID [HEX] [--name TEXT]",
      "Raises the custom event GUID on DEVICE with the bytes HEX as its data (none without HEX),\n"
      "as the driver would with IoReportTargetDeviceChangeAsynchronous: no text (name offset -1),\n"
      "or with --name the UTF-16 TEXT after the data, at an even offset the event carries.\n"
      "Every driver and application registered on the device receives it; returns once they\n"
      "all have. A system PnP event GUID fails (CR_INVALID_DATA). Reserved to root and the host's\n"
      "user (exit 5 for others); exit 4 with a host older than protocol revision 2." },
};

static void print_help(void)
{
    printf("usage: pnpctl [--json] COMMAND [ARGS]\n\n"
           "The command-line tool of a running pnphost. The host is found as libpnpkit-client finds\n"
           "it: PNPKIT_HOST_SOCKET, else /run/pnpkit/pnphost.sock for root, else\n"
           "$XDG_RUNTIME_DIR/pnpkit/pnphost.sock (or /tmp/pnpkit-<uid>/pnphost.sock), then\n"
           "/run/pnpkit/pnphost.sock.\n\ncommands:\n");
    for (size_t i = 0; i < ARRAYSIZE(commands); i++)
        printf("  %s\n", commands[i].usage);
    printf("\n--json gives machine-readable output. pnpctl COMMAND --help says more.\n"
           "exit: 0 success, 1 operation failed, 2 usage error, 3 cannot reach the host, 4 not supported\n"
           "by this host, 5 not permitted\n");
}

static bool take_number(const char *opt, const char *text, double min, double max, double *value)
{
    char *end;
    if (!text) {
        usage_error("%s needs a value", opt);
        return false;
    }
    errno = 0;
    *value = strtod(text, &end);
    if (errno || *end || end == text || *value < min || *value > max) {
        usage_error("%s: bad value '%s'", opt, text);
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    options o = { .out = 4096, .interval = 1.0 };
    const command *cmd = NULL;
    const char *cmd_name = NULL;
    double v;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            o.json = true;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            o.help = true;
        } else if (!strcmp(a, "--count")) {
            if (!take_number(a, i + 1 < argc ? argv[i + 1] : NULL, 1, 1e9, &v))
                return EXIT_USAGE;
            i++;
            o.count = (long)v;
        } else if (!strcmp(a, "--timeout")) {
            if (!take_number(a, i + 1 < argc ? argv[i + 1] : NULL, 0.001, 1e7, &v))
                return EXIT_USAGE;
            i++;
            o.timeout = v;
        } else if (!strcmp(a, "--interval")) {
            if (!take_number(a, i + 1 < argc ? argv[i + 1] : NULL, 0.05, 3600, &v))
                return EXIT_USAGE;
            i++;
            o.interval = v;
            o.watch_only = true;
        } else if (!strcmp(a, "--no-events")) {
            o.no_events = true;
            o.watch_only = true;
        } else if (!strcmp(a, "--no-rates")) {
            o.no_rates = true;
            o.watch_only = true;
        } else if (!strcmp(a, "--out")) {
            if (!take_number(a, i + 1 < argc ? argv[i + 1] : NULL, 0, PNPKIT_HOST_MAX_IO, &v))
                return EXIT_USAGE;
            i++;
            o.out = (unsigned long)v;
        } else if (!strcmp(a, "--name")) {
            if (i + 1 >= argc) {
                usage_error("--name needs a text");
                return EXIT_USAGE;
            }
            o.name = argv[++i];
        } else if (!strcmp(a, "--class")) {
            if (i + 1 >= argc || o.nclasses == MAX_CLASSES) {
                usage_error("--class needs a GUID (at most %d)", MAX_CLASSES);
                return EXIT_USAGE;
            }
            o.classes[o.nclasses++] = argv[++i];
        } else if (a[0] == '-' && a[1] == '-') {
            usage_error("unknown option '%s'", a);
            return EXIT_USAGE;
        } else if (!cmd_name) {
            cmd_name = a;
        } else if (o.nargs < (int)ARRAYSIZE(o.args)) {
            o.args[o.nargs++] = a;
        } else {
            usage_error("too many arguments");
            return EXIT_USAGE;
        }
    }
    if (!cmd_name) {
        if (o.help) {
            print_help();
            return EXIT_OK;
        }
        usage_error("no command");
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < ARRAYSIZE(commands); i++)
        if (!strcmp(commands[i].name, cmd_name))
            cmd = &commands[i];
    if (!cmd) {
        usage_error("unknown command '%s'", cmd_name);
        return EXIT_USAGE;
    }
    if (o.help) {
        printf("usage: %s\n\n%s\n", cmd->usage, cmd->help);
        return EXIT_OK;
    }
    if (o.nargs < cmd->min_args || o.nargs > cmd->max_args) {
        usage_error("%s: wrong number of arguments; usage: %s", cmd->name, cmd->usage);
        return EXIT_USAGE;
    }
    if ((o.count || o.timeout > 0 || o.watch_only) && cmd->run != cmd_watch) {
        usage_error("--count, --timeout, --interval, --no-events and --no-rates are options of watch");
        return EXIT_USAGE;
    }
    if (o.name && cmd->run != cmd_event) {
        usage_error("--name is an option of event");
        return EXIT_USAGE;
    }
    if (o.nclasses && cmd->run != cmd_graph) {
        usage_error("--class is an option of graph");
        return EXIT_USAGE;
    }
    int rc = cmd->run(&o);
    fflush(stdout);
    return rc;
}
