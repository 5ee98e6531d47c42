/*
 * bench_io — the io layer's hot path, beside a baseline measured in the same run:
 *   - IoAllocateIrp + IoCallDriver through a two-device stack (the top forwards with a completion
 *     routine, the bottom completes inline) + IoFreeIrp        vs  ioctl(FIONREAD) on a pipe
 *   - the same with IoSkipCurrentIrpStackLocation at the top  vs  ioctl(FIONREAD) on a pipe
 *   - IoAcquireRemoveLock + IoReleaseRemoveLock                vs  a bare atomic increment + decrement
 * The first two are the "an IRP that completes inline costs no allocation and no thread
 * switch": after warm-up the IRP comes from the thread's cache and everything runs in the caller.
 */
#include "bench_common.h"

#include <stdbool.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

static PDEVICE_OBJECT bottom, top;

static NTSTATUS bottom_dispatch(PDEVICE_OBJECT device, PIRP irp)
{
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static NTSTATUS top_done(PDEVICE_OBJECT device, PIRP irp, PVOID context)
{
    if (irp->PendingReturned)
        IoMarkIrpPending(irp);
    return STATUS_CONTINUE_COMPLETION;
}

static bool top_skips;

/* One driver plays both roles: the top device takes IRP_MJ_INTERNAL_DEVICE_CONTROL and forwards
 * it to the bottom as IRP_MJ_DEVICE_CONTROL. */
static NTSTATUS top_dispatch(PDEVICE_OBJECT device, PIRP irp)
{
    if (top_skips) {
        IoGetCurrentIrpStackLocation(irp)->MajorFunction = IRP_MJ_DEVICE_CONTROL;
        IoSkipCurrentIrpStackLocation(irp);
    } else {
        IoCopyCurrentIrpStackLocationToNext(irp);
        IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_DEVICE_CONTROL;
        IoSetCompletionRoutine(irp, top_done, NULL, TRUE, TRUE, TRUE);
    }
    return IoCallDriver(bottom, irp);
}

static NTSTATUS bench_entry(PDRIVER_OBJECT driver, PUNICODE_STRING path)
{
    driver->MajorFunction[IRP_MJ_DEVICE_CONTROL] = bottom_dispatch;
    driver->MajorFunction[IRP_MJ_INTERNAL_DEVICE_CONTROL] = top_dispatch;
    return STATUS_SUCCESS;
}

static void irp_round_trips(void *ctx, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        PIRP irp = IoAllocateIrp(top->StackSize, FALSE);
        PIO_STACK_LOCATION sp = IoGetNextIrpStackLocation(irp);
        sp->MajorFunction = IRP_MJ_INTERNAL_DEVICE_CONTROL;
        sp->Parameters.DeviceIoControl.IoControlCode = 0x222000;
        NTSTATUS status = IoCallDriver(top, irp);
        bench_keep(status);
        IoFreeIrp(irp);
    }
}

static void pipe_ioctls(void *ctx, uint64_t n)
{
    int fd = *(int *)ctx;
    for (uint64_t i = 0; i < n; i++) {
        int avail = 0;
        int r = ioctl(fd, FIONREAD, &avail);
        bench_keep(r);
        bench_keep(avail);
    }
}

static volatile LONG shared_counter;

static void bare_atomic(void *ctx, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        __atomic_fetch_add(&shared_counter, 1, __ATOMIC_SEQ_CST);
        __atomic_fetch_sub(&shared_counter, 1, __ATOMIC_SEQ_CST);
    }
}

static void remove_lock_pairs(void *ctx, uint64_t n)
{
    PIO_REMOVE_LOCK lock = ctx;
    for (uint64_t i = 0; i < n; i++) {
        IoAcquireRemoveLock(lock, NULL);
        IoReleaseRemoveLock(lock, NULL);
    }
}

int main(void)
{
    PDRIVER_OBJECT driver;
    IO_REMOVE_LOCK lock;
    int fds[2];
    double irp_ns, skip_ns, pipe_ns, lock_ns, atomic_ns;

    if (PnpkitIoCreateDriver(u"bench", bench_entry, &driver) != STATUS_SUCCESS ||
        IoCreateDevice(driver, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &bottom) != STATUS_SUCCESS ||
        IoCreateDevice(driver, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &top) != STATUS_SUCCESS ||
        IoAttachDeviceToDeviceStack(top, bottom) != bottom || pipe(fds) != 0) {
        fprintf(stderr, "bench_io: setup failed\n");
        return 1;
    }

    irp_round_trips(NULL, 1000); /* warm the IRP cache */
    pipe_ns = bench_best_ns(pipe_ioctls, &fds[0], 200000, 5);
    irp_ns = bench_best_ns(irp_round_trips, NULL, 1000000, 5);
    bench_report("IRP alloc+send+complete inline+free (2 devs)", irp_ns, "ioctl(FIONREAD) on a pipe", pipe_ns);
    top_skips = true;
    skip_ns = bench_best_ns(irp_round_trips, NULL, 1000000, 5);
    bench_report("same, top device skips its location", skip_ns, "ioctl(FIONREAD) on a pipe", pipe_ns);

    IoInitializeRemoveLock(&lock, 0, 0, 0);
    atomic_ns = bench_best_ns(bare_atomic, NULL, 5000000, 5);
    lock_ns = bench_best_ns(remove_lock_pairs, &lock, 5000000, 5);
    bench_report("IoAcquireRemoveLock + IoReleaseRemoveLock", lock_ns, "atomic increment + decrement", atomic_ns);

    close(fds[0]);
    close(fds[1]);
    IoDetachDevice(bottom);
    IoDeleteDevice(top);
    IoDeleteDevice(bottom);
    PnpkitIoDeleteDriver(driver);
    return PnpkitLiveObjectCount() == 0 ? 0 : 1;
}
