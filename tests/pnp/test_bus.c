/* Bus drivers report children: the PnP manager enumerates them (IRP_MN_QUERY_DEVICE_RELATIONS,
 * IRP_MN_QUERY_ID), starts them, surprise-removes those no longer reported, and removes them
 * with their parent. */
#include "pk_testdrv.h"

#include <string.h>

#define CHILDREN 2

typedef struct bus_ext {
    bool is_pdo;
    /* FDO */
    PDEVICE_OBJECT lower;
    PDEVICE_OBJECT children[CHILDREN];
    /* PDO */
    struct bus_ext *bus;
    int index;
    volatile LONG present;
    volatile LONG reported;
} bus_ext;

static PDEVICE_OBJECT bus_fdo;

static NTSTATUS finish(PIRP irp, NTSTATUS status, ULONG_PTR info)
{
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = info;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
}

static PWSTR dup_wide(const WCHAR *s, size_t chars)
{
    PWSTR d = ExAllocatePool2(POOL_FLAG_PAGED, chars * sizeof(WCHAR), 'suBP');
    memcpy(d, s, chars * sizeof(WCHAR));
    return d;
}

static NTSTATUS pdo_pnp(PDEVICE_OBJECT pdo, PIRP irp)
{
    bus_ext *x = pdo->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(irp);

    switch (sl->MinorFunction) {
    case IRP_MN_QUERY_ID: {
        WCHAR inst[2] = { (WCHAR)(u'0' + x->index), 0 };
        switch (sl->Parameters.QueryId.IdType) {
        case BusQueryDeviceID: return finish(irp, STATUS_SUCCESS, (ULONG_PTR)dup_wide(u"PK\\CHILD", 9));
        case BusQueryInstanceID: return finish(irp, STATUS_SUCCESS, (ULONG_PTR)dup_wide(inst, 2));
        case BusQueryHardwareIDs: return finish(irp, STATUS_SUCCESS, (ULONG_PTR)dup_wide(u"PK\\TESTDEV\0", 12));
        default: break;
        }
        break;
    }
    case IRP_MN_START_DEVICE:
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
    case IRP_MN_SURPRISE_REMOVAL:
        return finish(irp, STATUS_SUCCESS, 0);
    case IRP_MN_REMOVE_DEVICE:
        finish(irp, STATUS_SUCCESS, 0);
        if (!ReadAcquire(&x->present)) { /* unplugged: the PDO goes; present ones stay with the bus */
            x->bus->children[x->index] = NULL;
            IoDeleteDevice(pdo);
        }
        return STATUS_SUCCESS;
    default:
        break;
    }
    NTSTATUS st = irp->IoStatus.Status;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return st;
}

