/* fs.c — see fs.h: opening and closing the filesystem of an image, the
 * handle's messages, free space and statfs. The read operations are in
 * fs_read.c, the write side in fs_write.c, fs_dir.c and fs_xattr.c. */
#include "editor/clock.h"
#include "editor/fs/fs_private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "editor/disk/io_manager.h"
#include "editor/disk/undo.h"

const char *gm_fs_errmsg(const struct gm_fs *fs)
{
	return fs ? gm_error_msg(&fs->err) : "no filesystem";
}

int gm_fs_errcode(const struct gm_fs *fs) { return fs ? fs->err.code : 0; }
const char *gm_fs_note(const struct gm_fs *fs) { return fs->note; }
bool gm_fs_read_only(const struct gm_fs *fs) { return fs->read_only; }
const struct gm_partition *gm_fs_partition(const struct gm_fs *fs) { return &fs->part; }
const struct gm_partition_table *gm_fs_partition_table(const struct gm_fs *fs) { return &fs->table; }

static void note_add(struct gm_fs *fs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_add(struct gm_fs *fs, const char *fmt, ...)
{
	size_t used = strlen(fs->note);
	va_list ap;

	if (used + 3 >= sizeof(fs->note))
		return;
	if (used) {
		memcpy(fs->note + used, "; ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(fs->note + used, sizeof(fs->note) - used, fmt, ap);
	va_end(ap);
}

/* Re-records err's message with the image path in front. */
static int prefix_err(struct gm_error *err, int rc, const char *path)
{
	char msg[GM_ERRMSG_MAX];

	if (!err)
		return rc;
	snprintf(msg, sizeof(msg), "%s", gm_error_msg(err));
	return gm_error_set(err, rc, "%s: %s", path, msg);
}

static int open_e2fs(struct gm_fs *fs, bool rw, struct gm_error *err)
{
	const char *path = gm_image_path(fs->img);
	char name[64];
	int flags = EXT2_FLAG_64BITS | EXT2_FLAG_SKIP_MMP | (rw ? EXT2_FLAG_RW : 0);
	errcode_t e;
	int rc;

	gm_error_init_ext2();
	rc = gm_io_register(fs->img, fs->part.offset, fs->part.size, name, sizeof(name));
	if (rc)
		return gm_error_set(err, rc, "%s: cannot register the disk with libext2fs", path);
	e = ext2fs_open2(name, NULL, flags, 0, 0, gm_io_manager, &fs->e2fs);
	if (e) {
		gm_io_unregister(name);
		fs->e2fs = NULL;
		rc = gm_errno_from_ext2(e);
		if (e == EXT2_ET_UNSUPP_FEATURE)
			return gm_error_set(err, rc, "%s: the filesystem uses features libext2fs does not support",
					    path);
		if (e == EXT2_ET_RO_UNSUPP_FEATURE)
			return gm_error_set(err, -EROFS,
					    "%s: the filesystem uses features libext2fs cannot write; open it read-only",
					    path);
		return gm_error_set(err, rc ? rc : -EIO, "%s: cannot open the ext filesystem: %s", path,
				    gm_ext2_strerror(e));
	}
	{
		char why[160];

		if (gm_fs_check_super(fs->e2fs, why, sizeof(why)) ||
		    (rw && gm_fs_check_groups(fs->e2fs, why, sizeof(why)))) {
			ext2fs_free(fs->e2fs);
			fs->e2fs = NULL;
			return gm_error_set(err, -EUCLEAN, "%s: the filesystem's %s is damaged (%s); "
					    "e2fsck may repair it", path,
					    strncmp(why, "group", 5) ? "superblock" : "group descriptor table",
					    why);
		}
	}
	/* Reproducible output: libext2fs stamps the superblock (and what it
	 * creates itself) with fs->now when set. */
	{
		time_t epoch;

		if (gm_clock_fixed(&epoch))
			fs->e2fs->now = epoch;
	}
	return 0;
}

int gm_fs_open(struct gm_image *img, const struct gm_fs_opts *opts,
	       struct gm_fs **out, struct gm_error *err)
{
	static const struct gm_fs_opts defaults;
	const struct gm_partition *p = NULL;
	const char *path = gm_image_path(img);
	struct gm_fs *fs;
	char why[192];
	bool ro;
	int rc = 0;

	if (!opts)
		opts = &defaults;
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return gm_error_set(err, -ENOMEM, "%s: out of memory", path);
	fs->img = img;
	if (opts->table)
		fs->table = *opts->table;
	else
		rc = gm_partition_probe_image(img, &fs->table, err);
	if (rc) {
		rc = prefix_err(err, rc, path);
		goto fail;
	}
	rc = gm_partition_choose(&fs->table, opts->partition, &p, why, sizeof(why), err);
	if (rc) {
		rc = prefix_err(err, rc, path);
		goto fail;
	}
	fs->part = *p;
	ro = opts->read_only;
	if (!ro && gm_image_read_only(img)) {
		rc = gm_error_set(err, -EROFS, "%s: the image is open read-only; open the filesystem read-only",
				  path);
		goto fail;
	}
	/* Say which partition was taken only when there was a choice to make. */
	if (fs->table.type != GM_PTABLE_NONE && opts->partition == 0 && strstr(why, "the largest of"))
		note_add(fs, "%s", why);
	if (fs->part.needs_recovery) {
		if (!ro) {
			rc = gm_error_set(err, -EROFS,
					  "%s: the journal needs recovery (the filesystem was not cleanly unmounted); "
					  "run e2fsck, or open read-only", path);
			goto fail;
		}
		note_add(fs, "the journal needs recovery: showing the filesystem as last checkpointed, "
			 "without the journal's pending changes");
	}
	/* the image's undo log (its file made now, with a message if it cannot) */
	if (!ro && (rc = gm_undo_get(img, &fs->undo, err))) {
		rc = prefix_err(err, rc, path);
		goto fail;
	}
	rc = open_e2fs(fs, !ro, err);
	if (rc)
		goto fail;
	if (ext2fs_has_feature_journal_needs_recovery(fs->e2fs->super) && !ro) {
		rc = gm_error_set(err, -EROFS,
				  "%s: the journal needs recovery (the filesystem was not cleanly unmounted); "
				  "run e2fsck, or open read-only", path);
		goto fail;
	}
	if ((uint64_t)ext2fs_blocks_count(fs->e2fs->super) * fs->e2fs->blocksize > fs->part.size) {
		if (!ro) {
			rc = gm_error_set(err, -EUCLEAN,
					  "%s: the filesystem (%" PRIu64 " bytes) is larger than its partition "
					  "(%" PRIu64 " bytes); open it read-only", path,
					  (uint64_t)ext2fs_blocks_count(fs->e2fs->super) * fs->e2fs->blocksize,
					  fs->part.size);
			goto fail;
		}
		note_add(fs, "the filesystem is larger than its partition");
	}
	if (fs->e2fs->super->s_state & EXT2_ERROR_FS)
		note_add(fs, "the filesystem has errors recorded; run e2fsck");
	/* (the allocation bitmaps are read at the first change, inside its
	 * operation: gm_fsi_writable; an image opened lazily may have them
	 * late in its stream) */
	if (!ro) {
		rc = gm_fs_txn_attach(fs);
		if (rc) {
			gm_error_set(err, rc, "%s: out of memory", path);
			goto fail;
		}
	}
	fs->read_only = ro;
	if (opts->owner_set)
		fs->owner = (struct gm_creds){ opts->owner_uid, opts->owner_gid };
	*out = fs;
	return 0;
fail:
	gm_fs_txn_detach(fs);
	if (fs->e2fs)
		ext2fs_free(fs->e2fs);
	free(fs);
	return rc;
}

static int flush_op(struct gm_fs *fs)
{
	errcode_t e;

	if (fs->read_only)
		return 0;
	e = ext2fs_write_bitmaps(fs->e2fs);
	if (e)
		return gm_fs_fail_ext2(fs, e, "writing the allocation bitmaps");
	if (fs->e2fs->flags & EXT2_FLAG_DIRTY) {
		e = ext2fs_flush(fs->e2fs);
		if (e)
			return gm_fs_fail_ext2(fs, e, "writing the superblock and group descriptors");
	}
	return 0;
}

int gm_fs_close(struct gm_fs *fs, struct gm_error *err)
{
	errcode_t e;
	int rc = 0;

	if (!fs)
		return 0;
	/* an operation still open is abandoned: undone */
	gm_fs_txn_detach(fs);
	if (fs->e2fs) {
		e = ext2fs_close2(fs->e2fs, 0);
		if (e) {
			rc = gm_error_set(err, gm_errno_from_ext2(e), "%s: closing the filesystem: %s",
					  gm_image_path(fs->img), gm_ext2_strerror(e));
			/* ext2fs_close2 leaves the handle allocated when the flush fails. */
			ext2fs_free(fs->e2fs);
		}
	}
	free(fs);
	return rc;
}

int gm_fs_free_ranges(struct gm_fs *fs, struct gm_rangeset *out)
{
	ext2_filsys e2 = fs->e2fs;
	blk64_t start = e2->super->s_first_data_block;
	blk64_t end = ext2fs_blocks_count(e2->super) - 1;
	uint64_t bs = e2->blocksize;
	errcode_t e;
	int rc;

	if (!e2->block_map) {
		e = ext2fs_read_block_bitmap(e2);
		if (e)
			return gm_fs_fail_ext2(fs, e, "reading the block bitmap");
	}
	while (start <= end) {
		blk64_t zero, set;

		e = ext2fs_find_first_zero_block_bitmap2(e2->block_map, start, end, &zero);
		if (e)
			break;   /* ENOENT: no more free blocks */
		e = ext2fs_find_first_set_block_bitmap2(e2->block_map, zero, end, &set);
		if (e)
			set = end + 1;
		rc = gm_rangeset_add(out, fs->part.offset + zero * bs, (set - zero) * bs);
		if (rc)
			return gm_fs_fail(fs, rc, "free ranges: out of memory");
		start = set;
	}
	return 0;
}

int gm_fs_statfs(struct gm_fs *fs, struct statvfs *sv)
{
	struct ext2_super_block *sb = fs->e2fs->super;
	uint64_t bfree = ext2fs_free_blocks_count(sb), resv = ext2fs_r_blocks_count(sb);

	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = fs->e2fs->blocksize;
	sv->f_frsize = fs->e2fs->blocksize;
	sv->f_blocks = ext2fs_blocks_count(sb) - sb->s_first_data_block;
	sv->f_bfree = bfree;
	sv->f_bavail = bfree > resv ? bfree - resv : 0;
	sv->f_files = sb->s_inodes_count;
	sv->f_ffree = sb->s_free_inodes_count;
	sv->f_favail = sb->s_free_inodes_count;
	memcpy(&sv->f_fsid, sb->s_uuid, sizeof(sv->f_fsid) < sizeof(sb->s_uuid) ? sizeof(sv->f_fsid)
										      : sizeof(sb->s_uuid));
	sv->f_flag = fs->read_only ? ST_RDONLY : 0;
	sv->f_namemax = EXT2_NAME_LEN;
	return 0;
}

int gm_fs_flush(struct gm_fs *fs)
{
	int rc = gm_fs_txn_begin(fs);

	if (rc)
		return rc;
	return gm_fs_txn_end(fs, flush_op(fs), "flush");
}
