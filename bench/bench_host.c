/*
 * bench_host — pnphost's two costs that applications feel, each beside a baseline measured in
 * the same run:
 *   - a synchronous DeviceIoControl round trip (64 bytes in, 64 out, the driver completes
 *     inline) from an application process through pnphost to a WDM driver and back, against a
 *     raw ping-pong of the same byte counts between two processes over a Unix socket
 *     (goal: ratio <= 1.3);
 *   - interface notifications fanned out to 100 application processes (each registered for
 *     the class with CM_Register_Notification), against one process writing the same number of
 *     messages to 100 processes over Unix sockets.
 * The application side is tests/host/apps/pk_hostapp (it links libpnpkit-client); the driver
 * is tests/host/drvpkg/pkhost_drv.
 */
#include "bench_common.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define IO_BYTES 64
#define REQUEST_BYTES (16 + 24 + IO_BYTES) /* PNPH_IOCTL with 64 bytes in */
#define REPLY_BYTES (16 + 16 + IO_BYTES)   /* its reply with 64 bytes out */
#define PINGPONGS 20000
#define LISTENERS 100
#define TOGGLES 100                        /* each makes an arrival and a removal */
#define EVENT_BYTES 200                    /* about the size of an interface event */

static bool read_full(int fd, void *p, size_t n)
{
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return false;
        }
        p = (char *)p + r;
        n -= (size_t)r;
    }
    return true;
}

static bool write_full(int fd, const void *p, size_t n)
{
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return false;
        }
        p = (const char *)p + r;
        n -= (size_t)r;
    }
    return true;
}

/* ---- Baselines ---- */

static double raw_ping_pong_ns(void)
{
    int sv[2];
    char req[REQUEST_BYTES], rep[REPLY_BYTES];
    double best = 1e30;
    pid_t pid;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 0;
    pid = fork();
    if (pid == 0) {
        close(sv[0]);
        memset(rep, 0x5a, sizeof(rep));
        while (read_full(sv[1], req, sizeof(req)) && write_full(sv[1], rep, sizeof(rep)))
            ;
        _exit(0);
    }
    close(sv[1]);
    memset(req, 0xa5, sizeof(req));
    for (int i = 0; i < 1000; i++)
        if (!write_full(sv[0], req, sizeof(req)) || !read_full(sv[0], rep, sizeof(rep)))
            break;
    for (int round = 0; round < 5; round++) {
        uint64_t t0 = bench_now_ns();
        for (int i = 0; i < PINGPONGS; i++)
            if (!write_full(sv[0], req, sizeof(req)) || !read_full(sv[0], rep, sizeof(rep)))
                break;
        double ns = (double)(bench_now_ns() - t0) / PINGPONGS;
        if (ns < best)
            best = ns;
    }
    close(sv[0]);
    waitpid(pid, NULL, 0);
    return best;
}

/* One process writes `events` messages to each of LISTENERS processes; returns ns per
 * delivered message (until every listener acknowledged its last one). */
static double raw_fan_out_ns(int events)
{
    int fds[LISTENERS];
    pid_t pids[LISTENERS];
    char msg[EVENT_BYTES], ack;
    uint64_t t0;
    int n = 0;

    memset(msg, 0x42, sizeof(msg));
    for (; n < LISTENERS; n++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
            break;
        pids[n] = fork();
        if (pids[n] == 0) {
            char in[EVENT_BYTES];
            close(sv[0]);
            for (int e = 0; e < events; e++)
                if (!read_full(sv[1], in, sizeof(in)))
                    _exit(1);
            write_full(sv[1], "k", 1);
            _exit(0);
        }
        close(sv[1]);
        fds[n] = sv[0];
    }
    t0 = bench_now_ns();
    for (int e = 0; e < events; e++)
        for (int i = 0; i < n; i++)
            write_full(fds[i], msg, sizeof(msg));
    for (int i = 0; i < n; i++)
        read_full(fds[i], &ack, 1);
    double ns = (double)(bench_now_ns() - t0) / ((double)events * n);
    for (int i = 0; i < n; i++) {
        close(fds[i]);
        waitpid(pids[i], NULL, 0);
    }
    return ns;
}

/* ---- pnphost and its applications ---- */

typedef struct app {
    pid_t pid;
    int in, out;
    char buf[4096];
    size_t have;
} app;

static pid_t start_host(const char *config)
{
    int ready[2];
    char fd[16], c;
    pid_t pid;

    if (pipe(ready) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        close(ready[0]);
        snprintf(fd, sizeof(fd), "%d", ready[1]);
        execl(PKH_PNPHOST, "pnphost", "-q", "-c", config, "--ready-fd", fd, (char *)NULL);
        _exit(127);
    }
    close(ready[1]);
    struct pollfd p = { .fd = ready[0], .events = POLLIN };
    if (poll(&p, 1, 30000) != 1 || read(ready[0], &c, 1) != 1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        pid = -1;
    }
    close(ready[0]);
    return pid;
}

static bool app_start(app *a, const char *socket_path)
{
    int to[2], from[2];
    if (pipe(to) != 0 || pipe(from) != 0)
        return false;
    a->pid = fork();
    if (a->pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[0]);
        close(to[1]);
        close(from[0]);
        close(from[1]);
        setenv("PNPKIT_HOST_SOCKET", socket_path, 1);
        execl(PKH_APP, "pk_hostapp", (char *)NULL);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    a->in = to[1];
    a->out = from[0];
    a->have = 0;
    return a->pid > 0;
}

