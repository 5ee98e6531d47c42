/*
 * host_io.c — applications' handles and I/O: CreateFileW (PNPH_CREATE), CloseHandle
 * (PNPH_CLOSE), DeviceIoControl / ReadFile / WriteFile (PNPH_IOCTL, PNPH_READ, PNPH_WRITE) and
 * CancelIoEx (PNPH_CANCEL), and the work items that run what may block.
 *
 * The request path is the hot one and stays on the loop thread: the message is decoded in
 * place, the input copied once into a buffer that has room for the reply's header in front of
 * the output area, an IRP from IoAllocateIrp goes down with IoCallDriver, and its completion
 * routine (returning STATUS_MORE_PROCESSING_REQUIRED, so the IRP stays ours) decides with one
 * compare-and-swap whether the loop answers in the same pass (the driver completed inline) or
 * the completion is posted back to the loop. The reply then goes out with one send from that
 * same buffer.
 *
 * A request holds a reference on its handle, its connection, and the FILE_OBJECT (so that, as
 * on Windows, IRP_MJ_CLOSE reaches the driver only after the last request of a closed handle
 * completed). Only the loop frees a request and its IRP, which is why IoCancelIrp from the loop
 * is always safe: an IRP the loop can see is never freed under it.
 *
 * Create and close may block in the driver, so they run on pnpkit's thread pool
 * (host_run_work) and report back to the loop.
 *
 * Each handle counts its requests (sent, completed, bytes each way) with relaxed atomic adds on
 * the request path — no lock — for PNPH_HANDLES, from which pnpctl computes request rates and
 * draws who has what open. A handle also keeps the name it was opened with (the graph's edge
 * to its interface, and how PNPH_DEVICE_EVENT finds a file object on a device).
 */
#include "host/server/host_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REPLY_PREFIX (PNPH_HEADER_SIZE + 16u) /* header + status, information, data_len, reserved */

enum { REQ_DISPATCHING, REQ_IN_FLIGHT, REQ_DONE_INLINE };

typedef struct host_request {
    loop_item item;          /* the completion, posted to the loop */
    int state;               /* REQ_*: the loop and the completion routine agree through it */
    PIRP irp;
    host_handle *handle;     /* referenced */
    host_conn *conn;         /* referenced: the reply goes there */
    PFILE_OBJECT fo;         /* referenced */
    uint32_t request_id;
    uint16_t type;
    uint32_t out_len;
    NTSTATUS status;
    ULONG_PTR information;
    LIST_ENTRY link;         /* handle->requests (loop only) */
    uint8_t *out;            /* the output area, right after the reply prefix */
    uint8_t storage[];
} host_request;

/* ---- Work items ---- */

typedef struct host_work {
    WORK_QUEUE_ITEM wi;
    loop_item item;
    void (*fn)(void *);
    void (*done)(void *);
    void *ctx;
} host_work;

static void work_done(loop_item *item)
{
    host_work *w = CONTAINING_RECORD(item, host_work, item);
    if (w->done)
        w->done(w->ctx);
    free(w);
    host_atomic_dec(&host.n_works);
}

static VOID work_routine(PVOID p)
{
    host_work *w = p;
    w->fn(w->ctx);
    w->item.run = work_done;
    host_loop_post(&w->item);
}

void host_run_work(void (*fn)(void *), void (*done)(void *), void *ctx)
{
    host_work *w = calloc(1, sizeof(*w));
    host_atomic_inc(&host.n_works);
    if (!w) {
        /* Out of memory: do it here rather than lose it (this may block the loop). */
        host_log(HOST_LOG_ERROR, "out of memory for a work item: running it on the loop");
        fn(ctx);
        if (done)
            done(ctx);
        host_atomic_dec(&host.n_works);
        return;
    }
    w->fn = fn;
    w->done = done;
    w->ctx = ctx;
    ExInitializeWorkItem(&w->wi, work_routine, w);
    ExQueueWorkItem(&w->wi, DelayedWorkQueue);
}

/* ---- Handles ---- */

host_handle *host_handle_ref(host_handle *h)
{
    host_atomic_inc(&h->refs);
    return h;
}

