/* fs_dir.c — namespace changes: gm_fs_mknod, gm_fs_mkdir, gm_fs_symlink,
 * gm_fs_link, gm_fs_unlink, gm_fs_rmdir, gm_fs_rename.
 *
 * Semantics (kernel-like, root's view): new inodes belong to creds or the
 * handle's default owner; a setgid parent hands down its group (and the bit,
 * to subdirectories). Device numbers use the kernel's old 8:8 encoding in
 * i_block[0] when they fit, else the new one in i_block[1]. New entries go
 * through ext2fs_link (which maintains htree indexes in e2fsprogs >= 1.46),
 * a full directory is grown with ext2fs_expand_dir. The last unlink frees the
 * inode at once (data, xattr block reference, bitmap, dtime): keeping
 * unlinked-but-open files alive is the caller's business. Encrypted and
 * casefolded directories are refused (-EOPNOTSUPP): their names need the key
 * or Unicode folding. */
#include "editor/fs/fs_inode.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* 0 and *ino set (and the name as stored, which differs in case in a
 * casefolded directory, into stored if not NULL: NAME_MAX+1 bytes),
 * -ENOENT (no message recorded), or another -errno. */
static int find(struct gm_fs *fs, gm_ino_t dir, const char *name, gm_ino_t *ino, char *stored)
{
	return gm_fsi_find(fs, dir, name, ino, stored);
}

/* Common checks before adding dir/name: writable, valid name, editable
 * directory, name not taken. */
static int prepare_new(struct gm_fs *fs, gm_ino_t dir, const char *name,
		       struct ext2_inode_large *dinode)
{
	gm_ino_t ino;
	int rc;

	struct ext2_inode_large d;
	char *bad = NULL;

	if (!dinode)
		dinode = &d;
	if ((rc = gm_fsi_writable(fs)) || (rc = gm_fsi_check_name(fs, name)) ||
	    (rc = gm_fsi_dir_editable(fs, dir, dinode)))
		return rc;
	/* a casefolded directory in strict mode takes valid UTF-8 only (the
	 * kernel says EINVAL) */
	if (gm_fsi_casefolded(fs, dinode) &&
	    (fs->e2fs->super->s_encoding_flags & EXT4_ENC_STRICT_MODE_FL) &&
	    ext2fs_check_encoded_name(fs->e2fs->encoding, (char *)name, strlen(name), &bad))
		return gm_fs_fail(fs, -EINVAL, "'%s' is not valid UTF-8 (a casefolded directory in "
				  "strict mode)", name);
	rc = find(fs, dir, name, &ino, NULL);
	if (rc == 0)
		return gm_fs_fail(fs, -EEXIST, "'%s' already exists", name);
	if (rc != -ENOENT)
		return rc;
	return 0;
}

/* Owner of a new inode: creds or the handle's default, with the group
 * inherited from a setgid parent (and setgid kept on subdirectories). */
static struct gm_creds new_owner(struct gm_fs *fs, const struct ext2_inode_large *dinode,
				 const struct gm_creds *creds, mode_t *mode)
{
	struct gm_creds c = creds ? *creds : fs->owner;

	if (dinode->i_mode & S_ISGID) {
		c.gid = inode_gid(*dinode);
		if (S_ISDIR(*mode))
			*mode |= S_ISGID;
	}
	return c;
}

