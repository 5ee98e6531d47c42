/*
 * aggregator.c — the aggregator of the main job (driver package libsk_aggregator.so, hardware id
 * SENSORKIT\AGGREGATOR): a DMF client driver that streams from every sensor and serves
 * applications. It is where the five seeds meet:
 *
 *   seed 000  A static DMF_DeviceInterfaceMultipleTarget watches GUID_DEVINTERFACE_SENSORKIT_SENSOR:
 *             every sensor that appears becomes a Target with two IOCTL_SENSORKIT_READ requests
 *             in flight (Automatic streaming), and every reading arrives in aggregator_reading.
 *             The state callback follows each Target: Open, QueryRemove (a sensor safely
 *             removed), RemoveComplete (without a QueryRemove before it: a sensor pulled out),
 *             Close.
 *   seed 001  The device exposes GUID_DEVINTERFACE_SENSORKIT_AGGREGATOR with the reference string
 *             "readings"; a create whose name does not start with it is refused.
 *   seed 003  Every application handle is a WDF file object whose context holds that handle's
 *             threshold (from the name it opened: <link>\threshold=<tenths of a degree>), its
 *             subscription number and its counters. EvtDeviceFileCreate links it into the list of
 *             open handles, EvtFileCleanup takes it out; IOCTL_SENSORKIT_GET_FIGURES answers with
 *             the figures of the handle it came on and the aggregator's.
 *   seed 002  When a sensor's reading rises to or above a handle's threshold (its first reading
 *             since the handle opened, or one after the sensor had fallen 1 °C below it), the
 *             aggregator posts a custom event, GUID_SENSORKIT_THRESHOLD_EVENT, on its
 *             device with WdfDevicePostEvent (IoReportTargetDeviceChangeAsynchronous on the
 *             device's PDO, with no callback); applications receive it through
 *             CM_Register_Notification on their handle. Readings may arrive at DISPATCH_LEVEL and
 *             WdfDevicePostEvent is PASSIVE_LEVEL, so events wait in a small queue that a work
 *             item empties.
 *   seed 004  The aggregator is an NMR client of the recorder NPI (registered while the device is
 *             started): every reading goes to the recorder through its dispatch table. Calls into
 *             the recorder pass through a call gate, so that a detach (the recorder going away)
 *             pends until the calls in progress have returned.
 *
 * Locking: the device context's `lock` (a spin lock: readings may arrive at DISPATCH_LEVEL) protects
 * the list of open handles and their threshold state, the event queue and the recorder binding
 * pointer. Figures are updated with interlocked operations. No lock is held while calling the
 * recorder, DMF or the framework.
 */
#include <pnpkit.h>
#include <pnpkit/dmf.h>

#include <stdlib.h>
#include <string.h>

#include "../sensorkit.h"

#define EVENT_QUEUE_LENGTH 64
#define HYSTERESIS 10 /* tenths of a degree below the threshold before it can be crossed again */

/* ---- Contexts ---- */

typedef struct RECORDER_BINDING RECORDER_BINDING;

typedef struct {
    WDFDEVICE device;
    WDFWORKITEM poster;            /* posts the queued events at PASSIVE_LEVEL */
    KSPIN_LOCK lock;               /* see the top of the file */
    LIST_ENTRY handles;            /* HANDLE_CONTEXT.link of every open application handle */
    SENSORKIT_THRESHOLD_EVENT events[EVENT_QUEUE_LENGTH];
    ULONG events_first, events_count;
    RECORDER_BINDING *recorder;    /* the recorder attached now, or NULL */
    ULONG next_subscription;
    /* NMR client registration (while started). */
    NPI_MODULEID module_id;
    NPI_CLIENT_CHARACTERISTICS nmr_client;
    HANDLE nmr;
    /* Figures (interlocked); the SENSORKIT_FIGURES fields of the same names. */
    ULONGLONG readings, recorded_refused;
    ULONGLONG sensor_readings[SENSORKIT_MAX_SENSORS + 1];
    LONG sensor_last[SENSORKIT_MAX_SENSORS + 1];
    ULONG targets_open, targets_opened, query_removes, remove_completes, surprise_removals, targets_closed;
    ULONG events_posted, open_handles, recorder_attachments;
} AGGREGATOR_CONTEXT;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(AGGREGATOR_CONTEXT, aggregator_context)

