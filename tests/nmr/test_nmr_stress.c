/*
 * test_nmr_stress.c — the registrar under concurrent churn.
 *
 * Four worker threads own four module slots each (two clients and two providers, all of one
 * NPI) and, 10,000 times in total, register a free slot or deregister a registered one and wait
 * for it. Modules decline some attaches; detach callbacks return STATUS_SUCCESS, or pend and are
 * completed by a completer thread (sometimes before the callback has returned, sometimes at
 * DISPATCH_LEVEL), or complete themselves before returning STATUS_PENDING. Some
 * deregistrations run at DISPATCH_LEVEL.
 *
 * Every binding context a module allocates stays on a list until the end, so the invariants can
 * be checked afterwards:
 *   - no hang: every wait returns (the main thread bounds the whole run);
 *   - no binding stranded: every wait returns and the live-object count comes back to zero;
 *   - cleanup exactly once per binding side, after exactly one detach, and one completion for
 *     each side that pended;
 *   - attach and detach counts balance: as many client sides as provider sides attached,
 *     detached and cleaned up, and the two sides of each binding point at each other;
 *   - no verifier finding.
 */
#include "pk_test.h"

#include <pnpkit/netioddk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INC(x) __atomic_add_fetch(&(x), 1, __ATOMIC_SEQ_CST)
#define GET(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)

#define WORKERS 4
#define SLOTS 4 /* per worker: even slots are clients, odd slots providers */
#define CYCLES 10000

/* {0C7E5A11-97B2-4D0E-8F43-2B61D9A0C3E4} */
DEFINE_GUID(NPI_STRESS_ID, 0x0c7e5a11, 0x97b2, 0x4d0e, 0x8f, 0x43, 0x2b, 0x61, 0xd9, 0xa0, 0xc3, 0xe4);

#define SCTX_MAGIC 0x53435458u

typedef struct smod smod;

typedef struct sctx {
    uint32_t magic;
    smod *self;
    HANDLE binding;
    struct sctx *peer;       /* the other side's context, as the registrar handed it over */
    bool client_side;
    bool attached;           /* this context belongs to a binding that exists(ed) */
    bool pended;             /* the detach callback returned STATUS_PENDING */
    int detach_calls;
    int cleanup_calls;
    int completions;
    int cleanup_detach_calls; /* detach_calls as seen by the cleanup */
    struct sctx *all_next;
} sctx;

struct smod {
    bool client;
    GUID npi;
    NPI_MODULEID id;
    NPI_CLIENT_CHARACTERISTICS cc;
    NPI_PROVIDER_CHARACTERISTICS pc;
    HANDLE handle;
    bool registered;
};

static struct {
    sctx *all;                        /* every context, pushed atomically */
    int client_attached, provider_attached;
    int detaches, cleanups, completions, declines;
    int registrations;                /* cycles started */
    int workers_done;
    KEVENT all_done;
} stats;

/* ---- The completer thread ---- */

typedef struct completion {
    sctx *ctx;
    struct completion *next;
} completion;

