/* test_fs_undo.c — every mutator is all or nothing (editor/fs/fs_txn.c):
 * a failed operation leaves the filesystem as before it (ENOSPC at many
 * points), an exact operation gives back the disk byte for byte, nested
 * operations undo only themselves, an inconsistency marks the session
 * damaged; and freeing a file that holds the filesystem's last block
 * (libext2fs 1.47.0's ext2fs_punch fails there) works on 1 KiB and 4 KiB
 * blocks. Oracles: e2fsck -fn, the disk file's bytes, libext2fs directly.
 * Every test runs with GM_FS_VERIFY_UNDO=1 (bitmaps compared after each
 * rollback). */
#include "tests/fs_testlib.h"

#include <errno.h>
#include <sys/xattr.h>

#include "editor/view/path.h"

/* A test filesystem opened through a view (the path layer needs one). */
static struct tfs *tfs_new_v(size_t mib, const char *opts, const char *populate)
{
	struct tfs *t = tfs_new(mib, opts, populate);

	tfs_close(t);
	tfs_open_view(t);
	return t;
}

static unsigned long long free_blocks(struct tfs *t)
{
	return ext2fs_free_blocks_count(t->fs->e2fs->super);
}

/* Copy of the disk file, to compare with later. */
static void snap(struct tfs *t)
{
	assert_int_equal(tsh("cp --sparse=always '%s' '%s/snap'", t->img, t->dir), 0);
}

static void same_as_snap(struct tfs *t)
{
	if (tsh("cmp '%s' '%s/snap' >&2", t->img, t->dir))
		fail_msg("the disk differs from before the operation");
}

/* Writes chunk-sized pieces to name until the disk is full; the failing
 * write must be -ENOSPC and leave no damage. Returns the inode. */
static gm_ino_t fill(struct tfs *t, const char *name, size_t chunk)
{
	gm_ino_t ino = tfs_create(t, GM_ROOT_INO, name);
	char *buf = malloc(chunk);
	uint64_t off = 0;
	ssize_t n;

	assert_non_null(buf);
	for (size_t i = 0; i < chunk; i++)
		buf[i] = (char)(i * 31 + 7);
	while ((n = gm_fs_write(t->fs, ino, buf, chunk, off)) == (ssize_t)chunk)
		off += chunk;
	assert_int_equal(n, -ENOSPC);
	/* then block by block, to the last one */
	while ((n = gm_fs_write(t->fs, ino, buf, t->fs->e2fs->blocksize, off)) ==
	       (ssize_t)t->fs->e2fs->blocksize)
		off += t->fs->e2fs->blocksize;
	assert_int_equal(n, -ENOSPC);
	assert_false(gm_fs_damaged(t->fs, NULL));
	/* the failed write changed nothing: the size is what the others made */
	assert_int_equal(tfs_size(t, ino), off);
	free(buf);
	return ino;
}

struct owner {
	blk64_t want;
	bool found;
};

static int owns_cb(ext2_filsys e2, blk64_t *b, e2_blkcnt_t cnt, blk64_t ref, int roff, void *priv)
{
	struct owner *o = priv;

	(void)e2; (void)cnt; (void)ref; (void)roff;
	if (*b == o->want)
		o->found = true;
	return 0;
}

static bool owns_last_block(struct tfs *t, gm_ino_t ino)
{
	struct owner o = { ext2fs_blocks_count(t->fs->e2fs->super) - 1, false };

	assert_int_equal(ext2fs_block_iterate3(t->fs->e2fs, ino, BLOCK_FLAG_READ_ONLY, NULL, owns_cb, &o), 0);
	return o.found;
}

/* A file holding the last block of the filesystem: unlinked and truncated
 * like any other. */
static void last_block(const char *opts, size_t chunk)
{
	struct tfs *t = tfs_new(8, opts, "echo keep > keep");
	unsigned long long before = free_blocks(t);
	gm_ino_t a, b;

	a = fill(t, "a", chunk);
	if (!owns_last_block(t, a))
		fail_msg("fixture: the filled file does not hold the last block");
	assert_int_equal(gm_fs_truncate(t->fs, a, 4096), 0);
	assert_false(owns_last_block(t, a));
	b = fill(t, "b", chunk);
	assert_true(owns_last_block(t, b));
	assert_int_equal(gm_fs_unlink(t->fs, GM_ROOT_INO, "b"), 0);
	assert_int_equal(gm_fs_unlink(t->fs, GM_ROOT_INO, "a"), 0);
	assert_false(gm_fs_damaged(t->fs, NULL));
	assert_int_equal(free_blocks(t), before);
	tfs_fsck_clean(t);
	tfs_free(t);
}

