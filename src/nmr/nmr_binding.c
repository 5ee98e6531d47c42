/*
 * nmr_binding.c — the life of one binding: the attach proposal (ClientAttachProvider,
 * NmrClientAttachProvider, ProviderAttachClient), the late-comer rule, the detach of both sides
 * with their completions, and the cleanup callbacks.
 *
 * State machine (nmr_internal.h): every change goes through nmr_binding_transition_locked, which
 * checks that the change is legal, keeps the registrations' attach-in-flight counts, and records
 * it in the binding's history. The callbacks run outside the registrar lock, on the strength of
 * the transition that the calling thread made under it:
 *   - only the thread whose transition took the binding into Detaching calls the two detach
 *     callbacks;
 *   - only the thread whose transition took it into CleanedUp (the one that saw both sides done)
 *     calls the two cleanup callbacks.
 * That is what makes a simultaneous deregistration of both modules, or a Complete racing its own
 * detach callback, produce one detach per side and one cleanup per binding.
 *
 * Locking: the registrar lock (nmr_registrar.lock) protects the state, the attach flags, the
 * contexts and dispatch tables and the side records. The fields that the callbacks need are
 * fixed once the binding has left Attaching, so the thread that runs them reads them after its
 * transition; a binding cannot be freed before both of its sides are done, and a side cannot be
 * done before its detach callback has returned, so the detaching thread may use the binding
 * until it records the provider side's return, and not after.
 *
 * Who frees what: a binding is allocated by the registration that proposes it (nmr_registrar.c)
 * and freed here: by the proposing thread after a discard, or by the thread that ran the cleanup
 * callbacks, after unlinking it from both registrations. The binding contexts belong to the
 * modules, which free them in their cleanup callbacks (or, after a failed attach, the client
 * frees its own).
 */
#include "nmr/nmr_internal.h"

/* A per-thread token: the address identifies the thread that runs an attach callback, so that
 * NmrClientAttachProvider is accepted only from inside that callback. */
static __thread char thread_token;

static const char *const state_names[] = { "?", "Attaching", "Attached", "Detaching", "CleanedUp", "Discarded" };

static const char *state_name(unsigned s) { return s < ARRAYSIZE(state_names) ? state_names[s] : "?"; }

static bool transition_is_legal(nmr_binding_state from, nmr_binding_state to, nmr_binding_event event)
{
    switch (to) {
    case NMR_BINDING_ATTACHING: return from == 0 && event == NMR_EV_PROPOSED;
    case NMR_BINDING_ATTACHED: return from == NMR_BINDING_ATTACHING;
    case NMR_BINDING_DISCARDED: return from == NMR_BINDING_ATTACHING;
    case NMR_BINDING_DETACHING:
        return from == NMR_BINDING_ATTACHED ||
               (from == NMR_BINDING_ATTACHING && event == NMR_EV_CLIENT_FAILED_LATE);
    case NMR_BINDING_CLEANED_UP: return from == NMR_BINDING_DETACHING;
    default: return false;
    }
}

/* The one function that changes a binding's state. Lock held. */
static void nmr_binding_transition_locked(nmr_binding *b, nmr_binding_state to, nmr_binding_event event)
{
    nmr_binding_state from = (nmr_binding_state)b->state;

    if (!transition_is_legal(from, to, event))
        pk_internal_bug("legal NMR binding state transition", __FILE__, __LINE__);
    if (from == NMR_BINDING_ATTACHING) {
        b->reg[NMR_SIDE_CLIENT]->attaches_in_flight--;
        b->reg[NMR_SIDE_PROVIDER]->attaches_in_flight--;
    }
    b->history[b->history_next].from = (uint8_t)from;
    b->history[b->history_next].to = (uint8_t)to;
    b->history[b->history_next].event = (uint8_t)event;
    b->history_next = (uint8_t)((b->history_next + 1) % NMR_BINDING_HISTORY);
    b->state = (uint8_t)to;
    PK_TRACE(PnpkitTraceVerbose, "nmr", "binding %p: %s -> %s (event %d)", nmr_handle(&b->entry),
             state_name(from), state_name(to), (int)event);
}

void nmr_binding_link_locked(nmr_binding *b, nmr_registration *c, nmr_registration *p)
{
    b->entry.kind = NMR_KIND_BINDING;
    b->reg[NMR_SIDE_CLIENT] = c;
    b->reg[NMR_SIDE_PROVIDER] = p;
    nmr_table_insert_locked(&b->entry);
    InsertTailList(&c->bindings, &b->link[NMR_SIDE_CLIENT]);
    InsertTailList(&p->bindings, &b->link[NMR_SIDE_PROVIDER]);
    c->binding_count++;
    p->binding_count++;
    c->attaches_in_flight++;
    p->attaches_in_flight++;
    b->linked = true;
    nmr_binding_transition_locked(b, NMR_BINDING_ATTACHING, NMR_EV_PROPOSED);
    pk_live_add(1);
}

