/*
 * <pnpkit/swdevice.h> — software devices created and removed by code, as on Windows.
 */
#ifndef PNPKIT_SWDEVICE_H
#define PNPKIT_SWDEVICE_H

#include <pnpkit/cfgmgr32.h>

PNPKIT_BEGIN_DECLS

typedef struct HSWDEVICE__ *HSWDEVICE, **PHSWDEVICE;

typedef enum _SW_DEVICE_CAPABILITIES {
    SWDeviceCapabilitiesNone = 0x00000000,
    SWDeviceCapabilitiesRemovable = 0x00000001,
    SWDeviceCapabilitiesSilentInstall = 0x00000002,
    SWDeviceCapabilitiesNoDisplayInUI = 0x00000004,
    SWDeviceCapabilitiesDriverRequired = 0x00000008,
} SW_DEVICE_CAPABILITIES;

typedef struct _SW_DEVICE_CREATE_INFO {
    ULONG cbSize;
    PCWSTR pszInstanceId;
    PCZZWSTR pszzHardwareIds;
    PCZZWSTR pszzCompatibleIds;
    const GUID *pContainerId;
    ULONG CapabilityFlags;
    PCWSTR pszDeviceDescription;
    PCWSTR pszDeviceLocation;
    const void *pSecurityDescriptor;
} SW_DEVICE_CREATE_INFO, *PSW_DEVICE_CREATE_INFO;

/* Device properties are not stored by pnpkit: SwDeviceCreate refuses a nonzero property count
 * with E_NOTIMPL. */
typedef struct _DEVPROPERTY DEVPROPERTY;

typedef VOID SW_DEVICE_CREATE_CALLBACK(HSWDEVICE hSwDevice, HRESULT CreateResult, PVOID pContext,
                                       PCWSTR pszDeviceInstanceId);
typedef SW_DEVICE_CREATE_CALLBACK *PSW_DEVICE_CREATE_CALLBACK;

/* Creates the software device SWD\<enumerator>\<instance id> under pszParentDeviceInstance
 * (e.g. u"HTREE\\ROOT\\0"), matches its hardware ids against the registered drivers and starts
 * it, asynchronously. pCallback(hSwDevice, result, pContext, instance id) runs once, on a pnpkit
 * thread, when the device has started (S_OK) or failed. *phSwDevice is written before the
 * callback can run. E_INVALIDARG: NULL or malformed arguments, wrong cbSize, an instance id with
 * a backslash. HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS): the instance exists. E_NOTIMPL:
 * properties. E_OUTOFMEMORY. PASSIVE_LEVEL. */
PNPKIT_API HRESULT SwDeviceCreate(PCWSTR pszEnumeratorName, PCWSTR pszParentDeviceInstance,
                                  const SW_DEVICE_CREATE_INFO *pCreateInfo, ULONG cPropertyCount,
                                  const DEVPROPERTY *pProperties, PSW_DEVICE_CREATE_CALLBACK pCallback,
                                  PVOID pContext, PHSWDEVICE phSwDevice);
/* Unplugs the device (a surprise removal, as on Windows) and closes the handle. After it
 * returns the create callback will not run. The removal completes asynchronously. */
PNPKIT_API VOID SwDeviceClose(HSWDEVICE hSwDevice);

PNPKIT_END_DECLS

#endif /* PNPKIT_SWDEVICE_H */
