/*
 * <pnpkit/wdfrequest.h> — WDFREQUEST: requests the framework creates for incoming IRPs and
 * requests drivers create to send, with the KMDF names, structures and signatures. Included by
 * <pnpkit/wdf.h>.
 *
 * Two kinds of request share the handle type:
 *   - Framework requests: the framework creates one for each read, write, IOCTL and create that
 *     reaches a queue or EvtDeviceFileCreate. The driver owns it from the moment it is presented
 *     (or retrieved) and must complete it (WdfRequestComplete*), forward it to another queue, or
 *     send it (WdfRequestSend). After WdfRequestComplete the handle must not be used again. These
 *     requests come from a per-device pool: steady I/O allocates nothing. WdfObjectDelete on them
 *     is a verifier report.
 *   - Driver-created requests (WdfRequestCreate): the driver formats one (WdfIoTargetFormat*),
 *     sends it, and after its completion reuses it (WdfRequestReuse) or deletes it
 *     (WdfObjectDelete). Its IRP is allocated once and reused.
 *
 * Sending (WdfRequestSend) returns TRUE when the request was delivered to the target (the
 * completion routine, if any, runs exactly once), FALSE when it was refused (WdfRequestGetStatus
 * gives why; the completion routine never runs). The completion routine runs on the thread that
 * completes the request, at its IRQL, unless the request's ExecutionLevel is Passive and that
 * thread is above PASSIVE_LEVEL: it is then called from a work item. It is cleared once called:
 * set it again before each send. A synchronous send waits and never calls it.
 *
 * Cancel: WdfRequestCancelSentRequest returns TRUE while the request is outstanding (the cancel
 * flag is set and the owner's cancel routine, if any, runs), FALSE once its completion began.
 * A timeout cancels the request; a request that then completes with STATUS_CANCELLED reports
 * STATUS_IO_TIMEOUT. No pnpkit lock is held while a completion, cancel or queue callback runs.
 */
#ifndef PNPKIT_WDFREQUEST_H
#define PNPKIT_WDFREQUEST_H

#include <pnpkit/wdfobject.h>
#include <pnpkit/wdfutil.h>

PNPKIT_BEGIN_DECLS

#ifndef STATUS_WDF_PAUSED
#define STATUS_WDF_PAUSED ((NTSTATUS)0xC0200203L)
#endif
#ifndef STATUS_WDF_BUSY
#define STATUS_WDF_BUSY ((NTSTATUS)0xC0200204L)
#endif

typedef enum _WDF_REQUEST_TYPE {
    WdfRequestTypeCreate = 0x0,
    WdfRequestTypeCreateNamedPipe = 0x1,
    WdfRequestTypeClose = 0x2,
    WdfRequestTypeRead = 0x3,
    WdfRequestTypeWrite = 0x4,
    WdfRequestTypeQueryInformation = 0x5,
    WdfRequestTypeSetInformation = 0x6,
    WdfRequestTypeQueryEA = 0x7,
    WdfRequestTypeSetEA = 0x8,
    WdfRequestTypeFlushBuffers = 0x9,
    WdfRequestTypeQueryVolumeInformation = 0xa,
    WdfRequestTypeSetVolumeInformation = 0xb,
    WdfRequestTypeDirectoryControl = 0xc,
    WdfRequestTypeFileSystemControl = 0xd,
    WdfRequestTypeDeviceControl = 0xe,
    WdfRequestTypeDeviceControlInternal = 0xf,
    WdfRequestTypeShutdown = 0x10,
    WdfRequestTypeLockControl = 0x11,
    WdfRequestTypeCleanup = 0x12,
    WdfRequestTypeCreateMailSlot = 0x13,
    WdfRequestTypeQuerySecurity = 0x14,
    WdfRequestTypeSetSecurity = 0x15,
    WdfRequestTypePower = 0x16,
    WdfRequestTypeSystemControl = 0x17,
    WdfRequestTypeDeviceChange = 0x18,
    WdfRequestTypeQueryQuota = 0x19,
    WdfRequestTypeSetQuota = 0x1A,
    WdfRequestTypePnp = 0x1B,
    WdfRequestTypeOther = 0x1C,
    WdfRequestTypeUsb = 0x40,
    WdfRequestTypeNoFormat = 0xFF,
    WdfRequestTypeMax,
} WDF_REQUEST_TYPE;

