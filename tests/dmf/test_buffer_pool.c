/* DMF_BufferPool (spec dmf.md 1.2 and behaviours D59-D67): source and sink pools, look-aside,
 * timers, enumeration, guards, ownership. */
#include "pk_test.h"
#include <pnpkit/dmf.h>

#include <string.h>
#include <unistd.h>

typedef struct {
    uint32_t tag;
    uint8_t bytes[12];
} BUFFER_CONTEXT;

static WDFOBJECT make_device(void)
{
    WDFOBJECT device;
    assert_int_equal(WdfObjectCreate(WDF_NO_OBJECT_ATTRIBUTES, &device), STATUS_SUCCESS);
    return device;
}

static NTSTATUS create_pool(WDFOBJECT device, const DMF_CONFIG_BufferPool *config, BOOLEAN passive, DMFMODULE *pool)
{
    DMF_CONFIG_BufferPool c;
    DMF_MODULE_ATTRIBUTES a;

    DMF_CONFIG_BufferPool_AND_ATTRIBUTES_INIT(&c, &a);
    c = *config;
    a.PassiveLevel = passive;
    return DMF_BufferPool_Create((WDFDEVICE)device, &a, WDF_NO_OBJECT_ATTRIBUTES, pool);
}

static DMFMODULE source_pool(WDFOBJECT device, ULONG count, ULONG size, ULONG context_size, ULONG lookaside,
                             ULONG timer)
{
    DMF_CONFIG_BufferPool c;
    DMF_MODULE_ATTRIBUTES a;
    DMFMODULE pool;

    DMF_CONFIG_BufferPool_AND_ATTRIBUTES_INIT(&c, &a);
    c.BufferPoolMode = BufferPool_Mode_Source;
    c.Mode.SourceSettings.BufferCount = count;
    c.Mode.SourceSettings.BufferSize = size;
    c.Mode.SourceSettings.BufferContextSize = context_size;
    c.Mode.SourceSettings.EnableLookAside = lookaside;
    c.Mode.SourceSettings.CreateWithTimer = timer;
    assert_int_equal(create_pool(device, &c, FALSE, &pool), STATUS_SUCCESS);
    return pool;
}

static DMFMODULE sink_pool(WDFOBJECT device, BOOLEAN passive)
{
    DMF_CONFIG_BufferPool c;
    DMF_MODULE_ATTRIBUTES a;
    DMFMODULE pool;

    DMF_CONFIG_BufferPool_AND_ATTRIBUTES_INIT(&c, &a);
    c.BufferPoolMode = BufferPool_Mode_Sink;
    assert_int_equal(create_pool(device, &c, passive, &pool), STATUS_SUCCESS);
    return pool;
}

static void *get(DMFMODULE pool)
{
    void *buffer = NULL;
    assert_int_equal(DMF_BufferPool_Get(pool, &buffer, NULL), STATUS_SUCCESS);
    assert_non_null(buffer);
    return buffer;
}

static bool all_bytes(const void *p, int value, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (((const uint8_t *)p)[i] != (uint8_t)value)
            return false;
    return true;
}

/* ---- Timer callback recorder ---- */
static struct {
    KEVENT fired;
    volatile int count;
    DMFMODULE module;
    void *buffer, *context, *callback_context;
    KIRQL irql;
    uint64_t at_ms;
    unsigned sleep_ms;
    volatile LONG started;
} timer_record;

static VOID on_timer(DMFMODULE DmfModule, VOID *ClientBuffer, VOID *ClientBufferContext, VOID *ClientDriverCallbackContext)
{
    timer_record.module = DmfModule;
    timer_record.buffer = ClientBuffer;
    timer_record.context = ClientBufferContext;
    timer_record.callback_context = ClientDriverCallbackContext;
    timer_record.irql = KeGetCurrentIrql();
    timer_record.at_ms = pk_test_now_ms();
    __atomic_store_n(&timer_record.started, 1, __ATOMIC_SEQ_CST);
    if (timer_record.sleep_ms)
        usleep(timer_record.sleep_ms * 1000u);
    __atomic_add_fetch(&timer_record.count, 1, __ATOMIC_SEQ_CST);
    KeSetEvent(&timer_record.fired, IO_NO_INCREMENT, FALSE);
}

static void timer_record_init(void)
{
    memset(&timer_record, 0, sizeof(timer_record));
    KeInitializeEvent(&timer_record.fired, NotificationEvent, FALSE);
}

/* =============================================================================================
 * Config (1.2 "Config"; D67)
 * ============================================================================================= */

/* Spec 1.2: mode Invalid fails create; a source pool without look-aside needs BufferCount > 0;
 * a sink pool needs BufferCount 0 and no look-aside. All STATUS_INVALID_PARAMETER. */
