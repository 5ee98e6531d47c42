/* Seed 001 ("Using Device Interfaces in UMDF Drivers"): one test per sentence of the seed that
 * describes behaviour, named after it, with io.md I20 and I49-I60 and pnp.md P31 where they make
 * the sentence precise. Every test ends with no framework object alive (pk_test teardown) and
 * with every reference the framework took on the drivers' callback objects released
 * (u1_teardown). */
#include "u1_testdrv.h"

#include <pthread.h>
#include <unistd.h>

/* The whole flow of the seed, step by step. */
static void seed_flow_end_to_end(void **state)
{
    HSWDEVICE prov, client;
    char reply[32] = { 0 };
    HRESULT status = E_FAIL;
    ULONG_PTR info = 0;

    u1_reset();
    u1cfg.ri_event = u1cfg.ri_removal = u1cfg.rt_removal = true;
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(u1st.register_hr, S_OK);
    assert_int_equal(u1st.arrivals, 1);
    assert_int_equal(u1st.create_ri_hr, S_OK);
    assert_int_equal(u1st.create_rt_hr, S_OK);
    assert_int_equal(u1_open(0, NULL), S_OK);
    assert_int_equal(IWDFRemoteTarget_GetState(u1st.rt[0]), WdfIoTargetStarted);
    assert_string_equal(u1st.file_name, "\\ref1");
    assert_int_equal(u1_echo(u1st.rt[0], "hello", reply, sizeof(reply), &status, &info), S_OK);
    assert_int_equal(status, S_OK);
    assert_int_equal(info, 6);
    assert_string_equal(reply, "hello");
    assert_int_equal(IWDFDevice_PostEvent(u1st.prov_device, &U1_EVENT_GUID, WdfEventBroadcast, (BYTE *)"ev", 2), S_OK);
    PnpkitSimWaitIdle();
    assert_int_equal(u1st.events, 1);
    assert_int_equal(IWDFRemoteTarget_Close(u1st.rt[0]), S_OK);
    u1_device_close(prov);
    assert_int_equal(u1st.ri_removals, 1);
    u1_device_close(client);
    u1_teardown();
}

/* "a UMDF-based driver can call IWDFDevice::CreateDeviceInterface from within its
 * IDriverEntry::OnDeviceAdd callback function" */
static void create_device_interface_in_on_device_add_registers_an_instance(void **state)
{
    HSWDEVICE prov;
    PZZWSTR list = NULL;

    u1_reset();
    u1_register_provider();
    prov = u1_device_create(u"prov", U1_PROVIDER_HWID, NULL);
    assert_int_equal(pk_log_find("prov:device-add:00000000", 0) >= 0, 1);
    assert_int_equal(IoGetDeviceInterfaces(&U1_GUID, NULL, 0, &list), STATUS_SUCCESS);
    assert_true(list[0] != 0);
    ExFreePool(list);
    u1_device_close(prov);
    u1_teardown();
}

/* "If the driver supports multiple instances of the interface, it can assign a unique reference
 * string to each instance." */
