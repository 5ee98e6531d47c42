/*
 * pnp_internal.h — the PnP layer's private interface: device nodes, the PnP worker, device
 * interfaces, notification registrations and the removal flows.
 *
 * Locks, in the order they may be taken (never the other way round):
 *   pnp.tree_lock       the tree (parent/child links), the DEVINST table, node states and
 *                       problems, the PDO-to-node map, per-node open counts
 *   pnp.iface_lock      every interface instance and the class and link indexes
 *   pnp.notify_lock     every notification registration list
 * No lock is held while a driver, a registrant or an application callback runs.
 *
 * Threads: every state change of the tree, every IRP_MJ_PNP and every driver-side notification
 * happens on the one PnP worker thread (pnp_worker.c). Other threads queue work to it.
 */
#ifndef PNPKIT_PNP_INTERNAL_H
#define PNPKIT_PNP_INTERNAL_H

#include "base/base_internal.h"
#include "object/object_internal.h"
#include <pnpkit/cfgmgr32.h>
#include <pnpkit/swdevice.h>
#include <pnpkit/sim.h>
#include <pnpkit/wdm.h>

/* =============================================================================================
 * Device nodes (devnode.c)
 * ============================================================================================= */

typedef enum pnp_node_state {
    PNP_NODE_INITIALIZED = 1, /* reported; no driver added yet */
    PNP_NODE_DRIVERS_ADDED,   /* every AddDevice returned */
    PNP_NODE_STARTED,
    PNP_NODE_QUERY_REMOVED,   /* a query-remove was accepted; removal or cancel follows */
    PNP_NODE_SURPRISE_REMOVED,/* waits for the last file object to close */
    PNP_NODE_REMOVED,         /* IRP_MN_REMOVE_DEVICE done; stack deleted */
    PNP_NODE_DISABLED,        /* removed, kept with CM_PROB_DISABLED */
    PNP_NODE_DELETED,         /* left the tree (terminal) */
} pnp_node_state;

typedef struct pnp_swdevice pnp_swdevice;
typedef struct pnp_driver pnp_driver;

#define PNP_NODE_HISTORY 8
#define PNP_MAX_STACK_DRIVERS 8

typedef struct pnp_devnode {
    uint32_t refs;                 /* atomic; the tree holds one until Deleted */
    DEVINST devinst;               /* CM handle: slot | generation << 16 */
    WCHAR instance_id[MAX_DEVICE_ID_LEN];
    USHORT instance_id_len;        /* in WCHARs */
    struct pnp_devnode *parent;    /* tree_lock; holds a reference */
    LIST_ENTRY children;           /* tree_lock */
    LIST_ENTRY sibling;            /* tree_lock */
    PDEVICE_OBJECT pdo;            /* the bus driver's PDO (referenced) */
    WCHAR *hardware_ids;           /* multi-string, owned */
    WCHAR *compatible_ids;         /* multi-string, owned (may be NULL) */
    uint8_t state;                 /* pnp_node_state; written on the worker under tree_lock */
    ULONG problem;                 /* CM_PROB_*; tree_lock */
    bool disableable;
    bool reported_missing;         /* the bus no longer reports it (or SwDeviceClose) */
    bool in_removal;               /* a remove or surprise removal is being handled */
    int32_t open_handles;          /* creates that succeeded minus cleanups; tree_lock */
    int32_t file_objects;          /* file objects not yet closed; tree_lock */
    pnp_driver *drivers[PNP_MAX_STACK_DRIVERS]; /* drivers of the stack, bottom-up */
    int ndrivers;
    LIST_ENTRY interfaces;         /* pnp_interface.node_link; iface_lock */
    LIST_ENTRY kernel_targets;     /* kernel target-device registrations; notify_lock */
    LIST_ENTRY user_targets;       /* CM DEVICEHANDLE registrations; notify_lock */
    bool software;                 /* created by SwDeviceCreate */
    struct {
        uint8_t from, to;
    } history[PNP_NODE_HISTORY];
    uint8_t history_next;
} pnp_devnode;

