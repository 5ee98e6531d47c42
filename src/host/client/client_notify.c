/*
 * client_notify.c — CM_Register_Notification and CM_Unregister_Notification in
 * libpnpkit-client, and the library's callback threads.
 *
 * A registration is known to the receiver before the host is asked (the library chooses its
 * id), so an event that arrives on the primary connection ahead of the PNPH_REGISTER reply is
 * queued, not lost; it is delivered once the registration is complete and its handle written.
 *
 * Deliveries: each registration has a FIFO of deliveries; a registration with deliveries is
 * "scheduled" on pkc.ready, and one worker at a time drains it, so one registration's callbacks
 * never overlap while different registrations run in parallel (at most MAX_WORKERS). After a
 * callback of a target-device event returns, its answer (the callback's result, ERROR_CANCELLED
 * meaning a veto of DEVICEQUERYREMOVE) goes back to the host, which waits for it.
 *
 * When the host is lost, DEVICEHANDLE registrations get DEVICEREMOVECOMPLETE and DEVICEINTERFACE
 * registrations a DEVICEINTERFACEREMOVAL for each interface they knew of: the interfaces of the
 * registration reply (enabled when it registered) plus arrivals, minus removals.
 */
#include "host/client/client_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_WORKERS 8
#define WORKER_IDLE_S 5

typedef struct delivery {
    LIST_ENTRY link;
    CM_NOTIFY_ACTION action;
    uint32_t event_id;             /* 0: the host does not wait for an answer */
    pkc_session *session;          /* referenced when event_id != 0 */
    DWORD size;
    CM_NOTIFY_EVENT_DATA *data;    /* owned, aligned */
} delivery;

typedef struct known_link {
    WCHAR *link;
    GUID class_guid;
} known_link;

typedef struct pkc_reg {
    LIST_ENTRY link;               /* pkc.regs */
    LIST_ENTRY ready_link;         /* pkc.ready while scheduled and not being drained */
    uint32_t refs;                 /* pkc.lock: pkc.regs's, a worker's, an unregisterer's */
    uint64_t id;
    pkc_session *session;          /* referenced */
    CM_NOTIFY_FILTER_TYPE type;
    PCM_NOTIFY_CALLBACK callback;
    PVOID context;
    bool registered;               /* the host accepted it and its handle was returned */
    bool unregistered;
    bool dormant;                  /* its session is lost: nothing more comes from the host */
    bool scheduled;                /* on pkc.ready or being drained */
    bool running;
    bool merged;                   /* the reply's links are in `known` */
    pthread_t runner;
    LIST_ENTRY deliveries;
    known_link *known;
    size_t n_known, cap_known;
    WCHAR **removed_early;         /* removals seen before the reply's links were merged */
    size_t n_removed_early;
} pkc_reg;

static uint64_t reg_seq;

/* ---- Helpers ---- */

