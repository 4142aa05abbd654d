/* test_gzlocate.c — access points from the ISA-L pass and the block
 * boundaries found near wanted offsets, against every boundary zlib's
 * inflate(Z_BLOCK) reports, for gzip files made every way we know: zlib
 * levels 1, 6, 9, fixed-code blocks only, stored blocks, concatenated
 * members, a header with a name and an extra field, ISA-L's level 1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <isa-l/igzip_lib.h>

#include "editor/container/gzlocate.h"
#include "editor/container/gzpoints.h"
#include "editor/container/inflate.h"
#include "tests/fixture.h"

#define DATA_LEN (3u << 20)
#define SPACING (64u << 10)

static unsigned char *sample(void)
{
	unsigned char *d = malloc(DATA_LEN);
	uint32_t x = 12345;

	assert_non_null(d);
	for (size_t i = 0; i < DATA_LEN; i++) {
		size_t part = i / 200000 % 4;

		x = x * 1103515245u + 12345u;
		d[i] = part == 0 ? (unsigned char)"lorem ipsum dolor sit amet "[i % 27] :
		       part == 1 ? (unsigned char)(x >> 16) :
		       part == 2 ? 0 : (unsigned char)((i * 7) % 251 < 20 ? x >> 20 : 'a' + i % 13);
	}
	return d;
}

/* One gzip member of d[0, n) written to fd. */
static void member(int fd, const unsigned char *d, size_t n, int level, int strategy, bool named)
{
	static unsigned char extra[] = { 'g', 'm', 2, 0, 1, 2 };
	gz_header h = { 0 };
	z_stream zs = { 0 };
	size_t cap = deflateBound(NULL, (uLong)n) + 1024;
	unsigned char *out = malloc(cap);

	assert_non_null(out);
	assert_int_equal(deflateInit2(&zs, level, Z_DEFLATED, 31, 8, strategy), Z_OK);
	if (named) {
		h.name = (Bytef *)"disk.tar";
		h.extra = extra;
		h.extra_len = sizeof(extra);
		h.hcrc = 1;
		assert_int_equal(deflateSetHeader(&zs, &h), Z_OK);
	}
	zs.next_in = (Bytef *)d;
	zs.avail_in = (uInt)n;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	assert_int_equal(write(fd, out, zs.total_out), (ssize_t)zs.total_out);
	deflateEnd(&zs);
	free(out);
}

/* ISA-L's own deflate, level 1, as a gzip member. */
static void isal_member(int fd, const unsigned char *d, size_t n)
{
	struct isal_zstream zs;
	size_t cap = n + n / 2 + 1024;
	unsigned char *out = malloc(cap), *lvl = malloc(ISAL_DEF_LVL1_DEFAULT);

	assert_non_null(out);
	assert_non_null(lvl);
	isal_deflate_init(&zs);
	zs.level = 1;
	zs.level_buf = lvl;
	zs.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
	zs.gzip_flag = IGZIP_GZIP;
	zs.end_of_stream = 1;
	zs.flush = NO_FLUSH;
	zs.next_in = (uint8_t *)d;
	zs.avail_in = (uint32_t)n;
	zs.next_out = out;
	zs.avail_out = (uint32_t)cap;
	assert_int_equal(isal_deflate(&zs), COMP_OK);
	assert_int_equal(zs.internal_state.state, ZSTATE_END);
	assert_int_equal(write(fd, out, zs.total_out), (ssize_t)zs.total_out);
	free(out);
	free(lvl);
}

/* Every block boundary of the file, as zlib sees it (member starts included). */
static struct gm_gzindex all_boundaries(int fd)
{
	struct gm_gzindex ix = GM_GZINDEX_INIT;
	off_t size = lseek(fd, 0, SEEK_END);
	unsigned char *in = malloc((size_t)size), out[65536];
	uint64_t base = 0, pos = 0;
	uint32_t member_no = 0, crc = 0;
	z_stream zs = { 0 };

