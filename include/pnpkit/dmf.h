/*
 * <pnpkit/dmf.h> — the Driver Module Framework (DMF) of pnpkit: the module framework and its
 * modules, with the names, types and signatures of Microsoft DMF (microsoft/DMF).
 *
 * Layout: the framework first (handles, module attributes, hosting modules in a client driver,
 * the methods every module has), then one section per module. Every module section has the
 * headings of a DMF module document, in the same order: Summary, Configuration, Enumerations,
 * Callbacks, Methods, Remarks. docs/dmf/ holds the same text at length.
 *
 * Conventions of every declaration below (each comment only adds to them):
 *   - A DMFMODULE is a framework object (<pnpkit/wdfobject.h>). A method given a handle that
 *     is not a live module of its type (NULL, stale, another object, another module type) is a
 *     verifier stop; if a verifier handler lets the program go on, an NTSTATUS method returns
 *     STATUS_INVALID_PARAMETER, a BOOLEAN method FALSE, a ULONG method 0, and a VOID method
 *     does nothing.
 *   - A call above the IRQL a function allows is a verifier stop; NTSTATUS functions then
 *     return STATUS_INVALID_DEVICE_REQUEST and the others do nothing.
 *   - Out parameters are written only on success, except where a comment says otherwise (DMF
 *     clients rely on a few NULLs written up front).
 *   - No pnpkit lock is held while a client callback runs, except the one documented exception
 *     (the BufferPool enumeration callback).
 */
#ifndef PNPKIT_DMF_H
#define PNPKIT_DMF_H

#include <pnpkit/wdf.h>

PNPKIT_BEGIN_DECLS

/* #############################################################################################
 * The module framework
 * ############################################################################################# */

/* ---- Handles ------------------------------------------------------------------------------
 * A DMFMODULE is deleted with WdfObjectDelete (dynamic modules) or with its device (static
 * modules and the children of any module). */
PNPKIT_DECLARE_WDF_HANDLE(DMFMODULE);

/* The opaque structures of client-driver hosting (section "Hosting modules in a client
 * driver" below). PDMFMODULE_INIT is a PVOID in DMF; it is the same here. */
typedef struct DMFDEVICE_INIT *PDMFDEVICE_INIT;
typedef PVOID PDMFMODULE_INIT;

/* The WDF device-creation structures the hosting functions take. They are defined by the WDF
 * device headers (wdfdevice.h, wdfio.h, with these KMDF structure tags); until those exist in
 * pnpkit a client can pass NULL. */
struct WDFDEVICE_INIT;
struct _WDF_PNPPOWER_EVENT_CALLBACKS;
struct _WDF_POWER_POLICY_EVENT_CALLBACKS;
struct _WDF_FILEOBJECT_CONFIG;
struct _WDF_IO_QUEUE_CONFIG;

/* ---- Module options (declared by each module type; see docs/dmf/framework.md) ---- */
/* The module runs at PASSIVE_LEVEL: its lock sleeps, its callbacks run passive. */
#define DMF_MODULE_OPTIONS_PASSIVE 0x00000001
/* The module runs at DISPATCH_LEVEL; PassiveLevel = TRUE in the attributes is refused. */
#define DMF_MODULE_OPTIONS_DISPATCH 0x00000002
/* DISPATCH_LEVEL unless the client sets PassiveLevel = TRUE in the attributes. */
#define DMF_MODULE_OPTIONS_DISPATCH_MAXIMUM 0x00000004
/* The module needs a transport module (accepted and stored; no behaviour yet). */
#define DMF_MODULE_OPTIONS_TRANSPORT_REQUIRED 0x00000008

/* ---- Open options: when the framework opens a module ----
 * The values follow the order in which the opening points occur (create, PrepareHardware,
 * first D0Entry, every D0Entry), so a parent that opens earlier than a child compares lower.
 * Microsoft DMF's header numbers the same names in another order; code uses the names. */
typedef enum {
    DMF_MODULE_OPEN_OPTION_Invalid = 0,
    /* Opened when it is created; closed when it is destroyed. */
    DMF_MODULE_OPEN_OPTION_OPEN_Create = 1,
    /* Opened in PrepareHardware; closed in ReleaseHardware. */
    DMF_MODULE_OPEN_OPTION_OPEN_PrepareHardware = 2,
    /* Opened on the first D0Entry after PrepareHardware; closed on the D0Exit to D3Final. */
    DMF_MODULE_OPEN_OPTION_OPEN_D0EntrySystemPowerUp = 3,
    /* Opened on every D0Entry; closed on every D0Exit. */
    DMF_MODULE_OPEN_OPTION_OPEN_D0Entry = 4,
    /* The NOTIFY options call the module's NotificationRegister at the opening point and its
     * NotificationUnregister at the closing point; the module opens and closes itself in
     * between, with DMF_ModuleOpen and DMF_ModuleClose. */
    DMF_MODULE_OPEN_OPTION_NOTIFY_PrepareHardware = 5,
    DMF_MODULE_OPEN_OPTION_NOTIFY_D0Entry = 6,
    DMF_MODULE_OPEN_OPTION_NOTIFY_Create = 7,
    DMF_MODULE_OPEN_OPTION_LAST
} DmfModuleOpenOption;

/* ---- Client event callbacks of a module ---- */

/* Called after the module has opened (its Open callback succeeded and its methods work), with
 * the handle of the module; PASSIVE_LEVEL, no lock held. */
typedef VOID EVT_DMF_MODULE_OnDeviceNotificationPostOpen(DMFMODULE DmfModule);
/* Called when the module is about to close, before it waits for its references; the module's
 * methods still work inside. PASSIVE_LEVEL, no lock held. */
typedef VOID EVT_DMF_MODULE_OnDeviceNotificationPreClose(DMFMODULE DmfModule);
typedef NTSTATUS EVT_DMF_MODULE_OnDeviceNotificationOpen(DMFMODULE DmfModule);
typedef VOID EVT_DMF_MODULE_OnDeviceNotificationClose(DMFMODULE DmfModule);

typedef struct {
    EVT_DMF_MODULE_OnDeviceNotificationPostOpen *EvtModuleOnDeviceNotificationPostOpen;
    EVT_DMF_MODULE_OnDeviceNotificationPreClose *EvtModuleOnDeviceNotificationPreClose;
} DMF_MODULE_EVENT_CALLBACKS;

/* ---- Module attributes ---- */

struct _DMF_MODULE_ATTRIBUTES;

/* The creation function of a module type (DMF_<Module>_Create). */
typedef NTSTATUS DMF_ModuleInstanceCreate(WDFDEVICE Device, struct _DMF_MODULE_ATTRIBUTES *DmfModuleAttributes,
                                          WDF_OBJECT_ATTRIBUTES *ObjectAttributes, DMFMODULE *DmfModule);
typedef VOID DMF_TransportModuleAdd(DMFMODULE DmfModule, struct _DMF_MODULE_ATTRIBUTES *DmfParentModuleAttributes,
                                    PVOID DmfModuleInit);

#define DMF_CLIENT_MODULE_INSTANCE_NAME_DEFAULT ""

typedef struct _DMF_MODULE_ATTRIBUTES {
    /* sizeof(DMF_MODULE_ATTRIBUTES); anything else fails create with STATUS_INVALID_PARAMETER. */
    ULONG SizeOfHeader;
    /* The module's config, copied at create (the caller's copy may go away afterwards). */
    VOID *ModuleConfigPointer;
    /* sizeof(DMF_CONFIG_<Module>); a mismatch fails create with STATUS_INVALID_PARAMETER. */
    ULONG SizeOfModuleSpecificConfig;
    /* DMF_<Module>_Create; used by DMF_DmfModuleAdd. */
    DMF_ModuleInstanceCreate *InstanceCreator;
    /* Optional PostOpen/PreClose callbacks; the structure is copied at create. */
    DMF_MODULE_EVENT_CALLBACKS *ClientCallbacks;
    /* Kept for DMF compatibility: DMF_DmfModuleAdd takes the result pointer as a parameter. */
    DMFMODULE *ResultantDmfModule;
    /* NUL-terminated name used in traces (copied, at most 63 characters). */
    PSTR ClientModuleInstanceName;
    /* TRUE for a module the client creates with DMF_<Module>_Create; FALSE once added through
     * DMF_DmfModuleAdd. */
    BOOLEAN DynamicModuleImmediate;
    /* TRUE when the module, or a module above it, was created dynamically. */
    BOOLEAN DynamicModule;
    /* Transport modules: stored, no behaviour yet. */
    DMF_TransportModuleAdd *TransportModuleAdd;
    /* Run a DISPATCH_MAXIMUM module at PASSIVE_LEVEL (passive lock, passive callbacks, paged
     * pool allowed). Refused for a DISPATCH module. */
    BOOLEAN PassiveLevel;
    BOOLEAN IsTransportModule;
} DMF_MODULE_ATTRIBUTES;

/* Zeroes Attributes and applies the defaults: SizeOfHeader, SizeOfModuleSpecificConfig, an
 * empty instance name, DynamicModule and DynamicModuleImmediate TRUE. */
static inline VOID DMF_MODULE_ATTRIBUTES_INIT(DMF_MODULE_ATTRIBUTES *Attributes, ULONG SizeOfModuleSpecificConfig)
{
    __builtin_memset(Attributes, 0, sizeof(*Attributes));
    Attributes->SizeOfHeader = sizeof(DMF_MODULE_ATTRIBUTES);
    Attributes->SizeOfModuleSpecificConfig = SizeOfModuleSpecificConfig;
    Attributes->ClientModuleInstanceName = (PSTR)(uintptr_t)DMF_CLIENT_MODULE_INSTANCE_NAME_DEFAULT;
    Attributes->DynamicModuleImmediate = TRUE;
    Attributes->DynamicModule = TRUE;
    Attributes->ClientCallbacks = NULL;
}

/* Zeroes the callbacks and points the attributes at them (the client then sets the fields). */
static inline VOID DMF_MODULE_ATTRIBUTES_EVENT_CALLBACKS_INIT(DMF_MODULE_ATTRIBUTES *ModuleAttributes,
                                                              DMF_MODULE_EVENT_CALLBACKS *DmfModuleEventCallbacks)
{
    __builtin_memset(DmfModuleEventCallbacks, 0, sizeof(*DmfModuleEventCallbacks));
    ModuleAttributes->ClientCallbacks = DmfModuleEventCallbacks;
}

