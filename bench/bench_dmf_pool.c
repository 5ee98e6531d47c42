/*
 * bench_dmf_pool — DMF_BufferPool's hot path beside a baseline measured in the same run:
 *   - DMF_BufferPool_Get + Put on a source pool (no allocation: a list under the module lock,
 *     the guard checks, the zeroing of the buffer on Put)     vs  malloc + free of the same size
 *   - the same on a look-aside pool that is empty, so every Get allocates and every Put frees
 *     (WDFLOOKASIDE memory objects)                           vs  malloc + free
 *   - source -> sink -> source (Get, Put into a sink, Get from it, Put back)  vs  malloc + free
 */
#include "bench_common.h"
#include <pnpkit/dmf.h>

#include <stdio.h>
#include <stdlib.h>

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

static void pool_get_put(void *ctx, uint64_t n)
{
    DMFMODULE pool = ctx;
    for (uint64_t i = 0; i < n; i++) {
        void *buffer;
        if (DMF_BufferPool_Get(pool, &buffer, NULL) != STATUS_SUCCESS)
            abort();
        ((volatile char *)buffer)[0] = 1;
        DMF_BufferPool_Put(pool, buffer);
    }
}

typedef struct {
    DMFMODULE source, sink;
} pair;

static void source_sink_round_trip(void *ctx, uint64_t n)
{
    pair *p = ctx;
    for (uint64_t i = 0; i < n; i++) {
        void *buffer, *again;
        if (DMF_BufferPool_Get(p->source, &buffer, NULL) != STATUS_SUCCESS)
            abort();
        ((volatile char *)buffer)[0] = 1;
        DMF_BufferPool_Put(p->sink, buffer);
        if (DMF_BufferPool_Get(p->sink, &again, NULL) != STATUS_SUCCESS)
            abort();
        DMF_BufferPool_Put(p->source, again);
    }
}

static DMFMODULE create_pool(WDFOBJECT device, BufferPool_ModeType mode, ULONG count, ULONG lookaside)
{
    DMF_CONFIG_BufferPool config;
    DMF_MODULE_ATTRIBUTES attributes;
    DMFMODULE pool;

    DMF_CONFIG_BufferPool_AND_ATTRIBUTES_INIT(&config, &attributes);
    config.BufferPoolMode = mode;
    if (mode == BufferPool_Mode_Source) {
        config.Mode.SourceSettings.BufferCount = count;
        config.Mode.SourceSettings.BufferSize = BUFFER_SIZE;
        config.Mode.SourceSettings.BufferContextSize = 16;
        config.Mode.SourceSettings.EnableLookAside = lookaside;
    }
    if (DMF_BufferPool_Create((WDFDEVICE)device, &attributes, NULL, &pool) != STATUS_SUCCESS) {
        fprintf(stderr, "bench_dmf_pool: DMF_BufferPool_Create failed\n");
        exit(1);
    }
    return pool;
}

int main(void)
{
    const uint64_t n = 200000;
    const int rounds = 5;
    WDFOBJECT device;
    DMFMODULE source, lookaside;
    pair p;
    double base, ns;

    if (WdfObjectCreate(NULL, &device) != STATUS_SUCCESS) {
        fprintf(stderr, "bench_dmf_pool: setup failed\n");
        return 1;
    }
    source = create_pool(device, BufferPool_Mode_Source, 64, FALSE);
    lookaside = create_pool(device, BufferPool_Mode_Source, 0, TRUE);
    p.source = source;
    p.sink = create_pool(device, BufferPool_Mode_Sink, 0, FALSE);

    base = bench_best_ns(malloc_free, NULL, n, rounds);
    ns = bench_best_ns(pool_get_put, source, n, rounds);
    bench_report("DMF_BufferPool_Get+Put (source, 256 B)", ns, "malloc+free (256 B)", base);
    ns = bench_best_ns(pool_get_put, lookaside, n, rounds);
    bench_report("DMF_BufferPool_Get+Put (look-aside, empty)", ns, "malloc+free (256 B)", base);
    ns = bench_best_ns(source_sink_round_trip, &p, n, rounds);
    bench_report("source->sink->source round trip", ns, "malloc+free (256 B)", base);

    WdfObjectDelete(device);
    PnpkitShutdown();
    return PnpkitLiveObjectCount() == 0 ? 0 : 1;
}
