/* test_fs_dir.c — gm_fs_mknod/mkdir/symlink/link/unlink/rmdir/rename. Every
 * test that writes ends with e2fsck -fn clean. */
#include "tests/fs_testlib.h"

#include <errno.h>
#include <sys/sysmacros.h>
#include <time.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#endif

static unsigned links(struct tfs *t, gm_ino_t ino)
{
	struct ext2_inode_large in;

	tfs_inode(t, ino, &in);
	return in.i_links_count;
}

static gm_ino_t dotdot(struct tfs *t, gm_ino_t dir)
{
	ext2_ino_t p = 0;

	assert_int_equal(ext2fs_lookup(t->fs->e2fs, dir, "..", 2, NULL, &p), 0);
	return p;
}

static bool inode_in_use(struct tfs *t, gm_ino_t ino)
{
	return ext2fs_test_inode_bitmap2(t->fs->e2fs->inode_map, ino);
}

static void test_fs_dir_names_checked(void **state)
{
	struct tfs *t = tfs_new(16, "", "echo x > f; mkdir d");
	struct gm_fs *fs = t->fs;
	char longname[300];

	(void)state;
	memset(longname, 'a', sizeof(longname));
	longname[256] = '\0';
	assert_int_equal(gm_fs_mknod(fs, GM_ROOT_INO, "", S_IFREG | 0644, 0, NULL, NULL), -EINVAL);
	assert_int_equal(gm_fs_mknod(fs, GM_ROOT_INO, ".", S_IFREG | 0644, 0, NULL, NULL), -EINVAL);
	assert_int_equal(gm_fs_mkdir(fs, GM_ROOT_INO, "..", 0755, NULL, NULL), -EINVAL);
	assert_int_equal(gm_fs_mknod(fs, GM_ROOT_INO, "a/b", S_IFREG | 0644, 0, NULL, NULL), -EINVAL);
	assert_int_equal(gm_fs_mknod(fs, GM_ROOT_INO, longname, S_IFREG, 0, NULL, NULL), -ENAMETOOLONG);
	longname[255] = '\0';
	assert_int_equal(gm_fs_mknod(fs, GM_ROOT_INO, longname, S_IFREG, 0, NULL, NULL), 0);
	assert_int_equal(gm_fs_mknod(fs, GM_ROOT_INO, "f", S_IFREG | 0644, 0, NULL, NULL), -EEXIST);
	assert_int_equal(gm_fs_mkdir(fs, GM_ROOT_INO, "d", 0755, NULL, NULL), -EEXIST);
	assert_int_equal(gm_fs_symlink(fs, GM_ROOT_INO, "f", "x", NULL, NULL), -EEXIST);
	assert_int_equal(gm_fs_mknod(fs, tfs_ino(t, "/f"), "x", S_IFREG, 0, NULL, NULL), -ENOTDIR);
	assert_int_equal(gm_fs_unlink(fs, GM_ROOT_INO, "nope"), -ENOENT);
	assert_int_equal(gm_fs_unlink(fs, GM_ROOT_INO, "d"), -EISDIR);
	assert_int_equal(gm_fs_rmdir(fs, GM_ROOT_INO, "f"), -ENOTDIR);
	assert_int_equal(gm_fs_mknod(fs, GM_ROOT_INO, "dir", S_IFDIR | 0755, 0, NULL, NULL), -EINVAL);
	fs->read_only = true;
	assert_int_equal(gm_fs_mknod(fs, GM_ROOT_INO, "g", S_IFREG, 0, NULL, NULL), -EROFS);
	assert_int_equal(gm_fs_mkdir(fs, GM_ROOT_INO, "g", 0755, NULL, NULL), -EROFS);
	assert_int_equal(gm_fs_symlink(fs, GM_ROOT_INO, "g", "x", NULL, NULL), -EROFS);
	assert_int_equal(gm_fs_link(fs, tfs_ino(t, "/f"), GM_ROOT_INO, "g"), -EROFS);
	assert_int_equal(gm_fs_unlink(fs, GM_ROOT_INO, "f"), -EROFS);
	assert_int_equal(gm_fs_rmdir(fs, GM_ROOT_INO, "d"), -EROFS);
	assert_int_equal(gm_fs_rename(fs, GM_ROOT_INO, "f", GM_ROOT_INO, "g", 0), -EROFS);
	fs->read_only = false;
	tfs_fsck_clean(t);
	tfs_free(t);
}

