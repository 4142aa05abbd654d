/* tempfiles.h — temporary paths of the container layer, removable from a
 * signal handler.
 *
 * While a temp file (a write-back in progress, a cache disk being extracted)
 * or a private cache directory (an image read from standard input) exists,
 * the code that made it registers it here. A front end that catches SIGINT,
 * SIGTERM, SIGHUP … calls gm_tempfiles_remove_all() from its handler, which
 * is async-signal-safe, so an interrupted run leaves no litter. The library
 * itself never installs a signal handler.
 *
 * The same module keeps a few process-wide facts a handler needs to say what
 * an interruption leaves behind (gm_tempfiles_flags). One process works on one
 * image at a time; the facts are about that image.
 */
#ifndef GM_TEMPFILES_H
#define GM_TEMPFILES_H

#include <signal.h>
#include <stdbool.h>

#define GM_TEMPFILES_MAX 8

/* Registers path (copied) as a file, or with tree as a directory whose
 * contents (two levels deep at most) go with it. Returns a slot >= 0 for
 * gm_tempfiles_forget, or -ENOSPC / -ENAMETOOLONG (then nothing is
 * registered; the caller goes on, the path is only not cleaned on a signal). */
int gm_tempfiles_add(const char *path, bool tree);
/* Unregisters a slot (the path was removed or renamed). slot < 0: no-op. */
void gm_tempfiles_forget(int slot);
/* Removes every registered path. Async-signal-safe (only unlinkat, openat,
 * getdents64, rmdir); for a handler that then ends the process. */
void gm_tempfiles_remove_all(void);

/* Removes a directory and its contents (two levels deep), as for a
 * registered tree. Async-signal-safe; also for ordinary use. */
void gm_tempfiles_remove_tree(const char *path);

/* What an interruption now would leave (bits, read from a signal handler). */
enum {
	GM_TF_DIRTY = 1u << 0,     /* the cache holds committed edits not written back */
	GM_TF_STREAMING = 1u << 1, /* an output stream was started (it is incomplete) */
	GM_TF_WRITTEN = 1u << 2,   /* the result was renamed into place, or a raw
				    * disk's edit committed in place */
};
void gm_tempfiles_set_flag(unsigned flag, bool on);
unsigned gm_tempfiles_flags(void);   /* async-signal-safe */

/* Blocks, in the calling thread, the signals a front end handles (SIGINT,
 * SIGTERM, SIGHUP, SIGPIPE), so that a change on disk and the flag or
 * registration that describes it happen as one for a handler (which runs
 * after gm_tempfiles_unblock). old keeps the mask to give back. */
void gm_tempfiles_block(sigset_t *old);
void gm_tempfiles_unblock(const sigset_t *old);

/* Test hook: when $GM_TEST_STOP_AT is NAME[:N][@FILE], the N-th (default
 * first) call with that name (counted while FILE exists, if given) stops
 * the process (SIGSTOP), so a test can signal or kill it at a known point.
 * No-op otherwise. */
void gm_tempfiles_test_point(const char *name);

#endif
