/*
 * host_app — an application of pnphost: it finds the interfaces of a class, opens the first
 * one, sends it an IOCTL, and listens for what happens to the class and to the device it
 * opened (arrivals, removals, query-remove, custom events) until the device goes or the time is
 * up. It links libpnpkit-client, not libpnpkit: everything goes through the host's socket.
 *
 *   build/default/bin/pnphost -c build/default/examples/host_app.conf &
 *   build/default/examples/host_app [SECONDS] [{CLASS-GUID}] [IOCTL-CODE]
 *
 * Without arguments it uses the interface class and the echo IOCTL of the test driver package
 * that host_app.conf loads (tests/host/drvpkg), and listens for 5 seconds. The socket is
 * PNPKIT_HOST_SOCKET, or the default documented in <pnpkit/fileapi.h>.
 */
#include <pnpkit/fileapi.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

DEFINE_GUID(DEFAULT_CLASS, 0x6d1f3a20, 0x4b7c, 0x4e55, 0x8a, 0x10, 0x31, 0x42, 0x53, 0x64, 0x75, 0x86);
#define DEFAULT_IOCTL CTL_CODE(0x8123, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)

static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;
static int device_gone;                      /* atomic: set by a callback */
static HANDLE device = INVALID_HANDLE_VALUE; /* atomic: whoever takes it closes it */

static void close_device(void)
{
    HANDLE h = __atomic_exchange_n(&device, INVALID_HANDLE_VALUE, __ATOMIC_ACQ_REL);
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
}

static void narrow(const WCHAR *w, char *out, size_t cap)
{
    size_t i = 0;
    for (; w[i] && i + 1 < cap; i++)
        out[i] = w[i] < 0x80 ? (char)w[i] : '?';
    out[i] = 0;
}

static char class_tag[] = "class", device_tag[] = "device";

