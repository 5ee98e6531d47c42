/*
 * bench_wdf — WDF requests through a filter + function stack, beside ioctl(FIONREAD) on a pipe
 * measured in the same run:
 *   - an IOCTL sent with WdfRequestSend (asynchronous, completed inline), one request reused with
 *     WdfRequestReuse: format, send, the filter forwards it with a completion routine, the
 *     function driver completes it from its queue callback, the filter completes it upward, the
 *     sender's completion routine runs — all on the sending thread, nothing allocated;
 *   - the same sent synchronously (WDF_REQUEST_SEND_OPTION_SYNCHRONOUS);
 *   - requests per second with 2 threads, each with its own request.
 * The sender is a third WDF driver on top of the stack (an upper filter whose local I/O target is
 * the filter below it), as a driver sending to its own stack would be.
 *
 * Then the cost of remote I/O targets, as a DMF module that opens one per interface instance pays
 * it: WdfIoTargetCreate + WdfIoTargetOpen by symbolic link of N targets on one interface device
 * (all kept open), then WdfIoTargetClose + WdfObjectDelete of all, for N = 1,000 and 10,000; time
 * per target and resident memory per open target, beside PnpkitOpenDeviceInterface (the open a
 * target makes underneath) and PnpkitCloseDeviceInterface of N handles on the same link.
 * And an IOCTL sent with WdfRequestSend through one such remote target to the interface
 * device's queue (a WDF function driver, no filter), completed inline (ns per round trip).
 */
#include "bench_common.h"
#include "bench_wdf_stack.h"

#include <pnpkit/wdfdevice.h>
#include <pnpkit/wdfdriver.h>
#include <pnpkit/wdfio.h>
#include <pnpkit/wdfiotarget.h>
#include <pnpkit/wdfrequest.h>

#include <pnpkit/wdfutil.h>

#include <pthread.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define BENCH_IOCTL CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define HWID u"BENCH\\WDF\0"


/* ---- The filter (the function driver and the sender are bench_wdf_stack.h's): forwards with a completion routine and completes upward ---- */

static void filt_done(WDFREQUEST r, WDFIOTARGET t, PWDF_REQUEST_COMPLETION_PARAMS p, WDFCONTEXT c)
{
    WdfRequestCompleteWithInformation(r, p->IoStatus.Status, p->IoStatus.Information);
}

/* The filter's local target, kept as a driver keeps it in its device context. */
static WDFIOTARGET filt_target;

static VOID filt_ioctl(WDFQUEUE q, WDFREQUEST r, size_t out_len, size_t in_len, ULONG code)
{
    WdfRequestFormatRequestUsingCurrentType(r);
    WdfRequestSetCompletionRoutine(r, filt_done, NULL);
    if (!WdfRequestSend(r, filt_target, WDF_NO_SEND_OPTIONS))
        WdfRequestComplete(r, WdfRequestGetStatus(r));
}

static NTSTATUS filt_add(WDFDRIVER driver, PWDFDEVICE_INIT init)
{
    WDF_IO_QUEUE_CONFIG qc;
    WDFDEVICE d;
    WDFQUEUE q;
    NTSTATUS status;

    WdfFdoInitSetFilter(init);
    status = WdfDeviceCreate(&init, NULL, &d);
    if (!NT_SUCCESS(status))
        return status;
    filt_target = WdfDeviceGetIoTarget(d);
    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&qc, WdfIoQueueDispatchParallel);
    qc.EvtIoDeviceControl = filt_ioctl;
    return WdfIoQueueCreate(d, &qc, NULL, &q);
}
BENCH_WDF_ENTRY(filt_entry, filt_add)


typedef struct sender {
    WDFIOTARGET target;
    WDFREQUEST request;
    WDFMEMORY in, out;
    char inbuf[8], outbuf[8];
    volatile uint64_t completions;
    uint64_t iterations;
} sender;

static void sender_done(WDFREQUEST r, WDFIOTARGET t, PWDF_REQUEST_COMPLETION_PARAMS p, WDFCONTEXT c)
{
    ((sender *)c)->completions++;
}

static void sender_init(sender *s)
{
    memset(s, 0, sizeof(*s));
    memcpy(s->inbuf, "bench!!", 8);
    s->target = WdfDeviceGetIoTarget(bench_client_device);
    WdfRequestCreate(NULL, s->target, &s->request);
    WdfMemoryCreatePreallocated(NULL, s->inbuf, 8, &s->in);
    WdfMemoryCreatePreallocated(NULL, s->outbuf, 8, &s->out);
}

static void sender_fini(sender *s)
{
    WdfObjectDelete(s->request);
    WdfObjectDelete(s->in);
    WdfObjectDelete(s->out);
}

