/*
 * host_pnp.c — the configuration-manager requests of applications: interface lists
 * (PNPH_LIST_INTERFACES), device nodes (PNPH_LOCATE_DEVNODE, PNPH_DEVNODE). Each is answered by
 * the same CM_* function of the in-process library, acting on the host's device tree.
 *
 * Lists and lookups only take pnpkit's locks and run on the loop. Disable, enable,
 * query-and-remove and surprise removal wait for the PnP worker (and, through notifications,
 * for applications), so they run as work items and answer from there.
 *
 * Custom events (PNPH_DEVICE_EVENT) are raised with IoReportTargetDeviceChangeAsynchronous on the
 * device's PDO, found with PnpkitReferencePhysicalDeviceObject (no open, so the driver sees no
 * create; a device without an interface works too).
 */
#include "host/server/host_internal.h"

#include <stdlib.h>
#include <string.h>

#define VETO_NAME_CHARS 256u

void host_pnp_list(host_conn *c, const pnph_msg *m)
{
    WCHAR id[PNPH_MAX_ID_CHARS + 1];
    GUID g;
    ULONG len = 0;
    WCHAR *list = NULL;
    CONFIGRET cr;
    pnph_builder b;
    uint8_t *buf;

    memcpy(&g, m->u.list.class_guid, sizeof(g));
    pnph_wstr_copy(id, ARRAYSIZE(id), m->u.list.device_id);
    if (m->u.list.flags & PNPH_LIST_ALL_CLASSES) {
        /* Revision 2: every class, from the host's table of enabled interfaces (the in-process
         * API lists by class only). An unknown device id is an empty list, not an error. */
        cr = host_notify_all_links(id[0] ? id : NULL, &list, &len);
        goto reply;
    }
    for (;;) {
        cr = CM_Get_Device_Interface_List_SizeW(&len, &g, id[0] ? id : NULL, m->u.list.flags);
        if (cr != CR_SUCCESS)
            break;
        if (len > PNPH_MAX_LIST_CHARS) {
            host_log(HOST_LOG_INFO, "an interface list of %lu characters is too long for one message",
                     (unsigned long)len);
            cr = CR_FAILURE;
            break;
        }
        free(list);
        list = malloc((size_t)len * sizeof(WCHAR));
        if (!list) {
            cr = CR_OUT_OF_MEMORY;
            break;
        }
        cr = CM_Get_Device_Interface_ListW(&g, id[0] ? id : NULL, list, len, m->u.list.flags);
        if (cr != CR_BUFFER_SMALL)
            break; /* the list grew in between: ask again */
    }
reply:
    buf = malloc(PNPH_HEADER_SIZE + 8 + (size_t)len * 2u);
    if (!buf) {
        free(list);
        host_conn_close(c, "out of memory for a reply");
        return;
    }
    pnph_begin(&b, buf, PNPH_HEADER_SIZE + 8 + (size_t)len * 2u, PNPH_LIST_INTERFACES | PNPH_REPLY, m->hdr.request_id);
    pnph_put_u32(&b, cr);
    if (cr == CR_SUCCESS)
        pnph_put_wstr(&b, list, len);
    else
        pnph_put_u32(&b, 0);
    host_conn_send(c, buf, pnph_finish(&b));
    free(buf);
    free(list);
}

void host_pnp_locate(host_conn *c, const pnph_msg *m)
{
    WCHAR id[PNPH_MAX_ID_CHARS + 1];
    DEVINST dn = 0;
    CONFIGRET cr;
    uint8_t buf[PNPH_HEADER_SIZE + 8];
    pnph_builder b;

    pnph_wstr_copy(id, ARRAYSIZE(id), m->u.locate.device_id);
    cr = CM_Locate_DevNodeW(&dn, id, m->u.locate.flags);
    pnph_begin(&b, buf, sizeof(buf), PNPH_LOCATE_DEVNODE | PNPH_REPLY, m->hdr.request_id);
    pnph_put_u32(&b, cr);
    pnph_put_u32(&b, cr == CR_SUCCESS ? dn : 0);
    host_conn_send(c, buf, pnph_finish(&b));
}

typedef struct devnode_op {
    host_conn *conn;          /* referenced */
    uint32_t request_id;
    uint32_t op, devinst, flags, arg;
    CONFIGRET cr;
    uint32_t value1, value2;
    WCHAR text[VETO_NAME_CHARS > MAX_DEVICE_ID_LEN ? VETO_NAME_CHARS : MAX_DEVICE_ID_LEN];
} devnode_op;

static void devnode_reply(devnode_op *op)
{
    uint8_t buf[PNPH_HEADER_SIZE + 16 + sizeof(op->text)];
    pnph_builder b;
    size_t chars = 0;

    while (chars < ARRAYSIZE(op->text) && op->text[chars])
        chars++;
    pnph_begin(&b, buf, sizeof(buf), PNPH_DEVNODE | PNPH_REPLY, op->request_id);
    pnph_put_u32(&b, op->cr);
    pnph_put_u32(&b, op->value1);
    pnph_put_u32(&b, op->value2);
    pnph_put_wstr(&b, op->text, chars);
    host_conn_send(op->conn, buf, pnph_finish(&b));
}