static void encode_rdev(struct ext2_inode_large *inode, dev_t rdev)
{
	unsigned ma = major(rdev), mi = minor(rdev);

	if (ma < 256 && mi < 256) {
		inode->i_block[0] = (ma << 8) | mi;     /* old 16-bit encoding */
		inode->i_block[1] = 0;
	} else {
		inode->i_block[0] = 0;
		inode->i_block[1] = (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
	}
}

static int mknod_op(struct gm_fs *fs, gm_ino_t dir, const char *name, mode_t mode,
		dev_t rdev, const struct gm_creds *creds, gm_ino_t *ino_out)
{
	struct ext2_inode_large dinode, inode;
	struct gm_creds owner;
	gm_ino_t ino;
	int rc;

	if ((mode & S_IFMT) == 0)
		mode |= S_IFREG;
	switch (mode & S_IFMT) {
	case S_IFREG: case S_IFIFO: case S_IFCHR: case S_IFBLK: case S_IFSOCK:
		break;
	default:
		return gm_fs_fail(fs, -EINVAL, "mknod: unsupported file type 0%o",
				  (unsigned)(mode & S_IFMT));
	}
	rc = prepare_new(fs, dir, name, &dinode);
	if (rc)
		return rc;
	mode &= S_IFMT | 07777;
	owner = new_owner(fs, &dinode, creds, &mode);
	rc = gm_fsi_new(fs, dir, mode, &owner, &ino, &inode);
	if (rc)
		return rc;
	if (S_ISCHR(mode) || S_ISBLK(mode)) {
		encode_rdev(&inode, rdev);
		rc = gm_fsi_write(fs, ino, &inode);
	}
	if (!rc)
		rc = gm_fsi_add_entry(fs, dir, name, ino, gm_fsi_ftype(mode));
	if (rc) {
		struct gm_error keep = fs->err;

		gm_fsi_free(fs, ino, &inode);
		fs->err = keep;
		return rc;
	}
	if (ino_out)
		*ino_out = ino;
	return 0;
}

/* ext2fs_mkdir / ext2fs_symlink allocate and link in one go; a full
 * directory is expanded and the call retried. */
static errcode_t with_room(struct gm_fs *fs, gm_ino_t dir, const char *name, const char *target)
{
	errcode_t rc;

	if (gm_fs_txn_save_imap(fs))
		return EXT2_ET_NO_MEMORY;
	for (int tries = 0; ; tries++) {
		rc = target ? ext2fs_symlink(fs->e2fs, dir, 0, name, target)
			    : ext2fs_mkdir(fs->e2fs, dir, 0, name);
		if (rc != EXT2_ET_DIR_NO_SPACE || tries > 0)
			return rc;
		if (gm_fsi_expand_dir_ok(fs, dir))
			return EXT2_ET_DIR_CORRUPTED;
		rc = ext2fs_expand_dir(fs->e2fs, dir);
		if (rc)
			return rc;
	}
}

/* Sets owner, mode bits and all times of a freshly made dir or symlink. */
static int finish_new(struct gm_fs *fs, gm_ino_t dir, const char *name, mode_t mode,
		      const struct gm_creds *owner, gm_ino_t *ino_out)
{
	struct ext2_inode_large inode;
	gm_ino_t ino = 0;
	int rc;

	rc = find(fs, dir, name, &ino, NULL);
	if (rc == -ENOENT)
		return gm_fs_fail(fs, -EIO, "'%s' missing right after creation", name);
	if (rc || (rc = gm_fsi_read(fs, ino, &inode)))
		return rc;
	inode.i_mode = (__u16)((inode.i_mode & LINUX_S_IFMT) | (mode & 07777));
	gm_fsi_set_uid(&inode, owner->uid);
	gm_fsi_set_gid(&inode, owner->gid);
	/* i_extra_isize stays as libext2fs set it: in-inode xattrs (inline
	 * data) start right after it. */
	gm_fsi_touch(&inode, GM_T_ATIME | GM_T_MTIME | GM_T_CTIME | GM_T_CRTIME);
	rc = gm_fsi_write(fs, ino, &inode);
	if (!rc)
		rc = gm_fsi_touch_ino(fs, dir, GM_T_MTIME | GM_T_CTIME);
	if (!rc && ino_out)
		*ino_out = ino;
	return rc;
}

static int mkdir_op(struct gm_fs *fs, gm_ino_t dir, const char *name, mode_t mode,
		const struct gm_creds *creds, gm_ino_t *ino)
{
	struct ext2_inode_large dinode;
	struct gm_creds owner;
	unsigned before;
	errcode_t err;
	int rc;

	rc = prepare_new(fs, dir, name, &dinode);
	if (rc)
		return rc;
	if (dinode.i_links_count >= EXT2_LINK_MAX - 1 &&
	    !ext2fs_has_feature_dir_nlink(fs->e2fs->super))
		return gm_fs_fail(fs, -EMLINK, "directory %u has too many subdirectories", dir);
	mode = S_IFDIR | (mode & 07777);
	owner = new_owner(fs, &dinode, creds, &mode);
	err = with_room(fs, dir, name, NULL);
	if (err)
		return gm_fs_fail_ext2(fs, err, "make directory");
	/* ext2fs_mkdir counts the parent up blindly; past the limit ext4
	 * (dir_nlink) stores 1, "too many to count". */
	before = dinode.i_links_count;
	if ((rc = gm_fsi_read(fs, dir, &dinode)))
		return rc;
	if (before == 1 || dinode.i_links_count >= EXT2_LINK_MAX) {
		dinode.i_links_count = 1;
		if ((rc = gm_fsi_write(fs, dir, &dinode)))
			return rc;
	}
	return finish_new(fs, dir, name, mode, &owner, ino);
}

static int symlink_op(struct gm_fs *fs, gm_ino_t dir, const char *name, const char *target,
		  const struct gm_creds *creds, gm_ino_t *ino)
{
	struct ext2_inode_large dinode;
	struct gm_creds owner;
	mode_t mode = S_IFLNK | 0777;
	size_t len;
	errcode_t err;
	int rc;

	rc = prepare_new(fs, dir, name, &dinode);
	if (rc)
		return rc;
	len = target ? strlen(target) : 0;
	if (len == 0)
		return gm_fs_fail(fs, -ENOENT, "empty symlink target");
	if (len >= fs->e2fs->blocksize)
		return gm_fs_fail(fs, -ENAMETOOLONG, "symlink target is %zu bytes (max %u)", len,
				  fs->e2fs->blocksize - 1);
	owner = new_owner(fs, &dinode, creds, &mode);
	err = with_room(fs, dir, name, target);
	if (err)
		return gm_fs_fail_ext2(fs, err, "make symlink");
	return finish_new(fs, dir, name, mode, &owner, ino);
}

static int link_op(struct gm_fs *fs, gm_ino_t ino, gm_ino_t newdir, const char *newname)
{
	struct ext2_inode_large inode;
	int rc;

	rc = prepare_new(fs, newdir, newname, NULL);
	if (rc || (rc = gm_fsi_read(fs, ino, &inode)))
		return rc;
	if (LINUX_S_ISDIR(inode.i_mode))
		return gm_fs_fail(fs, -EPERM, "cannot hard-link a directory");
	if (inode.i_links_count >= EXT2_LINK_MAX)
		return gm_fs_fail(fs, -EMLINK, "inode %u already has %u links", ino,
				  inode.i_links_count);
	if (inode.i_flags & (EXT2_IMMUTABLE_FL | EXT2_APPEND_FL))
		return gm_fs_fail(fs, -EPERM, "inode %u is immutable or append-only", ino);
	rc = gm_fsi_add_entry(fs, newdir, newname, ino, gm_fsi_ftype(inode.i_mode));
	if (rc || (rc = gm_fsi_read(fs, ino, &inode)))
		return rc;
	inode.i_links_count++;
	gm_fsi_touch(&inode, GM_T_CTIME);
	return gm_fsi_write(fs, ino, &inode);
}

/* Looks up an existing dir/name for removal or renaming; stored (NAME_MAX+1
 * bytes) gets the name as the directory holds it. */
static int existing(struct gm_fs *fs, gm_ino_t dir, const char *name, gm_ino_t *ino,
		    struct ext2_inode_large *inode, char *stored)
{
	int rc;

	if ((rc = gm_fsi_check_name(fs, name)) || (rc = gm_fsi_dir_editable(fs, dir, NULL)))
		return rc;
	rc = find(fs, dir, name, ino, stored);
	if (rc == -ENOENT)
		return gm_fs_fail(fs, -ENOENT, "'%s' does not exist", name);
	if (rc)
		return rc;
	return gm_fsi_read(fs, *ino, inode);
}

static int unlink_op(struct gm_fs *fs, gm_ino_t dir, const char *name)
{
	struct ext2_inode_large inode;
	char stored[NAME_MAX + 1];
	gm_ino_t ino;
	int rc;

	if ((rc = gm_fsi_writable(fs)) || (rc = existing(fs, dir, name, &ino, &inode, stored)))
		return rc;
	if (LINUX_S_ISDIR(inode.i_mode))
		return gm_fs_fail(fs, -EISDIR, "'%s' is a directory", name);
	if (inode.i_flags & (EXT2_IMMUTABLE_FL | EXT2_APPEND_FL))
		return gm_fs_fail(fs, -EPERM, "'%s' is immutable or append-only", name);
	rc = gm_fsi_remove_entry(fs, dir, stored, ino);
	if (rc)
		return rc;
	return gm_fsi_drop_link(fs, ino);
}

static int empty_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *d, int offset,
		    int blocksize, char *buf, void *priv)
{
	int len = ext2fs_dirent_name_len(d);

	(void)dir; (void)entry; (void)offset; (void)blocksize; (void)buf;
	if (d->inode == 0 || (len == 1 && d->name[0] == '.') ||
	    (len == 2 && d->name[0] == '.' && d->name[1] == '.'))
		return 0;
	*(bool *)priv = false;
	return DIRENT_ABORT;
}

