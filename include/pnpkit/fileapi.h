/*
 * <pnpkit/fileapi.h> — the Win32 file API of applications that talk to devices served by
 * pnphost: CreateFileW on a device interface's symbolic link, DeviceIoControl, ReadFile,
 * WriteFile (synchronous, or OVERLAPPED on a handle opened with FILE_FLAG_OVERLAPPED),
 * CancelIoEx, GetOverlappedResult, CloseHandle, GetLastError, and the event objects that
 * OVERLAPPED.hEvent names.
 *
 * These functions, and the CM_* functions of <pnpkit/cfgmgr32.h>, are in libpnpkit-client
 * (`pkg-config --cflags --libs pnpkit-client`). An application links libpnpkit-client and not
 * libpnpkit: both export the CM_* names, libpnpkit acting on the calling process's own device
 * tree, libpnpkit-client on the tree of the pnphost it connects to.
 *
 * Which host: the socket named by the environment variable PNPKIT_HOST_SOCKET; otherwise, for
 * root, /run/pnpkit/pnphost.sock; for another user $XDG_RUNTIME_DIR/pnpkit/pnphost.sock (or
 * /tmp/pnpkit-<uid>/pnphost.sock without XDG_RUNTIME_DIR), then /run/pnpkit/pnphost.sock. The
 * library connects on first use; no initialization call is needed.
 *
 * Conventions, as in Windows:
 *   - A BOOL function returns FALSE on failure and sets the thread's last error
 *     (GetLastError). Out parameters are written only as each function says.
 *   - Every function may be called from any thread, including from a CM_Register_Notification
 *     callback (a callback that waits for its own device's removal deadlocks, as on Windows).
 *   - Buffers of one request are limited to 64 KiB (PNPKIT_HOST_MAX_IO): a larger length fails
 *     with ERROR_INVALID_PARAMETER.
 *
 * When the host goes away (killed, crashed, stopped): calls on handles opened before fail with
 * ERROR_DEVICE_NOT_CONNECTED; pending OVERLAPPED requests complete with that error
 * (Internal = STATUS_DEVICE_NOT_CONNECTED); DEVICEHANDLE registrations receive
 * CM_NOTIFY_ACTION_DEVICEREMOVECOMPLETE and DEVICEINTERFACE registrations a
 * CM_NOTIFY_ACTION_DEVICEINTERFACEREMOVAL for every interface they knew of; no call waits for a
 * host that is gone. CreateFileW and the CM_* functions connect again on their next call, so an
 * application works with a restarted host without restarting itself; handles and registrations
 * of the old host stay dead (close and register again).
 */
#ifndef PNPKIT_FILEAPI_H
#define PNPKIT_FILEAPI_H

#include <pnpkit/wdm.h>
#include <pnpkit/winerror.h>
#include <pnpkit/cfgmgr32.h>

PNPKIT_BEGIN_DECLS

/* CONFIGRET values the application library returns when it cannot reach a host. (They belong
 * in <pnpkit/cfgmgr32.h>; defined here until they move there.) */
#ifndef CR_REMOTE_COMM_FAILURE
#define CR_REMOTE_COMM_FAILURE 0x00000030
#endif
#ifndef CR_NO_CM_SERVICES
#define CR_NO_CM_SERVICES 0x00000032
#endif

#ifndef ERROR_FILENAME_EXCED_RANGE
#define ERROR_FILENAME_EXCED_RANGE 206L
#endif

#define PNPKIT_HOST_MAX_IO 65536u

typedef struct _SECURITY_ATTRIBUTES {
    DWORD nLength;
    LPVOID lpSecurityDescriptor;
    BOOL bInheritHandle;
} SECURITY_ATTRIBUTES, *PSECURITY_ATTRIBUTES, *LPSECURITY_ATTRIBUTES;

/* Internal holds the NTSTATUS of the request (STATUS_PENDING while it runs), InternalHigh the
 * bytes transferred. Offset/OffsetHigh give the byte offset of a read or write. */
