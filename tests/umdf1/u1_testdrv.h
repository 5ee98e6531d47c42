/*
 * u1_testdrv.h — two UMDF 1 drivers for the tests of the umdf1 layer (every function static).
 *
 * The provider (hardware id U1\PROVIDER) registers an interface of U1_GUID with the reference
 * string u1cfg.ref from OnDeviceAdd and has one default queue whose callback object answers
 * IQueueCallbackCreate (logs "prov:create:<file name>"), ...DeviceIoControl (echo; logs
 * "prov:ioctl"), ...Read (fills with 'r') and ...Write.
 *
 * The client (hardware id U1\CLIENT) follows seed 001: its CreateDevice callback object answers
 * IPnpCallbackRemoteInterfaceNotification (unless u1cfg.no_rin); it registers for U1_GUID in
 * OnDeviceAdd; OnRemoteInterfaceArrival logs "client:arrival:<link>", creates the remote
 * interface and the remote target (kept in u1st.ri[] / u1st.rt[], one reference each, which the
 * test releases with u1_release_remotes) and, with u1cfg.open_in_arrival, opens the target.
 *
 * Every callback object is static; the callbacks count AddRef/Release in u1_callback_refs,
 * which returns to 0 once the framework let go of every callback interface it took.
 */
#ifndef U1_TESTDRV_H
#define U1_TESTDRV_H

#include "pk_testdrv.h"
#include <pnpkit/wudfddi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define U1_UNUSED __attribute__((unused))

DEFINE_GUID(U1_GUID, 0x5e1f0a11, 0x1234, 0x4abc, 0x8d, 0x01, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55);
DEFINE_GUID(U1_OTHER_GUID, 0x5e1f0a12, 0x1234, 0x4abc, 0x8d, 0x01, 0x00, 0x11, 0x22, 0x33, 0x44, 0x56);
DEFINE_GUID(U1_EVENT_GUID, 0x5e1f0a13, 0x1234, 0x4abc, 0x8d, 0x01, 0x00, 0x11, 0x22, 0x33, 0x44, 0x57);

#define U1_IOCTL_ECHO CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define U1_PROVIDER_HWID u"U1\\PROVIDER\0"
#define U1_CLIENT_HWID u"U1\\CLIENT\0"
#define U1_MAX 8

typedef struct u1_config {
    PCWSTR ref;                 /* the provider's reference string (NULL: none) */
    PCWSTR ref2;                /* a second instance of U1_GUID with this reference string */
    bool no_rin;                /* the client's device callback lacks IPnpCallbackRemoteInterfaceNotification */
    BOOL include_existing;      /* RegisterRemoteInterfaceNotification's second argument */
    bool no_register;           /* the client does not register in OnDeviceAdd */
    bool no_create;             /* the arrival callback creates nothing */
    bool open_in_arrival;       /* OpenRemoteInterface from inside the arrival callback */
    bool keep_init;             /* AddRef the Init and keep it in u1st.init */
    bool ri_event, ri_removal;  /* the remote interface's callback object answers these */
    bool rt_removal;            /* the remote target's callback object answers IRemoteTargetCallbackRemoval */
    bool veto;                  /* OnRemoteTargetQueryRemove returns FALSE */
    bool removal_keeps_object;  /* OnRemoteInterfaceRemoval does not delete the object */
} u1_config;

typedef struct u1_state {
    IWDFDevice *prov_device;    /* weak: valid while the provider's device exists */
    IWDFDevice2 *client_device; /* weak */
    HRESULT register_hr;
    int arrivals;
    IWDFRemoteInterface *ri[U1_MAX]; /* one reference each */
    IWDFRemoteTarget *rt[U1_MAX];    /* one reference each */
    IWDFRemoteInterfaceInitialize *init; /* with keep_init: one reference */
    HRESULT create_ri_hr, create_rt_hr, open_hr;
    GUID arrival_guid;
    WCHAR arrival_link[256];
    DWORD link_len_null;        /* RetrieveSymbolicLink(NULL, &0) */
    HRESULT link_small_hr;      /* RetrieveSymbolicLink with a 4-character buffer */
    DWORD link_small_len;
    char file_name[128];        /* the last OnCreateFile's RetrieveFileName, UTF-8 */
    DWORD file_len_null;
    HRESULT file_small_hr;
    int events;
    GUID event_guid;
    BYTE event_data[64];
    DWORD event_size, event_offset;
    int ri_removals;
    volatile LONG ioctls, creates;
    /* What the last OnCreateFile saw: the request's file is the callback's, and the file's and
     * the queue's device is the provider's device. */
    bool create_same_file, create_same_device, create_queue_device, create_type_ok;
} u1_state;

