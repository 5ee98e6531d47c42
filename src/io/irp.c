/*
 * irp.c — IRPs: allocation with a per-thread cache, initialization and reuse, IoCallDriver,
 * IoCompleteRequest with its walk up the stack, IoMarkIrpPending, IoSetCompletionRoutineEx, and
 * the synchronous send that the io layer uses for its own requests.
 *
 * The state of an IRP (IRP.PnpkitPrivate.State) changes atomically, so that misuse is caught
 * even when two threads race on one IRP:
 *
 *     IDLE --IoCallDriver--> SENT --IoCompleteRequest--> COMPLETING --walk passes the top--> DONE
 *                             ^                             |  ^
 *                             |      (completion routine) --+  | routine returns another status
 *                             +--IoCallDriver-- HELD <---------+
 *     HELD --IoCompleteRequest--> COMPLETING        IDLE/HELD/DONE --IoFreeIrp--> FREED
 *
 * HELD means a completion routine is running or returned STATUS_MORE_PROCESSING_REQUIRED: the
 * routine's owner has the IRP and may free it, reuse it, send it again or complete it further.
 *
 * The verifier check for STATUS_PENDING returned without IoMarkIrpPending must not read the
 * IRP after the dispatch routine returns (it may be completed and freed by then). IoCallDriver
 * therefore keeps a frame per call on the calling thread (call_frame): IoMarkIrpPending records
 * in the innermost frame of its IRP and stack location that it was called, and a nested
 * IoCallDriver of the same IRP that returned STATUS_PENDING records that too.
 *
 * The IRP cache: IoFreeIrp keeps up to CACHE_DEPTH IRPs of each capacity class per thread
 * (thread-local, so no lock), and IoAllocateIrp takes from it, so a stream of
 * allocate/send/complete-inline/free costs no malloc after warm-up. A thread's cache is freed
 * when the thread exits (a pthread key destructor) and the main thread's at process exit.
 *
 * Locking: none of pnpkit's own. Dispatch, completion and cancel routines run with no pnpkit
 * lock held. Who frees what: IoFreeIrp for IoAllocateIrp's IRPs, the completion walk for
 * IoBuild*Request's (irp_build.c).
 */
#include "io/io_internal.h"

#include <pthread.h>
#include <string.h>

/* ---- Cache ---------------------------------------------------------------------------- */

#define CACHE_CLASSES 5
#define CACHE_DEPTH 32
static const uint8_t class_capacity[CACHE_CLASSES] = { 1, 2, 4, 8, 16 };

typedef struct irp_cache {
    PIRP head[CACHE_CLASSES]; /* linked by PnpkitPrivate.Next */
    uint16_t count[CACHE_CLASSES];
    bool registered;          /* the thread-exit destructor knows this cache */
} irp_cache;

static __thread irp_cache tls_cache;
static pthread_key_t cache_key;
static pthread_once_t cache_key_once = PTHREAD_ONCE_INIT;

static void cache_drain(void *arg)
{
    irp_cache *c = arg;

    for (int i = 0; i < CACHE_CLASSES; i++) {
        while (c->head[i]) {
            PIRP irp = c->head[i];
            c->head[i] = irp->PnpkitPrivate.Next;
            pk_free(irp);
        }
        c->count[i] = 0;
    }
    c->registered = false;
}

static void cache_key_create(void) { pthread_key_create(&cache_key, cache_drain); }

__attribute__((destructor)) static void cache_drain_at_exit(void) { cache_drain(&tls_cache); }

/* The class whose capacity is the smallest >= stack_size, or -1. */
static int class_for_stack(int stack_size)
{
    for (int i = 0; i < CACHE_CLASSES; i++)
        if (stack_size <= class_capacity[i])
            return i;
    return -1;
}

/* The class whose capacity is exactly capacity, or -1. */
static int class_of_capacity(int capacity)
{
    for (int i = 0; i < CACHE_CLASSES; i++)
        if (capacity == class_capacity[i])
            return i;
    return -1;
}

/* Stack locations the IRP's memory has room for (pnpkit's spare location not counted). */
static int irp_capacity(PIRP irp)
{
    return (int)((irp->Size - sizeof(IRP)) / sizeof(IO_STACK_LOCATION)) - 1;
}

/* ---- Initialization ------------------------------------------------------------------- */

