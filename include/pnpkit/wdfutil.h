/*
 * <pnpkit/wdfutil.h> — the WDF utility objects: WDFMEMORY (with WDF_MEMORY_DESCRIPTOR),
 * WDFLOOKASIDE, WDFCOLLECTION, WDFSPINLOCK, WDFWAITLOCK, WDFWORKITEM, WDFTIMER and WDFSTRING,
 * with the KMDF names, structures and signatures. Included by <pnpkit/wdf.h>.
 *
 * Common rules (each function's comment only adds to them):
 *   - A bad handle (NULL, stale, never valid, or an object of another type) raises a verifier
 *     report and returns STATUS_INVALID_HANDLE; VOID functions then do nothing, functions that
 *     return a value return 0 / NULL / FALSE.
 *   - A call above the IRQL the function allows is a verifier stop; if a verifier handler lets
 *     the program go on, NTSTATUS functions return STATUS_INVALID_DEVICE_REQUEST and the others
 *     do nothing.
 *   - Out parameters are written only on success. A NULL out pointer is STATUS_INVALID_PARAMETER.
 *   - Creation functions also return the statuses of WdfObjectCreate for bad attributes
 *     (STATUS_INFO_LENGTH_MISMATCH, STATUS_INVALID_PARAMETER, STATUS_INVALID_HANDLE for a bad
 *     ParentObject, STATUS_DELETE_PENDING for a parent being deleted) and
 *     STATUS_INSUFFICIENT_RESOURCES.
 *   - No pnpkit lock is held while a driver callback (work item, timer, cleanup, destroy) runs.
 */
#ifndef PNPKIT_WDFUTIL_H
#define PNPKIT_WDFUTIL_H

#include <pnpkit/wdfobject.h>

PNPKIT_BEGIN_DECLS

/* The status KMDF returns when an object that needs a parent (work item, timer) has none. */
#ifndef STATUS_WDF_PARENT_NOT_SPECIFIED
#define STATUS_WDF_PARENT_NOT_SPECIFIED ((NTSTATUS)0xC0200212L)
#endif

/* =============================================================================================
 * Timeouts (100-ns units; negative = relative, positive = absolute system time).
 * WDF_REL_TIMEOUT_IN_MS comes from <pnpkit/wdm.h>.
 * ============================================================================================= */

#ifndef WDF_TIMEOUT_TO_SEC
#define WDF_TIMEOUT_TO_SEC ((LONGLONG)1 * 10 * 1000 * 1000)
#define WDF_TIMEOUT_TO_MS ((LONGLONG)1 * 10 * 1000)
#define WDF_TIMEOUT_TO_US ((LONGLONG)1 * 10)
#endif
#ifndef WDF_REL_TIMEOUT_IN_SEC
#define WDF_REL_TIMEOUT_IN_SEC(Time) (-((LONGLONG)(Time)) * WDF_TIMEOUT_TO_SEC)
#define WDF_ABS_TIMEOUT_IN_SEC(Time) (((LONGLONG)(Time)) * WDF_TIMEOUT_TO_SEC)
#define WDF_ABS_TIMEOUT_IN_MS(Time) (((LONGLONG)(Time)) * WDF_TIMEOUT_TO_MS)
#define WDF_REL_TIMEOUT_IN_US(Time) (-((LONGLONG)(Time)) * WDF_TIMEOUT_TO_US)
#define WDF_ABS_TIMEOUT_IN_US(Time) (((LONGLONG)(Time)) * WDF_TIMEOUT_TO_US)
#endif

/* =============================================================================================
 * WDFMEMORY
 *
 * Three kinds of memory object share the WDFMEMORY handle type:
 *   - WdfMemoryCreate: the object owns its buffer and frees it when the object is destroyed
 *     (after WdfObjectDelete and the last WdfObjectDereference).
 *   - WdfMemoryCreatePreallocated: the caller owns the buffer; deleting the object never frees
 *     it. Only this kind accepts WdfMemoryAssignBuffer.
 *   - WdfMemoryCreateFromLookaside: the buffer belongs to a WDFLOOKASIDE list and goes back to
 *     it when the object is destroyed.
 * The buffer of a memory object is valid until the object is destroyed. Its contents after
 * creation are unspecified (not zeroed), as in KMDF.
 * ============================================================================================= */

