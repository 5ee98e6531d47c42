/*
 * wdf_testdrv.h — configurable drivers for the tests of WDF drivers, devices, file objects,
 * queues and requests (included by tests/wdf/test_*.c; every function is static).
 *
 * Four WDF driver roles (wt_cfg[0..3]) and two plain WDM driver roles (wtw_cfg[0..1]) can be
 * registered for the hardware id WT\DEV, as function drivers or upper / lower filters, and
 * stacked in any combination. Each logs what happens to it with pk_log ("<name>:<event>") and
 * counts the create, cleanup, close and IOCTL requests it sees, so that tests can check exact
 * sequences and the balance toward the device below.
 *
 * IOCTLs understood by both kinds:
 *   WT_IOCTL_ECHO  (METHOD_BUFFERED): copies the input to the output, Information = the length.
 *   WT_IOCTL_HOLD  (WDF only): the request is kept (wt_held) until the test completes it.
 *   WT_IOCTL_LATER (WDM only): completed from the WDM driver's worker thread a little later.
 *   WT_IOCTL_NEVER (WDM only): never completed; cancelable (completes with STATUS_CANCELLED).
 */
#ifndef WDF_TESTDRV_H
#define WDF_TESTDRV_H

#include "pk_testdrv.h"

#include <pnpkit/wdfdriver.h>
#include <pnpkit/wdfdevice.h>
#include <pnpkit/wdffileobject.h>
#include <pnpkit/wdfio.h>
#include <pnpkit/wdfiotarget.h>
#include <pnpkit/wdfrequest.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WT_UNUSED __attribute__((unused))

DEFINE_GUID(WT_GUID, 0x7a1b2c3d, 0x4e5f, 0x4a6b, 0x8c, 0x9d, 0x0e, 0x1f, 0x2a, 0x3b, 0x4c, 0x5d);
DEFINE_GUID(WT_GUID2, 0x8b2c3d4e, 0x5f60, 0x4b7c, 0x9d, 0xae, 0x1f, 0x20, 0x3b, 0x4c, 0x5d, 0x6e);
DEFINE_GUID(WT_EVENT_GUID, 0x9c3d4e5f, 0x6071, 0x4c8d, 0xae, 0xbf, 0x20, 0x31, 0x4c, 0x5d, 0x6e, 0x7f);

#define WT_IOCTL_ECHO CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define WT_IOCTL_HOLD CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define WT_IOCTL_LATER CTL_CODE(FILE_DEVICE_UNKNOWN, 0x802, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define WT_IOCTL_NEVER CTL_CODE(FILE_DEVICE_UNKNOWN, 0x803, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define WT_IOCTL_NEITHER CTL_CODE(FILE_DEVICE_UNKNOWN, 0x804, METHOD_NEITHER, FILE_ANY_ACCESS)
#define WT_IOCTL_DIRECT CTL_CODE(FILE_DEVICE_UNKNOWN, 0x805, METHOD_OUT_DIRECT, FILE_ANY_ACCESS)

#define WT_HWID u"WT\\DEV\0"

/* ============================================================================================= */
/* WDF driver roles                                                                              */
/* ============================================================================================= */

enum { WT_CREATE_NONE, WT_CREATE_SUCCEED, WT_CREATE_FAIL, WT_CREATE_FORWARD, WT_CREATE_FORWARD_ASYNC };
enum { WT_IO_NONE, WT_IO_COMPLETE, WT_IO_FORWARD, WT_IO_FORWARD_CR };

typedef struct wt_config {
    const char *name;
    bool filter;
    bool exclusive;
    bool file_config;              /* call WdfDeviceInitSetFileObjectConfig */
    WDF_TRI_STATE autoforward;     /* with file_config */
    ULONG file_class;              /* 0: the INIT default */
    int create_mode;               /* WT_CREATE_*: EvtDeviceFileCreate (and create-queue) behaviour */
    bool no_create_callback;       /* create_mode for the create queue only */
    bool create_queue;             /* a create queue (EvtIoDefault) with the same behaviour */
    bool cleanup_cb, close_cb;
    bool file_attributes;          /* file-object attributes with cleanup/destroy callbacks */
    WDF_SYNCHRONIZATION_SCOPE file_scope; /* with file_attributes; 0: inherit */
    WDF_EXECUTION_LEVEL file_level;       /* with file_attributes; 0: inherit */
    int io_mode;                   /* WT_IO_*: the default queue */
    WDF_IO_QUEUE_DISPATCH_TYPE dispatch; /* 0: sequential */
    WDF_TRI_STATE power_managed;   /* 0 (WdfFalse) unless set: use WdfUseDefault by default */
    bool power_managed_set;
    bool io_stop;                  /* EvtIoStop: acknowledge (requeue FALSE) and log */
    PFN_WDF_IO_QUEUE_IO_DEVICE_CONTROL ioctl; /* replaces wt_ioctl on the default queue */
    ULONG parallel_limit;          /* NumberOfPresentedRequests of a parallel default queue */
    WDF_SYNCHRONIZATION_SCOPE device_scope; /* of the device's attributes; 0: inherit */
    WDF_SYNCHRONIZATION_SCOPE queue_scope;  /* of the default queue's attributes; 0: inherit */
    WDF_EXECUTION_LEVEL device_level;       /* of the device's attributes; 0: inherit */
    const GUID *iface;
    PCWSTR iface_ref;
    bool veto_query_remove;
    NTSTATUS prepare_status;
    NTSTATUS d0entry_status;
    NTSTATUS create_fail_status;   /* WT_CREATE_FAIL; default STATUS_UNSUCCESSFUL */
    void (*device_created)(WDFDEVICE device); /* more setup inside EvtDriverDeviceAdd */
    void (*on_event)(WDFDEVICE device, const char *event); /* called by every PnP callback */
} wt_config;

typedef struct wt_state {
    WDFDEVICE device;
    volatile LONG creates, cleanups, closes, ioctls;
    pthread_mutex_t lock;
    WDFREQUEST held[256];
    int nheld;
    WDFFILEOBJECT last_file;       /* given to the last create callback */
    char last_file_name[128];      /* WdfFileObjectGetFileName of it, UTF-8; "(null)" for NULL */
} wt_state;

typedef struct wt_dev_ctx {
    int role;
} wt_dev_ctx;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(wt_dev_ctx, wt_ctx)

static wt_config wt_cfg[4];
static wt_state wt_st[4] = { { .lock = PTHREAD_MUTEX_INITIALIZER }, { .lock = PTHREAD_MUTEX_INITIALIZER },
                             { .lock = PTHREAD_MUTEX_INITIALIZER }, { .lock = PTHREAD_MUTEX_INITIALIZER } };

