/*
 * umdf1_internal.h — what the files of the umdf1 layer share and nothing outside it includes.
 *
 * Every interface the framework hands out is a u1_object (or a struct starting with one): its
 * first member is the vtable pointer, so the struct's address is the interface pointer. Most
 * wrap a WDF object (the `wdf` handle) whose context (u1_ctx) points back at the wrapper.
 *
 * References. `refs` counts COM references. The framework holds one (`framework_ref`) from
 * creation until the WDF object's cleanup callback (u1_object_wdf_cleanup), which also clears
 * `wdf`; from then on the wrapper is stale and its methods fail with E_HANDLE-like results. The
 * last Release runs the kind's `destroy` hook and frees the wrapper. The wrapper never holds a
 * WDF reference, so the WDF object's lifetime is WDF's alone (no cycle).
 *
 * Locking: u1_lock (umdf1_object.c) is the layer's one lock, a leaf: it protects every
 * wrapper's `wdf`, `framework_ref`, cleanup/context fields, the per-device lists (remote
 * interfaces, notification registrations) and the per-target state. No driver callback and no
 * call into the layers below is made while it is held.
 *
 * Naming: u1_<thing>_<verb>; vtables are u1_<kind>_vtbl.
 */
#ifndef PNPKIT_UMDF1_INTERNAL_H
#define PNPKIT_UMDF1_INTERNAL_H

#include "object/object_internal.h"
#include <pnpkit/wudfddi.h>

#include <pthread.h>

typedef enum u1_kind {
    U1_DRIVER = 1,
    U1_DEVINIT,
    U1_DEVICE,
    U1_QUEUE,
    U1_REQUEST,
    U1_FILE,
    U1_MEMORY,
    U1_TARGET,
    U1_RINIT,
    U1_RIFACE,
    U1_PARAMS,
    U1_GENERIC,                   /* IWDFDriver::CreateWdfObject's objects */
} u1_kind;

typedef struct u1_object u1_object;

struct u1_object {
    const void *vtbl;            /* the interface's vtable: the object's address is This */
    uint32_t refs;               /* COM references (atomic) */
    uint8_t kind;                /* u1_kind */
    bool framework_ref;          /* u1_lock: the framework's own reference is still held */
    bool deleted;                /* u1_lock: DeleteWdfObject or the framework deleted it */
    WDFOBJECT wdf;               /* u1_lock: the wrapped object; NULL once it was cleaned up */
    IObjectCleanup *cleanup;     /* u1_lock: AssignContext's callback (referenced) */
    void *context;               /* u1_lock */
    bool context_set;            /* u1_lock */
    pthread_mutex_t user_lock;   /* AcquireLock / ReleaseLock: the driver's own */
    /* Kind hooks: on_cleanup runs once when the WDF object is cleaned up (no lock held, before
     * the framework reference goes); destroy frees the kind's fields at the last Release. */
    void (*on_cleanup)(u1_object *o);
    void (*destroy)(u1_object *o);
};

/* The context every wrapped WDF object carries: the way back to its wrapper. */
typedef struct u1_ctx {
    u1_object *com;
} u1_ctx;

extern pk_lock u1_lock;

/* ---- umdf1_object.c ---- */

/* Allocates a wrapper of `size` bytes (zeroed, first member u1_object) with one reference,
 * the framework's when framework_ref is true. NULL on allocation failure. Counts as a live
 * object until freed. */
void *u1_object_alloc(size_t size, u1_kind kind, const void *vtbl, bool framework_ref);
ULONG u1_addref(void *o);
ULONG u1_release(void *o);
/* Attributes that give a WDF object the u1_ctx context and the layer's cleanup callback;
 * parent may be NULL. After the object is created, call u1_object_bind. */
void u1_attributes_init(WDF_OBJECT_ATTRIBUTES *attributes, WDFOBJECT parent);
/* Records the wrapped handle and points the object's context at the wrapper. */
void u1_object_bind(u1_object *o, WDFOBJECT wdf);
/* For objects the framework creates (files, presented requests) and wraps on first use: binds
 * o unless another thread bound a wrapper first, and returns the one bound (the caller frees
 * o if it is not that one). NULL when the object has no u1_ctx. */
