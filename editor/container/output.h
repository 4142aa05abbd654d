/* output.h — where a finished image goes, and how it gets there safely.
 *
 * A target is one of:
 *   - a regular file, or a path that does not exist yet (REPLACE): the bytes
 *     go to a temp file beside it (".<name>.gcemount-XXXXXX", O_EXCL, mode
 *     and, where permitted, owner of the file it replaces), which is
 *     fsync'd, renamed over the target, and the directory fsync'd. On any
 *     failure or gm_output_abort() the temp file is removed and the target
 *     untouched. Nothing but a regular file is ever renamed over.
 *   - "-" (standard output), a FIFO or a character device (STREAM): written
 *     straight through, no temp file, no rename. A failure midway leaves an
 *     incomplete stream; the caller reports it.
 * A symlink is followed (as cp and GNU tar do; a dangling one is refused, as
 * cp does). Refused with a message: a directory (-EISDIR), a block device or
 * socket (-EINVAL), a read-only file (mode without any write bit) or one the
 * caller may not write (-EACCES), a directory that is missing (-ENOENT) or
 * read-only (-EROFS / -EACCES) for a REPLACE target, standard output that is
 * a terminal (-EINVAL).
 * Temp files are registered with tempfiles.h while they exist.
 */
#ifndef GM_OUTPUT_H
#define GM_OUTPUT_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "editor/error.h"

enum gm_output_kind {
	GM_OUTPUT_REPLACE = 0,
	GM_OUTPUT_STREAM,
};

struct gm_output_target {
	enum gm_output_kind kind;
	char path[PATH_MAX];   /* REPLACE: the file to create or replace (symlinks
				* resolved); STREAM: the path to open, or "-" */
	bool exists;           /* REPLACE: path exists (its mode/owner are kept) */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	int fd;                /* STREAM "-": the fd to write (standard output) */
};

/* Classifies and checks target ("-" = standard output, written to stdout_fd;
 * pass STDOUT_FILENO unless the caller moved it). image names the image in
 * messages. Nothing is created or opened. 0 or -errno with the message. */
int gm_output_resolve(const char *image, const char *target, int stdout_fd,
		      struct gm_output_target *t, struct gm_error *err);

/* Checks that path (an existing image file) may be changed in place: a
 * regular file with a write bit that the caller may write and, unless
 * edit_only (a raw disk is edited, never replaced), in a directory the
 * caller may create files in. -EROFS (a read-only mode or filesystem) /
 * -EACCES with a message; advice (may be NULL) ends it, e.g. "give --output
 * FILE to write the result elsewhere". */
int gm_output_check_in_place(const char *path, bool edit_only, const char *advice,
			     struct gm_error *err);

struct gm_output;

/* Starts writing to t: creates the temp file (REPLACE) or opens the stream
 * (a FIFO's open waits for a reader, as GNU tar's does). 0 or -errno. */
int gm_output_open(const struct gm_output_target *t, const char *image,
		   struct gm_output **out, struct gm_error *err);
int gm_output_fd(const struct gm_output *o);
/* The written bytes can be read back from gm_output_fd() (a temp file). */
bool gm_output_rereadable(const struct gm_output *o);
/* What to call it in messages: the temp file, or the stream's name. */
const char *gm_output_name(const struct gm_output *o);
/* Ends it: REPLACE: fsync, rename over the target, fsync the directory;
 * STREAM: fsync where it means something, close. Frees o either way. 0 or
 * -errno with the message (the target untouched when REPLACE fails before
 * the rename). */
int gm_output_commit(struct gm_output *o, struct gm_error *err);
/* Drops it: the temp file removed, the stream closed. Accepts NULL. */
void gm_output_abort(struct gm_output *o);

/* Removes leftover ".<basename>.gcemount-*" temp files beside path (from a
 * killed write-back). Call with the image locked. Returns how many. */
int gm_output_clean_temps(const char *path);

#endif
