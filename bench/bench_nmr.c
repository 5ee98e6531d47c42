/*
 * bench_nmr — the Network Module Registrar's whole binding life cycle, beside a baseline
 * measured in the same run.
 *
 * Shape: 10 NPIs; each NPI has 100 clients and 10 providers, so 1,000 clients and 100 providers
 * in all, and 100 x 10 = 1,000 bindings per NPI, 10,000 bindings per round. One round:
 *   1. register the 1,000 clients (nothing to attach yet);
 *   2. register the 100 providers: each registration proposes itself to the 100 clients of its
 *      NPI (ClientAttachProvider -> NmrClientAttachProvider -> ProviderAttachClient);
 *   3. deregister the 100 providers: each detaches its 100 bindings (both detach callbacks
 *      return STATUS_SUCCESS, then both cleanup callbacks run), and wait for each;
 *   4. deregister and wait for the 1,000 clients.
 * The cost is reported per binding (round time / 10,000).
 *
 * Baseline: the work a registrar cannot avoid, matching NpiIds: a plain loop that compares the
 * NpiId GUID of every provider with that of every client (IsEqualGUID over the same 100 x 1,000
 * client x provider pairs) and counts the 10,000 matches. Reported per pair.
 *
 * Every round checks its counts, so a broken registrar cannot look fast.
 */
#include "bench_common.h"

#include <pnpkit/netioddk.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPIS 10
#define CLIENTS_PER_NPI 100
#define PROVIDERS_PER_NPI 10
#define CLIENTS (NPIS * CLIENTS_PER_NPI)
#define PROVIDERS (NPIS * PROVIDERS_PER_NPI)
#define BINDINGS (NPIS * CLIENTS_PER_NPI * PROVIDERS_PER_NPI)
#define ROUNDS 7

typedef struct bench_module {
    GUID npi;
    NPI_MODULEID id;
    NPI_CLIENT_CHARACTERISTICS cc;
    NPI_PROVIDER_CHARACTERISTICS pc;
    HANDLE handle;
} bench_module;

static bench_module clients[CLIENTS], providers[PROVIDERS];
static uint64_t attaches, detaches, cleanups;
static const int client_dispatch = 1, provider_dispatch = 2;

static NTSTATUS NTAPI client_attach(HANDLE binding, PVOID context, const NPI_REGISTRATION_INSTANCE *provider)
{
    void *provider_context;
    const void *dispatch;

    /* The module itself serves as the binding context: nothing to allocate. */
    return NmrClientAttachProvider(binding, context, &client_dispatch, &provider_context, &dispatch);
}

static NTSTATUS NTAPI provider_attach(HANDLE binding, PVOID context, const NPI_REGISTRATION_INSTANCE *client,
                                      PVOID client_binding_context, const VOID *client_dispatch_table,
                                      PVOID *provider_binding_context, const VOID **provider_dispatch_table)
{
    attaches++;
    *provider_binding_context = context;
    *provider_dispatch_table = &provider_dispatch;
    return STATUS_SUCCESS;
}

static NTSTATUS NTAPI detach(PVOID binding_context)
{
    detaches++;
    return STATUS_SUCCESS;
}

static VOID NTAPI cleanup(PVOID binding_context) { cleanups++; }

static void make_npi(GUID *g, int npi)
{
    /* {B3E7C1D0-5A2F-4C8E-9D61-0000000000nn} */
    static const GUID base = { 0xb3e7c1d0, 0x5a2f, 0x4c8e, { 0x9d, 0x61, 0, 0, 0, 0, 0, 0 } };
    *g = base;
    g->Data4[7] = (UCHAR)npi;
}

