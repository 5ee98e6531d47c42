/*
 * <pnpkit/wdmio.h> — the WDM I/O core of pnpkit (the io layer): DRIVER_OBJECT, DEVICE_OBJECT,
 * FILE_OBJECT, IRPs with stack locations, device stacks, IoCallDriver/IoCompleteRequest,
 * completion and cancel routines, remove locks, MDLs and object references.
 *
 * It is included at the end of <pnpkit/wdm.h>; a program may also include it directly. The io
 * layer knows nothing of PnP: the PnP manager (a later layer) drives device stacks only through
 * IRP_MJ_PNP and IRP_MJ_POWER requests built with the functions below.
 *
 * Conventions, as in <pnpkit/wdm.h>:
 *   - "IRQL" is the highest level the caller may be at. In verifier mode a call above it is a
 *     verifier stop; outside verifier mode (or when a handler took the stop) an NTSTATUS
 *     function returns STATUS_INVALID_DEVICE_REQUEST, a pointer function NULL, and a VOID
 *     function does nothing.
 *   - Out parameters are written only on success.
 *   - A misuse that Driver Verifier catches (completing an IRP twice, returning STATUS_PENDING
 *     without IoMarkIrpPending, ...) is a verifier stop; each function says what it does instead
 *     when the stop returns.
 *
 * Where pnpkit departs from Windows:
 *   - Every IRP has one spare stack location below the first (location 0). It absorbs the
 *     IoGetNextIrpStackLocation writes of a driver that forwards an IRP with no stack location
 *     left, so that IoCallDriver can report the error and complete the IRP instead of
 *     corrupting memory. IoSizeOfIrp counts it.
 *   - An IRP from IoAllocateIrp whose completion reaches the top of its stack without a
 *     completion routine returning STATUS_MORE_PROCESSING_REQUIRED stays with its allocator,
 *     who frees it with IoFreeIrp (Windows would crash queueing an APC to no thread).
 *   - Completion routines run on the thread that calls IoCompleteRequest, at its IRQL; the
 *     final completion of an IRP built by IoBuild*Request (copy-back, I/O status block, event,
 *     free) runs there too, never as an APC.
 *   - The object manager is reduced to reference counts on the io objects (driver, device and
 *     file objects). Device names live in one flat name space of \Device\... names.
 */
#ifndef PNPKIT_WDMIO_H
#define PNPKIT_WDMIO_H

#include <pnpkit/ntdef.h>
#include <pnpkit/ntstatus.h>
#include <pnpkit/wdm.h>

PNPKIT_BEGIN_DECLS

/* =============================================================================================
 * Base types and statuses this header needs (identical redefinitions are allowed in C11)
 * ============================================================================================= */

typedef CHAR CCHAR;
typedef SHORT CSHORT;
typedef ULONG DEVICE_TYPE;
typedef ULONG LCID;

#ifndef STATUS_MORE_PROCESSING_REQUIRED
#define STATUS_MORE_PROCESSING_REQUIRED ((NTSTATUS)0xC0000016L)
#endif
#ifndef STATUS_CONTINUE_COMPLETION
#define STATUS_CONTINUE_COMPLETION STATUS_SUCCESS
#endif

/* Windows aligns some IO_STACK_LOCATION members to a pointer; pnpkit keeps that layout. */
#define POINTER_ALIGNMENT __attribute__((aligned(8)))

/* =============================================================================================
 * Access rights, share modes, create dispositions and options (Windows values)
 * ============================================================================================= */

#ifndef DELETE
#define DELETE (0x00010000L)
#define READ_CONTROL (0x00020000L)
#define WRITE_DAC (0x00040000L)
#define WRITE_OWNER (0x00080000L)
#define SYNCHRONIZE (0x00100000L)
#define STANDARD_RIGHTS_REQUIRED (0x000F0000L)
#define STANDARD_RIGHTS_READ (READ_CONTROL)
#define STANDARD_RIGHTS_WRITE (READ_CONTROL)
#define STANDARD_RIGHTS_EXECUTE (READ_CONTROL)
#define STANDARD_RIGHTS_ALL (0x001F0000L)
#endif
#ifndef GENERIC_READ
#define GENERIC_READ (0x80000000L)
#define GENERIC_WRITE (0x40000000L)
#define GENERIC_EXECUTE (0x20000000L)
#define GENERIC_ALL (0x10000000L)
#endif
#ifndef FILE_READ_DATA
#define FILE_READ_DATA (0x0001)
#define FILE_WRITE_DATA (0x0002)
#define FILE_APPEND_DATA (0x0004)
#define FILE_READ_EA (0x0008)
#define FILE_WRITE_EA (0x0010)
#define FILE_EXECUTE (0x0020)
#define FILE_READ_ATTRIBUTES (0x0080)
#define FILE_WRITE_ATTRIBUTES (0x0100)
#define FILE_ALL_ACCESS (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0x1FF)
#endif
#ifndef FILE_SHARE_READ
#define FILE_SHARE_READ 0x00000001
#define FILE_SHARE_WRITE 0x00000002
#define FILE_SHARE_DELETE 0x00000004
#endif
#ifndef FILE_OPEN
#define FILE_SUPERSEDE 0x00000000
#define FILE_OPEN 0x00000001
#define FILE_CREATE 0x00000002
#define FILE_OPEN_IF 0x00000003
#define FILE_OVERWRITE 0x00000004
#define FILE_OVERWRITE_IF 0x00000005
#endif
#ifndef FILE_DIRECTORY_FILE
#define FILE_DIRECTORY_FILE 0x00000001
#define FILE_WRITE_THROUGH 0x00000002
#define FILE_SEQUENTIAL_ONLY 0x00000004
#define FILE_SYNCHRONOUS_IO_ALERT 0x00000010
#define FILE_SYNCHRONOUS_IO_NONALERT 0x00000020
#define FILE_NON_DIRECTORY_FILE 0x00000040
#endif

/* =============================================================================================
 * Device types, characteristics and I/O control codes
 * ============================================================================================= */

#define FILE_DEVICE_BEEP 0x00000001
#define FILE_DEVICE_CD_ROM 0x00000002
#define FILE_DEVICE_CONTROLLER 0x00000004
#define FILE_DEVICE_DISK 0x00000007
#define FILE_DEVICE_DISK_FILE_SYSTEM 0x00000008
#define FILE_DEVICE_FILE_SYSTEM 0x00000009
#define FILE_DEVICE_KEYBOARD 0x0000000b
#define FILE_DEVICE_MOUSE 0x0000000f
#define FILE_DEVICE_NETWORK 0x00000012
#define FILE_DEVICE_NULL 0x00000015
#define FILE_DEVICE_PARALLEL_PORT 0x00000016
#define FILE_DEVICE_PHYSICAL_NETCARD 0x00000017
#define FILE_DEVICE_PRINTER 0x00000018
#define FILE_DEVICE_SERIAL_PORT 0x0000001b
#define FILE_DEVICE_SCREEN 0x0000001c
#define FILE_DEVICE_SOUND 0x0000001d
#define FILE_DEVICE_TRANSPORT 0x00000021
#define FILE_DEVICE_UNKNOWN 0x00000022
#define FILE_DEVICE_VIDEO 0x00000023
#define FILE_DEVICE_BATTERY 0x00000029
#define FILE_DEVICE_BUS_EXTENDER 0x0000002a
#define FILE_DEVICE_ACPI 0x00000032

/* DEVICE_OBJECT.Characteristics */
#define FILE_REMOVABLE_MEDIA 0x00000001
#define FILE_READ_ONLY_DEVICE 0x00000002
#define FILE_FLOPPY_DISKETTE 0x00000004
#define FILE_WRITE_ONCE_MEDIA 0x00000008
#define FILE_REMOTE_DEVICE 0x00000010
#define FILE_DEVICE_IS_MOUNTED 0x00000020
#define FILE_VIRTUAL_VOLUME 0x00000040
#define FILE_AUTOGENERATED_DEVICE_NAME 0x00000080
#define FILE_DEVICE_SECURE_OPEN 0x00000100
#define FILE_CHARACTERISTIC_PNP_DEVICE 0x00000800

#define CTL_CODE(DeviceType, Function, Method, Access) \
    (((ULONG)(DeviceType) << 16) | ((ULONG)(Access) << 14) | ((ULONG)(Function) << 2) | (ULONG)(Method))
#define DEVICE_TYPE_FROM_CTL_CODE(ctrlCode) (((ULONG)(ctrlCode) & 0xffff0000) >> 16)
#define METHOD_FROM_CTL_CODE(ctrlCode) ((ULONG)((ctrlCode) & 3))
#define METHOD_BUFFERED 0
#define METHOD_IN_DIRECT 1
#define METHOD_OUT_DIRECT 2
#define METHOD_NEITHER 3
#define METHOD_DIRECT_TO_HARDWARE METHOD_IN_DIRECT
#define METHOD_DIRECT_FROM_HARDWARE METHOD_OUT_DIRECT
#define FILE_ANY_ACCESS 0
#define FILE_SPECIAL_ACCESS (FILE_ANY_ACCESS)
#define FILE_READ_ACCESS (0x0001)
#define FILE_WRITE_ACCESS (0x0002)

