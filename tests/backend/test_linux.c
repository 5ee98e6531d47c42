/* The Linux backend: nodes of a watched directory become devices with interfaces; I/O on them
 * goes to the node; a node that vanishes is surprise-removed (P13). */
#include "pk_test.h"

#include <pnpkit/linux.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

DEFINE_GUID(LINUX_TEST_GUID, 0x9e0a1b2c, 0x3d4e, 0x4f50, 0x81, 0x92, 0xa3, 0xb4, 0xc5, 0xd6, 0xe7, 0xf8);

static char dir[256];

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/pnpkit-linux-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static ULONG count_links(void)
{
    ULONG len = 0;
    assert_int_equal(CM_Get_Device_Interface_List_SizeW(&len, (LPGUID)&LINUX_TEST_GUID, NULL, 0), CR_SUCCESS);
    return len;
}

typedef struct {
    volatile LONG arrivals, removals, remove_completes;
    KEVENT changed;
} watch_probe;

static NTSTATUS on_iface(PVOID notification, PVOID context)
{
    PDEVICE_INTERFACE_CHANGE_NOTIFICATION n = notification;
    watch_probe *p = context;
    if (IsEqualGUID(&n->Event, &GUID_DEVICE_INTERFACE_ARRIVAL))
        InterlockedIncrement(&p->arrivals);
    else
        InterlockedIncrement(&p->removals);
    KeSetEvent(&p->changed, IO_NO_INCREMENT, FALSE);
    return STATUS_SUCCESS;
}

static NTSTATUS entry(PDRIVER_OBJECT d, PUNICODE_STRING p) { return STATUS_SUCCESS; }

static void write_file(const char *name, const char *text)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void wait_for(volatile LONG *counter, LONG value, PKEVENT e)
{
    while (ReadAcquire(counter) < value)
        pk_test_wait_event(e);
}

static NTSTATUS read_via_irp(PFILE_OBJECT fo, void *buf, ULONG len, ULONG_PTR *got)
{
    KEVENT done;
    IO_STATUS_BLOCK iosb;
    LARGE_INTEGER offset = { .QuadPart = 0 };
    PDEVICE_OBJECT top = IoGetRelatedDeviceObject(fo);
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, top, buf, len, &offset, &done, &iosb);
    assert_non_null(irp);
    IoGetNextIrpStackLocation(irp)->FileObject = fo;
    if (IoCallDriver(top, irp) == STATUS_PENDING)
        KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
    *got = iosb.Information;
    return iosb.Status;
}

static void nodes_become_devices_and_a_vanished_node_is_surprise_removed(void **state)
{
    PNPKIT_LINUX_CLASS_MAP map[] = { { "sensor*", &LINUX_TEST_GUID } };
    PNPKIT_LINUX_WATCH watch;
    watch_probe p = { 0 };
    PDRIVER_OBJECT reg;
    PVOID entry_handle;
    char path[300];

    make_dir();
    write_file("sensor0", "hello from sensor0");
    write_file("other", "not a sensor");
    KeInitializeEvent(&p.changed, SynchronizationEvent, FALSE);
    assert_int_equal(PnpkitIoCreateDriver(u"watcher", entry, &reg), STATUS_SUCCESS);
    assert_int_equal(IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange, 0, (PVOID)&LINUX_TEST_GUID,
                                                    reg, on_iface, &p, &entry_handle),
                     STATUS_SUCCESS);
    assert_int_equal(PnpkitLinuxWatchDirectory(dir, map, 1, &watch), STATUS_SUCCESS);
    wait_for(&p.arrivals, 1, &p.changed);

    /* A node created later arrives too. */
    write_file("sensor1", "x");
    wait_for(&p.arrivals, 2, &p.changed);
    PnpkitSimWaitIdle();
    assert_true(count_links() > 1);

    /* Open the first one by its link and read the node through an IRP. */
    WCHAR list[1024];
    assert_int_equal(CM_Get_Device_Interface_ListW((LPGUID)&LINUX_TEST_GUID, NULL, list, ARRAYSIZE(list), 0),
                     CR_SUCCESS);
    UNICODE_STRING link;
    PCWSTR l = list;
    while (*l) {
        UNICODE_STRING s;
        RtlInitUnicodeString(&s, l);
        char *u = PnpkitUnicodeStringToUtf8(&s);
        bool is0 = strstr(u, "sensor0") != NULL;
        free(u);
        if (is0)
            break;
        l += PnpkitWcsLen(l) + 1;
    }
    assert_true(*l);
    RtlInitUnicodeString(&link, l);
    PFILE_OBJECT fo;
    assert_int_equal(PnpkitOpenDeviceInterface(&link, GENERIC_READ, 0, &fo), STATUS_SUCCESS);
    char buf[64] = { 0 };
    ULONG_PTR got = 0;
    assert_int_equal(read_via_irp(fo, buf, sizeof(buf) - 1, &got), STATUS_SUCCESS);
    assert_int_equal(got, 18);
    assert_string_equal(buf, "hello from sensor0");
    PnpkitCloseDeviceInterface(fo);

    /* P13: the node vanishes -> surprise removal -> the interface goes. */
    snprintf(path, sizeof(path), "%s/sensor0", dir);
    assert_int_equal(unlink(path), 0);
    wait_for(&p.removals, 1, &p.changed);

    PnpkitLinuxUnwatch(watch);
    PnpkitSimWaitIdle();
    assert_int_equal(p.removals, 2);
    assert_int_equal(count_links(), 1);
    IoUnregisterPlugPlayNotificationEx(entry_handle);
    PnpkitIoDeleteDriver(reg);
    remove_dir();
}

