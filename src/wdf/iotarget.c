/*
 * iotarget.c — WDFIOTARGET: the state and sent-request tracking every target shares, and the
 * local I/O target of a device (the device it attached to). Remote targets (WdfIoTargetCreate,
 * Open, Close, Stop, Start, Purge, removal notifications) build on the hooks declared in
 * wdf_internal.h: wdf_target_begin_send / wdf_target_end_send around every send,
 * wdf_target_cancel_sent and wdf_target_wait_sent for stop, purge and close.
 *
 * Locking: t->lock protects the state, the list of sent requests and its count. It is a leaf: no
 * other lock is taken under it and no callback runs under it. A cancel pass takes a reference
 * on each request under the lock and cancels after unlocking.
 *
 * Who frees what: the target references its device object (released by its destroy hook). The
 * local target is deleted with its device (it is a child of the WDFDEVICE).
 */
#include "wdf/wdf_internal.h"

static void target_destroy(pk_object *o)
{
    wdf_iotarget *t = CONTAINING_RECORD(o, wdf_iotarget, header);

    if (t->target_device)
        ObDereferenceObject(t->target_device);
    t->target_device = NULL;
}

static const pk_object_type local_target_type = { "WDFIOTARGET (local)", PK_KIND_IOTARGET, PK_OBJTYPE_NO_CLIENT_DELETE,
                                                  NULL, target_destroy };

NTSTATUS wdf_target_reference(WDFIOTARGET handle, const char *api, wdf_iotarget **out)
{
    pk_object *o;
    NTSTATUS status = pk_object_reference_handle((WDFOBJECT)handle, PK_KIND_IOTARGET, api, &o);

    if (NT_SUCCESS(status))
        *out = CONTAINING_RECORD(o, wdf_iotarget, header);
    return status;
}

NTSTATUS wdf_target_create_local(wdf_device *dev, wdf_iotarget **out)
{
    wdf_iotarget *t;
    NTSTATUS status;

    status = pk_object_create(&local_target_type, NULL, &dev->header, sizeof(*t), "WdfDeviceCreate", (void **)&t);
    if (!NT_SUCCESS(status))
        return status;
    t->device = dev;
    ObReferenceObject(dev->lower);
    t->target_device = dev->lower;
    t->target_pdo = dev->pdo;
    t->target_file = NULL;
    t->local = true;
    pk_lock_init(&t->lock);
    InitializeListHead(&t->sent);
    KeInitializeEvent(&t->sent_empty, NotificationEvent, FALSE);
    /* The framework opens and starts the local target with its device. */
    t->state = WdfIoTargetStarted;
    pk_object_commit(&t->header);
    *out = t;
    return STATUS_SUCCESS;
}

/* ---- The hooks around every send ---- */

NTSTATUS wdf_target_begin_send(wdf_iotarget *t, wdf_request *r, ULONG flags, bool untracked)
{
    WDF_IO_TARGET_STATE state;

    pk_lock_acquire(&t->lock);
    state = t->state;
    /* Started delivers. IGNORE_TARGET_STATE also delivers when Stopped or Purged, never once the
     * target is closed or deleted. A Stopped remote target will hold requests instead of
     * refusing them: that is where the I/O target work adds its held list. */
    if (state != WdfIoTargetStarted &&
        !((flags & WDF_REQUEST_SEND_OPTION_IGNORE_TARGET_STATE) &&
          (state == WdfIoTargetStopped || state == WdfIoTargetPurged))) {
        pk_lock_release(&t->lock);
        return STATUS_INVALID_DEVICE_STATE;
    }
    if (!untracked) {
        InsertTailList(&t->sent, &r->target_link);
        r->target_tracked = true;
        t->sent_count++;
    }
    pk_lock_release(&t->lock);
    return STATUS_SUCCESS;
}

void wdf_target_end_send(wdf_iotarget *t, wdf_request *r)
{
    pk_lock_acquire(&t->lock);
    if (r->target_tracked) {
        RemoveEntryList(&r->target_link);
        r->target_tracked = false;
        t->sent_count--;
        if (t->sent_count == 0 && t->waiters)
            KeSetEvent(&t->sent_empty, IO_NO_INCREMENT, FALSE);
    }
    pk_lock_release(&t->lock);
}

#define CANCEL_BATCH 32

void wdf_target_cancel_sent(wdf_iotarget *t)
{
    uint32_t epoch;

    pk_lock_acquire(&t->lock);
    epoch = ++t->cancel_epoch;
    pk_lock_release(&t->lock);
    for (;;) {
        wdf_request *batch[CANCEL_BATCH];
        int n = 0;

        pk_lock_acquire(&t->lock);
        for (PLIST_ENTRY e = t->sent.Flink; e != &t->sent && n < CANCEL_BATCH; e = e->Flink) {
            wdf_request *r = CONTAINING_RECORD(e, wdf_request, target_link);
            if (r->cancel_epoch == epoch)
                continue;
            r->cancel_epoch = epoch;
            pk_object_reference(&r->header);
            batch[n++] = r;
        }
        pk_lock_release(&t->lock);
        for (int i = 0; i < n; i++) {
            wdf_request_cancel_sent(batch[i]);
            pk_object_dereference(&batch[i]->header);
        }
        if (n < CANCEL_BATCH)
            break;
    }
}

void wdf_target_wait_sent(wdf_iotarget *t)
{
    for (;;) {
        pk_lock_acquire(&t->lock);
        if (t->sent_count == 0) {
            pk_lock_release(&t->lock);
            return;
        }
        t->waiters++;
        KeClearEvent(&t->sent_empty);
        pk_lock_release(&t->lock);
        KeWaitForSingleObject(&t->sent_empty, Executive, KernelMode, FALSE, NULL);
        pk_lock_acquire(&t->lock);
        t->waiters--;
        pk_lock_release(&t->lock);
    }
}

void wdf_target_close_for_removal(wdf_iotarget *t)
{
    if (!t)
        return;
    pk_lock_acquire(&t->lock);
    pk_store_release(&t->state, WdfIoTargetClosed);
    pk_lock_release(&t->lock);
    wdf_target_cancel_sent(t);
    wdf_target_wait_sent(t);
}

/* ---- Public accessors ---- */

#define TARGET_GETTER(name, type, expr) \
    type name(WDFIOTARGET IoTarget) \
    { \
        wdf_iotarget *t; \
        type value; \
        if (!pk_irql_ok(#name, DISPATCH_LEVEL) || !NT_SUCCESS(wdf_target_reference(IoTarget, #name, &t))) \
            return (type)0; \
        value = (expr); \
        pk_object_dereference(&t->header); \
        return value; \
    }

static WDF_IO_TARGET_STATE target_state(wdf_iotarget *t)
{
    WDF_IO_TARGET_STATE state;

    pk_lock_acquire(&t->lock);
    state = t->state;
    pk_lock_release(&t->lock);
    return state;
}

TARGET_GETTER(WdfIoTargetGetState, WDF_IO_TARGET_STATE, target_state(t))
TARGET_GETTER(WdfIoTargetGetDevice, WDFDEVICE, (WDFDEVICE)pk_object_handle(&t->device->header))
TARGET_GETTER(WdfIoTargetWdmGetTargetDeviceObject, PDEVICE_OBJECT, t->target_device)
TARGET_GETTER(WdfIoTargetWdmGetTargetPhysicalDevice, PDEVICE_OBJECT, t->target_pdo)
TARGET_GETTER(WdfIoTargetWdmGetTargetFileObject, PFILE_OBJECT, t->target_file)
