/*
 * <pnpkit/wdffileobject.h> — framework file objects (seed 003): WDF_FILEOBJECT_CONFIG, the
 * create / cleanup / close callbacks, AutoForwardCleanupClose, WDF_FILEOBJECT_CLASS and
 * WDFFILEOBJECT. Included by <pnpkit/wdf.h> (through <pnpkit/wdfdevice.h>).
 *
 * What the framework does with IRP_MJ_CREATE, IRP_MJ_CLEANUP and IRP_MJ_CLOSE (io.md 1.2):
 *   - create: counts the open (an exclusive device refuses a second one with
 *     STATUS_ACCESS_DENIED), creates the WDFFILEOBJECT for classes 2-4, then gives the create
 *     to the create queue if there is one, else to EvtDeviceFileCreate, else handles it alone
 *     (forwarded with auto-forward, completed with STATUS_SUCCESS without). A create that
 *     completes with a failure destroys the WDFFILEOBJECT (its object cleanup and destroy
 *     callbacks run, never EvtFileCleanup or EvtFileClose) and restores the open count.
 *   - cleanup (last handle): EvtFileCleanup, then the requests of that file object still
 *     waiting in the device's queues are cancelled, then the cleanup is forwarded
 *     (auto-forward) or completed with STATUS_SUCCESS.
 *   - close (last reference): EvtFileClose, the WDFFILEOBJECT is destroyed, the close is
 *     forwarded or completed, and only then the open count goes down; the device's remove lock
 *     is held throughout, so IRP_MN_REMOVE_DEVICE cannot finish in between.
 * Effective AutoForwardCleanupClose: WdfTrue forwards, WdfFalse does not, WdfUseDefault forwards
 * for a filter (WdfFdoInitSetFilter) and not for a function driver.
 * Create, cleanup and close callbacks run at PASSIVE_LEVEL, in the thread of the request; with
 * file-object SynchronizationScope Device they are serialized under the device's passive
 * callback lock.
 *
 * Balance rule (seed 003): the local I/O target must receive as many creates as cleanups and
 * closes. In verifier mode pnpkit counts, per file object, the creates the driver sent to the
 * local target and the cleanups and closes the framework forwarded; a mismatch when the file
 * object is destroyed is a verifier stop that names the AutoForwardCleanupClose rule.
 */
#ifndef PNPKIT_WDFFILEOBJECT_H
#define PNPKIT_WDFFILEOBJECT_H

#include <pnpkit/wdfobject.h>
#include <pnpkit/wdfdriver.h>

PNPKIT_BEGIN_DECLS

typedef enum _WDF_FILEOBJECT_CLASS {
    WdfFileObjectInvalid = 0,
    WdfFileObjectNotRequired = 1,            /* no WDFFILEOBJECT; callbacks get NULL */
    WdfFileObjectWdfCanUseFsContext = 2,     /* the handle is stored in FILE_OBJECT.FsContext */
    WdfFileObjectWdfCanUseFsContext2 = 3,    /* ... in FILE_OBJECT.FsContext2 */
    WdfFileObjectWdfCannotUseFsContexts = 4, /* kept in the device's own list */
    WdfFileObjectCanBeOptional = 0x80000000, /* flag, with 2, 3 or 4 only */
} WDF_FILEOBJECT_CLASS, *PWDF_FILEOBJECT_CLASS;

/* Called at PASSIVE_LEVEL for each create the framework does not handle alone (no create
 * queue). The driver must complete, forward or send Request; see the balance rule above.
 * FileObject is NULL for class NotRequired. */
typedef VOID EVT_WDF_DEVICE_FILE_CREATE(WDFDEVICE Device, WDFREQUEST Request, WDFFILEOBJECT FileObject);
typedef EVT_WDF_DEVICE_FILE_CREATE *PFN_WDF_DEVICE_FILE_CREATE;
/* Called at PASSIVE_LEVEL when the last handle of the file object is closed (IRP_MJ_CLEANUP). */
typedef VOID EVT_WDF_FILE_CLEANUP(WDFFILEOBJECT FileObject);
typedef EVT_WDF_FILE_CLEANUP *PFN_WDF_FILE_CLEANUP;
/* Called at PASSIVE_LEVEL when the last reference to the file object goes (IRP_MJ_CLOSE), on
 * any thread, possibly long after the cleanup. */
