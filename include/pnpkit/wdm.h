/*
 * <pnpkit/wdm.h> — the WDM surface of pnpkit: status codes, strings, GUIDs, IRQL, locks, events,
 * rundown protection, work items, timers and pool allocation (this file), and, in later layers,
 * the I/O manager and PnP APIs (DRIVER_OBJECT, IRPs, device interfaces, notifications).
 *
 * Conventions of every declaration below:
 *   - "IRQL" is the highest level the caller may be at. In verifier mode (PNPKIT_VERIFIER=1, or
 *     PnpkitVerifierEnable) a call above it stops the program with a message naming the API and
 *     the level; outside verifier mode an NTSTATUS function returns STATUS_INVALID_DEVICE_REQUEST
 *     and a VOID function does nothing.
 *   - Out parameters are written only on success.
 *   - Nothing here keeps a pointer the caller passed unless the comment says so.
 */
#ifndef PNPKIT_WDM_H
#define PNPKIT_WDM_H

#include <pnpkit/ntdef.h>
#include <pnpkit/ntstatus.h>

PNPKIT_BEGIN_DECLS

/* =============================================================================================
 * Status names
 * ============================================================================================= */

/* Returns the Windows name of Status ("STATUS_INVALID_PARAMETER"). For a value pnpkit does not
 * know, returns "0xC0FFEE01"-style text in a buffer owned by the calling thread, valid until the
 * thread's next call. Never NULL. Any IRQL. */
PNPKIT_API PCSTR PnpkitStatusName(NTSTATUS Status);

/* =============================================================================================
 * Strings: UNICODE_STRING (UTF-16) and conversions for Linux callers
 * ============================================================================================= */

typedef struct _UNICODE_STRING {
    USHORT Length;        /* bytes, without a terminating NUL */
    USHORT MaximumLength; /* bytes available in Buffer */
    PWSTR Buffer;
} UNICODE_STRING, *PUNICODE_STRING;
typedef const UNICODE_STRING *PCUNICODE_STRING;

#define RTL_CONSTANT_STRING(s) { sizeof(s) - sizeof((s)[0]), sizeof(s), (PWSTR)(uintptr_t)(s) }
#define UNICODE_STRING_MAX_BYTES ((USHORT)65534)
#define UNICODE_STRING_MAX_CHARS (32767)

static inline VOID RtlInitEmptyUnicodeString(PUNICODE_STRING s, PWCHAR buffer, USHORT size)
{
    s->Length = 0;
    s->MaximumLength = size;
    s->Buffer = buffer;
}

/* Points Destination at Source (not copied; Source must outlive it). A NULL Source gives an
 * empty string. A Source longer than UNICODE_STRING_MAX_CHARS is truncated to that length.
 * Any IRQL. */
PNPKIT_API VOID RtlInitUnicodeString(PUNICODE_STRING Destination, PCWSTR Source);

/* Allocates a copy of Source (NUL-terminated) into Destination. Returns FALSE on allocation
 * failure or NULL arguments. Free with RtlFreeUnicodeString. PASSIVE_LEVEL. */
PNPKIT_API BOOLEAN RtlCreateUnicodeString(PUNICODE_STRING Destination, PCWSTR Source);

/* Frees a Buffer allocated by an Rtl or Pnpkit function of this header and zeroes the string.
 * NULL or an empty string is allowed. Any IRQL. */
PNPKIT_API VOID RtlFreeUnicodeString(PUNICODE_STRING String);

/* Copies Source into Destination's buffer, truncated to Destination->MaximumLength; a NULL
 * Source empties Destination. Adds a NUL when room remains. Any IRQL. */
PNPKIT_API VOID RtlCopyUnicodeString(PUNICODE_STRING Destination, PCUNICODE_STRING Source);

/* Compares two strings code unit by code unit (after upper-casing both with
 * RtlUpcaseUnicodeChar when CaseInSensitive). Returns <0, 0 or >0; a shorter string that is a
 * prefix of the other compares less. NULL arguments compare as empty strings. Any IRQL. */
PNPKIT_API LONG RtlCompareUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                        BOOLEAN CaseInSensitive);
PNPKIT_API BOOLEAN RtlEqualUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                         BOOLEAN CaseInSensitive);
/* TRUE when String1 is a prefix of String2. */
PNPKIT_API BOOLEAN RtlPrefixUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                          BOOLEAN CaseInSensitive);

/* Upper-cases one UTF-16 code unit: ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic
 * (the letters that appear in device and instance names); other code units are returned
 * unchanged. Any IRQL. */
