/*
 * <pnpkit/wdfiotarget.h> — WDFIOTARGET: where requests are sent. Included by <pnpkit/wdf.h>.
 *
 * Today this header has the part every target shares and the local I/O target
 * (WdfDeviceGetIoTarget: the device a WDF device attached to). The local target is created,
 * opened and started by the framework with its device; power transitions do not change it; when
 * the device is removed it moves to Closed (sends are refused with STATUS_INVALID_DEVICE_STATE),
 * the requests held in it complete with STATUS_WDF_DEVICE_REMOVED_NOT_SENT and the requests sent
 * to it are cancelled and waited for. Remote targets (WdfIoTargetCreate,
 * Open, Close, Stop, Start, Purge, removal callbacks) are in the section at the end. A Stopped
 * target, local or remote, holds the requests sent to it, synchronous ones included: Start
 * delivers them in FIFO order, Purge completes them with STATUS_CANCELLED, a close (for the
 * local target: the removal of its device) with STATUS_WDF_DEVICE_REMOVED_NOT_SENT, a cancel or
 * a timeout with STATUS_CANCELLED / STATUS_IO_TIMEOUT. A
 * remote target is one object, with no driver or device object of its own: a request sent to it
 * goes straight to the opened device (WdfIoTargetWdmGetTargetDeviceObject) and needs that
 * device's stack locations, no more; a held request is kept in the target, its IRP not sent.
 *
 * Formatting: the WdfIoTargetFormatRequestFor* functions write the next stack location of a
 * request's IRP for the target. For a driver-created request they allocate its IRP (or a deeper
 * one) when needed, then reuse it: a request formatted and sent again and again allocates
 * nothing (METHOD_BUFFERED and buffered reads and writes use a system buffer the request keeps;
 * direct I/O allocates an MDL per format). The memory objects given are referenced until the
 * request is reused, reformatted or deleted. A METHOD_BUFFERED output is copied back (the
 * Information bytes, at most the output length) when the request completes.
 * Statuses of the format functions: STATUS_INVALID_PARAMETER (a NULL request, an offset outside
 * its memory), STATUS_BUFFER_TOO_SMALL (a length beyond the memory), STATUS_INVALID_DEVICE_REQUEST
 * (a request that is sent or not owned by the driver), STATUS_INVALID_DEVICE_STATE (a closed
 * target), STATUS_REQUEST_NOT_ACCEPTED (a framework request whose IRP has no stack location left
 * for the target), STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_HANDLE. IRQL <= DISPATCH_LEVEL.
 */
#ifndef PNPKIT_WDFIOTARGET_H
#define PNPKIT_WDFIOTARGET_H

#include <pnpkit/wdfobject.h>
#include <pnpkit/wdfutil.h>
#include <pnpkit/wdfrequest.h>

PNPKIT_BEGIN_DECLS

typedef enum _WDF_IO_TARGET_STATE {
    WdfIoTargetStateUndefined = 0,
    WdfIoTargetStarted,
    WdfIoTargetStopped,
    WdfIoTargetClosedForQueryRemove,
    WdfIoTargetClosed,
    WdfIoTargetDeleted,
    WdfIoTargetPurged,
} WDF_IO_TARGET_STATE, *PWDF_IO_TARGET_STATE;

/* The target's state; WdfIoTargetStateUndefined for a bad handle. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API WDF_IO_TARGET_STATE WdfIoTargetGetState(WDFIOTARGET IoTarget);
/* The WDFDEVICE the target belongs to. */
PNPKIT_API WDFDEVICE WdfIoTargetGetDevice(WDFIOTARGET IoTarget);
/* The device object requests are sent to (for the local target: the next-lower device), the PDO
 * of its stack, and the FILE_OBJECT sends carry (NULL for the local target, which is not opened
 * through a file). No references. NULL for a bad handle. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API PDEVICE_OBJECT WdfIoTargetWdmGetTargetDeviceObject(WDFIOTARGET IoTarget);
PNPKIT_API PDEVICE_OBJECT WdfIoTargetWdmGetTargetPhysicalDevice(WDFIOTARGET IoTarget);
PNPKIT_API PFILE_OBJECT WdfIoTargetWdmGetTargetFileObject(WDFIOTARGET IoTarget);

/* IRP_MJ_DEVICE_CONTROL / IRP_MJ_INTERNAL_DEVICE_CONTROL with IoctlCode; the buffers follow the
 * code's transfer method. InputBuffer / OutputBuffer (optional) are memory objects, with
 * optional offsets (BufferOffset and BufferLength within the memory; length 0 means to its end). */
