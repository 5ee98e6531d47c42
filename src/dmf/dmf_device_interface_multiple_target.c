/*
 * dmf_device_interface_multiple_target.c — DMF_DeviceInterfaceMultipleTarget: one Target per
 * enabled instance of a device interface class, each a remote WDFIOTARGET opened by symbolic
 * link plus a per-target DMF_ContinuousRequestTarget (ContinuousRequestCount > 0) or
 * DMF_RequestTarget, created with dmf_module_create_owned so that their completion and stream
 * callbacks carry this module's handle. The exact sequences are in spec/dmf.md section 1.4.
 *
 * Threads. Interface arrival and removal and the WDFIOTARGET removal callbacks come from the
 * PnP worker, one at a time. Unregistration (module delete, ReleaseHardware, D0Exit) runs on
 * the thread that drives it and can race with the removal callbacks of targets it has not torn
 * down yet. Methods run on any thread.
 *
 * Locking and ordering:
 *   - arrival_mutex (a synchronization event used as a sleeping mutex) serializes arrivals: the
 *     lookup of the link and the insertion are atomic. It is held across OnPnpNotification and
 *     the Open callback, as the spec asks; nothing else takes it.
 *   - count_mutex (same kind) serializes the count of open targets with the module's opening
 *     and closing, so PostOpen and PreClose pair up; it is held across DMF_ModuleOpen and
 *     DMF_ModuleClose (the client's PostOpen / PreClose). Never taken with list_lock held.
 *   - list_lock (pk_lock, a leaf) protects the target list, each target's in_list and counted
 *     flags, and the live list (every Target from its creation to its deletion, listed or not:
 *     a Target is usable from its Open callback on, before the arrival lists it, and Cancel
 *     without a Target must find it there too). No call out is made under it.
 *   - Teardown runs once per target: whoever removes a target from the list (interface
 *     removal, RemoveComplete, unregistration) tears it down; a target not yet in the list
 *     belongs to its arrival.
 *   - Per-target rundown (rd, a count with an ENDED bit and an event): every method holds it
 *     while it runs, TargetReference until TargetDereference. While it is active the target is
 *     counted, so the module is open: methods need no separate module reference.
 *
 * Who frees what: a Target is a framework object (child of the module object); the module's
 * list holds its creation reference until teardown deletes it. The Target owns its WDFIOTARGET
 * and its child module, both children of the module object (not of the Target, whose reference
 * on the child would otherwise be a cycle) and both deleted by teardown; the Target keeps a
 * reference on the child's object until it is destroyed, so ReuseDelete can look at a child
 * that is going away. Callers of the WDFIOTARGET callbacks find the Target through a context on the
 * WDFIOTARGET and hold a reference on it for the call.
 */
#include "dmf/dmf_request_target_engine.h"
#include "base/base_internal.h"

#include <stdlib.h>
#include <string.h>

/* =============================================================================================
 * Module Private Enumerations and Structures
 * ============================================================================================= */

#define RD_ENDED 0x80000000u

typedef struct dimt_context dimt_context;

typedef struct dimt_target {
    pk_object header;
    dimt_context *c;
    dmf_module *m;
    LIST_ENTRY link;          /* in c->targets; list_lock */
    LIST_ENTRY live_link;     /* in c->live from creation to target_delete; list_lock */
    struct dimt_target *hash_next; /* in c->buckets[hash % bucket_count]; list_lock */
    uint32_t hash;            /* of the link, case-insensitive, prefix-independent */
    bool in_list;             /* list_lock */
    bool counted;             /* counts in c->open_count; list_lock */
    bool closed_for_qr;       /* WdfIoTargetCloseForQueryRemove done, no reopen since; PnP callbacks */
    bool reopen_failed;       /* closed for query-remove and the reopen failed: no outcome will
                               * come, the interface's removal tears it down; list_lock */
    bool stream;              /* the child is a ContinuousRequestTarget with a stream */
    WDFIOTARGET io_target;
    DMFMODULE child;
    dmf_module *child_m;      /* referenced until the Target is destroyed */
    rt_engine *engine;        /* the child's request engine (first member of its context) */
    uint32_t rd;              /* rundown: holders | RD_ENDED; atomic */
    KEVENT rd_done;           /* set when the last holder leaves an ended rundown */
    LONG client_refs;         /* TargetReference - TargetDereference; atomic */
    UNICODE_STRING name;      /* the symbolic link, buffer after the struct */
} dimt_target;

struct dimt_context {
    dmf_module *m;
    PVOID notification_entry;
    KEVENT arrival_mutex;     /* see the file comment */
    KEVENT count_mutex;
    ULONG open_count;         /* count_mutex */
    pk_lock list_lock;
    LIST_ENTRY targets;       /* list_lock */
    dimt_target **buckets;    /* the targets in the list by link hash; list_lock */
    ULONG bucket_count;       /* a power of two, or 0 before the first insert */
    ULONG listed;             /* targets in the list */
    LIST_ENTRY live;          /* every Target created and not yet deleted (live_link); list_lock */
    ULONG live_targets;       /* Targets created and not yet destroyed by teardown; list_lock */
    KEVENT no_targets;        /* set while live_targets == 0 */
    uint32_t live_generation; /* changes whenever a Target leaves the live list; list_lock */
    DMFMODULE power;          /* the D0 child of a static module in Automatic mode */
};

typedef struct {
    dimt_target *t;
} dimt_iotarget_context;

static const WDF_OBJECT_CONTEXT_TYPE_INFO dimt_iotarget_context_info = {
    sizeof(WDF_OBJECT_CONTEXT_TYPE_INFO), "DMF_DIMT_IOTARGET", sizeof(dimt_iotarget_context),
    &dimt_iotarget_context_info, NULL
};

typedef struct {
    bool powered_once;
} dimt_power_context;

static const dmf_module_descriptor dimt_descriptor_family;

/* =============================================================================================
 * Module Private Code: small helpers
 * ============================================================================================= */

static dimt_context *dimt_of(dmf_module *m) { return dmf_module_context(m); }
static DMF_CONFIG_DeviceInterfaceMultipleTarget *dimt_config(dmf_module *m) { return dmf_module_config(m); }

static void mutex_acquire(KEVENT *e) { KeWaitForSingleObject(e, Executive, KernelMode, FALSE, NULL); }
static void mutex_release(KEVENT *e) { KeSetEvent(e, IO_NO_INCREMENT, FALSE); }

static bool automatic(dmf_module *m)
{
    const DMF_CONFIG_ContinuousRequestTarget *crt = &dimt_config(m)->ContinuousRequestTargetModuleConfig;
    return crt->ContinuousRequestCount && crt->ContinuousRequestTargetMode == ContinuousRequestTarget_Mode_Automatic;
}

/* The part of a link after its \??\ or \\?\ prefix (both mean the same). */
static UNICODE_STRING link_body(PCUNICODE_STRING s)
{
    UNICODE_STRING b = *s;
    USHORT n = s->Length / sizeof(WCHAR);

    if (n >= 4 && s->Buffer[0] == u'\\' && (s->Buffer[1] == u'?' || s->Buffer[1] == u'\\') && s->Buffer[2] == u'?' &&
        s->Buffer[3] == u'\\') {
        b.Buffer += 4;
        b.Length -= 4 * sizeof(WCHAR);
        b.MaximumLength = b.Length;
    }
    return b;
}

static bool same_link(PCUNICODE_STRING a, PCUNICODE_STRING b)
{
    UNICODE_STRING x = link_body(a), y = link_body(b);
    return RtlEqualUnicodeString(&x, &y, TRUE);
}

