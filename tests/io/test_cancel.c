/* Cancellation: the cancel spin lock, IoSetCancelRoutine, IoCancelIrp, completion routines for
 * cancelled IRPs, and the race between IoCancelIrp and completion. */
#include "pk_test.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

/* ---- A driver that queues IRPs cancelably, guarded by the cancel spin lock ---- */

static LIST_ENTRY queue;
static volatile LONG cancel_routine_runs, cancel_routine_bad_context;

static VOID queue_cancel(PDEVICE_OBJECT device, PIRP irp)
{
    /* Called holding the cancel spin lock, at DISPATCH_LEVEL, with the routine cleared. */
    if (KeGetCurrentIrql() != DISPATCH_LEVEL || !irp->Cancel || irp->CancelRoutine != NULL || device == NULL)
        InterlockedIncrement(&cancel_routine_bad_context);
    RemoveEntryList(&irp->Tail.Overlay.ListEntry);
    IoReleaseCancelSpinLock(irp->CancelIrql);
    InterlockedIncrement(&cancel_routine_runs);
    irp->IoStatus.Status = STATUS_CANCELLED;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

static NTSTATUS queue_dispatch(PDEVICE_OBJECT device, PIRP irp)
{
    KIRQL irql;

    IoAcquireCancelSpinLock(&irql);
    if (irp->Cancel) {
        IoReleaseCancelSpinLock(irql);
        irp->IoStatus.Status = STATUS_CANCELLED;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return STATUS_CANCELLED;
    }
    IoSetCancelRoutine(irp, queue_cancel);
    IoMarkIrpPending(irp);
    InsertTailList(&queue, &irp->Tail.Overlay.ListEntry);
    IoReleaseCancelSpinLock(irql);
    return STATUS_PENDING;
}

/* Takes the oldest queued IRP out of cancelability, or NULL. */
static PIRP dequeue(void)
{
    PIRP irp = NULL;
    KIRQL irql;

    IoAcquireCancelSpinLock(&irql);
    if (!IsListEmpty(&queue)) {
        irp = CONTAINING_RECORD(RemoveHeadList(&queue), IRP, Tail.Overlay.ListEntry);
        /* Under the cancel lock the routine cannot have run: it is still set. */
        if (IoSetCancelRoutine(irp, NULL) == NULL)
            InterlockedIncrement(&cancel_routine_bad_context);
    }
    IoReleaseCancelSpinLock(irql);
    return irp;
}

static NTSTATUS queue_entry(PDRIVER_OBJECT driver, PUNICODE_STRING path)
{
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        driver->MajorFunction[i] = queue_dispatch;
    return STATUS_SUCCESS;
}

static PDRIVER_OBJECT driver;
static PDEVICE_OBJECT device;

static void queue_device_create(void)
{
    InitializeListHead(&queue);
    cancel_routine_runs = cancel_routine_bad_context = 0;
    assert_int_equal(PnpkitIoCreateDriver(u"queue", queue_entry, &driver), STATUS_SUCCESS);
    assert_int_equal(IoCreateDevice(driver, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &device), STATUS_SUCCESS);
}

static void queue_device_delete(void)
{
    assert_true(IsListEmpty(&queue));
    IoDeleteDevice(device);
    PnpkitIoDeleteDriver(driver);
}

static NTSTATUS last_status;
static int owner_completions;

static NTSTATUS owner_done(PDEVICE_OBJECT dev, PIRP irp, PVOID context)
{
    owner_completions++;
    last_status = irp->IoStatus.Status;
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static PIRP new_read(BOOLEAN on_success, BOOLEAN on_error, BOOLEAN on_cancel)
{
    PIRP irp = IoAllocateIrp(device->StackSize, FALSE);
    assert_non_null(irp);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    IoSetCompletionRoutine(irp, owner_done, NULL, on_success, on_error, on_cancel);
    owner_completions = 0;
    last_status = STATUS_PENDING;
    return irp;
}

/* ---- Tests ---- */

static void io_cancel_irp_runs_the_cancel_routine_at_dispatch_level_under_the_cancel_lock(void **state)
{
    PIRP irp;

    queue_device_create();
    irp = new_read(TRUE, TRUE, TRUE);
    assert_int_equal(IoCallDriver(device, irp), STATUS_PENDING);
    assert_ptr_equal(irp->CancelRoutine, queue_cancel);
    assert_true(IoCancelIrp(irp));
    assert_int_equal(cancel_routine_runs, 1);
    assert_int_equal(cancel_routine_bad_context, 0);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_int_equal(owner_completions, 1);
    assert_int_equal(last_status, STATUS_CANCELLED);
    assert_true(irp->Cancel);
    IoFreeIrp(irp);
    queue_device_delete();
}

static void io_cancel_irp_of_a_completed_irp_returns_false(void **state)
{
    PIRP irp;

    queue_device_create();
    irp = new_read(TRUE, TRUE, TRUE);
    assert_int_equal(IoCallDriver(device, irp), STATUS_PENDING);
    assert_ptr_equal(dequeue(), irp);
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    assert_false(IoCancelIrp(irp));
    assert_int_equal(cancel_routine_runs, 0);
    assert_int_equal(owner_completions, 1);
    assert_int_equal(last_status, STATUS_SUCCESS);
    IoFreeIrp(irp);
    queue_device_delete();
}

static void io_cancel_irp_before_the_send_makes_the_driver_fail_it(void **state)
{
    PIRP irp;

    queue_device_create();
    irp = new_read(TRUE, TRUE, TRUE);
    assert_false(IoCancelIrp(irp));
    assert_true(irp->Cancel);
    assert_int_equal(IoCallDriver(device, irp), STATUS_CANCELLED);
    assert_int_equal(last_status, STATUS_CANCELLED);
    IoFreeIrp(irp);
    queue_device_delete();
}

static void io_set_cancel_routine_returns_the_previous_routine(void **state)
{
    PIRP irp = IoAllocateIrp(1, FALSE);

    assert_null(IoSetCancelRoutine(irp, queue_cancel));
    assert_ptr_equal(IoSetCancelRoutine(irp, NULL), queue_cancel);
    assert_null(IoSetCancelRoutine(irp, NULL));
    IoFreeIrp(irp);
}

static void completion_routine_asked_for_cancel_runs_for_a_cancelled_irp_that_succeeded(void **state)
{
    PIRP irp;

    queue_device_create();
    irp = new_read(FALSE, FALSE, TRUE); /* only on cancel */
    assert_int_equal(IoCallDriver(device, irp), STATUS_PENDING);
    /* Cancel without a cancel routine: the driver took the IRP off its queue first. */
    assert_ptr_equal(dequeue(), irp);
    assert_false(IoCancelIrp(irp));
    irp->IoStatus.Status = STATUS_SUCCESS; /* it finished anyway */
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    assert_int_equal(owner_completions, 1);
    assert_int_equal(last_status, STATUS_SUCCESS);
    IoFreeIrp(irp);
    queue_device_delete();
}

static void completing_with_a_cancel_routine_set_is_a_verifier_stop(void **state)
{
    PIRP irp;
    PLIST_ENTRY e;

    queue_device_create();
    irp = new_read(TRUE, TRUE, TRUE);
    assert_int_equal(IoCallDriver(device, irp), STATUS_PENDING);
    pk_test_capture_verifier();
    e = RemoveHeadList(&queue); /* forgets to clear the cancel routine */
    assert_ptr_equal(e, &irp->Tail.Overlay.ListEntry);
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("cancel routine"));
    assert_null(irp->CancelRoutine);
    assert_int_equal(owner_completions, 1);
    IoFreeIrp(irp);
    queue_device_delete();
}

static VOID keeps_the_lock(PDEVICE_OBJECT dev, PIRP irp)
{
    RemoveEntryList(&irp->Tail.Overlay.ListEntry);
    InterlockedIncrement(&cancel_routine_runs);
    /* no IoReleaseCancelSpinLock */
}

static void cancel_routine_that_keeps_the_cancel_lock_is_a_verifier_stop(void **state)
{
    PIRP irp;
    KIRQL irql;

    queue_device_create();
    irp = new_read(TRUE, TRUE, TRUE);
    assert_int_equal(IoCallDriver(device, irp), STATUS_PENDING);
    IoSetCancelRoutine(irp, keeps_the_lock);
    pk_test_capture_verifier();
    assert_true(IoCancelIrp(irp));
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("without IoReleaseCancelSpinLock"));
    /* pnpkit released it: the lock and the IRQL are back. */
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    IoAcquireCancelSpinLock(&irql);
    IoReleaseCancelSpinLock(irql);
    irp->IoStatus.Status = STATUS_CANCELLED;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    IoFreeIrp(irp);
    queue_device_delete();
}

