/*
 * recorder.c — the recorder of the main job (driver package libsk_recorder.so, hardware id
 * SENSORKIT\RECORDER): an NMR provider module (seed 004) that stores the samples its clients
 * hand it.
 *
 * What it shows: the provider side of an NPI. While its device is started the recorder is
 * registered as a provider of NPI_SENSORKIT_RECORDER_ID (NmrRegisterProvider in
 * PrepareHardware; NmrDeregisterProvider and NmrWaitForProviderDeregisterComplete in
 * ReleaseHardware, which detaches every client first). Each client that attaches
 * (ProviderAttachClient, called from inside the client's NmrClientAttachProvider) gets a binding
 * context and the dispatch table SENSORKIT_RECORDER_DISPATCH: Record keeps the sample in a ring
 * of the last RECORDER_RING samples and counts it, Recorded reports the count. The recorder
 * makes no calls into its clients, so its detach never has to pend.
 *
 * The aggregator (aggregator.c) is its client: it records every reading it streams.
 */
#include <pnpkit.h>

#include <stdlib.h>

#include "../sensorkit.h"

#define RECORDER_RING 4096

typedef struct {
    NPI_MODULEID module_id;
    NPI_PROVIDER_CHARACTERISTICS characteristics;
    HANDLE nmr;                   /* the provider registration while started, else NULL */
    KSPIN_LOCK lock;              /* protects ring, next and stored */
    SENSORKIT_READING ring[RECORDER_RING];
    ULONG next;                   /* where the next sample goes */
    ULONGLONG stored;             /* samples stored since the device started */
} RECORDER_CONTEXT;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(RECORDER_CONTEXT, recorder_context)

/* One per attached client. */
typedef struct {
    RECORDER_CONTEXT *recorder;
    ULONGLONG recorded;           /* through this binding (interlocked) */
} RECORDER_BINDING;

PNPKIT_API NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

/* ---- The NPI's provider dispatch table (any IRQL <= DISPATCH_LEVEL) ---- */

static NTSTATUS recorder_record(PVOID provider_binding_context, const SENSORKIT_READING *sample)
{
    RECORDER_BINDING *b = provider_binding_context;
    RECORDER_CONTEXT *r = b->recorder;
    KIRQL irql;

    KeAcquireSpinLock(&r->lock, &irql);
    r->ring[r->next] = *sample;
    r->next = (r->next + 1) % RECORDER_RING;
    r->stored++;
    KeReleaseSpinLock(&r->lock, irql);
    InterlockedIncrement64(&b->recorded);
    return STATUS_SUCCESS;
}

static ULONGLONG recorder_recorded(PVOID provider_binding_context)
{
    RECORDER_CONTEXT *r = ((RECORDER_BINDING *)provider_binding_context)->recorder;
    ULONGLONG stored;
    KIRQL irql;

    KeAcquireSpinLock(&r->lock, &irql);
    stored = r->stored;
    KeReleaseSpinLock(&r->lock, irql);
    return stored;
}

static const SENSORKIT_RECORDER_DISPATCH recorder_dispatch = { 1, recorder_record, recorder_recorded };

/* ---- NMR provider callbacks ---- */

static NTSTATUS NTAPI recorder_attach_client(HANDLE binding, PVOID provider_context,
                                             const NPI_REGISTRATION_INSTANCE *client, PVOID client_binding_context,
                                             const VOID *client_dispatch, PVOID *provider_binding_context,
                                             const VOID **provider_dispatch)
{
    RECORDER_BINDING *b = calloc(1, sizeof(*b));

    if (!b)
        return STATUS_INSUFFICIENT_RESOURCES;
    b->recorder = provider_context;
    *provider_binding_context = b;
    *provider_dispatch = &recorder_dispatch;
    return STATUS_SUCCESS;
}

/* The recorder never calls into a client: nothing can be in progress, the detach completes now. */
static NTSTATUS NTAPI recorder_detach_client(PVOID provider_binding_context) { return STATUS_SUCCESS; }

static VOID NTAPI recorder_cleanup_binding(PVOID provider_binding_context) { free(provider_binding_context); }

/* ---- PnP ---- */

static NTSTATUS recorder_prepare_hardware(WDFDEVICE device, WDFCMRESLIST raw, WDFCMRESLIST translated)
{
    RECORDER_CONTEXT *r = recorder_context(device);

    r->stored = 0;
    r->next = 0;
    /* Clients registered already are offered to the recorder from inside this call. */
    return NmrRegisterProvider(&r->characteristics, r, &r->nmr);
}

static NTSTATUS recorder_release_hardware(WDFDEVICE device, WDFCMRESLIST translated)
{
    RECORDER_CONTEXT *r = recorder_context(device);

    if (!r->nmr)
        return STATUS_SUCCESS;
    /* Detaches every client (each finishes its calls into Record first), then the wait returns. */
    NmrDeregisterProvider(r->nmr);
    NmrWaitForProviderDeregisterComplete(r->nmr);
    r->nmr = NULL;
    return STATUS_SUCCESS;
}

static NTSTATUS recorder_device_add(WDFDRIVER driver, PWDFDEVICE_INIT init)
{
    WDF_PNPPOWER_EVENT_CALLBACKS pnp;
    WDF_OBJECT_ATTRIBUTES attributes;
    RECORDER_CONTEXT *r;
    WDFDEVICE device;
    NTSTATUS status;

    WDF_PNPPOWER_EVENT_CALLBACKS_INIT(&pnp);
    pnp.EvtDevicePrepareHardware = recorder_prepare_hardware;
    pnp.EvtDeviceReleaseHardware = recorder_release_hardware;
    WdfDeviceInitSetPnpPowerEventCallbacks(init, &pnp);
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, RECORDER_CONTEXT);
    status = WdfDeviceCreate(&init, &attributes, &device);
    if (!NT_SUCCESS(status))
        return status;
    r = recorder_context(device);
    KeInitializeSpinLock(&r->lock);
    r->module_id.Length = sizeof(r->module_id);
    r->module_id.Type = MIT_GUID;
    r->module_id.Guid = NPI_SENSORKIT_RECORDER_ID;
    r->module_id.Guid.Data1 ^= 0x1; /* the module's own id: any GUID unique to it */
    r->characteristics.Length = sizeof(r->characteristics);
    r->characteristics.ProviderAttachClient = recorder_attach_client;
    r->characteristics.ProviderDetachClient = recorder_detach_client;
    r->characteristics.ProviderCleanupBindingContext = recorder_cleanup_binding;
    r->characteristics.ProviderRegistrationInstance.Size = sizeof(NPI_REGISTRATION_INSTANCE);
    r->characteristics.ProviderRegistrationInstance.NpiId = &NPI_SENSORKIT_RECORDER_ID;
    r->characteristics.ProviderRegistrationInstance.ModuleId = &r->module_id;
    return STATUS_SUCCESS;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    WDF_DRIVER_CONFIG config;

    WDF_DRIVER_CONFIG_INIT(&config, recorder_device_add);
    return WdfDriverCreate(DriverObject, RegistryPath, WDF_NO_OBJECT_ATTRIBUTES, &config, WDF_NO_HANDLE);
}
