/*
 * test_host_faults.c — processes that die: an application killed during I/O (the host cancels
 * its requests and sends cleanup and close for each of its handles, and keeps nothing of it), a
 * host killed under its applications (they get removal notifications and the documented
 * errors, and no call hangs), a host restarted (applications enumerate and open again without
 * restarting), and a host stopped with applications connected (a clean exit).
 */
#include "harness/host_harness.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define ECHO_LINK_1 "\\\\?\\SWD#PKHOST#dev1#" PKHOST_ECHO_GUID_TEXT "\\ref"

typedef struct fixture {
    pkh_host host;
    pkh_app a, b;
} fixture;

static fixture f;

static void up(void)
{
    memset(&f, 0, sizeof(f));
    pkh_host_up(&f.host, 1, NULL);
    pkh_app_start(&f.a, &f.host);
    pkh_app_start(&f.b, &f.host);
}

/* Starts a command without waiting for its answer (it blocks in the driver). */
static void send_only(pkh_app *a, const char *cmd)
{
    char line[256];
    int n = snprintf(line, sizeof(line), "c%d %s\n", ++a->tag, cmd);
    assert_int_equal(write(a->in, line, (size_t)n), n);
}

static void application_killed_mid_io_gets_cleanup_and_close_from_the_host(void **state)
{
    uint32_t v[PNPH_STAT_COUNT];
    up();
    pkh_cmd(&f.b, "list ECHO");
    pkh_cmd_expect(&f.b, "ok", "open hb @0");
    pkh_cmd(&f.a, "list ECHO");
    pkh_cmd_expect(&f.a, "ok", "open h1 @0");
    pkh_cmd_expect(&f.a, "ok", "open h2 @0 rw overlapped");
    pkh_cmd_expect(&f.a, "ok pending", "aioctl h2 0 PEND - 0");
    pkh_cmd_expect(&f.a, "ok pending", "aioctl h2 1 PEND - 0");
    send_only(&f.a, "ioctl h1 PEND - 0"); /* a synchronous request, blocked in the driver */
    pkh_wait_counter(&f.b, "hb", "pending=3");

    pkh_app_kill(&f.a);
    /* Every request cancelled, both handles cleaned up and closed: 3 opens, 2 closes. */
    pkh_wait_counter(&f.b, "hb", "closes=2");
    pkh_cmd_expect(&f.b, "ok creates=3 cleanups=2 closes=2 cancelled=3 pending=0", "counters hb");
    /* The host keeps nothing of the dead process: b's session, its handle, and the statistics
     * connection itself. */
    pkh_wait_stat(&f.host, PNPH_STAT_REQUESTS, 0);
    pkh_stats(&f.host, v);
    assert_int_equal(v[PNPH_STAT_SESSIONS], 2);
    assert_int_equal(v[PNPH_STAT_HANDLES], 1);
    assert_int_equal(v[PNPH_STAT_REGISTRATIONS], 0);
    assert_int_equal(v[PNPH_STAT_PENDING_ANSWERS], 0);

    assert_int_equal(pkh_app_exit(&f.b), 0);
    assert_int_equal(pkh_host_stop(&f.host), 0);
    pkh_host_cleanup(&f.host);
}

static void host_killed_applications_get_removals_and_errors_without_hanging(void **state)
{
    up();
    pkh_cmd(&f.a, "list ECHO");
    pkh_cmd_expect(&f.a, "ok", "open h1 @0");
    pkh_cmd_expect(&f.a, "ok", "open h2 @0 rw overlapped");
    pkh_cmd_expect(&f.a, "ok", "reg handle r1 h1");
    pkh_cmd_expect(&f.a, "ok", "reg iface r2 ECHO");
    pkh_cmd_expect(&f.a, "ok pending", "aioctl h2 0 PEND - 0");
    send_only(&f.b, "list ECHO");
    assert_non_null(pkh_expect_line(&f.b, "c1 ok 1", PKH_WAIT_MS));
    pkh_cmd_expect(&f.b, "ok", "open hb @0");
    send_only(&f.b, "ioctl hb PEND - 0"); /* b waits in a synchronous call when the host dies */

    pkh_host_kill(&f.host);

    assert_non_null(pkh_expect_line(&f.a, "ev r1 removecomplete", PKH_WAIT_MS));
    assert_non_null(pkh_expect_line(&f.a, "ev r2 removal " ECHO_LINK_1, PKH_WAIT_MS));
    pkh_cmd_expect(&f.a, "err 1167", "await h2 0");           /* ERROR_DEVICE_NOT_CONNECTED */
    pkh_cmd_expect(&f.a, "err 1167", "ioctl h1 ECHO 01 1");
    pkh_cmd_expect(&f.a, "err 1167", "read h1 4");
    pkh_cmd_expect(&f.a, "err 50", "list ECHO");             /* CR_NO_CM_SERVICES */
    pkh_cmd_expect(&f.a, "err 1167", "open h3 " ECHO_LINK_1);
    pkh_cmd_expect(&f.a, "ok", "close h1");                  /* closing a dead handle works */
    pkh_cmd_expect(&f.a, "ok", "unreg r1");
    const char *r = pkh_expect_line(&f.b, "c3 ", PKH_WAIT_MS); /* b's blocked call returned */
    assert_non_null(r);
    assert_string_equal(r, "c3 err 1167 0 -");

    assert_int_equal(pkh_app_exit(&f.a), 0);
    assert_int_equal(pkh_app_exit(&f.b), 0);
    pkh_host_cleanup(&f.host);
}

