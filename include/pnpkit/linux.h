/*
 * <pnpkit/linux.h> — the Linux backend: device nodes of a directory (such as /dev/input) become
 * PnP devices with a device interface, opened, read, written and controlled through IRPs that
 * the backend's driver turns into open, read, write and ioctl on the node. A node that appears
 * is a device arrival; a node that vanishes is a surprise removal (Linux has no query-remove).
 *
 * Each device: instance id LINUX\<directory tag>\<node name>, hardware id PNPKIT\LINUXNODE, one
 * interface of the class the map gives for its name (no reference string). Reads, writes and
 * IOCTLs run on the thread pool and complete asynchronously; they can be cancelled.
 * DesiredAccess maps to O_RDONLY, O_WRONLY or O_RDWR. An IOCTL's code is passed to ioctl(2) as
 * the request number with the input/output buffer as argument.
 */
#ifndef PNPKIT_LINUX_H
#define PNPKIT_LINUX_H

#include <pnpkit/wdm.h>

PNPKIT_BEGIN_DECLS

typedef struct _PNPKIT_LINUX_CLASS_MAP {
    PCSTR Pattern;                 /* fnmatch(3) pattern on the node's name, e.g. "event*" */
    const GUID *InterfaceClassGuid;
} PNPKIT_LINUX_CLASS_MAP, *PPNPKIT_LINUX_CLASS_MAP;

typedef struct PNPKIT_LINUX_WATCH__ *PNPKIT_LINUX_WATCH;

/* Watches Directory: every entry whose name matches a pattern of Map (first match wins) becomes
 * a device now, and entries created later arrive, entries deleted later are surprise-removed.
 * Map and its GUIDs are copied. The watch ends with PnpkitLinuxUnwatch, which surprise-removes
 * its devices. STATUS_INVALID_PARAMETER: NULL or empty arguments, a directory that cannot be
 * watched. STATUS_INSUFFICIENT_RESOURCES. PASSIVE_LEVEL. */
PNPKIT_API NTSTATUS PnpkitLinuxWatchDirectory(PCSTR Directory, const PNPKIT_LINUX_CLASS_MAP *Map, ULONG MapCount,
                                              PNPKIT_LINUX_WATCH *Watch);
/* Ends the watch and surprise-removes its devices; returns after the watcher thread has stopped.
 * PASSIVE_LEVEL. */
PNPKIT_API VOID PnpkitLinuxUnwatch(PNPKIT_LINUX_WATCH Watch);

PNPKIT_END_DECLS

#endif /* PNPKIT_LINUX_H */
