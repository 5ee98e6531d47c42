/*
 * wdf_internal.h — what the files of the wdf layer share and nothing outside it includes.
 *
 * Naming: wdf_<thing>_<verb>. Public entry points (Wdf*) validate IRQL, arguments and handles,
 * then call into the file that owns the object type.
 */
#ifndef PNPKIT_WDF_INTERNAL_H
#define PNPKIT_WDF_INTERNAL_H

#include "object/object_internal.h"
#include <pnpkit/wdfutil.h>

/* =============================================================================================
 * Utility objects: memory.c, lookaside.c, collection.c, wdflock.c, workitem.c, wdftimer.c,
 * wdfstring.c.
 * ============================================================================================= */

/* WDFLOOKASIDE has no object kind of its own yet: its handles are registered as GENERIC and
 * lookaside.c tells them apart by their pk_object_type. Switch to PK_KIND_LOOKASIDE once
 * object_internal.h has it. */
#define WDF_KIND_LOOKASIDE PK_KIND_LOOKASIDE

#define WDF_MAXLONG 0x7FFFFFFFu

/* Paged pool types are the odd ones (PagedPool, PagedPoolCacheAligned, ...), as in Windows. */
static inline bool wdf_pool_type_is_paged(POOL_TYPE type) { return ((unsigned)type & 1u) != 0; }

/* The check of the work item and timer constructors: attributes with a ParentObject are
 * required. A wrong Attributes->Size is reported first, as KMDF does (and reading ParentObject
 * of a smaller structure would read past it). */
static inline NTSTATUS wdf_require_parent(const WDF_OBJECT_ATTRIBUTES *attributes, const char *api)
{
    if (!attributes || (attributes->Size == sizeof(WDF_OBJECT_ATTRIBUTES) && !attributes->ParentObject)) {
        pk_verifier_report(api, "WDF_OBJECT_ATTRIBUTES with a ParentObject are required");
        return STATUS_WDF_PARENT_NOT_SPECIFIED;
    }
    if (attributes->Size != sizeof(WDF_OBJECT_ATTRIBUTES)) {
        pk_verifier_report(api, "WDF_OBJECT_ATTRIBUTES.Size is %u, expected %zu", attributes->Size,
                           sizeof(WDF_OBJECT_ATTRIBUTES));
        return STATUS_INFO_LENGTH_MISMATCH;
    }
    return STATUS_SUCCESS;
}

/* The head of every WDFMEMORY (memory.c owns the created and preallocated kinds, lookaside.c
 * the kind whose buffer comes from a WDFLOOKASIDE). buffer and size are written at creation
 * and, for preallocated memory only, by WdfMemoryAssignBuffer (the driver serializes that with
 * its own use of the buffer, as in KMDF). */
typedef struct wdf_memory {
    pk_object header;
    void *buffer;
    size_t size;
} wdf_memory;

/* Validates `memory` as a WDFMEMORY of any kind and takes a reference (release it with
 * pk_object_dereference). *buffer and *size describe its buffer, valid while the reference is
 * held. STATUS_INVALID_HANDLE (with a report naming api) for a bad handle. Any IRQL. */
NTSTATUS wdf_memory_reference(WDFMEMORY memory, const char *api, pk_object **object, void **buffer, size_t *size);

/* Replaces the text of a WDFSTRING with a copy of value (validated by the caller; NULL or
 * empty makes it empty). For the functions that fill a caller's WDFSTRING (device names,
 * registry values). The previous buffer is freed: a UNICODE_STRING obtained earlier with
 * WdfStringGetUnicodeString is stale afterwards, as in KMDF. STATUS_INSUFFICIENT_RESOURCES
 * leaves the old text. PASSIVE_LEVEL. */
NTSTATUS wdf_string_assign(pk_object *string, PCUNICODE_STRING value);

/* =============================================================================================
 * Drivers, devices, queues, requests, file objects and the local I/O target: driver.c,
 * device_init.c, device.c (WDFDEVICE, dispatch, PnP/power state machine), device_iface.c,
 * fileobject.c, queue.c, request.c, request_send.c, iotarget.c.
 *
 * Lock order (never the other way round): device->queue_lock, then queue->lock; a queue's lock
 * is never held with another queue's; target->lock and device->file_lock are leaves. No pnpkit
 * lock is held while a driver callback runs (the one exception is the device's passive callback
 * lock, which is the driver's own synchronization scope).
 * ============================================================================================= */

#include <pnpkit/wdfdriver.h>
#include <pnpkit/wdfdevice.h>
#include <pnpkit/wdffileobject.h>
#include <pnpkit/wdfrequest.h>
#include <pnpkit/wdfio.h>
#include <pnpkit/wdfiotarget.h>

