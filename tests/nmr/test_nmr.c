/*
 * test_nmr.c — the NMR contract, one test per numbered behaviour N1..N38 of spec/nmr.md (the
 * number is in the comment above each test), plus the verifier and argument checks.
 *
 * The scripted client and provider modules come first.
 * A tmod is one registration (client or provider) whose callbacks count what happens, log it in
 * a global event log, and behave as the test configured (decline, fail, pend, call hooks). Each
 * binding gets a tbind context allocated in the attach callback and freed in the cleanup
 * callback (or by the client itself after a failed attach). Counters are atomic because
 * callbacks may run on other threads; cmocka assertions stay on the test's main thread.
 */

#include "pk_test.h"
#include "nmr/nmr_internal.h" /* only to check that the registrar lock is free inside callbacks */

#include <pnpkit/netioddk.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>

#define PK_UNUSED_FN __attribute__((unused))

#define INC(x) __atomic_add_fetch(&(x), 1, __ATOMIC_SEQ_CST)
#define GET(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define SET(x, v) __atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)

/* {6A0B9D52-3C1E-4F6B-9E2A-0D5C7B8A1F01}: the NPI most tests use. */
DEFINE_GUID(NPI_TEST_ID, 0x6a0b9d52, 0x3c1e, 0x4f6b, 0x9e, 0x2a, 0x0d, 0x5c, 0x7b, 0x8a, 0x1f, 0x01);
/* {6A0B9D52-3C1E-4F6B-9E2A-0D5C7B8A1F02}: another NPI. */
DEFINE_GUID(NPI_OTHER_ID, 0x6a0b9d52, 0x3c1e, 0x4f6b, 0x9e, 0x2a, 0x0d, 0x5c, 0x7b, 0x8a, 0x1f, 0x02);

#define TBIND_MAGIC 0x54424e44u /* "TBND" */
#define TBIND_DEAD 0xdeadbeefu

typedef struct tmod tmod;

typedef struct tbind {
    uint32_t magic;
    tmod *self;
    HANDLE binding;
    void *peer_context;
    const void *peer_dispatch;
    int detach_calls;
    int cleanup_calls;
} tbind;

typedef struct test_dispatch {
    int marker;
} test_dispatch;

static const test_dispatch client_dispatch_table = { 1 };
static const test_dispatch provider_dispatch_table = { 2 };

struct tmod {
    const char *name;
    bool is_client;
    GUID npi;                    /* each module has its own copy: NpiIds match by value */
    NPI_MODULEID module_id;
    NPI_CLIENT_CHARACTERISTICS cc;
    NPI_PROVIDER_CHARACTERISTICS pc;
    HANDLE handle;

    /* Behaviour. */
    NTSTATUS attach_status;      /* client: non-success declines without attaching; provider: returned */
    NTSTATUS detach_status;      /* what the detach callback returns */
    bool attach_twice;           /* client: calls NmrClientAttachProvider a second time */
    bool fail_after_attach;      /* client: returns a failure after NmrClientAttachProvider succeeded */
    bool success_without_attach; /* client: returns STATUS_SUCCESS without attaching */
    bool free_in_detach;         /* frees the binding context in detach (for NULL cleanup callbacks) */
    void (*on_attach)(tmod *m, HANDLE binding);
    void (*on_detach)(tmod *m, tbind *b);
    void (*on_cleanup)(tmod *m, tbind *b);
    void *user;

    /* Observations. */
    int attach_calls, attached, detach_calls, cleanup_calls;
    HANDLE last_binding;
    HANDLE handle_seen_in_attach;
    const NPI_REGISTRATION_INSTANCE *last_peer_instance;
    void *last_peer_context;     /* provider: the client binding context it received */
    const void *last_peer_dispatch;
    tbind *last_tb;
    NTSTATUS last_nmr_attach_status;
    NTSTATUS second_attach_status;
    KIRQL detach_irql;
    KIRQL cleanup_irql;
    HANDLE bindings_seen[64];
    int nbindings_seen;
};

/* ---- The event log ---- */

static struct {
    pthread_mutex_t mutex;
    char lines[512][64];
    int count;
} event_log = { .mutex = PTHREAD_MUTEX_INITIALIZER };

static void log_event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_event(const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&event_log.mutex);
    if (event_log.count < 512) {
        va_start(ap, fmt);
        vsnprintf(event_log.lines[event_log.count++], sizeof(event_log.lines[0]), fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&event_log.mutex);
}

/* Index of the first line equal to text, or -1. */
static PK_UNUSED_FN int log_find(const char *text)
{
    int found = -1;
    pthread_mutex_lock(&event_log.mutex);
    for (int i = 0; i < event_log.count && found < 0; i++) {
        if (strcmp(event_log.lines[i], text) == 0)
            found = i;
    }
    pthread_mutex_unlock(&event_log.mutex);
    return found;
}

/* ---- Threads spawned from callbacks; joined by join_spawned() on the main thread ---- */

static struct {
    pthread_mutex_t mutex;
    pthread_t ids[256];
    int count;
} spawned = { .mutex = PTHREAD_MUTEX_INITIALIZER };

static PK_UNUSED_FN void spawn(void *(*fn)(void *), void *arg)
{
    pthread_t id;
    if (pthread_create(&id, NULL, fn, arg) != 0)
        abort();
    pthread_mutex_lock(&spawned.mutex);
    if (spawned.count < 256)
        spawned.ids[spawned.count++] = id;
    else
        pthread_detach(id);
    pthread_mutex_unlock(&spawned.mutex);
}

static PK_UNUSED_FN void join_spawned(void)
{
    for (;;) {
        pthread_t id;
        pthread_mutex_lock(&spawned.mutex);
        if (spawned.count == 0) {
            pthread_mutex_unlock(&spawned.mutex);
            return;
        }
        id = spawned.ids[--spawned.count];
        pthread_mutex_unlock(&spawned.mutex);
        pthread_join(id, NULL);
    }
}

typedef struct complete_request {
    HANDLE binding;
    bool client_side;
} complete_request;

static PK_UNUSED_FN void *complete_thread(void *arg)
{
    complete_request *r = arg;
    log_event("complete.%s", r->client_side ? "client" : "provider");
    if (r->client_side)
        NmrClientDetachProviderComplete(r->binding);
    else
        NmrProviderDetachClientComplete(r->binding);
    free(r);
    return NULL;
}

/* Completes one side of binding from a new thread; returns that thread (joined by the caller
 * or by join_spawned). */
static PK_UNUSED_FN pthread_t complete_from_thread(HANDLE binding, bool client_side, bool track)
{
    complete_request *r = malloc(sizeof(*r));
    pthread_t id;
    r->binding = binding;
    r->client_side = client_side;
    if (track) {
        spawn(complete_thread, r);
        return 0;
    }
    if (pthread_create(&id, NULL, complete_thread, r) != 0)
        abort();
    return id;
}

/* ---- Callbacks ---- */

/* N36: when set, every callback checks that the registrar lock is free. Only meaningful while
 * no other thread uses the registrar. */
static int check_lock_free;
static int lock_held_in_callback;

static void check_lock(void)
{
    if (GET(check_lock_free) && pk_lock_is_held(&nmr_registrar.lock))
        INC(lock_held_in_callback);
}

static tbind *tbind_new(tmod *m, HANDLE binding)
{
    tbind *b = calloc(1, sizeof(*b));
    b->magic = TBIND_MAGIC;
    b->self = m;
    b->binding = binding;
    return b;
}

static void tbind_free(tbind *b)
{
    b->magic = TBIND_DEAD;
    free(b);
}

static void note_binding(tmod *m, HANDLE binding)
{
    pthread_mutex_lock(&event_log.mutex);
    if (m->nbindings_seen < 64)
        m->bindings_seen[m->nbindings_seen++] = binding;
    pthread_mutex_unlock(&event_log.mutex);
}

static NTSTATUS NTAPI t_client_attach(HANDLE binding, PVOID context, const NPI_REGISTRATION_INSTANCE *provider)
{
    tmod *m = context;
    tbind *b;
    NTSTATUS status;

    check_lock();
    INC(m->attach_calls);
    SET(m->last_binding, binding);
    SET(m->handle_seen_in_attach, m->handle);
    m->last_peer_instance = provider;
    note_binding(m, binding);
    log_event("%s.attach", m->name);
    if (m->on_attach)
        m->on_attach(m, binding);
    if (m->success_without_attach)
        return STATUS_SUCCESS;
    if (!NT_SUCCESS(m->attach_status))
        return m->attach_status;
    b = tbind_new(m, binding);
    status = NmrClientAttachProvider(binding, b, &client_dispatch_table, &b->peer_context, &b->peer_dispatch);
    m->last_nmr_attach_status = status;
    if (!NT_SUCCESS(status)) {
        tbind_free(b); /* The client frees its own context after a failed attach. */
        return status;
    }
    if (m->attach_twice) {
        void *pc = NULL;
        const void *pd = NULL;
        m->second_attach_status = NmrClientAttachProvider(binding, b, &client_dispatch_table, &pc, &pd);
    }
    m->last_tb = b;
    if (m->fail_after_attach) {
        /* Misuse: the provider keeps b as its peer context, but the client says it is not
         * attached and will get no cleanup, so it must not free b yet; the test frees it. */
        return STATUS_UNSUCCESSFUL;
    }
    INC(m->attached);
    return status;
}

