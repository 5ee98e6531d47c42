/*
 * sensor_monitor — the application of the main job. It links libpnpkit-client only and talks to
 * the drivers running in pnphost through its socket, as a Win32 program talks to drivers.
 *
 * What it shows, with the seed each step exercises:
 *   - it registers for the sensors' interface class (CM_Register_Notification,
 *     DEVICEINTERFACE) to see sensors come and go;
 *   - it finds the aggregator's interface (CM_Get_Device_Interface_List) and picks the link with
 *     the reference string "readings" (seed 001), waiting for it to arrive if needed;
 *   - it opens that link twice, each time with its own threshold after the reference string
 *     (<link>\threshold=250 and <link>\threshold=230): two handles, two WDF file objects in the
 *     aggregator, each with its own threshold, subscription number and counters (seed 003);
 *   - it registers on the first handle (CM_Register_Notification, DEVICEHANDLE) and receives the
 *     aggregator's threshold events, CM_NOTIFY_ACTION_DEVICECUSTOMEVENT (seed 002); each event
 *     names the subscription (handle) whose threshold a reading crossed. A query-remove of the
 *     aggregator closes both handles, so that the removal is not vetoed;
 *   - it polls IOCTL_SENSORKIT_GET_FIGURES on each handle (DeviceIoControl): what the
 *     aggregator's DMF_DeviceInterfaceMultipleTarget streamed (seed 000) and what the recorder
 *     holds (NMR, seed 004);
 *   - it shows the figures live (one status line that updates in place on a terminal, a line
 *     a second otherwise), prints what happens above it, and ends with a summary.
 *
 *   sensor_monitor [SECONDS]      (default: one cycle of the sensor bus, 11.25 s)
 *
 * The socket is PNPKIT_HOST_SOCKET, or the default of <pnpkit/fileapi.h>. Exit status: 0 when
 * readings, events and the recorder were all seen; 1 when something was missing or failed; 130
 * after Ctrl-C (the summary is printed all the same).
 */
#include <pnpkit/fileapi.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../sensorkit.h"

#define HANDLES 2
#define MAX_SUBSCRIPTION 256

static const LONG thresholds[HANDLES] = { 250, 230 };
static const char handle_names[HANDLES] = { 'A', 'B' };

/* Set from callbacks and the signal handler, read by the main loop. */
static volatile sig_atomic_t interrupted;
static int aggregator_gone;                           /* atomic */
static HANDLE handles[HANDLES] = { INVALID_HANDLE_VALUE, INVALID_HANDLE_VALUE }; /* atomic */

/* What the notifications told (atomic). */
static unsigned sensor_arrivals, sensor_removals, sensors_present;
static unsigned sensors_seen_mask;
static unsigned events_by_subscription[MAX_SUBSCRIPTION];
static unsigned events_total, events_other;

/* ---- Output: a status line kept at the bottom of a terminal ---- */

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static int tty;
static char status_line[512];            /* under out_lock */
static struct timespec started;

static double elapsed(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - started.tv_sec) + (double)(now.tv_nsec - started.tv_nsec) / 1e9;
}

/* Prints one line about something that happened, above the status line. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&out_lock);
    if (tty)
        fputs("\r\033[K", stdout);
    printf("%5.1f s  ", elapsed());
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    if (tty && status_line[0])
        fputs(status_line, stdout);
    fflush(stdout);
    pthread_mutex_unlock(&out_lock);
}

static void show_status(const char *text)
{
    pthread_mutex_lock(&out_lock);
    snprintf(status_line, sizeof(status_line), "%s", text);
    if (tty)
        printf("\r\033[K%s", status_line);
    else
        printf("%s\n", status_line);
    fflush(stdout);
    pthread_mutex_unlock(&out_lock);
}

static void end_status(void)
{
    pthread_mutex_lock(&out_lock);
    if (tty && status_line[0])
        fputs("\r\033[K", stdout);
    status_line[0] = 0;
    fflush(stdout);
    pthread_mutex_unlock(&out_lock);
}

static size_t wide_length(const WCHAR *w)
{
    size_t n = 0;
    while (w[n])
        n++;
    return n;
}

static void narrow(const WCHAR *w, char *out, size_t cap)
{
    size_t i = 0;
    for (; w[i] && i + 1 < cap; i++)
        out[i] = w[i] < 0x80 ? (char)w[i] : '?';
    out[i] = 0;
}

/* The sensor number in a sensor interface's link (...#sensor<N>#{...}), 0 if none. */
static unsigned sensor_of_link(const WCHAR *link)
{
    char text[512];
    const char *p;

    narrow(link, text, sizeof(text));
    p = strstr(text, "#sensor");
    return p ? (unsigned)strtoul(p + 7, NULL, 10) : 0;
}