void host_handle_release(host_handle *h)
{
    if (!h || host_atomic_dec(&h->refs) != 0)
        return;
    host_session_release(h->session);
    free(h->name);
    free(h);
}

/* The last reference of a file object may send IRP_MJ_CLOSE and wait for it: never on the loop
 * once the handle is closing. */
static void deref_fo_fn(void *ctx) { ObDereferenceObject((PFILE_OBJECT)ctx); }

/* ---- Create ---- */

typedef struct create_op {
    host_conn *conn;         /* referenced */
    host_session *session;   /* referenced */
    uint32_t request_id;
    ACCESS_MASK access;
    ULONG share;
    PFILE_OBJECT fo;
    NTSTATUS status;
    WCHAR name[PNPH_MAX_NAME_CHARS + 1];
} create_op;

static void create_fn(void *ctx)
{
    create_op *op = ctx;
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, op->name);
    op->status = PnpkitOpenDeviceInterface(&name, op->access, op->share, &op->fo);
}

static void close_orphan_fn(void *ctx) { PnpkitCloseDeviceInterface((PFILE_OBJECT)ctx); }

static void create_done(void *ctx)
{
    create_op *op = ctx;
    uint8_t buf[PNPH_HEADER_SIZE + 16];
    pnph_builder b;
    NTSTATUS status = op->status;
    uint64_t id = 0;

    if (NT_SUCCESS(status)) {
        host_handle *h = op->session->primary ? calloc(1, sizeof(*h)) : NULL;
        size_t chars = 0;
        while (op->name[chars])
            chars++;
        if (h && !(h->name = malloc((chars + 1) * sizeof(WCHAR)))) {
            free(h);
            h = NULL;
        }
        if (h) {
            memcpy(h->name, op->name, (chars + 1) * sizeof(WCHAR));
            h->refs = 1; /* the session table's */
            h->session = host_session_ref(op->session);
            h->fo = op->fo;
            h->can_read = (op->access & (GENERIC_READ | GENERIC_ALL | FILE_READ_DATA)) != 0;
            h->can_write = (op->access & (GENERIC_WRITE | GENERIC_ALL | FILE_WRITE_DATA | FILE_APPEND_DATA)) != 0;
            InitializeListHead(&h->requests);
            id = host_session_add_handle(op->session, h);
            if (!id) {
                host_session_release(h->session);
                free(h->name);
                free(h);
                h = NULL;
            }
        }
        if (!h) {
            /* The application went away meanwhile (or no memory): the driver still sees its
             * cleanup and close. */
            host_run_work(close_orphan_fn, NULL, op->fo);
            if (status == STATUS_SUCCESS && op->session->primary)
                status = STATUS_INSUFFICIENT_RESOURCES;
        }
    }
    pnph_begin(&b, buf, sizeof(buf), PNPH_CREATE | PNPH_REPLY, op->request_id);
    pnph_put_u32(&b, (uint32_t)status);
    pnph_put_u32(&b, 0);
    pnph_put_u64(&b, NT_SUCCESS(status) ? id : 0);
    host_conn_send(op->conn, buf, pnph_finish(&b));
    host_conn_release(op->conn);
    host_session_release(op->session);
    free(op);
}

void host_io_create(host_conn *c, const pnph_msg *m)
{
    create_op *op = calloc(1, sizeof(*op));
    NTSTATUS status;

    if (!op) {
        status = STATUS_INSUFFICIENT_RESOURCES;
        goto fail;
    }
    if (!pnph_wstr_copy(op->name, PNPH_MAX_NAME_CHARS + 1, m->u.create.name)) {
        status = STATUS_OBJECT_NAME_INVALID;
        goto fail;
    }
    for (uint32_t i = 0; i < m->u.create.name.chars; i++)
        if (op->name[i] == 0) {
            status = STATUS_OBJECT_NAME_INVALID;
            goto fail;
        }
    status = host_security_check_open(&c->session->cred, op->name, m->u.create.access);
    if (!NT_SUCCESS(status))
        goto fail;
    op->conn = host_conn_ref(c);          /* held until create_done */
    op->session = host_session_ref(c->session);
    op->request_id = m->hdr.request_id;
    op->access = m->u.create.access;
    op->share = m->u.create.share;
    host_run_work(create_fn, create_done, op);
    return;

fail:
    free(op);
    {
        uint8_t buf[PNPH_HEADER_SIZE + 16];
        pnph_builder b;
        pnph_begin(&b, buf, sizeof(buf), PNPH_CREATE | PNPH_REPLY, m->hdr.request_id);
        pnph_put_u32(&b, (uint32_t)status);
        pnph_put_u32(&b, 0);
        pnph_put_u64(&b, 0);
        host_conn_send(c, buf, pnph_finish(&b));
    }
}

