/*
 * mainjob — the launcher of the main job (`make run`): it starts pnphost on the configuration the
 * build generated (<build>/examples/mainjob.conf: the sensorkit driver packages and their
 * devices) on a private socket, runs the application (sensor_monitor) against it, and stops
 * pnphost when the application is done. It links nothing of pnpkit: it only runs programs.
 *
 *   mainjob [--quick] [--seconds S] [--config FILE]
 *
 *   --quick       half-length ticks of the sensor bus (SENSORKIT_TICK_MS in pnphost's
 *                 environment) and half the watching time: what the test runs
 *   --seconds S   how long sensor_monitor watches (default: one cycle of the bus and half a tick)
 *   --config F    another pnphost configuration
 *
 * How it is careful:
 *   - readiness: pnphost writes "ready" on a pipe (--ready-fd) once its devices started and its
 *     socket listens; no sleeps. A pnphost that fails to start closes the pipe without it.
 *   - the socket lives in a fresh private folder (mkdtemp), removed at the end.
 *   - pnphost runs in its own process group, so that Ctrl-C on the terminal reaches the
 *     launcher and the application (which prints its summary) but not pnphost, which the
 *     launcher then stops in order with SIGTERM and waits for. PR_SET_PDEATHSIG stops pnphost
 *     should the launcher itself be killed.
 *   - signals are taken through a signalfd, so the launcher waits for children, signals and the
 *     ready pipe in one poll.
 * Exit status: the application's (0 all seen, 1 something missing), 1 when pnphost failed to
 * start or did not stop cleanly (exit status 0 after SIGTERM, within 30 s), 130 after Ctrl-C.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sensorkit.h"

#define STOP_TIMEOUT_MS 30000
#define START_TIMEOUT_MS 30000

static sigset_t handled;    /* SIGINT, SIGTERM, SIGCHLD: blocked here, read from the signalfd */

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Starts a program with the signal mask and dispositions of a fresh process. */
static pid_t spawn(char *const argv[], bool own_group, int keep_fd)
{
    pid_t pid = fork();

    if (pid != 0)
        return pid;
    if (own_group) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
    }
    if (keep_fd >= 0)
        fcntl(keep_fd, F_SETFD, 0); /* survives the exec */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigprocmask(SIG_UNBLOCK, &handled, NULL);
    execv(argv[0], argv);
    fprintf(stderr, "mainjob: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static const char *describe(int status, char *buf, size_t cap)
{
    if (WIFEXITED(status))
        snprintf(buf, cap, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, cap, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(buf, cap, "status 0x%x", status);
    return buf;
}

/* Waits for `pid` up to `timeout_ms` while draining the signalfd; TRUE with *status when it
 * exited. A SIGINT or SIGTERM meanwhile sets *interrupted. */
static bool wait_child(int sfd, pid_t pid, long timeout_ms, int *status, bool *interrupted)
{
    long deadline = now_ms() + timeout_ms;

    for (;;) {
        struct signalfd_siginfo si;
        struct pollfd p = { sfd, POLLIN, 0 };
        long left = deadline - now_ms();

        if (waitpid(pid, status, WNOHANG) == pid)
            return true;
        if (left <= 0)
            return false;
        if (poll(&p, 1, (int)(left > 1000 ? 1000 : left)) > 0 && read(sfd, &si, sizeof(si)) == sizeof(si) &&
            (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM))
            *interrupted = true;
    }
}

int main(int argc, char **argv)
{
    static char pnphost[] = MAINJOB_PNPHOST, monitor[] = MAINJOB_MONITOR, default_config[] = MAINJOB_CONFIG;
    static char quiet[] = "-q", config_opt[] = "-c", socket_opt[] = "-s", ready_opt[] = "--ready-fd";
    char *config = default_config;
    double seconds = 0;
    bool quick = false, interrupted = false, host_ok = false;
    char dir[] = "/tmp/pnpkit-mainjob-XXXXXX", socket_path[sizeof(dir) + 16], ready_arg[16], seconds_arg[32];
    char desc[96];
    int ready[2], sfd, status, app_status = -1, rc;
    pid_t host, app = -1;
    long t0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config = argv[++i];
        else {
            fprintf(stderr, "usage: mainjob [--quick] [--seconds S] [--config FILE]\n");
            return 2;
        }
    }
    {
        int tick = quick ? SENSORKIT_TICK_MS / 2 : SENSORKIT_TICK_MS;
        char tick_text[16];
        snprintf(tick_text, sizeof(tick_text), "%d", tick);
        setenv("SENSORKIT_TICK_MS", tick_text, 1); /* read by the sensor bus inside pnphost */
        if (seconds <= 0)
            seconds = (SENSORKIT_CYCLE_TICKS + 0.5) * tick / 1000.0; /* the next cycle starts a tick later */
    }

    /* Signals: blocked, and read from a signalfd (children get them back unblocked). */
    sigemptyset(&handled);
    sigaddset(&handled, SIGINT);
    sigaddset(&handled, SIGTERM);
    sigaddset(&handled, SIGCHLD);
    sigprocmask(SIG_BLOCK, &handled, NULL);
    sfd = signalfd(-1, &handled, SFD_CLOEXEC);
    if (sfd < 0 || !mkdtemp(dir) || pipe2(ready, O_CLOEXEC) != 0) {
        fprintf(stderr, "mainjob: cannot set up: %s\n", strerror(errno));
        return 1;
    }
    snprintf(socket_path, sizeof(socket_path), "%s/pnphost.sock", dir);
    snprintf(ready_arg, sizeof(ready_arg), "%d", ready[1]);
    snprintf(seconds_arg, sizeof(seconds_arg), "%.1f", seconds);
    setvbuf(stdout, NULL, _IOLBF, 0);

    printf("== the main job (examples/mainjob): the sensorkit drivers run in pnphost; sensor_monitor, an\n"
           "   application in its own process, watches them through libpnpkit-client for %.1f s\n", seconds);
    printf("   sensor bus: sensors arrive, one is safely removed, one is pulled out and comes back (1 tick = %s ms)\n",
           getenv("SENSORKIT_TICK_MS"));

    /* 1. pnphost, and its "ready". */
    t0 = now_ms();
    {
        char *host_argv[] = { pnphost, quiet, config_opt, config, socket_opt, socket_path, ready_opt, ready_arg, NULL };
        host = spawn(host_argv, true, ready[1]);
    }
    close(ready[1]);
    if (host < 0) {
        fprintf(stderr, "mainjob: fork: %s\n", strerror(errno));
        rmdir(dir);
        return 1;
    }
    {
        char line[16] = "";
        ssize_t got = 0;
        struct pollfd p[2] = { { ready[0], POLLIN, 0 }, { sfd, POLLIN, 0 } };
        while (got == 0 && now_ms() - t0 < START_TIMEOUT_MS) {
            struct signalfd_siginfo si;
            if (poll(p, 2, 1000) <= 0)
                continue;
            if (p[1].revents && read(sfd, &si, sizeof(si)) == sizeof(si) &&
                (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM)) {
                interrupted = true;
                break;
            }
            if (p[0].revents) {
                got = read(ready[0], line, sizeof(line) - 1);
                if (got <= 0)
                    break; /* closed without "ready": pnphost failed */
            }
        }
        close(ready[0]);
        if (got <= 0 || strncmp(line, "ready", 5) != 0) {
            if (!interrupted)
                fprintf(stderr, "mainjob: pnphost did not become ready\n");
            kill(host, SIGTERM);
            if (wait_child(sfd, host, STOP_TIMEOUT_MS, &status, &interrupted))
                fprintf(stderr, "mainjob: pnphost: %s\n", describe(status, desc, sizeof(desc)));
            else
                kill(host, SIGKILL), waitpid(host, NULL, 0);
            unlink(socket_path);
            rmdir(dir);
            return interrupted ? 130 : 1;
        }
    }
    printf("== pnphost -c %s -s %s: ready after %ld ms\n", config, socket_path, now_ms() - t0);

    /* 2. The application, until it ends (or Ctrl-C, which it also receives from the terminal). */
    setenv("PNPKIT_HOST_SOCKET", socket_path, 1);
    {
        char *app_argv[] = { monitor, seconds_arg, NULL };
        printf("== sensor_monitor %s\n", seconds_arg);
        app = spawn(app_argv, false, -1);
    }
    if (app > 0) {
        bool forwarded = false;
        while (!wait_child(sfd, app, 1000, &app_status, &interrupted)) {
            /* A SIGINT sent to the launcher alone (not from the terminal) is passed on once. */
            if (interrupted && !forwarded) {
                kill(app, SIGINT);
                forwarded = true;
            }
        }
        if (!WIFEXITED(app_status) || (WEXITSTATUS(app_status) != 0 && WEXITSTATUS(app_status) != 130))
            fprintf(stderr, "mainjob: sensor_monitor: %s\n", describe(app_status, desc, sizeof(desc)));
        if (WIFEXITED(app_status) && WEXITSTATUS(app_status) == 130)
            interrupted = true;
    } else {
        fprintf(stderr, "mainjob: fork: %s\n", strerror(errno));
    }

    /* 3. Stop pnphost in order and wait for it (unless it ended on its own: a failure). */
    t0 = now_ms();
    if (waitpid(host, &status, WNOHANG) == host) {
        fprintf(stderr, "mainjob: pnphost ended before it was asked to: %s\n", describe(status, desc, sizeof(desc)));
    } else {
        kill(host, SIGTERM);
        if (wait_child(sfd, host, STOP_TIMEOUT_MS, &status, &interrupted)) {
            host_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            printf("== pnphost stopped (SIGTERM): %s after %ld ms\n", describe(status, desc, sizeof(desc)),
                   now_ms() - t0);
        } else {
            fprintf(stderr, "mainjob: pnphost did not stop within %d s: killing it\n", STOP_TIMEOUT_MS / 1000);
            kill(host, SIGKILL);
            waitpid(host, NULL, 0);
        }
    }
    unlink(socket_path); /* pnphost removes it; this is for a pnphost that was killed */
    rmdir(dir);

    if (!host_ok || app < 0 || !WIFEXITED(app_status) || (WEXITSTATUS(app_status) != 0 && WEXITSTATUS(app_status) != 130))
        rc = 1;
    else
        rc = interrupted ? 130 : 0;
    printf("== main job: %s\n", rc == 0 ? "ok" : rc == 130 ? "interrupted" : "FAILED");
    printf("   (to run it by hand and look with pnpctl: README.md, \"The main job\")\n");
    return rc;
}
