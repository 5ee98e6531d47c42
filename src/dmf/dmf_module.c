/*
 * dmf_module.c — the DMF module framework: DMFMODULE objects, module descriptors, creation of
 * module trees (children through ChildModulesAdd), the open/close state machine with its
 * references, the module lock, static modules hosted on a device (DMF_ModulesCreate and the
 * PnP/power entry points) and deletion.
 *
 * Sections, in the order of every DMF module file: private structures; private code (state
 * machine, lock, references, tree walks, creation, deletion); WDF entry points; DMF callbacks
 * (none: the framework has no module callbacks of its own); public calls.
 *
 * Locking:
 *   - state_lock (a pk_lock, never held across a callback) protects the transitions of `state`
 *     and `history`. `state` is also a futex word: a thread that must wait for a stable state
 *     (deletion waiting until a module can be deleted) sleeps on it; every transition wakes.
 *   - `refs` is lock-free: the count of DMF_ModuleReference holders including the base
 *     reference of an open module, plus the REFS_CLOSING bit that makes new references fail.
 *     Close waits on the refs_gone event, never by polling.
 *   - lock_word is the module lock the module's own code takes (DMF_ModuleLock); the framework
 *     never takes it itself.
 *   - The tree (parent_module, children, child_count) is written while the module is being
 *     created, before anyone else can see it, and read-only afterwards.
 *   - Open-point walks (creation, the PnP/power entry points, deletion) are serialized by their
 *     callers: creation before the module is published, PnP/power by the device's PnP path,
 *     deletion once. notification_registered is written only by those walks.
 *
 * Who frees what: a module is one allocation (the object layer's) holding the module, its
 * private context and its config copy. Its children are object children of it (so a handle
 * outlives nothing it depends on), and the parent also holds a reference on each child until
 * the tree is torn down, because the object layer disposes children before their parent while
 * DMF closes and destroys parents first: a child's dispose therefore leaves the work to the
 * parent's teardown. Static modules are listed in a context of their device, which holds a
 * reference on each until the device's cleanup.
 */
#include "dmf/dmf_internal.h"
#include "wdf/wdf_internal.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* =============================================================================================
 * Private structures
 * ============================================================================================= */

typedef enum dmf_state {
    DMF_STATE_CLOSED = 1, /* created and not open, or closed again: can be deleted */
    DMF_STATE_OPENING,    /* the Open callback runs */
    DMF_STATE_OPENED,     /* open; references succeed */
    DMF_STATE_PRE_CLOSE,  /* the client's PreClose runs; references still succeed */
    DMF_STATE_CLOSING,    /* close pending: references fail, waiting for them, then Close */
} dmf_state;

typedef enum dmf_event {
    DMF_EV_OPEN = 1,
    DMF_EV_OPEN_FAILED,
    DMF_EV_OPENED,
    DMF_EV_CLOSE,
    DMF_EV_CLOSE_PENDING,
    DMF_EV_CLOSED,
} dmf_event;

#define DMF_HISTORY 8
#define REFS_CLOSING 0x80000000u
#define REFS_COUNT 0x7FFFFFFFu
#define DMF_NAME_MAX 64

struct dmf_module {
    pk_object header;
    const dmf_module_descriptor *descriptor;

    /* Set while the module is created, read-only afterwards. */
    dmf_module *parent_module;                   /* the module that added this one; NULL at top level */
    WDFOBJECT device;                            /* the Device of DMF_<Module>_Create / DMF_ModulesCreate */
    dmf_module *children[DMF_MAXIMUM_CHILDREN];  /* in add order; references, until teardown */
    ULONG child_count;
    DMF_MODULE_EVENT_CALLBACKS client_callbacks; /* copy of the attributes' ClientCallbacks */
    char instance_name[DMF_NAME_MAX];
    bool passive;        /* runs at PASSIVE_LEVEL: passive lock */
    bool dynamic;        /* created with DMF_<Module>_Create, or under such a module */
    bool client_created; /* created by the client (not a module's child): callbacks carry it */
    dmf_module *owner;   /* dmf_module_create_owned: callbacks carry the owner's client handle */
    bool filter;         /* its device was marked with DMF_DmfFdoSetFilter */
    bool created_ok;     /* the create callback succeeded, so destroy must run */
    bool children_referenced; /* children[] still hold their references */
    void *context;       /* descriptor->context_size bytes, zeroed */
    void *config;        /* descriptor->config_size bytes, the client's config */

    /* The module lock (DMF_ModuleLock): a spin lock for a dispatch module, a sleeping lock
     * (no IRQL change) for a passive one. */
    pk_lock lock_word;
    uintptr_t lock_owner; /* this_thread() of the holder, 0 when free; written by the holder */
    KIRQL lock_old_irql;  /* the holder's IRQL before it acquired; holder only */

    /* Open state. */
    pk_lock state_lock;  /* protects transitions of state, history, transition_thread */
    int32_t state;       /* dmf_state; futex word; read atomically */
    struct {
        uint8_t from, to, event;
    } history[DMF_HISTORY];
    uint8_t history_next;
    uintptr_t transition_thread; /* the thread running Open/Close (it must not wait for itself) */
    uint32_t refs;               /* references | REFS_CLOSING; atomic */
    KEVENT refs_gone;            /* set when the last reference goes after close-pending */
    bool notification_registered;
    bool torn_down;              /* closed and destroyed for deletion; atomic */
    dmf_module *undo_next;       /* open-point walk: modules this walk opened, for its undo */
    uint8_t undo_action;
};

/* What DMF_DmfModuleAdd records until the module is created. */
typedef struct dmf_add_entry {
    DMF_MODULE_ATTRIBUTES attributes;
    void *config; /* our copy of the config */
    DMF_MODULE_EVENT_CALLBACKS callbacks;
    bool has_callbacks;
    WDF_OBJECT_ATTRIBUTES object_attributes;
    bool has_object_attributes;
    char name[DMF_NAME_MAX];
    DMFMODULE *result;
} dmf_add_entry;

#define DMF_MODULE_INIT_MAGIC 0x494D4D44u /* "DMMI" */

typedef struct dmf_module_init {
    uint32_t magic;
    dmf_module *parent; /* NULL: the static modules of a device */
    ULONG limit;        /* DMF_MAXIMUM_CHILDREN for a module's children, 0 for none */
    ULONG count, capacity;
    dmf_add_entry *entries;
    NTSTATUS status; /* the first bad add, reported when the modules are created */
} dmf_module_init;

#define DMF_DEVICE_INIT_MAGIC 0x49444D44u /* "DMDI" */

struct DMFDEVICE_INIT {
    uint32_t magic;
    struct WDFDEVICE_INIT *device_init; /* kept for the WDF device code */
    bool control;
    bool filter;
    WDFDEVICE client_driver_device;
    uint8_t hooked_pnp_power, hooked_power_policy, hooked_file_object, hooked_queue;
    DMF_EVENT_CALLBACKS callbacks;
};

/* The static modules of a device: a context on the device object. */
typedef struct dmf_host {
    pk_lock lock;          /* protects modules, count, capacity */
    dmf_module **modules;  /* in add order; each holds a reference until the device's cleanup */
    ULONG count, capacity;
    bool filter;
    bool file_events;      /* a module of a tree has file-object callbacks; set by DMF_ModulesCreate */
} dmf_host;

static const WDF_OBJECT_CONTEXT_TYPE_INFO dmf_host_type_info = {
    sizeof(WDF_OBJECT_CONTEXT_TYPE_INFO), "DMF_HOST", sizeof(dmf_host), &dmf_host_type_info, NULL
};

/* How a module is being created: set by the framework around a module type's creator. */
typedef struct create_context {
    dmf_module *parent; /* the module whose child it is, or NULL */
    bool is_static;     /* added through DMF_ModulesCreate */
    dmf_module *owner;  /* dmf_module_create_owned: the module whose handle callbacks carry */
} create_context;

static __thread const create_context *tls_create_context;
static __thread char tls_token;

static inline uintptr_t this_thread(void) { return (uintptr_t)&tls_token; }
static size_t align16(size_t n) { return (n + 15) & ~(size_t)15; }

static void module_dispose(pk_object *o);
static void module_destroy(pk_object *o);

/* A module the client creates and deletes (dynamic), and one the framework owns (a child, or a
 * static module of a device): WdfObjectDelete refuses the second kind. */
static void module_delete_begin(pk_object *o);
static const pk_object_type_ex module_type_dynamic_ex = {
    { "DMFMODULE", PK_KIND_DMFMODULE, PK_OBJTYPE_DELETE_BEGIN, module_dispose, module_destroy }, module_delete_begin
};
static const pk_object_type_ex module_type_owned_ex = {
    { "DMFMODULE", PK_KIND_DMFMODULE, PK_OBJTYPE_NO_CLIENT_DELETE | PK_OBJTYPE_DELETE_BEGIN, module_dispose,
      module_destroy },
    module_delete_begin
};
#define module_type_dynamic (module_type_dynamic_ex.base)
#define module_type_owned (module_type_owned_ex.base)

