/*
 * wdfstring.c — WDFSTRING: a framework-owned copy of a UNICODE_STRING.
 *
 * Locking: `lock` protects `value` (the description), so that a reader never sees half of a
 * replacement made by wdf_string_assign. It guards the description only: a UNICODE_STRING
 * handed out earlier points at a buffer that a later assign frees, as in KMDF.
 *
 * Who frees what: the object owns value.Buffer (one allocation of Length bytes plus a NUL that
 * MaximumLength does not count); wdf_string_assign frees the previous buffer, the destroy hook
 * the last one.
 */
#include "wdf/wdf_internal.h"

#include <string.h>

typedef struct wdf_string {
    pk_object header;
    pk_lock lock;          /* protects value */
    UNICODE_STRING value;  /* Buffer NULL when empty */
} wdf_string;

static void string_destroy(pk_object *o)
{
    wdf_string *s = CONTAINING_RECORD(o, wdf_string, header);
    pk_free(s->value.Buffer);
    s->value.Buffer = NULL;
    s->value.Length = s->value.MaximumLength = 0;
}

static const pk_object_type string_type = { "WDFSTRING", PK_KIND_STRING, 0, NULL, string_destroy };

static bool unicode_string_is_valid(PCUNICODE_STRING u)
{
    return (u->Length & 1) == 0 && (u->MaximumLength & 1) == 0 && u->Length <= u->MaximumLength &&
           (u->Length == 0 || u->Buffer != NULL);
}

/* Makes *copy an owned copy of value (NULL or empty: an empty string without a buffer). */
static NTSTATUS copy_unicode_string(PCUNICODE_STRING value, UNICODE_STRING *copy)
{
    PWCHAR buffer;

    if (!value || value->Length == 0) {
        copy->Buffer = NULL;
        copy->Length = copy->MaximumLength = 0;
        return STATUS_SUCCESS;
    }
    buffer = pk_alloc((size_t)value->Length + sizeof(WCHAR));
    if (!buffer)
        return STATUS_INSUFFICIENT_RESOURCES;
    memcpy(buffer, value->Buffer, value->Length);
    buffer[value->Length / sizeof(WCHAR)] = 0;
    copy->Buffer = buffer;
    copy->Length = copy->MaximumLength = value->Length;
    return STATUS_SUCCESS;
}

NTSTATUS wdf_string_assign(pk_object *string, PCUNICODE_STRING value)
{
    wdf_string *s = CONTAINING_RECORD(string, wdf_string, header);
    UNICODE_STRING copy, old;
    NTSTATUS status = copy_unicode_string(value, &copy);

    if (!NT_SUCCESS(status))
        return status;
    pk_lock_acquire(&s->lock);
    old = s->value;
    s->value = copy;
    pk_lock_release(&s->lock);
    pk_free(old.Buffer);
    return STATUS_SUCCESS;
}

NTSTATUS WdfStringCreate(PCUNICODE_STRING UnicodeString, PWDF_OBJECT_ATTRIBUTES StringAttributes, WDFSTRING *String)
{
    wdf_string *s;
    UNICODE_STRING copy;
    NTSTATUS status;

    if (!pk_irql_ok("WdfStringCreate", PASSIVE_LEVEL))
        return STATUS_INVALID_DEVICE_REQUEST;
    if (!String)
        return STATUS_INVALID_PARAMETER;
    if (UnicodeString && !unicode_string_is_valid(UnicodeString)) {
        pk_verifier_report("WdfStringCreate", "malformed UNICODE_STRING (Length %u, MaximumLength %u, Buffer %p)",
                           UnicodeString->Length, UnicodeString->MaximumLength, (void *)UnicodeString->Buffer);
        return STATUS_INVALID_PARAMETER;
    }
    status = copy_unicode_string(UnicodeString, &copy);
    if (!NT_SUCCESS(status))
        return status;
    status = pk_object_create(&string_type, StringAttributes, NULL, sizeof(*s), "WdfStringCreate", (void **)&s);
    if (!NT_SUCCESS(status)) {
        pk_free(copy.Buffer);
        return status;
    }
    s->value = copy;
    *String = (WDFSTRING)pk_object_handle(&s->header);
    pk_object_commit(&s->header);
    return STATUS_SUCCESS;
}

VOID WdfStringGetUnicodeString(WDFSTRING String, PUNICODE_STRING UnicodeString)
{
    pk_object *o;
    wdf_string *s;

    if (!pk_irql_ok("WdfStringGetUnicodeString", PASSIVE_LEVEL))
        return;
    if (!NT_SUCCESS(pk_object_reference_handle((WDFOBJECT)String, PK_KIND_STRING, "WdfStringGetUnicodeString", &o)))
        return;
    if (!UnicodeString) {
        pk_verifier_report("WdfStringGetUnicodeString", "UnicodeString is NULL");
    } else {
        s = CONTAINING_RECORD(o, wdf_string, header);
        pk_lock_acquire(&s->lock);
        *UnicodeString = s->value;
        pk_lock_release(&s->lock);
    }
    pk_object_dereference(o);
}
