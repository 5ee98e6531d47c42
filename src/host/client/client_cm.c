/*
 * client_cm.c — the configuration-manager functions of libpnpkit-client: interface lists and
 * device nodes of the host's tree. Each validates its arguments as the in-process function of
 * the same name does (so a program gets the same CONFIGRET from either library), then asks the
 * host, which answers with that in-process function's result.
 *
 * When no host can be reached the functions return CR_NO_CM_SERVICES (CR_ACCESS_DENIED when the
 * socket refuses the user). Out parameters are written only on success, except where cfgmgr32
 * writes them on CR_REMOVE_VETOED.
 */
#include "host/client/client_internal.h"

#include <stdlib.h>
#include <string.h>

static CONFIGRET cr_from_error(DWORD err)
{
    switch (err) {
    case ERROR_ACCESS_DENIED: return CR_ACCESS_DENIED;
    case ERROR_NOT_ENOUGH_MEMORY: return CR_OUT_OF_MEMORY;
    default: return CR_NO_CM_SERVICES;
    }
}

/* Length of a device id; more than PNPH_MAX_ID_CHARS is refused (returns UINT32_MAX). */
static uint32_t id_length(PCWSTR id)
{
    uint32_t n = 0;
    if (!id)
        return 0;
    while (id[n]) {
        if (++n > PNPH_MAX_ID_CHARS)
            return UINT32_MAX;
    }
    return n;
}

/* One call with a message built by the caller in buf (complete, pnph_finish'ed). */
static CONFIGRET call(const uint8_t *buf, size_t len, uint16_t type, uint32_t rid, pnph_msg *reply)
{
    pkc_session *s;
    struct iovec iov;
    DWORD err = pkc_session_get(&s);

    if (err)
        return cr_from_error(err);
    iov.iov_base = (void *)(uintptr_t)buf;
    iov.iov_len = len;
    err = pkc_call(s, &iov, 1, type, rid, reply);
    pkc_session_release(s);
    return err ? cr_from_error(err) : CR_SUCCESS;
}

static CONFIGRET session_with_revision(uint32_t want, pkc_session **out);
static CONFIGRET call_on(pkc_session *s, const uint8_t *buf, size_t len, uint16_t type, uint32_t rid, pnph_msg *reply);

/* Asks for the list; on CR_SUCCESS *reply holds it (valid until the thread's next call). */
static CONFIGRET get_list(LPGUID guid, DEVINSTID_W id, ULONG flags, pnph_msg *reply)
{
    static const GUID zero;
    uint8_t buf[PNPH_HEADER_SIZE + 24 + 2 * PNPH_MAX_ID_CHARS];
    pnph_builder b;
    uint32_t rid = pkc_next_request_id(), n;
    bool all_classes = (flags & PNPKIT_CM_GET_DEVICE_INTERFACE_LIST_ALL_CLASSES) != 0;
    CONFIGRET cr;

    if (!guid && !all_classes)
        return CR_INVALID_POINTER;
    if ((flags & ~(ULONG)(CM_GET_DEVICE_INTERFACE_LIST_ALL_DEVICES | PNPKIT_CM_GET_DEVICE_INTERFACE_LIST_ALL_CLASSES)) ||
        (all_classes && (flags & CM_GET_DEVICE_INTERFACE_LIST_ALL_DEVICES)))
        return CR_INVALID_FLAG;
    n = id_length(id);
    if (n == UINT32_MAX)
        return CR_NO_SUCH_DEVNODE;
    pnph_begin(&b, buf, sizeof(buf), PNPH_LIST_INTERFACES, rid);
    pnph_put_bytes(&b, all_classes ? &zero : guid, sizeof(GUID));
    pnph_put_u32(&b, all_classes ? PNPH_LIST_ALL_CLASSES : flags);
    pnph_put_wstr(&b, id, n);
    if (all_classes) {
        /* Revision 2: an older host would close the connection on the flag. */
        pkc_session *s;
        cr = session_with_revision(2, &s);
        if (cr == CR_SUCCESS)
            cr = call_on(s, buf, pnph_finish(&b), PNPH_LIST_INTERFACES, rid, reply);
    } else {
        cr = call(buf, pnph_finish(&b), PNPH_LIST_INTERFACES, rid, reply);
    }
    return cr != CR_SUCCESS ? cr : reply->u.list_reply.cr;
}

