/*
 * pnp_state.c — the PnP state machine of device nodes: start, orderly removal (query-remove,
 * veto, cancel, remove), surprise removal, disable and enable; the PnP IRPs that drive device
 * stacks; and the cfgmgr32 and sim entry points that request those changes.
 *
 * Everything here that changes a node runs on the PnP worker (pnp_worker.c), one action at a
 * time; the public functions queue an action and, where Windows waits for the outcome, wait
 * for it. No pnpkit lock is held while an IRP is in a driver or a registrant runs.
 */
#include "pnp/pnp_internal.h"
#include "pnp/swenum.h"

#include <string.h>

/* ---- PnP IRPs ---- */

static NTSTATUS irp_done(PDEVICE_OBJECT device, PIRP irp, PVOID context)
{
    KeSetEvent(context, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

NTSTATUS pnp_send_irp(pnp_devnode *n, UCHAR minor, void (*prepare)(PIO_STACK_LOCATION, void *), void *ctx,
                      ULONG_PTR *information)
{
    return pnp_send_irp_to(n->pdo, minor, prepare, ctx, information);
}

NTSTATUS pnp_send_irp_to(PDEVICE_OBJECT pdo, UCHAR minor, void (*prepare)(PIO_STACK_LOCATION, void *), void *ctx,
                         ULONG_PTR *information)
{
    PDEVICE_OBJECT top = pdo ? IoGetAttachedDeviceReference(pdo) : NULL;
    PIRP irp;
    PIO_STACK_LOCATION sl;
    KEVENT done;
    NTSTATUS status;

    if (!top)
        return STATUS_NO_SUCH_DEVICE;
    irp = IoAllocateIrp(top->StackSize, FALSE);
    if (!irp) {
        ObDereferenceObject(top);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    irp->IoStatus.Status = STATUS_NOT_SUPPORTED; /* what an IRP nobody handles completes with */
    irp->IoStatus.Information = 0;
    sl = IoGetNextIrpStackLocation(irp);
    sl->MajorFunction = IRP_MJ_PNP;
    sl->MinorFunction = minor;
    if (prepare)
        prepare(sl, ctx);
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    IoSetCompletionRoutine(irp, irp_done, &done, TRUE, TRUE, TRUE);
    IoCallDriver(top, irp);
    KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
    status = irp->IoStatus.Status;
    if (information)
        *information = irp->IoStatus.Information;
    IoFreeIrp(irp);
    ObDereferenceObject(top);
    return status;
}

static void set_problem(pnp_devnode *n, ULONG problem)
{
    pk_lock_acquire(&pnp.tree_lock);
    n->problem = problem;
    pk_lock_release(&pnp.tree_lock);
}

static swenum_pdo_extension *pdo_ext(pnp_devnode *n)
{
    return n->pdo && n->pdo->DriverObject == pnp_swenum_driver() ? n->pdo->DeviceExtension : NULL;
}

void pnp_node_mark_pdo(pnp_devnode *n, ULONG set, ULONG clear)
{
    if (!n->pdo)
        return;
    volatile ULONG *flags = &n->pdo->DeviceObjectExtension->ExtensionFlags;
    if (set)
        __atomic_fetch_or(flags, set, __ATOMIC_ACQ_REL);
    if (clear)
        __atomic_fetch_and(flags, ~clear, __ATOMIC_ACQ_REL);
}

/* ---- Start ---- */

#define CM_PROB_FAILED_INSTALL 28
#define CM_PROB_FAILED_ADD 31

void pnp_start_node(pnp_devnode *n)
{
    NTSTATUS status;

    if (pnp_node_state_get(n) == PNP_NODE_INITIALIZED) {
        pnp_driver *found[PNP_MAX_STACK_DRIVERS];

        pnp_node_mark_pdo(n, DOE_START_PENDING, DOE_REMOVE_PENDING);
        int count = pnp_driver_match(n, found, PNP_MAX_STACK_DRIVERS);

        n->ndrivers = 0;
        for (int i = 0; i < count; i++) {
            PDRIVER_OBJECT d = pnp_driver_object(found[i]);
            if (!d || !d->DriverExtension->AddDevice) {
                set_problem(n, CM_PROB_FAILED_ADD);
                return;
            }
            status = d->DriverExtension->AddDevice(d, n->pdo);
            if (!NT_SUCCESS(status)) {
                set_problem(n, CM_PROB_FAILED_ADD);
                return;
            }
            n->drivers[n->ndrivers++] = found[i];
        }
        if (count == 0) {
            set_problem(n, CM_PROB_FAILED_INSTALL);
            return;
        }
        pnp_node_set_state(n, PNP_NODE_DRIVERS_ADDED);
        pnp_notify_instance_event(n, CM_NOTIFY_ACTION_DEVICEINSTANCEENUMERATED);
    }
    if (pnp_node_state_get(n) != PNP_NODE_DRIVERS_ADDED)
        return;

    pnp_node_mark_pdo(n, DOE_START_PENDING, DOE_REMOVE_PENDING);
    status = pnp_send_irp(n, IRP_MN_START_DEVICE, NULL, NULL, NULL);
    if (NT_SUCCESS(status)) {
        pnp_node_set_state(n, PNP_NODE_STARTED);
        pnp_node_mark_pdo(n, 0, DOE_START_PENDING);
        /* Enables made during start take effect only now (P1). */
        pnp_interfaces_node_started(n);
        pnp_notify_instance_event(n, CM_NOTIFY_ACTION_DEVICEINSTANCESTARTED);
        pnp_enumerate_bus(n); /* a bus reports its children once started */
        return;
    }
    /* A failed start gets IRP_MN_REMOVE_DEVICE and nothing else (P9). */
    set_problem(n, CM_PROB_FAILED_START);
    pnp_send_irp(n, IRP_MN_REMOVE_DEVICE, NULL, NULL, NULL);
    pnp_node_set_state(n, PNP_NODE_REMOVED);
    pnp_interfaces_node_removed(n, false);
}

/* ---- Finishing a removal ---- */

static void node_delete(pnp_devnode *n)
{
    pnp_interfaces_node_removed(n, true);
    pnp_node_set_state(n, PNP_NODE_DELETED);
    pnp_notify_instance_event(n, CM_NOTIFY_ACTION_DEVICEINSTANCEREMOVED);
    pnp_node_unlink(n);
}

/* Sends IRP_MN_REMOVE_DEVICE to a node whose stack has drivers, then settles its state. */
static void remove_and_settle(pnp_devnode *n, bool keep_disabled)
{
    pnp_node_state st = pnp_node_state_get(n);
    swenum_pdo_extension *ext = pdo_ext(n);

    if (!keep_disabled && ext)
        __atomic_store_n(&ext->missing, true, __ATOMIC_RELEASE);
    /* A node that leaves the tree gets IRP_MN_REMOVE_DEVICE even when its stack was removed
     * before (failed start, disabled): its bus driver deletes the PDO then. */
    if ((st != PNP_NODE_REMOVED && st != PNP_NODE_DISABLED) || !keep_disabled)
        pnp_send_irp(n, IRP_MN_REMOVE_DEVICE, NULL, NULL, NULL);
    if (st != PNP_NODE_REMOVED && st != PNP_NODE_DISABLED)
        pnp_node_set_state(n, PNP_NODE_REMOVED);
    n->ndrivers = 0;
    if (keep_disabled) {
        pnp_interfaces_node_removed(n, false);
        set_problem(n, CM_PROB_DISABLED);
        pnp_node_set_state(n, PNP_NODE_DISABLED);
    } else {
        node_delete(n);
    }
}

/* ---- Orderly removal ---- */

CONFIGRET pnp_query_remove_subtree(pnp_devnode *target, bool keep_disabled, PNP_VETO_TYPE *veto_type,
                                   WCHAR *veto_name, ULONG veto_name_len)
{
    pnp_devnode **list;
    int count, failed_at = -1;
    bool irp_failed = false;
    PNP_VETO_TYPE veto = PNP_VetoTypeUnknown;
    pnp_delivery_record **user_rec, **kern_rec;
    bool *queried;

    if (!NT_SUCCESS(pnp_node_subtree(target, &list, &count)))
        return CR_OUT_OF_MEMORY;
    user_rec = pk_zalloc(sizeof(*user_rec) * (size_t)count);
    kern_rec = pk_zalloc(sizeof(*kern_rec) * (size_t)count);
    queried = pk_zalloc(sizeof(*queried) * (size_t)count);
    if (!user_rec || !kern_rec || !queried) {
        pk_free(user_rec);
        pk_free(kern_rec);
        pk_free(queried);
        pnp_node_list_free(list, count);
        return CR_OUT_OF_MEMORY;
    }

    /* Phase 1: query every started node, descendants first. */
    for (int i = 0; i < count && failed_at < 0; i++) {
        pnp_devnode *n = list[i];
        if (pnp_node_state_get(n) != PNP_NODE_STARTED)
            continue;
        if (!NT_SUCCESS(pnp_notify_target_user(n, PNP_TARGET_QUERY_REMOVE, NULL, &user_rec[i], veto_name,
                                               veto_name_len))) {
            veto = PNP_VetoWindowsApp;
            failed_at = i;
            break;
        }
        if (!NT_SUCCESS(pnp_notify_target_kernel(n, PNP_TARGET_QUERY_REMOVE, NULL, &kern_rec[i], veto_name,
                                                 veto_name_len))) {
            veto = PNP_VetoDriver;
            failed_at = i;
            break;
        }
        pk_lock_acquire(&pnp.tree_lock);
        bool open = n->open_handles > 0;
        pk_lock_release(&pnp.tree_lock);
        if (open) {
            veto = PNP_VetoOutstandingOpen;
            failed_at = i;
            if (veto_name && veto_name_len) {
                ULONG len = n->instance_id_len < veto_name_len ? n->instance_id_len : veto_name_len - 1;
                memcpy(veto_name, n->instance_id, len * sizeof(WCHAR));
                veto_name[len] = 0;
            }
            break;
        }
        queried[i] = true;
        if (!NT_SUCCESS(pnp_send_irp(n, IRP_MN_QUERY_REMOVE_DEVICE, NULL, NULL, NULL))) {
            veto = PNP_VetoDevice;
            failed_at = i;
            irp_failed = true;
            if (veto_name && veto_name_len) {
                ULONG len = n->instance_id_len < veto_name_len ? n->instance_id_len : veto_name_len - 1;
                memcpy(veto_name, n->instance_id, len * sizeof(WCHAR));
                veto_name[len] = 0;
            }
            break;
        }
        pnp_node_set_state(n, PNP_NODE_QUERY_REMOVED);
        pnp_node_mark_pdo(n, DOE_REMOVE_PENDING, 0);
    }

    if (failed_at >= 0) {
        /* Veto: cancel in the reverse order of the queries. The node whose query IRP failed
         * gets the cancel IRP too; registrants hear REMOVE_CANCELLED after their node's cancel
         * IRP has completed (or at once where no IRP was sent). */
        for (int i = failed_at; i >= 0; i--) {
            pnp_devnode *n = list[i];
            if (queried[i] && (i < failed_at || irp_failed))
                pnp_send_irp(n, IRP_MN_CANCEL_REMOVE_DEVICE, NULL, NULL, NULL);
            if (pnp_node_state_get(n) == PNP_NODE_QUERY_REMOVED) {
                pnp_node_set_state(n, PNP_NODE_STARTED);
                pnp_node_mark_pdo(n, 0, DOE_REMOVE_PENDING);
            }
            pnp_notify_target_cancelled(n, user_rec[i], kern_rec[i]);
            user_rec[i] = kern_rec[i] = NULL;
        }
        if (veto_type)
            *veto_type = veto;
    } else {
        /* Phase 2: remove, descendants first. */
        for (int i = 0; i < count; i++) {
            pnp_devnode *n = list[i];
            bool was_started = pnp_node_state_get(n) == PNP_NODE_QUERY_REMOVED;
            n->in_removal = true;
            if (was_started) {
                pnp_notify_target_user(n, PNP_TARGET_REMOVE_PENDING, NULL, NULL, NULL, 0);
                pnp_notify_target_kernel(n, PNP_TARGET_REMOVE_COMPLETE, NULL, NULL, NULL, 0);
            }
            pnp_node_reference(n);
            remove_and_settle(n, keep_disabled && n == target);
            if (was_started)
                pnp_notify_target_user(n, PNP_TARGET_REMOVE_COMPLETE, NULL, NULL, NULL, 0);
            n->in_removal = false;
            pnp_node_dereference(n);
        }
    }
    for (int i = 0; i < count; i++) {
        pnp_delivery_record_free(user_rec[i]);
        pnp_delivery_record_free(kern_rec[i]);
    }
    pk_free(user_rec);
    pk_free(kern_rec);
    pk_free(queried);
    pnp_node_list_free(list, count);
    return failed_at >= 0 ? CR_REMOVE_VETOED : CR_SUCCESS;
}

/* ---- Surprise removal ---- */

static void finish_surprise_removal(pnp_devnode *n)
{
    if (pnp_node_state_get(n) != PNP_NODE_SURPRISE_REMOVED)
        return;
    pnp_send_irp(n, IRP_MN_REMOVE_DEVICE, NULL, NULL, NULL);
    pnp_node_set_state(n, PNP_NODE_REMOVED);
    n->ndrivers = 0;
    node_delete(n);
}

typedef struct last_close_work {
    pnp_work work;
    pnp_devnode *node;
} last_close_work;

static void last_close_fn(pnp_work *w)
{
    last_close_work *lc = CONTAINING_RECORD(w, last_close_work, work);
    finish_surprise_removal(lc->node);
    pnp_node_dereference(lc->node);
    pk_free(lc);
}

void pnp_node_last_close(pnp_devnode *n)
{
    last_close_work *lc = pk_zalloc(sizeof(*lc));
    if (!lc)
        return; /* allocation failure: the node is removed at shutdown */
    pnp_node_reference(n);
    lc->node = n;
    lc->work.fn = last_close_fn;
    pnp_worker_queue(&lc->work);
}

void pnp_surprise_remove_subtree(pnp_devnode *target)
{
    pnp_devnode **list;
    int count;

    if (!NT_SUCCESS(pnp_node_subtree(target, &list, &count)))
        return;
    for (int i = 0; i < count; i++) {
        pnp_devnode *n = list[i];
        pnp_node_state st = pnp_node_state_get(n);
        swenum_pdo_extension *ext = pdo_ext(n);

        if (ext)
            __atomic_store_n(&ext->missing, true, __ATOMIC_RELEASE);
        if (st == PNP_NODE_DELETED || st == PNP_NODE_SURPRISE_REMOVED)
            continue;
        if (st != PNP_NODE_STARTED && st != PNP_NODE_QUERY_REMOVED) {
            /* Never started (or failed, or disabled): IRP_MN_REMOVE_DEVICE only, no notification. */
            remove_and_settle(n, false);
            continue;
        }
        n->in_removal = true;
        pnp_node_mark_pdo(n, DOE_REMOVE_PENDING, 0);
        pnp_send_irp(n, IRP_MN_SURPRISE_REMOVAL, NULL, NULL, NULL);
        pnp_notify_target_user(n, PNP_TARGET_REMOVE_COMPLETE, NULL, NULL, NULL, 0);
        pnp_notify_target_kernel(n, PNP_TARGET_REMOVE_COMPLETE, NULL, NULL, NULL, 0);
        pnp_interfaces_node_removed(n, false);
        pnp_node_set_state(n, PNP_NODE_SURPRISE_REMOVED);
        n->in_removal = false;
        pk_lock_acquire(&pnp.tree_lock);
        bool open = n->file_objects > 0;
        pk_lock_release(&pnp.tree_lock);
        /* While a file object stays open, IRP_MN_REMOVE_DEVICE waits (P7). */
        if (!open)
            finish_surprise_removal(n);
    }
    pnp_node_list_free(list, count);
}

/* =============================================================================================
 * Public requests
 * ============================================================================================= */

typedef struct removal_work {
    pnp_work work;
    pnp_devnode *node;
    bool keep_disabled;
    PNP_VETO_TYPE veto_type;
    WCHAR *veto_name;
    ULONG veto_name_len;
    CONFIGRET result;
} removal_work;

static void query_remove_fn(pnp_work *w)
{
    removal_work *r = CONTAINING_RECORD(w, removal_work, work);
    pnp_node_state st = pnp_node_state_get(r->node);

    if (st == PNP_NODE_DELETED) {
        r->result = CR_NO_SUCH_DEVNODE;
        return;
    }
    if (r->keep_disabled && st == PNP_NODE_DISABLED) {
        r->result = CR_SUCCESS;
        return;
    }
    r->result = pnp_query_remove_subtree(r->node, r->keep_disabled, &r->veto_type, r->veto_name, r->veto_name_len);
}

static CONFIGRET run_removal(DEVINST dn, bool keep_disabled, PPNP_VETO_TYPE pVetoType, LPWSTR pszVetoName,
                             ULONG ulNameLength)
{
    removal_work r;
    pnp_devnode *n;

    if (!pk_irql_ok("CM_Query_And_Remove_SubTree", PASSIVE_LEVEL))
        return CR_FAILURE;
    if (pszVetoName && !ulNameLength)
        return CR_INVALID_POINTER;
    n = pnp_node_from_devinst(dn);
    if (!n)
        return CR_INVALID_DEVNODE;
    if (!n->parent || (keep_disabled && !n->disableable)) {
        pnp_node_dereference(n);
        return n->parent ? CR_NOT_DISABLEABLE : CR_INVALID_DEVNODE;
    }
    memset(&r, 0, sizeof(r));
    r.work.fn = query_remove_fn;
    r.node = n;
    r.keep_disabled = keep_disabled;
    r.veto_name = pszVetoName;
    r.veto_name_len = pszVetoName ? ulNameLength : 0;
    if (pszVetoName)
        pszVetoName[0] = 0;
    if (!pnp_worker_run_sync(&r.work)) {
        pnp_node_dereference(n);
        pk_verifier_stop("CM_Query_And_Remove_SubTree", "called on the PnP worker (it would deadlock)");
        return CR_FAILURE;
    }
    pnp_node_dereference(n);
    if (r.result == CR_REMOVE_VETOED && pVetoType)
        *pVetoType = r.veto_type;
    return r.result;
}

CONFIGRET CM_Query_And_Remove_SubTreeW(DEVINST dnAncestor, PPNP_VETO_TYPE pVetoType, LPWSTR pszVetoName,
                                       ULONG ulNameLength, ULONG ulFlags)
{
    if (ulFlags & ~(ULONG)0x7)
        return CR_INVALID_FLAG;
    return run_removal(dnAncestor, false, pVetoType, pszVetoName, ulNameLength);
}

CONFIGRET CM_Disable_DevNode(DEVINST dnDevInst, ULONG ulFlags)
{
    if (ulFlags & ~(ULONG)0x3)
        return CR_INVALID_FLAG;
    return run_removal(dnDevInst, true, NULL, NULL, 0);
}

typedef struct node_work {
    pnp_work work;
    pnp_devnode *node;
    CONFIGRET result;
} node_work;

static void enable_fn(pnp_work *w)
{
    node_work *r = CONTAINING_RECORD(w, node_work, work);
    if (pnp_node_state_get(r->node) != PNP_NODE_DISABLED) {
        r->result = CR_SUCCESS;
        return;
    }
    set_problem(r->node, 0);
    pnp_node_set_state(r->node, PNP_NODE_INITIALIZED);
    pnp_start_node(r->node);
    r->result = CR_SUCCESS;
}

CONFIGRET CM_Enable_DevNode(DEVINST dnDevInst, ULONG ulFlags)
{
    node_work r;

    if (!pk_irql_ok("CM_Enable_DevNode", PASSIVE_LEVEL))
        return CR_FAILURE;
    if (ulFlags)
        return CR_INVALID_FLAG;
    memset(&r, 0, sizeof(r));
    r.node = pnp_node_from_devinst(dnDevInst);
    if (!r.node)
        return CR_INVALID_DEVNODE;
    r.work.fn = enable_fn;
    if (!pnp_worker_run_sync(&r.work))
        r.result = CR_FAILURE;
    pnp_node_dereference(r.node);
    return r.result;
}

/* ---- sim fault injection ---- */

static void surprise_fn(pnp_work *w)
{
    node_work *r = CONTAINING_RECORD(w, node_work, work);
    pnp_surprise_remove_subtree(r->node);
    pnp_node_dereference(r->node);
    pk_free(r);
}

NTSTATUS pnp_request_surprise_removal(pnp_devnode *n)
{
    node_work *r = pk_zalloc(sizeof(*r));
    if (!r)
        return STATUS_INSUFFICIENT_RESOURCES;
    pnp_node_reference(n);
    r->node = n;
    r->work.fn = surprise_fn;
    pnp_worker_queue(&r->work);
    return STATUS_SUCCESS;
}

NTSTATUS PnpkitSimSurpriseRemove(DEVINST DevInst)
{
    pnp_devnode *n = pnp_node_from_devinst(DevInst);
    NTSTATUS status;

    if (!pk_irql_ok("PnpkitSimSurpriseRemove", DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!n || !n->parent) {
        if (n)
            pnp_node_dereference(n);
        return STATUS_INVALID_PARAMETER;
    }
    status = pnp_request_surprise_removal(n);
    pnp_node_dereference(n);
    return status;
}

NTSTATUS PnpkitSimVetoQueryRemove(DEVINST DevInst, BOOLEAN Veto)
{
    pnp_devnode *n = pnp_node_from_devinst(DevInst);
    swenum_pdo_extension *ext = n ? pdo_ext(n) : NULL;

    if (ext)
        __atomic_store_n(&ext->veto_query_remove, Veto != FALSE, __ATOMIC_RELEASE);
    if (n)
        pnp_node_dereference(n);
    return ext ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}

/* Instance ids whose next start must fail, for devices that do not exist yet. tree_lock. */
static struct {
    WCHAR ids[16][MAX_DEVICE_ID_LEN];
    int count;
} fail_start;

NTSTATUS PnpkitSimFailNextStart(PCWSTR InstanceId)
{
    pnp_devnode *n;
    size_t len = PnpkitWcsLen(InstanceId);

    if (!InstanceId || !len || len >= MAX_DEVICE_ID_LEN)
        return STATUS_INVALID_PARAMETER;
    n = pnp_node_from_instance_id(InstanceId, len);
    if (n) {
        swenum_pdo_extension *ext = pdo_ext(n);
        if (ext)
            __atomic_store_n(&ext->fail_next_start, true, __ATOMIC_RELEASE);
        pnp_node_dereference(n);
        return ext ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
    }
    pk_lock_acquire(&pnp.tree_lock);
    if (fail_start.count == 16) {
        pk_lock_release(&pnp.tree_lock);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    memcpy(fail_start.ids[fail_start.count++], InstanceId, (len + 1) * sizeof(WCHAR));
    pk_lock_release(&pnp.tree_lock);
    return STATUS_SUCCESS;
}

bool pnp_sim_take_fail_start(pnp_devnode *n)
{
    bool hit = false;
    pk_lock_acquire(&pnp.tree_lock);
    for (int i = 0; i < fail_start.count && !hit; i++) {
        size_t len = PnpkitWcsLen(fail_start.ids[i]);
        if (len != n->instance_id_len)
            continue;
        hit = true;
        for (size_t k = 0; k < len && hit; k++)
            hit = RtlUpcaseUnicodeChar(fail_start.ids[i][k]) == RtlUpcaseUnicodeChar(n->instance_id[k]);
        if (hit) {
            memmove(fail_start.ids[i], fail_start.ids[fail_start.count - 1], sizeof(fail_start.ids[0]));
            fail_start.count--;
        }
    }
    pk_lock_release(&pnp.tree_lock);
    return hit;
}

VOID PnpkitSimWaitIdle(void)
{
    if (!pk_irql_ok("PnpkitSimWaitIdle", PASSIVE_LEVEL) || pnp_on_worker())
        return;
    pnp_worker_flush();
}
