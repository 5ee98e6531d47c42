/*
 * <pnpkit/netioddk.h> — the Network Module Registrar (NMR), with the names, types and
 * signatures of Windows' netioddk.h.
 *
 * What the registrar does. Client modules and provider modules of the same Network Programming
 * Interface (NPI, identified by a GUID) register with the registrar. For every client/provider
 * pair of one NPI it proposes an attachment: it calls the client's ClientAttachProvider, which
 * either declines or calls NmrClientAttachProvider, which calls the provider's
 * ProviderAttachClient. Once attached, the two modules call each other directly through binding
 * contexts and dispatch tables; the registrar takes no part in those calls. When either module
 * deregisters, the registrar detaches its bindings (ClientDetachProvider and
 * ProviderDetachClient, each of which may pend and finish later with Nmr*DetachComplete), then
 * runs both cleanup callbacks; NmrWaitFor*DeregisterComplete returns when every binding of the
 * module is gone.
 *
 * Conventions of every declaration below (see also <pnpkit/wdm.h>):
 *   - "IRQL" is the highest level the caller may be at. Above it, the call is a verifier stop
 *     naming the API; outside verifier mode (or after a verifier handler took the stop) an
 *     NTSTATUS function returns STATUS_INVALID_DEVICE_REQUEST and a VOID function does nothing.
 *   - Out parameters are written only on success.
 *   - The registrar copies nothing. While a module is registered, its characteristics, its
 *     registration instance with the NpiId, ModuleId and NPI-specific characteristics it points
 *     to, and its registration context must stay valid. While a binding exists, both binding
 *     contexts and both dispatch tables must stay valid.
 *   - The registrar never holds a lock of its own while it calls a module callback, so every
 *     callback may call any Nmr* function (a module waiting on its own deregistration from
 *     inside one of its own callbacks still deadlocks, as on Windows).
 *   - Matching looks at the NpiId GUID value only. ModuleId, Number, Version, Size, Length and
 *     the NPI-specific characteristics are the modules' business: they check them in their
 *     attach callbacks.
 *
 * pnpkit differs from the user-mode emulation of microsoft/usersim and ebpf-for-windows in a few
 * documented ways (docs/nmr.md): a valid deregistration always returns STATUS_PENDING, bad
 * waits return STATUS_INVALID_PARAMETER, a failed attach runs no cleanup callback, and no lock is
 * held during cleanup.
 */
#ifndef PNPKIT_NETIODDK_H
#define PNPKIT_NETIODDK_H

#include <pnpkit/ntdef.h>
#include <pnpkit/ntstatus.h>

#ifndef NTAPI
#define NTAPI
#endif

PNPKIT_BEGIN_DECLS

/* =============================================================================================
 * Identifiers
 * ============================================================================================= */

/* An NPI is identified by a GUID. The registrar compares NpiIds by value, never by address. */
typedef GUID NPIID;
typedef const NPIID *PNPIID;

typedef enum _NPI_MODULEID_TYPE {
    MIT_GUID = 1,
    MIT_IF_LUID = 2,
} NPI_MODULEID_TYPE;

/* Identifies a network module. Length is sizeof(NPI_MODULEID). */
typedef struct _NPI_MODULEID {
    USHORT Length;
    NPI_MODULEID_TYPE Type;
    union {
        GUID Guid;
        LUID IfLuid;
    };
} NPI_MODULEID;
typedef const NPI_MODULEID *PNPI_MODULEID;

/* TRUE only when both Types are equal and the Guids (MIT_GUID) or the LUIDs (MIT_IF_LUID) are
 * equal; identical bytes under different Types compare FALSE, as does an unknown Type. Any
 * IRQL. */
static inline BOOLEAN NmrIsEqualNpiModuleId(PNPI_MODULEID ModuleId1, PNPI_MODULEID ModuleId2)
{
    if (ModuleId1->Type != ModuleId2->Type)
        return FALSE;
    if (ModuleId1->Type == MIT_GUID)
        return IsEqualGUID(&ModuleId1->Guid, &ModuleId2->Guid);
    if (ModuleId1->Type == MIT_IF_LUID)
        return (BOOLEAN)(ModuleId1->IfLuid.LowPart == ModuleId2->IfLuid.LowPart &&
                         ModuleId1->IfLuid.HighPart == ModuleId2->IfLuid.HighPart);
    return FALSE;
}

