/* fs_private.h — the gm_fs handle, shared by editor/fs*.c and path.c only. */
#ifndef GM_FS_PRIVATE_H
#define GM_FS_PRIVATE_H

#include <ext2fs/ext2fs.h>

#include "editor/fs/fs.h"

struct gm_undo;

/* One open operation (fs_txn.c): libext2fs's in-memory state when it began. */
struct gm_fs_level {
	struct ext2_super_block super, orig_super;
	void *gd;                      /* copy of e2fs->group_desc */
	size_t gd_size;
	int flags;                     /* e2fs->flags */
	unsigned long long io_written; /* the channel's bytes_written */
	ext2fs_inode_bitmap imap;      /* the inode bitmap, once libext2fs may change it */
	size_t imap_pos;               /* ... as it was at this point of the inode log */
	size_t ilog_first;             /* first inode-bitmap change of this level */
	ext2fs_block_bitmap bmap;      /* the block bitmap, once blocks may be freed, */
	size_t bmap_pos;               /* ... as it was at this point of the block log */
	size_t blog_first;             /* first block-bitmap change of this level */
	bool untracked;                /* a change the log could not record */
	ext2fs_block_bitmap vbmap;     /* verify mode: the bitmaps at the start */
	ext2fs_inode_bitmap vimap;
};

/* A change of the block bitmap inside an operation. */
struct gm_fs_blk_change {
	blk64_t blk, num;
	int inuse;                     /* +1 allocated, -1 freed */
};

/* A change of the inode bitmap inside an operation (ours: gm_fsi_new,
 * gm_fsi_free). */
struct gm_fs_ino_change {
	ext2_ino_t ino;
	int inuse;                     /* +1 allocated, -1 freed */
};

struct gm_fs {
	ext2_filsys e2fs;
	struct gm_image *img;
	struct gm_partition_table table;
	struct gm_partition part;      /* the one opened */
	bool read_only;
	struct gm_creds owner;         /* default owner of new inodes */
	struct gm_error err;           /* last failure */
	char note[256];
	/* operations and their undo (fs_txn.c) */
	struct gm_undo *undo;          /* the image's disk-level undo log */
	struct gm_fs_level *lv;
	unsigned depth, lvcap;
	struct gm_fs_blk_change *blog;
	size_t blog_n, blog_cap;
	struct gm_fs_ino_change *ilog;
	size_t ilog_n, ilog_cap;
	bool pend;                     /* the last ext2fs_new_range answer */
	blk64_t pend_blk, pend_len;
	bool verify;                   /* GM_FS_VERIFY_UNDO=1: check every rollback */
	bool damaged;                  /* an operation ended in an inconsistency */
	char damage[GM_ERRMSG_MAX];
};

/* fs_check.c: geometry libext2fs relies on, as e2fsck checks it first.
 * 0, or -EUCLEAN with why (one phrase) set. */
int gm_fs_check_super(ext2_filsys e2, char *why, size_t len);
int gm_fs_check_groups(ext2_filsys e2, char *why, size_t len);

/* fs_txn.c: every mutator of fs.h runs between these two. begin: 0 or
 * -errno. end: commits when rc >= 0, else rolls the operation back; an
 * inconsistency (-EUCLEAN, -EIO, a failed rollback) marks the session
 * damaged, naming op. Returns rc (or the rollback's error). */
int gm_fs_txn_begin(struct gm_fs *fs);
int gm_fs_txn_end(struct gm_fs *fs, int rc, const char *op);
/* Installs the allocation hooks on a freshly opened read-write e2fs and
 * takes the image's undo log. 0 or -errno. */
int gm_fs_txn_attach(struct gm_fs *fs);
/* Rolls back whatever is still open and drops the undo log. */
void gm_fs_txn_detach(struct gm_fs *fs);
/* Before libext2fs changes the inode bitmap on its own (ext2fs_mkdir,
 * ext2fs_symlink): keeps it as it is now. 0 or -ENOMEM (message recorded). */
int gm_fs_txn_save_imap(struct gm_fs *fs);
/* Before anything of libext2fs's that may free blocks (it frees what damaged
 * metadata names even when it is free already, which no log of changes can
 * undo): keeps the block bitmap as it is now. 0 or -ENOMEM. */
int gm_fs_txn_save_bmap(struct gm_fs *fs);
/* Our own change of the inode bitmap (ext2fs_inode_alloc_stats2 of an inode
 * that really changes state: checked by the caller), undone by a rollback
 * without any copy of the bitmap. Blocks we free ourselves (checked in use
 * first) need nothing: the allocation hooks log them. 0 or -ENOMEM. */
int gm_fs_txn_note_inode(struct gm_fs *fs, gm_ino_t ino, int inuse);

/* Records err on the handle and returns the errno (negative). */
int gm_fs_fail_ext2(struct gm_fs *fs, long errcode, const char *what);
int gm_fs_fail(struct gm_fs *fs, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
