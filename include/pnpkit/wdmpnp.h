/*
 * <pnpkit/wdmpnp.h> — the PnP half of <pnpkit/wdm.h>: device interfaces, PnP notifications,
 * target-device-change events (custom events of seed 002) and device relations. Included by
 * <pnpkit/wdm.h>; do not include it alone.
 *
 * All notification callbacks run on the PnP worker thread at PASSIVE_LEVEL, never under a lock
 * of pnpkit's, one event at a time, registrants in registration order.
 */
#ifndef PNPKIT_WDMPNP_H
#define PNPKIT_WDMPNP_H

PNPKIT_BEGIN_DECLS

typedef struct _DEVICE_OBJECT DEVICE_OBJECT, *PDEVICE_OBJECT;
typedef struct _FILE_OBJECT FILE_OBJECT, *PFILE_OBJECT;
typedef struct _DRIVER_OBJECT DRIVER_OBJECT, *PDRIVER_OBJECT;

/* ---- The system PnP events (all end in -46f0-11d0-b08f-00609713053f) ---- */
DEFINE_GUID(GUID_HWPROFILE_QUERY_CHANGE, 0xcb3a4001, 0x46f0, 0x11d0, 0xb0, 0x8f, 0x00, 0x60, 0x97, 0x13, 0x05, 0x3f);
DEFINE_GUID(GUID_HWPROFILE_CHANGE_CANCELLED, 0xcb3a4002, 0x46f0, 0x11d0, 0xb0, 0x8f, 0x00, 0x60, 0x97, 0x13, 0x05, 0x3f);
DEFINE_GUID(GUID_HWPROFILE_CHANGE_COMPLETE, 0xcb3a4003, 0x46f0, 0x11d0, 0xb0, 0x8f, 0x00, 0x60, 0x97, 0x13, 0x05, 0x3f);
DEFINE_GUID(GUID_DEVICE_INTERFACE_ARRIVAL, 0xcb3a4004, 0x46f0, 0x11d0, 0xb0, 0x8f, 0x00, 0x60, 0x97, 0x13, 0x05, 0x3f);
DEFINE_GUID(GUID_DEVICE_INTERFACE_REMOVAL, 0xcb3a4005, 0x46f0, 0x11d0, 0xb0, 0x8f, 0x00, 0x60, 0x97, 0x13, 0x05, 0x3f);
DEFINE_GUID(GUID_TARGET_DEVICE_QUERY_REMOVE, 0xcb3a4006, 0x46f0, 0x11d0, 0xb0, 0x8f, 0x00, 0x60, 0x97, 0x13, 0x05, 0x3f);
DEFINE_GUID(GUID_TARGET_DEVICE_REMOVE_CANCELLED, 0xcb3a4007, 0x46f0, 0x11d0, 0xb0, 0x8f, 0x00, 0x60, 0x97, 0x13, 0x05, 0x3f);
DEFINE_GUID(GUID_TARGET_DEVICE_REMOVE_COMPLETE, 0xcb3a4008, 0x46f0, 0x11d0, 0xb0, 0x8f, 0x00, 0x60, 0x97, 0x13, 0x05, 0x3f);

/* ---- Notification structures (Windows layouts; offsets are checked by tests) ---- */
typedef struct _PLUGPLAY_NOTIFICATION_HEADER {
    USHORT Version; /* 1 */
    USHORT Size;
    GUID Event;
} PLUGPLAY_NOTIFICATION_HEADER, *PPLUGPLAY_NOTIFICATION_HEADER;

typedef struct _DEVICE_INTERFACE_CHANGE_NOTIFICATION {
    USHORT Version;
    USHORT Size;
    GUID Event;                        /* GUID_DEVICE_INTERFACE_ARRIVAL or _REMOVAL */
    GUID InterfaceClassGuid;
    PUNICODE_STRING SymbolicLinkName;  /* kernel form (\??\...); valid during the callback only */
} DEVICE_INTERFACE_CHANGE_NOTIFICATION, *PDEVICE_INTERFACE_CHANGE_NOTIFICATION;

typedef struct _HWPROFILE_CHANGE_NOTIFICATION {
    USHORT Version;
    USHORT Size;
    GUID Event;
} HWPROFILE_CHANGE_NOTIFICATION, *PHWPROFILE_CHANGE_NOTIFICATION;

typedef struct _TARGET_DEVICE_REMOVAL_NOTIFICATION {
    USHORT Version;
    USHORT Size;
    GUID Event;                        /* QUERY_REMOVE, REMOVE_CANCELLED or REMOVE_COMPLETE */
    PFILE_OBJECT FileObject;           /* the registrant's own file object */
} TARGET_DEVICE_REMOVAL_NOTIFICATION, *PTARGET_DEVICE_REMOVAL_NOTIFICATION;