static void test_fs_dir_mknod_types_and_devices(void **state)
{
	struct tfs *t = tfs_new(16, "", NULL);
	struct gm_fs *fs = t->fs;
	struct gm_creds cr = { .uid = 1000, .gid = 100000 };
	struct ext2_inode_large in;
	gm_ino_t ino;
	struct stat st;

	(void)state;
	assert_int_equal(gm_fs_mknod(fs, GM_ROOT_INO, "fifo", S_IFIFO | 0600, 0, &cr, &ino), 0);
	tfs_inode(t, ino, &in);
	assert_int_equal(in.i_mode, S_IFIFO | 0600);
	assert_int_equal(inode_uid(in), 1000);
	assert_int_equal(inode_gid(in), 100000);
	assert_int_equal(in.i_extra_isize, sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE);
	assert_true(in.i_crtime >= (__u32)time(NULL) - 5);
	assert_int_equal(gm_fs_mknod(fs, GM_ROOT_INO, "sock", S_IFSOCK | 0755, 0, NULL, &ino), 0);
	/* old (8:8 bit) encoding */
	assert_int_equal(gm_fs_mknod(fs, GM_ROOT_INO, "null", S_IFCHR | 0666, makedev(1, 3), NULL,
				     &ino), 0);
	tfs_inode(t, ino, &in);
	assert_int_equal(in.i_block[0], 0x0103);
	assert_int_equal(in.i_block[1], 0);
	assert_int_equal(gm_fs_getattr(fs, ino, &st), 0);
	assert_int_equal(st.st_rdev, makedev(1, 3));
	/* new encoding: major 300, minor 70000 */
	assert_int_equal(gm_fs_mknod(fs, GM_ROOT_INO, "big", S_IFBLK | 0600, makedev(300, 70000),
				     NULL, &ino), 0);
	tfs_inode(t, ino, &in);
	assert_int_equal(in.i_block[0], 0);
	assert_int_equal(in.i_block[1], (70000 & 0xff) | (300 << 8) | ((70000 & ~0xff) << 12));
	assert_int_equal(gm_fs_getattr(fs, ino, &st), 0);
	assert_int_equal(major(st.st_rdev), 300);
	assert_int_equal(minor(st.st_rdev), 70000);
	/* default owner from the handle; type 0 means a regular file */
	fs->owner.uid = 7;
	fs->owner.gid = 8;
	assert_int_equal(gm_fs_mknod(fs, GM_ROOT_INO, "plain", 0640, 0, NULL, &ino), 0);
	tfs_inode(t, ino, &in);
	assert_int_equal(in.i_mode, S_IFREG | 0640);
	assert_int_equal(inode_uid(in), 7);
	assert_true(in.i_flags & EXT4_EXTENTS_FL);
	tfs_fsck_clean(t);
	/* debugfs, an independent reader, sees the device numbers */
	assert_int_equal(tsh("debugfs -R 'stat /big' '%s' 2>/dev/null | grep -q 'Device major/minor "
			     "number: 300:70000'", t->img), 0);
	tfs_free(t);
}

static void test_fs_dir_mkdir_rmdir_nesting(void **state)
{
	struct tfs *t = tfs_new(16, "", NULL);
	struct gm_fs *fs = t->fs;
	unsigned root0 = links(t, GM_ROOT_INO);
	gm_ino_t a, b, c, s;
	struct ext2_inode_large in;

	(void)state;
	assert_int_equal(gm_fs_mkdir(fs, GM_ROOT_INO, "a", 0750, NULL, &a), 0);
	assert_int_equal(gm_fs_mkdir(fs, a, "b", 0755, NULL, &b), 0);
	assert_int_equal(gm_fs_mkdir(fs, b, "c", 0700, NULL, &c), 0);
	assert_int_equal(links(t, GM_ROOT_INO), root0 + 1);
	assert_int_equal(links(t, a), 3);
	/* dir_nlink: a parent past 65000 links counts as 1 (test-only setup,
	 * restored before e2fsck) */
	struct ext2_inode_large pin;
	gm_ino_t many;
	tfs_inode(t, c, &pin);
	pin.i_links_count = EXT2_LINK_MAX - 1;
	assert_int_equal(gm_fsi_write(fs, c, &pin), 0);
	assert_int_equal(gm_fs_mkdir(fs, c, "many", 0755, NULL, &many), 0);
	assert_int_equal(links(t, c), 1);
	assert_int_equal(gm_fs_rmdir(fs, c, "many"), 0);
	assert_int_equal(links(t, c), 1);
	tfs_inode(t, c, &pin);
	pin.i_links_count = 2;
	assert_int_equal(gm_fsi_write(fs, c, &pin), 0);
	assert_int_equal(links(t, c), 2);
	tfs_inode(t, a, &in);
	assert_int_equal(in.i_mode, S_IFDIR | 0750);
	assert_int_equal(dotdot(t, c), b);
	if (gm_fs_rmdir(fs, GM_ROOT_INO, "a") != -ENOTEMPTY) fail_msg("%s", gm_error_msg(&fs->err));
	tfs_create(t, c, "file");
	assert_int_equal(gm_fs_rmdir(fs, b, "c"), -ENOTEMPTY);
	assert_int_equal(gm_fs_unlink(fs, c, "file"), 0);
	/* setgid directories hand down their group (and the bit to subdirs) */
	struct gm_setattr sa = { .valid = GM_SET_MODE | GM_SET_GID, .mode = 02775, .gid = 555 };
	assert_int_equal(gm_fs_setattr(fs, b, &sa, NULL), 0);
	assert_int_equal(gm_fs_mkdir(fs, b, "sg", 0755, NULL, &s), 0);
	tfs_inode(t, s, &in);
	assert_int_equal(in.i_mode, S_IFDIR | 02755);
	assert_int_equal(inode_gid(in), 555);
	assert_int_equal(gm_fs_rmdir(fs, b, "sg"), 0);
	assert_int_equal(gm_fs_rmdir(fs, b, "c"), 0);
	assert_false(inode_in_use(t, c));
	assert_int_equal(links(t, b), 2);
	assert_int_equal(gm_fs_rmdir(fs, a, "b"), 0);
	assert_int_equal(gm_fs_rmdir(fs, GM_ROOT_INO, "a"), 0);
	assert_int_equal(links(t, GM_ROOT_INO), root0);
	assert_int_equal(tfs_ino(t, "/a"), 0);
	tfs_fsck_clean(t);
	tfs_free(t);
}

