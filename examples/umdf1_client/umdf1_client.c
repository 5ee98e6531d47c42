/*
 * umdf1_client — seed 001 ("Using Device Interfaces in UMDF Drivers") step by step, with two
 * UMDF 1 drivers written in C against <pnpkit/wudfddi.h>:
 *
 *   - "sensor", the provider: registers a device interface with the reference string "ref1"
 *     from OnDeviceAdd, answers opens (OnCreateFile, printing RetrieveFileName) and an echo
 *     IOCTL, posts a custom device event, and disables and re-enables its interface;
 *   - "client", the consumer: registers for remote-interface notification, and on arrival
 *     creates a remote interface and a remote target, opens it from a work item (the device is
 *     software-enumerated), sends an IOCTL, receives the custom event, and goes through the
 *     removal of the sensor.
 *
 * Everything happens in this process on pnpkit's simulated backend; the program ends by itself
 * and exits 0 when every step behaved as the seed says (1 otherwise).
 */
#include <pnpkit.h>
#include <pnpkit/wudfddi.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

DEFINE_GUID(GUID_DEVINTERFACE_SENSOR, 0x6d1b8f30, 0x0a7e, 0x4c1d, 0x9f, 0x52, 0x3a, 0x61, 0x0c, 0x7e, 0x11, 0x01);
DEFINE_GUID(GUID_SENSOR_EVENT, 0x6d1b8f31, 0x0a7e, 0x4c1d, 0x9f, 0x52, 0x3a, 0x61, 0x0c, 0x7e, 0x11, 0x02);
#define IOCTL_SENSOR_ECHO CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)

static int failures;
#define CHECK(cond, what) \
    do { \
        if (!(cond)) { \
            printf("   !! unexpected: %s\n", what); \
            failures++; \
        } \
    } while (0)

static const char *narrow(PCWSTR s)
{
    static char buf[4][300];
    static int next;
    char *b = buf[next++ & 3];
    size_t i = 0;
    for (; s && s[i] && i < sizeof(buf[0]) - 1; i++)
        b[i] = s[i] < 128 ? (char)s[i] : '?';
    b[i] = 0;
    return b;
}

/* ---- Static COM objects: the drivers' callback objects ----
 * Each is a struct whose first member is its vtable. `answer` says which callback interfaces
 * the object offers through QueryInterface. The reference count is one number for all, so the
 * program can check at the end that the framework released every reference it took. */
typedef struct com_object {
    const void *lpVtbl;
    void *(*answer)(REFIID riid);
} com_object;

static volatile LONG callback_refs;

static ULONG STDMETHODCALLTYPE_add_ref(void *This) { return (ULONG)__atomic_add_fetch(&callback_refs, 1, __ATOMIC_SEQ_CST); }
static ULONG STDMETHODCALLTYPE_release(void *This) { return (ULONG)__atomic_sub_fetch(&callback_refs, 1, __ATOMIC_SEQ_CST); }
static HRESULT query_interface(void *This, REFIID riid, void **ppv)
{
    com_object *o = This;
    void *p = IsEqualGUID(riid, &IID_IUnknown) ? This : (o->answer ? o->answer(riid) : NULL);

    if (!ppv)
        return E_POINTER;
    *ppv = p;
    if (!p)
        return E_NOINTERFACE;
    STDMETHODCALLTYPE_add_ref(p);
    return S_OK;
}
#define IUNKNOWN_METHODS .QueryInterface = (void *)query_interface, .AddRef = (void *)STDMETHODCALLTYPE_add_ref, \
                         .Release = (void *)STDMETHODCALLTYPE_release
static const IUnknownVtbl plain_vtbl = { IUNKNOWN_METHODS };

/* =============================================================================================
 * The provider driver ("sensor")
 * ============================================================================================= */

static IWDFDevice *sensor_device; /* weak: valid while the device exists */

static void sensor_on_create_file(IQueueCallbackCreate *This, IWDFIoQueue *queue, IWDFIoRequest *request, IWDFFile *file)
{
    WCHAR name[64];
    DWORD length = 0;

    IWDFFile_RetrieveFileName(file, NULL, &length); /* the size first, as the two-call rule says */
    length = ARRAYSIZE(name);
    IWDFFile_RetrieveFileName(file, name, &length);
    printf("   sensor: IQueueCallbackCreate::OnCreateFile, RetrieveFileName gives \"%s\"\n", narrow(name));
    CHECK(strcmp(narrow(name), "\\ref1") == 0, "the file name carries the reference string");
    IWDFIoRequest_Complete(request, S_OK);
}

