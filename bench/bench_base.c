/*
 * bench_base — the base and object layers' hot operations, each beside a baseline measured in
 * the same run:
 *   - WDF handle validation + reference + dereference   vs  a bare atomic increment + decrement
 *   - rundown acquire + release                         vs  a bare atomic increment + decrement
 *   - work item round trip (queue, run, signal back)    vs  a plain function call
 *   - event set -> wake across threads (ping-pong)      vs  a raw futex ping-pong
 */
#include "bench_common.h"
#include "object/object_internal.h"

#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile uint64_t shared_counter;

static void bare_atomic(void *ctx, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        __atomic_fetch_add(&shared_counter, 1, __ATOMIC_SEQ_CST);
        __atomic_fetch_sub(&shared_counter, 1, __ATOMIC_SEQ_CST);
    }
}

static void handle_reference(void *ctx, uint64_t n)
{
    WDFOBJECT h = ctx;
    for (uint64_t i = 0; i < n; i++) {
        WdfObjectReference(h);
        WdfObjectDereference(h);
    }
}

static void handle_validate_internal(void *ctx, uint64_t n)
{
    WDFOBJECT h = ctx;
    for (uint64_t i = 0; i < n; i++) {
        pk_object *o;
        pk_object_reference_handle(h, PK_KIND_GENERIC, "bench", &o);
        pk_object_dereference(o);
    }
}

static void rundown(void *ctx, uint64_t n)
{
    PEX_RUNDOWN_REF r = ctx;
    for (uint64_t i = 0; i < n; i++) {
        ExAcquireRundownProtection(r);
        ExReleaseRundownProtection(r);
    }
}

static __attribute__((noinline)) void plain_function(void *p) { __atomic_fetch_add((uint64_t *)p, 1, __ATOMIC_RELAXED); }
static void (*volatile plain_function_ptr)(void *) = plain_function;

static void plain_calls(void *ctx, uint64_t n)
{
    uint64_t x = 0;
    for (uint64_t i = 0; i < n; i++)
        plain_function_ptr(&x);
    bench_keep(x);
}

typedef struct {
    WORK_QUEUE_ITEM item;
    KEVENT done;
} work_ctx;

static void work_routine(PVOID p) { KeSetEvent(&((work_ctx *)p)->done, IO_NO_INCREMENT, FALSE); }

static void work_round_trips(void *ctx, uint64_t n)
{
    work_ctx w;
    KeInitializeEvent(&w.done, SynchronizationEvent, FALSE);
    for (uint64_t i = 0; i < n; i++) {
        ExInitializeWorkItem(&w.item, work_routine, &w);
        ExQueueWorkItem(&w.item, DelayedWorkQueue);
        KeWaitForSingleObject(&w.done, Executive, KernelMode, FALSE, NULL);
    }
}

/* ---- Cross-thread ping-pong ---- */

static KEVENT ev_ping, ev_pong;
static uint64_t pingpong_rounds;

static void *event_ponger(void *arg)
{
    for (uint64_t i = 0; i < pingpong_rounds; i++) {
        KeWaitForSingleObject(&ev_ping, Executive, KernelMode, FALSE, NULL);
        KeSetEvent(&ev_pong, IO_NO_INCREMENT, FALSE);
    }
    return NULL;
}

static void event_pingpong(void *ctx, uint64_t n)
{
    pthread_t t;
    pingpong_rounds = n;
    KeInitializeEvent(&ev_ping, SynchronizationEvent, FALSE);
    KeInitializeEvent(&ev_pong, SynchronizationEvent, FALSE);
    pthread_create(&t, NULL, event_ponger, NULL);
    for (uint64_t i = 0; i < n; i++) {
        KeSetEvent(&ev_ping, IO_NO_INCREMENT, FALSE);
        KeWaitForSingleObject(&ev_pong, Executive, KernelMode, FALSE, NULL);
    }
    pthread_join(t, NULL);
}

static int32_t fx_ping, fx_pong;

static void fx_wait(int32_t *word)
{
    while (__atomic_exchange_n(word, 0, __ATOMIC_ACQUIRE) == 0)
        syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
}

static void fx_post(int32_t *word)
{
    __atomic_store_n(word, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *futex_ponger(void *arg)
{
    for (uint64_t i = 0; i < pingpong_rounds; i++) {
        fx_wait(&fx_ping);
        fx_post(&fx_pong);
    }
    return NULL;
}

static void futex_pingpong(void *ctx, uint64_t n)
{
    pthread_t t;
    pingpong_rounds = n;
    fx_ping = fx_pong = 0;
    pthread_create(&t, NULL, futex_ponger, NULL);
    for (uint64_t i = 0; i < n; i++) {
        fx_post(&fx_ping);
        fx_wait(&fx_pong);
    }
    pthread_join(t, NULL);
}

int main(void)
{
    WDFOBJECT h;
    EX_RUNDOWN_REF r;

    printf("bench_base: best of 5 rounds; ratios are to the baseline measured in the same run\n");
    WdfObjectCreate(NULL, &h);
    double base = bench_best_ns(bare_atomic, NULL, 2000000, 5);
    bench_report("WdfObjectReference+Dereference (public)", bench_best_ns(handle_reference, h, 2000000, 5),
                 "atomic inc+dec", base);
    bench_report("handle validate+ref+deref (internal)", bench_best_ns(handle_validate_internal, h, 2000000, 5),
                 "atomic inc+dec", base);
    WdfObjectDelete(h);

    ExInitializeRundownProtection(&r);
    bench_report("rundown acquire+release", bench_best_ns(rundown, &r, 2000000, 5), "atomic inc+dec",
                 bench_best_ns(bare_atomic, NULL, 2000000, 5));

    double call = bench_best_ns(plain_calls, NULL, 2000000, 5);
    bench_report("work item round trip", bench_best_ns(work_round_trips, NULL, 20000, 5), "plain function call",
                 call);

    double futex = bench_best_ns(futex_pingpong, NULL, 20000, 5) / 2;
    PnpkitSetSpinBeforeWait(0);
    bench_report("event set->wake, no spin (one way)", bench_best_ns(event_pingpong, NULL, 20000, 5) / 2,
                 "raw futex wake (one way)", futex);
    PnpkitSetSpinBeforeWait(100);
    bench_report("event set->wake, spin 100 (one way)", bench_best_ns(event_pingpong, NULL, 20000, 5) / 2,
                 "raw futex wake (one way)", futex);
    PnpkitSetSpinBeforeWait(2000);
    bench_report("event set->wake, spin 2000 (one way)", bench_best_ns(event_pingpong, NULL, 20000, 5) / 2,
                 "raw futex wake (one way)", futex);
    PnpkitShutdown();
    return 0;
}
