/*
 * test_host_security.c — who may talk to pnphost and what a bad client can do: the socket's
 * mode and group, a foreign user refused at connect and by an interface_access rule (when the
 * test runs as root and can switch to "nobody"), and malformed, oversized, premature and
 * forged messages, each closing only the connection that sent it while the host serves on.
 */
#include "harness/host_harness.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void expect_host_still_serves(const pkh_host *h)
{
    pkh_app a;
    pkh_app_start(&a, h);
    pkh_cmd_expect(&a, "ok 1", "list ECHO");
    assert_int_equal(pkh_app_exit(&a), 0);
}

static void the_socket_has_mode_0660(void **state)
{
    pkh_host h;
    struct stat st;
    pkh_host_up(&h, 1, NULL);
    assert_int_equal(stat(h.socket, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0660);
    assert_int_equal(st.st_gid, getegid());
    assert_int_equal(pkh_host_stop(&h), 0);
    assert_int_not_equal(access(h.socket, F_OK), 0); /* removed at stop */
    pkh_host_cleanup(&h);
}

static void the_socket_group_is_configurable(void **state)
{
    pkh_host h;
    struct stat st;
    const struct group *gr = getgrnam("nogroup");
    char extra[128];

    if (geteuid() != 0 || !gr) {
        skip(); /* giving a file to another group needs root */
        return;
    }
    snprintf(extra, sizeof(extra), "group = \"nogroup\";");
    pkh_host_up(&h, 1, extra);
    assert_int_equal(stat(h.socket, &st), 0);
    assert_int_equal(st.st_gid, gr->gr_gid);
    assert_int_equal(st.st_mode & 0777, 0660);
    assert_int_equal(pkh_host_stop(&h), 0);
    pkh_host_cleanup(&h);
}

static void a_foreign_user_is_refused_at_connect(void **state)
{
    pkh_host h;
    pkh_app a;
    const struct passwd *pw = getpwnam("nobody");

    if (geteuid() != 0 || !pw) {
        skip();
        return;
    }
    pkh_host_up(&h, 1, NULL); /* socket root:root 0660 */
    pkh_app_start_as(&a, &h, pw->pw_uid, pw->pw_gid);
    pkh_cmd_expect(&a, "err 51", "list ECHO");  /* CR_ACCESS_DENIED (0x33) */
    pkh_cmd_expect(&a, "err 5", "open h1 \\\\?\\SWD#PKHOST#dev1#" PKHOST_ECHO_GUID_TEXT "\\ref");
    assert_int_equal(pkh_app_exit(&a), 0);
    expect_host_still_serves(&h);
    assert_int_equal(pkh_host_stop(&h), 0);
    pkh_host_cleanup(&h);
}

static void an_interface_access_rule_refuses_a_foreign_user(void **state)
{
    pkh_host h;
    pkh_app a, root;
    const struct passwd *pw = getpwnam("nobody");
    const struct group *gr = getgrnam("nogroup");
    char extra[256];

    if (geteuid() != 0 || !pw || !gr) {
        skip();
        return;
    }
    /* nobody may connect (the socket's group is its group), but the SECURE class is root's. */
    snprintf(extra, sizeof(extra),
             "group = \"nogroup\";\n"
             "interface_access = ( { class = \"%s\"; owner = \"root\"; group = \"root\"; mode = \"0600\"; } );",
             PKHOST_SECURE_GUID_TEXT);
    pkh_host_up(&h, 1, extra);
    pkh_app_start_as(&a, &h, pw->pw_uid, gr->gr_gid);
    pkh_cmd_expect(&a, "ok 1", "list SECURE");
    pkh_cmd_expect(&a, "err 5", "open h1 @0");        /* ERROR_ACCESS_DENIED */
    pkh_cmd_expect(&a, "err 5", "open h1 @0 r");
    pkh_cmd(&a, "list ECHO");
    pkh_cmd_expect(&a, "ok", "open h2 @0");          /* other classes are open to it */
    pkh_cmd_expect(&a, "ok 1 5a", "ioctl h2 ECHO 5a 1");
    assert_int_equal(pkh_app_exit(&a), 0);
    pkh_app_start(&root, &h);
    pkh_cmd(&root, "list SECURE");
    pkh_cmd_expect(&root, "ok", "open h1 @0");       /* the owner may */
    assert_int_equal(pkh_app_exit(&root), 0);
    assert_int_equal(pkh_host_stop(&h), 0);
    pkh_host_cleanup(&h);
}

static void a_read_only_rule_allows_reading_only(void **state)
{
    pkh_host h;
    pkh_app a;
    const struct passwd *pw = getpwnam("nobody");
    const struct group *gr = getgrnam("nogroup");
    char extra[256];

    if (geteuid() != 0 || !pw || !gr) {
        skip();
        return;
    }
    snprintf(extra, sizeof(extra),
             "group = \"nogroup\";\n"
             "interface_access = ( { class = \"%s\"; owner = \"root\"; mode = \"0644\"; } );",
             PKHOST_SECURE_GUID_TEXT);
    pkh_host_up(&h, 1, extra);
    pkh_app_start_as(&a, &h, pw->pw_uid, gr->gr_gid);
    pkh_cmd(&a, "list SECURE");
    pkh_cmd_expect(&a, "err 5", "open h1 @0 rw");
    pkh_cmd_expect(&a, "ok", "open h1 @0 r");
    assert_int_equal(pkh_app_exit(&a), 0);
    assert_int_equal(pkh_host_stop(&h), 0);
    pkh_host_cleanup(&h);
}

/* Sends raw bytes on a new connection (after HELLO when hello is true) and checks that the
 * host closes that connection, counts it, and goes on serving. */
static void expect_closed_after(const pkh_host *h, bool hello, const void *bytes, size_t n)
{
    uint32_t before[PNPH_STAT_COUNT], after[PNPH_STAT_COUNT];
    int fd;

    pkh_stats(h, before);
    fd = hello ? pkh_raw_connect(h) : pkh_raw_socket(h);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, n), (ssize_t)n);
    assert_true(pkh_raw_closed(fd, PKH_WAIT_MS));
    close(fd);
    pkh_stats(h, after);
    assert_true(after[PNPH_STAT_MALFORMED] > before[PNPH_STAT_MALFORMED]);
    expect_host_still_serves(h);
}

