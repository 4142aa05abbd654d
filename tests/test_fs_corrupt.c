/* test_fs_corrupt.c — the read side on damaged filesystems: random bytes of
 * the metadata are overwritten (checksums off, so libext2fs cannot catch it),
 * then the whole tree is walked with every read operation and the path layer.
 * Errors are expected; crashes, hangs, sanitizer reports and writes are not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "editor/fs/fs.h"
#include "editor/container/image.h"
#include "editor/view/path.h"
#include "tests/fixture.h"

#define ROUNDS 40

static char tmpdir[4096];

static int setup_all(void **state)
{
	(void)state;
	if (!fx_enter_tmpdir(tmpdir, sizeof(tmpdir)))
		return -1;
	return fx_sh("set -e; mkdir -p t/a/b t/many t/inl; printf hello > t/a/f; ln -s ../a/f t/a/b/l; "
		     "ln -s /a/b t/abs; head -c 200000 /dev/urandom > t/a/big; "
		     "(cd t/many && seq -f 'n%%04g' 0 299 | xargs touch); "
		     "ln -s $(printf 'x%%.0s' $(seq 1 150)) t/slow; printf i > t/inl/s; "
		     "truncate -s 8M base.raw; mke2fs -q -F -t ext4 -b 1024 -O ^metadata_csum,inline_data -I 256 "
		     "-N 512 -d t base.raw; e2fsck -fyD base.raw >/dev/null 2>&1 || test $? -le 1");
}

static int teardown_all(void **state)
{
	(void)state;
	fx_leave_tmpdir(tmpdir);
	return 0;
}

struct walk {
	struct gm_fs *fs;
	unsigned visited;
	char names[512][256];
	size_t n;
};

static int collect(void *priv, const char *name, size_t namelen, gm_ino_t ino, unsigned dtype,
		   uint64_t next_off)
{
	struct walk *w = priv;

	if (w->n >= 512 || namelen > 255)
		return 1;
	memcpy(w->names[w->n], name, namelen);
	w->names[w->n][namelen] = '\0';
	w->n++;
	return 0;
}

static void walk_dir(struct gm_fs *fs, struct gm_view *v, gm_ino_t dir, const char *path, int depth,
		     unsigned *visited)
{
	struct walk *w;

	if (depth > 16 || ++*visited > 3000)
		return;
	w = calloc(1, sizeof(*w));
	assert_non_null(w);
	(void)gm_fs_readdir(fs, dir, 0, collect, w);
	/* resume from a cookie in the middle, too */
	for (size_t i = 0; i < w->n; i++) {
		char sub[4096], buf[8192];
		struct stat st;
		gm_ino_t ino;
		gm_vino_t vino;

		if (!strcmp(w->names[i], ".") || !strcmp(w->names[i], ".."))
			continue;
		if (gm_fs_lookup(fs, dir, w->names[i], &ino) || gm_fs_getattr(fs, ino, &st))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, w->names[i]);
		(void)gm_path_resolve(v, sub, 0, &vino);
		(void)gm_path_resolve(v, sub, GM_PATH_NOFOLLOW, &vino);
		if (S_ISDIR(st.st_mode)) {
			walk_dir(fs, v, ino, sub, depth + 1, visited);
		} else if (S_ISREG(st.st_mode)) {
			(void)gm_fs_read(fs, ino, buf, sizeof(buf), 0);
			(void)gm_fs_read(fs, ino, buf, sizeof(buf), (uint64_t)st.st_size / 2);
		} else if (S_ISLNK(st.st_mode)) {
			(void)gm_fs_readlink(fs, ino, buf, sizeof(buf));
		}
	}
	free(w);
}

static int count_hit(void *priv, const char *path)
{
	(*(unsigned *)priv)++;
	return 0;
}

