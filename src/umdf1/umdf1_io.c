/*
 * umdf1_io.c — the I/O interfaces: IWDFIoQueue (and the dispatch of its requests to the queue
 * callbacks), IWDFIoRequest (presented and created requests, sending, completion),
 * IWDFRequestCompletionParams, IWDFFile and IWDFMemory.
 *
 * Every UMDF 1 queue is a WDF queue whose EvtIoDefault (u1_io_default) presents each request to
 * the callback interface that fits its type. Files and presented requests are WDF objects the
 * framework creates; their wrappers are made on first use and bound through the u1_ctx context
 * the device's file and request attributes give them (u1_io_setup_device_init).
 *
 * Locking: u1_lock for the wrapper fields marked so. Who frees what: a request in flight
 * (asynchronous send) holds a reference on its wrapper and on the target's wrapper until its
 * completion callback returned; a memory view holds nothing (it is valid until its request
 * completes, as the header says).
 */
#include "umdf1/umdf1_internal.h"

#include <string.h>

typedef struct u1_queue {
    u1_object base;
    u1_device *device;            /* not referenced: the device outlives its queues */
    IUnknown *callback;           /* referenced */
    IQueueCallbackCreate *on_create;
    IQueueCallbackDeviceIoControl *on_ioctl;
    IQueueCallbackRead *on_read;
    IQueueCallbackWrite *on_write;
    IQueueCallbackDefaultIoHandler *on_default;
} u1_queue;

typedef struct u1_request {
    u1_object base;
    bool created;                 /* CreateRequest (else presented by a queue) */
    WDF_REQUEST_TYPE formatted;   /* u1_lock: created requests: the last Format's type */
    /* u1_lock: */
    IRequestCallbackRequestCompletion *on_completion; /* referenced */
    void *completion_context;
    bool have_result;
    HRESULT result;
    ULONG_PTR information;
    WDF_REQUEST_TYPE result_type;
} u1_request;

typedef struct u1_params {
    u1_object base;
    HRESULT status;
    ULONG_PTR information;
    WDF_REQUEST_TYPE type;
} u1_params;

typedef struct u1_memory {
    u1_object base;
    bool view;                    /* a request's buffer (no WDF object) */
    void *buffer;                 /* view only */
    size_t size;                  /* view only */
} u1_memory;

typedef struct u1_file {
    u1_object base;
} u1_file;

static const IWDFRequestCompletionParamsVtbl u1_params_vtbl;

/* ---- Device setup ---- */

void u1_io_setup_device_init(PWDFDEVICE_INIT init, WDF_TRI_STATE autoforward)
{
    WDF_FILEOBJECT_CONFIG config;
    WDF_OBJECT_ATTRIBUTES file_attributes, request_attributes;

    /* A file object per open (UMDF 1 always has one): IWDFFile wraps it. No file callbacks:
     * creates go to the queue whose callback object answers IQueueCallbackCreate. */
    WDF_FILEOBJECT_CONFIG_INIT(&config, NULL, NULL, NULL);
    config.AutoForwardCleanupClose = autoforward;
    u1_attributes_init(&file_attributes, NULL);
    WdfDeviceInitSetFileObjectConfig(init, &config, &file_attributes);
    u1_attributes_init(&request_attributes, NULL);
    WdfDeviceInitSetRequestAttributes(init, &request_attributes);
}

/* =============================================================================================
 * IWDFFile
 * ============================================================================================= */

static IWDFFile *file_wrap(WDFFILEOBJECT f)
{
    u1_object *o, *have;

    if (!f)
        return NULL;
    o = u1_object_from_wdf(f);
    if (o)
        return (IWDFFile *)o;
    o = u1_object_alloc(sizeof(u1_file), U1_FILE, &u1_file_vtbl, true);
    if (!o)
        return NULL;
    have = u1_object_bind_or_get(o, f);
    if (have != o)
        u1_release(o);
    return (IWDFFile *)have;
}