/* Equal links (by same_link) hash alike. */
static uint32_t link_hash(PCUNICODE_STRING s)
{
    UNICODE_STRING b = link_body(s);
    return pk_fold_hash(b.Buffer, b.Length / sizeof(WCHAR));
}

/* ---- The per-target rundown ---- */

static bool rd_acquire(dimt_target *t)
{
    uint32_t v = pk_load_relaxed(&t->rd);
    do {
        if (v & RD_ENDED)
            return false;
    } while (!pk_cas(&t->rd, &v, v + 1));
    return true;
}

static void rd_release(dimt_target *t)
{
    if (__atomic_sub_fetch(&t->rd, 1u, __ATOMIC_SEQ_CST) == RD_ENDED)
        KeSetEvent(&t->rd_done, IO_NO_INCREMENT, FALSE);
}

/* New acquisitions fail from here on. */
static void rd_end(dimt_target *t) { __atomic_fetch_or(&t->rd, RD_ENDED, __ATOMIC_SEQ_CST); }

/* After rd_end: waits (on an event) until every holder has left. */
static void rd_wait(dimt_target *t)
{
    if ((pk_load_acquire(&t->rd) & ~RD_ENDED) != 0)
        KeWaitForSingleObject(&t->rd_done, Executive, KernelMode, FALSE, NULL);
}

/* Starts (or restarts) an ended rundown with no holders. */
static void rd_start(dimt_target *t)
{
    KeClearEvent(&t->rd_done);
    pk_store_release(&t->rd, 0u);
}

/* ---- Target handles ---- */

static void target_destroy(pk_object *o)
{
    dimt_target *t = CONTAINING_RECORD(o, dimt_target, header);
    if (t->child_m)
        dmf_module_object_dereference(t->child_m);
}

static const pk_object_type dimt_target_type = { "DMFIOTARGET", PK_KIND_DMFIOTARGET, PK_OBJTYPE_NO_CLIENT_DELETE, NULL,
                                                 target_destroy };

/* The live Target of module m behind handle, referenced; NULL for NULL, stale, foreign or
 * wrong-typed handles (no verifier report: the spec makes these a status, not a bug). */
static dimt_target *target_lookup(dmf_module *m, DMFIOTARGET handle)
{
    pk_object_kind kind;
    pk_object *o;

    if (!handle)
        return NULL;
    o = pk_handle_lookup((WDFOBJECT)handle, &kind);
    if (!o)
        return NULL;
    if (kind != PK_KIND_DMFIOTARGET || CONTAINING_RECORD(o, dimt_target, header)->m != m) {
        pk_object_dereference(o);
        return NULL;
    }
    return CONTAINING_RECORD(o, dimt_target, header);
}

/* Looks up the Target and enters its rundown; false when it is not usable. */
static bool target_enter(dmf_module *m, DMFIOTARGET handle, dimt_target **out)
{
    dimt_target *t = target_lookup(m, handle);

    if (!t)
        return false;
    if (!rd_acquire(t)) {
        pk_object_dereference(&t->header);
        return false;
    }
    *out = t;
    return true;
}

static void target_leave(dimt_target *t)
{
    rd_release(t);
    pk_object_dereference(&t->header);
}

/* ---- The count of open targets: the module is open while it is > 0 ---- */

static NTSTATUS count_increment(dimt_context *c, dimt_target *t)
{
    NTSTATUS status = STATUS_SUCCESS;

    mutex_acquire(&c->count_mutex);
    if (c->open_count == 0)
        status = DMF_ModuleOpen(dmf_module_handle(c->m));
    if (NT_SUCCESS(status)) {
        c->open_count++;
        pk_lock_acquire(&c->list_lock);
        t->counted = true;
        pk_lock_release(&c->list_lock);
    }
    mutex_release(&c->count_mutex);
    return status;
}

/* Uncounts t if it is counted; closes the module when it was the last. */
static void count_decrement(dimt_context *c, dimt_target *t)
{
    bool was;

    mutex_acquire(&c->count_mutex);
    pk_lock_acquire(&c->list_lock);
    was = t->counted;
    t->counted = false;
    pk_lock_release(&c->list_lock);
    if (was && --c->open_count == 0)
        DMF_ModuleClose(dmf_module_handle(c->m));
    mutex_release(&c->count_mutex);
}

/* ---- State callbacks ---- */

static NTSTATUS state_callback(dmf_module *m, dimt_target *t, DeviceInterfaceMultipleTarget_StateType state)
{
    DMF_CONFIG_DeviceInterfaceMultipleTarget *config = dimt_config(m);
    DMFMODULE handle = dmf_module_client_handle(m);
    DMFIOTARGET target = (DMFIOTARGET)pk_object_handle(&t->header);

    PK_TRACE(PnpkitTraceInfo, "dmf", "DeviceInterfaceMultipleTarget %p: target %p state %d", (void *)handle,
             (void *)target, (int)state);
    if (config->EvtDeviceInterfaceMultipleTargetOnStateChangeEx)
        return config->EvtDeviceInterfaceMultipleTargetOnStateChangeEx(handle, target, state);
    if (config->EvtDeviceInterfaceMultipleTargetOnStateChange)
        config->EvtDeviceInterfaceMultipleTargetOnStateChange(handle, target, state);
    return STATUS_SUCCESS;
}

/* =============================================================================================
 * Module Private Code: stream callbacks of the per-target child
 * ============================================================================================= */

/* Without a client BufferOutput every completion keeps streaming (the client's own config
 * would otherwise stop a request on a failure). */
static ContinuousRequestTarget_BufferDisposition dimt_buffer_output_default(DMFMODULE DmfModule, VOID *OutputBuffer,
                                                                            size_t OutputBufferSize,
                                                                            VOID *ClientBufferContextOutput,
                                                                            NTSTATUS CompletionStatus)
{
    (void)DmfModule;
    (void)OutputBuffer;
    (void)OutputBufferSize;
    (void)ClientBufferContextOutput;
    (void)CompletionStatus;
    return ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndContinueStreaming;
}

/* =============================================================================================
 * Module Private Code: creating and tearing down a Target
 * ============================================================================================= */

static EVT_WDF_IO_TARGET_QUERY_REMOVE dimt_query_remove;
static EVT_WDF_IO_TARGET_REMOVE_CANCELED dimt_remove_canceled;
static EVT_WDF_IO_TARGET_REMOVE_COMPLETE dimt_remove_complete;

static dimt_target *iotarget_owner(WDFIOTARGET io)
{
    dimt_iotarget_context *x = WdfObjectGetTypedContextWorker((WDFOBJECT)io, &dimt_iotarget_context_info);
    return x ? x->t : NULL;
}

/* Deletes what a Target owns and the Target itself, and forgets it. */
static void target_delete(dimt_context *c, dimt_target *t)
{
    bool last;

    if (t->child)
        dmf_module_delete_owned(t->child);
    if (t->io_target)
        WdfObjectDelete(t->io_target);
    pk_lock_acquire(&c->list_lock);
    RemoveEntryList(&t->live_link);
    InitializeListHead(&t->live_link);
    c->live_generation++;
    last = --c->live_targets == 0;
    pk_lock_release(&c->list_lock);
    /* An unregistration may be waiting for the last target: keep the module's memory alive
     * through the signal. */
    dmf_module_object_reference(c->m);
    pk_object_delete(&t->header);
    if (last)
        KeSetEvent(&c->no_targets, IO_NO_INCREMENT, FALSE);
    dmf_module_object_dereference(c->m);
}

