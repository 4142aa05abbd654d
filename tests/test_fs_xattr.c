/* test_fs_xattr.c — gm_fs_getxattr/listxattr/setxattr/removexattr, and
 * security.* attributes surviving every other edit. Every test that writes
 * ends with e2fsck -fn clean. */
#include "tests/fs_testlib.h"

#include <errno.h>
#include <sys/xattr.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* VFS capability v2: magic_etc, then permitted/inheritable lo, hi. */
static const unsigned char CAP[20] = {
	0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
};
static const char SELINUX[] = "system_u:object_r:ping_exec_t:s0";

static void xattr_is(struct gm_fs *fs, gm_ino_t ino, const char *name, const void *v,
			 size_t n)
{
	char buf[8192];
	ssize_t got = gm_fs_getxattr(fs, ino, name, buf, sizeof(buf));

	if (got < 0)
		fail_msg("getxattr %s: %s", name, gm_error_msg(&fs->err));
	assert_int_equal(got, (ssize_t)n);
	assert_memory_equal(buf, v, n);
}

static void test_fs_xattr_set_get_list_remove(void **state)
{
	struct tfs *t = tfs_new(16, "", "echo x > f");
	struct gm_fs *fs = t->fs;
	gm_ino_t ino = tfs_ino(t, "/f");
	char buf[256], small[2];
	struct ext2_inode_large before, after;

	(void)state;
	tfs_inode(t, ino, &before);
	assert_int_equal(gm_fs_getxattr(fs, ino, "user.a", buf, sizeof(buf)), -ENODATA);
	assert_int_equal(gm_fs_listxattr(fs, ino, NULL, 0), 0);
	sleep(1);
	assert_int_equal(gm_fs_setxattr(fs, ino, "user.a", "alpha", 5, 0), 0);
	tfs_inode(t, ino, &after);
	assert_true(after.i_ctime > before.i_ctime);
	assert_int_equal(gm_fs_setxattr(fs, ino, "trusted.b", "", 0, XATTR_CREATE), 0);
	assert_int_equal(gm_fs_setxattr(fs, ino, "security.selinux", SELINUX, sizeof(SELINUX), 0), 0);
	assert_int_equal(gm_fs_setxattr(fs, ino, "user.a", "x", 1, XATTR_CREATE), -EEXIST);
	assert_int_equal(gm_fs_setxattr(fs, ino, "user.zz", "x", 1, XATTR_REPLACE), -ENODATA);
	assert_int_equal(gm_fs_setxattr(fs, ino, "user.a", "beta!", 5, XATTR_REPLACE), 0);
	xattr_is(fs, ino, "user.a", "beta!", 5);
	xattr_is(fs, ino, "trusted.b", "", 0);
	assert_int_equal(gm_fs_getxattr(fs, ino, "user.a", NULL, 0), 5);
	assert_int_equal(gm_fs_getxattr(fs, ino, "user.a", small, sizeof(small)), -ERANGE);
	/* names, NUL separated, in any order */
	ssize_t need = gm_fs_listxattr(fs, ino, NULL, 0);
	assert_int_equal(need, (ssize_t)(sizeof("user.a") + sizeof("trusted.b") +
					 sizeof("security.selinux")));
	assert_int_equal(gm_fs_listxattr(fs, ino, buf, (size_t)need - 1), -ERANGE);
	assert_int_equal(gm_fs_listxattr(fs, ino, buf, sizeof(buf)), need);
	int seen = 0;
	for (char *p = buf; p < buf + need; p += strlen(p) + 1)
		seen += !strcmp(p, "user.a") + !strcmp(p, "trusted.b") * 2 +
			!strcmp(p, "security.selinux") * 4;
	assert_int_equal(seen, 7);
	/* bad names */
	assert_int_equal(gm_fs_setxattr(fs, ino, "", "x", 1, 0), -ERANGE);
	assert_int_equal(gm_fs_setxattr(fs, ino, "nonamespace", "x", 1, 0), -EOPNOTSUPP);
	assert_int_equal(gm_fs_setxattr(fs, ino, "user.", "x", 1, 0), -EOPNOTSUPP);
	assert_int_equal(gm_fs_setxattr(fs, ino, "system.data", "x", 1, 0), -EOPNOTSUPP);
	assert_int_equal(gm_fs_setxattr(fs, ino, "user.a", "x", 1, 4), -EINVAL);
	/* remove */
	assert_int_equal(gm_fs_removexattr(fs, ino, "user.a"), 0);
	assert_int_equal(gm_fs_removexattr(fs, ino, "user.a"), -ENODATA);
	assert_int_equal(gm_fs_getxattr(fs, ino, "user.a", buf, sizeof(buf)), -ENODATA);
	/* read-only */
	fs->read_only = true;
	assert_int_equal(gm_fs_setxattr(fs, ino, "user.c", "x", 1, 0), -EROFS);
	assert_int_equal(gm_fs_removexattr(fs, ino, "trusted.b"), -EROFS);
	xattr_is(fs, ino, "trusted.b", "", 0);
	fs->read_only = false;
	tfs_fsck_clean(t);
	/* debugfs reads back what we stored */
	assert_int_equal(tsh("debugfs -R 'ea_get /f security.selinux' '%s' 2>/dev/null | "
			     "grep -q ping_exec_t", t->img), 0);
	tfs_free(t);
}

