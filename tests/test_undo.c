/* test_undo.c — the disk-level undo log (editor/disk/undo.h): what a
 * rollback gives back, nesting, fresh and freed ranges, big writes,
 * holes, and the image's dirty state. The disk is a plain file whose every
 * byte is recognisable; writes go straight to it after
 * gm_undo_prepare_write, as the io_manager does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>

#include "editor/container/image.h"
#include "editor/disk/undo.h"
#include "tests/fixture.h"

#define DISK (4u << 20)

static char tmpdir[4096];

struct t {
	struct gm_image *img;
	struct gm_undo *u;
	int fd;
};

static int setup(void **state)
{
	struct gm_image_opts o = { 0 };
	struct gm_error err = { 0 };
	struct t *t = calloc(1, sizeof(*t));

	if (!t || !fx_enter_tmpdir(tmpdir, sizeof(tmpdir)))
		return -1;
	setenv("XDG_CACHE_HOME", tmpdir, 1);   /* the raw disk's cache (its undo log) here */
	if (fx_sh("python3 -c \"open('d.raw','wb').write(bytes((i * 7 + 3) %% 251 for i in range(%u)))\"",
		  DISK))
		return -1;
	if (gm_image_open("d.raw", &o, &t->img, &err) || gm_undo_get(t->img, &t->u, NULL))
		return -1;
	t->fd = gm_image_fd(t->img);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	gm_undo_put(t->u);
	gm_image_close(t->img);
	free(t);
	fx_leave_tmpdir(tmpdir);
	return 0;
}

static uint8_t expect_byte(uint64_t i) { return (uint8_t)((i * 7 + 3) % 251); }

/* The io_manager's write: announce, mark dirty, write. */
static void wr(struct t *t, uint64_t off, size_t len, int fill)
{
	char *buf = malloc(len);

	assert_non_null(buf);
	memset(buf, fill, len);
	assert_int_equal(gm_undo_prepare_write(t->u, off, len), 0);
	assert_int_equal(pwrite(t->fd, buf, len, (off_t)off), (ssize_t)len);
	free(buf);
}

/* Bytes [off, off+len) hold the original pattern. */
static void assert_original(struct t *t, uint64_t off, size_t len)
{
	unsigned char *buf = malloc(len);

	assert_non_null(buf);
	assert_int_equal(pread(t->fd, buf, len, (off_t)off), (ssize_t)len);
	for (size_t i = 0; i < len; i++)
		if (buf[i] != expect_byte(off + i))
			fail_msg("byte %llu: %u, expected %u", (unsigned long long)(off + i), buf[i],
				 expect_byte(off + i));
	free(buf);
}

static void assert_fill(struct t *t, uint64_t off, size_t len, int fill)
{
	unsigned char *buf = malloc(len);

	assert_non_null(buf);
	assert_int_equal(pread(t->fd, buf, len, (off_t)off), (ssize_t)len);
	for (size_t i = 0; i < len; i++)
		if (buf[i] != (unsigned char)fill)
			fail_msg("byte %llu: %u, expected %u", (unsigned long long)(off + i), buf[i], fill);
	free(buf);
}

static void test_undo_rollback_restores_overlapping_writes(void **state)
{
	struct t *t = *state;
	struct gm_error err = { 0 };

	assert_int_equal(gm_undo_begin(t->u, false), 0);
	wr(t, 1000, 5000, 0xaa);
	wr(t, 3000, 10000, 0xbb);       /* overlaps: only the new part is saved */
	wr(t, 1000, 100, 0xcc);
	assert_int_equal(gm_undo_saved_bytes(t->u), 12000);
	assert_int_equal(gm_undo_rollback(t->u, &err), 0);
	assert_int_equal(gm_undo_depth(t->u), 0);
	assert_original(t, 0, DISK);
	/* the dirty map went back with it: nothing to write back */
	assert_false(gm_image_dirty(t->img));
}

static void test_undo_commit_keeps_and_forgets(void **state)
{
	struct t *t = *state;
	struct gm_error err = { 0 };

	assert_int_equal(gm_undo_begin(t->u, false), 0);
	wr(t, 8192, 4096, 0x11);
	assert_int_equal(gm_undo_commit(t->u), 0);
	assert_int_equal(gm_undo_saved_bytes(t->u), 0);
	assert_fill(t, 8192, 4096, 0x11);
	assert_true(gm_image_dirty(t->img));
	/* a new level only undoes itself */
	assert_int_equal(gm_undo_begin(t->u, false), 0);
	wr(t, 8192, 8192, 0x22);
	assert_int_equal(gm_undo_rollback(t->u, &err), 0);
	assert_fill(t, 8192, 4096, 0x11);
	assert_original(t, 12288, 4096);
	assert_true(gm_image_dirty(t->img));
	assert_int_equal(gm_undo_rollback(t->u, &err), -EINVAL);
}

