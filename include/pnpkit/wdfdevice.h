/*
 * <pnpkit/wdfdevice.h> — WDFDEVICE_INIT and WDFDEVICE: device creation, the PnP and power
 * callbacks, device interfaces, device events and WDM interop, with the KMDF names, structures
 * and signatures. Included by <pnpkit/wdf.h>.
 *
 * Devices. EvtDriverDeviceAdd configures the WDFDEVICE_INIT it is given and passes it to
 * WdfDeviceCreate, which creates the device object with IoCreateDevice, attaches it on top of
 * the PDO's stack and creates the device's local I/O target (the device it attached to, see
 * WdfDeviceGetIoTarget). pnpkit creates function devices (FDOs) and filter devices
 * (WdfFdoInitSetFilter); PDOs and control devices are not implemented (WdfPdoInitAllocate and
 * WdfControlDeviceInitAllocate return NULL).
 *
 * PnP and power, as the framework runs them from IRP_MJ_PNP (all on the PnP worker, at
 * PASSIVE_LEVEL, with no pnpkit lock held):
 *   start (IRP_MN_START_DEVICE, after the lower devices started):
 *     EvtDevicePrepareHardware, EvtDeviceD0Entry(WdfPowerDeviceD3Final),
 *     EvtDeviceD0EntryPostInterruptsEnabled, power-managed queues start,
 *     EvtDeviceSelfManagedIoInit (EvtDeviceSelfManagedIoRestart on a restart), then the device
 *     interfaces created before start are enabled. A failure stops the sequence: the steps
 *     already done are undone (ReleaseHardware runs whenever PrepareHardware ran, even if it
 *     failed) and the start fails.
 *   query-remove: EvtDeviceQueryRemove may veto with a failure status. Query-stop:
 *     EvtDeviceQueryStop, likewise.
 *   orderly removal (IRP_MN_REMOVE_DEVICE after a query-remove):
 *     EvtDeviceSelfManagedIoSuspend, EvtIoStop (WdfRequestStopActionPurge) for the requests the
 *     driver holds from power-managed queues, EvtDeviceD0ExitPreInterruptsDisabled and
 *     EvtDeviceD0Exit(WdfPowerDeviceD3Final), EvtDeviceSelfManagedIoFlush,
 *     EvtDeviceReleaseHardware, the device interfaces are disabled, every queue is purged and
 *     waited for, the local I/O target is closed (sent requests cancelled and waited for),
 *     EvtDeviceSelfManagedIoCleanup; then the remove goes down, the device detaches, and the
 *     WDFDEVICE and its children are deleted (EvtCleanupCallback of the device last).
 *   surprise removal: EvtDeviceSurpriseRemoval, then the same steps up to the interfaces
 *     (power-managed queues are purged; other queues keep working for the handles still open);
 *     the rest follows at IRP_MN_REMOVE_DEVICE, after the last handle closed.
 *   stop (IRP_MN_STOP_DEVICE, after a query-stop): suspend, EvtIoStop
 *     (WdfRequestStopActionSuspend), D0Exit(WdfPowerDeviceD3), ReleaseHardware; a later start
 *     prepares the hardware again and calls EvtDeviceSelfManagedIoRestart.
 *   power (IRP_MJ_POWER, IRP_MN_SET_POWER of a device power state, when a power manager sends
 *     one): Dx runs the suspend half (SelfManagedIoSuspend, EvtIoStop with Suspend, D0Exit) and
 *     D0 the resume half (D0Entry, queues restart, SelfManagedIoRestart). Power transitions never
 *     change interface state and never touch the local I/O target. pnpkit's PnP manager does not
 *     send power IRPs itself: a device is in D0 from its start to its removal.
 *
 * Device interfaces: WdfDeviceCreateDeviceInterface registers an instance on the PDO; instances
 * registered before the first start are enabled automatically at start (after
 * SelfManagedIoInit, before the start completes) and at every restart, unless
 * WdfDeviceSetDeviceInterfaceStateEx(..., FALSE) cancelled that; every enabled instance is
 * disabled after EvtDeviceReleaseHardware on removal (orderly and surprise).
 */
#ifndef PNPKIT_WDFDEVICE_H
#define PNPKIT_WDFDEVICE_H

#include <pnpkit/wdfobject.h>
#include <pnpkit/wdfutil.h>
#include <pnpkit/wdfdriver.h>
#include <pnpkit/wdffileobject.h>

PNPKIT_BEGIN_DECLS

