/*
 * sample_sink.h — the "sample sink" NPI shared by the two modules of this example, as a real NPI
 * header would be shared by its clients and providers.
 *
 * A client (a producer of samples) hands samples to a provider (a sink) through the provider's
 * dispatch table (Deliver); the sink tells the producer how many samples it holds through the
 * client's dispatch table (Notify). The provider advertises its maximum sample length in its
 * NPI-specific characteristics, which the client checks before attaching.
 */
#ifndef SAMPLE_SINK_H
#define SAMPLE_SINK_H

#include <pnpkit/netioddk.h>
#include <pnpkit/wdm.h>

/* {5A3D1F20-7C4B-4E9A-8B16-3F0E2D9C6A71} */
DEFINE_GUID(NPI_SAMPLE_SINK_ID, 0x5a3d1f20, 0x7c4b, 0x4e9a, 0x8b, 0x16, 0x3f, 0x0e, 0x2d, 0x9c, 0x6a, 0x71);

/* What the provider offers; the client keeps the pointer while attached. */
typedef struct _SINK_PROVIDER_DISPATCH {
    USHORT Version;
    NTSTATUS (*Deliver)(PVOID ProviderBindingContext, PCSTR Sample);
} SINK_PROVIDER_DISPATCH;

/* What the client offers back. */
typedef struct _SINK_CLIENT_DISPATCH {
    USHORT Version;
    VOID (*Notify)(PVOID ClientBindingContext, ULONG SamplesHeld);
} SINK_CLIENT_DISPATCH;

/* The provider's NPI-specific characteristics. */
typedef struct _SINK_PROVIDER_CHARACTERISTICS {
    ULONG MaxSampleLength;
} SINK_PROVIDER_CHARACTERISTICS;

/* ---- What the example's files share ---- */

/* Prints one step, prefixed with the calling thread's label and its IRQL when raised. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Labels the calling thread in the output ("main", "sender", "timer"). */
void set_thread_label(const char *label);

/* A call gate: how a module knows whether it has calls in progress into its peer, and who must
 * complete a pending detach. Every call into the peer runs between call_gate_enter (FALSE once
 * the gate is closed: the module must start no new call) and call_gate_leave. The detach
 * callback closes the gate: when no call is in progress it returns STATUS_SUCCESS, otherwise
 * STATUS_PENDING, and the last call to leave calls the Complete function. */
typedef struct _CALL_GATE {
    KSPIN_LOCK Lock;
    ULONG InFlight;
    BOOLEAN Closed;
    HANDLE BindingHandle;
    VOID (*Complete)(HANDLE NmrBindingHandle);
    PCSTR Owner;
} CALL_GATE;

void call_gate_init(CALL_GATE *gate, HANDLE binding, VOID (*complete)(HANDLE), PCSTR owner);
BOOLEAN call_gate_enter(CALL_GATE *gate);
void call_gate_leave(CALL_GATE *gate);
/* Closes the gate; *in_flight receives the number of calls still in progress. */
NTSTATUS call_gate_close(CALL_GATE *gate, ULONG *in_flight);

/* ---- The sink (provider module, provider.c) ---- */
typedef struct sink_module sink_module;
sink_module *sink_create(PCSTR name, ULONG max_sample_length);
NTSTATUS sink_register(sink_module *sink);
NTSTATUS sink_deregister(sink_module *sink);
NTSTATUS sink_wait(sink_module *sink);
void sink_destroy(sink_module *sink);
/* The next delivery blocks until disk_ready is signalled, and signals started when it begins. */
void sink_make_next_delivery_slow(sink_module *sink, PKEVENT started, PKEVENT disk_ready);

/* ---- The producer (client module, client.c) ---- */
NTSTATUS producer_register(void);
/* Sends one sample to the sink the producer is attached to. */
NTSTATUS producer_send(PCSTR sample);
NTSTATUS producer_deregister(void);
NTSTATUS producer_wait(void);

#endif /* SAMPLE_SINK_H */
