/* test_fuse_view.c — what the FUSE layer shows the kernel, without a mount:
 * symlink targets kept inside the mount (fuse/symlinks.c over the names the
 * kernel was given, fuse/names.c), the owner view (fuse/ids.c) and ACL id
 * mapping. A struct gm_fuse is filled by hand over a real image's view. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>

#include "editor/container/image.h"
#include "editor/fs/fs.h"
#include "editor/view/view.h"
#include "fuse/fuse_private.h"
#include "tests/fixture.h"

static char tmpdir[4096];
static struct gm_image *img;
static struct gm_view *fs;
static struct gm_fuse fu;

/* Tells the names table what the kernel would have looked up on the way
 * to path (every directory, and the last component). */
static gm_vino_t walk(const char *path)
{
	char buf[PATH_MAX], *save = NULL;
	gm_vino_t dir = gm_view_root(fs), ino = dir;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		struct stat st;

		assert_int_equal(gm_view_lookup(fs, dir, c, &ino), 0);
		assert_int_equal(gm_view_getattr(fs, ino, &st), 0);
		if (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode))
			assert_int_equal(gm_fuse_names_note(&fu, ino, dir, c, S_ISDIR(st.st_mode)), 0);
		dir = ino;
	}
	return ino;
}

static int setup_all(void **state)
{
	struct gm_image_opts io = { .read_only = true };
	struct gm_view_opts vo = { .read_only = true };
	struct gm_error err = { 0 };

	(void)state;
	if (!fx_enter_tmpdir(tmpdir, sizeof(tmpdir)))
		return -1;
	if (fx_sh("set -e; mkdir -p tree/etc tree/a/b/c tree/deep/x/y; "
		  "echo P > tree/etc/passwd; echo S > tree/etc/shadow; echo H > tree/etc/hostname; "
		  "ln -s /etc/hostname tree/etc/abs; ln -s abs tree/etc/chain; "
		  "ln -s /etc/abs tree/etc/chain_abs; "
		  "ln -s ../../../../etc/passwd tree/a/b/c/up; ln -s ../x tree/a/b/rel; "
		  "ln -s ../../../../../x tree/a/b/toofar; "
		  "ln -s a/b tree/dirlink; ln -s .. tree/rootup; ln -s / tree/rootlink; ln -s / tree/a/rootlink; "
		  "ln -s ../../etc/passwd/../shadow tree/a/b/mid; ln -s rootlink/../etc/passwd tree/viaroot; "
		  "ln -s /etc/ tree/trail; ln -s loopb tree/loopa; ln -s loopa tree/loopb; "
		  "ln -s /loopa/y tree/loopy; ln -s /nonexistent/../../etc/passwd tree/missing; "
		  "ln -s /a/b/c tree/deep/x/y/sib; ln -s ./../.././etc/passwd tree/a/b/dots; "
		  "ln -s /etc/hostname tree/hard1; ln -s ../x tree/a/hardrel; ln -s sub/x tree/a/desc; "
		  "ln -s /$(printf 'a%%.0s' $(seq 300))/x tree/longcomp"))
		return -1;
	/* Hard-linked symlinks (mke2fs -d does not make them): debugfs. */
	if (fx_make_disk("disk.raw", "tree", 32, "mbr", "") ||
	    fx_sh("printf '%%s\\n' 'link /hard1 /a/hard2' 'sif /hard1 links_count 2' "
		  "'link /a/hardrel /a/b/hardrel2' 'sif /a/hardrel links_count 2' "
		  "'link /a/desc /desc2' 'sif /a/desc links_count 2' > dbg.cmds && "
		  "debugfs -w -f dbg.cmds 'disk.raw?offset=%llu' && "
		  "e2fsck -fn 'disk.raw?offset=%llu'", FX_PART_OFFSET, FX_PART_OFFSET))
		return -1;
	if (gm_image_open("disk.raw", &io, &img, &err) || gm_view_open(img, &vo, &fs, &err)) {
		fprintf(stderr, "open: %s\n", gm_error_msg(&err));
		return -1;
	}
	fu.fs = fs;
	fu.contain_links = true;
	gm_fuse_root_vino = gm_view_root(fs);
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	gm_fuse_names_free(&fu);
	gm_view_close(fs, NULL);
	gm_image_close(img);
	fx_leave_tmpdir(tmpdir);
	return 0;
}

