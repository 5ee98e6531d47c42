/* Stress of DMF_DeviceInterfaceMultipleTarget (issue 7, "Tests"): sensors exposing DIMT_GUID
 * arrive and leave at random (orderly removal, removal vetoed by the device's driver or by the
 * client's Ex callback, a failed reopen after a veto, surprise removal, interface disabled and
 * enabled again, duplicate arrivals, and devices reappearing under the same link) while several
 * threads per target run random synchronous, asynchronous, cancel and reuse actions with
 * checksummed buffers. Two module instances watch the same GUID: A in RequestTarget mode at
 * dispatch level, B in Automatic streaming mode at passive level (its stream requests are
 * completed a little later by the sensor, so the stream runs all the time).
 * Checked at the end: every accepted request completed exactly once (and no refused one), no
 * buffer corrupted, every reuse request deleted, PostOpen/PreClose paired, every Target opened
 * was torn down exactly once, and (by the harness) no framework object left.
 * Bounded: about 2 s; scaled by PNPKIT_STRESS_SCALE (a factor, e.g. 0.25) and to a half
 * under a sanitizer. */
#include "pk_test.h"
#include "dimt_testdev.h"

#include <stdlib.h>

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define STRESS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define STRESS_SANITIZED 1
#endif
#endif
#ifndef STRESS_SANITIZED
#define STRESS_SANITIZED 0
#endif

enum { SLOTS = 4, MODULES = 2, PER_TARGET = 2, WORKERS = MODULES * SLOTS * PER_TARGET, LEN = 32, RING = 32 };

#define IOCTL ContinuousRequestTarget_RequestType_Ioctl

static DMFMODULE modules[MODULES];

/* ---- The current Target of each (module, sensor slot), kept by the state callbacks ---- */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static DMFIOTARGET table[MODULES][SLOTS];
static volatile LONG table_generation;

/* Every Target ever opened, and what happened to it. */
typedef struct target_life {
    DMFMODULE m;
    DMFIOTARGET t;
    int opens, closes, remove_completes, query_removes, remove_cancels;
    bool dead;
} target_life;
static target_life lives[4096];
static int nlives;
static volatile LONG life_errors, qr_vetoes;
static uint32_t veto_rng = 12345; /* table_lock */

static int module_index(DMFMODULE m)
{
    for (int i = 0; i < MODULES; i++)
        if (modules[i] == m)
            return i;
    return -1;
}

static target_life *life_of_locked(DMFMODULE m, DMFIOTARGET t)
{
    for (int i = nlives - 1; i >= 0; i--)
        if (lives[i].m == m && lives[i].t == t && !lives[i].dead)
            return &lives[i];
    return NULL;
}

static void table_set_locked(int mi, DMFIOTARGET t, int slot)
{
    if (mi >= 0 && slot >= 0 && slot < SLOTS)
        table[mi][slot] = t;
}

static void table_clear_locked(int mi, DMFIOTARGET t)
{
    for (int s = 0; mi >= 0 && s < SLOTS; s++)
        if (table[mi][s] == t)
            table[mi][s] = NULL;
}

/* Which sensor a Target leads to: its payload says. */
static int sensor_of(DMFMODULE m, DMFIOTARGET t)
{
    unsigned char out[16];
    size_t written = 0;
    if (!NT_SUCCESS(DMF_DeviceInterfaceMultipleTarget_SendSynchronously(m, t, NULL, 0, out, sizeof(out), IOCTL,
                                                                        DS_IOCTL_ECHO, 0, &written)))
        return -1;
    return written == sizeof(out) ? ds_check_payload(out, sizeof(out)) : -1;
}

