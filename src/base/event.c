/*
 * event.c — KEVENT, KeWaitForSingleObject, delays and clocks.
 *
 * An event's SignalState is its futex word (0 or 1) and Waiters counts threads that may sleep on
 * it. Set: exchange the state to 1, then wake if anyone may sleep. Wait: take the state (a
 * synchronization event resets it by compare-and-swap), spin a little, then announce itself in
 * Waiters and sleep on the futex. Both sides use sequentially consistent operations, so either
 * the setter sees the waiter or the waiter sees the state: no lost wakeup, no polling.
 */
#include "base/base_internal.h"

#include <time.h>

#define PK_DISPATCHER_EVENT_NOTIFICATION 0
#define PK_DISPATCHER_EVENT_SYNCHRONIZATION 1

uint64_t pk_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* 100-ns intervals between 1601-01-01 and 1970-01-01. */
#define PK_EPOCH_DIFFERENCE_100NS 116444736000000000LL

VOID KeQuerySystemTime(PLARGE_INTEGER CurrentTime)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    CurrentTime->QuadPart = (LONGLONG)ts.tv_sec * 10000000 + ts.tv_nsec / 100 + PK_EPOCH_DIFFERENCE_100NS;
}

ULONGLONG KeQueryInterruptTime(void) { return pk_now_ns() / 100; }

uint64_t pk_deadline_from_timeout(LONGLONG timeout)
{
    uint64_t now = pk_now_ns();

    if (timeout < 0) {
        uint64_t rel = (uint64_t)(-(timeout + 1)) + 1; /* no overflow for LLONG_MIN */
        return rel > (UINT64_MAX - now) / 100 ? UINT64_MAX : now + rel * 100;
    }
    LARGE_INTEGER system;
    KeQuerySystemTime(&system);
    if (timeout <= system.QuadPart)
        return now;
    return now + (uint64_t)(timeout - system.QuadPart) * 100;
}

VOID KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State)
{
    Event->Header.Type = Type == SynchronizationEvent ? PK_DISPATCHER_EVENT_SYNCHRONIZATION
                                                      : PK_DISPATCHER_EVENT_NOTIFICATION;
    Event->Header.Reserved[0] = Event->Header.Reserved[1] = Event->Header.Reserved[2] = 0;
    Event->Header.SignalState = State ? 1 : 0;
    Event->Header.Waiters = 0;
}

LONG KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
    LONG old;

    if (!pk_irql_ok("KeSetEvent", DISPATCH_LEVEL))
        return 0;
    old = __atomic_exchange_n(&Event->Header.SignalState, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&Event->Header.Waiters, __ATOMIC_SEQ_CST) > 0)
        pk_futex_wake(&Event->Header.SignalState,
                      Event->Header.Type == PK_DISPATCHER_EVENT_SYNCHRONIZATION ? 1 : INT32_MAX);
    return old;
}

LONG KeResetEvent(PRKEVENT Event)
{
    if (!pk_irql_ok("KeResetEvent", DISPATCH_LEVEL))
        return 0;
    return __atomic_exchange_n(&Event->Header.SignalState, 0, __ATOMIC_SEQ_CST);
}

VOID KeClearEvent(PRKEVENT Event) { __atomic_store_n(&Event->Header.SignalState, 0, __ATOMIC_SEQ_CST); }

LONG KeReadStateEvent(PRKEVENT Event) { return __atomic_load_n(&Event->Header.SignalState, __ATOMIC_SEQ_CST); }

/* Consumes the signal if the event is signaled. */
static inline bool event_try(PRKEVENT e)
{
    if (e->Header.Type == PK_DISPATCHER_EVENT_SYNCHRONIZATION) {
        LONG one = 1;
        return __atomic_compare_exchange_n(&e->Header.SignalState, &one, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    }
    return __atomic_load_n(&e->Header.SignalState, __ATOMIC_SEQ_CST) != 0;
}

/* Waits for e until deadline_ns (UINT64_MAX: forever). */
static NTSTATUS event_wait(PRKEVENT e, uint64_t deadline_ns)
{
    ULONG spins = pk_load_relaxed(&pk_spin_before_wait);
    NTSTATUS status = STATUS_SUCCESS;

    if (event_try(e))
        return STATUS_SUCCESS;
    for (ULONG i = 0; i < spins; i++) {
        pk_cpu_relax();
        if (__atomic_load_n(&e->Header.SignalState, __ATOMIC_RELAXED) && event_try(e))
            return STATUS_SUCCESS;
    }
    __atomic_add_fetch(&e->Header.Waiters, 1, __ATOMIC_SEQ_CST);
    while (!event_try(e)) {
        if (deadline_ns == UINT64_MAX) {
            pk_futex_wait(&e->Header.SignalState, 0);
        } else if (!pk_futex_wait_until(&e->Header.SignalState, 0, deadline_ns) || pk_now_ns() >= deadline_ns) {
            if (!event_try(e))
                status = STATUS_TIMEOUT;
            break;
        }
    }
    __atomic_sub_fetch(&e->Header.Waiters, 1, __ATOMIC_SEQ_CST);
    return status;
}

NTSTATUS KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                               BOOLEAN Alertable, PLARGE_INTEGER Timeout)
{
    PRKEVENT e = Object;

    if (!e) {
        pk_verifier_stop("KeWaitForSingleObject", "Object is NULL");
        return STATUS_INVALID_PARAMETER;
    }
    if (e->Header.Type > PK_DISPATCHER_EVENT_SYNCHRONIZATION) {
        pk_verifier_stop("KeWaitForSingleObject", "Object %p is not a KEVENT", Object);
        return STATUS_INVALID_PARAMETER;
    }
    if (Timeout && Timeout->QuadPart == 0)
        return event_try(e) ? STATUS_SUCCESS : STATUS_TIMEOUT;
    if (pk_unlikely(pk_tls_irql > APC_LEVEL)) {
        pk_verifier_stop("KeWaitForSingleObject", "a wait at DISPATCH_LEVEL (only a zero timeout is allowed there)");
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    return event_wait(e, Timeout ? pk_deadline_from_timeout(Timeout->QuadPart) : UINT64_MAX);
}

NTSTATUS KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable, PLARGE_INTEGER Interval)
{
    struct timespec ts;
    uint64_t deadline;

    if (!Interval)
        return STATUS_INVALID_PARAMETER;
    if (!pk_irql_ok("KeDelayExecutionThread", APC_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    deadline = pk_deadline_from_timeout(Interval->QuadPart);
    if (deadline == UINT64_MAX)
        deadline = pk_now_ns() + 1000000000ull * 3600 * 24 * 365;
    ts.tv_sec = (time_t)(deadline / 1000000000u);
    ts.tv_nsec = (long)(deadline % 1000000000u);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
    }
    return STATUS_SUCCESS;
}

VOID KeStallExecutionProcessor(ULONG MicroSeconds)
{
    uint64_t end = pk_now_ns() + (uint64_t)MicroSeconds * 1000;
    while (pk_now_ns() < end)
        pk_cpu_relax();
}