static void round_trip(sender *s, PWDF_REQUEST_SEND_OPTIONS options)
{
    WDF_REQUEST_REUSE_PARAMS reuse;

    WDF_REQUEST_REUSE_PARAMS_INIT(&reuse, WDF_REQUEST_REUSE_NO_FLAGS, STATUS_SUCCESS);
    WdfRequestReuse(s->request, &reuse);
    WdfIoTargetFormatRequestForIoctl(s->target, s->request, BENCH_IOCTL, s->in, NULL, s->out, NULL);
    if (!options)
        WdfRequestSetCompletionRoutine(s->request, sender_done, s);
    WdfRequestSend(s->request, s->target, options);
}

static void async_round_trips(void *ctx, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        round_trip(ctx, NULL);
}

static void sync_round_trips(void *ctx, uint64_t n)
{
    WDF_REQUEST_SEND_OPTIONS options;

    WDF_REQUEST_SEND_OPTIONS_INIT(&options, WDF_REQUEST_SEND_OPTION_SYNCHRONOUS);
    for (uint64_t i = 0; i < n; i++)
        round_trip(ctx, &options);
}

static void pipe_ioctls(void *ctx, uint64_t n)
{
    int fd = *(int *)ctx;
    for (uint64_t i = 0; i < n; i++) {
        int avail = 0;
        int r = ioctl(fd, FIONREAD, &avail);
        bench_keep(r);
        bench_keep(avail);
    }
}

/* ---- Two threads ---- */

typedef struct thread_job {
    sender *s;
    int fd;
    bool pipe;
    uint64_t n;
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *j = arg;
    if (j->pipe)
        pipe_ioctls(&j->fd, j->n);
    else
        async_round_trips(j->s, j->n);
    return NULL;
}

/* ns per request of all threads together (wall time / total requests). */
static double two_threads(sender *s, int fd, bool pipe_baseline, uint64_t n)
{
    pthread_t t[2];
    thread_job j[2];
    uint64_t t0 = bench_now_ns();

    for (int i = 0; i < 2; i++) {
        j[i].s = &s[i];
        j[i].fd = fd;
        j[i].pipe = pipe_baseline;
        j[i].n = n;
        pthread_create(&t[i], NULL, thread_main, &j[i]);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    return (double)(bench_now_ns() - t0) / (double)(2 * n);
}

/* ---- Remote I/O targets: create + open, close + delete ---- */

DEFINE_GUID(BENCH_IF_GUID, 0x3c1f9a52, 0x7d2e, 0x4b6a, 0x8e, 0x01, 0x5a, 0x9b, 0x2c, 0x7d, 0x3e, 0x4f);
#define IF_HWID u"BENCH\\WDFIF\0"

static WDFDEVICE if_device;

/* The interface device: a WDF function driver with one interface, no create callback (the
 * framework completes each create itself) and a queue that completes IOCTLs inline. */
static NTSTATUS if_add(WDFDRIVER driver, PWDFDEVICE_INIT init)
{
    WDF_IO_QUEUE_CONFIG qc;
    WDFQUEUE q;
    WDFDEVICE d;
    NTSTATUS status = WdfDeviceCreate(&init, NULL, &d);

    if (!NT_SUCCESS(status))
        return status;
    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&qc, WdfIoQueueDispatchParallel);
    qc.EvtIoDeviceControl = bench_func_ioctl;
    status = WdfIoQueueCreate(d, &qc, NULL, &q);
    if (NT_SUCCESS(status))
        status = WdfDeviceCreateDeviceInterface(d, &BENCH_IF_GUID, NULL);
    if (NT_SUCCESS(status))
        if_device = d;
    return status;
}
BENCH_WDF_ENTRY(if_entry, if_add)

static VOID if_created(HSWDEVICE h, HRESULT result, PVOID ctx, PCWSTR id) { KeSetEvent(ctx, IO_NO_INCREMENT, FALSE); }

static HSWDEVICE start_if_device(void)
{
    SW_DEVICE_CREATE_INFO info;
    HSWDEVICE h = NULL;
    KEVENT done;

    memset(&info, 0, sizeof(info));
    info.cbSize = sizeof(info);
    info.pszInstanceId = u"benchif";
    info.pszzHardwareIds = IF_HWID;
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    if (SwDeviceCreate(u"BENCH", u"HTREE\\ROOT\\0", &info, 0, NULL, if_created, &done, &h) != S_OK)
        return NULL;
    KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
    PnpkitSimWaitIdle();
    if (!if_device) {
        SwDeviceClose(h);
        return NULL;
    }
    return h;
}

