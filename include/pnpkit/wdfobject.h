/*
 * <pnpkit/wdfobject.h> — the WDF object model: handles, attributes, contexts, parent/child
 * lifetime, references and deletion. Included by <pnpkit/wdf.h>.
 *
 * Handles are opaque values, not pointers. Every API validates the handle it is given: a
 * stale (destroyed), never-valid or wrong-typed handle returns STATUS_INVALID_HANDLE (VOID
 * functions do nothing) and raises a verifier report; pnpkit never dereferences freed memory
 * because of a bad handle.
 *
 * Lifetime, as in KMDF:
 *   - An object lives until it is deleted (WdfObjectDelete, or deletion of its parent) AND its
 *     last reference is released.
 *   - Deleting an object first deletes its children (the most recently created first), then
 *     calls EvtCleanupCallback, then drops the creation reference.
 *   - EvtDestroyCallback runs when the last reference goes, after cleanup; the context memory
 *     is freed right after it. A reference taken with WdfObjectReference keeps the context
 *     memory valid after WdfObjectDelete.
 *   - A child holds a reference on its parent, so a parent's destroy callback runs after every
 *     child's.
 */
#ifndef PNPKIT_WDFOBJECT_H
#define PNPKIT_WDFOBJECT_H

#include <pnpkit/wdm.h>

PNPKIT_BEGIN_DECLS

/* ---- Handle types ---- */
typedef HANDLE WDFOBJECT, *PWDFOBJECT;
typedef PVOID WDFCONTEXT;
#define PNPKIT_DECLARE_WDF_HANDLE(name) typedef struct name##__ { int unused; } *name
PNPKIT_DECLARE_WDF_HANDLE(WDFDRIVER);
PNPKIT_DECLARE_WDF_HANDLE(WDFDEVICE);
PNPKIT_DECLARE_WDF_HANDLE(WDFQUEUE);
PNPKIT_DECLARE_WDF_HANDLE(WDFREQUEST);
PNPKIT_DECLARE_WDF_HANDLE(WDFFILEOBJECT);
PNPKIT_DECLARE_WDF_HANDLE(WDFIOTARGET);
PNPKIT_DECLARE_WDF_HANDLE(WDFMEMORY);
PNPKIT_DECLARE_WDF_HANDLE(WDFWORKITEM);
PNPKIT_DECLARE_WDF_HANDLE(WDFTIMER);
PNPKIT_DECLARE_WDF_HANDLE(WDFSPINLOCK);
PNPKIT_DECLARE_WDF_HANDLE(WDFWAITLOCK);
PNPKIT_DECLARE_WDF_HANDLE(WDFCOLLECTION);
PNPKIT_DECLARE_WDF_HANDLE(WDFSTRING);
PNPKIT_DECLARE_WDF_HANDLE(WDFKEY);
PNPKIT_DECLARE_WDF_HANDLE(WDFLOOKASIDE);
PNPKIT_DECLARE_WDF_HANDLE(WDFCMRESLIST);
#define WDF_NO_OBJECT_ATTRIBUTES NULL
#define WDF_NO_HANDLE NULL
#define WDF_NO_CONTEXT NULL
#define WDF_NO_SEND_OPTIONS NULL

typedef enum _WDF_TRI_STATE { WdfFalse = 0, WdfTrue = 1, WdfUseDefault = 2 } WDF_TRI_STATE, *PWDF_TRI_STATE;

typedef enum _WDF_EXECUTION_LEVEL {
    WdfExecutionLevelInvalid = 0,
    WdfExecutionLevelInheritFromParent,
    WdfExecutionLevelPassive,
    WdfExecutionLevelDispatch,
} WDF_EXECUTION_LEVEL;

typedef enum _WDF_SYNCHRONIZATION_SCOPE {
    WdfSynchronizationScopeInvalid = 0,
    WdfSynchronizationScopeInheritFromParent,
    WdfSynchronizationScopeDevice,
    WdfSynchronizationScopeQueue,
    WdfSynchronizationScopeNone,
} WDF_SYNCHRONIZATION_SCOPE;

typedef VOID EVT_WDF_OBJECT_CONTEXT_CLEANUP(WDFOBJECT Object);
typedef EVT_WDF_OBJECT_CONTEXT_CLEANUP *PFN_WDF_OBJECT_CONTEXT_CLEANUP;
typedef VOID EVT_WDF_OBJECT_CONTEXT_DESTROY(WDFOBJECT Object);
typedef EVT_WDF_OBJECT_CONTEXT_DESTROY *PFN_WDF_OBJECT_CONTEXT_DESTROY;

