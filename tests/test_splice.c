/* test_splice.c — the splice write-back: bit copies, block copies through
 * gzout, and (as a driver for tests/it_splice.sh) whole images.
 *
 * With no arguments: cmocka tests. With "drive IMG OUT [opts]": opens IMG
 * writable, applies raw edits, writes back to OUT and prints
 * "tar=N copied=N out=N". opts:
 *   --edit OFF:LEN:SEED   write LEN pseudo-random bytes at OFF (repeatable;
 *                         SEED 0 writes zeros)
 *   --hole OFF:LEN        a free range (sparsify), repeatable
 *   --no-splice --fast --resparsify --cache DIR --kill-after-ms MS
 * Exit status: 0, or the errno of the failure (message on stderr).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "editor/container/bits.h"
#include "editor/container/gzip_index.h"
#include "editor/container/gzout.h"
#include "editor/container/image.h"
#include "editor/container/splice.h"
#include "editor/container/tarplan.h"

/* ------------------------------------------------------------ bits */

static unsigned get_bit(const unsigned char *p, uint64_t i)
{
	return (p[i / 8] >> (i % 8)) & 1;
}

static void test_splice_bits_append_matches_naive(void **state)
{
	unsigned char src[300], dst[320], want[320];

	(void)state;
	srand(3);
	for (int round = 0; round < 4000; round++) {
		unsigned db = (unsigned)rand() % 8, sb = (unsigned)rand() % 8, eb;
		uint64_t nbits = (uint64_t)rand() % (8 * 280 - sb);
		size_t done;

		for (size_t i = 0; i < sizeof(src); i++)
			src[i] = (unsigned char)rand();
		memset(dst, 0xa5, sizeof(dst));
		memset(want, 0, sizeof(want));
		want[0] = dst[0] & (unsigned char)((1u << db) - 1);
		for (uint64_t i = 0; i < nbits; i++)
			want[(db + i) / 8] |= (unsigned char)(get_bit(src, sb + i) << ((db + i) % 8));
		done = gm_bits_append(dst, db, src, sb, nbits, &eb);
		assert_int_equal(done, (db + nbits) / 8);
		assert_int_equal(eb, (db + nbits) % 8);
		assert_memory_equal(dst, want, done + (eb ? 1 : 0));
	}
}

/* ------------------------------------------------------------ gzout copies */

static int tmpfd(void)
{
	FILE *f = tmpfile();
	int fd;

	assert_non_null(f);
	fd = dup(fileno(f));
	fclose(f);
	return fd;
}

static unsigned char *sample(size_t n, unsigned seed)
{
	unsigned char *d = malloc(n);

	assert_non_null(d);
	srand(seed);
	for (size_t i = 0; i < n; i++)   /* text-like stretches and noise */
		d[i] = (i / 70000) % 3 ? (unsigned char)("gcemount splice "[(i * 7 + i / 1000) % 16])
				       : (unsigned char)rand();
	return d;
}

static unsigned char *inflate_all(int fd, size_t *n)
{
	off_t len = lseek(fd, 0, SEEK_END);
	unsigned char *in = malloc((size_t)len), *out = malloc(64u << 20);
	z_stream zs = { 0 };

	assert_int_equal(pread(fd, in, (size_t)len, 0), len);
	assert_int_equal(inflateInit2(&zs, 31), Z_OK);
	zs.next_in = in;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = 64u << 20;
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	assert_int_equal(zs.avail_in, 0);   /* one member, nothing after */
	*n = zs.total_out;
	inflateEnd(&zs);
	free(in);
	return out;
}

/* Compress data with gzout (level), index it with zlib, then write a new
 * stream made of new bytes and copies of every other block range; the
 * result must inflate to the expected bytes. */