/* =============================================================================================
 * PnP and power callbacks
 * ============================================================================================= */

typedef enum _WDF_POWER_DEVICE_STATE {
    WdfPowerDeviceInvalid = 0,
    WdfPowerDeviceD0,
    WdfPowerDeviceD1,
    WdfPowerDeviceD2,
    WdfPowerDeviceD3,
    WdfPowerDeviceD3Final,
    WdfPowerDevicePrepareForHibernation,
    WdfPowerDeviceMaximum,
} WDF_POWER_DEVICE_STATE, *PWDF_POWER_DEVICE_STATE;

typedef enum _WDF_SPECIAL_FILE_TYPE {
    WdfSpecialFileUndefined = 0,
    WdfSpecialFilePaging = 1,
    WdfSpecialFileHibernation,
    WdfSpecialFileDump,
    WdfSpecialFileBoot,
    WdfSpecialFilePostDisplay,
    WdfSpecialFileGuestAssigned,
    WdfSpecialFileMax,
} WDF_SPECIAL_FILE_TYPE;

/* The resource lists of PrepareHardware and ReleaseHardware. Software devices have no hardware
 * resources: pnpkit passes NULL handles. */
typedef NTSTATUS EVT_WDF_DEVICE_D0_ENTRY(WDFDEVICE Device, WDF_POWER_DEVICE_STATE PreviousState);
typedef EVT_WDF_DEVICE_D0_ENTRY *PFN_WDF_DEVICE_D0_ENTRY;
typedef NTSTATUS EVT_WDF_DEVICE_D0_ENTRY_POST_INTERRUPTS_ENABLED(WDFDEVICE Device,
                                                                 WDF_POWER_DEVICE_STATE PreviousState);
typedef EVT_WDF_DEVICE_D0_ENTRY_POST_INTERRUPTS_ENABLED *PFN_WDF_DEVICE_D0_ENTRY_POST_INTERRUPTS_ENABLED;
typedef NTSTATUS EVT_WDF_DEVICE_D0_EXIT(WDFDEVICE Device, WDF_POWER_DEVICE_STATE TargetState);
typedef EVT_WDF_DEVICE_D0_EXIT *PFN_WDF_DEVICE_D0_EXIT;
typedef NTSTATUS EVT_WDF_DEVICE_D0_EXIT_PRE_INTERRUPTS_DISABLED(WDFDEVICE Device, WDF_POWER_DEVICE_STATE TargetState);
typedef EVT_WDF_DEVICE_D0_EXIT_PRE_INTERRUPTS_DISABLED *PFN_WDF_DEVICE_D0_EXIT_PRE_INTERRUPTS_DISABLED;
typedef NTSTATUS EVT_WDF_DEVICE_PREPARE_HARDWARE(WDFDEVICE Device, WDFCMRESLIST ResourcesRaw,
                                                 WDFCMRESLIST ResourcesTranslated);
typedef EVT_WDF_DEVICE_PREPARE_HARDWARE *PFN_WDF_DEVICE_PREPARE_HARDWARE;
typedef NTSTATUS EVT_WDF_DEVICE_RELEASE_HARDWARE(WDFDEVICE Device, WDFCMRESLIST ResourcesTranslated);
typedef EVT_WDF_DEVICE_RELEASE_HARDWARE *PFN_WDF_DEVICE_RELEASE_HARDWARE;
typedef VOID EVT_WDF_DEVICE_SELF_MANAGED_IO_CLEANUP(WDFDEVICE Device);
typedef EVT_WDF_DEVICE_SELF_MANAGED_IO_CLEANUP *PFN_WDF_DEVICE_SELF_MANAGED_IO_CLEANUP;
typedef VOID EVT_WDF_DEVICE_SELF_MANAGED_IO_FLUSH(WDFDEVICE Device);
typedef EVT_WDF_DEVICE_SELF_MANAGED_IO_FLUSH *PFN_WDF_DEVICE_SELF_MANAGED_IO_FLUSH;
typedef NTSTATUS EVT_WDF_DEVICE_SELF_MANAGED_IO_INIT(WDFDEVICE Device);
typedef EVT_WDF_DEVICE_SELF_MANAGED_IO_INIT *PFN_WDF_DEVICE_SELF_MANAGED_IO_INIT;
typedef NTSTATUS EVT_WDF_DEVICE_SELF_MANAGED_IO_SUSPEND(WDFDEVICE Device);
typedef EVT_WDF_DEVICE_SELF_MANAGED_IO_SUSPEND *PFN_WDF_DEVICE_SELF_MANAGED_IO_SUSPEND;
typedef NTSTATUS EVT_WDF_DEVICE_SELF_MANAGED_IO_RESTART(WDFDEVICE Device);
typedef EVT_WDF_DEVICE_SELF_MANAGED_IO_RESTART *PFN_WDF_DEVICE_SELF_MANAGED_IO_RESTART;
typedef VOID EVT_WDF_DEVICE_SURPRISE_REMOVAL(WDFDEVICE Device);
typedef EVT_WDF_DEVICE_SURPRISE_REMOVAL *PFN_WDF_DEVICE_SURPRISE_REMOVAL;
typedef NTSTATUS EVT_WDF_DEVICE_QUERY_REMOVE(WDFDEVICE Device);
typedef EVT_WDF_DEVICE_QUERY_REMOVE *PFN_WDF_DEVICE_QUERY_REMOVE;
typedef NTSTATUS EVT_WDF_DEVICE_QUERY_STOP(WDFDEVICE Device);
typedef EVT_WDF_DEVICE_QUERY_STOP *PFN_WDF_DEVICE_QUERY_STOP;
typedef VOID EVT_WDF_DEVICE_USAGE_NOTIFICATION(WDFDEVICE Device, WDF_SPECIAL_FILE_TYPE NotificationType,
                                               BOOLEAN IsInNotificationPath);
