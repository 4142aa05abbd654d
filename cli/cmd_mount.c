/* cmd_mount.c — `gcemount [OPTIONS] IMAGE MOUNTPOINT`, `gcemount -u
 * MOUNTPOINT` and `gcemount apply IMAGE --run SCRIPT`.
 *
 * A mount is served by one process (forked unless -f) that holds, for its
 * whole life, an flock on <runtime>/<key>.lock, where <key> names the mount
 * point and <runtime> is $XDG_RUNTIME_DIR/gcemount or /tmp/gcemount-<uid>.
 * It records its state in <key>.status (mounting, serving, writing, done)
 * and, in the background, logs to <cache>/mounts/<key>.log. `gcemount -u`
 * unmounts, then waits for that lock (= the write-back is over) and reports
 * the status the server left.
 *
 * `apply --run` mounts on a private temporary directory, runs SCRIPT there
 * (mount point as $1 and in GCEMOUNT_ROOT), unmounts and writes back. If
 * SCRIPT fails nothing is written: a tar.gz stays untouched and the cache's
 * edits are discarded; a raw disk (edited in place) keeps what SCRIPT wrote
 * before failing, and a warning says so. */
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

#include "cli/cli.h"
#include "fuse/gmfuse.h"

#define HINT "; without FUSE use 'gcemount apply IMAGE POLICY...' or " \
	     "'gcemount ls|cat|put IMAGE ...'"

struct mount_session {
	struct gm_cli_common c;
	struct gm_fuse_config fc;
	char image[PATH_MAX];
	char mountpoint[PATH_MAX];
	char cache[PATH_MAX];
	char output[PATH_MAX];
	char lock_path[PATH_MAX + 64];
	char status_path[PATH_MAX + 64];
	char log_path[PATH_MAX + 64];
	int lock_fd;
	bool foreground;
	bool in_log;      /* stderr is the log file */
	bool tty;         /* progress on the terminal */
	unsigned last_pct;
};

/* --- small helpers --- */