static void app_send(app *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void app_send(app *a, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    line[n++] = '\n';
    write_full(a->in, line, (size_t)n);
}

/* The next line that starts with "c" (command answers), without its tag; NULL on end. */
static const char *app_answer(app *a)
{
    static char line[4096];
    for (;;) {
        char *nl = memchr(a->buf, '\n', a->have);
        if (nl) {
            size_t len = (size_t)(nl - a->buf);
            memcpy(line, a->buf, len);
            line[len] = 0;
            memmove(a->buf, nl + 1, a->have - len - 1);
            a->have -= len + 1;
            if (line[0] != 'c')
                continue;
            char *sp = strchr(line, ' ');
            return sp ? sp + 1 : line;
        }
        ssize_t r = read(a->out, a->buf + a->have, sizeof(a->buf) - a->have);
        if (r <= 0)
            return NULL;
        a->have += (size_t)r;
    }
}

static const char *app_cmd(app *a, const char *cmd)
{
    app_send(a, "c %s", cmd);
    return app_answer(a);
}

static void app_stop(app *a)
{
    app_send(a, "c exit");
    close(a->in);
    waitpid(a->pid, NULL, 0);
    close(a->out);
}

int main(void)
{
    char dir[] = "/tmp/pkhost-bench-XXXXXX", config[128], socket_path[128];
    static app listeners[LISTENERS];
    app ctl;
    pid_t host;
    const char *r;
    FILE *f;
    double raw_ns, host_ns, raw_fan_ns, host_fan_ns;
    int rc = 1;

    signal(SIGPIPE, SIG_IGN);
    if (!mkdtemp(dir))
        return 1;
    snprintf(config, sizeof(config), "%s/pnphost.conf", dir);
    snprintf(socket_path, sizeof(socket_path), "%s/pnphost.sock", dir);
    f = fopen(config, "w");
    if (!f)
        return 1;
    fprintf(f, "socket = \"%s\";\nmax_clients = 1000;\n", socket_path);
    fprintf(f, "drivers = ( { path = \"%s\"; hardware_ids = [ \"PKHOST\\\\TESTDEV\" ]; } );\n", PKH_DRVPKG);
    fprintf(f, "devices = ( { enumerator = \"PKHOST\"; instance = \"dev1\"; hardware_ids = [ \"PKHOST\\\\TESTDEV\" ]; } );\n");
    fclose(f);

    raw_ns = raw_ping_pong_ns();
    host = start_host(config);
    if (host < 0) {
        fprintf(stderr, "bench_host: pnphost did not start\n");
        goto cleanup;
    }

    /* ---- DeviceIoControl round trip ---- */
    if (!app_start(&ctl, socket_path))
        goto stop_host;
    app_cmd(&ctl, "list ECHO");
    r = app_cmd(&ctl, "open h1 @0");
    if (!r || strcmp(r, "ok") != 0) {
        fprintf(stderr, "bench_host: cannot open the device: %s\n", r ? r : "(no answer)");
        goto stop_ctl;
    }
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "benchioctl h1 %d %d", PINGPONGS, IO_BYTES);
    r = app_cmd(&ctl, cmd);
    if (!r || sscanf(r, "ok %lf", &host_ns) != 1) {
        fprintf(stderr, "bench_host: %s\n", r ? r : "(no answer)");
        goto stop_ctl;
    }
    bench_report("DeviceIoControl round trip through pnphost (64 B in/out)", host_ns,
                 "raw Unix-socket ping-pong, same bytes, 2 processes", raw_ns);
    printf("  goal: ratio <= 1.3: %s\n", host_ns <= 1.3 * raw_ns ? "met" : "NOT met");

    /* ---- Notifications to 100 applications ---- */
    int started = 0;
    for (; started < LISTENERS; started++) {
        if (!app_start(&listeners[started], socket_path))
            break;
        app_send(&listeners[started], "c reg iface r TOGGLE quiet");
    }
    for (int i = 0; i < started; i++)
        if (!(r = app_answer(&listeners[i])) || strcmp(r, "ok") != 0) {
            fprintf(stderr, "bench_host: listener %d: %s\n", i, r ? r : "(no answer)");
            goto stop_listeners;
        }
    uint64_t t0 = bench_now_ns();
    snprintf(cmd, sizeof(cmd), "benchtoggle h1 %d", TOGGLES);
    r = app_cmd(&ctl, cmd);
    if (!r || strcmp(r, "ok") != 0) {
        fprintf(stderr, "bench_host: toggling: %s\n", r ? r : "(no answer)");
        goto stop_listeners;
    }
    for (int i = 0; i < started; i++)
        app_send(&listeners[i], "c waitcount r %d 120000", 2 * TOGGLES);
    for (int i = 0; i < started; i++) {
        r = app_answer(&listeners[i]);
        if (!r || strncmp(r, "ok", 2) != 0) {
            fprintf(stderr, "bench_host: listener %d: %s\n", i, r ? r : "(no answer)");
            goto stop_listeners;
        }
    }
    uint64_t elapsed = bench_now_ns() - t0;
    double notifications = 2.0 * TOGGLES * started;
    host_fan_ns = (double)elapsed / notifications;
    raw_fan_ns = raw_fan_out_ns(2 * TOGGLES);
    printf("interface notifications to %d applications: %.0f notifications/s (%.0f events, %.2f s)\n", started,
           notifications * 1e9 / (double)elapsed, 2.0 * TOGGLES, (double)elapsed / 1e9);
    bench_report("notification delivered through pnphost (per application)", host_fan_ns,
                 "raw fan-out: 1 process writes to 100 over Unix sockets", raw_fan_ns);
    rc = 0;

stop_listeners:
    for (int i = 0; i < started; i++)
        app_stop(&listeners[i]);
stop_ctl:
    app_stop(&ctl);
stop_host:
    kill(host, SIGTERM);
    waitpid(host, NULL, 0);
cleanup:
    unlink(config);
    unlink(socket_path);
    rmdir(dir);
    return rc;
}
