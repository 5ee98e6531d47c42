/*
 * provider.c — the "sink" provider module of the sample sink NPI.
 *
 * One sink_module per registration. Each attached client gets a sink_binding (the provider
 * binding context), allocated in ProviderAttachClient and freed in
 * ProviderCleanupBindingContext. The sink's only call into a client is Notify, made from inside
 * Deliver; its call gate tracks those calls, so that ProviderDetachClient knows whether it must
 * pend.
 */
#include "sample_sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sink_module {
    char name[16];
    NPI_MODULEID module_id;
    SINK_PROVIDER_CHARACTERISTICS specific;
    NPI_PROVIDER_CHARACTERISTICS characteristics;
    HANDLE handle;
    PKEVENT slow_started;   /* set: the next delivery is slow */
    PKEVENT slow_disk_ready;
};

typedef struct sink_binding {
    sink_module *sink;
    PVOID client_context;
    const SINK_CLIENT_DISPATCH *client_dispatch;
    CALL_GATE calls_into_client;
    ULONG samples_held;      /* interlocked */
} sink_binding;

static NTSTATUS sink_deliver(PVOID provider_binding_context, PCSTR sample)
{
    sink_binding *b = provider_binding_context;
    sink_module *s = b->sink;
    PKEVENT disk_ready = InterlockedExchangePointer(&s->slow_disk_ready, NULL);
    ULONG held;

    if (strlen(sample) > s->specific.MaxSampleLength)
        return STATUS_INVALID_PARAMETER;
    if (disk_ready) {
        say("[%s] Deliver \"%s\": slow write, waiting for the disk", s->name, sample);
        KeSetEvent(s->slow_started, IO_NO_INCREMENT, FALSE);
        KeWaitForSingleObject(disk_ready, Executive, KernelMode, FALSE, NULL);
        say("[%s] Deliver \"%s\": written", s->name, sample);
    } else {
        say("[%s] Deliver \"%s\"", s->name, sample);
    }
    held = InterlockedIncrement(&b->samples_held);
    /* A call into the client: only while the gate is open. */
    if (call_gate_enter(&b->calls_into_client)) {
        b->client_dispatch->Notify(b->client_context, held);
        call_gate_leave(&b->calls_into_client);
    } else {
        say("[%s] detaching: no Notify to the client any more", s->name);
    }
    return STATUS_SUCCESS;
}

static const SINK_PROVIDER_DISPATCH sink_dispatch = { 1, sink_deliver };

static NTSTATUS NTAPI sink_attach_client(HANDLE binding, PVOID provider_context,
                                         const NPI_REGISTRATION_INSTANCE *client, PVOID client_binding_context,
                                         const VOID *client_dispatch, PVOID *provider_binding_context,
                                         const VOID **provider_dispatch)
{
    sink_module *s = provider_context;
    sink_binding *b;

    if (!client_dispatch) {
        say("[%s] ProviderAttachClient: the client has no dispatch table -> STATUS_NOINTERFACE", s->name);
        return STATUS_NOINTERFACE;
    }
    b = calloc(1, sizeof(*b));
    if (!b)
        return STATUS_INSUFFICIENT_RESOURCES;
    b->sink = s;
    b->client_context = client_binding_context;
    b->client_dispatch = client_dispatch;
    call_gate_init(&b->calls_into_client, binding, NmrProviderDetachClientComplete, s->name);
    say("[%s] ProviderAttachClient: accepting client module %#x", s->name, (unsigned)client->ModuleId->Guid.Data1);
    *provider_binding_context = b;
    *provider_dispatch = &sink_dispatch;
    return STATUS_SUCCESS;
}

static NTSTATUS NTAPI sink_detach_client(PVOID provider_binding_context)
{
    sink_binding *b = provider_binding_context;
    ULONG in_flight;
    NTSTATUS status = call_gate_close(&b->calls_into_client, &in_flight);

    say("[%s] ProviderDetachClient: %u Notify call(s) in progress -> %s", b->sink->name, (unsigned)in_flight,
        PnpkitStatusName(status));
    return status;
}

static VOID NTAPI sink_cleanup(PVOID provider_binding_context)
{
    sink_binding *b = provider_binding_context;

    say("[%s] ProviderCleanupBindingContext: %u sample(s) held; freeing the binding context", b->sink->name,
        (unsigned)b->samples_held);
    free(b);
}

sink_module *sink_create(PCSTR name, ULONG max_sample_length)
{
    sink_module *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->module_id.Length = sizeof(s->module_id);
    s->module_id.Type = MIT_GUID;
    s->module_id.Guid.Data1 = 0x51c0;
    s->specific.MaxSampleLength = max_sample_length;
    s->characteristics.Length = sizeof(s->characteristics);
    s->characteristics.ProviderAttachClient = sink_attach_client;
    s->characteristics.ProviderDetachClient = sink_detach_client;
    s->characteristics.ProviderCleanupBindingContext = sink_cleanup;
    s->characteristics.ProviderRegistrationInstance.Size = sizeof(NPI_REGISTRATION_INSTANCE);
    s->characteristics.ProviderRegistrationInstance.NpiId = &NPI_SAMPLE_SINK_ID;
    s->characteristics.ProviderRegistrationInstance.ModuleId = &s->module_id;
    s->characteristics.ProviderRegistrationInstance.NpiSpecificCharacteristics = &s->specific;
    return s;
}

NTSTATUS sink_register(sink_module *s) { return NmrRegisterProvider(&s->characteristics, s, &s->handle); }
NTSTATUS sink_deregister(sink_module *s) { return NmrDeregisterProvider(s->handle); }
NTSTATUS sink_wait(sink_module *s) { return NmrWaitForProviderDeregisterComplete(s->handle); }
void sink_destroy(sink_module *s) { free(s); }

void sink_make_next_delivery_slow(sink_module *s, PKEVENT started, PKEVENT disk_ready)
{
    s->slow_started = started;
    (void)InterlockedExchangePointer(&s->slow_disk_ready, disk_ready);
}
