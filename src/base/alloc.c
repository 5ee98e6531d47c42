/*
 * alloc.c — pnpkit's allocator entry points and the allocation fault injector.
 *
 * Every allocation inside pnpkit goes through pk_alloc/pk_zalloc, so a test can make the N-th
 * one fail (PnpkitSimFailAllocation) and check that the API returns
 * STATUS_INSUFFICIENT_RESOURCES and leaves nothing behind. The countdown is one atomic.
 */
#include "base/base_internal.h"

#include <stdlib.h>
#include <string.h>

static int32_t fail_countdown; /* 0: off; N: the N-th next allocation fails */

void PnpkitSimFailAllocation(ULONG Nth) { pk_store_release(&fail_countdown, (int32_t)Nth); }

static bool injected_failure(void)
{
    int32_t c = pk_load_relaxed(&fail_countdown);
    while (c > 0) {
        if (pk_cas(&fail_countdown, &c, c - 1))
            return c == 1;
    }
    return false;
}

void *pk_alloc(size_t size)
{
    if (pk_unlikely(injected_failure()))
        return NULL;
    return malloc(size ? size : 1);
}

void *pk_zalloc(size_t size)
{
    if (pk_unlikely(injected_failure()))
        return NULL;
    return calloc(1, size ? size : 1);
}

void *pk_realloc(void *p, size_t size)
{
    if (pk_unlikely(injected_failure()))
        return NULL;
    return realloc(p, size ? size : 1);
}

void pk_free(void *p) { free(p); }

char16_t *pk_wcsdup(PCWSTR s)
{
    size_t n = PnpkitWcsLen(s);
    char16_t *d = pk_alloc((n + 1) * sizeof(char16_t));
    if (d) {
        memcpy(d, s, n * sizeof(char16_t));
        d[n] = 0;
    }
    return d;
}

PVOID ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    if (PoolType == PagedPool && !pk_irql_ok("ExAllocatePoolWithTag(PagedPool)", APC_LEVEL))
        return NULL;
    return pk_alloc(NumberOfBytes);
}

PVOID ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag)
{
    if ((Flags & POOL_FLAG_PAGED) && !pk_irql_ok("ExAllocatePool2(POOL_FLAG_PAGED)", APC_LEVEL))
        return NULL;
    return (Flags & POOL_FLAG_UNINITIALIZED) ? pk_alloc(NumberOfBytes) : pk_zalloc(NumberOfBytes);
}

VOID ExFreePoolWithTag(PVOID P, ULONG Tag) { free(P); }

VOID ExFreePool(PVOID P) { free(P); }