/* =============================================================================================
 * Major and minor function codes (Windows values)
 * ============================================================================================= */

#define IRP_MJ_CREATE 0x00
#define IRP_MJ_CREATE_NAMED_PIPE 0x01
#define IRP_MJ_CLOSE 0x02
#define IRP_MJ_READ 0x03
#define IRP_MJ_WRITE 0x04
#define IRP_MJ_QUERY_INFORMATION 0x05
#define IRP_MJ_SET_INFORMATION 0x06
#define IRP_MJ_QUERY_EA 0x07
#define IRP_MJ_SET_EA 0x08
#define IRP_MJ_FLUSH_BUFFERS 0x09
#define IRP_MJ_QUERY_VOLUME_INFORMATION 0x0a
#define IRP_MJ_SET_VOLUME_INFORMATION 0x0b
#define IRP_MJ_DIRECTORY_CONTROL 0x0c
#define IRP_MJ_FILE_SYSTEM_CONTROL 0x0d
#define IRP_MJ_DEVICE_CONTROL 0x0e
#define IRP_MJ_INTERNAL_DEVICE_CONTROL 0x0f
#define IRP_MJ_SHUTDOWN 0x10
#define IRP_MJ_LOCK_CONTROL 0x11
#define IRP_MJ_CLEANUP 0x12
#define IRP_MJ_CREATE_MAILSLOT 0x13
#define IRP_MJ_QUERY_SECURITY 0x14
#define IRP_MJ_SET_SECURITY 0x15
#define IRP_MJ_POWER 0x16
#define IRP_MJ_SYSTEM_CONTROL 0x17
#define IRP_MJ_DEVICE_CHANGE 0x18
#define IRP_MJ_QUERY_QUOTA 0x19
#define IRP_MJ_SET_QUOTA 0x1a
#define IRP_MJ_PNP 0x1b
#define IRP_MJ_PNP_POWER IRP_MJ_PNP
#define IRP_MJ_MAXIMUM_FUNCTION 0x1b
#define IRP_MJ_SCSI IRP_MJ_INTERNAL_DEVICE_CONTROL

/* IRP_MJ_PNP */
#define IRP_MN_START_DEVICE 0x00
#define IRP_MN_QUERY_REMOVE_DEVICE 0x01
#define IRP_MN_REMOVE_DEVICE 0x02
#define IRP_MN_CANCEL_REMOVE_DEVICE 0x03
#define IRP_MN_STOP_DEVICE 0x04
#define IRP_MN_QUERY_STOP_DEVICE 0x05
#define IRP_MN_CANCEL_STOP_DEVICE 0x06
#define IRP_MN_QUERY_DEVICE_RELATIONS 0x07
#define IRP_MN_QUERY_INTERFACE 0x08
#define IRP_MN_QUERY_CAPABILITIES 0x09
#define IRP_MN_QUERY_RESOURCES 0x0A
#define IRP_MN_QUERY_RESOURCE_REQUIREMENTS 0x0B
#define IRP_MN_QUERY_DEVICE_TEXT 0x0C
#define IRP_MN_FILTER_RESOURCE_REQUIREMENTS 0x0D
#define IRP_MN_READ_CONFIG 0x0F
#define IRP_MN_WRITE_CONFIG 0x10
#define IRP_MN_EJECT 0x11
#define IRP_MN_SET_LOCK 0x12
#define IRP_MN_QUERY_ID 0x13
#define IRP_MN_QUERY_PNP_DEVICE_STATE 0x14
#define IRP_MN_QUERY_BUS_INFORMATION 0x15
#define IRP_MN_DEVICE_USAGE_NOTIFICATION 0x16
#define IRP_MN_SURPRISE_REMOVAL 0x17
#define IRP_MN_DEVICE_ENUMERATED 0x19

/* IRP_MJ_POWER */
#define IRP_MN_WAIT_WAKE 0x00
#define IRP_MN_POWER_SEQUENCE 0x01
#define IRP_MN_SET_POWER 0x02
#define IRP_MN_QUERY_POWER 0x03

/* IRP_MJ_SYSTEM_CONTROL (WMI) */
#define IRP_MN_QUERY_ALL_DATA 0x00
#define IRP_MN_QUERY_SINGLE_INSTANCE 0x01
#define IRP_MN_CHANGE_SINGLE_INSTANCE 0x02
#define IRP_MN_CHANGE_SINGLE_ITEM 0x03
#define IRP_MN_ENABLE_EVENTS 0x04
#define IRP_MN_DISABLE_EVENTS 0x05
#define IRP_MN_ENABLE_COLLECTION 0x06
#define IRP_MN_DISABLE_COLLECTION 0x07
#define IRP_MN_REGINFO 0x08
#define IRP_MN_EXECUTE_METHOD 0x09

/* IO_STACK_LOCATION.Control */
#define SL_PENDING_RETURNED 0x01
#define SL_ERROR_RETURNED 0x02
#define SL_INVOKE_ON_CANCEL 0x20
#define SL_INVOKE_ON_SUCCESS 0x40
#define SL_INVOKE_ON_ERROR 0x80

/* IO_STACK_LOCATION.Flags */
#define SL_FORCE_ACCESS_CHECK 0x01
#define SL_OPEN_PAGING_FILE 0x02
#define SL_OPEN_TARGET_DIRECTORY 0x04
#define SL_CASE_SENSITIVE 0x80
#define SL_KEY_SPECIFIED 0x01
#define SL_OVERRIDE_VERIFY_VOLUME 0x02
#define SL_WRITE_THROUGH 0x04
#define SL_FT_SEQUENTIAL_WRITE 0x08

/* Object types (the Type field of the io objects) */
#define IO_TYPE_DEVICE 0x00000003
#define IO_TYPE_DRIVER 0x00000004
#define IO_TYPE_FILE 0x00000005
#define IO_TYPE_IRP 0x00000006
#define IO_TYPE_DEVICE_OBJECT_EXTENSION 0x0000000d

/* =============================================================================================
 * PnP and power types carried by IRP stack locations
 * ============================================================================================= */

typedef enum _DEVICE_RELATION_TYPE {
    BusRelations,
    EjectionRelations,
    PowerRelations,
    RemovalRelations,
    TargetDeviceRelation,
    SingleBusRelations,
    TransportRelations
} DEVICE_RELATION_TYPE, *PDEVICE_RELATION_TYPE;

typedef struct _DEVICE_RELATIONS {
    ULONG Count;
    struct _DEVICE_OBJECT *Objects[1]; /* Count entries; each holds a reference */
} DEVICE_RELATIONS, *PDEVICE_RELATIONS;

typedef enum _BUS_QUERY_ID_TYPE {
    BusQueryDeviceID = 0,
    BusQueryHardwareIDs = 1,
    BusQueryCompatibleIDs = 2,
    BusQueryInstanceID = 3,
    BusQueryDeviceSerialNumber = 4,
    BusQueryContainerID = 5
} BUS_QUERY_ID_TYPE, *PBUS_QUERY_ID_TYPE;

typedef enum _DEVICE_TEXT_TYPE {
    DeviceTextDescription = 0,
    DeviceTextLocationInformation = 1
} DEVICE_TEXT_TYPE, *PDEVICE_TEXT_TYPE;

typedef enum _DEVICE_USAGE_NOTIFICATION_TYPE {
    DeviceUsageTypeUndefined,
    DeviceUsageTypePaging,
    DeviceUsageTypeHibernation,
    DeviceUsageTypeDumpFile,
    DeviceUsageTypeBoot,
    DeviceUsageTypePostDisplay,
    DeviceUsageTypeGuestAssigned
} DEVICE_USAGE_NOTIFICATION_TYPE;

typedef enum _SYSTEM_POWER_STATE {
    PowerSystemUnspecified = 0,
    PowerSystemWorking = 1,
    PowerSystemSleeping1 = 2,
    PowerSystemSleeping2 = 3,
    PowerSystemSleeping3 = 4,
    PowerSystemHibernate = 5,
    PowerSystemShutdown = 6,
    PowerSystemMaximum = 7
} SYSTEM_POWER_STATE, *PSYSTEM_POWER_STATE;

typedef enum _DEVICE_POWER_STATE {
    PowerDeviceUnspecified = 0,
    PowerDeviceD0,
    PowerDeviceD1,
    PowerDeviceD2,
    PowerDeviceD3,
    PowerDeviceMaximum
} DEVICE_POWER_STATE, *PDEVICE_POWER_STATE;

typedef union _POWER_STATE {
    SYSTEM_POWER_STATE SystemState;
    DEVICE_POWER_STATE DeviceState;
} POWER_STATE, *PPOWER_STATE;