static HRESULT file_retrieve_name(IWDFFile *This, PWSTR buffer, DWORD *length)
{
    WDFFILEOBJECT f = (WDFFILEOBJECT)u1_object_handle((u1_object *)This);
    PUNICODE_STRING name;

    if (!length)
        return E_POINTER;
    if (!f)
        return U1_E_GONE;
    name = WdfFileObjectGetFileName(f);
    return u1_copy_string(name ? name->Buffer : NULL, name ? name->Length / sizeof(WCHAR) : 0, buffer, length);
}

static void file_retrieve_device(IWDFFile *This, IWDFDevice **pp)
{
    WDFFILEOBJECT f = (WDFFILEOBJECT)u1_object_handle((u1_object *)This);
    u1_device *dev;

    if (!pp || !f)
        return;
    dev = u1_device_of_wdf(WdfFileObjectGetDevice(f));
    if (!dev)
        return;
    u1_addref(dev);
    *pp = (IWDFDevice *)dev;
}

const IWDFFileVtbl u1_file_vtbl = {
    U1_IWDFOBJECT_METHODS,
    .RetrieveFileName = file_retrieve_name,
    .RetrieveDevice = file_retrieve_device,
};

/* =============================================================================================
 * IWDFMemory
 * ============================================================================================= */

static void *memory_buffer(u1_memory *m, size_t *size)
{
    WDFMEMORY h;

    if (m->view) {
        *size = m->size;
        return m->buffer;
    }
    h = (WDFMEMORY)u1_object_handle(&m->base);
    if (!h) {
        *size = 0;
        return NULL;
    }
    return WdfMemoryGetBuffer(h, size);
}

static SIZE_T memory_get_size(IWDFMemory *This)
{
    size_t size;
    memory_buffer((u1_memory *)This, &size);
    return size;
}

static void *memory_get_data_buffer(IWDFMemory *This, SIZE_T *size)
{
    size_t n;
    void *p = memory_buffer((u1_memory *)This, &n);
    if (size)
        *size = n;
    return p;
}

static HRESULT memory_copy(IWDFMemory *This, SIZE_T offset, void *other, SIZE_T count, bool into_memory)
{
    size_t size;
    BYTE *p;

    if (!other)
        return E_INVALIDARG;
    p = memory_buffer((u1_memory *)This, &size);
    if (!p)
        return U1_E_GONE;
    if (offset > size || count > size - offset)
        return HRESULT_FROM_NT(STATUS_BUFFER_TOO_SMALL);
    if (into_memory)
        memmove(p + offset, other, count);
    else
        memmove(other, p + offset, count);
    return S_OK;
}

static HRESULT memory_copy_from(IWDFMemory *This, SIZE_T offset, void *src, SIZE_T count)
{
    return memory_copy(This, offset, src, count, true);
}

static HRESULT memory_copy_to(IWDFMemory *This, SIZE_T offset, void *dst, SIZE_T count)
{
    return memory_copy(This, offset, dst, count, false);
}

const IWDFMemoryVtbl u1_memory_vtbl = {
    U1_IWDFOBJECT_METHODS,
    .GetSize = memory_get_size,
    .GetDataBuffer = memory_get_data_buffer,
    .CopyFromBuffer = memory_copy_from,
    .CopyToBuffer = memory_copy_to,
};

HRESULT u1_memory_create(u1_driver *drv, BYTE *buffer, SIZE_T size, bool preallocated, IWDFObject *parent,
                         IWDFMemory **out)
{
    WDF_OBJECT_ATTRIBUTES attributes;
    WDFOBJECT parent_h;
    WDFMEMORY h;
    u1_memory *m;
    NTSTATUS status;

    if (!out)
        return E_POINTER;
    if (!size || (preallocated && !buffer))
        return E_INVALIDARG;
    parent_h = parent ? u1_parent_handle(parent) : u1_object_handle(&drv->base);
    if (!parent_h)
        return E_INVALIDARG;
    m = u1_object_alloc(sizeof(*m), U1_MEMORY, &u1_memory_vtbl, true);
    if (!m)
        return E_OUTOFMEMORY;
    u1_attributes_init(&attributes, parent_h);
    if (preallocated)
        status = WdfMemoryCreatePreallocated(&attributes, buffer, size, &h);
    else
        status = WdfMemoryCreate(&attributes, NonPagedPool, 0, size, &h, NULL);
    if (!NT_SUCCESS(status)) {
        u1_release(m);
        return u1_hr(status);
    }
    if (!preallocated)
        memset(WdfMemoryGetBuffer(h, NULL), 0, size);
    u1_object_bind(&m->base, h);
    u1_addref(m);
    *out = (IWDFMemory *)m;
    return S_OK;
}