static void test_fs_dir_symlinks_fast_and_slow(void **state)
{
	struct tfs *t = tfs_new(16, "", NULL);
	struct gm_fs *fs = t->fs;
	struct gm_creds cr = { .uid = 33, .gid = 44 };
	struct ext2_inode_large in;
	char target[300], buf[400];
	gm_ino_t ino;

	(void)state;
	assert_int_equal(gm_fs_symlink(fs, GM_ROOT_INO, "fast", "/etc/passwd", &cr, &ino), 0);
	tfs_inode(t, ino, &in);
	assert_int_equal(in.i_mode, S_IFLNK | 0777);
	assert_int_equal(EXT2_I_SIZE(&in), 11);
	assert_int_equal(inode_uid(in), 33);
	assert_int_equal(inode_gid(in), 44);
	assert_true(ext2fs_is_fast_symlink((struct ext2_inode *)&in));
	assert_memory_equal((char *)in.i_block, "/etc/passwd", 11);
	memset(target, 'x', sizeof(target));
	memcpy(target, "../", 3);
	target[250] = '\0';
	assert_int_equal(gm_fs_symlink(fs, GM_ROOT_INO, "slow", target, NULL, &ino), 0);
	tfs_inode(t, ino, &in);
	assert_int_equal(EXT2_I_SIZE(&in), 250);
	assert_false(ext2fs_is_fast_symlink((struct ext2_inode *)&in));
	assert_int_equal(tfs_read(t, ino, buf, sizeof(buf), 0), 250);
	assert_memory_equal(buf, target, 250);
	char huge[5000];
	memset(huge, 'y', sizeof(huge));
	huge[4999] = '\0';
	assert_int_equal(gm_fs_symlink(fs, GM_ROOT_INO, "huge", huge, NULL, NULL), -ENAMETOOLONG);
	assert_int_equal(gm_fs_symlink(fs, GM_ROOT_INO, "empty", "", NULL, NULL), -ENOENT);
	assert_int_equal(gm_fs_unlink(fs, GM_ROOT_INO, "slow"), 0);
	assert_false(inode_in_use(t, ino));
	tfs_fsck_clean(t);
	assert_int_equal(tsh("debugfs -R 'stat /fast' '%s' 2>/dev/null | grep -q "
			     "'Fast link dest: \"/etc/passwd\"'", t->img), 0);
	tfs_free(t);
}

static void test_fs_dir_hard_links(void **state)
{
	struct tfs *t = tfs_new(16, "", "echo data > f; mkdir d");
	struct gm_fs *fs = t->fs;
	gm_ino_t f = tfs_ino(t, "/f"), d = tfs_ino(t, "/d");
	struct ext2_inode_large in;

	(void)state;
	assert_int_equal(gm_fs_link(fs, f, d, "f2"), 0);
	assert_int_equal(gm_fs_link(fs, f, GM_ROOT_INO, "f3"), 0);
	assert_int_equal(links(t, f), 3);
	assert_int_equal(tfs_ino(t, "/d/f2"), f);
	assert_int_equal(gm_fs_link(fs, f, d, "f2"), -EEXIST);
	assert_int_equal(gm_fs_link(fs, d, GM_ROOT_INO, "dlink"), -EPERM);
	assert_int_equal(gm_fs_unlink(fs, GM_ROOT_INO, "f"), 0);
	assert_int_equal(links(t, f), 2);
	assert_true(inode_in_use(t, f));
	assert_int_equal(gm_fs_unlink(fs, d, "f2"), 0);
	assert_int_equal(links(t, f), 1);
	/* 65000 links is the ext4 limit */
	tfs_inode(t, f, &in);
	in.i_links_count = EXT2_LINK_MAX;
	assert_int_equal(gm_fsi_write(fs, f, &in), 0);
	assert_int_equal(gm_fs_link(fs, f, d, "toomany"), -EMLINK);
	in.i_links_count = 1;
	assert_int_equal(gm_fsi_write(fs, f, &in), 0);
	assert_int_equal(gm_fs_unlink(fs, GM_ROOT_INO, "f3"), 0);
	assert_false(inode_in_use(t, f));
	tfs_fsck_clean(t);
	tfs_free(t);
}

