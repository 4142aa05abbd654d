/* cmd_mount.c — `gcemount [OPTIONS] IMAGE MOUNTPOINT` and `gcemount -u
 * MOUNTPOINT` (`shell` and `apply --run` are in cmd_shell.c).
 *
 * A mount is served by one process (forked unless -f) that holds, for its
 * whole life, an flock on <runtime>/<key>.lock, where <key> names the mount
 * point and <runtime> is $XDG_RUNTIME_DIR/gcemount or /tmp/gcemount-<uid>.
 * It records its state in <key>.status (mounting, serving, writing, done)
 * and, in the background, logs to <cache>/mounts/<key>.log. `gcemount -u`
 * unmounts, then waits for that lock (= the write-back is over) and reports
 * the status the server left.
 *
 * MOUNTPOINT may be /dev/fd/N, a /dev/fuse descriptor a launcher opened and
 * mounted: then gcemount serves in the foreground until the launcher
 * unmounts, writes back and exits with the status. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/mount_session.h"

#define HINT "; without FUSE use the verbs: 'gcemount apply IMAGE POLICY...', " \
	     "'gcemount ls|cat|put|rm|check IMAGE ...'"

/* --- small helpers --- */

void gm_mount_absolute(const char *in, char *out, size_t size)
{
	char cwd[PATH_MAX];

	if (realpath(in, out))
		return;
	if (in[0] != '/' && getcwd(cwd, sizeof(cwd)) &&
	    (size_t)snprintf(out, size, "%s/%s", cwd, in) < size)
		return;
	snprintf(out, size, "%s", in);
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The cache directory, as editor/container/image.c chooses it. */
void gm_mount_cache_dir(const char *given, char *out, size_t size)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (given)
		gm_mount_absolute(given, out, size);
	else if (xdg && xdg[0] == '/')
		snprintf(out, size, "%s/gcemount", xdg);
	else
		snprintf(out, size, "%s/.cache/gcemount", home && home[0] ? home : "/tmp");
}

/* Where the lock and status files of mounts live: found from the mount point
 * alone (whatever --cache said), private to the user. */
static int runtime_dir(char *out, size_t size)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;

	if (xdg && xdg[0] == '/' && stat(xdg, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == geteuid() && access(xdg, W_OK) == 0) {
		if ((size_t)snprintf(out, size, "%s/gcemount", xdg) >= size)
			return -ENAMETOOLONG;
		return mkdir(out, 0700) < 0 && errno != EEXIST ? -errno : 0;
	}
	snprintf(out, size, "/tmp/gcemount-%u", (unsigned)geteuid());
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(out, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))
		return -EPERM; /* someone else's, or open to others: not ours to trust */
	return 0;
}

/* <runtime>/<sanitised mount point>-<hash>.{lock,status} and
 * <cache>/mounts/<same>.log */
