/*
 * <pnpkit/wudfddi.h> — the UMDF 1 driver model of seed 001 for C callers: COM-style interfaces
 * (a struct whose first member is a pointer to a table of functions) and, for every method, the
 * `Interface_Method(This, ...)` macro that Windows headers give C code under COBJMACROS.
 *
 * The umdf1 layer is a thin skin over the WDF and PnP layers: a framework interface wraps the
 * WDF object of the same role (IWDFDevice a WDFDEVICE, IWDFRemoteTarget a remote WDFIOTARGET,
 * IWDFIoRequest a WDFREQUEST, ...); device interfaces, notifications, I/O targets and custom
 * events are those of the layers below. See docs/umdf1.md for the model, and io.md 1.4 and
 * pnp.md 1.3 for the behaviour.
 *
 * Loading a driver. UMDF 1 drivers are COM objects exposing IDriverEntry. pnpkit has no
 * class factory: PnpkitUmdf1DriverRegister(ServiceName, DriverEntry, HardwareIds) stands in for
 * the INF and the DLL. When the first matching device appears, the framework calls
 * IDriverEntry::OnInitialize(IWDFDriver), then OnDeviceAdd(IWDFDriver, IWDFDeviceInitialize)
 * for each device; OnDeinitialize runs when the driver unloads (PnpkitUmdf1DriverUnregister).
 *
 * References. Every interface is reference-counted with AddRef/Release.
 *   - A pointer the framework returns through an out parameter (ppDevice, ppRemoteTarget,
 *     ppMemory, ...) carries one reference that the caller owns and must Release.
 *   - A pointer the framework passes as an argument of a callback (the IWDFIoRequest of
 *     OnDeviceIoControl, the IWDFRemoteInterfaceInitialize of OnRemoteInterfaceArrival, ...)
 *     is borrowed: valid for the duration of the callback; AddRef to keep it longer.
 *   - Besides the caller's references, the framework holds one reference on the interface of
 *     every framework object for as long as the object exists (until DeleteWdfObject, or until
 *     its parent is deleted, or, for a request the framework presented, until it completes).
 *     So a driver may Release the IWDFDevice it got from CreateDevice and keep the pointer
 *     while the device exists, as UMDF 1 samples do.
 *   - A method called on an interface whose framework object is gone returns
 *     HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE) (0x80070006) — for a remote target
 *     HRESULT_FROM_WIN32(ERROR_INVALID_STATE), as for a target that is not open — or does
 *     nothing for VOID methods.
 *   - The framework AddRefs the callback interfaces it keeps (the pCallbackInterface of
 *     CreateDevice, CreateIoQueue, CreateRemoteInterface, CreateRemoteTarget, and what it gets
 *     from their QueryInterface) and releases them when the object that uses them is destroyed.
 *
 * HRESULTs (io.md 1.4): an NTSTATUS from the layers below becomes S_OK, E_OUTOFMEMORY
 * (insufficient resources, no memory), E_INVALIDARG (invalid parameter),
 * HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) (0x80070002, name not found),
 * HRESULT_FROM_WIN32(ERROR_INVALID_STATE) (0x8007139F, invalid device state), otherwise
 * HRESULT_FROM_NT(status). Bad input to a framework method: E_POINTER for a NULL out pointer
 * (nothing is written), E_INVALIDARG for a NULL or foreign required input (an interface pointer
 * that is not one the framework created, where one is required). Out parameters are written
 * only on success.
 *
 * Methods marked "not built" return E_NOTIMPL and change nothing.
 *
 * Threads and IRQL. Every method is for PASSIVE_LEVEL. Callbacks run at PASSIVE_LEVEL with no
 * pnpkit lock held: PnP and notification callbacks (OnRemoteInterfaceArrival, ...Removal,
 * ...Event, the remote-target removal callbacks) on the PnP worker, one at a time; queue
 * callbacks on the thread that dispatches the request; completion callbacks on the thread that
 * completes it.
 *
 * Interface identifiers. The IIDs below are pnpkit's own values (the layer is not binary
 * compatible with Windows' wudfddi.h: vtables hold the methods pnpkit builds, in Windows order).
 */
#ifndef PNPKIT_WUDFDDI_H
#define PNPKIT_WUDFDDI_H

#include <pnpkit/wdf.h>
#include <pnpkit/winerror.h>

PNPKIT_BEGIN_DECLS

typedef GUID IID;
typedef const IID *REFIID;

/* ---- Interface identifiers ---- */
DEFINE_GUID(IID_IUnknown, 0x00000000, 0x0000, 0x0000, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46);
DEFINE_GUID(IID_IWDFObject, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x00, 0x01);
DEFINE_GUID(IID_IWDFDriver, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x00, 0x02);
DEFINE_GUID(IID_IWDFDeviceInitialize, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x00, 0x03);
DEFINE_GUID(IID_IWDFDevice, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x00, 0x04);
DEFINE_GUID(IID_IWDFDevice2, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x00, 0x05);
DEFINE_GUID(IID_IWDFIoQueue, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x00, 0x06);
DEFINE_GUID(IID_IWDFIoRequest, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x00, 0x07);
DEFINE_GUID(IID_IWDFFile, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x00, 0x08);
DEFINE_GUID(IID_IWDFMemory, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x00, 0x09);
DEFINE_GUID(IID_IWDFIoTarget, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x00, 0x0a);
DEFINE_GUID(IID_IWDFRemoteTarget, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x00, 0x0b);
DEFINE_GUID(IID_IWDFRemoteInterfaceInitialize, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x00, 0x0c);
DEFINE_GUID(IID_IWDFRemoteInterface, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x00, 0x0d);
DEFINE_GUID(IID_IWDFRequestCompletionParams, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x00, 0x0e);
/* Callback interfaces (implemented by the driver). */
DEFINE_GUID(IID_IDriverEntry, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x01, 0x01);
DEFINE_GUID(IID_IObjectCleanup, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x01, 0x02);
DEFINE_GUID(IID_IPnpCallbackRemoteInterfaceNotification, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x01, 0x03);
DEFINE_GUID(IID_IRemoteInterfaceCallbackEvent, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x01, 0x04);
DEFINE_GUID(IID_IRemoteInterfaceCallbackRemoval, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x01, 0x05);
DEFINE_GUID(IID_IRemoteTargetCallbackRemoval, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x01, 0x06);
DEFINE_GUID(IID_IQueueCallbackCreate, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x01, 0x07);
DEFINE_GUID(IID_IQueueCallbackDeviceIoControl, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x01, 0x08);
DEFINE_GUID(IID_IQueueCallbackRead, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x01, 0x09);
DEFINE_GUID(IID_IQueueCallbackWrite, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x01, 0x0a);
DEFINE_GUID(IID_IQueueCallbackDefaultIoHandler, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x01, 0x0b);
DEFINE_GUID(IID_IRequestCallbackRequestCompletion, 0x706ea4c8, 0x1a0c, 0x4a1e, 0x90, 0x01, 0x5d, 0x10, 0x00, 0x00, 0x01, 0x0c);

/* ---- Types of the UMDF 1 surface ---- */

typedef struct IUnknown IUnknown;
typedef struct IWDFObject IWDFObject;
typedef struct IWDFDriver IWDFDriver;
typedef struct IWDFDeviceInitialize IWDFDeviceInitialize;
typedef struct IWDFDevice IWDFDevice;
typedef struct IWDFDevice2 IWDFDevice2;
typedef struct IWDFIoQueue IWDFIoQueue;
typedef struct IWDFIoRequest IWDFIoRequest;
typedef struct IWDFFile IWDFFile;
typedef struct IWDFMemory IWDFMemory;
typedef struct IWDFIoTarget IWDFIoTarget;
typedef struct IWDFRemoteTarget IWDFRemoteTarget;
typedef struct IWDFRemoteInterfaceInitialize IWDFRemoteInterfaceInitialize;
typedef struct IWDFRemoteInterface IWDFRemoteInterface;
typedef struct IWDFRequestCompletionParams IWDFRequestCompletionParams;
typedef struct IDriverEntry IDriverEntry;
typedef struct IObjectCleanup IObjectCleanup;
typedef struct IPnpCallbackRemoteInterfaceNotification IPnpCallbackRemoteInterfaceNotification;
typedef struct IRemoteInterfaceCallbackEvent IRemoteInterfaceCallbackEvent;
typedef struct IRemoteInterfaceCallbackRemoval IRemoteInterfaceCallbackRemoval;
typedef struct IRemoteTargetCallbackRemoval IRemoteTargetCallbackRemoval;
typedef struct IQueueCallbackCreate IQueueCallbackCreate;
typedef struct IQueueCallbackDeviceIoControl IQueueCallbackDeviceIoControl;
typedef struct IQueueCallbackRead IQueueCallbackRead;
typedef struct IQueueCallbackWrite IQueueCallbackWrite;
typedef struct IQueueCallbackDefaultIoHandler IQueueCallbackDefaultIoHandler;
typedef struct IRequestCallbackRequestCompletion IRequestCallbackRequestCompletion;

