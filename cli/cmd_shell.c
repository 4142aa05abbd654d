/* cmd_shell.c — `gcemount shell IMAGE [-- CMD...]` and `gcemount apply
 * IMAGE --run SCRIPT`: one session that mounts IMAGE on a private temporary
 * directory, runs a command in it, unmounts and writes back.
 *
 * The command runs with GCEMOUNT_ROOT set to the mount point (shell: as its
 * working directory; --run: also as SCRIPT's $1). Only an exit status 0
 * writes back; otherwise nothing is written: the whole session is one
 * operation (editor/fs/fs.h), undone when the command fails: a tar.gz stays
 * untouched and the cache as it was; a raw disk, edited in place, is put
 * back byte for byte.
 *
 * Processes: this one serves FUSE; a helper child runs the command as its
 * own child, waits for it and unmounts, which ends the serving. Ctrl-C
 * belongs to the command: the server and the helper ignore SIGINT/SIGQUIT. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/mount_session.h"

struct run {
	char **argv;         /* the command */
	bool script;         /* apply --run: SCRIPT gets the mount point as $1 */
	bool cwd_root;       /* start in the mount point */
};

static int wait_status(pid_t pid)
{
	int wst = 0;

	while (waitpid(pid, &wst, 0) < 0) {
		if (errno != EINTR)
			return 126;
	}
	return WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + WTERMSIG(wst);
}

/* The command's process: never returns. */
static void exec_command(const struct run *r, const char *mp)
{
	char **argv = r->argv, *with_mp[3];
	size_t n = 0;

	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	setenv("GCEMOUNT_ROOT", mp, 1);
	if (r->cwd_root && chdir(mp) < 0) {
		gm_cli_error("cannot enter %s: %s", mp, strerror(errno));
		_exit(126);
	}
	if (r->script) {
		with_mp[0] = argv[0];
		with_mp[1] = (char *)mp;
		with_mp[2] = NULL;
		argv = with_mp;
	}
	while (argv[n])
		n++;
	/* A script file without its x bit (often so in a checkout): run by sh. */
	if (strchr(argv[0], '/') && access(argv[0], X_OK) < 0 && access(argv[0], R_OK) == 0) {
		char **sh = calloc(n + 2, sizeof(*sh));

		if (sh) {
			sh[0] = (char *)"sh";
			memcpy(sh + 1, argv, (n + 1) * sizeof(*sh));
			execv("/bin/sh", sh);
		}
	}
	execvp(argv[0], argv);
	gm_cli_error("cannot run %s: %s", argv[0], strerror(errno));
	_exit(127);
}

/* The helper: runs the command, then unmounts (which ends the session).
 * Exits with the command's status (128+signal), which it also writes to
 * report: the serving loop's SIGCHLD handler (fuse/session.c) may reap the
 * helper before waitpid sees its status. Never returns. */