static void sensor_on_ioctl(IQueueCallbackDeviceIoControl *This, IWDFIoQueue *queue, IWDFIoRequest *request, ULONG code,
                            SIZE_T in_size, SIZE_T out_size)
{
    IWDFMemory *in = NULL, *out = NULL;
    char text[64] = { 0 };
    SIZE_T n = in_size < out_size ? in_size : out_size;

    if (n > sizeof(text))
        n = sizeof(text);
    IWDFIoRequest_GetInputMemory(request, &in);
    IWDFIoRequest_GetOutputMemory(request, &out);
    if (in && out) {
        IWDFMemory_CopyToBuffer(in, 0, text, n);
        IWDFMemory_CopyFromBuffer(out, 0, text, n);
    }
    printf("   sensor: OnDeviceIoControl 0x%x with \"%s\", echoed back\n", (unsigned)code, text);
    if (in)
        IWDFMemory_Release(in);
    if (out)
        IWDFMemory_Release(out);
    IWDFIoRequest_CompleteWithInformation(request, S_OK, n);
}

static const IQueueCallbackCreateVtbl sensor_create_vtbl = { IUNKNOWN_METHODS, .OnCreateFile = sensor_on_create_file };
static const IQueueCallbackDeviceIoControlVtbl sensor_ioctl_vtbl = { IUNKNOWN_METHODS, .OnDeviceIoControl = sensor_on_ioctl };
static com_object sensor_create = { &sensor_create_vtbl, NULL };
static com_object sensor_ioctl = { &sensor_ioctl_vtbl, NULL };
static void *sensor_queue_answer(REFIID riid)
{
    if (IsEqualGUID(riid, &IID_IQueueCallbackCreate))
        return &sensor_create;
    if (IsEqualGUID(riid, &IID_IQueueCallbackDeviceIoControl))
        return &sensor_ioctl;
    return NULL;
}
static com_object sensor_queue_callbacks = { &plain_vtbl, sensor_queue_answer };

static HRESULT sensor_on_initialize(IDriverEntry *This, IWDFDriver *driver) { return S_OK; }
static void sensor_on_deinitialize(IDriverEntry *This, IWDFDriver *driver) {}

static HRESULT sensor_on_device_add(IDriverEntry *This, IWDFDriver *driver, IWDFDeviceInitialize *init)
{
    IWDFDevice *device;
    IWDFIoQueue *queue;
    HRESULT hr;

    hr = IWDFDriver_CreateDevice(driver, init, NULL, &device);
    if (FAILED(hr))
        return hr;
    /* "a UMDF-based driver can call IWDFDevice::CreateDeviceInterface from within its
     * IDriverEntry::OnDeviceAdd callback function ... it can assign a unique reference string" */
    hr = IWDFDevice_CreateDeviceInterface(device, &GUID_DEVINTERFACE_SENSOR, u"ref1");
    printf("   sensor: OnDeviceAdd: CreateDevice, CreateDeviceInterface(GUID_DEVINTERFACE_SENSOR, \"ref1\") -> 0x%08x\n",
           (unsigned)hr);
    if (SUCCEEDED(hr))
        hr = IWDFDevice_CreateIoQueue(device, (IUnknown *)&sensor_queue_callbacks, TRUE, WdfIoQueueDispatchParallel, FALSE,
                                      FALSE, &queue);
    if (SUCCEEDED(hr))
        IWDFIoQueue_Release(queue);
    sensor_device = device;
    IWDFDevice_Release(device); /* the framework keeps the device while it exists */
    return hr;
}

static const IDriverEntryVtbl sensor_entry_vtbl = { IUNKNOWN_METHODS, .OnInitialize = sensor_on_initialize,
                                                    .OnDeviceAdd = sensor_on_device_add,
                                                    .OnDeinitialize = sensor_on_deinitialize };
static com_object sensor_entry = { &sensor_entry_vtbl, NULL };

/* =============================================================================================
 * The client driver
 * ============================================================================================= */

