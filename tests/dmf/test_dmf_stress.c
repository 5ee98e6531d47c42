/* Stress (run under TSan in CI): threads fetch, enqueue, dequeue, reuse, enumerate and time out
 * checksummed buffers of a BufferQueue and of a source/sink BufferPool pair, each operation
 * bracketed by a DMF_ModuleReference on the queue, while the main thread closes the queue.
 * Checked at the end: no buffer was corrupted, every buffer came back exactly once (each pool
 * holds all of its buffers again), the close waited for every reference, and (by the test
 * teardown) no framework object is left. */
#include "pk_test.h"
#include <pnpkit/dmf.h>

#include <string.h>
#include <unistd.h>

enum { WORKERS = 4, BUFFERS = 16, SIZE = 64 };

typedef struct {
    uint32_t seed;
    uint32_t checksum;
} WORK;

static DMFMODULE queue, source, sink;
static int32_t inside;            /* workers between a successful reference and its release */
static int32_t queue_outstanding; /* fetched from the producer and not yet reused */
static int32_t pool_outstanding;  /* taken from the source pool and not yet returned */
static int32_t corruptions;
static int32_t operations;

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x ? x : 0x9E3779B9u;
}

static void fill(void *buffer, WORK *work, uint32_t seed)
{
    uint8_t *b = buffer;
    uint32_t s = seed, sum = 0;

    for (int i = 0; i < SIZE; i++) {
        b[i] = (uint8_t)xorshift(&s);
        sum = sum * 31 + b[i];
    }
    work->seed = seed;
    work->checksum = sum;
}

static void verify(const void *buffer, const WORK *work)
{
    const uint8_t *b = buffer;
    uint32_t s = work->seed, sum = 0;

    for (int i = 0; i < SIZE; i++) {
        uint8_t expected = (uint8_t)xorshift(&s);
        if (b[i] != expected) {
            __atomic_add_fetch(&corruptions, 1, __ATOMIC_SEQ_CST);
            return;
        }
        sum = sum * 31 + b[i];
    }
    if (sum != work->checksum)
        __atomic_add_fetch(&corruptions, 1, __ATOMIC_SEQ_CST);
}

static VOID queue_timer(DMFMODULE DmfModule, VOID *ClientBuffer, VOID *ClientBufferContext, VOID *Context)
{
    verify(ClientBuffer, ClientBufferContext);
    DMF_BufferQueue_Reuse(queue, ClientBuffer);
    __atomic_sub_fetch(&queue_outstanding, 1, __ATOMIC_SEQ_CST);
}

static VOID sink_timer(DMFMODULE DmfModule, VOID *ClientBuffer, VOID *ClientBufferContext, VOID *Context)
{
    verify(ClientBuffer, ClientBufferContext);
    DMF_BufferPool_Put(source, ClientBuffer);
    __atomic_sub_fetch(&pool_outstanding, 1, __ATOMIC_SEQ_CST);
}

/* Verifies every buffer; removes one now and then (the context is the thread's random state). */
static BufferPool_EnumerationDispositionType check_entry(DMFMODULE DmfModule, VOID *ClientBuffer,
                                                         VOID *ClientBufferContext, VOID *Context)
{
    verify(ClientBuffer, ClientBufferContext);
    switch (xorshift(Context) % 8) {
    case 0: return BufferPool_EnumerationDisposition_RemoveAndStopEnumeration;
    case 1: return BufferPool_EnumerationDisposition_ResetTimerAndContinueEnumeration;
    case 2: return BufferPool_EnumerationDisposition_StopTimerAndContinueEnumeration;
    default: return BufferPool_EnumerationDisposition_ContinueEnumeration;
    }
}

