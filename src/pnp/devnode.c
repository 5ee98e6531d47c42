/*
 * devnode.c — device nodes: the tree, the DEVINST table, lookups by instance id and by PDO,
 * node states, and the cfgmgr32 functions that read the tree.
 *
 * pnp.tree_lock protects the tree links, the DEVINST table, the PDO map, node states and
 * problems. A node is reference-counted: the tree holds one reference from creation until it
 * is unlinked (Deleted); lookups take one under the lock. The memory goes with the last
 * reference. DEVINST = slot | generation << 16, so a DEVINST of a deleted node is detected.
 */
#include "pnp/pnp_internal.h"

#include <string.h>

#define MAX_NODES 65535u

static struct {
    pnp_devnode **slots;        /* tree_lock */
    uint16_t *generations;      /* tree_lock */
    uint32_t *free_slots;       /* slots of deleted nodes, reused last in first out; tree_lock */
    uint32_t free_count;
    uint32_t nslots, capacity;  /* tree_lock */
    pnp_devnode *root;          /* tree_lock */
    /* PDO -> node map: open addressing on the pointer. tree_lock. */
    struct { PDEVICE_OBJECT pdo; pnp_devnode *node; } *pdo_map;
    uint32_t pdo_cap, pdo_count;
    /* Instance id -> node: open addressing on the case-folded id. tree_lock. */
    pnp_devnode **id_map;
    uint32_t id_cap, id_count;
} tree;

void pnp_node_reference(pnp_devnode *n) { pk_fetch_add(&n->refs, 1u); }

static void node_free(pnp_devnode *n)
{
    if (n->pdo)
        ObDereferenceObject(n->pdo);
    if (n->parent)
        pnp_node_dereference(n->parent);
    pk_free(n->hardware_ids);
    pk_free(n->compatible_ids);
    pk_free(n);
    pk_live_add(-1);
}

void pnp_node_dereference(pnp_devnode *n)
{
    if (pk_fetch_sub(&n->refs, 1u) == 1u)
        node_free(n);
}

static size_t multi_sz_len(PCZZWSTR s)
{
    size_t n = 0;
    if (!s)
        return 0;
    while (s[n] || s[n + 1])
        n++;
    return n + 2; /* both terminating NULs */
}

static WCHAR *multi_sz_dup(PCZZWSTR s)
{
    size_t n;
    WCHAR *d;
    if (!s)
        return NULL;
    n = s[0] ? multi_sz_len(s) : 2;
    d = pk_zalloc(n * sizeof(WCHAR));
    if (d && s[0])
        memcpy(d, s, n * sizeof(WCHAR));
    return d;
}

static bool ids_equal(PCWSTR a, size_t alen, PCWSTR b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++)
        if (RtlUpcaseUnicodeChar(a[i]) != RtlUpcaseUnicodeChar(b[i]))
            return false;
    return true;
}

/* ---- DEVINST table (tree_lock) ---- */

static bool devinst_alloc_locked(pnp_devnode *n)
{
    uint32_t slot = 0;
    if (tree.free_count)
        slot = tree.free_slots[--tree.free_count];
    if (!slot) {
        if (tree.nslots >= MAX_NODES)
            return false;
        if (tree.nslots == tree.capacity) {
            uint32_t cap = tree.capacity ? tree.capacity * 2 : 64;
            pnp_devnode **s = pk_realloc(tree.slots, cap * sizeof(*s));
            if (!s)
                return false;
            tree.slots = s;
            uint16_t *g = pk_realloc(tree.generations, cap * sizeof(*g));
            if (!g)
                return false;
            tree.generations = g;
            uint32_t *f = pk_realloc(tree.free_slots, cap * sizeof(*f));
            if (!f)
                return false;
            tree.free_slots = f;
            for (uint32_t i = tree.capacity; i < cap; i++) {
                tree.slots[i] = NULL;
                tree.generations[i] = 0;
            }
            tree.capacity = cap;
            if (tree.nslots == 0)
                tree.nslots = 1; /* DEVINST 0 is never valid */
        }
        slot = tree.nslots++;
    }
    tree.generations[slot] = (uint16_t)(tree.generations[slot] + 1);
    if (tree.generations[slot] == 0)
        tree.generations[slot] = 1;
    tree.slots[slot] = n;
    n->devinst = slot | ((DEVINST)tree.generations[slot] << 16);
    return true;
}