typedef struct wdf_driver wdf_driver;
typedef struct wdf_device wdf_device;
typedef struct wdf_queue wdf_queue;
typedef struct wdf_request wdf_request;
typedef struct wdf_fileobject wdf_fileobject;
typedef struct wdf_iotarget wdf_iotarget;

/* ---- WDFDRIVER (driver.c) ---- */

struct wdf_driver {
    pk_object header;
    PDRIVER_OBJECT wdm;            /* not referenced: the WDFDRIVER goes in its DriverUnload */
    WDF_DRIVER_CONFIG config;
    WCHAR *registry_path;          /* owned, NUL-terminated */
    LIST_ENTRY link;               /* in the process's driver list (driver.c's lock) */
};

/* Deletes o with a reference held for the duration: pk_object_delete may drop o's creation
 * reference from inside its loop over the children (when the last child's dispose finishes
 * it), and its caller must keep o alive until the loop is over. */
static inline void wdf_object_delete(pk_object *o)
{
    pk_object_reference(o);
    pk_object_delete(o);
    pk_object_dereference(o);
}

/* The WDFDRIVER of a DRIVER_OBJECT, referenced (pk_object_dereference), or NULL. */
wdf_driver *wdf_driver_lookup(PDRIVER_OBJECT wdm);
/* The dispatch routine WdfDriverCreate installs for every major function (device.c). */
NTSTATUS wdf_device_dispatch(PDEVICE_OBJECT device_object, PIRP irp);
/* The AddDevice WdfDriverCreate installs (device_init.c). */
NTSTATUS wdf_driver_add_device(PDRIVER_OBJECT driver_object, PDEVICE_OBJECT pdo);

/* ---- WDFDEVICE_INIT (device_init.c) ---- */

#define WDF_DEVICE_INIT_MAGIC 0x54494e49u /* "INIT" */

struct WDFDEVICE_INIT {
    uint32_t magic;
    wdf_driver *driver;             /* referenced by AddDevice for the call */
    PDEVICE_OBJECT pdo;
    bool filter;
    bool exclusive;
    bool power_policy_owner;
    bool consumed;                  /* WdfDeviceCreate used it */
    bool framework_owned;           /* the one EvtDriverDeviceAdd received */
    wdf_device *created;            /* the device WdfDeviceCreate made from it */
    WDF_PNPPOWER_EVENT_CALLBACKS pnp;
    bool file_config_set;
    WDF_FILEOBJECT_CONFIG file_config;
    bool file_attributes_set;
    WDF_OBJECT_ATTRIBUTES file_attributes;
    bool request_attributes_set;
    WDF_OBJECT_ATTRIBUTES request_attributes;
    WDF_DEVICE_IO_TYPE io_type;
    DEVICE_TYPE device_type;
    ULONG characteristics;
    UNICODE_STRING name;            /* owned; Length 0: unnamed */
};

/* Validates a WDFDEVICE_INIT passed by a driver (verifier stop and false when it is not one or
 * was used already). */
bool wdf_device_init_ok(PWDFDEVICE_INIT init, const char *api);

/* ---- WDFDEVICE (device.c) ---- */

/* What the device object's extension holds: the way from a DEVICE_OBJECT to its WDFDEVICE. The
 * remove lock is taken by every dispatch; IRP_MN_REMOVE_DEVICE releases it and waits, after
 * which `device` is never read again (the extension lives as long as the device object). */
typedef struct wdf_devext {
    uint32_t magic;                 /* WDF_DEVEXT_MAGIC */
    wdf_device *device;
    IO_REMOVE_LOCK remove_lock;
} wdf_devext;
#define WDF_DEVEXT_MAGIC 0x58454457u /* "WDEX" */

/* PnP states of a WDFDEVICE, changed only by wdf_device_transition (device.c), which checks the
 * transition and records it in the device's history. */
typedef enum wdf_pnp_state {
    WDF_PNP_ADDED = 1,        /* created, never started */
    WDF_PNP_STARTED,
    WDF_PNP_START_FAILED,
    WDF_PNP_QUERY_REMOVED,
    WDF_PNP_QUERY_STOPPED,
    WDF_PNP_STOPPED,
    WDF_PNP_SURPRISE_REMOVED,
    WDF_PNP_REMOVED,          /* terminal: IRP_MN_REMOVE_DEVICE handled */
} wdf_pnp_state;

#define WDF_DEVICE_HISTORY 12

/* A sleeping mutex for the driver's synchronization scope (held across driver callbacks by
 * design). PASSIVE_LEVEL. */
typedef struct wdf_callback_lock {
    KEVENT event;                   /* SynchronizationEvent, signaled when free */
} wdf_callback_lock;
void wdf_callback_lock_init(wdf_callback_lock *l);
void wdf_callback_lock_acquire(wdf_callback_lock *l);
void wdf_callback_lock_release(wdf_callback_lock *l);

