/*
 * custom_event.c — custom target-device events (seed 002): IoReportTargetDeviceChange and
 * IoReportTargetDeviceChangeAsynchronous.
 *
 * A report is validated, copied (Size bytes: the caller may free its structure as soon as the
 * call returns) and queued to the PnP worker, which delivers it to the device's user-mode
 * DEVICEHANDLE registrants (waiting for each) and then to its kernel target-device registrants,
 * then calls the optional completion callback at PASSIVE_LEVEL, then frees the copy. Because
 * the worker runs one action at a time, a report made while the device is handling a remove or
 * a surprise removal is delivered after that handling has unwound.
 */
#include "pnp/pnp_internal.h"

#include <string.h>

#define CUSTOM_HEADER_SIZE FIELD_OFFSET(TARGET_DEVICE_CUSTOM_NOTIFICATION, CustomDataBuffer)

typedef struct custom_report {
    pnp_work work;
    pnp_devnode *node;
    PDEVICE_CHANGE_COMPLETE_CALLBACK callback;
    PVOID context;
    TARGET_DEVICE_CUSTOM_NOTIFICATION *copy;
} custom_report;

static const GUID *const system_events[] = {
    &GUID_HWPROFILE_QUERY_CHANGE, &GUID_HWPROFILE_CHANGE_CANCELLED, &GUID_HWPROFILE_CHANGE_COMPLETE,
    &GUID_DEVICE_INTERFACE_ARRIVAL, &GUID_DEVICE_INTERFACE_REMOVAL, &GUID_TARGET_DEVICE_QUERY_REMOVE,
    &GUID_TARGET_DEVICE_REMOVE_CANCELLED, &GUID_TARGET_DEVICE_REMOVE_COMPLETE,
};

/* Validation in the documented order. On success *node holds a reference. */
static NTSTATUS validate(const char *api, PDEVICE_OBJECT pdo, PVOID structure, pnp_devnode **node)
{
    const TARGET_DEVICE_CUSTOM_NOTIFICATION *n = structure;
    pnp_devnode *found = pnp_node_from_pdo(pdo);

    if (!found) {
        pk_verifier_stop(api, "%p is not the PDO of a device in the tree (bug check 0xCA on Windows)", (void *)pdo);
        return STATUS_INVALID_PARAMETER;
    }
    if (!n || n->Version != 1 || n->Size < CUSTOM_HEADER_SIZE || n->FileObject != NULL ||
        (n->NameBufferOffset != -1 &&
         (n->NameBufferOffset < 0 || (ULONG)n->NameBufferOffset >= (ULONG)(n->Size - CUSTOM_HEADER_SIZE)))) {
        pnp_node_dereference(found);
        return STATUS_INVALID_PARAMETER;
    }
    for (size_t i = 0; i < ARRAYSIZE(system_events); i++)
        if (IsEqualGUID(&n->Event, system_events[i])) {
            pnp_node_dereference(found);
            return STATUS_INVALID_DEVICE_REQUEST;
        }
    *node = found;
    return STATUS_SUCCESS;
}

static void deliver(pnp_work *w)
{
    custom_report *r = CONTAINING_RECORD(w, custom_report, work);

    /* Delivered even when the device left the tree meanwhile (a report made during its
     * removal): its registrations are still there until their owners end them. */
    pnp_notify_target_user(r->node, PNP_TARGET_CUSTOM, r->copy, NULL, NULL, 0);
    pnp_notify_target_kernel(r->node, PNP_TARGET_CUSTOM, r->copy, NULL, NULL, 0);
    if (r->callback)
        r->callback(r->context);
    pnp_node_dereference(r->node);
    pk_free(r->copy);
    pk_free(r);
}

static NTSTATUS report(const char *api, PDEVICE_OBJECT pdo, PVOID structure, PDEVICE_CHANGE_COMPLETE_CALLBACK callback,
                       PVOID context, bool wait)
{
    const TARGET_DEVICE_CUSTOM_NOTIFICATION *n = structure;
    pnp_devnode *node;
    custom_report *r;
    NTSTATUS status = validate(api, pdo, structure, &node);

    if (!NT_SUCCESS(status))
        return status;
    r = pk_zalloc(sizeof(*r));
    if (r)
        r->copy = pk_alloc(n->Size);
    if (!r || !r->copy) {
        pk_free(r);
        pnp_node_dereference(node);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    memcpy(r->copy, n, n->Size);
    r->node = node;
    r->callback = callback;
    r->context = context;
    r->work.fn = deliver;
    if (!wait) {
        pnp_worker_queue(&r->work);
        return STATUS_PENDING;
    }
    pnp_worker_run_sync(&r->work);
    return STATUS_SUCCESS;
}

NTSTATUS IoReportTargetDeviceChangeAsynchronous(PDEVICE_OBJECT PhysicalDeviceObject, PVOID NotificationStructure,
                                                PDEVICE_CHANGE_COMPLETE_CALLBACK Callback, PVOID Context)
{
    if (!pk_irql_ok("IoReportTargetDeviceChangeAsynchronous", DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    return report("IoReportTargetDeviceChangeAsynchronous", PhysicalDeviceObject, NotificationStructure, Callback,
                  Context, false);
}

NTSTATUS IoReportTargetDeviceChange(PDEVICE_OBJECT PhysicalDeviceObject, PVOID NotificationStructure)
{
    if (!pk_irql_ok("IoReportTargetDeviceChange", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (pnp_on_worker()) {
        pk_verifier_stop("IoReportTargetDeviceChange",
                         "called on the PnP worker (from a PnP callback); it would deadlock");
        return STATUS_INVALID_DEVICE_STATE;
    }
    return report("IoReportTargetDeviceChange", PhysicalDeviceObject, NotificationStructure, NULL, NULL, true);
}
