/*
 * <pnpkit/wdfio.h> — WDFQUEUE: I/O queues and request dispatching, with the KMDF names,
 * structures and signatures. Included by <pnpkit/wdf.h>.
 *
 * Dispatch types:
 *   - Sequential: one request at a time is presented; the next one when the driver completed,
 *     forwarded or sent the previous one.
 *   - Parallel: requests are presented as they arrive, up to
 *     Settings.Parallel.NumberOfPresentedRequests at a time (default unlimited).
 *   - Manual: nothing is presented; the driver takes requests with
 *     WdfIoQueueRetrieveNextRequest.
 * A request is presented on the thread that queued it (the dispatch routine, inline, with no
 * thread hop) or on the thread that completed the request before it. A completion from inside
 * the queue's own callback does not recurse: the callback returns first, then the next request
 * is presented. Queue callbacks run at the IRQL of that thread (PASSIVE_LEVEL for requests from
 * applications and PnpkitOpen*; the completing thread's IRQL otherwise).
 *
 * Synchronization scope (the queue's attributes; InheritFromParent takes the device's): with
 * WdfSynchronizationScopeQueue the queue's I/O callbacks (EvtIoDefault, EvtIoRead, EvtIoWrite,
 * EvtIoDeviceControl, EvtIoInternalDeviceControl) never run at the same time, whatever the
 * dispatch type; with WdfSynchronizationScopeDevice the I/O callbacks of all the device's queues
 * with that scope, and its file-object callbacks with scope Device, never run at the same time
 * (the device's passive callback lock, held across the callback). A presentation that cannot
 * take that lock where it happens (above PASSIVE_LEVEL, or inside a callback that holds it:
 * a request forwarded or completed to another queue of the same scope) runs on a thread-pool
 * thread instead, after the callback returned. With WdfSynchronizationScopeNone (the default) no
 * pnpkit lock is held while a queue callback runs. EvtIoStop, EvtIoResume, EvtIoCanceledOnQueue
 * and EvtRequestCancel are not serialized by the scope (pnpkit: not built).
 *
 * Power-managed queues (the default for function drivers; not for filters) present requests only
 * while the device is in D0: before start they hold them, on a power-down the driver's
 * EvtIoStop is called for the requests it holds and the framework waits until each is completed
 * or acknowledged (WdfRequestStopAcknowledge); on removal they are purged.
 *
 * A queue whose device is removed is purged: waiting requests complete with STATUS_CANCELLED,
 * cancelable requests the driver holds are cancelled, and the removal waits for the driver to
 * complete the others. New requests to a queue that does not accept requests complete with
 * STATUS_INVALID_DEVICE_STATE.
 */
#ifndef PNPKIT_WDFIO_H
#define PNPKIT_WDFIO_H

#include <pnpkit/wdfobject.h>
#include <pnpkit/wdfrequest.h>

PNPKIT_BEGIN_DECLS

typedef enum _WDF_IO_QUEUE_DISPATCH_TYPE {
    WdfIoQueueDispatchInvalid = 0,
    WdfIoQueueDispatchSequential,
    WdfIoQueueDispatchParallel,
    WdfIoQueueDispatchManual,
    WdfIoQueueDispatchMax,
} WDF_IO_QUEUE_DISPATCH_TYPE;

typedef enum _WDF_IO_QUEUE_STATE {
    WdfIoQueueAcceptRequests = 0x01,
    WdfIoQueueDispatchRequests = 0x02,
    WdfIoQueueNoRequests = 0x04,
    WdfIoQueueDriverNoRequests = 0x08,
    WdfIoQueuePnpHeld = 0x10,
} WDF_IO_QUEUE_STATE;

typedef enum _WDF_REQUEST_STOP_ACTION_FLAGS {
    WdfRequestStopActionInvalid = 0,
    WdfRequestStopActionSuspend = 0x01,
    WdfRequestStopActionPurge = 0x2,
    WdfRequestStopRequestCancelable = 0x10000000,
} WDF_REQUEST_STOP_ACTION_FLAGS;

typedef VOID EVT_WDF_IO_QUEUE_IO_DEFAULT(WDFQUEUE Queue, WDFREQUEST Request);
typedef EVT_WDF_IO_QUEUE_IO_DEFAULT *PFN_WDF_IO_QUEUE_IO_DEFAULT;
typedef VOID EVT_WDF_IO_QUEUE_IO_READ(WDFQUEUE Queue, WDFREQUEST Request, size_t Length);
typedef EVT_WDF_IO_QUEUE_IO_READ *PFN_WDF_IO_QUEUE_IO_READ;
typedef VOID EVT_WDF_IO_QUEUE_IO_WRITE(WDFQUEUE Queue, WDFREQUEST Request, size_t Length);
typedef EVT_WDF_IO_QUEUE_IO_WRITE *PFN_WDF_IO_QUEUE_IO_WRITE;
typedef VOID EVT_WDF_IO_QUEUE_IO_DEVICE_CONTROL(WDFQUEUE Queue, WDFREQUEST Request, size_t OutputBufferLength,
                                               size_t InputBufferLength, ULONG IoControlCode);
