/*
 * test_host_notify.c — CM_Register_Notification across processes: interface arrival and
 * removal, custom events on a device handle, query-remove vetoed by an application, removal
 * accepted by an application that closes its handle, an application that never answers and is
 * killed (no veto, no wait for the timeout), unregistration, and device-instance events.
 */
#include "harness/host_harness.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define ECHO_LINK_1 "\\\\?\\SWD#PKHOST#dev1#" PKHOST_ECHO_GUID_TEXT "\\ref"
#define TOGGLE_LINK_1 "\\\\?\\SWD#PKHOST#dev1#" PKHOST_TOGGLE_GUID_TEXT

typedef struct fixture {
    pkh_host host;
    pkh_app a, b;
} fixture;

static fixture *up(int devices)
{
    static fixture f;
    memset(&f, 0, sizeof(f));
    pkh_host_up(&f.host, devices, NULL);
    pkh_app_start(&f.a, &f.host);
    pkh_app_start(&f.b, &f.host);
    return &f;
}

static void down(fixture *f)
{
    if (f->a.pid)
        assert_int_equal(pkh_app_exit(&f->a), 0);
    if (f->b.pid)
        assert_int_equal(pkh_app_exit(&f->b), 0);
    assert_int_equal(pkh_host_stop(&f->host), 0);
    pkh_host_cleanup(&f->host);
}

static void interface_arrival_and_removal_reach_registered_applications(void **state)
{
    fixture *f = up(1);
    pkh_cmd_expect(&f->a, "ok", "reg iface r1 TOGGLE");
    pkh_cmd_expect(&f->a, "ok", "reg iface r2 ECHO");
    pkh_cmd_expect(&f->a, "ok", "reg iface r3 all");
    pkh_cmd(&f->b, "list ECHO");
    pkh_cmd_expect(&f->b, "ok", "open h1 @0");
    pkh_cmd_expect(&f->b, "ok", "ioctl h1 TOGGLE 01000000 0");
    assert_non_null(pkh_expect_line(&f->a, "ev r1 arrival " TOGGLE_LINK_1, PKH_WAIT_MS));
    assert_non_null(pkh_expect_line(&f->a, "ev r3 arrival " TOGGLE_LINK_1, PKH_WAIT_MS));
    pkh_cmd_expect(&f->b, "ok", "ioctl h1 TOGGLE 00000000 0");
    assert_non_null(pkh_expect_line(&f->a, "ev r1 removal " TOGGLE_LINK_1, PKH_WAIT_MS));
    assert_non_null(pkh_expect_line(&f->a, "ev r3 removal " TOGGLE_LINK_1, PKH_WAIT_MS));
    /* A registration for another class hears nothing of it. */
    pkh_cmd_expect(&f->a, "ok 0", "count r2");
    /* The new interface opens like any other. */
    pkh_cmd_expect(&f->b, "ok", "ioctl h1 TOGGLE 01000000 0");
    assert_non_null(pkh_expect_line(&f->a, "ev r1 arrival", PKH_WAIT_MS));
    pkh_cmd_expect(&f->b, "ok", "open h2 " TOGGLE_LINK_1);
    down(f);
}

static void a_registration_does_not_replay_existing_interfaces(void **state)
{
    fixture *f = up(2);
    pkh_cmd_expect(&f->a, "ok", "reg iface r1 ECHO");
    pkh_cmd_expect(&f->a, "ok 2", "list ECHO");
    pkh_cmd_expect(&f->a, "ok 0", "count r1");
    down(f);
}

static void custom_events_reach_only_the_device_handle_registrations_of_that_device(void **state)
{
    fixture *f = up(2);
    pkh_cmd(&f->a, "list ECHO");
    pkh_cmd_expect(&f->a, "ok", "open h1 @0");
    pkh_cmd_expect(&f->a, "ok", "reg handle r1 h1");
    pkh_cmd(&f->b, "list ECHO");
    pkh_cmd_expect(&f->b, "ok", "open h2 @1");
    pkh_cmd_expect(&f->b, "ok", "reg handle r2 h2");
    pkh_cmd_expect(&f->a, "ok", "ioctl h1 REPORT_EVENT 0a0b0c0d 0");
    assert_non_null(pkh_expect_line(&f->a, "ev r1 custom " PKHOST_CUSTOM_EVENT_TEXT " -1 0a0b0c0d", PKH_WAIT_MS));
    pkh_cmd_expect(&f->a, "ok", "ioctl h1 REPORT_EVENT - 0");
    assert_non_null(pkh_expect_line(&f->a, "ev r1 custom " PKHOST_CUSTOM_EVENT_TEXT " -1 -", PKH_WAIT_MS));
    pkh_cmd_expect(&f->b, "ok 0", "count r2");
    down(f);
}

static void query_remove_is_vetoed_by_an_application(void **state)
{
    fixture *f = up(1);
    pkh_cmd(&f->a, "list ECHO");
    pkh_cmd_expect(&f->a, "ok", "open h1 @0");
    pkh_cmd_expect(&f->a, "ok", "reg handle r1 h1 veto");
    /* CR_REMOVE_VETOED (23), PNP_VetoWindowsApp (3) */
    pkh_cmd_expect(&f->b, "err 23 veto=3", "remove SWD\\PKHOST\\dev1");
    assert_non_null(pkh_expect_line(&f->a, "ev r1 queryremove", PKH_WAIT_MS));
    assert_non_null(pkh_expect_line(&f->a, "ev r1 queryremovefailed", PKH_WAIT_MS));
    pkh_cmd_expect(&f->b, "ok 1", "list ECHO");         /* still there */
    pkh_cmd_expect(&f->a, "ok 4 01020304", "ioctl h1 ECHO 01020304 4");
    down(f);
}