static void test_fs_undo_last_block_4k(void **state)
{
	(void)state;
	last_block("", 65536);
}

static void test_fs_undo_last_block_1k(void **state)
{
	(void)state;
	last_block("-b 1024", 1024);
	last_block("-b 1024 -O ^metadata_csum,^extent,^64bit,^flex_bg", 3000);   /* block-mapped */
}

/* put onto an existing file with too little room: the file keeps its old
 * content, the disk is as before byte for byte (an exact operation, as the
 * verbs open), and the session goes on. */
static void test_fs_undo_enospc_replace_keeps_old_content(void **state)
{
	struct tfs *t = tfs_new_v(8, "", "seq 1 2000 > f");
	char *old = NULL, *got = NULL, *big;
	size_t oldlen, gotlen, biglen = 16 << 20;
	int rc;

	(void)state;
	assert_int_equal(gm_path_read_file(t->view, "/f", 1 << 20, &old, &oldlen), 0);
	big = malloc(biglen);
	assert_non_null(big);
	memset(big, 'x', biglen);
	snap(t);
	assert_int_equal(gm_fs_op_begin(t->fs, GM_OP_EXACT), 0);
	rc = gm_path_write_file(t->view, "/f", big, biglen, 0644, NULL);
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(gm_fs_op_end(t->fs, rc), rc);
	same_as_snap(t);
	assert_int_equal(gm_path_read_file(t->view, "/f", 1 << 20, &got, &gotlen), 0);
	assert_int_equal(gotlen, oldlen);
	assert_memory_equal(got, old, oldlen);
	/* the mount goes on: a small write succeeds */
	assert_int_equal(gm_path_write_file(t->view, "/g", "hello\n", 6, 0644, NULL), 0);
	assert_false(gm_fs_damaged(t->fs, NULL));
	free(old);
	free(got);
	free(big);
	tfs_fsck_clean(t);
	tfs_free(t);
}

/* Nested: an inner failure undoes the inner operation only; the outer one
 * commits what succeeded, or undoes it all. */
static void test_fs_undo_nested(void **state)
{
	struct tfs *t = tfs_new(8, "", "mkdir d");
	char big[1 << 16];
	gm_ino_t ino = 0;
	ssize_t n;

	(void)state;
	memset(big, 'y', sizeof(big));
	snap(t);
	assert_int_equal(gm_fs_op_begin(t->fs, GM_OP_EXACT), 0);
	assert_int_equal(gm_fs_mknod(t->fs, GM_ROOT_INO, "x", S_IFREG | 0600, 0, NULL, &ino), 0);
	assert_int_equal(gm_fs_mkdir(t->fs, GM_ROOT_INO, "d", 0755, NULL, NULL), -EEXIST);
	assert_int_equal(gm_fs_op_begin(t->fs, 0), 0);
	assert_int_equal(gm_fs_write(t->fs, ino, big, sizeof(big), 0), (ssize_t)sizeof(big));
	assert_int_equal(gm_fs_op_end(t->fs, -ECANCELED), -ECANCELED);   /* undoes the write */
	assert_int_equal(tfs_size(t, ino), 0);
	n = gm_fs_write(t->fs, ino, "abc", 3, 0);
	assert_int_equal(n, 3);
	assert_int_equal(gm_fs_op_end(t->fs, 0), 0);
	assert_int_equal(tfs_size(t, tfs_ino(t, "x")), 3);
	/* and all of it again, undone as one */
	snap(t);
	assert_int_equal(gm_fs_op_begin(t->fs, GM_OP_EXACT), 0);
	assert_int_equal(gm_fs_unlink(t->fs, GM_ROOT_INO, "x"), 0);
	assert_int_equal(gm_fs_rmdir(t->fs, GM_ROOT_INO, "d"), 0);
	assert_int_equal(gm_fs_symlink(t->fs, GM_ROOT_INO, "l", "/x", NULL, NULL), 0);
	assert_int_equal(gm_fs_op_end(t->fs, -ECANCELED), -ECANCELED);
	same_as_snap(t);
	assert_true(tfs_ino(t, "x") != 0 && tfs_ino(t, "d") != 0 && tfs_ino(t, "l") == 0);
	tfs_fsck_clean(t);
	tfs_free(t);
}