typedef struct _WDFMEMORY_OFFSET {
    size_t BufferOffset;
    size_t BufferLength;
} WDFMEMORY_OFFSET, *PWDFMEMORY_OFFSET;

typedef enum _WDF_MEMORY_DESCRIPTOR_TYPE {
    WdfMemoryDescriptorTypeInvalid = 0,
    WdfMemoryDescriptorTypeBuffer,
    WdfMemoryDescriptorTypeMdl,
    WdfMemoryDescriptorTypeHandle,
} WDF_MEMORY_DESCRIPTOR_TYPE;

typedef struct _WDF_MEMORY_DESCRIPTOR {
    WDF_MEMORY_DESCRIPTOR_TYPE Type;
    union {
        struct {
            PVOID Buffer;
            ULONG Length;
        } BufferType;
        struct {
            struct _MDL *Mdl;
            ULONG BufferLength;
        } MdlType;
        struct {
            WDFMEMORY Memory;
            PWDFMEMORY_OFFSET Offsets;
        } HandleType;
    } u;
} WDF_MEMORY_DESCRIPTOR, *PWDF_MEMORY_DESCRIPTOR;

/* Zero the descriptor, then describe a plain buffer / an MDL / a memory object (Offsets may be
 * NULL: the whole buffer). The descriptor does not own or reference what it describes. */
static inline VOID WDF_MEMORY_DESCRIPTOR_INIT_BUFFER(PWDF_MEMORY_DESCRIPTOR Descriptor, PVOID Buffer,
                                                     ULONG BufferLength)
{
    __builtin_memset(Descriptor, 0, sizeof(*Descriptor));
    Descriptor->Type = WdfMemoryDescriptorTypeBuffer;
    Descriptor->u.BufferType.Buffer = Buffer;
    Descriptor->u.BufferType.Length = BufferLength;
}

static inline VOID WDF_MEMORY_DESCRIPTOR_INIT_MDL(PWDF_MEMORY_DESCRIPTOR Descriptor, struct _MDL *Mdl,
                                                  ULONG BufferLength)
{
    __builtin_memset(Descriptor, 0, sizeof(*Descriptor));
    Descriptor->Type = WdfMemoryDescriptorTypeMdl;
    Descriptor->u.MdlType.Mdl = Mdl;
    Descriptor->u.MdlType.BufferLength = BufferLength;
}

static inline VOID WDF_MEMORY_DESCRIPTOR_INIT_HANDLE(PWDF_MEMORY_DESCRIPTOR Descriptor, WDFMEMORY Memory,
                                                     PWDFMEMORY_OFFSET Offsets)
{
    __builtin_memset(Descriptor, 0, sizeof(*Descriptor));
    Descriptor->Type = WdfMemoryDescriptorTypeHandle;
    Descriptor->u.HandleType.Memory = Memory;
    Descriptor->u.HandleType.Offsets = Offsets;
}

/* Creates a memory object with a BufferSize-byte buffer that the object owns. Buffer (optional)
 * receives the buffer's address. PoolTag 0 means pnpkit's default tag; tags are accepted and
 * ignored. STATUS_INVALID_PARAMETER: BufferSize 0, NULL Memory.
 * IRQL <= DISPATCH_LEVEL; <= APC_LEVEL for a paged PoolType. */
PNPKIT_API NTSTATUS WdfMemoryCreate(PWDF_OBJECT_ATTRIBUTES Attributes, POOL_TYPE PoolType, ULONG PoolTag,
                                    size_t BufferSize, WDFMEMORY *Memory, PVOID *Buffer);

