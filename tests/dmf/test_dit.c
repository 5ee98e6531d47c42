/* DMF_DeviceInterfaceTarget: one target at a time on the DeviceInterfaceMultipleTarget
 * machinery, its state sequences without a Target argument, methods on the open target, and
 * (pnpkit) custom events of the target's device. The sensors and the host come from
 * dimt_testdev.h. */
#include "dimt_testdev.h"

DEFINE_GUID(DIT_EVENT_GUID, 0x7d1e2f30, 0x4a5b, 0x4c6d, 0x8e, 0x9f, 0x10, 0x21, 0x32, 0x43, 0x54, 0x65);

#define DIT_MAX 32
static struct {
    volatile LONG n;
    DeviceInterfaceTarget_StateType states[DIT_MAX];
    DMFMODULE modules[DIT_MAX];
    NTSTATUS veto_open;
    volatile LONG events;
    GUID event_guid;
    unsigned char event_data[16];
    ULONG event_size;
    LONG event_offset;
} dit;

static NTSTATUS dit_state(DMFMODULE m, DeviceInterfaceTarget_StateType state)
{
    LONG i = __atomic_fetch_add(&dit.n, 1, __ATOMIC_SEQ_CST);
    if (i < DIT_MAX) {
        dit.states[i] = state;
        dit.modules[i] = m;
    }
    dimt_changed();
    return state == DeviceInterfaceTarget_StateType_Open ? dit.veto_open : STATUS_SUCCESS;
}

static VOID dit_event(DMFMODULE m, const GUID *guid, VOID *data, ULONG size, LONG offset)
{
    dit.event_guid = *guid;
    dit.event_size = size;
    dit.event_offset = offset;
    memcpy(dit.event_data, data, size < sizeof(dit.event_data) ? size : sizeof(dit.event_data));
    __atomic_add_fetch(&dit.events, 1, __ATOMIC_SEQ_CST);
    dimt_changed();
}

static DMFMODULE dit_create(bool stream)
{
    DMF_CONFIG_DeviceInterfaceTarget c;
    DMF_MODULE_ATTRIBUTES a;
    DMFMODULE m = NULL;

    memset(&dit, 0, sizeof(dit));
    DMF_CONFIG_DeviceInterfaceTarget_AND_ATTRIBUTES_INIT(&c, &a);
    c.DeviceInterfaceTargetGuid = DIMT_GUID;
    c.EvtDeviceInterfaceTargetOnStateChangeEx = dit_state;
    c.EvtDeviceInterfaceTargetOnCustomEvent = dit_event;
    if (stream) {
        DMF_CONFIG_ContinuousRequestTarget *s = &c.ContinuousRequestTargetModuleConfig;
        s->ContinuousRequestCount = 2;
        s->RequestType = ContinuousRequestTarget_RequestType_Ioctl;
        s->ContinuousRequestTargetIoctl = DS_IOCTL_HOLD;
        s->BufferCountOutput = 4;
        s->BufferOutputSize = 16;
        s->EvtContinuousRequestTargetBufferOutput = dimt_on_output;
        s->ContinuousRequestTargetMode = ContinuousRequestTarget_Mode_Automatic;
    }
    assert_int_equal(DMF_DeviceInterfaceTarget_Create(dimt_host, &a, WDF_NO_OBJECT_ATTRIBUTES, &m), STATUS_SUCCESS);
    PnpkitSimWaitIdle();
    return m;
}