PNPKIT_API WCHAR RtlUpcaseUnicodeChar(WCHAR SourceCharacter);

/* Windows' UTF-8 <-> UTF-16 conversions. Byte counts throughout. A NULL destination asks only
 * for the size (written to *ActualByteCount). Invalid sequences are replaced by U+FFFD and the
 * call returns STATUS_SOME_NOT_MAPPED-free STATUS_SUCCESS; a destination too small returns
 * STATUS_BUFFER_TOO_SMALL with the part that fit converted. NULL ActualByteCount with a NULL
 * destination, or a NULL source with a nonzero count: STATUS_INVALID_PARAMETER. Any IRQL. */
PNPKIT_API NTSTATUS RtlUTF8ToUnicodeN(PWSTR UnicodeStringDestination, ULONG UnicodeStringMaxByteCount,
                                      PULONG UnicodeStringActualByteCount, PCCH UTF8StringSource,
                                      ULONG UTF8StringByteCount);
PNPKIT_API NTSTATUS RtlUnicodeToUTF8N(PCHAR UTF8StringDestination, ULONG UTF8StringMaxByteCount,
                                      PULONG UTF8StringActualByteCount, PCWCH UnicodeStringSource,
                                      ULONG UnicodeStringByteCount);

/* pnpkit additions for Linux callers.
 * PnpkitUnicodeStringFromUtf8: allocates Destination from a NUL-terminated UTF-8 string; free
 *   with RtlFreeUnicodeString. STATUS_INVALID_PARAMETER for NULL arguments or text longer than
 *   UNICODE_STRING_MAX_CHARS, STATUS_INSUFFICIENT_RESOURCES on allocation failure.
 * PnpkitUnicodeStringToUtf8: returns a malloc'd NUL-terminated UTF-8 copy (free with free()),
 *   or NULL for a NULL argument or an allocation failure.
 * PnpkitWcsLen: length in code units of a NUL-terminated PCWSTR (0 for NULL).
 * Any IRQL. */
PNPKIT_API NTSTATUS PnpkitUnicodeStringFromUtf8(PUNICODE_STRING Destination, PCSTR Utf8);
PNPKIT_API char *PnpkitUnicodeStringToUtf8(PCUNICODE_STRING String);
PNPKIT_API SIZE_T PnpkitWcsLen(PCWSTR String);

/* =============================================================================================
 * GUIDs in the registry form {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}
 * ============================================================================================= */

/* Parses the registry form (braces required, hex digits of either case). Returns
 * STATUS_INVALID_PARAMETER for NULL arguments or any other text, leaving *Guid untouched.
 * Any IRQL. */
PNPKIT_API NTSTATUS RtlGUIDFromString(PCUNICODE_STRING GuidString, GUID *Guid);
/* Allocates the registry form in upper case, as Windows does; free with RtlFreeUnicodeString.
 * STATUS_INVALID_PARAMETER for NULL arguments, STATUS_INSUFFICIENT_RESOURCES on allocation
 * failure. */
PNPKIT_API NTSTATUS RtlStringFromGUID(REFGUID Guid, PUNICODE_STRING GuidString);

#define PNPKIT_GUID_STRING_CHARS 39 /* braces, 36 characters and the NUL */
#define PNPKIT_GUID_FORMAT_UPPERCASE 0x1
/* Writes the registry form into Buffer (at least PNPKIT_GUID_STRING_CHARS bytes), lower case
 * unless PNPKIT_GUID_FORMAT_UPPERCASE. STATUS_BUFFER_TOO_SMALL / STATUS_INVALID_PARAMETER. */
PNPKIT_API NTSTATUS PnpkitGuidFormat(const GUID *Guid, char *Buffer, SIZE_T BufferSize, ULONG Flags);
/* Parses a NUL-terminated registry form; braces required. STATUS_INVALID_PARAMETER otherwise. */
PNPKIT_API NTSTATUS PnpkitGuidParse(PCSTR Text, GUID *Guid);

/* =============================================================================================
 * IRQL (emulated per thread)
 * ============================================================================================= */

typedef UCHAR KIRQL, *PKIRQL;
#define PASSIVE_LEVEL 0
#define LOW_LEVEL 0
#define APC_LEVEL 1
#define DISPATCH_LEVEL 2
#define HIGH_LEVEL 15

