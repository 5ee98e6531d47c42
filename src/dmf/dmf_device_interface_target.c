/*
 * dmf_device_interface_target.c — DMF_DeviceInterfaceTarget: one target of a device interface
 * class at a time, built on an internal DMF_DeviceInterfaceMultipleTarget child. The child's
 * callbacks carry this module's handle (it is the module the client created), so the wrappers
 * below find this module directly: OnPnpNotification refuses arrivals while a target is open,
 * the state callback records the open Target and forwards the state without it. Methods
 * forward to the child with the recorded Target; the child validates it, so a method racing a
 * removal fails with STATUS_INVALID_DEVICE_STATE like a method given a stale Target.
 *
 * Custom events (a pnpkit addition): while the target is open (from Open to QueryRemove
 * accepted, RemoveComplete or Close, and again from RemoveCancel) the module holds a
 * target-device-change registration on the WDFIOTARGET's file object and hands custom events
 * to EvtDeviceInterfaceTargetOnCustomEvent.
 *
 * Locking: `lock` (pk_lock, a leaf) protects target and custom_entry. The registration is made
 * and ended from the state wrapper, which runs on the PnP worker or on the thread that
 * unregisters the child, never concurrently for one module (the child serializes them).
 */
#include "dmf/dmf_internal.h"
#include "base/base_internal.h"

#include <stddef.h>
#include <string.h>

/* =============================================================================================
 * Module Private Enumerations and Structures
 * ============================================================================================= */

typedef struct {
    DMFMODULE dimt;          /* the internal DeviceInterfaceMultipleTarget */
    pk_lock lock;
    DMFIOTARGET target;      /* the open target (from Open to RemoveComplete or Close); lock */
    PVOID custom_entry;      /* custom-event registration; lock */
} dit_context;

static const dmf_module_descriptor dit_descriptor;

/* =============================================================================================
 * Module Private Code
 * ============================================================================================= */

static dmf_module *dit_module(DMFMODULE handle) { return dmf_module_from_callback(handle); }
static dit_context *dit_of(dmf_module *m) { return dmf_module_context(m); }
static DMF_CONFIG_DeviceInterfaceTarget *dit_config(dmf_module *m) { return dmf_module_config(m); }

static DMFIOTARGET current_target(dit_context *c)
{
    DMFIOTARGET t;
    pk_lock_acquire(&c->lock);
    t = c->target;
    pk_lock_release(&c->lock);
    return t;
}

static NTSTATUS dit_custom_event(PVOID NotificationStructure, PVOID Context)
{
    PTARGET_DEVICE_CUSTOM_NOTIFICATION n = NotificationStructure;
    dmf_module *m = Context;
    DMF_CONFIG_DeviceInterfaceTarget *config = dit_config(m);
    size_t header = offsetof(TARGET_DEVICE_CUSTOM_NOTIFICATION, CustomDataBuffer);

    if (IsEqualGUID(&n->Event, &GUID_TARGET_DEVICE_QUERY_REMOVE) ||
        IsEqualGUID(&n->Event, &GUID_TARGET_DEVICE_REMOVE_CANCELLED) ||
        IsEqualGUID(&n->Event, &GUID_TARGET_DEVICE_REMOVE_COMPLETE))
        return STATUS_SUCCESS; /* the child's WDFIOTARGET handles removal */
    config->EvtDeviceInterfaceTargetOnCustomEvent(dmf_module_client_handle(m), &n->Event, n->CustomDataBuffer,
                                                  n->Size > header ? (ULONG)(n->Size - header) : 0,
                                                  n->NameBufferOffset);
    return STATUS_SUCCESS;
}

