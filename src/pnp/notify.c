/*
 * notify.c — the notification engine: kernel registrations (IoRegisterPlugPlayNotification),
 * user registrations (CM_Register_Notification), and the delivery of interface events,
 * target-device events and custom events.
 *
 * Locking: pnp.notify_lock protects every registration list, each registration's flags
 * (unregistered, running) and each user registration's delivery queue. No lock is held while a
 * callback runs: a delivery takes references on the registrations it will call under the lock,
 * then calls them one by one, skipping any that was unregistered meanwhile.
 *
 * Threads: kernel callbacks run on the PnP worker. User callbacks run on the thread pool, one
 * registration at a time in order (each user registration drains its own queue); for
 * target-device events the worker waits for every user callback before it calls the kernel
 * registrants (bounded by pnp_user_wait_ms).
 *
 * Ordering: interface events are queued to the worker under pnp.iface_lock (the caller holds
 * it), and each carries a sequence number taken under that lock. A registration records the
 * sequence at which it was inserted and receives only later events, plus, with
 * INCLUDE_EXISTING, one replayed ARRIVAL per instance enabled at that moment: each interface is
 * reported once and in order.
 *
 * Who frees what: registrations are reference-counted (the registration itself holds one until
 * unregistered; each delivery in progress holds one). Notification payloads are owned by the
 * pnp_work that carries them and freed after delivery.
 */
#include "pnp/pnp_internal.h"

#include <pthread.h>
#include <string.h>

#define ENTRY_MAGIC 0x50504e4bu /* kernel registration */
#define CMREG_MAGIC 0x434d4e52u /* user registration */

static ULONG pnp_user_wait_ms = 30000;

typedef struct kreg {
    uint32_t magic;
    uint32_t refs;
    LIST_ENTRY link;              /* class list, node->kernel_targets or the profile list */
    LIST_ENTRY all_link;          /* every live kernel registration (handle validation) */
    IO_NOTIFICATION_EVENT_CATEGORY category;
    GUID class_guid;
    pnp_devnode *node;            /* target device (referenced) */
    PFILE_OBJECT file_object;     /* the registrant's own; not referenced */
    PDRIVER_NOTIFICATION_CALLBACK_ROUTINE callback;
    PVOID context;
    PDRIVER_OBJECT driver;        /* referenced while registered */
    uint64_t registered_seq;
    bool unregistered;            /* notify_lock */
    bool running;                 /* notify_lock */
    KEVENT idle;                  /* signaled while not running */
} kreg;

/* What a waiting worker and the delivery share: either may go first (a timed-out wait
 * abandons it), so it is reference-counted and freed by the last one. */
typedef struct cm_answer {
    uint32_t refs;
    KEVENT done;
    DWORD result;
} cm_answer;

static void answer_release(cm_answer *a)
{
    if (a && pk_fetch_sub(&a->refs, 1u) == 1u)
        pk_free(a);
}

typedef struct cm_delivery {
    LIST_ENTRY link;
    CM_NOTIFY_ACTION action;
    DWORD size;
    cm_answer *answer;            /* NULL for fire-and-forget; one reference */
    CM_NOTIFY_EVENT_DATA *data;   /* owned */
} cm_delivery;

typedef struct cmreg {
    uint32_t magic;
    uint32_t refs;
    LIST_ENTRY link;              /* class list, all-classes list, node->user_targets, instance list */
    LIST_ENTRY all_link;
    CM_NOTIFY_FILTER_TYPE type;
    bool all;                     /* all classes / all instances */
    GUID class_guid;
    pnp_devnode *node;            /* DEVICEHANDLE target (referenced) */
    WCHAR instance_id[MAX_DEVICE_ID_LEN];
    PCM_NOTIFY_CALLBACK callback;
    PVOID context;
    uint64_t registered_seq;
    LIST_ENTRY pending;           /* cm_delivery; notify_lock */
    bool draining;                /* a pool item drains `pending`; notify_lock */
    bool unregistered;            /* notify_lock */
    bool running;                 /* notify_lock */
    pthread_t runner;             /* notify_lock, valid while running */
    KEVENT idle;
    WORK_QUEUE_ITEM drain;
} cmreg;

static struct {
    LIST_ENTRY kernel_all, user_all;
    LIST_ENTRY kernel_classes;    /* kreg.link for EventCategoryDeviceInterfaceChange */
    LIST_ENTRY kernel_profiles;
    LIST_ENTRY user_classes;      /* cmreg.link for DEVICEINTERFACE */
    LIST_ENTRY user_instances;    /* cmreg.link for DEVICEINSTANCE */
    bool initialised;
    uint64_t iface_seq;           /* under pnp.iface_lock */
} nt;

static __thread kreg *tls_current_kreg;

