/* test_fuse_ops.c — FUSE requests that make more than one change are one
 * operation (fuse/orphans.c gm_fuse_request_begin/end): unlink of an open
 * file (make the orphan directory, move the file there), rename over an
 * open file (the same, then the rename), setting an access ACL (chmod, then
 * the xattr). When the second call fails, nothing of the first remains: not
 * on the disk (compared byte for byte), not in what the session remembers
 * (orphan directory, hidden names). The failures are a real full
 * filesystem (the ACL) and, where no real one reaches the second call, one
 * injected before it changes anything (gm_fs_test_fail_call). A struct
 * gm_fuse is filled by hand over a read-write view, as test_fuse_view does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>

#include "editor/container/image.h"
#include "editor/fs/fs.h"
#include "editor/view/view.h"
#include "fuse/fuse_private.h"
#include "tests/fixture.h"

static char tmpdir[4096];

struct t {
	struct gm_image *img;
	struct gm_view *v;
	struct gm_fuse fu;
	gm_vino_t root;
};

static int setup(void **state)
{
	struct gm_image_opts io = { .cache_dir = "cache" };
	struct gm_view_opts vo = { 0 };
	struct gm_error err = { 0 };
	struct t *t = calloc(1, sizeof(*t));

	if (!t || !fx_enter_tmpdir(tmpdir, sizeof(tmpdir)))
		return -1;
	if (fx_sh("mkdir -p tree/etc && echo a > tree/a && echo b > tree/b && echo h > tree/etc/hostname") ||
	    fx_make_disk("disk.raw", "tree", 16, "mbr", ""))
		return -1;
	if (gm_image_open("disk.raw", &io, &t->img, &err) || gm_view_open(t->img, &vo, &t->v, &err)) {
		fprintf(stderr, "open: %s\n", gm_error_msg(&err));
		return -1;
	}
	t->fu.fs = t->v;
	t->root = gm_view_root(t->v);
	gm_fuse_root_vino = t->root;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	gm_fs_test_fail_call(0, 0);
	gm_fuse_names_free(&t->fu);
	free(t->fu.opens);
	gm_view_close(t->v, NULL);
	gm_image_close(t->img);
	free(t);
	fx_leave_tmpdir(tmpdir);
	return 0;
}

/* The disk's bytes now (malloc'd). */
static unsigned char *disk_bytes(struct t *t, size_t *len)
{
	uint64_t n = gm_image_disk_size(t->img);
	unsigned char *b = malloc((size_t)n);

	assert_non_null(b);
	assert_int_equal(pread(gm_image_fd(t->img), b, (size_t)n, 0), (ssize_t)n);
	*len = (size_t)n;
	return b;
}

static void assert_disk_is(struct t *t, const unsigned char *before, size_t len)
{
	size_t n;
	unsigned char *now = disk_bytes(t, &n);

	assert_int_equal(n, len);
	for (size_t i = 0; i < n; i++)
		if (now[i] != before[i]) {
			free(now);
			fail_msg("disk byte %zu changed by a failed request", i);
		}
	free(now);
}

static gm_vino_t lookup(struct t *t, gm_vino_t dir, const char *name)
{
	gm_vino_t ino = 0;

	return gm_view_lookup(t->v, dir, name, &ino) == 0 ? ino : 0;
}

/* unlink of an open file: the orphan directory is made (1st change), the
 * move into it fails (2nd). */
static void test_fuse_ops_unlink_open_file_all_or_nothing(void **state)
{
	struct t *t = *state;
	gm_vino_t a = lookup(t, t->root, "a"), ino;
	unsigned char *before;
	size_t len;

	assert_true(a != 0);
	assert_int_equal(gm_fuse_open_inc(&t->fu, a), 0);
	before = disk_bytes(t, &len);
	gm_fs_test_fail_call(2, -ENOSPC);
	assert_int_equal(gm_fuse_unlink(&t->fu, t->root, "a", &ino), -ENOSPC);
	gm_fs_test_fail_call(0, 0);
	assert_disk_is(t, before, len);
	assert_int_equal(lookup(t, t->root, GM_FUSE_ORPHANS), 0);
	assert_int_equal(lookup(t, t->root, "a"), a);
	assert_int_equal(t->fu.orphan_dir[0], 0);
	assert_int_equal(gm_fuse_hidden_links(&t->fu, a), 0);
	/* and the request done again succeeds, as it should */
	assert_int_equal(gm_fuse_unlink(&t->fu, t->root, "a", &ino), 0);
	assert_int_equal(lookup(t, t->root, "a"), 0);
	assert_true(lookup(t, t->root, GM_FUSE_ORPHANS) != 0);
	assert_int_equal(gm_fuse_hidden_links(&t->fu, a), 1);
	assert_int_equal(gm_fuse_open_dec(&t->fu, a), 0);
	free(before);
}

/* rename of a over b while b is open: the orphan directory, b moved into
 * it, then the rename itself fails (3rd change). */