static void custom_register(dmf_module *m, DMFIOTARGET target)
{
    dit_context *c = dit_of(m);
    WDFIOTARGET io;
    PFILE_OBJECT file;
    PDEVICE_OBJECT device;
    PVOID entry = NULL;

    if (!dit_config(m)->EvtDeviceInterfaceTargetOnCustomEvent)
        return;
    if (!NT_SUCCESS(DMF_DeviceInterfaceMultipleTarget_Get(c->dimt, target, &io)))
        return;
    file = WdfIoTargetWdmGetTargetFileObject(io);
    device = WdfDeviceWdmGetDeviceObject(DMF_ParentDeviceGet(dmf_module_handle(m)));
    if (!file || !device ||
        !NT_SUCCESS(IoRegisterPlugPlayNotification(EventCategoryTargetDeviceChange, 0, file, device->DriverObject,
                                                   dit_custom_event, m, &entry))) {
        PK_TRACE(PnpkitTraceWarning, "dmf", "DeviceInterfaceTarget: no custom-event registration on the target");
        return;
    }
    pk_lock_acquire(&c->lock);
    c->custom_entry = entry;
    pk_lock_release(&c->lock);
}

static void custom_unregister(dit_context *c)
{
    PVOID entry;

    pk_lock_acquire(&c->lock);
    entry = c->custom_entry;
    c->custom_entry = NULL;
    pk_lock_release(&c->lock);
    if (entry)
        IoUnregisterPlugPlayNotificationEx(entry);
}

static NTSTATUS client_state(dmf_module *m, DeviceInterfaceTarget_StateType state)
{
    DMF_CONFIG_DeviceInterfaceTarget *config = dit_config(m);
    DMFMODULE handle = dmf_module_client_handle(m);

    if (config->EvtDeviceInterfaceTargetOnStateChangeEx)
        return config->EvtDeviceInterfaceTargetOnStateChangeEx(handle, state);
    if (config->EvtDeviceInterfaceTargetOnStateChange)
        config->EvtDeviceInterfaceTargetOnStateChange(handle, state);
    return STATUS_SUCCESS;
}

/* The child's state callback (the child's values equal ours). */
static NTSTATUS dit_state(DMFMODULE DmfModule, DMFIOTARGET Target, DeviceInterfaceMultipleTarget_StateType state)
{
    dmf_module *m = dit_module(DmfModule);
    dit_context *c = dit_of(m);
    NTSTATUS status = STATUS_SUCCESS;

    switch (state) {
    case DeviceInterfaceMultipleTarget_StateType_Open:
        pk_lock_acquire(&c->lock);
        c->target = Target; /* methods work inside Open */
        pk_lock_release(&c->lock);
        status = client_state(m, DeviceInterfaceTarget_StateType_Open);
        if (NT_SUCCESS(status)) {
            custom_register(m, Target);
        } else {
            pk_lock_acquire(&c->lock);
            c->target = NULL;
            pk_lock_release(&c->lock);
        }
        break;
    case DeviceInterfaceMultipleTarget_StateType_QueryRemove:
        status = client_state(m, DeviceInterfaceTarget_StateType_QueryRemove);
        if (NT_SUCCESS(status))
            custom_unregister(c);
        break;
    case DeviceInterfaceMultipleTarget_StateType_RemoveCancel:
        custom_register(m, Target);
        (void)client_state(m, DeviceInterfaceTarget_StateType_RemoveCancel);
        break;
    case DeviceInterfaceMultipleTarget_StateType_RemoveComplete:
    case DeviceInterfaceMultipleTarget_StateType_Close:
        custom_unregister(c);
        (void)client_state(m, (DeviceInterfaceTarget_StateType)state);
        pk_lock_acquire(&c->lock);
        if (c->target == Target)
            c->target = NULL;
        pk_lock_release(&c->lock);
        break;
    default:
        break;
    }
    return status;
}

/* The child's arrival filter: one target at a time, then the client's filter. */
static VOID dit_pnp_notification(DMFMODULE DmfModule, PUNICODE_STRING SymbolicLinkName, BOOLEAN *IoTargetOpen)
{
    dmf_module *m = dit_module(DmfModule);
    DMF_CONFIG_DeviceInterfaceTarget *config = dit_config(m);

    if (current_target(dit_of(m))) {
        *IoTargetOpen = FALSE;
        return;
    }
    if (config->EvtDeviceInterfaceTargetOnPnpNotification)
        config->EvtDeviceInterfaceTargetOnPnpNotification(dmf_module_client_handle(m), SymbolicLinkName, IoTargetOpen);
}

