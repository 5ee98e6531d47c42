/*
 * linux_backend.c — the Linux backend: a watcher thread per watched directory (inotify) turns
 * device nodes into PnP devices, and the "pnpkit-linuxnode" WDM driver turns IRPs on those
 * devices into open/read/write/ioctl/close on the nodes.
 *
 * Objects and ownership:
 *   - linux_watch: the watch (thread, inotify descriptor, an eventfd to stop it, the class map,
 *     the list of its nodes). Freed by PnpkitLinuxUnwatch after the thread has joined.
 *   - linux_node: one device node; owned by its watch's list (watch->lock), referenced by the PDO
 *     extension (backend_context) while the device exists. A node's memory goes when both the
 *     watch dropped it (vanished or unwatched) and the driver's FDO is gone (refs).
 *   - linux_file: per open file object (FsContext): the descriptor and an eventfd that wakes
 *     blocked I/O for cancel and cleanup. Freed at IRP_MJ_CLOSE.
 * I/O runs on the thread pool: each IRP is marked pending, its work item waits with poll(2) on
 * the node and the file's eventfd (no polling loop), and completes the IRP. A cancel routine
 * signals the eventfd.
 */
#include "pnp/pnp_internal.h"
#include "pnp/swenum.h"
#include <pnpkit/linux.h>

#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <dirent.h>
#include <fnmatch.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <unistd.h>

typedef struct linux_node {
    LIST_ENTRY link;             /* in watch->nodes; watch->lock */
    uint32_t refs;               /* the watch's and the driver's */
    char path[512];
    char name[256];
    GUID guid;
    pnp_devnode *node;           /* referenced while the watch holds the node */
} linux_node;

struct PNPKIT_LINUX_WATCH__ {
    pk_lock lock;                /* nodes */
    LIST_ENTRY nodes;
    int inotify_fd, stop_fd;
    pthread_t thread;
    char directory[256];
    uint32_t tag;
    PNPKIT_LINUX_CLASS_MAP *map;
    GUID *guids;
    ULONG map_count;
};

static void node_release(linux_node *n)
{
    if (pk_fetch_sub(&n->refs, 1u) == 1u)
        pk_free(n);
}

/* =============================================================================================
 * The driver
 * ============================================================================================= */

typedef struct linux_fdo {
    PDEVICE_OBJECT lower;
    linux_node *node;            /* referenced */
    UNICODE_STRING link;
} linux_fdo;

typedef struct linux_file {
    int fd;
    int cleanup_fd;              /* eventfd, set by IRP_MJ_CLEANUP: wakes every blocked I/O */
} linux_file;

typedef struct linux_io {
    WORK_QUEUE_ITEM work;
    PIRP irp;
    linux_file *file;
    int cancel_fd;               /* eventfd, set by the IRP's cancel routine */
} linux_io;

static NTSTATUS complete(PIRP irp, NTSTATUS status, ULONG_PTR information)
{
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = information;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
}

static NTSTATUS errno_status(int e)
{
    switch (e) {
    case ENOENT: case ENODEV: case ENXIO: return STATUS_NO_SUCH_DEVICE;
    case EACCES: case EPERM: return STATUS_ACCESS_DENIED;
    case ENOMEM: return STATUS_INSUFFICIENT_RESOURCES;
    case EINVAL: return STATUS_INVALID_PARAMETER;
    case ENOTTY: return STATUS_INVALID_DEVICE_REQUEST;
    case EBUSY: return STATUS_DEVICE_BUSY;
    case EIO: return STATUS_DEVICE_DATA_ERROR;
    default: return STATUS_UNSUCCESSFUL;
    }
}

static void signal_fd(int fd)
{
    uint64_t one = 1;
    if (write(fd, &one, sizeof(one)) < 0) {
        /* an eventfd write fails only when its counter would overflow: it is set already */
    }
}