static void irp_init(PIRP irp, USHORT packet_size, CCHAR stack_size, UCHAR allocation_flags)
{
    memset(irp, 0, IoSizeOfIrp(stack_size));
    irp->Type = IO_TYPE_IRP;
    irp->Size = packet_size;
    irp->StackCount = stack_size;
    irp->CurrentLocation = (CHAR)(stack_size + 1);
    irp->AllocationFlags = allocation_flags;
    irp->RequestorMode = KernelMode;
    InitializeListHead(&irp->ThreadListEntry);
    irp->Tail.Overlay.CurrentStackLocation = io_irp_location(irp, stack_size + 1);
    irp->PnpkitPrivate.Magic = IO_IRP_MAGIC;
    pk_store_release(&irp->PnpkitPrivate.State, IO_IRP_IDLE);
}

static bool irp_is_valid(PIRP irp, const char *api)
{
    if (!irp) {
        pk_verifier_stop(api, "Irp is NULL");
        return false;
    }
    if (irp->Type != IO_TYPE_IRP || irp->PnpkitPrivate.Magic != IO_IRP_MAGIC) {
        pk_verifier_stop(api, "%p is not an initialized IRP", (void *)irp);
        return false;
    }
    return true;
}

static const char *state_name(LONG s)
{
    static const char *const names[] = { "?", "idle", "sent", "completing", "held by a completion routine",
                                         "completed", "freed" };
    return s > 0 && s < (LONG)ARRAYSIZE(names) ? names[s] : "?";
}

PIRP IoAllocateIrp(CCHAR StackSize, BOOLEAN ChargeQuota)
{
    int cls, capacity;
    PIRP irp = NULL;

    if (!pk_irql_ok("IoAllocateIrp", DISPATCH_LEVEL))
        return NULL;
    if (StackSize < 1)
        return NULL;
    cls = class_for_stack(StackSize);
    capacity = cls >= 0 ? class_capacity[cls] : StackSize;
    if (cls >= 0 && tls_cache.head[cls]) {
        irp = tls_cache.head[cls];
        tls_cache.head[cls] = irp->PnpkitPrivate.Next;
        tls_cache.count[cls]--;
    } else {
        irp = pk_alloc(IoSizeOfIrp(capacity));
        if (!irp)
            return NULL;
    }
    irp_init(irp, IoSizeOfIrp(capacity), StackSize, IO_IRP_ALLOC_POOL | (cls >= 0 ? IRP_LOOKASIDE_ALLOCATION : 0));
    pk_live_add(1);
    return irp;
}

void io_irp_release(PIRP irp)
{
    int cls = class_of_capacity(irp_capacity(irp));

    pk_store_release(&irp->PnpkitPrivate.State, IO_IRP_FREED);
    pk_live_add(-1);
    if (cls >= 0 && tls_cache.count[cls] < CACHE_DEPTH) {
        if (!tls_cache.registered) {
            pthread_once(&cache_key_once, cache_key_create);
            pthread_setspecific(cache_key, &tls_cache);
            tls_cache.registered = true;
        }
        irp->PnpkitPrivate.Next = tls_cache.head[cls];
        tls_cache.head[cls] = irp;
        tls_cache.count[cls]++;
        return;
    }
    irp->PnpkitPrivate.Magic = 0;
    pk_free(irp);
}

/* Whether the IRP may be re-initialized or freed: not in a driver's hands. */
static bool irp_at_rest(LONG s) { return s == IO_IRP_IDLE || s == IO_IRP_HELD || s == IO_IRP_DONE; }

VOID IoInitializeIrp(PIRP Irp, USHORT PacketSize, CCHAR StackSize)
{
    if (!Irp || StackSize < 1 || PacketSize < IoSizeOfIrp(StackSize)) {
        pk_verifier_stop("IoInitializeIrp", "PacketSize %u is too small for %d stack locations (IoSizeOfIrp: %u)",
                         PacketSize, StackSize, StackSize >= 1 ? IoSizeOfIrp(StackSize) : 0);
        return;
    }
    /* The memory may be uninitialized: nothing in it is read. (An IRP from IoAllocateIrp that a
     * driver re-initializes here loses its allocation flags; IoFreeIrp then says so.) */
    irp_init(Irp, PacketSize, StackSize, 0);
}

