/* DMF_BufferQueue (spec dmf.md 1.2 "BufferQueue", behaviours D68 and D73): a producer source
 * pool and a consumer sink pool behind one module. */
#include "pk_test.h"
#include <pnpkit/dmf.h>

#include <string.h>
#include <unistd.h>

typedef struct {
    uint32_t sequence;
} WORK_CONTEXT;

static WDFOBJECT make_device(void)
{
    WDFOBJECT device;
    assert_int_equal(WdfObjectCreate(WDF_NO_OBJECT_ATTRIBUTES, &device), STATUS_SUCCESS);
    return device;
}

static struct {
    int count;
    DMFMODULE module;
    void *buffer, *context;
    uint8_t first_byte; /* the buffer's content when the callback saw it */
} cleanup;

static VOID on_reuse_cleanup(DMFMODULE DmfModule, VOID *ClientBuffer, VOID *ClientBufferContext)
{
    cleanup.count++;
    cleanup.module = DmfModule;
    cleanup.buffer = ClientBuffer;
    cleanup.context = ClientBufferContext;
    cleanup.first_byte = *(uint8_t *)ClientBuffer;
}

static DMFMODULE create_queue(WDFOBJECT device, ULONG count, BOOLEAN timers, BOOLEAN passive)
{
    DMF_CONFIG_BufferQueue c;
    DMF_MODULE_ATTRIBUTES a;
    DMFMODULE queue;

    DMF_CONFIG_BufferQueue_AND_ATTRIBUTES_INIT(&c, &a);
    assert_int_equal(c.SourceSettings.PoolType, NonPagedPoolNx);
    c.SourceSettings.BufferCount = count;
    c.SourceSettings.BufferSize = 32;
    c.SourceSettings.BufferContextSize = sizeof(WORK_CONTEXT);
    c.SourceSettings.CreateWithTimer = timers;
    c.EvtBufferQueueReuseCleanup = on_reuse_cleanup;
    a.PassiveLevel = passive;
    assert_int_equal(DMF_BufferQueue_Create((WDFDEVICE)device, &a, WDF_NO_OBJECT_ATTRIBUTES, &queue), STATUS_SUCCESS);
    return queue;
}

static void *fetch(DMFMODULE queue, WORK_CONTEXT **context)
{
    void *buffer = NULL;
    assert_int_equal(DMF_BufferQueue_Fetch(queue, &buffer, (void **)context), STATUS_SUCCESS);
    return buffer;
}

/* D68: Fetch, Enqueue, Dequeue and Reuse move a buffer producer -> consumer -> producer. */
static void buffer_moves_from_producer_to_consumer_and_back(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE queue = create_queue(device, 2, FALSE, FALSE);
    WORK_CONTEXT *context, *dequeued_context;
    void *a, *b, *none = NULL, *dequeued;

    a = fetch(queue, &context);
    b = fetch(queue, NULL);
    assert_int_equal(DMF_BufferQueue_Fetch(queue, &none, NULL), STATUS_UNSUCCESSFUL); /* producer empty */
    assert_int_equal(DMF_BufferQueue_Count(queue), 0);

    memset(a, 0x42, 32);
    context->sequence = 7;
    DMF_BufferQueue_Enqueue(queue, a);
    assert_int_equal(DMF_BufferQueue_Count(queue), 1);
    assert_int_equal(DMF_BufferQueue_Dequeue(queue, &dequeued, (void **)&dequeued_context), STATUS_SUCCESS);
    assert_ptr_equal(dequeued, a);
    assert_ptr_equal(dequeued_context, context);
    assert_int_equal(dequeued_context->sequence, 7);
    assert_int_equal(DMF_BufferQueue_Count(queue), 0);
    assert_int_equal(DMF_BufferQueue_Dequeue(queue, &none, NULL), STATUS_UNSUCCESSFUL);

    DMF_BufferQueue_Reuse(queue, a);
    a = fetch(queue, &context); /* back in the producer, zeroed */
    assert_int_equal(context->sequence, 0);
    DMF_BufferQueue_Reuse(queue, a);
    DMF_BufferQueue_Reuse(queue, b);
    WdfObjectDelete(device);
}

