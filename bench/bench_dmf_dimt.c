/*
 * bench_dmf_dimt — DMF_DeviceInterfaceMultipleTarget, each figure beside a baseline measured in
 * the same run:
 *   1. Send round trip: DMF_DeviceInterfaceMultipleTarget_Send to one Target → the target
 *      device's queue → inline completion → the client's callback; beside ioctl(FIONREAD) on a
 *      pipe and DMF_RequestTarget_Send on the same WDFIOTARGET (what the Target layer adds).
 *   2. Streaming: 64 Targets × 4 continuous requests. The target devices keep stream requests
 *      in a manual queue; one pump thread completes them, round robin, and each completion
 *      re-sends its request inline on the pump thread (no thread hop). Completions per second
 *      beside ioctl(FIONREAD) calls per second on the same thread.
 *   3. QueryRemove → RemoveComplete with streaming in flight: CM_Query_And_Remove_SubTree of one
 *      streaming target device, from the call to the module's RemoveComplete callback; beside
 *      the same removal of a device of the same driver that no module has open.
 *   4. Arrival of 1,000 and 10,000 targets: the devices exist; a module registers and opens
 *      every interface (INCLUDE_EXISTING). µs per target at both sizes (flat cost means the
 *      ratio 10,000 : 1,000 stays near 1), beside opening and closing each interface by hand
 *      (PnpkitOpenDeviceInterface + close).
 *   5. Memory per open target: RSS growth while the module opens 10,000 targets, per target,
 *      beside the RSS growth per device when those devices were created.
 * PNPKIT_BENCH_QUICK=1 scales the sizes down (for a quick check); PNPKIT_BENCH_ARRIVAL_ONLY=1 runs
 * only 4 and 5 (for profiling).
 */
#include "bench_common.h"

#include <pnpkit.h>
#include <pnpkit/dmf.h>
#include <pnpkit/wdfdevice.h>
#include <pnpkit/wdfdriver.h>
#include <pnpkit/wdfio.h>
#include <pnpkit/wdfrequest.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

DEFINE_GUID(BENCH_DIMT_CLASS, 0x0e7a51c3, 0x92d4, 0x4b17, 0x8f, 0x60, 0x2a, 0x3b, 0x4c, 0x5d, 0x6e, 0x7f);
#define IOCTL_ECHO CTL_CODE(FILE_DEVICE_UNKNOWN, 0x910, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_STREAM CTL_CODE(FILE_DEVICE_UNKNOWN, 0x911, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define TARGET_HWID u"BENCH\\DIMTTARGET\0"
#define PLAIN_HWID u"BENCH\\DIMTPLAIN\0"
#define HOST_HWID u"BENCH\\DIMTHOST\0"
#define MAX_DEVICES 10300

/* =============================================================================================
 * The target driver: IOCTL_ECHO completes inline; IOCTL_STREAM waits in a manual queue for the
 * pump. PLAIN devices have no interface (the removal baseline).
 * ============================================================================================= */

typedef struct {
    WDFQUEUE waiting;
} TARGET_DEV;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(TARGET_DEV, target_dev)

static WDFQUEUE stream_queues[MAX_DEVICES];
static LONG stream_queue_count;
static WDFDEVICE host_device;

static VOID target_ioctl(WDFQUEUE q, WDFREQUEST r, size_t out_len, size_t in_len, ULONG code)
{
    PVOID in, out;

    if (code == IOCTL_STREAM) {
        if (!NT_SUCCESS(WdfRequestForwardToIoQueue(r, target_dev(WdfIoQueueGetDevice(q))->waiting)))
            WdfRequestComplete(r, STATUS_UNSUCCESSFUL);
        return;
    }
    if (NT_SUCCESS(WdfRequestRetrieveInputBuffer(r, 8, &in, NULL)) &&
        NT_SUCCESS(WdfRequestRetrieveOutputBuffer(r, 8, &out, NULL))) {
        memcpy(out, in, 8);
        WdfRequestCompleteWithInformation(r, STATUS_SUCCESS, 8);
        return;
    }
    WdfRequestCompleteWithInformation(r, STATUS_SUCCESS, 0);
}