static void test_fs_dir_unlink_frees_data_and_xattr_block(void **state)
{
	struct tfs *t = tfs_new(32, "", NULL);
	struct gm_fs *fs = t->fs;
	gm_ino_t ino = tfs_create(t, GM_ROOT_INO, "victim");
	static char data[1 << 20], big[2000];
	blk64_t free0, free1;
	struct ext2_inode_large in;
	ext2_ino_t ifree0;

	(void)state;
	free0 = ext2fs_free_blocks_count(fs->e2fs->super);
	ifree0 = fs->e2fs->super->s_free_inodes_count;
	memset(data, 'd', sizeof(data));
	memset(big, 'v', sizeof(big));
	assert_int_equal(gm_fs_write(fs, ino, data, sizeof(data), 0), (ssize_t)sizeof(data));
	assert_int_equal(gm_fs_setxattr(fs, ino, "user.big", big, sizeof(big), 0), 0);
	tfs_inode(t, ino, &in);
	blk64_t eablk = ext2fs_file_acl_block(fs->e2fs, (struct ext2_inode *)&in);
	assert_true(eablk != 0);                          /* lives in an xattr block */
	free1 = ext2fs_free_blocks_count(fs->e2fs->super);
	assert_true(free0 - free1 >= 257);
	assert_int_equal(gm_fs_unlink(fs, GM_ROOT_INO, "victim"), 0);
	assert_false(inode_in_use(t, ino));
	assert_false(ext2fs_test_block_bitmap2(fs->e2fs->block_map, eablk));
	assert_int_equal(ext2fs_free_blocks_count(fs->e2fs->super), free0);
	assert_int_equal(fs->e2fs->super->s_free_inodes_count, ifree0 + 1);
	tfs_inode(t, ino, &in);
	assert_int_equal(in.i_links_count, 0);
	assert_true(in.i_dtime != 0);
	tfs_fsck_clean(t);
	tfs_free(t);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 5,000 new names in an htree (dir_index) directory, then 1,000 removed and
 * 50 subdirectories made: e2fsck (which checks the hash tree) stays clean. */
static void test_fs_dir_htree_5000_entries(void **state)
{
	struct tfs *t = tfs_new(64, "",
				"mkdir big && cd big && for i in $(seq 1 400); do : > "
				"seed_file_with_a_long_name_$i; done");
	struct gm_fs *fs = t->fs;
	struct ext2_inode_large in;
	gm_ino_t big;
	char name[64];
	double t0, dt;

	(void)state;
	/* e2fsck -D indexes the directory (mke2fs -d builds a linear one) */
	tfs_close(t);
	assert_true(tsh("e2fsck -fyD '%s' >/dev/null 2>&1", t->img) <= 1);
	tfs_open_image(t);
	fs = t->fs;
	big = tfs_ino(t, "/big");
	tfs_inode(t, big, &in);
	assert_true(in.i_flags & EXT2_INDEX_FL);
	t0 = now_s();
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "new-entry-%05d.conf", i);
		assert_int_equal(gm_fs_mknod(fs, big, name, S_IFREG | 0644, 0, NULL, NULL), 0);
	}
	dt = now_s() - t0;
	print_message("[ info ] 5000 creates in an htree dir: %.2f s (%.0f/s)\n", dt, 5000 / dt);
	tfs_inode(t, big, &in);
	assert_true(in.i_flags & EXT2_INDEX_FL);
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "subdir-%02d", i);
		assert_int_equal(gm_fs_mkdir(fs, big, name, 0755, NULL, NULL), 0);
	}
	for (int i = 0; i < 5000; i += 5) {
		snprintf(name, sizeof(name), "new-entry-%05d.conf", i);
		assert_int_equal(gm_fs_unlink(fs, big, name), 0);
	}
	assert_int_equal(links(t, big), 52);
	assert_true(tfs_ino(t, "/big/new-entry-04999.conf") != 0);
	assert_int_equal(tfs_ino(t, "/big/new-entry-04995.conf"), 0);
	/* moving the indexed directory rewrites ".." inside its dx root block */
	gm_ino_t other;
	assert_int_equal(gm_fs_mkdir(fs, GM_ROOT_INO, "other", 0755, NULL, &other), 0);
	assert_int_equal(gm_fs_rename(fs, GM_ROOT_INO, "big", other, "big", 0), 0);
	assert_int_equal(dotdot(t, big), other);
	assert_int_equal(links(t, other), 3);
	/* and renames inside it: replace one entry by another */
	assert_int_equal(gm_fs_rename(fs, big, "new-entry-00001.conf", big,
				      "new-entry-00002.conf", 0), 0);
	assert_int_equal(tfs_ino(t, "/other/big/new-entry-00001.conf"), 0);
	tfs_fsck_clean(t);
	tfs_free(t);
}