WDFMEMORY u1_memory_handle(IWDFMemory *m)
{
    if (!u1_is_kind(m, U1_MEMORY) || ((u1_memory *)m)->view)
        return NULL;
    return (WDFMEMORY)u1_object_handle((u1_object *)m);
}

static IWDFMemory *memory_view(void *buffer, size_t size)
{
    u1_memory *m = u1_object_alloc(sizeof(*m), U1_MEMORY, &u1_memory_vtbl, false);

    if (!m)
        return NULL;
    m->view = true;
    m->buffer = buffer;
    m->size = size;
    return (IWDFMemory *)m;
}

/* =============================================================================================
 * IWDFRequestCompletionParams
 * ============================================================================================= */

static HRESULT params_status(IWDFRequestCompletionParams *This) { return ((u1_params *)This)->status; }
static ULONG_PTR params_information(IWDFRequestCompletionParams *This) { return ((u1_params *)This)->information; }
static WDF_REQUEST_TYPE params_type(IWDFRequestCompletionParams *This) { return ((u1_params *)This)->type; }

static const IWDFRequestCompletionParamsVtbl u1_params_vtbl = {
    .QueryInterface = (void *)u1_query_interface,
    .AddRef = (void *)u1_addref,
    .Release = (void *)u1_release,
    .GetCompletionStatus = params_status,
    .GetInformation = params_information,
    .GetCompletedRequestType = params_type,
};

static u1_params *params_new(HRESULT status, ULONG_PTR information, WDF_REQUEST_TYPE type)
{
    u1_params *p = u1_object_alloc(sizeof(*p), U1_PARAMS, &u1_params_vtbl, false);

    if (p) {
        p->status = status;
        p->information = information;
        p->type = type;
    }
    return p;
}

/* =============================================================================================
 * IWDFIoRequest
 * ============================================================================================= */

static void request_destroy(u1_object *o)
{
    u1_request *r = (u1_request *)o;
    if (r->on_completion)
        IRequestCallbackRequestCompletion_Release(r->on_completion);
}

static u1_request *request_wrap(WDFREQUEST h)
{
    u1_object *o = u1_object_from_wdf(h), *have;

    if (o)
        return (u1_request *)o;
    o = u1_object_alloc(sizeof(u1_request), U1_REQUEST, &u1_request_vtbl, true);
    if (!o)
        return NULL;
    o->destroy = request_destroy;
    have = u1_object_bind_or_get(o, h);
    if (have != o)
        u1_release(o);
    return (u1_request *)have;
}

WDFREQUEST u1_request_handle(IWDFIoRequest *r)
{
    if (!u1_is_kind(r, U1_REQUEST))
        return NULL;
    return (WDFREQUEST)u1_object_handle((u1_object *)r);
}

static WDFREQUEST request_h(IWDFIoRequest *This) { return (WDFREQUEST)u1_object_handle((u1_object *)This); }

static void request_complete_info(IWDFIoRequest *This, HRESULT hr, SIZE_T information)
{
    WDFREQUEST h = request_h(This);

    if (h && !((u1_request *)This)->created)
        WdfRequestCompleteWithInformation(h, u1_status(hr), information);
}

static void request_complete(IWDFIoRequest *This, HRESULT hr) { request_complete_info(This, hr, 0); }

static bool request_params(IWDFIoRequest *This, WDF_REQUEST_PARAMETERS *p)
{
    WDFREQUEST h = request_h(This);

    WDF_REQUEST_PARAMETERS_INIT(p);
    if (!h)
        return false;
    WdfRequestGetParameters(h, p);
    return true;
}