/* ---- Close ---- */

typedef struct close_op {
    host_conn *conn;         /* referenced; NULL when nobody waits for the answer */
    uint32_t request_id;
    host_handle *handle;     /* the table's reference, taken over */
} close_op;

static void close_fn(void *ctx)
{
    close_op *op = ctx;
    /* IRP_MJ_CLEANUP now; IRP_MJ_CLOSE when the last request's reference goes too. */
    PnpkitCloseDeviceInterface(op->handle->fo);
}

static void close_done(void *ctx)
{
    close_op *op = ctx;
    if (op->conn) {
        host_reply_u32(op->conn, PNPH_CLOSE, op->request_id, (uint32_t)STATUS_SUCCESS);
        host_conn_release(op->conn);
    }
    host_handle_release(op->handle);
    free(op);
}

static void start_close(host_handle *h, host_conn *c, uint32_t request_id)
{
    close_op *op = calloc(1, sizeof(*op));
    h->closing = true;
    if (!op) {
        /* Keep the handle (and its driver state) rather than crash: a leak on no memory. */
        host_log(HOST_LOG_ERROR, "out of memory: handle %llu is not closed", (unsigned long long)h->id);
        if (c)
            host_reply_u32(c, PNPH_CLOSE, request_id, (uint32_t)STATUS_INSUFFICIENT_RESOURCES);
        return;
    }
    op->conn = c ? host_conn_ref(c) : NULL;
    op->request_id = request_id;
    op->handle = h;
    host_run_work(close_fn, close_done, op);
}

void host_io_close(host_conn *c, const pnph_msg *m)
{
    host_handle *h = host_session_handle(c->session, m->u.close.handle);
    if (!h) {
        host_reply_u32(c, PNPH_CLOSE, m->hdr.request_id, (uint32_t)STATUS_INVALID_HANDLE);
        return;
    }
    host_session_remove_handle(c->session, h);
    start_close(h, c, m->hdr.request_id);
}

void host_handle_abandon(host_handle *h)
{
    for (PLIST_ENTRY e = h->requests.Flink; e != &h->requests; e = e->Flink)
        IoCancelIrp(CONTAINING_RECORD(e, host_request, link)->irp);
    start_close(h, NULL, 0);
}

/* ---- Requests ---- */

static void send_io_status(host_conn *c, uint16_t type, uint32_t request_id, NTSTATUS status)
{
    uint8_t buf[REPLY_PREFIX];
    pnph_builder b;
    pnph_begin(&b, buf, sizeof(buf), (uint16_t)(type | PNPH_REPLY), request_id);
    pnph_put_u32(&b, (uint32_t)status);
    pnph_put_u32(&b, 0);
    pnph_put_u32(&b, 0);
    pnph_put_u32(&b, 0);
    host_conn_send(c, buf, pnph_finish(&b));
}