static IWDFDevice2 *client_device;      /* weak */
static IWDFRemoteInterface *remote_interface; /* one reference while we use it */
static IWDFRemoteTarget *remote_target;       /* one reference */
static pthread_t open_work_item;
static bool open_queued;
static int events_seen, removals_seen;

static void client_on_event(IRemoteInterfaceCallbackEvent *This, IWDFRemoteInterface *ri, REFGUID guid, BYTE *data,
                            DWORD size, DWORD name_offset)
{
    events_seen++;
    printf("   client: IRemoteInterfaceCallbackEvent::OnRemoteInterfaceEvent, %u bytes \"%.*s\", name offset 0x%x\n",
           (unsigned)size, (int)size, (const char *)data, (unsigned)name_offset);
    CHECK(IsEqualGUID(guid, &GUID_SENSOR_EVENT), "the event carries the sensor's GUID");
}

static void client_on_interface_removal(IRemoteInterfaceCallbackRemoval *This, IWDFRemoteInterface *ri)
{
    removals_seen++;
    printf("   client: IRemoteInterfaceCallbackRemoval::OnRemoteInterfaceRemoval: delete the remote interface\n");
    IWDFRemoteInterface_DeleteWdfObject(ri);
    if (ri == remote_interface) {
        IWDFRemoteInterface_Release(remote_interface);
        remote_interface = NULL;
    }
}

static BOOL client_on_query_remove(IRemoteTargetCallbackRemoval *This, IWDFRemoteTarget *target)
{
    printf("   client: OnRemoteTargetQueryRemove: CloseForQueryRemove, allow\n");
    IWDFRemoteTarget_CloseForQueryRemove(target);
    return TRUE;
}

static void client_on_remove_canceled(IRemoteTargetCallbackRemoval *This, IWDFRemoteTarget *target)
{
    printf("   client: OnRemoteTargetRemoveCanceled: Reopen\n");
    IWDFRemoteTarget_Reopen(target);
}

static void client_on_remove_complete(IRemoteTargetCallbackRemoval *This, IWDFRemoteTarget *target)
{
    printf("   client: OnRemoteTargetRemoveComplete: Close\n");
    IWDFRemoteTarget_Close(target);
}

static const IRemoteInterfaceCallbackEventVtbl client_event_vtbl = { IUNKNOWN_METHODS,
                                                                     .OnRemoteInterfaceEvent = client_on_event };
static const IRemoteInterfaceCallbackRemovalVtbl client_ri_removal_vtbl = {
    IUNKNOWN_METHODS, .OnRemoteInterfaceRemoval = client_on_interface_removal
};
static const IRemoteTargetCallbackRemovalVtbl client_rt_removal_vtbl = {
    IUNKNOWN_METHODS, .OnRemoteTargetQueryRemove = client_on_query_remove,
    .OnRemoteTargetRemoveCanceled = client_on_remove_canceled, .OnRemoteTargetRemoveComplete = client_on_remove_complete
};
static com_object client_event = { &client_event_vtbl, NULL };
static com_object client_ri_removal = { &client_ri_removal_vtbl, NULL };
static com_object client_rt_removal = { &client_rt_removal_vtbl, NULL };
static void *client_ri_answer(REFIID riid)
{
    if (IsEqualGUID(riid, &IID_IRemoteInterfaceCallbackEvent))
        return &client_event;
    if (IsEqualGUID(riid, &IID_IRemoteInterfaceCallbackRemoval))
        return &client_ri_removal;
    return NULL;
}
static void *client_rt_answer(REFIID riid)
{
    return IsEqualGUID(riid, &IID_IRemoteTargetCallbackRemoval) ? &client_rt_removal : NULL;
}
static com_object client_ri_callbacks = { &plain_vtbl, client_ri_answer };
static com_object client_rt_callbacks = { &plain_vtbl, client_rt_answer };

/* The work item of step 3 of the arrival callback: the sensor is software-enumerated, so the
 * open must not happen inside the PnP callback. */
static void *open_remote_interface(void *unused)
{
    HRESULT hr = IWDFRemoteTarget_OpenRemoteInterface(remote_target, remote_interface, NULL, GENERIC_READ | GENERIC_WRITE,
                                                      NULL);
    printf("   client (work item): OpenRemoteInterface -> 0x%08x, target state %d (Started = 1)\n", (unsigned)hr,
           (int)IWDFRemoteTarget_GetState(remote_target));
    CHECK(hr == S_OK, "OpenRemoteInterface succeeds from a work item");
    return NULL;
}

