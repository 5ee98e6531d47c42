/* Driver objects, device objects and stacks, object references, device names and file
 * objects (create, cleanup, close). */
#include "pk_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- A driver that counts what reaches it ---- */

static struct {
    int entry_calls, unload_calls;
    char registry_path[256];
    int creates, cleanups, closes;
    NTSTATUS create_status;
    ACCESS_MASK create_access;
    ULONG create_share, create_options;
    char create_name[64];
    PFILE_OBJECT create_file;
    KIRQL close_irql;
    bool close_on_pool_thread;
} seen;

static PDEVICE_OBJECT entry_device;
static bool entry_creates_device;
static NTSTATUS entry_status;

static char *utf8(PCUNICODE_STRING s, char *buffer, size_t size)
{
    char *u = PnpkitUnicodeStringToUtf8(s);
    snprintf(buffer, size, "%s", u ? u : "");
    free(u);
    return buffer;
}

static NTSTATUS count_dispatch(PDEVICE_OBJECT device, PIRP irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    NTSTATUS status = STATUS_SUCCESS;

    switch (sp->MajorFunction) {
    case IRP_MJ_CREATE:
        seen.creates++;
        seen.create_access = sp->Parameters.Create.SecurityContext->DesiredAccess;
        seen.create_share = sp->Parameters.Create.ShareAccess;
        seen.create_options = sp->Parameters.Create.Options;
        seen.create_file = sp->FileObject;
        utf8(&sp->FileObject->FileName, seen.create_name, sizeof(seen.create_name));
        status = seen.create_status;
        break;
    case IRP_MJ_CLEANUP:
        seen.cleanups++;
        assert_int_equal(seen.closes, 0);
        break;
    case IRP_MJ_CLOSE:
        seen.closes++;
        seen.close_irql = KeGetCurrentIrql();
        /* A driver may reference the file object while closing it. */
        ObReferenceObject(sp->FileObject);
        ObDereferenceObject(sp->FileObject);
        break;
    default:
        break;
    }
    irp->IoStatus.Status = status;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
}

static VOID count_unload(PDRIVER_OBJECT driver) { seen.unload_calls++; }

static NTSTATUS count_entry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    seen.entry_calls++;
    utf8(registry_path, seen.registry_path, sizeof(seen.registry_path));
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        driver->MajorFunction[i] = count_dispatch;
    driver->DriverUnload = count_unload;
    if (entry_creates_device)
        assert_int_equal(IoCreateDevice(driver, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &entry_device), STATUS_SUCCESS);
    return entry_status;
}

static PDRIVER_OBJECT new_driver(void)
{
    PDRIVER_OBJECT driver;
    memset(&seen, 0, sizeof(seen));
    entry_creates_device = false;
    entry_status = STATUS_SUCCESS;
    assert_int_equal(PnpkitIoCreateDriver(u"counter", count_entry, &driver), STATUS_SUCCESS);
    return driver;
}

static PDEVICE_OBJECT new_device(PDRIVER_OBJECT driver, ULONG extension_size)
{
    PDEVICE_OBJECT device;
    assert_int_equal(IoCreateDevice(driver, extension_size, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &device),
                     STATUS_SUCCESS);
    return device;
}

/* ---- Driver objects ---- */

static void driver_entry_runs_once_with_its_registry_path_and_names(void **state)
{
    char name[128];
    PDRIVER_OBJECT driver = new_driver();

    assert_int_equal(seen.entry_calls, 1);
    assert_string_equal(seen.registry_path, "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\counter");
    assert_string_equal(utf8(&driver->DriverName, name, sizeof(name)), "\\Driver\\counter");
    assert_string_equal(utf8(&driver->DriverExtension->ServiceKeyName, name, sizeof(name)), "counter");
    assert_ptr_equal(driver->DriverExtension->DriverObject, driver);
    assert_int_equal(driver->Type, IO_TYPE_DRIVER);
    assert_int_equal(PnpkitLiveObjectCount(), 1);
    PnpkitIoDeleteDriver(driver);
    assert_int_equal(seen.unload_calls, 1);
}

