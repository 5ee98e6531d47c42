/* Stress (run under TSan): worker threads send, cancel, time out and reuse requests with
 * checksummed buffers through a ContinuousRequestTarget (dispatch) and a RequestTarget
 * (passive), while the main thread starts and stops the ContinuousRequestTarget's stream.
 * Checked: no buffer corrupted, every accepted send completed exactly once, every refused one
 * never, and (by the test teardown) no framework object left. */
#include "pk_test.h"
#include "dmf_target_testdrv.h"

enum { WORKERS = 4, OPS = 300, LEN = 32 };

typedef struct {
    unsigned char in[LEN], out[LEN];
    uint32_t seed;
    volatile LONG calls;
    NTSTATUS status;
    size_t in_written;
    PKEVENT done; /* the thread's event: it outlives every op */
} op_ctx;

static DMFMODULE crt, rt;
static volatile LONG next_thread, corruptions, accepted, completed, stream_outputs, stop_flag;

static void fill(op_ctx *o, uint32_t seed)
{
    uint32_t s = seed ? seed : 1;
    o->seed = s;
    for (int i = 0; i < LEN; i++)
        o->in[i] = (unsigned char)pk_test_rand(&s);
    memset(o->out, 0, LEN);
}

static bool intact(const unsigned char *b, uint32_t seed)
{
    uint32_t s = seed;
    for (int i = 0; i < LEN; i++)
        if (b[i] != (unsigned char)pk_test_rand(&s))
            return false;
    return true;
}

static VOID op_done(DMFMODULE DmfModule, VOID *Context, VOID *In, size_t InWritten, VOID *Out, size_t OutRead,
                    NTSTATUS Status)
{
    op_ctx *o = Context;
    if (In != o->in || !intact(o->in, o->seed) || (OutRead == LEN && !intact(o->out, o->seed)))
        InterlockedIncrement(&corruptions);
    o->status = Status;
    o->in_written = InWritten;
    InterlockedIncrement(&completed);
    if (InterlockedIncrement(&o->calls) != 1)
        InterlockedIncrement(&corruptions);
    KeSetEvent(o->done, IO_NO_INCREMENT, FALSE);
}

static ContinuousRequestTarget_BufferDisposition stream_out(DMFMODULE DmfModule, VOID *Buffer, size_t Size,
                                                            VOID *Context, NTSTATUS Status)
{
    InterlockedIncrement(&stream_outputs);
    return NT_SUCCESS(Status) ? ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndContinueStreaming
                              : ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndStopStreaming;
}