static NTSTATUS target_add_common(PWDFDEVICE_INIT init, bool with_interface)
{
    WDF_OBJECT_ATTRIBUTES oa;
    WDF_IO_QUEUE_CONFIG qc;
    WDFDEVICE d;
    WDFQUEUE q;
    NTSTATUS status;

    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&oa, TARGET_DEV);
    status = WdfDeviceCreate(&init, &oa, &d);
    if (!NT_SUCCESS(status))
        return status;
    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&qc, WdfIoQueueDispatchParallel);
    qc.EvtIoDeviceControl = target_ioctl;
    status = WdfIoQueueCreate(d, &qc, NULL, &q);
    if (!NT_SUCCESS(status))
        return status;
    WDF_IO_QUEUE_CONFIG_INIT(&qc, WdfIoQueueDispatchManual);
    status = WdfIoQueueCreate(d, &qc, NULL, &target_dev(d)->waiting);
    if (!NT_SUCCESS(status))
        return status;
    if (!with_interface)
        return STATUS_SUCCESS;
    LONG i = __atomic_fetch_add(&stream_queue_count, 1, __ATOMIC_RELAXED);
    if (i < MAX_DEVICES)
        __atomic_store_n(&stream_queues[i], target_dev(d)->waiting, __ATOMIC_RELEASE);
    return WdfDeviceCreateDeviceInterface(d, &BENCH_DIMT_CLASS, NULL);
}

static NTSTATUS target_add(WDFDRIVER driver, PWDFDEVICE_INIT init) { return target_add_common(init, true); }
static NTSTATUS plain_add(WDFDRIVER driver, PWDFDEVICE_INIT init) { return target_add_common(init, false); }
static NTSTATUS host_add(WDFDRIVER driver, PWDFDEVICE_INIT init) { return WdfDeviceCreate(&init, NULL, &host_device); }

#define ENTRY(name, add)                                                                           \
    static NTSTATUS name(PDRIVER_OBJECT d, PUNICODE_STRING path)                                   \
    {                                                                                              \
        WDF_DRIVER_CONFIG c;                                                                       \
        WDF_DRIVER_CONFIG_INIT(&c, add);                                                           \
        return WdfDriverCreate(d, path, NULL, &c, NULL);                                           \
    }
ENTRY(target_entry, target_add)
ENTRY(plain_entry, plain_add)
ENTRY(host_entry, host_add)

/* The creator waits for the starts with PnpkitSimWaitIdle. */
static VOID device_created(HSWDEVICE h, HRESULT result, PVOID ctx, PCWSTR id) {}

/* Creates `count` devices SWD\BENCH\<prefix><i> with hwid, starting at index `first`. */
static bool create_devices(HSWDEVICE *out, const char *prefix, int first, int count, PCZZWSTR hwid)
{
    for (int i = 0; i < count; i++) {
        SW_DEVICE_CREATE_INFO info;
        WCHAR name[32];
        char a[32];

        snprintf(a, sizeof(a), "%s%d", prefix, first + i);
        for (size_t k = 0; k <= strlen(a); k++)
            name[k] = (WCHAR)a[k];
        memset(&info, 0, sizeof(info));
        info.cbSize = sizeof(info);
        info.pszInstanceId = name;
        info.pszzHardwareIds = hwid;
        if (SwDeviceCreate(u"BENCH", u"HTREE\\ROOT\\0", &info, 0, NULL, device_created, NULL, &out[i]) != S_OK)
            return false;
    }
    PnpkitSimWaitIdle();
    return true;
}

static void close_devices(HSWDEVICE *h, int count)
{
    for (int i = 0; i < count; i++)
        if (h[i])
            SwDeviceClose(h[i]);
    PnpkitSimWaitIdle();
}

static long rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* =============================================================================================
 * The client: a dynamic DIMT module on the host device.
 * ============================================================================================= */

typedef struct {
    DMFMODULE module;
    DMFIOTARGET targets[MAX_DEVICES];
    LONG opened, closed, remove_complete;
    uint64_t remove_complete_ns;
    KEVENT all_open;
    LONG want_open;
    char inbuf[8], outbuf[8];
    uint64_t completions, failures;
    volatile uint64_t stream_completions;
} client;

