/*
 * host_harness.h — what the host tests share: a real pnphost started as a child process on a
 * temporary socket with a temporary configuration, real application processes (pk_hostapp)
 * driven line by line through pipes, and a raw protocol client for what applications cannot
 * do (statistics, malformed messages).
 *
 * Every wait is bounded (generous, for sanitizer builds) and fails the test instead of hanging.
 */
#ifndef PKHOST_HARNESS_H
#define PKHOST_HARNESS_H

#include "pk_test.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "host/proto/pnph_proto.h"
#include "pkhost_ioctl.h"

#define PKH_WAIT_MS 20000

typedef struct pkh_host {
    pid_t pid;
    char dir[128];       /* the temporary folder: socket, configuration */
    char socket[160];
    char config[160];
} pkh_host;

/* Writes a configuration with `devices` devices SWD\PKHOST\dev1.. of the test driver package,
 * plus `extra` (more settings, may be NULL), into a new temporary folder. */
void pkh_host_prepare(pkh_host *h, int devices, const char *extra);
/* Starts pnphost on the prepared configuration and waits until it is ready. */
void pkh_host_start(pkh_host *h);
/* pkh_host_prepare + pkh_host_start. */
void pkh_host_up(pkh_host *h, int devices, const char *extra);
/* SIGTERM, then waits; returns the exit status (wait status decoded: 0..255, or 128+signal). */
int pkh_host_stop(pkh_host *h);
/* SIGKILL and reap. */
void pkh_host_kill(pkh_host *h);
/* Removes the temporary folder. */
void pkh_host_cleanup(pkh_host *h);
/* Runs pnphost with args (NULL-terminated) to completion; returns the exit status and its
 * stderr in err. */
int pkh_run_pnphost(const char *const *args, char *err, size_t err_size);

typedef struct pkh_app {
    pid_t pid;
    int in, out;
    int tag;
    char pending[280000]; /* bytes read and not yet split into lines */
    size_t npending;
    char *lines[512];    /* lines received and not yet consumed */
    int nlines;
    char result[280000];
} pkh_app;

/* Starts pk_hostapp on host h (PNPKIT_HOST_SOCKET). With uid/gid not (uid_t)-1 the child
 * switches to them first (the test must run as root). */
void pkh_app_start(pkh_app *a, const pkh_host *h);
void pkh_app_start_as(pkh_app *a, const pkh_host *h, uid_t uid, gid_t gid);
/* Sends one command and returns its result (the line after "<tag> "); fails the test when no
 * answer comes in PKH_WAIT_MS. The string lives until the next call on a. */
const char *pkh_cmd(pkh_app *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same, and fails unless the result starts with `expected`. */
const char *pkh_cmd_expect(pkh_app *a, const char *expected, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Waits for an event line starting with `prefix` (for example "ev r1 removal"), consuming it;
 * NULL when none came within timeout_ms. */
const char *pkh_expect_line(pkh_app *a, const char *prefix, int timeout_ms);
/* Whether a line starting with prefix arrived already (consumed if so); reads what is ready. */
bool pkh_saw_line(pkh_app *a, const char *prefix);
/* Sends "exit", waits for the process; returns its decoded exit status. */
int pkh_app_exit(pkh_app *a);
/* SIGKILL and reap. */
void pkh_app_kill(pkh_app *a);

/* The raw protocol: a connection with a HELLO done (returns the fd, or -1). */
int pkh_raw_connect(const pkh_host *h);
/* A connection without HELLO. */
int pkh_raw_socket(const pkh_host *h);
/* PNPH_STATS on a fresh connection. */
void pkh_stats(const pkh_host *h, uint32_t values[PNPH_STAT_COUNT]);
/* PNPH_HANDLES on a fresh connection: how many open handles process pid has in the host. */
uint32_t pkh_handles_of(const pkh_host *h, pid_t pid);
/* True when the host closed fd (reads end of stream within timeout_ms). */
bool pkh_raw_closed(int fd, int timeout_ms);

/* Polls the driver counters through app a's handle until `field=value` appears in the
 * `counters` output (for example "cleanups=1"); fails the test after PKH_WAIT_MS. */
void pkh_wait_counter(pkh_app *a, const char *handle, const char *field_value);
/* Polls the host's statistics until values[index] == value; fails after PKH_WAIT_MS. */
void pkh_wait_stat(const pkh_host *h, int index, uint32_t value);

#endif /* PKHOST_HARNESS_H */
