/* fs_private.h — the gm_fs handle, shared by editor/fs*.c and path.c only. */
#ifndef GM_FS_PRIVATE_H
#define GM_FS_PRIVATE_H

#include <ext2fs/ext2fs.h>

#include "editor/fs/fs.h"

struct gm_fs {
	ext2_filsys e2fs;
	struct gm_image *img;
	struct gm_partition_table table;
	struct gm_partition part;      /* the one opened */
	bool read_only;
	struct gm_creds owner;         /* default owner of new inodes */
	struct gm_error err;           /* last failure */
	char note[256];
};

/* Records err on the handle and returns the errno (negative). */
int gm_fs_fail_ext2(struct gm_fs *fs, long errcode, const char *what);
int gm_fs_fail(struct gm_fs *fs, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