static void devices_created_in_driver_entry_lose_initializing_when_it_returns(void **state)
{
    PDRIVER_OBJECT driver;

    memset(&seen, 0, sizeof(seen));
    entry_creates_device = true;
    entry_status = STATUS_SUCCESS;
    assert_int_equal(PnpkitIoCreateDriver(u"counter", count_entry, &driver), STATUS_SUCCESS);
    assert_ptr_equal(driver->DeviceObject, entry_device);
    assert_false(entry_device->Flags & DO_DEVICE_INITIALIZING);
    IoDeleteDevice(entry_device);
    PnpkitIoDeleteDriver(driver);
}

static void driver_entry_failure_deletes_the_driver_without_unload(void **state)
{
    PDRIVER_OBJECT driver = (PDRIVER_OBJECT)0x1;

    memset(&seen, 0, sizeof(seen));
    entry_creates_device = false;
    entry_status = STATUS_DEVICE_CONFIGURATION_ERROR;
    assert_int_equal(PnpkitIoCreateDriver(u"counter", count_entry, &driver), STATUS_DEVICE_CONFIGURATION_ERROR);
    assert_ptr_equal(driver, (PDRIVER_OBJECT)0x1);
    assert_int_equal(seen.unload_calls, 0);
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

static void create_driver_refuses_bad_arguments_and_survives_allocation_failure(void **state)
{
    PDRIVER_OBJECT driver;

    assert_int_equal(PnpkitIoCreateDriver(NULL, count_entry, &driver), STATUS_INVALID_PARAMETER);
    assert_int_equal(PnpkitIoCreateDriver(u"", count_entry, &driver), STATUS_INVALID_PARAMETER);
    assert_int_equal(PnpkitIoCreateDriver(u"x", NULL, &driver), STATUS_INVALID_PARAMETER);
    for (ULONG n = 1; n <= 4; n++) {
        memset(&seen, 0, sizeof(seen));
        PnpkitSimFailAllocation(n);
        assert_int_equal(PnpkitIoCreateDriver(u"counter", count_entry, &driver), STATUS_INSUFFICIENT_RESOURCES);
        assert_int_equal(seen.entry_calls, 0);
        assert_int_equal(PnpkitLiveObjectCount(), 0);
    }
    PnpkitSimFailAllocation(0);
}

static void deleting_a_driver_twice_is_a_verifier_stop(void **state)
{
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT device = new_device(driver, 0);

    pk_test_capture_verifier();
    PnpkitIoDeleteDriver(driver); /* a device is still there: a stop, and the driver lives on */
    assert_true(pk_test_verifier_saw("device objects still present"));
    PnpkitIoDeleteDriver(driver);
    assert_true(pk_test_verifier_saw("deleted already"));
    assert_int_equal(seen.unload_calls, 1);
    assert_int_equal(PnpkitLiveObjectCount(), 2);
    IoDeleteDevice(device); /* the last reference on the driver goes with it */
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

/* ---- Device objects and stacks ---- */

static void deleting_a_device_twice_is_a_verifier_stop(void **state)
{
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT device = new_device(driver, 0);

    ObReferenceObject(device);
    IoDeleteDevice(device);
    pk_test_capture_verifier();
    IoDeleteDevice(device);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("deleted already"));
    ObDereferenceObject(device);
    PnpkitIoDeleteDriver(driver);
}

static void create_device_starts_initializing_with_a_zeroed_extension(void **state)
{
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT device;

    assert_int_equal(IoCreateDevice(driver, 100, NULL, FILE_DEVICE_BUS_EXTENDER, FILE_DEVICE_SECURE_OPEN, TRUE, &device),
                     STATUS_SUCCESS);
    assert_int_equal(device->Type, IO_TYPE_DEVICE);
    assert_ptr_equal(device->DriverObject, driver);
    assert_ptr_equal(driver->DeviceObject, device);
    assert_int_equal(device->StackSize, 1);
    assert_int_equal(device->DeviceType, FILE_DEVICE_BUS_EXTENDER);
    assert_int_equal(device->Characteristics, FILE_DEVICE_SECURE_OPEN);
    assert_true(device->Flags & DO_DEVICE_INITIALIZING);
    assert_true(device->Flags & DO_EXCLUSIVE);
    assert_false(device->Flags & DO_DEVICE_HAS_NAME);
    assert_int_equal((uintptr_t)device->DeviceExtension % 16, 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(((unsigned char *)device->DeviceExtension)[i], 0);
    assert_ptr_equal(device->DeviceObjectExtension->DeviceObject, device);
    assert_null(device->AttachedDevice);
    assert_int_equal(PnpkitLiveObjectCount(), 2);
    IoDeleteDevice(device);
    assert_null(driver->DeviceObject);
    PnpkitIoDeleteDriver(driver);
}

static void driver_device_list_links_every_device(void **state)
{
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT a = new_device(driver, 0), b = new_device(driver, 0), c = new_device(driver, 0);

    assert_ptr_equal(driver->DeviceObject, c);
    assert_ptr_equal(c->NextDevice, b);
    assert_ptr_equal(b->NextDevice, a);
    assert_null(a->NextDevice);
    IoDeleteDevice(b);
    assert_ptr_equal(c->NextDevice, a);
    IoDeleteDevice(c);
    assert_ptr_equal(driver->DeviceObject, a);
    IoDeleteDevice(a);
    PnpkitIoDeleteDriver(driver);
}

static void attach_returns_previous_top_and_builds_stack_size(void **state)
{
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT pdo = new_device(driver, 0), fdo = new_device(driver, 0), filter = new_device(driver, 0);
    PDEVICE_OBJECT top;

    pdo->AlignmentRequirement = 7;
    assert_ptr_equal(IoAttachDeviceToDeviceStack(fdo, pdo), pdo);
    assert_int_equal(fdo->StackSize, 2);
    assert_int_equal(fdo->AlignmentRequirement, 7);
    /* Attaching to the bottom of a stack attaches on its top. */
    assert_int_equal(IoAttachDeviceToDeviceStackSafe(filter, pdo, &top), STATUS_SUCCESS);
    assert_ptr_equal(top, fdo);
    assert_int_equal(filter->StackSize, 3);
    assert_ptr_equal(pdo->AttachedDevice, fdo);
    assert_ptr_equal(fdo->AttachedDevice, filter);
    assert_ptr_equal(filter->DeviceObjectExtension->AttachedTo, fdo);
    assert_ptr_equal(IoGetAttachedDevice(pdo), filter);

    IoDetachDevice(fdo);
    IoDeleteDevice(filter);
    IoDetachDevice(pdo);
    IoDeleteDevice(fdo);
    IoDeleteDevice(pdo);
    PnpkitIoDeleteDriver(driver);
}

static void detach_unlinks_the_upper_device(void **state)
{
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT pdo = new_device(driver, 0), fdo = new_device(driver, 0);

    IoAttachDeviceToDeviceStack(fdo, pdo);
    IoDetachDevice(pdo);
    assert_null(pdo->AttachedDevice);
    assert_null(fdo->DeviceObjectExtension->AttachedTo);
    assert_ptr_equal(IoGetAttachedDevice(pdo), pdo);
    pk_test_capture_verifier();
    IoDetachDevice(pdo);
    assert_true(pk_test_verifier_saw("no device is attached"));
    IoDeleteDevice(fdo);
    IoDeleteDevice(pdo);
    PnpkitIoDeleteDriver(driver);
}

static void stack_walks_return_referenced_devices(void **state)
{
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT pdo = new_device(driver, 0), fdo = new_device(driver, 0), filter = new_device(driver, 0);
    PDEVICE_OBJECT d;

    IoAttachDeviceToDeviceStack(fdo, pdo);
    IoAttachDeviceToDeviceStack(filter, fdo);
    d = IoGetAttachedDeviceReference(pdo);
    assert_ptr_equal(d, filter);
    ObDereferenceObject(d);
    d = IoGetLowerDeviceObject(filter);
    assert_ptr_equal(d, fdo);
    ObDereferenceObject(d);
    assert_null(IoGetLowerDeviceObject(pdo));
    d = IoGetDeviceAttachmentBaseRef(filter);
    assert_ptr_equal(d, pdo);
    ObDereferenceObject(d);

    IoDetachDevice(fdo);
    IoDeleteDevice(filter);
    IoDetachDevice(pdo);
    IoDeleteDevice(fdo);
    IoDeleteDevice(pdo);
    PnpkitIoDeleteDriver(driver);
}

static void attach_to_a_stack_whose_top_is_deleted_fails(void **state)
{
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT pdo = new_device(driver, 0), fdo = new_device(driver, 0);
    PDEVICE_OBJECT top = (PDEVICE_OBJECT)0x1;

    ObReferenceObject(pdo);
    IoDeleteDevice(pdo);
    assert_null(IoAttachDeviceToDeviceStack(fdo, pdo));
    assert_int_equal(IoAttachDeviceToDeviceStackSafe(fdo, pdo, &top), STATUS_NO_SUCH_DEVICE);
    assert_ptr_equal(top, (PDEVICE_OBJECT)0x1);
    ObDereferenceObject(pdo);
    IoDeleteDevice(fdo);
    PnpkitIoDeleteDriver(driver);
}

static void attaching_an_attached_device_is_a_verifier_stop(void **state)
{
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT a = new_device(driver, 0), b = new_device(driver, 0), c = new_device(driver, 0);

    IoAttachDeviceToDeviceStack(b, a);
    pk_test_capture_verifier();
    assert_null(IoAttachDeviceToDeviceStack(b, c));
    assert_true(pk_test_verifier_saw("attached to"));
    IoDetachDevice(a);
    IoDeleteDevice(a);
    IoDeleteDevice(b);
    IoDeleteDevice(c);
    PnpkitIoDeleteDriver(driver);
}

static void ob_dereference_of_deleted_device_frees_it_last(void **state)
{
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT device = new_device(driver, 64);
    int *extension = device->DeviceExtension;

    assert_int_equal(ObReferenceObject(device), 2);
    *extension = 42;
    IoDeleteDevice(device);
    assert_true(device->DeviceObjectExtension->ExtensionFlags & DOE_DELETE_PENDING);
    assert_null(driver->DeviceObject);
    PnpkitIoDeleteDriver(driver);
    /* The device (and, through it, the driver) is still in memory. */
    assert_int_equal(PnpkitLiveObjectCount(), 2);
    assert_int_equal(*extension, 42);
    assert_ptr_equal(device->DriverObject, driver);
    assert_int_equal(ObDereferenceObject(device), 0);
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

static void deleted_device_stays_in_memory_while_a_device_is_attached_to_it(void **state)
{
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT pdo = new_device(driver, 0), fdo = new_device(driver, 0);

    IoAttachDeviceToDeviceStack(fdo, pdo);
    IoDeleteDevice(pdo); /* the bus driver went first */
    assert_int_equal(PnpkitLiveObjectCount(), 3);
    IoDetachDevice(pdo);
    assert_int_equal(PnpkitLiveObjectCount(), 2);
    IoDeleteDevice(fdo);
    PnpkitIoDeleteDriver(driver);
}

static void deleting_a_device_still_attached_to_a_lower_one_is_a_verifier_stop(void **state)
{
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT pdo = new_device(driver, 0), fdo = new_device(driver, 0);

    IoAttachDeviceToDeviceStack(fdo, pdo);
    pk_test_capture_verifier();
    IoDeleteDevice(fdo);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("call IoDetachDevice first"));
    /* It was detached for the caller, and is gone. */
    assert_null(pdo->AttachedDevice);
    assert_int_equal(PnpkitLiveObjectCount(), 2);
    IoDeleteDevice(pdo);
    PnpkitIoDeleteDriver(driver);
}

static void dropping_the_creation_reference_with_ob_dereference_is_a_verifier_stop(void **state)
{
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT device = new_device(driver, 0);

    pk_test_capture_verifier();
    assert_int_equal(ObDereferenceObject(device), 1);
    assert_true(pk_test_verifier_saw("IoDeleteDevice"));
    assert_int_equal(ObDereferenceObject(driver), 1); /* its own and the device's: one left */
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_int_equal(ObDereferenceObject(driver), 1); /* refused */
    assert_true(pk_test_verifier_saw("PnpkitIoDeleteDriver"));
    ObReferenceObject(driver);
    IoDeleteDevice(device);
    PnpkitIoDeleteDriver(driver);
}

static void ob_reference_of_something_else_is_a_verifier_stop(void **state)
{
    static _Alignas(16) char not_an_object[64];

    pk_test_capture_verifier();
    assert_int_equal(ObReferenceObject(not_an_object + 32), 0);
    assert_true(pk_test_verifier_saw("not a live driver, device or file object"));
}

static void named_devices_collide_and_are_found_by_name(void **state)
{
    UNICODE_STRING name = RTL_CONSTANT_STRING(u"\\Device\\Sample0"), upper = RTL_CONSTANT_STRING(u"\\DEVICE\\SAMPLE0");
    UNICODE_STRING bad = RTL_CONSTANT_STRING(u"Sample0");
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT device, other = NULL, found;

    assert_int_equal(IoCreateDevice(driver, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &device), STATUS_SUCCESS);
    assert_true(device->Flags & DO_DEVICE_HAS_NAME);
    assert_true(RtlEqualUnicodeString(PnpkitIoGetDeviceName(device), &name, FALSE));
    assert_int_equal(IoCreateDevice(driver, 0, &upper, FILE_DEVICE_UNKNOWN, 0, FALSE, &other),
                     STATUS_OBJECT_NAME_COLLISION);
    assert_null(other);
    assert_int_equal(IoCreateDevice(driver, 0, &bad, FILE_DEVICE_UNKNOWN, 0, FALSE, &other), STATUS_OBJECT_NAME_INVALID);
    assert_int_equal(PnpkitIoReferenceDeviceByName(&upper, &found), STATUS_SUCCESS);
    assert_ptr_equal(found, device);
    ObDereferenceObject(found);
    IoDeleteDevice(device);
    assert_int_equal(PnpkitIoReferenceDeviceByName(&name, &found), STATUS_OBJECT_NAME_NOT_FOUND);
    /* The name is free again. */
    assert_int_equal(IoCreateDevice(driver, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &device), STATUS_SUCCESS);
    IoDeleteDevice(device);
    PnpkitIoDeleteDriver(driver);
}

static void autogenerated_device_names_are_unique(void **state)
{
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT a, b;
    char na[64], nb[64];

    assert_int_equal(IoCreateDevice(driver, 0, NULL, FILE_DEVICE_UNKNOWN, FILE_AUTOGENERATED_DEVICE_NAME, FALSE, &a),
                     STATUS_SUCCESS);
    assert_int_equal(IoCreateDevice(driver, 0, NULL, FILE_DEVICE_UNKNOWN, FILE_AUTOGENERATED_DEVICE_NAME, FALSE, &b),
                     STATUS_SUCCESS);
    utf8(PnpkitIoGetDeviceName(a), na, sizeof(na));
    utf8(PnpkitIoGetDeviceName(b), nb, sizeof(nb));
    assert_int_equal(strncmp(na, "\\Device\\", 8), 0);
    assert_int_equal(strlen(na), 16);
    assert_string_not_equal(na, nb);
    IoDeleteDevice(a);
    IoDeleteDevice(b);
    PnpkitIoDeleteDriver(driver);
}

static void device_creation_failure_leaves_nothing_behind(void **state)
{
    UNICODE_STRING name = RTL_CONSTANT_STRING(u"\\Device\\Fails");
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT device;

    for (ULONG n = 1; n <= 2; n++) {
        PnpkitSimFailAllocation(n);
        assert_int_equal(IoCreateDevice(driver, 8, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &device),
                         STATUS_INSUFFICIENT_RESOURCES);
        assert_null(driver->DeviceObject);
        assert_int_equal(PnpkitLiveObjectCount(), 1);
    }
    PnpkitSimFailAllocation(0);
    assert_int_equal(IoCreateDevice(NULL, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &device), STATUS_INVALID_PARAMETER);
    PnpkitIoDeleteDriver(driver);
}

/* ---- File objects ---- */

static void open_device_sends_create_cleanup_and_close_once_each_to_the_top(void **state)
{
    UNICODE_STRING file_name = RTL_CONSTANT_STRING(u"\\ref");
    PNPKIT_IO_OPEN_PARAMETERS params;
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT pdo = new_device(driver, 0), fdo = new_device(driver, 0);
    PFILE_OBJECT file;

    IoAttachDeviceToDeviceStack(fdo, pdo);
    PNPKIT_IO_OPEN_PARAMETERS_INIT(&params, GENERIC_READ | GENERIC_WRITE);
    params.FileName = &file_name;
    params.ShareAccess = FILE_SHARE_READ;
    assert_int_equal(PnpkitIoOpenDevice(pdo, &params, &file), STATUS_SUCCESS);
    assert_int_equal(seen.creates, 1);
    assert_ptr_equal(seen.create_file, file);
    assert_int_equal(seen.create_access, GENERIC_READ | GENERIC_WRITE);
    assert_int_equal(seen.create_share, FILE_SHARE_READ);
    assert_int_equal(seen.create_options, (FILE_OPEN << 24) | FILE_NON_DIRECTORY_FILE);
    assert_string_equal(seen.create_name, "\\ref");
    assert_ptr_equal(file->DeviceObject, pdo);
    assert_true(file->ReadAccess && file->WriteAccess && file->SharedRead && !file->SharedWrite);
    assert_true(file->Flags & FO_HANDLE_CREATED);
    assert_ptr_equal(IoGetRelatedDeviceObject(file), fdo);
    assert_int_equal(pdo->ReferenceCount, 1);

    assert_int_equal(PnpkitIoCleanupFileObject(file), STATUS_SUCCESS);
    assert_int_equal(seen.cleanups, 1);
    assert_true(file->Flags & FO_CLEANUP_COMPLETE);
    assert_int_equal(seen.closes, 0);
    ObDereferenceObject(file);
    assert_int_equal(seen.closes, 1);
    assert_int_equal(seen.close_irql, PASSIVE_LEVEL);
    assert_int_equal(pdo->ReferenceCount, 0);

    IoDetachDevice(pdo);
    IoDeleteDevice(fdo);
    IoDeleteDevice(pdo);
    PnpkitIoDeleteDriver(driver);
}

static void close_waits_for_the_last_reference_and_sends_cleanup_first_when_missing(void **state)
{
    PNPKIT_IO_OPEN_PARAMETERS params;
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT device = new_device(driver, 0);
    PFILE_OBJECT file;

    PNPKIT_IO_OPEN_PARAMETERS_INIT(&params, FILE_READ_DATA);
    assert_int_equal(PnpkitIoOpenDevice(device, &params, &file), STATUS_SUCCESS);
    ObReferenceObject(file);
    ObDereferenceObject(file);
    assert_int_equal(seen.cleanups + seen.closes, 0);
    ObDereferenceObject(file);
    assert_int_equal(seen.cleanups, 1);
    assert_int_equal(seen.closes, 1);
    IoDeleteDevice(device);
    PnpkitIoDeleteDriver(driver);
}

static void failed_create_frees_the_file_object_without_cleanup_or_close(void **state)
{
    PNPKIT_IO_OPEN_PARAMETERS params;
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT device = new_device(driver, 0);
    PFILE_OBJECT file = (PFILE_OBJECT)0x1;

    seen.create_status = STATUS_ACCESS_DENIED;
    PNPKIT_IO_OPEN_PARAMETERS_INIT(&params, FILE_READ_DATA);
    assert_int_equal(PnpkitIoOpenDevice(device, &params, &file), STATUS_ACCESS_DENIED);
    assert_ptr_equal(file, (PFILE_OBJECT)0x1);
    assert_int_equal(seen.creates, 1);
    assert_int_equal(seen.cleanups + seen.closes, 0);
    assert_int_equal(device->ReferenceCount, 0);
    assert_int_equal(PnpkitLiveObjectCount(), 2);
    IoDeleteDevice(device);
    PnpkitIoDeleteDriver(driver);
}

static void last_dereference_at_dispatch_level_closes_on_a_work_item_at_passive(void **state)
{
    PNPKIT_IO_OPEN_PARAMETERS params;
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT device = new_device(driver, 0);
    PFILE_OBJECT file;
    KIRQL old;

    PNPKIT_IO_OPEN_PARAMETERS_INIT(&params, FILE_READ_DATA);
    assert_int_equal(PnpkitIoOpenDevice(device, &params, &file), STATUS_SUCCESS);
    assert_int_equal(PnpkitIoCleanupFileObject(file), STATUS_SUCCESS);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    ObDereferenceObject(file);
    KeLowerIrql(old);
    /* The work item runs the close; the shutdown waits for queued work. */
    PnpkitShutdown();
    assert_int_equal(seen.closes, 1);
    assert_int_equal(seen.close_irql, PASSIVE_LEVEL);
    IoDeleteDevice(device);
    PnpkitIoDeleteDriver(driver);
}

static void cleanup_twice_is_a_verifier_stop(void **state)
{
    PNPKIT_IO_OPEN_PARAMETERS params;
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT device = new_device(driver, 0);
    PFILE_OBJECT file;

    PNPKIT_IO_OPEN_PARAMETERS_INIT(&params, FILE_READ_DATA);
    assert_int_equal(PnpkitIoOpenDevice(device, &params, &file), STATUS_SUCCESS);
    assert_int_equal(PnpkitIoCleanupFileObject(file), STATUS_SUCCESS);
    pk_test_capture_verifier();
    assert_int_equal(PnpkitIoCleanupFileObject(file), STATUS_INVALID_DEVICE_REQUEST);
    assert_true(pk_test_verifier_saw("cleaned up already"));
    assert_int_equal(seen.cleanups, 1);
    ObDereferenceObject(file);
    IoDeleteDevice(device);
    PnpkitIoDeleteDriver(driver);
}

static void created_file_object_is_closed_only_once_marked_opened(void **state)
{
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT device = new_device(driver, 0);
    PFILE_OBJECT a, b;

    assert_int_equal(PnpkitIoCreateFileObject(device, NULL, &a), STATUS_SUCCESS);
    assert_int_equal(PnpkitIoCreateFileObject(device, NULL, &b), STATUS_SUCCESS);
    assert_int_equal(device->ReferenceCount, 2);
    assert_int_equal(a->FileName.Length, 0);
    ObDereferenceObject(a);
    assert_int_equal(seen.closes, 0);
    PnpkitIoFileObjectOpened(b);
    ObDereferenceObject(b);
    assert_int_equal(seen.cleanups, 1);
    assert_int_equal(seen.closes, 1);
    assert_int_equal(device->ReferenceCount, 0);
    IoDeleteDevice(device);
    PnpkitIoDeleteDriver(driver);
}

static void io_get_device_object_pointer_opens_the_named_device(void **state)
{
    UNICODE_STRING name = RTL_CONSTANT_STRING(u"\\Device\\Pointer"), missing = RTL_CONSTANT_STRING(u"\\Device\\None");
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT pdo, fdo = new_device(driver, 0), top;
    PFILE_OBJECT file;

    assert_int_equal(IoCreateDevice(driver, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &pdo), STATUS_SUCCESS);
    IoAttachDeviceToDeviceStack(fdo, pdo);
    assert_int_equal(IoGetDeviceObjectPointer(&missing, FILE_READ_DATA, &file, &top), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(IoGetDeviceObjectPointer(&name, FILE_READ_DATA, &file, &top), STATUS_SUCCESS);
    assert_ptr_equal(top, fdo);
    assert_ptr_equal(file->DeviceObject, pdo);
    assert_int_equal(seen.creates, 1);
    assert_int_equal(seen.cleanups, 1); /* no handle is kept */
    ObDereferenceObject(file);
    assert_int_equal(seen.closes, 1);
    IoDetachDevice(pdo);
    IoDeleteDevice(fdo);
    IoDeleteDevice(pdo);
    PnpkitIoDeleteDriver(driver);
}

static void open_of_a_deleted_device_fails(void **state)
{
    PNPKIT_IO_OPEN_PARAMETERS params;
    PDRIVER_OBJECT driver = new_driver();
    PDEVICE_OBJECT device = new_device(driver, 0);
    PFILE_OBJECT file;

    ObReferenceObject(device);
    IoDeleteDevice(device);
    PNPKIT_IO_OPEN_PARAMETERS_INIT(&params, FILE_READ_DATA);
    assert_int_equal(PnpkitIoOpenDevice(device, &params, &file), STATUS_NO_SUCH_DEVICE);
    params.Size = 4;
    assert_int_equal(PnpkitIoOpenDevice(device, &params, &file), STATUS_INVALID_PARAMETER);
    assert_int_equal(seen.creates, 0);
    ObDereferenceObject(device);
    PnpkitIoDeleteDriver(driver);
}

PK_TEST_MAIN(
    PK_TEST(driver_entry_runs_once_with_its_registry_path_and_names),
    PK_TEST(devices_created_in_driver_entry_lose_initializing_when_it_returns),
    PK_TEST(driver_entry_failure_deletes_the_driver_without_unload),
    PK_TEST(create_driver_refuses_bad_arguments_and_survives_allocation_failure),
    PK_TEST(deleting_a_driver_twice_is_a_verifier_stop),
    PK_TEST(deleting_a_device_twice_is_a_verifier_stop),
    PK_TEST(create_device_starts_initializing_with_a_zeroed_extension),
    PK_TEST(driver_device_list_links_every_device),
    PK_TEST(attach_returns_previous_top_and_builds_stack_size),
    PK_TEST(detach_unlinks_the_upper_device),
    PK_TEST(stack_walks_return_referenced_devices),
    PK_TEST(attach_to_a_stack_whose_top_is_deleted_fails),
    PK_TEST(attaching_an_attached_device_is_a_verifier_stop),
    PK_TEST(ob_dereference_of_deleted_device_frees_it_last),
    PK_TEST(deleted_device_stays_in_memory_while_a_device_is_attached_to_it),
    PK_TEST(deleting_a_device_still_attached_to_a_lower_one_is_a_verifier_stop),
    PK_TEST(dropping_the_creation_reference_with_ob_dereference_is_a_verifier_stop),
    PK_TEST(ob_reference_of_something_else_is_a_verifier_stop),
    PK_TEST(named_devices_collide_and_are_found_by_name),
    PK_TEST(autogenerated_device_names_are_unique),
    PK_TEST(device_creation_failure_leaves_nothing_behind),
    PK_TEST(open_device_sends_create_cleanup_and_close_once_each_to_the_top),
    PK_TEST(close_waits_for_the_last_reference_and_sends_cleanup_first_when_missing),
    PK_TEST(failed_create_frees_the_file_object_without_cleanup_or_close),
    PK_TEST(last_dereference_at_dispatch_level_closes_on_a_work_item_at_passive),
    PK_TEST(cleanup_twice_is_a_verifier_stop),
    PK_TEST(created_file_object_is_closed_only_once_marked_opened),
    PK_TEST(io_get_device_object_pointer_opens_the_named_device),
    PK_TEST(open_of_a_deleted_device_fails))
