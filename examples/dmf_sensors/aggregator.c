/*
 * aggregator.c — a DMF client driver. Its device hosts one static DMF_DeviceInterfaceMultipleTarget
 * module that watches GUID_DEVINTERFACE_EXAMPLE_SENSOR: every sensor that appears becomes a
 * Target with a stream of two IOCTL_SENSOR_READ requests kept in flight (Automatic mode), and
 * every reading arrives in aggregator_reading (the module's BufferOutput callback). The state
 * callback shows the life of each Target: Open, QueryRemove (vetoed on request), RemoveCancel,
 * RemoveComplete, Close. Each Target carries a context with its sensor's running figures.
 */
#include "sensors.h"

#include <stdio.h>
#include <string.h>

AGGREGATOR_STATS aggregator_stats;
volatile ULONG aggregator_veto_sensor;

typedef struct {
    ULONG sensor; /* learnt from the first reading (SendSynchronously in Open) */
} TARGET_CONTEXT;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(TARGET_CONTEXT, target_context)

static const char *state_name(DeviceInterfaceMultipleTarget_StateType s)
{
    switch (s) {
    case DeviceInterfaceMultipleTarget_StateType_Open: return "Open";
    case DeviceInterfaceMultipleTarget_StateType_QueryRemove: return "QueryRemove";
    case DeviceInterfaceMultipleTarget_StateType_RemoveCancel: return "RemoveCancel";
    case DeviceInterfaceMultipleTarget_StateType_RemoveComplete: return "RemoveComplete";
    case DeviceInterfaceMultipleTarget_StateType_Close: return "Close";
    default: return "?";
    }
}

static NTSTATUS aggregator_state(DMFMODULE module, DMFIOTARGET target, DeviceInterfaceMultipleTarget_StateType state)
{
    WDF_OBJECT_ATTRIBUTES attributes;
    TARGET_CONTEXT *t;
    SENSOR_READING first;
    size_t bytes = 0;
    NTSTATUS status;

    switch (state) {
    case DeviceInterfaceMultipleTarget_StateType_Open:
        /* Methods already work inside Open: ask the sensor who it is. */
        WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, TARGET_CONTEXT);
        status = WdfObjectAllocateContext((WDFOBJECT)target, &attributes, (PVOID *)&t);
        if (!NT_SUCCESS(status))
            return status;
        status = DMF_DeviceInterfaceMultipleTarget_SendSynchronously(module, target, NULL, 0, &first, sizeof(first),
                                                                    ContinuousRequestTarget_RequestType_Ioctl,
                                                                    IOCTL_SENSOR_READ, 1000, &bytes);
        if (!NT_SUCCESS(status) || bytes != sizeof(first))
            return NT_SUCCESS(status) ? STATUS_DEVICE_DATA_ERROR : status; /* veto the open */
        t->sensor = first.Sensor;
        __atomic_add_fetch(&aggregator_stats.opened, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&aggregator_stats.open_now, 1, __ATOMIC_RELAXED);
        say("aggregator", "sensor %u: Open (first reading %d); streaming starts", t->sensor, first.Value);
        return STATUS_SUCCESS;
    case DeviceInterfaceMultipleTarget_StateType_QueryRemove:
        t = target_context(target);
        if (aggregator_veto_sensor == t->sensor) {
            aggregator_veto_sensor = 0;
            __atomic_add_fetch(&aggregator_stats.vetoed, 1, __ATOMIC_RELAXED);
            say("aggregator", "sensor %u: QueryRemove -> vetoed (the stream goes on)", t->sensor);
            return STATUS_DEVICE_BUSY;
        }
        __atomic_add_fetch(&aggregator_stats.query_removed, 1, __ATOMIC_RELAXED);
        __atomic_sub_fetch(&aggregator_stats.open_now, 1, __ATOMIC_RELAXED);
        say("aggregator", "sensor %u: QueryRemove -> allowed (stream stopped, target closed)", t->sensor);
        return STATUS_SUCCESS;
    case DeviceInterfaceMultipleTarget_StateType_RemoveCancel:
        t = target_context(target);
        __atomic_add_fetch(&aggregator_stats.remove_cancelled, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&aggregator_stats.open_now, 1, __ATOMIC_RELAXED);
        say("aggregator", "sensor %u: RemoveCancel (same Target, reopened, streaming again)", t->sensor);
        return STATUS_SUCCESS;
    case DeviceInterfaceMultipleTarget_StateType_RemoveComplete:
        t = target_context(target);
        __atomic_add_fetch(&aggregator_stats.remove_complete, 1, __ATOMIC_RELAXED);
        say("aggregator", "sensor %u: RemoveComplete", t->sensor);
        return STATUS_SUCCESS;
    case DeviceInterfaceMultipleTarget_StateType_Close:
        t = target_context(target);
        __atomic_add_fetch(&aggregator_stats.closed, 1, __ATOMIC_RELAXED);
        __atomic_sub_fetch(&aggregator_stats.open_now, 1, __ATOMIC_RELAXED);
        say("aggregator", "sensor %u: Close", t->sensor);
        return STATUS_SUCCESS;
    default:
        say("aggregator", "state %s", state_name(state));
        return STATUS_SUCCESS;
    }
}