static void pool_config_rules_are_checked_at_create(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_BufferPool c;
    DMF_MODULE_ATTRIBUTES a;
    DMFMODULE pool = NULL;

    pk_test_capture_verifier();
    DMF_CONFIG_BufferPool_AND_ATTRIBUTES_INIT(&c, &a);
    assert_int_equal(c.Mode.SourceSettings.PoolType, NonPagedPoolNx); /* the one non-zero default */
    assert_int_equal(create_pool(device, &c, FALSE, &pool), STATUS_INVALID_PARAMETER); /* Invalid mode */

    c.BufferPoolMode = BufferPool_Mode_Source;
    c.Mode.SourceSettings.BufferSize = 16;
    assert_int_equal(create_pool(device, &c, FALSE, &pool), STATUS_INVALID_PARAMETER); /* no buffers */
    c.Mode.SourceSettings.EnableLookAside = TRUE;
    assert_int_equal(create_pool(device, &c, FALSE, &pool), STATUS_SUCCESS); /* look-aside only: fine */
    WdfObjectDelete(pool);

    c.BufferPoolMode = BufferPool_Mode_Sink;
    assert_int_equal(create_pool(device, &c, FALSE, &pool), STATUS_INVALID_PARAMETER); /* look-aside sink */
    c.Mode.SourceSettings.EnableLookAside = FALSE;
    c.Mode.SourceSettings.BufferCount = 1;
    assert_int_equal(create_pool(device, &c, FALSE, &pool), STATUS_INVALID_PARAMETER); /* counted sink */
    WdfObjectDelete(device);
}

/* D67: a paged PoolType without PassiveLevel fails with STATUS_INVALID_PARAMETER (and a
 * verifier stop); with PassiveLevel it is accepted. */
static void paged_pool_type_without_passive_level_fails_create(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_BufferPool c;
    DMF_MODULE_ATTRIBUTES a;
    DMFMODULE pool;

    pk_test_capture_verifier();
    DMF_CONFIG_BufferPool_AND_ATTRIBUTES_INIT(&c, &a);
    c.BufferPoolMode = BufferPool_Mode_Source;
    c.Mode.SourceSettings.BufferCount = 2;
    c.Mode.SourceSettings.BufferSize = 32;
    c.Mode.SourceSettings.PoolType = PagedPool;
    assert_int_equal(create_pool(device, &c, FALSE, &pool), STATUS_INVALID_PARAMETER);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("paged pool type"));
    c.Mode.SourceSettings.PoolType = (POOL_TYPE)5; /* PagedPoolCacheAligned */
    assert_int_equal(create_pool(device, &c, FALSE, &pool), STATUS_INVALID_PARAMETER);
    assert_int_equal(create_pool(device, &c, TRUE, &pool), STATUS_SUCCESS);
    assert_true(DMF_IsModulePassiveLevel(pool));
    assert_int_equal(DMF_BufferPool_Count(pool), 2);
    WdfObjectDelete(device);
}

/* =============================================================================================
 * Get, Put, PutAtHead (D59-D61)
 * ============================================================================================= */

/* D59: on a source pool of N buffers without look-aside, N Gets succeed and the next returns
 * STATUS_UNSUCCESSFUL. */
static void source_pool_of_n_buffers_runs_dry_after_n_gets(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE pool = source_pool(device, 4, 64, 0, FALSE, FALSE);
    void *buffers[4], *extra = NULL, *context = (void *)1;
    WDF_MEMORY_DESCRIPTOR descriptor;

    assert_int_equal(DMF_BufferPool_Count(pool), 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(DMF_BufferPool_Get(pool, &buffers[i], &context), STATUS_SUCCESS);
        assert_null(context); /* no BufferContextSize */
        for (int j = 0; j < i; j++)
            assert_ptr_not_equal(buffers[i], buffers[j]);
    }
    assert_int_equal(DMF_BufferPool_Get(pool, &extra, NULL), STATUS_UNSUCCESSFUL);
    assert_null(extra);
    assert_int_equal(DMF_BufferPool_GetWithMemoryDescriptor(pool, &extra, &descriptor, &context),
                     STATUS_INSUFFICIENT_RESOURCES);
    assert_int_equal(DMF_BufferPool_Count(pool), 0);
    for (int i = 0; i < 4; i++)
        DMF_BufferPool_Put(pool, buffers[i]);
    assert_int_equal(DMF_BufferPool_Count(pool), 4);
    WdfObjectDelete(device);
}

/* D59: Gets follow Put order, and PutAtHead makes that buffer the next one returned. */
static void gets_follow_put_order_and_put_at_head_comes_first(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE pool = source_pool(device, 3, 16, 0, FALSE, FALSE);
    void *a = get(pool), *b = get(pool), *c = get(pool);

    DMF_BufferPool_Put(pool, b);
    DMF_BufferPool_Put(pool, a);
    DMF_BufferPool_PutAtHead(pool, c);
    assert_ptr_equal(get(pool), c);
    assert_ptr_equal(get(pool), b);
    assert_ptr_equal(get(pool), a);
    DMF_BufferPool_Put(pool, a);
    DMF_BufferPool_Put(pool, b);
    DMF_BufferPool_Put(pool, c);
    WdfObjectDelete(device);
}

/* D60: on a source pool with look-aside, a Get on an empty pool succeeds, and after every
 * buffer is returned Count equals N, never more. */
