/*
 * sensor.c — a simulated sensor: a WDF function driver with a device interface of class
 * GUID_DEVINTERFACE_EXAMPLE_SENSOR. IOCTL_SENSOR_READ requests wait in a manual queue; a periodic
 * WDF timer takes a sample every 2 ms and completes the oldest waiting request with it, the way
 * an interrupt-driven device completes reads as data arrives. The timer runs while the device
 * is in D0.
 */
#include "sensors.h"

#include <stdlib.h>

typedef struct {
    WDFQUEUE waiting;
    WDFTIMER sampler;
    ULONG number;
    ULONG sequence;
} SENSOR_CONTEXT;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(SENSOR_CONTEXT, sensor_context)

/* Sensors are numbered in the order they start: 1, 2, ... */
static LONG sensor_count;

static VOID sensor_sample(WDFTIMER timer)
{
    SENSOR_CONTEXT *s = sensor_context(WdfTimerGetParentObject(timer));
    WDFREQUEST request;
    SENSOR_READING *r;

    if (!NT_SUCCESS(WdfIoQueueRetrieveNextRequest(s->waiting, &request)))
        return;
    if (!NT_SUCCESS(WdfRequestRetrieveOutputBuffer(request, sizeof(*r), (PVOID *)&r, NULL))) {
        WdfRequestComplete(request, STATUS_BUFFER_TOO_SMALL);
        return;
    }
    s->sequence++;
    r->Sensor = s->number;
    r->Sequence = s->sequence;
    r->Value = (LONG)(s->number * 100 + (s->sequence * 7) % 50); /* a sawtooth per sensor */
    WdfRequestCompleteWithInformation(request, STATUS_SUCCESS, sizeof(*r));
}

static VOID sensor_ioctl(WDFQUEUE queue, WDFREQUEST request, size_t out_len, size_t in_len, ULONG code)
{
    SENSOR_CONTEXT *s = sensor_context(WdfIoQueueGetDevice(queue));
    NTSTATUS status;

    if (code != IOCTL_SENSOR_READ) {
        WdfRequestComplete(request, STATUS_INVALID_DEVICE_REQUEST);
        return;
    }
    status = WdfRequestForwardToIoQueue(request, s->waiting);
    if (!NT_SUCCESS(status))
        WdfRequestComplete(request, status);
}

static NTSTATUS sensor_d0_entry(WDFDEVICE device, WDF_POWER_DEVICE_STATE previous)
{
    WdfTimerStart(sensor_context(device)->sampler, WDF_REL_TIMEOUT_IN_MS(2));
    return STATUS_SUCCESS;
}

static NTSTATUS sensor_d0_exit(WDFDEVICE device, WDF_POWER_DEVICE_STATE target)
{
    WdfTimerStop(sensor_context(device)->sampler, TRUE);
    return STATUS_SUCCESS;
}

static NTSTATUS sensor_device_add(WDFDRIVER driver, PWDFDEVICE_INIT init)
{
    WDF_PNPPOWER_EVENT_CALLBACKS pnp;
    WDF_OBJECT_ATTRIBUTES attributes;
    WDF_IO_QUEUE_CONFIG queue;
    WDF_TIMER_CONFIG timer;
    WDFDEVICE device;
    WDFQUEUE default_queue;
    SENSOR_CONTEXT *s;
    NTSTATUS status;

    WDF_PNPPOWER_EVENT_CALLBACKS_INIT(&pnp);
    pnp.EvtDeviceD0Entry = sensor_d0_entry;
    pnp.EvtDeviceD0Exit = sensor_d0_exit;
    WdfDeviceInitSetPnpPowerEventCallbacks(init, &pnp);
    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&attributes, SENSOR_CONTEXT);
    status = WdfDeviceCreate(&init, &attributes, &device);
    if (!NT_SUCCESS(status))
        return status;
    s = sensor_context(device);
    s->number = (ULONG)__atomic_add_fetch(&sensor_count, 1, __ATOMIC_RELAXED);

    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&queue, WdfIoQueueDispatchParallel);
    queue.EvtIoDeviceControl = sensor_ioctl;
    status = WdfIoQueueCreate(device, &queue, WDF_NO_OBJECT_ATTRIBUTES, &default_queue);
    if (!NT_SUCCESS(status))
        return status;
    WDF_IO_QUEUE_CONFIG_INIT(&queue, WdfIoQueueDispatchManual);
    status = WdfIoQueueCreate(device, &queue, WDF_NO_OBJECT_ATTRIBUTES, &s->waiting);
    if (!NT_SUCCESS(status))
        return status;
    WDF_TIMER_CONFIG_INIT_PERIODIC(&timer, sensor_sample, 2);
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    attributes.ParentObject = (WDFOBJECT)device;
    status = WdfTimerCreate(&timer, &attributes, &s->sampler);
    if (!NT_SUCCESS(status))
        return status;
    return WdfDeviceCreateDeviceInterface(device, &GUID_DEVINTERFACE_EXAMPLE_SENSOR, NULL);
}

NTSTATUS sensor_driver_entry(PDRIVER_OBJECT driver_object, PUNICODE_STRING registry_path)
{
    WDF_DRIVER_CONFIG config;

    WDF_DRIVER_CONFIG_INIT(&config, sensor_device_add);
    return WdfDriverCreate(driver_object, registry_path, WDF_NO_OBJECT_ATTRIBUTES, &config, WDF_NO_HANDLE);
}
