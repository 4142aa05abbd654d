/* fuzz_common.h — helpers shared by the libFuzzer targets (tests/fuzz/fuzz_*.c)
 * and by tests/test_fuzz_regressions.c, which includes the targets with
 * GM_FUZZ_NO_MAIN defined to replay saved inputs without libFuzzer.
 *
 * A target defines `static int fuzz_<name>_one(const uint8_t *data, size_t n)`
 * (0 always; a bug shows as a crash, a sanitizer report or an abort) and then
 * GM_FUZZ_ENTRY(fuzz_<name>_one).
 */
#ifndef GM_FUZZ_COMMON_H
#define GM_FUZZ_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#ifndef GM_FUZZ_NO_MAIN
#define GM_FUZZ_ENTRY(fn) \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n); \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) { return fn(data, n); }
#else
#define GM_FUZZ_ENTRY(fn)
#endif

/* Aborts with a message: a broken invariant is a finding. */
#define GM_FUZZ_ASSERT(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

static char gm_fuzz_dir_path[4096];

static int gm_fuzz_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	remove(path);
	return 0;
}

static void gm_fuzz_cleanup(void)
{
	if (gm_fuzz_dir_path[0])
		nftw(gm_fuzz_dir_path, gm_fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* One private temp directory per process, removed at exit. */
static __attribute__((unused)) const char *gm_fuzz_dir(void)
{
	if (!gm_fuzz_dir_path[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(gm_fuzz_dir_path, sizeof(gm_fuzz_dir_path), "%s/gm-fuzz.XXXXXX",
			 t && *t ? t : "/tmp");
		if (!mkdtemp(gm_fuzz_dir_path)) {
			perror("mkdtemp");
			abort();
		}
		atexit(gm_fuzz_cleanup);
	}
	return gm_fuzz_dir_path;
}

/* path = <dir>/name */
static __attribute__((unused)) void gm_fuzz_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", gm_fuzz_dir(), name);
}

static __attribute__((unused)) void gm_fuzz_write_file(const char *path, const void *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const uint8_t *p = data;

	if (fd < 0) {
		perror(path);
		abort();
	}
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0) {
			perror("write");
			abort();
		}
		p += w;
		n -= (size_t)w;
	}
	close(fd);
}

/* gzip-compresses data (so the fuzzer can mutate the tar, not the deflate
 * stream). Returns a malloc'd buffer, length in *out_len. */
static __attribute__((unused)) uint8_t *gm_fuzz_gzip(const uint8_t *data, size_t n, size_t *out_len)
{
	z_stream z;
	uLong bound;
	uint8_t *out;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	bound = deflateBound(&z, (uLong)n) + 64;
	out = malloc(bound);
	if (!out)
		abort();
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)bound;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		abort();
	*out_len = z.total_out;
	deflateEnd(&z);
	return out;
}

#endif
