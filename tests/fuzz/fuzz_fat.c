/* fuzz_fat.c — libFuzzer target: the read-only FAT reader (editor/fs/fat.c)
 * on a FAT image that is the fuzz input (a memfd): open, walk every
 * directory (bounded), look each name up in upper case (lookups are
 * case-insensitive), stat, read every file, statfs.
 * Invariants: a failure leaves one message line; names never hold '/' or
 * NUL and are never "." or ".." past the two synthesized entries; a name
 * listed is found again by lookup; reads never return more than asked or
 * than the size stat gave. */
#include <ctype.h>
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "editor/fs/fat.h"
#include "tests/fuzz/fuzz_common.h"

struct fat_walk {
	struct gm_fat *f;
	char names[64][256];
	gm_fat_ino_t inos[64];
	unsigned char types[64];
	size_t n;
	unsigned entries;
};

static int fat_collect(void *priv, const char *name, size_t namelen, gm_fat_ino_t ino, unsigned dtype,
		       uint64_t next_off)
{
	struct fat_walk *w = priv;

	GM_FUZZ_ASSERT(namelen > 0 && namelen < 256);
	GM_FUZZ_ASSERT(memchr(name, '/', namelen) == NULL && memchr(name, '\0', namelen) == NULL);
	if (w->entries++ >= 2)
		GM_FUZZ_ASSERT(!(namelen == 1 && name[0] == '.') && !(namelen == 2 && !memcmp(name, "..", 2)));
	else
		return 0;
	if (w->n == 64)
		return 1;
	memcpy(w->names[w->n], name, namelen);
	w->names[w->n][namelen] = '\0';
	w->inos[w->n] = ino;
	w->types[w->n] = (unsigned char)dtype;
	w->n++;
	return 0;
}

static void fat_walk_dir(struct gm_fat *f, gm_fat_ino_t dir, int depth, unsigned *budget)
{
	struct fat_walk *w;

	if (depth > 8 || *budget == 0)
		return;
	(*budget)--;
	w = calloc(1, sizeof(*w));
	GM_FUZZ_ASSERT(w);
	w->f = f;
	if (gm_fat_readdir(f, dir, 0, fat_collect, w) < 0)
		GM_FUZZ_ASSERT(strchr(gm_fat_errmsg(f), '\n') == NULL);
	for (size_t i = 0; i < w->n; i++) {
		char up[256];
		gm_fat_ino_t ino;
		struct stat st;

		for (size_t k = 0; w->names[i][k]; k++)
			up[k] = (char)toupper((unsigned char)w->names[i][k]), up[k + 1] = '\0';
		GM_FUZZ_ASSERT(gm_fat_lookup(f, dir, up, &ino) == 0);
		if (gm_fat_getattr(f, w->inos[i], &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			fat_walk_dir(f, w->inos[i], depth + 1, budget);
		} else {
			static char buf[65536];
			ssize_t n = gm_fat_read(f, w->inos[i], buf, sizeof(buf), 0);

			GM_FUZZ_ASSERT(n < 0 || ((size_t)n <= sizeof(buf) && n <= st.st_size));
			(void)gm_fat_read(f, w->inos[i], buf, 100, (uint64_t)st.st_size / 2);
		}
	}
	free(w);
}

static int fuzz_fat_one(const uint8_t *data, size_t n)
{
	struct gm_error err = { 0 };
	struct gm_fat *f = NULL;
	struct statvfs sv;
	unsigned budget = 64;
	int fd;

	fd = memfd_create("gm-fuzz-fat", MFD_CLOEXEC);
	GM_FUZZ_ASSERT(fd >= 0);
	GM_FUZZ_ASSERT(write(fd, data, n) == (ssize_t)n);
	if (gm_fat_open(fd, 0, n, NULL, &f, &err) < 0) {
		GM_FUZZ_ASSERT(gm_error_msg(&err)[0] && strchr(gm_error_msg(&err), '\n') == NULL);
		close(fd);
		return 0;
	}
	fat_walk_dir(f, GM_FAT_ROOT_INO, 0, &budget);
	(void)gm_fat_statfs(f, &sv);
	gm_fat_close(f);
	close(fd);
	return 0;
}

GM_FUZZ_ENTRY(fuzz_fat_one)