typedef struct _TARGET_DEVICE_CUSTOM_NOTIFICATION {
    USHORT Version;
    USHORT Size;                       /* header and data together */
    GUID Event;                        /* the driver's own event GUID */
    PFILE_OBJECT FileObject;           /* NULL when reported; the registrant's when delivered */
    LONG NameBufferOffset;             /* -1, or the offset of a name in CustomDataBuffer */
    UCHAR CustomDataBuffer[1];
} TARGET_DEVICE_CUSTOM_NOTIFICATION, *PTARGET_DEVICE_CUSTOM_NOTIFICATION;

/* ---- Registration ---- */
typedef enum _IO_NOTIFICATION_EVENT_CATEGORY {
    EventCategoryReserved,
    EventCategoryHardwareProfileChange,
    EventCategoryDeviceInterfaceChange,
    EventCategoryTargetDeviceChange,
    EventCategoryKernelSoftRestart,
} IO_NOTIFICATION_EVENT_CATEGORY;

#define PNPNOTIFY_DEVICE_INTERFACE_INCLUDE_EXISTING_INTERFACES 0x00000001

typedef NTSTATUS DRIVER_NOTIFICATION_CALLBACK_ROUTINE(PVOID NotificationStructure, PVOID Context);
typedef DRIVER_NOTIFICATION_CALLBACK_ROUTINE *PDRIVER_NOTIFICATION_CALLBACK_ROUTINE;

/* Registers CallbackRoutine for a category of PnP events. PASSIVE_LEVEL.
 * EventCategoryDeviceInterfaceChange: EventCategoryData points to a class GUID; with
 *   PNPNOTIFY_DEVICE_INTERFACE_INCLUDE_EXISTING_INTERFACES one ARRIVAL is queued for each
 *   instance enabled at registration.
 * EventCategoryTargetDeviceChange: EventCategoryData is a FILE_OBJECT opened on a PnP device;
 *   the registration attaches to that device and outlives the handle.
 * EventCategoryHardwareProfileChange: EventCategoryData must be NULL.
 * *NotificationEntry is written before any callback can run. The registration holds a
 * reference on DriverObject.
 * STATUS_INVALID_PARAMETER: NULL callback, entry or DriverObject; unknown flags; NULL data where
 * one is needed. STATUS_NOT_SUPPORTED: unknown category. STATUS_INVALID_DEVICE_REQUEST: the file
 * object's device is not a PnP device. STATUS_INSUFFICIENT_RESOURCES. */
PNPKIT_API NTSTATUS IoRegisterPlugPlayNotification(IO_NOTIFICATION_EVENT_CATEGORY EventCategory,
                                                   ULONG EventCategoryFlags, PVOID EventCategoryData,
                                                   PDRIVER_OBJECT DriverObject,
                                                   PDRIVER_NOTIFICATION_CALLBACK_ROUTINE CallbackRoutine,
                                                   PVOID Context, PVOID *NotificationEntry);
/* Ends a registration. No new callback starts after it returns; the Ex form also waits for a
 * callback of this entry that is running on another thread (not when called from inside it).
 * STATUS_INVALID_PARAMETER for an unknown or already removed entry. PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS IoUnregisterPlugPlayNotification(PVOID NotificationEntry);
PNPKIT_API NTSTATUS IoUnregisterPlugPlayNotificationEx(PVOID NotificationEntry);

/* ---- Device interfaces ---- */
#define DEVICE_INTERFACE_INCLUDE_NONACTIVE 0x00000001

/* Registers (PDO, class, reference string) and returns the kernel-form link
 * (\??\<instance id with \ as #>#{guid}[\ref]) in SymbolicLinkName; free it with
 * RtlFreeUnicodeString. The instance starts disabled and lives as long as the device node.
 * STATUS_OBJECT_NAME_EXISTS (success) when the triple exists already.
 * STATUS_INVALID_DEVICE_REQUEST: not a PDO in the tree; a reference string with \ or /.
 * STATUS_INVALID_PARAMETER: NULL arguments or a malformed UNICODE_STRING. PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS IoRegisterDeviceInterface(PDEVICE_OBJECT PhysicalDeviceObject, const GUID *InterfaceClassGuid,
                                              PUNICODE_STRING ReferenceString, PUNICODE_STRING SymbolicLinkName);
/* Enables or disables an instance and announces the change. Enabling an enabled instance:
 * STATUS_OBJECT_NAME_EXISTS. Disabling a disabled one, or an unknown link:
 * STATUS_OBJECT_NAME_NOT_FOUND. Enabling on a device being removed: STATUS_INVALID_DEVICE_STATE.
 * Enabling before the device started succeeds and takes effect at start. PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS IoSetDeviceInterfaceState(PUNICODE_STRING SymbolicLinkName, BOOLEAN Enable);
/* Returns a multi-string of kernel-form links of the class (enabled ones only, unless
 * DEVICE_INTERFACE_INCLUDE_NONACTIVE), optionally of one PDO; free with ExFreePool. An empty
 * list is a single NUL. STATUS_INVALID_DEVICE_REQUEST for a PDO not in the tree. PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS IoGetDeviceInterfaces(const GUID *InterfaceClassGuid, PDEVICE_OBJECT PhysicalDeviceObject,
                                          ULONG Flags, PZZWSTR *SymbolicLinkList);

/* ---- Custom events (seed 002) ---- */
typedef VOID DEVICE_CHANGE_COMPLETE_CALLBACK(PVOID Context);
typedef DEVICE_CHANGE_COMPLETE_CALLBACK *PDEVICE_CHANGE_COMPLETE_CALLBACK;

