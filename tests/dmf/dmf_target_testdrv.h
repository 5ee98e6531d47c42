/*
 * dmf_target_testdrv.h — the stack the RequestTarget / ContinuousRequestTarget tests send to:
 * a WDF upper filter (whose local target the modules use) above the WDM function driver of
 * tests/wdf/wdf_testdrv.h, which completes WT_IOCTL_ECHO inline, WT_IOCTL_LATER from a worker
 * thread, never completes WT_IOCTL_NEVER (cancelable), fills reads with 'r' and counts writes.
 * The modules live on a plain framework object (deleted by dt_finish).
 */
#ifndef DMF_TARGET_TESTDRV_H
#define DMF_TARGET_TESTDRV_H

#include "../wdf/wdf_testdrv.h"
#include <pnpkit/dmf.h>

static HSWDEVICE dt_h;
static WDFIOTARGET dt_target;
static WDFOBJECT dt_parent;

static WT_UNUSED void dt_setup(PCWSTR name)
{
    wt_reset();
    wt_cfg[0].name = "filt";
    wtw_cfg[0].name = "wdm";
    wt_register_wdm(0, WT_FUNCTION);
    wt_register_wdf(0, WT_UPPER);
    wtw_start_worker();
    dt_h = wt_device_create(name, NULL);
    dt_target = WdfDeviceGetIoTarget(wt_st[0].device);
    assert_non_null(dt_target);
    assert_int_equal(WdfObjectCreate(WDF_NO_OBJECT_ATTRIBUTES, &dt_parent), STATUS_SUCCESS);
}

static WT_UNUSED void dt_finish(void)
{
    if (dt_parent)
        WdfObjectDelete(dt_parent);
    dt_parent = NULL;
    wtw_flush_never();
    wt_device_close(dt_h);
    wt_teardown();
}

/* What a completion callback saw. */
typedef struct dt_done {
    volatile LONG calls;
    NTSTATUS status;
    size_t in_written, out_read;
    void *in, *out;
    KIRQL irql;
    pthread_t thread;
    DMFMODULE module;
    KEVENT event;
} dt_done;

static WT_UNUSED void dt_done_init(dt_done *d)
{
    memset(d, 0, sizeof(*d));
    KeInitializeEvent(&d->event, NotificationEvent, FALSE);
}

static WT_UNUSED VOID dt_on_done(DMFMODULE DmfModule, VOID *ClientRequestContext, VOID *InputBuffer,
                                 size_t InputBufferBytesWritten, VOID *OutputBuffer, size_t OutputBufferBytesRead,
                                 NTSTATUS CompletionStatus)
{
    dt_done *d = ClientRequestContext;
    d->module = DmfModule;
    d->status = CompletionStatus;
    d->in = InputBuffer;
    d->out = OutputBuffer;
    d->in_written = InputBufferBytesWritten;
    d->out_read = OutputBufferBytesRead;
    d->irql = KeGetCurrentIrql();
    d->thread = pthread_self();
    InterlockedIncrement(&d->calls);
    KeSetEvent(&d->event, IO_NO_INCREMENT, FALSE);
}

#endif