static WDF_REQUEST_TYPE request_get_type(IWDFIoRequest *This)
{
    u1_request *r = (u1_request *)This;
    WDF_REQUEST_PARAMETERS p;
    WDF_REQUEST_TYPE type;

    if (r->created) {
        pk_lock_acquire(&u1_lock);
        type = r->formatted;
        pk_lock_release(&u1_lock);
        return type;
    }
    return request_params(This, &p) ? p.Type : WdfRequestTypeNoFormat;
}

void u1_request_set_formatted(IWDFIoRequest *request, WDF_REQUEST_TYPE type)
{
    u1_request *r = (u1_request *)request;

    pk_lock_acquire(&u1_lock);
    r->formatted = type;
    pk_lock_release(&u1_lock);
}

static void request_ioctl_params(IWDFIoRequest *This, ULONG *code, SIZE_T *in, SIZE_T *out)
{
    WDF_REQUEST_PARAMETERS p;

    if (!request_params(This, &p))
        return;
    if (code)
        *code = p.Parameters.DeviceIoControl.IoControlCode;
    if (in)
        *in = p.Parameters.DeviceIoControl.InputBufferLength;
    if (out)
        *out = p.Parameters.DeviceIoControl.OutputBufferLength;
}

static void request_rw_params(IWDFIoRequest *This, SIZE_T *size, LONGLONG *offset, ULONG *key, bool read)
{
    WDF_REQUEST_PARAMETERS p;

    if (!request_params(This, &p))
        return;
    if (size)
        *size = read ? p.Parameters.Read.Length : p.Parameters.Write.Length;
    if (offset)
        *offset = read ? p.Parameters.Read.DeviceOffset : p.Parameters.Write.DeviceOffset;
    if (key)
        *key = read ? p.Parameters.Read.Key : p.Parameters.Write.Key;
}

static void request_read_params(IWDFIoRequest *This, SIZE_T *s, LONGLONG *o, ULONG *k) { request_rw_params(This, s, o, k, true); }
static void request_write_params(IWDFIoRequest *This, SIZE_T *s, LONGLONG *o, ULONG *k) { request_rw_params(This, s, o, k, false); }

static void request_memory(IWDFIoRequest *This, IWDFMemory **pp, bool input)
{
    WDFREQUEST h = request_h(This);
    PVOID buffer = NULL;
    size_t size = 0;
    NTSTATUS status;

    if (!pp)
        return;
    *pp = NULL;
    if (!h || ((u1_request *)This)->created)
        return;
    status = input ? WdfRequestRetrieveInputBuffer(h, 0, &buffer, &size)
                   : WdfRequestRetrieveOutputBuffer(h, 0, &buffer, &size);
    if (NT_SUCCESS(status) && buffer)
        *pp = memory_view(buffer, size);
}

static void request_input_memory(IWDFIoRequest *This, IWDFMemory **pp) { request_memory(This, pp, true); }
static void request_output_memory(IWDFIoRequest *This, IWDFMemory **pp) { request_memory(This, pp, false); }

static void request_file(IWDFIoRequest *This, IWDFFile **pp)
{
    WDFREQUEST h = request_h(This);
    IWDFFile *f;

    if (!pp)
        return;
    *pp = NULL;
    if (!h || ((u1_request *)This)->created)
        return;
    f = file_wrap(WdfRequestGetFileObject(h));
    if (f) {
        u1_addref(f);
        *pp = f;
    }
}

/* An asynchronous send completed (the completing thread): record the result, then tell the
 * driver. The send's references on the request and the target are released here. */
static VOID send_completion(WDFREQUEST h, WDFIOTARGET target, PWDF_REQUEST_COMPLETION_PARAMS params, WDFCONTEXT context)
{
    u1_request *r = context;
    u1_object *t = u1_object_from_wdf(target);
    IRequestCallbackRequestCompletion *cb;
    void *cb_context;
    u1_params *p;
    HRESULT hr = u1_hr(params->IoStatus.Status);

    pk_lock_acquire(&u1_lock);
    r->have_result = true;
    r->result = hr;
    r->information = params->IoStatus.Information;
    r->result_type = params->Type;
    cb = r->on_completion;
    if (cb)
        IRequestCallbackRequestCompletion_AddRef(cb);
    cb_context = r->completion_context;
    pk_lock_release(&u1_lock);
    if (cb) {
        p = params_new(hr, params->IoStatus.Information, params->Type);
        if (p) {
            IRequestCallbackRequestCompletion_OnCompletion(cb, (IWDFIoRequest *)r, (IWDFIoTarget *)t,
                                                           (IWDFRequestCompletionParams *)p, cb_context);
            u1_release(p);
        }
        IRequestCallbackRequestCompletion_Release(cb);
    }
    if (t)
        u1_release(t); /* the send's reference (taken in request_send) */
    u1_release(r);
}