typedef struct wdf_interface {
    LIST_ENTRY link;                /* device->interfaces (iface_lock) */
    GUID guid;
    UNICODE_STRING ref;             /* owned copy; Length 0: none */
    UNICODE_STRING link_name;       /* from IoRegisterDeviceInterface; owned */
    bool auto_enable;               /* enabled at (re)start; cleared by ...StateEx(FALSE) */
} wdf_interface;

/* Request dispatching slots (device->dispatch). */
enum { WDF_DISPATCH_CREATE, WDF_DISPATCH_READ, WDF_DISPATCH_WRITE, WDF_DISPATCH_IOCTL,
       WDF_DISPATCH_INTERNAL_IOCTL, WDF_DISPATCH_SLOTS };

struct wdf_device {
    pk_object header;
    wdf_driver *driver;             /* the parent */
    PDEVICE_OBJECT self;            /* referenced until destroy */
    PDEVICE_OBJECT pdo;             /* referenced until destroy */
    PDEVICE_OBJECT lower;           /* attached-to device; the attachment holds it */
    wdf_devext *ext;
    bool filter;
    bool exclusive;
    bool power_policy_owner;
    WDF_DEVICE_IO_TYPE io_type;
    WDF_PNPPOWER_EVENT_CALLBACKS pnp;

    /* File objects (fileobject.c). Written at creation only. */
    WDF_FILEOBJECT_CONFIG file_config;
    ULONG file_class;               /* normalized (WdfFileObjectCanBeOptional removed) */
    bool file_optional;             /* WdfFileObjectCanBeOptional */
    bool autoforward;               /* effective AutoForwardCleanupClose */
    bool file_attributes_set;
    WDF_OBJECT_ATTRIBUTES file_attributes;
    int32_t open_count;             /* atomic: creates that passed step 1, not yet closed */
    pk_lock file_lock;              /* protects files */
    LIST_ENTRY files;               /* wdf_fileobject.link */

    /* Queues (queue.c). */
    pk_lock queue_lock;             /* protects queues, default_queue, dispatch[] */
    LIST_ENTRY queues;              /* wdf_queue.link */
    wdf_queue *default_queue;
    wdf_queue *dispatch[WDF_DISPATCH_SLOTS];

    /* Pool of framework requests (request.c). */
    pk_lock pool_lock;              /* protects pool, pool_count */
    wdf_request *pool;              /* singly linked by pool_next */
    uint32_t pool_count;
    bool request_attributes_set;
    WDF_OBJECT_ATTRIBUTES request_attributes;
    size_t request_context_size;

    wdf_iotarget *target;           /* the local I/O target (a child) */

    /* Interfaces (device_iface.c). */
    pk_lock iface_lock;             /* protects interfaces */
    LIST_ENTRY interfaces;          /* wdf_interface.link */

    /* PnP and power: written on the PnP worker (or the power IRP's thread), state under
     * state_lock so that other threads read a consistent value. */
    pk_lock state_lock;             /* protects pnp_state, history */
    uint8_t pnp_state;              /* wdf_pnp_state */
    struct {
        uint8_t from, to, event;
    } history[WDF_DEVICE_HISTORY];
    uint8_t history_next;
    uint8_t power_state;            /* WDF_POWER_DEVICE_STATE; D0 while powered */
    bool powered;                   /* in D0: power-managed queues may present (atomic) */
    bool hw_prepared;               /* PrepareHardware was called; ReleaseHardware owed */
    bool smio_initialized;          /* SelfManagedIoInit succeeded; Cleanup owed */
    bool smio_suspended;
    bool started_once;

    WDF_DEVICE_STATE device_state;
    wdf_callback_lock callback_lock; /* the device's passive callback lock (scope Device) */
    /* Serializes PnP and power handling (IRP_MJ_PNP on the PnP worker, IRP_MJ_POWER from any
     * thread); held across the driver's PnP and power callbacks, as KMDF's state machine runs
     * them one event at a time. */
    wdf_callback_lock pnp_serial;

    const struct wdf_device_extension *extension; /* hosted framework extension (atomic) */
};

/* A framework extension hosted on a device: DMF's static modules. The device calls it before the
 * client's EvtDevicePrepareHardware and EvtDeviceD0Entry (a failure fails the transition and the
 * client's callback is not called) and after the client's EvtDeviceD0Exit and
 * EvtDeviceReleaseHardware, on the thread running the PnP or power event. */
