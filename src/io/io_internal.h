/*
 * io_internal.h — what the files of the io layer share, and nothing outside src/io includes.
 *
 * Objects. Driver, device and file objects are allocated with an io_object_header right before
 * the public structure, in one block:
 *
 *     [io_object_header][DRIVER_OBJECT | DEVICE_OBJECT | FILE_OBJECT][private part][extension]
 *
 * The header holds the reference count that ObReferenceObject/ObDereferenceObject change; the
 * kind's destroy function (object_ref.c dispatches) runs when it reaches zero.
 *
 * The I/O database lock (io_db_lock, device.c) protects every stack link (AttachedDevice,
 * DEVOBJ_EXTENSION.AttachedTo), every driver's device list (DeviceObject/NextDevice) and the
 * device name list. It is never held across a call into driver code.
 *
 * IRPs carry their own state in IRP.PnpkitPrivate (see io_irp_state), because a driver may
 * initialize an IRP in its own memory: nothing of an IRP lives outside it.
 */
#ifndef PNPKIT_IO_INTERNAL_H
#define PNPKIT_IO_INTERNAL_H

#include "base/base_internal.h"
#include "object/object_internal.h"
#include <pnpkit/wdmio.h>

/* ---- Object header (object_ref.c) ---- */

#define IO_OBJECT_MAGIC 0x4a424f50u /* "POBJ" */
#define IO_OBJECT_DEAD 0x44414544u  /* "DEAD": set just before the block is freed */

typedef enum io_object_kind {
    IO_KIND_DRIVER = 1,
    IO_KIND_DEVICE,
    IO_KIND_FILE,
} io_object_kind;

typedef struct io_object_header {
    uint32_t magic;
    uint8_t kind;        /* io_object_kind */
    uint8_t reserved[3];
    uint32_t refs;       /* atomic; the object is destroyed when it reaches zero */
    /* Atomic; set by IoDeleteDevice / PnpkitIoDeleteDriver before they drop the creation
     * reference. A driver or device whose count would reach zero before is misused. */
    uint32_t deleted;
} io_object_header;

_Static_assert(sizeof(io_object_header) == 16, "the header keeps the object 16-byte aligned");

static inline io_object_header *io_header_of(const void *object)
{
    return (io_object_header *)((char *)(uintptr_t)object - sizeof(io_object_header));
}

/* Checks that object is a live io object of `kind` (0: any kind). Does not report. */
bool io_object_is(const void *object, io_object_kind kind);
/* Initializes a header with one reference (the creation reference). */
void io_object_init(io_object_header *h, io_object_kind kind);
void io_object_reference(void *object);
/* Drops one reference; destroys the object when it was the last. */
void io_object_dereference(void *object);
/* The current reference count (for the PnP manager's unload check; a snapshot). */
uint32_t io_object_references(void *object);

/* ---- Driver objects (driver.c) ---- */

typedef struct io_driver {
    io_object_header header;
    DRIVER_OBJECT driver;
    DRIVER_EXTENSION extension;
} io_driver;

_Static_assert(__builtin_offsetof(io_driver, driver) == sizeof(io_object_header), "header right before the object");

static inline io_driver *io_driver_of(PDRIVER_OBJECT d) { return CONTAINING_RECORD(d, io_driver, driver); }
void io_driver_destroy(io_driver *d);
/* The dispatch routine every MajorFunction entry starts with. */
NTSTATUS io_invalid_device_request(PDEVICE_OBJECT DeviceObject, PIRP Irp);

/* ---- Device objects (device.c) ---- */

typedef struct io_device {
    io_object_header header;
    DEVICE_OBJECT device;
    DEVOBJ_EXTENSION extension;
    UNICODE_STRING name;   /* owned copy; Length 0 if unnamed */
    LIST_ENTRY name_link;  /* in the name list while named and not deleted; io_db_lock */
    bool in_name_list;     /* io_db_lock */
} io_device;

_Static_assert(__builtin_offsetof(io_device, device) == sizeof(io_object_header), "header right before the object");

static inline io_device *io_device_of(PDEVICE_OBJECT d) { return CONTAINING_RECORD(d, io_device, device); }
void io_device_destroy(io_device *d);
/* The I/O database lock (see the top of this file). */
extern pk_lock io_db_lock;

