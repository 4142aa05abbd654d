/* cache.h — the per-image cache directory, its state file and its lock.
 *
 * <root>/<key>/ where root is opts.cache_dir, $XDG_CACHE_HOME/gcemount or
 * ~/.cache/gcemount, and key = 16 hex digits of a 64-bit FNV-1a hash of the
 * image's absolute path + "-" + its (sanitised) basename.
 *
 * The state file is a small "key=value" text, replaced atomically (write a
 * temp file, fsync, rename, fsync the directory) on every change.
 */
#ifndef GM_CACHE_H
#define GM_CACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "editor/error.h"
#include "editor/container/image.h"

enum gm_cache_status {
	GM_CACHE_NONE = 0,     /* no usable cache: extract */
	GM_CACHE_CLEAN,        /* cache == source (identity recorded) */
	GM_CACHE_DIRTY,        /* edits not written back to the source */
	GM_CACHE_STALE,        /* edits exported elsewhere (--output): re-extract */
};

struct gm_cache_state {
	enum gm_cache_status status;
	/* identity of the source image */
	uint64_t dev, ino, size;
	int64_t mtime_ns;
	/* identity of the cache disk when clean (tamper/partial check) */
	uint64_t disk_size;
	int64_t disk_mtime_ns;
	/* who dirtied it, when */
	long pid;
	int64_t since;
	/* dirty since the commit of this operation of the undo log (wal.h), and
	 * the status before it: recovery gives that status back when the
	 * operation turns out not committed */
	uint64_t undo_op;
	enum gm_cache_status prior;
	/* facts of the container, replayed into gm_image_info on reuse */
	int tar_format;
	bool sparse;
	uint64_t data_bytes;
	unsigned members;
	/* dirty while the image was still being read (a lazy open): disk data
	 * below `extracted` is in the cache (synced), the rest must be read
	 * again; boot_id tells whether the machine restarted since (then the
	 * page cache, and what it held, is gone) */
	bool partial;
	uint64_t extracted;
	char boot_id[40];
	/* the cache disk was not fsync'd yet when this was saved: trusted on
	 * the boot that wrote it only (boot_id) */
	bool unsynced;
};

/* Resolves <root>/<key> for abs_path (creating root and the key dir, mode
 * 0700). *out is malloc'd. 0 or -errno with a message. */
int gm_cache_dir(const char *abs_path, const char *root_opt, char **out, struct gm_error *err);

/* A private cache for an image that has no path to key it by (standard
 * input): <root>/stdin-XXXXXX, made afresh (mode 0700); the caller locks it,
 * registers it with tempfiles.h and removes it when done. Leftovers of
 * killed runs (unlocked, over a minute old) are removed first. */
#define GM_CACHE_PRIVATE_PREFIX "stdin-"
int gm_cache_private_dir(const char *name, const char *root_opt, char **out,
			 struct gm_error *err);

/* flock()s <dir>/lock (LOCK_EX or LOCK_SH, non-blocking); on success writes
 * our pid into it (exclusive only) and returns the fd in *fd. -EBUSY with
 * "IMAGE: in use by another gcemount (pid N)" when held. */
int gm_cache_lock(const char *dir, const char *image, bool shared, int *fd,
		  struct gm_error *err);
/* Turns a held exclusive lock into a shared one. 0 or -errno. */
int gm_cache_lock_share(int fd);

/* Loads <dir>/state. 0, -ENOENT (none), -EINVAL (unreadable: treat as none). */
int gm_cache_state_load(const char *dir, struct gm_cache_state *st);
/* Replaces <dir>/state atomically and durably. 0 or -errno. */
int gm_cache_state_save(const char *dir, const struct gm_cache_state *st);
/* Removes <dir>/state (durably). 0 or -errno. */
int gm_cache_state_remove(const char *dir);

/* This boot's id (/proc/sys/kernel/random/boot_id), or "" when unknown. */
void gm_cache_boot_id(char *buf, size_t len);

struct gm_wal_recovery;

/* Before anything else on an image: the operation a killed gcemount left
 * half-done in the undo log <dir>/undo (wal.h) is undone on disk_path (the
 * image itself for a raw disk, locked meanwhile; <dir>/disk.raw for a
 * tarball), and the state file made to say what the cache then holds (the
 * status it had before that operation's commit, the disk's new mtime when
 * clean). Called with the cache locked exclusively. r says what was done.
 * 0 or -errno with err set ("IMAGE: ..." naming image). */
int gm_cache_recover(const char *dir, const char *image, const char *disk_path, bool raw,
		     struct gm_wal_recovery *r, struct gm_error *err);

/* Joins dir + "/" + name into a malloc'd string, or NULL. */
char *gm_path_join(const char *dir, const char *name);
/* Replaces <dir>/<name> with what fill(f, arg) writes (returning 0 or
 * -errno) into <dir>/<name>.tmp: flushed, fsync'd, renamed, the directory
 * fsync'd. The old file stays on any failure. 0 or -errno. */
int gm_file_replace(const char *dir, const char *name, int (*fill)(FILE *f, const void *arg),
		    const void *arg);
/* Removes <dir>/<name>; a missing file is no error. 0 or -errno. */
int gm_file_remove(const char *dir, const char *name);
/* fsync()s a directory / a cache file. 0 or -errno. */
int gm_fsync_dir(const char *dir);
int gm_cache_fsync(int fd);
/* For the fuzz harness only (tests/fuzz/fuzz_tar.c, a cache in a temp
 * directory that dies with the process): the two above do nothing from
 * then on. Nothing else may call it. */
void gm_cache_test_no_fsync(void);

#endif