/* An application handle (the WDF file object's context). */
typedef struct {
    LIST_ENTRY link;               /* in AGGREGATOR_CONTEXT.handles while open */
    ULONG subscription;
    LONG threshold;
    BOOLEAN above[SENSORKIT_MAX_SENSORS + 1]; /* per sensor: at or above the threshold now */
    ULONGLONG readings_seen;
    ULONG crossings, events_dropped;
} HANDLE_CONTEXT;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(HANDLE_CONTEXT, handle_context)

/* A sensor being streamed from (the DMF Target's context). */
typedef struct {
    ULONG sensor;                  /* learnt from its first reading */
    BOOLEAN streaming;             /* between Open (or RemoveCancel) and QueryRemove or Close */
    BOOLEAN query_removed;         /* a QueryRemove came first: the removal is an orderly one */
} TARGET_CONTEXT;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(TARGET_CONTEXT, target_context)

PNPKIT_API NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

/* =============================================================================================
 * The recorder binding (seed 004, the client side)
 * ============================================================================================= */

struct RECORDER_BINDING {
    AGGREGATOR_CONTEXT *aggregator;
    HANDLE binding;
    PVOID provider_context;
    const SENSORKIT_RECORDER_DISPATCH *dispatch;
    /* The call gate: calls in progress into the recorder, and whether a detach closed it. */
    KSPIN_LOCK gate_lock;
    ULONG calls;
    BOOLEAN closed;
};

/* Takes the recorder for one call (under the aggregator's lock, so the binding cannot be cleaned
 * up meanwhile); NULL when none is attached or it is detaching. */
static RECORDER_BINDING *recorder_enter(AGGREGATOR_CONTEXT *a)
{
    RECORDER_BINDING *b;
    KIRQL irql;

    KeAcquireSpinLock(&a->lock, &irql);
    b = a->recorder;
    if (b) {
        BOOLEAN open;
        KeAcquireSpinLockAtDpcLevel(&b->gate_lock);
        open = !b->closed;
        if (open)
            b->calls++;
        KeReleaseSpinLockFromDpcLevel(&b->gate_lock);
        if (!open)
            b = NULL;
    }
    KeReleaseSpinLock(&a->lock, irql);
    return b;
}

static void recorder_leave(RECORDER_BINDING *b)
{
    BOOLEAN complete;
    KIRQL irql;

    KeAcquireSpinLock(&b->gate_lock, &irql);
    complete = --b->calls == 0 && b->closed;
    KeReleaseSpinLock(&b->gate_lock, irql);
    /* The last call out of a closed gate finishes the detach that pended. */
    if (complete)
        NmrClientDetachProviderComplete(b->binding);
}

static NTSTATUS NTAPI recorder_attach(HANDLE binding, PVOID client_context, const NPI_REGISTRATION_INSTANCE *provider)
{
    AGGREGATOR_CONTEXT *a = client_context;
    RECORDER_BINDING *b;
    NTSTATUS status;
    KIRQL irql;

    b = calloc(1, sizeof(*b));
    if (!b)
        return STATUS_INSUFFICIENT_RESOURCES;
    b->aggregator = a;
    b->binding = binding;
    KeInitializeSpinLock(&b->gate_lock);
    status = NmrClientAttachProvider(binding, b, NULL, &b->provider_context, (const VOID **)&b->dispatch);
    if (!NT_SUCCESS(status)) {
        free(b); /* no binding: no cleanup callback will come */
        return status;
    }
    if (!b->dispatch || b->dispatch->Version != 1) {
        /* A recorder of another version: stay attached but never call it. */
        b->closed = TRUE;
    }
    KeAcquireSpinLock(&a->lock, &irql);
    if (!a->recorder)
        a->recorder = b;
    KeReleaseSpinLock(&a->lock, irql);
    InterlockedIncrement(&a->recorder_attachments);
    return STATUS_SUCCESS;
}

static NTSTATUS NTAPI recorder_detach(PVOID client_binding_context)
{
    RECORDER_BINDING *b = client_binding_context;
    NTSTATUS status;
    KIRQL irql;

    KeAcquireSpinLock(&b->gate_lock, &irql);
    b->closed = TRUE;
    status = b->calls ? STATUS_PENDING : STATUS_SUCCESS;
    KeReleaseSpinLock(&b->gate_lock, irql);
    return status;
}