static NTSTATUS forwarded(PDEVICE_OBJECT d, PIRP irp, PVOID ctx)
{
    KeSetEvent(ctx, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS fdo_pnp(PDEVICE_OBJECT fdo, PIRP irp)
{
    bus_ext *x = fdo->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(irp);

    if (sl->MinorFunction == IRP_MN_QUERY_DEVICE_RELATIONS &&
        sl->Parameters.QueryDeviceRelations.Type == BusRelations) {
        PDEVICE_RELATIONS r = ExAllocatePool2(POOL_FLAG_PAGED, sizeof(DEVICE_RELATIONS) + sizeof(PVOID) * CHILDREN,
                                              'suBP');
        r->Count = 0;
        for (int i = 0; i < CHILDREN; i++) {
            bus_ext *c = x->children[i] ? x->children[i]->DeviceExtension : NULL;
            if (c && ReadAcquire(&c->present)) {
                ObReferenceObject(x->children[i]);
                r->Objects[r->Count++] = x->children[i];
            }
        }
        return finish(irp, STATUS_SUCCESS, (ULONG_PTR)r);
    }
    if (sl->MinorFunction == IRP_MN_START_DEVICE) {
        KEVENT done;
        KeInitializeEvent(&done, NotificationEvent, FALSE);
        IoCopyCurrentIrpStackLocationToNext(irp);
        IoSetCompletionRoutine(irp, forwarded, &done, TRUE, TRUE, TRUE);
        IoCallDriver(x->lower, irp);
        KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
        NTSTATUS st = irp->IoStatus.Status;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return st;
    }
    if (sl->MinorFunction == IRP_MN_REMOVE_DEVICE) {
        /* The bus goes: so do the PDOs of its children (already removed by the PnP manager). */
        for (int i = 0; i < CHILDREN; i++)
            if (x->children[i]) {
                bus_ext *c = x->children[i]->DeviceExtension;
                if (ReadAcquire(&c->present))
                    IoDeleteDevice(x->children[i]);
                x->children[i] = NULL;
            }
        irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(irp);
        NTSTATUS st = IoCallDriver(x->lower, irp);
        IoDetachDevice(x->lower);
        IoDeleteDevice(fdo);
        bus_fdo = NULL;
        return st;
    }
    if (sl->MinorFunction == IRP_MN_QUERY_REMOVE_DEVICE || sl->MinorFunction == IRP_MN_SURPRISE_REMOVAL ||
        sl->MinorFunction == IRP_MN_CANCEL_REMOVE_DEVICE)
        irp->IoStatus.Status = STATUS_SUCCESS;
    IoSkipCurrentIrpStackLocation(irp);
    return IoCallDriver(x->lower, irp);
}

static NTSTATUS bus_pnp(PDEVICE_OBJECT d, PIRP irp)
{
    return ((bus_ext *)d->DeviceExtension)->is_pdo ? pdo_pnp(d, irp) : fdo_pnp(d, irp);
}

static NTSTATUS bus_add(PDRIVER_OBJECT driver, PDEVICE_OBJECT pdo)
{
    PDEVICE_OBJECT fdo;
    NTSTATUS st = IoCreateDevice(driver, sizeof(bus_ext), NULL, FILE_DEVICE_BUS_EXTENDER, 0, FALSE, &fdo);
    if (!NT_SUCCESS(st))
        return st;
    bus_ext *x = fdo->DeviceExtension;
    x->lower = IoAttachDeviceToDeviceStack(fdo, pdo);
    for (int i = 0; i < CHILDREN; i++) {
        PDEVICE_OBJECT child;
        assert_int_equal(IoCreateDevice(driver, sizeof(bus_ext), NULL, FILE_DEVICE_UNKNOWN, FILE_AUTOGENERATED_DEVICE_NAME,
                                        FALSE, &child),
                         STATUS_SUCCESS);
        bus_ext *c = child->DeviceExtension;
        c->is_pdo = true;
        c->bus = x;
        c->index = i;
        c->present = 1;
        child->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
        x->children[i] = child;
    }
    fdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    bus_fdo = fdo;
    return STATUS_SUCCESS;
}

static NTSTATUS bus_entry(PDRIVER_OBJECT driver, PUNICODE_STRING path)
{
    driver->DriverExtension->AddDevice = bus_add;
    driver->MajorFunction[IRP_MJ_PNP] = bus_pnp;
    return STATUS_SUCCESS;
}

static VOID created(HSWDEVICE h, HRESULT hr, PVOID ctx, PCWSTR id) { KeSetEvent(ctx, IO_NO_INCREMENT, FALSE); }

static HSWDEVICE make_bus(DEVINST *dn)
{
    SW_DEVICE_CREATE_INFO info = { .cbSize = sizeof(info), .pszInstanceId = u"bus", .pszzHardwareIds = u"PK\\BUS\0" };
    HSWDEVICE h;
    KEVENT done;
    WCHAR id[] = u"SWD\\PK\\bus";
    assert_int_equal(PnpkitDriverRegister(u"pkbus", bus_entry, u"PK\\BUS\0"), STATUS_SUCCESS);
    assert_int_equal(pk_testdrv_register(), STATUS_SUCCESS);
    pk_testdrv_set_next_name("child");
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    assert_int_equal(SwDeviceCreate(u"PK", u"HTREE\\ROOT\\0", &info, 0, NULL, created, &done, &h), S_OK);
    pk_test_wait_event(&done);
    PnpkitSimWaitIdle();
    assert_int_equal(CM_Locate_DevNodeW(dn, id, 0), CR_SUCCESS);
    return h;
}

static void cleanup(HSWDEVICE h)
{
    if (h)
        SwDeviceClose(h);
    PnpkitSimWaitIdle();
    assert_int_equal(PnpkitDriverUnregister(u"pktest"), STATUS_SUCCESS);
    assert_int_equal(PnpkitDriverUnregister(u"pkbus"), STATUS_SUCCESS);
}

static bool started(PCWSTR id_text, DEVINST parent)
{
    WCHAR id[MAX_DEVICE_ID_LEN];
    DEVINST dn, p;
    ULONG st, pr;
    memcpy(id, id_text, (PnpkitWcsLen(id_text) + 1) * sizeof(WCHAR));
    if (CM_Locate_DevNodeW(&dn, id, 0) != CR_SUCCESS)
        return false;
    assert_int_equal(CM_Get_Parent(&p, dn, 0), CR_SUCCESS);
    assert_int_equal(p, parent);
    assert_int_equal(CM_Get_DevNode_Status(&st, &pr, dn, 0), CR_SUCCESS);
    return (st & DN_STARTED) != 0;
}

static void a_started_bus_reports_its_children_and_they_start(void **state)
{
    DEVINST bus;
    HSWDEVICE h = make_bus(&bus);
    assert_true(started(u"PK\\CHILD\\0", bus));
    assert_true(started(u"PK\\CHILD\\1", bus));
    assert_int_equal(pk_log_count(), 2);
    assert_string_equal(pk_log_at(0), "irp:start:child:ok");
    cleanup(h);
}

static void a_child_the_bus_stops_reporting_is_surprise_removed(void **state)
{
    DEVINST bus;
    HSWDEVICE h = make_bus(&bus);
    bus_ext *c1 = ((bus_ext *)bus_fdo->DeviceExtension)->children[1]->DeviceExtension;
    pk_log_clear();
    WriteRelease(&c1->present, 0);
    IoInvalidateDeviceRelations(bus_fdo, BusRelations);
    PnpkitSimWaitIdle();
    const char *expected[] = { "irp:surprise-removal:child", "irp:remove:child", NULL };
    pk_log_expect(expected);
    assert_true(started(u"PK\\CHILD\\0", bus));
    assert_false(started(u"PK\\CHILD\\1", bus));
    cleanup(h);
}

static void removing_the_bus_removes_its_children_before_it(void **state)
{
    DEVINST bus;
    HSWDEVICE h = make_bus(&bus);
    pk_log_clear();
    assert_int_equal(CM_Query_And_Remove_SubTreeW(bus, NULL, NULL, 0, 0), CR_SUCCESS);
    const char *expected[] = { "irp:query-remove:child", "irp:query-remove:child", "irp:remove:child",
                               "irp:remove:child", NULL };
    pk_log_expect(expected);
    assert_false(started(u"PK\\CHILD\\0", bus));
    assert_null(bus_fdo); /* the bus's own REMOVE came after its children's */
    cleanup(h);
}

PK_TEST_MAIN(
    PK_TEST(a_started_bus_reports_its_children_and_they_start),
    PK_TEST(a_child_the_bus_stops_reporting_is_surprise_removed),
    PK_TEST(removing_the_bus_removes_its_children_before_it),
)