/* Takes b off both registrations, which may complete their waits. Lock held. */
static void unlink_locked(nmr_binding *b)
{
    for (int s = 0; s < 2; s++) {
        nmr_registration *r = b->reg[s];
        RemoveEntryList(&b->link[s]);
        r->binding_count--;
        nmr_registration_check_done_locked(r);
    }
    b->linked = false;
}

static void binding_free(nmr_binding *b)
{
    pk_free(b);
    pk_live_add(-1);
}

/* Attaching -> Discarded: no binding exists, no callback will be made for it. The handle
 * becomes unknown at once. The caller frees b after unlocking (or, for a proposal that has not
 * started, the proposing thread does). Lock held. */
static void discard_locked(nmr_binding *b, nmr_binding_event event)
{
    nmr_binding_transition_locked(b, NMR_BINDING_DISCARDED, event);
    nmr_table_remove_locked(&b->entry);
    unlink_locked(b);
}

/* Enters Detaching; the calling thread must then call nmr_binding_run_detach. Lock held. */
static void start_detach_locked(nmr_binding *b, nmr_binding_event event, bool client_involved)
{
    nmr_binding_transition_locked(b, NMR_BINDING_DETACHING, event);
    b->side[NMR_SIDE_CLIENT].involved = client_involved;
    b->side[NMR_SIDE_CLIENT].done = !client_involved;
    b->side[NMR_SIDE_PROVIDER].involved = true;
}

/* Detaching -> CleanedUp when both sides are done; returns true if this call made that
 * transition (the caller then runs the cleanup callbacks). The handle becomes unknown here.
 * Lock held. */
static bool finish_locked(nmr_binding *b)
{
    if (b->state != NMR_BINDING_DETACHING || !b->side[NMR_SIDE_CLIENT].done || !b->side[NMR_SIDE_PROVIDER].done)
        return false;
    nmr_binding_transition_locked(b, NMR_BINDING_CLEANED_UP, NMR_EV_BOTH_SIDES_DONE);
    nmr_table_remove_locked(&b->entry);
    return true;
}

/* Runs the cleanup callbacks of b, whose transition to CleanedUp this thread made, then frees
 * it. At the calling thread's IRQL, without the lock. */
static void run_cleanup(nmr_binding *b)
{
    const NPI_CLIENT_CHARACTERISTICS *cc = b->reg[NMR_SIDE_CLIENT]->chars.client;
    const NPI_PROVIDER_CHARACTERISTICS *pc = b->reg[NMR_SIDE_PROVIDER]->chars.provider;

    if (b->side[NMR_SIDE_CLIENT].involved && cc->ClientCleanupBindingContext)
        cc->ClientCleanupBindingContext(b->context[NMR_SIDE_CLIENT]);
    if (pc->ProviderCleanupBindingContext)
        pc->ProviderCleanupBindingContext(b->context[NMR_SIDE_PROVIDER]);
    /* Unlinked only now, so that a wait for either module returns after both cleanups. */
    nmr_lock();
    unlink_locked(b);
    nmr_unlock();
    binding_free(b);
}

/* ---- Attach ---------------------------------------------------------------------------------- */

enum attach_misuse { MISUSE_NONE, MISUSE_SUCCESS_WITHOUT_ATTACH, MISUSE_SUCCESS_AFTER_DECLINE, MISUSE_FAILURE_AFTER_ATTACH };

