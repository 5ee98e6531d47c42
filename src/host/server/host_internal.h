/*
 * host_internal.h — what the files of pnphost share and nothing else includes.
 *
 * pnphost is an ordinary program over the public pnpkit API (it links libpnpkit like any driver
 * host would): it loads driver packages, creates software devices, and serves applications on a
 * Unix socket with the protocol of docs/protocol.md.
 *
 * Threads and who touches what:
 *   - The loop thread (host_loop.c) owns every socket, every connection, every session and its
 *     handle table, and the lists of outstanding requests. It never blocks on a driver: I/O
 *     requests go down with IoCallDriver (a driver that completes inline is answered at once, in
 *     the same pass), and everything that may block (create, close, removal requests,
 *     unregistration) runs as a work item on pnpkit's thread pool.
 *   - Other threads (IRP completions, work items, in-process notification callbacks) never touch
 *     a socket or a loop-owned list. They hand results to the loop with host_loop_post, a
 *     lock-free stack drained by the loop after an eventfd wakeup.
 *   - host.nlock (host_notify.c) protects what notification callbacks share with the loop: the
 *     table of enabled interfaces, the interface registrations, the `dead` flags of sessions and
 *     registrations, and the answers being waited for.
 *
 * References: connections, sessions, handles and registrations are reference-counted with
 * atomics. A pointer that crosses to another thread carries a reference, taken at the hand-off.
 */
#ifndef PNPKIT_HOST_INTERNAL_H
#define PNPKIT_HOST_INTERNAL_H

#include <pnpkit.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "host/proto/pnph_proto.h"

#define HOST_LOG_ERROR 1
#define HOST_LOG_INFO 2
#define HOST_LOG_DEBUG 3

void host_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
extern int host_log_level;

#define host_atomic_inc(p) __atomic_add_fetch((p), 1, __ATOMIC_ACQ_REL)
#define host_atomic_dec(p) __atomic_sub_fetch((p), 1, __ATOMIC_ACQ_REL)
#define host_load(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define host_store(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* =============================================================================================
 * Configuration (host_config.c)
 * ============================================================================================= */

typedef struct host_driver_cfg {
    char *path;          /* absolute, or relative to the configuration file's folder */
    char *name;          /* service name */
    char **hardware_ids;
    int n_hardware_ids;
    int line;
} host_driver_cfg;

typedef struct host_device_cfg {
    char *enumerator;
    char *instance;
    char **hardware_ids;
    int n_hardware_ids;
    char **compatible_ids;
    int n_compatible_ids;
    char *description;
    int line;
} host_device_cfg;

typedef struct host_access_cfg {
    GUID class_guid;
    bool has_owner, has_group;
    uid_t owner;
    gid_t group;
    unsigned mode;       /* rwx bits, as for a file */
    int line;
} host_access_cfg;

typedef struct host_config {
    char *file;
    char *socket_path;   /* NULL: the default path */
    bool has_group;
    gid_t group;
    unsigned socket_mode;
    unsigned notification_timeout_ms;
    unsigned max_clients;
    host_driver_cfg *drivers;
    int n_drivers;
    host_device_cfg *devices;
    int n_devices;
    host_access_cfg *access;
    int n_access;
} host_config;

/* Parses `file`. On failure writes "file:line: reason" to err and returns false. */
bool host_config_load(const char *file, host_config *cfg, char *err, size_t err_size);
void host_config_free(host_config *cfg);
/* The socket path applications use when PNPKIT_HOST_SOCKET is not set (see docs/pnphost.md). */
void host_default_socket_path(char *buf, size_t size);

/* =============================================================================================
 * Objects
 * ============================================================================================= */

typedef struct host_session host_session;
typedef struct host_conn host_conn;

/* Something handed to the loop by another thread. */
typedef struct loop_item {
    struct loop_item *next;
    void (*run)(struct loop_item *item); /* runs on the loop thread */
} loop_item;

typedef struct out_chunk {
    struct out_chunk *next;
    size_t len, off;
    uint8_t data[];
} out_chunk;

struct host_conn {
    uint32_t refs;
    int fd;
    uint64_t id;
    struct ucred cred;
    host_session *session;   /* referenced; NULL until HELLO (loop only) */
    bool primary;
    bool closed;             /* loop only */
    bool epollout;           /* loop only */
    uint8_t *rbuf;           /* loop only */
    size_t rlen, rcap;
    out_chunk *out_head, *out_tail; /* loop only */
    size_t out_bytes;
    LIST_ENTRY all_link;     /* host.conns (loop only) */
    LIST_ENTRY session_link; /* session->conns (loop only) */
};

