/* test_fs_casefold.c — casefolded directories (ext4 casefold, chattr +F):
 * names are found as the kernel finds them (Unicode case folding, through
 * libext2fs's ext2fs_casefold_cmp and its encoding), in linear and in
 * hash-indexed directories; removing, replacing, renaming and creating
 * work and keep the directory's index right (e2fsck -fn, which checks the
 * hashes of a casefolded index). Fixtures: mke2fs -O casefold, debugfs,
 * e2fsck -fyD to index. */
#include "tests/fs_testlib.h"

#include <errno.h>

#include "editor/fs/fs_htree.h"
#include "editor/view/path.h"

#define CASEFOLD_FL "0x40080000"   /* EXT4_CASEFOLD_FL | EXT4_EXTENTS_FL */

/* /ci casefolded with README.txt, Straße/ and, if many, File-N.TXT (then
 * indexed by e2fsck -D); /plain an ordinary directory with README.txt. */
static struct tfs *casefold_fs(int many)
{
	struct tfs *t = tfs_new(32, "-O casefold", "mkdir plain && echo plain > plain/README.txt");

	tfs_close(t);
	assert_int_equal(tsh("cd '%s' && echo readme > r.txt && { echo 'mkdir /ci'; "
			     "echo 'set_inode_field /ci flags " CASEFOLD_FL "'; "
			     "echo 'write r.txt /ci/README.txt'; echo 'mkdir /ci/Straße'; "
			     "i=0; while [ $i -lt %d ]; do echo \"write r.txt /ci/File-$i.TXT\"; i=$((i+1)); done; } > cmds && "
			     "debugfs -w -f cmds fs.img >/dev/null 2>&1 && "
			     "e2fsck -fyD fs.img >/dev/null 2>&1; e2fsck -fn fs.img >/dev/null 2>&1",
			     t->dir, many), 0);
	tfs_open_view(t);
	return t;
}

static void read_is(struct tfs *t, const char *path, const char *want)
{
	char *buf = NULL;
	size_t len = 0;

	if (gm_path_read_file(t->view, path, 4096, &buf, &len))
		fail_msg("%s: %s", path, gm_fs_errmsg(t->fs));
	assert_string_equal(buf, want);
	free(buf);
}

static void test_fs_casefold_lookup(void **state)
{
	struct tfs *t = casefold_fs(0);
	gm_vino_t ino;

	(void)state;
	read_is(t, "/ci/readme.txt", "readme\n");
	read_is(t, "/ci/README.TXT", "readme\n");
	assert_int_equal(gm_path_resolve(t->view, "/ci/STRASSE", 0, &ino), 0);   /* ß folds to ss */
	assert_int_equal(gm_path_resolve(t->view, "/ci/strasse", 0, &ino), 0);
	/* only inside the casefolded directory */
	assert_int_equal(gm_path_resolve(t->view, "/plain/readme.txt", 0, &ino), -ENOENT);
	assert_int_equal(gm_path_resolve(t->view, "/CI/README.txt", 0, &ino), -ENOENT);
	assert_int_equal(gm_path_resolve(t->view, "/ci/readme.tx", 0, &ino), -ENOENT);
	tfs_free(t);
}

static void test_fs_casefold_edit(void **state)
{
	struct tfs *t = casefold_fs(0);
	gm_ino_t ci = tfs_ino(t, "ci");
	gm_vino_t vino;
	ext2_ino_t ino;

	(void)state;
	/* the same name in another case exists already */
	assert_int_equal(gm_fs_mknod(t->fs, ci, "readme.TXT", S_IFREG | 0644, 0, NULL, NULL), -EEXIST);
	/* replacing through another case keeps the stored name */
	assert_int_equal(gm_path_write_file(t->view, "/ci/readme.TXT", "new\n", 4, 0644, NULL), 0);
	read_is(t, "/ci/README.txt", "new\n");
	assert_int_equal(ext2fs_lookup(t->fs->e2fs, ci, "README.txt", 10, NULL, &ino), 0);
	/* rename and remove by another case */
	assert_int_equal(gm_fs_rename(t->fs, ci, "readme.txt", ci, "Notes.md", 0), 0);
	read_is(t, "/ci/NOTES.MD", "new\n");
	assert_int_equal(gm_fs_unlink(t->fs, ci, "notes.MD"), 0);
	assert_int_equal(gm_fs_rmdir(t->fs, ci, "STRASSE"), 0);
	assert_int_equal(gm_path_resolve(t->view, "/ci/notes.md", 0, &vino), -ENOENT);
	assert_int_equal(gm_fs_mkdir(t->fs, ci, "Sub", 0755, NULL, NULL), 0);
	tfs_fsck_clean(t);
	tfs_free(t);
}

static void test_fs_casefold_indexed(void **state)
{
	struct tfs *t = casefold_fs(400);
	gm_ino_t ci = tfs_ino(t, "ci"), ino = 0;
	struct ext2_inode_large dinode;
	char stored[NAME_MAX + 1], name[32];

	(void)state;
	tfs_inode(t, ci, &dinode);
	assert_true(dinode.i_flags & EXT2_INDEX_FL);
	/* found through the index (not the linear scan), with its stored name */
	assert_int_equal(gm_fs_htree_lookup(t->fs, ci, &dinode, "file-123.txt", 12, &ino, stored), 0);
	assert_string_equal(stored, "File-123.TXT");
	assert_int_equal(gm_fs_htree_lookup(t->fs, ci, &dinode, "file-999.txt", 12, &ino, NULL), -ENOENT);
	read_is(t, "/ci/FILE-7.txt", "readme\n");
	/* edits keep the index's hashes right */
	for (int i = 0; i < 400; i += 3) {
		snprintf(name, sizeof(name), "file-%d.txt", i);
		assert_int_equal(gm_fs_unlink(t->fs, ci, name), 0);
	}
	for (int i = 0; i < 150; i++) {
		snprintf(name, sizeof(name), "NEW-%d.Bin", i);
		assert_int_equal(gm_fs_mknod(t->fs, ci, name, S_IFREG | 0644, 0, NULL, NULL), 0);
	}
	tfs_inode(t, ci, &dinode);
	assert_int_equal(gm_fs_htree_lookup(t->fs, ci, &dinode, "new-149.bin", 11, &ino, stored), 0);
	assert_string_equal(stored, "NEW-149.Bin");
	assert_int_equal(gm_fs_lookup(t->fs, ci, "FILE-3.TXT", &ino), -ENOENT);
	tfs_fsck_clean(t);
	tfs_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fs_casefold_lookup),
		cmocka_unit_test(test_fs_casefold_edit),
		cmocka_unit_test(test_fs_casefold_indexed),
	};

	setenv("GM_FS_VERIFY_UNDO", "1", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
