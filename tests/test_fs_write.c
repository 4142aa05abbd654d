/* test_fs_write.c — gm_fs_write, gm_fs_truncate, gm_fs_setattr. Every test
 * that writes ends with e2fsck -fn clean. */
#include "tests/fs_testlib.h"

#include <errno.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill(unsigned char *p, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13; x ^= x >> 17; x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

static void test_fs_write_small_file_and_times(void **state)
{
	struct tfs *t = tfs_new(16, "", "echo old > f");
	gm_ino_t ino = tfs_ino(t, "/f");
	struct ext2_inode_large before, after;
	char buf[64] = { 0 };

	(void)state;
	tfs_inode(t, ino, &before);
	sleep(1);
	assert_int_equal(gm_fs_write(t->fs, ino, "hello world\n", 12, 0), 12);
	assert_int_equal(tfs_size(t, ino), 12);
	assert_int_equal(tfs_read(t, ino, buf, sizeof(buf), 0), 12);
	assert_memory_equal(buf, "hello world\n", 12);
	tfs_inode(t, ino, &after);
	assert_true(after.i_mtime > before.i_mtime);
	assert_true(after.i_ctime > before.i_ctime);
	/* a zero-length write changes nothing */
	assert_int_equal(gm_fs_write(t->fs, ino, "", 0, 100), 0);
	assert_int_equal(tfs_size(t, ino), 12);
	/* append-style write in the middle of a block */
	assert_int_equal(gm_fs_write(t->fs, ino, "XY", 2, 5), 2);
	assert_int_equal(tfs_read(t, ino, buf, sizeof(buf), 0), 12);
	assert_memory_equal(buf, "helloXYorld\n", 12);
	tfs_fsck_clean(t);
	tfs_free(t);
}

static void test_fs_write_large_odd_chunks(void **state)
{
	const size_t total = 50u << 20;
	struct tfs *t = tfs_new(160, "", NULL);
	unsigned char *data = malloc(total), *back = malloc(total);
	gm_ino_t ino = tfs_create(t, GM_ROOT_INO, "big");
	size_t off = 0, chunk = 4093;
	double t0, dt;

	(void)state;
	assert_non_null(data);
	assert_non_null(back);
	fill(data, total, 7);
	t0 = now_s();
	while (off < total) {
		size_t n = total - off < chunk ? total - off : chunk;

		assert_int_equal(gm_fs_write(t->fs, ino, data + off, n, off), (ssize_t)n);
		off += n;
		chunk = chunk * 3 % 200003 + 511;   /* odd, varying sizes */
	}
	dt = now_s() - t0;
	print_message("[ info ] 50 MiB through gm_fs_write in odd chunks: %.2f s, %.1f MiB/s\n",
		      dt, 50.0 / dt);
	assert_int_equal(tfs_size(t, ino), total);
	tfs_close(t);
	tfs_open_image(t);          /* read back from disk, not from caches */
	memset(back, 0, total);
	assert_int_equal(tfs_read(t, ino, back, total, 0), total);
	assert_memory_equal(back, data, total);
	/* i_blocks: 50 MiB of data plus a few extent tree blocks */
	struct ext2_inode_large in;
	tfs_inode(t, ino, &in);
	assert_true(ext2fs_get_stat_i_blocks(t->fs->e2fs, (struct ext2_inode *)&in) >= total / 512);
	assert_true(ext2fs_get_stat_i_blocks(t->fs->e2fs, (struct ext2_inode *)&in) <=
		    total / 512 + 64);
	free(data);
	free(back);
	tfs_fsck_clean(t);
	tfs_free(t);
}

/* The direct path for whole blocks (fs_write.c write_whole_blocks) against
 * an in-memory model: appends, a gap past the end, overwrites of mapped
 * blocks, writes straddling the end, and writes over an uninitialized
 * extent (made by ext2fs_fallocate FORCE_UNINIT, as fallocate(2) would),
 * which must take the ordinary path and read back what was written. */
