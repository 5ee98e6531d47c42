/*
 * pnp_open.c — opening a device through a symbolic link (the name space of device interfaces),
 * and the per-node accounting of open handles and file objects that the removal flows read.
 *
 * open_files (under pnp.tree_lock) maps every file object opened here to its node (referenced).
 * A handle counts in node->open_handles from a successful create until its cleanup, and the
 * file object in node->file_objects until its close (IRP_MJ_CLOSE, reported by the io layer
 * through pnp_file_object_closed). A surprise-removed node gets IRP_MN_REMOVE_DEVICE when its
 * last file object closes.
 */
#include "pnp/pnp_internal.h"
#include "io/io_internal.h"

#include <string.h>

typedef struct open_file {
    PFILE_OBJECT file;
    pnp_devnode *node;     /* referenced */
    bool cleaned_up;
} open_file;

static struct {
    open_file *items;      /* tree_lock */
    uint32_t count, cap;
} files;

static int find_locked(PFILE_OBJECT fo)
{
    for (uint32_t i = 0; i < files.count; i++)
        if (files.items[i].file == fo)
            return (int)i;
    return -1;
}

NTSTATUS pnp_open_link(PCUNICODE_STRING name, ACCESS_MASK access, ULONG share_access, PFILE_OBJECT *file,
                       PDEVICE_OBJECT *device)
{
    PNPKIT_IO_OPEN_PARAMETERS params;

    PNPKIT_IO_OPEN_PARAMETERS_INIT(&params, access);
    params.ShareAccess = share_access;
    return pnp_open_link_params(name, &params, file, device);
}

NTSTATUS pnp_open_link_params(PCUNICODE_STRING name, const PNPKIT_IO_OPEN_PARAMETERS *caller, PFILE_OBJECT *file,
                              PDEVICE_OBJECT *device)
{
    pnp_devnode *n;
    UNICODE_STRING file_name;
    PNPKIT_IO_OPEN_PARAMETERS params;
    PFILE_OBJECT fo;
    NTSTATUS status;
    pnp_node_state st;

    status = pnp_interface_resolve(name, &n, &file_name);
    if (!NT_SUCCESS(status))
        return status;
    st = pnp_node_state_get(n);
    if (st == PNP_NODE_INITIALIZED || st == PNP_NODE_DRIVERS_ADDED) {
        status = STATUS_NO_SUCH_DEVICE;
        goto release;
    }
    if (st != PNP_NODE_STARTED) {
        status = STATUS_DELETE_PENDING;
        goto release;
    }
    pk_lock_acquire(&pnp.tree_lock);
    if (files.count == files.cap) {
        uint32_t cap = files.cap ? files.cap * 2 : 32;
        open_file *items = pk_realloc(files.items, cap * sizeof(*items));
        if (!items) {
            pk_lock_release(&pnp.tree_lock);
            status = STATUS_INSUFFICIENT_RESOURCES;
            goto release;
        }
        files.items = items;
        files.cap = cap;
    }
    /* Counted before the create so that a removal that starts meanwhile sees the open. */
    n->open_handles++;
    n->file_objects++;
    pk_lock_release(&pnp.tree_lock);

    params = *caller;
    params.Size = sizeof(params);
    params.FileName = &file_name;
    params.RelatedFileObject = NULL;
    status = PnpkitIoOpenDevice(n->pdo, &params, &fo);

    pk_lock_acquire(&pnp.tree_lock);
    if (!NT_SUCCESS(status)) {
        n->open_handles--;
        n->file_objects--;
        bool last = n->file_objects == 0 && n->state == PNP_NODE_SURPRISE_REMOVED;
        pk_lock_release(&pnp.tree_lock);
        if (last)
            pnp_node_last_close(n);
        goto release;
    }
    files.items[files.count].file = fo;
    files.items[files.count].node = n; /* keeps the reference */
    files.items[files.count].cleaned_up = false;
    files.count++;
    pk_lock_release(&pnp.tree_lock);
    RtlFreeUnicodeString(&file_name);
    *file = fo;
    if (device)
        *device = IoGetRelatedDeviceObject(fo);
    return STATUS_SUCCESS;

release:
    RtlFreeUnicodeString(&file_name);
    pnp_node_dereference(n);
    return status;
}

