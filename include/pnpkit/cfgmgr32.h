/*
 * <pnpkit/cfgmgr32.h> — the application side of PnP: device nodes, removal requests, interface
 * lists and notifications, with the cfgmgr32 names, values and layouts.
 *
 * Two libraries implement these functions. libpnpkit acts on the device tree of the calling
 * process (drivers loaded in-process with PnpkitDriverRegister, devices created with
 * SwDeviceCreate). libpnpkit-client (pkg-config pnpkit-client) forwards them to the pnphost
 * daemon, for applications in other processes; it adds the Win32 file API of
 * <pnpkit/fileapi.h>. A program links one of the two.
 */
#ifndef PNPKIT_CFGMGR32_H
#define PNPKIT_CFGMGR32_H

#include <pnpkit/wdm.h>
#include <pnpkit/winerror.h>

PNPKIT_BEGIN_DECLS

typedef DWORD CONFIGRET;
typedef DWORD DEVINST, *PDEVINST, DEVNODE, *PDEVNODE;
typedef WCHAR *DEVINSTID_W;

#define MAX_DEVICE_ID_LEN 200

/* ---- CONFIGRET values ---- */
#define CR_SUCCESS 0x00000000
#define CR_DEFAULT 0x00000001
#define CR_OUT_OF_MEMORY 0x00000002
#define CR_INVALID_POINTER 0x00000003
#define CR_INVALID_FLAG 0x00000004
#define CR_INVALID_DEVNODE 0x00000005
#define CR_INVALID_DEVINST CR_INVALID_DEVNODE
#define CR_NO_SUCH_DEVNODE 0x0000000D
#define CR_NO_SUCH_DEVINST CR_NO_SUCH_DEVNODE
#define CR_ALREADY_SUCH_DEVNODE 0x00000010
#define CR_FAILURE 0x00000013
#define CR_REMOVE_VETOED 0x00000017
#define CR_BUFFER_SMALL 0x0000001A
#define CR_INVALID_DEVICE_ID 0x0000001E
#define CR_INVALID_DATA 0x0000001F
#define CR_NOT_DISABLEABLE 0x00000028
#define CR_REMOTE_COMM_FAILURE 0x00000030
#define CR_NO_CM_SERVICES 0x00000032
#define CR_ACCESS_DENIED 0x00000033
#define CR_NO_SUCH_DEVICE_INTERFACE 0x00000037
#define CR_INVALID_STRUCTURE_SIZE 0x0000003B

/* ---- Device node status and problems ---- */
#define DN_DRIVER_LOADED 0x00000002
#define DN_STARTED 0x00000008
#define DN_HAS_PROBLEM 0x00000400
#define DN_DISABLEABLE 0x00002000
#define DN_REMOVABLE 0x00004000
#define CM_PROB_FAILED_START 10
#define CM_PROB_DISABLED 22

#define CM_LOCATE_DEVNODE_NORMAL 0x00000000
#define CM_LOCATE_DEVNODE_PHANTOM 0x00000001

typedef enum _PNP_VETO_TYPE {
    PNP_VetoTypeUnknown,
    PNP_VetoLegacyDevice,
    PNP_VetoPendingClose,
    PNP_VetoWindowsApp,
    PNP_VetoWindowsService,
    PNP_VetoOutstandingOpen,
    PNP_VetoDevice,
    PNP_VetoDriver,
    PNP_VetoIllegalDeviceRequest,
    PNP_VetoInsufficientPower,
    PNP_VetoNonDisableable,
    PNP_VetoLegacyDriver,
    PNP_VetoInsufficientRights,
    PNP_VetoAlreadyRemoved,
} PNP_VETO_TYPE, *PPNP_VETO_TYPE;

/* Finds the device node with instance id pDeviceID (case-insensitive; NULL or empty: the root).
 * CR_INVALID_POINTER, CR_INVALID_FLAG, CR_NO_SUCH_DEVNODE (also for a node that has left the
 * tree). */
