/* The COM surface of <pnpkit/wudfddi.h>: the C macros (I60), QueryInterface / AddRef / Release,
 * the IWDFObject methods, and bad input to every framework method: NULL out pointers, wrong
 * GUIDs, foreign interface pointers, a removed interface, objects that are gone. Each returns
 * the documented HRESULT, changes nothing and does not crash. */
#include "u1_testdrv.h"

/* ---- I60: the macros call through the vtable with This first ---- */

static void *seen_this;
static PCWSTR seen_relative;
static DWORD seen_access;
static IWDFRemoteInterface *seen_ri;

static HRESULT fake_open(IWDFRemoteTarget *This, IWDFRemoteInterface *ri, PCWSTR rel, DWORD access,
                         PUMDF_IO_TARGET_OPEN_PARAMS params)
{
    seen_this = This;
    seen_ri = ri;
    seen_relative = rel;
    seen_access = access;
    return (HRESULT)0x12345;
}
static WDF_IO_TARGET_STATE fake_state(IWDFRemoteTarget *This)
{
    seen_this = This;
    return WdfIoTargetPurged;
}

static void c_macros_call_through_the_vtable_with_this_first(void **state)
{
    static const IWDFRemoteTargetVtbl vtbl = { .OpenRemoteInterface = fake_open, .GetState = fake_state };
    struct IWDFRemoteTarget fake = { &vtbl };
    IWDFRemoteInterface *ri = (IWDFRemoteInterface *)(uintptr_t)0x40;

    assert_int_equal(IWDFRemoteTarget_OpenRemoteInterface(&fake, ri, u"\\x", 7, NULL), 0x12345);
    assert_ptr_equal(seen_this, &fake);
    assert_ptr_equal(seen_ri, ri);
    assert_int_equal(seen_access, 7);
    assert_int_equal(seen_relative[1], u'x');
    seen_this = NULL;
    assert_int_equal(IWDFRemoteTarget_GetState(&fake), WdfIoTargetPurged);
    assert_ptr_equal(seen_this, &fake);
}

/* ---- QueryInterface, AddRef, Release ---- */