static struct {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    completion *head, *tail;
    bool stop;
} queue = { .mutex = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static __thread uint32_t rng;

static uint32_t rnd(uint32_t n) { return pk_test_rand(&rng) % n; }

static void complete_side(sctx *c)
{
    INC(c->completions);
    INC(stats.completions);
    if (c->client_side)
        NmrClientDetachProviderComplete(c->binding);
    else
        NmrProviderDetachClientComplete(c->binding);
}

static void queue_completion(sctx *c)
{
    completion *q = malloc(sizeof(*q));
    q->ctx = c;
    q->next = NULL;
    pthread_mutex_lock(&queue.mutex);
    if (queue.tail)
        queue.tail->next = q;
    else
        queue.head = q;
    queue.tail = q;
    pthread_cond_signal(&queue.cond);
    pthread_mutex_unlock(&queue.mutex);
}

static void *completer(void *arg)
{
    rng = 0x9e3779b9u;
    for (;;) {
        completion *q;
        KIRQL old;
        pthread_mutex_lock(&queue.mutex);
        while (!queue.head && !queue.stop)
            pthread_cond_wait(&queue.cond, &queue.mutex);
        q = queue.head;
        if (q) {
            queue.head = q->next;
            if (!queue.head)
                queue.tail = NULL;
        }
        pthread_mutex_unlock(&queue.mutex);
        if (!q)
            return NULL; /* stopped and drained */
        /* Half the completions at DISPATCH_LEVEL: the cleanup then runs there too. */
        if (rnd(2)) {
            KeRaiseIrql(DISPATCH_LEVEL, &old);
            complete_side(q->ctx);
            KeLowerIrql(old);
        } else {
            complete_side(q->ctx);
        }
        free(q);
    }
}

/* ---- Callbacks ---- */

static sctx *sctx_new(smod *m, HANDLE binding, bool client_side)
{
    sctx *c = calloc(1, sizeof(*c));
    c->magic = SCTX_MAGIC;
    c->self = m;
    c->binding = binding;
    c->client_side = client_side;
    c->all_next = __atomic_load_n(&stats.all, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(&stats.all, &c->all_next, c, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
    }
    return c;
}

static NTSTATUS NTAPI s_client_attach(HANDLE binding, PVOID context, const NPI_REGISTRATION_INSTANCE *provider)
{
    smod *m = context;
    const void *dispatch = NULL;
    void *peer = NULL;
    sctx *c;
    NTSTATUS status;

    if (!IsEqualGUID(provider->NpiId, &m->npi))
        abort();
    if (rnd(10) == 0) {
        INC(stats.declines);
        return STATUS_NOINTERFACE;
    }
    c = sctx_new(m, binding, true);
    status = NmrClientAttachProvider(binding, c, &m->cc, &peer, &dispatch);
    if (NT_SUCCESS(status)) {
        c->peer = peer;
        c->attached = true;
        INC(stats.client_attached);
    }
    /* After a failure the context stays on the list (unattached) and is freed at the end. */
    return status;
}

static NTSTATUS NTAPI s_provider_attach(HANDLE binding, PVOID context, const NPI_REGISTRATION_INSTANCE *client,
                                        PVOID client_binding_context, const VOID *client_dispatch,
                                        PVOID *provider_binding_context, const VOID **provider_dispatch)
{
    smod *m = context;
    sctx *c;

    if (rnd(10) == 0) {
        INC(stats.declines);
        return STATUS_NOINTERFACE;
    }
    c = sctx_new(m, binding, false);
    c->peer = client_binding_context;
    c->attached = true;
    INC(stats.provider_attached);
    *provider_binding_context = c;
    *provider_dispatch = &m->pc;
    return STATUS_SUCCESS;
}

static NTSTATUS s_detach(sctx *c)
{
    if (c->magic != SCTX_MAGIC)
        abort();
    INC(c->detach_calls);
    INC(stats.detaches);
    switch (rnd(4)) {
    case 0:
        return STATUS_SUCCESS;
    case 1:
        /* Complete before returning STATUS_PENDING, from the callback itself. */
        c->pended = true;
        complete_side(c);
        return STATUS_PENDING;
    default:
        /* Completed by the completer thread, possibly before this returns. */
        c->pended = true;
        queue_completion(c);
        return STATUS_PENDING;
    }
}

static NTSTATUS NTAPI s_client_detach(PVOID binding_context) { return s_detach(binding_context); }
static NTSTATUS NTAPI s_provider_detach(PVOID binding_context) { return s_detach(binding_context); }

static void s_cleanup(sctx *c)
{
    if (c->magic != SCTX_MAGIC)
        abort();
    c->cleanup_detach_calls = GET(c->detach_calls);
    INC(c->cleanup_calls);
    INC(stats.cleanups);
}

static VOID NTAPI s_client_cleanup(PVOID binding_context) { s_cleanup(binding_context); }
static VOID NTAPI s_provider_cleanup(PVOID binding_context) { s_cleanup(binding_context); }

/* ---- Workers ---- */

static smod slots[WORKERS][SLOTS];

static void smod_init(smod *m, bool client)
{
    memset(m, 0, sizeof(*m));
    m->client = client;
    m->npi = NPI_STRESS_ID;
    m->id.Length = sizeof(m->id);
    m->id.Type = MIT_GUID;
    m->id.Guid.Data1 = (ULONG)(uintptr_t)m;
    if (client) {
        m->cc.Length = sizeof(m->cc);
        m->cc.ClientAttachProvider = s_client_attach;
        m->cc.ClientDetachProvider = s_client_detach;
        m->cc.ClientCleanupBindingContext = s_client_cleanup;
        m->cc.ClientRegistrationInstance.Size = sizeof(NPI_REGISTRATION_INSTANCE);
        m->cc.ClientRegistrationInstance.NpiId = &m->npi;
        m->cc.ClientRegistrationInstance.ModuleId = &m->id;
    } else {
        m->pc.Length = sizeof(m->pc);
        m->pc.ProviderAttachClient = s_provider_attach;
        m->pc.ProviderDetachClient = s_provider_detach;
        m->pc.ProviderCleanupBindingContext = s_provider_cleanup;
        m->pc.ProviderRegistrationInstance.Size = sizeof(NPI_REGISTRATION_INSTANCE);
        m->pc.ProviderRegistrationInstance.NpiId = &m->npi;
        m->pc.ProviderRegistrationInstance.ModuleId = &m->id;
    }
}

static int failures;

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "stress invariant broken: %s\n", what);
        INC(failures);
    }
}

