/* common.c — option parsing, opening and finishing shared by the verbs. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "editor/container/output.h"
#include "editor/container/sniff.h"
#include "editor/container/tempfiles.h"
#include "editor/container/wal.h"
#include "editor/disk/fsck.h"
#include "editor/disk/undo.h"
#include "fuse/gmfuse.h"

const char gm_cli_common_help[] =
	"  --cache DIR        cache directory (default $XDG_CACHE_HOME/gcemount)\n"
	"  --partition N      edit partition N alone (default: the root filesystem with\n"
	"                     what its /etc/fstab mounts: /boot, /boot/efi)\n"
	"  --root N           the root filesystem is partition N\n"
	"  --owner UID:GID    owner of new files (default 0:0)\n"
	"  --output FILE      write the result to FILE instead of replacing IMAGE;\n"
	"                     '-' (standard output), a FIFO or a character device is\n"
	"                     streamed to (always a tar.gz); a directory is refused\n"
	"  --format F         tar format of the result: oldgnu (default) or gnu\n"
	"  --no-sparsify      keep free filesystem blocks as data\n"
	"  --resume           write back the edits an interrupted session left in the\n"
	"                     cache (verbs that write only: put, rm, repack, apply)\n"
	"  --discard          drop them and start again from IMAGE\n"
	"  --no-splice        recompress the whole image (default: reuse the\n"
	"                     original's compressed blocks where nothing changed)\n"
	"  --fast             faster compression of what is recompressed, larger output\n"
	"  -q, --quiet        no progress output\n";

void gm_cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("gcemount: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The words of strerror(code), first letter in lower case ("no such file or
 * directory"), into buf. */
static const char *problem_words(int code, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(code));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && buf[1] >= 'a' && buf[1] <= 'z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

/* Failures whose errno says it all: the filesystem's detail would only
 * repeat the path. */
static bool says_it_all(int rc)
{
	switch (-rc) {
	case ENOENT: case ENOTDIR: case EISDIR: case EEXIST: case ENOTEMPTY: case ELOOP:
	case ENAMETOOLONG:
		return true;
	default:
		return false;
	}
}

void gm_cli_fs_error(const char *image, const char *path, const struct gm_view *v, int rc)
{
	char words[128], detail[GM_ERRMSG_MAX];
	const char *msg = gm_view_errmsg(v), *d = msg;
	size_t plen = path ? strlen(path) : 0;

	/* the image turned out damaged (a lazy open): gm_cli_verify's line
	 * says it, and what failed may only follow from that */
	if (v && gm_image_wait(gm_view_image(v), 0, 0) < 0)
		return;
	problem_words(rc < 0 ? -rc : EIO, words, sizeof(words));
	if (says_it_all(rc) || gm_view_errcode(v) != rc || !msg[0]) {
		if (path)
			gm_cli_error("%s: %s: %s", image, path, words);
		else
			gm_cli_error("%s: %s", image, words);
		return;
	}
	/* the detail without the path in front, its sentences in lower case
	 * ("write file data: Could not allocate block" -> "...: could not...") */
	if (plen && !strncmp(d, path, plen) && !strncmp(d + plen, ": ", 2))
		d += plen + 2;
	snprintf(detail, sizeof(detail), "%s", d);
	for (char *p = detail; *p; p++)
		if ((p == detail || (p >= detail + 2 && p[-2] == ':' && p[-1] == ' ')) &&
		    p[0] >= 'A' && p[0] <= 'Z' && p[1] >= 'a' && p[1] <= 'z')
			p[0] = (char)(p[0] - 'A' + 'a');
	if (!strcmp(detail, words))
		detail[0] = '\0';
	if (path)
		gm_cli_error("%s: %s: %s%s%s%s", image, path, words, detail[0] ? " (" : "", detail,
			     detail[0] ? ")" : "");
	else
		gm_cli_error("%s: %s%s%s%s", image, words, detail[0] ? " (" : "", detail, detail[0] ? ")" : "");
}

/* An open failure as one "gcemount: IMAGE: problem" line: IMAGE as the user
 * wrote it (the library names the absolute path), strerror's words in lower
 * case as in every other message. */
