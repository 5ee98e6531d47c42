/*
 * pnpkit_demo — what `make run` shows until the host (pnphost) exists: a tour of the parts of
 * pnpkit that are built, each step printing what really happened.
 *
 * Today: status codes and GUIDs, UTF-16 strings, the emulated IRQL and the verifier, work
 * items, timers, rundown protection, and the WDF object model (contexts, parent/child
 * deletion, references, stale-handle detection).
 */
#include <pnpkit.h>

#include <stdio.h>
#include <string.h>

DEFINE_GUID(GUID_DEVINTERFACE_PNPKIT_SENSOR, 0x5b8f2c1e, 0x3d4a, 0x4f6b, 0x9a, 0x1c, 0x7e, 0x2d, 0x4b, 0x8f, 0x60, 0x13);

typedef struct {
    char name[32];
} NODE_CONTEXT;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(NODE_CONTEXT, GetNode)

static VOID node_cleanup(WDFOBJECT o) { printf("    cleanup  %s\n", GetNode(o)->name); }
static VOID node_destroy(WDFOBJECT o) { printf("    destroy  %s\n", GetNode(o)->name); }

static WDFOBJECT node(const char *name, WDFOBJECT parent)
{
    WDF_OBJECT_ATTRIBUTES a;
    WDFOBJECT o;
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&a, NODE_CONTEXT);
    a.EvtCleanupCallback = node_cleanup;
    a.EvtDestroyCallback = node_destroy;
    a.ParentObject = parent;
    if (!NT_SUCCESS(WdfObjectCreate(&a, &o)))
        return NULL;
    snprintf(GetNode(o)->name, sizeof(GetNode(o)->name), "%s", name);
    return o;
}

static KEVENT work_done;
static KIRQL work_irql;
static VOID work_routine(PVOID context)
{
    work_irql = KeGetCurrentIrql();
    KeSetEvent(&work_done, IO_NO_INCREMENT, FALSE);
}

static volatile LONG ticks;
static KEVENT ticked_three_times;
static VOID tick(PEX_TIMER timer, PVOID context)
{
    if (InterlockedIncrement(&ticks) == 3)
        KeSetEvent(&ticked_three_times, IO_NO_INCREMENT, FALSE);
}

static int verifier_findings;
static VOID count_findings(PVOID ctx, PNPKIT_VERIFIER_SEVERITY sev, PCSTR api, PCSTR msg)
{
    verifier_findings++;
    printf("    verifier %s: %s: %s\n", sev == PnpkitVerifierStop ? "stop" : "report", api, msg);
}

