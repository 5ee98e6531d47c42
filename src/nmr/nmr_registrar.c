/*
 * nmr_registrar.c — the registrar itself: its lock, its handle table, the registrations of
 * client and provider modules, matching, the proposals a registration triggers, deregistration
 * and the waits that end it.
 *
 * Locking: nmr_registrar.lock protects everything in nmr_registrar, every registration's
 * fields after the registration became visible, and every binding's state (nmr_internal.h). It
 * is released before any module callback runs: a registration decides its proposals under the
 * lock, then runs them after unlocking, one at a time.
 *
 * Who frees what: a registration is allocated by NmrRegister* and freed by the
 * NmrWaitFor*DeregisterComplete that follows its deregistration, once its `done` event is set
 * (deregistering, and no binding left). Bindings belong to nmr_binding.c. The table's bucket
 * array starts as a static array; a grown array replaces it and stays for the life of the
 * process.
 */
#include "nmr/nmr_internal.h"

#define NMR_INITIAL_BUCKETS 64

static nmr_entry *initial_buckets[NMR_INITIAL_BUCKETS];

nmr_registrar_state nmr_registrar = {
    .lock = PK_LOCK_INIT,
    .modules = {
        { &nmr_registrar.modules[0], &nmr_registrar.modules[0] },
        { &nmr_registrar.modules[1], &nmr_registrar.modules[1] },
    },
    .next_id = 0,
    .buckets = initial_buckets,
    .bucket_mask = NMR_INITIAL_BUCKETS - 1,
    .entry_count = 0,
};

static const char *const kind_name[] = { "client", "provider", "binding" };

void nmr_lock(void) { pk_lock_acquire(&nmr_registrar.lock); }

void nmr_unlock(void) { pk_lock_release(&nmr_registrar.lock); }

/* ---- The handle table ------------------------------------------------------------------------
 * Ids are consecutive, so `id & mask` spreads them evenly without hashing. */

static void table_grow_locked(void)
{
    size_t old_count = nmr_registrar.bucket_mask + 1;
    size_t new_count = old_count * 2;
    nmr_entry **old = nmr_registrar.buckets;
    nmr_entry **grown = pk_zalloc(new_count * sizeof(*grown));

    if (!grown)
        return; /* Longer chains, still correct. */
    for (size_t i = 0; i < old_count; i++) {
        nmr_entry *e = old[i];
        while (e) {
            nmr_entry *next = e->hash_next;
            size_t slot = (size_t)e->id & (new_count - 1);
            e->hash_next = grown[slot];
            grown[slot] = e;
            e = next;
        }
    }
    nmr_registrar.buckets = grown;
    nmr_registrar.bucket_mask = new_count - 1;
    if (old != initial_buckets)
        pk_free(old);
}

void nmr_table_insert_locked(nmr_entry *e)
{
    size_t slot;

    e->id = ++nmr_registrar.next_id;
    slot = (size_t)e->id & nmr_registrar.bucket_mask;
    e->hash_next = nmr_registrar.buckets[slot];
    nmr_registrar.buckets[slot] = e;
    if (++nmr_registrar.entry_count > 2 * (nmr_registrar.bucket_mask + 1))
        table_grow_locked();
}

void nmr_table_remove_locked(nmr_entry *e)
{
    nmr_entry **link = &nmr_registrar.buckets[(size_t)e->id & nmr_registrar.bucket_mask];

    while (*link && *link != e)
        link = &(*link)->hash_next;
    if (PK_NEVER(*link == NULL))
        return;
    *link = e->hash_next;
    e->hash_next = NULL;
    nmr_registrar.entry_count--;
}

