/*
 * host_harness.c — pnphost and pk_hostapp as child processes for the host tests (see
 * host_harness.h).
 */
#include "harness/host_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Children still running when the test process ends (a failed assertion jumps out of the
 * test): killed at exit, and each dies with its parent anyway (PR_SET_PDEATHSIG), so that a
 * failing test never leaves a host or an application behind holding CTest's output pipe. */
static pid_t children[64];

static void forget_child(pid_t pid)
{
    for (size_t i = 0; i < ARRAYSIZE(children); i++)
        if (children[i] == pid)
            children[i] = 0;
}

static void kill_children(void)
{
    for (size_t i = 0; i < ARRAYSIZE(children); i++)
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
}

static void remember_child(pid_t pid)
{
    static bool registered;
    if (!registered) {
        atexit(kill_children);
        registered = true;
    }
    for (size_t i = 0; i < ARRAYSIZE(children); i++)
        if (!children[i]) {
            children[i] = pid;
            return;
        }
}

/* In a new child: die with the parent. */
static void child_dies_with_parent(pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(125);
}

static int decode_status(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

/* Waits for pid at most timeout_ms; SIGKILLs it when it does not exit. Returns the status. */
static int wait_child(pid_t pid, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            forget_child(pid);
            return decode_status(status);
        }
        if (r < 0)
            return -1;
        if (now_ms() >= deadline) {
            fprintf(stderr, "harness: process %d did not exit within %d ms: killed\n", (int)pid, timeout_ms);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            forget_child(pid);
            return 999;
        }
        usleep(2000);
    }
}

/* ---- pnphost ---- */

void pkh_host_prepare(pkh_host *h, int devices, const char *extra)
{
    FILE *f;

    memset(h, 0, sizeof(*h));
    snprintf(h->dir, sizeof(h->dir), "/tmp/pkhost-test-XXXXXX");
    assert_non_null(mkdtemp(h->dir));
    chmod(h->dir, 0755); /* other users' applications (permission tests) may reach the socket */
    snprintf(h->socket, sizeof(h->socket), "%s/pnphost.sock", h->dir);
    snprintf(h->config, sizeof(h->config), "%s/pnphost.conf", h->dir);
    f = fopen(h->config, "w");
    assert_non_null(f);
    fprintf(f, "# written by the host tests\n");
    fprintf(f, "socket = \"%s\";\n", h->socket);
    fprintf(f, "notification_timeout_ms = 10000;\n");
    fprintf(f, "drivers = ( { path = \"%s\"; hardware_ids = [ \"PKHOST\\\\TESTDEV\" ]; name = \"pkhost\"; } );\n",
            PKH_DRVPKG);
    fprintf(f, "devices = (\n");
    for (int i = 1; i <= devices; i++)
        fprintf(f, "  { enumerator = \"PKHOST\"; instance = \"dev%d\"; hardware_ids = [ \"PKHOST\\\\TESTDEV\" ]; }%s\n", i,
                i < devices ? "," : "");
    fprintf(f, ");\n");
    if (extra)
        fprintf(f, "%s\n", extra);
    fclose(f);
}

void pkh_host_start(pkh_host *h)
{
    int ready[2];
    char fdtext[16], buf[16];
    struct pollfd p;

    pid_t parent = getpid();
    assert_int_equal(pipe(ready), 0);
    h->pid = fork();
    assert_true(h->pid >= 0);
    if (h->pid == 0) {
        child_dies_with_parent(parent);
        close(ready[0]);
        snprintf(fdtext, sizeof(fdtext), "%d", ready[1]);
        execl(PKH_PNPHOST, "pnphost", "-c", h->config, "--ready-fd", fdtext, (char *)NULL);
        _exit(127);
    }
    remember_child(h->pid);
    close(ready[1]);
    p.fd = ready[0];
    p.events = POLLIN;
    if (poll(&p, 1, PKH_WAIT_MS) != 1 || read(ready[0], buf, sizeof(buf)) <= 0) {
        close(ready[0]);
        kill(h->pid, SIGKILL);
        fail_msg("pnphost did not become ready (exit status %d)", wait_child(h->pid, 1000));
    }
    close(ready[0]);
}

void pkh_host_up(pkh_host *h, int devices, const char *extra)
{
    pkh_host_prepare(h, devices, extra);
    pkh_host_start(h);
}

