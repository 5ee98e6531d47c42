/* Requests: parameters, buffers and memory objects of framework requests, completion, request
 * attributes and their contexts, the allocation-free steady state, forwarding down the stack
 * (send-and-forget, with a completion routine), driver-created requests with format, send and
 * reuse, and the file object of a request. */
#include "wdf_testdrv.h"

static HSWDEVICE h;
static PFILE_OBJECT fo;

static void open_wdf_function(PCWSTR name)
{
    wt_cfg[0].name = "wdf";
    wt_cfg[0].iface = &WT_GUID;
    if (!wt_cfg[0].io_mode)
        wt_cfg[0].io_mode = WT_IO_COMPLETE;
    wt_register_wdf(0, WT_FUNCTION);
    h = wt_device_create(name, NULL);
    assert_int_equal(wt_open(&WT_GUID, NULL, &fo), STATUS_SUCCESS);
}

/* A WDF filter above a WDM function driver that registers the interface. */
static void open_wdf_filter_over_wdm(PCWSTR name)
{
    wt_cfg[0].name = "filt";
    wtw_cfg[0].name = "wdm";
    wtw_cfg[0].iface = &WT_GUID;
    wt_register_wdm(0, WT_FUNCTION);
    wt_register_wdf(0, WT_UPPER);
    h = wt_device_create(name, NULL);
    assert_int_equal(wt_open(&WT_GUID, NULL, &fo), STATUS_SUCCESS);
}

static void finish(void)
{
    if (fo)
        wt_close(fo);
    fo = NULL;
    wt_device_close(h);
    wt_teardown();
}

/* ---- Parameters and buffers ---- */

static struct {
    WDF_REQUEST_PARAMETERS params;
    NTSTATUS in_status, in_small_status, out_status, mem_status;
    size_t in_len, out_len, mem_len;
    void *in, *out, *mem_buffer;
} seen;

static VOID inspecting_ioctl(WDFQUEUE q, WDFREQUEST r, size_t out_len, size_t in_len, ULONG code)
{
    WDFMEMORY m;

    WDF_REQUEST_PARAMETERS_INIT(&seen.params);
    WdfRequestGetParameters(r, &seen.params);
    seen.in_status = WdfRequestRetrieveInputBuffer(r, 1, &seen.in, &seen.in_len);
    seen.in_small_status = WdfRequestRetrieveInputBuffer(r, in_len + 1, &seen.in, NULL);
    seen.out_status = WdfRequestRetrieveOutputBuffer(r, 1, &seen.out, &seen.out_len);
    seen.mem_status = WdfRequestRetrieveOutputMemory(r, &m);
    if (NT_SUCCESS(seen.mem_status))
        seen.mem_buffer = WdfMemoryGetBuffer(m, &seen.mem_len);
    WdfRequestCompleteWithInformation(r, STATUS_SUCCESS, 2);
}

