/* Tracing, allocation fault injection, pool allocation, shutdown. */
#include "pk_test.h"

#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int trace_level_of_child(const char *value)
{
    char arg0[] = "self", arg1[] = "--print-trace-level";
    char *argv[] = { arg0, arg1, NULL };
    char env_trace[64];
    char *envp[] = { env_trace, NULL };
    int fds[2], status;
    pid_t pid;
    posix_spawn_file_actions_t fa;
    char buf[16] = { 0 };

    snprintf(env_trace, sizeof(env_trace), "PNPKIT_TRACE=%s", value);
    assert_int_equal(pipe(fds), 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    assert_int_equal(posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, envp), 0);
    close(fds[1]);
    ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
    close(fds[0]);
    waitpid(pid, &status, 0);
    posix_spawn_file_actions_destroy(&fa);
    return n > 0 ? atoi(buf) : -1;
}

static void trace_level_comes_from_the_environment(void **state)
{
    assert_int_equal(trace_level_of_child("verbose"), PnpkitTraceVerbose);
    assert_int_equal(trace_level_of_child("error"), PnpkitTraceError);
    assert_int_equal(trace_level_of_child("3"), PnpkitTraceInfo);
    assert_int_equal(trace_level_of_child(""), PnpkitTraceNone);
}

static void create_and_delete_object(void *ctx)
{
    WDFOBJECT o;
    PnpkitTraceSetLevel((PNPKIT_TRACE_LEVEL)(intptr_t)ctx);
    WdfObjectCreate(NULL, &o);
    WdfObjectDelete(o);
}

static void trace_is_silent_when_off_and_writes_lines_when_on(void **state)
{
    char out[4096];
    pk_test_run_in_child(create_and_delete_object, (void *)(intptr_t)PnpkitTraceNone, out, sizeof(out));
    assert_string_equal(out, "");
    pk_test_run_in_child(create_and_delete_object, (void *)(intptr_t)PnpkitTraceVerbose, out, sizeof(out));
    assert_non_null(strstr(out, "pnpkit V"));
    assert_non_null(strstr(out, "CREATED -> DELETING"));
}

static void injected_allocation_failure_hits_exactly_the_nth_allocation(void **state)
{
    void *a, *b, *c;
    PnpkitSimFailAllocation(2);
    a = ExAllocatePool2(POOL_FLAG_NON_PAGED, 16, 'tseT');
    b = ExAllocatePool2(POOL_FLAG_NON_PAGED, 16, 'tseT');
    c = ExAllocatePool2(POOL_FLAG_NON_PAGED, 16, 'tseT');
    assert_non_null(a);
    assert_null(b);
    assert_non_null(c);
    ExFreePoolWithTag(a, 'tseT');
    ExFreePool(c);
    ExFreePool(NULL);
}

static void allocate_pool2_returns_zeroed_memory(void **state)
{
    unsigned char *p = ExAllocatePool2(POOL_FLAG_NON_PAGED, 256, 'tseT');
    for (int i = 0; i < 256; i++)
        assert_int_equal(p[i], 0);
    ExFreePool(p);
}

static void paged_allocation_at_dispatch_level_is_a_verifier_stop(void **state)
{
    KIRQL old;
    pk_test_capture_verifier();
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_null(ExAllocatePoolWithTag(PagedPool, 8, 'tseT'));
    assert_null(ExAllocatePool2(POOL_FLAG_PAGED, 8, 'tseT'));
    KeLowerIrql(old);
    assert_int_equal(pk_test_verifier_stops(), 2);
}

static void shutdown_from_dispatch_level_is_refused(void **state)
{
    KIRQL old;
    pk_test_capture_verifier();
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    PnpkitShutdown();
    KeLowerIrql(old);
    assert_int_equal(pk_test_verifier_stops(), 1);
}

PK_TEST_MAIN(
    PK_TEST(trace_level_comes_from_the_environment),
    PK_TEST(trace_is_silent_when_off_and_writes_lines_when_on),
    PK_TEST(injected_allocation_failure_hits_exactly_the_nth_allocation),
    PK_TEST(allocate_pool2_returns_zeroed_memory),
    PK_TEST(paged_allocation_at_dispatch_level_is_a_verifier_stop),
    PK_TEST(shutdown_from_dispatch_level_is_refused),
)
