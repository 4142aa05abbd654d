/* cli.h — shared pieces of the gcemount command line (thin glue over
 * editor/, policies/ and fuse/). Only the CLI prints to the user. */
#ifndef GM_CLI_H
#define GM_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "editor/fs/fs.h"
#include "editor/view/view.h"
#include "editor/container/image.h"

/* Exit statuses (documented in README.md and gcemount(1)). */
enum {
	GM_EXIT_OK = 0,
	GM_EXIT_FAIL = 1,        /* the operation failed / a required check failed */
	GM_EXIT_BADIMAGE = 2,    /* the image cannot be read: not a valid image */
	GM_EXIT_BUSY = 3,        /* the image is locked by another gcemount */
	GM_EXIT_WRITEBACK = 4,   /* write-back failed; the input image is untouched */
	GM_EXIT_NOFUSE = 5,      /* FUSE unavailable: cannot mount */
	GM_EXIT_INTERRUPTED = 6, /* edits of an interrupted session wait: --resume or --discard */
	GM_EXIT_USAGE = 64,      /* bad command line */
};

/* Options every image-opening verb accepts. */
struct gm_cli_common {
	const char *cache_dir;     /* --cache DIR */
	int partition;             /* --partition N */
	int root;                  /* --root N */
	bool owner_set;            /* --owner UID:GID */
	uid_t owner_uid;
	gid_t owner_gid;
	const char *output;        /* --output FILE */
	enum gm_tar_format format; /* --format oldgnu|gnu */
	bool no_sparsify;          /* --no-sparsify */
	enum gm_recover recover;   /* --resume / --discard */
	bool quiet;                /* -q */
	bool force_writeback;      /* write back even with no change (repack) */
	bool no_splice;            /* --no-splice: compress everything anew */
	bool fast;                 /* --fast: faster deflate, larger output */
};

/* getopt_long options shared by the verbs, and their parser: returns 1 if
 * it consumed opt, 0 if opt is not a common option, -1 on a bad value
 * (message printed). Verbs list GM_CLI_COMMON_LONGOPTS in their tables. */
#define GM_OPT_CACHE 1000
#define GM_OPT_PARTITION 1001
#define GM_OPT_OWNER 1002
#define GM_OPT_OUTPUT 1003
#define GM_OPT_FORMAT 1004
#define GM_OPT_NO_SPARSIFY 1005
#define GM_OPT_RESUME 1006
#define GM_OPT_DISCARD 1007
#define GM_OPT_ROOT 1008
#define GM_OPT_NO_SPLICE 1009
#define GM_OPT_FAST 1010
#define GM_CLI_COMMON_LONGOPTS \
	{ "cache", required_argument, NULL, GM_OPT_CACHE }, \
	{ "partition", required_argument, NULL, GM_OPT_PARTITION }, \
	{ "root", required_argument, NULL, GM_OPT_ROOT }, \
	{ "owner", required_argument, NULL, GM_OPT_OWNER }, \
	{ "output", required_argument, NULL, GM_OPT_OUTPUT }, \
	{ "format", required_argument, NULL, GM_OPT_FORMAT }, \
	{ "no-sparsify", no_argument, NULL, GM_OPT_NO_SPARSIFY }, \
	{ "resume", no_argument, NULL, GM_OPT_RESUME }, \
	{ "discard", no_argument, NULL, GM_OPT_DISCARD }, \
	{ "no-splice", no_argument, NULL, GM_OPT_NO_SPLICE }, \
	{ "fast", no_argument, NULL, GM_OPT_FAST }, \
	{ "quiet", no_argument, NULL, 'q' }
int gm_cli_common_opt(struct gm_cli_common *c, int opt, const char *arg);
/* Help text for the common options (one block, for --help). */
extern const char gm_cli_common_help[];

/* Opens image and the view of its filesystems (root, /boot, /boot/efi as
 * its fstab mounts them; --partition N alone). On failure prints one line
 * "gcemount: <message>" and returns the exit status; 0 on success.
 * Writable: the verb's edits are one operation (gm_view_op_begin, exact),
 * which gm_cli_finish keeps or undoes. */
int gm_cli_open(const char *image, const struct gm_cli_common *c, bool writable,
		struct gm_image **img, struct gm_view **v);
/* Ends the verb's operation: writable (the verb succeeded) keeps it, else
 * every change of the verb is undone (disk, cache state), so nothing is
 * written back. Then closes the view and, when writable and something
 * changed (or --output was given), writes the image back — unless an
 * operation of the session ended in an inconsistency and e2fsck -fn finds
 * that filesystem damaged (GM_EXIT_WRITEBACK, one line saying how to
 * repair); then ends the session's operation (gm_cli_op_begin: all this
 * inside it, so a process killed before this point leaves what the next
 * open undoes) and closes img. Prints errors; returns the exit status
 * (GM_EXIT_WRITEBACK when write-back failed or was refused). */