int pkh_host_stop(pkh_host *h)
{
    int status;
    if (h->pid <= 0)
        return -1;
    kill(h->pid, SIGTERM);
    status = wait_child(h->pid, PKH_WAIT_MS);
    h->pid = 0;
    return status;
}

void pkh_host_kill(pkh_host *h)
{
    if (h->pid <= 0)
        return;
    kill(h->pid, SIGKILL);
    wait_child(h->pid, PKH_WAIT_MS);
    h->pid = 0;
}

void pkh_host_cleanup(pkh_host *h)
{
    if (h->pid > 0)
        pkh_host_kill(h);
    if (h->config[0])
        unlink(h->config);
    if (h->socket[0])
        unlink(h->socket);
    if (h->dir[0])
        rmdir(h->dir);
}

int pkh_run_pnphost(const char *const *args, char *err, size_t err_size)
{
    int pipefd[2];
    size_t n = 0;
    pid_t pid;
    const char *argv[16];
    int argc = 0;

    argv[argc++] = "pnphost";
    for (int i = 0; args[i] && argc < 15; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    pid_t parent = getpid();
    assert_int_equal(pipe(pipefd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        child_dies_with_parent(parent);
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        close(pipefd[1]);
        execv(PKH_PNPHOST, (char *const *)argv);
        _exit(127);
    }
    remember_child(pid);
    close(pipefd[1]);
    for (;;) {
        ssize_t r = read(pipefd[0], err + n, err_size - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n >= err_size - 1)
            break;
    }
    err[n] = 0;
    close(pipefd[0]);
    return wait_child(pid, PKH_WAIT_MS);
}

/* ---- Applications ---- */

void pkh_app_start_as(pkh_app *a, const pkh_host *h, uid_t uid, gid_t gid)
{
    int to[2], from[2];

    pid_t parent = getpid();
    memset(a, 0, sizeof(*a));
    assert_int_equal(pipe(to), 0);
    assert_int_equal(pipe(from), 0);
    a->pid = fork();
    assert_true(a->pid >= 0);
    if (a->pid == 0) {
        child_dies_with_parent(parent);
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[0]);
        close(to[1]);
        close(from[0]);
        close(from[1]);
        setenv("PNPKIT_HOST_SOCKET", h->socket, 1);
        if (gid != (gid_t)-1 && (setgroups(0, NULL) != 0 || setgid(gid) != 0))
            _exit(126);
        if (uid != (uid_t)-1 && setuid(uid) != 0)
            _exit(126);
        child_dies_with_parent(parent); /* a change of credentials cleared it */
        execl(PKH_APP, "pk_hostapp", (char *)NULL);
        _exit(127);
    }
    remember_child(a->pid);
    close(to[0]);
    close(from[1]);
    a->in = to[1];
    a->out = from[0];
    fcntl(a->out, F_SETFL, fcntl(a->out, F_GETFL) | O_NONBLOCK);
}

void pkh_app_start(pkh_app *a, const pkh_host *h) { pkh_app_start_as(a, h, (uid_t)-1, (gid_t)-1); }

/* Reads what is there (waiting at most timeout_ms for something) and splits it into lines.
 * Returns false on timeout or end of stream with nothing new. */
static bool pump(pkh_app *a, int timeout_ms)
{
    struct pollfd p = { .fd = a->out, .events = POLLIN };
    bool got = false;

    if (poll(&p, 1, timeout_ms) <= 0)
        return false;
    for (;;) {
        ssize_t r = read(a->out, a->pending + a->npending, sizeof(a->pending) - 1 - a->npending);
        if (r <= 0)
            break;
        a->npending += (size_t)r;
        got = true;
        char *nl;
        while ((nl = memchr(a->pending, '\n', a->npending))) {
            size_t len = (size_t)(nl - a->pending);
            if (a->nlines < (int)ARRAYSIZE(a->lines)) {
                a->lines[a->nlines] = strndup(a->pending, len);
                a->nlines++;
            }
            memmove(a->pending, nl + 1, a->npending - len - 1);
            a->npending -= len + 1;
        }
        if (a->npending == sizeof(a->pending) - 1)
            a->npending = 0; /* a line longer than the buffer: drop it */
    }
    return got;
}

/* Takes the first line starting with prefix; returns it (owned by the caller) or NULL. */
static char *take(pkh_app *a, const char *prefix)
{
    size_t n = strlen(prefix);
    for (int i = 0; i < a->nlines; i++)
        if (!strncmp(a->lines[i], prefix, n)) {
            char *l = a->lines[i];
            memmove(&a->lines[i], &a->lines[i + 1], (size_t)(a->nlines - i - 1) * sizeof(char *));
            a->nlines--;
            return l;
        }
    return NULL;
}

const char *pkh_expect_line(pkh_app *a, const char *prefix, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    char *l;

    for (;;) {
        l = take(a, prefix);
        if (l) {
            snprintf(a->result, sizeof(a->result), "%s", l);
            free(l);
            return a->result;
        }
        uint64_t now = now_ms();
        if (now >= deadline)
            return NULL;
        pump(a, (int)(deadline - now));
    }
}

bool pkh_saw_line(pkh_app *a, const char *prefix)
{
    char *l;
    pump(a, 0);
    l = take(a, prefix);
    free(l);
    return l != NULL;
}

static const char *vcmd(pkh_app *a, const char *fmt, va_list ap)
{
    char line[140000], prefix[32];
    int n;
    const char *r;

    a->tag++;
    n = snprintf(line, sizeof(line), "c%d ", a->tag);
    n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    line[n++] = '\n';
    for (int off = 0; off < n;) {
        ssize_t w = write(a->in, line + off, (size_t)(n - off));
        if (w <= 0)
            fail_msg("pk_hostapp is gone (writing: %s)", strerror(errno));
        off += (int)w;
    }
    snprintf(prefix, sizeof(prefix), "c%d ", a->tag);
    r = pkh_expect_line(a, prefix, PKH_WAIT_MS);
    if (!r) {
        line[n - 1] = 0;
        fail_msg("pk_hostapp did not answer \"%s\" within %d ms", line, PKH_WAIT_MS);
    }
    memmove(a->result, a->result + strlen(prefix), strlen(a->result) - strlen(prefix) + 1);
    return a->result;
}

const char *pkh_cmd(pkh_app *a, const char *fmt, ...)
{
    va_list ap;
    const char *r;
    va_start(ap, fmt);
    r = vcmd(a, fmt, ap);
    va_end(ap);
    return r;
}

const char *pkh_cmd_expect(pkh_app *a, const char *expected, const char *fmt, ...)
{
    va_list ap;
    const char *r;
    va_start(ap, fmt);
    r = vcmd(a, fmt, ap);
    va_end(ap);
    if (strncmp(r, expected, strlen(expected)) != 0)
        fail_msg("expected \"%s...\", got \"%s\"", expected, r);
    return r;
}

static void app_free(pkh_app *a)
{
    for (int i = 0; i < a->nlines; i++)
        free(a->lines[i]);
    a->nlines = 0;
    if (a->in >= 0)
        close(a->in);
    if (a->out >= 0)
        close(a->out);
    a->in = a->out = -1;
}

int pkh_app_exit(pkh_app *a)
{
    int status;
    if (a->pid <= 0)
        return -1;
    (void)!write(a->in, "cx exit\n", 8);
    close(a->in);
    a->in = -1;
    status = wait_child(a->pid, PKH_WAIT_MS);
    a->pid = 0;
    app_free(a);
    return status;
}

void pkh_app_kill(pkh_app *a)
{
    if (a->pid <= 0)
        return;
    kill(a->pid, SIGKILL);
    wait_child(a->pid, PKH_WAIT_MS);
    a->pid = 0;
    app_free(a);
}

/* ---- Raw protocol ---- */

int pkh_raw_socket(const pkh_host *h)
{
    struct sockaddr_un addr;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    if (strlen(h->socket) >= sizeof(addr.sun_path)) {
        close(fd);
        return -1;
    }
    memcpy(addr.sun_path, h->socket, strlen(h->socket) + 1);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads one message (whole) into buf; returns its size or 0. */
static size_t raw_read(int fd, uint8_t *buf, size_t cap, int timeout_ms)
{
    size_t have = 0;
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        pnph_header hd;
        int r = pnph_header_check(buf, have, &hd);
        if (r == PNPH_OK && have >= PNPH_HEADER_SIZE + hd.length)
            return PNPH_HEADER_SIZE + hd.length;
        if (r != PNPH_OK && r != PNPH_NEED_MORE)
            return 0;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        uint64_t now = now_ms();
        if (now >= deadline || poll(&p, 1, (int)(deadline - now)) != 1)
            return 0;
        ssize_t n = read(fd, buf + have, cap - have);
        if (n <= 0)
            return 0;
        have += (size_t)n;
    }
}

int pkh_raw_connect(const pkh_host *h)
{
    uint8_t buf[256];
    pnph_builder b;
    pnph_msg m;
    size_t n;
    int fd = pkh_raw_socket(h);

    if (fd < 0)
        return -1;
    pnph_begin(&b, buf, sizeof(buf), PNPH_HELLO, 1);
    pnph_put_u32(&b, 0);
    pnph_put_u32(&b, 0);
    pnph_put_u64(&b, 0);
    pnph_put_u64(&b, 0);
    n = pnph_finish(&b);
    if (write(fd, buf, n) != (ssize_t)n || !(n = raw_read(fd, buf, sizeof(buf), PKH_WAIT_MS)) ||
        pnph_decode(buf, n, &m) != PNPH_OK || m.hdr.type != (PNPH_HELLO | PNPH_REPLY) ||
        m.u.hello_reply.status != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

void pkh_stats(const pkh_host *h, uint32_t values[PNPH_STAT_COUNT])
{
    uint8_t buf[512];
    pnph_builder b;
    pnph_msg m;
    size_t n;
    int fd = pkh_raw_connect(h);

    assert_true(fd >= 0);
    pnph_begin(&b, buf, sizeof(buf), PNPH_STATS, 2);
    n = pnph_finish(&b);
    assert_int_equal(write(fd, buf, n), (ssize_t)n);
    n = raw_read(fd, buf, sizeof(buf), PKH_WAIT_MS);
    assert_true(n > 0);
    assert_int_equal(pnph_decode(buf, n, &m), PNPH_OK);
    assert_int_equal(m.hdr.type, PNPH_STATS | PNPH_REPLY);
    memcpy(values, m.u.stats_reply.values, sizeof(uint32_t) * PNPH_STAT_COUNT);
    close(fd);
}

uint32_t pkh_handles_of(const pkh_host *h, pid_t pid)
{
    static uint8_t buf[PNPH_MAX_MESSAGE];
    pnph_builder b;
    pnph_msg m;
    pnph_handle_info info;
    const uint8_t *p;
    size_t n, left;
    uint32_t count = 0;
    int fd = pkh_raw_connect(h);

    assert_true(fd >= 0);
    pnph_begin(&b, buf, sizeof(buf), PNPH_HANDLES, 3);
    n = pnph_finish(&b);
    assert_int_equal(write(fd, buf, n), (ssize_t)n);
    n = raw_read(fd, buf, sizeof(buf), PKH_WAIT_MS);
    assert_true(n > 0);
    assert_int_equal(pnph_decode(buf, n, &m), PNPH_OK);
    assert_int_equal(m.hdr.type, PNPH_HANDLES | PNPH_REPLY);
    p = m.u.handles_reply.records;
    left = m.u.handles_reply.records_len;
    while (pnph_next_handle(&p, &left, &info))
        if ((pid_t)info.pid == pid)
            count++;
    close(fd);
    return count;
}

bool pkh_raw_closed(int fd, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    uint8_t buf[4096];
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        uint64_t now = now_ms();
        if (now >= deadline || poll(&p, 1, (int)(deadline - now)) != 1)
            return false;
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return true;
        if (n < 0)
            return false;
        /* a reply (for example HELLO's) before the close: keep reading */
    }
}

void pkh_wait_counter(pkh_app *a, const char *handle, const char *field_value)
{
    uint64_t deadline = now_ms() + PKH_WAIT_MS;
    const char *r = "";
    while (now_ms() < deadline) {
        r = pkh_cmd(a, "counters %s", handle);
        /* match whole fields: " cleanups=1" and not " cleanups=10" */
        char pat[64];
        snprintf(pat, sizeof(pat), " %s ", field_value);
        char line[512];
        snprintf(line, sizeof(line), "%s ", r);
        if (strstr(line, pat))
            return;
        usleep(5000);
    }
    fail_msg("driver counters never showed %s (last: %s)", field_value, r);
}

void pkh_wait_stat(const pkh_host *h, int index, uint32_t value)
{
    uint64_t deadline = now_ms() + PKH_WAIT_MS;
    uint32_t v[PNPH_STAT_COUNT];
    do {
        pkh_stats(h, v);
        /* the statistics connection is a session itself while it is open */
        if (v[index] == value)
            return;
        usleep(5000);
    } while (now_ms() < deadline);
    fail_msg("host statistic %d is %u, expected %u", index, v[index], value);
}