static void *worker(void *arg)
{
    uint32_t seed = (uint32_t)InterlockedIncrement(&next_thread) * 7919u + 17u;
    RequestTarget_DmfRequestReuse reuse[2];
    KEVENT done;
    op_ctx o;

    KeInitializeEvent(&done, NotificationEvent, FALSE);

    assert_int_equal(DMF_ContinuousRequestTarget_ReuseCreate(crt, &reuse[0]), STATUS_SUCCESS);
    assert_int_equal(DMF_RequestTarget_ReuseCreate(rt, &reuse[1]), STATUS_SUCCESS);
    for (int i = 0; i < OPS; i++) {
        uint32_t r = pk_test_rand(&seed);
        bool use_crt = r & 1;
        ULONG codes[3] = { WT_IOCTL_ECHO, WT_IOCTL_LATER, WT_IOCTL_NEVER };
        ULONG code = codes[(r >> 1) % 3];
        bool reuse_it = (r >> 4) & 1;
        bool cancel = (r >> 5) & 1;
        ULONG timeout = code == WT_IOCTL_NEVER && !cancel ? 2 : 0;
        RequestTarget_DmfRequestCancel id = NULL;
        NTSTATUS status;

        memset(&o, 0, sizeof(o));
        KeClearEvent(&done);
        o.done = &done;
        fill(&o, pk_test_rand(&seed));
        if (reuse_it)
            status = use_crt ? DMF_ContinuousRequestTarget_ReuseSend(crt, reuse[0], o.in, LEN, o.out, LEN,
                                                                     ContinuousRequestTarget_RequestType_Ioctl, code,
                                                                     timeout, op_done, &o, &id)
                             : DMF_RequestTarget_ReuseSend(rt, reuse[1], o.in, LEN, o.out, LEN,
                                                           ContinuousRequestTarget_RequestType_Ioctl, code, timeout,
                                                           op_done, &o, &id);
        else
            status = use_crt ? DMF_ContinuousRequestTarget_SendEx(crt, o.in, LEN, o.out, LEN,
                                                                  ContinuousRequestTarget_RequestType_Ioctl, code, timeout,
                                                                  op_done, &o, &id)
                             : DMF_RequestTarget_SendEx(rt, o.in, LEN, o.out, LEN,
                                                        ContinuousRequestTarget_RequestType_Ioctl, code, timeout, op_done,
                                                        &o, &id);
        assert_int_equal(status, STATUS_SUCCESS);
        InterlockedIncrement(&accepted);
        if (cancel)
            (void)(use_crt ? DMF_ContinuousRequestTarget_Cancel(crt, id) : DMF_RequestTarget_Cancel(rt, id));
        pk_test_wait_event(&done);
        if (code == WT_IOCTL_NEVER && o.status != STATUS_CANCELLED && o.status != STATUS_IO_TIMEOUT)
            InterlockedIncrement(&corruptions);
        if (o.status == STATUS_SUCCESS && o.in_written != LEN)
            InterlockedIncrement(&corruptions);
    }
    assert_true(DMF_ContinuousRequestTarget_ReuseDelete(crt, reuse[0]));
    assert_true(DMF_RequestTarget_ReuseDelete(rt, reuse[1]));
    return NULL;
}

static void stress_send_cancel_reuse_while_streaming(void **state)
{
    DMF_CONFIG_ContinuousRequestTarget c;
    DMF_MODULE_ATTRIBUTES a;
    pk_test_threads t;

    dt_setup(u"stress");
    DMF_CONFIG_ContinuousRequestTarget_AND_ATTRIBUTES_INIT(&c, &a);
    c.ContinuousRequestCount = 4;
    c.RequestType = ContinuousRequestTarget_RequestType_Ioctl;
    c.ContinuousRequestTargetIoctl = WT_IOCTL_LATER;
    c.BufferCountInput = 4;
    c.BufferInputSize = 16;
    c.BufferCountOutput = 4;
    c.BufferOutputSize = 16;
    c.EvtContinuousRequestTargetBufferOutput = stream_out;
    assert_int_equal(DMF_ContinuousRequestTarget_Create((WDFDEVICE)dt_parent, &a, WDF_NO_OBJECT_ATTRIBUTES, &crt),
                     STATUS_SUCCESS);
    assert_int_equal(DMF_ContinuousRequestTarget_IoTargetSet(crt, dt_target), STATUS_SUCCESS);
    DMF_RequestTarget_ATTRIBUTES_INIT(&a);
    a.PassiveLevel = TRUE;
    assert_int_equal(DMF_RequestTarget_Create((WDFDEVICE)dt_parent, &a, WDF_NO_OBJECT_ATTRIBUTES, &rt), STATUS_SUCCESS);
    assert_int_equal(DMF_RequestTarget_IoTargetSet(rt, dt_target), STATUS_SUCCESS);

    pk_test_threads_start(&t, WORKERS, worker, NULL);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(DMF_ContinuousRequestTarget_Start(crt), STATUS_SUCCESS);
        usleep(1000);
        DMF_ContinuousRequestTarget_StopAndWait(crt);
    }
    pk_test_threads_join(&t);
    assert_int_equal(corruptions, 0);
    assert_int_equal(accepted, WORKERS * OPS);
    assert_int_equal(completed, WORKERS * OPS);
    assert_true(stream_outputs > 0);
    dt_finish();
}

PK_TEST_MAIN(
    PK_TEST(stress_send_cancel_reuse_while_streaming))