static void open_error(const char *image, const struct gm_error *err)
{
	const char *msg = gm_error_msg(err), *rest = msg;
	char abs[PATH_MAX], text[GM_ERRMSG_MAX], words[128];
	size_t n;

	if (strcmp(image, "-") && realpath(image, abs) && !strncmp(msg, abs, strlen(abs)) &&
	    !strncmp(msg + strlen(abs), ": ", 2))
		rest = msg + strlen(abs) + 2;
	else if (!strncmp(msg, image, strlen(image)) && !strncmp(msg + strlen(image), ": ", 2))
		rest = msg + strlen(image) + 2;
	else {
		gm_cli_error("%s", msg);   /* names something else (the cache, a partition) */
		return;
	}
	snprintf(text, sizeof(text), "%s", rest);
	if (err->code < 0) {
		snprintf(words, sizeof(words), "%s", strerror(-err->code));
		n = strlen(words);
		if (strlen(text) >= n && !strcmp(text + strlen(text) - n, words) && words[0] >= 'A' &&
		    words[0] <= 'Z' && words[1] >= 'a' && words[1] <= 'z')
			text[strlen(text) - n] = (char)(words[0] - 'A' + 'a');
	}
	gm_cli_error("%s: %s", image, text);
}

static int parse_owner(const char *arg, uid_t *uid, gid_t *gid)
{
	char *end;
	unsigned long u, g;

	errno = 0;
	u = strtoul(arg, &end, 10);
	if (end == arg || *end != ':' || errno)
		return -1;
	arg = end + 1;
	g = strtoul(arg, &end, 10);
	if (end == arg || *end || errno || u > 0xfffffffeUL || g > 0xfffffffeUL)
		return -1;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

int gm_cli_common_opt(struct gm_cli_common *c, int opt, const char *arg)
{
	char *end;
	long n;

	switch (opt) {
	case GM_OPT_CACHE:
		c->cache_dir = arg;
		return 1;
	case GM_OPT_PARTITION:
	case GM_OPT_ROOT:
		n = strtol(arg, &end, 10);
		if (*arg == '\0' || *end || n < 1 || n > 128) {
			gm_cli_error("--%s: '%s' is not a partition number (1-128)",
				     opt == GM_OPT_ROOT ? "root" : "partition", arg);
			return -1;
		}
		*(opt == GM_OPT_ROOT ? &c->root : &c->partition) = (int)n;
		return 1;
	case GM_OPT_OWNER:
		if (parse_owner(arg, &c->owner_uid, &c->owner_gid) < 0) {
			gm_cli_error("--owner: '%s' is not UID:GID (numbers)", arg);
			return -1;
		}
		c->owner_set = true;
		return 1;
	case GM_OPT_OUTPUT:
		c->output = arg;
		return 1;
	case GM_OPT_FORMAT:
		c->format = gm_tar_format_from_name(arg);
		if (c->format != GM_TAR_OLDGNU && c->format != GM_TAR_GNU) {
			gm_cli_error("--format: '%s' is not oldgnu or gnu", arg);
			return -1;
		}
		return 1;
	case GM_OPT_NO_SPARSIFY:
		c->no_sparsify = true;
		return 1;
	case GM_OPT_RESUME:
		c->recover = GM_RECOVER_RESUME;
		return 1;
	case GM_OPT_DISCARD:
		c->recover = GM_RECOVER_DISCARD;
		return 1;
	case GM_OPT_NO_SPLICE:
		c->no_splice = true;
		return 1;
	case GM_OPT_FAST:
		c->fast = true;
		return 1;
	case 'q':
		c->quiet = true;
		return 1;
	default:
		return 0;
	}
}

int gm_cli_exit_for_open_error(int rc)
{
	switch (rc) {
	case -EMEDIUMTYPE:
		return GM_EXIT_BADIMAGE;
	case -EBUSY:
		return GM_EXIT_BUSY;
	case -EAGAIN:
		return GM_EXIT_INTERRUPTED;
	case -ENOMEM:
	case -ENOSPC:
	case -EDQUOT:
	case -EACCES:
	case -EPERM:
		return GM_EXIT_FAIL;
	default:
		return GM_EXIT_BADIMAGE;
	}
}

/* A progress line without a known total (standard input) waits for its
 * newline until the open is done. */
static bool progress_open;

static void progress(void *priv, const char *stage, uint64_t done, uint64_t total)
{
	unsigned pct = total ? (unsigned)(done * 100 / total) : 100;

	(void)priv;
	if (!total) {
		fprintf(stderr, "\rgcemount: %s %llu MiB", stage, (unsigned long long)(done >> 20));
		progress_open = true;
		return;
	}
	fprintf(stderr, "\rgcemount: %s %3u%% (%llu/%llu MiB)%s", stage, pct,
		(unsigned long long)(done >> 20), (unsigned long long)(total >> 20),
		done >= total ? "\n" : "");
}

/* ---- interruption: SIGINT, SIGTERM, SIGHUP, SIGPIPE ---- */

static char sig_image[PATH_MAX];

/* Appends s to buf (async-signal-safe). */
static void sig_append(char *buf, size_t size, const char *s)
{
	size_t n = strlen(buf), k = strlen(s);

	if (n + k >= size)
		k = size - n - 1;
	memcpy(buf + n, s, k);
	buf[n + k] = '\0';
}

static void on_signal(int sig)
{
	static volatile sig_atomic_t busy;
	char line[PATH_MAX * 2 + 256] = "";
	sigset_t set;
	unsigned f;
	int undone;

	/* Another thread (a compressor, the block indexer): the main thread
	 * takes it, once it leaves a section that blocks these signals (a
	 * change on disk with the flag that describes it). */
	if (gettid() != getpid()) {
		tgkill(getpid(), getpid(), sig);
		return;
	}
	if (busy)
		return;
	busy = 1;
	gm_tempfiles_remove_all();
	/* a raw disk's edit in progress goes back now, from the undo log (a
	 * tarball's cache is put back by the next open) */
	undone = gm_wal_signal_rollback();
	f = gm_tempfiles_flags();
	/* SIGPIPE: the reader of our standard output went away (`cat … | head`);
	 * like cat, say nothing */
	if (sig != SIGPIPE) {
		sig_append(line, sizeof(line), "gcemount: ");
		sig_append(line, sizeof(line), sig_image[0] ? sig_image : "-");
		sig_append(line, sizeof(line), sig == SIGINT ? ": interrupted (SIGINT); " :
			   sig == SIGTERM ? ": terminated (SIGTERM); " : ": hung up (SIGHUP); ");
		if (f & GM_TF_STREAMING)
			sig_append(line, sizeof(line), "the output stream is incomplete; ");
		if (f & GM_TF_WRITTEN)
			sig_append(line, sizeof(line), "the result was written");
		else if (f & GM_TF_DIRTY)
			sig_append(line, sizeof(line), "the image is unchanged; the edits stay in the "
				   "cache: rerun with --resume to write them back or --discard to "
				   "drop them");
		else if (undone < 0)
			sig_append(line, sizeof(line), "the disk holds an unfinished edit, undone when "
				   "gcemount next opens it");
		else
			sig_append(line, sizeof(line), "the image is unchanged");
		sig_append(line, sizeof(line), "\n");
		if (write(STDERR_FILENO, line, strlen(line)) < 0)
			line[0] = '\0';
	}
	/* die of the signal itself, so a shell sees 128+N (130, 143, 129) */
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	_exit(128 + sig);
}

void gm_cli_signals_install(const char *image)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
	struct sigaction sa = { 0 };

	snprintf(sig_image, sizeof(sig_image), "%s", image);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&sa.sa_mask, sigs[i]);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;

		/* a signal ignored by whoever started us (nohup) stays ignored */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

