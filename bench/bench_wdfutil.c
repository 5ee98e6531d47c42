/*
 * bench_wdfutil — the WDF utility objects' hot operations, each beside a baseline measured in
 * the same run:
 *   - WdfMemoryCreateFromLookaside + WdfObjectDelete  vs  malloc + free of the same size, and vs
 *     WdfObjectCreate + WdfObjectDelete (what the object layer itself costs)
 *   - WdfMemoryCreate + WdfObjectDelete               vs  malloc + free of the same size
 *   - WdfSpinLockAcquire + Release                    vs  KeAcquireSpinLock + KeReleaseSpinLock
 *   - WdfWaitLockAcquire + Release (uncontended)      vs  ExAcquireFastMutex + ExReleaseFastMutex
 */
#include "bench_common.h"
#include <pnpkit/wdfutil.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BUFFER_SIZE = 256 };

static void malloc_free(void *ctx, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        void *p = malloc(BUFFER_SIZE);
        bench_keep(p);
        ((volatile char *)p)[0] = 1;
        free(p);
    }
}

static void lookaside_create_delete(void *ctx, uint64_t n)
{
    WDFLOOKASIDE list = ctx;
    for (uint64_t i = 0; i < n; i++) {
        WDFMEMORY m;
        if (WdfMemoryCreateFromLookaside(list, &m) != STATUS_SUCCESS)
            abort();
        ((volatile char *)WdfMemoryGetBuffer(m, NULL))[0] = 1;
        WdfObjectDelete(m);
    }
}

static void object_create_delete(void *ctx, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        WDFOBJECT o;
        if (WdfObjectCreate(NULL, &o) != STATUS_SUCCESS)
            abort();
        WdfObjectDelete(o);
    }
}

static void memory_create_delete(void *ctx, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        WDFMEMORY m;
        PVOID buffer;
        if (WdfMemoryCreate(NULL, NonPagedPool, 0, BUFFER_SIZE, &m, &buffer) != STATUS_SUCCESS)
            abort();
        ((volatile char *)buffer)[0] = 1;
        WdfObjectDelete(m);
    }
}

static void ke_spin_lock(void *ctx, uint64_t n)
{
    KSPIN_LOCK lock;
    KIRQL old;
    KeInitializeSpinLock(&lock);
    for (uint64_t i = 0; i < n; i++) {
        KeAcquireSpinLock(&lock, &old);
        KeReleaseSpinLock(&lock, old);
    }
}

static void wdf_spin_lock(void *ctx, uint64_t n)
{
    WDFSPINLOCK lock = ctx;
    for (uint64_t i = 0; i < n; i++) {
        WdfSpinLockAcquire(lock);
        WdfSpinLockRelease(lock);
    }
}

static void fast_mutex(void *ctx, uint64_t n)
{
    FAST_MUTEX m;
    ExInitializeFastMutex(&m);
    for (uint64_t i = 0; i < n; i++) {
        ExAcquireFastMutex(&m);
        ExReleaseFastMutex(&m);
    }
}

static void wdf_wait_lock(void *ctx, uint64_t n)
{
    WDFWAITLOCK lock = ctx;
    for (uint64_t i = 0; i < n; i++) {
        WdfWaitLockAcquire(lock, NULL);
        WdfWaitLockRelease(lock);
    }
}

int main(void)
{
    const uint64_t n = 200000;
    const int rounds = 5;
    WDFLOOKASIDE list;
    WDFSPINLOCK spin;
    WDFWAITLOCK wait;
    double base, ns;

    if (WdfLookasideListCreate(NULL, BUFFER_SIZE, NonPagedPool, NULL, 0, &list) != STATUS_SUCCESS ||
        WdfSpinLockCreate(NULL, &spin) != STATUS_SUCCESS || WdfWaitLockCreate(NULL, &wait) != STATUS_SUCCESS) {
        fprintf(stderr, "bench_wdfutil: setup failed\n");
        return 1;
    }

    base = bench_best_ns(malloc_free, NULL, n, rounds);
    ns = bench_best_ns(lookaside_create_delete, list, n, rounds);
    bench_report("WdfMemoryCreateFromLookaside+WdfObjectDelete", ns, "malloc+free (256 B)", base);
    ns = bench_best_ns(memory_create_delete, NULL, n, rounds);
    bench_report("WdfMemoryCreate+WdfObjectDelete", ns, "malloc+free (256 B)", base);
    base = bench_best_ns(object_create_delete, NULL, n, rounds);
    ns = bench_best_ns(lookaside_create_delete, list, n, rounds);
    bench_report("WdfMemoryCreateFromLookaside+WdfObjectDelete", ns, "WdfObjectCreate+WdfObjectDelete", base);

    base = bench_best_ns(ke_spin_lock, NULL, n, rounds);
    ns = bench_best_ns(wdf_spin_lock, spin, n, rounds);
    bench_report("WdfSpinLockAcquire+Release", ns, "KeAcquireSpinLock+Release", base);

    base = bench_best_ns(fast_mutex, NULL, n, rounds);
    ns = bench_best_ns(wdf_wait_lock, wait, n, rounds);
    bench_report("WdfWaitLockAcquire+Release", ns, "ExAcquireFastMutex+Release", base);

    WdfObjectDelete(wait);
    WdfObjectDelete(spin);
    WdfObjectDelete(list);
    PnpkitShutdown();
    return PnpkitLiveObjectCount() == 0 ? 0 : 1;
}
