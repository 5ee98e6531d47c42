/* bench_common.c — timing and reporting for the benchmarks (see bench_common.h). */
#include "bench_common.h"

#include <stdio.h>
#include <time.h>

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double bench_best_ns(void (*fn)(void *ctx, uint64_t iterations), void *ctx, uint64_t iterations, int rounds)
{
    double best = 1e300;
    for (int r = 0; r < rounds; r++) {
        uint64_t t0 = bench_now_ns();
        fn(ctx, iterations);
        double ns = (double)(bench_now_ns() - t0) / (double)iterations;
        if (ns < best)
            best = ns;
    }
    return best;
}

void bench_report(const char *name, double ns, const char *base_name, double base_ns)
{
    printf("%-44s %10.1f ns/op | baseline %-34s %10.1f ns/op | ratio %6.2fx\n", name, ns, base_name, base_ns,
           base_ns > 0 ? ns / base_ns : 0.0);
    fflush(stdout);
}