u1_object *u1_object_bind_or_get(u1_object *o, WDFOBJECT wdf);
/* The wrapper of a WDF object created with u1_attributes_init, or NULL. */
u1_object *u1_object_from_wdf(WDFOBJECT wdf);
/* The wrapped handle, or NULL when the object is gone (read under u1_lock). */
WDFOBJECT u1_object_handle(u1_object *o);
/* The EvtCleanupCallback of every wrapped object. */
EVT_WDF_OBJECT_CONTEXT_CLEANUP u1_object_wdf_cleanup;
/* Whether p is a live wrapper of `kind` (its vtable is the kind's): validates a pointer the
 * driver passed. */
bool u1_is_kind(const void *p, u1_kind kind);
/* The handle behind a framework-object interface the driver passed as a parent, or NULL (not
 * one of ours, or gone). */
WDFOBJECT u1_parent_handle(IWDFObject *parent);
/* Generic IUnknown / IWDFObject methods (cast into each vtable). */
HRESULT u1_query_interface(void *This, REFIID riid, void **ppv);
HRESULT u1_delete_wdf_object(void *This);
HRESULT u1_assign_context(void *This, IObjectCleanup *cb, void *data);
HRESULT u1_retrieve_context(void *This, void **ppv);
void u1_acquire_lock(void *This);
void u1_release_lock(void *This);
/* The IUnknown and IWDFObject entries every framework-object vtable starts with. */
#define U1_IWDFOBJECT_METHODS                                                                      \
    .QueryInterface = (void *)u1_query_interface, .AddRef = (void *)u1_addref,                    \
    .Release = (void *)u1_release, .DeleteWdfObject = (void *)u1_delete_wdf_object,               \
    .AssignContext = (void *)u1_assign_context, .RetrieveContext = (void *)u1_retrieve_context,   \
    .AcquireLock = (void *)u1_acquire_lock, .ReleaseLock = (void *)u1_release_lock
/* NTSTATUS <-> HRESULT (io.md 1.4). */
HRESULT u1_hr(NTSTATUS status);
NTSTATUS u1_status(HRESULT hr);
/* The two-call string rule of RetrieveFileName / RetrieveSymbolicLink: copies text (chars
 * characters, no NUL) into buffer. */
HRESULT u1_copy_string(PCWSTR text, size_t chars, PWSTR buffer, DWORD *length);
/* Queries cb for riid and keeps the result (referenced), or NULL. */
void *u1_query(IUnknown *cb, REFIID riid);

#define U1_E_INVALID_STATE HRESULT_FROM_WIN32(ERROR_INVALID_STATE)
#define U1_E_GONE HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE)

/* ---- The kinds ---- */

typedef struct u1_driver u1_driver;
typedef struct u1_device u1_device;

struct u1_driver {
    u1_object base;
    IDriverEntry *entry;          /* referenced */
    PDRIVER_OBJECT wdm;
};

typedef struct u1_devinit {
    u1_object base;
    PWDFDEVICE_INIT init;         /* NULL once used or once OnDeviceAdd returned (u1_lock) */
    u1_driver *driver;
    WDF_TRI_STATE autoforward;
    bool locking_device;
} u1_devinit;

struct u1_device {
    u1_object base;
    u1_driver *driver;            /* the driver's wrapper (referenced) */
    IPnpCallbackRemoteInterfaceNotification *rin; /* referenced, or NULL */
    IUnknown *callback;           /* CreateDevice's callback object (referenced) */
    LIST_ENTRY registrations;     /* u1_lock: u1_registration.link */
    LIST_ENTRY interfaces;        /* u1_lock: u1_riface.link of live remote interfaces */
    struct u1_rinit *arrival;     /* u1_lock: the Init of the arrival callback running now */
};

