/* test_tar_write.c — the GNU tar header and sparse-map encoders. Expected
 * bytes come from GNU tar 1.34 (--format=oldgnu -S, as root, mtime
 * 1700000000) for the same file layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "editor/container/tar_write.h"

static uint64_t num(const unsigned char *f, size_t w)
{
	uint64_t v = UINT64_MAX;

	assert_int_equal(gm_tar_get_num(f, w, &v), 0);
	return v;
}

static void test_tar_write_octal_and_base256(void **state)
{
	unsigned char f[12];

	(void)state;
	assert_int_equal(gm_tar_put_num(f, 12, 0644), 0);
	assert_memory_equal(f, "00000000644", 12);   /* 11 digits + NUL */
	assert_int_equal(gm_tar_put_num(f, 12, (1ULL << 33) - 1), 0);
	assert_memory_equal(f, "77777777777", 12);
	/* 8 GiB: no longer fits 11 octal digits -> base-256, 0x80 lead */
	assert_int_equal(gm_tar_put_num(f, 12, 1ULL << 33), 0);
	assert_int_equal(f[0], 0x80);
	for (int i = 1; i < 12; i++)
		assert_int_equal(f[i], i == 7 ? 2 : 0);
	assert_int_equal(num(f, 12), 1ULL << 33);
	assert_int_equal(gm_tar_put_num(f, 12, 10737418240ULL), 0);
	assert_int_equal(num(f, 12), 10737418240ULL);
	/* 8-byte fields: 7 octal digits, then 7 bytes of base-256, then overflow */
	assert_int_equal(gm_tar_put_num(f, 8, 2097151), 0);
	assert_memory_equal(f, "7777777", 8);
	assert_int_equal(gm_tar_put_num(f, 8, 2097152), 0);
	assert_int_equal(f[0], 0x80);
	assert_int_equal(num(f, 8), 2097152);
	assert_int_equal(gm_tar_put_num(f, 8, 1ULL << 56), -EOVERFLOW);
	/* reading: leading spaces, space terminator, garbage */
	assert_int_equal(num((const unsigned char *)"   755 \0", 8), 0755);
	assert_int_equal(gm_tar_get_num((const unsigned char *)"12x4567", 8, &(uint64_t){0}), -EINVAL);
}

static void test_tar_write_checksum(void **state)
{
	struct gm_tar_hdr h = { .name = "etc", .type = '5', .mode = 0755, .uname = "root",
				.gname = "root", .mtime = 1700000000 };
	struct gm_tarbuf b = { 0 };

	(void)state;
	assert_int_equal(gm_tar_encode_header(&b, &h), 0);
	assert_int_equal(b.len, 512);
	assert_true(gm_tar_checksum_ok(b.p));
	assert_int_equal(b.p[148 + 6], '\0');   /* "%06o\0 " */
	assert_int_equal(b.p[148 + 7], ' ');
	assert_memory_equal(b.p + 257, "ustar  ", 8);
	assert_memory_equal(b.p + 100, "0000755", 8);
	assert_memory_equal(b.p + 124, "00000000000", 12);   /* dirs have size 0 */
	b.p[0] ^= 1;
	assert_false(gm_tar_checksum_ok(b.p));
	gm_tarbuf_free(&b);
}

/* GNU tar: a 20 MiB file, 4 KiB of data at 0, 3, 5, 7, 9, 11 x 400 KiB. */
static void test_tar_write_sparse_matches_gnu_tar(void **state)
{
	struct gm_tar_hdr h = { .name = "disk.raw", .mode = 0644, .uname = "root",
				.gname = "root", .mtime = 1700000000 };
	struct gm_rangeset map = GM_RANGESET_INIT;
	struct gm_tarbuf b = { 0 };
	static const int at[] = { 0, 3, 5, 7, 9, 11 };

	(void)state;
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(gm_rangeset_add(&map, at[i] * 409600ULL, 4096), 0);
	assert_int_equal(gm_tar_encode_sparse(&b, &h, &map, 20 << 20), 0);
	assert_int_equal(b.len, 1024);                       /* header + 1 extension */
	assert_memory_equal(b.p + 124, "00000060000", 12);   /* stored: 6 x 4 KiB */
	assert_memory_equal(b.p + 148, "022567\0 ", 8);      /* GNU tar's checksum */
	assert_int_equal(b.p[156], 'S');
	assert_memory_equal(b.p + 386, "00000000000\0" "00000010000", 24);
	assert_memory_equal(b.p + 386 + 72, "00012740000\0" "00000010000", 24);
	assert_int_equal(b.p[482], 1);                        /* isextended */
	assert_memory_equal(b.p + 483, "00120000000", 12);   /* realsize */
	assert_memory_equal(b.p + 512, "00016040000\0" "00000010000", 24);
	assert_memory_equal(b.p + 512 + 48, "00120000000\0" "00000000000", 24); /* tail hole */
	assert_int_equal(b.p[512 + 504], 0);
	gm_tarbuf_free(&b);
	gm_rangeset_free(&map);
}

