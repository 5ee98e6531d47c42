/*
 * swenum.h — the device extension of the PDOs that the internal SoftwareDevice bus driver
 * creates (pnp_driver.c). The sim fault injectors set its flags; the PDO's IRP_MJ_PNP handler
 * reads them.
 */
#ifndef PNPKIT_SWENUM_H
#define PNPKIT_SWENUM_H

#include "pnp/pnp_internal.h"

typedef struct swenum_pdo_extension {
    pnp_devnode *node;        /* not referenced: the node holds the PDO, not the reverse */
    bool fail_next_start;     /* sim: the next IRP_MN_START_DEVICE fails (atomic) */
    bool veto_query_remove;   /* sim: IRP_MN_QUERY_REMOVE_DEVICE fails while set (atomic) */
    bool missing;             /* the bus no longer reports the device (atomic) */
    void *backend_context;    /* set by the backend that created the device (Linux: the node) */
} swenum_pdo_extension;

#endif
