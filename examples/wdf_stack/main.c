/*
 * wdf_stack — a WDF filter above a WDF function driver, as an application sees it.
 *
 * The function driver ("counter") keeps a counter per handle in its WDFFILEOBJECTs and registers
 * a device interface with reference string "control"; the upper filter ("audit") forwards and
 * reports every IOCTL (drivers.c). The program:
 *   1. creates a software device; both drivers are loaded and the stack starts;
 *   2. opens the interface by its symbolic link (the create carries the file name "\control"),
 *      adds to the counter and reads it back with IOCTLs through the filter;
 *   3. asks for an orderly removal with the handle still open (vetoed: an open handle), closes
 *      the handle, and asks again (removed);
 *   4. creates the device again, opens it, and unplugs it with the handle open (a surprise
 *      removal): the interface goes at once, IOCTLs on the old handle fail, and the device is
 *      torn down when the handle is closed.
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

static HSWDEVICE create_device(PCWSTR name, DEVINST *devinst)
{
    SW_DEVICE_CREATE_INFO info;
    HSWDEVICE h = NULL;
    KEVENT done;
    WCHAR id[64] = u"SWD\\EXAMPLE\\";

    memset(&info, 0, sizeof(info));
    info.cbSize = sizeof(info);
    info.pszInstanceId = name;
    info.pszzHardwareIds = WDFSTACK_HWID;
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

int main(void)
{
    UNICODE_STRING link;
    WCHAR buffer[300];
    PFILE_OBJECT file;
    HSWDEVICE h;
    DEVINST dn;
    PNP_VETO_TYPE veto;
    LONG value;
    NTSTATUS status;
    CONFIGRET cr;

    printf("== drivers registered for EXAMPLE\\WDFSTACK: counter (function), audit (upper filter)\n");
    PnpkitDriverRegister(u"counter", counter_driver_entry, WDFSTACK_HWID);
    PnpkitDriverRegisterFilter(u"audit", audit_driver_entry, WDFSTACK_HWID, TRUE);

    printf("== a device appears\n");
    h = create_device(u"unit0", &dn);
    if (!h || !find_link(&link, buffer, 300)) {
        fprintf(stderr, "the stack did not start\n");
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

    printf("== the device appears again and is unplugged with a handle open\n");
    h = create_device(u"unit1", &dn);
    if (!h || !find_link(&link, buffer, 300)) {
        fprintf(stderr, "the stack did not start again\n");
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

    PnpkitDriverUnregister(u"audit");
    PnpkitDriverUnregister(u"counter");
    PnpkitShutdown();
    printf("== live framework objects at the end: %u\n", PnpkitLiveObjectCount());
    return PnpkitLiveObjectCount() == 0 ? 0 : 1;
}
