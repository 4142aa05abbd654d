/* common.c — option parsing, opening and finishing shared by the verbs. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "editor/disk/fsck.h"
#include "fuse/gmfuse.h"

const char gm_cli_common_help[] =
	"  --cache DIR        cache directory (default $XDG_CACHE_HOME/gcemount)\n"
	"  --partition N      edit partition N (default: the only ext2/3/4 one)\n"
	"  --owner UID:GID    owner of new files (default 0:0)\n"
	"  --output FILE      write the result to FILE instead of replacing IMAGE\n"
	"  --format F         tar format of the result: oldgnu (default) or gnu\n"
	"  --no-sparsify      keep free filesystem blocks as data\n"
	"  --resume|--discard keep / drop edits left by an interrupted session\n"
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

void gm_cli_fs_error(const char *image, const char *path, const struct gm_fs *fs, int rc)
{
	char words[128], detail[GM_ERRMSG_MAX];
	const char *msg = gm_fs_errmsg(fs), *d = msg;
	size_t plen = path ? strlen(path) : 0;

	problem_words(rc < 0 ? -rc : EIO, words, sizeof(words));
	if (says_it_all(rc) || gm_fs_errcode(fs) != rc || !msg[0]) {
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
	if (!strcmp(detail, words)) {
		detail[0] = '\0';
	}
	if (path)
		gm_cli_error("%s: %s: %s%s%s%s", image, path, words, detail[0] ? " (" : "", detail,
			     detail[0] ? ")" : "");
	else
		gm_cli_error("%s: %s%s%s%s", image, words, detail[0] ? " (" : "", detail, detail[0] ? ")" : "");
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
		n = strtol(arg, &end, 10);
		if (*arg == '\0' || *end || n < 1 || n > 128) {
			gm_cli_error("--partition: '%s' is not a partition number (1-128)", arg);
			return -1;
		}
		c->partition = (int)n;
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
	case 'q':
		c->quiet = true;
		return 1;
	default:
		return 0;
	}
}

/* An open failure as one "gcemount: IMAGE: problem" line: IMAGE as the user
 * wrote it (the library names the absolute path), strerror's words in lower
 * case as in every other message. */