static void lookaside_get_on_empty_pool_succeeds_and_count_returns_to_n(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE pool = source_pool(device, 2, 100, sizeof(BUFFER_CONTEXT), TRUE, FALSE);
    void *buffers[6];

    for (int i = 0; i < 6; i++) {
        BUFFER_CONTEXT *context = NULL;
        assert_int_equal(DMF_BufferPool_Get(pool, &buffers[i], (void **)&context), STATUS_SUCCESS);
        assert_non_null(context);
        assert_true(all_bytes(buffers[i], 0, 100)); /* new look-aside buffers are zeroed too */
        assert_true(all_bytes(context, 0, sizeof(*context)));
        memset(buffers[i], 0x5A, 100);
    }
    assert_int_equal(DMF_BufferPool_Count(pool), 0);
    for (int i = 0; i < 6; i++) {
        DMF_BufferPool_Put(pool, buffers[i]);
        assert_true(DMF_BufferPool_Count(pool) <= 2);
    }
    assert_int_equal(DMF_BufferPool_Count(pool), 2);
    WdfObjectDelete(device);
}

/* D60: a look-aside pool with BufferCount 0 allocates every buffer and keeps none. */
static void lookaside_pool_without_buffers_keeps_none_when_idle(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE pool = source_pool(device, 0, 32, 0, TRUE, FALSE);
    void *a = get(pool), *b = get(pool);

    DMF_BufferPool_Put(pool, a);
    DMF_BufferPool_Put(pool, b);
    assert_int_equal(DMF_BufferPool_Count(pool), 0);
    WdfObjectDelete(device);
}

/* D61: a Put into a source pool zeroes the buffer and its context. */
static void put_into_source_zeroes_buffer_and_context(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE pool = source_pool(device, 1, 40, sizeof(BUFFER_CONTEXT), FALSE, FALSE);
    BUFFER_CONTEXT *context;
    void *buffer;

    assert_int_equal(DMF_BufferPool_Get(pool, &buffer, (void **)&context), STATUS_SUCCESS);
    memset(buffer, 0xAB, 40);
    memset(context, 0xCD, sizeof(*context));
    DMF_BufferPool_Put(pool, buffer);
    assert_int_equal(DMF_BufferPool_Get(pool, &buffer, (void **)&context), STATUS_SUCCESS);
    assert_true(all_bytes(buffer, 0, 40));
    assert_true(all_bytes(context, 0, sizeof(*context)));
    DMF_BufferPool_Put(pool, buffer);
    WdfObjectDelete(device);
}

/* D61: a Put into a sink pool leaves the buffer and its context untouched. */
static void put_into_sink_leaves_contents_untouched(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE source = source_pool(device, 1, 40, sizeof(BUFFER_CONTEXT), FALSE, FALSE);
    DMFMODULE sink = sink_pool(device, FALSE);
    BUFFER_CONTEXT *context, *context2;
    void *buffer;

    assert_int_equal(DMF_BufferPool_Get(source, &buffer, (void **)&context), STATUS_SUCCESS);
    memset(buffer, 0xAB, 40);
    context->tag = 0x1234;
    DMF_BufferPool_Put(sink, buffer);
    assert_int_equal(DMF_BufferPool_Count(sink), 1);
    assert_int_equal(DMF_BufferPool_Get(sink, &buffer, (void **)&context2), STATUS_SUCCESS);
    assert_ptr_equal(context2, context);
    assert_true(all_bytes(buffer, 0xAB, 40));
    assert_int_equal(context->tag, 0x1234);
    DMF_BufferPool_Put(source, buffer);
    WdfObjectDelete(device);
}

/* Spec 1.2 "Ownership": a sink accepts buffers from any source pool; a source pool refuses a
 * foreign buffer (verifier stop, the buffer stays with the client). */
static void source_pool_refuses_a_foreign_buffer(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE a = source_pool(device, 1, 8, 0, FALSE, FALSE), b = source_pool(device, 1, 8, 0, FALSE, FALSE);
    DMFMODULE sink = sink_pool(device, FALSE);
    void *from_a = get(a), *from_b = get(b);

    pk_test_capture_verifier();
    DMF_BufferPool_Put(b, from_a);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("another source pool"));
    assert_int_equal(DMF_BufferPool_Count(b), 0);
    DMF_BufferPool_Put(sink, from_a);
    DMF_BufferPool_Put(sink, from_b);
    assert_int_equal(DMF_BufferPool_Count(sink), 2);
    assert_int_equal(pk_test_verifier_stops(), 1);
    DMF_BufferPool_Put(a, get(sink));
    DMF_BufferPool_Put(b, get(sink));
    WdfObjectDelete(device);
}

/* Spec 1.2: the methods work at DISPATCH_LEVEL on a dispatch pool. */
static void methods_work_at_dispatch_level(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE pool = source_pool(device, 1, 8, 0, TRUE, FALSE);
    void *a, *b;
    KIRQL old;

    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(DMF_BufferPool_Get(pool, &a, NULL), STATUS_SUCCESS);
    assert_int_equal(DMF_BufferPool_Get(pool, &b, NULL), STATUS_SUCCESS); /* look-aside, at DISPATCH */
    DMF_BufferPool_Put(pool, a);
    DMF_BufferPool_Put(pool, b);
    assert_int_equal(DMF_BufferPool_Count(pool), 1);
    KeLowerIrql(old);
    WdfObjectDelete(device);
}