typedef enum _POWER_STATE_TYPE {
    SystemPowerState = 0,
    DevicePowerState
} POWER_STATE_TYPE, *PPOWER_STATE_TYPE;

typedef enum _POWER_ACTION {
    PowerActionNone = 0,
    PowerActionReserved,
    PowerActionSleep,
    PowerActionHibernate,
    PowerActionShutdown,
    PowerActionShutdownReset,
    PowerActionShutdownOff,
    PowerActionWarmEject,
    PowerActionDisplayOff
} POWER_ACTION, *PPOWER_ACTION;

typedef struct _SYSTEM_POWER_STATE_CONTEXT {
    union {
        struct {
            ULONG Reserved1 : 8;
            ULONG TargetSystemState : 4;
            ULONG EffectiveSystemState : 4;
            ULONG CurrentSystemState : 4;
            ULONG IgnoreHibernationPath : 1;
            ULONG PseudoTransition : 1;
            ULONG KernelSoftReboot : 1;
            ULONG DirectedDripsTransition : 1;
            ULONG Reserved2 : 8;
        };
        ULONG ContextAsUlong;
    };
} SYSTEM_POWER_STATE_CONTEXT, *PSYSTEM_POWER_STATE_CONTEXT;

/* What create requests carry; DesiredAccess is what the opener asked for. */
typedef struct _IO_SECURITY_CONTEXT {
    PVOID SecurityQos;   /* not used by pnpkit: NULL */
    PVOID AccessState;   /* not used by pnpkit: NULL */
    ACCESS_MASK DesiredAccess;
    ULONG FullCreateOptions;
} IO_SECURITY_CONTEXT, *PIO_SECURITY_CONTEXT;

/* =============================================================================================
 * The objects
 * ============================================================================================= */

typedef struct _DRIVER_OBJECT DRIVER_OBJECT, *PDRIVER_OBJECT;
typedef struct _DEVICE_OBJECT DEVICE_OBJECT, *PDEVICE_OBJECT;
typedef struct _FILE_OBJECT FILE_OBJECT, *PFILE_OBJECT;
typedef struct _IRP IRP, *PIRP;
typedef struct _IO_STACK_LOCATION IO_STACK_LOCATION, *PIO_STACK_LOCATION;
typedef struct _MDL MDL, *PMDL;

typedef struct _IO_STATUS_BLOCK {
    union {
        NTSTATUS Status;
        PVOID Pointer;
    };
    ULONG_PTR Information;
} IO_STATUS_BLOCK, *PIO_STATUS_BLOCK;

/* Driver routines, with Windows' function-type names. */
typedef NTSTATUS DRIVER_INITIALIZE(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);
typedef DRIVER_INITIALIZE *PDRIVER_INITIALIZE;
typedef NTSTATUS DRIVER_ADD_DEVICE(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject);
typedef DRIVER_ADD_DEVICE *PDRIVER_ADD_DEVICE;
typedef VOID DRIVER_UNLOAD(PDRIVER_OBJECT DriverObject);
typedef DRIVER_UNLOAD *PDRIVER_UNLOAD;
typedef NTSTATUS DRIVER_DISPATCH(PDEVICE_OBJECT DeviceObject, PIRP Irp);
typedef DRIVER_DISPATCH *PDRIVER_DISPATCH;
typedef DRIVER_DISPATCH DRIVER_DISPATCH_RAISED;
typedef DRIVER_DISPATCH DRIVER_DISPATCH_PAGED;
typedef VOID DRIVER_STARTIO(PDEVICE_OBJECT DeviceObject, PIRP Irp);
typedef DRIVER_STARTIO *PDRIVER_STARTIO;
typedef VOID DRIVER_CANCEL(PDEVICE_OBJECT DeviceObject, PIRP Irp);
typedef DRIVER_CANCEL *PDRIVER_CANCEL;
typedef NTSTATUS IO_COMPLETION_ROUTINE(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context);
typedef IO_COMPLETION_ROUTINE *PIO_COMPLETION_ROUTINE;
typedef VOID IO_APC_ROUTINE(PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, ULONG Reserved);
typedef IO_APC_ROUTINE *PIO_APC_ROUTINE;

typedef struct _DRIVER_EXTENSION {
    PDRIVER_OBJECT DriverObject;
    /* Set by DriverEntry for a PnP driver; called by the PnP manager for each new device. */
    PDRIVER_ADD_DEVICE AddDevice;
    ULONG Count;
    UNICODE_STRING ServiceKeyName; /* the Name given to PnpkitIoCreateDriver */
} DRIVER_EXTENSION, *PDRIVER_EXTENSION;

struct _DRIVER_OBJECT {
    CSHORT Type; /* IO_TYPE_DRIVER */
    CSHORT Size;
    /* The driver's device objects, newest first, linked by NextDevice. Changed by IoCreateDevice
     * and IoDeleteDevice; walk it only while no device of the driver can be created or
     * deleted (in DriverUnload, for example). */
    PDEVICE_OBJECT DeviceObject;
    ULONG Flags;
    PVOID DriverStart;   /* not used by pnpkit */
    ULONG DriverSize;    /* not used by pnpkit */
    PVOID DriverSection; /* not used by pnpkit */
    PDRIVER_EXTENSION DriverExtension;
    UNICODE_STRING DriverName; /* "\Driver\<Name>" */
    PUNICODE_STRING HardwareDatabase;
    PVOID FastIoDispatch;          /* not used by pnpkit: fast I/O does not exist here */
    PDRIVER_INITIALIZE DriverInit;
    PDRIVER_STARTIO DriverStartIo; /* not used by pnpkit: IoStartPacket is not implemented */
    PDRIVER_UNLOAD DriverUnload;
    /* Every entry starts as a routine that completes the IRP with
     * STATUS_INVALID_DEVICE_REQUEST. DriverEntry replaces the ones the driver handles; the
     * table must not change after DriverEntry returns. */
    PDRIVER_DISPATCH MajorFunction[IRP_MJ_MAXIMUM_FUNCTION + 1];
};

/* DRIVER_OBJECT.Flags */
#define DRVO_UNLOAD_INVOKED 0x00000001

/* The part of a device object that the I/O manager keeps for itself and for the layer above. */
typedef struct _DEVOBJ_EXTENSION {
    CSHORT Type; /* IO_TYPE_DEVICE_OBJECT_EXTENSION */
    USHORT Size;
    PDEVICE_OBJECT DeviceObject;
    ULONG PowerFlags;
    PVOID Dope;
    /* DOE_* flags. DOE_DELETE_PENDING is set by IoDeleteDevice; the others belong to the layer
     * above. Read with ReadAcquire. */
    volatile ULONG ExtensionFlags;
    /* For the PnP manager, which links its device node here; the io layer never reads it. */
    PVOID DeviceNode;
    /* The device this one is attached to (the next lower device), or NULL. Changed only under
     * the I/O database lock: read it through IoGetLowerDeviceObject. */
    PDEVICE_OBJECT AttachedTo;
} DEVOBJ_EXTENSION, *PDEVOBJ_EXTENSION;

#define DOE_UNLOAD_PENDING 0x00000001
#define DOE_DELETE_PENDING 0x00000002
#define DOE_REMOVE_PENDING 0x00000004
#define DOE_REMOVE_PROCESSED 0x00000008
#define DOE_START_PENDING 0x00000010

struct _DEVICE_OBJECT {
    CSHORT Type; /* IO_TYPE_DEVICE */
    USHORT Size; /* sizeof(DEVICE_OBJECT) + the extension size, capped at 0xFFFF */
    /* The number of file objects open on this device (created by PnpkitIoOpenDevice or
     * PnpkitIoCreateFileObject and not yet closed). Read with ReadAcquire. */
    volatile LONG ReferenceCount;
    PDRIVER_OBJECT DriverObject;
    PDEVICE_OBJECT NextDevice;     /* next device object of the same driver */
    /* The device attached directly above this one, or NULL. Changed only under the I/O
     * database lock: read it through IoGetAttachedDeviceReference. */
    PDEVICE_OBJECT AttachedDevice;
    PIRP CurrentIrp;               /* not used by pnpkit (no IoStartPacket) */
    PVOID Timer;                   /* not used by pnpkit */
    ULONG Flags;                   /* DO_* */
    ULONG Characteristics;         /* FILE_* characteristics */
    PVOID Vpb;                     /* not used by pnpkit */
    PVOID DeviceExtension;         /* DeviceExtensionSize zeroed bytes, 16-byte aligned */
    DEVICE_TYPE DeviceType;
    CCHAR StackSize;               /* stack locations an IRP needs to reach the bottom */
    union {
        LIST_ENTRY ListEntry;
    } Queue;
    ULONG AlignmentRequirement;
    KEVENT DeviceLock;             /* not used by pnpkit */
    USHORT SectorSize;
    USHORT Spare1;
    PDEVOBJ_EXTENSION DeviceObjectExtension;
    PVOID Reserved;
};

