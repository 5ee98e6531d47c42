/* The DMF module framework (spec dmf.md 1.1, 1.1a and behaviours D69-D74): module objects,
 * attributes, open options, lifecycle order, references, locks, dynamic and static modules.
 *
 * The module types here are test modules declared with the framework's internal descriptors;
 * every callback appends "<event>:<module name>" to a log that the tests compare. */
#include "pk_test.h"
#include <pnpkit/dmf.h>

#include "dmf/dmf_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* =============================================================================================
 * Test modules
 * ============================================================================================= */

typedef struct {
    const char *Name;
    NTSTATUS OpenStatus;              /* what Open returns */
    NTSTATUS PrepareStatus;           /* what PrepareHardware returns */
    BOOLEAN OpenInRegister;           /* NOTIFY: open from NotificationRegister */
    BOOLEAN LeaveOpenInUnregister;    /* NOTIFY: do not close in NotificationUnregister */
    BOOLEAN ReferenceInPreClose;      /* PreClose of the client: take and drop a reference */
    ULONG ChildCount;
    DMF_ModuleInstanceCreate *ChildCreator;
    const char *ChildNames[20];
    DMFMODULE *ChildHandles;          /* optional: receives the children's handles */
} DMF_CONFIG_TestModule;

static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;
static char events[256][64];
static int event_count;

static void log_text(const char *what, const char *name)
{
    pthread_mutex_lock(&log_mutex);
    if (event_count < 256)
        snprintf(events[event_count++], sizeof(events[0]), "%s:%s", what, name);
    pthread_mutex_unlock(&log_mutex);
}

static void log_event(const char *what, DMFMODULE m)
{
    DMF_CONFIG_TestModule *c = DMF_ModuleConfigGet(m);
    log_text(what, c ? c->Name : "?");
}

static void clear_events(void)
{
    pthread_mutex_lock(&log_mutex);
    event_count = 0;
    pthread_mutex_unlock(&log_mutex);
}

/* Asserts that the log is exactly the given events (NULL-terminated list). */
static void expect_events(const char *first, ...)
{
    va_list ap;
    int i = 0;

    pthread_mutex_lock(&log_mutex);
    va_start(ap, first);
    for (const char *e = first; e; e = va_arg(ap, const char *), i++) {
        if (i >= event_count || strcmp(events[i], e) != 0) {
            fprintf(stderr, "event %d: expected %s, got %s\n", i, e, i < event_count ? events[i] : "(end)");
            for (int j = 0; j < event_count; j++)
                fprintf(stderr, "  [%d] %s\n", j, events[j]);
            va_end(ap);
            pthread_mutex_unlock(&log_mutex);
            fail();
        }
    }
    va_end(ap);
    if (i != event_count) {
        fprintf(stderr, "expected %d events, got %d (next: %s)\n", i, event_count, events[i]);
        pthread_mutex_unlock(&log_mutex);
        fail();
    }
    pthread_mutex_unlock(&log_mutex);
}

static NTSTATUS t_create(DMFMODULE m)
{
    log_event("create", m);
    return STATUS_SUCCESS;
}

static VOID t_children(DMFMODULE m, DMF_MODULE_ATTRIBUTES *parent_attributes, PDMFMODULE_INIT init)
{
    DMF_CONFIG_TestModule *c = DMF_ModuleConfigGet(m);

    for (ULONG i = 0; i < c->ChildCount; i++) {
        /* A local config: the add copies it. */
        DMF_CONFIG_TestModule child = { 0 };
        DMF_MODULE_ATTRIBUTES a;
        child.Name = c->ChildNames[i] ? c->ChildNames[i] : "child";
        DMF_MODULE_ATTRIBUTES_INIT(&a, sizeof(child));
        a.ModuleConfigPointer = &child;
        a.InstanceCreator = c->ChildCreator;
        a.PassiveLevel = parent_attributes->PassiveLevel;
        DMF_DmfModuleAdd(init, &a, WDF_NO_OBJECT_ATTRIBUTES, c->ChildHandles ? &c->ChildHandles[i] : NULL);
    }
}

static NTSTATUS t_open(DMFMODULE m)
{
    DMF_CONFIG_TestModule *c = DMF_ModuleConfigGet(m);
    log_event("open", m);
    return c->OpenStatus;
}

static VOID t_close(DMFMODULE m) { log_event("close", m); }
static VOID t_destroy(DMFMODULE m) { log_event("destroy", m); }

static NTSTATUS t_register(DMFMODULE m)
{
    DMF_CONFIG_TestModule *c = DMF_ModuleConfigGet(m);
    log_event("register", m);
    if (c->OpenInRegister)
        return DMF_ModuleOpen(m);
    return STATUS_SUCCESS;
}

static VOID t_unregister(DMFMODULE m)
{
    DMF_CONFIG_TestModule *c = DMF_ModuleConfigGet(m);
    log_event("unregister", m);
    if (!c->LeaveOpenInUnregister)
        DMF_ModuleClose(m);
}

static NTSTATUS t_prepare(DMFMODULE m, WDFCMRESLIST raw, WDFCMRESLIST translated)
{
    DMF_CONFIG_TestModule *c = DMF_ModuleConfigGet(m);
    log_event("prepare", m);
    return c->PrepareStatus;
}

static NTSTATUS t_release(DMFMODULE m, WDFCMRESLIST translated)
{
    log_event("release", m);
    return STATUS_SUCCESS;
}

static NTSTATUS t_d0_entry(DMFMODULE m, ULONG previous_state)
{
    log_event("d0entry", m);
    return STATUS_SUCCESS;
}

static NTSTATUS t_d0_exit(DMFMODULE m, ULONG target_state)
{
    log_event("d0exit", m);
    return STATUS_SUCCESS;
}

