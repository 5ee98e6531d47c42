/*
 * pk_hostapp — a scriptable application of pnphost for the host tests and bench_host. It links
 * libpnpkit-client only, like any application, and reads commands from stdin, one per line:
 *
 *     <tag> <command> <arguments...>
 *
 * and answers each with one line "<tag> ok ..." or "<tag> err <code> ...". Notification
 * callbacks print "ev <registration> <action> ..." lines as they run, from the library's
 * threads. Handles and registrations are named by the script (h1, r1, ...). "@N" at the start
 * of an argument stands for the N-th link of the last `list`.
 *
 * Commands (codes in errors are GetLastError values, or CONFIGRETs for the CM_* ones, decimal):
 *   list <guid> [all]                     -> ok <count> <link>...
 *   listsize <guid>                       -> ok <chars>
 *   open <h> <name> [r|w|rw|none] [overlapped]
 *   close <h>
 *   ioctl <h> <CODE> <in-hex|-> <outlen>  -> ok <bytes> <out-hex> | err <code> <bytes> <out-hex>
 *   write <h> <hex>  /  read <h> <len>
 *   counters <h>                          -> ok creates=.. cleanups=.. closes=.. cancelled=.. pending=..
 *   lastcreate <h>                        -> ok <name>
 *   aioctl <h> <slot> <CODE> <in-hex|-> <outlen>  /  aread <h> <slot> <len>  /  awrite <h> <slot> <hex>
 *   await <h> <slot> [nowait]             -> ok <bytes> <hex> | err <code> | incomplete
 *   cancel <h> [slot]
 *   reg iface <r> <guid|all> [quiet]
 *   reg handle <r> <h> [veto|closeonquery|unregself|hang]
 *   reg instance <r> <instance-id|all>
 *   unreg <r>
 *   count <r>                             -> ok <events seen>
 *   waitcount <r> <n> <timeout-ms>        -> ok <n> | err timeout <seen>
 *   locate <instance-id>                  -> ok <devinst>
 *   remove <instance-id>                  -> ok | err <cr> veto=<type> name=<name>
 *   benchioctl <h> <iterations> <bytes>   -> ok <ns per round trip>
 *   benchtoggle <h> <count>               -> ok  (enables and disables the toggle interface)
 *   sleep <ms>  /  exit [status]
 */
#include <pnpkit/fileapi.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pkhost_ioctl.h"

#define MAX_NAMED 64
#define MAX_SLOTS 16
#define MAX_LINKS 64

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&out_lock);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    pthread_mutex_unlock(&out_lock);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- Text ---- */

static void to_wide(const char *s, WCHAR *w, size_t cap)
{
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++)
        w[i] = (WCHAR)(unsigned char)s[i];
    w[i] = 0;
}

static void to_narrow(const WCHAR *w, size_t n, char *s, size_t cap)
{
    size_t i = 0;
    for (; i < n && w[i] && i + 1 < cap; i++)
        s[i] = w[i] < 0x80 ? (char)w[i] : '?';
    s[i] = 0;
}

static size_t from_hex(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = 0;
    if (!strcmp(hex, "-"))
        return 0;
    while (hex[0] && hex[1] && n < cap) {
        unsigned v;
        if (sscanf(hex, "%2x", &v) != 1)
            break;
        out[n++] = (unsigned char)v;
        hex += 2;
    }
    return n;
}

static char *to_hex(const unsigned char *p, size_t n)
{
    char *s = malloc(n * 2 + 2);
    if (!s)
        abort();
    for (size_t i = 0; i < n; i++)
        sprintf(s + 2 * i, "%02x", p[i]);
    if (!n)
        strcpy(s, "-");
    return s;
}

