/*
 * pk_test.h — what every pnpkit test file includes.
 *
 * A test file lists its tests with PK_TEST(name) inside PK_TEST_MAIN(...). CMake registers
 * each name as its own CTest test (layer.file.name) that runs the executable with the name as
 * argument, so every test runs in a fresh process with the verifier on (PNPKIT_VERIFIER=1).
 * PK_TEST wraps the test in a setup that clears captured verifier findings and a teardown that
 * shuts the runtime down and fails the test if any framework object is still alive.
 */
#ifndef PNPKIT_PK_TEST_H
#define PNPKIT_PK_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pnpkit.h>
#include <pthread.h>
#include <stdbool.h>

int pk_test_setup(void **state);
int pk_test_teardown(void **state);

#define PK_TEST(f) cmocka_unit_test_setup_teardown(f, pk_test_setup, pk_test_teardown)
#define PK_TEST_MAIN(...) \
    int main(int argc, char **argv) \
    { \
        const struct CMUnitTest pk_tests__[] = { __VA_ARGS__ }; \
        return pk_test_main(argc, argv, pk_tests__, sizeof(pk_tests__) / sizeof(pk_tests__[0])); \
    }
int pk_test_main(int argc, char **argv, const struct CMUnitTest *tests, size_t count);

/* ---- Verifier capture ----
 * After pk_test_capture_verifier(), stops and reports go to a recorder instead of aborting;
 * the API under test then behaves as outside verifier mode. */
void pk_test_capture_verifier(void);
int pk_test_verifier_stops(void);
int pk_test_verifier_reports(void);
/* True if some captured finding's API or message contains `text`. */
bool pk_test_verifier_saw(const char *text);

/* ---- Child processes ----
 * Runs fn(ctx) in a forked child with the verifier on and its stderr captured. Returns the
 * wait status; the captured stderr goes to out (NUL-terminated, truncated to size). Use it for
 * verifier stops, which abort the process. Call it before the test starts pnpkit threads. */
int pk_test_run_in_child(void (*fn)(void *), void *ctx, char *out, size_t size);
/* True if status is death by SIGABRT. */
bool pk_test_died_of_abort(int status);

/* ---- Threads ---- */
typedef struct pk_test_threads {
    pthread_t ids[64];
    int count;
} pk_test_threads;
void pk_test_threads_start(pk_test_threads *t, int count, void *(*fn)(void *), void *arg);
void pk_test_threads_join(pk_test_threads *t);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t pk_test_now_ms(void);
/* A relative Windows timeout of ms milliseconds. */
LARGE_INTEGER pk_test_timeout_ms(LONGLONG ms);
/* Waits for an event with a generous bound (10 s) and fails the test if it is not set. */
void pk_test_wait_event(PKEVENT event);
/* A deterministic per-test random number generator (xorshift). */
uint32_t pk_test_rand(uint32_t *state);

#endif /* PNPKIT_PK_TEST_H */