static void a_blocked_read_is_cancelled_by_io_cancel_irp(void **state)
{
    PNPKIT_LINUX_CLASS_MAP map[] = { { "*.fifo", &LINUX_TEST_GUID } };
    PNPKIT_LINUX_WATCH watch;
    char path[300];

    make_dir();
    snprintf(path, sizeof(path), "%s/data.fifo", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(PnpkitLinuxWatchDirectory(dir, map, 1, &watch), STATUS_SUCCESS);
    PnpkitSimWaitIdle();
    WCHAR list[512];
    assert_int_equal(CM_Get_Device_Interface_ListW((LPGUID)&LINUX_TEST_GUID, NULL, list, ARRAYSIZE(list), 0),
                     CR_SUCCESS);
    UNICODE_STRING link;
    RtlInitUnicodeString(&link, list);
    PFILE_OBJECT fo;
    assert_int_equal(PnpkitOpenDeviceInterface(&link, GENERIC_READ, 0, &fo), STATUS_SUCCESS);

    /* Nobody writes the FIFO: the read pends until it is cancelled. */
    KEVENT done;
    IO_STATUS_BLOCK iosb;
    char buf[16];
    LARGE_INTEGER offset = { .QuadPart = 0 };
    PDEVICE_OBJECT top = IoGetRelatedDeviceObject(fo);
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, top, buf, sizeof(buf), &offset, &done, &iosb);
    IoGetNextIrpStackLocation(irp)->FileObject = fo;
    assert_int_equal(IoCallDriver(top, irp), STATUS_PENDING);
    LARGE_INTEGER t = pk_test_timeout_ms(50);
    assert_int_equal(KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, &t), STATUS_TIMEOUT);
    assert_true(IoCancelIrp(irp));
    pk_test_wait_event(&done);
    assert_int_equal(iosb.Status, STATUS_CANCELLED);
    PnpkitCloseDeviceInterface(fo);
    PnpkitLinuxUnwatch(watch);
    PnpkitSimWaitIdle();
    remove_dir();
}

static void bad_arguments_are_refused(void **state)
{
    PNPKIT_LINUX_CLASS_MAP map[] = { { "*", &LINUX_TEST_GUID } };
    PNPKIT_LINUX_WATCH w = NULL;
    assert_int_equal(PnpkitLinuxWatchDirectory(NULL, map, 1, &w), STATUS_INVALID_PARAMETER);
    assert_int_equal(PnpkitLinuxWatchDirectory("/tmp", NULL, 1, &w), STATUS_INVALID_PARAMETER);
    assert_int_equal(PnpkitLinuxWatchDirectory("/nonexistent/pnpkit", map, 1, &w), STATUS_INVALID_PARAMETER);
    assert_null(w);
}

PK_TEST_MAIN(
    PK_TEST(nodes_become_devices_and_a_vanished_node_is_surprise_removed),
    PK_TEST(a_blocked_read_is_cancelled_by_io_cancel_irp),
    PK_TEST(bad_arguments_are_refused),
)