#define TEST_MODULE(Type, Options, OpenOption, ...) \
    static const dmf_module_descriptor Type##_descriptor = { .name = #Type, \
                                                             .options = (Options), \
                                                             .open_option = (OpenOption), \
                                                             .config_size = sizeof(DMF_CONFIG_TestModule), \
                                                             .create = t_create, \
                                                             .child_modules_add = t_children, \
                                                             .open = t_open, \
                                                             .close = t_close, \
                                                             .destroy = t_destroy, \
                                                             .notification_register = t_register, \
                                                             .notification_unregister = t_unregister, \
                                                             __VA_ARGS__ }; \
    static NTSTATUS Type##_Create(WDFDEVICE Device, DMF_MODULE_ATTRIBUTES *Attributes, \
                                  WDF_OBJECT_ATTRIBUTES *ObjectAttributes, DMFMODULE *Module) \
    { \
        return dmf_module_create(Device, Attributes, ObjectAttributes, &Type##_descriptor, Module); \
    }

TEST_MODULE(Dyn, DMF_MODULE_OPTIONS_DISPATCH_MAXIMUM, DMF_MODULE_OPEN_OPTION_OPEN_Create)
TEST_MODULE(DispatchOnly, DMF_MODULE_OPTIONS_DISPATCH, DMF_MODULE_OPEN_OPTION_OPEN_Create)
TEST_MODULE(PassiveOnly, DMF_MODULE_OPTIONS_PASSIVE, DMF_MODULE_OPEN_OPTION_OPEN_Create)
TEST_MODULE(Notify, DMF_MODULE_OPTIONS_DISPATCH_MAXIMUM, DMF_MODULE_OPEN_OPTION_NOTIFY_Create)
TEST_MODULE(WithD0, DMF_MODULE_OPTIONS_DISPATCH_MAXIMUM, DMF_MODULE_OPEN_OPTION_OPEN_Create, .d0_entry = t_d0_entry,
            .d0_exit = t_d0_exit)
TEST_MODULE(Prepare, DMF_MODULE_OPTIONS_DISPATCH_MAXIMUM, DMF_MODULE_OPEN_OPTION_OPEN_PrepareHardware,
            .prepare_hardware = t_prepare, .release_hardware = t_release)
TEST_MODULE(D0Open, DMF_MODULE_OPTIONS_DISPATCH_MAXIMUM, DMF_MODULE_OPEN_OPTION_OPEN_D0Entry, .d0_entry = t_d0_entry,
            .d0_exit = t_d0_exit)
TEST_MODULE(PowerUp, DMF_MODULE_OPTIONS_DISPATCH_MAXIMUM, DMF_MODULE_OPEN_OPTION_OPEN_D0EntrySystemPowerUp)
TEST_MODULE(NotifyPrepare, DMF_MODULE_OPTIONS_DISPATCH_MAXIMUM, DMF_MODULE_OPEN_OPTION_NOTIFY_PrepareHardware)

/* =============================================================================================
 * Helpers
 * ============================================================================================= */

static WDFOBJECT make_device(void)
{
    WDFOBJECT device;
    assert_int_equal(WdfObjectCreate(WDF_NO_OBJECT_ATTRIBUTES, &device), STATUS_SUCCESS);
    return device;
}

static void init_attributes(DMF_MODULE_ATTRIBUTES *a, DMF_CONFIG_TestModule *config, DMF_ModuleInstanceCreate *creator)
{
    DMF_MODULE_ATTRIBUTES_INIT(a, sizeof(*config));
    a->ModuleConfigPointer = config;
    a->InstanceCreator = creator;
}

static NTSTATUS create_dynamic(DMF_ModuleInstanceCreate *creator, WDFOBJECT device, DMF_CONFIG_TestModule *config,
                               DMFMODULE *out)
{
    DMF_MODULE_ATTRIBUTES a;
    init_attributes(&a, config, creator);
    return creator((WDFDEVICE)device, &a, WDF_NO_OBJECT_ATTRIBUTES, out);
}

/* Static modules through DMF_ModulesCreate. */
static struct {
    int count;
    DMF_CONFIG_TestModule configs[8];
    DMF_ModuleInstanceCreate *creators[8];
    DMFMODULE handles[8];
} statics;

static void add_static(DMF_ModuleInstanceCreate *creator, const char *name)
{
    statics.creators[statics.count] = creator;
    statics.configs[statics.count].Name = name;
    statics.count++;
}

static VOID modules_add(WDFDEVICE Device, PDMFMODULE_INIT DmfModuleInit)
{
    for (int i = 0; i < statics.count; i++) {
        DMF_MODULE_ATTRIBUTES a;
        init_attributes(&a, &statics.configs[i], statics.creators[i]);
        DMF_DmfModuleAdd(DmfModuleInit, &a, WDF_NO_OBJECT_ATTRIBUTES, &statics.handles[i]);
    }
}

static NTSTATUS create_static(WDFOBJECT device, bool hook, bool filter)
{
    PDMFDEVICE_INIT init = DMF_DmfDeviceInitAllocate(NULL);
    DMF_EVENT_CALLBACKS callbacks;
    NTSTATUS status;

    assert_non_null(init);
    if (filter)
        DMF_DmfFdoSetFilter(init);
    if (hook) {
        DMF_DmfDeviceInitHookPnpPowerEventCallbacks(init, NULL);
        DMF_DmfDeviceInitHookPowerPolicyEventCallbacks(init, NULL);
        DMF_DmfDeviceInitHookFileObjectConfig(init, NULL);
    }
    DMF_EVENT_CALLBACKS_INIT(&callbacks);
    callbacks.EvtDmfDeviceModulesAdd = modules_add;
    DMF_DmfDeviceInitSetEventCallbacks(init, &callbacks);
    status = DMF_ModulesCreate((WDFDEVICE)device, &init);
    assert_null(init);
    return status;
}

static void sleep_ms(unsigned ms) { usleep(ms * 1000u); }

/* =============================================================================================
 * Attributes and options (1.1 "Config and attributes", "Module options and PassiveLevel")
 * ============================================================================================= */

/* Spec 1.1: a SizeOfHeader or SizeOfModuleSpecificConfig mismatch fails create with
 * STATUS_INVALID_PARAMETER. */
static void attributes_with_wrong_sizes_fail_create(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_TestModule config = { .Name = "m" };
    DMF_MODULE_ATTRIBUTES a;
    DMFMODULE m = NULL;

    pk_test_capture_verifier();
    init_attributes(&a, &config, Dyn_Create);
    a.SizeOfHeader--;
    assert_int_equal(Dyn_Create((WDFDEVICE)device, &a, NULL, &m), STATUS_INVALID_PARAMETER);
    init_attributes(&a, &config, Dyn_Create);
    a.SizeOfModuleSpecificConfig++;
    assert_int_equal(Dyn_Create((WDFDEVICE)device, &a, NULL, &m), STATUS_INVALID_PARAMETER);
    assert_null(m);
    expect_events(NULL);
    WdfObjectDelete(device);
}

/* Spec 1.1: setting PassiveLevel on a DISPATCH module fails create with
 * STATUS_INVALID_PARAMETER. */
static void passive_level_on_dispatch_module_fails_create(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_TestModule config = { .Name = "m" };
    DMF_MODULE_ATTRIBUTES a;
    DMFMODULE m;

    pk_test_capture_verifier();
    init_attributes(&a, &config, DispatchOnly_Create);
    a.PassiveLevel = TRUE;
    assert_int_equal(DispatchOnly_Create((WDFDEVICE)device, &a, NULL, &m), STATUS_INVALID_PARAMETER);
    WdfObjectDelete(device);
}

/* Spec 1.1: a DISPATCH_MAXIMUM module runs at dispatch level (spin lock) unless PassiveLevel is
 * set; then its lock sleeps and leaves the IRQL alone. */
static void dispatch_maximum_module_runs_passive_only_with_passive_level(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_TestModule config = { .Name = "m" };
    DMF_MODULE_ATTRIBUTES a;
    DMFMODULE dispatch, passive;

    assert_int_equal(create_dynamic(Dyn_Create, device, &config, &dispatch), STATUS_SUCCESS);
    init_attributes(&a, &config, Dyn_Create);
    a.PassiveLevel = TRUE;
    assert_int_equal(Dyn_Create((WDFDEVICE)device, &a, NULL, &passive), STATUS_SUCCESS);

    assert_false(DMF_IsModulePassiveLevel(dispatch));
    assert_false(DMF_ModuleLockIsPassive(dispatch));
    DMF_ModuleLock(dispatch);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    DMF_ModuleUnlock(dispatch);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);

    assert_true(DMF_IsModulePassiveLevel(passive));
    assert_true(DMF_ModuleLockIsPassive(passive));
    DMF_ModuleLock(passive);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    DMF_ModuleUnlock(passive);
    WdfObjectDelete(device);
}