static void client_on_arrival(IPnpCallbackRemoteInterfaceNotification *This, IWDFRemoteInterfaceInitialize *init)
{
    WCHAR link[256];
    DWORD length = ARRAYSIZE(link);
    GUID guid;
    HRESULT hr;

    IWDFRemoteInterfaceInitialize_GetInterfaceGuid(init, &guid);
    IWDFRemoteInterfaceInitialize_RetrieveSymbolicLink(init, link, &length);
    printf("   client: IPnpCallbackRemoteInterfaceNotification::OnRemoteInterfaceArrival\n"
           "           GetInterfaceGuid: %s; RetrieveSymbolicLink: %s\n",
           IsEqualGUID(&guid, &GUID_DEVINTERFACE_SENSOR) ? "GUID_DEVINTERFACE_SENSOR" : "another class", narrow(link));
    if (remote_interface)
        return; /* this client uses one sensor */
    /* 1. the remote interface, with the event and removal callbacks */
    hr = IWDFDevice2_CreateRemoteInterface(client_device, init, (IUnknown *)&client_ri_callbacks, &remote_interface);
    printf("           CreateRemoteInterface -> 0x%08x\n", (unsigned)hr);
    CHECK(hr == S_OK, "CreateRemoteInterface succeeds inside the arrival callback");
    /* 2. the remote target, with the target removal callbacks (created once, reused) */
    if (!remote_target) {
        hr = IWDFDevice2_CreateRemoteTarget(client_device, (IUnknown *)&client_rt_callbacks, NULL, &remote_target);
        printf("           CreateRemoteTarget -> 0x%08x (state %d, Closed = 4)\n", (unsigned)hr,
               (int)IWDFRemoteTarget_GetState(remote_target));
    }
    /* 3. the open, from a work item */
    if (remote_interface && remote_target && IWDFRemoteTarget_GetState(remote_target) == WdfIoTargetClosed &&
        pthread_create(&open_work_item, NULL, open_remote_interface, NULL) == 0)
        open_queued = true;
}

static const IPnpCallbackRemoteInterfaceNotificationVtbl client_rin_vtbl = {
    IUNKNOWN_METHODS, .OnRemoteInterfaceArrival = client_on_arrival
};
static com_object client_rin = { &client_rin_vtbl, NULL };
static void *client_device_answer(REFIID riid)
{
    return IsEqualGUID(riid, &IID_IPnpCallbackRemoteInterfaceNotification) ? &client_rin : NULL;
}
static com_object client_device_callbacks = { &plain_vtbl, client_device_answer };

static HRESULT client_on_initialize(IDriverEntry *This, IWDFDriver *driver) { return S_OK; }
static void client_on_deinitialize(IDriverEntry *This, IWDFDriver *driver) {}

static HRESULT client_on_device_add(IDriverEntry *This, IWDFDriver *driver, IWDFDeviceInitialize *init)
{
    IWDFDevice *device;
    HRESULT hr = IWDFDriver_CreateDevice(driver, init, (IUnknown *)&client_device_callbacks, &device);

    if (FAILED(hr))
        return hr;
    hr = IWDFDevice_QueryInterface(device, &IID_IWDFDevice2, (void **)&client_device);
    IWDFDevice_Release(device);
    if (FAILED(hr))
        return hr;
    IWDFDevice2_Release(client_device); /* weak from here on */
    hr = IWDFDevice2_RegisterRemoteInterfaceNotification(client_device, &GUID_DEVINTERFACE_SENSOR, TRUE);
    printf("   client: OnDeviceAdd: CreateDevice with IPnpCallbackRemoteInterfaceNotification, "
           "RegisterRemoteInterfaceNotification(GUID_DEVINTERFACE_SENSOR) -> 0x%08x\n",
           (unsigned)hr);
    return hr;
}

static const IDriverEntryVtbl client_entry_vtbl = { IUNKNOWN_METHODS, .OnInitialize = client_on_initialize,
                                                    .OnDeviceAdd = client_on_device_add,
                                                    .OnDeinitialize = client_on_deinitialize };
static com_object client_entry = { &client_entry_vtbl, NULL };

/* =============================================================================================
 * The demonstration
 * ============================================================================================= */