int gm_cli_finish(struct gm_image *img, struct gm_view *v, const struct gm_cli_common *c,
		  bool writable);

/* Waits until the whole image is read (the verbs open it lazily: a listing
 * may come before the gzip trailers are checked) and says whether it was
 * whole: GM_EXIT_OK, or one line ("...; what was printed may be wrong")
 * and GM_EXIT_BADIMAGE. Standard output is flushed first, so what was
 * listed shows while the rest is read. Notes found only then (a damaged
 * backup GPT) are printed. */
int gm_cli_verify(struct gm_image *img);
/* An operation on img failed: prints the line, unless the image turned out
 * damaged (what failed may follow from that): then gm_cli_verify's line is
 * the one. The verb's status must then be gm_cli_verify's (2). */
void gm_cli_op_error(struct gm_image *img, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The session is one operation of the image's undo log (editor/disk/
 * undo.h), from here to the end of gm_cli_finish, and the view's edits one
 * operation inside it: exact for a verb (undone byte for byte). Prints one
 * line and returns GM_EXIT_FAIL, else 0. gm_cli_op_end (gm_cli_finish
 * calls it) keeps or undoes it; 0 or -errno (printed). */
int gm_cli_op_begin(const char *image, struct gm_image *img, struct gm_view *v, bool exact);
int gm_cli_op_end(struct gm_image *img, bool keep);

/* Refuses, before any work, what cannot end well: --resume on a verb that
 * does not write (GM_EXIT_USAGE), "-" as IMAGE of a writing verb without
 * --output (GM_EXIT_USAGE), an --output that is not a file, FIFO or
 * character device, or an image that cannot be replaced in place (mode
 * 0444, read-only place; GM_EXIT_WRITEBACK). With "--output -" it moves
 * standard output aside for the stream (what the verb prints goes to
 * stderr). Prints one line; returns 0 or the exit status. gm_cli_open*
 * call it. */
int gm_cli_preflight(const char *image, const struct gm_cli_common *c, bool writable);
/* Catches SIGINT, SIGTERM, SIGHUP and SIGPIPE: removes the temp files of
 * the container layer (editor/container/tempfiles.h), prints one line
 * saying what is left (not for SIGPIPE), and dies of the signal (exit
 * status 128+N in a shell). The verbs' gm_cli_open calls it; a mount has
 * libfuse's handlers instead. */
void gm_cli_signals_install(const char *image);

/* The same with a progress sink of the caller's (fn may be NULL). */
int gm_cli_open_progress(const char *image, const struct gm_cli_common *c, bool writable,
			 gm_progress_fn fn, void *priv, struct gm_image **img, struct gm_view **v);
/* The view options the common options ask for. */
void gm_cli_view_opts(const struct gm_cli_common *c, bool writable, struct gm_view_opts *o);
/* Maps a -errno from gm_image_open/gm_view_open to an exit status. */
int gm_cli_exit_for_open_error(int rc);

void gm_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One line "gcemount: IMAGE: PATH: problem" for a failure rc (a -errno) on
 * the view: problem is strerror's words in lower case, followed by the
 * filesystem's own detail in parentheses where it says more (no space,
 * damage, refusals), never the path twice. PATH may be NULL. Nothing when
 * the view's image turned out damaged (gm_cli_verify says so). */
void gm_cli_fs_error(const char *image, const char *path, const struct gm_view *v, int rc);

/* Verbs: each parses its own argv (argv[0] is the verb). */
int gm_cmd_ls(int argc, char **argv);
int gm_cmd_cat(int argc, char **argv);
int gm_cmd_put(int argc, char **argv);
int gm_cmd_rm(int argc, char **argv);
int gm_cmd_repack(int argc, char **argv);
int gm_cmd_apply(int argc, char **argv);     /* policies: cli/cmd_apply.c */
int gm_cmd_check(int argc, char **argv);     /* check: cli/cmd_check.c */
/* FUSE (cli/cmd_mount.c): `gcemount [OPTIONS] IMAGE MOUNTPOINT` (argv[0] is
 * the program name) and `gcemount -u MOUNTPOINT`. */
int gm_cmd_mount(int argc, char **argv);
int gm_cmd_unmount(int argc, char **argv);
/* `gcemount shell IMAGE [-- CMD...]` (cli/cmd_shell.c). */
int gm_cmd_shell(int argc, char **argv);
/* `gcemount apply IMAGE --run SCRIPT` (cli/cmd_shell.c): mount, run SCRIPT
 * with the mount point as $1 and in GCEMOUNT_ROOT, unmount and write back;
 * a non-zero exit of SCRIPT aborts and writes nothing. Returns exit status. */
int gm_cmd_apply_run(const char *image, const char *script, const struct gm_cli_common *c);

#endif