static void open_error(const char *image, const struct gm_error *err)
{
	const char *msg = gm_error_msg(err), *rest = msg;
	char abs[PATH_MAX], text[GM_ERRMSG_MAX], words[128];
	size_t n;

	if (realpath(image, abs) && !strncmp(msg, abs, strlen(abs)) && !strncmp(msg + strlen(abs), ": ", 2))
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

int gm_cli_exit_for_open_error(int rc)
{
	switch (rc) {
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

static void progress(void *priv, const char *stage, uint64_t done, uint64_t total)
{
	unsigned pct = total ? (unsigned)(done * 100 / total) : 100;

	(void)priv;
	fprintf(stderr, "\rgcemount: %s %3u%% (%llu/%llu MiB)%s", stage, pct,
		(unsigned long long)(done >> 20), (unsigned long long)(total >> 20),
		done >= total ? "\n" : "");
}

int gm_cli_open(const char *image, const struct gm_cli_common *c, bool writable,
		struct gm_image **img, struct gm_fs **fs)
{
	int status = gm_cli_open_progress(image, c, writable,
					  !c->quiet && isatty(STDERR_FILENO) ? progress : NULL, NULL,
					  img, fs);
	int rc;

	if (status || !writable)
		return status;
	/* The verb is one operation: if it fails, gm_cli_finish undoes it all. */
	rc = gm_fs_op_begin(*fs, GM_OP_EXACT);
	if (rc < 0) {
		gm_cli_error("%s: %s", image, gm_fs_errmsg(*fs));
		gm_fs_close(*fs, NULL);
		gm_image_close(*img);
		*fs = NULL;
		*img = NULL;
		return GM_EXIT_FAIL;
	}
	return 0;
}

int gm_cli_open_progress(const char *image, const struct gm_cli_common *c, bool writable,
			 gm_progress_fn fn, void *priv, struct gm_image **img, struct gm_fs **fs)
{
	struct gm_image_opts io = { 0 };
	struct gm_fs_opts fo = { 0 };
	struct gm_error err = { 0 };
	int rc;

	io.cache_dir = c->cache_dir;
	io.read_only = !writable;
	io.recover = c->recover;
	io.progress = fn;
	io.progress_priv = priv;
	rc = gm_image_open(image, &io, img, &err);
	if (rc < 0) {
		open_error(image, &err);
		return gm_cli_exit_for_open_error(rc);
	}
	if (!c->quiet && gm_image_info(*img)->note[0])
		fprintf(stderr, "gcemount: %s: %s\n", image, gm_image_info(*img)->note);
	fo.partition = c->partition;
	fo.read_only = !writable;
	fo.owner_set = c->owner_set;
	fo.owner_uid = c->owner_uid;
	fo.owner_gid = c->owner_gid;
	rc = gm_fs_open(*img, &fo, fs, &err);
	if (rc < 0) {
		open_error(image, &err);
		gm_image_close(*img);
		*img = NULL;
		return rc == -EROFS ? GM_EXIT_FAIL : gm_cli_exit_for_open_error(rc);
	}
	if (!c->quiet && gm_fs_note(*fs)[0])
		fprintf(stderr, "gcemount: %s\n", gm_fs_note(*fs));
	/* Files a killed mount kept alive only because they were open. */
	if (writable && gm_image_info(*img)->resumed && (rc = gm_fuse_drop_orphans(*fs)) < 0) {
		gm_cli_error("%s: cannot remove the files a killed mount left unlinked: %s", image,
			     strerror(-rc));
		gm_fs_close(*fs, NULL);
		gm_image_close(*img);
		*fs = NULL;
		*img = NULL;
		return GM_EXIT_FAIL;
	}
	return 0;
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

int gm_cli_finish(struct gm_image *img, struct gm_fs *fs, const struct gm_cli_common *c,
		  bool writable)
{
	struct gm_rangeset holes = GM_RANGESET_INIT;
	struct gm_writeback_opts wo = { 0 };
	struct gm_error err = { 0 };
	int status = GM_EXIT_OK;
	const char *what = NULL;
	char damage[GM_ERRMSG_MAX] = "";
	uint64_t part_off = 0;

	if (fs) {
		/* The verb's operation (gm_cli_open): kept if it succeeded,
		 * otherwise undone, so nothing of it is written back. */
		bool before = gm_fs_damaged(fs, NULL);

		gm_fs_op_end(fs, writable ? 0 : -ECANCELED);
		if (!writable && !before && gm_fs_damaged(fs, &what))
			gm_cli_error("%s: the failed edit could not be undone (%s); %s", gm_image_path(img),
				     what, gm_image_info(img)->container == GM_CONTAINER_RAW
				     ? "the disk edited in place may be damaged: repair it with e2fsck -fy"
				     : "the cache keeps it: rerun with --discard to drop it");
	}
	if (fs && writable && !c->no_sparsify && gm_fs_free_ranges(fs, &holes) < 0) {
		gm_cli_error("%s: out of memory computing free blocks", gm_image_path(img));
		status = GM_EXIT_WRITEBACK;
	}
	if (fs && writable && gm_fs_damaged(fs, &what)) {
		snprintf(damage, sizeof(damage), "%s", what);
		part_off = gm_fs_partition(fs)->offset;
	}
	if (gm_fs_close(fs, &err) < 0) {
		gm_cli_error("%s", gm_error_msg(&err));
		status = GM_EXIT_WRITEBACK;
	}
	if (status == GM_EXIT_OK && damage[0])
		status = refuse_damaged(img, damage, part_off, c);
	if (status == GM_EXIT_OK && writable && (gm_image_dirty(img) || c->output || c->force_writeback)) {
		wo.output = c->output;
		wo.format = c->format ? c->format : GM_TAR_OLDGNU;
		wo.holes = &holes;
		wo.force = c->force_writeback;
		if (gm_image_writeback(img, &wo, &err) < 0) {
			gm_cli_error("%s", gm_error_msg(&err));
			status = GM_EXIT_WRITEBACK;
		}
	}
	gm_rangeset_free(&holes);
	gm_image_close(img);
	return status;
}