static void stress_on_state(DMFMODULE m, DMFIOTARGET t, int state)
{
    int mi = module_index(m), slot = -1;
    target_life *l;

    if (state == DeviceInterfaceMultipleTarget_StateType_Open ||
        state == DeviceInterfaceMultipleTarget_StateType_RemoveCancel)
        slot = sensor_of(m, t);
    pthread_mutex_lock(&table_lock);
    l = life_of_locked(m, t);
    switch (state) {
    case DeviceInterfaceMultipleTarget_StateType_Open:
        if (l || nlives >= 4096) {
            InterlockedIncrement(&life_errors); /* a live Target opened twice */
        } else {
            lives[nlives++] = (target_life){ .m = m, .t = t, .opens = 1 };
        }
        if (slot < 0)
            InterlockedIncrement(&life_errors);
        table_set_locked(mi, t, slot);
        break;
    case DeviceInterfaceMultipleTarget_StateType_QueryRemove:
        if (l)
            l->query_removes++;
        table_clear_locked(mi, t);
        break;
    case DeviceInterfaceMultipleTarget_StateType_RemoveCancel:
        if (l)
            l->remove_cancels++;
        table_set_locked(mi, t, slot);
        break;
    case DeviceInterfaceMultipleTarget_StateType_RemoveComplete:
        if (l) {
            l->remove_completes++;
            l->dead = true;
        }
        table_clear_locked(mi, t);
        break;
    case DeviceInterfaceMultipleTarget_StateType_Close:
        /* On the surprise path Close follows RemoveComplete (the life is already dead). */
        for (int i = nlives - 1; i >= 0; i--)
            if (lives[i].m == m && lives[i].t == t) {
                lives[i].closes++;
                lives[i].dead = true;
                break;
            }
        table_clear_locked(mi, t);
        break;
    }
    if (!l && state != DeviceInterfaceMultipleTarget_StateType_Open && state != DeviceInterfaceMultipleTarget_StateType_Close)
        InterlockedIncrement(&life_errors); /* a callback for a Target never opened */
    __atomic_add_fetch(&table_generation, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&table_lock);
    dimt_changed();
}

/* Module A's Ex callback vetoes a query-remove now and then (its result is read after
 * on_state). */
static NTSTATUS stress_on_state_ex_a(DMFMODULE m, DMFIOTARGET t, DeviceInterfaceMultipleTarget_StateType state)
{
    NTSTATUS status = dimt_on_state_ex(m, t, state);
    if (state == DeviceInterfaceMultipleTarget_StateType_QueryRemove) {
        uint32_t r;
        pthread_mutex_lock(&table_lock);
        r = pk_test_rand(&veto_rng);
        pthread_mutex_unlock(&table_lock);
        if (r % 5 == 0) {
            InterlockedIncrement(&qr_vetoes);
            /* Vetoed: the Target stays usable, put it back. */
            int slot = sensor_of(m, t);
            pthread_mutex_lock(&table_lock);
            table_set_locked(module_index(m), t, slot);
            pthread_mutex_unlock(&table_lock);
            return STATUS_UNSUCCESSFUL;
        }
    }
    return status;
}

/* ---- Requests ---- */
static volatile LONG accepted, completed, twice, corruptions, refused_completed;
static volatile LONG reuse_created, reuse_deleted, sync_ok, sync_fail, cancels_true, stale_calls;
static volatile bool stopping;

typedef struct op {
    unsigned char in[LEN], out[LEN];
    uint32_t seed;
    ULONG code;
    volatile LONG calls;
    bool accepted;
    NTSTATUS status;
} op;

typedef struct worker {
    int module, slot;
    uint32_t rng;
    op ring[RING];
    int next;
    volatile LONG ops;
} worker;

static worker workers[WORKERS];

static void fill(op *o, uint32_t seed)
{
    uint32_t s = seed ? seed : 1;
    o->seed = s;
    for (int i = 0; i < LEN; i++)
        o->in[i] = (unsigned char)pk_test_rand(&s);
    memset(o->out, 0, LEN);
}

static bool intact(const op *o)
{
    uint32_t s = o->seed;
    for (int i = 0; i < LEN; i++)
        if (o->in[i] != (unsigned char)pk_test_rand(&s))
            return false;
    return true;
}

static bool echoed(const op *o, size_t n)
{
    if (n != LEN)
        return false;
    for (int i = 0; i < LEN; i++)
        if (o->out[i] != (o->in[i] ^ 0x5A))
            return false;
    return true;
}

static VOID op_done(DMFMODULE m, VOID *context, VOID *in, size_t in_written, VOID *out, size_t out_read, NTSTATUS status)
{
    op *o = context;
    if (in != o->in || !intact(o) || (module_index(m) < 0))
        InterlockedIncrement(&corruptions);
    if (NT_SUCCESS(status) && o->code != DS_IOCTL_HOLD && !echoed(o, out_read))
        InterlockedIncrement(&corruptions);
    if (!o->accepted)
        InterlockedIncrement(&refused_completed);
    o->status = status;
    InterlockedIncrement(&completed);
    if (InterlockedIncrement(&o->calls) != 1)
        InterlockedIncrement(&twice);
    dimt_changed();
}