/* Stops the stream, ends the rundown, cancels what was sent and waits for the holders. */
static void target_quiesce(dmf_module *m, dimt_target *t)
{
    if (automatic(m))
        DMF_ContinuousRequestTarget_StopAndWait(t->child);
    rd_end(t);
    WdfIoTargetPurge(t->io_target, WdfIoTargetPurgeIoAndWait);
    rd_wait(t);
}

/* Teardown (spec 1.4 "Teardown"); the caller has taken t out of the list (or t never was in
 * it). PASSIVE_LEVEL, no lock held. */
static void target_teardown(dmf_module *m, dimt_target *t)
{
    dimt_context *c = dimt_of(m);
    bool closed_for_qr;

    if (automatic(m))
        DMF_ContinuousRequestTarget_StopAndWait(t->child);
    /* Close cancels every sent request (blocked synchronous sends too) and, once it returns,
     * no removal callback of this target is running or will run. */
    rd_end(t);
    WdfIoTargetClose(t->io_target);
    closed_for_qr = t->closed_for_qr;
    if (automatic(m))
        DMF_ContinuousRequestTarget_StopAndWait(t->child); /* a RemoveCancel may have restarted it */
    rd_wait(t);
    if (!closed_for_qr)
        (void)state_callback(m, t, DeviceInterfaceMultipleTarget_StateType_Close);
    count_decrement(c, t);
    target_delete(c, t);
}

static NTSTATUS target_create(dmf_module *m, PCUNICODE_STRING link, dimt_target **out)
{
    dimt_context *c = dimt_of(m);
    WDF_OBJECT_ATTRIBUTES oa;
    dimt_target *t;
    NTSTATUS status;

    WDF_OBJECT_ATTRIBUTES_INIT(&oa);
    oa.ParentObject = (WDFOBJECT)dmf_module_handle(m);
    status = pk_object_create(&dimt_target_type, &oa, NULL, sizeof(dimt_target) + link->Length + sizeof(WCHAR),
                              "DMF_DeviceInterfaceMultipleTarget", (void **)&t);
    if (!NT_SUCCESS(status))
        return status;
    t->c = c;
    t->m = m;
    t->rd = RD_ENDED;
    KeInitializeEvent(&t->rd_done, NotificationEvent, FALSE);
    t->name.Buffer = (PWSTR)(t + 1);
    t->name.Length = link->Length;
    t->name.MaximumLength = (USHORT)(link->Length + sizeof(WCHAR));
    memcpy(t->name.Buffer, link->Buffer, link->Length);
    t->name.Buffer[link->Length / sizeof(WCHAR)] = 0;
    t->hash = link_hash(link);
    InitializeListHead(&t->link);
    pk_object_commit(&t->header);
    pk_lock_acquire(&c->list_lock);
    InsertTailList(&c->live, &t->live_link);
    if (c->live_targets++ == 0)
        KeClearEvent(&c->no_targets);
    pk_lock_release(&c->list_lock);
    *out = t;
    return STATUS_SUCCESS;
}

/* Steps 5 and 6 of an arrival: the WDFIOTARGET, opened, and the child. */
static NTSTATUS target_open(dmf_module *m, dimt_target *t)
{
    DMF_CONFIG_DeviceInterfaceMultipleTarget *config = dimt_config(m);
    DMF_CONFIG_ContinuousRequestTarget crt = config->ContinuousRequestTargetModuleConfig;
    WDFDEVICE device = DMF_ParentDeviceGet(dmf_module_handle(m));
    WDF_OBJECT_ATTRIBUTES oa;
    WDF_IO_TARGET_OPEN_PARAMS open;
    DMF_MODULE_ATTRIBUTES attributes;
    dimt_iotarget_context *x;
    pk_object *o;
    NTSTATUS status;

    WDF_OBJECT_ATTRIBUTES_INIT(&oa);
    oa.ParentObject = (WDFOBJECT)dmf_module_handle(m);
    oa.ContextTypeInfo = &dimt_iotarget_context_info;
    status = WdfIoTargetCreate(device, &oa, &t->io_target);
    if (!NT_SUCCESS(status))
        return status;
    x = WdfObjectGetTypedContextWorker((WDFOBJECT)t->io_target, &dimt_iotarget_context_info);
    x->t = t;
    WDF_IO_TARGET_OPEN_PARAMS_INIT_OPEN_BY_NAME(&open, &t->name,
                                                config->OpenMode ? config->OpenMode : (GENERIC_READ | GENERIC_WRITE));
    open.ShareAccess = config->ShareAccess ? config->ShareAccess : (FILE_SHARE_READ | FILE_SHARE_WRITE);
    open.EvtIoTargetQueryRemove = dimt_query_remove;
    open.EvtIoTargetRemoveCanceled = dimt_remove_canceled;
    open.EvtIoTargetRemoveComplete = dimt_remove_complete;
    status = WdfIoTargetOpen(t->io_target, &open);
    if (!NT_SUCCESS(status))
        return status;

    WDF_OBJECT_ATTRIBUTES_INIT(&oa);
    oa.ParentObject = (WDFOBJECT)dmf_module_handle(m);
    t->stream = crt.ContinuousRequestCount > 0;
    if (t->stream) {
        if (!crt.EvtContinuousRequestTargetBufferOutput)
            crt.EvtContinuousRequestTargetBufferOutput = dimt_buffer_output_default;
        DMF_ContinuousRequestTarget_ATTRIBUTES_INIT(&attributes);
        attributes.ModuleConfigPointer = &crt;
        attributes.PassiveLevel = (BOOLEAN)dmf_module_is_passive(m);
        attributes.ClientModuleInstanceName = (PSTR)(uintptr_t)"DeviceInterfaceMultipleTarget.Stream";
        status = dmf_module_create_owned(m, DMF_ContinuousRequestTarget_Create, &attributes, &oa, &t->child);
    } else {
        DMF_RequestTarget_ATTRIBUTES_INIT(&attributes);
        attributes.PassiveLevel = (BOOLEAN)dmf_module_is_passive(m);
        attributes.ClientModuleInstanceName = (PSTR)(uintptr_t)"DeviceInterfaceMultipleTarget.Request";
        status = dmf_module_create_owned(m, DMF_RequestTarget_Create, &attributes, &oa, &t->child);
    }
    if (!NT_SUCCESS(status)) {
        t->child = NULL;
        return status;
    }
    status = pk_object_reference_handle((WDFOBJECT)t->child, PK_KIND_DMFMODULE, "DMF_DeviceInterfaceMultipleTarget", &o);
    if (!PK_ALWAYS(NT_SUCCESS(status)))
        return status;
    t->child_m = dmf_module_from_callback(t->child);
    dmf_module_object_reference(t->child_m);
    pk_object_dereference(o);
    t->engine = dmf_module_context(t->child_m);
    return dmf_rt_target_set(t->engine, t->io_target);
}

/* Undoes a failed or vetoed arrival of t (not in the list). */
static void arrival_undo(dmf_module *m, dimt_target *t)
{
    dimt_context *c = dimt_of(m);

    rd_end(t);
    if (t->io_target)
        WdfIoTargetClose(t->io_target);
    if (t->child && automatic(m))
        DMF_ContinuousRequestTarget_StopAndWait(t->child);
    rd_wait(t);
    count_decrement(c, t);
    target_delete(c, t);
}