CONFIGRET CM_Get_Device_Interface_List_SizeW(PULONG pulLen, LPGUID InterfaceClassGuid, DEVINSTID_W pDeviceID,
                                             ULONG ulFlags)
{
    pnph_msg reply;
    CONFIGRET cr;

    if (!pulLen)
        return CR_INVALID_POINTER;
    cr = get_list(InterfaceClassGuid, pDeviceID, ulFlags, &reply);
    if (cr == CR_SUCCESS)
        *pulLen = reply.u.list_reply.list.chars;
    return cr;
}

CONFIGRET CM_Get_Device_Interface_ListW(LPGUID InterfaceClassGuid, DEVINSTID_W pDeviceID, PZZWSTR Buffer,
                                        ULONG BufferLen, ULONG ulFlags)
{
    pnph_msg reply;
    CONFIGRET cr;

    if (!Buffer)
        return CR_INVALID_POINTER;
    cr = get_list(InterfaceClassGuid, pDeviceID, ulFlags, &reply);
    if (cr != CR_SUCCESS)
        return cr;
    if (reply.u.list_reply.list.chars > BufferLen)
        return CR_BUFFER_SMALL; /* it grew since the size was asked: the caller asks again */
    for (uint32_t i = 0; i < reply.u.list_reply.list.chars; i++)
        Buffer[i] = (WCHAR)(reply.u.list_reply.list.bytes[2 * i] | reply.u.list_reply.list.bytes[2 * i + 1] << 8);
    return CR_SUCCESS;
}

CONFIGRET CM_Locate_DevNodeW(PDEVINST pdnDevInst, DEVINSTID_W pDeviceID, ULONG ulFlags)
{
    uint8_t buf[PNPH_HEADER_SIZE + 8 + 2 * PNPH_MAX_ID_CHARS];
    pnph_builder b;
    pnph_msg reply;
    uint32_t rid = pkc_next_request_id(), n;
    CONFIGRET cr;

    if (!pdnDevInst)
        return CR_INVALID_POINTER;
    if (ulFlags & ~(ULONG)CM_LOCATE_DEVNODE_PHANTOM)
        return CR_INVALID_FLAG;
    n = id_length(pDeviceID);
    if (n == UINT32_MAX)
        return CR_NO_SUCH_DEVNODE;
    pnph_begin(&b, buf, sizeof(buf), PNPH_LOCATE_DEVNODE, rid);
    pnph_put_u32(&b, ulFlags);
    pnph_put_wstr(&b, pDeviceID, n);
    cr = call(buf, pnph_finish(&b), PNPH_LOCATE_DEVNODE, rid, &reply);
    if (cr == CR_SUCCESS)
        cr = reply.u.locate_reply.cr;
    if (cr == CR_SUCCESS)
        *pdnDevInst = reply.u.locate_reply.devinst;
    return cr;
}

/* A PNPH_DEVNODE call; *reply valid until the thread's next call. */
static CONFIGRET devnode(uint32_t op, DEVINST dn, ULONG flags, uint32_t arg, pnph_msg *reply)
{
    uint8_t buf[PNPH_HEADER_SIZE + 16];
    pnph_builder b;
    uint32_t rid = pkc_next_request_id();
    CONFIGRET cr;

    pnph_begin(&b, buf, sizeof(buf), PNPH_DEVNODE, rid);
    pnph_put_u32(&b, op);
    pnph_put_u32(&b, dn);
    pnph_put_u32(&b, flags);
    pnph_put_u32(&b, arg);
    cr = call(buf, pnph_finish(&b), PNPH_DEVNODE, rid, reply);
    return cr == CR_SUCCESS ? reply->u.devnode_reply.cr : cr;
}