/* A linear directory grows block by block (ext2fs_expand_dir). */
static void test_fs_dir_linear_dir_expands(void **state)
{
	struct tfs *t = tfs_new(32, "-O ^dir_index", NULL);
	struct gm_fs *fs = t->fs;
	struct ext2_inode_large in;
	gm_ino_t d;
	char name[300];

	(void)state;
	assert_int_equal(gm_fs_mkdir(fs, GM_ROOT_INO, "lin", 0755, NULL, &d), 0);
	for (int i = 0; i < 600; i++) {
		snprintf(name, sizeof(name), "%0200d", i);
		assert_int_equal(gm_fs_mknod(fs, d, name, S_IFREG | 0644, 0, NULL, NULL), 0);
	}
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "sym%0200d", i);
		assert_int_equal(gm_fs_symlink(fs, d, name, "target", NULL, NULL), 0);
		snprintf(name, sizeof(name), "dir%0200d", i);
		assert_int_equal(gm_fs_mkdir(fs, d, name, 0755, NULL, NULL), 0);
	}
	tfs_inode(t, d, &in);
	assert_true(EXT2_I_SIZE(&in) >= 30 * 4096);
	tfs_fsck_clean(t);
	tfs_free(t);
}

static void test_fs_dir_rename_matrix(void **state)
{
	struct tfs *t = tfs_new(16, "",
				"mkdir -p A/sub B E F/x; echo 1 > A/f1; echo 2 > B/f2; "
				"echo 3 > A/f3; ln A/f3 A/f3link; echo 4 > g");
	struct gm_fs *fs = t->fs;
	gm_ino_t A = tfs_ino(t, "/A"), B = tfs_ino(t, "/B"), E = tfs_ino(t, "/E");
	gm_ino_t F = tfs_ino(t, "/F"), sub = tfs_ino(t, "/A/sub"), f1 = tfs_ino(t, "/A/f1");
	gm_ino_t f2 = tfs_ino(t, "/B/f2"), f3 = tfs_ino(t, "/A/f3"), g = tfs_ino(t, "/g");
	unsigned root0 = links(t, GM_ROOT_INO);

	(void)state;
	/* same directory, new name */
	assert_int_equal(gm_fs_rename(fs, A, "f1", A, "f1b", 0), 0);
	assert_int_equal(tfs_ino(t, "/A/f1b"), f1);
	assert_int_equal(tfs_ino(t, "/A/f1"), 0);
	/* across directories */
	assert_int_equal(gm_fs_rename(fs, A, "f1b", B, "f1", 0), 0);
	assert_int_equal(tfs_ino(t, "/B/f1"), f1);
	/* file over file: the old target is freed */
	assert_int_equal(gm_fs_rename(fs, B, "f1", B, "f2", 0), 0);
	assert_int_equal(tfs_ino(t, "/B/f2"), f1);
	assert_false(ext2fs_test_inode_bitmap2(fs->e2fs->inode_map, f2));
	/* type mismatches, non-empty target, missing source */
	assert_int_equal(gm_fs_rename(fs, B, "f2", GM_ROOT_INO, "E", 0), -EISDIR);
	assert_int_equal(gm_fs_rename(fs, GM_ROOT_INO, "E", B, "f2", 0), -ENOTDIR);
	assert_int_equal(gm_fs_rename(fs, GM_ROOT_INO, "E", GM_ROOT_INO, "F", 0), -ENOTEMPTY);
	assert_int_equal(gm_fs_rename(fs, GM_ROOT_INO, "nope", GM_ROOT_INO, "x", 0), -ENOENT);
	/* into its own subtree, onto itself */
	assert_int_equal(gm_fs_rename(fs, GM_ROOT_INO, "A", sub, "A", 0), -EINVAL);
	assert_int_equal(gm_fs_rename(fs, GM_ROOT_INO, "A", A, "A", 0), -EINVAL);
	assert_int_equal(gm_fs_rename(fs, GM_ROOT_INO, "A", GM_ROOT_INO, "A", 0), 0);
	/* hard links of the same inode: nothing happens, both names stay */
	assert_int_equal(gm_fs_rename(fs, A, "f3", A, "f3link", 0), 0);
	assert_int_equal(tfs_ino(t, "/A/f3"), f3);
	assert_int_equal(tfs_ino(t, "/A/f3link"), f3);
	assert_int_equal(links(t, f3), 2);
	/* NOREPLACE */
	assert_int_equal(gm_fs_rename(fs, GM_ROOT_INO, "g", A, "f3", RENAME_NOREPLACE), -EEXIST);
	assert_int_equal(gm_fs_rename(fs, GM_ROOT_INO, "g", A, "g", RENAME_NOREPLACE), 0);
	assert_int_equal(tfs_ino(t, "/A/g"), g);
	/* a directory across directories: ".." and both link counts */
	unsigned a0 = links(t, A), b0 = links(t, B);
	assert_int_equal(gm_fs_rename(fs, A, "sub", B, "sub", 0), 0);
	assert_int_equal(dotdot(t, sub), B);
	assert_int_equal(links(t, A), a0 - 1);
	assert_int_equal(links(t, B), b0 + 1);
	/* a directory over an empty directory in another parent */
	assert_int_equal(gm_fs_rename(fs, B, "sub", GM_ROOT_INO, "E", 0), 0);
	assert_int_equal(tfs_ino(t, "/E"), sub);
	assert_int_equal(dotdot(t, sub), GM_ROOT_INO);
	assert_false(ext2fs_test_inode_bitmap2(fs->e2fs->inode_map, E));
	assert_int_equal(links(t, B), b0);
	assert_int_equal(links(t, GM_ROOT_INO), root0);
	/* EXCHANGE: a file and a directory in different parents */
	gm_ino_t x = tfs_ino(t, "/F/x");
	assert_int_equal(gm_fs_rename(fs, A, "g", F, "x", RENAME_EXCHANGE), 0);
	assert_int_equal(tfs_ino(t, "/A/g"), x);
	assert_int_equal(tfs_ino(t, "/F/x"), g);
	assert_int_equal(dotdot(t, x), A);
	assert_int_equal(links(t, F), 2);
	assert_int_equal(links(t, A), a0);
	assert_int_equal(gm_fs_rename(fs, A, "g", F, "missing", RENAME_EXCHANGE), -ENOENT);
	assert_int_equal(gm_fs_rename(fs, A, "g", F, "x", RENAME_EXCHANGE | RENAME_NOREPLACE),
			 -EINVAL);
	/* EXCHANGE of a directory with its own ancestor is refused */
	assert_int_equal(gm_fs_rename(fs, GM_ROOT_INO, "A", A, "g", RENAME_EXCHANGE), -EINVAL);
	/* rename within an htree-less small dir keeps e2fsck happy */
	tfs_fsck_clean(t);
	tfs_free(t);
}