static void test_fs_write_direct_path_model(void **state)
{
	const size_t total = 24u << 20;
	struct tfs *t = tfs_new(64, "", NULL);
	unsigned char *model = calloc(1, total), *data = malloc(total), *back = malloc(total);
	gm_ino_t ino = tfs_create(t, GM_ROOT_INO, "direct"), un;
	struct { uint64_t off; size_t len; } w[] = {
		{ 0, 1u << 20 },             /* append, aligned */
		{ 3, (1u << 20) + 5 },       /* overwrite, unaligned both ends */
		{ 5u << 20, 2u << 20 },      /* past the end: leaves a hole */
		{ (3u << 20) + 100, 1u << 20 },   /* inside the hole: ordinary path */
		{ (6u << 20) + 7, 4u << 20 },     /* straddles the end */
		{ 4096 * 17, 4096 * 40 },    /* overwrite mapped blocks exactly */
	};
	uint64_t size = 0;
	struct ext2_inode_large in;

	(void)state;
	assert_non_null(model);
	assert_non_null(data);
	assert_non_null(back);
	fill(data, total, 99);
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		assert_int_equal(gm_fs_write(t->fs, ino, data + i * 4096, w[i].len, w[i].off),
				 (ssize_t)w[i].len);
		memcpy(model + w[i].off, data + i * 4096, w[i].len);
		if (w[i].off + w[i].len > size)
			size = w[i].off + w[i].len;
	}
	assert_int_equal(tfs_size(t, ino), size);
	assert_int_equal(tfs_read(t, ino, back, size, 0), size);
	assert_memory_equal(back, model, size);

	/* An uninitialized extent (reads as zeros) then a big write over it. */
	un = tfs_create(t, GM_ROOT_INO, "uninit");
	tfs_inode(t, un, &in);
	assert_int_equal(ext2fs_fallocate(t->fs->e2fs, EXT2_FALLOCATE_FORCE_UNINIT |
					  EXT2_FALLOCATE_INIT_BEYOND_EOF, un,
					  (struct ext2_inode *)&in, ~0ULL, 0, 256), 0);
	in.i_size = 256 * 4096;
	assert_int_equal(ext2fs_write_inode_full(t->fs->e2fs, un, (struct ext2_inode *)&in,
						 sizeof(in)), 0);
	assert_int_equal(gm_fs_write(t->fs, un, data, 128 * 4096, 64 * 4096), 128 * 4096);

	tfs_close(t);
	tfs_open_image(t);           /* from disk, not caches */
	assert_int_equal(tfs_read(t, ino, back, size, 0), size);
	assert_memory_equal(back, model, size);
	memset(model, 0, 256 * 4096);
	memcpy(model + 64 * 4096, data, 128 * 4096);
	assert_int_equal(tfs_read(t, un, back, 256 * 4096, 0), 256 * 4096);
	assert_memory_equal(back, model, 256 * 4096);
	free(model);
	free(data);
	free(back);
	tfs_fsck_clean(t);
	tfs_free(t);
}

static void test_fs_write_sparse_holes(void **state)
{
	struct tfs *t = tfs_new(16, "", NULL);
	gm_ino_t ino = tfs_create(t, GM_ROOT_INO, "sparse");
	const uint64_t far = 5ULL << 30;     /* 5 GiB: also needs large_file */
	struct ext2_inode_large in;
	char buf[8192];

	(void)state;
	assert_int_equal(gm_fs_write(t->fs, ino, "A", 1, 0), 1);
	assert_int_equal(gm_fs_write(t->fs, ino, "Z", 1, far), 1);
	assert_int_equal(tfs_size(t, ino), far + 1);
	tfs_inode(t, ino, &in);
	assert_true(ext2fs_get_stat_i_blocks(t->fs->e2fs, (struct ext2_inode *)&in) <= 3 * 8);
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(tfs_read(t, ino, buf, sizeof(buf), 1ULL << 30), sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(tfs_read(t, ino, buf, 2, far - 1), 2);
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[1], 'Z');
	assert_true(ext2fs_has_feature_large_file(t->fs->e2fs->super));
	tfs_fsck_clean(t);
	tfs_free(t);
}