static void splice_roundtrip(int level, int out_level, unsigned seed, bool append)
{
	size_t n = 6u << 20, got = 0;
	unsigned char *d = sample(n, seed), *back;
	struct gm_gzindex ix = GM_GZINDEX_INIT;
	struct gm_gzout *g = NULL;
	int src = tmpfd(), dst = tmpfd();
	unsigned char *want = malloc(2 * n);
	size_t wn = 0, at = 0;
	uint64_t in = 0;
	uint32_t crc = 0;

	assert_int_equal(gm_gzout_new(src, level, 2, &g), 0);
	assert_int_equal(gm_gzout_write(g, d, n), 0);
	assert_int_equal(gm_gzout_finish(g, NULL, NULL, NULL), 0);
	gm_gzout_free(g);
	assert_int_equal(gm_gzindex_build(src, NULL, &ix), 0);
	assert_true(ix.n > 8);
	assert_int_equal(ix.usize, n);

	/* O_APPEND: copy_file_range refuses it, the copies go by hand */
	if (append)
		assert_int_equal(fcntl(dst, F_SETFL, O_APPEND), 0);
	assert_int_equal(gm_gzout_new(dst, out_level, 2, &g), 0);
	for (size_t i = 1; i + 2 < ix.n; i += 3) {
		const struct gm_gzpoint *a = &ix.p[i], *b = &ix.p[i + 1];
		size_t dl = b->uoff < 32768 ? b->uoff : 32768;

		/* new bytes: the original's up to the copy (so the 32 KiB before it match) */
		assert_int_equal(gm_gzout_write(g, d + at, a->uoff - at), 0);
		memcpy(want + wn, d + at, a->uoff - at);
		wn += a->uoff - at;
		if (a->uoff < 32768 || b->uoff == a->uoff) {
			at = a->uoff;
			continue;
		}
		assert_int_equal(gm_gzout_copy(g, src, a, b, d + b->uoff - dl, dl), 0);
		memcpy(want + wn, d + a->uoff, b->uoff - a->uoff);
		wn += b->uoff - a->uoff;
		at = b->uoff;
	}
	assert_int_equal(gm_gzout_write(g, d + at, n - at), 0);
	memcpy(want + wn, d + at, n - at);
	wn += n - at;
	assert_int_equal(gm_gzout_finish(g, &in, &crc, NULL), 0);
	gm_gzout_free(g);
	assert_int_equal(in, wn);
	assert_int_equal(crc, crc32(0, want, (uInt)wn));
	back = inflate_all(dst, &got);
	assert_int_equal(got, wn);
	assert_memory_equal(back, want, wn);
	assert_int_equal(gm_gzip_verify(dst, NULL, NULL), 0);
	free(back);
	free(want);
	free(d);
	gm_gzindex_free(&ix);
	close(src);
	close(dst);
}

static void test_splice_copy_level6(void **state) { (void)state; splice_roundtrip(6, 6, 1, false); }
static void test_splice_copy_level1(void **state) { (void)state; splice_roundtrip(1, 6, 2, false); }
static void test_splice_copy_stored(void **state) { (void)state; splice_roundtrip(0, 6, 3, false); }
/* copies read and written by this process (no copy_file_range) */
static void test_splice_copy_by_hand(void **state) { (void)state; splice_roundtrip(6, 6, 6, true); }
/* ISA-L's fast level around the copies (it cannot be primed with bits),
 * and copies out of an ISA-L stream */
static void test_splice_copy_fast(void **state)
{
	(void)state;
	splice_roundtrip(6, GM_GZOUT_FAST, 4, false);
	splice_roundtrip(GM_GZOUT_FAST, 6, 5, false);
}