/* DECLARE_DMF_MODULE(X) declares, for a module type X with a DMF_CONFIG_X:
 *   NTSTATUS DMF_X_Create(WDFDEVICE Device, DMF_MODULE_ATTRIBUTES *, WDF_OBJECT_ATTRIBUTES *,
 *                         DMFMODULE *);
 *   VOID DMF_X_ATTRIBUTES_INIT(DMF_MODULE_ATTRIBUTES *);
 *   VOID DMF_CONFIG_X_AND_ATTRIBUTES_INIT(DMF_CONFIG_X *, DMF_MODULE_ATTRIBUTES *): zeroes the
 *        config and points the attributes at it.
 * DECLARE_DMF_MODULE_EX(X) also applies the module's non-zero defaults with
 * DMF_CONFIG_X_DEFAULT, which must be declared before it. DECLARE_DMF_MODULE_NO_CONFIG(X) is
 * for modules without a config (SizeOfModuleSpecificConfig 0).
 *
 * DMF_X_Create (PASSIVE_LEVEL) creates a dynamic module under Device and opens it (OPEN_Create)
 * or registers its notifications (NOTIFY_Create); the client deletes it with WdfObjectDelete.
 * Device is the parent: a WDFDEVICE once devices exist in pnpkit; until then any framework
 * object is accepted (tests use a WdfObjectCreate object), and a later release will require a
 * WDFDEVICE. ObjectAttributes (optional) are the module object's attributes; their
 * ParentObject, if set, is the parent instead of Device. Returns:
 *   STATUS_INVALID_PARAMETER: NULL Device, attributes or DmfModule; SizeOfHeader or
 *     SizeOfModuleSpecificConfig wrong; PassiveLevel on a DISPATCH module; a config the module
 *     refuses (each module documents its rules); a 17th child; a parent that would open before
 *     one of its OPEN_* children.
 *   STATUS_UNSUCCESSFUL: a dynamic module whose open option is not OPEN_Create/NOTIFY_Create,
 *     or that handles PrepareHardware, ReleaseHardware or D0 events.
 *   the status of the module's Open or NotificationRegister callback when it fails;
 *   STATUS_INVALID_HANDLE, STATUS_DELETE_PENDING, STATUS_INSUFFICIENT_RESOURCES (object layer).
 * *DmfModule is written on success only. */
#define DMF_DECLARE_MODULE_CREATE__(ModuleName) \
    PNPKIT_API NTSTATUS DMF_##ModuleName##_Create(WDFDEVICE Device, DMF_MODULE_ATTRIBUTES *DmfModuleAttributes, \
                                                  WDF_OBJECT_ATTRIBUTES *ObjectAttributes, DMFMODULE *DmfModule);