/* security.capability and security.selinux survive write, truncate, rename,
 * chmod, chown, times, hard links, RENAME_EXCHANGE and other xattr edits. */
static void test_fs_xattr_security_survives_edits(void **state)
{
	struct tfs *t = tfs_new(32, "", "mkdir bin sbin; echo '#!/bin/sh' > bin/ping; echo o > sbin/other");
	struct gm_fs *fs = t->fs;
	gm_ino_t bin = tfs_ino(t, "/bin"), sbin = tfs_ino(t, "/sbin"), ino = tfs_ino(t, "/bin/ping");
	static char data[300000];
	struct gm_setattr sa = { 0 };
	char big[1500];

	(void)state;
	assert_int_equal(gm_fs_setxattr(fs, ino, "security.capability", CAP, sizeof(CAP), 0), 0);
	assert_int_equal(gm_fs_setxattr(fs, ino, "security.selinux", SELINUX, sizeof(SELINUX), 0), 0);
	memset(data, 'p', sizeof(data));
	assert_int_equal(gm_fs_write(fs, ino, data, sizeof(data), 0), (ssize_t)sizeof(data));
	assert_int_equal(gm_fs_write(fs, ino, "tail", 4, 10 << 20), 4);
	assert_int_equal(gm_fs_truncate(fs, ino, 1000), 0);
	sa.valid = GM_SET_MODE | GM_SET_UID | GM_SET_GID | GM_SET_MTIME_NOW | GM_SET_ATIME_NOW;
	sa.mode = 04755;
	sa.uid = 0;
	sa.gid = 1234;
	assert_int_equal(gm_fs_setattr(fs, ino, &sa, NULL), 0);
	assert_int_equal(gm_fs_rename(fs, bin, "ping", sbin, "ping", 0), 0);
	assert_int_equal(gm_fs_rename(fs, sbin, "ping", sbin, "other", RENAME_EXCHANGE), 0);
	assert_int_equal(gm_fs_link(fs, ino, bin, "ping-again"), 0);
	/* other xattrs come and go, some big enough for an xattr block */
	memset(big, 'b', sizeof(big));
	assert_int_equal(gm_fs_setxattr(fs, ino, "user.big", big, sizeof(big), 0), 0);
	assert_int_equal(gm_fs_setxattr(fs, ino, "user.small", "s", 1, 0), 0);
	assert_int_equal(gm_fs_removexattr(fs, ino, "user.big"), 0);
	assert_int_equal(gm_fs_unlink(fs, bin, "ping-again"), 0);
	tfs_close(t);
	tfs_open_image(t);
	fs = t->fs;
	xattr_is(fs, ino, "security.capability", CAP, sizeof(CAP));
	xattr_is(fs, ino, "security.selinux", SELINUX, sizeof(SELINUX));
	xattr_is(fs, ino, "user.small", "s", 1);
	struct ext2_inode_large in;
	tfs_inode(t, ino, &in);
	assert_int_equal(in.i_mode, S_IFREG | 04755);       /* setuid kept */
	assert_int_equal(tfs_ino(t, "/sbin/other"), ino);
	tfs_fsck_clean(t);
	tfs_free(t);
}