/* ---- Notifications (on the library's threads; one registration's callbacks never overlap) ---- */

static void close_handles(void)
{
    for (int i = 0; i < HANDLES; i++) {
        HANDLE h = __atomic_exchange_n(&handles[i], INVALID_HANDLE_VALUE, __ATOMIC_ACQ_REL);
        if (h != INVALID_HANDLE_VALUE)
            CloseHandle(h);
    }
}

static DWORD on_sensor_interface(HCMNOTIFICATION reg, PVOID context, CM_NOTIFY_ACTION action,
                                 PCM_NOTIFY_EVENT_DATA data, DWORD size)
{
    unsigned n = sensor_of_link(data->u.DeviceInterface.SymbolicLink);

    if (action == CM_NOTIFY_ACTION_DEVICEINTERFACEARRIVAL) {
        __atomic_add_fetch(&sensor_arrivals, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&sensors_present, 1, __ATOMIC_RELAXED);
        if (n < 32)
            __atomic_or_fetch(&sensors_seen_mask, 1u << n, __ATOMIC_RELAXED);
        say("+ sensor %u arrived", n);
    } else if (action == CM_NOTIFY_ACTION_DEVICEINTERFACEREMOVAL) {
        __atomic_add_fetch(&sensor_removals, 1, __ATOMIC_RELAXED);
        __atomic_sub_fetch(&sensors_present, 1, __ATOMIC_RELAXED);
        say("- sensor %u left", n);
    }
    return ERROR_SUCCESS;
}

static DWORD on_aggregator(HCMNOTIFICATION reg, PVOID context, CM_NOTIFY_ACTION action, PCM_NOTIFY_EVENT_DATA data,
                           DWORD size)
{
    const SENSORKIT_THRESHOLD_EVENT *e;

    switch (action) {
    case CM_NOTIFY_ACTION_DEVICECUSTOMEVENT:
        if (memcmp(&data->u.DeviceHandle.EventGuid, &GUID_SENSORKIT_THRESHOLD_EVENT, sizeof(GUID)) != 0 ||
            data->u.DeviceHandle.DataSize < sizeof(*e)) {
            __atomic_add_fetch(&events_other, 1, __ATOMIC_RELAXED);
            break;
        }
        e = (const SENSORKIT_THRESHOLD_EVENT *)data->u.DeviceHandle.Data;
        __atomic_add_fetch(&events_total, 1, __ATOMIC_RELAXED);
        if (e->Subscription < MAX_SUBSCRIPTION)
            __atomic_add_fetch(&events_by_subscription[e->Subscription], 1, __ATOMIC_RELAXED);
        say("! event: sensor %u reads %.1f °C, at or above %.1f °C (subscription %u)", (unsigned)e->Sensor,
            e->Value / 10.0, e->Threshold / 10.0, (unsigned)e->Subscription);
        break;
    case CM_NOTIFY_ACTION_DEVICEQUERYREMOVE:
        /* Someone wants the aggregator removed: let go of it (an open handle would veto). */
        say("the aggregator is being removed: closing our handles");
        close_handles();
        break;
    case CM_NOTIFY_ACTION_DEVICEREMOVECOMPLETE:
        say("the aggregator is gone");
        __atomic_store_n(&aggregator_gone, 1, __ATOMIC_RELEASE);
        close_handles();
        break;
    default:
        break;
    }
    return ERROR_SUCCESS;
}

/* ---- Finding and opening the aggregator ---- */

/* The present interfaces of a class: a multi-string the caller frees, or NULL. */
static WCHAR *interface_list(GUID cls)
{
    WCHAR *list = NULL;
    ULONG len = 0;
    CONFIGRET cr;

    /* The list may grow between the two calls: loop. */
    do {
        cr = CM_Get_Device_Interface_List_Size(&len, &cls, NULL, CM_GET_DEVICE_INTERFACE_LIST_PRESENT);
        if (cr != CR_SUCCESS)
            break;
        free(list);
        list = malloc(len * sizeof(WCHAR));
        if (!list)
            return NULL;
        cr = CM_Get_Device_Interface_List(&cls, NULL, list, len, CM_GET_DEVICE_INTERFACE_LIST_PRESENT);
    } while (cr == CR_BUFFER_SMALL);
    if (cr != CR_SUCCESS) {
        free(list);
        return NULL;
    }
    return list;
}