static NTSTATUS NTAPI t_provider_attach(HANDLE binding, PVOID context, const NPI_REGISTRATION_INSTANCE *client,
                                        PVOID client_binding_context, const VOID *client_dispatch,
                                        PVOID *provider_binding_context, const VOID **provider_dispatch)
{
    tmod *m = context;
    tbind *b;

    check_lock();
    INC(m->attach_calls);
    SET(m->last_binding, binding);
    SET(m->handle_seen_in_attach, m->handle);
    m->last_peer_instance = client;
    m->last_peer_context = client_binding_context;
    m->last_peer_dispatch = client_dispatch;
    note_binding(m, binding);
    log_event("%s.attach", m->name);
    if (m->on_attach)
        m->on_attach(m, binding);
    if (!NT_SUCCESS(m->attach_status))
        return m->attach_status;
    b = tbind_new(m, binding);
    b->peer_context = client_binding_context;
    b->peer_dispatch = client_dispatch;
    m->last_tb = b;
    INC(m->attached);
    *provider_binding_context = b;
    *provider_dispatch = &provider_dispatch_table;
    return STATUS_SUCCESS;
}

static NTSTATUS t_detach(PVOID binding_context)
{
    tbind *b = binding_context;
    tmod *m = b->self;
    NTSTATUS status = m->detach_status;

    if (b->magic != TBIND_MAGIC)
        abort();
    check_lock();
    INC(m->detach_calls);
    INC(b->detach_calls);
    m->detach_irql = KeGetCurrentIrql();
    log_event("%s.detach", m->name);
    if (m->on_detach)
        m->on_detach(m, b);
    if (m->free_in_detach)
        tbind_free(b);
    return status;
}

static NTSTATUS NTAPI t_client_detach(PVOID binding_context) { return t_detach(binding_context); }
static NTSTATUS NTAPI t_provider_detach(PVOID binding_context) { return t_detach(binding_context); }

static void t_cleanup(PVOID binding_context)
{
    tbind *b = binding_context;
    tmod *m = b->self;

    if (b->magic != TBIND_MAGIC)
        abort();
    check_lock();
    INC(m->cleanup_calls);
    INC(b->cleanup_calls);
    m->cleanup_irql = KeGetCurrentIrql();
    log_event("%s.cleanup", m->name);
    if (m->on_cleanup)
        m->on_cleanup(m, b);
    tbind_free(b);
}

static VOID NTAPI t_client_cleanup(PVOID binding_context) { t_cleanup(binding_context); }
static VOID NTAPI t_provider_cleanup(PVOID binding_context) { t_cleanup(binding_context); }

/* ---- Module set-up ---- */

static PK_UNUSED_FN void tmod_init(tmod *m, const char *name, bool is_client, const GUID *npi)
{
    memset(m, 0, sizeof(*m));
    m->name = name;
    m->is_client = is_client;
    m->npi = *npi;
    m->module_id.Length = sizeof(NPI_MODULEID);
    m->module_id.Type = MIT_GUID;
    m->module_id.Guid.Data1 = (ULONG)(uintptr_t)m;
    m->attach_status = STATUS_SUCCESS;
    m->detach_status = STATUS_SUCCESS;
    if (is_client) {
        m->cc.Version = 0;
        m->cc.Length = sizeof(m->cc);
        m->cc.ClientAttachProvider = t_client_attach;
        m->cc.ClientDetachProvider = t_client_detach;
        m->cc.ClientCleanupBindingContext = t_client_cleanup;
        m->cc.ClientRegistrationInstance.Size = sizeof(NPI_REGISTRATION_INSTANCE);
        m->cc.ClientRegistrationInstance.NpiId = &m->npi;
        m->cc.ClientRegistrationInstance.ModuleId = &m->module_id;
    } else {
        m->pc.Version = 0;
        m->pc.Length = sizeof(m->pc);
        m->pc.ProviderAttachClient = t_provider_attach;
        m->pc.ProviderDetachClient = t_provider_detach;
        m->pc.ProviderCleanupBindingContext = t_provider_cleanup;
        m->pc.ProviderRegistrationInstance.Size = sizeof(NPI_REGISTRATION_INSTANCE);
        m->pc.ProviderRegistrationInstance.NpiId = &m->npi;
        m->pc.ProviderRegistrationInstance.ModuleId = &m->module_id;
    }
}

static PK_UNUSED_FN NTSTATUS tmod_register(tmod *m)
{
    return m->is_client ? NmrRegisterClient(&m->cc, m, &m->handle) : NmrRegisterProvider(&m->pc, m, &m->handle);
}

static PK_UNUSED_FN NTSTATUS tmod_deregister(tmod *m)
{
    return m->is_client ? NmrDeregisterClient(m->handle) : NmrDeregisterProvider(m->handle);
}

static PK_UNUSED_FN NTSTATUS tmod_wait(tmod *m)
{
    return m->is_client ? NmrWaitForClientDeregisterComplete(m->handle)
                        : NmrWaitForProviderDeregisterComplete(m->handle);
}

static PK_UNUSED_FN const NPI_REGISTRATION_INSTANCE *tmod_instance(tmod *m)
{
    return m->is_client ? &m->cc.ClientRegistrationInstance : &m->pc.ProviderRegistrationInstance;
}


/* Deregisters m and waits for it, checking the documented statuses. */
static void tmod_unregister(tmod *m)
{
    assert_int_equal(tmod_deregister(m), STATUS_PENDING);
    assert_int_equal(tmod_wait(m), STATUS_SUCCESS);
}

static void register_ok(tmod *m) { assert_int_equal(tmod_register(m), STATUS_SUCCESS); }

/* =============================================================================================
 * Registration and matching
 * ============================================================================================= */

/* N1 */
static void client_registered_alone_gets_no_attach_and_pending_deregister(void **state)
{
    tmod c;
    uint64_t start;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    register_ok(&c);
    assert_non_null(c.handle);
    assert_int_equal(GET(c.attach_calls), 0);
    assert_int_equal(NmrDeregisterClient(c.handle), STATUS_PENDING);
    start = pk_test_now_ms();
    assert_int_equal(NmrWaitForClientDeregisterComplete(c.handle), STATUS_SUCCESS);
    assert_true(pk_test_now_ms() - start < 1000);
    assert_int_equal(GET(c.detach_calls), 0);
    assert_int_equal(GET(c.cleanup_calls), 0);
}

/* N2 */
static void provider_registered_alone_gets_no_attach_and_pending_deregister(void **state)
{
    tmod p;
    uint64_t start;

    tmod_init(&p, "P", false, &NPI_TEST_ID);
    register_ok(&p);
    assert_non_null(p.handle);
    assert_int_equal(GET(p.attach_calls), 0);
    assert_int_equal(NmrDeregisterProvider(p.handle), STATUS_PENDING);
    start = pk_test_now_ms();
    assert_int_equal(NmrWaitForProviderDeregisterComplete(p.handle), STATUS_SUCCESS);
    assert_true(pk_test_now_ms() - start < 1000);
    assert_int_equal(GET(p.detach_calls), 0);
}

/* N3 */
static void client_registration_attaches_to_registered_provider_before_returning(void **state)
{
    tmod c, p;

    tmod_init(&p, "P", false, &NPI_TEST_ID);
    tmod_init(&c, "C", true, &NPI_TEST_ID);
    register_ok(&p);
    register_ok(&c);
    /* Both attach callbacks ran inside NmrRegisterClient, the provider's inside the client's. */
    assert_int_equal(GET(c.attach_calls), 1);
    assert_int_equal(GET(p.attach_calls), 1);
    assert_true(log_find("C.attach") >= 0 && log_find("C.attach") < log_find("P.attach"));
    assert_ptr_equal(c.last_peer_instance, &p.pc.ProviderRegistrationInstance);
    assert_ptr_equal(p.last_peer_instance, &c.cc.ClientRegistrationInstance);
    assert_non_null(c.last_tb);
    assert_ptr_equal(p.last_peer_context, c.last_tb);
    assert_ptr_equal(p.last_peer_dispatch, &client_dispatch_table);
    assert_int_equal(c.last_nmr_attach_status, STATUS_SUCCESS);
    /* The client received the provider's context and dispatch table. */
    assert_ptr_equal(c.last_tb->peer_context, p.last_tb);
    assert_ptr_equal(c.last_tb->peer_dispatch, &provider_dispatch_table);
    tmod_unregister(&c);
    tmod_unregister(&p);
}

/* N4 */
static void provider_registration_attaches_to_registered_client_before_returning(void **state)
{
    tmod c, p;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    register_ok(&c);
    assert_int_equal(GET(c.attach_calls), 0);
    register_ok(&p);
    assert_int_equal(GET(c.attach_calls), 1);
    assert_int_equal(GET(p.attach_calls), 1);
    assert_true(log_find("C.attach") >= 0 && log_find("C.attach") < log_find("P.attach"));
    assert_ptr_equal(c.last_peer_instance, &p.pc.ProviderRegistrationInstance);
    assert_ptr_equal(p.last_peer_instance, &c.cc.ClientRegistrationInstance);
    assert_ptr_equal(p.last_peer_context, c.last_tb);
    assert_ptr_equal(p.last_peer_dispatch, &client_dispatch_table);
    assert_ptr_equal(c.last_tb->peer_context, p.last_tb);
    tmod_unregister(&p);
    tmod_unregister(&c);
}

/* N5 */
static void binding_handle_is_the_same_for_client_and_provider(void **state)
{
    tmod c, p;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    register_ok(&c);
    register_ok(&p);
    assert_non_null(c.last_binding);
    assert_ptr_equal(c.last_binding, p.last_binding);
    assert_ptr_not_equal(c.last_binding, c.handle);
    assert_ptr_not_equal(c.last_binding, p.handle);
    tmod_unregister(&c);
    tmod_unregister(&p);
}

/* N6 */
static void npi_ids_match_by_guid_value_not_address(void **state)
{
    tmod c, p_other, p_same;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p_other, "Pother", false, &NPI_OTHER_ID);
    tmod_init(&p_same, "Psame", false, &NPI_TEST_ID);
    register_ok(&c);
    register_ok(&p_other);
    assert_int_equal(GET(c.attach_calls), 0);
    assert_int_equal(GET(p_other.attach_calls), 0);
    /* Equal GUID values at different addresses. */
    assert_ptr_not_equal(c.cc.ClientRegistrationInstance.NpiId, p_same.pc.ProviderRegistrationInstance.NpiId);
    register_ok(&p_same);
    assert_int_equal(GET(c.attach_calls), 1);
    assert_int_equal(GET(p_same.attach_calls), 1);
    tmod_unregister(&p_other);
    tmod_unregister(&p_same);
    tmod_unregister(&c);
}

