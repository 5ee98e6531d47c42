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
 */
#include "bench_common.h"
#include "bench_wdf_stack.h"

#include <pnpkit/wdfdevice.h>
#include <pnpkit/wdfdriver.h>
#include <pnpkit/wdfio.h>
#include <pnpkit/wdfiotarget.h>
#include <pnpkit/wdfrequest.h>

#include <pthread.h>
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