typedef VOID EVT_WDF_FILE_CLOSE(WDFFILEOBJECT FileObject);
typedef EVT_WDF_FILE_CLOSE *PFN_WDF_FILE_CLOSE;

typedef struct _WDF_FILEOBJECT_CONFIG {
    ULONG Size;
    PFN_WDF_DEVICE_FILE_CREATE EvtDeviceFileCreate;
    PFN_WDF_FILE_CLOSE EvtFileClose;
    PFN_WDF_FILE_CLEANUP EvtFileCleanup;
    WDF_TRI_STATE AutoForwardCleanupClose;
    WDF_FILEOBJECT_CLASS FileObjectClass;
} WDF_FILEOBJECT_CONFIG, *PWDF_FILEOBJECT_CONFIG;

/* Zeroes Config, sets Size and the three callbacks, AutoForwardCleanupClose = WdfUseDefault and
 * FileObjectClass = WdfFileObjectWdfCannotUseFsContexts. */
static inline VOID WDF_FILEOBJECT_CONFIG_INIT(PWDF_FILEOBJECT_CONFIG FileEventCallbacks,
                                              PFN_WDF_DEVICE_FILE_CREATE EvtDeviceFileCreate,
                                              PFN_WDF_FILE_CLOSE EvtFileClose, PFN_WDF_FILE_CLEANUP EvtFileCleanup)
{
    __builtin_memset(FileEventCallbacks, 0, sizeof(*FileEventCallbacks));
    FileEventCallbacks->Size = sizeof(WDF_FILEOBJECT_CONFIG);
    FileEventCallbacks->EvtDeviceFileCreate = EvtDeviceFileCreate;
    FileEventCallbacks->EvtFileClose = EvtFileClose;
    FileEventCallbacks->EvtFileCleanup = EvtFileCleanup;
    FileEventCallbacks->AutoForwardCleanupClose = WdfUseDefault;
    FileEventCallbacks->FileObjectClass = WdfFileObjectWdfCannotUseFsContexts;
}

/* Sets the device's file-object configuration. FileObjectAttributes (optional) may give a
 * context type, cleanup and destroy callbacks, an ExecutionLevel and a SynchronizationScope,
 * not a ParentObject (the parent is the device). Both structures are copied.
 * An invalid call (Config NULL or with a wrong Size, a ParentObject, AutoForwardCleanupClose
 * outside 0..2, a class that is 0 or above 4 once the flag is removed, CanBeOptional with
 * NotRequired) is a verifier stop; outside verifier mode it is ignored and the device behaves as
 * if the call had not been made. A device that never makes the call uses class NotRequired.
 * IRQL <= DISPATCH_LEVEL. */
PNPKIT_API VOID WdfDeviceInitSetFileObjectConfig(PWDFDEVICE_INIT DeviceInit, PWDF_FILEOBJECT_CONFIG FileObjectConfig,
                                                 PWDF_OBJECT_ATTRIBUTES FileObjectAttributes);

/* The name that followed the device part of the opened path: `\<refstring>` for an interface
 * opened with a reference string, followed by any text the opener appended; Length 0 for a
 * plain open. The string belongs to the FILE_OBJECT and is valid while the file object is.
 * NULL for a file object without a FILE_OBJECT, a bad handle, or a call above PASSIVE_LEVEL
 * (a verifier stop). */
PNPKIT_API PUNICODE_STRING WdfFileObjectGetFileName(WDFFILEOBJECT FileObject);
/* FILE_OBJECT.Flags, or 0 without a FILE_OBJECT or for a bad handle. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API ULONG WdfFileObjectGetFlags(WDFFILEOBJECT FileObject);
/* The device the file object was opened on; NULL for a bad handle. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API WDFDEVICE WdfFileObjectGetDevice(WDFFILEOBJECT FileObject);
/* The WDM FILE_OBJECT (no reference), NULL when the create carried none or for a bad handle.
 * IRQL <= DISPATCH_LEVEL. */
PNPKIT_API PFILE_OBJECT WdfFileObjectWdmGetFileObject(WDFFILEOBJECT FileObject);

PNPKIT_END_DECLS

#endif /* PNPKIT_WDFFILEOBJECT_H */