typedef EVT_WDF_IO_QUEUE_IO_DEVICE_CONTROL *PFN_WDF_IO_QUEUE_IO_DEVICE_CONTROL;
typedef VOID EVT_WDF_IO_QUEUE_IO_INTERNAL_DEVICE_CONTROL(WDFQUEUE Queue, WDFREQUEST Request,
                                                        size_t OutputBufferLength, size_t InputBufferLength,
                                                        ULONG IoControlCode);
typedef EVT_WDF_IO_QUEUE_IO_INTERNAL_DEVICE_CONTROL *PFN_WDF_IO_QUEUE_IO_INTERNAL_DEVICE_CONTROL;
/* ActionFlags: WdfRequestStopActionSuspend or Purge, plus WdfRequestStopRequestCancelable when
 * the request is marked cancelable. */
typedef VOID EVT_WDF_IO_QUEUE_IO_STOP(WDFQUEUE Queue, WDFREQUEST Request, ULONG ActionFlags);
typedef EVT_WDF_IO_QUEUE_IO_STOP *PFN_WDF_IO_QUEUE_IO_STOP;
typedef VOID EVT_WDF_IO_QUEUE_IO_RESUME(WDFQUEUE Queue, WDFREQUEST Request);
typedef EVT_WDF_IO_QUEUE_IO_RESUME *PFN_WDF_IO_QUEUE_IO_RESUME;
/* Called instead of completing with STATUS_CANCELLED when a request waiting in the queue is
 * cancelled; the driver owns the request and must complete it. */
typedef VOID EVT_WDF_IO_QUEUE_IO_CANCELED_ON_QUEUE(WDFQUEUE Queue, WDFREQUEST Request);
typedef EVT_WDF_IO_QUEUE_IO_CANCELED_ON_QUEUE *PFN_WDF_IO_QUEUE_IO_CANCELED_ON_QUEUE;
typedef VOID EVT_WDF_IO_QUEUE_STATE(WDFQUEUE Queue, WDFCONTEXT Context);
typedef EVT_WDF_IO_QUEUE_STATE *PFN_WDF_IO_QUEUE_STATE;

typedef struct _WDF_IO_QUEUE_CONFIG {
    ULONG Size;
    WDF_IO_QUEUE_DISPATCH_TYPE DispatchType;
    /* WdfUseDefault: power-managed, except for a filter device. */
    WDF_TRI_STATE PowerManaged;
    /* FALSE: reads and writes of length 0 complete with STATUS_SUCCESS without reaching the
     * driver. */
    BOOLEAN AllowZeroLengthRequests;
    /* The queue receives every request type that WdfDeviceConfigureRequestDispatching did not
     * give to another queue (creates excepted). One per device. */
    BOOLEAN DefaultQueue;
    PFN_WDF_IO_QUEUE_IO_DEFAULT EvtIoDefault;
    PFN_WDF_IO_QUEUE_IO_READ EvtIoRead;
    PFN_WDF_IO_QUEUE_IO_WRITE EvtIoWrite;
    PFN_WDF_IO_QUEUE_IO_DEVICE_CONTROL EvtIoDeviceControl;
    PFN_WDF_IO_QUEUE_IO_INTERNAL_DEVICE_CONTROL EvtIoInternalDeviceControl;
    PFN_WDF_IO_QUEUE_IO_STOP EvtIoStop;
    PFN_WDF_IO_QUEUE_IO_RESUME EvtIoResume;
    PFN_WDF_IO_QUEUE_IO_CANCELED_ON_QUEUE EvtIoCanceledOnQueue;
    union {
        struct {
            ULONG NumberOfPresentedRequests; /* (ULONG)-1: unlimited */
        } Parallel;
    } Settings;
    WDFDRIVER Driver; /* ignored */
} WDF_IO_QUEUE_CONFIG, *PWDF_IO_QUEUE_CONFIG;

static inline VOID WDF_IO_QUEUE_CONFIG_INIT(PWDF_IO_QUEUE_CONFIG Config, WDF_IO_QUEUE_DISPATCH_TYPE DispatchType)
{
    __builtin_memset(Config, 0, sizeof(*Config));
    Config->Size = sizeof(WDF_IO_QUEUE_CONFIG);
    Config->PowerManaged = WdfUseDefault;
    Config->DispatchType = DispatchType;
    if (DispatchType == WdfIoQueueDispatchParallel)
        Config->Settings.Parallel.NumberOfPresentedRequests = (ULONG)-1;
}

static inline VOID WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(PWDF_IO_QUEUE_CONFIG Config,
                                                          WDF_IO_QUEUE_DISPATCH_TYPE DispatchType)
{
    WDF_IO_QUEUE_CONFIG_INIT(Config, DispatchType);
    Config->DefaultQueue = TRUE;
}

/* =============================================================================================
 * Functions. A bad handle raises a verifier report and returns STATUS_INVALID_HANDLE (NULL, 0 or
 * nothing for the others). IRQL <= DISPATCH_LEVEL unless stated; the Synchronously forms need
 * PASSIVE_LEVEL. Handles returned are owned by the framework (no reference is given).
 * ============================================================================================= */

