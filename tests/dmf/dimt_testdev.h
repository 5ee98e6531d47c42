/*
 * dimt_testdev.h — the bench of the DMF_DeviceInterfaceMultipleTarget tests (test_dimt*.c;
 * every function is static).
 *
 * - A simulated "sensor" device: a WDF function driver for hardware id DIMT\SENSOR, one device
 *   per slot of ds_sensors[], exposing one interface of DIMT_GUID (optionally with a reference
 *   string). Each sensor records the DesiredAccess and ShareAccess of every create, counts
 *   creates, cleanups, closes and IOCTLs, can fail the next creates (a failed reopen), and can
 *   veto IRP_MN_QUERY_REMOVE_DEVICE at the driver level (EvtDeviceQueryRemove).
 *   IOCTLs: DS_IOCTL_ECHO completes inline (output = input ^ 0x5A, or the checksummed sensor
 *   payload when there is no input); DS_IOCTL_LATER is completed the same way a little later by
 *   a worker thread; DS_IOCTL_HOLD is held (cancelable) until cancelled or released by the test.
 *   Reads get the payload; writes are counted.
 * - The client device "host" (role 0 of wdf_testdrv.h, hardware id WT\DEV) on which the module
 *   is created (dynamic) or hosted (static, through DMF_ModulesCreate in EvtDriverDeviceAdd).
 * - The client's callbacks, which record (module, Target, state) in order, plus PostOpen and
 *   PreClose, so tests check exact sequences.
 * - Waiting: every change a test may wait for broadcasts one condition; DIMT_WAIT(expr) waits on
 *   it (bounded, fails the test) instead of sleeping.
 * - Injection, through the PnP internals, of what Windows may do and the sim cannot trigger: a
 *   duplicate interface arrival and target-device events delivered on the PnP worker.
 */
#ifndef DIMT_TESTDEV_H
#define DIMT_TESTDEV_H

#include "../wdf/wdf_testdrv.h"
#include <pnpkit/cfgmgr32.h>
#include <pnpkit/dmf.h>
#include <pnpkit/sim.h>

#include "pnp/pnp_internal.h"

#include <errno.h>
#include <time.h>

DEFINE_GUID(DIMT_GUID, 0x5e1f0a11, 0x2b3c, 0x4d5e, 0x8f, 0x90, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6);
DEFINE_GUID(DIMT_OTHER_GUID, 0x5e1f0a12, 0x2b3c, 0x4d5e, 0x8f, 0x90, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf7);

#define DS_HWID u"DIMT\\SENSOR\0"
#define DS_SERVICE u"dimtsensor"
#define DS_IOCTL_ECHO CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define DS_IOCTL_HOLD CTL_CODE(FILE_DEVICE_UNKNOWN, 0x901, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define DS_IOCTL_LATER CTL_CODE(FILE_DEVICE_UNKNOWN, 0x902, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define DS_PAYLOAD_MAGIC 0x53454e53u /* "SENS" */

#define DS_MAX 32
#define DS_MAX_PENDING 4096

#define DIMT_UNUSED __attribute__((unused))

/* ============================================================================================= */
/* Waiting                                                                                       */
/* ============================================================================================= */

static pthread_mutex_t dimt_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dimt_cv = PTHREAD_COND_INITIALIZER;

static DIMT_UNUSED void dimt_changed(void)
{
    pthread_mutex_lock(&dimt_mu);
    pthread_cond_broadcast(&dimt_cv);
    pthread_mutex_unlock(&dimt_mu);
}

