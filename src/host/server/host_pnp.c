/*
 * host_pnp.c — the configuration-manager requests of applications: interface lists
 * (PNPH_LIST_INTERFACES), device nodes (PNPH_LOCATE_DEVNODE, PNPH_DEVNODE). Each is answered by
 * the same CM_* function of the in-process library, acting on the host's device tree.
 *
 * Lists and lookups only take pnpkit's locks and run on the loop. Disable, enable and
 * query-and-remove wait for the PnP worker (and, through notifications, for applications), so
 * they run as work items and answer from there.
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
    default:
        op->conn = host_conn_ref(c); /* held until devnode_done */
        host_run_work(devnode_fn, devnode_done, op);
        return;
    }
    devnode_reply(op);
    free(op);
}