static HRESULT request_send(IWDFIoRequest *This, IWDFIoTarget *pIoTarget, DWORD flags, LONGLONG timeout)
{
    u1_request *r = (u1_request *)This;
    WDFREQUEST h = request_h(This);
    WDFIOTARGET t;
    WDF_REQUEST_SEND_OPTIONS options;
    WDF_REQUEST_COMPLETION_PARAMS params;
    bool sync = (flags & WDF_REQUEST_SEND_OPTION_SYNCHRONOUS) != 0;
    NTSTATUS status;

    if (!u1_is_kind(pIoTarget, U1_TARGET))
        return E_INVALIDARG;
    t = (WDFIOTARGET)u1_object_handle((u1_object *)pIoTarget);
    if (!h || !t)
        return U1_E_GONE;
    WDF_REQUEST_SEND_OPTIONS_INIT(&options, flags & ~(ULONG)WDF_REQUEST_SEND_OPTION_TIMEOUT);
    if (timeout)
        WDF_REQUEST_SEND_OPTIONS_SET_TIMEOUT(&options, timeout);
    pk_lock_acquire(&u1_lock);
    r->have_result = false;
    pk_lock_release(&u1_lock);
    if (!sync && !(flags & WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET)) {
        /* References for the flight, handed to send_completion. */
        u1_addref(r);
        u1_addref(pIoTarget);
        WdfRequestSetCompletionRoutine(h, send_completion, r);
    }
    if (!WdfRequestSend(h, t, &options)) {
        status = WdfRequestGetStatus(h);
        if (!sync && !(flags & WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET)) {
            WdfRequestSetCompletionRoutine(h, NULL, NULL);
            u1_release(pIoTarget);
            u1_release(r);
        }
        return u1_hr(status);
    }
    if (sync) {
        WDF_REQUEST_COMPLETION_PARAMS_INIT(&params);
        WdfRequestGetCompletionParams(h, &params);
        pk_lock_acquire(&u1_lock);
        r->have_result = true;
        r->result = u1_hr(WdfRequestGetStatus(h));
        r->information = params.IoStatus.Information;
        r->result_type = params.Type;
        pk_lock_release(&u1_lock);
    }
    return S_OK;
}

static void request_get_completion_params(IWDFIoRequest *This, IWDFRequestCompletionParams **pp)
{
    u1_request *r = (u1_request *)This;
    HRESULT hr;
    ULONG_PTR information;
    WDF_REQUEST_TYPE type;
    bool have;

    if (!pp)
        return;
    *pp = NULL;
    pk_lock_acquire(&u1_lock);
    have = r->have_result;
    hr = r->result;
    information = r->information;
    type = r->result_type;
    pk_lock_release(&u1_lock);
    if (have)
        *pp = (IWDFRequestCompletionParams *)params_new(hr, information, type);
}

static void request_set_completion_callback(IWDFIoRequest *This, IRequestCallbackRequestCompletion *cb, void *context)
{
    u1_request *r = (u1_request *)This;
    IRequestCallbackRequestCompletion *old;

    if (cb)
        IRequestCallbackRequestCompletion_AddRef(cb);
    pk_lock_acquire(&u1_lock);
    old = r->on_completion;
    r->on_completion = cb;
    r->completion_context = context;
    pk_lock_release(&u1_lock);
    if (old)
        IRequestCallbackRequestCompletion_Release(old);
}