static void test_fs_write_truncate_down_and_up(void **state)
{
	struct tfs *t = tfs_new(32, "", NULL);
	gm_ino_t ino = tfs_create(t, GM_ROOT_INO, "t");
	size_t n = 1 << 20;
	unsigned char *d = malloc(n), *b = calloc(1, n);
	struct ext2_inode_large in;
	blk64_t free0, free1, free2;

	(void)state;
	fill(d, n, 3);
	free0 = ext2fs_free_blocks_count(t->fs->e2fs->super);
	assert_int_equal(gm_fs_write(t->fs, ino, d, n, 0), (ssize_t)n);
	free1 = ext2fs_free_blocks_count(t->fs->e2fs->super);
	assert_true(free0 - free1 >= 256);
	assert_int_equal(gm_fs_truncate(t->fs, ino, 10000), 0);
	free2 = ext2fs_free_blocks_count(t->fs->e2fs->super);
	assert_true(free2 - free1 >= 253);           /* blocks given back */
	tfs_inode(t, ino, &in);
	assert_int_equal(EXT2_I_SIZE(&in), 10000);
	assert_int_equal(ext2fs_get_stat_i_blocks(t->fs->e2fs, (struct ext2_inode *)&in), 3 * 8);
	/* grow: a hole; the bytes past the old end read as zeros */
	assert_int_equal(gm_fs_truncate(t->fs, ino, 5u << 20), 0);
	assert_int_equal(tfs_size(t, ino), 5u << 20);
	tfs_inode(t, ino, &in);
	assert_int_equal(ext2fs_get_stat_i_blocks(t->fs->e2fs, (struct ext2_inode *)&in), 3 * 8);
	assert_int_equal(tfs_read(t, ino, b, n, 0), n);
	assert_memory_equal(b, d, 10000);
	for (size_t i = 10000; i < n; i++)
		if (b[i] != 0)
			fail_msg("byte %zu not zero after truncate down+up", i);
	assert_int_equal(gm_fs_truncate(t->fs, ino, 0), 0);
	tfs_inode(t, ino, &in);
	assert_int_equal(EXT2_I_SIZE(&in), 0);
	assert_int_equal(in.i_blocks, 0);
	assert_int_equal(gm_fs_truncate(t->fs, GM_ROOT_INO, 0), -EISDIR);
	free(d);
	free(b);
	tfs_fsck_clean(t);
	tfs_free(t);
}

static void test_fs_write_setattr_fields(void **state)
{
	struct tfs *t = tfs_new(16, "", "echo data > f; mkdir d");
	gm_ino_t ino = tfs_ino(t, "/f");
	struct gm_setattr sa = { 0 };
	struct ext2_inode_large in;
	struct stat st;

	(void)state;
	sa.valid = GM_SET_MODE | GM_SET_UID | GM_SET_GID | GM_SET_ATIME | GM_SET_MTIME;
	sa.mode = S_IFDIR | 04751;             /* the type bits must be ignored */
	sa.uid = 100000;
	sa.gid = 4000000000u;
	sa.atime = (struct timespec){ .tv_sec = 1000000000, .tv_nsec = 123456789 };
	sa.mtime = (struct timespec){ .tv_sec = 4102444800LL, .tv_nsec = 999999999 }; /* 2100 */
	assert_int_equal(gm_fs_setattr(t->fs, ino, &sa, &st), 0);
	assert_int_equal(st.st_mode, S_IFREG | 04751);
	assert_int_equal(st.st_uid, 100000);
	assert_int_equal(st.st_gid, 4000000000u);
	assert_int_equal(st.st_atim.tv_sec, 1000000000);
	assert_int_equal(st.st_atim.tv_nsec, 123456789);
	assert_int_equal(st.st_mtim.tv_sec, 4102444800LL);
	assert_int_equal(st.st_mtim.tv_nsec, 999999999);
	assert_true(st.st_ctim.tv_sec >= time(NULL) - 5);
	tfs_close(t);
	tfs_open_image(t);
	tfs_inode(t, ino, &in);
	assert_int_equal(in.i_mode, S_IFREG | 04751);
	assert_int_equal(inode_uid(in), 100000);
	assert_int_equal(inode_gid(in), 4000000000u);
	assert_int_equal(in.i_mtime_extra & EXT4_EPOCH_MASK, 1);
	/* size through setattr, and "now" */
	sa = (struct gm_setattr){ .valid = GM_SET_SIZE | GM_SET_MTIME_NOW | GM_SET_ATIME_NOW,
				  .size = 2 };
	assert_int_equal(gm_fs_setattr(t->fs, ino, &sa, &st), 0);
	assert_int_equal(st.st_size, 2);
	assert_true(st.st_mtim.tv_sec >= time(NULL) - 5 && st.st_mtim.tv_sec <= time(NULL));
	/* a directory keeps its type */
	sa = (struct gm_setattr){ .valid = GM_SET_MODE, .mode = 0700 };
	assert_int_equal(gm_fs_setattr(t->fs, tfs_ino(t, "/d"), &sa, &st), 0);
	assert_int_equal(st.st_mode, S_IFDIR | 0700);
	tfs_fsck_clean(t);
	tfs_free(t);
}

