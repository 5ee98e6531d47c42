/*
 * <pnpkit/sim.h> — the simulated backend and fault injection: what stands in for INF files,
 * hardware and Driver Verifier. Today: the runtime controls of <pnpkit/runtime.h>
 * (PnpkitLiveObjectCount, PnpkitShutdown, PnpkitSimFailAllocation, the verifier). Driver
 * registration by hardware id and device faults (surprise removal, failed start, vetoes) come
 * with the PnP layer.
 */
#ifndef PNPKIT_SIM_H
#define PNPKIT_SIM_H

#include <pnpkit/wdm.h>
#include <pnpkit/runtime.h>

#endif /* PNPKIT_SIM_H */
