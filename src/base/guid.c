/*
 * guid.c — GUIDs in the registry form {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}. No state.
 */
#include "base/base_internal.h"

#include <string.h>

static int hexval(unsigned c)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    if (c >= 'a' && c <= 'f')
        return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F')
        return (int)(c - 'A' + 10);
    return -1;
}

/* Parses 38 code units (any width) of the registry form. */
static bool parse_units(const void *text, size_t unit, size_t count, GUID *out)
{
    /* Offsets of the 16 bytes' high nibbles, after the opening brace. */
    static const unsigned char pos[16] = { 1, 3, 5, 7, 10, 12, 15, 17, 20, 22, 25, 27, 29, 31, 33, 35 };
    unsigned char bytes[16];
    unsigned c[38];

    if (count != 38)
        return false;
    for (size_t i = 0; i < 38; i++)
        c[i] = unit == 1 ? ((const unsigned char *)text)[i] : ((const char16_t *)text)[i];
    if (c[0] != '{' || c[37] != '}' || c[9] != '-' || c[14] != '-' || c[19] != '-' || c[24] != '-')
        return false;
    for (int i = 0; i < 16; i++) {
        int hi = hexval(c[pos[i]]), lo = hexval(c[pos[i] + 1]);
        if (hi < 0 || lo < 0)
            return false;
        bytes[i] = (unsigned char)(hi << 4 | lo);
    }
    out->Data1 = (ULONG)bytes[0] << 24 | (ULONG)bytes[1] << 16 | (ULONG)bytes[2] << 8 | bytes[3];
    out->Data2 = (USHORT)(bytes[4] << 8 | bytes[5]);
    out->Data3 = (USHORT)(bytes[6] << 8 | bytes[7]);
    memcpy(out->Data4, bytes + 8, 8);
    return true;
}

NTSTATUS PnpkitGuidParse(PCSTR Text, GUID *Guid)
{
    GUID g;
    if (!Text || !Guid || !parse_units(Text, 1, strlen(Text), &g))
        return STATUS_INVALID_PARAMETER;
    *Guid = g;
    return STATUS_SUCCESS;
}

NTSTATUS RtlGUIDFromString(PCUNICODE_STRING GuidString, GUID *Guid)
{
    GUID g;
    if (!GuidString || !GuidString->Buffer || !Guid ||
        !parse_units(GuidString->Buffer, 2, GuidString->Length / sizeof(WCHAR), &g))
        return STATUS_INVALID_PARAMETER;
    *Guid = g;
    return STATUS_SUCCESS;
}

NTSTATUS PnpkitGuidFormat(const GUID *Guid, char *Buffer, SIZE_T BufferSize, ULONG Flags)
{
    static const char hex_lower[] = "0123456789abcdef", hex_upper[] = "0123456789ABCDEF";
    const char *hex = (Flags & PNPKIT_GUID_FORMAT_UPPERCASE) ? hex_upper : hex_lower;
    unsigned char bytes[16];
    char *p = Buffer;
    if (!Guid || !Buffer || (Flags & ~(ULONG)PNPKIT_GUID_FORMAT_UPPERCASE))
        return STATUS_INVALID_PARAMETER;
    if (BufferSize < PNPKIT_GUID_STRING_CHARS)
        return STATUS_BUFFER_TOO_SMALL;
    bytes[0] = (unsigned char)(Guid->Data1 >> 24);
    bytes[1] = (unsigned char)(Guid->Data1 >> 16);
    bytes[2] = (unsigned char)(Guid->Data1 >> 8);
    bytes[3] = (unsigned char)Guid->Data1;
    bytes[4] = (unsigned char)(Guid->Data2 >> 8);
    bytes[5] = (unsigned char)Guid->Data2;
    bytes[6] = (unsigned char)(Guid->Data3 >> 8);
    bytes[7] = (unsigned char)Guid->Data3;
    memcpy(bytes + 8, Guid->Data4, 8);
    *p++ = '{';
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[bytes[i] >> 4];
        *p++ = hex[bytes[i] & 15];
    }
    *p++ = '}';
    *p = 0;
    return STATUS_SUCCESS;
}

NTSTATUS RtlStringFromGUID(REFGUID Guid, PUNICODE_STRING GuidString)
{
    char text[PNPKIT_GUID_STRING_CHARS];
    PWSTR buf;

    if (!Guid || !GuidString)
        return STATUS_INVALID_PARAMETER;
    PnpkitGuidFormat(Guid, text, sizeof(text), PNPKIT_GUID_FORMAT_UPPERCASE);
    buf = pk_alloc(PNPKIT_GUID_STRING_CHARS * sizeof(WCHAR));
    if (!buf)
        return STATUS_INSUFFICIENT_RESOURCES;
    for (int i = 0; i < PNPKIT_GUID_STRING_CHARS; i++)
        buf[i] = (WCHAR)(unsigned char)text[i];
    GuidString->Buffer = buf;
    GuidString->Length = (PNPKIT_GUID_STRING_CHARS - 1) * sizeof(WCHAR);
    GuidString->MaximumLength = PNPKIT_GUID_STRING_CHARS * sizeof(WCHAR);
    return STATUS_SUCCESS;
}
