/* fsck.h — repairing what an interrupted session left in a cached disk.
 *
 * libext2fs keeps bitmaps and group summaries in memory until it flushes; a
 * session killed mid-edit leaves the cached filesystem the way a crash
 * leaves a non-journalled one. Before such edits are resumed, e2fsck (from
 * e2fsprogs, already a dependency) repairs each ext2/3/4 partition of the
 * disk, exactly as after a crash. May block for as long as e2fsck runs. */
#ifndef GM_FSCK_H
#define GM_FSCK_H

#include <stddef.h>
#include <stdint.h>

#include "editor/error.h"

/* Runs `e2fsck -fy` on every ext partition of the disk file disk_path (open
 * as fd, disk_size bytes). note (may be NULL) gets one line: what was done.
 * 0 when every filesystem is clean afterwards (repaired or not); -EUCLEAN
 * when e2fsck could not repair one; -ENOENT when e2fsck is missing. */
int gm_fsck_repair(int fd, const char *disk_path, uint64_t disk_size, char *note, size_t notelen,
		   struct gm_error *err);

/* Runs `e2fsck -fn` (checks, changes nothing) on the ext2/3/4 filesystem at
 * byte offset of the disk open as fd. 0 when clean; -EUCLEAN when e2fsck
 * finds errors (err says so, with its exit status); -ENOENT when e2fsck is
 * missing; another -errno when it cannot run. */
int gm_fsck_check(int fd, uint64_t offset, struct gm_error *err);

#endif