/* What a module tells the registrar, and through it its peers, about one registration.
 * Version should be 0; the registrar reads only NpiId. */
typedef struct _NPI_REGISTRATION_INSTANCE {
    USHORT Version;
    USHORT Size;                           /* sizeof(NPI_REGISTRATION_INSTANCE) */
    PNPIID NpiId;                          /* required */
    PNPI_MODULEID ModuleId;
    ULONG Number;
    const VOID *NpiSpecificCharacteristics;
} NPI_REGISTRATION_INSTANCE, *PNPI_REGISTRATION_INSTANCE;

/* =============================================================================================
 * Client callbacks
 * ============================================================================================= */

/* Called once per matching provider, at PASSIVE_LEVEL, in the thread that registered the client
 * or the provider (whichever came second), with no registrar lock held. The client looks at
 * ProviderRegistrationInstance and either declines, returning STATUS_NOINTERFACE (or another
 * failure) without calling NmrClientAttachProvider, or attaches: it prepares its binding
 * context, calls NmrClientAttachProvider(NmrBindingHandle, ...) and returns exactly that call's
 * status. Returning success without having attached is a verifier stop (treated as a decline);
 * returning a failure after NmrClientAttachProvider succeeded is a verifier report, and the
 * registrar then detaches and cleans up the provider side alone. */
typedef NTSTATUS NTAPI NPI_CLIENT_ATTACH_PROVIDER_FN(HANDLE NmrBindingHandle, PVOID ClientContext,
                                                     const NPI_REGISTRATION_INSTANCE *ProviderRegistrationInstance);
typedef NPI_CLIENT_ATTACH_PROVIDER_FN *PNPI_CLIENT_ATTACH_PROVIDER_FN;

/* Called once per binding when the binding detaches, at the IRQL of the thread that caused the
 * detach (<= DISPATCH_LEVEL), with no registrar lock held. Returns STATUS_SUCCESS when the
 * client has no call in progress into the provider, or STATUS_PENDING, in which case it calls
 * NmrClientDetachProviderComplete once those calls have finished. Any other status is a verifier
 * stop and counts as STATUS_SUCCESS. From this call on, the client starts no new call into the
 * provider. */
typedef NTSTATUS NTAPI NPI_CLIENT_DETACH_PROVIDER_FN(PVOID ClientBindingContext);
typedef NPI_CLIENT_DETACH_PROVIDER_FN *PNPI_CLIENT_DETACH_PROVIDER_FN;

/* Called once per binding after both sides finished detaching, on the thread that finished the
 * second side, at its IRQL (<= DISPATCH_LEVEL), with no registrar lock held. The client frees
 * its binding context here. Never called for a binding whose attach failed. */
typedef VOID NTAPI NPI_CLIENT_CLEANUP_BINDING_CONTEXT_FN(PVOID ClientBindingContext);
typedef NPI_CLIENT_CLEANUP_BINDING_CONTEXT_FN *PNPI_CLIENT_CLEANUP_BINDING_CONTEXT_FN;

typedef struct _NPI_CLIENT_CHARACTERISTICS {
    USHORT Version;                                      /* 0; not checked */
    USHORT Length;                                       /* sizeof(NPI_CLIENT_CHARACTERISTICS); not checked */
    PNPI_CLIENT_ATTACH_PROVIDER_FN ClientAttachProvider; /* required */
    PNPI_CLIENT_DETACH_PROVIDER_FN ClientDetachProvider; /* required */
    PNPI_CLIENT_CLEANUP_BINDING_CONTEXT_FN ClientCleanupBindingContext; /* may be NULL */
    NPI_REGISTRATION_INSTANCE ClientRegistrationInstance;
} NPI_CLIENT_CHARACTERISTICS, *PNPI_CLIENT_CHARACTERISTICS;

/* =============================================================================================
 * Provider callbacks
 * ============================================================================================= */

