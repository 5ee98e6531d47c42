/* <pnpkit.h> — every public header of pnpkit. */
#ifndef PNPKIT_H
#define PNPKIT_H

#include <pnpkit/ntdef.h>
#include <pnpkit/ntstatus.h>
#include <pnpkit/wdm.h>
#include <pnpkit/wdf.h>
#include <pnpkit/sim.h>
#include <pnpkit/winerror.h>
#include <pnpkit/cfgmgr32.h>
#include <pnpkit/swdevice.h>
#include <pnpkit/linux.h>
#include <pnpkit/dmf.h>
#include <pnpkit/netioddk.h>
#include <pnpkit/runtime.h>

#endif /* PNPKIT_H */