/* Creates a memory object that describes Buffer, which the caller keeps owning: it must stay
 * valid while the object uses it, and deleting the object does not free it.
 * STATUS_INVALID_PARAMETER: NULL Buffer or Memory, BufferSize 0. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API NTSTATUS WdfMemoryCreatePreallocated(PWDF_OBJECT_ATTRIBUTES Attributes, PVOID Buffer,
                                                size_t BufferSize, WDFMEMORY *Memory);

/* Makes a memory object created by WdfMemoryCreatePreallocated describe another caller-owned
 * buffer (the previous one is not freed). Any other memory object is the wrong handle type:
 * STATUS_INVALID_HANDLE with a verifier report. STATUS_INVALID_PARAMETER: NULL Buffer,
 * BufferSize 0. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API NTSTATUS WdfMemoryAssignBuffer(WDFMEMORY Memory, PVOID Buffer, size_t BufferSize);

/* Returns the object's buffer (NULL for a bad handle) and, if BufferSize is not NULL, its size.
 * IRQL <= DISPATCH_LEVEL. */
PNPKIT_API PVOID WdfMemoryGetBuffer(WDFMEMORY Memory, size_t *BufferSize);

/* Copies NumBytesToCopyTo bytes from the object's buffer, starting at SourceOffset, to Buffer.
 * STATUS_INVALID_PARAMETER: NULL Buffer, zero bytes. STATUS_BUFFER_TOO_SMALL: SourceOffset is
 * at or past the end, or fewer than NumBytesToCopyTo bytes follow it. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API NTSTATUS WdfMemoryCopyToBuffer(WDFMEMORY SourceMemory, size_t SourceOffset, PVOID Buffer,
                                          size_t NumBytesToCopyTo);

/* Copies NumBytesToCopyFrom bytes from Buffer into the object's buffer at DestinationOffset.
 * STATUS_INVALID_PARAMETER: NULL Buffer, zero bytes. STATUS_INVALID_BUFFER_SIZE: the offset is
 * at or past the end, or the bytes do not fit after it (KMDF's implementation returns this
 * status for both; its documentation also names STATUS_BUFFER_TOO_SMALL). IRQL <=
 * DISPATCH_LEVEL. */
PNPKIT_API NTSTATUS WdfMemoryCopyFromBuffer(WDFMEMORY DestinationMemory, size_t DestinationOffset, PVOID Buffer,
                                            size_t NumBytesToCopyFrom);

/* =============================================================================================
 * WDFLOOKASIDE — a list of equally sized buffers that memory objects borrow and give back, so
 * that after warm-up WdfMemoryCreateFromLookaside allocates no buffer (the memory object's own
 * small header is still allocated). A memory object keeps its list alive; buffers returned
 * after the list was deleted are freed.
 * ============================================================================================= */

/* Creates a lookaside list of BufferSize-byte buffers. MemoryAttributes (optional, copied) are
 * the attributes of every memory object created from the list (context type, callbacks,
 * ParentObject). STATUS_INVALID_PARAMETER: BufferSize 0, NULL Lookaside, bad MemoryAttributes.
 * IRQL <= DISPATCH_LEVEL; PASSIVE_LEVEL for a paged PoolType. */
PNPKIT_API NTSTATUS WdfLookasideListCreate(PWDF_OBJECT_ATTRIBUTES LookasideAttributes, size_t BufferSize,
                                           POOL_TYPE PoolType, PWDF_OBJECT_ATTRIBUTES MemoryAttributes,
                                           ULONG PoolTag, WDFLOOKASIDE *Lookaside);

/* Creates a memory object whose buffer (BufferSize of the list, contents unspecified) comes
 * from Lookaside; deleting the object returns the buffer. STATUS_INVALID_PARAMETER: NULL
 * Memory. IRQL <= DISPATCH_LEVEL; <= APC_LEVEL for a paged list. */
PNPKIT_API NTSTATUS WdfMemoryCreateFromLookaside(WDFLOOKASIDE Lookaside, WDFMEMORY *Memory);

/* =============================================================================================
 * WDFCOLLECTION — an ordered list of framework objects. Adding an object takes a reference on
 * it; removing it, or destroying the collection, releases that reference. An object may be in
 * several collections (or several times in one). All functions: IRQL <= DISPATCH_LEVEL.
 * ============================================================================================= */

PNPKIT_API NTSTATUS WdfCollectionCreate(PWDF_OBJECT_ATTRIBUTES CollectionAttributes, WDFCOLLECTION *Collection);
/* Number of objects in the collection (0 for a bad handle). */
PNPKIT_API ULONG WdfCollectionGetCount(WDFCOLLECTION Collection);
/* Appends Object (any framework object). STATUS_UNSUCCESSFUL: no memory to grow the
 * collection. STATUS_INVALID_PARAMETER: adding a collection to itself (a reference cycle). */
