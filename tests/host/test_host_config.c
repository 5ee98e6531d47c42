/*
 * test_host_config.c — pnphost's configuration file (docs/pnphost.md): libconfig parses it,
 * pnphost checks it, and every mistake is reported as "file:line: reason" with exit status 2
 * before anything is loaded; start-up failures (a missing driver package, a socket taken by a
 * live host) exit with status 1.
 */
#include "harness/host_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64], file[128], err[4096];

static void write_config(const char *text)
{
    FILE *f;
    snprintf(dir, sizeof(dir), "/tmp/pkhost-conf-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(file, sizeof(file), "%s/pnphost.conf", dir);
    f = fopen(file, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int check(void)
{
    const char *args[] = { "--check", "-c", file, NULL };
    return pkh_run_pnphost(args, err, sizeof(err));
}

static void remove_config(void)
{
    unlink(file);
    rmdir(dir);
}

/* Checks the status and that stderr names file:line and the reason. */
static void expect_error(int line, const char *reason)
{
    char where[160];
    assert_int_equal(check(), 2);
    snprintf(where, sizeof(where), "%s:%d: ", file, line);
    if (!strstr(err, where) || !strstr(err, reason))
        fail_msg("expected \"%s...%s\" in: %s", where, reason, err);
    remove_config();
}

static void a_valid_file_checks_ok(void **state)
{
    write_config("socket = \"/tmp/x.sock\";\n"
                 "group = \"root\";\n"
                 "notification_timeout_ms = 5000;\n"
                 "drivers = ( { path = \"libfoo_drv.so\"; hardware_ids = [ \"FOO\\\\BAR\" ]; } );\n"
                 "devices = ( { enumerator = \"FOO\"; instance = \"one\"; hardware_ids = [ \"FOO\\\\BAR\" ]; } );\n"
                 "interface_access = ( { class = \"{6d1f3a21-4b7c-4e55-8a10-314253647586}\"; owner = 0; mode = \"0600\"; } );\n");
    assert_int_equal(check(), 0);
    remove_config();
}

static void an_unknown_key_is_reported_with_file_and_line(void **state)
{
    write_config("# comment\n"
                 "drivers = (\n"
                 "  { path = \"x.so\";\n"
                 "    hardware_ids = [ \"A\" ];\n"
                 "    flavour = 1; }\n"
                 ");\n");
    expect_error(5, "drivers[0]: unknown key 'flavour'");
}

static void an_unknown_top_level_key_is_reported(void **state)
{
    write_config("socket = \"/tmp/x.sock\";\n\nsokcet_mode = \"0660\";\n");
    expect_error(3, "unknown key 'sokcet_mode'");
}

static void a_value_of_the_wrong_type_is_reported(void **state)
{
    write_config("notification_timeout_ms = \"soon\";\n");
    expect_error(1, "notification_timeout_ms must be an integer");
}

static void a_value_out_of_range_is_reported(void **state)
{
    write_config("\nnotification_timeout_ms = 0;\n");
    expect_error(2, "notification_timeout_ms must be between 1 and 600000");
}

static void a_bare_octal_mode_is_refused(void **state)
{
    write_config("interface_access = ( { class = \"{6d1f3a21-4b7c-4e55-8a10-314253647586}\"; mode = 0600; } );\n");
    expect_error(1, "mode must be a string of octal digits");
}

static void a_bad_guid_is_reported(void **state)
{
    write_config("interface_access = (\n { class = \"6d1f3a21\"; mode = \"0600\"; }\n);\n");
    expect_error(2, "class must be a GUID");
}

static void a_missing_key_is_reported(void **state)
{
    write_config("devices = ( { enumerator = \"FOO\"; hardware_ids = [ \"A\" ]; } );\n");
    expect_error(1, "devices[0]: missing key 'instance'");
}

static void an_unknown_group_is_reported(void **state)
{
    write_config("group = \"no-such-group-pnpkit\";\n");
    expect_error(1, "no group named 'no-such-group-pnpkit'");
}

static void a_syntax_error_is_reported_by_libconfig_with_its_line(void **state)
{
    write_config("socket = \"/tmp/x.sock\";\ndrivers = ( { path = ; } );\n");
    expect_error(2, "syntax error");
}

static void a_missing_file_is_reported(void **state)
{
    snprintf(file, sizeof(file), "/tmp/pkhost-no-such-dir/pnphost.conf");
    assert_int_equal(check(), 2);
    assert_non_null(strstr(err, "cannot read the file"));
}

static void a_bad_command_line_exits_2(void **state)
{
    const char *args[] = { "--no-such-option", NULL };
    assert_int_equal(pkh_run_pnphost(args, err, sizeof(err)), 2);
    const char *help[] = { "--help", NULL };
    assert_int_equal(pkh_run_pnphost(help, err, sizeof(err)), 0);
}

static void a_missing_driver_package_fails_start_up(void **state)
{
    pkh_host h;
    const char *args[3];
    pkh_host_prepare(&h, 1, NULL);
    FILE *f = fopen(h.config, "a");
    assert_non_null(f);
    fclose(f);
    /* the same file, with the driver path pointing nowhere */
    write_config("drivers = ( { path = \"/nonexistent/libnothing.so\"; hardware_ids = [ \"A\" ]; } );\n");
    args[0] = "-c";
    args[1] = file;
    args[2] = NULL;
    assert_int_equal(pkh_run_pnphost(args, err, sizeof(err)), 1);
    assert_non_null(strstr(err, "cannot load the package"));
    remove_config();
    pkh_host_cleanup(&h);
}

static void a_second_host_on_the_same_socket_refuses_to_start(void **state)
{
    pkh_host h;
    const char *args[] = { "-c", NULL, NULL };
    pkh_host_up(&h, 1, NULL);
    args[1] = h.config;
    assert_int_equal(pkh_run_pnphost(args, err, sizeof(err)), 1);
    assert_non_null(strstr(err, "another pnphost serves"));
    assert_int_equal(pkh_host_stop(&h), 0);
    pkh_host_cleanup(&h);
}

PK_TEST_MAIN(PK_TEST(a_valid_file_checks_ok),
             PK_TEST(an_unknown_key_is_reported_with_file_and_line),
             PK_TEST(an_unknown_top_level_key_is_reported),
             PK_TEST(a_value_of_the_wrong_type_is_reported),
             PK_TEST(a_value_out_of_range_is_reported),
             PK_TEST(a_bare_octal_mode_is_refused),
             PK_TEST(a_bad_guid_is_reported),
             PK_TEST(a_missing_key_is_reported),
             PK_TEST(an_unknown_group_is_reported),
             PK_TEST(a_syntax_error_is_reported_by_libconfig_with_its_line),
             PK_TEST(a_missing_file_is_reported),
             PK_TEST(a_bad_command_line_exits_2),
             PK_TEST(a_missing_driver_package_fails_start_up),
             PK_TEST(a_second_host_on_the_same_socket_refuses_to_start))
