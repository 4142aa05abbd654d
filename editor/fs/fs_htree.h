/* fs_htree.h — lookup through a directory's hash index (private to
 * editor/fs*.c). */
#ifndef GM_FS_HTREE_H
#define GM_FS_HTREE_H

#include "editor/fs/fs_private.h"

/* Looks name (len bytes, not "." or "..") up in the indexed directory dir
 * whose inode is given (casefolded directories too: fs_name.c). 0 (found,
 * *ino set and the name as stored copied into stored, NAME_MAX+1 bytes, if
 * not NULL), -ENOENT, or -EAGAIN when the index cannot be used (not
 * indexed, unusual hash, damage): then scan linearly. Never records an
 * error on the handle. */
int gm_fs_htree_lookup(struct gm_fs *fs, gm_ino_t dir, struct ext2_inode_large *inode, const char *name,
		       size_t len, gm_ino_t *ino, char *stored);

#endif