PNPKIT_API NTSTATUS WdfIoTargetFormatRequestForIoctl(WDFIOTARGET IoTarget, WDFREQUEST Request, ULONG IoctlCode,
                                                     WDFMEMORY InputBuffer, PWDFMEMORY_OFFSET InputBufferOffset,
                                                     WDFMEMORY OutputBuffer, PWDFMEMORY_OFFSET OutputBufferOffset);
PNPKIT_API NTSTATUS WdfIoTargetFormatRequestForInternalIoctl(WDFIOTARGET IoTarget, WDFREQUEST Request,
                                                             ULONG IoctlCode, WDFMEMORY InputBuffer,
                                                             PWDFMEMORY_OFFSET InputBufferOffset,
                                                             WDFMEMORY OutputBuffer,
                                                             PWDFMEMORY_OFFSET OutputBufferOffset);
/* IRP_MJ_READ into OutputBuffer / IRP_MJ_WRITE from InputBuffer, at DeviceOffset (optional). */
PNPKIT_API NTSTATUS WdfIoTargetFormatRequestForRead(WDFIOTARGET IoTarget, WDFREQUEST Request, WDFMEMORY OutputBuffer,
                                                    PWDFMEMORY_OFFSET OutputBufferOffset, PLONGLONG DeviceOffset);
PNPKIT_API NTSTATUS WdfIoTargetFormatRequestForWrite(WDFIOTARGET IoTarget, WDFREQUEST Request, WDFMEMORY InputBuffer,
                                                     PWDFMEMORY_OFFSET InputBufferOffset, PLONGLONG DeviceOffset);

/* Formats and sends an IOCTL and waits for it (PASSIVE_LEVEL). Request (optional) is a
 * driver-created request to use (it is formatted, sent synchronously and left completed); without
 * one the framework uses a request of its own. The descriptors (optional) describe plain buffers,
 * MDLs or memory objects. RequestOptions (optional) may add a timeout; SYNCHRONOUS is implied.
 * BytesReturned (optional) receives IoStatus.Information. Returns the request's final status,
 * or why it could not be sent (the statuses of the format functions and of WdfRequestSend). */
PNPKIT_API NTSTATUS WdfIoTargetSendIoctlSynchronously(WDFIOTARGET IoTarget, WDFREQUEST Request, ULONG IoctlCode,
                                                      PWDF_MEMORY_DESCRIPTOR InputBuffer,
                                                      PWDF_MEMORY_DESCRIPTOR OutputBuffer,
                                                      PWDF_REQUEST_SEND_OPTIONS RequestOptions,
                                                      PULONG_PTR BytesReturned);
PNPKIT_API NTSTATUS WdfIoTargetSendInternalIoctlSynchronously(WDFIOTARGET IoTarget, WDFREQUEST Request,
                                                              ULONG IoctlCode, PWDF_MEMORY_DESCRIPTOR InputBuffer,
                                                              PWDF_MEMORY_DESCRIPTOR OutputBuffer,
                                                              PWDF_REQUEST_SEND_OPTIONS RequestOptions,
                                                              PULONG_PTR BytesReturned);

/* =============================================================================================
 * Remote I/O targets (iotarget_remote.c): creation, open, close, Start / Stop / Purge, removal
 * notifications. See the spec (io.md section 1.3).
 * ============================================================================================= */

typedef enum _WDF_IO_TARGET_OPEN_TYPE {
    WdfIoTargetOpenUndefined = 0,
    WdfIoTargetOpenUseExistingDevice = 1,
    WdfIoTargetOpenByName = 2,
    WdfIoTargetOpenReopen = 3,
    WdfIoTargetOpenLocalTargetByFile = 4,
} WDF_IO_TARGET_OPEN_TYPE;

