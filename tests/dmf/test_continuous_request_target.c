/* DMF_ContinuousRequestTarget streaming (spec dmf.md 1.3, behaviours D38-D44 and D58): Start,
 * BufferInput / BufferOutput, the four dispositions, client-owned output buffers, StopAndWait,
 * the re-send trampoline for a target that completes inline, and the single-request methods
 * through the ContinuousRequestTarget handle. */
#include "pk_test.h"
#include "dmf_target_testdrv.h"
#include "dmf/dmf_internal.h"

enum { ISIZE = 8, OSIZE = 16 };

static DMFMODULE crt_new(DMF_CONFIG_ContinuousRequestTarget *c, BOOLEAN passive)
{
    DMF_MODULE_ATTRIBUTES a;
    DMF_CONFIG_ContinuousRequestTarget config;
    DMFMODULE m;

    DMF_CONFIG_ContinuousRequestTarget_AND_ATTRIBUTES_INIT(&config, &a);
    config = *c;
    a.ModuleConfigPointer = &config;
    a.PassiveLevel = passive;
    assert_int_equal(DMF_ContinuousRequestTarget_Create((WDFDEVICE)dt_parent, &a, WDF_NO_OBJECT_ATTRIBUTES, &m),
                     STATUS_SUCCESS);
    assert_int_equal(DMF_ContinuousRequestTarget_IoTargetSet(m, dt_target), STATUS_SUCCESS);
    return m;
}

static void base_config(DMF_CONFIG_ContinuousRequestTarget *c, ULONG count, ULONG code)
{
    memset(c, 0, sizeof(*c));
    c->ContinuousRequestCount = count;
    c->RequestType = ContinuousRequestTarget_RequestType_Ioctl;
    c->ContinuousRequestTargetIoctl = code;
}

/* ---- Recording callbacks ---- */
static volatile LONG input_calls, output_calls, input_nonzero;
static size_t last_output_size;
static void *last_output;
static NTSTATUS last_status;
static ContinuousRequestTarget_BufferDisposition script[64];
static int script_len;
static void *kept[64];
static int nkept;
static uintptr_t stack_lo = UINTPTR_MAX, stack_hi;
static KEVENT output_event;
static pthread_t output_thread;
static KIRQL output_irql;

static VOID on_input(DMFMODULE DmfModule, VOID *InputBuffer, size_t *InputBufferSize, VOID *Context)
{
    unsigned char *b = InputBuffer;
    for (size_t i = 0; i < *InputBufferSize; i++)
        if (b[i])
            InterlockedIncrement(&input_nonzero);
    assert_int_equal(*InputBufferSize, ISIZE);
    memset(b, 0x40 + (int)(InterlockedIncrement(&input_calls) & 15), ISIZE);
}

static ContinuousRequestTarget_BufferDisposition on_output(DMFMODULE DmfModule, VOID *OutputBuffer, size_t OutputBufferSize,
                                                           VOID *Context, NTSTATUS Status)
{
    LONG n = InterlockedIncrement(&output_calls);
    uintptr_t sp = (uintptr_t)&n;
    ContinuousRequestTarget_BufferDisposition d =
        n <= script_len ? script[n - 1] : ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndStopStreaming;

    if (sp < stack_lo)
        stack_lo = sp;
    if (sp > stack_hi)
        stack_hi = sp;
    last_output = OutputBuffer;
    last_output_size = OutputBufferSize;
    output_thread = pthread_self();
    output_irql = KeGetCurrentIrql();
    last_status = Status;
    if (OutputBuffer && (d == ContinuousRequestTarget_BufferDisposition_ClientAndContinueStreaming ||
                         d == ContinuousRequestTarget_BufferDisposition_ClientAndStopStreaming))
        kept[nkept++] = OutputBuffer;
    KeSetEvent(&output_event, IO_NO_INCREMENT, FALSE);
    return d;
}