typedef struct _WDF_OBJECT_CONTEXT_TYPE_INFO WDF_OBJECT_CONTEXT_TYPE_INFO, *PWDF_OBJECT_CONTEXT_TYPE_INFO;
typedef const WDF_OBJECT_CONTEXT_TYPE_INFO *PCWDF_OBJECT_CONTEXT_TYPE_INFO;
typedef PCWDF_OBJECT_CONTEXT_TYPE_INFO (*PFN_GET_UNIQUE_CONTEXT_TYPE)(void);

struct _WDF_OBJECT_CONTEXT_TYPE_INFO {
    ULONG Size;
    PCSTR ContextName;
    size_t ContextSize;
    PCWDF_OBJECT_CONTEXT_TYPE_INFO UniqueType;
    PFN_GET_UNIQUE_CONTEXT_TYPE EvtDriverGetUniqueContextType;
};

typedef struct _WDF_OBJECT_ATTRIBUTES {
    ULONG Size;
    PFN_WDF_OBJECT_CONTEXT_CLEANUP EvtCleanupCallback;
    PFN_WDF_OBJECT_CONTEXT_DESTROY EvtDestroyCallback;
    WDF_EXECUTION_LEVEL ExecutionLevel;
    WDF_SYNCHRONIZATION_SCOPE SynchronizationScope;
    WDFOBJECT ParentObject;
    size_t ContextSizeOverride;
    PCWDF_OBJECT_CONTEXT_TYPE_INFO ContextTypeInfo;
} WDF_OBJECT_ATTRIBUTES, *PWDF_OBJECT_ATTRIBUTES;

static inline VOID WDF_OBJECT_ATTRIBUTES_INIT(PWDF_OBJECT_ATTRIBUTES Attributes)
{
    __builtin_memset(Attributes, 0, sizeof(*Attributes));
    Attributes->Size = sizeof(WDF_OBJECT_ATTRIBUTES);
    Attributes->ExecutionLevel = WdfExecutionLevelInheritFromParent;
    Attributes->SynchronizationScope = WdfSynchronizationScopeInheritFromParent;
}

/* ---- Context types ----
 * WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(DEVICE_CONTEXT, GetDeviceContext) declares the type
 * information of DEVICE_CONTEXT (one weak definition per program, like selectany) and an
 * accessor `DEVICE_CONTEXT *GetDeviceContext(WDFOBJECT)`. */
#define WDF_TYPE_NAME_TO_TYPE_INFO(_contexttype) _WDF_##_contexttype##_TYPE_INFO
#define WDF_TYPE_NAME_POINTER_TYPE(_contexttype) WDF_##_contexttype##_POINTER_TYPE
#define WDF_GET_CONTEXT_TYPE_INFO(_contexttype) (WDF_TYPE_NAME_TO_TYPE_INFO(_contexttype).UniqueType)

#define WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(_contexttype, _castingfunction) \
    typedef _contexttype *WDF_TYPE_NAME_POINTER_TYPE(_contexttype); \
    PNPKIT_EXTERN_C const WDF_OBJECT_CONTEXT_TYPE_INFO WDF_TYPE_NAME_TO_TYPE_INFO(_contexttype) \
        __attribute__((weak)); \
    const WDF_OBJECT_CONTEXT_TYPE_INFO __attribute__((weak)) WDF_TYPE_NAME_TO_TYPE_INFO(_contexttype) = { \
        sizeof(WDF_OBJECT_CONTEXT_TYPE_INFO), #_contexttype, sizeof(_contexttype), \
        &WDF_TYPE_NAME_TO_TYPE_INFO(_contexttype), NULL }; \
    static inline __attribute__((unused)) _contexttype *_castingfunction(WDFOBJECT Handle) \
    { \
        return (_contexttype *)WdfObjectGetTypedContextWorker(Handle, WDF_GET_CONTEXT_TYPE_INFO(_contexttype)); \
    }