static void unregister_slot(smod *m)
{
    KIRQL old = PASSIVE_LEVEL;
    bool raise = rnd(4) == 0;
    NTSTATUS status;

    if (raise)
        KeRaiseIrql(DISPATCH_LEVEL, &old);
    status = m->client ? NmrDeregisterClient(m->handle) : NmrDeregisterProvider(m->handle);
    if (raise)
        KeLowerIrql(old);
    check(status == STATUS_PENDING, "deregistration returns STATUS_PENDING");
    status = m->client ? NmrWaitForClientDeregisterComplete(m->handle) : NmrWaitForProviderDeregisterComplete(m->handle);
    check(status == STATUS_SUCCESS, "wait returns STATUS_SUCCESS");
    m->registered = false;
}

static void *worker(void *arg)
{
    smod *mine = arg;
    int index = (int)(mine - &slots[0][0]) / SLOTS;

    rng = 0x1234567u * (uint32_t)(index + 1);
    while (INC(stats.registrations) <= CYCLES) {
        /* A random slot of this worker: deregister it (and wait) if it is registered, then
         * register it again. */
        smod *m = &mine[rnd(SLOTS)];
        if (m->registered)
            unregister_slot(m);
        check((m->client ? NmrRegisterClient(&m->cc, m, &m->handle) : NmrRegisterProvider(&m->pc, m, &m->handle)) ==
                  STATUS_SUCCESS,
              "registration returns STATUS_SUCCESS");
        m->registered = true;
    }
    for (int s = 0; s < SLOTS; s++) {
        if (mine[s].registered)
            unregister_slot(&mine[s]);
    }
    if (INC(stats.workers_done) == WORKERS)
        KeSetEvent(&stats.all_done, IO_NO_INCREMENT, FALSE);
    return NULL;
}

static void register_deregister_storm_with_pending_detaches(void **state)
{
    pk_test_threads workers[WORKERS], completers;
    LARGE_INTEGER bound = pk_test_timeout_ms(110 * 1000);
    int client_sides = 0, provider_sides = 0, unattached = 0;
    uint64_t start = pk_test_now_ms();

    pk_test_capture_verifier();
    KeInitializeEvent(&stats.all_done, NotificationEvent, FALSE);
    for (int w = 0; w < WORKERS; w++)
        for (int s = 0; s < SLOTS; s++)
            smod_init(&slots[w][s], s % 2 == 0);
    pk_test_threads_start(&completers, 1, completer, NULL);
    for (int w = 0; w < WORKERS; w++)
        pk_test_threads_start(&workers[w], 1, worker, slots[w]);

    /* No hang: the whole storm must end within the bound (far above its normal length). */
    if (KeWaitForSingleObject(&stats.all_done, Executive, KernelMode, FALSE, &bound) != STATUS_SUCCESS) {
        fprintf(stderr, "stress: hang; %d registrations, %d detaches, %d cleanups, %d completions\n",
                GET(stats.registrations), GET(stats.detaches), GET(stats.cleanups), GET(stats.completions));
        fail_msg("the storm did not finish");
    }
    for (int w = 0; w < WORKERS; w++)
        pk_test_threads_join(&workers[w]);
    pthread_mutex_lock(&queue.mutex);
    queue.stop = true;
    pthread_cond_broadcast(&queue.cond);
    pthread_mutex_unlock(&queue.mutex);
    pk_test_threads_join(&completers);

    assert_int_equal(GET(failures), 0);
    assert_int_equal(PnpkitLiveObjectCount(), 0);
    assert_int_equal(pk_test_verifier_stops(), 0);
    assert_int_equal(pk_test_verifier_reports(), 0);

    for (sctx *c = stats.all; c; c = c->all_next) {
        if (c->attached) {
            if (c->client_side)
                client_sides++;
            else
                provider_sides++;
            assert_int_equal(c->detach_calls, 1);
            assert_int_equal(c->cleanup_calls, 1);
            assert_int_equal(c->cleanup_detach_calls, 1);
            assert_int_equal(c->completions, c->pended ? 1 : 0);
            assert_non_null(c->peer);
            assert_ptr_equal(c->peer->peer, c);
            assert_ptr_equal(c->peer->binding, c->binding);
        } else {
            unattached++;
            assert_int_equal(c->detach_calls + c->cleanup_calls + c->completions, 0);
        }
    }
    for (sctx *c = stats.all, *next; c; c = next) {
        next = c->all_next;
        c->magic = 0;
        free(c);
    }
    assert_int_equal(client_sides, GET(stats.client_attached));
    assert_int_equal(provider_sides, GET(stats.provider_attached));
    assert_int_equal(client_sides, provider_sides);
    assert_int_equal(GET(stats.detaches), client_sides + provider_sides);
    assert_int_equal(GET(stats.cleanups), client_sides + provider_sides);
    assert_true(client_sides > 1000);
    print_message("stress: %d registrations, %d bindings, %d declines, %d completions, %d failed attaches, %llu ms\n",
                  CYCLES, client_sides, GET(stats.declines), GET(stats.completions), unattached,
                  (unsigned long long)(pk_test_now_ms() - start));
}

PK_TEST_MAIN(
    PK_TEST(register_deregister_storm_with_pending_detaches)
)
