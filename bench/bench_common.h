/*
 * bench_common.h — helpers for pnpkit's benchmarks. Every benchmark measures its baseline in
 * the same run and prints the ratio, because the machines are shared and noisy.
 */
#ifndef PNPKIT_BENCH_COMMON_H
#define PNPKIT_BENCH_COMMON_H

#include <stdint.h>
#include <pnpkit.h>

uint64_t bench_now_ns(void);

/* Runs fn(ctx, iterations) `rounds` times and returns the best ns per iteration. */
double bench_best_ns(void (*fn)(void *ctx, uint64_t iterations), void *ctx, uint64_t iterations, int rounds);

/* Prints one line: "<name>: <x> ns/op; baseline <base_name>: <y> ns/op; ratio <x/y>". */
void bench_report(const char *name, double ns, const char *base_name, double base_ns);

/* Keeps the compiler from optimising a value away. */
#define bench_keep(x) __asm__ __volatile__("" : : "r"(x) : "memory")

#endif