static client C;

static NTSTATUS client_state(DMFMODULE m, DMFIOTARGET t, DeviceInterfaceMultipleTarget_StateType state)
{
    switch (state) {
    case DeviceInterfaceMultipleTarget_StateType_Open: {
        LONG i = __atomic_fetch_add(&C.opened, 1, __ATOMIC_ACQ_REL);
        if (i < MAX_DEVICES)
            C.targets[i] = t;
        if (i + 1 == C.want_open)
            KeSetEvent(&C.all_open, IO_NO_INCREMENT, FALSE);
        break;
    }
    case DeviceInterfaceMultipleTarget_StateType_RemoveComplete:
        C.remove_complete_ns = bench_now_ns();
        __atomic_add_fetch(&C.remove_complete, 1, __ATOMIC_ACQ_REL);
        break;
    case DeviceInterfaceMultipleTarget_StateType_Close:
        __atomic_add_fetch(&C.closed, 1, __ATOMIC_ACQ_REL);
        break;
    default:
        break;
    }
    return STATUS_SUCCESS;
}

static ContinuousRequestTarget_BufferDisposition client_output(DMFMODULE m, VOID *out, size_t size, VOID *ctx,
                                                               NTSTATUS status)
{
    if (!NT_SUCCESS(status))
        return ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndStopStreaming;
    C.stream_completions++;
    return ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndContinueStreaming;
}

static NTSTATUS client_create(ULONG stream_count, LONG want_open)
{
    DMF_CONFIG_DeviceInterfaceMultipleTarget config;
    DMF_MODULE_ATTRIBUTES a;

    C.opened = C.closed = C.remove_complete = 0;
    C.want_open = want_open;
    KeInitializeEvent(&C.all_open, NotificationEvent, FALSE);
    DMF_CONFIG_DeviceInterfaceMultipleTarget_AND_ATTRIBUTES_INIT(&config, &a);
    config.ModuleOpenOption = DeviceInterfaceMultipleTarget_PnpRegisterWhen_Create;
    config.DeviceInterfaceMultipleTargetGuid = BENCH_DIMT_CLASS;
    config.EvtDeviceInterfaceMultipleTargetOnStateChangeEx = client_state;
    if (stream_count) {
        DMF_CONFIG_ContinuousRequestTarget *s = &config.ContinuousRequestTargetModuleConfig;
        s->ContinuousRequestCount = stream_count;
        s->BufferCountOutput = stream_count;
        s->BufferOutputSize = 8;
        s->RequestType = ContinuousRequestTarget_RequestType_Ioctl;
        s->ContinuousRequestTargetIoctl = IOCTL_STREAM;
        s->ContinuousRequestTargetMode = ContinuousRequestTarget_Mode_Automatic;
        s->EvtContinuousRequestTargetBufferOutput = client_output;
    }
    NTSTATUS status = DMF_DeviceInterfaceMultipleTarget_Create(host_device, &a, WDF_NO_OBJECT_ATTRIBUTES, &C.module);
    if (NT_SUCCESS(status) && want_open) {
        LARGE_INTEGER timeout = { .QuadPart = -600LL * 10000000LL };
        if (KeWaitForSingleObject(&C.all_open, Executive, KernelMode, FALSE, &timeout) != STATUS_SUCCESS)
            status = STATUS_IO_TIMEOUT;
    }
    return status;
}

/* ---- 1. Send round trip ---- */

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

static VOID send_done(DMFMODULE m, VOID *ctx, VOID *in, size_t in_written, VOID *out, size_t out_read, NTSTATUS status)
{
    client *c = ctx;
    c->completions++;
    if (!NT_SUCCESS(status) || out_read != 8 || m != c->module)
        c->failures++;
}

static void dimt_sends(void *ctx, uint64_t n)
{
    client *c = ctx;
    for (uint64_t i = 0; i < n; i++)
        if (!NT_SUCCESS(DMF_DeviceInterfaceMultipleTarget_Send(c->module, c->targets[0], c->inbuf, 8, c->outbuf, 8,
                                                               ContinuousRequestTarget_RequestType_Ioctl, IOCTL_ECHO,
                                                               0, send_done, c)))
            c->failures++;
}