/* N7 */
static void registrar_filters_on_nothing_but_the_npi_id(void **state)
{
    tmod c, p1, p2;
    static const int specific = 42;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p1, "P1", false, &NPI_TEST_ID);
    tmod_init(&p2, "P2", false, &NPI_TEST_ID);
    c.cc.Version = 1;
    c.cc.ClientRegistrationInstance.Version = 1;
    p1.pc.Version = 1;
    p1.pc.ProviderRegistrationInstance.Version = 1;
    p1.pc.ProviderRegistrationInstance.Number = 7;
    p1.pc.ProviderRegistrationInstance.NpiSpecificCharacteristics = &specific;
    p2.module_id.Type = MIT_IF_LUID;
    p2.module_id.IfLuid.LowPart = 99;
    p2.pc.ProviderRegistrationInstance.Size = 3;
    p2.pc.ProviderRegistrationInstance.Number = 1234;
    p2.pc.Length = 1;
    register_ok(&p1);
    register_ok(&p2);
    register_ok(&c);
    assert_int_equal(GET(c.attach_calls), 2);
    assert_int_equal(GET(p1.attach_calls), 1);
    assert_int_equal(GET(p2.attach_calls), 1);
    /* Proposed in provider registration order. */
    assert_true(log_find("P1.attach") < log_find("P2.attach"));
    tmod_unregister(&c);
    tmod_unregister(&p1);
    tmod_unregister(&p2);
}

/* =============================================================================================
 * Attach outcomes
 * ============================================================================================= */

/* N8 */
static void client_decline_makes_no_provider_callback_and_no_binding(void **state)
{
    tmod c, p;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    c.attach_status = STATUS_NOINTERFACE;
    register_ok(&p);
    register_ok(&c);
    assert_int_equal(GET(c.attach_calls), 1);
    assert_int_equal(GET(p.attach_calls), 0);
    tmod_unregister(&p);
    tmod_unregister(&c);
    assert_int_equal(GET(c.detach_calls) + GET(p.detach_calls), 0);
    assert_int_equal(GET(c.cleanup_calls) + GET(p.cleanup_calls), 0);
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

/* N9 */
static void provider_decline_returns_nointerface_and_leaves_no_binding(void **state)
{
    tmod c, p;
    uint64_t start;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    p.attach_status = STATUS_NOINTERFACE;
    register_ok(&p);
    register_ok(&c);
    assert_int_equal(GET(p.attach_calls), 1);
    assert_int_equal(c.last_nmr_attach_status, STATUS_NOINTERFACE);
    assert_int_equal(PnpkitLiveObjectCount(), 2); /* the two registrations, no binding */
    start = pk_test_now_ms();
    tmod_unregister(&c);
    tmod_unregister(&p);
    assert_true(pk_test_now_ms() - start < 1000);
    assert_int_equal(GET(c.detach_calls) + GET(p.detach_calls), 0);
    assert_int_equal(GET(c.cleanup_calls) + GET(p.cleanup_calls), 0);
}

/* N10 */
static void provider_failure_status_is_returned_verbatim(void **state)
{
    tmod c, p;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    p.attach_status = STATUS_ACCESS_DENIED;
    register_ok(&c);
    register_ok(&p);
    assert_int_equal(c.last_nmr_attach_status, STATUS_ACCESS_DENIED);
    tmod_unregister(&c);
    tmod_unregister(&p);
    assert_int_equal(GET(c.cleanup_calls) + GET(p.cleanup_calls), 0);
}

/* N11 */
static void n_clients_and_m_providers_make_n_times_m_bindings(void **state)
{
    enum { N = 3, M = 4 };
    tmod c[N], p[M];
    char names[N + M][8];
    HANDLE all[N * M];
    int count = 0;

    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "C%d", i);
        tmod_init(&c[i], names[i], true, &NPI_TEST_ID);
    }
    for (int j = 0; j < M; j++) {
        snprintf(names[N + j], sizeof(names[0]), "P%d", j);
        tmod_init(&p[j], names[N + j], false, &NPI_TEST_ID);
    }
    /* Interleave the registrations. */
    register_ok(&c[0]);
    register_ok(&p[0]);
    register_ok(&p[1]);
    register_ok(&c[1]);
    register_ok(&p[2]);
    register_ok(&c[2]);
    register_ok(&p[3]);
    for (int i = 0; i < N; i++) {
        assert_int_equal(GET(c[i].attach_calls), M);
        assert_int_equal(GET(c[i].attached), M);
        for (int k = 0; k < c[i].nbindings_seen; k++)
            all[count++] = c[i].bindings_seen[k];
    }
    for (int j = 0; j < M; j++)
        assert_int_equal(GET(p[j].attach_calls), N);
    assert_int_equal(count, N * M);
    for (int a = 0; a < count; a++)
        for (int b = a + 1; b < count; b++)
            assert_ptr_not_equal(all[a], all[b]);
    for (int i = 0; i < N; i++)
        tmod_unregister(&c[i]);
    for (int j = 0; j < M; j++) {
        assert_int_equal(GET(p[j].detach_calls), N);
        assert_int_equal(GET(p[j].cleanup_calls), N);
        tmod_unregister(&p[j]);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(GET(c[i].cleanup_calls), M);
}

/* =============================================================================================
 * Detach and cleanup
 * ============================================================================================= */

/* N12 */
static void client_deregistering_detaches_each_of_its_bindings_once(void **state)
{
    tmod c, p1, p2;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p1, "P1", false, &NPI_TEST_ID);
    tmod_init(&p2, "P2", false, &NPI_TEST_ID);
    register_ok(&p1);
    register_ok(&p2);
    register_ok(&c);
    assert_int_equal(NmrDeregisterClient(c.handle), STATUS_PENDING);
    assert_int_equal(GET(c.detach_calls), 2);
    assert_int_equal(GET(p1.detach_calls), 1);
    assert_int_equal(GET(p2.detach_calls), 1);
    assert_int_equal(NmrWaitForClientDeregisterComplete(c.handle), STATUS_SUCCESS);
    tmod_unregister(&p1);
    tmod_unregister(&p2);
    assert_int_equal(GET(c.detach_calls), 2);
    assert_int_equal(GET(p1.detach_calls), 1);
    assert_int_equal(GET(p2.detach_calls), 1);
}

/* N13 */
static void provider_deregistering_detaches_clients_which_attach_again_later(void **state)
{
    tmod c1, c2, p, p2;

    tmod_init(&c1, "C1", true, &NPI_TEST_ID);
    tmod_init(&c2, "C2", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    tmod_init(&p2, "P2", false, &NPI_TEST_ID);
    register_ok(&c1);
    register_ok(&c2);
    register_ok(&p);
    tmod_unregister(&p);
    assert_int_equal(GET(p.detach_calls), 2);
    assert_int_equal(GET(c1.detach_calls), 1);
    assert_int_equal(GET(c2.detach_calls), 1);
    assert_int_equal(GET(c1.cleanup_calls), 1);
    /* The clients stay registered and attach to the next provider. */
    register_ok(&p2);
    assert_int_equal(GET(c1.attach_calls), 2);
    assert_int_equal(GET(c2.attach_calls), 2);
    assert_int_equal(GET(p2.attach_calls), 2);
    tmod_unregister(&c1);
    tmod_unregister(&c2);
    tmod_unregister(&p2);
}

/* N14 */
static void successful_detaches_clean_up_each_side_once_before_the_wait_returns(void **state)
{
    tmod c, p;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    register_ok(&p);
    register_ok(&c);
    assert_int_equal(NmrDeregisterProvider(p.handle), STATUS_PENDING);
    assert_int_equal(NmrWaitForProviderDeregisterComplete(p.handle), STATUS_SUCCESS);
    assert_int_equal(GET(c.cleanup_calls), 1);
    assert_int_equal(GET(p.cleanup_calls), 1);
    assert_true(log_find("C.detach") < log_find("C.cleanup"));
    assert_true(log_find("P.detach") < log_find("C.cleanup"));
    assert_true(log_find("C.cleanup") < log_find("P.cleanup"));
    tmod_unregister(&c);
    assert_int_equal(GET(c.cleanup_calls), 1);
    assert_int_equal(GET(p.cleanup_calls), 1);
}

/* N15: the timer's DPC completes the client side at DISPATCH_LEVEL on the timer thread. */
static HANDLE timer_binding;
static int timer_fired;

static VOID complete_client_dpc(PKDPC dpc, PVOID context, PVOID a1, PVOID a2)
{
    log_event("timer.complete");
    SET(timer_fired, 1);
    NmrClientDetachProviderComplete(timer_binding);
}

static void pending_client_detach_blocks_the_wait_until_completed_from_a_timer(void **state)
{
    tmod c, p;
    KTIMER timer;
    KDPC dpc;
    LARGE_INTEGER due = pk_test_timeout_ms(150);
    uint64_t start;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    c.detach_status = STATUS_PENDING;
    register_ok(&p);
    register_ok(&c);
    timer_binding = c.last_binding;
    assert_int_equal(NmrDeregisterClient(c.handle), STATUS_PENDING);
    assert_int_equal(GET(c.detach_calls), 1);
    assert_int_equal(GET(p.detach_calls), 1);
    assert_int_equal(GET(c.cleanup_calls) + GET(p.cleanup_calls), 0);
    KeInitializeDpc(&dpc, complete_client_dpc, NULL);
    KeInitializeTimer(&timer);
    start = pk_test_now_ms();
    KeSetTimer(&timer, due, &dpc);
    assert_int_equal(NmrWaitForClientDeregisterComplete(c.handle), STATUS_SUCCESS);
    assert_true(GET(timer_fired));
    assert_true(pk_test_now_ms() - start >= 100);
    assert_int_equal(GET(c.cleanup_calls), 1);
    assert_int_equal(GET(p.cleanup_calls), 1);
    assert_true(log_find("timer.complete") < log_find("C.cleanup"));
    /* Cleanup ran on the thread that finished the second side: the timer thread, at its IRQL. */
    assert_int_equal(c.cleanup_irql, DISPATCH_LEVEL);
    tmod_unregister(&p);
}

/* N16 */
static void pending_provider_detach_delays_cleanup_until_completed(void **state)
{
    tmod c, p;
    HANDLE binding;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    p.detach_status = STATUS_PENDING;
    register_ok(&p);
    register_ok(&c);
    binding = p.last_binding;
    assert_int_equal(NmrDeregisterClient(c.handle), STATUS_PENDING);
    assert_int_equal(GET(c.detach_calls), 1);
    assert_int_equal(GET(p.detach_calls), 1);
    assert_int_equal(GET(c.cleanup_calls) + GET(p.cleanup_calls), 0);
    pthread_join(complete_from_thread(binding, false, false), NULL);
    assert_int_equal(GET(c.cleanup_calls), 1);
    assert_int_equal(GET(p.cleanup_calls), 1);
    assert_true(log_find("complete.provider") < log_find("C.cleanup"));
    assert_int_equal(NmrWaitForClientDeregisterComplete(c.handle), STATUS_SUCCESS);
    tmod_unregister(&p);
}

/* N17 */
static void both_sides_pending_clean_up_after_both_completions_in_either_order(void **state)
{
    tmod c, p1, p2;
    HANDLE b1, b2;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p1, "P1", false, &NPI_TEST_ID);
    tmod_init(&p2, "P2", false, &NPI_TEST_ID);
    c.detach_status = STATUS_PENDING;
    p1.detach_status = STATUS_PENDING;
    p2.detach_status = STATUS_PENDING;
    register_ok(&c);
    register_ok(&p1);
    b1 = p1.last_binding;
    register_ok(&p2);
    b2 = p2.last_binding;
    assert_int_equal(NmrDeregisterClient(c.handle), STATUS_PENDING);
    assert_int_equal(GET(c.detach_calls), 2);

    /* Binding 1: client first, then provider. */
    NmrClientDetachProviderComplete(b1);
    assert_int_equal(GET(p1.cleanup_calls), 0);
    assert_int_equal(GET(c.cleanup_calls), 0);
    NmrProviderDetachClientComplete(b1);
    assert_int_equal(GET(p1.cleanup_calls), 1);
    assert_int_equal(GET(c.cleanup_calls), 1);

    /* Binding 2: provider first, then client, from another thread. */
    NmrProviderDetachClientComplete(b2);
    assert_int_equal(GET(p2.cleanup_calls), 0);
    assert_int_equal(GET(c.cleanup_calls), 1);
    pthread_join(complete_from_thread(b2, true, false), NULL);
    assert_int_equal(GET(p2.cleanup_calls), 1);
    assert_int_equal(GET(c.cleanup_calls), 2);

    assert_int_equal(NmrWaitForClientDeregisterComplete(c.handle), STATUS_SUCCESS);
    tmod_unregister(&p1);
    tmod_unregister(&p2);
}