nmr_entry *nmr_table_lookup_locked(HANDLE handle, nmr_kind kind)
{
    uint64_t value = (uint64_t)(uintptr_t)handle;
    uint64_t id = value & NMR_HANDLE_ID_MASK;
    nmr_entry *e;

    if ((value & ~NMR_HANDLE_ID_MASK) != NMR_HANDLE_TAG || id == 0)
        return NULL;
    for (e = nmr_registrar.buckets[(size_t)id & nmr_registrar.bucket_mask]; e; e = e->hash_next) {
        if (e->id == id)
            return e->kind == kind ? e : NULL;
    }
    return NULL;
}

/* ---- Registrations ------------------------------------------------------------------------- */

void nmr_registration_check_done_locked(nmr_registration *r)
{
    if (!r->deregistering || r->done_signalled || r->binding_count != 0 || r->attaches_in_flight != 0)
        return;
    r->done_signalled = true;
    /* Set under the lock: the waiter frees r only after it has taken the lock again, so r is
     * still allocated for the whole of KeSetEvent. */
    KeSetEvent(&r->done, IO_NO_INCREMENT, FALSE);
}

static const NPI_REGISTRATION_INSTANCE *instance_of(nmr_kind kind, const void *characteristics)
{
    if (kind == NMR_KIND_CLIENT)
        return &((const NPI_CLIENT_CHARACTERISTICS *)characteristics)->ClientRegistrationInstance;
    return &((const NPI_PROVIDER_CHARACTERISTICS *)characteristics)->ProviderRegistrationInstance;
}

/* Frees a chain of bindings allocated for a registration that could not complete. */
static void free_binding_chain(nmr_binding *chain)
{
    while (chain) {
        nmr_binding *next = chain->proposal_next;
        pk_free(chain);
        chain = next;
    }
}

NTSTATUS nmr_register(nmr_kind kind, const void *characteristics, void *context, HANDLE *handle_out)
{
    nmr_kind other = kind == NMR_KIND_CLIENT ? NMR_KIND_PROVIDER : NMR_KIND_CLIENT;
    nmr_binding *proposals = NULL, **tail = &proposals;
    nmr_registration *r;
    uint32_t count = 0;
    LIST_ENTRY *le;

    r = pk_zalloc(sizeof(*r));
    if (!r)
        return STATUS_INSUFFICIENT_RESOURCES;
    r->entry.kind = kind;
    r->instance = instance_of(kind, characteristics);
    r->npi_id = r->instance->NpiId;
    if (kind == NMR_KIND_CLIENT)
        r->chars.client = characteristics;
    else
        r->chars.provider = characteristics;
    r->context = context;
    InitializeListHead(&r->bindings);
    KeInitializeEvent(&r->done, NotificationEvent, FALSE);

    nmr_lock();
    /* Allocate one binding per matching counterpart before anything becomes visible, so that
     * running out of memory leaves nothing registered. Counterparts that deregistered are no
     * longer on the list. The list is in registration order, which is the proposal order. */
    for (le = nmr_registrar.modules[other].Flink; le != &nmr_registrar.modules[other]; le = le->Flink) {
        nmr_registration *q = CONTAINING_RECORD(le, nmr_registration, link);
        nmr_binding *b;

        if (!IsEqualGUID(q->npi_id, r->npi_id))
            continue;
        b = pk_zalloc(sizeof(*b));
        if (!b)
            goto free_bindings;
        *tail = b;
        tail = &b->proposal_next;
        count++;
    }

    /* Publish: the registration, its handle (before any attach callback can run, in this
     * thread or another), then its bindings. */
    nmr_table_insert_locked(&r->entry);
    InsertTailList(&nmr_registrar.modules[kind], &r->link);
    *handle_out = nmr_handle(&r->entry);
    {
        nmr_binding *b = proposals;
        for (le = nmr_registrar.modules[other].Flink; b && le != &nmr_registrar.modules[other]; le = le->Flink) {
            nmr_registration *q = CONTAINING_RECORD(le, nmr_registration, link);
            if (!IsEqualGUID(q->npi_id, r->npi_id))
                continue;
            if (kind == NMR_KIND_CLIENT)
                nmr_binding_link_locked(b, r, q);
            else
                nmr_binding_link_locked(b, q, r);
            b = b->proposal_next;
        }
    }
    pk_live_add(1);
    PK_TRACE(PnpkitTraceInfo, "nmr", "registered %s %p, %u proposal(s)", kind_name[kind], *handle_out, count);
    nmr_unlock();

    /* Propose, one at a time, in this thread. Each proposal may free its binding. */
    while (proposals) {
        nmr_binding *b = proposals;
        proposals = b->proposal_next;
        nmr_binding_propose(b);
    }
    return STATUS_SUCCESS;

free_bindings:
    nmr_unlock();
    free_binding_chain(proposals);
    pk_free(r);
    PK_TRACE(PnpkitTraceWarning, "nmr", "registering a %s: out of memory", kind_name[kind]);
    return STATUS_INSUFFICIENT_RESOURCES;
}