typedef EVT_WDF_DEVICE_USAGE_NOTIFICATION *PFN_WDF_DEVICE_USAGE_NOTIFICATION;
typedef VOID EVT_WDF_DEVICE_RELATIONS_QUERY(WDFDEVICE Device, DEVICE_RELATION_TYPE RelationType);
typedef EVT_WDF_DEVICE_RELATIONS_QUERY *PFN_WDF_DEVICE_RELATIONS_QUERY;
typedef NTSTATUS EVT_WDF_DEVICE_USAGE_NOTIFICATION_EX(WDFDEVICE Device, WDF_SPECIAL_FILE_TYPE NotificationType,
                                                      BOOLEAN IsInNotificationPath);
typedef EVT_WDF_DEVICE_USAGE_NOTIFICATION_EX *PFN_WDF_DEVICE_USAGE_NOTIFICATION_EX;

/* Every callback is optional. The usage-notification and relations callbacks are accepted and
 * never called (pnpkit sends no such IRPs). */
typedef struct _WDF_PNPPOWER_EVENT_CALLBACKS {
    ULONG Size;
    PFN_WDF_DEVICE_D0_ENTRY EvtDeviceD0Entry;
    PFN_WDF_DEVICE_D0_ENTRY_POST_INTERRUPTS_ENABLED EvtDeviceD0EntryPostInterruptsEnabled;
    PFN_WDF_DEVICE_D0_EXIT EvtDeviceD0Exit;
    PFN_WDF_DEVICE_D0_EXIT_PRE_INTERRUPTS_DISABLED EvtDeviceD0ExitPreInterruptsDisabled;
    PFN_WDF_DEVICE_PREPARE_HARDWARE EvtDevicePrepareHardware;
    PFN_WDF_DEVICE_RELEASE_HARDWARE EvtDeviceReleaseHardware;
    PFN_WDF_DEVICE_SELF_MANAGED_IO_CLEANUP EvtDeviceSelfManagedIoCleanup;
    PFN_WDF_DEVICE_SELF_MANAGED_IO_FLUSH EvtDeviceSelfManagedIoFlush;
    PFN_WDF_DEVICE_SELF_MANAGED_IO_INIT EvtDeviceSelfManagedIoInit;
    PFN_WDF_DEVICE_SELF_MANAGED_IO_SUSPEND EvtDeviceSelfManagedIoSuspend;
    PFN_WDF_DEVICE_SELF_MANAGED_IO_RESTART EvtDeviceSelfManagedIoRestart;
    PFN_WDF_DEVICE_SURPRISE_REMOVAL EvtDeviceSurpriseRemoval;
    PFN_WDF_DEVICE_QUERY_REMOVE EvtDeviceQueryRemove;
    PFN_WDF_DEVICE_QUERY_STOP EvtDeviceQueryStop;
    PFN_WDF_DEVICE_USAGE_NOTIFICATION EvtDeviceUsageNotification;
    PFN_WDF_DEVICE_RELATIONS_QUERY EvtDeviceRelationsQuery;
    PFN_WDF_DEVICE_USAGE_NOTIFICATION_EX EvtDeviceUsageNotificationEx;
} WDF_PNPPOWER_EVENT_CALLBACKS, *PWDF_PNPPOWER_EVENT_CALLBACKS;