/* The file-open parameters of IWDFRemoteTarget::OpenRemoteInterface and OpenFileByName (the
 * CreateFile arguments). A NULL pointer means share read/write and OPEN_EXISTING. dwSize must
 * be sizeof(UMDF_IO_TARGET_OPEN_PARAMS). */
typedef struct _UMDF_IO_TARGET_OPEN_PARAMS {
    DWORD dwShareMode;
    DWORD dwCreationDisposition;
    DWORD dwFlagsAndAttributes;
} UMDF_IO_TARGET_OPEN_PARAMS, *PUMDF_IO_TARGET_OPEN_PARAMS;

/* The locking constraint of IWDFDeviceInitialize::SetLockingConstraint. */
typedef enum _WDF_CALLBACK_CONSTRAINT {
    None = 1,
    WdfDeviceLevel = 2,
} WDF_CALLBACK_CONSTRAINT;

/* ---- Method lists (shared by an interface and the interfaces derived from it) ---- */

#define PNPKIT_IUNKNOWN_METHODS(T) \
    HRESULT (*QueryInterface)(T *This, REFIID riid, void **ppvObject); \
    ULONG (*AddRef)(T *This); \
    ULONG (*Release)(T *This);

/* IWDFObject: the base of every framework object.
 *   DeleteWdfObject: deletes the framework object (children first; IObjectCleanup::OnCleanup
 *     runs). S_OK; HRESULT_FROM_WIN32(ERROR_INVALID_STATE) for an object only the framework
 *     deletes (device, queue, presented request, file, driver) and for one already deleted.
 *   AssignContext: stores ContextData and an optional IObjectCleanup called when the object is
 *     deleted. HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS) (0x800700B7) when a context is assigned.
 *   RetrieveContext: E_POINTER; HRESULT_FROM_WIN32(ERROR_NOT_FOUND) (0x80070490) when none.
 *   AcquireLock / ReleaseLock: a per-object lock for the driver's own use (not recursive). */
#define PNPKIT_IWDFOBJECT_METHODS(T) \
    PNPKIT_IUNKNOWN_METHODS(T) \
    HRESULT (*DeleteWdfObject)(T *This); \
    HRESULT (*AssignContext)(T *This, IObjectCleanup *pCleanupCallback, void *ContextData); \
    HRESULT (*RetrieveContext)(T *This, void **ppvData); \
    void (*AcquireLock)(T *This); \
    void (*ReleaseLock)(T *This);