/* Deleting a file whose extent points outside the filesystem: refused
 * before anything is freed, the session marked damaged, nothing changed. */
static void test_fs_undo_inconsistency_marks_damaged(void **state)
{
	struct tfs *t = tfs_new(8, "-O ^metadata_csum", "seq 1 100 > bad; echo ok > good");
	struct ext2_inode_large inode;
	gm_ino_t ino = tfs_ino(t, "bad");
	const char *what;

	(void)state;
	tfs_inode(t, ino, &inode);
	/* the first extent's start (i_block: 12-byte header, then ee_block,
	 * ee_len, ee_start_hi, ee_start_lo) far past the end */
	((uint16_t *)((char *)inode.i_block + 12 + 6))[0] = 0x7fff;
	assert_int_equal(ext2fs_write_inode_full(t->fs->e2fs, ino, (struct ext2_inode *)&inode,
						 sizeof(inode)), 0);
	ext2fs_flush_icache(t->fs->e2fs);
	snap(t);
	assert_int_equal(gm_fs_unlink(t->fs, GM_ROOT_INO, "bad"), -EUCLEAN);
	same_as_snap(t);
	assert_true(gm_fs_damaged(t->fs, &what));
	assert_non_null(strstr(what, "unlink"));
	assert_true(tfs_ino(t, "bad") != 0);
	/* other edits still work */
	assert_int_equal(gm_fs_unlink(t->fs, GM_ROOT_INO, "good"), 0);
	tfs_free(t);
}

/* --- a model test: random edits near a full disk ----------------------- */

#define NFILES 12

struct model {
	char *data[NFILES];
	size_t len[NFILES];
	bool exists[NFILES];
};

static uint64_t rnd_state;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void check_model(struct tfs *t, const struct model *m)
{
	char path[32];

	for (int i = 0; i < NFILES; i++) {
		char *buf = NULL;
		size_t len = 0;
		int rc;

		snprintf(path, sizeof(path), "/d/f%d", i);
		rc = gm_path_read_file(t->view, path, 64 << 20, &buf, &len);
		if (!m->exists[i]) {
			if (rc != -ENOENT)
				fail_msg("%s exists (rc %d) but should not", path, rc);
			continue;
		}
		if (rc)
			fail_msg("%s: %s", path, gm_fs_errmsg(t->fs));
		if (len != m->len[i] || memcmp(buf, m->data[i], len))
			fail_msg("%s: %zu bytes, model %zu, content differs", path, len, m->len[i]);
		free(buf);
	}
}

/* One random edit; returns its result and updates the model on success. */
static int random_edit(struct tfs *t, struct model *m)
{
	int i = (int)(rnd() % NFILES), j = (int)(rnd() % NFILES), rc;
	char path[32], path2[32];
	size_t len;
	char *buf;

	snprintf(path, sizeof(path), "/d/f%d", i);
	snprintf(path2, sizeof(path2), "f%d", j);
	switch (rnd() % 6) {
	case 0: case 1:     /* (re)write with a random size: up to ~1/3 of the disk */
		len = (size_t)(rnd() % (3u << 20));
		buf = malloc(len + 1);
		assert_non_null(buf);
		for (size_t k = 0; k < len; k++)
			buf[k] = (char)(rnd() >> 32);
		rc = gm_path_write_file(t->view, path, buf, len, 0644, NULL);
		if (rc == 0) {
			free(m->data[i]);
			m->data[i] = buf;
			m->len[i] = len;
			m->exists[i] = true;
		} else {
			free(buf);
		}
		return rc;
	case 2:             /* truncate */
		if (!m->exists[i])
			return 0;
		len = m->len[i] ? (size_t)(rnd() % (m->len[i] + 1)) : 0;
		{
			gm_vino_t ino;

			rc = gm_path_resolve(t->view, path, 0, &ino);
			if (!rc)
				rc = gm_view_truncate(t->view, ino, len);
		}
		if (rc == 0)
			m->len[i] = len;
		return rc;
	case 3:             /* unlink */
		rc = gm_path_remove(t->view, path);
		if (rc == 0)
			m->exists[i] = false;
		return m->exists[i] || rc != -ENOENT ? rc : 0;
	case 4:             /* rename over another */
		{
			gm_vino_t d;

			rc = gm_path_resolve(t->view, "/d", 0, &d);
			if (!rc)
				rc = gm_view_rename(t->view, d, path + 3, d, path2, 0);
		}
		if (rc == 0 && i != j) {
			free(m->data[j]);
			m->data[j] = m->data[i];
			m->len[j] = m->len[i];
			m->exists[j] = true;
			m->data[i] = NULL;
			m->len[i] = 0;
			m->exists[i] = false;
		}
		return m->exists[i] || rc != -ENOENT ? rc : 0;
	default:            /* an xattr, as big as a block */
		{
			gm_vino_t ino;
			char val[3000];

			memset(val, (int)(rnd() & 0xff), sizeof(val));
			rc = gm_path_resolve(t->view, path, 0, &ino);
			if (!rc)
				rc = gm_view_setxattr(t->view, ino, "user.big", val, sizeof(val), 0);
		}
		return m->exists[i] || rc != -ENOENT ? rc : 0;
	}
}

