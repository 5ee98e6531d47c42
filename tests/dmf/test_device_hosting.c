/* Static modules hosted on a real WDFDEVICE (spec dmf.md 1.1a): once DMF_ModulesCreate ran in
 * EvtDriverDeviceAdd, the device's own PnP and power events reach the modules, before the
 * client's callbacks on the way up (PrepareHardware, D0Entry) and after them on the way down
 * (D0Exit, ReleaseHardware); a module failing PrepareHardware fails the start before the
 * client's PrepareHardware runs. */
#include "../wdf/wdf_testdrv.h"
#include <pnpkit/dmf.h>

#include "dmf/dmf_internal.h"

typedef struct {
    NTSTATUS PrepareStatus;
} DMF_CONFIG_HostedModule;

static NTSTATUS h_open(DMFMODULE m)
{
    pk_log("mod:open");
    return STATUS_SUCCESS;
}

static VOID h_close(DMFMODULE m) { pk_log("mod:close"); }

static NTSTATUS h_prepare(DMFMODULE m, WDFCMRESLIST raw, WDFCMRESLIST translated)
{
    DMF_CONFIG_HostedModule *c = DMF_ModuleConfigGet(m);
    pk_log("mod:prepare");
    return c->PrepareStatus;
}

static NTSTATUS h_release(DMFMODULE m, WDFCMRESLIST translated)
{
    pk_log("mod:release");
    return STATUS_SUCCESS;
}

static NTSTATUS h_d0_entry(DMFMODULE m, ULONG previous_state)
{
    pk_log("mod:d0entry:%lu", (unsigned long)previous_state);
    return STATUS_SUCCESS;
}

static NTSTATUS h_d0_exit(DMFMODULE m, ULONG target_state)
{
    pk_log("mod:d0exit:%lu", (unsigned long)target_state);
    return STATUS_SUCCESS;
}

static const dmf_module_descriptor hosted_descriptor = {
    .name = "Hosted",
    .options = DMF_MODULE_OPTIONS_PASSIVE,
    .open_option = DMF_MODULE_OPEN_OPTION_OPEN_PrepareHardware,
    .config_size = sizeof(DMF_CONFIG_HostedModule),
    .open = h_open,
    .close = h_close,
    .prepare_hardware = h_prepare,
    .release_hardware = h_release,
    .d0_entry = h_d0_entry,
    .d0_exit = h_d0_exit,
};

static NTSTATUS Hosted_Create(WDFDEVICE Device, DMF_MODULE_ATTRIBUTES *Attributes, WDF_OBJECT_ATTRIBUTES *ObjectAttributes,
                              DMFMODULE *Module)
{
    return dmf_module_create(Device, Attributes, ObjectAttributes, &hosted_descriptor, Module);
}

static DMF_CONFIG_HostedModule hosted_config;
static DMFMODULE hosted;
static NTSTATUS modules_create_status = STATUS_PENDING;

static VOID modules_add(WDFDEVICE Device, PDMFMODULE_INIT DmfModuleInit)
{
    DMF_MODULE_ATTRIBUTES a;

    DMF_MODULE_ATTRIBUTES_INIT(&a, sizeof(hosted_config));
    a.ModuleConfigPointer = &hosted_config;
    a.InstanceCreator = Hosted_Create;
    DMF_DmfModuleAdd(DmfModuleInit, &a, WDF_NO_OBJECT_ATTRIBUTES, &hosted);
}

/* What a DMF client driver does in EvtDriverDeviceAdd after WdfDeviceCreate. */
static void host_modules(WDFDEVICE device)
{
    PDMFDEVICE_INIT init = DMF_DmfDeviceInitAllocate(NULL);
    DMF_EVENT_CALLBACKS callbacks;

    DMF_DmfDeviceInitHookPnpPowerEventCallbacks(init, NULL);
    DMF_DmfDeviceInitHookPowerPolicyEventCallbacks(init, NULL);
    DMF_DmfDeviceInitHookFileObjectConfig(init, NULL);
    DMF_EVENT_CALLBACKS_INIT(&callbacks);
    callbacks.EvtDmfDeviceModulesAdd = modules_add;
    DMF_DmfDeviceInitSetEventCallbacks(init, &callbacks);
    modules_create_status = DMF_ModulesCreate(device, &init);
}

static HSWDEVICE start(PCWSTR name, DEVINST *dn, NTSTATUS prepare_status)
{
    wt_reset();
    hosted = NULL;
    hosted_config.PrepareStatus = prepare_status;
    modules_create_status = STATUS_PENDING;
    wt_cfg[0].device_created = host_modules;
    wt_register_wdf(0, WT_FUNCTION);
    pk_log_clear();
    HSWDEVICE h = wt_device_create(name, dn);
    assert_int_equal(modules_create_status, STATUS_SUCCESS);
    return h;
}