/* =============================================================================================
 * Guards (D64, D65)
 * ============================================================================================= */

/* D64: writing past BufferSize is caught by the sentinel check at the next Put (a verifier
 * stop; the buffer stays with the client). */
static void overrun_past_buffer_size_is_caught_at_put(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE pool = source_pool(device, 1, 10, 4, FALSE, FALSE);
    uint8_t *buffer = get(pool), saved;

    pk_test_capture_verifier();
    saved = buffer[10];
    buffer[10] = (uint8_t)~saved; /* one byte past BufferSize */
    DMF_BufferPool_Put(pool, buffer);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("data sentinel"));
    assert_int_equal(DMF_BufferPool_Count(pool), 0);
    buffer[10] = saved;
    DMF_BufferPool_Put(pool, buffer);
    assert_int_equal(DMF_BufferPool_Count(pool), 1);
    WdfObjectDelete(device);
}

/* D64: writing past BufferContextSize is caught at the next Get, ContextGet and ParametersGet. */
static void overrun_past_context_size_is_caught_at_get_context_get_and_parameters_get(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE source = source_pool(device, 1, 16, 5, FALSE, FALSE);
    DMFMODULE sink = sink_pool(device, FALSE);
    uint8_t *context, saved;
    void *buffer, *got, *ctx_out = NULL;
    ULONG size = 0;

    pk_test_capture_verifier();
    assert_int_equal(DMF_BufferPool_Get(source, &buffer, (void **)&context), STATUS_SUCCESS);
    DMF_BufferPool_Put(sink, buffer);
    saved = context[5];
    context[5] = (uint8_t)~saved; /* overrun while the buffer is in the sink */
    DMF_BufferPool_ContextGet(sink, buffer, &ctx_out);
    assert_null(ctx_out);
    DMF_BufferPool_ParametersGet(sink, buffer, NULL, NULL, &size, NULL, NULL);
    assert_int_equal(size, 0);
    assert_int_equal(DMF_BufferPool_Get(sink, &got, NULL), STATUS_SUCCESS); /* caught, still returned */
    assert_int_equal(pk_test_verifier_stops(), 3);
    assert_true(pk_test_verifier_saw("context sentinel"));
    context[5] = saved;
    DMF_BufferPool_Put(source, got);
    assert_int_equal(pk_test_verifier_stops(), 3);
    WdfObjectDelete(device);
}

/* D64: a pointer that did not come from a pool is caught by the signature check. */
static void foreign_pointer_is_caught_by_the_signature_check(void **state)
{
    static uint8_t storage[512] __attribute__((aligned(16)));
    WDFOBJECT device = make_device();
    DMFMODULE sink = sink_pool(device, FALSE);
    void *ctx_out = NULL;

    pk_test_capture_verifier();
    DMF_BufferPool_Put(sink, storage + 256);
    DMF_BufferPool_ContextGet(sink, storage + 256, &ctx_out);
    DMF_BufferPool_Put(sink, storage + 3);
    assert_int_equal(pk_test_verifier_stops(), 3);
    assert_true(pk_test_verifier_saw("not a DMF_BufferPool buffer"));
    assert_int_equal(DMF_BufferPool_Count(sink), 0);
    WdfObjectDelete(device);
}

/* D65: putting a buffer that is already in a pool is caught (verifier stop, nothing moves). */
static void putting_a_buffer_already_in_a_pool_is_caught(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE source = source_pool(device, 2, 8, 0, FALSE, FALSE);
    DMFMODULE sink = sink_pool(device, FALSE);
    void *buffer = get(source);

    pk_test_capture_verifier();
    DMF_BufferPool_Put(sink, buffer);
    DMF_BufferPool_Put(source, buffer);
    DMF_BufferPool_Put(sink, buffer);
    assert_int_equal(pk_test_verifier_stops(), 2);
    assert_true(pk_test_verifier_saw("already in a pool"));
    assert_int_equal(DMF_BufferPool_Count(source), 1);
    assert_int_equal(DMF_BufferPool_Count(sink), 1);
    DMF_BufferPool_Put(source, get(sink));
    WdfObjectDelete(device);
}

/* D66: ParametersGet returns the size, context size, context pointer and memory handle that
 * Get and GetWithMemory returned. */
