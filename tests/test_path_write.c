/* test_path_write.c — the path-level writing helpers (write_file, remove,
 * mkdir, symlink) on top of the inode-level write side. Writes through
 * symlinks must land in the image, never on the host: host canaries at the
 * same absolute paths must stay untouched. e2fsck -fn after every session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>

#include "editor/fs/fs_private.h"
#include "editor/container/image.h"
#include "editor/view/path.h"
#include "tests/fixture.h"

static char tmpdir[4096];
static struct gm_image *img;
static struct gm_view *v;

static int setup_all(void **state)
{
	(void)state;
	if (!fx_enter_tmpdir(tmpdir, sizeof(tmpdir)))
		return -1;
	if (fx_sh("set -e; T='%s'; mkdir -p tree/etc tree/a/b tree/full/sub \"tree$T/canary\" \"$T/canary\"; "
		  "printf old > tree/etc/hostname; chmod 0600 tree/etc/hostname; chown 7:8 tree/etc/hostname; "
		  "printf 'IMAGE-PASSWD\\n' > tree/etc/passwd; printf f > tree/full/sub/f; "
		  "printf 'image secret' > \"tree$T/canary/secret\"; printf 'HOST CANARY' > \"$T/canary/secret\"; "
		  "touch -d 2001-01-01 \"$T/canary/secret\"; "
		  "ln -s \"$T/canary/secret\" tree/abs; ln -s \"$T/canary/newfile\" tree/dangle; "
		  "ln -s ../../../../../../../../..\"$T/canary/secret\" tree/a/b/rel; ln -s /etc tree/etcl; "
		  "ln -s /etc/passwd tree/plink",
		  tmpdir))
		return -1;
	if (fx_sh("mkdir -p tree/big && cd tree/big && seq -f 'e%%05g' 0 1999 | xargs touch"))
		return -1;
	if (fx_make_disk("disk.raw", "tree", 32, "mbr", ""))
		return -1;
	if (fx_sh("e2fsck -fyD 'disk.raw?offset=%llu'; test $? -le 1", FX_PART_OFFSET))   /* index /big */
		return -1;
	return fx_sh("debugfs -w -R 'ea_set /etc/hostname user.keep yes' 'disk.raw?offset=%llu'", FX_PART_OFFSET);
}

static int teardown_all(void **state)
{
	(void)state;
	fx_leave_tmpdir(tmpdir);
	return 0;
}

static void open_rw(bool ro)
{
	struct gm_image_opts io = { .read_only = ro };
	struct gm_view_opts vo = { .read_only = ro };
	struct gm_error err = { 0 };

	if (gm_image_open("disk.raw", &io, &img, &err) || gm_view_open(img, &vo, &v, &err))
		fail_msg("open: %s", gm_error_msg(&err));
}

static void close_checked(void)
{
	struct gm_error err = { 0 };

	assert_int_equal(gm_view_close(v, &err), 0);
	gm_image_close(img);
	v = NULL;
	img = NULL;
	assert_int_equal(fx_sh("e2fsck -fn 'disk.raw?offset=%llu'", FX_PART_OFFSET), 0);
}

static void expect_content(const char *path, const char *want)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = gm_path_read_file(v, path, 1 << 20, &buf, &len);

	if (rc)
		fail_msg("%s: %d %s", path, rc, gm_view_errmsg(v));
	assert_int_equal(len, strlen(want));
	assert_string_equal(buf, want);
	free(buf);
}

static void host_canary_untouched(void)
{
	char p[4200];
	struct stat st;
	char *h;

	snprintf(p, sizeof(p), "%s/canary/secret", tmpdir);
	h = fx_slurp(p, NULL);
	assert_non_null(h);
	assert_string_equal(h, "HOST CANARY");
	free(h);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mtime, 978307200);   /* 2001-01-01 UTC, as set */
	snprintf(p, sizeof(p), "%s/canary/newfile", tmpdir);
	assert_int_equal(access(p, F_OK), -1);
}