typedef struct _OVERLAPPED {
    ULONG_PTR Internal;
    ULONG_PTR InternalHigh;
    union {
        struct {
            DWORD Offset;
            DWORD OffsetHigh;
        };
        PVOID Pointer;
    };
    HANDLE hEvent;
} OVERLAPPED, *LPOVERLAPPED;

#define INVALID_HANDLE_VALUE ((HANDLE)(LONG_PTR)-1)

/* dwCreationDisposition */
#define CREATE_NEW 1
#define CREATE_ALWAYS 2
#define OPEN_EXISTING 3
#define OPEN_ALWAYS 4
#define TRUNCATE_EXISTING 5

/* dwFlagsAndAttributes */
#define FILE_ATTRIBUTE_NORMAL 0x00000080
#define FILE_FLAG_OVERLAPPED 0x40000000
#define FILE_FLAG_NO_BUFFERING 0x20000000
#define FILE_FLAG_WRITE_THROUGH 0x80000000

/* Waits */
#define INFINITE 0xFFFFFFFF
#define WAIT_OBJECT_0 0x00000000L
#define WAIT_TIMEOUT 0x00000102L
#define WAIT_FAILED 0xFFFFFFFF

#define HasOverlappedIoCompleted(lpOverlapped) (((DWORD)(lpOverlapped)->Internal) != (DWORD)STATUS_PENDING)

/* Opens a device interface by its symbolic link (the \\?\ form that
 * CM_Get_Device_Interface_List and interface notifications give; \??\ is accepted too). Text
 * after the link (\ and more) reaches the driver's create request as the file name, after the
 * interface's reference string. dwCreationDisposition must be OPEN_EXISTING or OPEN_ALWAYS;
 * dwDesiredAccess reaches the driver and decides which requests the handle may send (a read
 * needs GENERIC_READ, a write GENERIC_WRITE, an IOCTL whose code asks for FILE_READ_ACCESS or
 * FILE_WRITE_ACCESS the same). FILE_FLAG_OVERLAPPED makes every request of the handle
 * asynchronous. lpSecurityAttributes and hTemplateFile are ignored.
 * Returns INVALID_HANDLE_VALUE and sets: ERROR_FILE_NOT_FOUND (no such enabled interface, or the
 * device has not started), ERROR_ACCESS_DENIED (an interface_access rule of the host, or the
 * device is being removed), ERROR_INVALID_PARAMETER, ERROR_FILENAME_EXCED_RANGE (more than 1024
 * characters), ERROR_DEVICE_NOT_CONNECTED (no host), or the error of the driver's create
 * status. */
PNPKIT_API HANDLE CreateFileW(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                              LPSECURITY_ATTRIBUTES lpSecurityAttributes, DWORD dwCreationDisposition,
                              DWORD dwFlagsAndAttributes, HANDLE hTemplateFile);

/* Sends IRP_MJ_DEVICE_CONTROL. Synchronous handle: waits, copies the output (as many bytes as
 * the driver reported, at most nOutBufferSize) and writes *lpBytesReturned (which must not be
 * NULL); returns FALSE with the driver's status mapped to a Win32 error (ERROR_MORE_DATA for
 * STATUS_BUFFER_OVERFLOW, with the data). Overlapped handle: lpOverlapped is required; returns
 * FALSE with ERROR_IO_PENDING, and the buffers must stay valid until the request completes
 * (GetOverlappedResult). METHOD_IN_DIRECT requests do not carry the output buffer's contents
 * to the driver (its buffer starts zeroed). */
PNPKIT_API BOOL DeviceIoControl(HANDLE hDevice, DWORD dwIoControlCode, LPVOID lpInBuffer, DWORD nInBufferSize,
                                LPVOID lpOutBuffer, DWORD nOutBufferSize, LPDWORD lpBytesReturned,
                                LPOVERLAPPED lpOverlapped);

/* IRP_MJ_READ / IRP_MJ_WRITE, synchronous or overlapped as above. The byte offset is the
 * OVERLAPPED's when one is given, 0 otherwise. */