static void parameters_get_matches_get_with_memory(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE pool = source_pool(device, 2, 48, sizeof(BUFFER_CONTEXT), FALSE, FALSE);
    WDF_MEMORY_DESCRIPTOR descriptor, descriptor2;
    void *buffer, *context, *buffer2, *context2, *p_context = NULL;
    WDFMEMORY memory = NULL, p_memory = NULL;
    ULONG size = 0, context_size = 0;
    size_t memory_size = 0;

    assert_int_equal(DMF_BufferPool_GetWithMemory(pool, &buffer, &context, &memory), STATUS_SUCCESS);
    DMF_BufferPool_ParametersGet(pool, buffer, &descriptor, &p_memory, &size, &p_context, &context_size);
    assert_ptr_equal(p_memory, memory);
    assert_ptr_equal(p_context, context);
    assert_int_equal(size, 48);
    assert_int_equal(context_size, sizeof(BUFFER_CONTEXT));
    assert_ptr_equal(WdfMemoryGetBuffer(memory, &memory_size), buffer);
    assert_int_equal(memory_size, 48);
    assert_int_equal(descriptor.Type, WdfMemoryDescriptorTypeBuffer);
    assert_ptr_equal(descriptor.u.BufferType.Buffer, buffer);
    assert_int_equal(descriptor.u.BufferType.Length, 48);

    assert_int_equal(DMF_BufferPool_GetWithMemoryDescriptor(pool, &buffer2, &descriptor2, &context2), STATUS_SUCCESS);
    assert_ptr_equal(descriptor2.u.BufferType.Buffer, buffer2);
    DMF_BufferPool_ContextGet(pool, buffer2, &p_context);
    assert_ptr_equal(p_context, context2);
    DMF_BufferPool_Put(pool, buffer);
    DMF_BufferPool_Put(pool, buffer2);
    WdfObjectDelete(device);
}

/* =============================================================================================
 * Timers (D62)
 * ============================================================================================= */

/* D62: PutInSinkWithTimer hands the buffer to its timer callback after about the given time,
 * at PASSIVE_LEVEL, with the sink, the buffer, its context and the callback context; the
 * client owns the buffer from then on. */
static void timer_hands_the_buffer_to_its_callback_after_the_deadline(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE source = source_pool(device, 1, 8, sizeof(BUFFER_CONTEXT), FALSE, TRUE);
    DMFMODULE sink = sink_pool(device, FALSE);
    void *buffer, *context;
    uint64_t start;

    timer_record_init();
    assert_int_equal(DMF_BufferPool_Get(source, &buffer, &context), STATUS_SUCCESS);
    start = pk_test_now_ms();
    DMF_BufferPool_PutInSinkWithTimer(sink, buffer, 100, on_timer, (void *)0x77);
    assert_int_equal(DMF_BufferPool_Count(sink), 1);
    pk_test_wait_event(&timer_record.fired);
    assert_true(timer_record.at_ms - start >= 95);
    assert_int_equal(timer_record.count, 1);
    assert_ptr_equal(timer_record.module, sink);
    assert_ptr_equal(timer_record.buffer, buffer);
    assert_ptr_equal(timer_record.context, context);
    assert_ptr_equal(timer_record.callback_context, (void *)0x77);
    assert_int_equal(timer_record.irql, PASSIVE_LEVEL);
    assert_int_equal(DMF_BufferPool_Count(sink), 0);
    DMF_BufferPool_Put(source, buffer); /* the client's to return */
    WdfObjectDelete(device);
}

/* D62: a Get before the deadline stops the timer: the callback never runs. */
static void get_before_the_deadline_stops_the_timer(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE source = source_pool(device, 1, 8, 0, FALSE, TRUE);
    DMFMODULE sink = sink_pool(device, FALSE);
    void *buffer = get(source);

    timer_record_init();
    DMF_BufferPool_PutInSinkWithTimer(sink, buffer, 400, on_timer, NULL);
    assert_ptr_equal(get(sink), buffer);
    usleep(550 * 1000);
    assert_int_equal(timer_record.count, 0);
    DMF_BufferPool_Put(source, buffer);
    WdfObjectDelete(device);
}

static BufferPool_EnumerationDispositionType answer;
static int enumerated;
static KIRQL enumerate_irql;
static DMFMODULE enumerated_module;

static BufferPool_EnumerationDispositionType on_enumerate(DMFMODULE DmfModule, VOID *ClientBuffer,
                                                          VOID *ClientBufferContext, VOID *ClientDriverCallbackContext)
{
    enumerated++;
    enumerate_irql = KeGetCurrentIrql();
    enumerated_module = DmfModule;
    if (ClientDriverCallbackContext)
        return ClientBuffer == ClientDriverCallbackContext ? answer
                                                           : BufferPool_EnumerationDisposition_ContinueEnumeration;
    return answer;
}

/* D62: an Enumerate that removes the buffer before the deadline stops the timer. */
static void enumerate_removing_the_buffer_stops_its_timer(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE source = source_pool(device, 1, 8, 0, FALSE, TRUE);
    DMFMODULE sink = sink_pool(device, FALSE);
    void *buffer = get(source), *removed = NULL;

    timer_record_init();
    DMF_BufferPool_PutInSinkWithTimer(sink, buffer, 400, on_timer, NULL);
    answer = BufferPool_EnumerationDisposition_RemoveAndStopEnumeration;
    DMF_BufferPool_Enumerate(sink, on_enumerate, NULL, &removed, NULL);
    assert_ptr_equal(removed, buffer);
    usleep(550 * 1000);
    assert_int_equal(timer_record.count, 0);
    DMF_BufferPool_Put(source, buffer);
    WdfObjectDelete(device);
}

/* Spec 1.2 "Timers": PutInSinkWithTimer requires a sink pool, a buffer whose source has
 * CreateWithTimer, and a callback; otherwise a verifier stop, and the buffer stays with the
 * client. */
