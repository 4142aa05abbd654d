/* image.h — the image container: a GCE image tarball or a raw disk.
 *
 * gm_image_open() gives one disk file descriptor to read and write, whatever
 * the container:
 *   - *.tar.gz / *.tgz (any gzip'd tar holding disk.raw): disk.raw is
 *     extracted, sparse, into a cache file under the cache directory; the other
 *     members are kept and written back unchanged. The input file is never
 *     written to except by gm_image_writeback()'s atomic rename.
 *   - an uncompressed tar or one compressed otherwise (xz, zstd, bzip2):
 *     refused with -EINVAL and one line saying what it is (sniff.h).
 *   - anything else: a raw disk, opened and edited in place.
 *   - the path "-": standard input (not seekable), read once into a private
 *     cache (<cache>/stdin-XXXXXX/) that is removed on close; a gzip'd tar
 *     or a raw disk as above. It cannot be written back in place (write-back
 *     needs an output); it is neither locked nor remembered.
 * The image is locked (non-blocking) for as long as the handle lives; a second
 * open fails with -EBUSY and a message naming the holder.
 *
 * Lazy open (opts.lazy, a first open of a tar.gz): the tarball is read into
 * the cache by a thread of its own and gm_image_open() returns as soon as
 * disk.raw's header is read. The tar stream holds the disk in disk order:
 * a range of the disk is there once the stream has passed it (holes of the
 * sparse map at once). Whoever reads or writes the disk while it arrives
 * calls gm_image_wait() first with gm_image_disk_fd(); gm_image_fd() waits
 * for the whole image instead (the safe default for code that does not
 * wait range by range). The gzip trailers are checked only at the end:
 * gm_image_finish() waits for it and says whether the stream was whole; a
 * damaged one makes every later wait fail with -EIO and is refused by the
 * write-back. Checks that need the whole image (the partition table read
 * from its start only) register with gm_image_after_read().
 *
 * Cache directory layout (one per image, keyed by its absolute path):
 *   <cache>/<key>/disk.raw   sparse copy of the disk
 *   <cache>/<key>/members/   other tar members
 *   <cache>/<key>/state      identity of the source image + clean/dirty flag
 *   <cache>/<key>/lock       flock()ed while open; holds the holder's pid
 *   <cache>/<key>/undo       the undo log of the operation in progress (wal.h;
 *                            for a raw disk too)
 * Opening first undoes an operation a killed gcemount left half-done (the
 * undo log, cache.h gm_cache_recover): a raw disk is put back in place
 * (info.note says so), a tarball's cache as it was before it (no extraction
 * is running then: the log only holds bytes of ranges that had arrived when
 * they were saved; a cache extracted anew drops the log first). A dirty state
 * (edits committed, not written back) left by an interrupted session then
 * makes the open fail with -EAGAIN unless opts.recover says what to do.
 */
#ifndef GM_IMAGE_H
#define GM_IMAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "editor/error.h"
#include "editor/rangeset.h"

struct gm_image;

enum gm_container {
	GM_CONTAINER_RAW = 0,
	GM_CONTAINER_TARGZ,
};

enum gm_tar_format {
	GM_TAR_UNKNOWN = 0,
	GM_TAR_OLDGNU,     /* GNU tar --format=oldgnu (the GCE default) */
	GM_TAR_GNU,        /* GNU tar --format=gnu */
	GM_TAR_PAX,
	GM_TAR_USTAR,
	GM_TAR_OTHER,
};

enum gm_recover {
	GM_RECOVER_REFUSE = 0, /* a dirty cache from an interrupted session: -EAGAIN */
	GM_RECOVER_RESUME,     /* keep the saved edits (write them back later) */
	GM_RECOVER_DISCARD,    /* drop them and start again from the image */
};

/* Progress: stage is a short word ("extract", "write"); done/total in bytes.
 * Called from the thread doing the work; may be NULL. */
typedef void (*gm_progress_fn)(void *priv, const char *stage, uint64_t done, uint64_t total);

struct gm_image_opts {
	const char *cache_dir;   /* NULL: $XDG_CACHE_HOME/gcemount, else ~/.cache/gcemount */
	bool read_only;          /* no edits; a shared lock */
	enum gm_recover recover;
	gm_progress_fn progress;
	void *progress_priv;
	/* Return once disk.raw's header is read; the rest arrives in the
	 * background (see "Lazy open" above). */
	bool lazy;
};

