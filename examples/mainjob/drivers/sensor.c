/*
 * sensor.c — the sensor function driver of the main job (driver package libsk_sensor.so, hardware
 * id SENSORKIT\SENSOR), one WDF device per sensor the bus plugs in.
 *
 * What it shows: a WDF function driver with a device interface (seed 001,
 * GUID_DEVINTERFACE_SENSORKIT_SENSOR, no reference string) that completes reads as data arrives.
 * IOCTL_SENSORKIT_READ requests wait in a manual queue; a periodic WDF timer takes a sample every
 * SENSORKIT_SAMPLE_MS ms and completes the oldest waiting request with it, the way an
 * interrupt-driven device would. The aggregator's DMF_DeviceInterfaceMultipleTarget (seed 000)
 * keeps two such requests in flight on every sensor. The timer runs while the device is in D0;
 * on removal the power-managed queues are purged, which fails the waiting requests.
 *
 * The readings are simulated: a temperature made of a per-sensor level, a slow triangle wave and
 * a little noise from a fixed pseudo-random sequence, so that every run shows the same shapes.
 */
#include <pnpkit.h>

#include "../sensorkit.h"

typedef struct {
    WDFQUEUE waiting;  /* IOCTL_SENSORKIT_READ requests waiting for the next sample */
    WDFTIMER sampler;
    ULONG number;      /* from the instance id, sensor<N> */
    ULONG sequence;    /* only the timer callback touches it (the timer is serialized) */
    ULONG noise;       /* pseudo-random state */
} SENSOR_CONTEXT;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(SENSOR_CONTEXT, sensor_context)

PNPKIT_API NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

/* The simulated temperature of sensor `number` at its sample `sequence`, in tenths of a degree. */
static LONG simulated_temperature(SENSOR_CONTEXT *s)
{
    LONG level = 200 + 8 * (LONG)s->number;           /* 20.8 °C for sensor 1, +0.8 °C per sensor */
    LONG period = 120 + 40 * (LONG)s->number;         /* samples per wave: 1.6 s .. 4.4 s */
    LONG phase = (LONG)(s->sequence % (ULONG)period);
    LONG wave = phase < period / 2 ? phase : period - phase;   /* 0 .. period/2 .. 0 */

    s->noise = s->noise * 1103515245u + 12345u;
    return level - 22 + wave * 90 / period + (LONG)((s->noise >> 16) % 9) - 4; /* +-0.4 °C of noise */
}

static VOID sensor_sample(WDFTIMER timer)
{
    SENSOR_CONTEXT *s = sensor_context(WdfTimerGetParentObject(timer));
    SENSORKIT_READING *r;
    WDFREQUEST request;
    LONG value;

    s->sequence++;
    value = simulated_temperature(s);
    /* No reader waiting: the sample is lost, as it would be on a device without a FIFO. */
    if (!NT_SUCCESS(WdfIoQueueRetrieveNextRequest(s->waiting, &request)))
        return;
    if (!NT_SUCCESS(WdfRequestRetrieveOutputBuffer(request, sizeof(*r), (PVOID *)&r, NULL))) {
        WdfRequestComplete(request, STATUS_BUFFER_TOO_SMALL);
        return;
    }
    r->Sensor = s->number;
    r->Sequence = s->sequence;
    r->Value = value;
    WdfRequestCompleteWithInformation(request, STATUS_SUCCESS, sizeof(*r));
}

static VOID sensor_ioctl(WDFQUEUE queue, WDFREQUEST request, size_t out_len, size_t in_len, ULONG code)
{
    SENSOR_CONTEXT *s = sensor_context(WdfIoQueueGetDevice(queue));
    NTSTATUS status;

    if (code != IOCTL_SENSORKIT_READ) {
        WdfRequestComplete(request, STATUS_INVALID_DEVICE_REQUEST);
        return;
    }
    /* Never wait in a dispatch routine (pnphost runs it on its loop thread): park the request. */
    status = WdfRequestForwardToIoQueue(request, s->waiting);
    if (!NT_SUCCESS(status))
        WdfRequestComplete(request, status);
}