typedef struct wdf_device_extension {
    NTSTATUS (*prepare_hardware)(WDFOBJECT device, WDFCMRESLIST raw, WDFCMRESLIST translated);
    NTSTATUS (*release_hardware)(WDFOBJECT device, WDFCMRESLIST translated);
    NTSTATUS (*d0_entry)(WDFOBJECT device, ULONG previous_state);
    NTSTATUS (*d0_exit)(WDFOBJECT device, ULONG target_state);
    /* File-object events, for a device whose extension takes them (takes_file_events, asked at
     * each create). The extension sees a create before the client's EvtDeviceFileCreate and
     * returns TRUE when it handled it (it then owns the request and completes or forwards it);
     * otherwise the client's callback runs, or without one the framework completes the create
     * (forwards it to the local target when AutoForwardCleanupClose applies). A create queue
     * takes creates before the extension. Cleanup and close reach the extension before the
     * client's EvtFileCleanup and EvtFileClose. All on the thread of the IRP. */
    bool (*takes_file_events)(WDFOBJECT device);
    BOOLEAN (*file_create)(WDFDEVICE device, WDFREQUEST request, WDFFILEOBJECT file);
    void (*file_cleanup)(WDFDEVICE device, WDFFILEOBJECT file);
    void (*file_close)(WDFDEVICE device, WDFFILEOBJECT file);
} wdf_device_extension;

/* Installs ext on the device behind `device` (a pk_object of kind PK_KIND_DEVICE); one extension
 * per device: STATUS_INVALID_DEVICE_STATE when another one is installed. */
NTSTATUS wdf_device_set_extension(pk_object *device, const wdf_device_extension *ext);

/* The WDFDEVICE behind a device object of a WDF driver, or NULL. Not referenced: valid while the
 * caller holds the device's remove lock or otherwise knows the device is not removed. */
wdf_device *wdf_device_from_wdm(PDEVICE_OBJECT device_object);
/* Looks a WDFDEVICE handle up and references it (pk_object_dereference). */
NTSTATUS wdf_device_reference(WDFDEVICE handle, const char *api, wdf_device **out);
wdf_pnp_state wdf_device_pnp_state(wdf_device *dev);
/* Completes an IRP the framework handles itself. */
NTSTATUS wdf_complete_irp(PIRP irp, NTSTATUS status, ULONG_PTR information);
/* Sends irp to dev->lower with the current stack location skipped; returns IoCallDriver's
 * status. */
NTSTATUS wdf_forward_irp(wdf_device *dev, PIRP irp);

/* ---- Interfaces (device_iface.c) ---- */
void wdf_interfaces_enable_at_start(wdf_device *dev);
void wdf_interfaces_disable_all(wdf_device *dev);
void wdf_interfaces_free(wdf_device *dev);

/* ---- WDFFILEOBJECT (fileobject.c) ---- */

struct wdf_fileobject {
    pk_object header;
    wdf_device *device;
    PFILE_OBJECT wdm;               /* NULL for a create without FILE_OBJECT */
    LIST_ENTRY link;                /* device->files (file_lock) */
    bool in_list;                   /* file_lock */
    bool opened;                    /* its create succeeded (atomic) */
    /* The balance rule's counts (atomic): creates the driver sent to the local target, cleanups
     * and closes the framework forwarded. */
    uint32_t creates_sent, cleanups_sent, closes_sent;
};

/* IRP_MJ_CREATE / IRP_MJ_CLEANUP / IRP_MJ_CLOSE of dev (called with its remove lock held). */
NTSTATUS wdf_file_dispatch_create(wdf_device *dev, PIRP irp);
NTSTATUS wdf_file_dispatch_cleanup(wdf_device *dev, PIRP irp);
NTSTATUS wdf_file_dispatch_close(wdf_device *dev, PIRP irp);
/* The WDFFILEOBJECT of fo on dev, referenced, or NULL. */
wdf_fileobject *wdf_file_lookup(wdf_device *dev, PFILE_OBJECT fo);
/* A create request is being completed with status (request.c calls it before the IRP
 * completes): a failure destroys the file object and restores the open count. */
void wdf_file_create_completing(wdf_request *r, NTSTATUS status);
/* A create request was sent to dev's local target (counts for the balance rule). */
void wdf_file_create_sent(wdf_request *r);
/* Validates a file-object configuration (verifier stop and false when invalid). */
bool wdf_file_config_ok(const WDF_FILEOBJECT_CONFIG *config, const WDF_OBJECT_ATTRIBUTES *attributes,
                        const char *api);

/* ---- WDFQUEUE (queue.c) ---- */

