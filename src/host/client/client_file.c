/*
 * client_file.c — the Win32 file API of libpnpkit-client: handles (a table of objects named by
 * index and generation, so a stale HANDLE is refused rather than reused), CreateFileW,
 * DeviceIoControl, ReadFile, WriteFile, GetOverlappedResult, CancelIoEx, CloseHandle, the last
 * error, and event objects.
 *
 * A synchronous request is one pkc_call on the thread's own connection. An overlapped request
 * is registered in pkc.pending before it is written on the primary connection (so its reply
 * can never arrive first), and the receiver completes it: output copied to the caller's buffer,
 * then Internal/InternalHigh written and the event set under pkc.lock, then pkc.cond broadcast
 * for GetOverlappedResult.
 */
#include "host/client/client_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IO_PREFIX 40u /* the largest fixed part of an I/O request, header included */

static __thread DWORD tls_last_error;

DWORD GetLastError(void) { return tls_last_error; }
VOID SetLastError(DWORD dwErrCode) { tls_last_error = dwErrCode; }
void pkc_set_error(DWORD error) { tls_last_error = error; }

/* ---- The handle table ---- */

static HANDLE encode(uint32_t slot, uint32_t gen)
{
    return (HANDLE)(uintptr_t)((((uint64_t)(gen & 0x3ffffffu) << 32) | (uint64_t)(slot + 1u)) << 2);
}

static bool decode(HANDLE h, uint32_t *slot, uint32_t *gen)
{
    uint64_t v = (uint64_t)(uintptr_t)h;
    if (!h || h == INVALID_HANDLE_VALUE || (v & 3u))
        return false;
    v >>= 2;
    if ((uint32_t)v == 0)
        return false;
    *slot = (uint32_t)v - 1u;
    *gen = (uint32_t)(v >> 32);
    return true;
}

static HANDLE handle_insert(pkc_object *o)
{
    HANDLE h = NULL;
    uint32_t slot = UINT32_MAX;

    pthread_mutex_lock(&pkc.lock);
    for (uint32_t i = 0; i < pkc.n_slots; i++)
        if (!pkc.slots[i].obj) {
            slot = i;
            break;
        }
    if (slot == UINT32_MAX) {
        uint32_t n = pkc.n_slots ? pkc.n_slots * 2 : 16;
        struct pkc_slot *t = realloc(pkc.slots, n * sizeof(*t));
        if (t) {
            memset(t + pkc.n_slots, 0, (n - pkc.n_slots) * sizeof(*t));
            slot = pkc.n_slots;
            pkc.slots = t;
            pkc.n_slots = n;
        }
    }
    if (slot != UINT32_MAX) {
        pkc.slots[slot].gen = (pkc.slots[slot].gen + 1u) & 0x3ffffffu;
        pkc.slots[slot].obj = o; /* the table's reference is the creator's */
        h = encode(slot, pkc.slots[slot].gen);
    }
    pthread_mutex_unlock(&pkc.lock);
    return h;
}

/* Referenced object of handle h and kind (0: any), or NULL. */
pkc_object *pkc_object_get(HANDLE h, int kind)
{
    uint32_t slot, gen;
    pkc_object *o = NULL;

    if (!decode(h, &slot, &gen))
        return NULL;
    pthread_mutex_lock(&pkc.lock);
    if (slot < pkc.n_slots && pkc.slots[slot].gen == gen && pkc.slots[slot].obj &&
        (!kind || pkc.slots[slot].obj->kind == kind)) {
        o = pkc.slots[slot].obj;
        o->refs++;
    }
    pthread_mutex_unlock(&pkc.lock);
    return o;
}

static pkc_object *handle_remove(HANDLE h)
{
    uint32_t slot, gen;
    pkc_object *o = NULL;

    if (!decode(h, &slot, &gen))
        return NULL;
    pthread_mutex_lock(&pkc.lock);
    if (slot < pkc.n_slots && pkc.slots[slot].gen == gen) {
        o = pkc.slots[slot].obj;
        pkc.slots[slot].obj = NULL;
    }
    pthread_mutex_unlock(&pkc.lock);
    return o;
}

