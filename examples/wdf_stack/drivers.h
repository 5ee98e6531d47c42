/*
 * drivers.h — the two WDF drivers of the wdf_stack example: a function driver ("counter") and an
 * upper filter ("audit") for hardware id EXAMPLE\WDFSTACK.
 */
#ifndef WDF_STACK_DRIVERS_H
#define WDF_STACK_DRIVERS_H

#include <pnpkit.h>
#include <pnpkit/wdfdevice.h>
#include <pnpkit/wdfdriver.h>
#include <pnpkit/wdffileobject.h>
#include <pnpkit/wdfio.h>
#include <pnpkit/wdfiotarget.h>
#include <pnpkit/wdfrequest.h>

DEFINE_GUID(GUID_DEVINTERFACE_WDFSTACK_COUNTER, 0x3f1c2b4a, 0x8d7e, 0x4c21, 0x9e, 0x55, 0x10, 0x42, 0x6a, 0x7b, 0x8c, 0x9d);

#define IOCTL_COUNTER_ADD CTL_CODE(FILE_DEVICE_UNKNOWN, 0x810, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_COUNTER_GET CTL_CODE(FILE_DEVICE_UNKNOWN, 0x811, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define WDFSTACK_HWID u"EXAMPLE\\WDFSTACK\0"

DRIVER_INITIALIZE counter_driver_entry;
DRIVER_INITIALIZE audit_driver_entry;

void say(const char *who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