static void test_fs_write_read_only_refused(void **state)
{
	struct tfs *t = tfs_new(16, "", "echo data > f");
	gm_ino_t ino = tfs_ino(t, "/f");
	struct gm_setattr sa = { .valid = GM_SET_MODE, .mode = 0600 };

	(void)state;
	t->fs->read_only = true;
	assert_int_equal(gm_fs_write(t->fs, ino, "x", 1, 0), -EROFS);
	assert_int_equal(gm_fs_truncate(t->fs, ino, 0), -EROFS);
	assert_int_equal(gm_fs_setattr(t->fs, ino, &sa, NULL), -EROFS);
	assert_non_null(strstr(gm_error_msg(&t->fs->err), "read-only"));
	assert_int_equal(gm_fs_write(t->fs, GM_ROOT_INO, "x", 1, 0), -EROFS);
	t->fs->read_only = false;
	assert_int_equal(gm_fs_write(t->fs, GM_ROOT_INO, "x", 1, 0), -EISDIR);
	/* chattr +i refuses, chattr +a only appends */
	struct ext2_inode_large in;
	tfs_inode(t, ino, &in);
	in.i_flags |= EXT2_IMMUTABLE_FL;
	assert_int_equal(gm_fsi_write(t->fs, ino, &in), 0);
	assert_int_equal(gm_fs_write(t->fs, ino, "x", 1, 0), -EPERM);
	assert_int_equal(gm_fs_truncate(t->fs, ino, 0), -EPERM);
	in.i_flags = (in.i_flags & ~EXT2_IMMUTABLE_FL) | EXT2_APPEND_FL;
	assert_int_equal(gm_fsi_write(t->fs, ino, &in), 0);
	assert_int_equal(gm_fs_write(t->fs, ino, "x", 1, 0), -EPERM);
	assert_int_equal(gm_fs_write(t->fs, ino, "more\n", 5, 5), 5);
	assert_int_equal(gm_fs_truncate(t->fs, ino, 0), -EPERM);
	tfs_inode(t, ino, &in);
	in.i_flags &= ~EXT2_APPEND_FL;
	assert_int_equal(gm_fsi_write(t->fs, ino, &in), 0);
	tfs_fsck_clean(t);
	tfs_free(t);
}

static void test_fs_write_enospc_stays_clean(void **state)
{
	struct tfs *t = tfs_new(4, "-N 64", NULL);
	gm_ino_t ino = tfs_create(t, GM_ROOT_INO, "fill");
	size_t n = 256 << 10;
	unsigned char *d = malloc(n);
	uint64_t off = 0;
	ssize_t rc;

	(void)state;
	fill(d, n, 9);
	for (;;) {
		rc = gm_fs_write(t->fs, ino, d, n, off);
		if (rc < 0)
			break;
		off += n;
		assert_true(off < (8u << 20));
	}
	assert_int_equal(rc, -ENOSPC);
	/* creating inodes until none is left gives -ENOSPC as well */
	char name[32];
	int i, r = 0;
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		r = gm_fs_mknod(t->fs, GM_ROOT_INO, name, S_IFREG | 0644, 0, NULL, NULL);
		if (r)
			break;
	}
	assert_int_equal(r, -ENOSPC);
	free(d);
	tfs_fsck_clean(t);
	tfs_free(t);
}