static void test_fs_corrupt_walks_survive(void **state)
{
	const char *env = getenv("GM_CORRUPT_ROUNDS");   /* longer runs by hand */
	int rounds = env ? atoi(env) : ROUNDS;
	int opened = 0;

	for (int round = 0; round < rounds; round++) {
		struct gm_image_opts io = { .read_only = true };
		struct gm_fs_opts fo = { .read_only = true };
		struct gm_error err = { 0 };
		struct gm_image *img = NULL;
		struct gm_fs *fs = NULL;
		struct gm_view *v = NULL;
		struct statvfs sv;
		struct gm_rangeset fr = GM_RANGESET_INIT;
		unsigned visited = 0;
		unsigned hits = 0;

		/* overwrite 64 random bytes in blocks 3.. (after the superblock and
		 * group descriptors) of the first 1 MiB: bitmaps, inode table, dirs */
		assert_int_equal(fx_sh("cp base.raw c.raw && python3 -c \""
				       "import random; r = random.Random(%d); f = open('c.raw', 'r+b')\n"
				       "for _ in range(64):\n"
				       "    f.seek(r.randrange(3072, 1 << 20)); f.write(bytes([r.randrange(256)]))\"",
				       round), 0);
		double t0 = fx_now();

		assert_int_equal(gm_image_open("c.raw", &io, &img, &err), 0);
		if (gm_fs_open(img, &fo, &fs, &err) == 0 &&
		    gm_view_open(img, &(struct gm_view_opts){ .read_only = true }, &v, &err) == 0) {
			opened++;
			walk_dir(fs, v, GM_ROOT_INO, "", 0, &visited);
			(void)gm_fs_statfs(fs, &sv);
			(void)gm_fs_free_ranges(fs, &fr);
			gm_rangeset_free(&fr);
			(void)gm_path_glob(v, "/*/*", count_hit, &hits);
		}
		gm_view_close(v, NULL);
		gm_fs_close(fs, NULL);
		assert_false(gm_image_dirty(img));
		gm_image_close(img);
		if (getenv("GM_TEST_VERBOSE"))
			print_message("# round %d: %.0f ms, %u dirs\n", round, (fx_now() - t0) * 1e3, visited);
	}
	print_message("# %d of %d damaged filesystems opened and walked\n", opened, rounds);
	assert_true(opened > rounds / 2);
}

struct names {
	char all[4096];
};

static int cat_name(void *priv, const char *name, size_t namelen, gm_ino_t ino, unsigned dtype,
		    uint64_t next_off)
{
	struct names *n = priv;

	strncat(n->all, name, namelen);
	strcat(n->all, " ");
	return 0;
}

static int cat_path(void *priv, const char *path)
{
	struct names *n = priv;

	strcat(n->all, path);
	strcat(n->all, " ");
	return 0;
}

/* Directory entries whose names hold '/' or NUL (damage, or a crafted image)
 * are never handed out as names: a caller would build another path. */
static void test_fs_corrupt_names_with_slash_hidden(void **state)
{
	struct gm_image_opts io = { .read_only = true };
	struct gm_fs_opts fo = { .read_only = true };
	struct gm_error err = { 0 };
	struct gm_image *img;
	struct gm_fs *fs;
	struct gm_view *v;
	struct names n = { "" }, g = { "" };

	assert_int_equal(fx_sh("set -e; mkdir -p s/etc; printf x > s/zzdotdotzz; printf y > s/zznulzz; printf z > s/ok; "
			       "printf 'IMG' > s/etc/passwd; truncate -s 8M s.raw; "
			       "mke2fs -q -F -t ext4 -O ^metadata_csum -d s s.raw; python3 -c \""
			       "d = open('s.raw', 'rb').read()\n"
			       "assert d.count(b'zzdotdotzz') == 1 and d.count(b'zznulzz') == 1\n"
			       "d = d.replace(b'zzdotdotzz', b'../etc/pas').replace(b'zznulzz', b'zz\\0ulzz')\n"
			       "open('s.raw', 'wb').write(d)\""), 0);
	assert_int_equal(gm_image_open("s.raw", &io, &img, &err), 0);
	assert_int_equal(gm_fs_open(img, &fo, &fs, &err), 0);
	assert_int_equal(gm_fs_readdir(fs, GM_ROOT_INO, 0, cat_name, &n), 0);
	assert_non_null(strstr(n.all, "ok "));
	assert_null(strstr(n.all, "/"));
	assert_null(strstr(n.all, "zz"));
	assert_int_equal(gm_view_open(img, &(struct gm_view_opts){ .read_only = true }, &v, &err), 0);
	assert_int_equal(gm_path_glob(v, "/*", cat_path, &g), 0);
	assert_non_null(strstr(g.all, "/ok "));
	assert_null(strstr(g.all, ".."));
	assert_null(strstr(g.all, "zz"));
	gm_view_close(v, NULL);
	gm_fs_close(fs, NULL);
	gm_image_close(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fs_corrupt_walks_survive),
		cmocka_unit_test(test_fs_corrupt_names_with_slash_hidden),
	};

	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
