/* test_io_manager.c — the libext2fs io_manager over a byte range of the
 * image: offsets, bounds (never outside the partition), dirty marking,
 * read-only refusal, the name registry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "editor/container/image.h"
#include "editor/disk/io_manager.h"
#include "tests/fixture.h"

static char tmpdir[4096];

static int setup_all(void **state)
{
	(void)state;
	if (!fx_enter_tmpdir(tmpdir, sizeof(tmpdir)))
		return -1;
	/* 4 MiB disk: bytes [i] = i % 251, so every offset is recognisable */
	return fx_sh("python3 -c \"open('d.raw','wb').write(bytes(i %% 251 for i in range(4 << 20)))\"");
}

static int teardown_all(void **state)
{
	(void)state;
	fx_leave_tmpdir(tmpdir);
	return 0;
}

static void open_chan(bool ro, uint64_t off, uint64_t size, struct gm_image **img, io_channel *io)
{
	struct gm_image_opts o = { .read_only = ro };
	struct gm_error err = { 0 };
	char name[64];

	assert_int_equal(gm_image_open("d.raw", &o, img, &err), 0);
	assert_int_equal(gm_io_register(*img, off, size, name, sizeof(name)), 0);
	assert_int_equal(gm_io_manager->open(name, ro ? 0 : IO_FLAG_RW, io), 0);
	/* a name opens one channel only */
	io_channel again = NULL;
	assert_int_not_equal(gm_io_manager->open(name, 0, &again), 0);
}

static void test_io_manager_reads_at_offset_and_bounds(void **state)
{
	struct gm_image *img;
	io_channel io;
	unsigned char buf[2048];

	open_chan(true, 1048576, 1048576, &img, &io);
	assert_int_equal(io_channel_set_blksize(io, 1024), 0);
	assert_int_equal(io_channel_read_blk64(io, 3, 2, buf), 0);
	for (int i = 0; i < 2048; i++)
		assert_int_equal(buf[i], (1048576 + 3 * 1024 + i) % 251);
	/* byte-count form (negative count) */
	assert_int_equal(io_channel_read_blk64(io, 1, -100, buf), 0);
	assert_int_equal(buf[0], (1048576 + 1024) % 251);
	/* the last block is fine, one past it is not, nor a request straddling the end */
	assert_int_equal(io_channel_read_blk64(io, 1023, 1, buf), 0);
	assert_int_not_equal(io_channel_read_blk64(io, 1024, 1, buf), 0);
	assert_int_not_equal(io_channel_read_blk64(io, 1023, 2, buf), 0);
	assert_int_not_equal(io_channel_read_blk64(io, (1ull << 62), 1, buf), 0);
	/* read-only: no writes */
	assert_int_not_equal(io_channel_write_blk64(io, 0, 1, buf), 0);
	assert_false(gm_image_dirty(img));
	assert_int_equal(io_channel_close(io), 0);
	gm_image_close(img);
}

static void test_io_manager_writes_mark_dirty(void **state)
{
	struct gm_image *img;
	io_channel io;
	unsigned char buf[4096], back[4096];
	const struct gm_rangeset *dm;
	int fd;

	open_chan(false, 1048576, 2 * 1048576, &img, &io);
	assert_int_equal(io_channel_set_blksize(io, 4096), 0);
	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(io_channel_write_blk64(io, 2, 1, buf), 0);
	assert_int_equal(io_channel_write_byte(io, 100, 10, buf), 0);
	assert_int_not_equal(io_channel_write_blk64(io, 512, 1, buf), 0);       /* past the end */
	assert_int_not_equal(io_channel_write_byte(io, 2 * 1048576 - 5, 10, buf), 0);
	dm = gm_image_dirty_map(img);
	/* the image may round its dirty map, but it must cover exactly what was
	 * written and nothing far from it */
	assert_true(gm_rangeset_contains(dm, 1048576 + 100, 10));
	assert_true(gm_rangeset_contains(dm, 1048576 + 2 * 4096, 4096));
	assert_false(gm_rangeset_overlaps(dm, 0, 1048576));
	assert_false(gm_rangeset_overlaps(dm, 1048576 + 4 * 4096, 3 * 1048576 - 4 * 4096));
	assert_int_equal(io_channel_close(io), 0);
	gm_image_close(img);
	fd = open("d.raw", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, back, sizeof(back), 1048576 + 2 * 4096), (ssize_t)sizeof(back));
	assert_memory_equal(back, buf, sizeof(back));
	/* neighbours untouched */
	assert_int_equal(pread(fd, back, 1, 1048576 + 2 * 4096 - 1), 1);
	assert_int_equal(back[0], (1048576 + 2 * 4096 - 1) % 251);
	assert_int_equal(pread(fd, back, 1, 1048575), 1);
	assert_int_equal(back[0], 1048575 % 251);
	close(fd);
}

static void test_io_manager_registry(void **state)
{
	struct gm_image_opts o = { .read_only = true };
	struct gm_error err = { 0 };
	struct gm_image *img;
	io_channel io = NULL;
	char name[64];

	assert_int_equal(gm_image_open("d.raw", &o, &img, &err), 0);
	assert_int_not_equal(gm_io_manager->open("gm-io:999999", 0, &io), 0);
	assert_int_not_equal(gm_io_manager->open("/etc/passwd", 0, &io), 0);
	assert_int_equal(gm_io_register(img, 0, 4096, name, sizeof(name)), 0);
	/* a read-only image refuses a read-write channel */
	assert_int_not_equal(gm_io_manager->open(name, IO_FLAG_RW, &io), 0);
	gm_io_unregister(name);
	assert_int_not_equal(gm_io_manager->open(name, 0, &io), 0);
	/* many registrations, each dropped: the table never fills up */
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(gm_io_register(img, 0, 4096, name, sizeof(name)), 0);
		gm_io_unregister(name);
	}
	gm_image_close(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_io_manager_reads_at_offset_and_bounds),
		cmocka_unit_test(test_io_manager_writes_mark_dirty),
		cmocka_unit_test(test_io_manager_registry),
	};

	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