PNPKIT_API NTSTATUS WdfCollectionAdd(WDFCOLLECTION Collection, WDFOBJECT Object);
/* Removes the first occurrence of Item; an Item not in the collection is a verifier report. */
PNPKIT_API VOID WdfCollectionRemove(WDFCOLLECTION Collection, WDFOBJECT Item);
/* Removes the object at Index; an Index past the end is a verifier report. */
PNPKIT_API VOID WdfCollectionRemoveItem(WDFCOLLECTION Collection, ULONG Index);
/* The object at Index, the first or the last one; NULL when there is none. The handle stays
 * valid while the object is in the collection (or referenced otherwise). */
PNPKIT_API WDFOBJECT WdfCollectionGetItem(WDFCOLLECTION Collection, ULONG Index);
PNPKIT_API WDFOBJECT WdfCollectionGetFirstItem(WDFCOLLECTION Collection);
PNPKIT_API WDFOBJECT WdfCollectionGetLastItem(WDFCOLLECTION Collection);

/* =============================================================================================
 * WDFSPINLOCK — a spin lock object. Acquire raises to DISPATCH_LEVEL and keeps the previous
 * IRQL in the object; Release restores it. Not recursive. Verifier stops: acquiring a lock the
 * thread already holds (the call then returns without acquiring it, instead of deadlocking),
 * releasing a lock that is not held or is held by another thread (the call does nothing), and
 * releasing at an IRQL other than DISPATCH_LEVEL.
 * ============================================================================================= */

/* IRQL <= DISPATCH_LEVEL. */
PNPKIT_API NTSTATUS WdfSpinLockCreate(PWDF_OBJECT_ATTRIBUTES SpinLockAttributes, WDFSPINLOCK *SpinLock);
/* IRQL <= DISPATCH_LEVEL; returns at DISPATCH_LEVEL. */
PNPKIT_API VOID WdfSpinLockAcquire(WDFSPINLOCK SpinLock);
/* IRQL == DISPATCH_LEVEL; returns at the IRQL of the matching acquire. */
PNPKIT_API VOID WdfSpinLockRelease(WDFSPINLOCK SpinLock);

/* =============================================================================================
 * WDFWAITLOCK — a lock that waiters sleep on (in the kernel, no polling). Acquiring does not
 * change the IRQL. Not recursive.
 * ============================================================================================= */

/* IRQL <= DISPATCH_LEVEL. */
PNPKIT_API NTSTATUS WdfWaitLockCreate(PWDF_OBJECT_ATTRIBUTES LockAttributes, WDFWAITLOCK *Lock);
/* Acquires Lock. Timeout: NULL waits as long as it takes; a pointer to 0 only tries; a negative
 * value is relative, a positive one absolute, in 100-ns units. Returns STATUS_SUCCESS (the
 * caller holds the lock) or STATUS_TIMEOUT. IRQL: PASSIVE_LEVEL, or <= DISPATCH_LEVEL with a
 * zero timeout (as wdfsync.h annotates it; the KMDF documentation says < DISPATCH_LEVEL). Acquiring a lock the thread already holds is a verifier stop and returns
 * STATUS_INVALID_DEVICE_REQUEST without waiting. */
PNPKIT_API NTSTATUS WdfWaitLockAcquire(WDFWAITLOCK Lock, PLONGLONG Timeout);
/* Releases Lock. Releasing a lock that is not held is a verifier stop (nothing happens);
 * releasing one held by another thread is a verifier report (it is released). IRQL <=
 * DISPATCH_LEVEL. */
PNPKIT_API VOID WdfWaitLockRelease(WDFWAITLOCK Lock);

/* =============================================================================================
 * WDFWORKITEM — a reusable request to run a callback at PASSIVE_LEVEL on pnpkit's thread pool.
 * ============================================================================================= */

typedef VOID EVT_WDF_WORKITEM(WDFWORKITEM WorkItem);
typedef EVT_WDF_WORKITEM *PFN_WDF_WORKITEM;