static NTSTATUS sensor_d0_entry(WDFDEVICE device, WDF_POWER_DEVICE_STATE previous)
{
    WdfTimerStart(sensor_context(device)->sampler, WDF_REL_TIMEOUT_IN_MS(SENSORKIT_SAMPLE_MS));
    return STATUS_SUCCESS;
}

static NTSTATUS sensor_d0_exit(WDFDEVICE device, WDF_POWER_DEVICE_STATE target)
{
    WdfTimerStop(sensor_context(device)->sampler, TRUE);
    return STATUS_SUCCESS;
}

/* pnpkit stores no device properties (DEVPKEY_Device_InstanceId), but a device interface's link
 * holds the device's instance id: ...#SENSORBUS#sensor<N>#{guid}. The sensor reads its number
 * there, so that a sensor plugged in again keeps its number. */
static ULONG sensor_number_from_link(WDFDEVICE device)
{
    WDFSTRING string;
    UNICODE_STRING link;
    ULONG number = 0;

    if (!NT_SUCCESS(WdfStringCreate(NULL, WDF_NO_OBJECT_ATTRIBUTES, &string)))
        return 0;
    if (NT_SUCCESS(WdfDeviceRetrieveDeviceInterfaceString(device, &GUID_DEVINTERFACE_SENSORKIT_SENSOR, NULL, string))) {
        WdfStringGetUnicodeString(string, &link);
        static const WCHAR tag[] = u"#sensor";
        USHORT chars = link.Length / sizeof(WCHAR), n = ARRAYSIZE(tag) - 1;
        for (USHORT i = 0; i + n < chars && !number; i++) {
            USHORT k = 0;
            while (k < n && (link.Buffer[i + k] | 0x20) == tag[k])
                k++;
            if (k < n)
                continue;
            for (i += n; i < chars && link.Buffer[i] >= u'0' && link.Buffer[i] <= u'9'; i++)
                number = number * 10 + (ULONG)(link.Buffer[i] - u'0');
        }
    }
    WdfObjectDelete(string);
    return number;
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

    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&queue, WdfIoQueueDispatchParallel);
    queue.EvtIoDeviceControl = sensor_ioctl;
    status = WdfIoQueueCreate(device, &queue, WDF_NO_OBJECT_ATTRIBUTES, &default_queue);
    if (!NT_SUCCESS(status))
        return status;
    WDF_IO_QUEUE_CONFIG_INIT(&queue, WdfIoQueueDispatchManual);
    status = WdfIoQueueCreate(device, &queue, WDF_NO_OBJECT_ATTRIBUTES, &s->waiting);
    if (!NT_SUCCESS(status))
        return status;
    WDF_TIMER_CONFIG_INIT_PERIODIC(&timer, sensor_sample, SENSORKIT_SAMPLE_MS);
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    attributes.ParentObject = (WDFOBJECT)device;
    status = WdfTimerCreate(&timer, &attributes, &s->sampler);
    if (!NT_SUCCESS(status))
        return status;
    status = WdfDeviceCreateDeviceInterface(device, &GUID_DEVINTERFACE_SENSORKIT_SENSOR, NULL);
    if (!NT_SUCCESS(status))
        return status;
    s->number = sensor_number_from_link(device);
    if (s->number == 0 || s->number > SENSORKIT_MAX_SENSORS)
        return STATUS_DEVICE_CONFIGURATION_ERROR; /* not a sensor the bus made */
    s->noise = s->number * 2654435761u;
    return STATUS_SUCCESS;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    WDF_DRIVER_CONFIG config;

    WDF_DRIVER_CONFIG_INIT(&config, sensor_device_add);
    return WdfDriverCreate(DriverObject, RegistryPath, WDF_NO_OBJECT_ATTRIBUTES, &config, WDF_NO_HANDLE);
}
