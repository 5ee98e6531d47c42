/*
 * test_host_io.c — applications enumerate, open and talk to devices of a real pnphost:
 * CM_Get_Device_Interface_List, CreateFileW with a reference string, DeviceIoControl in every
 * buffering method, ReadFile/WriteFile, overlapped requests, CancelIoEx, CloseHandle (cleanup
 * then close), access checks, and the errors of bad handles and unknown links.
 */
#include "harness/host_harness.h"

#include <stdio.h>
#include <string.h>

typedef struct fixture {
    pkh_host host;
    pkh_app app;
} fixture;

static fixture *up(int devices)
{
    static fixture f;
    memset(&f, 0, sizeof(f));
    pkh_host_up(&f.host, devices, NULL);
    pkh_app_start(&f.app, &f.host);
    return &f;
}

static void down(fixture *f)
{
    assert_int_equal(pkh_app_exit(&f->app), 0);
    assert_int_equal(pkh_host_stop(&f->host), 0); /* a clean stop: no leak report, no stray request */
    pkh_host_cleanup(&f->host);
}

static void enumerate_lists_the_interfaces_of_configured_devices(void **state)
{
    fixture *f = up(2);
    const char *r = pkh_cmd_expect(&f->app, "ok 2 ", "list ECHO");
    assert_non_null(strstr(r, "\\\\?\\SWD#PKHOST#dev1#" PKHOST_ECHO_GUID_TEXT "\\ref"));
    assert_non_null(strstr(r, "\\\\?\\SWD#PKHOST#dev2#" PKHOST_ECHO_GUID_TEXT "\\ref"));
    pkh_cmd_expect(&f->app, "ok 2 ", "list SECURE");
    down(f);
}

static void a_class_without_interfaces_lists_as_one_nul(void **state)
{
    fixture *f = up(1);
    pkh_cmd_expect(&f->app, "ok 1", "listsize TOGGLE");
    pkh_cmd_expect(&f->app, "ok 0", "list TOGGLE");
    pkh_cmd_expect(&f->app, "ok 1", "list TOGGLE all"); /* disabled instances with ALL_DEVICES */
    down(f);
}

static void open_by_link_passes_the_reference_string_to_create(void **state)
{
    fixture *f = up(1);
    pkh_cmd(&f->app, "list ECHO");
    pkh_cmd_expect(&f->app, "ok", "open h1 @0");
    pkh_cmd_expect(&f->app, "ok \\ref", "lastcreate h1");
    pkh_cmd_expect(&f->app, "ok", "open h2 @0\\more\\text");
    pkh_cmd_expect(&f->app, "ok \\ref\\more\\text", "lastcreate h2");
    pkh_cmd(&f->app, "list SECURE");
    pkh_cmd_expect(&f->app, "ok", "open h3 @0");
    pkh_cmd_expect(&f->app, "ok -", "lastcreate h3"); /* no reference string: an empty name */
    down(f);
}

static void ioctl_round_trip_echoes_every_size(void **state)
{
    fixture *f = up(1);
    static char hex[2 * 65536 + 1];
    pkh_cmd(&f->app, "list ECHO");
    pkh_cmd_expect(&f->app, "ok", "open h1 @0");
    pkh_cmd_expect(&f->app, "ok 0 -", "ioctl h1 ECHO - 0");
    pkh_cmd_expect(&f->app, "ok 4 01020304", "ioctl h1 ECHO 01020304 16");
    pkh_cmd_expect(&f->app, "ok 2 0102", "ioctl h1 ECHO 01020304 2");
    for (size_t sizes[] = { 1000, 65536 }, i = 0; i < 2; i++) {
        for (size_t k = 0; k < sizes[i]; k++)
            sprintf(hex + 2 * k, "%02x", (unsigned)(k * 7 + 3) & 0xff);
        const char *r = pkh_cmd(&f->app, "ioctl h1 ECHO %s %zu", hex, sizes[i]);
        char expect[32];
        snprintf(expect, sizeof(expect), "ok %zu ", sizes[i]);
        assert_memory_equal(r, expect, strlen(expect));
        assert_memory_equal(r + strlen(expect), hex, 2 * sizes[i]);
    }
    pkh_cmd_expect(&f->app, "err 87", "ioctl h1 ECHO - 65537"); /* above PNPKIT_HOST_MAX_IO */
    down(f);
}