void pkc_object_release(pkc_object *o)
{
    bool last;
    if (!o)
        return;
    pthread_mutex_lock(&pkc.lock);
    last = --o->refs == 0;
    pthread_mutex_unlock(&pkc.lock);
    if (!last)
        return;
    if (o->session)
        pkc_session_release(o->session);
    free(o);
}

/* ---- Events ---- */

HANDLE CreateEventW(LPSECURITY_ATTRIBUTES lpEventAttributes, BOOL bManualReset, BOOL bInitialState, LPCWSTR lpName)
{
    pkc_object *o;
    HANDLE h;

    if (lpName) {
        pkc_set_error(ERROR_NOT_SUPPORTED);
        return NULL;
    }
    o = calloc(1, sizeof(*o));
    if (!o) {
        pkc_set_error(ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    o->kind = PKC_EVENT;
    o->refs = 1;
    o->manual = bManualReset != 0;
    o->signaled = bInitialState != 0;
    h = handle_insert(o);
    if (!h) {
        free(o);
        pkc_set_error(ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    pkc_set_error(ERROR_SUCCESS);
    return h;
}

/* Sets or resets the event of handle h; pkc.lock held. False if h is not an event. */
static bool event_set_locked(HANDLE h, bool signaled)
{
    uint32_t slot, gen;
    pkc_object *o;

    if (!decode(h, &slot, &gen) || slot >= pkc.n_slots || pkc.slots[slot].gen != gen)
        return false;
    o = pkc.slots[slot].obj;
    if (!o || o->kind != PKC_EVENT)
        return false;
    o->signaled = signaled;
    if (signaled)
        pthread_cond_broadcast(&pkc.cond);
    return true;
}

BOOL SetEvent(HANDLE hEvent)
{
    bool ok;
    pthread_mutex_lock(&pkc.lock);
    ok = event_set_locked(hEvent, true);
    pthread_mutex_unlock(&pkc.lock);
    if (!ok)
        pkc_set_error(ERROR_INVALID_HANDLE);
    return ok;
}

BOOL ResetEvent(HANDLE hEvent)
{
    bool ok;
    pthread_mutex_lock(&pkc.lock);
    ok = event_set_locked(hEvent, false);
    pthread_mutex_unlock(&pkc.lock);
    if (!ok)
        pkc_set_error(ERROR_INVALID_HANDLE);
    return ok;
}

/* Waits on pkc.cond until `deadline` (CLOCK_REALTIME; NULL: forever). False on timeout. */
static bool wait_locked(const struct timespec *deadline)
{
    if (!deadline) {
        pthread_cond_wait(&pkc.cond, &pkc.lock);
        return true;
    }
    return pthread_cond_timedwait(&pkc.cond, &pkc.lock, deadline) != ETIMEDOUT;
}

DWORD WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds)
{
    pkc_object *o = pkc_object_get(hHandle, PKC_EVENT);
    struct timespec deadline, *dl = NULL;
    DWORD result = WAIT_OBJECT_0;

    if (!o) {
        pkc_set_error(ERROR_INVALID_HANDLE);
        return WAIT_FAILED;
    }
    if (dwMilliseconds != INFINITE) {
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += dwMilliseconds / 1000u;
        deadline.tv_nsec += (long)(dwMilliseconds % 1000u) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        dl = &deadline;
    }
    pthread_mutex_lock(&pkc.lock);
    while (!o->signaled) {
        if (dwMilliseconds == 0 || !wait_locked(dl)) {
            if (!o->signaled)
                result = WAIT_TIMEOUT;
            break;
        }
    }
    if (result == WAIT_OBJECT_0 && !o->manual)
        o->signaled = false;
    pthread_mutex_unlock(&pkc.lock);
    pkc_object_release(o);
    return result;
}

/* ---- Create and close ---- */

HANDLE CreateFileW(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                   LPSECURITY_ATTRIBUTES lpSecurityAttributes, DWORD dwCreationDisposition,
                   DWORD dwFlagsAndAttributes, HANDLE hTemplateFile)
{
    uint8_t head[PNPH_HEADER_SIZE + 20];
    pnph_builder b;
    struct iovec iov[2];
    pnph_msg reply;
    pkc_session *s;
    pkc_object *o;
    size_t len = 0;
    uint32_t rid;
    DWORD err;
    HANDLE h;
    uint8_t *name;

    if (!lpFileName) {
        pkc_set_error(ERROR_INVALID_PARAMETER);
        return INVALID_HANDLE_VALUE;
    }
    while (lpFileName[len] && len <= PNPH_MAX_NAME_CHARS)
        len++;
    if (len == 0) {
        pkc_set_error(ERROR_PATH_NOT_FOUND);
        return INVALID_HANDLE_VALUE;
    }
    if (len > PNPH_MAX_NAME_CHARS) {
        pkc_set_error(ERROR_FILENAME_EXCED_RANGE);
        return INVALID_HANDLE_VALUE;
    }
    if (dwCreationDisposition != OPEN_EXISTING && dwCreationDisposition != OPEN_ALWAYS) {
        pkc_set_error(ERROR_INVALID_PARAMETER);
        return INVALID_HANDLE_VALUE;
    }
    err = pkc_session_get(&s);
    if (err) {
        pkc_set_error(err);
        return INVALID_HANDLE_VALUE;
    }
    name = malloc(len * 2);
    if (!name) {
        pkc_session_release(s);
        pkc_set_error(ERROR_NOT_ENOUGH_MEMORY);
        return INVALID_HANDLE_VALUE;
    }
    for (size_t i = 0; i < len; i++) {
        name[2 * i] = (uint8_t)lpFileName[i];
        name[2 * i + 1] = (uint8_t)(lpFileName[i] >> 8);
    }
    rid = pkc_next_request_id();
    pnph_begin(&b, head, sizeof(head), PNPH_CREATE, rid);
    pnph_put_u32(&b, dwDesiredAccess);
    pnph_put_u32(&b, dwShareMode);
    pnph_put_u32(&b, dwCreationDisposition);
    pnph_put_u32(&b, dwFlagsAndAttributes);
    pnph_put_u32(&b, (uint32_t)len);
    /* The name follows from the second iovec; the header counts it. */
    pnph_st32(head + 8, (uint32_t)(b.len - PNPH_HEADER_SIZE + len * 2));
    iov[0].iov_base = head;
    iov[0].iov_len = b.len;
    iov[1].iov_base = name;
    iov[1].iov_len = len * 2;
    err = pkc_call(s, iov, 2, PNPH_CREATE, rid, &reply);
    free(name);
    if (err) {
        pkc_session_release(s);
        pkc_set_error(err);
        return INVALID_HANDLE_VALUE;
    }
    if (!NT_SUCCESS((NTSTATUS)reply.u.create_reply.status)) {
        pkc_session_release(s);
        pkc_set_error(pnph_win32_from_status((NTSTATUS)reply.u.create_reply.status));
        return INVALID_HANDLE_VALUE;
    }
    o = calloc(1, sizeof(*o));
    if (o) {
        o->kind = PKC_FILE;
        o->refs = 1;
        o->session = s; /* takes the caller's reference */
        o->host_handle = reply.u.create_reply.handle;
        o->overlapped = (dwFlagsAndAttributes & FILE_FLAG_OVERLAPPED) != 0;
    }
    h = o ? handle_insert(o) : NULL;
    if (!h) {
        /* Give the open back to the host: the driver sees its cleanup and close. */
        uint8_t buf[PNPH_HEADER_SIZE + 8];
        rid = pkc_next_request_id();
        pnph_begin(&b, buf, sizeof(buf), PNPH_CLOSE, rid);
        pnph_put_u64(&b, reply.u.create_reply.handle);
        iov[0].iov_base = buf;
        iov[0].iov_len = pnph_finish(&b);
        pkc_call(s, iov, 1, PNPH_CLOSE, rid, &reply);
        if (o)
            free(o);
        pkc_session_release(s);
        pkc_set_error(ERROR_NOT_ENOUGH_MEMORY);
        return INVALID_HANDLE_VALUE;
    }
    pkc_set_error(ERROR_SUCCESS);
    return h;
}

BOOL CloseHandle(HANDLE hObject)
{
    pkc_object *o = handle_remove(hObject);

    if (!o) {
        pkc_set_error(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    if (o->kind == PKC_FILE && !pkc_session_lost(o->session)) {
        uint8_t buf[PNPH_HEADER_SIZE + 8];
        pnph_builder b;
        struct iovec iov;
        pnph_msg reply;
        uint32_t rid = pkc_next_request_id();
        pnph_begin(&b, buf, sizeof(buf), PNPH_CLOSE, rid);
        pnph_put_u64(&b, o->host_handle);
        iov.iov_base = buf;
        iov.iov_len = pnph_finish(&b);
        /* A host that is gone has closed the handle itself. */
        pkc_call(o->session, &iov, 1, PNPH_CLOSE, rid, &reply);
    }
    pkc_object_release(o);
    return TRUE;
}

/* ---- Requests ---- */

/* Lays out the fixed part of an I/O request in head; returns its size. */
static size_t build_io(uint8_t *head, uint16_t type, uint32_t rid, const pkc_object *o, DWORD code, DWORD in_len,
                       DWORD out_len, const OVERLAPPED *ov)
{
    pnph_builder b;
    pnph_begin(&b, head, IO_PREFIX, type, rid);
    pnph_put_u64(&b, o->host_handle);
    if (type == PNPH_IOCTL) {
        pnph_put_u32(&b, code);
        pnph_put_u32(&b, in_len);
        pnph_put_u32(&b, out_len);
        pnph_put_u32(&b, 0);
    } else {
        pnph_put_u64(&b, ov ? ((uint64_t)ov->OffsetHigh << 32 | ov->Offset) : 0);
        pnph_put_u32(&b, type == PNPH_READ ? out_len : in_len);
        pnph_put_u32(&b, ov ? PNPH_RW_OFFSET : 0);
    }
    pnph_st32(head + 8, (uint32_t)(b.len - PNPH_HEADER_SIZE + in_len));
    return b.len;
}

void pkc_pending_complete(pkc_pending *p, const pnph_msg *reply, NTSTATUS status)
{
    uint32_t info = 0;

    if (reply && p->ov) {
        status = (NTSTATUS)reply->u.io_reply.status;
        info = reply->u.io_reply.information;
        uint32_t n = reply->u.io_reply.data_len < p->out_cap ? reply->u.io_reply.data_len : p->out_cap;
        if (n)
            memcpy(p->out, reply->u.io_reply.data, n); /* the request is still pending: the buffer is ours */
        if (p->type != PNPH_WRITE && info > n)
            info = n;
    } else if (reply) {
        status = (NTSTATUS)reply->u.status_reply.status;
    }
    pthread_mutex_lock(&pkc.lock);
    if (p->ov) {
        p->ov->InternalHigh = info;
        __atomic_store_n(&p->ov->Internal, (ULONG_PTR)(ULONG)status, __ATOMIC_RELEASE);
        if (p->ov->hEvent)
            event_set_locked(p->ov->hEvent, true);
        pthread_cond_broadcast(&pkc.cond);
        pthread_mutex_unlock(&pkc.lock);
        pkc_object_release(p->file);
        pkc_session_release(p->session);
        free(p);
        return;
    }
    /* A call waiting in call_primary: it frees p. */
    p->status = (uint32_t)status;
    p->done = true;
    pthread_cond_broadcast(&pkc.cond);
    pthread_mutex_unlock(&pkc.lock);
}

pkc_pending *pkc_pending_take_locked(pkc_session *s, uint32_t request_id)
{
    for (PLIST_ENTRY e = pkc.pending.Flink; e != &pkc.pending; e = e->Flink) {
        pkc_pending *p = CONTAINING_RECORD(e, pkc_pending, link);
        if (p->session == s && p->request_id == request_id) {
            RemoveEntryList(e);
            InitializeListHead(e);
            return p;
        }
    }
    return NULL;
}

/* Adds p to pkc.pending unless its session is lost. */
static bool pending_add(pkc_pending *p)
{
    bool ok;
    pthread_mutex_lock(&pkc.lock);
    ok = !p->session->lost;
    if (ok) {
        p->session->refs++; /* held by p */
        InsertTailList(&pkc.pending, &p->link);
    }
    pthread_mutex_unlock(&pkc.lock);
    return ok;
}

/* Starts an overlapped request: FALSE with ERROR_IO_PENDING, or FALSE with an error. */
static BOOL submit_overlapped(pkc_object *o, uint16_t type, DWORD code, const void *in, DWORD in_len, void *out,
                              DWORD out_len, LPOVERLAPPED ov)
{
    uint8_t head[IO_PREFIX];
    struct iovec iov[2];
    pkc_pending *p = calloc(1, sizeof(*p));

    if (!p) {
        pkc_set_error(ERROR_NOT_ENOUGH_MEMORY);
        return FALSE;
    }
    p->request_id = pkc_next_request_id();
    p->session = o->session;
    p->type = type;
    p->ov = ov;
    p->out = out;
    p->out_cap = out_len;
    p->file = o;
    iov[0].iov_base = head;
    iov[0].iov_len = build_io(head, type, p->request_id, o, code, in_len, out_len, ov);
    iov[1].iov_base = (void *)(uintptr_t)in;
    iov[1].iov_len = in_len;

    ov->InternalHigh = 0;
    __atomic_store_n(&ov->Internal, (ULONG_PTR)STATUS_PENDING, __ATOMIC_RELEASE);
    if (ov->hEvent) {
        pthread_mutex_lock(&pkc.lock);
        event_set_locked(ov->hEvent, false);
        pthread_mutex_unlock(&pkc.lock);
    }
    pthread_mutex_lock(&pkc.lock);
    o->refs++; /* held by p */
    pthread_mutex_unlock(&pkc.lock);
    if (!pending_add(p)) {
        /* The host is gone already: the request fails at once. */
        __atomic_store_n(&ov->Internal, (ULONG_PTR)STATUS_DEVICE_NOT_CONNECTED, __ATOMIC_RELEASE);
        pkc_object_release(o);
        free(p);
        pkc_set_error(ERROR_DEVICE_NOT_CONNECTED);
        return FALSE;
    }
    if (pkc_send_primary(o->session, iov, in_len ? 2 : 1) != 0) {
        /* The connection broke: the request completes with STATUS_DEVICE_NOT_CONNECTED, by us
         * or by the receiver (whichever takes it out of pkc.pending). */
        pthread_mutex_lock(&pkc.lock);
        bool mine = pkc_pending_take_locked(o->session, p->request_id) == p;
        pthread_mutex_unlock(&pkc.lock);
        if (mine)
            pkc_pending_complete(p, NULL, STATUS_DEVICE_NOT_CONNECTED);
    }
    pkc_set_error(ERROR_IO_PENDING);
    return FALSE;
}

/* A synchronous request on the thread's connection; output copied to out. */
static BOOL sync_request(pkc_object *o, uint16_t type, DWORD code, const void *in, DWORD in_len, void *out,
                         DWORD out_len, LPDWORD transferred, LPOVERLAPPED ov)
{
    uint8_t head[IO_PREFIX];
    struct iovec iov[2];
    pnph_msg reply;
    uint32_t rid = pkc_next_request_id();
    NTSTATUS status;
    DWORD err, n;

    iov[0].iov_base = head;
    iov[0].iov_len = build_io(head, type, rid, o, code, in_len, out_len, ov);
    iov[1].iov_base = (void *)(uintptr_t)in;
    iov[1].iov_len = in_len;
    err = pkc_call(o->session, iov, in_len ? 2 : 1, type, rid, &reply);
    if (err) {
        pkc_set_error(err);
        return FALSE;
    }
    status = (NTSTATUS)reply.u.io_reply.status;
    n = reply.u.io_reply.data_len < out_len ? reply.u.io_reply.data_len : out_len;
    if (n)
        memcpy(out, reply.u.io_reply.data, n);
    if (type == PNPH_WRITE)
        n = reply.u.io_reply.information < in_len ? reply.u.io_reply.information : in_len;
    if (transferred)
        *transferred = n;
    if (ov) {
        ov->InternalHigh = n;
        ov->Internal = (ULONG_PTR)(ULONG)status;
        if (ov->hEvent) {
            pthread_mutex_lock(&pkc.lock);
            event_set_locked(ov->hEvent, true);
            pthread_mutex_unlock(&pkc.lock);
        }
    }
    if (!NT_SUCCESS(status)) {
        pkc_set_error(pnph_win32_from_status(status));
        return FALSE;
    }
    return TRUE;
}

static BOOL do_request(HANDLE h, uint16_t type, DWORD code, const void *in, DWORD in_len, void *out, DWORD out_len,
                       LPDWORD transferred, LPOVERLAPPED ov)
{
    pkc_object *o = pkc_object_get(h, PKC_FILE);
    BOOL ok;

    if (!o) {
        pkc_set_error(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    if (in_len > PNPH_MAX_IO || out_len > PNPH_MAX_IO || (!in && in_len) || (!out && out_len) ||
        (o->overlapped && !ov) || (!o->overlapped && !transferred)) {
        pkc_object_release(o);
        pkc_set_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    if (pkc_session_lost(o->session)) {
        pkc_object_release(o);
        pkc_set_error(ERROR_DEVICE_NOT_CONNECTED);
        return FALSE;
    }
    if (o->overlapped)
        ok = submit_overlapped(o, type, code, in, in_len, out, out_len, ov);
    else
        ok = sync_request(o, type, code, in, in_len, out, out_len, transferred, ov);
    pkc_object_release(o);
    return ok;
}

BOOL DeviceIoControl(HANDLE hDevice, DWORD dwIoControlCode, LPVOID lpInBuffer, DWORD nInBufferSize, LPVOID lpOutBuffer,
                     DWORD nOutBufferSize, LPDWORD lpBytesReturned, LPOVERLAPPED lpOverlapped)
{
    return do_request(hDevice, PNPH_IOCTL, dwIoControlCode, lpInBuffer, nInBufferSize, lpOutBuffer, nOutBufferSize,
                      lpBytesReturned, lpOverlapped);
}

BOOL ReadFile(HANDLE hFile, LPVOID lpBuffer, DWORD nNumberOfBytesToRead, LPDWORD lpNumberOfBytesRead,
              LPOVERLAPPED lpOverlapped)
{
    return do_request(hFile, PNPH_READ, 0, NULL, 0, lpBuffer, nNumberOfBytesToRead, lpNumberOfBytesRead, lpOverlapped);
}

BOOL WriteFile(HANDLE hFile, LPCVOID lpBuffer, DWORD nNumberOfBytesToWrite, LPDWORD lpNumberOfBytesWritten,
               LPOVERLAPPED lpOverlapped)
{
    return do_request(hFile, PNPH_WRITE, 0, lpBuffer, nNumberOfBytesToWrite, NULL, 0, lpNumberOfBytesWritten,
                      lpOverlapped);
}

BOOL GetOverlappedResult(HANDLE hFile, LPOVERLAPPED lpOverlapped, LPDWORD lpNumberOfBytesTransferred, BOOL bWait)
{
    pkc_object *o = pkc_object_get(hFile, PKC_FILE);
    NTSTATUS status;
    ULONG_PTR info;

    if (!o) {
        pkc_set_error(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    if (!lpOverlapped || !lpNumberOfBytesTransferred) {
        pkc_object_release(o);
        pkc_set_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    pthread_mutex_lock(&pkc.lock);
    while ((NTSTATUS)(ULONG)__atomic_load_n(&lpOverlapped->Internal, __ATOMIC_ACQUIRE) == STATUS_PENDING) {
        if (!bWait) {
            pthread_mutex_unlock(&pkc.lock);
            pkc_object_release(o);
            pkc_set_error(ERROR_IO_INCOMPLETE);
            return FALSE;
        }
        pthread_cond_wait(&pkc.cond, &pkc.lock);
    }
    status = (NTSTATUS)(ULONG)lpOverlapped->Internal;
    info = lpOverlapped->InternalHigh;
    pthread_mutex_unlock(&pkc.lock);
    pkc_object_release(o);
    *lpNumberOfBytesTransferred = (DWORD)info;
    if (!NT_SUCCESS(status)) {
        pkc_set_error(pnph_win32_from_status(status));
        return FALSE;
    }
    return TRUE;
}

/* CANCEL on the primary connection, in order after the request it names. */
static DWORD cancel_on_primary(pkc_object *o, uint32_t target, NTSTATUS *status)
{
    uint8_t buf[PNPH_HEADER_SIZE + 16];
    pnph_builder b;
    struct iovec iov;
    pkc_pending *p = calloc(1, sizeof(*p));

    if (!p)
        return ERROR_NOT_ENOUGH_MEMORY;
    p->request_id = pkc_next_request_id();
    p->session = o->session;
    p->type = PNPH_CANCEL;
    pnph_begin(&b, buf, sizeof(buf), PNPH_CANCEL, p->request_id);
    pnph_put_u64(&b, o->host_handle);
    pnph_put_u32(&b, target);
    pnph_put_u32(&b, 0);
    iov.iov_base = buf;
    iov.iov_len = pnph_finish(&b);
    if (!pending_add(p)) {
        free(p);
        return ERROR_DEVICE_NOT_CONNECTED;
    }
    if (pkc_send_primary(o->session, &iov, 1) != 0) {
        pthread_mutex_lock(&pkc.lock);
        if (pkc_pending_take_locked(o->session, p->request_id) == p) {
            p->done = true;
            p->status = (uint32_t)STATUS_DEVICE_NOT_CONNECTED;
        }
        pthread_mutex_unlock(&pkc.lock);
    }
    pthread_mutex_lock(&pkc.lock);
    while (!p->done)
        pthread_cond_wait(&pkc.cond, &pkc.lock);
    pthread_mutex_unlock(&pkc.lock);
    *status = (NTSTATUS)p->status;
    pkc_session_release(p->session);
    free(p);
    return 0;
}

BOOL CancelIoEx(HANDLE hFile, LPOVERLAPPED lpOverlapped)
{
    pkc_object *o = pkc_object_get(hFile, PKC_FILE);
    NTSTATUS status = STATUS_NOT_FOUND;
    DWORD err = 0;

    if (!o) {
        pkc_set_error(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    if (lpOverlapped) {
        uint32_t target = 0;
        pthread_mutex_lock(&pkc.lock);
        for (PLIST_ENTRY e = pkc.pending.Flink; e != &pkc.pending; e = e->Flink) {
            pkc_pending *p = CONTAINING_RECORD(e, pkc_pending, link);
            if (p->ov == lpOverlapped && p->file == o) {
                target = p->request_id;
                break;
            }
        }
        pthread_mutex_unlock(&pkc.lock);
        if (target)
            err = cancel_on_primary(o, target, &status);
    } else {
        uint8_t buf[PNPH_HEADER_SIZE + 16];
        pnph_builder b;
        struct iovec iov;
        pnph_msg reply;
        uint32_t rid = pkc_next_request_id();
        pnph_begin(&b, buf, sizeof(buf), PNPH_CANCEL, rid);
        pnph_put_u64(&b, o->host_handle);
        pnph_put_u32(&b, 0);
        pnph_put_u32(&b, 0);
        iov.iov_base = buf;
        iov.iov_len = pnph_finish(&b);
        err = pkc_call(o->session, &iov, 1, PNPH_CANCEL, rid, &reply);
        if (!err)
            status = (NTSTATUS)reply.u.status_reply.status;
    }
    pkc_object_release(o);
    if (err) {
        pkc_set_error(err == ERROR_DEVICE_NOT_CONNECTED ? ERROR_NOT_FOUND : err);
        return FALSE;
    }
    if (!NT_SUCCESS(status)) {
        pkc_set_error(status == STATUS_NOT_FOUND ? ERROR_NOT_FOUND : pnph_win32_from_status(status));
        return FALSE;
    }
    return TRUE;
}
