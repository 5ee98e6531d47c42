/*
 * drivers.h — the WDF drivers of the wdf_stack example: a function driver ("counter") and an
 * upper filter ("audit") for hardware id EXAMPLE\WDFSTACK, and another driver ("watcher", hardware
 * id EXAMPLE\WDFWATCH) that opens the counter's interface through a remote I/O target.
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
#define WDFWATCH_HWID u"EXAMPLE\\WDFWATCH\0"

DRIVER_INITIALIZE counter_driver_entry;
DRIVER_INITIALIZE audit_driver_entry;
DRIVER_INITIALIZE watcher_driver_entry;

/* Set by the watcher each time it has opened a counter interface and used it. */
extern KEVENT watcher_used;
/* Set by the watcher's work item when it is done with an interface (used, or failed to open). */
extern volatile LONG watcher_opens;

void say(const char *who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