static DIMT_UNUSED void dimt_deadline(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Waits (at most 10 s, on the condition every change broadcasts) until expr holds. */
#define DIMT_WAIT(expr) \
    do { \
        struct timespec dl__; \
        bool ok__ = true; \
        dimt_deadline(&dl__, 10000); \
        pthread_mutex_lock(&dimt_mu); \
        while (!(expr)) { \
            if (pthread_cond_timedwait(&dimt_cv, &dimt_mu, &dl__) == ETIMEDOUT) { \
                ok__ = (expr); \
                break; \
            } \
        } \
        pthread_mutex_unlock(&dimt_mu); \
        if (!ok__) \
            fail_msg("%s:%d: timed out waiting for %s", __FILE__, __LINE__, #expr); \
    } while (0)

/* Waits at most ms for expr; returns whether it holds (to check that something does NOT happen
 * within a bound). */
#define DIMT_WAIT_FOR_MS(expr, ms, result) \
    do { \
        struct timespec dl__; \
        dimt_deadline(&dl__, (ms)); \
        pthread_mutex_lock(&dimt_mu); \
        while (!(expr)) \
            if (pthread_cond_timedwait(&dimt_cv, &dimt_mu, &dl__) == ETIMEDOUT) \
                break; \
        (result) = (expr); \
        pthread_mutex_unlock(&dimt_mu); \
    } while (0)

static DIMT_UNUSED LONG dimt_load(volatile LONG *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static DIMT_UNUSED void dimt_inc(volatile LONG *p)
{
    __atomic_add_fetch(p, 1, __ATOMIC_SEQ_CST);
    dimt_changed();
}

/* ============================================================================================= */
/* The sensor driver                                                                             */
/* ============================================================================================= */

typedef struct ds_sensor ds_sensor;
struct ds_sensor {
    int index;
    PCWSTR ref;                  /* reference string of its interface (NULL: none) */
    WCHAR name[16];              /* instance name: s<index> */
    HSWDEVICE h;
    DEVINST dn;
    PDEVICE_OBJECT pdo;
    WDFDEVICE device;
    WCHAR link[256];             /* kernel-form link, as IoGetDeviceInterfaces lists it */
    UNICODE_STRING link_us;
    volatile LONG creates, cleanups, closes, ioctls, holds_received, held, cancels, released;
    volatile LONG cancels_given; /* cancelled requests handed back: counted just before the completion */
    volatile LONG reads, writes, query_removes;
    volatile LONG last_hold_in_len, last_hold_in_byte; /* of the last DS_IOCTL_HOLD */
    volatile ULONG last_access, last_share;
    volatile LONG fail_creates;  /* the next n creates fail with fail_create_status */
    volatile LONG defer_cancel_ms; /* cancelled requests complete that much later (worker) */
    NTSTATUS fail_create_status;
    volatile LONG veto_query_remove;
    volatile LONG seq;
    void (*on_query_remove)(ds_sensor *s); /* called in EvtDeviceQueryRemove (PnP worker) */
};

static ds_sensor ds_sensors[DS_MAX];
static int ds_next = -1;

typedef struct ds_ctx {
    int index;
} ds_ctx;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(ds_ctx, ds_ctx_get)

/* Requests the sensors keep: HOLD (until cancelled / released) and LATER (the worker). */
/* CANCELLING: a cancelled request whose completion the worker delivers after
 * defer_cancel_ms (a device that takes time to give a cancelled request back). */
enum { DS_KIND_HOLD = 1, DS_KIND_LATER = 2, DS_KIND_CANCELLING = 3 };
typedef struct ds_pending {
    bool used, armed;
    bool cancel_owns;            /* its unmark returned STATUS_CANCELLED: ds_cancel completes it */
    int kind;
    ds_sensor *s;
    WDFREQUEST r;
    size_t in_len, out_len;
    uint64_t due;
    uint64_t serial;             /* ds_keep's: tells its entry from a later one in the same slot */
} ds_pending;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    ds_pending p[DS_MAX_PENDING];
    uint64_t serial;
    bool running, stop;
    pthread_t thread;
} ds_io = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

/* Both conditions wait against CLOCK_MONOTONIC (dimt_deadline): a CLOCK_REALTIME deadline can
 * oversleep badly where the wall clock is virtualised, and jumps with clock changes. */
__attribute__((constructor)) static void dimt_conditions_init(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&dimt_cv, &a);
    pthread_cond_init(&ds_io.cond, &a);
    pthread_condattr_destroy(&a);
}

static ds_sensor *ds_of(WDFDEVICE d) { return &ds_sensors[ds_ctx_get(d)->index]; }

/* The payload of a sensor: magic, sensor index, sequence, then bytes derived from both. */
static DIMT_UNUSED void ds_fill_payload(unsigned char *b, size_t n, int index, uint32_t seq)
{
    uint32_t h[3] = { DS_PAYLOAD_MAGIC, (uint32_t)index, seq };
    size_t head = n < sizeof(h) ? n : sizeof(h);
    memcpy(b, h, head);
    for (size_t i = sizeof(h); i < n; i++)
        b[i] = (unsigned char)(index * 13 + (int)seq * 7 + (int)i);
}

/* The sensor index a payload of n bytes carries, or -1 if it is not intact. */
static DIMT_UNUSED int ds_check_payload(const void *buffer, size_t n)
{
    const unsigned char *b = buffer;
    uint32_t h[3];
    if (!b || n < sizeof(h))
        return -1;
    memcpy(h, b, sizeof(h));
    if (h[0] != DS_PAYLOAD_MAGIC || h[1] >= DS_MAX)
        return -1;
    for (size_t i = sizeof(h); i < n; i++)
        if (b[i] != (unsigned char)(h[1] * 13 + h[2] * 7 + (uint32_t)i))
            return -1;
    return (int)h[1];
}

/* Writes the answer into the request's buffers; returns the byte count. */
static ULONG_PTR ds_answer(ds_sensor *s, WDFREQUEST r, size_t in_len, size_t out_len)
{
    unsigned char *in = NULL, *out = NULL;
    if (in_len)
        (void)WdfRequestRetrieveInputBuffer(r, 1, (PVOID *)&in, NULL);
    if (out_len)
        (void)WdfRequestRetrieveOutputBuffer(r, 1, (PVOID *)&out, NULL);
    if (!out)
        return 0;
    if (in && in_len) {
        size_t n = in_len < out_len ? in_len : out_len;
        unsigned char *tmp = malloc(n);
        assert_non_null(tmp);
        memcpy(tmp, in, n);
        for (size_t i = 0; i < n; i++)
            out[i] = tmp[i] ^ 0x5A;
        free(tmp);
        return n;
    }
    ds_fill_payload(out, out_len, s->index, (uint32_t)__atomic_add_fetch(&s->seq, 1, __ATOMIC_SEQ_CST));
    return out_len;
}

static VOID ds_cancel(WDFREQUEST r)
{
    ds_sensor *s = NULL;
    bool was_armed = false;
    pthread_mutex_lock(&ds_io.lock);
    for (int i = 0; i < DS_MAX_PENDING; i++)
        if (ds_io.p[i].used && ds_io.p[i].r == r) {
            s = ds_io.p[i].s;
            was_armed = ds_io.p[i].armed;
            ds_io.p[i].used = false;
            break;
        }
    pthread_mutex_unlock(&ds_io.lock);
    /* Not in the list: whoever took it unmarked it first (then this routine is not called) or
     * completes it itself (ds_keep's failed mark). The request is not ours to touch. */
    if (!s)
        return;
    if (was_armed)
        __atomic_sub_fetch(&s->held, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&s->defer_cancel_ms, __ATOMIC_SEQ_CST) > 0) {
        bool queued = false;
        pthread_mutex_lock(&ds_io.lock);
        for (int i = 0; i < DS_MAX_PENDING && !queued; i++)
            if (!ds_io.p[i].used) {
                ds_io.p[i] = (ds_pending){ .used = true, .armed = true, .kind = DS_KIND_CANCELLING, .s = s, .r = r,
                                           .due = pk_test_now_ms() + (uint64_t)s->defer_cancel_ms };
                queued = true;
            }
        pthread_cond_signal(&ds_io.cond);
        pthread_mutex_unlock(&ds_io.lock);
        if (queued)
            return;
    }
    __atomic_add_fetch(&s->cancels_given, 1, __ATOMIC_SEQ_CST);
    WdfRequestComplete(r, STATUS_CANCELLED);
    /* Counted after the completion (and an inline completion routine) ran. */
    __atomic_add_fetch(&s->cancels, 1, __ATOMIC_SEQ_CST);
    dimt_changed();
}

/* Keeps a request (kind HOLD or LATER), cancelable. */
static void ds_keep(ds_sensor *s, WDFREQUEST r, int kind, size_t in_len, size_t out_len, uint64_t due)
{
    int slot = -1;
    uint64_t serial;
    NTSTATUS status;

    pthread_mutex_lock(&ds_io.lock);
    serial = ++ds_io.serial;
    for (int i = 0; i < DS_MAX_PENDING; i++)
        if (!ds_io.p[i].used) {
            slot = i;
            break;
        }
    if (slot >= 0)
        ds_io.p[slot] = (ds_pending){ .used = true, .armed = false, .kind = kind, .s = s, .r = r,
                                      .in_len = in_len, .out_len = out_len, .due = due, .serial = serial };
    pthread_mutex_unlock(&ds_io.lock);
    if (slot < 0) {
        WdfRequestComplete(r, STATUS_INSUFFICIENT_RESOURCES);
        return;
    }
    status = WdfRequestMarkCancelableEx(r, ds_cancel);
    pthread_mutex_lock(&ds_io.lock);
    if (!NT_SUCCESS(status)) {
        ds_io.p[slot].used = false; /* the cancel routine was not called */
    } else if (ds_io.p[slot].used && ds_io.p[slot].serial == serial) {
        /* Still our entry. Not the handle: if ds_cancel took the entry meanwhile, the request
         * may have been recycled under the same handle and kept again in this slot, not yet
         * marked (its own ds_keep arms it). */
        ds_io.p[slot].armed = true;
        __atomic_add_fetch(&s->held, 1, __ATOMIC_SEQ_CST);
    }
    if (kind == DS_KIND_LATER)
        pthread_cond_signal(&ds_io.cond);
    pthread_mutex_unlock(&ds_io.lock);
    if (!NT_SUCCESS(status)) {
        WdfRequestComplete(r, STATUS_CANCELLED);
        __atomic_add_fetch(&s->cancels, 1, __ATOMIC_SEQ_CST);
    }
    dimt_changed();
}

/* Takes one armed pending request matching (s or any, kind) out of the list. A held request
 * (HOLD, LATER) is unmarked cancelable under the list lock, as KMDF's cancel pattern asks: when
 * WdfRequestUnmarkCancelable returns STATUS_CANCELLED the cancel routine owns the request, so
 * the entry stays in the list for ds_cancel to find and complete, and the search goes on. */