static u1_config u1cfg;
static u1_state u1st;
static volatile LONG u1_callback_refs;

static U1_UNUSED void u1_reset(void)
{
    memset(&u1cfg, 0, sizeof(u1cfg));
    memset(&u1st, 0, sizeof(u1st));
    u1_callback_refs = 0;
    u1cfg.include_existing = TRUE;
    u1cfg.ref = u"ref1";
    pk_log_clear();
}

static char *u1_utf8(PCWSTR s)
{
    static __thread char buf[512];
    size_t i = 0;
    for (; s && s[i] && i < sizeof(buf) - 1; i++)
        buf[i] = s[i] < 128 ? (char)s[i] : '?';
    buf[i] = 0;
    return buf;
}

/* ---- Static COM objects ---- */

typedef struct tobj {
    const void *vtbl;
    void *(*answer)(REFIID riid);
} tobj;

static HRESULT t_qi(void *This, REFIID riid, void **ppv)
{
    tobj *o = This;
    void *p = IsEqualGUID(riid, &IID_IUnknown) ? This : o->answer ? o->answer(riid) : NULL;

    if (!ppv)
        return E_POINTER;
    if (!p) {
        *ppv = NULL;
        return E_NOINTERFACE;
    }
    __atomic_add_fetch(&u1_callback_refs, 1, __ATOMIC_SEQ_CST);
    *ppv = p;
    return S_OK;
}
static ULONG t_addref(void *This) { return (ULONG)__atomic_add_fetch(&u1_callback_refs, 1, __ATOMIC_SEQ_CST); }
static ULONG t_release(void *This) { return (ULONG)__atomic_sub_fetch(&u1_callback_refs, 1, __ATOMIC_SEQ_CST); }
#define U1_IUNKNOWN .QueryInterface = (void *)t_qi, .AddRef = (void *)t_addref, .Release = (void *)t_release

/* ---- Provider ---- */

static void prov_on_create(IQueueCallbackCreate *This, IWDFIoQueue *q, IWDFIoRequest *r, IWDFFile *f)
{
    WCHAR name[128], tiny[1];
    DWORD len = 0;

    IWDFFile_RetrieveFileName(f, NULL, &len);
    u1st.file_len_null = len;
    len = 1;
    u1st.file_small_hr = IWDFFile_RetrieveFileName(f, tiny, &len);
    len = ARRAYSIZE(name);
    if (SUCCEEDED(IWDFFile_RetrieveFileName(f, name, &len)))
        snprintf(u1st.file_name, sizeof(u1st.file_name), "%s", u1_utf8(name));
    {
        IWDFFile *rf = NULL;
        IWDFDevice *fd = NULL, *qd = NULL;
        IWDFIoRequest_GetFileObject(r, &rf);
        IWDFFile_RetrieveDevice(f, &fd);
        IWDFIoQueue_GetDevice(q, &qd);
        u1st.create_same_file = rf == f;
        u1st.create_same_device = fd != NULL && fd == u1st.prov_device;
        u1st.create_queue_device = qd != NULL && qd == u1st.prov_device;
        u1st.create_type_ok = IWDFIoRequest_GetType(r) == WdfRequestTypeCreate;
        if (rf)
            IWDFFile_Release(rf);
        if (fd)
            IWDFDevice_Release(fd);
        if (qd)
            IWDFDevice_Release(qd);
    }
    __atomic_add_fetch(&u1st.creates, 1, __ATOMIC_SEQ_CST);
    pk_log("prov:create:%s", u1st.file_name);
    IWDFIoRequest_Complete(r, S_OK);
}

