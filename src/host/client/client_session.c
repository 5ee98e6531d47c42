/*
 * client_session.c — the library's connections to pnphost: finding the socket, the session
 * (HELLO on the primary connection), the per-thread connections (HELLO with PNPH_HELLO_ATTACH),
 * synchronous calls, and the receiver thread that reads the primary connection.
 *
 * The receiver owns the primary connection's reading and its closing: when the host goes (end
 * of stream, or a message that fails validation), it marks the session lost, completes every
 * pending request with STATUS_DEVICE_NOT_CONNECTED, queues the removal notifications of the
 * session's registrations, and closes the socket under write_lock. The next CM_* call or
 * CreateFileW makes a new session.
 *
 * A thread's connection lives in thread-local storage with the generation of the session it
 * was attached to; it is replaced when the session changes and closed when the thread exits.
 */
#include "host/client/client_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define HELLO_TIMEOUT_S 10

pkc_state pkc = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .cond = PTHREAD_COND_INITIALIZER,
    .pool_cond = PTHREAD_COND_INITIALIZER,
    .pending = { &pkc.pending, &pkc.pending },
    .regs = { &pkc.regs, &pkc.regs },
    .ready = { &pkc.ready, &pkc.ready },
};

static uint32_t request_seq;

uint32_t pkc_next_request_id(void)
{
    uint32_t id;
    do
        id = __atomic_add_fetch(&request_seq, 1, __ATOMIC_RELAXED);
    while (id == 0);
    return id;
}

/* ---- Sessions ---- */

void pkc_session_ref_locked(pkc_session *s) { s->refs++; }

static void session_free(pkc_session *s)
{
    pthread_mutex_destroy(&s->write_lock);
    free(s);
}

void pkc_session_unref_locked(pkc_session *s)
{
    if (--s->refs == 0)
        session_free(s); /* nobody else can reach it: no lock of its is held */
}

void pkc_session_release(pkc_session *s)
{
    bool last;
    if (!s)
        return;
    pthread_mutex_lock(&pkc.lock);
    last = --s->refs == 0;
    pthread_mutex_unlock(&pkc.lock);
    if (last)
        session_free(s);
}

bool pkc_session_lost(pkc_session *s)
{
    bool lost;
    pthread_mutex_lock(&pkc.lock);
    lost = s->lost;
    pthread_mutex_unlock(&pkc.lock);
    return lost;
}

/* ---- Sockets ---- */

static int try_connect(const char *path, int *err)
{
    struct sockaddr_un addr;
    int fd;

    if (strlen(path) >= sizeof(addr.sun_path)) {
        *err = ENAMETOOLONG;
        return -1;
    }
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    strcpy(addr.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        *err = errno;
        close(fd);
        return -1;
    }
    return fd;
}

/* Connects to the host's socket (see <pnpkit/fileapi.h> for where it is looked for). */
static int connect_host(DWORD *error)
{
    const char *env = getenv("PNPKIT_HOST_SOCKET");
    char path[256];
    int fd, err = ENOENT;

    if (env && *env) {
        fd = try_connect(env, &err);
    } else if (geteuid() == 0) {
        fd = try_connect("/run/pnpkit/pnphost.sock", &err);
    } else {
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        if (xdg && xdg[0] == '/')
            snprintf(path, sizeof(path), "%s/pnpkit/pnphost.sock", xdg);
        else
            snprintf(path, sizeof(path), "/tmp/pnpkit-%u/pnphost.sock", (unsigned)geteuid());
        fd = try_connect(path, &err);
        if (fd < 0 && (err == ENOENT || err == ECONNREFUSED))
            fd = try_connect("/run/pnpkit/pnphost.sock", &err);
    }
    if (fd < 0)
        *error = err == EACCES || err == EPERM ? ERROR_ACCESS_DENIED : ERROR_DEVICE_NOT_CONNECTED;
    return fd;
}

static bool send_all(int fd, const struct iovec *iov_in, int iovcnt)
{
    struct iovec iov[8];
    struct msghdr mh;
    int n = iovcnt < 8 ? iovcnt : 8;

    memcpy(iov, iov_in, (size_t)n * sizeof(*iov));
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = iov;
    mh.msg_iovlen = (size_t)n;
    while (mh.msg_iovlen) {
        ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        while (mh.msg_iovlen && (size_t)w >= mh.msg_iov->iov_len) {
            w -= (ssize_t)mh.msg_iov->iov_len;
            mh.msg_iov++;
            mh.msg_iovlen--;
        }
        if (mh.msg_iovlen) {
            mh.msg_iov->iov_base = (uint8_t *)mh.msg_iov->iov_base + w;
            mh.msg_iov->iov_len -= (size_t)w;
        }
    }
    return true;
}

/* Reads one complete, valid message into buf (PNPH_MAX_MESSAGE bytes), keeping what follows it
 * at buf + its size (*have counts the bytes in buf). Returns the message size, 0 on end of
 * stream or error. */