static void run_and_unmount(const struct run *r, const char *mp, int report)
{
	struct gm_error err = { 0 };
	int code;
	pid_t pid;

	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	pid = fork();
	if (pid == 0)
		exec_command(r, mp);
	if (pid < 0) {
		gm_cli_error("fork: %s", strerror(errno));
		code = 126;
	} else {
		code = wait_status(pid);
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
	{
		unsigned char b = (unsigned char)code;

		if (write(report, &b, 1) != 1)
			code = 126;
	}
	_exit(code);
}

/* Drops the cache's edits of an aborted run (a tar.gz image is untouched
 * anyway; a raw disk is edited in place and keeps them). */
static void discard_edits(struct gm_mount_session *s, bool raw)
{
	struct gm_image_opts io = { 0 };
	struct gm_image *img = NULL;

	if (raw)
		return;   /* undone in place (the session was one operation) */
	io.cache_dir = s->cache;
	io.recover = GM_RECOVER_DISCARD;
	if (gm_image_open(s->image, &io, &img, NULL) == 0)
		gm_image_close(img);
}

/* Mounts s->image on a fresh directory in $TMPDIR, runs r, unmounts, writes
 * back when r exited 0. Returns the exit status. */
static int run_in_mount(struct gm_mount_session *s, const struct run *r)
{
	struct gm_error err = { 0 };
	struct gm_image *img = NULL;
	struct gm_view *v = NULL;
	struct gm_fuse *fu = NULL;
	enum gm_fuse_fail fail;
	const char *tmp = getenv("TMPDIR");
	int status, rc, code, op, report[2] = { -1, -1 };
	bool raw, writable = !s->fc.read_only;
	pid_t pid;

	s->lock_fd = -1;
	s->foreground = true;
	s->tty = !s->c.quiet && isatty(STDERR_FILENO);
	snprintf(s->mountpoint, sizeof(s->mountpoint), "%s/gcemount-run.XXXXXX",
		 tmp && tmp[0] == '/' ? tmp : "/tmp");
	if (!mkdtemp(s->mountpoint)) {
		gm_cli_error("cannot create a temporary mount point: %s", strerror(errno));
		return GM_EXIT_FAIL;
	}
	s->fc.mountpoint = s->mountpoint;
	s->fc.fsname = s->image;
	s->fc.sigint_to_child = true;
	fail = gm_fuse_precheck(&s->fc, &err);
	if (fail != GM_FUSE_OK) {
		status = gm_mount_error(&err);
		goto out;
	}
	status = gm_mount_open_image(s, &img, &v);
	if (status)
		goto out;
	raw = gm_image_info(img)->container == GM_CONTAINER_RAW;
	fail = gm_fuse_mount(v, &s->fc, &fu, &err);
	if (fail != GM_FUSE_OK) {
		status = gm_mount_error(&err);
		gm_view_close(v, NULL);
		gm_image_close(img);
		goto out;
	}
	gm_fuse_set_log(fu, gm_mount_log_hook, s);
	if (!r->script && !s->c.quiet && isatty(STDIN_FILENO))
		fprintf(stderr, "gcemount: %s is mounted on %s; exit status 0 writes it back, "
			"any other discards the edits\n", s->image, s->mountpoint);
	/* The whole session is one operation: a failure undoes it; a raw
	 * disk, edited in place, byte for byte (exact). gm_cli_finish keeps
	 * it. */
	op = gm_cli_op_begin(s->image, img, v, raw);
	if (op == 0 && pipe2(report, O_CLOEXEC) < 0)
		report[0] = report[1] = -1;
	fflush(NULL);
	pid = op != 0 || report[0] < 0 ? -1 : fork();
	if (pid == 0) {
		close(report[0]);
		run_and_unmount(r, s->mountpoint, report[1]);
	}
	if (report[1] >= 0)
		close(report[1]);
	if (pid < 0) {
		if (op == 0) {
			gm_cli_error("fork: %s", strerror(errno));
			gm_view_op_end(v, -ECANCELED);
			gm_cli_op_end(img, false);
		}
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
	code = wait_status(pid);
	{
		unsigned char b;

		/* what the helper said: its own status may have been reaped */
		if (read(report[0], &b, 1) == 1)
			code = b;
		close(report[0]);
	}
	gm_fuse_unmount(fu);
	if (code == 0 && rc == 0) {
		status = gm_cli_finish(img, v, &s->c, writable);
		goto out;
	}
	gm_view_op_end(v, -ECANCELED);
	gm_cli_op_end(img, false);
	if (code != 0)
		gm_cli_error("%s exited with status %d: nothing written back, %s is untouched",
			     r->argv[0], code, s->image);
	else
		gm_cli_error("the FUSE session failed: nothing written back, %s is untouched",
			     s->image);
	gm_view_close(v, NULL);
	gm_image_close(img);
	if (writable)
		discard_edits(s, raw);
	status = GM_EXIT_FAIL;
out:
	rmdir(s->mountpoint);
	return status;
}

int gm_cmd_apply_run(const char *image, const char *script, const struct gm_cli_common *c)
{
	struct gm_mount_session s = { 0 };
	char *argv[] = { (char *)script, NULL };
	struct run r = { .argv = argv, .script = true };

	if (gm_mount_refuse_stdio(image, c, "apply --run mounts the image: it"))
		return GM_EXIT_USAGE;
	s.c = *c;
	s.fc.writeback_cache = true;
	gm_mount_paths(&s, image);
	return run_in_mount(&s, &r);
}

static void shell_usage(FILE *f)
{
	fprintf(f,
		"usage: gcemount shell [OPTIONS] IMAGE [-- CMD [ARG...]]\n"
		"Mounts IMAGE on a private temporary directory, runs CMD (default: $SHELL)\n"
		"there with GCEMOUNT_ROOT set to it, unmounts, and writes IMAGE back only\n"
		"when CMD exits 0; any other status writes nothing (exit 1). Needs FUSE\n"
		"(exit 5 otherwise: use the verbs apply, ls, cat, put, rm).\n"
		"  -r, --read-only    mount read-only (nothing is written back)\n"
		"%s%s", gm_mount_o_help, gm_cli_common_help);
}

int gm_cmd_shell(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "read-only", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		GM_CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct gm_mount_session s = { 0 };
	char *shell[] = { NULL, NULL };
	struct run r = { .cwd_root = true };
	const char *env = getenv("SHELL");
	int opt, rc;

	s.fc.writeback_cache = true;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+rho:q", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			s.fc.read_only = true;
			break;
		case 'o':
			if (gm_mount_parse_o(&s.fc, optarg) < 0)
				return GM_EXIT_USAGE;
			break;
		case 'h':
			shell_usage(stdout);
			return GM_EXIT_OK;
		default:
			rc = gm_cli_common_opt(&s.c, opt, optarg);
			if (rc == 1)
				break;
			if (rc == 0)
				shell_usage(stderr);
			return GM_EXIT_USAGE;
		}
	}
	if (argc - optind < 1) {
		shell_usage(stderr);
		return GM_EXIT_USAGE;
	}
	if (gm_mount_refuse_stdio(argv[optind], &s.c, "shell mounts the image: it"))
		return GM_EXIT_USAGE;
	gm_mount_paths(&s, argv[optind++]);
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind < argc) {
		r.argv = argv + optind;
	} else {
		shell[0] = (char *)(env && env[0] ? env : "/bin/sh");
		r.argv = shell;
	}
	if (access(s.image, F_OK) < 0) {
		gm_cli_error("%s: %s", s.image, strerror(errno));
		return GM_EXIT_FAIL;
	}
	return run_in_mount(&s, &r);
}