static size_t wlen(const WCHAR *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static bool wsame(const WCHAR *a, const WCHAR *b)
{
    for (;; a++, b++) {
        WCHAR x = *a >= u'a' && *a <= u'z' ? (WCHAR)(*a - 32) : *a;
        WCHAR y = *b >= u'a' && *b <= u'z' ? (WCHAR)(*b - 32) : *b;
        if (x != y)
            return false;
        if (!x)
            return true;
    }
}

static WCHAR *wdup(const WCHAR *s)
{
    size_t n = wlen(s);
    WCHAR *d = malloc((n + 1) * sizeof(WCHAR));
    if (d)
        memcpy(d, s, (n + 1) * sizeof(WCHAR));
    return d;
}

static void delivery_free(delivery *d)
{
    if (d->session)
        pkc_session_release(d->session);
    free(d->data);
    free(d);
}

/* Answers "no veto" for a delivery that will not be delivered, and frees it. */
static void delivery_drop(delivery *d)
{
    if (d->event_id)
        pkc_send_answer(d->session, d->event_id, ERROR_SUCCESS);
    delivery_free(d);
}

static void reg_release_locked(pkc_reg *r, LIST_ENTRY *to_drop)
{
    if (--r->refs)
        return;
    while (!IsListEmpty(&r->deliveries))
        InsertTailList(to_drop, RemoveHeadList(&r->deliveries));
    for (size_t i = 0; i < r->n_known; i++)
        free(r->known[i].link);
    free(r->known);
    for (size_t i = 0; i < r->n_removed_early; i++)
        free(r->removed_early[i]);
    free(r->removed_early);
    pkc_session_unref_locked(r->session);
    free(r);
}

static void drop_all(LIST_ENTRY *list)
{
    while (!IsListEmpty(list))
        delivery_drop(CONTAINING_RECORD(RemoveHeadList(list), delivery, link));
}

/* ---- Known links (DEVICEINTERFACE) ---- */

static void known_add_locked(pkc_reg *r, const WCHAR *link, const GUID *g)
{
    for (size_t i = 0; i < r->n_known; i++)
        if (wsame(r->known[i].link, link))
            return;
    if (r->n_known == r->cap_known) {
        size_t cap = r->cap_known ? r->cap_known * 2 : 8;
        known_link *t = realloc(r->known, cap * sizeof(*t));
        if (!t)
            return;
        r->known = t;
        r->cap_known = cap;
    }
    r->known[r->n_known].link = wdup(link);
    if (!r->known[r->n_known].link)
        return;
    r->known[r->n_known].class_guid = *g;
    r->n_known++;
}

static void known_remove_locked(pkc_reg *r, const WCHAR *link)
{
    for (size_t i = 0; i < r->n_known; i++)
        if (wsame(r->known[i].link, link)) {
            free(r->known[i].link);
            r->known[i] = r->known[--r->n_known];
            return;
        }
    if (!r->merged) {
        WCHAR **t = realloc(r->removed_early, (r->n_removed_early + 1) * sizeof(*t));
        if (t) {
            r->removed_early = t;
            if ((t[r->n_removed_early] = wdup(link)))
                r->n_removed_early++;
        }
    }
}

/* Merges the links of the registration reply (a multi-string on the wire), except those a
 * removal event already reported gone. */
static void known_merge_locked(pkc_reg *r, pnph_wstr list)
{
    WCHAR *copy = malloc(((size_t)list.chars + 1) * sizeof(WCHAR));
    if (copy && pnph_wstr_copy(copy, (size_t)list.chars + 1, list)) {
        for (WCHAR *p = copy; p < copy + list.chars && *p; p += wlen(p) + 1) {
            GUID g;
            bool gone = false;
            for (size_t i = 0; i < r->n_removed_early && !gone; i++)
                gone = wsame(r->removed_early[i], p);
            if (!gone && pnph_link_class(p, &g))
                known_add_locked(r, p, &g);
        }
    }
    free(copy);
    r->merged = true;
    for (size_t i = 0; i < r->n_removed_early; i++)
        free(r->removed_early[i]);
    free(r->removed_early);
    r->removed_early = NULL;
    r->n_removed_early = 0;
}

/* ---- The callback pool ---- */

static void *worker_main(void *arg);

/* Puts r on pkc.ready (pkc.lock held) and makes sure a worker will take it. */
static void schedule_locked(pkc_reg *r)
{
    if (r->scheduled || !r->registered || IsListEmpty(&r->deliveries))
        return;
    r->scheduled = true;
    r->refs++; /* the worker's */
    InsertTailList(&pkc.ready, &r->ready_link);
    if (pkc.idle_workers > 0) {
        pthread_cond_signal(&pkc.pool_cond);
        return;
    }
    if (pkc.workers < MAX_WORKERS) {
        pthread_attr_t attr;
        pthread_t tid;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&tid, &attr, worker_main, NULL) == 0)
            pkc.workers++;
        pthread_attr_destroy(&attr);
    }
    /* Otherwise a busy worker takes it when it is done. */
}

static __thread pkc_reg *tls_running_reg;

