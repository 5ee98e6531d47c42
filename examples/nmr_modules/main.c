/*
 * nmr_modules — a provider module ("sink", provider.c) and a client module ("producer",
 * client.c) of a small NPI (sample_sink.h) meet through the Network Module Registrar, call each
 * other through their dispatch tables, and part: the sink deregisters while a slow delivery is
 * still running, so the producer's ClientDetachProvider pends, and the delivery's own thread
 * completes it when the call returns. The producer stays registered and attaches to the next
 * sink that registers. Every step is printed.
 *
 * This file holds the scenario and the helpers both modules share (say, the call gate).
 */
#include "sample_sink.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- Output ---- */

static __thread const char *thread_label = "?";
static pthread_mutex_t say_mutex = PTHREAD_MUTEX_INITIALIZER;

void set_thread_label(const char *label) { thread_label = label; }

void say(const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&say_mutex);
    printf("  %-7s%s ", thread_label, KeGetCurrentIrql() == DISPATCH_LEVEL ? "@DPC" : "    ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    pthread_mutex_unlock(&say_mutex);
}

static void step(const char *text)
{
    pthread_mutex_lock(&say_mutex);
    printf("\n%s\n", text);
    pthread_mutex_unlock(&say_mutex);
}

/* ---- The call gate (sample_sink.h) ---- */

void call_gate_init(CALL_GATE *gate, HANDLE binding, VOID (*complete)(HANDLE), PCSTR owner)
{
    KeInitializeSpinLock(&gate->Lock);
    gate->InFlight = 0;
    gate->Closed = FALSE;
    gate->BindingHandle = binding;
    gate->Complete = complete;
    gate->Owner = owner;
}

BOOLEAN call_gate_enter(CALL_GATE *gate)
{
    BOOLEAN open;
    KIRQL old;

    KeAcquireSpinLock(&gate->Lock, &old);
    open = !gate->Closed;
    if (open)
        gate->InFlight++;
    KeReleaseSpinLock(&gate->Lock, old);
    return open;
}

void call_gate_leave(CALL_GATE *gate)
{
    BOOLEAN last;
    KIRQL old;

    KeAcquireSpinLock(&gate->Lock, &old);
    last = --gate->InFlight == 0 && gate->Closed;
    KeReleaseSpinLock(&gate->Lock, old);
    if (last) {
        /* The binding handle stays valid until the cleanup, which cannot run before this. */
        say("[%s] the last call into the peer returned -> completing the pending detach", gate->Owner);
        gate->Complete(gate->BindingHandle);
    }
}

NTSTATUS call_gate_close(CALL_GATE *gate, ULONG *in_flight)
{
    KIRQL old;

    KeAcquireSpinLock(&gate->Lock, &old);
    gate->Closed = TRUE;
    *in_flight = gate->InFlight;
    KeReleaseSpinLock(&gate->Lock, old);
    return *in_flight ? STATUS_PENDING : STATUS_SUCCESS;
}

/* ---- The scenario ---- */

static void expect(NTSTATUS got, NTSTATUS wanted, const char *what)
{
    say("%s -> %s", what, PnpkitStatusName(got));
    if (got != wanted) {
        fprintf(stderr, "nmr_modules: %s returned %s, expected %s\n", what, PnpkitStatusName(got),
                PnpkitStatusName(wanted));
        exit(1);
    }
}

static NTSTATUS slow_send_status;

static void *sender(void *arg)
{
    set_thread_label("sender");
    slow_send_status = producer_send("calibration-table");
    return NULL;
}

static KEVENT disk_ready;

static VOID disk_timer(PKDPC dpc, PVOID context, PVOID a1, PVOID a2)
{
    set_thread_label("timer");
    say("the disk is ready");
    KeSetEvent(&disk_ready, IO_NO_INCREMENT, FALSE);
}