static void each_instance_can_have_its_own_reference_string(void **state)
{
    HSWDEVICE prov, client;

    u1_reset();
    u1cfg.ref = u"alpha";
    u1cfg.ref2 = u"beta";
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(u1st.arrivals, 2);
    assert_int_equal(u1_open(0, NULL), S_OK);
    assert_string_equal(u1st.file_name, "\\alpha");
    assert_int_equal(u1_open(1, NULL), S_OK);
    assert_string_equal(u1st.file_name, "\\beta");
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* "If creation succeeds, the framework automatically enables and disables the interface based on
 * the device's PnP state." */
static void interface_is_enabled_at_start_and_disabled_at_removal(void **state)
{
    HSWDEVICE prov, client;

    u1_reset();
    u1cfg.ri_removal = true;
    u1_register_provider();
    u1_register_client();
    client = u1_device_create(u"client", U1_CLIENT_HWID, NULL);
    assert_int_equal(u1st.arrivals, 0);
    prov = u1_device_create(u"prov", U1_PROVIDER_HWID, NULL);
    assert_int_equal(u1st.arrivals, 1);
    u1_device_close(prov);
    assert_int_equal(u1st.ri_removals, 1);
    u1_device_close(client);
    u1_teardown();
}

/* "call IWDFDevice::AssignDeviceInterfaceState to disable the device's interfaces and prohibit
 * applications from obtaining new handles to the interface" */
static void assign_state_false_refuses_new_opens(void **state)
{
    HSWDEVICE prov, client;
    IWDFRemoteTarget *t;

    u1_reset();
    u1cfg.ri_removal = u1cfg.removal_keeps_object = true;
    u1_start_both(&prov, &client, NULL);
    t = u1_new_target();
    assert_int_equal(IWDFDevice_AssignDeviceInterfaceState(u1st.prov_device, &U1_GUID, u"ref1", FALSE), S_OK);
    PnpkitSimWaitIdle();
    assert_int_equal(IWDFRemoteTarget_OpenRemoteInterface(t, u1st.ri[0], NULL, GENERIC_READ, NULL),
                     HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
    assert_int_equal(IWDFRemoteTarget_OpenFileByName(t, u1st.arrival_link, GENERIC_READ, NULL),
                     HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
    assert_int_equal(IWDFRemoteTarget_GetState(t), WdfIoTargetClosed);
    IWDFRemoteTarget_Release(t);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* "(Existing handles to the interface are not affected.)" (I56) */
static void assign_state_false_keeps_existing_handles_working(void **state)
{
    HSWDEVICE prov, client;
    char reply[16] = { 0 };
    HRESULT status = E_FAIL;

    u1_reset();
    u1cfg.ri_removal = true;
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(u1_open(0, NULL), S_OK);
    assert_int_equal(IWDFDevice_AssignDeviceInterfaceState(u1st.prov_device, &U1_GUID, u"ref1", FALSE), S_OK);
    PnpkitSimWaitIdle();
    assert_int_equal(u1st.ri_removals, 1);
    assert_int_equal(IWDFRemoteTarget_GetState(u1st.rt[0]), WdfIoTargetStarted);
    assert_int_equal(u1_echo(u1st.rt[0], "still", reply, sizeof(reply), &status, NULL), S_OK);
    assert_int_equal(status, S_OK);
    assert_string_equal(reply, "still");
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* "If the device later becomes available, the driver can call
 * IWDFDevice::AssignDeviceInterfaceState again to re-enable the interfaces." (P31: one REMOVAL,
 * one ARRIVAL; the same state again is a no-op) */
static void assign_state_true_re_enables_the_interface(void **state)
{
    HSWDEVICE prov, client;

    u1_reset();
    u1cfg.ri_removal = true;
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(u1st.arrivals, 1);
    assert_int_equal(IWDFDevice_AssignDeviceInterfaceState(u1st.prov_device, &U1_GUID, u"ref1", FALSE), S_OK);
    assert_int_equal(IWDFDevice_AssignDeviceInterfaceState(u1st.prov_device, &U1_GUID, u"ref1", FALSE), S_OK);
    PnpkitSimWaitIdle();
    assert_int_equal(u1st.ri_removals, 1);
    assert_int_equal(IWDFDevice_AssignDeviceInterfaceState(u1st.prov_device, &U1_GUID, u"ref1", TRUE), S_OK);
    assert_int_equal(IWDFDevice_AssignDeviceInterfaceState(u1st.prov_device, &U1_GUID, u"ref1", TRUE), S_OK);
    PnpkitSimWaitIdle();
    assert_int_equal(u1st.arrivals, 2);
    assert_int_equal(u1st.ri_removals, 1);
    assert_int_equal(u1_open(1, NULL), S_OK);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* "When an application requests access to a driver's device interface, the framework calls the
 * driver's IQueueCallbackCreate::OnCreateFile callback function." */
static void opening_the_interface_calls_on_create_file(void **state)
{
    HSWDEVICE prov, client;

    u1_reset();
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(u1st.creates, 0);
    assert_int_equal(u1_open(0, NULL), S_OK);
    assert_int_equal(u1st.creates, 1);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* "If the driver specified a reference string when it registered the device interface, the
 * operating system includes the reference string in the file or device name that
 * IWDFFile::RetrieveFileName returns." (I52: the relative name follows it) */
static void retrieve_file_name_includes_the_reference_string(void **state)
{
    HSWDEVICE prov, client;

    u1_reset();
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(u1_open(0, u"\\more"), S_OK);
    assert_string_equal(u1st.file_name, "\\ref1\\more");
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* "The driver can call IWDFFile::RetrieveFileName to obtain the name" (I20: the size rules; a
 * plain open has an empty name) */
static void retrieve_file_name_follows_the_two_call_size_rules(void **state)
{
    HSWDEVICE prov, client;

    u1_reset();
    u1cfg.ref = NULL;
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(u1_open(0, NULL), S_OK);
    assert_string_equal(u1st.file_name, "");
    assert_int_equal(u1st.file_len_null, 1);
    assert_int_equal(IWDFRemoteTarget_Close(u1st.rt[0]), S_OK);
    assert_int_equal(u1_open(0, u"\\abc"), S_OK);
    assert_int_equal(u1st.file_len_null, 5);
    assert_int_equal(u1st.file_small_hr, HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER));
    assert_string_equal(u1st.file_name, "\\abc");
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* "Your UMDF-based driver can create device-specific, custom events (called device events) by
 * calling IWDFDevice::PostEvent. ... UMDF-based drivers receive such notifications by providing
 * an IRemoteInterfaceCallbackEvent::OnRemoteInterfaceEvent callback function." (I57) */
static void post_event_reaches_on_remote_interface_event(void **state)
{
    HSWDEVICE prov, client;
    BYTE data[5] = { 1, 2, 3, 4, 5 };

    u1_reset();
    u1cfg.ri_event = true;
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(u1_open(0, NULL), S_OK);
    assert_int_equal(IWDFDevice_PostEvent(u1st.prov_device, &U1_EVENT_GUID, WdfEventBroadcast, data, sizeof(data)), S_OK);
    PnpkitSimWaitIdle();
    assert_int_equal(u1st.events, 1);
    assert_true(IsEqualGUID(&u1st.event_guid, &U1_EVENT_GUID));
    assert_int_equal(u1st.event_size, 5);
    assert_memory_equal(u1st.event_data, data, 5);
    assert_int_equal(u1st.event_offset, 0xFFFFFFFFu);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* I57: events arrive only between OpenRemoteInterface and Close of a target on the interface. */
static void events_arrive_only_while_a_target_is_open(void **state)
{
    HSWDEVICE prov, client;

    u1_reset();
    u1cfg.ri_event = true;
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(IWDFDevice_PostEvent(u1st.prov_device, &U1_EVENT_GUID, WdfEventBroadcast, NULL, 0), S_OK);
    PnpkitSimWaitIdle();
    assert_int_equal(u1st.events, 0);
    assert_int_equal(u1_open(0, NULL), S_OK);
    assert_int_equal(IWDFDevice_PostEvent(u1st.prov_device, &U1_EVENT_GUID, WdfEventBroadcast, (BYTE *)"x", 1), S_OK);
    PnpkitSimWaitIdle();
    assert_int_equal(u1st.events, 1);
    /* Closed for query-remove still counts as open. */
    assert_int_equal(IWDFRemoteTarget_CloseForQueryRemove(u1st.rt[0]), S_OK);
    assert_int_equal(IWDFDevice_PostEvent(u1st.prov_device, &U1_EVENT_GUID, WdfEventBroadcast, NULL, 0), S_OK);
    PnpkitSimWaitIdle();
    assert_int_equal(u1st.events, 2);
    assert_int_equal(IWDFRemoteTarget_Close(u1st.rt[0]), S_OK);
    assert_int_equal(IWDFDevice_PostEvent(u1st.prov_device, &U1_EVENT_GUID, WdfEventBroadcast, NULL, 0), S_OK);
    PnpkitSimWaitIdle();
    assert_int_equal(u1st.events, 2);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* "Custom events are unique to the device." */
static void events_of_another_device_do_not_arrive(void **state)
{
    HSWDEVICE prov, prov2, client;
    IWDFDevice *first;

    u1_reset();
    u1cfg.ri_event = true;
    u1_start_both(&prov, &client, NULL);
    first = u1st.prov_device;
    prov2 = u1_device_create(u"prov2", U1_PROVIDER_HWID, NULL);
    assert_int_equal(u1st.arrivals, 2);
    assert_int_equal(u1_open(0, NULL), S_OK);
    assert_int_equal(IWDFDevice_PostEvent(u1st.prov_device, &U1_EVENT_GUID, WdfEventBroadcast, NULL, 0), S_OK);
    PnpkitSimWaitIdle();
    assert_int_equal(u1st.events, 0);
    assert_int_equal(IWDFDevice_PostEvent(first, &U1_EVENT_GUID, WdfEventBroadcast, NULL, 0), S_OK);
    PnpkitSimWaitIdle();
    assert_int_equal(u1st.events, 1);
    u1_device_close(prov2);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* "When your driver calls IWDFDriver::CreateDevice, the driver can provide an
 * IPnpCallbackRemoteInterfaceNotification interface." Without it, registering fails. */
static void register_without_the_notification_interface_fails_with_invalid_state(void **state)
{
    HSWDEVICE prov, client;

    u1_reset();
    u1cfg.no_rin = true;
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(u1st.register_hr, HRESULT_FROM_WIN32(ERROR_INVALID_STATE));
    assert_int_equal(u1st.arrivals, 0);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* "it can call IWDFDevice2::RegisterRemoteInterfaceNotification for each device interface that
 * the driver will use" (a class registered twice on one device is refused) */
static void register_once_per_class_and_device(void **state)
{
    HSWDEVICE prov, client;

    u1_reset();
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(u1st.register_hr, S_OK);
    assert_int_equal(IWDFDevice2_RegisterRemoteInterfaceNotification(u1st.client_device, &U1_GUID, TRUE),
                     HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS));
    assert_int_equal(IWDFDevice2_RegisterRemoteInterfaceNotification(u1st.client_device, &U1_OTHER_GUID, TRUE), S_OK);
    PnpkitSimWaitIdle();
    assert_int_equal(u1st.arrivals, 1);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* "the framework calls the driver's OnRemoteInterfaceArrival callback function each time that a
 * specified device interface becomes available" (I49: TRUE reports existing instances once,
 * FALSE only later arrivals) */
static void arrival_is_called_each_time_an_interface_becomes_available(void **state)
{
    HSWDEVICE prov, prov2, client;

    u1_reset();
    u1cfg.include_existing = FALSE;
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(u1st.arrivals, 0);
    prov2 = u1_device_create(u"prov2", U1_PROVIDER_HWID, NULL);
    assert_int_equal(u1st.arrivals, 1);
    u1_device_close(prov2);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();

    u1_reset();
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(u1st.arrivals, 1);
    prov2 = u1_device_create(u"prov2", U1_PROVIDER_HWID, NULL);
    assert_int_equal(u1st.arrivals, 2);
    u1_device_close(prov2);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* "The callback function can call IWDFRemoteInterfaceInitialize::GetInterfaceGuid and
 * IWDFRemoteInterfaceInitialize::RetrieveSymbolicLink to determine which device interface has
 * arrived." (I50) */
static void arrival_init_gives_the_guid_and_the_link(void **state)
{
    HSWDEVICE prov, client;
    PZZWSTR list = NULL;
    WCHAR buf[256];
    DWORD len;
    GUID g;

    u1_reset();
    u1_start_both(&prov, &client, NULL);
    assert_true(IsEqualGUID(&u1st.arrival_guid, &U1_GUID));
    assert_int_equal(IoGetDeviceInterfaces(&U1_GUID, NULL, 0, &list), STATUS_SUCCESS);
    /* The user form of the kernel link. */
    assert_int_equal(PnpkitWcsLen(list), PnpkitWcsLen(u1st.arrival_link));
    assert_int_equal(u1st.arrival_link[1], u'\\');
    assert_memory_equal(list + 2, u1st.arrival_link + 2, (PnpkitWcsLen(list) - 2) * sizeof(WCHAR));
    assert_int_equal(u1st.link_len_null, PnpkitWcsLen(list) + 1);
    assert_int_equal(u1st.link_small_hr, HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER));
    assert_int_equal(u1st.link_small_len, PnpkitWcsLen(list) + 1);
    assert_memory_equal(u1st.arrival_link + PnpkitWcsLen(list) - 5, u"\\ref1", 5 * sizeof(WCHAR));
    ExFreePool(list);
    /* The remote interface answers the same. */
    IWDFRemoteInterface_GetInterfaceGuid(u1st.ri[0], &g);
    assert_true(IsEqualGUID(&g, &U1_GUID));
    len = ARRAYSIZE(buf);
    assert_int_equal(IWDFRemoteInterface_RetrieveSymbolicLink(u1st.ri[0], buf, &len), S_OK);
    assert_int_equal(len, u1st.link_len_null);
    assert_memory_equal(buf, u1st.arrival_link, len * sizeof(WCHAR));
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* "Call IWDFDevice2::CreateRemoteInterface to create a remote interface object" — inside the
 * arrival callback; afterwards it fails with 0x8007139F (I51), and so does the Init's link. */
static void create_remote_interface_only_inside_the_arrival_callback(void **state)
{
    HSWDEVICE prov, client;
    IWDFRemoteInterface *ri = (IWDFRemoteInterface *)(uintptr_t)1;
    DWORD len = 0;

    u1_reset();
    u1cfg.keep_init = true;
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(u1st.create_ri_hr, S_OK);
    assert_non_null(u1st.init);
    assert_int_equal(IWDFDevice2_CreateRemoteInterface(u1st.client_device, u1st.init, NULL, &ri),
                     HRESULT_FROM_WIN32(ERROR_INVALID_STATE));
    assert_ptr_equal(ri, (IWDFRemoteInterface *)(uintptr_t)1);
    assert_int_equal(IWDFRemoteInterfaceInitialize_RetrieveSymbolicLink(u1st.init, NULL, &len),
                     HRESULT_FROM_WIN32(ERROR_INVALID_STATE));
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* "Call IWDFDevice2::CreateRemoteTarget to create a remote target object" — Closed until opened
 * (io.md 1.3), and sends to it are refused. */
static void create_remote_target_is_closed_until_opened(void **state)
{
    HSWDEVICE prov, client;
    char reply[8];

    u1_reset();
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(u1st.create_rt_hr, S_OK);
    assert_int_equal(IWDFRemoteTarget_GetState(u1st.rt[0]), WdfIoTargetClosed);
    assert_int_equal(u1_echo(u1st.rt[0], "x", reply, sizeof(reply), NULL, NULL), HRESULT_FROM_WIN32(ERROR_INVALID_STATE));
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* "Call IWDFRemoteTarget::OpenRemoteInterface to connect the device interface to the remote
 * target." (I52) */
static void open_remote_interface_starts_the_target(void **state)
{
    HSWDEVICE prov, client;

    u1_reset();
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(u1_open(0, NULL), S_OK);
    assert_int_equal(IWDFRemoteTarget_GetState(u1st.rt[0]), WdfIoTargetStarted);
    assert_int_equal(u1_open(0, NULL), HRESULT_FROM_WIN32(ERROR_INVALID_STATE)); /* open already */
    assert_int_equal(IWDFRemoteTarget_Close(u1st.rt[0]), S_OK);
    assert_int_equal(IWDFRemoteTarget_GetState(u1st.rt[0]), WdfIoTargetClosed);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* "If the device interface is one that the SWENUM software device enumerator creates, your
 * driver must call OpenRemoteInterface from a work item." (I58: from the arrival callback it is a
 * verifier stop; outside verifier mode it works) */
static void open_from_the_arrival_callback_of_a_software_device_is_a_verifier_stop(void **state)
{
    HSWDEVICE prov, client;

    pk_test_capture_verifier();
    u1_reset();
    u1cfg.open_in_arrival = true;
    u1_start_both(&prov, &client, NULL);
    assert_true(pk_test_verifier_saw("OpenRemoteInterface"));
    assert_int_equal(u1st.open_hr, S_OK);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

static void *open_worker(void *arg)
{
    *(HRESULT *)arg = u1_open(0, NULL);
    return NULL;
}

static void open_from_a_work_item_succeeds(void **state)
{
    HSWDEVICE prov, client;
    HRESULT hr = E_FAIL;
    pthread_t th;

    u1_reset();
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(pthread_create(&th, NULL, open_worker, &hr), 0);
    pthread_join(th, NULL);
    assert_int_equal(hr, S_OK);
    assert_int_equal(pk_test_verifier_stops(), 0);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* "Now the driver can format and send I/O requests to the remote I/O target." (IOCTL, read and
 * write, synchronous and asynchronous) */
static volatile int completions;
static HRESULT completion_status;
static ULONG_PTR completion_info;
static void on_completion(IRequestCallbackRequestCompletion *This, IWDFIoRequest *r, IWDFIoTarget *t,
                          IWDFRequestCompletionParams *p, void *context)
{
    completion_status = IWDFRequestCompletionParams_GetCompletionStatus(p);
    completion_info = IWDFRequestCompletionParams_GetInformation(p);
    assert_ptr_equal(context, (void *)&completions);
    __atomic_add_fetch(&completions, 1, __ATOMIC_SEQ_CST);
}
static const IRequestCallbackRequestCompletionVtbl completion_vtbl = { U1_IUNKNOWN, .OnCompletion = on_completion };
static tobj completion_cb = { &completion_vtbl, NULL };

static void formatted_requests_flow_to_the_interface_driver(void **state)
{
    HSWDEVICE prov, client;
    char reply[16] = { 0 };
    BYTE rbuf[8] = { 0 };
    HRESULT status = E_FAIL;
    IWDFDriver *drv;
    IWDFIoRequest *r;
    IWDFMemory *m;
    IWDFRequestCompletionParams *p;

    u1_reset();
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(u1_open(0, NULL), S_OK);
    assert_int_equal(u1_echo(u1st.rt[0], "ping", reply, sizeof(reply), &status, NULL), S_OK);
    assert_string_equal(reply, "ping");
    assert_int_equal(u1st.ioctls, 1);

    /* An asynchronous read with a completion callback. */
    IWDFDevice2_RetrieveDriver(u1st.client_device, &drv);
    assert_int_equal(IWDFDevice2_CreateRequest(u1st.client_device, NULL, NULL, &r), S_OK);
    assert_int_equal(IWDFDriver_CreatePreallocatedWdfMemory(drv, rbuf, sizeof(rbuf), NULL, (IWDFObject *)r, &m), S_OK);
    assert_int_equal(IWDFRemoteTarget_FormatRequestForRead(u1st.rt[0], r, NULL, m, NULL, NULL), S_OK);
    assert_int_equal(IWDFIoRequest_GetType(r), WdfRequestTypeRead);
    IWDFIoRequest_SetCompletionCallback(r, (IRequestCallbackRequestCompletion *)&completion_cb, (void *)&completions);
    assert_int_equal(IWDFIoRequest_Send(r, (IWDFIoTarget *)u1st.rt[0], 0, 0), S_OK);
    for (int i = 0; i < 2000 && !__atomic_load_n(&completions, __ATOMIC_SEQ_CST); i++)
        usleep(1000);
    assert_int_equal(completions, 1);
    assert_int_equal(completion_status, S_OK);
    assert_int_equal(completion_info, sizeof(rbuf));
    assert_memory_equal(rbuf, "rrrrrrrr", 8);
    IWDFIoRequest_GetCompletionParams(r, &p);
    assert_non_null(p);
    assert_int_equal(IWDFRequestCompletionParams_GetCompletedRequestType(p), WdfRequestTypeRead);
    IWDFRequestCompletionParams_Release(p);
    IWDFIoRequest_SetCompletionCallback(r, NULL, NULL);
    IWDFMemory_Release(m);
    assert_int_equal(IWDFIoRequest_DeleteWdfObject(r), S_OK);
    IWDFIoRequest_Release(r);
    IWDFDriver_Release(drv);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* "The IRemoteInterfaceCallbackRemoval::OnRemoteInterfaceRemoval callback function notifies the
 * driver when a device interface is removed." (I55) */
static void interface_removal_calls_on_remote_interface_removal(void **state)
{
    HSWDEVICE prov, client;

    u1_reset();
    u1cfg.ri_removal = true;
    u1_start_both(&prov, &client, NULL);
    assert_non_null(u1st.ri[0]);
    u1_device_close(prov);
    assert_int_equal(u1st.ri_removals, 1);
    assert_null(u1st.ri[0]); /* the callback deleted and released it */
    u1_device_close(client);
    u1_teardown();
}

/* I55: without the removal callback the framework deletes the remote interface object. */
static void without_the_removal_callback_the_framework_deletes_the_remote_interface(void **state)
{
    HSWDEVICE prov, client;

    u1_reset();
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(IWDFDevice_AssignDeviceInterfaceState(u1st.prov_device, &U1_GUID, u"ref1", FALSE), S_OK);
    PnpkitSimWaitIdle();
    /* The object is gone; the test's reference keeps only the interface pointer valid. */
    assert_int_equal(IWDFRemoteInterface_DeleteWdfObject(u1st.ri[0]), HRESULT_FROM_WIN32(ERROR_INVALID_STATE));
    u1_release_remotes();
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* I53: OnRemoteTargetQueryRemove returning FALSE vetoes the removal, then RemoveCanceled. */
static void query_remove_veto_keeps_the_target_open(void **state)
{
    HSWDEVICE prov, client;
    DEVINST dn;
    char reply[8] = { 0 };

    u1_reset();
    u1cfg.rt_removal = u1cfg.veto = true;
    u1_start_both(&prov, &client, &dn);
    assert_int_equal(u1_open(0, NULL), S_OK);
    pk_log_clear();
    assert_int_equal(CM_Query_And_Remove_SubTreeW(dn, NULL, NULL, 0, 0), CR_REMOVE_VETOED);
    PnpkitSimWaitIdle();
    assert_true(pk_log_find("client:rt-query-remove", 0) >= 0);
    assert_true(pk_log_find("client:rt-remove-canceled", 0) > pk_log_find("client:rt-query-remove", 0));
    assert_int_equal(IWDFRemoteTarget_GetState(u1st.rt[0]), WdfIoTargetStarted);
    assert_int_equal(u1_echo(u1st.rt[0], "ok", reply, sizeof(reply), NULL, NULL), S_OK);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* I53: TRUE after CloseForQueryRemove allows the removal; RemoveComplete follows; the target's
 * callbacks come before the interface's removal. */
static void query_remove_allowed_then_remove_complete_in_order(void **state)
{
    HSWDEVICE prov, client;
    DEVINST dn;

    u1_reset();
    u1cfg.rt_removal = u1cfg.ri_removal = true;
    u1_start_both(&prov, &client, &dn);
    assert_int_equal(u1_open(0, NULL), S_OK);
    pk_log_clear();
    assert_int_equal(CM_Query_And_Remove_SubTreeW(dn, NULL, NULL, 0, 0), CR_SUCCESS);
    PnpkitSimWaitIdle();
    static const char *const expected[] = { "client:rt-query-remove", "client:rt-remove-complete", "client:ri-removal", NULL };
    pk_log_expect(expected);
    assert_int_equal(IWDFRemoteTarget_GetState(u1st.rt[0]), WdfIoTargetClosed);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* I53: a removal vetoed elsewhere, after the target allowed it, cancels: RemoveCanceled reopens. */
static void remove_canceled_reopens_the_target(void **state)
{
    HSWDEVICE prov, client;
    DEVINST dn;
    char reply[8] = { 0 };

    u1_reset();
    u1cfg.rt_removal = true;
    u1_start_both(&prov, &client, &dn);
    assert_int_equal(u1_open(0, NULL), S_OK);
    assert_int_equal(PnpkitSimVetoQueryRemove(dn, TRUE), STATUS_SUCCESS);
    pk_log_clear();
    assert_int_equal(CM_Query_And_Remove_SubTreeW(dn, NULL, NULL, 0, 0), CR_REMOVE_VETOED);
    PnpkitSimWaitIdle();
    /* The reopen is a new open of the interface: the provider sees a create. */
    static const char *const expected[] = { "client:rt-query-remove", "client:rt-remove-canceled", "prov:create:\\ref1",
                                            NULL };
    pk_log_expect(expected);
    assert_int_equal(IWDFRemoteTarget_GetState(u1st.rt[0]), WdfIoTargetStarted);
    assert_int_equal(u1_echo(u1st.rt[0], "re", reply, sizeof(reply), NULL, NULL), S_OK);
    assert_int_equal(PnpkitSimVetoQueryRemove(dn, FALSE), STATUS_SUCCESS);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* I54: without IRemoteTargetCallbackRemoval the framework closes, reopens and closes by itself
 * and does not veto. */
static void without_target_removal_callback_the_framework_handles_removal(void **state)
{
    HSWDEVICE prov, client;
    DEVINST dn;

    u1_reset();
    u1_start_both(&prov, &client, &dn);
    assert_int_equal(u1_open(0, NULL), S_OK);
    assert_int_equal(PnpkitSimVetoQueryRemove(dn, TRUE), STATUS_SUCCESS);
    assert_int_equal(CM_Query_And_Remove_SubTreeW(dn, NULL, NULL, 0, 0), CR_REMOVE_VETOED);
    PnpkitSimWaitIdle();
    assert_int_equal(IWDFRemoteTarget_GetState(u1st.rt[0]), WdfIoTargetStarted); /* reopened */
    assert_int_equal(PnpkitSimVetoQueryRemove(dn, FALSE), STATUS_SUCCESS);
    assert_int_equal(CM_Query_And_Remove_SubTreeW(dn, NULL, NULL, 0, 0), CR_SUCCESS);
    PnpkitSimWaitIdle();
    assert_int_equal(IWDFRemoteTarget_GetState(u1st.rt[0]), WdfIoTargetClosed);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* I59 */
static void close_for_query_remove_always_returns_s_ok(void **state)
{
    HSWDEVICE prov, client;

    u1_reset();
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(IWDFRemoteTarget_CloseForQueryRemove(u1st.rt[0]), S_OK); /* never opened */
    assert_int_equal(u1_open(0, NULL), S_OK);
    assert_int_equal(IWDFRemoteTarget_CloseForQueryRemove(u1st.rt[0]), S_OK);
    assert_int_equal(IWDFRemoteTarget_GetState(u1st.rt[0]), WdfIoTargetClosedForQueryRemove);
    assert_int_equal(IWDFRemoteTarget_CloseForQueryRemove(u1st.rt[0]), S_OK);
    assert_int_equal(IWDFRemoteTarget_Reopen(u1st.rt[0]), S_OK);
    assert_int_equal(IWDFRemoteTarget_GetState(u1st.rt[0]), WdfIoTargetStarted);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

PK_TEST_MAIN(PK_TEST(seed_flow_end_to_end),
             PK_TEST(create_device_interface_in_on_device_add_registers_an_instance),
             PK_TEST(each_instance_can_have_its_own_reference_string),
             PK_TEST(interface_is_enabled_at_start_and_disabled_at_removal),
             PK_TEST(assign_state_false_refuses_new_opens),
             PK_TEST(assign_state_false_keeps_existing_handles_working),
             PK_TEST(assign_state_true_re_enables_the_interface),
             PK_TEST(opening_the_interface_calls_on_create_file),
             PK_TEST(retrieve_file_name_includes_the_reference_string),
             PK_TEST(retrieve_file_name_follows_the_two_call_size_rules),
             PK_TEST(post_event_reaches_on_remote_interface_event),
             PK_TEST(events_arrive_only_while_a_target_is_open),
             PK_TEST(events_of_another_device_do_not_arrive),
             PK_TEST(register_without_the_notification_interface_fails_with_invalid_state),
             PK_TEST(register_once_per_class_and_device),
             PK_TEST(arrival_is_called_each_time_an_interface_becomes_available),
             PK_TEST(arrival_init_gives_the_guid_and_the_link),
             PK_TEST(create_remote_interface_only_inside_the_arrival_callback),
             PK_TEST(create_remote_target_is_closed_until_opened),
             PK_TEST(open_remote_interface_starts_the_target),
             PK_TEST(open_from_the_arrival_callback_of_a_software_device_is_a_verifier_stop),
             PK_TEST(open_from_a_work_item_succeeds),
             PK_TEST(formatted_requests_flow_to_the_interface_driver),
             PK_TEST(interface_removal_calls_on_remote_interface_removal),
             PK_TEST(without_the_removal_callback_the_framework_deletes_the_remote_interface),
             PK_TEST(query_remove_veto_keeps_the_target_open),
             PK_TEST(query_remove_allowed_then_remove_complete_in_order),
             PK_TEST(remove_canceled_reopens_the_target),
             PK_TEST(without_target_removal_callback_the_framework_handles_removal),
             PK_TEST(close_for_query_remove_always_returns_s_ok))