VOID IoReuseIrp(PIRP Irp, NTSTATUS Iostatus)
{
    LONG s;

    if (!irp_is_valid(Irp, "IoReuseIrp"))
        return;
    s = pk_load_acquire(&Irp->PnpkitPrivate.State);
    if (!irp_at_rest(s)) {
        pk_verifier_stop("IoReuseIrp", "IRP %p is %s", (void *)Irp, state_name(s));
        return;
    }
    if (pk_load_acquire(&Irp->CancelRoutine)) {
        pk_verifier_stop("IoReuseIrp", "IRP %p still has a cancel routine", (void *)Irp);
        return;
    }
    if (Irp->AllocationFlags & IO_IRP_ALLOC_THREADED) {
        pk_verifier_stop("IoReuseIrp", "IRP %p was built by IoBuild*Request: the I/O manager frees it at completion",
                         (void *)Irp);
        return;
    }
    irp_init(Irp, Irp->Size, Irp->StackCount, Irp->AllocationFlags);
    Irp->IoStatus.Status = Iostatus;
}

VOID IoFreeIrp(PIRP Irp)
{
    LONG s;

    if (!Irp || !pk_irql_ok("IoFreeIrp", DISPATCH_LEVEL))
        return;
    if (!irp_is_valid(Irp, "IoFreeIrp"))
        return;
    s = pk_load_acquire(&Irp->PnpkitPrivate.State);
    if (s == IO_IRP_FREED) {
        pk_verifier_stop("IoFreeIrp", "IRP %p is freed already", (void *)Irp);
        return;
    }
    if (!irp_at_rest(s)) {
        pk_verifier_stop("IoFreeIrp", "IRP %p is still in flight (%s)", (void *)Irp, state_name(s));
        return;
    }
    if (Irp->AllocationFlags & IO_IRP_ALLOC_THREADED) {
        pk_verifier_stop("IoFreeIrp", "IRP %p was built by IoBuild*Request: complete it, the I/O manager frees it",
                         (void *)Irp);
        return;
    }
    if (!(Irp->AllocationFlags & IO_IRP_ALLOC_POOL)) {
        pk_verifier_stop("IoFreeIrp", "IRP %p was not allocated by IoAllocateIrp (or IoInitializeIrp re-initialized "
                         "it: IoReuseIrp is for IRPs from IoAllocateIrp)", (void *)Irp);
        return;
    }
    io_irp_release(Irp);
}

/* ---- Dispatch ------------------------------------------------------------------------- */

typedef struct call_frame {
    struct call_frame *outer;
    PIRP irp;
    PIO_STACK_LOCATION stack; /* the location the dispatch routine was called with */
    bool marked;              /* IoMarkIrpPending was called for it */
    bool child_pending;       /* an IoCallDriver of the same IRP inside it returned STATUS_PENDING */
} call_frame;

static __thread call_frame *tls_frames;

VOID IoMarkIrpPending(PIRP Irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);

    sp->Control |= SL_PENDING_RETURNED;
    for (call_frame *f = tls_frames; f; f = f->outer) {
        if (f->irp == Irp && f->stack == sp) {
            f->marked = true;
            break;
        }
    }
}

static void complete_walk(PIRP irp);

