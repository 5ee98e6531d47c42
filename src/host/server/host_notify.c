/*
 * host_notify.c — applications' notification registrations (CM_Register_Notification through
 * PNPH_REGISTER), and the forwarding of the host's own in-process notifications to them.
 *
 * Interface events: the host has one in-process DEVICEINTERFACE registration for all classes
 * (made before any driver loads). Its callback keeps the table of enabled interfaces and posts
 * PNPH_EVENT to every application registration of the event's class. Table and registrations
 * change under host.nlock, so a new registration's initial set (sent in its reply, used by the
 * library to report removals if the host dies) and the events it receives afterwards never
 * overlap nor leave a gap.
 *
 * Target-device and instance events: each application DEVICEHANDLE (DEVICEINSTANCE)
 * registration has an in-process registration of its own, with the same filter (the handle's
 * FILE_OBJECT). The in-process engine serializes its callbacks; the callback posts PNPH_EVENT
 * and, for a target-device event, waits for the application's PNPH_EVENT_ANSWER (at most
 * notification_timeout_ms). A veto (ERROR_CANCELLED) is returned to the engine as the answer; a
 * registration that ended or an application that went away counts as no veto, at once.
 *
 * Locking: host.nlock protects host.links, host.iface_regs, host.answers, host_reg.dead and
 * host_session.dead. Callbacks post messages under it (host_loop_post never blocks) and wait
 * on host.answer_cond with it. Nothing under it calls pnpkit.
 *
 * Lifetime: a host_reg has one reference, owned by its session's list (loop). It is released
 * after its in-process registration is gone (CM_Unregister_Notification, run as a work item
 * because it waits for a running callback, which may be waiting for an answer).
 */
#include "host/server/host_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct host_link {
    WCHAR *link;             /* user form (\\?\...), NUL-terminated */
    size_t chars;            /* without the NUL */
    GUID class_guid;
} host_link;

typedef struct host_answer {
    LIST_ENTRY link;         /* host.answers */
    host_session *session;
    host_reg *reg;
    uint32_t event_id;
    bool done;
    DWORD result;
} host_answer;

static bool target_event(CM_NOTIFY_ACTION action)
{
    return action >= CM_NOTIFY_ACTION_DEVICEQUERYREMOVE && action <= CM_NOTIFY_ACTION_DEVICECUSTOMEVENT;
}

static bool same_link(const host_link *l, const WCHAR *link, size_t chars)
{
    if (l->chars != chars)
        return false;
    for (size_t i = 0; i < chars; i++)
        if (RtlUpcaseUnicodeChar(l->link[i]) != RtlUpcaseUnicodeChar(link[i]))
            return false;
    return true;
}

/* Builds a PNPH_EVENT for reg and posts it to its session. host.nlock held. */
static void post_event_locked(host_reg *reg, uint32_t event_id, CM_NOTIFY_ACTION action, const void *data,
                              DWORD size)
{
    size_t cap = PNPH_HEADER_SIZE + 24u + size;
    uint8_t small[512], *buf = cap <= sizeof(small) ? small : malloc(cap);
    pnph_builder b;
    size_t len;

    if (!buf)
        return;
    pnph_begin(&b, buf, cap, PNPH_EVENT, 0);
    pnph_put_u64(&b, reg->id);
    pnph_put_u32(&b, event_id);
    pnph_put_u32(&b, (uint32_t)action);
    pnph_put_u32(&b, size);
    pnph_put_u32(&b, 0);
    pnph_put_bytes(&b, data, size);
    len = pnph_finish(&b);
    if (len)
        host_session_post_message(reg->session, buf, len);
    else
        host_log(HOST_LOG_ERROR, "an event of %lu bytes does not fit in a message", (unsigned long)size);
    if (buf != small)
        free(buf);
}

/* ---- The host's own interface registration ---- */