static bool ds_take(ds_sensor *s, int kind, bool due_only, ds_pending *out)
{
    bool found = false;
    uint64_t now = pk_test_now_ms();
    pthread_mutex_lock(&ds_io.lock);
    for (int i = 0; i < DS_MAX_PENDING && !found; i++) {
        ds_pending *p = &ds_io.p[i];
        if (p->used && p->armed && !p->cancel_owns && (!s || p->s == s) && p->kind == kind &&
            (!due_only || p->due <= now)) {
            if (kind != DS_KIND_CANCELLING && WdfRequestUnmarkCancelable(p->r) == STATUS_CANCELLED) {
                /* Not to be unmarked again: a second unmark finds the request no longer
                 * cancelable (STATUS_INVALID_DEVICE_REQUEST), and taking it then would complete
                 * it under its running cancel routine. */
                p->cancel_owns = true;
                continue;
            }
            *out = *p;
            p->used = false;
            found = true;
        }
    }
    pthread_mutex_unlock(&ds_io.lock);
    return found;
}

/* Completes a taken (and unmarked) request with status (success: with the answer). Returns
 * whether it completed it. */
static bool ds_finish_taken(ds_pending *p, NTSTATUS status)
{
    __atomic_sub_fetch(&p->s->held, 1, __ATOMIC_SEQ_CST);
    if (NT_SUCCESS(status))
        WdfRequestCompleteWithInformation(p->r, status, ds_answer(p->s, p->r, p->in_len, p->out_len));
    else
        WdfRequestComplete(p->r, status);
    __atomic_add_fetch(&p->s->released, 1, __ATOMIC_SEQ_CST);
    dimt_changed();
    return true;
}

/* Completes up to n requests the sensor holds (DS_IOCTL_HOLD, stream requests too) with status
 * (success: with the payload). Returns how many it completed. */
static DIMT_UNUSED int ds_release(ds_sensor *s, int n, NTSTATUS status)
{
    ds_pending p;
    int done = 0;
    while (done < n && ds_take(s, DS_KIND_HOLD, false, &p))
        if (ds_finish_taken(&p, status))
            done++;
    return done;
}

static void ds_complete_cancelling(ds_pending *p)
{
    __atomic_add_fetch(&p->s->cancels_given, 1, __ATOMIC_SEQ_CST);
    WdfRequestComplete(p->r, STATUS_CANCELLED);
    __atomic_add_fetch(&p->s->cancels, 1, __ATOMIC_SEQ_CST);
    dimt_changed();
}

static void *ds_worker(void *arg)
{
    ds_pending p;
    pthread_mutex_lock(&ds_io.lock);
    while (!ds_io.stop) {
        uint64_t next = UINT64_MAX, now = pk_test_now_ms();
        bool due = false;
        for (int i = 0; i < DS_MAX_PENDING; i++)
            if (ds_io.p[i].used && ds_io.p[i].armed && !ds_io.p[i].cancel_owns &&
                (ds_io.p[i].kind == DS_KIND_LATER || ds_io.p[i].kind == DS_KIND_CANCELLING)) {
                if (ds_io.p[i].due <= now)
                    due = true;
                else if (ds_io.p[i].due < next)
                    next = ds_io.p[i].due;
            }
        if (due) {
            pthread_mutex_unlock(&ds_io.lock);
            while (ds_take(NULL, DS_KIND_LATER, true, &p))
                ds_finish_taken(&p, STATUS_SUCCESS);
            while (ds_take(NULL, DS_KIND_CANCELLING, true, &p))
                ds_complete_cancelling(&p);
            pthread_mutex_lock(&ds_io.lock);
            continue;
        }
        if (next == UINT64_MAX) {
            pthread_cond_wait(&ds_io.cond, &ds_io.lock);
        } else {
            struct timespec ts;
            dimt_deadline(&ts, (long)(next - now));
            pthread_cond_timedwait(&ds_io.cond, &ds_io.lock, &ts);
        }
    }
    pthread_mutex_unlock(&ds_io.lock);
    /* What is left is released. */
    while (ds_take(NULL, DS_KIND_LATER, false, &p))
        ds_finish_taken(&p, STATUS_SUCCESS);
    while (ds_take(NULL, DS_KIND_CANCELLING, false, &p))
        ds_complete_cancelling(&p);
    return NULL;
}

static VOID ds_ioctl(WDFQUEUE q, WDFREQUEST r, size_t out_len, size_t in_len, ULONG code)
{
    ds_sensor *s = ds_of(WdfIoQueueGetDevice(q));

    LONG n = __atomic_add_fetch(&s->ioctls, 1, __ATOMIC_SEQ_CST);
    if (code == DS_IOCTL_HOLD) {
        unsigned char *in = NULL;
        __atomic_store_n(&s->last_hold_in_len, (LONG)in_len, __ATOMIC_SEQ_CST);
        if (in_len && NT_SUCCESS(WdfRequestRetrieveInputBuffer(r, 1, (PVOID *)&in, NULL)) && in)
            __atomic_store_n(&s->last_hold_in_byte, (LONG)in[0], __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&s->holds_received, 1, __ATOMIC_SEQ_CST);
        ds_keep(s, r, DS_KIND_HOLD, in_len, out_len, 0);
        return;
    }
    if (code == DS_IOCTL_LATER) {
        ds_keep(s, r, DS_KIND_LATER, in_len, out_len, pk_test_now_ms() + (uint64_t)(n % 3));
        return;
    }
    WdfRequestCompleteWithInformation(r, STATUS_SUCCESS, ds_answer(s, r, in_len, out_len));
    dimt_changed();
}

static VOID ds_read(WDFQUEUE q, WDFREQUEST r, size_t length)
{
    ds_sensor *s = ds_of(WdfIoQueueGetDevice(q));
    __atomic_add_fetch(&s->reads, 1, __ATOMIC_SEQ_CST);
    WdfRequestCompleteWithInformation(r, STATUS_SUCCESS, ds_answer(s, r, 0, length));
}

static VOID ds_write(WDFQUEUE q, WDFREQUEST r, size_t length)
{
    ds_sensor *s = ds_of(WdfIoQueueGetDevice(q));
    __atomic_add_fetch(&s->writes, 1, __ATOMIC_SEQ_CST);
    WdfRequestCompleteWithInformation(r, STATUS_SUCCESS, length);
}

static VOID ds_file_create(WDFDEVICE d, WDFREQUEST r, WDFFILEOBJECT f)
{
    ds_sensor *s = ds_of(d);
    PIRP irp = WdfRequestWdmGetIrp(r);
    PIO_STACK_LOCATION sp = irp ? IoGetCurrentIrpStackLocation(irp) : NULL;

    if (sp) {
        if (sp->Parameters.Create.SecurityContext)
            __atomic_store_n(&s->last_access, sp->Parameters.Create.SecurityContext->DesiredAccess, __ATOMIC_SEQ_CST);
        __atomic_store_n(&s->last_share, (ULONG)sp->Parameters.Create.ShareAccess, __ATOMIC_SEQ_CST);
    }
    __atomic_add_fetch(&s->creates, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&s->fail_creates, __ATOMIC_SEQ_CST) > 0) {
        __atomic_sub_fetch(&s->fail_creates, 1, __ATOMIC_SEQ_CST);
        WdfRequestComplete(r, s->fail_create_status ? s->fail_create_status : STATUS_ACCESS_DENIED);
    } else {
        WdfRequestComplete(r, STATUS_SUCCESS);
    }
    dimt_changed();
}

