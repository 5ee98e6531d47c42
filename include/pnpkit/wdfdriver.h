/*
 * <pnpkit/wdfdriver.h> — WDFDRIVER: the framework's driver object, with the KMDF names,
 * structures and signatures. Included by <pnpkit/wdf.h>.
 *
 * A WDF driver is a DRIVER_INITIALIZE registered with PnpkitDriverRegister. Its DriverEntry calls
 * WdfDriverCreate, which installs the framework's AddDevice, DriverUnload and IRP_MJ_*
 * dispatch routines into the DRIVER_OBJECT, as KMDF does. The framework's AddDevice builds a
 * WDFDEVICE_INIT and calls EvtDriverDeviceAdd with it (see <pnpkit/wdfdevice.h>).
 *
 * There is one WDFDRIVER per DRIVER_OBJECT, and several WDF drivers may live in one process.
 *
 * Common rules, as in <pnpkit/wdfutil.h>: a bad handle raises a verifier report and returns
 * STATUS_INVALID_HANDLE (or NULL / nothing); a call above the allowed IRQL is a verifier stop
 * and otherwise returns STATUS_INVALID_DEVICE_REQUEST; out parameters are written only on
 * success.
 */
#ifndef PNPKIT_WDFDRIVER_H
#define PNPKIT_WDFDRIVER_H

#include <pnpkit/wdfobject.h>

PNPKIT_BEGIN_DECLS

/* Opaque: the framework allocates it for each new device and hands it to EvtDriverDeviceAdd. */
typedef struct WDFDEVICE_INIT WDFDEVICE_INIT, *PWDFDEVICE_INIT;

typedef NTSTATUS EVT_WDF_DRIVER_DEVICE_ADD(WDFDRIVER Driver, PWDFDEVICE_INIT DeviceInit);
typedef EVT_WDF_DRIVER_DEVICE_ADD *PFN_WDF_DRIVER_DEVICE_ADD;
typedef VOID EVT_WDF_DRIVER_UNLOAD(WDFDRIVER Driver);
typedef EVT_WDF_DRIVER_UNLOAD *PFN_WDF_DRIVER_UNLOAD;

typedef enum _WDF_DRIVER_INIT_FLAGS {
    WdfDriverInitNonPnpDriver = 0x00000001,       /* no AddDevice: control devices only */
    WdfDriverInitNoDispatchOverride = 0x00000002, /* accepted; pnpkit installs its dispatch anyway */
    WdfVerifyOn = 0x00000004,                     /* accepted; PNPKIT_VERIFIER controls the verifier */
    WdfVerifierOn = 0x00000008,
} WDF_DRIVER_INIT_FLAGS;

typedef struct _WDF_DRIVER_CONFIG {
    ULONG Size;
    /* Called at PASSIVE_LEVEL on the PnP worker for each device whose hardware id matches the
     * driver. Required unless DriverInitFlags has WdfDriverInitNonPnpDriver. */
    PFN_WDF_DRIVER_DEVICE_ADD EvtDriverDeviceAdd;
    /* Called at PASSIVE_LEVEL when the driver unloads (PnpkitDriverUnregister), before the
     * WDFDRIVER is deleted. Optional. */
    PFN_WDF_DRIVER_UNLOAD EvtDriverUnload;
    ULONG DriverInitFlags;
    ULONG DriverPoolTag; /* accepted and ignored */
} WDF_DRIVER_CONFIG, *PWDF_DRIVER_CONFIG;

static inline VOID WDF_DRIVER_CONFIG_INIT(PWDF_DRIVER_CONFIG Config, PFN_WDF_DRIVER_DEVICE_ADD EvtDriverDeviceAdd)
{
    __builtin_memset(Config, 0, sizeof(*Config));
    Config->Size = sizeof(WDF_DRIVER_CONFIG);
    Config->EvtDriverDeviceAdd = EvtDriverDeviceAdd;
}

/* Creates the WDFDRIVER of DriverObject and installs the framework's AddDevice (unless
 * WdfDriverInitNonPnpDriver), DriverUnload and every MajorFunction entry. Call it once, from
 * DriverEntry. DriverAttributes (optional) may give a context and callbacks; a ParentObject is
 * refused. RegistryPath is copied. Driver (optional) receives the handle; the framework deletes
 * the object when the driver unloads (WdfObjectDelete on it is a verifier report).
 * STATUS_INVALID_PARAMETER: NULL DriverObject or DriverConfig, no EvtDriverDeviceAdd for a PnP
 * driver, a ParentObject. STATUS_INFO_LENGTH_MISMATCH: DriverConfig->Size.
 * STATUS_INVALID_DEVICE_STATE: WdfDriverCreate was called for this DriverObject already.
 * STATUS_INSUFFICIENT_RESOURCES. PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS WdfDriverCreate(PDRIVER_OBJECT DriverObject, PCUNICODE_STRING RegistryPath,
                                    PWDF_OBJECT_ATTRIBUTES DriverAttributes, PWDF_DRIVER_CONFIG DriverConfig,
                                    WDFDRIVER *Driver);

/* The DRIVER_OBJECT of Driver (no reference), NULL for a bad handle. IRQL <= DISPATCH_LEVEL. */
PNPKIT_API PDRIVER_OBJECT WdfDriverWdmGetDriverObject(WDFDRIVER Driver);

/* The WDFDRIVER created for DriverObject, or NULL if WdfDriverCreate was not called for it.
 * IRQL <= DISPATCH_LEVEL. */
PNPKIT_API WDFDRIVER WdfWdmDriverGetWdfDriverHandle(PDRIVER_OBJECT DriverObject);

/* The registry path given to WdfDriverCreate (a NUL-terminated copy owned by the driver object),
 * or NULL for a bad handle. PASSIVE_LEVEL. */
PNPKIT_API PWSTR WdfDriverGetRegistryPath(WDFDRIVER Driver);

PNPKIT_END_DECLS

#endif /* PNPKIT_WDFDRIVER_H */