typedef struct host_handle {
    uint32_t refs;
    host_session *session;   /* referenced */
    uint64_t id;
    PFILE_OBJECT fo;         /* the open; the handle's own reference until closed */
    WCHAR *name;             /* what CreateFileW opened (NUL-terminated; owned) */
    bool can_read, can_write;
    bool closing;            /* loop only */
    /* Counters for PNPH_HANDLES (pnpctl watch samples them for request rates). Only the loop
     * writes them today, but they are relaxed atomics so that a reader on another thread, or a
     * completion path that moves off the loop, never needs a lock on the I/O path. */
    uint64_t n_requests;     /* requests completed */
    uint64_t bytes_in;       /* bytes sent to the driver (write data, IOCTL input) */
    uint64_t bytes_out;      /* bytes returned to the application */
    uint32_t in_flight;      /* requests sent to the driver and not completed */
    LIST_ENTRY requests;     /* host_request.link (loop only) */
} host_handle;

typedef struct host_reg {
    uint32_t refs;
    uint64_t id;             /* chosen by the client, unique in its session */
    host_session *session;   /* referenced */
    CM_NOTIFY_FILTER_TYPE type;
    bool all;
    GUID class_guid;
    HCMNOTIFICATION inproc;  /* DEVICEHANDLE and DEVICEINSTANCE: the in-process registration */
    bool dead;               /* host.nlock */
    LIST_ENTRY session_link; /* session->regs (loop only) */
    LIST_ENTRY iface_link;   /* host.iface_regs (host.nlock) */
} host_reg;

struct host_session {
    uint32_t refs;
    uint64_t id, key;
    struct ucred cred;
    host_conn *primary;      /* loop only; NULL once the session ended */
    LIST_ENTRY conns;        /* loop only */
    LIST_ENTRY regs;         /* loop only */
    LIST_ENTRY all_link;     /* host.sessions (loop only) */
    host_handle **handles;   /* loop only: slot table */
    uint32_t n_handles, cap_handles;
    uint32_t handle_seq;
    bool dead;               /* host.nlock (and loop) */
};

/* =============================================================================================
 * The host (one per process)
 * ============================================================================================= */

typedef struct host_state {
    host_config cfg;
    char socket_path[108];
    int epfd, listen_fd, wake_fd, signal_fd;
    pthread_t loop_thread;
    bool stopping;
    loop_item *posted;              /* lock-free stack of items for the loop */
    int wake_pending;               /* an eventfd write is outstanding */
    LIST_ENTRY conns, sessions;     /* loop only */
    uint64_t next_conn_id, next_session_id;

    pthread_mutex_t nlock;          /* see the top of this file */
    pthread_cond_t answer_cond;     /* signaled when an answer arrives or its session ends */
    LIST_ENTRY iface_regs;          /* host_reg.iface_link */
    LIST_ENTRY answers;             /* host_answer.link */
    struct host_link *links;        /* enabled interfaces */
    size_t n_links, cap_links;
    HCMNOTIFICATION iface_inproc;   /* the host's own all-classes registration */
    uint32_t next_event_id;         /* nlock */

    /* Statistics (atomics), reported by PNPH_STATS and checked by the tests. */
    uint32_t n_sessions, n_conns, n_handles, n_requests, n_regs, n_answers, n_works, n_malformed;
} host_state;

extern host_state host;

/* ---- host_loop.c ---- */
int host_loop_init(void);
void host_loop_run(void);
void host_loop_fini(void);
/* Hands item to the loop (any thread, any IRQL; lock-free). */
void host_loop_post(loop_item *item);
host_conn *host_conn_ref(host_conn *c);
void host_conn_release(host_conn *c);
/* Sends a complete message on c (loop only); a connection that cannot keep up is closed. */
void host_conn_send(host_conn *c, const void *msg, size_t len);
/* Closes c (loop only): the socket goes, the session ends if c was its primary. */
void host_conn_close(host_conn *c, const char *why);
/* Builds and sends a reply carrying one u32 (loop only). */
void host_reply_u32(host_conn *c, uint16_t type, uint32_t request_id, uint32_t value);
/* Sends a prepared message to a session's primary connection from any thread. `msg` is copied. */
void host_session_post_message(host_session *s, const void *msg, size_t len);