pnp_devnode *pnp_node_from_devinst(DEVINST devinst)
{
    uint32_t slot = devinst & 0xFFFF;
    pnp_devnode *n = NULL;

    pk_lock_acquire(&pnp.tree_lock);
    if (slot && slot < tree.nslots && tree.slots[slot] && tree.slots[slot]->devinst == devinst) {
        n = tree.slots[slot];
        pnp_node_reference(n);
    }
    pk_lock_release(&pnp.tree_lock);
    return n;
}

NTSTATUS PnpkitReferencePhysicalDeviceObject(DEVINST DevInst, PDEVICE_OBJECT *PhysicalDeviceObject)
{
    uint32_t slot = DevInst & 0xFFFF;
    PDEVICE_OBJECT pdo = NULL;

    if (!pk_irql_ok("PnpkitReferencePhysicalDeviceObject", DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!PhysicalDeviceObject)
        return STATUS_INVALID_PARAMETER;
    pk_lock_acquire(&pnp.tree_lock);
    if (slot && slot < tree.nslots && tree.slots[slot] && tree.slots[slot]->devinst == DevInst) {
        pdo = tree.slots[slot]->pdo;
        if (pdo)
            ObReferenceObject(pdo);
    }
    pk_lock_release(&pnp.tree_lock);
    if (!pdo)
        return STATUS_NO_SUCH_DEVICE;
    *PhysicalDeviceObject = pdo;
    return STATUS_SUCCESS;
}

/* ---- PDO map (tree_lock) ---- */

static uint32_t ptr_hash(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (uint32_t)x;
}

static bool pdo_map_grow_locked(void)
{
    uint32_t cap = tree.pdo_cap ? tree.pdo_cap * 2 : 64;
    __typeof__(tree.pdo_map) m = pk_zalloc(cap * sizeof(*m));
    if (!m)
        return false;
    for (uint32_t i = 0; i < tree.pdo_cap; i++)
        if (tree.pdo_map[i].pdo) {
            uint32_t h = ptr_hash(tree.pdo_map[i].pdo) & (cap - 1);
            while (m[h].pdo)
                h = (h + 1) & (cap - 1);
            m[h] = tree.pdo_map[i];
        }
    pk_free(tree.pdo_map);
    tree.pdo_map = m;
    tree.pdo_cap = cap;
    return true;
}

static void pdo_map_remove_locked(PDEVICE_OBJECT pdo)
{
    uint32_t cap = tree.pdo_cap, h;
    if (!cap)
        return;
    for (h = ptr_hash(pdo) & (cap - 1); tree.pdo_map[h].pdo; h = (h + 1) & (cap - 1))
        if (tree.pdo_map[h].pdo == pdo)
            break;
    if (!tree.pdo_map[h].pdo)
        return;
    tree.pdo_map[h].pdo = NULL;
    tree.pdo_count--;
    /* Re-insert the rest of the cluster (backward-shift deletion). */
    for (uint32_t j = (h + 1) & (cap - 1); tree.pdo_map[j].pdo; j = (j + 1) & (cap - 1)) {
        __typeof__(tree.pdo_map[0]) e = tree.pdo_map[j];
        uint32_t k = ptr_hash(e.pdo) & (cap - 1);
        tree.pdo_map[j].pdo = NULL;
        while (tree.pdo_map[k].pdo)
            k = (k + 1) & (cap - 1);
        tree.pdo_map[k] = e;
    }
}

void pnp_node_set_pdo(pnp_devnode *n, PDEVICE_OBJECT pdo)
{
    pk_lock_acquire(&pnp.tree_lock);
    if ((tree.pdo_count + 1) * 2 > tree.pdo_cap && !pdo_map_grow_locked()) {
        pk_lock_release(&pnp.tree_lock);
        return;
    }
    uint32_t h = ptr_hash(pdo) & (tree.pdo_cap - 1);
    while (tree.pdo_map[h].pdo)
        h = (h + 1) & (tree.pdo_cap - 1);
    tree.pdo_map[h].pdo = pdo;
    tree.pdo_map[h].node = n;
    tree.pdo_count++;
    ObReferenceObject(pdo);
    n->pdo = pdo;
    pk_lock_release(&pnp.tree_lock);
}

pnp_devnode *pnp_node_from_pdo(PDEVICE_OBJECT pdo)
{
    pnp_devnode *n = NULL;

    if (!pdo)
        return NULL;
    pk_lock_acquire(&pnp.tree_lock);
    if (tree.pdo_cap) {
        for (uint32_t h = ptr_hash(pdo) & (tree.pdo_cap - 1); tree.pdo_map[h].pdo; h = (h + 1) & (tree.pdo_cap - 1))
            if (tree.pdo_map[h].pdo == pdo) {
                n = tree.pdo_map[h].node;
                if (n->state == PNP_NODE_DELETED)
                    n = NULL;
                else
                    pnp_node_reference(n);
                break;
            }
    }
    pk_lock_release(&pnp.tree_lock);
    return n;
}

/* ---- Instance id map (tree_lock) ---- */

static uint32_t id_hash(PCWSTR id, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ RtlUpcaseUnicodeChar(id[i])) * 16777619u;
    return h;
}

