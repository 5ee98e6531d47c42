/*
 * device_interface.c — device interface instances: registration, the symbolic-link name space,
 * enable/disable with their announcements, and the interface lists of both sides.
 *
 * pnp.iface_lock protects every instance, the node lists (node->interfaces), the class index
 * and the link index. Announcements are queued to the PnP worker while the lock is held
 * (pnp_notify_interface_change_locked), never delivered inline, so a callback may call these
 * functions on any device, and the events of one instance reach the worker in order.
 *
 * Link: \??\ + instance id with \ replaced by # + #{guid in lower case} [+ \ref]. The link
 * index is keyed by the case-folded link without its prefix (the "body"); an open looks up the
 * body with the first path component as reference string, then the body without one.
 * Instances are owned by their node: they live until the node is deleted
 * (pnp_interfaces_node_removed with forget).
 */
#include "pnp/pnp_internal.h"

#include <string.h>

typedef struct class_bucket {
    GUID guid;
    LIST_ENTRY instances; /* pnp_interface.class_link */
} class_bucket;

static struct {
    class_bucket *classes;     /* iface_lock */
    uint32_t nclasses, class_cap;
    pnp_interface **links;     /* hash of device parts, chained by hash_next; iface_lock */
    uint32_t link_cap, count;
} reg;

#define PREFIX_CHARS 4 /* \??\ or \\?\ */

static bool has_prefix(PCWSTR s, size_t len)
{
    return len >= PREFIX_CHARS && s[0] == u'\\' && (s[1] == u'?' || s[1] == u'\\') && s[2] == u'?' && s[3] == u'\\';
}

/* Length of the device part of a link without its prefix: up to and including the '}' that
 * closes the class GUID, i.e. up to the first backslash. */
static size_t device_part_len(PCWSTR s, size_t len)
{
    size_t i = 0;
    while (i < len && s[i] != u'\\')
        i++;
    return i;
}

static uint32_t fold_hash(PCWSTR s, size_t len) { return pk_fold_hash(s, len); }

static bool fold_equal(PCWSTR a, PCWSTR b, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (RtlUpcaseUnicodeChar(a[i]) != RtlUpcaseUnicodeChar(b[i]))
            return false;
    return true;
}

static PCWSTR link_body(const pnp_interface *i) { return i->link.Buffer + PREFIX_CHARS; }
static size_t link_body_len(const pnp_interface *i) { return i->link.Length / sizeof(WCHAR) - PREFIX_CHARS; }

/* ---- Indexes (iface_lock) ---- */

static class_bucket *class_find_locked(const GUID *g, bool create)
{
    for (uint32_t i = 0; i < reg.nclasses; i++)
        if (IsEqualGUID(&reg.classes[i].guid, g))
            return &reg.classes[i];
    if (!create)
        return NULL;
    if (reg.nclasses == reg.class_cap) {
        uint32_t cap = reg.class_cap ? reg.class_cap * 2 : 16;
        class_bucket *c = pk_alloc(cap * sizeof(*c));
        if (!c)
            return NULL;
        /* Re-seat the list heads that the instances point back to. */
        for (uint32_t i = 0; i < reg.nclasses; i++) {
            c[i].guid = reg.classes[i].guid;
            if (IsListEmpty(&reg.classes[i].instances)) {
                InitializeListHead(&c[i].instances);
            } else {
                c[i].instances = reg.classes[i].instances;
                c[i].instances.Flink->Blink = &c[i].instances;
                c[i].instances.Blink->Flink = &c[i].instances;
            }
        }
        pk_free(reg.classes);
        reg.classes = c;
        reg.class_cap = cap;
    }
    class_bucket *b = &reg.classes[reg.nclasses++];
    b->guid = *g;
    InitializeListHead(&b->instances);
    return b;
}

static bool links_grow_locked(void)
{
    uint32_t cap = reg.link_cap ? reg.link_cap * 2 : 256;
    pnp_interface **t = pk_zalloc(cap * sizeof(*t));
    if (!t)
        return false;
    for (uint32_t i = 0; i < reg.link_cap; i++) {
        pnp_interface *e = reg.links[i];
        while (e) {
            pnp_interface *next = e->hash_next;
            e->hash_next = t[e->link_hash & (cap - 1)];
            t[e->link_hash & (cap - 1)] = e;
            e = next;
        }
    }
    pk_free(reg.links);
    reg.links = t;
    reg.link_cap = cap;
    return true;
}

