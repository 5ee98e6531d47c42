/*
 * device.c — WDFDEVICE: WdfDeviceCreate, the dispatch routine of every WDF device object, the
 * PnP/power state machine driven by IRP_MJ_PNP and IRP_MJ_POWER, WDM interop, device state and
 * WdfDevicePostEvent.
 *
 * The state machine. dev->pnp_state changes only in device_transition, which checks the
 * transition against a table and records it in dev->history (readable in a debugger and with
 * PnpkitObjectDump's neighbour, the trace). PnP IRPs arrive one at a time on the PnP worker; a
 * power IRP may come from another thread, so every PnP and power handler runs under
 * dev->pnp_serial, the device's own event queue (KMDF's state machine is serialized the same
 * way). That lock is held across the driver's PnP and power callbacks, by design; no other
 * pnpkit lock is.
 *
 * Removal: IRP_MN_REMOVE_DEVICE runs the driver's teardown, purges the queues, closes the local
 * target, sends the remove down, then releases the device object's remove lock and waits for
 * every dispatch in progress; after that no dispatch reaches the WDFDEVICE (wdf_devext.device is
 * never read again), the device detaches, the WDFDEVICE is deleted (its children first) and the
 * device object is deleted.
 *
 * Who frees what: the WDFDEVICE references its device object and PDO until its destroy hook, so
 * WdfDeviceWdmGetDeviceObject stays valid in the device's cleanup callbacks. Interface records
 * are freed by the dispose hook.
 */
#include "wdf/wdf_internal.h"

#include <string.h>

/* ---- The driver's passive callback lock ---- */

void wdf_callback_lock_init(wdf_callback_lock *l) { KeInitializeEvent(&l->event, SynchronizationEvent, TRUE); }

void wdf_callback_lock_acquire(wdf_callback_lock *l)
{
    KeWaitForSingleObject(&l->event, Executive, KernelMode, FALSE, NULL);
}

void wdf_callback_lock_release(wdf_callback_lock *l) { KeSetEvent(&l->event, IO_NO_INCREMENT, FALSE); }

/* ---- The state machine ---- */

typedef enum device_event {
    EV_START = 1,
    EV_START_FAILED,
    EV_QUERY_REMOVE,
    EV_CANCEL_REMOVE,
    EV_REMOVE,
    EV_SURPRISE_REMOVE,
    EV_QUERY_STOP,
    EV_CANCEL_STOP,
    EV_STOP,
} device_event;

static const char *state_name(unsigned s)
{
    static const char *const names[] = { "?", "Added", "Started", "StartFailed", "QueryRemoved", "QueryStopped",
                                         "Stopped", "SurpriseRemoved", "Removed" };
    return s < ARRAYSIZE(names) ? names[s] : "?";
}

static bool transition_is_legal(wdf_pnp_state from, wdf_pnp_state to)
{
    switch (to) {
    case WDF_PNP_STARTED:
        return from == WDF_PNP_ADDED || from == WDF_PNP_QUERY_REMOVED || from == WDF_PNP_QUERY_STOPPED ||
               from == WDF_PNP_STOPPED;
    case WDF_PNP_START_FAILED:
        return from == WDF_PNP_ADDED || from == WDF_PNP_STOPPED;
    case WDF_PNP_QUERY_REMOVED:
    case WDF_PNP_QUERY_STOPPED:
        return from == WDF_PNP_STARTED;
    case WDF_PNP_STOPPED:
        return from == WDF_PNP_QUERY_STOPPED;
    case WDF_PNP_SURPRISE_REMOVED:
        return from != WDF_PNP_SURPRISE_REMOVED && from != WDF_PNP_REMOVED;
    case WDF_PNP_REMOVED:
        return from != WDF_PNP_REMOVED;
    default:
        return false;
    }
}

/* The one function that changes dev->pnp_state. Returns false (and changes nothing) for a
 * transition the table does not allow, which a PnP manager sending IRPs out of order causes. */
static bool device_transition(wdf_device *dev, wdf_pnp_state to, device_event event)
{
    wdf_pnp_state from;

    pk_lock_acquire(&dev->state_lock);
    from = (wdf_pnp_state)dev->pnp_state;
    if (!transition_is_legal(from, to)) {
        pk_lock_release(&dev->state_lock);
        pk_verifier_report("WDFDEVICE", "device %p: no PnP transition from %s to %s", pk_object_handle(&dev->header),
                           state_name(from), state_name(to));
        return false;
    }
    dev->history[dev->history_next].from = (uint8_t)from;
    dev->history[dev->history_next].to = (uint8_t)to;
    dev->history[dev->history_next].event = (uint8_t)event;
    dev->history_next = (uint8_t)((dev->history_next + 1) % WDF_DEVICE_HISTORY);
    pk_store_release(&dev->pnp_state, (uint8_t)to);
    pk_lock_release(&dev->state_lock);
    PK_TRACE(PnpkitTraceInfo, "wdf", "device %p: %s -> %s", pk_object_handle(&dev->header), state_name(from),
             state_name(to));
    return true;
}