static VOID created(HSWDEVICE h, HRESULT result, PVOID context, PCWSTR id) { KeSetEvent(context, IO_NO_INCREMENT, FALSE); }

static HSWDEVICE add_device(PCWSTR name, PCZZWSTR hardware_ids)
{
    SW_DEVICE_CREATE_INFO info;
    HSWDEVICE h = NULL;
    KEVENT done;
    LARGE_INTEGER timeout = { .QuadPart = -50000000LL };

    memset(&info, 0, sizeof(info));
    info.cbSize = sizeof(info);
    info.pszInstanceId = name;
    info.pszzHardwareIds = hardware_ids;
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    if (SwDeviceCreate(u"DEMO", u"HTREE\\ROOT\\0", &info, 0, NULL, created, &done, &h) != S_OK)
        return NULL;
    KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, &timeout);
    PnpkitSimWaitIdle();
    return h;
}

static void wait_for_open(void)
{
    PnpkitSimWaitIdle();
    if (open_queued) {
        pthread_join(open_work_item, NULL);
        open_queued = false;
    }
}

/* Formats and sends an echo IOCTL on the remote target, synchronously. */
static HRESULT send_echo(char *text, char *reply, size_t reply_size)
{
    IWDFDriver *driver;
    IWDFIoRequest *request;
    IWDFMemory *in, *out;
    IWDFRequestCompletionParams *params = NULL;
    HRESULT hr;

    IWDFDevice2_RetrieveDriver(client_device, &driver);
    hr = IWDFDevice2_CreateRequest(client_device, NULL, NULL, &request);
    if (FAILED(hr))
        goto release_driver;
    hr = IWDFDriver_CreatePreallocatedWdfMemory(driver, (BYTE *)text, strlen(text) + 1, NULL, (IWDFObject *)request, &in);
    if (FAILED(hr))
        goto delete_request;
    hr = IWDFDriver_CreatePreallocatedWdfMemory(driver, (BYTE *)reply, reply_size, NULL, (IWDFObject *)request, &out);
    if (FAILED(hr))
        goto release_in;
    hr = IWDFRemoteTarget_FormatRequestForIoctl(remote_target, request, IOCTL_SENSOR_ECHO, NULL, in, NULL, out, NULL);
    if (SUCCEEDED(hr))
        hr = IWDFIoRequest_Send(request, (IWDFIoTarget *)remote_target, WDF_REQUEST_SEND_OPTION_SYNCHRONOUS, 0);
    if (SUCCEEDED(hr)) {
        IWDFIoRequest_GetCompletionParams(request, &params);
        hr = params ? IWDFRequestCompletionParams_GetCompletionStatus(params) : E_FAIL;
        if (params)
            IWDFRequestCompletionParams_Release(params);
    }
    IWDFMemory_Release(out);
release_in:
    IWDFMemory_Release(in);
delete_request:
    IWDFIoRequest_DeleteWdfObject(request);
    IWDFIoRequest_Release(request);
release_driver:
    IWDFDriver_Release(driver);
    return hr;
}