/* readlink of path as the kernel is shown it. */
static void expect_link(const char *path, const char *want)
{
	char out[PATH_MAX];
	ssize_t n = gm_fuse_link_target(&fu, walk(path), out, sizeof(out));

	if (n < 0)
		fail_msg("%s: %zd", path, n);
	if (strcmp(out, want))
		fail_msg("%s: '%s', want '%s'", path, out, want);
	assert_int_equal((size_t)n, strlen(want));
}

static void expect_link_err(const char *path, int want)
{
	char out[PATH_MAX];
	ssize_t n = gm_fuse_link_target(&fu, walk(path), out, sizeof(out));

	if (n != want)
		fail_msg("%s: %zd ('%s'), want %d", path, n, n >= 0 ? out : "", want);
}

static void test_fuse_view_absolute_becomes_relative(void **state)
{
	expect_link("/etc/abs", "hostname");
	expect_link("/trail", "etc/");
	expect_link("/rootlink", ".");
	expect_link("/a/rootlink", "..");
	expect_link("/deep/x/y/sib", "../../../a/b/c");
	/* chained: the last component stays a link, followed on its own */
	expect_link("/etc/chain", "abs");
	expect_link("/etc/chain_abs", "abs");
}

static void test_fuse_view_climbing_stays_at_root(void **state)
{
	expect_link("/a/b/c/up", "../../../etc/passwd");
	expect_link("/a/b/toofar", "../../x");
	expect_link("/rootup", ".");
	expect_link("/a/b/dots", "./../.././etc/passwd");  /* leading "..": as stored */
	/* ".." after a link to "/" stays at the image root */
	expect_link("/viaroot", "etc/passwd");
}

static void test_fuse_view_safe_targets_as_stored(void **state)
{
	expect_link("/dirlink", "a/b");
	expect_link("/a/b/rel", "../x");       /* climbs no higher than its depth */
	expect_link("/desc2", "sub/x");        /* only descends: any depth, even hard-linked */
}

static void test_fuse_view_broken_paths_never_climb(void **state)
{
	/* a non-directory or missing component ends the resolution: the ".."
	 * after it is dropped, the kernel fails at that component anyway */
	expect_link("/a/b/mid", "../../etc/passwd/shadow");
	expect_link("/missing", "nonexistent/etc/passwd");
	expect_link_err("/loopy", -ELOOP);
	expect_link_err("/longcomp", -ENAMETOOLONG);
}

static void test_fuse_view_hard_linked_rewrite_refused(void **state)
{
	expect_link_err("/hard1", -EACCES);
	expect_link_err("/a/hardrel", -EACCES);
}

static void test_fuse_view_rename_and_raw(void **state)
{
	gm_vino_t up = walk("/a/b/c/up"), c = walk("/a/b/c"), deep = walk("/deep/x/y");
	gm_vino_t a = walk("/a"), b = walk("/a/b");
	char out[PATH_MAX];

	/* the directory moves one level deeper (/deep/x/y/c): as stored fits */
	gm_fuse_names_moved(&fu, c, b, "c", deep, "c");
	assert_true(gm_fuse_link_target(&fu, up, out, sizeof(out)) > 0);
	assert_string_equal(out, "../../../../etc/passwd");
	gm_fuse_names_moved(&fu, c, deep, "c", b, "c");
	/* a link moved to the root */
	gm_fuse_names_moved(&fu, up, c, "up", gm_fuse_root_vino, "up");
	assert_true(gm_fuse_link_target(&fu, up, out, sizeof(out)) > 0);
	assert_string_equal(out, "etc/passwd");
	gm_fuse_names_moved(&fu, up, gm_fuse_root_vino, "up", c, "up");
	/* two names known for one link: its directory is unknown */
	assert_int_equal(gm_fuse_names_note(&fu, up, a, "up-too", false), 0);
	assert_int_equal(gm_fuse_names_parent(&fu, up), 0);
	gm_fuse_names_gone(&fu, up, a, "up-too");
	assert_int_equal(gm_fuse_names_parent(&fu, up), c);
	fu.contain_links = false;
	assert_true(gm_fuse_link_target(&fu, up, out, sizeof(out)) > 0);
	assert_string_equal(out, "../../../../etc/passwd");
	fu.contain_links = true;
}