static WT_UNUSED int wt_role(WDFDEVICE d) { return wt_ctx(d)->role; }
#define WT_NAME(d) (wt_notify(d, __func__), wt_cfg[wt_role(d)].name)

static WT_UNUSED void wt_notify(WDFDEVICE d, const char *fn)
{
    if (wt_cfg[wt_role(d)].on_event)
        wt_cfg[wt_role(d)].on_event(d, fn);
}

/* ---- PnP callbacks ---- */

static NTSTATUS wt_prepare(WDFDEVICE d, WDFCMRESLIST raw, WDFCMRESLIST tr)
{
    pk_log("%s:prepare", WT_NAME(d));
    return wt_cfg[wt_role(d)].prepare_status;
}
static NTSTATUS wt_release(WDFDEVICE d, WDFCMRESLIST tr)
{
    pk_log("%s:release", WT_NAME(d));
    return STATUS_SUCCESS;
}
static NTSTATUS wt_d0entry(WDFDEVICE d, WDF_POWER_DEVICE_STATE prev)
{
    pk_log("%s:d0entry:%d", WT_NAME(d), (int)prev);
    return wt_cfg[wt_role(d)].d0entry_status;
}
static NTSTATUS wt_d0exit(WDFDEVICE d, WDF_POWER_DEVICE_STATE target)
{
    pk_log("%s:d0exit:%d", WT_NAME(d), (int)target);
    return STATUS_SUCCESS;
}
static NTSTATUS wt_smio_init(WDFDEVICE d)
{
    pk_log("%s:smio-init", WT_NAME(d));
    return STATUS_SUCCESS;
}
static NTSTATUS wt_smio_suspend(WDFDEVICE d)
{
    pk_log("%s:smio-suspend", WT_NAME(d));
    return STATUS_SUCCESS;
}
static NTSTATUS wt_smio_restart(WDFDEVICE d)
{
    pk_log("%s:smio-restart", WT_NAME(d));
    return STATUS_SUCCESS;
}
static VOID wt_smio_flush(WDFDEVICE d) { pk_log("%s:smio-flush", WT_NAME(d)); }
static VOID wt_smio_cleanup(WDFDEVICE d) { pk_log("%s:smio-cleanup", WT_NAME(d)); }
static VOID wt_surprise(WDFDEVICE d) { pk_log("%s:surprise", WT_NAME(d)); }
static NTSTATUS wt_query_remove(WDFDEVICE d)
{
    pk_log("%s:query-remove", WT_NAME(d));
    return wt_cfg[wt_role(d)].veto_query_remove ? STATUS_UNSUCCESSFUL : STATUS_SUCCESS;
}
static NTSTATUS wt_query_stop(WDFDEVICE d)
{
    pk_log("%s:query-stop", WT_NAME(d));
    return STATUS_SUCCESS;
}
static VOID wt_device_cleanup(WDFOBJECT o) { pk_log("%s:device-cleanup", WT_NAME((WDFDEVICE)o)); }

/* ---- File callbacks (role-specific trampolines below) ---- */

static void wt_create_done(WDFREQUEST request, WDFIOTARGET target, PWDF_REQUEST_COMPLETION_PARAMS params,
                           WDFCONTEXT context)
{
    WdfRequestComplete(request, params->IoStatus.Status);
}

static void wt_handle_create(int role, WDFDEVICE device, WDFREQUEST request, WDFFILEOBJECT file, bool from_queue)
{
    wt_config *c = &wt_cfg[role];
    WDF_REQUEST_SEND_OPTIONS options;

    __atomic_add_fetch(&wt_st[role].creates, 1, __ATOMIC_SEQ_CST);
    wt_st[role].last_file = file;
    {
        PUNICODE_STRING name = file ? WdfFileObjectGetFileName(file) : NULL;
        char *u8 = name ? PnpkitUnicodeStringToUtf8(name) : NULL;
        snprintf(wt_st[role].last_file_name, sizeof(wt_st[role].last_file_name), "%s", name ? (u8 ? u8 : "") : "(null)");
        free(u8);
    }
    pk_log("%s:create%s:%s", c->name, from_queue ? "-queue" : "", file ? "file" : "nofile");
    switch (c->create_mode) {
    case WT_CREATE_FAIL:
        WdfRequestComplete(request, c->create_fail_status ? c->create_fail_status : STATUS_UNSUCCESSFUL);
        break;
    case WT_CREATE_FORWARD:
        WdfRequestFormatRequestUsingCurrentType(request);
        WDF_REQUEST_SEND_OPTIONS_INIT(&options, WDF_REQUEST_SEND_OPTION_SYNCHRONOUS);
        WdfRequestSend(request, WdfDeviceGetIoTarget(device), &options);
        WdfRequestComplete(request, WdfRequestGetStatus(request));
        break;
    case WT_CREATE_FORWARD_ASYNC:
        WdfRequestFormatRequestUsingCurrentType(request);
        WdfRequestSetCompletionRoutine(request, wt_create_done, NULL);
        if (!WdfRequestSend(request, WdfDeviceGetIoTarget(device), WDF_NO_SEND_OPTIONS))
            WdfRequestComplete(request, WdfRequestGetStatus(request));
        break;
    default:
        WdfRequestComplete(request, STATUS_SUCCESS);
        break;
    }
}

