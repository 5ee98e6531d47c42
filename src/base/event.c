/*
 * event.c — KEVENT, KeWaitForSingleObject, delays and clocks.
 *
 * An event's SignalState is its futex word: the signaled bit and a count of the waiters that
 * may sleep (see below). A waiter spins a little, then registers in the word and sleeps on the
 * futex; a setter sets the bit with one atomic operation that also tells it whether anyone
 * sleeps. Registration and setting change the same word, so no wakeup is lost and nothing
 * polls.
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

/*
 * The event word (Header.SignalState) is bit 0 = signaled, and 2 for every waiter that may
 * sleep on it. A setter touches the event with one atomic read-modify-write and then, if that
 * showed sleepers, makes the futex wake system call: it never reads the event after it became
 * signaled, so a waiter may free the event (a completion event on its stack) the moment it sees
 * the signal. A stray wake on a reused address is harmless: every wait loops.
 */
#define EV_SIGNALED 1
#define EV_WAITER 2

VOID KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State)
{
    Event->Header.Type = Type == SynchronizationEvent ? PK_DISPATCHER_EVENT_SYNCHRONIZATION
                                                      : PK_DISPATCHER_EVENT_NOTIFICATION;
    Event->Header.Reserved[0] = Event->Header.Reserved[1] = Event->Header.Reserved[2] = 0;
    __atomic_store_n(&Event->Header.SignalState, State ? EV_SIGNALED : 0, __ATOMIC_RELEASE);
    Event->Header.Waiters = 0;
}

LONG KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
    LONG old;
    int wake;

    if (!pk_irql_ok("KeSetEvent", DISPATCH_LEVEL))
        return 0;
    wake = Event->Header.Type == PK_DISPATCHER_EVENT_SYNCHRONIZATION ? 1 : INT32_MAX;
    old = __atomic_fetch_or(&Event->Header.SignalState, EV_SIGNALED, __ATOMIC_SEQ_CST);
    /* From here on the event may already be gone: only the system call uses its address. */
    if (!(old & EV_SIGNALED) && old >= EV_WAITER)
        pk_futex_wake(&Event->Header.SignalState, wake);
    return old & EV_SIGNALED;
}

LONG KeResetEvent(PRKEVENT Event)
{
    if (!pk_irql_ok("KeResetEvent", DISPATCH_LEVEL))
        return 0;
    return __atomic_fetch_and(&Event->Header.SignalState, ~EV_SIGNALED, __ATOMIC_SEQ_CST) & EV_SIGNALED;
}

VOID KeClearEvent(PRKEVENT Event) { __atomic_fetch_and(&Event->Header.SignalState, ~EV_SIGNALED, __ATOMIC_SEQ_CST); }

LONG KeReadStateEvent(PRKEVENT Event) { return __atomic_load_n(&Event->Header.SignalState, __ATOMIC_SEQ_CST) & EV_SIGNALED; }

static inline bool is_sync(PRKEVENT e) { return e->Header.Type == PK_DISPATCHER_EVENT_SYNCHRONIZATION; }

/* Takes the signal if the event is signaled (a synchronization event resets), and removes
 * `leave` from the waiter count in the same step. */
static inline bool event_take(PRKEVENT e, LONG leave)
{
    LONG w = __atomic_load_n(&e->Header.SignalState, __ATOMIC_SEQ_CST);
    while (w & EV_SIGNALED) {
        LONG next = (is_sync(e) ? (w & ~EV_SIGNALED) : w) - leave;
        if (__atomic_compare_exchange_n(&e->Header.SignalState, &w, next, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return true;
    }
    return false;
}

/* Waits for e until deadline_ns (UINT64_MAX: forever). */
static NTSTATUS event_wait(PRKEVENT e, uint64_t deadline_ns)
{
    ULONG spins = pk_load_relaxed(&pk_spin_before_wait);
    LONG w;

    if (event_take(e, 0))
        return STATUS_SUCCESS;
    for (ULONG i = 0; i < spins; i++) {
        pk_cpu_relax();
        if ((__atomic_load_n(&e->Header.SignalState, __ATOMIC_RELAXED) & EV_SIGNALED) && event_take(e, 0))
            return STATUS_SUCCESS;
    }
    /* Register as a waiter, unless the signal came meanwhile. */
    w = __atomic_load_n(&e->Header.SignalState, __ATOMIC_SEQ_CST);
    for (;;) {
        if (w & EV_SIGNALED) {
            if (event_take(e, 0))
                return STATUS_SUCCESS;
            w = __atomic_load_n(&e->Header.SignalState, __ATOMIC_SEQ_CST);
            continue;
        }
        if (__atomic_compare_exchange_n(&e->Header.SignalState, &w, w + EV_WAITER, 0, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
            break;
    }
    for (;;) {
        w = __atomic_load_n(&e->Header.SignalState, __ATOMIC_SEQ_CST);
        if ((w & EV_SIGNALED) && event_take(e, EV_WAITER))
            return STATUS_SUCCESS;
        if (w & EV_SIGNALED)
            continue; /* another waiter took it between our load and our take */
        if (deadline_ns == UINT64_MAX) {
            pk_futex_wait(&e->Header.SignalState, w);
        } else if (!pk_futex_wait_until(&e->Header.SignalState, w, deadline_ns) || pk_now_ns() >= deadline_ns) {
            if (event_take(e, EV_WAITER))
                return STATUS_SUCCESS;
            __atomic_sub_fetch(&e->Header.SignalState, EV_WAITER, __ATOMIC_SEQ_CST);
            return STATUS_TIMEOUT;
        }
    }
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
        return event_take(e, 0) ? STATUS_SUCCESS : STATUS_TIMEOUT;
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