static HRESULT request_cancel_sent(IWDFIoRequest *This)
{
    WDFREQUEST h = request_h(This);

    if (!h)
        return U1_E_GONE;
    return WdfRequestCancelSentRequest(h) ? S_OK : S_FALSE;
}

const IWDFIoRequestVtbl u1_request_vtbl = {
    U1_IWDFOBJECT_METHODS,
    .CompleteWithInformation = request_complete_info,
    .Complete = request_complete,
    .GetType = request_get_type,
    .GetDeviceIoControlParameters = request_ioctl_params,
    .GetReadParameters = request_read_params,
    .GetWriteParameters = request_write_params,
    .GetInputMemory = request_input_memory,
    .GetOutputMemory = request_output_memory,
    .GetFileObject = request_file,
    .Send = request_send,
    .GetCompletionParams = request_get_completion_params,
    .SetCompletionCallback = request_set_completion_callback,
    .CancelSentRequest = request_cancel_sent,
};

HRESULT u1_request_create(u1_device *dev, IUnknown *cb, IWDFObject *parent, IWDFIoRequest **out)
{
    WDF_OBJECT_ATTRIBUTES attributes;
    WDFOBJECT parent_h;
    WDFREQUEST h;
    u1_request *r;
    NTSTATUS status;

    if (!out)
        return E_POINTER;
    parent_h = parent ? u1_parent_handle(parent) : u1_object_handle(&dev->base);
    if (!parent_h)
        return parent ? E_INVALIDARG : U1_E_GONE;
    r = u1_object_alloc(sizeof(*r), U1_REQUEST, &u1_request_vtbl, true);
    if (!r)
        return E_OUTOFMEMORY;
    r->created = true;
    r->formatted = WdfRequestTypeNoFormat;
    r->base.destroy = request_destroy;
    u1_attributes_init(&attributes, parent_h);
    status = WdfRequestCreate(&attributes, NULL, &h);
    if (!NT_SUCCESS(status)) {
        u1_release(r);
        return u1_hr(status);
    }
    u1_object_bind(&r->base, h);
    u1_addref(r);
    *out = (IWDFIoRequest *)r;
    return S_OK;
}

/* =============================================================================================
 * IWDFIoQueue
 * ============================================================================================= */

static void queue_destroy(u1_object *o)
{
    u1_queue *q = (u1_queue *)o;

    if (q->on_create)
        IQueueCallbackCreate_Release(q->on_create);
    if (q->on_ioctl)
        IQueueCallbackDeviceIoControl_Release(q->on_ioctl);
    if (q->on_read)
        IQueueCallbackRead_Release(q->on_read);
    if (q->on_write)
        IQueueCallbackWrite_Release(q->on_write);
    if (q->on_default)
        IQueueCallbackDefaultIoHandler_Release(q->on_default);
    if (q->callback)
        IUnknown_Release(q->callback);
}

static void queue_get_device(IWDFIoQueue *This, IWDFDevice **pp)
{
    u1_queue *q = (u1_queue *)This;

    if (!pp)
        return;
    u1_addref(q->device);
    *pp = (IWDFDevice *)q->device;
}

const IWDFIoQueueVtbl u1_queue_vtbl = {
    U1_IWDFOBJECT_METHODS,
    .GetDevice = queue_get_device,
};

/* EvtIoDefault of every UMDF 1 queue: presents the request to the callback for its type. The
 * queue and request wrappers are held for the call (the driver may complete the request, which
 * drops the framework's reference on its wrapper, before the callback returns). */