static void malformed_messages_close_only_their_connection(void **state)
{
    static uint8_t buf[256];
    pkh_host h;
    pnph_builder b;
    pkh_app a;

    pkh_host_up(&h, 1, NULL);
    pkh_app_start(&a, &h); /* a bystander with an open handle: it must not notice anything */
    pkh_cmd(&a, "list ECHO");
    pkh_cmd_expect(&a, "ok", "open h1 @0");

    memset(buf, 0x41, sizeof(buf)); /* no magic at all */
    expect_closed_after(&h, false, buf, 64);

    pnph_begin(&b, buf, sizeof(buf), PNPH_STATS, 1); /* anything before HELLO */
    expect_closed_after(&h, false, buf, pnph_finish(&b));

    pnph_begin(&b, buf, sizeof(buf), PNPH_IOCTL, 1); /* an input length beyond the payload */
    pnph_put_u64(&b, 1);
    pnph_put_u32(&b, IOCTL_PKH_ECHO);
    pnph_put_u32(&b, 100);
    pnph_put_u32(&b, 0);
    pnph_put_u32(&b, 0);
    pnph_put_bytes(&b, "abcd", 4);
    expect_closed_after(&h, true, buf, pnph_finish(&b));

    pnph_begin(&b, buf, sizeof(buf), 0x7777, 1); /* an unknown type */
    expect_closed_after(&h, true, buf, pnph_finish(&b));

    pnph_begin(&b, buf, sizeof(buf), PNPH_EVENT, 0); /* a message that only the host sends */
    expect_closed_after(&h, true, buf, pnph_finish(&b));

    pnph_begin(&b, buf, sizeof(buf), PNPH_HELLO, 1); /* a second HELLO */
    pnph_put_u32(&b, 0);
    pnph_put_u32(&b, 0);
    pnph_put_u64(&b, 0);
    pnph_put_u64(&b, 0);
    expect_closed_after(&h, true, buf, pnph_finish(&b));

    pkh_cmd_expect(&a, "ok 1 7f", "ioctl h1 ECHO 7f 1");
    assert_int_equal(pkh_app_exit(&a), 0);
    assert_int_equal(pkh_host_stop(&h), 0);
    pkh_host_cleanup(&h);
}

/* The messages of protocol revision 2 with bad fields: PNPH_DEVICE_EVENT with data beyond
 * PNPH_MAX_EVENT_DATA, a name offset outside the data or without a NUL, a data length past the
 * payload, trailing bytes; a DEVNODE operation past SURPRISE_REMOVE; PNPH_HANDLES with a payload;
 * PNPH_LIST_INTERFACES with a bad flag. Each closes its own connection only. */
