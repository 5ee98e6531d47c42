/*
 * trace.c — trace output. The level is a global read without a lock on every trace point
 * (PK_TRACE); it is set from PNPKIT_TRACE before main() or by PnpkitTraceSetLevel.
 */
#include "base/base_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int pk_trace_level;

__attribute__((constructor)) static void trace_read_environment(void)
{
    static const char *const names[] = { "none", "error", "warning", "info", "verbose" };
    const char *v = getenv("PNPKIT_TRACE");

    if (!v || !*v)
        return;
    for (int i = 0; i < (int)ARRAYSIZE(names); i++)
        if (strcmp(v, names[i]) == 0) {
            pk_trace_level = i;
            return;
        }
    int n = atoi(v);
    pk_trace_level = n < 0 ? 0 : n > PnpkitTraceVerbose ? PnpkitTraceVerbose : n;
}

void PnpkitTraceSetLevel(PNPKIT_TRACE_LEVEL Level) { pk_store_relaxed(&pk_trace_level, (int)Level); }

PNPKIT_TRACE_LEVEL PnpkitTraceGetLevel(void) { return (PNPKIT_TRACE_LEVEL)pk_load_relaxed(&pk_trace_level); }

void pk_trace_emit(int level, const char *layer, const char *fmt, ...)
{
    static const char letters[] = "-EWIV";
    char line[512];
    va_list ap;
    int n;

    n = snprintf(line, sizeof(line), "pnpkit %c %5ld %-6s ", letters[level < 0 || level > 4 ? 0 : level], (long)syscall(SYS_gettid),
                 layer);
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