/* N18: the client's Complete runs (on another thread) before its detach callback returns
 * STATUS_PENDING; the provider's is started right after its callback returns. */
static void *complete_client_now(void *arg)
{
    NmrClientDetachProviderComplete((HANDLE)arg);
    return NULL;
}

static void complete_before_returning(tmod *m, tbind *b)
{
    pthread_t id;
    pthread_create(&id, NULL, complete_client_now, b->binding);
    pthread_join(id, NULL);
}

static void complete_right_after_returning(tmod *m, tbind *b)
{
    complete_from_thread(b->binding, false, true);
}

static void early_complete_from_another_thread_is_accepted_and_cleans_up_once(void **state)
{
    enum { ROUNDS = 100 };

    pk_test_capture_verifier();
    for (int i = 0; i < ROUNDS; i++) {
        tmod c, p;
        tmod_init(&c, "C", true, &NPI_TEST_ID);
        tmod_init(&p, "P", false, &NPI_TEST_ID);
        c.detach_status = STATUS_PENDING;
        p.detach_status = STATUS_PENDING;
        c.on_detach = complete_before_returning;
        p.on_detach = complete_right_after_returning;
        register_ok(&p);
        register_ok(&c);
        if (i % 2)
            tmod_unregister(&c);
        else
            tmod_unregister(&p);
        join_spawned();
        assert_int_equal(GET(c.cleanup_calls), 1);
        assert_int_equal(GET(p.cleanup_calls), 1);
        if (i % 2)
            tmod_unregister(&p);
        else
            tmod_unregister(&c);
    }
    assert_int_equal(pk_test_verifier_stops(), 0);
    assert_int_equal(pk_test_verifier_reports(), 0);
}

/* N19 */
static void null_cleanup_callbacks_are_allowed(void **state)
{
    tmod c, p;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    c.cc.ClientCleanupBindingContext = NULL;
    p.pc.ProviderCleanupBindingContext = NULL;
    c.free_in_detach = true;
    p.free_in_detach = true;
    register_ok(&c);
    register_ok(&p);
    assert_int_equal(GET(c.attached), 1);
    tmod_unregister(&c);
    tmod_unregister(&p);
    assert_int_equal(GET(c.detach_calls), 1);
    assert_int_equal(GET(p.detach_calls), 1);
}

/* =============================================================================================
 * Deregistration races
 * ============================================================================================= */

/* N20 */
static void deregistering_client_is_not_proposed_to_a_new_provider(void **state)
{
    tmod c, p0, p1;
    HANDLE binding;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p0, "P0", false, &NPI_TEST_ID);
    tmod_init(&p1, "P1", false, &NPI_TEST_ID);
    c.detach_status = STATUS_PENDING; /* keeps the client's deregistration in progress */
    register_ok(&c);
    register_ok(&p0);
    binding = c.last_binding;
    assert_int_equal(NmrDeregisterClient(c.handle), STATUS_PENDING);
    register_ok(&p1);
    assert_int_equal(GET(c.attach_calls), 1);
    assert_int_equal(GET(p1.attach_calls), 0);
    NmrClientDetachProviderComplete(binding);
    assert_int_equal(NmrWaitForClientDeregisterComplete(c.handle), STATUS_SUCCESS);
    tmod_unregister(&p0);
    tmod_unregister(&p1);
}

/* The late-comer rule (1.3.7), deterministically: the client deregisters from inside its own
 * attach callback; the binding attaches, then detaches at once, before NmrRegisterProvider
 * returns. */
static void deregister_self(tmod *m, HANDLE binding) { SET(m->user, (void *)(uintptr_t)tmod_deregister(m)); }

static void module_deregistering_during_attach_is_detached_by_the_late_comer_rule(void **state)
{
    tmod c, p;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    c.on_attach = deregister_self;
    register_ok(&c);
    register_ok(&p);
    assert_int_equal((NTSTATUS)(uintptr_t)c.user, STATUS_PENDING);
    assert_int_equal(GET(c.attached), 1);
    assert_int_equal(GET(c.detach_calls), 1);
    assert_int_equal(GET(p.detach_calls), 1);
    assert_int_equal(GET(c.cleanup_calls), 1);
    assert_int_equal(GET(p.cleanup_calls), 1);
    assert_true(log_find("P.attach") < log_find("C.detach"));
    assert_int_equal(NmrWaitForClientDeregisterComplete(c.handle), STATUS_SUCCESS);
    tmod_unregister(&p);
    assert_int_equal(GET(p.detach_calls), 1);
}

/* A proposal queued behind another is dropped when its module deregisters first. */
static tmod *queued_victim;
static void deregister_the_queued_client(tmod *m, HANDLE binding)
{
    if (queued_victim) {
        SET(m->user, (void *)(uintptr_t)tmod_deregister(queued_victim));
        queued_victim = NULL;
    }
}

