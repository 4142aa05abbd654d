/* test_path.c — path resolution inside the image root (a security property:
 * symlinks must never reach the host's files), stat, read_file, glob.
 *
 * Canaries: the fixture puts a file at the SAME absolute path on the host and
 * inside the image, with different contents; every escape attempt must read
 * the image's copy (or fail), never the host's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>

#include "editor/fs/fs.h"
#include "editor/container/image.h"
#include "editor/view/path.h"
#include "tests/fixture.h"

static char tmpdir[4096];
static struct gm_image *img;
static struct gm_view *v;

static int setup_all(void **state)
{
	struct gm_image_opts io = { .read_only = true };
	struct gm_view_opts vo = { .read_only = true };
	struct gm_error err = { 0 };
	char ups[512] = "";
	int rc;

	(void)state;
	if (!fx_enter_tmpdir(tmpdir, sizeof(tmpdir)))
		return -1;
	for (int i = 0; i < 12; i++)
		strcat(ups, "../");
	rc = fx_sh(
		"set -e; T='%s'; mkdir -p tree/etc tree/a/b/c tree/home/u1/.ssh tree/home/u2/.ssh tree/home/u3 "
		"tree/usr/lib \"tree$T/canary\" \"$T/canary\"; "
		"printf 'IMAGE-PASSWD\\n' > tree/etc/passwd; printf 'IMAGE-SHADOW\\n' > tree/etc/shadow; "
		"printf 'image secret' > \"tree$T/canary/secret\"; printf 'HOST CANARY' > \"$T/canary/secret\"; "
		"printf 'host only' > \"$T/hostonly\"; "
		"ln -s /etc/shadow tree/etc/x; ln -s ../../../../etc/passwd tree/a/b/c/up; "
		"ln -s /proc/self/root/etc/passwd tree/esc_proc; ln -s /proc/self/cwd tree/esc_cwd; "
		"ln -s \"$T/canary/secret\" tree/abs_canary; ln -s \"%s${T#/}/canary/secret\" tree/a/b/rel_canary; "
		"ln -s \"$T/hostonly\" tree/hostonly; "
		"ln -s a/b tree/dirlink; ln -s /etc tree/absdir; ln -s .. tree/rootup; ln -s / tree/rootlink; "
		"ln -s loopb tree/loopa; ln -s loopa tree/loopb; ln -s self tree/self; ln -s '' tree/empty 2>/dev/null || true; "
		"ln -s ../usr/lib tree/etc/lib; printf lib > tree/usr/lib/libx; "
		"for i in $(seq 0 38); do ln -s l$((i+1)) tree/l$i; done; ln -s etc/passwd tree/l39; "
		"for i in $(seq 0 39); do ln -s m$((i+1)) tree/m$i; done; ln -s etc/passwd tree/m40; "
		"printf a > tree/etc/a.conf; printf b > tree/etc/b.conf; printf h > tree/etc/.hidden.conf; "
		"printf k1 > tree/home/u1/.ssh/authorized_keys; printf k2 > tree/home/u2/.ssh/authorized_keys; "
		"head -c 5000 /dev/zero > tree/etc/big",
		tmpdir, ups);
	if (rc)
		return -1;
	if (fx_make_disk("disk.raw", "tree", 32, "mbr", ""))
		return -1;
	if (gm_image_open("disk.raw", &io, &img, &err) || gm_view_open(img, &vo, &v, &err)) {
		fprintf(stderr, "open: %s\n", gm_error_msg(&err));
		return -1;
	}
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	gm_view_close(v, NULL);
	if (img) {
		if (gm_image_dirty(img))
			return -1;
		gm_image_close(img);
	}
	fx_leave_tmpdir(tmpdir);
	return 0;
}

/* Reads path through the image; returns its content or NULL (rc in *rcp). */
static char *rd(const char *path, int *rcp)
{
	char *buf = NULL;
	size_t len = 0;

	*rcp = gm_path_read_file(v, path, 1 << 20, &buf, &len);
	return *rcp ? NULL : buf;
}

static void expect_content(const char *path, const char *want)
{
	int rc;
	char *got = rd(path, &rc);

	if (rc)
		fail_msg("%s: %d (%s)", path, rc, gm_view_errmsg(v));
	assert_string_equal(got, want);
	free(got);
}

static void expect_err(const char *path, int want)
{
	int rc;
	char *got = rd(path, &rc);

	if (rc != want)
		fail_msg("%s: got %d, want %d (content %s)", path, rc, want, got ? got : "-");
	free(got);
}