static inline VOID WDF_PNPPOWER_EVENT_CALLBACKS_INIT(PWDF_PNPPOWER_EVENT_CALLBACKS Callbacks)
{
    __builtin_memset(Callbacks, 0, sizeof(*Callbacks));
    Callbacks->Size = sizeof(WDF_PNPPOWER_EVENT_CALLBACKS);
}

/* =============================================================================================
 * WDFDEVICE_INIT (each call: IRQL <= DISPATCH_LEVEL unless stated; a NULL or consumed
 * DeviceInit is a verifier stop and the call does nothing)
 * ============================================================================================= */

typedef enum _WDF_DEVICE_IO_TYPE {
    WdfDeviceIoUndefined = 0,
    WdfDeviceIoNeither,
    WdfDeviceIoBuffered,
    WdfDeviceIoDirect,
    WdfDeviceIoBufferedOrDirect = 4,
    WdfDeviceIoMaximum,
} WDF_DEVICE_IO_TYPE, *PWDF_DEVICE_IO_TYPE;

/* Makes the device a filter: it attaches above the function driver, requests without a queue
 * are forwarded to the lower device, queues are not power-managed by default, and
 * AutoForwardCleanupClose defaults to forwarding. */
PNPKIT_API VOID WdfFdoInitSetFilter(PWDFDEVICE_INIT DeviceInit);
/* An exclusive device accepts one open handle at a time; a second concurrent create fails with
 * STATUS_ACCESS_DENIED. */
PNPKIT_API VOID WdfDeviceInitSetExclusive(PWDFDEVICE_INIT DeviceInit, BOOLEAN IsExclusive);
/* Copies the callbacks. A wrong Size is a verifier stop and the call is ignored. */
PNPKIT_API VOID WdfDeviceInitSetPnpPowerEventCallbacks(PWDFDEVICE_INIT DeviceInit,
                                                       PWDF_PNPPOWER_EVENT_CALLBACKS PnpPowerEventCallbacks);
/* Buffered (default) or direct I/O for reads and writes (DO_BUFFERED_IO / DO_DIRECT_IO); a filter
 * takes the flags of the device below it instead. Neither is accepted: its requests then have
 * no retrievable buffers. */
PNPKIT_API VOID WdfDeviceInitSetIoType(PWDFDEVICE_INIT DeviceInit, WDF_DEVICE_IO_TYPE IoType);
PNPKIT_API VOID WdfDeviceInitSetDeviceType(PWDFDEVICE_INIT DeviceInit, DEVICE_TYPE DeviceType);
PNPKIT_API VOID WdfDeviceInitSetCharacteristics(PWDFDEVICE_INIT DeviceInit, ULONG DeviceCharacteristics,
                                                BOOLEAN OrInValues);
/* Attributes (copied) of every request the framework creates for the device's incoming IRPs: a
 * context type (zeroed for each request) and cleanup and destroy callbacks, which run when the
 * request is completed. A ParentObject is a verifier stop and the call is ignored. */
PNPKIT_API VOID WdfDeviceInitSetRequestAttributes(PWDFDEVICE_INIT DeviceInit,
                                                  PWDF_OBJECT_ATTRIBUTES RequestAttributes);
/* Names the device object (copied; a NULL name removes it). STATUS_INSUFFICIENT_RESOURCES.
 * PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS WdfDeviceInitAssignName(PWDFDEVICE_INIT DeviceInit, PCUNICODE_STRING DeviceName);
/* Accepted and recorded; pnpkit has no power policy. */
PNPKIT_API VOID WdfDeviceInitSetPowerPolicyOwnership(PWDFDEVICE_INIT DeviceInit, BOOLEAN IsPowerPolicyOwner);
/* The PDO of the device being added (no reference). */
PNPKIT_API PDEVICE_OBJECT WdfFdoInitWdmGetPhysicalDevice(PWDFDEVICE_INIT DeviceInit);