static size_t read_message(int fd, uint8_t *buf, size_t *have, pnph_msg *m)
{
    for (;;) {
        pnph_header h;
        int r = pnph_header_check(buf, *have, &h);
        if (r == PNPH_OK && *have >= PNPH_HEADER_SIZE + (size_t)h.length) {
            size_t size = PNPH_HEADER_SIZE + (size_t)h.length;
            return pnph_decode(buf, size, m) == PNPH_OK ? size : 0;
        }
        if (r != PNPH_OK && r != PNPH_NEED_MORE)
            return 0;
        ssize_t n = recv(fd, buf + *have, PNPH_MAX_MESSAGE - *have, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        *have += (size_t)n;
    }
}

/* HELLO on fd: a new session (attach == NULL) or joining `attach`. */
static DWORD hello(int fd, const pkc_session *attach, uint64_t *id, uint64_t *key)
{
    uint8_t out[PNPH_HEADER_SIZE + 24], *in = malloc(PNPH_MAX_MESSAGE);
    pnph_builder b;
    struct iovec iov;
    pnph_msg m;
    size_t have = 0, size;
    uint32_t rid = pkc_next_request_id();
    struct timeval tv = { HELLO_TIMEOUT_S, 0 }, none = { 0, 0 };
    DWORD err = ERROR_DEVICE_NOT_CONNECTED;

    if (!in)
        return ERROR_NOT_ENOUGH_MEMORY;
    pnph_begin(&b, out, sizeof(out), PNPH_HELLO, rid);
    pnph_put_u32(&b, attach ? PNPH_HELLO_ATTACH : 0);
    pnph_put_u32(&b, 0);
    pnph_put_u64(&b, attach ? attach->id : 0);
    pnph_put_u64(&b, attach ? attach->key : 0);
    iov.iov_base = out;
    iov.iov_len = pnph_finish(&b);
    /* A host that accepts and never answers must not hang the application. */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (send_all(fd, &iov, 1) && (size = read_message(fd, in, &have, &m)) != 0 && have == size &&
        m.hdr.type == (PNPH_HELLO | PNPH_REPLY) && m.hdr.request_id == rid) {
        if (m.u.hello_reply.status == (uint32_t)STATUS_SUCCESS) {
            *id = m.u.hello_reply.session_id;
            *key = m.u.hello_reply.session_key;
            err = 0;
        } else if (m.u.hello_reply.status == (uint32_t)STATUS_ACCESS_DENIED) {
            err = ERROR_ACCESS_DENIED;
        }
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
    free(in);
    return err;
}

/* ---- The receiver ---- */

static void lose_session(pkc_session *s)
{
    LIST_ENTRY orphans;

    InitializeListHead(&orphans);
    pthread_mutex_lock(&pkc.lock);
    s->lost = true;
    for (PLIST_ENTRY e = pkc.pending.Flink, next; e != &pkc.pending; e = next) {
        next = e->Flink;
        if (CONTAINING_RECORD(e, pkc_pending, link)->session == s) {
            RemoveEntryList(e);
            InsertTailList(&orphans, e);
        }
    }
    pthread_mutex_unlock(&pkc.lock);
    while (!IsListEmpty(&orphans))
        pkc_pending_complete(CONTAINING_RECORD(RemoveHeadList(&orphans), pkc_pending, link), NULL,
                             STATUS_DEVICE_NOT_CONNECTED);

    pthread_mutex_lock(&pkc.lock);
    pkc_notify_session_lost_locked(s);
    pthread_cond_broadcast(&pkc.cond);
    pthread_mutex_unlock(&pkc.lock);

    pthread_mutex_lock(&s->write_lock);
    close(s->fd);
    s->fd = -1;
    pthread_mutex_unlock(&s->write_lock);
}

static void *receiver_main(void *arg)
{
    pkc_session *s = arg; /* the thread's reference */
    uint8_t *buf = malloc(PNPH_MAX_MESSAGE);
    size_t have = 0;
    int fd = s->fd; /* only this thread closes it, in lose_session */

    while (buf) {
        pnph_msg m;
        size_t size = read_message(fd, buf, &have, &m);
        if (!size)
            break;
        if (m.hdr.type == PNPH_EVENT) {
            pkc_notify_event(s, &m);
        } else if (m.hdr.type & PNPH_REPLY) {
            pkc_pending *p;
            pthread_mutex_lock(&pkc.lock);
            p = pkc_pending_take_locked(s, m.hdr.request_id);
            pthread_mutex_unlock(&pkc.lock);
            if (!p || (p->type | PNPH_REPLY) != m.hdr.type) {
                if (p)
                    pkc_pending_complete(p, NULL, STATUS_DEVICE_NOT_CONNECTED);
                break; /* a reply nobody asked for: the host is not to be trusted */
            }
            pkc_pending_complete(p, &m, STATUS_SUCCESS);
        } else {
            break;
        }
        memmove(buf, buf + size, have - size);
        have -= size;
    }
    free(buf);
    lose_session(s);
    pkc_session_release(s);
    return NULL;
}

DWORD pkc_session_get(pkc_session **out)
{
    pkc_session *s, *old;
    pthread_attr_t attr;
    pthread_t tid;
    DWORD err = 0;
    int fd;

    pthread_mutex_lock(&pkc.lock);
    s = pkc.session;
    if (s && !s->lost) {
        s->refs++;
        pthread_mutex_unlock(&pkc.lock);
        *out = s;
        return 0;
    }
    /* Connect under the lock: concurrent first calls make one session, not several. */
    fd = connect_host(&err);
    if (fd < 0)
        goto unlock;
    s = calloc(1, sizeof(*s));
    if (!s) {
        err = ERROR_NOT_ENOUGH_MEMORY;
        close(fd);
        goto unlock;
    }
    err = hello(fd, NULL, &s->id, &s->key);
    if (err) {
        close(fd);
        free(s);
        goto unlock;
    }
    s->fd = fd;
    s->refs = 3; /* pkc.session's, the receiver's, the caller's */
    s->generation = ++pkc.generation;
    pthread_mutex_init(&s->write_lock, NULL);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&tid, &attr, receiver_main, s) != 0) {
        pthread_attr_destroy(&attr);
        pthread_mutex_destroy(&s->write_lock);
        close(fd);
        free(s);
        err = ERROR_NOT_ENOUGH_MEMORY;
        goto unlock;
    }
    pthread_attr_destroy(&attr);
    old = pkc.session;
    pkc.session = s;
    pthread_mutex_unlock(&pkc.lock);
    if (old)
        pkc_session_release(old);
    *out = s;
    return 0;

unlock:
    pthread_mutex_unlock(&pkc.lock);
    return err;
}