/* DEVICE_OBJECT.Flags */
#define DO_VERIFY_VOLUME 0x00000002
#define DO_BUFFERED_IO 0x00000004
#define DO_EXCLUSIVE 0x00000008
#define DO_DIRECT_IO 0x00000010
#define DO_MAP_IO_BUFFER 0x00000020
#define DO_DEVICE_HAS_NAME 0x00000040
#define DO_DEVICE_INITIALIZING 0x00000080
#define DO_SHUTDOWN_REGISTERED 0x00000800
#define DO_BUS_ENUMERATED_DEVICE 0x00001000
#define DO_POWER_PAGABLE 0x00002000
#define DO_POWER_INRUSH 0x00004000

struct _FILE_OBJECT {
    CSHORT Type; /* IO_TYPE_FILE */
    CSHORT Size;
    /* The device the file was opened on (not necessarily the top of its stack); the file
     * object holds a reference on it. */
    PDEVICE_OBJECT DeviceObject;
    PVOID Vpb;                      /* not used by pnpkit */
    PVOID FsContext;                /* for the driver that handled the create */
    PVOID FsContext2;               /* for the driver that handled the create */
    PVOID SectionObjectPointer;     /* not used by pnpkit */
    PVOID PrivateCacheMap;          /* not used by pnpkit */
    NTSTATUS FinalStatus;
    PFILE_OBJECT RelatedFileObject;
    BOOLEAN LockOperation;
    BOOLEAN DeletePending;
    BOOLEAN ReadAccess;
    BOOLEAN WriteAccess;
    BOOLEAN DeleteAccess;
    BOOLEAN SharedRead;
    BOOLEAN SharedWrite;
    BOOLEAN SharedDelete;
    ULONG Flags;                    /* FO_* */
    /* The part of the opened name after the device (a copy owned by the file object; Length 0
     * for a plain open of the device). */
    UNICODE_STRING FileName;
    LARGE_INTEGER CurrentByteOffset;
    volatile ULONG Waiters;
    volatile ULONG Busy;
    PVOID LastLock;
    KEVENT Lock;
    KEVENT Event;
    PVOID CompletionContext;        /* not used by pnpkit */
    KSPIN_LOCK IrpListLock;
    LIST_ENTRY IrpList;
    PVOID FileObjectExtension;      /* not used by pnpkit */
};

/* FILE_OBJECT.Flags */
#define FO_FILE_OPEN 0x00000001
#define FO_SYNCHRONOUS_IO 0x00000002
#define FO_ALERTABLE_IO 0x00000004
#define FO_NO_INTERMEDIATE_BUFFERING 0x00000008
#define FO_WRITE_THROUGH 0x00000010
#define FO_SEQUENTIAL_ONLY 0x00000020
#define FO_DIRECT_DEVICE_OPEN 0x00000800
#define FO_CLEANUP_COMPLETE 0x00004000
#define FO_HANDLE_CREATED 0x00040000

/* An MDL describes a buffer. In user mode a buffer needs no locking or mapping: the system
 * address of an MDL is its virtual address. */
struct _MDL {
    struct _MDL *Next;
    CSHORT Size;
    CSHORT MdlFlags;
    PVOID Process;
    PVOID MappedSystemVa;
    PVOID StartVa;    /* the buffer's address rounded down to a page */
    ULONG ByteCount;
    ULONG ByteOffset; /* the buffer's offset in its first page */
};

#define MDL_MAPPED_TO_SYSTEM_VA 0x0001
#define MDL_PAGES_LOCKED 0x0002
#define MDL_SOURCE_IS_NONPAGED_POOL 0x0004
#define MDL_ALLOCATED_FIXED_SIZE 0x0008
#define MDL_PARTIAL 0x0010

struct _IO_STACK_LOCATION {
    UCHAR MajorFunction;
    UCHAR MinorFunction;
    UCHAR Flags;
    UCHAR Control;
    union {
        struct {
            PIO_SECURITY_CONTEXT SecurityContext;
            ULONG Options; /* CreateDisposition << 24 | CreateOptions */
            USHORT POINTER_ALIGNMENT FileAttributes;
            USHORT ShareAccess;
            ULONG POINTER_ALIGNMENT EaLength;
        } Create;
        struct {
            ULONG Length;
            ULONG POINTER_ALIGNMENT Key;
            ULONG Flags;
            LARGE_INTEGER ByteOffset;
        } Read;
        struct {
            ULONG Length;
            ULONG POINTER_ALIGNMENT Key;
            ULONG Flags;
            LARGE_INTEGER ByteOffset;
        } Write;
        struct {
            ULONG OutputBufferLength;
            ULONG POINTER_ALIGNMENT InputBufferLength;
            ULONG POINTER_ALIGNMENT IoControlCode;
            PVOID Type3InputBuffer;
        } DeviceIoControl;
        struct {
            DEVICE_RELATION_TYPE Type;
        } QueryDeviceRelations;
        struct {
            const GUID *InterfaceType;
            USHORT Size;
            USHORT Version;
            struct _INTERFACE *Interface;
            PVOID InterfaceSpecificData;
        } QueryInterface;
        struct {
            struct _DEVICE_CAPABILITIES *Capabilities;
        } DeviceCapabilities;
        struct {
            struct _IO_RESOURCE_REQUIREMENTS_LIST *IoResourceRequirementList;
        } FilterResourceRequirements;
        struct {
            ULONG WhichSpace;
            PVOID Buffer;
            ULONG Offset;
            ULONG POINTER_ALIGNMENT Length;
        } ReadWriteConfig;
        struct {
            BOOLEAN Lock;
        } SetLock;
        struct {
            BUS_QUERY_ID_TYPE IdType;
        } QueryId;
        struct {
            DEVICE_TEXT_TYPE DeviceTextType;
            LCID POINTER_ALIGNMENT LocaleId;
        } QueryDeviceText;
        struct {
            BOOLEAN InPath;
            BOOLEAN Reserved[3];
            DEVICE_USAGE_NOTIFICATION_TYPE POINTER_ALIGNMENT Type;
        } UsageNotification;
        struct {
            SYSTEM_POWER_STATE PowerState;
        } WaitWake;
        struct {
            struct _POWER_SEQUENCE *PowerSequence;
        } PowerSequence;
        struct {
            union {
                ULONG SystemContext;
                SYSTEM_POWER_STATE_CONTEXT SystemPowerStateContext;
            };
            POWER_STATE_TYPE POINTER_ALIGNMENT Type;
            POWER_STATE POINTER_ALIGNMENT State;
            POWER_ACTION POINTER_ALIGNMENT ShutdownType;
        } Power;
        struct {
            struct _CM_RESOURCE_LIST *AllocatedResources;
            struct _CM_RESOURCE_LIST *AllocatedResourcesTranslated;
        } StartDevice;
        struct {
            ULONG_PTR ProviderId;
            PVOID DataPath;
            ULONG BufferSize;
            PVOID Buffer;
        } WMI;
        struct {
            PVOID Argument1;
            PVOID Argument2;
            PVOID Argument3;
            PVOID Argument4;
        } Others;
    } Parameters;
    PDEVICE_OBJECT DeviceObject; /* set by IoCallDriver to the device it dispatches to */
    PFILE_OBJECT FileObject;
    PIO_COMPLETION_ROUTINE CompletionRoutine; /* run when the location below completes */
    PVOID Context;
};

struct _IRP {
    CSHORT Type; /* IO_TYPE_IRP */
    USHORT Size; /* the packet size given to IoInitializeIrp */
    PMDL MdlAddress;
    ULONG Flags; /* IRP_* */
    union {
        struct _IRP *MasterIrp;
        volatile LONG IrpCount;
        PVOID SystemBuffer;
    } AssociatedIrp;
    LIST_ENTRY ThreadListEntry; /* not used by pnpkit */
    IO_STATUS_BLOCK IoStatus;
    KPROCESSOR_MODE RequestorMode;
    /* Set while completing: TRUE if the driver below marked its stack location pending. A
     * completion routine that does not return STATUS_MORE_PROCESSING_REQUIRED must then call
     * IoMarkIrpPending. */
    BOOLEAN PendingReturned;
    CHAR StackCount;
    /* 1-based index of the current stack location: StackCount + 1 before the first
     * IoCallDriver, StackCount + 2 once completion has passed every location. */
    CHAR CurrentLocation;
    /* Set by IoCancelIrp, under the cancel spin lock. */
    volatile BOOLEAN Cancel;
    KIRQL CancelIrql; /* the IRQL to pass to IoReleaseCancelSpinLock in a cancel routine */
    CCHAR ApcEnvironment;
    UCHAR AllocationFlags; /* IRP_ALLOCATED_* and pnpkit's own bits; do not change */
    union {
        PIO_STATUS_BLOCK UserIosb; /* IoBuild*Request: receives IoStatus at completion */
        PVOID IoRingContext;
    };
    PKEVENT UserEvent; /* IoBuild*Request: set at completion */
    union {
        struct {
            union {
                PIO_APC_ROUTINE UserApcRoutine;
                PVOID IssuingProcess;
            };
            PVOID UserApcContext;
        } AsynchronousParameters;
        LARGE_INTEGER AllocationSize;
    } Overlay;
    /* Exchanged atomically by IoSetCancelRoutine and IoCancelIrp. */
    PDRIVER_CANCEL volatile CancelRoutine;
    PVOID UserBuffer;
    union {
        struct {
            /* For the driver that currently owns the IRP. */
            PVOID DriverContext[4];
            PVOID Thread; /* not used by pnpkit */
            PCHAR AuxiliaryBuffer;
            struct {
                /* For the driver that currently owns the IRP (its queue). */
                LIST_ENTRY ListEntry;
                union {
                    PIO_STACK_LOCATION CurrentStackLocation;
                    ULONG PacketType;
                };
            };
            PFILE_OBJECT OriginalFileObject;
        } Overlay;
        PVOID CompletionKey;
    } Tail;
    /* pnpkit's bookkeeping, not in Windows' IRP. Drivers must not touch it. */
    struct {
        ULONG Magic;
        volatile LONG State;
        struct _IRP *Next;
        ULONG_PTR Reserved;
    } PnpkitPrivate;
};