/* gzout's own index: points at chunk starts and every 128 KiB, CRCs right. */
static void test_splice_gzout_index(void **state)
{
	size_t n = 3u << 20;
	unsigned char *d = sample(n, 9);
	struct gm_gzindex ix = GM_GZINDEX_INIT, zix = GM_GZINDEX_INIT;
	struct gm_gzout *g = NULL;
	int fd = tmpfd();

	(void)state;
	assert_int_equal(gm_gzout_new(fd, 6, 2, &g), 0);
	gm_gzout_set_index(g, &ix);
	assert_int_equal(gm_gzout_write(g, d, n), 0);
	assert_int_equal(gm_gzout_finish(g, NULL, NULL, NULL), 0);
	gm_gzout_free(g);
	assert_int_equal(ix.n, n / (128u << 10));
	/* every recorded point is a block boundary: zlib, started there with
	 * the 32 KiB before it as dictionary, inflates the right bytes; and
	 * the CRC is the data's */
	for (size_t i = 0; i < ix.n; i++) {
		const struct gm_gzpoint *p = &ix.p[i];
		unsigned char b, out[4096];
		uint64_t at = p->cbit / 8;
		size_t dl = p->uoff < 32768 ? p->uoff : 32768;
		z_stream zs = { 0 };
		off_t len = lseek(fd, 0, SEEK_END);
		unsigned char *in = malloc((size_t)len);

		assert_int_equal(p->crc, crc32(0, d, (uInt)p->uoff));
		assert_int_equal(pread(fd, in, (size_t)len, 0), len);
		assert_int_equal(inflateInit2(&zs, -15), Z_OK);
		if (p->cbit % 8) {
			b = in[at++];
			assert_int_equal(inflatePrime(&zs, (int)(8 - p->cbit % 8), b >> (p->cbit % 8)), Z_OK);
		}
		if (dl)
			assert_int_equal(inflateSetDictionary(&zs, d + p->uoff - dl, (uInt)dl), Z_OK);
		zs.next_in = in + at;
		zs.avail_in = (uInt)(len - (off_t)at);
		zs.next_out = out;
		zs.avail_out = sizeof(out);
		assert_int_equal(inflate(&zs, Z_NO_FLUSH), Z_OK);
		assert_int_equal(zs.avail_out, 0);
		assert_memory_equal(out, d + p->uoff, sizeof(out));
		inflateEnd(&zs);
		free(in);
	}
	/* and zlib's index of it is a thinned set of boundaries, the same CRCs */
	assert_int_equal(gm_gzindex_build(fd, NULL, &zix), 0);
	for (size_t i = 1; i < zix.n; i++) {
		assert_true(zix.p[i].end || (i + 1 < zix.n && zix.p[i + 1].end) ||
			    zix.p[i].uoff - zix.p[i - 1].uoff >= (32u << 10));
		assert_int_equal(zix.p[i].crc, crc32(0, d, (uInt)zix.p[i].uoff));
	}
	gm_gzindex_free(&ix);
	gm_gzindex_free(&zix);
	free(d);
	close(fd);
}

/* A plan made of one file's bytes, spliced against that file's own gzip:
 * the check passes, and finds a byte damaged where data was compressed
 * anew (the head of the stream is never copied). */
static void test_splice_verify_finds_damage(void **state)
{
	size_t n = 5u << 20;
	unsigned char *d = sample(n, 11), b;
	struct gm_gzindex ix = GM_GZINDEX_INIT, nix = GM_GZINDEX_INIT;
	struct gm_tarplan pl = { 0 };
	struct gm_piece piece;
	struct gm_splice sp;
	struct gm_gzout *g = NULL;
	int raw = tmpfd(), src = tmpfd(), dst = tmpfd();

	(void)state;
	assert_int_equal(pwrite(raw, d, n, 0), (ssize_t)n);
	assert_int_equal(gm_gzout_new(src, 6, 2, &g), 0);
	assert_int_equal(gm_gzout_write(g, d, n), 0);
	assert_int_equal(gm_gzout_finish(g, NULL, NULL, NULL), 0);
	gm_gzout_free(g);
	assert_int_equal(gm_gzindex_build(src, NULL, &ix), 0);
	piece = (struct gm_piece){ .toff = 0, .len = n, .fd = raw, .off = 0, .old_toff = 0 };
	pl.p = &piece;
	pl.n = 1;
	pl.size = n;
	assert_int_equal(gm_splice_plan(&pl, &ix, &sp), 0);
	assert_true(sp.n >= 1 && sp.copied > n / 2);
	assert_int_equal(gm_gzout_new(dst, 6, 2, &g), 0);
	gm_gzout_set_index(g, &nix);
	assert_int_equal(gm_splice_write(g, &pl, src, &ix, &sp), 0);
	assert_int_equal(gm_gzout_finish(g, NULL, NULL, NULL), 0);
	gm_gzout_free(g);
	assert_int_equal(gm_splice_verify(dst, &nix, &pl, &ix, &sp), 0);
	assert_int_equal(gm_gzip_verify(dst, NULL, NULL), 0);
	assert_int_equal(pread(dst, &b, 1, 200), 1);
	b ^= 0x10;
	assert_int_equal(pwrite(dst, &b, 1, 200), 1);
	assert_int_not_equal(gm_splice_verify(dst, &nix, &pl, &ix, &sp), 0);
	gm_splice_free(&sp);
	gm_gzindex_free(&ix);
	gm_gzindex_free(&nix);
	free(d);
	close(raw);
	close(src);
	close(dst);
}

