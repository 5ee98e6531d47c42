/*
 * bench_dmf_target — DMF_RequestTarget and DMF_ContinuousRequestTarget over a WDF stack, beside
 * ioctl(FIONREAD) on a pipe and a hand-written WdfRequestSend loop measured in the same run:
 *   - WdfRequestSend of one reused request to the function driver (what a driver writes by
 *     hand without DMF; the cost the module adds is the difference);
 *   - DMF_RequestTarget_Send: the module takes a pooled request, formats it, sends it, the
 *     function driver completes it inline from its queue, the module calls the client back;
 *   - the same with DMF_RequestTarget_SendEx and a cancel id (the id is tracked until completion);
 *   - DMF_RequestTarget_SendSynchronously;
 *   - ContinuousRequestTarget streaming with 4 requests and input/output buffer pools, the target
 *     completing inline: ns per stream completion (input filled, output handed to the client,
 *     request re-sent).
 * The sender is an upper filter whose local I/O target is the function driver below it; the
 * modules are dynamic modules on the filter's device.
 */
#include "bench_common.h"
#include "bench_wdf_stack.h"

#include <pnpkit/dmf.h>
#include <pnpkit/wdfdevice.h>
#include <pnpkit/wdfdriver.h>
#include <pnpkit/wdfio.h>
#include <pnpkit/wdfiotarget.h>
#include <pnpkit/wdfrequest.h>

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define BENCH_IOCTL CTL_CODE(FILE_DEVICE_UNKNOWN, 0x901, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define HWID u"BENCH\\DMFTARGET\0"


/* ---- Baselines ---- */

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

typedef struct by_hand {
    WDFIOTARGET target;
    WDFREQUEST request;
    WDFMEMORY in, out;
    char inbuf[8], outbuf[8];
    uint64_t completions;
} by_hand;

static void by_hand_done(WDFREQUEST r, WDFIOTARGET t, PWDF_REQUEST_COMPLETION_PARAMS p, WDFCONTEXT c)
{
    ((by_hand *)c)->completions++;
}

static void by_hand_round_trips(void *ctx, uint64_t n)
{
    by_hand *h = ctx;
    WDF_REQUEST_REUSE_PARAMS reuse;

    for (uint64_t i = 0; i < n; i++) {
        WDF_REQUEST_REUSE_PARAMS_INIT(&reuse, WDF_REQUEST_REUSE_NO_FLAGS, STATUS_SUCCESS);
        WdfRequestReuse(h->request, &reuse);
        WdfIoTargetFormatRequestForIoctl(h->target, h->request, BENCH_IOCTL, h->in, NULL, h->out, NULL);
        WdfRequestSetCompletionRoutine(h->request, by_hand_done, h);
        WdfRequestSend(h->request, h->target, NULL);
    }
}

/* ---- DMF_RequestTarget ---- */

typedef struct rt_bench {
    DMFMODULE module;
    char inbuf[8], outbuf[8];
    uint64_t completions;
    uint64_t failures;
} rt_bench;

static VOID rt_done(DMFMODULE m, VOID *ctx, VOID *in, size_t in_written, VOID *out, size_t out_read, NTSTATUS status)
{
    rt_bench *b = ctx;
    b->completions++;
    if (!NT_SUCCESS(status) || out_read != 8)
        b->failures++;
}

static void rt_sends(void *ctx, uint64_t n)
{
    rt_bench *b = ctx;
    for (uint64_t i = 0; i < n; i++)
        if (!NT_SUCCESS(DMF_RequestTarget_Send(b->module, b->inbuf, 8, b->outbuf, 8,
                                               ContinuousRequestTarget_RequestType_Ioctl, BENCH_IOCTL, 0,
                                               rt_done, b)))
            b->failures++;
}

static void rt_sends_ex(void *ctx, uint64_t n)
{
    rt_bench *b = ctx;
    RequestTarget_DmfRequestCancel id;

    for (uint64_t i = 0; i < n; i++)
        if (!NT_SUCCESS(DMF_RequestTarget_SendEx(b->module, b->inbuf, 8, b->outbuf, 8,
                                                 ContinuousRequestTarget_RequestType_Ioctl, BENCH_IOCTL, 0,
                                                 rt_done, b, &id)))
            b->failures++;
}

static void rt_sends_sync(void *ctx, uint64_t n)
{
    rt_bench *b = ctx;
    size_t written;

    for (uint64_t i = 0; i < n; i++)
        if (!NT_SUCCESS(DMF_RequestTarget_SendSynchronously(b->module, b->inbuf, 8, b->outbuf, 8,
                                                            ContinuousRequestTarget_RequestType_Ioctl, BENCH_IOCTL,
                                                            0, &written)) ||
            written != 8)
            b->failures++;
}

/* ---- DMF_ContinuousRequestTarget ---- */

typedef struct crt_bench {
    DMFMODULE module;
    uint64_t completions, wanted, failures;
} crt_bench;

static crt_bench stream;

static VOID stream_input(DMFMODULE m, VOID *in, size_t *size, VOID *ctx)
{
    memcpy(in, "stream!", 8);
}

static ContinuousRequestTarget_BufferDisposition stream_output(DMFMODULE m, VOID *out, size_t size, VOID *ctx,
                                                               NTSTATUS status)
{
    if (!NT_SUCCESS(status) || size != 8 || memcmp(out, "stream!", 8) != 0)
        stream.failures++;
    if (++stream.completions >= stream.wanted)
        return ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndStopStreaming;
    return ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndContinueStreaming;
}

/* Each of the 4 requests stops at its first completion past `wanted`: n + up to 3 completions. */
static void stream_run(void *ctx, uint64_t n)
{
    crt_bench *b = ctx;
    b->completions = 0;
    b->wanted = n;
    if (!NT_SUCCESS(DMF_ContinuousRequestTarget_Start(b->module)))
        b->failures++;
    DMF_ContinuousRequestTarget_StopAndWait(b->module);
}

int main(void)
{
    DMF_MODULE_ATTRIBUTES a;
    DMF_CONFIG_ContinuousRequestTarget config;
    HSWDEVICE h;
    by_hand hand;
    rt_bench rt;
    int fds[2];
    double pipe_ns, hand_ns, ns;

    if (PnpkitDriverRegister(u"benchdmffunc", bench_func_entry, HWID) != STATUS_SUCCESS ||
        PnpkitDriverRegisterFilter(u"benchdmfclient", bench_client_entry, HWID, TRUE) != STATUS_SUCCESS || pipe(fds) != 0) {
        fprintf(stderr, "bench_dmf_target: setup failed\n");
        return 1;
    }
    h = bench_start_device("bench_dmf_target", HWID);
    if (!h)
        return 1;

    memset(&hand, 0, sizeof(hand));
    memcpy(hand.inbuf, "bench!!", 8);
    hand.target = WdfDeviceGetIoTarget(bench_client_device);
    if (!NT_SUCCESS(WdfRequestCreate(NULL, hand.target, &hand.request)) ||
        !NT_SUCCESS(WdfMemoryCreatePreallocated(NULL, hand.inbuf, 8, &hand.in)) ||
        !NT_SUCCESS(WdfMemoryCreatePreallocated(NULL, hand.outbuf, 8, &hand.out))) {
        fprintf(stderr, "bench_dmf_target: request setup failed\n");
        return 1;
    }

    memset(&rt, 0, sizeof(rt));
    memcpy(rt.inbuf, "bench!!", 8);
    DMF_RequestTarget_ATTRIBUTES_INIT(&a);
    if (!NT_SUCCESS(DMF_RequestTarget_Create(bench_client_device, &a, WDF_NO_OBJECT_ATTRIBUTES, &rt.module)) ||
        !NT_SUCCESS(DMF_RequestTarget_IoTargetSet(rt.module, hand.target))) {
        fprintf(stderr, "bench_dmf_target: RequestTarget setup failed\n");
        return 1;
    }

    DMF_CONFIG_ContinuousRequestTarget_AND_ATTRIBUTES_INIT(&config, &a);
    config.ContinuousRequestCount = 4;
    config.RequestType = ContinuousRequestTarget_RequestType_Ioctl;
    config.ContinuousRequestTargetIoctl = BENCH_IOCTL;
    config.BufferCountInput = 4;
    config.BufferInputSize = 8;
    config.BufferCountOutput = 4;
    config.BufferOutputSize = 8;
    config.EvtContinuousRequestTargetBufferInput = stream_input;
    config.EvtContinuousRequestTargetBufferOutput = stream_output;
    if (!NT_SUCCESS(DMF_ContinuousRequestTarget_Create(bench_client_device, &a, WDF_NO_OBJECT_ATTRIBUTES, &stream.module)) ||
        !NT_SUCCESS(DMF_ContinuousRequestTarget_IoTargetSet(stream.module, hand.target))) {
        fprintf(stderr, "bench_dmf_target: ContinuousRequestTarget setup failed\n");
        return 1;
    }

    by_hand_round_trips(&hand, 1000); /* warm the pools */
    rt_sends(&rt, 1000);
    pipe_ns = bench_best_ns(pipe_ioctls, &fds[0], 200000, 5);
    hand_ns = bench_best_ns(by_hand_round_trips, &hand, 200000, 5);
    bench_report("WdfRequestSend by hand (reused request), inline", hand_ns, "ioctl(FIONREAD) on a pipe", pipe_ns);
    ns = bench_best_ns(rt_sends, &rt, 200000, 5);
    bench_report("DMF_RequestTarget_Send, inline", ns, "ioctl(FIONREAD) on a pipe", pipe_ns);
    bench_report("DMF_RequestTarget_Send, inline", ns, "WdfRequestSend by hand", hand_ns);
    ns = bench_best_ns(rt_sends_ex, &rt, 200000, 5);
    bench_report("DMF_RequestTarget_SendEx with cancel id, inline", ns, "WdfRequestSend by hand", hand_ns);
    ns = bench_best_ns(rt_sends_sync, &rt, 200000, 5);
    bench_report("DMF_RequestTarget_SendSynchronously", ns, "ioctl(FIONREAD) on a pipe", pipe_ns);
    ns = bench_best_ns(stream_run, &stream, 200000, 5);
    bench_report("ContinuousRequestTarget stream completion (4 requests, inline)", ns, "ioctl(FIONREAD) on a pipe",
                 pipe_ns);

    if (rt.failures || stream.failures || hand.completions == 0) {
        fprintf(stderr, "bench_dmf_target: %llu RequestTarget and %llu stream failures\n",
                (unsigned long long)rt.failures, (unsigned long long)stream.failures);
        return 1;
    }
    WdfObjectDelete(stream.module);
    WdfObjectDelete(rt.module);
    WdfObjectDelete(hand.request);
    WdfObjectDelete(hand.in);
    WdfObjectDelete(hand.out);
    SwDeviceClose(h);
    PnpkitSimWaitIdle();
    close(fds[0]);
    close(fds[1]);
    return 0;
}