/* The next op of the ring, after checking the one it held completed exactly once. */
static op *next_op(worker *w, ULONG code)
{
    op *o = &w->ring[w->next++ % RING];
    if (o->accepted && dimt_load(&o->calls) != 1)
        InterlockedIncrement(&twice);
    memset((void *)o, 0, sizeof(*o));
    fill(o, pk_test_rand(&w->rng));
    o->code = code;
    return o;
}

static void wait_done(op *o) { DIMT_WAIT(dimt_load(&o->calls) >= 1); }

static ULONG answer_code(uint32_t x) { return (x & 1) ? DS_IOCTL_LATER : DS_IOCTL_ECHO; }

static void jitter(uint32_t x)
{
    if ((x & 3) == 0)
        usleep((x >> 8) % 300);
}

/* One random action on t. Without a TargetReference (referenced false) the Target may go at any
 * moment: no reuse request then (the module would delete it, with a warning, as the spec says). */
static void one_action(worker *w, DMFMODULE m, DMFIOTARGET t, bool referenced)
{
    uint32_t x = pk_test_rand(&w->rng);
    op *o;
    NTSTATUS status;
    uint32_t action = x % 5;

    if (!referenced && action == 3)
        action = 4;
    switch (action) {
    case 0: { /* asynchronous, answered */
        o = next_op(w, answer_code(x >> 3));
        o->accepted = true;
        status = DMF_DeviceInterfaceMultipleTarget_Send(m, t, o->in, LEN, o->out, LEN, IOCTL, o->code, (x >> 5) & 1 ? 2000 : 0,
                                                        op_done, o);
        if (!NT_SUCCESS(status)) {
            o->accepted = false;
            break;
        }
        InterlockedIncrement(&accepted);
        wait_done(o);
        break;
    }
    case 1: { /* asynchronous, held, then cancelled (either spelling) */
        RequestTarget_DmfRequestCancel id = NULL;
        o = next_op(w, DS_IOCTL_HOLD);
        o->accepted = true;
        status = DMF_DeviceInterfaceMultipleTarget_SendEx(m, t, o->in, LEN, o->out, LEN, IOCTL, DS_IOCTL_HOLD, 0, op_done, o,
                                                          &id);
        if (!NT_SUCCESS(status)) {
            o->accepted = false;
            break;
        }
        InterlockedIncrement(&accepted);
        jitter(x >> 4);
        if (((x >> 3) & 1) ? DMF_DeviceInterfaceMultipleTarget_Cancel(m, id)
                           : DMF_DeviceInterfaceMultipleTarget_Cancel(m, t, id))
            InterlockedIncrement(&cancels_true);
        wait_done(o);
        if (o->status != STATUS_CANCELLED)
            InterlockedIncrement(&corruptions);
        break;
    }
    case 2: { /* synchronous: answered, or held until a short timeout */
        unsigned char in[LEN], out[LEN];
        size_t written = 0;
        ULONG code = ((x >> 3) % 3 == 0) ? DS_IOCTL_HOLD : answer_code(x >> 5);
        for (int i = 0; i < LEN; i++)
            in[i] = (unsigned char)(x + (uint32_t)i);
        status = DMF_DeviceInterfaceMultipleTarget_SendSynchronously(m, t, in, LEN, out, LEN, IOCTL, code,
                                                                     code == DS_IOCTL_HOLD ? 1 + (x >> 7) % 3 : 2000,
                                                                     &written);
        if (NT_SUCCESS(status)) {
            InterlockedIncrement(&sync_ok);
            if (code == DS_IOCTL_HOLD || written != LEN)
                InterlockedIncrement(&corruptions);
            for (int i = 0; i < LEN; i++)
                if (out[i] != (in[i] ^ 0x5A))
                    InterlockedIncrement(&corruptions);
        } else {
            InterlockedIncrement(&sync_fail);
            if (written != 0)
                InterlockedIncrement(&corruptions);
        }
        break;
    }
    case 3: { /* reuse: create, send a few times (one held and cancelled), delete */
        RequestTarget_DmfRequestReuse rid = NULL;
        if (!NT_SUCCESS(DMF_DeviceInterfaceMultipleTarget_ReuseCreate(m, t, &rid)))
            break;
        InterlockedIncrement(&reuse_created);
        for (int k = 0; k < 3; k++) {
            RequestTarget_DmfRequestCancel id = NULL;
            ULONG code = k == 2 ? DS_IOCTL_HOLD : answer_code(x >> (4 + k));
            o = next_op(w, code);
            o->accepted = true;
            status = DMF_DeviceInterfaceMultipleTarget_ReuseSend(m, t, rid, o->in, LEN, o->out, LEN, IOCTL, code, 0, op_done,
                                                                 o, &id);
            if (!NT_SUCCESS(status)) {
                o->accepted = false;
                continue;
            }
            InterlockedIncrement(&accepted);
            if (code == DS_IOCTL_HOLD) {
                jitter(x >> 9);
                (void)DMF_DeviceInterfaceMultipleTarget_Cancel(m, t, id);
            }
            wait_done(o);
        }
        if (DMF_DeviceInterfaceMultipleTarget_ReuseDelete(m, t, rid))
            InterlockedIncrement(&reuse_deleted);
        else
            print_message("ReuseDelete FALSE: module %d, target %p, reuse %p\n", module_index(m), (void *)t, rid);
        break;
    }
    default: { /* a Target that may be dead by now, without a reference */
        o = next_op(w, DS_IOCTL_ECHO);
        o->accepted = true;
        status = DMF_DeviceInterfaceMultipleTarget_Send(m, t, o->in, LEN, o->out, LEN, IOCTL, DS_IOCTL_ECHO, 0, op_done, o);
        if (!NT_SUCCESS(status)) {
            o->accepted = false;
            if (status != STATUS_INVALID_DEVICE_STATE)
                InterlockedIncrement(&corruptions);
            InterlockedIncrement(&stale_calls);
            break;
        }
        InterlockedIncrement(&accepted);
        wait_done(o);
        break;
    }
    }
    InterlockedIncrement(&w->ops);
}