NTSTATUS IoCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PDRIVER_DISPATCH dispatch;
    PIO_STACK_LOCATION sp;
    call_frame frame;
    NTSTATUS status;
    KIRQL irql;
    LONG s;

    if (!pk_irql_ok("IoCallDriver", DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!irp_is_valid(Irp, "IoCallDriver"))
        return STATUS_INVALID_PARAMETER;
    if (!io_object_is(DeviceObject, IO_KIND_DEVICE)) {
        pk_verifier_stop("IoCallDriver", "%p is not a live device object", (void *)DeviceObject);
        return STATUS_INVALID_PARAMETER;
    }
    s = pk_load_acquire(&Irp->PnpkitPrivate.State);
    if (s == IO_IRP_COMPLETING || s == IO_IRP_DONE || s == IO_IRP_FREED) {
        pk_verifier_stop("IoCallDriver", "IRP %p is %s%s", (void *)Irp, state_name(s),
                         s == IO_IRP_DONE ? ": reuse it with IoReuseIrp before sending it again" : "");
        return STATUS_INVALID_PARAMETER;
    }
    if (pk_unlikely(Irp->CurrentLocation <= 1)) {
        pk_verifier_stop("IoCallDriver", "IRP %p has no stack location left for device %p (NO_MORE_IRP_STACK_LOCATIONS)",
                         (void *)Irp, (void *)DeviceObject);
        if (Irp->CurrentLocation != 1)
            return STATUS_INVALID_PARAMETER;
        /* Complete it from pnpkit's spare location 0, where the caller's completion routine
         * landed, so that the caller sees its request fail. */
        IoSetNextIrpStackLocation(Irp);
        IoGetCurrentIrpStackLocation(Irp)->DeviceObject = DeviceObject;
        Irp->IoStatus.Status = STATUS_INVALID_DEVICE_REQUEST;
        Irp->IoStatus.Information = 0;
        pk_store_release(&Irp->PnpkitPrivate.State, IO_IRP_COMPLETING);
        complete_walk(Irp);
        return STATUS_INVALID_DEVICE_REQUEST;
    }

    IoSetNextIrpStackLocation(Irp);
    sp = IoGetCurrentIrpStackLocation(Irp);
    sp->DeviceObject = DeviceObject;
    if (pk_unlikely(sp->MajorFunction > IRP_MJ_MAXIMUM_FUNCTION)) {
        pk_verifier_stop("IoCallDriver", "IRP %p has MajorFunction 0x%x", (void *)Irp, sp->MajorFunction);
        dispatch = io_invalid_device_request;
    } else {
        dispatch = DeviceObject->DriverObject->MajorFunction[sp->MajorFunction];
        if (pk_unlikely(!dispatch)) {
            pk_verifier_stop("IoCallDriver", "driver %p has a NULL MajorFunction[0x%x]",
                             (void *)DeviceObject->DriverObject, sp->MajorFunction);
            dispatch = io_invalid_device_request;
        }
    }
    pk_store_release(&Irp->PnpkitPrivate.State, IO_IRP_SENT);

    frame.outer = tls_frames;
    frame.irp = Irp;
    frame.stack = sp;
    frame.marked = false;
    frame.child_pending = false;
    tls_frames = &frame;
    irql = pk_irql();
    status = dispatch(DeviceObject, Irp);
    tls_frames = frame.outer;

    /* From here on the IRP may be gone: only the frame is read. */
    if (pk_unlikely(pk_irql() != irql)) {
        pk_verifier_stop("IoCallDriver", "the dispatch routine %p of device %p returned at IRQL %u, called at %u",
                         (void *)dispatch, (void *)DeviceObject, pk_irql(), irql);
        pk_irql_restore(irql);
    }
    if (status == STATUS_PENDING) {
        if (pk_unlikely(!frame.marked && !frame.child_pending))
            pk_verifier_stop("IoCallDriver",
                             "the dispatch routine %p of device %p returned STATUS_PENDING without IoMarkIrpPending "
                             "(IRP %p)", (void *)dispatch, (void *)DeviceObject, (void *)Irp);
        if (frame.outer && frame.outer->irp == Irp)
            frame.outer->child_pending = true;
    } else if (pk_unlikely(frame.marked)) {
        pk_verifier_stop("IoCallDriver", "the dispatch routine %p of device %p called IoMarkIrpPending and returned %s "
                         "(IRP %p)", (void *)dispatch, (void *)DeviceObject, PnpkitStatusName(status), (void *)Irp);
    }
    return status;
}

/* ---- Completion ----------------------------------------------------------------------- */

/* Windows' ZeroIrpStackLocation, plus the completion routine, which has been read. */
static void clear_location(PIO_STACK_LOCATION sp)
{
    sp->MinorFunction = 0;
    sp->Flags = 0;
    sp->Control &= SL_ERROR_RETURNED;
    memset(&sp->Parameters.Others, 0, sizeof(sp->Parameters.Others));
    sp->FileObject = NULL;
    sp->CompletionRoutine = NULL;
    sp->Context = NULL;
}

