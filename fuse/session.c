/* session.c — checking, mounting, serving and unmounting one FUSE session. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuse/fuse_private.h"

#define FUSERMOUNT_PATH "/usr/bin/fusermount3"

/* Mount points in /proc/self/mountinfo are octal-escaped (\040 for ' '). */
static void unescape_mountinfo(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

bool gm_fuse_is_mountpoint(const char *path)
{
	char real[PATH_MAX], *line = NULL;
	size_t cap = 0;
	bool found = false;
	FILE *fp;

	if (!realpath(path, real)) {
		/* A dead FUSE mount cannot be stat()ed: resolve its parent. */
		char dir[PATH_MAX], *slash;
		const char *base;

		if (strlen(path) >= sizeof(dir))
			return false;
		strcpy(dir, path);
		slash = strrchr(dir, '/');
		base = slash ? path + (slash - dir) + 1 : path;
		if (slash == dir)
			strcpy(dir, "/");
		else if (slash)
			*slash = '\0';
		else
			strcpy(dir, ".");
		if (!*base || !realpath(dir, real) ||
		    strlen(real) + strlen(base) + 2 > sizeof(real))
			return false;
		if (strcmp(real, "/"))
			strcat(real, "/");
		strcat(real, base);
	}
	fp = fopen("/proc/self/mountinfo", "re");
	if (!fp)
		return false;
	while (!found && getline(&line, &cap, fp) > 0) {
		char *save = NULL, *tok = strtok_r(line, " ", &save);

		for (int i = 0; tok && i < 4; i++)
			tok = strtok_r(NULL, " ", &save);
		if (tok) {
			unescape_mountinfo(tok);
			found = !strcmp(tok, real);
		}
	}
	free(line);
	fclose(fp);
	return found;
}

static bool find_fusermount(char *out, size_t size)
{
	const char *path = getenv("PATH");
	struct stat st;

	if (stat(FUSERMOUNT_PATH, &st) == 0) {
		snprintf(out, size, "%s", FUSERMOUNT_PATH);
		return true;
	}
	while (path && *path) {
		size_t len = strcspn(path, ":");

		if (len && snprintf(out, size, "%.*s/fusermount3", (int)len, path) < (int)size &&
		    stat(out, &st) == 0)
			return true;
		path += len + (path[len] == ':');
	}
	return false;
}

static bool fuse_conf_allows_other(void)
{
	char line[256];
	bool ok = false;
	FILE *fp = fopen("/etc/fuse.conf", "re");

	if (!fp)
		return false;
	while (!ok && fgets(line, sizeof(line), fp))
		ok = !strncmp(line, "user_allow_other", 16) &&
		     (line[16] == '\n' || line[16] == '\0' || line[16] == ' ');
	fclose(fp);
	return ok;
}

int gm_fuse_fd_mountpoint(const char *mountpoint)
{
	long n = 0;

	/* libfuse's own rule (fuse_mnt_parse_fuse_fd): "/dev/fd/" digits. */
	if (strncmp(mountpoint, "/dev/fd/", 8) || !mountpoint[8])
		return -1;
	for (const char *p = mountpoint + 8; *p; p++) {
		if (*p < '0' || *p > '9' || n > INT_MAX / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	return n <= INT_MAX ? (int)n : -1;
}

/* A descriptor of /dev/fuse (char 10:229) that a launcher mounted. */
static enum gm_fuse_fail check_fd(const char *mountpoint, int fd, struct gm_error *err)
{
	struct stat st;

	if (fcntl(fd, F_GETFD) < 0 || fstat(fd, &st) < 0) {
		gm_error_set(err, -EBADF, "%s: no such open descriptor (a launcher passes one "
			     "it opened on /dev/fuse and mounted)", mountpoint);
		return GM_FUSE_BAD_MOUNTPOINT;
	}
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 10 || minor(st.st_rdev) != 229) {
		gm_error_set(err, -EINVAL, "%s is not a /dev/fuse descriptor (a launcher passes "
			     "one it opened on /dev/fuse and mounted)", mountpoint);
		return GM_FUSE_BAD_MOUNTPOINT;
	}
	return GM_FUSE_OK;
}

/* Non-zero when dir holds anything; its first name in first. */
static int dir_entries(const char *dir, char *first, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;   /* unreadable: fusermount3 or mount(2) will say */
	while ((de = readdir(d)) && !n) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(first, size, "%s", de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

/* "NoNewPrivs: 1" in /proc/self/status: setuid programs do not gain root. */
static bool no_new_privs(void)
{
	char line[128];
	bool on = false;
	FILE *fp = fopen("/proc/self/status", "re");

	if (!fp)
		return false;
	while (fgets(line, sizeof(line), fp))
		if (!strncmp(line, "NoNewPrivs:", 11))
			on = atoi(line + 11) != 0;
	fclose(fp);
	return on;
}

static enum gm_fuse_fail check_dir(const struct gm_fuse_config *cfg, struct gm_error *err)
{
	const char *mp = cfg->mountpoint;
	char first[NAME_MAX + 1];
	struct stat st;

	if (stat(mp, &st) < 0) {
		gm_error_set(err, -errno, errno == ENOENT ? "mount point %s does not exist "
			     "(create it: mkdir %s)" : "mount point %s: %s",
			     mp, errno == ENOENT ? mp : strerror(errno));
		return GM_FUSE_BAD_MOUNTPOINT;
	}
	if (!S_ISDIR(st.st_mode)) {
		gm_error_set(err, -ENOTDIR, "mount point %s is not a directory", mp);
		return GM_FUSE_BAD_MOUNTPOINT;
	}
	if (gm_fuse_is_mountpoint(mp)) {
		gm_error_set(err, -EBUSY, "mount point %s is busy: something is already mounted "
			     "there (unmount it first)", mp);
		return GM_FUSE_BAD_MOUNTPOINT;
	}
	if (geteuid() != 0) {
		/* fusermount3's own rules, said before the image is opened. */
		if ((st.st_mode & S_ISVTX) && st.st_uid != getuid()) {
			gm_error_set(err, -EPERM, "mount point %s is a sticky directory that is "
				     "not yours: use a directory you own (mkdir ~/mnt)", mp);
			return GM_FUSE_BAD_MOUNTPOINT;
		}
		if (access(mp, W_OK) < 0) {
			gm_error_set(err, -EACCES, "mount point %s is not writable by you "
				     "(fusermount3 requires it): use a directory you own "
				     "(mkdir ~/mnt)", mp);
			return GM_FUSE_BAD_MOUNTPOINT;
		}
	}
	if (!cfg->nonempty && dir_entries(mp, first, sizeof(first))) {
		gm_error_set(err, -ENOTEMPTY, "mount point %s is not empty (it holds '%s'...): "
			     "the mount would hide its files; use an empty directory, or "
			     "-o nonempty to mount over them", mp, first);
		return GM_FUSE_BAD_MOUNTPOINT;
	}
	return GM_FUSE_OK;
}

static enum gm_fuse_fail check_fusermount(const struct gm_fuse_config *cfg, struct gm_error *err)
{
	char fm[PATH_MAX];
	struct statvfs sv;
	struct stat st;

	if (!find_fusermount(fm, sizeof(fm))) {
		gm_error_set(err, -ENOENT, "fusermount3 is not installed (Debian package "
			     "fuse3): unprivileged FUSE mounts need it");
		return GM_FUSE_NO_FUSERMOUNT;
	}
	if (stat(fm, &st) < 0 || st.st_uid != 0 || !(st.st_mode & S_ISUID)) {
		gm_error_set(err, -EPERM, "%s is not setuid root: unprivileged FUSE "
			     "mounts need it", fm);
		return GM_FUSE_NO_FUSERMOUNT;
	}
	if (statvfs(fm, &sv) == 0 && (sv.f_flag & ST_NOSUID)) {
		gm_error_set(err, -EPERM, "%s is on a nosuid filesystem, so its setuid bit "
			     "has no effect and unprivileged FUSE mounts fail: mount as root, "
			     "or let a launcher pass /dev/fd/N", fm);
		return GM_FUSE_NO_FUSERMOUNT;
	}
	if (no_new_privs()) {
		gm_error_set(err, -EPERM, "this process runs with no_new_privs (NoNewPrivs in "
			     "/proc/self/status: a container or a NoNewPrivileges= service), "
			     "so setuid %s cannot mount: mount as root, or let a launcher "
			     "pass /dev/fd/N", fm);
		return GM_FUSE_NO_FUSERMOUNT;
	}
	if (cfg->allow_other && !fuse_conf_allows_other()) {
		gm_error_set(err, -EPERM, "-o allow_other needs a line 'user_allow_other' "
			     "in /etc/fuse.conf when not mounting as root");
		return GM_FUSE_MOUNT_FAILED;
	}
	return GM_FUSE_OK;
}

enum gm_fuse_fail gm_fuse_precheck(const struct gm_fuse_config *cfg, struct gm_error *err)
{
	enum gm_fuse_fail fail;
	struct stat st;
	int fd = gm_fuse_fd_mountpoint(cfg->mountpoint);

	if (fd >= 0)
		return check_fd(cfg->mountpoint, fd, err);
	fail = check_dir(cfg, err);
	if (fail != GM_FUSE_OK)
		return fail;
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT || e == ENODEV || e == ENXIO)
			gm_error_set(err, -e, "no FUSE device: /dev/fuse is missing (FUSE kernel "
				     "module not loaded, or a container without /dev/fuse)");
		else if (stat("/dev/fuse", &st) == 0)
			gm_error_set(err, -e, "/dev/fuse is not usable by you (%s; mode %04o, "
				     "owner uid %u): FUSE needs it readable and writable",
				     strerror(e), (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
		else
			gm_error_set(err, -e, "cannot open /dev/fuse: %s", strerror(e));
		return GM_FUSE_NO_DEVICE;
	}
	close(fd);
	return geteuid() != 0 ? check_fusermount(cfg, err) : GM_FUSE_OK;
}

/* Whether path lies under one of the places Ubuntu's AppArmor profile for
 * fusermount3 allows ($HOME, /mnt, /media, /tmp, $XDG_RUNTIME_DIR). */
static bool apparmor_allowed_place(const char *path)
{
	const char *places[] = { getenv("HOME"), "/mnt", "/media", "/tmp",
				 getenv("XDG_RUNTIME_DIR") };

	for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
		size_t len = places[i] ? strlen(places[i]) : 0;

		while (len > 1 && places[i][len - 1] == '/')
			len--;
		if (len && places[i][0] == '/' && !strncmp(path, places[i], len) &&
		    (path[len] == '/' || !path[len]))
			return true;
	}
	return false;
}

/* One line for a refused mount: fusermount3's or libfuse's own message
 * (msg), explained where the cause is known. */
static void explain_mount_failure(const char *mp, const char *msg, struct gm_error *err)
{
	if (strstr(msg, "fusermount3") && strstr(msg, "Permission denied")) {
		/* mount(2) refused a setuid-root helper: a security module. */
		if (!apparmor_allowed_place(mp))
			gm_error_set(err, -EACCES, "%s (mount point %s): a security policy refused "
				     "it; Ubuntu's AppArmor profile lets fusermount3 mount only "
				     "under $HOME, /mnt, /media, /tmp or $XDG_RUNTIME_DIR: use a "
				     "mount point there", msg, mp);
		else
			gm_error_set(err, -EACCES, "%s (mount point %s): a security policy "
				     "(AppArmor, SELinux) refused it", msg, mp);
		return;
	}
	gm_error_set(err, -EIO, "%s (mount point %s)",
		     msg[0] ? msg : "mount(2) and fusermount3 both failed", mp);
}

/* The last non-empty line of what libfuse/fusermount3 wrote to fd. */
static void last_line(int fd, char *out, size_t size)
{
	char buf[4096];
	ssize_t n;
	char *p, *end;

	out[0] = '\0';
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return;
	buf[n] = '\0';
	end = buf + n;
	while (end > buf && (end[-1] == '\n' || end[-1] == ' '))
		*--end = '\0';
	p = strrchr(buf, '\n');
	p = p ? p + 1 : buf;
	n = (ssize_t)strlen(p);
	if ((size_t)n >= size)
		n = (ssize_t)size - 1;
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
}

enum gm_fuse_fail gm_fuse_mount(struct gm_view *fs, const struct gm_fuse_config *cfg,
				struct gm_fuse **out, struct gm_error *err)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	enum gm_fuse_fail fail;
	struct gm_fuse *f = NULL;
	char opts[PATH_MAX + 128], msg[1024];
	int saved = -1, cap = -1, rc;

	fail = gm_fuse_precheck(cfg, err);
	if (fail != GM_FUSE_OK)
		return fail;
	fail = GM_FUSE_INTERNAL;
	f = calloc(1, sizeof(*f));
	if (!f || !(f->mountpoint = strdup(cfg->mountpoint)) || !(f->iobuf = malloc(GM_FUSE_MAX_IO))) {
		gm_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	pthread_mutex_init(&f->lock, NULL);
	f->fs = fs;
	gm_fuse_root_vino = gm_view_root(fs);
	f->read_only = cfg->read_only || gm_view_read_only(fs);
	f->allow_other = cfg->allow_other;
	f->sigint_to_child = cfg->sigint_to_child;
	/* Under a launcher's mount a signal ends the session without an
	 * unmount, which is what hands cached writes over: write through. */
	f->writeback_cache = cfg->writeback_cache && gm_fuse_fd_mountpoint(cfg->mountpoint) < 0;
	f->mounter = getuid();
	f->map_ids = cfg->ids == GM_FUSE_IDS_MAPPED && !cfg->allow_other;
	f->map_uid = getuid();
	f->map_gid = getgid();
	f->contain_links = cfg->symlinks == GM_FUSE_SYMLINKS_CONTAINED;
	/* fsname is shown by mount(8); commas would split the option list.
	 * nosuid,nodev always: an image is a stranger's. */
	snprintf(opts, sizeof(opts), "fsname=%s,subtype=gcemount,nosuid,nodev%s%s",
		 cfg->fsname && !strpbrk(cfg->fsname, ",\\ \t\n") ? cfg->fsname : "gcemount",
		 f->read_only ? ",ro" : "",
		 cfg->allow_other ? ",allow_other,default_permissions" : "");
	if (fuse_opt_add_arg(&args, "gcemount") < 0 || fuse_opt_add_arg(&args, "-o") < 0 ||
	    fuse_opt_add_arg(&args, opts) < 0 || (cfg->debug && fuse_opt_add_arg(&args, "-d") < 0)) {
		gm_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	/* libfuse and fusermount3 talk on stderr: capture it for one message. */
	fflush(stderr);
	cap = memfd_create("gcemount-mount", MFD_CLOEXEC);
	saved = dup(STDERR_FILENO);
	if (cap >= 0 && saved >= 0 && !cfg->debug)
		dup2(cap, STDERR_FILENO);
	f->se = fuse_session_new(&args, &gm_fuse_ops, sizeof(gm_fuse_ops), f);
	rc = f->se ? fuse_session_mount(f->se, cfg->mountpoint) : -1;
	fflush(stderr);
	if (saved >= 0) {
		dup2(saved, STDERR_FILENO);
		close(saved);
	}
	if (!f->se) {
		gm_error_set(err, -EINVAL, "cannot start a FUSE session");
		goto out;
	}
	if (rc != 0) {
		if (cap >= 0)
			last_line(cap, msg, sizeof(msg));
		else
			msg[0] = '\0';
		explain_mount_failure(cfg->mountpoint, msg, err);
		fail = GM_FUSE_MOUNT_FAILED;
		goto out;
	}
	f->mounted = true;
	*out = f;
	f = NULL;
	fail = GM_FUSE_OK;
out:
	if (cap >= 0)
		close(cap);
	fuse_opt_free_args(&args);
	gm_fuse_unmount(f);
	return fail;
}

void gm_fuse_set_log(struct gm_fuse *f, gm_fuse_log_fn fn, void *priv)
{
	f->log = fn;
	f->log_priv = priv;
}

unsigned long gm_fuse_errors(const struct gm_fuse *f)
{
	return f->errors;
}

/* A signal asks for a clean end: unmount from a child process (the kernel
 * then hands us its cached dirty pages before the session ends); a second
 * signal ends the session at once. Both are async-signal-safe. */
static struct fuse_session *sig_se;
static const char *sig_argv[6];
static volatile sig_atomic_t sig_count;
static volatile sig_atomic_t sig_child;   /* the unmounting child, to reap */

static void on_signal(int sig)
{
	pid_t pid;

	(void)sig;
	if (sig_count++ > 0 || !sig_argv[0]) {
		if (sig_se)
			fuse_session_exit(sig_se);
		return;
	}
	pid = fork();
	if (pid == 0) {
		if (geteuid() == 0)
			_exit(umount2(sig_argv[4], 0) == 0 ? 0 : 1);
		execv(sig_argv[0], (char *const *)sig_argv);
		_exit(127);
	}
	if (pid > 0)
		sig_child = pid;
	if (pid < 0 && sig_se)
		fuse_session_exit(sig_se);
}

/* Reaps only our own unmounting child: the caller's children (shell's
 * command) are the caller's to wait for. */
static void reap_children(int sig)
{
	int saved = errno;

	(void)sig;
	if (sig_child > 0 && waitpid(sig_child, NULL, WNOHANG) > 0)
		sig_child = 0;
	errno = saved;
}

int gm_fuse_serve(struct gm_fuse *f, struct gm_error *err)
{
	static char fm[PATH_MAX];
	struct sigaction sa = { 0 }, old_int, old_term, old_hup, old_pipe, old_chld, old_quit;
	int rc, frc;

	sig_se = f->se;
	sig_count = 0;
	sig_child = 0;
	sig_argv[0] = NULL;
	/* A launcher's /dev/fd/N mount is the launcher's to unmount: a signal
	 * ends the session at once. */
	if (gm_fuse_fd_mountpoint(f->mountpoint) < 0 &&
	    (find_fusermount(fm, sizeof(fm)) || geteuid() == 0)) {
		sig_argv[0] = fm;
		sig_argv[1] = "-u";
		sig_argv[2] = "-q";
		sig_argv[3] = "--";
		sig_argv[4] = f->mountpoint;
		sig_argv[5] = NULL;
	}
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGCHLD);   /* sig_child is set before it is reaped */
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	if (f->sigint_to_child)
		sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, &old_int);
	sa.sa_handler = f->sigint_to_child ? SIG_IGN : SIG_DFL;
	sigaction(SIGQUIT, f->sigint_to_child ? &sa : NULL, &old_quit);
	sa.sa_handler = reap_children;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, &old_chld);
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	sigaction(SIGPIPE, &sa, &old_pipe);

	rc = fuse_session_loop(f->se);

	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	sigaction(SIGCHLD, &old_chld, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	if (sig_child > 0)
		waitpid(sig_child, NULL, 0);
	sig_child = 0;
	sig_se = NULL;
	if (rc < 0)
		gm_error_set(err, rc, "FUSE session failed: %s", strerror(-rc));
	else if (rc > 0)
		rc = 0; /* ended by a signal */

	pthread_mutex_lock(&f->lock);
	frc = gm_fuse_purge_orphans(f);
	if (frc == 0 && !f->read_only)
		frc = gm_view_flush(f->fs);
	if (frc < 0 && rc == 0) {
		gm_error_set(err, frc, "cannot flush the filesystem: %s", gm_view_errmsg(f->fs));
		rc = frc;
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

void gm_fuse_unmount(struct gm_fuse *f)
{
	if (!f)
		return;
	if (f->se) {
		if (f->mounted)
			fuse_session_unmount(f->se);
		fuse_session_destroy(f->se);
	}
	if (f->fs)
		pthread_mutex_destroy(&f->lock);
	gm_fuse_names_free(f);
	free(f->opens);
	free(f->iobuf);
	free(f->mountpoint);
	free(f);
}

int gm_fuse_unmount_path(const char *path, bool lazy, struct gm_error *err)
{
	char fm[PATH_MAX], msg[1024];
	int cap, status = 0, e;
	pid_t pid;

	if (geteuid() == 0) {
		if (umount2(path, lazy ? MNT_DETACH : 0) == 0)
			return 0;
		e = errno;
		return gm_error_set(err, -e, "cannot unmount %s: %s%s", path, strerror(e),
				    e == EBUSY ? " (still in use: close files and leave the "
				    "directory, or use -z)" : "");
	}
	if (!find_fusermount(fm, sizeof(fm)))
		return gm_error_set(err, -ENOENT, "cannot unmount %s: fusermount3 is not "
				    "installed", path);
	cap = memfd_create("gcemount-umount", MFD_CLOEXEC);
	pid = fork();
	if (pid < 0) {
		e = errno;
		if (cap >= 0)
			close(cap);
		return gm_error_set(err, -e, "cannot unmount %s: fork: %s", path, strerror(e));
	}
	if (pid == 0) {
		if (cap >= 0)
			dup2(cap, STDERR_FILENO);
		if (lazy)
			execl(fm, "fusermount3", "-u", "-z", "--", path, (char *)NULL);
		else
			execl(fm, "fusermount3", "-u", "--", path, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (cap >= 0)
			close(cap);
		return 0;
	}
	msg[0] = '\0';
	if (cap >= 0) {
		last_line(cap, msg, sizeof(msg));
		close(cap);
	}
	e = strstr(msg, "busy") ? EBUSY : EIO;
	return gm_error_set(err, -e, "cannot unmount %s: %s%s", path,
			    msg[0] ? msg : "fusermount3 -u failed",
			    e == EBUSY ? " (close files and leave the directory, or use -z)" : "");
}