struct wdf_queue {
    pk_object header;
    wdf_device *device;
    WDF_IO_QUEUE_CONFIG config;
    bool power_managed;
    /* The synchronization scope of its I/O callbacks (written at creation): the lock they run
     * under, the queue's own (scope Queue) or the device's passive callback lock (scope Device,
     * shared with the file-object callbacks), or NULL (None). A presentation that cannot take
     * it where it is (above PASSIVE_LEVEL, or on a thread that already holds it) is handed to
     * sync_work on the thread pool. */
    wdf_callback_lock *sync;
    wdf_callback_lock own_sync;
    WORK_QUEUE_ITEM sync_work;
    bool sync_work_queued;          /* lock */
    LIST_ENTRY link;                /* device->queues (device->queue_lock) */
    pk_lock lock;                   /* protects everything below */
    LIST_ENTRY pending;             /* waiting requests (wdf_request.queue_link) */
    uint32_t pending_count;
    LIST_ENTRY owned;               /* requests the driver holds (wdf_request.queue_link) */
    uint32_t driver_count;          /* entries of owned */
    uint32_t stop_acked;            /* owned requests acknowledged without requeue */
    bool accepting;                 /* new requests are queued (else refused) */
    bool dispatching;               /* not stopped by the driver or the framework */
    bool draining;
    bool purged_for_removal;        /* the device is gone: never start again */
    uint32_t waiters;               /* threads waiting on idle */
    KEVENT idle;                    /* set when a waited-for condition may hold */
    PFN_WDF_IO_QUEUE_STATE notify;  /* stop/purge/drain completion callback, once */
    WDFCONTEXT notify_context;
    uint8_t notify_kind;            /* 0 none, 1 stop, 2 purge, 3 drain */
};

/* Queues a framework request (dispatch routine); completes it with STATUS_INVALID_DEVICE_STATE
 * when the queue does not accept requests. The IRP is marked pending, and q referenced, by the
 * caller. */
void wdf_queue_insert(wdf_queue *q, wdf_request *r);
/* The driver no longer owns r: wdf_queue_detach takes r out of q's list of requests the driver
 * holds (r may then be recycled), and wdf_queue_release, called once r and its IRP are done
 * with, lowers q's count (waking purges and stops), may present the next request on this thread,
 * and drops r's reference on q. The count stays up in between, so that a removal waiting for the
 * queue cannot run while the completing thread still touches the request. No locks held. */
bool wdf_queue_detach(wdf_queue *q, wdf_request *r);
void wdf_queue_release(wdf_queue *q, bool stop_acked);
/* Cancels the waiting requests of fo in every queue of dev (file cleanup). */
void wdf_queues_cancel_file(wdf_device *dev, PFILE_OBJECT fo);
/* Power: stop presenting from power-managed queues (EvtIoStop with action, then wait), or start
 * again. PASSIVE_LEVEL. */
void wdf_queues_power_down(wdf_device *dev, ULONG action);
void wdf_queues_power_up(wdf_device *dev);
/* Removal: purge every queue of dev (or only the power-managed ones) and wait. */
void wdf_queues_purge_for_removal(wdf_device *dev, bool power_managed_only);
/* Marks / unmarks a driver-owned request cancelable under its queue's lock (request.c). */
NTSTATUS wdf_queue_mark_cancelable(wdf_request *r, PFN_WDF_REQUEST_CANCEL routine, bool call_if_cancelled);
NTSTATUS wdf_queue_unmark_cancelable(wdf_request *r);

/* ---- WDFREQUEST (request.c, request_send.c) ---- */

typedef enum wdf_request_state {
    WDF_REQ_IDLE = 1,       /* pooled, or driver-created and not sent */
    WDF_REQ_QUEUED,         /* waiting in a queue */
    WDF_REQ_DRIVER,         /* the driver owns it (presented, retrieved, from EvtDeviceFileCreate) */
    WDF_REQ_SENT,           /* sent to a target, completion not yet finished */
    WDF_REQ_DONE,           /* completed (framework) or send finished (driver-created) */
} wdf_request_state;

struct wdf_request {
    pk_object header;
    wdf_device *device;             /* framework requests: the device; created: NULL */
    PIRP irp;
    bool framework;                 /* made for an incoming IRP (pooled) */
    bool own_irp;                   /* allocated here (driver-created); freed at destroy */
    uint8_t major;                  /* IRP major function at dispatch */
    uint32_t state;                 /* wdf_request_state, atomic */

    /* Queue (queue.c): under q->lock. */
    wdf_queue *queue;               /* the queue it waits in or came from */
    LIST_ENTRY queue_link;          /* in queue->pending or queue->owned */
    bool in_pending;
    bool in_owned;
    bool cancelable;                /* marked cancelable (queue lock) */
    bool stop_notified;             /* EvtIoStop called for the current stop */
    bool stop_acked;
    PFN_WDF_REQUEST_CANCEL evt_cancel;
    PFILE_OBJECT file;              /* the stack location's FILE_OBJECT at dispatch */
    wdf_fileobject *fileobject;     /* creates: the WDFFILEOBJECT made for it (referenced) */