#define PNPKIT_DECLARE_INTERFACE(I, METHODS) \
    typedef struct I##Vtbl { METHODS(I) } I##Vtbl; \
    struct I { const I##Vtbl *lpVtbl; }

/* ---- IUnknown ---- */
#define PNPKIT_IUNKNOWN_ONLY(T) PNPKIT_IUNKNOWN_METHODS(T)
PNPKIT_DECLARE_INTERFACE(IUnknown, PNPKIT_IUNKNOWN_ONLY);
#define IUnknown_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IUnknown_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IUnknown_Release(This) ((This)->lpVtbl->Release(This))

/* ---- IWDFObject ---- */
PNPKIT_DECLARE_INTERFACE(IWDFObject, PNPKIT_IWDFOBJECT_METHODS);

#define IWDFObject_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IWDFObject_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IWDFObject_Release(This) ((This)->lpVtbl->Release(This))
#define IWDFObject_DeleteWdfObject(This) ((This)->lpVtbl->DeleteWdfObject(This))
#define IWDFObject_AssignContext(This, cb, data) ((This)->lpVtbl->AssignContext(This, cb, data))
#define IWDFObject_RetrieveContext(This, ppv) ((This)->lpVtbl->RetrieveContext(This, ppv))
#define IWDFObject_AcquireLock(This) ((This)->lpVtbl->AcquireLock(This))
#define IWDFObject_ReleaseLock(This) ((This)->lpVtbl->ReleaseLock(This))

/* =============================================================================================
 * Callback interfaces (the driver implements them)
 * ============================================================================================= */

/* IDriverEntry: the driver's entry object.
 *   OnInitialize: once, before the first OnDeviceAdd; a failure fails the driver's load (no
 *     device of it starts).
 *   OnDeviceAdd: per device. The driver configures pDeviceInit and calls
 *     IWDFDriver::CreateDevice; a failure HRESULT fails the device's start.
 *   OnDeinitialize: once, when the driver unloads. */
#define PNPKIT_IDRIVERENTRY_METHODS(T) \
    PNPKIT_IUNKNOWN_METHODS(T) \
    HRESULT (*OnInitialize)(T *This, IWDFDriver *pWdfDriver); \
    HRESULT (*OnDeviceAdd)(T *This, IWDFDriver *pWdfDriver, IWDFDeviceInitialize *pWdfDeviceInit); \
    void (*OnDeinitialize)(T *This, IWDFDriver *pWdfDriver);
PNPKIT_DECLARE_INTERFACE(IDriverEntry, PNPKIT_IDRIVERENTRY_METHODS);
#define IDriverEntry_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IDriverEntry_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IDriverEntry_Release(This) ((This)->lpVtbl->Release(This))
#define IDriverEntry_OnInitialize(This, d) ((This)->lpVtbl->OnInitialize(This, d))
#define IDriverEntry_OnDeviceAdd(This, d, i) ((This)->lpVtbl->OnDeviceAdd(This, d, i))
#define IDriverEntry_OnDeinitialize(This, d) ((This)->lpVtbl->OnDeinitialize(This, d))

/* IObjectCleanup (AssignContext): called when the object is deleted, before its interface
 * becomes stale. */
#define PNPKIT_IOBJECTCLEANUP_METHODS(T) \
    PNPKIT_IUNKNOWN_METHODS(T) \
    void (*OnCleanup)(T *This, IWDFObject *pWdfObject);
PNPKIT_DECLARE_INTERFACE(IObjectCleanup, PNPKIT_IOBJECTCLEANUP_METHODS);
#define IObjectCleanup_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IObjectCleanup_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IObjectCleanup_Release(This) ((This)->lpVtbl->Release(This))
#define IObjectCleanup_OnCleanup(This, o) ((This)->lpVtbl->OnCleanup(This, o))

/* IPnpCallbackRemoteInterfaceNotification: offered by the callback object of CreateDevice.
 * OnRemoteInterfaceArrival runs on the PnP worker once per enabled instance of a class the
 * device registered for (RegisterRemoteInterfaceNotification). The Init object is valid only
 * during the call: CreateRemoteInterface must be called from inside it. */
#define PNPKIT_IPNPCALLBACKREMOTEINTERFACENOTIFICATION_METHODS(T) \
    PNPKIT_IUNKNOWN_METHODS(T) \
    void (*OnRemoteInterfaceArrival)(T *This, IWDFRemoteInterfaceInitialize *FxRemoteInterfaceInit);
PNPKIT_DECLARE_INTERFACE(IPnpCallbackRemoteInterfaceNotification, PNPKIT_IPNPCALLBACKREMOTEINTERFACENOTIFICATION_METHODS);
#define IPnpCallbackRemoteInterfaceNotification_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IPnpCallbackRemoteInterfaceNotification_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IPnpCallbackRemoteInterfaceNotification_Release(This) ((This)->lpVtbl->Release(This))
#define IPnpCallbackRemoteInterfaceNotification_OnRemoteInterfaceArrival(This, i) \
    ((This)->lpVtbl->OnRemoteInterfaceArrival(This, i))

/* IRemoteInterfaceCallbackEvent: a custom event of the interface's device (PostEvent,
 * WdfDevicePostEvent, IoReportTargetDeviceChange[Asynchronous]). pbData and cbDataSize are the
 * custom data (Size - 36 bytes); bytes from NameBufferOffset on are UTF-16 text, and
 * 0xFFFFFFFF means none. Delivered only while a remote target opened on this remote interface
 * with OpenRemoteInterface is open or closed for query-remove. pbData is valid during the
 * call. */
#define PNPKIT_IREMOTEINTERFACECALLBACKEVENT_METHODS(T) \
    PNPKIT_IUNKNOWN_METHODS(T) \
    void (*OnRemoteInterfaceEvent)(T *This, IWDFRemoteInterface *pWdfRemoteInterface, REFGUID EventGuid, BYTE *pbData, \
                                   DWORD cbDataSize, DWORD NameBufferOffset);
PNPKIT_DECLARE_INTERFACE(IRemoteInterfaceCallbackEvent, PNPKIT_IREMOTEINTERFACECALLBACKEVENT_METHODS);
#define IRemoteInterfaceCallbackEvent_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IRemoteInterfaceCallbackEvent_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IRemoteInterfaceCallbackEvent_Release(This) ((This)->lpVtbl->Release(This))
#define IRemoteInterfaceCallbackEvent_OnRemoteInterfaceEvent(This, ri, g, p, n, off) \
    ((This)->lpVtbl->OnRemoteInterfaceEvent(This, ri, g, p, n, off))

/* IRemoteInterfaceCallbackRemoval: the instance was disabled (by its driver or by removal of
 * its device). The driver calls DeleteWdfObject on the remote interface and releases its
 * references. Without this interface the framework deletes the remote interface object
 * itself. A remote target opened through it is not closed by this. */
#define PNPKIT_IREMOTEINTERFACECALLBACKREMOVAL_METHODS(T) \
    PNPKIT_IUNKNOWN_METHODS(T) \
    void (*OnRemoteInterfaceRemoval)(T *This, IWDFRemoteInterface *pWdfRemoteInterface);
PNPKIT_DECLARE_INTERFACE(IRemoteInterfaceCallbackRemoval, PNPKIT_IREMOTEINTERFACECALLBACKREMOVAL_METHODS);
#define IRemoteInterfaceCallbackRemoval_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IRemoteInterfaceCallbackRemoval_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IRemoteInterfaceCallbackRemoval_Release(This) ((This)->lpVtbl->Release(This))
#define IRemoteInterfaceCallbackRemoval_OnRemoteInterfaceRemoval(This, ri) ((This)->lpVtbl->OnRemoteInterfaceRemoval(This, ri))

/* IRemoteTargetCallbackRemoval: removal of the remote target's device.
 *   OnRemoteTargetQueryRemove: TRUE allows the removal (call CloseForQueryRemove first; a
 *     handle left open makes the PnP manager veto); FALSE vetoes.
 *   OnRemoteTargetRemoveCanceled: the removal did not happen; call Reopen.
 *   OnRemoteTargetRemoveComplete: the device is gone; call Close.
 * Without this interface the framework closes for query-remove and allows, reopens on cancel,
 * and closes on completion. */
#define PNPKIT_IREMOTETARGETCALLBACKREMOVAL_METHODS(T) \
    PNPKIT_IUNKNOWN_METHODS(T) \
    BOOL (*OnRemoteTargetQueryRemove)(T *This, IWDFRemoteTarget *pWdfRemoteTarget); \
    void (*OnRemoteTargetRemoveCanceled)(T *This, IWDFRemoteTarget *pWdfRemoteTarget); \
    void (*OnRemoteTargetRemoveComplete)(T *This, IWDFRemoteTarget *pWdfRemoteTarget);
PNPKIT_DECLARE_INTERFACE(IRemoteTargetCallbackRemoval, PNPKIT_IREMOTETARGETCALLBACKREMOVAL_METHODS);
#define IRemoteTargetCallbackRemoval_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IRemoteTargetCallbackRemoval_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IRemoteTargetCallbackRemoval_Release(This) ((This)->lpVtbl->Release(This))
#define IRemoteTargetCallbackRemoval_OnRemoteTargetQueryRemove(This, t) ((This)->lpVtbl->OnRemoteTargetQueryRemove(This, t))
#define IRemoteTargetCallbackRemoval_OnRemoteTargetRemoveCanceled(This, t) ((This)->lpVtbl->OnRemoteTargetRemoveCanceled(This, t))
#define IRemoteTargetCallbackRemoval_OnRemoteTargetRemoveComplete(This, t) ((This)->lpVtbl->OnRemoteTargetRemoveComplete(This, t))

/* Queue callbacks, offered by the callback object of CreateIoQueue. The request is borrowed;
 * the driver completes it (Complete / CompleteWithInformation) now or later.
 *   IQueueCallbackCreate::OnCreateFile: an open of the device (the queue receives the device's
 *     create requests). pWdfFileObject->RetrieveFileName gives `\<refstring>` plus any text the
 *     opener appended. Complete with S_OK to accept the open.
 *   IQueueCallbackDefaultIoHandler: every request type without a more specific callback.
 * A request with no callback for it completes with HRESULT_FROM_NT(STATUS_INVALID_DEVICE_REQUEST). */
#define PNPKIT_IQUEUECALLBACKCREATE_METHODS(T) \
    PNPKIT_IUNKNOWN_METHODS(T) \
    void (*OnCreateFile)(T *This, IWDFIoQueue *pWdfQueue, IWDFIoRequest *pWdfRequest, IWDFFile *pWdfFileObject);
PNPKIT_DECLARE_INTERFACE(IQueueCallbackCreate, PNPKIT_IQUEUECALLBACKCREATE_METHODS);
#define IQueueCallbackCreate_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IQueueCallbackCreate_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IQueueCallbackCreate_Release(This) ((This)->lpVtbl->Release(This))
#define IQueueCallbackCreate_OnCreateFile(This, q, r, f) ((This)->lpVtbl->OnCreateFile(This, q, r, f))

#define PNPKIT_IQUEUECALLBACKDEVICEIOCONTROL_METHODS(T) \
    PNPKIT_IUNKNOWN_METHODS(T) \
    void (*OnDeviceIoControl)(T *This, IWDFIoQueue *pWdfQueue, IWDFIoRequest *pWdfRequest, ULONG ControlCode, \
                              SIZE_T InputBufferSizeInBytes, SIZE_T OutputBufferSizeInBytes);
PNPKIT_DECLARE_INTERFACE(IQueueCallbackDeviceIoControl, PNPKIT_IQUEUECALLBACKDEVICEIOCONTROL_METHODS);
#define IQueueCallbackDeviceIoControl_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IQueueCallbackDeviceIoControl_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IQueueCallbackDeviceIoControl_Release(This) ((This)->lpVtbl->Release(This))
#define IQueueCallbackDeviceIoControl_OnDeviceIoControl(This, q, r, c, i, o) \
    ((This)->lpVtbl->OnDeviceIoControl(This, q, r, c, i, o))

#define PNPKIT_IQUEUECALLBACKREAD_METHODS(T) \
    PNPKIT_IUNKNOWN_METHODS(T) \
    void (*OnRead)(T *This, IWDFIoQueue *pWdfQueue, IWDFIoRequest *pWdfRequest, SIZE_T NumOfBytesToRead);
PNPKIT_DECLARE_INTERFACE(IQueueCallbackRead, PNPKIT_IQUEUECALLBACKREAD_METHODS);
#define IQueueCallbackRead_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IQueueCallbackRead_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IQueueCallbackRead_Release(This) ((This)->lpVtbl->Release(This))
#define IQueueCallbackRead_OnRead(This, q, r, n) ((This)->lpVtbl->OnRead(This, q, r, n))

#define PNPKIT_IQUEUECALLBACKWRITE_METHODS(T) \
    PNPKIT_IUNKNOWN_METHODS(T) \
    void (*OnWrite)(T *This, IWDFIoQueue *pWdfQueue, IWDFIoRequest *pWdfRequest, SIZE_T NumOfBytesToWrite);
PNPKIT_DECLARE_INTERFACE(IQueueCallbackWrite, PNPKIT_IQUEUECALLBACKWRITE_METHODS);
#define IQueueCallbackWrite_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IQueueCallbackWrite_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IQueueCallbackWrite_Release(This) ((This)->lpVtbl->Release(This))
#define IQueueCallbackWrite_OnWrite(This, q, r, n) ((This)->lpVtbl->OnWrite(This, q, r, n))

#define PNPKIT_IQUEUECALLBACKDEFAULTIOHANDLER_METHODS(T) \
    PNPKIT_IUNKNOWN_METHODS(T) \
    void (*OnDefaultIoHandler)(T *This, IWDFIoQueue *pWdfQueue, IWDFIoRequest *pWdfRequest);
PNPKIT_DECLARE_INTERFACE(IQueueCallbackDefaultIoHandler, PNPKIT_IQUEUECALLBACKDEFAULTIOHANDLER_METHODS);
#define IQueueCallbackDefaultIoHandler_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IQueueCallbackDefaultIoHandler_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IQueueCallbackDefaultIoHandler_Release(This) ((This)->lpVtbl->Release(This))
#define IQueueCallbackDefaultIoHandler_OnDefaultIoHandler(This, q, r) ((This)->lpVtbl->OnDefaultIoHandler(This, q, r))

/* IRequestCallbackRequestCompletion (IWDFIoRequest::SetCompletionCallback): an asynchronous
 * send completed. pContext is the one given to SetCompletionCallback; the params are borrowed. */
#define PNPKIT_IREQUESTCALLBACKREQUESTCOMPLETION_METHODS(T) \
    PNPKIT_IUNKNOWN_METHODS(T) \
    void (*OnCompletion)(T *This, IWDFIoRequest *pWdfRequest, IWDFIoTarget *pIoTarget, \
                         IWDFRequestCompletionParams *pParams, void *pContext);
PNPKIT_DECLARE_INTERFACE(IRequestCallbackRequestCompletion, PNPKIT_IREQUESTCALLBACKREQUESTCOMPLETION_METHODS);
#define IRequestCallbackRequestCompletion_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IRequestCallbackRequestCompletion_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IRequestCallbackRequestCompletion_Release(This) ((This)->lpVtbl->Release(This))
#define IRequestCallbackRequestCompletion_OnCompletion(This, r, t, p, c) ((This)->lpVtbl->OnCompletion(This, r, t, p, c))

/* =============================================================================================
 * Framework interfaces
 * ============================================================================================= */

/* IWDFDriver (wraps the WDFDRIVER).
 *   CreateDevice: from OnDeviceAdd only. Creates the device from pDeviceInit; pCallbackInterface
 *     (optional) is asked for IPnpCallbackRemoteInterfaceNotification. E_POINTER (ppDevice),
 *     E_INVALIDARG (pDeviceInit not the one of the current OnDeviceAdd, or used already), the
 *     mapped status of WdfDeviceCreate.
 *   CreateWdfObject: a plain framework object (IWDFObject only) under pParentObject (NULL: the
 *     driver); pCallbackInterface's IObjectCleanup, if it answers one, gets OnCleanup when the
 *     object is deleted. E_POINTER (NULL ppWdfObject), E_INVALIDARG (a parent not of this layer).
 *   CreatePreallocatedWdfMemory: a memory object over the caller's buffer (the caller keeps it
 *     alive while the object exists). pParentObject (optional; default: the driver) deletes it
 *     with itself. E_POINTER, E_INVALIDARG (NULL buffer or size 0), E_OUTOFMEMORY.
 *   CreateWdfMemory: the same with a buffer the object owns (zeroed). */
#define PNPKIT_IWDFDRIVER_METHODS(T) \
    PNPKIT_IWDFOBJECT_METHODS(T) \
    HRESULT (*CreateDevice)(T *This, IWDFDeviceInitialize *pDeviceInit, IUnknown *pCallbackInterface, \
                            IWDFDevice **ppDevice); \
    HRESULT (*CreateWdfObject)(T *This, IUnknown *pCallbackInterface, IWDFObject *pParentObject, IWDFObject **ppWdfObject); \
    HRESULT (*CreatePreallocatedWdfMemory)(T *This, BYTE *pBuff, SIZE_T BufferSize, IUnknown *pCallbackInterface, \
                                           IWDFObject *pParentObject, IWDFMemory **ppWdfMemory); \
    HRESULT (*CreateWdfMemory)(T *This, SIZE_T BufferSize, IUnknown *pCallbackInterface, IWDFObject *pParentObject, \
                               IWDFMemory **ppWdfMemory);
PNPKIT_DECLARE_INTERFACE(IWDFDriver, PNPKIT_IWDFDRIVER_METHODS);
#define IWDFDriver_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IWDFDriver_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IWDFDriver_Release(This) ((This)->lpVtbl->Release(This))
#define IWDFDriver_DeleteWdfObject(This) ((This)->lpVtbl->DeleteWdfObject(This))
#define IWDFDriver_AssignContext(This, cb, data) ((This)->lpVtbl->AssignContext(This, cb, data))
#define IWDFDriver_RetrieveContext(This, ppv) ((This)->lpVtbl->RetrieveContext(This, ppv))
#define IWDFDriver_AcquireLock(This) ((This)->lpVtbl->AcquireLock(This))
#define IWDFDriver_ReleaseLock(This) ((This)->lpVtbl->ReleaseLock(This))
#define IWDFDriver_CreateDevice(This, init, cb, ppDevice) ((This)->lpVtbl->CreateDevice(This, init, cb, ppDevice))
#define IWDFDriver_CreateWdfObject(This, cb, parent, pp) ((This)->lpVtbl->CreateWdfObject(This, cb, parent, pp))
#define IWDFDriver_CreatePreallocatedWdfMemory(This, buf, size, cb, parent, pp) \
    ((This)->lpVtbl->CreatePreallocatedWdfMemory(This, buf, size, cb, parent, pp))
#define IWDFDriver_CreateWdfMemory(This, size, cb, parent, pp) ((This)->lpVtbl->CreateWdfMemory(This, size, cb, parent, pp))

/* IWDFDeviceInitialize (wraps the WDFDEVICE_INIT of one OnDeviceAdd; valid during it).
 *   SetLockingConstraint: WdfDeviceLevel serializes the device's queue callbacks (WDF
 *     synchronization scope Device); None (the default) does not. Other values are ignored.
 *   SetFilter: the device is a filter (WdfFdoInitSetFilter).
 *   SetPowerPolicyOwnership: recorded.
 *   AutoForwardCreateCleanupClose: WDF's AutoForwardCleanupClose (WdfTrue, WdfFalse,
 *     WdfUseDefault; other values are ignored).
 *   Every method does nothing once OnDeviceAdd returned or CreateDevice used the object.
 *   RetrieveDeviceInstanceId: the device instance id (SWD\\ENUM\\ID), two-call rule (NULL Buffer:
 *     *pdwSizeInChars gets the size with the NUL; too small: ERROR_INSUFFICIENT_BUFFER). */
#define PNPKIT_IWDFDEVICEINITIALIZE_METHODS(T) \
    PNPKIT_IUNKNOWN_METHODS(T) \
    void (*SetLockingConstraint)(T *This, WDF_CALLBACK_CONSTRAINT LockType); \
    void (*SetPowerPolicyOwnership)(T *This, BOOL fTrue); \
    void (*SetFilter)(T *This); \
    void (*AutoForwardCreateCleanupClose)(T *This, WDF_TRI_STATE State); \
    HRESULT (*RetrieveDeviceInstanceId)(T *This, PWSTR Buffer, DWORD *pdwSizeInChars);
PNPKIT_DECLARE_INTERFACE(IWDFDeviceInitialize, PNPKIT_IWDFDEVICEINITIALIZE_METHODS);
#define IWDFDeviceInitialize_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IWDFDeviceInitialize_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IWDFDeviceInitialize_Release(This) ((This)->lpVtbl->Release(This))
#define IWDFDeviceInitialize_SetLockingConstraint(This, t) ((This)->lpVtbl->SetLockingConstraint(This, t))
#define IWDFDeviceInitialize_SetPowerPolicyOwnership(This, b) ((This)->lpVtbl->SetPowerPolicyOwnership(This, b))
#define IWDFDeviceInitialize_SetFilter(This) ((This)->lpVtbl->SetFilter(This))
#define IWDFDeviceInitialize_AutoForwardCreateCleanupClose(This, s) ((This)->lpVtbl->AutoForwardCreateCleanupClose(This, s))
#define IWDFDeviceInitialize_RetrieveDeviceInstanceId(This, b, n) ((This)->lpVtbl->RetrieveDeviceInstanceId(This, b, n))

/* IWDFDevice (wraps the WDFDEVICE; the framework deletes it at removal).
 *   RetrieveDriver: the IWDFDriver (a reference for the caller). Nothing on a NULL pointer.
 *   CreateIoQueue: a queue of the device. pCallbackInterface is asked for IQueueCallbackCreate,
 *     ...DeviceIoControl, ...Read, ...Write and ...DefaultIoHandler. bDefaultQueue: the queue
 *     receives the request types no other queue took. A queue whose callback object answers
 *     IQueueCallbackCreate receives the device's creates (one per device); without such a
 *     queue the framework accepts opens by itself. IWDFDevice::ConfigureRequestDispatching is
 *     not built, so a queue that is neither receives nothing. E_POINTER, the mapped statuses of
 *     WdfIoQueueCreate and WdfDeviceConfigureRequestDispatching.
 *   CreateRequest: a request the driver formats and sends (pParentObject optional, default the
 *     device; pCallbackInterface is accepted and not used). Delete it with DeleteWdfObject when
 *     done. E_POINTER, E_INVALIDARG (a foreign parent), E_OUTOFMEMORY.
 *   CreateDeviceInterface: registers an instance (class, optional reference string) on the
 *     device; instances created during OnDeviceAdd are enabled at start and disabled at
 *     removal. E_INVALIDARG (NULL GUID, a reference string with \ or /), E_OUTOFMEMORY.
 *   AssignDeviceInterfaceState: enables or disables one instance (equal GUID and reference
 *     string). S_OK, also when it is in that state already (no notification then).
 *     HRESULT_FROM_WIN32(ERROR_NOT_FOUND) (0x80070490): no such instance. E_INVALIDARG: NULL
 *     GUID. Disabling refuses new opens; handles already open keep working.
 *   PostEvent: a custom event on the device, to every driver and application registered on
 *     it (asynchronous, NameBufferOffset -1). E_INVALIDARG: EventType not WdfEventBroadcast,
 *     NULL GUID, NULL data with a size, a system PnP event GUID (HRESULT_FROM_NT(
 *     STATUS_INVALID_DEVICE_REQUEST)). HRESULT_FROM_WIN32(ERROR_NOT_ENOUGH_MEMORY)
 *     (0x80070008): more than 0xFFFF - 36 bytes. */
#define PNPKIT_IWDFDEVICE_METHODS(T) \
    PNPKIT_IWDFOBJECT_METHODS(T) \
    void (*RetrieveDriver)(T *This, IWDFDriver **ppWdfDriver); \
    HRESULT (*CreateIoQueue)(T *This, IUnknown *pCallbackInterface, BOOL bDefaultQueue, \
                             WDF_IO_QUEUE_DISPATCH_TYPE DispatchType, BOOL bPowerManaged, \
                             BOOL bAllowZeroLengthRequests, IWDFIoQueue **ppIoQueue); \
    HRESULT (*CreateRequest)(T *This, IUnknown *pCallbackInterface, IWDFObject *pParentObject, \
                             IWDFIoRequest **ppRequest); \
    HRESULT (*CreateDeviceInterface)(T *This, REFGUID pDeviceInterfaceGuid, PCWSTR pReferenceString); \
    HRESULT (*AssignDeviceInterfaceState)(T *This, REFGUID pDeviceInterfaceGuid, PCWSTR pReferenceString, BOOL Enable); \
    HRESULT (*PostEvent)(T *This, REFGUID EventGuid, WDF_EVENT_TYPE EventType, BYTE *pbData, DWORD cbDataSize);
PNPKIT_DECLARE_INTERFACE(IWDFDevice, PNPKIT_IWDFDEVICE_METHODS);

/* IWDFDevice2 (the same object; QueryInterface for IID_IWDFDevice2).
 *   RegisterRemoteInterfaceNotification: OnRemoteInterfaceArrival for every later arrival of
 *     the class, and with IncludeExistingInterfaces for every instance enabled now, once each.
 *     HRESULT_FROM_WIN32(ERROR_INVALID_STATE) (0x8007139F): the device's callback object has
 *     no IPnpCallbackRemoteInterfaceNotification. HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS)
 *     (0x800700B7): the class is registered on this device already. E_INVALIDARG: NULL GUID.
 *     The registration ends with the device.
 *   CreateRemoteInterface: from inside OnRemoteInterfaceArrival, with its Init; the object is
 *     a child of the device. pCallbackInterface (optional) is asked for
 *     IRemoteInterfaceCallbackEvent and IRemoteInterfaceCallbackRemoval. 0x8007139F: called
 *     outside that callback, or with the Init of another device or another call. E_POINTER,
 *     E_INVALIDARG (NULL Init), E_OUTOFMEMORY.
 *   CreateRemoteTarget: a remote target, Closed until opened. pCallbackInterface (optional) is
 *     asked for IRemoteTargetCallbackRemoval; pParentObject (optional, default the device) must
 *     be the device or one of its descendants (E_INVALIDARG otherwise). E_POINTER,
 *     E_OUTOFMEMORY. */
#define PNPKIT_IWDFDEVICE2_METHODS(T) \
    PNPKIT_IWDFDEVICE_METHODS(T) \
    HRESULT (*RegisterRemoteInterfaceNotification)(T *This, LPCGUID pDeviceInterfaceGuid, BOOL IncludeExistingInterfaces); \
    HRESULT (*CreateRemoteInterface)(T *This, IWDFRemoteInterfaceInitialize *pRemoteInterfaceInit, \
                                     IUnknown *pCallbackInterface, IWDFRemoteInterface **ppRemoteInterface); \
    HRESULT (*CreateRemoteTarget)(T *This, IUnknown *pCallbackInterface, IWDFObject *pParentObject, \
                                  IWDFRemoteTarget **ppRemoteTarget);
PNPKIT_DECLARE_INTERFACE(IWDFDevice2, PNPKIT_IWDFDEVICE2_METHODS);

#define IWDFDevice_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IWDFDevice_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IWDFDevice_Release(This) ((This)->lpVtbl->Release(This))
#define IWDFDevice_DeleteWdfObject(This) ((This)->lpVtbl->DeleteWdfObject(This))
#define IWDFDevice_AssignContext(This, cb, data) ((This)->lpVtbl->AssignContext(This, cb, data))
#define IWDFDevice_RetrieveContext(This, ppv) ((This)->lpVtbl->RetrieveContext(This, ppv))
#define IWDFDevice_AcquireLock(This) ((This)->lpVtbl->AcquireLock(This))
#define IWDFDevice_ReleaseLock(This) ((This)->lpVtbl->ReleaseLock(This))
#define IWDFDevice_RetrieveDriver(This, pp) ((This)->lpVtbl->RetrieveDriver(This, pp))
#define IWDFDevice_CreateIoQueue(This, cb, def, type, pm, zero, pp) \
    ((This)->lpVtbl->CreateIoQueue(This, cb, def, type, pm, zero, pp))
#define IWDFDevice_CreateRequest(This, cb, parent, pp) ((This)->lpVtbl->CreateRequest(This, cb, parent, pp))
#define IWDFDevice_CreateDeviceInterface(This, g, ref) ((This)->lpVtbl->CreateDeviceInterface(This, g, ref))
#define IWDFDevice_AssignDeviceInterfaceState(This, g, ref, en) ((This)->lpVtbl->AssignDeviceInterfaceState(This, g, ref, en))
#define IWDFDevice_PostEvent(This, g, type, data, size) ((This)->lpVtbl->PostEvent(This, g, type, data, size))
#define IWDFDevice2_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IWDFDevice2_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IWDFDevice2_Release(This) ((This)->lpVtbl->Release(This))
#define IWDFDevice2_DeleteWdfObject(This) ((This)->lpVtbl->DeleteWdfObject(This))
#define IWDFDevice2_AssignContext(This, cb, data) ((This)->lpVtbl->AssignContext(This, cb, data))
#define IWDFDevice2_RetrieveContext(This, ppv) ((This)->lpVtbl->RetrieveContext(This, ppv))
#define IWDFDevice2_AcquireLock(This) ((This)->lpVtbl->AcquireLock(This))
#define IWDFDevice2_ReleaseLock(This) ((This)->lpVtbl->ReleaseLock(This))
#define IWDFDevice2_RetrieveDriver(This, pp) ((This)->lpVtbl->RetrieveDriver(This, pp))
#define IWDFDevice2_CreateIoQueue(This, cb, def, type, pm, zero, pp) \
    ((This)->lpVtbl->CreateIoQueue(This, cb, def, type, pm, zero, pp))
#define IWDFDevice2_CreateRequest(This, cb, parent, pp) ((This)->lpVtbl->CreateRequest(This, cb, parent, pp))
#define IWDFDevice2_CreateDeviceInterface(This, g, ref) ((This)->lpVtbl->CreateDeviceInterface(This, g, ref))
#define IWDFDevice2_AssignDeviceInterfaceState(This, g, ref, en) ((This)->lpVtbl->AssignDeviceInterfaceState(This, g, ref, en))
#define IWDFDevice2_PostEvent(This, g, type, data, size) ((This)->lpVtbl->PostEvent(This, g, type, data, size))
#define IWDFDevice2_RegisterRemoteInterfaceNotification(This, g, incl) \
    ((This)->lpVtbl->RegisterRemoteInterfaceNotification(This, g, incl))
#define IWDFDevice2_CreateRemoteInterface(This, init, cb, pp) ((This)->lpVtbl->CreateRemoteInterface(This, init, cb, pp))
#define IWDFDevice2_CreateRemoteTarget(This, cb, parent, pp) ((This)->lpVtbl->CreateRemoteTarget(This, cb, parent, pp))

/* IWDFIoQueue (wraps a WDFQUEUE).
 *   GetDevice: the device (a reference for the caller). Nothing on a NULL pointer. */
#define PNPKIT_IWDFIOQUEUE_METHODS(T) \
    PNPKIT_IWDFOBJECT_METHODS(T) \
    void (*GetDevice)(T *This, IWDFDevice **ppWdfDevice);
PNPKIT_DECLARE_INTERFACE(IWDFIoQueue, PNPKIT_IWDFIOQUEUE_METHODS);
#define IWDFIoQueue_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IWDFIoQueue_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IWDFIoQueue_Release(This) ((This)->lpVtbl->Release(This))
#define IWDFIoQueue_DeleteWdfObject(This) ((This)->lpVtbl->DeleteWdfObject(This))
#define IWDFIoQueue_AssignContext(This, cb, data) ((This)->lpVtbl->AssignContext(This, cb, data))
#define IWDFIoQueue_RetrieveContext(This, ppv) ((This)->lpVtbl->RetrieveContext(This, ppv))
#define IWDFIoQueue_AcquireLock(This) ((This)->lpVtbl->AcquireLock(This))
#define IWDFIoQueue_ReleaseLock(This) ((This)->lpVtbl->ReleaseLock(This))
#define IWDFIoQueue_GetDevice(This, pp) ((This)->lpVtbl->GetDevice(This, pp))

/* IWDFIoRequest (wraps a WDFREQUEST: one the framework presented, or one from CreateRequest).
 *   Complete / CompleteWithInformation: completes a presented request with the HRESULT turned
 *     into an NTSTATUS (S_OK: success; HRESULT_FROM_NT(s): s; E_OUTOFMEMORY, E_INVALIDARG,
 *     HRESULT_FROM_WIN32 of ERROR_FILE_NOT_FOUND / ERROR_INVALID_STATE / ERROR_ACCESS_DENIED:
 *     their NTSTATUS; other failures: STATUS_UNSUCCESSFUL).
 *   GetType: the request type (WdfRequestTypeNoFormat for a created request not yet formatted).
 *   GetDeviceIoControlParameters, GetReadParameters, GetWriteParameters: the parameters; NULL
 *     pointers are skipped.
 *   GetInputMemory / GetOutputMemory: the request's buffers as IWDFMemory (a reference for the
 *     caller, usable until the request completes); *ppWdfMemory = NULL when there is none.
 *   GetFileObject: the IWDFFile of a presented request (a reference), or NULL.
 *   Send: sends a formatted request to pIoTarget. Flags: WDF_REQUEST_SEND_OPTION_*; Timeout in
 *     100-ns units (0 none). S_OK when sent (for a synchronous send: when it completed, its
 *     status is in GetCompletionParams); the refusal's mapped status otherwise
 *     (0x8007139F for a target that is not open). E_INVALIDARG: pIoTarget not a target.
 *   GetCompletionParams: the result of the last send (a reference for the caller).
 *   SetCompletionCallback: called when an asynchronous send completes (NULL removes it).
 *   CancelSentRequest: TRUE if the request was still outstanding. */
#define PNPKIT_IWDFIOREQUEST_METHODS(T) \
    PNPKIT_IWDFOBJECT_METHODS(T) \
    void (*CompleteWithInformation)(T *This, HRESULT CompletionStatus, SIZE_T Information); \
    void (*Complete)(T *This, HRESULT CompletionStatus); \
    WDF_REQUEST_TYPE (*GetType)(T *This); \
    void (*GetDeviceIoControlParameters)(T *This, ULONG *pControlCode, SIZE_T *pInBufferSize, SIZE_T *pOutBufferSize); \
    void (*GetReadParameters)(T *This, SIZE_T *pSizeInBytes, LONGLONG *pullOffset, ULONG *pulKey); \
    void (*GetWriteParameters)(T *This, SIZE_T *pSizeInBytes, LONGLONG *pullOffset, ULONG *pulKey); \
    void (*GetInputMemory)(T *This, IWDFMemory **ppWdfMemory); \
    void (*GetOutputMemory)(T *This, IWDFMemory **ppWdfMemory); \
    void (*GetFileObject)(T *This, IWDFFile **ppFileObject); \
    HRESULT (*Send)(T *This, IWDFIoTarget *pIoTarget, DWORD Flags, LONGLONG Timeout); \
    void (*GetCompletionParams)(T *This, IWDFRequestCompletionParams **ppCompletionParams); \
    void (*SetCompletionCallback)(T *This, IRequestCallbackRequestCompletion *pCompletionCallback, void *pContext); \
    HRESULT (*CancelSentRequest)(T *This);
PNPKIT_DECLARE_INTERFACE(IWDFIoRequest, PNPKIT_IWDFIOREQUEST_METHODS);
#define IWDFIoRequest_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IWDFIoRequest_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IWDFIoRequest_Release(This) ((This)->lpVtbl->Release(This))
#define IWDFIoRequest_DeleteWdfObject(This) ((This)->lpVtbl->DeleteWdfObject(This))
#define IWDFIoRequest_AssignContext(This, cb, data) ((This)->lpVtbl->AssignContext(This, cb, data))
#define IWDFIoRequest_RetrieveContext(This, ppv) ((This)->lpVtbl->RetrieveContext(This, ppv))
#define IWDFIoRequest_AcquireLock(This) ((This)->lpVtbl->AcquireLock(This))
#define IWDFIoRequest_ReleaseLock(This) ((This)->lpVtbl->ReleaseLock(This))
#define IWDFIoRequest_CompleteWithInformation(This, hr, info) ((This)->lpVtbl->CompleteWithInformation(This, hr, info))
#define IWDFIoRequest_Complete(This, hr) ((This)->lpVtbl->Complete(This, hr))
#define IWDFIoRequest_GetType(This) ((This)->lpVtbl->GetType(This))
#define IWDFIoRequest_GetDeviceIoControlParameters(This, c, i, o) ((This)->lpVtbl->GetDeviceIoControlParameters(This, c, i, o))
#define IWDFIoRequest_GetReadParameters(This, s, o, k) ((This)->lpVtbl->GetReadParameters(This, s, o, k))
#define IWDFIoRequest_GetWriteParameters(This, s, o, k) ((This)->lpVtbl->GetWriteParameters(This, s, o, k))
#define IWDFIoRequest_GetInputMemory(This, pp) ((This)->lpVtbl->GetInputMemory(This, pp))
#define IWDFIoRequest_GetOutputMemory(This, pp) ((This)->lpVtbl->GetOutputMemory(This, pp))
#define IWDFIoRequest_GetFileObject(This, pp) ((This)->lpVtbl->GetFileObject(This, pp))
#define IWDFIoRequest_Send(This, t, flags, timeout) ((This)->lpVtbl->Send(This, t, flags, timeout))
#define IWDFIoRequest_GetCompletionParams(This, pp) ((This)->lpVtbl->GetCompletionParams(This, pp))
#define IWDFIoRequest_SetCompletionCallback(This, cb, ctx) ((This)->lpVtbl->SetCompletionCallback(This, cb, ctx))
#define IWDFIoRequest_CancelSentRequest(This) ((This)->lpVtbl->CancelSentRequest(This))

/* IWDFRequestCompletionParams: a snapshot of a completed send (not a framework object). */
#define PNPKIT_IWDFREQUESTCOMPLETIONPARAMS_METHODS(T) \
    PNPKIT_IUNKNOWN_METHODS(T) \
    HRESULT (*GetCompletionStatus)(T *This); \
    ULONG_PTR (*GetInformation)(T *This); \
    WDF_REQUEST_TYPE (*GetCompletedRequestType)(T *This);
PNPKIT_DECLARE_INTERFACE(IWDFRequestCompletionParams, PNPKIT_IWDFREQUESTCOMPLETIONPARAMS_METHODS);
#define IWDFRequestCompletionParams_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IWDFRequestCompletionParams_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IWDFRequestCompletionParams_Release(This) ((This)->lpVtbl->Release(This))
#define IWDFRequestCompletionParams_GetCompletionStatus(This) ((This)->lpVtbl->GetCompletionStatus(This))
#define IWDFRequestCompletionParams_GetInformation(This) ((This)->lpVtbl->GetInformation(This))
#define IWDFRequestCompletionParams_GetCompletedRequestType(This) ((This)->lpVtbl->GetCompletedRequestType(This))

/* IWDFFile (wraps a WDFFILEOBJECT).
 *   RetrieveFileName: the name that followed the device part of the opened path:
 *     `\<refstring>` for an interface with a reference string, then any text the opener
 *     appended; empty for a plain open. *pdwFileNameLengthInChars is the buffer's size in
 *     characters on entry and the name's length including the NUL on return. A NULL buffer
 *     with length 0: S_OK and the length. A buffer too small:
 *     HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER) (0x8007007A) and the length. E_POINTER:
 *     NULL length pointer, or a NULL buffer with a nonzero length.
 *   RetrieveDevice: the device (a reference). */
#define PNPKIT_IWDFFILE_METHODS(T) \
    PNPKIT_IWDFOBJECT_METHODS(T) \
    HRESULT (*RetrieveFileName)(T *This, PWSTR pFileName, DWORD *pdwFileNameLengthInChars); \
    void (*RetrieveDevice)(T *This, IWDFDevice **ppWdfDevice);
PNPKIT_DECLARE_INTERFACE(IWDFFile, PNPKIT_IWDFFILE_METHODS);
#define IWDFFile_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IWDFFile_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IWDFFile_Release(This) ((This)->lpVtbl->Release(This))
#define IWDFFile_DeleteWdfObject(This) ((This)->lpVtbl->DeleteWdfObject(This))
#define IWDFFile_AssignContext(This, cb, data) ((This)->lpVtbl->AssignContext(This, cb, data))
#define IWDFFile_RetrieveContext(This, ppv) ((This)->lpVtbl->RetrieveContext(This, ppv))
#define IWDFFile_AcquireLock(This) ((This)->lpVtbl->AcquireLock(This))
#define IWDFFile_ReleaseLock(This) ((This)->lpVtbl->ReleaseLock(This))
#define IWDFFile_RetrieveFileName(This, buf, len) ((This)->lpVtbl->RetrieveFileName(This, buf, len))
#define IWDFFile_RetrieveDevice(This, pp) ((This)->lpVtbl->RetrieveDevice(This, pp))

/* IWDFMemory (a WDFMEMORY from CreatePreallocatedWdfMemory / CreateWdfMemory, or a view of a
 * request's buffer from GetInputMemory / GetOutputMemory).
 *   GetSize; GetDataBuffer (BufferSize optional).
 *   CopyFromBuffer / CopyToBuffer: E_INVALIDARG (NULL buffer), HRESULT_FROM_NT(
 *     STATUS_BUFFER_TOO_SMALL) when offset + count pass the end; nothing is copied then. */
#define PNPKIT_IWDFMEMORY_METHODS(T) \
    PNPKIT_IWDFOBJECT_METHODS(T) \
    SIZE_T (*GetSize)(T *This); \
    void *(*GetDataBuffer)(T *This, SIZE_T *BufferSize); \
    HRESULT (*CopyFromBuffer)(T *This, SIZE_T DestOffset, void *SourceBuffer, SIZE_T NumOfBytesToCopyFrom); \
    HRESULT (*CopyToBuffer)(T *This, SIZE_T SourceOffset, void *DestinationBuffer, SIZE_T NumOfBytesToCopyTo);
PNPKIT_DECLARE_INTERFACE(IWDFMemory, PNPKIT_IWDFMEMORY_METHODS);
#define IWDFMemory_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IWDFMemory_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IWDFMemory_Release(This) ((This)->lpVtbl->Release(This))
#define IWDFMemory_DeleteWdfObject(This) ((This)->lpVtbl->DeleteWdfObject(This))
#define IWDFMemory_AssignContext(This, cb, data) ((This)->lpVtbl->AssignContext(This, cb, data))
#define IWDFMemory_RetrieveContext(This, ppv) ((This)->lpVtbl->RetrieveContext(This, ppv))
#define IWDFMemory_AcquireLock(This) ((This)->lpVtbl->AcquireLock(This))
#define IWDFMemory_ReleaseLock(This) ((This)->lpVtbl->ReleaseLock(This))
#define IWDFMemory_GetSize(This) ((This)->lpVtbl->GetSize(This))
#define IWDFMemory_GetDataBuffer(This, pn) ((This)->lpVtbl->GetDataBuffer(This, pn))
#define IWDFMemory_CopyFromBuffer(This, off, src, n) ((This)->lpVtbl->CopyFromBuffer(This, off, src, n))
#define IWDFMemory_CopyToBuffer(This, off, dst, n) ((This)->lpVtbl->CopyToBuffer(This, off, dst, n))

/* IWDFIoTarget (the formatting methods of every target; pnpkit's UMDF 1 targets are remote
 * targets).
 *   FormatRequestForIoctl / ForRead / ForWrite: formats a request created with CreateRequest
 *     for this target, with IWDFMemory objects from CreatePreallocatedWdfMemory /
 *     CreateWdfMemory (optional where WDF allows) and optional offsets. pFile must be NULL
 *     (the target's own file is used). E_INVALIDARG: a NULL or foreign request, a memory view
 *     of another request, a non-NULL pFile; the mapped status of WdfIoTargetFormatRequestFor*.
 *   CancelSentRequestsForFile: not built (E_NOTIMPL). */
#define PNPKIT_IWDFIOTARGET_METHODS(T) \
    PNPKIT_IWDFOBJECT_METHODS(T) \
    HRESULT (*FormatRequestForRead)(T *This, IWDFIoRequest *pRequest, IWDFFile *pFile, IWDFMemory *pOutputMemory, \
                                    PWDFMEMORY_OFFSET pOutputMemoryOffset, PLONGLONG DeviceOffset); \
    HRESULT (*FormatRequestForWrite)(T *This, IWDFIoRequest *pRequest, IWDFFile *pFile, IWDFMemory *pInputMemory, \
                                     PWDFMEMORY_OFFSET pInputMemoryOffset, PLONGLONG DeviceOffset); \
    HRESULT (*FormatRequestForIoctl)(T *This, IWDFIoRequest *pRequest, ULONG IoctlCode, IWDFFile *pFile, \
                                     IWDFMemory *pInputMemory, PWDFMEMORY_OFFSET pInputMemoryOffset, \
                                     IWDFMemory *pOutputMemory, PWDFMEMORY_OFFSET pOutputMemoryOffset); \
    HRESULT (*CancelSentRequestsForFile)(T *This, IWDFFile *pFile);
PNPKIT_DECLARE_INTERFACE(IWDFIoTarget, PNPKIT_IWDFIOTARGET_METHODS);
#define IWDFIoTarget_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IWDFIoTarget_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IWDFIoTarget_Release(This) ((This)->lpVtbl->Release(This))
#define IWDFIoTarget_DeleteWdfObject(This) ((This)->lpVtbl->DeleteWdfObject(This))
#define IWDFIoTarget_AssignContext(This, cb, data) ((This)->lpVtbl->AssignContext(This, cb, data))
#define IWDFIoTarget_RetrieveContext(This, ppv) ((This)->lpVtbl->RetrieveContext(This, ppv))
#define IWDFIoTarget_AcquireLock(This) ((This)->lpVtbl->AcquireLock(This))
#define IWDFIoTarget_ReleaseLock(This) ((This)->lpVtbl->ReleaseLock(This))
#define IWDFIoTarget_FormatRequestForRead(This, r, f, m, o, d) ((This)->lpVtbl->FormatRequestForRead(This, r, f, m, o, d))
#define IWDFIoTarget_FormatRequestForWrite(This, r, f, m, o, d) ((This)->lpVtbl->FormatRequestForWrite(This, r, f, m, o, d))
#define IWDFIoTarget_FormatRequestForIoctl(This, r, c, f, im, io, om, oo) \
    ((This)->lpVtbl->FormatRequestForIoctl(This, r, c, f, im, io, om, oo))
#define IWDFIoTarget_CancelSentRequestsForFile(This, f) ((This)->lpVtbl->CancelSentRequestsForFile(This, f))

/* IWDFRemoteTarget (wraps a remote WDFIOTARGET; io.md 1.3 and 1.4).
 *   GetState: WDF_IO_TARGET_STATE (Closed before the first open; WdfIoTargetDeleted once the
 *     object is gone).
 *   Stop(Action) / Start: WdfIoTargetStop / WdfIoTargetStart.
 *   OpenFileByName: opens a path (a device name or a symbolic link). E_INVALIDARG (NULL name).
 *   OpenRemoteInterface: opens the interface's link with pszRelativeFileName (optional)
 *     appended verbatim; the target is Started on success and the remote interface receives
 *     the device's custom events until Close. A software-enumerated device's interface
 *     (instance id SWD\ or SW\) must be opened from a work item: a call from inside a UMDF 1
 *     PnP callback (OnRemoteInterfaceArrival, ...) is a verifier stop, and outside verifier
 *     mode it works. E_INVALIDARG (NULL or foreign remote interface),
 *     HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) (0x80070002): the interface has gone or is
 *     disabled; 0x8007139F: the target is open already or deleted; E_OUTOFMEMORY.
 *   OpenFileByHandle: not built (E_NOTIMPL).
 *   Close: closes (Closed); custom events stop. CloseForQueryRemove: closes and keeps what
 *     Reopen needs; always S_OK. Reopen: opens again what the last open opened. */
#define PNPKIT_IWDFREMOTETARGET_METHODS(T) \
    PNPKIT_IWDFIOTARGET_METHODS(T) \
    WDF_IO_TARGET_STATE (*GetState)(T *This); \
    HRESULT (*Stop)(T *This, WDF_IO_TARGET_SENT_IO_ACTION Action); \
    HRESULT (*Start)(T *This); \
    HRESULT (*OpenFileByName)(T *This, PCWSTR pszFileName, DWORD DesiredAccess, PUMDF_IO_TARGET_OPEN_PARAMS pOpenParams); \
    HRESULT (*OpenRemoteInterface)(T *This, IWDFRemoteInterface *pRemoteInterface, PCWSTR pszRelativeFileName, \
                                   DWORD DesiredAccess, PUMDF_IO_TARGET_OPEN_PARAMS pOpenParams); \
    HRESULT (*OpenFileByHandle)(T *This, HANDLE hFileHandle); \
    HRESULT (*Close)(T *This); \
    HRESULT (*CloseForQueryRemove)(T *This); \
    HRESULT (*Reopen)(T *This);
PNPKIT_DECLARE_INTERFACE(IWDFRemoteTarget, PNPKIT_IWDFREMOTETARGET_METHODS);
#define IWDFRemoteTarget_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IWDFRemoteTarget_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IWDFRemoteTarget_Release(This) ((This)->lpVtbl->Release(This))
#define IWDFRemoteTarget_DeleteWdfObject(This) ((This)->lpVtbl->DeleteWdfObject(This))
#define IWDFRemoteTarget_AssignContext(This, cb, data) ((This)->lpVtbl->AssignContext(This, cb, data))
#define IWDFRemoteTarget_RetrieveContext(This, ppv) ((This)->lpVtbl->RetrieveContext(This, ppv))
#define IWDFRemoteTarget_AcquireLock(This) ((This)->lpVtbl->AcquireLock(This))
#define IWDFRemoteTarget_ReleaseLock(This) ((This)->lpVtbl->ReleaseLock(This))
#define IWDFRemoteTarget_FormatRequestForRead(This, r, f, m, o, d) ((This)->lpVtbl->FormatRequestForRead(This, r, f, m, o, d))
#define IWDFRemoteTarget_FormatRequestForWrite(This, r, f, m, o, d) ((This)->lpVtbl->FormatRequestForWrite(This, r, f, m, o, d))
#define IWDFRemoteTarget_FormatRequestForIoctl(This, r, c, f, im, io, om, oo) \
    ((This)->lpVtbl->FormatRequestForIoctl(This, r, c, f, im, io, om, oo))
#define IWDFRemoteTarget_CancelSentRequestsForFile(This, f) ((This)->lpVtbl->CancelSentRequestsForFile(This, f))
#define IWDFRemoteTarget_GetState(This) ((This)->lpVtbl->GetState(This))
#define IWDFRemoteTarget_Stop(This, a) ((This)->lpVtbl->Stop(This, a))
#define IWDFRemoteTarget_Start(This) ((This)->lpVtbl->Start(This))
#define IWDFRemoteTarget_OpenFileByName(This, n, a, p) ((This)->lpVtbl->OpenFileByName(This, n, a, p))
#define IWDFRemoteTarget_OpenRemoteInterface(This, ri, rel, a, p) ((This)->lpVtbl->OpenRemoteInterface(This, ri, rel, a, p))
#define IWDFRemoteTarget_OpenFileByHandle(This, h) ((This)->lpVtbl->OpenFileByHandle(This, h))
#define IWDFRemoteTarget_Close(This) ((This)->lpVtbl->Close(This))
#define IWDFRemoteTarget_CloseForQueryRemove(This) ((This)->lpVtbl->CloseForQueryRemove(This))
#define IWDFRemoteTarget_Reopen(This) ((This)->lpVtbl->Reopen(This))

/* IWDFRemoteInterfaceInitialize: what OnRemoteInterfaceArrival receives (valid during it).
 *   GetInterfaceGuid: the class (nothing on NULL).
 *   RetrieveSymbolicLink: the user-form link (\\?\...), with its reference string; the size
 *     rules of IWDFFile::RetrieveFileName. After the callback returned: 0x8007139F. */
#define PNPKIT_IWDFREMOTEINTERFACEINITIALIZE_METHODS(T) \
    PNPKIT_IUNKNOWN_METHODS(T) \
    void (*GetInterfaceGuid)(T *This, GUID *pDeviceInterfaceGuid); \
    HRESULT (*RetrieveSymbolicLink)(T *This, PWSTR pSymbolicLink, DWORD *pdwSymbolicLinkLengthInChars);
PNPKIT_DECLARE_INTERFACE(IWDFRemoteInterfaceInitialize, PNPKIT_IWDFREMOTEINTERFACEINITIALIZE_METHODS);
#define IWDFRemoteInterfaceInitialize_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IWDFRemoteInterfaceInitialize_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IWDFRemoteInterfaceInitialize_Release(This) ((This)->lpVtbl->Release(This))
#define IWDFRemoteInterfaceInitialize_GetInterfaceGuid(This, g) ((This)->lpVtbl->GetInterfaceGuid(This, g))
#define IWDFRemoteInterfaceInitialize_RetrieveSymbolicLink(This, b, n) ((This)->lpVtbl->RetrieveSymbolicLink(This, b, n))

/* IWDFRemoteInterface (a framework object, child of the device): the class and link of the
 * instance it was created for, with the same size rules. */
#define PNPKIT_IWDFREMOTEINTERFACE_METHODS(T) \
    PNPKIT_IWDFOBJECT_METHODS(T) \
    void (*GetInterfaceGuid)(T *This, GUID *pDeviceInterfaceGuid); \
    HRESULT (*RetrieveSymbolicLink)(T *This, PWSTR pSymbolicLink, DWORD *pdwSymbolicLinkLengthInChars);
PNPKIT_DECLARE_INTERFACE(IWDFRemoteInterface, PNPKIT_IWDFREMOTEINTERFACE_METHODS);
#define IWDFRemoteInterface_QueryInterface(This, riid, ppv) ((This)->lpVtbl->QueryInterface(This, riid, ppv))
#define IWDFRemoteInterface_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IWDFRemoteInterface_Release(This) ((This)->lpVtbl->Release(This))
#define IWDFRemoteInterface_DeleteWdfObject(This) ((This)->lpVtbl->DeleteWdfObject(This))
#define IWDFRemoteInterface_AssignContext(This, cb, data) ((This)->lpVtbl->AssignContext(This, cb, data))
#define IWDFRemoteInterface_RetrieveContext(This, ppv) ((This)->lpVtbl->RetrieveContext(This, ppv))
#define IWDFRemoteInterface_AcquireLock(This) ((This)->lpVtbl->AcquireLock(This))
#define IWDFRemoteInterface_ReleaseLock(This) ((This)->lpVtbl->ReleaseLock(This))
#define IWDFRemoteInterface_GetInterfaceGuid(This, g) ((This)->lpVtbl->GetInterfaceGuid(This, g))
#define IWDFRemoteInterface_RetrieveSymbolicLink(This, b, n) ((This)->lpVtbl->RetrieveSymbolicLink(This, b, n))

/* =============================================================================================
 * Loading a UMDF 1 driver (pnpkit additions)
 * ============================================================================================= */

/* Registers a UMDF 1 driver package: DriverEntry (AddRef'd; released by Unregister) serves
 * every device whose hardware ids match HardwareIds (a multi-string), as PnpkitDriverRegister
 * does for a WDM or WDF driver. STATUS_INVALID_PARAMETER: NULL or empty arguments.
 * STATUS_OBJECT_NAME_COLLISION: the service name is taken. STATUS_INSUFFICIENT_RESOURCES.
 * PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS PnpkitUmdf1DriverRegister(PCWSTR ServiceName, IDriverEntry *DriverEntry, PCZZWSTR HardwareIds);
/* Unloads the driver (OnDeinitialize) and releases its IDriverEntry. The statuses of
 * PnpkitDriverUnregister (STATUS_INVALID_DEVICE_STATE while it still has devices). */
PNPKIT_API NTSTATUS PnpkitUmdf1DriverUnregister(PCWSTR ServiceName);

/* The NTSTATUS → HRESULT mapping of the layer (io.md 1.4), for drivers and tests. Any IRQL. */
PNPKIT_API HRESULT PnpkitUmdf1HresultFromNtStatus(NTSTATUS Status);

PNPKIT_END_DECLS

#endif /* PNPKIT_WUDFDDI_H */