static void put_in_sink_with_timer_requires_a_sink_and_a_timer_buffer(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE timed = source_pool(device, 1, 8, 0, FALSE, TRUE);
    DMFMODULE plain = source_pool(device, 1, 8, 0, FALSE, FALSE);
    DMFMODULE sink = sink_pool(device, FALSE);
    void *t = get(timed), *p = get(plain);

    pk_test_capture_verifier();
    DMF_BufferPool_PutInSinkWithTimer(timed, t, 10, on_timer, NULL); /* a source pool */
    DMF_BufferPool_PutInSinkWithTimer(sink, p, 10, on_timer, NULL);  /* no timer */
    DMF_BufferPool_PutInSinkWithTimer(sink, t, 10, NULL, NULL);      /* no callback */
    assert_int_equal(pk_test_verifier_stops(), 3);
    assert_int_equal(DMF_BufferPool_Count(sink), 0);
    DMF_BufferPool_Put(timed, t);
    DMF_BufferPool_Put(plain, p);
    WdfObjectDelete(device);
}

/* Spec 1.2 "Timers": timers work with look-aside buffers (a pnpkit addition). */
static void timers_work_with_lookaside_buffers(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE source = source_pool(device, 0, 8, 0, TRUE, TRUE);
    DMFMODULE sink = sink_pool(device, FALSE);
    void *buffer = get(source);

    timer_record_init();
    DMF_BufferPool_PutInSinkWithTimer(sink, buffer, 20, on_timer, NULL);
    pk_test_wait_event(&timer_record.fired);
    assert_ptr_equal(timer_record.buffer, buffer);
    DMF_BufferPool_Put(source, buffer); /* an additional buffer: freed */
    assert_int_equal(DMF_BufferPool_Count(source), 0);
    WdfObjectDelete(device);
}

/* =============================================================================================
 * Enumerate (D63)
 * ============================================================================================= */

/* D63: Continue visits every buffer in list order, Stop ends the enumeration. */
static void enumerate_continue_visits_all_and_stop_ends(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE source = source_pool(device, 3, 8, 0, FALSE, FALSE);
    DMFMODULE sink = sink_pool(device, FALSE);

    for (int i = 0; i < 3; i++)
        DMF_BufferPool_Put(sink, get(source));
    answer = BufferPool_EnumerationDisposition_ContinueEnumeration;
    enumerated = 0;
    DMF_BufferPool_Enumerate(sink, on_enumerate, NULL, NULL, NULL);
    assert_int_equal(enumerated, 3);
    assert_ptr_equal(enumerated_module, sink);
    assert_int_equal(enumerate_irql, DISPATCH_LEVEL); /* under the pool's spin lock */
    answer = BufferPool_EnumerationDisposition_StopEnumeration;
    enumerated = 0;
    DMF_BufferPool_Enumerate(sink, on_enumerate, NULL, NULL, NULL);
    assert_int_equal(enumerated, 1);
    assert_int_equal(DMF_BufferPool_Count(sink), 3);
    for (int i = 0; i < 3; i++)
        DMF_BufferPool_Put(source, get(sink));
    WdfObjectDelete(device);
}

/* D63: RemoveAndStop returns the buffer and its context through the out parameters. */
static void enumerate_remove_and_stop_returns_the_buffer_and_its_context(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE source = source_pool(device, 3, 8, sizeof(BUFFER_CONTEXT), FALSE, FALSE);
    DMFMODULE sink = sink_pool(device, FALSE);
    void *buffers[3], *contexts[3], *removed = (void *)1, *removed_context = NULL;

    for (int i = 0; i < 3; i++) {
        assert_int_equal(DMF_BufferPool_Get(source, &buffers[i], &contexts[i]), STATUS_SUCCESS);
        DMF_BufferPool_Put(sink, buffers[i]);
    }
    answer = BufferPool_EnumerationDisposition_RemoveAndStopEnumeration;
    enumerated = 0;
    DMF_BufferPool_Enumerate(sink, on_enumerate, buffers[1], &removed, &removed_context);
    assert_int_equal(enumerated, 2);
    assert_ptr_equal(removed, buffers[1]);
    assert_ptr_equal(removed_context, contexts[1]);
    assert_int_equal(DMF_BufferPool_Count(sink), 2);
    /* Nothing removed: the out parameters are NULL. */
    answer = BufferPool_EnumerationDisposition_ContinueEnumeration;
    DMF_BufferPool_Enumerate(sink, on_enumerate, NULL, &removed, &removed_context);
    assert_null(removed);
    assert_null(removed_context);
    DMF_BufferPool_Put(source, buffers[1]);
    DMF_BufferPool_Put(source, get(sink));
    DMF_BufferPool_Put(source, get(sink));
    WdfObjectDelete(device);
}