void pnp_close_file(PFILE_OBJECT fo)
{
    int i;
    pnp_devnode *n = NULL;

    pk_lock_acquire(&pnp.tree_lock);
    i = find_locked(fo);
    if (i >= 0 && !files.items[i].cleaned_up) {
        files.items[i].cleaned_up = true;
        n = files.items[i].node;
    }
    pk_lock_release(&pnp.tree_lock);
    if (!n) {
        pk_verifier_stop("pnp_close_file", "file object %p is not open through pnpkit", (void *)fo);
        return;
    }
    PnpkitIoCleanupFileObject(fo);
    pk_lock_acquire(&pnp.tree_lock);
    n->open_handles--;
    pk_lock_release(&pnp.tree_lock);
    ObDereferenceObject(fo); /* the close follows with the last reference */
}

/* Called by the io layer after IRP_MJ_CLOSE of any file object completed. */
static void pnp_file_object_closed(PFILE_OBJECT fo)
{
    int i;
    pnp_devnode *n = NULL;
    bool last = false;

    pk_lock_acquire(&pnp.tree_lock);
    i = find_locked(fo);
    if (i >= 0) {
        n = files.items[i].node;
        if (!files.items[i].cleaned_up)
            n->open_handles--;
        files.items[i] = files.items[--files.count];
        n->file_objects--;
        last = n->file_objects == 0 && n->state == PNP_NODE_SURPRISE_REMOVED;
    }
    if (files.count == 0) {
        pk_free(files.items);
        files.items = NULL;
        files.cap = 0;
    }
    pk_lock_release(&pnp.tree_lock);
    if (!n)
        return;
    if (last)
        pnp_node_last_close(n);
    pnp_node_dereference(n);
}

pnp_devnode *pnp_node_from_handle(HANDLE handle)
{
    int i;
    pnp_devnode *n = NULL;

    pk_lock_acquire(&pnp.tree_lock);
    i = find_locked((PFILE_OBJECT)handle);
    if (i >= 0) {
        n = files.items[i].node;
        pnp_node_reference(n);
    }
    pk_lock_release(&pnp.tree_lock);
    return n;
}

/* IoGetDeviceObjectPointer on a symbolic link: open, then close the handle at once. */
static NTSTATUS open_by_name(PCUNICODE_STRING name, ACCESS_MASK access, PFILE_OBJECT *file)
{
    PFILE_OBJECT fo;
    NTSTATUS status = pnp_open_link(name, access, 0, &fo, NULL);
    int i;

    if (status == STATUS_INVALID_PARAMETER)
        return STATUS_OBJECT_NAME_NOT_FOUND;
    if (!NT_SUCCESS(status))
        return status;
    pk_lock_acquire(&pnp.tree_lock);
    i = find_locked(fo);
    if (i >= 0) {
        files.items[i].cleaned_up = true;
        files.items[i].node->open_handles--;
    }
    pk_lock_release(&pnp.tree_lock);
    PnpkitIoCleanupFileObject(fo);
    *file = fo;
    return STATUS_SUCCESS;
}

static const io_upper_hooks hooks = { pnp_file_object_closed, open_by_name };

void pnp_open_install_hooks(void) { io_set_upper_hooks(&hooks); }

/* ---- Public: open by symbolic link ---- */

NTSTATUS PnpkitOpenDeviceInterface(PCUNICODE_STRING SymbolicLinkName, ACCESS_MASK DesiredAccess, ULONG ShareAccess,
                                   PFILE_OBJECT *FileObject)
{
    if (!pk_irql_ok("PnpkitOpenDeviceInterface", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!SymbolicLinkName || !FileObject)
        return STATUS_INVALID_PARAMETER;
    return pnp_open_link(SymbolicLinkName, DesiredAccess, ShareAccess, FileObject, NULL);
}

NTSTATUS PnpkitOpenDeviceInterfaceEx(PCUNICODE_STRING SymbolicLinkName, const PNPKIT_IO_OPEN_PARAMETERS *Parameters,
                                     PFILE_OBJECT *FileObject)
{
    PNPKIT_IO_OPEN_PARAMETERS p = { 0 };

    if (!pk_irql_ok("PnpkitOpenDeviceInterfaceEx", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!SymbolicLinkName || !FileObject || !Parameters ||
        (Parameters->Size != sizeof(p) && Parameters->Size != PNPKIT_IO_OPEN_PARAMETERS_SIZE_V1))
        return STATUS_INVALID_PARAMETER;
    memcpy(&p, Parameters, Parameters->Size);
    if (p.FileName || p.RelatedFileObject || (p.EaLength && !p.EaBuffer))
        return STATUS_INVALID_PARAMETER;
    return pnp_open_link_params(SymbolicLinkName, &p, FileObject, NULL);
}

VOID PnpkitCloseDeviceInterface(PFILE_OBJECT FileObject)
{
    if (!pk_irql_ok("PnpkitCloseDeviceInterface", PASSIVE_LEVEL) || !FileObject)
        return;
    pnp_close_file(FileObject);
}
