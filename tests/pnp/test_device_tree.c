/* The device tree: software devices, driver matching, start, and the cfgmgr32 readers. */
#include "pk_testdrv.h"

#include <string.h>

static void software_device_gets_its_matched_driver_and_starts(void **state)
{
    DEVINST dn;
    ULONG status, problem;
    HSWDEVICE h;

    assert_int_equal(pk_testdrv_register(), STATUS_SUCCESS);
    h = pk_testdrv_create_device(u"a", &dn);
    assert_int_equal(CM_Get_DevNode_Status(&status, &problem, dn, 0), CR_SUCCESS);
    assert_true(status & DN_STARTED);
    assert_int_equal(problem, 0);
    assert_int_equal(pk_log_find("irp:start:a:ok", 0), 0);
    pk_testdrv_close_device(h);
    assert_true(pk_log_find("irp:surprise-removal:a", 0) > 0);
    assert_true(pk_log_find("irp:remove:a", 0) > pk_log_find("irp:surprise-removal:a", 0));
    assert_int_equal(CM_Get_DevNode_Status(&status, &problem, dn, 0), CR_INVALID_DEVNODE);
    assert_int_equal(PnpkitDriverUnregister(u"pktest"), STATUS_SUCCESS);
}

static void locate_devnode_finds_a_device_by_instance_id_in_any_case(void **state)
{
    DEVINST dn, again, root, parent;
    WCHAR id[MAX_DEVICE_ID_LEN];

    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"Sensor1", &dn);
    assert_int_equal(CM_Locate_DevNodeW(&again, (DEVINSTID_W)u"swd\\pk\\SENSOR1", 0), CR_SUCCESS);
    assert_int_equal(again, dn);
    assert_int_equal(CM_Get_Device_IDW(dn, id, MAX_DEVICE_ID_LEN, 0), CR_SUCCESS);
    assert_memory_equal(id, u"SWD\\PK\\Sensor1", 15 * sizeof(WCHAR));
    assert_int_equal(CM_Locate_DevNodeW(&root, NULL, 0), CR_SUCCESS);
    assert_int_equal(CM_Get_Parent(&parent, dn, 0), CR_SUCCESS);
    assert_int_equal(parent, root);
    assert_int_equal(CM_Locate_DevNodeW(&again, (DEVINSTID_W)u"SWD\\PK\\nothere", 0), CR_NO_SUCH_DEVNODE);
    assert_int_equal(CM_Locate_DevNodeW(NULL, NULL, 0), CR_INVALID_POINTER);
    assert_int_equal(CM_Get_Device_IDW(dn, id, 3, 0), CR_BUFFER_SMALL);
    pk_testdrv_close_device(h);
    assert_int_equal(CM_Locate_DevNodeW(&again, (DEVINSTID_W)u"SWD\\PK\\Sensor1", 0), CR_NO_SUCH_DEVNODE);
    PnpkitDriverUnregister(u"pktest");
}

typedef struct {
    KEVENT done;
    HRESULT result;
} created_wait;

static VOID on_created(HSWDEVICE h, HRESULT result, PVOID ctx, PCWSTR id)
{
    created_wait *w = ctx;
    w->result = result;
    KeSetEvent(&w->done, IO_NO_INCREMENT, FALSE);
}

static void a_device_without_a_matching_driver_stays_unstarted_with_a_problem(void **state)
{
    SW_DEVICE_CREATE_INFO info = { .cbSize = sizeof(info), .pszInstanceId = u"lonely",
                                   .pszzHardwareIds = u"NOBODY\\SERVES\\THIS\0" };
    HSWDEVICE h;
    DEVINST dn;
    ULONG status, problem;
    created_wait w;
    WCHAR id[] = u"SWD\\PK\\lonely";

    pk_testdrv_register();
    KeInitializeEvent(&w.done, NotificationEvent, FALSE);
    assert_int_equal(SwDeviceCreate(u"PK", u"HTREE\\ROOT\\0", &info, 0, NULL, on_created, &w, &h), S_OK);
    pk_test_wait_event(&w.done);
    assert_int_equal(CM_Locate_DevNodeW(&dn, id, 0), CR_SUCCESS);
    assert_int_equal(CM_Get_DevNode_Status(&status, &problem, dn, 0), CR_SUCCESS);
    assert_false(status & DN_STARTED);
    assert_true(status & DN_HAS_PROBLEM);
    assert_int_equal(problem, 28); /* CM_PROB_FAILED_INSTALL */
    assert_int_equal(pk_log_count(), 0);
    pk_testdrv_close_device(h);
    PnpkitDriverUnregister(u"pktest");
}

static void sw_device_create_refuses_bad_arguments(void **state)
{
    SW_DEVICE_CREATE_INFO info = { .cbSize = sizeof(info), .pszInstanceId = u"ok", .pszzHardwareIds = u"X\0" };
    HSWDEVICE h = NULL;
    SW_DEVICE_CREATE_INFO bad = info;

    assert_int_equal(SwDeviceCreate(u"PK", u"HTREE\\ROOT\\0", &info, 0, NULL, NULL, NULL, &h), E_INVALIDARG);
    bad.cbSize = 4;
    assert_int_equal(SwDeviceCreate(u"PK", u"HTREE\\ROOT\\0", &bad, 0, NULL, NULL, NULL, &h), E_INVALIDARG);
    bad = info;
    bad.pszInstanceId = u"a\\b";
    assert_int_equal(SwDeviceCreate(u"PK", u"HTREE\\ROOT\\0", &bad, 0, NULL, NULL, NULL, &h), E_INVALIDARG);
    assert_null(h);
}

