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
	unsigned f = gm_tempfiles_flags();
	char line[PATH_MAX * 2 + 256] = "";
	sigset_t set;

	if (busy)
		return;     /* another thread is already ending the process */
	busy = 1;
	gm_tempfiles_remove_all();
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
	gm_cli_signals_install(image);
	return gm_cli_open_progress(image, c, writable,
				    !c->quiet && isatty(STDERR_FILENO) ? progress : NULL, NULL, img, v);
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
		gm_cli_error("%s", gm_error_msg(&err));
		return gm_cli_exit_for_open_error(rc);
	}
	if (!c->quiet && gm_image_info(*img)->note[0])
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
			gm_cli_error("%s", gm_error_msg(&err));
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

int gm_cli_finish(struct gm_image *img, struct gm_view *v, const struct gm_cli_common *c,
		  bool writable)
{
	struct gm_rangeset holes = GM_RANGESET_INIT;
	struct gm_writeback_opts wo = { 0 };
	struct gm_error err = { 0 };
	int status = gm_cli_verify(img);

	if (status) {   /* damaged: nothing is written back */
		gm_view_close(v, NULL);
		gm_image_close(img);
		return status;
	}
	if (v && writable && !c->no_sparsify && gm_view_free_ranges(v, &holes) < 0) {
		gm_cli_error("%s: computing free blocks: %s", gm_image_path(img), gm_view_errmsg(v));
		status = GM_EXIT_WRITEBACK;
	}
	if (gm_view_close(v, &err) < 0) {
		gm_cli_error("%s", gm_error_msg(&err));
		status = GM_EXIT_WRITEBACK;
	}
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
	gm_image_close(img);
	return status;
}
