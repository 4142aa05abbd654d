/* fuzz_gzindex.c — libFuzzer target: the splice's saved maps and the block
 * index builder.
 *   - the input as <cache>/gzindex and as <cache>/srcmap: gm_gzindex_load()
 *     and gm_srcmap_load() accept it or refuse it (-EINVAL), never crash;
 *     what they accept is ordered and inside its own bounds;
 *   - the input as <cache>/gzpoints: gm_gzpoints_load() accepts it or
 *     refuses it, never crashes, and windows read within the file;
 *   - the input as a gzip file (gzip-compressed here unless it starts with
 *     the magic, in two members for one input in four): gm_gzindex_build()
 *     either refuses it or gives points whose CRCs and offsets match what
 *     zlib inflates; the ISA-L pass's access points (gm_inflate_set_points)
 *     and the boundaries gm_gzlocate() finds from them match it too (CRCs,
 *     offsets, windows). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "editor/container/gzip_index.h"
#include "editor/container/gzlocate.h"
#include "editor/container/gzpoints.h"
#include "editor/container/inflate.h"
#include "editor/container/srcmap.h"
#include "tests/fuzz/fuzz_common.h"

/* The whole uncompressed stream of a gzip file (members in turn), or NULL. */
static uint8_t *fuzz_gzindex_inflate(const uint8_t *in, size_t n, size_t *out_n)
{
	size_t cap = 1 << 16, len = 0;
	uint8_t *out = malloc(cap);
	z_stream zs = { 0 };
	int zr = Z_OK;

	if (!out || inflateInit2(&zs, 31) != Z_OK) {
		free(out);
		return NULL;
	}
	zs.next_in = (uint8_t *)in;
	zs.avail_in = (uInt)n;
	while (zs.avail_in || zr != Z_STREAM_END) {
		if (zr == Z_STREAM_END && inflateReset(&zs) != Z_OK)
			break;
		if (len == cap) {
			uint8_t *o = cap < (64u << 20) ? realloc(out, cap * 2) : NULL;

			if (!o)
				break;
			out = o;
			cap *= 2;
		}
		zs.next_out = out + len;
		zs.avail_out = (uInt)(cap - len);
		zr = inflate(&zs, Z_NO_FLUSH);
		len = cap - zs.avail_out;
		if (zr != Z_OK && zr != Z_STREAM_END)
			break;
		if (zr == Z_OK && !zs.avail_in)
			break;   /* truncated */
		if (zr == Z_STREAM_END && !zs.avail_in) {
			inflateEnd(&zs);
			*out_n = len;
			return out;
		}
	}
	inflateEnd(&zs);
	free(out);
	return NULL;
}

/* The member start (uncompressed offset) of member m, from the points. */
static uint64_t fuzz_gzindex_mstart(const struct gm_gzpoint *p, size_t n, uint32_t m)
{
	for (size_t i = 0; i < n; i++)
		if (p[i].member == m)
			return p[i].uoff;
	return 0;
}

/* The ISA-L pass with access points, then gm_gzlocate() from them. */
static void fuzz_gzindex_points(const char *dir, int fd, const uint8_t *plain, size_t plen)
{
	struct gm_gzpoints ap;
	struct gm_gzindex got = GM_GZINDEX_INIT;
	struct gm_inflate *z = NULL;
	const unsigned char *buf;
	unsigned char win[GM_INFLATE_WINDOW];
	struct gm_gzwant w[4];
	uint64_t total = 0;
	ssize_t r;

	if (gm_gzpoints_begin(dir, &ap) || lseek(fd, 0, SEEK_SET) < 0 ||
	    gm_inflate_new(fd, NULL, 0, &z) || gm_inflate_set_points(z, 4096, gm_gzpoints_add, &ap)) {
		gm_inflate_free(z);
		gm_gzpoints_abort(dir, &ap);
		return;
	}
	while ((r = gm_inflate_read(z, &buf)) > 0)
		total += (uint64_t)r;
	if (r < 0 || gm_gzpoints_commit(dir, &ap, fd, total, gm_inflate_members(z))) {
		gm_inflate_free(z);
		gm_gzpoints_abort(dir, &ap);
		return;
	}
	gm_inflate_free(z);
	if (!plain) {
		gm_gzpoints_abort(dir, &ap);
		return;
	}
	GM_FUZZ_ASSERT(total == plen);   /* ISA-L and zlib agree */
	if (gm_gzpoints_load(dir, &ap))
		return;
	for (size_t i = 0; i < ap.n; i++) {
		GM_FUZZ_ASSERT(ap.p[i].uoff <= plen && ap.p[i].wlen <= ap.p[i].uoff);
		GM_FUZZ_ASSERT(gm_gzpoints_window(&ap, i, win) == 0);
		GM_FUZZ_ASSERT(!memcmp(win, plain + ap.p[i].uoff - ap.p[i].wlen, ap.p[i].wlen));
	}
	for (size_t k = 0; k < 4; k++)
		w[k] = (struct gm_gzwant){ plen * k / 3, k % 2 ? GM_WANT_BEFORE : GM_WANT_AFTER };
	if (gm_gzlocate(fd, &ap, w, 4, &got) == 0) {
		for (size_t i = 0; i < got.n; i++) {
			uint64_t start = fuzz_gzindex_mstart(got.p, got.n, got.p[i].member);

			GM_FUZZ_ASSERT(got.p[i].uoff <= plen);
			GM_FUZZ_ASSERT(got.p[i].crc == crc32(0, plain + start, (uInt)(got.p[i].uoff - start)));
		}
	}
	gm_gzindex_free(&got);
	gm_gzpoints_free(&ap);
}

