/*
 * host_main.c — the pnphost program: command line, start-up (configuration, driver packages,
 * devices, socket), the loop, and an orderly stop on SIGTERM or SIGINT.
 *
 * Start-up order matters: the host's own interface registration comes before any driver is
 * loaded (so the table of enabled interfaces misses nothing), the devices are created and
 * started before the socket listens (so the first application already sees them), and
 * "ready" is announced last (--ready-fd, for supervisors and tests).
 *
 * Stop order is the reverse: applications' sessions end (their handles are cleaned up and
 * closed, their requests cancelled), the devices go, the drivers are unregistered, and pnpkit
 * shuts down. Exit status: 0 after a clean stop, 1 when start-up failed, 2 for a bad command
 * line or configuration.
 */
#include "host/server/host_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int host_log_level = HOST_LOG_INFO;

void host_log(int level, const char *fmt, ...)
{
    va_list ap;
    char line[1024];

    if (level > host_log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "pnphost[%d]: %s%s\n", (int)getpid(), level == HOST_LOG_ERROR ? "error: " : "", line);
}

uint64_t host_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: pnphost [OPTIONS]\n"
            "Loads the driver packages and creates the devices of a configuration file, then serves\n"
            "applications (libpnpkit-client) on a Unix socket until SIGTERM or SIGINT.\n"
            "\n"
            "  -c, --config FILE   configuration file (default /etc/pnpkit/pnphost.conf)\n"
            "  -s, --socket PATH   socket path (overrides the file and PNPKIT_HOST_SOCKET)\n"
            "      --ready-fd N    write \"ready\\n\" to file descriptor N once serving, then close it\n"
            "      --check         check the configuration file and exit\n"
            "  -v, --verbose       more messages (repeat for debug)\n"
            "  -q, --quiet         errors only\n"
            "  -h, --help          this text\n"
            "  -V, --version       the version\n"
            "\n"
            "Exit status: 0 stopped cleanly, 1 start-up failed, 2 bad command line or configuration.\n"
            "The configuration format is described in docs/pnphost.md.\n");
}

/* ---- Text helpers ---- */

static WCHAR *wide(const char *utf8)
{
    UNICODE_STRING us;
    WCHAR *w;
    if (!NT_SUCCESS(PnpkitUnicodeStringFromUtf8(&us, utf8)))
        return NULL;
    w = malloc(us.Length + sizeof(WCHAR));
    if (w) {
        memcpy(w, us.Buffer, us.Length);
        w[us.Length / sizeof(WCHAR)] = 0;
    }
    RtlFreeUnicodeString(&us);
    return w;
}

/* A multi-string of the ids (NULL for none). */
static WCHAR *wide_multi(char **ids, int n)
{
    size_t total = 1, at = 0;
    WCHAR *out;

    if (n == 0)
        return NULL;
    for (int i = 0; i < n; i++)
        total += strlen(ids[i]) * 2 + 1; /* UTF-16 never needs more units than UTF-8 bytes */
    out = calloc(total, sizeof(WCHAR));
    if (!out)
        return NULL;
    for (int i = 0; i < n; i++) {
        WCHAR *w = wide(ids[i]);
        if (!w) {
            free(out);
            return NULL;
        }
        for (size_t k = 0; w[k]; k++)
            out[at++] = w[k];
        out[at++] = 0;
        free(w);
    }
    out[at] = 0;
    return out;
}

/* ---- Drivers ---- */

typedef struct loaded_driver {
    void *dl;
    WCHAR *service;
    bool registered;
} loaded_driver;

static loaded_driver *drivers;

static int load_drivers(void)
{
    drivers = calloc((size_t)host.cfg.n_drivers + 1, sizeof(*drivers));
    if (!drivers)
        return -1;
    for (int i = 0; i < host.cfg.n_drivers; i++) {
        const host_driver_cfg *d = &host.cfg.drivers[i];
        PDRIVER_INITIALIZE entry;
        WCHAR *ids;
        NTSTATUS status;

        drivers[i].dl = dlopen(d->path, RTLD_NOW | RTLD_LOCAL);
        if (!drivers[i].dl) {
            host_log(HOST_LOG_ERROR, "%s:%d: drivers[%d]: cannot load the package: %s", host.cfg.file, d->line, i,
                     dlerror());
            return -1;
        }
        *(void **)&entry = dlsym(drivers[i].dl, "DriverEntry");
        if (!entry) {
            host_log(HOST_LOG_ERROR, "%s:%d: drivers[%d]: %s exports no DriverEntry", host.cfg.file, d->line, i,
                     d->path);
            return -1;
        }
        drivers[i].service = wide(d->name);
        ids = wide_multi(d->hardware_ids, d->n_hardware_ids);
        status = drivers[i].service && ids ? PnpkitDriverRegister(drivers[i].service, entry, ids)
                                           : STATUS_INSUFFICIENT_RESOURCES;
        free(ids);
        if (!NT_SUCCESS(status)) {
            host_log(HOST_LOG_ERROR, "%s:%d: drivers[%d]: PnpkitDriverRegister(%s): %s", host.cfg.file, d->line, i,
                     d->name, PnpkitStatusName(status));
            return -1;
        }
        drivers[i].registered = true;
        host_log(HOST_LOG_DEBUG, "driver %s loaded from %s", d->name, d->path);
    }
    return 0;
}