static void malformed_revision_2_messages_close_only_their_connection(void **state)
{
    static uint8_t buf[PNPH_MAX_MESSAGE];
    static const uint8_t named[] = { 'n', 0, 'm', 0 }; /* no NUL */
    pkh_host h;
    pnph_builder b;
    pkh_app a;

    pkh_host_up(&h, 1, NULL);
    pkh_app_start(&a, &h);
    pkh_cmd(&a, "list ECHO");
    pkh_cmd_expect(&a, "ok", "open h1 @0");
    pkh_cmd_expect(&a, "ok", "reg handle r1 h1");

    pnph_begin(&b, buf, sizeof(buf), PNPH_DEVICE_EVENT, 1); /* oversized data */
    pnph_put_u32(&b, 2);
    pnph_put_u32(&b, 0xffffffffu);
    pnph_put_bytes(&b, &PKHOST_CUSTOM_EVENT_GUID, sizeof(GUID));
    pnph_put_u32(&b, PNPH_MAX_EVENT_DATA + 1);
    memset(pnph_reserve(&b, PNPH_MAX_EVENT_DATA + 1), 0x5a, PNPH_MAX_EVENT_DATA + 1);
    expect_closed_after(&h, true, buf, pnph_finish(&b));

    pnph_begin(&b, buf, sizeof(buf), PNPH_DEVICE_EVENT, 1); /* a name without a NUL */
    pnph_put_u32(&b, 2);
    pnph_put_u32(&b, 0);
    pnph_put_bytes(&b, &PKHOST_CUSTOM_EVENT_GUID, sizeof(GUID));
    pnph_put_u32(&b, sizeof(named));
    pnph_put_bytes(&b, named, sizeof(named));
    expect_closed_after(&h, true, buf, pnph_finish(&b));

    pnph_begin(&b, buf, sizeof(buf), PNPH_DEVICE_EVENT, 1); /* a name offset past the data */
    pnph_put_u32(&b, 2);
    pnph_put_u32(&b, 64);
    pnph_put_bytes(&b, &PKHOST_CUSTOM_EVENT_GUID, sizeof(GUID));
    pnph_put_u32(&b, 0);
    expect_closed_after(&h, true, buf, pnph_finish(&b));

    pnph_begin(&b, buf, sizeof(buf), PNPH_DEVICE_EVENT, 1); /* a data length past the payload */
    pnph_put_u32(&b, 2);
    pnph_put_u32(&b, 0xffffffffu);
    pnph_put_bytes(&b, &PKHOST_CUSTOM_EVENT_GUID, sizeof(GUID));
    pnph_put_u32(&b, 100);
    pnph_put_bytes(&b, "abcd", 4);
    expect_closed_after(&h, true, buf, pnph_finish(&b));

    pnph_begin(&b, buf, sizeof(buf), PNPH_DEVICE_EVENT, 1); /* trailing bytes */
    pnph_put_u32(&b, 2);
    pnph_put_u32(&b, 0xffffffffu);
    pnph_put_bytes(&b, &PKHOST_CUSTOM_EVENT_GUID, sizeof(GUID));
    pnph_put_u32(&b, 1);
    pnph_put_bytes(&b, "ab", 2);
    expect_closed_after(&h, true, buf, pnph_finish(&b));

    pnph_begin(&b, buf, sizeof(buf), PNPH_DEVNODE, 1); /* an operation past SURPRISE_REMOVE */
    pnph_put_u32(&b, PNPH_DN_SURPRISE_REMOVE + 1);
    pnph_put_u32(&b, 2);
    pnph_put_u32(&b, 0);
    pnph_put_u32(&b, 0);
    expect_closed_after(&h, true, buf, pnph_finish(&b));

    pnph_begin(&b, buf, sizeof(buf), PNPH_HANDLES, 1); /* HANDLES has no payload */
    pnph_put_u32(&b, 0);
    expect_closed_after(&h, true, buf, pnph_finish(&b));

    pnph_begin(&b, buf, sizeof(buf), PNPH_LIST_INTERFACES, 1); /* all classes, but with a class */
    pnph_put_bytes(&b, &PKHOST_ECHO_GUID, sizeof(GUID));
    pnph_put_u32(&b, PNPH_LIST_ALL_CLASSES);
    pnph_put_u32(&b, 0);
    expect_closed_after(&h, true, buf, pnph_finish(&b));

    pnph_begin(&b, buf, sizeof(buf), PNPH_LIST_INTERFACES, 1); /* an unknown list flag */
    pnph_put_bytes(&b, &PKHOST_ECHO_GUID, sizeof(GUID));
    pnph_put_u32(&b, 0x10);
    pnph_put_u32(&b, 0);
    expect_closed_after(&h, true, buf, pnph_finish(&b));

    /* None of them reached the device: the bystander saw no event and still works. */
    assert_false(pkh_saw_line(&a, "ev r1"));
    pkh_cmd_expect(&a, "ok 1 7f", "ioctl h1 ECHO 7f 1");
    assert_int_equal(pkh_app_exit(&a), 0);
    assert_int_equal(pkh_host_stop(&h), 0);
    pkh_host_cleanup(&h);
}

