/* undo.h — an undo log for the bytes of one image's disk.
 *
 * Every filesystem opened on an image writes its disk through the
 * io_manager (io_manager.h), and the io_manager asks this log first. While a
 * level is open (gm_undo_begin), the old contents of bytes about to be
 * overwritten are saved once per level; gm_undo_rollback writes them back,
 * so the disk holds exactly what it held when the level began, and the
 * image's dirty map and cache state are as they were too (a verb that
 * fails leaves nothing to write back). gm_undo_commit keeps the changes.
 *
 * Levels nest: a FUSE request, a verb spanning many path calls, or `apply`
 * spanning all its rules is one outer level; each mutating call of the
 * filesystem layer opens its own inner level inside it. An inner rollback
 * undoes only what happened since that inner level began; what an inner
 * level saved belongs to its parent once it commits.
 *
 * Unless the outermost level is exact, bytes need no saving when what they
 * held does not matter to any open level: blocks the filesystem allocated
 * inside the level that were free when every open level began
 * (gm_undo_note_alloc). Restoring the allocation bitmaps (the filesystem
 * layer's job) frees them again, so writing file data into new blocks costs
 * nothing here. Bytes freed inside an open level and allocated again are not
 * fresh (gm_undo_note_free): their old contents are saved. All-zero saved
 * bytes take no room (a sparse cache's free space is holes).
 *
 * The saved bytes live in the image's write-ahead log (editor/container/
 * wal.h), a file in its cache directory: each reaches the file before the
 * bytes it protects are overwritten, so when the process dies in the middle
 * of an operation, the next gm_image_open undoes it from the file, byte for
 * byte (all levels: the operation as a whole). Only the outermost commit
 * ends an operation there; the image's cache state turns dirty (committed
 * edits wait) at that commit, not before. One log per image, shared by every
 * filesystem of it (a view of root + /boot undoes as one), reference
 * counted. Not thread-safe: callers serialise, as for libext2fs. */
#ifndef GM_UNDO_H
#define GM_UNDO_H

#include <stdbool.h>
#include <stdint.h>

#include "editor/error.h"
#include "editor/container/image.h"

struct gm_undo;

/* The log of img's disk (created on first use, one per image, its file
 * opened then). Each get takes a reference; drop it with gm_undo_put.
 * 0 or -errno with err (may be NULL) set. */
int gm_undo_get(struct gm_image *img, struct gm_undo **out, struct gm_error *err);
void gm_undo_put(struct gm_undo *u);   /* accepts NULL */

/* Opens a level. exact (for the outermost level; inner ones inherit it):
 * the rollback gives back every byte, those of blocks allocated inside the
 * level from free space included (a failed verb leaves the cache byte for
 * byte as it was); without it they are not saved (fast: FUSE writes). An
 * exact operation also keeps its log safe against power loss: the log is
 * flushed (fdatasync) before each disk write that follows new records, and
 * at the commit the disk before the COMMIT record. 0 or -ENOMEM. */
int gm_undo_begin(struct gm_undo *u, bool exact);
/* Closes the innermost level keeping its changes (the outermost commit
 * forgets the saved bytes). 0, or -EINVAL when no level is open. */
int gm_undo_commit(struct gm_undo *u);
/* Writes back every byte saved in the innermost level (newest first), and
 * closes it. For the outermost level, the image's dirty map and cache
 * state go back to what they were too. 0 or -errno with err set: then the
 * disk may hold a mix (the caller marks the session damaged). */
int gm_undo_rollback(struct gm_undo *u, struct gm_error *err);
/* Number of open levels. */
unsigned gm_undo_depth(const struct gm_undo *u);
/* Bytes saved so far in the open levels (for tests and limits). */
uint64_t gm_undo_saved_bytes(const struct gm_undo *u);

/* io_manager: [off, off+len) of the disk is about to be written. Waits for
 * the range to be there (gm_image_wait: an image opened lazily is still
 * arriving, and old bytes read before they arrive would be wrong), saves
 * what must be saved (in the log, durably when the level asks so) and records the
 * range in the image's dirty map; 0 or -errno (then the write must not
 * happen). With no level open, marks the image dirty at once
 * (gm_image_mark_dirty). */
int gm_undo_prepare_write(struct gm_undo *u, uint64_t off, uint64_t len);
/* Filesystem layer, around one write of file data overwritten in place:
 * the writes inside [off, off+len) need no saving while the only level open
 * is a non-exact outermost one (a lone FUSE write: failing, it leaves that
 * data torn, as a crash would, never the metadata; the caller does whatever
 * may fail with -ENOSPC first). len 0 ends it. */
void gm_undo_torn_ok(struct gm_undo *u, uint64_t off, uint64_t len);
/* Filesystem layer: [off, off+len) was allocated / freed inside the
 * innermost level (disk bytes). 0 or -ENOMEM. No-op with no level open. */
int gm_undo_note_alloc(struct gm_undo *u, uint64_t off, uint64_t len);
int gm_undo_note_free(struct gm_undo *u, uint64_t off, uint64_t len);

#endif