static bool id_map_insert_locked(pnp_devnode *n)
{
    if ((tree.id_count + 1) * 2 > tree.id_cap) {
        uint32_t cap = tree.id_cap ? tree.id_cap * 2 : 64;
        pnp_devnode **m = pk_zalloc(cap * sizeof(*m));
        if (!m)
            return false;
        for (uint32_t i = 0; i < tree.id_cap; i++)
            if (tree.id_map[i]) {
                uint32_t h = id_hash(tree.id_map[i]->instance_id, tree.id_map[i]->instance_id_len) & (cap - 1);
                while (m[h])
                    h = (h + 1) & (cap - 1);
                m[h] = tree.id_map[i];
            }
        pk_free(tree.id_map);
        tree.id_map = m;
        tree.id_cap = cap;
    }
    uint32_t h = id_hash(n->instance_id, n->instance_id_len) & (tree.id_cap - 1);
    while (tree.id_map[h])
        h = (h + 1) & (tree.id_cap - 1);
    tree.id_map[h] = n;
    tree.id_count++;
    return true;
}

static pnp_devnode *id_map_find_locked(PCWSTR id, size_t len)
{
    if (!tree.id_cap)
        return NULL;
    for (uint32_t h = id_hash(id, len) & (tree.id_cap - 1); tree.id_map[h]; h = (h + 1) & (tree.id_cap - 1))
        if (ids_equal(tree.id_map[h]->instance_id, tree.id_map[h]->instance_id_len, id, len))
            return tree.id_map[h];
    return NULL;
}

static void id_map_remove_locked(pnp_devnode *n)
{
    uint32_t cap = tree.id_cap, h;
    if (!cap)
        return;
    for (h = id_hash(n->instance_id, n->instance_id_len) & (cap - 1); tree.id_map[h]; h = (h + 1) & (cap - 1))
        if (tree.id_map[h] == n)
            break;
    if (!tree.id_map[h])
        return;
    tree.id_map[h] = NULL;
    tree.id_count--;
    for (uint32_t j = (h + 1) & (cap - 1); tree.id_map[j]; j = (j + 1) & (cap - 1)) {
        pnp_devnode *e = tree.id_map[j];
        uint32_t k = id_hash(e->instance_id, e->instance_id_len) & (cap - 1);
        tree.id_map[j] = NULL;
        while (tree.id_map[k])
            k = (k + 1) & (cap - 1);
        tree.id_map[k] = e;
    }
}

/* ---- Tree ---- */

static pnp_devnode *node_alloc(PCWSTR id, size_t len, PCZZWSTR hardware_ids, PCZZWSTR compatible_ids)
{
    pnp_devnode *n = pk_zalloc(sizeof(*n));
    if (!n)
        return NULL;
    memcpy(n->instance_id, id, len * sizeof(WCHAR));
    n->instance_id_len = (USHORT)len;
    n->refs = 1;
    InitializeListHead(&n->children);
    InitializeListHead(&n->sibling);
    InitializeListHead(&n->interfaces);
    InitializeListHead(&n->kernel_targets);
    InitializeListHead(&n->user_targets);
    n->disableable = true;
    n->hardware_ids = multi_sz_dup(hardware_ids);
    n->compatible_ids = multi_sz_dup(compatible_ids);
    if ((hardware_ids && !n->hardware_ids) || (compatible_ids && !n->compatible_ids)) {
        pk_free(n->hardware_ids);
        pk_free(n->compatible_ids);
        pk_free(n);
        return NULL;
    }
    n->state = PNP_NODE_INITIALIZED;
    n->history[0].to = PNP_NODE_INITIALIZED;
    n->history_next = 1;
    pk_live_add(1);
    return n;
}