/* D63: StopTimerAndStop / StopTimerAndContinue cancel the timer and keep the buffer. */
static void enumerate_stop_timer_keeps_the_buffer_with_its_timer_cancelled(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE source = source_pool(device, 2, 8, 0, FALSE, TRUE);
    DMFMODULE sink = sink_pool(device, FALSE);
    void *a = get(source), *b = get(source);

    timer_record_init();
    DMF_BufferPool_PutInSinkWithTimer(sink, a, 300, on_timer, NULL);
    DMF_BufferPool_PutInSinkWithTimer(sink, b, 300, on_timer, NULL);
    answer = BufferPool_EnumerationDisposition_StopTimerAndContinueEnumeration;
    enumerated = 0;
    DMF_BufferPool_Enumerate(sink, on_enumerate, a, NULL, NULL); /* a: StopTimerAndContinue */
    answer = BufferPool_EnumerationDisposition_StopTimerAndStopEnumeration;
    DMF_BufferPool_Enumerate(sink, on_enumerate, b, NULL, NULL); /* b: StopTimerAndStop */
    assert_int_equal(enumerated, 4);
    usleep(450 * 1000);
    assert_int_equal(timer_record.count, 0);
    assert_int_equal(DMF_BufferPool_Count(sink), 2);
    DMF_BufferPool_Put(source, get(sink));
    DMF_BufferPool_Put(source, get(sink));
    WdfObjectDelete(device);
}

/* D63: ResetTimerAndStop / ResetTimerAndContinue restart the full period. */
static void enumerate_reset_timer_restarts_the_full_period(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE source = source_pool(device, 1, 8, 0, FALSE, TRUE);
    DMFMODULE sink = sink_pool(device, FALSE);
    void *a = get(source);
    uint64_t reset_at;

    timer_record_init();
    DMF_BufferPool_PutInSinkWithTimer(sink, a, 400, on_timer, NULL);
    usleep(150 * 1000);
    answer = BufferPool_EnumerationDisposition_ResetTimerAndContinueEnumeration;
    reset_at = pk_test_now_ms();
    DMF_BufferPool_Enumerate(sink, on_enumerate, NULL, NULL, NULL);
    pk_test_wait_event(&timer_record.fired);
    assert_true(timer_record.at_ms >= reset_at + 390);
    assert_int_equal(timer_record.count, 1);

    /* ResetTimerAndStop likewise. */
    KeClearEvent(&timer_record.fired);
    DMF_BufferPool_PutInSinkWithTimer(sink, a, 400, on_timer, NULL);
    usleep(150 * 1000);
    answer = BufferPool_EnumerationDisposition_ResetTimerAndStopEnumeration;
    reset_at = pk_test_now_ms();
    DMF_BufferPool_Enumerate(sink, on_enumerate, NULL, NULL, NULL);
    pk_test_wait_event(&timer_record.fired);
    assert_true(timer_record.at_ms >= reset_at + 390);
    DMF_BufferPool_Put(source, a);
    WdfObjectDelete(device);
}

/* Spec 1.2 "Enumerate": allowed on sink pools only (verifier stop). */
static void enumerate_on_a_source_pool_is_verifier_stop(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE source = source_pool(device, 1, 8, 0, FALSE, FALSE);

    pk_test_capture_verifier();
    enumerated = 0;
    DMF_BufferPool_Enumerate(source, on_enumerate, NULL, NULL, NULL);
    assert_int_equal(enumerated, 0);
    assert_true(pk_test_verifier_saw("only sink pools"));
    WdfObjectDelete(device);
}

/* Spec 1.2 "Enumerate": the callback runs with the pool lock held; a call from it into the
 * same pool is a verifier stop and does not deadlock. */
static DMFMODULE reentered_pool;
static ULONG reentered_count = 99;

static BufferPool_EnumerationDispositionType reenter(DMFMODULE DmfModule, VOID *ClientBuffer, VOID *ClientBufferContext,
                                                     VOID *ClientDriverCallbackContext)
{
    void *other;
    reentered_count = DMF_BufferPool_Count(reentered_pool);
    assert_int_equal(DMF_BufferPool_Get(reentered_pool, &other, NULL), STATUS_INVALID_DEVICE_REQUEST);
    return BufferPool_EnumerationDisposition_StopEnumeration;
}

static void call_into_the_same_pool_from_enumeration_is_verifier_stop(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE source = source_pool(device, 1, 8, 0, FALSE, FALSE);
    DMFMODULE sink = sink_pool(device, FALSE);

    pk_test_capture_verifier();
    DMF_BufferPool_Put(sink, get(source));
    reentered_pool = sink;
    DMF_BufferPool_Enumerate(sink, reenter, NULL, NULL, NULL);
    assert_int_equal(reentered_count, 0);
    assert_int_equal(pk_test_verifier_stops(), 2);
    assert_true(pk_test_verifier_saw("already held by this thread"));
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    DMF_BufferPool_Put(source, get(sink));
    WdfObjectDelete(device);
}

/* Spec 1.1 (running passive): a passive pool's lock leaves the IRQL alone, so its enumeration
 * callback runs at PASSIVE_LEVEL. */