/* =============================================================================================
 * Private code: accessors
 * ============================================================================================= */

DMFMODULE dmf_module_handle(dmf_module *m) { return (DMFMODULE)pk_object_handle(&m->header); }
void *dmf_module_context(dmf_module *m) { return m->context; }
void *dmf_module_config(dmf_module *m) { return m->config; }
const char *dmf_module_name(dmf_module *m) { return m->descriptor->name; }
bool dmf_module_is_passive(dmf_module *m) { return m->passive; }
void dmf_module_object_reference(dmf_module *m) { pk_object_reference(&m->header); }
void dmf_module_object_dereference(dmf_module *m) { pk_object_dereference(&m->header); }

DMFMODULE dmf_module_client_handle(dmf_module *m)
{
    while (!m->client_created) {
        if (m->parent_module)
            m = m->parent_module;
        else if (m->owner)
            m = m->owner;
        else
            break;
    }
    return dmf_module_handle(m);
}

static bool is_open_option(DmfModuleOpenOption o)
{
    return o >= DMF_MODULE_OPEN_OPTION_OPEN_Create && o <= DMF_MODULE_OPEN_OPTION_OPEN_D0Entry;
}

/* =============================================================================================
 * Private code: the open state machine
 * ============================================================================================= */

static const char *state_name(int32_t s)
{
    static const char *const names[] = { "?", "CLOSED", "OPENING", "OPENED", "PRE_CLOSE", "CLOSING" };
    return s >= 0 && (size_t)s < ARRAYSIZE(names) ? names[s] : "?";
}

static bool transition_is_legal(dmf_state from, dmf_state to)
{
    switch (to) {
    case DMF_STATE_OPENING: return from == DMF_STATE_CLOSED;
    case DMF_STATE_OPENED: return from == DMF_STATE_OPENING;
    case DMF_STATE_PRE_CLOSE: return from == DMF_STATE_OPENED;
    case DMF_STATE_CLOSING: return from == DMF_STATE_PRE_CLOSE;
    case DMF_STATE_CLOSED: return from == DMF_STATE_OPENING || from == DMF_STATE_CLOSING;
    default: return false;
    }
}

/* The one function that changes a module's state; state_lock held. Waiters are woken after
 * the lock is released (wake_state_waiters). */
static void transition_locked(dmf_module *m, dmf_state to, dmf_event event)
{
    dmf_state from = (dmf_state)m->state;

    if (!transition_is_legal(from, to))
        pk_internal_bug("legal DMF module state transition", __FILE__, __LINE__);
    m->history[m->history_next].from = (uint8_t)from;
    m->history[m->history_next].to = (uint8_t)to;
    m->history[m->history_next].event = (uint8_t)event;
    m->history_next = (uint8_t)((m->history_next + 1) % DMF_HISTORY);
    pk_store_release(&m->state, (int32_t)to);
    PK_TRACE(PnpkitTraceVerbose, "dmf", "%s %s %p: %s -> %s", m->descriptor->name, m->instance_name,
             (void *)dmf_module_handle(m), state_name(from), state_name(to));
}

static void wake_state_waiters(dmf_module *m) { pk_futex_wake(&m->state, INT_MAX); }

static dmf_state module_state(dmf_module *m) { return (dmf_state)pk_load_acquire(&m->state); }

/* Opens m: Open callback, base reference, Opened, then the client's PostOpen. */
static NTSTATUS module_open(dmf_module *m)
{
    NTSTATUS status = STATUS_SUCCESS;
    DMFMODULE handle = dmf_module_handle(m);

    pk_lock_acquire(&m->state_lock);
    if (m->state != DMF_STATE_CLOSED) {
        pk_lock_release(&m->state_lock);
        return STATUS_INVALID_DEVICE_STATE;
    }
    transition_locked(m, DMF_STATE_OPENING, DMF_EV_OPEN);
    m->transition_thread = this_thread();
    pk_lock_release(&m->state_lock);

    if (m->descriptor->open)
        status = m->descriptor->open(handle);

    pk_lock_acquire(&m->state_lock);
    m->transition_thread = 0;
    if (!NT_SUCCESS(status)) {
        transition_locked(m, DMF_STATE_CLOSED, DMF_EV_OPEN_FAILED);
        pk_lock_release(&m->state_lock);
        wake_state_waiters(m);
        PK_TRACE(PnpkitTraceInfo, "dmf", "%s %s: Open failed with %s", m->descriptor->name, m->instance_name,
                 PnpkitStatusName(status));
        return status;
    }
    KeClearEvent(&m->refs_gone);
    pk_store_release(&m->refs, 1u); /* the base reference */
    transition_locked(m, DMF_STATE_OPENED, DMF_EV_OPENED);
    pk_lock_release(&m->state_lock);
    wake_state_waiters(m);

    if (m->client_callbacks.EvtModuleOnDeviceNotificationPostOpen)
        m->client_callbacks.EvtModuleOnDeviceNotificationPostOpen(handle);
    return STATUS_SUCCESS;
}

/* Closes m if it is open: PreClose, close-pending, wait for the references, Close callback,
 * Closed. Does nothing in any other state (a second close has no effect). */
static void module_close(dmf_module *m)
{
    DMFMODULE handle = dmf_module_handle(m);
    uint32_t before;

    pk_lock_acquire(&m->state_lock);
    if (m->state != DMF_STATE_OPENED) {
        pk_lock_release(&m->state_lock);
        return;
    }
    transition_locked(m, DMF_STATE_PRE_CLOSE, DMF_EV_CLOSE);
    m->transition_thread = this_thread();
    pk_lock_release(&m->state_lock);
    wake_state_waiters(m);

    /* Methods still work inside PreClose: references still succeed. */
    if (m->client_callbacks.EvtModuleOnDeviceNotificationPreClose)
        m->client_callbacks.EvtModuleOnDeviceNotificationPreClose(handle);

    pk_lock_acquire(&m->state_lock);
    transition_locked(m, DMF_STATE_CLOSING, DMF_EV_CLOSE_PENDING);
    pk_lock_release(&m->state_lock);
    wake_state_waiters(m);

    /* New references fail from here on; then give up the base reference and wait (on an event,
     * not by polling) for the others. */
    __atomic_fetch_or(&m->refs, REFS_CLOSING, __ATOMIC_SEQ_CST);
    before = __atomic_fetch_sub(&m->refs, 1u, __ATOMIC_SEQ_CST);
    if ((before & REFS_COUNT) != 1)
        KeWaitForSingleObject(&m->refs_gone, Executive, KernelMode, FALSE, NULL);

    if (m->descriptor->close)
        m->descriptor->close(handle);

    pk_lock_acquire(&m->state_lock);
    pk_store_release(&m->refs, 0u);
    m->transition_thread = 0;
    transition_locked(m, DMF_STATE_CLOSED, DMF_EV_CLOSED);
    pk_lock_release(&m->state_lock);
    wake_state_waiters(m);
}

/* Waits until m can be deleted: closes it if it is open, and sleeps on the state word while
 * another thread opens or closes it. Returns at once on the thread that is running m's own
 * Open or Close (it cannot wait for itself). */
static void wait_until_can_be_deleted(dmf_module *m)
{
    for (;;) {
        dmf_state s = module_state(m);
        if (s == DMF_STATE_CLOSED)
            return;
        if (s == DMF_STATE_OPENED) {
            module_close(m);
            continue;
        }
        if (pk_load_acquire(&m->transition_thread) == this_thread())
            return;
        pk_futex_wait(&m->state, (int32_t)s);
    }
}

static NTSTATUS module_reference(dmf_module *m)
{
    dmf_state s = module_state(m);
    uint32_t c;

    if (s != DMF_STATE_OPENED && s != DMF_STATE_PRE_CLOSE)
        return STATUS_INVALID_DEVICE_STATE;
    c = pk_load_relaxed(&m->refs);
    do {
        if ((c & REFS_CLOSING) || (c & REFS_COUNT) == 0)
            return STATUS_INVALID_DEVICE_STATE;
    } while (!pk_cas(&m->refs, &c, c + 1));
    return STATUS_SUCCESS;
}