static void direct_and_neither_methods_reach_the_driver_buffers(void **state)
{
    fixture *f = up(1);
    pkh_cmd(&f->app, "list ECHO");
    pkh_cmd_expect(&f->app, "ok", "open h1 @0");
    pkh_cmd_expect(&f->app, "ok 3 a1b2c3", "ioctl h1 ECHO_DIRECT a1b2c3 8");
    pkh_cmd_expect(&f->app, "ok 3 a1b2c3", "ioctl h1 ECHO_NEITHER a1b2c3 8");
    down(f);
}

static void buffer_overflow_returns_more_data_with_the_data(void **state)
{
    fixture *f = up(1);
    pkh_cmd(&f->app, "list ECHO");
    pkh_cmd_expect(&f->app, "ok", "open h1 @0");
    pkh_cmd_expect(&f->app, "err 234 2 0102", "ioctl h1 OVERFLOW 01020304 2");
    pkh_cmd_expect(&f->app, "err 1 0 -", "ioctl h1 0x22ffff - 0"); /* unknown code: ERROR_INVALID_FUNCTION */
    down(f);
}

static void read_after_write_returns_the_written_data(void **state)
{
    fixture *f = up(1);
    pkh_cmd(&f->app, "list ECHO");
    pkh_cmd_expect(&f->app, "ok", "open h1 @0");
    pkh_cmd_expect(&f->app, "ok 0 -", "read h1 16");
    pkh_cmd_expect(&f->app, "ok 5", "write h1 0011223344");
    pkh_cmd_expect(&f->app, "ok 5 0011223344", "read h1 16");
    pkh_cmd_expect(&f->app, "ok 2 0011", "read h1 2");
    down(f);
}

static void overlapped_requests_complete_through_getoverlappedresult(void **state)
{
    fixture *f = up(1);
    pkh_cmd(&f->app, "list ECHO");
    pkh_cmd_expect(&f->app, "ok", "open h1 @0 rw overlapped");
    pkh_cmd_expect(&f->app, "ok pending", "aioctl h1 0 ECHO_LATER 0a0b0c 3");
    pkh_cmd_expect(&f->app, "ok pending", "aioctl h1 1 ECHO 0d0e 2");
    pkh_cmd_expect(&f->app, "ok pending", "awrite h1 2 feed");
    pkh_cmd_expect(&f->app, "ok 3 0a0b0c", "await h1 0");
    pkh_cmd_expect(&f->app, "ok 2 0d0e", "await h1 1");
    pkh_cmd_expect(&f->app, "ok 2", "await h1 2");
    pkh_cmd_expect(&f->app, "ok pending", "aread h1 3 8");
    pkh_cmd_expect(&f->app, "ok 2 feed", "await h1 3");
    pkh_cmd_expect(&f->app, "err 87", "ioctl h1 ECHO - 0"); /* an overlapped handle needs an OVERLAPPED */
    down(f);
}

static void cancelioex_cancels_a_pending_request(void **state)
{
    fixture *f = up(1);
    pkh_cmd(&f->app, "list ECHO");
    pkh_cmd_expect(&f->app, "ok", "open h1 @0 rw overlapped");
    pkh_cmd_expect(&f->app, "ok pending", "aioctl h1 0 PEND - 0");
    pkh_cmd_expect(&f->app, "ok pending", "aioctl h1 1 PEND - 0");
    pkh_cmd_expect(&f->app, "incomplete", "await h1 0 nowait");
    pkh_cmd_expect(&f->app, "ok", "cancel h1 0");
    pkh_cmd_expect(&f->app, "err 995", "await h1 0"); /* ERROR_OPERATION_ABORTED */
    pkh_cmd_expect(&f->app, "incomplete", "await h1 1 nowait");
    pkh_cmd_expect(&f->app, "ok", "cancel h1");       /* every request of the handle */
    pkh_cmd_expect(&f->app, "err 995", "await h1 1");
    pkh_cmd_expect(&f->app, "err 1168", "cancel h1"); /* ERROR_NOT_FOUND: nothing left */
    pkh_cmd_expect(&f->app, "ok pending", "aioctl h1 2 COUNTERS - 64");
    pkh_cmd_expect(&f->app, "ok", "await h1 2");
    down(f);
}