static int dir_empty(struct gm_fs *fs, gm_ino_t ino, bool *empty)
{
	errcode_t rc;

	*empty = true;
	rc = ext2fs_dir_iterate2(fs->e2fs, ino, 0, NULL,
				 empty_cb, empty);
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "read directory");
	return 0;
}

static int rmdir_op(struct gm_fs *fs, gm_ino_t dir, const char *name)
{
	struct ext2_inode_large inode;
	char stored[NAME_MAX + 1];
	gm_ino_t ino;
	bool empty;
	int rc;

	if ((rc = gm_fsi_writable(fs)) || (rc = existing(fs, dir, name, &ino, &inode, stored)))
		return rc;
	if (!LINUX_S_ISDIR(inode.i_mode))
		return gm_fs_fail(fs, -ENOTDIR, "'%s' is not a directory", name);
	if (ino == GM_ROOT_INO)
		return gm_fs_fail(fs, -EBUSY, "cannot remove the root directory");
	if ((rc = dir_empty(fs, ino, &empty)))
		return rc;
	if (!empty)
		return gm_fs_fail(fs, -ENOTEMPTY, "directory '%s' is not empty", name);
	if ((rc = gm_fsi_remove_entry(fs, dir, stored, ino)) || (rc = gm_fsi_drop_link(fs, ino)))
		return rc;
	return gm_fsi_dir_nlink(fs, dir, -1);
}