static void devnode_fn(void *ctx)
{
    devnode_op *op = ctx;
    switch (op->op) {
    case PNPH_DN_DISABLE:
        op->cr = CM_Disable_DevNode(op->devinst, op->flags);
        break;
    case PNPH_DN_ENABLE:
        op->cr = CM_Enable_DevNode(op->devinst, op->flags);
        break;
    case PNPH_DN_SURPRISE_REMOVE: {
        NTSTATUS status = PnpkitSimSurpriseRemove(op->devinst);
        op->value1 = (uint32_t)status;
        op->cr = NT_SUCCESS(status) ? CR_SUCCESS : CR_NO_SUCH_DEVNODE;
        /* Asynchronous in pnpkit: answer once the removal, and the notifications it sends to
         * drivers and applications, are done. */
        if (NT_SUCCESS(status))
            PnpkitSimWaitIdle();
        break;
    }
    default: { /* PNPH_DN_QUERY_REMOVE */
        PNP_VETO_TYPE veto = PNP_VetoTypeUnknown;
        op->cr = CM_Query_And_Remove_SubTreeW(op->devinst, &veto, op->text, ARRAYSIZE(op->text), op->flags);
        op->value1 = (uint32_t)veto;
        if (op->cr != CR_REMOVE_VETOED)
            op->text[0] = 0;
        break;
    }
    }
}

static void devnode_done(void *ctx)
{
    devnode_op *op = ctx;
    devnode_reply(op);
    host_conn_release(op->conn);
    free(op);
}

void host_pnp_devnode(host_conn *c, const pnph_msg *m)
{
    devnode_op *op = calloc(1, sizeof(*op));
    DEVINST out = 0;
    ULONG status = 0, problem = 0;

    if (!op) {
        host_conn_close(c, "out of memory for a request");
        return;
    }
    op->conn = c;
    op->request_id = m->hdr.request_id;
    op->op = m->u.devnode.op;
    op->devinst = m->u.devnode.devinst;
    op->flags = m->u.devnode.flags;
    op->arg = m->u.devnode.arg;
    switch (op->op) {
    case PNPH_DN_GET_ID:
        op->cr = CM_Get_Device_IDW(op->devinst, op->text, MAX_DEVICE_ID_LEN, op->flags);
        if (op->cr != CR_SUCCESS)
            op->text[0] = 0;
        break;
    case PNPH_DN_PARENT:
    case PNPH_DN_CHILD:
    case PNPH_DN_SIBLING:
        op->cr = op->op == PNPH_DN_PARENT  ? CM_Get_Parent(&out, op->devinst, op->flags)
                 : op->op == PNPH_DN_CHILD ? CM_Get_Child(&out, op->devinst, op->flags)
                                           : CM_Get_Sibling(&out, op->devinst, op->flags);
        op->value1 = op->cr == CR_SUCCESS ? out : 0;
        break;
    case PNPH_DN_STATUS:
        op->cr = CM_Get_DevNode_Status(&status, &problem, op->devinst, op->flags);
        if (op->cr == CR_SUCCESS) {
            op->value1 = status;
            op->value2 = problem;
        }
        break;
    case PNPH_DN_SURPRISE_REMOVE:
        if (!host_security_may_control(&c->cred)) {
            op->cr = CR_ACCESS_DENIED;
            break;
        }
        /* fall through */
    default:
        op->conn = host_conn_ref(c); /* held until devnode_done */
        host_run_work(devnode_fn, devnode_done, op);
        return;
    }
    devnode_reply(op);
    free(op);
}

/* ---- Custom events ---- */

bool host_link_of_device(const WCHAR *link, const WCHAR *instance_id)
{
    size_t i = 0;

    if (!(link[0] == u'\\' && (link[1] == u'\\' || link[1] == u'?') && link[2] == u'?' && link[3] == u'\\'))
        return false;
    link += 4;
    for (; instance_id[i]; i++) {
        WCHAR want = instance_id[i] == u'\\' ? u'#' : instance_id[i];
        if (!link[i] || RtlUpcaseUnicodeChar(link[i]) != RtlUpcaseUnicodeChar(want))
            return false;
    }
    /* Then the class: #{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}, and the end or a reference string. */
    for (size_t k = 0; k < 39; k++)
        if (!link[i + k])
            return false;
    return i > 0 && link[i] == u'#' && link[i + 1] == u'{' && link[i + 38] == u'}' &&
           (link[i + 39] == 0 || link[i + 39] == u'\\');
}

typedef struct devevent_op {
    loop_item item;           /* the reply, posted to the loop after the delivery */
    host_conn *conn;          /* referenced */
    uint32_t request_id;
    PDEVICE_OBJECT pdo;       /* the device's PDO, referenced; released by devevent_fn */
    GUID event;
    int32_t name_offset;
    uint32_t data_len;
    CONFIGRET cr;
    NTSTATUS status;
    uint8_t data[];
} devevent_op;

