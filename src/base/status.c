/*
 * status.c — names of NTSTATUS values.
 *
 * The table is expanded from PNPKIT_STATUS_LIST in <pnpkit/ntstatus.h>, the same list that
 * defines the values, so the two cannot drift apart. No state; no locking.
 */
#include "base/base_internal.h"

#include <stdio.h>

struct status_name {
    NTSTATUS value;
    const char *name;
};

#define PK_STATUS_ENTRY(name, value) { (NTSTATUS)(value), #name },
static const struct status_name status_names[] = { PNPKIT_STATUS_LIST(PK_STATUS_ENTRY) };
#undef PK_STATUS_ENTRY

PCSTR PnpkitStatusName(NTSTATUS Status)
{
    static __thread char unknown[16];

    for (size_t i = 0; i < ARRAYSIZE(status_names); i++)
        if (status_names[i].value == Status)
            return status_names[i].name;
    snprintf(unknown, sizeof(unknown), "0x%08X", (unsigned)Status);
    return unknown;
}