/* IRP.Flags */
#define IRP_NOCACHE 0x00000001
#define IRP_PAGING_IO 0x00000002
#define IRP_MOUNT_COMPLETION 0x00000002
#define IRP_SYNCHRONOUS_API 0x00000004
#define IRP_ASSOCIATED_IRP 0x00000008
#define IRP_BUFFERED_IO 0x00000010
#define IRP_DEALLOCATE_BUFFER 0x00000020
#define IRP_INPUT_OPERATION 0x00000040
#define IRP_SYNCHRONOUS_PAGING_IO 0x00000040
#define IRP_CREATE_OPERATION 0x00000080
#define IRP_READ_OPERATION 0x00000100
#define IRP_WRITE_OPERATION 0x00000200
#define IRP_CLOSE_OPERATION 0x00000400
#define IRP_DEFER_IO_COMPLETION 0x00000800

/* IRP.AllocationFlags */
#define IRP_QUOTA_CHARGED 0x01
#define IRP_ALLOCATED_MUST_SUCCEED 0x02
#define IRP_ALLOCATED_FIXED_SIZE 0x04
#define IRP_LOOKASIDE_ALLOCATION 0x08

/* Bytes of an IRP with StackSize stack locations, pnpkit's spare location included. */
#define IoSizeOfIrp(StackSize) \
    ((USHORT)(sizeof(IRP) + (((ULONG)(StackSize) + 1) * sizeof(IO_STACK_LOCATION))))

/* =============================================================================================
 * Driver objects (pnpkit additions: Windows creates them from the service database)
 * ============================================================================================= */

/* Creates a driver object for the service Name ("mydriver"), then runs
 * DriverEntry(DriverObject, RegistryPath) once, at PASSIVE_LEVEL, in the calling thread. The
 * DriverName is "\Driver\<Name>", the registry path
 * "\Registry\Machine\System\CurrentControlSet\Services\<Name>" (valid during DriverEntry
 * only), DriverExtension->ServiceKeyName is Name. Devices created during DriverEntry lose
 * DO_DEVICE_INITIALIZING when it returns.
 * Returns DriverEntry's status, or STATUS_INVALID_PARAMETER for a NULL or empty Name or NULL
 * DriverEntry or DriverObject, STATUS_INSUFFICIENT_RESOURCES on allocation failure. When
 * DriverEntry fails, the driver object is deleted (DriverUnload is not called) and a device it
 * left behind is a verifier stop.
 * On success *DriverObject holds the creation reference; release it with PnpkitIoDeleteDriver.
 * PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS PnpkitIoCreateDriver(PCWSTR Name, PDRIVER_INITIALIZE DriverEntry,
                                         PDRIVER_OBJECT *DriverObject);

/* Unloads a driver: calls DriverUnload (if set) once, at PASSIVE_LEVEL, then drops the creation
 * reference. The memory goes when the last reference does (each device object holds one on
 * its driver). A device object still present after DriverUnload is a verifier stop; a second
 * delete is a verifier stop and does nothing. NULL is ignored. PASSIVE_LEVEL. */
PNPKIT_API VOID PnpkitIoDeleteDriver(PDRIVER_OBJECT DriverObject);

/* =============================================================================================
 * Device objects and stacks
 * ============================================================================================= */

/* Creates a device object of DriverObject with DeviceExtensionSize zeroed bytes of extension.
 * DeviceName (optional, copied) must start with '\' and be unique among live devices;
 * FILE_AUTOGENERATED_DEVICE_NAME in DeviceCharacteristics names the device
 * "\Device\NNNNNNNN" (hexadecimal) instead. Exclusive sets DO_EXCLUSIVE. The device starts with
 * DO_DEVICE_INITIALIZING, StackSize 1, and a reference count of one (the creation reference,
 * dropped by IoDeleteDevice); it holds a reference on its driver.
 * Returns STATUS_INVALID_PARAMETER (NULL or deleted DriverObject, NULL DeviceObject),
 * STATUS_OBJECT_NAME_INVALID (a name not starting with '\'), STATUS_OBJECT_NAME_COLLISION,
 * STATUS_INSUFFICIENT_RESOURCES. PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS IoCreateDevice(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize,
                                   PUNICODE_STRING DeviceName, DEVICE_TYPE DeviceType,
                                   ULONG DeviceCharacteristics, BOOLEAN Exclusive,
                                   PDEVICE_OBJECT *DeviceObject);

/* Marks the device DOE_DELETE_PENDING, removes it from its driver's list and from the name
 * space, and drops the creation reference: the memory (extension included) goes with the
 * last reference. Deleting a device that is still attached to a lower device is a verifier
 * stop (the device is then detached); deleting twice is a verifier stop and does nothing.
 * NULL is ignored. PASSIVE_LEVEL. */
PNPKIT_API VOID IoDeleteDevice(PDEVICE_OBJECT DeviceObject);

/* Attaches SourceDevice on top of the stack that contains TargetDevice and returns the device
 * it was attached to (the previous top), or NULL when the top is being deleted or an argument
 * is NULL. SourceDevice->StackSize becomes the previous top's StackSize + 1 and its
 * AlignmentRequirement at least the previous top's. SourceDevice must not be attached already
 * (verifier stop, NULL). The attachment holds a reference on the returned device until
 * IoDetachDevice. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API PDEVICE_OBJECT IoAttachDeviceToDeviceStack(PDEVICE_OBJECT SourceDevice, PDEVICE_OBJECT TargetDevice);

/* Same, with Windows' status-returning form: *AttachedToDeviceObject receives the previous top.
 * STATUS_INVALID_PARAMETER for NULL arguments, STATUS_NO_SUCH_DEVICE when the top is being
 * deleted, STATUS_INVALID_DEVICE_REQUEST when SourceDevice is attached already. */
PNPKIT_API NTSTATUS IoAttachDeviceToDeviceStackSafe(PDEVICE_OBJECT SourceDevice, PDEVICE_OBJECT TargetDevice,
                                                    PDEVICE_OBJECT *AttachedToDeviceObject);

/* Detaches the device attached directly above TargetDevice (the lower device is the argument,
 * as in Windows) and drops the attachment's reference on TargetDevice. Nothing attached above
 * TargetDevice is a verifier stop. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API VOID IoDetachDevice(PDEVICE_OBJECT TargetDevice);

/* The top of DeviceObject's stack. IoGetAttachedDevice takes no reference (the caller must
 * otherwise know the stack cannot change); IoGetAttachedDeviceReference takes one (release
 * with ObDereferenceObject). NULL for NULL. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API PDEVICE_OBJECT IoGetAttachedDevice(PDEVICE_OBJECT DeviceObject);
PNPKIT_API PDEVICE_OBJECT IoGetAttachedDeviceReference(PDEVICE_OBJECT DeviceObject);

/* The device directly below DeviceObject, referenced (release with ObDereferenceObject), or
 * NULL. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API PDEVICE_OBJECT IoGetLowerDeviceObject(PDEVICE_OBJECT DeviceObject);

/* The bottom of DeviceObject's stack, referenced. NULL for NULL. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API PDEVICE_OBJECT IoGetDeviceAttachmentBaseRef(PDEVICE_OBJECT DeviceObject);

/* pnpkit additions over the device name space.
 * PnpkitIoGetDeviceName: the device's name (Length 0 when unnamed), valid while the caller
 *   holds a reference on the device; NULL for NULL. Any IRQL.
 * PnpkitIoReferenceDeviceByName: the live device named DeviceName (case-insensitive),
 *   referenced; STATUS_INVALID_PARAMETER for NULL arguments, STATUS_OBJECT_NAME_NOT_FOUND.
 *   IRQL <= DISPATCH_LEVEL. */