/* The aggregator's link with the "readings" reference string, or NULL. Caller frees. */
static WCHAR *find_aggregator(void)
{
    static const WCHAR suffix[] = u"\\" SENSORKIT_AGGREGATOR_REFERENCE;
    const size_t suffix_chars = sizeof(suffix) / sizeof(WCHAR) - 1;
    WCHAR *list = interface_list(GUID_DEVINTERFACE_SENSORKIT_AGGREGATOR), *found = NULL;

    for (WCHAR *p = list; p && *p && !found;) {
        size_t n = 0;
        while (p[n])
            n++;
        if (n > suffix_chars && memcmp(p + n - suffix_chars, suffix, suffix_chars * sizeof(WCHAR)) == 0) {
            found = malloc((n + 1) * sizeof(WCHAR));
            if (found)
                memcpy(found, p, (n + 1) * sizeof(WCHAR));
        }
        p += n + 1;
    }
    free(list);
    return found;
}

/* Opens link + "\threshold=<value>". */
static HANDLE open_with_threshold(const WCHAR *link, LONG threshold)
{
    char option[32];
    size_t n = 0, k;
    WCHAR *path;
    HANDLE h;

    snprintf(option, sizeof(option), "\\threshold=%ld", (long)threshold);
    while (link[n])
        n++;
    path = malloc((n + strlen(option) + 1) * sizeof(WCHAR));
    if (!path)
        return INVALID_HANDLE_VALUE;
    memcpy(path, link, n * sizeof(WCHAR));
    for (k = 0; option[k]; k++)
        path[n + k] = (WCHAR)option[k];
    path[n + k] = 0;
    h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
    free(path);
    return h;
}

static BOOL get_figures(int i, SENSORKIT_FIGURES *f)
{
    HANDLE h = __atomic_load_n(&handles[i], __ATOMIC_ACQUIRE);
    DWORD got = 0;

    /* A handle closed by a callback meanwhile fails the call cleanly (ERROR_INVALID_HANDLE). */
    return h != INVALID_HANDLE_VALUE &&
           DeviceIoControl(h, IOCTL_SENSORKIT_GET_FIGURES, NULL, 0, f, sizeof(*f), &got, NULL) && got == sizeof(*f);
}