static void passive_pool_enumerates_at_passive_level(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE source = source_pool(device, 1, 8, 0, FALSE, FALSE);
    DMFMODULE sink = sink_pool(device, TRUE);

    DMF_BufferPool_Put(sink, get(source));
    answer = BufferPool_EnumerationDisposition_ContinueEnumeration;
    enumerate_irql = HIGH_LEVEL;
    DMF_BufferPool_Enumerate(sink, on_enumerate, NULL, NULL, NULL);
    assert_int_equal(enumerate_irql, PASSIVE_LEVEL);
    DMF_BufferPool_Put(source, get(sink));
    WdfObjectDelete(device);
}

/* =============================================================================================
 * Close (1.2 "Close")
 * ============================================================================================= */

/* Spec 1.2 "Close": Close frees the buffers in the list; buffers the client still owns stay
 * valid until it returns them, and are then freed because their pool has gone. */
static void client_buffers_outlive_their_pool_until_returned(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE pool = source_pool(device, 3, 32, sizeof(BUFFER_CONTEXT), FALSE, FALSE);
    DMFMODULE sink = sink_pool(device, FALSE);
    void *kept = get(pool), *in_sink = get(pool);

    DMF_BufferPool_Put(sink, in_sink);
    WdfObjectDelete(pool);                  /* frees the one listed buffer */
    memset(kept, 0x11, 32);                 /* still valid */
    DMF_BufferPool_Put(pool, kept);         /* its pool has gone: freed */
    assert_int_equal(DMF_BufferPool_Count(sink), 1);
    WdfObjectDelete(sink);                  /* frees the other */
    WdfObjectDelete(device);
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

/* Spec 1.2 "Close": Close stops every timer and waits for a callback that is already running. */
static void close_waits_for_a_running_timer_callback(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE source = source_pool(device, 2, 8, 0, FALSE, TRUE);
    DMFMODULE sink = sink_pool(device, FALSE);
    void *slow = get(source), *armed = get(source);

    timer_record_init();
    timer_record.sleep_ms = 300;
    DMF_BufferPool_PutInSinkWithTimer(sink, slow, 10, on_timer, NULL);
    DMF_BufferPool_PutInSinkWithTimer(sink, armed, 100000, on_timer, NULL);
    /* Wait (bounded) until the first callback runs; it then sleeps 300 ms. */
    for (int i = 0; i < 5000 && !__atomic_load_n(&timer_record.started, __ATOMIC_SEQ_CST); i++)
        usleep(1000);
    assert_true(__atomic_load_n(&timer_record.started, __ATOMIC_SEQ_CST));
    WdfObjectDelete(sink);
    /* The delete returned only after the running callback did (it counts at its end), and the
     * long timer was stopped (no second callback). */
    assert_int_equal(__atomic_load_n(&timer_record.count, __ATOMIC_SEQ_CST), 1);
    assert_true(pk_test_now_ms() >= timer_record.at_ms + 300);
    DMF_BufferPool_Put(source, slow);
    assert_int_equal(DMF_BufferPool_Count(source), 1);
    WdfObjectDelete(device);
}

PK_TEST_MAIN(PK_TEST(pool_config_rules_are_checked_at_create),
             PK_TEST(paged_pool_type_without_passive_level_fails_create),
             PK_TEST(source_pool_of_n_buffers_runs_dry_after_n_gets),
             PK_TEST(gets_follow_put_order_and_put_at_head_comes_first),
             PK_TEST(lookaside_get_on_empty_pool_succeeds_and_count_returns_to_n),
             PK_TEST(lookaside_pool_without_buffers_keeps_none_when_idle),
             PK_TEST(put_into_source_zeroes_buffer_and_context),
             PK_TEST(put_into_sink_leaves_contents_untouched),
             PK_TEST(source_pool_refuses_a_foreign_buffer),
             PK_TEST(methods_work_at_dispatch_level),
             PK_TEST(overrun_past_buffer_size_is_caught_at_put),
             PK_TEST(overrun_past_context_size_is_caught_at_get_context_get_and_parameters_get),
             PK_TEST(foreign_pointer_is_caught_by_the_signature_check),
             PK_TEST(putting_a_buffer_already_in_a_pool_is_caught),
             PK_TEST(parameters_get_matches_get_with_memory),
             PK_TEST(timer_hands_the_buffer_to_its_callback_after_the_deadline),
             PK_TEST(get_before_the_deadline_stops_the_timer),
             PK_TEST(enumerate_removing_the_buffer_stops_its_timer),
             PK_TEST(put_in_sink_with_timer_requires_a_sink_and_a_timer_buffer),
             PK_TEST(timers_work_with_lookaside_buffers),
             PK_TEST(enumerate_continue_visits_all_and_stop_ends),
             PK_TEST(enumerate_remove_and_stop_returns_the_buffer_and_its_context),
             PK_TEST(enumerate_stop_timer_keeps_the_buffer_with_its_timer_cancelled),
             PK_TEST(enumerate_reset_timer_restarts_the_full_period),
             PK_TEST(enumerate_on_a_source_pool_is_verifier_stop),
             PK_TEST(call_into_the_same_pool_from_enumeration_is_verifier_stop),
             PK_TEST(passive_pool_enumerates_at_passive_level),
             PK_TEST(client_buffers_outlive_their_pool_until_returned),
             PK_TEST(close_waits_for_a_running_timer_callback))