int main(void)
{
    sink_module *tiny, *sink, *sink2;
    KEVENT slow_started;
    KTIMER timer;
    KDPC dpc;
    pthread_t thread;

    set_thread_label("main");
    printf("nmr_modules: a sample sink NPI, one producer (client) and its sinks (providers)\n");

    step("1. A sink with 8-byte samples registers, then the producer; the producer declines it.");
    tiny = sink_create("tiny", 8);
    sink = sink_create("sink", 64);
    sink2 = sink_create("sink2", 128);
    if (!tiny || !sink || !sink2)
        return 1;
    expect(sink_register(tiny), STATUS_SUCCESS, "NmrRegisterProvider(tiny)");
    expect(producer_register(), STATUS_SUCCESS, "NmrRegisterClient(producer)");

    step("2. A sink with 64-byte samples registers: the registrar proposes it to the producer.");
    expect(sink_register(sink), STATUS_SUCCESS, "NmrRegisterProvider(sink)");

    step("3. The modules call each other through their dispatch tables.");
    expect(producer_send("temperature=21.5"), STATUS_SUCCESS, "producer_send");
    expect(producer_send("humidity=40"), STATUS_SUCCESS, "producer_send");

    step("4. A sender thread starts a slow delivery; the sink deregisters while it runs.");
    KeInitializeEvent(&slow_started, NotificationEvent, FALSE);
    KeInitializeEvent(&disk_ready, NotificationEvent, FALSE);
    sink_make_next_delivery_slow(sink, &slow_started, &disk_ready);
    pthread_create(&thread, NULL, sender, NULL);
    KeWaitForSingleObject(&slow_started, Executive, KernelMode, FALSE, NULL);
    expect(sink_deregister(sink), STATUS_PENDING, "NmrDeregisterProvider(sink)");

    step("5. A timer lets the disk finish in 100 ms; the wait blocks until the pending detach completes.");
    {
        LARGE_INTEGER due;
        due.QuadPart = WDF_REL_TIMEOUT_IN_MS(100);
        KeInitializeDpc(&dpc, disk_timer, NULL);
        KeInitializeTimer(&timer);
        KeSetTimer(&timer, due, &dpc);
    }
    expect(sink_wait(sink), STATUS_SUCCESS, "NmrWaitForProviderDeregisterComplete(sink)");
    pthread_join(thread, NULL);
    expect(slow_send_status, STATUS_SUCCESS, "the slow producer_send (on the sender thread)");
    expect(producer_send("pressure=1013"), STATUS_DEVICE_NOT_CONNECTED, "producer_send with no sink");

    step("6. The producer is still registered: a new sink attaches to it at once.");
    expect(sink_register(sink2), STATUS_SUCCESS, "NmrRegisterProvider(sink2)");
    expect(producer_send("pressure=1013"), STATUS_SUCCESS, "producer_send");

    step("7. The producer deregisters with no call in progress: both sides detach at once.");
    expect(producer_deregister(), STATUS_PENDING, "NmrDeregisterClient(producer)");
    expect(producer_wait(), STATUS_SUCCESS, "NmrWaitForClientDeregisterComplete(producer)");
    expect(sink_deregister(sink2), STATUS_PENDING, "NmrDeregisterProvider(sink2)");
    expect(sink_wait(sink2), STATUS_SUCCESS, "NmrWaitForProviderDeregisterComplete(sink2)");
    expect(sink_deregister(tiny), STATUS_PENDING, "NmrDeregisterProvider(tiny)");
    expect(sink_wait(tiny), STATUS_SUCCESS, "NmrWaitForProviderDeregisterComplete(tiny)");
    sink_destroy(tiny);
    sink_destroy(sink);
    sink_destroy(sink2);

    PnpkitShutdown();
    printf("\ndone: %u live object(s) left\n", (unsigned)PnpkitLiveObjectCount());
    return PnpkitLiveObjectCount() == 0 ? 0 : 1;
}
