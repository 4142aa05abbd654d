/* path_private.h — the resolver shared by path.c and path_write.c. */
#ifndef GM_PATH_PRIVATE_H
#define GM_PATH_PRIVATE_H

#include <limits.h>
#include <stdbool.h>

#include "editor/view/view.h"

struct gm_walk {
	gm_vino_t ino;             /* the final inode (0 when missing) */
	gm_vino_t dir;             /* directory holding the final name (0: none, e.g. "/") */
	char name[NAME_MAX + 1];  /* final name after following links ("" for "/") */
	bool trailing_slash;      /* the (expanded) path ended in '/' */
};

/* Resolves path inside the image root (see path.h). Following symlinks in the
 * last component when follow_last. 0 with w->ino set; or -ENOENT with w->dir
 * and w->name set when only the final component is missing (w->dir == 0
 * when an earlier one is); or another -errno. */
int gm_path_walk(struct gm_view *v, const char *path, bool follow_last, struct gm_walk *w);

/* Attributes of ino, which must be a regular file (path names it in the
 * message otherwise). 0, -EISDIR, -EINVAL or the getattr error. */
int gm_path_regular_stat(struct gm_view *v, gm_vino_t ino, const char *path, struct stat *st);

#endif