static void test_fuse_view_directory_in_two_places(void **state)
{
	gm_vino_t b = walk("/a/b"), deep = walk("/deep");

	assert_int_equal(gm_fuse_names_note(&fu, b, deep, "b", true), -EIO);
	/* another spelling in the same directory is the same name */
	assert_int_equal(gm_fuse_names_note(&fu, b, walk("/a"), "B", true), 0);
	assert_int_equal(gm_fuse_names_note(&fu, b, walk("/a"), "b", true), 0);
}

static void test_fuse_view_ids(void **state)
{
	struct gm_fuse f = { .map_ids = true, .map_uid = 1000, .map_gid = 100 };
	/* version 2; user::rw-; user:0:r--; user:1000:r--; user:7:r--;
	 * group::r--; group:100:r--; mask::r--; other::--- */
	unsigned char acl[4 + 8 * 8] = { 2, 0, 0, 0,
		1, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,  2, 0, 4, 0, 0, 0, 0, 0,
		2, 0, 4, 0, 0xe8, 3, 0, 0,           2, 0, 4, 0, 7, 0, 0, 0,
		4, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,  8, 0, 4, 0, 100, 0, 0, 0,
		16, 0, 4, 0, 0xff, 0xff, 0xff, 0xff, 32, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
	unsigned char orig[sizeof(acl)];
	struct stat st = { .st_uid = 0, .st_gid = 0, .st_nlink = 1 };

	(void)state;
	assert_int_equal(gm_fuse_uid_out(&f, 0), 1000);
	assert_int_equal(gm_fuse_uid_out(&f, 1000), 0);
	assert_int_equal(gm_fuse_uid_out(&f, 7), 7);
	assert_int_equal(gm_fuse_uid_in(&f, 1000), 0);
	assert_int_equal(gm_fuse_uid_in(&f, 0), 0);
	assert_int_equal(gm_fuse_uid_in(&f, 7), 7);
	assert_int_equal(gm_fuse_gid_out(&f, 0), 100);
	assert_int_equal(gm_fuse_gid_in(&f, 100), 0);
	gm_fuse_present(&f, 12, &st);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 100);
	assert_int_equal(st.st_ino, 12);

	memcpy(orig, acl, sizeof(acl));
	assert_int_equal(gm_fuse_acl_check(acl, sizeof(acl)), 8);
	gm_fuse_acl_map(&f, acl, sizeof(acl), true);     /* as shown */
	assert_int_equal(acl[12 + 4], 0xe8);               /* user:0 -> 1000 */
	assert_int_equal(acl[20 + 4], 0);                  /* user:1000 -> 0 */
	assert_int_equal(acl[28 + 4], 7);
	assert_int_equal(acl[44 + 4], 0);                  /* group:100 -> 0 */
	assert_memory_equal(acl + 4, orig + 4, 8);         /* user:: untouched */
	gm_fuse_acl_map(&f, acl, sizeof(acl), false);    /* as stored: both 0 */
	assert_int_equal(acl[12 + 4], 0);
	assert_int_equal(acl[20 + 4], 0);
	assert_int_equal(gm_fuse_acl_check(acl, 7), -EINVAL);
	acl[0] = 1;
	assert_int_equal(gm_fuse_acl_check(acl, sizeof(acl)), -EINVAL);
	f.map_ids = false;
	assert_int_equal(gm_fuse_uid_out(&f, 0), 0);
	assert_int_equal(gm_fuse_uid_in(&f, 1000), 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fuse_view_absolute_becomes_relative),
		cmocka_unit_test(test_fuse_view_climbing_stays_at_root),
		cmocka_unit_test(test_fuse_view_safe_targets_as_stored),
		cmocka_unit_test(test_fuse_view_broken_paths_never_climb),
		cmocka_unit_test(test_fuse_view_hard_linked_rewrite_refused),
		cmocka_unit_test(test_fuse_view_rename_and_raw),
		cmocka_unit_test(test_fuse_view_directory_in_two_places),
		cmocka_unit_test(test_fuse_view_ids),
	};

	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