static void devevent_reply(loop_item *item)
{
    devevent_op *op = CONTAINING_RECORD(item, devevent_op, item);
    uint8_t buf[PNPH_HEADER_SIZE + 8];
    pnph_builder b;

    pnph_begin(&b, buf, sizeof(buf), PNPH_DEVICE_EVENT | PNPH_REPLY, op->request_id);
    pnph_put_u32(&b, op->cr);
    pnph_put_u32(&b, (uint32_t)op->status);
    host_conn_send(op->conn, buf, pnph_finish(&b));
    host_conn_release(op->conn);
    free(op);
    host_atomic_dec(&host.n_works);
}

/* The PnP manager calls this (PASSIVE_LEVEL, its worker) once every registrant had the event. */
static VOID devevent_delivered(PVOID context)
{
    devevent_op *op = context;
    op->item.run = devevent_reply;
    host_loop_post(&op->item);
}

static void devevent_fn(void *context)
{
    devevent_op *op = context;
    PDEVICE_OBJECT pdo = op->pdo;
    TARGET_DEVICE_CUSTOM_NOTIFICATION *n;
    NTSTATUS status;
    size_t header = FIELD_OFFSET(TARGET_DEVICE_CUSTOM_NOTIFICATION, CustomDataBuffer);

    n = calloc(1, header + op->data_len);
    if (!n) {
        op->status = STATUS_INSUFFICIENT_RESOURCES;
        op->cr = CR_OUT_OF_MEMORY;
        ObDereferenceObject(pdo);
        devevent_delivered(op);
        return;
    }
    n->Version = 1;
    n->Size = (USHORT)(header + op->data_len);
    n->Event = op->event;
    n->FileObject = NULL;
    n->NameBufferOffset = op->name_offset;
    memcpy(n->CustomDataBuffer, op->data, op->data_len);
    /* Once the report is queued, op belongs to the delivery: devevent_delivered may run (and the
     * loop free op) before this call returns, so the success answer is written before it. */
    op->status = STATUS_SUCCESS;
    op->cr = CR_SUCCESS;
    status = IoReportTargetDeviceChangeAsynchronous(pdo, n, devevent_delivered, op);
    free(n);
    ObDereferenceObject(pdo);
    if (!NT_SUCCESS(status)) {
        /* Refused before anything was queued: the callback will not run. */
        op->status = status;
        op->cr = status == STATUS_INVALID_DEVICE_REQUEST ? CR_INVALID_DATA : CR_FAILURE;
        devevent_delivered(op);
    }
}

static void devevent_fail(host_conn *c, uint32_t request_id, CONFIGRET cr, NTSTATUS status)
{
    uint8_t buf[PNPH_HEADER_SIZE + 8];
    pnph_builder b;

    pnph_begin(&b, buf, sizeof(buf), PNPH_DEVICE_EVENT | PNPH_REPLY, request_id);
    pnph_put_u32(&b, cr);
    pnph_put_u32(&b, (uint32_t)status);
    host_conn_send(c, buf, pnph_finish(&b));
}

void host_pnp_device_event(host_conn *c, const pnph_msg *m)
{
    WCHAR id[MAX_DEVICE_ID_LEN];
    devevent_op *op;
    CONFIGRET cr;

    if (!host_security_may_control(&c->cred)) {
        devevent_fail(c, m->hdr.request_id, CR_ACCESS_DENIED, STATUS_ACCESS_DENIED);
        return;
    }
    cr = CM_Get_Device_IDW(m->u.devevent.devinst, id, ARRAYSIZE(id), 0);
    if (cr != CR_SUCCESS) {
        devevent_fail(c, m->hdr.request_id, cr, STATUS_NO_SUCH_DEVICE);
        return;
    }
    id[ARRAYSIZE(id) - 1] = 0;
    op = calloc(1, sizeof(*op) + m->u.devevent.data_len);
    if (!op) {
        devevent_fail(c, m->hdr.request_id, CR_OUT_OF_MEMORY, STATUS_INSUFFICIENT_RESOURCES);
        return;
    }
    if (!NT_SUCCESS(PnpkitReferencePhysicalDeviceObject(m->u.devevent.devinst, &op->pdo))) {
        free(op);
        devevent_fail(c, m->hdr.request_id, CR_NO_SUCH_DEVINST, STATUS_NO_SUCH_DEVICE);
        return;
    }
    op->conn = host_conn_ref(c); /* held until devevent_reply */
    op->request_id = m->hdr.request_id;
    memcpy(&op->event, m->u.devevent.event_guid, sizeof(GUID));
    op->name_offset = m->u.devevent.name_offset;
    op->data_len = m->u.devevent.data_len;
    if (op->data_len)
        memcpy(op->data, m->u.devevent.data, op->data_len);
    /* Counted as a work until its reply ran, so that pnphost stops only after it. */
    host_atomic_inc(&host.n_works);
    host_run_work(devevent_fn, NULL, op);
}