	assert_non_null(in);
	assert_int_equal(pread(fd, in, (size_t)size, 0), size);
	assert_int_equal(inflateInit2(&zs, 31), Z_OK);
	zs.next_in = in;
	zs.avail_in = (uInt)size;
	for (;;) {
		int zr;

		zs.next_out = out;
		zs.avail_out = sizeof(out);
		zr = inflate(&zs, Z_BLOCK);
		assert_true(zr == Z_OK || zr == Z_STREAM_END);
		crc = (uint32_t)crc32(crc, out, (uInt)(sizeof(out) - zs.avail_out));
		pos = (uint64_t)size - zs.avail_in;
		if (zr == Z_STREAM_END) {
			base += zs.total_out;
			if (!zs.avail_in)
				break;
			assert_int_equal(inflateReset(&zs), Z_OK);
			member_no++;
			crc = 0;
			continue;
		}
		if (zs.data_type & 128) {
			struct gm_gzpoint pt = {
				.cbit = pos * 8 - (uint64_t)(zs.data_type & 7), .uoff = base + zs.total_out,
				.crc = crc, .member = member_no, .end = (zs.data_type & 64) ? 1 : 0,
			};

			if (!ix.n || ix.p[ix.n - 1].cbit != pt.cbit)
				assert_int_equal(gm_gzindex_add(&ix, &pt), 0);
		}
	}
	ix.members = member_no + 1;
	ix.usize = base;
	inflateEnd(&zs);
	free(in);
	return ix;
}

static const struct gm_gzpoint *find(const struct gm_gzindex *all, uint64_t cbit)
{
	for (size_t i = 0; i < all->n; i++)
		if (all->p[i].cbit == cbit)
			return &all->p[i];
	return NULL;
}

/* The point must be a true boundary, with the right offset and CRC. */
static void is_boundary(const struct gm_gzindex *all, uint64_t cbit, uint64_t uoff, uint32_t crc,
			uint32_t member_no)
{
	const struct gm_gzpoint *t = find(all, cbit);

	if (!t)
		fail_msg("bit %llu is not a block boundary", (unsigned long long)cbit);
	assert_int_equal(t->uoff, uoff);
	assert_int_equal(t->crc, crc);
	assert_int_equal(t->member, member_no);
}