/* Values too big for the inode go to an xattr block; it is freed when the
 * last value in it goes. */
static void test_fs_xattr_block_values(void **state)
{
	struct tfs *t = tfs_new(16, "", "echo x > f");
	struct gm_fs *fs = t->fs;
	gm_ino_t ino = tfs_ino(t, "/f");
	char v1[3000], v2[3000];
	struct ext2_inode_large in;
	blk64_t free0, blk;

	(void)state;
	memset(v1, '1', sizeof(v1));
	memset(v2, '2', sizeof(v2));
	free0 = ext2fs_free_blocks_count(fs->e2fs->super);
	assert_int_equal(gm_fs_setxattr(fs, ino, "user.v1", v1, sizeof(v1), 0), 0);
	tfs_inode(t, ino, &in);
	blk = ext2fs_file_acl_block(fs->e2fs, (struct ext2_inode *)&in);
	assert_true(blk != 0);
	assert_int_equal(ext2fs_free_blocks_count(fs->e2fs->super), free0 - 1);
	/* two 3000-byte values do not fit one 4 KiB block */
	assert_int_equal(gm_fs_setxattr(fs, ino, "user.v2", v2, sizeof(v2), 0), -ENOSPC);
	assert_int_equal(gm_fs_setxattr(fs, ino, "user.v1", v2, 2000, XATTR_REPLACE), 0);
	xattr_is(fs, ino, "user.v1", v2, 2000);
	assert_int_equal(gm_fs_removexattr(fs, ino, "user.v1"), 0);
	tfs_inode(t, ino, &in);
	assert_int_equal(ext2fs_file_acl_block(fs->e2fs, (struct ext2_inode *)&in), 0);
	assert_int_equal(ext2fs_free_blocks_count(fs->e2fs->super), free0);
	/* 65536 bytes is the largest value the syscalls pass */
	static char huge[65537];
	assert_int_equal(gm_fs_setxattr(fs, ino, "user.huge", huge, sizeof(huge), 0), -E2BIG);
	tfs_fsck_clean(t);
	tfs_free(t);
}

/* POSIX ACLs: the syscall format goes in and comes back unchanged
 * (libext2fs stores ext4's own format on disk). */