static volatile LONG next_worker;

static void *worker_main(void *arg)
{
    worker *w = &workers[InterlockedIncrement(&next_worker) - 1];
    DMFIOTARGET last = NULL;

    while (!__atomic_load_n(&stopping, __ATOMIC_ACQUIRE)) {
        DMFMODULE m = modules[w->module];
        DMFIOTARGET t;
        LONG gen = dimt_load(&table_generation);

        pthread_mutex_lock(&table_lock);
        t = table[w->module][w->slot];
        pthread_mutex_unlock(&table_lock);
        if (!t) {
            bool changed;
            if (last && (pk_test_rand(&w->rng) & 7) == 0)
                one_action(w, m, last, false); /* the dead one: refused */
            DIMT_WAIT_FOR_MS(dimt_load(&table_generation) != gen || __atomic_load_n(&stopping, __ATOMIC_ACQUIRE), 50,
                             changed);
            (void)changed;
            continue;
        }
        last = t;
        if (!NT_SUCCESS(DMF_DeviceInterfaceMultipleTarget_TargetReference(m, t))) {
            bool changed;
            one_action(w, m, t, false); /* refused or not, nothing may break */
            /* The Target is going: wait for its callbacks (bounded) rather than spin. */
            DIMT_WAIT_FOR_MS(dimt_load(&table_generation) != gen || __atomic_load_n(&stopping, __ATOMIC_ACQUIRE), 20,
                             changed);
            (void)changed;
            continue;
        }
        for (int k = 0; k < 4 && !__atomic_load_n(&stopping, __ATOMIC_ACQUIRE); k++)
            one_action(w, m, t, true);
        DMF_DeviceInterfaceMultipleTarget_TargetDereference(m, t);
    }
    return NULL;
}

/* ---- Sensors coming and going ---- */
enum { SL_EMPTY, SL_PRESENT, SL_DISABLED };
static int slot_state[SLOTS];