/* ---- before any work ---- */

/* "--output -": the stream gets the real standard output; everything the
 * verb prints goes to stderr instead. */
static int stream_fd = -1;

int gm_cli_preflight(const char *image, const struct gm_cli_common *c, bool writable)
{
	struct gm_output_target t;
	struct gm_error err = { 0 };
	struct stat st;
	bool raw;

	if (c->recover == GM_RECOVER_RESUME && !writable) {
		gm_cli_error("%s: --resume writes the edits of an interrupted session back, so it "
			     "goes with a verb that writes (put, rm, repack, apply, or a mount "
			     "without -o ro): e.g. gcemount repack --resume %s", image, image);
		return GM_EXIT_USAGE;
	}
	if (!writable)
		return 0;
	if (!strcmp(image, "-") && !c->output) {
		gm_cli_error("-: an image read from standard input cannot be written back in place: "
			     "give --output FILE (or --output - for standard output)");
		return GM_EXIT_USAGE;
	}
	if (c->output && gm_output_resolve(image, c->output, STDOUT_FILENO, &t, &err) < 0) {
		gm_cli_error("%s", gm_error_msg(&err));
		return GM_EXIT_WRITEBACK;
	}
	if (!strcmp(image, "-"))
		return 0;
	/* a raw disk is edited in place even with --output; a tar.gz is replaced
	 * in place unless --output says elsewhere */
	raw = gm_sniff_file(image) != GM_SNIFF_GZIP;
	if ((raw || !c->output) && stat(image, &st) == 0 && S_ISREG(st.st_mode) &&
	    gm_output_check_in_place(image, raw, raw ? "a raw disk is edited in place" :
				     "give --output FILE to write the result elsewhere", &err) < 0) {
		gm_cli_error("%s", gm_error_msg(&err));
		return GM_EXIT_WRITEBACK;
	}
	if (c->output && !strcmp(c->output, "-") && stream_fd < 0) {
		fflush(stdout);
		stream_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
		if (stream_fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
			gm_cli_error("standard output: %s", strerror(errno));
			return GM_EXIT_WRITEBACK;
		}
	}
	return 0;
}

