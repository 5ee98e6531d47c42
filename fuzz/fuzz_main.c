/*
 * fuzz_main.c — a plain-C driver for fuzz_decoder.c, so that the decoder is fuzzed on every
 * test run without libFuzzer: it runs the built-in seeds (one valid message of each type) and
 * the files given on the command line (files, or folders of files: fuzz/corpus), then mutates
 * them at random for --seconds (default 3). Each input is passed in a buffer of exactly its
 * size, so AddressSanitizer sees any read past it. On a crash the input is written to
 * ./fuzz-decoder-crash for replay (`fuzz_decoder_driver ./fuzz-decoder-crash`).
 *
 *   fuzz_decoder_driver [--seconds N] [--seed N] [FILE|DIR]...
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host/proto/pnph_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SEEDS 256
#define FUZZ_MAX_INPUT (PNPH_MAX_MESSAGE + 64)

static uint8_t *seeds[MAX_SEEDS];
static size_t seed_sizes[MAX_SEEDS];
static int n_seeds;

static const uint8_t *current;
static size_t current_size;

static void on_crash(int sig)
{
    int fd = open("fuzz-decoder-crash", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0 && current) {
        ssize_t w = write(fd, current, current_size);
        (void)w;
        close(fd);
    }
    static const char msg[] = "fuzz_decoder_driver: crash; input saved to ./fuzz-decoder-crash\n";
    ssize_t w = write(2, msg, sizeof(msg) - 1);
    (void)w;
    signal(sig, SIG_DFL);
    raise(sig);
}

static void add_seed(const void *p, size_t n)
{
    if (n_seeds == MAX_SEEDS || n > FUZZ_MAX_INPUT)
        return;
    seeds[n_seeds] = malloc(n ? n : 1);
    if (!seeds[n_seeds])
        return;
    memcpy(seeds[n_seeds], p, n);
    seed_sizes[n_seeds++] = n;
}

static void builtin_seeds(void)
{
    static uint8_t buf[4096];
    static const WCHAR link[] = u"\\\\?\\SWD#PKHOST#dev1#{6d1f3a20-4b7c-4e55-8a10-314253647586}\\ref";
    static const WCHAR list[] = u"\\\\?\\A#{6d1f3a20-4b7c-4e55-8a10-314253647586}\0\\\\?\\B#{6d1f3a20-4b7c-4e55-8a10-314253647586}\0";
    pnph_builder b;
    uint8_t event[64];

    pnph_begin(&b, buf, sizeof(buf), PNPH_HELLO, 1);
    pnph_put_u32(&b, 0); pnph_put_u32(&b, 0); pnph_put_u64(&b, 0); pnph_put_u64(&b, 0);
    add_seed(buf, pnph_finish(&b));
    pnph_begin(&b, buf, sizeof(buf), PNPH_HELLO | PNPH_REPLY, 1);
    pnph_put_u32(&b, 0); pnph_put_u32(&b, PNPH_MAX_PAYLOAD); pnph_put_u64(&b, 7); pnph_put_u64(&b, 9);
    add_seed(buf, pnph_finish(&b));
    pnph_begin(&b, buf, sizeof(buf), PNPH_LIST_INTERFACES, 2);
    pnph_put_bytes(&b, "0123456789abcdef", 16); pnph_put_u32(&b, 0); pnph_put_wstr(&b, u"SWD\\PKHOST\\dev1", 15);
    add_seed(buf, pnph_finish(&b));
    pnph_begin(&b, buf, sizeof(buf), PNPH_LIST_INTERFACES | PNPH_REPLY, 2);
    pnph_put_u32(&b, 0); pnph_put_wstr(&b, list, sizeof(list) / sizeof(WCHAR));
    add_seed(buf, pnph_finish(&b));
    pnph_begin(&b, buf, sizeof(buf), PNPH_CREATE, 3);
    pnph_put_u32(&b, 0xC0000000u); pnph_put_u32(&b, 3); pnph_put_u32(&b, 3); pnph_put_u32(&b, 0);
    pnph_put_wstr(&b, link, sizeof(link) / sizeof(WCHAR) - 1);
    add_seed(buf, pnph_finish(&b));
    pnph_begin(&b, buf, sizeof(buf), PNPH_IOCTL, 4);
    pnph_put_u64(&b, 1); pnph_put_u32(&b, 0x81232000); pnph_put_u32(&b, 8); pnph_put_u32(&b, 8); pnph_put_u32(&b, 0);
    pnph_put_bytes(&b, "abcdefgh", 8);
    add_seed(buf, pnph_finish(&b));
    pnph_begin(&b, buf, sizeof(buf), PNPH_IOCTL | PNPH_REPLY, 4);
    pnph_put_u32(&b, 0); pnph_put_u32(&b, 8); pnph_put_u32(&b, 8); pnph_put_u32(&b, 0); pnph_put_bytes(&b, "abcdefgh", 8);
    add_seed(buf, pnph_finish(&b));
    pnph_begin(&b, buf, sizeof(buf), PNPH_WRITE, 5);
    pnph_put_u64(&b, 1); pnph_put_u64(&b, 0); pnph_put_u32(&b, 4); pnph_put_u32(&b, 1); pnph_put_bytes(&b, "wxyz", 4);
    add_seed(buf, pnph_finish(&b));
    pnph_begin(&b, buf, sizeof(buf), PNPH_READ, 6);
    pnph_put_u64(&b, 1); pnph_put_u64(&b, 0); pnph_put_u32(&b, 64); pnph_put_u32(&b, 0);
    add_seed(buf, pnph_finish(&b));
    pnph_begin(&b, buf, sizeof(buf), PNPH_CANCEL, 7);
    pnph_put_u64(&b, 1); pnph_put_u32(&b, 4); pnph_put_u32(&b, 0);
    add_seed(buf, pnph_finish(&b));
    pnph_begin(&b, buf, sizeof(buf), PNPH_REGISTER, 8);
    pnph_put_u32(&b, 2); pnph_put_u32(&b, 0); pnph_put_u64(&b, 3); pnph_put_bytes(&b, "0123456789abcdef", 16);
    pnph_put_u64(&b, 0); pnph_put_wstr(&b, u"SWD\\PKHOST\\dev1", 15);
    add_seed(buf, pnph_finish(&b));
    pnph_begin(&b, buf, sizeof(buf), PNPH_REGISTER | PNPH_REPLY, 8);
    pnph_put_u32(&b, 0); pnph_put_u32(&b, 0); pnph_put_u64(&b, 3); pnph_put_wstr(&b, list, sizeof(list) / sizeof(WCHAR));
    add_seed(buf, pnph_finish(&b));
    pnph_begin(&b, buf, sizeof(buf), PNPH_DEVNODE, 9);
    pnph_put_u32(&b, PNPH_DN_QUERY_REMOVE); pnph_put_u32(&b, 2); pnph_put_u32(&b, 0); pnph_put_u32(&b, 64);
    add_seed(buf, pnph_finish(&b));
    pnph_begin(&b, buf, sizeof(buf), PNPH_DEVNODE | PNPH_REPLY, 9);
    pnph_put_u32(&b, 0x17); pnph_put_u32(&b, 3); pnph_put_u32(&b, 0); pnph_put_wstr(&b, u"application", 11);
    add_seed(buf, pnph_finish(&b));
    pnph_begin(&b, buf, sizeof(buf), PNPH_DEVNODE, 9);
    pnph_put_u32(&b, PNPH_DN_SURPRISE_REMOVE); pnph_put_u32(&b, 2); pnph_put_u32(&b, 0); pnph_put_u32(&b, 0);
    add_seed(buf, pnph_finish(&b));
    /* Revision 2: a custom event without text, one with a name inside its data, and the reply. */
    pnph_begin(&b, buf, sizeof(buf), PNPH_DEVICE_EVENT, 11);
    pnph_put_u32(&b, 2); pnph_put_u32(&b, 0xFFFFFFFFu); pnph_put_bytes(&b, "0123456789abcdef", 16);
    pnph_put_u32(&b, 4); pnph_put_bytes(&b, "\x01\x02\xa0\xff", 4);
    add_seed(buf, pnph_finish(&b));
    pnph_begin(&b, buf, sizeof(buf), PNPH_DEVICE_EVENT, 12);
    pnph_put_u32(&b, 2); pnph_put_u32(&b, 2); pnph_put_bytes(&b, "0123456789abcdef", 16);
    pnph_put_u32(&b, 8); pnph_put_bytes(&b, "\x01\x02n\0m\0\0\0", 8);
    add_seed(buf, pnph_finish(&b));
    pnph_begin(&b, buf, sizeof(buf), PNPH_DEVICE_EVENT | PNPH_REPLY, 11);
    pnph_put_u32(&b, 0); pnph_put_u32(&b, 0);
    add_seed(buf, pnph_finish(&b));
    pnph_begin(&b, buf, sizeof(buf), PNPH_HANDLES, 13);
    add_seed(buf, pnph_finish(&b));
    pnph_begin(&b, buf, sizeof(buf), PNPH_HANDLES | PNPH_REPLY, 13);
    pnph_put_u32(&b, 1); pnph_put_u32(&b, 0);
    pnph_put_u32(&b, 42); pnph_put_u32(&b, 0); pnph_put_u64(&b, 0x100000001ull); pnph_put_u32(&b, 3); pnph_put_u32(&b, 1);
    pnph_put_u64(&b, 10); pnph_put_u64(&b, 80); pnph_put_u64(&b, 80);
    pnph_put_wstr(&b, link, sizeof(link) / sizeof(WCHAR) - 1);
    add_seed(buf, pnph_finish(&b));
    pnph_begin(&b, buf, sizeof(buf), PNPH_LIST_INTERFACES, 14);
    pnph_put_bytes(&b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16); pnph_put_u32(&b, PNPH_LIST_ALL_CLASSES); pnph_put_u32(&b, 0);
    add_seed(buf, pnph_finish(&b));
    pnph_begin(&b, buf, sizeof(buf), PNPH_STATS | PNPH_REPLY, 10);
    pnph_put_u32(&b, 2); pnph_put_u32(&b, 1); pnph_put_u32(&b, 2);
    add_seed(buf, pnph_finish(&b));
    memset(event, 0, sizeof(event));
    event[0] = 1;                                     /* DEVICEHANDLE */
    pnph_st32(event + 24, 0xFFFFFFFFu);               /* NameOffset -1 */
    pnph_st32(event + 28, 4);                         /* DataSize */
    pnph_begin(&b, buf, sizeof(buf), PNPH_EVENT, 0);
    pnph_put_u64(&b, 3); pnph_put_u32(&b, 12); pnph_put_u32(&b, 6); pnph_put_u32(&b, 36); pnph_put_u32(&b, 0);
    pnph_put_bytes(&b, event, 36);
    add_seed(buf, pnph_finish(&b));
}