static void module_dereference(dmf_module *m, const char *api)
{
    uint32_t c = pk_load_relaxed(&m->refs), n;

    do {
        /* While open, the base reference is the framework's: a client may not release it. */
        uint32_t floor = (c & REFS_CLOSING) ? 0u : 1u;
        if ((c & REFS_COUNT) <= floor) {
            pk_verifier_stop(api, "%s module %p: dereference without a matching DMF_ModuleReference",
                             m->descriptor->name, (void *)dmf_module_handle(m));
            return;
        }
        n = c - 1;
    } while (!pk_cas(&m->refs, &c, n));
    if ((n & REFS_CLOSING) && (n & REFS_COUNT) == 0)
        KeSetEvent(&m->refs_gone, IO_NO_INCREMENT, FALSE);
}

/* =============================================================================================
 * Private code: the module lock
 * ============================================================================================= */

bool dmf_module_lock_held_by_me(dmf_module *m) { return pk_load_relaxed(&m->lock_owner) == this_thread(); }

bool dmf_module_lock(dmf_module *m, const char *api)
{
    if (pk_unlikely(dmf_module_lock_held_by_me(m))) {
        pk_verifier_stop(api, "the lock of %s module %p is already held by this thread (a call into the module "
                              "from its own enumeration callback?)",
                         m->descriptor->name, (void *)dmf_module_handle(m));
        return false;
    }
    if (m->passive) {
        if (!pk_irql_ok(api, APC_LEVEL))
            return false;
        pk_lock_acquire(&m->lock_word);
        m->lock_old_irql = pk_irql();
    } else {
        KIRQL old;
        if (!pk_irql_ok(api, DISPATCH_LEVEL))
            return false;
        old = pk_irql_raise(DISPATCH_LEVEL);
        pk_lock_acquire(&m->lock_word);
        m->lock_old_irql = old;
    }
    pk_store_relaxed(&m->lock_owner, this_thread());
    return true;
}

void dmf_module_unlock(dmf_module *m)
{
    KIRQL old = m->lock_old_irql;
    bool passive = m->passive;

    /* Read everything first: once the lock is free, a Close on another thread may run to the
     * end and the module may go (a pool's timer work item unlocks in exactly that race). */
    pk_store_relaxed(&m->lock_owner, (uintptr_t)0);
    pk_lock_release(&m->lock_word);
    if (!passive)
        pk_irql_restore(old);
}

NTSTATUS dmf_module_check_pool_type(dmf_module *m, POOL_TYPE pool_type, const char *field)
{
    if (!DMF_IsPoolTypePassiveLevel(pool_type) || m->passive)
        return STATUS_SUCCESS;
    pk_verifier_stop(m->descriptor->name, "%s is a paged pool type (%u) but the module does not run at "
                                          "PASSIVE_LEVEL (set DMF_MODULE_ATTRIBUTES.PassiveLevel)",
                     field, (unsigned)pool_type);
    return STATUS_INVALID_PARAMETER;
}

/* =============================================================================================
 * Private code: handles
 * ============================================================================================= */

/* Validates a module handle of any type and references the object. */
static bool module_enter(DMFMODULE handle, const char *api, KIRQL max_irql, dmf_module **out)
{
    pk_object *o;

    if (!pk_irql_ok(api, max_irql))
        return false;
    if (!NT_SUCCESS(pk_object_reference_handle((WDFOBJECT)handle, PK_KIND_DMFMODULE, api, &o))) {
        pk_verifier_stop(api, "%p is not a DMF module (NULL, stale, or another object)", (void *)handle);
        return false;
    }
    *out = CONTAINING_RECORD(o, dmf_module, header);
    return true;
}

bool dmf_method_enter(DMFMODULE handle, const dmf_module_descriptor *descriptor, const char *api, KIRQL max_irql,
                      dmf_module **out)
{
    dmf_module *m;

    if (!module_enter(handle, api, max_irql, &m))
        return false;
    if (pk_unlikely(m->descriptor != descriptor && m->descriptor->family != descriptor)) {
        pk_verifier_stop(api, "module %p is a DMF_%s, not a DMF_%s", (void *)handle, m->descriptor->name,
                         descriptor->name);
        pk_object_dereference(&m->header);
        return false;
    }
    *out = m;
    return true;
}

void dmf_method_leave(dmf_module *m) { pk_object_dereference(&m->header); }

dmf_module *dmf_module_from_callback(DMFMODULE handle)
{
    pk_object *o;

    if (!PK_ALWAYS(NT_SUCCESS(pk_object_reference_handle((WDFOBJECT)handle, PK_KIND_DMFMODULE, "DMF", &o))))
        return NULL;
    /* The framework keeps the module alive while it runs the module's callbacks. */
    pk_object_dereference(o);
    return CONTAINING_RECORD(o, dmf_module, header);
}

/* =============================================================================================
 * Private code: open points and tree walks
 * ============================================================================================= */

typedef enum open_point { POINT_CREATE, POINT_PREPARE_HARDWARE, POINT_D0 } open_point;

enum { UNDO_NONE = 0, UNDO_CLOSE, UNDO_UNREGISTER };

static bool opens_at(DmfModuleOpenOption o, open_point p)
{
    switch (p) {
    case POINT_CREATE: return o == DMF_MODULE_OPEN_OPTION_OPEN_Create;
    case POINT_PREPARE_HARDWARE: return o == DMF_MODULE_OPEN_OPTION_OPEN_PrepareHardware;
    case POINT_D0:
        return o == DMF_MODULE_OPEN_OPTION_OPEN_D0Entry || o == DMF_MODULE_OPEN_OPTION_OPEN_D0EntrySystemPowerUp;
    }
    return false;
}

static bool notifies_at(DmfModuleOpenOption o, open_point p)
{
    switch (p) {
    case POINT_CREATE: return o == DMF_MODULE_OPEN_OPTION_NOTIFY_Create;
    case POINT_PREPARE_HARDWARE: return o == DMF_MODULE_OPEN_OPTION_NOTIFY_PrepareHardware;
    case POINT_D0: return o == DMF_MODULE_OPEN_OPTION_NOTIFY_D0Entry;
    }
    return false;
}

/* Unregisters m's notifications if they are registered, then waits until m is closed (closing
 * it if the module left it open). */
static void unregister_and_close(dmf_module *m)
{
    if (m->notification_registered) {
        m->notification_registered = false;
        if (m->descriptor->notification_unregister)
            m->descriptor->notification_unregister(dmf_module_handle(m));
    }
    wait_until_can_be_deleted(m);
}

/* Opens or registers m at point p if its option says so; records the action in *undo. */
static NTSTATUS open_point_node(dmf_module *m, open_point p, dmf_module **undo)
{
    DmfModuleOpenOption o = m->descriptor->open_option;
    NTSTATUS status = STATUS_SUCCESS;

    if (opens_at(o, p)) {
        /* A D0EntrySystemPowerUp module stays open across D0 transitions: open only if closed. */
        if (module_state(m) != DMF_STATE_CLOSED)
            return STATUS_SUCCESS;
        status = module_open(m);
        if (NT_SUCCESS(status)) {
            m->undo_action = UNDO_CLOSE;
            m->undo_next = *undo;
            *undo = m;
        }
    } else if (notifies_at(o, p) && !m->notification_registered) {
        if (m->descriptor->notification_register)
            status = m->descriptor->notification_register(dmf_module_handle(m));
        if (NT_SUCCESS(status)) {
            m->notification_registered = true;
            m->undo_action = UNDO_UNREGISTER;
            m->undo_next = *undo;
            *undo = m;
        }
    }
    return status;
}

/* Undoes, newest first, what a failed walk opened or registered. */
static void undo_walk(dmf_module *undo)
{
    while (undo) {
        dmf_module *next = undo->undo_next;
        if (undo->undo_action == UNDO_UNREGISTER)
            unregister_and_close(undo);
        else
            wait_until_can_be_deleted(undo);
        undo->undo_action = UNDO_NONE;
        undo->undo_next = NULL;
        undo = next;
    }
}

static void forget_undo(dmf_module *undo)
{
    while (undo) {
        dmf_module *next = undo->undo_next;
        undo->undo_action = UNDO_NONE;
        undo->undo_next = NULL;
        undo = next;
    }
}

/* What an upward walk delivers besides opening. */
typedef struct up_event {
    open_point point;
    bool prepare_hardware; /* call prepare_hardware */
    bool d0_entry;         /* call d0_entry */
    WDFCMRESLIST raw, translated;
    ULONG power_state;
} up_event;

/* Children first: each module's own callback, then its opening. */
static NTSTATUS walk_up(dmf_module *m, const up_event *ev, dmf_module **undo)
{
    NTSTATUS status;

    for (ULONG i = 0; i < m->child_count; i++) {
        status = walk_up(m->children[i], ev, undo);
        if (!NT_SUCCESS(status))
            return status;
    }
    if (ev->prepare_hardware && m->descriptor->prepare_hardware) {
        status = m->descriptor->prepare_hardware(dmf_module_handle(m), ev->raw, ev->translated);
        if (!NT_SUCCESS(status))
            return status;
    }
    if (ev->d0_entry && m->descriptor->d0_entry) {
        status = m->descriptor->d0_entry(dmf_module_handle(m), ev->power_state);
        if (!NT_SUCCESS(status))
            return status;
    }
    return open_point_node(m, ev->point, undo);
}