wdf_pnp_state wdf_device_pnp_state(wdf_device *dev) { return (wdf_pnp_state)pk_load_acquire(&dev->pnp_state); }

/* ---- Object type ---- */

static void device_dispose(pk_object *o)
{
    wdf_device *dev = CONTAINING_RECORD(o, wdf_device, header);
    wdf_interfaces_free(dev);
}

static void device_destroy(pk_object *o)
{
    wdf_device *dev = CONTAINING_RECORD(o, wdf_device, header);

    if (dev->self)
        ObDereferenceObject(dev->self);
    if (dev->pdo)
        ObDereferenceObject(dev->pdo);
    dev->self = dev->pdo = NULL;
}

static const pk_object_type device_type = { "WDFDEVICE", PK_KIND_DEVICE, PK_OBJTYPE_NO_CLIENT_DELETE, device_dispose,
                                            device_destroy };

NTSTATUS wdf_device_reference(WDFDEVICE handle, const char *api, wdf_device **out)
{
    pk_object *o;
    NTSTATUS status = pk_object_reference_handle((WDFOBJECT)handle, PK_KIND_DEVICE, api, &o);

    if (NT_SUCCESS(status))
        *out = CONTAINING_RECORD(o, wdf_device, header);
    return status;
}

wdf_device *wdf_device_from_wdm(PDEVICE_OBJECT device_object)
{
    wdf_devext *x;

    if (!device_object || !device_object->DriverObject ||
        device_object->DriverObject->MajorFunction[IRP_MJ_CREATE] != wdf_device_dispatch)
        return NULL;
    x = device_object->DeviceExtension;
    return x && x->magic == WDF_DEVEXT_MAGIC ? pk_load_acquire(&x->device) : NULL;
}

/* ---- Small IRP helpers ---- */

NTSTATUS wdf_complete_irp(PIRP irp, NTSTATUS status, ULONG_PTR information)
{
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = information;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
}

NTSTATUS wdf_forward_irp(wdf_device *dev, PIRP irp)
{
    IoSkipCurrentIrpStackLocation(irp);
    return IoCallDriver(dev->lower, irp);
}