static void reset_recording(void)
{
    input_calls = output_calls = input_nonzero = 0;
    last_output = NULL;
    last_output_size = 0;
    script_len = 0;
    nkept = 0;
    stack_lo = UINTPTR_MAX;
    stack_hi = 0;
    KeInitializeEvent(&output_event, NotificationEvent, FALSE);
}

/* D38: Start sends exactly ContinuousRequestCount requests, each with BufferInput called on a
 * zeroed buffer of BufferInputSize, and the device gets BufferInputSize input bytes. */
static void d38_start_sends_count_requests_with_input(void **state)
{
    DMF_CONFIG_ContinuousRequestTarget c;

    dt_setup(u"d38");
    reset_recording();
    base_config(&c, 3, WT_IOCTL_ECHO);
    c.BufferCountInput = 3;
    c.BufferInputSize = ISIZE;
    c.BufferCountOutput = 3;
    c.BufferOutputSize = OSIZE;
    c.EvtContinuousRequestTargetBufferInput = on_input;
    c.EvtContinuousRequestTargetBufferOutput = on_output; /* script empty: every request stops */
    DMFMODULE m = crt_new(&c, FALSE);
    assert_int_equal(DMF_ContinuousRequestTarget_Start(m), STATUS_SUCCESS);
    DMF_ContinuousRequestTarget_StopAndWait(m);
    assert_int_equal(input_calls, 3);
    assert_int_equal(input_nonzero, 0);
    assert_int_equal(output_calls, 3);
    assert_int_equal(__atomic_load_n(&wtw_st[0].ioctls, __ATOMIC_SEQ_CST), 3);
    assert_int_equal(last_output_size, ISIZE); /* the echo returned every input byte */
    dt_finish();
}

/* D39: the four dispositions. */
static void d39_dispositions(void **state)
{
    DMF_CONFIG_ContinuousRequestTarget c;

    dt_setup(u"d39");
    reset_recording();
    base_config(&c, 1, WT_IOCTL_ECHO);
    c.BufferCountOutput = 3;
    c.BufferOutputSize = OSIZE;
    c.EvtContinuousRequestTargetBufferOutput = on_output;
    script[0] = ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndContinueStreaming;
    script[1] = ContinuousRequestTarget_BufferDisposition_ClientAndContinueStreaming;
    script[2] = ContinuousRequestTarget_BufferDisposition_ClientAndStopStreaming;
    script_len = 3;
    DMFMODULE m = crt_new(&c, FALSE);
    assert_int_equal(DMF_ContinuousRequestTarget_Start(m), STATUS_SUCCESS);
    DMF_ContinuousRequestTarget_StopAndWait(m);
    assert_int_equal(output_calls, 3); /* 1 and 3 re-sent, 4 stopped */
    assert_int_equal(nkept, 2);
    assert_ptr_not_equal(kept[0], kept[1]);
    DMF_ContinuousRequestTarget_BufferPut(m, kept[0]);
    DMF_ContinuousRequestTarget_BufferPut(m, kept[1]);
    /* Disposition 2: returned, that request stops. */
    reset_recording();
    script[0] = ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndStopStreaming;
    script_len = 1;
    assert_int_equal(DMF_ContinuousRequestTarget_Start(m), STATUS_SUCCESS);
    DMF_ContinuousRequestTarget_StopAndWait(m);
    assert_int_equal(output_calls, 1);
    dt_finish();
}

