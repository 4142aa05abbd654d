/* test_gzout.c — the parallel gzip writer: valid gzip, same bytes whatever
 * the thread count, verify catches damage. */
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

#include "editor/container/gzout.h"

static int compress_to(const unsigned char *data, size_t n, unsigned threads, size_t piece)
{
	FILE *f = tmpfile();
	struct gm_gzout *g = NULL;
	uint64_t in = 0, out = 0;
	uint32_t crc = 0;
	int fd;

	assert_non_null(f);
	fd = dup(fileno(f));
	fclose(f);
	assert_int_equal(gm_gzout_new(fd, 6, threads, &g), 0);
	for (size_t i = 0; i < n; i += piece)
		assert_int_equal(gm_gzout_write(g, data + i, n - i < piece ? n - i : piece), 0);
	assert_int_equal(gm_gzout_finish(g, &in, &crc, &out), 0);
	gm_gzout_free(g);
	assert_int_equal(in, n);
	assert_int_equal(crc, crc32(0, data, (uInt)n));
	assert_int_equal(lseek(fd, 0, SEEK_END), (off_t)out);
	return fd;
}

static unsigned char *sample(size_t n)
{
	unsigned char *d = malloc(n);

	assert_non_null(d);
	srand(7);
	for (size_t i = 0; i < n; i++)   /* half text-like, half noise */
		d[i] = (i / 100000) % 2 ? (unsigned char)rand() : (unsigned char)("tar gz "[i % 7]);
	return d;
}

static void same_file(int a, int b)
{
	off_t n = lseek(a, 0, SEEK_END);
	unsigned char *x = malloc((size_t)n), *y = malloc((size_t)n);

	assert_int_equal(lseek(b, 0, SEEK_END), n);
	assert_int_equal(pread(a, x, (size_t)n, 0), n);
	assert_int_equal(pread(b, y, (size_t)n, 0), n);
	assert_memory_equal(x, y, (size_t)n);
	free(x);
	free(y);
}

static void test_gzout_deterministic_across_threads(void **state)
{
	size_t n = 5 * (1u << 20) + 12345;
	unsigned char *d = sample(n);
	int a = compress_to(d, n, 1, 4096), b = compress_to(d, n, 2, 1 << 20),
	    c = compress_to(d, n, 4, 777777);
	uint64_t in = 0;
	uint32_t crc = 0;

	(void)state;
	same_file(a, b);
	same_file(a, c);
	assert_int_equal(gm_gzip_verify(a, &in, &crc), 0);
	assert_int_equal(in, n);
	assert_int_equal(crc, crc32(0, d, (uInt)n));
	close(a);
	close(b);
	close(c);
	free(d);
}

static void test_gzout_empty_and_damage(void **state)
{
	int fd = compress_to((const unsigned char *)"", 0, 2, 1);
	off_t n = lseek(fd, 0, SEEK_END);
	uint64_t in = 1;
	unsigned char byte;

	(void)state;
	assert_int_equal(gm_gzip_verify(fd, &in, NULL), 0);
	assert_int_equal(in, 0);
	close(fd);
	fd = compress_to((const unsigned char *)"hello hello hello", 17, 1, 17);
	n = lseek(fd, 0, SEEK_END);
	assert_int_equal(ftruncate(fd, n - 1), 0);               /* truncated */
	assert_int_equal(gm_gzip_verify(fd, NULL, NULL), -EINVAL);
	close(fd);
	fd = compress_to((const unsigned char *)"hello hello hello", 17, 1, 17);
	assert_int_equal(pread(fd, &byte, 1, n - 6), 1);         /* CRC byte flipped */
	byte ^= 0xff;
	assert_int_equal(pwrite(fd, &byte, 1, n - 6), 1);
	assert_int_equal(gm_gzip_verify(fd, NULL, NULL), -EINVAL);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gzout_deterministic_across_threads),
		cmocka_unit_test(test_gzout_empty_and_damage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
