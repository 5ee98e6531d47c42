/*
 * client.c — the "producer" client module of the sample sink NPI.
 *
 * The producer registers once and attaches to every sink whose maximum sample length is enough
 * for it. Each attachment gets a producer_binding (the client binding context), allocated in
 * ClientAttachProvider and freed in ClientCleanupBindingContext (or by ClientAttachProvider
 * itself when the sink declines). Samples go to the most recent sink. The producer's calls into
 * a sink (Deliver) run through the binding's call gate, so that ClientDetachProvider knows
 * whether it must pend; the last call to leave then completes the detach, on its own thread.
 */
#include "sample_sink.h"

#include <stdlib.h>

#define PRODUCER_NEEDS_BYTES 32

typedef struct producer_binding {
    PVOID sink_context;
    const SINK_PROVIDER_DISPATCH *sink_dispatch;
    CALL_GATE calls_into_sink;
} producer_binding;

static struct {
    NPI_MODULEID module_id;
    NPI_CLIENT_CHARACTERISTICS characteristics;
    HANDLE handle;
    KSPIN_LOCK lock;            /* protects current */
    producer_binding *current;  /* the sink samples go to; NULL when none */
} producer;

static VOID producer_notify(PVOID client_binding_context, ULONG samples_held)
{
    say("[producer] Notify: the sink holds %u sample(s)", (unsigned)samples_held);
}

static const SINK_CLIENT_DISPATCH producer_dispatch = { 1, producer_notify };

static NTSTATUS NTAPI producer_attach_provider(HANDLE binding, PVOID client_context,
                                               const NPI_REGISTRATION_INSTANCE *provider)
{
    const SINK_PROVIDER_CHARACTERISTICS *specific = provider->NpiSpecificCharacteristics;
    producer_binding *b;
    NTSTATUS status;
    KIRQL old;

    /* The registrar matched the NpiId only; the rest is the client's decision. */
    if (!specific || specific->MaxSampleLength < PRODUCER_NEEDS_BYTES) {
        say("[producer] ClientAttachProvider: the sink takes at most %u bytes, not enough -> STATUS_NOINTERFACE",
            specific ? (unsigned)specific->MaxSampleLength : 0);
        return STATUS_NOINTERFACE;
    }
    say("[producer] ClientAttachProvider: the sink takes %u bytes -> NmrClientAttachProvider",
        (unsigned)specific->MaxSampleLength);
    b = calloc(1, sizeof(*b));
    if (!b)
        return STATUS_INSUFFICIENT_RESOURCES;
    call_gate_init(&b->calls_into_sink, binding, NmrClientDetachProviderComplete, "producer");
    status = NmrClientAttachProvider(binding, b, &producer_dispatch, &b->sink_context,
                                     (const VOID **)&b->sink_dispatch);
    say("[producer] NmrClientAttachProvider -> %s", PnpkitStatusName(status));
    if (!NT_SUCCESS(status)) {
        free(b); /* No binding: no cleanup callback will come. */
        return status;
    }
    KeAcquireSpinLock(&producer.lock, &old);
    producer.current = b;
    KeReleaseSpinLock(&producer.lock, old);
    return STATUS_SUCCESS;
}

static NTSTATUS NTAPI producer_detach_provider(PVOID client_binding_context)
{
    producer_binding *b = client_binding_context;
    ULONG in_flight;
    NTSTATUS status = call_gate_close(&b->calls_into_sink, &in_flight);

    if (status == STATUS_PENDING)
        say("[producer] ClientDetachProvider: %u call(s) into the sink in progress -> STATUS_PENDING",
            (unsigned)in_flight);
    else
        say("[producer] ClientDetachProvider: no call in progress -> STATUS_SUCCESS");
    return status;
}

static VOID NTAPI producer_cleanup(PVOID client_binding_context)
{
    producer_binding *b = client_binding_context;
    KIRQL old;

    KeAcquireSpinLock(&producer.lock, &old);
    if (producer.current == b)
        producer.current = NULL;
    KeReleaseSpinLock(&producer.lock, old);
    say("[producer] ClientCleanupBindingContext: freeing the binding context");
    free(b);
}

NTSTATUS producer_register(void)
{
    KeInitializeSpinLock(&producer.lock);
    producer.module_id.Length = sizeof(producer.module_id);
    producer.module_id.Type = MIT_GUID;
    producer.module_id.Guid.Data1 = 0x9d0c;
    producer.characteristics.Length = sizeof(producer.characteristics);
    producer.characteristics.ClientAttachProvider = producer_attach_provider;
    producer.characteristics.ClientDetachProvider = producer_detach_provider;
    producer.characteristics.ClientCleanupBindingContext = producer_cleanup;
    producer.characteristics.ClientRegistrationInstance.Size = sizeof(NPI_REGISTRATION_INSTANCE);
    producer.characteristics.ClientRegistrationInstance.NpiId = &NPI_SAMPLE_SINK_ID;
    producer.characteristics.ClientRegistrationInstance.ModuleId = &producer.module_id;
    return NmrRegisterClient(&producer.characteristics, NULL, &producer.handle);
}

NTSTATUS producer_send(PCSTR sample)
{
    producer_binding *b;
    NTSTATUS status;
    KIRQL old;

    /* Enter the gate under the lock that guards `current`: a binding whose gate is entered is
     * not cleaned up (its detach cannot complete) until the call has left. */
    KeAcquireSpinLock(&producer.lock, &old);
    b = producer.current;
    if (b && !call_gate_enter(&b->calls_into_sink))
        b = NULL;
    KeReleaseSpinLock(&producer.lock, old);
    if (!b)
        return STATUS_DEVICE_NOT_CONNECTED;
    status = b->sink_dispatch->Deliver(b->sink_context, sample);
    call_gate_leave(&b->calls_into_sink);
    return status;
}

NTSTATUS producer_deregister(void) { return NmrDeregisterClient(producer.handle); }
NTSTATUS producer_wait(void) { return NmrWaitForClientDeregisterComplete(producer.handle); }