/* Delivers a custom event to every registrant on the device and returns after the last one.
 * PASSIVE_LEVEL; not from a PnP notification callback (STATUS_INVALID_DEVICE_STATE).
 * STATUS_INVALID_DEVICE_REQUEST for a system PnP event; STATUS_INVALID_PARAMETER for a
 * malformed structure (Version != 1, Size < 36, FileObject not NULL, NameBufferOffset outside
 * the data) or a PDO that is not in the tree (a verifier stop too). */
PNPKIT_API NTSTATUS IoReportTargetDeviceChange(PDEVICE_OBJECT PhysicalDeviceObject, PVOID NotificationStructure);
/* Copies the structure (Size bytes), queues the event and returns STATUS_PENDING at once; the
 * caller may free its structure on return. After the last registrant returned, Callback(Context)
 * runs once at PASSIVE_LEVEL (if not NULL). A report made while the device is handling a remove
 * or surprise removal is delivered after that handling. IRQL <= DISPATCH_LEVEL. Same
 * validation statuses as IoReportTargetDeviceChange. */
PNPKIT_API NTSTATUS IoReportTargetDeviceChangeAsynchronous(PDEVICE_OBJECT PhysicalDeviceObject,
                                                           PVOID NotificationStructure,
                                                           PDEVICE_CHANGE_COMPLETE_CALLBACK Callback,
                                                           PVOID Context);

/* ---- Device relations (bus drivers) ---- */
/* DEVICE_RELATION_TYPE and DEVICE_RELATIONS are in <pnpkit/wdmio.h> (the IRP parameters use
 * them). */

/* Asks the PnP manager to re-enumerate the device's BusRelations (IRP_MN_QUERY_DEVICE_RELATIONS
 * is sent from the PnP worker). IRQL <= DISPATCH_LEVEL. */
PNPKIT_API VOID IoInvalidateDeviceRelations(PDEVICE_OBJECT DeviceObject, DEVICE_RELATION_TYPE Type);

/* ---- Opening a device interface (pnpkit addition) ----
 * Opens SymbolicLinkName (either prefix, any letter case, optionally followed by more path)
 * the way CreateFile opens it on Windows: IRP_MJ_CREATE goes to the top of the device's stack
 * with the file name after the link's device part (the reference string and what follows).
 * STATUS_OBJECT_NAME_NOT_FOUND: no such enabled interface. STATUS_NO_SUCH_DEVICE: the device has
 * not started. STATUS_DELETE_PENDING: it is being removed. Or the driver's create status.
 * PnpkitCloseDeviceInterface sends the cleanup and releases the caller's reference (the close
 * follows with the last reference). PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS PnpkitOpenDeviceInterface(PCUNICODE_STRING SymbolicLinkName, ACCESS_MASK DesiredAccess,
                                              ULONG ShareAccess, PFILE_OBJECT *FileObject);
PNPKIT_API VOID PnpkitCloseDeviceInterface(PFILE_OBJECT FileObject);
/* PnpkitOpenDeviceInterface with every parameter of the create (<pnpkit/wdmio.h>):
 * DesiredAccess, ShareAccess, CreateDisposition and CreateOptions reach the driver in
 * Parameters.Create, an EaBuffer in the create's Irp->AssociatedIrp.SystemBuffer with
 * Parameters.Create.EaLength. FileName and RelatedFileObject must be NULL (the name is the
 * link's): STATUS_INVALID_PARAMETER otherwise, or for a wrong Size, NULL arguments, an EaLength
 * without an EaBuffer; else the statuses of PnpkitOpenDeviceInterface. PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS PnpkitOpenDeviceInterfaceEx(PCUNICODE_STRING SymbolicLinkName,
                                                const PNPKIT_IO_OPEN_PARAMETERS *Parameters, PFILE_OBJECT *FileObject);

PNPKIT_END_DECLS

#endif /* PNPKIT_WDMPNP_H */
