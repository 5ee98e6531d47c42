/*
 * work_item.c — I/O work items (IO_WORKITEM): IoAllocateWorkItem, IoQueueWorkItem(Ex),
 * IoFreeWorkItem, and the caller-allocated form (IoInitializeWorkItem).
 *
 * An item wraps a WORK_QUEUE_ITEM run by pnpkit's thread pool. Queueing takes a reference on
 * the item's io object (device or driver) that the pool thread drops after the routine
 * returns: that is what keeps a driver from being unloaded under its own work routine. The
 * routine may free or re-queue its item, so the pool thread copies what it needs and clears
 * `queued` before calling it, and touches the item no more afterwards.
 *
 * Locking: none; `queued` is an atomic flag. Who frees what: IoFreeWorkItem frees items from
 * IoAllocateWorkItem; caller-initialized items belong to the caller.
 */
#include "io/io_internal.h"

#define IO_WORKITEM_MAGIC 0x4b524f57u /* "WORK" */

struct _IO_WORKITEM {
    WORK_QUEUE_ITEM item;
    PVOID io_object;               /* DEVICE_OBJECT or DRIVER_OBJECT */
    PIO_WORKITEM_ROUTINE routine;
    PIO_WORKITEM_ROUTINE_EX routine_ex;
    PVOID context;
    uint32_t magic;
    uint32_t queued;               /* atomic: queued, routine not started */
    bool allocated;                /* by IoAllocateWorkItem: IoFreeWorkItem frees it */
};

static bool item_ok(PIO_WORKITEM w, const char *api)
{
    if (w && w->magic == IO_WORKITEM_MAGIC)
        return true;
    pk_verifier_stop(api, "%p is not an initialized I/O work item", (void *)w);
    return false;
}

static void work_item_run(PVOID parameter)
{
    PIO_WORKITEM w = parameter;
    PVOID object = w->io_object;
    PIO_WORKITEM_ROUTINE routine = w->routine;
    PIO_WORKITEM_ROUTINE_EX routine_ex = w->routine_ex;
    PVOID context = w->context;

    pk_store_release(&w->queued, 0);
    /* From here the item may be freed or queued again by the routine. */
    if (routine_ex)
        routine_ex(object, context, w);
    else
        routine(object, context);
    io_object_dereference(object);
}

static void queue(PIO_WORKITEM w, PIO_WORKITEM_ROUTINE routine, PIO_WORKITEM_ROUTINE_EX routine_ex, PVOID context,
                  const char *api)
{
    uint32_t expected = 0;

    if (!pk_irql_ok(api, DISPATCH_LEVEL) || !item_ok(w, api))
        return;
    if (!routine && !routine_ex) {
        pk_verifier_stop(api, "WorkerRoutine is NULL");
        return;
    }
    if (!pk_cas(&w->queued, &expected, 1)) {
        pk_verifier_stop(api, "work item %p is queued already and its routine has not started", (void *)w);
        return;
    }
    w->routine = routine;
    w->routine_ex = routine_ex;
    w->context = context;
    io_object_reference(w->io_object); /* dropped by work_item_run after the routine */
    ExInitializeWorkItem(&w->item, work_item_run, w);
    pk_work_queue(&w->item);
}

static void init_item(PIO_WORKITEM w, PVOID io_object, bool allocated)
{
    w->io_object = io_object;
    w->routine = NULL;
    w->routine_ex = NULL;
    w->context = NULL;
    w->queued = 0;
    w->allocated = allocated;
    w->magic = IO_WORKITEM_MAGIC;
}

PIO_WORKITEM IoAllocateWorkItem(PDEVICE_OBJECT DeviceObject)
{
    PIO_WORKITEM w;

    if (!pk_irql_ok("IoAllocateWorkItem", DISPATCH_LEVEL) || !io_object_is(DeviceObject, IO_KIND_DEVICE))
        return NULL;
    w = pk_alloc(sizeof(*w));
    if (!w)
        return NULL;
    init_item(w, DeviceObject, true);
    pk_live_add(1);
    return w;
}

VOID IoFreeWorkItem(PIO_WORKITEM IoWorkItem)
{
    if (!IoWorkItem || !pk_irql_ok("IoFreeWorkItem", DISPATCH_LEVEL) || !item_ok(IoWorkItem, "IoFreeWorkItem"))
        return;
    if (!IoWorkItem->allocated) {
        pk_verifier_stop("IoFreeWorkItem", "work item %p was not allocated by IoAllocateWorkItem", (void *)IoWorkItem);
        return;
    }
    if (pk_load_acquire(&IoWorkItem->queued)) {
        pk_verifier_stop("IoFreeWorkItem", "work item %p is queued and its routine has not started", (void *)IoWorkItem);
        return;
    }
    IoWorkItem->magic = 0;
    pk_free(IoWorkItem);
    pk_live_add(-1);
}

VOID IoQueueWorkItem(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE WorkerRoutine, WORK_QUEUE_TYPE QueueType,
                     PVOID Context)
{
    queue(IoWorkItem, WorkerRoutine, NULL, Context, "IoQueueWorkItem");
}

VOID IoQueueWorkItemEx(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE_EX WorkerRoutine, WORK_QUEUE_TYPE QueueType,
                       PVOID Context)
{
    queue(IoWorkItem, NULL, WorkerRoutine, Context, "IoQueueWorkItemEx");
}

ULONG IoSizeofWorkItem(void) { return (ULONG)sizeof(IO_WORKITEM); }

VOID IoInitializeWorkItem(PVOID IoObject, PIO_WORKITEM IoWorkItem)
{
    if (!IoWorkItem || !(io_object_is(IoObject, IO_KIND_DEVICE) || io_object_is(IoObject, IO_KIND_DRIVER))) {
        pk_verifier_stop("IoInitializeWorkItem", "%p is not a live device or driver object", IoObject);
        return;
    }
    init_item(IoWorkItem, IoObject, false);
}

VOID IoUninitializeWorkItem(PIO_WORKITEM IoWorkItem)
{
    if (!item_ok(IoWorkItem, "IoUninitializeWorkItem"))
        return;
    if (pk_load_acquire(&IoWorkItem->queued)) {
        pk_verifier_stop("IoUninitializeWorkItem", "work item %p is queued and its routine has not started",
                         (void *)IoWorkItem);
        return;
    }
    IoWorkItem->magic = 0;
}
