/*
 * host_loop.c — pnphost's event loop: the listening socket, the connections, message framing and
 * dispatch, the send queues, and the hand-off from other threads (host_loop_post).
 *
 * One thread runs the loop (epoll, level-triggered). Per readable connection it reads once,
 * handles every complete message in what it read, and leaves a partial message in the buffer.
 * A message that fails pnph_decode closes that connection only. Replies are written at once
 * when the socket takes them; what it does not take waits in the connection's send queue
 * (EPOLLOUT), and a client that lets more than HOST_MAX_QUEUED bytes pile up is disconnected.
 *
 * Hand-off: other threads push loop_items on a lock-free stack (host.posted) and write the
 * eventfd only when no wakeup is outstanding (host.wake_pending), so a burst of completions
 * costs one wakeup. The loop clears wake_pending before it takes the stack: an item pushed
 * after that either finds the flag clear and writes, or was already taken.
 *
 * Lifetime: the loop holds one reference on each open connection; closing it drops that
 * reference after the current batch of epoll events, so an event later in the same batch never
 * sees freed memory. Requests and posted messages hold their own references.
 */
#include "host/server/host_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define HOST_MAX_QUEUED (8u << 20)     /* bytes waiting for a client before it is dropped */
#define HOST_INITIAL_RBUF 4096u

#ifndef STATUS_REVISION_MISMATCH
#define STATUS_REVISION_MISMATCH ((NTSTATUS)0xC0000059L)
#endif

host_state host;

/* Connections closed during the current batch, released after it. */
static host_conn **graveyard;
static size_t n_graveyard, cap_graveyard;

/* ---- References ---- */

host_conn *host_conn_ref(host_conn *c)
{
    host_atomic_inc(&c->refs);
    return c;
}

void host_conn_release(host_conn *c)
{
    if (!c || host_atomic_dec(&c->refs) != 0)
        return;
    free(c);
}

/* ---- Posting to the loop ---- */

void host_loop_post(loop_item *item)
{
    loop_item *head = __atomic_load_n(&host.posted, __ATOMIC_RELAXED);
    do
        item->next = head;
    while (!__atomic_compare_exchange_n(&host.posted, &head, item, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
    if (__atomic_exchange_n(&host.wake_pending, 1, __ATOMIC_SEQ_CST) == 0) {
        uint64_t one = 1;
        ssize_t r;
        do
            r = write(host.wake_fd, &one, sizeof(one));
        while (r < 0 && errno == EINTR);
    }
}

static void drain_posted(void)
{
    uint64_t count;
    loop_item *list, *fifo = NULL;

    while (read(host.wake_fd, &count, sizeof(count)) < 0 && errno == EINTR)
        ;
    __atomic_store_n(&host.wake_pending, 0, __ATOMIC_SEQ_CST);
    list = __atomic_exchange_n(&host.posted, NULL, __ATOMIC_ACQUIRE);
    while (list) { /* the stack is newest first: reverse it */
        loop_item *next = list->next;
        list->next = fifo;
        fifo = list;
        list = next;
    }
    while (fifo) {
        loop_item *next = fifo->next;
        fifo->run(fifo);
        fifo = next;
    }
}

/* ---- Messages to a session from other threads ---- */

typedef struct posted_message {
    loop_item item;
    host_session *session;
    size_t len;
    uint8_t bytes[];
} posted_message;

static void run_posted_message(loop_item *item)
{
    posted_message *pm = CONTAINING_RECORD(item, posted_message, item);
    if (pm->session->primary)
        host_conn_send(pm->session->primary, pm->bytes, pm->len);
    host_session_release(pm->session);
    free(pm);
}

void host_session_post_message(host_session *s, const void *msg, size_t len)
{
    posted_message *pm = malloc(sizeof(*pm) + len);
    if (!pm) {
        host_log(HOST_LOG_ERROR, "out of memory: a notification to session %llu is lost", (unsigned long long)s->id);
        return;
    }
    pm->item.run = run_posted_message;
    pm->session = host_session_ref(s); /* held by the item until the loop ran it */
    pm->len = len;
    memcpy(pm->bytes, msg, len);
    host_loop_post(&pm->item);
}

/* ---- Sending ---- */

static void set_epollout(host_conn *c, bool on)
{
    struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0u), .data.ptr = c };
    if (c->epollout == on)
        return;
    c->epollout = on;
    epoll_ctl(host.epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static bool queue_bytes(host_conn *c, const uint8_t *p, size_t len)
{
    out_chunk *o;
    if (c->out_bytes + len > HOST_MAX_QUEUED) {
        host_conn_close(c, "the client does not read its messages");
        return false;
    }
    o = malloc(sizeof(*o) + len);
    if (!o) {
        host_conn_close(c, "out of memory for its send queue");
        return false;
    }
    o->next = NULL;
    o->len = len;
    o->off = 0;
    memcpy(o->data, p, len);
    if (c->out_tail)
        c->out_tail->next = o;
    else
        c->out_head = o;
    c->out_tail = o;
    c->out_bytes += len;
    set_epollout(c, true);
    return true;
}

void host_conn_send(host_conn *c, const void *msg, size_t len)
{
    const uint8_t *p = msg;
    ssize_t n;

    if (c->closed || !len)
        return;
    if (c->out_head) {
        queue_bytes(c, p, len);
        return;
    }
    for (;;) {
        n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0 || errno != EINTR)
            break;
    }
    if (n == (ssize_t)len)
        return;
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            n = 0;
        else {
            host_conn_close(c, "send failed");
            return;
        }
    }
    queue_bytes(c, p + n, len - (size_t)n);
}