PNPKIT_API BOOL ReadFile(HANDLE hFile, LPVOID lpBuffer, DWORD nNumberOfBytesToRead, LPDWORD lpNumberOfBytesRead,
                         LPOVERLAPPED lpOverlapped);
PNPKIT_API BOOL WriteFile(HANDLE hFile, LPCVOID lpBuffer, DWORD nNumberOfBytesToWrite,
                          LPDWORD lpNumberOfBytesWritten, LPOVERLAPPED lpOverlapped);

/* The outcome of an overlapped request: ERROR_IO_INCOMPLETE while it runs and bWait is FALSE;
 * otherwise *lpNumberOfBytesTransferred, and TRUE, or FALSE with the request's error
 * (ERROR_OPERATION_ABORTED for a cancelled one). */
PNPKIT_API BOOL GetOverlappedResult(HANDLE hFile, LPOVERLAPPED lpOverlapped, LPDWORD lpNumberOfBytesTransferred,
                                    BOOL bWait);

/* Asks the driver to cancel (IoCancelIrp) the request of lpOverlapped, or every request of the
 * handle (from any thread of the process) when lpOverlapped is NULL. Does not wait for the
 * requests to complete. FALSE with ERROR_NOT_FOUND when nothing matched. */
PNPKIT_API BOOL CancelIoEx(HANDLE hFile, LPOVERLAPPED lpOverlapped);

/* Closes a handle. For a device: the driver receives IRP_MJ_CLEANUP before this returns, and
 * IRP_MJ_CLOSE once the handle's last request has completed. FALSE with ERROR_INVALID_HANDLE
 * for a handle that is not open. */
PNPKIT_API BOOL CloseHandle(HANDLE hObject);

/* The calling thread's last error; SetLastError sets it. */
PNPKIT_API DWORD GetLastError(void);
PNPKIT_API VOID SetLastError(DWORD dwErrCode);

/* Unnamed event objects (lpName must be NULL: ERROR_NOT_SUPPORTED otherwise), for
 * OVERLAPPED.hEvent: an overlapped request resets its event when it starts and sets it when it
 * completes. WaitForSingleObject waits for an event only (WAIT_FAILED with
 * ERROR_INVALID_HANDLE for a device handle); dwMilliseconds may be INFINITE. */
PNPKIT_API HANDLE CreateEventW(LPSECURITY_ATTRIBUTES lpEventAttributes, BOOL bManualReset, BOOL bInitialState,
                               LPCWSTR lpName);
PNPKIT_API BOOL SetEvent(HANDLE hEvent);
PNPKIT_API BOOL ResetEvent(HANDLE hEvent);
PNPKIT_API DWORD WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds);

#define CreateFile CreateFileW
#define CreateEvent CreateEventW

/* =============================================================================================
 * pnpkit additions (libpnpkit-client only): what a host's administrator does that cfgmgr32
 * has no call for. pnpctl uses them; docs/pnpctl.md and docs/protocol.md describe them.
 *
 * They need a host of protocol revision 2 or later (docs/protocol.md section 7): an older host
 * gives CR_CALL_NOT_IMPLEMENTED (the library asks the host's revision first and never sends it
 * a message it would not know). No host: CR_NO_CM_SERVICES; the socket refuses the user:
 * CR_ACCESS_DENIED.
 * ============================================================================================= */

#ifndef CR_CALL_NOT_IMPLEMENTED
#define CR_CALL_NOT_IMPLEMENTED 0x00000034
#endif

/* The most data a custom event carries (PnpkitHostReportCustomEvent). */
#define PNPKIT_HOST_MAX_EVENT_DATA 65000u

/* Makes the device and its descendants vanish as unplugged hardware does (surprise removal,
 * PnpkitSimSurpriseRemove in the host): nobody is asked; DEVICEHANDLE registrants get
 * CM_NOTIFY_ACTION_DEVICEREMOVECOMPLETE without a DEVICEQUERYREMOVE. Returns once the removal
 * and its notifications are done. Only root and the host's own user may: others get
 * CR_ACCESS_DENIED. CR_NO_SUCH_DEVNODE for an unknown device or the root. */
