/*
 * ustring.c — UNICODE_STRING helpers and UTF-8 <-> UTF-16 conversion.
 *
 * Strings allocated here (RtlCreateUnicodeString, RtlStringFromGUID, PnpkitUnicodeStringFromUtf8)
 * are owned by the caller and freed with RtlFreeUnicodeString. No state; no locking.
 */
#include "base/base_internal.h"

#include <stdlib.h>
#include <string.h>

SIZE_T PnpkitWcsLen(PCWSTR String)
{
    SIZE_T n = 0;
    if (!String)
        return 0;
    while (String[n])
        n++;
    return n;
}

VOID RtlInitUnicodeString(PUNICODE_STRING Destination, PCWSTR Source)
{
    SIZE_T n;

    if (!Destination)
        return;
    n = PnpkitWcsLen(Source);
    if (n > UNICODE_STRING_MAX_CHARS - 1)
        n = UNICODE_STRING_MAX_CHARS - 1;
    Destination->Buffer = (PWSTR)(uintptr_t)Source;
    Destination->Length = (USHORT)(n * sizeof(WCHAR));
    Destination->MaximumLength = Source ? (USHORT)((n + 1) * sizeof(WCHAR)) : 0;
}

BOOLEAN RtlCreateUnicodeString(PUNICODE_STRING Destination, PCWSTR Source)
{
    SIZE_T n;
    PWSTR copy;

    if (!Destination || !Source)
        return FALSE;
    n = PnpkitWcsLen(Source);
    if (n > UNICODE_STRING_MAX_CHARS - 1)
        return FALSE;
    copy = pk_wcsdup(Source);
    if (!copy)
        return FALSE;
    Destination->Buffer = copy;
    Destination->Length = (USHORT)(n * sizeof(WCHAR));
    Destination->MaximumLength = (USHORT)((n + 1) * sizeof(WCHAR));
    return TRUE;
}

VOID RtlFreeUnicodeString(PUNICODE_STRING String)
{
    if (!String)
        return;
    pk_free(String->Buffer);
    String->Buffer = NULL;
    String->Length = String->MaximumLength = 0;
}

VOID RtlCopyUnicodeString(PUNICODE_STRING Destination, PCUNICODE_STRING Source)
{
    USHORT n;

    if (!Destination)
        return;
    if (!Source || !Source->Buffer) {
        Destination->Length = 0;
        return;
    }
    n = Source->Length < Destination->MaximumLength ? Source->Length : Destination->MaximumLength;
    n &= (USHORT)~1u;
    memmove(Destination->Buffer, Source->Buffer, n);
    Destination->Length = n;
    if (n + sizeof(WCHAR) <= Destination->MaximumLength)
        Destination->Buffer[n / sizeof(WCHAR)] = 0;
}

WCHAR RtlUpcaseUnicodeChar(WCHAR c)
{
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') ? (WCHAR)(c - 0x20) : c;
    if (c >= 0xE0 && c <= 0xFE && c != 0xF7)
        return (WCHAR)(c - 0x20);
    if (c == 0xFF)
        return 0x178;
    if (c >= 0x100 && c <= 0x17F) {
        /* Latin Extended-A pairs: even upper/odd lower, except 0x139-0x148 and 0x179-0x17E
         * (odd upper/even lower) and the dotless i (0x131) and kra (0x138). */
        if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
            return (c % 2 == 0) ? (WCHAR)(c - 1) : c;
        if (c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17F)
            return c;
        return (c % 2 == 1) ? (WCHAR)(c - 1) : c;
    }
    if (c >= 0x3B1 && c <= 0x3CB && c != 0x3C2)
        return (WCHAR)(c - 0x20);
    if (c >= 0x430 && c <= 0x44F)
        return (WCHAR)(c - 0x20);
    if (c >= 0x450 && c <= 0x45F)
        return (WCHAR)(c - 0x50);
    return c;
}