static void prov_on_ioctl(IQueueCallbackDeviceIoControl *This, IWDFIoQueue *q, IWDFIoRequest *r, ULONG code, SIZE_T in,
                          SIZE_T out)
{
    IWDFMemory *mi = NULL, *mo = NULL;
    SIZE_T n = in < out ? in : out;
    BYTE tmp[256];

    __atomic_add_fetch(&u1st.ioctls, 1, __ATOMIC_SEQ_CST);
    pk_log("prov:ioctl:%zu:%zu", (size_t)in, (size_t)out);
    IWDFIoRequest_GetInputMemory(r, &mi);
    IWDFIoRequest_GetOutputMemory(r, &mo);
    if (n > sizeof(tmp))
        n = sizeof(tmp);
    if (mi && mo && n) {
        IWDFMemory_CopyToBuffer(mi, 0, tmp, n);
        IWDFMemory_CopyFromBuffer(mo, 0, tmp, n);
    }
    if (mi)
        IWDFMemory_Release(mi);
    if (mo)
        IWDFMemory_Release(mo);
    IWDFIoRequest_CompleteWithInformation(r, S_OK, n);
}

static void prov_on_read(IQueueCallbackRead *This, IWDFIoQueue *q, IWDFIoRequest *r, SIZE_T n)
{
    IWDFMemory *mo = NULL;
    SIZE_T size = 0;
    BYTE *p;

    IWDFIoRequest_GetOutputMemory(r, &mo);
    p = mo ? IWDFMemory_GetDataBuffer(mo, &size) : NULL;
    if (p)
        memset(p, 'r', size);
    if (mo)
        IWDFMemory_Release(mo);
    IWDFIoRequest_CompleteWithInformation(r, S_OK, size);
}

static void prov_on_write(IQueueCallbackWrite *This, IWDFIoQueue *q, IWDFIoRequest *r, SIZE_T n)
{
    IWDFIoRequest_CompleteWithInformation(r, S_OK, n);
}

static const IQueueCallbackCreateVtbl prov_create_vtbl = { U1_IUNKNOWN, .OnCreateFile = prov_on_create };
static const IQueueCallbackDeviceIoControlVtbl prov_ioctl_vtbl = { U1_IUNKNOWN, .OnDeviceIoControl = prov_on_ioctl };
static const IQueueCallbackReadVtbl prov_read_vtbl = { U1_IUNKNOWN, .OnRead = prov_on_read };
static const IQueueCallbackWriteVtbl prov_write_vtbl = { U1_IUNKNOWN, .OnWrite = prov_on_write };
static tobj prov_create = { &prov_create_vtbl, NULL };
static tobj prov_ioctl = { &prov_ioctl_vtbl, NULL };
static tobj prov_read = { &prov_read_vtbl, NULL };
static tobj prov_write = { &prov_write_vtbl, NULL };

static void *prov_queue_answer(REFIID riid)
{
    if (IsEqualGUID(riid, &IID_IQueueCallbackCreate))
        return &prov_create;
    if (IsEqualGUID(riid, &IID_IQueueCallbackDeviceIoControl))
        return &prov_ioctl;
    if (IsEqualGUID(riid, &IID_IQueueCallbackRead))
        return &prov_read;
    if (IsEqualGUID(riid, &IID_IQueueCallbackWrite))
        return &prov_write;
    return NULL;
}
static const IUnknownVtbl plain_unknown_vtbl = { U1_IUNKNOWN };
static tobj prov_queue_cb = { &plain_unknown_vtbl, prov_queue_answer };
static tobj prov_device_cb = { &plain_unknown_vtbl, NULL };

static HRESULT prov_on_initialize(IDriverEntry *This, IWDFDriver *d) { return S_OK; }
static void prov_on_deinitialize(IDriverEntry *This, IWDFDriver *d) { pk_log("prov:deinitialize"); }

