/* test_image.c — gm_image_* on real tarballs made by GNU tar.
 *
 * With no arguments: cmocka tests. With "drive ..." arguments: a small driver
 * the integration scripts use (tests/it_container.sh, it_writeback_safety.sh):
 *   test_image drive open IMG [opts]            print the info, close
 *   test_image drive write IMG OFF TEXT [opts]  mark dirty, pwrite, write back
 *                                               (TEXT "@FILE": FILE's bytes)
 *   test_image drive repack IMG [opts]          write back with force
 *   test_image drive hold IMG [opts]            open, print "ready", sleep 60
 * opts: --ro --resume --discard --cache DIR --output OUT --gnu
 *       --hole OFF:LEN (repeatable) --no-writeback (exit without closing)
 *       --sleep-dirty SECS (sleep after marking dirty, before writing)
 * Exit status: 0, or the errno of the failure (message on stderr).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "editor/container/image.h"
#include "editor/container/output.h"
#include "editor/container/tempfiles.h"

/* ------------------------------------------------------------ the driver */

/* With GM_TIMING set: one stderr line per stage change, with elapsed time. */
static void progress_cb(void *priv, const char *stage, uint64_t done, uint64_t total)
{
	static char last[16];
	static struct timespec t0;
	struct timespec t;

	(void)priv; (void)done; (void)total;
	if (!getenv("GM_TIMING") || !strncmp(last, stage, sizeof(last)))
		return;
	clock_gettime(CLOCK_MONOTONIC, &t);
	if (!t0.tv_sec)
		t0 = t;
	fprintf(stderr, "timing: %.2f s: %s starts\n",
		(double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9, stage);
	snprintf(last, sizeof(last), "%s", stage);
}

static int drive(int argc, char **argv)
{
	struct gm_image_opts o = { .progress = progress_cb };
	struct gm_writeback_opts w = { 0 };
	struct gm_rangeset holes = GM_RANGESET_INIT;
	struct gm_error err = { 0 };
	struct gm_image *img = NULL;
	const char *cmd, *path, *text = NULL;
	uint64_t off = 0;
	bool no_wb = false;
	int sleep_dirty = 0, rc, i;

	if (argc < 4)
		return EINVAL;
	cmd = argv[2];
	path = argv[3];
	i = 4;
	if (!strcmp(cmd, "write")) {
		if (argc < 6)
			return EINVAL;
		off = strtoull(argv[4], NULL, 0);
		text = argv[5];
		i = 6;
	}
	for (; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--ro")) o.read_only = true;
		else if (!strcmp(a, "--resume")) o.recover = GM_RECOVER_RESUME;
		else if (!strcmp(a, "--discard")) o.recover = GM_RECOVER_DISCARD;
		else if (!strcmp(a, "--cache") && i + 1 < argc) o.cache_dir = argv[++i];
		else if (!strcmp(a, "--output") && i + 1 < argc) w.output = argv[++i];
		else if (!strcmp(a, "--gnu")) w.format = GM_TAR_GNU;
		else if (!strcmp(a, "--no-writeback")) no_wb = true;
		else if (!strcmp(a, "--sleep-dirty") && i + 1 < argc) sleep_dirty = atoi(argv[++i]);
		else if (!strcmp(a, "--hole") && i + 1 < argc) {
			char *colon;
			uint64_t ho = strtoull(argv[++i], &colon, 0);

			if (*colon != ':' || gm_rangeset_add(&holes, ho, strtoull(colon + 1, NULL, 0)))
				return EINVAL;
		} else {
			fprintf(stderr, "drive: unknown option %s\n", a);
			return EINVAL;
		}
	}
	w.holes = &holes;
	rc = gm_image_open(path, &o, &img, &err);
	if (rc) {
		fprintf(stderr, "%s\n", gm_error_msg(&err));
		return -rc;
	}
	if (!strcmp(cmd, "open")) {
		const struct gm_image_info *in = gm_image_info(img);

		printf("container=%s\nformat=%s\ngzip=%d\nsparse=%d\ndisk_size=%" PRIu64
		       "\ndata_bytes=%" PRIu64 "\nmembers=%u\nresumed=%d\n",
		       in->container == GM_CONTAINER_TARGZ ? "targz" : "raw",
		       gm_tar_format_name(in->tar_format), in->gzip, in->disk_entry_sparse,
		       in->disk_size, in->disk_data_bytes, in->members, in->resumed);
	} else if (!strcmp(cmd, "hold")) {
		printf("ready\n");
		fflush(stdout);
		sleep(60);
	} else if (!strcmp(cmd, "write") || !strcmp(cmd, "repack")) {
		if (text) {
			size_t n = strlen(text);
			char *buf = NULL;

			if (text[0] == '@') {   /* @FILE: the bytes of FILE */
				FILE *f = fopen(text + 1, "rb");

				buf = f ? malloc(64u << 20) : NULL;
				n = buf ? fread(buf, 1, 64u << 20, f) : 0;
				if (f)
					fclose(f);
				if (!buf)
					return EIO;
				text = buf;
			}

			rc = gm_image_mark_dirty(img, off, n);
			if (!rc && sleep_dirty)
				sleep((unsigned)sleep_dirty);
			if (!rc && pwrite(gm_image_fd(img), text, n, (off_t)off) != (ssize_t)n)
				rc = -errno;
			free(buf);
			if (rc) {
				fprintf(stderr, "%s: write: %s\n", path, strerror(-rc));
				return -rc;
			}
		}
		if (no_wb)
			_exit(0);   /* like a killed session: no close */
		w.force = !strcmp(cmd, "repack");
		rc = gm_image_writeback(img, &w, &err);
		if (rc)
			fprintf(stderr, "%s\n", gm_error_msg(&err));
	} else {
		rc = -EINVAL;
	}
	gm_image_close(img);
	gm_rangeset_free(&holes);
	return rc < 0 ? -rc : 0;
}

/* ------------------------------------------------------------ unit tests */

static char tmpdir[256];

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/gm-test-image.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	setenv("XDG_CACHE_HOME", tmpdir, 1);
	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
	/* a 64 MiB sparse disk with 3 data blocks, the last one ending at 60 MiB */
	sh("cd %s && truncate -s 64M disk.raw && printf A | dd of=disk.raw bs=4096 seek=0 conv=notrunc status=none"
	   " && printf B | dd of=disk.raw bs=4096 seek=5000 conv=notrunc status=none"
	   " && printf C | dd of=disk.raw bs=4096 seek=15359 conv=notrunc status=none"
	   " && tar --format=oldgnu -Sczf img.tar.gz disk.raw", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sh("rm -rf %s", tmpdir);
	return 0;
}

static void img_path(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", tmpdir, name);
}

static void test_image_open_targz_reads_disk(void **state)
{
	struct gm_image *img = NULL;
	struct gm_error err = { 0 };
	char p[512], c = 0;

	(void)state;
	img_path(p, sizeof(p), "img.tar.gz");
	assert_int_equal(gm_image_open(p, NULL, &img, &err), 0);
	assert_int_equal(gm_image_info(img)->container, GM_CONTAINER_TARGZ);
	assert_int_equal(gm_image_info(img)->tar_format, GM_TAR_OLDGNU);
	assert_true(gm_image_info(img)->disk_entry_sparse);
	assert_int_equal(gm_image_disk_size(img), 64 << 20);
	assert_int_equal(pread(gm_image_fd(img), &c, 1, 5000 * 4096), 1);
	assert_int_equal(c, 'B');
	assert_false(gm_image_dirty(img));
	gm_image_close(img);
}

static void test_image_second_open_is_busy(void **state)
{
	struct gm_image *a = NULL, *b = NULL;
	struct gm_error err = { 0 };
	char p[512];

	(void)state;
	img_path(p, sizeof(p), "img.tar.gz");
	assert_int_equal(gm_image_open(p, NULL, &a, &err), 0);
	assert_int_equal(gm_image_open(p, NULL, &b, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "in use by another gcemount (pid"));
	assert_null(b);
	gm_image_close(a);
}

static void test_image_dirty_then_killed_needs_recover(void **state)
{
	struct gm_image_opts o = { 0 };
	struct gm_image *img = NULL;
	struct gm_error err = { 0 };
	char p[512], c = 0;
	pid_t pid;
	int status;

	(void)state;
	img_path(p, sizeof(p), "img.tar.gz");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (gm_image_open(p, NULL, &img, &err) || gm_image_mark_dirty(img, 4096, 1) ||
		    pwrite(gm_image_fd(img), "Z", 1, 4096) != 1)
			_exit(1);
		raise(SIGKILL);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(gm_image_open(p, &o, &img, &err), -EAGAIN);
	assert_non_null(strstr(err.msg, "unsaved edits from an interrupted session"));
	o.recover = GM_RECOVER_RESUME;
	assert_int_equal(gm_image_open(p, &o, &img, &err), 0);
	assert_true(gm_image_info(img)->resumed);
	assert_int_equal(pread(gm_image_fd(img), &c, 1, 4096), 1);
	assert_int_equal(c, 'Z');
	gm_image_close(img);
	/* still dirty: resume kept the edits but did not write them back */
	o.recover = GM_RECOVER_DISCARD;
	assert_int_equal(gm_image_open(p, &o, &img, &err), 0);
	assert_false(gm_image_info(img)->resumed);
	assert_int_equal(pread(gm_image_fd(img), &c, 1, 4096), 1);
	assert_int_equal(c, 0);
	gm_image_close(img);
	o.recover = GM_RECOVER_REFUSE;
	assert_int_equal(gm_image_open(p, &o, &img, &err), 0);
	gm_image_close(img);
}

static void test_image_writeback_roundtrip_and_reuse(void **state)
{
	struct gm_writeback_opts w = { 0 };
	struct gm_image *img = NULL;
	struct gm_error err = { 0 };
	struct stat st1, st2;
	char p[512], c = 0;

	(void)state;
	img_path(p, sizeof(p), "rt.tar.gz");
	sh("cp %s/img.tar.gz %s", tmpdir, p);
	assert_int_equal(gm_image_open(p, NULL, &img, &err), 0);
	/* nothing changed: no write */
	assert_int_equal(stat(p, &st1), 0);
	assert_int_equal(gm_image_writeback(img, &w, &err), 0);
	assert_int_equal(stat(p, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(gm_image_mark_dirty(img, 8192, 1), 0);
	assert_int_equal(pwrite(gm_image_fd(img), "Q", 1, 8192), 1);
	assert_int_equal(gm_image_writeback(img, &w, &err), 0);
	assert_false(gm_image_dirty(img));
	gm_image_close(img);
	sh("cd %s && rm -rf x && mkdir x && tar -xSzf rt.tar.gz -C x && "
	   "[ \"$(dd if=x/disk.raw bs=1 skip=8192 count=1 status=none)\" = Q ] && "
	   "[ $(du -k x/disk.raw | cut -f1) -le 32 ]", tmpdir);
	/* reopen reuses the cache (clean, same identity) and sees the edit */
	assert_int_equal(gm_image_open(p, NULL, &img, &err), 0);
	assert_int_equal(pread(gm_image_fd(img), &c, 1, 8192), 1);
	assert_int_equal(c, 'Q');
	gm_image_close(img);
}

static void test_image_rejects_bad_input(void **state)
{
	struct gm_image *img = NULL;
	struct gm_error err = { 0 };
	char p[512];

	(void)state;
	sh("cd %s && echo hello > notgz.tar.gz && head -c -100 img.tar.gz > trunc.tar.gz && "
	   "echo hi > other && tar -czf nodisk.tar.gz other && gzip -c other > plain.tgz", tmpdir);
	img_path(p, sizeof(p), "notgz.tar.gz");
	assert_int_equal(gm_image_open(p, NULL, &img, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not gzip"));
	img_path(p, sizeof(p), "trunc.tar.gz");
	assert_int_equal(gm_image_open(p, NULL, &img, &err), -EINVAL);
	img_path(p, sizeof(p), "nodisk.tar.gz");
	assert_int_equal(gm_image_open(p, NULL, &img, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no disk.raw"));
	img_path(p, sizeof(p), "plain.tgz");
	assert_int_equal(gm_image_open(p, NULL, &img, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a tar"));
	img_path(p, sizeof(p), "missing.tar.gz");
	assert_int_equal(gm_image_open(p, NULL, &img, &err), -ENOENT);
	assert_null(img);
}

static void test_image_output_kinds(void **state)
{
	struct gm_output_target t;
	struct gm_error err = { 0 };
	char p[512], q[512];
	int pfd[2];

	(void)state;
	sh("cd %s && mkdir -p odir && mkfifo ofifo && echo x > ofile && ln -sf ofile olink && "
	   "ln -sf nowhere odangling && echo r > oro && chmod 0444 oro", tmpdir);
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(gm_output_resolve("img", "-", pfd[1], &t, &err), 0);
	assert_int_equal(t.kind, GM_OUTPUT_STREAM);
	assert_int_equal(t.fd, pfd[1]);
	close(pfd[0]);
	close(pfd[1]);
	img_path(p, sizeof(p), "ofifo");
	assert_int_equal(gm_output_resolve("img", p, 1, &t, &err), 0);
	assert_int_equal(t.kind, GM_OUTPUT_STREAM);
	img_path(p, sizeof(p), "odir");
	assert_int_equal(gm_output_resolve("img", p, 1, &t, &err), -EISDIR);
	img_path(p, sizeof(p), "olink");
	img_path(q, sizeof(q), "ofile");
	assert_int_equal(gm_output_resolve("img", p, 1, &t, &err), 0);
	assert_int_equal(t.kind, GM_OUTPUT_REPLACE);
	assert_true(t.exists);
	assert_string_equal(t.path, q);     /* the link's target is what gets replaced */
	img_path(p, sizeof(p), "odangling");
	assert_int_equal(gm_output_resolve("img", p, 1, &t, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "dangling"));
	img_path(p, sizeof(p), "oro");
	assert_int_equal(gm_output_resolve("img", p, 1, &t, &err), -EACCES);
	img_path(p, sizeof(p), "onew.tar.gz");
	assert_int_equal(gm_output_resolve("img", p, 1, &t, &err), 0);
	assert_int_equal(t.kind, GM_OUTPUT_REPLACE);
	assert_false(t.exists);
	assert_int_equal(gm_output_resolve("img", "/no/such/dir/x", 1, &t, &err), -ENOENT);
	img_path(p, sizeof(p), "oro");
	assert_int_equal(gm_output_check_in_place(p, false, "give --output", &err), -EROFS);
	assert_non_null(strstr(err.msg, "mode 0444): give --output"));
}

static void test_image_tempfiles_remove_all(void **state)
{
	char f[512], d[512];
	int a, b;

	(void)state;
	img_path(f, sizeof(f), "tf.tmp");
	img_path(d, sizeof(d), "tfdir");
	sh("cd %s && touch tf.tmp && mkdir -p tfdir/members && touch tfdir/disk.raw tfdir/members/0 "
	   "&& touch kept", tmpdir);
	a = gm_tempfiles_add(f, false);
	b = gm_tempfiles_add(d, true);
	assert_true(a >= 0 && b >= 0);
	gm_tempfiles_remove_all();
	assert_int_equal(access(f, F_OK), -1);
	assert_int_equal(access(d, F_OK), -1);
	/* forgotten paths stay */
	img_path(f, sizeof(f), "kept");
	gm_tempfiles_forget(gm_tempfiles_add(f, false));
	gm_tempfiles_remove_all();
	assert_int_equal(access(f, F_OK), 0);
}

/* The image "-": read from standard input (here a file on fd 0, in a child),
 * written back only to an output. */
/* Lazy open of a tarball whose trailer CRC is wrong: the open succeeds,
 * what has arrived reads, the end says damaged (and stays so), every wait
 * fails from then on, the write-back is refused and writes nothing, the
 * cache is not kept. The same image opened eagerly fails at the open. */
static void test_image_lazy_damaged_found_at_the_end(void **state)
{
	struct gm_image_opts o = { .lazy = true };
	struct gm_writeback_opts w = { 0 };
	struct gm_image *img = NULL;
	struct gm_error err = { 0 };
	char p[512], out[512], st[512], c = 0;
	struct stat sb;

	(void)state;
	img_path(p, sizeof(p), "bad.tar.gz");
	img_path(out, sizeof(out), "bad-out.tar.gz");
	sh("cd %s && cp img.tar.gz bad.tar.gz && python3 -c \"import sys; f=open('bad.tar.gz','r+b');"
	   " f.seek(-8, 2); b=f.read(1); f.seek(-8, 2); f.write(bytes([b[0] ^ 0x5a]))\"", tmpdir);
	/* the last data block (and the trailer after it) held back until the
	 * gate file exists (tar_read.c's test gate) */
	snprintf(st, sizeof(st), "%d:%s/gate", 15359 * 4096, tmpdir);
	setenv("GM_TEST_EXTRACT_GATE", st, 1);
	assert_int_equal(gm_image_open(p, &o, &img, &err), 0);
	assert_int_equal(gm_image_wait(img, 0, 4096), 0);
	assert_int_equal(pread(gm_image_disk_fd(img), &c, 1, 0), 1);
	assert_int_equal(c, 'A');
	assert_false(gm_image_complete(img));
	sh("touch %s/gate", tmpdir);
	unsetenv("GM_TEST_EXTRACT_GATE");
	assert_int_equal(gm_image_finish(img, &err), -EINVAL);
	assert_non_null(strstr(gm_error_msg(&err), "CRC32 mismatch"));
	assert_int_equal(gm_image_finish(img, &err), -EINVAL);   /* it stays so */
	assert_int_equal(gm_image_wait(img, 0, 4096), -EIO);
	assert_false(gm_image_complete(img));
	w.output = out;
	assert_int_equal(gm_image_writeback(img, &w, &err), -EIO);
	assert_non_null(strstr(gm_error_msg(&err), "nothing is written back"));
	assert_int_equal(stat(out, &sb), -1);
	gm_image_close(img);
	snprintf(st, sizeof(st), "%s/gcemount", tmpdir);
	sh("! ls %s/*-bad.tar.gz/state 2>/dev/null", st);
	o.lazy = false;
	img = NULL;
	assert_true(gm_image_open(p, &o, &img, &err) < 0);
	assert_non_null(strstr(gm_error_msg(&err), "CRC32 mismatch"));
	assert_null(img);
}

/* after a failed assertion too: the next tests read without a gate */
static int gate_off(void **state)
{
	(void)state;
	unsetenv("GM_TEST_EXTRACT_GATE");
	return 0;
}

static int check_fails(void *priv, int fd, uint64_t size, char *note, size_t len,
		       struct gm_error *err)
{
	(void)fd; (void)size;
	(*(int *)priv)++;
	snprintf(note, len, "the check ran");
	return gm_error_set(err, -EIO, "the check says no");
}

static int check_passes(void *priv, int fd, uint64_t size, char *note, size_t len,
			struct gm_error *err)
{
	char c = 0;

	(void)err;
	(*(int *)priv)++;
	/* it sees the whole disk: the last data block is there */
	if (pread(fd, &c, 1, 15359 * 4096) != 1 || c != 'C' || size != 64 << 20)
		return -EIO;
	snprintf(note, len, "all there");
	return 0;
}

/* Checks for when all is read: run once (at once when it is read already),
 * their notes kept, a failing one makes the image damaged. */
static void test_image_checks_after_read(void **state)
{
	struct gm_image_opts o = { .lazy = true };
	struct gm_image *img = NULL;
	struct gm_error err = { 0 };
	int ran = 0, ran2 = 0;
	char p[512];

	(void)state;
	img_path(p, sizeof(p), "img.tar.gz");
	sh("rm -rf %s/gcemount", tmpdir);
	assert_int_equal(gm_image_open(p, &o, &img, &err), 0);
	assert_int_equal(gm_image_after_read(img, check_passes, NULL, &ran), 0);
	assert_int_equal(gm_image_finish(img, &err), 0);
	assert_true(gm_image_complete(img));
	assert_int_equal(ran, 1);
	assert_string_equal(gm_image_late_note(img), "all there");
	/* read already: it runs now, and its failure sticks */
	assert_int_equal(gm_image_after_read(img, check_fails, NULL, &ran2), -EIO);
	assert_int_equal(ran2, 1);
	assert_int_equal(gm_image_finish(img, &err), -EIO);
	assert_string_equal(gm_error_msg(&err), "the check says no");
	assert_int_equal(gm_image_wait(img, 0, 1), -EIO);
	assert_non_null(strstr(gm_image_late_note(img), "the check ran"));
	gm_image_close(img);
	/* the cache is whole and reused: no reading, checks run at once */
	img = NULL;
	ran = 0;
	assert_int_equal(gm_image_open(p, &o, &img, &err), 0);
	assert_true(gm_image_complete(img));
	assert_int_equal(gm_image_after_read(img, check_passes, NULL, &ran), 0);
	assert_int_equal(ran, 1);
	gm_image_close(img);
}

static void test_image_stdin_needs_output(void **state)
{
	char p[512], out[512];
	pid_t pid;
	int status;

	(void)state;
	img_path(p, sizeof(p), "img.tar.gz");
	img_path(out, sizeof(out), "fromstdin.tar.gz");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct gm_writeback_opts w = { .force = true };
		struct gm_image *img = NULL;
		struct gm_error err = { 0 };
		int fd = open(p, O_RDONLY);
		char c = 0;

		if (fd < 0 || dup2(fd, 0) < 0 || gm_image_open("-", NULL, &img, &err))
			_exit(10);
		if (gm_image_info(img)->container != GM_CONTAINER_TARGZ ||
		    pread(gm_image_fd(img), &c, 1, 5000 * 4096) != 1 || c != 'B')
			_exit(11);
		if (gm_image_writeback(img, &w, &err) != -EINVAL || !strstr(err.msg, "give --output"))
			_exit(12);
		w.output = out;
		if (gm_image_writeback(img, &w, &err))
			_exit(13);
		gm_image_close(img);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	sh("cd %s && cmp img.tar.gz fromstdin.tar.gz >/dev/null || "
	   "(mkdir -p s1 s2 && tar -xSzf img.tar.gz -C s1 && tar -xSzf fromstdin.tar.gz -C s2 && "
	   "cmp s1/disk.raw s2/disk.raw)", tmpdir);
	sh("[ -z \"$(ls -d %s/gcemount/stdin-* 2>/dev/null)\" ]", tmpdir);   /* private cache gone */
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_image_open_targz_reads_disk),
		cmocka_unit_test(test_image_second_open_is_busy),
		cmocka_unit_test(test_image_dirty_then_killed_needs_recover),
		cmocka_unit_test(test_image_writeback_roundtrip_and_reuse),
		cmocka_unit_test(test_image_rejects_bad_input),
		cmocka_unit_test(test_image_output_kinds),
		cmocka_unit_test(test_image_tempfiles_remove_all),
		cmocka_unit_test(test_image_stdin_needs_output),
		cmocka_unit_test_teardown(test_image_lazy_damaged_found_at_the_end, gate_off),
		cmocka_unit_test(test_image_checks_after_read),
	};

	if (argc > 1 && !strcmp(argv[1], "drive"))
		return drive(argc, argv);
	return cmocka_run_group_tests(tests, setup, teardown);
}