/* -EINVAL if dir is anc or lies below it (walking ".." up to the root). */
static int not_below(struct gm_fs *fs, gm_ino_t dir, gm_ino_t anc)
{
	gm_ino_t cur = dir;
	int rc;

	for (int depth = 0; depth < 4096; depth++) {
		if (cur == anc)
			return gm_fs_fail(fs, -EINVAL, "cannot move a directory into itself");
		if (cur == GM_ROOT_INO)
			return 0;
		rc = find(fs, cur, "..", &cur, NULL);
		if (rc == -ENOENT)
			return gm_fs_fail(fs, -EUCLEAN, "directory without '..'");
		if (rc)
			return rc;
	}
	return gm_fs_fail(fs, -ELOOP, "directory tree too deep or looping");
}

/* A directory moved from olddir to newdir: its ".." and both link counts. */
static int reparent(struct gm_fs *fs, gm_ino_t ino, gm_ino_t olddir, gm_ino_t newdir)
{
	int rc;

	if ((rc = gm_fsi_retarget_entry(fs, ino, "..", newdir, EXT2_FT_DIR)) ||
	    (rc = gm_fsi_dir_nlink(fs, olddir, -1)))
		return rc;
	return gm_fsi_dir_nlink(fs, newdir, +1);
}

static int exchange(struct gm_fs *fs, gm_ino_t olddir, const char *oldname, gm_ino_t src,
		    const struct ext2_inode_large *si, gm_ino_t newdir, const char *newname,
		    gm_ino_t dst, const struct ext2_inode_large *di)
{
	bool sdir = LINUX_S_ISDIR(si->i_mode), ddir = LINUX_S_ISDIR(di->i_mode);
	int rc;

	if (olddir != newdir && ((sdir && (rc = not_below(fs, newdir, src))) ||
				 (ddir && (rc = not_below(fs, olddir, dst)))))
		return rc;
	if ((rc = gm_fsi_retarget_entry(fs, olddir, oldname, dst, gm_fsi_ftype(di->i_mode))) ||
	    (rc = gm_fsi_retarget_entry(fs, newdir, newname, src, gm_fsi_ftype(si->i_mode))))
		return rc;
	if (olddir != newdir) {
		if (sdir && (rc = reparent(fs, src, olddir, newdir)))
			return rc;
		if (ddir && (rc = reparent(fs, dst, newdir, olddir)))
			return rc;
	}
	if ((rc = gm_fsi_touch_ino(fs, olddir, GM_T_MTIME | GM_T_CTIME)) ||
	    (rc = gm_fsi_touch_ino(fs, newdir, GM_T_MTIME | GM_T_CTIME)) ||
	    (rc = gm_fsi_touch_ino(fs, src, GM_T_CTIME)))
		return rc;
	return gm_fsi_touch_ino(fs, dst, GM_T_CTIME);
}