int gm_cli_open(const char *image, const struct gm_cli_common *c, bool writable,
		struct gm_image **img, struct gm_view **v)
{
	int status, rc;

	gm_cli_signals_install(image);
	status = gm_cli_open_progress(image, c, writable,
				      !c->quiet && isatty(STDERR_FILENO) ? progress : NULL, NULL, img, v);
	if (status || !writable)
		return status;
	/* The verb is one operation: if it fails, gm_cli_finish undoes it all,
	 * byte for byte. */
	rc = gm_cli_op_begin(image, *img, *v, true);
	if (rc) {
		gm_view_close(*v, NULL);
		gm_image_close(*img);
		*v = NULL;
		*img = NULL;
	}
	return rc;
}

/* The session's operation (gm_cli_op_begin): a level of the image's undo
 * log around everything until gm_cli_finish is done. One image per process. */
static struct gm_undo *session_undo;

int gm_cli_op_begin(const char *image, struct gm_image *img, struct gm_view *v, bool exact)
{
	struct gm_error err = { 0 };
	int rc;

	if (gm_image_read_only(img))
		return 0;   /* nothing to undo */
	rc = gm_undo_get(img, &session_undo, &err);
	if (!rc && (rc = gm_undo_begin(session_undo, exact)))
		gm_error_set(&err, rc, "out of memory");
	if (rc) {
		gm_cli_error("%s: %s", image, gm_error_msg(&err));
		gm_undo_put(session_undo);
		session_undo = NULL;
		return GM_EXIT_FAIL;
	}
	rc = gm_view_op_begin(v, exact ? GM_OP_EXACT : 0);
	if (rc < 0) {
		gm_cli_error("%s: %s", image, gm_view_errmsg(v));
		gm_cli_op_end(img, false);
		return GM_EXIT_FAIL;
	}
	return 0;
}

int gm_cli_op_end(struct gm_image *img, bool keep)
{
	struct gm_error err = { 0 };
	int rc = 0;

	if (!session_undo)
		return 0;
	if (keep && (rc = gm_undo_commit(session_undo)) < 0) {
		gm_cli_error("%s: the edits cannot be kept in the cache (%s): undone",
			     gm_image_path(img), strerror(-rc));
		keep = false;
	}
	if (!keep && gm_undo_rollback(session_undo, &err) < 0) {
		gm_cli_error("%s: %s", gm_image_path(img), gm_error_msg(&err));
		rc = -EIO;
	}
	gm_undo_put(session_undo);
	session_undo = NULL;
	return rc;
}

void gm_cli_view_opts(const struct gm_cli_common *c, bool writable, struct gm_view_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->partition = c->partition;
	o->root = c->root;
	o->read_only = !writable;
	o->owner_set = c->owner_set;
	o->owner_uid = c->owner_uid;
	o->owner_gid = c->owner_gid;
}