static void init_locked(void)
{
    if (nt.initialised)
        return;
    InitializeListHead(&nt.kernel_all);
    InitializeListHead(&nt.user_all);
    InitializeListHead(&nt.kernel_classes);
    InitializeListHead(&nt.kernel_profiles);
    InitializeListHead(&nt.user_classes);
    InitializeListHead(&nt.user_instances);
    nt.initialised = true;
}

/* ---- Reference counting ---- */

static void kreg_release(kreg *k)
{
    if (pk_fetch_sub(&k->refs, 1u) != 1u)
        return;
    if (k->node)
        pnp_node_dereference(k->node);
    k->magic = 0;
    pk_free(k);
    pk_live_add(-1);
}

static void cmreg_release(cmreg *r)
{
    if (pk_fetch_sub(&r->refs, 1u) != 1u)
        return;
    if (r->node)
        pnp_node_dereference(r->node);
    r->magic = 0;
    pk_free(r);
    pk_live_add(-1);
}

/* ---- Delivery records (who received a query) ---- */

struct pnp_delivery_record {
    int count, cap;
    bool user;
    void *items[];
};

static void record_add(pnp_delivery_record **r, void *item, bool user)
{
    if (!*r || (*r)->count == (*r)->cap) {
        int cap = *r ? (*r)->cap * 2 : 8;
        pnp_delivery_record *n = pk_realloc(*r, sizeof(**r) + sizeof(void *) * (size_t)cap);
        if (!n)
            return; /* the registrant will miss its cancel; allocation failure only */
        if (!*r)
            n->count = 0;
        n->cap = cap;
        n->user = user;
        *r = n;
    }
    if (user)
        pk_fetch_add(&((cmreg *)item)->refs, 1u);
    else
        pk_fetch_add(&((kreg *)item)->refs, 1u);
    (*r)->items[(*r)->count++] = item;
}

void pnp_delivery_record_free(pnp_delivery_record *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->count; i++) {
        if (r->user)
            cmreg_release(r->items[i]);
        else
            kreg_release(r->items[i]);
    }
    pk_free(r);
}

/* ---- Calling one kernel registrant ---- */

/* Calls k unless it was unregistered; returns its status (STATUS_SUCCESS when skipped). */
static NTSTATUS call_kreg(kreg *k, PVOID notification, bool *called)
{
    NTSTATUS status;

    pk_lock_acquire(&pnp.notify_lock);
    if (k->unregistered) {
        pk_lock_release(&pnp.notify_lock);
        *called = false;
        return STATUS_SUCCESS;
    }
    k->running = true;
    KeClearEvent(&k->idle);
    pk_lock_release(&pnp.notify_lock);

    tls_current_kreg = k;
    status = k->callback(notification, k->context);
    tls_current_kreg = NULL;

    pk_lock_acquire(&pnp.notify_lock);
    k->running = false;
    pk_lock_release(&pnp.notify_lock);
    KeSetEvent(&k->idle, IO_NO_INCREMENT, FALSE);
    *called = true;
    return status;
}

/* Snapshot of the registrations on a list, each referenced. */
typedef struct snapshot {
    int count;
    void **items;
} snapshot;

static void snapshot_kernel_locked(LIST_ENTRY *list, snapshot *s, bool (*match)(kreg *, const void *), const void *arg)
{
    int n = 0;
    for (PLIST_ENTRY e = list->Flink; e != list; e = e->Flink)
        n++;
    s->items = n ? pk_alloc(sizeof(void *) * (size_t)n) : NULL;
    s->count = 0;
    if (!s->items)
        return;
    for (PLIST_ENTRY e = list->Flink; e != list; e = e->Flink) {
        kreg *k = CONTAINING_RECORD(e, kreg, link);
        if (!k->unregistered && (!match || match(k, arg))) {
            pk_fetch_add(&k->refs, 1u);
            s->items[s->count++] = k;
        }
    }
}

static void snapshot_user_locked(LIST_ENTRY *list, snapshot *s, bool (*match)(cmreg *, const void *), const void *arg)
{
    int n = 0;
    for (PLIST_ENTRY e = list->Flink; e != list; e = e->Flink)
        n++;
    s->items = n ? pk_alloc(sizeof(void *) * (size_t)n) : NULL;
    s->count = 0;
    if (!s->items)
        return;
    for (PLIST_ENTRY e = list->Flink; e != list; e = e->Flink) {
        cmreg *r = CONTAINING_RECORD(e, cmreg, link);
        if (!r->unregistered && (!match || match(r, arg))) {
            pk_fetch_add(&r->refs, 1u);
            s->items[s->count++] = r;
        }
    }
}

/* ---- User deliveries ---- */

