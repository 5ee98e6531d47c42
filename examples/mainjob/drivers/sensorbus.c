/*
 * sensorbus.c — the simulated sensor bus of the main job (driver package libsk_sensorbus.so,
 * hardware id SENSORKIT\BUS; the configuration creates one bus device, SWD\SENSORKIT\sensorbus).
 *
 * What it shows: devices that come and go while drivers and applications use them, made with
 * the calls pnpkit offers for that today. pnpkit's WDF has no PDOs yet (WdfPdoInitAllocate), so
 * the bus does what a software enumerator does on Windows: it creates each sensor with
 * SwDeviceCreate as a child of the bus device (SWD\SENSORBUS\sensor<N>, hardware id
 * SENSORKIT\SENSOR, served by sensor.c) and
 *   - "safely removes" one with CM_Query_And_Remove_SubTree (query-remove, which the aggregator
 *     and applications may veto, then an orderly removal), then unplugs it (SwDeviceClose);
 *   - pulls one out without asking: SwDeviceClose on a started device is a surprise removal;
 *   - plugs one in again under the same instance id.
 *
 * The steps follow a timeline (below) on a thread of its own, a WDF work item that waits between
 * the steps; one tick is SENSORKIT_TICK_MS ms, or what the environment variable SENSORKIT_TICK_MS
 * of pnphost says. The timeline starts when the bus device starts (SelfManagedIoInit), repeats
 * every SENSORKIT_CYCLE_TICKS ticks, and stops when the bus device is removed
 * (SelfManagedIoCleanup only signals it: a PnP callback must not wait for a thread that may itself
 * be waiting for the PnP manager). The work item is the WDFDRIVER's child: the driver's deletion
 * at unload waits for the thread to finish (it closes the sensors still plugged in first), so
 * pnphost never unmaps the package while its code runs. (A plain ExQueueWorkItem could not
 * promise that: its routine would still be returning when the unload saw it finished.)
 * SENSORKIT_LOG=1 in pnphost's environment prints each step.
 */
#include <pnpkit.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sensorkit.h"

typedef enum { STEP_PLUG_IN, STEP_SAFELY_REMOVE, STEP_PULL_OUT } STEP_KIND;

typedef struct {
    ULONG tick;
    STEP_KIND kind;
    ULONG sensor;
} TIMELINE_STEP;

/* One cycle: three sensors arrive, a fourth joins them, sensor 2 is safely removed, sensor 1 is
 * pulled out and comes back, sensor 3 is safely removed, and the cycle ends with the bus empty. */
static const TIMELINE_STEP timeline[] = {
    { 1, STEP_PLUG_IN, 1 },        { 2, STEP_PLUG_IN, 2 },  { 3, STEP_PLUG_IN, 3 },
    { 6, STEP_PLUG_IN, 4 },        { 9, STEP_SAFELY_REMOVE, 2 },
    { 12, STEP_PULL_OUT, 1 },      { 15, STEP_PLUG_IN, 1 }, { 18, STEP_SAFELY_REMOVE, 3 },
    { 21, STEP_SAFELY_REMOVE, 1 }, { 21, STEP_SAFELY_REMOVE, 4 },
};

/* One bus per driver: the timeline's state is the driver's. Only the timeline's thread touches
 * `plugged` (no lock); `running` and `stop` are how the device and the unload reach it. */
static struct {
    HSWDEVICE plugged[SENSORKIT_MAX_SENSORS + 1]; /* the sensors plugged in now */
    ULONG tick_ms;
    KEVENT stop;                  /* set when the bus device goes */
    WDFWORKITEM timeline;         /* the timeline's thread; a child of the WDFDRIVER */
    LONG started;                 /* 1 from the start of a timeline to the end of its thread */
    BOOLEAN verbose;
} bus;

PNPKIT_API NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