static VOID ds_file_cleanup(WDFFILEOBJECT f)
{
    ds_sensor *s = ds_of(WdfFileObjectGetDevice(f));
    dimt_inc(&s->cleanups);
}

static VOID ds_file_close(WDFFILEOBJECT f)
{
    ds_sensor *s = ds_of(WdfFileObjectGetDevice(f));
    dimt_inc(&s->closes);
}

static NTSTATUS ds_query_remove(WDFDEVICE d)
{
    ds_sensor *s = ds_of(d);
    dimt_inc(&s->query_removes);
    if (s->on_query_remove)
        s->on_query_remove(s);
    return __atomic_load_n(&s->veto_query_remove, __ATOMIC_SEQ_CST) ? STATUS_UNSUCCESSFUL : STATUS_SUCCESS;
}

static NTSTATUS ds_add(WDFDRIVER driver, PWDFDEVICE_INIT init)
{
    PDEVICE_OBJECT pdo = WdfFdoInitWdmGetPhysicalDevice(init);
    WDF_PNPPOWER_EVENT_CALLBACKS pnpcb;
    WDF_FILEOBJECT_CONFIG fc;
    WDF_OBJECT_ATTRIBUTES attributes;
    WDF_IO_QUEUE_CONFIG qc;
    WDFDEVICE device;
    WDFQUEUE queue;
    NTSTATUS status;
    int index = -1;

    /* A device the test creates now (ds_next), or one that comes back (same PDO). */
    index = ds_next;
    for (int i = 0; i < DS_MAX && index < 0; i++)
        if (ds_sensors[i].pdo == pdo && pdo)
            index = i;
    if (index < 0 || index >= DS_MAX)
        return STATUS_UNSUCCESSFUL;
    ds_sensors[index].pdo = pdo;

    WDF_PNPPOWER_EVENT_CALLBACKS_INIT(&pnpcb);
    pnpcb.EvtDeviceQueryRemove = ds_query_remove;
    WdfDeviceInitSetPnpPowerEventCallbacks(init, &pnpcb);
    WDF_FILEOBJECT_CONFIG_INIT(&fc, ds_file_create, ds_file_close, ds_file_cleanup);
    WdfDeviceInitSetFileObjectConfig(init, &fc, WDF_NO_OBJECT_ATTRIBUTES);
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, ds_ctx);
    status = WdfDeviceCreate(&init, &attributes, &device);
    if (!NT_SUCCESS(status))
        return status;
    ds_ctx_get(device)->index = index;
    ds_sensors[index].device = device;
    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&qc, WdfIoQueueDispatchParallel);
    qc.EvtIoDeviceControl = ds_ioctl;
    qc.EvtIoInternalDeviceControl = ds_ioctl;
    qc.EvtIoRead = ds_read;
    qc.EvtIoWrite = ds_write;
    qc.PowerManaged = WdfFalse;
    status = WdfIoQueueCreate(device, &qc, WDF_NO_OBJECT_ATTRIBUTES, &queue);
    if (!NT_SUCCESS(status))
        return status;
    if (ds_sensors[index].ref) {
        UNICODE_STRING ref;
        RtlInitUnicodeString(&ref, ds_sensors[index].ref);
        return WdfDeviceCreateDeviceInterface(device, &DIMT_GUID, &ref);
    }
    return WdfDeviceCreateDeviceInterface(device, &DIMT_GUID, NULL);
}

static NTSTATUS ds_entry(PDRIVER_OBJECT d, PUNICODE_STRING path)
{
    WDF_DRIVER_CONFIG config;
    WDF_DRIVER_CONFIG_INIT(&config, ds_add);
    return WdfDriverCreate(d, path, WDF_NO_OBJECT_ATTRIBUTES, &config, WDF_NO_HANDLE);
}

static bool ds_registered;

static DIMT_UNUSED void ds_register(void)
{
    memset(ds_sensors, 0, sizeof(ds_sensors));
    memset(ds_io.p, 0, sizeof(ds_io.p));
    ds_next = -1;
    assert_int_equal(PnpkitDriverRegister(DS_SERVICE, ds_entry, DS_HWID), STATUS_SUCCESS);
    ds_registered = true;
    ds_io.stop = false;
    ds_io.running = true;
    assert_int_equal(pthread_create(&ds_io.thread, NULL, ds_worker, NULL), 0);
}

/* Reads the sensor's link (kernel form, present or not) from its PDO. */
static void ds_read_link(ds_sensor *s)
{
    PZZWSTR list = NULL;
    assert_int_equal(IoGetDeviceInterfaces(&DIMT_GUID, s->pdo, DEVICE_INTERFACE_INCLUDE_NONACTIVE, &list),
                     STATUS_SUCCESS);
    size_t n = PnpkitWcsLen(list);
    assert_true(n > 0 && n < 255);
    memcpy(s->link, list, (n + 1) * sizeof(WCHAR));
    ExFreePool(list);
    RtlInitUnicodeString(&s->link_us, s->link);
}

/* Creates sensor `index` (SWD\WT\s<index>, interface of DIMT_GUID with reference string ref)
 * and waits until it started and every notification it caused was delivered. */
static DIMT_UNUSED ds_sensor *ds_create(int index, PCWSTR ref)
{
    ds_sensor *s = &ds_sensors[index];
    int k = 0;

    assert_true(index >= 0 && index < DS_MAX);
    s->index = index;
    s->ref = ref;
    s->pdo = NULL;
    s->device = NULL;
    s->name[k++] = 's';
    if (index >= 10)
        s->name[k++] = (WCHAR)('0' + index / 10);
    s->name[k++] = (WCHAR)('0' + index % 10);
    s->name[k] = 0;
    ds_next = index;
    s->h = wt_device_create_with_ids(s->name, DS_HWID, &s->dn);
    ds_next = -1;
    assert_non_null(s->device);
    ds_read_link(s);
    PnpkitSimWaitIdle();
    return s;
}

/* Orderly removal (query-remove): returns the CONFIGRET; waits until the PnP worker is idle. */
static DIMT_UNUSED CONFIGRET ds_query_and_remove(ds_sensor *s)
{
    CONFIGRET cr = CM_Query_And_Remove_SubTreeW(s->dn, NULL, NULL, 0, 0);
    PnpkitSimWaitIdle();
    return cr;
}

static DIMT_UNUSED void ds_surprise_remove(ds_sensor *s)
{
    assert_int_equal(PnpkitSimSurpriseRemove(s->dn), STATUS_SUCCESS);
    PnpkitSimWaitIdle();
}

/* Enables or disables the sensor's interface (its device stays present). */
static DIMT_UNUSED void ds_set_interface(ds_sensor *s, bool enable)
{
    if (s->ref) {
        UNICODE_STRING ref;
        RtlInitUnicodeString(&ref, s->ref);
        WdfDeviceSetDeviceInterfaceState(s->device, &DIMT_GUID, &ref, enable);
    } else {
        WdfDeviceSetDeviceInterfaceState(s->device, &DIMT_GUID, NULL, enable);
    }
    PnpkitSimWaitIdle();
}