/* ------------------------------------------------------------ the driver */

static int parse_pair(const char *s, uint64_t *a, uint64_t *b, uint64_t *c)
{
	char *e;

	*a = strtoull(s, &e, 0);
	if (*e != ':')
		return -1;
	*b = strtoull(e + 1, &e, 0);
	if (c) {
		if (*e != ':')
			return -1;
		*c = strtoull(e + 1, &e, 0);
	}
	return *e ? -1 : 0;
}

static int drive(int argc, char **argv)
{
	struct gm_image_opts o = { 0 };
	struct gm_writeback_stats st = { 0 };
	struct gm_writeback_opts w = { .stats = &st };
	struct gm_rangeset holes = GM_RANGESET_INIT;
	struct gm_error err = { 0 };
	struct gm_image *img = NULL;
	int rc;

	if (argc < 4)
		return EINVAL;
	w.output = argv[3];
	for (int i = 4; i < argc; i++) {
		const char *a = argv[i];
		uint64_t x, y;

		if (!strcmp(a, "--no-splice")) w.no_splice = true;
		else if (!strcmp(a, "--fast")) w.fast = true;
		else if (!strcmp(a, "--resparsify")) w.resparsify = true;
		else if (!strcmp(a, "--cache") && i + 1 < argc) o.cache_dir = argv[++i];
		else if (!strcmp(a, "--hole") && i + 1 < argc) {
			if (parse_pair(argv[++i], &x, &y, NULL) || gm_rangeset_add(&holes, x, y))
				return EINVAL;
		} else if (!strcmp(a, "--edit") && i + 1 < argc) {
			i++;
		} else {
			fprintf(stderr, "drive: unknown option %s\n", a);
			return EINVAL;
		}
	}
	w.holes = &holes;
	rc = gm_image_open(argv[2], &o, &img, &err);
	if (rc) {
		fprintf(stderr, "%s\n", gm_error_msg(&err));
		return -rc;
	}
	for (int i = 4; !rc && i < argc; i++) {
		uint64_t off, len, seed;
		unsigned char *buf;

		if (strcmp(argv[i], "--edit"))
			continue;
		if (parse_pair(argv[++i], &off, &len, &seed) || len > (64u << 20)) {
			rc = -EINVAL;
			break;
		}
		buf = malloc(len ? len : 1);
		if (!buf) {
			rc = -ENOMEM;
			break;
		}
		srand((unsigned)seed);
		for (uint64_t k = 0; k < len; k++)
			buf[k] = seed ? (unsigned char)rand() : 0;
		rc = gm_image_mark_dirty(img, off, len);
		if (!rc && pwrite(gm_image_fd(img), buf, len, (off_t)off) != (ssize_t)len)
			rc = -EIO;
		free(buf);
	}
	if (!rc)
		rc = gm_image_writeback(img, &w, &err);
	if (rc)
		fprintf(stderr, "%s\n", err.msg[0] ? gm_error_msg(&err) : strerror(-rc));
	else
		printf("tar=%" PRIu64 " copied=%" PRIu64 " out=%" PRIu64 " index=%s\n", st.tar_bytes,
		       st.copied_bytes, st.out_bytes, st.index_source[0] ? st.index_source : "-");
	gm_image_close(img);
	gm_rangeset_free(&holes);
	return -rc;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_splice_bits_append_matches_naive),
		cmocka_unit_test(test_splice_copy_level6),
		cmocka_unit_test(test_splice_copy_level1),
		cmocka_unit_test(test_splice_copy_stored),
		cmocka_unit_test(test_splice_copy_by_hand),
		cmocka_unit_test(test_splice_copy_fast),
		cmocka_unit_test(test_splice_gzout_index),
		cmocka_unit_test(test_splice_verify_finds_damage),
	};

	if (argc > 1 && !strcmp(argv[1], "drive"))
		return drive(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
