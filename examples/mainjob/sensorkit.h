/*
 * sensorkit.h — the contract shared by the main job's drivers and its application, as a
 * driver's public header (the one with the interface GUIDs, IOCTL codes and structures that
 * applications include) would be on Windows.
 *
 *   sensorbus   (drivers/sensorbus.c)   a simulated bus: sensors are plugged in, safely removed,
 *                                       pulled out and plugged in again on a timeline
 *   sensor      (drivers/sensor.c)      one device per sensor; IOCTL_SENSORKIT_READ completes
 *                                       with the next reading (interface GUID_DEVINTERFACE_SENSORKIT_SENSOR)
 *   aggregator  (drivers/aggregator.c)  a DMF client: streams from every sensor, serves
 *                                       applications (GUID_DEVINTERFACE_SENSORKIT_AGGREGATOR,
 *                                       reference string "readings"), posts threshold events,
 *                                       hands every reading to the recorder over NMR
 *   recorder    (drivers/recorder.c)    the NMR provider of NPI_SENSORKIT_RECORDER_ID
 *   sensor_monitor (monitor/monitor.c)  the application (libpnpkit-client only)
 *
 * Both sides include it: drivers after <pnpkit.h>, the application after <pnpkit/fileapi.h>.
 */
#ifndef SENSORKIT_H
#define SENSORKIT_H

#include <pnpkit/wdm.h>

/* ---- Hardware ids (the role of the INF files; mainjob.conf.in names the same ones) ---- */
#define SENSORKIT_BUS_HWID u"SENSORKIT\\BUS\0"
#define SENSORKIT_SENSOR_HWID u"SENSORKIT\\SENSOR\0"
#define SENSORKIT_AGGREGATOR_HWID u"SENSORKIT\\AGGREGATOR\0"
#define SENSORKIT_RECORDER_HWID u"SENSORKIT\\RECORDER\0"

/* The bus device the configuration creates: its sensors are created as its children
 * (SWD\SENSORBUS\sensor<N>), so that `pnpctl tree` shows them under it and removing the bus
 * removes them first. */
#define SENSORKIT_BUS_INSTANCE_ID u"SWD\\SENSORKIT\\sensorbus"
#define SENSORKIT_SENSOR_ENUMERATOR u"SENSORBUS"

/* Sensors are numbered 1 .. SENSORKIT_MAX_SENSORS (their instance ids are sensor1, sensor2, ...). */
#define SENSORKIT_MAX_SENSORS 8

/* ---- The bus's timeline ----
 * One cycle lasts SENSORKIT_CYCLE_TICKS ticks of SENSORKIT_TICK_MS milliseconds (pnphost's
 * environment variable SENSORKIT_TICK_MS changes the tick: the main job's quick mode halves it).
 * The bus repeats the cycle until it is removed; the main job watches one cycle. */
#define SENSORKIT_TICK_MS 500
#define SENSORKIT_CYCLE_TICKS 22

/* ---- Sensors ---- */

/* {6c0e1f52-21a4-4d8b-931e-7a5502c418ea} */
DEFINE_GUID(GUID_DEVINTERFACE_SENSORKIT_SENSOR, 0x6c0e1f52, 0x21a4, 0x4d8b, 0x93, 0x1e, 0x7a, 0x55, 0x02, 0xc4, 0x18,
            0xea);

/* Completes with one SENSORKIT_READING when the sensor takes its next sample (every
 * SENSORKIT_SAMPLE_MS ms). */
#define IOCTL_SENSORKIT_READ CTL_CODE(FILE_DEVICE_UNKNOWN, 0x820, METHOD_BUFFERED, FILE_READ_ACCESS)
#define SENSORKIT_SAMPLE_MS 10

typedef struct {
    ULONG Sensor;   /* the sensor's number */
    ULONG Sequence; /* samples that sensor has taken since it started */
    LONG Value;     /* temperature in tenths of a degree Celsius */
} SENSORKIT_READING;

/* ---- The aggregator's interface (seed 001: an interface with a reference string) ---- */

/* {0b6e4a2d-93c1-4f0a-8e57-d21c6b3f4a90} */
DEFINE_GUID(GUID_DEVINTERFACE_SENSORKIT_AGGREGATOR, 0x0b6e4a2d, 0x93c1, 0x4f0a, 0x8e, 0x57, 0xd2, 0x1c, 0x6b, 0x3f,
            0x4a, 0x90);
#define SENSORKIT_AGGREGATOR_REFERENCE u"readings"