static DWORD iface_callback(HCMNOTIFICATION h, PVOID context, CM_NOTIFY_ACTION action, PCM_NOTIFY_EVENT_DATA data,
                            DWORD size)
{
    const WCHAR *link;
    size_t chars = 0, max;

    if ((action != CM_NOTIFY_ACTION_DEVICEINTERFACEARRIVAL && action != CM_NOTIFY_ACTION_DEVICEINTERFACEREMOVAL) ||
        size < (DWORD)FIELD_OFFSET(CM_NOTIFY_EVENT_DATA, u.DeviceInterface.SymbolicLink) + sizeof(WCHAR))
        return ERROR_SUCCESS;
    link = data->u.DeviceInterface.SymbolicLink;
    max = (size - (DWORD)FIELD_OFFSET(CM_NOTIFY_EVENT_DATA, u.DeviceInterface.SymbolicLink)) / sizeof(WCHAR);
    while (chars < max && link[chars])
        chars++;
    if (chars == max)
        return ERROR_SUCCESS;

    pthread_mutex_lock(&host.nlock);
    if (action == CM_NOTIFY_ACTION_DEVICEINTERFACEARRIVAL) {
        bool known = false;
        for (size_t i = 0; i < host.n_links && !known; i++)
            known = same_link(&host.links[i], link, chars);
        if (!known) {
            if (host.n_links == host.cap_links) {
                size_t cap = host.cap_links ? host.cap_links * 2 : 16;
                host_link *t = realloc(host.links, cap * sizeof(*t));
                if (t) {
                    host.links = t;
                    host.cap_links = cap;
                }
            }
            WCHAR *copy = malloc((chars + 1) * sizeof(WCHAR));
            if (copy && host.n_links < host.cap_links) {
                memcpy(copy, link, (chars + 1) * sizeof(WCHAR));
                host.links[host.n_links].link = copy;
                host.links[host.n_links].chars = chars;
                host.links[host.n_links].class_guid = data->u.DeviceInterface.ClassGuid;
                host.n_links++;
            } else {
                free(copy);
            }
        }
    } else {
        for (size_t i = 0; i < host.n_links; i++)
            if (same_link(&host.links[i], link, chars)) {
                free(host.links[i].link);
                host.links[i] = host.links[--host.n_links];
                break;
            }
    }
    for (PLIST_ENTRY e = host.iface_regs.Flink; e != &host.iface_regs; e = e->Flink) {
        host_reg *reg = CONTAINING_RECORD(e, host_reg, iface_link);
        if (!reg->dead && (reg->all || IsEqualGUID(&reg->class_guid, &data->u.DeviceInterface.ClassGuid)))
            post_event_locked(reg, 0, action, data, size);
    }
    pthread_mutex_unlock(&host.nlock);
    return ERROR_SUCCESS;
}

int host_notify_start(void)
{
    CM_NOTIFY_FILTER f;
    pthread_condattr_t ca;

    pthread_mutex_init(&host.nlock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&host.answer_cond, &ca);
    pthread_condattr_destroy(&ca);
    InitializeListHead(&host.iface_regs);
    InitializeListHead(&host.answers);
    memset(&f, 0, sizeof(f));
    f.cbSize = sizeof(f);
    f.Flags = CM_NOTIFY_FILTER_FLAG_ALL_INTERFACE_CLASSES;
    f.FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE;
    return CM_Register_Notification(&f, NULL, iface_callback, &host.iface_inproc) == CR_SUCCESS ? 0 : -1;
}

void host_notify_stop(void)
{
    if (host.iface_inproc)
        CM_Unregister_Notification(host.iface_inproc);
    host.iface_inproc = NULL;
    for (size_t i = 0; i < host.n_links; i++)
        free(host.links[i].link);
    free(host.links);
    host.links = NULL;
    host.n_links = host.cap_links = 0;
    pthread_cond_destroy(&host.answer_cond);
    pthread_mutex_destroy(&host.nlock);
}

void host_notify_put_links(pnph_builder *b, const GUID *class_guid, bool all)
{
    size_t total = 0;

    pthread_mutex_lock(&host.nlock);
    for (size_t i = 0; i < host.n_links; i++)
        if ((all || IsEqualGUID(&host.links[i].class_guid, class_guid)) &&
            total + host.links[i].chars + 2 <= PNPH_MAX_LIST_CHARS)
            total += host.links[i].chars + 1;
    if (total == 0) {
        pnph_put_u32(b, 0);
    } else {
        size_t put = 0;
        pnph_put_u32(b, (uint32_t)(total + 1));
        for (size_t i = 0; i < host.n_links; i++)
            if ((all || IsEqualGUID(&host.links[i].class_guid, class_guid)) && put + host.links[i].chars + 1 <= total) {
                pnph_put_wchars(b, host.links[i].link, host.links[i].chars + 1);
                put += host.links[i].chars + 1;
            }
        WCHAR nul = 0;
        pnph_put_wchars(b, &nul, 1);
    }
    pthread_mutex_unlock(&host.nlock);
}