static void cm_drain(PVOID context)
{
    cmreg *r = context;

    for (;;) {
        cm_delivery *d;
        DWORD result = ERROR_SUCCESS;

        pk_lock_acquire(&pnp.notify_lock);
        if (IsListEmpty(&r->pending)) {
            r->draining = false;
            pk_lock_release(&pnp.notify_lock);
            cmreg_release(r);
            return;
        }
        d = CONTAINING_RECORD(RemoveHeadList(&r->pending), cm_delivery, link);
        bool skip = r->unregistered;
        if (!skip) {
            r->running = true;
            r->runner = pthread_self();
            KeClearEvent(&r->idle);
        }
        pk_lock_release(&pnp.notify_lock);

        if (!skip) {
            result = r->callback((HCMNOTIFICATION)r, r->context, d->action, d->data, d->size);
            pk_lock_acquire(&pnp.notify_lock);
            r->running = false;
            pk_lock_release(&pnp.notify_lock);
            KeSetEvent(&r->idle, IO_NO_INCREMENT, FALSE);
        }
        if (d->answer) {
            d->answer->result = result;
            KeSetEvent(&d->answer->done, IO_NO_INCREMENT, FALSE);
            answer_release(d->answer);
        }
        pk_free(d->data);
        pk_free(d);
    }
}

/* Queues a delivery to r (data is copied). answer may be NULL (fire and forget); otherwise
 * the delivery takes one reference on it. */
static bool cm_post(cmreg *r, CM_NOTIFY_ACTION action, const CM_NOTIFY_EVENT_DATA *data, DWORD size,
                    cm_answer *answer)
{
    cm_delivery *d = pk_zalloc(sizeof(*d));
    bool start;

    if (!d)
        return false;
    d->data = pk_alloc(size);
    if (!d->data) {
        pk_free(d);
        return false;
    }
    memcpy(d->data, data, size);
    d->action = action;
    d->size = size;
    d->answer = answer;
    pk_lock_acquire(&pnp.notify_lock);
    if (r->unregistered) {
        pk_lock_release(&pnp.notify_lock);
        pk_free(d->data);
        pk_free(d);
        return false; /* the caller still holds every reference of its answer */
    }
    InsertTailList(&r->pending, &d->link);
    start = !r->draining;
    if (start) {
        r->draining = true;
        pk_fetch_add(&r->refs, 1u); /* held by the drain */
    }
    pk_lock_release(&pnp.notify_lock);
    if (start) {
        ExInitializeWorkItem(&r->drain, cm_drain, r);
        pk_work_queue(&r->drain);
    }
    return true;
}

/* Posts to r and waits for the callback, at most pnp_user_wait_ms. Returns the callback's
 * result; no answer in time counts as ERROR_SUCCESS (no veto), and the late answer is dropped. */
static DWORD cm_call_and_wait(cmreg *r, CM_NOTIFY_ACTION action, const CM_NOTIFY_EVENT_DATA *data, DWORD size)
{
    cm_answer *a = pk_zalloc(sizeof(*a));
    DWORD result = ERROR_SUCCESS;
    LARGE_INTEGER timeout;

    if (!a)
        return ERROR_SUCCESS;
    a->refs = 2; /* ours and the delivery's */
    KeInitializeEvent(&a->done, NotificationEvent, FALSE);
    if (!cm_post(r, action, data, size, a)) {
        pk_free(a);
        return ERROR_SUCCESS;
    }
    timeout.QuadPart = -(LONGLONG)pk_load_relaxed(&pnp_user_wait_ms) * 10000;
    if (KeWaitForSingleObject(&a->done, Executive, KernelMode, FALSE, &timeout) == STATUS_SUCCESS)
        result = a->result;
    else
        PK_TRACE(PnpkitTraceWarning, "pnp", "a user-mode registrant did not answer in %u ms: no veto",
                 (unsigned)pnp_user_wait_ms);
    answer_release(a);
    return result;
}

VOID PnpkitSetNotificationTimeout(ULONG Milliseconds) { pk_store_relaxed(&pnp_user_wait_ms, Milliseconds); }

/* =============================================================================================
 * Interface events
 * ============================================================================================= */

typedef struct iface_event {
    pnp_work work;
    GUID class_guid;
    bool arrival;
    uint64_t seq;
    kreg *only;                   /* replay for one kernel registration (referenced) */
    UNICODE_STRING link;          /* kernel form, owned */
} iface_event;

static bool kreg_wants(kreg *k, const void *arg)
{
    const iface_event *ev = arg;
    return IsEqualGUID(&k->class_guid, &ev->class_guid) && k->registered_seq < ev->seq;
}

static bool cmreg_wants(cmreg *r, const void *arg)
{
    const iface_event *ev = arg;
    return (r->all || IsEqualGUID(&r->class_guid, &ev->class_guid)) && r->registered_seq < ev->seq;
}