void pnp_node_reference(pnp_devnode *n);
void pnp_node_dereference(pnp_devnode *n);
/* Looks a node up and references it; NULL if unknown or deleted. */
pnp_devnode *pnp_node_from_devinst(DEVINST devinst);
pnp_devnode *pnp_node_from_instance_id(PCWSTR instance_id, size_t len);
pnp_devnode *pnp_node_from_pdo(PDEVICE_OBJECT pdo);
pnp_devnode *pnp_root(void);
/* Creates a node under parent (referenced by the caller), state Initialized, in the tree.
 * STATUS_OBJECT_NAME_COLLISION if the instance id exists (case-insensitive). */
NTSTATUS pnp_node_create(pnp_devnode *parent, PCWSTR instance_id, PCZZWSTR hardware_ids, PCZZWSTR compatible_ids,
                         pnp_devnode **out);
/* The one function that changes a node's state (worker thread). */
void pnp_node_set_state(pnp_devnode *n, pnp_node_state to);
pnp_node_state pnp_node_state_get(pnp_devnode *n);
/* Unlinks a Deleted node from the tree and the indexes, and drops the tree's reference. */
void pnp_node_unlink(pnp_devnode *n);
/* Collects n and its descendants, descendants first (post-order), each referenced. The caller
 * frees the array with pnp_node_list_free. */
NTSTATUS pnp_node_subtree(pnp_devnode *n, pnp_devnode ***out, int *count);
void pnp_node_list_free(pnp_devnode **list, int count);
/* The top of the node's device stack, referenced (ObDereferenceObject), or NULL. */
PDEVICE_OBJECT pnp_node_stack_top(pnp_devnode *n);
/* Record the PDO of a node (bus drivers) so that pnp_node_from_pdo finds it. */
void pnp_node_set_pdo(pnp_devnode *n, PDEVICE_OBJECT pdo);
void pnp_tree_shutdown(void);

/* =============================================================================================
 * The PnP worker (pnp_worker.c)
 * ============================================================================================= */

typedef struct pnp_work {
    LIST_ENTRY link;
    void (*fn)(struct pnp_work *work);
    KEVENT *done;        /* set after fn returned, if not NULL */
} pnp_work;

/* Queues work for the worker (starting it on first use). Any IRQL <= DISPATCH_LEVEL. */
void pnp_worker_queue(pnp_work *work);
/* Queues work and waits for it. Refused (returns false) on the worker itself. PASSIVE_LEVEL. */
bool pnp_worker_run_sync(pnp_work *work);
bool pnp_on_worker(void);
/* Waits until everything queued so far has run (not from the worker). */
void pnp_worker_flush(void);

/* =============================================================================================
 * Drivers and software devices (pnp_driver.c, swdevice.c)
 * ============================================================================================= */

struct pnp_driver {
    LIST_ENTRY link;
    WCHAR *service_name;
    PDRIVER_INITIALIZE entry;
    WCHAR *hardware_ids;       /* multi-string */
    PDRIVER_OBJECT driver_object;  /* created at the first matching device */
    bool upper_filter;         /* sim: placed above the function driver */
    bool lower_filter;
    WCHAR *filter_for;         /* hardware id a filter attaches to */
};

/* Finds the function driver and filters for a node, bottom-up; creates DRIVER_OBJECTs and runs
 * DriverEntry once per driver. Returns the count. */
int pnp_driver_match(pnp_devnode *n, pnp_driver **out, int max);
PDRIVER_OBJECT pnp_driver_object(pnp_driver *d);
/* The internal bus driver that owns the PDOs of software devices. */
PDRIVER_OBJECT pnp_swenum_driver(void);
NTSTATUS pnp_create_pdo(pnp_devnode *n);
void pnp_drivers_shutdown(void);