static void parameters_and_buffers_describe_the_request(void **state)
{
    ULONG_PTR info;

    wt_reset();
    wt_cfg[0].ioctl = inspecting_ioctl;
    open_wdf_function(u"params");
    assert_int_equal(wt_ioctl_sync(fo, WT_IOCTL_ECHO, 4, 8, &info), STATUS_SUCCESS);
    assert_int_equal(info, 2);
    assert_int_equal(seen.params.Type, WdfRequestTypeDeviceControl);
    assert_int_equal(seen.params.Parameters.DeviceIoControl.IoControlCode, WT_IOCTL_ECHO);
    assert_int_equal(seen.params.Parameters.DeviceIoControl.InputBufferLength, 4);
    assert_int_equal(seen.params.Parameters.DeviceIoControl.OutputBufferLength, 8);
    assert_int_equal(seen.in_status, STATUS_SUCCESS);
    assert_int_equal(seen.in_len, 4);
    assert_int_equal(seen.in_small_status, STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(seen.out_status, STATUS_SUCCESS);
    assert_int_equal(seen.out_len, 8);
    assert_ptr_equal(seen.in, seen.out); /* METHOD_BUFFERED: one system buffer */
    assert_int_equal(seen.mem_status, STATUS_SUCCESS);
    assert_ptr_equal(seen.mem_buffer, seen.out);
    assert_int_equal(seen.mem_len, 8);
    /* No input at all: STATUS_BUFFER_TOO_SMALL. METHOD_NEITHER: no buffer to retrieve. */
    assert_int_equal(wt_ioctl_sync(fo, WT_IOCTL_ECHO, 0, 8, NULL), STATUS_SUCCESS);
    assert_int_equal(seen.in_status, STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(wt_ioctl_sync(fo, WT_IOCTL_NEITHER, 4, 4, NULL), STATUS_SUCCESS);
    assert_int_equal(seen.in_status, STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(seen.out_status, STATUS_INVALID_DEVICE_REQUEST);
    finish();
}

static void complete_with_information_reaches_the_originator(void **state)
{
    wt_io io;

    wt_reset();
    open_wdf_function(u"echo");
    memset(io.buffer, 0, sizeof(io.buffer));
    memcpy(io.buffer, "ping", 4);
    wt_io_start(&io, fo, WT_IOCTL_ECHO, 4, 16);
    assert_int_equal(wt_io_wait(&io), STATUS_SUCCESS);
    assert_int_equal(io.information, 4);
    assert_memory_equal(io.buffer, "ping", 4);
    finish();
}

static void completing_a_request_twice_is_a_verifier_stop(void **state)
{
    wt_io io;
    WDFREQUEST r;

    pk_test_capture_verifier();
    wt_reset();
    wt_cfg[0].dispatch = WdfIoQueueDispatchParallel;
    open_wdf_function(u"twice");
    wt_io_start(&io, fo, WT_IOCTL_HOLD, 0, 0);
    r = wt_st[0].held[0];
    WdfRequestComplete(r, STATUS_SUCCESS);
    assert_int_equal(wt_io_wait(&io), STATUS_SUCCESS);
    assert_int_equal(pk_test_verifier_stops(), 0);
    WdfRequestComplete(r, STATUS_SUCCESS);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("completed already"));
    wt_st[0].nheld = 0;
    finish();
}

/* ---- Request attributes ---- */

typedef struct req_ctx {
    int value;
} req_ctx;
WDF_DECLARE_CONTEXT_TYPE_WITH_NAME(req_ctx, get_req_ctx)

static volatile LONG req_cleanups, req_destroys, dirty_contexts;
static VOID req_cleanup(WDFOBJECT o) { InterlockedIncrement(&req_cleanups); }
static VOID req_destroy(WDFOBJECT o) { InterlockedIncrement(&req_destroys); }

static VOID ctx_ioctl(WDFQUEUE q, WDFREQUEST r, size_t out_len, size_t in_len, ULONG code)
{
    req_ctx *c = get_req_ctx(r);
    if (!c || c->value != 0)
        InterlockedIncrement(&dirty_contexts);
    if (c)
        c->value = 42;
    WdfRequestComplete(r, STATUS_SUCCESS);
}

static NTSTATUS ctx_add(WDFDRIVER driver, PWDFDEVICE_INIT init)
{
    WDF_OBJECT_ATTRIBUTES ra;
    WDF_IO_QUEUE_CONFIG qc;
    WDFDEVICE device;
    WDFQUEUE q;
    NTSTATUS status;

    WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE(&ra, req_ctx);
    ra.EvtCleanupCallback = req_cleanup;
    ra.EvtDestroyCallback = req_destroy;
    WdfDeviceInitSetRequestAttributes(init, &ra);
    status = WdfDeviceCreate(&init, NULL, &device);
    if (!NT_SUCCESS(status))
        return status;
    WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&qc, WdfIoQueueDispatchSequential);
    qc.EvtIoDeviceControl = ctx_ioctl;
    status = WdfIoQueueCreate(device, &qc, NULL, &q);
    if (NT_SUCCESS(status))
        status = WdfDeviceCreateDeviceInterface(device, &WT_GUID2, NULL);
    return status;
}

static NTSTATUS ctx_entry(PDRIVER_OBJECT d, PUNICODE_STRING path)
{
    WDF_DRIVER_CONFIG config;
    WDF_DRIVER_CONFIG_INIT(&config, ctx_add);
    return WdfDriverCreate(d, path, NULL, &config, NULL);
}

static void request_attributes_give_each_request_a_zeroed_context_and_callbacks(void **state)
{
    PFILE_OBJECT f;

    wt_reset();
    assert_int_equal(PnpkitDriverRegister(u"ctxdrv", ctx_entry, WT_HWID), STATUS_SUCCESS);
    h = wt_device_create(u"reqattr", NULL);
    assert_int_equal(wt_open(&WT_GUID2, NULL, &f), STATUS_SUCCESS);
    for (int i = 0; i < 5; i++)
        assert_int_equal(wt_ioctl_sync(f, WT_IOCTL_ECHO, 0, 0, NULL), STATUS_SUCCESS);
    assert_int_equal(dirty_contexts, 0);
    assert_int_equal(req_cleanups, 5);
    assert_int_equal(req_destroys, 5);
    wt_close(f);
    wt_device_close(h);
    assert_int_equal(PnpkitDriverUnregister(u"ctxdrv"), STATUS_SUCCESS);
}

/* ---- The steady state allocates nothing ---- */

static NTSTATUS steady_done(PDEVICE_OBJECT d, PIRP irp, PVOID ctx)
{
    (*(volatile LONG *)ctx)++;
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static void steady_state_request_path_allocates_nothing(void **state)
{
    PDEVICE_OBJECT top;
    PIRP irp;
    UCHAR buffer[16];
    volatile LONG done = 0;
    WDFMEMORY m;

    wt_reset();
    wt_cfg[0].name = "filt";
    wt_cfg[1].name = "func";
    wt_cfg[0].io_mode = WT_IO_FORWARD_CR;
    wt_cfg[1].io_mode = WT_IO_COMPLETE;
    wt_cfg[1].iface = &WT_GUID;
    wt_register_wdf(1, WT_FUNCTION);
    wt_register_wdf(0, WT_UPPER);
    h = wt_device_create(u"steady", NULL);
    assert_int_equal(wt_open(&WT_GUID, NULL, &fo), STATUS_SUCCESS);
    top = IoGetRelatedDeviceObject(fo);
    irp = IoAllocateIrp(top->StackSize, FALSE);
    for (int round = 0; round < 2; round++) {
        /* Round 0 warms the pools up; round 1 runs with the next allocation set to fail. */
        if (round == 1)
            PnpkitSimFailAllocation(1);
        for (int i = 0; i < 100; i++) {
            PIO_STACK_LOCATION sp;
            IoReuseIrp(irp, STATUS_SUCCESS);
            irp->AssociatedIrp.SystemBuffer = buffer;
            sp = IoGetNextIrpStackLocation(irp);
            sp->MajorFunction = IRP_MJ_DEVICE_CONTROL;
            sp->FileObject = fo;
            sp->Parameters.DeviceIoControl.IoControlCode = WT_IOCTL_ECHO;
            sp->Parameters.DeviceIoControl.InputBufferLength = 8;
            sp->Parameters.DeviceIoControl.OutputBufferLength = 8;
            IoSetCompletionRoutine(irp, steady_done, (PVOID)&done, TRUE, TRUE, TRUE);
            IoCallDriver(top, irp);
            assert_int_equal(irp->IoStatus.Status, STATUS_SUCCESS);
            assert_int_equal(irp->IoStatus.Information, 8);
        }
    }
    assert_int_equal(done, 200);
    /* The armed failure is still waiting: nothing was allocated in round 1. */
    assert_int_equal(WdfMemoryCreate(NULL, NonPagedPool, 0, 16, &m, NULL), STATUS_INSUFFICIENT_RESOURCES);
    PnpkitSimFailAllocation(0);
    IoFreeIrp(irp);
    finish();
}

/* ---- Forwarding down the stack ---- */

static void send_and_forget_passes_the_request_down(void **state)
{
    ULONG_PTR info;

    wt_reset();
    wt_cfg[0].io_mode = WT_IO_FORWARD;
    open_wdf_filter_over_wdm(u"forget");
    assert_int_equal(wt_ioctl_sync(fo, WT_IOCTL_ECHO, 4, 4, &info), STATUS_SUCCESS);
    assert_int_equal(info, 4);
    assert_int_equal(wt_st[0].ioctls, 1);
    assert_int_equal(wtw_st[0].ioctls, 1);
    finish();
}

static void forward_with_completion_routine_lets_the_driver_complete(void **state)
{
    ULONG_PTR info;

    wt_reset();
    wt_cfg[0].io_mode = WT_IO_FORWARD_CR;
    open_wdf_filter_over_wdm(u"forwardcr");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(wt_ioctl_sync(fo, WT_IOCTL_ECHO, 6, 4, &info), STATUS_SUCCESS);
        assert_int_equal(info, 4);
    }
    assert_int_equal(wtw_st[0].ioctls, 3);
    finish();
}

/* ---- Driver-created requests ---- */

static volatile LONG completions;
static WDF_REQUEST_COMPLETION_PARAMS last_params;

static void created_done(WDFREQUEST request, WDFIOTARGET target, PWDF_REQUEST_COMPLETION_PARAMS params,
                         WDFCONTEXT context)
{
    last_params = *params;
    InterlockedIncrement(&completions);
}

static void created_request_is_formatted_sent_and_reused(void **state)
{
    WDFIOTARGET target;
    WDFREQUEST r;
    WDFMEMORY in, out;
    char inbuf[8] = "abcdefg", outbuf[8] = { 0 };
    WDF_REQUEST_SEND_OPTIONS options;
    WDF_REQUEST_REUSE_PARAMS reuse;

    wt_reset();
    open_wdf_filter_over_wdm(u"created");
    target = WdfDeviceGetIoTarget(wt_st[0].device);
    assert_int_equal(WdfRequestCreate(NULL, target, &r), STATUS_SUCCESS);
    assert_int_equal(WdfMemoryCreatePreallocated(NULL, inbuf, sizeof(inbuf), &in), STATUS_SUCCESS);
    assert_int_equal(WdfMemoryCreatePreallocated(NULL, outbuf, sizeof(outbuf), &out), STATUS_SUCCESS);

    /* Synchronous: the completion routine is not called; the status and output are there. */
    assert_int_equal(WdfIoTargetFormatRequestForIoctl(target, r, WT_IOCTL_ECHO, in, NULL, out, NULL), STATUS_SUCCESS);
    WdfRequestSetCompletionRoutine(r, created_done, NULL);
    WDF_REQUEST_SEND_OPTIONS_INIT(&options, WDF_REQUEST_SEND_OPTION_SYNCHRONOUS);
    assert_true(WdfRequestSend(r, target, &options));
    assert_int_equal(WdfRequestGetStatus(r), STATUS_SUCCESS);
    assert_int_equal(WdfRequestGetInformation(r), 8);
    assert_memory_equal(outbuf, "abcdefg", 8);
    assert_int_equal(completions, 0);

    /* A completed request is sent again only after WdfRequestReuse. */
    pk_test_capture_verifier();
    assert_false(WdfRequestSend(r, target, &options));
    assert_int_equal(WdfRequestGetStatus(r), STATUS_INVALID_DEVICE_REQUEST);
    WDF_REQUEST_REUSE_PARAMS_INIT(&reuse, WDF_REQUEST_REUSE_NO_FLAGS, STATUS_SUCCESS);
    assert_int_equal(WdfRequestReuse(r, &reuse), STATUS_SUCCESS);

    /* Asynchronous: the routine (still set: a synchronous send does not consume it) runs once,
     * with the completion parameters of the format. */
    memset(outbuf, 0, sizeof(outbuf));
    assert_int_equal(WdfIoTargetFormatRequestForIoctl(target, r, WT_IOCTL_ECHO, in, NULL, out, NULL), STATUS_SUCCESS);
    assert_true(WdfRequestSend(r, target, NULL));
    assert_int_equal(completions, 1);
    assert_int_equal(last_params.Type, WdfRequestTypeDeviceControl);
    assert_int_equal(last_params.IoStatus.Status, STATUS_SUCCESS);
    assert_int_equal(last_params.Parameters.Ioctl.IoControlCode, WT_IOCTL_ECHO);
    assert_ptr_equal(last_params.Parameters.Ioctl.Output.Buffer, out);
    assert_int_equal(last_params.Parameters.Ioctl.Output.Length, 8);
    assert_memory_equal(outbuf, "abcdefg", 8);

    /* The routine is one-shot: a reused request sent without setting it calls nothing. */
    assert_int_equal(WdfRequestReuse(r, &reuse), STATUS_SUCCESS);
    assert_int_equal(WdfIoTargetFormatRequestForIoctl(target, r, WT_IOCTL_ECHO, in, NULL, out, NULL), STATUS_SUCCESS);
    assert_true(WdfRequestSend(r, target, NULL));
    assert_int_equal(completions, 1);
    assert_int_equal(WdfRequestGetStatus(r), STATUS_SUCCESS);

    WdfObjectDelete(r);
    WdfObjectDelete(in);
    WdfObjectDelete(out);
    finish();
}

static void reuse_refuses_framework_requests_and_bad_parameters(void **state)
{
    wt_io io;
    WDF_REQUEST_REUSE_PARAMS reuse;
    WDFREQUEST created;

    pk_test_capture_verifier();
    wt_reset();
    wt_cfg[0].dispatch = WdfIoQueueDispatchParallel;
    open_wdf_function(u"reuse");
    wt_io_start(&io, fo, WT_IOCTL_HOLD, 0, 0);
    WDF_REQUEST_REUSE_PARAMS_INIT(&reuse, WDF_REQUEST_REUSE_NO_FLAGS, STATUS_SUCCESS);
    assert_int_equal(WdfRequestReuse(wt_st[0].held[0], &reuse), STATUS_INVALID_DEVICE_REQUEST);
    wt_complete_held(0, STATUS_SUCCESS);
    assert_int_equal(wt_io_wait(&io), STATUS_SUCCESS);
    assert_int_equal(WdfRequestCreate(NULL, NULL, &created), STATUS_SUCCESS);
    reuse.Size = 4;
    assert_int_equal(WdfRequestReuse(created, &reuse), STATUS_INFO_LENGTH_MISMATCH);
    WDF_REQUEST_REUSE_PARAMS_INIT(&reuse, WDF_REQUEST_REUSE_SET_NEW_IRP, STATUS_SUCCESS);
    assert_int_equal(WdfRequestReuse(created, &reuse), STATUS_INVALID_PARAMETER); /* no NewIrp */
    assert_null(WdfRequestWdmGetIrp(created));
    /* A driver-created request is deleted, never completed. */
    WdfRequestComplete(created, STATUS_SUCCESS);
    assert_true(pk_test_verifier_saw("created by the driver"));
    WdfObjectDelete(created);
    finish();
}

/* ---- File objects of requests ---- */

static void request_file_object_is_the_handle_it_came_through(void **state)
{
    wt_io io;

    wt_reset();
    wt_cfg[0].file_config = true;
    wt_cfg[0].autoforward = WdfFalse;
    wt_cfg[0].create_mode = WT_CREATE_SUCCEED;
    wt_cfg[0].dispatch = WdfIoQueueDispatchParallel;
    open_wdf_function(u"reqfile");
    wt_io_start(&io, fo, WT_IOCTL_HOLD, 0, 0);
    assert_ptr_equal(WdfRequestGetFileObject(wt_st[0].held[0]), wt_st[0].last_file);
    assert_ptr_equal(WdfFileObjectWdmGetFileObject(wt_st[0].last_file), fo);
    assert_ptr_equal(WdfFileObjectGetDevice(wt_st[0].last_file), wt_st[0].device);
    wt_complete_held(0, STATUS_SUCCESS);
    assert_int_equal(wt_io_wait(&io), STATUS_SUCCESS);
    finish();
}

static void request_without_file_object_needs_can_be_optional(void **state)
{
    wt_io io;

    for (int optional = 0; optional < 2; optional++) {
        pk_test_capture_verifier();
        wt_reset();
        wt_cfg[0].file_config = true;
        wt_cfg[0].autoforward = WdfFalse;
        wt_cfg[0].file_class = WdfFileObjectWdfCannotUseFsContexts | (optional ? WdfFileObjectCanBeOptional : 0);
        wt_cfg[0].dispatch = WdfIoQueueDispatchParallel;
        open_wdf_function(optional ? u"optional1" : u"optional0");
        wt_io_start_on(&io, IoGetRelatedDeviceObject(fo), NULL, WT_IOCTL_HOLD, 0, 0);
        int stops = pk_test_verifier_stops();
        assert_null(WdfRequestGetFileObject(wt_st[0].held[0]));
        assert_int_equal(pk_test_verifier_stops() - stops, optional ? 0 : 1);
        wt_complete_held(0, STATUS_SUCCESS);
        assert_int_equal(wt_io_wait(&io), STATUS_SUCCESS);
        finish();
    }
}

PK_TEST_MAIN(PK_TEST(parameters_and_buffers_describe_the_request),
             PK_TEST(complete_with_information_reaches_the_originator),
             PK_TEST(completing_a_request_twice_is_a_verifier_stop),
             PK_TEST(request_attributes_give_each_request_a_zeroed_context_and_callbacks),
             PK_TEST(steady_state_request_path_allocates_nothing),
             PK_TEST(send_and_forget_passes_the_request_down),
             PK_TEST(forward_with_completion_routine_lets_the_driver_complete),
             PK_TEST(created_request_is_formatted_sent_and_reused),
             PK_TEST(reuse_refuses_framework_requests_and_bad_parameters),
             PK_TEST(request_file_object_is_the_handle_it_came_through),
             PK_TEST(request_without_file_object_needs_can_be_optional))