static void conn_writable(host_conn *c)
{
    while (c->out_head) {
        out_chunk *o = c->out_head;
        ssize_t n = send(c->fd, o->data + o->off, o->len - o->off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            host_conn_close(c, "send failed");
            return;
        }
        o->off += (size_t)n;
        c->out_bytes -= (size_t)n;
        if (o->off < o->len)
            return;
        c->out_head = o->next;
        if (!c->out_head)
            c->out_tail = NULL;
        free(o);
    }
    set_epollout(c, false);
}

void host_reply_u32(host_conn *c, uint16_t type, uint32_t request_id, uint32_t value)
{
    uint8_t buf[PNPH_HEADER_SIZE + 4];
    pnph_builder b;
    pnph_begin(&b, buf, sizeof(buf), (uint16_t)(type | PNPH_REPLY), request_id);
    pnph_put_u32(&b, value);
    host_conn_send(c, buf, pnph_finish(&b));
}

/* ---- Connections ---- */

void host_conn_close(host_conn *c, const char *why)
{
    host_session *s = c->session;
    out_chunk *o;

    if (c->closed)
        return;
    c->closed = true;
    host_log(HOST_LOG_DEBUG, "connection %llu (pid %d) closed: %s", (unsigned long long)c->id, (int)c->cred.pid, why);
    epoll_ctl(host.epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    free(c->rbuf);
    c->rbuf = NULL;
    c->rlen = c->rcap = 0;
    while ((o = c->out_head)) {
        c->out_head = o->next;
        free(o);
    }
    c->out_tail = NULL;
    c->out_bytes = 0;
    RemoveEntryList(&c->all_link);
    host_atomic_dec(&host.n_conns);
    if (s) {
        RemoveEntryList(&c->session_link);
        c->session = NULL;
        if (c->primary)
            host_session_end(s);
        host_session_release(s);
    }
    if (n_graveyard == cap_graveyard) {
        size_t cap = cap_graveyard ? cap_graveyard * 2 : 16;
        host_conn **g = realloc(graveyard, cap * sizeof(*g));
        if (!g) {
            /* Without room to defer, keep the reference: a small leak beats a use after free. */
            return;
        }
        graveyard = g;
        cap_graveyard = cap;
    }
    graveyard[n_graveyard++] = c;
}

static void malformed(host_conn *c, int result)
{
    host_atomic_inc(&host.n_malformed);
    host_log(HOST_LOG_INFO, "connection %llu (pid %d): malformed message (%s): closed", (unsigned long long)c->id,
             (int)c->cred.pid, pnph_result_text(result));
    host_conn_close(c, "malformed message");
}

static void reply_stats(host_conn *c, const pnph_msg *m)
{
    uint8_t buf[PNPH_HEADER_SIZE + 4 + 4 * PNPH_STAT_COUNT];
    pnph_builder b;
    uint32_t v[PNPH_STAT_COUNT];

    v[PNPH_STAT_SESSIONS] = host_load(&host.n_sessions);
    v[PNPH_STAT_CONNECTIONS] = host_load(&host.n_conns);
    v[PNPH_STAT_HANDLES] = host_load(&host.n_handles);
    v[PNPH_STAT_REQUESTS] = host_load(&host.n_requests);
    v[PNPH_STAT_REGISTRATIONS] = host_load(&host.n_regs);
    v[PNPH_STAT_PENDING_ANSWERS] = host_load(&host.n_answers);
    v[PNPH_STAT_LIVE_OBJECTS] = PnpkitLiveObjectCount();
    v[PNPH_STAT_MALFORMED] = host_load(&host.n_malformed);
    v[PNPH_STAT_REVISION] = PNPH_REVISION;
    pnph_begin(&b, buf, sizeof(buf), PNPH_STATS | PNPH_REPLY, m->hdr.request_id);
    pnph_put_u32(&b, PNPH_STAT_COUNT);
    for (int i = 0; i < PNPH_STAT_COUNT; i++)
        pnph_put_u32(&b, v[i]);
    host_conn_send(c, buf, pnph_finish(&b));
}

static void dispatch(host_conn *c, const pnph_msg *m)
{
    if (m->hdr.type == PNPH_HELLO) {
        if (c->session) {
            malformed(c, PNPH_BAD_TYPE);
            return;
        }
        host_session_hello(c, m);
        return;
    }
    if (!c->session) {
        malformed(c, PNPH_BAD_TYPE);
        return;
    }
    switch (m->hdr.type) {
    case PNPH_LIST_INTERFACES: host_pnp_list(c, m); break;
    case PNPH_LOCATE_DEVNODE: host_pnp_locate(c, m); break;
    case PNPH_DEVNODE: host_pnp_devnode(c, m); break;
    case PNPH_DEVICE_EVENT: host_pnp_device_event(c, m); break;
    case PNPH_CREATE: host_io_create(c, m); break;
    case PNPH_CLOSE: host_io_close(c, m); break;
    case PNPH_IOCTL:
    case PNPH_READ:
    case PNPH_WRITE: host_io_request(c, m); break;
    case PNPH_CANCEL: host_io_cancel(c, m); break;
    case PNPH_REGISTER: host_notify_register(c, m); break;
    case PNPH_UNREGISTER: host_notify_unregister(c, m); break;
    case PNPH_EVENT_ANSWER: host_notify_answer(c, m); break;
    case PNPH_STATS: reply_stats(c, m); break;
    case PNPH_HANDLES: host_io_handles(c, m); break;
    default: malformed(c, PNPH_BAD_TYPE); break; /* replies and events travel the other way */
    }
}

static void conn_readable(host_conn *c)
{
    ssize_t n;
    size_t off = 0;

    for (;;) {
        n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
        if (n >= 0 || errno != EINTR)
            break;
    }
    if (n == 0) {
        host_conn_close(c, "the client closed the connection");
        return;
    }
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            host_conn_close(c, "receive failed");
        return;
    }
    c->rlen += (size_t)n;

    while (!c->closed) {
        pnph_header h;
        pnph_msg m;
        size_t avail = c->rlen - off, total;
        int r = pnph_header_check(c->rbuf + off, avail, &h);

        if (r == PNPH_NEED_MORE)
            break;
        if (r == PNPH_BAD_VERSION && h.type == PNPH_HELLO && !c->session) {
            /* Tell a client of another protocol version which one this host speaks. */
            uint8_t buf[PNPH_HEADER_SIZE + 24];
            pnph_builder b;
            pnph_begin(&b, buf, sizeof(buf), PNPH_HELLO | PNPH_REPLY, h.request_id);
            pnph_put_u32(&b, (uint32_t)STATUS_REVISION_MISMATCH);
            pnph_put_u32(&b, PNPH_MAX_PAYLOAD);
            pnph_put_u64(&b, 0);
            pnph_put_u64(&b, 0);
            host_conn_send(c, buf, pnph_finish(&b));
            malformed(c, r);
            return;
        }
        if (r != PNPH_OK) {
            malformed(c, r);
            return;
        }
        total = PNPH_HEADER_SIZE + (size_t)h.length;
        if (avail < total) {
            if (c->rcap < total) {
                /* Grow to the announced size (capped by pnph_header_check) and wait for it. */
                size_t cap = c->rcap;
                while (cap < total)
                    cap *= 2;
                if (cap > PNPH_MAX_MESSAGE)
                    cap = PNPH_MAX_MESSAGE;
                memmove(c->rbuf, c->rbuf + off, avail);
                c->rlen = avail;
                off = 0;
                uint8_t *nb = realloc(c->rbuf, cap);
                if (!nb) {
                    host_conn_close(c, "out of memory for its message");
                    return;
                }
                c->rbuf = nb;
                c->rcap = cap;
            }
            break;
        }
        r = pnph_decode(c->rbuf + off, total, &m);
        if (r != PNPH_OK) {
            malformed(c, r);
            return;
        }
        dispatch(c, &m);
        off += total;
    }
    if (!c->closed && off) {
        memmove(c->rbuf, c->rbuf + off, c->rlen - off);
        c->rlen -= off;
    }
}