static const char *action_name(CM_NOTIFY_ACTION a)
{
    static const char *const names[] = { "interface arrival", "interface removal", "query-remove",
                                         "query-remove failed", "remove pending", "remove complete",
                                         "custom event", "instance enumerated", "instance started",
                                         "instance removed" };
    return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

/* Runs on a thread of the library; one registration's callbacks never overlap. */
static DWORD on_event(HCMNOTIFICATION h, PVOID context, CM_NOTIFY_ACTION action, PCM_NOTIFY_EVENT_DATA data,
                      DWORD size)
{
    char text[512] = "";

    if (data->FilterType == CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE)
        narrow(data->u.DeviceInterface.SymbolicLink, text, sizeof(text));
    else if (action == CM_NOTIFY_ACTION_DEVICECUSTOMEVENT)
        snprintf(text, sizeof(text), "{%08x-...}, %u bytes of data", data->u.DeviceHandle.EventGuid.Data1,
                 (unsigned)data->u.DeviceHandle.DataSize);
    pthread_mutex_lock(&print_lock);
    printf("  [%s] %s %s\n", (const char *)context, action_name(action), text);
    fflush(stdout);
    pthread_mutex_unlock(&print_lock);

    /* Let a removal go ahead: close our handle when asked (keeping it open would veto). */
    if (action == CM_NOTIFY_ACTION_DEVICEQUERYREMOVE)
        close_device();
    if (action == CM_NOTIFY_ACTION_DEVICEREMOVECOMPLETE)
        __atomic_store_n(&device_gone, 1, __ATOMIC_RELEASE);
    return ERROR_SUCCESS;
}

static int parse_guid(const char *t, GUID *g)
{
    unsigned d[11];
    if (sscanf(t, "{%8x-%4x-%4x-%2x%2x-%2x%2x%2x%2x%2x%2x}", &d[0], &d[1], &d[2], &d[3], &d[4], &d[5], &d[6], &d[7],
               &d[8], &d[9], &d[10]) != 11)
        return 0;
    g->Data1 = d[0];
    g->Data2 = (USHORT)d[1];
    g->Data3 = (USHORT)d[2];
    for (int i = 0; i < 8; i++)
        g->Data4[i] = (UCHAR)d[3 + i];
    return 1;
}

int main(int argc, char **argv)
{
    int seconds = argc > 1 ? atoi(argv[1]) : 5;
    GUID cls = DEFAULT_CLASS;
    DWORD code = argc > 3 ? (DWORD)strtoul(argv[3], NULL, 0) : DEFAULT_IOCTL;
    HCMNOTIFICATION class_reg = NULL, device_reg = NULL;
    CM_NOTIFY_FILTER filter;
    ULONG len = 0;
    WCHAR *list = NULL;
    CONFIGRET cr;
    char link[512];

    if (argc > 2 && !parse_guid(argv[2], &cls)) {
        fprintf(stderr, "host_app: %s is not a {GUID}\n", argv[2]);
        return 2;
    }

    /* 1. Register for the class first, then enumerate: nothing is missed in between. */
    memset(&filter, 0, sizeof(filter));
    filter.cbSize = sizeof(filter);
    filter.FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE;
    filter.u.DeviceInterface.ClassGuid = cls;
    cr = CM_Register_Notification(&filter, class_tag, on_event, &class_reg);
    if (cr != CR_SUCCESS) {
        fprintf(stderr, "host_app: CM_Register_Notification: 0x%x%s\n", (unsigned)cr,
                cr == CR_NO_CM_SERVICES ? " (is pnphost running? PNPKIT_HOST_SOCKET?)" : "");
        return 1;
    }

    /* 2. The interfaces present now (the list may grow between the two calls: loop). */
    do {
        cr = CM_Get_Device_Interface_List_Size(&len, &cls, NULL, CM_GET_DEVICE_INTERFACE_LIST_PRESENT);
        if (cr != CR_SUCCESS)
            break;
        free(list);
        list = malloc(len * sizeof(WCHAR));
        cr = CM_Get_Device_Interface_List(&cls, NULL, list, len, CM_GET_DEVICE_INTERFACE_LIST_PRESENT);
    } while (cr == CR_BUFFER_SMALL);
    if (cr != CR_SUCCESS || !list[0]) {
        printf("no interface of the class is present (0x%x)\n", (unsigned)cr);
        free(list);
        CM_Unregister_Notification(class_reg);
        return cr == CR_SUCCESS ? 0 : 1;
    }
    for (WCHAR *p = list; *p;) {
        size_t n = 0;
        while (p[n])
            n++;
        narrow(p, link, sizeof(link));
        printf("interface: %s\n", link);
        p += n + 1;
    }

    /* 3. Open the first one, and watch that device. */
    HANDLE h = CreateFileW(list, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    narrow(list, link, sizeof(link));
    free(list);
    if (h == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "host_app: CreateFileW(%s): error %u\n", link, (unsigned)GetLastError());
        CM_Unregister_Notification(class_reg);
        return 1;
    }
    memset(&filter, 0, sizeof(filter));
    filter.cbSize = sizeof(filter);
    filter.FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEHANDLE;
    filter.u.DeviceHandle.hTarget = h;
    __atomic_store_n(&device, h, __ATOMIC_RELEASE); /* before a callback may want to close it */
    CM_Register_Notification(&filter, device_tag, on_event, &device_reg);

    /* 4. An IOCTL. */
    char in[] = "hello, driver", out[64] = "";
    DWORD got = 0;
    if (DeviceIoControl(h, code, in, sizeof(in), out, sizeof(out), &got, NULL))
        printf("IOCTL 0x%08x: %u bytes back: \"%.*s\"\n", (unsigned)code, (unsigned)got, (int)got, out);
    else
        printf("IOCTL 0x%08x failed: error %u\n", (unsigned)code, (unsigned)GetLastError());

    /* 5. Listen. */
    printf("listening for %d s (eject the device, report an event, or stop pnphost)...\n", seconds);
    fflush(stdout);
    for (int i = 0; i < seconds * 10 && !__atomic_load_n(&device_gone, __ATOMIC_ACQUIRE); i++)
        usleep(100000);

    if (device_reg)
        CM_Unregister_Notification(device_reg);
    CM_Unregister_Notification(class_reg);
    close_device();
    printf("done\n");
    return 0;
}
