/*
 * <pnpkit/wdfiotarget.h> — WDFIOTARGET: where requests are sent. Included by <pnpkit/wdf.h>.
 *
 * Today this header has the part every target shares and the local I/O target
 * (WdfDeviceGetIoTarget: the device a WDF device attached to). The local target is created,
 * opened and started by the framework with its device; power transitions do not change it; when
 * the device is removed it moves to Closed (sends are refused with STATUS_INVALID_DEVICE_STATE)
 * and the requests sent to it are cancelled and waited for. Remote targets (WdfIoTargetCreate,
 * Open, Close, Stop, Start, Purge, removal callbacks) come with the I/O target work.
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

PNPKIT_END_DECLS

#endif /* PNPKIT_WDFIOTARGET_H */