static HRESULT prov_on_device_add(IDriverEntry *This, IWDFDriver *d, IWDFDeviceInitialize *init)
{
    IWDFDevice *dev;
    IWDFIoQueue *q;
    HRESULT hr = IWDFDriver_CreateDevice(d, init, (IUnknown *)&prov_device_cb, &dev);

    if (FAILED(hr))
        return hr;
    hr = IWDFDevice_CreateDeviceInterface(dev, &U1_GUID, u1cfg.ref);
    if (SUCCEEDED(hr) && u1cfg.ref2)
        hr = IWDFDevice_CreateDeviceInterface(dev, &U1_GUID, u1cfg.ref2);
    if (SUCCEEDED(hr))
        hr = IWDFDevice_CreateIoQueue(dev, (IUnknown *)&prov_queue_cb, TRUE, WdfIoQueueDispatchParallel, FALSE, FALSE, &q);
    if (SUCCEEDED(hr))
        IWDFIoQueue_Release(q);
    pk_log("prov:device-add:%08x", (unsigned)hr);
    u1st.prov_device = dev; /* weak: the framework keeps the device while it exists */
    IWDFDevice_Release(dev);
    return hr;
}

static const IDriverEntryVtbl prov_entry_vtbl = {
    U1_IUNKNOWN, .OnInitialize = prov_on_initialize, .OnDeviceAdd = prov_on_device_add, .OnDeinitialize = prov_on_deinitialize
};
static tobj prov_entry = { &prov_entry_vtbl, NULL };

/* ---- Client ---- */

static void client_on_event(IRemoteInterfaceCallbackEvent *This, IWDFRemoteInterface *ri, REFGUID g, BYTE *data, DWORD size,
                            DWORD offset)
{
    u1st.events++;
    u1st.event_guid = *g;
    u1st.event_size = size;
    u1st.event_offset = offset;
    memcpy(u1st.event_data, data, size < sizeof(u1st.event_data) ? size : sizeof(u1st.event_data));
    pk_log("client:event:%u", (unsigned)size);
}

static int u1_slot_of(IWDFRemoteInterface *ri)
{
    for (int i = 0; i < U1_MAX; i++)
        if (u1st.ri[i] == ri)
            return i;
    return -1;
}

static void client_on_ri_removal(IRemoteInterfaceCallbackRemoval *This, IWDFRemoteInterface *ri)
{
    int slot = u1_slot_of(ri);

    u1st.ri_removals++;
    pk_log("client:ri-removal");
    if (u1cfg.removal_keeps_object)
        return;
    IWDFRemoteInterface_DeleteWdfObject(ri);
    if (slot >= 0) {
        u1st.ri[slot] = NULL;
        IWDFRemoteInterface_Release(ri);
    }
}

static BOOL client_on_query_remove(IRemoteTargetCallbackRemoval *This, IWDFRemoteTarget *t)
{
    pk_log("client:rt-query-remove");
    if (u1cfg.veto)
        return FALSE;
    IWDFRemoteTarget_CloseForQueryRemove(t);
    return TRUE;
}
static void client_on_remove_canceled(IRemoteTargetCallbackRemoval *This, IWDFRemoteTarget *t)
{
    pk_log("client:rt-remove-canceled");
    IWDFRemoteTarget_Reopen(t);
}
static void client_on_remove_complete(IRemoteTargetCallbackRemoval *This, IWDFRemoteTarget *t)
{
    pk_log("client:rt-remove-complete");
    IWDFRemoteTarget_Close(t);
}

static const IRemoteInterfaceCallbackEventVtbl client_event_vtbl = { U1_IUNKNOWN, .OnRemoteInterfaceEvent = client_on_event };
static const IRemoteInterfaceCallbackRemovalVtbl client_ri_removal_vtbl = { U1_IUNKNOWN,
                                                                            .OnRemoteInterfaceRemoval = client_on_ri_removal };
