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

struct gm_fuse_name;

struct gm_fuse {
	struct gm_view *fs;
	struct fuse_session *se;
	pthread_mutex_t lock;
	char *mountpoint;
	bool mounted;
	bool read_only;
	bool allow_other;
	bool writeback_cache;
	bool sigint_to_child;
	uid_t mounter;
	bool map_ids;              /* the mounting user's id view (ids.c) */
	uid_t map_uid;
	gid_t map_gid;
	bool contain_links;        /* symlinks.c: targets kept inside the mount */
	struct gm_fuse_name *names;  /* names.c */
	size_t nnames, capnames;
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

/* fuse/ops.c: shared by the handlers. lock_req takes f->lock; reply_err
 * replies -rc (logging unexpected errors) and releases it. */
gm_vino_t gm_fuse_to_gm(fuse_ino_t ino);
struct gm_fuse *gm_fuse_lock_req(fuse_req_t req);
void gm_fuse_unlock(struct gm_fuse *f);
void gm_fuse_reply_err(struct gm_fuse *f, fuse_req_t req, int rc, const char *op, gm_vino_t ino);

/* fuse/xattr_ops.c */
void gm_fuse_op_setxattr(fuse_req_t req, fuse_ino_t fino, const char *name, const char *value,
			 size_t size, int flags);
void gm_fuse_op_getxattr(fuse_req_t req, fuse_ino_t fino, const char *name, size_t size);
void gm_fuse_op_listxattr(fuse_req_t req, fuse_ino_t fino, size_t size);
void gm_fuse_op_removexattr(fuse_req_t req, fuse_ino_t fino, const char *name);
/* Sets ino's access ACL (value as stored: ids mapped in) as the VFS does:
 * the mode from it, the xattr only when it says more; both as one
 * operation. 0 or -errno. Called with the lock held. */
int gm_fuse_set_acl_access(struct gm_fuse *f, gm_vino_t ino, const void *value, size_t size,
			   int flags);

/* fuse/orphans.c */
bool gm_fuse_hidden_name(gm_vino_t dir, const char *name);
int gm_fuse_open_inc(struct gm_fuse *f, gm_vino_t ino);
/* At the last close, removes the orphaned names of ino. */
int gm_fuse_open_dec(struct gm_fuse *f, gm_vino_t ino);
/* If dir/name is a file still open, moves it to the orphan directory and
 * returns 1 (*hid_ino set); 0 if nothing to do; -errno. Inside an
 * operation of the request (gm_fuse_request_begin). */
int gm_fuse_hide_if_open(struct gm_fuse *f, gm_vino_t dir, const char *name, gm_vino_t *hid_ino);
/* A request that makes more than one change is one operation of the view
 * (gm_view_op_begin): begin keeps what the session remembers (the orphan
 * directories); end(rc < 0) undoes every change of the request on disk and
 * in that memory (hid: the inode gm_fuse_hide_if_open moved, or 0), so a
 * failure of the second call leaves nothing of the first. end returns rc. */
struct gm_fuse_request {
	gm_vino_t orphan_dir[GM_VIEW_MAX_MOUNTS];
	bool begun;
};
int gm_fuse_request_begin(struct gm_fuse *f, struct gm_fuse_request *r);
int gm_fuse_request_end(struct gm_fuse *f, struct gm_fuse_request *r, int rc, gm_vino_t hid);
/* unlink(2) of dir/name as one operation (an open file is moved to the
 * orphan directory instead): 0 or -errno; *ino gets the inode (0 if
 * hidden). Called with the lock held. */
int gm_fuse_unlink(struct gm_fuse *f, gm_vino_t dir, const char *name, gm_vino_t *ino);
/* rename(2) (flags RENAME_*) as one operation: a replaced file still open
 * is moved to the orphan directory first. 0 or -errno; *src and *dst get
 * the inodes the names had (0: none). Called with the lock held. */
int gm_fuse_rename(struct gm_fuse *f, gm_vino_t dir, const char *name, gm_vino_t ndir,
		   const char *newname, unsigned flags, gm_vino_t *src, gm_vino_t *dst);
/* Removes every orphan (and the orphan directory); called with the lock held
 * at the start and end of a session. 0 or -errno. */
int gm_fuse_purge_orphans(struct gm_fuse *f);
/* Names of ino moved to the orphan directory while it is open. */
unsigned gm_fuse_hidden_links(const struct gm_fuse *f, gm_vino_t ino);
void gm_fuse_logf(struct gm_fuse *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* fuse/ids.c: the owners the kernel is shown (see there) and what comes in. */
uid_t gm_fuse_uid_out(const struct gm_fuse *f, uid_t uid);
gid_t gm_fuse_gid_out(const struct gm_fuse *f, gid_t gid);
uid_t gm_fuse_uid_in(const struct gm_fuse *f, uid_t uid);
gid_t gm_fuse_gid_in(const struct gm_fuse *f, gid_t gid);
/* system.posix_acl_access or _default. */
bool gm_fuse_is_acl(const char *name);
/* Number of entries of an ACL xattr value, or -EINVAL. */
int gm_fuse_acl_check(const void *value, size_t size);
/* Maps the user and group entries of a valid ACL value in place (out: as
 * shown; else as stored). */
void gm_fuse_acl_map(const struct gm_fuse *f, void *value, size_t size, bool out);
/* Turns the image's attributes of ino into what the kernel is shown. */
void gm_fuse_present(const struct gm_fuse *f, gm_vino_t ino, struct stat *st);

/* fuse/names.c: the (parent, name) pairs of directories and symlinks the
 * kernel was given. note: ino seen as parent/name (-EIO for a directory
 * already seen in another directory: a damaged image); gone: that name was
 * removed; moved: renamed. */
int gm_fuse_names_note(struct gm_fuse *f, gm_vino_t ino, gm_vino_t parent, const char *name,
		       bool dir);
void gm_fuse_names_gone(struct gm_fuse *f, gm_vino_t ino, gm_vino_t parent, const char *name);
void gm_fuse_names_moved(struct gm_fuse *f, gm_vino_t ino, gm_vino_t parent, const char *name,
			 gm_vino_t newparent, const char *newname);
/* The directory of ino's only known name; 0 if none or several. */
gm_vino_t gm_fuse_names_parent(const struct gm_fuse *f, gm_vino_t ino);
/* Names from the root down to dir (pointers into the table, valid until the
 * next change): *n of them. -EIO if a directory on the way is unknown. */
int gm_fuse_names_path(const struct gm_fuse *f, gm_vino_t dir, const char **comps,
		       size_t max, size_t *n);
void gm_fuse_names_free(struct gm_fuse *f);

/* fuse/symlinks.c: the target of symlink ino as shown (NUL-terminated in
 * out); its length or -errno. */
ssize_t gm_fuse_link_target(struct gm_fuse *f, gm_vino_t ino, char *out, size_t size);

#endif
