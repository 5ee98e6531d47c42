/*
 * nmr_api.c — the public Nmr* entry points of <pnpkit/netioddk.h>. Each one checks its IRQL and
 * its arguments, then delegates to nmr_registrar.c (registrations) or nmr_binding.c (bindings).
 * No state of its own, no lock.
 */
#include "nmr/nmr_internal.h"

NTSTATUS NmrRegisterProvider(const NPI_PROVIDER_CHARACTERISTICS *ProviderCharacteristics, PVOID ProviderContext,
                             PHANDLE NmrProviderHandle)
{
    if (!pk_irql_ok("NmrRegisterProvider", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!ProviderCharacteristics || !NmrProviderHandle || !ProviderCharacteristics->ProviderAttachClient ||
        !ProviderCharacteristics->ProviderDetachClient || !ProviderCharacteristics->ProviderRegistrationInstance.NpiId) {
        PK_TRACE(PnpkitTraceWarning, "nmr", "NmrRegisterProvider: a required argument or field is NULL");
        return STATUS_INVALID_PARAMETER;
    }
    return nmr_register(NMR_KIND_PROVIDER, ProviderCharacteristics, ProviderContext, NmrProviderHandle);
}

NTSTATUS NmrRegisterClient(const NPI_CLIENT_CHARACTERISTICS *ClientCharacteristics, PVOID ClientContext,
                           PHANDLE NmrClientHandle)
{
    if (!pk_irql_ok("NmrRegisterClient", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!ClientCharacteristics || !NmrClientHandle || !ClientCharacteristics->ClientAttachProvider ||
        !ClientCharacteristics->ClientDetachProvider || !ClientCharacteristics->ClientRegistrationInstance.NpiId) {
        PK_TRACE(PnpkitTraceWarning, "nmr", "NmrRegisterClient: a required argument or field is NULL");
        return STATUS_INVALID_PARAMETER;
    }
    return nmr_register(NMR_KIND_CLIENT, ClientCharacteristics, ClientContext, NmrClientHandle);
}

NTSTATUS NmrDeregisterProvider(HANDLE NmrProviderHandle)
{
    if (!pk_irql_ok("NmrDeregisterProvider", DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    return nmr_deregister(NMR_KIND_PROVIDER, NmrProviderHandle);
}

NTSTATUS NmrDeregisterClient(HANDLE NmrClientHandle)
{
    if (!pk_irql_ok("NmrDeregisterClient", DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    return nmr_deregister(NMR_KIND_CLIENT, NmrClientHandle);
}

NTSTATUS NmrWaitForProviderDeregisterComplete(HANDLE NmrProviderHandle)
{
    if (!pk_irql_ok("NmrWaitForProviderDeregisterComplete", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    return nmr_wait_for_deregister(NMR_KIND_PROVIDER, NmrProviderHandle);
}

NTSTATUS NmrWaitForClientDeregisterComplete(HANDLE NmrClientHandle)
{
    if (!pk_irql_ok("NmrWaitForClientDeregisterComplete", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    return nmr_wait_for_deregister(NMR_KIND_CLIENT, NmrClientHandle);
}

NTSTATUS NmrClientAttachProvider(HANDLE NmrBindingHandle, PVOID ClientBindingContext, const VOID *ClientDispatch,
                                 PVOID *ProviderBindingContext, const VOID **ProviderDispatch)
{
    if (!pk_irql_ok("NmrClientAttachProvider", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!ProviderBindingContext || !ProviderDispatch) {
        PK_TRACE(PnpkitTraceWarning, "nmr", "NmrClientAttachProvider: NULL out parameter");
        return STATUS_INVALID_PARAMETER;
    }
    return nmr_binding_client_attach_provider(NmrBindingHandle, ClientBindingContext, ClientDispatch,
                                              ProviderBindingContext, ProviderDispatch);
}

VOID NmrClientDetachProviderComplete(HANDLE NmrBindingHandle)
{
    if (!pk_irql_ok("NmrClientDetachProviderComplete", DISPATCH_LEVEL))
        return;
    nmr_binding_detach_complete(NmrBindingHandle, NMR_SIDE_CLIENT, "NmrClientDetachProviderComplete");
}

VOID NmrProviderDetachClientComplete(HANDLE NmrBindingHandle)
{
    if (!pk_irql_ok("NmrProviderDetachClientComplete", DISPATCH_LEVEL))
        return;
    nmr_binding_detach_complete(NmrBindingHandle, NMR_SIDE_PROVIDER, "NmrProviderDetachClientComplete");
}
