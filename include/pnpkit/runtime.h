/*
 * <pnpkit/runtime.h> — pnpkit's own additions for running and testing driver code: the
 * verifier, tracing, fault injection, live-object accounting and shutdown. Included by
 * <pnpkit/wdm.h> and <pnpkit/sim.h>.
 *
 * No initialisation call is needed: the runtime (thread pool, timer thread) starts on first use.
 */
#ifndef PNPKIT_RUNTIME_H
#define PNPKIT_RUNTIME_H

#include <pnpkit/ntdef.h>

PNPKIT_BEGIN_DECLS

/* ---- Verifier ----------------------------------------------------------------------------
 * Off by default, as on Windows. PNPKIT_VERIFIER=1 in the environment, or
 * PnpkitVerifierEnable(TRUE), turns it on. With it on, a misuse that Driver Verifier would catch
 * (an API above its IRQL, a wait at DISPATCH_LEVEL, a stale handle, a rule of the seeds broken)
 * is a *stop*: the message "pnpkit verifier stop: <API>: <what>" goes to stderr and the process
 * aborts. Lesser findings are *reports*: printed and counted, the program goes on.
 * A handler installed with PnpkitVerifierSetHandler receives stops and reports instead; after a
 * stop reaches a handler the API continues as it would outside verifier mode (tests use this to
 * check both behaviours in one process). */
typedef enum _PNPKIT_VERIFIER_SEVERITY {
    PnpkitVerifierReport = 1,
    PnpkitVerifierStop = 2,
} PNPKIT_VERIFIER_SEVERITY;

typedef VOID PNPKIT_VERIFIER_HANDLER(PVOID Context, PNPKIT_VERIFIER_SEVERITY Severity, PCSTR Api,
                                     PCSTR Message);

PNPKIT_API VOID PnpkitVerifierEnable(BOOLEAN Enable);
PNPKIT_API BOOLEAN PnpkitVerifierIsEnabled(void);
/* Installs Handler (NULL restores the default: print, and abort on a stop). Returns nothing;
 * the handler may run on any thread and must not call back into pnpkit APIs that could fail
 * verification. */
PNPKIT_API VOID PnpkitVerifierSetHandler(PNPKIT_VERIFIER_HANDLER *Handler, PVOID Context);
/* Number of stops and reports since the process started (both kinds, whatever handled them). */
PNPKIT_API ULONG PnpkitVerifierFindingCount(void);

/* ---- Tracing -----------------------------------------------------------------------------
 * Off by default. PNPKIT_TRACE=error|warning|info|verbose (or 1..4) in the environment, or
 * PnpkitTraceSetLevel, turns it on; lines go to stderr. When off, a trace point costs one load
 * and one branch. */
typedef enum _PNPKIT_TRACE_LEVEL {
    PnpkitTraceNone = 0,
    PnpkitTraceError = 1,
    PnpkitTraceWarning = 2,
    PnpkitTraceInfo = 3,
    PnpkitTraceVerbose = 4,
} PNPKIT_TRACE_LEVEL;
PNPKIT_API VOID PnpkitTraceSetLevel(PNPKIT_TRACE_LEVEL Level);
PNPKIT_API PNPKIT_TRACE_LEVEL PnpkitTraceGetLevel(void);

/* ---- Fault injection ---------------------------------------------------------------------
 * PnpkitSimFailAllocation(N): the N-th allocation that pnpkit makes from now on (1 = the next)
 * fails, once; 0 disarms. Applies to every internal allocation and to ExAllocatePool*. */
PNPKIT_API VOID PnpkitSimFailAllocation(ULONG Nth);

/* ---- Tuning ------------------------------------------------------------------------------
 * How many times a waiter checks an event or lock before it sleeps in the kernel (default 100;
 * 0 sleeps at once). A cross-CPU wakeup costs tens of microseconds, so a short spin can pay. */
PNPKIT_API VOID PnpkitSetSpinBeforeWait(ULONG Iterations);

/* ---- Accounting and shutdown ------------------------------------------------------------- */
/* Number of live framework objects (WDF objects, and the objects of later layers). */
PNPKIT_API ULONG PnpkitLiveObjectCount(void);
/* Runs the work already queued, stops the thread pool and the timer thread, and returns when
 * they have exited. Objects still alive stay alive (PnpkitLiveObjectCount tells). The runtime
 * starts again on the next use. PASSIVE_LEVEL; not from a pnpkit thread. */
PNPKIT_API VOID PnpkitShutdown(void);

PNPKIT_END_DECLS

#endif /* PNPKIT_RUNTIME_H */
