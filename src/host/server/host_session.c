/*
 * host_session.c — sessions: one per application process, made of the connection that said
 * HELLO first (the primary, which carries notifications) and the connections that joined it
 * with PNPH_HELLO_ATTACH (one per application thread that makes synchronous calls).
 *
 * A session owns its handles (a slot table indexed by the low 32 bits of a handle id; the high
 * bits are a sequence number, so a stale id never finds a newer handle) and its registrations.
 * When the primary connection goes (the application exited, crashed, or broke the protocol),
 * the session ends: its requests are cancelled, its handles closed (the drivers see cleanup,
 * then close), its registrations ended, and its other connections closed.
 *
 * Everything here runs on the loop thread, except host_session_release, which any thread may
 * call; `dead` is also written under host.nlock (see host_notify_session_end).
 */
#include "host/server/host_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

host_session *host_session_ref(host_session *s)
{
    host_atomic_inc(&s->refs);
    return s;
}

void host_session_release(host_session *s)
{
    if (!s || host_atomic_dec(&s->refs) != 0)
        return;
    free(s->handles);
    free(s);
    host_atomic_dec(&host.n_sessions);
}

static uint64_t random_key(void)
{
    uint64_t key = 0;
    if (getrandom(&key, sizeof(key), 0) != (ssize_t)sizeof(key)) {
        /* getrandom cannot fail for 8 bytes once the pool is ready; mix something in anyway. */
        key = host_now_ms() * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)&key;
    }
    return key ? key : 1;
}

static void send_hello_reply(host_conn *c, uint32_t request_id, NTSTATUS status, const host_session *s)
{
    uint8_t buf[PNPH_HEADER_SIZE + 24];
    pnph_builder b;
    pnph_begin(&b, buf, sizeof(buf), PNPH_HELLO | PNPH_REPLY, request_id);
    pnph_put_u32(&b, (uint32_t)status);
    pnph_put_u32(&b, PNPH_MAX_PAYLOAD);
    pnph_put_u64(&b, s ? s->id : 0);
    pnph_put_u64(&b, s ? s->key : 0);
    host_conn_send(c, buf, pnph_finish(&b));
}

void host_session_hello(host_conn *c, const pnph_msg *m)
{
    host_session *s;

    if (m->u.hello.flags & PNPH_HELLO_ATTACH) {
        /* Join an existing session: same process, and it proves it knows the key. */
        for (PLIST_ENTRY e = host.sessions.Flink; e != &host.sessions; e = e->Flink) {
            s = CONTAINING_RECORD(e, host_session, all_link);
            if (s->id != m->u.hello.session_id)
                continue;
            if (s->key != m->u.hello.session_key || s->cred.pid != c->cred.pid || s->cred.uid != c->cred.uid ||
                !s->primary) {
                break;
            }
            c->session = host_session_ref(s); /* held by the connection */
            c->primary = false;
            InsertTailList(&s->conns, &c->session_link);
            send_hello_reply(c, m->hdr.request_id, STATUS_SUCCESS, s);
            return;
        }
        host_log(HOST_LOG_INFO, "connection %llu (pid %d): refused to join session %llu", (unsigned long long)c->id,
                 (int)c->cred.pid, (unsigned long long)m->u.hello.session_id);
        send_hello_reply(c, m->hdr.request_id, STATUS_ACCESS_DENIED, NULL);
        host_conn_close(c, "bad session attach");
        return;
    }

    s = calloc(1, sizeof(*s));
    if (!s) {
        send_hello_reply(c, m->hdr.request_id, STATUS_INSUFFICIENT_RESOURCES, NULL);
        host_conn_close(c, "out of memory for a session");
        return;
    }
    s->refs = 1; /* the loop's: dropped by host_session_end */
    s->id = ++host.next_session_id;
    s->key = random_key();
    s->cred = c->cred;
    s->primary = c;
    InitializeListHead(&s->conns);
    InitializeListHead(&s->regs);
    InsertTailList(&host.sessions, &s->all_link);
    host_atomic_inc(&host.n_sessions);
    c->session = host_session_ref(s); /* held by the connection */
    c->primary = true;
    InsertTailList(&s->conns, &c->session_link);
    host_log(HOST_LOG_DEBUG, "session %llu for pid %d", (unsigned long long)s->id, (int)c->cred.pid);
    send_hello_reply(c, m->hdr.request_id, STATUS_SUCCESS, s);
}

/* ---- Handles ---- */

host_handle *host_session_handle(host_session *s, uint64_t id)
{
    uint32_t slot = (uint32_t)id;
    host_handle *h;

    if (slot == 0 || slot > s->cap_handles)
        return NULL;
    h = s->handles[slot - 1];
    if (!h || h->id != id || h->closing)
        return NULL;
    return h;
}

uint64_t host_session_add_handle(host_session *s, host_handle *h)
{
    uint32_t slot = 0;

    for (uint32_t i = 0; i < s->cap_handles; i++)
        if (!s->handles[i]) {
            slot = i + 1;
            break;
        }
    if (!slot) {
        uint32_t cap = s->cap_handles ? s->cap_handles * 2 : 8;
        host_handle **t = realloc(s->handles, cap * sizeof(*t));
        if (!t)
            return 0;
        memset(t + s->cap_handles, 0, (cap - s->cap_handles) * sizeof(*t));
        slot = s->cap_handles + 1;
        s->handles = t;
        s->cap_handles = cap;
    }
    if (++s->handle_seq == 0)
        s->handle_seq = 1;
    h->id = (uint64_t)s->handle_seq << 32 | slot;
    s->handles[slot - 1] = h; /* the table's reference is the one the caller gives */
    s->n_handles++;
    host_atomic_inc(&host.n_handles);
    return h->id;
}

void host_session_remove_handle(host_session *s, host_handle *h)
{
    uint32_t slot = (uint32_t)h->id;
    if (slot && slot <= s->cap_handles && s->handles[slot - 1] == h) {
        s->handles[slot - 1] = NULL;
        s->n_handles--;
        host_atomic_dec(&host.n_handles);
    }
}

/* ---- End of a session ---- */

void host_session_end(host_session *s)
{
    if (!s->primary)
        return; /* ended already */
    host_log(HOST_LOG_DEBUG, "session %llu (pid %d) ends", (unsigned long long)s->id, (int)s->cred.pid);
    s->primary = NULL;
    RemoveEntryList(&s->all_link);

    /* Registrations first, so that a query-remove waiting for this application's answer goes
     * on at once (a gone application never vetoes). */
    host_notify_session_end(s);

    /* Then the handles: cancel what is in flight, then cleanup and close. */
    for (uint32_t i = 0; i < s->cap_handles; i++) {
        host_handle *h = s->handles[i];
        if (!h)
            continue;
        host_session_remove_handle(s, h);
        host_handle_abandon(h); /* takes over the table's reference */
    }

    /* Then the other connections of the process. */
    while (!IsListEmpty(&s->conns)) {
        host_conn *c = CONTAINING_RECORD(s->conns.Flink, host_conn, session_link);
        host_conn_close(c, "its session ended");
    }
    host_session_release(s); /* the loop's reference */
}

void host_session_end_all(void)
{
    while (!IsListEmpty(&host.sessions))
        host_session_end(CONTAINING_RECORD(host.sessions.Flink, host_session, all_link));
}