static void load_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        char child[1024];
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
            load_path(child);
        }
        if (d)
            closedir(d);
        return;
    }
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    static uint8_t buf[FUZZ_MAX_INPUT];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    add_seed(buf, n);
}

static uint64_t rng;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static void run_one(const uint8_t *p, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        abort();
    memcpy(copy, p, n);
    current = copy;
    current_size = n;
    LLVMFuzzerTestOneInput(copy, n);
    current = NULL;
    free(copy);
}

int main(int argc, char **argv)
{
    static const uint32_t interesting[] = { 0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, PNPH_MAX_IO,
                                            PNPH_MAX_PAYLOAD, PNPH_MAX_PAYLOAD + 1, 0x7fffffff, 0x80000000u,
                                            0xffffffffu, PNPH_MAGIC };
    static uint8_t buf[FUZZ_MAX_INPUT];
    double seconds = 3;
    uint64_t runs = 0;
    time_t start;

    rng = 0x9e3779b97f4a7c15ull;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            rng = strtoull(argv[++i], NULL, 0) | 1;
        else
            load_path(argv[i]);
    }
    signal(SIGSEGV, on_crash);
    signal(SIGABRT, on_crash);
    signal(SIGBUS, on_crash);
    builtin_seeds();
    for (int i = 0; i < n_seeds; i++) {
        run_one(seeds[i], seed_sizes[i]);
        runs++;
    }
    start = time(NULL);
    while (difftime(time(NULL), start) < seconds) {
        for (int k = 0; k < 1000; k++) {
            int s = (int)(rnd() % (uint32_t)n_seeds);
            size_t n = seed_sizes[s];
            memcpy(buf, seeds[s], n);
            int mutations = 1 + (int)(rnd() % 4);
            for (int m = 0; m < mutations; m++) {
                switch (rnd() % 6) {
                case 0: /* flip a bit */
                    if (n)
                        buf[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8));
                    break;
                case 1: /* a random byte */
                    if (n)
                        buf[rnd() % n] = (uint8_t)rnd();
                    break;
                case 2: /* truncate */
                    if (n)
                        n = rnd() % n;
                    break;
                case 3: /* extend with random bytes */ {
                    size_t add = rnd() % 64;
                    if (n + add <= sizeof(buf)) {
                        for (size_t i = 0; i < add; i++)
                            buf[n + i] = (uint8_t)rnd();
                        n += add;
                    }
                    break;
                }
                case 4: /* an interesting value in a 32-bit field */
                    if (n >= 4) {
                        size_t at = (rnd() % (n - 3)) & ~(size_t)3;
                        pnph_st32(buf + at, interesting[rnd() % (sizeof(interesting) / sizeof(interesting[0]))]);
                    }
                    break;
                default: /* make the header's length agree with the size, so the payload is parsed */
                    if (n >= PNPH_HEADER_SIZE)
                        pnph_st32(buf + 8, (uint32_t)(n - PNPH_HEADER_SIZE));
                    break;
                }
            }
            run_one(buf, n);
            runs++;
        }
    }
    printf("fuzz_decoder_driver: %llu inputs from %d seeds in %.0f s, no crash\n", (unsigned long long)runs, n_seeds,
           seconds);
    for (int i = 0; i < n_seeds; i++)
        free(seeds[i]);
    return 0;
}
