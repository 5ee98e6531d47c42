/*
 * swdevice.c — SwDeviceCreate / SwDeviceClose: software devices created by code.
 *
 * A pnp_swdevice is the HSWDEVICE. It holds a reference on its node. The create callback runs
 * once on the thread pool after the PnP worker has tried to start the device; sw.lock guards
 * the flags that make SwDeviceClose and the callback exclusive: after SwDeviceClose returns the
 * callback will not run, and a callback running on another thread has finished. The handle's
 * memory goes when both the creator's handle (SwDeviceClose) and the pending callback are done
 * (refs).
 */
#include "pnp/pnp_internal.h"

#include <pthread.h>
#include <string.h>

#define SW_MAGIC 0x53574456u

struct pnp_swdevice {
    uint32_t magic;
    uint32_t refs;               /* the handle's and the pending callback's */
    pk_lock lock;                /* closed, callback_state, runner */
    bool closed;
    int callback_state;          /* 0 not yet, 1 running, 2 done or skipped */
    pthread_t runner;
    KEVENT callback_idle;        /* set when no callback is running */
    pnp_devnode *node;
    PSW_DEVICE_CREATE_CALLBACK callback;
    PVOID context;
    HRESULT result;
    pnp_work start_work;
    WORK_QUEUE_ITEM callback_work;
    LIST_ENTRY all_link;
};

static pk_lock handles_lock = PK_LOCK_INIT;
static LIST_ENTRY handles = { &handles, &handles };

static void sw_release(pnp_swdevice *sw)
{
    if (pk_fetch_sub(&sw->refs, 1u) != 1u)
        return;
    pnp_node_dereference(sw->node);
    sw->magic = 0;
    pk_free(sw);
    pk_live_add(-1);
}

static void run_callback(PVOID context)
{
    pnp_swdevice *sw = context;
    bool run;

    pk_lock_acquire(&sw->lock);
    run = !sw->closed && sw->callback_state == 0;
    sw->callback_state = run ? 1 : 2;
    if (run) {
        sw->runner = pthread_self();
        KeClearEvent(&sw->callback_idle);
    }
    pk_lock_release(&sw->lock);
    if (run) {
        sw->callback((HSWDEVICE)sw, sw->result, sw->context, sw->node->instance_id);
        pk_lock_acquire(&sw->lock);
        sw->callback_state = 2;
        pk_lock_release(&sw->lock);
        KeSetEvent(&sw->callback_idle, IO_NO_INCREMENT, FALSE);
    }
    sw_release(sw);
}

static void start_fn(pnp_work *w)
{
    pnp_swdevice *sw = CONTAINING_RECORD(w, pnp_swdevice, start_work);

    pnp_start_node(sw->node);
    sw->result = S_OK; /* the device was enumerated; a start failure shows in its problem code */
    ExInitializeWorkItem(&sw->callback_work, run_callback, sw);
    pk_work_queue(&sw->callback_work);
}

static bool valid_name(PCWSTR s, size_t max)
{
    size_t n = PnpkitWcsLen(s);
    if (!s || n == 0 || n >= max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == u'\\' || s[i] < 0x20)
            return false;
    return true;
}