typedef struct _WDF_WORKITEM_CONFIG {
    ULONG Size;
    PFN_WDF_WORKITEM EvtWorkItemFunc;
    /* Serialize the callback with the parent's callback lock. No object has a callback lock yet
     * (that comes with WDFDEVICE and WDFQUEUE synchronization scopes), so today it has no
     * effect. */
    BOOLEAN AutomaticSerialization;
} WDF_WORKITEM_CONFIG, *PWDF_WORKITEM_CONFIG;

static inline VOID WDF_WORKITEM_CONFIG_INIT(PWDF_WORKITEM_CONFIG Config, PFN_WDF_WORKITEM EvtWorkItemFunc)
{
    __builtin_memset(Config, 0, sizeof(*Config));
    Config->Size = sizeof(WDF_WORKITEM_CONFIG);
    Config->EvtWorkItemFunc = EvtWorkItemFunc;
    Config->AutomaticSerialization = TRUE;
}

/* Creates a work item. Attributes->ParentObject is required (any framework object for now; KMDF
 * requires a device or a queue, or an object under one): STATUS_WDF_PARENT_NOT_SPECIFIED when
 * Attributes or its ParentObject is NULL. STATUS_INFO_LENGTH_MISMATCH: Config->Size.
 * STATUS_INVALID_PARAMETER: NULL Config, WorkItem or EvtWorkItemFunc. IRQL <= DISPATCH_LEVEL.
 * Like KMDF, the work item's cleanup and destroy callbacks run at PASSIVE_LEVEL: deleting it
 * at DISPATCH_LEVEL finishes on a pool thread. Deleting it waits for a queued or running
 * callback to finish, unless the delete comes from that callback itself. */
PNPKIT_API NTSTATUS WdfWorkItemCreate(PWDF_WORKITEM_CONFIG Config, PWDF_OBJECT_ATTRIBUTES Attributes,
                                      WDFWORKITEM *WorkItem);
/* Queues the work item. If it is queued and its callback has not started, this does nothing;
 * once the callback has started, the item can be queued again (also from the callback). The
 * item holds a reference on itself while queued. Enqueueing an item that is being deleted is
 * a verifier report and does nothing. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API VOID WdfWorkItemEnqueue(WDFWORKITEM WorkItem);
/* The ParentObject given at creation. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API WDFOBJECT WdfWorkItemGetParentObject(WDFWORKITEM WorkItem);
/* Waits until the item is neither queued nor running (a callback that queues the item again
 * extends the wait). Calling it from the item's own callback is a verifier stop (it would wait
 * for itself) and returns at once. PASSIVE_LEVEL. */
PNPKIT_API VOID WdfWorkItemFlush(WDFWORKITEM WorkItem);

/* =============================================================================================
 * WDFTIMER
 * ============================================================================================= */

typedef VOID EVT_WDF_TIMER(WDFTIMER Timer);
typedef EVT_WDF_TIMER *PFN_WDF_TIMER;

typedef struct _WDF_TIMER_CONFIG {
    ULONG Size;
    PFN_WDF_TIMER EvtTimerFunc;
    ULONG Period;                   /* ms; 0: one shot */
    BOOLEAN AutomaticSerialization; /* as WDF_WORKITEM_CONFIG: no effect yet */
    ULONG TolerableDelay;           /* ms; accepted, pnpkit fires on time anyway */
    BOOLEAN UseHighResolutionTimer; /* accepted; pnpkit's timers have nanosecond deadlines */
} WDF_TIMER_CONFIG, *PWDF_TIMER_CONFIG;

static inline VOID WDF_TIMER_CONFIG_INIT(PWDF_TIMER_CONFIG Config, PFN_WDF_TIMER EvtTimerFunc)
{
    __builtin_memset(Config, 0, sizeof(*Config));
    Config->Size = sizeof(WDF_TIMER_CONFIG);
    Config->EvtTimerFunc = EvtTimerFunc;
    Config->Period = 0;
    Config->AutomaticSerialization = TRUE;
    Config->TolerableDelay = 0;
}

