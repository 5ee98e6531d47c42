/*
 * pkhost_ioctl.h — the contract between the host tests' driver package (drvpkg/pkhost_drv.c),
 * the application they run (apps/pk_hostapp.c), the tests and bench_host: interface classes,
 * IOCTL codes, and the counters the driver keeps.
 *
 * Each device of the driver registers three interfaces: PKHOST_ECHO_GUID with the reference
 * string "ref" and PKHOST_SECURE_GUID without one (both enabled at start), and
 * PKHOST_TOGGLE_GUID, disabled until IOCTL_PKH_TOGGLE enables it.
 */
#ifndef PKHOST_IOCTL_H
#define PKHOST_IOCTL_H

#include <pnpkit/wdm.h>

DEFINE_GUID(PKHOST_ECHO_GUID, 0x6d1f3a20, 0x4b7c, 0x4e55, 0x8a, 0x10, 0x31, 0x42, 0x53, 0x64, 0x75, 0x86);
DEFINE_GUID(PKHOST_SECURE_GUID, 0x6d1f3a21, 0x4b7c, 0x4e55, 0x8a, 0x10, 0x31, 0x42, 0x53, 0x64, 0x75, 0x86);
DEFINE_GUID(PKHOST_TOGGLE_GUID, 0x6d1f3a22, 0x4b7c, 0x4e55, 0x8a, 0x10, 0x31, 0x42, 0x53, 0x64, 0x75, 0x86);
DEFINE_GUID(PKHOST_CUSTOM_EVENT_GUID, 0x6d1f3a2f, 0x4b7c, 0x4e55, 0x8a, 0x10, 0x31, 0x42, 0x53, 0x64, 0x75, 0x86);

#define PKHOST_ECHO_GUID_TEXT "{6d1f3a20-4b7c-4e55-8a10-314253647586}"
#define PKHOST_SECURE_GUID_TEXT "{6d1f3a21-4b7c-4e55-8a10-314253647586}"
#define PKHOST_TOGGLE_GUID_TEXT "{6d1f3a22-4b7c-4e55-8a10-314253647586}"
#define PKHOST_CUSTOM_EVENT_TEXT "{6d1f3a2f-4b7c-4e55-8a10-314253647586}"
#define PKHOST_HARDWARE_ID "PKHOST\\TESTDEV"

#define PKH_DEVICE_TYPE 0x8123
/* Output = input (Information = the smaller of the two lengths). */
#define IOCTL_PKH_ECHO CTL_CODE(PKH_DEVICE_TYPE, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Output: struct pkh_counters. */
#define IOCTL_PKH_COUNTERS CTL_CODE(PKH_DEVICE_TYPE, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Output: the UTF-16 file name the device's last create carried (no NUL). */
#define IOCTL_PKH_LAST_CREATE CTL_CODE(PKH_DEVICE_TYPE, 0x802, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Pends until cancelled (or the handle's cleanup): completes with STATUS_CANCELLED. */
#define IOCTL_PKH_PEND CTL_CODE(PKH_DEVICE_TYPE, 0x803, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Reports PKHOST_CUSTOM_EVENT_GUID with the input as its data
 * (IoReportTargetDeviceChangeAsynchronous, NameBufferOffset -1). */
#define IOCTL_PKH_REPORT_EVENT CTL_CODE(PKH_DEVICE_TYPE, 0x804, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Input: a ULONG; nonzero makes the device fail IRP_MN_QUERY_REMOVE_DEVICE. */
#define IOCTL_PKH_SET_VETO CTL_CODE(PKH_DEVICE_TYPE, 0x805, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Input: a ULONG; enables (nonzero) or disables the PKHOST_TOGGLE_GUID interface. */
#define IOCTL_PKH_TOGGLE CTL_CODE(PKH_DEVICE_TYPE, 0x806, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Echo, completed later from a work item (the completion arrives on another thread). */
#define IOCTL_PKH_ECHO_LATER CTL_CODE(PKH_DEVICE_TYPE, 0x807, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Echo through an MDL (METHOD_OUT_DIRECT) and through raw buffers (METHOD_NEITHER). */
#define IOCTL_PKH_ECHO_DIRECT CTL_CODE(PKH_DEVICE_TYPE, 0x808, METHOD_OUT_DIRECT, FILE_ANY_ACCESS)
#define IOCTL_PKH_ECHO_NEITHER CTL_CODE(PKH_DEVICE_TYPE, 0x809, METHOD_NEITHER, FILE_ANY_ACCESS)
/* Needs a handle opened for writing. */
#define IOCTL_PKH_NEEDS_WRITE CTL_CODE(PKH_DEVICE_TYPE, 0x80a, METHOD_BUFFERED, FILE_WRITE_ACCESS)
/* Copies as much of the input as fits and returns STATUS_BUFFER_OVERFLOW when it does not. */
#define IOCTL_PKH_OVERFLOW CTL_CODE(PKH_DEVICE_TYPE, 0x80b, METHOD_BUFFERED, FILE_ANY_ACCESS)

/* Counted over every device of the driver since it loaded. */
typedef struct pkh_counters {
    LONG creates, cleanups, closes;
    LONG cancelled;    /* pending requests completed with STATUS_CANCELLED */
    LONG pending;      /* requests pending now */
    LONG reads, writes, ioctls;
} pkh_counters;

#endif /* PKHOST_IOCTL_H */