static void test_path_plain(void **state)
{
	expect_content("/etc/passwd", "IMAGE-PASSWD\n");
	expect_content("etc/passwd", "IMAGE-PASSWD\n");          /* relative = from the root */
	expect_content("//etc///passwd", "IMAGE-PASSWD\n");
	expect_content("/etc/./passwd", "IMAGE-PASSWD\n");
	expect_content("/a/b/../../etc/passwd", "IMAGE-PASSWD\n");
}

static void test_path_absolute_link_stays_in_image(void **state)
{
	expect_content("/etc/x", "IMAGE-SHADOW\n");
	expect_content("/absdir/passwd", "IMAGE-PASSWD\n");
	expect_content("/absdir/x", "IMAGE-SHADOW\n");
	expect_content("/rootlink/etc/passwd", "IMAGE-PASSWD\n");
}

static void test_path_dotdot_escape_stays_at_root(void **state)
{
	expect_content("/../../../../etc/passwd", "IMAGE-PASSWD\n");
	expect_content("/a/b/c/up", "IMAGE-PASSWD\n");
	expect_content("/dirlink/c/up", "IMAGE-PASSWD\n");
	expect_content("/rootup/etc/passwd", "IMAGE-PASSWD\n");
	expect_content("/rootup/rootup/rootup/etc/x", "IMAGE-SHADOW\n");
	expect_content("/etc/lib/libx", "lib");
}

static void test_path_host_canary_never_read(void **state)
{
	char host[4200];
	char *h;

	/* the host has its own file at the same absolute path ... */
	snprintf(host, sizeof(host), "%s/canary/secret", tmpdir);
	h = fx_slurp(host, NULL);
	assert_non_null(h);
	assert_string_equal(h, "HOST CANARY");
	free(h);
	/* ... and every route reads the image's copy */
	expect_content(host, "image secret");
	expect_content("/abs_canary", "image secret");
	expect_content("/a/b/rel_canary", "image secret");
	expect_content("/dirlink/rel_canary", "image secret");
	/* a file only the host has does not exist in the image */
	expect_err("/hostonly", -ENOENT);
	snprintf(host, sizeof(host), "%s/hostonly", tmpdir);
	expect_err(host, -ENOENT);
	/* /proc tricks are plain (missing) paths inside the image */
	expect_err("/esc_proc", -ENOENT);
	expect_err("/esc_cwd/etc/passwd", -ENOENT);
	expect_err("/proc/self/root/etc/passwd", -ENOENT);
}

static void test_path_link_chains_and_loops(void **state)
{
	gm_vino_t ino;

	expect_content("/l0", "IMAGE-PASSWD\n");       /* exactly 40 links: allowed */
	expect_err("/m0", -ELOOP);                      /* 41 links */
	expect_err("/loopa", -ELOOP);
	expect_err("/self", -ELOOP);
	expect_err("/self/x", -ELOOP);
	assert_int_equal(gm_path_resolve(v, "/loopa", GM_PATH_NOFOLLOW, &ino), 0);
	assert_int_equal(gm_path_resolve(v, "/loopa/", GM_PATH_NOFOLLOW, &ino), -ELOOP);
}

