/*
 * pk_testdrv.h — a plain WDM function driver for tests of the PnP and io layers, and an event
 * log that tests read to check exact sequences.
 *
 * The driver: AddDevice creates an FDO, attaches it, and registers one interface of
 * PK_TEST_GUID with the reference string of its configuration; IRP_MN_START_DEVICE goes down
 * first, then the interface is enabled (inside start, as WDF does); QUERY_REMOVE can veto;
 * SURPRISE_REMOVAL and REMOVE_DEVICE disable the interface; REMOVE_DEVICE detaches and deletes
 * the FDO. Creates record their file name; IOCTLs echo their input.
 */
#ifndef PNPKIT_PK_TESTDRV_H
#define PNPKIT_PK_TESTDRV_H

#include "pk_test.h"

DEFINE_GUID(PK_TEST_GUID, 0x1c8a7d3e, 0x55aa, 0x4e21, 0x9b, 0x3c, 0x10, 0x22, 0x33, 0x44, 0x55, 0x66);
DEFINE_GUID(PK_OTHER_GUID, 0x2d9b8e4f, 0x66bb, 0x4f32, 0xac, 0x4d, 0x21, 0x33, 0x44, 0x55, 0x66, 0x77);
DEFINE_GUID(PK_CUSTOM_EVENT_GUID, 0x3eac9f50, 0x77cc, 0x4043, 0xbd, 0x5e, 0x32, 0x44, 0x55, 0x66, 0x77, 0x88);

typedef struct pk_testdrv_config {
    PCWSTR ref_string;          /* NULL: none */
    bool veto_query_remove;     /* fail IRP_MN_QUERY_REMOVE_DEVICE */
    bool fail_start;            /* fail IRP_MN_START_DEVICE after the lower device started */
    bool no_interface;
    NTSTATUS create_status;     /* what creates complete with (default STATUS_SUCCESS) */
    bool open_during_start;     /* inside IRP_MN_START_DEVICE, open the PDO and log the status */
    bool report_in_surprise;    /* report a PK_CUSTOM_EVENT_GUID event from IRP_MN_SURPRISE_REMOVAL;
                                 * its completion callback logs "report-callback" */
} pk_testdrv_config;

/* The configuration every device of the test driver uses (tests change it between devices). */
extern pk_testdrv_config pk_testdrv;
/* The PDO and the interface link (kernel form) of the device created last. */
extern PDEVICE_OBJECT pk_testdrv_last_pdo;
extern UNICODE_STRING pk_testdrv_last_link;
/* Counted inside IRP_MN_START_DEVICE right after the enable: how many PK_TEST_GUID interfaces
 * IoGetDeviceInterfaces listed at that moment (P1: an enable during start is not yet visible). */
extern volatile LONG pk_testdrv_listed_during_start;

/* Registers the test driver for hardware id u"PK\\TESTDEV". Returns the status. */
NTSTATUS pk_testdrv_register(void);

/* Creates a software device SWD\PK\<name> with hardware id PK\TESTDEV under the root and waits
 * until its create callback ran. Returns the HSWDEVICE and (optionally) the DEVINST. */
HSWDEVICE pk_testdrv_create_device(PCWSTR name, DEVINST *devinst);
/* The name the next device's FDO uses in the log (pk_testdrv_create_device sets it itself). */
void pk_testdrv_set_next_name(const char *name);
/* SwDeviceClose and wait until the PnP worker is idle. */
void pk_testdrv_close_device(HSWDEVICE h);

/* ---- Event log ---- */
void pk_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pk_log_clear(void);
int pk_log_count(void);
const char *pk_log_at(int i);
/* Index of the first entry equal to text at or after `from`, or -1. */
int pk_log_find(const char *text, int from);
/* Fails the test unless the entries equal `expected` (NULL-terminated), in order. */
void pk_log_expect(const char *const *expected);
void pk_log_dump(void);

#endif