/* Not implemented in pnpkit: return NULL (no PDO or control device can be created). */
PNPKIT_API PWDFDEVICE_INIT WdfControlDeviceInitAllocate(WDFDRIVER Driver, const void *SDDLString);
PNPKIT_API PWDFDEVICE_INIT WdfPdoInitAllocate(WDFDEVICE ParentDevice);
/* Frees a WDFDEVICE_INIT that a driver allocated and did not pass to WdfDeviceCreate; the one
 * EvtDriverDeviceAdd receives belongs to the framework (freeing it is a verifier report). */
PNPKIT_API VOID WdfDeviceInitFree(PWDFDEVICE_INIT DeviceInit);

/* =============================================================================================
 * WDFDEVICE
 * ============================================================================================= */

/* Creates the device from *DeviceInit (from inside EvtDriverDeviceAdd), attaches it to the PDO's
 * stack and creates its local I/O target. On success *DeviceInit becomes NULL (the framework
 * owns and frees the init), and *Device receives the handle; the framework deletes the device
 * at IRP_MN_REMOVE_DEVICE (WdfObjectDelete on it is a verifier report). DeviceAttributes
 * (optional) may give a context type, callbacks and execution level / synchronization scope;
 * its ParentObject must be NULL (the parent is the WDFDRIVER).
 * STATUS_INVALID_PARAMETER: NULL arguments, a ParentObject, a DeviceInit already used.
 * STATUS_INVALID_DEVICE_REQUEST: the file-object SynchronizationScope is Queue, or Device while
 * the device's ExecutionLevel is not Passive. STATUS_NO_SUCH_DEVICE: the PDO's stack is being
 * deleted. The statuses of IoCreateDevice (a name collision) and of WdfObjectCreate;
 * STATUS_INSUFFICIENT_RESOURCES. PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS WdfDeviceCreate(PWDFDEVICE_INIT *DeviceInit, PWDF_OBJECT_ATTRIBUTES DeviceAttributes,
                                    WDFDEVICE *Device);

/* The device object, the PDO of its stack, and the device it attached to (no references: they
 * stay valid while the WDFDEVICE exists). NULL for a bad handle. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API PDEVICE_OBJECT WdfDeviceWdmGetDeviceObject(WDFDEVICE Device);
PNPKIT_API PDEVICE_OBJECT WdfDeviceWdmGetPhysicalDevice(WDFDEVICE Device);
PNPKIT_API PDEVICE_OBJECT WdfDeviceWdmGetAttachedDevice(WDFDEVICE Device);
/* The WDFDEVICE of a device object created by WdfDeviceCreate, NULL otherwise (or once the
 * device was removed). IRQL <= DISPATCH_LEVEL. */
PNPKIT_API WDFDEVICE WdfWdmDeviceGetWdfDeviceHandle(PDEVICE_OBJECT DeviceObject);
/* The device's WDFDRIVER; NULL for a bad handle. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API WDFDRIVER WdfDeviceGetDriver(WDFDEVICE Device);
/* The device's local I/O target: the device it attached to (its next-lower device). Sends to it
 * are refused with STATUS_INVALID_DEVICE_STATE once the device is removed. The framework owns
 * the object. NULL for a bad handle. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API WDFIOTARGET WdfDeviceGetIoTarget(WDFDEVICE Device);
/* The WDFFILEOBJECT the device created for FileObject, or NULL (class NotRequired, unknown file
 * object, bad handle). IRQL <= DISPATCH_LEVEL. */
PNPKIT_API WDFFILEOBJECT WdfDeviceGetFileObject(WDFDEVICE Device, PFILE_OBJECT FileObject);

/* ---- Device state (WdfDeviceGetDeviceState / WdfDeviceSetDeviceState) ----
 * pnpkit's PnP manager never queries a device's PnP state, so the values are stored and
 * reported back but change nothing. */
typedef struct _WDF_DEVICE_STATE {
    ULONG Size;
    WDF_TRI_STATE Disabled;
    WDF_TRI_STATE DontDisplayInUI;
    WDF_TRI_STATE Failed;
    WDF_TRI_STATE NotDisableable;
    WDF_TRI_STATE Removed;
    WDF_TRI_STATE ResourcesChanged;
} WDF_DEVICE_STATE, *PWDF_DEVICE_STATE;

static inline VOID WDF_DEVICE_STATE_INIT(PWDF_DEVICE_STATE PnpDeviceState)
{
    __builtin_memset(PnpDeviceState, 0, sizeof(*PnpDeviceState));
    PnpDeviceState->Size = sizeof(WDF_DEVICE_STATE);
    PnpDeviceState->Disabled = WdfUseDefault;
    PnpDeviceState->DontDisplayInUI = WdfUseDefault;
    PnpDeviceState->Failed = WdfUseDefault;
    PnpDeviceState->NotDisableable = WdfUseDefault;
    PnpDeviceState->Removed = WdfUseDefault;
    PnpDeviceState->ResourcesChanged = WdfUseDefault;
}