static void test_undo_nested_inner_rollback_then_outer(void **state)
{
	struct t *t = *state;
	struct gm_error err = { 0 };

	assert_int_equal(gm_undo_begin(t->u, false), 0);
	wr(t, 0, 4096, 0x01);                     /* outer */
	assert_int_equal(gm_undo_begin(t->u, false), 0);
	wr(t, 0, 8192, 0x02);                     /* inner: saves 0..4096 again (0x01) */
	assert_int_equal(gm_undo_rollback(t->u, &err), 0);
	assert_fill(t, 0, 4096, 0x01);
	assert_original(t, 4096, 4096);
	assert_int_equal(gm_undo_begin(t->u, false), 0);
	wr(t, 2048, 4096, 0x03);
	assert_int_equal(gm_undo_commit(t->u), 0);    /* the outer inherits */
	assert_fill(t, 2048, 4096, 0x03);
	assert_int_equal(gm_undo_rollback(t->u, &err), 0);
	assert_original(t, 0, 16384);
}

static void test_undo_fresh_ranges_are_not_saved(void **state)
{
	struct t *t = *state;
	struct gm_error err = { 0 };

	assert_int_equal(gm_undo_begin(t->u, false), 0);
	assert_int_equal(gm_undo_note_alloc(t->u, 65536, 65536), 0);
	wr(t, 65536, 65536, 0x44);
	assert_int_equal(gm_undo_saved_bytes(t->u), 0);
	/* freed in the level, allocated again: in use at the start, saved */
	assert_int_equal(gm_undo_note_free(t->u, 200000, 4096), 0);
	assert_int_equal(gm_undo_note_alloc(t->u, 200000, 4096), 0);
	wr(t, 200000, 4096, 0x55);
	assert_int_equal(gm_undo_saved_bytes(t->u), 4096);
	assert_int_equal(gm_undo_rollback(t->u, &err), 0);
	assert_original(t, 200000, 4096);
	/* fresh bytes keep what was written: nobody owns them any more */
	assert_fill(t, 65536, 65536, 0x44);
}

/* A block freed by the outer level and allocated by an inner one was free
 * when the inner level began, in use when the outer one did: the outer
 * rollback needs its bytes. */
static void test_undo_fresh_inner_freed_outer_is_saved(void **state)
{
	struct t *t = *state;
	struct gm_error err = { 0 };

	assert_int_equal(gm_undo_begin(t->u, false), 0);
	assert_int_equal(gm_undo_note_free(t->u, 300000, 8192), 0);
	assert_int_equal(gm_undo_begin(t->u, false), 0);
	assert_int_equal(gm_undo_note_alloc(t->u, 300000, 16384), 0);
	wr(t, 300000, 16384, 0x66);
	assert_int_equal(gm_undo_saved_bytes(t->u), 8192);
	assert_int_equal(gm_undo_commit(t->u), 0);
	assert_int_equal(gm_undo_rollback(t->u, &err), 0);
	assert_original(t, 300000, 8192);
}

static void test_undo_exact_saves_fresh_too(void **state)
{
	struct t *t = *state;
	struct gm_error err = { 0 };

	assert_int_equal(gm_undo_begin(t->u, true), 0);
	assert_int_equal(gm_undo_begin(t->u, false), 0);   /* inherits exactness */
	assert_int_equal(gm_undo_note_alloc(t->u, 65536, 65536), 0);
	wr(t, 65536, 65536, 0x77);
	assert_int_equal(gm_undo_commit(t->u), 0);
	assert_int_equal(gm_undo_rollback(t->u, &err), 0);
	assert_original(t, 0, DISK);
}

/* Data overwritten in place by a lone write (the outermost level, not
 * exact) is not saved; inside a bigger operation, or an exact one, it is. */