static void link_remove_locked(pnp_interface *i)
{
    pnp_interface **pp = &reg.links[i->link_hash & (reg.link_cap - 1)];
    while (*pp && *pp != i)
        pp = &(*pp)->hash_next;
    if (*pp)
        *pp = i->hash_next;
    reg.count--;
}

/* Finds the instance with exactly this link body (without prefix), case-insensitively. */
static pnp_interface *find_exact_locked(PCWSTR body, size_t len)
{
    if (!reg.link_cap)
        return NULL;
    for (pnp_interface *i = reg.links[fold_hash(body, len) & (reg.link_cap - 1)]; i; i = i->hash_next)
        if (link_body_len(i) == len && fold_equal(link_body(i), body, len))
            return i;
    return NULL;
}

/* ---- Validation helpers ---- */

static bool unicode_string_ok(PCUNICODE_STRING s)
{
    return s && (s->Length % 2) == 0 && (s->MaximumLength % 2) == 0 && s->Length <= s->MaximumLength &&
           (s->Buffer || s->MaximumLength == 0);
}

/* Builds \??\<id with # for \>#{guid}[\ref]. */
static NTSTATUS build_link(pnp_devnode *n, const GUID *g, PCWSTR ref, size_t ref_len, UNICODE_STRING *out)
{
    char guid_text[PNPKIT_GUID_STRING_CHARS];
    size_t len = PREFIX_CHARS + n->instance_id_len + 1 + 38 + (ref_len ? 1 + ref_len : 0);
    WCHAR *b, *p;

    if (len >= UNICODE_STRING_MAX_CHARS)
        return STATUS_INVALID_PARAMETER;
    b = pk_alloc((len + 1) * sizeof(WCHAR));
    if (!b)
        return STATUS_INSUFFICIENT_RESOURCES;
    p = b;
    *p++ = u'\\';
    *p++ = u'?';
    *p++ = u'?';
    *p++ = u'\\';
    for (size_t i = 0; i < n->instance_id_len; i++)
        *p++ = n->instance_id[i] == u'\\' ? u'#' : n->instance_id[i];
    *p++ = u'#';
    PnpkitGuidFormat(g, guid_text, sizeof(guid_text), 0);
    for (int i = 0; i < 38; i++)
        *p++ = (WCHAR)(unsigned char)guid_text[i];
    if (ref_len) {
        *p++ = u'\\';
        memcpy(p, ref, ref_len * sizeof(WCHAR));
        p += ref_len;
    }
    *p = 0;
    out->Buffer = b;
    out->Length = (USHORT)(len * sizeof(WCHAR));
    out->MaximumLength = (USHORT)((len + 1) * sizeof(WCHAR));
    return STATUS_SUCCESS;
}

/* ---- Public: registration ---- */