    /* Sending (request_send.c). */
    wdf_iotarget *target;           /* while sent (not referenced: see wdf_target_end_send) */
    LIST_ENTRY target_link;         /* target->sent (target lock) */
    bool target_tracked;            /* in target->sent, sent_ignore or held (target lock) */
    bool held;                      /* in target->held (target lock) */
    uint32_t cancel_epoch;          /* the target's last cancel pass that saw it (target lock) */
    int32_t send_refs;              /* completion reference count while sent (atomic) */
    bool cancelled;                 /* WdfRequestCancelSentRequest or the timer ran */
    bool timed_out;                 /* the timer cancelled it */
    bool synchronous;
    bool formatted;                 /* the next stack location was formatted */
    bool passive_completion;        /* deliver the completion routine at PASSIVE_LEVEL */
    uint32_t timer_busy;            /* atomic: armed or its callback is running */
    bool timer_used;                /* the timer was armed once: wait for it before reuse */
    pk_timer timer;                 /* initialized once; the engine touches it after callbacks */
    WORK_QUEUE_ITEM timer_release;  /* drops the timer's last reference off the timer thread */
    KEVENT sync_done;
    PFN_WDF_REQUEST_COMPLETION_ROUTINE completion;
    WDFCONTEXT completion_context;
    WDF_REQUEST_COMPLETION_PARAMS completion_params;
    NTSTATUS status;                /* the last send's outcome, or why it was refused */
    bool status_valid;
    WORK_QUEUE_ITEM passive_work;

    /* Formatting (request_send.c): what a format set up and the completion undoes. */
    void *sysbuf;                   /* owned buffer for buffered transfers */
    size_t sysbuf_size;
    PMDL mdl;                       /* allocated for direct transfers */
    void *copy_back_to;             /* METHOD_BUFFERED / buffered read output */
    size_t copy_back_max;
    pk_object *format_mem[2];       /* memory objects referenced by the format */
    PVOID saved_system_buffer;      /* a framework request's own buffers, restored after */
    PVOID saved_user_buffer;
    PMDL saved_mdl;
    bool buffers_replaced;

    /* Memory objects returned by WdfRequestRetrieve*Memory (children, made on first use). */
    WDFMEMORY in_memory, out_memory;
    ULONG_PTR information;          /* WdfRequestSetInformation before completion */
    wdf_request *pool_next;
};

/* Returns a framework request for irp (from dev's pool, or new), owned by the framework, state
 * IDLE. NULL on allocation failure. */
wdf_request *wdf_request_get(wdf_device *dev, PIRP irp);
/* Gives a framework request that is done back to the pool (or deletes it when someone still
 * references it). extra_refs: references the caller holds besides the creation reference. */
void wdf_request_recycle(wdf_request *r, uint32_t extra_refs);
/* Completes a framework request the framework (not the driver) finishes: a refused create, a
 * purge, a cleanup. r must not be owned by a queue any more. */
void wdf_request_complete_internal(wdf_request *r, NTSTATUS status, ULONG_PTR information);
/* Presents r to the driver through q's callbacks (queue.c calls it with no lock held). */
void wdf_request_present(wdf_queue *q, wdf_request *r);
/* Calls the driver's EvtRequestCancel for r (no lock held). */
void wdf_request_call_cancel(wdf_request *r);
static inline WDFREQUEST wdf_request_handle(wdf_request *r) { return (WDFREQUEST)pk_object_handle(&r->header); }
NTSTATUS wdf_request_reference(WDFREQUEST handle, const char *api, wdf_request **out);
/* Releases what a format set up (memory references, MDL, replaced buffers). */
void wdf_request_release_format(wdf_request *r);
/* Sets up the request's timeout timer (once, at creation); waits until a timer callback of an
 * earlier send has returned (before reuse and destroy). */
void wdf_request_timer_init(wdf_request *r);
void wdf_request_timer_quiesce(wdf_request *r);