/* Walks up the trees of `modules` (in order); on a failure undoes this walk's openings. */
static NTSTATUS walk_up_all(dmf_module **modules, ULONG count, const up_event *ev)
{
    dmf_module *undo = NULL;
    NTSTATUS status = STATUS_SUCCESS;

    for (ULONG i = 0; i < count && NT_SUCCESS(status); i++)
        status = walk_up(modules[i], ev, &undo);
    if (NT_SUCCESS(status))
        forget_undo(undo);
    else
        undo_walk(undo);
    return status;
}

typedef struct down_event {
    open_point point;
    bool release_hardware;
    bool d0_exit;
    WDFCMRESLIST translated;
    ULONG power_state;
} down_event;

/* Parents first: closing or unregistering, then the module's own callback, then children. */
static void walk_down(dmf_module *m, const down_event *ev)
{
    DmfModuleOpenOption o = m->descriptor->open_option;
    NTSTATUS status;

    if (notifies_at(o, ev->point))
        unregister_and_close(m);
    else if (opens_at(o, ev->point) && (o != DMF_MODULE_OPEN_OPTION_OPEN_D0EntrySystemPowerUp ||
                                        ev->power_state == DMF_POWER_DEVICE_D3_FINAL))
        wait_until_can_be_deleted(m);
    if (ev->release_hardware && m->descriptor->release_hardware) {
        status = m->descriptor->release_hardware(dmf_module_handle(m), ev->translated);
        if (!NT_SUCCESS(status))
            PK_TRACE(PnpkitTraceWarning, "dmf", "%s %s: ReleaseHardware returned %s", m->descriptor->name,
                     m->instance_name, PnpkitStatusName(status));
    }
    if (ev->d0_exit && m->descriptor->d0_exit) {
        status = m->descriptor->d0_exit(dmf_module_handle(m), ev->power_state);
        if (!NT_SUCCESS(status))
            PK_TRACE(PnpkitTraceWarning, "dmf", "%s %s: D0Exit returned %s", m->descriptor->name, m->instance_name,
                     PnpkitStatusName(status));
    }
    for (ULONG i = 0; i < m->child_count; i++)
        walk_down(m->children[i], ev);
}

/* =============================================================================================
 * Private code: deletion
 * ============================================================================================= */

/* Parent first: unregister, close (waiting until it can be deleted). */
static void close_tree(dmf_module *m)
{
    unregister_and_close(m);
    for (ULONG i = 0; i < m->child_count; i++)
        close_tree(m->children[i]);
}

/* Parent first: the destroy callbacks. */
static void destroy_tree(dmf_module *m)
{
    if (m->created_ok && m->descriptor->destroy)
        m->descriptor->destroy(dmf_module_handle(m));
    m->created_ok = false;
    pk_store_release(&m->torn_down, true);
    for (ULONG i = 0; i < m->child_count; i++)
        destroy_tree(m->children[i]);
}

/* Releases the references the tree's parents hold on their children. */
static void release_children(dmf_module *m)
{
    if (!m->children_referenced)
        return;
    m->children_referenced = false;
    for (ULONG i = 0; i < m->child_count; i++) {
        release_children(m->children[i]);
        pk_object_dereference(&m->children[i]->header);
    }
}

static void teardown(dmf_module *m)
{
    PK_TRACE(PnpkitTraceInfo, "dmf", "%s %s %p: teardown", m->descriptor->name, m->instance_name,
             (void *)dmf_module_handle(m));
    close_tree(m);
    destroy_tree(m);
}

/* The object layer disposes children before their parent; DMF closes and destroys a parent
 * before its children. So a child's dispose does nothing while its parent module has not torn
 * the tree down, and the top module's dispose tears down the whole tree. */
static void module_dispose(pk_object *o)
{
    dmf_module *m = CONTAINING_RECORD(o, dmf_module, header);

    if (m->parent_module && !pk_load_acquire(&m->parent_module->torn_down))
        return;
    if (pk_load_acquire(&m->torn_down))
        return;
    teardown(m);
    release_children(m);
}

/* Deletion starts (PASSIVE_LEVEL): a module type that must stop using objects parented to it
 * before they are deleted does it here. */
static void module_delete_begin(pk_object *o)
{
    dmf_module *m = CONTAINING_RECORD(o, dmf_module, header);

    if (m->descriptor->delete_begin && m->created_ok)
        m->descriptor->delete_begin(dmf_module_handle(m));
}

static void module_destroy(pk_object *o)
{
    dmf_module *m = CONTAINING_RECORD(o, dmf_module, header);

    /* Only after a failed creation can references to children remain. */
    release_children(m);
}

/* =============================================================================================
 * Private code: creation
 * ============================================================================================= */

static NTSTATUS validate_attributes(const DMF_MODULE_ATTRIBUTES *a, const dmf_module_descriptor *d, const char *api)
{
    if (a->SizeOfHeader != sizeof(DMF_MODULE_ATTRIBUTES)) {
        pk_verifier_report(api, "DMF_MODULE_ATTRIBUTES.SizeOfHeader is %u, expected %zu", a->SizeOfHeader,
                           sizeof(DMF_MODULE_ATTRIBUTES));
        return STATUS_INVALID_PARAMETER;
    }
    if (a->SizeOfModuleSpecificConfig != d->config_size) {
        pk_verifier_report(api, "SizeOfModuleSpecificConfig is %u, DMF_CONFIG_%s has %zu bytes",
                           a->SizeOfModuleSpecificConfig, d->name, d->config_size);
        return STATUS_INVALID_PARAMETER;
    }
    if (d->config_size && !a->ModuleConfigPointer) {
        pk_verifier_report(api, "ModuleConfigPointer is NULL");
        return STATUS_INVALID_PARAMETER;
    }
    if (a->PassiveLevel && (d->options & DMF_MODULE_OPTIONS_DISPATCH)) {
        pk_verifier_report(api, "PassiveLevel is set but DMF_%s runs at DISPATCH_LEVEL only", d->name);
        return STATUS_INVALID_PARAMETER;
    }
    return STATUS_SUCCESS;
}

static NTSTATUS validate_dynamic(const dmf_module_descriptor *d, const char *api)
{
    if (d->open_option != DMF_MODULE_OPEN_OPTION_OPEN_Create && d->open_option != DMF_MODULE_OPEN_OPTION_NOTIFY_Create) {
        pk_verifier_report(api, "a dynamic module must open at create (DMF_%s has open option %d)", d->name,
                           (int)d->open_option);
        return STATUS_UNSUCCESSFUL;
    }
    if (d->prepare_hardware || d->release_hardware || d->d0_entry || d->d0_exit) {
        pk_verifier_report(api, "a dynamic module cannot handle PnP or power events (DMF_%s does)", d->name);
        return STATUS_UNSUCCESSFUL;
    }
    return STATUS_SUCCESS;
}

static dmf_host *host_of(pk_object *device) { return pk_object_context(device, &dmf_host_type_info); }

static void free_module_init(dmf_module_init *init)
{
    for (ULONG i = 0; i < init->count; i++)
        pk_free(init->entries[i].config);
    pk_free(init->entries);
    init->entries = NULL;
    init->count = init->capacity = 0;
    init->magic = 0;
}

/* Creates one recorded module; with ctx telling the creator what it is. */
static NTSTATUS create_added(dmf_add_entry *e, WDFOBJECT device, const create_context *ctx, DMFMODULE *out)
{
    NTSTATUS status;

    if (!e->attributes.InstanceCreator) {
        pk_verifier_report("DMF_DmfModuleAdd", "the module attributes have no InstanceCreator (use "
                                               "DMF_<Module>_ATTRIBUTES_INIT)");
        return STATUS_INVALID_PARAMETER;
    }
    /* The add copied everything; point the attributes at the copies now that they stay put. */
    e->attributes.ModuleConfigPointer = e->config;
    e->attributes.ClientCallbacks = e->has_callbacks ? &e->callbacks : NULL;
    e->attributes.ClientModuleInstanceName = e->name;
    tls_create_context = ctx;
    status = e->attributes.InstanceCreator((WDFDEVICE)device, &e->attributes,
                                           e->has_object_attributes ? &e->object_attributes : NULL, out);
    tls_create_context = NULL;
    return status;
}

