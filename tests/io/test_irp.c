/* IRPs: IoCallDriver, IoCompleteRequest and completion routines walking up a device stack,
 * pending propagation, the IRP cache, IRPs built by the I/O manager, and the verifier checks. */
#include "pk_test.h"

#include <string.h>

/* ---- A test driver whose devices each do what their extension says ---- */

typedef NTSTATUS behaviour_fn(PDEVICE_OBJECT device, PIRP irp);

typedef struct test_ext {
    behaviour_fn *on_irp;
    PDEVICE_OBJECT lower;
    int index; /* 0 = bottom */
} test_ext;

static NTSTATUS test_dispatch(PDEVICE_OBJECT device, PIRP irp)
{
    test_ext *e = device->DeviceExtension;
    return e->on_irp(device, irp);
}

static NTSTATUS test_driver_entry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        driver->MajorFunction[i] = test_dispatch;
    return STATUS_SUCCESS;
}

typedef struct test_stack {
    PDRIVER_OBJECT driver;
    PDEVICE_OBJECT dev[4]; /* dev[0] bottom */
    int count;
} test_stack;

/* Builds a stack of count devices; behaviours[0] is the bottom's. */
static void stack_build(test_stack *s, int count, behaviour_fn *const *behaviours)
{
    assert_int_equal(PnpkitIoCreateDriver(u"iotest", test_driver_entry, &s->driver), STATUS_SUCCESS);
    s->count = count;
    for (int i = 0; i < count; i++) {
        test_ext *e;
        assert_int_equal(IoCreateDevice(s->driver, sizeof(test_ext), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &s->dev[i]),
                         STATUS_SUCCESS);
        e = s->dev[i]->DeviceExtension;
        e->on_irp = behaviours[i];
        e->index = i;
        if (i > 0) {
            e->lower = IoAttachDeviceToDeviceStack(s->dev[i], s->dev[i - 1]);
            assert_ptr_equal(e->lower, s->dev[i - 1]);
        }
        s->dev[i]->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    }
}

static void stack_destroy(test_stack *s)
{
    for (int i = s->count - 1; i >= 0; i--) {
        test_ext *e = s->dev[i]->DeviceExtension;
        if (e->lower)
            IoDetachDevice(e->lower);
        IoDeleteDevice(s->dev[i]);
    }
    PnpkitIoDeleteDriver(s->driver);
}

static PDEVICE_OBJECT top_of(test_stack *s) { return s->dev[s->count - 1]; }

/* A new IRP for the stack, formatted as an IOCTL in its first location. */
static PIRP new_irp(test_stack *s)
{
    PIRP irp = IoAllocateIrp(top_of(s)->StackSize, FALSE);
    assert_non_null(irp);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_DEVICE_CONTROL;
    IoGetNextIrpStackLocation(irp)->Parameters.DeviceIoControl.IoControlCode = 0x1234;
    return irp;
}

/* ---- A record of what ran ---- */

static struct {
    int who[32];
    PDEVICE_OBJECT device[32];
    BOOLEAN pending_returned[32];
    KIRQL irql[32];
    pthread_t thread[32];
    int count;
} trail;

static void record(int who, PDEVICE_OBJECT device, PIRP irp)
{
    int i = trail.count++;
    trail.who[i] = who;
    trail.device[i] = device;
    trail.pending_returned[i] = irp ? irp->PendingReturned : FALSE;
    trail.irql[i] = KeGetCurrentIrql();
    trail.thread[i] = pthread_self();
}

static NTSTATUS completion_status = STATUS_SUCCESS;
static PIRP parked; /* the IRP a "pend" behaviour left pending */

static NTSTATUS complete_inline(PDEVICE_OBJECT device, PIRP irp)
{
    record(100, device, irp);
    irp->IoStatus.Status = completion_status;
    irp->IoStatus.Information = 7;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return completion_status;
}

static NTSTATUS pend(PDEVICE_OBJECT device, PIRP irp)
{
    record(101, device, irp);
    IoMarkIrpPending(irp);
    parked = irp;
    return STATUS_PENDING;
}

static NTSTATUS forward_skip(PDEVICE_OBJECT device, PIRP irp)
{
    test_ext *e = device->DeviceExtension;
    record(102, device, irp);
    IoSkipCurrentIrpStackLocation(irp);
    return IoCallDriver(e->lower, irp);
}

/* Completion routine of a device in the stack: records its device and propagates pending. */
static NTSTATUS layer_done(PDEVICE_OBJECT device, PIRP irp, PVOID context)
{
    record((int)(intptr_t)context, device, irp);
    if (irp->PendingReturned)
        IoMarkIrpPending(irp);
    return STATUS_CONTINUE_COMPLETION;
}

static NTSTATUS forward_with_routine(PDEVICE_OBJECT device, PIRP irp)
{
    test_ext *e = device->DeviceExtension;
    record(103, device, irp);
    IoCopyCurrentIrpStackLocationToNext(irp);
    IoSetCompletionRoutine(irp, layer_done, (PVOID)(intptr_t)e->index, TRUE, TRUE, TRUE);
    return IoCallDriver(e->lower, irp);
}