static void unload_drivers(void)
{
    if (!drivers)
        return;
    for (int i = host.cfg.n_drivers - 1; i >= 0; i--) {
        bool unloaded = !drivers[i].registered;
        if (drivers[i].registered) {
            NTSTATUS status = PnpkitDriverUnregister(drivers[i].service);
            unloaded = NT_SUCCESS(status);
            if (!unloaded)
                host_log(HOST_LOG_ERROR, "driver %s stays loaded: %s", host.cfg.drivers[i].name,
                         PnpkitStatusName(status));
        }
        /* A driver pnpkit still uses keeps its code mapped. */
        if (drivers[i].dl && unloaded)
            dlclose(drivers[i].dl);
        free(drivers[i].service);
    }
    free(drivers);
    drivers = NULL;
}

/* ---- Devices ---- */

typedef struct created_device {
    HSWDEVICE h;
    HRESULT result;
    bool done;
} created_device;

static created_device *devices;
static pthread_mutex_t devices_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t devices_cond = PTHREAD_COND_INITIALIZER;

static VOID device_created(HSWDEVICE h, HRESULT result, PVOID context, PCWSTR instance_id)
{
    created_device *d = context;
    pthread_mutex_lock(&devices_lock);
    d->result = result;
    d->done = true;
    pthread_cond_broadcast(&devices_cond);
    pthread_mutex_unlock(&devices_lock);
}

static int create_devices(void)
{
    struct timespec deadline;
    int failed = 0;

    devices = calloc((size_t)host.cfg.n_devices + 1, sizeof(*devices));
    if (!devices)
        return -1;
    for (int i = 0; i < host.cfg.n_devices; i++) {
        const host_device_cfg *d = &host.cfg.devices[i];
        SW_DEVICE_CREATE_INFO info;
        WCHAR *enumerator = wide(d->enumerator), *instance = wide(d->instance);
        WCHAR *hw = wide_multi(d->hardware_ids, d->n_hardware_ids);
        WCHAR *compat = wide_multi(d->compatible_ids, d->n_compatible_ids);
        WCHAR *description = d->description ? wide(d->description) : NULL;
        HRESULT hr = E_OUTOFMEMORY;

        memset(&info, 0, sizeof(info));
        info.cbSize = sizeof(info);
        info.pszInstanceId = instance;
        info.pszzHardwareIds = hw;
        info.pszzCompatibleIds = compat;
        info.pszDeviceDescription = description;
        info.CapabilityFlags = SWDeviceCapabilitiesRemovable | SWDeviceCapabilitiesSilentInstall;
        if (enumerator && instance && hw)
            hr = SwDeviceCreate(enumerator, u"HTREE\\ROOT\\0", &info, 0, NULL, device_created, &devices[i],
                                &devices[i].h);
        free(enumerator);
        free(instance);
        free(hw);
        free(compat);
        free(description);
        if (FAILED(hr)) {
            host_log(HOST_LOG_ERROR, "%s:%d: devices[%d]: SwDeviceCreate(SWD\\%s\\%s) failed: 0x%08x", host.cfg.file,
                     d->line, i, d->enumerator, d->instance, (unsigned)hr);
            devices[i].h = NULL;
            return -1;
        }
    }
    /* Wait for every device to start (or fail), so that the first application sees them. */
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 30;
    pthread_mutex_lock(&devices_lock);
    for (int i = 0; i < host.cfg.n_devices; i++) {
        while (!devices[i].done)
            if (pthread_cond_timedwait(&devices_cond, &devices_lock, &deadline) == ETIMEDOUT)
                break;
        if (!devices[i].done) {
            host_log(HOST_LOG_ERROR, "devices[%d] (SWD\\%s\\%s) did not start within 30 s", i,
                     host.cfg.devices[i].enumerator, host.cfg.devices[i].instance);
            failed++;
        } else if (FAILED(devices[i].result)) {
            host_log(HOST_LOG_ERROR, "devices[%d] (SWD\\%s\\%s) failed to start: 0x%08x (is a driver registered for "
                     "its hardware ids?)", i, host.cfg.devices[i].enumerator, host.cfg.devices[i].instance,
                     (unsigned)devices[i].result);
            failed++;
        }
    }
    pthread_mutex_unlock(&devices_lock);
    PnpkitSimWaitIdle();
    return failed ? -1 : 0;
}