/* Closes the sensor's HSWDEVICE (what is left of it is surprise-removed). */
static DIMT_UNUSED void ds_close(ds_sensor *s)
{
    if (s->h)
        wt_device_close(s->h);
    s->h = NULL;
}

/* Cancels everything the sensors still hold. */
static DIMT_UNUSED void ds_release_all(void)
{
    for (int i = 0; i < DS_MAX; i++)
        ds_release(&ds_sensors[i], DS_MAX_PENDING, STATUS_CANCELLED);
}

static DIMT_UNUSED void ds_unregister(void)
{
    if (ds_io.running) {
        pthread_mutex_lock(&ds_io.lock);
        ds_io.stop = true;
        pthread_cond_signal(&ds_io.cond);
        pthread_mutex_unlock(&ds_io.lock);
        pthread_join(ds_io.thread, NULL);
        ds_io.running = false;
    }
    if (ds_registered)
        assert_int_equal(PnpkitDriverUnregister(DS_SERVICE), STATUS_SUCCESS);
    ds_registered = false;
}

/* ============================================================================================= */
/* Injection through the PnP internals                                                           */
/* ============================================================================================= */

typedef struct dimt_inject {
    pnp_work work;
    pnp_devnode *node;
    pnp_target_event ev;
    NTSTATUS status;
    GUID guid;
    UNICODE_STRING link;
} dimt_inject;

static void dimt_inject_target_fn(pnp_work *w)
{
    dimt_inject *i = CONTAINING_RECORD(w, dimt_inject, work);
    i->status = pnp_notify_target_kernel(i->node, i->ev, NULL, NULL, NULL, 0);
}

/* Delivers a target-device event (QUERY_REMOVE, REMOVE_CANCELLED, REMOVE_COMPLETE) to the
 * kernel registrants of the sensor's node, on the PnP worker, as the PnP manager would; returns
 * the delivery status (a QUERY_REMOVE veto is a failure). */
static DIMT_UNUSED NTSTATUS dimt_inject_target_event(ds_sensor *s, pnp_target_event ev)
{
    dimt_inject i;
    memset(&i, 0, sizeof(i));
    i.node = pnp_node_from_devinst(s->dn);
    assert_non_null(i.node);
    i.ev = ev;
    i.work.fn = dimt_inject_target_fn;
    assert_true(pnp_worker_run_sync(&i.work));
    pnp_node_dereference(i.node);
    return i.status;
}

/* Queues one more GUID_DEVICE_INTERFACE_ARRIVAL of DIMT_GUID for `link` (any spelling), as
 * Windows may report an interface twice; waits until it was delivered. */
static DIMT_UNUSED void dimt_inject_arrival(PCWSTR link)
{
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, link);
    pk_lock_acquire(&pnp.iface_lock);
    pnp_notify_interface_change_locked(&DIMT_GUID, &u, true);
    pk_lock_release(&pnp.iface_lock);
    PnpkitSimWaitIdle();
}

/* ============================================================================================= */
/* The client                                                                                    */
/* ============================================================================================= */

enum { R_POSTOPEN = 100, R_PRECLOSE = 101, R_PNP = 102 };
#define DIMT_MAX_RECS 8192

typedef struct dimt_rec {
    DMFMODULE m;
    DMFIOTARGET t;
    int state;
    bool legacy;
} dimt_rec;

static struct {
    pthread_mutex_t lock;
    dimt_rec r[DIMT_MAX_RECS];
    volatile LONG n;
} dimt_recs = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* What the client does. */
typedef struct dimt_client {
    NTSTATUS ex_status[8];       /* returned by the Ex callback per state (default success) */
    bool deny_open;              /* OnPnpNotification writes FALSE */
    void (*on_state)(DMFMODULE m, DMFIOTARGET t, int state); /* inside the state callback */
    volatile LONG pnp_calls;
    BOOLEAN pnp_preset;          /* *IoTargetOpen on entry of the last OnPnpNotification */
    WCHAR pnp_link[256];         /* its link */
    bool record_off;             /* stress: count only */
    DMFMODULE veto_qr_module;    /* this instance's Ex callback vetoes every QueryRemove */
} dimt_client;

static dimt_client dimt_cli;
static volatile LONG dimt_state_counts[8], dimt_postopen_count, dimt_preclose_count;

static DIMT_UNUSED void dimt_record(DMFMODULE m, DMFIOTARGET t, int state, bool legacy)
{
    if (state >= 0 && state < 8)
        __atomic_add_fetch(&dimt_state_counts[state], 1, __ATOMIC_SEQ_CST);
    if (!dimt_cli.record_off) {
        pthread_mutex_lock(&dimt_recs.lock);
        LONG n = dimt_recs.n;
        if (n < DIMT_MAX_RECS) {
            dimt_recs.r[n] = (dimt_rec){ m, t, state, legacy };
            __atomic_store_n(&dimt_recs.n, n + 1, __ATOMIC_SEQ_CST);
        }
        pthread_mutex_unlock(&dimt_recs.lock);
    }
    dimt_changed();
}

static DIMT_UNUSED void dimt_recs_clear(void)
{
    pthread_mutex_lock(&dimt_recs.lock);
    __atomic_store_n(&dimt_recs.n, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&dimt_recs.lock);
}

static DIMT_UNUSED int dimt_recs_count(void) { return (int)__atomic_load_n(&dimt_recs.n, __ATOMIC_SEQ_CST); }

static DIMT_UNUSED dimt_rec dimt_rec_at(int i)
{
    dimt_rec r;
    pthread_mutex_lock(&dimt_recs.lock);
    assert_true(i >= 0 && i < dimt_recs.n);
    r = dimt_recs.r[i];
    pthread_mutex_unlock(&dimt_recs.lock);
    return r;
}

/* How many records of state (for Target t, or any Target when t is NULL). */
static DIMT_UNUSED int dimt_count(int state, DMFIOTARGET t)
{
    int c = 0;
    pthread_mutex_lock(&dimt_recs.lock);
    for (int i = 0; i < dimt_recs.n; i++)
        if (dimt_recs.r[i].state == state && (!t || dimt_recs.r[i].t == t))
            c++;
    pthread_mutex_unlock(&dimt_recs.lock);
    return c;
}

static DIMT_UNUSED const char *dimt_state_name(int s)
{
    switch (s) {
    case DeviceInterfaceMultipleTarget_StateType_Open: return "Open";
    case DeviceInterfaceMultipleTarget_StateType_QueryRemove: return "QueryRemove";
    case DeviceInterfaceMultipleTarget_StateType_RemoveCancel: return "RemoveCancel";
    case DeviceInterfaceMultipleTarget_StateType_RemoveComplete: return "RemoveComplete";
    case DeviceInterfaceMultipleTarget_StateType_Close: return "Close";
    case R_POSTOPEN: return "PostOpen";
    case R_PRECLOSE: return "PreClose";
    case R_PNP: return "PnpNotification";
    default: return "?";
    }
}