/* D40: without BufferOutput a failure stops the request and a success continues it. */
static void d40_no_buffer_output_failure_stops_success_continues(void **state)
{
    DMF_CONFIG_ContinuousRequestTarget c;

    dt_setup(u"d40");
    base_config(&c, 2, WT_IOCTL_DIRECT); /* no output buffer: the driver fails it */
    DMFMODULE fail = crt_new(&c, FALSE);
    assert_int_equal(DMF_ContinuousRequestTarget_Start(fail), STATUS_SUCCESS);
    assert_int_equal(__atomic_load_n(&wtw_st[0].ioctls, __ATOMIC_SEQ_CST), 2);
    DMF_ContinuousRequestTarget_StopAndWait(fail);
    assert_int_equal(__atomic_load_n(&wtw_st[0].ioctls, __ATOMIC_SEQ_CST), 2);

    base_config(&c, 2, WT_IOCTL_LATER);
    DMFMODULE ok = crt_new(&c, FALSE);
    assert_int_equal(DMF_ContinuousRequestTarget_Start(ok), STATUS_SUCCESS);
    while (__atomic_load_n(&wtw_st[0].ioctls, __ATOMIC_SEQ_CST) < 20)
        usleep(1000);
    DMF_ContinuousRequestTarget_StopAndWait(ok);
    dt_finish();
}

/* D41: a client-owned buffer is not handed out again before BufferPut; a dry pool ends the
 * request quietly. */
static void d41_client_buffer_and_dry_pool(void **state)
{
    DMF_CONFIG_ContinuousRequestTarget c;

    dt_setup(u"d41");
    reset_recording();
    base_config(&c, 1, WT_IOCTL_ECHO);
    c.BufferCountOutput = 1;
    c.BufferOutputSize = OSIZE;
    c.EvtContinuousRequestTargetBufferOutput = on_output;
    script[0] = ContinuousRequestTarget_BufferDisposition_ClientAndContinueStreaming;
    script[1] = ContinuousRequestTarget_BufferDisposition_ClientAndContinueStreaming;
    script_len = 2;
    DMFMODULE m = crt_new(&c, FALSE);
    assert_int_equal(DMF_ContinuousRequestTarget_Start(m), STATUS_SUCCESS);
    DMF_ContinuousRequestTarget_StopAndWait(m);
    assert_int_equal(output_calls, 1); /* the re-send found the pool empty */
    assert_int_equal(nkept, 1);
    DMF_ContinuousRequestTarget_BufferPut(m, kept[0]);
    assert_int_equal(DMF_ContinuousRequestTarget_Start(m), STATUS_SUCCESS);
    DMF_ContinuousRequestTarget_StopAndWait(m);
    assert_int_equal(output_calls, 2);
    assert_ptr_equal(kept[1], kept[0]); /* the same buffer, handed out again only after BufferPut */
    DMF_ContinuousRequestTarget_BufferPut(m, kept[1]);
    dt_finish();
}

/* D42: StopAndWait waits for every stream request, works unstarted, and Start follows it; no
 * BufferOutput for the cancelled completions. */