static void test_path_write_equal_content_is_a_noop(void **state)
{
	open_rw(false);
	assert_int_equal(gm_path_write_file(v, "/etc/hostname", "old", 3, 0644, NULL), 0);
	assert_false(gm_image_dirty(img));
	close_checked();
}

static void test_path_write_replace_keeps_inode(void **state)
{
	struct stat before, after;
	char val[16];

	open_rw(false);
	assert_int_equal(gm_path_stat(v, "/etc/hostname", &before), 0);
	assert_int_equal(gm_path_write_file(v, "/etc/hostname", "a-much-longer-name\n", 19, 0644, NULL), 0);
	assert_true(gm_image_dirty(img));
	assert_int_equal(gm_path_stat(v, "/etc/hostname", &after), 0);
	assert_int_equal(after.st_ino, before.st_ino);
	assert_int_equal(after.st_mode, S_IFREG | 0600);
	assert_int_equal(after.st_uid, 7);
	assert_int_equal(after.st_gid, 8);
	assert_int_equal(after.st_size, 19);
	expect_content("/etc/hostname", "a-much-longer-name\n");
	assert_int_equal(gm_view_getxattr(v, after.st_ino, "user.keep", val, sizeof(val)), 3);
	assert_memory_equal(val, "yes", 3);
	/* shorter: truncated */
	assert_int_equal(gm_path_write_file(v, "/etc/hostname", "x", 1, 0644, NULL), 0);
	expect_content("/etc/hostname", "x");
	/* empty */
	assert_int_equal(gm_path_write_file(v, "/etc/hostname", "", 0, 0644, NULL), 0);
	expect_content("/etc/hostname", "");
	assert_int_equal(gm_path_write_file(v, "/etc/hostname", "host\n", 5, 0644, NULL), 0);
	close_checked();
	open_rw(true);
	expect_content("/etc/hostname", "host\n");
	close_checked();
}

static void test_path_write_create(void **state)
{
	struct gm_creds c = { 1001, 1002 };
	struct stat st;

	open_rw(false);
	assert_int_equal(gm_path_write_file(v, "/etc/new.conf", "k=v\n", 4, 0640, &c), 0);
	assert_int_equal(gm_path_stat(v, "/etc/new.conf", &st), 0);
	assert_int_equal(st.st_mode, S_IFREG | 0640);
	assert_int_equal(st.st_uid, 1001);
	assert_int_equal(st.st_gid, 1002);
	expect_content("/etc/new.conf", "k=v\n");
	/* through a directory symlink */
	assert_int_equal(gm_path_write_file(v, "/etcl/via-link", "v", 1, 0644, NULL), 0);
	expect_content("/etc/via-link", "v");
	assert_int_equal(gm_path_write_file(v, "/nope/x", "v", 1, 0644, NULL), -ENOENT);
	assert_int_equal(gm_path_write_file(v, "/etc", "v", 1, 0644, NULL), -EISDIR);
	assert_int_equal(gm_path_write_file(v, "/etc/newdir/", "v", 1, 0644, NULL), -ENOTDIR);
	assert_int_equal(gm_path_write_file(v, "/etc/passwd/x", "v", 1, 0644, NULL), -ENOTDIR);
	close_checked();
}

static void test_path_write_symlinks_stay_in_image(void **state)
{
	char p[4200];

	open_rw(false);
	assert_int_equal(gm_path_write_file(v, "/abs", "image 2", 7, 0644, NULL), 0);
	snprintf(p, sizeof(p), "%s/canary/secret", tmpdir);
	expect_content(p, "image 2");
	assert_int_equal(gm_path_write_file(v, "/a/b/rel", "image 3", 7, 0644, NULL), 0);
	expect_content(p, "image 3");
	/* a dangling absolute link: created inside the image */
	assert_int_equal(gm_path_write_file(v, "/dangle", "made", 4, 0644, NULL), 0);
	snprintf(p, sizeof(p), "%s/canary/newfile", tmpdir);
	expect_content(p, "made");
	expect_content("/dangle", "made");
	host_canary_untouched();
	close_checked();
	host_canary_untouched();
}