PNPKIT_API CONFIGRET CM_Locate_DevNodeW(PDEVINST pdnDevInst, DEVINSTID_W pDeviceID, ULONG ulFlags);
/* Copies the instance id (NUL-terminated when it fits). CR_BUFFER_SMALL when it does not. */
PNPKIT_API CONFIGRET CM_Get_Device_IDW(DEVINST dnDevInst, PWSTR Buffer, ULONG BufferLen, ULONG ulFlags);
PNPKIT_API CONFIGRET CM_Get_Parent(PDEVINST pdnDevInst, DEVINST dnDevInst, ULONG ulFlags);
PNPKIT_API CONFIGRET CM_Get_Child(PDEVINST pdnDevInst, DEVINST dnDevInst, ULONG ulFlags);
PNPKIT_API CONFIGRET CM_Get_Sibling(PDEVINST pdnDevInst, DEVINST dnDevInst, ULONG ulFlags);
/* DN_* status bits and the problem number (CM_PROB_*; 0 when none). */
PNPKIT_API CONFIGRET CM_Get_DevNode_Status(PULONG pulStatus, PULONG pulProblemNumber, DEVINST dnDevInst,
                                           ULONG ulFlags);

/* Orderly removal of the node and its descendants: query-remove (notifications, open handles,
 * IRP_MN_QUERY_REMOVE_DEVICE), then remove; a refusal cancels it all and returns
 * CR_REMOVE_VETOED with the veto type and the vetoer's name (when asked for). Waits for the
 * outcome; must not be called from a PnP callback. */
PNPKIT_API CONFIGRET CM_Query_And_Remove_SubTreeW(DEVINST dnAncestor, PPNP_VETO_TYPE pVetoType, LPWSTR pszVetoName,
                                                  ULONG ulNameLength, ULONG ulFlags);
/* Orderly removal that keeps the node as Disabled (CM_PROB_DISABLED). CR_REMOVE_VETOED,
 * CR_NOT_DISABLEABLE. */
PNPKIT_API CONFIGRET CM_Disable_DevNode(DEVINST dnDevInst, ULONG ulFlags);
/* Clears the problem and starts the node again (AddDevice, start, children). */
PNPKIT_API CONFIGRET CM_Enable_DevNode(DEVINST dnDevInst, ULONG ulFlags);

/* ---- Interface lists ---- */
#define CM_GET_DEVICE_INTERFACE_LIST_PRESENT 0x00000000
#define CM_GET_DEVICE_INTERFACE_LIST_ALL_DEVICES 0x00000001

/* Size in WCHARs (including the final NUL) of the user-form (\\?\...) link list. */
PNPKIT_API CONFIGRET CM_Get_Device_Interface_List_SizeW(PULONG pulLen, LPGUID InterfaceClassGuid,
                                                        DEVINSTID_W pDeviceID, ULONG ulFlags);
/* The list itself; CR_BUFFER_SMALL when it grew since the size was asked (loop). */
PNPKIT_API CONFIGRET CM_Get_Device_Interface_ListW(LPGUID InterfaceClassGuid, DEVINSTID_W pDeviceID,
                                                   PZZWSTR Buffer, ULONG BufferLen, ULONG ulFlags);

/* ---- Notifications ---- */
typedef struct HCMNOTIFICATION__ *HCMNOTIFICATION, **PHCMNOTIFICATION;

typedef enum _CM_NOTIFY_FILTER_TYPE {
    CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE = 0,
    CM_NOTIFY_FILTER_TYPE_DEVICEHANDLE,
    CM_NOTIFY_FILTER_TYPE_DEVICEINSTANCE,
    CM_NOTIFY_FILTER_TYPE_MAX
} CM_NOTIFY_FILTER_TYPE, *PCM_NOTIFY_FILTER_TYPE;

#define CM_NOTIFY_FILTER_FLAG_ALL_INTERFACE_CLASSES 0x00000001
#define CM_NOTIFY_FILTER_FLAG_ALL_DEVICE_INSTANCES 0x00000002

