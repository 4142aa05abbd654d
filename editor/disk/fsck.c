/* fsck.c — see fsck.h. */
#include "editor/disk/fsck.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "editor/disk/partition.h"

extern char **environ;

static const char *find_e2fsck(void)
{
	static const char *const where[] = { "/usr/sbin/e2fsck", "/sbin/e2fsck", "/usr/local/sbin/e2fsck" };

	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
		if (access(where[i], X_OK) == 0)
			return where[i];
	return NULL;
}

/* e2fsck MODE SPEC ("-fy" or "-fn"), output discarded; fd (if >= 0)
 * becomes descriptor 3 of e2fsck. Returns its exit status or -errno. */
static int run_e2fsck(const char *e2fsck, const char *mode, const char *spec, int fd)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { (char *)e2fsck, (char *)mode, (char *)spec, NULL };
	int status, rc;
	pid_t pid;

	if (posix_spawn_file_actions_init(&fa))
		return -ENOMEM;
	if (fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, fd, 3);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	rc = posix_spawn(&pid, e2fsck, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return -rc;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status))
		return -EINTR;
	return WEXITSTATUS(status);
}

int gm_fsck_repair(int fd, const char *disk_path, uint64_t disk_size, char *note, size_t notelen,
		   struct gm_error *err)
{
	struct gm_partition_table *t = calloc(1, sizeof(*t));
	const char *e2fsck = find_e2fsck();
	unsigned repaired = 0, checked = 0;
	int rc;

	if (note && notelen)
		note[0] = '\0';
	if (!t)
		return gm_error_set(err, -ENOMEM, "out of memory");
	if (!e2fsck) {
		rc = gm_error_set(err, -ENOENT, "e2fsck (e2fsprogs) is needed to repair the saved edits "
				  "and was not found");
		goto out;
	}
	/* No partition or filesystem gcemount could edit: nothing to repair
	 * (opening the filesystem reports that, if anyone tries). */
	if (gm_partition_probe(fd, disk_size, t, NULL)) {
		rc = 0;
		goto out;
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct gm_partition *p = &t->parts[i];
		char spec[4096 + 64];
		int st;

		if (strncmp(p->fstype, "ext", 3))
			continue;
		snprintf(spec, sizeof(spec), "%s?offset=%" PRIu64, disk_path, p->offset);
		st = run_e2fsck(e2fsck, "-fy", spec, -1);
		if (st < 0) {
			rc = gm_error_set(err, st, "cannot run %s: %s", e2fsck, strerror(-st));
			goto out;
		}
		/* 0 clean, 1 and 2 errors corrected; 4 and up: not repaired. */
		if (st >= 4) {
			char where[32];

			if (p->number)
				snprintf(where, sizeof(where), "partition %d", p->number);
			else
				snprintf(where, sizeof(where), "the disk");
			rc = gm_error_set(err, -EUCLEAN, "e2fsck could not repair the filesystem in %s "
					  "(exit status %d)", where, st);
			goto out;
		}
		checked++;
		repaired += st != 0;
	}
	if (note && notelen && checked)
		snprintf(note, notelen, "%s", repaired ? "e2fsck repaired what the interrupted session "
			 "left half-done" : "e2fsck found the saved filesystem clean");
	rc = 0;
out:
	free(t);
	return rc;
}

int gm_fsck_check(int fd, uint64_t offset, struct gm_error *err)
{
	const char *e2fsck = find_e2fsck();
	char spec[64];
	int st;

	if (!e2fsck)
		return gm_error_set(err, -ENOENT, "e2fsck (e2fsprogs) is needed to check the filesystem "
				    "and was not found");
	/* the disk as e2fsck's descriptor 3: no path needed, nothing else opened */
	snprintf(spec, sizeof(spec), "/dev/fd/3?offset=%" PRIu64, offset);
	st = run_e2fsck(e2fsck, "-fn", spec, fd);
	if (st < 0)
		return gm_error_set(err, st, "cannot run %s: %s", e2fsck, strerror(-st));
	if (st != 0)
		return gm_error_set(err, -EUCLEAN, "e2fsck -fn finds errors (exit status %d)", st);
	return 0;
}