/* Facts about the container, for `check` and messages. */
struct gm_image_info {
	enum gm_container container;
	enum gm_tar_format tar_format;   /* format of the disk.raw entry */
	bool gzip;                       /* the tarball was gzip-compressed */
	bool disk_entry_sparse;          /* disk.raw was a GNU sparse entry */
	uint64_t disk_size;              /* real (apparent) size of disk.raw */
	uint64_t disk_data_bytes;        /* bytes of disk.raw stored as data in the tar */
	uint64_t file_size;              /* size of the image file itself */
	unsigned members;                /* tar members, disk.raw included */
	bool resumed;                    /* edits from an interrupted session were kept */
	bool undone;                     /* a raw disk: an interrupted gcemount's unfinished
					  * edit was undone (note says so) */
	char note[160];                  /* what opening did worth saying (e.g. a repair), or "" */
};

/* Opens path ("-": standard input, see above). On success *out owns the
 * handle (close with gm_image_close).
 * Errors: -ENOENT, -EACCES, -EBUSY (locked), -EAGAIN (interrupted session),
 * -EINVAL (not an image: bad gzip/tar, no disk.raw, ...), -ENOSPC, -EIO; the
 * message in err names the file and the problem. *out untouched on failure. */
int gm_image_open(const char *path, const struct gm_image_opts *opts,
		  struct gm_image **out, struct gm_error *err);

/* The disk: read/write with pread/pwrite. Valid until close. Waits until the
 * whole image is read (gm_image_finish; a damaged stream is only reported
 * there). */
int gm_image_fd(struct gm_image *img);
/* The same descriptor without waiting: every access must be preceded by
 * gm_image_wait() for its range. */
int gm_image_disk_fd(const struct gm_image *img);
/* Blocks until [off, off+len) of the disk has arrived (at once unless the
 * image is still being read). 0, or -EIO when the stream turned out
 * damaged (every later call too). Thread-safe; may block. */
int gm_image_wait(struct gm_image *img, uint64_t off, uint64_t len);
/* Waits until the whole image is read and every gzip trailer and
 * registered check passed (progress is reported meanwhile). 0, or -EIO
 * (damaged: CRC or length mismatch, truncated or corrupt archive, a check
 * that failed) / another -errno with the message in err. Then the image's
 * member count and sizes are final. Repeatable. */
int gm_image_finish(struct gm_image *img, struct gm_error *err);
/* True when the image is all there (never blocks). */
bool gm_image_complete(struct gm_image *img);
/* A check for when the whole image is read: run by the reading thread
 * after the trailers are verified (or at once when it is read already).
 * It gets the disk and its size; returns 0 or -errno with a message (the
 * image then counts as damaged), and may append a note (notelen bytes).
 * free_fn(priv) (may be NULL) at close. 0, the check's failure when it ran
 * at once, or -ENOMEM. */
typedef int (*gm_image_check_fn)(void *priv, int fd, uint64_t disk_size, char *note,
				 size_t notelen, struct gm_error *err);
int gm_image_after_read(struct gm_image *img, gm_image_check_fn fn, void (*free_fn)(void *),
			void *priv);
/* Who to tell (once, from another thread, one line) when the image, still
 * being read, turns out damaged: for a server that logs it while it serves.
 * Returns true (and tells nobody) when it has already: then the caller
 * reports it itself (gm_image_finish has the message). */
bool gm_image_set_notify(struct gm_image *img, void (*fn)(void *priv, const char *msg),
			 void *priv);
/* Notes those checks left ("" if none): worth telling once finished. */
const char *gm_image_late_note(struct gm_image *img);
uint64_t gm_image_disk_size(const struct gm_image *img);
const char *gm_image_path(const struct gm_image *img);
const struct gm_image_info *gm_image_info(const struct gm_image *img);
bool gm_image_read_only(const struct gm_image *img);

/* Records that [off, off+len) of the disk is about to be written, outside
 * any operation of the undo log (editor/disk/undo.h); while the image is
 * still being read it first waits for the range (so the reading never
 * overwrites it). The first call marks the cache dirty on disk (edits wait:
 * GM_TF_DIRTY). 0 or -errno. */
int gm_image_mark_dirty(struct gm_image *img, uint64_t off, uint64_t len);
/* The same inside an operation: the cache is marked dirty on disk before
 * its first write all the same (never a changed cache that passes for
 * clean), but in the name of the operation (gm_image_set_undo_op): until it
 * commits (gm_image_commit_edits) a killed process's recovery gives the
 * prior status back, and GM_TF_DIRTY is not set. It waits for the range
 * too (the undo log has saved its old bytes by then, having waited for them
 * itself: gm_image_wait). 0 or -errno. */
int gm_image_note_write(struct gm_image *img, uint64_t off, uint64_t len);
/* An operation of the undo log commits (called with the handled signals
 * blocked, with its COMMIT record): edits not written back wait in a
 * tar.gz's cache (GM_TF_DIRTY), or are in place on a raw disk
 * (GM_TF_WRITTEN). 0 or -errno: then the operation must not commit. */