static int rename_op(struct gm_fs *fs, gm_ino_t olddir, const char *oldname,
		 gm_ino_t newdir, const char *newname, unsigned flags)
{
	struct ext2_inode_large si, di;
	char oldstored[NAME_MAX + 1], newstored[NAME_MAX + 1];
	gm_ino_t src, dst = 0;
	bool sdir, empty;
	int rc;

	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE) ||
	    (flags & RENAME_NOREPLACE && flags & RENAME_EXCHANGE))
		return gm_fs_fail(fs, -EINVAL, "rename: unsupported flags 0x%x", flags);
	if ((rc = gm_fsi_writable(fs)) || (rc = existing(fs, olddir, oldname, &src, &si, oldstored)) ||
	    (rc = gm_fsi_check_name(fs, newname)) || (rc = gm_fsi_dir_editable(fs, newdir, NULL)))
		return rc;
	/* the names as the directories hold them (casefolded directories) */
	oldname = oldstored;
	rc = find(fs, newdir, newname, &dst, newstored);
	if (rc == 0)
		newname = newstored;
	if (rc && rc != -ENOENT)
		return rc;
	if (rc == 0 && (rc = gm_fsi_read(fs, dst, &di)))
		return rc;
	if (dst && (flags & RENAME_NOREPLACE))
		return gm_fs_fail(fs, -EEXIST, "'%s' already exists", newname);
	if (!dst && (flags & RENAME_EXCHANGE))
		return gm_fs_fail(fs, -ENOENT, "'%s' does not exist", newname);
	if (dst == src)
		return 0;       /* same file (or hard links of it): nothing to do */
	if (flags & RENAME_EXCHANGE)
		return exchange(fs, olddir, oldname, src, &si, newdir, newname, dst, &di);

	sdir = LINUX_S_ISDIR(si.i_mode);
	if (sdir && olddir != newdir && (rc = not_below(fs, newdir, src)))
		return rc;
	if (dst) {
		bool ddir = LINUX_S_ISDIR(di.i_mode);

		if (sdir && !ddir)
			return gm_fs_fail(fs, -ENOTDIR, "'%s' is not a directory", newname);
		if (!sdir && ddir)
			return gm_fs_fail(fs, -EISDIR, "'%s' is a directory", newname);
		if (ddir) {
			if ((rc = dir_empty(fs, dst, &empty)))
				return rc;
			if (!empty)
				return gm_fs_fail(fs, -ENOTEMPTY, "directory '%s' is not empty",
						  newname);
		}
		if ((rc = gm_fsi_retarget_entry(fs, newdir, newname, src, gm_fsi_ftype(si.i_mode))) ||
		    (rc = gm_fsi_touch_ino(fs, newdir, GM_T_MTIME | GM_T_CTIME)) ||
		    (rc = gm_fsi_drop_link(fs, dst)))
			return rc;
		if (ddir && (rc = gm_fsi_dir_nlink(fs, newdir, -1)))
			return rc;
	} else if ((rc = gm_fsi_add_entry(fs, newdir, newname, src, gm_fsi_ftype(si.i_mode)))) {
		return rc;
	}
	if ((rc = gm_fsi_remove_entry(fs, olddir, oldname, src)))
		return rc;
	if (sdir && olddir != newdir && (rc = reparent(fs, src, olddir, newdir)))
		return rc;
	return gm_fsi_touch_ino(fs, src, GM_T_CTIME);
}