static void test_fs_write_inline_data_grows(void **state)
{
	struct tfs *t = tfs_new(16, "-O inline_data",
				"printf tiny > small; printf tiny2 > t2; printf 0123456789 > t3");
	gm_ino_t ino = tfs_ino(t, "/small"), i2 = tfs_ino(t, "/t2"), i3 = tfs_ino(t, "/t3");
	struct ext2_inode_large in;
	unsigned char d[20000], b[20000];

	(void)state;
	tfs_inode(t, ino, &in);
	assert_true(in.i_flags & EXT4_INLINE_DATA_FL);
	fill(d, sizeof(d), 5);
	assert_int_equal(gm_fs_write(t->fs, ino, d, 100, 0), 100);      /* still inline-able */
	assert_int_equal(gm_fs_write(t->fs, ino, d, sizeof(d), 0), (ssize_t)sizeof(d));
	tfs_inode(t, ino, &in);
	assert_false(in.i_flags & EXT4_INLINE_DATA_FL);
	assert_int_equal(tfs_read(t, ino, b, sizeof(b), 0), sizeof(b));
	assert_memory_equal(b, d, sizeof(d));
	assert_int_equal(gm_fs_truncate(t->fs, ino, 10), 0);
	assert_int_equal(tfs_size(t, ino), 10);
	/* truncating inline files: up past a block, and down */
	assert_int_equal(gm_fs_truncate(t->fs, i2, 100000), 0);
	assert_int_equal(tfs_size(t, i2), 100000);
	assert_int_equal(tfs_read(t, i2, b, 8, 0), 8);
	assert_memory_equal(b, "tiny2\0\0\0", 8);
	if (gm_fs_truncate(t->fs, i3, 4)) fail_msg("%s", gm_error_msg(&t->fs->err));
	assert_int_equal(tfs_size(t, i3), 4);
	assert_int_equal(gm_fs_truncate(t->fs, i3, 30), 0);
	assert_int_equal(tfs_read(t, i3, b, 40, 0), 30);
	assert_memory_equal(b, "0123\0\0\0\0\0\0", 10);
	/* a small write into the middle of a 3 KiB-past-end inline file */
	assert_int_equal(gm_fs_write(t->fs, i3, "AB", 2, 3000), 2);
	assert_int_equal(tfs_size(t, i3), 3002);
	tfs_fsck_clean(t);
	tfs_free(t);
}

/* Block-mapped (ext3-style, no extents) files: write, sparse write past the
 * indirect blocks, truncate. */
static void test_fs_write_ext3_block_mapped(void **state)
{
	struct tfs *t = tfs_new(64, "-O ^extent,^flex_bg,^huge_file,^metadata_csum,^64bit",
				NULL);
	gm_ino_t ino = tfs_create(t, GM_ROOT_INO, "old");
	size_t n = 3u << 20;
	unsigned char *d = malloc(n), *b = malloc(n);
	struct ext2_inode_large in;

	(void)state;
	tfs_inode(t, ino, &in);
	assert_false(in.i_flags & EXT4_EXTENTS_FL);
	fill(d, n, 11);
	assert_int_equal(gm_fs_write(t->fs, ino, d, n, 0), (ssize_t)n);
	assert_int_equal(gm_fs_write(t->fs, ino, d, 4096, 1ULL << 32), 4096);  /* double indirect */
	assert_int_equal(tfs_read(t, ino, b, n, 0), n);
	assert_memory_equal(b, d, n);
	assert_int_equal(gm_fs_truncate(t->fs, ino, 70000), 0);
	assert_int_equal(tfs_size(t, ino), 70000);
	free(d);
	free(b);
	tfs_fsck_clean(t);
	tfs_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fs_write_small_file_and_times),
		cmocka_unit_test(test_fs_write_large_odd_chunks),
		cmocka_unit_test(test_fs_write_direct_path_model),
		cmocka_unit_test(test_fs_write_sparse_holes),
		cmocka_unit_test(test_fs_write_truncate_down_and_up),
		cmocka_unit_test(test_fs_write_setattr_fields),
		cmocka_unit_test(test_fs_write_read_only_refused),
		cmocka_unit_test(test_fs_write_enospc_stays_clean),
		cmocka_unit_test(test_fs_write_inline_data_grows),
		cmocka_unit_test(test_fs_write_ext3_block_mapped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
