/* P37: registrants come and go (also from inside their callbacks) while devices and their
 * interfaces arrive and leave at random. Invariants: no callback after
 * IoUnregisterPlugPlayNotificationEx returned; a registrant that stays sees arrivals and
 * removals of each interface strictly alternate; every object is gone at the end. */
#include "pk_testdrv.h"

#include <stdlib.h>
#include <string.h>

#define DEVICES 8
#define DEVICE_ROUNDS 3000
#define CHURN_ROUNDS 3000

static NTSTATUS dummy_entry(PDRIVER_OBJECT d, PUNICODE_STRING p) { return STATUS_SUCCESS; }
static PDRIVER_OBJECT registrant;

/* ---- The registrant that stays ---- */
static volatile LONG present[DEVICES];
static volatile LONG violations, stable_events;

static int device_index(PCUNICODE_STRING link)
{
    /* \??\SWD#PK#s<digit>#{...} */
    for (USHORT i = 0; i + 2 < link->Length / 2; i++)
        if (link->Buffer[i] == u'#' && link->Buffer[i + 1] == u's' && link->Buffer[i + 2] >= u'0' &&
            link->Buffer[i + 2] < u'0' + DEVICES)
            return link->Buffer[i + 2] - u'0';
    return -1;
}

static NTSTATUS stable_callback(PVOID notification, PVOID context)
{
    PDEVICE_INTERFACE_CHANGE_NOTIFICATION n = notification;
    int i = device_index(n->SymbolicLinkName);
    if (i < 0)
        return STATUS_SUCCESS;
    LONG want = IsEqualGUID(&n->Event, &GUID_DEVICE_INTERFACE_ARRIVAL) ? 1 : 0;
    if (InterlockedExchange(&present[i], want) == want)
        InterlockedIncrement(&violations); /* a duplicate arrival or a lost one */
    InterlockedIncrement(&stable_events);
    return STATUS_SUCCESS;
}

/* ---- Registrants that churn ---- */
typedef struct churn_reg {
    PVOID entry;
    volatile LONG unregister_returned;
    volatile LONG unregister_inside;
    volatile LONG self_unregistered;
} churn_reg;

static volatile LONG calls_after_unregister;

static NTSTATUS churn_callback(PVOID notification, PVOID context)
{
    churn_reg *r = context;
    if (ReadAcquire(&r->unregister_returned))
        InterlockedIncrement(&calls_after_unregister);
    if (ReadAcquire(&r->unregister_inside) && !InterlockedExchange(&r->self_unregistered, 1))
        IoUnregisterPlugPlayNotificationEx(r->entry);
    return STATUS_SUCCESS;
}

static churn_reg *all_regs[2][CHURN_ROUNDS];

static void *churn_thread(void *arg)
{
    int t = (int)(intptr_t)arg;
    uint32_t seed = 1234u + (uint32_t)t;
    for (int i = 0; i < CHURN_ROUNDS; i++) {
        churn_reg *r = calloc(1, sizeof(*r));
        all_regs[t][i] = r;
        r->unregister_inside = (pk_test_rand(&seed) % 4) == 0;
        ULONG flags = (pk_test_rand(&seed) & 1) ? PNPNOTIFY_DEVICE_INTERFACE_INCLUDE_EXISTING_INTERFACES : 0;
        assert_int_equal(IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange, flags, (PVOID)&PK_TEST_GUID,
                                                        registrant, churn_callback, r, &r->entry),
                         STATUS_SUCCESS);
        if (pk_test_rand(&seed) % 3 == 0)
            KeStallExecutionProcessor(pk_test_rand(&seed) % 200);
        /* Unregister from here unless the callback already did (only one of the two may). */
        if (!InterlockedExchange(&r->self_unregistered, 1)) {
            IoUnregisterPlugPlayNotificationEx(r->entry);
            WriteRelease(&r->unregister_returned, 1);
        }
    }
    return NULL;
}

/* ---- Devices that come and go ---- */
static HSWDEVICE handles[DEVICES];

static VOID on_created(HSWDEVICE h, HRESULT result, PVOID ctx, PCWSTR id) {}

static void *device_thread(void *arg)
{
    uint32_t seed = 99;
    for (int i = 0; i < DEVICE_ROUNDS; i++) {
        int k = (int)(pk_test_rand(&seed) % DEVICES);
        if (handles[k]) {
            SwDeviceClose(handles[k]);
            handles[k] = NULL;
        } else {
            WCHAR name[3] = { u's', (WCHAR)(u'0' + k), 0 };
            SW_DEVICE_CREATE_INFO info = { .cbSize = sizeof(info), .pszInstanceId = name,
                                           .pszzHardwareIds = u"PK\\TESTDEV\0" };
            HSWDEVICE h;
            if (SwDeviceCreate(u"PK", u"HTREE\\ROOT\\0", &info, 0, NULL, on_created, NULL, &h) == S_OK)
                handles[k] = h;
        }
        if (pk_test_rand(&seed) % 4 == 0)
            PnpkitSimWaitIdle();
    }
    for (int k = 0; k < DEVICES; k++)
        if (handles[k]) {
            SwDeviceClose(handles[k]);
            handles[k] = NULL;
        }
    return NULL;
}

static void registrants_churn_while_devices_come_and_go_stress(void **state)
{
    PVOID stable;
    pk_test_threads churn0, churn1, devices;

    assert_int_equal(PnpkitIoCreateDriver(u"registrant", dummy_entry, &registrant), STATUS_SUCCESS);
    assert_int_equal(pk_testdrv_register(), STATUS_SUCCESS);
    assert_int_equal(IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange, 0, (PVOID)&PK_TEST_GUID,
                                                    registrant, stable_callback, NULL, &stable),
                     STATUS_SUCCESS);
    pk_test_threads_start(&devices, 1, device_thread, NULL);
    pk_test_threads_start(&churn0, 1, churn_thread, (void *)0);
    pk_test_threads_start(&churn1, 1, churn_thread, (void *)1);
    pk_test_threads_join(&devices);
    pk_test_threads_join(&churn0);
    pk_test_threads_join(&churn1);
    PnpkitSimWaitIdle();
    assert_int_equal(IoUnregisterPlugPlayNotificationEx(stable), STATUS_SUCCESS);
    assert_int_equal(violations, 0);
    assert_int_equal(calls_after_unregister, 0);
    assert_true(stable_events > 0);
    for (int k = 0; k < DEVICES; k++)
        assert_int_equal(present[k], 0); /* every arrival was followed by its removal */
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < CHURN_ROUNDS; i++)
            free(all_regs[t][i]);
    PnpkitDriverUnregister(u"pktest");
    PnpkitIoDeleteDriver(registrant);
}

PK_TEST_MAIN(
    PK_TEST(registrants_churn_while_devices_come_and_go_stress),
)