static void queued_proposal_of_a_deregistered_module_is_never_made(void **state)
{
    tmod c1, c2, p;

    tmod_init(&c1, "C1", true, &NPI_TEST_ID);
    tmod_init(&c2, "C2", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    register_ok(&c1);
    register_ok(&c2);
    queued_victim = &c2;
    c1.on_attach = deregister_the_queued_client;
    register_ok(&p); /* proposes to C1, whose callback deregisters C2, then would propose to C2 */
    assert_int_equal((NTSTATUS)(uintptr_t)c1.user, STATUS_PENDING);
    assert_int_equal(GET(c1.attached), 1);
    assert_int_equal(GET(c2.attach_calls), 0);
    assert_int_equal(GET(p.attach_calls), 1);
    assert_int_equal(NmrWaitForClientDeregisterComplete(c2.handle), STATUS_SUCCESS);
    tmod_unregister(&c1);
    tmod_unregister(&p);
}

/* N21 */
typedef struct race21 {
    pthread_barrier_t start, end;
    int rounds;
    tmod *c, *p;
    NTSTATUS dereg_status, wait_status, reg_status;
} race21;

/* Counts detaches that ran in the registering thread, inside NmrRegisterProvider: those are
 * late comers (the client began deregistering during the attach). */
static pthread_t race21_register_thread;
static int race21_late_comers;

static void race21_note_detach(tmod *m, tbind *b)
{
    if (pthread_equal(pthread_self(), race21_register_thread))
        INC(race21_late_comers);
}

/* Widens the window in which the deregistration lands during the attach. */
static void race21_slow_attach(tmod *m, HANDLE binding)
{
    for (int i = 0; i < 50; i++)
        sched_yield();
}

static void *race21_register_provider(void *arg)
{
    race21 *r = arg;
    race21_register_thread = pthread_self();
    for (int i = 0; i < r->rounds; i++) {
        pthread_barrier_wait(&r->start);
        r->reg_status = tmod_register(r->p);
        pthread_barrier_wait(&r->end);
    }
    return NULL;
}

static void *race21_deregister_client(void *arg)
{
    race21 *r = arg;
    for (int i = 0; i < r->rounds; i++) {
        pthread_barrier_wait(&r->start);
        r->dereg_status = NmrDeregisterClient(r->c->handle);
        r->wait_status = NmrWaitForClientDeregisterComplete(r->c->handle);
        pthread_barrier_wait(&r->end);
    }
    return NULL;
}

static void provider_registering_while_client_deregisters_never_strands_a_binding(void **state)
{
    race21 r = { .rounds = 1000 };
    pk_test_threads t1, t2;
    int no_binding = 0, attached_then_detached = 0;
    tmod c, p;

    r.c = &c;
    r.p = &p;
    pthread_barrier_init(&r.start, NULL, 3);
    pthread_barrier_init(&r.end, NULL, 3);
    pk_test_threads_start(&t1, 1, race21_register_provider, &r);
    pk_test_threads_start(&t2, 1, race21_deregister_client, &r);
    for (int i = 0; i < r.rounds; i++) {
        tmod_init(&c, "C", true, &NPI_TEST_ID);
        tmod_init(&p, "P", false, &NPI_TEST_ID);
        c.on_detach = race21_note_detach;
        if (i % 2)
            c.on_attach = race21_slow_attach;
        register_ok(&c);
        pthread_barrier_wait(&r.start);
        pthread_barrier_wait(&r.end);
        assert_int_equal(r.reg_status, STATUS_SUCCESS);
        assert_int_equal(r.dereg_status, STATUS_PENDING);
        assert_int_equal(r.wait_status, STATUS_SUCCESS);
        /* Either no binding, or one attached and detached at once (before the client's wait
         * returned, with the provider still registered). */
        if (GET(c.attached) == 0) {
            assert_int_equal(GET(p.attached), 0);
            assert_int_equal(GET(c.detach_calls) + GET(p.detach_calls), 0);
            no_binding++;
        } else {
            assert_int_equal(GET(c.attached), 1);
            assert_int_equal(GET(c.detach_calls), 1);
            assert_int_equal(GET(p.detach_calls), 1);
            assert_int_equal(GET(c.cleanup_calls), 1);
            assert_int_equal(GET(p.cleanup_calls), 1);
            attached_then_detached++;
        }
        tmod_unregister(&p);
        assert_int_equal(GET(p.detach_calls), GET(c.attached));
        assert_int_equal(PnpkitLiveObjectCount(), 0);
    }
    pk_test_threads_join(&t1);
    pk_test_threads_join(&t2);
    pthread_barrier_destroy(&r.start);
    pthread_barrier_destroy(&r.end);
    print_message("N21: %d rounds without binding, %d attached then detached (%d by the late-comer rule)\n",
                  no_binding, attached_then_detached, GET(race21_late_comers));
}

/* N22 */
typedef struct race22 {
    pthread_barrier_t start, end;
    int rounds;
    tmod *m[2];
    NTSTATUS status[2][2];
} race22;

static void race22_side(race22 *r, int s)
{
    for (int i = 0; i < r->rounds; i++) {
        pthread_barrier_wait(&r->start);
        r->status[s][0] = tmod_deregister(r->m[s]);
        r->status[s][1] = tmod_wait(r->m[s]);
        pthread_barrier_wait(&r->end);
    }
}

static void *race22_client(void *arg) { race22_side(arg, 0); return NULL; }
static void *race22_provider(void *arg) { race22_side(arg, 1); return NULL; }

static void concurrent_deregistration_of_both_sides_detaches_each_side_once(void **state)
{
    race22 r = { .rounds = 500 };
    pk_test_threads t1, t2;
    tmod c, p;

    r.m[0] = &c;
    r.m[1] = &p;
    pthread_barrier_init(&r.start, NULL, 3);
    pthread_barrier_init(&r.end, NULL, 3);
    pk_test_threads_start(&t1, 1, race22_client, &r);
    pk_test_threads_start(&t2, 1, race22_provider, &r);
    for (int i = 0; i < r.rounds; i++) {
        tmod_init(&c, "C", true, &NPI_TEST_ID);
        tmod_init(&p, "P", false, &NPI_TEST_ID);
        register_ok(&c);
        register_ok(&p);
        assert_int_equal(GET(c.attached), 1);
        pthread_barrier_wait(&r.start);
        pthread_barrier_wait(&r.end);
        for (int s = 0; s < 2; s++) {
            assert_int_equal(r.status[s][0], STATUS_PENDING);
            assert_int_equal(r.status[s][1], STATUS_SUCCESS);
        }
        assert_int_equal(GET(c.detach_calls), 1);
        assert_int_equal(GET(p.detach_calls), 1);
        assert_int_equal(GET(c.cleanup_calls), 1);
        assert_int_equal(GET(p.cleanup_calls), 1);
    }
    pk_test_threads_join(&t1);
    pk_test_threads_join(&t2);
    pthread_barrier_destroy(&r.start);
    pthread_barrier_destroy(&r.end);
}

/* =============================================================================================
 * Bad handles and waits
 * ============================================================================================= */

/* N23 */
static void wait_before_deregistration_returns_invalid_parameter_without_blocking(void **state)
{
    tmod c, p;
    uint64_t start;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    register_ok(&c);
    register_ok(&p);
    start = pk_test_now_ms();
    assert_int_equal(NmrWaitForClientDeregisterComplete(c.handle), STATUS_INVALID_PARAMETER);
    assert_int_equal(NmrWaitForProviderDeregisterComplete(p.handle), STATUS_INVALID_PARAMETER);
    assert_true(pk_test_now_ms() - start < 1000);
    /* Nothing changed: the binding is still there and both modules deregister normally. */
    assert_int_equal(GET(c.detach_calls), 0);
    tmod_unregister(&c);
    tmod_unregister(&p);
}

/* N24 */
static void wait_with_garbage_or_already_waited_handle_returns_invalid_parameter(void **state)
{
    tmod c, p;
    int local;
    HANDLE garbage[] = { NULL, (HANDLE)(uintptr_t)0x1234, (HANDLE)(uintptr_t)0xdeadbeefdeadbeefull, &local,
                         (HANDLE)(uintptr_t)(0x4E4D520000000000ull | 0xFFFFFFull) };

    for (size_t i = 0; i < ARRAYSIZE(garbage); i++) {
        assert_int_equal(NmrWaitForClientDeregisterComplete(garbage[i]), STATUS_INVALID_PARAMETER);
        assert_int_equal(NmrWaitForProviderDeregisterComplete(garbage[i]), STATUS_INVALID_PARAMETER);
        assert_int_equal(NmrDeregisterClient(garbage[i]), STATUS_INVALID_PARAMETER);
        assert_int_equal(NmrDeregisterProvider(garbage[i]), STATUS_INVALID_PARAMETER);
    }
    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    register_ok(&c);
    register_ok(&p);
    /* A handle of the other kind is unknown to the API. */
    assert_int_equal(NmrDeregisterProvider(c.handle), STATUS_INVALID_PARAMETER);
    assert_int_equal(NmrDeregisterClient(p.handle), STATUS_INVALID_PARAMETER);
    /* A binding handle is not a module handle. */
    assert_int_equal(NmrDeregisterClient(c.last_binding), STATUS_INVALID_PARAMETER);
    tmod_unregister(&c);
    tmod_unregister(&p);
    assert_int_equal(NmrWaitForClientDeregisterComplete(c.handle), STATUS_INVALID_PARAMETER);
    assert_int_equal(NmrWaitForProviderDeregisterComplete(p.handle), STATUS_INVALID_PARAMETER);
    assert_int_equal(NmrDeregisterClient(c.handle), STATUS_INVALID_PARAMETER);
}

/* =============================================================================================
 * Re-entrancy
 * ============================================================================================= */

/* N25 */
typedef struct n25 {
    tmod *to_deregister;
    tmod *to_register;
    NTSTATUS dereg_status, reg_status;
} n25;

static void cleanup_calls_the_registrar(tmod *m, tbind *b)
{
    n25 *x = m->user;
    x->dereg_status = tmod_deregister(x->to_deregister);
    x->reg_status = tmod_register(x->to_register);
}

static void cleanup_callback_may_register_and_deregister_other_modules(void **state)
{
    tmod c, p, other_client, new_provider, other_provider;
    n25 x;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    tmod_init(&other_client, "X", true, &NPI_OTHER_ID);
    tmod_init(&other_provider, "XP", false, &NPI_OTHER_ID);
    tmod_init(&new_provider, "Y", false, &NPI_OTHER_ID);
    x.to_deregister = &other_provider;
    x.to_register = &new_provider;
    p.user = &x;
    p.on_cleanup = cleanup_calls_the_registrar;
    register_ok(&other_client);
    register_ok(&other_provider);
    register_ok(&c);
    register_ok(&p);
    tmod_unregister(&c);
    assert_int_equal(x.dereg_status, STATUS_PENDING);
    assert_int_equal(x.reg_status, STATUS_SUCCESS);
    /* The deregistration detached X from XP; the new provider Y attached to X. */
    assert_int_equal(GET(other_provider.detach_calls), 1);
    assert_int_equal(GET(other_client.attach_calls), 2);
    assert_int_equal(GET(new_provider.attach_calls), 1);
    assert_int_equal(tmod_wait(&other_provider), STATUS_SUCCESS);
    tmod_unregister(&p);
    tmod_unregister(&new_provider);
    tmod_unregister(&other_client);
}

/* N26 */
static tmod n26_provider;
static NTSTATUS n26_status = -1;

static void attach_registers_a_provider(tmod *m, HANDLE binding)
{
    n26_status = tmod_register(&n26_provider);
}

static void client_attach_callback_may_register_a_provider_of_another_npi(void **state)
{
    tmod c, p, other_client;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    tmod_init(&other_client, "X", true, &NPI_OTHER_ID);
    tmod_init(&n26_provider, "Y", false, &NPI_OTHER_ID);
    c.on_attach = attach_registers_a_provider;
    register_ok(&other_client);
    register_ok(&p);
    register_ok(&c);
    assert_int_equal(n26_status, STATUS_SUCCESS);
    assert_int_equal(GET(c.attached), 1);
    /* The nested registration proposed itself to X inside C's attach callback. */
    assert_int_equal(GET(other_client.attached), 1);
    assert_true(log_find("C.attach") < log_find("X.attach"));
    assert_true(log_find("X.attach") < log_find("P.attach"));
    tmod_unregister(&c);
    tmod_unregister(&p);
    tmod_unregister(&n26_provider);
    tmod_unregister(&other_client);
}

/* =============================================================================================
 * Resources and identifiers
 * ============================================================================================= */

/* N27 */
static void allocation_failure_in_register_returns_insufficient_resources(void **state)
{
    tmod c, p, p2, c2;
    HANDLE sentinel = (HANDLE)(uintptr_t)0x5a5a;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    tmod_init(&p2, "P2", false, &NPI_TEST_ID);
    tmod_init(&c2, "C2", true, &NPI_TEST_ID);

    /* The registration itself. */
    c.handle = sentinel;
    PnpkitSimFailAllocation(1);
    assert_int_equal(NmrRegisterClient(&c.cc, &c, &c.handle), STATUS_INSUFFICIENT_RESOURCES);
    assert_ptr_equal(c.handle, sentinel);
    assert_int_equal(PnpkitLiveObjectCount(), 0);
    p.handle = sentinel;
    PnpkitSimFailAllocation(1);
    assert_int_equal(NmrRegisterProvider(&p.pc, &p, &p.handle), STATUS_INSUFFICIENT_RESOURCES);
    assert_ptr_equal(p.handle, sentinel);
    assert_int_equal(PnpkitLiveObjectCount(), 0);

    /* The binding it would create: nothing stays registered, no attach happens. */
    register_ok(&p);
    c2.handle = sentinel;
    PnpkitSimFailAllocation(2);
    assert_int_equal(NmrRegisterClient(&c2.cc, &c2, &c2.handle), STATUS_INSUFFICIENT_RESOURCES);
    assert_ptr_equal(c2.handle, sentinel);
    assert_int_equal(GET(c2.attach_calls), 0);
    assert_int_equal(GET(p.attach_calls), 0);
    assert_int_equal(PnpkitLiveObjectCount(), 1);
    PnpkitSimFailAllocation(0);

    /* The failed client was never registered: a new provider is proposed only to C. */
    register_ok(&c);
    assert_int_equal(GET(c.attach_calls), 1);
    register_ok(&p2);
    assert_int_equal(GET(p2.attach_calls), 1);
    assert_int_equal(GET(c.attach_calls), 2);
    assert_int_equal(GET(c2.attach_calls), 0);
    tmod_unregister(&p);
    tmod_unregister(&p2);
    tmod_unregister(&c);
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

/* N28 */
static void nmr_is_equal_npi_module_id_compares_type_and_value(void **state)
{
    NPI_MODULEID a, b;

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.Length = b.Length = sizeof(NPI_MODULEID);
    a.Type = b.Type = MIT_GUID;
    a.Guid = NPI_TEST_ID;
    b.Guid = NPI_TEST_ID;
    assert_true(NmrIsEqualNpiModuleId(&a, &b));
    b.Guid = NPI_OTHER_ID;
    assert_false(NmrIsEqualNpiModuleId(&a, &b));

    /* Identical bytes under different Types. */
    memcpy(&b, &a, sizeof(a));
    b.Type = MIT_IF_LUID;
    assert_false(NmrIsEqualNpiModuleId(&a, &b));
    assert_false(NmrIsEqualNpiModuleId(&b, &a));

    a.Type = MIT_IF_LUID;
    assert_true(NmrIsEqualNpiModuleId(&a, &b));
    b.IfLuid.HighPart = 5;
    assert_false(NmrIsEqualNpiModuleId(&a, &b));
}

/* N29 */
static void client_whose_attach_failed_never_gets_a_cleanup(void **state)
{
    tmod c, p1, p2;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p1, "P1", false, &NPI_TEST_ID);
    tmod_init(&p2, "P2", false, &NPI_TEST_ID);
    p1.attach_status = STATUS_NOINTERFACE;
    p2.attach_status = STATUS_ACCESS_DENIED;
    register_ok(&p1);
    register_ok(&p2);
    register_ok(&c);
    assert_int_equal(GET(c.attach_calls), 2);
    assert_int_equal(GET(c.attached), 0);
    tmod_unregister(&c);
    tmod_unregister(&p1);
    tmod_unregister(&p2);
    assert_int_equal(GET(c.detach_calls), 0);
    assert_int_equal(GET(c.cleanup_calls), 0);
    assert_int_equal(GET(p1.cleanup_calls) + GET(p2.cleanup_calls), 0);
}

/* =============================================================================================
 * Deregistration statuses
 * ============================================================================================= */

/* N30 */
static void every_first_deregistration_returns_pending(void **state)
{
    static const NTSTATUS detach_results[] = { STATUS_SUCCESS, STATUS_PENDING, STATUS_UNSUCCESSFUL };
    tmod alone, c, p[3];

    pk_test_capture_verifier(); /* STATUS_UNSUCCESSFUL from a detach callback is a stop */
    tmod_init(&alone, "A", true, &NPI_OTHER_ID);
    register_ok(&alone);
    assert_int_equal(NmrDeregisterClient(alone.handle), STATUS_PENDING);
    assert_int_equal(NmrWaitForClientDeregisterComplete(alone.handle), STATUS_SUCCESS);

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    register_ok(&c);
    for (int i = 0; i < 3; i++) {
        tmod_init(&p[i], "P", false, &NPI_TEST_ID);
        p[i].detach_status = detach_results[i];
        register_ok(&p[i]);
        assert_int_equal(NmrDeregisterProvider(p[i].handle), STATUS_PENDING);
        if (detach_results[i] == STATUS_PENDING)
            NmrProviderDetachClientComplete(p[i].last_binding);
        assert_int_equal(NmrWaitForProviderDeregisterComplete(p[i].handle), STATUS_SUCCESS);
    }
    /* The client with three bindings gone, then with two live ones. */
    for (int i = 0; i < 2; i++) {
        tmod_init(&p[i], "P", false, &NPI_TEST_ID);
        register_ok(&p[i]);
    }
    assert_int_equal(NmrDeregisterClient(c.handle), STATUS_PENDING);
    assert_int_equal(NmrWaitForClientDeregisterComplete(c.handle), STATUS_SUCCESS);
    tmod_unregister(&p[0]);
    tmod_unregister(&p[1]);
    assert_int_equal(pk_test_verifier_stops(), 1);
}

/* N31 */
static void second_deregistration_returns_invalid_parameter(void **state)
{
    tmod c, p;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    register_ok(&c);
    register_ok(&p);
    assert_int_equal(NmrDeregisterClient(c.handle), STATUS_PENDING);
    assert_int_equal(NmrDeregisterClient(c.handle), STATUS_INVALID_PARAMETER);
    assert_int_equal(NmrDeregisterProvider(p.handle), STATUS_PENDING);
    assert_int_equal(NmrDeregisterProvider(p.handle), STATUS_INVALID_PARAMETER);
    assert_int_equal(GET(c.detach_calls), 1);
    assert_int_equal(NmrWaitForClientDeregisterComplete(c.handle), STATUS_SUCCESS);
    assert_int_equal(NmrWaitForProviderDeregisterComplete(p.handle), STATUS_SUCCESS);
    assert_int_equal(NmrDeregisterClient(c.handle), STATUS_INVALID_PARAMETER);
    assert_int_equal(NmrDeregisterProvider(p.handle), STATUS_INVALID_PARAMETER);
}

/* =============================================================================================
 * Attach misuse
 * ============================================================================================= */

/* N32 */
static HANDLE n32_declined_binding;
static void remember_binding(tmod *m, HANDLE binding) { n32_declined_binding = binding; }

static void client_attach_provider_outside_its_attach_callback_is_invalid_parameter(void **state)
{
    tmod c, p, d;
    void *pbc = (void *)1;
    const void *pd = (const void *)1;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    tmod_init(&d, "D", true, &NPI_TEST_ID);
    c.attach_twice = true;
    d.attach_status = STATUS_NOINTERFACE;
    d.on_attach = remember_binding;
    register_ok(&p);
    register_ok(&c);
    /* A second call inside the callback. */
    assert_int_equal(c.last_nmr_attach_status, STATUS_SUCCESS);
    assert_int_equal(c.second_attach_status, STATUS_INVALID_PARAMETER);
    assert_int_equal(GET(p.attach_calls), 1);
    /* After the callback returned: the binding is attached. */
    assert_int_equal(NmrClientAttachProvider(c.last_binding, c.last_tb, NULL, &pbc, &pd), STATUS_INVALID_PARAMETER);
    /* A declined binding. */
    register_ok(&d);
    assert_non_null(n32_declined_binding);
    assert_int_equal(NmrClientAttachProvider(n32_declined_binding, NULL, NULL, &pbc, &pd), STATUS_INVALID_PARAMETER);
    /* Unknown handles. */
    assert_int_equal(NmrClientAttachProvider(NULL, NULL, NULL, &pbc, &pd), STATUS_INVALID_PARAMETER);
    assert_int_equal(NmrClientAttachProvider(c.handle, NULL, NULL, &pbc, &pd), STATUS_INVALID_PARAMETER);
    assert_int_equal(GET(p.attach_calls), 1);
    /* Out parameters untouched. */
    assert_ptr_equal(pbc, (void *)1);
    assert_ptr_equal(pd, (const void *)1);
    tmod_unregister(&c);
    tmod_unregister(&d);
    tmod_unregister(&p);
    assert_int_equal(GET(c.cleanup_calls), 1);
}

/* N33 */
static void client_failing_after_provider_accepted_detaches_the_provider_alone(void **state)
{
    tmod c, p;
    tbind *orphan;

    pk_test_capture_verifier();
    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    c.fail_after_attach = true;
    register_ok(&p);
    register_ok(&c);
    orphan = c.last_tb;
    assert_int_equal(pk_test_verifier_reports(), 1);
    assert_int_equal(pk_test_verifier_stops(), 0);
    assert_true(pk_test_verifier_saw("ClientAttachProvider"));
    assert_int_equal(GET(p.detach_calls), 1);
    assert_int_equal(GET(p.cleanup_calls), 1);
    assert_true(log_find("P.detach") < log_find("P.cleanup"));
    assert_int_equal(GET(c.detach_calls), 0);
    assert_int_equal(GET(c.cleanup_calls), 0);
    tmod_unregister(&c);
    tmod_unregister(&p);
    assert_int_equal(GET(c.detach_calls) + GET(c.cleanup_calls), 0);
    assert_int_equal(GET(p.detach_calls), 1);
    tbind_free(orphan);
}

/* The provider-alone detach waits for a pending provider completion too. */
static void client_failing_after_attach_waits_for_pending_provider_detach(void **state)
{
    tmod c, p;
    tbind *orphan;

    pk_test_capture_verifier();
    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    c.fail_after_attach = true;
    p.detach_status = STATUS_PENDING;
    register_ok(&p);
    register_ok(&c);
    orphan = c.last_tb;
    assert_int_equal(GET(p.detach_calls), 1);
    assert_int_equal(GET(p.cleanup_calls), 0);
    assert_int_equal(NmrDeregisterProvider(p.handle), STATUS_PENDING);
    /* A client completion is not part of this detach. */
    NmrClientDetachProviderComplete(p.last_binding);
    assert_int_equal(pk_test_verifier_stops(), 1);
    NmrProviderDetachClientComplete(p.last_binding);
    assert_int_equal(GET(p.cleanup_calls), 1);
    assert_int_equal(NmrWaitForProviderDeregisterComplete(p.handle), STATUS_SUCCESS);
    tmod_unregister(&c);
    assert_int_equal(GET(c.detach_calls) + GET(c.cleanup_calls), 0);
    tbind_free(orphan);
}

/* Misuse of 1.3: success without NmrClientAttachProvider is a stop, and counts as a decline. */
static void client_success_without_attaching_is_a_verifier_stop_and_a_decline(void **state)
{
    tmod c, p;

    pk_test_capture_verifier();
    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    c.success_without_attach = true;
    register_ok(&p);
    register_ok(&c);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("ClientAttachProvider"));
    assert_int_equal(GET(p.attach_calls), 0);
    assert_int_equal(PnpkitLiveObjectCount(), 2);
    tmod_unregister(&c);
    tmod_unregister(&p);
    assert_int_equal(GET(c.detach_calls) + GET(p.detach_calls), 0);
}

