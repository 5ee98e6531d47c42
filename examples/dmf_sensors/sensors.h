/*
 * sensors.h — the drivers of the dmf_sensors example: a sensor function driver (hardware id
 * EXAMPLE\SENSOR, one device per simulated sensor) and an aggregator (EXAMPLE\AGGREGATOR), a DMF
 * client driver whose DMF_DeviceInterfaceMultipleTarget streams from every sensor.
 */
#ifndef DMF_SENSORS_H
#define DMF_SENSORS_H

#include <pnpkit.h>
#include <pnpkit/dmf.h>
#include <pnpkit/wdfdevice.h>
#include <pnpkit/wdfdriver.h>
#include <pnpkit/wdfio.h>
#include <pnpkit/wdfrequest.h>
#include <pnpkit/wdfutil.h>

DEFINE_GUID(GUID_DEVINTERFACE_EXAMPLE_SENSOR, 0x6c0e1f52, 0x21a4, 0x4d8b, 0x93, 0x1e, 0x7a, 0x55, 0x02, 0xc4, 0x18, 0xe9);

/* Completed by the sensor with one SENSOR_READING when it takes its next sample. */
#define IOCTL_SENSOR_READ CTL_CODE(FILE_DEVICE_UNKNOWN, 0x820, METHOD_BUFFERED, FILE_READ_ACCESS)

typedef struct {
    ULONG Sensor;   /* the sensor's number (its instance id) */
    ULONG Sequence; /* samples taken by that sensor so far */
    LONG Value;     /* the reading */
} SENSOR_READING;

#define SENSOR_HWID u"EXAMPLE\\SENSOR\0"
#define AGGREGATOR_HWID u"EXAMPLE\\AGGREGATOR\0"

DRIVER_INITIALIZE sensor_driver_entry;
DRIVER_INITIALIZE aggregator_driver_entry;

/* What the aggregator has seen, for the program to print. */
typedef struct {
    LONG opened, closed, query_removed, remove_complete, remove_cancelled, vetoed;
    LONG readings;
    LONG per_sensor[16];
    LONG open_now;
} AGGREGATOR_STATS;
extern AGGREGATOR_STATS aggregator_stats;
/* When non-zero, the aggregator vetoes the next query-remove of this sensor number. */
extern volatile ULONG aggregator_veto_sensor;

void say(const char *who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