CONFIGRET host_notify_all_links(const WCHAR *instance_id, WCHAR **list, ULONG *chars)
{
    size_t total = 1;
    WCHAR *out, *p;

    pthread_mutex_lock(&host.nlock);
    for (size_t i = 0; i < host.n_links; i++)
        if (!instance_id || host_link_of_device(host.links[i].link, instance_id))
            total += host.links[i].chars + 1;
    if (total > PNPH_MAX_LIST_CHARS) {
        pthread_mutex_unlock(&host.nlock);
        return CR_FAILURE;
    }
    out = malloc(total * sizeof(WCHAR));
    if (!out) {
        pthread_mutex_unlock(&host.nlock);
        return CR_OUT_OF_MEMORY;
    }
    p = out;
    for (size_t i = 0; i < host.n_links; i++)
        if (!instance_id || host_link_of_device(host.links[i].link, instance_id)) {
            memcpy(p, host.links[i].link, (host.links[i].chars + 1) * sizeof(WCHAR));
            p += host.links[i].chars + 1;
        }
    *p = 0;
    pthread_mutex_unlock(&host.nlock);
    *list = out;
    *chars = (ULONG)total;
    return CR_SUCCESS;
}

bool host_notify_link_of_device(const WCHAR *instance_id, WCHAR *out, size_t cap)
{
    bool found = false;

    pthread_mutex_lock(&host.nlock);
    for (size_t i = 0; i < host.n_links && !found; i++)
        if (host.links[i].chars < cap && host_link_of_device(host.links[i].link, instance_id)) {
            memcpy(out, host.links[i].link, (host.links[i].chars + 1) * sizeof(WCHAR));
            found = true;
        }
    pthread_mutex_unlock(&host.nlock);
    return found;
}

/* ---- Per-registration callbacks (DEVICEHANDLE, DEVICEINSTANCE) ---- */

static DWORD reg_callback(HCMNOTIFICATION h, PVOID context, CM_NOTIFY_ACTION action, PCM_NOTIFY_EVENT_DATA data,
                          DWORD size)
{
    host_reg *reg = context;
    host_answer a;
    DWORD result = ERROR_SUCCESS;
    struct timespec deadline;

    pthread_mutex_lock(&host.nlock);
    if (reg->dead || reg->session->dead) {
        pthread_mutex_unlock(&host.nlock);
        return ERROR_SUCCESS; /* a gone application never vetoes */
    }
    if (!target_event(action)) {
        post_event_locked(reg, 0, action, data, size);
        pthread_mutex_unlock(&host.nlock);
        return ERROR_SUCCESS;
    }
    memset(&a, 0, sizeof(a));
    a.session = reg->session;
    a.reg = reg;
    if (++host.next_event_id == 0)
        host.next_event_id = 1;
    a.event_id = host.next_event_id;
    InsertTailList(&host.answers, &a.link);
    host_atomic_inc(&host.n_answers);
    post_event_locked(reg, a.event_id, action, data, size);

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += host.cfg.notification_timeout_ms / 1000u;
    deadline.tv_nsec += (long)(host.cfg.notification_timeout_ms % 1000u) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    while (!a.done)
        if (pthread_cond_timedwait(&host.answer_cond, &host.nlock, &deadline) == ETIMEDOUT)
            break;
    RemoveEntryList(&a.link);
    host_atomic_dec(&host.n_answers);
    if (a.done)
        result = a.result;
    else
        host_log(HOST_LOG_INFO, "pid %d did not answer event %u in %u ms: no veto", (int)reg->session->cred.pid,
                 a.event_id, host.cfg.notification_timeout_ms);
    pthread_mutex_unlock(&host.nlock);
    return result;
}