#define WT_ROLE_FUNCTIONS(n) \
    static VOID wt_file_create##n(WDFDEVICE d, WDFREQUEST r, WDFFILEOBJECT f) { wt_handle_create(n, d, r, f, false); } \
    static VOID wt_file_cleanup##n(WDFFILEOBJECT f) \
    { \
        __atomic_add_fetch(&wt_st[n].cleanups, 1, __ATOMIC_SEQ_CST); \
        pk_log("%s:cleanup:%s", wt_cfg[n].name, f ? "file" : "nofile"); \
    } \
    static VOID wt_file_close##n(WDFFILEOBJECT f) \
    { \
        __atomic_add_fetch(&wt_st[n].closes, 1, __ATOMIC_SEQ_CST); \
        pk_log("%s:close:%s", wt_cfg[n].name, f ? "file" : "nofile"); \
    } \
    static VOID wt_file_obj_cleanup##n(WDFOBJECT f) { pk_log("%s:fileobject-cleanup", wt_cfg[n].name); } \
    static VOID wt_file_obj_destroy##n(WDFOBJECT f) { pk_log("%s:fileobject-destroy", wt_cfg[n].name); } \
    static NTSTATUS wt_add##n(WDFDRIVER driver, PWDFDEVICE_INIT init); \
    static NTSTATUS wt_entry##n(PDRIVER_OBJECT d, PUNICODE_STRING path) \
    { \
        WDF_DRIVER_CONFIG config; \
        WDF_DRIVER_CONFIG_INIT(&config, wt_add##n); \
        return WdfDriverCreate(d, path, WDF_NO_OBJECT_ATTRIBUTES, &config, WDF_NO_HANDLE); \
    }

WT_ROLE_FUNCTIONS(0)
WT_ROLE_FUNCTIONS(1)
WT_ROLE_FUNCTIONS(2)
WT_ROLE_FUNCTIONS(3)

static const PFN_WDF_DEVICE_FILE_CREATE wt_file_create_fn[4] = { wt_file_create0, wt_file_create1, wt_file_create2,
                                                                 wt_file_create3 };
static const PFN_WDF_FILE_CLEANUP wt_file_cleanup_fn[4] = { wt_file_cleanup0, wt_file_cleanup1, wt_file_cleanup2,
                                                            wt_file_cleanup3 };
static const PFN_WDF_FILE_CLOSE wt_file_close_fn[4] = { wt_file_close0, wt_file_close1, wt_file_close2,
                                                        wt_file_close3 };
static const PFN_WDF_OBJECT_CONTEXT_CLEANUP wt_file_obj_cleanup_fn[4] = { wt_file_obj_cleanup0, wt_file_obj_cleanup1,
                                                                          wt_file_obj_cleanup2, wt_file_obj_cleanup3 };
static const PFN_WDF_OBJECT_CONTEXT_DESTROY wt_file_obj_destroy_fn[4] = { wt_file_obj_destroy0, wt_file_obj_destroy1,
                                                                          wt_file_obj_destroy2, wt_file_obj_destroy3 };
static const PDRIVER_INITIALIZE wt_entry_fn[4] = { wt_entry0, wt_entry1, wt_entry2, wt_entry3 };

/* ---- Queues ---- */

static VOID wt_create_queue_default(WDFQUEUE q, WDFREQUEST r)
{
    WDFDEVICE d = WdfIoQueueGetDevice(q);
    wt_handle_create(wt_role(d), d, r, WdfRequestGetFileObject(r), true);
}

static void wt_forward_done(WDFREQUEST request, WDFIOTARGET target, PWDF_REQUEST_COMPLETION_PARAMS params,
                            WDFCONTEXT context)
{
    WdfRequestCompleteWithInformation(request, params->IoStatus.Status, params->IoStatus.Information);
}

static void wt_forward(WDFDEVICE d, WDFREQUEST r, int mode)
{
    WDF_REQUEST_SEND_OPTIONS options;

    if (mode == WT_IO_FORWARD) {
        WDF_REQUEST_SEND_OPTIONS_INIT(&options, WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET);
        if (!WdfRequestSend(r, WdfDeviceGetIoTarget(d), &options))
            WdfRequestComplete(r, WdfRequestGetStatus(r));
        return;
    }
    WdfRequestFormatRequestUsingCurrentType(r);
    WdfRequestSetCompletionRoutine(r, wt_forward_done, NULL);
    if (!WdfRequestSend(r, WdfDeviceGetIoTarget(d), WDF_NO_SEND_OPTIONS))
        WdfRequestComplete(r, WdfRequestGetStatus(r));
}

/* Nesting of wt_ioctl calls on one thread (inline completions must not nest presentations). */
static __thread int wt_depth;
static volatile int wt_max_depth;

static VOID wt_ioctl_body(WDFQUEUE q, WDFREQUEST r, size_t out_len, size_t in_len, ULONG code);

static VOID wt_ioctl(WDFQUEUE q, WDFREQUEST r, size_t out_len, size_t in_len, ULONG code)
{
    if (++wt_depth > wt_max_depth)
        wt_max_depth = wt_depth;
    wt_ioctl_body(q, r, out_len, in_len, code);
    wt_depth--;
}

static VOID wt_ioctl_body(WDFQUEUE q, WDFREQUEST r, size_t out_len, size_t in_len, ULONG code)
{
    WDFDEVICE d = WdfIoQueueGetDevice(q);
    int role = wt_role(d);
    PVOID in, out;
    size_t n;

    __atomic_add_fetch(&wt_st[role].ioctls, 1, __ATOMIC_SEQ_CST);
    if (wt_cfg[role].io_mode == WT_IO_FORWARD || wt_cfg[role].io_mode == WT_IO_FORWARD_CR) {
        wt_forward(d, r, wt_cfg[role].io_mode);
        return;
    }
    if (code == WT_IOCTL_HOLD) {
        pthread_mutex_lock(&wt_st[role].lock);
        wt_st[role].held[wt_st[role].nheld++] = r;
        pthread_mutex_unlock(&wt_st[role].lock);
        pk_log("%s:hold", wt_cfg[role].name);
        return;
    }
    if (code == WT_IOCTL_ECHO && in_len && out_len &&
        NT_SUCCESS(WdfRequestRetrieveInputBuffer(r, 1, &in, NULL)) &&
        NT_SUCCESS(WdfRequestRetrieveOutputBuffer(r, 1, &out, NULL))) {
        n = in_len < out_len ? in_len : out_len;
        memmove(out, in, n);
        WdfRequestCompleteWithInformation(r, STATUS_SUCCESS, n);
        return;
    }
    WdfRequestComplete(r, STATUS_SUCCESS);
}

static VOID wt_read(WDFQUEUE q, WDFREQUEST r, size_t length)
{
    WDFDEVICE d = WdfIoQueueGetDevice(q);
    if (wt_cfg[wt_role(d)].io_mode == WT_IO_FORWARD || wt_cfg[wt_role(d)].io_mode == WT_IO_FORWARD_CR) {
        wt_forward(d, r, wt_cfg[wt_role(d)].io_mode);
        return;
    }
    WdfRequestCompleteWithInformation(r, STATUS_SUCCESS, length);
}

static VOID wt_io_stop(WDFQUEUE q, WDFREQUEST r, ULONG action)
{
    WDFDEVICE d = WdfIoQueueGetDevice(q);
    pk_log("%s:io-stop:%s", WT_NAME(d), (action & WdfRequestStopActionPurge) ? "purge" : "suspend");
    WdfRequestStopAcknowledge(r, FALSE);
}

/* Completes every held request of role with status; returns how many. */
static WT_UNUSED int wt_complete_held(int role, NTSTATUS status)
{
    WDFREQUEST held[256];
    int n;

    /* Taken out under the lock, completed after it: a completion may present the next request,
     * which the driver holds again. */
    pthread_mutex_lock(&wt_st[role].lock);
    n = wt_st[role].nheld;
    memcpy(held, wt_st[role].held, sizeof(WDFREQUEST) * (size_t)n);
    wt_st[role].nheld = 0;
    pthread_mutex_unlock(&wt_st[role].lock);
    for (int i = 0; i < n; i++)
        WdfRequestComplete(held[i], status);
    return n;
}

/* ---- EvtDriverDeviceAdd ---- */

static NTSTATUS wt_add(int role, WDFDRIVER driver, PWDFDEVICE_INIT init)
{
    wt_config *c = &wt_cfg[role];
    WDF_PNPPOWER_EVENT_CALLBACKS pnp;
    WDF_OBJECT_ATTRIBUTES attributes, file_attributes;
    WDF_IO_QUEUE_CONFIG qc;
    WDFDEVICE device;
    WDFQUEUE queue;
    NTSTATUS status;

    WDF_PNPPOWER_EVENT_CALLBACKS_INIT(&pnp);
    pnp.EvtDevicePrepareHardware = wt_prepare;
    pnp.EvtDeviceReleaseHardware = wt_release;
    pnp.EvtDeviceD0Entry = wt_d0entry;
    pnp.EvtDeviceD0Exit = wt_d0exit;
    pnp.EvtDeviceSelfManagedIoInit = wt_smio_init;
    pnp.EvtDeviceSelfManagedIoSuspend = wt_smio_suspend;
    pnp.EvtDeviceSelfManagedIoRestart = wt_smio_restart;
    pnp.EvtDeviceSelfManagedIoFlush = wt_smio_flush;
    pnp.EvtDeviceSelfManagedIoCleanup = wt_smio_cleanup;
    pnp.EvtDeviceSurpriseRemoval = wt_surprise;
    pnp.EvtDeviceQueryRemove = wt_query_remove;
    pnp.EvtDeviceQueryStop = wt_query_stop;
    WdfDeviceInitSetPnpPowerEventCallbacks(init, &pnp);
    if (c->filter)
        WdfFdoInitSetFilter(init);
    if (c->exclusive)
        WdfDeviceInitSetExclusive(init, TRUE);
    if (c->file_config) {
        WDF_FILEOBJECT_CONFIG fc;
        WDF_FILEOBJECT_CONFIG_INIT(&fc, c->create_mode != WT_CREATE_NONE && !c->no_create_callback
                                            ? wt_file_create_fn[role] : NULL,
                                   c->close_cb ? wt_file_close_fn[role] : NULL,
                                   c->cleanup_cb ? wt_file_cleanup_fn[role] : NULL);
        fc.AutoForwardCleanupClose = c->autoforward;
        if (c->file_class)
            fc.FileObjectClass = (WDF_FILEOBJECT_CLASS)c->file_class;
        if (c->file_attributes) {
            WDF_OBJECT_ATTRIBUTES_INIT(&file_attributes);
            file_attributes.EvtCleanupCallback = wt_file_obj_cleanup_fn[role];
            file_attributes.EvtDestroyCallback = wt_file_obj_destroy_fn[role];
            if (c->file_scope)
                file_attributes.SynchronizationScope = c->file_scope;
            if (c->file_level)
                file_attributes.ExecutionLevel = c->file_level;
        }
        WdfDeviceInitSetFileObjectConfig(init, &fc, c->file_attributes ? &file_attributes : NULL);
    }
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, wt_dev_ctx);
    attributes.EvtCleanupCallback = wt_device_cleanup;
    if (c->device_scope)
        attributes.SynchronizationScope = c->device_scope;
    if (c->device_level)
        attributes.ExecutionLevel = c->device_level;
    status = WdfDeviceCreate(&init, &attributes, &device);
    if (!NT_SUCCESS(status)) {
        pk_log("%s:device-create-failed:%s", c->name, PnpkitStatusName(status));
        return status;
    }
    wt_ctx(device)->role = role;
    wt_st[role].device = device;
    if (c->io_mode != WT_IO_NONE) {
        WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&qc, c->dispatch ? c->dispatch : WdfIoQueueDispatchSequential);
        if (c->parallel_limit)
            qc.Settings.Parallel.NumberOfPresentedRequests = c->parallel_limit;
        qc.EvtIoDeviceControl = c->ioctl ? c->ioctl : wt_ioctl;
        qc.EvtIoInternalDeviceControl = wt_ioctl;
        qc.EvtIoRead = wt_read;
        if (c->io_stop)
            qc.EvtIoStop = wt_io_stop;
        qc.PowerManaged = c->power_managed_set ? c->power_managed : WdfUseDefault;
        if (c->queue_scope) {
            WDF_OBJECT_ATTRIBUTES qa;
            WDF_OBJECT_ATTRIBUTES_INIT(&qa);
            qa.SynchronizationScope = c->queue_scope;
            status = WdfIoQueueCreate(device, &qc, &qa, &queue);
        } else {
            status = WdfIoQueueCreate(device, &qc, WDF_NO_OBJECT_ATTRIBUTES, &queue);
        }
        if (!NT_SUCCESS(status))
            return status;
    }
    if (c->create_queue) {
        WDF_IO_QUEUE_CONFIG_INIT(&qc, WdfIoQueueDispatchParallel);
        qc.EvtIoDefault = wt_create_queue_default;
        qc.PowerManaged = WdfFalse;
        status = WdfIoQueueCreate(device, &qc, WDF_NO_OBJECT_ATTRIBUTES, &queue);
        if (!NT_SUCCESS(status))
            return status;
        status = WdfDeviceConfigureRequestDispatching(device, queue, WdfRequestTypeCreate);
        if (!NT_SUCCESS(status))
            return status;
    }
    if (c->iface) {
        UNICODE_STRING ref;
        if (c->iface_ref)
            RtlInitUnicodeString(&ref, c->iface_ref);
        status = WdfDeviceCreateDeviceInterface(device, c->iface, c->iface_ref ? &ref : NULL);
        if (!NT_SUCCESS(status))
            return status;
    }
    if (c->device_created)
        c->device_created(device);
    return STATUS_SUCCESS;
}