/* The calling thread's IRQL. Every thread starts at PASSIVE_LEVEL. Any IRQL. */
PNPKIT_API KIRQL KeGetCurrentIrql(void);
/* Raises to NewIrql (at most DISPATCH_LEVEL) and returns the old level in *OldIrql. Raising to
 * a lower level, or above DISPATCH_LEVEL, is a verifier stop. */
PNPKIT_API VOID KeRaiseIrql(KIRQL NewIrql, PKIRQL OldIrql);
/* Lowers to NewIrql. Lowering to a higher level is a verifier stop. */
PNPKIT_API VOID KeLowerIrql(KIRQL NewIrql);
PNPKIT_API KIRQL KeRaiseIrqlToDpcLevel(void);

/* =============================================================================================
 * Interlocked operations
 * ============================================================================================= */

#define InterlockedIncrement(p) __extension__({ __atomic_add_fetch((p), 1, __ATOMIC_SEQ_CST); })
#define InterlockedDecrement(p) __extension__({ __atomic_sub_fetch((p), 1, __ATOMIC_SEQ_CST); })
#define InterlockedAdd(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define InterlockedExchangeAdd(p, v) __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
#define InterlockedExchange(p, v) __extension__({ __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST); })
#define InterlockedExchangePointer(p, v) __extension__({ __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST); })
#define InterlockedOr(p, v) __atomic_fetch_or((p), (v), __ATOMIC_SEQ_CST)
#define InterlockedAnd(p, v) __atomic_fetch_and((p), (v), __ATOMIC_SEQ_CST)
#define InterlockedIncrement64 InterlockedIncrement
#define InterlockedDecrement64 InterlockedDecrement
#define InterlockedAdd64 InterlockedAdd
/* Returns the initial value, as Windows does. */
#define InterlockedCompareExchange(p, exchange, comparand) \
    __extension__({ __typeof__(*(p)) pk_cmp__ = (comparand); \
        __atomic_compare_exchange_n((p), &pk_cmp__, (exchange), 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); \
        pk_cmp__; })
#define InterlockedCompareExchangePointer InterlockedCompareExchange
#define InterlockedCompareExchange64 InterlockedCompareExchange
#define KeMemoryBarrier() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define ReadAcquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define WriteRelease(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* =============================================================================================
 * Spin locks (raise to DISPATCH_LEVEL while held) and fast mutexes (APC_LEVEL)
 *
 * A pnpkit spin lock spins briefly and then sleeps in the kernel, so a holder that the Linux
 * scheduler preempts does not burn the other core. It is not recursive.
 * ============================================================================================= */

typedef ULONG_PTR KSPIN_LOCK, *PKSPIN_LOCK;

typedef struct _KLOCK_QUEUE_HANDLE {
    PKSPIN_LOCK Lock;
    KIRQL OldIrql;
} KLOCK_QUEUE_HANDLE, *PKLOCK_QUEUE_HANDLE;

/* Any IRQL. */
PNPKIT_API VOID KeInitializeSpinLock(PKSPIN_LOCK SpinLock);
/* IRQL <= DISPATCH_LEVEL. Raises to DISPATCH_LEVEL; the old level goes to *OldIrql. */
PNPKIT_API VOID KeAcquireSpinLock(PKSPIN_LOCK SpinLock, PKIRQL OldIrql);
/* Releases and lowers to NewIrql. Releasing a lock not held is a verifier stop. */
PNPKIT_API VOID KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql);
/* IRQL == DISPATCH_LEVEL (verifier stop otherwise). */
PNPKIT_API VOID KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock);
PNPKIT_API VOID KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock);
/* Returns TRUE and raises when the lock was free; FALSE (IRQL unchanged) otherwise. */
PNPKIT_API BOOLEAN KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock);
PNPKIT_API VOID KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle);
PNPKIT_API VOID KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle);

typedef struct _FAST_MUTEX {
    volatile LONG Count;   /* futex word: 0 free, 1 held, 2 held with waiters */
    LONG Reserved;
    KIRQL OldIrql;
} FAST_MUTEX, *PFAST_MUTEX, KGUARDED_MUTEX, *PKGUARDED_MUTEX;

/* ExInitializeFastMutex: any IRQL. Acquire: IRQL <= APC_LEVEL, raises to APC_LEVEL.
 * Release: restores the IRQL of the acquire. */