static void before(const char *a, const char *b)
{
    int ia = pk_log_find(a, 0), ib = pk_log_find(b, 0);
    if (ia < 0 || ib < 0 || ia >= ib) {
        pk_log_dump();
        fail_msg("expected \"%s\" before \"%s\" (at %d and %d)", a, b, ia, ib);
    }
}

static void start_opens_modules_and_runs_their_callbacks_before_the_clients(void **state)
{
    DEVINST dn;
    HSWDEVICE h = start(u"hostup", &dn, STATUS_SUCCESS);

    before("mod:open", "wdf0:prepare");
    before("mod:prepare", "wdf0:prepare");
    before("wdf0:prepare", "mod:d0entry:5");
    before("mod:d0entry:5", "wdf0:d0entry:5");
    assert_int_equal(DMF_ModuleReference(hosted), STATUS_SUCCESS); /* open */
    DMF_ModuleDereference(hosted);
    wt_device_close(h);
    wt_teardown();
}

static void removal_runs_module_callbacks_after_the_clients_and_closes_them(void **state)
{
    DEVINST dn;
    HSWDEVICE h = start(u"hostdown", &dn, STATUS_SUCCESS);

    pk_log_clear();
    assert_int_equal(CM_Query_And_Remove_SubTreeW(dn, NULL, NULL, 0, 0), CR_SUCCESS);
    PnpkitSimWaitIdle();
    before("wdf0:d0exit:5", "mod:d0exit:5");
    before("mod:d0exit:5", "wdf0:release");
    before("wdf0:release", "mod:release");
    before("wdf0:release", "mod:close"); /* the framework's order of close and release: spec 1.1a */
    assert_int_equal(pk_log_find("mod:close", pk_log_find("mod:close", 0) + 1), -1); /* once */
    wt_device_close(h);
    wt_teardown();
}

static void module_prepare_failure_fails_the_start_before_the_clients_prepare(void **state)
{
    DEVINST dn;
    ULONG status = 0, problem = 0;
    HSWDEVICE h = start(u"hostfail", &dn, STATUS_DEVICE_CONFIGURATION_ERROR);

    assert_true(pk_log_find("mod:prepare", 0) >= 0);
    assert_int_equal(pk_log_find("wdf0:prepare", 0), -1);
    assert_int_equal(pk_log_find("wdf0:d0entry:5", 0), -1);
    assert_int_equal(CM_Get_DevNode_Status(&status, &problem, dn, 0), CR_SUCCESS);
    assert_int_not_equal(problem, 0);
    wt_device_close(h);
    wt_teardown();
}

/* ---- File-object events routed to modules (spec 1.1a) ---- */

static BOOLEAN f_create(DMFMODULE m, WDFDEVICE d, WDFREQUEST r, WDFFILEOBJECT f)
{
    PUNICODE_STRING name = WdfFileObjectGetFileName(f);
    char *u8 = name ? PnpkitUnicodeStringToUtf8(name) : NULL;
    bool mine = u8 && strcmp(u8, "\\mine") == 0;

    pk_log("fmod:create:%s%s", u8 ? u8 : "", mine ? ":handled" : "");
    free(u8);
    if (!mine)
        return FALSE;
    WdfRequestComplete(r, STATUS_SUCCESS); /* the module owns this create */
    return TRUE;
}

static VOID f_cleanup(DMFMODULE m, WDFFILEOBJECT f) { pk_log("fmod:cleanup"); }
static VOID f_close(DMFMODULE m, WDFFILEOBJECT f) { pk_log("fmod:close"); }

static const dmf_module_descriptor file_descriptor = {
    .name = "FileEvents",
    .options = DMF_MODULE_OPTIONS_PASSIVE,
    .open_option = DMF_MODULE_OPEN_OPTION_OPEN_PrepareHardware,
    .file_create = f_create,
    .file_cleanup = f_cleanup,
    .file_close = f_close,
};

static NTSTATUS FileEvents_Create(WDFDEVICE Device, DMF_MODULE_ATTRIBUTES *Attributes,
                                  WDF_OBJECT_ATTRIBUTES *ObjectAttributes, DMFMODULE *Module)
{
    return dmf_module_create(Device, Attributes, ObjectAttributes, &file_descriptor, Module);
}