static bool parse_guid(const char *t, GUID *g)
{
    unsigned d[11];
    if (!strcmp(t, "ECHO")) {
        *g = PKHOST_ECHO_GUID;
        return true;
    }
    if (!strcmp(t, "SECURE")) {
        *g = PKHOST_SECURE_GUID;
        return true;
    }
    if (!strcmp(t, "TOGGLE")) {
        *g = PKHOST_TOGGLE_GUID;
        return true;
    }
    if (sscanf(t, "{%8x-%4x-%4x-%2x%2x-%2x%2x%2x%2x%2x%2x}", &d[0], &d[1], &d[2], &d[3], &d[4], &d[5], &d[6], &d[7],
               &d[8], &d[9], &d[10]) != 11)
        return false;
    g->Data1 = d[0];
    g->Data2 = (USHORT)d[1];
    g->Data3 = (USHORT)d[2];
    for (int i = 0; i < 8; i++)
        g->Data4[i] = (UCHAR)d[3 + i];
    return true;
}

static void guid_text(const GUID *g, char *s)
{
    sprintf(s, "{%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x}", g->Data1, g->Data2, g->Data3, g->Data4[0],
            g->Data4[1], g->Data4[2], g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6], g->Data4[7]);
}

static bool parse_code(const char *t, DWORD *code)
{
    static const struct { const char *name; DWORD code; } codes[] = {
        { "ECHO", IOCTL_PKH_ECHO },
        { "COUNTERS", IOCTL_PKH_COUNTERS },
        { "LAST_CREATE", IOCTL_PKH_LAST_CREATE },
        { "PEND", IOCTL_PKH_PEND },
        { "REPORT_EVENT", IOCTL_PKH_REPORT_EVENT },
        { "SET_VETO", IOCTL_PKH_SET_VETO },
        { "TOGGLE", IOCTL_PKH_TOGGLE },
        { "ECHO_LATER", IOCTL_PKH_ECHO_LATER },
        { "ECHO_DIRECT", IOCTL_PKH_ECHO_DIRECT },
        { "ECHO_NEITHER", IOCTL_PKH_ECHO_NEITHER },
        { "NEEDS_WRITE", IOCTL_PKH_NEEDS_WRITE },
        { "OVERFLOW", IOCTL_PKH_OVERFLOW },
    };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (!strcmp(t, codes[i].name)) {
            *code = codes[i].code;
            return true;
        }
    char *end;
    unsigned long v = strtoul(t, &end, 0);
    *code = (DWORD)v;
    return *t && !*end;
}

/* ---- Named things ---- */

typedef struct slot {
    OVERLAPPED ov;
    unsigned char buf[PNPKIT_HOST_MAX_IO];
    bool used;
} slot;

typedef struct named_handle {
    char name[16];
    HANDLE h;
    slot *slots[MAX_SLOTS];
} named_handle;

typedef struct named_reg {
    char name[16];
    HCMNOTIFICATION h;
    HANDLE target;              /* DEVICEHANDLE: the handle to close on query-remove */
    bool veto, close_on_query, unreg_self, quiet, hang;
    uint64_t count;             /* out_lock */
} named_reg;

static named_handle handles[MAX_NAMED];
static named_reg regs[MAX_NAMED];
static char links[MAX_LINKS][512];
static int n_links;

static named_handle *find_handle(const char *name, bool create)
{
    for (int i = 0; i < MAX_NAMED; i++)
        if (!strcmp(handles[i].name, name))
            return &handles[i];
    if (!create)
        return NULL;
    for (int i = 0; i < MAX_NAMED; i++)
        if (!handles[i].name[0]) {
            snprintf(handles[i].name, sizeof(handles[i].name), "%s", name);
            return &handles[i];
        }
    return NULL;
}

static named_reg *find_reg(const char *name, bool create)
{
    for (int i = 0; i < MAX_NAMED; i++)
        if (!strcmp(regs[i].name, name))
            return &regs[i];
    if (!create)
        return NULL;
    for (int i = 0; i < MAX_NAMED; i++)
        if (!regs[i].name[0]) {
            memset(&regs[i], 0, sizeof(regs[i]));
            snprintf(regs[i].name, sizeof(regs[i].name), "%s", name);
            return &regs[i];
        }
    return NULL;
}

/* "@N" at the start of an argument: the N-th link of the last list. */
static void expand(const char *arg, char *out, size_t cap)
{
    if (arg[0] == '@') {
        char *end;
        long n = strtol(arg + 1, &end, 10);
        if (end != arg + 1 && n >= 0 && n < n_links) {
            snprintf(out, cap, "%s%s", links[n], end);
            return;
        }
    }
    snprintf(out, cap, "%s", arg);
}