int gm_cli_open_progress(const char *image, const struct gm_cli_common *c, bool writable,
			 gm_progress_fn fn, void *priv, struct gm_image **img, struct gm_view **v)
{
	struct gm_image_opts io = { 0 };
	struct gm_view_opts vo;
	struct gm_error err = { 0 };
	int rc;

	if ((rc = gm_cli_preflight(image, c, writable)))
		return rc;
	io.cache_dir = c->cache_dir;
	io.read_only = !writable;
	io.recover = c->recover;
	io.progress = fn;
	io.progress_priv = priv;
	io.lazy = true;            /* the verbs wait with gm_cli_verify */
	if (!strcmp(image, "-") && !c->quiet)
		fprintf(stderr, "gcemount: -: reading the image from standard input (not seekable: "
			"it is copied into the cache first)\n");
	rc = gm_image_open(image, &io, img, &err);
	if (progress_open) {
		fputc('\n', stderr);
		progress_open = false;
	}
	if (rc < 0) {
		open_error(image, &err);
		return gm_cli_exit_for_open_error(rc);
	}
	/* (a raw disk put back in place is said even by the quiet verbs) */
	if ((!c->quiet || gm_image_info(*img)->undone) && gm_image_info(*img)->note[0])
		fprintf(stderr, "gcemount: %s: %s\n", image, gm_image_info(*img)->note);
	gm_cli_view_opts(c, writable, &vo);
	rc = gm_view_open(*img, &vo, v, &err);
	if (rc < 0) {
		/* a damaged stream explains it better, if that is what it is */
		struct gm_error ierr = { 0 };

		if (gm_image_finish(*img, &ierr) < 0) {
			gm_cli_error("%s", gm_error_msg(&ierr));
			rc = -EIO;
		} else {
			open_error(image, &err);
		}
		gm_image_close(*img);
		*img = NULL;
		return rc == -EROFS ? GM_EXIT_FAIL : gm_cli_exit_for_open_error(rc);
	}
	/* the image may have turned out damaged meanwhile (a small one is all
	 * read by now): then it is not opened */
	if (gm_image_wait(*img, 0, 0) < 0) {
		struct gm_error ierr = { 0 };

		gm_image_finish(*img, &ierr);
		gm_cli_error("%s", gm_error_msg(&ierr));
		gm_view_close(*v, NULL);
		gm_image_close(*img);
		*v = NULL;
		*img = NULL;
		return GM_EXIT_BADIMAGE;
	}
	if (!c->quiet && gm_view_note(*v)[0])
		fprintf(stderr, "gcemount: %s\n", gm_view_note(*v));
	/* Files a killed mount kept alive only because they were open. */
	if (writable && gm_image_info(*img)->resumed && (rc = gm_fuse_drop_orphans(*v)) < 0) {
		gm_cli_error("%s: cannot remove the files a killed mount left unlinked: %s", image,
			     strerror(-rc));
		gm_view_close(*v, NULL);
		gm_image_close(*img);
		*v = NULL;
		*img = NULL;
		return GM_EXIT_FAIL;
	}
	return 0;
}

