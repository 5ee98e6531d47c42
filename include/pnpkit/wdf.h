/*
 * <pnpkit/wdf.h> — the KMDF/UMDF2-style C API of pnpkit.
 *
 * Today: the object model (<pnpkit/wdfobject.h>) and the utility objects
 * (<pnpkit/wdfutil.h>: memory, lookaside lists, collections, spin and wait locks, work items,
 * timers, strings). Drivers, devices, queues, requests, file objects and I/O targets follow.
 */
#ifndef PNPKIT_WDF_H
#define PNPKIT_WDF_H

#include <pnpkit/wdm.h>
#include <pnpkit/wdfobject.h>
#include <pnpkit/wdfutil.h>

#endif /* PNPKIT_WDF_H */