static void test_path_write_mkdir_symlink_remove(void **state)
{
	struct stat st;
	char buf[64];
	gm_vino_t ino;

	open_rw(false);
	assert_int_equal(gm_path_mkdir(v, "/newdir", 0750, NULL), 0);
	assert_int_equal(gm_path_stat(v, "/newdir", &st), 0);
	assert_int_equal(st.st_mode, S_IFDIR | 0750);
	assert_int_equal(gm_path_mkdir(v, "/newdir", 0750, NULL), -EEXIST);
	assert_int_equal(gm_path_mkdir(v, "/no/such", 0750, NULL), -ENOENT);
	assert_int_equal(gm_path_mkdir(v, "/etcl/sub", 0755, NULL), 0);   /* via a dir link */
	assert_int_equal(gm_path_stat(v, "/etc/sub", &st), 0);

	assert_int_equal(gm_path_symlink(v, "/etc/passwd", "/newdir/pw", NULL), 0);
	assert_int_equal(gm_path_resolve(v, "/newdir/pw", GM_PATH_NOFOLLOW, &ino), 0);
	assert_int_equal(gm_view_readlink(v, ino, buf, sizeof(buf)), 11);
	assert_memory_equal(buf, "/etc/passwd", 11);
	expect_content("/newdir/pw", "IMAGE-PASSWD\n");

	/* remove: the link, not its target */
	assert_int_equal(gm_path_remove(v, "/plink"), 0);
	assert_int_equal(gm_path_lstat(v, "/plink", &st), -ENOENT);
	expect_content("/etc/passwd", "IMAGE-PASSWD\n");
	assert_int_equal(gm_path_remove(v, "/full"), -ENOTEMPTY);
	assert_int_equal(gm_path_remove(v, "/full/sub/f"), 0);
	assert_int_equal(gm_path_remove(v, "/full/sub"), 0);
	assert_int_equal(gm_path_remove(v, "/full"), 0);
	assert_int_equal(gm_path_remove(v, "/full"), -ENOENT);
	assert_int_equal(gm_path_remove(v, "/"), -EINVAL);
	/* a link to a directory is removed as a link */
	assert_int_equal(gm_path_remove(v, "/etcl"), 0);
	assert_int_equal(gm_path_stat(v, "/etc/passwd", &st), 0);
	host_canary_untouched();
	close_checked();
}

static void test_path_write_read_only_refused(void **state)
{
	open_rw(true);
	assert_int_equal(gm_path_write_file(v, "/etc/hostname", "zz", 2, 0644, NULL), -EROFS);
	assert_int_equal(gm_path_mkdir(v, "/ro", 0755, NULL), -EROFS);
	assert_false(gm_image_dirty(img));
	close_checked();
}

/* Entries added to an indexed directory by the write side are found by the
 * read side's hash-index lookup (and by libext2fs's linear scan). */
static void test_path_write_htree_grows(void **state)
{
	gm_vino_t dir, ino;
	char nm[32];

	open_rw(false);
	assert_int_equal(gm_path_resolve(v, "/big", 0, &dir), 0);
	for (int i = 0; i < 3000; i++) {
		snprintf(nm, sizeof(nm), "new-%d", i);
		assert_int_equal(gm_view_mknod(v, dir, nm, S_IFREG | 0644, 0, NULL, NULL), 0);
	}
	{
		struct ext2_inode inode;

		assert_int_equal(ext2fs_read_inode(gm_view_root_fs(v)->e2fs, (ext2_ino_t)(dir & GM_VINO_LOCAL_MASK), &inode), 0);
		assert_true(inode.i_flags & EXT2_INDEX_FL);   /* still indexed: the hash path is used */
	}
	for (int i = 0; i < 3000; i++) {
		snprintf(nm, sizeof(nm), "new-%d", i);
		if (gm_view_lookup(v, dir, nm, &ino))
			fail_msg("%s: %s", nm, gm_view_errmsg(v));
		snprintf(nm, sizeof(nm), "e%05d", i);
		/* (the readdir test removed every 7th one) */
		assert_int_equal(gm_view_lookup(v, dir, nm, &ino), i < 2000 && i % 7 ? 0 : -ENOENT);
	}
	for (int i = 0; i < 1000; i++) {
		snprintf(nm, sizeof(nm), "new-%d", i);
		assert_int_equal(gm_view_unlink(v, dir, nm), 0);
		assert_int_equal(gm_view_lookup(v, dir, nm, &ino), -ENOENT);
	}
	close_checked();
	open_rw(true);
	assert_int_equal(gm_path_resolve(v, "/big/new-2999", 0, &ino), 0);
	assert_int_equal(gm_path_resolve(v, "/big/new-999", 0, &ino), -ENOENT);
	close_checked();
}