/* ---- WDFIOTARGET (iotarget.c, iotarget_remote.c) ----
 *
 * A target sends to target_device, with target_file in each stack location of a remote target.
 * wdf_request_send sets a request up as sent, then wdf_target_begin_send decides under the
 * target lock: deliver (tracked in `sent`, or `sent_ignore` for IGNORE_TARGET_STATE), hold (a
 * Stopped target: tracked in `held`, FIFO, the IRP not sent), or refuse. Every tracked request
 * ends with wdf_target_end_send (untracking, waking a closer waiting for the sent requests).
 *   - held requests: Start delivers them in order (wdf_target_deliver_held), Purge and close
 *     finish them unsent (wdf_target_finish_held with STATUS_CANCELLED or
 *     STATUS_WDF_DEVICE_REMOVED_NOT_SENT), a cancel or a timeout takes one off the list
 *     (wdf_target_unhold) and finishes it unsent (wdf_request_finish_unsent).
 *   - tracking of sent requests for stop/purge/close: wdf_target_cancel_sent cancels the
 *     delivered ones (taking a reference on each under the lock and cancelling after unlocking,
 *     as WdfRequestCancelSentRequest does) and wdf_target_wait_sent waits until only held and
 *     IGNORE_TARGET_STATE ones are left.
 *   - SEND_AND_FORGET sends are not tracked; IGNORE_TARGET_STATE ones are not refused, as the
 *     spec requires of Stop.
 *   - lifetime: a send takes no reference on its target (the hot path would bounce the target's
 *     reference count between CPUs). The invariant that makes this safe: a target is never
 *     destroyed, and a remote target never releases its device and file, while it has tracked
 *     requests. Its close and its delete finish the held ones and cancel and wait for the sent
 *     ones first.
 * ---- */

struct wdf_iotarget {
    pk_object header;
    wdf_device *device;             /* the owning device (the parent) */
    bool local;
    pk_lock lock;                   /* protects everything below but the fields marked otherwise */
    /* Where requests go. The local target's: its lower device (referenced until destroy), NULL
     * file. A remote target's: the opened device (referenced by the open) and file while open,
     * else NULL; written under lock by open and close, read under lock by the send. */
    PDEVICE_OBJECT target_device;
    PDEVICE_OBJECT target_pdo;      /* not referenced: the bottom of target_device's stack */
    PFILE_OBJECT target_file;
    /* What a format needs without the lock (atomic): the stack locations below its own that a
     * request needs and the device's DO_BUFFERED_IO / DO_DIRECT_IO, of the local target's
     * device or of a remote target's last open (1 and 0 before the first). The send checks the
     * stack again under the lock. */
    CCHAR stack_size;
    ULONG io_flags;
    WDF_IO_TARGET_STATE state;      /* written under lock, read atomically by the format */
    LIST_ENTRY sent;                /* wdf_request.target_link: delivered, not finished */
    LIST_ENTRY sent_ignore;         /* the same, for IGNORE_TARGET_STATE sends */
    LIST_ENTRY held;                /* the same, held while Stopped (FIFO), not delivered */
    uint32_t ignore_count;          /* entries of sent_ignore (counted in sent_count too) */
    uint32_t held_count;            /* entries of held (counted in sent_count too) */
    uint32_t sent_count;            /* tracked requests: until their wdf_target_end_send */
    uint32_t waiters;
    uint32_t cancel_epoch;          /* numbers the cancel passes */
    KEVENT sent_empty;              /* set when sent_count drops with waiters */
    /* Serialized state changes (iotarget.c): Stops that cancel or wait and Purges in progress,
     * a Start that could not wait for them, and the event a waiting Start sleeps on. */
    uint32_t changing;
    bool start_pending;
    KEVENT change_done;             /* set when changing drops to 0 */
    /* Remote targets (iotarget_remote.c). lock protects open_state and the fields below that
     * the notification callbacks read; open/close are serialised by open_state and open_done. */
    uint8_t open_state;             /* WDF_TARGET_OPEN_CLOSED / _OPENING / _OPEN */
    uint8_t file_kind;              /* how target_file is released (iotarget_remote.c) */
    bool ever_opened_by_name;       /* the last open was ByName: Reopen allowed */
    KEVENT open_done;               /* set while no open is in progress */
    PVOID notify_entry;             /* the target-device notification registration, or NULL */
    PFILE_OBJECT notify_file;       /* referenced: the file object it was registered on */
    PFN_WDF_IO_TARGET_QUERY_REMOVE evt_query_remove;
    PFN_WDF_IO_TARGET_REMOVE_CANCELED evt_remove_canceled;
    PFN_WDF_IO_TARGET_REMOVE_COMPLETE evt_remove_complete;
    UNICODE_STRING open_name;       /* owned copy of the last ByName name */
    ACCESS_MASK open_access;
    ULONG open_share, open_disposition, open_options;
    void *open_ea;                  /* owned copy of the last ByName EaBuffer, or NULL */
    ULONG open_ea_length;
};

#define WDF_TARGET_OPEN_CLOSED 0
#define WDF_TARGET_OPEN_OPENING 1
#define WDF_TARGET_OPEN_OPEN 2

/* The stack locations a request sent to t needs below its own (see stack_size). */
static inline CCHAR wdf_target_stack_size(wdf_iotarget *t)
{
    return t->local ? t->target_device->StackSize : pk_load_relaxed(&t->stack_size);
}

