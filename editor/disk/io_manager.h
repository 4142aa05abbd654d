/* io_manager.h — libext2fs block I/O onto a byte range of the image's disk.
 *
 * The filesystem lives at [offset, offset+size) of the disk in
 * gm_image_disk_fd(img); every read and write waits for its range first
 * (gm_image_wait: a lazy open). Every write goes through the image's undo
 * log (editor/disk/undo.h) or gm_image_mark_dirty() first, so the image
 * knows exactly which ranges changed. Reads/writes outside the range
 * fail with EXT2_ET_LLSEEK_FAILED / short I/O rather than touching other
 * partitions. */
#ifndef GM_IO_MANAGER_H
#define GM_IO_MANAGER_H

#include <stdint.h>

#include <ext2fs/ext2fs.h>

#include "editor/container/image.h"

/* Registers (img, offset, size) and returns in name (>= 64 bytes) the device
 * name to pass to ext2fs_open2() together with gm_io_manager. The
 * registration lives until the channel opened with that name is closed.
 * 0 or -ENOMEM. */
int gm_io_register(struct gm_image *img, uint64_t offset, uint64_t size, char *name, size_t namelen);
/* Drops a registration whose channel was never opened (e.g. ext2fs_open2
 * failed early). Unknown or already-taken names are ignored. */
void gm_io_unregister(const char *name);
extern io_manager gm_io_manager;

#endif