static dimt_target *find_locked(dimt_context *c, PCUNICODE_STRING link, uint32_t hash)
{
    if (!c->bucket_count)
        return NULL;
    for (dimt_target *t = c->buckets[hash & (c->bucket_count - 1)]; t; t = t->hash_next)
        if (t->hash == hash && same_link(&t->name, link))
            return t;
    return NULL;
}

/* Grows the hash table to at least twice the listed targets; without memory it keeps the old
 * one (longer chains, still correct). */
static void grow_locked(dimt_context *c)
{
    ULONG n = c->bucket_count ? c->bucket_count * 2 : 16;
    dimt_target **b = pk_alloc(n * sizeof(*b));

    if (!b)
        return;
    memset(b, 0, n * sizeof(*b));
    for (ULONG i = 0; i < c->bucket_count; i++) {
        dimt_target *t = c->buckets[i];
        while (t) {
            dimt_target *next = t->hash_next;
            t->hash_next = b[t->hash & (n - 1)];
            b[t->hash & (n - 1)] = t;
            t = next;
        }
    }
    pk_free(c->buckets);
    c->buckets = b;
    c->bucket_count = n;
}

static void insert_locked(dimt_context *c, dimt_target *t)
{
    if (c->listed + 1 > c->bucket_count)
        grow_locked(c);
    if (c->bucket_count) {
        dimt_target **head = &c->buckets[t->hash & (c->bucket_count - 1)];
        t->hash_next = *head;
        *head = t;
    }
    InsertTailList(&c->targets, &t->link);
    t->in_list = true;
    c->listed++;
}

static void unlink_locked(dimt_context *c, dimt_target *t)
{
    if (c->bucket_count) {
        dimt_target **p = &c->buckets[t->hash & (c->bucket_count - 1)];
        while (*p && *p != t)
            p = &(*p)->hash_next;
        if (*p)
            *p = t->hash_next;
    }
    t->hash_next = NULL;
    RemoveEntryList(&t->link);
    InitializeListHead(&t->link);
    t->in_list = false;
    c->listed--;
}

/* An interface of the class arrived (spec 1.4 "Arrival"). PnP worker, PASSIVE_LEVEL. */
static void arrival(dmf_module *m, PCUNICODE_STRING link)
{
    dimt_context *c = dimt_of(m);
    DMF_CONFIG_DeviceInterfaceMultipleTarget *config = dimt_config(m);
    dimt_target *t;
    uint32_t hash = link_hash(link);
    bool exists;
    NTSTATUS status;

    mutex_acquire(&c->arrival_mutex);
    pk_lock_acquire(&c->list_lock);
    exists = find_locked(c, link, hash) != NULL;
    pk_lock_release(&c->list_lock);
    if (exists)
        goto out;
    if (config->EvtDeviceInterfaceMultipleTargetOnPnpNotification) {
        BOOLEAN open = TRUE;
        UNICODE_STRING name = *link;
        config->EvtDeviceInterfaceMultipleTargetOnPnpNotification(dmf_module_client_handle(m), &name, &open);
        if (!open)
            goto out;
    }
    status = target_create(m, link, &t);
    if (!NT_SUCCESS(status))
        goto failed;
    status = count_increment(c, t);
    if (NT_SUCCESS(status))
        status = target_open(m, t);
    if (!NT_SUCCESS(status)) {
        arrival_undo(m, t);
        goto failed;
    }
    rd_start(t);
    status = state_callback(m, t, DeviceInterfaceMultipleTarget_StateType_Open);
    if (!NT_SUCCESS(status)) {
        PK_TRACE(PnpkitTraceInfo, "dmf", "DeviceInterfaceMultipleTarget: the client vetoed the open (%s)",
                 PnpkitStatusName(status));
        arrival_undo(m, t);
        goto out;
    }
    if (automatic(m)) {
        status = DMF_ContinuousRequestTarget_Start(t->child);
        if (!NT_SUCCESS(status)) {
            target_teardown(m, t);
            goto failed;
        }
    }
    pk_lock_acquire(&c->list_lock);
    insert_locked(c, t);
    pk_lock_release(&c->list_lock);
    goto out;

failed:
    PK_TRACE(PnpkitTraceWarning, "dmf", "DeviceInterfaceMultipleTarget: opening a target failed with %s",
             PnpkitStatusName(status));
out:
    mutex_release(&c->arrival_mutex);
}

/* An interface of the class was disabled. PnP worker, PASSIVE_LEVEL. A target closed for a
 * query-remove waits for its RemoveComplete or RemoveCancel instead, unless its reopen failed
 * (its WDFIOTARGET then has no registration left: nothing else will tear it down). */
static void removal(dmf_module *m, PCUNICODE_STRING link)
{
    dimt_context *c = dimt_of(m);
    dimt_target *t;

    pk_lock_acquire(&c->list_lock);
    t = find_locked(c, link, link_hash(link));
    if (t && (!t->closed_for_qr || t->reopen_failed))
        unlink_locked(c, t);
    else
        t = NULL;
    pk_lock_release(&c->list_lock);
    if (t)
        target_teardown(m, t);
}

static NTSTATUS dimt_interface_change(PVOID NotificationStructure, PVOID Context)
{
    PDEVICE_INTERFACE_CHANGE_NOTIFICATION n = NotificationStructure;
    dmf_module *m = Context;

    if (IsEqualGUID(&n->Event, &GUID_DEVICE_INTERFACE_ARRIVAL))
        arrival(m, n->SymbolicLinkName);
    else if (IsEqualGUID(&n->Event, &GUID_DEVICE_INTERFACE_REMOVAL))
        removal(m, n->SymbolicLinkName);
    return STATUS_SUCCESS;
}

/* =============================================================================================
 * WDF Module Callbacks: the WDFIOTARGET removal callbacks (PnP worker, PASSIVE_LEVEL)
 * ============================================================================================= */

static NTSTATUS dimt_query_remove(WDFIOTARGET IoTarget)
{
    dimt_target *t = iotarget_owner(IoTarget);
    dmf_module *m;
    NTSTATUS status;

    if (!PK_ALWAYS(t != NULL))
        return STATUS_SUCCESS;
    if (t->closed_for_qr)
        return STATUS_SUCCESS; /* a duplicate */
    m = t->m;
    pk_object_reference(&t->header);
    status = state_callback(m, t, DeviceInterfaceMultipleTarget_StateType_QueryRemove);
    if (!NT_SUCCESS(status)) {
        pk_object_dereference(&t->header);
        return STATUS_UNSUCCESSFUL;
    }
    target_quiesce(m, t);
    count_decrement(t->c, t);
    t->closed_for_qr = true;
    WdfIoTargetCloseForQueryRemove(IoTarget);
    pk_object_dereference(&t->header);
    return STATUS_SUCCESS;
}

static VOID dimt_remove_canceled(WDFIOTARGET IoTarget)
{
    dimt_target *t = iotarget_owner(IoTarget);
    WDF_IO_TARGET_OPEN_PARAMS open;
    dmf_module *m;
    NTSTATUS status;

    if (!PK_ALWAYS(t != NULL) || !t->closed_for_qr)
        return; /* the removal was vetoed: nothing was stopped */
    m = t->m;
    pk_object_reference(&t->header);
    WDF_IO_TARGET_OPEN_PARAMS_INIT_REOPEN(&open);
    status = WdfIoTargetOpen(IoTarget, &open);
    if (!NT_SUCCESS(status)) {
        PK_TRACE(PnpkitTraceWarning, "dmf", "DeviceInterfaceMultipleTarget: reopen after RemoveCancel failed (%s)",
                 PnpkitStatusName(status));
        goto failed;
    }
    status = count_increment(t->c, t);
    if (!NT_SUCCESS(status)) {
        WdfIoTargetCloseForQueryRemove(IoTarget);
        goto failed;
    }
    t->closed_for_qr = false;
    rd_start(t);
    if (automatic(m))
        (void)DMF_ContinuousRequestTarget_Start(t->child);
    (void)state_callback(m, t, DeviceInterfaceMultipleTarget_StateType_RemoveCancel);
    goto out;

failed:
    pk_lock_acquire(&t->c->list_lock);
    t->reopen_failed = true;
    pk_lock_release(&t->c->list_lock);
out:
    pk_object_dereference(&t->header);
}

