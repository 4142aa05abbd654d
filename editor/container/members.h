/* members.h — the tar members kept beside the cached disk.
 *
 * <cache>/<key>/members/manifest lists every member of the source tarball in
 * order (disk.raw included, as a placeholder), one line each, with names hex
 * encoded; <cache>/<key>/members/<index> holds a regular file's content. The
 * writer replays them unchanged around the new disk.raw entry.
 */
#ifndef GM_MEMBERS_H
#define GM_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>

#include "editor/container/tar_write.h"

struct gm_member {
	struct gm_tar_hdr h;   /* strings owned by the member */
	bool is_disk;          /* the disk.raw slot */
};

struct gm_members {
	struct gm_member *m;
	size_t n, cap;
};

/* Appends a copy of h (strings duplicated). 0 or -ENOMEM. */
int gm_members_add(struct gm_members *ms, const struct gm_tar_hdr *h, bool is_disk);
/* The members directory <dir>/members (malloc'd) and the content path of
 * member i (malloc'd). NULL on -ENOMEM. */
char *gm_members_dir(const char *dir);
char *gm_members_data_path(const char *dir, size_t i);
/* Reads / atomically writes <dir>/members/manifest. 0 or -errno (-EINVAL for
 * a malformed manifest). */
int gm_members_load(const char *dir, struct gm_members *ms);
int gm_members_save(const char *dir, const struct gm_members *ms);
void gm_members_free(struct gm_members *ms);   /* accepts NULL */

#endif