static void check_file(int fd, const unsigned char *data, size_t len, size_t min_points)
{
	struct gm_gzindex all = all_boundaries(fd), got = GM_GZINDEX_INIT;
	struct gm_gzpoints ap;
	struct gm_inflate *z = NULL;
	const unsigned char *buf;
	unsigned char win[GM_INFLATE_WINDOW];
	uint64_t total = 0;
	struct gm_gzwant w[64];
	ssize_t n;

	assert_int_equal(all.usize, len);
	/* the pass: output as the input, points recorded */
	assert_int_equal(gm_gzpoints_begin(".", &ap), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(gm_inflate_new(fd, NULL, 0, &z), 0);
	assert_int_equal(gm_inflate_set_points(z, SPACING, gm_gzpoints_add, &ap), 0);
	while ((n = gm_inflate_read(z, &buf)) > 0) {
		assert_true(total + (uint64_t)n <= len);
		assert_memory_equal(buf, data + total, (size_t)n);
		total += (uint64_t)n;
	}
	assert_int_equal(n, 0);
	assert_int_equal(total, len);
	assert_int_equal(gm_gzpoints_commit(".", &ap, fd, total, gm_inflate_members(z)), 0);
	gm_inflate_free(z);
	assert_int_equal(gm_gzpoints_load(".", &ap), 0);
	assert_true(gm_gzpoints_matches(&ap, fd));
	assert_int_equal(ap.members, all.members);
	assert_true(ap.n >= all.members);
	assert_true(ap.n >= min_points);   /* the ISA-L pass does see boundaries */
	for (size_t i = 0; i < ap.n; i++) {
		const struct gm_gzap *q = &ap.p[i];
		uint64_t mstart = q->uoff;

		for (size_t k = 0; k < ap.n; k++)
			if (ap.p[k].member == q->member && ap.p[k].uoff < mstart)
				mstart = ap.p[k].uoff;
		if (q->wlen == 0 && q->uoff == mstart) {   /* a member's start: after its header */
			const struct gm_gzpoint *t = find(&all, q->cbit);

			/* zlib reports a member's first block boundary after the first block */
			assert_true(t == NULL || t->uoff == q->uoff);
			assert_int_equal(q->crc, 0);
		} else {
			is_boundary(&all, q->cbit, q->uoff, q->crc, q->member);
		}
		assert_int_equal(q->wlen, q->uoff - mstart < GM_INFLATE_WINDOW ?
				 q->uoff - mstart : GM_INFLATE_WINDOW);
		assert_int_equal(gm_gzpoints_window(&ap, i, win), 0);
		assert_memory_equal(win, data + q->uoff - q->wlen, q->wlen);
	}
	/* near wanted offsets: true boundaries, the nearest ones included */
	srand((unsigned)len);
	for (size_t k = 0; k < 64; k++)
		w[k] = (struct gm_gzwant){ (uint64_t)rand() % len, k % 2 ? GM_WANT_BEFORE : GM_WANT_AFTER };
	w[0].u = 0;
	w[1].u = len;
	assert_int_equal(gm_gzlocate(fd, &ap, w, 64, &got), 0);
	for (size_t i = 0; i < got.n; i++) {
		const struct gm_gzpoint *t = find(&all, got.p[i].cbit);
		bool first = !i || got.p[i - 1].member != got.p[i].member;

		if (first) {
			assert_int_equal(got.p[i].crc, 0);
			continue;
		}
		assert_non_null(t);
		assert_int_equal(t->uoff, got.p[i].uoff);
		assert_int_equal(t->crc, got.p[i].crc);
		assert_int_equal(t->end, got.p[i].end);
	}
	for (size_t k = 0; k < 64; k++) {
		const struct gm_gzpoint *want = NULL;

		/* the first true boundary at/after u where a copy can start (not a
		 * member's end), or the last at/before u */
		for (size_t i = 0; i < all.n; i++) {
			if (w[k].side == GM_WANT_AFTER && all.p[i].uoff >= w[k].u && !all.p[i].end) {
				want = &all.p[i];
				break;
			}
			if (w[k].side == GM_WANT_BEFORE && all.p[i].uoff <= w[k].u && w[k].u)
				want = &all.p[i];
		}
		bool seen = false;

		if (!want)
			continue;
		for (size_t i = 0; i < got.n; i++)
			seen |= got.p[i].cbit == want->cbit;
		if (!seen)
			fail_msg("want %zu (%llu, %s): the boundary at bit %llu was not found", k,
				 (unsigned long long)w[k].u, w[k].side ? "before" : "after",
				 (unsigned long long)want->cbit);
	}
	gm_gzindex_free(&got);
	gm_gzindex_free(&all);
	gm_gzpoints_free(&ap);
}

typedef void (*maker)(int fd, const unsigned char *d, size_t n);

static void run_case(maker make, size_t min_points)
{
	char dir[256];
	unsigned char *d = sample();
	FILE *f;
	int fd;

	assert_non_null(fx_enter_tmpdir(dir, sizeof(dir)));
	f = fopen("data.gz", "w+");
	assert_non_null(f);
	fd = fileno(f);
	make(fd, d, DATA_LEN);
	check_file(fd, d, DATA_LEN, min_points);
	fclose(f);
	free(d);
	fx_leave_tmpdir(dir);
}

static void mk6(int fd, const unsigned char *d, size_t n) { member(fd, d, n, 6, Z_DEFAULT_STRATEGY, false); }
static void mk1(int fd, const unsigned char *d, size_t n) { member(fd, d, n, 1, Z_DEFAULT_STRATEGY, false); }
static void mk9(int fd, const unsigned char *d, size_t n) { member(fd, d, n, 9, Z_DEFAULT_STRATEGY, true); }
static void mkfixed(int fd, const unsigned char *d, size_t n) { member(fd, d, n, 6, Z_FIXED, false); }
static void mkstored(int fd, const unsigned char *d, size_t n) { member(fd, d, n, 0, Z_DEFAULT_STRATEGY, false); }
static void mkisal(int fd, const unsigned char *d, size_t n) { isal_member(fd, d, n); }
static void mkmembers(int fd, const unsigned char *d, size_t n)
{
	size_t cuts[] = { 0, 12345, 1000003, 1000003, 2500000, n };   /* an empty member too */

	for (size_t i = 0; i + 1 < sizeof(cuts) / sizeof(cuts[0]); i++)
		member(fd, d + cuts[i], cuts[i + 1] - cuts[i], i % 2 ? 1 : 6, Z_DEFAULT_STRATEGY, i == 2);
}

static void test_gzlocate_level6(void **s) { (void)s; run_case(mk6, 8); }
static void test_gzlocate_level1(void **s) { (void)s; run_case(mk1, 8); }
static void test_gzlocate_level9_named(void **s) { (void)s; run_case(mk9, 8); }
static void test_gzlocate_fixed_blocks(void **s) { (void)s; run_case(mkfixed, 1); }
static void test_gzlocate_stored(void **s) { (void)s; run_case(mkstored, 8); }
static void test_gzlocate_isal(void **s) { (void)s; run_case(mkisal, 3); }
static void test_gzlocate_members(void **s) { (void)s; run_case(mkmembers, 10); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gzlocate_level6),
		cmocka_unit_test(test_gzlocate_level1),
		cmocka_unit_test(test_gzlocate_level9_named),
		cmocka_unit_test(test_gzlocate_fixed_blocks),
		cmocka_unit_test(test_gzlocate_stored),
		cmocka_unit_test(test_gzlocate_isal),
		cmocka_unit_test(test_gzlocate_members),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
