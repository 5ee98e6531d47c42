/*
 * <pnpkit/sim.h> — the simulated backend and fault injection: what stands in for INF files,
 * hardware and Driver Verifier. Also the runtime controls of <pnpkit/runtime.h>
 * (PnpkitLiveObjectCount, PnpkitShutdown, PnpkitSimFailAllocation, the verifier).
 */
#ifndef PNPKIT_SIM_H
#define PNPKIT_SIM_H

#include <pnpkit/wdm.h>
#include <pnpkit/cfgmgr32.h>
#include <pnpkit/runtime.h>

PNPKIT_BEGIN_DECLS

/* ---- Driver packages (the role of an INF) ----
 * PnpkitDriverRegister: an in-process driver. Its DriverEntry(DriverObject, RegistryPath) runs
 * once, when the first device whose hardware ids (then compatible ids) match one of HardwareIds
 * (a multi-string, compared case-insensitively) appears; its AddDevice then runs for each such
 * device. STATUS_INVALID_PARAMETER: NULL or empty arguments. STATUS_OBJECT_NAME_COLLISION: the
 * service name is taken. PASSIVE_LEVEL.
 * PnpkitDriverRegisterFilter: the same for a filter driver, placed above (UpperFilter) or below
 * the function driver of every device it matches (what UpperFilters/LowerFilters do).
 * PnpkitDriverUnregister: removes the package and unloads its driver (DriverUnload).
 * STATUS_OBJECT_NAME_NOT_FOUND; STATUS_INVALID_DEVICE_STATE while it still has devices, or while
 * a PnP notification registration of the driver (which references its DRIVER_OBJECT) exists. */
PNPKIT_API NTSTATUS PnpkitDriverRegister(PCWSTR ServiceName, PDRIVER_INITIALIZE DriverEntry, PCZZWSTR HardwareIds);
PNPKIT_API NTSTATUS PnpkitDriverRegisterFilter(PCWSTR ServiceName, PDRIVER_INITIALIZE DriverEntry,
                                               PCZZWSTR HardwareIds, BOOLEAN UpperFilter);
PNPKIT_API NTSTATUS PnpkitDriverUnregister(PCWSTR ServiceName);

/* ---- Device faults ----
 * PnpkitSimSurpriseRemove: the device vanishes as unplugged hardware does (surprise removal of
 * it and its descendants); asynchronous. STATUS_INVALID_PARAMETER for an unknown device or the
 * root. IRQL <= DISPATCH_LEVEL.
 * PnpkitSimVetoQueryRemove: while Veto is TRUE the device's bus driver fails
 * IRP_MN_QUERY_REMOVE_DEVICE (a veto from the device stack).
 * PnpkitSimFailNextStart: the next IRP_MN_START_DEVICE of the device with that instance id
 * fails in its bus driver; the device may not exist yet (SwDeviceCreate comes later).
 * PnpkitSimWaitIdle: waits until the PnP worker has done everything queued so far (starts,
 * removals, notifications). PASSIVE_LEVEL; not from a PnP callback. */
PNPKIT_API NTSTATUS PnpkitSimSurpriseRemove(DEVINST DevInst);
PNPKIT_API NTSTATUS PnpkitSimVetoQueryRemove(DEVINST DevInst, BOOLEAN Veto);
PNPKIT_API NTSTATUS PnpkitSimFailNextStart(PCWSTR InstanceId);
PNPKIT_API VOID PnpkitSimWaitIdle(void);

/* How long the PnP manager waits for an application's (CM_Register_Notification) answer to a
 * target-device event before it goes on as if the answer were "no veto". Default 30,000 ms.
 * Any IRQL. */
PNPKIT_API VOID PnpkitSetNotificationTimeout(ULONG Milliseconds);

/* The physical device object of the device node DevInst (a CM DEVINST of this process's tree),
 * referenced: release it with ObDereferenceObject. What a driver would reach with
 * IoGetDeviceAttachmentBaseRef on a file object of the device, without opening one (e.g. to
 * raise IoReportTargetDeviceChangeAsynchronous on a device that has no interface).
 * STATUS_INVALID_PARAMETER: NULL PhysicalDeviceObject. STATUS_NO_SUCH_DEVICE: no such node, or it
 * has no PDO (not yet reported, or removed). Any IRQL <= DISPATCH_LEVEL. (pnpkit addition) */
PNPKIT_API NTSTATUS PnpkitReferencePhysicalDeviceObject(DEVINST DevInst, PDEVICE_OBJECT *PhysicalDeviceObject);

PNPKIT_END_DECLS

#endif /* PNPKIT_SIM_H */
