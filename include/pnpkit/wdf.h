/*
 * <pnpkit/wdf.h> — the KMDF/UMDF2-style C API of pnpkit.
 *
 * The object model (<pnpkit/wdfobject.h>), the utility objects (<pnpkit/wdfutil.h>: memory,
 * lookaside lists, collections, spin and wait locks, work items, timers, strings), drivers and
 * devices (<pnpkit/wdfdriver.h>, <pnpkit/wdfdevice.h>), file objects (<pnpkit/wdffileobject.h>),
 * queues (<pnpkit/wdfio.h>), requests (<pnpkit/wdfrequest.h>) and the local I/O target
 * (<pnpkit/wdfiotarget.h>). Remote I/O targets follow.
 */
#ifndef PNPKIT_WDF_H
#define PNPKIT_WDF_H

#include <pnpkit/wdm.h>
#include <pnpkit/wdfobject.h>
#include <pnpkit/wdfutil.h>
#include <pnpkit/wdfdriver.h>
#include <pnpkit/wdfdevice.h>
#include <pnpkit/wdffileobject.h>
#include <pnpkit/wdfio.h>
#include <pnpkit/wdfrequest.h>
#include <pnpkit/wdfiotarget.h>

#endif /* PNPKIT_WDF_H */