static DIMT_UNUSED void dimt_recs_dump(void)
{
    pthread_mutex_lock(&dimt_recs.lock);
    for (int i = 0; i < dimt_recs.n; i++)
        print_message("  [%d] %s m=%p t=%p%s\n", i, dimt_state_name(dimt_recs.r[i].state), (void *)dimt_recs.r[i].m,
                      (void *)dimt_recs.r[i].t, dimt_recs.r[i].legacy ? " (legacy)" : "");
    pthread_mutex_unlock(&dimt_recs.lock);
}

/* Fails unless the records from index `from` on are exactly the given (state, Target) pairs;
 * a NULL Target in the expectation matches any Target. Terminated by state -1. */
typedef struct dimt_exp {
    int state;
    DMFIOTARGET t;
} dimt_exp;

static DIMT_UNUSED void dimt_expect_from(int from, const dimt_exp *e)
{
    int n = 0;
    while (e[n].state != -1)
        n++;
    if (dimt_recs_count() - from != n)
        goto bad;
    for (int i = 0; i < n; i++) {
        dimt_rec r = dimt_rec_at(from + i);
        if (r.state != e[i].state || (e[i].t && r.t != e[i].t))
            goto bad;
    }
    return;
bad:
    print_message("expected (from %d):\n", from);
    for (int i = 0; i < n; i++)
        print_message("  %s t=%p\n", dimt_state_name(e[i].state), (void *)e[i].t);
    print_message("recorded:\n");
    dimt_recs_dump();
    fail_msg("callback sequence differs");
}

#define DIMT_EXPECT(from, ...) \
    do { \
        const dimt_exp e__[] = { __VA_ARGS__, { -1, NULL } }; \
        dimt_expect_from((from), e__); \
    } while (0)

/* Fails unless the state records (PostOpen, PreClose and PnP notifications left out) from
 * `from` on are exactly the given ones. */
static DIMT_UNUSED void expect_states_from(int from, const dimt_exp *e)
{
    int n = 0, k = 0;
    while (e[n].state != -1)
        n++;
    for (int i = from; i < dimt_recs_count(); i++) {
        dimt_rec r = dimt_rec_at(i);
        if (r.state >= R_POSTOPEN)
            continue;
        if (k >= n || r.state != e[k].state || (e[k].t && r.t != e[k].t))
            goto bad;
        k++;
    }
    if (k == n)
        return;
bad:
    print_message("expected states (from %d):\n", from);
    for (int i = 0; i < n; i++)
        print_message("  %s t=%p\n", dimt_state_name(e[i].state), (void *)e[i].t);
    print_message("recorded:\n");
    dimt_recs_dump();
    fail_msg("state sequence differs");
}

#define EXPECT_STATES(from, ...) \
    do { \
        const dimt_exp e__[] = { __VA_ARGS__, { -1, NULL } }; \
        expect_states_from((from), e__); \
    } while (0)

#define NO_STATES(from) expect_states_from((from), (const dimt_exp[]){ { -1, NULL } })

/* The Target of the k-th Open record (0-based). */
static DIMT_UNUSED DMFIOTARGET dimt_opened(int k)
{
    int seen = 0;
    for (int i = 0; i < dimt_recs_count(); i++) {
        dimt_rec r = dimt_rec_at(i);
        if (r.state == DeviceInterfaceMultipleTarget_StateType_Open && seen++ == k)
            return r.t;
    }
    dimt_recs_dump();
    fail_msg("no Open record #%d", k);
    return NULL;
}

static DIMT_UNUSED NTSTATUS dimt_on_state_ex(DMFMODULE m, DMFIOTARGET t, DeviceInterfaceMultipleTarget_StateType state)
{
    dimt_record(m, t, (int)state, false);
    if (dimt_cli.on_state)
        dimt_cli.on_state(m, t, (int)state);
    if (state == DeviceInterfaceMultipleTarget_StateType_QueryRemove && dimt_cli.veto_qr_module == m)
        return STATUS_ACCESS_DENIED;
    return (state >= 0 && state < 8) ? dimt_cli.ex_status[state] : STATUS_SUCCESS;
}

static DIMT_UNUSED VOID dimt_on_state_legacy(DMFMODULE m, DMFIOTARGET t, DeviceInterfaceMultipleTarget_StateType state)
{
    dimt_record(m, t, (int)state, true);
    if (dimt_cli.on_state)
        dimt_cli.on_state(m, t, (int)state);
}

static DIMT_UNUSED VOID dimt_on_pnp(DMFMODULE m, PUNICODE_STRING link, BOOLEAN *open)
{
    size_t n = link ? link->Length / sizeof(WCHAR) : 0;
    if (n > 255)
        n = 255;
    dimt_cli.pnp_preset = *open;
    if (link)
        memcpy(dimt_cli.pnp_link, link->Buffer, n * sizeof(WCHAR));
    dimt_cli.pnp_link[n] = 0;
    __atomic_add_fetch(&dimt_cli.pnp_calls, 1, __ATOMIC_SEQ_CST);
    dimt_record(m, NULL, R_PNP, false);
    if (dimt_cli.deny_open)
        *open = FALSE;
}

static DIMT_UNUSED VOID dimt_on_post_open(DMFMODULE m)
{
    __atomic_add_fetch(&dimt_postopen_count, 1, __ATOMIC_SEQ_CST);
    dimt_record(m, NULL, R_POSTOPEN, false);
}

static DIMT_UNUSED VOID dimt_on_pre_close(DMFMODULE m)
{
    __atomic_add_fetch(&dimt_preclose_count, 1, __ATOMIC_SEQ_CST);
    dimt_record(m, NULL, R_PRECLOSE, false);
}

/* ---- Stream callbacks ---- */
typedef struct dimt_stream {
    volatile LONG outputs, inputs, bad_payload;
    ContinuousRequestTarget_BufferDisposition disposition; /* 0: continue (1) */
    void *kept[256];             /* buffers left with the client (3, 4) */
    int kept_sensor[256];
    volatile LONG nkept;
    NTSTATUS last_status;
    DMFMODULE last_module;
} dimt_stream;
static dimt_stream dimt_str;

static DIMT_UNUSED ContinuousRequestTarget_BufferDisposition dimt_on_output(DMFMODULE m, VOID *buffer, size_t size, VOID *context,
                                                                NTSTATUS status)
{
    ContinuousRequestTarget_BufferDisposition d =
        dimt_str.disposition ? dimt_str.disposition
                             : ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndContinueStreaming;
    int sensor = ds_check_payload(buffer, size);
    pthread_mutex_lock(&dimt_mu); /* stream callbacks of several Targets may run at once */
    dimt_str.last_status = status;
    dimt_str.last_module = m;
    if (NT_SUCCESS(status) && buffer && sensor < 0)
        __atomic_add_fetch(&dimt_str.bad_payload, 1, __ATOMIC_SEQ_CST);
    if (buffer && (d == ContinuousRequestTarget_BufferDisposition_ClientAndContinueStreaming ||
                   d == ContinuousRequestTarget_BufferDisposition_ClientAndStopStreaming)) {
        LONG k = __atomic_load_n(&dimt_str.nkept, __ATOMIC_SEQ_CST);
        if (k < 256) {
            dimt_str.kept[k] = buffer;
            dimt_str.kept_sensor[k] = sensor;
            __atomic_store_n(&dimt_str.nkept, k + 1, __ATOMIC_SEQ_CST);
        }
    }
    pthread_mutex_unlock(&dimt_mu);
    dimt_inc(&dimt_str.outputs);
    return d;
}