static void make_absolute(const char *in, char *out, size_t size)
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
static void cache_dir(const char *given, char *out, size_t size)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (given)
		make_absolute(given, out, size);
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
static int run_paths(struct mount_session *s)
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
static void status_write(struct mount_session *s, const char *state, int exitcode,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void status_write(struct mount_session *s, const char *state, int exitcode,
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
static void logf_(struct mount_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void logf_(struct mount_session *s, const char *fmt, ...)
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

static void fuse_log_hook(void *priv, const char *msg)
{
	logf_(priv, "%s", msg);
}

static void on_progress(void *priv, const char *stage, uint64_t done, uint64_t total)
{
	struct mount_session *s = priv;
	unsigned pct = total ? (unsigned)(done * 100 / total) : 100;

	if (s->tty)
		fprintf(stderr, "\rgcemount: %s %3u%% (%llu/%llu MiB)%s", stage, pct,
			(unsigned long long)(done >> 20), (unsigned long long)(total >> 20),
			done >= total ? "\n" : "");
	if (pct / 10 != s->last_pct / 10 || done >= total) {
		status_write(s, !strcmp(stage, "extract") ? "mounting" : "writing", -1,
			     "%s %u%%", stage, pct);
		if (s->in_log)
			logf_(s, "%s %u%%", stage, pct);
	}
	s->last_pct = pct;
}

/* gm_cli_open() with our own progress sink (terminal, status file, log). */
static int open_image(struct mount_session *s, struct gm_image **img, struct gm_view **v)
{
	return gm_cli_open_progress(s->image, &s->c, !s->fc.read_only, on_progress, s, img, v);
}

static int mount_error(enum gm_fuse_fail fail, const struct gm_error *err)
{
	(void)fail;
	gm_cli_error("cannot mount: %s" HINT, gm_error_msg(err));
	return GM_EXIT_NOFUSE;
}

/* --- the serving process --- */

/* Opens, mounts, tells the parent (ready_fd, -1 in the foreground) the exit
 * status once mounted or failed, serves, writes back. Returns the status. */
static int serve(struct mount_session *s, int ready_fd)
{
	struct gm_image *img = NULL;
	struct gm_view *v = NULL;
	struct gm_fuse *fu = NULL;
	struct gm_error err = { 0 };
	enum gm_fuse_fail fail;
	unsigned char code;
	int status, rc, logfd;
	bool changed;

	s->lock_fd = open(s->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		gm_cli_error("%s: another gcemount still serves or writes back this mount "
			     "point ('gcemount -u %s' waits for it)", s->mountpoint, s->mountpoint);
		s->status_path[0] = '\0';
		status = GM_EXIT_BUSY;
		goto tell;
	}
	status_write(s, "mounting", -1, "opening");
	status = open_image(s, &img, &v);
	if (status)
		goto tell;
	s->fc.mountpoint = s->mountpoint;
	s->fc.fsname = s->image;
	fail = gm_fuse_mount(v, &s->fc, &fu, &err);
	if (fail != GM_FUSE_OK) {
		status = mount_error(fail, &err);
		gm_view_close(v, NULL);
		gm_image_close(img);
		img = NULL;
		goto tell;
	}
	gm_fuse_set_log(fu, fuse_log_hook, s);
	status_write(s, "serving", -1, "mounted on %s", s->mountpoint);
	if (!s->c.quiet)
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
			logf_(s, "chdir /: %s", strerror(errno));
		logf_(s, "mounted %s on %s", s->image, s->mountpoint);
	}
tell:
	if (ready_fd >= 0) {
		code = (unsigned char)status;
		if (write(ready_fd, &code, 1) != 1)
			logf_(s, "cannot tell the parent the mount is ready");
		close(ready_fd);
	}
	if (status)
		goto out;

	rc = gm_fuse_serve(fu, &err);
	if (rc < 0)
		logf_(s, "%s", gm_error_msg(&err));
	if (gm_fuse_errors(fu))
		logf_(s, "%lu request(s) failed during the session (see above)", gm_fuse_errors(fu));
	gm_fuse_unmount(fu);
	fu = NULL;
	changed = !s->fc.read_only && (gm_image_dirty(img) || s->c.output);
	status_write(s, "writing", -1, "writing back");
	logf_(s, "session ended; %s", changed ? "writing the image back" :
	      "nothing changed: the image is not rewritten");
	status = gm_cli_finish(img, v, &s->c, !s->fc.read_only);
	if (status == GM_EXIT_OK && rc < 0)
		status = GM_EXIT_WRITEBACK;
	if (status == GM_EXIT_OK) {
		logf_(s, "done");
		status_write(s, "done", 0, "%s", changed ? "written back" :
			     "unchanged, not rewritten");
	} else {
		logf_(s, "write-back failed: the image is untouched; the edits stay in the "
		      "cache (mount again with --resume, or 'gcemount repack --resume %s')",
		      s->image);
		status_write(s, "done", status, "write-back of %s failed (see %s); the image is "
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

static void mount_usage(FILE *f)
{
	fprintf(f,
		"usage: gcemount [OPTIONS] IMAGE MOUNTPOINT\n"
		"Mounts the ext4 filesystem inside IMAGE (tar.gz or raw disk) on MOUNTPOINT\n"
		"with FUSE, without root, and returns once it is mounted. Unmount with\n"
		"'gcemount -u MOUNTPOINT': it waits until the image has been written back.\n"
		"  -f, --foreground   serve in the foreground (messages on stderr)\n"
		"  -d, --debug        trace FUSE requests (implies -f)\n"
		"  -r, --read-only    mount read-only (same as -o ro)\n"
		"  -o OPT[,OPT...]    ro, rw, allow_other (others get normal permission\n"
		"                     checks), no_writeback_cache\n"
		"%s", gm_cli_common_help);
}

static int parse_o(struct mount_session *s, const char *arg)
{
	char buf[512], *save = NULL;

	if ((size_t)snprintf(buf, sizeof(buf), "%s", arg) >= sizeof(buf))
		return -1;
	for (char *o = strtok_r(buf, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (!strcmp(o, "ro"))
			s->fc.read_only = true;
		else if (!strcmp(o, "rw"))
			s->fc.read_only = false;
		else if (!strcmp(o, "allow_other"))
			s->fc.allow_other = true;
		else if (!strcmp(o, "default_permissions"))
			continue; /* implied by allow_other; the owner's view has none */
		else if (!strcmp(o, "writeback_cache"))
			s->fc.writeback_cache = true;
		else if (!strcmp(o, "no_writeback_cache"))
			s->fc.writeback_cache = false;
		else {
			gm_cli_error("-o %s: unknown mount option (see 'gcemount --help')", o);
			return -1;
		}
	}
	return 0;
}

static int parse_mount_args(struct mount_session *s, int argc, char **argv, bool want_mp)
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
			if (parse_o(s, optarg) < 0)
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
	if (argc - optind != (want_mp ? 2 : 1)) {
		if (argc - optind == 1 && want_mp && access(argv[optind], F_OK) < 0)
			gm_cli_error("unknown verb '%s' (see 'gcemount --help')", argv[optind]);
		else
			mount_usage(stderr);
		return GM_EXIT_USAGE;
	}
	if (!strcmp(argv[optind], "-") || (s->c.output && !strcmp(s->c.output, "-"))) {
		gm_cli_error("-: a mount reads an image file and writes a file: standard input "
			     "and output are for the verbs (ls, cat, put, rm, repack, apply, check)");
		return GM_EXIT_USAGE;
	}
	make_absolute(argv[optind], s->image, sizeof(s->image));
	if (want_mp)
		make_absolute(argv[optind + 1], s->mountpoint, sizeof(s->mountpoint));
	cache_dir(s->c.cache_dir, s->cache, sizeof(s->cache));
	s->c.cache_dir = s->cache;
	if (s->c.output) {
		make_absolute(s->c.output, s->output, sizeof(s->output));
		s->c.output = s->output;
	}
	return 0;
}

int gm_cmd_mount(int argc, char **argv)
{
	struct mount_session s = { 0 };
	struct gm_error err = { 0 };
	enum gm_fuse_fail fail;
	unsigned char code;
	int rc, pipefd[2];
	pid_t pid;

	rc = parse_mount_args(&s, argc, argv, true);
	if (rc)
		return rc < 0 ? GM_EXIT_OK : rc;
	if (access(s.image, F_OK) < 0) {
		gm_cli_error("%s: %s (not an image, nor a verb: see 'gcemount --help')",
			     argv[argc - 2], strerror(errno));
		return errno == ENOENT ? GM_EXIT_USAGE : GM_EXIT_FAIL;
	}
	/* Cheap checks first: extracting a big image to then fail is rude. */
	fail = gm_fuse_precheck(s.mountpoint, s.fc.allow_other, &err);
	if (fail != GM_FUSE_OK)
		return mount_error(fail, &err);
	if (run_paths(&s) < 0)
		return GM_EXIT_FAIL;
	s.tty = !s.c.quiet && isatty(STDERR_FILENO);
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
	struct mount_session s = { 0 };
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
	make_absolute(argv[optind], s.mountpoint, sizeof(s.mountpoint));
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

/* --- gcemount apply IMAGE --run SCRIPT --- */

/* Runs in a child of the serving process: SCRIPT MOUNTPOINT, then unmounts
 * (which ends the session). Exits with the script's status (128+signal). */
static void run_script_and_unmount(const char *script, const char *mp, int report)
{
	struct gm_error err = { 0 };
	int wst = 0, code;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		setenv("GCEMOUNT_ROOT", mp, 1);
		if (strchr(script, '/') && access(script, X_OK) < 0 && access(script, R_OK) == 0)
			execl("/bin/sh", "sh", script, mp, (char *)NULL);
		execlp(script, script, mp, (char *)NULL);
		gm_cli_error("cannot run %s: %s", script, strerror(errno));
		_exit(127);
	}
	if (pid < 0) {
		gm_cli_error("fork: %s", strerror(errno));
		code = 126;
	} else {
		while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
			;
		code = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + WTERMSIG(wst);
	}
	for (int i = 0; gm_fuse_unmount_path(mp, false, &err) < 0; i++) {
		if (i == 20) {
			gm_cli_error("%s; detaching it: the write-back waits until it is free",
				     gm_error_msg(&err));
			gm_fuse_unmount_path(mp, true, &err);
			break;
		}
		usleep(100 * 1000);
	}
	/* the exit status through a pipe too: the serving loop's SIGCHLD
	 * handler (fuse/session.c) may reap this process before waitpid sees it */
	{
		unsigned char b = (unsigned char)code;

		if (write(report, &b, 1) != 1)
			code = 126;
	}
	_exit(code);
}

/* Drops the cache's edits of an aborted run (a tar.gz image is untouched
 * anyway; a raw disk is edited in place and keeps them). */
static void discard_edits(struct mount_session *s, bool raw)
{
	struct gm_image_opts io = { 0 };
	struct gm_image *img = NULL;

	if (raw)
		return;   /* undone in place (the script ran as one operation) */
	io.cache_dir = s->cache;
	io.recover = GM_RECOVER_DISCARD;
	if (gm_image_open(s->image, &io, &img, NULL) == 0)
		gm_image_close(img);
}

int gm_cmd_apply_run(const char *image, const char *script, const struct gm_cli_common *c)
{
	struct mount_session s = { 0 };
	struct gm_error err = { 0 };
	struct gm_image *img = NULL;
	struct gm_view *v = NULL;
	struct gm_fuse *fu = NULL;
	enum gm_fuse_fail fail;
	const char *tmp = getenv("TMPDIR");
	int status, rc, wst = 0, code, op, report[2] = { -1, -1 };
	bool raw;
	pid_t pid;

	s.c = *c;
	s.lock_fd = -1;
	s.foreground = true;
	s.fc.writeback_cache = true;
	s.tty = !c->quiet && isatty(STDERR_FILENO);
	if (!strcmp(image, "-") || (c->output && !strcmp(c->output, "-"))) {
		gm_cli_error("-: apply --run mounts the image: it reads an image file and writes a "
			     "file, not standard input or output");
		return GM_EXIT_USAGE;
	}
	make_absolute(image, s.image, sizeof(s.image));
	cache_dir(c->cache_dir, s.cache, sizeof(s.cache));
	s.c.cache_dir = s.cache;
	if (c->output) {
		make_absolute(c->output, s.output, sizeof(s.output));
		s.c.output = s.output;
	}
	snprintf(s.mountpoint, sizeof(s.mountpoint), "%s/gcemount-run.XXXXXX",
		 tmp && tmp[0] == '/' ? tmp : "/tmp");
	if (!mkdtemp(s.mountpoint)) {
		gm_cli_error("cannot create a temporary mount point: %s", strerror(errno));
		return GM_EXIT_FAIL;
	}
	fail = gm_fuse_precheck(s.mountpoint, false, &err);
	if (fail != GM_FUSE_OK) {
		status = mount_error(fail, &err);
		goto out;
	}
	status = open_image(&s, &img, &v);
	if (status)
		goto out;
	raw = gm_image_info(img)->container == GM_CONTAINER_RAW;
	s.fc.mountpoint = s.mountpoint;
	s.fc.fsname = s.image;
	fail = gm_fuse_mount(v, &s.fc, &fu, &err);
	if (fail != GM_FUSE_OK) {
		status = mount_error(fail, &err);
		gm_view_close(v, NULL);
		gm_image_close(img);
		goto out;
	}
	gm_fuse_set_log(fu, fuse_log_hook, &s);
	/* The whole script is one operation: a failure undoes it; a raw disk,
	 * edited in place, byte for byte (exact). gm_cli_finish keeps it. */
	op = gm_view_op_begin(v, raw ? GM_OP_EXACT : 0);
	if (op == 0 && pipe2(report, O_CLOEXEC) < 0)
		report[0] = report[1] = -1;
	fflush(NULL);
	pid = op < 0 || report[0] < 0 ? -1 : fork();
	if (pid == 0) {
		close(report[0]);
		run_script_and_unmount(script, s.mountpoint, report[1]);
	}
	if (report[1] >= 0)
		close(report[1]);
	if (pid < 0) {
		if (op < 0)
			gm_cli_error("%s: %s", s.image, gm_view_errmsg(v));
		else
			gm_cli_error("fork: %s", strerror(errno));
		if (report[0] >= 0)
			close(report[0]);
		gm_fuse_unmount(fu);
		gm_view_close(v, NULL);
		gm_image_close(img);
		status = GM_EXIT_FAIL;
		goto out;
	}
	rc = gm_fuse_serve(fu, &err);
	if (rc < 0)
		gm_cli_error("%s", gm_error_msg(&err));
	{
		unsigned char b;
		pid_t w;

		while ((w = waitpid(pid, &wst, 0)) < 0 && errno == EINTR)
			;
		if (w == pid)
			code = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + WTERMSIG(wst);
		else    /* reaped by the serving loop: what the runner said */
			code = read(report[0], &b, 1) == 1 ? b : 126;
		close(report[0]);
	}
	gm_fuse_unmount(fu);
	if (code == 0 && rc == 0) {
		status = gm_cli_finish(img, v, &s.c, true);
		goto out;
	}
	gm_view_op_end(v, -ECANCELED);
	if (code != 0)
		gm_cli_error("%s exited with status %d: nothing written back, %s is untouched",
			     script, code, s.image);
	else
		gm_cli_error("the FUSE session failed: nothing written back, %s is untouched",
			     s.image);
	gm_view_close(v, NULL);
	gm_image_close(img);
	discard_edits(&s, raw);
	status = GM_EXIT_FAIL;
out:
	rmdir(s.mountpoint);
	return status;
}