void gm_cli_op_error(struct gm_image *img, const char *fmt, ...)
{
	va_list ap;

	if (img && gm_image_wait(img, 0, 0) < 0)
		return;   /* damaged: gm_cli_verify says so, in one line */
	fputs("gcemount: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int gm_cli_verify(struct gm_image *img)
{
	struct gm_error err = { 0 };

	fflush(stdout);
	if (gm_image_finish(img, &err) < 0) {
		gm_cli_error("%s; what was printed may be wrong", gm_error_msg(&err));
		return GM_EXIT_BADIMAGE;
	}
	if (gm_image_late_note(img)[0])
		fprintf(stderr, "gcemount: %s: note: %s\n", gm_image_path(img), gm_image_late_note(img));
	return GM_EXIT_OK;
}

/* An operation of the session ended in an inconsistency: write back only if
 * e2fsck -fn finds the (flushed) filesystem clean. Returns the exit status. */
static int refuse_damaged(struct gm_image *img, const char *damage, uint64_t part_off,
			  const struct gm_cli_common *c)
{
	struct gm_error err = { 0 };
	const char *image = gm_image_path(img);
	int rc = gm_fsck_check(gm_image_fd(img), part_off, &err);

	if (rc == 0) {
		if (!c->quiet)
			fprintf(stderr, "gcemount: %s: an operation failed earlier (%s); e2fsck -fn finds "
				"the filesystem clean: writing back\n", image, damage);
		return GM_EXIT_OK;
	}
	if (gm_image_info(img)->container == GM_CONTAINER_RAW)
		gm_cli_error("%s: %s after a failed operation (%s): the disk, edited in place, may be "
			     "damaged; repair it with e2fsck -fy", image, gm_error_msg(&err), damage);
	else
		gm_cli_error("%s: not written back: %s after a failed operation (%s); the edits stay "
			     "in the cache: rerun with --resume to repair them (e2fsck -fy) and write "
			     "back, or --discard to drop them", image, gm_error_msg(&err), damage);
	return GM_EXIT_WRITEBACK;
}

int gm_cli_finish(struct gm_image *img, struct gm_view *v, const struct gm_cli_common *c,
		  bool writable)
{
	struct gm_rangeset holes = GM_RANGESET_INIT;
	struct gm_writeback_opts wo = { 0 };
	struct gm_error err = { 0 };
	int status = gm_cli_verify(img);
	const char *what = NULL;
	char damage[GM_ERRMSG_MAX] = "";
	uint64_t part_off = 0;

	if (status) {
		/* the image turned out damaged: nothing is written back, the
		 * verb's operation is undone (the cache is dropped anyway) */
		if (v && session_undo)
			gm_view_op_end(v, -ECANCELED);
		gm_view_close(v, NULL);
		gm_cli_op_end(img, false);
		gm_image_close(img);
		return status;
	}
	if (v && session_undo) {
		/* The verb's operation (gm_cli_open): kept if it succeeded,
		 * otherwise undone, so nothing of it is written back. */
		bool before = gm_view_damaged(v, NULL, NULL);

		gm_view_op_end(v, writable ? 0 : -ECANCELED);
		if (!writable && !before && gm_view_damaged(v, &what, NULL))
			gm_cli_error("%s: the failed edit could not be undone (%s); %s", gm_image_path(img),
				     what, gm_image_info(img)->container == GM_CONTAINER_RAW
				     ? "the disk edited in place may be damaged: repair it with e2fsck -fy"
				     : "the cache keeps it: rerun with --discard to drop it");
	}
	if (v && writable && !c->no_sparsify && gm_view_free_ranges(v, &holes) < 0) {
		gm_cli_error("%s: computing free blocks: %s", gm_image_path(img), gm_view_errmsg(v));
		status = GM_EXIT_WRITEBACK;
	}
	if (v && writable && gm_view_damaged(v, &what, &part_off))
		snprintf(damage, sizeof(damage), "%s", what);
	if (gm_view_close(v, &err) < 0) {
		gm_cli_error("%s", gm_error_msg(&err));
		status = GM_EXIT_WRITEBACK;
	}
	if (status == GM_EXIT_OK && damage[0])
		status = refuse_damaged(img, damage, part_off, c);
	if (status == GM_EXIT_OK && writable && (gm_image_dirty(img) || c->output || c->force_writeback)) {
		wo.output = c->output;
		wo.output_fd = stream_fd;
		/* a stream's reader may go away: EPIPE, reported as a failed write-back */
		if (c->output)
			signal(SIGPIPE, SIG_IGN);
		wo.format = c->format ? c->format : GM_TAR_OLDGNU;
		wo.holes = &holes;
		wo.force = c->force_writeback;
		wo.resparsify = c->force_writeback;   /* repack: holes everywhere */
		wo.no_splice = c->no_splice || c->force_writeback;   /* repack: the full path */
		wo.fast = c->fast;
		if (gm_image_writeback(img, &wo, &err) < 0) {
			gm_cli_error("%s", gm_error_msg(&err));
			status = GM_EXIT_WRITEBACK;
		}
	}
	gm_rangeset_free(&holes);
	/* The session's operation spans the flush, the close and the
	 * write-back: killed before this, the next open undoes it all. Kept
	 * if the verb succeeded, even when the write-back failed: the edits
	 * then wait in the cache for --resume. */
	if (gm_cli_op_end(img, writable) < 0 && status == GM_EXIT_OK)
		status = GM_EXIT_WRITEBACK;
	gm_tempfiles_test_point("cli-finished");
	gm_image_close(img);
	return status;
}