static void finish_request(host_request *r)
{
    host_handle *h = r->handle;
    pnph_builder b;
    uint32_t data_len = 0;
    ULONG_PTR info = r->information;

    RemoveEntryList(&r->link);
    if (r->type != PNPH_WRITE && !NT_ERROR(r->status))
        data_len = info > r->out_len ? r->out_len : (uint32_t)info;
    __atomic_fetch_add(&h->n_requests, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->bytes_out, data_len, __ATOMIC_RELAXED);
    __atomic_fetch_sub(&h->in_flight, 1, __ATOMIC_RELAXED);
    if (info > UINT32_MAX)
        info = UINT32_MAX;
    pnph_begin(&b, r->storage, REPLY_PREFIX + (size_t)r->out_len, (uint16_t)(r->type | PNPH_REPLY), r->request_id);
    pnph_put_u32(&b, (uint32_t)r->status);
    pnph_put_u32(&b, (uint32_t)info);
    pnph_put_u32(&b, data_len);
    pnph_put_u32(&b, 0);
    pnph_reserve(&b, data_len); /* the data is in place already */
    host_conn_send(r->conn, r->storage, pnph_finish(&b));

    for (PMDL mdl = r->irp->MdlAddress, next; mdl; mdl = next) {
        next = mdl->Next;
        IoFreeMdl(mdl);
    }
    r->irp->MdlAddress = NULL;
    IoFreeIrp(r->irp);
    if (h->closing)
        host_run_work(deref_fo_fn, NULL, r->fo);
    else
        ObDereferenceObject(r->fo); /* the handle's own reference keeps it open */
    host_handle_release(h);
    host_conn_release(r->conn);
    free(r);
    host_atomic_dec(&host.n_requests);
}

static void request_posted(loop_item *item) { finish_request(CONTAINING_RECORD(item, host_request, item)); }