static VOID u1_io_default(WDFQUEUE queue, WDFREQUEST h)
{
    u1_queue *q = (u1_queue *)u1_object_from_wdf(queue);
    u1_request *r = request_wrap(h);
    IWDFIoQueue *iq = (IWDFIoQueue *)q;
    IWDFIoRequest *ir = (IWDFIoRequest *)r;
    WDF_REQUEST_PARAMETERS p;
    IWDFFile *file;

    if (!q || !r) {
        WdfRequestComplete(h, STATUS_INSUFFICIENT_RESOURCES);
        return;
    }
    u1_addref(q);
    u1_addref(r);
    WDF_REQUEST_PARAMETERS_INIT(&p);
    WdfRequestGetParameters(h, &p);
    switch (p.Type) {
    case WdfRequestTypeCreate:
        file = q->on_create ? file_wrap(WdfRequestGetFileObject(h)) : NULL;
        if (file)
            IQueueCallbackCreate_OnCreateFile(q->on_create, iq, ir, file);
        else
            WdfRequestComplete(h, q->on_create ? STATUS_INSUFFICIENT_RESOURCES : STATUS_SUCCESS);
        break;
    case WdfRequestTypeRead:
        if (q->on_read)
            IQueueCallbackRead_OnRead(q->on_read, iq, ir, p.Parameters.Read.Length);
        else
            goto default_handler;
        break;
    case WdfRequestTypeWrite:
        if (q->on_write)
            IQueueCallbackWrite_OnWrite(q->on_write, iq, ir, p.Parameters.Write.Length);
        else
            goto default_handler;
        break;
    case WdfRequestTypeDeviceControl:
    case WdfRequestTypeDeviceControlInternal:
        if (q->on_ioctl)
            IQueueCallbackDeviceIoControl_OnDeviceIoControl(q->on_ioctl, iq, ir, p.Parameters.DeviceIoControl.IoControlCode,
                                                            p.Parameters.DeviceIoControl.InputBufferLength,
                                                            p.Parameters.DeviceIoControl.OutputBufferLength);
        else
            goto default_handler;
        break;
    default:
    default_handler:
        if (q->on_default)
            IQueueCallbackDefaultIoHandler_OnDefaultIoHandler(q->on_default, iq, ir);
        else
            WdfRequestComplete(h, STATUS_INVALID_DEVICE_REQUEST);
        break;
    }
    u1_release(r);
    u1_release(q);
}

HRESULT u1_queue_create(u1_device *dev, IUnknown *cb, BOOL def, WDF_IO_QUEUE_DISPATCH_TYPE type, BOOL power, BOOL zero,
                        IWDFIoQueue **out)
{
    WDFDEVICE device = (WDFDEVICE)u1_object_handle(&dev->base);
    WDF_OBJECT_ATTRIBUTES attributes;
    WDF_IO_QUEUE_CONFIG config;
    WDFQUEUE h;
    u1_queue *q;
    NTSTATUS status;

    if (!out)
        return E_POINTER;
    if (!device)
        return U1_E_GONE;
    q = u1_object_alloc(sizeof(*q), U1_QUEUE, &u1_queue_vtbl, true);
    if (!q)
        return E_OUTOFMEMORY;
    q->device = dev;
    q->base.destroy = queue_destroy;
    if (cb) {
        q->callback = cb;
        IUnknown_AddRef(cb);
        q->on_create = u1_query(cb, &IID_IQueueCallbackCreate);
        q->on_ioctl = u1_query(cb, &IID_IQueueCallbackDeviceIoControl);
        q->on_read = u1_query(cb, &IID_IQueueCallbackRead);
        q->on_write = u1_query(cb, &IID_IQueueCallbackWrite);
        q->on_default = u1_query(cb, &IID_IQueueCallbackDefaultIoHandler);
    }
    if (def)
        WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&config, type);
    else
        WDF_IO_QUEUE_CONFIG_INIT(&config, type);
    config.PowerManaged = power ? WdfTrue : WdfFalse;
    config.AllowZeroLengthRequests = zero ? TRUE : FALSE;
    config.EvtIoDefault = u1_io_default;
    u1_attributes_init(&attributes, device);
    status = WdfIoQueueCreate(device, &config, &attributes, &h);
    if (!NT_SUCCESS(status)) {
        u1_release(q);
        return u1_hr(status);
    }
    u1_object_bind(&q->base, h);
    if (q->on_create) {
        status = WdfDeviceConfigureRequestDispatching(device, h, WdfRequestTypeCreate);
        if (!NT_SUCCESS(status)) {
            WdfObjectDelete(h); /* its cleanup drops the framework's reference on q */
            return u1_hr(status);
        }
    }
    u1_addref(q);
    *out = (IWDFIoQueue *)q;
    return S_OK;
}
