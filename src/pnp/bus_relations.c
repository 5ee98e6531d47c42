/*
 * bus_relations.c — children reported by bus drivers: IoInvalidateDeviceRelations and the
 * enumeration the PnP worker runs after a bus starts or asks to be re-enumerated.
 *
 * Enumeration (worker thread only): IRP_MN_QUERY_DEVICE_RELATIONS(BusRelations) goes down the
 * bus's stack; each PDO in the answer that the tree does not know becomes a new child node,
 * named by IRP_MN_QUERY_ID (device id + "\" + instance id, hardware and compatible ids), and is
 * started; a child the bus no longer reports is surprise-removed, as on Windows. The relations
 * structure and its references belong to the PnP manager once the IRP completes: it frees the
 * structure and drops the references (a new child's node takes one of its own).
 */
#include "pnp/pnp_internal.h"

#include <string.h>

static void prepare_relations(PIO_STACK_LOCATION sl, void *ctx)
{
    sl->Parameters.QueryDeviceRelations.Type = BusRelations;
}

static void prepare_query_id(PIO_STACK_LOCATION sl, void *ctx)
{
    sl->Parameters.QueryId.IdType = *(BUS_QUERY_ID_TYPE *)ctx;
}

/* Asks a child PDO (alone on its stack, no driver added yet) for one of its ids. */
static PWSTR query_id(PDEVICE_OBJECT pdo, BUS_QUERY_ID_TYPE type)
{
    ULONG_PTR info = 0;
    NTSTATUS status = pnp_send_irp_to(pdo, IRP_MN_QUERY_ID, prepare_query_id, &type, &info);
    return NT_SUCCESS(status) ? (PWSTR)info : NULL;
}

static bool in_relations(PDEVICE_RELATIONS r, PDEVICE_OBJECT pdo)
{
    for (ULONG i = 0; r && i < r->Count; i++)
        if (r->Objects[i] == pdo)
            return true;
    return false;
}

static void add_child(pnp_devnode *bus, PDEVICE_OBJECT pdo)
{
    PWSTR device_id = query_id(pdo, BusQueryDeviceID);
    PWSTR instance_id = query_id(pdo, BusQueryInstanceID);
    PWSTR hardware_ids = query_id(pdo, BusQueryHardwareIDs);
    PWSTR compatible_ids = query_id(pdo, BusQueryCompatibleIDs);
    WCHAR id[MAX_DEVICE_ID_LEN];
    size_t dlen = PnpkitWcsLen(device_id), ilen = PnpkitWcsLen(instance_id);
    pnp_devnode *child;

    if (!device_id || !dlen || dlen + 1 + ilen >= MAX_DEVICE_ID_LEN) {
        pk_verifier_report("IRP_MN_QUERY_ID", "child PDO %p of %s has no usable device id", (void *)pdo, "a bus");
        goto free_ids;
    }
    memcpy(id, device_id, dlen * sizeof(WCHAR));
    if (ilen) {
        id[dlen] = u'\\';
        memcpy(id + dlen + 1, instance_id, ilen * sizeof(WCHAR));
        id[dlen + 1 + ilen] = 0;
    } else {
        id[dlen] = 0;
    }
    if (!NT_SUCCESS(pnp_node_create(bus, id, hardware_ids, compatible_ids, &child))) {
        pk_verifier_report("IoInvalidateDeviceRelations", "a child with the same instance id already exists");
        goto free_ids;
    }
    pnp_node_set_pdo(child, pdo);
    pdo->DeviceObjectExtension->DeviceNode = child;
    pnp_start_node(child);
    pnp_node_dereference(child);
free_ids:
    ExFreePool(device_id);
    ExFreePool(instance_id);
    ExFreePool(hardware_ids);
    ExFreePool(compatible_ids);
}

void pnp_enumerate_bus(pnp_devnode *bus)
{
    ULONG_PTR info = 0;
    PDEVICE_RELATIONS relations;
    pnp_devnode **gone = NULL;
    int ngone = 0;

    if (pnp_node_state_get(bus) != PNP_NODE_STARTED)
        return;
    if (!NT_SUCCESS(pnp_send_irp(bus, IRP_MN_QUERY_DEVICE_RELATIONS, prepare_relations, NULL, &info)))
        return; /* not a bus (STATUS_NOT_SUPPORTED): nothing changes */
    relations = (PDEVICE_RELATIONS)info;

    /* Children that are no longer reported. */
    pk_lock_acquire(&pnp.tree_lock);
    int count = 0;
    for (PLIST_ENTRY e = bus->children.Flink; e != &bus->children; e = e->Flink)
        count++;
    gone = count ? pk_alloc(sizeof(*gone) * (size_t)count) : NULL;
    for (PLIST_ENTRY e = bus->children.Flink; gone && e != &bus->children; e = e->Flink) {
        pnp_devnode *c = CONTAINING_RECORD(e, pnp_devnode, sibling);
        if (!c->software && c->state != PNP_NODE_DELETED && !in_relations(relations, c->pdo)) {
            pnp_node_reference(c);
            gone[ngone++] = c;
        }
    }
    pk_lock_release(&pnp.tree_lock);
    for (int i = 0; i < ngone; i++) {
        gone[i]->reported_missing = true;
        pnp_surprise_remove_subtree(gone[i]);
        pnp_node_dereference(gone[i]);
    }
    pk_free(gone);

    /* New children. */
    for (ULONG i = 0; relations && i < relations->Count; i++) {
        pnp_devnode *known = pnp_node_from_pdo(relations->Objects[i]);
        if (known)
            pnp_node_dereference(known);
        else
            add_child(bus, relations->Objects[i]);
        ObDereferenceObject(relations->Objects[i]);
    }
    ExFreePool(relations);
}

typedef struct enumerate_work {
    pnp_work work;
    pnp_devnode *node;
} enumerate_work;

static void enumerate_fn(pnp_work *w)
{
    enumerate_work *e = CONTAINING_RECORD(w, enumerate_work, work);
    pnp_enumerate_bus(e->node);
    pnp_node_dereference(e->node);
    pk_free(e);
}

VOID IoInvalidateDeviceRelations(PDEVICE_OBJECT DeviceObject, DEVICE_RELATION_TYPE Type)
{
    PDEVICE_OBJECT base;
    pnp_devnode *n;
    enumerate_work *e;

    if (!pk_irql_ok("IoInvalidateDeviceRelations", DISPATCH_LEVEL))
        return;
    if (Type != BusRelations)
        return; /* only bus relations change the tree */
    base = DeviceObject ? IoGetDeviceAttachmentBaseRef(DeviceObject) : NULL;
    n = base ? pnp_node_from_pdo(base) : NULL;
    if (base)
        ObDereferenceObject(base);
    if (!n) {
        pk_verifier_stop("IoInvalidateDeviceRelations", "%p is not a device of the PnP tree", (void *)DeviceObject);
        return;
    }
    e = pk_zalloc(sizeof(*e));
    if (!e) {
        pnp_node_dereference(n);
        return;
    }
    e->node = n;
    e->work.fn = enumerate_fn;
    pnp_worker_queue(&e->work);
}