/* ---- The race ---- */

#define OWNERS 3
#define SENDS_PER_OWNER 3000

typedef struct request {
    volatile LONG refs;        /* the completion and the owner's cancel attempt */
    volatile LONG completions;
} request;

static volatile LONG sends_done, completions_total, completions_cancelled, cancels_true, double_completions;
static volatile LONG stop_completer;

static void request_put(request *r, PIRP irp)
{
    if (InterlockedDecrement(&r->refs) == 0) {
        IoFreeIrp(irp);
        free(r);
    }
}

static NTSTATUS race_done(PDEVICE_OBJECT dev, PIRP irp, PVOID context)
{
    request *r = context;

    if (InterlockedIncrement(&r->completions) != 1)
        InterlockedIncrement(&double_completions);
    InterlockedIncrement(&completions_total);
    if (irp->IoStatus.Status == STATUS_CANCELLED)
        InterlockedIncrement(&completions_cancelled);
    request_put(r, irp);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static void *race_owner(void *arg)
{
    uint32_t rng = (uint32_t)(uintptr_t)arg * 2654435761u + 1;

    for (int i = 0; i < SENDS_PER_OWNER; i++) {
        request *r = calloc(1, sizeof(*r));
        PIRP irp = IoAllocateIrp(device->StackSize, FALSE);
        uint32_t delay = pk_test_rand(&rng) % 64;

        r->refs = 2;
        IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
        IoSetCompletionRoutine(irp, race_done, r, TRUE, TRUE, TRUE);
        IoCallDriver(device, irp);
        InterlockedIncrement(&sends_done);
        for (uint32_t k = 0; k < delay; k++)
            sched_yield();
        if (IoCancelIrp(irp))
            InterlockedIncrement(&cancels_true);
        request_put(r, irp);
    }
    return NULL;
}

static void *race_completer(void *arg)
{
    for (;;) {
        PIRP irp = dequeue();
        if (!irp) {
            if (ReadAcquire(&stop_completer))
                break;
            sched_yield();
            continue;
        }
        KIRQL old;
        KeRaiseIrql(DISPATCH_LEVEL, &old); /* completions also come from DISPATCH_LEVEL */
        irp->IoStatus.Status = STATUS_SUCCESS;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        KeLowerIrql(old);
    }
    return NULL;
}

static void cancel_routine_runs_once_when_io_cancel_irp_races_completion(void **state)
{
    pk_test_threads owners, completer;

    queue_device_create();
    sends_done = completions_total = completions_cancelled = cancels_true = double_completions = 0;
    stop_completer = 0;
    pk_test_threads_start(&completer, 1, race_completer, NULL);
    for (int i = 0; i < OWNERS; i++) {
        pk_test_threads t;
        pk_test_threads_start(&t, 1, race_owner, (void *)(uintptr_t)(i + 1));
        owners.ids[i] = t.ids[0];
    }
    owners.count = OWNERS;
    pk_test_threads_join(&owners);
    WriteRelease(&stop_completer, 1);
    pk_test_threads_join(&completer);

    /* Every IRP completed exactly once; a cancel routine ran exactly for each IoCancelIrp that
     * returned TRUE, and each such IRP completed cancelled. */
    assert_int_equal(sends_done, OWNERS * SENDS_PER_OWNER);
    assert_int_equal(completions_total, OWNERS * SENDS_PER_OWNER);
    assert_int_equal(double_completions, 0);
    assert_int_equal(cancel_routine_bad_context, 0);
    assert_int_equal(cancel_routine_runs, cancels_true);
    assert_int_equal(completions_cancelled, cancels_true);
    print_message("%d IRPs, %d cancelled by their cancel routine\n", (int)sends_done, (int)cancels_true);
    queue_device_delete();
}

PK_TEST_MAIN(
    PK_TEST(io_cancel_irp_runs_the_cancel_routine_at_dispatch_level_under_the_cancel_lock),
    PK_TEST(io_cancel_irp_of_a_completed_irp_returns_false),
    PK_TEST(io_cancel_irp_before_the_send_makes_the_driver_fail_it),
    PK_TEST(io_set_cancel_routine_returns_the_previous_routine),
    PK_TEST(completion_routine_asked_for_cancel_runs_for_a_cancelled_irp_that_succeeded),
    PK_TEST(completing_with_a_cancel_routine_set_is_a_verifier_stop),
    PK_TEST(cancel_routine_that_keeps_the_cancel_lock_is_a_verifier_stop),
    PK_TEST(cancel_routine_runs_once_when_io_cancel_irp_races_completion))
