/*
 * <pnpkit/wdf.h> — the KMDF/UMDF2-style C API of pnpkit.
 *
 * Today: the object model (<pnpkit/wdfobject.h>). Drivers, devices, queues, requests, file
 * objects, I/O targets, memory, work items, timers, locks and collections follow with the WDF
 * I/O layer.
 */
#ifndef PNPKIT_WDF_H
#define PNPKIT_WDF_H

#include <pnpkit/wdm.h>
#include <pnpkit/wdfobject.h>

#endif /* PNPKIT_WDF_H */