PNPKIT_API VOID ExInitializeFastMutex(PFAST_MUTEX FastMutex);
PNPKIT_API VOID ExAcquireFastMutex(PFAST_MUTEX FastMutex);
PNPKIT_API VOID ExReleaseFastMutex(PFAST_MUTEX FastMutex);
PNPKIT_API BOOLEAN ExTryToAcquireFastMutex(PFAST_MUTEX FastMutex);
#define KeInitializeGuardedMutex ExInitializeFastMutex
#define KeAcquireGuardedMutex ExAcquireFastMutex
#define KeReleaseGuardedMutex ExReleaseFastMutex
#define KeEnterCriticalRegion() ((void)0)
#define KeLeaveCriticalRegion() ((void)0)

/* =============================================================================================
 * Events and waits
 * ============================================================================================= */

typedef enum _EVENT_TYPE { NotificationEvent, SynchronizationEvent } EVENT_TYPE;
typedef enum _KWAIT_REASON { Executive = 0, UserRequest = 6 } KWAIT_REASON;
typedef enum _MODE { KernelMode, UserMode } MODE;
typedef CHAR KPROCESSOR_MODE;
typedef LONG KPRIORITY;
#define IO_NO_INCREMENT 0
#define EVENT_INCREMENT 1

/* Common head of waitable objects. */
typedef struct _DISPATCHER_HEADER {
    UCHAR Type;                /* PNPKIT_OBJECT_TYPE_* */
    UCHAR Reserved[3];
    volatile LONG SignalState; /* futex word: bit 0 signaled, plus 2 per sleeping waiter */
    volatile LONG Waiters;     /* reserved */
} DISPATCHER_HEADER;

typedef struct _KEVENT {
    DISPATCHER_HEADER Header;
} KEVENT, *PKEVENT, *PRKEVENT;

/* Any IRQL. */
PNPKIT_API VOID KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State);
/* Signals Event and returns its previous state. A notification event wakes every waiter and
 * stays signaled; a synchronization event releases one waiter and resets. IRQL <=
 * DISPATCH_LEVEL. Wait must be FALSE (TRUE is accepted and ignored). */
PNPKIT_API LONG KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait);
/* Resets to not-signaled; KeResetEvent returns the previous state. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API LONG KeResetEvent(PRKEVENT Event);
PNPKIT_API VOID KeClearEvent(PRKEVENT Event);
PNPKIT_API LONG KeReadStateEvent(PRKEVENT Event);

/* Waits for Object (a KEVENT) to be signaled.
 * Timeout: NULL waits forever; a negative value is relative, in 100-ns units; a positive value
 * is an absolute system time (100-ns units since 1601-01-01 UTC); zero tests without waiting.
 * Returns STATUS_SUCCESS (STATUS_WAIT_0) or STATUS_TIMEOUT.
 * IRQL <= APC_LEVEL, or DISPATCH_LEVEL with a zero timeout; a real wait at DISPATCH_LEVEL is a
 * verifier stop (outside verifier mode: STATUS_INVALID_DEVICE_REQUEST). Waits block in the
 * kernel after a short spin (PnpkitSetSpinBeforeWait); nothing in pnpkit polls. */
PNPKIT_API NTSTATUS KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason,
                                          KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                          PLARGE_INTEGER Timeout);
/* Sleeps for Interval (relative if negative, absolute if positive). PASSIVE_LEVEL..APC_LEVEL. */
PNPKIT_API NTSTATUS KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                           PLARGE_INTEGER Interval);
/* Busy-waits MicroSeconds. Any IRQL. */
PNPKIT_API VOID KeStallExecutionProcessor(ULONG MicroSeconds);
/* System time: 100-ns units since 1601-01-01 UTC. Interrupt time: 100-ns units of a monotonic
 * clock. Any IRQL. */
PNPKIT_API VOID KeQuerySystemTime(PLARGE_INTEGER CurrentTime);
PNPKIT_API ULONGLONG KeQueryInterruptTime(void);
#define KeQuerySystemTimePrecise KeQuerySystemTime
#define WDF_REL_TIMEOUT_IN_MS(ms) (-((LONGLONG)(ms) * 10000))

/* =============================================================================================
 * Rundown protection
 * ============================================================================================= */

/* Count holds (references << 1) while open; once a wait began it holds a pointer to the
 * waiter's wait block with bit 0 set, or just 1 once the rundown has completed. */
typedef struct _EX_RUNDOWN_REF {
    volatile ULONG_PTR Count;
} EX_RUNDOWN_REF, *PEX_RUNDOWN_REF;

