/*
 * dmf_internal.h — what the files of the dmf layer share, and the entry points the WDF device
 * code calls. Nothing outside src/dmf includes it, except the WDF device code (for the
 * dmf_modules_on_* entry points) and tests that define module types of their own.
 *
 * Naming: dmf_<thing>_<verb>. A module type is a static dmf_module_descriptor plus a
 * DMF_<Module>_Create that calls dmf_module_create with it; its public methods start with
 * dmf_method_enter and end with dmf_method_leave.
 */
#ifndef PNPKIT_DMF_INTERNAL_H
#define PNPKIT_DMF_INTERNAL_H

#include "object/object_internal.h"
#include <pnpkit/dmf.h>

/* At most this many children per module (a 17th fails the parent's create). */
#define DMF_MAXIMUM_CHILDREN 16

/* WDF_POWER_DEVICE_STATE values (wdfdevice.h) used by the D0 entry points. */
#define DMF_POWER_DEVICE_D0 1
#define DMF_POWER_DEVICE_D3 4
#define DMF_POWER_DEVICE_D3_FINAL 5

typedef struct dmf_module dmf_module;

/* =============================================================================================
 * Module descriptors: what a module type declares. Every callback is optional and receives the
 * handle of the module instance; all run at PASSIVE_LEVEL with no pnpkit lock held.
 * ============================================================================================= */
typedef struct dmf_module_descriptor {
    const char *name;               /* "BufferPool"; used in traces and verifier messages */
    /* A module type with several descriptors (one per open option) names the one its methods
     * check in dmf_method_enter; NULL otherwise. */
    const struct dmf_module_descriptor *family;
    ULONG options;                  /* DMF_MODULE_OPTIONS_PASSIVE / _DISPATCH / _DISPATCH_MAXIMUM */
    DmfModuleOpenOption open_option;
    size_t context_size;            /* private context, zeroed, allocated with the module */
    size_t config_size;             /* sizeof(DMF_CONFIG_<Module>), 0 without a config */

    /* After the config is copied, before the children are added: validate the config and set
     * up the context. A failure fails the create (the destroy callback then does not run). */
    NTSTATUS (*create)(DMFMODULE module);
    /* Adds the children with DMF_DmfModuleAdd; they are created when it returns. */
    VOID (*child_modules_add)(DMFMODULE module, DMF_MODULE_ATTRIBUTES *parent_attributes, PDMFMODULE_INIT init);
    /* Open and close the module (children are already open / still open). */
    NTSTATUS (*open)(DMFMODULE module);
    VOID (*close)(DMFMODULE module);
    /* NOTIFY options: start and stop watching; the module opens and closes itself between. */
    NTSTATUS (*notification_register)(DMFMODULE module);
    VOID (*notification_unregister)(DMFMODULE module);
    /* Last: after the module and its children are closed (parent first, then children). */
    VOID (*destroy)(DMFMODULE module);
    /* When the module object's deletion starts at PASSIVE_LEVEL, before the framework deletes
     * the objects parented to it (the module is still open): a module that owns such objects
     * shuts them down here. It must be idempotent with NotificationUnregister and Close, which
     * still run afterwards. */
    VOID (*delete_begin)(DMFMODULE module);

    /* PnP and power events of static modules (a dynamic module with any of them fails to
     * create). Up the stack (PrepareHardware, D0Entry) children get them before parents; down
     * the stack parents before children. */
    NTSTATUS (*prepare_hardware)(DMFMODULE module, WDFCMRESLIST resources_raw, WDFCMRESLIST resources_translated);
    NTSTATUS (*release_hardware)(DMFMODULE module, WDFCMRESLIST resources_translated);
    NTSTATUS (*d0_entry)(DMFMODULE module, ULONG previous_state);
    NTSTATUS (*d0_exit)(DMFMODULE module, ULONG target_state);

    /* File-object events of the device of a static module (DMF's ModuleFileCreate,
     * ModuleFileCleanup, ModuleFileClose), children first, before the client's callbacks; only
     * open modules get them. A create callback returns TRUE when it handled the create (it then
     * completes or forwards the request, and no other module nor the client sees it). */
    BOOLEAN (*file_create)(DMFMODULE module, WDFDEVICE device, WDFREQUEST request, WDFFILEOBJECT file);
    VOID (*file_cleanup)(DMFMODULE module, WDFFILEOBJECT file);
    VOID (*file_close)(DMFMODULE module, WDFFILEOBJECT file);
} dmf_module_descriptor;

/* Creates a module of type `descriptor` (the body of every DMF_<Module>_Create; arguments as
 * documented there). Called from a ChildModulesAdd realization or from DMF_ModulesCreate, it
 * creates a child or a static module instead of a dynamic one. PASSIVE_LEVEL. */
NTSTATUS dmf_module_create(WDFDEVICE device, DMF_MODULE_ATTRIBUTES *attributes, WDF_OBJECT_ATTRIBUTES *object_attributes,
                           const dmf_module_descriptor *descriptor, DMFMODULE *out);

/* Creates a dynamic module with `creator` (a DMF_<Module>_Create) for the module `owner`: it is
 * opened at create like a client's dynamic module, but the client never sees its handle (its
 * callbacks carry owner's client handle, WdfObjectDelete refuses it) and it is not one of
 * owner's children: owner deletes it (pk_object_delete on its object, or through its parent
 * object in object_attributes). PASSIVE_LEVEL. */