typedef enum _WDF_IO_TARGET_SENT_IO_ACTION {
    WdfIoTargetSentIoUndefined = 0,
    WdfIoTargetCancelSentIo = 1,
    WdfIoTargetWaitForSentIoToComplete = 2,
    WdfIoTargetLeaveSentIoPending = 3,
} WDF_IO_TARGET_SENT_IO_ACTION;

typedef enum _WDF_IO_TARGET_PURGE_IO_ACTION {
    WdfIoTargetPurgeIoUndefined = 0,
    WdfIoTargetPurgeIoAndWait = 1,
    WdfIoTargetPurgeIo = 2,
} WDF_IO_TARGET_PURGE_IO_ACTION;

/* Removal callbacks: on the PnP worker, PASSIVE_LEVEL, with a reference on the target held for
 * the call (the callback may delete the target). */
typedef NTSTATUS EVT_WDF_IO_TARGET_QUERY_REMOVE(WDFIOTARGET IoTarget);
typedef EVT_WDF_IO_TARGET_QUERY_REMOVE *PFN_WDF_IO_TARGET_QUERY_REMOVE;
typedef VOID EVT_WDF_IO_TARGET_REMOVE_CANCELED(WDFIOTARGET IoTarget);
typedef EVT_WDF_IO_TARGET_REMOVE_CANCELED *PFN_WDF_IO_TARGET_REMOVE_CANCELED;
typedef VOID EVT_WDF_IO_TARGET_REMOVE_COMPLETE(WDFIOTARGET IoTarget);
typedef EVT_WDF_IO_TARGET_REMOVE_COMPLETE *PFN_WDF_IO_TARGET_REMOVE_COMPLETE;

typedef struct _WDF_IO_TARGET_OPEN_PARAMS {
    ULONG Size;
    WDF_IO_TARGET_OPEN_TYPE Type;
    PFN_WDF_IO_TARGET_QUERY_REMOVE EvtIoTargetQueryRemove;
    PFN_WDF_IO_TARGET_REMOVE_CANCELED EvtIoTargetRemoveCanceled;
    PFN_WDF_IO_TARGET_REMOVE_COMPLETE EvtIoTargetRemoveComplete;
    PDEVICE_OBJECT TargetDeviceObject;   /* UseExistingDevice */
    PFILE_OBJECT TargetFileObject;       /* UseExistingDevice (needed with removal callbacks) */
    UNICODE_STRING TargetDeviceName;     /* ByName: a device name or a symbolic link */
    ACCESS_MASK DesiredAccess;
    ULONG ShareAccess;
    ULONG FileAttributes;
    ULONG CreateDisposition;
    ULONG CreateOptions;
    PVOID EaBuffer;
    ULONG EaBufferLength;
    PLONGLONG AllocationSize;
    ULONG FileInformation;               /* out: not filled by pnpkit */
    UNICODE_STRING FileName;             /* LocalTargetByFile (the older size ends before it) */
} WDF_IO_TARGET_OPEN_PARAMS, *PWDF_IO_TARGET_OPEN_PARAMS;

/* The older size accepted by WdfIoTargetOpen (the fields from FileName on read as zero). */
#define WDF_IO_TARGET_OPEN_PARAMS_SIZE_V1_7 ((ULONG)__builtin_offsetof(WDF_IO_TARGET_OPEN_PARAMS, FileName))

static inline VOID WDF_IO_TARGET_OPEN_PARAMS_INIT_EXISTING_DEVICE(PWDF_IO_TARGET_OPEN_PARAMS Params,
                                                                  PDEVICE_OBJECT DeviceObject)
{
    __builtin_memset(Params, 0, sizeof(*Params));
    Params->Size = sizeof(*Params);
    Params->Type = WdfIoTargetOpenUseExistingDevice;
    Params->TargetDeviceObject = DeviceObject;
}