static VOID NTAPI recorder_cleanup(PVOID client_binding_context)
{
    RECORDER_BINDING *b = client_binding_context;
    AGGREGATOR_CONTEXT *a = b->aggregator;
    KIRQL irql;

    KeAcquireSpinLock(&a->lock, &irql);
    if (a->recorder == b)
        a->recorder = NULL;
    KeReleaseSpinLock(&a->lock, irql);
    free(b);
}

/* =============================================================================================
 * Threshold events (seed 002)
 * ============================================================================================= */

/* Runs at PASSIVE_LEVEL; empties the queue. */
static VOID events_post(WDFWORKITEM item)
{
    AGGREGATOR_CONTEXT *a = aggregator_context(WdfWorkItemGetParentObject(item));
    SENSORKIT_THRESHOLD_EVENT event;
    BOOLEAN have;
    KIRQL irql;

    for (;;) {
        KeAcquireSpinLock(&a->lock, &irql);
        have = a->events_count > 0;
        if (have) {
            event = a->events[a->events_first];
            a->events_first = (a->events_first + 1) % EVENT_QUEUE_LENGTH;
            a->events_count--;
        }
        KeReleaseSpinLock(&a->lock, irql);
        if (!have)
            break;
        /* Every driver and application registered on the device hears it (copied; returns
         * before delivery). */
        if (NT_SUCCESS(WdfDevicePostEvent(a->device, &GUID_SENSORKIT_THRESHOLD_EVENT, WdfEventBroadcast,
                                          (BYTE *)&event, sizeof(event))))
            InterlockedIncrement(&a->events_posted);
    }
}

/* Checks one reading against every open handle's threshold; queues an event per crossing.
 * Returns TRUE when an event was queued. Called with a->lock held. */
static BOOLEAN thresholds_check_locked(AGGREGATOR_CONTEXT *a, const SENSORKIT_READING *r)
{
    BOOLEAN queued = FALSE;

    for (PLIST_ENTRY e = a->handles.Flink; e != &a->handles; e = e->Flink) {
        HANDLE_CONTEXT *h = CONTAINING_RECORD(e, HANDLE_CONTEXT, link);
        h->readings_seen++;
        if (h->above[r->Sensor]) {
            if (r->Value < h->threshold - HYSTERESIS)
                h->above[r->Sensor] = FALSE;
            continue;
        }
        if (r->Value < h->threshold)
            continue;
        h->above[r->Sensor] = TRUE;
        h->crossings++;
        if (a->events_count == EVENT_QUEUE_LENGTH) {
            h->events_dropped++;
            continue;
        }
        a->events[(a->events_first + a->events_count) % EVENT_QUEUE_LENGTH] = (SENSORKIT_THRESHOLD_EVENT){
            .Subscription = h->subscription, .Sensor = r->Sensor, .Sequence = r->Sequence, .Value = r->Value,
            .Threshold = h->threshold };
        a->events_count++;
        queued = TRUE;
    }
    return queued;
}

/* =============================================================================================
 * Streaming from the sensors (seed 000)
 * ============================================================================================= */

/* One reading from one of the streams (any IRQL <= DISPATCH_LEVEL). The stream callbacks carry
 * no Target: the reading says which sensor it comes from. */
static ContinuousRequestTarget_BufferDisposition aggregator_reading(DMFMODULE module, VOID *buffer, size_t size,
                                                                   VOID *context, NTSTATUS status)
{
    AGGREGATOR_CONTEXT *a = aggregator_context(DMF_ParentDeviceGet(module));
    const SENSORKIT_READING *r = buffer;
    RECORDER_BINDING *recorder;
    BOOLEAN queued;
    KIRQL irql;

    /* A failed request means the sensor is going away (its queued requests fail, then every new
     * one at once): end this request's stream rather than re-sending into the failure. */
    if (!NT_SUCCESS(status) || size != sizeof(*r) || r->Sensor == 0 || r->Sensor > SENSORKIT_MAX_SENSORS)
        return ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndStopStreaming;

    InterlockedIncrement64(&a->readings);
    InterlockedIncrement64(&a->sensor_readings[r->Sensor]);
    WriteRelease(&a->sensor_last[r->Sensor], r->Value);

    recorder = recorder_enter(a);
    if (recorder) {
        if (!NT_SUCCESS(recorder->dispatch->Record(recorder->provider_context, r)))
            InterlockedIncrement64(&a->recorded_refused);
        recorder_leave(recorder);
    } else {
        InterlockedIncrement64(&a->recorded_refused);
    }

    KeAcquireSpinLock(&a->lock, &irql);
    queued = thresholds_check_locked(a, r);
    KeReleaseSpinLock(&a->lock, irql);
    if (queued)
        WdfWorkItemEnqueue(a->poster);
    return ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndContinueStreaming;
}