static VOID dimt_remove_complete(WDFIOTARGET IoTarget)
{
    dimt_target *t = iotarget_owner(IoTarget);
    dimt_context *c;
    dmf_module *m;
    bool mine;

    if (!PK_ALWAYS(t != NULL))
        return;
    m = t->m;
    c = t->c;
    pk_lock_acquire(&c->list_lock);
    mine = t->in_list;
    if (mine)
        unlink_locked(c, t);
    pk_lock_release(&c->list_lock);
    if (!mine)
        return;
    pk_object_reference(&t->header);
    if (!t->closed_for_qr) {
        /* A surprise removal (or a RemoveComplete after a vetoed query-remove). */
        target_quiesce(m, t);
        count_decrement(c, t);
    }
    (void)state_callback(m, t, DeviceInterfaceMultipleTarget_StateType_RemoveComplete);
    target_teardown(m, t);
    pk_object_dereference(&t->header);
}

/* =============================================================================================
 * DMF Module Callbacks
 * ============================================================================================= */

static NTSTATUS dimt_create(DMFMODULE DmfModule)
{
    dmf_module *m = dmf_module_from_callback(DmfModule);
    dimt_context *c = dimt_of(m);
    DMF_CONFIG_DeviceInterfaceMultipleTarget *config = dimt_config(m);
    const DMF_CONFIG_ContinuousRequestTarget *crt = &config->ContinuousRequestTargetModuleConfig;
    NTSTATUS status;

    if (crt->PurgeAndStartTargetInD0Callbacks || crt->CancelAndResendRequestInD0Callbacks) {
        pk_verifier_report("DMF_DeviceInterfaceMultipleTarget_Create",
                           "ContinuousRequestTargetModuleConfig has a D0 flag set: per-target children are dynamic "
                           "and have no power callbacks");
        return STATUS_INVALID_PARAMETER;
    }
    if (crt->BufferInputSize && !NT_SUCCESS(status = dmf_module_check_pool_type(m, crt->PoolTypeInput, "PoolTypeInput")))
        return status;
    if (crt->BufferOutputSize &&
        !NT_SUCCESS(status = dmf_module_check_pool_type(m, crt->PoolTypeOutput, "PoolTypeOutput")))
        return status;
    if (config->EvtDeviceInterfaceMultipleTargetOnStateChange && config->EvtDeviceInterfaceMultipleTargetOnStateChangeEx)
        pk_verifier_report("DMF_DeviceInterfaceMultipleTarget_Create",
                           "both state callbacks are set: only EvtDeviceInterfaceMultipleTargetOnStateChangeEx is "
                           "called");
    c->m = m;
    KeInitializeEvent(&c->arrival_mutex, SynchronizationEvent, TRUE);
    KeInitializeEvent(&c->count_mutex, SynchronizationEvent, TRUE);
    KeInitializeEvent(&c->no_targets, NotificationEvent, TRUE);
    pk_lock_init(&c->list_lock);
    InitializeListHead(&c->targets);
    InitializeListHead(&c->live);
    return STATUS_SUCCESS;
}

static VOID dimt_destroy(DMFMODULE DmfModule)
{
    dimt_context *c = dimt_of(dmf_module_from_callback(DmfModule));

    pk_free(c->buckets);
    c->buckets = NULL;
    c->bucket_count = 0;
}

static NTSTATUS dimt_notification_register(DMFMODULE DmfModule)
{
    dmf_module *m = dmf_module_from_callback(DmfModule);
    dimt_context *c = dimt_of(m);
    DMF_CONFIG_DeviceInterfaceMultipleTarget *config = dimt_config(m);
    WDFDEVICE device = DMF_ParentDeviceGet(DmfModule);
    PDEVICE_OBJECT device_object = WdfDeviceWdmGetDeviceObject(device);
    NTSTATUS status;

    if (!device_object)
        return STATUS_INVALID_DEVICE_STATE;
    status = IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange,
                                            PNPNOTIFY_DEVICE_INTERFACE_INCLUDE_EXISTING_INTERFACES,
                                            &config->DeviceInterfaceMultipleTargetGuid, device_object->DriverObject,
                                            dimt_interface_change, m, &c->notification_entry);
    if (!NT_SUCCESS(status))
        c->notification_entry = NULL;
    PK_TRACE(PnpkitTraceInfo, "dmf", "DeviceInterfaceMultipleTarget %p: registered for interface arrivals: %s",
             (void *)DmfModule, PnpkitStatusName(status));
    return status;
}

/* Spec 1.4 "Registration": unregister (no callback runs afterwards), tear every target down,
 * and wait for targets a concurrent RemoveComplete is tearing down. The framework then waits
 * for the module to be closed. */
static VOID dimt_notification_unregister(DMFMODULE DmfModule)
{
    dmf_module *m = dmf_module_from_callback(DmfModule);
    dimt_context *c = dimt_of(m);

    /* Also called when the module's deletion starts (before the framework deletes the Targets,
     * their WDFIOTARGETs and children, all parented to the module): idempotent. */
    if (c->notification_entry) {
        IoUnregisterPlugPlayNotificationEx(c->notification_entry);
        c->notification_entry = NULL;
    }
    for (;;) {
        dimt_target *t = NULL;
        pk_lock_acquire(&c->list_lock);
        if (!IsListEmpty(&c->targets)) {
            t = CONTAINING_RECORD(c->targets.Flink, dimt_target, link);
            unlink_locked(c, t);
        }
        pk_lock_release(&c->list_lock);
        if (!t)
            break;
        target_teardown(m, t);
    }
    KeWaitForSingleObject(&c->no_targets, Executive, KernelMode, FALSE, NULL);
}

/* ---- The power child (static modules in Automatic mode, open option PrepareHardware or
 * Create): D0Exit stops every open target's stream, the next D0Entry restarts it. ---- */

/* The targets in the list, each with its rundown entered; the caller leaves them. */
static dimt_target **snapshot(dimt_context *c, ULONG *count)
{
    dimt_target **list;
    ULONG n = 0, i = 0;

    pk_lock_acquire(&c->list_lock);
    for (LIST_ENTRY *le = c->targets.Flink; le != &c->targets; le = le->Flink)
        n++;
    list = n ? pk_alloc(n * sizeof(*list)) : NULL;
    if (list) {
        for (LIST_ENTRY *le = c->targets.Flink; le != &c->targets; le = le->Flink) {
            dimt_target *t = CONTAINING_RECORD(le, dimt_target, link);
            if (rd_acquire(t)) {
                pk_object_reference(&t->header);
                list[i++] = t;
            }
        }
    }
    pk_lock_release(&c->list_lock);
    *count = i;
    return list;
}

static dimt_context *power_parent(DMFMODULE child)
{
    dmf_module *parent = dmf_module_from_callback(DMF_ParentModuleGet(child));
    return parent ? dimt_of(parent) : NULL;
}