static NTSTATUS echo(DMFMODULE m)
{
    unsigned char in[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, out[8] = { 0 };
    size_t written = 0;
    NTSTATUS status = DMF_DeviceInterfaceTarget_SendSynchronously(m, in, 8, out, 8,
                                                                  ContinuousRequestTarget_RequestType_Ioctl,
                                                                  DS_IOCTL_ECHO, 0, &written);
    if (NT_SUCCESS(status)) {
        assert_int_equal(written, 8);
        assert_int_equal(out[0], 1 ^ 0x5A);
    }
    return status;
}

static void dit_opens_the_first_interface_and_ignores_later_arrivals(void **state)
{
    DMFMODULE m;
    WDFIOTARGET io;
    GUID g;

    dimt_begin();
    dimt_host_start(false);
    ds_sensor *s0 = ds_create(0, NULL);
    ds_create(1, NULL);
    m = dit_create(false);
    assert_int_equal(dit.n, 1);
    assert_int_equal(dit.states[0], DeviceInterfaceTarget_StateType_Open);
    assert_ptr_equal(dit.modules[0], m); /* callbacks carry the module the client created */
    assert_int_equal(dimt_load(&s0->creates) + dimt_load(&ds_sensors[1].creates), 1);
    assert_int_equal(echo(m), STATUS_SUCCESS);
    assert_int_equal(DMF_DeviceInterfaceTarget_Get(m, &io), STATUS_SUCCESS);
    assert_non_null(io);
    assert_int_equal(DMF_DeviceInterfaceTarget_GuidGet(m, &g), STATUS_SUCCESS);
    assert_true(IsEqualGUID(&g, &DIMT_GUID));
    ds_create(2, NULL); /* a third interface while one is open: ignored */
    assert_int_equal(dit.n, 1);
    assert_int_equal(dimt_load(&ds_sensors[2].creates), 0);
    WdfObjectDelete(m); /* the open target sees Close before the delete returns */
    assert_int_equal(dit.n, 2);
    assert_int_equal(dit.states[1], DeviceInterfaceTarget_StateType_Close);
    dimt_finish();
}

static void dit_orderly_removal_then_a_new_arrival_opens_again(void **state)
{
    DMFMODULE m;
    WDFIOTARGET io = (WDFIOTARGET)1;

    dimt_begin();
    dimt_host_start(false);
    ds_sensor *s0 = ds_create(0, NULL);
    m = dit_create(false);
    assert_int_equal(dit.n, 1);
    assert_int_equal(ds_query_and_remove(s0), CR_SUCCESS);
    DIMT_WAIT(dimt_load(&dit.n) == 3);
    assert_int_equal(dit.states[1], DeviceInterfaceTarget_StateType_QueryRemove);
    assert_int_equal(dit.states[2], DeviceInterfaceTarget_StateType_RemoveComplete);
    /* No target: every method fails cleanly. */
    assert_int_equal(echo(m), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(DMF_DeviceInterfaceTarget_Get(m, &io), STATUS_INVALID_DEVICE_STATE);
    assert_null(io);
    assert_false(DMF_DeviceInterfaceTarget_Cancel(m, (RequestTarget_DmfRequestCancel)(uintptr_t)0x100));
    assert_int_equal(DMF_DeviceInterfaceTarget_StreamStart(m), STATUS_INVALID_DEVICE_STATE);
    /* The next arrival opens. */
    ds_create(1, NULL);
    DIMT_WAIT(dimt_load(&dit.n) == 4);
    assert_int_equal(dit.states[3], DeviceInterfaceTarget_StateType_Open);
    assert_int_equal(echo(m), STATUS_SUCCESS);
    dimt_delete(m);
    dimt_finish();
}

static void dit_vetoed_open_leaves_room_for_the_next_arrival(void **state)
{
    DMFMODULE m;

    dimt_begin();
    dimt_host_start(false);
    memset(&dit, 0, sizeof(dit));
    ds_create(0, NULL);
    {
        DMF_CONFIG_DeviceInterfaceTarget c;
        DMF_MODULE_ATTRIBUTES a;
        DMF_CONFIG_DeviceInterfaceTarget_AND_ATTRIBUTES_INIT(&c, &a);
        c.DeviceInterfaceTargetGuid = DIMT_GUID;
        c.EvtDeviceInterfaceTargetOnStateChangeEx = dit_state;
        dit.veto_open = STATUS_DEVICE_BUSY;
        assert_int_equal(DMF_DeviceInterfaceTarget_Create(dimt_host, &a, WDF_NO_OBJECT_ATTRIBUTES, &m), STATUS_SUCCESS);
        PnpkitSimWaitIdle();
    }
    assert_int_equal(dit.n, 1); /* Open, vetoed: nothing more */
    assert_int_equal(echo(m), STATUS_INVALID_DEVICE_STATE);
    dit.veto_open = STATUS_SUCCESS;
    ds_create(1, NULL);
    DIMT_WAIT(dimt_load(&dit.n) == 2);
    assert_int_equal(dit.states[1], DeviceInterfaceTarget_StateType_Open);
    assert_int_equal(echo(m), STATUS_SUCCESS);
    dimt_delete(m);
    dimt_finish();
}

static void dit_delivers_the_custom_events_of_its_target_device(void **state)
{
    BYTE data[6] = { 'r', 'e', 'a', 'd', 'y', '!' };
    DMFMODULE m;

    dimt_begin();
    dimt_host_start(false);
    ds_sensor *s0 = ds_create(0, NULL);
    m = dit_create(false);
    assert_int_equal(WdfDevicePostEvent(s0->device, &DIT_EVENT_GUID, WdfEventBroadcast, data, sizeof(data)),
                     STATUS_SUCCESS);
    PnpkitSimWaitIdle();
    DIMT_WAIT(dimt_load(&dit.events) == 1);
    assert_true(IsEqualGUID(&dit.event_guid, &DIT_EVENT_GUID));
    assert_int_equal(dit.event_size, sizeof(data));
    assert_memory_equal(dit.event_data, data, sizeof(data));
    assert_int_equal(dit.event_offset, -1);
    /* After the target went (surprise removal: RemoveComplete, Close), no event is delivered. */
    ds_surprise_remove(s0);
    DIMT_WAIT(dimt_load(&dit.n) == 3);
    assert_int_equal(dit.states[1], DeviceInterfaceTarget_StateType_RemoveComplete);
    assert_int_equal(dit.states[2], DeviceInterfaceTarget_StateType_Close);
    assert_int_equal(dimt_load(&dit.events), 1);
    dimt_delete(m);
    dimt_finish();
}

static void dit_streams_from_its_target_and_stops_on_removal(void **state)
{
    DMFMODULE m;

    dimt_begin();
    dimt_host_start(false);
    ds_sensor *s0 = ds_create(0, NULL);
    m = dit_create(true);
    DIMT_WAIT(dimt_load(&s0->held) == 2); /* Automatic: two stream requests at the device */
    assert_int_equal(ds_release(s0, 2, STATUS_SUCCESS), 2);
    DIMT_WAIT(dimt_load(&dimt_str.outputs) == 2 && dimt_load(&s0->held) == 2);
    assert_int_equal(ds_query_and_remove(s0), CR_SUCCESS);
    DIMT_WAIT(dimt_load(&dit.n) == 3);
    assert_int_equal(dimt_load(&s0->held), 0); /* the stream was cancelled and waited for */
    assert_int_equal(dimt_load(&dimt_str.outputs), 2);
    dimt_delete(m);
    dimt_finish();
}

PK_TEST_MAIN(PK_TEST(dit_opens_the_first_interface_and_ignores_later_arrivals),
             PK_TEST(dit_orderly_removal_then_a_new_arrival_opens_again),
             PK_TEST(dit_vetoed_open_leaves_room_for_the_next_arrival),
             PK_TEST(dit_delivers_the_custom_events_of_its_target_device),
             PK_TEST(dit_streams_from_its_target_and_stops_on_removal))
