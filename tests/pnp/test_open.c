/* Opening devices through their interfaces: reference strings, link spellings, disabled links. */
#include "pk_testdrv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void finish(HSWDEVICE h)
{
    if (h)
        pk_testdrv_close_device(h);
    PnpkitSimWaitIdle();
    PnpkitDriverUnregister(u"pktest");
}

static NTSTATUS open_utf8(const char *name, PFILE_OBJECT *fo)
{
    UNICODE_STRING s;
    NTSTATUS st;
    assert_int_equal(PnpkitUnicodeStringFromUtf8(&s, name), STATUS_SUCCESS);
    st = PnpkitOpenDeviceInterface(&s, GENERIC_READ, 0, fo);
    RtlFreeUnicodeString(&s);
    return st;
}

static char *link_utf8(void)
{
    static char buf[400];
    char *u = PnpkitUnicodeStringToUtf8(&pk_testdrv_last_link);
    snprintf(buf, sizeof(buf), "%s", u);
    free(u);
    return buf;
}

/* P28 */
static void opening_a_link_with_a_reference_string_hands_the_driver_backslash_ref(void **state)
{
    PFILE_OBJECT fo;
    char name[450];
    pk_testdrv_register();
    pk_testdrv.ref_string = u"ref";
    HSWDEVICE h = pk_testdrv_create_device(u"d", NULL);
    pk_log_clear();
    assert_int_equal(open_utf8(link_utf8(), &fo), STATUS_SUCCESS);
    PnpkitCloseDeviceInterface(fo);
    snprintf(name, sizeof(name), "%s\\more\\text", link_utf8());
    assert_int_equal(open_utf8(name, &fo), STATUS_SUCCESS);
    PnpkitCloseDeviceInterface(fo);
    assert_int_equal(pk_log_find("irp:create:d:\\ref", 0), 0);
    assert_true(pk_log_find("irp:create:d:\\ref\\more\\text", 0) > 0);
    pk_testdrv_close_device(h);

    pk_testdrv.ref_string = NULL;
    h = pk_testdrv_create_device(u"plain", NULL);
    pk_log_clear();
    assert_int_equal(open_utf8(link_utf8(), &fo), STATUS_SUCCESS);
    PnpkitCloseDeviceInterface(fo);
    assert_int_equal(pk_log_find("irp:create:plain:", 0), 0); /* Length 0 */
    finish(h);
}

/* P29, P32 */
static void a_link_in_upper_case_or_with_the_user_prefix_reaches_the_same_interface(void **state)
{
    PFILE_OBJECT fo;
    char name[400];
    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", NULL);
    snprintf(name, sizeof(name), "%s", link_utf8());
    for (char *p = name; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 32);
    assert_int_equal(open_utf8(name, &fo), STATUS_SUCCESS);
    PnpkitCloseDeviceInterface(fo);
    snprintf(name, sizeof(name), "%s", link_utf8());
    name[1] = '\\'; /* \\?\ */
    assert_int_equal(open_utf8(name, &fo), STATUS_SUCCESS);
    PnpkitCloseDeviceInterface(fo);
    name[2] = '!';
    assert_int_equal(open_utf8(name, &fo), STATUS_OBJECT_NAME_NOT_FOUND);
    finish(h);
}

/* P30 */
static void disabling_an_interface_keeps_open_handles_and_refuses_new_opens(void **state)
{
    PFILE_OBJECT fo, again;
    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", NULL);
    assert_int_equal(open_utf8(link_utf8(), &fo), STATUS_SUCCESS);
    assert_int_equal(IoSetDeviceInterfaceState(&pk_testdrv_last_link, FALSE), STATUS_SUCCESS);
    assert_int_equal(open_utf8(link_utf8(), &again), STATUS_OBJECT_NAME_NOT_FOUND);
    /* The open handle still reaches the driver. */
    PIRP irp;
    IO_STATUS_BLOCK iosb;
    KEVENT done;
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    irp = IoBuildDeviceIoControlRequest(0x222000, IoGetRelatedDeviceObject(fo), NULL, 0, NULL, 0, FALSE, &done, &iosb);
    assert_non_null(irp);
    IoGetNextIrpStackLocation(irp)->FileObject = fo;
    NTSTATUS st = IoCallDriver(IoGetRelatedDeviceObject(fo), irp);
    if (st == STATUS_PENDING)
        KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
    assert_int_equal(iosb.Status, STATUS_SUCCESS);
    PnpkitCloseDeviceInterface(fo);
    assert_int_equal(IoSetDeviceInterfaceState(&pk_testdrv_last_link, TRUE), STATUS_SUCCESS);
    assert_int_equal(open_utf8(link_utf8(), &again), STATUS_SUCCESS);
    PnpkitCloseDeviceInterface(again);
    finish(h);
}

/* The create status of the driver is the open's status, and nothing stays counted. */
static void a_create_failed_by_the_driver_fails_the_open_and_leaves_no_handle(void **state)
{
    PFILE_OBJECT fo;
    DEVINST dn;
    pk_testdrv_register();
    pk_testdrv.create_status = STATUS_ACCESS_DENIED;
    HSWDEVICE h = pk_testdrv_create_device(u"d", &dn);
    assert_int_equal(open_utf8(link_utf8(), &fo), STATUS_ACCESS_DENIED);
    /* No outstanding open: the removal is not vetoed. */
    assert_int_equal(CM_Query_And_Remove_SubTreeW(dn, NULL, NULL, 0, 0), CR_SUCCESS);
    finish(h);
}

/* IoGetDeviceObjectPointer opens a symbolic link too, and keeps no handle. */
static void io_get_device_object_pointer_opens_a_link_without_keeping_a_handle(void **state)
{
    PFILE_OBJECT fo;
    PDEVICE_OBJECT top;
    DEVINST dn;
    pk_testdrv_register();
    HSWDEVICE h = pk_testdrv_create_device(u"d", &dn);
    pk_log_clear();
    assert_int_equal(IoGetDeviceObjectPointer(&pk_testdrv_last_link, GENERIC_READ, &fo, &top), STATUS_SUCCESS);
    const char *expected[] = { "irp:create:d:", "irp:cleanup:d", NULL };
    pk_log_expect(expected);
    assert_int_equal(CM_Query_And_Remove_SubTreeW(dn, NULL, NULL, 0, 0), CR_SUCCESS); /* no open handle */
    /* The stack is gone: the close reaches the PDO, which completes it. */
    ObDereferenceObject(fo);
    finish(h);
}

PK_TEST_MAIN(
    PK_TEST(opening_a_link_with_a_reference_string_hands_the_driver_backslash_ref),
    PK_TEST(a_link_in_upper_case_or_with_the_user_prefix_reaches_the_same_interface),
    PK_TEST(disabling_an_interface_keeps_open_handles_and_refuses_new_opens),
    PK_TEST(a_create_failed_by_the_driver_fails_the_open_and_leaves_no_handle),
    PK_TEST(io_get_device_object_pointer_opens_a_link_without_keeping_a_handle),
)