static void deliver_iface_event(pnp_work *w)
{
    iface_event *ev = CONTAINING_RECORD(w, iface_event, work);
    DEVICE_INTERFACE_CHANGE_NOTIFICATION n;
    snapshot ks = { 0, NULL }, us = { 0, NULL };
    bool called;

    memset(&n, 0, sizeof(n));
    n.Version = 1;
    n.Size = sizeof(n);
    n.Event = ev->arrival ? GUID_DEVICE_INTERFACE_ARRIVAL : GUID_DEVICE_INTERFACE_REMOVAL;
    n.InterfaceClassGuid = ev->class_guid;
    n.SymbolicLinkName = &ev->link;

    if (ev->only) {
        call_kreg(ev->only, &n, &called);
        kreg_release(ev->only);
        goto free_event;
    }

    pk_lock_acquire(&pnp.notify_lock);
    init_locked();
    snapshot_kernel_locked(&nt.kernel_classes, &ks, kreg_wants, ev);
    snapshot_user_locked(&nt.user_classes, &us, cmreg_wants, ev);
    pk_lock_release(&pnp.notify_lock);

    /* User registrants: posted, not waited for. */
    if (us.count) {
        size_t chars = ev->link.Length / sizeof(WCHAR);
        DWORD size = (DWORD)(FIELD_OFFSET(CM_NOTIFY_EVENT_DATA, u.DeviceInterface.SymbolicLink) +
                             (chars + 1) * sizeof(WCHAR));
        CM_NOTIFY_EVENT_DATA *data = pk_zalloc(size);
        if (data) {
            data->FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE;
            data->u.DeviceInterface.ClassGuid = ev->class_guid;
            memcpy(data->u.DeviceInterface.SymbolicLink, ev->link.Buffer, chars * sizeof(WCHAR));
            data->u.DeviceInterface.SymbolicLink[1] = u'\\'; /* user form: \\?\ */
            for (int i = 0; i < us.count; i++)
                cm_post(us.items[i],
                        ev->arrival ? CM_NOTIFY_ACTION_DEVICEINTERFACEARRIVAL : CM_NOTIFY_ACTION_DEVICEINTERFACEREMOVAL,
                        data, size, NULL);
            pk_free(data);
        }
    }
    for (int i = 0; i < us.count; i++)
        cmreg_release(us.items[i]);
    for (int i = 0; i < ks.count; i++) {
        call_kreg(ks.items[i], &n, &called);
        kreg_release(ks.items[i]);
    }
    pk_free(ks.items);
    pk_free(us.items);
free_event:
    RtlFreeUnicodeString(&ev->link);
    pk_free(ev);
}

static iface_event *iface_event_new(const GUID *g, PCUNICODE_STRING link, bool arrival)
{
    iface_event *ev = pk_zalloc(sizeof(*ev));
    if (!ev)
        return NULL;
    ev->link.Buffer = pk_alloc(link->Length + sizeof(WCHAR));
    if (!ev->link.Buffer) {
        pk_free(ev);
        return NULL;
    }
    memcpy(ev->link.Buffer, link->Buffer, link->Length);
    ev->link.Buffer[link->Length / sizeof(WCHAR)] = 0;
    ev->link.Length = link->Length;
    ev->link.MaximumLength = (USHORT)(link->Length + sizeof(WCHAR));
    ev->class_guid = *g;
    ev->arrival = arrival;
    ev->work.fn = deliver_iface_event;
    return ev;
}

void pnp_notify_interface_change_locked(const GUID *class_guid, PCUNICODE_STRING kernel_link, bool arrival)
{
    iface_event *ev = iface_event_new(class_guid, kernel_link, arrival);
    if (!ev)
        return;
    ev->seq = ++nt.iface_seq;
    pnp_worker_queue(&ev->work);
}

/* Called by device_interface.c (under iface_lock) for each enabled instance at registration. */
static void replay_one(void *ctx, const GUID *g, PCUNICODE_STRING link)
{
    kreg *k = ctx;
    iface_event *ev = iface_event_new(g, link, true);
    if (!ev)
        return;
    pk_fetch_add(&k->refs, 1u);
    ev->only = k;
    pnp_worker_queue(&ev->work);
}

/* =============================================================================================
 * Kernel registration
 * ============================================================================================= */

