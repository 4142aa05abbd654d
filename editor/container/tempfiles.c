/* tempfiles.c — see tempfiles.h. Everything a handler calls is
 * async-signal-safe: no malloc, no stdio, no locks. */
#include "editor/container/tempfiles.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct slot {
	volatile sig_atomic_t armed;   /* set last on add, cleared first on forget */
	bool tree;
	char path[PATH_MAX];
};

static struct slot slots[GM_TEMPFILES_MAX];
static volatile sig_atomic_t flags;

int gm_tempfiles_add(const char *path, bool tree)
{
	size_t n = strlen(path);

	if (n >= PATH_MAX)
		return -ENAMETOOLONG;
	for (int i = 0; i < GM_TEMPFILES_MAX; i++) {
		if (slots[i].armed)
			continue;
		memcpy(slots[i].path, path, n + 1);
		slots[i].tree = tree;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		slots[i].armed = 1;
		return i;
	}
	return -ENOSPC;
}

void gm_tempfiles_forget(int slot)
{
	if (slot >= 0 && slot < GM_TEMPFILES_MAX)
		slots[slot].armed = 0;
}

/* Empties the directory dfd (closing it), depth levels of subdirectories. */
static void empty_dir(int dfd, int depth)
{
	char buf[4096];
	ssize_t n;

	while ((n = getdents64(dfd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			struct dirent64 *de = (struct dirent64 *)(void *)(buf + off);

			off += de->d_reclen;
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (unlinkat(dfd, de->d_name, 0) == 0 || errno != EISDIR || depth == 0)
				continue;
			int sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0)
				empty_dir(sub, depth - 1);
			unlinkat(dfd, de->d_name, AT_REMOVEDIR);
		}
	}
	close(dfd);
}

void gm_tempfiles_remove_tree(const char *path)
{
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (dfd >= 0)
		empty_dir(dfd, 2);
	rmdir(path);
}

void gm_tempfiles_remove_all(void)
{
	for (int i = 0; i < GM_TEMPFILES_MAX; i++) {
		struct slot *s = &slots[i];

		if (!s->armed)
			continue;
		if (s->tree) {
			gm_tempfiles_remove_tree(s->path);
		} else {
			unlink(s->path);
		}
		s->armed = 0;
	}
}

void gm_tempfiles_set_flag(unsigned flag, bool on)
{
	if (on)
		flags = (sig_atomic_t)((unsigned)flags | flag);
	else
		flags = (sig_atomic_t)((unsigned)flags & ~flag);
}

unsigned gm_tempfiles_flags(void)
{
	return (unsigned)flags;
}

static void handled_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGPIPE);
}

void gm_tempfiles_block(sigset_t *old)
{
	sigset_t set;

	handled_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

void gm_tempfiles_unblock(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

void gm_tempfiles_test_point(const char *name)
{
	static unsigned hits;
	const char *want = getenv("GM_TEST_STOP_AT"), *at;
	size_t n = strlen(name);
	unsigned long nth = 1;

	if (!want || strncmp(want, name, n) || (want[n] && want[n] != ':' && want[n] != '@'))
		return;
	at = strchr(want + n, '@');
	if (at && access(at + 1, F_OK) < 0)
		return;            /* not armed yet */
	if (want[n] == ':')
		nth = strtoul(want + n + 1, NULL, 10);
	if (++hits == nth)
		raise(SIGSTOP);
}