static void streaming_set(AGGREGATOR_CONTEXT *a, TARGET_CONTEXT *t, BOOLEAN on)
{
    if (t->streaming == on)
        return;
    t->streaming = on;
    if (on)
        InterlockedIncrement(&a->targets_open);
    else
        InterlockedDecrement(&a->targets_open);
}

/* PASSIVE_LEVEL, on the PnP worker (or the thread that unregisters). */
static NTSTATUS aggregator_target_state(DMFMODULE module, DMFIOTARGET target,
                                        DeviceInterfaceMultipleTarget_StateType state)
{
    AGGREGATOR_CONTEXT *a = aggregator_context(DMF_ParentDeviceGet(module));
    WDF_OBJECT_ATTRIBUTES attributes;
    SENSORKIT_READING first;
    TARGET_CONTEXT *t;
    size_t bytes = 0;
    NTSTATUS status;

    switch (state) {
    case DeviceInterfaceMultipleTarget_StateType_Open:
        WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, TARGET_CONTEXT);
        status = WdfObjectAllocateContext((WDFOBJECT)target, &attributes, (PVOID *)&t);
        if (!NT_SUCCESS(status))
            return status;
        /* The methods already work inside Open: ask the sensor who it is. */
        status = DMF_DeviceInterfaceMultipleTarget_SendSynchronously(module, target, NULL, 0, &first, sizeof(first),
                                                                    ContinuousRequestTarget_RequestType_Ioctl,
                                                                    IOCTL_SENSORKIT_READ, 1000, &bytes);
        if (!NT_SUCCESS(status) || bytes != sizeof(first))
            return NT_SUCCESS(status) ? STATUS_DEVICE_DATA_ERROR : status; /* vetoes the open */
        t->sensor = first.Sensor;
        InterlockedIncrement(&a->targets_opened);
        streaming_set(a, t, TRUE);
        return STATUS_SUCCESS;
    case DeviceInterfaceMultipleTarget_StateType_QueryRemove:
        /* A sensor being safely removed: let it go (the module stops its stream and closes it). */
        t = target_context(target);
        t->query_removed = TRUE;
        InterlockedIncrement(&a->query_removes);
        streaming_set(a, t, FALSE);
        return STATUS_SUCCESS;
    case DeviceInterfaceMultipleTarget_StateType_RemoveCancel:
        t = target_context(target);
        t->query_removed = FALSE;
        streaming_set(a, t, TRUE);
        return STATUS_SUCCESS;
    case DeviceInterfaceMultipleTarget_StateType_RemoveComplete:
        t = target_context(target);
        InterlockedIncrement(&a->remove_completes);
        if (!t->query_removed)
            InterlockedIncrement(&a->surprise_removals); /* pulled out without asking */
        return STATUS_SUCCESS;
    case DeviceInterfaceMultipleTarget_StateType_Close:
        t = target_context(target);
        InterlockedIncrement(&a->targets_closed);
        streaming_set(a, t, FALSE);
        return STATUS_SUCCESS;
    default:
        return STATUS_SUCCESS;
    }
}