/* A wrong Size is a verifier report and the call does nothing. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API VOID WdfDeviceGetDeviceState(WDFDEVICE Device, PWDF_DEVICE_STATE DeviceState);
PNPKIT_API VOID WdfDeviceSetDeviceState(WDFDEVICE Device, PWDF_DEVICE_STATE DeviceState);

/* =============================================================================================
 * Device interfaces (all PASSIVE_LEVEL)
 * ============================================================================================= */

/* Registers an interface instance (class, optional reference string) on the device's PDO. One
 * registered before the device first starts is enabled at start; one registered later stays
 * disabled until WdfDeviceSetDeviceInterfaceState enables it. Registering an existing pair again
 * is accepted (STATUS_SUCCESS) and changes nothing.
 * STATUS_INVALID_PARAMETER: NULL Device or GUID, a malformed UNICODE_STRING (odd lengths,
 * Length > MaximumLength, MaximumLength > 0 with a NULL Buffer).
 * STATUS_INVALID_DEVICE_REQUEST: a reference string with \ or /. The statuses of
 * IoRegisterDeviceInterface; STATUS_INSUFFICIENT_RESOURCES. */
PNPKIT_API NTSTATUS WdfDeviceCreateDeviceInterface(WDFDEVICE Device, const GUID *InterfaceClassGUID,
                                                   PCUNICODE_STRING ReferenceString);
/* Enables or disables the instance with an equal GUID and an equal reference string (an absent
 * string matches only an absent or empty one). No match, or a malformed string, does nothing.
 * Enabling before the device started takes effect at start. */
PNPKIT_API VOID WdfDeviceSetDeviceInterfaceState(WDFDEVICE Device, const GUID *InterfaceClassGUID,
                                                 PCUNICODE_STRING ReferenceString, BOOLEAN IsInterfaceEnabled);
/* The same; with IsInterfaceEnabled FALSE it also cancels the automatic enable at start and
 * restart. */
PNPKIT_API VOID WdfDeviceSetDeviceInterfaceStateEx(WDFDEVICE Device, const GUID *InterfaceClassGUID,
                                                   PCUNICODE_STRING ReferenceString, BOOLEAN IsInterfaceEnabled);
/* Writes the kernel-form symbolic link of the first matching instance into String (a WDFSTRING
 * the caller created). STATUS_OBJECT_NAME_NOT_FOUND: no match. STATUS_INVALID_PARAMETER: NULL
 * GUID, malformed reference string. STATUS_INVALID_HANDLE: bad Device or String.
 * STATUS_INSUFFICIENT_RESOURCES. */
PNPKIT_API NTSTATUS WdfDeviceRetrieveDeviceInterfaceString(WDFDEVICE Device, const GUID *InterfaceClassGUID,
                                                           PCUNICODE_STRING ReferenceString, WDFSTRING String);

/* =============================================================================================
 * Device events (UMDF 2's WdfDevicePostEvent)
 * ============================================================================================= */

typedef enum _WDF_EVENT_TYPE {
    WdfEventReserved = 0,
    WdfEventBroadcast = 1,
    WdfEventMaximum,
} WDF_EVENT_TYPE;

/* Raises a custom target-device event on the device's own PDO for every driver and application
 * registered on it, as IoReportTargetDeviceChangeAsynchronous does with no callback and
 * NameBufferOffset -1: Data (DataSizeCb bytes, may be NULL when 0) is copied and the call
 * returns before delivery. STATUS_SUCCESS once queued.
 * STATUS_INVALID_PARAMETER: WdfEventType other than WdfEventBroadcast, NULL EventGuid, NULL Data
 * with a nonzero size. STATUS_INSUFFICIENT_RESOURCES: DataSizeCb above 0xFFFF - 36, or no memory.
 * STATUS_INVALID_DEVICE_REQUEST: a system PnP event GUID. PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS WdfDevicePostEvent(WDFDEVICE Device, REFGUID EventGuid, WDF_EVENT_TYPE WdfEventType,
                                       BYTE *Data, ULONG DataSizeCb);

PNPKIT_END_DECLS

#endif /* PNPKIT_WDFDEVICE_H */