static void test_fs_dir_encrypted_and_bad_casefold_refused(void **state)
{
	struct tfs *t = tfs_new(16, "", "mkdir enc cf; echo x > enc/old");
	struct gm_fs *fs = t->fs;
	gm_ino_t enc = tfs_ino(t, "/enc"), cf = tfs_ino(t, "/cf");
	struct ext2_inode_large in;

	(void)state;
	/* flags set by hand (test only), removed again before e2fsck */
	tfs_inode(t, enc, &in);
	in.i_flags |= EXT4_ENCRYPT_FL;
	assert_int_equal(gm_fsi_write(fs, enc, &in), 0);
	tfs_inode(t, cf, &in);
	in.i_flags |= EXT4_CASEFOLD_FL;
	assert_int_equal(gm_fsi_write(fs, cf, &in), 0);
	assert_int_equal(gm_fs_mknod(fs, enc, "n", S_IFREG, 0, NULL, NULL), -EOPNOTSUPP);
	assert_non_null(strstr(gm_error_msg(&fs->err), "encrypted"));
	assert_int_equal(gm_fs_unlink(fs, enc, "old"), -EOPNOTSUPP);
	assert_int_equal(gm_fs_rename(fs, enc, "old", GM_ROOT_INO, "new", 0), -EOPNOTSUPP);
	/* casefolded without the feature (no encoding): damaged, refused */
	assert_int_equal(gm_fs_mkdir(fs, cf, "n", 0755, NULL, NULL), -EUCLEAN);
	assert_non_null(strstr(gm_error_msg(&fs->err), "casefold"));
	assert_int_equal(gm_fs_symlink(fs, cf, "n", "t", NULL, NULL), -EUCLEAN);
	assert_int_equal(gm_fs_link(fs, tfs_ino(t, "/enc/old"), cf, "n"), -EUCLEAN);
	tfs_inode(t, enc, &in);
	in.i_flags &= ~EXT4_ENCRYPT_FL;
	assert_int_equal(gm_fsi_write(fs, enc, &in), 0);
	tfs_inode(t, cf, &in);
	in.i_flags &= ~EXT4_CASEFOLD_FL;
	assert_int_equal(gm_fsi_write(fs, cf, &in), 0);
	tfs_fsck_clean(t);
	tfs_free(t);
}