/* ---- File objects (file.c) ---- */

typedef struct io_file {
    io_object_header header;
    FILE_OBJECT file;
    IO_SECURITY_CONTEXT security;
    /* Preallocated at open for the cleanup and close requests, which must not fail. */
    PIRP irp;
    KEVENT irp_done;        /* set by the completion routine of the file's own requests */
    uint32_t opened;        /* atomic: the create succeeded, cleanup and close are owed */
    uint32_t cleaned_up;    /* atomic: IRP_MJ_CLEANUP was sent */
    uint32_t closed;        /* atomic: IRP_MJ_CLOSE was sent; only the memory is left */
    bool direct;            /* its requests go to file.DeviceObject itself, not the top of its
                             * stack (PnpkitIoOpenDeviceDirect); written before the create */
    WORK_QUEUE_ITEM close_work; /* the close, when the last dereference came above PASSIVE */
} io_file;

_Static_assert(__builtin_offsetof(io_file, file) == sizeof(io_object_header), "header right before the object");

static inline io_file *io_file_of(PFILE_OBJECT f) { return CONTAINING_RECORD(f, io_file, file); }
void io_file_last_reference(io_file *f);

/* Hooks for the layer above (the PnP manager installs them; the io layer knows nothing of PnP).
 * file_closed runs after IRP_MJ_CLOSE of a file object has completed, before its memory goes,
 * at PASSIVE_LEVEL with no io lock held. open_by_name resolves names the io layer does not own
 * (symbolic links of device interfaces) for IoGetDeviceObjectPointer; it returns
 * STATUS_OBJECT_NAME_NOT_FOUND for names it does not know. */
typedef struct io_upper_hooks {
    void (*file_closed)(PFILE_OBJECT file);
    NTSTATUS (*open_by_name)(PCUNICODE_STRING name, ACCESS_MASK access, PFILE_OBJECT *file);
} io_upper_hooks;
void io_set_upper_hooks(const io_upper_hooks *hooks);
extern const io_upper_hooks *io_hooks;

/* ---- IRPs (irp.c) ---- */

#define IO_IRP_MAGIC 0x50524950u /* "PIRP" */

/* IRP.PnpkitPrivate.State. Changed atomically; see irp.c for the transitions. */
typedef enum io_irp_state {
    IO_IRP_IDLE = 1,   /* initialized, never sent (or reused) */
    IO_IRP_SENT,       /* a driver owns it: sent by IoCallDriver, not yet completed */
    IO_IRP_COMPLETING, /* IoCompleteRequest is walking its stack */
    IO_IRP_HELD,       /* a completion routine runs, or returned STATUS_MORE_PROCESSING_REQUIRED */
    IO_IRP_DONE,       /* completion passed the top of the stack */
    IO_IRP_FREED,      /* in a cache or freed */
} io_irp_state;

/* IRP.AllocationFlags bits of pnpkit's own. */
#define IO_IRP_ALLOC_POOL 0x40     /* allocated by IoAllocateIrp */
#define IO_IRP_ALLOC_THREADED 0x80 /* built by IoBuild*Request: the I/O manager finishes it */

static inline PIO_STACK_LOCATION io_irp_location(PIRP irp, int index)
{
    return (PIO_STACK_LOCATION)(irp + 1) + index;
}

/* Frees an IRP that pnpkit allocated (into the calling thread's cache when it fits). */
void io_irp_release(PIRP irp);
/* Sends irp to device and waits for it at PASSIVE_LEVEL; the IRP is the caller's again
 * afterwards (a completion routine returns STATUS_MORE_PROCESSING_REQUIRED). done must be a
 * notification event that outlives the call. Returns IoStatus.Status. */
NTSTATUS io_irp_send_and_wait(PDEVICE_OBJECT device, PIRP irp, PKEVENT done);

/* ---- Threaded IRPs (irp_build.c) ---- */

/* Finishes an IRP built by IoBuild*Request whose completion passed the top: copies the output
 * back, frees buffers and MDLs, writes the I/O status block, frees the IRP, sets the event. */
void io_threaded_irp_finish(PIRP irp);

#endif /* PNPKIT_IO_INTERNAL_H */