NTSTATUS nmr_deregister(nmr_kind kind, HANDLE handle)
{
    nmr_binding *detaches = NULL, **tail = &detaches;
    nmr_registration *r;
    nmr_entry *e;
    LIST_ENTRY *le, *next;

    nmr_lock();
    e = nmr_table_lookup_locked(handle, kind);
    r = (nmr_registration *)e;
    if (!r || r->deregistering) {
        nmr_unlock();
        PK_TRACE(PnpkitTraceWarning, "nmr", "deregistering %s %p: %s", kind_name[kind], handle,
                 r ? "already deregistering" : "unknown handle");
        return STATUS_INVALID_PARAMETER;
    }
    r->deregistering = true;
    /* Off the matching list: from now on no registration proposes anything to it. */
    RemoveEntryList(&r->link);
    InitializeListHead(&r->link);
    for (le = r->bindings.Flink; le != &r->bindings; le = next) {
        nmr_binding *b = CONTAINING_RECORD(le, nmr_binding, link[kind]);
        next = le->Flink; /* b may be unlinked (discarded) below */
        if (nmr_binding_deregister_locked(b)) {
            *tail = b;
            tail = &b->detach_next;
        }
    }
    *tail = NULL;
    nmr_registration_check_done_locked(r);
    PK_TRACE(PnpkitTraceInfo, "nmr", "deregistering %s %p: %u binding(s), %u attach(es) in flight",
             kind_name[kind], handle, r->binding_count, r->attaches_in_flight);
    nmr_unlock();

    /* Detach outside the lock, at the caller's IRQL. A binding may be freed by its detach. */
    while (detaches) {
        nmr_binding *b = detaches;
        detaches = b->detach_next;
        nmr_binding_run_detach(b);
    }
    return STATUS_PENDING;
}

NTSTATUS nmr_wait_for_deregister(nmr_kind kind, HANDLE handle)
{
    nmr_registration *r;

    nmr_lock();
    r = (nmr_registration *)nmr_table_lookup_locked(handle, kind);
    if (!r || !r->deregistering || r->waiting) {
        nmr_unlock();
        PK_TRACE(PnpkitTraceWarning, "nmr", "waiting for %s %p: %s", kind_name[kind], handle,
                 !r ? "unknown handle" : !r->deregistering ? "not deregistered" : "already waited on");
        return STATUS_INVALID_PARAMETER;
    }
    /* From here this thread owns r: no other wait will take it, and nothing else frees it. */
    r->waiting = true;
    nmr_unlock();

    KeWaitForSingleObject(&r->done, Executive, KernelMode, FALSE, NULL);

    nmr_lock();
    PK_ALWAYS(r->binding_count == 0 && r->attaches_in_flight == 0);
    nmr_table_remove_locked(&r->entry);
    nmr_unlock();
    PK_TRACE(PnpkitTraceInfo, "nmr", "%s %p deregistered", kind_name[kind], handle);
    pk_free(r);
    pk_live_add(-1);
    return STATUS_SUCCESS;
}