PNPKIT_API PCUNICODE_STRING PnpkitIoGetDeviceName(PDEVICE_OBJECT DeviceObject);
PNPKIT_API NTSTATUS PnpkitIoReferenceDeviceByName(PCUNICODE_STRING DeviceName, PDEVICE_OBJECT *DeviceObject);

/* =============================================================================================
 * Object references
 * ============================================================================================= */

/* Reference counts of the io objects (DRIVER_OBJECT, DEVICE_OBJECT, FILE_OBJECT). Return the
 * new count. The last dereference of a deleted driver or device frees it; the last dereference
 * of a file object closes it (see PnpkitIoOpenDevice). Dropping a driver's or device's last
 * reference before it was deleted is a verifier stop (the reference is kept), as is a pointer
 * that is not a live io object (nothing happens, 0 is returned). IRQL <= DISPATCH_LEVEL. */
PNPKIT_API LONG_PTR ObfReferenceObject(PVOID Object);
PNPKIT_API LONG_PTR ObfDereferenceObject(PVOID Object);
#define ObReferenceObject(Object) ObfReferenceObject(Object)
#define ObDereferenceObject(Object) ObfDereferenceObject(Object)
#define ObReferenceObjectWithTag(Object, Tag) ObfReferenceObject(Object)
#define ObDereferenceObjectWithTag(Object, Tag) ObfDereferenceObject(Object)
#define ObDereferenceObjectDeferDelete(Object) ObfDereferenceObject(Object)

/* =============================================================================================
 * IRPs: allocation
 * ============================================================================================= */

/* Allocates an IRP with StackSize stack locations (1..127), initialized as IoInitializeIrp
 * does, RequestorMode KernelMode. IRPs are kept per thread by size after IoFreeIrp, so a
 * steady allocate/send/free stream does not allocate memory after the first rounds. NULL for
 * a StackSize out of range or on allocation failure. Free with IoFreeIrp. ChargeQuota is
 * ignored. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API PIRP IoAllocateIrp(CCHAR StackSize, BOOLEAN ChargeQuota);

/* Initializes caller-owned memory of PacketSize bytes (at least IoSizeOfIrp(StackSize)) as an
 * IRP; the memory may be uninitialized. A PacketSize too small is a verifier stop and does
 * nothing. For an IRP from IoAllocateIrp use IoReuseIrp: IoInitializeIrp makes it the caller's
 * memory, and IoFreeIrp then refuses it. Any IRQL. */
PNPKIT_API VOID IoInitializeIrp(PIRP Irp, USHORT PacketSize, CCHAR StackSize);

/* Re-initializes an IRP that is not in flight (never sent, completed, or returned to its owner
 * by STATUS_MORE_PROCESSING_REQUIRED) for another use, with IoStatus.Status = Iostatus. An IRP
 * in flight, or one with a cancel routine set, is a verifier stop and is left alone. Any
 * IRQL. */
PNPKIT_API VOID IoReuseIrp(PIRP Irp, NTSTATUS Iostatus);

/* Frees an IRP from IoAllocateIrp once it is not in flight (never sent, completed, or held by
 * its owner's completion routine). Freeing an IRP in flight, twice, or one that
 * IoAllocateIrp did not allocate (or that IoBuild*Request built: those are freed at
 * completion) is a verifier stop and does nothing. NULL is ignored. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API VOID IoFreeIrp(PIRP Irp);

/* =============================================================================================
 * IRPs: stack locations (inline, as in Windows)
 * ============================================================================================= */

static inline PIO_STACK_LOCATION IoGetCurrentIrpStackLocation(PIRP Irp)
{
    return Irp->Tail.Overlay.CurrentStackLocation;
}

static inline PIO_STACK_LOCATION IoGetNextIrpStackLocation(PIRP Irp)
{
    return Irp->Tail.Overlay.CurrentStackLocation - 1;
}

/* Lets the next lower driver use the current stack location as it is. */
static inline VOID IoSkipCurrentIrpStackLocation(PIRP Irp)
{
    Irp->CurrentLocation++;
    Irp->Tail.Overlay.CurrentStackLocation++;
}

/* Moves to the next location without calling a driver (for an IRP a driver allocated with a
 * location of its own). */
static inline VOID IoSetNextIrpStackLocation(PIRP Irp)
{
    Irp->CurrentLocation--;
    Irp->Tail.Overlay.CurrentStackLocation--;
}

/* Copies the current location to the next one, without its completion routine and context. */
static inline VOID IoCopyCurrentIrpStackLocationToNext(PIRP Irp)
{
    PIO_STACK_LOCATION current = IoGetCurrentIrpStackLocation(Irp);
    PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(Irp);
    __builtin_memcpy(next, current, __builtin_offsetof(IO_STACK_LOCATION, CompletionRoutine));
    next->Control = 0;
}

/* Sets the completion routine that runs when the next lower driver completes the IRP, for the
 * outcomes chosen (success, error, cancel). */
static inline VOID IoSetCompletionRoutine(PIRP Irp, PIO_COMPLETION_ROUTINE CompletionRoutine, PVOID Context,
                                          BOOLEAN InvokeOnSuccess, BOOLEAN InvokeOnError, BOOLEAN InvokeOnCancel)
{
    PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(Irp);
    next->CompletionRoutine = CompletionRoutine;
    next->Context = Context;
    next->Control = 0;
    if (InvokeOnSuccess)
        next->Control = SL_INVOKE_ON_SUCCESS;
    if (InvokeOnError)
        next->Control |= SL_INVOKE_ON_ERROR;
    if (InvokeOnCancel)
        next->Control |= SL_INVOKE_ON_CANCEL;
}

/* Like IoSetCompletionRoutine, and keeps DeviceObject (and so its driver) referenced until the
 * routine has returned. Returns STATUS_INSUFFICIENT_RESOURCES (nothing set) on allocation
 * failure, STATUS_INVALID_PARAMETER for NULL arguments. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API NTSTATUS IoSetCompletionRoutineEx(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                             PIO_COMPLETION_ROUTINE CompletionRoutine, PVOID Context,
                                             BOOLEAN InvokeOnSuccess, BOOLEAN InvokeOnError,
                                             BOOLEAN InvokeOnCancel);

/* Marks the current stack location pending (SL_PENDING_RETURNED). A dispatch routine that
 * returns STATUS_PENDING must have called it before the IRP could complete, unless it returns
 * the STATUS_PENDING of an IoCallDriver for the same IRP; a completion routine that sees
 * Irp->PendingReturned and does not return STATUS_MORE_PROCESSING_REQUIRED must call it. Any
 * IRQL. */
PNPKIT_API VOID IoMarkIrpPending(PIRP Irp);

/* =============================================================================================
 * IRPs: sending and completing
 * ============================================================================================= */

/* Moves Irp to its next stack location, sets that location's DeviceObject, and calls
 * DeviceObject's dispatch routine for the location's MajorFunction directly, in the calling
 * thread: no allocation, no thread switch. Returns the dispatch routine's status; the IRP
 * belongs to the callee from the call on.
 * Verifier stops, with what happens when the stop returns:
 *   - no stack location left: the IRP is completed with STATUS_INVALID_DEVICE_REQUEST (the
 *     caller's completion routine runs) and that status returned;
 *   - an IRP that is being completed, was completed to the top, or was freed, or a NULL or
 *     deleted-and-freed argument: STATUS_INVALID_PARAMETER, nothing sent;
 *   - the dispatch routine returned STATUS_PENDING without IoMarkIrpPending, or returned
 *     another status after IoMarkIrpPending, or changed the IRQL: its status is returned.
 * IRQL <= DISPATCH_LEVEL. */
PNPKIT_API NTSTATUS IoCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp);
#define IofCallDriver IoCallDriver

/* Completes Irp from the current stack location upward: for each location above, propagates
 * the pending flag and runs the completion routine the upper driver set (with the upper
 * driver's device object, or NULL at the top) when the outcome matches its SL_INVOKE_ flags;
 * a routine that returns STATUS_MORE_PROCESSING_REQUIRED stops the walk and owns the IRP.
 * Routines run in the calling thread at its IRQL. When the walk passes the top, an IRP built by
 * IoBuild*Request is finished (output copied back, *UserIosb written, UserEvent set, IRP and
 * buffers freed). PriorityBoost is ignored.
 * Verifier stops (the call then does nothing): completing an IRP twice or one not in a driver's
 * hands, IoStatus.Status == STATUS_PENDING. A cancel routine still set is a verifier stop and is
 * cleared. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API VOID IoCompleteRequest(PIRP Irp, CCHAR PriorityBoost);
#define IofCompleteRequest IoCompleteRequest

/* =============================================================================================
 * IRPs built by the I/O manager (completed and freed by it)
 * ============================================================================================= */