void host_notify_answer(host_conn *c, const pnph_msg *m)
{
    pthread_mutex_lock(&host.nlock);
    for (PLIST_ENTRY e = host.answers.Flink; e != &host.answers; e = e->Flink) {
        host_answer *a = CONTAINING_RECORD(e, host_answer, link);
        if (a->session == c->session && a->event_id == m->u.answer.event_id && !a->done) {
            a->done = true;
            a->result = m->u.answer.result;
            pthread_cond_broadcast(&host.answer_cond);
            break;
        }
    }
    pthread_mutex_unlock(&host.nlock); /* an answer nobody waits for any more is dropped */
}

/* Marks reg dead and releases whoever waits for its answers. host.nlock held. */
static void kill_reg_locked(host_reg *reg)
{
    reg->dead = true;
    if (reg->type == CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE)
        RemoveEntryList(&reg->iface_link);
    for (PLIST_ENTRY e = host.answers.Flink; e != &host.answers; e = e->Flink) {
        host_answer *a = CONTAINING_RECORD(e, host_answer, link);
        if (a->reg == reg && !a->done) {
            a->done = true;
            a->result = ERROR_SUCCESS;
        }
    }
    pthread_cond_broadcast(&host.answer_cond);
}

static void reg_free(host_reg *reg)
{
    host_session_release(reg->session);
    free(reg);
    host_atomic_dec(&host.n_regs);
}

static void unregister_inproc_fn(void *ctx)
{
    host_reg *reg = ctx;
    /* Waits for a running callback of reg; that one returns at once, reg being dead. */
    CM_Unregister_Notification(reg->inproc);
}

static void unregister_inproc_done(void *ctx) { reg_free(ctx); }

/* Ends reg, which is dead and out of its session's list already (loop). */
static void retire_reg(host_reg *reg)
{
    if (reg->inproc)
        host_run_work(unregister_inproc_fn, unregister_inproc_done, reg);
    else
        reg_free(reg);
}

void host_notify_session_end(host_session *s)
{
    pthread_mutex_lock(&host.nlock);
    s->dead = true;
    for (PLIST_ENTRY e = host.answers.Flink; e != &host.answers; e = e->Flink) {
        host_answer *a = CONTAINING_RECORD(e, host_answer, link);
        if (a->session == s && !a->done) {
            a->done = true;
            a->result = ERROR_SUCCESS;
        }
    }
    for (PLIST_ENTRY e = s->regs.Flink; e != &s->regs; e = e->Flink)
        kill_reg_locked(CONTAINING_RECORD(e, host_reg, session_link));
    pthread_cond_broadcast(&host.answer_cond);
    pthread_mutex_unlock(&host.nlock);
    while (!IsListEmpty(&s->regs))
        retire_reg(CONTAINING_RECORD(RemoveHeadList(&s->regs), host_reg, session_link));
}

/* ---- PNPH_REGISTER / PNPH_UNREGISTER ---- */

static host_reg *find_reg(host_session *s, uint64_t id)
{
    for (PLIST_ENTRY e = s->regs.Flink; e != &s->regs; e = e->Flink) {
        host_reg *reg = CONTAINING_RECORD(e, host_reg, session_link);
        if (reg->id == id)
            return reg;
    }
    return NULL;
}

static void reply_register(host_conn *c, uint32_t request_id, CONFIGRET cr, host_reg *reg)
{
    size_t cap = PNPH_HEADER_SIZE + 20u + (reg && reg->type == CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE
                                               ? PNPH_MAX_LIST_CHARS * 2u
                                               : 0u);
    uint8_t *buf = malloc(cap);
    pnph_builder b;

    if (!buf) {
        host_conn_close(c, "out of memory for a reply");
        return;
    }
    pnph_begin(&b, buf, cap, PNPH_REGISTER | PNPH_REPLY, request_id);
    pnph_put_u32(&b, cr);
    pnph_put_u32(&b, 0);
    pnph_put_u64(&b, reg ? reg->id : 0);
    if (cr == CR_SUCCESS && reg->type == CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE)
        host_notify_put_links(&b, &reg->class_guid, reg->all);
    else
        pnph_put_u32(&b, 0);
    host_conn_send(c, buf, pnph_finish(&b));
    free(buf);
}