static pnp_devnode *root_locked(void)
{
    static const WCHAR root_id[] = u"HTREE\\ROOT\\0";
    if (!tree.root) {
        pnp_devnode *r = node_alloc(root_id, ARRAYSIZE(root_id) - 1, NULL, NULL);
        if (!r)
            return NULL;
        if (!devinst_alloc_locked(r)) {
            node_free(r);
            return NULL;
        }
        r->state = PNP_NODE_STARTED;
        r->disableable = false;
        if (!id_map_insert_locked(r)) {
            tree.slots[r->devinst & 0xFFFF] = NULL;
            node_free(r);
            return NULL;
        }
        tree.root = r;
    }
    return tree.root;
}

pnp_devnode *pnp_root(void)
{
    pnp_devnode *r;
    pk_lock_acquire(&pnp.tree_lock);
    r = root_locked();
    if (r)
        pnp_node_reference(r);
    pk_lock_release(&pnp.tree_lock);
    return r;
}

pnp_devnode *pnp_node_from_instance_id(PCWSTR id, size_t len)
{
    pnp_devnode *n = NULL;

    pk_lock_acquire(&pnp.tree_lock);
    if (root_locked()) {
        n = id_map_find_locked(id, len);
        if (n && n->state != PNP_NODE_DELETED)
            pnp_node_reference(n);
        else
            n = NULL;
    }
    pk_lock_release(&pnp.tree_lock);
    return n;
}