/* =============================================================================================
 * Verifier
 * ============================================================================================= */

/* N34 */
static void detach_callback_returning_another_status_is_a_verifier_stop(void **state)
{
    tmod c, p;

    pk_test_capture_verifier();
    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    c.detach_status = STATUS_UNSUCCESSFUL;
    p.detach_status = STATUS_NOINTERFACE;
    register_ok(&p);
    register_ok(&c);
    tmod_unregister(&c);
    assert_int_equal(pk_test_verifier_stops(), 2);
    assert_true(pk_test_verifier_saw("ClientDetachProvider"));
    assert_true(pk_test_verifier_saw("ProviderDetachClient"));
    /* Counted as STATUS_SUCCESS: the binding was cleaned up. */
    assert_int_equal(GET(c.cleanup_calls), 1);
    assert_int_equal(GET(p.cleanup_calls), 1);
    tmod_unregister(&p);
}

static void bad_detach_status_in_child(void *ctx)
{
    tmod c, p;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    c.detach_status = STATUS_UNSUCCESSFUL;
    tmod_register(&p);
    tmod_register(&c);
    tmod_deregister(&c); /* aborts */
}

/* N34, without a handler: the stop aborts the process with a message naming the callback. */
static void detach_callback_bad_status_aborts_with_a_message_naming_it(void **state)
{
    char out[2048];
    int status = pk_test_run_in_child(bad_detach_status_in_child, NULL, out, sizeof(out));

    assert_true(pk_test_died_of_abort(status));
    assert_non_null(strstr(out, "pnpkit verifier stop: ClientDetachProvider"));
}