/* ---- Completions of single requests ---- */
typedef struct dimt_done {
    volatile LONG calls;
    NTSTATUS status;
    DMFMODULE module;
    void *in, *out;
    size_t in_written, out_read;
    void (*then)(struct dimt_done *d); /* called inside the completion */
} dimt_done;

static DIMT_UNUSED void dimt_done_init(dimt_done *d) { memset(d, 0, sizeof(*d)); }

static DIMT_UNUSED VOID dimt_on_done(DMFMODULE m, VOID *context, VOID *in, size_t in_written, VOID *out,
                                     size_t out_read, NTSTATUS status)
{
    dimt_done *d = context;
    d->module = m;
    d->status = status;
    d->in = in;
    d->out = out;
    d->in_written = in_written;
    d->out_read = out_read;
    if (d->then)
        d->then(d);
    dimt_inc(&d->calls);
}

/* ============================================================================================= */
/* Environment                                                                                   */
/* ============================================================================================= */

static HSWDEVICE dimt_host_h;
static DEVINST dimt_host_dn;
static WDFDEVICE dimt_host;
static int dimt_expected_stops;

/* Static hosting: the modules the host's EvtDriverDeviceAdd adds. */
static DMF_CONFIG_DeviceInterfaceMultipleTarget dimt_static_config;
static BOOLEAN dimt_static_passive;
static DMFMODULE dimt_static_module;
static NTSTATUS dimt_modules_status;

static DIMT_UNUSED VOID dimt_modules_add(WDFDEVICE device, PDMFMODULE_INIT init)
{
    DMF_MODULE_ATTRIBUTES a;
    DMF_MODULE_EVENT_CALLBACKS cb;
    DMF_CONFIG_DeviceInterfaceMultipleTarget c;

    DMF_CONFIG_DeviceInterfaceMultipleTarget_AND_ATTRIBUTES_INIT(&c, &a);
    c = dimt_static_config;
    a.ModuleConfigPointer = &c;
    a.PassiveLevel = dimt_static_passive;
    DMF_MODULE_ATTRIBUTES_EVENT_CALLBACKS_INIT(&a, &cb);
    cb.EvtModuleOnDeviceNotificationPostOpen = dimt_on_post_open;
    cb.EvtModuleOnDeviceNotificationPreClose = dimt_on_pre_close;
    DMF_DmfModuleAdd(init, &a, WDF_NO_OBJECT_ATTRIBUTES, &dimt_static_module);
}

static DIMT_UNUSED void dimt_host_modules(WDFDEVICE device)
{
    PDMFDEVICE_INIT init = DMF_DmfDeviceInitAllocate(NULL);
    DMF_EVENT_CALLBACKS callbacks;

    DMF_DmfDeviceInitHookPnpPowerEventCallbacks(init, NULL);
    DMF_DmfDeviceInitHookPowerPolicyEventCallbacks(init, NULL);
    DMF_DmfDeviceInitHookFileObjectConfig(init, NULL);
    DMF_EVENT_CALLBACKS_INIT(&callbacks);
    callbacks.EvtDmfDeviceModulesAdd = dimt_modules_add;
    DMF_DmfDeviceInitSetEventCallbacks(init, &callbacks);
    dimt_modules_status = DMF_ModulesCreate(device, &init);
}

/* Verifier findings: counted and printed (so a failing count says what was found). */
static volatile LONG dimt_stop_count, dimt_report_count;

static VOID dimt_verifier_handler(PVOID context, PNPKIT_VERIFIER_SEVERITY severity, PCSTR api, PCSTR message)
{
    (void)context;
    if (severity == PnpkitVerifierStop)
        __atomic_add_fetch(&dimt_stop_count, 1, __ATOMIC_SEQ_CST);
    else
        __atomic_add_fetch(&dimt_report_count, 1, __ATOMIC_SEQ_CST);
    print_message("verifier %s: %s: %s\n", severity == PnpkitVerifierStop ? "stop" : "report", api, message);
}

static DIMT_UNUSED int dimt_stops(void) { return (int)__atomic_load_n(&dimt_stop_count, __ATOMIC_SEQ_CST); }
static DIMT_UNUSED int dimt_reports(void) { return (int)__atomic_load_n(&dimt_report_count, __ATOMIC_SEQ_CST); }

/* Registers the drivers and resets every record. Call first. */
static DIMT_UNUSED void dimt_begin(void)
{
    dimt_stop_count = dimt_report_count = 0;
    PnpkitVerifierSetHandler(dimt_verifier_handler, NULL);
    dimt_expected_stops = 0;
    wt_reset();
    memset(&dimt_cli, 0, sizeof(dimt_cli));
    memset(&dimt_str, 0, sizeof(dimt_str));
    memset((void *)dimt_state_counts, 0, sizeof(dimt_state_counts));
    dimt_postopen_count = dimt_preclose_count = 0;
    dimt_recs_clear();
    dimt_host = NULL;
    dimt_host_h = NULL;
    dimt_static_module = NULL;
    dimt_modules_status = STATUS_PENDING;
    wt_cfg[0].name = "host";
    wt_register_wdf(0, WT_FUNCTION);
    ds_register();
}

/* Creates the client device. With hosting, its EvtDriverDeviceAdd hosts a static
 * DeviceInterfaceMultipleTarget with dimt_static_config. */
static DIMT_UNUSED void dimt_host_start(bool hosting)
{
    wt_cfg[0].device_created = hosting ? dimt_host_modules : NULL;
    dimt_host_h = wt_device_create(u"host", &dimt_host_dn);
    dimt_host = wt_st[0].device;
    assert_non_null(dimt_host);
    if (hosting) {
        assert_int_equal(dimt_modules_status, STATUS_SUCCESS);
        assert_non_null(dimt_static_module);
    }
    PnpkitSimWaitIdle();
}

/* A config with the test GUID, the Ex and PnP callbacks, open option Create. */
static DIMT_UNUSED void dimt_config(DMF_CONFIG_DeviceInterfaceMultipleTarget *c, DMF_MODULE_ATTRIBUTES *a,
                                   DMF_MODULE_EVENT_CALLBACKS *cb)
{
    DMF_CONFIG_DeviceInterfaceMultipleTarget_AND_ATTRIBUTES_INIT(c, a);
    c->ModuleOpenOption = DeviceInterfaceMultipleTarget_PnpRegisterWhen_Create;
    c->DeviceInterfaceMultipleTargetGuid = DIMT_GUID;
    c->EvtDeviceInterfaceMultipleTargetOnStateChangeEx = dimt_on_state_ex;
    c->EvtDeviceInterfaceMultipleTargetOnPnpNotification = dimt_on_pnp;
    DMF_MODULE_ATTRIBUTES_EVENT_CALLBACKS_INIT(a, cb);
    cb->EvtModuleOnDeviceNotificationPostOpen = dimt_on_post_open;
    cb->EvtModuleOnDeviceNotificationPreClose = dimt_on_pre_close;
}

/* Stream settings: count requests of DS_IOCTL_HOLD (held by the sensor until released),
 * output buffers of osize, Automatic or Manual mode. */