static VOID aggregator_modules_add(WDFDEVICE device, PDMFMODULE_INIT init)
{
    DMF_CONFIG_DeviceInterfaceMultipleTarget config;
    DMF_MODULE_ATTRIBUTES attributes;
    DMF_CONFIG_ContinuousRequestTarget *stream = &config.ContinuousRequestTargetModuleConfig;

    DMF_CONFIG_DeviceInterfaceMultipleTarget_AND_ATTRIBUTES_INIT(&config, &attributes);
    config.ModuleOpenOption = DeviceInterfaceMultipleTarget_PnpRegisterWhen_PrepareHardware;
    config.DeviceInterfaceMultipleTargetGuid = GUID_DEVINTERFACE_SENSORKIT_SENSOR;
    config.OpenMode = GENERIC_READ;
    stream->ContinuousRequestCount = 2;
    stream->BufferCountOutput = 4;
    stream->BufferOutputSize = sizeof(SENSORKIT_READING);
    stream->RequestType = ContinuousRequestTarget_RequestType_Ioctl;
    stream->ContinuousRequestTargetIoctl = IOCTL_SENSORKIT_READ;
    stream->ContinuousRequestTargetMode = ContinuousRequestTarget_Mode_Automatic;
    stream->EvtContinuousRequestTargetBufferOutput = aggregator_reading;
    config.EvtDeviceInterfaceMultipleTargetOnStateChangeEx = aggregator_target_state;
    DMF_DmfModuleAdd(init, &attributes, WDF_NO_OBJECT_ATTRIBUTES, NULL);
}

/* =============================================================================================
 * Application handles (seeds 001 and 003)
 * ============================================================================================= */

/* The name after the device part of the path: \readings, then optionally \threshold=<n>. */
static NTSTATUS parse_open_name(PCUNICODE_STRING name, LONG *threshold)
{
    static const WCHAR reference[] = u"\\" SENSORKIT_AGGREGATOR_REFERENCE;
    static const WCHAR option[] = u"\\" SENSORKIT_THRESHOLD_PREFIX;
    const USHORT ref_chars = ARRAYSIZE(reference) - 1, opt_chars = ARRAYSIZE(option) - 1;
    USHORT chars = name ? name->Length / sizeof(WCHAR) : 0, at;
    LONG value = 0, sign = 1;

    if (chars < ref_chars || memcmp(name->Buffer, reference, ref_chars * sizeof(WCHAR)) != 0)
        return STATUS_OBJECT_NAME_NOT_FOUND; /* not the "readings" interface */
    *threshold = SENSORKIT_DEFAULT_THRESHOLD;
    if (chars == ref_chars)
        return STATUS_SUCCESS;
    at = ref_chars;
    if (chars - at <= opt_chars || memcmp(name->Buffer + at, option, opt_chars * sizeof(WCHAR)) != 0)
        return STATUS_OBJECT_NAME_INVALID;
    at += opt_chars;
    if (name->Buffer[at] == u'-') {
        sign = -1;
        at++;
    }
    if (at == chars)
        return STATUS_OBJECT_NAME_INVALID;
    for (; at < chars; at++) {
        if (name->Buffer[at] < u'0' || name->Buffer[at] > u'9' || value > 100000)
            return STATUS_OBJECT_NAME_INVALID;
        value = value * 10 + (name->Buffer[at] - u'0');
    }
    *threshold = sign * value;
    return STATUS_SUCCESS;
}

static VOID aggregator_file_create(WDFDEVICE device, WDFREQUEST request, WDFFILEOBJECT file)
{
    AGGREGATOR_CONTEXT *a = aggregator_context(device);
    HANDLE_CONTEXT *h = handle_context(file);
    LONG threshold;
    NTSTATUS status;
    KIRQL irql;

    status = parse_open_name(WdfFileObjectGetFileName(file), &threshold);
    if (NT_SUCCESS(status)) {
        h->threshold = threshold;
        KeAcquireSpinLock(&a->lock, &irql);
        h->subscription = ++a->next_subscription;
        InsertTailList(&a->handles, &h->link);
        KeReleaseSpinLock(&a->lock, irql);
        InterlockedIncrement(&a->open_handles);
    }
    WdfRequestComplete(request, status);
}

/* The application closed its handle (or exited): no more events or figures for it. */
static VOID aggregator_file_cleanup(WDFFILEOBJECT file)
{
    AGGREGATOR_CONTEXT *a = aggregator_context(WdfFileObjectGetDevice(file));
    HANDLE_CONTEXT *h = handle_context(file);
    KIRQL irql;

    if (!h->subscription)
        return; /* its create failed */
    KeAcquireSpinLock(&a->lock, &irql);
    RemoveEntryList(&h->link);
    KeReleaseSpinLock(&a->lock, irql);
    InterlockedDecrement(&a->open_handles);
}