NTSTATUS wdf_target_reference(WDFIOTARGET handle, const char *api, wdf_iotarget **out);
/* Tests only (NULL otherwise): called by WdfIoTargetOpen between the registration for
 * target-device notifications (step 5) and the move to Open and Started (step 6), on the opening
 * thread with no lock held, so that a test can make a notification arrive during the open
 * (I41). */
extern void (*wdf_target_open_hook)(WDFIOTARGET target);
/* Initializes the lock, lists and events of a new target (both kinds). */
void wdf_target_init_common(wdf_iotarget *t, wdf_device *dev, bool local);
/* Creates and starts dev's local target (WdfDeviceCreate). */
NTSTATUS wdf_target_create_local(wdf_device *dev, wdf_iotarget **out);

typedef enum wdf_send_decision {
    WDF_SEND_DELIVER,   /* IoCallDriver(*to, irp): tracked unless untracked */
    WDF_SEND_HELD,      /* in the held list: Start, a close, a purge, a cancel or a timeout ends it */
    WDF_SEND_CANCELLED, /* cancelled before it could be held: finish it unsent, STATUS_CANCELLED */
    WDF_SEND_REFUSE,    /* refused with *refusal; the target does not know the request */
} wdf_send_decision;
/* Decides what becomes of r. A tracked request that is not refused is set up as sent under the
 * lock (wdf_request_prepare_send with refs) before it enters a list. Writes a remote target's
 * file into the stack location r goes down with. An untracked request delivered to a remote
 * target gets *to referenced (ObDereferenceObject after IoCallDriver). */
wdf_send_decision wdf_target_begin_send(wdf_iotarget *t, wdf_request *r, ULONG flags, bool untracked, int32_t refs,
                                        PDEVICE_OBJECT *to, NTSTATUS *refusal);
void wdf_target_end_send(wdf_iotarget *t, wdf_request *r);
/* Takes r off t's held list if it is there and clears its IRP's cancel routine (true: the caller
 * finishes it); false when it is not held, or its IRP's cancel routine is finishing it. It stays
 * tracked until its send ends. */
bool wdf_target_unhold(wdf_iotarget *t, wdf_request *r);
/* Finishes every held request unsent with status (a purge, a close). No lock held. */
void wdf_target_finish_held(wdf_iotarget *t, NTSTATUS status);
/* Delivers the held requests in order while t is Started (Start, open). No lock held. */
void wdf_target_deliver_held(wdf_iotarget *t);
/* Cancels every delivered tracked request (not the held or IGNORE_TARGET_STATE ones). */
void wdf_target_cancel_sent(wdf_iotarget *t);
/* Cancels the delivered tracked requests: IGNORE_TARGET_STATE ones too when all (a close). */
void wdf_target_cancel_tracked(wdf_iotarget *t, bool all);
/* Waits until only held and IGNORE_TARGET_STATE requests are tracked. PASSIVE_LEVEL. */
void wdf_target_wait_sent(wdf_iotarget *t);
/* Waits until no tracked request is left (all), or what wdf_target_wait_sent waits for. */
void wdf_target_wait_tracked(wdf_iotarget *t, bool all);
/* The removal of the device: Closed, held requests finished with
 * STATUS_WDF_DEVICE_REMOVED_NOT_SENT, sent requests cancelled and waited for. */
void wdf_target_close_for_removal(wdf_iotarget *t);

/* Sends r (request_send.c): the machinery under WdfRequestSend, for the synchronous helpers.
 * Consumes one reference of the caller's on r (see request_send.c). */
BOOLEAN wdf_request_send(wdf_request *r, wdf_iotarget *t, const WDF_REQUEST_SEND_OPTIONS *options);
/* Sets r up as sent to t (wdf_target_begin_send calls it under t->lock): target, flags, the
 * completion routine, refs completion counts, state SENT. Takes no lock. */
void wdf_request_prepare_send(wdf_request *r, wdf_iotarget *t, ULONG flags, int32_t refs);
/* Cancels a sent request; TRUE if it was outstanding. */
BOOLEAN wdf_request_cancel_sent(wdf_request *r);
/* Finishes a tracked request whose IRP was never delivered (held) with status, as its
 * completion would: drops the completion's count, and the last count runs its completion. */
void wdf_request_finish_unsent(wdf_request *r, NTSTATUS status);
/* Formats the next stack location of r for t with raw buffers (memory objects optional, for the
 * completion parameters and the references). */
NTSTATUS wdf_request_format(wdf_request *r, wdf_iotarget *t, UCHAR major, ULONG ioctl, void *in, size_t in_len,
                            void *out, size_t out_len, pk_object *in_mem, size_t in_off, pk_object *out_mem,
                            size_t out_off, const LONGLONG *device_offset, const char *api);

#endif /* PNPKIT_WDF_INTERNAL_H */