/* =============================================================================================
 * State machine (pnp_state.c): start and the removal flows. Worker thread only.
 * ============================================================================================= */

void pnp_start_node(pnp_devnode *n);
/* Orderly removal of n's subtree. keep_disabled: CM_Disable_DevNode. Returns CR_SUCCESS or
 * CR_REMOVE_VETOED with the veto type and name. */
CONFIGRET pnp_query_remove_subtree(pnp_devnode *n, bool keep_disabled, PNP_VETO_TYPE *veto_type, WCHAR *veto_name,
                                   ULONG veto_name_len);
void pnp_surprise_remove_subtree(pnp_devnode *n);
/* Sends a PnP IRP down the node's stack and waits for it. */
NTSTATUS pnp_send_irp(pnp_devnode *n, UCHAR minor, void (*prepare)(PIO_STACK_LOCATION, void *), void *ctx,
                      ULONG_PTR *information);
/* Sets and clears DOE_* flags on the node's PDO, which the io layer's create path reads:
 * DOE_START_PENDING until the start completed (creates fail with STATUS_NO_SUCH_DEVICE),
 * DOE_REMOVE_PENDING while it is query-removed or being removed (STATUS_DELETE_PENDING). */
void pnp_node_mark_pdo(pnp_devnode *n, ULONG set, ULONG clear);
/* sim: whether a PnpkitSimFailNextStart is pending for this node's instance id (consumed). */
bool pnp_sim_take_fail_start(pnp_devnode *n);
NTSTATUS pnp_request_surprise_removal(pnp_devnode *n);
/* The same for a device object's stack (a child PDO that has no node yet). */
NTSTATUS pnp_send_irp_to(PDEVICE_OBJECT pdo, UCHAR minor, void (*prepare)(PIO_STACK_LOCATION, void *), void *ctx,
                         ULONG_PTR *information);
/* Queries a started node's bus relations: adds and starts new children, surprise-removes the
 * children no longer reported (bus_relations.c). Worker thread. */
void pnp_enumerate_bus(pnp_devnode *bus);
/* Called by the open path when the last file object of a surprise-removed node closed. */
void pnp_node_last_close(pnp_devnode *n);

/* =============================================================================================
 * Device interfaces (device_interface.c)
 * ============================================================================================= */

typedef struct pnp_interface {
    LIST_ENTRY node_link;      /* in node->interfaces */
    LIST_ENTRY class_link;     /* in its class bucket */
    struct pnp_interface *hash_next; /* link index */
    pnp_devnode *node;         /* referenced */
    GUID class_guid;
    WCHAR *ref_string;         /* NULL or owned */
    UNICODE_STRING link;       /* kernel form \??\...; owned */
    uint32_t link_hash;        /* of the case-folded link without its prefix */
    bool enabled;              /* listed, openable, announced */
    bool enable_pending;       /* enabled before the node started */
} pnp_interface;

/* The instance a link (either prefix, any case, optionally followed by \more) opens, with its
 * node referenced and the remainder after the link's device part (\ref\more) copied into
 * file_name (caller frees with RtlFreeUnicodeString). STATUS_OBJECT_NAME_NOT_FOUND. */
NTSTATUS pnp_interface_resolve(PCUNICODE_STRING name, pnp_devnode **node, UNICODE_STRING *file_name);
/* Calls fn for each enabled instance of the class. The caller holds pnp.iface_lock. */
void pnp_interfaces_for_each_enabled_locked(const GUID *class_guid,
                                            void (*fn)(void *ctx, const GUID *g, PCUNICODE_STRING link), void *ctx);
/* On start completion: enable the instances enabled while the node was starting. */
void pnp_interfaces_node_started(pnp_devnode *n);
/* On removal: disable every enabled instance of the node (announcing each). */
void pnp_interfaces_node_removed(pnp_devnode *n, bool forget);
void pnp_interfaces_shutdown(void);