/* =============================================================================================
 * DMF Module Callbacks
 * ============================================================================================= */

static NTSTATUS dit_create(DMFMODULE DmfModule)
{
    dmf_module *m = dit_module(DmfModule);
    DMF_CONFIG_DeviceInterfaceTarget *config = dit_config(m);

    if (config->ContinuousRequestTargetModuleConfig.PurgeAndStartTargetInD0Callbacks ||
        config->ContinuousRequestTargetModuleConfig.CancelAndResendRequestInD0Callbacks) {
        pk_verifier_report("DMF_DeviceInterfaceTarget_Create",
                           "ContinuousRequestTargetModuleConfig has a D0 flag set: the target's stream is started "
                           "and stopped by the module");
        return STATUS_INVALID_PARAMETER;
    }
    pk_lock_init(&dit_of(m)->lock);
    return STATUS_SUCCESS;
}

static VOID dit_child_modules_add(DMFMODULE DmfModule, DMF_MODULE_ATTRIBUTES *DmfParentModuleAttributes,
                                  PDMFMODULE_INIT DmfModuleInit)
{
    dmf_module *m = dit_module(DmfModule);
    DMF_CONFIG_DeviceInterfaceTarget *config = dit_config(m);
    DMF_CONFIG_DeviceInterfaceMultipleTarget child;
    DMF_MODULE_ATTRIBUTES attributes;

    DMF_CONFIG_DeviceInterfaceMultipleTarget_AND_ATTRIBUTES_INIT(&child, &attributes);
    child.ModuleOpenOption = DmfParentModuleAttributes->DynamicModule ? DeviceInterfaceMultipleTarget_PnpRegisterWhen_Create
                                                                      : DeviceInterfaceMultipleTarget_PnpRegisterWhen_PrepareHardware;
    child.DeviceInterfaceMultipleTargetGuid = config->DeviceInterfaceTargetGuid;
    child.OpenMode = config->OpenMode;
    child.ShareAccess = config->ShareAccess;
    child.ContinuousRequestTargetModuleConfig = config->ContinuousRequestTargetModuleConfig;
    child.EvtDeviceInterfaceMultipleTargetOnStateChangeEx = dit_state;
    child.EvtDeviceInterfaceMultipleTargetOnPnpNotification = dit_pnp_notification;
    attributes.PassiveLevel = DmfParentModuleAttributes->PassiveLevel;
    attributes.ClientModuleInstanceName = (PSTR)(uintptr_t)"DeviceInterfaceTarget.Targets";
    DMF_DmfModuleAdd(DmfModuleInit, &attributes, WDF_NO_OBJECT_ATTRIBUTES, &dit_of(m)->dimt);
}

static const dmf_module_descriptor dit_descriptor = {
    .name = "DeviceInterfaceTarget",
    .options = DMF_MODULE_OPTIONS_DISPATCH_MAXIMUM,
    .open_option = DMF_MODULE_OPEN_OPTION_OPEN_Create,
    .context_size = sizeof(dit_context),
    .config_size = sizeof(DMF_CONFIG_DeviceInterfaceTarget),
    .create = dit_create,
    .child_modules_add = dit_child_modules_add,
};

/* =============================================================================================
 * Public Calls by Client
 * ============================================================================================= */

NTSTATUS DMF_DeviceInterfaceTarget_Create(WDFDEVICE Device, DMF_MODULE_ATTRIBUTES *DmfModuleAttributes,
                                          WDF_OBJECT_ATTRIBUTES *ObjectAttributes, DMFMODULE *DmfModule)
{
    return dmf_module_create(Device, DmfModuleAttributes, ObjectAttributes, &dit_descriptor, DmfModule);
}

#define DIT_ENTER(api, fail)                                                                       \
    dmf_module *m;                                                                                 \
    if (!dmf_method_enter(DmfModule, &dit_descriptor, api, DISPATCH_LEVEL, &m))                    \
        return fail;                                                                               \
    dit_context *c = dit_of(m)