static NTSTATUS forward_done(PDEVICE_OBJECT device, PIRP irp, PVOID context)
{
    KeSetEvent(context, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

/* Sends irp to the lower device and waits (PASSIVE_LEVEL); the IRP is ours again afterwards. */
static NTSTATUS forward_and_wait(wdf_device *dev, PIRP irp)
{
    KEVENT done;

    KeInitializeEvent(&done, NotificationEvent, FALSE);
    IoCopyCurrentIrpStackLocationToNext(irp);
    IoSetCompletionRoutine(irp, forward_done, &done, TRUE, TRUE, TRUE);
    IoCallDriver(dev->lower, irp);
    KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
    return irp->IoStatus.Status;
}

/* ---- Power ---- */

static WDFDEVICE handle_of(wdf_device *dev) { return (WDFDEVICE)pk_object_handle(&dev->header); }

static const wdf_device_extension *extension_of(wdf_device *dev) { return pk_load_acquire(&dev->extension); }

NTSTATUS wdf_device_set_extension(pk_object *device, const wdf_device_extension *ext)
{
    wdf_device *dev = (wdf_device *)device;
    const wdf_device_extension *none = NULL;

    if (!device || !device->type || device->type->kind != PK_KIND_DEVICE || !ext)
        return STATUS_INVALID_PARAMETER;
    if (!__atomic_compare_exchange_n(&dev->extension, &none, ext, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return none == ext ? STATUS_SUCCESS : STATUS_INVALID_DEVICE_STATE;
    return STATUS_SUCCESS;
}

static void extension_d0_exit(wdf_device *dev, WDF_POWER_DEVICE_STATE target)
{
    const wdf_device_extension *ext = extension_of(dev);
    if (ext)
        ext->d0_exit(handle_of(dev), target);
}

/* Into D0: D0Entry, queues, self-managed I/O restart. */
static NTSTATUS power_up(wdf_device *dev, WDF_POWER_DEVICE_STATE previous)
{
    NTSTATUS status = STATUS_SUCCESS;

    const wdf_device_extension *ext = extension_of(dev);

    if (pk_load_acquire(&dev->powered))
        return STATUS_SUCCESS;
    if (ext)
        status = ext->d0_entry(handle_of(dev), previous);
    if (!NT_SUCCESS(status))
        return status;
    if (dev->pnp.EvtDeviceD0Entry)
        status = dev->pnp.EvtDeviceD0Entry(handle_of(dev), previous);
    if (!NT_SUCCESS(status)) {
        extension_d0_exit(dev, previous);
        return status;
    }
    if (dev->pnp.EvtDeviceD0EntryPostInterruptsEnabled) {
        status = dev->pnp.EvtDeviceD0EntryPostInterruptsEnabled(handle_of(dev), previous);
        if (!NT_SUCCESS(status)) {
            if (dev->pnp.EvtDeviceD0Exit)
                dev->pnp.EvtDeviceD0Exit(handle_of(dev), previous);
            extension_d0_exit(dev, previous);
            return status;
        }
    }
    dev->power_state = WdfPowerDeviceD0;
    pk_store_release(&dev->powered, true);
    wdf_queues_power_up(dev);
    if (dev->smio_initialized && dev->smio_suspended) {
        dev->smio_suspended = false;
        if (dev->pnp.EvtDeviceSelfManagedIoRestart)
            dev->pnp.EvtDeviceSelfManagedIoRestart(handle_of(dev));
    }
    return STATUS_SUCCESS;
}

/* Out of D0: self-managed I/O suspend, EvtIoStop for power-managed queues, D0Exit. */
static void power_down(wdf_device *dev, WDF_POWER_DEVICE_STATE target, ULONG stop_action)
{
    if (!pk_load_acquire(&dev->powered))
        return;
    if (dev->smio_initialized && !dev->smio_suspended) {
        dev->smio_suspended = true;
        if (dev->pnp.EvtDeviceSelfManagedIoSuspend)
            dev->pnp.EvtDeviceSelfManagedIoSuspend(handle_of(dev));
    }
    /* Cleared first, so that power-managed queues hold what arrives from now on. */
    pk_store_release(&dev->powered, false);
    wdf_queues_power_down(dev, stop_action);
    if (dev->pnp.EvtDeviceD0ExitPreInterruptsDisabled)
        dev->pnp.EvtDeviceD0ExitPreInterruptsDisabled(handle_of(dev), target);
    if (dev->pnp.EvtDeviceD0Exit)
        dev->pnp.EvtDeviceD0Exit(handle_of(dev), target);
    extension_d0_exit(dev, target);
    dev->power_state = (uint8_t)target;
}

static void release_hardware(wdf_device *dev)
{
    if (!dev->hw_prepared)
        return;
    const wdf_device_extension *ext = extension_of(dev);

    dev->hw_prepared = false;
    if (dev->pnp.EvtDeviceReleaseHardware)
        dev->pnp.EvtDeviceReleaseHardware(handle_of(dev), NULL);
    if (ext)
        ext->release_hardware(handle_of(dev), NULL);
}

/* ---- PnP ---- */

/* IRP_MN_START_DEVICE, after the lower devices started. */
static NTSTATUS device_start(wdf_device *dev)
{
    NTSTATUS status = STATUS_SUCCESS;
    bool first = !dev->started_once;

    const wdf_device_extension *ext = extension_of(dev);

    dev->hw_prepared = true; /* ReleaseHardware is owed even if PrepareHardware fails (KMDF) */
    if (ext)
        status = ext->prepare_hardware(handle_of(dev), NULL, NULL);
    if (NT_SUCCESS(status) && dev->pnp.EvtDevicePrepareHardware)
        status = dev->pnp.EvtDevicePrepareHardware(handle_of(dev), NULL, NULL);
    if (!NT_SUCCESS(status))
        goto release;
    status = power_up(dev, first ? WdfPowerDeviceD3Final : (WDF_POWER_DEVICE_STATE)dev->power_state);
    if (!NT_SUCCESS(status))
        goto release;
    if (first) {
        if (dev->pnp.EvtDeviceSelfManagedIoInit)
            status = dev->pnp.EvtDeviceSelfManagedIoInit(handle_of(dev));
        if (!NT_SUCCESS(status))
            goto power_down;
        dev->smio_initialized = true;
    }
    dev->started_once = true;
    /* Interfaces last: enabled before the start completes, visible when it has (pnp.md 1.1). */
    wdf_interfaces_enable_at_start(dev);
    return STATUS_SUCCESS;

power_down:
    power_down(dev, WdfPowerDeviceD3Final, WdfRequestStopActionPurge);
release:
    release_hardware(dev);
    return status;
}

/* The part of removal that surprise removal does at once: out of D0, hardware released,
 * interfaces disabled. */
static void device_teardown(wdf_device *dev, bool surprise)
{
    power_down(dev, WdfPowerDeviceD3Final, WdfRequestStopActionPurge);
    if (surprise)
        wdf_queues_purge_for_removal(dev, true);
    if (dev->smio_initialized && dev->pnp.EvtDeviceSelfManagedIoFlush)
        dev->pnp.EvtDeviceSelfManagedIoFlush(handle_of(dev));
    release_hardware(dev);
    wdf_interfaces_disable_all(dev);
}

static NTSTATUS device_remove(wdf_device *dev, PIRP irp)
{
    wdf_devext *x = dev->ext;
    PDEVICE_OBJECT self = dev->self, lower = dev->lower;
    NTSTATUS status;

    if (wdf_device_pnp_state(dev) != WDF_PNP_SURPRISE_REMOVED)
        device_teardown(dev, false);
    wdf_queues_purge_for_removal(dev, false);
    wdf_target_close_for_removal(dev->target);
    if (dev->smio_initialized) {
        dev->smio_initialized = false;
        if (dev->pnp.EvtDeviceSelfManagedIoCleanup)
            dev->pnp.EvtDeviceSelfManagedIoCleanup(handle_of(dev));
    }
    device_transition(dev, WDF_PNP_REMOVED, EV_REMOVE);
    wdf_callback_lock_release(&dev->pnp_serial);

    irp->IoStatus.Status = STATUS_SUCCESS;
    status = wdf_forward_irp(dev, irp);

    /* From here on no dispatch reaches the WDFDEVICE. */
    IoReleaseRemoveLockAndWait(&x->remove_lock, irp);
    pk_store_release(&x->device, NULL);
    dev->lower = NULL;
    IoDetachDevice(lower);
    wdf_object_delete(&dev->header);
    IoDeleteDevice(self);
    return status;
}

static NTSTATUS pnp_dispatch(wdf_device *dev, PIRP irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    NTSTATUS status;
    wdf_pnp_state st;

    wdf_callback_lock_acquire(&dev->pnp_serial);
    st = wdf_device_pnp_state(dev);
    switch (sp->MinorFunction) {
    case IRP_MN_START_DEVICE:
        status = forward_and_wait(dev, irp);
        if (NT_SUCCESS(status))
            status = device_start(dev);
        device_transition(dev, NT_SUCCESS(status) ? WDF_PNP_STARTED : WDF_PNP_START_FAILED,
                          NT_SUCCESS(status) ? EV_START : EV_START_FAILED);
        break;

    case IRP_MN_QUERY_REMOVE_DEVICE:
        status = dev->pnp.EvtDeviceQueryRemove ? dev->pnp.EvtDeviceQueryRemove(handle_of(dev)) : STATUS_SUCCESS;
        if (!NT_SUCCESS(status))
            break;
        if (st == WDF_PNP_STARTED)
            device_transition(dev, WDF_PNP_QUERY_REMOVED, EV_QUERY_REMOVE);
        irp->IoStatus.Status = STATUS_SUCCESS;
        status = wdf_forward_irp(dev, irp);
        wdf_callback_lock_release(&dev->pnp_serial);
        return status;

    case IRP_MN_CANCEL_REMOVE_DEVICE:
        forward_and_wait(dev, irp);
        if (st == WDF_PNP_QUERY_REMOVED)
            device_transition(dev, WDF_PNP_STARTED, EV_CANCEL_REMOVE);
        status = STATUS_SUCCESS;
        break;

    case IRP_MN_QUERY_STOP_DEVICE:
        status = dev->pnp.EvtDeviceQueryStop ? dev->pnp.EvtDeviceQueryStop(handle_of(dev)) : STATUS_SUCCESS;
        if (!NT_SUCCESS(status))
            break;
        if (st == WDF_PNP_STARTED)
            device_transition(dev, WDF_PNP_QUERY_STOPPED, EV_QUERY_STOP);
        irp->IoStatus.Status = STATUS_SUCCESS;
        status = wdf_forward_irp(dev, irp);
        wdf_callback_lock_release(&dev->pnp_serial);
        return status;

    case IRP_MN_CANCEL_STOP_DEVICE:
        forward_and_wait(dev, irp);
        if (st == WDF_PNP_QUERY_STOPPED)
            device_transition(dev, WDF_PNP_STARTED, EV_CANCEL_STOP);
        status = STATUS_SUCCESS;
        break;

    case IRP_MN_STOP_DEVICE:
        if (device_transition(dev, WDF_PNP_STOPPED, EV_STOP)) {
            power_down(dev, WdfPowerDeviceD3, WdfRequestStopActionSuspend);
            release_hardware(dev);
        }
        irp->IoStatus.Status = STATUS_SUCCESS;
        status = wdf_forward_irp(dev, irp);
        wdf_callback_lock_release(&dev->pnp_serial);
        return status;

    case IRP_MN_SURPRISE_REMOVAL:
        if (device_transition(dev, WDF_PNP_SURPRISE_REMOVED, EV_SURPRISE_REMOVE)) {
            if (dev->pnp.EvtDeviceSurpriseRemoval)
                dev->pnp.EvtDeviceSurpriseRemoval(handle_of(dev));
            device_teardown(dev, true);
        }
        irp->IoStatus.Status = STATUS_SUCCESS;
        status = wdf_forward_irp(dev, irp);
        wdf_callback_lock_release(&dev->pnp_serial);
        return status;

    default:
        status = wdf_forward_irp(dev, irp);
        wdf_callback_lock_release(&dev->pnp_serial);
        return status;
    }
    wdf_callback_lock_release(&dev->pnp_serial);
    return wdf_complete_irp(irp, status, irp->IoStatus.Information);
}

/* IRP_MJ_POWER: only device power IRPs of a started device change anything. */
static NTSTATUS power_dispatch(wdf_device *dev, PIRP irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    NTSTATUS status;

    if (sp->MinorFunction != IRP_MN_SET_POWER || sp->Parameters.Power.Type != DevicePowerState)
        return wdf_forward_irp(dev, irp);
    wdf_callback_lock_acquire(&dev->pnp_serial);
    if (wdf_device_pnp_state(dev) != WDF_PNP_STARTED) {
        wdf_callback_lock_release(&dev->pnp_serial);
        return wdf_forward_irp(dev, irp);
    }
    if (sp->Parameters.Power.State.DeviceState == PowerDeviceD0) {
        status = forward_and_wait(dev, irp);
        if (NT_SUCCESS(status))
            status = power_up(dev, (WDF_POWER_DEVICE_STATE)dev->power_state);
        wdf_callback_lock_release(&dev->pnp_serial);
        return wdf_complete_irp(irp, status, 0);
    }
    power_down(dev, (WDF_POWER_DEVICE_STATE)sp->Parameters.Power.State.DeviceState, WdfRequestStopActionSuspend);
    wdf_callback_lock_release(&dev->pnp_serial);
    return wdf_forward_irp(dev, irp);
}

/* ---- Dispatch of everything else ---- */

static int dispatch_slot(UCHAR major)
{
    switch (major) {
    case IRP_MJ_READ: return WDF_DISPATCH_READ;
    case IRP_MJ_WRITE: return WDF_DISPATCH_WRITE;
    case IRP_MJ_DEVICE_CONTROL: return WDF_DISPATCH_IOCTL;
    case IRP_MJ_INTERNAL_DEVICE_CONTROL: return WDF_DISPATCH_INTERNAL_IOCTL;
    default: return -1;
    }
}

static NTSTATUS io_dispatch(wdf_device *dev, PIRP irp, UCHAR major)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    int slot = dispatch_slot(major);
    wdf_queue *q = NULL;
    wdf_request *r;

    if (slot >= 0) {
        pk_lock_acquire(&dev->queue_lock);
        q = dev->dispatch[slot] ? dev->dispatch[slot] : dev->default_queue;
        if (q)
            pk_object_reference(&q->header);
        pk_lock_release(&dev->queue_lock);
    }
    if (!q)
        return dev->filter ? wdf_forward_irp(dev, irp) : wdf_complete_irp(irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    if (!q->config.AllowZeroLengthRequests &&
        ((major == IRP_MJ_READ && sp->Parameters.Read.Length == 0) ||
         (major == IRP_MJ_WRITE && sp->Parameters.Write.Length == 0))) {
        pk_object_dereference(&q->header);
        return wdf_complete_irp(irp, STATUS_SUCCESS, 0);
    }
    r = wdf_request_get(dev, irp);
    if (!r) {
        pk_object_dereference(&q->header);
        return wdf_complete_irp(irp, STATUS_INSUFFICIENT_RESOURCES, 0);
    }
    IoMarkIrpPending(irp);
    wdf_queue_insert(q, r);
    pk_object_dereference(&q->header);
    return STATUS_PENDING;
}

NTSTATUS wdf_device_dispatch(PDEVICE_OBJECT device_object, PIRP irp)
{
    wdf_devext *x = device_object->DeviceExtension;
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    UCHAR major = sp->MajorFunction;
    wdf_device *dev;
    NTSTATUS status;

    if (!x || x->magic != WDF_DEVEXT_MAGIC) {
        /* A device object of a WDF driver that WdfDeviceCreate did not make (a driver's own
         * WDM device): nothing handles it. */
        return wdf_complete_irp(irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    }
    if (!NT_SUCCESS(IoAcquireRemoveLock(&x->remove_lock, irp))) {
        /* Removed: cleanup and close still succeed, as for any deleted device. */
        status = (major == IRP_MJ_CLEANUP || major == IRP_MJ_CLOSE) ? STATUS_SUCCESS : STATUS_DELETE_PENDING;
        return wdf_complete_irp(irp, status, 0);
    }
    dev = x->device;
    switch (major) {
    case IRP_MJ_PNP:
        if (sp->MinorFunction == IRP_MN_REMOVE_DEVICE) {
            wdf_callback_lock_acquire(&dev->pnp_serial);
            return device_remove(dev, irp); /* releases the remove lock and waits */
        }
        status = pnp_dispatch(dev, irp);
        break;
    case IRP_MJ_POWER: status = power_dispatch(dev, irp); break;
    case IRP_MJ_CREATE: status = wdf_file_dispatch_create(dev, irp); break;
    case IRP_MJ_CLEANUP: status = wdf_file_dispatch_cleanup(dev, irp); break;
    case IRP_MJ_CLOSE: status = wdf_file_dispatch_close(dev, irp); break;
    case IRP_MJ_READ:
    case IRP_MJ_WRITE:
    case IRP_MJ_DEVICE_CONTROL:
    case IRP_MJ_INTERNAL_DEVICE_CONTROL: status = io_dispatch(dev, irp, major); break;
    default:
        status = dev->filter ? wdf_forward_irp(dev, irp) : wdf_complete_irp(irp, STATUS_INVALID_DEVICE_REQUEST, 0);
        break;
    }
    IoReleaseRemoveLock(&x->remove_lock, irp);
    return status;
}

/* =============================================================================================
 * WdfDeviceCreate
 * ============================================================================================= */

static size_t context_size_of(const WDF_OBJECT_ATTRIBUTES *a)
{
    if (!a || !a->ContextTypeInfo)
        return 0;
    return a->ContextSizeOverride ? a->ContextSizeOverride : a->ContextTypeInfo->ContextSize;
}

/* The file-object checks of io.md 1.1, once the device's own execution level is known. */
static NTSTATUS check_file_scope(PWDFDEVICE_INIT init, wdf_device *dev)
{
    WDF_SYNCHRONIZATION_SCOPE scope;

    if (!init->file_attributes_set)
        return STATUS_SUCCESS;
    scope = init->file_attributes.SynchronizationScope;
    if (scope == WdfSynchronizationScopeInheritFromParent)
        scope = (WDF_SYNCHRONIZATION_SCOPE)dev->header.synchronization_scope;
    if (scope == WdfSynchronizationScopeQueue) {
        pk_verifier_report("WdfDeviceCreate", "a file object cannot have SynchronizationScope Queue");
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    if (scope == WdfSynchronizationScopeDevice && dev->header.execution_level != WdfExecutionLevelPassive) {
        pk_verifier_report("WdfDeviceCreate",
                           "file-object SynchronizationScope Device needs a device with ExecutionLevel Passive");
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    return STATUS_SUCCESS;
}

static void configure_files(PWDFDEVICE_INIT init, wdf_device *dev)
{
    if (init->file_config_set) {
        dev->file_config = init->file_config;
    } else {
        WDF_FILEOBJECT_CONFIG_INIT(&dev->file_config, NULL, NULL, NULL);
        dev->file_config.FileObjectClass = WdfFileObjectNotRequired;
    }
    dev->file_class = (ULONG)dev->file_config.FileObjectClass & ~(ULONG)WdfFileObjectCanBeOptional;
    dev->file_optional = ((ULONG)dev->file_config.FileObjectClass & (ULONG)WdfFileObjectCanBeOptional) != 0;
    switch (dev->file_config.AutoForwardCleanupClose) {
    case WdfTrue: dev->autoforward = true; break;
    case WdfFalse: dev->autoforward = false; break;
    default: dev->autoforward = init->filter; break;
    }
    dev->file_attributes_set = init->file_attributes_set;
    if (init->file_attributes_set)
        dev->file_attributes = init->file_attributes;
}

NTSTATUS WdfDeviceCreate(PWDFDEVICE_INIT *DeviceInit, PWDF_OBJECT_ATTRIBUTES DeviceAttributes, WDFDEVICE *Device)
{
    static const char api[] = "WdfDeviceCreate";
    PWDFDEVICE_INIT init;
    wdf_device *dev;
    PDEVICE_OBJECT self, lower;
    wdf_devext *x;
    NTSTATUS status;

    if (!pk_irql_ok(api, PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!DeviceInit || !Device)
        return STATUS_INVALID_PARAMETER;
    init = *DeviceInit;
    if (!init || init->magic != WDF_DEVICE_INIT_MAGIC || init->consumed) {
        pk_verifier_report(api, "*DeviceInit is not an unused WDFDEVICE_INIT");
        return STATUS_INVALID_PARAMETER;
    }
    if (DeviceAttributes && DeviceAttributes->Size == sizeof(WDF_OBJECT_ATTRIBUTES) && DeviceAttributes->ParentObject) {
        pk_verifier_report(api, "a WDFDEVICE's parent is its WDFDRIVER: ParentObject must be NULL");
        return STATUS_INVALID_PARAMETER;
    }

    status = pk_object_create(&device_type, DeviceAttributes, &init->driver->header, sizeof(*dev), api, (void **)&dev);
    if (!NT_SUCCESS(status))
        return status;
    dev->driver = init->driver;
    dev->filter = init->filter;
    dev->exclusive = init->exclusive;
    dev->power_policy_owner = init->power_policy_owner;
    dev->io_type = init->io_type;
    dev->pnp = init->pnp;
    dev->pnp_state = WDF_PNP_ADDED;
    dev->power_state = WdfPowerDeviceD3Final;
    pk_lock_init(&dev->file_lock);
    InitializeListHead(&dev->files);
    pk_lock_init(&dev->queue_lock);
    InitializeListHead(&dev->queues);
    pk_lock_init(&dev->pool_lock);
    pk_lock_init(&dev->iface_lock);
    InitializeListHead(&dev->interfaces);
    pk_lock_init(&dev->state_lock);
    wdf_callback_lock_init(&dev->callback_lock);
    wdf_callback_lock_init(&dev->pnp_serial);
    WDF_DEVICE_STATE_INIT(&dev->device_state);
    if (init->request_attributes_set) {
        dev->request_attributes = init->request_attributes;
        dev->request_attributes_set = true;
        dev->request_context_size = context_size_of(&init->request_attributes);
    }
    configure_files(init, dev);
    status = check_file_scope(init, dev);
    if (!NT_SUCCESS(status))
        goto abandon;

    status = IoCreateDevice(init->driver->wdm, sizeof(wdf_devext), init->name.Length ? &init->name : NULL,
                            init->device_type, init->characteristics, init->exclusive, &self);
    if (!NT_SUCCESS(status))
        goto abandon;
    x = self->DeviceExtension;
    x->magic = WDF_DEVEXT_MAGIC;
    IoInitializeRemoveLock(&x->remove_lock, 'fdwP', 0, 0);
    lower = IoAttachDeviceToDeviceStack(self, init->pdo);
    if (!lower) {
        status = STATUS_NO_SUCH_DEVICE;
        goto delete_device;
    }
    if (init->filter) {
        /* A filter is transparent: it takes the I/O method and type of the device below. */
        self->Flags |= lower->Flags & (DO_BUFFERED_IO | DO_DIRECT_IO | DO_POWER_PAGABLE);
        self->DeviceType = lower->DeviceType;
        self->Characteristics |= lower->Characteristics;
    } else if (init->io_type == WdfDeviceIoBuffered) {
        self->Flags |= DO_BUFFERED_IO;
    } else if (init->io_type == WdfDeviceIoDirect) {
        self->Flags |= DO_DIRECT_IO;
    }
    ObReferenceObject(self);
    ObReferenceObject(init->pdo);
    dev->self = self;
    dev->pdo = init->pdo;
    dev->lower = lower;
    dev->ext = x;

    status = wdf_target_create_local(dev, &dev->target);
    if (!NT_SUCCESS(status))
        goto detach;

    pk_store_release(&x->device, dev);
    init->consumed = true;
    init->created = dev;
    *DeviceInit = NULL;
    *Device = handle_of(dev);
    pk_object_commit(&dev->header);
    return STATUS_SUCCESS;

detach:
    IoDetachDevice(lower);
    dev->lower = NULL;
    /* The device object goes through the object's destroy hook (it holds a reference). */
    pk_object_abandon(&dev->header);
    IoDeleteDevice(self);
    return status;
delete_device:
    IoDeleteDevice(self);
abandon:
    pk_object_abandon(&dev->header);
    return status;
}

/* =============================================================================================
 * Accessors and WDM interop
 * ============================================================================================= */

#define DEVICE_GETTER(name, type, expr) \
    type name(WDFDEVICE Device) \
    { \
        wdf_device *dev; \
        type value; \
        if (!pk_irql_ok(#name, DISPATCH_LEVEL) || !NT_SUCCESS(wdf_device_reference(Device, #name, &dev))) \
            return (type)0; \
        value = (expr); \
        pk_object_dereference(&dev->header); \
        return value; \
    }

DEVICE_GETTER(WdfDeviceWdmGetDeviceObject, PDEVICE_OBJECT, dev->self)
DEVICE_GETTER(WdfDeviceWdmGetPhysicalDevice, PDEVICE_OBJECT, dev->pdo)
DEVICE_GETTER(WdfDeviceWdmGetAttachedDevice, PDEVICE_OBJECT, dev->lower)
DEVICE_GETTER(WdfDeviceGetDriver, WDFDRIVER, (WDFDRIVER)pk_object_handle(&dev->driver->header))
DEVICE_GETTER(WdfDeviceGetIoTarget, WDFIOTARGET, dev->target ? (WDFIOTARGET)pk_object_handle(&dev->target->header) : NULL)

WDFDEVICE WdfWdmDeviceGetWdfDeviceHandle(PDEVICE_OBJECT DeviceObject)
{
    wdf_device *dev;

    if (!pk_irql_ok("WdfWdmDeviceGetWdfDeviceHandle", DISPATCH_LEVEL))
        return NULL;
    dev = wdf_device_from_wdm(DeviceObject);
    return dev ? handle_of(dev) : NULL;
}

static bool device_state_ok(PWDF_DEVICE_STATE s, const char *api)
{
    if (!s || s->Size != sizeof(WDF_DEVICE_STATE)) {
        pk_verifier_report(api, "WDF_DEVICE_STATE is NULL or its Size is not %zu", sizeof(WDF_DEVICE_STATE));
        return false;
    }
    return true;
}

VOID WdfDeviceGetDeviceState(WDFDEVICE Device, PWDF_DEVICE_STATE DeviceState)
{
    wdf_device *dev;

    if (!pk_irql_ok("WdfDeviceGetDeviceState", DISPATCH_LEVEL) || !device_state_ok(DeviceState, "WdfDeviceGetDeviceState"))
        return;
    if (!NT_SUCCESS(wdf_device_reference(Device, "WdfDeviceGetDeviceState", &dev)))
        return;
    pk_lock_acquire(&dev->state_lock);
    *DeviceState = dev->device_state;
    pk_lock_release(&dev->state_lock);
    pk_object_dereference(&dev->header);
}

VOID WdfDeviceSetDeviceState(WDFDEVICE Device, PWDF_DEVICE_STATE DeviceState)
{
    wdf_device *dev;

    if (!pk_irql_ok("WdfDeviceSetDeviceState", DISPATCH_LEVEL) || !device_state_ok(DeviceState, "WdfDeviceSetDeviceState"))
        return;
    if (!NT_SUCCESS(wdf_device_reference(Device, "WdfDeviceSetDeviceState", &dev)))
        return;
    pk_lock_acquire(&dev->state_lock);
    dev->device_state = *DeviceState;
    pk_lock_release(&dev->state_lock);
    pk_object_dereference(&dev->header);
}

/* =============================================================================================
 * WdfDevicePostEvent
 * ============================================================================================= */

#define CUSTOM_HEADER_SIZE ((ULONG)FIELD_OFFSET(TARGET_DEVICE_CUSTOM_NOTIFICATION, CustomDataBuffer))

NTSTATUS WdfDevicePostEvent(WDFDEVICE Device, REFGUID EventGuid, WDF_EVENT_TYPE WdfEventType, BYTE *Data,
                            ULONG DataSizeCb)
{
    static const char api[] = "WdfDevicePostEvent";
    PTARGET_DEVICE_CUSTOM_NOTIFICATION n;
    wdf_device *dev;
    NTSTATUS status;
    size_t size;

    if (!pk_irql_ok(api, PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    status = wdf_device_reference(Device, api, &dev);
    if (!NT_SUCCESS(status))
        return status;
    if (WdfEventType != WdfEventBroadcast || !EventGuid || (DataSizeCb && !Data)) {
        status = STATUS_INVALID_PARAMETER;
        goto release;
    }
    if (DataSizeCb > 0xFFFFu - CUSTOM_HEADER_SIZE) {
        status = STATUS_INSUFFICIENT_RESOURCES;
        goto release;
    }
    /* The notification is copied by the report: this buffer lives for the call only. */
    size = CUSTOM_HEADER_SIZE + (size_t)DataSizeCb;
    n = pk_zalloc(size < sizeof(*n) ? sizeof(*n) : size);
    if (!n) {
        status = STATUS_INSUFFICIENT_RESOURCES;
        goto release;
    }
    n->Version = 1;
    n->Size = (USHORT)size;
    n->Event = *EventGuid;
    n->FileObject = NULL;
    n->NameBufferOffset = -1;
    if (DataSizeCb)
        memcpy(n->CustomDataBuffer, Data, DataSizeCb);
    status = IoReportTargetDeviceChangeAsynchronous(dev->pdo, n, NULL, NULL);
    pk_free(n);
    if (status == STATUS_PENDING)
        status = STATUS_SUCCESS;
release:
    pk_object_dereference(&dev->header);
    return status;
}
