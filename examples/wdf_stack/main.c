/*
 * wdf_stack — a WDF filter above a WDF function driver, as an application and another driver see
 * it.
 *
 * The function driver ("counter") keeps a counter per handle in its WDFFILEOBJECTs and registers
 * a device interface with reference string "control"; the upper filter ("audit") forwards and
 * reports every IOCTL; a third driver ("watcher", on a device of its own) opens each counter
 * interface that arrives through a remote WDFIOTARGET (drivers.c). The program:
 *   1. creates the watcher's device, then a counter device; the stack starts, the interface
 *      arrives, and the watcher opens it by its symbolic link and sends IOCTLs through the target;
 *   2. opens the interface as an application (the create carries the file name "\control"),
 *      adds to the counter and reads it back with IOCTLs through the filter;
 *   3. asks for an orderly removal with the application's handle still open: the watcher closes
 *      its target for the query-remove, the open handle vetoes, the watcher reopens; then closes
 *      the handle and asks again: the watcher closes, the device is removed;
 *   4. creates the counter device again (the watcher opens it again), opens it, and unplugs it
 *      with the handles open (a surprise removal): the watcher's target is closed, the interface
 *      goes at once, IOCTLs on the old handle fail, and the device is torn down when the handle
 *      is closed;
 *   5. removes the watcher's device, which deletes its target.
 */
