/*
 * dmf_sensors — a DMF client driver streaming from every device of an interface class while
 * the devices come and go (seed 000, DMF_DeviceInterfaceMultipleTarget).
 *
 * The aggregator (aggregator.c) hosts a DMF_DeviceInterfaceMultipleTarget on
 * GUID_DEVINTERFACE_EXAMPLE_SENSOR; the sensors (sensor.c) complete one reading every 2 ms.
 * The program:
 *   1. starts the aggregator and three sensors: each sensor becomes a Target and streams;
 *   2. adds a fourth sensor while the others stream;
 *   3. removes sensor 2 in an orderly way (QueryRemove, RemoveComplete);
 *   4. asks to remove sensor 3, which the aggregator vetoes (QueryRemove, then nothing: the
 *      stream goes on);
 *   5. unplugs sensor 1 (a surprise removal: RemoveComplete, Close);
 *   6. plugs a new sensor in, then removes the aggregator: every remaining Target sees Close.
 * Between the steps it prints how many readings each sensor delivered.
 */
#include "sensors.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void say(const char *who, const char *fmt, ...)
{
    va_list ap;
    printf("  %-10s ", who);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

typedef struct {
    HSWDEVICE h;
    DEVINST dn;
} DEVICE;

static VOID created(HSWDEVICE h, HRESULT result, PVOID context, PCWSTR id) { KeSetEvent(context, IO_NO_INCREMENT, FALSE); }

static bool device_create(PCWSTR name, PCZZWSTR hwid, DEVICE *d)
{
    SW_DEVICE_CREATE_INFO info;
    KEVENT done;
    WCHAR id[64] = u"SWD\\EXAMPLE\\";

    memset(&info, 0, sizeof(info));
    info.cbSize = sizeof(info);
    info.pszInstanceId = name;
    info.pszzHardwareIds = hwid;
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    if (SwDeviceCreate(u"EXAMPLE", u"HTREE\\ROOT\\0", &info, 0, NULL, created, &done, &d->h) != S_OK)
        return false;
    KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
    PnpkitSimWaitIdle();
    memcpy(id + 12, name, (PnpkitWcsLen(name) + 1) * sizeof(WCHAR));
    return CM_Locate_DevNodeW(&d->dn, id, 0) == CR_SUCCESS;
}

static void device_remove(DEVICE *d)
{
    if (!d->h)
        return;
    SwDeviceClose(d->h);
    PnpkitSimWaitIdle();
    d->h = NULL;
}

/* The aggregator's callbacks update the figures on other threads. */
static LONG get(LONG *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }

static void stream_for(int ms)
{
    LONG before[16], total = get(&aggregator_stats.readings);
    struct timespec ts = { 0, ms * 1000000L };

    for (int i = 0; i < 16; i++)
        before[i] = get(&aggregator_stats.per_sensor[i]);
    nanosleep(&ts, NULL);
    printf("  %-10s in %d ms: %d readings (", "streams", ms, get(&aggregator_stats.readings) - total);
    for (int i = 1, first = 1; i < 16; i++) {
        LONG n = get(&aggregator_stats.per_sensor[i]) - before[i];
        if (n) {
            printf("%ssensor %d: %d", first ? "" : ", ", i, n);
            first = 0;
        }
    }
    printf("); %d targets open\n", get(&aggregator_stats.open_now));
    fflush(stdout);
}

int main(void)
{
    DEVICE aggregator = { 0 }, sensor[6] = { { 0 } };
    static const PCWSTR names[6] = { NULL, u"sensor1", u"sensor2", u"sensor3", u"sensor4", u"sensor5" };
    PNP_VETO_TYPE veto;
    CONFIGRET cr;
    int failures = 0;

    printf("== drivers: sensor (EXAMPLE\\SENSOR), aggregator (EXAMPLE\\AGGREGATOR, a DMF client)\n");
    PnpkitDriverRegister(u"sensor", sensor_driver_entry, SENSOR_HWID);
    PnpkitDriverRegister(u"aggregator", aggregator_driver_entry, AGGREGATOR_HWID);

    printf("== the aggregator and three sensors start\n");
    failures += !device_create(u"aggregator", AGGREGATOR_HWID, &aggregator);
    for (int i = 1; i <= 3; i++)
        failures += !device_create(names[i], SENSOR_HWID, &sensor[i]);
    stream_for(100);

    printf("== sensor 4 is plugged in while the others stream\n");
    failures += !device_create(names[4], SENSOR_HWID, &sensor[4]);
    stream_for(100);

    printf("== sensor 2 is removed in an orderly way\n");
    cr = CM_Query_And_Remove_SubTreeW(sensor[2].dn, NULL, NULL, 0, 0);
    PnpkitSimWaitIdle();
    say("app", "CM_Query_And_Remove_SubTree(sensor2): %s", cr == CR_SUCCESS ? "CR_SUCCESS" : "failed");
    failures += cr != CR_SUCCESS;
    device_remove(&sensor[2]);

    printf("== removing sensor 3 is asked; the aggregator vetoes\n");
    aggregator_veto_sensor = 3;
    veto = PNP_VetoTypeUnknown;
    cr = CM_Query_And_Remove_SubTreeW(sensor[3].dn, &veto, NULL, 0, 0);
    PnpkitSimWaitIdle();
    say("app", "CM_Query_And_Remove_SubTree(sensor3): %s (veto type %d)",
        cr == CR_REMOVE_VETOED ? "CR_REMOVE_VETOED" : "not vetoed", (int)veto);
    failures += cr != CR_REMOVE_VETOED;
    stream_for(100);

    printf("== sensor 1 is unplugged (surprise removal)\n");
    PnpkitSimSurpriseRemove(sensor[1].dn);
    PnpkitSimWaitIdle();
    device_remove(&sensor[1]);
    stream_for(100);

    printf("== sensor 5 is plugged in\n");
    failures += !device_create(names[5], SENSOR_HWID, &sensor[5]);
    stream_for(100);

    printf("== the aggregator is removed: every open Target closes\n");
    cr = CM_Query_And_Remove_SubTreeW(aggregator.dn, NULL, NULL, 0, 0);
    PnpkitSimWaitIdle();
    failures += cr != CR_SUCCESS;
    device_remove(&aggregator);
    for (int i = 1; i <= 5; i++)
        device_remove(&sensor[i]);

    printf("== summary: %d opened, %d query-removed, %d vetoed, %d remove-complete, %d closed, %d readings\n",
           get(&aggregator_stats.opened), get(&aggregator_stats.query_removed), get(&aggregator_stats.vetoed),
           get(&aggregator_stats.remove_complete), get(&aggregator_stats.closed), get(&aggregator_stats.readings));
    failures += get(&aggregator_stats.opened) != 5 || get(&aggregator_stats.open_now) != 0 ||
                get(&aggregator_stats.readings) == 0;
    PnpkitDriverUnregister(u"aggregator");
    PnpkitDriverUnregister(u"sensor");
    PnpkitShutdown();
    printf("== live framework objects at the end: %u\n", PnpkitLiveObjectCount());
    return failures == 0 && PnpkitLiveObjectCount() == 0 ? 0 : 1;
}