static void removal_proceeds_when_the_application_closes_its_handle(void **state)
{
    fixture *f = up(1);
    pkh_cmd(&f->a, "list ECHO");
    pkh_cmd_expect(&f->a, "ok", "open h1 @0");
    pkh_cmd_expect(&f->a, "ok", "reg handle r1 h1 closeonquery");
    pkh_cmd_expect(&f->a, "ok", "reg iface r2 ECHO");
    pkh_cmd_expect(&f->b, "ok", "remove SWD\\PKHOST\\dev1");
    assert_non_null(pkh_expect_line(&f->a, "ev r1 queryremove", PKH_WAIT_MS));
    assert_non_null(pkh_expect_line(&f->a, "ev r1 closed", PKH_WAIT_MS));
    assert_non_null(pkh_expect_line(&f->a, "ev r1 removepending", PKH_WAIT_MS));
    assert_non_null(pkh_expect_line(&f->a, "ev r1 removecomplete", PKH_WAIT_MS));
    assert_non_null(pkh_expect_line(&f->a, "ev r2 removal " ECHO_LINK_1, PKH_WAIT_MS));
    pkh_cmd_expect(&f->b, "ok 0", "list ECHO");
    down(f);
}

static void an_application_killed_while_asked_does_not_veto(void **state)
{
    fixture *f = up(1);
    uint64_t t0;
    pkh_cmd(&f->a, "list ECHO");
    pkh_cmd_expect(&f->a, "ok", "open h1 @0");
    pkh_cmd_expect(&f->a, "ok", "reg handle r1 h1 hang");
    pkh_cmd_expect(&f->a, "ok", "close h1"); /* the registration outlives the handle */
    t0 = pk_test_now_ms();
    /* b's removal waits for a's answer; a hangs in its callback, and is killed there. */
    char line[64];
    snprintf(line, sizeof(line), "c%d ", f->b.tag + 1);
    f->b.tag++;
    assert_true(write(f->b.in, line, strlen(line)) > 0);
    assert_true(write(f->b.in, "remove SWD\\PKHOST\\dev1\n", 24) == 24);
    assert_non_null(pkh_expect_line(&f->a, "ev r1 queryremove", PKH_WAIT_MS));
    pkh_app_kill(&f->a);
    const char *r = pkh_expect_line(&f->b, line, PKH_WAIT_MS);
    assert_non_null(r);
    assert_string_equal(r + strlen(line), "ok");
    assert_true(pk_test_now_ms() - t0 < 8000); /* well before the 10 s notification timeout */
    down(f);
}

static void unregistering_from_its_own_callback_fails_and_later_works(void **state)
{
    fixture *f = up(1);
    pkh_cmd(&f->a, "list ECHO");
    pkh_cmd_expect(&f->a, "ok", "open h1 @0");
    pkh_cmd_expect(&f->a, "ok", "reg handle r1 h1 unregself");
    pkh_cmd_expect(&f->a, "ok", "ioctl h1 REPORT_EVENT 01 0");
    assert_non_null(pkh_expect_line(&f->a, "ev r1 unregself 19", PKH_WAIT_MS)); /* CR_FAILURE */
    pkh_cmd_expect(&f->a, "ok", "unreg r1");
    pkh_cmd_expect(&f->a, "err 31", "unreg r1"); /* CR_INVALID_DATA */
    pkh_cmd_expect(&f->a, "ok", "ioctl h1 REPORT_EVENT 02 0");
    pkh_cmd_expect(&f->a, "ok", "sleep 200");
    pkh_cmd_expect(&f->a, "ok 1", "count r1"); /* only the first event */
    down(f);
}

static void bad_registrations_are_refused_with_cm_errors(void **state)
{
    fixture *f = up(1);
    pkh_cmd_expect(&f->a, "err 31", "reg handle r1 nosuchhandle");
    pkh_cmd_expect(&f->a, "ok", "reg instance r2 SWD\\PKHOST\\dev1");
    down(f);
}

static void device_instance_registrations_hear_the_removal(void **state)
{
    fixture *f = up(1);
    pkh_cmd_expect(&f->a, "ok", "reg instance r1 SWD\\PKHOST\\dev1");
    pkh_cmd_expect(&f->b, "ok", "remove SWD\\PKHOST\\dev1");
    assert_non_null(pkh_expect_line(&f->a, "ev r1 instanceremoved SWD\\PKHOST\\dev1", PKH_WAIT_MS));
    down(f);
}

PK_TEST_MAIN(PK_TEST(interface_arrival_and_removal_reach_registered_applications),
             PK_TEST(a_registration_does_not_replay_existing_interfaces),
             PK_TEST(custom_events_reach_only_the_device_handle_registrations_of_that_device),
             PK_TEST(query_remove_is_vetoed_by_an_application),
             PK_TEST(removal_proceeds_when_the_application_closes_its_handle),
             PK_TEST(an_application_killed_while_asked_does_not_veto),
             PK_TEST(unregistering_from_its_own_callback_fails_and_later_works),
             PK_TEST(bad_registrations_are_refused_with_cm_errors),
             PK_TEST(device_instance_registrations_hear_the_removal))