static void figures_fill(AGGREGATOR_CONTEXT *a, HANDLE_CONTEXT *h, SENSORKIT_FIGURES *f)
{
    RECORDER_BINDING *recorder;
    KIRQL irql;

    memset(f, 0, sizeof(*f));
    KeAcquireSpinLock(&a->lock, &irql);
    f->Subscription = h->subscription;
    f->Threshold = h->threshold;
    f->ReadingsSeen = h->readings_seen;
    f->Crossings = h->crossings;
    f->EventsDropped = h->events_dropped;
    KeReleaseSpinLock(&a->lock, irql);
    f->Readings = ReadAcquire(&a->readings);
    f->TargetsOpen = ReadAcquire(&a->targets_open);
    f->TargetsOpened = ReadAcquire(&a->targets_opened);
    f->QueryRemoves = ReadAcquire(&a->query_removes);
    f->RemoveCompletes = ReadAcquire(&a->remove_completes);
    f->SurpriseRemovals = ReadAcquire(&a->surprise_removals);
    f->TargetsClosed = ReadAcquire(&a->targets_closed);
    f->EventsPosted = ReadAcquire(&a->events_posted);
    f->OpenHandles = ReadAcquire(&a->open_handles);
    f->RecorderAttachments = ReadAcquire(&a->recorder_attachments);
    f->RecordRefused = ReadAcquire(&a->recorded_refused);
    for (ULONG n = 1; n <= SENSORKIT_MAX_SENSORS; n++) {
        f->SensorReadings[n] = ReadAcquire(&a->sensor_readings[n]);
        f->SensorLast[n] = ReadAcquire(&a->sensor_last[n]);
    }
    recorder = recorder_enter(a);
    if (recorder) {
        f->RecorderAttached = 1;
        f->Recorded = recorder->dispatch->Recorded(recorder->provider_context);
        recorder_leave(recorder);
    }
}

static VOID aggregator_ioctl(WDFQUEUE queue, WDFREQUEST request, size_t out_len, size_t in_len, ULONG code)
{
    AGGREGATOR_CONTEXT *a = aggregator_context(WdfIoQueueGetDevice(queue));
    WDFFILEOBJECT file = WdfRequestGetFileObject(request);
    SENSORKIT_FIGURES *f;
    NTSTATUS status;

    if (code != IOCTL_SENSORKIT_GET_FIGURES || !file) {
        WdfRequestComplete(request, STATUS_INVALID_DEVICE_REQUEST);
        return;
    }
    status = WdfRequestRetrieveOutputBuffer(request, sizeof(*f), (PVOID *)&f, NULL);
    if (!NT_SUCCESS(status)) {
        WdfRequestComplete(request, status);
        return;
    }
    figures_fill(a, handle_context(file), f);
    WdfRequestCompleteWithInformation(request, STATUS_SUCCESS, sizeof(*f));
}

/* =============================================================================================
 * PnP and the device
 * ============================================================================================= */

static NTSTATUS aggregator_prepare_hardware(WDFDEVICE device, WDFCMRESLIST raw, WDFCMRESLIST translated)
{
    AGGREGATOR_CONTEXT *a = aggregator_context(device);

    /* A recorder registered already is attached from inside this call. */
    return NmrRegisterClient(&a->nmr_client, a, &a->nmr);
}

static NTSTATUS aggregator_release_hardware(WDFDEVICE device, WDFCMRESLIST translated)
{
    AGGREGATOR_CONTEXT *a = aggregator_context(device);

    if (!a->nmr)
        return STATUS_SUCCESS;
    /* Detaches from the recorder (a detach pends until the calls in progress return), then the
     * wait returns once every binding is cleaned up. */
    NmrDeregisterClient(a->nmr);
    NmrWaitForClientDeregisterComplete(a->nmr);
    a->nmr = NULL;
    return STATUS_SUCCESS;
}