static int fuzz_gzindex_one(const uint8_t *data, size_t n)
{
	char dir[4200], path[4300];
	struct gm_gzindex ix = GM_GZINDEX_INIT;
	struct gm_srcmap sm = GM_SRCMAP_INIT;
	uint8_t *gz = NULL, *plain;
	size_t gzlen = 0, plen = 0;
	int fd;

	gm_fuzz_path(dir, sizeof(dir), "maps");
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/gzindex", dir);
	gm_fuzz_write_file(path, data, n);
	if (gm_gzindex_load(path, &ix) == 0) {
		for (size_t i = 1; i < ix.n; i++)
			GM_FUZZ_ASSERT(ix.p[i].cbit > ix.p[i - 1].cbit && ix.p[i].uoff >= ix.p[i - 1].uoff);
		GM_FUZZ_ASSERT(ix.p[ix.n - 1].uoff <= ix.usize);
		gm_gzindex_free(&ix);
	}
	snprintf(path, sizeof(path), "%s/srcmap", dir);
	gm_fuzz_write_file(path, data, n);
	if (gm_srcmap_load(dir, &sm) == 0) {
		for (size_t i = 0; i < sm.nr; i++) {
			uint64_t run;

			GM_FUZZ_ASSERT(sm.r[i].toff + sm.r[i].len <= sm.tar_size);
			GM_FUZZ_ASSERT(gm_srcmap_disk_toff(&sm, sm.r[i].doff, &run) == sm.r[i].toff);
		}
		gm_srcmap_free(&sm);
	}
	snprintf(path, sizeof(path), "%s/gzpoints", dir);
	gm_fuzz_write_file(path, data, n);
	{
		struct gm_gzpoints ap;
		unsigned char win[GM_INFLATE_WINDOW];

		if (gm_gzpoints_load(dir, &ap) == 0) {
			for (size_t i = 0; i < ap.n; i++)
				GM_FUZZ_ASSERT(gm_gzpoints_window(&ap, i, win) == 0);
			gm_gzpoints_free(&ap);
		}
	}
	/* as a gzip file */
	if (n >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
		gz = malloc(n ? n : 1);
		if (!gz)
			return 0;
		memcpy(gz, data, n);
		gzlen = n;
	} else if (crc32(0, data, (uInt)n) % 4 == 0 && n > 1) {
		size_t a = 0, b = 0;
		uint8_t *g1 = gm_fuzz_gzip(data, n / 2, &a), *g2 = gm_fuzz_gzip(data + n / 2, n - n / 2, &b);

		gz = malloc(a + b);
		if (gz) {
			memcpy(gz, g1, a);
			memcpy(gz + a, g2, b);
			gzlen = a + b;
		}
		free(g1);
		free(g2);
	} else {
		gz = gm_fuzz_gzip(data, n, &gzlen);
	}
	if (!gz)
		return 0;
	snprintf(path, sizeof(path), "%s/in.gz", dir);
	gm_fuzz_write_file(path, gz, gzlen);
	fd = open(path, O_RDONLY);
	GM_FUZZ_ASSERT(fd >= 0);
	plain = fuzz_gzindex_inflate(gz, gzlen, &plen);
	if (gm_gzindex_build(fd, NULL, &ix) == 0) {
		GM_FUZZ_ASSERT(plain != NULL);   /* zlib agrees it is whole */
		GM_FUZZ_ASSERT(ix.usize == plen);
		for (size_t i = 0; i < ix.n; i++) {
			const struct gm_gzpoint *p = &ix.p[i];
			uint64_t start = p->uoff;

			/* the member's start: its first point */
			for (size_t k = i; k-- > 0 && ix.p[k].member == p->member;)
				start = ix.p[k].uoff;
			GM_FUZZ_ASSERT(p->uoff <= plen && p->cbit <= (uint64_t)gzlen * 8);
			GM_FUZZ_ASSERT(p->crc == crc32(0, plain + start, (uInt)(p->uoff - start)));
		}
		gm_gzindex_free(&ix);
	}
	fuzz_gzindex_points(dir, fd, plain, plen);
	close(fd);
	free(plain);
	free(gz);
	return 0;
}

GM_FUZZ_ENTRY(fuzz_gzindex_one)