static NTSTATUS wt_add0(WDFDRIVER d, PWDFDEVICE_INIT i) { return wt_add(0, d, i); }
static NTSTATUS wt_add1(WDFDRIVER d, PWDFDEVICE_INIT i) { return wt_add(1, d, i); }
static NTSTATUS wt_add2(WDFDRIVER d, PWDFDEVICE_INIT i) { return wt_add(2, d, i); }
static NTSTATUS wt_add3(WDFDRIVER d, PWDFDEVICE_INIT i) { return wt_add(3, d, i); }

/* ============================================================================================= */
/* WDM driver roles                                                                              */
/* ============================================================================================= */

typedef struct wtw_config {
    const char *name;
    bool filter;                 /* forwards creates, cleanups, closes and PnP */
    NTSTATUS create_status;      /* 0: success */
    const GUID *iface;
    PCWSTR iface_ref;
    bool complete_later_at_dispatch; /* the worker completes WT_IOCTL_LATER at DISPATCH_LEVEL */
} wtw_config;

typedef struct wtw_state {
    volatile LONG creates, cleanups, closes, ioctls;
    PDEVICE_OBJECT fdo, pdo;
    PVOID close_fscontext, close_fscontext2; /* FsContext / FsContext2 seen by the last close */
    PKEVENT close_gate;            /* if set, closes wait for it */
} wtw_state;