int gm_fs_mknod(struct gm_fs *fs, gm_ino_t dir, const char *name, mode_t mode,
		dev_t rdev, const struct gm_creds *creds, gm_ino_t *ino_out)
{
	int rc = gm_fs_txn_begin(fs);

	if (rc)
		return rc;
	return gm_fs_txn_end(fs, mknod_op(fs, dir, name, mode, rdev, creds, ino_out), "mknod");
}

int gm_fs_mkdir(struct gm_fs *fs, gm_ino_t dir, const char *name, mode_t mode,
		const struct gm_creds *creds, gm_ino_t *ino)
{
	int rc = gm_fs_txn_begin(fs);

	if (rc)
		return rc;
	return gm_fs_txn_end(fs, mkdir_op(fs, dir, name, mode, creds, ino), "mkdir");
}

int gm_fs_symlink(struct gm_fs *fs, gm_ino_t dir, const char *name, const char *target,
		  const struct gm_creds *creds, gm_ino_t *ino)
{
	int rc = gm_fs_txn_begin(fs);

	if (rc)
		return rc;
	return gm_fs_txn_end(fs, symlink_op(fs, dir, name, target, creds, ino), "symlink");
}

int gm_fs_link(struct gm_fs *fs, gm_ino_t ino, gm_ino_t newdir, const char *newname)
{
	int rc = gm_fs_txn_begin(fs);

	if (rc)
		return rc;
	return gm_fs_txn_end(fs, link_op(fs, ino, newdir, newname), "link");
}

int gm_fs_unlink(struct gm_fs *fs, gm_ino_t dir, const char *name)
{
	int rc = gm_fs_txn_begin(fs);

	if (rc)
		return rc;
	return gm_fs_txn_end(fs, unlink_op(fs, dir, name), "unlink");
}

int gm_fs_rmdir(struct gm_fs *fs, gm_ino_t dir, const char *name)
{
	int rc = gm_fs_txn_begin(fs);

	if (rc)
		return rc;
	return gm_fs_txn_end(fs, rmdir_op(fs, dir, name), "rmdir");
}

int gm_fs_rename(struct gm_fs *fs, gm_ino_t olddir, const char *oldname,
		 gm_ino_t newdir, const char *newname, unsigned flags)
{
	int rc = gm_fs_txn_begin(fs);

	if (rc)
		return rc;
	return gm_fs_txn_end(fs, rename_op(fs, olddir, oldname, newdir, newname, flags), "rename");
}