/* Spec 1.1: a PASSIVE module always runs passive. */
static void passive_module_always_runs_passive(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_TestModule config = { .Name = "m" };
    DMFMODULE m;

    assert_int_equal(create_dynamic(PassiveOnly_Create, device, &config, &m), STATUS_SUCCESS);
    assert_true(DMF_IsModulePassiveLevel(m));
    assert_true(DMF_ModuleLockIsPassive(m));
    WdfObjectDelete(device);
}

/* Spec 1.1: a POOL_TYPE with bit 0 set is paged; NonPagedPool and NonPagedPoolNx are not. */
static void pool_types_with_bit_0_set_are_paged(void **state)
{
    assert_true(DMF_IsPoolTypePassiveLevel(PagedPool));
    assert_true(DMF_IsPoolTypePassiveLevel((POOL_TYPE)5)); /* PagedPoolCacheAligned */
    assert_false(DMF_IsPoolTypePassiveLevel(NonPagedPool));
    assert_false(DMF_IsPoolTypePassiveLevel(NonPagedPoolNx));
}

/* Spec 1.1: the config is copied at create; the caller's copy may change or go away. */
static void config_is_copied_at_create(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_TestModule config = { .Name = "m", .OpenStatus = STATUS_SUCCESS }, back;
    DMFMODULE m;

    assert_int_equal(create_dynamic(Dyn_Create, device, &config, &m), STATUS_SUCCESS);
    config.Name = "changed";
    assert_int_equal(DMF_ModuleConfigRetrieve(m, &back, sizeof(back)), STATUS_SUCCESS);
    assert_string_equal(back.Name, "m");
    assert_int_equal(DMF_ModuleConfigRetrieve(m, &back, sizeof(back) - 1), STATUS_INVALID_PARAMETER);
    WdfObjectDelete(device);
}

/* Spec 1.1 "Objects": a handle that is not a live module of the expected type is a verifier
 * stop, and the method fails (STATUS_INVALID_PARAMETER, FALSE, 0 or nothing). */