/* Runs the module's ChildModulesAdd and creates the children it added, in order. */
static NTSTATUS create_children(dmf_module *m, DMF_MODULE_ATTRIBUTES *attributes)
{
    dmf_module_init init = { DMF_MODULE_INIT_MAGIC, m, DMF_MAXIMUM_CHILDREN, 0, 0, NULL, STATUS_SUCCESS };
    create_context ctx = { m, false, NULL };
    NTSTATUS status;

    m->descriptor->child_modules_add(dmf_module_handle(m), attributes, &init);
    status = init.status;
    for (ULONG i = 0; i < init.count && NT_SUCCESS(status); i++) {
        DMFMODULE child;
        pk_object *o;
        dmf_module *c;

        status = create_added(&init.entries[i], m->device, &ctx, &child);
        if (!NT_SUCCESS(status))
            break;
        if (!PK_ALWAYS(NT_SUCCESS(pk_object_reference_handle((WDFOBJECT)child, PK_KIND_DMFMODULE, "DMF", &o)))) {
            status = STATUS_INVALID_HANDLE;
            break;
        }
        c = CONTAINING_RECORD(o, dmf_module, header);
        if (!PK_ALWAYS(c->parent_module == m)) {
            pk_object_dereference(o);
            status = STATUS_INVALID_PARAMETER;
            break;
        }
        m->children[m->child_count++] = c; /* keeps the reference */
        m->children_referenced = true;
        if (init.entries[i].result)
            *init.entries[i].result = child;
    }
    free_module_init(&init);
    return status;
}

/* A parent whose option is OPEN_* must not open earlier than any OPEN_* child. */
static NTSTATUS check_open_order(dmf_module *m, const char *api)
{
    DmfModuleOpenOption po = m->descriptor->open_option;

    if (!is_open_option(po))
        return STATUS_SUCCESS;
    for (ULONG i = 0; i < m->child_count; i++) {
        DmfModuleOpenOption co = m->children[i]->descriptor->open_option;
        if (is_open_option(co) && po < co) {
            pk_verifier_report(api, "DMF_%s would open (option %d) before its child DMF_%s (option %d)",
                               m->descriptor->name, (int)po, m->children[i]->descriptor->name, (int)co);
            return STATUS_INVALID_PARAMETER;
        }
    }
    return STATUS_SUCCESS;
}

/* Undoes a creation that failed after pk_object_create: tears the partial tree down, deletes
 * the children already created, and abandons the module. */
static void abandon_module(dmf_module *m)
{
    teardown(m);
    for (ULONG i = 0; i < m->child_count; i++)
        pk_object_delete(&m->children[i]->header);
    release_children(m);
    pk_object_abandon(&m->header);
}