/* D68: Reuse calls EvtBufferQueueReuseCleanup first, with the buffer still intact. */
static void reuse_calls_the_cleanup_callback_first(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE queue = create_queue(device, 1, FALSE, FALSE);
    WORK_CONTEXT *context;
    void *a = fetch(queue, &context);

    memset(a, 0x42, 32);
    DMF_BufferQueue_Reuse(queue, a);
    assert_int_equal(cleanup.count, 1);
    assert_ptr_equal(cleanup.module, queue);
    assert_ptr_equal(cleanup.buffer, a);
    assert_ptr_equal(cleanup.context, context);
    assert_int_equal(cleanup.first_byte, 0x42); /* before the producer zeroed it */
    WdfObjectDelete(device);
}

/* Spec 1.2 "BufferQueue": Flush moves every buffer in the consumer back to the producer
 * (through Reuse, so the cleanup callback runs for each). */
static void flush_moves_every_consumer_buffer_back_to_the_producer(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE queue = create_queue(device, 3, FALSE, FALSE);

    for (int i = 0; i < 3; i++)
        DMF_BufferQueue_Enqueue(queue, fetch(queue, NULL));
    assert_int_equal(DMF_BufferQueue_Count(queue), 3);
    DMF_BufferQueue_Flush(queue);
    assert_int_equal(DMF_BufferQueue_Count(queue), 0);
    assert_int_equal(cleanup.count, 3);
    for (int i = 0; i < 3; i++)
        DMF_BufferQueue_Reuse(queue, fetch(queue, NULL));
    WdfObjectDelete(device);
}

/* Spec 1.2 "BufferQueue": Dequeue is first in, first out; EnqueueAtHead goes first. */
static void dequeue_is_fifo_and_enqueue_at_head_goes_first(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE queue = create_queue(device, 3, FALSE, FALSE);
    void *a = fetch(queue, NULL), *b = fetch(queue, NULL), *c = fetch(queue, NULL), *d;

    DMF_BufferQueue_Enqueue(queue, a);
    DMF_BufferQueue_Enqueue(queue, b);
    DMF_BufferQueue_EnqueueAtHead(queue, c);
    assert_int_equal(DMF_BufferQueue_Dequeue(queue, &d, NULL), STATUS_SUCCESS);
    assert_ptr_equal(d, c);
    assert_int_equal(DMF_BufferQueue_Dequeue(queue, &d, NULL), STATUS_SUCCESS);
    assert_ptr_equal(d, a);
    assert_int_equal(DMF_BufferQueue_Dequeue(queue, &d, NULL), STATUS_SUCCESS);
    assert_ptr_equal(d, b);
    DMF_BufferQueue_Reuse(queue, a);
    DMF_BufferQueue_Reuse(queue, b);
    DMF_BufferQueue_Reuse(queue, c);
    WdfObjectDelete(device);
}

/* Spec 1.2 "BufferQueue": FetchWithMemory / FetchWithMemoryDescriptor and
 * DequeueWithMemoryDescriptor describe the buffer; empty sides fail. */
static void memory_variants_describe_the_buffer(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE queue = create_queue(device, 2, FALSE, FALSE);
    WDF_MEMORY_DESCRIPTOR descriptor;
    void *a, *b, *context, *d;
    WDFMEMORY memory;
    size_t size = 0;

    assert_int_equal(DMF_BufferQueue_FetchWithMemory(queue, &a, &context, &memory), STATUS_SUCCESS);
    assert_ptr_equal(WdfMemoryGetBuffer(memory, &size), a);
    assert_int_equal(size, 32);
    assert_int_equal(DMF_BufferQueue_FetchWithMemoryDescriptor(queue, &b, &descriptor, &context), STATUS_SUCCESS);
    assert_ptr_equal(descriptor.u.BufferType.Buffer, b);
    assert_int_equal(DMF_BufferQueue_FetchWithMemoryDescriptor(queue, &d, &descriptor, &context),
                     STATUS_INSUFFICIENT_RESOURCES);
    assert_int_equal(DMF_BufferQueue_DequeueWithMemoryDescriptor(queue, &d, &descriptor, &context),
                     STATUS_INSUFFICIENT_RESOURCES);
    DMF_BufferQueue_Enqueue(queue, b);
    assert_int_equal(DMF_BufferQueue_DequeueWithMemoryDescriptor(queue, &d, &descriptor, &context), STATUS_SUCCESS);
    assert_ptr_equal(d, b);
    assert_int_equal(descriptor.u.BufferType.Length, 32);
    DMF_BufferQueue_Reuse(queue, a);
    DMF_BufferQueue_Reuse(queue, b);
    WdfObjectDelete(device);
}