/* ---- host_session.c ---- */
host_session *host_session_ref(host_session *s);
void host_session_release(host_session *s);
void host_session_hello(host_conn *c, const pnph_msg *m);
/* Ends a session (loop only): cancels its requests, closes its handles, ends its registrations
 * and closes its other connections. */
void host_session_end(host_session *s);
host_handle *host_session_handle(host_session *s, uint64_t id);
uint64_t host_session_add_handle(host_session *s, host_handle *h);
void host_session_remove_handle(host_session *s, host_handle *h);
void host_session_end_all(void);

/* ---- host_io.c ---- */
void host_io_create(host_conn *c, const pnph_msg *m);
void host_io_close(host_conn *c, const pnph_msg *m);
void host_io_request(host_conn *c, const pnph_msg *m);
void host_io_cancel(host_conn *c, const pnph_msg *m);
/* PNPH_HANDLES: every open handle with its counters (loop). */
void host_io_handles(host_conn *c, const pnph_msg *m);
host_handle *host_handle_ref(host_handle *h);
void host_handle_release(host_handle *h);
/* Loop only: cancels every outstanding request of h, then closes it (cleanup, then close once
 * the last request is done). */
void host_handle_abandon(host_handle *h);
/* Runs fn(ctx) on pnpkit's thread pool, then done(ctx) on the loop. */
void host_run_work(void (*fn)(void *), void (*done)(void *), void *ctx);

/* ---- host_pnp.c ---- */
void host_pnp_list(host_conn *c, const pnph_msg *m);
void host_pnp_locate(host_conn *c, const pnph_msg *m);
void host_pnp_devnode(host_conn *c, const pnph_msg *m);
/* PNPH_DEVICE_EVENT: IoReportTargetDeviceChangeAsynchronous on the device's PDO; the reply goes
 * out once every registrant has had it. */
void host_pnp_device_event(host_conn *c, const pnph_msg *m);
/* Whether link (NUL-terminated) is an interface of the device with this instance id: its device
 * part is the id with each \ written as #, in any letter case. */
bool host_link_of_device(const WCHAR *link, const WCHAR *instance_id);

/* ---- host_notify.c ---- */
int host_notify_start(void);
void host_notify_stop(void);
void host_notify_register(host_conn *c, const pnph_msg *m);
void host_notify_unregister(host_conn *c, const pnph_msg *m);
void host_notify_answer(host_conn *c, const pnph_msg *m);
/* Loop only: ends every registration of s and releases whoever waits for its answers. */
void host_notify_session_end(host_session *s);
/* Fills the multi-string of enabled links of a class (all classes when all) into a builder. */
void host_notify_put_links(pnph_builder *b, const GUID *class_guid, bool all);
/* The multi-string of every enabled link (of one device when instance_id is not NULL), for
 * PNPH_LIST_ALL_CLASSES: malloc'd into *list with *chars units (a single NUL when empty).
 * CR_SUCCESS, CR_OUT_OF_MEMORY, or CR_FAILURE when longer than PNPH_MAX_LIST_CHARS. */
CONFIGRET host_notify_all_links(const WCHAR *instance_id, WCHAR **list, ULONG *chars);
/* Copies an enabled link of the device with this instance id into out (room for cap units,
 * NUL-terminated). False when it has none (or none that fits). */
bool host_notify_link_of_device(const WCHAR *instance_id, WCHAR *out, size_t cap);

/* ---- host_security.c ---- */
int host_security_listen(const char *path, gid_t group, bool has_group, unsigned mode);
/* SO_PEERCRED of a new connection and the policy check. False: refuse it. */
bool host_security_accept(int fd, struct ucred *cred);
/* Whether cred may open `name` (a link) with `access`: STATUS_SUCCESS, STATUS_ACCESS_DENIED by
 * an interface_access rule, or STATUS_OBJECT_NAME_NOT_FOUND for a name that is no link while
 * rules exist. */
NTSTATUS host_security_check_open(const struct ucred *cred, const WCHAR *name, ACCESS_MASK access);
/* Whether cred may act on devices as a driver or as the hardware would (PNPH_DEVICE_EVENT,
 * PNPH_DN_SURPRISE_REMOVE): root and the host's own user, the owner of the socket. */
bool host_security_may_control(const struct ucred *cred);

/* ---- host_main.c ---- */
/* ms since an arbitrary start (CLOCK_MONOTONIC). */
uint64_t host_now_ms(void);

#endif /* PNPKIT_HOST_INTERNAL_H */