static void test_fs_xattr_posix_acl_roundtrip(void **state)
{
	struct tfs *t = tfs_new(16, "", "mkdir d");
	struct gm_fs *fs = t->fs;
	gm_ino_t d = tfs_ino(t, "/d");
	unsigned char acl[4 + 5 * 8];
	const struct { uint16_t tag, perm; uint32_t id; } e[5] = {
		{ 0x01, 7, 0xffffffff }, { 0x02, 5, 1000 }, { 0x04, 5, 0xffffffff },
		{ 0x10, 5, 0xffffffff }, { 0x20, 0, 0xffffffff },
	};

	(void)state;
	acl[0] = 2; acl[1] = acl[2] = acl[3] = 0;     /* POSIX_ACL_XATTR_VERSION, LE */
	for (int i = 0; i < 5; i++) {
		unsigned char *p = acl + 4 + 8 * i;

		p[0] = (unsigned char)e[i].tag; p[1] = (unsigned char)(e[i].tag >> 8);
		p[2] = (unsigned char)e[i].perm; p[3] = 0;
		p[4] = (unsigned char)e[i].id; p[5] = (unsigned char)(e[i].id >> 8);
		p[6] = (unsigned char)(e[i].id >> 16); p[7] = (unsigned char)(e[i].id >> 24);
	}
	assert_int_equal(gm_fs_setxattr(fs, d, "system.posix_acl_access", acl, sizeof(acl), 0), 0);
	assert_int_equal(gm_fs_setxattr(fs, d, "system.posix_acl_default", acl, sizeof(acl), 0), 0);
	xattr_is(fs, d, "system.posix_acl_access", acl, sizeof(acl));
	xattr_is(fs, d, "system.posix_acl_default", acl, sizeof(acl));
	tfs_close(t);
	tfs_open_image(t);
	fs = t->fs;
	xattr_is(fs, d, "system.posix_acl_access", acl, sizeof(acl));
	tfs_fsck_clean(t);
	/* on disk (as debugfs shows it): ext4's compact ACL format, version 1,
	 * short entries without ids, user 1000 with r-x */
	assert_int_equal(tsh("debugfs -R 'ea_list /d' '%s' 2>/dev/null >'%s/acl.txt'", t->img, t->dir), 0);
	assert_int_equal(tsh("grep -q 'posix_acl_access (28) = 01 00 00 00 01 00 07 00 02 00 05 00 "
			     "e8 03 00 00 04 00 05 00 10 00 05 00 20 00 00 00' '%s/acl.txt'",
			     t->dir), 0);
	tfs_free(t);
}

static void test_fs_xattr_without_ext_attr_feature(void **state)
{
	struct tfs *t = tfs_new(16, "-O ^ext_attr", "echo x > f");
	struct gm_fs *fs = t->fs;
	gm_ino_t ino = tfs_ino(t, "/f");
	char buf[64];

	(void)state;
	assert_int_equal(gm_fs_getxattr(fs, ino, "user.a", buf, sizeof(buf)), -ENODATA);
	assert_int_equal(gm_fs_listxattr(fs, ino, buf, sizeof(buf)), 0);
	assert_int_equal(gm_fs_setxattr(fs, ino, "user.a", "x", 1, 0), -EOPNOTSUPP);
	tfs_fsck_clean(t);
	tfs_free(t);
}

/* In-inode xattrs of mke2fs -d files (inline in the 256-byte inode) are
 * preserved across inode rewrites by setattr and write. */
static void test_fs_xattr_in_inode_kept_by_setattr(void **state)
{
	struct tfs *t = tfs_new(16, "", "echo x > f");
	struct gm_fs *fs = t->fs;
	gm_ino_t ino = tfs_ino(t, "/f");
	struct gm_setattr sa = { .valid = GM_SET_MODE, .mode = 0600 };
	struct ext2_inode_large in;

	(void)state;
	assert_int_equal(gm_fs_setxattr(fs, ino, "user.in", "inode", 5, 0), 0);
	tfs_inode(t, ino, &in);
	assert_int_equal(ext2fs_file_acl_block(fs->e2fs, (struct ext2_inode *)&in), 0);
	for (int i = 0; i < 10; i++) {
		sa.mode = (mode_t)(0600 + i);
		assert_int_equal(gm_fs_setattr(fs, ino, &sa, NULL), 0);
		assert_int_equal(gm_fs_write(fs, ino, "data", 4, (uint64_t)i * 4), 4);
	}
	xattr_is(fs, ino, "user.in", "inode", 5);
	tfs_fsck_clean(t);
	tfs_free(t);
}

/* Make inode `to` share `from`'s xattr block, as the kernel's mbcache does
 * for identical xattr sets (test-only, through libext2fs). */
