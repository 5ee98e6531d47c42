/*
 * base_internal.h — what the base layer offers the rest of pnpkit and nothing outside it.
 * Public code never includes this file.
 *
 * Naming: pk_<thing>_<verb>. Functions ending in _locked expect the caller to hold the lock
 * named in their comment.
 */
#ifndef PNPKIT_BASE_INTERNAL_H
#define PNPKIT_BASE_INTERNAL_H

#include <pnpkit/wdm.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#define pk_likely(x) __builtin_expect(!!(x), 1)
#define pk_unlikely(x) __builtin_expect(!!(x), 0)
#define PK_UNUSED __attribute__((unused))
#define PK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define PK_NORETURN __attribute__((noreturn))

/* ALWAYS/NEVER: conditions that must hold; they stay in release builds (SQLite's habit). A
 * failure is an internal bug: it is reported through the verifier as a stop. */
#define PK_ALWAYS(x) (pk_likely(x) ? 1 : (pk_internal_bug(#x, __FILE__, __LINE__), 0))
#define PK_NEVER(x) (pk_unlikely(x) ? (pk_internal_bug("!(" #x ")", __FILE__, __LINE__), 1) : 0)
void pk_internal_bug(const char *what, const char *file, int line);

/* ---- Atomics (thin names over the builtins) ---- */
#define pk_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define pk_load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define pk_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define pk_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define pk_fetch_add(p, v) __atomic_fetch_add((p), (v), __ATOMIC_ACQ_REL)
#define pk_fetch_sub(p, v) __atomic_fetch_sub((p), (v), __ATOMIC_ACQ_REL)
#define pk_cas(p, expected_ptr, desired) \
    __atomic_compare_exchange_n((p), (expected_ptr), (desired), 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)

static inline void pk_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* ---- Reference counts ----
 * pk_ref_get_unless_zero is the lookup primitive: a lookup that races with the final release
 * either gets a reference before the count reached zero, or fails. */
static inline bool pk_ref_get_unless_zero(uint32_t *count)
{
    uint32_t c = pk_load_relaxed(count);
    do {
        if (c == 0)
            return false;
    } while (!pk_cas(count, &c, c + 1));
    return true;
}
/* Returns true when this call released the last reference. */
static inline bool pk_ref_put(uint32_t *count) { return pk_fetch_sub(count, 1) == 1; }

/* ---- Futex ---- */
void pk_futex_wait(volatile void *addr, int32_t expected);
/* Waits until *addr changes from expected or the monotonic deadline (ns) passes. Returns false
 * on timeout. */
bool pk_futex_wait_until(volatile void *addr, int32_t expected, uint64_t deadline_ns);
void pk_futex_wake(volatile void *addr, int count);

/* ---- Clocks ---- */
uint64_t pk_now_ns(void); /* CLOCK_MONOTONIC */
/* Converts a Windows timeout (relative if < 0, absolute system time if > 0, 100-ns units) to a
 * monotonic deadline in ns. */
uint64_t pk_deadline_from_timeout(LONGLONG timeout);

/* ---- Spin tuning ---- */
extern ULONG pk_spin_before_wait;

/* ---- Internal lock: a futex mutex that spins briefly, then sleeps. Touches no IRQL. ----
 * Used for pnpkit's own data structures. Never held across a call into driver or client code. */