NTSTATUS dmf_module_create_owned(dmf_module *owner, DMF_ModuleInstanceCreate *creator, DMF_MODULE_ATTRIBUTES *attributes,
                                 WDF_OBJECT_ATTRIBUTES *object_attributes, DMFMODULE *out);

/* Deletes a module made by dmf_module_create_owned: closes it (waiting for its references)
 * and deletes its object. PASSIVE_LEVEL. */
void dmf_module_delete_owned(DMFMODULE module);

/* =============================================================================================
 * Method brackets. dmf_method_enter validates the IRQL (at most max_irql), the handle and the
 * module type, and takes a reference on the module object (not a DMF_ModuleReference: the
 * object stays in memory, the module may still close). False (after a verifier stop) when the
 * method must fail. Every true is paired with dmf_method_leave.
 * ============================================================================================= */
bool dmf_method_enter(DMFMODULE handle, const dmf_module_descriptor *descriptor, const char *api, KIRQL max_irql,
                      dmf_module **out);
void dmf_method_leave(dmf_module *m);

/* The module behind a handle the framework gave a callback (the module is alive for the
 * callback's duration); NULL (internal bug) for anything else. */
dmf_module *dmf_module_from_callback(DMFMODULE handle);

DMFMODULE dmf_module_handle(dmf_module *m);
void *dmf_module_context(dmf_module *m);
void *dmf_module_config(dmf_module *m);
const char *dmf_module_name(dmf_module *m);
bool dmf_module_is_passive(dmf_module *m);
/* The handle a callback to the client must carry: the module the client created (this module,
 * or the nearest ancestor the client created when this one is an internal child). */
DMFMODULE dmf_module_client_handle(dmf_module *m);
/* Keep the module object's memory alive (pool buffers do this for their source pool). */
void dmf_module_object_reference(dmf_module *m);
void dmf_module_object_dereference(dmf_module *m);

/* The module lock (see DMF_ModuleLock). dmf_module_lock returns false, after a verifier stop,
 * when the calling thread already holds it or the IRQL is too high for it; the caller then
 * fails its method. */
bool dmf_module_lock(dmf_module *m, const char *api);
void dmf_module_unlock(dmf_module *m);
bool dmf_module_lock_held_by_me(dmf_module *m);

/* STATUS_INVALID_PARAMETER with a verifier stop when pool_type is paged and the module does not
 * run passive; STATUS_SUCCESS otherwise. `field` names the config field in the message. */
NTSTATUS dmf_module_check_pool_type(dmf_module *m, POOL_TYPE pool_type, const char *field);

/* =============================================================================================
 * Entry points for the WDF device code. `device` is the object modules were created on with
 * DMF_ModulesCreate (any other object: no modules, STATUS_SUCCESS). Only static modules take
 * part. Call them at PASSIVE_LEVEL from the device's PnP/power path:
 *   - dmf_modules_on_prepare_hardware before the client's EvtDevicePrepareHardware,
 *   - dmf_modules_on_d0_entry before the client's EvtDeviceD0Entry,
 *   - dmf_modules_on_d0_exit after the client's EvtDeviceD0Exit,
 *   - dmf_modules_on_release_hardware after the client's EvtDeviceReleaseHardware.
 * Up the stack each module tree is walked children first: the module's own callback, then its
 * opening (OPEN_*) or registration (NOTIFY_*) if its option names this point; modules in the
 * order they were added. On a failure the modules this call opened are closed again and the
 * failure is returned (fail the device's start with it). Down the stack the walk is parents
 * first, in the reverse order of the adds: closing or unregistering, then the module's own
 * callback; these always return STATUS_SUCCESS (a failing module callback is traced).
 * The power states are WDF_POWER_DEVICE_STATE values; OPEN_D0EntrySystemPowerUp modules close
 * only on a D0 exit to DMF_POWER_DEVICE_D3_FINAL.
 * ============================================================================================= */
NTSTATUS dmf_modules_on_prepare_hardware(WDFOBJECT device, WDFCMRESLIST resources_raw,
                                         WDFCMRESLIST resources_translated);
NTSTATUS dmf_modules_on_release_hardware(WDFOBJECT device, WDFCMRESLIST resources_translated);
NTSTATUS dmf_modules_on_d0_entry(WDFOBJECT device, ULONG previous_state);
NTSTATUS dmf_modules_on_d0_exit(WDFOBJECT device, ULONG target_state);

/* =============================================================================================
 * BufferPool internals used by BufferQueue (dmf_buffer_pool.c).
 * ============================================================================================= */

/* True when buffer is a pool buffer (signature and sentinels good) made by the source pool
 * `source`; a verifier stop naming api otherwise. */
bool dmf_buffer_pool_buffer_is_from(DMFMODULE source, void *buffer, const char *api);

/* The source pool that made a pool buffer (whatever list it is in now); NULL after a verifier
 * stop naming api for a pointer that is not a pool buffer. */
DMFMODULE dmf_buffer_pool_source_of(void *buffer, const char *api);

/* =============================================================================================
 * ContinuousRequestTarget internals used by DeviceInterfaceMultipleTarget.
 * ============================================================================================= */

/* The output pool of a ContinuousRequestTarget (NULL without one). */
DMFMODULE dmf_crt_output_pool(DMFMODULE crt);

#endif /* PNPKIT_DMF_INTERNAL_H */