static void query_interface_answers_the_object_interfaces_and_refuses_others(void **state)
{
    HSWDEVICE prov, client;
    IWDFDevice *dev = NULL;
    IWDFObject *obj = NULL;
    IUnknown *unk = NULL;
    void *p = (void *)(uintptr_t)1;

    u1_reset();
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(IWDFDevice2_QueryInterface(u1st.client_device, &IID_IWDFDevice, (void **)&dev), S_OK);
    assert_ptr_equal(dev, u1st.client_device);
    assert_int_equal(IWDFDevice2_QueryInterface(u1st.client_device, &IID_IWDFObject, (void **)&obj), S_OK);
    assert_int_equal(IWDFDevice2_QueryInterface(u1st.client_device, &IID_IUnknown, (void **)&unk), S_OK);
    assert_int_equal(IWDFDevice2_QueryInterface(u1st.client_device, &IID_IWDFRemoteTarget, &p), E_NOINTERFACE);
    assert_null(p);
    assert_int_equal(IWDFDevice2_QueryInterface(u1st.client_device, &IID_IWDFDevice, NULL), E_POINTER);
    assert_int_equal(IWDFRemoteTarget_QueryInterface(u1st.rt[0], &IID_IWDFIoTarget, &p), S_OK);
    IUnknown_Release((IUnknown *)p);
    assert_int_equal(IWDFRemoteInterface_QueryInterface(u1st.ri[0], &IID_IWDFRemoteInterface, &p), S_OK);
    IUnknown_Release((IUnknown *)p);
    /* AddRef and Release return the new count. */
    ULONG n = IWDFDevice_AddRef(dev);
    assert_int_equal(IWDFDevice_Release(dev), n - 1);
    IWDFDevice_Release(dev);
    IWDFObject_Release(obj);
    IUnknown_Release(unk);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* Every reference the framework takes is released exactly once: after the drivers unload, no
 * callback object holds a framework reference and no framework object is alive. */
static void every_reference_is_released_exactly_once(void **state)
{
    HSWDEVICE prov, client;
    char reply[8];

    u1_reset();
    u1cfg.ri_event = u1cfg.ri_removal = u1cfg.rt_removal = true;
    u1_start_both(&prov, &client, NULL);
    assert_true(u1_callback_refs > 0);
    assert_int_equal(u1_open(0, NULL), S_OK);
    assert_int_equal(u1_echo(u1st.rt[0], "a", reply, sizeof(reply), NULL, NULL), S_OK);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown(); /* asserts u1_callback_refs == 0 */
    PnpkitShutdown();
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

/* ---- IWDFObject ---- */

static volatile int cleanups;
static void on_cleanup(IObjectCleanup *This, IWDFObject *o) { cleanups++; }
static const IObjectCleanupVtbl cleanup_vtbl = { U1_IUNKNOWN, .OnCleanup = on_cleanup };
static tobj cleanup_cb = { &cleanup_vtbl, NULL };

static void assign_context_once_and_cleanup_runs_at_delete(void **state)
{
    HSWDEVICE prov, client;
    IWDFRemoteTarget *t;
    void *ctx = NULL;
    int data;

    u1_reset();
    u1_start_both(&prov, &client, NULL);
    t = u1_new_target();
    assert_int_equal(IWDFRemoteTarget_RetrieveContext(t, &ctx), HRESULT_FROM_WIN32(ERROR_NOT_FOUND));
    assert_int_equal(IWDFRemoteTarget_RetrieveContext(t, NULL), E_POINTER);
    assert_int_equal(IWDFRemoteTarget_AssignContext(t, (IObjectCleanup *)&cleanup_cb, &data), S_OK);
    assert_int_equal(IWDFRemoteTarget_AssignContext(t, NULL, NULL), HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS));
    assert_int_equal(IWDFRemoteTarget_RetrieveContext(t, &ctx), S_OK);
    assert_ptr_equal(ctx, &data);
    IWDFRemoteTarget_AcquireLock(t);
    IWDFRemoteTarget_ReleaseLock(t);
    assert_int_equal(IWDFRemoteTarget_DeleteWdfObject(t), S_OK);
    assert_int_equal(cleanups, 1);
    assert_int_equal(IWDFRemoteTarget_DeleteWdfObject(t), HRESULT_FROM_WIN32(ERROR_INVALID_STATE));
    IWDFRemoteTarget_Release(t);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

static void delete_wdf_object_refuses_framework_owned_objects(void **state)
{
    HSWDEVICE prov, client;
    IWDFDriver *drv;

    u1_reset();
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(IWDFDevice2_DeleteWdfObject(u1st.client_device), HRESULT_FROM_WIN32(ERROR_INVALID_STATE));
    IWDFDevice2_RetrieveDriver(u1st.client_device, &drv);
    assert_int_equal(IWDFDriver_DeleteWdfObject(drv), HRESULT_FROM_WIN32(ERROR_INVALID_STATE));
    IWDFDriver_Release(drv);
    /* The device still works. */
    assert_int_equal(u1_open(0, NULL), S_OK);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* ---- Bad input ---- */

static void null_out_pointers_return_e_pointer_and_change_nothing(void **state)
{
    HSWDEVICE prov, client;
    IWDFDriver *drv;
    WCHAR buf[8];

    u1_reset();
    u1_start_both(&prov, &client, NULL);
    IWDFDevice2_RetrieveDriver(u1st.client_device, &drv);
    ULONG live = PnpkitLiveObjectCount();
    assert_int_equal(IWDFDevice2_CreateRemoteTarget(u1st.client_device, NULL, NULL, NULL), E_POINTER);
    assert_int_equal(IWDFDevice2_CreateRequest(u1st.client_device, NULL, NULL, NULL), E_POINTER);
    assert_int_equal(IWDFDevice2_CreateIoQueue(u1st.client_device, NULL, FALSE, WdfIoQueueDispatchParallel, FALSE, FALSE, NULL),
                     E_POINTER);
    assert_int_equal(IWDFDriver_CreatePreallocatedWdfMemory(drv, (BYTE *)buf, sizeof(buf), NULL, NULL, NULL), E_POINTER);
    assert_int_equal(IWDFDriver_CreateWdfMemory(drv, 8, NULL, NULL, NULL), E_POINTER);
    assert_int_equal(IWDFDriver_CreateDevice(drv, NULL, NULL, NULL), E_POINTER);
    assert_int_equal(IWDFRemoteInterface_RetrieveSymbolicLink(u1st.ri[0], buf, NULL), E_POINTER);
    assert_int_equal(IWDFRemoteInterface_RetrieveSymbolicLink(u1st.ri[0], NULL, &(DWORD){ 3 }), E_POINTER);
    IWDFDevice2_RetrieveDriver(u1st.client_device, NULL);
    IWDFRemoteInterface_GetInterfaceGuid(u1st.ri[0], NULL);
    assert_int_equal(PnpkitLiveObjectCount(), live);
    IWDFDriver_Release(drv);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

static void null_out_pointer_in_the_arrival_callback_changes_nothing(void **state)
{
    HSWDEVICE prov, client;

    u1_reset();
    u1cfg.keep_init = true;
    u1_start_both(&prov, &client, NULL);
    /* Outside the callback the state check comes after the pointer checks. */
    assert_int_equal(IWDFDevice2_CreateRemoteInterface(u1st.client_device, u1st.init, NULL, NULL), E_POINTER);
    assert_int_equal(IWDFDevice2_CreateRemoteInterface(u1st.client_device, NULL, NULL, &u1st.ri[5]), E_INVALIDARG);
    assert_null(u1st.ri[5]);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

static void wrong_guid_returns_the_documented_hresults(void **state)
{
    HSWDEVICE prov, client;

    u1_reset();
    u1cfg.ri_removal = true;
    u1_start_both(&prov, &client, NULL);
    /* P31: an unknown instance. */
    assert_int_equal(IWDFDevice_AssignDeviceInterfaceState(u1st.prov_device, &U1_OTHER_GUID, u"ref1", FALSE),
                     HRESULT_FROM_WIN32(ERROR_NOT_FOUND));
    assert_int_equal(IWDFDevice_AssignDeviceInterfaceState(u1st.prov_device, &U1_GUID, u"other", FALSE),
                     HRESULT_FROM_WIN32(ERROR_NOT_FOUND));
    assert_int_equal(IWDFDevice_AssignDeviceInterfaceState(u1st.prov_device, &U1_GUID, NULL, FALSE),
                     HRESULT_FROM_WIN32(ERROR_NOT_FOUND));
    assert_int_equal(IWDFDevice_AssignDeviceInterfaceState(u1st.prov_device, NULL, u"ref1", FALSE), E_INVALIDARG);
    PnpkitSimWaitIdle();
    assert_int_equal(u1st.ri_removals, 0);
    assert_int_equal(IWDFDevice2_RegisterRemoteInterfaceNotification(u1st.client_device, NULL, TRUE), E_INVALIDARG);
    assert_int_equal(IWDFDevice_CreateDeviceInterface(u1st.prov_device, NULL, NULL), E_INVALIDARG);
    assert_int_equal(IWDFDevice_CreateDeviceInterface(u1st.prov_device, &U1_OTHER_GUID, u"a\\b"), E_INVALIDARG);
    /* A class nobody provides reports nothing. */
    assert_int_equal(IWDFDevice2_RegisterRemoteInterfaceNotification(u1st.client_device, &U1_OTHER_GUID, TRUE), S_OK);
    PnpkitSimWaitIdle();
    assert_int_equal(u1st.arrivals, 1);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

static void post_event_rejects_bad_type_size_and_system_guids(void **state)
{
    HSWDEVICE prov, client;
    static BYTE big[0x10000];

    u1_reset();
    u1cfg.ri_event = true;
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(u1_open(0, NULL), S_OK);
    assert_int_equal(IWDFDevice_PostEvent(u1st.prov_device, &U1_EVENT_GUID, WdfEventReserved, NULL, 0), E_INVALIDARG);
    assert_int_equal(IWDFDevice_PostEvent(u1st.prov_device, NULL, WdfEventBroadcast, NULL, 0), E_INVALIDARG);
    assert_int_equal(IWDFDevice_PostEvent(u1st.prov_device, &U1_EVENT_GUID, WdfEventBroadcast, NULL, 4), E_INVALIDARG);
    assert_int_equal(IWDFDevice_PostEvent(u1st.prov_device, &U1_EVENT_GUID, WdfEventBroadcast, big, 0xFFFF - 35),
                     HRESULT_FROM_WIN32(ERROR_NOT_ENOUGH_MEMORY));
    assert_int_equal(IWDFDevice_PostEvent(u1st.prov_device, &GUID_TARGET_DEVICE_QUERY_REMOVE, WdfEventBroadcast, NULL, 0),
                     E_INVALIDARG);
    PnpkitSimWaitIdle();
    assert_int_equal(u1st.events, 0);
    assert_int_equal(IWDFDevice_PostEvent(u1st.prov_device, &U1_EVENT_GUID, WdfEventBroadcast, big, 0xFFFF - 36), S_OK);
    PnpkitSimWaitIdle();
    assert_int_equal(u1st.events, 1);
    assert_int_equal(u1st.event_size, 0xFFFF - 36);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

static void opening_a_removed_interface_returns_file_not_found(void **state)
{
    HSWDEVICE prov, client;
    IWDFRemoteTarget *t;

    u1_reset();
    u1cfg.ri_removal = u1cfg.removal_keeps_object = true;
    u1_start_both(&prov, &client, NULL);
    u1_device_close(prov);
    assert_int_equal(u1st.ri_removals, 1);
    assert_int_equal(u1_open(0, NULL), HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
    assert_int_equal(IWDFRemoteTarget_GetState(u1st.rt[0]), WdfIoTargetClosed);
    t = u1_new_target();
    assert_int_equal(IWDFRemoteTarget_OpenFileByName(t, u1st.arrival_link, GENERIC_READ, NULL),
                     HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
    assert_int_equal(IWDFRemoteTarget_OpenFileByName(t, NULL, GENERIC_READ, NULL), E_INVALIDARG);
    IWDFRemoteTarget_Release(t);
    /* The driver deletes it late: that still works once. */
    assert_int_equal(IWDFRemoteInterface_DeleteWdfObject(u1st.ri[0]), S_OK);
    u1_device_close(client);
    u1_teardown();
}

static void foreign_interface_pointers_are_refused(void **state)
{
    HSWDEVICE prov, client;
    static const IWDFRemoteInterfaceVtbl fake_vtbl = { .QueryInterface = NULL };
    struct IWDFRemoteInterface fake = { &fake_vtbl };
    IWDFIoRequest *r;

    u1_reset();
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(IWDFRemoteTarget_OpenRemoteInterface(u1st.rt[0], &fake, NULL, GENERIC_READ, NULL), E_INVALIDARG);
    assert_int_equal(IWDFRemoteTarget_OpenRemoteInterface(u1st.rt[0], NULL, NULL, GENERIC_READ, NULL), E_INVALIDARG);
    assert_int_equal(IWDFDevice2_CreateRemoteInterface(u1st.client_device, (IWDFRemoteInterfaceInitialize *)&fake, NULL,
                                                       &u1st.ri[5]),
                     E_INVALIDARG);
    assert_int_equal(IWDFDevice2_CreateRemoteTarget(u1st.client_device, NULL, (IWDFObject *)&fake, &u1st.rt[5]), E_INVALIDARG);
    assert_null(u1st.rt[5]);
    assert_int_equal(IWDFDevice2_CreateRequest(u1st.client_device, NULL, NULL, &r), S_OK);
    assert_int_equal(IWDFIoRequest_Send(r, (IWDFIoTarget *)u1st.ri[0], 0, 0), E_INVALIDARG);
    assert_int_equal(IWDFIoRequest_Send(r, NULL, 0, 0), E_INVALIDARG);
    assert_int_equal(IWDFRemoteTarget_FormatRequestForIoctl(u1st.rt[0], (IWDFIoRequest *)&fake, 1, NULL, NULL, NULL, NULL, NULL),
                     E_INVALIDARG);
    assert_int_equal(IWDFRemoteTarget_FormatRequestForRead(u1st.rt[0], r, NULL, (IWDFMemory *)&fake, NULL, NULL), E_INVALIDARG);
    assert_int_equal(IWDFRemoteTarget_FormatRequestForWrite(u1st.rt[0], r, (IWDFFile *)&fake, NULL, NULL, NULL), E_INVALIDARG);
    assert_int_equal(IWDFRemoteTarget_Stop(u1st.rt[0], (WDF_IO_TARGET_SENT_IO_ACTION)9), E_INVALIDARG);
    assert_int_equal(IWDFIoRequest_DeleteWdfObject(r), S_OK);
    IWDFIoRequest_Release(r);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* A parent outside the device (the driver) is refused by CreateRemoteTarget (io.md 1.3). */
static void create_remote_target_with_a_parent_outside_the_device_is_refused(void **state)
{
    HSWDEVICE prov, client;
    IWDFDriver *drv;
    IWDFRemoteTarget *t = NULL;

    u1_reset();
    u1_start_both(&prov, &client, NULL);
    IWDFDevice2_RetrieveDriver(u1st.client_device, &drv);
    assert_int_equal(IWDFDevice2_CreateRemoteTarget(u1st.client_device, NULL, (IWDFObject *)drv, &t), E_INVALIDARG);
    assert_null(t);
    /* A parent under the device is fine. */
    assert_int_equal(IWDFDevice2_CreateRemoteTarget(u1st.client_device, NULL, (IWDFObject *)u1st.ri[0], &t), S_OK);
    IWDFRemoteTarget_Release(t);
    IWDFDriver_Release(drv);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

static void memory_copies_are_bounded(void **state)
{
    HSWDEVICE prov, client;
    IWDFDriver *drv;
    IWDFMemory *m;
    BYTE buf[8] = { 0 }, out[8];
    SIZE_T size = 0;

    u1_reset();
    u1_start_both(&prov, &client, NULL);
    IWDFDevice2_RetrieveDriver(u1st.client_device, &drv);
    assert_int_equal(IWDFDriver_CreatePreallocatedWdfMemory(drv, NULL, 8, NULL, NULL, &m), E_INVALIDARG);
    assert_int_equal(IWDFDriver_CreatePreallocatedWdfMemory(drv, buf, 0, NULL, NULL, &m), E_INVALIDARG);
    assert_int_equal(IWDFDriver_CreatePreallocatedWdfMemory(drv, buf, sizeof(buf), NULL, NULL, &m), S_OK);
    assert_int_equal(IWDFMemory_GetSize(m), 8);
    assert_ptr_equal(IWDFMemory_GetDataBuffer(m, &size), buf);
    assert_int_equal(size, 8);
    assert_int_equal(IWDFMemory_CopyFromBuffer(m, 4, (void *)"abcdef", 6), HRESULT_FROM_NT(STATUS_BUFFER_TOO_SMALL));
    assert_int_equal(buf[4], 0);
    assert_int_equal(IWDFMemory_CopyFromBuffer(m, 2, (void *)"abc", 3), S_OK);
    assert_int_equal(IWDFMemory_CopyToBuffer(m, 9, out, 1), HRESULT_FROM_NT(STATUS_BUFFER_TOO_SMALL));
    assert_int_equal(IWDFMemory_CopyToBuffer(m, 2, NULL, 1), E_INVALIDARG);
    assert_int_equal(IWDFMemory_CopyToBuffer(m, 2, out, 3), S_OK);
    assert_memory_equal(out, "abc", 3);
    assert_int_equal(IWDFMemory_DeleteWdfObject(m), S_OK);
    IWDFMemory_Release(m);
    assert_int_equal(IWDFDriver_CreateWdfMemory(drv, 16, NULL, NULL, &m), S_OK);
    assert_int_equal(IWDFMemory_GetSize(m), 16);
    IWDFMemory_Release(m); /* deleted with the driver */
    IWDFDriver_Release(drv);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* Interfaces kept past their object's deletion fail cleanly. */
static void methods_of_a_deleted_object_fail_without_crashing(void **state)
{
    HSWDEVICE prov, client;
    IWDFRemoteTarget *t;

    u1_reset();
    u1_start_both(&prov, &client, NULL);
    t = u1st.rt[0];
    IWDFRemoteTarget_AddRef(t);
    u1_device_close(client); /* deletes the client's device and its children */
    assert_int_equal(IWDFRemoteTarget_GetState(t), WdfIoTargetDeleted);
    assert_int_equal(IWDFRemoteTarget_OpenRemoteInterface(t, u1st.ri[0], NULL, GENERIC_READ, NULL),
                     HRESULT_FROM_WIN32(ERROR_INVALID_STATE));
    assert_int_equal(IWDFRemoteTarget_Close(t), HRESULT_FROM_WIN32(ERROR_INVALID_STATE));
    assert_int_equal(IWDFRemoteTarget_Reopen(t), HRESULT_FROM_WIN32(ERROR_INVALID_STATE));
    assert_int_equal(IWDFRemoteTarget_CloseForQueryRemove(t), S_OK);
    assert_int_equal(IWDFRemoteTarget_DeleteWdfObject(t), HRESULT_FROM_WIN32(ERROR_INVALID_STATE));
    IWDFRemoteTarget_Release(t);
    u1_device_close(prov);
    u1_teardown();
}

static void driver_registration_refuses_bad_input(void **state)
{
    u1_reset();
    assert_int_equal(PnpkitUmdf1DriverRegister(NULL, (IDriverEntry *)&prov_entry, U1_PROVIDER_HWID), STATUS_INVALID_PARAMETER);
    assert_int_equal(PnpkitUmdf1DriverRegister(u"x", NULL, U1_PROVIDER_HWID), STATUS_INVALID_PARAMETER);
    assert_int_equal(PnpkitUmdf1DriverRegister(u"x", (IDriverEntry *)&prov_entry, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(PnpkitUmdf1DriverRegister(u"", (IDriverEntry *)&prov_entry, U1_PROVIDER_HWID), STATUS_INVALID_PARAMETER);
    u1_register_provider();
    assert_int_equal(PnpkitUmdf1DriverRegister(u"U1PROV", (IDriverEntry *)&prov_entry, U1_PROVIDER_HWID),
                     STATUS_OBJECT_NAME_COLLISION);
    assert_int_equal(PnpkitUmdf1DriverUnregister(u"nobody"), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(PnpkitUmdf1DriverUnregister(NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(u1_callback_refs, 1); /* the package's reference on its IDriverEntry */
    u1_teardown();
}

/* The status mapping of io.md 1.4. */
static void nt_status_maps_to_the_documented_hresults(void **state)
{
    assert_int_equal(PnpkitUmdf1HresultFromNtStatus(STATUS_SUCCESS), S_OK);
    assert_int_equal(PnpkitUmdf1HresultFromNtStatus(STATUS_INSUFFICIENT_RESOURCES), E_OUTOFMEMORY);
    assert_int_equal(PnpkitUmdf1HresultFromNtStatus(STATUS_NO_MEMORY), E_OUTOFMEMORY);
    assert_int_equal(PnpkitUmdf1HresultFromNtStatus(STATUS_INVALID_PARAMETER), E_INVALIDARG);
    assert_int_equal(PnpkitUmdf1HresultFromNtStatus(STATUS_OBJECT_NAME_NOT_FOUND), (HRESULT)0x80070002);
    assert_int_equal(PnpkitUmdf1HresultFromNtStatus(STATUS_INVALID_DEVICE_STATE), (HRESULT)0x8007139F);
    assert_int_equal(PnpkitUmdf1HresultFromNtStatus(STATUS_ACCESS_DENIED), (HRESULT)(0xC0000022 | 0x10000000));
}

/* The objects a queue callback receives lead back to each other. */
static void create_request_file_queue_and_device_lead_to_each_other(void **state)
{
    HSWDEVICE prov, client;

    u1_reset();
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(u1_open(0, NULL), S_OK);
    assert_true(u1st.create_same_file);
    assert_true(u1st.create_same_device);
    assert_true(u1st.create_queue_device);
    assert_true(u1st.create_type_ok);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* OnInitialize runs before the first OnDeviceAdd, OnDeinitialize when the driver unloads. */
static void driver_unload_calls_on_deinitialize(void **state)
{
    HSWDEVICE prov;

    u1_reset();
    u1_register_provider();
    prov = u1_device_create(u"prov", U1_PROVIDER_HWID, NULL);
    u1_device_close(prov);
    assert_int_equal(pk_log_find("prov:deinitialize", 0), -1);
    assert_int_equal(PnpkitUmdf1DriverUnregister(u"u1prov"), STATUS_SUCCESS);
    u1_prov_registered = false;
    assert_true(pk_log_find("prov:deinitialize", 0) > pk_log_find("prov:device-add:00000000", 0));
    u1_teardown();
}

static tobj cleanup_answering;
static void *answer_cleanup(REFIID riid) { return IsEqualGUID(riid, &IID_IObjectCleanup) ? &cleanup_answering : NULL; }
static tobj cleanup_answering = { &cleanup_vtbl, answer_cleanup };

/* IWDFDriver::CreateWdfObject: a plain object (IWDFObject only), parented to the driver or to a
 * given object; its IObjectCleanup callback runs once when it is deleted, directly or with its
 * parent; bad arguments change nothing. */
static void create_wdf_object_makes_a_plain_object_whose_cleanup_runs_once(void **state)
{
    HSWDEVICE prov, client;
    IWDFDriver *drv;
    IWDFObject *a = NULL, *b = NULL, *bad = (IWDFObject *)1;
    IWDFDevice *as_device = (IWDFDevice *)1;

    u1_reset();
    u1_start_both(&prov, &client, NULL);
    IWDFDevice2_RetrieveDriver(u1st.client_device, &drv);
    cleanups = 0;
    assert_int_equal(IWDFDriver_CreateWdfObject(drv, NULL, NULL, NULL), E_POINTER);
    assert_int_equal(IWDFDriver_CreateWdfObject(drv, NULL, (IWDFObject *)&cleanup_cb, &bad), E_INVALIDARG);
    assert_null(bad);
    assert_int_equal(IWDFDriver_CreateWdfObject(drv, (IUnknown *)&cleanup_answering, NULL, &a), S_OK);
    assert_int_equal(IWDFObject_QueryInterface(a, &IID_IWDFDevice, (void **)&as_device), E_NOINTERFACE);
    assert_null(as_device);
    /* b under a: deleting a cleans b up too. */
    assert_int_equal(IWDFDriver_CreateWdfObject(drv, (IUnknown *)&cleanup_answering, a, &b), S_OK);
    assert_int_equal(IWDFObject_DeleteWdfObject(a), S_OK);
    assert_int_equal(cleanups, 2);
    assert_int_equal(IWDFObject_DeleteWdfObject(b), HRESULT_FROM_WIN32(ERROR_INVALID_STATE));
    IWDFObject_Release(b);
    IWDFObject_Release(a);
    IWDFDriver_Release(drv);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

PK_TEST_MAIN(PK_TEST(create_wdf_object_makes_a_plain_object_whose_cleanup_runs_once),
             PK_TEST(c_macros_call_through_the_vtable_with_this_first),
             PK_TEST(create_request_file_queue_and_device_lead_to_each_other),
             PK_TEST(driver_unload_calls_on_deinitialize),
             PK_TEST(query_interface_answers_the_object_interfaces_and_refuses_others),
             PK_TEST(every_reference_is_released_exactly_once),
             PK_TEST(assign_context_once_and_cleanup_runs_at_delete),
             PK_TEST(delete_wdf_object_refuses_framework_owned_objects),
             PK_TEST(null_out_pointers_return_e_pointer_and_change_nothing),
             PK_TEST(null_out_pointer_in_the_arrival_callback_changes_nothing),
             PK_TEST(wrong_guid_returns_the_documented_hresults),
             PK_TEST(post_event_rejects_bad_type_size_and_system_guids),
             PK_TEST(opening_a_removed_interface_returns_file_not_found),
             PK_TEST(foreign_interface_pointers_are_refused),
             PK_TEST(create_remote_target_with_a_parent_outside_the_device_is_refused),
             PK_TEST(memory_copies_are_bounded),
             PK_TEST(methods_of_a_deleted_object_fail_without_crashing),
             PK_TEST(driver_registration_refuses_bad_input),
             PK_TEST(nt_status_maps_to_the_documented_hresults))