/* The linux_io of an IRP in flight hangs off the IRP's driver context. It is freed only by
 * io_routine, after it synchronised with a running cancel routine through the cancel lock. */
static VOID io_cancel(PDEVICE_OBJECT device, PIRP irp)
{
    linux_io *io = irp->Tail.Overlay.DriverContext[0];
    signal_fd(io->cancel_fd);
    IoReleaseCancelSpinLock(irp->CancelIrql);
}

/* Waits until fd is ready for `events`, or the IRP is cancelled, or the file is cleaned up. */
static bool wait_ready(linux_io *io, short events)
{
    struct pollfd p[3] = { { io->file->fd, events, 0 }, { io->cancel_fd, POLLIN, 0 },
                           { io->file->cleanup_fd, POLLIN, 0 } };
    while (poll(p, 3, -1) < 0 && errno == EINTR) {
    }
    return !(p[1].revents & POLLIN) && !(p[2].revents & POLLIN);
}

static void io_routine(PVOID context)
{
    linux_io *io = context;
    PIRP irp = io->irp;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(irp);
    PVOID buffer = irp->AssociatedIrp.SystemBuffer ? irp->AssociatedIrp.SystemBuffer : irp->UserBuffer;
    NTSTATUS status = STATUS_SUCCESS;
    ULONG_PTR information = 0;
    ssize_t r = 0;
    bool ready = true;

    switch (sl->MajorFunction) {
    case IRP_MJ_READ:
        ready = wait_ready(io, POLLIN);
        if (ready)
            r = read(io->file->fd, buffer, sl->Parameters.Read.Length);
        break;
    case IRP_MJ_WRITE:
        ready = wait_ready(io, POLLOUT);
        if (ready)
            r = write(io->file->fd, buffer, sl->Parameters.Write.Length);
        break;
    default: /* IRP_MJ_DEVICE_CONTROL */
        r = ioctl(io->file->fd, (unsigned long)sl->Parameters.DeviceIoControl.IoControlCode, buffer);
        if (r >= 0)
            r = sl->Parameters.DeviceIoControl.OutputBufferLength;
        break;
    }
    if (!ready || irp->Cancel)
        status = STATUS_CANCELLED;
    else if (r < 0)
        status = errno_status(errno);
    else
        information = (ULONG_PTR)r;
    if (IoSetCancelRoutine(irp, NULL) == NULL) {
        /* The cancel routine ran or is running: wait until it released the cancel lock, after
         * which it no longer touches io. */
        KIRQL irql;
        IoAcquireCancelSpinLock(&irql);
        IoReleaseCancelSpinLock(irql);
    }
    PFILE_OBJECT fo = sl->FileObject;
    close(io->cancel_fd);
    pk_free(io);
    complete(irp, status, information);
    ObDereferenceObject(fo); /* last: it may close the file and free io->file */
}