int gm_image_commit_edits(struct gm_image *img);
/* The undo log's operation in progress (0: none). A state file saved during
 * it names it, so the recovery of an operation never committed (the process
 * died) knows the state was its doing (cache.h gm_cache_recover). */
void gm_image_set_undo_op(struct gm_image *img, uint64_t op);
/* Where the undo log of this image lives (malloc'd; NULL without a cache
 * directory: then it is a temporary file). 0 or -ENOMEM. */
int gm_image_undo_path(const struct gm_image *img, char **out);
bool gm_image_dirty(const struct gm_image *img);
const struct gm_rangeset *gm_image_dirty_map(const struct gm_image *img);

/* Where the dirty state stands, to go back to it (the undo log's rollback,
 * editor/disk/undo.h): the dirty map, and whether the cache is marked dirty
 * on disk. */
struct gm_image_dirty_mark {
	struct gm_rangeset map;
	bool persisted;
	int status;        /* the cache state's status then (cache.h) */
};
/* Records the current dirty state in m. 0 or -ENOMEM. */
int gm_image_dirty_save(struct gm_image *img, struct gm_image_dirty_mark *m);
/* Goes back to m (its map is taken over; m is left empty): the dirty map,
 * and a cache marked dirty since m was taken gets its former state again
 * (clean, or stale after an --output write-back; the disk fsync'ed first)
 * — the disk holds the same bytes again. 0 or -errno. */
int gm_image_dirty_restore(struct gm_image *img, struct gm_image_dirty_mark *m);
void gm_image_dirty_mark_free(struct gm_image_dirty_mark *m);   /* accepts NULL */

struct gm_writeback_opts {
	/* NULL: replace the image itself. Else a file (created or replaced
	 * atomically; a symlink is followed), or a stream written straight
	 * through: "-" (output_fd, or standard output when 0), a FIFO, a
	 * character device. Anything else is refused (output.h). */
	const char *output;
	int output_fd;
	enum gm_tar_format format;     /* GM_TAR_OLDGNU (default, 0 = oldgnu) or GM_TAR_GNU */
	/* Byte ranges of the disk that hold no data worth keeping (free blocks of
	 * the filesystem); written as holes. NULL or empty: none. */
	const struct gm_rangeset *holes;
	bool force;                    /* write even if nothing changed */
	/* Compression (docs/performance.md): by default the original's deflate
	 * blocks are reused where the tar stream is unchanged (the splice). */
	bool resparsify;               /* free blocks become holes everywhere (repack) */
	bool no_splice;                /* compress everything anew */
	bool fast;                     /* a faster, larger deflate for what is compressed */
	struct gm_writeback_stats *stats;   /* may be NULL: filled on success */
};

/* What a write-back did (for tests and the benchmark). */
struct gm_writeback_stats {
	uint64_t tar_bytes;            /* uncompressed size of the new tar stream */
	uint64_t copied_bytes;         /* of which the splice copied from the original */
	uint64_t out_bytes;            /* size of the new file */
	/* where the original's block boundaries came from: "" (no splice),
	 * "saved" (the index a write-back onto it recorded), "located" (near
	 * the junctions, from the access points), "indexed" (a whole zlib pass) */
	char index_source[12];
};

/* Writes the image back: for a tar.gz, a new sparse old-GNU (or GNU) tar.gz
 * into a temp file beside the target, fsync, rename, fsync the directory; the
 * target is untouched on any failure and the temp file removed (output.h).
 * A stream output is always a tar.gz, written straight through. For a raw
 * disk, fsync (or, with output, a sparse copy / tar.gz by output's name).
 * In place, the image must be replaceable (gm_output_check_in_place: not
 * mode 0444, nor on a read-only filesystem): else -EROFS / -EACCES.
 * Does nothing when nothing changed, unless output or force is given.
 * The tar mtime comes from SOURCE_DATE_EPOCH when set, so equal inputs give
 * byte-identical outputs. It first waits for the whole image and refuses a
 * damaged stream (-EIO). 0 or -errno with the message in err. */
int gm_image_writeback(struct gm_image *img, const struct gm_writeback_opts *opts,
		       struct gm_error *err);

/* Waits until the image is read (if it still is), releases the lock and
 * frees. Edits not written back stay in the cache, marked dirty (see
 * gm_recover). Accepts NULL. */
void gm_image_close(struct gm_image *img);

/* Parses "oldgnu"/"gnu" etc. Returns GM_TAR_UNKNOWN for anything else. */
enum gm_tar_format gm_tar_format_from_name(const char *name);
const char *gm_tar_format_name(enum gm_tar_format f);

#endif