NTSTATUS dmf_module_create(WDFDEVICE device, DMF_MODULE_ATTRIBUTES *attributes, WDF_OBJECT_ATTRIBUTES *object_attributes,
                           const dmf_module_descriptor *d, DMFMODULE *out)
{
    const create_context *ctx = tls_create_context;
    const char *api = d->name;
    WDF_OBJECT_ATTRIBUTES oa;
    pk_object *device_object;
    dmf_module *m, *parent, *owner;
    dmf_host *host;
    size_t head, context_offset;
    bool dynamic, passive, top_level, filter;
    NTSTATUS status;

    tls_create_context = NULL; /* consumed: nested creations start fresh */
    parent = ctx ? ctx->parent : NULL;
    owner = ctx ? ctx->owner : NULL;
    top_level = parent == NULL;

    if (!pk_irql_ok(api, PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!device || !attributes || !out) {
        pk_verifier_report(api, "NULL Device, DmfModuleAttributes or DmfModule");
        return STATUS_INVALID_PARAMETER;
    }
    status = validate_attributes(attributes, d, api);
    if (!NT_SUCCESS(status))
        return status;
    passive = (d->options & DMF_MODULE_OPTIONS_PASSIVE) ||
              ((d->options & DMF_MODULE_OPTIONS_DISPATCH_MAXIMUM) && attributes->PassiveLevel);
    dynamic = parent ? parent->dynamic : !(ctx && ctx->is_static);
    if (dynamic) {
        status = validate_dynamic(d, api);
        if (!NT_SUCCESS(status))
            return status;
    }
    if (object_attributes && object_attributes->Size != sizeof(WDF_OBJECT_ATTRIBUTES)) {
        pk_verifier_report(api, "WDF_OBJECT_ATTRIBUTES.Size is %u, expected %zu", object_attributes->Size,
                           sizeof(WDF_OBJECT_ATTRIBUTES));
        return STATUS_INFO_LENGTH_MISMATCH;
    }

    /* The Device: any live framework object until WDFDEVICE exists. */
    status = pk_object_reference_handle((WDFOBJECT)device, PK_KIND_ANY, api, &device_object);
    if (!NT_SUCCESS(status))
        return status;
    host = host_of(device_object);
    filter = parent ? parent->filter : (host && host->filter);
    pk_object_dereference(device_object);

    if (object_attributes)
        oa = *object_attributes;
    else
        WDF_OBJECT_ATTRIBUTES_INIT(&oa);
    if (parent)
        oa.ParentObject = (WDFOBJECT)dmf_module_handle(parent);
    else if (!oa.ParentObject)
        oa.ParentObject = (WDFOBJECT)device;

    head = align16(sizeof(dmf_module));
    context_offset = head;
    status = pk_object_create(dynamic && top_level && !owner ? &module_type_dynamic : &module_type_owned, &oa, NULL,
                              head + align16(d->context_size) + d->config_size, api, (void **)&m);
    if (!NT_SUCCESS(status))
        return status;
    /* Deletion closes the module and waits for its references: it needs PASSIVE_LEVEL, so a
     * delete at DISPATCH_LEVEL finishes on a worker thread. */
    m->header.execution_level = WdfExecutionLevelPassive;
    m->descriptor = d;
    m->parent_module = parent;
    m->device = parent ? parent->device : (WDFOBJECT)device;
    m->passive = passive;
    m->dynamic = dynamic;
    m->client_created = top_level && !owner;
    m->owner = owner;
    m->filter = filter;
    m->context = d->context_size ? (char *)m + context_offset : NULL;
    m->config = d->config_size ? (char *)m + head + align16(d->context_size) : NULL;
    if (d->config_size)
        memcpy(m->config, attributes->ModuleConfigPointer, d->config_size);
    if (attributes->ClientCallbacks)
        m->client_callbacks = *attributes->ClientCallbacks;
    if (attributes->ClientModuleInstanceName)
        snprintf(m->instance_name, sizeof(m->instance_name), "%s", attributes->ClientModuleInstanceName);
    pk_lock_init(&m->lock_word);
    pk_lock_init(&m->state_lock);
    m->state = DMF_STATE_CLOSED;
    m->history[0].to = DMF_STATE_CLOSED;
    m->history_next = 1;
    KeInitializeEvent(&m->refs_gone, NotificationEvent, FALSE);

    if (d->create) {
        status = d->create(dmf_module_handle(m));
        if (!NT_SUCCESS(status))
            goto abandon;
    }
    m->created_ok = true;

    if (d->child_modules_add) {
        status = create_children(m, attributes);
        if (!NT_SUCCESS(status))
            goto abandon;
    }
    status = check_open_order(m, api);
    if (!NT_SUCCESS(status))
        goto abandon;

    if (top_level) {
        up_event ev = { POINT_CREATE, false, false, NULL, NULL, 0 };
        status = walk_up_all(&m, 1, &ev);
        if (!NT_SUCCESS(status))
            goto abandon;
    }
    PK_TRACE(PnpkitTraceInfo, "dmf", "created %s %s %p (%s%s%s)", d->name, m->instance_name,
             (void *)dmf_module_handle(m), dynamic ? "dynamic" : "static", passive ? ", passive" : "",
             top_level ? "" : ", child");
    *out = dmf_module_handle(m);
    pk_object_commit(&m->header);
    return STATUS_SUCCESS;

abandon:
    abandon_module(m);
    return status;
}

NTSTATUS dmf_module_create_owned(dmf_module *owner, DMF_ModuleInstanceCreate *creator, DMF_MODULE_ATTRIBUTES *attributes,
                                 WDF_OBJECT_ATTRIBUTES *object_attributes, DMFMODULE *out)
{
    create_context ctx = { NULL, false, owner };
    NTSTATUS status;

    tls_create_context = &ctx;
    status = creator((WDFDEVICE)owner->device, attributes, object_attributes, out);
    tls_create_context = NULL;
    return status;
}

void dmf_module_delete_owned(DMFMODULE module)
{
    pk_object *o;

    if (!PK_ALWAYS(NT_SUCCESS(pk_object_reference_handle((WDFOBJECT)module, PK_KIND_DMFMODULE, "DMF", &o))))
        return;
    pk_object_delete(o);
    pk_object_dereference(o);
}

/* =============================================================================================
 * WDF entry points (called by the WDF device code; see dmf_internal.h)
 * ============================================================================================= */

/* Snapshot of a device's static modules, each referenced; NULL/0 when it has none. */
static dmf_module **host_snapshot(WDFOBJECT device, const char *api, ULONG *count, NTSTATUS *status)
{
    pk_object *o;
    dmf_host *host;
    dmf_module **list = NULL;

    *count = 0;
    *status = pk_object_reference_handle(device, PK_KIND_ANY, api, &o);
    if (!NT_SUCCESS(*status))
        return NULL;
    host = host_of(o);
    if (host) {
        pk_lock_acquire(&host->lock);
        if (host->count) {
            list = pk_alloc(sizeof(*list) * host->count);
            if (list) {
                for (ULONG i = 0; i < host->count; i++) {
                    list[i] = host->modules[i];
                    pk_object_reference(&list[i]->header);
                }
                *count = host->count;
            } else {
                *status = STATUS_INSUFFICIENT_RESOURCES;
            }
        }
        pk_lock_release(&host->lock);
    }
    pk_object_dereference(o);
    return list;
}

static void release_snapshot(dmf_module **list, ULONG count)
{
    for (ULONG i = 0; i < count; i++)
        pk_object_dereference(&list[i]->header);
    pk_free(list);
}

static NTSTATUS entry_up(WDFOBJECT device, const char *api, const up_event *ev)
{
    ULONG count;
    NTSTATUS status;
    dmf_module **list;

    if (!pk_irql_ok(api, PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    list = host_snapshot(device, api, &count, &status);
    if (!NT_SUCCESS(status))
        return status;
    status = walk_up_all(list, count, ev);
    release_snapshot(list, count);
    return status;
}

static NTSTATUS entry_down(WDFOBJECT device, const char *api, const down_event *ev)
{
    ULONG count;
    NTSTATUS status;
    dmf_module **list;

    if (!pk_irql_ok(api, PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    list = host_snapshot(device, api, &count, &status);
    if (!NT_SUCCESS(status))
        return status;
    for (ULONG i = count; i-- > 0;)
        walk_down(list[i], ev);
    release_snapshot(list, count);
    return STATUS_SUCCESS;
}

NTSTATUS dmf_modules_on_prepare_hardware(WDFOBJECT device, WDFCMRESLIST resources_raw, WDFCMRESLIST resources_translated)
{
    up_event ev = { POINT_PREPARE_HARDWARE, true, false, resources_raw, resources_translated, 0 };
    return entry_up(device, "dmf_modules_on_prepare_hardware", &ev);
}

NTSTATUS dmf_modules_on_release_hardware(WDFOBJECT device, WDFCMRESLIST resources_translated)
{
    down_event ev = { POINT_PREPARE_HARDWARE, true, false, resources_translated, 0 };
    return entry_down(device, "dmf_modules_on_release_hardware", &ev);
}

NTSTATUS dmf_modules_on_d0_entry(WDFOBJECT device, ULONG previous_state)
{
    up_event ev = { POINT_D0, false, true, NULL, NULL, previous_state };
    return entry_up(device, "dmf_modules_on_d0_entry", &ev);
}

NTSTATUS dmf_modules_on_d0_exit(WDFOBJECT device, ULONG target_state)
{
    down_event ev = { POINT_D0, false, true, NULL, target_state };
    return entry_down(device, "dmf_modules_on_d0_exit", &ev);
}

/* =============================================================================================
 * Public calls: hosting modules in a client driver
 * ============================================================================================= */

static PDMFDEVICE_INIT device_init_allocate(struct WDFDEVICE_INIT *device_init, bool control, const char *api)
{
    PDMFDEVICE_INIT init;

    if (!pk_irql_ok(api, PASSIVE_LEVEL))
        return NULL;
    init = pk_zalloc(sizeof(*init));
    if (!init)
        return NULL;
    init->magic = DMF_DEVICE_INIT_MAGIC;
    init->device_init = device_init;
    init->control = control;
    return init;
}

PDMFDEVICE_INIT DMF_DmfDeviceInitAllocate(struct WDFDEVICE_INIT *DeviceInit)
{
    return device_init_allocate(DeviceInit, false, "DMF_DmfDeviceInitAllocate");
}

PDMFDEVICE_INIT DMF_DmfControlDeviceInitAllocate(struct WDFDEVICE_INIT *DeviceInit)
{
    return device_init_allocate(DeviceInit, true, "DMF_DmfControlDeviceInitAllocate");
}

/* NULL (an allocation that failed) is accepted silently; anything else must be ours. */
static bool device_init_ok(PDMFDEVICE_INIT init, const char *api)
{
    if (!init)
        return false;
    if (init->magic != DMF_DEVICE_INIT_MAGIC) {
        pk_verifier_stop(api, "%p is not a PDMFDEVICE_INIT from DMF_DmfDeviceInitAllocate", (void *)init);
        return false;
    }
    return pk_irql_ok(api, PASSIVE_LEVEL);
}

VOID DMF_DmfControlDeviceInitSetClientDriverDevice(PDMFDEVICE_INIT DmfDeviceInit, WDFDEVICE Device)
{
    if (device_init_ok(DmfDeviceInit, "DMF_DmfControlDeviceInitSetClientDriverDevice"))
        DmfDeviceInit->client_driver_device = Device;
}

VOID DMF_DmfDeviceInitFree(PDMFDEVICE_INIT *DmfDeviceInit)
{
    if (!pk_irql_ok("DMF_DmfDeviceInitFree", DISPATCH_LEVEL) || !DmfDeviceInit || !*DmfDeviceInit)
        return;
    if ((*DmfDeviceInit)->magic != DMF_DEVICE_INIT_MAGIC) {
        pk_verifier_stop("DMF_DmfDeviceInitFree", "%p is not a PDMFDEVICE_INIT", (void *)*DmfDeviceInit);
        return;
    }
    (*DmfDeviceInit)->magic = 0;
    pk_free(*DmfDeviceInit);
    *DmfDeviceInit = NULL;
}

static void record_hook(PDMFDEVICE_INIT init, uint8_t *counter, const char *api)
{
    if (!device_init_ok(init, api))
        return;
    if ((*counter)++)
        pk_verifier_report(api, "called more than once for the same device");
}

VOID DMF_DmfDeviceInitHookPnpPowerEventCallbacks(PDMFDEVICE_INIT DmfDeviceInit,
                                                 struct _WDF_PNPPOWER_EVENT_CALLBACKS *PnpPowerEventCallbacks)
{
    record_hook(DmfDeviceInit, DmfDeviceInit ? &DmfDeviceInit->hooked_pnp_power : NULL,
                "DMF_DmfDeviceInitHookPnpPowerEventCallbacks");
}

VOID DMF_DmfDeviceInitHookPowerPolicyEventCallbacks(PDMFDEVICE_INIT DmfDeviceInit,
                                                    struct _WDF_POWER_POLICY_EVENT_CALLBACKS *PowerPolicyEventCallbacks)
{
    record_hook(DmfDeviceInit, DmfDeviceInit ? &DmfDeviceInit->hooked_power_policy : NULL,
                "DMF_DmfDeviceInitHookPowerPolicyEventCallbacks");
}

VOID DMF_DmfDeviceInitHookFileObjectConfig(PDMFDEVICE_INIT DmfDeviceInit, struct _WDF_FILEOBJECT_CONFIG *FileObjectConfig)
{
    record_hook(DmfDeviceInit, DmfDeviceInit ? &DmfDeviceInit->hooked_file_object : NULL,
                "DMF_DmfDeviceInitHookFileObjectConfig");
}

VOID DMF_DmfDeviceInitHookQueueConfig(PDMFDEVICE_INIT DmfDeviceInit, struct _WDF_IO_QUEUE_CONFIG *QueueConfig)
{
    record_hook(DmfDeviceInit, DmfDeviceInit ? &DmfDeviceInit->hooked_queue : NULL,
                "DMF_DmfDeviceInitHookQueueConfig");
}

VOID DMF_DmfFdoSetFilter(PDMFDEVICE_INIT DmfDeviceInit)
{
    if (device_init_ok(DmfDeviceInit, "DMF_DmfFdoSetFilter"))
        DmfDeviceInit->filter = true;
}

VOID DMF_DmfDeviceInitSetEventCallbacks(PDMFDEVICE_INIT DmfDeviceInit, DMF_EVENT_CALLBACKS *DmfEventCallbacks)
{
    if (!device_init_ok(DmfDeviceInit, "DMF_DmfDeviceInitSetEventCallbacks"))
        return;
    if (!DmfEventCallbacks || DmfEventCallbacks->Size != sizeof(DMF_EVENT_CALLBACKS)) {
        pk_verifier_report("DMF_DmfDeviceInitSetEventCallbacks", "NULL callbacks or a wrong Size (use "
                                                                 "DMF_EVENT_CALLBACKS_INIT)");
        return;
    }
    DmfDeviceInit->callbacks = *DmfEventCallbacks;
}

VOID DMF_DmfModuleAdd(PDMFMODULE_INIT DmfModuleInit, DMF_MODULE_ATTRIBUTES *ModuleAttributes,
                      WDF_OBJECT_ATTRIBUTES *ObjectAttributes, DMFMODULE *ResultantDmfModule)
{
    static const char api[] = "DMF_DmfModuleAdd";
    dmf_module_init *init = DmfModuleInit;
    dmf_add_entry *e;

    if (!pk_irql_ok(api, PASSIVE_LEVEL))
        return;
    if (!init || init->magic != DMF_MODULE_INIT_MAGIC) {
        pk_verifier_stop(api, "%p is not the PDMFMODULE_INIT of a modules-add callback", DmfModuleInit);
        return;
    }
    if (!NT_SUCCESS(init->status))
        return;
    if (!ModuleAttributes || ModuleAttributes->SizeOfHeader != sizeof(DMF_MODULE_ATTRIBUTES) ||
        (ModuleAttributes->SizeOfModuleSpecificConfig && !ModuleAttributes->ModuleConfigPointer) ||
        (ObjectAttributes && ObjectAttributes->Size != sizeof(WDF_OBJECT_ATTRIBUTES))) {
        pk_verifier_report(api, "NULL or malformed module or object attributes");
        init->status = STATUS_INVALID_PARAMETER;
        return;
    }
    if (init->limit && init->count >= init->limit) {
        pk_verifier_report(api, "DMF_%s adds more than %u children", init->parent->descriptor->name, init->limit);
        init->status = STATUS_INVALID_PARAMETER;
        return;
    }
    if (init->count == init->capacity) {
        ULONG capacity = init->capacity ? init->capacity * 2 : 4;
        dmf_add_entry *entries = pk_realloc(init->entries, sizeof(*entries) * capacity);
        if (!entries) {
            init->status = STATUS_INSUFFICIENT_RESOURCES;
            return;
        }
        init->entries = entries;
        init->capacity = capacity;
    }
    e = &init->entries[init->count];
    memset(e, 0, sizeof(*e));
    e->attributes = *ModuleAttributes;
    if (ModuleAttributes->SizeOfModuleSpecificConfig) {
        e->config = pk_alloc(ModuleAttributes->SizeOfModuleSpecificConfig);
        if (!e->config) {
            init->status = STATUS_INSUFFICIENT_RESOURCES;
            return;
        }
        memcpy(e->config, ModuleAttributes->ModuleConfigPointer, ModuleAttributes->SizeOfModuleSpecificConfig);
    }
    if (ModuleAttributes->ClientCallbacks) {
        e->callbacks = *ModuleAttributes->ClientCallbacks;
        e->has_callbacks = true;
    }
    if (ModuleAttributes->ClientModuleInstanceName)
        snprintf(e->name, sizeof(e->name), "%s", ModuleAttributes->ClientModuleInstanceName);
    if (ObjectAttributes) {
        e->object_attributes = *ObjectAttributes;
        e->has_object_attributes = true;
    }
    e->attributes.DynamicModuleImmediate = FALSE;
    e->attributes.DynamicModule = (BOOLEAN)(init->parent ? init->parent->dynamic : FALSE);
    e->result = ResultantDmfModule;
    init->count++;
}

static void host_cleanup(WDFOBJECT device)
{
    pk_object *o;
    dmf_host *host;

    if (!PK_ALWAYS(NT_SUCCESS(pk_object_reference_handle(device, PK_KIND_ANY, "DMF", &o))))
        return;
    host = host_of(o);
    if (host) {
        for (ULONG i = 0; i < host->count; i++)
            pk_object_dereference(&host->modules[i]->header);
        pk_free(host->modules);
        host->modules = NULL;
        host->count = host->capacity = 0;
    }
    pk_object_dereference(o);
}

/* ---- File-object events (spec 1.1a: DMF routes them to the modules before the client) ---- */

static bool tree_has_file_callbacks(dmf_module *m)
{
    const dmf_module_descriptor *d = m->descriptor;

    if (d->file_create || d->file_cleanup || d->file_close)
        return true;
    for (ULONG i = 0; i < m->child_count; i++)
        if (tree_has_file_callbacks(m->children[i]))
            return true;
    return false;
}

static bool takes_file_events(WDFOBJECT device)
{
    pk_object *o;
    dmf_host *host;
    bool takes = false;

    if (!NT_SUCCESS(pk_object_reference_handle(device, PK_KIND_ANY, "DMF", &o)))
        return false;
    host = host_of(o);
    if (host)
        takes = pk_load_acquire(&host->file_events);
    pk_object_dereference(o);
    return takes;
}

typedef enum { FILE_EV_CREATE, FILE_EV_CLEANUP, FILE_EV_CLOSE } file_event;

/* Children first, as up the stack. Only open modules take part (each held by a reference for
 * its callback). Returns TRUE when a module handled a create (the walk stops there). */
static BOOLEAN file_walk(dmf_module *m, file_event ev, WDFDEVICE device, WDFREQUEST request, WDFFILEOBJECT file)
{
    const dmf_module_descriptor *d = m->descriptor;
    BOOLEAN handled = FALSE;

    for (ULONG i = 0; i < m->child_count; i++)
        if (file_walk(m->children[i], ev, device, request, file))
            return TRUE;
    if (!NT_SUCCESS(module_reference(m)))
        return FALSE;
    if (ev == FILE_EV_CREATE && d->file_create)
        handled = d->file_create(dmf_module_handle(m), device, request, file);
    else if (ev == FILE_EV_CLEANUP && d->file_cleanup)
        d->file_cleanup(dmf_module_handle(m), file);
    else if (ev == FILE_EV_CLOSE && d->file_close)
        d->file_close(dmf_module_handle(m), file);
    module_dereference(m, "DMF");
    return handled;
}

static BOOLEAN file_event_all(WDFDEVICE device, file_event ev, WDFREQUEST request, WDFFILEOBJECT file)
{
    NTSTATUS status;
    ULONG count;
    BOOLEAN handled = FALSE;
    dmf_module **list = host_snapshot((WDFOBJECT)device, "DMF", &count, &status);

    for (ULONG i = 0; i < count && !handled; i++)
        handled = file_walk(list[i], ev, device, request, file);
    release_snapshot(list, count);
    return handled;
}

static BOOLEAN on_file_create(WDFDEVICE device, WDFREQUEST request, WDFFILEOBJECT file)
{
    return file_event_all(device, FILE_EV_CREATE, request, file);
}

static void on_file_cleanup(WDFDEVICE device, WDFFILEOBJECT file)
{
    (void)file_event_all(device, FILE_EV_CLEANUP, NULL, file);
}

static void on_file_close(WDFDEVICE device, WDFFILEOBJECT file)
{
    (void)file_event_all(device, FILE_EV_CLOSE, NULL, file);
}

static const wdf_device_extension dmf_device_extension = {
    .prepare_hardware = dmf_modules_on_prepare_hardware,
    .release_hardware = dmf_modules_on_release_hardware,
    .d0_entry = dmf_modules_on_d0_entry,
    .d0_exit = dmf_modules_on_d0_exit,
    .takes_file_events = takes_file_events,
    .file_create = on_file_create,
    .file_cleanup = on_file_cleanup,
    .file_close = on_file_close,
};

NTSTATUS DMF_ModulesCreate(WDFDEVICE Device, PDMFDEVICE_INIT *DmfDeviceInit)
{
    static const char api[] = "DMF_ModulesCreate";
    dmf_module_init init = { DMF_MODULE_INIT_MAGIC, NULL, 0, 0, 0, NULL, STATUS_SUCCESS };
    create_context ctx = { NULL, true, NULL };
    WDF_OBJECT_ATTRIBUTES host_attributes;
    PDMFDEVICE_INIT dinit;
    dmf_host *host;
    pk_object *o = NULL;
    NTSTATUS status;
    ULONG created = 0;

    if (!pk_irql_ok(api, PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!DmfDeviceInit)
        return STATUS_INVALID_PARAMETER;
    dinit = *DmfDeviceInit;
    if (!dinit || !Device) {
        status = STATUS_INVALID_PARAMETER;
        goto free_init;
    }
    if (dinit->magic != DMF_DEVICE_INIT_MAGIC) {
        pk_verifier_stop(api, "%p is not a PDMFDEVICE_INIT", (void *)dinit);
        return STATUS_INVALID_PARAMETER;
    }
    if ((!dinit->control && (!dinit->hooked_pnp_power || !dinit->hooked_power_policy)) || !dinit->hooked_file_object)
        pk_verifier_stop(api, "the client did not call every DMF_DmfDeviceInitHook* (PnP/power %u, power policy %u, "
                              "file object %u)",
                         dinit->hooked_pnp_power, dinit->hooked_power_policy, dinit->hooked_file_object);

    status = pk_object_reference_handle((WDFOBJECT)Device, PK_KIND_ANY, api, &o);
    if (!NT_SUCCESS(status))
        goto free_init;
    WDF_OBJECT_ATTRIBUTES_INIT(&host_attributes);
    host_attributes.ContextTypeInfo = &dmf_host_type_info;
    host_attributes.EvtCleanupCallback = host_cleanup;
    status = pk_object_allocate_context(o, &host_attributes, (void **)&host);
    if (status == STATUS_OBJECT_NAME_EXISTS) {
        pk_verifier_report(api, "modules were already created on device %p", (void *)Device);
        status = STATUS_INVALID_DEVICE_STATE;
    }
    if (!NT_SUCCESS(status))
        goto release_device;
    host->filter = dinit->filter;

    if (dinit->callbacks.EvtDmfDeviceModulesAdd)
        dinit->callbacks.EvtDmfDeviceModulesAdd(Device, &init);
    status = init.status;
    if (!NT_SUCCESS(status))
        goto free_adds;
    host->modules = init.count ? pk_zalloc(sizeof(*host->modules) * init.count) : NULL;
    if (init.count && !host->modules) {
        status = STATUS_INSUFFICIENT_RESOURCES;
        goto free_adds;
    }
    host->capacity = init.count;
    for (created = 0; created < init.count; created++) {
        DMFMODULE handle;
        pk_object *mo;

        status = create_added(&init.entries[created], (WDFOBJECT)Device, &ctx, &handle);
        if (!NT_SUCCESS(status))
            goto delete_modules;
        if (!PK_ALWAYS(NT_SUCCESS(pk_object_reference_handle((WDFOBJECT)handle, PK_KIND_DMFMODULE, api, &mo)))) {
            status = STATUS_INVALID_HANDLE;
            goto delete_modules;
        }
        pk_lock_acquire(&host->lock);
        host->modules[host->count++] = CONTAINING_RECORD(mo, dmf_module, header);
        pk_lock_release(&host->lock);
        if (init.entries[created].result)
            *init.entries[created].result = handle;
    }
    /* On a WDFDEVICE, the device's PnP, power and file-object events now reach the modules by
     * themselves. */
    pk_lock_acquire(&host->lock);
    for (ULONG i = 0; i < host->count; i++)
        if (tree_has_file_callbacks(host->modules[i]))
            host->file_events = true;
    pk_lock_release(&host->lock);
    if (o->type && o->type->kind == PK_KIND_DEVICE)
        (void)PK_ALWAYS(NT_SUCCESS(wdf_device_set_extension(o, &dmf_device_extension)));
    free_module_init(&init);
    pk_object_dereference(o);
    DMF_DmfDeviceInitFree(DmfDeviceInit);
    return STATUS_SUCCESS;

delete_modules:
    /* Newest first, as the device's deletion would. */
    pk_lock_acquire(&host->lock);
    while (host->count) {
        dmf_module *m = host->modules[--host->count];
        pk_lock_release(&host->lock);
        pk_object_delete(&m->header);
        pk_object_dereference(&m->header);
        pk_lock_acquire(&host->lock);
    }
    pk_lock_release(&host->lock);
free_adds:
    free_module_init(&init);
release_device:
    pk_object_dereference(o);
free_init:
    DMF_DmfDeviceInitFree(DmfDeviceInit);
    return status;
}

/* =============================================================================================
 * Public calls: methods every module has
 * ============================================================================================= */

NTSTATUS DMF_ModuleReference(DMFMODULE DmfModule)
{
    dmf_module *m;
    NTSTATUS status;

    if (!module_enter(DmfModule, "DMF_ModuleReference", DISPATCH_LEVEL, &m))
        return STATUS_INVALID_PARAMETER;
    status = module_reference(m);
    pk_object_dereference(&m->header);
    return status;
}

VOID DMF_ModuleDereference(DMFMODULE DmfModule)
{
    dmf_module *m;

    if (!module_enter(DmfModule, "DMF_ModuleDereference", DISPATCH_LEVEL, &m))
        return;
    module_dereference(m, "DMF_ModuleDereference");
    pk_object_dereference(&m->header);
}

NTSTATUS DMF_ModuleOpen(DMFMODULE DmfModule)
{
    dmf_module *m;
    NTSTATUS status;

    if (!module_enter(DmfModule, "DMF_ModuleOpen", PASSIVE_LEVEL, &m))
        return STATUS_INVALID_PARAMETER;
    status = module_open(m);
    pk_object_dereference(&m->header);
    return status;
}

VOID DMF_ModuleClose(DMFMODULE DmfModule)
{
    dmf_module *m;

    if (!module_enter(DmfModule, "DMF_ModuleClose", PASSIVE_LEVEL, &m))
        return;
    module_close(m);
    pk_object_dereference(&m->header);
}

NTSTATUS DMF_ModuleConfigRetrieve(DMFMODULE DmfModule, PVOID ModuleConfigPointer, size_t ModuleConfigSize)
{
    dmf_module *m;
    NTSTATUS status = STATUS_SUCCESS;

    if (!module_enter(DmfModule, "DMF_ModuleConfigRetrieve", DISPATCH_LEVEL, &m))
        return STATUS_INVALID_PARAMETER;
    if (!ModuleConfigPointer || ModuleConfigSize != m->descriptor->config_size || !ModuleConfigSize)
        status = STATUS_INVALID_PARAMETER;
    else
        memcpy(ModuleConfigPointer, m->config, ModuleConfigSize);
    pk_object_dereference(&m->header);
    return status;
}

VOID *DMF_ModuleConfigGet(DMFMODULE DmfModule)
{
    dmf_module *m;
    void *config;

    if (!module_enter(DmfModule, "DMF_ModuleConfigGet", DISPATCH_LEVEL, &m))
        return NULL;
    config = m->config;
    pk_object_dereference(&m->header);
    return config;
}

DMFMODULE DMF_ParentModuleGet(DMFMODULE DmfModule)
{
    dmf_module *m;
    DMFMODULE parent;

    if (!module_enter(DmfModule, "DMF_ParentModuleGet", DISPATCH_LEVEL, &m))
        return NULL;
    parent = m->parent_module ? dmf_module_handle(m->parent_module) : NULL;
    pk_object_dereference(&m->header);
    return parent;
}

WDFDEVICE DMF_ParentDeviceGet(DMFMODULE DmfModule)
{
    dmf_module *m;
    WDFDEVICE device;

    if (!module_enter(DmfModule, "DMF_ParentDeviceGet", DISPATCH_LEVEL, &m))
        return NULL;
    device = (WDFDEVICE)m->device;
    pk_object_dereference(&m->header);
    return device;
}

/* The BOOLEAN properties: FALSE for a bad handle. */
#define DMF_MODULE_PROPERTY(Name, expression) \
    BOOLEAN Name(DMFMODULE DmfModule) \
    { \
        dmf_module *m; \
        BOOLEAN value; \
        if (!module_enter(DmfModule, #Name, DISPATCH_LEVEL, &m)) \
            return FALSE; \
        value = (BOOLEAN)(expression); \
        pk_object_dereference(&m->header); \
        return value; \
    }

DMF_MODULE_PROPERTY(DMF_ModuleIsInFilterDriver, m->filter)
DMF_MODULE_PROPERTY(DMF_IsModuleDynamic, m->dynamic)
DMF_MODULE_PROPERTY(DMF_IsModulePassiveLevel, m->passive)
DMF_MODULE_PROPERTY(DMF_ModuleLockIsPassive, m->passive)

BOOLEAN DMF_IsPoolTypePassiveLevel(POOL_TYPE PoolType) { return (BOOLEAN)(((unsigned)PoolType & 1u) != 0); }

VOID DMF_ModuleLock(DMFMODULE DmfModule)
{
    dmf_module *m;

    if (!module_enter(DmfModule, "DMF_ModuleLock", DISPATCH_LEVEL, &m))
        return;
    dmf_module_lock(m, "DMF_ModuleLock");
    pk_object_dereference(&m->header);
}

VOID DMF_ModuleUnlock(DMFMODULE DmfModule)
{
    dmf_module *m;

    if (!module_enter(DmfModule, "DMF_ModuleUnlock", DISPATCH_LEVEL, &m))
        return;
    if (!dmf_module_lock_held_by_me(m))
        pk_verifier_stop("DMF_ModuleUnlock", "the lock of %s module %p is not held by this thread", m->descriptor->name,
                         (void *)DmfModule);
    else
        dmf_module_unlock(m);
    pk_object_dereference(&m->header);
}