typedef struct wtw_ext {
    int role;
    PDEVICE_OBJECT self, lower, pdo;
    UNICODE_STRING link;
} wtw_ext;

static wtw_config wtw_cfg[2];
static wtw_state wtw_st[2];

/* The worker that completes WT_IOCTL_LATER requests, and the list of WT_IOCTL_NEVER ones. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    PIRP later[4096];
    uint64_t due[4096];
    int nlater;
    PIRP never[4096];
    int nnever;
    bool running, stop;
    pthread_t thread;
} wtw_io = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static NTSTATUS wtw_complete(PIRP irp, NTSTATUS status, ULONG_PTR info)
{
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = info;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
}

static NTSTATUS wtw_sync_done(PDEVICE_OBJECT d, PIRP irp, PVOID ctx)
{
    KeSetEvent(ctx, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS wtw_forward(wtw_ext *x, PIRP irp)
{
    IoSkipCurrentIrpStackLocation(irp);
    return IoCallDriver(x->lower, irp);
}

static NTSTATUS wtw_pnp(PDEVICE_OBJECT dev, PIRP irp)
{
    wtw_ext *x = dev->DeviceExtension;
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    NTSTATUS status;
    KEVENT done;

    switch (sp->MinorFunction) {
    case IRP_MN_START_DEVICE:
        KeInitializeEvent(&done, NotificationEvent, FALSE);
        IoCopyCurrentIrpStackLocationToNext(irp);
        IoSetCompletionRoutine(irp, wtw_sync_done, &done, TRUE, TRUE, TRUE);
        IoCallDriver(x->lower, irp);
        KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
        status = irp->IoStatus.Status;
        if (NT_SUCCESS(status) && x->link.Buffer)
            IoSetDeviceInterfaceState(&x->link, TRUE);
        pk_log("%s:start", wtw_cfg[x->role].name);
        return wtw_complete(irp, status, 0);
    case IRP_MN_SURPRISE_REMOVAL:
        pk_log("%s:surprise", wtw_cfg[x->role].name);
        if (x->link.Buffer)
            IoSetDeviceInterfaceState(&x->link, FALSE);
        irp->IoStatus.Status = STATUS_SUCCESS;
        return wtw_forward(x, irp);
    case IRP_MN_REMOVE_DEVICE:
        pk_log("%s:remove", wtw_cfg[x->role].name);
        if (x->link.Buffer)
            IoSetDeviceInterfaceState(&x->link, FALSE);
        irp->IoStatus.Status = STATUS_SUCCESS;
        status = wtw_forward(x, irp);
        IoDetachDevice(x->lower);
        RtlFreeUnicodeString(&x->link);
        wtw_st[x->role].fdo = NULL;
        IoDeleteDevice(dev);
        return status;
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        irp->IoStatus.Status = STATUS_SUCCESS;
        return wtw_forward(x, irp);
    default:
        return wtw_forward(x, irp);
    }
}

static NTSTATUS wtw_create(PDEVICE_OBJECT dev, PIRP irp)
{
    wtw_ext *x = dev->DeviceExtension;
    wtw_config *c = &wtw_cfg[x->role];
    PFILE_OBJECT fo = IoGetCurrentIrpStackLocation(irp)->FileObject;
    char *name = fo ? PnpkitUnicodeStringToUtf8(&fo->FileName) : NULL;

    __atomic_add_fetch(&wtw_st[x->role].creates, 1, __ATOMIC_SEQ_CST);
    pk_log("%s:irp-create:%s", c->name, name ? name : "-");
    free(name);
    if (c->create_status && !NT_SUCCESS(c->create_status))
        return wtw_complete(irp, c->create_status, 0);
    if (c->filter)
        return wtw_forward(x, irp);
    return wtw_complete(irp, STATUS_SUCCESS, 0);
}

static NTSTATUS wtw_cleanup(PDEVICE_OBJECT dev, PIRP irp)
{
    wtw_ext *x = dev->DeviceExtension;
    __atomic_add_fetch(&wtw_st[x->role].cleanups, 1, __ATOMIC_SEQ_CST);
    pk_log("%s:irp-cleanup", wtw_cfg[x->role].name);
    return wtw_cfg[x->role].filter ? wtw_forward(x, irp) : wtw_complete(irp, STATUS_SUCCESS, 0);
}

static NTSTATUS wtw_close(PDEVICE_OBJECT dev, PIRP irp)
{
    wtw_ext *x = dev->DeviceExtension;
    PFILE_OBJECT fo = IoGetCurrentIrpStackLocation(irp)->FileObject;
    wtw_st[x->role].close_fscontext = fo ? fo->FsContext : NULL;
    wtw_st[x->role].close_fscontext2 = fo ? fo->FsContext2 : NULL;
    if (wtw_st[x->role].close_gate) {
        pk_log("%s:irp-close-blocked", wtw_cfg[x->role].name);
        KeWaitForSingleObject(wtw_st[x->role].close_gate, Executive, KernelMode, FALSE, NULL);
    }
    __atomic_add_fetch(&wtw_st[x->role].closes, 1, __ATOMIC_SEQ_CST);
    pk_log("%s:irp-close", wtw_cfg[x->role].name);
    return wtw_cfg[x->role].filter ? wtw_forward(x, irp) : wtw_complete(irp, STATUS_SUCCESS, 0);
}

static VOID wtw_never_cancel(PDEVICE_OBJECT dev, PIRP irp)
{
    IoReleaseCancelSpinLock(irp->CancelIrql);
    pthread_mutex_lock(&wtw_io.lock);
    for (int i = 0; i < wtw_io.nnever; i++)
        if (wtw_io.never[i] == irp) {
            wtw_io.never[i] = wtw_io.never[--wtw_io.nnever];
            break;
        }
    pthread_mutex_unlock(&wtw_io.lock);
    wtw_complete(irp, STATUS_CANCELLED, 0);
}

static NTSTATUS wtw_ioctl(PDEVICE_OBJECT dev, PIRP irp)
{
    wtw_ext *x = dev->DeviceExtension;
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    ULONG code = sp->Parameters.DeviceIoControl.IoControlCode;
    ULONG in = sp->Parameters.DeviceIoControl.InputBufferLength;
    ULONG out = sp->Parameters.DeviceIoControl.OutputBufferLength;

    __atomic_add_fetch(&wtw_st[x->role].ioctls, 1, __ATOMIC_SEQ_CST);
    if (code == WT_IOCTL_LATER) {
        IoMarkIrpPending(irp);
        pthread_mutex_lock(&wtw_io.lock);
        wtw_io.due[wtw_io.nlater] = pk_test_now_ms() + (wtw_io.nlater % 3);
        wtw_io.later[wtw_io.nlater++] = irp;
        pthread_cond_signal(&wtw_io.cond);
        pthread_mutex_unlock(&wtw_io.lock);
        return STATUS_PENDING;
    }
    if (code == WT_IOCTL_NEVER) {
        IoMarkIrpPending(irp);
        pthread_mutex_lock(&wtw_io.lock);
        wtw_io.never[wtw_io.nnever++] = irp;
        IoSetCancelRoutine(irp, wtw_never_cancel);
        if (__atomic_load_n(&irp->Cancel, __ATOMIC_ACQUIRE) && IoSetCancelRoutine(irp, NULL)) {
            wtw_io.never[--wtw_io.nnever] = NULL;
            pthread_mutex_unlock(&wtw_io.lock);
            wtw_complete(irp, STATUS_CANCELLED, 0);
            return STATUS_PENDING;
        }
        pthread_mutex_unlock(&wtw_io.lock);
        return STATUS_PENDING;
    }
    if (code == WT_IOCTL_DIRECT) {
        /* METHOD_OUT_DIRECT: input in the system buffer, output through the MDL. */
        PVOID dst = irp->MdlAddress ? MmGetSystemAddressForMdlSafe(irp->MdlAddress, NormalPagePriority) : NULL;
        if (!dst || !irp->AssociatedIrp.SystemBuffer)
            return wtw_complete(irp, STATUS_INVALID_PARAMETER, 0);
        memcpy(dst, irp->AssociatedIrp.SystemBuffer, in < out ? in : out);
        return wtw_complete(irp, STATUS_SUCCESS, in < out ? in : out);
    }
    /* WT_IOCTL_ECHO and anything else: METHOD_BUFFERED echo of the system buffer. */
    return wtw_complete(irp, STATUS_SUCCESS, in < out ? in : out);
}