static void *worker_main(void *arg)
{
    LIST_ENTRY drop;
    InitializeListHead(&drop);

    pthread_mutex_lock(&pkc.lock);
    for (;;) {
        pkc_reg *r;
        while (IsListEmpty(&pkc.ready)) {
            struct timespec deadline;
            clock_gettime(CLOCK_REALTIME, &deadline);
            deadline.tv_sec += WORKER_IDLE_S;
            pkc.idle_workers++;
            int rc = pthread_cond_timedwait(&pkc.pool_cond, &pkc.lock, &deadline);
            pkc.idle_workers--;
            if (rc == ETIMEDOUT && IsListEmpty(&pkc.ready)) {
                pkc.workers--;
                pthread_mutex_unlock(&pkc.lock);
                return NULL;
            }
        }
        r = CONTAINING_RECORD(RemoveHeadList(&pkc.ready), pkc_reg, ready_link);
        while (!IsListEmpty(&r->deliveries)) {
            delivery *d = CONTAINING_RECORD(RemoveHeadList(&r->deliveries), delivery, link);
            bool skip = r->unregistered;
            DWORD result = ERROR_SUCCESS;
            if (!skip) {
                r->running = true;
                r->runner = pthread_self();
            }
            pthread_mutex_unlock(&pkc.lock);
            if (!skip) {
                tls_running_reg = r;
                result = r->callback((HCMNOTIFICATION)r, r->context, d->action, d->data, d->size);
                tls_running_reg = NULL;
            }
            if (d->event_id)
                pkc_send_answer(d->session, d->event_id, result);
            delivery_free(d);
            pthread_mutex_lock(&pkc.lock);
            if (!skip) {
                r->running = false;
                pthread_cond_broadcast(&pkc.cond);
            }
        }
        r->scheduled = false;
        reg_release_locked(r, &drop);
        if (!IsListEmpty(&drop)) {
            pthread_mutex_unlock(&pkc.lock);
            drop_all(&drop);
            pthread_mutex_lock(&pkc.lock);
        }
    }
}

/* ---- Events from the host ---- */

void pkc_notify_event(pkc_session *s, const pnph_msg *m)
{
    delivery *d = calloc(1, sizeof(*d));
    pkc_reg *r = NULL;
    uint32_t type;

    if (d)
        d->data = malloc(m->u.event.data_size);
    if (!d || !d->data) {
        if (m->u.event.event_id)
            pkc_send_answer(s, m->u.event.event_id, ERROR_SUCCESS);
        if (d)
            free(d);
        return;
    }
    memcpy(d->data, m->u.event.data, m->u.event.data_size);
    d->size = m->u.event.data_size;
    d->action = (CM_NOTIFY_ACTION)m->u.event.action;
    d->event_id = m->u.event.event_id;
    type = (uint32_t)d->data->FilterType;

    pthread_mutex_lock(&pkc.lock);
    if (d->event_id) {
        d->session = s;
        s->refs++; /* held by d, for its answer */
    }
    for (PLIST_ENTRY e = pkc.regs.Flink; e != &pkc.regs; e = e->Flink) {
        pkc_reg *x = CONTAINING_RECORD(e, pkc_reg, link);
        if (x->id == m->u.event.reg_id && x->session == s) {
            r = x;
            break;
        }
    }
    if (!r || r->unregistered || r->dormant || type != (uint32_t)r->type) {
        pthread_mutex_unlock(&pkc.lock);
        delivery_drop(d); /* unknown or ended registration: no veto */
        return;
    }
    if (r->type == CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE) {
        if (d->action == CM_NOTIFY_ACTION_DEVICEINTERFACEARRIVAL)
            known_add_locked(r, d->data->u.DeviceInterface.SymbolicLink, &d->data->u.DeviceInterface.ClassGuid);
        else if (d->action == CM_NOTIFY_ACTION_DEVICEINTERFACEREMOVAL)
            known_remove_locked(r, d->data->u.DeviceInterface.SymbolicLink);
    }
    InsertTailList(&r->deliveries, &d->link);
    schedule_locked(r);
    pthread_mutex_unlock(&pkc.lock);
}

/* Queues a delivery made here (host lost); pkc.lock held. */
static void synthesize_locked(pkc_reg *r, CM_NOTIFY_ACTION action, const GUID *g, const WCHAR *link)
{
    size_t chars = link ? wlen(link) : 0;
    DWORD size = link ? (DWORD)(FIELD_OFFSET(CM_NOTIFY_EVENT_DATA, u.DeviceInterface.SymbolicLink) +
                                (chars + 1) * sizeof(WCHAR))
                      : (DWORD)sizeof(CM_NOTIFY_EVENT_DATA);
    delivery *d = calloc(1, sizeof(*d));

    if (!d || !(d->data = calloc(1, size))) {
        free(d);
        return;
    }
    d->action = action;
    d->size = size;
    d->data->FilterType = r->type;
    if (link) {
        d->data->u.DeviceInterface.ClassGuid = *g;
        memcpy(d->data->u.DeviceInterface.SymbolicLink, link, (chars + 1) * sizeof(WCHAR));
    }
    InsertTailList(&r->deliveries, &d->link);
}