static void remove_devices(void)
{
    if (!devices)
        return;
    for (int i = host.cfg.n_devices - 1; i >= 0; i--)
        if (devices[i].h)
            SwDeviceClose(devices[i].h);
    PnpkitSimWaitIdle();
    free(devices);
    devices = NULL;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
    static const struct option options[] = {
        { "config", required_argument, NULL, 'c' }, { "socket", required_argument, NULL, 's' },
        { "ready-fd", required_argument, NULL, 'r' }, { "check", no_argument, NULL, 'k' },
        { "verbose", no_argument, NULL, 'v' },       { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },          { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char *config_file = "/etc/pnpkit/pnphost.conf", *socket_arg = NULL;
    char err[1024];
    int ready_fd = -1, opt, rc = 1;
    bool check = false;
    sigset_t sigs;

    while ((opt = getopt_long(argc, argv, "c:s:vqhV", options, NULL)) != -1) {
        switch (opt) {
        case 'c': config_file = optarg; break;
        case 's': socket_arg = optarg; break;
        case 'r': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 0 || v > 65535) {
                fprintf(stderr, "pnphost: --ready-fd needs a file descriptor number\n");
                return 2;
            }
            ready_fd = (int)v;
            break;
        }
        case 'k': check = true; break;
        case 'v': host_log_level++; break;
        case 'q': host_log_level = HOST_LOG_ERROR; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("pnphost (pnpkit) protocol %u\n", PNPH_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "pnphost: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (!host_config_load(config_file, &host.cfg, err, sizeof(err))) {
        fprintf(stderr, "pnphost: %s\n", err);
        return 2;
    }
    if (check) {
        printf("%s: ok (%d drivers, %d devices, %d interface rules)\n", config_file, host.cfg.n_drivers,
               host.cfg.n_devices, host.cfg.n_access);
        host_config_free(&host.cfg);
        return 0;
    }
    if (socket_arg)
        snprintf(host.socket_path, sizeof(host.socket_path), "%s", socket_arg);
    else if (host.cfg.socket_path)
        snprintf(host.socket_path, sizeof(host.socket_path), "%s", host.cfg.socket_path);
    else if (getenv("PNPKIT_HOST_SOCKET") && *getenv("PNPKIT_HOST_SOCKET"))
        snprintf(host.socket_path, sizeof(host.socket_path), "%s", getenv("PNPKIT_HOST_SOCKET"));
    else
        host_default_socket_path(host.socket_path, sizeof(host.socket_path));
    host.epfd = host.wake_fd = host.signal_fd = host.listen_fd = -1;

    /* Before any thread exists, so that every pnpkit thread inherits the mask and the signals
     * reach the loop's signalfd. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    PnpkitSetNotificationTimeout(host.cfg.notification_timeout_ms);
    if (host_notify_start() != 0) {
        host_log(HOST_LOG_ERROR, "cannot register for interface notifications");
        goto stop_notify;
    }
    if (load_drivers() != 0)
        goto unload;
    if (create_devices() != 0)
        goto remove;
    host.listen_fd = host_security_listen(host.socket_path, host.cfg.group, host.cfg.has_group, host.cfg.socket_mode);
    if (host.listen_fd < 0)
        goto remove;
    if (host_loop_init() != 0) {
        host_log(HOST_LOG_ERROR, "cannot set up the event loop: %s", strerror(errno));
        close(host.listen_fd);
        unlink(host.socket_path);
        goto fini;
    }
    host_log(HOST_LOG_INFO, "serving %d driver%s and %d device%s on %s", host.cfg.n_drivers,
             host.cfg.n_drivers == 1 ? "" : "s", host.cfg.n_devices, host.cfg.n_devices == 1 ? "" : "s",
             host.socket_path);
    if (ready_fd >= 0) {
        ssize_t w = write(ready_fd, "ready\n", 6);
        (void)w;
        close(ready_fd);
    }
    host_loop_run();
    rc = 0;
    host_log(HOST_LOG_INFO, "stopped");

fini:
    host_loop_fini();
remove:
    remove_devices();
unload:
    unload_drivers();
stop_notify:
    host_notify_stop();
    host_config_free(&host.cfg);
    PnpkitShutdown();
    return rc;
}