LONG RtlCompareUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2, BOOLEAN CaseInSensitive)
{
    static const UNICODE_STRING empty = { 0, 0, NULL };
    PCUNICODE_STRING a = (String1 && String1->Buffer) ? String1 : &empty;
    PCUNICODE_STRING b = (String2 && String2->Buffer) ? String2 : &empty;
    size_t na = a->Length / sizeof(WCHAR), nb = b->Length / sizeof(WCHAR);
    size_t n = na < nb ? na : nb;

    for (size_t i = 0; i < n; i++) {
        WCHAR x = a->Buffer[i], y = b->Buffer[i];
        if (CaseInSensitive) {
            x = RtlUpcaseUnicodeChar(x);
            y = RtlUpcaseUnicodeChar(y);
        }
        if (x != y)
            return (LONG)x - (LONG)y;
    }
    return (LONG)na - (LONG)nb;
}

BOOLEAN RtlEqualUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2, BOOLEAN CaseInSensitive)
{
    USHORT la = (String1 && String1->Buffer) ? String1->Length : 0;
    USHORT lb = (String2 && String2->Buffer) ? String2->Length : 0;
    if (la != lb)
        return FALSE;
    return (BOOLEAN)(RtlCompareUnicodeString(String1, String2, CaseInSensitive) == 0);
}

BOOLEAN RtlPrefixUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2, BOOLEAN CaseInSensitive)
{
    UNICODE_STRING head;
    if (!String1 || !String2 || String1->Length > String2->Length)
        return FALSE;
    head.Buffer = String2->Buffer;
    head.Length = head.MaximumLength = String1->Length;
    return RtlEqualUnicodeString(String1, &head, CaseInSensitive);
}

/* ---- UTF-8 <-> UTF-16 ---- */