static void queue_action(uint32_t *rng)
{
    void *buffer, *context;

    switch (xorshift(rng) % 5) {
    case 0:
    case 1:
        if (!NT_SUCCESS(DMF_BufferQueue_Fetch(queue, &buffer, &context)))
            return;
        __atomic_add_fetch(&queue_outstanding, 1, __ATOMIC_SEQ_CST);
        fill(buffer, context, xorshift(rng));
        if (xorshift(rng) % 4 == 0) {
            if (!NT_SUCCESS(DMF_BufferQueue_EnqueueWithTimer(queue, buffer, 1 + xorshift(rng) % 5, queue_timer, NULL)))
                __atomic_add_fetch(&corruptions, 1, __ATOMIC_SEQ_CST);
        } else {
            DMF_BufferQueue_Enqueue(queue, buffer);
        }
        return;
    case 2:
    case 3:
        if (!NT_SUCCESS(DMF_BufferQueue_Dequeue(queue, &buffer, &context)))
            return;
        verify(buffer, context);
        DMF_BufferQueue_Reuse(queue, buffer);
        __atomic_sub_fetch(&queue_outstanding, 1, __ATOMIC_SEQ_CST);
        return;
    default:
        DMF_BufferQueue_Enumerate(queue, check_entry, rng, &buffer, &context);
        if (buffer) {
            verify(buffer, context);
            DMF_BufferQueue_Reuse(queue, buffer);
            __atomic_sub_fetch(&queue_outstanding, 1, __ATOMIC_SEQ_CST);
        }
        (void)DMF_BufferQueue_Count(queue);
        return;
    }
}

static void pool_action(uint32_t *rng)
{
    void *buffer, *context;

    switch (xorshift(rng) % 4) {
    case 0:
        if (!NT_SUCCESS(DMF_BufferPool_Get(source, &buffer, &context)))
            return;
        __atomic_add_fetch(&pool_outstanding, 1, __ATOMIC_SEQ_CST);
        fill(buffer, context, xorshift(rng));
        if (xorshift(rng) % 2)
            DMF_BufferPool_PutInSinkWithTimer(sink, buffer, 1 + xorshift(rng) % 3, sink_timer, NULL);
        else
            DMF_BufferPool_Put(sink, buffer);
        return;
    case 1:
    case 2:
        if (!NT_SUCCESS(DMF_BufferPool_Get(sink, &buffer, &context)))
            return;
        verify(buffer, context);
        DMF_BufferPool_Put(source, buffer);
        __atomic_sub_fetch(&pool_outstanding, 1, __ATOMIC_SEQ_CST);
        return;
    default:
        DMF_BufferPool_Enumerate(sink, check_entry, rng, &buffer, &context);
        if (buffer) {
            verify(buffer, context);
            DMF_BufferPool_Put(source, buffer);
            __atomic_sub_fetch(&pool_outstanding, 1, __ATOMIC_SEQ_CST);
        }
        return;
    }
}

static uint32_t next_seed;

static void *worker(void *arg)
{
    uint32_t rng = __atomic_add_fetch(&next_seed, 1, __ATOMIC_SEQ_CST) * 2654435761u;

    /* Until the queue closes: every operation holds a reference on it, as the methods of a
     * module that opens and closes asynchronously do. */
    while (NT_SUCCESS(DMF_ModuleReference(queue))) {
        __atomic_add_fetch(&inside, 1, __ATOMIC_SEQ_CST);
        if (xorshift(&rng) % 2)
            queue_action(&rng);
        else
            pool_action(&rng);
        __atomic_add_fetch(&operations, 1, __ATOMIC_RELAXED);
        __atomic_sub_fetch(&inside, 1, __ATOMIC_SEQ_CST);
        DMF_ModuleDereference(queue);
    }
    return NULL;
}

/* Waits (bounded) until a counter drains: the timers still armed deliver their buffers. */
static void wait_for_zero(int32_t *counter)
{
    for (int i = 0; i < 1000 && __atomic_load_n(counter, __ATOMIC_SEQ_CST) != 0; i++)
        usleep(5000);
    assert_int_equal(__atomic_load_n(counter, __ATOMIC_SEQ_CST), 0);
}

