/*
 * test_pnpctl.c — pnpctl, the command-line tool, run as a child process against a real pnphost
 * (the test driver package, devices SWD\PKHOST\dev1..): its output and exit codes for tree,
 * interfaces, ioctl, eject (with and without an application's veto), disable/enable, watch,
 * --json, usage errors, surprise-remove and event (protocol revision 2: what an application
 * registered on the device receives, and who may), and a host that is not running.
 */
#include "harness/host_harness.h"

#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEV1 "SWD\\PKHOST\\dev1"
#define ECHO_LINK1 "\\\\?\\SWD#PKHOST#dev1#" PKHOST_ECHO_GUID_TEXT "\\ref"

/* One finished run of pnpctl. */
typedef struct run {
    int status;
    char out[65536];
    char err[8192];
} run;

/* A running pnpctl whose stdout and stderr are read as it goes. */
typedef struct child {
    pid_t pid;
    int out, err;
    size_t nout, nerr;
    char bout[65536], berr[8192];
} child;

/* With uid not (uid_t)-1 the child switches to uid/gid before it runs pnpctl (root only). */
static void child_start_as(child *c, const char *socket, const char *const *args, uid_t uid, gid_t gid)
{
    int po[2], pe[2];
    const char *argv[16] = { "pnpctl" };
    int n = 1;

    memset(c, 0, sizeof(*c));
    for (; args[n - 1] && n < 15; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    assert_int_equal(pipe(po), 0);
    assert_int_equal(pipe(pe), 0);
    c->pid = fork();
    assert_true(c->pid >= 0);
    if (c->pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        close(po[1]);
        close(pe[1]);
        if (socket)
            setenv("PNPKIT_HOST_SOCKET", socket, 1);
        if (uid != (uid_t)-1 && (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0))
            _exit(126);
        execv(PKH_PNPCTL, (char *const *)argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    c->out = po[0];
    c->err = pe[0];
}

static void child_start(child *c, const char *socket, const char *const *args)
{
    child_start_as(c, socket, args, (uid_t)-1, (gid_t)-1);
}

/* Reads what is ready (waiting up to timeout_ms); false once both pipes ended. */
static bool child_pump(child *c, int timeout_ms)
{
    struct pollfd p[2] = { { .fd = c->out, .events = POLLIN }, { .fd = c->err, .events = POLLIN } };
    if (c->out < 0 && c->err < 0)
        return false;
    if (poll(p, 2, timeout_ms) <= 0)
        return true;
    for (int i = 0; i < 2; i++) {
        int *fd = i ? &c->err : &c->out;
        char *b = i ? c->berr : c->bout;
        size_t *n = i ? &c->nerr : &c->nout, cap = i ? sizeof(c->berr) : sizeof(c->bout);
        if (*fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        ssize_t r = read(*fd, b + *n, cap - 1 - *n);
        if (r <= 0) {
            close(*fd);
            *fd = -1;
        } else {
            *n += (size_t)r;
            b[*n] = 0;
        }
    }
    return true;
}

/* Waits until stdout or stderr holds text (fails the test after PKH_WAIT_MS). */
static void child_wait_text(child *c, const char *text)
{
    for (int waited = 0; !strstr(c->bout, text) && !strstr(c->berr, text); waited += 50) {
        if (waited > PKH_WAIT_MS)
            fail_msg("pnpctl did not print '%s' (stdout '%s', stderr '%s')", text, c->bout, c->berr);
        if (!child_pump(c, 50) && !strstr(c->bout, text) && !strstr(c->berr, text))
            fail_msg("pnpctl ended without printing '%s' (stdout '%s', stderr '%s')", text, c->bout, c->berr);
    }
}

/* Reads to the end and reaps; returns the decoded exit status. */
static int child_finish(child *c, run *r)
{
    int status, waited = 0;
    while (child_pump(c, 100)) {
        waited += 100;
        if (waited > 3 * PKH_WAIT_MS) {
            kill(c->pid, SIGKILL);
            break;
        }
    }
    assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
    r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    memcpy(r->out, c->bout, c->nout + 1);
    memcpy(r->err, c->berr, c->nerr + 1);
    /* A sanitizer build of pnpctl reports on stderr; a report fails the test whatever the exit code. */
    if (strstr(r->err, "Sanitizer") || strstr(r->err, "runtime error:"))
        fail_msg("pnpctl: sanitizer report:\n%s", r->err);
    return r->status;
}

/* Runs pnpctl with the NULL-terminated arguments against the host at socket (NULL: leaves
 * PNPKIT_HOST_SOCKET as it is) and returns its exit status. */
static int pnpctl_at(run *r, const char *socket, ...)
{
    const char *args[16];
    int n = 0;
    va_list ap;
    static child c;

    va_start(ap, socket);
    while (n < 15 && (args[n] = va_arg(ap, const char *)) != NULL)
        n++;
    va_end(ap);
    args[n] = NULL;
    child_start(&c, socket, args);
    return child_finish(&c, r);
}

#define pnpctl(r, h, ...) pnpctl_at((r), (h)->socket, __VA_ARGS__, (const char *)NULL)

typedef struct fixture {
    pkh_host host;
    run r;
} fixture;

static fixture *up(int devices)
{
    static fixture f;
    memset(&f, 0, sizeof(f));
    pkh_host_up(&f.host, devices, NULL);
    return &f;
}

static void down(fixture *f)
{
    assert_int_equal(pkh_host_stop(&f->host), 0);
    pkh_host_cleanup(&f->host);
}

/* A JSON document's outline: starts with { or [, ends with } or ] (and a newline), and its
 * brackets and braces balance outside strings. */
static void assert_json_outline(const char *s)
{
    int depth = 0;
    bool in_string = false;
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '\n')
        n--;
    assert_true(n > 1);
    assert_true(s[0] == '{' || s[0] == '[');
    assert_true(s[n - 1] == '}' || s[n - 1] == ']');
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
            else
                assert_true((unsigned char)c >= 0x20);
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
            assert_true(depth >= 0);
            if (depth == 0)
                assert_int_equal(i, n - 1);
        }
    }
    assert_false(in_string);
    assert_int_equal(depth, 0);
}

static void tree_shows_the_root_and_the_configured_devices_started(void **state)
{
    fixture *f = up(2);
    assert_int_equal(pnpctl(&f->r, &f->host, "tree"), 0);
    assert_non_null(strstr(f->r.out, "HTREE\\ROOT\\0"));
    assert_non_null(strstr(f->r.out, "\n  " DEV1 " [DRIVER_LOADED STARTED"));
    assert_non_null(strstr(f->r.out, "\n  SWD\\PKHOST\\dev2 ["));
    assert_null(strstr(f->r.out, "problem"));
    down(f);
}

static void interfaces_lists_the_links_of_a_class(void **state)
{
    fixture *f = up(2);
    assert_int_equal(pnpctl(&f->r, &f->host, "interfaces", PKHOST_ECHO_GUID_TEXT), 0);
    assert_non_null(strstr(f->r.out, ECHO_LINK1 "\n"));
    assert_non_null(strstr(f->r.out, "\\\\?\\SWD#PKHOST#dev2#" PKHOST_ECHO_GUID_TEXT "\\ref\n"));
    assert_int_equal(pnpctl(&f->r, &f->host, "interfaces", PKHOST_TOGGLE_GUID_TEXT), 0);
    assert_string_equal(f->r.out, ""); /* disabled interfaces are not present */
    down(f);
}

static void interfaces_without_a_guid_lists_every_class_and_a_guid_filters(void **state)
{
    fixture *f = up(2);
    assert_int_equal(pnpctl(&f->r, &f->host, "interfaces"), 0);
    assert_non_null(strstr(f->r.out, ECHO_LINK1 "\n"));
    assert_non_null(strstr(f->r.out, "\\\\?\\SWD#PKHOST#dev1#" PKHOST_SECURE_GUID_TEXT "\n"));
    assert_non_null(strstr(f->r.out, "\\\\?\\SWD#PKHOST#dev2#" PKHOST_SECURE_GUID_TEXT "\n"));
    assert_null(strstr(f->r.out, PKHOST_TOGGLE_GUID_TEXT)); /* disabled: not present */
    /* The SECURE class only: exactly its two links, no ECHO link. */
    assert_int_equal(pnpctl(&f->r, &f->host, "interfaces", PKHOST_SECURE_GUID_TEXT), 0);
    assert_null(strstr(f->r.out, PKHOST_ECHO_GUID_TEXT));
    assert_non_null(strstr(f->r.out, "\\\\?\\SWD#PKHOST#dev1#" PKHOST_SECURE_GUID_TEXT "\n"));
    assert_non_null(strstr(f->r.out, "\\\\?\\SWD#PKHOST#dev2#" PKHOST_SECURE_GUID_TEXT "\n"));
    int lines = 0;
    for (const char *p = f->r.out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 2);
    /* Braces are optional; JSON says which class (null: every class). */
    assert_int_equal(pnpctl(&f->r, &f->host, "--json", "interfaces", "6d1f3a21-4b7c-4e55-8a10-314253647586"), 0);
    assert_json_outline(f->r.out);
    assert_non_null(strstr(f->r.out, "{\"class\":\"" PKHOST_SECURE_GUID_TEXT "\",\"links\":[\""));
    assert_int_equal(pnpctl(&f->r, &f->host, "--json", "interfaces"), 0);
    assert_json_outline(f->r.out);
    assert_non_null(strstr(f->r.out, "{\"class\":null,\"links\":[\""));
    /* After an eject the device's links are gone from both. */
    assert_int_equal(pnpctl(&f->r, &f->host, "eject", DEV1), 0);
    assert_int_equal(pnpctl(&f->r, &f->host, "interfaces"), 0);
    assert_null(strstr(f->r.out, "dev1"));
    assert_non_null(strstr(f->r.out, "dev2"));
    down(f);
}

static void ioctl_echo_prints_the_output_as_hex(void **state)
{
    fixture *f = up(1);
    assert_int_equal(pnpctl(&f->r, &f->host, "ioctl", ECHO_LINK1, "0x81232000", "a1b2c3"), 0);
    assert_string_equal(f->r.out, "a1b2c3\n");
    assert_int_equal(pnpctl(&f->r, &f->host, "ioctl", ECHO_LINK1, "0x81232000", "a1b2c3", "--out", "2"), 0);
    assert_string_equal(f->r.out, "a1b2\n");
    down(f);
}

static void ioctl_errors_print_the_win32_error_and_fail(void **state)
{
    fixture *f = up(1);
    /* An unknown code: ERROR_INVALID_FUNCTION. */
    assert_int_equal(pnpctl(&f->r, &f->host, "ioctl", ECHO_LINK1, "0x22ffff"), 1);
    assert_non_null(strstr(f->r.err, "error 1 (ERROR_INVALID_FUNCTION)"));
    /* No such link: ERROR_FILE_NOT_FOUND from CreateFileW. */
    assert_int_equal(pnpctl(&f->r, &f->host, "ioctl", "\\\\?\\SWD#PKHOST#nothere#" PKHOST_ECHO_GUID_TEXT, "0x81232000"),
                     1);
    assert_non_null(strstr(f->r.err, "error 2 (ERROR_FILE_NOT_FOUND)"));
    down(f);
}

static void eject_removes_the_device_and_its_interfaces(void **state)
{
    fixture *f = up(2);
    assert_int_equal(pnpctl(&f->r, &f->host, "eject", DEV1), 0);
    assert_string_equal(f->r.out, DEV1 ": removed\n");
    assert_int_equal(pnpctl(&f->r, &f->host, "interfaces", PKHOST_ECHO_GUID_TEXT), 0);
    assert_null(strstr(f->r.out, "dev1"));
    assert_non_null(strstr(f->r.out, "dev2"));
    assert_int_equal(pnpctl(&f->r, &f->host, "eject", DEV1), 1); /* gone: CR_NO_SUCH_DEVNODE */
    assert_non_null(strstr(f->r.err, "CR_NO_SUCH_DEVNODE"));
    down(f);
}

static void eject_vetoed_by_an_application_prints_the_veto_and_fails(void **state)
{
    fixture *f = up(1);
    pkh_app app;
    pkh_app_start(&app, &f->host);
    pkh_cmd(&app, "list ECHO");
    pkh_cmd_expect(&app, "ok", "open h1 @0");
    pkh_cmd_expect(&app, "ok", "reg handle r1 h1 veto");
    assert_int_equal(pnpctl(&f->r, &f->host, "eject", DEV1), 1);
    assert_non_null(strstr(f->r.err, "vetoed: PNP_VetoWindowsApp"));
    assert_int_equal(pnpctl(&f->r, &f->host, "--json", "eject", DEV1), 1);
    assert_json_outline(f->r.out);
    assert_non_null(strstr(f->r.out, "\"result\":\"vetoed\",\"veto_type\":3,\"veto_type_name\":\"PNP_VetoWindowsApp\""));
    assert_int_equal(pnpctl(&f->r, &f->host, "tree"), 0); /* still there and started */
    assert_non_null(strstr(f->r.out, DEV1 " [DRIVER_LOADED STARTED"));
    assert_int_equal(pkh_app_exit(&app), 0);
    down(f);
}

static void disable_then_enable_restarts_the_device(void **state)
{
    fixture *f = up(1);
    assert_int_equal(pnpctl(&f->r, &f->host, "disable", DEV1), 0);
    assert_string_equal(f->r.out, DEV1 ": disabled\n");
    assert_int_equal(pnpctl(&f->r, &f->host, "tree"), 0);
    assert_non_null(strstr(f->r.out, "problem 22 (DISABLED)"));
    assert_int_equal(pnpctl(&f->r, &f->host, "interfaces", PKHOST_ECHO_GUID_TEXT), 0);
    assert_string_equal(f->r.out, "");
    assert_int_equal(pnpctl(&f->r, &f->host, "enable", DEV1), 0);
    assert_string_equal(f->r.out, DEV1 ": enabled\n");
    assert_int_equal(pnpctl(&f->r, &f->host, "tree"), 0);
    assert_non_null(strstr(f->r.out, DEV1 " [DRIVER_LOADED STARTED"));
    assert_int_equal(pnpctl(&f->r, &f->host, "interfaces", PKHOST_ECHO_GUID_TEXT), 0);
    assert_string_equal(f->r.out, ECHO_LINK1 "\n");
    down(f);
}

static void watch_prints_removal_and_arrival_lines(void **state)
{
    fixture *f = up(1);
    static child c;
    const char *args[] = { "watch", PKHOST_ECHO_GUID_TEXT, "--count", "2", "--timeout", "60", NULL };
    child_start(&c, f->host.socket, args);
    child_wait_text(&c, "pnpctl: watching");
    assert_int_equal(pnpctl(&f->r, &f->host, "disable", DEV1), 0);
    assert_int_equal(pnpctl(&f->r, &f->host, "enable", DEV1), 0);
    assert_int_equal(child_finish(&c, &f->r), 0);
    assert_string_equal(f->r.out, "removal " PKHOST_ECHO_GUID_TEXT " " ECHO_LINK1 "\n"
                                  "arrival " PKHOST_ECHO_GUID_TEXT " " ECHO_LINK1 "\n");
    down(f);
}

static void watch_prints_a_custom_event_with_its_guid_length_and_data(void **state)
{
    fixture *f = up(1);
    static child c;
    const char *args[] = { "watch", PKHOST_ECHO_GUID_TEXT, "--count", "3", "--timeout", "60", NULL };
    child_start(&c, f->host.socket, args);
    child_wait_text(&c, "pnpctl: watching"); /* printed once it listens on the device too */
    assert_int_equal(pnpctl(&f->r, &f->host, "event", DEV1, PKHOST_CUSTOM_EVENT_TEXT, "0102a0ff"), 0);
    /* Longer than the preview: 40 bytes, 32 shown. */
    assert_int_equal(pnpctl(&f->r, &f->host, "event", DEV1, PKHOST_CUSTOM_EVENT_TEXT,
                            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627"),
                     0);
    assert_int_equal(pnpctl(&f->r, &f->host, "event", DEV1, PKHOST_CUSTOM_EVENT_TEXT, "--name", "label"), 0);
    assert_int_equal(child_finish(&c, &f->r), 0);
    assert_string_equal(f->r.out, "event " DEV1 " " PKHOST_CUSTOM_EVENT_TEXT " 4 0102a0ff\n"
                                  "event " DEV1 " " PKHOST_CUSTOM_EVENT_TEXT
                                  " 40 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f...\n"
                                  "event " DEV1 " " PKHOST_CUSTOM_EVENT_TEXT " 12 6c006100620065006c000000 name=label\n");
    down(f);
}

static void watch_hears_a_device_again_after_it_was_disabled_and_enabled(void **state)
{
    fixture *f = up(1);
    static child c;
    const char *args[] = { "watch", PKHOST_ECHO_GUID_TEXT, "--count", "3", "--timeout", "60", NULL };
    child_start(&c, f->host.socket, args);
    child_wait_text(&c, "pnpctl: watching");
    assert_int_equal(pnpctl(&f->r, &f->host, "disable", DEV1), 0); /* watch does not veto */
    assert_int_equal(pnpctl(&f->r, &f->host, "enable", DEV1), 0);
    child_wait_text(&c, "arrival ");
    /* watch reopens the device on its arrival; events reach it once it has. */
    for (int waited = 0; !strstr(c.bout, "event "); waited += 100) {
        assert_true(waited < PKH_WAIT_MS);
        assert_int_equal(pnpctl(&f->r, &f->host, "event", DEV1, PKHOST_CUSTOM_EVENT_TEXT, "beef"), 0);
        child_pump(&c, 100);
    }
    assert_int_equal(child_finish(&c, &f->r), 0);
    assert_non_null(strstr(f->r.out, "removal " PKHOST_ECHO_GUID_TEXT " " ECHO_LINK1 "\n"
                                     "arrival " PKHOST_ECHO_GUID_TEXT " " ECHO_LINK1 "\n"
                                     "event " DEV1 " " PKHOST_CUSTOM_EVENT_TEXT " 2 beef\n"));
    down(f);
}

static void watch_json_custom_event_and_a_device_it_watches_can_still_be_ejected(void **state)
{
    fixture *f = up(2);
    static child c;
    const char *args[] = { "--json", "watch", "--count", "3", "--timeout", "60", NULL };
    child_start(&c, f->host.socket, args);
    /* --json prints nothing on stderr: wait until watch holds both devices open. */
    for (int waited = 0; pkh_handles_of(&f->host, c.pid) < 2; waited += 50) {
        assert_true(waited < PKH_WAIT_MS);
        child_pump(&c, 50);
    }
    assert_int_equal(pnpctl(&f->r, &f->host, "event", "SWD\\PKHOST\\dev2", PKHOST_CUSTOM_EVENT_TEXT), 0);
    /* watch lets the device go: closes its handle on the query-remove, no veto. */
    assert_int_equal(pnpctl(&f->r, &f->host, "eject", DEV1), 0);
    assert_int_equal(child_finish(&c, &f->r), 0);
    assert_non_null(strstr(f->r.out, "{\"event\":\"custom\",\"device\":\"SWD\\\\PKHOST\\\\dev2\",\"guid\":\"" PKHOST_CUSTOM_EVENT_TEXT
                                     "\",\"bytes\":0,\"data\":\"\",\"truncated\":false}\n"));
    assert_non_null(strstr(f->r.out, "{\"event\":\"removal\",\"class\":\"" PKHOST_ECHO_GUID_TEXT "\""));
    down(f);
}

static void watch_prints_the_request_rate_of_an_open_handle(void **state)
{
    fixture *f = up(1);
    static child c;
    pkh_app app;
    char pid[32];
    const char *args[] = { "watch", "--no-events", "--interval", "0.2", "--timeout", "60", NULL };
    pkh_app_start(&app, &f->host);
    pkh_cmd(&app, "list ECHO");
    pkh_cmd_expect(&app, "ok", "open h1 @0");
    child_start(&c, f->host.socket, args);
    child_wait_text(&c, "pnpctl: watching"); /* the first sample is taken */
    pkh_cmd_expect(&app, "ok", "benchioctl h1 100 8"); /* 1,500 IOCTLs of 8 bytes each way */
    snprintf(pid, sizeof(pid), "rate pid %d handle 0x", (int)app.pid);
    child_wait_text(&c, pid);
    child_wait_text(&c, " B/s " ECHO_LINK1 "\n");
    kill(c.pid, SIGTERM);
    assert_int_equal(child_finish(&c, &f->r), 0); /* Ctrl-C or SIGTERM: exit 0 */
    assert_non_null(strstr(f->r.out, " req/s "));
    assert_int_equal(pkh_app_exit(&app), 0);
    down(f);
}

static void watch_ends_at_its_timeout(void **state)
{
    fixture *f = up(1);
    assert_int_equal(pnpctl(&f->r, &f->host, "watch", "--timeout", "0.3"), 0);
    assert_string_equal(f->r.out, "");
    assert_int_equal(pnpctl(&f->r, &f->host, "watch", "--count", "1", "--timeout", "0.3"), 1); /* too few events */
    down(f);
}

static void json_output_is_one_balanced_document(void **state)
{
    fixture *f = up(2);
    assert_int_equal(pnpctl(&f->r, &f->host, "--json", "tree"), 0);
    assert_json_outline(f->r.out);
    assert_non_null(strstr(f->r.out, "{\"id\":\"HTREE\\\\ROOT\\\\0\""));
    assert_non_null(strstr(f->r.out, "{\"id\":\"SWD\\\\PKHOST\\\\dev1\",\"status\":"));
    assert_int_equal(pnpctl(&f->r, &f->host, "interfaces", "--json", PKHOST_ECHO_GUID_TEXT), 0);
    assert_json_outline(f->r.out);
    assert_non_null(strstr(f->r.out, "\"links\":[\"\\\\\\\\?\\\\SWD#PKHOST#dev1#"));
    assert_int_equal(pnpctl(&f->r, &f->host, "--json", "ioctl", ECHO_LINK1, "0x81232000", "0102"), 0);
    assert_json_outline(f->r.out);
    assert_non_null(strstr(f->r.out, "\"bytes\":2,\"data\":\"0102\""));
    assert_int_equal(pnpctl(&f->r, &f->host, "--json", "disable", "SWD\\PKHOST\\dev2"), 0);
    assert_json_outline(f->r.out);
    down(f);
}

static void graph_is_a_dot_digraph_with_interfaces(void **state)
{
    fixture *f = up(1);
    assert_int_equal(pnpctl(&f->r, &f->host, "graph", "--class", PKHOST_ECHO_GUID_TEXT), 0);
    assert_memory_equal(f->r.out, "digraph pnp {", 13);
    assert_non_null(strstr(f->r.out, "\"HTREE\\\\ROOT\\\\0\" -> \"SWD\\\\PKHOST\\\\dev1\";"));
    assert_non_null(strstr(f->r.out, "\"SWD\\\\PKHOST\\\\dev1\" -> \"\\\\\\\\?\\\\SWD#PKHOST#dev1#"));
    assert_non_null(strstr(f->r.out, "}\n"));
    down(f);
}

/* ECHO_LINK1 as dot_string and json_string write it: each backslash doubled. */
#define ECHO_LINK1_ESCAPED "\\\\\\\\?\\\\SWD#PKHOST#dev1#" PKHOST_ECHO_GUID_TEXT "\\\\ref"

static void graph_shows_each_open_handle_between_its_process_and_its_interface(void **state)
{
    fixture *f = up(1);
    pkh_app app;
    char text[256];
    pkh_app_start(&app, &f->host);
    pkh_cmd(&app, "list ECHO");
    pkh_cmd_expect(&app, "ok", "open h1 @0");
    pkh_cmd_expect(&app, "ok 1 7f", "ioctl h1 ECHO 7f 1");
    assert_int_equal(pnpctl(&f->r, &f->host, "graph"), 0);
    /* Without --class: the interfaces of every class. */
    assert_non_null(strstr(f->r.out, "\"SWD\\\\PKHOST\\\\dev1\" -> \"" ECHO_LINK1_ESCAPED "\" [style=dotted];"));
    assert_non_null(strstr(f->r.out, "#" PKHOST_SECURE_GUID_TEXT "\" [shape=ellipse];"));
    /* The process, its handle (opened for reading and writing, one request done), the edge to
     * the interface it opened. */
    snprintf(text, sizeof(text), "\"pid %d\" [shape=component,label=\"pk_hostapp\\npid %d\"];", (int)app.pid,
             (int)app.pid);
    assert_non_null(strstr(f->r.out, text));
    snprintf(text, sizeof(text), "\"pid %d\" -> \"handle %d:0x", (int)app.pid, (int)app.pid);
    assert_non_null(strstr(f->r.out, text));
    snprintf(text, sizeof(text), "\" [shape=note,label=\"handle 0x");
    assert_non_null(strstr(f->r.out, text));
    assert_non_null(strstr(f->r.out, "\\nrw, 1 requests, 0 in flight\"];"));
    snprintf(text, sizeof(text), "\" -> \"" ECHO_LINK1_ESCAPED "\" [style=bold];");
    assert_non_null(strstr(f->r.out, text));
    assert_non_null(strstr(f->r.out, "}\n"));
    /* Closed: gone from the graph. */
    pkh_cmd_expect(&app, "ok", "close h1");
    assert_int_equal(pnpctl(&f->r, &f->host, "graph"), 0);
    assert_null(strstr(f->r.out, "shape=note"));
    assert_int_equal(pkh_app_exit(&app), 0);
    down(f);
}

static void graph_json_lists_devices_interfaces_and_handles(void **state)
{
    fixture *f = up(1);
    pkh_app app;
    char text[256];
    pkh_app_start(&app, &f->host);
    pkh_cmd(&app, "list ECHO");
    pkh_cmd_expect(&app, "ok", "open h1 @0 r");
    /* Only the SECURE class drawn: the handle's interface is drawn apart, dashed. */
    assert_int_equal(pnpctl(&f->r, &f->host, "graph", "--class", PKHOST_SECURE_GUID_TEXT), 0);
    assert_null(strstr(f->r.out, "\"" ECHO_LINK1_ESCAPED "\" [shape=ellipse];"));
    assert_non_null(strstr(f->r.out, "\"" ECHO_LINK1_ESCAPED "\" [shape=ellipse,style=dashed];"));
    assert_int_equal(pnpctl(&f->r, &f->host, "--json", "graph"), 0);
    assert_json_outline(f->r.out);
    assert_non_null(strstr(f->r.out, "{\"devices\":[{\"id\":\"HTREE\\\\ROOT\\\\0\",\"parent\":null,"));
    assert_non_null(strstr(f->r.out, "{\"id\":\"SWD\\\\PKHOST\\\\dev1\",\"parent\":\"HTREE\\\\ROOT\\\\0\","));
    assert_non_null(strstr(f->r.out, "\"" ECHO_LINK1_ESCAPED "\""));
    snprintf(text, sizeof(text), "\"handles\":[{\"pid\":%d,\"process\":\"pk_hostapp\",", (int)app.pid);
    assert_non_null(strstr(f->r.out, text));
    assert_non_null(strstr(f->r.out, "\"name\":\"" ECHO_LINK1_ESCAPED "\",\"access\":\"r-\",\"requests\":0,"));
    assert_int_equal(pkh_app_exit(&app), 0);
    down(f);
}

static void every_command_has_help_and_json_output(void **state)
{
    static const char *const commands[] = { "tree", "interfaces", "watch", "eject", "surprise-remove", "disable",
                                            "enable", "ioctl", "event", "graph" };
    fixture *f = up(3);
    for (size_t i = 0; i < ARRAYSIZE(commands); i++) {
        char usage[64];
        assert_int_equal(pnpctl(&f->r, &f->host, commands[i], "--help"), 0);
        snprintf(usage, sizeof(usage), "usage: pnpctl [--json] %s", commands[i]);
        if (!strstr(f->r.out, usage))
            fail_msg("pnpctl %s --help: '%s'", commands[i], f->r.out);
    }
    assert_int_equal(pnpctl(&f->r, &f->host, "--help"), 0);
    assert_non_null(strstr(f->r.out, "5 not permitted"));
    /* Each command's --json output is one balanced document (watch: one per line). */
    assert_int_equal(pnpctl(&f->r, &f->host, "--json", "tree"), 0);
    assert_json_outline(f->r.out);
    assert_int_equal(pnpctl(&f->r, &f->host, "--json", "interfaces"), 0);
    assert_json_outline(f->r.out);
    assert_int_equal(pnpctl(&f->r, &f->host, "--json", "graph"), 0);
    assert_json_outline(f->r.out);
    assert_int_equal(pnpctl(&f->r, &f->host, "--json", "ioctl", ECHO_LINK1, "0x81232000", "ab"), 0);
    assert_json_outline(f->r.out);
    assert_int_equal(pnpctl(&f->r, &f->host, "--json", "event", DEV1, PKHOST_CUSTOM_EVENT_TEXT, "ab"), 0);
    assert_json_outline(f->r.out);
    assert_int_equal(pnpctl(&f->r, &f->host, "--json", "disable", DEV1), 0);
    assert_json_outline(f->r.out);
    assert_int_equal(pnpctl(&f->r, &f->host, "--json", "enable", DEV1), 0);
    assert_json_outline(f->r.out);
    assert_int_equal(pnpctl(&f->r, &f->host, "--json", "eject", DEV1), 0);
    assert_json_outline(f->r.out);
    assert_int_equal(pnpctl(&f->r, &f->host, "--json", "surprise-remove", "SWD\\PKHOST\\dev2"), 0);
    assert_json_outline(f->r.out);
    assert_int_equal(pnpctl(&f->r, &f->host, "--json", "watch", "--timeout", "0.2"), 0);
    assert_string_equal(f->r.out, "");
    /* Failures too: one error object on stdout, the exit code of its kind. */
    assert_int_equal(pnpctl(&f->r, &f->host, "--json", "eject", DEV1), 1); /* gone */
    assert_json_outline(f->r.out);
    assert_non_null(strstr(f->r.out, "\"name\":\"CR_NO_SUCH_DEVNODE\""));
    assert_int_equal(pnpctl(&f->r, &f->host, "--json", "ioctl", ECHO_LINK1, "0x81232000"), 1);
    assert_json_outline(f->r.out);
    assert_non_null(strstr(f->r.out, "\"name\":\"ERROR_FILE_NOT_FOUND\""));
    down(f);
}

static void usage_errors_exit_2(void **state)
{
    fixture *f = up(1);
    assert_int_equal(pnpctl_at(&f->r, f->host.socket, (const char *)NULL), 2);
    assert_int_equal(pnpctl(&f->r, &f->host, "frobnicate"), 2);
    assert_non_null(strstr(f->r.err, "unknown command 'frobnicate'"));
    assert_int_equal(pnpctl(&f->r, &f->host, "tree", "--bogus"), 2);
    assert_int_equal(pnpctl(&f->r, &f->host, "eject"), 2);
    assert_int_equal(pnpctl(&f->r, &f->host, "interfaces", "not-a-guid"), 2);
    assert_int_equal(pnpctl(&f->r, &f->host, "ioctl", ECHO_LINK1, "zz"), 2);
    assert_int_equal(pnpctl(&f->r, &f->host, "ioctl", ECHO_LINK1, "0x81232000", "abc"), 2);
    assert_int_equal(pnpctl(&f->r, &f->host, "watch", "--count"), 2);
    assert_int_equal(pnpctl(&f->r, &f->host, "tree", "--count", "3"), 2);
    assert_int_equal(pnpctl(&f->r, &f->host, "tree", "--interval", "1"), 2);
    assert_int_equal(pnpctl(&f->r, &f->host, "tree", "--no-events"), 2);
    assert_int_equal(pnpctl(&f->r, &f->host, "tree", "--name", "x"), 2);
    assert_int_equal(pnpctl(&f->r, &f->host, "event", DEV1, PKHOST_CUSTOM_EVENT_TEXT, "--name"), 2);
    assert_int_equal(pnpctl(&f->r, &f->host, "watch", "--interval", "0"), 2);
    assert_int_equal(pnpctl(&f->r, &f->host, "--help"), 0);
    assert_non_null(strstr(f->r.out, "usage: pnpctl"));
    assert_int_equal(pnpctl(&f->r, &f->host, "interfaces", "--help"), 0);
    assert_non_null(strstr(f->r.out, "or of every class without GUID"));
    down(f);
}

static void event_reaches_an_application_registered_on_the_device_handle(void **state)
{
    fixture *f = up(1);
    pkh_app app;
    pkh_app_start(&app, &f->host);
    pkh_cmd(&app, "list ECHO");
    pkh_cmd_expect(&app, "ok", "open h1 @0");
    pkh_cmd_expect(&app, "ok", "reg handle r1 h1");
    assert_int_equal(pnpctl(&f->r, &f->host, "event", DEV1, PKHOST_CUSTOM_EVENT_TEXT, "0102a0ff"), 0);
    assert_string_equal(f->r.out, DEV1 ": event " PKHOST_CUSTOM_EVENT_TEXT " delivered (4 bytes)\n");
    /* pnpctl returned after the delivery: the line is there already. Name offset -1: no text. */
    assert_non_null(pkh_expect_line(&app, "ev r1 custom " PKHOST_CUSTOM_EVENT_TEXT " -1 0102a0ff", PKH_WAIT_MS));
    /* No data at all, and --json. */
    assert_int_equal(pnpctl(&f->r, &f->host, "--json", "event", DEV1, PKHOST_CUSTOM_EVENT_TEXT), 0);
    assert_json_outline(f->r.out);
    assert_non_null(strstr(f->r.out, "\"result\":\"delivered\",\"event\":\"" PKHOST_CUSTOM_EVENT_TEXT "\",\"bytes\":0"));
    assert_non_null(pkh_expect_line(&app, "ev r1 custom " PKHOST_CUSTOM_EVENT_TEXT " -1 ", PKH_WAIT_MS));
    /* With a name: UTF-16 after the data at an even offset (3 bytes of data: offset 4). */
    assert_int_equal(pnpctl(&f->r, &f->host, "event", DEV1, PKHOST_CUSTOM_EVENT_TEXT, "010203", "--name", "nm"), 0);
    assert_non_null(pkh_expect_line(&app, "ev r1 custom " PKHOST_CUSTOM_EVENT_TEXT " 4 01020300" "6e006d000000",
                                    PKH_WAIT_MS));
    assert_int_equal(pkh_app_exit(&app), 0);
    down(f);
}

static void event_on_a_device_nobody_has_open_reaches_only_that_device(void **state)
{
    fixture *f = up(2);
    pkh_app app;
    /* dev2 has no open handle (the host raises the event on its PDO without opening it). The
     * registrant on dev1 must not receive dev2's event. */
    pkh_app_start(&app, &f->host);
    pkh_cmd(&app, "list ECHO");
    pkh_cmd_expect(&app, "ok", "open h1 @0");
    pkh_cmd_expect(&app, "ok", "reg handle r1 h1");
    assert_int_equal(pnpctl(&f->r, &f->host, "event", "SWD\\PKHOST\\dev2", PKHOST_CUSTOM_EVENT_TEXT, "01"), 0);
    assert_int_equal(pnpctl(&f->r, &f->host, "event", DEV1, PKHOST_CUSTOM_EVENT_TEXT, "02"), 0);
    assert_non_null(pkh_expect_line(&app, "ev r1 custom", PKH_WAIT_MS));
    assert_false(pkh_saw_line(&app, "ev r1 custom " PKHOST_CUSTOM_EVENT_TEXT " -1 01"));
    assert_int_equal(pkh_app_exit(&app), 0);
    down(f);
}

static void event_with_a_system_guid_or_an_unknown_device_fails(void **state)
{
    fixture *f = up(1);
    /* GUID_TARGET_DEVICE_REMOVE_COMPLETE: IoReportTargetDeviceChangeAsynchronous refuses it. */
    assert_int_equal(pnpctl(&f->r, &f->host, "event", DEV1, "{cb3a4008-46f0-11d0-b08f-00609713053f}"), 1);
    assert_non_null(strstr(f->r.err, "CR_INVALID_DATA"));
    assert_int_equal(pnpctl(&f->r, &f->host, "event", "SWD\\PKHOST\\nothere", PKHOST_CUSTOM_EVENT_TEXT), 1);
    assert_non_null(strstr(f->r.err, "CR_NO_SUCH_DEVNODE"));
    assert_int_equal(pnpctl(&f->r, &f->host, "event", DEV1, "not-a-guid"), 2);
    assert_int_equal(pnpctl(&f->r, &f->host, "event", DEV1, PKHOST_CUSTOM_EVENT_TEXT, "0g"), 2);
    assert_int_equal(pnpctl(&f->r, &f->host, "event", DEV1), 2);
    down(f);
}

static void surprise_remove_gives_remove_complete_without_query_remove(void **state)
{
    fixture *f = up(2);
    pkh_app app;
    pkh_app_start(&app, &f->host);
    pkh_cmd(&app, "list ECHO");
    pkh_cmd_expect(&app, "ok", "open h1 @0");
    pkh_cmd_expect(&app, "ok", "reg handle r1 h1 veto"); /* a veto it is never asked for */
    assert_int_equal(pnpctl(&f->r, &f->host, "surprise-remove", DEV1), 0);
    assert_string_equal(f->r.out, DEV1 ": surprise-removed\n");
    assert_non_null(pkh_expect_line(&app, "ev r1 removecomplete", PKH_WAIT_MS));
    assert_false(pkh_saw_line(&app, "ev r1 queryremove"));
    /* Not started any more; it stays in the tree until the application closes its handle, as a
     * surprise-removed device does on Windows. Its sibling is untouched. */
    assert_int_equal(pnpctl(&f->r, &f->host, "tree"), 0);
    assert_non_null(strstr(f->r.out, DEV1 " [DRIVER_LOADED DISABLEABLE REMOVABLE]"));
    assert_non_null(strstr(f->r.out, "SWD\\PKHOST\\dev2 [DRIVER_LOADED STARTED"));
    assert_int_equal(pnpctl(&f->r, &f->host, "surprise-remove", "SWD\\PKHOST\\nothere"), 1);
    assert_non_null(strstr(f->r.err, "CR_NO_SUCH_DEVNODE"));
    /* An event on the removed device, which the application still holds open: refused or
     * delivered, the host must live on (CTest runs it with PNPKIT_VERIFIER=1). */
    int rc = pnpctl(&f->r, &f->host, "event", DEV1, PKHOST_CUSTOM_EVENT_TEXT, "01");
    assert_true(rc == 0 || rc == 1);
    assert_int_equal(pnpctl(&f->r, &f->host, "--json", "surprise-remove", "SWD\\PKHOST\\dev2"), 0);
    assert_json_outline(f->r.out);
    assert_non_null(strstr(f->r.out, "\"result\":\"surprise-removed\""));
    assert_int_equal(pnpctl(&f->r, &f->host, "surprise-remove", "HTREE\\ROOT\\0"), 1); /* not the root */
    assert_int_equal(pkh_app_exit(&app), 0);
    down(f);
}

static void surprise_remove_and_event_are_reserved_to_the_hosts_owner_and_handles_to_their_user(void **state)
{
    const struct passwd *pw = getpwnam("nobody");
    const struct group *gr = getgrnam("nogroup");
    pkh_host h;
    static child c;
    static run r;

    if (geteuid() != 0 || !pw || !gr) {
        skip(); /* switching to another user needs root */
        return;
    }
    /* nobody may connect (the socket's group is its group) and list, but not act as hardware
     * or as a driver. */
    pkh_host_up(&h, 1, "group = \"nogroup\";");
    const char *tree[] = { "tree", NULL };
    child_start_as(&c, h.socket, tree, pw->pw_uid, gr->gr_gid);
    assert_int_equal(child_finish(&c, &r), 0);
    assert_non_null(strstr(r.out, DEV1));
    const char *sr[] = { "surprise-remove", DEV1, NULL };
    child_start_as(&c, h.socket, sr, pw->pw_uid, gr->gr_gid);
    assert_int_equal(child_finish(&c, &r), 5);
    assert_non_null(strstr(r.err, "CR_ACCESS_DENIED"));
    const char *ev[] = { "event", DEV1, PKHOST_CUSTOM_EVENT_TEXT, "01", NULL };
    child_start_as(&c, h.socket, ev, pw->pw_uid, gr->gr_gid);
    assert_int_equal(child_finish(&c, &r), 5);
    /* Handles: root's application's handle is not shown to nobody, and is to root. */
    pkh_app app;
    pkh_app_start(&app, &h);
    pkh_cmd(&app, "list ECHO");
    pkh_cmd_expect(&app, "ok", "open h1 @0");
    const char *graph[] = { "graph", NULL };
    child_start_as(&c, h.socket, graph, pw->pw_uid, gr->gr_gid);
    assert_int_equal(child_finish(&c, &r), 0);
    assert_null(strstr(r.out, "shape=note"));
    assert_int_equal(pnpctl(&r, &h, "graph"), 0);
    assert_non_null(strstr(r.out, "shape=note"));
    assert_int_equal(pkh_app_exit(&app), 0);
    /* The device is untouched; its owner still may. */
    assert_int_equal(pnpctl(&r, &h, "tree"), 0);
    assert_non_null(strstr(r.out, DEV1 " [DRIVER_LOADED STARTED"));
    assert_int_equal(pnpctl(&r, &h, "surprise-remove", DEV1), 0);
    assert_int_equal(pkh_host_stop(&h), 0);
    pkh_host_cleanup(&h);
}

/* A host of protocol revision 1, as the first release was: it answers HELLO, LOCATE_DEVNODE and
 * STATS (8 values, no revision) and closes a connection on any other message, as that host's
 * decoder does. It exits 0 on SIGTERM, 3 if a revision-2 message ever reached it. */
static pid_t old_host_start(const char *path)
{
    struct sockaddr_un addr;
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    strcpy(addr.sun_path, path);
    assert_int_equal(bind(lfd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(lfd, 8), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid) {
        close(lfd);
        return pid;
    }
    struct pollfd p[9] = { { .fd = lfd, .events = POLLIN } };
    int n = 1;
    signal(SIGTERM, SIG_DFL);
    for (;;) {
        if (poll(p, (nfds_t)n, -1) <= 0)
            continue;
        if ((p[0].revents & POLLIN) && n < 9) {
            p[n].fd = accept(lfd, NULL, NULL);
            p[n].events = POLLIN;
            p[n].revents = 0;
            n++;
        }
        for (int i = 1; i < n; i++) {
            static uint8_t in[PNPH_MAX_MESSAGE], out[256];
            pnph_header h;
            pnph_builder b;
            ssize_t got;
            size_t have = 0;
            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP)))
                continue;
            while (have < PNPH_HEADER_SIZE && (got = read(p[i].fd, in + have, PNPH_HEADER_SIZE - have)) > 0)
                have += (size_t)got;
            if (have < PNPH_HEADER_SIZE || pnph_header_check(in, have, &h) != PNPH_OK) {
                close(p[i].fd);
                p[i].fd = -1;
                continue;
            }
            while (have < PNPH_HEADER_SIZE + h.length && (got = read(p[i].fd, in + have, PNPH_HEADER_SIZE + h.length - have)) > 0)
                have += (size_t)got;
            pnph_begin(&b, out, sizeof(out), (uint16_t)(h.type | PNPH_REPLY), h.request_id);
            if (h.type == PNPH_HELLO) {
                pnph_put_u32(&b, 0);
                pnph_put_u32(&b, PNPH_MAX_PAYLOAD);
                pnph_put_u64(&b, 1);
                pnph_put_u64(&b, 1);
            } else if (h.type == PNPH_LOCATE_DEVNODE) {
                pnph_put_u32(&b, 0);
                pnph_put_u32(&b, 2);
            } else if (h.type == PNPH_STATS) {
                pnph_put_u32(&b, 8);
                for (int k = 0; k < 8; k++)
                    pnph_put_u32(&b, 0);
            } else {
                _exit(3); /* what revision 1 does not know must never be sent to it */
            }
            size_t len = pnph_finish(&b);
            if (write(p[i].fd, out, len) != (ssize_t)len)
                _exit(4);
        }
    }
}