/* Called inside NmrClientAttachProvider, synchronously, at PASSIVE_LEVEL, with no registrar
 * lock held. On STATUS_SUCCESS the provider has written its binding context and dispatch table
 * to the two out parameters and keeps ClientBindingContext and ClientDispatch (NULL when the NPI
 * defines no client dispatch table). STATUS_NOINTERFACE declines; any other failure is returned
 * verbatim to the client. After a failure no binding exists and no cleanup callback is made. */
typedef NTSTATUS NTAPI NPI_PROVIDER_ATTACH_CLIENT_FN(HANDLE NmrBindingHandle, PVOID ProviderContext,
                                                     const NPI_REGISTRATION_INSTANCE *ClientRegistrationInstance,
                                                     PVOID ClientBindingContext, const VOID *ClientDispatch,
                                                     PVOID *ProviderBindingContext, const VOID **ProviderDispatch);
typedef NPI_PROVIDER_ATTACH_CLIENT_FN *PNPI_PROVIDER_ATTACH_CLIENT_FN;

/* The provider's mirror of NPI_CLIENT_DETACH_PROVIDER_FN; completes a pending detach with
 * NmrProviderDetachClientComplete. */
typedef NTSTATUS NTAPI NPI_PROVIDER_DETACH_CLIENT_FN(PVOID ProviderBindingContext);
typedef NPI_PROVIDER_DETACH_CLIENT_FN *PNPI_PROVIDER_DETACH_CLIENT_FN;

/* The provider's mirror of NPI_CLIENT_CLEANUP_BINDING_CONTEXT_FN; runs after the client's. */
typedef VOID NTAPI NPI_PROVIDER_CLEANUP_BINDING_CONTEXT_FN(PVOID ProviderBindingContext);
typedef NPI_PROVIDER_CLEANUP_BINDING_CONTEXT_FN *PNPI_PROVIDER_CLEANUP_BINDING_CONTEXT_FN;

typedef struct _NPI_PROVIDER_CHARACTERISTICS {
    USHORT Version;                                       /* 0; not checked */
    USHORT Length;                                        /* sizeof(NPI_PROVIDER_CHARACTERISTICS); not checked */
    PNPI_PROVIDER_ATTACH_CLIENT_FN ProviderAttachClient;  /* required */
    PNPI_PROVIDER_DETACH_CLIENT_FN ProviderDetachClient;  /* required */
    PNPI_PROVIDER_CLEANUP_BINDING_CONTEXT_FN ProviderCleanupBindingContext; /* may be NULL */
    NPI_REGISTRATION_INSTANCE ProviderRegistrationInstance;
} NPI_PROVIDER_CHARACTERISTICS, *PNPI_PROVIDER_CHARACTERISTICS;

/* =============================================================================================
 * Registration
 * ============================================================================================= */

/* Registers a provider module. PASSIVE_LEVEL.
 * Writes *NmrProviderHandle before any attach callback of this registration can run, then
 * proposes an attachment to every matching client already registered and not deregistering,
 * one at a time, in the order in which the clients registered, in the calling thread: the
 * clients' ClientAttachProvider and this provider's ProviderAttachClient (and, for a module that
 * began deregistering meanwhile, the detach callbacks) run before this function returns.
 * Returns STATUS_SUCCESS; STATUS_INVALID_PARAMETER for a NULL ProviderCharacteristics or
 * NmrProviderHandle, a NULL ProviderAttachClient or ProviderDetachClient, or a NULL NpiId;
 * STATUS_INSUFFICIENT_RESOURCES when memory runs out (nothing stays registered).
 * ProviderCharacteristics and ProviderContext are kept, not copied, until the wait for the
 * deregistration returns. The handle is released only by NmrDeregisterProvider followed by
 * NmrWaitForProviderDeregisterComplete. */
PNPKIT_API NTSTATUS NmrRegisterProvider(const NPI_PROVIDER_CHARACTERISTICS *ProviderCharacteristics,
                                        PVOID ProviderContext, PHANDLE NmrProviderHandle);

/* The client's mirror of NmrRegisterProvider: proposes attachments to every matching provider
 * already registered, in provider registration order, before returning. */
PNPKIT_API NTSTATUS NmrRegisterClient(const NPI_CLIENT_CHARACTERISTICS *ClientCharacteristics,
                                      PVOID ClientContext, PHANDLE NmrClientHandle);