/* ---- Parameters of a request (WdfRequestGetParameters) ---- */
typedef struct _WDF_REQUEST_PARAMETERS {
    USHORT Size;
    UCHAR MinorFunction;
    WDF_REQUEST_TYPE Type;
    union {
        struct {
            PIO_SECURITY_CONTEXT SecurityContext;
            ULONG Options;
            USHORT POINTER_ALIGNMENT FileAttributes;
            USHORT ShareAccess;
            ULONG POINTER_ALIGNMENT EaLength;
        } Create;
        struct {
            size_t Length;
            ULONG POINTER_ALIGNMENT Key;
            LONGLONG DeviceOffset;
        } Read;
        struct {
            size_t Length;
            ULONG POINTER_ALIGNMENT Key;
            LONGLONG DeviceOffset;
        } Write;
        struct {
            size_t OutputBufferLength;
            size_t POINTER_ALIGNMENT InputBufferLength;
            ULONG POINTER_ALIGNMENT IoControlCode;
            PVOID Type3InputBuffer;
        } DeviceIoControl;
        struct {
            PVOID Arg1;
            PVOID Arg2;
            ULONG POINTER_ALIGNMENT IoControlCode;
            PVOID Arg4;
        } Others;
    } Parameters;
} WDF_REQUEST_PARAMETERS, *PWDF_REQUEST_PARAMETERS;

static inline VOID WDF_REQUEST_PARAMETERS_INIT(PWDF_REQUEST_PARAMETERS Parameters)
{
    __builtin_memset(Parameters, 0, sizeof(*Parameters));
    Parameters->Size = sizeof(WDF_REQUEST_PARAMETERS);
}

/* ---- Sending ---- */
typedef enum _WDF_REQUEST_SEND_OPTIONS_FLAGS {
    WDF_REQUEST_SEND_OPTION_TIMEOUT = 0x00000001,
    WDF_REQUEST_SEND_OPTION_SYNCHRONOUS = 0x00000002,
    WDF_REQUEST_SEND_OPTION_IGNORE_TARGET_STATE = 0x00000004,
    WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET = 0x00000008,
    WDF_REQUEST_SEND_OPTION_IMPERSONATE_CLIENT = 0x00010000,
    WDF_REQUEST_SEND_OPTION_IMPERSONATION_IGNORE_FAILURE = 0x00020000,
} WDF_REQUEST_SEND_OPTIONS_FLAGS;

typedef struct _WDF_REQUEST_SEND_OPTIONS {
    ULONG Size;
    ULONG Flags;
    /* 100-ns units; negative is relative, positive absolute system time, 0 no timeout. */
    LONGLONG Timeout;
} WDF_REQUEST_SEND_OPTIONS, *PWDF_REQUEST_SEND_OPTIONS;

static inline VOID WDF_REQUEST_SEND_OPTIONS_INIT(PWDF_REQUEST_SEND_OPTIONS Options, ULONG Flags)
{
    __builtin_memset(Options, 0, sizeof(*Options));
    Options->Size = sizeof(WDF_REQUEST_SEND_OPTIONS);
    Options->Flags = Flags;
}

static inline VOID WDF_REQUEST_SEND_OPTIONS_SET_TIMEOUT(PWDF_REQUEST_SEND_OPTIONS Options, LONGLONG Timeout)
{
    Options->Flags |= WDF_REQUEST_SEND_OPTION_TIMEOUT;
    Options->Timeout = Timeout;
}

/* ---- Completion of a sent request ---- */
typedef struct _WDF_REQUEST_COMPLETION_PARAMS {
    ULONG Size;
    WDF_REQUEST_TYPE Type; /* the formatted type; WdfRequestTypeNoFormat for another request */
    IO_STATUS_BLOCK IoStatus;
    union {
        struct {
            WDFMEMORY Buffer;
            size_t Length;
            size_t Offset;
        } Write;
        struct {
            WDFMEMORY Buffer;
            size_t Length;
            size_t Offset;
        } Read;
        struct {
            ULONG IoControlCode;
            struct {
                WDFMEMORY Buffer;
                size_t Offset;
            } Input;
            struct {
                WDFMEMORY Buffer;
                size_t Offset;
                size_t Length;
            } Output;
        } Ioctl;
        struct {
            union {
                PVOID Ptr;
                ULONG_PTR Value;
            } Argument1;
            union {
                PVOID Ptr;
                ULONG_PTR Value;
            } Argument2;
            union {
                PVOID Ptr;
                ULONG_PTR Value;
            } Argument3;
            union {
                PVOID Ptr;
                ULONG_PTR Value;
            } Argument4;
        } Others;
    } Parameters;
} WDF_REQUEST_COMPLETION_PARAMS, *PWDF_REQUEST_COMPLETION_PARAMS;