void nmr_binding_propose(nmr_binding *b)
{
    PNPI_CLIENT_ATTACH_PROVIDER_FN attach;
    const NPI_REGISTRATION_INSTANCE *provider_instance;
    enum attach_misuse misuse = MISUSE_NONE;
    bool detach = false, discarded;
    void *client_context;
    HANDLE handle;
    NTSTATUS status;

    nmr_lock();
    if (b->state == NMR_BINDING_DISCARDED) {
        /* A module deregistered before this proposal's turn came. */
        nmr_unlock();
        binding_free(b);
        return;
    }
    /* Deregistration discards proposals that have not started, so both modules are active. */
    PK_ALWAYS(!b->reg[NMR_SIDE_CLIENT]->deregistering && !b->reg[NMR_SIDE_PROVIDER]->deregistering);
    b->proposal_started = true;
    b->in_attach_callback = true;
    b->attach_thread = &thread_token;
    attach = b->reg[NMR_SIDE_CLIENT]->chars.client->ClientAttachProvider;
    client_context = b->reg[NMR_SIDE_CLIENT]->context;
    provider_instance = b->reg[NMR_SIDE_PROVIDER]->instance;
    handle = nmr_handle(&b->entry);
    nmr_unlock();

    status = attach(handle, client_context, provider_instance);

    nmr_lock();
    b->in_attach_callback = false;
    if (NT_SUCCESS(status) && b->provider_accepted) {
        nmr_binding_transition_locked(b, NMR_BINDING_ATTACHED, NMR_EV_ATTACHED);
        /* The late-comer rule: a module that began deregistering during the attach did not
         * detach this binding (it was still Attaching); it detaches now, in this thread. */
        if (b->reg[NMR_SIDE_CLIENT]->deregistering || b->reg[NMR_SIDE_PROVIDER]->deregistering) {
            start_detach_locked(b, NMR_EV_LATE_COMER, true);
            detach = true;
        }
    } else if (NT_SUCCESS(status)) {
        misuse = b->client_attach_called ? MISUSE_SUCCESS_AFTER_DECLINE : MISUSE_SUCCESS_WITHOUT_ATTACH;
        discard_locked(b, NMR_EV_ATTACH_MISUSE);
    } else if (b->provider_accepted) {
        /* The provider holds a binding the client says it does not have: detach the provider
         * side alone, then clean it up. */
        misuse = MISUSE_FAILURE_AFTER_ATTACH;
        start_detach_locked(b, NMR_EV_CLIENT_FAILED_LATE, false);
        detach = true;
    } else {
        discard_locked(b, b->client_attach_called ? NMR_EV_PROVIDER_DECLINED : NMR_EV_CLIENT_DECLINED);
    }
    discarded = b->state == NMR_BINDING_DISCARDED;
    nmr_unlock();

    switch (misuse) {
    case MISUSE_SUCCESS_WITHOUT_ATTACH:
        pk_verifier_stop("ClientAttachProvider",
                         "returned %s for binding %p without calling NmrClientAttachProvider "
                         "(treated as a decline)", PnpkitStatusName(status), handle);
        break;
    case MISUSE_SUCCESS_AFTER_DECLINE:
        pk_verifier_stop("ClientAttachProvider",
                         "returned %s for binding %p although NmrClientAttachProvider failed; it must "
                         "return that call's status (treated as a decline)", PnpkitStatusName(status), handle);
        break;
    case MISUSE_FAILURE_AFTER_ATTACH:
        pk_verifier_report("ClientAttachProvider",
                           "returned %s for binding %p after NmrClientAttachProvider succeeded; the "
                           "provider side is detached and cleaned up alone", PnpkitStatusName(status), handle);
        break;
    case MISUSE_NONE:
        break;
    }
    if (discarded)
        binding_free(b);
    else if (detach)
        nmr_binding_run_detach(b);
}

NTSTATUS nmr_binding_client_attach_provider(HANDLE handle, void *client_binding_context,
                                            const void *client_dispatch, void **provider_binding_context,
                                            const void **provider_dispatch)
{
    PNPI_PROVIDER_ATTACH_CLIENT_FN attach;
    const NPI_REGISTRATION_INSTANCE *client_instance;
    void *provider_context, *pbc = NULL;
    const void *pd = NULL;
    nmr_binding *b;
    NTSTATUS status;

    nmr_lock();
    b = (nmr_binding *)nmr_table_lookup_locked(handle, NMR_KIND_BINDING);
    if (!b || b->state != NMR_BINDING_ATTACHING || !b->in_attach_callback || b->attach_thread != &thread_token ||
        b->client_attach_called) {
        nmr_unlock();
        PK_TRACE(PnpkitTraceWarning, "nmr", "NmrClientAttachProvider(%p): not inside its ClientAttachProvider",
                 handle);
        return STATUS_INVALID_PARAMETER;
    }
    b->client_attach_called = true;
    b->context[NMR_SIDE_CLIENT] = client_binding_context;
    b->dispatch[NMR_SIDE_CLIENT] = client_dispatch;
    attach = b->reg[NMR_SIDE_PROVIDER]->chars.provider->ProviderAttachClient;
    provider_context = b->reg[NMR_SIDE_PROVIDER]->context;
    client_instance = b->reg[NMR_SIDE_CLIENT]->instance;
    nmr_unlock();

    /* b stays allocated: it is Attaching and its attach callback, on this thread, has not
     * returned, so only this thread can end it. */
    status = attach(handle, provider_context, client_instance, client_binding_context, client_dispatch, &pbc, &pd);
    if (!NT_SUCCESS(status))
        return status;

    nmr_lock();
    b->provider_accepted = true;
    b->context[NMR_SIDE_PROVIDER] = pbc;
    b->dispatch[NMR_SIDE_PROVIDER] = pd;
    nmr_unlock();
    *provider_binding_context = pbc;
    *provider_dispatch = pd;
    return status;
}

/* ---- Detach ---------------------------------------------------------------------------------- */