static const IRemoteTargetCallbackRemovalVtbl client_rt_removal_vtbl = {
    U1_IUNKNOWN, .OnRemoteTargetQueryRemove = client_on_query_remove,
    .OnRemoteTargetRemoveCanceled = client_on_remove_canceled, .OnRemoteTargetRemoveComplete = client_on_remove_complete
};
static tobj client_event = { &client_event_vtbl, NULL };
static tobj client_ri_removal = { &client_ri_removal_vtbl, NULL };
static tobj client_rt_removal = { &client_rt_removal_vtbl, NULL };

static void *client_ri_answer(REFIID riid)
{
    if (u1cfg.ri_event && IsEqualGUID(riid, &IID_IRemoteInterfaceCallbackEvent))
        return &client_event;
    if (u1cfg.ri_removal && IsEqualGUID(riid, &IID_IRemoteInterfaceCallbackRemoval))
        return &client_ri_removal;
    return NULL;
}
static void *client_rt_answer(REFIID riid)
{
    if (u1cfg.rt_removal && IsEqualGUID(riid, &IID_IRemoteTargetCallbackRemoval))
        return &client_rt_removal;
    return NULL;
}
static tobj client_ri_cb = { &plain_unknown_vtbl, client_ri_answer };
static tobj client_rt_cb = { &plain_unknown_vtbl, client_rt_answer };

static void client_on_arrival(IPnpCallbackRemoteInterfaceNotification *This, IWDFRemoteInterfaceInitialize *init)
{
    int n = u1st.arrivals++;
    DWORD len = 0;
    WCHAR small[4];

    IWDFRemoteInterfaceInitialize_GetInterfaceGuid(init, &u1st.arrival_guid);
    IWDFRemoteInterfaceInitialize_RetrieveSymbolicLink(init, NULL, &len);
    u1st.link_len_null = len;
    len = ARRAYSIZE(small);
    u1st.link_small_hr = IWDFRemoteInterfaceInitialize_RetrieveSymbolicLink(init, small, &len);
    u1st.link_small_len = len;
    len = ARRAYSIZE(u1st.arrival_link);
    IWDFRemoteInterfaceInitialize_RetrieveSymbolicLink(init, u1st.arrival_link, &len);
    pk_log("client:arrival:%s", u1_utf8(u1st.arrival_link));
    if (u1cfg.keep_init && !u1st.init) {
        IWDFRemoteInterfaceInitialize_AddRef(init);
        u1st.init = init;
    }
    if (u1cfg.no_create || n >= U1_MAX)
        return;
    u1st.create_ri_hr = IWDFDevice2_CreateRemoteInterface(u1st.client_device, init, (IUnknown *)&client_ri_cb, &u1st.ri[n]);
    u1st.create_rt_hr = IWDFDevice2_CreateRemoteTarget(u1st.client_device, (IUnknown *)&client_rt_cb, NULL, &u1st.rt[n]);
    if (u1cfg.open_in_arrival && u1st.ri[n] && u1st.rt[n])
        u1st.open_hr = IWDFRemoteTarget_OpenRemoteInterface(u1st.rt[n], u1st.ri[n], NULL, GENERIC_READ | GENERIC_WRITE, NULL);
}

static const IPnpCallbackRemoteInterfaceNotificationVtbl client_rin_vtbl = { U1_IUNKNOWN,
                                                                             .OnRemoteInterfaceArrival = client_on_arrival };
static tobj client_rin = { &client_rin_vtbl, NULL };
static void *client_device_answer(REFIID riid)
{
    if (!u1cfg.no_rin && IsEqualGUID(riid, &IID_IPnpCallbackRemoteInterfaceNotification))
        return &client_rin;
    return NULL;
}
static tobj client_device_cb = { &plain_unknown_vtbl, client_device_answer };

static HRESULT client_on_initialize(IDriverEntry *This, IWDFDriver *d) { return S_OK; }
static void client_on_deinitialize(IDriverEntry *This, IWDFDriver *d) { pk_log("client:deinitialize"); }