static DMFMODULE enumerated_module;
static int enumerated;
static KIRQL enumerate_irql;

static BufferPool_EnumerationDispositionType on_enumerate(DMFMODULE DmfModule, VOID *ClientBuffer,
                                                          VOID *ClientBufferContext, VOID *ClientDriverCallbackContext)
{
    enumerated++;
    enumerated_module = DmfModule;
    enumerate_irql = KeGetCurrentIrql();
    return ClientBuffer == ClientDriverCallbackContext ? BufferPool_EnumerationDisposition_RemoveAndStopEnumeration
                                                       : BufferPool_EnumerationDisposition_ContinueEnumeration;
}

/* Spec 1.2 "BufferQueue": Count, Enumerate and ContextGet act on the consumer. */
static void count_enumerate_and_context_get_act_on_the_consumer(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE queue = create_queue(device, 3, FALSE, FALSE);
    WORK_CONTEXT *context, *got = NULL;
    void *a = fetch(queue, &context), *b = fetch(queue, NULL), *removed = NULL;

    DMF_BufferQueue_Enqueue(queue, a);
    DMF_BufferQueue_Enqueue(queue, b);
    assert_int_equal(DMF_BufferQueue_Count(queue), 2);
    DMF_BufferQueue_ContextGet(queue, a, (void **)&got);
    assert_ptr_equal(got, context);
    DMF_BufferQueue_Enumerate(queue, on_enumerate, b, &removed, NULL);
    assert_int_equal(enumerated, 2);
    assert_ptr_equal(removed, b);
    assert_int_equal(DMF_BufferQueue_Count(queue), 1);
    DMF_BufferQueue_Reuse(queue, b);
    DMF_BufferQueue_Flush(queue);
    WdfObjectDelete(device);
}

/* D73: a callback raised by a child module (the consumer pool's enumeration) reaches the client
 * with the handle of the module the client created: the BufferQueue. */
static void enumeration_callback_receives_the_buffer_queue_handle(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE queue = create_queue(device, 1, FALSE, FALSE);

    DMF_BufferQueue_Enqueue(queue, fetch(queue, NULL));
    DMF_BufferQueue_Enumerate(queue, on_enumerate, NULL, NULL, NULL);
    assert_ptr_equal(enumerated_module, queue);
    DMF_BufferQueue_Flush(queue);
    WdfObjectDelete(device);
}

static struct {
    KEVENT fired;
    DMFMODULE module;
    void *buffer, *context;
} timer_record;

static VOID on_timer(DMFMODULE DmfModule, VOID *ClientBuffer, VOID *ClientBufferContext, VOID *ClientDriverCallbackContext)
{
    timer_record.module = DmfModule;
    timer_record.buffer = ClientBuffer;
    timer_record.context = ClientDriverCallbackContext;
    KeSetEvent(&timer_record.fired, IO_NO_INCREMENT, FALSE);
}

/* D73: the timer callback of EnqueueWithTimer (raised by the consumer pool) carries the
 * BufferQueue handle; the buffer leaves the queue and belongs to the client. */
static void timer_callback_receives_the_buffer_queue_handle(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE queue = create_queue(device, 1, TRUE, FALSE);
    void *a = fetch(queue, NULL);

    KeInitializeEvent(&timer_record.fired, NotificationEvent, FALSE);
    assert_int_equal(DMF_BufferQueue_EnqueueWithTimer(queue, a, 30, on_timer, (void *)0x5), STATUS_SUCCESS);
    pk_test_wait_event(&timer_record.fired);
    assert_ptr_equal(timer_record.module, queue);
    assert_ptr_equal(timer_record.buffer, a);
    assert_ptr_equal(timer_record.context, (void *)0x5);
    assert_int_equal(DMF_BufferQueue_Count(queue), 0);
    DMF_BufferQueue_Reuse(queue, a);
    WdfObjectDelete(device);
}