/* Walks from the current location to the top. The IRP is COMPLETING on entry. */
static void complete_walk(PIRP irp)
{
    const CHAR top = (CHAR)(irp->StackCount + 1);
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);

    for (IoSkipCurrentIrpStackLocation(irp); irp->CurrentLocation <= top; sp++, IoSkipCurrentIrpStackLocation(irp)) {
        PIO_COMPLETION_ROUTINE routine = sp->CompletionRoutine;
        PVOID context = sp->Context;
        UCHAR control = sp->Control;
        NTSTATUS status = irp->IoStatus.Status;
        PDEVICE_OBJECT device;
        LONG held = IO_IRP_HELD;
        NTSTATUS result;
        KIRQL irql;

        irp->PendingReturned = (control & SL_PENDING_RETURNED) != 0;
        clear_location(sp);
        if (!routine || !((NT_SUCCESS(status) && (control & SL_INVOKE_ON_SUCCESS)) ||
                          (!NT_SUCCESS(status) && (control & SL_INVOKE_ON_ERROR)) ||
                          ((control & SL_INVOKE_ON_CANCEL) && pk_load_acquire(&irp->Cancel)))) {
            if (irp->PendingReturned && irp->CurrentLocation <= irp->StackCount)
                IoGetCurrentIrpStackLocation(irp)->Control |= SL_PENDING_RETURNED;
            continue;
        }

        device = irp->CurrentLocation == top ? NULL : IoGetCurrentIrpStackLocation(irp)->DeviceObject;
        pk_store_release(&irp->PnpkitPrivate.State, IO_IRP_HELD);
        irql = pk_irql();
        result = routine(device, irp, context);
        if (pk_unlikely(pk_irql() != irql)) {
            pk_verifier_stop("IoCompleteRequest", "completion routine %p returned at IRQL %u, called at %u",
                             (void *)routine, pk_irql(), irql);
            pk_irql_restore(irql);
        }
        if (result == STATUS_MORE_PROCESSING_REQUIRED)
            return; /* the routine's owner has the IRP; it may be gone already */
        if (pk_unlikely(!pk_cas(&irp->PnpkitPrivate.State, &held, IO_IRP_COMPLETING))) {
            pk_verifier_stop("IoCompleteRequest",
                             "IRP %p was %s while completion routine %p ran, and the routine returned %s instead of "
                             "STATUS_MORE_PROCESSING_REQUIRED", (void *)irp, state_name(held), (void *)routine,
                             PnpkitStatusName(result));
            return;
        }
        if (pk_unlikely(irp->PendingReturned && irp->CurrentLocation <= irp->StackCount &&
                        !(IoGetCurrentIrpStackLocation(irp)->Control & SL_PENDING_RETURNED))) {
            pk_verifier_stop("IoCompleteRequest",
                             "completion routine %p saw Irp->PendingReturned and returned %s without calling "
                             "IoMarkIrpPending (IRP %p)", (void *)routine, PnpkitStatusName(result), (void *)irp);
            IoGetCurrentIrpStackLocation(irp)->Control |= SL_PENDING_RETURNED;
        }
    }

    if (irp->AllocationFlags & IO_IRP_ALLOC_THREADED)
        io_threaded_irp_finish(irp);
    else
        pk_store_release(&irp->PnpkitPrivate.State, IO_IRP_DONE);
}

VOID IoCompleteRequest(PIRP Irp, CCHAR PriorityBoost)
{
    LONG s;

    if (!pk_irql_ok("IoCompleteRequest", DISPATCH_LEVEL))
        return;
    if (!irp_is_valid(Irp, "IoCompleteRequest"))
        return;
    s = pk_load_acquire(&Irp->PnpkitPrivate.State);
    for (;;) {
        if (s == IO_IRP_COMPLETING || s == IO_IRP_DONE || s == IO_IRP_FREED) {
            pk_verifier_stop("IoCompleteRequest", "IRP %p is completed twice (MULTIPLE_IRP_COMPLETE_REQUESTS): it is %s",
                             (void *)Irp, state_name(s));
            return;
        }
        if (pk_cas(&Irp->PnpkitPrivate.State, &s, IO_IRP_COMPLETING))
            break;
    }
    if (pk_unlikely(Irp->IoStatus.Status == STATUS_PENDING)) {
        pk_store_release(&Irp->PnpkitPrivate.State, s);
        pk_verifier_stop("IoCompleteRequest", "IRP %p is completed with STATUS_PENDING", (void *)Irp);
        return;
    }
    if (pk_unlikely(Irp->CurrentLocation < 1 || Irp->CurrentLocation > Irp->StackCount)) {
        pk_store_release(&Irp->PnpkitPrivate.State, s);
        pk_verifier_stop("IoCompleteRequest",
                         Irp->CurrentLocation > Irp->StackCount
                             ? "IRP %p is completed twice (MULTIPLE_IRP_COMPLETE_REQUESTS): completion passed every "
                               "stack location already (CurrentLocation %d of %d)"
                             : "IRP %p has no current stack location to complete (CurrentLocation %d of %d)",
                         (void *)Irp, Irp->CurrentLocation, Irp->StackCount);
        return;
    }
    if (pk_unlikely(pk_load_acquire(&Irp->CancelRoutine) != NULL)) {
        pk_verifier_stop("IoCompleteRequest", "IRP %p is completed with its cancel routine %p still set", (void *)Irp,
                         (void *)pk_load_acquire(&Irp->CancelRoutine));
        IoSetCancelRoutine(Irp, NULL);
    }
    complete_walk(Irp);
}