static inline VOID WDF_REQUEST_COMPLETION_PARAMS_INIT(PWDF_REQUEST_COMPLETION_PARAMS Params)
{
    __builtin_memset(Params, 0, sizeof(*Params));
    Params->Size = sizeof(WDF_REQUEST_COMPLETION_PARAMS);
    Params->Type = WdfRequestTypeNoFormat;
}

typedef VOID EVT_WDF_REQUEST_COMPLETION_ROUTINE(WDFREQUEST Request, WDFIOTARGET Target,
                                                PWDF_REQUEST_COMPLETION_PARAMS Params, WDFCONTEXT Context);
typedef EVT_WDF_REQUEST_COMPLETION_ROUTINE *PFN_WDF_REQUEST_COMPLETION_ROUTINE;

/* Called when a request the driver marked cancelable is cancelled, at IRQL <= DISPATCH_LEVEL,
 * with no pnpkit lock held. The driver must complete the request. */
typedef VOID EVT_WDF_REQUEST_CANCEL(WDFREQUEST Request);
typedef EVT_WDF_REQUEST_CANCEL *PFN_WDF_REQUEST_CANCEL;

/* ---- Reuse ---- */
typedef enum _WDF_REQUEST_REUSE_FLAGS {
    WDF_REQUEST_REUSE_NO_FLAGS = 0x00000000,
    WDF_REQUEST_REUSE_SET_NEW_IRP = 0x00000001, /* the request takes NewIrp (see WdfRequestReuse) */
} WDF_REQUEST_REUSE_FLAGS;

typedef struct _WDF_REQUEST_REUSE_PARAMS {
    ULONG Size;
    ULONG Flags;
    NTSTATUS Status;
    PIRP NewIrp;
} WDF_REQUEST_REUSE_PARAMS, *PWDF_REQUEST_REUSE_PARAMS;

static inline VOID WDF_REQUEST_REUSE_PARAMS_INIT(PWDF_REQUEST_REUSE_PARAMS Params, ULONG Flags, NTSTATUS Status)
{
    __builtin_memset(Params, 0, sizeof(*Params));
    Params->Size = sizeof(WDF_REQUEST_REUSE_PARAMS);
    Params->Flags = Flags;
    Params->Status = Status;
}

/* =============================================================================================
 * Functions. A bad handle raises a verifier report and returns STATUS_INVALID_HANDLE (VOID
 * functions do nothing, others return 0 / NULL / FALSE). IRQL <= DISPATCH_LEVEL unless stated.
 * A framework request used after it was completed is a verifier stop.
 * ============================================================================================= */

/* Creates a request for the driver to send. IoTarget (optional) sizes its IRP for that target
 * now; otherwise the IRP is allocated by the first WdfIoTargetFormatRequest* (and grown when a
 * target with a deeper stack is formatted). RequestAttributes (optional) may give a context and
 * a ParentObject; by default the parent is the WDFDRIVER of IoTarget's device, or none (the
 * driver deletes the request with WdfObjectDelete). STATUS_INVALID_PARAMETER: NULL Request.
 * The statuses of WdfObjectCreate; STATUS_INSUFFICIENT_RESOURCES. */
PNPKIT_API NTSTATUS WdfRequestCreate(PWDF_OBJECT_ATTRIBUTES RequestAttributes, WDFIOTARGET IoTarget,
                                     WDFREQUEST *Request);

/* Prepares a completed (or never sent) driver-created request for another use: its IRP is
 * re-initialized with IoStatus.Status = ReuseParams->Status, its formatting (buffers, memory
 * references) is released. Waits for a timeout timer of the previous send that is still firing.
 * STATUS_INFO_LENGTH_MISMATCH: wrong Size. STATUS_INVALID_PARAMETER: NULL params, unknown flags.
 * STATUS_INVALID_DEVICE_REQUEST: a framework request, or one still sent.
 * With WDF_REQUEST_REUSE_SET_NEW_IRP the request uses ReuseParams->NewIrp from then on (reset
 * with IoReuseIrp and Status): the caller keeps owning it and frees it only after the request is
 * deleted or given another IRP; an IRP the framework had allocated for the request is freed. A
 * format that needs more stack locations than NewIrp has fails with STATUS_REQUEST_NOT_ACCEPTED
 * (the caller's IRP is never replaced). STATUS_INVALID_PARAMETER also for SET_NEW_IRP without a
 * NewIrp (nothing changes). */