static NTSTATUS dimt_power_d0_entry(DMFMODULE DmfModule, ULONG previous_state)
{
    dimt_power_context *p = dmf_module_context(dmf_module_from_callback(DmfModule));
    dimt_context *c = power_parent(DmfModule);
    dimt_target **list;
    ULONG n;

    (void)previous_state;
    if (!c)
        return STATUS_SUCCESS;
    if (!p->powered_once) {
        p->powered_once = true;
        return STATUS_SUCCESS;
    }
    list = snapshot(c, &n);
    for (ULONG i = 0; i < n; i++) {
        (void)DMF_ContinuousRequestTarget_Start(list[i]->child);
        target_leave(list[i]);
    }
    pk_free(list);
    return STATUS_SUCCESS;
}

static NTSTATUS dimt_power_d0_exit(DMFMODULE DmfModule, ULONG target_state)
{
    dimt_context *c = power_parent(DmfModule);
    dimt_target **list;
    ULONG n;

    (void)target_state;
    if (!c)
        return STATUS_SUCCESS;
    list = snapshot(c, &n);
    for (ULONG i = 0; i < n; i++) {
        DMF_ContinuousRequestTarget_StopAndWait(list[i]->child);
        target_leave(list[i]);
    }
    pk_free(list);
    return STATUS_SUCCESS;
}

static const dmf_module_descriptor dimt_power_descriptor = {
    .name = "DeviceInterfaceMultipleTarget.Power",
    .options = DMF_MODULE_OPTIONS_DISPATCH_MAXIMUM,
    .open_option = DMF_MODULE_OPEN_OPTION_OPEN_Create,
    .context_size = sizeof(dimt_power_context),
    .d0_entry = dimt_power_d0_entry,
    .d0_exit = dimt_power_d0_exit,
};

static NTSTATUS dimt_power_create(WDFDEVICE Device, DMF_MODULE_ATTRIBUTES *DmfModuleAttributes,
                                  WDF_OBJECT_ATTRIBUTES *ObjectAttributes, DMFMODULE *DmfModule)
{
    return dmf_module_create(Device, DmfModuleAttributes, ObjectAttributes, &dimt_power_descriptor, DmfModule);
}

static VOID dimt_child_modules_add(DMFMODULE DmfModule, DMF_MODULE_ATTRIBUTES *DmfParentModuleAttributes,
                                   PDMFMODULE_INIT DmfModuleInit)
{
    dmf_module *m = dmf_module_from_callback(DmfModule);
    dimt_context *c = dimt_of(m);
    DMF_MODULE_ATTRIBUTES attributes;

    if (!automatic(m) || DmfParentModuleAttributes->DynamicModule ||
        dimt_config(m)->ModuleOpenOption == DeviceInterfaceMultipleTarget_PnpRegisterWhen_D0Entry)
        return;
    DMF_MODULE_ATTRIBUTES_INIT(&attributes, 0);
    attributes.InstanceCreator = dimt_power_create;
    attributes.PassiveLevel = DmfParentModuleAttributes->PassiveLevel;
    attributes.ClientModuleInstanceName = (PSTR)(uintptr_t)"DeviceInterfaceMultipleTarget.Power";
    DMF_DmfModuleAdd(DmfModuleInit, &attributes, WDF_NO_OBJECT_ATTRIBUTES, &c->power);
}

/* One descriptor per open option; methods check the family. */
#define DIMT_DESCRIPTOR(option)                                                                    \
    {                                                                                              \
        .name = "DeviceInterfaceMultipleTarget", .family = &dimt_descriptor_family,                \
        .options = DMF_MODULE_OPTIONS_DISPATCH_MAXIMUM, .open_option = option,                     \
        .context_size = sizeof(dimt_context), .config_size = sizeof(DMF_CONFIG_DeviceInterfaceMultipleTarget), \
        .create = dimt_create, .child_modules_add = dimt_child_modules_add, .destroy = dimt_destroy, \
        .notification_register = dimt_notification_register,                                      \
        .notification_unregister = dimt_notification_unregister,                                   \
        .delete_begin = dimt_notification_unregister,                                              \
    }

static const dmf_module_descriptor dimt_descriptor_family = DIMT_DESCRIPTOR(DMF_MODULE_OPEN_OPTION_NOTIFY_Create);
static const dmf_module_descriptor dimt_descriptors[3] = {
    DIMT_DESCRIPTOR(DMF_MODULE_OPEN_OPTION_NOTIFY_PrepareHardware),
    DIMT_DESCRIPTOR(DMF_MODULE_OPEN_OPTION_NOTIFY_D0Entry),
    DIMT_DESCRIPTOR(DMF_MODULE_OPEN_OPTION_NOTIFY_Create),
};

/* =============================================================================================
 * Public Calls by Client
 * ============================================================================================= */

NTSTATUS DMF_DeviceInterfaceMultipleTarget_Create(WDFDEVICE Device, DMF_MODULE_ATTRIBUTES *DmfModuleAttributes,
                                                  WDF_OBJECT_ATTRIBUTES *ObjectAttributes, DMFMODULE *DmfModule)
{
    const char *api = "DMF_DeviceInterfaceMultipleTarget_Create";
    const DMF_CONFIG_DeviceInterfaceMultipleTarget *config;
    pk_object_kind kind;
    pk_object *o;

    if (!DmfModuleAttributes || !DmfModuleAttributes->ModuleConfigPointer ||
        DmfModuleAttributes->SizeOfModuleSpecificConfig != sizeof(DMF_CONFIG_DeviceInterfaceMultipleTarget))
        return dmf_module_create(Device, DmfModuleAttributes, ObjectAttributes, &dimt_descriptor_family, DmfModule);
    config = DmfModuleAttributes->ModuleConfigPointer;
    if ((ULONG)config->ModuleOpenOption > DeviceInterfaceMultipleTarget_PnpRegisterWhen_Create) {
        pk_verifier_report(api, "ModuleOpenOption %u is out of range", (unsigned)config->ModuleOpenOption);
        return STATUS_INVALID_PARAMETER;
    }
    /* Each Target is a remote WDFIOTARGET of the device. */
    o = pk_handle_lookup((WDFOBJECT)Device, &kind);
    if (o)
        pk_object_dereference(o);
    if (!o || kind != PK_KIND_DEVICE) {
        pk_verifier_report(api, "Device %p is not a WDFDEVICE", (void *)Device);
        return STATUS_INVALID_PARAMETER;
    }
    return dmf_module_create(Device, DmfModuleAttributes, ObjectAttributes, &dimt_descriptors[config->ModuleOpenOption],
                             DmfModule);
}

#define DIMT_ENTER(api, irql, fail)                                                                \
    dmf_module *m;                                                                                 \
    if (!dmf_method_enter(DmfModule, &dimt_descriptor_family, api, irql, &m))                      \
        return fail