static void test_path_errors(void **state)
{
	char name[300], longpath[5000];
	gm_vino_t ino;

	expect_err("/etc/passwd/x", -ENOTDIR);
	expect_err("/etc/passwd/", -ENOTDIR);
	expect_err("/etc/x/", -ENOTDIR);
	expect_err("/nope/passwd", -ENOENT);
	expect_err("/etc", -EISDIR);
	expect_err("", -ENOENT);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(gm_path_resolve(v, name, 0, &ino), -ENAMETOOLONG);
	memset(longpath, '/', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(gm_path_resolve(v, longpath, 0, &ino), -ENAMETOOLONG);
	{
		char *buf = NULL;
		size_t len = 0;

		assert_int_equal(gm_path_read_file(v, "/etc/big", 4999, &buf, &len), -EFBIG);
		assert_null(buf);
		assert_int_equal(gm_path_read_file(v, "/etc/big", 5000, &buf, &len), 0);
		assert_int_equal(len, 5000);
		assert_int_equal(buf[5000], '\0');
		free(buf);
	}
}

static void test_path_stat_lstat(void **state)
{
	struct stat st, st2;

	assert_int_equal(gm_path_lstat(v, "/etc/x", &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(st.st_size, strlen("/etc/shadow"));
	assert_int_equal(gm_path_stat(v, "/etc/x", &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(gm_path_stat(v, "/etc/shadow", &st2), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	assert_int_equal(gm_path_stat(v, "/", &st), 0);
	assert_int_equal(st.st_ino, gm_view_root(v));
	assert_int_equal(gm_path_stat(v, "/dirlink", &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(gm_path_lstat(v, "/dirlink/", &st), 0);   /* trailing slash follows */
	assert_true(S_ISDIR(st.st_mode));
}

static void test_path_resolve_parent(void **state)
{
	char name[NAME_MAX + 1];
	gm_vino_t dir, etc, ab;

	assert_int_equal(gm_path_resolve(v, "/etc", 0, &etc), 0);
	assert_int_equal(gm_path_resolve(v, "/a/b", 0, &ab), 0);
	assert_int_equal(gm_path_resolve_parent(v, "/etc/passwd", &dir, name), 0);
	assert_int_equal(dir, etc);
	assert_string_equal(name, "passwd");
	assert_int_equal(gm_path_resolve_parent(v, "/etc/newfile/", &dir, name), 0);
	assert_string_equal(name, "newfile");
	assert_int_equal(gm_path_resolve_parent(v, "top", &dir, name), 0);
	assert_int_equal(dir, gm_view_root(v));
	assert_int_equal(gm_path_resolve_parent(v, "/absdir/x", &dir, name), 0);   /* follows the dir link */
	assert_int_equal(dir, etc);
	assert_string_equal(name, "x");
	assert_int_equal(gm_path_resolve_parent(v, "/dirlink/new", &dir, name), 0);
	assert_int_equal(dir, ab);
	assert_int_equal(gm_path_resolve_parent(v, "/", &dir, name), -EINVAL);
	assert_int_equal(gm_path_resolve_parent(v, "///", &dir, name), -EINVAL);
	assert_int_equal(gm_path_resolve_parent(v, "/etc/..", &dir, name), -EINVAL);
	assert_int_equal(gm_path_resolve_parent(v, "/nope/x", &dir, name), -ENOENT);
	assert_int_equal(gm_path_resolve_parent(v, "/etc/passwd/x", &dir, name), -ENOTDIR);
	assert_int_equal(gm_path_resolve_parent(v, "/loopa/x", &dir, name), -ELOOP);
}

struct hits {
	char all[2048];
	int n;
	int stop_at;
};

static int on_match(void *priv, const char *path)
{
	struct hits *h = priv;

	strcat(h->all, path);
	strcat(h->all, " ");
	h->n++;
	return h->stop_at && h->n == h->stop_at ? 42 : 0;
}

static void test_path_glob(void **state)
{
	struct hits h = { 0 };

	assert_int_equal(gm_path_glob(v, "/etc/*.conf", on_match, &h), 0);
	assert_string_equal(h.all, "/etc/a.conf /etc/b.conf ");
	memset(&h, 0, sizeof(h));
	assert_int_equal(gm_path_glob(v, "/etc/.*.conf", on_match, &h), 0);
	assert_string_equal(h.all, "/etc/.hidden.conf ");
	memset(&h, 0, sizeof(h));
	assert_int_equal(gm_path_glob(v, "/home/*/.ssh/authorized_keys", on_match, &h), 0);
	assert_string_equal(h.all, "/home/u1/.ssh/authorized_keys /home/u2/.ssh/authorized_keys ");
	memset(&h, 0, sizeof(h));
	assert_int_equal(gm_path_glob(v, "/etc/passwd", on_match, &h), 0);
	assert_string_equal(h.all, "/etc/passwd ");
	memset(&h, 0, sizeof(h));
	assert_int_equal(gm_path_glob(v, "/etc/nothing*", on_match, &h), 0);
	assert_int_equal(h.n, 0);
	/* through a directory symlink that points outside "..": still the image */
	memset(&h, 0, sizeof(h));
	assert_int_equal(gm_path_glob(v, "/absdir/[ab].conf", on_match, &h), 0);
	assert_string_equal(h.all, "/absdir/a.conf /absdir/b.conf ");
	memset(&h, 0, sizeof(h));
	h.stop_at = 1;
	assert_int_equal(gm_path_glob(v, "/etc/*", on_match, &h), 42);
	assert_int_equal(h.n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_plain),
		cmocka_unit_test(test_path_absolute_link_stays_in_image),
		cmocka_unit_test(test_path_dotdot_escape_stays_at_root),
		cmocka_unit_test(test_path_host_canary_never_read),
		cmocka_unit_test(test_path_link_chains_and_loops),
		cmocka_unit_test(test_path_errors),
		cmocka_unit_test(test_path_stat_lstat),
		cmocka_unit_test(test_path_resolve_parent),
		cmocka_unit_test(test_path_glob),
	};

	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