struct listing {
	char (*names)[32];
	size_t n, cap, stop_after;
	uint64_t last;
};

static int list_cb(void *priv, const char *name, size_t namelen, gm_vino_t ino, unsigned dtype,
		   uint64_t next_off)
{
	struct listing *l = priv;

	assert_true(l->n < l->cap && namelen < 32);
	memcpy(l->names[l->n], name, namelen);
	l->names[l->n][namelen] = '\0';
	l->n++;
	l->last = next_off;
	return l->stop_after && l->n == l->stop_after;
}

static bool listed(const struct listing *l, size_t from, const char *name)
{
	for (size_t i = from; i < l->n; i++)
		if (!strcmp(l->names[i], name))
			return true;
	return false;
}

/* A listing resumed from a cookie after entries were removed on both sides
 * of it neither repeats nor loses any surviving entry (FUSE readdir). */
static void test_path_write_readdir_resume_after_unlink(void **state)
{
	struct listing l = { .cap = 4000, .stop_after = 500 };
	gm_vino_t dir;
	size_t first;
	int removed_before = 0, removed_after = 0;

	l.names = calloc(l.cap, sizeof(*l.names));
	assert_non_null(l.names);
	open_rw(false);
	assert_int_equal(gm_path_resolve(v, "/big", 0, &dir), 0);
	assert_int_equal(gm_view_readdir(v, dir, 0, list_cb, &l), 0);
	assert_int_equal(l.n, 500);
	first = l.n;
	for (int i = 0; i < 2000; i++) {
		char nm[32];

		snprintf(nm, sizeof(nm), "e%05d", i);
		if (i % 7)
			continue;
		assert_int_equal(gm_view_unlink(v, dir, nm), 0);
		if (listed(&l, 0, nm))
			removed_before++;
		else
			removed_after++;
	}
	assert_true(removed_before > 0 && removed_after > 0);
	l.stop_after = 0;
	assert_int_equal(gm_view_readdir(v, dir, l.last, list_cb, &l), 0);
	/* no repeats */
	for (size_t i = first; i < l.n; i++)
		assert_false(listed(&l, 0, l.names[i]) && !listed(&l, i, l.names[i]));
	for (size_t i = first; i < l.n; i++)
		for (size_t j = 0; j < first; j++)
			assert_string_not_equal(l.names[i], l.names[j]);
	/* every survivor seen exactly once overall */
	assert_int_equal(l.n, 2000 + 2 - removed_before - removed_after + removed_before);
	for (int i = 0; i < 2000; i++) {
		char nm[32];

		snprintf(nm, sizeof(nm), "e%05d", i);
		if (i % 7)
			assert_true(listed(&l, 0, nm));
		else if (!listed(&l, 0, nm))
			continue;
		else
			assert_false(listed(&l, first, nm));   /* removed ones only in the first part */
	}
	close_checked();
	free(l.names);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_write_equal_content_is_a_noop),
		cmocka_unit_test(test_path_write_replace_keeps_inode),
		cmocka_unit_test(test_path_write_create),
		cmocka_unit_test(test_path_write_symlinks_stay_in_image),
		cmocka_unit_test(test_path_write_mkdir_symlink_remove),
		cmocka_unit_test(test_path_write_read_only_refused),
		cmocka_unit_test(test_path_write_readdir_resume_after_unlink),
		cmocka_unit_test(test_path_write_htree_grows),
	};

	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