typedef struct pk_lock {
    int32_t word; /* 0 free, 1 held, 2 held with sleepers */
} pk_lock;
#define PK_LOCK_INIT { 0 }
static inline void pk_lock_init(pk_lock *l) { l->word = 0; }
void pk_lock_acquire_slow(pk_lock *l);
static inline void pk_lock_acquire(pk_lock *l)
{
    int32_t expected = 0;
    if (pk_likely(__atomic_compare_exchange_n(&l->word, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)))
        return;
    pk_lock_acquire_slow(l);
}
static inline bool pk_lock_try(pk_lock *l)
{
    int32_t expected = 0;
    return __atomic_compare_exchange_n(&l->word, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}
static inline void pk_lock_release(pk_lock *l)
{
    if (pk_unlikely(__atomic_exchange_n(&l->word, 0, __ATOMIC_RELEASE) == 2))
        pk_futex_wake(&l->word, 1);
}
static inline bool pk_lock_is_held(const pk_lock *l) { return pk_load_relaxed(&l->word) != 0; }

/* ---- IRQL ---- */
extern __thread KIRQL pk_tls_irql;
static inline KIRQL pk_irql(void) { return pk_tls_irql; }
/* Reports a call of Api above MaxIrql (a verifier stop when the verifier is on). Returns false
 * so that callers can write `if (!pk_irql_ok(...)) return STATUS_INVALID_DEVICE_REQUEST;`. */
bool pk_irql_violation(const char *api, KIRQL max_irql);
static inline bool pk_irql_ok(const char *api, KIRQL max_irql)
{
    return pk_likely(pk_tls_irql <= max_irql) || pk_irql_violation(api, max_irql);
}
/* Raise/lower without verification, for pnpkit's own use around callbacks. */
static inline KIRQL pk_irql_raise(KIRQL to)
{
    KIRQL old = pk_tls_irql;
    pk_tls_irql = to;
    return old;
}
static inline void pk_irql_restore(KIRQL old) { pk_tls_irql = old; }

/* ---- Verifier ---- */
extern int pk_verifier_enabled; /* read on hot paths; written by PnpkitVerifierEnable */
static inline bool pk_verifier_on(void) { return pk_load_relaxed(&pk_verifier_enabled) != 0; }
/* A stop: with the verifier on and no handler, prints and aborts. Otherwise (handler, or the
 * verifier off) it returns, and the caller goes on with its documented non-verifier behaviour.
 * Stops are printed even with the verifier off, as reports. */
void pk_verifier_stop(const char *api, const char *fmt, ...) PK_PRINTF(2, 3);
/* A report: printed (or handed to the handler) and counted; never aborts. Printed only with the
 * verifier on. */
void pk_verifier_report(const char *api, const char *fmt, ...) PK_PRINTF(2, 3);

/* ---- Tracing ---- */
extern int pk_trace_level;
void pk_trace_emit(int level, const char *layer, const char *fmt, ...) PK_PRINTF(3, 4);
#define PK_TRACE(level, layer, ...) \
    do { \
        if (pk_unlikely(pk_load_relaxed(&pk_trace_level) >= (level))) \
            pk_trace_emit((level), (layer), __VA_ARGS__); \
    } while (0)

/* ---- Case-insensitive hashing (ustring.c) ---- */
/* FNV-1a over the upper-cased characters (RtlUpcaseUnicodeChar): strings equal under
 * RtlEqualUnicodeString(..., TRUE) hash alike. For the tables of names and links. */
uint32_t pk_fold_hash(PCWSTR s, size_t len);

/* ---- Allocation (honours PnpkitSimFailAllocation) ---- */
void *pk_alloc(size_t size);
void *pk_zalloc(size_t size);
void *pk_realloc(void *p, size_t size);
void pk_free(void *p);
char16_t *pk_wcsdup(PCWSTR s);

/* ---- Runtime shutdown hooks ----
 * A facility of a later layer that runs threads of its own (the PnP worker, ...) registers a
 * hook once, when it starts; PnpkitShutdown runs the hooks, newest first, before it stops the
 * timer thread and the thread pool. A hook may be registered again after it ran. */
typedef struct pk_shutdown_hook {
    void (*fn)(void);
    struct pk_shutdown_hook *next;
    bool registered;
} pk_shutdown_hook;
void pk_runtime_add_shutdown_hook(pk_shutdown_hook *hook);

/* ---- Thread pool ----
 * pk_work_queue: the internal form of ExQueueWorkItem (no IRQL check). The pool grows when
 * every worker is busy, so work items that block on each other do not starve. */
void pk_work_queue(PWORK_QUEUE_ITEM item);
bool pk_thread_is_pool_worker(void);
void pk_threadpool_shutdown(void);

/* ---- Timers ----
 * The engine behind KTIMER, EX_TIMER and (later) WDFTIMER. A pk_timer is owned by its creator;
 * it must be disarmed with pk_timer_cancel(t, true) (or be known idle) before its memory goes. */
typedef void pk_timer_fn(void *context);
typedef struct pk_timer {
    uint64_t due_ns;            /* protected by the engine lock */
    uint64_t period_ns;         /* 0: one shot */
    pk_timer_fn *fn;
    void *context;
    int32_t heap_index;         /* -1 when not armed; engine lock */
    uint32_t running;           /* callbacks of this timer now running; engine lock */
    uint64_t fire_seq;          /* callbacks started; engine lock */
    bool passive;               /* run the callback on the thread pool at PASSIVE_LEVEL */
    WORK_QUEUE_ITEM work;       /* for passive callbacks */
} pk_timer;
void pk_timer_init(pk_timer *t, pk_timer_fn *fn, void *context, bool passive);
/* Arms t to fire at deadline_ns (monotonic), then every period_ns if nonzero. Returns true if
 * it was armed already. */
bool pk_timer_set(pk_timer *t, uint64_t deadline_ns, uint64_t period_ns);
/* Disarms; returns true if it was armed. With wait, also waits for a callback of t that is
 * running (unless called from that very callback). */
bool pk_timer_cancel(pk_timer *t, bool wait);
bool pk_timer_is_armed(pk_timer *t);
bool pk_thread_is_timer_thread(void);
/* Waits until every callback running now has returned. */
void pk_timer_flush(void);
void pk_timer_shutdown(void);

#endif /* PNPKIT_BASE_INTERNAL_H */