static NTSTATUS ln_io(PDEVICE_OBJECT fdo, PIRP irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(irp);
    linux_file *f = sl->FileObject ? sl->FileObject->FsContext : NULL;
    linux_io *io;

    if (!f)
        return complete(irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    io = pk_zalloc(sizeof(*io));
    if (!io)
        return complete(irp, STATUS_INSUFFICIENT_RESOURCES, 0);
    io->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (io->cancel_fd < 0) {
        pk_free(io);
        return complete(irp, STATUS_INSUFFICIENT_RESOURCES, 0);
    }
    io->irp = irp;
    io->file = f;
    irp->Tail.Overlay.DriverContext[0] = io;
    ObReferenceObject(sl->FileObject); /* the file outlives the I/O, even past its cleanup */
    IoMarkIrpPending(irp);
    IoSetCancelRoutine(irp, io_cancel);
    ExInitializeWorkItem(&io->work, io_routine, io);
    pk_work_queue(&io->work);
    return STATUS_PENDING;
}

static NTSTATUS ln_create(PDEVICE_OBJECT fdo, PIRP irp)
{
    linux_fdo *x = fdo->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(irp);
    ACCESS_MASK access = sl->Parameters.Create.SecurityContext ? sl->Parameters.Create.SecurityContext->DesiredAccess : 0;
    bool rd = access & (GENERIC_READ | FILE_READ_DATA | GENERIC_ALL);
    bool wr = access & (GENERIC_WRITE | FILE_WRITE_DATA | FILE_APPEND_DATA | GENERIC_ALL);
    int flags = (rd && wr) ? O_RDWR : wr ? O_WRONLY : O_RDONLY;
    linux_file *f = pk_zalloc(sizeof(*f));

    if (!f)
        return complete(irp, STATUS_INSUFFICIENT_RESOURCES, 0);
    /* Non-blocking open (a FIFO has no peer yet); I/O waits with poll. */
    f->fd = open(x->node->path, flags | O_CLOEXEC | O_NONBLOCK);
    if (f->fd < 0 && errno == ENXIO && flags == O_WRONLY)
        f->fd = open(x->node->path, O_RDWR | O_CLOEXEC | O_NONBLOCK); /* a FIFO with no reader yet */
    if (f->fd < 0) {
        NTSTATUS st = errno_status(errno);
        pk_free(f);
        return complete(irp, st, 0);
    }
    f->cleanup_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (f->cleanup_fd < 0) {
        close(f->fd);
        pk_free(f);
        return complete(irp, STATUS_INSUFFICIENT_RESOURCES, 0);
    }
    sl->FileObject->FsContext = f;
    return complete(irp, STATUS_SUCCESS, 0);
}

static NTSTATUS ln_cleanup(PDEVICE_OBJECT fdo, PIRP irp)
{
    linux_file *f = IoGetCurrentIrpStackLocation(irp)->FileObject->FsContext;
    if (f)
        signal_fd(f->cleanup_fd); /* I/O still waiting on this handle ends, cancelled */
    return complete(irp, STATUS_SUCCESS, 0);
}

static NTSTATUS ln_close(PDEVICE_OBJECT fdo, PIRP irp)
{
    PFILE_OBJECT fo = IoGetCurrentIrpStackLocation(irp)->FileObject;
    linux_file *f = fo->FsContext;
    if (f) {
        close(f->fd);
        close(f->cleanup_fd);
        pk_free(f);
        fo->FsContext = NULL;
    }
    return complete(irp, STATUS_SUCCESS, 0);
}

static NTSTATUS started(PDEVICE_OBJECT d, PIRP irp, PVOID ctx)
{
    KeSetEvent(ctx, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS ln_pnp(PDEVICE_OBJECT fdo, PIRP irp)
{
    linux_fdo *x = fdo->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(irp);
    NTSTATUS status;

    switch (sl->MinorFunction) {
    case IRP_MN_START_DEVICE: {
        KEVENT done;
        KeInitializeEvent(&done, NotificationEvent, FALSE);
        IoCopyCurrentIrpStackLocationToNext(irp);
        IoSetCompletionRoutine(irp, started, &done, TRUE, TRUE, TRUE);
        IoCallDriver(x->lower, irp);
        KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
        status = irp->IoStatus.Status;
        if (NT_SUCCESS(status))
            IoSetDeviceInterfaceState(&x->link, TRUE);
        return complete(irp, status, 0);
    }
    case IRP_MN_SURPRISE_REMOVAL:
        IoSetDeviceInterfaceState(&x->link, FALSE);
        irp->IoStatus.Status = STATUS_SUCCESS;
        break;
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        irp->IoStatus.Status = STATUS_SUCCESS;
        break;
    case IRP_MN_REMOVE_DEVICE:
        IoSetDeviceInterfaceState(&x->link, FALSE);
        irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(irp);
        status = IoCallDriver(x->lower, irp);
        IoDetachDevice(x->lower);
        RtlFreeUnicodeString(&x->link);
        node_release(x->node);
        IoDeleteDevice(fdo);
        return status;
    default:
        break;
    }
    IoSkipCurrentIrpStackLocation(irp);
    return IoCallDriver(x->lower, irp);
}

static NTSTATUS ln_add_device(PDRIVER_OBJECT driver, PDEVICE_OBJECT pdo)
{
    swenum_pdo_extension *pe = pdo->DeviceExtension;
    linux_node *n = pe->backend_context;
    PDEVICE_OBJECT fdo;
    NTSTATUS status;

    if (!n)
        return STATUS_INVALID_DEVICE_REQUEST;
    status = IoCreateDevice(driver, sizeof(linux_fdo), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &fdo);
    if (!NT_SUCCESS(status))
        return status;
    linux_fdo *x = fdo->DeviceExtension;
    x->node = n;
    pk_fetch_add(&n->refs, 1u);
    x->lower = IoAttachDeviceToDeviceStack(fdo, pdo);
    status = IoRegisterDeviceInterface(pdo, &n->guid, NULL, &x->link);
    if (!NT_SUCCESS(status)) {
        IoDetachDevice(x->lower);
        node_release(n);
        IoDeleteDevice(fdo);
        return status;
    }
    fdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

static NTSTATUS ln_entry(PDRIVER_OBJECT driver, PUNICODE_STRING path)
{
    driver->DriverExtension->AddDevice = ln_add_device;
    driver->MajorFunction[IRP_MJ_PNP] = ln_pnp;
    driver->MajorFunction[IRP_MJ_CREATE] = ln_create;
    driver->MajorFunction[IRP_MJ_CLEANUP] = ln_cleanup;
    driver->MajorFunction[IRP_MJ_CLOSE] = ln_close;
    driver->MajorFunction[IRP_MJ_READ] = ln_io;
    driver->MajorFunction[IRP_MJ_WRITE] = ln_io;
    driver->MajorFunction[IRP_MJ_DEVICE_CONTROL] = ln_io;
    return STATUS_SUCCESS;
}

static pk_lock driver_lock = PK_LOCK_INIT;
static int watches_alive; /* driver_lock: the driver package is registered while > 0 */

/* =============================================================================================
 * The watcher
 * ============================================================================================= */

typedef struct start_work {
    pnp_work work;
    pnp_devnode *node;
} start_work;

static void start_fn(pnp_work *w)
{
    start_work *s = CONTAINING_RECORD(w, start_work, work);
    pnp_start_node(s->node);
    pnp_node_dereference(s->node);
    pk_free(s);
}

static const GUID *class_of(struct PNPKIT_LINUX_WATCH__ *w, const char *name)
{
    for (ULONG i = 0; i < w->map_count; i++)
        if (fnmatch(w->map[i].Pattern, name, 0) == 0)
            return &w->guids[i];
    return NULL;
}

static void node_appeared(struct PNPKIT_LINUX_WATCH__ *w, const char *name)
{
    const GUID *g = class_of(w, name);
    WCHAR id[MAX_DEVICE_ID_LEN];
    char text[MAX_DEVICE_ID_LEN];
    UNICODE_STRING wid;
    pnp_devnode *root, *node;
    linux_node *n;

    if (!g || strlen(name) >= sizeof(n->name))
        return;
    int len = snprintf(text, sizeof(text), "LINUX\\%08X\\%s", w->tag, name);
    if (len < 0 || (size_t)len >= sizeof(text)) /* an instance id longer than MAX_DEVICE_ID_LEN */
        return;
    if (!NT_SUCCESS(PnpkitUnicodeStringFromUtf8(&wid, text)))
        return;
    memcpy(id, wid.Buffer, wid.Length + sizeof(WCHAR));
    RtlFreeUnicodeString(&wid);
    n = pk_zalloc(sizeof(*n));
    if (!n)
        return;
    n->refs = 1;
    n->guid = *g;
    snprintf(n->name, sizeof(n->name), "%s", name);
    snprintf(n->path, sizeof(n->path), "%s/%s", w->directory, name);
    root = pnp_root();
    if (!root || !NT_SUCCESS(pnp_node_create(root, id, u"PNPKIT\\LINUXNODE\0", NULL, &node))) {
        if (root)
            pnp_node_dereference(root);
        pk_free(n);
        return;
    }
    pnp_node_dereference(root);
    if (!NT_SUCCESS(pnp_create_pdo(node))) {
        pnp_node_set_state(node, PNP_NODE_DELETED);
        pnp_node_unlink(node);
        pnp_node_dereference(node);
        pk_free(n);
        return;
    }
    ((swenum_pdo_extension *)node->pdo->DeviceExtension)->backend_context = n;
    n->node = node; /* keeps the reference */
    pk_lock_acquire(&w->lock);
    InsertTailList(&w->nodes, &n->link);
    pk_lock_release(&w->lock);
    start_work *s = pk_zalloc(sizeof(*s));
    if (s) {
        pnp_node_reference(node);
        s->node = node;
        s->work.fn = start_fn;
        pnp_worker_queue(&s->work);
    }
    PK_TRACE(PnpkitTraceInfo, "linux", "node %s appeared", n->path);
}

/* The node's device is surprise-removed; the watch forgets it. */
static void node_vanished(struct PNPKIT_LINUX_WATCH__ *w, linux_node *n)
{
    pnp_request_surprise_removal(n->node);
    pnp_node_dereference(n->node);
    node_release(n);
}

static void *watch_main(void *arg)
{
    struct PNPKIT_LINUX_WATCH__ *w = arg;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

    for (;;) {
        struct pollfd p[2] = { { w->inotify_fd, POLLIN, 0 }, { w->stop_fd, POLLIN, 0 } };
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents & POLLIN)
            break;
        ssize_t len = read(w->inotify_fd, buf, sizeof(buf));
        for (ssize_t off = 0; len > 0 && off < len;) {
            const struct inotify_event *ev = (const struct inotify_event *)(buf + off);
            if (ev->len && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
                node_appeared(w, ev->name);
            if (ev->len && (ev->mask & (IN_DELETE | IN_MOVED_FROM))) {
                linux_node *hit = NULL;
                pk_lock_acquire(&w->lock);
                for (PLIST_ENTRY e = w->nodes.Flink; e != &w->nodes; e = e->Flink) {
                    linux_node *n = CONTAINING_RECORD(e, linux_node, link);
                    if (strcmp(n->name, ev->name) == 0) {
                        RemoveEntryList(&n->link);
                        hit = n;
                        break;
                    }
                }
                pk_lock_release(&w->lock);
                if (hit)
                    node_vanished(w, hit);
            }
            off += (ssize_t)sizeof(struct inotify_event) + ev->len;
        }
    }
    return NULL;
}

NTSTATUS PnpkitLinuxWatchDirectory(PCSTR Directory, const PNPKIT_LINUX_CLASS_MAP *Map, ULONG MapCount,
                                   PNPKIT_LINUX_WATCH *Watch)
{
    struct PNPKIT_LINUX_WATCH__ *w;
    NTSTATUS status;

    if (!pk_irql_ok("PnpkitLinuxWatchDirectory", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!Directory || !*Directory || strlen(Directory) >= sizeof(w->directory) || !Map || !MapCount || !Watch)
        return STATUS_INVALID_PARAMETER;
    for (ULONG i = 0; i < MapCount; i++)
        if (!Map[i].Pattern || !Map[i].InterfaceClassGuid)
            return STATUS_INVALID_PARAMETER;
    w = pk_zalloc(sizeof(*w));
    if (!w)
        return STATUS_INSUFFICIENT_RESOURCES;
    pk_lock_init(&w->lock);
    InitializeListHead(&w->nodes);
    snprintf(w->directory, sizeof(w->directory), "%s", Directory);
    w->tag = 2166136261u;
    for (const char *c = Directory; *c; c++)
        w->tag = (w->tag ^ (unsigned char)*c) * 16777619u;
    w->map = pk_zalloc(sizeof(*w->map) * MapCount);
    w->guids = pk_zalloc(sizeof(*w->guids) * MapCount);
    w->inotify_fd = inotify_init1(IN_CLOEXEC);
    w->stop_fd = eventfd(0, EFD_CLOEXEC);
    status = STATUS_INSUFFICIENT_RESOURCES;
    if (!w->map || !w->guids || w->inotify_fd < 0 || w->stop_fd < 0)
        goto fail;
    for (ULONG i = 0; i < MapCount; i++) {
        w->map[i].Pattern = strdup(Map[i].Pattern);
        w->guids[i] = *Map[i].InterfaceClassGuid;
        w->map[i].InterfaceClassGuid = &w->guids[i];
        w->map_count = i + 1;
        if (!w->map[i].Pattern)
            goto fail;
    }
    if (inotify_add_watch(w->inotify_fd, Directory, IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM) < 0) {
        status = STATUS_INVALID_PARAMETER;
        goto fail;
    }
    pk_lock_acquire(&driver_lock);
    if (watches_alive++ == 0) {
        NTSTATUS st = PnpkitDriverRegister(u"pnpkit-linuxnode", ln_entry, u"PNPKIT\\LINUXNODE\0");
        if (!NT_SUCCESS(st) && st != STATUS_OBJECT_NAME_COLLISION) {
            watches_alive--;
            pk_lock_release(&driver_lock);
            status = st;
            goto fail;
        }
    }
    pk_lock_release(&driver_lock);
    pnp_ensure_started();
    /* The nodes present now, then the ones that come (events between the watch and the scan
     * may report a node twice: the instance id makes the second a no-op). */
    {
        DIR *d = opendir(Directory);
        struct dirent *de;
        while (d && (de = readdir(d)))
            if (de->d_name[0] != '.')
                node_appeared(w, de->d_name);
        if (d)
            closedir(d);
    }
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        PnpkitLinuxUnwatch((PNPKIT_LINUX_WATCH)w); /* no thread to join: unwatch handles it */
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    *Watch = (PNPKIT_LINUX_WATCH)w;
    return STATUS_SUCCESS;

fail:
    for (ULONG i = 0; i < w->map_count; i++)
        free((void *)(uintptr_t)w->map[i].Pattern);
    pk_free(w->map);
    pk_free(w->guids);
    if (w->inotify_fd >= 0)
        close(w->inotify_fd);
    if (w->stop_fd >= 0)
        close(w->stop_fd);
    pk_free(w);
    return status;
}

VOID PnpkitLinuxUnwatch(PNPKIT_LINUX_WATCH Watch)
{
    struct PNPKIT_LINUX_WATCH__ *w = (struct PNPKIT_LINUX_WATCH__ *)Watch;
    uint64_t one = 1;

    if (!w || !pk_irql_ok("PnpkitLinuxUnwatch", PASSIVE_LEVEL))
        return;
    if (write(w->stop_fd, &one, sizeof(one)) == sizeof(one) && w->thread)
        pthread_join(w->thread, NULL);
    while (!IsListEmpty(&w->nodes))
        node_vanished(w, CONTAINING_RECORD(RemoveHeadList(&w->nodes), linux_node, link));
    pnp_worker_flush();
    pk_lock_acquire(&driver_lock);
    if (--watches_alive == 0)
        PnpkitDriverUnregister(u"pnpkit-linuxnode"); /* fails while a device still holds it */
    pk_lock_release(&driver_lock);
    for (ULONG i = 0; i < w->map_count; i++)
        free((void *)(uintptr_t)w->map[i].Pattern);
    pk_free(w->map);
    pk_free(w->guids);
    close(w->inotify_fd);
    close(w->stop_fd);
    pk_free(w);
}
