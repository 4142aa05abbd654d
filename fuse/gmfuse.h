/* gmfuse.h — a FUSE (libfuse3, low level) view of one gm_view (the image).
 *
 * The fuse/ layer holds no format knowledge: every handler decodes its
 * arguments, calls one editor function (editor/view/view.h) and replies once.
 * FUSE's root inode 1 is the view's root (gm_view_root); every other FUSE
 * inode number is the view inode (editor/view/view.h: the root filesystem,
 * /boot and /boot/efi as the image's fstab mounts them).
 *
 * Life cycle (the caller owns image, fs and any daemonising):
 *   gm_fuse_mount()   checks the mount point and FUSE, creates the session
 *                     and mounts (the kernel queues requests from then on);
 *   gm_fuse_serve()   answers requests until the filesystem is unmounted
 *                     (fusermount3 -u, umount) or gm_fuse_exit()/a signal;
 *   gm_fuse_unmount() unmounts if still mounted and frees; accepts NULL.
 * After gm_fuse_serve() returns the fs has been flushed (gm_view_flush); the
 * caller then closes it and writes the image back.
 *
 * Permissions. Without allow_other only the mounting user can reach the
 * mount (the kernel enforces it) and may do anything inside, whatever the
 * image's owners and modes say (a fakeroot view: it is their image); new
 * files get the fs's default owner (gm_view_opts: 0:0 or --owner). Owners are
 * shown mapped (GM_FUSE_IDS_MAPPED, fuse/ids.c): image uid/gid 0 as the
 * mounting user's and back, so the kernel's own owner checks (ACLs, sticky
 * directories) pass for the image's root files. With allow_other the
 * kernel applies normal permission checks (default_permissions) for
 * everyone, owners are shown as stored, and files created by a user other
 * than the mounting one are owned by that user.
 *
 * Symlinks (GM_FUSE_SYMLINKS_CONTAINED, fuse/symlinks.c): the kernel, not
 * the image, resolves them, so a target that could leave the mount is shown
 * as the equivalent path relative to the link, resolved inside the image.
 *
 * Mount point: a directory (refused when not empty unless nonempty), or
 * "/dev/fd/N": a /dev/fuse descriptor a launcher opened and mounted (the
 * launcher unmounts; serving ends then). Always nosuid,nodev.
 *
 * Threads: one thread serves (fuse_session_loop); a mutex still guards every
 * editor call, as libext2fs is not thread-safe.
 */
#ifndef GM_FUSE_H
#define GM_FUSE_H

#include <stdbool.h>

#include "editor/error.h"
#include "editor/view/view.h"

struct gm_fuse;

struct gm_fuse_config {
	const char *mountpoint;
	const char *fsname;     /* shown in /proc/mounts (the image path) */
	bool read_only;         /* -o ro */
	bool allow_other;       /* -o allow_other (+ default_permissions) */
	bool debug;             /* libfuse request tracing on stderr */
	bool writeback_cache;   /* kernel write-back cache (default on) */
	bool nonempty;          /* -o nonempty: mount over a non-empty directory */
	bool sigint_to_child;   /* a child owns Ctrl-C: serve ignores SIGINT/SIGQUIT */
	enum gm_fuse_ids {
		GM_FUSE_IDS_MAPPED = 0, /* image 0 <-> the mounting user (no allow_other) */
		GM_FUSE_IDS_IMAGE,      /* -o ids=image: the image's numbers */
	} ids;
	enum gm_fuse_symlinks {
		GM_FUSE_SYMLINKS_CONTAINED = 0, /* targets kept inside the mount */
		GM_FUSE_SYMLINKS_RAW,           /* -o symlinks=raw: the stored text */
	} symlinks;
};

/* Why a mount failed, for the exit status and the user's hint. */
enum gm_fuse_fail {
	GM_FUSE_OK = 0,
	GM_FUSE_NO_DEVICE,      /* /dev/fuse missing or not usable by the caller */
	GM_FUSE_NO_FUSERMOUNT,  /* unprivileged and no usable setuid fusermount3 */
	GM_FUSE_BAD_MOUNTPOINT, /* missing, not a directory, busy, not empty, no access */
	GM_FUSE_MOUNT_FAILED,   /* mount(2)/fusermount3 refused, message says why */
	GM_FUSE_INTERNAL,       /* out of memory and the like */
};

/* Checks that the mount point (cfg->mountpoint, allow_other, nonempty) and
 * FUSE are usable by the caller without mounting (cheap: run it before
 * opening a big image). Returns the failure class and one human line in err
 * saying what to do. */
enum gm_fuse_fail gm_fuse_precheck(const struct gm_fuse_config *cfg, struct gm_error *err);
/* The descriptor N of a "/dev/fd/N" mount point, or -1. */
int gm_fuse_fd_mountpoint(const char *mountpoint);

/* Mounts fs on cfg->mountpoint. On failure returns the class and one line in
 * err (libfuse's and fusermount3's own messages are captured, not printed).
 * fs must outlive the handle. */
enum gm_fuse_fail gm_fuse_mount(struct gm_view *fs, const struct gm_fuse_config *cfg,
				struct gm_fuse **out, struct gm_error *err);
/* Serves until unmounted or asked to exit; installs SIGINT/SIGTERM/SIGHUP
 * handlers for its duration (they end the session; SIGINT and SIGQUIT are
 * ignored instead with sigint_to_child). Flushes the fs at the
 * end. 0, or -errno when the session failed or the final flush failed (then
 * err says why). */
int gm_fuse_serve(struct gm_fuse *f, struct gm_error *err);
/* Number of editor errors answered to the kernel (EIO and the like are
 * logged through the log hook); for the session summary. */
unsigned long gm_fuse_errors(const struct gm_fuse *f);
/* Unmounts (if still mounted) and frees. Accepts NULL. */
void gm_fuse_unmount(struct gm_fuse *f);

/* True if path (resolved) is a mount point in /proc/self/mountinfo. */
bool gm_fuse_is_mountpoint(const char *path);

/* Removes the directory where a mount keeps files unlinked while still open
 * (they die with their last close). A killed server leaves it behind; a
 * resumed session without a mount (e.g. `repack --resume`) calls this. 0, or
 * -errno. */
int gm_fuse_drop_orphans(struct gm_view *fs);
/* Unmounts path: umount2() as root, else `fusermount3 -u` (its messages
 * captured into err). lazy: detach now, finish when no longer busy.
 * 0 or -errno (-EBUSY when still in use). */
int gm_fuse_unmount_path(const char *path, bool lazy, struct gm_error *err);

/* Optional hook for messages worth logging (editor failures other than the
 * expected ENOENT/EEXIST/... answers). Called from the serving thread. */
typedef void (*gm_fuse_log_fn)(void *priv, const char *msg);
void gm_fuse_set_log(struct gm_fuse *f, gm_fuse_log_fn fn, void *priv);

#endif