NTSTATUS DMF_DeviceInterfaceTarget_BufferPut(DMFMODULE DmfModule, VOID *ClientBuffer)
{
    DIT_ENTER("DMF_DeviceInterfaceTarget_BufferPut", STATUS_INVALID_PARAMETER);
    NTSTATUS status = DMF_DeviceInterfaceMultipleTarget_BufferPut(c->dimt, current_target(c), ClientBuffer);
    dmf_method_leave(m);
    return status;
}

BOOLEAN DMF_DeviceInterfaceTarget_Cancel(DMFMODULE DmfModule, RequestTarget_DmfRequestCancel DmfRequestId)
{
    DIT_ENTER("DMF_DeviceInterfaceTarget_Cancel", FALSE);
    BOOLEAN cancelled = DMF_DeviceInterfaceMultipleTarget_Cancel(c->dimt, DmfRequestId);
    dmf_method_leave(m);
    return cancelled;
}

NTSTATUS DMF_DeviceInterfaceTarget_Get(DMFMODULE DmfModule, WDFIOTARGET *IoTarget)
{
    if (IoTarget)
        *IoTarget = NULL;
    DIT_ENTER("DMF_DeviceInterfaceTarget_Get", STATUS_INVALID_PARAMETER);
    NTSTATUS status = DMF_DeviceInterfaceMultipleTarget_Get(c->dimt, current_target(c), IoTarget);
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_DeviceInterfaceTarget_GuidGet(DMFMODULE DmfModule, GUID *Guid)
{
    DIT_ENTER("DMF_DeviceInterfaceTarget_GuidGet", STATUS_INVALID_PARAMETER);
    NTSTATUS status = STATUS_INVALID_PARAMETER;
    (void)c;
    if (Guid) {
        *Guid = dit_config(m)->DeviceInterfaceTargetGuid;
        status = STATUS_SUCCESS;
    }
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_DeviceInterfaceTarget_ReuseCreate(DMFMODULE DmfModule, RequestTarget_DmfRequestReuse *DmfRequestIdReuse)
{
    DIT_ENTER("DMF_DeviceInterfaceTarget_ReuseCreate", STATUS_INVALID_PARAMETER);
    NTSTATUS status = DMF_DeviceInterfaceMultipleTarget_ReuseCreate(c->dimt, current_target(c), DmfRequestIdReuse);
    dmf_method_leave(m);
    return status;
}

BOOLEAN DMF_DeviceInterfaceTarget_ReuseDelete(DMFMODULE DmfModule, RequestTarget_DmfRequestReuse DmfRequestIdReuse)
{
    DIT_ENTER("DMF_DeviceInterfaceTarget_ReuseDelete", FALSE);
    BOOLEAN deleted = DMF_DeviceInterfaceMultipleTarget_ReuseDelete(c->dimt, current_target(c), DmfRequestIdReuse);
    dmf_method_leave(m);
    return deleted;
}

NTSTATUS DMF_DeviceInterfaceTarget_ReuseSend(
    DMFMODULE DmfModule, RequestTarget_DmfRequestReuse DmfRequestIdReuse, VOID *RequestBuffer, size_t RequestLength,
    VOID *ResponseBuffer, size_t ResponseLength, DeviceInterfaceTarget_RequestType RequestType, ULONG RequestIoctl,
    ULONG RequestTimeoutMilliseconds,
    EVT_DMF_ContinuousRequestTarget_SendCompletion *EvtContinuousRequestTargetSingleAsynchronousRequest,
    VOID *SingleAsynchronousRequestClientContext, RequestTarget_DmfRequestCancel *DmfRequestIdCancel)
{
    DIT_ENTER("DMF_DeviceInterfaceTarget_ReuseSend", STATUS_INVALID_PARAMETER);
    NTSTATUS status = DMF_DeviceInterfaceMultipleTarget_ReuseSend(
        c->dimt, current_target(c), DmfRequestIdReuse, RequestBuffer, RequestLength, ResponseBuffer, ResponseLength,
        RequestType, RequestIoctl, RequestTimeoutMilliseconds, EvtContinuousRequestTargetSingleAsynchronousRequest,
        SingleAsynchronousRequestClientContext, DmfRequestIdCancel);
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_DeviceInterfaceTarget_Send(DMFMODULE DmfModule, VOID *RequestBuffer, size_t RequestLength,
                                        VOID *ResponseBuffer, size_t ResponseLength,
                                        DeviceInterfaceTarget_RequestType RequestType, ULONG RequestIoctl,
                                        ULONG RequestTimeoutMilliseconds,
                                        EVT_DMF_ContinuousRequestTarget_SendCompletion *EvtContinuousRequestTargetSingleAsynchronousRequest,
                                        VOID *SingleAsynchronousRequestClientContext)
{
    DIT_ENTER("DMF_DeviceInterfaceTarget_Send", STATUS_INVALID_PARAMETER);
    NTSTATUS status = DMF_DeviceInterfaceMultipleTarget_Send(
        c->dimt, current_target(c), RequestBuffer, RequestLength, ResponseBuffer, ResponseLength, RequestType,
        RequestIoctl, RequestTimeoutMilliseconds, EvtContinuousRequestTargetSingleAsynchronousRequest,
        SingleAsynchronousRequestClientContext);
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_DeviceInterfaceTarget_SendEx(DMFMODULE DmfModule, VOID *RequestBuffer, size_t RequestLength,
                                          VOID *ResponseBuffer, size_t ResponseLength,
                                          DeviceInterfaceTarget_RequestType RequestType, ULONG RequestIoctl,
                                          ULONG RequestTimeoutMilliseconds,
                                          EVT_DMF_ContinuousRequestTarget_SendCompletion *EvtContinuousRequestTargetSingleAsynchronousRequest,
                                          VOID *SingleAsynchronousRequestClientContext,
                                          RequestTarget_DmfRequestCancel *DmfRequestId)
{
    DIT_ENTER("DMF_DeviceInterfaceTarget_SendEx", STATUS_INVALID_PARAMETER);
    NTSTATUS status = DMF_DeviceInterfaceMultipleTarget_SendEx(
        c->dimt, current_target(c), RequestBuffer, RequestLength, ResponseBuffer, ResponseLength, RequestType,
        RequestIoctl, RequestTimeoutMilliseconds, EvtContinuousRequestTargetSingleAsynchronousRequest,
        SingleAsynchronousRequestClientContext, DmfRequestId);
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_DeviceInterfaceTarget_SendSynchronously(DMFMODULE DmfModule, VOID *RequestBuffer, size_t RequestLength,
                                                     VOID *ResponseBuffer, size_t ResponseLength,
                                                     DeviceInterfaceTarget_RequestType RequestType, ULONG RequestIoctl,
                                                     ULONG RequestTimeoutMilliseconds, size_t *BytesWritten)
{
    if (BytesWritten)
        *BytesWritten = 0;
    DIT_ENTER("DMF_DeviceInterfaceTarget_SendSynchronously", STATUS_INVALID_PARAMETER);
    NTSTATUS status = DMF_DeviceInterfaceMultipleTarget_SendSynchronously(
        c->dimt, current_target(c), RequestBuffer, RequestLength, ResponseBuffer, ResponseLength, RequestType,
        RequestIoctl, RequestTimeoutMilliseconds, BytesWritten);
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_DeviceInterfaceTarget_StreamStart(DMFMODULE DmfModule)
{
    DIT_ENTER("DMF_DeviceInterfaceTarget_StreamStart", STATUS_INVALID_PARAMETER);
    NTSTATUS status = DMF_DeviceInterfaceMultipleTarget_StreamStart(c->dimt, current_target(c));
    dmf_method_leave(m);
    return status;
}

VOID DMF_DeviceInterfaceTarget_StreamStop(DMFMODULE DmfModule)
{
    DIT_ENTER("DMF_DeviceInterfaceTarget_StreamStop", );
    DMF_DeviceInterfaceMultipleTarget_StreamStop(c->dimt, current_target(c));
    dmf_method_leave(m);
}