#define WDF_DECLARE_CONTEXT_TYPE(_contexttype) \
    WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(_contexttype, WdfObjectGet_##_contexttype)

#define WDF_OBJECT_ATTRIBUTES_SET_CONTEXT_TYPE(_attributes, _contexttype) \
    ((_attributes)->ContextTypeInfo = WDF_GET_CONTEXT_TYPE_INFO(_contexttype))
#define WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(_attributes, _contexttype) \
    (WDF_OBJECT_ATTRIBUTES_INIT(_attributes), WDF_OBJECT_ATTRIBUTES_SET_CONTEXT_TYPE(_attributes, _contexttype))
#define WdfObjectGetTypedContext(handle, type) \
    ((type *)WdfObjectGetTypedContextWorker((WDFOBJECT)(handle), WDF_GET_CONTEXT_TYPE_INFO(type)))

/* ---- Functions ---- */

/* Returns the context of type TypeInfo on Handle, or NULL when the object has no such context
 * or the handle is invalid (verifier report). The pointer stays valid until the object's
 * destroy callback has run. Any IRQL. */
PNPKIT_API PVOID WdfObjectGetTypedContextWorker(WDFOBJECT Handle, PCWDF_OBJECT_CONTEXT_TYPE_INFO TypeInfo);

/* Returns the object that owns ContextPointer (a pointer returned by the context accessors).
 * A pointer that is not a context is a verifier stop and returns NULL. Any IRQL. */
PNPKIT_API WDFOBJECT WdfObjectContextGetObject(PVOID ContextPointer);

/* Adds a further context (of ContextAttributes->ContextTypeInfo, zeroed) to Handle, with its
 * own cleanup and destroy callbacks, and returns it in *Context.
 * STATUS_INVALID_PARAMETER: NULL attributes or type info, a ParentObject, an execution level or
 * synchronization scope other than InheritFromParent, ContextSizeOverride below the type's size.
 * STATUS_INFO_LENGTH_MISMATCH: wrong Size. STATUS_INVALID_HANDLE: bad handle.
 * STATUS_OBJECT_NAME_EXISTS: the object already has that type (*Context gets the existing one).
 * STATUS_DELETE_PENDING: the object is being deleted. STATUS_INSUFFICIENT_RESOURCES.
 * IRQL <= DISPATCH_LEVEL. */
PNPKIT_API NTSTATUS WdfObjectAllocateContext(WDFOBJECT Handle, PWDF_OBJECT_ATTRIBUTES ContextAttributes,
                                             PVOID *Context);

/* Creates a general framework object. Attributes may be NULL. Its parent is
 * Attributes->ParentObject, or none (the WDFDRIVER once drivers exist in the process).
 * STATUS_INVALID_PARAMETER: NULL Object; bad ExecutionLevel/SynchronizationScope values;
 * ContextSizeOverride without a type or below the type's size. STATUS_INFO_LENGTH_MISMATCH:
 * wrong Attributes->Size. STATUS_INVALID_HANDLE: a bad ParentObject. STATUS_DELETE_PENDING: the
 * parent is being deleted. STATUS_INSUFFICIENT_RESOURCES. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API NTSTATUS WdfObjectCreate(PWDF_OBJECT_ATTRIBUTES Attributes, WDFOBJECT *Object);

/* Deletes Object (children first, then its cleanup callbacks, then the creation reference).
 * Deleting an object twice, or an object that only the framework may delete (a device, a
 * request it presented), is a verifier report and does nothing. IRQL <= DISPATCH_LEVEL; the
 * cleanup of an object whose ExecutionLevel is Passive then runs later on a worker thread. */
PNPKIT_API VOID WdfObjectDelete(WDFOBJECT Object);

/* Take and release a reference. Tag and Line/File identify the reference in traces and in the
 * object's history. Releasing the creation reference (more dereferences than references) is a
 * verifier report and is ignored. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API VOID WdfObjectReferenceActual(WDFOBJECT Handle, PVOID Tag, LONG Line, PCCH File);
PNPKIT_API VOID WdfObjectDereferenceActual(WDFOBJECT Handle, PVOID Tag, LONG Line, PCCH File);
#define WdfObjectReference(Handle) WdfObjectReferenceActual((WDFOBJECT)(Handle), NULL, __LINE__, __FILE__)
#define WdfObjectReferenceWithTag(Handle, Tag) WdfObjectReferenceActual((WDFOBJECT)(Handle), (Tag), __LINE__, __FILE__)
#define WdfObjectDereference(Handle) WdfObjectDereferenceActual((WDFOBJECT)(Handle), NULL, __LINE__, __FILE__)
#define WdfObjectDereferenceWithTag(Handle, Tag) WdfObjectDereferenceActual((WDFOBJECT)(Handle), (Tag), __LINE__, __FILE__)

/* pnpkit addition: prints the object's type, state, reference count and the short history of
 * its state transitions to stderr (the same history a debugger reads in the object header).
 * STATUS_INVALID_HANDLE for a bad handle. Any IRQL. */
PNPKIT_API NTSTATUS PnpkitObjectDump(WDFOBJECT Handle);

PNPKIT_END_DECLS

#endif /* PNPKIT_WDFOBJECT_H */
