/* I/O work items: IoAllocateWorkItem, IoQueueWorkItem(Ex), IoInitializeWorkItem. */
#include "pk_test.h"

#include <stdlib.h>

static NTSTATUS entry(PDRIVER_OBJECT driver, PUNICODE_STRING path) { return STATUS_SUCCESS; }

static PDRIVER_OBJECT driver;
static PDEVICE_OBJECT device;

static void create_device(void)
{
    assert_int_equal(PnpkitIoCreateDriver(u"worker", entry, &driver), STATUS_SUCCESS);
    assert_int_equal(IoCreateDevice(driver, 16, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &device), STATUS_SUCCESS);
}

static struct {
    PVOID object;
    PVOID context;
    PIO_WORKITEM item;
    KIRQL irql;
    pthread_t thread;
    int runs;
} ran;
static KEVENT done, release;

static VOID routine(PDEVICE_OBJECT dev, PVOID context)
{
    ran.object = dev;
    ran.context = context;
    ran.irql = KeGetCurrentIrql();
    ran.thread = pthread_self();
    ran.runs++;
    KeSetEvent(&done, IO_NO_INCREMENT, FALSE);
}

static void io_work_item_runs_at_passive_level_on_a_pool_thread_with_its_device(void **state)
{
    PIO_WORKITEM item;
    KIRQL old;

    create_device();
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    item = IoAllocateWorkItem(device);
    assert_non_null(item);
    KeRaiseIrql(DISPATCH_LEVEL, &old); /* queued from DISPATCH_LEVEL, run at PASSIVE_LEVEL */
    IoQueueWorkItem(item, routine, DelayedWorkQueue, (PVOID)0x42);
    KeLowerIrql(old);
    pk_test_wait_event(&done);
    PnpkitShutdown(); /* the routine has returned */
    assert_int_equal(ran.runs, 1);
    assert_ptr_equal(ran.object, device);
    assert_ptr_equal(ran.context, (PVOID)0x42);
    assert_int_equal(ran.irql, PASSIVE_LEVEL);
    assert_false(pthread_equal(ran.thread, pthread_self()));
    IoFreeWorkItem(item);
    IoDeleteDevice(device);
    PnpkitIoDeleteDriver(driver);
}

static VOID blocking_routine(PDEVICE_OBJECT dev, PVOID context)
{
    KeSetEvent(&done, IO_NO_INCREMENT, FALSE);
    KeWaitForSingleObject(&release, Executive, KernelMode, FALSE, NULL);
    /* The device was deleted meanwhile; it is still here. */
    ran.context = dev->DeviceExtension;
    ran.runs++;
}

static void io_work_item_keeps_its_device_until_the_routine_returns(void **state)
{
    PIO_WORKITEM item;

    create_device();
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    KeInitializeEvent(&release, NotificationEvent, FALSE);
    item = IoAllocateWorkItem(device);
    IoQueueWorkItem(item, blocking_routine, DelayedWorkQueue, NULL);
    pk_test_wait_event(&done);
    IoFreeWorkItem(item); /* allowed once the routine has started */
    IoDeleteDevice(device);
    PnpkitIoDeleteDriver(driver);
    assert_int_equal(PnpkitLiveObjectCount(), 2); /* the device, and through it the driver */
    KeSetEvent(&release, IO_NO_INCREMENT, FALSE);
    PnpkitShutdown();
    assert_int_equal(ran.runs, 1);
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

static VOID self_freeing_routine(PDEVICE_OBJECT dev, PVOID context)
{
    IoFreeWorkItem(context);
    KeSetEvent(&done, IO_NO_INCREMENT, FALSE);
}

static void io_work_item_can_free_itself_from_its_routine(void **state)
{
    PIO_WORKITEM item;

    create_device();
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    item = IoAllocateWorkItem(device);
    IoQueueWorkItem(item, self_freeing_routine, DelayedWorkQueue, item);
    pk_test_wait_event(&done);
    PnpkitShutdown();
    IoDeleteDevice(device);
    PnpkitIoDeleteDriver(driver);
}

static int requeue_left;

static VOID requeueing_routine(PDEVICE_OBJECT dev, PVOID context)
{
    ran.runs++;
    if (--requeue_left > 0)
        IoQueueWorkItem(context, requeueing_routine, DelayedWorkQueue, context);
    else
        KeSetEvent(&done, IO_NO_INCREMENT, FALSE);
}

static void io_work_item_can_queue_itself_again_from_its_routine(void **state)
{
    PIO_WORKITEM item;

    create_device();
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    ran.runs = 0;
    requeue_left = 5;
    item = IoAllocateWorkItem(device);
    IoQueueWorkItem(item, requeueing_routine, DelayedWorkQueue, item);
    pk_test_wait_event(&done);
    PnpkitShutdown();
    assert_int_equal(ran.runs, 5);
    IoFreeWorkItem(item);
    IoDeleteDevice(device);
    PnpkitIoDeleteDriver(driver);
}

static VOID ex_routine(PVOID object, PVOID context, PIO_WORKITEM item)
{
    ran.object = object;
    ran.context = context;
    ran.item = item;
    IoUninitializeWorkItem(item);
    KeSetEvent(&done, IO_NO_INCREMENT, FALSE);
}

static void io_work_item_in_caller_memory_runs_for_a_driver_object(void **state)
{
    PIO_WORKITEM item = malloc(IoSizeofWorkItem());

    create_device();
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    IoInitializeWorkItem(driver, item);
    IoQueueWorkItemEx(item, ex_routine, DelayedWorkQueue, (PVOID)7);
    pk_test_wait_event(&done);
    PnpkitShutdown();
    assert_ptr_equal(ran.object, driver);
    assert_ptr_equal(ran.context, (PVOID)7);
    assert_ptr_equal(ran.item, item);
    free(item);
    IoDeleteDevice(device);
    PnpkitIoDeleteDriver(driver);
}

static void io_work_item_misuse_is_a_verifier_stop(void **state)
{
    static _Alignas(16) char not_an_item[128];
    PIO_WORKITEM item;

    create_device();
    pk_test_capture_verifier();
    assert_null(IoAllocateWorkItem(NULL));
    IoQueueWorkItem((PIO_WORKITEM)not_an_item, routine, DelayedWorkQueue, NULL);
    assert_int_equal(pk_test_verifier_stops(), 1);
    item = IoAllocateWorkItem(device);
    IoQueueWorkItem(item, NULL, DelayedWorkQueue, NULL);
    assert_int_equal(pk_test_verifier_stops(), 2);
    assert_true(pk_test_verifier_saw("WorkerRoutine is NULL"));
    IoFreeWorkItem(item);
    IoDeleteDevice(device);
    PnpkitIoDeleteDriver(driver);
}

PK_TEST_MAIN(
    PK_TEST(io_work_item_runs_at_passive_level_on_a_pool_thread_with_its_device),
    PK_TEST(io_work_item_keeps_its_device_until_the_routine_returns),
    PK_TEST(io_work_item_can_free_itself_from_its_routine),
    PK_TEST(io_work_item_can_queue_itself_again_from_its_routine),
    PK_TEST(io_work_item_in_caller_memory_runs_for_a_driver_object),
    PK_TEST(io_work_item_misuse_is_a_verifier_stop))