static void accept_one(void)
{
    struct ucred cred;
    host_conn *c;
    int fd = accept4(host.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (fd < 0)
        return;
    if (!host_security_accept(fd, &cred)) {
        close(fd);
        return;
    }
    if (host_load(&host.n_conns) >= host.cfg.max_clients) {
        host_log(HOST_LOG_INFO, "refusing a connection from pid %d: max_clients (%u) reached", (int)cred.pid,
                 host.cfg.max_clients);
        close(fd);
        return;
    }
    c = calloc(1, sizeof(*c));
    if (c)
        c->rbuf = malloc(HOST_INITIAL_RBUF);
    if (!c || !c->rbuf) {
        free(c);
        close(fd);
        return;
    }
    c->refs = 1; /* the loop's */
    c->fd = fd;
    c->id = ++host.next_conn_id;
    c->cred = cred;
    c->rcap = HOST_INITIAL_RBUF;
    InitializeListHead(&c->session_link);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
    if (epoll_ctl(host.epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        free(c->rbuf);
        free(c);
        close(fd);
        return;
    }
    InsertTailList(&host.conns, &c->all_link);
    host_atomic_inc(&host.n_conns);
    host_log(HOST_LOG_DEBUG, "connection %llu from pid %d uid %u", (unsigned long long)c->id, (int)cred.pid,
             (unsigned)cred.uid);
}

/* ---- The loop ---- */

int host_loop_init(void)
{
    struct epoll_event ev;
    sigset_t sigs;

    InitializeListHead(&host.conns);
    InitializeListHead(&host.sessions);
    host.epfd = epoll_create1(EPOLL_CLOEXEC);
    host.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    host.signal_fd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    if (host.epfd < 0 || host.wake_fd < 0 || host.signal_fd < 0)
        return -1;
    ev.events = EPOLLIN;
    ev.data.ptr = &host.wake_fd;
    if (epoll_ctl(host.epfd, EPOLL_CTL_ADD, host.wake_fd, &ev) != 0)
        return -1;
    ev.data.ptr = &host.signal_fd;
    if (epoll_ctl(host.epfd, EPOLL_CTL_ADD, host.signal_fd, &ev) != 0)
        return -1;
    ev.data.ptr = &host.listen_fd;
    if (epoll_ctl(host.epfd, EPOLL_CTL_ADD, host.listen_fd, &ev) != 0)
        return -1;
    host.loop_thread = pthread_self();
    return 0;
}

static void begin_stop(const char *why)
{
    if (host.stopping)
        return;
    host.stopping = true;
    host_log(HOST_LOG_INFO, "stopping (%s)", why);
    epoll_ctl(host.epfd, EPOLL_CTL_DEL, host.listen_fd, NULL);
    close(host.listen_fd);
    host.listen_fd = -1;
    unlink(host.socket_path);
    while (!IsListEmpty(&host.conns))
        host_conn_close(CONTAINING_RECORD(host.conns.Flink, host_conn, all_link), "pnphost is stopping");
}

static bool quiescent(void)
{
    return host_load(&host.n_requests) == 0 && host_load(&host.n_works) == 0 && host_load(&host.n_sessions) == 0;
}

void host_loop_run(void)
{
    struct epoll_event events[64];
    uint64_t stop_deadline = 0;

    for (;;) {
        int timeout = -1;
        if (host.stopping) {
            if (quiescent())
                break;
            if (!stop_deadline)
                stop_deadline = host_now_ms() + 10000;
            if (host_now_ms() >= stop_deadline) {
                host_log(HOST_LOG_ERROR,
                         "stopping without waiting longer: %u requests and %u operations never completed",
                         host_load(&host.n_requests), host_load(&host.n_works));
                break;
            }
            timeout = 50;
        }
        int n = epoll_wait(host.epfd, events, 64, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            host_log(HOST_LOG_ERROR, "epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            void *tag = events[i].data.ptr;
            if (tag == &host.wake_fd) {
                drain_posted();
            } else if (tag == &host.listen_fd) {
                if (!host.stopping)
                    accept_one();
            } else if (tag == &host.signal_fd) {
                struct signalfd_siginfo si;
                while (read(host.signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                    if (si.ssi_signo != SIGHUP)
                        begin_stop(si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
            } else {
                host_conn *c = tag;
                if (c->closed)
                    continue;
                if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                    conn_readable(c);
                if (!c->closed && (events[i].events & EPOLLOUT))
                    conn_writable(c);
            }
        }
        for (size_t i = 0; i < n_graveyard; i++)
            host_conn_release(graveyard[i]);
        n_graveyard = 0;
    }
    begin_stop("loop ended");
    drain_posted();
    for (size_t i = 0; i < n_graveyard; i++)
        host_conn_release(graveyard[i]);
    n_graveyard = 0;
}

void host_loop_fini(void)
{
    free(graveyard);
    graveyard = NULL;
    cap_graveyard = 0;
    if (host.epfd >= 0)
        close(host.epfd);
    if (host.wake_fd >= 0)
        close(host.wake_fd);
    if (host.signal_fd >= 0)
        close(host.signal_fd);
    host.epfd = host.wake_fd = host.signal_fd = -1;
}