static void test_fuse_ops_rename_over_open_file_all_or_nothing(void **state)
{
	struct t *t = *state;
	gm_vino_t a = lookup(t, t->root, "a"), b = lookup(t, t->root, "b"), src, dst;
	unsigned char *before;
	size_t len;

	assert_int_equal(gm_fuse_open_inc(&t->fu, b), 0);
	before = disk_bytes(t, &len);
	gm_fs_test_fail_call(3, -ENOSPC);
	assert_int_equal(gm_fuse_rename(&t->fu, t->root, "a", t->root, "b", 0, &src, &dst), -ENOSPC);
	gm_fs_test_fail_call(0, 0);
	assert_disk_is(t, before, len);
	assert_int_equal(lookup(t, t->root, "a"), a);
	assert_int_equal(lookup(t, t->root, "b"), b);
	assert_int_equal(lookup(t, t->root, GM_FUSE_ORPHANS), 0);
	assert_int_equal(t->fu.orphan_dir[0], 0);
	assert_int_equal(gm_fuse_hidden_links(&t->fu, b), 0);
	assert_int_equal(gm_fuse_rename(&t->fu, t->root, "a", t->root, "b", 0, &src, &dst), 0);
	assert_int_equal(lookup(t, t->root, "b"), a);
	assert_int_equal(gm_fuse_hidden_links(&t->fu, b), 1);
	free(before);
}

/* An access ACL that says more than the mode: chmod, then the xattr, which
 * needs a block the full filesystem does not have. */
static void test_fuse_ops_acl_on_full_fs_changes_nothing(void **state)
{
	struct t *t = *state;
	gm_vino_t h = lookup(t, lookup(t, t->root, "etc"), "hostname"), big = 0;
	unsigned char acl[4 + 8 * 30], *before, *chunk;
	struct stat st0, st1;
	uint64_t off = 0;
	ssize_t n = 0;
	size_t len, k = 0;

	assert_true(h != 0);
	/* fill the filesystem */
	assert_int_equal(gm_view_mknod(t->v, t->root, "fill", S_IFREG | 0644, 0, NULL, &big), 0);
	chunk = calloc(1, 1 << 20);
	assert_non_null(chunk);
	while ((n = gm_view_write(t->v, big, chunk, 1 << 20, off)) > 0)
		off += (uint64_t)n;
	assert_int_equal(n, -ENOSPC);
	for (size_t sz = 4096; sz; sz /= 2)     /* down to the last block */
		while ((n = gm_view_write(t->v, big, chunk, sz, off)) > 0)
			off += (uint64_t)n;
	free(chunk);
	/* user::rwx, 26 named users r--, group::r-x, mask::rwx, other::--- */
	memset(acl, 0, sizeof(acl));
	acl[0] = 2;                               /* version */
	{
		unsigned char *e = acl + 4;
		struct { unsigned tag, perm, id; } ents[30];

		ents[k++] = (typeof(ents[0])){ 0x01, 7, 0xffffffffu };
		for (unsigned i = 0; i < 26; i++)
			ents[k++] = (typeof(ents[0])){ 0x02, 4, 1000 + i };
		ents[k++] = (typeof(ents[0])){ 0x04, 5, 0xffffffffu };
		ents[k++] = (typeof(ents[0])){ 0x10, 7, 0xffffffffu };
		assert_int_equal(k, 29);
		ents[k++] = (typeof(ents[0])){ 0x20, 0, 0xffffffffu };
		for (size_t i = 0; i < k; i++, e += 8) {
			e[0] = (unsigned char)ents[i].tag;
			e[2] = (unsigned char)ents[i].perm;
			memcpy(e + 4, &ents[i].id, 4);
		}
	}
	assert_int_equal(gm_view_getattr(t->v, h, &st0), 0);
	before = disk_bytes(t, &len);
	assert_int_equal(gm_fuse_set_acl_access(&t->fu, h, acl, sizeof(acl), 0), -ENOSPC);
	assert_disk_is(t, before, len);
	assert_int_equal(gm_view_getattr(t->v, h, &st1), 0);
	assert_int_equal(st1.st_mode, st0.st_mode);     /* the chmod went too */
	assert_int_equal(gm_view_getxattr(t->v, h, "system.posix_acl_access", NULL, 0), -ENODATA);
	/* with room, both happen */
	assert_int_equal(gm_view_truncate(t->v, big, 0), 0);
	assert_int_equal(gm_fuse_set_acl_access(&t->fu, h, acl, sizeof(acl), 0), 0);
	assert_int_equal(gm_view_getattr(t->v, h, &st1), 0);
	assert_int_equal(st1.st_mode & 0777, 0770);
	assert_int_equal(gm_view_getxattr(t->v, h, "system.posix_acl_access", NULL, 0), (ssize_t)sizeof(acl));
	free(before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fuse_ops_unlink_open_file_all_or_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fuse_ops_rename_over_open_file_all_or_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fuse_ops_acl_on_full_fs_changes_nothing, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