bool nmr_binding_deregister_locked(nmr_binding *b)
{
    switch ((nmr_binding_state)b->state) {
    case NMR_BINDING_ATTACHED:
        start_detach_locked(b, NMR_EV_DEREGISTER, true);
        return true;
    case NMR_BINDING_ATTACHING:
        /* An attach already running finishes first; the late-comer rule then detaches it. */
        if (!b->proposal_started)
            discard_locked(b, NMR_EV_DEREGISTERED_FIRST);
        return false;
    default:
        return false; /* Detaching already: the other module deregistered first. */
    }
}

static const char *const detach_api[2] = { "ClientDetachProvider", "ProviderDetachClient" };
static const char *const complete_api[2] = { "NmrClientDetachProviderComplete", "NmrProviderDetachClientComplete" };

/* Records what side s's detach callback returned. Returns true if that finished the binding
 * (the caller runs the cleanup); otherwise b may already be freed when this returns. */
static bool record_return(nmr_binding *b, int s, NTSTATUS returned)
{
    bool bad = returned != STATUS_SUCCESS && returned != STATUS_PENDING;
    bool completed_then_success, finished;
    HANDLE handle;
    nmr_side *side;

    nmr_lock();
    side = &b->side[s];
    side->returned = true;
    side->status = bad ? STATUS_SUCCESS : returned;
    completed_then_success = !bad && side->completed && side->status == STATUS_SUCCESS;
    side->done = side->status == STATUS_SUCCESS || side->completed;
    handle = nmr_handle(&b->entry);
    finished = finish_locked(b);
    nmr_unlock();

    if (bad)
        pk_verifier_stop(detach_api[s], "returned %s for binding %p; only STATUS_SUCCESS or STATUS_PENDING "
                         "is allowed (counted as STATUS_SUCCESS)", PnpkitStatusName(returned), handle);
    if (completed_then_success)
        pk_verifier_stop(complete_api[s], "called for binding %p, whose %s then returned STATUS_SUCCESS",
                         handle, detach_api[s]);
    return finished;
}

void nmr_binding_run_detach(nmr_binding *b)
{
    PNPI_CLIENT_DETACH_PROVIDER_FN client_detach;
    PNPI_PROVIDER_DETACH_CLIENT_FN provider_detach;
    void *client_context, *provider_context;
    bool client_involved;

    nmr_lock();
    PK_ALWAYS(b->state == NMR_BINDING_DETACHING);
    client_involved = b->side[NMR_SIDE_CLIENT].involved;
    b->side[NMR_SIDE_CLIENT].called = client_involved;
    b->side[NMR_SIDE_PROVIDER].called = true;
    client_detach = b->reg[NMR_SIDE_CLIENT]->chars.client->ClientDetachProvider;
    provider_detach = b->reg[NMR_SIDE_PROVIDER]->chars.provider->ProviderDetachClient;
    client_context = b->context[NMR_SIDE_CLIENT];
    provider_context = b->context[NMR_SIDE_PROVIDER];
    nmr_unlock();

    /* The client first, although the contract does not promise an order. The provider side is
     * not done before its callback returns, so b outlives the client's callback. */
    if (client_involved && record_return(b, NMR_SIDE_CLIENT, client_detach(client_context))) {
        run_cleanup(b);
        return;
    }
    if (record_return(b, NMR_SIDE_PROVIDER, provider_detach(provider_context)))
        run_cleanup(b);
}

void nmr_binding_detach_complete(HANDLE handle, int s, const char *api)
{
    const char *misuse = NULL;
    bool finished = false;
    nmr_binding *b;
    nmr_side *side;

    nmr_lock();
    b = (nmr_binding *)nmr_table_lookup_locked(handle, NMR_KIND_BINDING);
    if (!b)
        misuse = "unknown binding handle (never valid, or already cleaned up)";
    else if (b->state != NMR_BINDING_DETACHING)
        misuse = "the binding is not detaching";
    else if (!b->side[s].involved)
        misuse = "this side of the binding takes no part in its detach";
    else if (b->side[s].completed)
        misuse = "a second completion for the same side";
    else if (b->side[s].returned && b->side[s].status == STATUS_SUCCESS)
        misuse = "the side's detach callback returned STATUS_SUCCESS, not STATUS_PENDING";
    if (!misuse) {
        side = &b->side[s];
        side->completed = true;
        /* A completion that arrives before the callback returned is kept; the side is done
         * when the callback returns STATUS_PENDING. */
        if (side->returned) {
            side->done = true;
            finished = finish_locked(b);
        }
    }
    nmr_unlock();

    if (misuse) {
        pk_verifier_stop(api, "binding %p: %s; ignored", handle, misuse);
        return;
    }
    if (finished)
        run_cleanup(b);
}
