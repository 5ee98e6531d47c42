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

PK_TEST_MAIN(
    PK_TEST(software_device_gets_its_matched_driver_and_starts),
    PK_TEST(locate_devnode_finds_a_device_by_instance_id_in_any_case),
    PK_TEST(a_device_without_a_matching_driver_stays_unstarted_with_a_problem),
    PK_TEST(sw_device_create_refuses_bad_arguments),
)