/* Misuse of Complete (1.4): a stop each, otherwise ignored. */
static void complete_misuse_is_a_verifier_stop_and_is_ignored(void **state)
{
    tmod c, p;
    HANDLE binding;

    pk_test_capture_verifier();
    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    p.detach_status = STATUS_PENDING;
    register_ok(&p);
    register_ok(&c);
    binding = c.last_binding;
    /* Before any detach. */
    NmrProviderDetachClientComplete(binding);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_int_equal(NmrDeregisterClient(c.handle), STATUS_PENDING);
    /* The client side returned STATUS_SUCCESS. */
    NmrClientDetachProviderComplete(binding);
    assert_int_equal(pk_test_verifier_stops(), 2);
    assert_true(pk_test_verifier_saw("NmrClientDetachProviderComplete"));
    assert_int_equal(GET(c.cleanup_calls), 0);
    NmrProviderDetachClientComplete(binding);
    assert_int_equal(GET(c.cleanup_calls), 1);
    /* A second completion: the handle is cleaned up, hence unknown. */
    NmrProviderDetachClientComplete(binding);
    assert_int_equal(pk_test_verifier_stops(), 3);
    /* Garbage. */
    NmrClientDetachProviderComplete((HANDLE)(uintptr_t)0x77);
    assert_int_equal(pk_test_verifier_stops(), 4);
    assert_int_equal(GET(c.cleanup_calls), 1);
    assert_int_equal(GET(p.cleanup_calls), 1);
    assert_int_equal(NmrWaitForClientDeregisterComplete(c.handle), STATUS_SUCCESS);
    tmod_unregister(&p);
}

/* A second Complete for a side that pended, while the other side still pends. */
static void second_completion_of_a_pending_side_is_a_verifier_stop(void **state)
{
    tmod c, p;
    HANDLE binding;

    pk_test_capture_verifier();
    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    c.detach_status = STATUS_PENDING;
    p.detach_status = STATUS_PENDING;
    register_ok(&p);
    register_ok(&c);
    binding = c.last_binding;
    assert_int_equal(NmrDeregisterProvider(p.handle), STATUS_PENDING);
    NmrClientDetachProviderComplete(binding);
    NmrClientDetachProviderComplete(binding);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("second completion"));
    assert_int_equal(GET(c.cleanup_calls), 0);
    NmrProviderDetachClientComplete(binding);
    assert_int_equal(GET(c.cleanup_calls), 1);
    assert_int_equal(NmrWaitForProviderDeregisterComplete(p.handle), STATUS_SUCCESS);
    tmod_unregister(&c);
}

/* N35 */
static void registration_handle_is_written_before_the_first_attach_callback(void **state)
{
    tmod c, p, p2;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    tmod_init(&p2, "P2", false, &NPI_TEST_ID);
    register_ok(&p);
    c.handle = NULL;
    register_ok(&c); /* C's ClientAttachProvider reads C's handle variable */
    assert_non_null(c.handle);
    assert_ptr_equal(c.handle_seen_in_attach, c.handle);
    p2.handle = NULL;
    register_ok(&p2); /* P2's ProviderAttachClient reads P2's handle variable */
    assert_non_null(p2.handle);
    assert_ptr_equal(p2.handle_seen_in_attach, p2.handle);
    tmod_unregister(&c);
    tmod_unregister(&p);
    tmod_unregister(&p2);
}

/* N36 */
static HANDLE n36_unrelated;
static int n36_calls;

static void call_registrar(void)
{
    /* Each needs the registrar lock; with the lock held they would deadlock. */
    if (NmrDeregisterClient((HANDLE)(uintptr_t)0x99) == STATUS_INVALID_PARAMETER &&
        NmrWaitForProviderDeregisterComplete(n36_unrelated) == STATUS_INVALID_PARAMETER)
        INC(n36_calls);
}

static void n36_attach(tmod *m, HANDLE binding) { call_registrar(); }
static void n36_detach(tmod *m, tbind *b) { call_registrar(); }
static void n36_cleanup(tmod *m, tbind *b) { call_registrar(); }

static void no_registrar_lock_is_held_during_any_callback(void **state)
{
    tmod c, p, unrelated;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    tmod_init(&unrelated, "U", false, &NPI_OTHER_ID);
    register_ok(&unrelated);
    n36_unrelated = unrelated.handle; /* registered, not deregistered: its wait is refused */
    c.on_attach = p.on_attach = n36_attach;
    c.on_detach = p.on_detach = n36_detach;
    c.on_cleanup = p.on_cleanup = n36_cleanup;
    SET(check_lock_free, 1);
    register_ok(&p);
    register_ok(&c);
    tmod_unregister(&c);
    SET(check_lock_free, 0);
    /* Two attaches, two detaches, two cleanups, each calling the registrar. */
    assert_int_equal(GET(n36_calls), 6);
    assert_int_equal(GET(lock_held_in_callback), 0);
    tmod_unregister(&p);
    tmod_unregister(&unrelated);
}