static void on_signal(int sig) { interrupted = 1; }

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL); /* a signal cuts it short, which is what we want */
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? strtod(argv[1], NULL) : (SENSORKIT_CYCLE_TICKS + 0.5) * SENSORKIT_TICK_MS / 1000.0;
    HCMNOTIFICATION sensor_reg = NULL, aggregator_reg = NULL;
    SENSORKIT_FIGURES first[HANDLES], last[HANDLES], seen, rate_base;
    CM_NOTIFY_FILTER filter;
    struct sigaction sa;
    WCHAR *link = NULL;
    char text[512];
    double last_line = -1, rate_time = 0;
    int problems = 0, lost;
    CONFIGRET cr;

    if (argc > 2 || seconds <= 0 || seconds > 3600) {
        fprintf(stderr, "usage: sensor_monitor [SECONDS]\n");
        return 2;
    }
    tty = isatty(STDOUT_FILENO);
    clock_gettime(CLOCK_MONOTONIC, &started);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    /* 1. Sensors: register first, so no arrival falls between the registration and the list. */
    memset(&filter, 0, sizeof(filter));
    filter.cbSize = sizeof(filter);
    filter.FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE;
    filter.u.DeviceInterface.ClassGuid = GUID_DEVINTERFACE_SENSORKIT_SENSOR;
    cr = CM_Register_Notification(&filter, NULL, on_sensor_interface, &sensor_reg);
    if (cr != CR_SUCCESS) {
        fprintf(stderr, "sensor_monitor: CM_Register_Notification: 0x%x%s\n", (unsigned)cr,
                cr == CR_NO_CM_SERVICES ? " (is pnphost running? PNPKIT_HOST_SOCKET?)" : "");
        return 1;
    }

    {
        WCHAR *present = interface_list(GUID_DEVINTERFACE_SENSORKIT_SENSOR);
        unsigned count = 0;
        for (WCHAR *p = present; p && *p; p += wide_length(p) + 1) {
            unsigned n = sensor_of_link(p);
            if (n < 32)
                __atomic_or_fetch(&sensors_seen_mask, 1u << n, __ATOMIC_RELAXED);
            count++;
        }
        __atomic_add_fetch(&sensors_present, count, __ATOMIC_RELAXED);
        free(present);
        say("%u sensor%s present", count, count == 1 ? "" : "s");
    }

    /* 2. The aggregator's interface, with its reference string (it may still be arriving). */
    for (int tries = 0; !link && tries < 50 && !interrupted; tries++) {
        link = find_aggregator();
        if (!link)
            sleep_ms(100);
    }
    if (!link) {
        fprintf(stderr, "sensor_monitor: no aggregator interface (%s) is present\n", "readings");
        CM_Unregister_Notification(sensor_reg);
        return 1;
    }
    narrow(link, text, sizeof(text));
    say("aggregator: %s", text);

    /* 3. Two handles, two thresholds: two file objects in the aggregator. */
    for (int i = 0; i < HANDLES; i++) {
        handles[i] = open_with_threshold(link, thresholds[i]);
        if (handles[i] == INVALID_HANDLE_VALUE || !get_figures(i, &first[i])) {
            fprintf(stderr, "sensor_monitor: opening %s\\threshold=%ld: error %u\n", text, (long)thresholds[i],
                    (unsigned)GetLastError());
            close_handles();
            CM_Unregister_Notification(sensor_reg);
            free(link);
            return 1;
        }
        last[i] = first[i];
        say("handle %c: %s\\threshold=%ld -> subscription %u, threshold %.1f °C", handle_names[i], text,
            (long)thresholds[i], (unsigned)first[i].Subscription, first[i].Threshold / 10.0);
    }
    free(link);

    /* 4. Events of the aggregator's device, on the first handle (they are the device's: one
     *    registration hears the events of both subscriptions). */
    memset(&filter, 0, sizeof(filter));
    filter.cbSize = sizeof(filter);
    filter.FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEHANDLE;
    filter.u.DeviceHandle.hTarget = handles[0];
    cr = CM_Register_Notification(&filter, NULL, on_aggregator, &aggregator_reg);
    if (cr != CR_SUCCESS) {
        fprintf(stderr, "sensor_monitor: CM_Register_Notification(handle): 0x%x\n", (unsigned)cr);
        problems++;
    }

    /* 5. Live figures until the time is up, Ctrl-C, or the aggregator goes (or is going: a
     *    query-remove closed our handles). */
    seen = rate_base = first[0];
    while (!interrupted && elapsed() < seconds && !__atomic_load_n(&aggregator_gone, __ATOMIC_ACQUIRE) &&
           __atomic_load_n(&handles[0], __ATOMIC_ACQUIRE) != INVALID_HANDLE_VALUE) {
        SENSORKIT_FIGURES f;
        double now;

        sleep_ms(100);
        if (!get_figures(0, &f) || !get_figures(1, &last[1]))
            continue;
        last[0] = f;
        now = elapsed();
        if (f.QueryRemoves > seen.QueryRemoves)
            say("aggregator: QueryRemove x%u -> safely removed, the stream stops and the target closes",
                (unsigned)(f.QueryRemoves - seen.QueryRemoves));
        if (f.SurpriseRemovals > seen.SurpriseRemovals)
            say("aggregator: RemoveComplete without QueryRemove x%u -> pulled out, the stream fails and stops",
                (unsigned)(f.SurpriseRemovals - seen.SurpriseRemovals));
        if (f.TargetsOpened > seen.TargetsOpened)
            say("aggregator: Open -> streaming from %u sensor%s", (unsigned)f.TargetsOpen, f.TargetsOpen == 1 ? "" : "s");
        seen = f;
        /* Under 80 columns, so that the line never wraps on a terminal. */
        snprintf(text, sizeof(text),
                 "[%5.1fs] %u sensor%s | %5llu readings %4.0f/s | recorder %5llu | events A %u B %u",
                 now, (unsigned)f.TargetsOpen, f.TargetsOpen == 1 ? " " : "s", (unsigned long long)f.Readings,
                 now > rate_time ? (double)(f.Readings - rate_base.Readings) / (now - rate_time) : 0.0,
                 (unsigned long long)f.Recorded,
                 __atomic_load_n(&events_by_subscription[first[0].Subscription % MAX_SUBSCRIPTION], __ATOMIC_RELAXED),
                 __atomic_load_n(&events_by_subscription[first[1].Subscription % MAX_SUBSCRIPTION], __ATOMIC_RELAXED));
        if (tty || now - last_line >= 1.0) {
            show_status(text);
            last_line = now;
        }
        /* The rate is over the last second or so. */
        if (now - rate_time >= 1.0) {
            rate_base = f;
            rate_time = now;
        }
    }

    lost = __atomic_load_n(&handles[0], __ATOMIC_ACQUIRE) == INVALID_HANDLE_VALUE;

    /* 6. Let the events already posted arrive (they travel after the figures), up to 2 s. */
    for (int waited = 0; waited < 20 && !__atomic_load_n(&aggregator_gone, __ATOMIC_ACQUIRE); waited++) {
        int behind = 0;
        for (int i = 0; i < HANDLES; i++) {
            unsigned sub = last[i].Subscription % MAX_SUBSCRIPTION;
            if (get_figures(i, &last[i]) &&
                __atomic_load_n(&events_by_subscription[sub], __ATOMIC_RELAXED) < last[i].Crossings - last[i].EventsDropped)
                behind = 1;
        }
        if (!behind)
            break;
        sleep_ms(100);
    }
    end_status();
    if (aggregator_reg)
        CM_Unregister_Notification(aggregator_reg);
    close_handles(); /* the driver sees cleanup, then close, for each */
    CM_Unregister_Notification(sensor_reg);

    /* 7. The summary: every figure is what the notifications and the aggregator reported. */
    {
        const SENSORKIT_FIGURES *f = &last[0];
        unsigned distinct = 0;
        char per_sensor[256] = "";
        size_t at = 0;

        for (unsigned n = 1; n <= SENSORKIT_MAX_SENSORS; n++) {
            if (sensors_seen_mask & (1u << n))
                distinct++;
            if (f->SensorReadings[n] && at < sizeof(per_sensor))
                at += (size_t)snprintf(per_sensor + at, sizeof(per_sensor) - at, "%s%u: %llu", at ? ", " : "", n,
                                       (unsigned long long)f->SensorReadings[n]);
        }
        printf("== summary after %.1f s%s\n", elapsed(),
               interrupted ? " (interrupted)"
               : lost ? " (the aggregator was removed: figures as last polled)" : "");
        printf("sensors:    %u arrivals and %u removals seen, %u distinct sensors, %u present at the end\n",
               sensor_arrivals, sensor_removals, distinct, sensors_present);
        printf("aggregator: %u targets opened, %u safely removed (QueryRemove), %u pulled out (surprise), "
               "%u closed, %u streaming at the end\n",
               (unsigned)f->TargetsOpened, (unsigned)f->QueryRemoves, (unsigned)f->SurpriseRemovals,
               (unsigned)f->TargetsClosed, (unsigned)f->TargetsOpen);
        printf("readings:   %llu streamed (per sensor %s)\n", (unsigned long long)f->Readings, per_sensor);
        printf("recorder:   %llu samples recorded over NMR, %u binding%s, %llu not recorded\n",
               (unsigned long long)f->Recorded, (unsigned)f->RecorderAttachments,
               f->RecorderAttachments == 1 ? "" : "s", (unsigned long long)f->RecordRefused);
        for (int i = 0; i < HANDLES; i++) {
            unsigned got = events_by_subscription[last[i].Subscription % MAX_SUBSCRIPTION];
            printf("handle %c:   threshold %.1f °C, %llu readings seen, %u crossings, %u events received%s\n",
                   handle_names[i], last[i].Threshold / 10.0,
                   (unsigned long long)(last[i].ReadingsSeen), (unsigned)last[i].Crossings, got,
                   last[i].EventsDropped ? " (some dropped by the driver)" : "");
        }
        printf("events:     %u threshold events received in all, %u posted by the aggregator\n", events_total,
               (unsigned)f->EventsPosted);
        if (f->Readings == 0)
            problems++, printf("problem:    no readings\n");
        if (events_total == 0)
            problems++, printf("problem:    no threshold event was received\n");
        if (sensor_arrivals == 0)
            problems++, printf("problem:    no sensor arrived\n");
        if (f->Recorded == 0)
            problems++, printf("problem:    the recorder recorded nothing\n");
        printf("result:     %s\n", problems ? "FAILED" : interrupted ? "interrupted" : "ok");
    }
    fflush(stdout);
    return problems ? 1 : interrupted ? 130 : 0;
}