/* All any IRQL, except ExWaitForRundownProtectionRelease (PASSIVE_LEVEL..APC_LEVEL). */
PNPKIT_API VOID ExInitializeRundownProtection(PEX_RUNDOWN_REF RunRef);
PNPKIT_API VOID ExReInitializeRundownProtection(PEX_RUNDOWN_REF RunRef);
/* TRUE: the caller holds protection until the matching release. FALSE once a wait began. */
PNPKIT_API BOOLEAN ExAcquireRundownProtection(PEX_RUNDOWN_REF RunRef);
PNPKIT_API BOOLEAN ExAcquireRundownProtectionEx(PEX_RUNDOWN_REF RunRef, ULONG Count);
/* A release without a matching acquire is a verifier stop. */
PNPKIT_API VOID ExReleaseRundownProtection(PEX_RUNDOWN_REF RunRef);
PNPKIT_API VOID ExReleaseRundownProtectionEx(PEX_RUNDOWN_REF RunRef, ULONG Count);
/* Refuses new acquires, then blocks (on the kernel, no polling) until every holder released. */
PNPKIT_API VOID ExWaitForRundownProtectionRelease(PEX_RUNDOWN_REF RunRef);
/* Marks a rundown with no holders as complete without waiting. */
PNPKIT_API VOID ExRundownCompleted(PEX_RUNDOWN_REF RunRef);

/* =============================================================================================
 * Work items (run at PASSIVE_LEVEL on pnpkit's thread pool)
 * ============================================================================================= */

typedef VOID WORKER_THREAD_ROUTINE(PVOID Parameter);
typedef WORKER_THREAD_ROUTINE *PWORKER_THREAD_ROUTINE;

typedef struct _WORK_QUEUE_ITEM {
    LIST_ENTRY List;
    PWORKER_THREAD_ROUTINE WorkerRoutine;
    volatile PVOID Parameter;
} WORK_QUEUE_ITEM, *PWORK_QUEUE_ITEM;

typedef enum _WORK_QUEUE_TYPE { CriticalWorkQueue, DelayedWorkQueue, HyperCriticalWorkQueue } WORK_QUEUE_TYPE;

#define ExInitializeWorkItem(Item, Routine, Context) \
    ((Item)->WorkerRoutine = (Routine), (Item)->Parameter = (Context), (Item)->List.Flink = NULL)

/* Queues Item; its routine later runs once at PASSIVE_LEVEL on a pool thread. The item must
 * stay valid and must not be queued again until its routine has started. IRQL <=
 * DISPATCH_LEVEL. Work queued before PnpkitShutdown still runs. */
PNPKIT_API VOID ExQueueWorkItem(PWORK_QUEUE_ITEM WorkItem, WORK_QUEUE_TYPE QueueType);

/* =============================================================================================
 * Timers: KTIMER + KDPC, and the EX_TIMER interface (which can cancel and wait for a running
 * callback). Resolution is one millisecond; callbacks run on pnpkit's timer thread at
 * DISPATCH_LEVEL.
 * ============================================================================================= */

typedef struct _KDPC KDPC, *PKDPC, *PRKDPC;
typedef VOID KDEFERRED_ROUTINE(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                               PVOID SystemArgument2);
typedef KDEFERRED_ROUTINE *PKDEFERRED_ROUTINE;
struct _KDPC {
    PKDEFERRED_ROUTINE DeferredRoutine;
    PVOID DeferredContext;
    PVOID SystemArgument1;
    PVOID SystemArgument2;
};

typedef enum _TIMER_TYPE { NotificationTimer, SynchronizationTimer } TIMER_TYPE;

/* Opaque storage of pnpkit's timer engine. */
typedef struct _KTIMER {
    DISPATCHER_HEADER Header;
    ULONG_PTR Opaque[16];
} KTIMER, *PKTIMER, *PRKTIMER;

/* Any IRQL. */
PNPKIT_API VOID KeInitializeDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext);
PNPKIT_API VOID KeInitializeTimer(PKTIMER Timer);
PNPKIT_API VOID KeInitializeTimerEx(PKTIMER Timer, TIMER_TYPE Type);
/* Arms Timer (relative if DueTime < 0, absolute otherwise) and, when Dpc is not NULL, queues it
 * at expiry. Period (ms) > 0 re-arms periodically. Returns TRUE if the timer was already armed
 * (it is re-armed). IRQL <= DISPATCH_LEVEL. */
PNPKIT_API BOOLEAN KeSetTimer(PKTIMER Timer, LARGE_INTEGER DueTime, PKDPC Dpc);
PNPKIT_API BOOLEAN KeSetTimerEx(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc);
/* Disarms; TRUE if it was armed. Does not wait for a DPC already running (KeFlushQueuedDpcs
 * does). IRQL <= DISPATCH_LEVEL. */