CONFIGRET CM_Get_Device_IDW(DEVINST dnDevInst, PWSTR Buffer, ULONG BufferLen, ULONG ulFlags)
{
    pnph_msg reply;
    CONFIGRET cr;
    uint32_t n;

    if (!Buffer)
        return CR_INVALID_POINTER;
    if (ulFlags)
        return CR_INVALID_FLAG;
    cr = devnode(PNPH_DN_GET_ID, dnDevInst, 0, BufferLen, &reply);
    if (cr != CR_SUCCESS)
        return cr;
    n = reply.u.devnode_reply.text.chars;
    if (BufferLen < n)
        return CR_BUFFER_SMALL;
    for (uint32_t i = 0; i < n; i++)
        Buffer[i] = (WCHAR)(reply.u.devnode_reply.text.bytes[2 * i] | reply.u.devnode_reply.text.bytes[2 * i + 1] << 8);
    if (BufferLen > n)
        Buffer[n] = 0;
    return CR_SUCCESS;
}

static CONFIGRET relative(uint32_t op, PDEVINST out, DEVINST dn, ULONG flags)
{
    pnph_msg reply;
    CONFIGRET cr;

    if (!out)
        return CR_INVALID_POINTER;
    cr = devnode(op, dn, flags, 0, &reply);
    if (cr == CR_SUCCESS)
        *out = reply.u.devnode_reply.value1;
    return cr;
}

CONFIGRET CM_Get_Parent(PDEVINST pdnDevInst, DEVINST dnDevInst, ULONG ulFlags)
{
    return relative(PNPH_DN_PARENT, pdnDevInst, dnDevInst, ulFlags);
}

CONFIGRET CM_Get_Child(PDEVINST pdnDevInst, DEVINST dnDevInst, ULONG ulFlags)
{
    return relative(PNPH_DN_CHILD, pdnDevInst, dnDevInst, ulFlags);
}

CONFIGRET CM_Get_Sibling(PDEVINST pdnDevInst, DEVINST dnDevInst, ULONG ulFlags)
{
    return relative(PNPH_DN_SIBLING, pdnDevInst, dnDevInst, ulFlags);
}

CONFIGRET CM_Get_DevNode_Status(PULONG pulStatus, PULONG pulProblemNumber, DEVINST dnDevInst, ULONG ulFlags)
{
    pnph_msg reply;
    CONFIGRET cr;

    if (!pulStatus || !pulProblemNumber)
        return CR_INVALID_POINTER;
    cr = devnode(PNPH_DN_STATUS, dnDevInst, ulFlags, 0, &reply);
    if (cr == CR_SUCCESS) {
        *pulStatus = reply.u.devnode_reply.value1;
        *pulProblemNumber = reply.u.devnode_reply.value2;
    }
    return cr;
}

CONFIGRET CM_Disable_DevNode(DEVINST dnDevInst, ULONG ulFlags)
{
    pnph_msg reply;
    if (ulFlags & ~(ULONG)0x3)
        return CR_INVALID_FLAG;
    return devnode(PNPH_DN_DISABLE, dnDevInst, ulFlags, 0, &reply);
}

CONFIGRET CM_Enable_DevNode(DEVINST dnDevInst, ULONG ulFlags)
{
    pnph_msg reply;
    return devnode(PNPH_DN_ENABLE, dnDevInst, ulFlags, 0, &reply);
}