/* ---- Notifications ---- */

static const char *action_name(CM_NOTIFY_ACTION a)
{
    static const char *const names[] = { "arrival",        "removal",       "queryremove", "queryremovefailed",
                                         "removepending",  "removecomplete", "custom",      "enumerated",
                                         "started",        "instanceremoved" };
    return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

static DWORD callback(HCMNOTIFICATION h, PVOID context, CM_NOTIFY_ACTION action, PCM_NOTIFY_EVENT_DATA data, DWORD size)
{
    named_reg *r = context;
    char text[600];

    pthread_mutex_lock(&out_lock);
    r->count++;
    pthread_mutex_unlock(&out_lock);
    if (r->quiet)
        return ERROR_SUCCESS;
    switch (data->FilterType) {
    case CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE:
        to_narrow(data->u.DeviceInterface.SymbolicLink, 512, text, sizeof(text));
        say("ev %s %s %s", r->name, action_name(action), text);
        break;
    case CM_NOTIFY_FILTER_TYPE_DEVICEHANDLE:
        if (action == CM_NOTIFY_ACTION_DEVICECUSTOMEVENT) {
            char g[40];
            char *hex = to_hex(data->u.DeviceHandle.Data, data->u.DeviceHandle.DataSize);
            guid_text(&data->u.DeviceHandle.EventGuid, g);
            say("ev %s custom %s %d %s", r->name, g, (int)data->u.DeviceHandle.NameOffset, hex);
            free(hex);
        } else {
            say("ev %s %s", r->name, action_name(action));
        }
        break;
    default:
        to_narrow(data->u.DeviceInstance.InstanceId, MAX_DEVICE_ID_LEN, text, sizeof(text));
        say("ev %s %s %s", r->name, action_name(action), text);
        break;
    }
    if (r->unreg_self)
        say("ev %s unregself %u", r->name, (unsigned)CM_Unregister_Notification(h));
    if (action == CM_NOTIFY_ACTION_DEVICEQUERYREMOVE) {
        if (r->hang)
            sleep(3600); /* an application that never answers (the test kills it) */
        if (r->veto)
            return ERROR_CANCELLED;
        if (r->close_on_query && r->target) {
            CloseHandle(r->target);
            r->target = NULL;
            say("ev %s closed", r->name);
        }
    }
    return ERROR_SUCCESS;
}

/* ---- Commands ---- */

#define MAX_ARGS 8

static void reply_io(const char *tag, BOOL ok, DWORD n, const unsigned char *buf)
{
    char *hex = to_hex(buf, n);
    if (ok)
        say("%s ok %u %s", tag, (unsigned)n, hex);
    else
        say("%s err %u %u %s", tag, (unsigned)GetLastError(), (unsigned)n, hex);
    free(hex);
}

static slot *get_slot(named_handle *nh, const char *s)
{
    int i = atoi(s);
    if (i < 0 || i >= MAX_SLOTS)
        return NULL;
    if (!nh->slots[i]) {
        nh->slots[i] = calloc(1, sizeof(slot));
        if (!nh->slots[i])
            abort();
        nh->slots[i]->ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    }
    return nh->slots[i];
}

static int run(char *line)
{
    char *argv[MAX_ARGS + 2] = { 0 };
    int argc = 0;
    char *save = NULL;
    /* Larger than the library's limit, so that scripts can test the limit. */
    static unsigned char in[PNPKIT_HOST_MAX_IO + 16], out[PNPKIT_HOST_MAX_IO + 16];
    const char *tag;

    for (char *t = strtok_r(line, " \t\r\n", &save); t && argc < MAX_ARGS + 2; t = strtok_r(NULL, " \t\r\n", &save))
        argv[argc++] = t;
    if (argc < 2)
        return 0;
    tag = argv[0];
    const char *cmd = argv[1];
    char **a = argv + 2;
    int n = argc - 2;

    if (!strcmp(cmd, "list") || !strcmp(cmd, "listsize")) {
        GUID g;
        ULONG len = 0;
        if (n < 1 || !parse_guid(a[0], &g)) {
            say("%s err bad-arguments", tag);
            return 0;
        }
        ULONG flags = n > 1 && !strcmp(a[1], "all") ? CM_GET_DEVICE_INTERFACE_LIST_ALL_DEVICES : 0;
        CONFIGRET cr;
        WCHAR *list = NULL;
        do {
            cr = CM_Get_Device_Interface_List_SizeW(&len, &g, NULL, flags);
            if (cr != CR_SUCCESS)
                break;
            if (!strcmp(cmd, "listsize")) {
                say("%s ok %lu", tag, (unsigned long)len);
                return 0;
            }
            free(list);
            list = malloc(len * sizeof(WCHAR));
            cr = CM_Get_Device_Interface_ListW(&g, NULL, list, len, flags);
        } while (cr == CR_BUFFER_SMALL);
        if (cr != CR_SUCCESS) {
            free(list);
            say("%s err %u", tag, (unsigned)cr);
            return 0;
        }
        char text[8192];
        int at = 0, count = 0;
        n_links = 0;
        text[0] = 0;
        for (WCHAR *p = list; *p;) {
            size_t k = 0;
            while (p[k])
                k++;
            if (n_links < MAX_LINKS)
                to_narrow(p, k, links[n_links++], sizeof(links[0]));
            at += snprintf(text + at, sizeof(text) - (size_t)at, " %s", links[n_links - 1]);
            count++;
            p += k + 1;
            if (at >= (int)sizeof(text))
                break;
        }
        free(list);
        say("%s ok %d%s", tag, count, text);
        return 0;
    }
    if (!strcmp(cmd, "open")) {
        char name[1100];
        WCHAR wname[1100];
        DWORD access = GENERIC_READ | GENERIC_WRITE, flags = 0;
        named_handle *nh;
        if (n < 2 || !(nh = find_handle(a[0], true))) {
            say("%s err bad-arguments", tag);
            return 0;
        }
        expand(a[1], name, sizeof(name));
        to_wide(name, wname, ARRAYSIZE(wname));
        for (int i = 2; i < n; i++) {
            if (!strcmp(a[i], "r"))
                access = GENERIC_READ;
            else if (!strcmp(a[i], "w"))
                access = GENERIC_WRITE;
            else if (!strcmp(a[i], "none"))
                access = 0;
            else if (!strcmp(a[i], "overlapped"))
                flags |= FILE_FLAG_OVERLAPPED;
        }
        nh->h = CreateFileW(wname, access, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, flags, NULL);
        if (nh->h == INVALID_HANDLE_VALUE)
            say("%s err %u", tag, (unsigned)GetLastError());
        else
            say("%s ok", tag);
        return 0;
    }
    named_handle *nh = n >= 1 ? find_handle(a[0], false) : NULL;
    if (!strcmp(cmd, "close")) {
        if (!nh) {
            say("%s err bad-arguments", tag);
            return 0;
        }
        if (CloseHandle(nh->h))
            say("%s ok", tag);
        else
            say("%s err %u", tag, (unsigned)GetLastError());
        return 0;
    }
    if (!strcmp(cmd, "ioctl") || !strcmp(cmd, "counters") || !strcmp(cmd, "lastcreate")) {
        DWORD code, ret = 0, outlen;
        size_t inlen = 0;
        if (!nh) {
            say("%s err bad-arguments", tag);
            return 0;
        }
        if (!strcmp(cmd, "counters")) {
            pkh_counters c;
            if (!DeviceIoControl(nh->h, IOCTL_PKH_COUNTERS, NULL, 0, &c, sizeof(c), &ret, NULL))
                say("%s err %u", tag, (unsigned)GetLastError());
            else
                say("%s ok creates=%d cleanups=%d closes=%d cancelled=%d pending=%d", tag, c.creates, c.cleanups,
                    c.closes, c.cancelled, c.pending);
            return 0;
        }
        if (!strcmp(cmd, "lastcreate")) {
            WCHAR name[256];
            char text[300];
            if (!DeviceIoControl(nh->h, IOCTL_PKH_LAST_CREATE, NULL, 0, name, sizeof(name), &ret, NULL)) {
                say("%s err %u", tag, (unsigned)GetLastError());
                return 0;
            }
            to_narrow(name, ret / sizeof(WCHAR), text, sizeof(text));
            say("%s ok %s", tag, ret ? text : "-");
            return 0;
        }
        if (n < 4 || !parse_code(a[1], &code)) {
            say("%s err bad-arguments", tag);
            return 0;
        }
        inlen = from_hex(a[2], in, sizeof(in));
        outlen = (DWORD)strtoul(a[3], NULL, 0);
        if (outlen > sizeof(out))
            outlen = sizeof(out);
        memset(out, 0, outlen);
        BOOL ok = DeviceIoControl(nh->h, code, inlen ? in : NULL, (DWORD)inlen, outlen ? out : NULL, outlen, &ret, NULL);
        reply_io(tag, ok, ret, out);
        return 0;
    }
    if (!strcmp(cmd, "write") || !strcmp(cmd, "read")) {
        DWORD ret = 0;
        BOOL ok;
        if (!nh || n < 2) {
            say("%s err bad-arguments", tag);
            return 0;
        }
        if (!strcmp(cmd, "write")) {
            size_t len = from_hex(a[1], in, sizeof(in));
            ok = WriteFile(nh->h, in, (DWORD)len, &ret, NULL);
            if (ok)
                say("%s ok %u", tag, (unsigned)ret);
            else
                say("%s err %u", tag, (unsigned)GetLastError());
        } else {
            DWORD len = (DWORD)strtoul(a[1], NULL, 0);
            if (len > sizeof(out))
                len = sizeof(out);
            ok = ReadFile(nh->h, out, len, &ret, NULL);
            reply_io(tag, ok, ret, out);
        }
        return 0;
    }
    if (!strcmp(cmd, "aioctl") || !strcmp(cmd, "aread") || !strcmp(cmd, "awrite")) {
        slot *s;
        BOOL ok;
        if (!nh || n < 3 || !(s = get_slot(nh, a[1]))) {
            say("%s err bad-arguments", tag);
            return 0;
        }
        memset(&s->ov, 0, offsetof(OVERLAPPED, hEvent));
        if (!strcmp(cmd, "aioctl")) {
            DWORD code, outlen;
            if (n < 5 || !parse_code(a[2], &code)) {
                say("%s err bad-arguments", tag);
                return 0;
            }
            size_t inlen = from_hex(a[3], in, sizeof(in));
            outlen = (DWORD)strtoul(a[4], NULL, 0);
            if (outlen > sizeof(s->buf))
                outlen = sizeof(s->buf);
            ok = DeviceIoControl(nh->h, code, inlen ? in : NULL, (DWORD)inlen, outlen ? s->buf : NULL, outlen, NULL,
                                 &s->ov);
        } else if (!strcmp(cmd, "aread")) {
            DWORD len = (DWORD)strtoul(a[2], NULL, 0);
            if (len > sizeof(s->buf))
                len = sizeof(s->buf);
            ok = ReadFile(nh->h, s->buf, len, NULL, &s->ov);
        } else {
            size_t len = from_hex(a[2], s->buf, sizeof(s->buf));
            ok = WriteFile(nh->h, s->buf, (DWORD)len, NULL, &s->ov);
        }
        if (!ok && GetLastError() == ERROR_IO_PENDING)
            say("%s ok pending", tag);
        else if (ok)
            say("%s ok done", tag);
        else
            say("%s err %u", tag, (unsigned)GetLastError());
        return 0;
    }
    if (!strcmp(cmd, "await")) {
        slot *s;
        DWORD ret = 0;
        if (!nh || n < 2 || !(s = get_slot(nh, a[1]))) {
            say("%s err bad-arguments", tag);
            return 0;
        }
        BOOL wait = !(n > 2 && !strcmp(a[2], "nowait"));
        if (wait && WaitForSingleObject(s->ov.hEvent, 30000) != WAIT_OBJECT_0) {
            say("%s err timeout", tag);
            return 0;
        }
        BOOL ok = GetOverlappedResult(nh->h, &s->ov, &ret, wait);
        if (!ok && GetLastError() == ERROR_IO_INCOMPLETE)
            say("%s incomplete", tag);
        else
            reply_io(tag, ok, ret, s->buf);
        return 0;
    }
    if (!strcmp(cmd, "cancel")) {
        if (!nh) {
            say("%s err bad-arguments", tag);
            return 0;
        }
        slot *s = n > 1 ? get_slot(nh, a[1]) : NULL;
        if (CancelIoEx(nh->h, s ? &s->ov : NULL))
            say("%s ok", tag);
        else
            say("%s err %u", tag, (unsigned)GetLastError());
        return 0;
    }
    if (!strcmp(cmd, "reg")) {
        CM_NOTIFY_FILTER f;
        named_reg *r;
        if (n < 3 || !(r = find_reg(a[1], true))) {
            say("%s err bad-arguments", tag);
            return 0;
        }
        memset(&f, 0, sizeof(f));
        f.cbSize = sizeof(f);
        if (!strcmp(a[0], "iface")) {
            f.FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE;
            if (!strcmp(a[2], "all"))
                f.Flags = CM_NOTIFY_FILTER_FLAG_ALL_INTERFACE_CLASSES;
            else if (!parse_guid(a[2], &f.u.DeviceInterface.ClassGuid)) {
                say("%s err bad-arguments", tag);
                return 0;
            }
            r->quiet = n > 3 && !strcmp(a[3], "quiet");
        } else if (!strcmp(a[0], "handle")) {
            named_handle *t = find_handle(a[2], false);
            f.FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEHANDLE;
            f.u.DeviceHandle.hTarget = t ? t->h : NULL;
            r->target = t ? t->h : NULL;
            r->veto = n > 3 && !strcmp(a[3], "veto");
            r->close_on_query = n > 3 && !strcmp(a[3], "closeonquery");
            r->unreg_self = n > 3 && !strcmp(a[3], "unregself");
            r->hang = n > 3 && !strcmp(a[3], "hang");
        } else {
            f.FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEINSTANCE;
            if (!strcmp(a[2], "all"))
                f.Flags = CM_NOTIFY_FILTER_FLAG_ALL_DEVICE_INSTANCES;
            else
                to_wide(a[2], f.u.DeviceInstance.InstanceId, MAX_DEVICE_ID_LEN);
        }
        CONFIGRET cr = CM_Register_Notification(&f, r, callback, &r->h);
        if (cr == CR_SUCCESS)
            say("%s ok", tag);
        else
            say("%s err %u", tag, (unsigned)cr);
        return 0;
    }
    named_reg *r = n >= 1 ? find_reg(a[0], false) : NULL;
    if (!strcmp(cmd, "unreg")) {
        CONFIGRET cr = r ? CM_Unregister_Notification(r->h) : CR_INVALID_DATA;
        if (cr == CR_SUCCESS)
            say("%s ok", tag);
        else
            say("%s err %u", tag, (unsigned)cr);
        return 0;
    }
    if (!strcmp(cmd, "count") || !strcmp(cmd, "waitcount")) {
        uint64_t want = n > 1 ? strtoull(a[1], NULL, 0) : 0, deadline, seen;
        if (!r) {
            say("%s err bad-arguments", tag);
            return 0;
        }
        deadline = now_ns() + (n > 2 ? strtoull(a[2], NULL, 0) : 0) * 1000000u;
        for (;;) {
            pthread_mutex_lock(&out_lock);
            seen = r->count;
            pthread_mutex_unlock(&out_lock);
            if (!strcmp(cmd, "count") || seen >= want || now_ns() >= deadline)
                break;
            usleep(1000);
        }
        if (!strcmp(cmd, "count") || seen >= want)
            say("%s ok %llu", tag, (unsigned long long)seen);
        else
            say("%s err timeout %llu", tag, (unsigned long long)seen);
        return 0;
    }
    if (!strcmp(cmd, "locate") || !strcmp(cmd, "remove")) {
        WCHAR id[MAX_DEVICE_ID_LEN];
        DEVINST dn;
        CONFIGRET cr;
        if (n < 1) {
            say("%s err bad-arguments", tag);
            return 0;
        }
        to_wide(a[0], id, ARRAYSIZE(id));
        cr = CM_Locate_DevNodeW(&dn, id, 0);
        if (cr != CR_SUCCESS) {
            say("%s err %u", tag, (unsigned)cr);
            return 0;
        }
        if (!strcmp(cmd, "locate")) {
            say("%s ok %u", tag, (unsigned)dn);
            return 0;
        }
        PNP_VETO_TYPE veto = PNP_VetoTypeUnknown;
        WCHAR name[128];
        char text[160];
        cr = CM_Query_And_Remove_SubTreeW(dn, &veto, name, ARRAYSIZE(name), 0);
        if (cr == CR_SUCCESS) {
            say("%s ok", tag);
        } else {
            to_narrow(name, ARRAYSIZE(name), text, sizeof(text));
            say("%s err %u veto=%d name=%s", tag, (unsigned)cr, (int)veto, text[0] ? text : "-");
        }
        return 0;
    }
    if (!strcmp(cmd, "benchioctl")) {
        uint64_t iterations, t0;
        DWORD size, ret;
        if (!nh || n < 3) {
            say("%s err bad-arguments", tag);
            return 0;
        }
        iterations = strtoull(a[1], NULL, 0);
        size = (DWORD)strtoul(a[2], NULL, 0);
        memset(in, 0x5a, size);
        for (int i = 0; i < 1000; i++) /* warm up */
            DeviceIoControl(nh->h, IOCTL_PKH_ECHO, in, size, out, size, &ret, NULL);
        double best = 1e30;
        for (int round = 0; round < 5; round++) {
            t0 = now_ns();
            for (uint64_t i = 0; i < iterations; i++)
                if (!DeviceIoControl(nh->h, IOCTL_PKH_ECHO, in, size, out, size, &ret, NULL) || ret != size) {
                    say("%s err %u", tag, (unsigned)GetLastError());
                    return 0;
                }
            double ns = (double)(now_ns() - t0) / (double)iterations;
            if (ns < best)
                best = ns;
        }
        say("%s ok %.1f", tag, best);
        return 0;
    }
    if (!strcmp(cmd, "benchtoggle")) {
        int count = n > 1 ? atoi(a[1]) : 0;
        DWORD ret;
        if (!nh) {
            say("%s err bad-arguments", tag);
            return 0;
        }
        for (int i = 0; i < count; i++) {
            ULONG on = 1, off = 0;
            if (!DeviceIoControl(nh->h, IOCTL_PKH_TOGGLE, &on, sizeof(on), NULL, 0, &ret, NULL) ||
                !DeviceIoControl(nh->h, IOCTL_PKH_TOGGLE, &off, sizeof(off), NULL, 0, &ret, NULL)) {
                say("%s err %u", tag, (unsigned)GetLastError());
                return 0;
            }
        }
        say("%s ok", tag);
        return 0;
    }
    if (!strcmp(cmd, "sleep")) {
        usleep((useconds_t)(n > 0 ? atoi(a[0]) : 0) * 1000u);
        say("%s ok", tag);
        return 0;
    }
    if (!strcmp(cmd, "exit")) {
        say("%s ok", tag);
        return 1 + (n > 0 ? atoi(a[0]) : 0);
    }
    say("%s err unknown-command", tag);
    return 0;
}

int main(void)
{
    char line[140000];
    int rc = 0;

    while (fgets(line, sizeof(line), stdin)) {
        int r = run(line);
        if (r) {
            rc = r - 1;
            break;
        }
    }
    /* Close what is still open, so that a clean exit leaves nothing behind in the host. */
    for (int i = 0; i < MAX_NAMED; i++) {
        if (regs[i].name[0] && regs[i].h)
            CM_Unregister_Notification(regs[i].h);
        if (handles[i].name[0] && handles[i].h && handles[i].h != INVALID_HANDLE_VALUE)
            CloseHandle(handles[i].h);
        for (int k = 0; k < MAX_SLOTS; k++)
            if (handles[i].slots[k]) {
                CloseHandle(handles[i].slots[k]->ov.hEvent);
                free(handles[i].slots[k]);
            }
    }
    return rc;
}
