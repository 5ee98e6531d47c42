/*
 * irql.c — the emulated IRQL. Each thread has its own level in thread-local storage
 * (pk_tls_irql); only that thread reads or writes it, so there is no locking.
 */
#include "base/base_internal.h"

__thread KIRQL pk_tls_irql = PASSIVE_LEVEL;

static const char *level_name(KIRQL irql)
{
    switch (irql) {
    case PASSIVE_LEVEL: return "PASSIVE_LEVEL";
    case APC_LEVEL: return "APC_LEVEL";
    case DISPATCH_LEVEL: return "DISPATCH_LEVEL";
    default: return "an invalid IRQL";
    }
}

bool pk_irql_violation(const char *api, KIRQL max_irql)
{
    pk_verifier_stop(api, "called at %s; the documented maximum is %s", level_name(pk_tls_irql),
                     level_name(max_irql));
    return false;
}

KIRQL KeGetCurrentIrql(void) { return pk_tls_irql; }

VOID KeRaiseIrql(KIRQL NewIrql, PKIRQL OldIrql)
{
    KIRQL old = pk_tls_irql;

    if (NewIrql < old || NewIrql > DISPATCH_LEVEL) {
        pk_verifier_stop("KeRaiseIrql", "cannot raise from %s to %s", level_name(old), level_name(NewIrql));
        if (NewIrql > DISPATCH_LEVEL)
            NewIrql = DISPATCH_LEVEL;
        if (NewIrql < old)
            NewIrql = old;
    }
    pk_tls_irql = NewIrql;
    if (OldIrql)
        *OldIrql = old;
}

VOID KeLowerIrql(KIRQL NewIrql)
{
    if (NewIrql > pk_tls_irql) {
        pk_verifier_stop("KeLowerIrql", "cannot lower from %s to %s", level_name(pk_tls_irql), level_name(NewIrql));
        return;
    }
    pk_tls_irql = NewIrql;
}

KIRQL KeRaiseIrqlToDpcLevel(void)
{
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    return old;
}