PNPKIT_API NTSTATUS WdfRequestReuse(WDFREQUEST Request, PWDF_REQUEST_REUSE_PARAMS ReuseParams);

/* Completes a framework request the driver owns (Information is what WdfRequestSetInformation
 * set, 0 by default). The request must not be cancelable (unmark it first: a request still
 * marked is a verifier report, then unmarked). Completing a request twice, one not owned by the
 * driver (waiting in a queue, sent), or a driver-created request, is a verifier stop and does
 * nothing. */
PNPKIT_API VOID WdfRequestComplete(WDFREQUEST Request, NTSTATUS Status);
PNPKIT_API VOID WdfRequestCompleteWithInformation(WDFREQUEST Request, NTSTATUS Status, ULONG_PTR Information);
PNPKIT_API VOID WdfRequestCompleteWithPriorityBoost(WDFREQUEST Request, NTSTATUS Status, CCHAR PriorityBoost);

PNPKIT_API VOID WdfRequestSetInformation(WDFREQUEST Request, ULONG_PTR Information);
/* IoStatus.Information of the request's IRP (after a send: what the target completed it with). */
PNPKIT_API ULONG_PTR WdfRequestGetInformation(WDFREQUEST Request);
/* After a send: the completion status (STATUS_IO_TIMEOUT for a request cancelled by its timeout)
 * or why the send was refused; otherwise IoStatus.Status of its IRP. */
PNPKIT_API NTSTATUS WdfRequestGetStatus(WDFREQUEST Request);
/* The parameters of the request's current stack location. A wrong Parameters->Size is a
 * verifier report and nothing is written. */
PNPKIT_API VOID WdfRequestGetParameters(WDFREQUEST Request, PWDF_REQUEST_PARAMETERS Parameters);
/* The completion parameters of the last send. */
PNPKIT_API VOID WdfRequestGetCompletionParams(WDFREQUEST Request, PWDF_REQUEST_COMPLETION_PARAMS Params);

/* The buffers of a framework request, by request type: a write's or an IOCTL's input, a read's
 * or an IOCTL's output (METHOD_BUFFERED: the system buffer; METHOD_IN/OUT_DIRECT: the system
 * buffer for input and the MDL for output). The buffer is valid until the request completes.
 * Length (optional) receives the buffer's length.
 * STATUS_BUFFER_TOO_SMALL: the buffer is shorter than MinimumRequiredLength, or empty.
 * STATUS_INVALID_DEVICE_REQUEST: a request type without that buffer, METHOD_NEITHER, a device
 * with WdfDeviceIoNeither, a driver-created request. STATUS_INVALID_PARAMETER: NULL Buffer. */
PNPKIT_API NTSTATUS WdfRequestRetrieveInputBuffer(WDFREQUEST Request, size_t MinimumRequiredLength, PVOID *Buffer,
                                                  size_t *Length);
PNPKIT_API NTSTATUS WdfRequestRetrieveOutputBuffer(WDFREQUEST Request, size_t MinimumRequiredSize, PVOID *Buffer,
                                                   size_t *Length);
/* The same buffers as WDFMEMORY objects owned by the request (valid until it completes; do not
 * delete them). Same statuses. */
PNPKIT_API NTSTATUS WdfRequestRetrieveInputMemory(WDFREQUEST Request, WDFMEMORY *Memory);
PNPKIT_API NTSTATUS WdfRequestRetrieveOutputMemory(WDFREQUEST Request, WDFMEMORY *Memory);

/* The WDFFILEOBJECT of the request's FILE_OBJECT: NULL for class NotRequired, for a
 * driver-created request, and (with WdfFileObjectCanBeOptional) for a request with no FILE_OBJECT
 * or an unknown one; without CanBeOptional those two are a verifier stop. */
PNPKIT_API WDFFILEOBJECT WdfRequestGetFileObject(WDFREQUEST Request);
/* The queue the request came through (NULL for a request from EvtDeviceFileCreate or a
 * driver-created one). */
PNPKIT_API WDFQUEUE WdfRequestGetIoQueue(WDFREQUEST Request);
PNPKIT_API PIRP WdfRequestWdmGetIrp(WDFREQUEST Request);
PNPKIT_API KPROCESSOR_MODE WdfRequestGetRequestorMode(WDFREQUEST Request);

/* Moves a request the driver owns (presented or retrieved from a queue of the same device) to the
 * tail of DestinationQueue. STATUS_INVALID_DEVICE_REQUEST: the same queue, a queue of another
 * device, a request not owned by the driver or marked cancelable. STATUS_INVALID_DEVICE_STATE:
 * the destination does not accept requests (the request stays with the driver). */