static void test_undo_torn_ok_only_for_a_lone_write(void **state)
{
	struct t *t = *state;
	struct gm_error err = { 0 };

	assert_int_equal(gm_undo_begin(t->u, false), 0);
	gm_undo_torn_ok(t->u, 40960, 8192);
	wr(t, 40960, 8192, 0x21);
	wr(t, 49152, 100, 0x22);                /* outside the window: saved */
	gm_undo_torn_ok(t->u, 0, 0);
	assert_int_equal(gm_undo_saved_bytes(t->u), 100);
	assert_int_equal(gm_undo_rollback(t->u, &err), 0);
	assert_fill(t, 40960, 8192, 0x21);
	assert_original(t, 49152, 100);
	for (int exact = 0; exact < 2; exact++) {
		assert_int_equal(gm_undo_begin(t->u, exact), 0);
		if (!exact)
			assert_int_equal(gm_undo_begin(t->u, false), 0);
		gm_undo_torn_ok(t->u, 81920, 4096);
		wr(t, 81920, 4096, 0x23);
		gm_undo_torn_ok(t->u, 0, 0);
		assert_int_equal(gm_undo_saved_bytes(t->u), 4096);
		if (!exact)
			assert_int_equal(gm_undo_commit(t->u), 0);
		assert_int_equal(gm_undo_rollback(t->u, &err), 0);
		assert_original(t, 81920, 4096);
	}
}

/* A write bigger than one record of the log (GM_WAL_REC_MAX) is saved in
 * several. */
static void test_undo_big_write_in_several_records(void **state)
{
	struct t *t = *state;
	struct gm_error err = { 0 };

	assert_int_equal(gm_undo_begin(t->u, false), 0);
	wr(t, 0, 6000, 0x12);
	wr(t, 100000, 3u << 20, 0x34);
	wr(t, 50000, 6000, 0x56);
	assert_int_equal(gm_undo_saved_bytes(t->u), 12000 + (3u << 20));
	assert_int_equal(gm_undo_rollback(t->u, &err), 0);
	assert_original(t, 0, DISK);
}

static void test_undo_gives_holes_back_as_holes(void **state)
{
	struct t *t = *state;
	struct gm_error err = { 0 };
	struct stat st0, st1;
	uint64_t off = DISK - (1u << 20);

	/* a hole in the middle of the disk file */
	assert_int_equal(fallocate(t->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, 1 << 20), 0);
	assert_int_equal(fstat(t->fd, &st0), 0);
	assert_int_equal(gm_undo_begin(t->u, true), 0);
	wr(t, off, 1u << 20, 0x5a);
	assert_int_equal(gm_undo_rollback(t->u, &err), 0);
	assert_fill(t, off, 1u << 20, 0);
	assert_int_equal(fstat(t->fd, &st1), 0);
	assert_true(st1.st_blocks <= st0.st_blocks);
	assert_original(t, 0, (size_t)off);
}

/* A failed edit of a tar.gz's cache leaves the cache state as it was: clean,
 * no "interrupted session" for the next command. */
static void test_undo_restores_a_clean_cache_state(void **state)
{
	struct gm_image_opts o = { .cache_dir = "cache" };
	struct gm_error err = { 0 };
	struct gm_image *img = NULL;
	struct gm_undo *u = NULL;
	char buf[4096];

	(void)state;
	assert_int_equal(fx_sh("mkdir -p tz && cp d.raw tz/disk.raw && tar -C tz -Sczf img.tar.gz disk.raw"), 0);
	assert_int_equal(gm_image_open("img.tar.gz", &o, &img, &err), 0);
	assert_int_equal(gm_undo_get(img, &u, NULL), 0);
	assert_int_equal(gm_undo_begin(u, true), 0);
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(gm_undo_prepare_write(u, 4096, sizeof(buf)), 0);
	assert_int_equal(pwrite(gm_image_fd(img), buf, sizeof(buf), 4096), (ssize_t)sizeof(buf));
	/* marked dirty before its first write (never a changed cache that
	 * passes for clean), in the name of the operation */
	assert_int_equal(fx_sh("grep -q '^status=dirty' cache/*/state && grep -q '^prior=clean' cache/*/state"), 0);
	assert_int_equal(gm_undo_rollback(u, &err), 0);
	assert_false(gm_image_dirty(img));
	gm_undo_put(u);
	gm_image_close(img);
	assert_int_equal(fx_sh("grep -q '^status=clean' cache/*/state"), 0);
	/* and the next open reuses the cache (its identity was updated) */
	assert_int_equal(gm_image_open("img.tar.gz", &o, &img, &err), 0);
	gm_image_close(img);
	assert_int_equal(fx_sh("cmp tz/disk.raw cache/*/disk.raw"), 0);
}