static HRESULT client_on_device_add(IDriverEntry *This, IWDFDriver *d, IWDFDeviceInitialize *init)
{
    IWDFDevice *dev;
    IWDFDevice2 *dev2;
    HRESULT hr = IWDFDriver_CreateDevice(d, init, (IUnknown *)&client_device_cb, &dev);

    if (FAILED(hr))
        return hr;
    hr = IWDFDevice_QueryInterface(dev, &IID_IWDFDevice2, (void **)&dev2);
    IWDFDevice_Release(dev);
    if (FAILED(hr))
        return hr;
    u1st.client_device = dev2; /* weak */
    if (!u1cfg.no_register)
        u1st.register_hr = IWDFDevice2_RegisterRemoteInterfaceNotification(dev2, &U1_GUID, u1cfg.include_existing);
    IWDFDevice2_Release(dev2);
    return S_OK;
}

static const IDriverEntryVtbl client_entry_vtbl = {
    U1_IUNKNOWN, .OnInitialize = client_on_initialize, .OnDeviceAdd = client_on_device_add,
    .OnDeinitialize = client_on_deinitialize
};
static tobj client_entry = { &client_entry_vtbl, NULL };

/* ---- Registration and devices ---- */

static bool u1_prov_registered, u1_client_registered;

static U1_UNUSED void u1_register_provider(void)
{
    assert_int_equal(PnpkitUmdf1DriverRegister(u"u1prov", (IDriverEntry *)&prov_entry, U1_PROVIDER_HWID), STATUS_SUCCESS);
    u1_prov_registered = true;
}

static U1_UNUSED void u1_register_client(void)
{
    assert_int_equal(PnpkitUmdf1DriverRegister(u"u1client", (IDriverEntry *)&client_entry, U1_CLIENT_HWID), STATUS_SUCCESS);
    u1_client_registered = true;
}

typedef struct u1_create_wait {
    KEVENT done;
} u1_create_wait;

static VOID u1_created(HSWDEVICE h, HRESULT result, PVOID ctx, PCWSTR id)
{
    KeSetEvent(&((u1_create_wait *)ctx)->done, IO_NO_INCREMENT, FALSE);
}

/* Creates SWD\U1\<name> with the given hardware ids and waits until the PnP worker is idle. */
static U1_UNUSED HSWDEVICE u1_device_create(PCWSTR name, PCZZWSTR hwids, DEVINST *devinst)
{
    SW_DEVICE_CREATE_INFO info;
    HSWDEVICE h = NULL;
    u1_create_wait w;

    memset(&info, 0, sizeof(info));
    info.cbSize = sizeof(info);
    info.pszInstanceId = name;
    info.pszzHardwareIds = hwids;
    KeInitializeEvent(&w.done, NotificationEvent, FALSE);
    assert_int_equal(SwDeviceCreate(u"U1", u"HTREE\\ROOT\\0", &info, 0, NULL, u1_created, &w, &h), S_OK);
    pk_test_wait_event(&w.done);
    PnpkitSimWaitIdle();
    if (devinst) {
        WCHAR id[MAX_DEVICE_ID_LEN];
        size_t n = PnpkitWcsLen(name);
        memcpy(id, u"SWD\\U1\\", 7 * sizeof(WCHAR));
        memcpy(id + 7, name, (n + 1) * sizeof(WCHAR));
        assert_int_equal(CM_Locate_DevNodeW(devinst, id, 0), CR_SUCCESS);
    }
    return h;
}

static U1_UNUSED void u1_device_close(HSWDEVICE h)
{
    SwDeviceClose(h);
    PnpkitSimWaitIdle();
}

/* Releases the test's references on the remote interfaces and targets. */
static U1_UNUSED void u1_release_remotes(void)
{
    for (int i = 0; i < U1_MAX; i++) {
        if (u1st.rt[i])
            IWDFRemoteTarget_Release(u1st.rt[i]);
        if (u1st.ri[i])
            IWDFRemoteInterface_Release(u1st.ri[i]);
        u1st.rt[i] = NULL;
        u1st.ri[i] = NULL;
    }
    if (u1st.init)
        IWDFRemoteInterfaceInitialize_Release(u1st.init);
    u1st.init = NULL;
}