/* Decodes one code point from s[0..n) into *cp; returns bytes consumed (>= 1). An invalid,
 * overlong, surrogate or truncated sequence yields U+FFFD and consumes one byte. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    uint32_t c = s[0], min;
    size_t len;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        c &= 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        c &= 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        c &= 0x07;
        min = 0x10000;
    } else {
        goto invalid;
    }
    if (len > n)
        goto invalid;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            goto invalid;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        goto invalid;
    *cp = c;
    return len;
invalid:
    *cp = 0xFFFD;
    return 1;
}

NTSTATUS RtlUTF8ToUnicodeN(PWSTR Dest, ULONG DestMaxBytes, PULONG ActualBytes, PCCH Source, ULONG SourceBytes)
{
    const unsigned char *s = (const unsigned char *)Source;
    size_t i = 0, out = 0, cap = Dest ? DestMaxBytes / sizeof(WCHAR) : 0;
    bool replaced = false, too_small = false;

    if ((!Dest && !ActualBytes) || (!Source && SourceBytes))
        return STATUS_INVALID_PARAMETER;
    while (i < SourceBytes) {
        uint32_t cp;
        size_t used = utf8_decode(s + i, SourceBytes - i, &cp);
        size_t units = cp >= 0x10000 ? 2 : 1;
        if (cp == 0xFFFD && used == 1)
            replaced = true;
        if (Dest) {
            if (out + units > cap) {
                too_small = true;
                break;
            }
            if (units == 2) {
                Dest[out] = (WCHAR)(0xD800 + ((cp - 0x10000) >> 10));
                Dest[out + 1] = (WCHAR)(0xDC00 + ((cp - 0x10000) & 0x3FF));
            } else {
                Dest[out] = (WCHAR)cp;
            }
        }
        out += units;
        i += used;
    }
    if (ActualBytes)
        *ActualBytes = (ULONG)(out * sizeof(WCHAR));
    if (too_small)
        return STATUS_BUFFER_TOO_SMALL;
    return replaced ? STATUS_SOME_NOT_MAPPED : STATUS_SUCCESS;
}

NTSTATUS RtlUnicodeToUTF8N(PCHAR Dest, ULONG DestMaxBytes, PULONG ActualBytes, PCWCH Source, ULONG SourceBytes)
{
    size_t n = SourceBytes / sizeof(WCHAR), out = 0, cap = Dest ? DestMaxBytes : 0;
    bool replaced = false, too_small = false;

    if ((!Dest && !ActualBytes) || (!Source && SourceBytes))
        return STATUS_INVALID_PARAMETER;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = Source[i];
        unsigned char buf[4];
        size_t len;

        if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < n && Source[i + 1] >= 0xDC00 && Source[i + 1] <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (Source[i + 1] - 0xDC00u);
            i++;
        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            cp = 0xFFFD;
            replaced = true;
        }
        if (cp < 0x80) {
            buf[0] = (unsigned char)cp;
            len = 1;
        } else if (cp < 0x800) {
            buf[0] = (unsigned char)(0xC0 | (cp >> 6));
            buf[1] = (unsigned char)(0x80 | (cp & 0x3F));
            len = 2;
        } else if (cp < 0x10000) {
            buf[0] = (unsigned char)(0xE0 | (cp >> 12));
            buf[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            buf[2] = (unsigned char)(0x80 | (cp & 0x3F));
            len = 3;
        } else {
            buf[0] = (unsigned char)(0xF0 | (cp >> 18));
            buf[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
            buf[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            buf[3] = (unsigned char)(0x80 | (cp & 0x3F));
            len = 4;
        }
        if (Dest) {
            if (out + len > cap) {
                too_small = true;
                break;
            }
            memcpy(Dest + out, buf, len);
        }
        out += len;
    }
    if (ActualBytes)
        *ActualBytes = (ULONG)out;
    if (too_small)
        return STATUS_BUFFER_TOO_SMALL;
    return replaced ? STATUS_SOME_NOT_MAPPED : STATUS_SUCCESS;
}

NTSTATUS PnpkitUnicodeStringFromUtf8(PUNICODE_STRING Destination, PCSTR Utf8)
{
    ULONG bytes = 0;
    size_t len;
    PWSTR buf;

    if (!Destination || !Utf8)
        return STATUS_INVALID_PARAMETER;
    len = strlen(Utf8);
    if (len > 4u * UNICODE_STRING_MAX_CHARS)
        return STATUS_INVALID_PARAMETER;
    RtlUTF8ToUnicodeN(NULL, 0, &bytes, Utf8, (ULONG)len);
    if (bytes > UNICODE_STRING_MAX_BYTES - sizeof(WCHAR))
        return STATUS_INVALID_PARAMETER;
    buf = pk_alloc(bytes + sizeof(WCHAR));
    if (!buf)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlUTF8ToUnicodeN(buf, bytes, &bytes, Utf8, (ULONG)len);
    buf[bytes / sizeof(WCHAR)] = 0;
    Destination->Buffer = buf;
    Destination->Length = (USHORT)bytes;
    Destination->MaximumLength = (USHORT)(bytes + sizeof(WCHAR));
    return STATUS_SUCCESS;
}

char *PnpkitUnicodeStringToUtf8(PCUNICODE_STRING String)
{
    ULONG bytes = 0;
    char *out;

    if (!String)
        return NULL;
    RtlUnicodeToUTF8N(NULL, 0, &bytes, String->Buffer, String->Buffer ? String->Length : 0);
    out = pk_alloc(bytes + 1);
    if (!out)
        return NULL;
    RtlUnicodeToUTF8N(out, bytes, &bytes, String->Buffer, String->Buffer ? String->Length : 0);
    out[bytes] = 0;
    return out;
}

uint32_t pk_fold_hash(PCWSTR s, size_t len)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < len; i++) {
        WCHAR c = s[i];
        c = c < 0x80 ? (c >= u'a' && c <= u'z' ? (WCHAR)(c - 32) : c) : RtlUpcaseUnicodeChar(c);
        h = (h ^ c) * 16777619u;
    }
    return h;
}
