/* fuzz_tar.c — libFuzzer target: the image container reader (gzip, tar,
 * old-GNU/GNU/pax sparse maps) through gm_image_open().
 *
 * The input is gzip-compressed here unless it already starts with the gzip
 * magic, so mutations reach the tar headers and sparse maps. Invariants
 * checked on every accepted input:
 *   - a failure gives one message line;
 *   - the disk has a sane size (absurd sizes must be refused, not
 *     extracted), a multiple of 512, and the cache file holds exactly it;
 *   - small disks round-trip: write-back to a new tar.gz and reopening it
 *     gives the same bytes (for one input in 8, chosen by a hash of the
 *     input so that a finding replays: write-back is slow). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "editor/container/image.h"
#include "tests/fuzz/fuzz_common.h"

#define FUZZ_TAR_MAX_DISK (1ULL << 47)   /* 128 TiB: over any Compute Engine disk */
#define FUZZ_TAR_ROUNDTRIP_MAX (1ULL << 20)

static void fuzz_tar_check_msg(const struct gm_error *err)
{
	const char *m = gm_error_msg(err);

	GM_FUZZ_ASSERT(m[0] != '\0');
	GM_FUZZ_ASSERT(strchr(m, '\n') == NULL);
}

static void fuzz_tar_roundtrip(struct gm_image *img, const char *out, const char *cache)
{
	struct gm_writeback_opts wo = { 0 };
	struct gm_image_opts io = { 0 };
	struct gm_error err = { 0 };
	struct gm_image *back = NULL;
	uint64_t size = gm_image_disk_size(img), off;
	static uint8_t a[65536], b[65536];

	unlink(out);
	wo.output = out;
	wo.format = GM_TAR_OLDGNU;
	wo.force = true;
	if (gm_image_writeback(img, &wo, &err) < 0) {
		fuzz_tar_check_msg(&err);
		return;
	}
	io.cache_dir = cache;
	io.read_only = true;
	io.recover = GM_RECOVER_DISCARD;
	if (gm_image_open(out, &io, &back, &err) < 0) {
		fprintf(stderr, "cannot reopen what write-back wrote: %s\n", gm_error_msg(&err));
		abort();
	}
	GM_FUZZ_ASSERT(gm_image_disk_size(back) == size);
	for (off = 0; off < size; off += sizeof(a)) {
		size_t len = size - off < sizeof(a) ? (size_t)(size - off) : sizeof(a);
		GM_FUZZ_ASSERT(pread(gm_image_fd(img), a, len, (off_t)off) == (ssize_t)len);
		GM_FUZZ_ASSERT(pread(gm_image_fd(back), b, len, (off_t)off) == (ssize_t)len);
		GM_FUZZ_ASSERT(memcmp(a, b, len) == 0);
	}
	gm_image_close(back);
}

static int fuzz_tar_one(const uint8_t *data, size_t n)
{
	char path[4200], cache[4200], out[4200];
	struct gm_image_opts io = { 0 };
	struct gm_error err = { 0 };
	struct gm_image *img = NULL;
	const struct gm_image_info *info;
	uint8_t *gz = NULL;
	size_t gzlen;
	struct stat st;
	uint64_t size;

	gm_fuzz_path(path, sizeof(path), "in.tar.gz");
	gm_fuzz_path(cache, sizeof(cache), "cache");
	gm_fuzz_path(out, sizeof(out), "out.tar.gz");
	if (n >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
		gm_fuzz_write_file(path, data, n);
	} else {
		gz = gm_fuzz_gzip(data, n, &gzlen);
		gm_fuzz_write_file(path, gz, gzlen);
		free(gz);
	}
	io.cache_dir = cache;
	io.recover = GM_RECOVER_DISCARD;
	if (gm_image_open(path, &io, &img, &err) < 0) {
		fuzz_tar_check_msg(&err);
		return 0;
	}
	info = gm_image_info(img);
	size = gm_image_disk_size(img);
	GM_FUZZ_ASSERT(info->disk_size == size);
	GM_FUZZ_ASSERT(size <= FUZZ_TAR_MAX_DISK);
	GM_FUZZ_ASSERT(size % 512 == 0);
	GM_FUZZ_ASSERT(info->disk_data_bytes <= size);
	GM_FUZZ_ASSERT(fstat(gm_image_fd(img), &st) == 0);
	GM_FUZZ_ASSERT((uint64_t)st.st_size == size);
	if (info->container == GM_CONTAINER_TARGZ && size <= FUZZ_TAR_ROUNDTRIP_MAX &&
	    crc32(0, data, (uInt)n) % 8 == 0)
		fuzz_tar_roundtrip(img, out, cache);
	gm_image_close(img);
	return 0;
}

GM_FUZZ_ENTRY(fuzz_tar_one)
