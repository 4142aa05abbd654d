/* fs_testlib.h — test harness for the write side of editor/fs*.c: builds a
 * bare (whole-disk) ext4 image with mke2fs -d in a temp dir and opens it the
 * real way (gm_image_open + gm_fs_open, the project's io_manager). Checks go
 * through libext2fs directly (t->fs->e2fs) and e2fsck/debugfs, not through
 * the code under test. Included by tests/test_fs_write.c, test_fs_dir.c and
 * test_fs_xattr.c only. */
#ifndef GM_TEST_FS_TESTLIB_H
#define GM_TEST_FS_TESTLIB_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>
#include <cmocka.h>

#include "editor/fs/fs_inode.h"
#include "editor/view/view.h"

struct tfs {
	char dir[PATH_MAX];
	char img[PATH_MAX + 16];
	char cache[PATH_MAX + 16];
	struct gm_image *image;
	struct gm_fs *fs;
	struct gm_view *view;     /* when opened through a view: fs is its root */
};

static inline int tsh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int tsh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline void tfs_open_image(struct tfs *t)
{
	struct gm_image_opts io = { .cache_dir = t->cache };
	struct gm_fs_opts fo = { .partition = 0 };
	struct gm_error err = { 0 };

	if (gm_image_open(t->img, &io, &t->image, &err) ||
	    gm_fs_open(t->image, &fo, &t->fs, &err))
		fail_msg("open %s: %s", t->img, gm_error_msg(&err));
	assert_false(t->fs->read_only);
	assert_int_equal(t->fs->owner.uid, 0);
}

/* populate: shell commands run inside the tree dir before mke2fs (or NULL);
 * mkfs_opts: extra mke2fs options (or ""). */
static inline struct tfs * tfs_new(size_t mib, const char *mkfs_opts, const char *populate)
{
	struct tfs *t = calloc(1, sizeof(*t));

	initialize_ext2_error_table();

	assert_non_null(t);
	snprintf(t->dir, sizeof(t->dir), "%s/gmfsw.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->img, sizeof(t->img), "%s/fs.img", t->dir);
	snprintf(t->cache, sizeof(t->cache), "%s/cache", t->dir);
	assert_int_equal(tsh("mkdir '%s/tree' && cd '%s/tree' && (%s)", t->dir, t->dir,
			     populate ? populate : "true"), 0);
	assert_int_equal(tsh("mke2fs -q -F -t ext4 -b 4096 %s -d '%s/tree' '%s' %zuM "
			     ">'%s/mkfs.log' 2>&1", mkfs_opts, t->dir, t->img, mib, t->dir), 0);
	tfs_open_image(t);
	return t;
}

/* Opens the image through a view (editor/view.h): the path layer needs
 * one; t->fs is the view's root filesystem. */
static inline void tfs_open_view(struct tfs *t)
{
	struct gm_image_opts io = { .cache_dir = t->cache };
	struct gm_view_opts vo = { 0 };
	struct gm_error err = { 0 };

	if (gm_image_open(t->img, &io, &t->image, &err) ||
	    gm_view_open(t->image, &vo, &t->view, &err))
		fail_msg("open %s: %s", t->img, gm_error_msg(&err));
	t->fs = gm_view_root_fs(t->view);
	assert_non_null(t->fs);
}

/* Closes the filesystem (flushing everything) and the image. */
static inline void tfs_close(struct tfs *t)
{
	struct gm_error err = { 0 };

	if (t->view) {
		if (gm_view_close(t->view, &err))
			fail_msg("gm_view_close: %s", gm_error_msg(&err));
		t->view = NULL;
		t->fs = NULL;
	}
	if (t->fs) {
		if (gm_fs_close(t->fs, &err))
			fail_msg("gm_fs_close: %s", gm_error_msg(&err));
		t->fs = NULL;
	}
	gm_image_close(t->image);
	t->image = NULL;
}

/* Closes, then the independent oracle: e2fsck -fn must find nothing. */
static inline void tfs_fsck_clean(struct tfs *t)
{
	int rc;

	tfs_close(t);
	rc = tsh("e2fsck -fn '%s' >'%s/fsck.log' 2>&1", t->img, t->dir);
	if (rc != 0)
		tsh("cat '%s/fsck.log' >&2", t->dir);
	assert_int_equal(rc, 0);
}

static inline void tfs_free(struct tfs *t)
{
	if (!t)
		return;
	if (t->view)
		gm_view_close(t->view, NULL);
	else if (t->fs)
		gm_fs_close(t->fs, NULL);
	gm_image_close(t->image);
	if (!getenv("GM_KEEP_TMP"))
		tsh("rm -rf '%s'", t->dir);
	free(t);
}

static inline gm_ino_t tfs_ino(struct tfs *t, const char *path)
{
	ext2_ino_t ino = 0;

	if (ext2fs_namei(t->fs->e2fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, &ino))
		return 0;
	return ino;
}

static inline void tfs_inode(struct tfs *t, gm_ino_t ino, struct ext2_inode_large *inode)
{
	memset(inode, 0, sizeof(*inode));
	assert_int_equal(ext2fs_read_inode_full(t->fs->e2fs, ino, (struct ext2_inode *)inode,
						sizeof(*inode)), 0);
}

/* Reads len bytes at off through libext2fs (not through the code under
 * test); returns bytes read. */
static inline size_t tfs_read(struct tfs *t, gm_ino_t ino, void *buf, size_t len, uint64_t off)
{
	ext2_file_t f;
	unsigned int got = 0;
	size_t done = 0;
	struct ext2_inode_large in;

	/* clamp to i_size: libext2fs reads inline data up to its capacity */
	memset(&in, 0, sizeof(in));
	assert_int_equal(ext2fs_read_inode_full(t->fs->e2fs, ino, (struct ext2_inode *)&in,
						sizeof(in)), 0);
	if (off >= EXT2_I_SIZE(&in))
		return 0;
	if (len > EXT2_I_SIZE(&in) - off)
		len = (size_t)(EXT2_I_SIZE(&in) - off);
	assert_int_equal(ext2fs_file_open(t->fs->e2fs, ino, 0, &f), 0);
	assert_int_equal(ext2fs_file_llseek(f, off, EXT2_SEEK_SET, NULL), 0);
	while (done < len) {
		assert_int_equal(ext2fs_file_read(f, (char *)buf + done,
						  (unsigned int)(len - done > (1u << 30) ? (1u << 30) : len - done),
						  &got), 0);
		if (got == 0)
			break;
		done += got;
	}
	assert_int_equal(ext2fs_file_close(f), 0);
	return done;
}

static inline uint64_t tfs_size(struct tfs *t, gm_ino_t ino)
{
	struct ext2_inode_large inode;

	tfs_inode(t, ino, &inode);
	return EXT2_I_SIZE(&inode);
}

/* Creates a regular file through the API under test. */
static inline gm_ino_t tfs_create(struct tfs *t, gm_ino_t dir, const char *name)
{
	gm_ino_t ino = 0;
	int rc = gm_fs_mknod(t->fs, dir, name, S_IFREG | 0644, 0, NULL, &ino);

	if (rc)
		fprintf(stderr, "mknod %s: %s\n", name, gm_error_msg(&t->fs->err));
	assert_int_equal(rc, 0);
	assert_true(ino > 0);
	return ino;
}

#endif