/* Reads fill the buffer with 'r'; writes are counted (DO_BUFFERED_IO: the system buffer). */
static UCHAR wtw_last_write[16];
static NTSTATUS wtw_read_write(PDEVICE_OBJECT dev, PIRP irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    ULONG length = sp->MajorFunction == IRP_MJ_READ ? sp->Parameters.Read.Length : sp->Parameters.Write.Length;

    if (!irp->AssociatedIrp.SystemBuffer)
        return wtw_complete(irp, STATUS_INVALID_PARAMETER, 0);
    if (sp->MajorFunction == IRP_MJ_READ)
        memset(irp->AssociatedIrp.SystemBuffer, 'r', length);
    else
        memcpy(wtw_last_write, irp->AssociatedIrp.SystemBuffer, length < 16 ? length : 16);
    return wtw_complete(irp, STATUS_SUCCESS, length);
}

static void *wtw_worker(void *arg)
{
    pthread_mutex_lock(&wtw_io.lock);
    for (;;) {
        if (wtw_io.nlater == 0) {
            if (wtw_io.stop)
                break;
            pthread_cond_wait(&wtw_io.cond, &wtw_io.lock);
            continue;
        }
        PIRP irp = wtw_io.later[0];
        uint64_t due = wtw_io.due[0];
        memmove(&wtw_io.later[0], &wtw_io.later[1], sizeof(PIRP) * (size_t)(wtw_io.nlater - 1));
        memmove(&wtw_io.due[0], &wtw_io.due[1], sizeof(uint64_t) * (size_t)(wtw_io.nlater - 1));
        wtw_io.nlater--;
        pthread_mutex_unlock(&wtw_io.lock);
        while (pk_test_now_ms() < due)
            usleep(200);
        if (wtw_cfg[0].complete_later_at_dispatch) {
            KIRQL old;
            KeRaiseIrql(DISPATCH_LEVEL, &old);
            wtw_complete(irp, STATUS_SUCCESS, 0);
            KeLowerIrql(old);
        } else {
            wtw_complete(irp, STATUS_SUCCESS, 0);
        }
        pthread_mutex_lock(&wtw_io.lock);
    }
    pthread_mutex_unlock(&wtw_io.lock);
    return NULL;
}

static WT_UNUSED void wtw_start_worker(void)
{
    wtw_io.stop = false;
    wtw_io.running = true;
    assert_int_equal(pthread_create(&wtw_io.thread, NULL, wtw_worker, NULL), 0);
}

/* Completes what is left, then joins the worker. */
static WT_UNUSED void wtw_stop_worker(void)
{
    if (!wtw_io.running)
        return;
    pthread_mutex_lock(&wtw_io.lock);
    wtw_io.stop = true;
    pthread_cond_signal(&wtw_io.cond);
    pthread_mutex_unlock(&wtw_io.lock);
    pthread_join(wtw_io.thread, NULL);
    wtw_io.running = false;
}

/* Cancels (completes with STATUS_CANCELLED) every WT_IOCTL_NEVER request still held. */
static WT_UNUSED int wtw_flush_never(void)
{
    int n = 0;
    for (;;) {
        PIRP irp = NULL;
        pthread_mutex_lock(&wtw_io.lock);
        while (wtw_io.nnever && !irp) {
            PIRP c = wtw_io.never[--wtw_io.nnever];
            if (IoSetCancelRoutine(c, NULL))
                irp = c;
        }
        pthread_mutex_unlock(&wtw_io.lock);
        if (!irp)
            return n;
        wtw_complete(irp, STATUS_CANCELLED, 0);
        n++;
    }
}