typedef struct u1_rinit {
    u1_object base;
    u1_device *device;            /* not referenced: valid while `valid` */
    GUID guid;
    WCHAR *link;                  /* owned, user form, NUL-terminated */
    size_t link_chars;
    bool valid;                   /* u1_lock: inside the arrival callback */
} u1_rinit;

typedef struct u1_riface {
    u1_object base;
    u1_device *device;            /* not referenced: the device outlives its child */
    LIST_ENTRY link;              /* u1_lock: device->interfaces while listed */
    bool listed;                  /* u1_lock */
    bool removed;                 /* u1_lock: its instance was disabled */
    GUID guid;
    WCHAR *link_name;             /* owned, user form */
    size_t link_chars;
    IRemoteInterfaceCallbackEvent *on_event;     /* referenced or NULL */
    IRemoteInterfaceCallbackRemoval *on_removal; /* referenced or NULL */
} u1_riface;

typedef struct u1_target {
    u1_object base;
    u1_device *device;
    IRemoteTargetCallbackRemoval *on_removal;    /* referenced or NULL */
    u1_riface *riface;            /* u1_lock: referenced; the interface of OpenRemoteInterface */
    PVOID event_entry;            /* u1_lock: custom-event registration while open */
} u1_target;

/* ---- umdf1_driver.c ---- */
extern const IWDFDriverVtbl u1_driver_vtbl;
extern const IWDFObjectVtbl u1_generic_vtbl;
extern const IWDFDevice2Vtbl u1_device_vtbl;
u1_device *u1_device_of_wdf(WDFDEVICE device);

/* ---- umdf1_io.c ---- */
extern const IWDFIoQueueVtbl u1_queue_vtbl;
extern const IWDFIoRequestVtbl u1_request_vtbl;
extern const IWDFFileVtbl u1_file_vtbl;
extern const IWDFMemoryVtbl u1_memory_vtbl;
/* The device's request and file attributes (set at CreateDevice): the WDF objects the
 * framework creates get the layer's context and cleanup. */
void u1_io_setup_device_init(PWDFDEVICE_INIT init, WDF_TRI_STATE autoforward);
HRESULT u1_queue_create(u1_device *dev, IUnknown *cb, BOOL def, WDF_IO_QUEUE_DISPATCH_TYPE type, BOOL power,
                        BOOL zero, IWDFIoQueue **out);
HRESULT u1_request_create(u1_device *dev, IUnknown *cb, IWDFObject *parent, IWDFIoRequest **out);
HRESULT u1_memory_create(u1_driver *drv, BYTE *buffer, SIZE_T size, bool preallocated, IWDFObject *parent,
                         IWDFMemory **out);
/* The WDFREQUEST / WDFMEMORY behind a wrapper the driver passed, or NULL. */
WDFREQUEST u1_request_handle(IWDFIoRequest *r);
/* Records the type a successful IWDFIoTarget::FormatRequestFor* gave a created request. */
void u1_request_set_formatted(IWDFIoRequest *r, WDF_REQUEST_TYPE type);
WDFMEMORY u1_memory_handle(IWDFMemory *m);

/* ---- umdf1_remote.c ---- */
extern const IWDFRemoteTargetVtbl u1_target_vtbl;
extern const IWDFRemoteInterfaceVtbl u1_riface_vtbl;
extern const IWDFRemoteInterfaceInitializeVtbl u1_rinit_vtbl;
HRESULT u1_register_notification(u1_device *dev, LPCGUID guid, BOOL include_existing);
HRESULT u1_remote_interface_create(u1_device *dev, IWDFRemoteInterfaceInitialize *init, IUnknown *cb,
                                   IWDFRemoteInterface **out);
HRESULT u1_remote_target_create(u1_device *dev, IUnknown *cb, IWDFObject *parent, IWDFRemoteTarget **out);
/* The device's cleanup: ends its notification registrations. */
void u1_device_remote_cleanup(u1_device *dev);

#endif /* PNPKIT_UMDF1_INTERNAL_H */