/* Builds a synchronous IRP_MJ_DEVICE_CONTROL (or IRP_MJ_INTERNAL_DEVICE_CONTROL) request for
 * the top of the stack of DeviceObject's StackSize. METHOD_BUFFERED copies the input into a
 * system buffer and the first Information bytes of it back to OutputBuffer at completion;
 * METHOD_IN_DIRECT / METHOD_OUT_DIRECT pass the input in a system buffer and the output in an
 * MDL (MdlAddress); METHOD_NEITHER passes InputBuffer as Type3InputBuffer and OutputBuffer as
 * UserBuffer. Send it with IoCallDriver; when the IRP completes, *IoStatusBlock is written,
 * Event (optional) is set, and the IRP is freed: never free it yourself.
 * NULL for a NULL DeviceObject or IoStatusBlock, a buffer NULL with a nonzero length, or on
 * allocation failure. PASSIVE_LEVEL. */
PNPKIT_API PIRP IoBuildDeviceIoControlRequest(ULONG IoControlCode, PDEVICE_OBJECT DeviceObject,
                                              PVOID InputBuffer, ULONG InputBufferLength,
                                              PVOID OutputBuffer, ULONG OutputBufferLength,
                                              BOOLEAN InternalDeviceIoControl, PKEVENT Event,
                                              PIO_STATUS_BLOCK IoStatusBlock);

/* Builds a synchronous IRP_MJ_READ, IRP_MJ_WRITE, IRP_MJ_FLUSH_BUFFERS, IRP_MJ_SHUTDOWN,
 * IRP_MJ_PNP or IRP_MJ_POWER request, completed and freed like the one above. For read and
 * write: DO_BUFFERED_IO devices get a system buffer (copied from Buffer for a write, back to it
 * for a read), DO_DIRECT_IO devices an MDL, others UserBuffer = Buffer. StartingOffset
 * (optional) is the byte offset. NULL for another MajorFunction, a NULL DeviceObject or
 * IoStatusBlock, or allocation failure. PASSIVE_LEVEL. */
PNPKIT_API PIRP IoBuildSynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject, PVOID Buffer,
                                             ULONG Length, PLARGE_INTEGER StartingOffset, PKEVENT Event,
                                             PIO_STATUS_BLOCK IoStatusBlock);

/* =============================================================================================
 * Cancellation
 * ============================================================================================= */

/* The global cancel spin lock. IoAcquireCancelSpinLock raises to DISPATCH_LEVEL (old level to
 * *Irql); IoReleaseCancelSpinLock releases and lowers. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API VOID IoAcquireCancelSpinLock(PKIRQL Irql);
PNPKIT_API VOID IoReleaseCancelSpinLock(KIRQL Irql);

/* Atomically exchanges Irp->CancelRoutine and returns the previous routine: a driver that gets
 * NULL back when clearing knows the cancel routine has run or is running. Any IRQL. */
PNPKIT_API PDRIVER_CANCEL IoSetCancelRoutine(PIRP Irp, PDRIVER_CANCEL CancelRoutine);

/* Sets Irp->Cancel and, if a cancel routine is set, clears it and calls it with the cancel spin
 * lock held, at DISPATCH_LEVEL, with Irp->CancelIrql the level to restore; the routine must
 * release the lock with IoReleaseCancelSpinLock(Irp->CancelIrql) (a routine that returns
 * holding it is a verifier stop, and the lock is released for it). Returns TRUE if a cancel
 * routine was called. The caller must keep the IRP from being freed during the call (its own
 * completion routine, for example, decides with the caller who frees it). IRQL <=
 * DISPATCH_LEVEL. */
PNPKIT_API BOOLEAN IoCancelIrp(PIRP Irp);

/* =============================================================================================
 * I/O work items (run at PASSIVE_LEVEL on pnpkit's thread pool)
 * ============================================================================================= */

typedef struct _IO_WORKITEM IO_WORKITEM, *PIO_WORKITEM;
typedef VOID IO_WORKITEM_ROUTINE(PDEVICE_OBJECT DeviceObject, PVOID Context);
typedef IO_WORKITEM_ROUTINE *PIO_WORKITEM_ROUTINE;
typedef VOID IO_WORKITEM_ROUTINE_EX(PVOID IoObject, PVOID Context, PIO_WORKITEM IoWorkItem);
typedef IO_WORKITEM_ROUTINE_EX *PIO_WORKITEM_ROUTINE_EX;

/* Allocates a work item for DeviceObject. NULL for an object that is not a live device object, or on allocation
 * failure. Free with IoFreeWorkItem, which may be called from the item's own routine.
 * IRQL <= DISPATCH_LEVEL. */
PNPKIT_API PIO_WORKITEM IoAllocateWorkItem(PDEVICE_OBJECT DeviceObject);
/* Frees a work item from IoAllocateWorkItem. Freeing one that is queued and has not started is
 * a verifier stop and does nothing. NULL is ignored. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API VOID IoFreeWorkItem(PIO_WORKITEM IoWorkItem);

/* Queues the item: WorkerRoutine(DeviceObject, Context) later runs once at PASSIVE_LEVEL on a
 * pool thread. The item's object stays referenced from the call until the routine has
 * returned, so its driver cannot go meanwhile. Queueing an item again before its routine has
 * started is a verifier stop and does nothing. QueueType is accepted and ignored. IRQL <=
 * DISPATCH_LEVEL. */
PNPKIT_API VOID IoQueueWorkItem(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE WorkerRoutine,
                                WORK_QUEUE_TYPE QueueType, PVOID Context);
/* Same, with WorkerRoutine(IoObject, Context, IoWorkItem). */
PNPKIT_API VOID IoQueueWorkItemEx(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE_EX WorkerRoutine,
                                  WORK_QUEUE_TYPE QueueType, PVOID Context);

/* For a work item in the caller's memory: IoSizeofWorkItem bytes, pointer-aligned, prepared with
 * IoInitializeWorkItem(IoObject, ...) (a live driver or device object; a verifier stop and
 * nothing done otherwise) and retired with IoUninitializeWorkItem once its routine has
 * started. Any IRQL <= DISPATCH_LEVEL. */
PNPKIT_API ULONG IoSizeofWorkItem(void);
PNPKIT_API VOID IoInitializeWorkItem(PVOID IoObject, PIO_WORKITEM IoWorkItem);
PNPKIT_API VOID IoUninitializeWorkItem(PIO_WORKITEM IoWorkItem);

/* =============================================================================================
 * Remove locks
 * ============================================================================================= */

typedef struct _IO_REMOVE_LOCK_COMMON_BLOCK {
    BOOLEAN Removed;
    BOOLEAN Reserved[3];
    volatile LONG IoCount; /* 1 + holders; the 1 is dropped by IoReleaseRemoveLockAndWait */
    KEVENT RemoveEvent;    /* set when IoCount reaches 0 */
} IO_REMOVE_LOCK_COMMON_BLOCK;

typedef struct _IO_REMOVE_LOCK {
    IO_REMOVE_LOCK_COMMON_BLOCK Common;
} IO_REMOVE_LOCK, *PIO_REMOVE_LOCK;

/* Initializes Lock. AllocateTag, MaxLockedMinutes and HighWatermark are accepted and ignored
 * (Windows uses them in checked builds). A RemlockSize other than sizeof(IO_REMOVE_LOCK) is a
 * verifier stop and does nothing. Any IRQL. */
PNPKIT_API VOID IoInitializeRemoveLockEx(PIO_REMOVE_LOCK Lock, ULONG AllocateTag, ULONG MaxLockedMinutes,
                                         ULONG HighWatermark, ULONG RemlockSize);
/* Takes the lock for one operation (Tag identifies it; ignored). STATUS_SUCCESS, or
 * STATUS_DELETE_PENDING once IoReleaseRemoveLockAndWait has been called (nothing held then).
 * IRQL <= DISPATCH_LEVEL. */
PNPKIT_API NTSTATUS IoAcquireRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, PCSTR File, ULONG Line,
                                          ULONG RemlockSize);
/* Releases one acquire. Releasing more than was acquired is a verifier stop (the count is left
 * unchanged). IRQL <= DISPATCH_LEVEL. */
PNPKIT_API VOID IoReleaseRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize);
/* Called holding one acquire (for the IRP_MN_REMOVE_DEVICE being handled): refuses later
 * acquires, releases the caller's, and blocks until every other holder has released. No
 * polling: the last release sets the lock's event. Called without holding the lock, or twice,
 * it is a verifier stop and returns at once. PASSIVE_LEVEL. */
PNPKIT_API VOID IoReleaseRemoveLockAndWaitEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize);

#define IoInitializeRemoveLock(Lock, Tag, Maxmin, HighWater) \
    IoInitializeRemoveLockEx(Lock, Tag, Maxmin, HighWater, sizeof(IO_REMOVE_LOCK))
#define IoAcquireRemoveLock(RemoveLock, Tag) \
    IoAcquireRemoveLockEx(RemoveLock, Tag, __FILE__, __LINE__, sizeof(IO_REMOVE_LOCK))