void host_notify_register(host_conn *c, const pnph_msg *m)
{
    static const GUID zero;
    host_session *s = c->session;
    uint32_t type = m->u.reg.filter_type, flags = m->u.reg.flags;
    host_reg *reg;
    CM_NOTIFY_FILTER f;
    CONFIGRET cr;

    if (find_reg(s, m->u.reg.reg_id) || m->u.reg.reg_id == 0) {
        reply_register(c, m->hdr.request_id, CR_INVALID_DATA, NULL);
        return;
    }
    reg = calloc(1, sizeof(*reg));
    if (!reg) {
        reply_register(c, m->hdr.request_id, CR_OUT_OF_MEMORY, NULL);
        return;
    }
    reg->refs = 1;
    reg->id = m->u.reg.reg_id;
    reg->session = host_session_ref(s); /* held until reg_free */
    reg->type = (CM_NOTIFY_FILTER_TYPE)type;
    memcpy(&reg->class_guid, m->u.reg.class_guid, sizeof(GUID));
    InitializeListHead(&reg->iface_link);
    host_atomic_inc(&host.n_regs);

    memset(&f, 0, sizeof(f));
    f.cbSize = sizeof(f);
    f.Flags = flags;
    f.FilterType = reg->type;
    switch (type) {
    case CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE:
        if ((flags & ~(uint32_t)CM_NOTIFY_FILTER_FLAG_ALL_INTERFACE_CLASSES) ||
            ((flags & CM_NOTIFY_FILTER_FLAG_ALL_INTERFACE_CLASSES) && !IsEqualGUID(&reg->class_guid, &zero))) {
            cr = CR_INVALID_DATA;
            break;
        }
        reg->all = flags != 0;
        pthread_mutex_lock(&host.nlock);
        InsertTailList(&host.iface_regs, &reg->iface_link);
        pthread_mutex_unlock(&host.nlock);
        InsertTailList(&s->regs, &reg->session_link);
        /* The reply carries the links enabled now; events from here on follow. (A link enabled
         * between this insertion and the snapshot in the reply is in both; the library keeps a
         * set, so that is harmless.) */
        reply_register(c, m->hdr.request_id, CR_SUCCESS, reg);
        return;
    case CM_NOTIFY_FILTER_TYPE_DEVICEHANDLE: {
        host_handle *h = host_session_handle(s, m->u.reg.handle);
        if (!h || flags) {
            cr = CR_INVALID_DATA;
            break;
        }
        f.u.DeviceHandle.hTarget = (HANDLE)h->fo;
        cr = CM_Register_Notification(&f, reg, reg_callback, &reg->inproc);
        break;
    }
    default: /* DEVICEINSTANCE */
        if (!pnph_wstr_copy(f.u.DeviceInstance.InstanceId, MAX_DEVICE_ID_LEN, m->u.reg.instance_id)) {
            cr = CR_INVALID_DATA;
            break;
        }
        cr = CM_Register_Notification(&f, reg, reg_callback, &reg->inproc);
        break;
    }
    if (cr != CR_SUCCESS) {
        reply_register(c, m->hdr.request_id, cr, NULL);
        reg_free(reg);
        return;
    }
    InsertTailList(&s->regs, &reg->session_link);
    reply_register(c, m->hdr.request_id, CR_SUCCESS, reg);
}

void host_notify_unregister(host_conn *c, const pnph_msg *m)
{
    host_reg *reg = find_reg(c->session, m->u.unreg.reg_id);

    if (!reg) {
        host_reply_u32(c, PNPH_UNREGISTER, m->hdr.request_id, CR_INVALID_DATA);
        return;
    }
    pthread_mutex_lock(&host.nlock);
    kill_reg_locked(reg);
    pthread_mutex_unlock(&host.nlock);
    RemoveEntryList(&reg->session_link);
    /* The application stops its own callbacks; no event of reg is sent from here on. */
    host_reply_u32(c, PNPH_UNREGISTER, m->hdr.request_id, CR_SUCCESS);
    retire_reg(reg);
}
