/* io_manager.c — see io_manager.h. A libext2fs io_manager whose "device" is
 * the byte range [offset, offset+size) of the image's disk file descriptor.
 *
 * Block I/O goes straight through with pread/pwrite (the kernel page cache
 * does the caching). Every read first waits for its range and every write
 * is announced first — to the image's undo log (gm_undo_prepare_write:
 * the old bytes saved, the dirty map told), or to the image alone for a
 * write outside any operation (gm_image_mark_dirty) — and both wait for
 * the range too: an image opened lazily is still arriving. The write-back
 * knows what changed from the same calls. Nothing outside the registered
 * range is ever read or written.
 *
 * Registration: gm_io_register() stores (img, offset, size) under a unique
 * name "gm-io:<n>" in a small mutex-protected table; the channel opened with
 * that name takes the entry over, and the entry is gone from the table from
 * then on (a name opens at most one channel). */
#include "editor/disk/io_manager.h"
#include "editor/disk/undo.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GM_IO_PREFIX "gm-io:"
#define GM_IO_MAX_REG 64

struct gm_io_reg {
	bool used;
	unsigned long id;
	struct gm_image *img;
	uint64_t offset, size;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gm_io_reg reg_table[GM_IO_MAX_REG];
static unsigned long reg_next_id = 1;

struct gm_io_priv {
	struct gm_image *img;
	int fd;
	uint64_t offset, size;
	bool rw;
	struct gm_undo *undo;          /* the image's undo log (rw only) */
	struct struct_io_stats stats;
};

int gm_io_register(struct gm_image *img, uint64_t offset, uint64_t size, char *name, size_t namelen)
{
	int rc = -ENOMEM;

	if (!img || !name || namelen < 32 || offset + size < offset)
		return -EINVAL;
	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < GM_IO_MAX_REG; i++) {
		if (reg_table[i].used)
			continue;
		reg_table[i] = (struct gm_io_reg){ true, reg_next_id++, img, offset, size };
		snprintf(name, namelen, GM_IO_PREFIX "%lu", reg_table[i].id);
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

/* Takes the registration named name out of the table (into *out). */
static bool reg_take(const char *name, struct gm_io_reg *out)
{
	char *end;
	unsigned long id;
	bool found = false;

	if (!name || strncmp(name, GM_IO_PREFIX, strlen(GM_IO_PREFIX)))
		return false;
	errno = 0;
	id = strtoul(name + strlen(GM_IO_PREFIX), &end, 10);
	if (errno || *end || id == 0)
		return false;
	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < GM_IO_MAX_REG; i++) {
		if (reg_table[i].used && reg_table[i].id == id) {
			*out = reg_table[i];
			reg_table[i].used = false;
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	return found;
}

void gm_io_unregister(const char *name)
{
	struct gm_io_reg r;

	(void)reg_take(name, &r);
}

static errcode_t gm_io_open(const char *name, int flags, io_channel *channel)
{
	struct gm_io_reg r;
	struct gm_io_priv *p = NULL;
	io_channel io = NULL;
	errcode_t rc;

	if (!reg_take(name, &r))
		return EXT2_ET_BAD_DEVICE_NAME;
	if ((flags & IO_FLAG_RW) && gm_image_read_only(r.img))
		return EXT2_ET_RO_FILSYS;
	rc = ext2fs_get_memzero(sizeof(*io), &io);
	if (rc)
		goto fail;
	rc = ext2fs_get_memzero(sizeof(*p), &p);
	if (rc)
		goto fail;
	rc = ext2fs_get_mem(strlen(name) + 1, &io->name);
	if (rc)
		goto fail;
	strcpy(io->name, name);
	if ((flags & IO_FLAG_RW) && gm_undo_get(r.img, &p->undo, NULL)) {
		rc = EXT2_ET_NO_MEMORY;
		goto fail;
	}
	p->img = r.img;
	p->fd = gm_image_disk_fd(r.img);   /* reads wait for their range (lazy open) */
	p->offset = r.offset;
	p->size = r.size;
	p->rw = flags & IO_FLAG_RW;
	p->stats.num_fields = 2;
	io->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	io->manager = gm_io_manager;
	io->block_size = 1024;
	io->refcount = 1;
	io->flags = 0;
	io->private_data = p;
	*channel = io;
	return 0;
fail:
	if (io)
		ext2fs_free_mem(&io->name);
	ext2fs_free_mem(&p);
	ext2fs_free_mem(&io);
	return rc;
}

static errcode_t gm_io_close(io_channel io)
{
	struct gm_io_priv *p;

	if (!io || io->magic != EXT2_ET_MAGIC_IO_CHANNEL)
		return EXT2_ET_MAGIC_IO_CHANNEL;
	if (--io->refcount > 0)
		return 0;
	p = io->private_data;
	gm_undo_put(p->undo);
	ext2fs_free_mem(&p);
	ext2fs_free_mem(&io->name);
	ext2fs_free_mem(&io);
	return 0;
}

static errcode_t gm_io_set_blksize(io_channel io, int blksize)
{
	if (blksize <= 0 || blksize > (1 << 20))
		return EXT2_ET_INVALID_ARGUMENT;
	io->block_size = blksize;
	return 0;
}

/* Byte range of a request: count > 0 blocks, count < 0 means -count bytes. */
static errcode_t req_range(io_channel io, unsigned long long block, int count,
			   uint64_t *off, size_t *len)
{
	struct gm_io_priv *p = io->private_data;
	uint64_t bytes, start;

	if (count == 0) {
		*len = 0;
		*off = 0;
		return 0;
	}
	bytes = count < 0 ? (uint64_t)(-(int64_t)count) : (uint64_t)count * (uint64_t)io->block_size;
	if (block > UINT64_MAX / (uint64_t)io->block_size)
		return EXT2_ET_LLSEEK_FAILED;
	start = block * (uint64_t)io->block_size;
	if (start > p->size || bytes > p->size - start)
		return EXT2_ET_LLSEEK_FAILED;
	*off = p->offset + start;
	*len = (size_t)bytes;
	return 0;
}

static errcode_t gm_io_read_blk64(io_channel io, unsigned long long block, int count, void *data)
{
	struct gm_io_priv *p = io->private_data;
	uint64_t off = 0;
	size_t len = 0, done = 0;
	errcode_t rc;

	rc = req_range(io, block, count, &off, &len);
	if (!rc)
		rc = (errcode_t)-gm_image_wait(p->img, off, len);
	if (rc)
		goto err;
	while (done < len) {
		ssize_t n = pread(p->fd, (char *)data + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = errno;
			goto err;
		}
		if (n == 0) {
			/* Past the end of the file: a sparse tail reads as zeros. */
			memset((char *)data + done, 0, len - done);
			break;
		}
		done += (size_t)n;
	}
	p->stats.bytes_read += len;
	return 0;
err:
	if (len && rc != EXT2_ET_LLSEEK_FAILED)
		memset(data, 0, len);
	if (io->read_error)
		return io->read_error(io, (unsigned long)block, count, data, len, (int)done, rc);
	return rc;
}

static errcode_t gm_io_write_at(io_channel io, uint64_t off, size_t len, const void *data)
{
	struct gm_io_priv *p = io->private_data;
	size_t done = 0;
	int rc;

	if (!p->rw)
		return EXT2_ET_RO_FILSYS;
	/* The old bytes first, into the undo log (an operation in progress may
	 * be undone, in this process or by the next open), and the dirty map;
	 * then the write. */
	rc = p->undo ? gm_undo_prepare_write(p->undo, off, len) : gm_image_mark_dirty(p->img, off, len);
	if (rc)
		return (errcode_t)-rc;
	while (done < len) {
		ssize_t n = pwrite(p->fd, (const char *)data + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EXT2_ET_SHORT_WRITE;
		done += (size_t)n;
	}
	p->stats.bytes_written += len;
	return 0;
}

static errcode_t gm_io_write_blk64(io_channel io, unsigned long long block, int count,
				   const void *data)
{
	uint64_t off = 0;
	size_t len = 0;
	errcode_t rc;

	rc = req_range(io, block, count, &off, &len);
	if (!rc)
		rc = gm_io_write_at(io, off, len, data);
	if (rc && io->write_error)
		return io->write_error(io, (unsigned long)block, count, data, len, 0, rc);
	return rc;
}

static errcode_t gm_io_read_blk(io_channel io, unsigned long block, int count, void *data)
{
	return gm_io_read_blk64(io, block, count, data);
}

static errcode_t gm_io_write_blk(io_channel io, unsigned long block, int count, const void *data)
{
	return gm_io_write_blk64(io, block, count, data);
}

static errcode_t gm_io_write_byte(io_channel io, unsigned long offset, int count, const void *data)
{
	struct gm_io_priv *p = io->private_data;

	if (count < 0 || offset > p->size || (uint64_t)count > p->size - offset)
		return EXT2_ET_LLSEEK_FAILED;
	return gm_io_write_at(io, p->offset + offset, (size_t)count, data);
}

static errcode_t gm_io_flush(io_channel io)
{
	/* Everything is already in the file; durability is the image's
	 * write-back business (it fsyncs). */
	return 0;
}

static errcode_t gm_io_set_option(io_channel io, const char *option, const char *arg)
{
	return EXT2_ET_INVALID_ARGUMENT;
}

static errcode_t gm_io_get_stats(io_channel io, io_stats *stats)
{
	struct gm_io_priv *p = io->private_data;

	if (stats)
		*stats = &p->stats;
	return 0;
}

/* Discard and zeroout both write zeros: the image's write-back turns free
 * blocks into holes anyway (gm_fs_free_ranges). */
static errcode_t gm_io_zeroout(io_channel io, unsigned long long block, unsigned long long count)
{
	static const char zeros[65536];
	uint64_t off, bytes, done = 0;
	size_t len;
	errcode_t rc;

	if (count > INT32_MAX)
		return EXT2_ET_LLSEEK_FAILED;
	rc = req_range(io, block, (int)count, &off, &len);
	if (rc)
		return rc;
	bytes = len;
	while (done < bytes) {
		size_t chunk = bytes - done > sizeof(zeros) ? sizeof(zeros) : (size_t)(bytes - done);

		rc = gm_io_write_at(io, off + done, chunk, zeros);
		if (rc)
			return rc;
		done += chunk;
	}
	return 0;
}

static struct struct_io_manager gm_io_manager_struct = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "gcemount image I/O manager",
	.open = gm_io_open,
	.close = gm_io_close,
	.set_blksize = gm_io_set_blksize,
	.read_blk = gm_io_read_blk,
	.write_blk = gm_io_write_blk,
	.flush = gm_io_flush,
	.write_byte = gm_io_write_byte,
	.set_option = gm_io_set_option,
	.get_stats = gm_io_get_stats,
	.read_blk64 = gm_io_read_blk64,
	.write_blk64 = gm_io_write_blk64,
	.zeroout = gm_io_zeroout,
};

io_manager gm_io_manager = &gm_io_manager_struct;