static off_t log_size(void)
{
	struct stat st;
	char path[4200];

	snprintf(path, sizeof(path), "%s/gcemount", tmpdir);
	assert_int_equal(fx_sh("ls %s/*/undo > undo.path", path), 0);
	{
		FILE *f = fopen("undo.path", "r");

		assert_non_null(f);
		assert_non_null(fgets(path, sizeof(path), f));
		fclose(f);
		path[strcspn(path, "\n")] = '\0';
	}
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* Bytes an inner level saves again (the log holds their older copy from
 * the operation) are kept in memory, not logged again: an inner rollback
 * still gives them back, and once the inner level commits they go. */
static void test_undo_saved_again_stays_out_of_the_log(void **state)
{
	struct t *t = *state;
	struct gm_error err = { 0 };
	off_t before;

	assert_int_equal(gm_undo_begin(t->u, true), 0);
	wr(t, 8192, 8192, 0x31);                /* logged */
	before = log_size();
	for (int round = 0; round < 2; round++) {
		assert_int_equal(gm_undo_begin(t->u, false), 0);
		wr(t, 8192, 8192, 0x32);            /* again: in memory */
		wr(t, 4096, 4096, 0);               /* zeros over data, again in memory */
		assert_int_equal(log_size(), before + 48 + 4096);   /* only 4096.. is new */
		if (round == 0) {
			assert_int_equal(gm_undo_rollback(t->u, &err), 0);
			assert_fill(t, 8192, 8192, 0x31);
			assert_original(t, 4096, 4096);
			assert_int_equal(log_size(), before);
		} else {
			assert_int_equal(gm_undo_commit(t->u), 0);
		}
	}
	assert_int_equal(gm_undo_saved_bytes(t->u), 8192 + 4096);
	assert_int_equal(gm_undo_rollback(t->u, &err), 0);
	assert_int_equal(gm_undo_saved_bytes(t->u), 0);
	assert_original(t, 0, DISK);
}

/* What a child does before it is killed: writes of an exact operation
 * (a verb), an inner level among them, as the io_manager makes them. With
 * commit_first, one operation commits before (an edit of a mount session). */
static void child_writes(const char *image, int kill_at, bool commit_first)
{
	struct gm_image_opts o = { .cache_dir = "cache" };
	struct gm_error err = { 0 };
	struct gm_image *img = NULL;
	struct gm_undo *u = NULL;
	static const struct { uint64_t off; size_t len; int fill; } w[] = {
		{ 4096, 4096, 0x10 }, { 0, 512, 0x11 }, { 1u << 20, 3u << 20, 0x12 },
		{ 6000, 3000, 0x13 }, { 100, 8000, 0x14 },
	};
	char buf[8192];
	int point = 0;

	if (gm_image_open(image, &o, &img, &err) || gm_undo_get(img, &u, NULL))
		_exit(2);
	if (commit_first) {
		memset(buf, 0x99, sizeof(buf));
		if (gm_undo_begin(u, false) || gm_undo_prepare_write(u, 65536, 4096) ||
		    pwrite(gm_image_fd(img), buf, 4096, 65536) != 4096 || gm_undo_commit(u))
			_exit(3);
	}
	if (gm_undo_begin(u, true))
		_exit(4);
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		char *b = malloc(w[i].len);

		if (i == 2 && gm_undo_begin(u, false))
			_exit(5);
		if (point++ == kill_at)
			raise(SIGKILL);
		if (!b || gm_undo_prepare_write(u, w[i].off, w[i].len))
			_exit(6);
		if (point++ == kill_at)
			raise(SIGKILL);     /* saved, not written */
		memset(b, w[i].fill, w[i].len);
		if (pwrite(gm_image_fd(img), b, w[i].len, (off_t)w[i].off) != (ssize_t)w[i].len)
			_exit(7);
		free(b);
		if (i == 3 && gm_undo_commit(u))
			_exit(8);
	}
	raise(SIGKILL);             /* never committed */
	_exit(9);
}

static void run_killed(const char *image, int kill_at, bool commit_first)
{
	int st;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		child_writes(image, kill_at, commit_first);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		fail_msg("the child did not die of SIGKILL (status %d)", st);
}

/* A process killed (SIGKILL) at any point of an operation leaves the log
 * from which the next open undoes it: a raw disk in place, byte for byte
 * (and says so); a tarball's cache as it was, still clean (reused, not
 * extracted anew), no edits waiting. */