PNPKIT_API NTSTATUS WdfRequestForwardToIoQueue(WDFREQUEST Request, WDFQUEUE DestinationQueue);
/* Puts a request retrieved from a manual queue back at its head. STATUS_INVALID_DEVICE_REQUEST
 * for a request from another kind of queue or not owned by the driver. */
PNPKIT_API NTSTATUS WdfRequestRequeue(WDFREQUEST Request);

/* Makes a request the driver owns cancelable: EvtRequestCancel runs if its originator cancels
 * it, or when a purge or a file cleanup cancels it. If the request is already cancelled,
 * EvtRequestCancel is called before WdfRequestMarkCancelable returns; WdfRequestMarkCancelableEx
 * instead returns STATUS_CANCELLED and does not call it. */
PNPKIT_API VOID WdfRequestMarkCancelable(WDFREQUEST Request, PFN_WDF_REQUEST_CANCEL EvtRequestCancel);
PNPKIT_API NTSTATUS WdfRequestMarkCancelableEx(WDFREQUEST Request, PFN_WDF_REQUEST_CANCEL EvtRequestCancel);
/* STATUS_SUCCESS: the request is no longer cancelable. STATUS_CANCELLED: EvtRequestCancel has
 * been or is being called, and will complete the request: do not complete it.
 * STATUS_INVALID_DEVICE_REQUEST: the request was not marked cancelable. */
PNPKIT_API NTSTATUS WdfRequestUnmarkCancelable(WDFREQUEST Request);
/* Whether the request's IRP has been cancelled. */
PNPKIT_API BOOLEAN WdfRequestIsCanceled(WDFREQUEST Request);
/* From EvtIoStop: the driver keeps the request (Requeue FALSE) or gives it back to the head of
 * its queue (Requeue TRUE), which lets the stop or purge complete. */
PNPKIT_API VOID WdfRequestStopAcknowledge(WDFREQUEST Request, BOOLEAN Requeue);

/* Sends Request to Target (see the top of this file). Options (optional): a wrong Size, or
 * SEND_AND_FORGET combined with a timeout or SYNCHRONOUS, returns FALSE with
 * STATUS_INVALID_PARAMETER. Refusals (FALSE; WdfRequestGetStatus tells):
 *   STATUS_INVALID_DEVICE_STATE: the target does not accept requests (its device was removed,
 *     or it is closed); SEND_AND_FORGET of a driver-created request.
 *   STATUS_INVALID_DEVICE_REQUEST: a framework request not owned by the driver, sent
 *     asynchronously without a completion routine; a driver-created request still sent;
 *     SEND_AND_FORGET of a create unless the file-object class is NotRequired; a request with
 *     no IRP (never formatted).
 *   STATUS_REQUEST_NOT_ACCEPTED: a framework request whose IRP has no stack location left for
 *     the target.
 * With SYNCHRONOUS the call waits (PASSIVE_LEVEL) until the request completes or times out and
 * returns TRUE if it was sent; WdfRequestGetStatus gives the final status. With SEND_AND_FORGET
 * (framework requests only) the IRP goes down with the current stack location skipped and the
 * request is gone for the driver. Otherwise IRQL <= DISPATCH_LEVEL. */
PNPKIT_API BOOLEAN WdfRequestSend(WDFREQUEST Request, WDFIOTARGET Target, PWDF_REQUEST_SEND_OPTIONS Options);
/* Sets (or with NULL clears) the routine called when the next send completes. */
PNPKIT_API VOID WdfRequestSetCompletionRoutine(WDFREQUEST Request, PFN_WDF_REQUEST_COMPLETION_ROUTINE CompletionRoutine,
                                               WDFCONTEXT CompletionContext);
/* See the top of this file. */
PNPKIT_API BOOLEAN WdfRequestCancelSentRequest(WDFREQUEST Request);
/* Copies the current stack location of a framework request to the next one, for sending it on
 * unchanged (IoCopyCurrentIrpStackLocationToNext). No next location is a verifier stop. */
PNPKIT_API VOID WdfRequestFormatRequestUsingCurrentType(WDFREQUEST Request);
/* Sets the next stack location from Stack (its completion routine and context are ignored). */
PNPKIT_API VOID WdfRequestWdmFormatUsingStackLocation(WDFREQUEST Request, PIO_STACK_LOCATION Stack);

PNPKIT_END_DECLS

#endif /* PNPKIT_WDFREQUEST_H */