static NTSTATUS wtw_add(int role, PDRIVER_OBJECT driver, PDEVICE_OBJECT pdo)
{
    PDEVICE_OBJECT fdo;
    wtw_ext *x;
    NTSTATUS status = IoCreateDevice(driver, sizeof(wtw_ext), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &fdo);

    if (!NT_SUCCESS(status))
        return status;
    x = fdo->DeviceExtension;
    x->role = role;
    x->self = fdo;
    x->pdo = pdo;
    x->lower = IoAttachDeviceToDeviceStack(fdo, pdo);
    fdo->Flags |= DO_BUFFERED_IO;
    if (wtw_cfg[role].iface) {
        UNICODE_STRING ref;
        if (wtw_cfg[role].iface_ref)
            RtlInitUnicodeString(&ref, wtw_cfg[role].iface_ref);
        IoRegisterDeviceInterface(pdo, wtw_cfg[role].iface, wtw_cfg[role].iface_ref ? &ref : NULL, &x->link);
    }
    wtw_st[role].fdo = fdo;
    wtw_st[role].pdo = pdo;
    fdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

static NTSTATUS wtw_add0(PDRIVER_OBJECT d, PDEVICE_OBJECT p) { return wtw_add(0, d, p); }
static NTSTATUS wtw_add1(PDRIVER_OBJECT d, PDEVICE_OBJECT p) { return wtw_add(1, d, p); }

static void wtw_install(PDRIVER_OBJECT driver, PDRIVER_ADD_DEVICE add)
{
    driver->DriverExtension->AddDevice = add;
    driver->MajorFunction[IRP_MJ_PNP] = wtw_pnp;
    driver->MajorFunction[IRP_MJ_CREATE] = wtw_create;
    driver->MajorFunction[IRP_MJ_CLEANUP] = wtw_cleanup;
    driver->MajorFunction[IRP_MJ_CLOSE] = wtw_close;
    driver->MajorFunction[IRP_MJ_DEVICE_CONTROL] = wtw_ioctl;
    driver->MajorFunction[IRP_MJ_INTERNAL_DEVICE_CONTROL] = wtw_ioctl;
    driver->MajorFunction[IRP_MJ_READ] = wtw_read_write;
    driver->MajorFunction[IRP_MJ_WRITE] = wtw_read_write;
}

static NTSTATUS wtw_entry0(PDRIVER_OBJECT d, PUNICODE_STRING p)
{
    wtw_install(d, wtw_add0);
    return STATUS_SUCCESS;
}
static NTSTATUS wtw_entry1(PDRIVER_OBJECT d, PUNICODE_STRING p)
{
    wtw_install(d, wtw_add1);
    return STATUS_SUCCESS;
}

/* ============================================================================================= */
/* Registration, devices, opening                                                                */
/* ============================================================================================= */

enum { WT_FUNCTION, WT_UPPER, WT_LOWER };

static PCWSTR wt_services[4] = { u"wt0", u"wt1", u"wt2", u"wt3" };
static PCWSTR wtw_services[2] = { u"wtw0", u"wtw1" };
static bool wt_registered[4], wtw_registered[2];

static NTSTATUS wt_register(PCWSTR service, PDRIVER_INITIALIZE entry, int kind)
{
    if (kind == WT_FUNCTION)
        return PnpkitDriverRegister(service, entry, WT_HWID);
    return PnpkitDriverRegisterFilter(service, entry, WT_HWID, kind == WT_UPPER);
}

/* Registers WDF role `role` as a function driver (WT_FUNCTION) or filter (WT_UPPER / WT_LOWER). */
static WT_UNUSED void wt_register_wdf(int role, int kind)
{
    if (!wt_cfg[role].name)
        wt_cfg[role].name = role == 0 ? "wdf0" : role == 1 ? "wdf1" : role == 2 ? "wdf2" : "wdf3";
    if (kind != WT_FUNCTION && !wt_cfg[role].filter)
        wt_cfg[role].filter = true;
    assert_int_equal(wt_register(wt_services[role], wt_entry_fn[role], kind), STATUS_SUCCESS);
    wt_registered[role] = true;
}

static WT_UNUSED void wt_register_wdm(int role, int kind)
{
    if (!wtw_cfg[role].name)
        wtw_cfg[role].name = role == 0 ? "wdm0" : "wdm1";
    if (kind != WT_FUNCTION)
        wtw_cfg[role].filter = true;
    assert_int_equal(wt_register(wtw_services[role], role == 0 ? wtw_entry0 : wtw_entry1, kind), STATUS_SUCCESS);
    wtw_registered[role] = true;
}

typedef struct wt_create_wait {
    KEVENT done;
    HRESULT result;
} wt_create_wait;

static VOID wt_created(HSWDEVICE h, HRESULT result, PVOID ctx, PCWSTR id)
{
    wt_create_wait *w = ctx;
    w->result = result;
    KeSetEvent(&w->done, IO_NO_INCREMENT, FALSE);
}

/* Creates SWD\WT\<name> with the given hardware ids and waits until it started (or failed). */
static WT_UNUSED HSWDEVICE wt_device_create_with_ids(PCWSTR name, PCZZWSTR hwids, DEVINST *devinst)
{
    SW_DEVICE_CREATE_INFO info;
    HSWDEVICE h = NULL;
    wt_create_wait w;

    memset(&info, 0, sizeof(info));
    info.cbSize = sizeof(info);
    info.pszInstanceId = name;
    info.pszzHardwareIds = hwids;
    KeInitializeEvent(&w.done, NotificationEvent, FALSE);
    assert_int_equal(SwDeviceCreate(u"WT", u"HTREE\\ROOT\\0", &info, 0, NULL, wt_created, &w, &h), S_OK);
    pk_test_wait_event(&w.done);
    PnpkitSimWaitIdle();
    if (devinst) {
        WCHAR id[MAX_DEVICE_ID_LEN];
        size_t n = PnpkitWcsLen(name);
        memcpy(id, u"SWD\\WT\\", 7 * sizeof(WCHAR));
        memcpy(id + 7, name, (n + 1) * sizeof(WCHAR));
        assert_int_equal(CM_Locate_DevNodeW(devinst, id, 0), CR_SUCCESS);
    }
    return h;
}

/* Creates SWD\WT\<name> (hardware id WT\DEV) and waits until it started (or failed). */
static WT_UNUSED HSWDEVICE wt_device_create(PCWSTR name, DEVINST *devinst)
{
    return wt_device_create_with_ids(name, WT_HWID, devinst);
}

static WT_UNUSED void wt_device_close(HSWDEVICE h)
{
    SwDeviceClose(h);
    PnpkitSimWaitIdle();
}

/* Unregisters every driver the test registered and resets the configurations. */
static WT_UNUSED void wt_teardown(void)
{
    PnpkitSimWaitIdle();
    /* Work items still running on the pool (a close or an IRP finished above PASSIVE_LEVEL) may
     * hold the last reference of a deleted device object, and with it its driver object for a
     * moment: drain the pool before the drivers go. */
    PnpkitShutdown();
    for (int i = 0; i < 4; i++) {
        if (wt_registered[i])
            assert_int_equal(PnpkitDriverUnregister(wt_services[i]), STATUS_SUCCESS);
        wt_registered[i] = false;
    }
    for (int i = 0; i < 2; i++) {
        if (wtw_registered[i])
            assert_int_equal(PnpkitDriverUnregister(wtw_services[i]), STATUS_SUCCESS);
        wtw_registered[i] = false;
    }
    wtw_stop_worker();
}

/* The first enabled link of class g (kernel form), copied into buf. */
static WT_UNUSED bool wt_link(const GUID *g, WCHAR *buf, size_t chars)
{
    PZZWSTR list = NULL;
    bool found = false;

    if (!NT_SUCCESS(IoGetDeviceInterfaces(g, NULL, 0, &list)))
        return false;
    if (list[0]) {
        size_t n = PnpkitWcsLen(list);
        if (n < chars) {
            memcpy(buf, list, (n + 1) * sizeof(WCHAR));
            found = true;
        }
    }
    ExFreePool(list);
    return found;
}

static WT_UNUSED int wt_count_links(const GUID *g)
{
    PZZWSTR list = NULL;
    int n = 0;
    if (!NT_SUCCESS(IoGetDeviceInterfaces(g, NULL, 0, &list)))
        return -1;
    for (PCWSTR p = list; *p; p += PnpkitWcsLen(p) + 1)
        n++;
    ExFreePool(list);
    return n;
}

/* Opens the first enabled interface of g, with `suffix` (e.g. u"\\more") appended to the link. */
static WT_UNUSED NTSTATUS wt_open(const GUID *g, PCWSTR suffix, PFILE_OBJECT *fo)
{
    WCHAR link[512];
    UNICODE_STRING u;

    if (!wt_link(g, link, 400))
        return STATUS_OBJECT_NAME_NOT_FOUND;
    if (suffix) {
        size_t n = PnpkitWcsLen(link), m = PnpkitWcsLen(suffix);
        memcpy(link + n, suffix, (m + 1) * sizeof(WCHAR));
    }
    RtlInitUnicodeString(&u, link);
    return PnpkitOpenDeviceInterface(&u, GENERIC_READ | GENERIC_WRITE, 0, fo);
}

static WT_UNUSED void wt_close(PFILE_OBJECT fo) { PnpkitCloseDeviceInterface(fo); }

/* ---- IOCTLs from the test, as an application's DeviceIoControl would send them ---- */

typedef struct wt_io {
    PIRP irp;
    KEVENT done;
    NTSTATUS status;
    ULONG_PTR information;
    volatile LONG completions;
    UCHAR buffer[64];
} wt_io;

static NTSTATUS wt_io_done(PDEVICE_OBJECT d, PIRP irp, PVOID ctx)
{
    wt_io *io = ctx;
    io->status = irp->IoStatus.Status;
    io->information = irp->IoStatus.Information;
    pk_log("io:%s", PnpkitStatusName(io->status));
    __atomic_add_fetch(&io->completions, 1, __ATOMIC_SEQ_CST);
    KeSetEvent(&io->done, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

/* Sends an IOCTL (METHOD_BUFFERED, io->buffer as the system buffer, in_len in and out_len out)
 * on file object fo, without waiting. Finish with wt_io_wait. */
static WT_UNUSED void wt_io_start_on(wt_io *io, PDEVICE_OBJECT top, PFILE_OBJECT fo, ULONG code, ULONG in_len,
                                     ULONG out_len)
{
    PIO_STACK_LOCATION sp;

    io->irp = IoAllocateIrp(top->StackSize, FALSE);
    assert_non_null(io->irp);
    KeInitializeEvent(&io->done, NotificationEvent, FALSE);
    io->completions = 0;
    io->status = STATUS_PENDING;
    io->irp->AssociatedIrp.SystemBuffer = io->buffer;
    io->irp->Tail.Overlay.OriginalFileObject = fo;
    sp = IoGetNextIrpStackLocation(io->irp);
    sp->MajorFunction = IRP_MJ_DEVICE_CONTROL;
    sp->FileObject = fo;
    sp->Parameters.DeviceIoControl.IoControlCode = code;
    sp->Parameters.DeviceIoControl.InputBufferLength = in_len;
    sp->Parameters.DeviceIoControl.OutputBufferLength = out_len;
    IoSetCompletionRoutine(io->irp, wt_io_done, io, TRUE, TRUE, TRUE);
    IoCallDriver(top, io->irp);
}

static WT_UNUSED void wt_io_start(wt_io *io, PFILE_OBJECT fo, ULONG code, ULONG in_len, ULONG out_len)
{
    wt_io_start_on(io, IoGetRelatedDeviceObject(fo), fo, code, in_len, out_len);
}

static WT_UNUSED bool wt_io_completed(wt_io *io) { return KeReadStateEvent(&io->done) != 0; }

static WT_UNUSED NTSTATUS wt_io_wait(wt_io *io)
{
    pk_test_wait_event(&io->done);
    assert_int_equal(io->completions, 1);
    IoFreeIrp(io->irp);
    io->irp = NULL;
    return io->status;
}

/* A synchronous IOCTL. */
static WT_UNUSED NTSTATUS wt_ioctl_sync(PFILE_OBJECT fo, ULONG code, ULONG in_len, ULONG out_len, ULONG_PTR *info)
{
    wt_io io;
    NTSTATUS status;

    memset(io.buffer, 0x5A, sizeof(io.buffer));
    wt_io_start(&io, fo, code, in_len, out_len);
    status = wt_io_wait(&io);
    if (info)
        *info = io.information;
    return status;
}

/* Resets every configuration and counter (call at the start of each test). */
static WT_UNUSED void wt_reset(void)
{
    memset(wt_cfg, 0, sizeof(wt_cfg));
    for (int i = 0; i < 4; i++) {
        wt_st[i].device = NULL;
        wt_st[i].creates = wt_st[i].cleanups = wt_st[i].closes = wt_st[i].ioctls = 0;
        wt_st[i].nheld = 0;
        wt_st[i].last_file = NULL;
        wt_cfg[i].autoforward = WdfUseDefault;
    }
    memset(wtw_cfg, 0, sizeof(wtw_cfg));
    memset(wtw_st, 0, sizeof(wtw_st));
    wt_max_depth = 0;
    pk_log_clear();
}

#endif /* WDF_TESTDRV_H */