static void closehandle_sends_cleanup_then_close(void **state)
{
    fixture *f = up(1);
    pkh_cmd(&f->app, "list ECHO");
    pkh_cmd_expect(&f->app, "ok", "open h1 @0");
    pkh_cmd_expect(&f->app, "ok", "open h2 @0");
    pkh_cmd_expect(&f->app, "ok creates=2 cleanups=0 closes=0", "counters h1");
    pkh_cmd_expect(&f->app, "ok", "close h2");
    pkh_cmd_expect(&f->app, "ok creates=2 cleanups=1 closes=1", "counters h1");
    down(f);
}

static void closing_a_handle_completes_its_pending_requests_first(void **state)
{
    fixture *f = up(1);
    pkh_cmd(&f->app, "list ECHO");
    pkh_cmd_expect(&f->app, "ok", "open h1 @0");
    pkh_cmd_expect(&f->app, "ok", "open h2 @0 rw overlapped");
    pkh_cmd_expect(&f->app, "ok pending", "aioctl h2 0 PEND - 0");
    pkh_wait_counter(&f->app, "h1", "pending=1");
    pkh_cmd_expect(&f->app, "ok", "close h2");
    /* The driver's cleanup cancelled the request; the close came after it completed. */
    pkh_wait_counter(&f->app, "h1", "closes=1");
    pkh_cmd_expect(&f->app, "ok creates=2 cleanups=1 closes=1 cancelled=1 pending=0", "counters h1");
    down(f);
}

static void access_rights_of_the_handle_are_enforced(void **state)
{
    fixture *f = up(1);
    pkh_cmd(&f->app, "list ECHO");
    pkh_cmd_expect(&f->app, "ok", "open h1 @0 r");
    pkh_cmd_expect(&f->app, "err 5", "write h1 00");             /* ERROR_ACCESS_DENIED */
    pkh_cmd_expect(&f->app, "err 5", "ioctl h1 NEEDS_WRITE - 0");
    pkh_cmd_expect(&f->app, "ok 0", "read h1 4");
    pkh_cmd_expect(&f->app, "ok", "open h2 @0 w");
    pkh_cmd_expect(&f->app, "err 5", "read h2 4");
    pkh_cmd_expect(&f->app, "ok 0", "ioctl h2 NEEDS_WRITE - 0");
    down(f);
}

static void unknown_links_and_stale_handles_fail_with_windows_errors(void **state)
{
    fixture *f = up(1);
    pkh_cmd_expect(&f->app, "err 2", "open h1 \\\\?\\SWD#PKHOST#nothere#" PKHOST_ECHO_GUID_TEXT);
    pkh_cmd_expect(&f->app, "err 2", "open h1 \\\\?\\SWD#PKHOST#dev1#" PKHOST_TOGGLE_GUID_TEXT); /* disabled */
    pkh_cmd(&f->app, "list ECHO");
    pkh_cmd_expect(&f->app, "ok", "open h1 @0");
    pkh_cmd_expect(&f->app, "ok", "close h1");
    pkh_cmd_expect(&f->app, "err 6", "ioctl h1 ECHO - 0");        /* ERROR_INVALID_HANDLE */
    pkh_cmd_expect(&f->app, "err 6", "close h1");
    down(f);
}

static void devnodes_can_be_located_by_instance_id(void **state)
{
    fixture *f = up(1);
    pkh_cmd_expect(&f->app, "ok ", "locate SWD\\PKHOST\\dev1");
    pkh_cmd_expect(&f->app, "err 13", "locate SWD\\PKHOST\\nothere"); /* CR_NO_SUCH_DEVNODE */
    down(f);
}

PK_TEST_MAIN(PK_TEST(enumerate_lists_the_interfaces_of_configured_devices),
             PK_TEST(a_class_without_interfaces_lists_as_one_nul),
             PK_TEST(open_by_link_passes_the_reference_string_to_create),
             PK_TEST(ioctl_round_trip_echoes_every_size),
             PK_TEST(direct_and_neither_methods_reach_the_driver_buffers),
             PK_TEST(buffer_overflow_returns_more_data_with_the_data),
             PK_TEST(read_after_write_returns_the_written_data),
             PK_TEST(overlapped_requests_complete_through_getoverlappedresult),
             PK_TEST(cancelioex_cancels_a_pending_request),
             PK_TEST(closehandle_sends_cleanup_then_close),
             PK_TEST(closing_a_handle_completes_its_pending_requests_first),
             PK_TEST(access_rights_of_the_handle_are_enforced),
             PK_TEST(unknown_links_and_stale_handles_fail_with_windows_errors),
             PK_TEST(devnodes_can_be_located_by_instance_id))
