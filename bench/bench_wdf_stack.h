/*
 * bench_wdf_stack.h — the WDF stack the WDF and DMF benchmarks send to: a function driver whose
 * default queue completes each IOCTL inline (copying 8 input bytes to the output), a sender
 * upper filter whose device is kept in bench_client_device, and the software device that starts
 * them. Header-only (static functions): each benchmark is its own program.
 */
#ifndef PNPKIT_BENCH_WDF_STACK_H
#define PNPKIT_BENCH_WDF_STACK_H

#include <pnpkit.h>
#include <pnpkit/wdfdevice.h>
#include <pnpkit/wdfdriver.h>
#include <pnpkit/wdfio.h>
#include <pnpkit/wdfrequest.h>

#include <stdio.h>
#include <string.h>

/* The sender's device (the upper filter); NULL until the stack started. */
static WDFDEVICE bench_client_device;

/* The function driver: completes each IOCTL from its queue callback, inline. */
static VOID bench_func_ioctl(WDFQUEUE q, WDFREQUEST r, size_t out_len, size_t in_len, ULONG code)
{
    PVOID in, out;

    if (NT_SUCCESS(WdfRequestRetrieveInputBuffer(r, 8, &in, NULL)) &&
        NT_SUCCESS(WdfRequestRetrieveOutputBuffer(r, 8, &out, NULL))) {
        memcpy(out, in, 8);
        WdfRequestCompleteWithInformation(r, STATUS_SUCCESS, 8);
        return;
    }
    WdfRequestCompleteWithInformation(r, STATUS_SUCCESS, 0);
}

static NTSTATUS bench_func_add(WDFDRIVER driver, PWDFDEVICE_INIT init)
{
    WDF_IO_QUEUE_CONFIG qc;
    WDFDEVICE d;
    WDFQUEUE q;
    NTSTATUS status = WdfDeviceCreate(&init, NULL, &d);

    if (!NT_SUCCESS(status))
        return status;
    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&qc, WdfIoQueueDispatchParallel);
    qc.EvtIoDeviceControl = bench_func_ioctl;
    return WdfIoQueueCreate(d, &qc, NULL, &q);
}

/* The sender: an upper filter with no queue of its own. */
static NTSTATUS bench_client_add(WDFDRIVER driver, PWDFDEVICE_INIT init)
{
    WdfFdoInitSetFilter(init);
    return WdfDeviceCreate(&init, NULL, &bench_client_device);
}

/* A DriverEntry that creates a WDF driver with the given EvtDriverDeviceAdd. */
#define BENCH_WDF_ENTRY(name, add) \
    static NTSTATUS name(PDRIVER_OBJECT d, PUNICODE_STRING path) \
    { \
        WDF_DRIVER_CONFIG c; \
        WDF_DRIVER_CONFIG_INIT(&c, add); \
        return WdfDriverCreate(d, path, NULL, &c, NULL); \
    }
BENCH_WDF_ENTRY(bench_func_entry, bench_func_add)
BENCH_WDF_ENTRY(bench_client_entry, bench_client_add)

static VOID bench_device_created(HSWDEVICE h, HRESULT result, PVOID ctx, PCWSTR id)
{
    KeSetEvent(ctx, IO_NO_INCREMENT, FALSE);
}

/* Creates SWD\BENCH\bench with hwid (the drivers must be registered) and waits until the stack
 * started; NULL (with a message naming `who`) when it did not. */
static HSWDEVICE bench_start_device(const char *who, PCZZWSTR hwid)
{
    SW_DEVICE_CREATE_INFO info;
    HSWDEVICE h = NULL;
    KEVENT done;

    memset(&info, 0, sizeof(info));
    info.cbSize = sizeof(info);
    info.pszInstanceId = u"bench";
    info.pszzHardwareIds = hwid;
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    if (SwDeviceCreate(u"BENCH", u"HTREE\\ROOT\\0", &info, 0, NULL, bench_device_created, &done, &h) != S_OK) {
        fprintf(stderr, "%s: SwDeviceCreate failed\n", who);
        return NULL;
    }
    KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
    PnpkitSimWaitIdle();
    if (!bench_client_device) {
        fprintf(stderr, "%s: the stack did not start\n", who);
        SwDeviceClose(h);
        return NULL;
    }
    return h;
}

#endif