CONFIGRET CM_Query_And_Remove_SubTreeW(DEVINST dnAncestor, PPNP_VETO_TYPE pVetoType, LPWSTR pszVetoName,
                                       ULONG ulNameLength, ULONG ulFlags)
{
    pnph_msg reply;
    CONFIGRET cr;

    if (ulFlags & ~(ULONG)0x7)
        return CR_INVALID_FLAG;
    if (pszVetoName && !ulNameLength)
        return CR_INVALID_POINTER;
    if (pszVetoName)
        pszVetoName[0] = 0;
    cr = devnode(PNPH_DN_QUERY_REMOVE, dnAncestor, ulFlags, pszVetoName ? ulNameLength : 0, &reply);
    if (cr == CR_REMOVE_VETOED) {
        if (pVetoType)
            *pVetoType = (PNP_VETO_TYPE)reply.u.devnode_reply.value1;
        if (pszVetoName) {
            uint32_t n = reply.u.devnode_reply.text.chars;
            if (n >= ulNameLength)
                n = ulNameLength - 1;
            for (uint32_t i = 0; i < n; i++)
                pszVetoName[i] = (WCHAR)(reply.u.devnode_reply.text.bytes[2 * i] |
                                         reply.u.devnode_reply.text.bytes[2 * i + 1] << 8);
            pszVetoName[n] = 0;
        }
    }
    return cr;
}

/* ---- pnpkit additions (revision 2) ---- */

/* The current session, provided its host speaks revision `want`: CR_SUCCESS and a referenced
 * session, CR_CALL_NOT_IMPLEMENTED for an older host, or the connection's failure. The revision
 * is asked once per session (PNPH_STATS), so that a new message never reaches a host that would
 * close the connection on it. */
static CONFIGRET session_with_revision(uint32_t want, pkc_session **out)
{
    pkc_session *s;
    DWORD err = pkc_session_get(&s);
    uint32_t revision;

    if (err)
        return cr_from_error(err);
    revision = __atomic_load_n(&s->revision, __ATOMIC_ACQUIRE);
    if (revision == 0) {
        uint8_t buf[PNPH_HEADER_SIZE];
        pnph_builder b;
        pnph_msg reply;
        struct iovec iov;
        uint32_t rid = pkc_next_request_id();

        pnph_begin(&b, buf, sizeof(buf), PNPH_STATS, rid);
        iov.iov_base = buf;
        iov.iov_len = pnph_finish(&b);
        err = pkc_call(s, &iov, 1, PNPH_STATS, rid, &reply);
        if (err) {
            pkc_session_release(s);
            return cr_from_error(err);
        }
        /* A host of revision 1 sends fewer values: its revision is 1. */
        revision = reply.u.stats_reply.count > PNPH_STAT_REVISION ? reply.u.stats_reply.values[PNPH_STAT_REVISION] : 1u;
        if (revision == 0)
            revision = 1;
        __atomic_store_n(&s->revision, revision, __ATOMIC_RELEASE);
    }
    if (revision < want) {
        pkc_session_release(s);
        return CR_CALL_NOT_IMPLEMENTED;
    }
    *out = s;
    return CR_SUCCESS;
}

/* A call on a session obtained from session_with_revision (released here). */
static CONFIGRET call_on(pkc_session *s, const uint8_t *buf, size_t len, uint16_t type, uint32_t rid, pnph_msg *reply)
{
    struct iovec iov;
    DWORD err;

    iov.iov_base = (void *)(uintptr_t)buf;
    iov.iov_len = len;
    err = pkc_call(s, &iov, 1, type, rid, reply);
    pkc_session_release(s);
    return err ? cr_from_error(err) : CR_SUCCESS;
}

CONFIGRET PnpkitHostSurpriseRemove(DEVINST dnDevInst)
{
    uint8_t buf[PNPH_HEADER_SIZE + 16];
    pnph_builder b;
    pnph_msg reply;
    pkc_session *s;
    uint32_t rid = pkc_next_request_id();
    CONFIGRET cr = session_with_revision(2, &s);

    if (cr != CR_SUCCESS)
        return cr;
    pnph_begin(&b, buf, sizeof(buf), PNPH_DEVNODE, rid);
    pnph_put_u32(&b, PNPH_DN_SURPRISE_REMOVE);
    pnph_put_u32(&b, dnDevInst);
    pnph_put_u32(&b, 0);
    pnph_put_u32(&b, 0);
    cr = call_on(s, buf, pnph_finish(&b), PNPH_DEVNODE, rid, &reply);
    return cr == CR_SUCCESS ? reply.u.devnode_reply.cr : cr;
}