int main(void)
{
    char text[PNPKIT_GUID_STRING_CHARS];
    UNICODE_STRING link, upper;
    GUID parsed;
    KIRQL old;

    printf("pnpkit demonstration\n====================\n\n");

    printf("1. Status codes carry their Windows values and names\n");
    NTSTATUS samples[] = { STATUS_SUCCESS, STATUS_PENDING, STATUS_INVALID_DEVICE_STATE, STATUS_NOINTERFACE,
                           STATUS_WDF_DEVICE_REMOVED_NOT_SENT };
    for (size_t i = 0; i < ARRAYSIZE(samples); i++)
        printf("    0x%08X  %-36s NT_SUCCESS=%d\n", (unsigned)samples[i], PnpkitStatusName(samples[i]),
               NT_SUCCESS(samples[i]));

    printf("\n2. GUIDs in the registry form, and case-insensitive UTF-16 links\n");
    PnpkitGuidFormat(&GUID_DEVINTERFACE_PNPKIT_SENSOR, text, sizeof(text), 0);
    printf("    interface class %s\n", text);
    PnpkitGuidParse("{5B8F2C1E-3D4A-4F6B-9A1C-7E2D4B8F6013}", &parsed);
    printf("    the upper-case form parses to the same GUID: %s\n",
           IsEqualGUID(&parsed, &GUID_DEVINTERFACE_PNPKIT_SENSOR) ? "yes" : "no");
    PnpkitUnicodeStringFromUtf8(&link, "\\??\\SWD#pnpkit#sensor-1#{5b8f2c1e-3d4a-4f6b-9a1c-7e2d4b8f6013}\\live");
    PnpkitUnicodeStringFromUtf8(&upper, "\\??\\swd#PNPKIT#SENSOR-1#{5B8F2C1E-3D4A-4F6B-9A1C-7E2D4B8F6013}\\LIVE");
    printf("    two spellings of one link are equal ignoring case: %s\n",
           RtlEqualUnicodeString(&link, &upper, TRUE) ? "yes" : "no");
    RtlFreeUnicodeString(&link);
    RtlFreeUnicodeString(&upper);

    printf("\n3. The emulated IRQL, and the verifier catching a wait at DISPATCH_LEVEL\n");
    PnpkitVerifierEnable(TRUE);
    PnpkitVerifierSetHandler(count_findings, NULL);
    KSPIN_LOCK lock;
    KeInitializeSpinLock(&lock);
    KeAcquireSpinLock(&lock, &old);
    printf("    holding a spin lock: IRQL %u (DISPATCH_LEVEL)\n", KeGetCurrentIrql());
    KEVENT never;
    KeInitializeEvent(&never, NotificationEvent, FALSE);
    NTSTATUS st = KeWaitForSingleObject(&never, Executive, KernelMode, FALSE, NULL);
    printf("    the wait returned %s instead of deadlocking\n", PnpkitStatusName(st));
    KeReleaseSpinLock(&lock, old);
    printf("    after release: IRQL %u\n", KeGetCurrentIrql());

    printf("\n4. Work items run at PASSIVE_LEVEL on the pool; timers fire on the timer thread\n");
    WORK_QUEUE_ITEM item;
    KeInitializeEvent(&work_done, NotificationEvent, FALSE);
    ExInitializeWorkItem(&item, work_routine, NULL);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    ExQueueWorkItem(&item, DelayedWorkQueue);
    KeLowerIrql(old);
    KeWaitForSingleObject(&work_done, Executive, KernelMode, FALSE, NULL);
    printf("    work item queued at DISPATCH_LEVEL ran at IRQL %u\n", work_irql);
    KeInitializeEvent(&ticked_three_times, NotificationEvent, FALSE);
    PEX_TIMER timer = ExAllocateTimer(tick, NULL, 0);
    ExSetTimer(timer, -10000 * 5, 10000 * 5, NULL);
    KeWaitForSingleObject(&ticked_three_times, Executive, KernelMode, FALSE, NULL);
    ExDeleteTimer(timer, TRUE, TRUE, NULL);
    printf("    a 5 ms periodic timer ticked %d times before ExDeleteTimer(Cancel, Wait)\n", (int)ticks);

    printf("\n5. Rundown protection: a wait refuses new holders and waits for the old ones\n");
    EX_RUNDOWN_REF run;
    ExInitializeRundownProtection(&run);
    BOOLEAN first = ExAcquireRundownProtection(&run);
    ExReleaseRundownProtection(&run);
    ExWaitForRundownProtectionRelease(&run);
    printf("    acquire before the wait: %s; after: %s\n", first ? "granted" : "refused",
           ExAcquireRundownProtection(&run) ? "granted" : "refused");

    printf("\n6. WDF objects: deleting a parent deletes its children first\n");
    WDFOBJECT device = node("device", NULL);
    WDFOBJECT queue = node("queue", device);
    node("request-1", queue);
    node("request-2", queue);
    WDFOBJECT target = node("io-target", device);
    printf("    %u live objects; WdfObjectReference(io-target), then WdfObjectDelete(device):\n",
           PnpkitLiveObjectCount());
    WdfObjectReference(target);
    WdfObjectDelete(device);
    printf("    io-target is cleaned up but still referenced, so its memory (and its parent's) lives:\n");
    printf("    context of io-target still reads \"%s\"; WdfObjectDereference(io-target):\n",
           GetNode(target)->name);
    WdfObjectDereference(target);
    printf("    %u live objects\n", PnpkitLiveObjectCount());

    printf("\n7. A stale handle is caught, never dereferenced\n");
    PVOID ctx = GetNode(queue);
    printf("    GetNode(deleted queue) = %p; verifier findings so far: %d\n", ctx, verifier_findings);

    PnpkitVerifierSetHandler(NULL, NULL);
    PnpkitShutdown();
    printf("\nShut down; %u live objects remain.\n", PnpkitLiveObjectCount());
    return PnpkitLiveObjectCount() == 0 && verifier_findings == 2 ? 0 : 1;
}