static void d42_stop_and_wait(void **state)
{
    DMF_CONFIG_ContinuousRequestTarget c;

    dt_setup(u"d42");
    reset_recording();
    base_config(&c, 3, WT_IOCTL_NEVER);
    c.EvtContinuousRequestTargetBufferOutput = on_output;
    DMFMODULE m = crt_new(&c, FALSE);
    DMF_ContinuousRequestTarget_StopAndWait(m); /* never started */
    assert_int_equal(DMF_ContinuousRequestTarget_Start(m), STATUS_SUCCESS);
    assert_int_equal(DMF_ContinuousRequestTarget_Start(m), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(DMF_ContinuousRequestTarget_IoTargetClear(m), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(__atomic_load_n(&wtw_st[0].ioctls, __ATOMIC_SEQ_CST), 3);
    DMF_ContinuousRequestTarget_StopAndWait(m);
    assert_int_equal(output_calls, 0);
    assert_int_equal(DMF_ContinuousRequestTarget_Start(m), STATUS_SUCCESS);
    assert_int_equal(__atomic_load_n(&wtw_st[0].ioctls, __ATOMIC_SEQ_CST), 6);
    DMF_ContinuousRequestTarget_StopAndWait(m);
    assert_int_equal(DMF_ContinuousRequestTarget_IoTargetClear(m), STATUS_SUCCESS);
    assert_int_equal(DMF_ContinuousRequestTarget_Start(m), STATUS_INVALID_DEVICE_STATE); /* no target */
    dt_finish();
}

/* D43: no buffers: BufferOutput gets NULL and 0. */
static void d43_no_buffers_null_output(void **state)
{
    DMF_CONFIG_ContinuousRequestTarget c;

    dt_setup(u"d43");
    reset_recording();
    base_config(&c, 1, WT_IOCTL_ECHO);
    c.EvtContinuousRequestTargetBufferOutput = on_output;
    DMFMODULE m = crt_new(&c, TRUE);
    last_output = (void *)1;
    last_output_size = 7;
    assert_int_equal(DMF_ContinuousRequestTarget_Start(m), STATUS_SUCCESS);
    pk_test_wait_event(&output_event); /* before StopAndWait, which would suppress BufferOutput */
    DMF_ContinuousRequestTarget_StopAndWait(m);
    /* D49 for stream callbacks: a passive module calls BufferOutput on a worker at PASSIVE_LEVEL. */
    assert_false(pthread_equal(output_thread, pthread_self()));
    assert_int_equal(output_irql, PASSIVE_LEVEL);
    assert_int_equal(output_calls, 1);
    assert_null(last_output);
    assert_int_equal(last_output_size, 0);
    dt_finish();
}

/* D44: Start fails, sending nothing, when BufferCountInput < ContinuousRequestCount. */
static void d44_start_fails_with_too_few_input_buffers(void **state)
{
    DMF_CONFIG_ContinuousRequestTarget c;

    dt_setup(u"d44");
    base_config(&c, 2, WT_IOCTL_ECHO);
    c.BufferCountInput = 1;
    c.BufferInputSize = ISIZE;
    DMFMODULE m = crt_new(&c, FALSE);
    assert_int_equal(DMF_ContinuousRequestTarget_Start(m), STATUS_INSUFFICIENT_RESOURCES);
    assert_int_equal(__atomic_load_n(&wtw_st[0].ioctls, __ATOMIC_SEQ_CST), 0);
    dt_finish();
}

/* D58: StopAndWait at DISPATCH_LEVEL returns without waiting; the requests are cancelled. */
static void d58_stop_at_dispatch_cancels_without_waiting(void **state)
{
    DMF_CONFIG_ContinuousRequestTarget c;
    KIRQL old;

    dt_setup(u"d58");
    base_config(&c, 2, WT_IOCTL_NEVER);
    DMFMODULE m = crt_new(&c, FALSE);
    assert_int_equal(DMF_ContinuousRequestTarget_Start(m), STATUS_SUCCESS);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    DMF_ContinuousRequestTarget_StopAndWait(m);
    KeLowerIrql(old);
    DMF_ContinuousRequestTarget_StopAndWait(m); /* passive: the cancelled requests have returned */
    assert_int_equal(wtw_flush_never(), 0);
    dt_finish();
}

/* A target that completes inline: 20000 re-sends run in a loop, not on a growing stack. */
static void inline_completion_resends_without_growing_the_stack(void **state)
{
    DMF_CONFIG_ContinuousRequestTarget c;

    dt_setup(u"tramp");
    reset_recording();
    base_config(&c, 2, WT_IOCTL_ECHO);
    c.BufferCountOutput = 2;
    c.BufferOutputSize = OSIZE;
    c.EvtContinuousRequestTargetBufferOutput = on_output;
    for (int i = 0; i < 64; i++)
        script[i] = ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndContinueStreaming;
    script_len = 64;
    DMFMODULE m = crt_new(&c, FALSE);
    assert_int_equal(DMF_ContinuousRequestTarget_Start(m), STATUS_SUCCESS);
    DMF_ContinuousRequestTarget_StopAndWait(m);
    assert_int_equal(output_calls, 66); /* 64 continue, then each of the 2 requests stops */
    assert_true(stack_hi - stack_lo < 4096);
    dt_finish();
}

/* The single-request methods work through the ContinuousRequestTarget handle (D13's half). */
static void single_requests_through_continuous_request_target(void **state)
{
    DMF_CONFIG_ContinuousRequestTarget c;
    RequestTarget_DmfRequestCancel id = NULL;
    RequestTarget_DmfRequestReuse r;
    char in[4] = "abc", out[4];
    size_t bytes = 0;
    dt_done d;

    dt_setup(u"single");
    base_config(&c, 0, 0);
    DMFMODULE m = crt_new(&c, FALSE);
    dt_done_init(&d);
    assert_int_equal(DMF_ContinuousRequestTarget_SendEx(m, in, 4, out, 4, ContinuousRequestTarget_RequestType_Ioctl,
                                                        WT_IOCTL_NEVER, 0, dt_on_done, &d, &id),
                     STATUS_SUCCESS);
    assert_true(DMF_ContinuousRequestTarget_Cancel(m, id));
    pk_test_wait_event(&d.event);
    assert_int_equal(d.status, STATUS_CANCELLED);
    assert_ptr_equal(d.module, m);
    assert_int_equal(DMF_ContinuousRequestTarget_SendSynchronously(m, in, 4, out, 4,
                                                                   ContinuousRequestTarget_RequestType_Ioctl,
                                                                   WT_IOCTL_ECHO, 0, &bytes),
                     STATUS_SUCCESS);
    assert_int_equal(bytes, 4);
    assert_int_equal(DMF_ContinuousRequestTarget_ReuseCreate(m, &r), STATUS_SUCCESS);
    dt_done_init(&d);
    assert_int_equal(DMF_ContinuousRequestTarget_ReuseSend(m, r, in, 4, out, 4, ContinuousRequestTarget_RequestType_Ioctl,
                                                           WT_IOCTL_ECHO, 0, dt_on_done, &d, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(d.calls, 1);
    assert_true(DMF_ContinuousRequestTarget_ReuseDelete(m, r));
    dt_done_init(&d);
    assert_int_equal(DMF_ContinuousRequestTarget_Send(m, in, 4, out, 4, ContinuousRequestTarget_RequestType_Ioctl,
                                                      WT_IOCTL_ECHO, 0, dt_on_done, &d),
                     STATUS_SUCCESS);
    assert_int_equal(d.calls, 1);
    assert_int_equal(DMF_ContinuousRequestTarget_Start(m), STATUS_SUCCESS); /* nothing to stream */
    DMF_ContinuousRequestTarget_StopAndWait(m);
    dt_finish();
}

/* A streaming module deleted while its stream runs stops it during close. */
static void delete_while_streaming_stops_the_stream(void **state)
{
    DMF_CONFIG_ContinuousRequestTarget c;

    dt_setup(u"delete");
    base_config(&c, 4, WT_IOCTL_LATER);
    c.BufferCountOutput = 4;
    c.BufferOutputSize = OSIZE;
    DMFMODULE m = crt_new(&c, TRUE);
    assert_int_equal(DMF_ContinuousRequestTarget_Start(m), STATUS_SUCCESS);
    usleep(10000);
    WdfObjectDelete(m);
    dt_finish();
}

/* Spec 1.3 "Mode and power": a static module with PurgeAndStartTargetInD0Callbacks stops its
 * stream and purges the target on D0Exit, and restarts both on the next D0Entry (not on the
 * first power-up); a dynamic module with the flag is created without D0 handling. */
static DMFMODULE power_module;
static DMF_CONFIG_ContinuousRequestTarget power_config;

static VOID power_modules_add(WDFDEVICE Device, PDMFMODULE_INIT DmfModuleInit)
{
    DMF_MODULE_ATTRIBUTES a;
    DMF_CONFIG_ContinuousRequestTarget config;

    DMF_CONFIG_ContinuousRequestTarget_AND_ATTRIBUTES_INIT(&config, &a);
    config = power_config;
    DMF_DmfModuleAdd(DmfModuleInit, &a, WDF_NO_OBJECT_ATTRIBUTES, &power_module);
}

static LONG ioctls_now(void) { return __atomic_load_n(&wtw_st[0].ioctls, __ATOMIC_SEQ_CST); }

static void d0_exit_stops_and_d0_entry_restarts_a_static_stream(void **state)
{
    DMF_EVENT_CALLBACKS callbacks;
    PDMFDEVICE_INIT init;
    WDFOBJECT device;
    LONG n;

    dt_setup(u"power");
    base_config(&power_config, 2, WT_IOCTL_LATER);
    power_config.PurgeAndStartTargetInD0Callbacks = TRUE;
    power_config.CancelAndResendRequestInD0Callbacks = TRUE;
    /* Dynamic with the flag: created, no D0 handling. */
    DMFMODULE dyn = crt_new(&power_config, FALSE);
    WdfObjectDelete(dyn);

    assert_int_equal(WdfObjectCreate(WDF_NO_OBJECT_ATTRIBUTES, &device), STATUS_SUCCESS);
    init = DMF_DmfDeviceInitAllocate(NULL);
    DMF_DmfDeviceInitHookPnpPowerEventCallbacks(init, NULL);
    DMF_DmfDeviceInitHookPowerPolicyEventCallbacks(init, NULL);
    DMF_DmfDeviceInitHookFileObjectConfig(init, NULL);
    DMF_EVENT_CALLBACKS_INIT(&callbacks);
    callbacks.EvtDmfDeviceModulesAdd = power_modules_add;
    DMF_DmfDeviceInitSetEventCallbacks(init, &callbacks);
    assert_int_equal(DMF_ModulesCreate((WDFDEVICE)device, &init), STATUS_SUCCESS);
    assert_int_equal(dmf_modules_on_prepare_hardware(device, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(dmf_modules_on_d0_entry(device, DMF_POWER_DEVICE_D3), STATUS_SUCCESS); /* first */
    assert_int_equal(DMF_ContinuousRequestTarget_IoTargetSet(power_module, dt_target), STATUS_SUCCESS);
    assert_int_equal(DMF_ContinuousRequestTarget_Start(power_module), STATUS_SUCCESS);
    while (ioctls_now() < 10)
        usleep(1000);
    assert_int_equal(dmf_modules_on_d0_exit(device, DMF_POWER_DEVICE_D3), STATUS_SUCCESS);
    n = ioctls_now();
    usleep(20000);
    assert_int_equal(ioctls_now(), n); /* stopped */
    assert_int_equal(WdfIoTargetGetState(dt_target), WdfIoTargetPurged);
    assert_int_equal(dmf_modules_on_d0_entry(device, DMF_POWER_DEVICE_D3), STATUS_SUCCESS);
    assert_int_equal(WdfIoTargetGetState(dt_target), WdfIoTargetStarted);
    while (ioctls_now() < n + 10)
        usleep(1000);
    assert_int_equal(dmf_modules_on_d0_exit(device, DMF_POWER_DEVICE_D3_FINAL), STATUS_SUCCESS);
    assert_int_equal(dmf_modules_on_release_hardware(device, NULL), STATUS_SUCCESS);
    WdfObjectDelete(device);
    dt_finish();
}

PK_TEST_MAIN(
    PK_TEST(d38_start_sends_count_requests_with_input),
    PK_TEST(d39_dispositions),
    PK_TEST(d40_no_buffer_output_failure_stops_success_continues),
    PK_TEST(d41_client_buffer_and_dry_pool),
    PK_TEST(d42_stop_and_wait),
    PK_TEST(d43_no_buffers_null_output),
    PK_TEST(d44_start_fails_with_too_few_input_buffers),
    PK_TEST(d58_stop_at_dispatch_cancels_without_waiting),
    PK_TEST(inline_completion_resends_without_growing_the_stack),
    PK_TEST(single_requests_through_continuous_request_target),
    PK_TEST(delete_while_streaming_stops_the_stream),
    PK_TEST(d0_exit_stops_and_d0_entry_restarts_a_static_stream))