static blk64_t share_block(struct tfs *t, gm_ino_t from, gm_ino_t to)
{
	struct ext2_inode_large in;
	blk64_t blk;
	__u32 count = 0;

	tfs_inode(t, from, &in);
	blk = ext2fs_file_acl_block(t->fs->e2fs, (struct ext2_inode *)&in);
	assert_true(blk != 0);
	tfs_inode(t, to, &in);
	assert_int_equal(ext2fs_file_acl_block(t->fs->e2fs, (struct ext2_inode *)&in), 0);
	ext2fs_file_acl_block_set(t->fs->e2fs, (struct ext2_inode *)&in, blk);
	assert_int_equal(ext2fs_iblk_add_blocks(t->fs->e2fs, (struct ext2_inode *)&in, 1), 0);
	assert_int_equal(gm_fsi_write(t->fs, to, &in), 0);
	assert_int_equal(ext2fs_adjust_ea_refcount3(t->fs->e2fs, blk, NULL, +1, &count, to), 0);
	assert_int_equal(count, 2);
	return blk;
}

/* A shared xattr block: changing one inode's set copies the block, unlinking
 * one sharer only drops a reference, the last one frees it. */
static void test_fs_xattr_shared_block_refcount(void **state)
{
	struct tfs *t = tfs_new(16, "", "echo a > a; echo b > b; echo c > c; echo d > d");
	struct gm_fs *fs = t->fs;
	gm_ino_t a = tfs_ino(t, "/a"), b = tfs_ino(t, "/b"), c = tfs_ino(t, "/c");
	gm_ino_t d = tfs_ino(t, "/d");
	char v[2000], w[1800];
	blk64_t blk, free0;
	struct ext2_inode_large in;

	(void)state;
	memset(v, 'v', sizeof(v));
	memset(w, 'w', sizeof(w));
	assert_int_equal(gm_fs_setxattr(fs, a, "user.big", v, sizeof(v), 0), 0);
	blk = share_block(t, a, b);
	free0 = ext2fs_free_blocks_count(fs->e2fs->super);
	xattr_is(fs, b, "user.big", v, sizeof(v));
	/* b changes its set: copy-on-write, a keeps the old block and value */
	assert_int_equal(gm_fs_setxattr(fs, b, "user.more", w, sizeof(w), 0), 0);
	tfs_inode(t, b, &in);
	assert_true(ext2fs_file_acl_block(fs->e2fs, (struct ext2_inode *)&in) != blk);
	xattr_is(fs, a, "user.big", v, sizeof(v));
	xattr_is(fs, b, "user.big", v, sizeof(v));
	xattr_is(fs, b, "user.more", w, sizeof(w));
	assert_int_equal(ext2fs_free_blocks_count(fs->e2fs->super), free0 - 1);
	/* c shares a's block; unlinking a leaves it to c; unlinking c frees it */
	assert_int_equal(share_block(t, a, c), blk);
	assert_int_equal(gm_fs_unlink(fs, GM_ROOT_INO, "a"), 0);
	assert_true(ext2fs_test_block_bitmap2(fs->e2fs->block_map, blk));
	xattr_is(fs, c, "user.big", v, sizeof(v));
	/* d shares too, then drops its only xattr: c still has the value */
	assert_int_equal(share_block(t, c, d), blk);
	assert_int_equal(gm_fs_removexattr(fs, d, "user.big"), 0);
	xattr_is(fs, c, "user.big", v, sizeof(v));
	assert_int_equal(gm_fs_getxattr(fs, d, "user.big", NULL, 0), -ENODATA);
	assert_int_equal(gm_fs_unlink(fs, GM_ROOT_INO, "c"), 0);
	assert_false(ext2fs_test_block_bitmap2(fs->e2fs->block_map, blk));
	tfs_fsck_clean(t);
	tfs_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fs_xattr_set_get_list_remove),
		cmocka_unit_test(test_fs_xattr_security_survives_edits),
		cmocka_unit_test(test_fs_xattr_block_values),
		cmocka_unit_test(test_fs_xattr_posix_acl_roundtrip),
		cmocka_unit_test(test_fs_xattr_without_ext_attr_feature),
		cmocka_unit_test(test_fs_xattr_in_inode_kept_by_setattr),
		cmocka_unit_test(test_fs_xattr_shared_block_refcount),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