/* =============================================================================================
 * Notifications (notify.c)
 * ============================================================================================= */

/* Interface arrival/removal of one instance: queued to the worker, delivered to kernel and user
 * registrants of the class. The caller holds pnp.iface_lock, so that events are queued in the
 * order of the state changes they announce. */
void pnp_notify_interface_change_locked(const GUID *class_guid, PCUNICODE_STRING kernel_link, bool arrival);
/* Device-instance events to CM DEVICEINSTANCE registrants (posted). */
void pnp_notify_instance_event(pnp_devnode *n, CM_NOTIFY_ACTION action);
bool pnp_notify_node_has_registrations(pnp_devnode *n);
/* The node behind an application handle (a file object opened through pnpkit), referenced. */
pnp_devnode *pnp_node_from_handle(HANDLE handle);
/* Delivers a target-device event to the node's registrants (worker thread). For QUERY_REMOVE
 * the delivery stops at the first refusal; *vetoed tells who. */
typedef enum pnp_target_event {
    PNP_TARGET_QUERY_REMOVE,
    PNP_TARGET_REMOVE_CANCELLED,
    PNP_TARGET_REMOVE_PENDING,   /* user registrants only */
    PNP_TARGET_REMOVE_COMPLETE,  /* user registrants get REMOVECOMPLETE, kernel REMOVE_COMPLETE */
    PNP_TARGET_CUSTOM,
} pnp_target_event;

typedef struct pnp_delivery_record pnp_delivery_record; /* who received a query */
NTSTATUS pnp_notify_target_user(pnp_devnode *n, pnp_target_event ev, const TARGET_DEVICE_CUSTOM_NOTIFICATION *custom,
                                pnp_delivery_record **received, WCHAR *vetoer, ULONG vetoer_len);
NTSTATUS pnp_notify_target_kernel(pnp_devnode *n, pnp_target_event ev, const TARGET_DEVICE_CUSTOM_NOTIFICATION *custom,
                                  pnp_delivery_record **received, WCHAR *vetoer, ULONG vetoer_len);
/* Delivers QUERYREMOVEFAILED / REMOVE_CANCELLED to exactly the registrants in `received`, then
 * frees the record. */
void pnp_notify_target_cancelled(pnp_devnode *n, pnp_delivery_record *user_received,
                                 pnp_delivery_record *kernel_received);
void pnp_delivery_record_free(pnp_delivery_record *r);
void pnp_notify_shutdown(void);

/* =============================================================================================
 * Open and close by name (pnp_open.c)
 * ============================================================================================= */

/* Opens a symbolic link: sends IRP_MJ_CREATE to the top of the device's stack with the file
 * name after the link. On success *file holds one reference (close with pnp_close_file). */
NTSTATUS pnp_open_link(PCUNICODE_STRING name, ACCESS_MASK access, ULONG share_access, PFILE_OBJECT *file,
                       PDEVICE_OBJECT *device);
/* The same with every create parameter (validated by the caller; FileName and
 * RelatedFileObject are ignored: the name is the link's). */
NTSTATUS pnp_open_link_params(PCUNICODE_STRING name, const PNPKIT_IO_OPEN_PARAMETERS *params, PFILE_OBJECT *file,
                              PDEVICE_OBJECT *device);
/* Cleanup (IRP_MJ_CLEANUP) and the caller's reference; IRP_MJ_CLOSE follows on the last one. */
void pnp_close_file(PFILE_OBJECT file);
/* Installs the io layer's hooks (file closes, open by link name). */
void pnp_open_install_hooks(void);

/* ---- Layer-wide state ---- */
typedef struct pnp_globals {
    pk_lock tree_lock;
    pk_lock iface_lock;
    pk_lock notify_lock;
} pnp_globals;
extern pnp_globals pnp;

void pnp_ensure_started(void);

#endif /* PNPKIT_PNP_INTERNAL_H */
