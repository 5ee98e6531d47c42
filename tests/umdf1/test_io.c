/* I/O through the UMDF 1 layer beyond the seed's sentences: events reported by the WDM call with a
 * name (I57), reads and writes, the device-level locking constraint, and several threads sending
 * while events are posted (checked under TSan). */
#include "u1_testdrv.h"
#include "umdf1/umdf1_internal.h" /* the WDFDEVICE behind an IWDFDevice, to report from its PDO */

#include <pthread.h>

/* I57: an IoReportTargetDeviceChange[Asynchronous] event arrives with the same GUID, data bytes
 * and NameBufferOffset. */
static void reported_event_keeps_guid_data_and_name_offset(void **state)
{
    HSWDEVICE prov, client;
    UCHAR buffer[64];
    PTARGET_DEVICE_CUSTOM_NOTIFICATION n = (PTARGET_DEVICE_CUSTOM_NOTIFICATION)buffer;
    static const UCHAR data[6] = { 7, 8, 'A', 0, 'B', 0 };
    WDFDEVICE device;

    u1_reset();
    u1cfg.ri_event = true;
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(u1_open(0, NULL), S_OK);
    device = (WDFDEVICE)((u1_object *)u1st.prov_device)->wdf;
    memset(buffer, 0, sizeof(buffer));
    n->Version = 1;
    n->Size = (USHORT)(offsetof(TARGET_DEVICE_CUSTOM_NOTIFICATION, CustomDataBuffer) + sizeof(data));
    n->Event = U1_EVENT_GUID;
    n->NameBufferOffset = 2;
    memcpy(n->CustomDataBuffer, data, sizeof(data));
    assert_true(NT_SUCCESS(IoReportTargetDeviceChangeAsynchronous(WdfDeviceWdmGetPhysicalDevice(device), n, NULL, NULL)));
    PnpkitSimWaitIdle();
    assert_int_equal(u1st.events, 1);
    assert_true(IsEqualGUID(&u1st.event_guid, &U1_EVENT_GUID));
    assert_int_equal(u1st.event_size, sizeof(data));
    assert_memory_equal(u1st.event_data, data, sizeof(data));
    assert_int_equal(u1st.event_offset, 2);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

static HRESULT rw(IWDFRemoteTarget *t, bool read, BYTE *buf, size_t size, ULONG_PTR *info)
{
    IWDFDriver *drv;
    IWDFIoRequest *r;
    IWDFMemory *m;
    IWDFRequestCompletionParams *p = NULL;
    HRESULT hr;

    IWDFDevice2_RetrieveDriver(u1st.client_device, &drv);
    assert_int_equal(IWDFDevice2_CreateRequest(u1st.client_device, NULL, NULL, &r), S_OK);
    assert_int_equal(IWDFDriver_CreatePreallocatedWdfMemory(drv, buf, size, NULL, (IWDFObject *)r, &m), S_OK);
    hr = read ? IWDFRemoteTarget_FormatRequestForRead(t, r, NULL, m, NULL, NULL)
              : IWDFRemoteTarget_FormatRequestForWrite(t, r, NULL, m, NULL, NULL);
    if (SUCCEEDED(hr))
        hr = IWDFIoRequest_Send(r, (IWDFIoTarget *)t, WDF_REQUEST_SEND_OPTION_SYNCHRONOUS, -10000000LL);
    if (SUCCEEDED(hr)) {
        IWDFIoRequest_GetCompletionParams(r, &p);
        hr = IWDFRequestCompletionParams_GetCompletionStatus(p);
        *info = IWDFRequestCompletionParams_GetInformation(p);
        assert_int_equal(IWDFRequestCompletionParams_GetCompletedRequestType(p), read ? WdfRequestTypeRead : WdfRequestTypeWrite);
        IWDFRequestCompletionParams_Release(p);
    }
    IWDFMemory_Release(m);
    IWDFIoRequest_DeleteWdfObject(r);
    IWDFIoRequest_Release(r);
    IWDFDriver_Release(drv);
    return hr;
}

static void reads_and_writes_reach_on_read_and_on_write(void **state)
{
    HSWDEVICE prov, client;
    BYTE buf[5] = { 0 };
    ULONG_PTR info = 0;

    u1_reset();
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(u1_open(0, NULL), S_OK);
    assert_int_equal(rw(u1st.rt[0], true, buf, sizeof(buf), &info), S_OK);
    assert_int_equal(info, 5);
    assert_memory_equal(buf, "rrrrr", 5);
    assert_int_equal(rw(u1st.rt[0], false, buf, 3, &info), S_OK);
    assert_int_equal(info, 3);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* A driver whose device has the device-level locking constraint and forwards creates; it also
 * reads its device instance id (two-call rule). */
static char locked_instance_id[64];
static HRESULT locked_id_small, locked_id_null;

static HRESULT locked_on_device_add(IDriverEntry *This, IWDFDriver *d, IWDFDeviceInitialize *init)
{
    WCHAR id[64];
    DWORD n = 0, small = 2;

    IWDFDeviceInitialize_SetLockingConstraint(init, WdfDeviceLevel);
    IWDFDeviceInitialize_AutoForwardCreateCleanupClose(init, WdfFalse);
    locked_id_null = IWDFDeviceInitialize_RetrieveDeviceInstanceId(init, NULL, NULL);
    if (IWDFDeviceInitialize_RetrieveDeviceInstanceId(init, NULL, &n) == S_OK && n <= 64 &&
        IWDFDeviceInitialize_RetrieveDeviceInstanceId(init, id, &n) == S_OK)
        for (DWORD i = 0; i < n && i < sizeof(locked_instance_id); i++)
            locked_instance_id[i] = (char)id[i];
    locked_id_small = IWDFDeviceInitialize_RetrieveDeviceInstanceId(init, id, &small);
    return prov_on_device_add(This, d, init);
}
static const IDriverEntryVtbl locked_entry_vtbl = { U1_IUNKNOWN, .OnInitialize = prov_on_initialize,
                                                    .OnDeviceAdd = locked_on_device_add,
                                                    .OnDeinitialize = prov_on_deinitialize };
static tobj locked_entry = { &locked_entry_vtbl, NULL };

static void device_level_locking_constraint_keeps_io_working(void **state)
{
    HSWDEVICE prov, client;
    char reply[8] = { 0 };

    u1_reset();
    assert_int_equal(PnpkitUmdf1DriverRegister(u"u1prov", (IDriverEntry *)&locked_entry, U1_PROVIDER_HWID), STATUS_SUCCESS);
    u1_prov_registered = true;
    u1_register_client();
    prov = u1_device_create(u"prov", U1_PROVIDER_HWID, NULL);
    client = u1_device_create(u"client", U1_CLIENT_HWID, NULL);
    assert_true(pk_log_find("prov:device-add:00000000", 0) >= 0);
    assert_int_equal(locked_id_null, E_POINTER);
    assert_int_equal(locked_id_small, HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER));
    assert_non_null(strstr(locked_instance_id, "\\prov")); /* SWD\<enumerator>\prov */
    assert_int_equal(strncmp(locked_instance_id, "SWD\\", 4), 0);
    assert_int_equal(u1_open(0, NULL), S_OK);
    assert_int_equal(u1_echo(u1st.rt[0], "lk", reply, sizeof(reply), NULL, NULL), S_OK);
    assert_string_equal(reply, "lk");
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

/* Several threads send through one remote target while another posts events; every request
 * completes with its own bytes, and every event arrives. */
#define SENDERS 4
#define SENDS 50
#define EVENTS 20

static volatile LONG mismatches;

static void *sender(void *arg)
{
    int id = (int)(intptr_t)arg;

    for (int i = 0; i < SENDS; i++) {
        char text[16], reply[16] = { 0 };
        HRESULT status = E_FAIL;
        snprintf(text, sizeof(text), "t%d-%d", id, i);
        if (u1_echo(u1st.rt[0], text, reply, sizeof(reply), &status, NULL) != S_OK || status != S_OK ||
            strcmp(text, reply) != 0)
            __atomic_add_fetch(&mismatches, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

static void *poster(void *arg)
{
    for (int i = 0; i < EVENTS; i++)
        if (IWDFDevice_PostEvent(u1st.prov_device, &U1_EVENT_GUID, WdfEventBroadcast, (BYTE *)&i, sizeof(i)) != S_OK)
            __atomic_add_fetch(&mismatches, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void sends_and_events_from_several_threads(void **state)
{
    HSWDEVICE prov, client;
    pk_test_threads threads;

    u1_reset();
    u1cfg.ri_event = true;
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(u1_open(0, NULL), S_OK);
    threads.count = 0;
    for (int i = 0; i < SENDERS; i++)
        assert_int_equal(pthread_create(&threads.ids[threads.count++], NULL, sender, (void *)(intptr_t)i), 0);
    assert_int_equal(pthread_create(&threads.ids[threads.count++], NULL, poster, NULL), 0);
    pk_test_threads_join(&threads);
    PnpkitSimWaitIdle();
    assert_int_equal(mismatches, 0);
    assert_int_equal(u1st.ioctls, SENDERS * SENDS);
    assert_int_equal(u1st.events, EVENTS);
    u1_device_close(prov);
    u1_device_close(client);
    u1_teardown();
}

PK_TEST_MAIN(PK_TEST(reported_event_keeps_guid_data_and_name_offset),
             PK_TEST(reads_and_writes_reach_on_read_and_on_write),
             PK_TEST(device_level_locking_constraint_keeps_io_working),
             PK_TEST(sends_and_events_from_several_threads))
