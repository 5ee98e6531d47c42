/*
 * consumer.c — the smallest program built against an installed pnpkit: it checks that the
 * headers and `pkg-config --cflags --libs pnpkit` are enough. The install test compiles and
 * runs it.
 */
#include <pnpkit.h>
#include <stdio.h>

DEFINE_GUID(CONSUMER_GUID, 0x12345678, 0x9abc, 0xdef0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88);

int main(void)
{
    char text[PNPKIT_GUID_STRING_CHARS];
    WDFOBJECT object;

    if (!NT_SUCCESS(PnpkitGuidFormat(&CONSUMER_GUID, text, sizeof(text), 0)))
        return 1;
    if (!NT_SUCCESS(WdfObjectCreate(WDF_NO_OBJECT_ATTRIBUTES, &object)))
        return 1;
    WdfObjectDelete(object);
    printf("consumer: %s %s, live objects %u\n", text, PnpkitStatusName(STATUS_PENDING), PnpkitLiveObjectCount());
    return PnpkitLiveObjectCount() == 0 ? 0 : 1;
}