static void chaos_step(uint32_t *rng)
{
    int i = (int)(pk_test_rand(rng) % SLOTS);
    uint32_t x = pk_test_rand(rng);
    ds_sensor *s = &ds_sensors[i];
    CONFIGRET cr;

    switch (slot_state[i]) {
    case SL_EMPTY:
        ds_create(i, (i & 1) ? u"odd" : NULL); /* the same link as last time */
        slot_state[i] = SL_PRESENT;
        break;
    case SL_DISABLED:
        if (x & 1) {
            ds_set_interface(s, true);
            slot_state[i] = SL_PRESENT;
        } else {
            ds_surprise_remove(s);
            ds_close(s);
            slot_state[i] = SL_EMPTY;
        }
        break;
    default:
        switch (x % 7) {
        case 0:
        case 1: /* orderly; the client may veto */
            cr = ds_query_and_remove(s);
            assert_true(cr == CR_SUCCESS || cr == CR_REMOVE_VETOED);
            if (cr == CR_SUCCESS) {
                ds_close(s);
                slot_state[i] = SL_EMPTY;
            }
            break;
        case 2: /* the device's driver vetoes after the modules accepted; sometimes the reopen fails */
            __atomic_store_n(&s->veto_query_remove, 1, __ATOMIC_SEQ_CST);
            if ((x >> 4) % 3 == 0)
                __atomic_store_n(&s->fail_creates, 1, __ATOMIC_SEQ_CST);
            cr = ds_query_and_remove(s);
            assert_int_equal(cr, CR_REMOVE_VETOED);
            __atomic_store_n(&s->veto_query_remove, 0, __ATOMIC_SEQ_CST);
            __atomic_store_n(&s->fail_creates, 0, __ATOMIC_SEQ_CST);
            break;
        case 3:
            ds_surprise_remove(s);
            ds_close(s);
            slot_state[i] = SL_EMPTY;
            break;
        case 4:
            ds_set_interface(s, false);
            slot_state[i] = SL_DISABLED;
            break;
        case 5:
            dimt_inject_arrival(s->link); /* a duplicate */
            break;
        default:
            break;
        }
    }
}

static double stress_scale(void)
{
    const char *e = getenv("PNPKIT_STRESS_SCALE");
    double f = e ? atof(e) : 1.0;
    if (f <= 0)
        f = 1.0;
    if (STRESS_SANITIZED && !e)
        f = 0.5;
    return f;
}

static VOID stream_input(DMFMODULE m, VOID *buffer, size_t *size, VOID *context) { (void)m; (void)buffer; (void)context; }