static int run_paths(struct gm_mount_session *s)
{
	char dir[PATH_MAX + 8], rdir[PATH_MAX], key[96];
	uint64_t h = 1469598103934665603ULL;
	size_t k = 0;
	int rc;

	for (const char *p = s->mountpoint; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	for (const char *p = s->mountpoint; *p && k < 60; p++)
		key[k++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			   (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' ? *p : '_';
	snprintf(key + k, sizeof(key) - k, "-%016llx", (unsigned long long)h);
	rc = runtime_dir(rdir, sizeof(rdir));
	if (rc < 0) {
		gm_cli_error("cannot use the runtime directory %s: %s", rdir, strerror(-rc));
		return rc;
	}
	snprintf(dir, sizeof(dir), "%s/mounts", s->cache);
	if (s->cache[0] && (rc = mkdir_p(dir, 0700)) < 0) {
		gm_cli_error("cannot create %s: %s", dir, strerror(-rc));
		return rc;
	}
	if (snprintf(s->lock_path, sizeof(s->lock_path), "%s/%s.lock", rdir, key) >=
		    (int)sizeof(s->lock_path) ||
	    snprintf(s->status_path, sizeof(s->status_path), "%s/%s.status", rdir, key) >=
		    (int)sizeof(s->status_path) ||
	    snprintf(s->log_path, sizeof(s->log_path), "%s/%s.log", dir, key) >=
		    (int)sizeof(s->log_path)) {
		gm_cli_error("%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* Status file: "state\nexit\npid\nimage\nmessage\n", replaced atomically. */
void gm_mount_status_write(struct gm_mount_session *s, const char *state, int exitcode,
			 const char *fmt, ...)
{
	char tmp[PATH_MAX + 80], msg[1024];
	va_list ap;
	FILE *fp;

	if (!s->status_path[0])
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(tmp, sizeof(tmp), "%s.%d", s->status_path, (int)getpid());
	fp = fopen(tmp, "we");
	if (!fp)
		return;
	fprintf(fp, "%s\n%d\n%d\n%s\n%s\n", state, exitcode, (int)getpid(), s->image, msg);
	if (fclose(fp) == 0)
		rename(tmp, s->status_path);
	else
		unlink(tmp);
}

static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

struct status {
	char state[32];
	int exitcode;
	int pid;
	char image[PATH_MAX];
	char msg[1024];
};

static int status_read(const char *path, struct status *st)
{
	char line[PATH_MAX + 16];
	FILE *fp = fopen(path, "re");
	int i = 0;

	memset(st, 0, sizeof(*st));
	if (!fp)
		return -errno;
	while (i < 5 && fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\n")] = '\0';
		switch (i++) {
		case 0: copy_str(st->state, sizeof(st->state), line); break;
		case 1: st->exitcode = atoi(line); break;
		case 2: st->pid = atoi(line); break;
		case 3: copy_str(st->image, sizeof(st->image), line); break;
		default: copy_str(st->msg, sizeof(st->msg), line); break;
		}
	}
	fclose(fp);
	return i >= 2 ? 0 : -EINVAL;
}

/* One log line: timestamped in the log file, plain on a terminal. */
void gm_mount_logf(struct gm_mount_session *s, const char *fmt, ...)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;

	if (s->in_log) {
		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(stderr, "%s gcemount[%d]: ", ts, (int)getpid());
	} else {
		fputs("gcemount: ", stderr);
	}
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

void gm_mount_log_hook(void *priv, const char *msg)
{
	gm_mount_logf(priv, "%s", msg);
}

static void on_progress(void *priv, const char *stage, uint64_t done, uint64_t total)
{
	struct gm_mount_session *s = priv;
	unsigned pct = total ? (unsigned)(done * 100 / total) : 100;

	if (s->tty)
		fprintf(stderr, "\rgcemount: %s %3u%% (%llu/%llu MiB)%s", stage, pct,
			(unsigned long long)(done >> 20), (unsigned long long)(total >> 20),
			done >= total ? "\n" : "");
	if (pct / 10 != s->last_pct / 10 || done >= total) {
		gm_mount_status_write(s, !strcmp(stage, "extract") ? "mounting" : "writing", -1,
			     "%s %u%%", stage, pct);
		if (s->in_log)
			gm_mount_logf(s, "%s %u%%", stage, pct);
	}
	s->last_pct = pct;
}

/* gm_cli_open() with our own progress sink (terminal, status file, log). */
int gm_mount_open_image(struct gm_mount_session *s, struct gm_image **img, struct gm_view **v)
{
	return gm_cli_open_progress(s->image, &s->c, !s->fc.read_only, on_progress, s, img, v);
}

int gm_mount_error(const struct gm_error *err)
{
	gm_cli_error("cannot mount: %s" HINT, gm_error_msg(err));
	return GM_EXIT_NOFUSE;
}

/* --- the serving process --- */

/* Opens, mounts, tells the parent (ready_fd, -1 in the foreground) the exit
 * status once mounted or failed, serves, writes back. Returns the status. */
static int serve(struct gm_mount_session *s, int ready_fd)
{
	struct gm_image *img = NULL;
	struct gm_view *v = NULL;
	struct gm_fuse *fu = NULL;
	struct gm_error err = { 0 };
	enum gm_fuse_fail fail;
	unsigned char code;
	int status, rc, logfd;
	bool changed;

	if (s->lock_path[0])
		s->lock_fd = open(s->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_path[0] && (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0)) {
		gm_cli_error("%s: another gcemount still serves or writes back this mount "
			     "point ('gcemount -u %s' waits for it)", s->mountpoint, s->mountpoint);
		s->status_path[0] = '\0';
		status = GM_EXIT_BUSY;
		goto tell;
	}
	gm_mount_status_write(s, "mounting", -1, "opening");
	status = gm_mount_open_image(s, &img, &v);
	if (status)
		goto tell;
	s->fc.fsname = s->image;
	fail = gm_fuse_mount(v, &s->fc, &fu, &err);
	if (fail != GM_FUSE_OK) {
		status = gm_mount_error(&err);
		gm_view_close(v, NULL);
		gm_image_close(img);
		img = NULL;
		goto tell;
	}
	gm_fuse_set_log(fu, gm_mount_log_hook, s);
	/* the image may still be arriving while it is served: a damaged stream
	 * is logged when it shows (its reads fail from then on); one found
	 * damaged already is not served */
	if (gm_image_set_notify(img, gm_mount_log_hook, s)) {
		gm_fuse_unmount(fu);
		fu = NULL;
		gm_image_finish(img, &err);
		gm_cli_error("%s", gm_error_msg(&err));
		gm_view_close(v, NULL);
		gm_image_close(img);
		img = NULL;
		status = GM_EXIT_BADIMAGE;
		goto tell;
	}
	gm_mount_status_write(s, "serving", -1, "mounted on %s", s->mountpoint);
	if (!s->c.quiet && !s->lock_path[0])
		fprintf(stderr, "gcemount: serving %s on %s until it is unmounted\n",
			s->image, s->mountpoint);
	else if (!s->c.quiet)
		fprintf(stderr, "gcemount: mounted %s on %s%s%s%s; unmount with 'gcemount -u %s'\n",
			s->image, s->mountpoint, s->foreground ? "" : " (log: ",
			s->foreground ? "" : s->log_path, s->foreground ? "" : ")", s->mountpoint);
	if (!s->foreground) {
		logfd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (logfd >= 0) {
			fflush(stderr);
			dup2(logfd, STDOUT_FILENO);
			dup2(logfd, STDERR_FILENO);
			close(logfd);
			s->in_log = true;
		}
		s->tty = false;
		rc = open("/dev/null", O_RDONLY);
		if (rc >= 0) {
			dup2(rc, STDIN_FILENO);
			close(rc);
		}
		if (chdir("/") < 0)
			gm_mount_logf(s, "chdir /: %s", strerror(errno));
		gm_mount_logf(s, "mounted %s on %s", s->image, s->mountpoint);
	}
tell:
	if (ready_fd >= 0) {
		code = (unsigned char)status;
		if (write(ready_fd, &code, 1) != 1)
			gm_mount_logf(s, "cannot tell the parent the mount is ready");
		close(ready_fd);
	}
	if (status)
		goto out;

	rc = gm_fuse_serve(fu, &err);
	if (rc < 0)
		gm_mount_logf(s, "%s", gm_error_msg(&err));
	if (gm_fuse_errors(fu))
		gm_mount_logf(s, "%lu request(s) failed during the session (see above)", gm_fuse_errors(fu));
	gm_fuse_unmount(fu);
	fu = NULL;
	changed = !s->fc.read_only && (gm_image_dirty(img) || s->c.output);
	gm_mount_status_write(s, "writing", -1, "writing back");
	gm_mount_logf(s, "session ended; %s", changed ? "writing the image back" :
	      "nothing changed: the image is not rewritten");
	status = gm_cli_finish(img, v, &s->c, !s->fc.read_only);
	if (status == GM_EXIT_OK && rc < 0)
		status = GM_EXIT_WRITEBACK;
	if (status == GM_EXIT_OK) {
		gm_mount_logf(s, "done");
		gm_mount_status_write(s, "done", 0, "%s", changed ? "written back" :
			     "unchanged, not rewritten");
	} else if (status == GM_EXIT_BADIMAGE) {
		gm_mount_logf(s, "the image is damaged: nothing was written back");
		gm_mount_status_write(s, "done", status, "%s is damaged (see %s): nothing was written "
				      "back", s->image, s->in_log ? s->log_path : "the messages above");
	} else {
		gm_mount_logf(s, "write-back failed: the image is untouched; the edits stay in the "
		      "cache (mount again with --resume, or 'gcemount repack --resume %s')",
		      s->image);
		gm_mount_status_write(s, "done", status, "write-back of %s failed (see %s); the image is "
			     "untouched and the edits stay in the cache: mount again with "
			     "--resume or run 'gcemount repack --resume %s'",
			     s->image, s->in_log ? s->log_path : "the messages above", s->image);
	}
out:
	/* A mount that never happened leaves nothing for -u to report. */
	if (status && !img && s->status_path[0])
		unlink(s->status_path);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	return status;
}

/* --- gcemount [OPTIONS] IMAGE MOUNTPOINT --- */

const char gm_mount_o_help[] =
	"  -o OPT[,OPT...]    ro, rw; allow_other (others get normal permission\n"
	"                     checks, owners shown as stored); ids=mapped (default:\n"
	"                     the image's uid/gid 0 shown as yours, yours as 0) or\n"
	"                     ids=image (the image's numbers); symlinks=contained\n"
	"                     (default: targets shown relative, kept inside the\n"
	"                     mount) or symlinks=raw (the stored text); nonempty\n"
	"                     (mount over a non-empty directory); no_writeback_cache\n";

static void mount_usage(FILE *f)
{
	fprintf(f,
		"usage: gcemount [OPTIONS] IMAGE MOUNTPOINT\n"
		"Mounts the ext4 filesystem inside IMAGE (tar.gz or raw disk) on MOUNTPOINT\n"
		"with FUSE, without root, and returns once it is mounted (nosuid,nodev).\n"
		"Unmount with 'gcemount -u MOUNTPOINT': it waits until the image has been\n"
		"written back. MOUNTPOINT /dev/fd/N: serve a /dev/fuse descriptor that a\n"
		"launcher opened and mounted, in the foreground, until it unmounts.\n"
		"  -f, --foreground   serve in the foreground (messages on stderr)\n"
		"  -d, --debug        trace FUSE requests (implies -f)\n"
		"  -r, --read-only    mount read-only (same as -o ro)\n"
		"%s%s", gm_mount_o_help, gm_cli_common_help);
}

int gm_mount_parse_o(struct gm_fuse_config *fc, const char *arg)
{
	char buf[512], *save = NULL;

	if ((size_t)snprintf(buf, sizeof(buf), "%s", arg) >= sizeof(buf)) {
		gm_cli_error("-o: option list too long");
		return -1;
	}
	for (char *o = strtok_r(buf, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (!strcmp(o, "ro"))
			fc->read_only = true;
		else if (!strcmp(o, "rw"))
			fc->read_only = false;
		else if (!strcmp(o, "allow_other"))
			fc->allow_other = true;
		else if (!strcmp(o, "default_permissions"))
			continue; /* implied by allow_other; the owner's view has none */
		else if (!strcmp(o, "writeback_cache"))
			fc->writeback_cache = true;
		else if (!strcmp(o, "no_writeback_cache"))
			fc->writeback_cache = false;
		else if (!strcmp(o, "nonempty"))
			fc->nonempty = true;
		else if (!strcmp(o, "ids=mapped"))
			fc->ids = GM_FUSE_IDS_MAPPED;
		else if (!strcmp(o, "ids=image"))
			fc->ids = GM_FUSE_IDS_IMAGE;
		else if (!strcmp(o, "symlinks=contained"))
			fc->symlinks = GM_FUSE_SYMLINKS_CONTAINED;
		else if (!strcmp(o, "symlinks=raw"))
			fc->symlinks = GM_FUSE_SYMLINKS_RAW;
		else {
			gm_cli_error("-o %s: unknown mount option (see 'gcemount --help'; "
				     "nosuid,nodev are always on)", o);
			return -1;
		}
	}
	return 0;
}

bool gm_mount_refuse_stdio(const char *image, const struct gm_cli_common *c, const char *what)
{
	if (strcmp(image, "-") && !(c->output && !strcmp(c->output, "-")))
		return false;
	gm_cli_error("-: %s reads an image file and writes a file: standard input and "
		     "output are for the verbs (ls, cat, put, rm, repack, apply, check)", what);
	return true;
}

void gm_mount_paths(struct gm_mount_session *s, const char *image)
{
	gm_mount_absolute(image, s->image, sizeof(s->image));
	gm_mount_cache_dir(s->c.cache_dir, s->cache, sizeof(s->cache));
	s->c.cache_dir = s->cache;
	if (s->c.output) {
		gm_mount_absolute(s->c.output, s->output, sizeof(s->output));
		s->c.output = s->output;
	}
}

static int parse_mount_args(struct gm_mount_session *s, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		GM_CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int opt, r;

	s->fc.writeback_cache = true;
	s->lock_fd = -1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+fdrho:q", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			s->foreground = true;
			break;
		case 'd':
			s->fc.debug = true;
			s->foreground = true;
			break;
		case 'r':
			s->fc.read_only = true;
			break;
		case 'o':
			if (gm_mount_parse_o(&s->fc, optarg) < 0)
				return GM_EXIT_USAGE;
			break;
		case 'h':
			mount_usage(stdout);
			return -1;
		default:
			r = gm_cli_common_opt(&s->c, opt, optarg);
			if (r == 1)
				break;
			if (r == 0)
				mount_usage(stderr);
			return GM_EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		if (argc - optind == 1 && access(argv[optind], F_OK) < 0)
			gm_cli_error("unknown verb '%s' (see 'gcemount --help')", argv[optind]);
		else
			mount_usage(stderr);
		return GM_EXIT_USAGE;
	}
	if (gm_mount_refuse_stdio(argv[optind], &s->c, "a mount"))
		return GM_EXIT_USAGE;
	gm_mount_paths(s, argv[optind]);
	/* /dev/fd/N is a descriptor, not a place: resolving it would name
	 * /dev/fuse. */
	if (gm_fuse_fd_mountpoint(argv[optind + 1]) >= 0)
		snprintf(s->mountpoint, sizeof(s->mountpoint), "%s", argv[optind + 1]);
	else
		gm_mount_absolute(argv[optind + 1], s->mountpoint, sizeof(s->mountpoint));
	return 0;
}

int gm_cmd_mount(int argc, char **argv)
{
	struct gm_mount_session s = { 0 };
	struct gm_error err = { 0 };
	enum gm_fuse_fail fail;
	unsigned char code;
	int rc, pipefd[2];
	pid_t pid;

	rc = parse_mount_args(&s, argc, argv);
	if (rc)
		return rc < 0 ? GM_EXIT_OK : rc;
	if (access(s.image, F_OK) < 0) {
		gm_cli_error("%s: %s (not an image, nor a verb: see 'gcemount --help')",
			     argv[argc - 2], strerror(errno));
		return errno == ENOENT ? GM_EXIT_USAGE : GM_EXIT_FAIL;
	}
	/* Cheap checks first: extracting a big image to then fail is rude. */
	s.fc.mountpoint = s.mountpoint;
	fail = gm_fuse_precheck(&s.fc, &err);
	if (fail != GM_FUSE_OK)
		return gm_mount_error(&err);
	s.tty = !s.c.quiet && isatty(STDERR_FILENO);
	/* A launcher's descriptor: served here until the launcher unmounts; no
	 * lock or status for `gcemount -u` (the launcher waits for us). */
	if (gm_fuse_fd_mountpoint(s.mountpoint) >= 0)
		return serve(&s, -1);
	if (run_paths(&s) < 0)
		return GM_EXIT_FAIL;
	if (s.foreground)
		return serve(&s, -1);

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		gm_cli_error("pipe: %s", strerror(errno));
		return GM_EXIT_FAIL;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		gm_cli_error("fork: %s", strerror(errno));
		return GM_EXIT_FAIL;
	}
	if (pid == 0) {
		close(pipefd[0]);
		setsid();
		signal(SIGHUP, SIG_IGN);
		rc = serve(&s, pipefd[1]);
		fflush(NULL);
		_exit(rc);
	}
	close(pipefd[1]);
	while ((rc = (int)read(pipefd[0], &code, 1)) < 0 && errno == EINTR)
		;
	close(pipefd[0]);
	if (rc == 1) {
		if (code != 0)
			waitpid(pid, NULL, 0);
		return code;
	}
	gm_cli_error("the gcemount server died while mounting %s (see %s)", s.image, s.log_path);
	return GM_EXIT_FAIL;
}

/* --- gcemount -u MOUNTPOINT --- */

static void unmount_usage(FILE *f)
{
	fprintf(f, "usage: gcemount -u [-z] [-q] MOUNTPOINT\n"
		   "Unmounts and waits until the image has been written back; exit 4 if the\n"
		   "write-back failed (the edits then stay in the cache: --resume).\n"
		   "  -z, --lazy   detach now even if busy; write-back when no longer used\n");
}

int gm_cmd_unmount(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "unmount", no_argument, NULL, 'u' },
		{ "lazy", no_argument, NULL, 'z' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct gm_mount_session s = { 0 };
	struct gm_error err = { 0 };
	struct status st, seen = { 0 };
	bool lazy = false, quiet = false, mounted, said = false;
	int opt, fd, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "uzqh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'u':
			break;
		case 'z':
			lazy = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			unmount_usage(stdout);
			return GM_EXIT_OK;
		default:
			unmount_usage(stderr);
			return GM_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		unmount_usage(stderr);
		return GM_EXIT_USAGE;
	}
	gm_mount_absolute(argv[optind], s.mountpoint, sizeof(s.mountpoint));
	if (run_paths(&s) < 0)
		return GM_EXIT_FAIL;
	mounted = gm_fuse_is_mountpoint(s.mountpoint);
	if (!mounted && status_read(s.status_path, &st) < 0) {
		gm_cli_error("%s is not mounted by gcemount", s.mountpoint);
		return GM_EXIT_FAIL;
	}
	if (!mounted && !strcmp(st.state, "mounting") && st.pid > 0 && kill(st.pid, 0) == 0) {
		gm_cli_error("%s is not mounted yet: gcemount (pid %d) is still opening %s",
			     s.mountpoint, st.pid, st.image);
		return GM_EXIT_FAIL;
	}
	if (mounted && gm_fuse_unmount_path(s.mountpoint, lazy, &err) < 0) {
		gm_cli_error("%s", gm_error_msg(&err));
		return GM_EXIT_FAIL;
	}
	fd = open(s.lock_path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (!quiet)
			fprintf(stderr, "gcemount: unmounted %s (no gcemount server recorded for "
				"it: nothing to wait for)\n", s.mountpoint);
		return GM_EXIT_OK;
	}
	/* The server holds the lock until its write-back is over. */
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			gm_cli_error("%s: %s", s.lock_path, strerror(errno));
			close(fd);
			return GM_EXIT_FAIL;
		}
		if (!quiet && status_read(s.status_path, &st) == 0 &&
		    strcmp(st.msg, seen.msg) != 0 && !strcmp(st.state, "writing")) {
			if (!said && !lazy)
				fprintf(stderr, "gcemount: writing %s back...\n", st.image);
			else if (isatty(STDERR_FILENO))
				fprintf(stderr, "\rgcemount: %s   ", st.msg);
			said = true;
			seen = st;
		}
		usleep(100 * 1000);
	}
	if (said && isatty(STDERR_FILENO))
		fputc('\n', stderr);
	rc = status_read(s.status_path, &st);
	unlink(s.status_path);
	close(fd);
	if (rc < 0) {
		if (!quiet)
			fprintf(stderr, "gcemount: unmounted %s\n", s.mountpoint);
		return GM_EXIT_OK;
	}
	if (strcmp(st.state, "done") != 0) {
		gm_cli_error("the gcemount server of %s ended without writing %s back (killed?); "
			     "its edits wait in the cache: mount again with --resume, or run "
			     "'gcemount repack --resume %s'", s.mountpoint, st.image, st.image);
		return GM_EXIT_WRITEBACK;
	}
	if (st.exitcode != 0) {
		gm_cli_error("%s", st.msg);
		return st.exitcode;
	}
	if (!quiet)
		fprintf(stderr, "gcemount: unmounted %s; %s: %s\n", s.mountpoint, st.image,
			st.msg);
	return GM_EXIT_OK;
}
