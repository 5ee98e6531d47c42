/*
 * bench_pnp — the PnP layer's costs, each beside a baseline measured in the same run:
 *   - interface enable -> arrival callback on the PnP worker (one way)  vs  a raw futex wake
 *     between two threads (one way)
 *   - custom event fan-out to 1,000 registrants (ns per delivery)       vs  a loop of calls
 *     through function pointers
 *   - registering and enabling N interfaces (ns per interface) at N = 1,000 and N = 10,000:
 *     the ratio of the two shows whether the cost per interface stays flat
 */
#include "bench_common.h"

#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

DEFINE_GUID(BENCH_GUID, 0x7a1b2c3d, 0x1111, 0x4222, 0x83, 0x33, 0x44, 0x44, 0x55, 0x55, 0x66, 0x66);
DEFINE_GUID(BENCH_EVENT, 0x7a1b2c3e, 0x1111, 0x4222, 0x83, 0x33, 0x44, 0x44, 0x55, 0x55, 0x66, 0x66);

/* ---- A minimal WDM function driver ---- */
static PDEVICE_OBJECT last_pdo;

static NTSTATUS bd_add(PDRIVER_OBJECT d, PDEVICE_OBJECT pdo)
{
    PDEVICE_OBJECT fdo;
    NTSTATUS st = IoCreateDevice(d, sizeof(PDEVICE_OBJECT), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &fdo);
    if (!NT_SUCCESS(st))
        return st;
    *(PDEVICE_OBJECT *)fdo->DeviceExtension = IoAttachDeviceToDeviceStack(fdo, pdo);
    fdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    last_pdo = pdo;
    return STATUS_SUCCESS;
}

static NTSTATUS bd_pnp(PDEVICE_OBJECT fdo, PIRP irp)
{
    PDEVICE_OBJECT lower = *(PDEVICE_OBJECT *)fdo->DeviceExtension;
    UCHAR minor = IoGetCurrentIrpStackLocation(irp)->MinorFunction;
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoSkipCurrentIrpStackLocation(irp);
    NTSTATUS st = IoCallDriver(lower, irp);
    if (minor == IRP_MN_REMOVE_DEVICE) {
        IoDetachDevice(lower);
        IoDeleteDevice(fdo);
    }
    return st;
}

static NTSTATUS bd_create(PDEVICE_OBJECT d, PIRP irp)
{
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static NTSTATUS bd_entry(PDRIVER_OBJECT d, PUNICODE_STRING p)
{
    d->DriverExtension->AddDevice = bd_add;
    d->MajorFunction[IRP_MJ_PNP] = bd_pnp;
    d->MajorFunction[IRP_MJ_CREATE] = bd_create;
    d->MajorFunction[IRP_MJ_CLEANUP] = bd_create;
    d->MajorFunction[IRP_MJ_CLOSE] = bd_create;
    return STATUS_SUCCESS;
}

static KEVENT created;
static VOID on_created(HSWDEVICE h, HRESULT r, PVOID c, PCWSTR id) { KeSetEvent(&created, IO_NO_INCREMENT, FALSE); }

static HSWDEVICE make_device(PCWSTR name)
{
    SW_DEVICE_CREATE_INFO info = { .cbSize = sizeof(info), .pszInstanceId = name, .pszzHardwareIds = u"BENCH\\DEV\0" };
    HSWDEVICE h;
    KeInitializeEvent(&created, NotificationEvent, FALSE);
    SwDeviceCreate(u"BENCH", u"HTREE\\ROOT\\0", &info, 0, NULL, on_created, NULL, &h);
    KeWaitForSingleObject(&created, Executive, KernelMode, FALSE, NULL);
    return h;
}

static NTSTATUS nothing_entry(PDRIVER_OBJECT d, PUNICODE_STRING p) { return STATUS_SUCCESS; }

/* ---- 1. enable -> arrival ---- */
static KEVENT arrived;
static NTSTATUS on_change(PVOID n, PVOID c)
{
    KeSetEvent(&arrived, IO_NO_INCREMENT, FALSE);
    return STATUS_SUCCESS;
}

static UNICODE_STRING bench_link;
static void enable_round_trips(void *ctx, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        IoSetDeviceInterfaceState(&bench_link, TRUE);
        KeWaitForSingleObject(&arrived, Executive, KernelMode, FALSE, NULL);
        IoSetDeviceInterfaceState(&bench_link, FALSE);
        KeWaitForSingleObject(&arrived, Executive, KernelMode, FALSE, NULL);
    }
}