#define DECLARE_DMF_MODULE(ModuleName) \
    DMF_DECLARE_MODULE_CREATE__(ModuleName) \
    static inline VOID DMF_##ModuleName##_ATTRIBUTES_INIT(DMF_MODULE_ATTRIBUTES *Attributes) \
    { \
        DMF_MODULE_ATTRIBUTES_INIT(Attributes, sizeof(DMF_CONFIG_##ModuleName)); \
        Attributes->InstanceCreator = DMF_##ModuleName##_Create; \
    } \
    static inline VOID DMF_CONFIG_##ModuleName##_AND_ATTRIBUTES_INIT(DMF_CONFIG_##ModuleName *ModuleConfig, \
                                                                    DMF_MODULE_ATTRIBUTES *ModuleAttributes) \
    { \
        __builtin_memset(ModuleConfig, 0, sizeof(*ModuleConfig)); \
        DMF_##ModuleName##_ATTRIBUTES_INIT(ModuleAttributes); \
        ModuleAttributes->ModuleConfigPointer = ModuleConfig; \
    }

#define DECLARE_DMF_MODULE_EX(ModuleName) \
    DMF_DECLARE_MODULE_CREATE__(ModuleName) \
    static inline VOID DMF_##ModuleName##_ATTRIBUTES_INIT(DMF_MODULE_ATTRIBUTES *Attributes) \
    { \
        DMF_MODULE_ATTRIBUTES_INIT(Attributes, sizeof(DMF_CONFIG_##ModuleName)); \
        Attributes->InstanceCreator = DMF_##ModuleName##_Create; \
    } \
    static inline VOID DMF_CONFIG_##ModuleName##_AND_ATTRIBUTES_INIT(DMF_CONFIG_##ModuleName *ModuleConfig, \
                                                                    DMF_MODULE_ATTRIBUTES *ModuleAttributes) \
    { \
        __builtin_memset(ModuleConfig, 0, sizeof(*ModuleConfig)); \
        DMF_CONFIG_##ModuleName##_DEFAULT(ModuleConfig); \
        DMF_##ModuleName##_ATTRIBUTES_INIT(ModuleAttributes); \
        ModuleAttributes->ModuleConfigPointer = ModuleConfig; \
    }

#define DECLARE_DMF_MODULE_NO_CONFIG(ModuleName) \
    DMF_DECLARE_MODULE_CREATE__(ModuleName) \
    static inline VOID DMF_##ModuleName##_ATTRIBUTES_INIT(DMF_MODULE_ATTRIBUTES *Attributes) \
    { \
        DMF_MODULE_ATTRIBUTES_INIT(Attributes, 0); \
        Attributes->InstanceCreator = DMF_##ModuleName##_Create; \
    }

/* ---- Hosting modules in a client driver (static modules) ----
 * The calls, in the order a client's EvtDriverDeviceAdd makes them:
 *   1. DMF_DmfDeviceInitAllocate(DeviceInit)
 *   2. DMF_DmfFdoSetFilter (filter drivers)
 *   3. the hooks: DMF_DmfDeviceInitHookPnpPowerEventCallbacks, ...PowerPolicyEventCallbacks,
 *      ...FileObjectConfig (each exactly once, NULL when the client has none) and, with a
 *      default queue, DMF_DmfDeviceInitHookQueueConfig
 *   4. WdfDeviceCreate
 *   5. DMF_EVENT_CALLBACKS_INIT + DMF_DmfDeviceInitSetEventCallbacks
 *   6. DMF_ModulesCreate, which calls EvtDmfDeviceModulesAdd
 *   7. on a failure before 6: DMF_DmfDeviceInitFree
 * In pnpkit the WDF device layer itself routes the device's PnP and power events
 * (PrepareHardware, D0Entry, D0Exit, ReleaseHardware) to the modules once DMF_ModulesCreate has
 * run on a WDFDEVICE: before the client's callbacks on the way up, after them on the way down.
 * So the hooks leave the client's structures as they are: they record that the client made them,
 * which DMF_ModulesCreate checks. File-object and queue events are not routed to modules yet. */

typedef VOID EVT_DMF_DEVICE_MODULES_ADD(WDFDEVICE Device, PDMFMODULE_INIT DmfModuleInit);

typedef enum { DmfLogDataType_Invalid = 0, DmfLogDataType_String, DmfLogDataType_Generic } DmfLogDataType;
typedef enum {
    DmfLogDataSeverity_Invalid = 0,
    DmfLogDataSeverity_Critical,
    DmfLogDataSeverity_Error,
    DmfLogDataSeverity_Warning,
    DmfLogDataSeverity_Informational,
    DmfLogDataSeverity_Verbose,
    DmfLogDataSeverity_Maximum,
} DmfLogDataSeverity;
typedef struct _DMF_LOG_DATA {
    DmfLogDataType DmfLogDataType;
    DmfLogDataSeverity DmfLogDataSeverity;
    union {
        struct {
            WCHAR *Message;
        } StringArgument;
    } LogData;
} DMF_LOG_DATA;
typedef VOID EVT_DMF_DEVICE_LOG(WDFDEVICE Device, DMF_LOG_DATA DmfLogData);

typedef struct _DMF_EVENT_CALLBACKS {
    ULONG Size;
    /* Called by DMF_ModulesCreate; the client calls DMF_DmfModuleAdd once per module. */
    EVT_DMF_DEVICE_MODULES_ADD *EvtDmfDeviceModulesAdd;
    /* Stored; no pnpkit module logs through it yet. */
    EVT_DMF_DEVICE_LOG *EvtDmfDeviceLog;
} DMF_EVENT_CALLBACKS;

static inline VOID DMF_EVENT_CALLBACKS_INIT(DMF_EVENT_CALLBACKS *Callbacks)
{
    __builtin_memset(Callbacks, 0, sizeof(*Callbacks));
    Callbacks->Size = sizeof(DMF_EVENT_CALLBACKS);
}

/* Allocates the DMF part of a device's initialization; the caller owns it until
 * DMF_ModulesCreate or DMF_DmfDeviceInitFree. DeviceInit is kept, not used. NULL when out of
 * memory (the later calls accept NULL and do nothing; DMF_ModulesCreate then fails with
 * STATUS_INVALID_PARAMETER). PASSIVE_LEVEL. */
PNPKIT_API PDMFDEVICE_INIT DMF_DmfDeviceInitAllocate(struct WDFDEVICE_INIT *DeviceInit);
/* The same for a control device: the PnP and power hooks are not required. */
PNPKIT_API PDMFDEVICE_INIT DMF_DmfControlDeviceInitAllocate(struct WDFDEVICE_INIT *DeviceInit);
/* Records the client driver's (non-control) device of a control device. PASSIVE_LEVEL. */
PNPKIT_API VOID DMF_DmfControlDeviceInitSetClientDriverDevice(PDMFDEVICE_INIT DmfDeviceInit, WDFDEVICE Device);
/* Frees *DmfDeviceInit (NULL allowed) and sets it to NULL. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API VOID DMF_DmfDeviceInitFree(PDMFDEVICE_INIT *DmfDeviceInit);
/* The hooks. Each records that the client made it; a second call of the same hook is a
 * verifier report. The structures are left unchanged (see above). PASSIVE_LEVEL. */
PNPKIT_API VOID DMF_DmfDeviceInitHookPnpPowerEventCallbacks(PDMFDEVICE_INIT DmfDeviceInit,
                                                             struct _WDF_PNPPOWER_EVENT_CALLBACKS *PnpPowerEventCallbacks);
PNPKIT_API VOID DMF_DmfDeviceInitHookPowerPolicyEventCallbacks(
    PDMFDEVICE_INIT DmfDeviceInit, struct _WDF_POWER_POLICY_EVENT_CALLBACKS *PowerPolicyEventCallbacks);
PNPKIT_API VOID DMF_DmfDeviceInitHookFileObjectConfig(PDMFDEVICE_INIT DmfDeviceInit,
                                                      struct _WDF_FILEOBJECT_CONFIG *FileObjectConfig);
PNPKIT_API VOID DMF_DmfDeviceInitHookQueueConfig(PDMFDEVICE_INIT DmfDeviceInit,
                                                 struct _WDF_IO_QUEUE_CONFIG *QueueConfig);
/* Marks the device as a filter (DMF_ModuleIsInFilterDriver). PASSIVE_LEVEL. */
PNPKIT_API VOID DMF_DmfFdoSetFilter(PDMFDEVICE_INIT DmfDeviceInit);
/* Copies the callbacks. A wrong Size is a verifier report and the callbacks are ignored.
 * PASSIVE_LEVEL. */
PNPKIT_API VOID DMF_DmfDeviceInitSetEventCallbacks(PDMFDEVICE_INIT DmfDeviceInit,
                                                   DMF_EVENT_CALLBACKS *DmfEventCallbacks);

/* Adds a module to create: called in EvtDmfDeviceModulesAdd (static modules of a device) or
 * in a module's ChildModulesAdd (its children). The attributes, the config they point to, the
 * client callbacks and ObjectAttributes (optional) are copied, so they may be locals. The
 * module is created after the add callback returns, in the order of the adds; its handle is
 * written to *ResultantDmfModule (optional) when it is created. A bad DmfModuleInit is a
 * verifier stop; bad attributes, or more than 16 children of one module, make the creation
 * fail with STATUS_INVALID_PARAMETER. PASSIVE_LEVEL. */
PNPKIT_API VOID DMF_DmfModuleAdd(PDMFMODULE_INIT DmfModuleInit, DMF_MODULE_ATTRIBUTES *ModuleAttributes,
                                 WDF_OBJECT_ATTRIBUTES *ObjectAttributes, DMFMODULE *ResultantDmfModule);

/* Creates the static modules of Device: calls EvtDmfDeviceModulesAdd, then creates the added
 * modules in order (each under Device, opened or registered now if its option is *_Create).
 * Frees *DmfDeviceInit whatever the outcome and sets it to NULL. Static modules follow the
 * device's PnP and power life and are deleted with Device; WdfObjectDelete on them is refused.
 * Device: see DMF_X_Create. Returns STATUS_INVALID_PARAMETER (NULL arguments, a NULL
 * *DmfDeviceInit, a bad add), STATUS_INVALID_DEVICE_STATE (modules were already created on
 * Device), or the first creation failure (modules created before it are deleted again). A
 * missing hook (PnP/power and power policy for a device, file object for both kinds) is a
 * verifier stop. PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS DMF_ModulesCreate(WDFDEVICE Device, PDMFDEVICE_INIT *DmfDeviceInit);

/* ---- Methods every module has ---- */

/* Takes a reference that keeps the module open: succeeds only while the module is open and no
 * close is pending; STATUS_INVALID_DEVICE_STATE before Open, while closing and after Close.
 * Every success is paired with DMF_ModuleDereference; a close waits (on an event) until all
 * are. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API NTSTATUS DMF_ModuleReference(DMFMODULE DmfModule);
/* Releases a reference. Releasing one that was not taken is a verifier stop (nothing
 * happens). IRQL <= DISPATCH_LEVEL. */
PNPKIT_API VOID DMF_ModuleDereference(DMFMODULE DmfModule);

/* Copies the module's config (as given at create) to ModuleConfigPointer.
 * STATUS_INVALID_PARAMETER: NULL pointer or a size other than the module's config size.
 * IRQL <= DISPATCH_LEVEL. */
PNPKIT_API NTSTATUS DMF_ModuleConfigRetrieve(DMFMODULE DmfModule, PVOID ModuleConfigPointer, size_t ModuleConfigSize);
/* The module's own copy of its config (module-facing; valid while the module lives). NULL for
 * a module without config. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API VOID *DMF_ModuleConfigGet(DMFMODULE DmfModule);

/* The module that created DmfModule as a child, or NULL for a module the client created.
 * IRQL <= DISPATCH_LEVEL. */
PNPKIT_API DMFMODULE DMF_ParentModuleGet(DMFMODULE DmfModule);
/* The Device given when the module (or the module above it) was created. IRQL <=
 * DISPATCH_LEVEL. */
PNPKIT_API WDFDEVICE DMF_ParentDeviceGet(DMFMODULE DmfModule);
/* TRUE when the module's device was marked with DMF_DmfFdoSetFilter. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API BOOLEAN DMF_ModuleIsInFilterDriver(DMFMODULE DmfModule);
/* TRUE for a dynamic module (created with DMF_X_Create, or below one). */
PNPKIT_API BOOLEAN DMF_IsModuleDynamic(DMFMODULE DmfModule);
/* TRUE when the module runs at PASSIVE_LEVEL (PASSIVE option, or DISPATCH_MAXIMUM with
 * PassiveLevel). */
PNPKIT_API BOOLEAN DMF_IsModulePassiveLevel(DMFMODULE DmfModule);
/* TRUE when the module's lock is the passive (sleeping) lock. */
PNPKIT_API BOOLEAN DMF_ModuleLockIsPassive(DMFMODULE DmfModule);
/* TRUE for a paged pool type (bit 0 set: PagedPool = 1, PagedPoolCacheAligned = 5, ...).
 * Any IRQL. */
PNPKIT_API BOOLEAN DMF_IsPoolTypePassiveLevel(POOL_TYPE PoolType);

/* Module-facing: the module lock. For a dispatch module it is a spin lock (the holder runs at
 * DISPATCH_LEVEL; IRQL <= DISPATCH_LEVEL); for a passive module a sleeping lock that leaves
 * the IRQL alone (IRQL <= APC_LEVEL). Not recursive: acquiring it on the thread that holds it
 * is a verifier stop and returns without acquiring (instead of deadlocking); DMF_ModuleUnlock
 * by a thread that does not hold it is a verifier stop and does nothing. */
PNPKIT_API VOID DMF_ModuleLock(DMFMODULE DmfModule);
PNPKIT_API VOID DMF_ModuleUnlock(DMFMODULE DmfModule);

/* Module-facing, for modules with a NOTIFY option: open and close the module when what it
 * watches appears and goes away. DMF_ModuleOpen runs the Open callback and then the client's
 * PostOpen; it returns the callback's failure (the module stays closed), or
 * STATUS_INVALID_DEVICE_STATE if the module is not closed. DMF_ModuleClose runs PreClose, makes
 * new references fail, waits for the references taken, runs the Close callback; it does
 * nothing if the module is not open (a second close has no effect). PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS DMF_ModuleOpen(DMFMODULE DmfModule);
PNPKIT_API VOID DMF_ModuleClose(DMFMODULE DmfModule);

/* #############################################################################################
 * DMF_BufferPool
 * ############################################################################################# */

/* ---- Summary ----
 * A list of equally sized buffers, each with an optional client context. A source pool
 * preallocates its buffers and takes back only its own; a sink pool starts empty and takes
 * buffers from any source pool, optionally with a timer that hands the buffer back to the
 * client when it stays too long. Every buffer is guarded by a signature and two sentinels that
 * catch overruns and foreign pointers. Options: DISPATCH_MAXIMUM, OPEN_Create. */

/* ---- Configuration ---- */

typedef enum {
    BufferPool_Mode_Invalid = 0,
    /* Created with BufferCount buffers. */
    BufferPool_Mode_Source,
    /* Created empty; holds buffers of source pools. */
    BufferPool_Mode_Sink,
    BufferPool_Mode_Maximum,
} BufferPool_ModeType;

typedef struct {
    /* Buffers allocated at Open. */
    ULONG BufferCount;
    /* Size of each buffer (> 0). */
    ULONG BufferSize;
    /* Size of each buffer's client context (0: none, the context pointer is NULL). */
    ULONG BufferContextSize;
    /* Allocate a buffer when Get finds the pool empty (counted as additional, freed on Put). */
    ULONG EnableLookAside;
    /* Give every buffer a timer, so that it can be put into a sink with
     * DMF_BufferPool_PutInSinkWithTimer. */
    ULONG CreateWithTimer;
    /* Pool type of the buffers. Default NonPagedPoolNx; a paged type requires PassiveLevel. */
    POOL_TYPE PoolType;
} BufferPool_SourceSettings;

typedef struct {
    BufferPool_ModeType BufferPoolMode;
    union {
        /* Source mode only; a sink pool requires BufferCount 0 and no look-aside. */
        BufferPool_SourceSettings SourceSettings;
    } Mode;
} DMF_CONFIG_BufferPool;

static inline VOID DMF_CONFIG_BufferPool_DEFAULT(DMF_CONFIG_BufferPool *ModuleConfig)
{
    ModuleConfig->Mode.SourceSettings.PoolType = NonPagedPoolNx;
}

/* Declares DMF_BufferPool_Create, DMF_BufferPool_ATTRIBUTES_INIT and
 * DMF_CONFIG_BufferPool_AND_ATTRIBUTES_INIT (zeroed config, PoolType NonPagedPoolNx).
 * Create also fails with STATUS_INVALID_PARAMETER for: mode Invalid or out of range; a source
 * pool with BufferSize 0, or with BufferCount 0 and no look-aside; a sink pool with
 * BufferCount > 0 or look-aside; a paged PoolType without PassiveLevel (also a verifier stop). */
DECLARE_DMF_MODULE_EX(BufferPool)

/* ---- Enumerations ---- */

/* What DMF_BufferPool_Enumerate does after the callback. */
typedef enum {
    BufferPool_EnumerationDisposition_Invalid = 0,
    BufferPool_EnumerationDisposition_ContinueEnumeration,
    BufferPool_EnumerationDisposition_StopEnumeration,
    /* The buffer leaves the pool and goes to the client through Enumerate's out parameters. */
    BufferPool_EnumerationDisposition_RemoveAndStopEnumeration,
    /* Cancel the buffer's timer; the buffer stays in the pool. */
    BufferPool_EnumerationDisposition_StopTimerAndStopEnumeration,
    BufferPool_EnumerationDisposition_StopTimerAndContinueEnumeration,
    /* Restart the buffer's timer with its full period; the buffer stays in the pool. */
    BufferPool_EnumerationDisposition_ResetTimerAndStopEnumeration,
    BufferPool_EnumerationDisposition_ResetTimerAndContinueEnumeration,
    BufferPool_EnumerationDisposition_Maximum,
} BufferPool_EnumerationDispositionType;

/* ---- Callbacks ---- */

/* Called by DMF_BufferPool_Enumerate for each buffer, in list order, WITH THE POOL LOCK HELD
 * (the one exception to pnpkit's no-callback-under-lock rule): at DISPATCH_LEVEL for a
 * dispatch pool. Examine the buffer and return a disposition; a call into the same pool from
 * here is a verifier stop (the call fails instead of deadlocking). DmfModule is the handle of
 * the module the client created (a BufferQueue's handle for its consumer pool). */
typedef BufferPool_EnumerationDispositionType EVT_DMF_BufferPool_Enumeration(DMFMODULE DmfModule, VOID *ClientBuffer,
                                                                            VOID *ClientBufferContext,
                                                                            VOID *ClientDriverCallbackContext);

/* Called at PASSIVE_LEVEL on a worker thread, with no lock held, when a buffer put with
 * DMF_BufferPool_PutInSinkWithTimer reaches its deadline: the buffer has left the pool and
 * belongs to the client. DmfModule as above. */
typedef VOID EVT_DMF_BufferPool_TimerCallback(DMFMODULE DmfModule, VOID *ClientBuffer, VOID *ClientBufferContext,
                                              VOID *ClientDriverCallbackContext);

/* ---- Methods ----
 * All: IRQL <= DISPATCH_LEVEL for a dispatch pool, <= APC_LEVEL for a passive one. A buffer
 * argument that is not a pool buffer, or whose sentinels show an overrun, is a verifier stop
 * (the method then does nothing with it, or returns what it says for a bad buffer). Methods on
 * a closed pool find it empty. */

/* *ClientBufferContext receives the buffer's context (NULL without one). A bad buffer leaves
 * the out parameter alone. */
PNPKIT_API VOID DMF_BufferPool_ContextGet(DMFMODULE DmfModule, VOID *ClientBuffer, VOID **ClientBufferContext);

/* The number of buffers in the pool at the moment of the call. */
PNPKIT_API ULONG DMF_BufferPool_Count(DMFMODULE DmfModule);

/* Sink pools only (a source pool is a verifier stop). Calls EntryEnumerationCallback for each
 * buffer (see EVT_DMF_BufferPool_Enumeration), skipping buffers whose timer has expired.
 * *ClientBuffer and *ClientBufferContext (optional) are set to NULL first, then to the buffer
 * and context removed by RemoveAndStopEnumeration; RemoveAndStop without a ClientBuffer
 * pointer is a verifier stop and removes nothing. */
PNPKIT_API VOID DMF_BufferPool_Enumerate(DMFMODULE DmfModule, EVT_DMF_BufferPool_Enumeration EntryEnumerationCallback,
                                         VOID *ClientDriverCallbackContext, VOID **ClientBuffer,
                                         VOID **ClientBufferContext);

/* Takes the buffer at the head of the list (Get order is Put order), stopping its timer; the
 * client owns it until it puts it into a pool. ClientBufferContext is optional. On an empty
 * source pool with look-aside a new buffer is allocated. Returns STATUS_UNSUCCESSFUL when
 * the pool is empty (and closed pools are), STATUS_INSUFFICIENT_RESOURCES when a look-aside
 * allocation fails, STATUS_INVALID_PARAMETER for a NULL ClientBuffer. */
PNPKIT_API NTSTATUS DMF_BufferPool_Get(DMFMODULE DmfModule, VOID **ClientBuffer, VOID **ClientBufferContext);
/* As Get, and *ClientBufferMemory receives the buffer's WDFMEMORY (owned by the pool: do not
 * delete it; valid while the client owns the buffer). */
PNPKIT_API NTSTATUS DMF_BufferPool_GetWithMemory(DMFMODULE DmfModule, VOID **ClientBuffer, VOID **ClientBufferContext,
                                                 WDFMEMORY *ClientBufferMemory);
/* As Get, and *MemoryDescriptor describes the buffer. An empty pool returns
 * STATUS_INSUFFICIENT_RESOURCES. */
PNPKIT_API NTSTATUS DMF_BufferPool_GetWithMemoryDescriptor(DMFMODULE DmfModule, VOID **ClientBuffer,
                                                           PWDF_MEMORY_DESCRIPTOR MemoryDescriptor,
                                                           VOID **ClientBufferContext);

/* Returns what Get/GetWithMemory returned for ClientBuffer (every out parameter optional):
 * its memory descriptor, WDFMEMORY, size, context and context size. */
PNPKIT_API VOID DMF_BufferPool_ParametersGet(DMFMODULE DmfModule, VOID *ClientBuffer,
                                             PWDF_MEMORY_DESCRIPTOR MemoryDescriptor, WDFMEMORY *ClientBufferMemory,
                                             ULONG *ClientBufferSize, VOID **ClientBufferContext,
                                             ULONG *ClientBufferContextSize);

/* Puts a client-owned buffer at the tail (Put) or head (PutAtHead) of the list; cannot fail.
 * Into a source pool: the buffer and its context are zeroed first, and the buffer is freed
 * instead of listed when look-aside buffers are outstanding or when it was made by an earlier
 * opening of the pool (its pool went away). Into a sink pool: contents untouched. Verifier
 * stops (the buffer stays with the client): the buffer is already in a pool; it is a foreign
 * buffer for a source pool. A buffer put into a closed pool is freed. */
PNPKIT_API VOID DMF_BufferPool_Put(DMFMODULE DmfModule, VOID *ClientBuffer);
PNPKIT_API VOID DMF_BufferPool_PutAtHead(DMFMODULE DmfModule, VOID *ClientBuffer);

/* Puts the buffer at the tail of a sink pool and arms its timer: after
 * TimerExpirationMilliseconds (monotonic clock) the buffer leaves the pool and
 * TimerExpirationCallback runs at PASSIVE_LEVEL with TimerExpirationCallbackContext. A Get or
 * an Enumerate that removes the buffer before then stops the timer: the callback never runs.
 * Verifier stops (the buffer stays with the client): a source pool; a buffer whose source pool
 * lacks CreateWithTimer; a NULL callback; and the checks of Put. */
PNPKIT_API VOID DMF_BufferPool_PutInSinkWithTimer(DMFMODULE DmfModule, VOID *ClientBuffer,
                                                  ULONGLONG TimerExpirationMilliseconds,
                                                  EVT_DMF_BufferPool_TimerCallback *TimerExpirationCallback,
                                                  VOID *TimerExpirationCallbackContext);

/* ---- Remarks ----
 * - Layout of every buffer: metadata, client buffer, data sentinel (0x33334444), client
 *   context, context sentinel (0x11112222), each part 16-byte aligned; the metadata ends with
 *   the signature 0x87654321 right before the client buffer. The slack between BufferSize and
 *   the next 16-byte boundary holds the sentinel pattern too, so a one-byte overrun is caught.
 *   The signature check reads the 4 bytes before the pointer it is given.
 * - Close stops every timer, waits for expiry callbacks already running, and frees the
 *   buffers in the list. A buffer the client still owns keeps the pool object's memory alive
 *   and stays valid until the client puts it back; it is then freed.
 * - The pool opens at create and closes at delete, so its methods need no module reference;
 *   they are serialized with Close by the module lock. */

/* #############################################################################################
 * DMF_BufferQueue
 * ############################################################################################# */

/* ---- Summary ----
 * A producer/consumer queue: a source BufferPool of empty buffers (the producer) and a sink
 * BufferPool of work (the consumer). The client fetches an empty buffer, fills it, enqueues
 * it; later it dequeues it, does the work and reuses the buffer. Options: DISPATCH_MAXIMUM,
 * OPEN_Create; its two pools are its children and run at its level. */

/* ---- Callbacks (declared first: the config refers to it) ---- */

/* Called by DMF_BufferQueue_Reuse and DMF_BufferQueue_Flush before a buffer goes back to the
 * producer, with the BufferQueue handle; the client still owns the buffer inside. No lock
 * held; the IRQL of the caller of Reuse/Flush. */
typedef VOID EVT_DMF_BufferQueue_ReuseCleanup(DMFMODULE DmfModule, VOID *ClientBuffer, VOID *ClientBufferContext);

/* ---- Configuration ---- */

typedef struct {
    /* The producer's settings (a source pool; see BufferPool_SourceSettings). */
    BufferPool_SourceSettings SourceSettings;
    /* Optional. */
    EVT_DMF_BufferQueue_ReuseCleanup *EvtBufferQueueReuseCleanup;
} DMF_CONFIG_BufferQueue;

static inline VOID DMF_CONFIG_BufferQueue_DEFAULT(DMF_CONFIG_BufferQueue *ModuleConfig)
{
    ModuleConfig->SourceSettings.PoolType = NonPagedPoolNx;
}

/* Declares DMF_BufferQueue_Create, DMF_BufferQueue_ATTRIBUTES_INIT and
 * DMF_CONFIG_BufferQueue_AND_ATTRIBUTES_INIT (zeroed config, PoolType NonPagedPoolNx). Create
 * fails as the producer's creation does (see DMF_BufferPool_Create). */
DECLARE_DMF_MODULE_EX(BufferQueue)

/* ---- Enumerations ----
 * None of its own; Enumerate uses BufferPool_EnumerationDispositionType. */

/* ---- Methods ----
 * IRQL and bad buffers as for DMF_BufferPool. Callbacks receive the BufferQueue handle. */

/* Producer side. Fetch returns an empty (zeroed) buffer; the statuses of DMF_BufferPool_Get. */
PNPKIT_API NTSTATUS DMF_BufferQueue_Fetch(DMFMODULE DmfModule, VOID **ClientBuffer, VOID **ClientBufferContext);
PNPKIT_API NTSTATUS DMF_BufferQueue_FetchWithMemory(DMFMODULE DmfModule, VOID **ClientBuffer,
                                                    VOID **ClientBufferContext, WDFMEMORY *ClientBufferMemory);
PNPKIT_API NTSTATUS DMF_BufferQueue_FetchWithMemoryDescriptor(DMFMODULE DmfModule, VOID **ClientBuffer,
                                                              PWDF_MEMORY_DESCRIPTOR MemoryDescriptor,
                                                              VOID **ClientBufferContext);

/* Consumer side. Enqueue adds at the tail (first in, first out), EnqueueAtHead at the head.
 * The buffer must come from this queue's producer: another buffer is a verifier stop and
 * stays with the client. */
PNPKIT_API VOID DMF_BufferQueue_Enqueue(DMFMODULE DmfModule, VOID *ClientBuffer);
PNPKIT_API VOID DMF_BufferQueue_EnqueueAtHead(DMFMODULE DmfModule, VOID *ClientBuffer);
/* As Enqueue, and the buffer leaves the queue after TimerExpirationMilliseconds through
 * TimerExpirationCallback (see DMF_BufferPool_PutInSinkWithTimer; the producer needs
 * CreateWithTimer). Returns STATUS_SUCCESS, or STATUS_INVALID_PARAMETER (NULL callback, or a
 * buffer refused by the checks; the buffer stays with the client). */
PNPKIT_API NTSTATUS DMF_BufferQueue_EnqueueWithTimer(DMFMODULE DmfModule, VOID *ClientBuffer,
                                                     ULONGLONG TimerExpirationMilliseconds,
                                                     EVT_DMF_BufferPool_TimerCallback *TimerExpirationCallback,
                                                     VOID *TimerExpirationCallbackContext);
/* Takes the work at the head of the consumer; STATUS_UNSUCCESSFUL when there is none
 * (DequeueWithMemoryDescriptor: STATUS_INSUFFICIENT_RESOURCES). */
PNPKIT_API NTSTATUS DMF_BufferQueue_Dequeue(DMFMODULE DmfModule, VOID **ClientBuffer, VOID **ClientBufferContext);
PNPKIT_API NTSTATUS DMF_BufferQueue_DequeueWithMemoryDescriptor(DMFMODULE DmfModule, VOID **ClientBuffer,
                                                                PWDF_MEMORY_DESCRIPTOR MemoryDescriptor,
                                                                VOID **ClientBufferContext);

/* Calls EvtBufferQueueReuseCleanup (if set), then returns the buffer to the producer. */
PNPKIT_API VOID DMF_BufferQueue_Reuse(DMFMODULE DmfModule, VOID *ClientBuffer);
/* Moves every buffer of the consumer back to the producer, each through Reuse. */
PNPKIT_API VOID DMF_BufferQueue_Flush(DMFMODULE DmfModule);

/* On the consumer: number of buffers; enumeration (see DMF_BufferPool_Enumerate; the callback
 * gets the BufferQueue handle); a buffer's context. */
PNPKIT_API ULONG DMF_BufferQueue_Count(DMFMODULE DmfModule);
PNPKIT_API VOID DMF_BufferQueue_Enumerate(DMFMODULE DmfModule, EVT_DMF_BufferPool_Enumeration EntryEnumerationCallback,
                                          VOID *ClientDriverCallbackContext, VOID **ClientBuffer,
                                          VOID **ClientBufferContext);
PNPKIT_API VOID DMF_BufferQueue_ContextGet(DMFMODULE DmfModule, VOID *ClientBuffer, VOID **ClientBufferContext);

/* ---- Remarks ----
 * - When the queue is deleted, the buffers in both lists are freed, including work still in
 *   the consumer. Buffers the client owns stay valid until it returns them (then freed).
 * - Microsoft DMF hands its callbacks the consumer pool's handle; pnpkit hands them the
 *   BufferQueue handle (the module the client created). */

/* #############################################################################################
 * DMF_RequestTarget and DMF_ContinuousRequestTarget
 * #############################################################################################
 * ---- Summary ----
 * DMF_RequestTarget sends single requests (asynchronous, synchronous, reusable) to a WDFIOTARGET
 * the client sets with IoTargetSet. DMF_ContinuousRequestTarget does the same and also keeps a
 * stream of ContinuousRequestCount requests in flight, with input and output buffers from its
 * own BufferPool children. Both run at DISPATCH_LEVEL unless PassiveLevel is set in the module
 * attributes (completion callbacks then run on a work item). See docs/dmf/DMF_RequestTarget.md
 * and docs/dmf/DMF_ContinuousRequestTarget.md. */

/* ---- Enumerations ---- */
typedef enum {
    ContinuousRequestTarget_RequestType_Invalid = 0,
    ContinuousRequestTarget_RequestType_InternalIoctl = 1,
    ContinuousRequestTarget_RequestType_Ioctl = 2,
    ContinuousRequestTarget_RequestType_Read = 3,
    ContinuousRequestTarget_RequestType_Write = 4,
} ContinuousRequestTarget_RequestType;

/* What a stream completion does with its output buffer and its request. */
typedef enum {
    ContinuousRequestTarget_BufferDisposition_Invalid = 0,
    /* The module takes the output buffer back; the request is sent again. */
    ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndContinueStreaming = 1,
    /* The module takes the output buffer back; this request's stream ends. */
    ContinuousRequestTarget_BufferDisposition_ContinuousRequestTargetAndStopStreaming = 2,
    /* The client keeps the output buffer (returns it with BufferPut); the request is sent again. */
    ContinuousRequestTarget_BufferDisposition_ClientAndContinueStreaming = 3,
    /* The client keeps the output buffer; this request's stream ends. */
    ContinuousRequestTarget_BufferDisposition_ClientAndStopStreaming = 4,
    ContinuousRequestTarget_BufferDisposition_Maximum = 5,
} ContinuousRequestTarget_BufferDisposition;

typedef enum {
    ContinuousRequestTarget_CompletionOptions_Dispatch = 0,
    ContinuousRequestTarget_CompletionOptions_Default = 0,
    ContinuousRequestTarget_CompletionOptions_Passive = 1,
    ContinuousRequestTarget_CompletionOptions_Maximum,
} ContinuousRequestTarget_CompletionOptions;

typedef enum {
    /* The client starts and stops the stream (Start / StopAndWait). */
    ContinuousRequestTarget_Mode_Manual = 0,
    /* A parent module (DeviceInterfaceMultipleTarget) starts and stops it with its target. */
    ContinuousRequestTarget_Mode_Automatic = 1,
} ContinuousRequestTarget_ModeType;

/* Opaque, pointer-sized ids of a sent request (for Cancel) and of a reusable request. Ids come
 * from one process-wide counter: the first is 0x100, they only grow and are never reused. */
typedef VOID *RequestTarget_DmfRequestCancel;
typedef RequestTarget_DmfRequestCancel RequestTarget_DmfRequest;
typedef VOID *RequestTarget_DmfRequestReuse;

/* ---- Callbacks ---- */

/* A single request completed. InputBufferBytesWritten / OutputBufferBytesRead depend on the
 * request type (Ioctl: full input length and the target's count; Read: output only; Write:
 * input only). Called exactly once per accepted send, with the handle of the module the client
 * created; on a work item at PASSIVE_LEVEL for a passive module, in the completing context
 * otherwise. No pnpkit lock is held. */
typedef VOID EVT_DMF_RequestTarget_SendCompletion(DMFMODULE DmfModule, VOID *ClientRequestContext, VOID *InputBuffer,
                                                  size_t InputBufferBytesWritten, VOID *OutputBuffer,
                                                  size_t OutputBufferBytesRead, NTSTATUS CompletionStatus);
typedef EVT_DMF_RequestTarget_SendCompletion EVT_DMF_ContinuousRequestTarget_SendCompletion;

/* Fills a stream request's input buffer (zeroed, *InputBufferSize = BufferInputSize on entry).
 * The client may lower *InputBufferSize; a larger value is a verifier stop. */
typedef VOID EVT_DMF_ContinuousRequestTarget_BufferInput(DMFMODULE DmfModule, VOID *InputBuffer,
                                                         size_t *InputBufferSize, VOID *ClientBufferContextInput);
/* A stream request completed: the output buffer (NULL and 0 without output buffers) and the
 * completion status. Returns what to do with the buffer and the request. */
typedef ContinuousRequestTarget_BufferDisposition EVT_DMF_ContinuousRequestTarget_BufferOutput(
    DMFMODULE DmfModule, VOID *OutputBuffer, size_t OutputBufferSize, VOID *ClientBufferContextOutput,
    NTSTATUS CompletionStatus);

/* ---- Configuration ---- */

/* DMF_RequestTarget has no configuration. */
DECLARE_DMF_MODULE_NO_CONFIG(RequestTarget)

typedef struct {
    /* Number of stream requests (0: no stream, single requests only). */
    ULONG ContinuousRequestCount;
    /* Buffers of the input and output pools (each pool exists only if its size is > 0). */
    ULONG BufferCountInput;
    ULONG BufferCountOutput;
    /* Type of the stream requests. */
    ContinuousRequestTarget_RequestType RequestType;
    ULONG BufferInputSize;
    ULONG BufferContextInputSize;
    ULONG BufferOutputSize;
    ULONG BufferContextOutputSize;
    /* Output pool allocates when empty. */
    BOOLEAN EnableLookAsideOutput;
    POOL_TYPE PoolTypeInput;
    POOL_TYPE PoolTypeOutput;
    EVT_DMF_ContinuousRequestTarget_BufferInput *EvtContinuousRequestTargetBufferInput;
    EVT_DMF_ContinuousRequestTarget_BufferOutput *EvtContinuousRequestTargetBufferOutput;
    /* IOCTL code of the stream requests (Ioctl and InternalIoctl). */
    ULONG ContinuousRequestTargetIoctl;
    /* Static modules only: D0Exit stops the stream and D0Entry restarts it (not on the first
     * power-up). */
    BOOLEAN PurgeAndStartTargetInD0Callbacks;
    BOOLEAN CancelAndResendRequestInD0Callbacks;
    ContinuousRequestTarget_ModeType ContinuousRequestTargetMode;
} DMF_CONFIG_ContinuousRequestTarget;

DECLARE_DMF_MODULE(ContinuousRequestTarget)

/* ---- Methods (both modules; IRQL <= DISPATCH_LEVEL unless stated) ----
 * Send statuses: STATUS_INVALID_DEVICE_STATE (module not open or closing, no target, target
 * refused the send), STATUS_INVALID_PARAMETER (RequestType not 1-4), the statuses of request
 * creation and formatting. A refused send never calls the completion callback. The caller's
 * buffers must stay valid until the completion callback. RequestTimeoutMilliseconds 0: none. */

/* Sets the target; STATUS_INVALID_DEVICE_STATE when one is already set. */
PNPKIT_API NTSTATUS DMF_RequestTarget_IoTargetSet(DMFMODULE DmfModule, WDFIOTARGET IoTarget);
/* Clears the target (no target set is fine). */
PNPKIT_API VOID DMF_RequestTarget_IoTargetClear(DMFMODULE DmfModule);
/* The target (NULL when none), STATUS_INVALID_DEVICE_STATE when none is set. */
PNPKIT_API NTSTATUS DMF_RequestTarget_Get(DMFMODULE DmfModule, WDFIOTARGET *IoTarget);
PNPKIT_API NTSTATUS DMF_RequestTarget_Send(DMFMODULE DmfModule, VOID *RequestBuffer, size_t RequestLength,
                                           VOID *ResponseBuffer, size_t ResponseLength,
                                           ContinuousRequestTarget_RequestType RequestType, ULONG RequestIoctl,
                                           ULONG RequestTimeoutMilliseconds,
                                           EVT_DMF_RequestTarget_SendCompletion *EvtRequestTargetSingleAsynchronousRequest,
                                           VOID *SingleAsynchronousRequestClientContext);
/* As Send; with a non-NULL DmfRequestIdCancel the request gets an id for Cancel, written only
 * once the send was accepted. */
PNPKIT_API NTSTATUS DMF_RequestTarget_SendEx(DMFMODULE DmfModule, VOID *RequestBuffer, size_t RequestLength,
                                             VOID *ResponseBuffer, size_t ResponseLength,
                                             ContinuousRequestTarget_RequestType RequestType, ULONG RequestIoctl,
                                             ULONG RequestTimeoutMilliseconds,
                                             EVT_DMF_RequestTarget_SendCompletion *EvtRequestTargetSingleAsynchronousRequest,
                                             VOID *SingleAsynchronousRequestClientContext,
                                             RequestTarget_DmfRequestCancel *DmfRequestIdCancel);
/* Sends and waits (PASSIVE_LEVEL; STATUS_INVALID_DEVICE_REQUEST above). Returns the completion
 * status; *BytesWritten (optional) gets the transferred count on success, 0 on failure. */
PNPKIT_API NTSTATUS DMF_RequestTarget_SendSynchronously(DMFMODULE DmfModule, VOID *RequestBuffer, size_t RequestLength,
                                                        VOID *ResponseBuffer, size_t ResponseLength,
                                                        ContinuousRequestTarget_RequestType RequestType,
                                                        ULONG RequestIoctl, ULONG RequestTimeoutMilliseconds,
                                                        size_t *BytesWritten);
/* TRUE when the request was still outstanding and a cancel was delivered (its completion still
 * runs); FALSE otherwise. */
PNPKIT_API BOOLEAN DMF_RequestTarget_Cancel(DMFMODULE DmfModule, RequestTarget_DmfRequestCancel DmfRequestIdCancel);
/* Creates a reusable request and returns its id. */
PNPKIT_API NTSTATUS DMF_RequestTarget_ReuseCreate(DMFMODULE DmfModule, RequestTarget_DmfRequestReuse *DmfRequestIdReuse);
/* SendEx on a reusable request; STATUS_OBJECTID_NOT_FOUND for an unknown or in-flight id. */
PNPKIT_API NTSTATUS DMF_RequestTarget_ReuseSend(DMFMODULE DmfModule, RequestTarget_DmfRequestReuse DmfRequestIdReuse,
                                                VOID *RequestBuffer, size_t RequestLength, VOID *ResponseBuffer,
                                                size_t ResponseLength, ContinuousRequestTarget_RequestType RequestType,
                                                ULONG RequestIoctl, ULONG RequestTimeoutMilliseconds,
                                                EVT_DMF_RequestTarget_SendCompletion *EvtRequestTargetSingleAsynchronousRequest,
                                                VOID *SingleAsynchronousRequestClientContext,
                                                RequestTarget_DmfRequestCancel *DmfRequestIdCancel);
/* Deletes an idle reusable request: TRUE; FALSE for an unknown or in-flight id. */
PNPKIT_API BOOLEAN DMF_RequestTarget_ReuseDelete(DMFMODULE DmfModule, RequestTarget_DmfRequestReuse DmfRequestIdReuse);

PNPKIT_API NTSTATUS DMF_ContinuousRequestTarget_IoTargetSet(DMFMODULE DmfModule, WDFIOTARGET IoTarget);
/* STATUS_INVALID_DEVICE_STATE while the stream runs. */
PNPKIT_API NTSTATUS DMF_ContinuousRequestTarget_IoTargetClear(DMFMODULE DmfModule);
PNPKIT_API NTSTATUS DMF_ContinuousRequestTarget_Get(DMFMODULE DmfModule, WDFIOTARGET *IoTarget);
PNPKIT_API NTSTATUS DMF_ContinuousRequestTarget_Send(
    DMFMODULE DmfModule, VOID *RequestBuffer, size_t RequestLength, VOID *ResponseBuffer, size_t ResponseLength,
    ContinuousRequestTarget_RequestType RequestType, ULONG RequestIoctl, ULONG RequestTimeoutMilliseconds,
    EVT_DMF_ContinuousRequestTarget_SendCompletion *EvtContinuousRequestTargetSingleAsynchronousRequest,
    VOID *SingleAsynchronousRequestClientContext);
PNPKIT_API NTSTATUS DMF_ContinuousRequestTarget_SendEx(
    DMFMODULE DmfModule, VOID *RequestBuffer, size_t RequestLength, VOID *ResponseBuffer, size_t ResponseLength,
    ContinuousRequestTarget_RequestType RequestType, ULONG RequestIoctl, ULONG RequestTimeoutMilliseconds,
    EVT_DMF_ContinuousRequestTarget_SendCompletion *EvtContinuousRequestTargetSingleAsynchronousRequest,
    VOID *SingleAsynchronousRequestClientContext, RequestTarget_DmfRequestCancel *DmfRequestIdCancel);
PNPKIT_API NTSTATUS DMF_ContinuousRequestTarget_SendSynchronously(
    DMFMODULE DmfModule, VOID *RequestBuffer, size_t RequestLength, VOID *ResponseBuffer, size_t ResponseLength,
    ContinuousRequestTarget_RequestType RequestType, ULONG RequestIoctl, ULONG RequestTimeoutMilliseconds,
    size_t *BytesWritten);
PNPKIT_API BOOLEAN DMF_ContinuousRequestTarget_Cancel(DMFMODULE DmfModule,
                                                      RequestTarget_DmfRequestCancel DmfRequestIdCancel);
PNPKIT_API NTSTATUS DMF_ContinuousRequestTarget_ReuseCreate(DMFMODULE DmfModule,
                                                            RequestTarget_DmfRequestReuse *DmfRequestIdReuse);
PNPKIT_API NTSTATUS DMF_ContinuousRequestTarget_ReuseSend(
    DMFMODULE DmfModule, RequestTarget_DmfRequestReuse DmfRequestIdReuse, VOID *RequestBuffer, size_t RequestLength,
    VOID *ResponseBuffer, size_t ResponseLength, ContinuousRequestTarget_RequestType RequestType, ULONG RequestIoctl,
    ULONG RequestTimeoutMilliseconds,
    EVT_DMF_ContinuousRequestTarget_SendCompletion *EvtContinuousRequestTargetSingleAsynchronousRequest,
    VOID *SingleAsynchronousRequestClientContext, RequestTarget_DmfRequestCancel *DmfRequestIdCancel);
PNPKIT_API BOOLEAN DMF_ContinuousRequestTarget_ReuseDelete(DMFMODULE DmfModule,
                                                           RequestTarget_DmfRequestReuse DmfRequestIdReuse);
/* Starts the stream: STATUS_INVALID_DEVICE_STATE unless stopped (or with no target);
 * STATUS_INSUFFICIENT_RESOURCES when BufferInputSize > 0 and BufferCountInput <
 * ContinuousRequestCount; on a failed send the sent requests are cancelled and waited for. */
PNPKIT_API NTSTATUS DMF_ContinuousRequestTarget_Start(DMFMODULE DmfModule);
/* Marks the stream stopping and cancels its requests (no wait). */
PNPKIT_API VOID DMF_ContinuousRequestTarget_Stop(DMFMODULE DmfModule);
/* Stop, then (at PASSIVE_LEVEL) waits on an event until every stream request has returned. */
PNPKIT_API VOID DMF_ContinuousRequestTarget_StopAndWait(DMFMODULE DmfModule);
/* Returns an output buffer the client kept (dispositions 3 and 4). */
PNPKIT_API VOID DMF_ContinuousRequestTarget_BufferPut(DMFMODULE DmfModule, VOID *ClientBuffer);

/* ---- Remarks ----
 * - Clients cancel only through Cancel, never WdfRequestCancelSentRequest on the module's
 *   requests. Cancel ids are process-wide: an id of another module instance returns FALSE.
 * - Closing the module stops the stream, waits for single and reusable requests in flight,
 *   and deletes reusable requests the client never deleted (verifier warning). */

/* #############################################################################################
 * DMF_DeviceInterfaceMultipleTarget
 * #############################################################################################
 * ---- Summary ----
 * Watches a device interface class and opens every instance of it as a Target: each enabled
 * interface gets its own remote WDFIOTARGET (opened by symbolic link) and its own per-target
 * DMF_ContinuousRequestTarget (ContinuousRequestCount > 0: a stream of requests, started
 * automatically in Automatic mode) or DMF_RequestTarget (ContinuousRequestCount = 0). Targets
 * come and go with their interfaces and devices: the client hears Open, QueryRemove (it may
 * veto), RemoveCancel, RemoveComplete and Close through its state callback, and sends to a
 * Target with the methods below. Registration for the interface class happens at the point
 * ModuleOpenOption names; the module is open while at least one Target is open (PostOpen at the
 * first, PreClose at the last). See docs/dmf/DMF_DeviceInterfaceMultipleTarget.md. */

/* ---- Handles and types ----
 * A Target is a framework object (the client may attach contexts with WdfObjectAllocateContext).
 * It keeps its value from Open through QueryRemove and RemoveCancel; after the Target is torn
 * down its handle is stale, and every method given it fails cleanly (never a dereference). */
PNPKIT_DECLARE_WDF_HANDLE(DeviceInterfaceMultipleTarget_Target);
typedef DeviceInterfaceMultipleTarget_Target DMFIOTARGET;
typedef RequestTarget_DmfRequestCancel DeviceInterfaceMultipleTarget_DmfRequestCancel;
typedef RequestTarget_DmfRequestReuse DeviceInterfaceMultipleTarget_DmfRequestReuse;
typedef ContinuousRequestTarget_RequestType DeviceInterfaceMultipleTarget_RequestType;
typedef EVT_DMF_ContinuousRequestTarget_SendCompletion EVT_DMF_DeviceInterfaceMultipleTarget_SendCompletion;

/* ---- Enumerations ---- */
typedef enum {
    DeviceInterfaceMultipleTarget_StateType_Invalid = 0,
    DeviceInterfaceMultipleTarget_StateType_Open = 1,
    DeviceInterfaceMultipleTarget_StateType_QueryRemove = 2,
    /* The old name and the right name of the same value. */
    DeviceInterfaceMultipleTarget_StateType_QueryRemoveCancelled = 3,
    DeviceInterfaceMultipleTarget_StateType_RemoveCancel = DeviceInterfaceMultipleTarget_StateType_QueryRemoveCancelled,
    DeviceInterfaceMultipleTarget_StateType_QueryRemoveComplete = 4,
    DeviceInterfaceMultipleTarget_StateType_RemoveComplete = DeviceInterfaceMultipleTarget_StateType_QueryRemoveComplete,
    DeviceInterfaceMultipleTarget_StateType_Close = 5,
    DeviceInterfaceMultipleTarget_StateType_Maximum = 6,
} DeviceInterfaceMultipleTarget_StateType;

/* When the module registers for the interface class (and unregisters, tearing every Target
 * down): PrepareHardware / ReleaseHardware, every D0Entry / D0Exit, or module create / delete
 * (the only choice for a dynamic module). The framework sees them as NOTIFY_PrepareHardware,
 * NOTIFY_D0Entry and NOTIFY_Create. */
typedef enum {
    DeviceInterfaceMultipleTarget_PnpRegisterWhen_PrepareHardware = 0,
    DeviceInterfaceMultipleTarget_PnpRegisterWhen_D0Entry = 1,
    DeviceInterfaceMultipleTarget_PnpRegisterWhen_Create = 2,
} DeviceInterfaceMultipleTarget_PnpRegisterWhen_Type;

/* ---- Callbacks (PASSIVE_LEVEL, on the PnP worker or the thread that unregisters; no pnpkit
 * lock held) ---- */

/* The Target changed state (legacy form: cannot veto anything). */
typedef VOID EVT_DMF_DeviceInterfaceMultipleTarget_OnStateChange(DMFMODULE DmfModule, DMFIOTARGET Target,
                                                                 DeviceInterfaceMultipleTarget_StateType IoTargetState);
/* The Target changed state. A failure returned for Open vetoes the open (the Target is deleted,
 * no further callback for it); a failure for QueryRemove vetoes the removal. Other states:
 * return STATUS_SUCCESS (the value is ignored). When both forms are set only this one runs. */
typedef NTSTATUS EVT_DMF_DeviceInterfaceMultipleTarget_OnStateChangeEx(DMFMODULE DmfModule, DMFIOTARGET Target,
                                                                       DeviceInterfaceMultipleTarget_StateType IoTargetState);
/* A new interface arrived: *IoTargetOpen is TRUE on entry; writing FALSE skips it (no Target,
 * no state callback, no create request reaches the device). Called once per new arrival,
 * before Open. */
typedef VOID EVT_DMF_DeviceInterfaceMultipleTarget_OnPnpNotification(DMFMODULE DmfModule,
                                                                     PUNICODE_STRING SymbolicLinkName,
                                                                     BOOLEAN *IoTargetOpen);

/* ---- Configuration ---- */
typedef struct {
    DeviceInterfaceMultipleTarget_PnpRegisterWhen_Type ModuleOpenOption;
    /* The interface class to open. */
    GUID DeviceInterfaceMultipleTargetGuid;
    /* DesiredAccess of each open (0: GENERIC_READ | GENERIC_WRITE). */
    ULONG OpenMode;
    /* ShareAccess of each open (0: FILE_SHARE_READ | FILE_SHARE_WRITE). */
    ULONG ShareAccess;
    /* The per-target child's config. Its D0 flags must be FALSE (per-target children are
     * dynamic); its stream callbacks receive this module's handle. */
    DMF_CONFIG_ContinuousRequestTarget ContinuousRequestTargetModuleConfig;
    EVT_DMF_DeviceInterfaceMultipleTarget_OnStateChange *EvtDeviceInterfaceMultipleTargetOnStateChange;
    EVT_DMF_DeviceInterfaceMultipleTarget_OnStateChangeEx *EvtDeviceInterfaceMultipleTargetOnStateChangeEx;
    EVT_DMF_DeviceInterfaceMultipleTarget_OnPnpNotification *EvtDeviceInterfaceMultipleTargetOnPnpNotification;
} DMF_CONFIG_DeviceInterfaceMultipleTarget;

/* DMF_DeviceInterfaceMultipleTarget_Create fails with STATUS_INVALID_PARAMETER for
 * ModuleOpenOption > 2, a D0 flag in ContinuousRequestTargetModuleConfig, or a paged pool type
 * without PassiveLevel; a dynamic module with an option other than Create fails with
 * STATUS_UNSUCCESSFUL. */
DECLARE_DMF_MODULE(DeviceInterfaceMultipleTarget)

/* ---- Methods (DmfModule first, then Target; IRQL <= DISPATCH_LEVEL unless stated) ----
 * Each method validates the module and the Target (NULL, stale, or a Target of another
 * instance: STATUS_INVALID_DEVICE_STATE, FALSE, or nothing) and holds the Target's rundown
 * while it runs, so a removal waits for it. Statuses otherwise as DMF_ContinuousRequestTarget's
 * methods; completion callbacks receive this module's handle. */

/* Returns a client-owned output buffer to the Target's output pool. STATUS_INVALID_PARAMETER
 * (buffer stays with the client) for a buffer of another Target's pool; a stale Target: the
 * buffer is freed, STATUS_INVALID_DEVICE_STATE. */
PNPKIT_API NTSTATUS DMF_DeviceInterfaceMultipleTarget_BufferPut(DMFMODULE DmfModule, DMFIOTARGET Target,
                                                                VOID *ClientBuffer);
/* Cancel, in both spellings: the seed's (DmfModule, DmfRequestIdCancel) looks in every Target
 * of the module; Microsoft DMF's (DmfModule, Target, DmfRequestIdCancel) only in that Target.
 * TRUE when a pending request was cancelled (its completion still runs once). */
PNPKIT_API BOOLEAN PnpkitDeviceInterfaceMultipleTarget_CancelAny(DMFMODULE DmfModule,
                                                                 RequestTarget_DmfRequestCancel DmfRequestIdCancel);
PNPKIT_API BOOLEAN PnpkitDeviceInterfaceMultipleTarget_CancelOnTarget(DMFMODULE DmfModule, DMFIOTARGET Target,
                                                                      RequestTarget_DmfRequestCancel DmfRequestIdCancel);
#define PNPKIT_DIMT_CANCEL_PICK__(_1, _2, _3, name, ...) name
#define DMF_DeviceInterfaceMultipleTarget_Cancel(...) \
    PNPKIT_DIMT_CANCEL_PICK__(__VA_ARGS__, PnpkitDeviceInterfaceMultipleTarget_CancelOnTarget, \
                              PnpkitDeviceInterfaceMultipleTarget_CancelAny, unused)(__VA_ARGS__)
/* The Target's WDFIOTARGET. *IoTarget is set to NULL first, so a failure leaves NULL. Valid
 * while the caller holds a TargetReference or runs inside a state callback for this Target. */
PNPKIT_API NTSTATUS DMF_DeviceInterfaceMultipleTarget_Get(DMFMODULE DmfModule, DMFIOTARGET Target,
                                                          WDFIOTARGET *IoTarget);
/* The configured interface class GUID; always STATUS_SUCCESS (also with no Target open). */
PNPKIT_API NTSTATUS DMF_DeviceInterfaceMultipleTarget_GuidGet(DMFMODULE DmfModule, GUID *Guid);
PNPKIT_API NTSTATUS DMF_DeviceInterfaceMultipleTarget_ReuseCreate(DMFMODULE DmfModule,
                                                                  DeviceInterfaceMultipleTarget_Target Target,
                                                                  DeviceInterfaceMultipleTarget_DmfRequestReuse *DmfRequestIdReuse);
/* Needs no rundown (allowed while the Target closes); FALSE for an unknown or in-flight id. */
PNPKIT_API BOOLEAN DMF_DeviceInterfaceMultipleTarget_ReuseDelete(DMFMODULE DmfModule,
                                                                 DeviceInterfaceMultipleTarget_Target Target,
                                                                 DeviceInterfaceMultipleTarget_DmfRequestReuse DmfRequestIdReuse);
PNPKIT_API NTSTATUS DMF_DeviceInterfaceMultipleTarget_ReuseSend(
    DMFMODULE DmfModule, DeviceInterfaceMultipleTarget_Target Target,
    DeviceInterfaceMultipleTarget_DmfRequestReuse DmfRequestIdReuse, VOID *RequestBuffer, size_t RequestLength,
    VOID *ResponseBuffer, size_t ResponseLength, DeviceInterfaceMultipleTarget_RequestType RequestType,
    ULONG RequestIoctl, ULONG RequestTimeoutMilliseconds,
    EVT_DMF_DeviceInterfaceMultipleTarget_SendCompletion *EvtDeviceInterfaceMultipleTargetSingleAsynchronousRequest,
    VOID *SingleAsynchronousRequestClientContext, DeviceInterfaceMultipleTarget_DmfRequestCancel *DmfRequestIdCancel);
PNPKIT_API NTSTATUS DMF_DeviceInterfaceMultipleTarget_Send(
    DMFMODULE DmfModule, DMFIOTARGET Target, VOID *RequestBuffer, size_t RequestLength, VOID *ResponseBuffer,
    size_t ResponseLength, ContinuousRequestTarget_RequestType RequestType, ULONG RequestIoctl,
    ULONG RequestTimeoutMilliseconds,
    EVT_DMF_ContinuousRequestTarget_SendCompletion *EvtContinuousRequestTargetSingleAsynchronousRequest,
    VOID *SingleAsynchronousRequestClientContext);
PNPKIT_API NTSTATUS DMF_DeviceInterfaceMultipleTarget_SendEx(
    DMFMODULE DmfModule, DMFIOTARGET Target, VOID *RequestBuffer, size_t RequestLength, VOID *ResponseBuffer,
    size_t ResponseLength, DeviceInterfaceMultipleTarget_RequestType RequestType, ULONG RequestIoctl,
    ULONG RequestTimeoutMilliseconds,
    EVT_DMF_ContinuousRequestTarget_SendCompletion *EvtContinuousRequestTargetSingleAsynchronousRequest,
    VOID *SingleAsynchronousRequestClientContext, RequestTarget_DmfRequestCancel *DmfRequestIdCancel);
/* PASSIVE_LEVEL (at DISPATCH_LEVEL: STATUS_INVALID_DEVICE_REQUEST, nothing sent). A removal of
 * the Target cancels a blocked call (STATUS_CANCELLED). */
PNPKIT_API NTSTATUS DMF_DeviceInterfaceMultipleTarget_SendSynchronously(
    DMFMODULE DmfModule, DMFIOTARGET Target, VOID *RequestBuffer, size_t RequestLength, VOID *ResponseBuffer,
    size_t ResponseLength, ContinuousRequestTarget_RequestType RequestType, ULONG RequestIoctl,
    ULONG RequestTimeoutMilliseconds, size_t *BytesWritten);
/* STATUS_INVALID_DEVICE_REQUEST with ContinuousRequestCount = 0. */
PNPKIT_API NTSTATUS DMF_DeviceInterfaceMultipleTarget_StreamStart(DMFMODULE DmfModule, DMFIOTARGET Target);
/* At PASSIVE_LEVEL waits for the stream's requests; at DISPATCH_LEVEL only cancels them. */
PNPKIT_API VOID DMF_DeviceInterfaceMultipleTarget_StreamStop(DMFMODULE DmfModule, DMFIOTARGET Target);
/* Holds the Target open (its removal waits) until TargetDereference. STATUS_INVALID_DEVICE_STATE
 * once the Target's rundown has begun. Never wait for PnP activity while holding it. */
PNPKIT_API NTSTATUS DMF_DeviceInterfaceMultipleTarget_TargetReference(DMFMODULE DmfModule,
                                                                      DeviceInterfaceMultipleTarget_Target Target);
/* Releases a TargetReference; an unmatched one is a verifier stop. */
PNPKIT_API VOID DMF_DeviceInterfaceMultipleTarget_TargetDereference(DMFMODULE DmfModule,
                                                                    DeviceInterfaceMultipleTarget_Target Target);

/* ---- Remarks ----
 * - Every interface present at registration opens, each with its own Target; an arrival for a
 *   link that already has a Target (letter case and \??\ vs \\?\ ignored) is ignored.
 * - Callback sequences: arrival: Open; orderly removal: QueryRemove, RemoveComplete; removal
 *   cancelled: QueryRemove, RemoveCancel (same Target, reopened, stream restarted); veto:
 *   QueryRemove; surprise removal: RemoveComplete, Close; interface disabled or unregistration:
 *   Close.
 * - A removal ends the Target's rundown, cancels the requests sent to it (each completion runs
 *   exactly once, with STATUS_CANCELLED unless the device won) and waits, on an event, for
 *   running methods and TargetReferences. */


/* #############################################################################################
 * DMF_DeviceInterfaceTarget
 * #############################################################################################
 * ---- Summary ----
 * The single-target sibling of DMF_DeviceInterfaceMultipleTarget, on the same machinery (it is
 * built on an internal DeviceInterfaceMultipleTarget child): the first interface of the class
 * that arrives (and that OnPnpNotification accepts) is opened; further arrivals are ignored
 * while it is open. Registration happens at PrepareHardware for a static module and at create
 * for a dynamic one. pnpkit adds custom-event delivery: the target device's custom events
 * (IoReportTargetDeviceChange[Asynchronous], WdfDevicePostEvent) reach
 * EvtDeviceInterfaceTargetOnCustomEvent while the target is open. See
 * docs/dmf/DMF_DeviceInterfaceTarget.md. */

/* ---- Enumerations ---- */
typedef enum {
    DeviceInterfaceTarget_StateType_Invalid = 0,
    DeviceInterfaceTarget_StateType_Open = 1,
    DeviceInterfaceTarget_StateType_QueryRemove = 2,
    DeviceInterfaceTarget_StateType_QueryRemoveCancelled = 3,
    DeviceInterfaceTarget_StateType_RemoveCancel = DeviceInterfaceTarget_StateType_QueryRemoveCancelled,
    DeviceInterfaceTarget_StateType_QueryRemoveComplete = 4,
    DeviceInterfaceTarget_StateType_RemoveComplete = DeviceInterfaceTarget_StateType_QueryRemoveComplete,
    DeviceInterfaceTarget_StateType_Close = 5,
    DeviceInterfaceTarget_StateType_Maximum = 6,
} DeviceInterfaceTarget_StateType;
typedef ContinuousRequestTarget_RequestType DeviceInterfaceTarget_RequestType;

/* ---- Callbacks (PASSIVE_LEVEL, no pnpkit lock held) ---- */
typedef VOID EVT_DMF_DeviceInterfaceTarget_OnStateChange(DMFMODULE DmfModule, DeviceInterfaceTarget_StateType IoTargetState);
/* As the multiple-target Ex callback: a failure vetoes Open or QueryRemove. */
typedef NTSTATUS EVT_DMF_DeviceInterfaceTarget_OnStateChangeEx(DMFMODULE DmfModule,
                                                               DeviceInterfaceTarget_StateType IoTargetState);
typedef VOID EVT_DMF_DeviceInterfaceTarget_OnPnpNotification(DMFMODULE DmfModule, PUNICODE_STRING SymbolicLinkName,
                                                             BOOLEAN *IoTargetOpen);
/* pnpkit: a custom event of the open target's device. Data is the event's custom data
 * (DataSize bytes, valid during the call); bytes from NameBufferOffset on are UTF-16 text, -1
 * when there is none (seed 002). On the PnP worker. */
typedef VOID EVT_DMF_DeviceInterfaceTarget_OnCustomEvent(DMFMODULE DmfModule, const GUID *EventGuid, VOID *Data,
                                                         ULONG DataSize, LONG NameBufferOffset);

/* ---- Configuration ---- */
typedef struct {
    GUID DeviceInterfaceTargetGuid;
    /* 0: GENERIC_READ | GENERIC_WRITE; 0: FILE_SHARE_READ | FILE_SHARE_WRITE. */
    ULONG OpenMode;
    ULONG ShareAccess;
    /* As for the multiple-target module (no D0 flags). */
    DMF_CONFIG_ContinuousRequestTarget ContinuousRequestTargetModuleConfig;
    EVT_DMF_DeviceInterfaceTarget_OnStateChange *EvtDeviceInterfaceTargetOnStateChange;
    EVT_DMF_DeviceInterfaceTarget_OnStateChangeEx *EvtDeviceInterfaceTargetOnStateChangeEx;
    EVT_DMF_DeviceInterfaceTarget_OnPnpNotification *EvtDeviceInterfaceTargetOnPnpNotification;
    /* pnpkit addition (last, so DMF code that fills the fields above compiles unchanged). */
    EVT_DMF_DeviceInterfaceTarget_OnCustomEvent *EvtDeviceInterfaceTargetOnCustomEvent;
} DMF_CONFIG_DeviceInterfaceTarget;

DECLARE_DMF_MODULE(DeviceInterfaceTarget)

/* ---- Methods (IRQL <= DISPATCH_LEVEL unless stated) ----
 * As the multiple-target methods on the open target; with no target open they return
 * STATUS_INVALID_DEVICE_STATE (FALSE, nothing). */
PNPKIT_API NTSTATUS DMF_DeviceInterfaceTarget_BufferPut(DMFMODULE DmfModule, VOID *ClientBuffer);
PNPKIT_API BOOLEAN DMF_DeviceInterfaceTarget_Cancel(DMFMODULE DmfModule, RequestTarget_DmfRequestCancel DmfRequestId);
/* *IoTarget is set to NULL first. */
PNPKIT_API NTSTATUS DMF_DeviceInterfaceTarget_Get(DMFMODULE DmfModule, WDFIOTARGET *IoTarget);
PNPKIT_API NTSTATUS DMF_DeviceInterfaceTarget_GuidGet(DMFMODULE DmfModule, GUID *Guid);
PNPKIT_API NTSTATUS DMF_DeviceInterfaceTarget_ReuseCreate(DMFMODULE DmfModule, RequestTarget_DmfRequestReuse *DmfRequestIdReuse);
PNPKIT_API BOOLEAN DMF_DeviceInterfaceTarget_ReuseDelete(DMFMODULE DmfModule, RequestTarget_DmfRequestReuse DmfRequestIdReuse);
PNPKIT_API NTSTATUS DMF_DeviceInterfaceTarget_ReuseSend(
    DMFMODULE DmfModule, RequestTarget_DmfRequestReuse DmfRequestIdReuse, VOID *RequestBuffer, size_t RequestLength,
    VOID *ResponseBuffer, size_t ResponseLength, DeviceInterfaceTarget_RequestType RequestType, ULONG RequestIoctl,
    ULONG RequestTimeoutMilliseconds, EVT_DMF_ContinuousRequestTarget_SendCompletion *EvtContinuousRequestTargetSingleAsynchronousRequest,
    VOID *SingleAsynchronousRequestClientContext, RequestTarget_DmfRequestCancel *DmfRequestIdCancel);
PNPKIT_API NTSTATUS DMF_DeviceInterfaceTarget_Send(DMFMODULE DmfModule, VOID *RequestBuffer, size_t RequestLength,
                                                   VOID *ResponseBuffer, size_t ResponseLength,
                                                   DeviceInterfaceTarget_RequestType RequestType, ULONG RequestIoctl,
                                                   ULONG RequestTimeoutMilliseconds,
                                                   EVT_DMF_ContinuousRequestTarget_SendCompletion *EvtContinuousRequestTargetSingleAsynchronousRequest,
                                                   VOID *SingleAsynchronousRequestClientContext);
PNPKIT_API NTSTATUS DMF_DeviceInterfaceTarget_SendEx(DMFMODULE DmfModule, VOID *RequestBuffer, size_t RequestLength,
                                                     VOID *ResponseBuffer, size_t ResponseLength,
                                                     DeviceInterfaceTarget_RequestType RequestType, ULONG RequestIoctl,
                                                     ULONG RequestTimeoutMilliseconds,
                                                     EVT_DMF_ContinuousRequestTarget_SendCompletion *EvtContinuousRequestTargetSingleAsynchronousRequest,
                                                     VOID *SingleAsynchronousRequestClientContext,
                                                     RequestTarget_DmfRequestCancel *DmfRequestId);
/* PASSIVE_LEVEL (STATUS_INVALID_DEVICE_REQUEST above). */
PNPKIT_API NTSTATUS DMF_DeviceInterfaceTarget_SendSynchronously(DMFMODULE DmfModule, VOID *RequestBuffer,
                                                                size_t RequestLength, VOID *ResponseBuffer,
                                                                size_t ResponseLength,
                                                                DeviceInterfaceTarget_RequestType RequestType,
                                                                ULONG RequestIoctl, ULONG RequestTimeoutMilliseconds,
                                                                size_t *BytesWritten);
PNPKIT_API NTSTATUS DMF_DeviceInterfaceTarget_StreamStart(DMFMODULE DmfModule);
PNPKIT_API VOID DMF_DeviceInterfaceTarget_StreamStop(DMFMODULE DmfModule);

/* ---- Remarks ----
 * - Only one target at a time: when it goes, the module waits for the next arrival (an
 *   interface already present is not opened again until it arrives anew), as in DMF.
 * - Methods given no open target fail cleanly; a method racing the removal of the target fails
 *   with STATUS_INVALID_DEVICE_STATE, as on a stale Target. */


PNPKIT_END_DECLS

#endif /* PNPKIT_DMF_H */
