/*
 * dmf_request_target_engine.h — the request engine DMF_RequestTarget and
 * DMF_ContinuousRequestTarget share (dmf_request_target.c): single, synchronous and reusable
 * requests, cancel ids, request records, passive delivery. Private to src/dmf.
 *
 * Locking: every list and flag below is protected by the engine's spin lock (see rt_engine).
 * WDF calls (send, cancel, reuse, delete) and client callbacks run with no lock held.
 */
#ifndef PNPKIT_DMF_REQUEST_TARGET_ENGINE_H
#define PNPKIT_DMF_REQUEST_TARGET_ENGINE_H

#include "dmf/dmf_internal.h"

typedef enum { RT_POOLED = 1, RT_REUSE, RT_STREAM } rt_kind;

typedef struct rt_engine rt_engine;

/* One WDFREQUEST with the memory objects that describe its buffers. */
typedef struct rt_req {
    LIST_ENTRY link;        /* free pool (pooled), reuse list (reuse), owner's array (stream) */
    LIST_ENTRY cancel_link; /* cancellable list while sent with an id */
    LIST_ENTRY work_link;   /* passive delivery queue */
    rt_engine *e;
    rt_kind kind;
    WDFREQUEST request;
    WDFMEMORY in_mem, out_mem;
    ULONG64 cancel_id;      /* id of the current send (0: none) */
    ULONG64 reuse_id;       /* RT_REUSE */
    LONG refs;              /* owner + cancel pins */
    bool in_cancel_list;
    bool in_flight;         /* RT_REUSE and RT_STREAM: sent, not yet returned */
    /* The current send. */
    ContinuousRequestTarget_RequestType type;
    VOID *in, *out;
    size_t in_len, out_len;
    EVT_DMF_RequestTarget_SendCompletion *callback;
    VOID *callback_context;
    NTSTATUS status;
    size_t information;
    /* RT_STREAM: buffers from the pools. */
    VOID *in_buf, *in_ctx, *out_buf, *out_ctx;
    ULONG index;
    struct rt_req *tl_next; /* the per-thread re-send queue (CRT) */
} rt_req;

struct rt_engine {
    dmf_module *m;
    /* The engine's own spin lock: completions arrive at DISPATCH_LEVEL even for passive
     * modules, whose module lock may sleep. Protects everything below. */
    KSPIN_LOCK lock;
    KIRQL lock_irql;
    WDFIOTARGET target;
    LIST_ENTRY cancellable;
    LIST_ENTRY reuse;
    LIST_ENTRY free_pool;
    LIST_ENTRY passive_queue;
    /* Passive delivery: one pool work item drains passive_queue; worker_idle is signalled
     * while it is neither queued nor running. */
    bool passive;
    bool worker_scheduled;
    WORK_QUEUE_ITEM work_item;
    KEVENT worker_idle;
    bool open;
    /* Completion of a stream record (CRT only); runs at delivery time with no lock held. */
    void (*stream_complete)(rt_engine *e, rt_req *rec);
};

static inline void rt_lock(rt_engine *e)
{
    KIRQL old;
    KeAcquireSpinLock(&e->lock, &old);
    e->lock_irql = old;
}
static inline void rt_unlock(rt_engine *e) { KeReleaseSpinLock(&e->lock, e->lock_irql); }
#define RT_LOCK(e) rt_lock(e)
#define RT_UNLOCK(e) rt_unlock(e)

void dmf_rt_init(rt_engine *e, dmf_module *m);
NTSTATUS dmf_rt_open(rt_engine *e);
void dmf_rt_close(rt_engine *e);

NTSTATUS dmf_rt_target_set(rt_engine *e, WDFIOTARGET target);
void dmf_rt_target_clear(rt_engine *e);
NTSTATUS dmf_rt_target_get(rt_engine *e, WDFIOTARGET *target);

NTSTATUS dmf_rt_send(rt_engine *e, const char *api, VOID *in, size_t in_len, VOID *out, size_t out_len,
                     ContinuousRequestTarget_RequestType type, ULONG ioctl, ULONG timeout_ms,
                     EVT_DMF_RequestTarget_SendCompletion *callback, VOID *context,
                     RequestTarget_DmfRequestCancel *id_out, RequestTarget_DmfRequestReuse reuse_id);
NTSTATUS dmf_rt_send_sync(rt_engine *e, const char *api, VOID *in, size_t in_len, VOID *out, size_t out_len,
                          ContinuousRequestTarget_RequestType type, ULONG ioctl, ULONG timeout_ms,
                          size_t *bytes);
BOOLEAN dmf_rt_cancel(rt_engine *e, RequestTarget_DmfRequestCancel id);
NTSTATUS dmf_rt_reuse_create(rt_engine *e, RequestTarget_DmfRequestReuse *id);
BOOLEAN dmf_rt_reuse_delete(rt_engine *e, RequestTarget_DmfRequestReuse id);

/* Stream records (CRT). */
rt_req *dmf_rt_req_new(rt_engine *e, rt_kind kind);
void dmf_rt_req_destroy(rt_req *rec);
/* Reuses, formats (rec->type and the given buffers) and sends rec with no timeout; its
 * completion goes to e->stream_complete (inline or on the work item). False, with the status
 * in *status, when formatting or the send failed. */
bool dmf_rt_stream_send(rt_engine *e, rt_req *rec, WDFIOTARGET target, ULONG ioctl, NTSTATUS *status);

#endif