#define IoReleaseRemoveLock(RemoveLock, Tag) IoReleaseRemoveLockEx(RemoveLock, Tag, sizeof(IO_REMOVE_LOCK))
#define IoReleaseRemoveLockAndWait(RemoveLock, Tag) \
    IoReleaseRemoveLockAndWaitEx(RemoveLock, Tag, sizeof(IO_REMOVE_LOCK))

/* =============================================================================================
 * MDLs
 * ============================================================================================= */

/* Allocates an MDL describing Length bytes at VirtualAddress. With Irp, it becomes
 * Irp->MdlAddress (or, with SecondaryBuffer, the end of that chain), and the I/O manager frees
 * it with an IRP it built; otherwise free it with IoFreeMdl. NULL for a zero Length or on
 * allocation failure. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API PMDL IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer, BOOLEAN ChargeQuota,
                              PIRP Irp);
/* Frees one MDL (not its chain). NULL is ignored. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API VOID IoFreeMdl(PMDL Mdl);

typedef enum _LOCK_OPERATION { IoReadAccess, IoWriteAccess, IoModifyAccess } LOCK_OPERATION;
typedef enum _MM_PAGE_PRIORITY { LowPagePriority, NormalPagePriority = 16, HighPagePriority = 32 } MM_PAGE_PRIORITY;
#define MdlMappingNoWrite 0x80000000
#define MdlMappingNoExecute 0x40000000

static inline PVOID MmGetMdlVirtualAddress(PMDL Mdl) { return (PVOID)((PUCHAR)Mdl->StartVa + Mdl->ByteOffset); }
static inline ULONG MmGetMdlByteCount(PMDL Mdl) { return Mdl->ByteCount; }
static inline ULONG MmGetMdlByteOffset(PMDL Mdl) { return Mdl->ByteOffset; }
/* User mode has nothing to lock or map: these only keep the flags Windows code checks. */
static inline VOID MmProbeAndLockPages(PMDL Mdl, KPROCESSOR_MODE AccessMode, LOCK_OPERATION Operation)
{
    (void)AccessMode;
    (void)Operation;
    Mdl->MdlFlags |= MDL_PAGES_LOCKED;
}
static inline VOID MmUnlockPages(PMDL Mdl) { Mdl->MdlFlags &= ~MDL_PAGES_LOCKED; }
static inline VOID MmBuildMdlForNonPagedPool(PMDL Mdl)
{
    Mdl->MdlFlags |= MDL_SOURCE_IS_NONPAGED_POOL;
    Mdl->MappedSystemVa = MmGetMdlVirtualAddress(Mdl);
}
static inline PVOID MmGetSystemAddressForMdlSafe(PMDL Mdl, ULONG Priority)
{
    (void)Priority;
    return MmGetMdlVirtualAddress(Mdl);
}

/* =============================================================================================
 * File objects (pnpkit additions: Windows creates them in IoCreateFile)
 * ============================================================================================= */

typedef struct _PNPKIT_IO_OPEN_PARAMETERS {
    ULONG Size;                 /* sizeof(PNPKIT_IO_OPEN_PARAMETERS) */
    PCUNICODE_STRING FileName;  /* the name after the device part, or NULL; copied */
    ACCESS_MASK DesiredAccess;  /* passed in Parameters.Create.SecurityContext->DesiredAccess */
    ULONG ShareAccess;          /* FILE_SHARE_* */
    ULONG CreateDisposition;    /* FILE_OPEN by default */
    ULONG CreateOptions;        /* FILE_NON_DIRECTORY_FILE by default */
    PFILE_OBJECT RelatedFileObject; /* optional; the new file object references it */
    PVOID EaBuffer;             /* optional extended attributes: Irp->AssociatedIrp.SystemBuffer of */
    ULONG EaLength;             /* the create, EaLength in Parameters.Create (not copied) */
} PNPKIT_IO_OPEN_PARAMETERS, *PPNPKIT_IO_OPEN_PARAMETERS;

/* The older size (without EaBuffer and EaLength), still accepted. */
#define PNPKIT_IO_OPEN_PARAMETERS_SIZE_V1 ((ULONG)__builtin_offsetof(PNPKIT_IO_OPEN_PARAMETERS, EaBuffer))

static inline VOID PNPKIT_IO_OPEN_PARAMETERS_INIT(PPNPKIT_IO_OPEN_PARAMETERS Parameters, ACCESS_MASK DesiredAccess)
{
    __builtin_memset(Parameters, 0, sizeof(*Parameters));
    Parameters->Size = sizeof(*Parameters);
    Parameters->DesiredAccess = DesiredAccess;
    Parameters->CreateDisposition = FILE_OPEN;
    Parameters->CreateOptions = FILE_NON_DIRECTORY_FILE;
}

/* Opens DeviceObject as Windows opens a device by name: creates a FILE_OBJECT for it, sends
 * IRP_MJ_CREATE (Parameters.Create filled from Parameters, the file object in the stack
 * location) to the top of its stack and waits for it. On success *FileObject holds the one
 * reference of the open (FO_HANDLE_CREATED); DeviceObject->ReferenceCount counts the open
 * until the file object is gone. Close it with PnpkitIoCleanupFileObject (IRP_MJ_CLEANUP, when
 * the last handle goes) and ObDereferenceObject: the last dereference sends IRP_MJ_CLOSE (and
 * first IRP_MJ_CLEANUP if it was not sent), at PASSIVE_LEVEL on a work item when the last
 * dereference happens above PASSIVE_LEVEL. Close and cleanup cannot fail for lack of memory:
 * their IRP is allocated here.
 * Parameters->Size is sizeof(PNPKIT_IO_OPEN_PARAMETERS) or PNPKIT_IO_OPEN_PARAMETERS_SIZE_V1.
 * Returns the create's status when it fails (the file object is then freed with no cleanup or
 * close), STATUS_INVALID_PARAMETER (NULL arguments, Parameters->Size wrong, an EaLength without
 * an EaBuffer), STATUS_NO_SUCH_DEVICE
 * (DeviceObject deleted), STATUS_INSUFFICIENT_RESOURCES. PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS PnpkitIoOpenDevice(PDEVICE_OBJECT DeviceObject, const PNPKIT_IO_OPEN_PARAMETERS *Parameters,
                                       PFILE_OBJECT *FileObject);

/* PnpkitIoOpenDevice for a driver that opens a device below its own in a stack (what
 * WdfIoTargetOpenLocalTargetByFile does): the create, and later the cleanup and the close, go to
 * DeviceObject itself, not to the top of its stack, and the create is not refused while the
 * stack starts. The same statuses, ownership and close as PnpkitIoOpenDevice. PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS PnpkitIoOpenDeviceDirect(PDEVICE_OBJECT DeviceObject, const PNPKIT_IO_OPEN_PARAMETERS *Parameters,
                                             PFILE_OBJECT *FileObject);

/* Sends IRP_MJ_CLEANUP for FileObject to the top of its device's stack and waits for it (the
 * "last handle closed" step); sets FO_CLEANUP_COMPLETE. Returns the cleanup's status. A second
 * cleanup, or one of a file object that was never opened, is a verifier stop and returns
 * STATUS_INVALID_DEVICE_REQUEST. PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS PnpkitIoCleanupFileObject(PFILE_OBJECT FileObject);

/* Creates a FILE_OBJECT for DeviceObject without sending anything (for a layer that sends its
 * own IRP_MJ_CREATE): FileName is copied, the file object references DeviceObject and counts
 * in its ReferenceCount. Its last dereference frees it without IRP_MJ_CLOSE unless
 * PnpkitIoFileObjectOpened marked it opened. STATUS_INVALID_PARAMETER, STATUS_NO_SUCH_DEVICE,
 * STATUS_INSUFFICIENT_RESOURCES. PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS PnpkitIoCreateFileObject(PDEVICE_OBJECT DeviceObject, PCUNICODE_STRING FileName,
                                             PFILE_OBJECT *FileObject);
/* Records that the IRP_MJ_CREATE the caller sent for FileObject succeeded: cleanup and close
 * will be sent for it. Any IRQL. */
PNPKIT_API VOID PnpkitIoFileObjectOpened(PFILE_OBJECT FileObject);

/* Opens the device named ObjectName as PnpkitIoOpenDevice does, sends the cleanup at once (no
 * handle is kept), and returns the file object (one reference: release with
 * ObDereferenceObject, which sends the close) and the top of the device's stack (no reference of
 * its own). STATUS_OBJECT_NAME_NOT_FOUND, or the statuses of PnpkitIoOpenDevice.
 * PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS IoGetDeviceObjectPointer(PUNICODE_STRING ObjectName, ACCESS_MASK DesiredAccess,
                                             PFILE_OBJECT *FileObject, PDEVICE_OBJECT *DeviceObject);

/* The device IRPs for FileObject go to: the top of its device's stack (its device itself for a
 * PnpkitIoOpenDeviceDirect open). No reference. */
PNPKIT_API PDEVICE_OBJECT IoGetRelatedDeviceObject(PFILE_OBJECT FileObject);

PNPKIT_END_DECLS

#endif /* PNPKIT_WDMIO_H */