/* A remote target of the client device created by the test (outside any callback). */
static U1_UNUSED IWDFRemoteTarget *u1_new_target(void)
{
    IWDFRemoteTarget *t = NULL;
    assert_int_equal(IWDFDevice2_CreateRemoteTarget(u1st.client_device, NULL, NULL, &t), S_OK);
    return t;
}

/* Unregisters the drivers and checks that every callback reference was released. */
static U1_UNUSED void u1_teardown(void)
{
    u1_release_remotes();
    PnpkitSimWaitIdle();
    PnpkitShutdown();
    if (u1_client_registered)
        assert_int_equal(PnpkitUmdf1DriverUnregister(u"u1client"), STATUS_SUCCESS);
    if (u1_prov_registered)
        assert_int_equal(PnpkitUmdf1DriverUnregister(u"u1prov"), STATUS_SUCCESS);
    u1_client_registered = u1_prov_registered = false;
    assert_int_equal(u1_callback_refs, 0);
}

/* Sends an echo IOCTL through target t: returns the send's HRESULT; *status and *info get the
 * completion. */
static U1_UNUSED HRESULT u1_echo(IWDFRemoteTarget *t, const char *text, char *reply, size_t reply_size, HRESULT *status,
                                 ULONG_PTR *info)
{
    IWDFDriver *drv;
    IWDFIoRequest *r;
    IWDFMemory *in, *out;
    IWDFRequestCompletionParams *p = NULL;
    HRESULT hr;

    IWDFDevice2_RetrieveDriver(u1st.client_device, &drv);
    assert_int_equal(IWDFDevice2_CreateRequest(u1st.client_device, NULL, NULL, &r), S_OK);
    assert_int_equal(IWDFDriver_CreatePreallocatedWdfMemory(drv, (BYTE *)text, strlen(text) + 1, NULL, (IWDFObject *)r, &in),
                     S_OK);
    assert_int_equal(IWDFDriver_CreatePreallocatedWdfMemory(drv, (BYTE *)reply, reply_size, NULL, (IWDFObject *)r, &out),
                     S_OK);
    hr = IWDFRemoteTarget_FormatRequestForIoctl(t, r, U1_IOCTL_ECHO, NULL, in, NULL, out, NULL);
    if (SUCCEEDED(hr))
        hr = IWDFIoRequest_Send(r, (IWDFIoTarget *)t, WDF_REQUEST_SEND_OPTION_SYNCHRONOUS, 0);
    if (SUCCEEDED(hr)) {
        IWDFIoRequest_GetCompletionParams(r, &p);
        assert_non_null(p);
        if (status)
            *status = IWDFRequestCompletionParams_GetCompletionStatus(p);
        if (info)
            *info = IWDFRequestCompletionParams_GetInformation(p);
        IWDFRequestCompletionParams_Release(p);
    }
    IWDFMemory_Release(in);
    IWDFMemory_Release(out);
    assert_int_equal(IWDFIoRequest_DeleteWdfObject(r), S_OK);
    IWDFIoRequest_Release(r);
    IWDFDriver_Release(drv);
    return hr;
}

/* The usual setup: provider and client registered, provider device first, then the client. */
static U1_UNUSED void u1_start_both(HSWDEVICE *prov, HSWDEVICE *client, DEVINST *prov_dn)
{
    u1_register_provider();
    u1_register_client();
    *prov = u1_device_create(u"prov", U1_PROVIDER_HWID, prov_dn);
    *client = u1_device_create(u"client", U1_CLIENT_HWID, NULL);
}

static U1_UNUSED HRESULT u1_open(int i, PCWSTR relative)
{
    return IWDFRemoteTarget_OpenRemoteInterface(u1st.rt[i], u1st.ri[i], relative, GENERIC_READ | GENERIC_WRITE, NULL);
}

#endif /* U1_TESTDRV_H */
