/* view_private.h — the gm_view handle, shared by view.c (inode operations)
 * and view_open.c (assembling the mount table). */
#ifndef GM_VIEW_PRIVATE_H
#define GM_VIEW_PRIVATE_H

#include "editor/fs/fat.h"
#include "editor/view/view.h"

#define GM_VIEW_MAX_MEMBERS GM_VIEW_MAX_MOUNTS

struct gm_member {
	struct gm_mount m;            /* the public row */
	struct gm_fs *fs;             /* GM_MOUNT_EXT */
	struct gm_fat *fat;           /* GM_MOUNT_FAT */
	gm_vino_t covered;            /* the directory it is mounted on (0: the root) */
	uint64_t root;                /* the member's own root inode number */
};

struct gm_view {
	struct gm_image *img;
	struct gm_partition_table table;
	struct gm_member mem[GM_VIEW_MAX_MEMBERS];   /* [0] is the root; then in mount order */
	size_t n;
	bool read_only;
	struct gm_error err;
	char note[512];
};

static inline gm_vino_t gm_vino(size_t idx, uint64_t local)
{
	return (gm_vino_t)idx << GM_VINO_SHIFT | (local & GM_VINO_LOCAL_MASK);
}

/* Adds a row to the table (0, or -ENOSPC when full). */
int gm_view_add_member(struct gm_view *v, const struct gm_member *m);
void gm_view_note_add(struct gm_view *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