static inline VOID WDF_IO_TARGET_OPEN_PARAMS_INIT_CREATE_BY_NAME(PWDF_IO_TARGET_OPEN_PARAMS Params,
                                                                 PCUNICODE_STRING TargetDeviceName,
                                                                 ACCESS_MASK DesiredAccess)
{
    __builtin_memset(Params, 0, sizeof(*Params));
    Params->Size = sizeof(*Params);
    Params->Type = WdfIoTargetOpenByName;
    Params->TargetDeviceName = *TargetDeviceName;
    Params->DesiredAccess = DesiredAccess;
    Params->CreateOptions = FILE_NON_DIRECTORY_FILE;
}

static inline VOID WDF_IO_TARGET_OPEN_PARAMS_INIT_OPEN_BY_NAME(PWDF_IO_TARGET_OPEN_PARAMS Params,
                                                               PCUNICODE_STRING TargetDeviceName,
                                                               ACCESS_MASK DesiredAccess)
{
    WDF_IO_TARGET_OPEN_PARAMS_INIT_CREATE_BY_NAME(Params, TargetDeviceName, DesiredAccess);
    Params->CreateDisposition = FILE_OPEN;
}

static inline VOID WDF_IO_TARGET_OPEN_PARAMS_INIT_OPEN_LOCAL_TARGET_BY_FILE(PWDF_IO_TARGET_OPEN_PARAMS Params,
                                                                           PCUNICODE_STRING FileName)
{
    __builtin_memset(Params, 0, sizeof(*Params));
    Params->Size = sizeof(*Params);
    Params->Type = WdfIoTargetOpenLocalTargetByFile;
    if (FileName)
        Params->FileName = *FileName;
}

static inline VOID WDF_IO_TARGET_OPEN_PARAMS_INIT_REOPEN(PWDF_IO_TARGET_OPEN_PARAMS Params)
{
    __builtin_memset(Params, 0, sizeof(*Params));
    Params->Size = sizeof(*Params);
    Params->Type = WdfIoTargetOpenReopen;
}

/* Creates a remote target of Device, in state Closed until opened. Attributes (optional): the
 * parent must have Device as an ancestor (default: Device). The caller owns the creation
 * reference (WdfObjectDelete closes and deletes it); it is deleted with its device.
 * STATUS_INVALID_PARAMETER (NULL IoTarget), STATUS_INVALID_HANDLE (bad Device),
 * STATUS_INVALID_DEVICE_REQUEST (parent not under Device; above PASSIVE_LEVEL),
 * STATUS_INSUFFICIENT_RESOURCES. PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS WdfIoTargetCreate(WDFDEVICE Device, PWDF_OBJECT_ATTRIBUTES IoTargetAttributes,
                                      WDFIOTARGET *IoTarget);
/* Opens a remote target (see the open sequence in the spec); on success it is Started.
 * ByName opens a device interface link (PnpkitOpenDeviceInterfaceEx: DesiredAccess,
 * ShareAccess, CreateDisposition, CreateOptions and EaBuffer / EaBufferLength reach the
 * driver's create; the EA bytes are copied, for a Reopen too) or, when no interface has that
 * name, a device name (IoGetDeviceObjectPointer: DesiredAccess only). FileAttributes and
 * AllocationSize are not passed (pnpkit's create has no file system behind it). UseExistingDevice references the
 * device and file objects given. Reopen repeats the last ByName open. LocalTargetByFile opens a
 * file (FileName, DesiredAccess, ShareAccess, CreateDisposition, CreateOptions, EaBuffer) on the
 * device's local target, the device below it (PnpkitIoOpenDeviceDirect: the create, cleanup and
 * close go to that device, not through the top of the stack); it takes no removal callbacks and
 * registers for no notification: the removal of the device closes it.
 * STATUS_INFO_LENGTH_MISMATCH (Size), STATUS_INVALID_PARAMETER (NULL params, bad Type, missing
 * name / device, callbacks without a file object), STATUS_INVALID_DEVICE_REQUEST (Reopen
 * without a previous ByName open; the local target; above PASSIVE_LEVEL),
 * STATUS_INVALID_DEVICE_STATE (Deleted, open or opening), STATUS_OBJECT_NAME_NOT_FOUND, the
 * create's status, STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_HANDLE. PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS WdfIoTargetOpen(WDFIOTARGET IoTarget, PWDF_IO_TARGET_OPEN_PARAMS OpenParams);
/* Closes: requests held in the target complete with STATUS_WDF_DEVICE_REMOVED_NOT_SENT, sent
 * requests (IGNORE_TARGET_STATE ones too) are cancelled and waited for, then the file and the
 * device are released. Close ends in Closed and unregisters the removal
 * notification; CloseForQueryRemove ends in ClosedForQueryRemove, keeping the registration and
 * the open parameters for a Reopen. Waits for an open in progress. A bad handle is a verifier
 * stop. Must not be called from a completion routine of a request sent to this target.
 * PASSIVE_LEVEL. */