void pkc_notify_session_lost_locked(pkc_session *s)
{
    for (PLIST_ENTRY e = pkc.regs.Flink; e != &pkc.regs; e = e->Flink) {
        pkc_reg *r = CONTAINING_RECORD(e, pkc_reg, link);
        if (r->session != s || r->dormant)
            continue;
        r->dormant = true;
        if (r->unregistered)
            continue;
        if (r->type == CM_NOTIFY_FILTER_TYPE_DEVICEHANDLE)
            synthesize_locked(r, CM_NOTIFY_ACTION_DEVICEREMOVECOMPLETE, NULL, NULL);
        else if (r->type == CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE)
            for (size_t i = 0; i < r->n_known; i++)
                synthesize_locked(r, CM_NOTIFY_ACTION_DEVICEINTERFACEREMOVAL, &r->known[i].class_guid,
                                  r->known[i].link);
        schedule_locked(r);
    }
}

/* ---- Registration ---- */

CONFIGRET CM_Register_Notification(PCM_NOTIFY_FILTER pFilter, PVOID pContext, PCM_NOTIFY_CALLBACK pCallback,
                                   PHCMNOTIFICATION pNotifyContext)
{
    static const GUID zero;
    uint8_t buf[PNPH_HEADER_SIZE + 40 + 2 * PNPH_MAX_ID_CHARS];
    pnph_builder b;
    struct iovec iov;
    pnph_msg reply;
    pkc_session *s = NULL;
    pkc_object *target = NULL;
    pkc_reg *r;
    uint32_t rid, id_chars = 0;
    CONFIGRET cr;
    DWORD err;
    LIST_ENTRY drop;

    if (!pNotifyContext)
        return CR_FAILURE;
    if (!pFilter || !pCallback || pFilter->cbSize != sizeof(CM_NOTIFY_FILTER))
        return CR_INVALID_DATA;
    switch (pFilter->FilterType) {
    case CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE:
        if ((pFilter->Flags & ~(DWORD)CM_NOTIFY_FILTER_FLAG_ALL_INTERFACE_CLASSES) ||
            ((pFilter->Flags & CM_NOTIFY_FILTER_FLAG_ALL_INTERFACE_CLASSES) &&
             !IsEqualGUID(&pFilter->u.DeviceInterface.ClassGuid, &zero)))
            return CR_INVALID_DATA;
        break;
    case CM_NOTIFY_FILTER_TYPE_DEVICEHANDLE:
        if (pFilter->Flags)
            return CR_INVALID_DATA;
        target = pkc_object_get(pFilter->u.DeviceHandle.hTarget, PKC_FILE);
        if (!target)
            return CR_INVALID_DATA;
        break;
    case CM_NOTIFY_FILTER_TYPE_DEVICEINSTANCE:
        if (pFilter->Flags & ~(DWORD)CM_NOTIFY_FILTER_FLAG_ALL_DEVICE_INSTANCES)
            return CR_INVALID_DATA;
        while (id_chars < MAX_DEVICE_ID_LEN && pFilter->u.DeviceInstance.InstanceId[id_chars])
            id_chars++;
        if (id_chars > PNPH_MAX_ID_CHARS ||
            !(pFilter->Flags & CM_NOTIFY_FILTER_FLAG_ALL_DEVICE_INSTANCES) == !id_chars)
            return CR_INVALID_DATA;
        break;
    default:
        return CR_INVALID_DATA;
    }

    if (target) {
        s = target->session;
        pthread_mutex_lock(&pkc.lock);
        s->refs++;
        bool lost = s->lost;
        pthread_mutex_unlock(&pkc.lock);
        if (lost) {
            pkc_object_release(target);
            pkc_session_release(s);
            return CR_NO_CM_SERVICES;
        }
    } else {
        err = pkc_session_get(&s);
        if (err)
            return err == ERROR_ACCESS_DENIED ? CR_ACCESS_DENIED : CR_NO_CM_SERVICES;
    }
    r = calloc(1, sizeof(*r));
    if (!r) {
        pkc_object_release(target);
        pkc_session_release(s);
        return CR_OUT_OF_MEMORY;
    }
    r->id = __atomic_add_fetch(&reg_seq, 1, __ATOMIC_RELAXED);
    r->session = s; /* takes our reference */
    r->type = pFilter->FilterType;
    r->callback = pCallback;
    r->context = pContext;
    r->refs = 1;
    InitializeListHead(&r->deliveries);
    pthread_mutex_lock(&pkc.lock);
    InsertTailList(&pkc.regs, &r->link);
    pthread_mutex_unlock(&pkc.lock);

    rid = pkc_next_request_id();
    pnph_begin(&b, buf, sizeof(buf), PNPH_REGISTER, rid);
    pnph_put_u32(&b, (uint32_t)pFilter->FilterType);
    pnph_put_u32(&b, pFilter->Flags);
    pnph_put_u64(&b, r->id);
    pnph_put_bytes(&b, pFilter->FilterType == CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE ? &pFilter->u.DeviceInterface.ClassGuid
                                                                                    : &zero,
                   sizeof(GUID));
    pnph_put_u64(&b, target ? target->host_handle : 0);
    pnph_put_wstr(&b, pFilter->FilterType == CM_NOTIFY_FILTER_TYPE_DEVICEINSTANCE ? pFilter->u.DeviceInstance.InstanceId
                                                                                  : NULL,
                  id_chars);
    iov.iov_base = buf;
    iov.iov_len = pnph_finish(&b);
    err = pkc_call(s, &iov, 1, PNPH_REGISTER, rid, &reply);
    pkc_object_release(target);
    cr = err ? CR_NO_CM_SERVICES : reply.u.reg_reply.cr;

    InitializeListHead(&drop);
    pthread_mutex_lock(&pkc.lock);
    if (cr != CR_SUCCESS) {
        RemoveEntryList(&r->link);
        reg_release_locked(r, &drop);
        pthread_mutex_unlock(&pkc.lock);
        drop_all(&drop);
        return cr;
    }
    if (r->type == CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE)
        known_merge_locked(r, reply.u.reg_reply.links);
    pthread_mutex_unlock(&pkc.lock);

    *pNotifyContext = (HCMNOTIFICATION)r; /* before any callback can run */
    pthread_mutex_lock(&pkc.lock);
    r->registered = true;
    schedule_locked(r);
    pthread_mutex_unlock(&pkc.lock);
    return CR_SUCCESS;
}

