/* mount_session.h — what cmd_mount.c (mount, -u) shares with cmd_shell.c
 * (shell, apply --run): one session's paths and options, and its messages. */
#ifndef GM_CLI_MOUNT_SESSION_H
#define GM_CLI_MOUNT_SESSION_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli/cli.h"
#include "fuse/gmfuse.h"

struct gm_mount_session {
	struct gm_cli_common c;
	struct gm_fuse_config fc;
	char image[PATH_MAX];
	char mountpoint[PATH_MAX];
	char cache[PATH_MAX];
	char output[PATH_MAX];
	char lock_path[PATH_MAX + 64];    /* "" for a launcher's /dev/fd/N */
	char status_path[PATH_MAX + 64];  /* "": no status file */
	char log_path[PATH_MAX + 64];
	int lock_fd;
	bool foreground;
	bool in_log;      /* stderr is the log file */
	bool tty;         /* progress on the terminal */
	unsigned last_pct;
};

/* in made absolute (realpath when it exists) into out. */
void gm_mount_absolute(const char *in, char *out, size_t size);
/* The cache directory, as editor/container/image.c chooses it. */
void gm_mount_cache_dir(const char *given, char *out, size_t size);
/* "-" as the image or --output: a mount needs files. Says so (what: "a
 * mount", "shell", ...) and returns true. */
bool gm_mount_refuse_stdio(const char *image, const struct gm_cli_common *c, const char *what);
/* Fills s->image, s->cache, s->output from image and s->c (made absolute). */
void gm_mount_paths(struct gm_mount_session *s, const char *image);
/* Parses one -o argument into fc; prints and returns -1 on an unknown one. */
int gm_mount_parse_o(struct gm_fuse_config *fc, const char *arg);
/* Help lines for -o. */
extern const char gm_mount_o_help[];

void gm_mount_status_write(struct gm_mount_session *s, const char *state, int exitcode,
			   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* One log line: timestamped in the log file, "gcemount: " on a terminal. */
void gm_mount_logf(struct gm_mount_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* gm_fuse_set_log() hook; priv is the session. */
void gm_mount_log_hook(void *priv, const char *msg);
/* gm_cli_open() with the session's progress sink. */
int gm_mount_open_image(struct gm_mount_session *s, struct gm_image **img, struct gm_view **v);
/* Prints "cannot mount: <err>; without FUSE use ..." and returns
 * GM_EXIT_NOFUSE. */
int gm_mount_error(const struct gm_error *err);

#endif