/* ---- IoSetCompletionRoutineEx --------------------------------------------------------- */

typedef struct completion_ex {
    PIO_COMPLETION_ROUTINE routine;
    PVOID context;
    PDEVICE_OBJECT device; /* referenced until the routine has returned */
    UCHAR control;         /* the SL_INVOKE_ flags the caller asked for */
} completion_ex;

/* Always invoked, so that the reference and the block go whatever the outcome; calls the
 * caller's routine only for the outcomes it asked for, and otherwise does what the walk does
 * for a location without a routine. */
static NTSTATUS completion_ex_routine(PDEVICE_OBJECT device, PIRP irp, PVOID context)
{
    completion_ex *ex = context;
    NTSTATUS status = irp->IoStatus.Status;
    NTSTATUS result = STATUS_CONTINUE_COMPLETION;

    if ((NT_SUCCESS(status) && (ex->control & SL_INVOKE_ON_SUCCESS)) ||
        (!NT_SUCCESS(status) && (ex->control & SL_INVOKE_ON_ERROR)) ||
        ((ex->control & SL_INVOKE_ON_CANCEL) && pk_load_acquire(&irp->Cancel)))
        result = ex->routine(device, irp, ex->context);
    else if (irp->PendingReturned && irp->CurrentLocation <= irp->StackCount)
        IoMarkIrpPending(irp);
    io_object_dereference(ex->device);
    pk_free(ex);
    return result;
}

NTSTATUS IoSetCompletionRoutineEx(PDEVICE_OBJECT DeviceObject, PIRP Irp, PIO_COMPLETION_ROUTINE CompletionRoutine,
                                  PVOID Context, BOOLEAN InvokeOnSuccess, BOOLEAN InvokeOnError,
                                  BOOLEAN InvokeOnCancel)
{
    completion_ex *ex;

    if (!pk_irql_ok("IoSetCompletionRoutineEx", DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!Irp || !CompletionRoutine || !io_object_is(DeviceObject, IO_KIND_DEVICE))
        return STATUS_INVALID_PARAMETER;
    ex = pk_alloc(sizeof(*ex));
    if (!ex)
        return STATUS_INSUFFICIENT_RESOURCES;
    ex->routine = CompletionRoutine;
    ex->context = Context;
    ex->device = DeviceObject;
    ex->control = (UCHAR)((InvokeOnSuccess ? SL_INVOKE_ON_SUCCESS : 0) | (InvokeOnError ? SL_INVOKE_ON_ERROR : 0) |
                          (InvokeOnCancel ? SL_INVOKE_ON_CANCEL : 0));
    io_object_reference(DeviceObject);
    IoSetCompletionRoutine(Irp, completion_ex_routine, ex, TRUE, TRUE, TRUE);
    return STATUS_SUCCESS;
}

/* ---- The io layer's own synchronous sends --------------------------------------------- */

static NTSTATUS signal_done(PDEVICE_OBJECT device, PIRP irp, PVOID context)
{
    KeSetEvent(context, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

NTSTATUS io_irp_send_and_wait(PDEVICE_OBJECT device, PIRP irp, PKEVENT done)
{
    NTSTATUS status;

    KeClearEvent(done);
    IoSetCompletionRoutine(irp, signal_done, done, TRUE, TRUE, TRUE);
    status = IoCallDriver(device, irp);
    if (status != STATUS_PENDING && !KeReadStateEvent(done))
        pk_verifier_stop("IoCallDriver", "device %p returned %s for IRP %p without completing it", (void *)device,
                         PnpkitStatusName(status), (void *)irp);
    KeWaitForSingleObject(done, Executive, KernelMode, FALSE, NULL);
    return irp->IoStatus.Status;
}