CONFIGRET PnpkitHostReportCustomEvent(DEVINST dnDevInst, const GUID *EventGuid, LONG NameBufferOffset,
                                      const VOID *Data, ULONG DataSize)
{
    size_t cap = PNPH_HEADER_SIZE + 28u + DataSize;
    uint8_t *buf;
    pnph_builder b;
    pnph_msg reply;
    pkc_session *s;
    uint32_t rid;
    CONFIGRET cr;

    if (!EventGuid || (DataSize && !Data))
        return CR_INVALID_POINTER;
    if (DataSize > PNPKIT_HOST_MAX_EVENT_DATA)
        return CR_INVALID_DATA;
    if (NameBufferOffset != -1) {
        /* The decoder's rule (docs/protocol.md): an even offset inside the data, a NUL after it. */
        const uint8_t *d = Data;
        bool nul = false;
        if (NameBufferOffset < 0 || (ULONG)NameBufferOffset >= DataSize || NameBufferOffset % 2 ||
            (DataSize - (ULONG)NameBufferOffset) % 2)
            return CR_INVALID_DATA;
        for (ULONG i = (ULONG)NameBufferOffset; i + 1 < DataSize && !nul; i += 2)
            nul = d[i] == 0 && d[i + 1] == 0;
        if (!nul)
            return CR_INVALID_DATA;
    }
    cr = session_with_revision(2, &s);
    if (cr != CR_SUCCESS)
        return cr;
    buf = malloc(cap);
    if (!buf) {
        pkc_session_release(s);
        return CR_OUT_OF_MEMORY;
    }
    rid = pkc_next_request_id();
    pnph_begin(&b, buf, cap, PNPH_DEVICE_EVENT, rid);
    pnph_put_u32(&b, dnDevInst);
    pnph_put_u32(&b, (uint32_t)NameBufferOffset);
    pnph_put_bytes(&b, EventGuid, sizeof(GUID));
    pnph_put_u32(&b, DataSize);
    pnph_put_bytes(&b, Data, DataSize);
    cr = call_on(s, buf, pnph_finish(&b), PNPH_DEVICE_EVENT, rid, &reply);
    free(buf);
    return cr == CR_SUCCESS ? reply.u.devevent_reply.cr : cr;
}

CONFIGRET PnpkitHostGetHandles(PPNPKIT_HOST_HANDLE_INFO Buffer, ULONG BufferCount, PULONG Count, PULONG Omitted)
{
    uint8_t buf[PNPH_HEADER_SIZE];
    pnph_builder b;
    pnph_msg reply;
    pkc_session *s;
    pnph_handle_info info;
    const uint8_t *p;
    size_t left;
    uint32_t rid, n = 0;
    CONFIGRET cr;

    if (!Count || (!Buffer && BufferCount))
        return CR_INVALID_POINTER;
    cr = session_with_revision(2, &s);
    if (cr != CR_SUCCESS)
        return cr;
    rid = pkc_next_request_id();
    pnph_begin(&b, buf, sizeof(buf), PNPH_HANDLES, rid);
    cr = call_on(s, buf, pnph_finish(&b), PNPH_HANDLES, rid, &reply);
    if (cr != CR_SUCCESS)
        return cr;
    p = reply.u.handles_reply.records;
    left = reply.u.handles_reply.records_len;
    while (pnph_next_handle(&p, &left, &info)) {
        if (n < BufferCount) {
            PNPKIT_HOST_HANDLE_INFO *o = &Buffer[n];
            o->ProcessId = info.pid;
            o->UserId = info.uid;
            o->Handle = info.handle;
            o->Access = info.access;
            o->InFlight = info.in_flight;
            o->Requests = info.requests;
            o->BytesToDevice = info.bytes_in;
            o->BytesFromDevice = info.bytes_out;
            pnph_wstr_copy(o->Name, ARRAYSIZE(o->Name), info.name);
        }
        n++;
    }
    *Count = n;
    if (Omitted)
        *Omitted = reply.u.handles_reply.omitted;
    return n > BufferCount ? CR_BUFFER_SMALL : CR_SUCCESS;
}