#include "drivers.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void say(const char *who, const char *fmt, ...)
{
    va_list ap;
    printf("  %-10s ", who);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static VOID created(HSWDEVICE h, HRESULT result, PVOID context, PCWSTR id) { KeSetEvent(context, IO_NO_INCREMENT, FALSE); }

static HSWDEVICE create_device(PCWSTR name, PCZZWSTR hwid, DEVINST *devinst)
{
    SW_DEVICE_CREATE_INFO info;
    HSWDEVICE h = NULL;
    KEVENT done;
    WCHAR id[64] = u"SWD\\EXAMPLE\\";

    memset(&info, 0, sizeof(info));
    info.cbSize = sizeof(info);
    info.pszInstanceId = name;
    info.pszzHardwareIds = hwid;
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    if (SwDeviceCreate(u"EXAMPLE", u"HTREE\\ROOT\\0", &info, 0, NULL, created, &done, &h) != S_OK)
        return NULL;
    KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
    PnpkitSimWaitIdle();
    memcpy(id + 12, name, (PnpkitWcsLen(name) + 1) * sizeof(WCHAR));
    CM_Locate_DevNodeW(devinst, id, 0);
    return h;
}

/* The first enabled link of the counter interface. */
static bool find_link(UNICODE_STRING *link, WCHAR *buffer, size_t chars)
{
    PZZWSTR list = NULL;
    bool found = false;

    if (!NT_SUCCESS(IoGetDeviceInterfaces(&GUID_DEVINTERFACE_WDFSTACK_COUNTER, NULL, 0, &list)))
        return false;
    if (list[0] && PnpkitWcsLen(list) < chars) {
        memcpy(buffer, list, (PnpkitWcsLen(list) + 1) * sizeof(WCHAR));
        RtlInitUnicodeString(link, buffer);
        found = true;
    }
    ExFreePool(list);
    return found;
}

/* An IOCTL on a handle, as DeviceIoControl sends it. */
static NTSTATUS ioctl(PFILE_OBJECT file, ULONG code, LONG *in, LONG *out)
{
    PDEVICE_OBJECT top = IoGetRelatedDeviceObject(file);
    IO_STATUS_BLOCK iosb;
    KEVENT done;
    PIRP irp;

    KeInitializeEvent(&done, NotificationEvent, FALSE);
    irp = IoBuildDeviceIoControlRequest(code, top, in, in ? sizeof(LONG) : 0, out, out ? sizeof(LONG) : 0, FALSE,
                                        &done, &iosb);
    if (!irp)
        return STATUS_INSUFFICIENT_RESOURCES;
    IoGetNextIrpStackLocation(irp)->FileObject = file;
    if (IoCallDriver(top, irp) == STATUS_PENDING)
        KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
    return iosb.Status;
}

static void print_link(PCUNICODE_STRING link)
{
    char *u8 = PnpkitUnicodeStringToUtf8(link);
    printf("  interface  %s\n", u8 ? u8 : "?");
    free(u8);
}

/* Waits (at most 5 s) until the watcher has used a newly arrived interface. */
static bool watcher_done(void)
{
    LARGE_INTEGER timeout;

    timeout.QuadPart = -50000000LL;
    return KeWaitForSingleObject(&watcher_used, Executive, KernelMode, FALSE, &timeout) == STATUS_SUCCESS;
}

int main(void)
{
    HSWDEVICE watch;
    DEVINST watch_dn;
    UNICODE_STRING link;
    WCHAR buffer[300];
    PFILE_OBJECT file;
    HSWDEVICE h;
    DEVINST dn;
    PNP_VETO_TYPE veto;
    LONG value;
    NTSTATUS status;
    CONFIGRET cr;

    printf("== drivers registered for EXAMPLE\\WDFSTACK: counter (function), audit (upper filter); "
           "for EXAMPLE\\WDFWATCH: watcher\n");
    KeInitializeEvent(&watcher_used, NotificationEvent, FALSE);
    PnpkitDriverRegister(u"counter", counter_driver_entry, WDFSTACK_HWID);
    PnpkitDriverRegisterFilter(u"audit", audit_driver_entry, WDFSTACK_HWID, TRUE);
    PnpkitDriverRegister(u"watcher", watcher_driver_entry, WDFWATCH_HWID);

    printf("== the watcher's device appears\n");
    watch = create_device(u"watch0", WDFWATCH_HWID, &watch_dn);
    if (!watch) {
        fprintf(stderr, "the watcher did not start\n");
        return 1;
    }

    printf("== a counter device appears; the watcher opens its interface through a remote I/O target\n");
    h = create_device(u"unit0", WDFSTACK_HWID, &dn);
    if (!h || !find_link(&link, buffer, 300) || !watcher_done()) {
        fprintf(stderr, "the stack did not start, or the watcher did not open it\n");
        return 1;
    }
    print_link(&link);

    printf("== an application opens the interface and sends IOCTLs\n");
    status = PnpkitOpenDeviceInterface(&link, GENERIC_READ | GENERIC_WRITE, 0, &file);
    say("app", "open: %s", PnpkitStatusName(status));
    for (LONG add = 5; add <= 7; add++) {
        status = ioctl(file, IOCTL_COUNTER_ADD, &add, NULL);
        say("app", "add %d: %s", add, PnpkitStatusName(status));
    }
    status = ioctl(file, IOCTL_COUNTER_GET, NULL, &value);
    say("app", "get: %s, counter = %d", PnpkitStatusName(status), value);

    printf("== orderly removal while the handle is open\n");
    veto = PNP_VetoTypeUnknown;
    cr = CM_Query_And_Remove_SubTreeW(dn, &veto, NULL, 0, 0);
    say("app", "CM_Query_And_Remove_SubTree: %s (veto type %d: an open handle)",
        cr == CR_REMOVE_VETOED ? "CR_REMOVE_VETOED" : "CR_SUCCESS", (int)veto);
    printf("== the handle is closed, then the removal is asked again\n");
    PnpkitCloseDeviceInterface(file);
    PnpkitSimWaitIdle();
    cr = CM_Query_And_Remove_SubTreeW(dn, NULL, NULL, 0, 0);
    PnpkitSimWaitIdle();
    say("app", "CM_Query_And_Remove_SubTree: %s", cr == CR_SUCCESS ? "CR_SUCCESS" : "failed");
    SwDeviceClose(h);
    PnpkitSimWaitIdle();

    printf("== the device appears again (the watcher opens it again) and is unplugged with handles open\n");
    KeClearEvent(&watcher_used);
    h = create_device(u"unit1", WDFSTACK_HWID, &dn);
    if (!h || !find_link(&link, buffer, 300) || !watcher_done()) {
        fprintf(stderr, "the stack did not start again, or the watcher did not open it\n");
        return 1;
    }
    status = PnpkitOpenDeviceInterface(&link, GENERIC_READ | GENERIC_WRITE, 0, &file);
    say("app", "open: %s", PnpkitStatusName(status));
    value = 1;
    ioctl(file, IOCTL_COUNTER_ADD, &value, NULL);
    PnpkitSimSurpriseRemove(dn);
    PnpkitSimWaitIdle();
    say("app", "after the unplug: the interface is %s", find_link(&link, buffer, 300) ? "still there" : "gone");
    status = ioctl(file, IOCTL_COUNTER_GET, NULL, &value);
    say("app", "get on the old handle: %s", PnpkitStatusName(status));
    printf("== the application closes its handle\n");
    PnpkitCloseDeviceInterface(file);
    SwDeviceClose(h);
    PnpkitSimWaitIdle();

    printf("== the watcher's device is removed; its target goes with it\n");
    SwDeviceClose(watch);
    PnpkitSimWaitIdle();

    PnpkitDriverUnregister(u"watcher");
    PnpkitDriverUnregister(u"audit");
    PnpkitDriverUnregister(u"counter");
    PnpkitShutdown();
    printf("== live framework objects at the end: %u\n", PnpkitLiveObjectCount());
    return PnpkitLiveObjectCount() == 0 ? 0 : 1;
}