static inline VOID WDF_TIMER_CONFIG_INIT_PERIODIC(PWDF_TIMER_CONFIG Config, PFN_WDF_TIMER EvtTimerFunc,
                                                  LONG Period)
{
    __builtin_memset(Config, 0, sizeof(*Config));
    Config->Size = sizeof(WDF_TIMER_CONFIG);
    Config->EvtTimerFunc = EvtTimerFunc;
    Config->Period = (ULONG)Period;
    Config->AutomaticSerialization = TRUE;
    Config->TolerableDelay = 0;
}

/* Creates a stopped timer. Its callback runs at DISPATCH_LEVEL on pnpkit's timer thread, or at
 * PASSIVE_LEVEL on the thread pool when the timer's execution level (from its attributes, or
 * inherited from its parent) is WdfExecutionLevelPassive; a passive timer whose previous
 * callback has not finished skips a period rather than running twice at once.
 * Attributes->ParentObject is required: STATUS_WDF_PARENT_NOT_SPECIFIED. STATUS_INFO_LENGTH_MISMATCH:
 * Config->Size. STATUS_INVALID_PARAMETER: NULL Config or Timer, Period > MAXLONG,
 * TolerableDelay with UseHighResolutionTimer. STATUS_NOT_SUPPORTED: a periodic timer whose
 * attributes ask for WdfExecutionLevelPassive (as KMDF; a periodic timer that inherits the
 * passive level from its parent is accepted). A NULL EvtTimerFunc is allowed (the timer fires
 * into nothing). IRQL <= DISPATCH_LEVEL.
 * Deleting the timer stops it and waits for a running callback before the cleanup callbacks
 * run (on a pool thread when deleted at DISPATCH_LEVEL, as KMDF disposes timers at
 * PASSIVE_LEVEL); once WdfObjectDelete has been called no new callback starts. Deleting the
 * timer from its own callback is safe. */
PNPKIT_API NTSTATUS WdfTimerCreate(PWDF_TIMER_CONFIG Config, PWDF_OBJECT_ATTRIBUTES Attributes, WDFTIMER *Timer);
/* Arms the timer to fire at DueTime (WDF_REL_TIMEOUT_IN_MS and friends; 0 fires at once), then
 * every Period ms for a periodic timer. Returns TRUE if the timer was already armed (it is
 * re-armed). While a WdfTimerStop(Wait=TRUE) is in progress the start is ignored (FALSE), so
 * that a callback cannot re-arm a timer being stopped; starting a timer that is being deleted
 * is a verifier report. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API BOOLEAN WdfTimerStart(WDFTIMER Timer, LONGLONG DueTime);
/* Disarms the timer; returns TRUE if it was armed (or a start was refused during the stop).
 * With Wait, also waits until a callback that is running (or queued, for a passive timer) has
 * returned; afterwards no callback runs until the timer is started again. Wait=TRUE needs
 * PASSIVE_LEVEL, and calling it from the timer's own callback is a verifier stop (it returns
 * FALSE at once); without Wait, IRQL <= DISPATCH_LEVEL. */
PNPKIT_API BOOLEAN WdfTimerStop(WDFTIMER Timer, BOOLEAN Wait);
/* The ParentObject given at creation. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API WDFOBJECT WdfTimerGetParentObject(WDFTIMER Timer);

/* =============================================================================================
 * WDFSTRING — a framework-owned copy of a UNICODE_STRING.
 * ============================================================================================= */

/* Creates a string object holding a copy of UnicodeString (NULL: an empty string).
 * STATUS_INVALID_PARAMETER: NULL String; a malformed UnicodeString (odd Length or
 * MaximumLength, Length > MaximumLength, NULL Buffer with a nonzero Length). PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS WdfStringCreate(PCUNICODE_STRING UnicodeString, PWDF_OBJECT_ATTRIBUTES StringAttributes,
                                    WDFSTRING *String);
/* Fills *UnicodeString with a description of the object's text (not NUL-terminated). The
 * buffer belongs to the object: read it only, and not after the object is destroyed. A NULL
 * UnicodeString is a verifier report. PASSIVE_LEVEL. */
PNPKIT_API VOID WdfStringGetUnicodeString(WDFSTRING String, PUNICODE_STRING UnicodeString);

PNPKIT_END_DECLS

#endif /* PNPKIT_WDFUTIL_H */