CONFIGRET CM_Unregister_Notification(HCMNOTIFICATION NotifyContext)
{
    pkc_reg *r = NULL;
    bool tell_host;
    LIST_ENTRY drop;

    InitializeListHead(&drop);
    pthread_mutex_lock(&pkc.lock);
    for (PLIST_ENTRY e = pkc.regs.Flink; e != &pkc.regs; e = e->Flink)
        if (CONTAINING_RECORD(e, pkc_reg, link) == (pkc_reg *)NotifyContext) {
            r = (pkc_reg *)NotifyContext;
            break;
        }
    if (!r || !r->registered || r->unregistered) {
        pthread_mutex_unlock(&pkc.lock);
        return CR_INVALID_DATA;
    }
    if (tls_running_reg == r) {
        pthread_mutex_unlock(&pkc.lock);
        return CR_FAILURE; /* from its own callback: the caller must defer this call */
    }
    r->unregistered = true;
    RemoveEntryList(&r->link);
    InitializeListHead(&r->link);
    tell_host = !r->dormant && !r->session->lost;
    r->refs++; /* ours, until the end of this function (the list's goes below) */
    pthread_mutex_unlock(&pkc.lock);

    if (tell_host) {
        uint8_t buf[PNPH_HEADER_SIZE + 8];
        pnph_builder b;
        struct iovec iov;
        pnph_msg reply;
        uint32_t rid = pkc_next_request_id();
        pnph_begin(&b, buf, sizeof(buf), PNPH_UNREGISTER, rid);
        pnph_put_u64(&b, r->id);
        iov.iov_base = buf;
        iov.iov_len = pnph_finish(&b);
        pkc_call(r->session, &iov, 1, PNPH_UNREGISTER, rid, &reply); /* a lost host has forgotten it */
    }

    pthread_mutex_lock(&pkc.lock);
    while (r->running)
        pthread_cond_wait(&pkc.cond, &pkc.lock);
    /* What is still queued will not be delivered: the host gets its "no veto" now. */
    while (!IsListEmpty(&r->deliveries))
        InsertTailList(&drop, RemoveHeadList(&r->deliveries));
    reg_release_locked(r, &drop); /* the list's */
    reg_release_locked(r, &drop); /* ours */
    pthread_mutex_unlock(&pkc.lock);
    drop_all(&drop);
    return CR_SUCCESS;
}
