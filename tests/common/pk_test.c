/*
 * pk_test.c — the test harness shared by every test executable (see pk_test.h).
 */
#include "pk_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct {
    pthread_mutex_t mutex;
    int stops, reports;
    char seen[64][256];
    int nseen;
} capture = { .mutex = PTHREAD_MUTEX_INITIALIZER };

static VOID capture_handler(PVOID context, PNPKIT_VERIFIER_SEVERITY severity, PCSTR api, PCSTR message)
{
    pthread_mutex_lock(&capture.mutex);
    if (severity == PnpkitVerifierStop)
        capture.stops++;
    else
        capture.reports++;
    if (capture.nseen < 64)
        snprintf(capture.seen[capture.nseen++], sizeof(capture.seen[0]), "%s: %s", api, message);
    pthread_mutex_unlock(&capture.mutex);
}

void pk_test_capture_verifier(void) { PnpkitVerifierSetHandler(capture_handler, NULL); }

int pk_test_verifier_stops(void)
{
    pthread_mutex_lock(&capture.mutex);
    int n = capture.stops;
    pthread_mutex_unlock(&capture.mutex);
    return n;
}

int pk_test_verifier_reports(void)
{
    pthread_mutex_lock(&capture.mutex);
    int n = capture.reports;
    pthread_mutex_unlock(&capture.mutex);
    return n;
}

bool pk_test_verifier_saw(const char *text)
{
    bool found = false;
    pthread_mutex_lock(&capture.mutex);
    for (int i = 0; i < capture.nseen && !found; i++)
        found = strstr(capture.seen[i], text) != NULL;
    pthread_mutex_unlock(&capture.mutex);
    return found;
}

int pk_test_setup(void **state)
{
    pthread_mutex_lock(&capture.mutex);
    capture.stops = capture.reports = capture.nseen = 0;
    pthread_mutex_unlock(&capture.mutex);
    PnpkitVerifierEnable(TRUE);
    return 0;
}

int pk_test_teardown(void **state)
{
    ULONG live;

    PnpkitShutdown();
    PnpkitVerifierSetHandler(NULL, NULL);
    live = PnpkitLiveObjectCount();
    if (live != 0) {
        fprintf(stderr, "teardown: %u framework objects still alive\n", live);
        return -1;
    }
    if (KeGetCurrentIrql() != PASSIVE_LEVEL) {
        fprintf(stderr, "teardown: test left the thread at IRQL %u\n", KeGetCurrentIrql());
        return -1;
    }
    return 0;
}

int pk_test_main(int argc, char **argv, const struct CMUnitTest *tests, size_t count)
{
    if (argc > 1 && strcmp(argv[1], "--print-trace-level") == 0) {
        printf("%d\n", (int)PnpkitTraceGetLevel());
        return 0;
    }
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return _cmocka_run_group_tests(argv[0], tests, count, NULL, NULL);
}

int pk_test_run_in_child(void (*fn)(void *), void *ctx, char *out, size_t size)
{
    int fds[2], status = 0;
    size_t used = 0;
    pid_t pid;

    if (pipe(fds) != 0)
        return -1;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        PnpkitVerifierSetHandler(NULL, NULL);
        PnpkitVerifierEnable(TRUE);
        fn(ctx);
        _exit(0);
    }
    close(fds[1]);
    for (;;) {
        ssize_t n = read(fds[0], out + used, size - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
        if (used == size - 1)
            break;
    }
    out[used] = 0;
    close(fds[0]);
    waitpid(pid, &status, 0);
    return status;
}

bool pk_test_died_of_abort(int status) { return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT; }

void pk_test_threads_start(pk_test_threads *t, int count, void *(*fn)(void *), void *arg)
{
    t->count = 0;
    for (int i = 0; i < count && i < 64; i++) {
        assert_int_equal(pthread_create(&t->ids[i], NULL, fn, arg), 0);
        t->count++;
    }
}

void pk_test_threads_join(pk_test_threads *t)
{
    for (int i = 0; i < t->count; i++)
        pthread_join(t->ids[i], NULL);
    t->count = 0;
}

uint64_t pk_test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

LARGE_INTEGER pk_test_timeout_ms(LONGLONG ms)
{
    LARGE_INTEGER t;
    t.QuadPart = -ms * 10000;
    return t;
}

void pk_test_wait_event(PKEVENT event)
{
    LARGE_INTEGER t = pk_test_timeout_ms(10000);
    assert_int_equal(KeWaitForSingleObject(event, Executive, KernelMode, FALSE, &t), STATUS_SUCCESS);
}

uint32_t pk_test_rand(uint32_t *state)
{
    uint32_t x = *state ? *state : 2463534242u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}
