/* test_wal.c — the write-ahead undo log file (editor/container/wal.h):
 * recovery gives back exactly what the records saved, newest first, and
 * nothing a process could not have overwritten yet: a log cut at any byte
 * (the process died while appending) is recovered as the writes that
 * really happened require. A log of another disk, an ended operation, or
 * no log are left alone; the signal path does what recovery does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <isa-l/crc.h>

#include "editor/container/wal.h"
#include "tests/fixture.h"

#define DISK (1u << 20)

static char tmpdir[4096];

static int setup(void **state)
{
	(void)state;
	if (!fx_enter_tmpdir(tmpdir, sizeof(tmpdir)))
		return -1;
	return fx_sh("python3 -c \"open('d.raw','wb').write(bytes((i * 7 + 3) %% 251 for i in range(%u)))\"",
		     DISK);
}

static int teardown(void **state)
{
	(void)state;
	fx_leave_tmpdir(tmpdir);
	return 0;
}

static int open_disk(const char *p)
{
	int fd = open(p, O_RDWR);

	assert_true(fd >= 0);
	return fd;
}

static void fill(int fd, uint64_t off, size_t len, int c)
{
	char *b = malloc(len);

	assert_non_null(b);
	memset(b, c, len);
	assert_int_equal(pwrite(fd, b, len, (off_t)off), (ssize_t)len);
	free(b);
}

/* The whole of a small file, malloc'd (*len its size). */
static unsigned char *slurp(const char *p, size_t *len)
{
	struct stat st;
	unsigned char *b;
	int fd = open(p, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	b = malloc((size_t)st.st_size + 1);
	assert_non_null(b);
	assert_int_equal(pread(fd, b, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

/* Replaces p with len bytes of b. */
static void spit(const char *p, const unsigned char *b, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, len), (ssize_t)len);
	close(fd);
}

static bool same_files(const char *a, const char *b)
{
	size_t la, lb;
	unsigned char *pa = slurp(a, &la), *pb = slurp(b, &lb);
	bool same = la == lb && !memcmp(pa, pb, la);

	free(pa);
	free(pb);
	return same;
}

static off_t file_size(const char *p)
{
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	return st.st_size;
}

/* Saves then overwrites, as the io_manager does: SAVE, then the write. */
static void save_and_write(struct gm_wal *w, int fd, uint64_t off, size_t len, int c)
{
	/* one record holds at most GM_WAL_REC_MAX bytes: larger ranges go as
	 * several, as the undo layer sends them */
	for (size_t done = 0; done < len;) {
		size_t n = len - done < GM_WAL_REC_MAX ? len - done : GM_WAL_REC_MAX;

		assert_int_equal(gm_wal_save(w, off + done, n, GM_WAL_DATA, NULL), 0);
		done += n;
	}
	assert_int_equal(gm_wal_save(w, off, (uint64_t)GM_WAL_REC_MAX + 1, GM_WAL_DATA, NULL), -EINVAL);
	fill(fd, off, len, c);
}

static void test_wal_recovery_restores_newest_first(void **state)
{
	struct gm_wal_recovery r;
	struct gm_error err = { 0 };
	struct gm_wal *w = NULL;
	int fd;

	(void)state;
	assert_int_equal(fx_sh("cp d.raw orig.raw"), 0);
	fd = open_disk("d.raw");
	assert_int_equal(gm_wal_open("undo", fd, &w, &err), 0);
	assert_true(gm_wal_persistent(w));
	assert_int_equal(gm_wal_begin(w), 0);
	save_and_write(w, fd, 1000, 5000, 0xaa);
	save_and_write(w, fd, 3000, 5000, 0xbb);     /* saves 0xaa bytes: replayed first */
	assert_int_equal(gm_wal_save(w, 500000, 8192, GM_WAL_ZERO, NULL), 0);
	fill(fd, 500000, 8192, 0xcc);
	gm_wal_close(w);                             /* the process "dies" here */
	assert_true(gm_wal_pending("undo"));
	assert_false(same_files("d.raw", "orig.raw"));
	assert_int_equal(gm_wal_recover("undo", fd, &r, &err), 0);
	assert_true(r.rolled_back);
	assert_int_equal(r.records, 3);
	assert_int_equal(r.pid, (long)getpid());
	/* bytes 500000.. were declared zero: written back as zeros */
	fill(fd, 500000, 8192, 0);
	{
		size_t n;
		unsigned char *o = slurp("orig.raw", &n);

		memset(o + 500000, 0, 8192);
		spit("orig0.raw", o, n);
		free(o);
	}
	close(fd);
	assert_true(same_files("d.raw", "orig0.raw"));
	/* ended: a second recovery does nothing */
	fd = open_disk("d.raw");
	assert_false(gm_wal_pending("undo"));
	assert_int_equal(gm_wal_recover("undo", fd, &r, &err), 0);
	assert_false(r.rolled_back);
	close(fd);
}

/* The process died while appending a record: the file ends anywhere in it.
 * Its write had not happened (the record goes first); every earlier one
 * had. Recovery from each cut gives the original disk back. */
static void test_wal_cut_anywhere_recovers_exactly(void **state)
{
	struct { uint64_t off; size_t len; int c; } steps[] = {
		{ 4096, 4096, 0x11 }, { 0, 100, 0x22 }, { 2000, 9000, 0x33 }, { 700000, 3, 0x44 },
	};
	enum { N = sizeof(steps) / sizeof(steps[0]) };
	off_t sizes[N + 1];
	struct gm_error err = { 0 };
	struct gm_wal *w = NULL;
	int fd;

	(void)state;
	assert_int_equal(fx_sh("cp d.raw orig.raw && cp d.raw disk0.raw"), 0);
	fd = open_disk("d.raw");
	assert_int_equal(gm_wal_open("undo", fd, &w, &err), 0);
	assert_int_equal(gm_wal_begin(w), 0);
	sizes[0] = file_size("undo");
	for (int i = 0; i < N; i++) {
		save_and_write(w, fd, steps[i].off, steps[i].len, steps[i].c);
		sizes[i + 1] = file_size("undo");
		assert_int_equal(fx_sh("cp d.raw disk%d.raw", i + 1), 0);
	}
	gm_wal_close(w);
	close(fd);
	{
		size_t ulen, dlen[N + 1];
		unsigned char *full = slurp("undo", &ulen), *disks[N + 1];
		char name[32];

		for (int i = 0; i <= N; i++) {
			snprintf(name, sizeof(name), "disk%d.raw", i);
			disks[i] = slurp(name, &dlen[i]);
		}
		for (int i = 0; i < N; i++) {
			/* cut inside record i+1 (every byte of its header, some of
			 * its data): the disk is as after step i; at its end, as
			 * after step i+1 */
			for (off_t cut = sizes[i]; cut <= sizes[i + 1]; cut++) {
				struct gm_wal_recovery r;
				bool whole = cut == sizes[i + 1];

				if (cut > sizes[i] + 60 && cut < sizes[i + 1] - 4 && (cut - sizes[i]) % 997)
					continue;
				spit("undo", full, (size_t)cut);
				spit("d.raw", disks[whole ? i + 1 : i], dlen[whole ? i + 1 : i]);
				fd = open_disk("d.raw");
				assert_int_equal(gm_wal_recover("undo", fd, &r, &err), 0);
				assert_true(r.rolled_back);
				assert_int_equal(r.records, whole ? i + 1 : i);
				close(fd);
				if (!same_files("d.raw", "orig.raw"))
					fail_msg("cut at %lld (record %d): disk not restored", (long long)cut,
						 i + 1);
			}
		}
		for (int i = 0; i <= N; i++)
			free(disks[i]);
		free(full);
	}
}

/* A log made for another file (a disk replaced since, a cache extracted
 * anew) is never replayed onto this one; a new log for it starts afresh. */
static void test_wal_other_disk_is_left_alone(void **state)
{
	struct gm_wal_recovery r;
	struct gm_error err = { 0 };
	struct gm_wal *w = NULL;
	int fd, other;

	(void)state;
	fd = open_disk("d.raw");
	assert_int_equal(gm_wal_open("undo", fd, &w, &err), 0);
	assert_int_equal(gm_wal_begin(w), 0);
	save_and_write(w, fd, 0, 4096, 0x55);
	gm_wal_close(w);
	assert_int_equal(fx_sh("cp d.raw other.raw && cp d.raw before.raw"), 0);
	other = open_disk("other.raw");
	assert_int_equal(gm_wal_recover("undo", other, &r, &err), 0);
	assert_false(r.rolled_back);
	assert_true(same_files("other.raw", "before.raw"));
	/* a file made anew under the same name (its inode number perhaps
	 * reused) is another disk too */
	close(fd);
	assert_int_equal(fx_sh("rm d.raw && cp before.raw d.raw"), 0);
	fd = open_disk("d.raw");
	assert_int_equal(gm_wal_recover("undo", fd, &r, &err), 0);
	assert_false(r.rolled_back);
	assert_int_equal(gm_wal_open("undo", other, &w, &err), 0);
	gm_wal_close(w);
	assert_false(gm_wal_pending("undo"));
	close(fd);
	close(other);
}

static void test_wal_commit_abort_and_inner_truncate(void **state)
{
	struct gm_wal_recovery r;
	struct gm_error err = { 0 };
	struct gm_wal *w = NULL;
	uint64_t tail;
	int fd;

	(void)state;
	assert_int_equal(fx_sh("cp d.raw orig.raw"), 0);
	fd = open_disk("d.raw");
	assert_int_equal(gm_wal_open("undo", fd, &w, &err), 0);
	assert_int_equal(gm_wal_begin(w), 0);
	save_and_write(w, fd, 0, 4096, 0x01);
	assert_int_equal(gm_wal_commit(w), 0);
	assert_false(gm_wal_pending("undo"));
	assert_int_equal(fx_sh("cp d.raw committed.raw"), 0);
	/* the next operation starts over; an inner level undone in process
	 * takes its records out of the file */
	assert_int_equal(gm_wal_begin(w), 0);
	assert_true(gm_wal_pending("undo"));
	save_and_write(w, fd, 8192, 4096, 0x02);
	tail = gm_wal_tail(w);
	assert_int_equal(gm_wal_save(w, 16384, 4096, GM_WAL_DATA, NULL), 0);
	assert_int_equal(gm_wal_truncate(w, tail), 0);      /* (its bytes were never written) */
	save_and_write(w, fd, 20000, 100, 0x03);
	gm_wal_close(w);
	assert_int_equal(gm_wal_recover("undo", fd, &r, &err), 0);
	assert_true(r.rolled_back);
	assert_int_equal(r.records, 2);
	assert_true(same_files("d.raw", "committed.raw"));
	/* an aborted operation is over */
	assert_int_equal(gm_wal_open("undo", fd, &w, &err), 0);
	assert_int_equal(gm_wal_begin(w), 0);
	assert_int_equal(gm_wal_abort(w), 0);
	assert_false(gm_wal_pending("undo"));
	gm_wal_close(w);
	close(fd);
}

/* The signal path (no allocation) undoes what recovery undoes, and ends
 * the operation. */
static void test_wal_signal_rollback(void **state)
{
	struct gm_error err = { 0 };
	struct gm_wal *w = NULL;
	int fd;

	(void)state;
	assert_int_equal(fx_sh("cp d.raw orig.raw"), 0);
	fd = open_disk("d.raw");
	assert_int_equal(gm_wal_signal_rollback(), 0);      /* nothing armed */
	assert_int_equal(gm_wal_open("undo", fd, &w, &err), 0);
	assert_int_equal(gm_wal_begin(w), 0);
	gm_wal_signal_arm(w);
	save_and_write(w, fd, 100, 300000, 0x66);
	assert_int_equal(gm_wal_save(w, 900000, 4096, GM_WAL_HOLE, NULL), 0);
	fill(fd, 900000, 4096, 0x77);
	assert_int_equal(gm_wal_signal_rollback(), 1);
	assert_false(gm_wal_pending("undo"));
	assert_int_equal(gm_wal_signal_rollback(), 0);      /* disarmed */
	gm_wal_close(w);
	close(fd);
	/* the range saved as a hole is a hole again (reads as zeros) */
	{
		size_t n;
		unsigned char *o = slurp("orig.raw", &n);

		memset(o + 900000, 0, 4096);
		spit("orig0.raw", o, n);
		free(o);
	}
	assert_true(same_files("d.raw", "orig0.raw"));
}

/* An operation begun before the machine restarted (its BEGIN carries
 * another boot id): undone all the same, and recovery says so (the caller
 * must not trust it as exact). The record is patched as a crash would
 * leave it from another boot: its boot id and CRC (format in wal.h). */
static void test_wal_other_boot_is_reported(void **state)
{
	struct gm_wal_recovery r;
	struct gm_error err = { 0 };
	struct gm_wal *w = NULL;
	unsigned char rec[48 + 16];
	uint32_t crc;
	int fd, lf;

	(void)state;
	assert_int_equal(fx_sh("cp d.raw orig.raw"), 0);
	fd = open_disk("d.raw");
	assert_int_equal(gm_wal_open("undo", fd, &w, &err), 0);
	assert_int_equal(gm_wal_begin(w), 0);
	save_and_write(w, fd, 0, 4096, 0x42);
	gm_wal_close(w);
	lf = open("undo", O_RDWR);
	assert_true(lf >= 0);
	assert_int_equal(pread(lf, rec, sizeof(rec), 64), (ssize_t)sizeof(rec));
	rec[48] ^= 0xff;                              /* another boot */
	memset(rec + 44, 0, 4);
	crc = crc32_gzip_refl(crc32_gzip_refl(0, rec, 48), rec + 48, 16);
	memcpy(rec + 44, &crc, 4);
	assert_int_equal(pwrite(lf, rec, sizeof(rec), 64), (ssize_t)sizeof(rec));
	close(lf);
	assert_int_equal(gm_wal_recover("undo", fd, &r, &err), 0);
	assert_true(r.rolled_back);
	assert_true(r.other_boot);
	close(fd);
	assert_true(same_files("d.raw", "orig.raw"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wal_recovery_restores_newest_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_cut_anywhere_recovers_exactly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_other_disk_is_left_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_commit_abort_and_inner_truncate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_signal_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_other_boot_is_reported, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
