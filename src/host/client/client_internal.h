/*
 * client_internal.h — what the files of libpnpkit-client share (see <pnpkit/fileapi.h> for the
 * contract, docs/protocol.md for the wire).
 *
 * Connections. A process has one session with the host at a time. The session's primary
 * connection carries notifications and overlapped requests; a receiver thread reads it. Every
 * thread that makes a synchronous call has a connection of its own, attached to the session
 * (PNPH_HELLO_ATTACH), on which it writes its request and reads its reply itself: a synchronous
 * DeviceIoControl costs one write and one read, with no other thread in between.
 *
 * Locking: pkc.lock protects the session pointer and each session's `lost`, the handle table
 * and every object's reference count and event state, the pending overlapped requests, the
 * registrations with their deliveries and known links, and the callback pool. pkc.cond is
 * broadcast when an overlapped request completes, an event is set, a callback returns, or a
 * reply on the primary connection arrives. A session's write_lock serializes writes to its
 * primary connection. No lock is held while a callback runs or a socket is read.
 */
#ifndef PNPKIT_HOST_CLIENT_INTERNAL_H
#define PNPKIT_HOST_CLIENT_INTERNAL_H

#include <pnpkit/fileapi.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "host/proto/pnph_proto.h"

typedef struct pkc_session {
    uint32_t refs;                 /* pkc.lock */
    uint64_t id, key;
    uint32_t generation;           /* unique per session of this process */
    int fd;                        /* primary connection; -1 once lost (write_lock) */
    pthread_mutex_t write_lock;
    bool lost;                     /* pkc.lock */
    uint32_t revision;             /* the host's PNPH_STAT_REVISION; 0 until asked (atomic) */
} pkc_session;

enum pkc_kind { PKC_FILE = 1, PKC_EVENT = 2 };

/* What a HANDLE names. */
typedef struct pkc_object {
    int kind;
    uint32_t refs;                 /* pkc.lock: the table's, plus one per user in a call */
    pkc_session *session;          /* PKC_FILE: referenced */
    uint64_t host_handle;          /* PKC_FILE */
    bool overlapped;               /* PKC_FILE: opened with FILE_FLAG_OVERLAPPED */
    bool manual, signaled;         /* PKC_EVENT (pkc.lock) */
} pkc_object;

/* A request whose reply arrives on the primary connection: an overlapped I/O request, or a
 * call made there so that it stays in order with them (CancelIoEx of one request). */
typedef struct pkc_pending {
    LIST_ENTRY link;               /* pkc.pending */
    uint32_t request_id;
    pkc_session *session;          /* referenced */
    uint16_t type;
    LPOVERLAPPED ov;               /* overlapped I/O: completed through it */
    void *out;
    uint32_t out_cap;
    pkc_object *file;              /* referenced */
    bool done;                     /* a call: its reply arrived */
    uint32_t status;
} pkc_pending;

struct pkc_reg;

typedef struct pkc_state {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_cond_t pool_cond;      /* callback workers wait here */
    pkc_session *session;          /* the current session (may be lost); referenced */
    uint32_t generation;
    struct pkc_slot { pkc_object *obj; uint32_t gen; } *slots;
    uint32_t n_slots;
    LIST_ENTRY pending;            /* pkc_pending */
    LIST_ENTRY regs;               /* pkc_reg */
    LIST_ENTRY ready;              /* registrations with deliveries for a worker */
    int workers, idle_workers;
} pkc_state;

extern pkc_state pkc;

/* ---- client_session.c ---- */
/* The current session, connecting first if there is none or it was lost. Returns 0 and a
 * referenced session, or a Win32 error: ERROR_DEVICE_NOT_CONNECTED (no host),
 * ERROR_ACCESS_DENIED (the socket refused this user), ERROR_NOT_ENOUGH_MEMORY. */
DWORD pkc_session_get(pkc_session **out);
void pkc_session_ref_locked(pkc_session *s);
void pkc_session_unref_locked(pkc_session *s);
void pkc_session_release(pkc_session *s);
bool pkc_session_lost(pkc_session *s);
uint32_t pkc_next_request_id(void);
/* A synchronous call on the calling thread's connection to session s: sends iov (a complete
 * message whose header says request_id), reads the reply of type `type | PNPH_REPLY` into
 * *reply (valid until the thread's next call). Returns 0 or ERROR_DEVICE_NOT_CONNECTED. */
DWORD pkc_call(pkc_session *s, const struct iovec *iov, int iovcnt, uint16_t type, uint32_t request_id,
               pnph_msg *reply);
/* Writes a complete message on the primary connection. Returns 0 or ERROR_DEVICE_NOT_CONNECTED. */
DWORD pkc_send_primary(pkc_session *s, const struct iovec *iov, int iovcnt);
/* Sends PNPH_EVENT_ANSWER (best effort). */
void pkc_send_answer(pkc_session *s, uint32_t event_id, DWORD result);

/* ---- client_file.c ---- */
void pkc_set_error(DWORD error);
/* Completes a pending request (already out of pkc.pending) from its reply, or with `status`
 * when reply is NULL, and frees it. Called by the receiver. */
void pkc_pending_complete(pkc_pending *p, const pnph_msg *reply, NTSTATUS status);
/* Finds and unlinks the pending request of session s with request_id. pkc.lock held. */
pkc_pending *pkc_pending_take_locked(pkc_session *s, uint32_t request_id);
pkc_object *pkc_object_get(HANDLE h, int kind);
void pkc_object_release(pkc_object *o);

/* ---- client_notify.c ---- */
/* An event from the primary connection (receiver thread). */
void pkc_notify_event(pkc_session *s, const pnph_msg *m);
/* The session is lost: removal notifications for its registrations. pkc.lock held. */
void pkc_notify_session_lost_locked(pkc_session *s);

#endif /* PNPKIT_HOST_CLIENT_INTERNAL_H */