static VOID file_modules_add(WDFDEVICE Device, PDMFMODULE_INIT DmfModuleInit)
{
    DMF_MODULE_ATTRIBUTES a;

    DMF_MODULE_ATTRIBUTES_INIT(&a, 0);
    a.InstanceCreator = FileEvents_Create;
    DMF_DmfModuleAdd(DmfModuleInit, &a, WDF_NO_OBJECT_ATTRIBUTES, NULL);
}

static void host_file_modules(WDFDEVICE device)
{
    PDMFDEVICE_INIT init = DMF_DmfDeviceInitAllocate(NULL);
    DMF_EVENT_CALLBACKS callbacks;

    DMF_DmfDeviceInitHookPnpPowerEventCallbacks(init, NULL);
    DMF_DmfDeviceInitHookPowerPolicyEventCallbacks(init, NULL);
    DMF_DmfDeviceInitHookFileObjectConfig(init, NULL);
    DMF_EVENT_CALLBACKS_INIT(&callbacks);
    callbacks.EvtDmfDeviceModulesAdd = file_modules_add;
    DMF_DmfDeviceInitSetEventCallbacks(init, &callbacks);
    modules_create_status = DMF_ModulesCreate(device, &init);
}

static HSWDEVICE start_file_host(PCWSTR name, int create_mode)
{
    DEVINST dn;

    wt_reset();
    modules_create_status = STATUS_PENDING;
    wt_cfg[0].device_created = host_file_modules;
    wt_cfg[0].iface = &WT_GUID;
    wt_cfg[0].file_config = true;
    wt_cfg[0].create_mode = create_mode;
    wt_cfg[0].cleanup_cb = wt_cfg[0].close_cb = true;
    wt_register_wdf(0, WT_FUNCTION);
    pk_log_clear();
    HSWDEVICE h = wt_device_create(name, &dn);
    assert_int_equal(modules_create_status, STATUS_SUCCESS);
    return h;
}

static void file_events_reach_modules_before_the_client(void **state)
{
    PFILE_OBJECT fo;
    HSWDEVICE h = start_file_host(u"fileev", WT_CREATE_SUCCEED);

    assert_int_equal(wt_open(&WT_GUID, u"\\other", &fo), STATUS_SUCCESS);
    before("fmod:create:\\other", "wdf0:create:file");
    assert_true(pk_log_find("fmod:create:\\other:handled", 0) < 0);
    wt_close(fo);
    PnpkitSimWaitIdle();
    before("fmod:cleanup", "wdf0:cleanup:file");
    before("fmod:close", "wdf0:close:file");
    wt_device_close(h);
    wt_teardown();
}

static void a_module_that_handles_a_create_keeps_it_from_the_client(void **state)
{
    PFILE_OBJECT fo;
    HSWDEVICE h = start_file_host(u"filemine", WT_CREATE_FAIL); /* the client would fail it */

    assert_int_equal(wt_open(&WT_GUID, u"\\mine", &fo), STATUS_SUCCESS);
    assert_true(pk_log_find("fmod:create:\\mine:handled", 0) >= 0);
    assert_true(pk_log_find("wdf0:create", 0) < 0);
    wt_close(fo);
    PnpkitSimWaitIdle();
    before("fmod:cleanup", "wdf0:cleanup:file");
    before("fmod:close", "wdf0:close:file");
    /* A create the module does not take reaches the client, which fails it. */
    assert_int_not_equal(wt_open(&WT_GUID, u"\\other", &fo), STATUS_SUCCESS);
    assert_true(pk_log_find("wdf0:create:file", 0) >= 0);
    wt_device_close(h);
    wt_teardown();
}

static void without_a_client_create_callback_the_framework_completes_what_modules_leave(void **state)
{
    PFILE_OBJECT fo;
    HSWDEVICE h = start_file_host(u"filenone", WT_CREATE_NONE);

    assert_int_equal(wt_open(&WT_GUID, u"\\other", &fo), STATUS_SUCCESS);
    assert_true(pk_log_find("fmod:create:\\other", 0) >= 0);
    assert_true(pk_log_find("wdf0:create", 0) < 0);
    wt_close(fo);
    PnpkitSimWaitIdle();
    before("fmod:close", "wdf0:close:file");
    wt_device_close(h);
    wt_teardown();
}


PK_TEST_MAIN(PK_TEST(start_opens_modules_and_runs_their_callbacks_before_the_clients),
             PK_TEST(removal_runs_module_callbacks_after_the_clients_and_closes_them),
             PK_TEST(module_prepare_failure_fails_the_start_before_the_clients_prepare),
             PK_TEST(file_events_reach_modules_before_the_client),
             PK_TEST(a_module_that_handles_a_create_keeps_it_from_the_client),
             PK_TEST(without_a_client_create_callback_the_framework_completes_what_modules_leave))
