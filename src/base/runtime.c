/*
 * runtime.c — PnpkitShutdown: stops the runtime's threads. Each facility starts itself on first
 * use, so there is no matching initialisation call.
 */
#include "base/base_internal.h"

static pk_lock hooks_lock = PK_LOCK_INIT;
static pk_shutdown_hook *hooks; /* newest first; hooks_lock */

void pk_runtime_add_shutdown_hook(pk_shutdown_hook *hook)
{
    pk_lock_acquire(&hooks_lock);
    if (!hook->registered) {
        hook->registered = true;
        hook->next = hooks;
        hooks = hook;
    }
    pk_lock_release(&hooks_lock);
}

static void run_hooks(void)
{
    for (;;) {
        pk_shutdown_hook *h;
        pk_lock_acquire(&hooks_lock);
        h = hooks;
        if (h) {
            hooks = h->next;
            h->registered = false;
        }
        pk_lock_release(&hooks_lock);
        if (!h)
            return;
        h->fn();
    }
}

VOID PnpkitShutdown(void)
{
    if (!pk_irql_ok("PnpkitShutdown", PASSIVE_LEVEL))
        return;
    if (pk_thread_is_pool_worker() || pk_thread_is_timer_thread()) {
        pk_verifier_stop("PnpkitShutdown", "called from a pnpkit thread");
        return;
    }
    run_hooks();
    pk_timer_flush();
    pk_timer_shutdown();
    pk_threadpool_shutdown();
}