typedef struct {
    DMFMODULE rt;
    char inbuf[8], outbuf[8];
    uint64_t failures;
} rt_bench;

static VOID rt_done(DMFMODULE m, VOID *ctx, VOID *in, size_t in_written, VOID *out, size_t out_read, NTSTATUS status)
{
    if (!NT_SUCCESS(status) || out_read != 8)
        ((rt_bench *)ctx)->failures++;
}

static void rt_sends(void *ctx, uint64_t n)
{
    rt_bench *b = ctx;
    for (uint64_t i = 0; i < n; i++)
        if (!NT_SUCCESS(DMF_RequestTarget_Send(b->rt, b->inbuf, 8, b->outbuf, 8, ContinuousRequestTarget_RequestType_Ioctl,
                                               IOCTL_ECHO, 0, rt_done, b)))
            b->failures++;
}

/* ---- 2. Streaming: the pump ---- */

static volatile int pump_run;

/* Completes every waiting stream request of every device, round robin, until told to stop. */
static void *pump(void *arg)
{
    LONG count = *(LONG *)arg;
    while (__atomic_load_n(&pump_run, __ATOMIC_ACQUIRE)) {
        for (LONG i = 0; i < count; i++) {
            WDFREQUEST r;
            PVOID out;
            WDFQUEUE q = __atomic_load_n(&stream_queues[i], __ATOMIC_ACQUIRE);
            if (!q || !NT_SUCCESS(WdfIoQueueRetrieveNextRequest(q, &r)))
                continue;
            if (NT_SUCCESS(WdfRequestRetrieveOutputBuffer(r, 8, &out, NULL))) {
                memcpy(out, "reading", 8);
                WdfRequestCompleteWithInformation(r, STATUS_SUCCESS, 8);
            } else {
                WdfRequestComplete(r, STATUS_BUFFER_TOO_SMALL);
            }
        }
    }
    return NULL;
}

static double measure_stream_rate(LONG devices, double seconds)
{
    pthread_t thread;
    uint64_t t0, t1, c0, c1;

    pump_run = 1;
    pthread_create(&thread, NULL, pump, &devices);
    usleep(50000); /* let the pump reach a steady state before the window */
    c0 = C.stream_completions;
    t0 = bench_now_ns();
    usleep((useconds_t)(seconds * 1e6));
    c1 = C.stream_completions;
    t1 = bench_now_ns();
    return (double)(c1 - c0) * 1e9 / (double)(t1 - t0);
}

static void pump_stop(void)
{
    __atomic_store_n(&pump_run, 0, __ATOMIC_RELEASE);
}

static double ioctl_rate(int fd, double seconds)
{
    uint64_t t0 = bench_now_ns(), n = 0, t1;
    do {
        pipe_ioctls(&fd, 10000);
        n += 10000;
        t1 = bench_now_ns();
    } while ((double)(t1 - t0) < seconds * 1e9);
    return (double)n * 1e9 / (double)(t1 - t0);
}

/* ---- 4. Opening every existing interface by hand (the arrival baseline) ---- */

static double open_by_hand_us(void)
{
    PZZWSTR list = NULL;
    int n = 0;
    uint64_t t0;

    if (!NT_SUCCESS(IoGetDeviceInterfaces(&BENCH_DIMT_CLASS, NULL, 0, &list)))
        return 0;
    t0 = bench_now_ns();
    for (PWSTR p = list; *p; p += PnpkitWcsLen(p) + 1) {
        UNICODE_STRING link;
        PFILE_OBJECT file;
        RtlInitUnicodeString(&link, p);
        if (NT_SUCCESS(PnpkitOpenDeviceInterface(&link, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                                                 &file))) {
            PnpkitCloseDeviceInterface(file);
            n++;
        }
    }
    double us = (double)(bench_now_ns() - t0) / 1000.0 / (n ? n : 1);
    ExFreePool(list);
    return us;
}