/* A full filesystem: new directories and slow symlinks fail with -ENOSPC and
 * leave nothing half-made behind. */
static void test_fs_dir_enospc_clean(void **state)
{
	struct tfs *t = tfs_new(4, "", NULL);
	struct gm_fs *fs = t->fs;
	gm_ino_t ino = tfs_create(t, GM_ROOT_INO, "fill");
	static char d[64 << 10];
	char name[300], target[1000];
	uint64_t off = 0;
	int rc = 0;

	(void)state;
	while (gm_fs_write(fs, ino, d, sizeof(d), off) > 0)
		off += sizeof(d);
	for (int i = 0; i < 64 && rc == 0; i++) {
		snprintf(name, sizeof(name), "d%0200d", i);
		rc = gm_fs_mkdir(fs, GM_ROOT_INO, name, 0755, NULL, NULL);
	}
	assert_int_equal(rc, -ENOSPC);
	memset(target, 't', sizeof(target) - 1);
	target[sizeof(target) - 1] = '\0';
	assert_int_equal(gm_fs_symlink(fs, GM_ROOT_INO, "s", target, NULL, NULL), -ENOSPC);
	assert_int_equal(tfs_ino(t, "/s"), 0);
	tfs_fsck_clean(t);
	tfs_free(t);
}

/* Directories stored inline in the inode (inline_data): entries added until
 * they spill to a block, renamed across, removed. */
static void test_fs_dir_inline_data_dirs(void **state)
{
	struct tfs *t = tfs_new(16, "-O inline_data", "mkdir small small2; : > small/a");
	struct gm_fs *fs = t->fs;
	gm_ino_t s = tfs_ino(t, "/small"), s2 = tfs_ino(t, "/small2"), sub;
	struct ext2_inode_large in;
	char name[64];

	(void)state;
	tfs_inode(t, s, &in);
	assert_true(in.i_flags & EXT4_INLINE_DATA_FL);
	assert_int_equal(gm_fs_mkdir(fs, s2, "sub", 0755, NULL, &sub), 0);
	assert_int_equal(gm_fs_rename(fs, s, "a", s2, "a", 0), 0);
	assert_int_equal(gm_fs_rename(fs, s2, "sub", s, "sub", 0), 0);
	assert_int_equal(dotdot(t, sub), s);
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "entry-number-%03d", i);
		assert_int_equal(gm_fs_mknod(fs, s, name, S_IFREG | 0644, 0, NULL, NULL), 0);
	}
	tfs_inode(t, s, &in);
	assert_false(in.i_flags & EXT4_INLINE_DATA_FL);
	assert_int_equal(gm_fs_rmdir(fs, s, "sub"), 0);
	assert_int_equal(gm_fs_unlink(fs, s2, "a"), 0);
	/* symlinks of every size on an inline_data filesystem */
	char target[200];
	memset(target, 'q', sizeof(target));
	target[sizeof(target) - 1] = '\0';
	assert_int_equal(gm_fs_symlink(fs, s, "l-short", "x", NULL, NULL), 0);
	target[100] = '\0';
	assert_int_equal(gm_fs_symlink(fs, s, "l-100", target, NULL, NULL), 0);
	target[100] = 'q';
	assert_int_equal(gm_fs_symlink(fs, s, "l-199", target, NULL, NULL), 0);
	assert_int_equal(gm_fs_unlink(fs, s, "l-100"), 0);
	assert_int_equal(gm_fs_rmdir(fs, GM_ROOT_INO, "small2"), 0);
	tfs_fsck_clean(t);
	tfs_free(t);
}

/* 3,000 random namespace/data/xattr operations over a few directories (fixed
 * seed); each must succeed or fail with an errno that fits; e2fsck must
 * find nothing afterwards. */