/* The allocator's completion routine: the IRP comes back to it, NULL device (top). */
static KEVENT owner_event;
static NTSTATUS owner_done(PDEVICE_OBJECT device, PIRP irp, PVOID context)
{
    record(200, device, irp);
    KeSetEvent(&owner_event, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static void reset_trail(void)
{
    memset(&trail, 0, sizeof(trail));
    completion_status = STATUS_SUCCESS;
    parked = NULL;
    KeInitializeEvent(&owner_event, NotificationEvent, FALSE);
}

/* ---- Tests ---- */

static void irp_completed_inline_runs_completion_routines_bottom_up(void **state)
{
    static behaviour_fn *const b[] = { complete_inline, forward_with_routine, forward_with_routine };
    test_stack s;
    PIRP irp;

    reset_trail();
    stack_build(&s, 3, b);
    assert_int_equal(top_of(&s)->StackSize, 3);
    irp = new_irp(&s);
    IoSetCompletionRoutine(irp, owner_done, NULL, TRUE, TRUE, TRUE);
    assert_int_equal(IoCallDriver(top_of(&s), irp), STATUS_SUCCESS);

    /* Dispatch top-down, then completion routines bottom-up, each with its setter's device. */
    assert_int_equal(trail.count, 6);
    assert_int_equal(trail.who[0], 103);
    assert_ptr_equal(trail.device[0], s.dev[2]);
    assert_int_equal(trail.who[1], 103);
    assert_int_equal(trail.who[2], 100);
    assert_ptr_equal(trail.device[2], s.dev[0]);
    assert_int_equal(trail.who[3], 1); /* the middle device's routine */
    assert_ptr_equal(trail.device[3], s.dev[1]);
    assert_int_equal(trail.who[4], 2); /* the top device's routine */
    assert_ptr_equal(trail.device[4], s.dev[2]);
    assert_int_equal(trail.who[5], 200);
    assert_null(trail.device[5]);
    /* No thread switch: every dispatch and completion routine ran in the caller's thread. */
    for (int i = 0; i < trail.count; i++) {
        assert_true(pthread_equal(trail.thread[i], pthread_self()));
        assert_int_equal(trail.irql[i], PASSIVE_LEVEL);
    }
    assert_int_equal(irp->IoStatus.Status, STATUS_SUCCESS);
    assert_int_equal(irp->IoStatus.Information, 7);
    IoFreeIrp(irp);
    stack_destroy(&s);
}

static NTSTATUS stop_in_middle(PDEVICE_OBJECT device, PIRP irp, PVOID context)
{
    record(50, device, irp);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS forward_and_stop(PDEVICE_OBJECT device, PIRP irp)
{
    test_ext *e = device->DeviceExtension;
    IoCopyCurrentIrpStackLocationToNext(irp);
    IoSetCompletionRoutine(irp, stop_in_middle, NULL, TRUE, TRUE, TRUE);
    IoCallDriver(e->lower, irp);
    /* The IRP is ours again (forward-and-wait, completed inline): finish it. */
    record(51, device, irp);
    irp->IoStatus.Status = STATUS_DEVICE_BUSY;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_DEVICE_BUSY;
}

static void completion_routine_returning_more_processing_required_stops_completion(void **state)
{
    static behaviour_fn *const b[] = { complete_inline, forward_and_stop };
    test_stack s;
    PIRP irp;

    reset_trail();
    stack_build(&s, 2, b);
    irp = new_irp(&s);
    IoSetCompletionRoutine(irp, owner_done, NULL, TRUE, TRUE, TRUE);
    assert_int_equal(IoCallDriver(top_of(&s), irp), STATUS_DEVICE_BUSY);
    /* bottom completes, the middle routine stops the walk (the owner's routine does not run),
     * then the middle device completes again and the owner's routine runs. */
    assert_int_equal(trail.count, 4);
    assert_int_equal(trail.who[0], 100);
    assert_int_equal(trail.who[1], 50);
    assert_int_equal(trail.who[2], 51);
    assert_int_equal(trail.who[3], 200);
    assert_int_equal(irp->IoStatus.Status, STATUS_DEVICE_BUSY);
    IoFreeIrp(irp);
    stack_destroy(&s);
}

static void *complete_parked(void *arg)
{
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    parked->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(parked, IO_NO_INCREMENT);
    KeLowerIrql(old);
    return NULL;
}

static void pending_returned_propagates_to_the_caller(void **state)
{
    static behaviour_fn *const b[] = { pend, forward_skip, forward_with_routine };
    pk_test_threads t;
    test_stack s;
    PIRP irp;

    reset_trail();
    stack_build(&s, 3, b);
    irp = new_irp(&s);
    IoSetCompletionRoutine(irp, owner_done, NULL, TRUE, TRUE, TRUE);
    assert_int_equal(IoCallDriver(top_of(&s), irp), STATUS_PENDING);
    assert_ptr_equal(parked, irp);
    assert_int_equal(trail.count, 3);

    /* Completed on another thread, at DISPATCH_LEVEL: the routines run there, at that level. */
    pk_test_threads_start(&t, 1, complete_parked, NULL);
    pk_test_wait_event(&owner_event);
    pk_test_threads_join(&t);
    assert_int_equal(trail.count, 5);
    assert_int_equal(trail.who[3], 2);        /* the top device's routine saw the bottom's pending */
    assert_true(trail.pending_returned[3]);
    assert_int_equal(trail.irql[3], DISPATCH_LEVEL);
    assert_false(pthread_equal(trail.thread[3], pthread_self()));
    assert_int_equal(trail.who[4], 200);      /* and so did the caller */
    assert_true(trail.pending_returned[4]);
    IoFreeIrp(irp);
    stack_destroy(&s);
}

static NTSTATUS check_parameters(PDEVICE_OBJECT device, PIRP irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    record(sp->Parameters.DeviceIoControl.IoControlCode == 0x1234 && sp->MajorFunction == IRP_MJ_DEVICE_CONTROL
               ? 300 : 301, device, irp);
    assert_ptr_equal(sp->DeviceObject, device);
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static void io_call_driver_calls_the_next_lower_dispatch_after_skip(void **state)
{
    static behaviour_fn *const b[] = { check_parameters, forward_skip };
    test_stack s;
    PIRP irp;

    reset_trail();
    stack_build(&s, 2, b);
    irp = new_irp(&s);
    assert_int_equal(irp->CurrentLocation, 3);
    assert_int_equal(IoCallDriver(top_of(&s), irp), STATUS_SUCCESS);
    assert_int_equal(trail.count, 2);
    assert_int_equal(trail.who[0], 102);
    assert_ptr_equal(trail.device[0], s.dev[1]);
    assert_int_equal(trail.who[1], 300); /* same location, same parameters */
    assert_ptr_equal(trail.device[1], s.dev[0]);
    /* Completion passed the top. */
    assert_int_equal(irp->CurrentLocation, irp->StackCount + 2);
    IoFreeIrp(irp);
    stack_destroy(&s);
}

static void copy_current_location_passes_parameters_to_the_lower_driver(void **state)
{
    static behaviour_fn *const b[] = { check_parameters, forward_with_routine };
    test_stack s;
    PIRP irp;

    reset_trail();
    stack_build(&s, 2, b);
    irp = new_irp(&s);
    assert_int_equal(IoCallDriver(top_of(&s), irp), STATUS_SUCCESS);
    assert_int_equal(trail.count, 3);
    assert_int_equal(trail.who[1], 300);
    assert_int_equal(trail.who[2], 1);
    IoFreeIrp(irp);
    stack_destroy(&s);
}

static NTSTATUS success_only(PDEVICE_OBJECT device, PIRP irp, PVOID context)
{
    record(60, device, irp);
    return STATUS_CONTINUE_COMPLETION;
}

static void completion_routine_runs_only_for_the_outcomes_it_asked_for(void **state)
{
    static behaviour_fn *const b[] = { complete_inline };
    test_stack s;
    PIRP irp;

    reset_trail();
    stack_build(&s, 1, b);
    irp = new_irp(&s);
    IoSetCompletionRoutine(irp, success_only, NULL, TRUE, FALSE, FALSE);
    completion_status = STATUS_UNSUCCESSFUL;
    assert_int_equal(IoCallDriver(top_of(&s), irp), STATUS_UNSUCCESSFUL);
    assert_int_equal(trail.count, 1); /* the dispatch only */

    IoReuseIrp(irp, STATUS_SUCCESS);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    IoSetCompletionRoutine(irp, success_only, NULL, TRUE, FALSE, FALSE);
    completion_status = STATUS_SUCCESS;
    assert_int_equal(IoCallDriver(top_of(&s), irp), STATUS_SUCCESS);
    assert_int_equal(trail.count, 3);
    assert_int_equal(trail.who[2], 60);
    IoFreeIrp(irp);
    stack_destroy(&s);
}

static void unset_major_function_completes_with_invalid_device_request(void **state)
{
    static behaviour_fn *const b[] = { complete_inline };
    test_stack s;
    PIRP irp;

    reset_trail();
    stack_build(&s, 1, b);
    s.driver->MajorFunction[IRP_MJ_READ] = NULL;
    s.driver->MajorFunction[IRP_MJ_WRITE] = test_dispatch;
    irp = IoAllocateIrp(1, FALSE);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    pk_test_capture_verifier();
    assert_int_equal(IoCallDriver(s.dev[0], irp), STATUS_INVALID_DEVICE_REQUEST);
    assert_true(pk_test_verifier_saw("NULL MajorFunction"));
    assert_int_equal(irp->IoStatus.Status, STATUS_INVALID_DEVICE_REQUEST);
    IoFreeIrp(irp);
    stack_destroy(&s);
}

static NTSTATUS default_dispatch_entry(PDRIVER_OBJECT driver, PUNICODE_STRING path) { return STATUS_SUCCESS; }

static void driver_without_dispatch_routines_fails_requests_with_invalid_device_request(void **state)
{
    PDRIVER_OBJECT driver;
    PDEVICE_OBJECT device;
    PIRP irp;

    assert_int_equal(PnpkitIoCreateDriver(u"empty", default_dispatch_entry, &driver), STATUS_SUCCESS);
    assert_int_equal(IoCreateDevice(driver, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &device), STATUS_SUCCESS);
    irp = IoAllocateIrp(1, FALSE);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_CREATE;
    assert_int_equal(IoCallDriver(device, irp), STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(irp->IoStatus.Status, STATUS_INVALID_DEVICE_REQUEST);
    IoFreeIrp(irp);
    IoDeleteDevice(device);
    PnpkitIoDeleteDriver(driver);
}

static void irp_allocation_is_reused_without_malloc_after_warmup(void **state)
{
    static behaviour_fn *const b[] = { complete_inline, forward_skip };
    test_stack s;

    reset_trail();
    stack_build(&s, 2, b);
    for (int i = 0; i < 10; i++) {
        PIRP irp = new_irp(&s);
        trail.count = 0;
        assert_int_equal(IoCallDriver(top_of(&s), irp), STATUS_SUCCESS);
        IoFreeIrp(irp);
    }
    /* Warm: the next allocation, the send and the inline completion make no allocation, so an
     * armed allocation failure does not hit them. */
    PnpkitSimFailAllocation(1);
    for (int i = 0; i < 100; i++) {
        PIRP irp = IoAllocateIrp(top_of(&s)->StackSize, FALSE);
        assert_non_null(irp);
        IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_DEVICE_CONTROL;
        trail.count = 0;
        assert_int_equal(IoCallDriver(top_of(&s), irp), STATUS_SUCCESS);
        IoFreeIrp(irp);
    }
    /* The failure is still armed: nothing above allocated. */
    assert_null(IoAllocateIrp(40, FALSE));
    PnpkitSimFailAllocation(0);
    stack_destroy(&s);
}

static void irp_allocation_failure_returns_null_and_leaks_nothing(void **state)
{
    PIRP irp;

    PnpkitSimFailAllocation(1);
    assert_null(IoAllocateIrp(100, FALSE)); /* a size the cache never keeps */
    assert_null(IoAllocateIrp(0, FALSE));
    irp = IoAllocateIrp(100, FALSE);
    assert_non_null(irp);
    assert_int_equal(irp->StackCount, 100);
    assert_int_equal(PnpkitLiveObjectCount(), 1);
    IoFreeIrp(irp);
}

static void allocated_irp_starts_with_every_location_ahead(void **state)
{
    PIRP irp = IoAllocateIrp(3, FALSE);

    assert_int_equal(irp->Type, IO_TYPE_IRP);
    assert_int_equal(irp->StackCount, 3);
    assert_int_equal(irp->CurrentLocation, 4);
    assert_ptr_equal(IoGetNextIrpStackLocation(irp), (PIO_STACK_LOCATION)(irp + 1) + 3);
    assert_int_equal(irp->RequestorMode, KernelMode);
    assert_false(irp->Cancel);
    assert_null(irp->CancelRoutine);
    IoFreeIrp(irp);
}

static void driver_initialized_irp_is_sent_and_completed(void **state)
{
    static behaviour_fn *const b[] = { complete_inline };
    _Alignas(16) unsigned char memory[IoSizeOfIrp(2)];
    PIRP irp = (PIRP)memory;
    test_stack s;

    reset_trail();
    stack_build(&s, 1, b);
    IoInitializeIrp(irp, sizeof(memory), 2);
    /* The driver keeps a location of its own. */
    IoSetNextIrpStackLocation(irp);
    IoGetCurrentIrpStackLocation(irp)->DeviceObject = s.dev[0];
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_WRITE;
    IoSetCompletionRoutine(irp, layer_done, (PVOID)(intptr_t)9, TRUE, TRUE, TRUE);
    assert_int_equal(IoCallDriver(s.dev[0], irp), STATUS_SUCCESS);
    assert_int_equal(trail.count, 2);
    assert_int_equal(trail.who[1], 9);
    assert_ptr_equal(trail.device[1], s.dev[0]); /* the driver's own location's device */
    assert_int_equal(PnpkitLiveObjectCount(), 2); /* the driver and the device: the IRP is the test's memory */
    pk_test_capture_verifier();
    IoFreeIrp(irp);
    assert_true(pk_test_verifier_saw("not allocated by IoAllocateIrp"));
    stack_destroy(&s);
}

static void io_reuse_irp_allows_sending_again(void **state)
{
    static behaviour_fn *const b[] = { complete_inline };
    test_stack s;
    PIRP irp;

    reset_trail();
    stack_build(&s, 1, b);
    irp = new_irp(&s);
    assert_int_equal(IoCallDriver(s.dev[0], irp), STATUS_SUCCESS);
    IoReuseIrp(irp, STATUS_NOT_SUPPORTED);
    assert_int_equal(irp->IoStatus.Status, STATUS_NOT_SUPPORTED);
    assert_int_equal(irp->CurrentLocation, 2);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    assert_int_equal(IoCallDriver(s.dev[0], irp), STATUS_SUCCESS);
    assert_int_equal(trail.count, 2);
    IoFreeIrp(irp);
    stack_destroy(&s);
}

static NTSTATUS ex_done(PDEVICE_OBJECT device, PIRP irp, PVOID context)
{
    /* The device was deleted while the IRP was out; its memory is still here. */
    record(70, device, irp);
    assert_int_equal(((test_ext *)device->DeviceExtension)->index, 1);
    if (irp->PendingReturned)
        IoMarkIrpPending(irp);
    return STATUS_CONTINUE_COMPLETION;
}

static NTSTATUS forward_with_routine_ex(PDEVICE_OBJECT device, PIRP irp)
{
    test_ext *e = device->DeviceExtension;
    IoCopyCurrentIrpStackLocationToNext(irp);
    assert_int_equal(IoSetCompletionRoutineEx(device, irp, ex_done, NULL, TRUE, TRUE, TRUE), STATUS_SUCCESS);
    return IoCallDriver(e->lower, irp);
}

static void completion_routine_ex_keeps_the_device_until_it_has_run(void **state)
{
    static behaviour_fn *const b[] = { pend, forward_with_routine_ex };
    test_stack s;
    PIRP irp;

    reset_trail();
    stack_build(&s, 2, b);
    irp = new_irp(&s);
    assert_int_equal(IoCallDriver(top_of(&s), irp), STATUS_PENDING);
    IoDetachDevice(s.dev[0]);
    IoDeleteDevice(s.dev[1]);
    assert_int_equal(PnpkitLiveObjectCount(), 4); /* driver, two devices, the IRP */
    parked->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(parked, IO_NO_INCREMENT);
    assert_int_equal(trail.who[trail.count - 1], 70);
    assert_int_equal(PnpkitLiveObjectCount(), 3); /* the top device went with the routine */
    IoFreeIrp(irp);
    IoDeleteDevice(s.dev[0]);
    PnpkitIoDeleteDriver(s.driver);
}

/* ---- IRPs built by the I/O manager ---- */

#define IOCTL_TEST_BUFFERED CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_TEST_NEITHER CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_TEST_OUT_DIRECT CTL_CODE(FILE_DEVICE_UNKNOWN, 0x802, METHOD_OUT_DIRECT, FILE_ANY_ACCESS)

/* Upper-cases the input into the output, whatever the buffering method. */
static NTSTATUS upcase_ioctl(PDEVICE_OBJECT device, PIRP irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    ULONG in = sp->Parameters.DeviceIoControl.InputBufferLength;
    ULONG out = sp->Parameters.DeviceIoControl.OutputBufferLength;
    const char *src;
    char *dst;

    switch (METHOD_FROM_CTL_CODE(sp->Parameters.DeviceIoControl.IoControlCode)) {
    case METHOD_BUFFERED:
        src = dst = irp->AssociatedIrp.SystemBuffer;
        break;
    case METHOD_NEITHER:
        src = sp->Parameters.DeviceIoControl.Type3InputBuffer;
        dst = irp->UserBuffer;
        break;
    default:
        src = irp->AssociatedIrp.SystemBuffer;
        dst = MmGetSystemAddressForMdlSafe(irp->MdlAddress, NormalPagePriority);
        assert_int_equal(MmGetMdlByteCount(irp->MdlAddress), out);
        break;
    }
    ULONG n = in < out ? in : out;
    char tmp[64];
    memcpy(tmp, src, n);
    for (ULONG i = 0; i < n; i++)
        dst[i] = (char)(tmp[i] >= 'a' && tmp[i] <= 'z' ? tmp[i] - 32 : tmp[i]);
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = n;
    if (parked == (PIRP)1) { /* asked to pend: complete later */
        IoMarkIrpPending(irp);
        parked = irp;
        return STATUS_PENDING;
    }
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static void build_ioctl_and_check(test_stack *s, ULONG code)
{
    char in[] = "hello", out[16];
    IO_STATUS_BLOCK iosb = { .Status = -1, .Information = 99 };
    KEVENT event;
    PIRP irp;

    memset(out, '.', sizeof(out));
    KeInitializeEvent(&event, NotificationEvent, FALSE);
    irp = IoBuildDeviceIoControlRequest(code, top_of(s), in, 5, out, sizeof(out), FALSE, &event, &iosb);
    assert_non_null(irp);
    assert_int_equal(IoCallDriver(top_of(s), irp), STATUS_SUCCESS);
    /* Finished inline: status block written, event set, output copied, IRP freed. */
    assert_int_equal(KeReadStateEvent(&event), 1);
    assert_int_equal(iosb.Status, STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 5);
    assert_memory_equal(out, "HELLO.", 6);
}

static void io_build_device_io_control_request_is_completed_and_freed_by_the_io_manager(void **state)
{
    static behaviour_fn *const b[] = { upcase_ioctl, forward_skip };
    test_stack s;

    reset_trail();
    stack_build(&s, 2, b);
    build_ioctl_and_check(&s, IOCTL_TEST_BUFFERED);
    build_ioctl_and_check(&s, IOCTL_TEST_NEITHER);
    build_ioctl_and_check(&s, IOCTL_TEST_OUT_DIRECT);
    assert_int_equal(PnpkitLiveObjectCount(), 3); /* no IRP, no MDL left */
    stack_destroy(&s);
}

static void *complete_parked_passive(void *arg)
{
    IoCompleteRequest(parked, IO_NO_INCREMENT);
    return NULL;
}

static void io_build_device_io_control_request_pending_sets_the_event_at_completion(void **state)
{
    static behaviour_fn *const b[] = { upcase_ioctl };
    char in[] = "abc", out[8] = { 0 };
    IO_STATUS_BLOCK iosb = { 0 };
    pk_test_threads t;
    test_stack s;
    KEVENT event;
    PIRP irp;

    reset_trail();
    stack_build(&s, 1, b);
    KeInitializeEvent(&event, NotificationEvent, FALSE);
    irp = IoBuildDeviceIoControlRequest(IOCTL_TEST_BUFFERED, s.dev[0], in, 3, out, sizeof(out), FALSE, &event, &iosb);
    parked = (PIRP)1;
    assert_int_equal(IoCallDriver(s.dev[0], irp), STATUS_PENDING);
    assert_int_equal(KeReadStateEvent(&event), 0);
    pk_test_threads_start(&t, 1, complete_parked_passive, NULL);
    assert_int_equal(KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
    pk_test_threads_join(&t);
    assert_int_equal(iosb.Status, STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 3);
    assert_string_equal(out, "ABC");
    stack_destroy(&s);
}

static NTSTATUS read_fill(PDEVICE_OBJECT device, PIRP irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    assert_int_equal(sp->MajorFunction, IRP_MJ_READ);
    assert_int_equal(sp->Parameters.Read.ByteOffset.QuadPart, 42);
    memset(irp->AssociatedIrp.SystemBuffer, 'r', sp->Parameters.Read.Length);
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = sp->Parameters.Read.Length;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static void io_build_synchronous_fsd_read_copies_the_system_buffer_back(void **state)
{
    static behaviour_fn *const b[] = { read_fill };
    IO_STATUS_BLOCK iosb = { 0 };
    LARGE_INTEGER offset = { .QuadPart = 42 };
    char buffer[9] = { 0 };
    test_stack s;
    PIRP irp;

    stack_build(&s, 1, b);
    s.dev[0]->Flags |= DO_BUFFERED_IO;
    irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, s.dev[0], buffer, 8, &offset, NULL, &iosb);
    assert_non_null(irp);
    assert_int_equal(IoCallDriver(s.dev[0], irp), STATUS_SUCCESS);
    assert_int_equal(iosb.Information, 8);
    assert_string_equal(buffer, "rrrrrrrr");
    assert_null(IoBuildSynchronousFsdRequest(IRP_MJ_CREATE, s.dev[0], NULL, 0, NULL, NULL, &iosb));
    stack_destroy(&s);
}

static void io_allocate_mdl_describes_the_buffer_and_chains_secondary_buffers(void **state)
{
    static char first[10000], second[100];
    PIRP irp = IoAllocateIrp(1, FALSE);
    PMDL a, b;

    a = IoAllocateMdl(first + 5000, 3000, FALSE, FALSE, irp);
    b = IoAllocateMdl(second, sizeof(second), TRUE, FALSE, irp);
    assert_ptr_equal(irp->MdlAddress, a);
    assert_ptr_equal(a->Next, b);
    assert_ptr_equal(MmGetMdlVirtualAddress(a), first + 5000);
    assert_ptr_equal(MmGetSystemAddressForMdlSafe(a, NormalPagePriority), first + 5000);
    assert_int_equal(MmGetMdlByteCount(a), 3000);
    assert_int_equal(((uintptr_t)a->StartVa & 4095), 0);
    assert_int_equal((char *)a->StartVa + MmGetMdlByteOffset(a), first + 5000);
    assert_null(IoAllocateMdl(first, 0, FALSE, FALSE, NULL));
    assert_int_equal(PnpkitLiveObjectCount(), 3);
    IoFreeMdl(b);
    IoFreeMdl(a);
    IoFreeIrp(irp);
}

/* ---- Verifier checks ---- */

static NTSTATUS complete_twice(PDEVICE_OBJECT device, PIRP irp)
{
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static void completing_an_irp_twice_is_a_verifier_stop(void **state)
{
    static behaviour_fn *const b[] = { complete_twice };
    test_stack s;
    PIRP irp;

    reset_trail();
    stack_build(&s, 1, b);
    pk_test_capture_verifier();
    irp = new_irp(&s);
    IoSetCompletionRoutine(irp, owner_done, NULL, TRUE, TRUE, TRUE);
    assert_int_equal(IoCallDriver(s.dev[0], irp), STATUS_SUCCESS);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("completed twice"));
    assert_int_equal(trail.count, 1); /* the owner's routine ran once */
    IoFreeIrp(irp);
    stack_destroy(&s);
}

static NTSTATUS complete_with_pending(PDEVICE_OBJECT device, PIRP irp)
{
    irp->IoStatus.Status = STATUS_PENDING;
    IoCompleteRequest(irp, IO_NO_INCREMENT); /* refused */
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static void completing_with_status_pending_is_a_verifier_stop(void **state)
{
    static behaviour_fn *const b[] = { complete_with_pending };
    test_stack s;
    PIRP irp;

    reset_trail();
    stack_build(&s, 1, b);
    pk_test_capture_verifier();
    irp = new_irp(&s);
    IoSetCompletionRoutine(irp, owner_done, NULL, TRUE, TRUE, TRUE);
    assert_int_equal(IoCallDriver(s.dev[0], irp), STATUS_SUCCESS);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("STATUS_PENDING"));
    assert_int_equal(trail.count, 1);
    IoFreeIrp(irp);
    stack_destroy(&s);
}

static NTSTATUS pend_without_mark(PDEVICE_OBJECT device, PIRP irp)
{
    parked = irp;
    return STATUS_PENDING;
}

static void dispatch_returning_pending_without_mark_is_a_verifier_stop(void **state)
{
    static behaviour_fn *const b[] = { pend_without_mark, forward_skip };
    test_stack s;
    PIRP irp;

    reset_trail();
    stack_build(&s, 2, b);
    pk_test_capture_verifier();
    irp = new_irp(&s);
    assert_int_equal(IoCallDriver(top_of(&s), irp), STATUS_PENDING);
    /* One stop, for the bottom driver; the top returned its lower driver's STATUS_PENDING. */
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("without IoMarkIrpPending"));
    parked->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(parked, IO_NO_INCREMENT);
    IoFreeIrp(irp);
    stack_destroy(&s);
}

static NTSTATUS mark_and_complete(PDEVICE_OBJECT device, PIRP irp)
{
    IoMarkIrpPending(irp);
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static void dispatch_marking_pending_and_returning_success_is_a_verifier_stop(void **state)
{
    static behaviour_fn *const b[] = { mark_and_complete };
    test_stack s;
    PIRP irp;

    stack_build(&s, 1, b);
    pk_test_capture_verifier();
    irp = new_irp(&s);
    assert_int_equal(IoCallDriver(s.dev[0], irp), STATUS_SUCCESS);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("called IoMarkIrpPending and returned STATUS_SUCCESS"));
    IoFreeIrp(irp);
    stack_destroy(&s);
}

static NTSTATUS forgetful_done(PDEVICE_OBJECT device, PIRP irp, PVOID context)
{
    return STATUS_CONTINUE_COMPLETION; /* does not propagate PendingReturned */
}

static NTSTATUS forward_with_forgetful_routine(PDEVICE_OBJECT device, PIRP irp)
{
    test_ext *e = device->DeviceExtension;
    IoCopyCurrentIrpStackLocationToNext(irp);
    IoSetCompletionRoutine(irp, forgetful_done, NULL, TRUE, TRUE, TRUE);
    return IoCallDriver(e->lower, irp);
}

static void completion_routine_not_propagating_pending_is_a_verifier_stop(void **state)
{
    static behaviour_fn *const b[] = { pend, forward_with_forgetful_routine, forward_skip };
    test_stack s;
    PIRP irp;

    reset_trail();
    stack_build(&s, 3, b);
    pk_test_capture_verifier();
    irp = new_irp(&s);
    IoSetCompletionRoutine(irp, owner_done, NULL, TRUE, TRUE, TRUE);
    assert_int_equal(IoCallDriver(top_of(&s), irp), STATUS_PENDING);
    assert_int_equal(pk_test_verifier_stops(), 0);
    parked->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(parked, IO_NO_INCREMENT);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("without calling IoMarkIrpPending"));
    /* pnpkit marked it on the routine's behalf: the caller still learns it was pending. */
    assert_true(trail.pending_returned[trail.count - 1]);
    IoFreeIrp(irp);
    stack_destroy(&s);
}

static void io_free_irp_of_an_irp_in_flight_is_a_verifier_stop(void **state)
{
    static behaviour_fn *const b[] = { pend };
    test_stack s;
    PIRP irp;

    reset_trail();
    stack_build(&s, 1, b);
    pk_test_capture_verifier();
    irp = new_irp(&s);
    assert_int_equal(IoCallDriver(s.dev[0], irp), STATUS_PENDING);
    IoFreeIrp(irp);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("still in flight"));
    /* Nothing was freed: the IRP completes and is freed normally. */
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    IoFreeIrp(irp);
    IoFreeIrp(irp); /* twice: a stop, nothing happens (the IRP sits in the thread's cache) */
    assert_int_equal(pk_test_verifier_stops(), 2);
    assert_true(pk_test_verifier_saw("freed already"));
    stack_destroy(&s);
}

static void io_free_irp_of_a_built_irp_is_a_verifier_stop(void **state)
{
    static behaviour_fn *const b[] = { complete_inline };
    IO_STATUS_BLOCK iosb;
    test_stack s;
    PIRP irp;

    reset_trail();
    stack_build(&s, 1, b);
    pk_test_capture_verifier();
    irp = IoBuildDeviceIoControlRequest(IOCTL_TEST_NEITHER, s.dev[0], NULL, 0, NULL, 0, FALSE, NULL, &iosb);
    IoFreeIrp(irp);
    assert_true(pk_test_verifier_saw("IoBuild"));
    assert_int_equal(IoCallDriver(s.dev[0], irp), STATUS_SUCCESS); /* the I/O manager frees it */
    stack_destroy(&s);
}

static NTSTATUS record_error_done(PDEVICE_OBJECT device, PIRP irp, PVOID context)
{
    record(80, device, irp);
    *(NTSTATUS *)context = irp->IoStatus.Status;
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static void io_call_driver_with_no_stack_location_left_completes_the_irp_with_an_error(void **state)
{
    static behaviour_fn *const b[] = { complete_inline, forward_with_routine };
    NTSTATUS seen = STATUS_SUCCESS;
    test_stack s;
    PIRP irp;

    reset_trail();
    stack_build(&s, 2, b);
    pk_test_capture_verifier();
    irp = IoAllocateIrp(1, FALSE); /* one location short */
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    IoSetCompletionRoutine(irp, record_error_done, &seen, TRUE, TRUE, TRUE);
    assert_int_equal(IoCallDriver(top_of(&s), irp), STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("no stack location left"));
    /* The bottom driver never ran; the caller's completion routine saw the failure. */
    assert_int_equal(trail.count, 3);
    assert_int_equal(trail.who[1], 1);
    assert_int_equal(trail.who[2], 80);
    assert_int_equal(seen, STATUS_INVALID_DEVICE_REQUEST);
    IoFreeIrp(irp);
    stack_destroy(&s);
}

static void send_without_stack_location(void *ctx)
{
    static behaviour_fn *const b[] = { complete_inline };
    test_stack s;
    PIRP irp;

    stack_build(&s, 1, b);
    irp = IoAllocateIrp(1, FALSE);
    IoSetNextIrpStackLocation(irp); /* the caller keeps the only location for itself */
    IoCallDriver(s.dev[0], irp);
}

static void io_call_driver_with_no_stack_location_left_stops_the_program(void **state)
{
    char out[4096];
    int status = pk_test_run_in_child(send_without_stack_location, NULL, out, sizeof(out));

    assert_true(pk_test_died_of_abort(status));
    assert_non_null(strstr(out, "pnpkit verifier stop: IoCallDriver"));
    assert_non_null(strstr(out, "NO_MORE_IRP_STACK_LOCATIONS"));
}

static void complete_twice_in_child(void *ctx)
{
    static behaviour_fn *const b[] = { complete_twice };
    test_stack s;
    PIRP irp;

    stack_build(&s, 1, b);
    irp = IoAllocateIrp(1, FALSE);
    IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_READ;
    IoCallDriver(s.dev[0], irp);
}

static void completing_twice_stops_the_program_outside_capture(void **state)
{
    char out[4096];
    int status = pk_test_run_in_child(complete_twice_in_child, NULL, out, sizeof(out));

    assert_true(pk_test_died_of_abort(status));
    assert_non_null(strstr(out, "MULTIPLE_IRP_COMPLETE_REQUESTS"));
}

static void passive_level_io_apis_refuse_dispatch_level(void **state)
{
    static behaviour_fn *const b[] = { complete_inline };
    IO_STATUS_BLOCK iosb;
    test_stack s;
    KIRQL old;

    stack_build(&s, 1, b);
    pk_test_capture_verifier();
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_null(IoBuildDeviceIoControlRequest(IOCTL_TEST_NEITHER, s.dev[0], NULL, 0, NULL, 0, FALSE, NULL, &iosb));
    KeLowerIrql(old);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("IoBuildDeviceIoControlRequest"));
    stack_destroy(&s);
}

PK_TEST_MAIN(
    PK_TEST(irp_completed_inline_runs_completion_routines_bottom_up),
    PK_TEST(completion_routine_returning_more_processing_required_stops_completion),
    PK_TEST(pending_returned_propagates_to_the_caller),
    PK_TEST(io_call_driver_calls_the_next_lower_dispatch_after_skip),
    PK_TEST(copy_current_location_passes_parameters_to_the_lower_driver),
    PK_TEST(completion_routine_runs_only_for_the_outcomes_it_asked_for),
    PK_TEST(unset_major_function_completes_with_invalid_device_request),
    PK_TEST(driver_without_dispatch_routines_fails_requests_with_invalid_device_request),
    PK_TEST(irp_allocation_is_reused_without_malloc_after_warmup),
    PK_TEST(irp_allocation_failure_returns_null_and_leaks_nothing),
    PK_TEST(allocated_irp_starts_with_every_location_ahead),
    PK_TEST(driver_initialized_irp_is_sent_and_completed),
    PK_TEST(io_reuse_irp_allows_sending_again),
    PK_TEST(completion_routine_ex_keeps_the_device_until_it_has_run),
    PK_TEST(io_build_device_io_control_request_is_completed_and_freed_by_the_io_manager),
    PK_TEST(io_build_device_io_control_request_pending_sets_the_event_at_completion),
    PK_TEST(io_build_synchronous_fsd_read_copies_the_system_buffer_back),
    PK_TEST(io_allocate_mdl_describes_the_buffer_and_chains_secondary_buffers),
    PK_TEST(completing_an_irp_twice_is_a_verifier_stop),
    PK_TEST(completing_with_status_pending_is_a_verifier_stop),
    PK_TEST(dispatch_returning_pending_without_mark_is_a_verifier_stop),
    PK_TEST(dispatch_marking_pending_and_returning_success_is_a_verifier_stop),
    PK_TEST(completion_routine_not_propagating_pending_is_a_verifier_stop),
    PK_TEST(io_free_irp_of_an_irp_in_flight_is_a_verifier_stop),
    PK_TEST(io_free_irp_of_a_built_irp_is_a_verifier_stop),
    PK_TEST(io_call_driver_with_no_stack_location_left_completes_the_irp_with_an_error),
    PK_TEST(io_call_driver_with_no_stack_location_left_stops_the_program),
    PK_TEST(completing_twice_stops_the_program_outside_capture),
    PK_TEST(passive_level_io_apis_refuse_dispatch_level))