/* ---- Per-thread connections and synchronous calls ---- */

typedef struct thread_conn {
    int fd;
    uint32_t generation;
    uint8_t *buf;        /* PNPH_MAX_MESSAGE bytes: the last reply */
} thread_conn;

static __thread thread_conn tls_conn = { -1, 0, NULL };
static pthread_key_t conn_key;
static pthread_once_t conn_key_once = PTHREAD_ONCE_INIT;

static void conn_destroy(void *p)
{
    thread_conn *c = p;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
}

static void conn_key_create(void) { pthread_key_create(&conn_key, conn_destroy); }

static void conn_drop(thread_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* The calling thread's connection to s, attached when needed. */
static int conn_for(pkc_session *s, DWORD *err)
{
    thread_conn *c = &tls_conn;
    uint64_t id, key;

    if (c->fd >= 0 && c->generation == s->generation)
        return c->fd;
    conn_drop(c);
    if (!c->buf) {
        c->buf = malloc(PNPH_MAX_MESSAGE);
        if (!c->buf) {
            *err = ERROR_NOT_ENOUGH_MEMORY;
            return -1;
        }
        pthread_once(&conn_key_once, conn_key_create);
        pthread_setspecific(conn_key, c);
    }
    c->fd = connect_host(err);
    if (c->fd < 0)
        return -1;
    *err = hello(c->fd, s, &id, &key);
    if (*err) {
        conn_drop(c);
        if (*err == ERROR_ACCESS_DENIED)
            *err = ERROR_DEVICE_NOT_CONNECTED; /* the session is gone: that host is not ours */
        return -1;
    }
    c->generation = s->generation;
    return c->fd;
}

DWORD pkc_call(pkc_session *s, const struct iovec *iov, int iovcnt, uint16_t type, uint32_t request_id,
               pnph_msg *reply)
{
    DWORD err = 0;
    size_t have = 0, size;
    int fd;

    if (pkc_session_lost(s))
        return ERROR_DEVICE_NOT_CONNECTED;
    fd = conn_for(s, &err);
    if (fd < 0)
        return err;
    if (!send_all(fd, iov, iovcnt))
        goto broken;
    /* Only replies travel on this connection, and only to this thread's one request. */
    size = read_message(fd, tls_conn.buf, &have, reply);
    if (!size || have != size || reply->hdr.type != (uint16_t)(type | PNPH_REPLY) || reply->hdr.request_id != request_id)
        goto broken;
    return 0;

broken:
    conn_drop(&tls_conn);
    return ERROR_DEVICE_NOT_CONNECTED;
}

DWORD pkc_send_primary(pkc_session *s, const struct iovec *iov, int iovcnt)
{
    bool ok = false;
    pthread_mutex_lock(&s->write_lock);
    if (s->fd >= 0)
        ok = send_all(s->fd, iov, iovcnt);
    pthread_mutex_unlock(&s->write_lock);
    return ok ? 0 : ERROR_DEVICE_NOT_CONNECTED;
}

void pkc_send_answer(pkc_session *s, uint32_t event_id, DWORD result)
{
    uint8_t buf[PNPH_HEADER_SIZE + 8];
    pnph_builder b;
    struct iovec iov;

    pnph_begin(&b, buf, sizeof(buf), PNPH_EVENT_ANSWER, 0);
    pnph_put_u32(&b, event_id);
    pnph_put_u32(&b, result);
    iov.iov_base = buf;
    iov.iov_len = pnph_finish(&b);
    pkc_send_primary(s, &iov, 1);
}
