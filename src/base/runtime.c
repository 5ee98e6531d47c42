/*
 * runtime.c — PnpkitShutdown: stops the runtime's threads. Each facility starts itself on first
 * use, so there is no matching initialisation call.
 */
#include "base/base_internal.h"

VOID PnpkitShutdown(void)
{
    if (!pk_irql_ok("PnpkitShutdown", PASSIVE_LEVEL))
        return;
    if (pk_thread_is_pool_worker() || pk_thread_is_timer_thread()) {
        pk_verifier_stop("PnpkitShutdown", "called from a pnpkit thread");
        return;
    }
    pk_timer_flush();
    pk_timer_shutdown();
    pk_threadpool_shutdown();
}