static void an_oversized_message_is_refused_from_its_header(void **state)
{
    uint8_t hdr[PNPH_HEADER_SIZE];
    pkh_host h;
    pnph_builder b;

    pkh_host_up(&h, 1, NULL);
    pnph_begin(&b, hdr, sizeof(hdr), PNPH_WRITE, 1);
    pnph_finish(&b);
    pnph_st32(hdr + 8, 16u << 20); /* 16 MiB announced; not one byte of it is sent */
    expect_closed_after(&h, true, hdr, sizeof(hdr));
    assert_int_equal(pkh_host_stop(&h), 0);
    pkh_host_cleanup(&h);
}

static void another_protocol_version_is_told_the_revision_mismatch(void **state)
{
    uint8_t buf[128];
    pkh_host h;
    pnph_builder b;
    pnph_msg m;
    ssize_t n;
    int fd;

    pkh_host_up(&h, 1, NULL);
    fd = pkh_raw_socket(&h);
    assert_true(fd >= 0);
    pnph_begin(&b, buf, sizeof(buf), PNPH_HELLO, 9);
    pnph_put_u32(&b, 0);
    pnph_put_u32(&b, 0);
    pnph_put_u64(&b, 0);
    pnph_put_u64(&b, 0);
    size_t len = pnph_finish(&b);
    buf[4] = 2; /* version 2 */
    assert_int_equal(write(fd, buf, len), (ssize_t)len);
    n = read(fd, buf, sizeof(buf));
    assert_int_equal(n, PNPH_HEADER_SIZE + 24);
    assert_int_equal(pnph_decode(buf, (size_t)n, &m), PNPH_OK);
    assert_int_equal(m.u.hello_reply.status, 0xC0000059u); /* STATUS_REVISION_MISMATCH */
    assert_true(pkh_raw_closed(fd, PKH_WAIT_MS));
    close(fd);
    assert_int_equal(pkh_host_stop(&h), 0);
    pkh_host_cleanup(&h);
}

static void a_connection_cannot_join_another_session(void **state)
{
    uint8_t buf[128];
    pkh_host h;
    pnph_builder b;
    pnph_msg m;
    ssize_t n;
    int fd;

    pkh_host_up(&h, 1, NULL);
    int first = pkh_raw_connect(&h); /* session 1 or later exists now */
    assert_true(first >= 0);
    fd = pkh_raw_socket(&h);
    pnph_begin(&b, buf, sizeof(buf), PNPH_HELLO, 3);
    pnph_put_u32(&b, PNPH_HELLO_ATTACH);
    pnph_put_u32(&b, 0);
    pnph_put_u64(&b, 1);
    pnph_put_u64(&b, 0x1234); /* a guessed key */
    size_t len = pnph_finish(&b);
    assert_int_equal(write(fd, buf, len), (ssize_t)len);
    n = read(fd, buf, sizeof(buf));
    assert_int_equal(n, PNPH_HEADER_SIZE + 24);
    assert_int_equal(pnph_decode(buf, (size_t)n, &m), PNPH_OK);
    assert_int_equal(m.u.hello_reply.status, (uint32_t)STATUS_ACCESS_DENIED);
    assert_true(pkh_raw_closed(fd, PKH_WAIT_MS));
    close(fd);
    close(first);
    assert_int_equal(pkh_host_stop(&h), 0);
    pkh_host_cleanup(&h);
}

PK_TEST_MAIN(PK_TEST(the_socket_has_mode_0660),
             PK_TEST(the_socket_group_is_configurable),
             PK_TEST(a_foreign_user_is_refused_at_connect),
             PK_TEST(an_interface_access_rule_refuses_a_foreign_user),
             PK_TEST(a_read_only_rule_allows_reading_only),
             PK_TEST(malformed_messages_close_only_their_connection),
             PK_TEST(malformed_revision_2_messages_close_only_their_connection),
             PK_TEST(an_oversized_message_is_refused_from_its_header),
             PK_TEST(another_protocol_version_is_told_the_revision_mismatch),
             PK_TEST(a_connection_cannot_join_another_session))