static NTSTATUS aggregator_device_add(WDFDRIVER driver, PWDFDEVICE_INIT init)
{
    PDMFDEVICE_INIT dmf_init = DMF_DmfDeviceInitAllocate(init);
    WDF_PNPPOWER_EVENT_CALLBACKS pnp;
    WDF_FILEOBJECT_CONFIG files;
    WDF_IO_QUEUE_CONFIG queue;
    WDF_OBJECT_ATTRIBUTES attributes;
    WDF_WORKITEM_CONFIG work;
    DMF_EVENT_CALLBACKS callbacks;
    UNICODE_STRING reference;
    AGGREGATOR_CONTEXT *a;
    WDFDEVICE device;
    WDFQUEUE default_queue;
    NTSTATUS status;

    WDF_PNPPOWER_EVENT_CALLBACKS_INIT(&pnp);
    pnp.EvtDevicePrepareHardware = aggregator_prepare_hardware;
    pnp.EvtDeviceReleaseHardware = aggregator_release_hardware;
    DMF_DmfDeviceInitHookPnpPowerEventCallbacks(dmf_init, &pnp);
    WdfDeviceInitSetPnpPowerEventCallbacks(init, &pnp);
    DMF_DmfDeviceInitHookPowerPolicyEventCallbacks(dmf_init, NULL);

    /* One WDF file object per application handle, with a HANDLE_CONTEXT. */
    WDF_FILEOBJECT_CONFIG_INIT(&files, aggregator_file_create, NULL, aggregator_file_cleanup);
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, HANDLE_CONTEXT);
    DMF_DmfDeviceInitHookFileObjectConfig(dmf_init, &files);
    WdfDeviceInitSetFileObjectConfig(init, &files, &attributes);

    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&queue, WdfIoQueueDispatchParallel);
    queue.EvtIoDeviceControl = aggregator_ioctl;
    DMF_DmfDeviceInitHookQueueConfig(dmf_init, &queue);

    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, AGGREGATOR_CONTEXT);
    status = WdfDeviceCreate(&init, &attributes, &device);
    if (!NT_SUCCESS(status))
        goto free_dmf_init;
    a = aggregator_context(device);
    a->device = device;
    KeInitializeSpinLock(&a->lock);
    InitializeListHead(&a->handles);
    a->module_id.Length = sizeof(a->module_id);
    a->module_id.Type = MIT_GUID;
    a->module_id.Guid = GUID_DEVINTERFACE_SENSORKIT_AGGREGATOR; /* the module's own id */
    a->nmr_client.Length = sizeof(a->nmr_client);
    a->nmr_client.ClientAttachProvider = recorder_attach;
    a->nmr_client.ClientDetachProvider = recorder_detach;
    a->nmr_client.ClientCleanupBindingContext = recorder_cleanup;
    a->nmr_client.ClientRegistrationInstance.Size = sizeof(NPI_REGISTRATION_INSTANCE);
    a->nmr_client.ClientRegistrationInstance.NpiId = &NPI_SENSORKIT_RECORDER_ID;
    a->nmr_client.ClientRegistrationInstance.ModuleId = &a->module_id;

    status = WdfIoQueueCreate(device, &queue, WDF_NO_OBJECT_ATTRIBUTES, &default_queue);
    if (!NT_SUCCESS(status))
        goto free_dmf_init;
    WDF_WORKITEM_CONFIG_INIT(&work, events_post);
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    attributes.ParentObject = (WDFOBJECT)device;
    status = WdfWorkItemCreate(&work, &attributes, &a->poster);
    if (!NT_SUCCESS(status))
        goto free_dmf_init;
    RtlInitUnicodeString(&reference, SENSORKIT_AGGREGATOR_REFERENCE);
    status = WdfDeviceCreateDeviceInterface(device, &GUID_DEVINTERFACE_SENSORKIT_AGGREGATOR, &reference);
    if (!NT_SUCCESS(status))
        goto free_dmf_init;

    DMF_EVENT_CALLBACKS_INIT(&callbacks);
    callbacks.EvtDmfDeviceModulesAdd = aggregator_modules_add;
    DMF_DmfDeviceInitSetEventCallbacks(dmf_init, &callbacks);
    return DMF_ModulesCreate(device, &dmf_init); /* frees dmf_init in every case */

free_dmf_init:
    DMF_DmfDeviceInitFree(&dmf_init);
    return status;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    WDF_DRIVER_CONFIG config;

    WDF_DRIVER_CONFIG_INIT(&config, aggregator_device_add);
    return WdfDriverCreate(DriverObject, RegistryPath, WDF_NO_OBJECT_ATTRIBUTES, &config, WDF_NO_HANDLE);
}