static void bus_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bus_log(const char *fmt, ...)
{
    va_list ap;

    if (!bus.verbose)
        return;
    va_start(ap, fmt);
    fprintf(stderr, "sensorbus: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static void instance_name(ULONG sensor, WCHAR *out, size_t cap)
{
    char text[16];
    int n = snprintf(text, sizeof(text), "sensor%u", (unsigned)sensor);

    for (int i = 0; i <= n && (size_t)i < cap; i++)
        out[i] = (WCHAR)text[i];
}

/* Runs once per SwDeviceCreate, on a pnpkit thread, when the sensor has started (or failed). */
static VOID sensor_created(HSWDEVICE h, HRESULT result, PVOID context, PCWSTR instance_id)
{
    bus_log("sensor %u started (0x%08x)", (unsigned)(ULONG_PTR)context, (unsigned)result);
}

static void plug_in(ULONG sensor)
{
    SW_DEVICE_CREATE_INFO info;
    WCHAR name[16];
    HRESULT hr;

    if (bus.plugged[sensor])
        return;
    instance_name(sensor, name, ARRAYSIZE(name));
    memset(&info, 0, sizeof(info));
    info.cbSize = sizeof(info);
    info.pszInstanceId = name;
    info.pszzHardwareIds = SENSORKIT_SENSOR_HWID;
    info.CapabilityFlags = SWDeviceCapabilitiesRemovable | SWDeviceCapabilitiesSilentInstall;
    /* Asynchronous: the device starts on the PnP worker, the aggregator hears of its interface. */
    hr = SwDeviceCreate(SENSORKIT_SENSOR_ENUMERATOR, SENSORKIT_BUS_INSTANCE_ID, &info, 0, NULL, sensor_created,
                        (PVOID)(ULONG_PTR)sensor, &bus.plugged[sensor]);
    if (FAILED(hr)) {
        /* ERROR_ALREADY_EXISTS: the previous device of that name is still being torn down. */
        bus.plugged[sensor] = NULL;
        bus_log("sensor %u: SwDeviceCreate failed: 0x%08x", (unsigned)sensor, (unsigned)hr);
        return;
    }
    bus_log("sensor %u plugged in", (unsigned)sensor);
}

static void pull_out(ULONG sensor)
{
    HSWDEVICE h = bus.plugged[sensor];

    if (!h)
        return;
    bus.plugged[sensor] = NULL;
    /* The bus stops reporting the device: PnP surprise-removes it (asynchronously). */
    SwDeviceClose(h);
    bus_log("sensor %u pulled out", (unsigned)sensor);
}

static void safely_remove(ULONG sensor)
{
    WCHAR id[64] = u"SWD\\" SENSORKIT_SENSOR_ENUMERATOR u"\\";
    WCHAR veto_name[256] = u"";
    PNP_VETO_TYPE veto = PNP_VetoTypeUnknown;
    size_t at = PnpkitWcsLen(id);
    DEVINST dn;
    CONFIGRET cr;

    if (!bus.plugged[sensor])
        return;
    instance_name(sensor, id + at, ARRAYSIZE(id) - at);
    cr = CM_Locate_DevNodeW(&dn, id, CM_LOCATE_DEVNODE_NORMAL);
    if (cr == CR_SUCCESS)
        cr = CM_Query_And_Remove_SubTreeW(dn, &veto, veto_name, ARRAYSIZE(veto_name), 0);
    if (cr == CR_REMOVE_VETOED) {
        /* Someone still uses it: it stays plugged in, as a USB stick that "is in use" does. */
        bus_log("sensor %u: removal vetoed (veto type %d)", (unsigned)sensor, (int)veto);
        return;
    }
    bus_log("sensor %u safely removed (0x%x); unplugging it", (unsigned)sensor, (unsigned)cr);
    pull_out(sensor);
}

/* Waits until `tick` ticks after `start` (KeQueryInterruptTime units); FALSE when told to stop. */
static BOOLEAN wait_for_tick(ULONGLONG start, ULONG tick)
{
    ULONGLONG due = start + (ULONGLONG)tick * bus.tick_ms * 10000u, now = KeQueryInterruptTime();
    LARGE_INTEGER timeout;

    timeout.QuadPart = now < due ? -(LONGLONG)(due - now) : 0;
    return KeWaitForSingleObject(&bus.stop, Executive, KernelMode, FALSE, &timeout) == STATUS_TIMEOUT;
}

/* The timeline's thread: a WDF work item that runs for the bus's life. */
static VOID timeline_run(WDFWORKITEM item)
{
    ULONG cycle = 0;
    BOOLEAN go = TRUE;

    while (go) {
        ULONGLONG start = KeQueryInterruptTime();
        cycle++;
        bus_log("cycle %u starts", (unsigned)cycle);
        for (size_t i = 0; go && i < ARRAYSIZE(timeline); i++) {
            const TIMELINE_STEP *step = &timeline[i];
            go = wait_for_tick(start, step->tick);
            if (!go)
                break;
            switch (step->kind) {
            case STEP_PLUG_IN: plug_in(step->sensor); break;
            case STEP_SAFELY_REMOVE: safely_remove(step->sensor); break;
            case STEP_PULL_OUT: pull_out(step->sensor); break;
            }
        }
        go = go && wait_for_tick(start, SENSORKIT_CYCLE_TICKS);
    }
    /* The bus is gone (its removal took the sensors with it) or going: let go of every sensor. */
    for (ULONG n = 1; n <= SENSORKIT_MAX_SENSORS; n++)
        pull_out(n);
    bus_log("timeline stopped");
    InterlockedExchange(&bus.started, 0); /* a bus device that starts from now on runs a new one */
}

static NTSTATUS bus_self_managed_io_init(WDFDEVICE device)
{
    /* One timeline at a time (sensor names are global): a second bus device, or a bus started
     * again (pnpctl disable, then enable) before its previous timeline finished, stays empty.
     * Waiting for that timeline here could deadlock: it may be waiting for the PnP worker that
     * runs this callback. */
    if (InterlockedCompareExchange(&bus.started, 1, 0) != 0) {
        bus_log("a timeline is still running: this bus stays empty");
        return STATUS_SUCCESS;
    }
    KeClearEvent(&bus.stop);
    WdfWorkItemEnqueue(bus.timeline);
    return STATUS_SUCCESS;
}

static VOID bus_self_managed_io_cleanup(WDFDEVICE device)
{
    /* Signal only: the timeline may be inside CM_Query_And_Remove_SubTree, waiting for the PnP
     * worker that runs this callback. */
    KeSetEvent(&bus.stop, IO_NO_INCREMENT, FALSE);
}

static NTSTATUS bus_device_add(WDFDRIVER driver, PWDFDEVICE_INIT init)
{
    WDF_PNPPOWER_EVENT_CALLBACKS pnp;
    WDFDEVICE device;

    WDF_PNPPOWER_EVENT_CALLBACKS_INIT(&pnp);
    pnp.EvtDeviceSelfManagedIoInit = bus_self_managed_io_init;
    pnp.EvtDeviceSelfManagedIoCleanup = bus_self_managed_io_cleanup;
    WdfDeviceInitSetPnpPowerEventCallbacks(init, &pnp);
    return WdfDeviceCreate(&init, WDF_NO_OBJECT_ATTRIBUTES, &device);
}

/* The bus device is gone already (its removal set `stop`). After this the framework deletes the
 * WDFDRIVER and its children: deleting the work item waits until the timeline's callback has
 * returned, so no code of this package runs once pnphost unloads it (dlclose). */
static VOID bus_driver_unload(WDFDRIVER driver) { KeSetEvent(&bus.stop, IO_NO_INCREMENT, FALSE); }

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    WDF_DRIVER_CONFIG config;
    WDF_WORKITEM_CONFIG work;
    WDF_OBJECT_ATTRIBUTES attributes;
    WDFDRIVER driver;
    NTSTATUS status;
    const char *tick = getenv("SENSORKIT_TICK_MS"), *log = getenv("SENSORKIT_LOG");

    bus.tick_ms = SENSORKIT_TICK_MS;
    if (tick && atoi(tick) >= 20 && atoi(tick) <= 10000)
        bus.tick_ms = (ULONG)atoi(tick);
    bus.verbose = log && *log && *log != '0';
    KeInitializeEvent(&bus.stop, NotificationEvent, FALSE);
    WDF_DRIVER_CONFIG_INIT(&config, bus_device_add);
    config.EvtDriverUnload = bus_driver_unload;
    status = WdfDriverCreate(DriverObject, RegistryPath, WDF_NO_OBJECT_ATTRIBUTES, &config, &driver);
    if (!NT_SUCCESS(status))
        return status;
    /* Parented to the driver, not the device: the device's removal must not wait for the
     * timeline (see bus_self_managed_io_cleanup); the driver's deletion does. KMDF would want a
     * device or queue parent; pnpkit accepts any object. */
    WDF_WORKITEM_CONFIG_INIT(&work, timeline_run);
    work.AutomaticSerialization = FALSE;
    WDF_OBJECT_ATTRIBUTES_INIT(&attributes);
    attributes.ParentObject = (WDFOBJECT)driver;
    return WdfWorkItemCreate(&work, &attributes, &bus.timeline);
}
