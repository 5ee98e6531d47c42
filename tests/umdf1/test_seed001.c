/* Seed 001 ("Using Device Interfaces in UMDF Drivers"), one test per behaviour it describes,
 * named after the sentence, plus io.md I49-I60 and pnp.md P31 where they make it precise. */
#include "u1_testdrv.h"

/* The whole flow of the seed, step by step. */
static void seed_flow_end_to_end(void **state)
{
    HSWDEVICE prov, client;
    char reply[32] = { 0 };
    HRESULT status = E_FAIL;
    ULONG_PTR info = 0;

    u1_reset();
    u1cfg.ri_event = u1cfg.ri_removal = u1cfg.rt_removal = true;
    u1_start_both(&prov, &client, NULL);
    assert_int_equal(u1st.register_hr, S_OK);
    assert_int_equal(u1st.arrivals, 1);
    assert_int_equal(u1st.create_ri_hr, S_OK);
    assert_int_equal(u1st.create_rt_hr, S_OK);
    assert_int_equal(u1_open(0, NULL), S_OK);
    assert_int_equal(IWDFRemoteTarget_GetState(u1st.rt[0]), WdfIoTargetStarted);
    assert_string_equal(u1st.file_name, "\\ref1");
    assert_int_equal(u1_echo(u1st.rt[0], "hello", reply, sizeof(reply), &status, &info), S_OK);
    assert_int_equal(status, S_OK);
    assert_int_equal(info, 6);
    assert_string_equal(reply, "hello");
    assert_int_equal(IWDFDevice_PostEvent(u1st.prov_device, &U1_EVENT_GUID, WdfEventBroadcast, (BYTE *)"ev", 2), S_OK);
    PnpkitSimWaitIdle();
    assert_int_equal(u1st.events, 1);
    assert_int_equal(IWDFRemoteTarget_Close(u1st.rt[0]), S_OK);
    u1_device_close(prov);
    assert_int_equal(u1st.ri_removals, 1);
    u1_device_close(client);
    u1_teardown();
}

PK_TEST_MAIN(PK_TEST(seed_flow_end_to_end))