static void a_restarted_host_serves_the_same_applications_again(void **state)
{
    up();
    pkh_cmd(&f.a, "list ECHO");
    pkh_cmd_expect(&f.a, "ok", "open h1 @0");
    pkh_cmd_expect(&f.a, "ok", "reg handle r1 h1");
    pkh_host_kill(&f.host);
    assert_non_null(pkh_expect_line(&f.a, "ev r1 removecomplete", PKH_WAIT_MS));
    pkh_cmd_expect(&f.a, "err 50", "list ECHO");

    pkh_host_start(&f.host); /* same socket, same configuration */
    pkh_cmd_expect(&f.a, "ok 1 " ECHO_LINK_1, "list ECHO");
    pkh_cmd_expect(&f.a, "ok", "open h2 @0");
    pkh_cmd_expect(&f.a, "ok 2 beef", "ioctl h2 ECHO beef 2");
    pkh_cmd_expect(&f.a, "err 1167", "ioctl h1 ECHO beef 2"); /* the old handle stays dead */
    pkh_cmd_expect(&f.a, "ok", "reg handle r2 h2");
    pkh_cmd_expect(&f.a, "ok", "ioctl h2 REPORT_EVENT 01 0");
    assert_non_null(pkh_expect_line(&f.a, "ev r2 custom", PKH_WAIT_MS));

    assert_int_equal(pkh_app_exit(&f.a), 0);
    assert_int_equal(pkh_app_exit(&f.b), 0);
    assert_int_equal(pkh_host_stop(&f.host), 0);
    pkh_host_cleanup(&f.host);
}

static void a_host_stopped_under_its_applications_exits_cleanly(void **state)
{
    up();
    pkh_cmd(&f.a, "list ECHO");
    pkh_cmd_expect(&f.a, "ok", "open h1 @0 rw overlapped");
    pkh_cmd_expect(&f.a, "ok", "reg handle r1 h1");
    pkh_cmd_expect(&f.a, "ok pending", "aioctl h1 0 PEND - 0");
    /* SIGTERM with a request pending and a registration live: the host cancels, closes and
     * exits 0 (and, under AddressSanitizer, without a leak report). */
    assert_int_equal(pkh_host_stop(&f.host), 0);
    pkh_cmd_expect(&f.a, "err ", "await h1 0");
    assert_non_null(pkh_expect_line(&f.a, "ev r1 removecomplete", PKH_WAIT_MS));
    assert_int_equal(pkh_app_exit(&f.a), 0);
    assert_int_equal(pkh_app_exit(&f.b), 0);
    pkh_host_cleanup(&f.host);
}

static void no_application_no_problem_the_host_starts_and_stops(void **state)
{
    pkh_host h;
    pkh_host_up(&h, 3, NULL);
    assert_int_equal(pkh_host_stop(&h), 0);
    pkh_host_cleanup(&h);
}

PK_TEST_MAIN(PK_TEST(application_killed_mid_io_gets_cleanup_and_close_from_the_host),
             PK_TEST(host_killed_applications_get_removals_and_errors_without_hanging),
             PK_TEST(a_restarted_host_serves_the_same_applications_again),
             PK_TEST(a_host_stopped_under_its_applications_exits_cleanly),
             PK_TEST(no_application_no_problem_the_host_starts_and_stops))
