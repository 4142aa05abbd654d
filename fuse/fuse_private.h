/* fuse_private.h — shared by fuse/ops.c and fuse/session.c only. */
#ifndef GM_FUSE_PRIVATE_H
#define GM_FUSE_PRIVATE_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <pthread.h>

#include "fuse/gmfuse.h"

/* Attribute and entry cache lifetime: nobody else changes this filesystem. */
#define GM_FUSE_TIMEOUT 86400.0
/* Largest request asked of the kernel (it may grant less). */
#define GM_FUSE_MAX_IO (1u << 20)
/* Where files unlinked while still open wait for their last close. */
#define GM_FUSE_ORPHANS ".gcemount-orphans"

struct gm_fuse_open {
	gm_vino_t ino;
	unsigned count;     /* open file handles */
	unsigned hidden;    /* names moved to the orphan directory: <ino>.<k> */
};

struct gm_fuse {
	struct gm_view *fs;
	struct fuse_session *se;
	pthread_mutex_t lock;
	char *mountpoint;
	bool mounted;
	bool read_only;
	bool allow_other;
	bool writeback_cache;
	uid_t mounter;
	unsigned long errors;
	gm_fuse_log_fn log;
	void *log_priv;
	struct gm_fuse_open *opens;
	size_t nopens, capopens;
	gm_vino_t orphan_dir[GM_VIEW_MAX_MOUNTS];   /* per mounted filesystem; 0 until needed */
	char *iobuf;               /* read buffer, GM_FUSE_MAX_IO bytes */
};

extern const struct fuse_lowlevel_ops gm_fuse_ops;
/* The view inode FUSE's root stands for (set by gm_fuse_mount). */
extern gm_vino_t gm_fuse_root_vino;

/* fuse/orphans.c */
bool gm_fuse_hidden_name(gm_vino_t dir, const char *name);
int gm_fuse_open_inc(struct gm_fuse *f, gm_vino_t ino);
/* At the last close, removes the orphaned names of ino. */
int gm_fuse_open_dec(struct gm_fuse *f, gm_vino_t ino);
/* If dir/name is a file still open, moves it to the orphan directory and
 * returns 1 (*hid_ino set); 0 if nothing to do; -errno. */
int gm_fuse_hide_if_open(struct gm_fuse *f, gm_vino_t dir, const char *name, gm_vino_t *hid_ino);
/* Puts back the name gm_fuse_hide_if_open() just moved (a failed rename). */
void gm_fuse_unhide(struct gm_fuse *f, gm_vino_t ino, gm_vino_t dir, const char *name);
/* Removes every orphan (and the orphan directory); called with the lock held
 * at the start and end of a session. 0 or -errno. */
int gm_fuse_purge_orphans(struct gm_fuse *f);
void gm_fuse_logf(struct gm_fuse *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