static void setup(void)
{
    for (int i = 0; i < CLIENTS; i++) {
        bench_module *m = &clients[i];
        make_npi(&m->npi, i % NPIS);
        m->id.Length = sizeof(m->id);
        m->id.Type = MIT_GUID;
        m->id.Guid.Data1 = (ULONG)i;
        m->cc.Length = sizeof(m->cc);
        m->cc.ClientAttachProvider = client_attach;
        m->cc.ClientDetachProvider = detach;
        m->cc.ClientCleanupBindingContext = cleanup;
        m->cc.ClientRegistrationInstance.Size = sizeof(NPI_REGISTRATION_INSTANCE);
        m->cc.ClientRegistrationInstance.NpiId = &m->npi;
        m->cc.ClientRegistrationInstance.ModuleId = &m->id;
    }
    for (int i = 0; i < PROVIDERS; i++) {
        bench_module *m = &providers[i];
        make_npi(&m->npi, i % NPIS);
        m->id.Length = sizeof(m->id);
        m->id.Type = MIT_GUID;
        m->id.Guid.Data1 = (ULONG)(100000 + i);
        m->pc.Length = sizeof(m->pc);
        m->pc.ProviderAttachClient = provider_attach;
        m->pc.ProviderDetachClient = detach;
        m->pc.ProviderCleanupBindingContext = cleanup;
        m->pc.ProviderRegistrationInstance.Size = sizeof(NPI_REGISTRATION_INSTANCE);
        m->pc.ProviderRegistrationInstance.NpiId = &m->npi;
        m->pc.ProviderRegistrationInstance.ModuleId = &m->id;
    }
}

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "bench_nmr: %s\n", what);
        exit(1);
    }
}

static void registrar_round(void)
{
    attaches = detaches = cleanups = 0;
    for (int i = 0; i < CLIENTS; i++)
        check(NmrRegisterClient(&clients[i].cc, &clients[i], &clients[i].handle) == STATUS_SUCCESS, "register client");
    for (int i = 0; i < PROVIDERS; i++)
        check(NmrRegisterProvider(&providers[i].pc, &providers[i], &providers[i].handle) == STATUS_SUCCESS,
              "register provider");
    for (int i = 0; i < PROVIDERS; i++) {
        check(NmrDeregisterProvider(providers[i].handle) == STATUS_PENDING, "deregister provider");
        check(NmrWaitForProviderDeregisterComplete(providers[i].handle) == STATUS_SUCCESS, "wait provider");
    }
    for (int i = 0; i < CLIENTS; i++) {
        check(NmrDeregisterClient(clients[i].handle) == STATUS_PENDING, "deregister client");
        check(NmrWaitForClientDeregisterComplete(clients[i].handle) == STATUS_SUCCESS, "wait client");
    }
    check(attaches == BINDINGS && detaches == 2 * BINDINGS && cleanups == 2 * BINDINGS, "binding counts");
    check(PnpkitLiveObjectCount() == 0, "live objects left");
}

static uint64_t guid_match_round(void)
{
    uint64_t matches = 0;
    for (int p = 0; p < PROVIDERS; p++) {
        const GUID *npi = providers[p].pc.ProviderRegistrationInstance.NpiId;
        for (int c = 0; c < CLIENTS; c++)
            matches += IsEqualGUID(clients[c].cc.ClientRegistrationInstance.NpiId, npi);
        bench_keep(matches);
    }
    return matches;
}

int main(void)
{
    double best_registrar = 1e300, best_baseline = 1e300;

    setup();
    registrar_round(); /* warm-up: page in, grow the handle table */
    for (int r = 0; r < ROUNDS; r++) {
        uint64_t t0 = bench_now_ns();
        registrar_round();
        double ns = (double)(bench_now_ns() - t0) / BINDINGS;
        if (ns < best_registrar)
            best_registrar = ns;
    }
    for (int r = 0; r < ROUNDS * 10; r++) {
        uint64_t t0 = bench_now_ns();
        uint64_t matches = guid_match_round();
        double ns = (double)(bench_now_ns() - t0) / ((double)CLIENTS * PROVIDERS);
        check(matches == BINDINGS, "baseline match count");
        if (ns < best_baseline)
            best_baseline = ns;
    }
    printf("shape: %d NPIs x (%d clients x %d providers) = %d clients, %d providers, %d bindings per round; "
           "best of %d rounds\n", NPIS, CLIENTS_PER_NPI, PROVIDERS_PER_NPI, CLIENTS, PROVIDERS, BINDINGS, ROUNDS);
    printf("nmr register+attach+detach: %.1f ns/binding; baseline GUID match loop: %.2f ns/pair; ratio %.1f\n",
           best_registrar, best_baseline, best_registrar / best_baseline);
    bench_report("nmr register+attach+detach+wait (per binding)", best_registrar, "GUID match loop (per pair)",
                 best_baseline);
    return 0;
}