NTSTATUS IoRegisterPlugPlayNotification(IO_NOTIFICATION_EVENT_CATEGORY EventCategory, ULONG EventCategoryFlags,
                                        PVOID EventCategoryData, PDRIVER_OBJECT DriverObject,
                                        PDRIVER_NOTIFICATION_CALLBACK_ROUTINE CallbackRoutine, PVOID Context,
                                        PVOID *NotificationEntry)
{
    kreg *k;
    pnp_devnode *node = NULL;

    if (!pk_irql_ok("IoRegisterPlugPlayNotification", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!CallbackRoutine || !NotificationEntry || !DriverObject)
        return STATUS_INVALID_PARAMETER;
    if (EventCategoryFlags & ~(ULONG)PNPNOTIFY_DEVICE_INTERFACE_INCLUDE_EXISTING_INTERFACES)
        return STATUS_INVALID_PARAMETER;
    switch (EventCategory) {
    case EventCategoryHardwareProfileChange:
        if (EventCategoryData || EventCategoryFlags)
            return STATUS_INVALID_PARAMETER;
        break;
    case EventCategoryDeviceInterfaceChange:
        if (!EventCategoryData)
            return STATUS_INVALID_PARAMETER;
        break;
    case EventCategoryTargetDeviceChange: {
        PFILE_OBJECT fo = EventCategoryData;
        if (!fo || EventCategoryFlags)
            return STATUS_INVALID_PARAMETER;
        PDEVICE_OBJECT base = fo->DeviceObject ? IoGetDeviceAttachmentBaseRef(fo->DeviceObject) : NULL;
        node = base ? pnp_node_from_pdo(base) : NULL;
        if (base)
            ObDereferenceObject(base);
        if (!node)
            return STATUS_INVALID_DEVICE_REQUEST;
        break;
    }
    default:
        return STATUS_NOT_SUPPORTED;
    }

    k = pk_zalloc(sizeof(*k));
    if (!k) {
        if (node)
            pnp_node_dereference(node);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    k->magic = ENTRY_MAGIC;
    k->refs = 2; /* the registration's, and ours until this call returns: a callback may
                  * unregister it while we still queue its replay */
    k->category = EventCategory;
    k->node = node;
    k->file_object = EventCategory == EventCategoryTargetDeviceChange ? EventCategoryData : NULL;
    k->callback = CallbackRoutine;
    k->context = Context;
    k->driver = DriverObject;
    KeInitializeEvent(&k->idle, NotificationEvent, TRUE);
    if (EventCategory == EventCategoryDeviceInterfaceChange)
        k->class_guid = *(const GUID *)EventCategoryData;
    ObReferenceObject(DriverObject);
    pk_live_add(1);
    pnp_ensure_started();

    /* The entry is written before any callback can run: callbacks run on the worker, and the
     * replay is queued only below. */
    *NotificationEntry = k;

    pk_lock_acquire(&pnp.iface_lock);
    pk_lock_acquire(&pnp.notify_lock);
    init_locked();
    k->registered_seq = nt.iface_seq;
    InsertTailList(&nt.kernel_all, &k->all_link);
    switch (EventCategory) {
    case EventCategoryDeviceInterfaceChange:
        InsertTailList(&nt.kernel_classes, &k->link);
        break;
    case EventCategoryTargetDeviceChange:
        InsertTailList(&node->kernel_targets, &k->link);
        break;
    default:
        InsertTailList(&nt.kernel_profiles, &k->link);
        break;
    }
    pk_lock_release(&pnp.notify_lock);
    if (EventCategoryFlags & PNPNOTIFY_DEVICE_INTERFACE_INCLUDE_EXISTING_INTERFACES)
        pnp_interfaces_for_each_enabled_locked(&k->class_guid, replay_one, k);
    pk_lock_release(&pnp.iface_lock);
    kreg_release(k);
    return STATUS_SUCCESS;
}

static NTSTATUS unregister(PVOID NotificationEntry, bool wait)
{
    kreg *k = NotificationEntry;
    bool found = false, running;

    if (!pk_irql_ok("IoUnregisterPlugPlayNotification", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    pk_lock_acquire(&pnp.notify_lock);
    if (nt.initialised)
        for (PLIST_ENTRY e = nt.kernel_all.Flink; e != &nt.kernel_all; e = e->Flink)
            if (CONTAINING_RECORD(e, kreg, all_link) == k) {
                found = true;
                break;
            }
    if (!found) {
        pk_lock_release(&pnp.notify_lock);
        return STATUS_INVALID_PARAMETER;
    }
    k->unregistered = true;
    RemoveEntryList(&k->link);
    RemoveEntryList(&k->all_link);
    running = k->running;
    pk_lock_release(&pnp.notify_lock);

    /* Callbacks run only on the worker: one that is running on another thread than ours is
     * waited for (Ex); our own (we are inside it) is not. */
    if (wait && running && tls_current_kreg != k)
        KeWaitForSingleObject(&k->idle, Executive, KernelMode, FALSE, NULL);
    ObDereferenceObject(k->driver);
    kreg_release(k);
    return STATUS_SUCCESS;
}

NTSTATUS IoUnregisterPlugPlayNotification(PVOID NotificationEntry) { return unregister(NotificationEntry, false); }

NTSTATUS IoUnregisterPlugPlayNotificationEx(PVOID NotificationEntry) { return unregister(NotificationEntry, true); }

/* =============================================================================================
 * Target-device events
 * ============================================================================================= */

static const GUID *kernel_event_guid(pnp_target_event ev)
{
    switch (ev) {
    case PNP_TARGET_QUERY_REMOVE: return &GUID_TARGET_DEVICE_QUERY_REMOVE;
    case PNP_TARGET_REMOVE_CANCELLED: return &GUID_TARGET_DEVICE_REMOVE_CANCELLED;
    default: return &GUID_TARGET_DEVICE_REMOVE_COMPLETE;
    }
}

static CM_NOTIFY_ACTION user_action(pnp_target_event ev)
{
    switch (ev) {
    case PNP_TARGET_QUERY_REMOVE: return CM_NOTIFY_ACTION_DEVICEQUERYREMOVE;
    case PNP_TARGET_REMOVE_CANCELLED: return CM_NOTIFY_ACTION_DEVICEQUERYREMOVEFAILED;
    case PNP_TARGET_REMOVE_PENDING: return CM_NOTIFY_ACTION_DEVICEREMOVEPENDING;
    case PNP_TARGET_REMOVE_COMPLETE: return CM_NOTIFY_ACTION_DEVICEREMOVECOMPLETE;
    default: return CM_NOTIFY_ACTION_DEVICECUSTOMEVENT;
    }
}

static void copy_name(WCHAR *dst, ULONG len, PCWSTR text)
{
    if (!dst || !len)
        return;
    size_t n = PnpkitWcsLen(text);
    if (n >= len)
        n = len - 1;
    memcpy(dst, text, n * sizeof(WCHAR));
    dst[n] = 0;
}

NTSTATUS pnp_notify_target_user(pnp_devnode *n, pnp_target_event ev, const TARGET_DEVICE_CUSTOM_NOTIFICATION *custom,
                                pnp_delivery_record **received, WCHAR *vetoer, ULONG vetoer_len)
{
    snapshot us = { 0, NULL };
    NTSTATUS status = STATUS_SUCCESS;
    CM_NOTIFY_EVENT_DATA *data;
    DWORD size = sizeof(CM_NOTIFY_EVENT_DATA);

    if (ev == PNP_TARGET_CUSTOM) {
        DWORD data_size = (DWORD)(custom->Size - FIELD_OFFSET(TARGET_DEVICE_CUSTOM_NOTIFICATION, CustomDataBuffer));
        size = (DWORD)FIELD_OFFSET(CM_NOTIFY_EVENT_DATA, u.DeviceHandle.Data) + (data_size ? data_size : 1);
        data = pk_zalloc(size);
        if (!data)
            return STATUS_INSUFFICIENT_RESOURCES;
        data->u.DeviceHandle.EventGuid = custom->Event;
        data->u.DeviceHandle.NameOffset = custom->NameBufferOffset;
        data->u.DeviceHandle.DataSize = data_size;
        memcpy(data->u.DeviceHandle.Data, custom->CustomDataBuffer, data_size);
    } else {
        data = pk_zalloc(size);
        if (!data)
            return STATUS_INSUFFICIENT_RESOURCES;
    }
    data->FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEHANDLE;

    pk_lock_acquire(&pnp.notify_lock);
    snapshot_user_locked(&n->user_targets, &us, NULL, NULL);
    pk_lock_release(&pnp.notify_lock);

    for (int i = 0; i < us.count; i++) {
        cmreg *r = us.items[i];
        if (NT_SUCCESS(status)) {
            if (received && ev == PNP_TARGET_QUERY_REMOVE)
                record_add(received, r, true);
            DWORD result = cm_call_and_wait(r, user_action(ev), data, size);
            if (ev == PNP_TARGET_QUERY_REMOVE && result == ERROR_CANCELLED) {
                status = STATUS_UNSUCCESSFUL;
                copy_name(vetoer, vetoer_len, u"application");
            }
        }
        cmreg_release(r);
    }
    pk_free(us.items);
    pk_free(data);
    return status;
}

NTSTATUS pnp_notify_target_kernel(pnp_devnode *n, pnp_target_event ev, const TARGET_DEVICE_CUSTOM_NOTIFICATION *custom,
                                  pnp_delivery_record **received, WCHAR *vetoer, ULONG vetoer_len)
{
    snapshot ks = { 0, NULL };
    NTSTATUS status = STATUS_SUCCESS;
    TARGET_DEVICE_CUSTOM_NOTIFICATION *copy = NULL;
    TARGET_DEVICE_REMOVAL_NOTIFICATION removal;

    if (ev == PNP_TARGET_REMOVE_PENDING)
        return STATUS_SUCCESS; /* a user-mode action only */
    if (ev == PNP_TARGET_CUSTOM) {
        copy = pk_alloc(custom->Size);
        if (!copy)
            return STATUS_INSUFFICIENT_RESOURCES;
    }
    pk_lock_acquire(&pnp.notify_lock);
    snapshot_kernel_locked(&n->kernel_targets, &ks, NULL, NULL);
    pk_lock_release(&pnp.notify_lock);

    for (int i = 0; i < ks.count; i++) {
        kreg *k = ks.items[i];
        if (NT_SUCCESS(status)) {
            PVOID notification;
            bool called;
            if (copy) {
                memcpy(copy, custom, custom->Size);
                copy->FileObject = k->file_object;
                notification = copy;
            } else {
                memset(&removal, 0, sizeof(removal));
                removal.Version = 1;
                removal.Size = sizeof(removal);
                removal.Event = *kernel_event_guid(ev);
                removal.FileObject = k->file_object;
                notification = &removal;
            }
            if (received && ev == PNP_TARGET_QUERY_REMOVE)
                record_add(received, k, false);
            NTSTATUS st = call_kreg(k, notification, &called);
            if (ev == PNP_TARGET_QUERY_REMOVE && called && !NT_SUCCESS(st)) {
                status = st;
                copy_name(vetoer, vetoer_len, u"driver");
                if (vetoer && k->driver && k->driver->DriverName.Buffer) {
                    size_t len = k->driver->DriverName.Length / sizeof(WCHAR);
                    if (len >= vetoer_len)
                        len = vetoer_len - 1;
                    memcpy(vetoer, k->driver->DriverName.Buffer, len * sizeof(WCHAR));
                    vetoer[len] = 0;
                }
            }
        }
        kreg_release(k);
    }
    pk_free(ks.items);
    pk_free(copy);
    return status;
}

void pnp_notify_target_cancelled(pnp_devnode *n, pnp_delivery_record *user_received,
                                 pnp_delivery_record *kernel_received)
{
    if (user_received) {
        CM_NOTIFY_EVENT_DATA data;
        memset(&data, 0, sizeof(data));
        data.FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEHANDLE;
        for (int i = 0; i < user_received->count; i++)
            cm_call_and_wait(user_received->items[i], CM_NOTIFY_ACTION_DEVICEQUERYREMOVEFAILED, &data, sizeof(data));
        pnp_delivery_record_free(user_received);
    }
    if (kernel_received) {
        for (int i = 0; i < kernel_received->count; i++) {
            kreg *k = kernel_received->items[i];
            TARGET_DEVICE_REMOVAL_NOTIFICATION r;
            bool called;
            memset(&r, 0, sizeof(r));
            r.Version = 1;
            r.Size = sizeof(r);
            r.Event = GUID_TARGET_DEVICE_REMOVE_CANCELLED;
            r.FileObject = k->file_object;
            call_kreg(k, &r, &called);
        }
        pnp_delivery_record_free(kernel_received);
    }
}

/* =============================================================================================
 * User registration
 * ============================================================================================= */

CONFIGRET CM_Register_Notification(PCM_NOTIFY_FILTER pFilter, PVOID pContext, PCM_NOTIFY_CALLBACK pCallback,
                                   PHCMNOTIFICATION pNotifyContext)
{
    cmreg *r;
    pnp_devnode *node = NULL;

    if (!pNotifyContext)
        return CR_FAILURE;
    if (!pFilter || !pCallback || pFilter->cbSize != sizeof(CM_NOTIFY_FILTER))
        return CR_INVALID_DATA;
    switch (pFilter->FilterType) {
    case CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE: {
        static const GUID zero;
        if (pFilter->Flags & ~(DWORD)CM_NOTIFY_FILTER_FLAG_ALL_INTERFACE_CLASSES)
            return CR_INVALID_DATA;
        if ((pFilter->Flags & CM_NOTIFY_FILTER_FLAG_ALL_INTERFACE_CLASSES) &&
            !IsEqualGUID(&pFilter->u.DeviceInterface.ClassGuid, &zero))
            return CR_INVALID_DATA;
        break;
    }
    case CM_NOTIFY_FILTER_TYPE_DEVICEHANDLE:
        if (pFilter->Flags)
            return CR_INVALID_DATA;
        node = pnp_node_from_handle(pFilter->u.DeviceHandle.hTarget);
        if (!node)
            return CR_INVALID_DATA;
        break;
    case CM_NOTIFY_FILTER_TYPE_DEVICEINSTANCE:
        if (pFilter->Flags & ~(DWORD)CM_NOTIFY_FILTER_FLAG_ALL_DEVICE_INSTANCES)
            return CR_INVALID_DATA;
        if (!(pFilter->Flags & CM_NOTIFY_FILTER_FLAG_ALL_DEVICE_INSTANCES) == !pFilter->u.DeviceInstance.InstanceId[0])
            return CR_INVALID_DATA;
        break;
    default:
        return CR_INVALID_DATA;
    }

    r = pk_zalloc(sizeof(*r));
    if (!r) {
        if (node)
            pnp_node_dereference(node);
        return CR_OUT_OF_MEMORY;
    }
    r->magic = CMREG_MAGIC;
    r->refs = 1;
    r->type = pFilter->FilterType;
    r->all = (pFilter->Flags & (CM_NOTIFY_FILTER_FLAG_ALL_INTERFACE_CLASSES | CM_NOTIFY_FILTER_FLAG_ALL_DEVICE_INSTANCES)) != 0;
    r->node = node;
    r->callback = pCallback;
    r->context = pContext;
    InitializeListHead(&r->pending);
    KeInitializeEvent(&r->idle, NotificationEvent, TRUE);
    if (r->type == CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE)
        r->class_guid = pFilter->u.DeviceInterface.ClassGuid;
    if (r->type == CM_NOTIFY_FILTER_TYPE_DEVICEINSTANCE)
        memcpy(r->instance_id, pFilter->u.DeviceInstance.InstanceId, sizeof(r->instance_id));
    pk_live_add(1);
    *pNotifyContext = (HCMNOTIFICATION)r;

    pk_lock_acquire(&pnp.iface_lock);
    pk_lock_acquire(&pnp.notify_lock);
    init_locked();
    r->registered_seq = nt.iface_seq;
    InsertTailList(&nt.user_all, &r->all_link);
    switch (r->type) {
    case CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE:
        InsertTailList(&nt.user_classes, &r->link);
        break;
    case CM_NOTIFY_FILTER_TYPE_DEVICEHANDLE:
        InsertTailList(&node->user_targets, &r->link);
        break;
    default:
        InsertTailList(&nt.user_instances, &r->link);
        break;
    }
    pk_lock_release(&pnp.notify_lock);
    pk_lock_release(&pnp.iface_lock);
    return CR_SUCCESS;
}

CONFIGRET CM_Unregister_Notification(HCMNOTIFICATION NotifyContext)
{
    cmreg *r = (cmreg *)NotifyContext;
    bool found = false;

    pk_lock_acquire(&pnp.notify_lock);
    if (nt.initialised)
        for (PLIST_ENTRY e = nt.user_all.Flink; e != &nt.user_all; e = e->Flink)
            if (CONTAINING_RECORD(e, cmreg, all_link) == r) {
                found = true;
                break;
            }
    if (!found) {
        pk_lock_release(&pnp.notify_lock);
        return CR_INVALID_DATA;
    }
    if (r->running && pthread_equal(r->runner, pthread_self())) {
        pk_lock_release(&pnp.notify_lock);
        return CR_FAILURE; /* from its own callback: the client must defer this call */
    }
    r->unregistered = true;
    RemoveEntryList(&r->link);
    RemoveEntryList(&r->all_link);
    pk_lock_release(&pnp.notify_lock);
    /* Wait for a running callback; later deliveries see `unregistered` and are skipped. */
    KeWaitForSingleObject(&r->idle, Executive, KernelMode, FALSE, NULL);
    cmreg_release(r);
    return CR_SUCCESS;
}

/* ---- Device-instance events (user registrants; posted, not waited for) ---- */

static bool instance_wants(cmreg *r, const void *arg)
{
    const pnp_devnode *n = arg;
    size_t len = PnpkitWcsLen(r->instance_id);
    if (r->all)
        return true;
    if (len != n->instance_id_len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (RtlUpcaseUnicodeChar(r->instance_id[i]) != RtlUpcaseUnicodeChar(n->instance_id[i]))
            return false;
    return true;
}

void pnp_notify_instance_event(pnp_devnode *n, CM_NOTIFY_ACTION action)
{
    snapshot us = { 0, NULL };
    DWORD size = (DWORD)(FIELD_OFFSET(CM_NOTIFY_EVENT_DATA, u.DeviceInstance.InstanceId) +
                         (n->instance_id_len + 1u) * sizeof(WCHAR));
    CM_NOTIFY_EVENT_DATA *data;

    pk_lock_acquire(&pnp.notify_lock);
    init_locked();
    snapshot_user_locked(&nt.user_instances, &us, instance_wants, n);
    pk_lock_release(&pnp.notify_lock);
    if (!us.count) {
        pk_free(us.items);
        return;
    }
    data = pk_zalloc(size);
    if (data) {
        data->FilterType = CM_NOTIFY_FILTER_TYPE_DEVICEINSTANCE;
        memcpy(data->u.DeviceInstance.InstanceId, n->instance_id, n->instance_id_len * sizeof(WCHAR));
        for (int i = 0; i < us.count; i++)
            cm_post(us.items[i], action, data, size, NULL);
    }
    for (int i = 0; i < us.count; i++)
        cmreg_release(us.items[i]);
    pk_free(us.items);
    pk_free(data);
}

bool pnp_notify_node_has_registrations(pnp_devnode *n)
{
    bool any;
    pk_lock_acquire(&pnp.notify_lock);
    any = !IsListEmpty(&n->kernel_targets) || !IsListEmpty(&n->user_targets);
    pk_lock_release(&pnp.notify_lock);
    return any;
}

void pnp_notify_shutdown(void)
{
    /* Registrations left at shutdown are the registrants' leaks: they stay (and are counted by
     * PnpkitLiveObjectCount). */
}