/* n regions (+ tail entry): 4 in the header, 21 per extension block. */
static void check_chain(size_t n, bool tail_hole)
{
	struct gm_tar_hdr h = { .name = "disk.raw", .mode = 0644, .mtime = 1 };
	struct gm_rangeset map = GM_RANGESET_INIT;
	struct gm_tarbuf b = { 0 };
	uint64_t realsize = 16ULL << 30, step = realsize / n;   /* beyond 8 GiB too */
	size_t total = n + (tail_hole ? 1 : 0), ext = total > 4 ? (total - 4 + 20) / 21 : 0;
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		assert_int_equal(gm_rangeset_add(&map, i * step / 4096 * 4096,
						 !tail_hole && i == n - 1
						 ? realsize - (i * step / 4096 * 4096) : 4096), 0);
	assert_int_equal(gm_tar_encode_sparse(&b, &h, &map, realsize), 0);
	assert_int_equal(b.len, 512 * (1 + ext));
	assert_true(gm_tar_checksum_ok(b.p));
	assert_int_equal(num(b.p + 483, 12), realsize);
	for (size_t blk = 0; blk <= ext; blk++) {
		const unsigned char *p = b.p + 512 * blk + (blk ? 0 : 386);
		size_t slots = blk ? 21 : 4;

		for (size_t s = 0; s < slots && k < total; s++, k++) {
			uint64_t o = num(p + 24 * s, 12), l = num(p + 24 * s + 12, 12);

			if (k < n) {
				assert_int_equal(o, map.r[k].off);
				assert_int_equal(l, map.r[k].len);
			} else {
				assert_int_equal(o, realsize);
				assert_int_equal(l, 0);
			}
		}
		/* isextended set on every block but the last */
		assert_int_equal(blk ? b.p[512 * blk + 504] : b.p[482], blk < ext ? 1 : 0);
	}
	assert_int_equal(k, total);
	gm_tarbuf_free(&b);
	gm_rangeset_free(&map);
}

static void test_tar_write_sparse_extension_chains(void **state)
{
	(void)state;
	check_chain(1, true);
	check_chain(3, true);
	check_chain(4, false);    /* exactly fills the header */
	check_chain(4, true);     /* tail entry spills into an extension */
	check_chain(5, false);
	check_chain(25, false);   /* header + one full extension */
	check_chain(26, false);   /* two extensions */
	check_chain(300, true);
}

static void test_tar_write_sparse_rejects_bad_maps(void **state)
{
	struct gm_tar_hdr h = { .name = "disk.raw", .mode = 0644 };
	struct gm_rangeset map = GM_RANGESET_INIT;
	struct gm_tarbuf b = { 0 };

	(void)state;
	assert_int_equal(gm_tar_encode_sparse(&b, &h, &map, 1000), -EINVAL);   /* size % 512 */
	assert_int_equal(gm_rangeset_add(&map, 100, 512), 0);
	assert_int_equal(gm_tar_encode_sparse(&b, &h, &map, 4096), -EINVAL);   /* unaligned */
	gm_rangeset_clear(&map);
	assert_int_equal(gm_rangeset_add(&map, 4096, 4096), 0);
	assert_int_equal(gm_tar_encode_sparse(&b, &h, &map, 4096), -EINVAL);   /* past end */
	assert_int_equal(b.len, 0);
	/* an all-hole disk: just the tail entry */
	gm_rangeset_clear(&map);
	assert_int_equal(gm_tar_encode_sparse(&b, &h, &map, 1 << 20), 0);
	assert_int_equal(num(b.p + 386, 12), 1 << 20);
	assert_int_equal(num(b.p + 398, 12), 0);
	assert_int_equal(num(b.p + 124, 12), 0);
	gm_tarbuf_free(&b);
	gm_rangeset_free(&map);
}

static void test_tar_write_long_names(void **state)
{
	char name[300], link[200];
	struct gm_tar_hdr h = { .name = name, .linkname = link, .type = '2', .mode = 0777 };
	struct gm_tarbuf b = { 0 };

	(void)state;
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memset(link, 'l', sizeof(link) - 1);
	link[sizeof(link) - 1] = '\0';
	assert_int_equal(gm_tar_encode_header(&b, &h), 0);
	/* K header + 1 block, L header + 1 block, the header */
	assert_int_equal(b.len, 5 * 512);
	assert_string_equal((char *)b.p, "././@LongLink");
	assert_int_equal(b.p[156], 'K');
	assert_int_equal(num(b.p + 124, 12), sizeof(link));
	assert_memory_equal(b.p + 512, link, sizeof(link));
	assert_int_equal(b.p[1024 + 156], 'L');
	assert_memory_equal(b.p + 1536, name, sizeof(name));
	assert_int_equal(b.p[2048 + 156], '2');
	assert_memory_equal(b.p + 2048, name, 100);
	assert_true(gm_tar_checksum_ok(b.p + 2048));
	gm_tarbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tar_write_octal_and_base256),
		cmocka_unit_test(test_tar_write_checksum),
		cmocka_unit_test(test_tar_write_sparse_matches_gnu_tar),
		cmocka_unit_test(test_tar_write_sparse_extension_chains),
		cmocka_unit_test(test_tar_write_sparse_rejects_bad_maps),
		cmocka_unit_test(test_tar_write_long_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
