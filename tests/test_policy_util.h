/* test_policy_util.h — helpers shared by the tests/test_policy_*.c programs
 * (header-only: each test program is one translation unit). */
#ifndef GM_TEST_POLICY_UTIL_H
#define GM_TEST_POLICY_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "policies/internal.h"

/* tests/data/configs/<rel> */
static inline const char *tp_data(const char *rel)
{
	static char p[4][PATH_MAX];
	static int k;
	const char *top = getenv("GM_TOP");

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/tests/data/configs/%s", top ? top : ".", rel);
	return p[k];
}

static inline char *tp_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b;
	long n;

	if (!f)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)n + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	b[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return b;
}

static inline void tp_write(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}

/* mkdir -p */
static inline void tp_mkdirs(const char *path)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	mkdir(p, 0755);
}

/* Writes text to dir/rel, making parents. */
static inline void tp_put(const char *dir, const char *rel, const char *text)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	char *slash = strrchr(p, '/');
	*slash = '\0';
	tp_mkdirs(p);
	*slash = '/';
	tp_write(p, text, strlen(text));
}

static inline char *tp_get(const char *dir, const char *rel)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return tp_read(p, NULL);
}

/* A fresh temp directory (under $TMPDIR or the cwd). */
static inline char *tp_tmpdir(void)
{
	char *d = strdup("gmtest.XXXXXX");

	assert_non_null(mkdtemp(d));
	char *abs = realpath(d, NULL);
	free(d);
	assert_non_null(abs);
	return abs;
}

static inline void tp_rmrf(const char *d)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", d);
}

/* Compares got with the golden file rel; GM_UPDATE_GOLDEN=1 rewrites it. */
static inline void tp_golden(const char *rel, const char *got, size_t len)
{
	const char *p = tp_data(rel);
	size_t elen;
	char *want;

	if (getenv("GM_UPDATE_GOLDEN")) {
		tp_write(p, got, len);
		return;
	}
	want = tp_read(p, &elen);
	if (elen != len || memcmp(want, got, len)) {
		char *d = gm_diff(rel, want, elen, got, len);
		fprintf(stderr, "golden mismatch for %s:\n%s", rel, d ? d : "(diff failed)");
		free(d);
		free(want);
		fail_msg("%s differs from the golden file", rel);
	}
	free(want);
}

/* Runs a shell command, returns its stdout (malloc'd) or NULL. */
static inline char *tp_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline char *tp_run(const char *fmt, ...)
{
	char cmd[8192], *out = NULL;
	size_t n = 0, cap = 0;
	va_list ap;
	FILE *f;
	int ch;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	if (!f)
		return NULL;
	while ((ch = fgetc(f)) != EOF) {
		if (n + 2 > cap) {
			cap = cap ? cap * 2 : 4096;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		out[n++] = (char)ch;
	}
	if (out)
		out[n] = '\0';
	if (pclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out ? out : strdup("");
}

/* The value of "key value" in `sshd -T` / `ssh -G` output (lowercase keys). */
/* What `sshd -T` needs: a host key (in a new temporary directory, returned)
 * and /run/sshd (the package creates it; so do we). */
static inline char *tp_sshd_hostkey(void)
{
	char *d = tp_tmpdir();

	mkdir("/run/sshd", 0755);
	free(tp_run("ssh-keygen -q -t ed25519 -N '' -f '%s/hk' </dev/null", d));
	return d;
}

static inline void tp_sshd_hostkey_free(char *d)
{
	tp_rmrf(d);
	free(d);
}

/* The group setup and teardown of the tests that run sshd -T: the host
 * key's directory in hostkey_dir (also a scratch directory). */
static char *hostkey_dir __attribute__((unused));

static inline int tp_sshd_setup(void **state)
{
	(void)state;
	hostkey_dir = tp_sshd_hostkey();
	return 0;
}

static inline int tp_sshd_teardown(void **state)
{
	(void)state;
	tp_sshd_hostkey_free(hostkey_dir);
	return 0;
}

static inline bool tp_dump_has(const char *dump, const char *key, const char *value)
{
	char want[512];

	snprintf(want, sizeof(want), "\n%s %s\n", key, value);
	if (!strncmp(dump, want + 1, strlen(want + 1)))
		return true;
	return strstr(dump, want) != NULL;
}

#endif