static void test_fs_dir_random_ops_stay_clean(void **state)
{
	const char *opts = getenv("GM_TEST_MKFS_OPTS");   /* e.g. "-O inline_data" */
	struct tfs *t = tfs_new(64, opts ? opts : "", "mkdir d0 d1 d2");
	struct gm_fs *fs = t->fs;
	gm_ino_t dirs[8];
	int ndirs = 3;
	uint32_t x = 12345;
	static char buf[70000];
	char a[32], b[32];

	(void)state;
	dirs[0] = tfs_ino(t, "/d0");
	dirs[1] = tfs_ino(t, "/d1");
	dirs[2] = tfs_ino(t, "/d2");
	memset(buf, 'r', sizeof(buf));
	if (getenv("GM_TEST_SEED"))     /* other sequences, for bug hunting */
		x = (uint32_t)strtoul(getenv("GM_TEST_SEED"), NULL, 0) | 1;
#define RND() (x ^= x << 13, x ^= x >> 17, x ^= x << 5, x)
	int ok = 0;
	for (int i = 0; i < 3000; i++) {
		/* forget directories that were removed or replaced meanwhile */
		for (int k = 0; k < ndirs; k++) {
			struct ext2_inode_large din;

			tfs_inode(t, dirs[k], &din);
			if (!ext2fs_test_inode_bitmap2(fs->e2fs->inode_map, dirs[k]) ||
			    din.i_links_count == 0 || !LINUX_S_ISDIR(din.i_mode))
				dirs[k--] = dirs[--ndirs];
		}
		if (ndirs == 0) {
			dirs[0] = GM_ROOT_INO;
			ndirs = 1;
		}
		gm_ino_t d1 = dirs[RND() % (uint32_t)ndirs], d2 = dirs[RND() % (uint32_t)ndirs], ino;
		int rc = 0;

		snprintf(a, sizeof(a), "n%u", RND() % 40);
		snprintf(b, sizeof(b), "n%u", RND() % 40);
		switch (RND() % 10) {
		case 0: case 1:
			rc = gm_fs_mknod(fs, d1, a, S_IFREG | 0644, 0, NULL, NULL);
			assert_true(rc == 0 || rc == -EEXIST);
			break;
		case 2:
			rc = gm_fs_mkdir(fs, d1, a, 0755, NULL, &ino);
			assert_true(rc == 0 || rc == -EEXIST);
			if (rc == 0 && ndirs < 8)
				dirs[ndirs++] = ino;
			break;
		case 3:
			rc = gm_fs_unlink(fs, d1, a);
			assert_true(rc == 0 || rc == -ENOENT || rc == -EISDIR);
			break;
		case 4:
			rc = gm_fs_rename(fs, d1, a, d2, b, RND() % 4 == 0 ? RENAME_EXCHANGE : 0);
			assert_true(rc == 0 || rc == -ENOENT || rc == -EISDIR || rc == -ENOTDIR ||
				    rc == -ENOTEMPTY || rc == -EINVAL);
			break;
		case 5:
			rc = gm_fs_link(fs, tfs_ino(t, "/d0") , d2, b);   /* a directory */
			assert_true(rc == -EPERM || rc == -EEXIST);
			if (ext2fs_lookup(fs->e2fs, d1, a, (int)strlen(a), NULL, &ino) == 0) {
				rc = gm_fs_link(fs, ino, d2, b);
				assert_true(rc == 0 || rc == -EEXIST || rc == -EPERM);
			}
			break;
		case 6: case 7:
			if (ext2fs_lookup(fs->e2fs, d1, a, (int)strlen(a), NULL, &ino) == 0) {
				size_t n = RND() % sizeof(buf);
				ssize_t w = gm_fs_write(fs, ino, buf, n, RND() % 200000);
				assert_true(w == (ssize_t)n || w == -EISDIR || (n == 0 && w == 0));
				if (RND() % 3 == 0) {
					rc = gm_fs_truncate(fs, ino, RND() % 100000);
					assert_true(rc == 0 || rc == -EISDIR);
				}
			}
			break;
		case 8:
			if (ext2fs_lookup(fs->e2fs, d1, a, (int)strlen(a), NULL, &ino) == 0) {
				rc = gm_fs_setxattr(fs, ino, "user.r", buf, RND() % 3000, 0);
				assert_int_equal(rc, 0);
				if (RND() % 2)
					assert_int_equal(gm_fs_removexattr(fs, ino, "user.r"), 0);
			}
			break;
		default:
			rc = gm_fs_rmdir(fs, d1, a);
			assert_true(rc == 0 || rc == -ENOENT || rc == -ENOTDIR || rc == -ENOTEMPTY);
			break;
		}
		ok += rc == 0;
	}
	print_message("[ info ] random ops: %d of 3000 returned 0\n", ok);
	assert_true(ok > 1000);
#undef RND
	tfs_fsck_clean(t);
	tfs_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fs_dir_names_checked),
		cmocka_unit_test(test_fs_dir_mknod_types_and_devices),
		cmocka_unit_test(test_fs_dir_mkdir_rmdir_nesting),
		cmocka_unit_test(test_fs_dir_symlinks_fast_and_slow),
		cmocka_unit_test(test_fs_dir_hard_links),
		cmocka_unit_test(test_fs_dir_unlink_frees_data_and_xattr_block),
		cmocka_unit_test(test_fs_dir_htree_5000_entries),
		cmocka_unit_test(test_fs_dir_linear_dir_expands),
		cmocka_unit_test(test_fs_dir_rename_matrix),
		cmocka_unit_test(test_fs_dir_encrypted_and_bad_casefold_refused),
		cmocka_unit_test(test_fs_dir_enospc_clean),
		cmocka_unit_test(test_fs_dir_inline_data_dirs),
		cmocka_unit_test(test_fs_dir_random_ops_stay_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