static void run(BOOLEAN passive)
{
    WDFOBJECT device;
    DMF_CONFIG_BufferQueue qc;
    DMF_CONFIG_BufferPool pc;
    DMF_MODULE_ATTRIBUTES a;
    pk_test_threads threads;
    void *buffers[BUFFERS + 1];

    assert_int_equal(WdfObjectCreate(WDF_NO_OBJECT_ATTRIBUTES, &device), STATUS_SUCCESS);
    DMF_CONFIG_BufferQueue_AND_ATTRIBUTES_INIT(&qc, &a);
    qc.SourceSettings.BufferCount = BUFFERS;
    qc.SourceSettings.BufferSize = SIZE;
    qc.SourceSettings.BufferContextSize = sizeof(WORK);
    qc.SourceSettings.CreateWithTimer = TRUE;
    a.PassiveLevel = passive;
    assert_int_equal(DMF_BufferQueue_Create((WDFDEVICE)device, &a, NULL, &queue), STATUS_SUCCESS);

    DMF_CONFIG_BufferPool_AND_ATTRIBUTES_INIT(&pc, &a);
    pc.BufferPoolMode = BufferPool_Mode_Source;
    pc.Mode.SourceSettings = qc.SourceSettings;
    a.PassiveLevel = passive;
    assert_int_equal(DMF_BufferPool_Create((WDFDEVICE)device, &a, NULL, &source), STATUS_SUCCESS);
    DMF_CONFIG_BufferPool_AND_ATTRIBUTES_INIT(&pc, &a);
    pc.BufferPoolMode = BufferPool_Mode_Sink;
    a.PassiveLevel = passive;
    assert_int_equal(DMF_BufferPool_Create((WDFDEVICE)device, &a, NULL, &sink), STATUS_SUCCESS);

    pk_test_threads_start(&threads, WORKERS, worker, NULL);
    usleep(400 * 1000);
    DMF_ModuleClose(queue); /* waits for every reference the workers hold */
    assert_int_equal(__atomic_load_n(&inside, __ATOMIC_SEQ_CST), 0);
    assert_int_equal(DMF_ModuleReference(queue), STATUS_INVALID_DEVICE_STATE);
    pk_test_threads_join(&threads);
    assert_true(__atomic_load_n(&operations, __ATOMIC_RELAXED) > 100);

    /* Return everything: the work left in the consumer and the sink, and whatever the armed
     * timers still deliver. */
    while (NT_SUCCESS(DMF_BufferQueue_Dequeue(queue, &buffers[0], NULL))) {
        DMF_BufferQueue_Reuse(queue, buffers[0]);
        __atomic_sub_fetch(&queue_outstanding, 1, __ATOMIC_SEQ_CST);
    }
    while (NT_SUCCESS(DMF_BufferPool_Get(sink, &buffers[0], NULL))) {
        DMF_BufferPool_Put(source, buffers[0]);
        __atomic_sub_fetch(&pool_outstanding, 1, __ATOMIC_SEQ_CST);
    }
    wait_for_zero(&queue_outstanding);
    wait_for_zero(&pool_outstanding);
    assert_int_equal(corruptions, 0);

    /* Every buffer came back exactly once: each pool holds exactly its BUFFERS buffers. */
    for (int i = 0; i < BUFFERS; i++)
        assert_int_equal(DMF_BufferQueue_Fetch(queue, &buffers[i], NULL), STATUS_SUCCESS);
    assert_int_equal(DMF_BufferQueue_Fetch(queue, &buffers[BUFFERS], NULL), STATUS_UNSUCCESSFUL);
    for (int i = 0; i < BUFFERS; i++)
        DMF_BufferQueue_Reuse(queue, buffers[i]);
    assert_int_equal(DMF_BufferPool_Count(source), BUFFERS);
    assert_int_equal(DMF_BufferPool_Count(sink), 0);
    assert_int_equal(DMF_BufferQueue_Count(queue), 0);

    WdfObjectDelete(device);
}

/* Spec 3 (concurrency), D69, D74 and 1.2 ownership, dispatch-level modules (spin locks). */
static void buffers_survive_concurrent_use_while_the_queue_is_referenced_and_closed(void **state) { run(FALSE); }

/* The same with passive modules (sleeping locks). */
static void passive_buffers_survive_concurrent_use_while_the_queue_is_referenced_and_closed(void **state)
{
    run(TRUE);
}

PK_TEST_MAIN(PK_TEST(buffers_survive_concurrent_use_while_the_queue_is_referenced_and_closed),
             PK_TEST(passive_buffers_survive_concurrent_use_while_the_queue_is_referenced_and_closed))