/* One reading from one of the streams. The stream callbacks carry no Target: the reading says
 * which sensor it comes from. */
static ContinuousRequestTarget_BufferDisposition aggregator_reading(DMFMODULE module, VOID *buffer, size_t size,
                                                                   VOID *context, NTSTATUS status)
{
    const SENSOR_READING *r = buffer;

    /* A failed request means the sensor is going away (a surprise removal fails its queued
     * requests, and then every new one at once): end this request's stream rather than
     * re-sending into the failure. */
    if (!NT_SUCCESS(status) || size != sizeof(*r))
        return ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndStopStreaming;
    __atomic_add_fetch(&aggregator_stats.readings, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&aggregator_stats.per_sensor[r->Sensor % 16], 1, __ATOMIC_RELAXED);
    return ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndContinueStreaming;
}

static VOID aggregator_modules_add(WDFDEVICE device, PDMFMODULE_INIT init)
{
    DMF_CONFIG_DeviceInterfaceMultipleTarget config;
    DMF_MODULE_ATTRIBUTES attributes;
    DMF_CONFIG_ContinuousRequestTarget *stream = &config.ContinuousRequestTargetModuleConfig;

    DMF_CONFIG_DeviceInterfaceMultipleTarget_AND_ATTRIBUTES_INIT(&config, &attributes);
    config.ModuleOpenOption = DeviceInterfaceMultipleTarget_PnpRegisterWhen_PrepareHardware;
    config.DeviceInterfaceMultipleTargetGuid = GUID_DEVINTERFACE_EXAMPLE_SENSOR;
    config.OpenMode = GENERIC_READ;
    stream->ContinuousRequestCount = 2;
    stream->BufferCountOutput = 4;
    stream->BufferOutputSize = sizeof(SENSOR_READING);
    stream->RequestType = ContinuousRequestTarget_RequestType_Ioctl;
    stream->ContinuousRequestTargetIoctl = IOCTL_SENSOR_READ;
    stream->ContinuousRequestTargetMode = ContinuousRequestTarget_Mode_Automatic;
    stream->EvtContinuousRequestTargetBufferOutput = aggregator_reading;
    config.EvtDeviceInterfaceMultipleTargetOnStateChangeEx = aggregator_state;
    DMF_DmfModuleAdd(init, &attributes, WDF_NO_OBJECT_ATTRIBUTES, NULL);
}

static NTSTATUS aggregator_device_add(WDFDRIVER driver, PWDFDEVICE_INIT init)
{
    PDMFDEVICE_INIT dmf_init = DMF_DmfDeviceInitAllocate(init);
    DMF_EVENT_CALLBACKS callbacks;
    WDFDEVICE device;
    NTSTATUS status;

    DMF_DmfDeviceInitHookPnpPowerEventCallbacks(dmf_init, NULL);
    DMF_DmfDeviceInitHookPowerPolicyEventCallbacks(dmf_init, NULL);
    DMF_DmfDeviceInitHookFileObjectConfig(dmf_init, NULL);
    status = WdfDeviceCreate(&init, WDF_NO_OBJECT_ATTRIBUTES, &device);
    if (!NT_SUCCESS(status)) {
        DMF_DmfDeviceInitFree(&dmf_init);
        return status;
    }
    DMF_EVENT_CALLBACKS_INIT(&callbacks);
    callbacks.EvtDmfDeviceModulesAdd = aggregator_modules_add;
    DMF_DmfDeviceInitSetEventCallbacks(dmf_init, &callbacks);
    return DMF_ModulesCreate(device, &dmf_init);
}

NTSTATUS aggregator_driver_entry(PDRIVER_OBJECT driver_object, PUNICODE_STRING registry_path)
{
    WDF_DRIVER_CONFIG config;

    WDF_DRIVER_CONFIG_INIT(&config, aggregator_device_add);
    return WdfDriverCreate(driver_object, registry_path, WDF_NO_OBJECT_ATTRIBUTES, &config, WDF_NO_HANDLE);
}