int main(void)
{
    static HSWDEVICE devices[MAX_DEVICES];
    HSWDEVICE host, plain[2];
    bool quick = getenv("PNPKIT_BENCH_QUICK") != NULL;
    int big = quick ? 2000 : 10000, small = quick ? 200 : 1000;
    int fds[2];
    double pipe_ns, ns, rt_ns, rate, base_rate;
    rt_bench rtb;
    DMF_MODULE_ATTRIBUTES a;
    WDFIOTARGET io;
    int failures = 0;

    if (PnpkitDriverRegister(u"benchdimttarget", target_entry, TARGET_HWID) != STATUS_SUCCESS ||
        PnpkitDriverRegister(u"benchdimtplain", plain_entry, PLAIN_HWID) != STATUS_SUCCESS ||
        PnpkitDriverRegister(u"benchdimthost", host_entry, HOST_HWID) != STATUS_SUCCESS || pipe(fds) != 0 ||
        !create_devices(&host, "host", 0, 1, HOST_HWID) || !host_device) {
        fprintf(stderr, "bench_dmf_dimt: setup failed\n");
        return 1;
    }

    if (getenv("PNPKIT_BENCH_ARRIVAL_ONLY"))
        goto arrival;

    /* ---- 1. Send round trip on one Target ---- */
    if (!create_devices(devices, "t", 0, 1, TARGET_HWID) || !NT_SUCCESS(client_create(0, 1))) {
        fprintf(stderr, "bench_dmf_dimt: one-target setup failed\n");
        return 1;
    }
    memcpy(C.inbuf, "bench!!", 8);
    memset(&rtb, 0, sizeof(rtb));
    memcpy(rtb.inbuf, "bench!!", 8);
    DMF_RequestTarget_ATTRIBUTES_INIT(&a);
    if (!NT_SUCCESS(DMF_DeviceInterfaceMultipleTarget_Get(C.module, C.targets[0], &io)) ||
        !NT_SUCCESS(DMF_RequestTarget_Create(host_device, &a, WDF_NO_OBJECT_ATTRIBUTES, &rtb.rt)) ||
        !NT_SUCCESS(DMF_RequestTarget_IoTargetSet(rtb.rt, io))) {
        fprintf(stderr, "bench_dmf_dimt: RequestTarget setup failed\n");
        return 1;
    }
    dimt_sends(&C, 1000);
    rt_sends(&rtb, 1000);
    pipe_ns = bench_best_ns(pipe_ioctls, &fds[0], 200000, 5);
    rt_ns = bench_best_ns(rt_sends, &rtb, 200000, 5);
    ns = bench_best_ns(dimt_sends, &C, 200000, 5);
    bench_report("DMF_DeviceInterfaceMultipleTarget_Send round trip, inline", ns, "ioctl(FIONREAD) on a pipe", pipe_ns);
    bench_report("DMF_DeviceInterfaceMultipleTarget_Send round trip, inline", ns,
                 "DMF_RequestTarget_Send on the same WDFIOTARGET", rt_ns);
    WdfObjectDelete(rtb.rt);
    WdfObjectDelete(C.module);
    failures += (int)(C.failures + rtb.failures) + (C.closed != 1);

    /* ---- 2 and 3. 64 targets streaming; a query-remove in the middle ---- */
    if (!create_devices(devices + 1, "t", 1, 63, TARGET_HWID) || !create_devices(plain, "p", 0, 2, PLAIN_HWID) ||
        !NT_SUCCESS(client_create(4, 64))) {
        fprintf(stderr, "bench_dmf_dimt: 64-target setup failed\n");
        return 1;
    }
    LONG stream_devices = 64;
    rate = measure_stream_rate(stream_devices, quick ? 0.3 : 1.0);
    base_rate = ioctl_rate(fds[0], quick ? 0.3 : 1.0);
    printf("%-66s %12.0f /s; baseline %s: %.0f /s; ratio %.3f\n",
           "DIMT stream completions, 64 targets x 4 requests, 1 pump thread", rate, "ioctl(FIONREAD) calls", base_rate,
           rate / base_rate);
    {
        DEVINST dn;
        uint64_t t0, plain_ns, qr_ns;
        LONG rc_before = C.remove_complete;

        /* The baseline: the same removal of two devices no module has open (the faster one). */
        plain_ns = UINT64_MAX;
        for (int k = 0; k < 2; k++) {
            uint64_t ns_k;
            CM_Locate_DevNodeW(&dn, (DEVINSTID_W)(uintptr_t)(k ? u"SWD\\BENCH\\p1" : u"SWD\\BENCH\\p0"), 0);
            t0 = bench_now_ns();
            if (CM_Query_And_Remove_SubTreeW(dn, NULL, NULL, 0, 0) != CR_SUCCESS)
                failures++;
            ns_k = bench_now_ns() - t0;
            if (ns_k < plain_ns)
                plain_ns = ns_k;
        }
        CM_Locate_DevNodeW(&dn, (DEVINSTID_W)(uintptr_t)u"SWD\\BENCH\\t7", 0);
        t0 = bench_now_ns();
        if (CM_Query_And_Remove_SubTreeW(dn, NULL, NULL, 0, 0) != CR_SUCCESS)
            failures++;
        PnpkitSimWaitIdle();
        if (C.remove_complete != rc_before + 1)
            failures++;
        qr_ns = C.remove_complete_ns - t0;
        printf("%-66s %9.1f us; baseline %s: %.1f us; ratio %.2f\n",
               "QueryRemove -> RemoveComplete of a streaming target", qr_ns / 1000.0,
               "the same removal of a device no module has open", plain_ns / 1000.0, (double)qr_ns / (double)plain_ns);
    }
    pump_stop();
    usleep(1000);
    WdfObjectDelete(C.module);
    close_devices(devices, 64);
    close_devices(plain, 2);
    memset(stream_queues, 0, sizeof(stream_queues));
    stream_queue_count = 0;

    /* ---- 4 and 5. Arrival of 1,000 and 10,000 targets ---- */
arrival:
    {
        double per_small = 0, per_big = 0, by_hand_small = 0, by_hand_big = 0;
        long rss0, rss1, rss2;
        int sizes[2] = { small, big };

        for (int k = 0; k < 2; k++) {
            int n = sizes[k];
            uint64_t t0;
            double per, hand;

            rss0 = rss_kib();
            if (!create_devices(devices, "a", 0, n, TARGET_HWID)) {
                fprintf(stderr, "bench_dmf_dimt: creating %d devices failed\n", n);
                return 1;
            }
            rss1 = rss_kib();
            hand = open_by_hand_us();
            t0 = bench_now_ns();
            if (!NT_SUCCESS(client_create(0, n))) {
                fprintf(stderr, "bench_dmf_dimt: opening %d targets failed\n", n);
                return 1;
            }
            per = (double)(bench_now_ns() - t0) / 1000.0 / n;
            rss2 = rss_kib();
            printf("%-66s %9.2f us; baseline %s: %.2f us; ratio %.2f\n",
                   n == big ? "arrival cost per target, 10,000 (or quick) targets" : "arrival cost per target, 1,000 targets",
                   per, "open+close of each interface by hand", hand, per / hand);
            if (k == 0) {
                per_small = per;
                by_hand_small = hand;
            } else {
                per_big = per;
                by_hand_big = hand;
                printf("%-66s %9.0f B; baseline %s: %.0f B; ratio %.2f\n", "memory per open target (RSS)",
                       (double)(rss2 - rss1) * 1024.0 / n, "memory per device with its interface",
                       (double)(rss1 - rss0) * 1024.0 / n, (double)(rss2 - rss1) / (double)(rss1 - rss0));
            }
            WdfObjectDelete(C.module);
            failures += C.closed != n;
            close_devices(devices, n);
        }
        printf("%-66s %9.2f (per-target cost at %d / at %d; by hand: %.2f)\n", "arrival cost growth", per_big / per_small,
               big, small, by_hand_big / by_hand_small);
    }

    SwDeviceClose(host);
    PnpkitSimWaitIdle();
    close(fds[0]);
    close(fds[1]);
    if (failures) {
        fprintf(stderr, "bench_dmf_dimt: %d failures\n", failures);
        return 1;
    }
    return 0;
}