int main(void)
{
    HSWDEVICE sensor, client;
    DEVINST sensor_node;
    char reply[32] = { 0 }, hello[] = "hello sensor", still[] = "still here";
    static BYTE event_data[] = "calibrated";
    static WCHAR sensor_id[] = u"SWD\\DEMO\\sensor0";
    IWDFRemoteTarget *late;
    HRESULT hr;

    printf("\numdf1_client: seed 001, Using Device Interfaces in UMDF Drivers, step by step\n\n");
    PnpkitUmdf1DriverRegister(u"sensor", (IDriverEntry *)&sensor_entry, u"DEMO\\SENSOR\0");
    PnpkitUmdf1DriverRegister(u"client", (IDriverEntry *)&client_entry, u"DEMO\\CLIENT\0");

    printf("1. Registering a device interface: the sensor device appears\n");
    sensor = add_device(u"sensor0", u"DEMO\\SENSOR\0");
    CM_Locate_DevNodeW(&sensor_node, sensor_id, 0);

    printf("\n2. Accessing another driver's device interface: the client device appears\n");
    client = add_device(u"client0", u"DEMO\\CLIENT\0");
    wait_for_open();
    CHECK(remote_interface && remote_target, "the arrival created the remote interface and target");
    if (!remote_interface || !remote_target)
        return 1;

    printf("\n3. Sending I/O to the remote I/O target\n");
    hr = send_echo(hello, reply, sizeof(reply));
    printf("   client: IOCTL completed with 0x%08x, reply \"%s\"\n", (unsigned)hr, reply);
    CHECK(hr == S_OK && strcmp(reply, "hello sensor") == 0, "the echo comes back");

    printf("\n4. Creating device events: the sensor posts one\n");
    hr = IWDFDevice_PostEvent(sensor_device, &GUID_SENSOR_EVENT, WdfEventBroadcast, event_data, 10);
    printf("   sensor: PostEvent -> 0x%08x\n", (unsigned)hr);
    PnpkitSimWaitIdle();
    CHECK(events_seen == 1, "the event reached OnRemoteInterfaceEvent");

    printf("\n5. Disabling the interface with AssignDeviceInterfaceState(FALSE)\n");
    hr = IWDFDevice_AssignDeviceInterfaceState(sensor_device, &GUID_DEVINTERFACE_SENSOR, u"ref1", FALSE);
    printf("   sensor: AssignDeviceInterfaceState(FALSE) -> 0x%08x\n", (unsigned)hr);
    PnpkitSimWaitIdle();
    CHECK(removals_seen == 1, "the client heard of the removal");
    IWDFDevice2_CreateRemoteTarget(client_device, NULL, NULL, &late);
    {
        WCHAR link[256];
        DWORD length = ARRAYSIZE(link);
        PZZWSTR list = NULL;
        IoGetDeviceInterfaces(&GUID_DEVINTERFACE_SENSOR, NULL, DEVICE_INTERFACE_INCLUDE_NONACTIVE, &list);
        if (list) {
            length = (DWORD)PnpkitWcsLen(list);
            memcpy(link, list, (length + 1) * sizeof(WCHAR));
            ExFreePool(list);
            hr = IWDFRemoteTarget_OpenFileByName(late, link, GENERIC_READ, NULL);
            printf("   a new open of the disabled interface -> 0x%08x (HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND))\n",
                   (unsigned)hr);
            CHECK(hr == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND), "new opens are refused");
        }
    }
    IWDFRemoteTarget_DeleteWdfObject(late);
    IWDFRemoteTarget_Release(late);
    memset(reply, 0, sizeof(reply));
    hr = send_echo(still, reply, sizeof(reply));
    printf("   the handle opened before still works: 0x%08x, reply \"%s\"\n", (unsigned)hr, reply);
    CHECK(hr == S_OK, "existing handles are not affected");

    printf("\n6. Re-enabling it with AssignDeviceInterfaceState(TRUE)\n");
    hr = IWDFDevice_AssignDeviceInterfaceState(sensor_device, &GUID_DEVINTERFACE_SENSOR, u"ref1", TRUE);
    printf("   sensor: AssignDeviceInterfaceState(TRUE) -> 0x%08x\n", (unsigned)hr);
    PnpkitSimWaitIdle();
    CHECK(remote_interface != NULL, "the arrival came again");

    printf("\n7. The sensor is ejected (query-remove, then removal)\n");
    CM_Query_And_Remove_SubTreeW(sensor_node, NULL, NULL, 0, 0);
    PnpkitSimWaitIdle();
    printf("   client: remote target state %d (Closed = 4)\n", (int)IWDFRemoteTarget_GetState(remote_target));
    CHECK(IWDFRemoteTarget_GetState(remote_target) == WdfIoTargetClosed, "the target closed with the removal");
    CHECK(removals_seen == 2, "the interface removal was reported");

    printf("\n8. Cleaning up\n");
    if (remote_interface)
        IWDFRemoteInterface_Release(remote_interface);
    IWDFRemoteTarget_Release(remote_target);
    SwDeviceClose(sensor);
    SwDeviceClose(client);
    PnpkitSimWaitIdle();
    PnpkitShutdown();
    PnpkitUmdf1DriverUnregister(u"client");
    PnpkitUmdf1DriverUnregister(u"sensor");
    printf("   framework objects alive: %u, callback references held by the framework: %d\n", PnpkitLiveObjectCount(),
           (int)callback_refs);
    CHECK(PnpkitLiveObjectCount() == 0 && callback_refs == 0, "everything was released");
    printf("\numdf1_client: %s\n", failures ? "FAILED" : "every step behaved as seed 001 describes");
    return failures ? 1 : 0;
}