NTSTATUS DMF_DeviceInterfaceMultipleTarget_BufferPut(DMFMODULE DmfModule, DMFIOTARGET Target, VOID *ClientBuffer)
{
    const char *api = "DMF_DeviceInterfaceMultipleTarget_BufferPut";
    DIMT_ENTER(api, DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    dimt_target *t;
    NTSTATUS status;

    if (!ClientBuffer) {
        dmf_method_leave(m);
        return STATUS_INVALID_PARAMETER;
    }
    if (!target_enter(m, Target, &t)) {
        /* The Target is gone: give the buffer back to the pool it came from (a closed pool
         * frees it). */
        DMFMODULE source = dmf_buffer_pool_source_of(ClientBuffer, api);
        if (source)
            DMF_BufferPool_Put(source, ClientBuffer);
        dmf_method_leave(m);
        return STATUS_INVALID_DEVICE_STATE;
    }
    if (!t->stream || dmf_buffer_pool_source_of(ClientBuffer, api) != dmf_crt_output_pool(t->child)) {
        status = STATUS_INVALID_PARAMETER;
    } else {
        DMF_ContinuousRequestTarget_BufferPut(t->child, ClientBuffer);
        status = STATUS_SUCCESS;
    }
    target_leave(t);
    dmf_method_leave(m);
    return status;
}

BOOLEAN PnpkitDeviceInterfaceMultipleTarget_CancelOnTarget(DMFMODULE DmfModule, DMFIOTARGET Target,
                                                           RequestTarget_DmfRequestCancel DmfRequestIdCancel)
{
    DIMT_ENTER("DMF_DeviceInterfaceMultipleTarget_Cancel", DISPATCH_LEVEL, FALSE);
    dimt_target *t;
    BOOLEAN cancelled = FALSE;

    if (target_enter(m, Target, &t)) {
        cancelled = dmf_rt_cancel(t->engine, DmfRequestIdCancel);
        target_leave(t);
    }
    dmf_method_leave(m);
    return cancelled;
}

BOOLEAN PnpkitDeviceInterfaceMultipleTarget_CancelAny(DMFMODULE DmfModule, RequestTarget_DmfRequestCancel DmfRequestIdCancel)
{
    DIMT_ENTER("DMF_DeviceInterfaceMultipleTarget_Cancel", DISPATCH_LEVEL, FALSE);
    dimt_context *c = dimt_of(m);
    BOOLEAN cancelled = FALSE;
    LIST_ENTRY *le;
    uint32_t generation;

    if (!DmfRequestIdCancel) {
        dmf_method_leave(m);
        return FALSE;
    }
    /* Ids are unique process-wide, so the first Target that knows the id is the one. Every live
     * Target whose rundown is active is searched, not only the listed ones: from its Open
     * callback on, a Target takes requests (and their ids) before its arrival lists it (after
     * Open, and after the stream started in Automatic mode). The list lock is dropped around
     * each cancel (it may complete the request inline); a Target leaving the live list
     * meanwhile restarts the walk. */
    pk_lock_acquire(&c->list_lock);
restart:
    generation = c->live_generation;
    for (le = c->live.Flink; le != &c->live; le = le->Flink) {
        dimt_target *t = CONTAINING_RECORD(le, dimt_target, live_link);
        if (!rd_acquire(t))
            continue;
        pk_object_reference(&t->header);
        pk_lock_release(&c->list_lock);
        cancelled = dmf_rt_cancel(t->engine, DmfRequestIdCancel);
        target_leave(t);
        if (cancelled)
            goto done;
        pk_lock_acquire(&c->list_lock);
        if (c->live_generation != generation)
            goto restart;
    }
    pk_lock_release(&c->list_lock);
done:
    dmf_method_leave(m);
    return cancelled;
}

NTSTATUS DMF_DeviceInterfaceMultipleTarget_Get(DMFMODULE DmfModule, DMFIOTARGET Target, WDFIOTARGET *IoTarget)
{
    if (IoTarget)
        *IoTarget = NULL;
    DIMT_ENTER("DMF_DeviceInterfaceMultipleTarget_Get", DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    dimt_target *t;
    NTSTATUS status = STATUS_INVALID_DEVICE_STATE;

    if (!IoTarget) {
        status = STATUS_INVALID_PARAMETER;
    } else if (target_enter(m, Target, &t)) {
        *IoTarget = t->io_target;
        status = STATUS_SUCCESS;
        target_leave(t);
    }
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_DeviceInterfaceMultipleTarget_GuidGet(DMFMODULE DmfModule, GUID *Guid)
{
    DIMT_ENTER("DMF_DeviceInterfaceMultipleTarget_GuidGet", DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    NTSTATUS status = STATUS_INVALID_PARAMETER;

    if (Guid) {
        *Guid = dimt_config(m)->DeviceInterfaceMultipleTargetGuid;
        status = STATUS_SUCCESS;
    }
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_DeviceInterfaceMultipleTarget_ReuseCreate(DMFMODULE DmfModule, DeviceInterfaceMultipleTarget_Target Target,
                                                       DeviceInterfaceMultipleTarget_DmfRequestReuse *DmfRequestIdReuse)
{
    DIMT_ENTER("DMF_DeviceInterfaceMultipleTarget_ReuseCreate", DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    dimt_target *t;
    NTSTATUS status = STATUS_INVALID_DEVICE_STATE;

    if (!DmfRequestIdReuse) {
        status = STATUS_INVALID_PARAMETER;
    } else if (target_enter(m, Target, &t)) {
        status = dmf_rt_reuse_create(t->engine, DmfRequestIdReuse);
        target_leave(t);
    }
    dmf_method_leave(m);
    return status;
}

BOOLEAN DMF_DeviceInterfaceMultipleTarget_ReuseDelete(DMFMODULE DmfModule, DeviceInterfaceMultipleTarget_Target Target,
                                                      DeviceInterfaceMultipleTarget_DmfRequestReuse DmfRequestIdReuse)
{
    DIMT_ENTER("DMF_DeviceInterfaceMultipleTarget_ReuseDelete", DISPATCH_LEVEL, FALSE);
    dimt_target *t = target_lookup(m, Target);
    BOOLEAN deleted = FALSE;

    /* No rundown: allowed while the Target closes. The Target's reference on its child keeps
     * the engine's memory; a closed engine knows no reuse id. */
    if (t) {
        if (t->engine)
            deleted = dmf_rt_reuse_delete(t->engine, DmfRequestIdReuse);
        pk_object_dereference(&t->header);
    }
    dmf_method_leave(m);
    return deleted;
}

NTSTATUS DMF_DeviceInterfaceMultipleTarget_ReuseSend(
    DMFMODULE DmfModule, DeviceInterfaceMultipleTarget_Target Target,
    DeviceInterfaceMultipleTarget_DmfRequestReuse DmfRequestIdReuse, VOID *RequestBuffer, size_t RequestLength,
    VOID *ResponseBuffer, size_t ResponseLength, DeviceInterfaceMultipleTarget_RequestType RequestType,
    ULONG RequestIoctl, ULONG RequestTimeoutMilliseconds,
    EVT_DMF_DeviceInterfaceMultipleTarget_SendCompletion *EvtDeviceInterfaceMultipleTargetSingleAsynchronousRequest,
    VOID *SingleAsynchronousRequestClientContext, DeviceInterfaceMultipleTarget_DmfRequestCancel *DmfRequestIdCancel)
{
    const char *api = "DMF_DeviceInterfaceMultipleTarget_ReuseSend";
    DIMT_ENTER(api, DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    dimt_target *t;
    NTSTATUS status = STATUS_INVALID_DEVICE_STATE;

    if (!DmfRequestIdReuse) {
        status = STATUS_OBJECTID_NOT_FOUND;
    } else if (target_enter(m, Target, &t)) {
        status = dmf_rt_send(t->engine, api, RequestBuffer, RequestLength, ResponseBuffer, ResponseLength, RequestType,
                             RequestIoctl, RequestTimeoutMilliseconds,
                             EvtDeviceInterfaceMultipleTargetSingleAsynchronousRequest,
                             SingleAsynchronousRequestClientContext, DmfRequestIdCancel, DmfRequestIdReuse);
        target_leave(t);
    }
    dmf_method_leave(m);
    return status;
}

static NTSTATUS send_common(DMFMODULE DmfModule, DMFIOTARGET Target, const char *api, VOID *RequestBuffer,
                            size_t RequestLength, VOID *ResponseBuffer, size_t ResponseLength,
                            ContinuousRequestTarget_RequestType RequestType, ULONG RequestIoctl,
                            ULONG RequestTimeoutMilliseconds, EVT_DMF_ContinuousRequestTarget_SendCompletion *callback,
                            VOID *context, RequestTarget_DmfRequestCancel *id)
{
    DIMT_ENTER(api, DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    dimt_target *t;
    NTSTATUS status = STATUS_INVALID_DEVICE_STATE;

    if (target_enter(m, Target, &t)) {
        status = dmf_rt_send(t->engine, api, RequestBuffer, RequestLength, ResponseBuffer, ResponseLength, RequestType,
                             RequestIoctl, RequestTimeoutMilliseconds, callback, context, id, NULL);
        target_leave(t);
    }
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_DeviceInterfaceMultipleTarget_Send(
    DMFMODULE DmfModule, DMFIOTARGET Target, VOID *RequestBuffer, size_t RequestLength, VOID *ResponseBuffer,
    size_t ResponseLength, ContinuousRequestTarget_RequestType RequestType, ULONG RequestIoctl,
    ULONG RequestTimeoutMilliseconds,
    EVT_DMF_ContinuousRequestTarget_SendCompletion *EvtContinuousRequestTargetSingleAsynchronousRequest,
    VOID *SingleAsynchronousRequestClientContext)
{
    return send_common(DmfModule, Target, "DMF_DeviceInterfaceMultipleTarget_Send", RequestBuffer, RequestLength,
                       ResponseBuffer, ResponseLength, RequestType, RequestIoctl, RequestTimeoutMilliseconds,
                       EvtContinuousRequestTargetSingleAsynchronousRequest, SingleAsynchronousRequestClientContext, NULL);
}

NTSTATUS DMF_DeviceInterfaceMultipleTarget_SendEx(
    DMFMODULE DmfModule, DMFIOTARGET Target, VOID *RequestBuffer, size_t RequestLength, VOID *ResponseBuffer,
    size_t ResponseLength, DeviceInterfaceMultipleTarget_RequestType RequestType, ULONG RequestIoctl,
    ULONG RequestTimeoutMilliseconds,
    EVT_DMF_ContinuousRequestTarget_SendCompletion *EvtContinuousRequestTargetSingleAsynchronousRequest,
    VOID *SingleAsynchronousRequestClientContext, RequestTarget_DmfRequestCancel *DmfRequestIdCancel)
{
    return send_common(DmfModule, Target, "DMF_DeviceInterfaceMultipleTarget_SendEx", RequestBuffer, RequestLength,
                       ResponseBuffer, ResponseLength, RequestType, RequestIoctl, RequestTimeoutMilliseconds,
                       EvtContinuousRequestTargetSingleAsynchronousRequest, SingleAsynchronousRequestClientContext,
                       DmfRequestIdCancel);
}

NTSTATUS DMF_DeviceInterfaceMultipleTarget_SendSynchronously(
    DMFMODULE DmfModule, DMFIOTARGET Target, VOID *RequestBuffer, size_t RequestLength, VOID *ResponseBuffer,
    size_t ResponseLength, ContinuousRequestTarget_RequestType RequestType, ULONG RequestIoctl,
    ULONG RequestTimeoutMilliseconds, size_t *BytesWritten)
{
    const char *api = "DMF_DeviceInterfaceMultipleTarget_SendSynchronously";
    if (BytesWritten)
        *BytesWritten = 0;
    DIMT_ENTER(api, DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    dimt_target *t;
    NTSTATUS status = STATUS_INVALID_DEVICE_STATE;

    if (KeGetCurrentIrql() > PASSIVE_LEVEL) {
        status = STATUS_INVALID_DEVICE_REQUEST;
    } else if (target_enter(m, Target, &t)) {
        status = dmf_rt_send_sync(t->engine, api, RequestBuffer, RequestLength, ResponseBuffer, ResponseLength,
                                  RequestType, RequestIoctl, RequestTimeoutMilliseconds, BytesWritten);
        target_leave(t);
    }
    dmf_method_leave(m);
    return status;
}

NTSTATUS DMF_DeviceInterfaceMultipleTarget_StreamStart(DMFMODULE DmfModule, DMFIOTARGET Target)
{
    DIMT_ENTER("DMF_DeviceInterfaceMultipleTarget_StreamStart", DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    dimt_target *t;
    NTSTATUS status = STATUS_INVALID_DEVICE_STATE;

    if (target_enter(m, Target, &t)) {
        status = t->stream ? DMF_ContinuousRequestTarget_Start(t->child) : STATUS_INVALID_DEVICE_REQUEST;
        target_leave(t);
    }
    dmf_method_leave(m);
    return status;
}

VOID DMF_DeviceInterfaceMultipleTarget_StreamStop(DMFMODULE DmfModule, DMFIOTARGET Target)
{
    const char *api = "DMF_DeviceInterfaceMultipleTarget_StreamStop";
    DIMT_ENTER(api, DISPATCH_LEVEL, );
    dimt_target *t;

    if (target_enter(m, Target, &t)) {
        if (!t->stream)
            pk_verifier_report(api, "the module has no stream (ContinuousRequestCount is 0)");
        else if (KeGetCurrentIrql() > PASSIVE_LEVEL)
            DMF_ContinuousRequestTarget_Stop(t->child);
        else
            DMF_ContinuousRequestTarget_StopAndWait(t->child);
        target_leave(t);
    }
    dmf_method_leave(m);
}

NTSTATUS DMF_DeviceInterfaceMultipleTarget_TargetReference(DMFMODULE DmfModule, DeviceInterfaceMultipleTarget_Target Target)
{
    DIMT_ENTER("DMF_DeviceInterfaceMultipleTarget_TargetReference", DISPATCH_LEVEL, STATUS_INVALID_PARAMETER);
    dimt_target *t;
    NTSTATUS status = STATUS_INVALID_DEVICE_STATE;

    if (target_enter(m, Target, &t)) {
        /* Keep the rundown; drop the lookup's object reference (the rundown keeps the Target). */
        __atomic_add_fetch(&t->client_refs, 1, __ATOMIC_RELAXED);
        pk_object_dereference(&t->header);
        status = STATUS_SUCCESS;
    }
    dmf_method_leave(m);
    return status;
}

VOID DMF_DeviceInterfaceMultipleTarget_TargetDereference(DMFMODULE DmfModule, DeviceInterfaceMultipleTarget_Target Target)
{
    const char *api = "DMF_DeviceInterfaceMultipleTarget_TargetDereference";
    DIMT_ENTER(api, DISPATCH_LEVEL, );
    dimt_target *t = target_lookup(m, Target);
    LONG v;

    if (!t) {
        pk_verifier_stop(api, "Target %p is not a live Target of this module", (void *)Target);
        dmf_method_leave(m);
        return;
    }
    v = pk_load_relaxed(&t->client_refs);
    do {
        if (v <= 0) {
            pk_verifier_stop(api, "Target %p: TargetDereference without a matching TargetReference", (void *)Target);
            pk_object_dereference(&t->header);
            dmf_method_leave(m);
            return;
        }
    } while (!pk_cas(&t->client_refs, &v, v - 1));
    rd_release(t);
    pk_object_dereference(&t->header);
    dmf_method_leave(m);
}