/* Spec 1.2 "BufferQueue": EnqueueWithTimer needs a callback (STATUS_INVALID_PARAMETER, the
 * buffer stays with the client). */
static void enqueue_with_timer_needs_a_callback(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE queue = create_queue(device, 1, TRUE, FALSE);
    void *a = fetch(queue, NULL);

    pk_test_capture_verifier();
    assert_int_equal(DMF_BufferQueue_EnqueueWithTimer(queue, a, 30, NULL, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(DMF_BufferQueue_Count(queue), 0);
    DMF_BufferQueue_Reuse(queue, a);
    WdfObjectDelete(device);
}

/* Spec 1.2 "BufferQueue": a buffer from another queue cannot be enqueued or reused (verifier
 * stop; it stays with the client). */
static void buffer_of_another_queue_is_refused(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE q1 = create_queue(device, 1, FALSE, FALSE), q2 = create_queue(device, 1, FALSE, FALSE);
    void *a = fetch(q1, NULL);

    pk_test_capture_verifier();
    DMF_BufferQueue_Enqueue(q2, a);
    DMF_BufferQueue_Reuse(q2, a);
    assert_int_equal(pk_test_verifier_stops(), 2);
    assert_int_equal(DMF_BufferQueue_Count(q2), 0);
    DMF_BufferQueue_Reuse(q1, a);
    WdfObjectDelete(device);
}

/* D67: a paged producer without PassiveLevel fails with STATUS_INVALID_PARAMETER; with it the
 * queue and both its pools run passive. */
static void paged_producer_requires_passive_level(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_BufferQueue c;
    DMF_MODULE_ATTRIBUTES a;
    DMFMODULE queue;

    pk_test_capture_verifier();
    DMF_CONFIG_BufferQueue_AND_ATTRIBUTES_INIT(&c, &a);
    c.SourceSettings.BufferCount = 1;
    c.SourceSettings.BufferSize = 8;
    c.SourceSettings.PoolType = PagedPool;
    assert_int_equal(DMF_BufferQueue_Create((WDFDEVICE)device, &a, NULL, &queue), STATUS_INVALID_PARAMETER);
    a.PassiveLevel = TRUE;
    assert_int_equal(DMF_BufferQueue_Create((WDFDEVICE)device, &a, NULL, &queue), STATUS_SUCCESS);
    assert_true(DMF_IsModulePassiveLevel(queue));
    DMF_BufferQueue_Enqueue(queue, fetch(queue, NULL));
    enumerate_irql = HIGH_LEVEL;
    DMF_BufferQueue_Enumerate(queue, on_enumerate, NULL, NULL, NULL);
    assert_int_equal(enumerate_irql, PASSIVE_LEVEL); /* the consumer runs passive too */
    WdfObjectDelete(device);
}

/* Spec 1.2 Remarks: deleting the queue frees the buffers in both lists, work included. */
static void deleting_the_queue_frees_pending_work(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE queue = create_queue(device, 4, FALSE, FALSE);

    DMF_BufferQueue_Enqueue(queue, fetch(queue, NULL));
    DMF_BufferQueue_Enqueue(queue, fetch(queue, NULL));
    WdfObjectDelete(queue);
    WdfObjectDelete(device);
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

PK_TEST_MAIN(PK_TEST(buffer_moves_from_producer_to_consumer_and_back),
             PK_TEST(reuse_calls_the_cleanup_callback_first),
             PK_TEST(flush_moves_every_consumer_buffer_back_to_the_producer),
             PK_TEST(dequeue_is_fifo_and_enqueue_at_head_goes_first),
             PK_TEST(memory_variants_describe_the_buffer),
             PK_TEST(count_enumerate_and_context_get_act_on_the_consumer),
             PK_TEST(enumeration_callback_receives_the_buffer_queue_handle),
             PK_TEST(timer_callback_receives_the_buffer_queue_handle),
             PK_TEST(enqueue_with_timer_needs_a_callback),
             PK_TEST(buffer_of_another_queue_is_refused),
             PK_TEST(paged_producer_requires_passive_level),
             PK_TEST(deleting_the_queue_frees_pending_work))