static void a_host_of_revision_1_is_not_sent_new_messages_and_exits_4(void **state)
{
    char dir[] = "/tmp/pkctl-old-XXXXXX", path[64];
    int status;
    run r;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/pnphost.sock", dir);
    pid_t old = old_host_start(path);
    assert_int_equal(pnpctl_at(&r, path, "surprise-remove", DEV1, (const char *)NULL), 4);
    assert_non_null(strstr(r.err, "not supported by this host's protocol revision (CR_CALL_NOT_IMPLEMENTED)"));
    assert_int_equal(pnpctl_at(&r, path, "event", DEV1, PKHOST_CUSTOM_EVENT_TEXT, "01", (const char *)NULL), 4);
    assert_int_equal(pnpctl_at(&r, path, "interfaces", (const char *)NULL), 4);
    kill(old, SIGTERM);
    assert_int_equal(waitpid(old, &status, 0), old);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM); /* never exited 3 */
    unlink(path);
    rmdir(dir);
}

static void a_host_that_is_not_running_exits_3(void **state)
{
    fixture *f = up(1);
    char socket[sizeof(f->host.socket)];
    strcpy(socket, f->host.socket);
    down(f);
    run *r = &f->r;
    assert_int_equal(pnpctl_at(r, socket, "tree", (const char *)NULL), 3);
    assert_non_null(strstr(r->err, "cannot reach pnphost"));
    assert_int_equal(pnpctl_at(r, socket, "interfaces", PKHOST_ECHO_GUID_TEXT, (const char *)NULL), 3);
    assert_int_equal(pnpctl_at(r, socket, "eject", DEV1, (const char *)NULL), 3);
    assert_int_equal(pnpctl_at(r, socket, "watch", "--timeout", "1", (const char *)NULL), 3);
    assert_int_equal(pnpctl_at(r, socket, "ioctl", ECHO_LINK1, "0x81232000", (const char *)NULL), 3);
}