NTSTATUS IoRegisterDeviceInterface(PDEVICE_OBJECT PhysicalDeviceObject, const GUID *InterfaceClassGuid,
                                   PUNICODE_STRING ReferenceString, PUNICODE_STRING SymbolicLinkName)
{
    pnp_devnode *n;
    pnp_interface *iface, *existing;
    UNICODE_STRING link, copy;
    size_t ref_len = 0;
    PCWSTR ref = NULL;
    NTSTATUS status;

    if (!pk_irql_ok("IoRegisterDeviceInterface", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!InterfaceClassGuid || !SymbolicLinkName)
        return STATUS_INVALID_PARAMETER;
    if (ReferenceString) {
        if (!unicode_string_ok(ReferenceString))
            return STATUS_INVALID_PARAMETER;
        ref = ReferenceString->Buffer;
        ref_len = ReferenceString->Length / sizeof(WCHAR);
        for (size_t i = 0; i < ref_len; i++)
            if (ref[i] == u'\\' || ref[i] == u'/')
                return STATUS_INVALID_DEVICE_REQUEST;
    }
    n = pnp_node_from_pdo(PhysicalDeviceObject);
    if (!n)
        return STATUS_INVALID_DEVICE_REQUEST;
    status = build_link(n, InterfaceClassGuid, ref, ref_len, &link);
    if (!NT_SUCCESS(status))
        goto release_node;

    iface = pk_zalloc(sizeof(*iface));
    copy.Buffer = pk_wcsdup(link.Buffer);
    if (!iface || !copy.Buffer) {
        status = STATUS_INSUFFICIENT_RESOURCES;
        goto free_iface;
    }
    copy.Length = link.Length;
    copy.MaximumLength = link.MaximumLength;
    if (ref_len) {
        iface->ref_string = pk_alloc((ref_len + 1) * sizeof(WCHAR));
        if (!iface->ref_string) {
            status = STATUS_INSUFFICIENT_RESOURCES;
            goto free_iface;
        }
        memcpy(iface->ref_string, ref, ref_len * sizeof(WCHAR));
        iface->ref_string[ref_len] = 0;
    }
    iface->link = link;
    iface->class_guid = *InterfaceClassGuid;
    iface->link_hash = fold_hash(link_body(iface), link_body_len(iface));

    pk_lock_acquire(&pnp.iface_lock);
    existing = find_exact_locked(link_body(iface), link_body_len(iface));
    if (existing) {
        pk_lock_release(&pnp.iface_lock);
        pk_free(iface->ref_string);
        pk_free(iface);
        RtlFreeUnicodeString(&link);
        *SymbolicLinkName = copy;
        status = STATUS_OBJECT_NAME_EXISTS;
        goto release_node;
    }
    class_bucket *b = class_find_locked(InterfaceClassGuid, true);
    if (!b || ((reg.count + 1) * 2 > reg.link_cap && !links_grow_locked())) {
        pk_lock_release(&pnp.iface_lock);
        status = STATUS_INSUFFICIENT_RESOURCES;
        iface->link.Buffer = NULL;
        RtlFreeUnicodeString(&link);
        goto free_iface;
    }
    iface->node = n; /* keeps the caller's reference */
    n = NULL;
    InsertTailList(&iface->node->interfaces, &iface->node_link);
    InsertTailList(&b->instances, &iface->class_link);
    iface->hash_next = reg.links[iface->link_hash & (reg.link_cap - 1)];
    reg.links[iface->link_hash & (reg.link_cap - 1)] = iface;
    reg.count++;
    pk_lock_release(&pnp.iface_lock);
    *SymbolicLinkName = copy;
    return STATUS_SUCCESS;

free_iface:
    if (iface) {
        pk_free(iface->ref_string);
        RtlFreeUnicodeString(&iface->link);
    }
    pk_free(iface);
    pk_free(copy.Buffer);
release_node:
    if (n)
        pnp_node_dereference(n);
    return status;
}

/* ---- Public: enable and disable ---- */

NTSTATUS IoSetDeviceInterfaceState(PUNICODE_STRING SymbolicLinkName, BOOLEAN Enable)
{
    PCWSTR s;
    size_t len;
    pnp_interface *i;
    NTSTATUS status = STATUS_SUCCESS;
    bool announce = false;

    if (!pk_irql_ok("IoSetDeviceInterfaceState", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!unicode_string_ok(SymbolicLinkName) || !SymbolicLinkName->Buffer)
        return STATUS_INVALID_PARAMETER;
    s = SymbolicLinkName->Buffer;
    len = SymbolicLinkName->Length / sizeof(WCHAR);
    if (!has_prefix(s, len))
        return STATUS_INVALID_PARAMETER;

    pk_lock_acquire(&pnp.iface_lock);
    i = find_exact_locked(s + PREFIX_CHARS, len - PREFIX_CHARS);
    if (!i) {
        status = STATUS_OBJECT_NAME_NOT_FOUND;
    } else if (Enable) {
        pnp_node_state st = pnp_node_state_get(i->node);
        if (i->enabled || i->enable_pending)
            status = STATUS_OBJECT_NAME_EXISTS;
        else if (st == PNP_NODE_STARTED)
            i->enabled = announce = true;
        else if (st == PNP_NODE_INITIALIZED || st == PNP_NODE_DRIVERS_ADDED)
            i->enable_pending = true; /* takes effect when start completes */
        else
            status = STATUS_INVALID_DEVICE_STATE;
    } else {
        if (i->enabled) {
            i->enabled = false;
            announce = true;
        } else if (i->enable_pending) {
            i->enable_pending = false;
        } else {
            status = STATUS_OBJECT_NAME_NOT_FOUND;
        }
    }
    if (announce)
        pnp_notify_interface_change_locked(&i->class_guid, &i->link, Enable != FALSE);
    pk_lock_release(&pnp.iface_lock);
    return status;
}

/* Enables the pending instances of n (enable), or disables every enabled one (!enable),
 * announcing each; with forget, the instances are then deleted with their node. */
static void node_sweep(pnp_devnode *n, bool enable, bool forget)
{
    pk_lock_acquire(&pnp.iface_lock);
    for (PLIST_ENTRY e = n->interfaces.Flink; e != &n->interfaces; e = e->Flink) {
        pnp_interface *i = CONTAINING_RECORD(e, pnp_interface, node_link);
        if (enable ? i->enable_pending : i->enabled) {
            i->enabled = enable;
            pnp_notify_interface_change_locked(&i->class_guid, &i->link, enable);
        }
        i->enable_pending = false;
    }
    if (!forget) {
        pk_lock_release(&pnp.iface_lock);
        return;
    }
    while (!IsListEmpty(&n->interfaces)) {
        pnp_interface *i = CONTAINING_RECORD(RemoveHeadList(&n->interfaces), pnp_interface, node_link);
        RemoveEntryList(&i->class_link);
        link_remove_locked(i);
        pk_lock_release(&pnp.iface_lock);
        pk_free(i->ref_string);
        RtlFreeUnicodeString(&i->link);
        pnp_node_dereference(i->node);
        pk_free(i);
        pk_lock_acquire(&pnp.iface_lock);
    }
    pk_lock_release(&pnp.iface_lock);
}

void pnp_interfaces_node_started(pnp_devnode *n) { node_sweep(n, true, false); }

void pnp_interfaces_for_each_enabled_locked(const GUID *class_guid,
                                            void (*fn)(void *ctx, const GUID *g, PCUNICODE_STRING link), void *ctx)
{
    class_bucket *b = class_find_locked(class_guid, false);
    if (!b)
        return;
    for (PLIST_ENTRY e = b->instances.Flink; e != &b->instances; e = e->Flink) {
        pnp_interface *i = CONTAINING_RECORD(e, pnp_interface, class_link);
        if (i->enabled)
            fn(ctx, &i->class_guid, &i->link);
    }
}

void pnp_interfaces_node_removed(pnp_devnode *n, bool forget) { node_sweep(n, false, forget); }

void pnp_interfaces_shutdown(void)
{
    pk_lock_acquire(&pnp.iface_lock);
    if (reg.count == 0) {
        pk_free(reg.classes);
        pk_free(reg.links);
        memset(&reg, 0, sizeof(reg));
    }
    pk_lock_release(&pnp.iface_lock);
}

/* ---- Resolving a name for an open ---- */

NTSTATUS pnp_interface_resolve(PCUNICODE_STRING name, pnp_devnode **node, UNICODE_STRING *file_name)
{
    PCWSTR s, body, rest;
    size_t len, blen, dev, rest_len, first_len;
    pnp_interface *with_ref = NULL, *plain = NULL, *hit;

    if (!unicode_string_ok(name) || !name->Buffer)
        return STATUS_INVALID_PARAMETER;
    s = name->Buffer;
    len = name->Length / sizeof(WCHAR);
    if (!has_prefix(s, len))
        return STATUS_OBJECT_NAME_NOT_FOUND;
    body = s + PREFIX_CHARS;
    blen = len - PREFIX_CHARS;
    dev = device_part_len(body, blen);
    rest = body + dev;
    rest_len = blen - dev;
    first_len = 0; /* length of the first component after the device part, without its '\' */
    if (rest_len > 1)
        while (1 + first_len < rest_len && rest[1 + first_len] != u'\\')
            first_len++;

    pk_lock_acquire(&pnp.iface_lock);
    if (first_len) {
        with_ref = find_exact_locked(body, dev + 1 + first_len);
        if (with_ref && !with_ref->enabled)
            with_ref = NULL;
    }
    plain = find_exact_locked(body, dev);
    if (plain && (!plain->enabled || plain->ref_string))
        plain = NULL;
    hit = with_ref ? with_ref : plain;
    if (hit)
        pnp_node_reference(hit->node);
    pk_lock_release(&pnp.iface_lock);
    if (!hit)
        return STATUS_OBJECT_NAME_NOT_FOUND;

    file_name->Length = (USHORT)(rest_len * sizeof(WCHAR));
    file_name->MaximumLength = (USHORT)((rest_len + 1) * sizeof(WCHAR));
    file_name->Buffer = pk_alloc(file_name->MaximumLength);
    if (!file_name->Buffer) {
        pnp_node_dereference(hit->node);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    memcpy(file_name->Buffer, rest, rest_len * sizeof(WCHAR));
    file_name->Buffer[rest_len] = 0;
    *node = hit->node;
    return STATUS_SUCCESS;
}

/* ---- Lists ---- */

/* Builds the multi-string of links of class g (of node `only` if not NULL), enabled only unless
 * all; user form (\\?\) when user. */
static NTSTATUS build_list(const GUID *g, pnp_devnode *only, bool all, bool user, WCHAR **out, size_t *chars)
{
    size_t total = 1;
    WCHAR *buf, *p;
    class_bucket *b;

    pk_lock_acquire(&pnp.iface_lock);
    b = class_find_locked(g, false);
    if (b)
        for (PLIST_ENTRY e = b->instances.Flink; e != &b->instances; e = e->Flink) {
            pnp_interface *i = CONTAINING_RECORD(e, pnp_interface, class_link);
            if ((all || i->enabled) && (!only || i->node == only))
                total += i->link.Length / sizeof(WCHAR) + 1;
        }
    buf = pk_alloc(total * sizeof(WCHAR));
    if (!buf) {
        pk_lock_release(&pnp.iface_lock);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    p = buf;
    if (b)
        for (PLIST_ENTRY e = b->instances.Flink; e != &b->instances; e = e->Flink) {
            pnp_interface *i = CONTAINING_RECORD(e, pnp_interface, class_link);
            if ((all || i->enabled) && (!only || i->node == only)) {
                size_t n = i->link.Length / sizeof(WCHAR);
                memcpy(p, i->link.Buffer, n * sizeof(WCHAR));
                if (user)
                    p[1] = u'\\';
                p += n;
                *p++ = 0;
            }
        }
    *p = 0;
    pk_lock_release(&pnp.iface_lock);
    *out = buf;
    *chars = total;
    return STATUS_SUCCESS;
}

NTSTATUS IoGetDeviceInterfaces(const GUID *InterfaceClassGuid, PDEVICE_OBJECT PhysicalDeviceObject, ULONG Flags,
                               PZZWSTR *SymbolicLinkList)
{
    pnp_devnode *only = NULL;
    size_t chars;
    WCHAR *list;
    NTSTATUS status;

    if (!pk_irql_ok("IoGetDeviceInterfaces", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!InterfaceClassGuid || !SymbolicLinkList || (Flags & ~(ULONG)DEVICE_INTERFACE_INCLUDE_NONACTIVE))
        return STATUS_INVALID_PARAMETER;
    if (PhysicalDeviceObject && !(only = pnp_node_from_pdo(PhysicalDeviceObject)))
        return STATUS_INVALID_DEVICE_REQUEST;
    status = build_list(InterfaceClassGuid, only, Flags & DEVICE_INTERFACE_INCLUDE_NONACTIVE, false, &list, &chars);
    if (only)
        pnp_node_dereference(only);
    if (NT_SUCCESS(status))
        *SymbolicLinkList = list;
    return status;
}

static CONFIGRET cm_list(LPGUID g, DEVINSTID_W id, ULONG flags, WCHAR **list, size_t *chars)
{
    pnp_devnode *only = NULL;
    NTSTATUS status;

    if (!g)
        return CR_INVALID_POINTER;
    if (flags & ~(ULONG)CM_GET_DEVICE_INTERFACE_LIST_ALL_DEVICES)
        return CR_INVALID_FLAG;
    if (id && id[0] && !(only = pnp_node_from_instance_id(id, PnpkitWcsLen(id))))
        return CR_NO_SUCH_DEVNODE;
    status = build_list(g, only, flags & CM_GET_DEVICE_INTERFACE_LIST_ALL_DEVICES, true, list, chars);
    if (only)
        pnp_node_dereference(only);
    return NT_SUCCESS(status) ? CR_SUCCESS : CR_OUT_OF_MEMORY;
}

CONFIGRET CM_Get_Device_Interface_List_SizeW(PULONG pulLen, LPGUID InterfaceClassGuid, DEVINSTID_W pDeviceID,
                                             ULONG ulFlags)
{
    WCHAR *list;
    size_t chars;
    CONFIGRET cr;

    if (!pulLen)
        return CR_INVALID_POINTER;
    cr = cm_list(InterfaceClassGuid, pDeviceID, ulFlags, &list, &chars);
    if (cr != CR_SUCCESS)
        return cr;
    pk_free(list);
    *pulLen = (ULONG)chars;
    return CR_SUCCESS;
}

CONFIGRET CM_Get_Device_Interface_ListW(LPGUID InterfaceClassGuid, DEVINSTID_W pDeviceID, PZZWSTR Buffer,
                                        ULONG BufferLen, ULONG ulFlags)
{
    WCHAR *list;
    size_t chars;
    CONFIGRET cr;

    if (!Buffer)
        return CR_INVALID_POINTER;
    cr = cm_list(InterfaceClassGuid, pDeviceID, ulFlags, &list, &chars);
    if (cr != CR_SUCCESS)
        return cr;
    if (chars > BufferLen) {
        pk_free(list);
        return CR_BUFFER_SMALL;
    }
    memcpy(Buffer, list, chars * sizeof(WCHAR));
    pk_free(list);
    return CR_SUCCESS;
}