/* =============================================================================================
 * Attachment
 * ============================================================================================= */

/* Attaches the client to the provider of NmrBindingHandle; callable only from inside the
 * client's ClientAttachProvider for that same binding handle, once. PASSIVE_LEVEL.
 * Calls the provider's ProviderAttachClient synchronously and returns its status verbatim:
 * STATUS_SUCCESS (the binding is attached; *ProviderBindingContext and *ProviderDispatch are
 * written), STATUS_NOINTERFACE (the provider declined) or any other failure. On failure no
 * binding exists, no cleanup callback will be made, and the client frees ClientBindingContext.
 * STATUS_INVALID_PARAMETER, without any provider callback, when the handle is not a binding
 * inside its ClientAttachProvider on this thread (unknown, declined, attached already, or a
 * second call), or when an out parameter is NULL.
 * ClientBindingContext and ClientDispatch must stay valid until ClientCleanupBindingContext. */
PNPKIT_API NTSTATUS NmrClientAttachProvider(HANDLE NmrBindingHandle, PVOID ClientBindingContext,
                                            const VOID *ClientDispatch, PVOID *ProviderBindingContext,
                                            const VOID **ProviderDispatch);

/* =============================================================================================
 * Detach completion
 * ============================================================================================= */

/* Tells the registrar that the client side of NmrBindingHandle, whose ClientDetachProvider
 * returned (or is about to return) STATUS_PENDING, has no call left in progress into the
 * provider. Any thread, IRQL <= DISPATCH_LEVEL, at any time after the detach callback was called
 * (a completion that arrives before the callback has returned STATUS_PENDING is recorded). When
 * this finishes the second side of the binding, both cleanup callbacks run inside this call.
 * A verifier stop, and otherwise ignored: an unknown or cleaned-up handle, a second completion,
 * or a completion for a side whose callback returned STATUS_SUCCESS. */
PNPKIT_API VOID NmrClientDetachProviderComplete(HANDLE NmrBindingHandle);

/* The provider's mirror of NmrClientDetachProviderComplete. */
PNPKIT_API VOID NmrProviderDetachClientComplete(HANDLE NmrBindingHandle);

/* =============================================================================================
 * Deregistration
 * ============================================================================================= */

/* Starts the deregistration of a provider. IRQL <= DISPATCH_LEVEL.
 * Marks the provider deregistering (no new attachment is proposed to it), then detaches each of
 * its attached bindings in the calling thread, at the calling thread's IRQL: the detach
 * callbacks of both sides, and the cleanup callbacks of bindings whose detach did not pend, run
 * before this function returns. Bindings still attaching detach as soon as their attach
 * finishes, in the attaching thread. The clients stay registered.
 * Returns STATUS_PENDING for every valid first call, whatever the number of bindings; follow it
 * with NmrWaitForProviderDeregisterComplete. STATUS_INVALID_PARAMETER for an unknown handle or a
 * second call. */
PNPKIT_API NTSTATUS NmrDeregisterProvider(HANDLE NmrProviderHandle);

/* The client's mirror of NmrDeregisterProvider. */
PNPKIT_API NTSTATUS NmrDeregisterClient(HANDLE NmrClientHandle);

/* Waits until every binding of the deregistered provider has been cleaned up and no attach
 * involving it is still running, then frees the registration and returns STATUS_SUCCESS; the
 * handle is invalid afterwards and the module may unload. PASSIVE_LEVEL (a call at
 * DISPATCH_LEVEL is a verifier stop). Blocks on an event; nothing polls.
 * STATUS_INVALID_PARAMETER at once, without blocking, for a handle that was not deregistered,
 * an unknown handle, a handle already waited for, or a handle another thread is waiting on. */
PNPKIT_API NTSTATUS NmrWaitForProviderDeregisterComplete(HANDLE NmrProviderHandle);

/* The client's mirror of NmrWaitForProviderDeregisterComplete. */
PNPKIT_API NTSTATUS NmrWaitForClientDeregisterComplete(HANDLE NmrClientHandle);

PNPKIT_END_DECLS

#endif /* PNPKIT_NETIODDK_H */