static DIMT_UNUSED void dimt_config_stream(DMF_CONFIG_DeviceInterfaceMultipleTarget *c, ULONG count, ULONG osize,
                                          bool automatic)
{
    DMF_CONFIG_ContinuousRequestTarget *s = &c->ContinuousRequestTargetModuleConfig;
    s->ContinuousRequestCount = count;
    s->RequestType = ContinuousRequestTarget_RequestType_Ioctl;
    s->ContinuousRequestTargetIoctl = DS_IOCTL_HOLD;
    s->BufferCountOutput = osize ? count + 2 : 0;
    s->BufferOutputSize = osize;
    s->EvtContinuousRequestTargetBufferOutput = dimt_on_output;
    s->ContinuousRequestTargetMode =
        automatic ? ContinuousRequestTarget_Mode_Automatic : ContinuousRequestTarget_Mode_Manual;
}

/* Creates a dynamic module on the host (asserting `expect`) and waits until the arrivals of the
 * interfaces already present were handled. */
static DIMT_UNUSED DMFMODULE dimt_create_expect(DMF_CONFIG_DeviceInterfaceMultipleTarget *c, DMF_MODULE_ATTRIBUTES *a,
                                                NTSTATUS expect)
{
    DMFMODULE m = NULL;
    a->ModuleConfigPointer = c;
    assert_int_equal(DMF_DeviceInterfaceMultipleTarget_Create(dimt_host, a, WDF_NO_OBJECT_ATTRIBUTES, &m), expect);
    PnpkitSimWaitIdle();
    if (NT_SUCCESS(expect))
        assert_non_null(m);
    return m;
}

static DIMT_UNUSED DMFMODULE dimt_create(DMF_CONFIG_DeviceInterfaceMultipleTarget *c, DMF_MODULE_ATTRIBUTES *a)
{
    return dimt_create_expect(c, a, STATUS_SUCCESS);
}

/* Closes every sensor (what is left of each is surprise-removed, so its Targets go through
 * their removal), then deletes the module, which has no Target open any more. Tests of
 * deletion with Targets open (D3, D30, D36) call WdfObjectDelete directly. */
static DIMT_UNUSED void dimt_delete(DMFMODULE m)
{
    for (int i = 0; i < DS_MAX; i++)
        ds_close(&ds_sensors[i]);
    PnpkitSimWaitIdle();
    WdfObjectDelete(m);
}

/* Releases what the sensors hold, closes the sensors and the host, unregisters the drivers and
 * checks the verifier stops. Dynamic modules must have been deleted. */
static DIMT_UNUSED void dimt_finish(void)
{
    ds_release_all();
    PnpkitSimWaitIdle();
    for (int i = 0; i < DS_MAX; i++)
        ds_close(&ds_sensors[i]);
    if (dimt_host_h)
        wt_device_close(dimt_host_h);
    dimt_host_h = NULL;
    PnpkitSimWaitIdle();
    ds_release_all();
    PnpkitShutdown();
    ds_unregister();
    wt_teardown();
    assert_int_equal(dimt_stops(), dimt_expected_stops);
}

/* ---- Threads that block in a call ---- */
typedef struct dimt_blocked {
    pthread_t thread;
    DMFMODULE m;
    DMFIOTARGET t;
    ULONG code, timeout_ms;
    unsigned char in[16], out[16];
    size_t written;
    NTSTATUS status;
    uint64_t elapsed_ms;
    volatile LONG done;
} dimt_blocked;

static DIMT_UNUSED void *dimt_sync_sender(void *arg)
{
    dimt_blocked *b = arg;
    uint64_t t0 = pk_test_now_ms();
    memset(b->in, 0x11, sizeof(b->in));
    b->status = DMF_DeviceInterfaceMultipleTarget_SendSynchronously(b->m, b->t, b->in, sizeof(b->in), b->out,
                                                                      sizeof(b->out),
                                                                      ContinuousRequestTarget_RequestType_Ioctl, b->code,
                                                                      b->timeout_ms, &b->written);
    b->elapsed_ms = pk_test_now_ms() - t0;
    dimt_inc(&b->done);
    return NULL;
}

/* Starts a SendSynchronously of code on another thread (join with dimt_blocked_join). */
static DIMT_UNUSED void dimt_blocked_start(dimt_blocked *b, DMFMODULE m, DMFIOTARGET t, ULONG code, ULONG timeout_ms)
{
    memset(b, 0, sizeof(*b));
    b->m = m;
    b->t = t;
    b->code = code;
    b->timeout_ms = timeout_ms;
    b->status = STATUS_PENDING;
    assert_int_equal(pthread_create(&b->thread, NULL, dimt_sync_sender, b), 0);
}

static DIMT_UNUSED NTSTATUS dimt_blocked_join(dimt_blocked *b)
{
    DIMT_WAIT(dimt_load(&b->done) == 1);
    pthread_join(b->thread, NULL);
    return b->status;
}

/* ---- Power: IRPs sent to the top of a device's stack ---- */
static DIMT_UNUSED NTSTATUS dimt_stack_irp(PDEVICE_OBJECT pdo, UCHAR major, UCHAR minor, DEVICE_POWER_STATE ds)
{
    PDEVICE_OBJECT top = IoGetAttachedDeviceReference(pdo);
    IO_STATUS_BLOCK iosb;
    KEVENT done;
    PIRP irp;
    PIO_STACK_LOCATION sp;
    NTSTATUS status;

    KeInitializeEvent(&done, NotificationEvent, FALSE);
    irp = IoBuildSynchronousFsdRequest(major, top, NULL, 0, NULL, &done, &iosb);
    assert_non_null(irp);
    irp->IoStatus.Status = STATUS_NOT_SUPPORTED;
    sp = IoGetNextIrpStackLocation(irp);
    sp->MinorFunction = minor;
    if (major == IRP_MJ_POWER) {
        sp->Parameters.Power.Type = DevicePowerState;
        sp->Parameters.Power.State.DeviceState = ds;
    }
    status = IoCallDriver(top, irp);
    if (status == STATUS_PENDING)
        KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
    ObDereferenceObject(top);
    PnpkitSimWaitIdle();
    return iosb.Status;
}

static DIMT_UNUSED NTSTATUS dimt_host_power(DEVICE_POWER_STATE ds)
{
    return dimt_stack_irp(WdfDeviceWdmGetPhysicalDevice(dimt_host), IRP_MJ_POWER, IRP_MN_SET_POWER, ds);
}

/* A synchronous ECHO through the module: STATUS and whether the answer was the transform. */
static DIMT_UNUSED NTSTATUS dimt_echo(DMFMODULE m, DMFIOTARGET t)
{
    unsigned char in[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, out[8] = { 0 };
    size_t written = 99;
    NTSTATUS status = DMF_DeviceInterfaceMultipleTarget_SendSynchronously(
        m, t, in, sizeof(in), out, sizeof(out), ContinuousRequestTarget_RequestType_Ioctl, DS_IOCTL_ECHO, 0, &written);
    if (NT_SUCCESS(status)) {
        assert_int_equal(written, sizeof(out));
        for (int i = 0; i < 8; i++)
            assert_int_equal(out[i], in[i] ^ 0x5A);
    }
    return status;
}

#endif /* DIMT_TESTDEV_H */
