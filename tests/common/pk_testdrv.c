/*
 * pk_testdrv.c — the WDM test driver and the event log (see pk_testdrv.h).
 */
#include "pk_testdrv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

pk_testdrv_config pk_testdrv;
static char pk_testdrv_next_name[32]; /* the log name of the device being created */
PDEVICE_OBJECT pk_testdrv_last_pdo;
UNICODE_STRING pk_testdrv_last_link;
volatile LONG pk_testdrv_listed_during_start = -1;

static LONG count_listed(void)
{
    PZZWSTR list = NULL;
    LONG n = 0;
    if (!NT_SUCCESS(IoGetDeviceInterfaces(&PK_TEST_GUID, NULL, 0, &list)))
        return -1;
    for (PCWSTR p = list; *p; p += PnpkitWcsLen(p) + 1)
        n++;
    ExFreePool(list);
    return n;
}

/* ---- Event log ---- */

static struct {
    pthread_mutex_t mutex;
    char entries[512][96];
    int count;
} plog = { .mutex = PTHREAD_MUTEX_INITIALIZER };

void pk_log(const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&plog.mutex);
    if (plog.count < 512) {
        va_start(ap, fmt);
        vsnprintf(plog.entries[plog.count++], sizeof(plog.entries[0]), fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&plog.mutex);
}

void pk_log_clear(void)
{
    pthread_mutex_lock(&plog.mutex);
    plog.count = 0;
    pthread_mutex_unlock(&plog.mutex);
}

int pk_log_count(void)
{
    pthread_mutex_lock(&plog.mutex);
    int n = plog.count;
    pthread_mutex_unlock(&plog.mutex);
    return n;
}

const char *pk_log_at(int i) { return plog.entries[i]; }

int pk_log_find(const char *text, int from)
{
    int found = -1;
    pthread_mutex_lock(&plog.mutex);
    for (int i = from; i < plog.count && found < 0; i++)
        if (strcmp(plog.entries[i], text) == 0)
            found = i;
    pthread_mutex_unlock(&plog.mutex);
    return found;
}

void pk_log_dump(void)
{
    pthread_mutex_lock(&plog.mutex);
    for (int i = 0; i < plog.count; i++)
        fprintf(stderr, "  log[%d] %s\n", i, plog.entries[i]);
    pthread_mutex_unlock(&plog.mutex);
}

void pk_log_expect(const char *const *expected)
{
    int n = 0;
    while (expected[n])
        n++;
    bool ok = pk_log_count() == n;
    for (int i = 0; ok && i < n; i++)
        ok = strcmp(pk_log_at(i), expected[i]) == 0;
    if (!ok) {
        fprintf(stderr, "expected:\n");
        for (int i = 0; i < n; i++)
            fprintf(stderr, "  exp[%d] %s\n", i, expected[i]);
        fprintf(stderr, "got:\n");
        pk_log_dump();
        fail_msg("event sequence differs");
    }
}

/* ---- The driver ---- */

typedef struct fdo_ext {
    PDEVICE_OBJECT self, lower, pdo;
    UNICODE_STRING link;
    pk_testdrv_config cfg;
    char name[32];
} fdo_ext;