/* Resident set size in bytes (/proc/self/statm). */
static double rss_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

typedef struct cost {
    double open_ns, close_ns, bytes; /* per target (or per handle) */
} cost;

/* n handles opened with PnpkitOpenDeviceInterface, all kept, then closed: the baseline. */
static cost handles_cost(PCUNICODE_STRING link, size_t n)
{
    PFILE_OBJECT *files = calloc(n, sizeof(*files));
    cost c = { 0, 0, 0 };
    double rss0;
    uint64_t t0;

    rss0 = rss_bytes();
    t0 = bench_now_ns();
    for (size_t i = 0; i < n; i++)
        if (PnpkitOpenDeviceInterface(link, GENERIC_READ | GENERIC_WRITE, 0, &files[i]) != STATUS_SUCCESS)
            files[i] = NULL;
    c.open_ns = (double)(bench_now_ns() - t0) / (double)n;
    c.bytes = (rss_bytes() - rss0) / (double)n;
    t0 = bench_now_ns();
    for (size_t i = 0; i < n; i++)
        if (files[i])
            PnpkitCloseDeviceInterface(files[i]);
    c.close_ns = (double)(bench_now_ns() - t0) / (double)n;
    free(files);
    return c;
}

/* n remote targets created and opened by name, all kept open, then closed and deleted. */
static cost targets_cost(PCUNICODE_STRING link, size_t n, size_t *failed)
{
    WDFIOTARGET *t = calloc(n, sizeof(*t));
    WDF_IO_TARGET_OPEN_PARAMS p;
    cost c = { 0, 0, 0 };
    double rss0;
    uint64_t t0;

    *failed = 0;
    WDF_IO_TARGET_OPEN_PARAMS_INIT_OPEN_BY_NAME(&p, link, GENERIC_READ | GENERIC_WRITE);
    rss0 = rss_bytes();
    t0 = bench_now_ns();
    for (size_t i = 0; i < n; i++) {
        if (WdfIoTargetCreate(bench_client_device, WDF_NO_OBJECT_ATTRIBUTES, &t[i]) != STATUS_SUCCESS) {
            t[i] = NULL;
            (*failed)++;
        } else if (WdfIoTargetOpen(t[i], &p) != STATUS_SUCCESS) {
            (*failed)++;
        }
    }
    c.open_ns = (double)(bench_now_ns() - t0) / (double)n;
    c.bytes = (rss_bytes() - rss0) / (double)n;
    t0 = bench_now_ns();
    for (size_t i = 0; i < n; i++)
        if (t[i]) {
            WdfIoTargetClose(t[i]);
            WdfObjectDelete(t[i]);
        }
    c.close_ns = (double)(bench_now_ns() - t0) / (double)n;
    free(t);
    return c;
}

/* Round trips through one remote target opened on the link (the sender's request reused). */
static double remote_round_trips_ns(PCUNICODE_STRING link, sender *s_local)
{
    WDF_IO_TARGET_OPEN_PARAMS p;
    sender s;
    double ns = 0;

    s = *s_local; /* the memory objects; a target and a request of its own */
    s.completions = 0;
    if (WdfIoTargetCreate(bench_client_device, WDF_NO_OBJECT_ATTRIBUTES, &s.target) != STATUS_SUCCESS)
        return 0;
    WDF_IO_TARGET_OPEN_PARAMS_INIT_OPEN_BY_NAME(&p, link, GENERIC_READ | GENERIC_WRITE);
    if (WdfIoTargetOpen(s.target, &p) == STATUS_SUCCESS &&
        WdfRequestCreate(NULL, s.target, &s.request) == STATUS_SUCCESS) {
        async_round_trips(&s, 1000);
        ns = bench_best_ns(async_round_trips, &s, 200000, 5);
        if (!s.completions)
            ns = 0;
        WdfObjectDelete(s.request);
    }
    WdfObjectDelete(s.target);
    return ns;
}