static void model_run(const char *opts, uint64_t seed, int steps, bool exact)
{
	struct tfs *t = tfs_new_v(12, opts, "mkdir d");
	struct model m = { 0 };
	int fails = 0;

	rnd_state = seed;
	for (int s = 0; s < steps; s++) {
		bool undo = exact && rnd() % 4 == 0;
		int rc;

		if (exact) {
			snap(t);
			assert_int_equal(gm_fs_op_begin(t->fs, GM_OP_EXACT), 0);
		}
		{
			struct model before = m;

			for (int k = 0; k < NFILES; k++)
				if (m.data[k]) {
					before.data[k] = malloc(m.len[k] + 1);
					memcpy(before.data[k], m.data[k], m.len[k]);
				}
			rc = random_edit(t, &m);
			if (rc && rc != -ENOSPC && rc != -ENOENT && rc != -ENOTEMPTY)
				fail_msg("step %d (seed %llu): unexpected %d: %s", s,
					 (unsigned long long)seed, rc, gm_fs_errmsg(t->fs));
			fails += rc == -ENOSPC;
			if (exact) {
				int end = undo ? -ECANCELED : rc;

				gm_fs_op_end(t->fs, end);
				if (end) {
					same_as_snap(t);
					for (int k = 0; k < NFILES; k++) {
						free(m.data[k]);
						m.data[k] = NULL;
					}
					m = before;
					memset(&before, 0, sizeof(before));
				}
			}
			for (int k = 0; k < NFILES; k++)
				free(before.data[k]);
		}
		assert_false(gm_fs_damaged(t->fs, NULL));
		if (s % 16 == 0)
			check_model(t, &m);
	}
	check_model(t, &m);
	/* the oracle, then the same content read after a reopen */
	tfs_fsck_clean(t);
	tfs_open_view(t);
	check_model(t, &m);
	if (fails == 0)
		fail_msg("seed %llu: no write ran out of space: the test did not test", (unsigned long long)seed);
	for (int k = 0; k < NFILES; k++)
		free(m.data[k]);
	tfs_free(t);
}

static void test_fs_undo_model_enospc(void **state)
{
	(void)state;
	model_run("", 1, 150, false);
	model_run("-b 1024", 2, 150, false);
	model_run("-b 1024 -O inline_data", 3, 120, false);
}

static void test_fs_undo_model_exact(void **state)
{
	(void)state;
	model_run("", 4, 80, true);
	model_run("-b 1024 -O ^metadata_csum", 5, 80, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fs_undo_last_block_4k),
		cmocka_unit_test(test_fs_undo_last_block_1k),
		cmocka_unit_test(test_fs_undo_enospc_replace_keeps_old_content),
		cmocka_unit_test(test_fs_undo_nested),
		cmocka_unit_test(test_fs_undo_inconsistency_marks_damaged),
		cmocka_unit_test(test_fs_undo_model_enospc),
		cmocka_unit_test(test_fs_undo_model_exact),
	};

	setenv("GM_FS_VERIFY_UNDO", "1", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
