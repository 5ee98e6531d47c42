/*
 * nmr_internal.h — the Network Module Registrar's private structures, shared by the files of
 * src/nmr/ and by nothing outside it.
 *
 * Objects.
 *   - nmr_registration: one NmrRegisterClient or NmrRegisterProvider. Created by the register
 *     call, freed by the wait that follows its deregistration.
 *   - nmr_binding: one proposed or attached client/provider pair. Created, in state Attaching,
 *     by the registration that came second; freed after it is Discarded or CleanedUp.
 *
 * Handles. Module and binding handles are ids (NMR_HANDLE_TAG | a 64-bit counter that only
 * grows), looked up in the registrar's hash table under the registrar lock. A handle is never
 * dereferenced, so a garbage, stale or already-waited handle is recognised safely and is never
 * mistaken for a later object.
 *
 * Locking. One lock, nmr_registrar.lock, protects the table, both registration lists, every
 * registration's bindings list and counters, and every binding's state and side records. It is
 * never held while a module callback runs, and is a leaf (nothing else is acquired under it, apart
 * from the allocator and KeSetEvent).
 *
 * Binding state machine (changed only by nmr_binding_transition_locked, in nmr_binding.c):
 *
 *   ATTACHING --client attached, provider accepted--> ATTACHED --detach starts--> DETACHING
 *   ATTACHING --declined, failed, or a module deregistered first--> DISCARDED
 *   ATTACHING --client failed after the provider accepted--> DETACHING (provider side alone)
 *   DETACHING --both sides done--> CLEANED_UP
 */
#ifndef PNPKIT_NMR_INTERNAL_H
#define PNPKIT_NMR_INTERNAL_H

#include "base/base_internal.h"
#include "object/object_internal.h"
#include <pnpkit/netioddk.h>

/* High bits of every NMR handle: "NMR" in ASCII. An id never reaches these bits. */
#define NMR_HANDLE_TAG 0x4E4D520000000000ull
#define NMR_HANDLE_ID_MASK 0x000000FFFFFFFFFFull

typedef enum nmr_kind {
    NMR_KIND_CLIENT = 0,   /* also the index of the client side of a binding */
    NMR_KIND_PROVIDER = 1, /* also the index of the provider side */
    NMR_KIND_BINDING = 2,
} nmr_kind;

#define NMR_SIDE_CLIENT NMR_KIND_CLIENT
#define NMR_SIDE_PROVIDER NMR_KIND_PROVIDER

/* The part of every registration and binding that the handle table knows. */
typedef struct nmr_entry {
    uint64_t id;                /* handle value without the tag; unique for the process' life */
    struct nmr_entry *hash_next;
    nmr_kind kind;
} nmr_entry;

typedef struct nmr_registration {
    nmr_entry entry;            /* first member: the table links registrations through it */
    LIST_ENTRY link;            /* in nmr_registrar.modules[kind], in registration order */
    const NPI_REGISTRATION_INSTANCE *instance; /* inside the caller's characteristics */
    const GUID *npi_id;         /* instance->NpiId, the only field matching looks at */
    union {
        const NPI_CLIENT_CHARACTERISTICS *client;
        const NPI_PROVIDER_CHARACTERISTICS *provider;
    } chars;
    void *context;              /* the registration context given to the attach callback */
    /* Bindings of this module in any state but Discarded and CleanedUp, linked through
     * nmr_binding.link[entry.kind]. The wait completes when this list is empty. */
    LIST_ENTRY bindings;
    uint32_t binding_count;
    /* Bindings of this module still in Attaching (proposed, or in their attach callbacks).
     * Always <= binding_count; kept apart because the spec's wait condition names it and the
     * traces show it. */
    uint32_t attaches_in_flight;
    bool deregistering;         /* NmrDeregister* succeeded: no new proposal involves it */
    bool waiting;               /* an NmrWaitFor* call owns the registration now */
    bool done_signalled;        /* `done` was set; it is set once */
    KEVENT done;                /* notification event: deregistering and no binding left */
} nmr_registration;

typedef enum nmr_binding_state {
    NMR_BINDING_ATTACHING = 1,
    NMR_BINDING_ATTACHED,
    NMR_BINDING_DETACHING,
    NMR_BINDING_CLEANED_UP,
    NMR_BINDING_DISCARDED,
} nmr_binding_state;

typedef enum nmr_binding_event {
    NMR_EV_PROPOSED = 1,        /* created by a registration */
    NMR_EV_DEREGISTERED_FIRST,  /* a module deregistered before the proposal ran */
    NMR_EV_CLIENT_DECLINED,     /* ClientAttachProvider failed without attaching */
    NMR_EV_PROVIDER_DECLINED,   /* NmrClientAttachProvider failed */
    NMR_EV_ATTACH_MISUSE,       /* success without NmrClientAttachProvider */
    NMR_EV_ATTACHED,
    NMR_EV_CLIENT_FAILED_LATE,  /* failure after the provider accepted: provider detaches alone */
    NMR_EV_DEREGISTER,          /* a module of the binding deregistered */
    NMR_EV_LATE_COMER,          /* a module deregistered during the attach */
    NMR_EV_BOTH_SIDES_DONE,
} nmr_binding_event;

