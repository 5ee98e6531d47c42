/*
 * object_api.c — the public WdfObject* entry points. Each one checks the IRQL and the handle,
 * then delegates to object.c. No state of its own.
 */
#include "object/object_internal.h"

static const pk_object_type generic_type = { "WDFOBJECT", PK_KIND_GENERIC, 0, NULL, NULL };

NTSTATUS WdfObjectCreate(PWDF_OBJECT_ATTRIBUTES Attributes, WDFOBJECT *Object)
{
    pk_object *o;
    NTSTATUS status;

    if (!pk_irql_ok("WdfObjectCreate", DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!Object)
        return STATUS_INVALID_PARAMETER;
    status = pk_object_create(&generic_type, Attributes, NULL, sizeof(pk_object), "WdfObjectCreate", (void **)&o);
    if (NT_SUCCESS(status)) {
        *Object = pk_object_handle(o);
        pk_object_commit(o);
    }
    return status;
}

VOID WdfObjectDelete(WDFOBJECT Object)
{
    pk_object *o;

    if (!pk_irql_ok("WdfObjectDelete", DISPATCH_LEVEL))
        return;
    if (!NT_SUCCESS(pk_object_reference_handle(Object, PK_KIND_ANY, "WdfObjectDelete", &o)))
        return;
    if (o->type->flags & PK_OBJTYPE_NO_CLIENT_DELETE)
        pk_verifier_report("WdfObjectDelete", "a %s is deleted by the framework, not the driver", o->type->name);
    else if (pk_object_get_state(o) != PK_OBJ_CREATED)
        pk_verifier_report("WdfObjectDelete", "%s %p is already being deleted", o->type->name, Object);
    else
        pk_object_delete(o);
    pk_object_dereference(o);
}

VOID WdfObjectReferenceActual(WDFOBJECT Handle, PVOID Tag, LONG Line, PCCH File)
{
    pk_object *o;

    if (!pk_irql_ok("WdfObjectReference", DISPATCH_LEVEL))
        return;
    if (!NT_SUCCESS(pk_object_reference_handle(Handle, PK_KIND_ANY, "WdfObjectReference", &o)))
        return;
    /* The lookup's reference is the caller's now. */
    PK_TRACE(PnpkitTraceVerbose, "object", "reference %p tag %p at %s:%d", Handle, Tag, File ? File : "?", Line);
}

VOID WdfObjectDereferenceActual(WDFOBJECT Handle, PVOID Tag, LONG Line, PCCH File)
{
    pk_object *o;
    uint32_t floor;

    if (!pk_irql_ok("WdfObjectDereference", DISPATCH_LEVEL))
        return;
    if (!NT_SUCCESS(pk_object_reference_handle(Handle, PK_KIND_ANY, "WdfObjectDereference", &o)))
        return;
    /* References now: the caller's (at least one), the creation reference if deletion has not
     * finished, and the one the lookup just took. Read the count before the creation flag:
     * deletion clears the flag before it drops that reference, so a delete racing with this
     * check can only make the check more lenient, never report a correct dereference. */
    uint32_t refs = pk_handle_refs(o);
    floor = 2u + (pk_object_creation_ref_held(o) ? 1u : 0u);
    if (pk_unlikely(refs < floor)) {
        pk_verifier_report("WdfObjectDereference", "%s %p: more dereferences than references (%s:%d)",
                           o->type->name, Handle, File ? File : "?", Line);
        pk_object_dereference(o);
        return;
    }
    PK_TRACE(PnpkitTraceVerbose, "object", "dereference %p tag %p at %s:%d", Handle, Tag, File ? File : "?", Line);
    if (pk_handle_put_two(o)) /* the caller's reference and the lookup's */
        pk_object_finalize(o);
}

PVOID WdfObjectGetTypedContextWorker(WDFOBJECT Handle, PCWDF_OBJECT_CONTEXT_TYPE_INFO TypeInfo)
{
    pk_object *o;
    void *context;

    if (!TypeInfo || !NT_SUCCESS(pk_object_reference_handle(Handle, PK_KIND_ANY, "WdfObjectGetTypedContext", &o)))
        return NULL;
    context = pk_object_context(o, TypeInfo);
    pk_object_dereference(o);
    return context;
}

WDFOBJECT WdfObjectContextGetObject(PVOID ContextPointer)
{
    pk_object *o = ContextPointer ? pk_object_from_context(ContextPointer) : NULL;

    if (!o) {
        pk_verifier_stop("WdfObjectContextGetObject", "%p is not a framework object context", ContextPointer);
        return NULL;
    }
    return pk_object_handle(o);
}

NTSTATUS WdfObjectAllocateContext(WDFOBJECT Handle, PWDF_OBJECT_ATTRIBUTES ContextAttributes, PVOID *Context)
{
    pk_object *o;
    NTSTATUS status;
    const WDF_OBJECT_ATTRIBUTES *a = ContextAttributes;

    if (!pk_irql_ok("WdfObjectAllocateContext", DISPATCH_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!a || !Context)
        return STATUS_INVALID_PARAMETER;
    if (a->Size != sizeof(WDF_OBJECT_ATTRIBUTES))
        return STATUS_INFO_LENGTH_MISMATCH;
    if (!a->ContextTypeInfo || a->ParentObject || a->ExecutionLevel != WdfExecutionLevelInheritFromParent ||
        a->SynchronizationScope != WdfSynchronizationScopeInheritFromParent ||
        (a->ContextSizeOverride && a->ContextSizeOverride < a->ContextTypeInfo->ContextSize))
        return STATUS_INVALID_PARAMETER;
    status = pk_object_reference_handle(Handle, PK_KIND_ANY, "WdfObjectAllocateContext", &o);
    if (!NT_SUCCESS(status))
        return status;
    status = pk_object_allocate_context(o, a, Context);
    pk_object_dereference(o);
    return status;
}

NTSTATUS PnpkitObjectDump(WDFOBJECT Handle)
{
    pk_object *o;
    NTSTATUS status = pk_object_reference_handle(Handle, PK_KIND_ANY, "PnpkitObjectDump", &o);

    if (!NT_SUCCESS(status))
        return status;
    pk_object_dump(o);
    pk_object_dereference(o);
    return STATUS_SUCCESS;
}