/* P2 */
static void a_create_before_the_start_completed_fails_with_no_such_device(void **state)
{
    pk_testdrv_register();
    pk_testdrv.open_during_start = true;
    HSWDEVICE h = pk_testdrv_create_device(u"d", NULL);
    assert_int_equal(pk_log_find("open-during-start:STATUS_NO_SUCH_DEVICE", 0), 0);
    pk_testdrv_close_device(h);
    PnpkitDriverUnregister(u"pktest");
}

/* pnp.md 1.1: a create to a node that is being removed fails with STATUS_DELETE_PENDING. */
static NTSTATUS open_in_query_remove(PVOID notification, PVOID context)
{
    PTARGET_DEVICE_REMOVAL_NOTIFICATION n = notification;
    if (IsEqualGUID(&n->Event, &GUID_TARGET_DEVICE_REMOVE_COMPLETE)) {
        PNPKIT_IO_OPEN_PARAMETERS op;
        PFILE_OBJECT fo;
        PNPKIT_IO_OPEN_PARAMETERS_INIT(&op, GENERIC_READ);
        *(NTSTATUS *)context = PnpkitIoOpenDevice(pk_testdrv_last_pdo, &op, &fo);
        if (NT_SUCCESS(*(NTSTATUS *)context))
            ObDereferenceObject(fo);
    }
    return STATUS_SUCCESS;
}

static NTSTATUS nothing_entry(PDRIVER_OBJECT d, PUNICODE_STRING p) { return STATUS_SUCCESS; }

static void a_create_to_a_device_being_removed_fails_with_delete_pending(void **state)
{
    PDRIVER_OBJECT registrant;
    PFILE_OBJECT fo;
    PVOID entry;
    DEVINST dn;
    NTSTATUS seen = STATUS_PENDING;
    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", &dn);
    assert_int_equal(PnpkitIoCreateDriver(u"registrant", nothing_entry, &registrant), STATUS_SUCCESS);
    assert_int_equal(PnpkitOpenDeviceInterface(&pk_testdrv_last_link, GENERIC_READ, 0, &fo), STATUS_SUCCESS);
    assert_int_equal(IoRegisterPlugPlayNotification(EventCategoryTargetDeviceChange, 0, fo, registrant,
                                                    open_in_query_remove, &seen, &entry),
                     STATUS_SUCCESS);
    PnpkitCloseDeviceInterface(fo);
    assert_int_equal(CM_Query_And_Remove_SubTreeW(dn, NULL, NULL, 0, 0), CR_SUCCESS);
    assert_int_equal(seen, STATUS_DELETE_PENDING);
    IoUnregisterPlugPlayNotificationEx(entry);
    pk_testdrv_close_device(h);
    PnpkitIoDeleteDriver(registrant);
    PnpkitDriverUnregister(u"pktest");
}

/* PnpkitReferencePhysicalDeviceObject gives the node's PDO (the bottom of the stack an open of
 * its interface reaches), referenced; bad input changes nothing. */
static void reference_physical_device_object_gives_the_pdo_of_a_node(void **state)
{
    DEVINST dn;
    PDEVICE_OBJECT pdo = NULL, none = (PDEVICE_OBJECT)1;

    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"pdo", &dn);
    assert_int_equal(PnpkitReferencePhysicalDeviceObject(dn, &pdo), STATUS_SUCCESS);
    assert_non_null(pdo);
    {
        PDEVICE_OBJECT top = IoGetAttachedDeviceReference(pdo), base = IoGetDeviceAttachmentBaseRef(top);
        assert_ptr_equal(base, pdo); /* the bottom of the node's stack */
        ObDereferenceObject(base);
        ObDereferenceObject(top);
    }
    ObDereferenceObject(pdo);
    assert_int_equal(PnpkitReferencePhysicalDeviceObject(dn, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(PnpkitReferencePhysicalDeviceObject(dn ^ 0x10000u, &none), STATUS_NO_SUCH_DEVICE);
    assert_int_equal(PnpkitReferencePhysicalDeviceObject(0, &none), STATUS_NO_SUCH_DEVICE);
    assert_ptr_equal(none, (PDEVICE_OBJECT)1);
    pk_testdrv_close_device(h);
    assert_int_equal(PnpkitReferencePhysicalDeviceObject(dn, &none), STATUS_NO_SUCH_DEVICE);
    PnpkitDriverUnregister(u"pktest");
}

PK_TEST_MAIN(
    PK_TEST(reference_physical_device_object_gives_the_pdo_of_a_node),
    PK_TEST(software_device_gets_its_matched_driver_and_starts),
    PK_TEST(locate_devnode_finds_a_device_by_instance_id_in_any_case),
    PK_TEST(a_device_without_a_matching_driver_stays_unstarted_with_a_problem),
    PK_TEST(sw_device_create_refuses_bad_arguments),
    PK_TEST(a_create_before_the_start_completed_fails_with_no_such_device),
    PK_TEST(a_create_to_a_device_being_removed_fails_with_delete_pending),
)