PNPKIT_API VOID WdfIoTargetClose(WDFIOTARGET IoTarget);
PNPKIT_API VOID WdfIoTargetCloseForQueryRemove(WDFIOTARGET IoTarget);
/* Stopped or Purged -> Started, then delivers the held requests in order on this thread.
 * State changes are serialized: while a Stop that cancels or waits, or a Purge, is in progress
 * on another thread, Start waits for it to end (PASSIVE_LEVEL). When it cannot wait (at
 * DISPATCH_LEVEL, or from a completion routine that such a Stop or Purge runs on its own thread)
 * it returns STATUS_SUCCESS at once and the Stop or Purge starts the target when it ends, unless
 * another Stop or Purge begins first. STATUS_INVALID_DEVICE_STATE for a Deleted, closed or never
 * opened target; STATUS_INVALID_DEVICE_REQUEST above DISPATCH_LEVEL; STATUS_INVALID_HANDLE.
 * IRQL <= DISPATCH_LEVEL. */
PNPKIT_API NTSTATUS WdfIoTargetStart(WDFIOTARGET IoTarget);
/* -> Stopped: new sends are held (local and remote targets). Action: CancelSentIo cancels and waits,
 * WaitForSentIoToComplete waits (both PASSIVE_LEVEL), LeaveSentIoPending (IRQL <=
 * DISPATCH_LEVEL) does neither; IGNORE_TARGET_STATE and SEND_AND_FORGET requests are neither
 * cancelled nor waited for, held ones stay held. Ignored (verifier report) on a closed or
 * deleted target or with a bad action. Not from a completion routine of this target's requests
 * when it waits. */
PNPKIT_API VOID WdfIoTargetStop(WDFIOTARGET IoTarget, WDF_IO_TARGET_SENT_IO_ACTION Action);
/* -> Purged: held requests complete with STATUS_CANCELLED, sent requests are cancelled, and
 * waited for with PurgeIoAndWait (PASSIVE_LEVEL; PurgeIo: IRQL <= DISPATCH_LEVEL). Sends are
 * refused with STATUS_INVALID_DEVICE_STATE until Start. Ignored (verifier report) on a closed
 * or deleted target or with a bad action. */
PNPKIT_API VOID WdfIoTargetPurge(WDFIOTARGET IoTarget, WDF_IO_TARGET_PURGE_IO_ACTION Action);

/* Reads into / writes from a buffer synchronously (PASSIVE_LEVEL), as
 * WdfIoTargetSendIoctlSynchronously does for IOCTLs. BytesRead / BytesWritten optional. */
PNPKIT_API NTSTATUS WdfIoTargetSendReadSynchronously(WDFIOTARGET IoTarget, WDFREQUEST Request,
                                                     PWDF_MEMORY_DESCRIPTOR OutputBuffer, PLONGLONG DeviceOffset,
                                                     PWDF_REQUEST_SEND_OPTIONS RequestOptions,
                                                     PULONG_PTR BytesRead);
PNPKIT_API NTSTATUS WdfIoTargetSendWriteSynchronously(WDFIOTARGET IoTarget, WDFREQUEST Request,
                                                      PWDF_MEMORY_DESCRIPTOR InputBuffer, PLONGLONG DeviceOffset,
                                                      PWDF_REQUEST_SEND_OPTIONS RequestOptions,
                                                      PULONG_PTR BytesWritten);

PNPKIT_END_DECLS

#endif /* PNPKIT_WDFIOTARGET_H */