/* Creates a queue of Device (the parent, unless QueueAttributes give one under Device). Config is
 * copied. Queue (optional, as in KMDF: WDF_NO_HANDLE) receives the handle. STATUS_INFO_LENGTH_MISMATCH:
 * Config->Size. STATUS_INVALID_PARAMETER: a NULL Config, an
 * unknown DispatchType or PowerManaged value, a parallel limit of 0, a second default queue.
 * STATUS_INVALID_DEVICE_REQUEST: a sequential or parallel queue with no EvtIo* request callback
 * at all. A request whose type has neither its own callback nor EvtIoDefault is completed with
 * STATUS_INVALID_DEVICE_REQUEST without reaching the driver. The statuses of WdfObjectCreate.
 * IRQL <= DISPATCH_LEVEL. */
PNPKIT_API NTSTATUS WdfIoQueueCreate(WDFDEVICE Device, PWDF_IO_QUEUE_CONFIG Config,
                                     PWDF_OBJECT_ATTRIBUTES QueueAttributes, WDFQUEUE *Queue);

/* Sends every request of RequestType to Queue: WdfRequestTypeCreate, WdfRequestTypeRead,
 * WdfRequestTypeWrite, WdfRequestTypeDeviceControl or WdfRequestTypeDeviceControlInternal.
 * STATUS_INVALID_DEVICE_REQUEST: a create queue without EvtIoDefault.
 * STATUS_INVALID_PARAMETER: another request type, a type already given to a queue (a second
 * create queue), a queue of another device. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API NTSTATUS WdfDeviceConfigureRequestDispatching(WDFDEVICE Device, WDFQUEUE Queue,
                                                         WDF_REQUEST_TYPE RequestType);

PNPKIT_API WDFQUEUE WdfDeviceGetDefaultQueue(WDFDEVICE Device);
PNPKIT_API WDFDEVICE WdfIoQueueGetDevice(WDFQUEUE Queue);

/* Takes the oldest waiting request; the driver owns it then. STATUS_NO_MORE_ENTRIES: none.
 * STATUS_INVALID_DEVICE_STATE: a parallel queue. STATUS_WDF_PAUSED: the queue is stopped (or
 * power-managed and its device is not in D0). STATUS_INVALID_PARAMETER: NULL OutRequest.
 * *OutRequest is NULL unless STATUS_SUCCESS. */
PNPKIT_API NTSTATUS WdfIoQueueRetrieveNextRequest(WDFQUEUE Queue, WDFREQUEST *OutRequest);
/* The same, for the oldest waiting request of FileObject. */
PNPKIT_API NTSTATUS WdfIoQueueRetrieveRequestByFileObject(WDFQUEUE Queue, WDFFILEOBJECT FileObject,
                                                          WDFREQUEST *OutRequest);

/* Makes the queue accept and dispatch requests again (after a stop, drain or purge). */
PNPKIT_API VOID WdfIoQueueStart(WDFQUEUE Queue);
/* Stops dispatching (the queue still accepts and holds requests). StopComplete(Queue, Context)
 * runs once the driver holds no request of the queue (at once if it holds none), on the thread
 * where that happened. The Synchronously form waits instead (PASSIVE_LEVEL; not from the queue's
 * own callbacks: it would wait for itself). */
PNPKIT_API VOID WdfIoQueueStop(WDFQUEUE Queue, PFN_WDF_IO_QUEUE_STATE StopComplete, WDFCONTEXT Context);
PNPKIT_API VOID WdfIoQueueStopSynchronously(WDFQUEUE Queue);
/* Stops accepting requests (new ones complete with STATUS_INVALID_DEVICE_STATE), completes the
 * waiting ones with STATUS_CANCELLED (or gives them to EvtIoCanceledOnQueue), cancels the
 * cancelable ones the driver holds; PurgeComplete runs, or the Synchronously form returns, once
 * the driver holds none. */
PNPKIT_API VOID WdfIoQueuePurge(WDFQUEUE Queue, PFN_WDF_IO_QUEUE_STATE PurgeComplete, WDFCONTEXT Context);
PNPKIT_API VOID WdfIoQueuePurgeSynchronously(WDFQUEUE Queue);
/* Stops accepting requests but keeps presenting the waiting ones; DrainComplete runs once the
 * queue is empty and the driver holds none. */
PNPKIT_API VOID WdfIoQueueDrain(WDFQUEUE Queue, PFN_WDF_IO_QUEUE_STATE DrainComplete, WDFCONTEXT Context);
PNPKIT_API VOID WdfIoQueueDrainSynchronously(WDFQUEUE Queue);
/* The WDF_IO_QUEUE_STATE flags, and the counts of waiting and driver-held requests. */
PNPKIT_API WDF_IO_QUEUE_STATE WdfIoQueueGetState(WDFQUEUE Queue, PULONG QueueRequests, PULONG DriverRequests);

PNPKIT_END_DECLS

#endif /* PNPKIT_WDFIO_H */