HRESULT SwDeviceCreate(PCWSTR pszEnumeratorName, PCWSTR pszParentDeviceInstance,
                       const SW_DEVICE_CREATE_INFO *pCreateInfo, ULONG cPropertyCount, const DEVPROPERTY *pProperties,
                       PSW_DEVICE_CREATE_CALLBACK pCallback, PVOID pContext, PHSWDEVICE phSwDevice)
{
    WCHAR id[MAX_DEVICE_ID_LEN];
    size_t elen, ilen;
    pnp_devnode *parent, *node;
    pnp_swdevice *sw;
    NTSTATUS status;

    if (!pk_irql_ok("SwDeviceCreate", PASSIVE_LEVEL))
        return E_UNEXPECTED;
    if (!pCreateInfo || !pCallback || !phSwDevice || !pszParentDeviceInstance ||
        pCreateInfo->cbSize != sizeof(SW_DEVICE_CREATE_INFO) || !valid_name(pszEnumeratorName, MAX_DEVICE_ID_LEN) ||
        !valid_name(pCreateInfo->pszInstanceId, MAX_DEVICE_ID_LEN))
        return E_INVALIDARG;
    if (cPropertyCount || pProperties)
        return E_NOTIMPL;
    elen = PnpkitWcsLen(pszEnumeratorName);
    ilen = PnpkitWcsLen(pCreateInfo->pszInstanceId);
    if (4 + elen + 1 + ilen >= MAX_DEVICE_ID_LEN)
        return E_INVALIDARG;
    memcpy(id, u"SWD\\", 4 * sizeof(WCHAR));
    memcpy(id + 4, pszEnumeratorName, elen * sizeof(WCHAR));
    id[4 + elen] = u'\\';
    memcpy(id + 5 + elen, pCreateInfo->pszInstanceId, ilen * sizeof(WCHAR));
    id[5 + elen + ilen] = 0;

    parent = pnp_node_from_instance_id(pszParentDeviceInstance, PnpkitWcsLen(pszParentDeviceInstance));
    if (!parent)
        return HRESULT_FROM_WIN32(ERROR_NO_SUCH_DEVICE);
    sw = pk_zalloc(sizeof(*sw));
    if (!sw) {
        pnp_node_dereference(parent);
        return E_OUTOFMEMORY;
    }
    status = pnp_node_create(parent, id, pCreateInfo->pszzHardwareIds, pCreateInfo->pszzCompatibleIds, &node);
    pnp_node_dereference(parent);
    if (!NT_SUCCESS(status)) {
        pk_free(sw);
        return status == STATUS_OBJECT_NAME_COLLISION ? HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS) : E_OUTOFMEMORY;
    }
    status = pnp_create_pdo(node);
    if (!NT_SUCCESS(status)) {
        pnp_node_set_state(node, PNP_NODE_DELETED);
        pnp_node_unlink(node);
        pnp_node_dereference(node);
        pk_free(sw);
        return E_OUTOFMEMORY;
    }
    sw->magic = SW_MAGIC;
    sw->refs = 2; /* the handle, and the callback to come */
    pk_lock_init(&sw->lock);
    KeInitializeEvent(&sw->callback_idle, NotificationEvent, TRUE);
    sw->node = node;
    node->software = true;
    node->disableable = true;
    sw->callback = pCallback;
    sw->context = pContext;
    sw->start_work.fn = start_fn;
    pk_live_add(1);
    pk_lock_acquire(&handles_lock);
    InsertTailList(&handles, &sw->all_link);
    pk_lock_release(&handles_lock);
    *phSwDevice = (HSWDEVICE)sw;
    pnp_worker_queue(&sw->start_work);
    return S_OK;
}

VOID SwDeviceClose(HSWDEVICE hSwDevice)
{
    pnp_swdevice *sw = (pnp_swdevice *)hSwDevice;
    bool found = false, wait;

    if (!pk_irql_ok("SwDeviceClose", PASSIVE_LEVEL))
        return;
    pk_lock_acquire(&handles_lock);
    for (PLIST_ENTRY e = handles.Flink; e != &handles; e = e->Flink)
        if (CONTAINING_RECORD(e, pnp_swdevice, all_link) == sw) {
            found = true;
            RemoveEntryList(&sw->all_link);
            break;
        }
    pk_lock_release(&handles_lock);
    if (!found) {
        pk_verifier_report("SwDeviceClose", "%p is not an open HSWDEVICE", (void *)hSwDevice);
        return;
    }
    pk_lock_acquire(&sw->lock);
    sw->closed = true;
    wait = sw->callback_state == 1 && !pthread_equal(sw->runner, pthread_self());
    pk_lock_release(&sw->lock);
    if (wait)
        KeWaitForSingleObject(&sw->callback_idle, Executive, KernelMode, FALSE, NULL);
    /* Unplug: the bus no longer reports the device, so PnP surprise-removes it. */
    pnp_request_surprise_removal(sw->node);
    sw_release(sw);
}