static NTSTATUS forward_sync_done(PDEVICE_OBJECT d, PIRP irp, PVOID ctx)
{
    KeSetEvent(ctx, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS forward_and_wait(fdo_ext *x, PIRP irp)
{
    KEVENT done;
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    IoCopyCurrentIrpStackLocationToNext(irp);
    IoSetCompletionRoutine(irp, forward_sync_done, &done, TRUE, TRUE, TRUE);
    IoCallDriver(x->lower, irp);
    KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
    return irp->IoStatus.Status;
}

static NTSTATUS forward(fdo_ext *x, PIRP irp)
{
    IoSkipCurrentIrpStackLocation(irp);
    return IoCallDriver(x->lower, irp);
}

static NTSTATUS complete_irp(PIRP irp, NTSTATUS status)
{
    irp->IoStatus.Status = status;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
}

static VOID report_done(PVOID context) { pk_log("report-callback"); }

static NTSTATUS td_pnp(PDEVICE_OBJECT dev, PIRP irp)
{
    fdo_ext *x = dev->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(irp);
    NTSTATUS status;

    switch (sl->MinorFunction) {
    case IRP_MN_START_DEVICE:
        status = forward_and_wait(x, irp);
        if (NT_SUCCESS(status) && x->cfg.fail_start)
            status = STATUS_DEVICE_CONFIGURATION_ERROR;
        if (x->cfg.open_during_start) {
            PNPKIT_IO_OPEN_PARAMETERS op;
            PFILE_OBJECT fo;
            PNPKIT_IO_OPEN_PARAMETERS_INIT(&op, GENERIC_READ);
            NTSTATUS ost = PnpkitIoOpenDevice(x->pdo, &op, &fo);
            pk_log("open-during-start:%s", PnpkitStatusName(ost));
            if (NT_SUCCESS(ost))
                ObDereferenceObject(fo);
        }
        if (NT_SUCCESS(status) && x->link.Buffer) {
            IoSetDeviceInterfaceState(&x->link, TRUE);
            pk_testdrv_listed_during_start = count_listed();
        }
        pk_log("irp:start:%s:%s", x->name, NT_SUCCESS(status) ? "ok" : "failed");
        return complete_irp(irp, status);
    case IRP_MN_QUERY_REMOVE_DEVICE:
        pk_log("irp:query-remove:%s", x->name);
        if (x->cfg.veto_query_remove)
            return complete_irp(irp, STATUS_UNSUCCESSFUL);
        irp->IoStatus.Status = STATUS_SUCCESS;
        return forward(x, irp);
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        pk_log("irp:cancel-remove:%s", x->name);
        irp->IoStatus.Status = STATUS_SUCCESS;
        return forward(x, irp);
    case IRP_MN_SURPRISE_REMOVAL:
        pk_log("irp:surprise-removal:%s", x->name);
        if (x->cfg.report_in_surprise) {
            UCHAR buf[40] = { 0 };
            PTARGET_DEVICE_CUSTOM_NOTIFICATION n = (PTARGET_DEVICE_CUSTOM_NOTIFICATION)buf;
            n->Version = 1;
            n->Size = 37;
            n->Event = PK_CUSTOM_EVENT_GUID;
            n->NameBufferOffset = -1;
            NTSTATUS st = IoReportTargetDeviceChangeAsynchronous(x->pdo, n, report_done, NULL);
            pk_log("report:%s", PnpkitStatusName(st));
        }
        if (x->link.Buffer)
            IoSetDeviceInterfaceState(&x->link, FALSE);
        irp->IoStatus.Status = STATUS_SUCCESS;
        return forward(x, irp);
    case IRP_MN_REMOVE_DEVICE: {
        pk_log("irp:remove:%s", x->name);
        if (x->link.Buffer)
            IoSetDeviceInterfaceState(&x->link, FALSE);
        irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(irp);
        status = IoCallDriver(x->lower, irp);
        IoDetachDevice(x->lower);
        RtlFreeUnicodeString(&x->link);
        IoDeleteDevice(dev);
        return status;
    }
    default:
        return forward(x, irp);
    }
}

static NTSTATUS td_create(PDEVICE_OBJECT dev, PIRP irp)
{
    fdo_ext *x = dev->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(irp);
    char *name = PnpkitUnicodeStringToUtf8(&sl->FileObject->FileName);
    pk_log("irp:create:%s:%s", x->name, name ? name : "?");
    free(name);
    return complete_irp(irp, x->cfg.create_status);
}

static NTSTATUS td_cleanup(PDEVICE_OBJECT dev, PIRP irp)
{
    fdo_ext *x = dev->DeviceExtension;
    pk_log("irp:cleanup:%s", x->name);
    return complete_irp(irp, STATUS_SUCCESS);
}

static NTSTATUS td_close(PDEVICE_OBJECT dev, PIRP irp)
{
    fdo_ext *x = dev->DeviceExtension;
    pk_log("irp:close:%s", x->name);
    return complete_irp(irp, STATUS_SUCCESS);
}

static NTSTATUS td_ioctl(PDEVICE_OBJECT dev, PIRP irp)
{
    irp->IoStatus.Information = 0;
    return complete_irp(irp, STATUS_SUCCESS);
}

static NTSTATUS td_add_device(PDRIVER_OBJECT driver, PDEVICE_OBJECT pdo)
{
    PDEVICE_OBJECT fdo;
    NTSTATUS status = IoCreateDevice(driver, sizeof(fdo_ext), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &fdo);
    fdo_ext *x;

    if (!NT_SUCCESS(status))
        return status;
    x = fdo->DeviceExtension;
    x->self = fdo;
    x->pdo = pdo;
    x->cfg = pk_testdrv;
    if (x->cfg.create_status == 0)
        x->cfg.create_status = STATUS_SUCCESS;
    snprintf(x->name, sizeof(x->name), "%s", pk_testdrv_next_name);
    x->lower = IoAttachDeviceToDeviceStack(fdo, pdo);
    if (!x->cfg.no_interface) {
        UNICODE_STRING ref, *pref = NULL;
        if (x->cfg.ref_string) {
            RtlInitUnicodeString(&ref, x->cfg.ref_string);
            pref = &ref;
        }
        IoRegisterDeviceInterface(pdo, &PK_TEST_GUID, pref, &x->link);
        pk_testdrv_last_link = x->link;
    }
    pk_testdrv_last_pdo = pdo;
    fdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

static NTSTATUS td_entry(PDRIVER_OBJECT driver, PUNICODE_STRING path)
{
    driver->DriverExtension->AddDevice = td_add_device;
    driver->MajorFunction[IRP_MJ_PNP] = td_pnp;
    driver->MajorFunction[IRP_MJ_CREATE] = td_create;
    driver->MajorFunction[IRP_MJ_CLEANUP] = td_cleanup;
    driver->MajorFunction[IRP_MJ_CLOSE] = td_close;
    driver->MajorFunction[IRP_MJ_DEVICE_CONTROL] = td_ioctl;
    return STATUS_SUCCESS;
}

void pk_testdrv_set_next_name(const char *name)
{
    snprintf(pk_testdrv_next_name, sizeof(pk_testdrv_next_name), "%s", name);
}

NTSTATUS pk_testdrv_register(void) { return PnpkitDriverRegister(u"pktest", td_entry, u"PK\\TESTDEV\0"); }

typedef struct create_wait {
    KEVENT done;
    HRESULT result;
} create_wait;

static VOID created(HSWDEVICE h, HRESULT result, PVOID ctx, PCWSTR id)
{
    create_wait *w = ctx;
    w->result = result;
    KeSetEvent(&w->done, IO_NO_INCREMENT, FALSE);
}

HSWDEVICE pk_testdrv_create_device(PCWSTR name, DEVINST *devinst)
{
    SW_DEVICE_CREATE_INFO info;
    HSWDEVICE h = NULL;
    create_wait w;
    WCHAR id[MAX_DEVICE_ID_LEN];

    UNICODE_STRING us;
    RtlInitUnicodeString(&us, name);
    char *u8 = PnpkitUnicodeStringToUtf8(&us);
    snprintf(pk_testdrv_next_name, sizeof(pk_testdrv_next_name), "%s", u8);
    free(u8);
    memset(&info, 0, sizeof(info));
    info.cbSize = sizeof(info);
    info.pszInstanceId = name;
    info.pszzHardwareIds = u"PK\\TESTDEV\0";
    KeInitializeEvent(&w.done, NotificationEvent, FALSE);
    assert_int_equal(SwDeviceCreate(u"PK", u"HTREE\\ROOT\\0", &info, 0, NULL, created, &w, &h), S_OK);
    pk_test_wait_event(&w.done);
    assert_int_equal(w.result, S_OK);
    if (devinst) {
        size_t n = PnpkitWcsLen(name);
        memcpy(id, u"SWD\\PK\\", 7 * sizeof(WCHAR));
        memcpy(id + 7, name, (n + 1) * sizeof(WCHAR));
        assert_int_equal(CM_Locate_DevNodeW(devinst, id, 0), CR_SUCCESS);
    }
    return h;
}

void pk_testdrv_close_device(HSWDEVICE h)
{
    SwDeviceClose(h);
    PnpkitSimWaitIdle();
}