/* N37 */
static void deregister_at_dispatch_detaches_at_dispatch_and_wait_there_stops(void **state)
{
    tmod c, p;
    KIRQL old;

    pk_test_capture_verifier();
    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    register_ok(&p);
    register_ok(&c);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(NmrDeregisterClient(c.handle), STATUS_PENDING);
    assert_int_equal(c.detach_irql, DISPATCH_LEVEL);
    assert_int_equal(p.detach_irql, DISPATCH_LEVEL);
    assert_int_equal(c.cleanup_irql, DISPATCH_LEVEL);
    assert_int_equal(NmrWaitForClientDeregisterComplete(c.handle), STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("NmrWaitForClientDeregisterComplete"));
    KeLowerIrql(old);
    /* The refused wait changed nothing: the wait at PASSIVE_LEVEL works. */
    assert_int_equal(NmrWaitForClientDeregisterComplete(c.handle), STATUS_SUCCESS);
    tmod_unregister(&p);
}

static void wait_at_dispatch_in_child(void *ctx)
{
    tmod c;
    KIRQL old;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_register(&c);
    tmod_deregister(&c);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    tmod_wait(&c); /* aborts */
}

/* N37, without a handler: the stop aborts the process with a message naming the API. */
static void wait_at_dispatch_aborts_with_a_message_naming_the_api(void **state)
{
    char out[2048];
    int status = pk_test_run_in_child(wait_at_dispatch_in_child, NULL, out, sizeof(out));

    assert_true(pk_test_died_of_abort(status));
    assert_non_null(strstr(out, "pnpkit verifier stop: NmrWaitForClientDeregisterComplete"));
    assert_non_null(strstr(out, "DISPATCH_LEVEL"));
}

/* The IRQL table of 1.6: every function above its level. */
static void functions_above_their_irql_stop_and_return_invalid_device_request(void **state)
{
    tmod c;
    KIRQL old;
    void *pbc = NULL;
    const void *pd = NULL;

    pk_test_capture_verifier();
    tmod_init(&c, "C", true, &NPI_TEST_ID);
    c.handle = (HANDLE)(uintptr_t)0x5a5a;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(NmrRegisterClient(&c.cc, &c, &c.handle), STATUS_INVALID_DEVICE_REQUEST);
    assert_ptr_equal(c.handle, (HANDLE)(uintptr_t)0x5a5a);
    assert_int_equal(NmrRegisterProvider(NULL, NULL, NULL), STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(NmrClientAttachProvider(NULL, NULL, NULL, &pbc, &pd), STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(NmrWaitForProviderDeregisterComplete(NULL), STATUS_INVALID_DEVICE_REQUEST);
    /* Allowed at DISPATCH_LEVEL: only the bad handle is refused. */
    assert_int_equal(NmrDeregisterClient(NULL), STATUS_INVALID_PARAMETER);
    KeLowerIrql(old);
    assert_int_equal(pk_test_verifier_stops(), 4);
    assert_true(pk_test_verifier_saw("NmrRegisterClient"));
    assert_true(pk_test_verifier_saw("NmrRegisterProvider"));
    assert_true(pk_test_verifier_saw("NmrClientAttachProvider"));
    assert_true(pk_test_verifier_saw("NmrWaitForProviderDeregisterComplete"));
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

/* Table of section 2: NULL characteristics, handle, callbacks or NpiId. */
static void register_rejects_missing_arguments(void **state)
{
    tmod c, p;
    HANDLE h = (HANDLE)(uintptr_t)0x5a5a;

    tmod_init(&c, "C", true, &NPI_TEST_ID);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    assert_int_equal(NmrRegisterClient(NULL, &c, &h), STATUS_INVALID_PARAMETER);
    assert_int_equal(NmrRegisterClient(&c.cc, &c, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(NmrRegisterProvider(NULL, &p, &h), STATUS_INVALID_PARAMETER);
    assert_int_equal(NmrRegisterProvider(&p.pc, &p, NULL), STATUS_INVALID_PARAMETER);
    c.cc.ClientAttachProvider = NULL;
    assert_int_equal(NmrRegisterClient(&c.cc, &c, &h), STATUS_INVALID_PARAMETER);
    tmod_init(&c, "C", true, &NPI_TEST_ID);
    c.cc.ClientDetachProvider = NULL;
    assert_int_equal(NmrRegisterClient(&c.cc, &c, &h), STATUS_INVALID_PARAMETER);
    tmod_init(&c, "C", true, &NPI_TEST_ID);
    c.cc.ClientRegistrationInstance.NpiId = NULL;
    assert_int_equal(NmrRegisterClient(&c.cc, &c, &h), STATUS_INVALID_PARAMETER);
    p.pc.ProviderAttachClient = NULL;
    assert_int_equal(NmrRegisterProvider(&p.pc, &p, &h), STATUS_INVALID_PARAMETER);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    p.pc.ProviderDetachClient = NULL;
    assert_int_equal(NmrRegisterProvider(&p.pc, &p, &h), STATUS_INVALID_PARAMETER);
    tmod_init(&p, "P", false, &NPI_TEST_ID);
    p.pc.ProviderRegistrationInstance.NpiId = NULL;
    assert_int_equal(NmrRegisterProvider(&p.pc, &p, &h), STATUS_INVALID_PARAMETER);
    assert_ptr_equal(h, (HANDLE)(uintptr_t)0x5a5a);
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

/* N38 */
static void module_registered_as_client_and_provider_attaches_to_itself(void **state)
{
    tmod as_client, as_provider;

    tmod_init(&as_client, "self.client", true, &NPI_TEST_ID);
    tmod_init(&as_provider, "self.provider", false, &NPI_TEST_ID);
    /* One driver: the same ModuleId on both registrations. */
    as_provider.module_id = as_client.module_id;
    register_ok(&as_provider);
    register_ok(&as_client);
    assert_int_equal(GET(as_client.attached), 1);
    assert_int_equal(GET(as_provider.attached), 1);
    assert_true(NmrIsEqualNpiModuleId(as_client.last_peer_instance->ModuleId, &as_client.module_id));
    tmod_unregister(&as_client);
    tmod_unregister(&as_provider);
    assert_int_equal(GET(as_client.cleanup_calls), 1);
    assert_int_equal(GET(as_provider.cleanup_calls), 1);
}

PK_TEST_MAIN(
    PK_TEST(client_registered_alone_gets_no_attach_and_pending_deregister),
    PK_TEST(provider_registered_alone_gets_no_attach_and_pending_deregister),
    PK_TEST(client_registration_attaches_to_registered_provider_before_returning),
    PK_TEST(provider_registration_attaches_to_registered_client_before_returning),
    PK_TEST(binding_handle_is_the_same_for_client_and_provider),
    PK_TEST(npi_ids_match_by_guid_value_not_address),
    PK_TEST(registrar_filters_on_nothing_but_the_npi_id),
    PK_TEST(client_decline_makes_no_provider_callback_and_no_binding),
    PK_TEST(provider_decline_returns_nointerface_and_leaves_no_binding),
    PK_TEST(provider_failure_status_is_returned_verbatim),
    PK_TEST(n_clients_and_m_providers_make_n_times_m_bindings),
    PK_TEST(client_deregistering_detaches_each_of_its_bindings_once),
    PK_TEST(provider_deregistering_detaches_clients_which_attach_again_later),
    PK_TEST(successful_detaches_clean_up_each_side_once_before_the_wait_returns),
    PK_TEST(pending_client_detach_blocks_the_wait_until_completed_from_a_timer),
    PK_TEST(pending_provider_detach_delays_cleanup_until_completed),
    PK_TEST(both_sides_pending_clean_up_after_both_completions_in_either_order),
    PK_TEST(early_complete_from_another_thread_is_accepted_and_cleans_up_once),
    PK_TEST(null_cleanup_callbacks_are_allowed),
    PK_TEST(deregistering_client_is_not_proposed_to_a_new_provider),
    PK_TEST(module_deregistering_during_attach_is_detached_by_the_late_comer_rule),
    PK_TEST(queued_proposal_of_a_deregistered_module_is_never_made),
    PK_TEST(provider_registering_while_client_deregisters_never_strands_a_binding),
    PK_TEST(concurrent_deregistration_of_both_sides_detaches_each_side_once),
    PK_TEST(wait_before_deregistration_returns_invalid_parameter_without_blocking),
    PK_TEST(wait_with_garbage_or_already_waited_handle_returns_invalid_parameter),
    PK_TEST(cleanup_callback_may_register_and_deregister_other_modules),
    PK_TEST(client_attach_callback_may_register_a_provider_of_another_npi),
    PK_TEST(allocation_failure_in_register_returns_insufficient_resources),
    PK_TEST(nmr_is_equal_npi_module_id_compares_type_and_value),
    PK_TEST(client_whose_attach_failed_never_gets_a_cleanup),
    PK_TEST(every_first_deregistration_returns_pending),
    PK_TEST(second_deregistration_returns_invalid_parameter),
    PK_TEST(client_attach_provider_outside_its_attach_callback_is_invalid_parameter),
    PK_TEST(client_failing_after_provider_accepted_detaches_the_provider_alone),
    PK_TEST(client_failing_after_attach_waits_for_pending_provider_detach),
    PK_TEST(client_success_without_attaching_is_a_verifier_stop_and_a_decline),
    PK_TEST(detach_callback_returning_another_status_is_a_verifier_stop),
    PK_TEST(detach_callback_bad_status_aborts_with_a_message_naming_it),
    PK_TEST(complete_misuse_is_a_verifier_stop_and_is_ignored),
    PK_TEST(second_completion_of_a_pending_side_is_a_verifier_stop),
    PK_TEST(registration_handle_is_written_before_the_first_attach_callback),
    PK_TEST(no_registrar_lock_is_held_during_any_callback),
    PK_TEST(deregister_at_dispatch_detaches_at_dispatch_and_wait_there_stops),
    PK_TEST(wait_at_dispatch_aborts_with_a_message_naming_the_api),
    PK_TEST(functions_above_their_irql_stop_and_return_invalid_device_request),
    PK_TEST(register_rejects_missing_arguments),
    PK_TEST(module_registered_as_client_and_provider_attaches_to_itself)
)
