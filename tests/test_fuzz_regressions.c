/* test_fuzz_regressions.c — replays, without libFuzzer, every input kept in
 * tests/fuzz/regressions/<target>/ (inputs that once crashed a target) and
 * the text seeds of tests/fuzz/corpus/<target>/ through the same entry points
 * as the fuzz targets (tests/fuzz/fuzz_<target>.c, included here), so plain
 * `make check` (and `make asan`) keeps them fixed. Seeds that make_seeds.py
 * generates are replayed too when python3 is there. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#define GM_FUZZ_NO_MAIN 1
#include "tests/fuzz/fuzz_config.c"
#include "tests/fuzz/fuzz_fs.c"
#include "tests/fuzz/fuzz_gzindex.c"
#include "tests/fuzz/fuzz_fat.c"
#include "tests/fuzz/fuzz_layout.c"
#include "tests/fuzz/fuzz_partition.c"
#include "tests/fuzz/fuzz_policy.c"
#include "tests/fuzz/fuzz_tar.c"

typedef int (*fuzz_fn)(const uint8_t *data, size_t n);

static uint8_t *read_all(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)len + 1);
		if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
			free(buf);
			buf = NULL;
		}
		*n = (size_t)len;
	}
	fclose(f);
	return buf;
}

/* Runs fn on every regular file in dir; returns how many. */
static int replay_dir(const char *dir, fuzz_fn fn)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int count = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[4096];
		struct stat st;
		uint8_t *data;
		size_t n = 0;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		data = read_all(path, &n);
		assert_non_null(data);
		print_message("replay %s\n", path);
		fn(data, n);
		free(data);
		count++;
	}
	closedir(d);
	return count;
}

static const char *top(void)
{
	const char *t = getenv("GM_TOP");
	return t && *t ? t : ".";
}

/* Regressions and text seeds, then generated seeds; at least min inputs. */
static void replay_target(const char *target, fuzz_fn fn, int min)
{
	char dir[8192], cmd[16384];
	int count = 0;

	snprintf(dir, sizeof(dir), "%s/tests/fuzz/regressions/%s", top(), target);
	count += replay_dir(dir, fn);
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", top(), target);
	count += replay_dir(dir, fn);
	snprintf(dir, sizeof(dir), "%s/seeds-%s", gm_fuzz_dir(), target);
	snprintf(cmd, sizeof(cmd), "python3 '%s/tests/fuzz/make_seeds.py' '%s' '%s' >/dev/null 2>&1",
		 top(), target, dir);
	if (system(cmd) == 0)
		count += replay_dir(dir, fn);
	assert_true(count >= min);
}

static void test_fuzz_regressions_tar(void **state)
{
	(void)state;
	replay_target("tar", fuzz_tar_one, 1);
}

static void test_fuzz_regressions_partition(void **state)
{
	(void)state;
	replay_target("partition", fuzz_partition_one, 1);
}

static void test_fuzz_regressions_policy(void **state)
{
	(void)state;
	replay_target("policy", fuzz_policy_one, 2);
}

static void test_fuzz_regressions_fs(void **state)
{
	(void)state;
	replay_target("fs", fuzz_fs_one, 2);
}

static void test_fuzz_regressions_config(void **state)
{
	(void)state;
	replay_target("config", fuzz_config_one, 2);
}

static void test_fuzz_regressions_gzindex(void **state)
{
	(void)state;
	replay_target("gzindex", fuzz_gzindex_one, 2);
}

static void test_fuzz_regressions_fat(void **state)
{
	(void)state;
	replay_target("fat", fuzz_fat_one, 1);
}

static void test_fuzz_regressions_layout(void **state)
{
	(void)state;
	replay_target("layout", fuzz_layout_one, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fuzz_regressions_tar),
		cmocka_unit_test(test_fuzz_regressions_partition),
		cmocka_unit_test(test_fuzz_regressions_policy),
		cmocka_unit_test(test_fuzz_regressions_config),
		cmocka_unit_test(test_fuzz_regressions_fs),
		cmocka_unit_test(test_fuzz_regressions_gzindex),
		cmocka_unit_test(test_fuzz_regressions_fat),
		cmocka_unit_test(test_fuzz_regressions_layout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