typedef struct _CM_NOTIFY_FILTER {
    DWORD cbSize;
    DWORD Flags;
    CM_NOTIFY_FILTER_TYPE FilterType;
    DWORD Reserved;
    union {
        struct { GUID ClassGuid; } DeviceInterface;
        struct { HANDLE hTarget; } DeviceHandle;
        struct { WCHAR InstanceId[MAX_DEVICE_ID_LEN]; } DeviceInstance;
    } u;
} CM_NOTIFY_FILTER, *PCM_NOTIFY_FILTER;

typedef enum _CM_NOTIFY_ACTION {
    CM_NOTIFY_ACTION_DEVICEINTERFACEARRIVAL = 0,
    CM_NOTIFY_ACTION_DEVICEINTERFACEREMOVAL,
    CM_NOTIFY_ACTION_DEVICEQUERYREMOVE,
    CM_NOTIFY_ACTION_DEVICEQUERYREMOVEFAILED,
    CM_NOTIFY_ACTION_DEVICEREMOVEPENDING,
    CM_NOTIFY_ACTION_DEVICEREMOVECOMPLETE,
    CM_NOTIFY_ACTION_DEVICECUSTOMEVENT,
    CM_NOTIFY_ACTION_DEVICEINSTANCEENUMERATED,
    CM_NOTIFY_ACTION_DEVICEINSTANCESTARTED,
    CM_NOTIFY_ACTION_DEVICEINSTANCEREMOVED,
    CM_NOTIFY_ACTION_MAX
} CM_NOTIFY_ACTION, *PCM_NOTIFY_ACTION;

typedef struct _CM_NOTIFY_EVENT_DATA {
    CM_NOTIFY_FILTER_TYPE FilterType;
    DWORD Reserved;
    union {
        struct { GUID ClassGuid; WCHAR SymbolicLink[ANYSIZE_ARRAY]; } DeviceInterface;
        struct { GUID EventGuid; LONG NameOffset; DWORD DataSize; BYTE Data[ANYSIZE_ARRAY]; } DeviceHandle;
        struct { WCHAR InstanceId[ANYSIZE_ARRAY]; } DeviceInstance;
    } u;
} CM_NOTIFY_EVENT_DATA, *PCM_NOTIFY_EVENT_DATA;

typedef DWORD CM_NOTIFY_CALLBACK(HCMNOTIFICATION hNotify, PVOID Context, CM_NOTIFY_ACTION Action,
                                 PCM_NOTIFY_EVENT_DATA EventData, DWORD EventDataSize);
typedef CM_NOTIFY_CALLBACK *PCM_NOTIFY_CALLBACK;

/* Registers Callback for interface events of a class (or all), for the target-device events of
 * an open handle (query-remove with veto by returning ERROR_CANCELLED, remove pending/complete,
 * custom events), or for device-instance events. Callbacks run on the library's threads; one
 * registration's callbacks never overlap. A DEVICEINTERFACE registration does not replay
 * existing interfaces. CR_FAILURE: NULL pNotifyContext. CR_INVALID_DATA: NULL filter or callback,
 * wrong cbSize, unknown type, misused flags, invalid hTarget. */
PNPKIT_API CONFIGRET CM_Register_Notification(PCM_NOTIFY_FILTER pFilter, PVOID pContext,
                                              PCM_NOTIFY_CALLBACK pCallback, PHCMNOTIFICATION pNotifyContext);
/* Waits until no callback of the registration runs, and none starts afterwards. From inside one
 * of its own callbacks: CR_FAILURE, nothing unregistered. CR_INVALID_DATA for a bad handle. */
PNPKIT_API CONFIGRET CM_Unregister_Notification(HCMNOTIFICATION NotifyContext);

#define CM_Locate_DevNode CM_Locate_DevNodeW
#define CM_Get_Device_ID CM_Get_Device_IDW
#define CM_Query_And_Remove_SubTree CM_Query_And_Remove_SubTreeW
#define CM_Get_Device_Interface_List_Size CM_Get_Device_Interface_List_SizeW
#define CM_Get_Device_Interface_List CM_Get_Device_Interface_ListW

PNPKIT_END_DECLS

#endif /* PNPKIT_CFGMGR32_H */