static NTSTATUS request_done(PDEVICE_OBJECT device, PIRP irp, PVOID context)
{
    host_request *r = context;
    int expected = REQ_DISPATCHING;

    r->status = irp->IoStatus.Status;
    r->information = irp->IoStatus.Information;
    /* Still inside IoCallDriver on the loop: the loop answers when it returns. Otherwise post. */
    if (!__atomic_compare_exchange_n(&r->state, &expected, REQ_DONE_INLINE, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        host_loop_post(&r->item);
    return STATUS_MORE_PROCESSING_REQUIRED; /* the IRP is ours: finish_request frees it */
}

void host_io_request(host_conn *c, const pnph_msg *m)
{
    uint16_t type = m->hdr.type;
    uint64_t handle_id = type == PNPH_IOCTL ? m->u.ioctl.handle : m->u.rw.handle;
    host_handle *h = host_session_handle(c->session, handle_id);
    PDEVICE_OBJECT dev;
    PIO_STACK_LOCATION sp;
    host_request *r;
    PIRP irp;
    uint32_t in_len = 0, out_len = 0, area;
    ULONG method = METHOD_BUFFERED;
    NTSTATUS status;
    int expected;

    if (!h) {
        send_io_status(c, type, m->hdr.request_id, STATUS_INVALID_HANDLE);
        return;
    }
    switch (type) {
    case PNPH_IOCTL: {
        ULONG need = (m->u.ioctl.code >> 14) & 3u;
        if (((need & FILE_READ_ACCESS) && !h->can_read) || ((need & FILE_WRITE_ACCESS) && !h->can_write)) {
            send_io_status(c, type, m->hdr.request_id, STATUS_ACCESS_DENIED);
            return;
        }
        in_len = m->u.ioctl.in_len;
        out_len = m->u.ioctl.out_len;
        method = METHOD_FROM_CTL_CODE(m->u.ioctl.code);
        break;
    }
    case PNPH_READ:
        if (!h->can_read) {
            send_io_status(c, type, m->hdr.request_id, STATUS_ACCESS_DENIED);
            return;
        }
        out_len = m->u.rw.length;
        break;
    default:
        if (!h->can_write) {
            send_io_status(c, type, m->hdr.request_id, STATUS_ACCESS_DENIED);
            return;
        }
        in_len = m->u.rw.length;
        break;
    }

    dev = IoGetRelatedDeviceObject(h->fo);
    if (type != PNPH_IOCTL)
        method = (dev->Flags & DO_BUFFERED_IO) ? METHOD_BUFFERED : (dev->Flags & DO_DIRECT_IO) ? METHOD_OUT_DIRECT
                                                                                                : METHOD_NEITHER;
    /* METHOD_BUFFERED shares one area for input and output; the others keep them apart. */
    area = method == METHOD_BUFFERED ? (in_len > out_len ? in_len : out_len) : in_len + out_len;
    r = malloc(sizeof(*r) + REPLY_PREFIX + area);
    irp = r ? IoAllocateIrp(dev->StackSize, FALSE) : NULL;
    if (!irp) {
        free(r);
        send_io_status(c, type, m->hdr.request_id, STATUS_INSUFFICIENT_RESOURCES);
        return;
    }
    memset(r, 0, sizeof(*r));
    r->item.run = request_posted;
    r->irp = irp;
    r->type = type;
    r->request_id = m->hdr.request_id;
    r->out_len = out_len;
    r->out = r->storage + REPLY_PREFIX;
    uint8_t *in = method == METHOD_BUFFERED ? r->out : r->out + out_len;
    if (in_len)
        memcpy(in, type == PNPH_IOCTL ? m->u.ioctl.in : m->u.rw.data, in_len);
    /* Zeroed, so that a driver that reports more than it wrote leaks nothing of the host. */
    if (method == METHOD_BUFFERED) {
        if (area > in_len)
            memset(r->out + in_len, 0, area - in_len);
    } else if (out_len) {
        memset(r->out, 0, out_len);
    }

    irp->RequestorMode = UserMode;
    irp->Tail.Overlay.OriginalFileObject = h->fo;
    sp = IoGetNextIrpStackLocation(irp);
    sp->FileObject = h->fo;
    if (type == PNPH_IOCTL) {
        sp->MajorFunction = IRP_MJ_DEVICE_CONTROL;
        sp->Parameters.DeviceIoControl.IoControlCode = m->u.ioctl.code;
        sp->Parameters.DeviceIoControl.InputBufferLength = in_len;
        sp->Parameters.DeviceIoControl.OutputBufferLength = out_len;
    } else {
        sp->MajorFunction = type == PNPH_READ ? IRP_MJ_READ : IRP_MJ_WRITE;
        sp->Parameters.Read.Length = type == PNPH_READ ? out_len : in_len; /* Read and Write share a layout */
        sp->Parameters.Read.ByteOffset.QuadPart =
            (m->u.rw.flags & PNPH_RW_OFFSET) ? (LONGLONG)m->u.rw.offset : h->fo->CurrentByteOffset.QuadPart;
        irp->Flags |= type == PNPH_READ ? IRP_READ_OPERATION : IRP_WRITE_OPERATION;
    }
    switch (method) {
    case METHOD_BUFFERED:
        if (area) {
            irp->AssociatedIrp.SystemBuffer = r->out;
            irp->Flags |= IRP_BUFFERED_IO | (out_len ? IRP_INPUT_OPERATION : 0u);
        }
        irp->UserBuffer = out_len ? r->out : NULL;
        break;
    case METHOD_IN_DIRECT:
    case METHOD_OUT_DIRECT:
        if (type == PNPH_IOCTL) {
            if (in_len) {
                irp->AssociatedIrp.SystemBuffer = in;
                irp->Flags |= IRP_BUFFERED_IO;
            }
            if (out_len && !IoAllocateMdl(r->out, out_len, FALSE, FALSE, irp))
                goto no_memory;
        } else {
            uint32_t len = type == PNPH_READ ? out_len : in_len;
            if (len && !IoAllocateMdl(type == PNPH_READ ? r->out : in, len, FALSE, FALSE, irp))
                goto no_memory;
        }
        if (irp->MdlAddress)
            MmBuildMdlForNonPagedPool(irp->MdlAddress);
        break;
    default: /* METHOD_NEITHER: the buffers themselves */
        if (type == PNPH_IOCTL)
            sp->Parameters.DeviceIoControl.Type3InputBuffer = in_len ? in : NULL;
        irp->UserBuffer = type == PNPH_WRITE ? in : (out_len ? r->out : NULL);
        break;
    }
    IoSetCompletionRoutine(irp, request_done, r, TRUE, TRUE, TRUE);

    r->handle = host_handle_ref(h);  /* held until finish_request */
    r->conn = host_conn_ref(c);
    r->fo = h->fo;
    ObReferenceObject(r->fo);        /* IRP_MJ_CLOSE waits for this request */
    InsertTailList(&h->requests, &r->link);
    host_atomic_inc(&host.n_requests);
    __atomic_fetch_add(&h->in_flight, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->bytes_in, in_len, __ATOMIC_RELAXED);

    r->state = REQ_DISPATCHING;
    status = IoCallDriver(dev, irp);
    (void)status; /* the completion routine has (or will have) the final status */
    expected = REQ_DISPATCHING;
    if (__atomic_compare_exchange_n(&r->state, &expected, REQ_IN_FLIGHT, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return; /* pending: request_done posts it */
    finish_request(r); /* completed inline: answer in this pass */
    return;

no_memory:
    for (PMDL mdl = irp->MdlAddress, next; mdl; mdl = next) {
        next = mdl->Next;
        IoFreeMdl(mdl);
    }
    irp->MdlAddress = NULL;
    IoFreeIrp(irp);
    free(r);
    send_io_status(c, type, m->hdr.request_id, STATUS_INSUFFICIENT_RESOURCES);
}

void host_io_cancel(host_conn *c, const pnph_msg *m)
{
    host_handle *h = host_session_handle(c->session, m->u.cancel.handle);
    bool found = false;

    if (!h) {
        host_reply_u32(c, PNPH_CANCEL, m->hdr.request_id, (uint32_t)STATUS_INVALID_HANDLE);
        return;
    }
    /* IoCancelIrp may complete a request inline; its completion is posted (the state is
     * IN_FLIGHT), so the list does not change under this walk. */
    for (PLIST_ENTRY e = h->requests.Flink; e != &h->requests; e = e->Flink) {
        host_request *r = CONTAINING_RECORD(e, host_request, link);
        if (m->u.cancel.target_request_id == 0 || r->request_id == m->u.cancel.target_request_id) {
            found = true;
            IoCancelIrp(r->irp);
        }
    }
    host_reply_u32(c, PNPH_CANCEL, m->hdr.request_id, (uint32_t)(found ? STATUS_SUCCESS : STATUS_NOT_FOUND));
}

/* ---- PNPH_HANDLES ---- */

void host_io_handles(host_conn *c, const pnph_msg *m)
{
    /* Root and the host's user see every process's handles; anyone else those of its own uid
     * (which links another user's programs hold open is theirs to know). */
    bool all = c->cred.uid == 0 || c->cred.uid == geteuid();
    uint8_t *buf = malloc(PNPH_MAX_MESSAGE);
    uint8_t *counts;
    pnph_builder b;
    uint32_t count = 0, omitted = 0;

    if (!buf) {
        host_conn_close(c, "out of memory for a reply");
        return;
    }
    pnph_begin(&b, buf, PNPH_MAX_MESSAGE, PNPH_HANDLES | PNPH_REPLY, m->hdr.request_id);
    counts = pnph_reserve(&b, 8);
    for (PLIST_ENTRY e = host.sessions.Flink; e != &host.sessions; e = e->Flink) {
        host_session *s = CONTAINING_RECORD(e, host_session, all_link);
        if (!all && s->cred.uid != c->cred.uid)
            continue;
        for (uint32_t i = 0; i < s->cap_handles; i++) {
            host_handle *h = s->handles[i];
            size_t chars = 0;
            if (!h || h->closing)
                continue;
            while (h->name[chars])
                chars++;
            if (b.len + PNPH_HANDLE_RECORD_FIXED + 4u + chars * 2u > PNPH_MAX_MESSAGE) {
                omitted++; /* no room in one message: counted, not sent */
                continue;
            }
            pnph_put_u32(&b, (uint32_t)s->cred.pid);
            pnph_put_u32(&b, (uint32_t)s->cred.uid);
            pnph_put_u64(&b, h->id);
            pnph_put_u32(&b, (h->can_read ? PNPH_HANDLE_READ : 0u) | (h->can_write ? PNPH_HANDLE_WRITE : 0u));
            pnph_put_u32(&b, __atomic_load_n(&h->in_flight, __ATOMIC_RELAXED));
            pnph_put_u64(&b, __atomic_load_n(&h->n_requests, __ATOMIC_RELAXED));
            pnph_put_u64(&b, __atomic_load_n(&h->bytes_in, __ATOMIC_RELAXED));
            pnph_put_u64(&b, __atomic_load_n(&h->bytes_out, __ATOMIC_RELAXED));
            pnph_put_wstr(&b, h->name, chars);
            count++;
        }
    }
    if (counts) {
        pnph_st32(counts, count);
        pnph_st32(counts + 4, omitted);
    }
    host_conn_send(c, buf, pnph_finish(&b));
    free(buf);
}