static int32_t fx_word;
static uint64_t fx_rounds;
static void *fx_ponger(void *arg)
{
    for (uint64_t i = 0; i < fx_rounds; i++) {
        while (__atomic_load_n(&fx_word, __ATOMIC_ACQUIRE) != 1)
            syscall(SYS_futex, &fx_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
        __atomic_store_n(&fx_word, 2, __ATOMIC_RELEASE);
        syscall(SYS_futex, &fx_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
    return NULL;
}
static void futex_round_trips(void *ctx, uint64_t n)
{
    pthread_t t;
    fx_rounds = n;
    fx_word = 0;
    pthread_create(&t, NULL, fx_ponger, NULL);
    for (uint64_t i = 0; i < n; i++) {
        __atomic_store_n(&fx_word, 1, __ATOMIC_RELEASE);
        syscall(SYS_futex, &fx_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
        while (__atomic_load_n(&fx_word, __ATOMIC_ACQUIRE) != 2)
            syscall(SYS_futex, &fx_word, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0);
        __atomic_store_n(&fx_word, 0, __ATOMIC_RELEASE);
    }
    pthread_join(t, NULL);
}

/* ---- 2. fan-out ---- */
#define FANOUT 1000
static volatile LONG delivered;
static NTSTATUS on_custom(PVOID n, PVOID c)
{
    delivered++;
    return STATUS_SUCCESS;
}

static UCHAR event_buffer[64];
static void fanout(void *ctx, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        IoReportTargetDeviceChange(last_pdo, event_buffer);
}

static NTSTATUS (*volatile plain_targets[FANOUT])(PVOID, PVOID);
static void plain_fanout(void *ctx, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        for (int k = 0; k < FANOUT; k++)
            plain_targets[k](event_buffer, NULL);
}

/* ---- 3. many interfaces ---- */
static double register_and_enable(ULONG count)
{
    UNICODE_STRING *links = calloc(count, sizeof(*links));
    static int serial;
    WCHAR devname[8] = { u'm', (WCHAR)(u'0' + serial++), 0 };
    HSWDEVICE h = make_device(devname);
    uint64_t t0 = bench_now_ns();
    for (ULONG i = 0; i < count; i++) {
        WCHAR ref[16];
        int n = 0;
        for (ULONG v = i; n == 0 || v; v /= 10)
            ref[n++] = (WCHAR)(u'0' + v % 10);
        ref[n] = 0;
        UNICODE_STRING r;
        RtlInitUnicodeString(&r, ref);
        IoRegisterDeviceInterface(last_pdo, &BENCH_GUID, &r, &links[i]);
        IoSetDeviceInterfaceState(&links[i], TRUE);
    }
    PnpkitSimWaitIdle();
    double ns = (double)(bench_now_ns() - t0) / count;
    for (ULONG i = 0; i < count; i++)
        RtlFreeUnicodeString(&links[i]);
    free(links);
    SwDeviceClose(h);
    PnpkitSimWaitIdle();
    return ns;
}

int main(void)
{
    PDRIVER_OBJECT registrant;
    PVOID entry;
    PVOID entries[FANOUT];
    PFILE_OBJECT files[FANOUT];

    printf("bench_pnp: best of 5 rounds; ratios are to the baseline measured in the same run\n");
    PnpkitDriverRegister(u"benchdrv", bd_entry, u"BENCH\\DEV\0");
    PnpkitIoCreateDriver(u"registrant", nothing_entry, &registrant);
    HSWDEVICE h = make_device(u"d");

    /* 1 */
    KeInitializeEvent(&arrived, SynchronizationEvent, FALSE);
    IoRegisterDeviceInterface(last_pdo, &BENCH_GUID, NULL, &bench_link);
    IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange, 0, (PVOID)(uintptr_t)&BENCH_GUID, registrant,
                                   on_change, NULL, &entry);
    double futex = bench_best_ns(futex_round_trips, NULL, 20000, 5) / 2;
    bench_report("interface enable -> arrival callback", bench_best_ns(enable_round_trips, NULL, 5000, 5) / 2,
                 "raw futex wake across threads", futex);
    IoUnregisterPlugPlayNotificationEx(entry);

    /* 2 */
    IoSetDeviceInterfaceState(&bench_link, TRUE);
    PnpkitSimWaitIdle();
    for (int k = 0; k < FANOUT; k++) {
        if (!NT_SUCCESS(PnpkitOpenDeviceInterface(&bench_link, GENERIC_READ, 0, &files[k])) ||
            !NT_SUCCESS(IoRegisterPlugPlayNotification(EventCategoryTargetDeviceChange, 0, files[k], registrant,
                                                       on_custom, NULL, &entries[k]))) {
            fprintf(stderr, "bench_pnp: setting up registrant %d failed\n", k);
            return 1;
        }
        plain_targets[k] = on_custom;
    }
    PTARGET_DEVICE_CUSTOM_NOTIFICATION ev = (PTARGET_DEVICE_CUSTOM_NOTIFICATION)event_buffer;
    ev->Version = 1;
    ev->Size = 40;
    ev->Event = BENCH_EVENT;
    ev->NameBufferOffset = -1;
    bench_report("custom event fan-out, 1000 registrants", bench_best_ns(fanout, NULL, 200, 5) / FANOUT,
                 "function-pointer call loop", bench_best_ns(plain_fanout, NULL, 200, 5) / FANOUT);
    for (int k = 0; k < FANOUT; k++) {
        IoUnregisterPlugPlayNotificationEx(entries[k]);
        PnpkitCloseDeviceInterface(files[k]);
    }
    RtlFreeUnicodeString(&bench_link);
    SwDeviceClose(h);
    PnpkitSimWaitIdle();

    /* 3 */
    double per1k = register_and_enable(1000);
    double per10k = register_and_enable(10000);
    if (getenv("BENCH_PNP_SCALING"))
        for (ULONG n = 1000; n <= 40000; n *= 2)
            printf("  %u interfaces: %.1f ns per interface\n", n, register_and_enable(n));
    bench_report("register+enable, 10,000 interfaces (per if)", per10k, "the same at 1,000 (per if)", per1k);

    PnpkitIoDeleteDriver(registrant);
    PnpkitDriverUnregister(u"benchdrv");
    PnpkitShutdown();
    return 0;
}