PNPKIT_API BOOLEAN KeCancelTimer(PKTIMER Timer);
PNPKIT_API BOOLEAN KeReadStateTimer(PKTIMER Timer);
/* Waits until every timer callback running at the time of the call has returned.
 * PASSIVE_LEVEL. Called from a timer callback it returns at once. */
PNPKIT_API VOID KeFlushQueuedDpcs(void);

typedef struct _EX_TIMER EX_TIMER, *PEX_TIMER;
typedef VOID EXT_CALLBACK(PEX_TIMER Timer, PVOID Context);
typedef EXT_CALLBACK *PEXT_CALLBACK;
typedef struct _EXT_SET_PARAMETERS_V0 { ULONG Version; ULONG Reserved; LONGLONG NoWakeTolerance; } EXT_SET_PARAMETERS, *PEXT_SET_PARAMETERS;
typedef struct _EXT_DELETE_PARAMETERS { ULONG Version; ULONG Reserved; PEXT_CALLBACK DeleteCallback; PVOID DeleteContext; } EXT_DELETE_PARAMETERS, *PEXT_DELETE_PARAMETERS;
#define EX_TIMER_HIGH_RESOLUTION 0x4
#define EX_TIMER_NO_WAKE 0x8
static inline VOID ExInitializeSetTimerParameters(PEXT_SET_PARAMETERS p) { p->Version = 0; p->Reserved = 0; p->NoWakeTolerance = 0; }
static inline VOID ExInitializeDeleteTimerParameters(PEXT_DELETE_PARAMETERS p) { p->Version = 0; p->Reserved = 0; p->DeleteCallback = 0; p->DeleteContext = 0; }

/* Allocates a timer whose Callback(Timer, CallbackContext) runs at DISPATCH_LEVEL. NULL on
 * allocation failure or a NULL Callback. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API PEX_TIMER ExAllocateTimer(PEXT_CALLBACK Callback, PVOID CallbackContext, ULONG Attributes);
/* Arms (DueTime < 0 relative, > 0 absolute, 100-ns units; Period in 100-ns units, 0 one-shot).
 * Returns TRUE if it was armed already. */
PNPKIT_API BOOLEAN ExSetTimer(PEX_TIMER Timer, LONGLONG DueTime, LONGLONG Period, PEXT_SET_PARAMETERS Parameters);
/* Disarms; TRUE if it was armed. Does not wait. */
PNPKIT_API BOOLEAN ExCancelTimer(PEX_TIMER Timer, PVOID Parameters);
/* Deletes the timer. Cancel disarms it first (otherwise it must not be armed). Wait (only at
 * PASSIVE_LEVEL) returns after a callback already running has finished; without Wait the
 * memory is freed when that callback returns. Returns TRUE if the timer was armed. */
PNPKIT_API BOOLEAN ExDeleteTimer(PEX_TIMER Timer, BOOLEAN Cancel, BOOLEAN Wait, PEXT_DELETE_PARAMETERS Parameters);

/* =============================================================================================
 * Pool allocation (with fault injection, see PnpkitSimFailAllocation in <pnpkit/runtime.h>)
 * ============================================================================================= */

typedef enum _POOL_TYPE { NonPagedPool = 0, NonPagedPoolNx = 512, PagedPool = 1 } POOL_TYPE;
typedef ULONG64 POOL_FLAGS;
#define POOL_FLAG_UNINITIALIZED 0x0000000000000002ULL
#define POOL_FLAG_NON_PAGED 0x0000000000000040ULL
#define POOL_FLAG_PAGED 0x0000000000000100ULL

/* ExAllocatePoolWithTag returns uninitialised memory, ExAllocatePool2 zeroed memory unless
 * POOL_FLAG_UNINITIALIZED; both NULL on failure (or an injected failure). Paged pool requires
 * IRQL <= APC_LEVEL. Free with ExFreePoolWithTag / ExFreePool (NULL allowed). */
PNPKIT_API PVOID ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
PNPKIT_API PVOID ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag);
PNPKIT_API VOID ExFreePoolWithTag(PVOID P, ULONG Tag);
PNPKIT_API VOID ExFreePool(PVOID P);

PNPKIT_END_DECLS

#include <pnpkit/runtime.h>
#include <pnpkit/wdmio.h>
#include <pnpkit/wdmpnp.h>

#endif /* PNPKIT_WDM_H */