static int bench_targets(sender *s_local, double pipe_ns)
{
    static const size_t counts[] = { 1000, 10000 };
    WDFSTRING s = NULL;
    UNICODE_STRING link;
    HSWDEVICE h;
    int rc = 0;

    if (PnpkitDriverRegister(u"benchif", if_entry, IF_HWID) != STATUS_SUCCESS)
        return 1;
    h = start_if_device();
    if (!h || WdfStringCreate(NULL, WDF_NO_OBJECT_ATTRIBUTES, &s) != STATUS_SUCCESS ||
        WdfDeviceRetrieveDeviceInterfaceString(if_device, &BENCH_IF_GUID, NULL, s) != STATUS_SUCCESS) {
        fprintf(stderr, "bench_wdf: interface device setup failed\n");
        rc = 1;
        goto out;
    }
    WdfStringGetUnicodeString(s, &link);
    {
        double remote_ns = remote_round_trips_ns(&link, s_local);
        if (!remote_ns) {
            fprintf(stderr, "bench_wdf: remote target round trips failed\n");
            rc = 1;
        }
        bench_report("WdfRequestSend IOCTL, remote target -> function, inline", remote_ns, "ioctl(FIONREAD) on a pipe",
                     pipe_ns);
    }
    /* Warm up: the first opens grow the handle table and the allocator's arenas. */
    handles_cost(&link, 1000);
    {
        size_t failed;
        targets_cost(&link, 1000, &failed);
    }
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        size_t n = counts[i], failed;
        char name[96];
        cost base = handles_cost(&link, n);
        cost tc = targets_cost(&link, n, &failed);

        if (failed) {
            fprintf(stderr, "bench_wdf: %zu of %zu remote targets failed to open\n", failed, n);
            rc = 1;
        }
        snprintf(name, sizeof(name), "%zu remote targets: WdfIoTargetCreate+Open, per target", n);
        bench_report(name, tc.open_ns, "PnpkitOpenDeviceInterface", base.open_ns);
        snprintf(name, sizeof(name), "%zu remote targets: WdfIoTargetClose+WdfObjectDelete, per target", n);
        bench_report(name, tc.close_ns, "PnpkitCloseDeviceInterface", base.close_ns);
        printf("%zu remote targets: %.0f bytes resident per open target; baseline open handle: %.0f bytes\n", n,
               tc.bytes, base.bytes);
    }
out:
    if (s)
        WdfObjectDelete(s);
    if (h)
        SwDeviceClose(h);
    PnpkitSimWaitIdle();
    PnpkitDriverUnregister(u"benchif");
    return rc;
}

int main(void)
{
    HSWDEVICE h;
    sender s[2];
    int fds[2];
    double pipe_ns, async_ns, sync_ns, two_ns, two_pipe_ns;

    if (PnpkitDriverRegister(u"benchfunc", bench_func_entry, HWID) != STATUS_SUCCESS ||
        PnpkitDriverRegisterFilter(u"benchfilt", filt_entry, HWID, TRUE) != STATUS_SUCCESS ||
        PnpkitDriverRegisterFilter(u"benchclient", bench_client_entry, HWID, TRUE) != STATUS_SUCCESS || pipe(fds) != 0) {
        fprintf(stderr, "bench_wdf: setup failed\n");
        return 1;
    }
    h = bench_start_device("bench_wdf", HWID);
    if (!h)
        return 1;

    sender_init(&s[0]);
    sender_init(&s[1]);
    async_round_trips(&s[0], 1000); /* warm the request pools */
    async_round_trips(&s[1], 1000);
    pipe_ns = bench_best_ns(pipe_ioctls, &fds[0], 200000, 5);
    async_ns = bench_best_ns(async_round_trips, &s[0], 200000, 5);
    bench_report("WdfRequestSend IOCTL, filter+function, inline", async_ns, "ioctl(FIONREAD) on a pipe", pipe_ns);
    sync_ns = bench_best_ns(sync_round_trips, &s[0], 200000, 5);
    bench_report("same, WDF_REQUEST_SEND_OPTION_SYNCHRONOUS", sync_ns, "ioctl(FIONREAD) on a pipe", pipe_ns);
    two_pipe_ns = two_threads(s, fds[0], true, 400000);
    two_ns = two_threads(s, fds[0], false, 400000);
    bench_report("2 threads, ns per request (all threads)", two_ns, "2 threads ioctl(FIONREAD)", two_pipe_ns);
    printf("2 threads: %.0f requests/s through WDF, %.0f ioctl(FIONREAD)/s\n", 1e9 / two_ns, 1e9 / two_pipe_ns);
    if (s[0].completions == 0 || s[1].completions == 0)
        fprintf(stderr, "bench_wdf: no completion seen\n");
    if (bench_targets(&s[0], pipe_ns) != 0)
        fprintf(stderr, "bench_wdf: remote target benchmark failed\n");

    sender_fini(&s[0]);
    sender_fini(&s[1]);
    close(fds[0]);
    close(fds[1]);
    SwDeviceClose(h);
    PnpkitSimWaitIdle();
    PnpkitDriverUnregister(u"benchclient");
    PnpkitDriverUnregister(u"benchfilt");
    PnpkitDriverUnregister(u"benchfunc");
    PnpkitShutdown();
    return PnpkitLiveObjectCount() == 0 ? 0 : 1;
}