PK_TEST_MAIN(PK_TEST(tree_shows_the_root_and_the_configured_devices_started),
             PK_TEST(interfaces_lists_the_links_of_a_class),
             PK_TEST(interfaces_without_a_guid_lists_every_class_and_a_guid_filters),
             PK_TEST(ioctl_echo_prints_the_output_as_hex),
             PK_TEST(ioctl_errors_print_the_win32_error_and_fail),
             PK_TEST(eject_removes_the_device_and_its_interfaces),
             PK_TEST(eject_vetoed_by_an_application_prints_the_veto_and_fails),
             PK_TEST(disable_then_enable_restarts_the_device),
             PK_TEST(watch_prints_removal_and_arrival_lines),
             PK_TEST(watch_prints_a_custom_event_with_its_guid_length_and_data),
             PK_TEST(watch_hears_a_device_again_after_it_was_disabled_and_enabled),
             PK_TEST(watch_json_custom_event_and_a_device_it_watches_can_still_be_ejected),
             PK_TEST(watch_prints_the_request_rate_of_an_open_handle),
             PK_TEST(watch_ends_at_its_timeout),
             PK_TEST(json_output_is_one_balanced_document),
             PK_TEST(graph_is_a_dot_digraph_with_interfaces),
             PK_TEST(graph_shows_each_open_handle_between_its_process_and_its_interface),
             PK_TEST(graph_json_lists_devices_interfaces_and_handles),
             PK_TEST(every_command_has_help_and_json_output),
             PK_TEST(usage_errors_exit_2),
             PK_TEST(event_reaches_an_application_registered_on_the_device_handle),
             PK_TEST(event_on_a_device_nobody_has_open_reaches_only_that_device),
             PK_TEST(event_with_a_system_guid_or_an_unknown_device_fails),
             PK_TEST(surprise_remove_gives_remove_complete_without_query_remove),
             PK_TEST(surprise_remove_and_event_are_reserved_to_the_hosts_owner_and_handles_to_their_user),
             PK_TEST(a_host_of_revision_1_is_not_sent_new_messages_and_exits_4),
             PK_TEST(a_host_that_is_not_running_exits_3))
