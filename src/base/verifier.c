/*
 * verifier.c — verifier stops and reports, and internal-bug checks.
 *
 * State: whether the verifier is on (pk_verifier_enabled, read on hot paths without a lock),
 * the optional handler (handler_lock protects the handler and its context), and a count of
 * findings. The environment variable PNPKIT_VERIFIER is read once, before main().
 */
#include "base/base_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pk_verifier_enabled;
static pk_lock handler_lock = PK_LOCK_INIT;
static PNPKIT_VERIFIER_HANDLER *handler;
static void *handler_context;
static uint32_t finding_count;

__attribute__((constructor)) static void verifier_read_environment(void)
{
    const char *v = getenv("PNPKIT_VERIFIER");
    if (v && *v && strcmp(v, "0") != 0)
        pk_verifier_enabled = 1;
}

void PnpkitVerifierEnable(BOOLEAN Enable) { pk_store_relaxed(&pk_verifier_enabled, Enable ? 1 : 0); }

BOOLEAN PnpkitVerifierIsEnabled(void) { return (BOOLEAN)pk_verifier_on(); }

void PnpkitVerifierSetHandler(PNPKIT_VERIFIER_HANDLER *Handler, PVOID Context)
{
    pk_lock_acquire(&handler_lock);
    handler = Handler;
    handler_context = Context;
    pk_lock_release(&handler_lock);
}

ULONG PnpkitVerifierFindingCount(void) { return pk_load_acquire(&finding_count); }

/* Hands one finding to the handler or prints it. Returns true if a handler took it. */
static bool deliver(PNPKIT_VERIFIER_SEVERITY severity, const char *api, const char *fmt, va_list ap)
{
    char message[512];
    PNPKIT_VERIFIER_HANDLER *h;
    void *ctx;

    vsnprintf(message, sizeof(message), fmt, ap);
    pk_fetch_add(&finding_count, 1);

    pk_lock_acquire(&handler_lock);
    h = handler;
    ctx = handler_context;
    pk_lock_release(&handler_lock);

    if (h) {
        h(ctx, severity, api, message);
        return true;
    }
    if (severity == PnpkitVerifierStop || pk_verifier_on())
        fprintf(stderr, "pnpkit verifier %s: %s: %s\n", severity == PnpkitVerifierStop ? "stop" : "report",
                api, message);
    return false;
}

void pk_verifier_stop(const char *api, const char *fmt, ...)
{
    va_list ap;
    bool handled;

    va_start(ap, fmt);
    handled = deliver(PnpkitVerifierStop, api, fmt, ap);
    va_end(ap);
    if (!handled && pk_verifier_on()) {
        fflush(stderr);
        abort();
    }
}

void pk_verifier_report(const char *api, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    deliver(PnpkitVerifierReport, api, fmt, ap);
    va_end(ap);
}

void pk_internal_bug(const char *what, const char *file, int line)
{
    pk_verifier_stop("pnpkit", "internal check failed: %s (%s:%d)", what, file, line);
}
