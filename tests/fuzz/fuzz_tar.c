/* fuzz_tar.c — libFuzzer target: the image container reader (gzip, tar,
 * old-GNU/GNU/pax sparse maps).
 *
 * Every input goes through gm_tar_extract() — the code every open of a
 * tar.gz runs (ISA-L in its own thread, libarchive, the sparse map, the
 * watermark events, kept members, srcmap, access points) — with the gzip
 * file and the cache disk in memory (memfd) and the cache directory on the
 * fuzzer's temp dir, so a run costs what the reading costs. One input in 64
 * (by a hash of it, so a finding replays) goes the whole way instead:
 * gm_image_open() in a real cache, a write-back to a new tar.gz, and a
 * reopen that must give the same bytes.
 *
 * The input is gzip-compressed here unless it already starts with the gzip
 * magic, so mutations reach the tar headers and sparse maps. Invariants on
 * every input:
 *   - a failure gives one message line;
 *   - an accepted disk has a sane size (absurd sizes refused, not
 *     extracted), a multiple of 512, the cache disk holds exactly it, the
 *     data counted does not exceed it, the watermark events never go back
 *     and end at the disk's size;
 *   - the whole way: write-back and reopen give the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "editor/container/cache.h"
#include "editor/container/image.h"
#include "editor/container/tar_read.h"
#include "tests/fuzz/fuzz_common.h"

#define FUZZ_TAR_MAX_DISK (1ULL << 47)   /* 128 TiB: over any Compute Engine disk */
#define FUZZ_TAR_ROUNDTRIP_MAX (1ULL << 20)
/* A few bytes of deflate can stand for many megabytes of zeros, and
 * inflating them is all such an input would test: the reading stops there
 * (gm_tar_read_args.max_stream). */
#define FUZZ_TAR_MAX_STREAM (1u << 20)

static void fuzz_tar_check_msg(const struct gm_error *err)
{
	const char *m = gm_error_msg(err);

	GM_FUZZ_ASSERT(m[0] != '\0');
	GM_FUZZ_ASSERT(strchr(m, '\n') == NULL);
}

/* The watermark events of one extraction. */
struct fuzz_tar_events {
	bool ready;
	uint64_t size, avail;
};

static void fuzz_tar_ready(void *priv, const struct gm_image_info *info, const struct gm_rangeset *map)
{
	struct fuzz_tar_events *e = priv;

	GM_FUZZ_ASSERT(!e->ready);
	e->ready = true;
	e->size = info->disk_size;
	for (size_t i = 0; i < map->n; i++)
		GM_FUZZ_ASSERT(map->r[i].off + map->r[i].len <= info->disk_size);
}

static void fuzz_tar_avail(void *priv, uint64_t below)
{
	struct fuzz_tar_events *e = priv;

	GM_FUZZ_ASSERT(e->ready && below >= e->avail && below <= e->size);
	e->avail = below;
}

static int fuzz_tar_memfd(const char *name, const void *data, size_t n)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	const uint8_t *p = data;

	GM_FUZZ_ASSERT(fd >= 0);
	while (n) {
		ssize_t w = write(fd, p, n);

		GM_FUZZ_ASSERT(w > 0);
		p += w;
		n -= (size_t)w;
	}
	return fd;
}

/* The whole way: open in a real cache, write back, reopen, compare. */
static void fuzz_tar_roundtrip(const char *path)
{
	char cache[4200], out[4200];
	struct gm_writeback_opts wo = { 0 };
	struct gm_image_opts io = { 0 };
	struct gm_error err = { 0 };
	struct gm_image *img = NULL, *back = NULL;
	uint64_t size, off;
	struct stat st;
	static uint8_t a[65536], b[65536];

	gm_fuzz_path(cache, sizeof(cache), "cache");
	gm_fuzz_path(out, sizeof(out), "out.tar.gz");
	io.cache_dir = cache;
	io.recover = GM_RECOVER_DISCARD;
	if (gm_image_open(path, &io, &img, &err) < 0) {
		fuzz_tar_check_msg(&err);
		return;
	}
	size = gm_image_disk_size(img);
	GM_FUZZ_ASSERT(fstat(gm_image_fd(img), &st) == 0 && (uint64_t)st.st_size == size);
	if (gm_image_info(img)->container != GM_CONTAINER_TARGZ || size > FUZZ_TAR_ROUNDTRIP_MAX) {
		gm_image_close(img);
		return;
	}
	unlink(out);
	wo.output = out;
	wo.format = GM_TAR_OLDGNU;
	wo.force = true;
	if (gm_image_writeback(img, &wo, &err) < 0) {
		fuzz_tar_check_msg(&err);
		gm_image_close(img);
		return;
	}
	io.read_only = true;
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
	gm_image_close(img);
}

static int fuzz_tar_one(const uint8_t *data, size_t n)
{
	char dir[4200], path[4200];
	struct fuzz_tar_events ev = { 0 };
	struct gm_tar_read_args a = { .image = "in.tar.gz", .disk_ready = fuzz_tar_ready,
				      .disk_avail = fuzz_tar_avail, .event_priv = &ev,
				      .max_stream = FUZZ_TAR_MAX_STREAM };
	struct gm_image_info info = { 0 };
	struct gm_members ms = { 0 };
	struct gm_error err = { 0 };
	const uint8_t *gz = data;
	uint8_t *own = NULL;
	size_t gzlen = n;
	struct stat st;
	int rc;

	gm_cache_test_no_fsync();   /* the cache dies with the process */
	if (!(n >= 2 && data[0] == 0x1f && data[1] == 0x8b))
		gz = own = gm_fuzz_gzip(data, n, &gzlen);
	gm_fuzz_path(dir, sizeof(dir), "reader");
	mkdir(dir, 0700);
	a.cache_dir = dir;
	a.image_fd = fuzz_tar_memfd("in", gz, gzlen);
	a.disk_fd = fuzz_tar_memfd("disk", NULL, 0);
	rc = gm_tar_extract(&a, &ms, &info, &err);
	if (rc < 0) {
		fuzz_tar_check_msg(&err);
	} else {
		GM_FUZZ_ASSERT(ev.ready && ev.size == info.disk_size && ev.avail == info.disk_size);
		GM_FUZZ_ASSERT(info.disk_size <= FUZZ_TAR_MAX_DISK);
		GM_FUZZ_ASSERT(info.disk_size % 512 == 0);
		GM_FUZZ_ASSERT(info.disk_data_bytes <= info.disk_size);
		GM_FUZZ_ASSERT(fstat(a.disk_fd, &st) == 0);
		GM_FUZZ_ASSERT((uint64_t)st.st_size == info.disk_size);
		GM_FUZZ_ASSERT(info.members == ms.n && ms.n >= 1);
	}
	gm_members_free(&ms);
	close(a.disk_fd);
	close(a.image_fd);
	if (rc == 0 && crc32(0, data, (uInt)n) % 64 == 0) {
		gm_fuzz_path(path, sizeof(path), "in.tar.gz");
		gm_fuzz_write_file(path, gz, gzlen);
		fuzz_tar_roundtrip(path);
	}
	free(own);
	return 0;
}

GM_FUZZ_ENTRY(fuzz_tar_one)
