/* fs_name.c — finding a name in a directory as the kernel does: the exact
 * bytes, or in a casefolded directory (ext4 casefold, chattr +F) the name
 * equal after Unicode normalisation and case folding — libext2fs's own
 * (ext2fs_casefold_cmp, the filesystem's encoding); a name that is not
 * valid UTF-8 only matches itself, byte for byte, as in the kernel. */
#include "editor/fs/fs_htree.h"
#include "editor/fs/fs_inode.h"

#include <errno.h>
#include <string.h>

bool gm_fsi_casefolded(const struct gm_fs *fs, const struct ext2_inode_large *dinode)
{
	return (dinode->i_flags & EXT4_CASEFOLD_FL) && fs->e2fs->encoding;
}

bool gm_fsi_name_eq(const struct gm_fs *fs, bool casefold, const char *stored, size_t slen,
		    const char *name, size_t len)
{
	if (slen == len && !memcmp(stored, name, len))
		return true;
	return casefold && ext2fs_casefold_cmp(fs->e2fs->encoding, (const unsigned char *)stored, slen,
					       (const unsigned char *)name, len) == 0;
}

struct find_ctx {
	const struct gm_fs *fs;
	const char *name;
	size_t len;
	gm_ino_t ino;
	char *stored;
};

static int find_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *d, int offset, int blocksize,
		   char *buf, void *priv)
{
	struct find_ctx *c = priv;
	size_t n = (size_t)ext2fs_dirent_name_len(d);

	(void)dir; (void)entry; (void)offset; (void)blocksize; (void)buf;
	if (!d->inode || !gm_fsi_name_eq(c->fs, true, d->name, n, c->name, c->len))
		return 0;
	c->ino = d->inode;
	if (c->stored) {
		memcpy(c->stored, d->name, n);
		c->stored[n] = '\0';
	}
	return DIRENT_ABORT;
}

int gm_fsi_find(struct gm_fs *fs, gm_ino_t dir, const char *name, gm_ino_t *ino, char *stored)
{
	struct ext2_inode_large dinode;
	size_t len = strlen(name);
	ext2_ino_t found = 0;
	bool casefold = false;
	errcode_t e;
	int rc;

	if (strcmp(name, ".") && strcmp(name, "..")) {
		memset(&dinode, 0, sizeof(dinode));
		if (!ext2fs_read_inode_full(fs->e2fs, dir, (struct ext2_inode *)&dinode, sizeof(dinode)) &&
		    LINUX_S_ISDIR(dinode.i_mode)) {
			gm_ino_t hit = 0;

			casefold = gm_fsi_casefolded(fs, &dinode);
			rc = gm_fs_htree_lookup(fs, dir, &dinode, name, len, &hit, stored);
			if (rc == -ENOENT)
				return -ENOENT;
			if (rc == 0) {
				*ino = hit;
				return 0;
			}
		}
	}
	if (casefold) {
		struct find_ctx c = { fs, name, len, 0, stored };

		e = ext2fs_dir_iterate2(fs->e2fs, dir, 0, NULL, find_cb, &c);
		if (e)
			return gm_fs_fail_ext2(fs, e, name);
		if (!c.ino)
			return -ENOENT;
		*ino = c.ino;
		return 0;
	}
	e = ext2fs_lookup(fs->e2fs, dir, name, (int)len, NULL, &found);
	if (e == EXT2_ET_FILE_NOT_FOUND)
		return -ENOENT;
	if (e)
		return gm_fs_fail_ext2(fs, e, name);
	if (stored)
		memcpy(stored, name, len + 1);
	*ino = found;
	return 0;
}