PNPKIT_API CONFIGRET PnpkitHostSurpriseRemove(DEVINST dnDevInst);

/* Raises a custom device-change event on the device, as its driver would with
 * IoReportTargetDeviceChangeAsynchronous (TARGET_DEVICE_CUSTOM_NOTIFICATION with EventGuid,
 * NameBufferOffset and the DataSize bytes of Data): every driver and application registered on
 * the device (CM_Register_Notification on a device handle) receives it, applications as
 * CM_NOTIFY_ACTION_DEVICECUSTOMEVENT. Returns once every registrant has had it.
 * NameBufferOffset is -1 (no text) or the even offset in Data of a NUL-terminated UTF-16 name.
 * Only root and the host's own user may: others get CR_ACCESS_DENIED.
 * CR_INVALID_POINTER (NULL EventGuid, or NULL Data with DataSize > 0), CR_INVALID_DATA (DataSize
 * above PNPKIT_HOST_MAX_EVENT_DATA, a bad NameBufferOffset, or a system PnP event GUID),
 * CR_NO_SUCH_DEVNODE, CR_NO_SUCH_DEVICE_INTERFACE (the device has no enabled interface: the host
 * reaches a device's PDO through one, see docs/pnphost.md). */
/* A flag of CM_Get_Device_Interface_List_SizeW / CM_Get_Device_Interface_ListW in
 * libpnpkit-client: the present interfaces of every class (of one device when pDeviceID is
 * given); InterfaceClassGuid is ignored and may be NULL. Not with
 * CM_GET_DEVICE_INTERFACE_LIST_ALL_DEVICES (CR_INVALID_FLAG). cfgmgr32 lists by class only. */
#define PNPKIT_CM_GET_DEVICE_INTERFACE_LIST_ALL_CLASSES 0x80000000u

/* An open handle of some application in the host (PnpkitHostGetHandles). */
#define PNPKIT_HOST_HANDLE_READ 0x1u
#define PNPKIT_HOST_HANDLE_WRITE 0x2u
typedef struct _PNPKIT_HOST_HANDLE_INFO {
    ULONG ProcessId;             /* the application's pid (SO_PEERCRED) */
    ULONG UserId;
    ULONGLONG Handle;            /* the host's handle value (unique in its process) */
    ULONG Access;                /* PNPKIT_HOST_HANDLE_READ / _WRITE: what the open allows */
    ULONG InFlight;              /* requests at the driver now */
    ULONGLONG Requests;          /* reads, writes and IOCTLs completed */
    ULONGLONG BytesToDevice;     /* write data and IOCTL input */
    ULONGLONG BytesFromDevice;   /* read data and IOCTL output */
    WCHAR Name[1025];            /* what CreateFileW opened: the link and what followed it */
} PNPKIT_HOST_HANDLE_INFO, *PPNPKIT_HOST_HANDLE_INFO;

/* The host's open handles with their counters: every application's for root and the host's
 * user, the caller's own user's for anyone else. Writes min(BufferCount, n) entries and *Count
 * = n; CR_BUFFER_SMALL when BufferCount < n (Buffer may be NULL with BufferCount 0 to ask n).
 * *Omitted (may be NULL) gets the number of handles the host could not fit in one reply (names
 * are long; normally 0). The counters only grow while a handle is open: sample them twice for
 * rates. CR_INVALID_POINTER for a NULL Count, or NULL Buffer with BufferCount > 0. */
PNPKIT_API CONFIGRET PnpkitHostGetHandles(PPNPKIT_HOST_HANDLE_INFO Buffer, ULONG BufferCount, PULONG Count,
                                          PULONG Omitted);

PNPKIT_API CONFIGRET PnpkitHostReportCustomEvent(DEVINST dnDevInst, const GUID *EventGuid, LONG NameBufferOffset,
                                                 const VOID *Data, ULONG DataSize);

PNPKIT_END_DECLS

#endif /* PNPKIT_FILEAPI_H */