static void test_undo_killed_process_is_undone_by_next_open(void **state)
{
	struct gm_image_opts o = { .cache_dir = "cache", .read_only = true };
	struct gm_error err = { 0 };
	struct gm_image *img = NULL;
	struct stat c0, c1;

	(void)state;
	assert_int_equal(fx_sh("cp d.raw orig.raw && mkdir -p tz && cp d.raw tz/disk.raw && "
			       "tar -C tz -Sczf img.tar.gz disk.raw"), 0);
	gm_undo_put(((struct t *)*state)->u);
	gm_image_close(((struct t *)*state)->img);
	((struct t *)*state)->u = NULL;
	((struct t *)*state)->img = NULL;
	assert_int_equal(gm_image_open("img.tar.gz", &o, &img, &err), 0);   /* extracts */
	gm_image_close(img);
	assert_int_equal(fx_sh("stat -c %%i cache/*/disk.raw > ino0"), 0);
	for (int k = 0; k <= 10; k++) {
		run_killed("d.raw", k, false);
		assert_int_equal(gm_image_open("d.raw", &o, &img, &err), 0);
		if (k > 0) {
			assert_true(gm_image_info(img)->undone);
			assert_non_null(strstr(gm_image_info(img)->note, "undid the unfinished edit"));
		}
		gm_image_close(img);
		if (fx_sh("cmp d.raw orig.raw"))
			fail_msg("raw disk killed at point %d: not restored", k);

		run_killed("img.tar.gz", k, false);
		assert_int_equal(stat("img.tar.gz", &c0), 0);
		assert_int_equal(gm_image_open("img.tar.gz", &o, &img, &err), 0);   /* not -EAGAIN */
		assert_false(gm_image_info(img)->undone);
		gm_image_close(img);
		if (fx_sh("cmp tz/disk.raw cache/*/disk.raw && grep -q '^status=clean' cache/*/state && "
			  "stat -c %%i cache/*/disk.raw | cmp - ino0"))
			fail_msg("tar.gz killed at point %d: cache not as before, or extracted anew", k);
		assert_int_equal(stat("img.tar.gz", &c1), 0);
		assert_true(c0.st_mtim.tv_nsec == c1.st_mtim.tv_nsec && c0.st_size == c1.st_size);
	}
}

/* An operation committed before (a mount session's request) stays: the next
 * open finds edits waiting (-EAGAIN); resumed, the cache holds that edit
 * and nothing of the operation killed after it. */
static void test_undo_committed_edits_stay_after_a_kill(void **state)
{
	struct gm_image_opts o = { .cache_dir = "cache" };
	struct gm_error err = { 0 };
	struct gm_image *img = NULL;
	unsigned char b[4096];

	gm_undo_put(((struct t *)*state)->u);
	gm_image_close(((struct t *)*state)->img);
	((struct t *)*state)->u = NULL;
	((struct t *)*state)->img = NULL;
	assert_int_equal(fx_sh("mkdir -p tz && cp d.raw tz/disk.raw && tar -C tz -Sczf img.tar.gz disk.raw"), 0);
	assert_int_equal(gm_image_open("img.tar.gz", &o, &img, &err), 0);
	gm_image_close(img);
	run_killed("img.tar.gz", 7, true);
	assert_int_equal(gm_image_open("img.tar.gz", &o, &img, &err), -EAGAIN);
	o.recover = GM_RECOVER_RESUME;
	assert_int_equal(gm_image_open("img.tar.gz", &o, &img, &err), 0);
	assert_int_equal(pread(gm_image_fd(img), b, sizeof(b), 65536), (ssize_t)sizeof(b));
	for (size_t i = 0; i < sizeof(b); i++)
		assert_int_equal(b[i], 0x99);
	/* the rest is the original's: the killed operation left nothing */
	assert_int_equal(pread(gm_image_fd(img), b, sizeof(b), 4096), (ssize_t)sizeof(b));
	for (size_t i = 0; i < sizeof(b); i++)
		assert_int_equal(b[i], expect_byte(4096 + i));
	gm_image_close(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_undo_rollback_restores_overlapping_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undo_commit_keeps_and_forgets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undo_nested_inner_rollback_then_outer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undo_fresh_ranges_are_not_saved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undo_fresh_inner_freed_outer_is_saved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undo_exact_saves_fresh_too, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undo_torn_ok_only_for_a_lone_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undo_big_write_in_several_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undo_gives_holes_back_as_holes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undo_restores_a_clean_cache_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undo_saved_again_stays_out_of_the_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undo_killed_process_is_undone_by_next_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undo_committed_edits_stay_after_a_kill, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