static void bad_module_handle_is_verifier_stop_and_method_fails(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_TestModule config = { .Name = "m" };
    DMFMODULE m;
    int stops;

    pk_test_capture_verifier();
    assert_int_equal(DMF_ModuleReference(NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(DMF_ModuleReference((DMFMODULE)device), STATUS_INVALID_PARAMETER);
    assert_false(DMF_IsModuleDynamic(NULL));
    DMF_ModuleClose(NULL);
    stops = pk_test_verifier_stops();
    assert_true(stops >= 4);

    /* Another module type: a BufferPool method given a test module. */
    assert_int_equal(create_dynamic(Dyn_Create, device, &config, &m), STATUS_SUCCESS);
    assert_int_equal(DMF_BufferPool_Count(m), 0);
    assert_true(pk_test_verifier_saw("not a DMF_BufferPool"));

    /* A stale handle. */
    WdfObjectDelete(m);
    assert_int_equal(DMF_ModuleReference(m), STATUS_INVALID_PARAMETER);
    assert_true(pk_test_verifier_stops() > stops + 1);
    WdfObjectDelete(device);
}

/* =============================================================================================
 * Open, close and references (1.1 "Open", "Close", "References"; D69, D70, D74)
 * ============================================================================================= */

static DMFMODULE post_open_module;
static NTSTATUS post_open_reference_status;

static VOID post_open(DMFMODULE m)
{
    log_event("postopen", m);
    post_open_reference_status = DMF_ModuleReference(m);
    if (NT_SUCCESS(post_open_reference_status))
        DMF_ModuleDereference(m);
}

static NTSTATUS pre_close_reference_status = STATUS_PENDING;

static VOID pre_close(DMFMODULE m)
{
    log_event("preclose", m);
    pre_close_reference_status = DMF_ModuleReference(m);
    if (NT_SUCCESS(pre_close_reference_status))
        DMF_ModuleDereference(m);
}

/* Spec 1.1 "Open": on success the module is opened and then the client's PostOpen runs (the
 * module's methods already work inside it). */
static void post_open_runs_after_the_module_is_open(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_TestModule config = { .Name = "m" };
    DMF_MODULE_EVENT_CALLBACKS callbacks;
    DMF_MODULE_ATTRIBUTES a;
    DMFMODULE m;

    init_attributes(&a, &config, Dyn_Create);
    DMF_MODULE_ATTRIBUTES_EVENT_CALLBACKS_INIT(&a, &callbacks);
    callbacks.EvtModuleOnDeviceNotificationPostOpen = post_open;
    callbacks.EvtModuleOnDeviceNotificationPreClose = pre_close;
    assert_int_equal(Dyn_Create((WDFDEVICE)device, &a, NULL, &m), STATUS_SUCCESS);
    assert_int_equal(post_open_reference_status, STATUS_SUCCESS);
    WdfObjectDelete(m);
    expect_events("create:m", "open:m", "postopen:m", "preclose:m", "close:m", "destroy:m", NULL);
    WdfObjectDelete(device);
    (void)post_open_module;
}

/* Spec 1.1 "Open": a failing Open returns the module to Closed and its status is returned. */
static void failed_open_returns_its_status_and_leaves_the_module_closed(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_TestModule config = { .Name = "m", .OpenStatus = STATUS_DEVICE_NOT_READY };
    DMFMODULE m = NULL;

    assert_int_equal(create_dynamic(Dyn_Create, device, &config, &m), STATUS_DEVICE_NOT_READY);
    assert_null(m);
    expect_events("create:m", "open:m", "destroy:m", NULL);

    /* A NOTIFY module opening itself: the failure comes back from DMF_ModuleOpen, and a later
     * open works. */
    clear_events();
    config.Name = "n";
    assert_int_equal(create_dynamic(Notify_Create, device, &config, &m), STATUS_SUCCESS);
    assert_int_equal(DMF_ModuleOpen(m), STATUS_DEVICE_NOT_READY);
    assert_int_equal(DMF_ModuleReference(m), STATUS_INVALID_DEVICE_STATE);
    WdfObjectDelete(device);
    expect_events("create:n", "register:n", "open:n", "unregister:n", "destroy:n", NULL);
}

/* D69: DMF_ModuleReference returns STATUS_INVALID_DEVICE_STATE before Open, while closing and
 * after Close. */
static DMFMODULE closing_module;
static volatile int reference_during_close_done;
static NTSTATUS reference_during_close_status;

static void *hold_then_release(void *arg)
{
    DMFMODULE m = arg;
    /* Holds the reference the main thread took, long enough for the close to be pending. */
    sleep_ms(200);
    reference_during_close_status = DMF_ModuleReference(m);
    reference_during_close_done = 1;
    DMF_ModuleDereference(m);
    return NULL;
}

static void module_reference_fails_before_open_while_closing_and_after_close(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_TestModule config = { .Name = "n" };
    pk_test_threads threads;
    DMFMODULE m;

    assert_int_equal(create_dynamic(Notify_Create, device, &config, &m), STATUS_SUCCESS);
    assert_int_equal(DMF_ModuleReference(m), STATUS_INVALID_DEVICE_STATE); /* before Open */
    assert_int_equal(DMF_ModuleOpen(m), STATUS_SUCCESS);
    assert_int_equal(DMF_ModuleReference(m), STATUS_SUCCESS);

    closing_module = m;
    pk_test_threads_start(&threads, 1, hold_then_release, m);
    DMF_ModuleClose(m); /* waits for the thread's release */
    pk_test_threads_join(&threads);
    assert_true(reference_during_close_done);
    assert_int_equal(reference_during_close_status, STATUS_INVALID_DEVICE_STATE); /* while closing */
    assert_int_equal(DMF_ModuleReference(m), STATUS_INVALID_DEVICE_STATE);          /* after Close */
    WdfObjectDelete(device);
}

/* D69: Close waits until every reference is dropped, and PreClose runs before that wait (the
 * module's methods still work inside it). */
static void *release_later(void *arg)
{
    DMFMODULE m = arg;
    sleep_ms(150);
    log_text("dereference", "m");
    DMF_ModuleDereference(m);
    return NULL;
}

static void close_waits_for_every_reference_after_pre_close(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_TestModule config = { .Name = "m" };
    DMF_MODULE_EVENT_CALLBACKS callbacks;
    DMF_MODULE_ATTRIBUTES a;
    pk_test_threads threads;
    DMFMODULE m;

    init_attributes(&a, &config, Dyn_Create);
    DMF_MODULE_ATTRIBUTES_EVENT_CALLBACKS_INIT(&a, &callbacks);
    callbacks.EvtModuleOnDeviceNotificationPreClose = pre_close;
    assert_int_equal(Dyn_Create((WDFDEVICE)device, &a, NULL, &m), STATUS_SUCCESS);
    assert_int_equal(DMF_ModuleReference(m), STATUS_SUCCESS);
    assert_int_equal(DMF_ModuleReference(m), STATUS_SUCCESS);
    DMF_ModuleDereference(m);
    clear_events();

    pk_test_threads_start(&threads, 1, release_later, m);
    WdfObjectDelete(m); /* closes: returns only after the reference is dropped */
    log_text("deleted", "m");
    pk_test_threads_join(&threads);
    assert_int_equal(pre_close_reference_status, STATUS_SUCCESS);
    expect_events("preclose:m", "dereference:m", "close:m", "destroy:m", "deleted:m", NULL);
    WdfObjectDelete(device);
}

/* D69: releasing a reference that was not taken is a verifier stop. */
static void dereference_without_reference_is_verifier_stop(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_TestModule config = { .Name = "m" };
    DMFMODULE m;

    pk_test_capture_verifier();
    assert_int_equal(create_dynamic(Dyn_Create, device, &config, &m), STATUS_SUCCESS);
    DMF_ModuleDereference(m); /* would release the framework's base reference */
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("without a matching DMF_ModuleReference"));
    assert_int_equal(DMF_ModuleReference(m), STATUS_SUCCESS); /* still open */
    DMF_ModuleDereference(m);
    WdfObjectDelete(device);
}

/* D70: closing a module twice runs its Close callback once. */
static void closing_twice_runs_close_callback_once(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_TestModule config = { .Name = "m" };
    DMFMODULE m;

    assert_int_equal(create_dynamic(Dyn_Create, device, &config, &m), STATUS_SUCCESS);
    DMF_ModuleClose(m);
    DMF_ModuleClose(m);
    WdfObjectDelete(m); /* closes again as part of the delete: nothing to do */
    expect_events("create:m", "open:m", "close:m", "destroy:m", NULL);
    WdfObjectDelete(device);
}

/* D74: no wait in this layer wakes periodically: a close waiting for a reference consumes no
 * CPU until the reference is released. */
static void *release_after_400_ms(void *arg)
{
    sleep_ms(400);
    DMF_ModuleDereference((DMFMODULE)arg);
    return NULL;
}

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void idle_close_consumes_no_cpu_until_the_reference_is_dropped(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_TestModule config = { .Name = "m" };
    pk_test_threads threads;
    uint64_t wall, cpu;
    DMFMODULE m;

    assert_int_equal(create_dynamic(Dyn_Create, device, &config, &m), STATUS_SUCCESS);
    assert_int_equal(DMF_ModuleReference(m), STATUS_SUCCESS);
    pk_test_threads_start(&threads, 1, release_after_400_ms, m);
    wall = pk_test_now_ms();
    cpu = cpu_ns();
    DMF_ModuleClose(m);
    cpu = cpu_ns() - cpu;
    wall = pk_test_now_ms() - wall;
    pk_test_threads_join(&threads);
    assert_true(wall >= 350);
    assert_true(cpu < 50u * 1000000u); /* a polling wait would burn the whole 400 ms */
    WdfObjectDelete(device);
}

/* Spec 1.1 lock: the module lock is not recursive; taking it twice on one thread is a verifier
 * stop instead of a deadlock. */
static void module_lock_taken_twice_is_verifier_stop(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_TestModule config = { .Name = "m" };
    DMFMODULE m;

    pk_test_capture_verifier();
    assert_int_equal(create_dynamic(Dyn_Create, device, &config, &m), STATUS_SUCCESS);
    DMF_ModuleLock(m);
    DMF_ModuleLock(m);
    assert_int_equal(pk_test_verifier_stops(), 1);
    DMF_ModuleUnlock(m);
    DMF_ModuleUnlock(m); /* not held any more */
    assert_int_equal(pk_test_verifier_stops(), 2);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    WdfObjectDelete(device);
}

/* =============================================================================================
 * Dynamic modules (1.1 "Dynamic modules"; D71)
 * ============================================================================================= */

/* D71: a dynamic module that registers D0 callbacks fails to create with STATUS_UNSUCCESSFUL. */
static void dynamic_module_with_power_callbacks_fails_with_unsuccessful(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_TestModule config = { .Name = "m" };
    DMFMODULE m = NULL;

    pk_test_capture_verifier();
    assert_int_equal(create_dynamic(WithD0_Create, device, &config, &m), STATUS_UNSUCCESSFUL);
    assert_null(m);
    expect_events(NULL);
    WdfObjectDelete(device);
}

/* D71: a dynamic module whose open option is not OPEN_Create or NOTIFY_Create fails to create
 * with STATUS_UNSUCCESSFUL (and so does a dynamic module whose child has such an option). */
static void dynamic_module_with_pnp_open_option_fails_with_unsuccessful(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_TestModule config = { .Name = "m" };
    DMFMODULE m = NULL;

    pk_test_capture_verifier();
    assert_int_equal(create_dynamic(Prepare_Create, device, &config, &m), STATUS_UNSUCCESSFUL);
    assert_int_equal(create_dynamic(D0Open_Create, device, &config, &m), STATUS_UNSUCCESSFUL);
    config.ChildCount = 1;
    config.ChildCreator = NotifyPrepare_Create;
    assert_int_equal(create_dynamic(Dyn_Create, device, &config, &m), STATUS_UNSUCCESSFUL);
    assert_null(m);
    expect_events("create:m", "destroy:m", NULL);
    WdfObjectDelete(device);
}

/* Spec 1.1 "Dynamic modules": OPEN_Create — deleting the module closes it, then destroys it;
 * the delete returns after both. The client cannot delete a framework-owned (child) module. */
static void deleting_dynamic_module_closes_then_destroys_it(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE children[1];
    DMF_CONFIG_TestModule config = { .Name = "p", .ChildCount = 1, .ChildCreator = Dyn_Create,
                                     .ChildNames = { "c" }, .ChildHandles = children };
    DMFMODULE m;

    pk_test_capture_verifier();
    assert_int_equal(create_dynamic(Dyn_Create, device, &config, &m), STATUS_SUCCESS);
    assert_true(DMF_IsModuleDynamic(m));
    assert_true(DMF_IsModuleDynamic(children[0]));
    WdfObjectDelete(children[0]); /* refused */
    assert_true(pk_test_verifier_saw("deleted by the framework"));
    clear_events();
    WdfObjectDelete(m);
    expect_events("close:p", "close:c", "destroy:p", "destroy:c", NULL);
    assert_int_equal(DMF_ModuleReference(m), STATUS_INVALID_PARAMETER); /* stale */
    WdfObjectDelete(device);
}

/* Spec 1.1 "Dynamic modules": WdfObjectDelete is allowed at DISPATCH_LEVEL; the close (which
 * may wait) then runs at PASSIVE_LEVEL on a worker thread. */
static KIRQL close_irql = HIGH_LEVEL;
static KEVENT destroyed;

static VOID pre_close_at(DMFMODULE m)
{
    close_irql = KeGetCurrentIrql();
}

static VOID destroy_signal(WDFOBJECT o) { KeSetEvent(&destroyed, IO_NO_INCREMENT, FALSE); }

static void deleting_a_module_at_dispatch_level_closes_it_on_a_worker(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_TestModule config = { .Name = "m" };
    DMF_MODULE_EVENT_CALLBACKS callbacks;
    WDF_OBJECT_ATTRIBUTES oa;
    DMF_MODULE_ATTRIBUTES a;
    DMFMODULE m;
    KIRQL old;

    KeInitializeEvent(&destroyed, NotificationEvent, FALSE);
    init_attributes(&a, &config, Dyn_Create);
    DMF_MODULE_ATTRIBUTES_EVENT_CALLBACKS_INIT(&a, &callbacks);
    callbacks.EvtModuleOnDeviceNotificationPreClose = pre_close_at;
    WDF_OBJECT_ATTRIBUTES_INIT(&oa);
    oa.EvtDestroyCallback = destroy_signal;
    assert_int_equal(Dyn_Create((WDFDEVICE)device, &a, &oa, &m), STATUS_SUCCESS);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    WdfObjectDelete(m);
    KeLowerIrql(old);
    pk_test_wait_event(&destroyed);
    assert_int_equal(close_irql, PASSIVE_LEVEL);
    expect_events("create:m", "open:m", "close:m", "destroy:m", NULL);
    WdfObjectDelete(device);
}

/* Spec 1.1 "Dynamic modules": deleting the Device deletes its modules with it. */
static void deleting_the_device_deletes_its_modules(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_TestModule a = { .Name = "a" }, b = { .Name = "b" };
    DMFMODULE ma, mb;

    assert_int_equal(create_dynamic(Dyn_Create, device, &a, &ma), STATUS_SUCCESS);
    assert_int_equal(create_dynamic(Dyn_Create, device, &b, &mb), STATUS_SUCCESS);
    assert_ptr_equal(DMF_ParentDeviceGet(ma), device);
    assert_null(DMF_ParentModuleGet(ma));
    clear_events();
    WdfObjectDelete(device); /* newest first, as for any children */
    expect_events("close:b", "destroy:b", "close:a", "destroy:a", NULL);
    assert_int_equal(PnpkitLiveObjectCount(), 0);
}

/* Spec 1.1 "Open options", NOTIFY_Create: NotificationRegister runs at create; at delete
 * NotificationUnregister runs first and the module is closed before it is destroyed. */
static void notify_create_module_registers_at_create_and_unregisters_at_delete(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_TestModule config = { .Name = "n", .OpenInRegister = TRUE };
    DMFMODULE m;

    assert_int_equal(create_dynamic(Notify_Create, device, &config, &m), STATUS_SUCCESS);
    assert_int_equal(DMF_ModuleReference(m), STATUS_SUCCESS);
    DMF_ModuleDereference(m);
    WdfObjectDelete(m);
    expect_events("create:n", "register:n", "open:n", "unregister:n", "close:n", "destroy:n", NULL);
    WdfObjectDelete(device);
}

/* Spec 1.1 "Open options": after NotificationUnregister returns, the framework closes the
 * module if it is still open. */
static void module_left_open_after_unregister_is_closed_by_the_framework(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_TestModule config = { .Name = "n", .OpenInRegister = TRUE, .LeaveOpenInUnregister = TRUE };
    DMFMODULE m;

    assert_int_equal(create_dynamic(Notify_Create, device, &config, &m), STATUS_SUCCESS);
    WdfObjectDelete(m);
    expect_events("create:n", "register:n", "open:n", "unregister:n", "close:n", "destroy:n", NULL);
    WdfObjectDelete(device);
}

/* =============================================================================================
 * Trees (1.1 "Lifecycle and ordering"; D72, D73 is in test_buffer_queue.c)
 * ============================================================================================= */

/* D72: children are created before the parent's create completes, open before their parent
 * and close after it; the parent is destroyed first. */
static void children_open_before_their_parent_and_close_after_it(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE children[2];
    DMF_CONFIG_TestModule config = { .Name = "p", .ChildCount = 2, .ChildCreator = Dyn_Create,
                                     .ChildNames = { "c0", "c1" }, .ChildHandles = children };
    DMFMODULE m;

    assert_int_equal(create_dynamic(Dyn_Create, device, &config, &m), STATUS_SUCCESS);
    expect_events("create:p", "create:c0", "create:c1", "open:c0", "open:c1", "open:p", NULL);
    assert_ptr_equal(DMF_ParentModuleGet(children[1]), m);
    assert_ptr_equal(DMF_ParentDeviceGet(children[1]), device);
    clear_events();
    WdfObjectDelete(m);
    expect_events("close:p", "close:c0", "close:c1", "destroy:p", "destroy:c0", "destroy:c1", NULL);
    WdfObjectDelete(device);
}

/* D72 (failure path): when a child fails to open, what opened is closed again, everything
 * created is destroyed, and the create returns the failure. */
static void failing_child_open_undoes_the_tree(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_TestModule config = { .Name = "p", .ChildCount = 2, .ChildCreator = Dyn_Create,
                                     .ChildNames = { "c0", "c1" } };
    DMFMODULE m = NULL;

    /* The children get OpenStatus 0 from the local config; make the parent fail instead, after
     * both children opened. */
    config.OpenStatus = STATUS_INSUFFICIENT_RESOURCES;
    assert_int_equal(create_dynamic(Dyn_Create, device, &config, &m), STATUS_INSUFFICIENT_RESOURCES);
    assert_null(m);
    expect_events("create:p", "create:c0", "create:c1", "open:c0", "open:c1", "open:p", "close:c1", "close:c0",
                  "destroy:p", "destroy:c0", "destroy:c1", NULL);
    WdfObjectDelete(device);
}

/* Spec 1.1: adding a 17th child fails create with STATUS_INVALID_PARAMETER. */
static void seventeenth_child_fails_create(void **state)
{
    WDFOBJECT device = make_device();
    DMF_CONFIG_TestModule config = { .Name = "p", .ChildCount = 17, .ChildCreator = Dyn_Create };
    DMFMODULE m = NULL;

    pk_test_capture_verifier();
    assert_int_equal(create_dynamic(Dyn_Create, device, &config, &m), STATUS_INVALID_PARAMETER);
    assert_null(m);
    expect_events("create:p", "destroy:p", NULL);
    config.ChildCount = 16;
    assert_int_equal(create_dynamic(Dyn_Create, device, &config, &m), STATUS_SUCCESS);
    WdfObjectDelete(device);
}

/* Spec 1.1: a parent whose option is OPEN_* must not open earlier than any of its OPEN_*
 * children: create fails with STATUS_INVALID_PARAMETER. */
static void parent_opening_before_its_child_fails_create(void **state)
{
    WDFOBJECT device = make_device();

    pk_test_capture_verifier();
    add_static(Dyn_Create, "p"); /* OPEN_Create parent ... */
    statics.configs[0].ChildCount = 1;
    statics.configs[0].ChildCreator = Prepare_Create; /* ... with an OPEN_PrepareHardware child */
    assert_int_equal(create_static(device, true, false), STATUS_INVALID_PARAMETER);
    assert_null(statics.handles[0]);
    WdfObjectDelete(device);
}

/* =============================================================================================
 * Static modules and PnP/power (1.1a; 1.1 "Open options"; D72)
 * ============================================================================================= */

/* Spec 1.1a: DMF_ModulesCreate calls EvtDmfDeviceModulesAdd, creates the added modules in
 * order, writes their handles, and frees the DMFDEVICE_INIT; the modules are static. */
static void modules_create_creates_static_modules_in_add_order(void **state)
{
    WDFOBJECT device = make_device();

    pk_test_capture_verifier();
    add_static(Dyn_Create, "a");
    add_static(Notify_Create, "b");
    assert_int_equal(create_static(device, true, true), STATUS_SUCCESS);
    expect_events("create:a", "open:a", "create:b", "register:b", NULL);
    assert_non_null(statics.handles[0]);
    assert_non_null(statics.handles[1]);
    assert_false(DMF_IsModuleDynamic(statics.handles[0]));
    assert_true(DMF_ModuleIsInFilterDriver(statics.handles[1]));
    /* Static modules are deleted with the device, not by the client. */
    WdfObjectDelete(statics.handles[0]);
    assert_true(pk_test_verifier_saw("deleted by the framework"));
    clear_events();
    WdfObjectDelete(device);
    expect_events("unregister:b", "destroy:b", "close:a", "destroy:a", NULL);
}

/* Spec 1.1a: a client that did not call the hooks gets a verifier stop at DMF_ModulesCreate;
 * a second DMF_ModulesCreate on the same device fails. */
static void modules_create_without_hooks_is_verifier_stop(void **state)
{
    WDFOBJECT device = make_device();

    pk_test_capture_verifier();
    add_static(Dyn_Create, "a");
    assert_int_equal(create_static(device, false, false), STATUS_SUCCESS);
    assert_int_equal(pk_test_verifier_stops(), 1);
    assert_true(pk_test_verifier_saw("DMF_DmfDeviceInitHook"));
    assert_int_equal(create_static(device, true, false), STATUS_INVALID_DEVICE_STATE);
    WdfObjectDelete(device);
}

/* D72: PrepareHardware reaches children before parents (and opens OPEN_PrepareHardware
 * modules); ReleaseHardware goes parents first. */
static void prepare_hardware_reaches_children_before_parents(void **state)
{
    WDFOBJECT device = make_device();
    DMFMODULE children[2];

    add_static(Prepare_Create, "p");
    statics.configs[0].ChildCount = 2;
    statics.configs[0].ChildCreator = Prepare_Create;
    statics.configs[0].ChildNames[0] = "c0";
    statics.configs[0].ChildNames[1] = "c1";
    statics.configs[0].ChildHandles = children;
    assert_int_equal(create_static(device, true, false), STATUS_SUCCESS);
    expect_events("create:p", "create:c0", "create:c1", NULL);
    clear_events();

    assert_int_equal(DMF_ModuleReference(statics.handles[0]), STATUS_INVALID_DEVICE_STATE);
    assert_int_equal(dmf_modules_on_prepare_hardware(device, NULL, NULL), STATUS_SUCCESS);
    expect_events("prepare:c0", "open:c0", "prepare:c1", "open:c1", "prepare:p", "open:p", NULL);
    assert_int_equal(DMF_ModuleReference(statics.handles[0]), STATUS_SUCCESS);
    DMF_ModuleDereference(statics.handles[0]);

    clear_events();
    assert_int_equal(dmf_modules_on_release_hardware(device, NULL), STATUS_SUCCESS);
    expect_events("close:p", "release:p", "close:c0", "release:c0", "close:c1", "release:c1", NULL);
    clear_events();
    WdfObjectDelete(device);
    expect_events("destroy:p", "destroy:c0", "destroy:c1", NULL);
}

/* Spec 1.1 "Open options": a failing PrepareHardware is returned, and the modules that call
 * opened are closed again. */
static void failing_prepare_hardware_closes_what_it_opened(void **state)
{
    WDFOBJECT device = make_device();

    add_static(Prepare_Create, "a");
    add_static(Prepare_Create, "b");
    statics.configs[1].PrepareStatus = STATUS_DEVICE_NOT_READY;
    assert_int_equal(create_static(device, true, false), STATUS_SUCCESS);
    clear_events();
    assert_int_equal(dmf_modules_on_prepare_hardware(device, NULL, NULL), STATUS_DEVICE_NOT_READY);
    expect_events("prepare:a", "open:a", "prepare:b", "close:a", NULL);
    assert_int_equal(DMF_ModuleReference(statics.handles[0]), STATUS_INVALID_DEVICE_STATE);
    WdfObjectDelete(device);
}

/* Spec 1.1 "Open options": OPEN_D0Entry opens on every D0Entry and closes on every D0Exit;
 * OPEN_D0EntrySystemPowerUp opens on the first D0Entry and closes only on the exit to
 * D3Final. */
static void d0_modules_follow_their_open_options(void **state)
{
    WDFOBJECT device = make_device();

    add_static(D0Open_Create, "d");
    add_static(PowerUp_Create, "u");
    assert_int_equal(create_static(device, true, false), STATUS_SUCCESS);
    clear_events();

    assert_int_equal(dmf_modules_on_d0_entry(device, DMF_POWER_DEVICE_D3), STATUS_SUCCESS);
    expect_events("d0entry:d", "open:d", "open:u", NULL);
    clear_events();
    assert_int_equal(dmf_modules_on_d0_exit(device, DMF_POWER_DEVICE_D3), STATUS_SUCCESS);
    expect_events("close:d", "d0exit:d", NULL); /* u stays open */
    clear_events();
    assert_int_equal(dmf_modules_on_d0_entry(device, DMF_POWER_DEVICE_D3), STATUS_SUCCESS);
    expect_events("d0entry:d", "open:d", NULL);
    clear_events();
    assert_int_equal(dmf_modules_on_d0_exit(device, DMF_POWER_DEVICE_D3_FINAL), STATUS_SUCCESS);
    expect_events("close:u", "close:d", "d0exit:d", NULL); /* down the stack: reverse add order */
    clear_events();
    WdfObjectDelete(device);
    expect_events("destroy:u", "destroy:d", NULL);
}

/* Spec 1.1 "Open options": NOTIFY_PrepareHardware registers in PrepareHardware and
 * unregisters (then closes) in ReleaseHardware. */
static void notify_prepare_hardware_registers_and_unregisters_with_the_hardware(void **state)
{
    WDFOBJECT device = make_device();

    add_static(NotifyPrepare_Create, "n");
    statics.configs[0].OpenInRegister = TRUE;
    statics.configs[0].LeaveOpenInUnregister = TRUE;
    assert_int_equal(create_static(device, true, false), STATUS_SUCCESS);
    clear_events();
    assert_int_equal(dmf_modules_on_prepare_hardware(device, NULL, NULL), STATUS_SUCCESS);
    expect_events("register:n", "open:n", NULL);
    clear_events();
    assert_int_equal(dmf_modules_on_release_hardware(device, NULL), STATUS_SUCCESS);
    expect_events("unregister:n", "close:n", NULL);
    clear_events();
    WdfObjectDelete(device);
    expect_events("destroy:n", NULL);
}

/* The entry points accept an object without DMF modules. */
static void entry_points_on_a_device_without_modules_do_nothing(void **state)
{
    WDFOBJECT device = make_device();
    assert_int_equal(dmf_modules_on_prepare_hardware(device, NULL, NULL), STATUS_SUCCESS);
    assert_int_equal(dmf_modules_on_d0_entry(device, DMF_POWER_DEVICE_D3), STATUS_SUCCESS);
    assert_int_equal(dmf_modules_on_d0_exit(device, DMF_POWER_DEVICE_D3), STATUS_SUCCESS);
    assert_int_equal(dmf_modules_on_release_hardware(device, NULL), STATUS_SUCCESS);
    WdfObjectDelete(device);
}

PK_TEST_MAIN(PK_TEST(attributes_with_wrong_sizes_fail_create),
             PK_TEST(passive_level_on_dispatch_module_fails_create),
             PK_TEST(dispatch_maximum_module_runs_passive_only_with_passive_level),
             PK_TEST(passive_module_always_runs_passive),
             PK_TEST(pool_types_with_bit_0_set_are_paged),
             PK_TEST(config_is_copied_at_create),
             PK_TEST(bad_module_handle_is_verifier_stop_and_method_fails),
             PK_TEST(post_open_runs_after_the_module_is_open),
             PK_TEST(failed_open_returns_its_status_and_leaves_the_module_closed),
             PK_TEST(module_reference_fails_before_open_while_closing_and_after_close),
             PK_TEST(close_waits_for_every_reference_after_pre_close),
             PK_TEST(dereference_without_reference_is_verifier_stop),
             PK_TEST(closing_twice_runs_close_callback_once),
             PK_TEST(idle_close_consumes_no_cpu_until_the_reference_is_dropped),
             PK_TEST(module_lock_taken_twice_is_verifier_stop),
             PK_TEST(dynamic_module_with_power_callbacks_fails_with_unsuccessful),
             PK_TEST(dynamic_module_with_pnp_open_option_fails_with_unsuccessful),
             PK_TEST(deleting_dynamic_module_closes_then_destroys_it),
             PK_TEST(deleting_a_module_at_dispatch_level_closes_it_on_a_worker),
             PK_TEST(deleting_the_device_deletes_its_modules),
             PK_TEST(notify_create_module_registers_at_create_and_unregisters_at_delete),
             PK_TEST(module_left_open_after_unregister_is_closed_by_the_framework),
             PK_TEST(children_open_before_their_parent_and_close_after_it),
             PK_TEST(failing_child_open_undoes_the_tree),
             PK_TEST(seventeenth_child_fails_create),
             PK_TEST(parent_opening_before_its_child_fails_create),
             PK_TEST(modules_create_creates_static_modules_in_add_order),
             PK_TEST(modules_create_without_hooks_is_verifier_stop),
             PK_TEST(prepare_hardware_reaches_children_before_parents),
             PK_TEST(failing_prepare_hardware_closes_what_it_opened),
             PK_TEST(d0_modules_follow_their_open_options),
             PK_TEST(notify_prepare_hardware_registers_and_unregisters_with_the_hardware),
             PK_TEST(entry_points_on_a_device_without_modules_do_nothing))