/* An application opens <link>, where link ends in \readings, optionally followed by
 * "\threshold=<tenths of a degree>": the threshold of that handle (default
 * SENSORKIT_DEFAULT_THRESHOLD). Each handle (a WDF file object, seed 003) has its own threshold,
 * subscription number and counters. */
#define SENSORKIT_THRESHOLD_PREFIX u"threshold="
#define SENSORKIT_DEFAULT_THRESHOLD 250

/* Returns SENSORKIT_FIGURES: the handle's own figures and the aggregator's. */
#define IOCTL_SENSORKIT_GET_FIGURES CTL_CODE(FILE_DEVICE_UNKNOWN, 0x830, METHOD_BUFFERED, FILE_READ_ACCESS)

typedef struct {
    /* This handle (its file object's context). */
    ULONG Subscription;        /* the handle's number, carried by its threshold events */
    LONG Threshold;            /* tenths of a degree */
    ULONGLONG ReadingsSeen;    /* readings the aggregator received while the handle was open */
    ULONG Crossings;           /* readings that rose to or above the threshold (one event each) */
    ULONG EventsDropped;       /* crossings whose event could not be queued */
    /* The aggregator (its DMF_DeviceInterfaceMultipleTarget, seed 000). */
    ULONGLONG Readings;        /* readings streamed from all sensors */
    ULONG TargetsOpen;         /* sensors streaming now */
    ULONG TargetsOpened;       /* Open callbacks */
    ULONG QueryRemoves;        /* QueryRemove callbacks (orderly removals) */
    ULONG RemoveCompletes;     /* RemoveComplete callbacks */
    ULONG SurpriseRemovals;    /* RemoveComplete callbacks not preceded by a QueryRemove */
    ULONG TargetsClosed;       /* Close callbacks */
    ULONG EventsPosted;        /* threshold events posted (WdfDevicePostEvent), all handles */
    ULONG OpenHandles;         /* application handles open on the aggregator */
    /* The recorder (the NMR provider, seed 004), as its dispatch table reports it. */
    ULONG RecorderAttached;    /* 1 while the aggregator is attached to a recorder */
    ULONG RecorderAttachments; /* bindings made so far */
    ULONGLONG Recorded;        /* samples the recorder holds (through every binding) */
    ULONGLONG RecordRefused;   /* samples not recorded: no recorder attached, or it was detaching */
    /* Per sensor number (index 0 unused). */
    ULONGLONG SensorReadings[SENSORKIT_MAX_SENSORS + 1];
    LONG SensorLast[SENSORKIT_MAX_SENSORS + 1];
} SENSORKIT_FIGURES;

/* ---- The threshold event (seed 002: a custom target-device event on the aggregator) ----
 * Posted with WdfDevicePostEvent on the aggregator's device; applications receive it with
 * CM_Register_Notification(CM_NOTIFY_FILTER_TYPE_DEVICEHANDLE) as
 * CM_NOTIFY_ACTION_DEVICECUSTOMEVENT, Data = SENSORKIT_THRESHOLD_EVENT. */

/* {e3a1c7b4-5d20-4c8e-b1f9-6a0d3e2c8b17} */
DEFINE_GUID(GUID_SENSORKIT_THRESHOLD_EVENT, 0xe3a1c7b4, 0x5d20, 0x4c8e, 0xb1, 0xf9, 0x6a, 0x0d, 0x3e, 0x2c, 0x8b,
            0x17);

typedef struct {
    ULONG Subscription; /* the handle whose threshold was crossed */
    ULONG Sensor;
    ULONG Sequence;
    LONG Value;
    LONG Threshold;
} SENSORKIT_THRESHOLD_EVENT;

/* ---- The recorder NPI (seed 004) ----
 * The aggregator is an NMR client of this NPI, the recorder its provider. The provider's
 * dispatch table; the client has none. Both functions may be called at IRQL <= DISPATCH_LEVEL. */

/* {8f4b2e61-0c3d-4a7e-9b25-c1d0e8f3a642} */
DEFINE_GUID(NPI_SENSORKIT_RECORDER_ID, 0x8f4b2e61, 0x0c3d, 0x4a7e, 0x9b, 0x25, 0xc1, 0xd0, 0xe8, 0xf3, 0xa6, 0x42);

typedef struct {
    USHORT Version; /* 1 */
    /* Stores one sample. STATUS_SUCCESS, or a failure when it was not kept. */
    NTSTATUS (*Record)(PVOID ProviderBindingContext, const SENSORKIT_READING *Sample);
    /* How many samples the recorder has stored so far, through every binding. */
    ULONGLONG (*Recorded)(PVOID ProviderBindingContext);
} SENSORKIT_RECORDER_DISPATCH;

#endif /* SENSORKIT_H */