NTSTATUS pnp_node_create(pnp_devnode *parent, PCWSTR instance_id, PCZZWSTR hardware_ids, PCZZWSTR compatible_ids,
                         pnp_devnode **out)
{
    size_t len = PnpkitWcsLen(instance_id);
    pnp_devnode *n;

    if (len == 0 || len >= MAX_DEVICE_ID_LEN)
        return STATUS_INVALID_PARAMETER;
    n = node_alloc(instance_id, len, hardware_ids, compatible_ids);
    if (!n)
        return STATUS_INSUFFICIENT_RESOURCES;
    pk_lock_acquire(&pnp.tree_lock);
    if (!root_locked() || id_map_find_locked(instance_id, len)) {
        bool exists = tree.root != NULL;
        pk_lock_release(&pnp.tree_lock);
        node_free(n);
        return exists ? STATUS_OBJECT_NAME_COLLISION : STATUS_INSUFFICIENT_RESOURCES;
    }
    if (!devinst_alloc_locked(n)) {
        pk_lock_release(&pnp.tree_lock);
        node_free(n);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    if (!id_map_insert_locked(n)) {
        uint32_t slot = n->devinst & 0xFFFF;
        tree.slots[slot] = NULL;
        tree.free_slots[tree.free_count++] = slot;
        pk_lock_release(&pnp.tree_lock);
        node_free(n);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    n->parent = parent;
    pnp_node_reference(parent);
    InsertTailList(&parent->children, &n->sibling);
    pnp_node_reference(n); /* the caller's */
    pk_lock_release(&pnp.tree_lock);
    *out = n;
    return STATUS_SUCCESS;
}

static bool state_transition_legal(pnp_node_state from, pnp_node_state to)
{
    switch (to) {
    case PNP_NODE_DRIVERS_ADDED: return from == PNP_NODE_INITIALIZED;
    case PNP_NODE_STARTED: return from == PNP_NODE_DRIVERS_ADDED || from == PNP_NODE_QUERY_REMOVED;
    case PNP_NODE_QUERY_REMOVED: return from == PNP_NODE_STARTED;
    case PNP_NODE_SURPRISE_REMOVED: return from == PNP_NODE_STARTED || from == PNP_NODE_QUERY_REMOVED;
    case PNP_NODE_REMOVED:
        return from == PNP_NODE_QUERY_REMOVED || from == PNP_NODE_SURPRISE_REMOVED ||
               from == PNP_NODE_DRIVERS_ADDED || from == PNP_NODE_INITIALIZED || from == PNP_NODE_STARTED;
    case PNP_NODE_DISABLED: return from == PNP_NODE_REMOVED;
    case PNP_NODE_INITIALIZED: return from == PNP_NODE_DISABLED || from == PNP_NODE_REMOVED;
    case PNP_NODE_DELETED: return from != PNP_NODE_DELETED;
    default: return false;
    }
}

void pnp_node_set_state(pnp_devnode *n, pnp_node_state to)
{
    pk_lock_acquire(&pnp.tree_lock);
    if (!state_transition_legal((pnp_node_state)n->state, to))
        pk_internal_bug("legal device node transition", __FILE__, __LINE__);
    n->history[n->history_next % PNP_NODE_HISTORY].from = n->state;
    n->history[n->history_next % PNP_NODE_HISTORY].to = (uint8_t)to;
    n->history_next = (uint8_t)((n->history_next + 1) % PNP_NODE_HISTORY);
    pk_store_release(&n->state, (uint8_t)to);
    pk_lock_release(&pnp.tree_lock);
    PK_TRACE(PnpkitTraceInfo, "pnp", "node %u -> state %d", (unsigned)n->devinst, (int)to);
}

pnp_node_state pnp_node_state_get(pnp_devnode *n) { return (pnp_node_state)pk_load_acquire(&n->state); }

void pnp_node_unlink(pnp_devnode *n)
{
    pk_lock_acquire(&pnp.tree_lock);
    uint32_t slot = n->devinst & 0xFFFF;
    if (slot < tree.nslots && tree.slots[slot] == n) {
        tree.slots[slot] = NULL;
        tree.free_slots[tree.free_count++] = slot;
    }
    if (n->pdo)
        pdo_map_remove_locked(n->pdo);
    id_map_remove_locked(n);
    RemoveEntryList(&n->sibling);
    InitializeListHead(&n->sibling);
    pk_lock_release(&pnp.tree_lock);
    pnp_node_dereference(n); /* the tree's */
}

static int count_subtree_locked(pnp_devnode *n)
{
    int c = 1;
    for (PLIST_ENTRY e = n->children.Flink; e != &n->children; e = e->Flink)
        c += count_subtree_locked(CONTAINING_RECORD(e, pnp_devnode, sibling));
    return c;
}

static void collect_locked(pnp_devnode *n, pnp_devnode **list, int *i)
{
    for (PLIST_ENTRY e = n->children.Flink; e != &n->children; e = e->Flink)
        collect_locked(CONTAINING_RECORD(e, pnp_devnode, sibling), list, i);
    pnp_node_reference(n);
    list[(*i)++] = n;
}

NTSTATUS pnp_node_subtree(pnp_devnode *n, pnp_devnode ***out, int *count)
{
    pnp_devnode **list;
    int c, i = 0;

    pk_lock_acquire(&pnp.tree_lock);
    c = count_subtree_locked(n);
    list = pk_alloc(sizeof(*list) * (size_t)c);
    if (list)
        collect_locked(n, list, &i);
    pk_lock_release(&pnp.tree_lock);
    if (!list)
        return STATUS_INSUFFICIENT_RESOURCES;
    *out = list;
    *count = c;
    return STATUS_SUCCESS;
}

void pnp_node_list_free(pnp_devnode **list, int count)
{
    for (int i = 0; i < count; i++)
        pnp_node_dereference(list[i]);
    pk_free(list);
}

PDEVICE_OBJECT pnp_node_stack_top(pnp_devnode *n)
{
    PDEVICE_OBJECT pdo = n->pdo;
    return pdo ? IoGetAttachedDeviceReference(pdo) : NULL;
}

void pnp_tree_shutdown(void)
{
    pk_lock_acquire(&pnp.tree_lock);
    pnp_devnode *root = tree.root;
    bool empty = root && IsListEmpty(&root->children);
    if (empty) {
        tree.slots[root->devinst & 0xFFFF] = NULL;
        id_map_remove_locked(root);
        tree.root = NULL;
    }
    pk_lock_release(&pnp.tree_lock);
    if (empty)
        pnp_node_dereference(root);
    pk_lock_acquire(&pnp.tree_lock);
    if (!tree.root) {
        pk_free(tree.slots);
        pk_free(tree.generations);
        pk_free(tree.free_slots);
        pk_free(tree.pdo_map);
        pk_free(tree.id_map);
        tree.id_map = NULL;
        tree.id_cap = tree.id_count = 0;
        tree.slots = NULL;
        tree.generations = NULL;
        tree.free_slots = NULL;
        tree.free_count = 0;
        tree.pdo_map = NULL;
        tree.nslots = tree.capacity = tree.pdo_cap = tree.pdo_count = 0;
    }
    pk_lock_release(&pnp.tree_lock);
}

/* =============================================================================================
 * cfgmgr32: reading the tree
 * ============================================================================================= */

CONFIGRET CM_Locate_DevNodeW(PDEVINST pdnDevInst, DEVINSTID_W pDeviceID, ULONG ulFlags)
{
    pnp_devnode *n;

    if (!pdnDevInst)
        return CR_INVALID_POINTER;
    if (ulFlags & ~(ULONG)CM_LOCATE_DEVNODE_PHANTOM)
        return CR_INVALID_FLAG;
    if (!pDeviceID || !pDeviceID[0])
        n = pnp_root();
    else
        n = pnp_node_from_instance_id(pDeviceID, PnpkitWcsLen(pDeviceID));
    if (!n)
        return CR_NO_SUCH_DEVNODE;
    *pdnDevInst = n->devinst;
    pnp_node_dereference(n);
    return CR_SUCCESS;
}

CONFIGRET CM_Get_Device_IDW(DEVINST dnDevInst, PWSTR Buffer, ULONG BufferLen, ULONG ulFlags)
{
    pnp_devnode *n;
    CONFIGRET cr = CR_SUCCESS;

    if (!Buffer)
        return CR_INVALID_POINTER;
    if (ulFlags)
        return CR_INVALID_FLAG;
    n = pnp_node_from_devinst(dnDevInst);
    if (!n)
        return CR_INVALID_DEVNODE;
    if (BufferLen < n->instance_id_len) {
        cr = CR_BUFFER_SMALL;
    } else {
        memcpy(Buffer, n->instance_id, n->instance_id_len * sizeof(WCHAR));
        if (BufferLen > n->instance_id_len)
            Buffer[n->instance_id_len] = 0;
    }
    pnp_node_dereference(n);
    return cr;
}

typedef enum { REL_PARENT, REL_CHILD, REL_SIBLING } relation;

static CONFIGRET get_relative(PDEVINST out, DEVINST dn, ULONG flags, relation rel)
{
    pnp_devnode *n, *r = NULL;

    if (!out)
        return CR_INVALID_POINTER;
    if (flags)
        return CR_INVALID_FLAG;
    n = pnp_node_from_devinst(dn);
    if (!n)
        return CR_INVALID_DEVNODE;
    pk_lock_acquire(&pnp.tree_lock);
    switch (rel) {
    case REL_PARENT:
        r = n->parent;
        break;
    case REL_CHILD:
        if (!IsListEmpty(&n->children))
            r = CONTAINING_RECORD(n->children.Flink, pnp_devnode, sibling);
        break;
    case REL_SIBLING:
        if (n->parent && n->sibling.Flink != &n->parent->children)
            r = CONTAINING_RECORD(n->sibling.Flink, pnp_devnode, sibling);
        break;
    }
    if (r)
        *out = r->devinst;
    pk_lock_release(&pnp.tree_lock);
    pnp_node_dereference(n);
    return r ? CR_SUCCESS : CR_NO_SUCH_DEVNODE;
}

CONFIGRET CM_Get_Parent(PDEVINST p, DEVINST d, ULONG f) { return get_relative(p, d, f, REL_PARENT); }
CONFIGRET CM_Get_Child(PDEVINST p, DEVINST d, ULONG f) { return get_relative(p, d, f, REL_CHILD); }
CONFIGRET CM_Get_Sibling(PDEVINST p, DEVINST d, ULONG f) { return get_relative(p, d, f, REL_SIBLING); }

CONFIGRET CM_Get_DevNode_Status(PULONG pulStatus, PULONG pulProblemNumber, DEVINST dnDevInst, ULONG ulFlags)
{
    pnp_devnode *n;
    ULONG status = 0;

    if (!pulStatus || !pulProblemNumber)
        return CR_INVALID_POINTER;
    if (ulFlags)
        return CR_INVALID_FLAG;
    n = pnp_node_from_devinst(dnDevInst);
    if (!n)
        return CR_INVALID_DEVNODE;
    pk_lock_acquire(&pnp.tree_lock);
    if (n->ndrivers)
        status |= DN_DRIVER_LOADED;
    if (n->state == PNP_NODE_STARTED)
        status |= DN_STARTED;
    if (n->problem)
        status |= DN_HAS_PROBLEM;
    if (n->disableable)
        status |= DN_DISABLEABLE;
    if (n->software)
        status |= DN_REMOVABLE;
    *pulProblemNumber = n->problem;
    pk_lock_release(&pnp.tree_lock);
    *pulStatus = status;
    pnp_node_dereference(n);
    return CR_SUCCESS;
}
