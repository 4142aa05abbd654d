/* fixture.h — run-time fixtures for the editor unit tests (static helpers,
 * included by tests/test_*.c). Disks are built with truncate + sfdisk +
 * mke2fs -d in a private temp directory; nothing binary lives in git. */
#ifndef GM_TESTS_FIXTURE_H
#define GM_TESTS_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FX_PART_OFFSET 1048576ull

/* Runs a shell command (printf-style); returns its exit status. The output
 * goes to fx.log in the current directory (stdout/stderr of the test stay
 * clean unless the command fails). */
static int fx_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static int fx_sh(const char *fmt, ...)
{
	char cmd[8192], full[8400];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	/* the system's tools first (a pyenv shim costs a second per python3) */
	snprintf(full, sizeof(full), "( PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH; %s ) >>fx.log 2>&1", cmd);
	st = system(full);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "fixture command failed (%d): %s\n", st, cmd);
		(void)!system("tail -20 fx.log >&2");
		return st == -1 ? -1 : (WIFEXITED(st) ? WEXITSTATUS(st) : 128);
	}
	return 0;
}

/* Makes and enters a fresh temp dir; returns its path (static buffer). */
static const char *fx_enter_tmpdir(char *buf, size_t len) __attribute__((unused));
static const char *fx_enter_tmpdir(char *buf, size_t len)
{
	const char *base = getenv("TMPDIR");

	snprintf(buf, len, "%s/gm-test.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(buf) || chdir(buf) != 0)
		return NULL;
	return buf;
}

static void fx_leave_tmpdir(const char *dir) __attribute__((unused));
static void fx_leave_tmpdir(const char *dir)
{
	char cmd[4200];

	if (!dir || strncmp(dir, "/", 1) || !strstr(dir, "/gm-test."))
		return;
	(void)!chdir("/");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
}

/* make_disk: an ext4 (4 KiB blocks) made from tree (may be NULL) inside
 * partition 1 of a sparse disk of mib MiB ("mbr", "gpt") or over the whole
 * disk ("bare"). extra: more mke2fs arguments (may be ""). */
static int fx_make_disk(const char *out, const char *tree, unsigned mib, const char *table,
			const char *extra) __attribute__((unused));
static int fx_make_disk(const char *out, const char *tree, unsigned mib, const char *table,
			const char *extra)
{
	unsigned long long off = FX_PART_OFFSET, kib;
	int rc;

	rc = fx_sh("rm -f '%s' && truncate -s %uM '%s'", out, mib, out);
	if (rc)
		return rc;
	if (!strcmp(table, "mbr"))
		rc = fx_sh("printf 'label: dos\\nstart=2048, type=83\\n' | sfdisk -q '%s'", out);
	else if (!strcmp(table, "gpt"))
		rc = fx_sh("printf 'label: gpt\\nstart=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\\n' | sfdisk -q '%s'",
			   out);
	else
		off = 0;
	if (rc)
		return rc;
	kib = ((unsigned long long)mib * 1048576 - off - (strcmp(table, "gpt") ? 0 : 33 * 512)) / 4096 * 4;
	return fx_sh("mke2fs -q -F -t ext4 -b 4096 -E offset=%llu %s%s%s %s '%s' %lluk", off,
		     tree ? "-d '" : "", tree ? tree : "", tree ? "'" : "", extra ? extra : "", out, kib);
}

/* Whole content of a host file (malloc'd, NUL-terminated) or NULL. */
static char *fx_slurp(const char *path, size_t *len) __attribute__((unused));
static char *fx_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = '\0';
		if (len)
			*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static int fx_write(const char *path, const char *data) __attribute__((unused));
static int fx_write(const char *path, const char *data)
{
	FILE *f = fopen(path, "wb");
	int rc = 0;

	if (!f)
		return -1;
	if (fputs(data, f) < 0)
		rc = -1;
	if (fclose(f))
		rc = -1;
	return rc;
}

static double fx_now(void) __attribute__((unused));
static double fx_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