/* One side's part in a detach. A side is done when its callback returned STATUS_SUCCESS (or a
 * bad status), or returned STATUS_PENDING and Complete was called, before or after. */
typedef struct nmr_side {
    bool involved;              /* false only for the client of a provider-alone detach */
    bool called;                /* the detach callback was (or is being) called */
    bool returned;              /* ... and has returned `status` */
    bool completed;             /* Nmr*DetachComplete was called for this side */
    bool done;
    NTSTATUS status;
} nmr_side;

#define NMR_BINDING_HISTORY 8

typedef struct nmr_binding {
    nmr_entry entry;            /* first member; kind NMR_KIND_BINDING */
    nmr_registration *reg[2];   /* [NMR_SIDE_CLIENT], [NMR_SIDE_PROVIDER]; valid while linked */
    LIST_ENTRY link[2];         /* in reg[i]->bindings while the binding exists */
    uint8_t state;              /* nmr_binding_state */
    bool linked;                /* link[] and the counters of reg[] include this binding */
    /* Attach. The thread that creates the binding owns its proposal: only that thread starts it,
     * and it frees the binding if it is discarded before it starts. */
    struct nmr_binding *proposal_next; /* the creating thread's list of proposals to run */
    bool proposal_started;
    bool in_attach_callback;    /* ClientAttachProvider is running on attach_thread */
    const void *attach_thread;  /* the token of the thread running the attach */
    bool client_attach_called;  /* NmrClientAttachProvider was called for this binding */
    bool provider_accepted;     /* ... and ProviderAttachClient returned success */
    /* Both sides' binding contexts and dispatch tables; fixed once the binding is attached. */
    void *context[2];
    const void *dispatch[2];
    /* Detach. */
    struct nmr_binding *detach_next; /* a deregistering thread's list of detaches to run */
    nmr_side side[2];
    /* Last transitions, oldest overwritten first: readable in a debugger. */
    struct {
        uint8_t from, to, event;
    } history[NMR_BINDING_HISTORY];
    uint8_t history_next;
} nmr_binding;

/* The registrar: a single instance for the process. */
typedef struct nmr_registrar_state {
    pk_lock lock;
    /* Registrations by kind (clients, providers), in registration order. */
    LIST_ENTRY modules[2];
    uint64_t next_id;
    /* Hash table of every live registration and binding, by id. */
    nmr_entry **buckets;
    size_t bucket_mask;         /* bucket count - 1; the count is a power of two */
    size_t entry_count;
} nmr_registrar_state;

extern nmr_registrar_state nmr_registrar;

static inline HANDLE nmr_handle(const nmr_entry *e) { return (HANDLE)(uintptr_t)(NMR_HANDLE_TAG | e->id); }

/* ---- nmr_registrar.c: the table, registrations, proposals, deregistration, waits ---- */

void nmr_lock(void);
void nmr_unlock(void);
/* Gives e a fresh id and puts it in the table. Lock held. Never fails (a failed table growth
 * only lengthens the chains). */
void nmr_table_insert_locked(nmr_entry *e);
void nmr_table_remove_locked(nmr_entry *e);
/* The live entry of `kind` behind handle, or NULL. Lock held. Never dereferences handle. */
nmr_entry *nmr_table_lookup_locked(HANDLE handle, nmr_kind kind);

NTSTATUS nmr_register(nmr_kind kind, const void *characteristics, void *context, HANDLE *handle_out);
NTSTATUS nmr_deregister(nmr_kind kind, HANDLE handle);
NTSTATUS nmr_wait_for_deregister(nmr_kind kind, HANDLE handle);
/* Signals r->done when r is deregistering and has no binding left. Lock held. */
void nmr_registration_check_done_locked(nmr_registration *r);

/* ---- nmr_binding.c: the per-binding state machine ---- */

/* Makes b (zeroed memory from pk_zalloc, owned by the calling thread's proposal list) the
 * binding between client c and provider p: state Attaching, in the table, linked to both and
 * counted as an attach in flight of both. Lock held. */
void nmr_binding_link_locked(nmr_binding *b, nmr_registration *c, nmr_registration *p);
/* Runs the proposal of b, which this thread created: the attach callbacks, then the late-comer
 * detach if one applies. Lock not held. b may be freed on return. */
void nmr_binding_propose(nmr_binding *b);
/* Called when b's module deregisters: an Attached binding enters Detaching (returns true: the
 * caller runs nmr_binding_run_detach after unlocking); an unstarted proposal is discarded.
 * Lock held. */
bool nmr_binding_deregister_locked(nmr_binding *b);
/* Calls both detach callbacks of b, whose transition to Detaching this thread made, and the
 * cleanup callbacks if this thread finishes the second side. Lock not held. */
void nmr_binding_run_detach(nmr_binding *b);
NTSTATUS nmr_binding_client_attach_provider(HANDLE handle, void *client_binding_context,
                                            const void *client_dispatch, void **provider_binding_context,
                                            const void **provider_dispatch);
void nmr_binding_detach_complete(HANDLE handle, int side, const char *api);

#endif /* PNPKIT_NMR_INTERNAL_H */