static void sensors_arrive_and_leave_while_threads_send_cancel_and_reuse_on_two_instances(void **state)
{
    DMF_CONFIG_DeviceInterfaceMultipleTarget c[MODULES];
    DMF_MODULE_ATTRIBUTES a[MODULES];
    DMF_MODULE_EVENT_CALLBACKS cb[MODULES];
    pk_test_threads th;
    uint32_t rng = 0xC0FFEEu;
    double scale = stress_scale();
    uint64_t end;
    int steps = 0, max_steps = (int)(400 * scale) + 10;

    dimt_begin();
    dimt_host_start(false);
    dimt_cli.record_off = true;
    dimt_cli.on_state = stress_on_state;
    memset(table, 0, sizeof(table));
    nlives = 0;
    memset(slot_state, 0, sizeof(slot_state));

    /* A: RequestTarget mode, dispatch level; vetoes some query-removes. */
    dimt_config(&c[0], &a[0], &cb[0]);
    c[0].EvtDeviceInterfaceMultipleTargetOnStateChangeEx = stress_on_state_ex_a;
    /* B: Automatic stream of 2 requests completed a little later, passive level. */
    dimt_config(&c[1], &a[1], &cb[1]);
    dimt_config_stream(&c[1], 2, 24, true);
    c[1].ContinuousRequestTargetModuleConfig.ContinuousRequestTargetIoctl = DS_IOCTL_LATER;
    c[1].ContinuousRequestTargetModuleConfig.EvtContinuousRequestTargetBufferInput = stream_input;
    a[1].PassiveLevel = TRUE;
    modules[0] = dimt_create(&c[0], &a[0]);
    modules[1] = dimt_create(&c[1], &a[1]);
    for (int i = 0; i < SLOTS / 2; i++) {
        ds_create(i, (i & 1) ? u"odd" : NULL);
        slot_state[i] = SL_PRESENT;
    }

    accepted = completed = twice = corruptions = refused_completed = 0;
    reuse_created = reuse_deleted = sync_ok = sync_fail = cancels_true = stale_calls = 0;
    life_errors = qr_vetoes = 0;
    next_worker = 0;
    stopping = false;
    for (int i = 0; i < WORKERS; i++) {
        memset(&workers[i], 0, sizeof(workers[i]));
        workers[i].module = i / (SLOTS * PER_TARGET);
        workers[i].slot = (i / PER_TARGET) % SLOTS;
        workers[i].rng = 1000u + (uint32_t)i * 7919u;
    }
    pk_test_threads_start(&th, WORKERS, worker_main, NULL);

    end = pk_test_now_ms() + (uint64_t)(2000 * scale);
    while (pk_test_now_ms() < end && steps < max_steps) {
        chaos_step(&rng);
        steps++;
        usleep(500 + pk_test_rand(&rng) % 2000);
    }
    __atomic_store_n(&stopping, true, __ATOMIC_RELEASE);
    dimt_changed();
    pk_test_threads_join(&th);

    /* Everything leaves, and every sensor comes back under its link: both instances must open
     * each of them again, whatever happened to its earlier Targets. */
    for (int i = 0; i < SLOTS; i++) {
        if (slot_state[i] == SL_EMPTY)
            continue;
        ds_surprise_remove(&ds_sensors[i]);
        ds_close(&ds_sensors[i]);
        slot_state[i] = SL_EMPTY;
    }
    PnpkitSimWaitIdle();
    for (int i = 0; i < SLOTS; i++)
        ds_create(i, (i & 1) ? u"odd" : NULL);
    for (int mi = 0; mi < MODULES; mi++)
        for (int i = 0; i < SLOTS; i++)
            if (!table[mi][i])
                fail_msg("module %d did not open sensor %d when it came back under the same link", mi, i);
    for (int i = 0; i < SLOTS; i++) {
        ds_surprise_remove(&ds_sensors[i]);
        ds_close(&ds_sensors[i]);
    }
    PnpkitSimWaitIdle();
    print_message("every sensor removed; deleting the modules\n");
    for (int i = 0; i < nlives; i++)
        if (!lives[i].dead)
            print_message("target %d (module %d) ended with QueryRemove (qr %d, rcancel %d): a failed reopen\n", i,
                          module_index(lives[i].m), lives[i].query_removes, lives[i].remove_cancels);
    WdfObjectDelete(modules[1]);
    WdfObjectDelete(modules[0]);

    print_message("steps %d, accepted %ld, sync ok %ld fail %ld, cancels %ld, reuse %ld, stale %ld, targets %d, "
                  "client vetoes %ld, stream outputs %ld\n",
                  steps, (long)accepted, (long)sync_ok, (long)sync_fail, (long)cancels_true, (long)reuse_created,
                  (long)stale_calls, nlives, (long)qr_vetoes, (long)dimt_str.outputs);
    for (int i = 0; i < WORKERS; i++)
        for (int k = 0; k < RING; k++)
            if (workers[i].ring[k].accepted)
                assert_int_equal(dimt_load(&workers[i].ring[k].calls), 1);
    assert_int_equal(dimt_load(&twice), 0);
    assert_int_equal(dimt_load(&corruptions), 0);
    assert_int_equal(dimt_load(&refused_completed), 0);
    assert_int_equal(dimt_load(&accepted), dimt_load(&completed));
    assert_int_equal(dimt_load(&reuse_created), dimt_load(&reuse_deleted));
    assert_int_equal(dimt_str.bad_payload, 0);
    assert_int_equal(dimt_load(&life_errors), 0);
    assert_true(dimt_load(&accepted) > 0);
    assert_true(nlives > 0);
    for (int i = 0; i < nlives; i++) {
        target_life *l = &lives[i];
        /* Torn down exactly once: a Close (disable, surprise, unregistration) or a
         * RemoveComplete (accepted query-remove); none after a query-remove whose reopen
         * failed (spec 1.4: the teardown of a Target closed for query-remove skips Close). */
        if ((l->closes + l->remove_completes == 0 && l->query_removes == 0) || l->closes > 1 ||
            l->remove_completes > 1) {
            print_message("target %d (module %d): opens %d qr %d rcancel %d rcomplete %d close %d\n", i,
                          module_index(l->m), l->opens, l->query_removes, l->remove_cancels, l->remove_completes,
                          l->closes);
            fail_msg("a Target was not torn down exactly once");
        }
    }
    assert_int_equal(dimt_postopen_count, dimt_preclose_count);
    dimt_finish();
}

PK_TEST_MAIN(PK_TEST(sensors_arrive_and_leave_while_threads_send_cancel_and_reuse_on_two_instances))
