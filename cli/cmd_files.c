/* cmd_files.c — the no-FUSE file verbs: ls, cat, put, rm, repack.
 *
 * Messages: usage errors are one line "gcemount: VERB: problem (see
 * 'gcemount VERB --help')"; failures on the image are one line
 * "gcemount: IMAGE: PATH: problem" (gm_cli_fs_error). A verb that edits is
 * one operation: when it fails, nothing of it is written back
 * (gm_cli_open/gm_cli_finish). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "editor/view/path.h"

#define IO_CHUNK (1u << 20)

/* Directory entry names collected by gm_view_readdir (ls, rm -r). */
struct name_list {
	char **v;
	size_t n, cap;
	bool dots;      /* keep "." and ".." */
	bool hidden;    /* keep other names starting with '.' */
};

static int collect_names(void *priv, const char *name, size_t namelen, gm_vino_t ino,
			 unsigned dtype, uint64_t next_off)
{
	struct name_list *l = priv;
	bool dot = (namelen == 1 && name[0] == '.') || (namelen == 2 && !memcmp(name, "..", 2));

	(void)ino; (void)dtype; (void)next_off;
	if (dot ? !l->dots : (name[0] == '.' && !l->hidden))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **nv = realloc(l->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strndup(name, namelen)))
		return -ENOMEM;
	l->n++;
	return 0;
}

static void name_list_free(struct name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* --- command line ------------------------------------------------------ */

struct verb_cli {
	const char *verb;
	const char *usage;       /* "usage: gcemount VERB ..." */
	const char *about;       /* what it does, and its own options */
	const char *shortopts;   /* its own short options (getopt syntax) */
	const struct option *longopts;
	size_t nlong;
	int min_args, max_args;  /* positional arguments */
};

static void usage_error(const struct verb_cli *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void usage_error(const struct verb_cli *v, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	gm_cli_error("%s: %s (see 'gcemount %s --help')", v->verb, msg, v->verb);
}

/* Parses argv with the common options plus the verb's; positional
 * arguments are left in argv[optind..]. Returns 0, -1 after --help (exit
 * 0), or an exit status; usage errors are one line. */
static int parse(int argc, char **argv, const struct verb_cli *v, struct gm_cli_common *c,
		 int (*own)(int opt, const char *arg, void *priv), void *priv)
{
	static const struct option common[] = { GM_CLI_COMMON_LONGOPTS,
						{ "help", no_argument, NULL, 'h' } };
	size_t ncommon = sizeof(common) / sizeof(common[0]);
	struct option *all = calloc(ncommon + v->nlong + 1, sizeof(*all));
	char shortopts[64];
	int opt, rc = 0, n;

	if (!all) {
		gm_cli_error("out of memory");
		return GM_EXIT_FAIL;
	}
	memcpy(all, common, sizeof(common));
	if (v->nlong)
		memcpy(all + ncommon, v->longopts, v->nlong * sizeof(*v->longopts));
	/* ':' first: a missing value is told apart from an unknown option */
	snprintf(shortopts, sizeof(shortopts), ":%sqh", v->shortopts);
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, shortopts, all, NULL)) != -1) {
		int r;

		if (opt == 'h') {
			printf("%s\n%s\ncommon options:\n%s", v->usage, v->about, gm_cli_common_help);
			rc = -1;
			break;
		}
		if (opt == '?' || opt == ':') {
			const char *arg = argv[optind - 1];
			bool lng = !strncmp(arg, "--", 2);
			int alen = (int)strcspn(arg, "=");

			if (opt == ':' && lng)
				usage_error(v, "option '%.*s' needs a value", alen, arg);
			else if (opt == ':')
				usage_error(v, "option '-%c' needs a value", optopt);
			else if (lng || !optopt)
				usage_error(v, "unknown option '%.*s'", alen, arg);
			else
				usage_error(v, "unknown option '-%c'", optopt);
			rc = GM_EXIT_USAGE;
			break;
		}
		r = gm_cli_common_opt(c, opt, optarg);
		if (r < 0) {
			rc = GM_EXIT_USAGE;
			break;
		}
		if (r > 0)
			continue;
		if (own && own(opt, optarg, priv) == 0)
			continue;
		rc = GM_EXIT_USAGE;     /* own() said why */
		break;
	}
	free(all);
	if (rc)
		return rc;
	n = argc - optind;
	if (n < v->min_args || n > v->max_args) {
		usage_error(v, "%s; %s", n < v->min_args ? "missing arguments" : "too many arguments",
			    v->usage + strlen("usage: "));
		return GM_EXIT_USAGE;
	}
	return 0;
}

/* ------------------------------------------------------------------ ls */

struct ls_state {
	bool longfmt;
	bool mounts;
	struct name_list names;
};

#define LS_OPT_MOUNTS 2000

/* `ls --mounts`: which partition serves which mount point. */
static void print_mounts(const struct gm_view *v)
{
	printf("%-16s %-9s %-8s %-10s %s\n", "MOUNTPOINT", "PARTITION", "FSTYPE", "SIZE", "SOURCE / NOTE");
	for (size_t i = 0; i < gm_view_nmounts(v); i++) {
		const struct gm_mount *m = gm_view_mount(v, i);
		char part[16], sz[32];

		if (m->partition > 0)
			snprintf(part, sizeof(part), "%d", m->partition);
		else
			snprintf(part, sizeof(part), "%s", m->partition == 0 ? "disk" : "-");
		if (m->partition >= 0)
			gm_human_size(m->size, sz, sizeof(sz));
		else
			snprintf(sz, sizeof(sz), "-");
		printf("%-16s %-9s %-8s %-10s %s%s%s%s\n", m->path, part, m->fstype[0] ? m->fstype : "-", sz,
		       m->source, m->kind == GM_MOUNT_FAT ? " (read-only)" : "",
		       m->note[0] ? ": not mounted: " : "", m->note);
	}
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void mode_string(mode_t m, char out[11])
{
	static const char types[] = "?pc?d?b?-?l?s???";

	out[0] = types[(m >> 12) & 15];
	out[1] = m & S_IRUSR ? 'r' : '-';
	out[2] = m & S_IWUSR ? 'w' : '-';
	out[3] = m & S_ISUID ? (m & S_IXUSR ? 's' : 'S') : (m & S_IXUSR ? 'x' : '-');
	out[4] = m & S_IRGRP ? 'r' : '-';
	out[5] = m & S_IWGRP ? 'w' : '-';
	out[6] = m & S_ISGID ? (m & S_IXGRP ? 's' : 'S') : (m & S_IXGRP ? 'x' : '-');
	out[7] = m & S_IROTH ? 'r' : '-';
	out[8] = m & S_IWOTH ? 'w' : '-';
	out[9] = m & S_ISVTX ? (m & S_IXOTH ? 't' : 'T') : (m & S_IXOTH ? 'x' : '-');
	out[10] = '\0';
}

/* One line for inode ino, or for dir/name when ino is 0. */
static void print_entry(struct gm_view *v, gm_vino_t dir, const char *name, gm_vino_t ino,
			const char *shown, bool longfmt)
{
	struct stat st;
	char mode[11], when[32], target[PATH_MAX];
	struct tm tm;
	ssize_t n;

	if (!longfmt) {
		printf("%s\n", shown);
		return;
	}
	if ((!ino && gm_view_lookup(v, dir, name, &ino) < 0) || gm_view_getattr(v, ino, &st) < 0) {
		printf("?????????? ? ? ? ? ? %s\n", shown);
		return;
	}
	mode_string(st.st_mode, mode);
	gmtime_r(&st.st_mtim.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		printf("%s %3lu %5u %5u %4u, %4u %s %s", mode, (unsigned long)st.st_nlink,
		       st.st_uid, st.st_gid, major(st.st_rdev), minor(st.st_rdev), when, shown);
	else
		printf("%s %3lu %5u %5u %10llu %s %s", mode, (unsigned long)st.st_nlink,
		       st.st_uid, st.st_gid, (unsigned long long)st.st_size, when, shown);
	if (S_ISLNK(st.st_mode) && (n = gm_view_readlink(v, ino, target, sizeof(target) - 1)) >= 0) {
		target[n] = '\0';
		printf(" -> %s", target);
	}
	putchar('\n');
}

static int ls_own(int opt, const char *arg, void *priv)
{
	struct ls_state *s = priv;

	(void)arg;
	if (opt == 'l')
		s->longfmt = true;
	else if (opt == 'a')
		s->names.dots = s->names.hidden = true;
	else if (opt == LS_OPT_MOUNTS)
		s->mounts = true;
	else
		return -1;
	return 0;
}

int gm_cmd_ls(int argc, char **argv)
{
	static const struct option own[] = { { "all", no_argument, NULL, 'a' },
					     { "mounts", no_argument, NULL, LS_OPT_MOUNTS } };
	static const struct verb_cli cli = {
		"ls", "usage: gcemount ls [-l] [-a] [OPTIONS] IMAGE [PATH]",
		"       gcemount ls --mounts [OPTIONS] IMAGE\n"
		"Lists the directory PATH (default /) inside IMAGE, or names the file PATH.\n"
		"As ls does, a symbolic link named on the command line is followed to a\n"
		"directory, but -l shows the link itself (a dangling one too).\n"
		"  -l                 long listing: mode, links, owner, group, size, time (UTC)\n"
		"  -a, --all          include names starting with '.', and . and ..\n"
		"  --mounts           which partition serves which mount point (root, /boot, ...)",
		"la", own, 2, 1, 2,
	};
	struct gm_cli_common c = { 0 };
	struct ls_state s = { 0 };
	struct gm_image *img = NULL;
	struct gm_view *v = NULL;
	const char *path, *image;
	gm_vino_t ino, target;
	struct stat st, tst;
	int rc, status;

	c.quiet = true;
	rc = parse(argc, argv, &cli, &c, ls_own, &s);
	if (rc)
		return rc < 0 ? GM_EXIT_OK : rc;
	image = argv[optind];
	if (s.mounts && optind + 1 < argc) {
		usage_error(&cli, "--mounts takes no PATH");
		return GM_EXIT_USAGE;
	}
	path = optind + 1 < argc ? argv[optind + 1] : "/";
	status = gm_cli_open(image, &c, false, &img, &v);
	if (status)
		return status;
	if (s.mounts) {
		print_mounts(v);
		goto out;
	}
	/* the name itself first (a link is followed by its trailing slash) */
	rc = gm_path_resolve(v, path, GM_PATH_NOFOLLOW, &ino);
	if (rc == 0)
		rc = gm_view_getattr(v, ino, &st);
	if (rc == 0 && S_ISLNK(st.st_mode) && !s.longfmt &&
	    gm_path_resolve(v, path, 0, &target) == 0 && gm_view_getattr(v, target, &tst) == 0 &&
	    S_ISDIR(tst.st_mode)) {
		ino = target;          /* a link to a directory: list the directory */
		st = tst;
	}
	if (rc < 0) {
		gm_cli_fs_error(image, path, v, rc);
		status = GM_EXIT_FAIL;
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		print_entry(v, 0, NULL, ino, path, s.longfmt);
		goto out;
	}
	rc = gm_view_readdir(v, ino, 0, collect_names, &s.names);
	if (rc < 0) {
		gm_cli_fs_error(image, path, v, rc);
		status = GM_EXIT_FAIL;
		goto out;
	}
	if (s.names.n)
		qsort(s.names.v, s.names.n, sizeof(*s.names.v), cmp_names);
	for (size_t i = 0; i < s.names.n; i++)
		print_entry(v, ino, s.names.v[i], 0, s.names.v[i], s.longfmt);
out:
	name_list_free(&s.names);
	gm_view_close(v, NULL);
	rc = gm_cli_verify(img);   /* the listing may come before the image is all read */
	gm_image_close(img);
	return rc ? rc : status;
}

/* ------------------------------------------------------------------ cat */

int gm_cmd_cat(int argc, char **argv)
{
	static const struct verb_cli cli = {
		"cat", "usage: gcemount cat [OPTIONS] IMAGE PATH...",
		"Prints the files PATH... inside IMAGE (symbolic links resolved inside the\n"
		"image) on standard output.",
		"", NULL, 0, 2, INT_MAX,
	};
	struct gm_cli_common c = { 0 };
	struct gm_image *img = NULL;
	struct gm_view *v = NULL;
	const char *image;
	char *buf = NULL;
	int rc, status;

	c.quiet = true;
	rc = parse(argc, argv, &cli, &c, NULL, NULL);
	if (rc)
		return rc < 0 ? GM_EXIT_OK : rc;
	image = argv[optind];
	status = gm_cli_open(image, &c, false, &img, &v);
	if (status)
		return status;
	buf = malloc(IO_CHUNK);
	if (!buf) {
		gm_cli_error("out of memory");
		status = GM_EXIT_FAIL;
		goto out;
	}
	for (int i = optind + 1; i < argc; i++) {
		const char *path = argv[i];
		struct stat st;
		gm_vino_t ino;
		uint64_t off = 0;
		ssize_t n;

		rc = gm_path_resolve(v, path, 0, &ino);
		if (rc == 0)
			rc = gm_view_getattr(v, ino, &st);
		if (rc == 0 && S_ISDIR(st.st_mode))
			rc = -EISDIR;
		if (rc < 0) {
			gm_cli_fs_error(image, path, v, rc);
			status = GM_EXIT_FAIL;
			continue;
		}
		while ((n = gm_view_read(v, ino, buf, IO_CHUNK, off)) > 0) {
			if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
				gm_cli_error("writing to standard output: %s", strerror(errno));
				status = GM_EXIT_FAIL;
				goto out;
			}
			off += (uint64_t)n;
		}
		if (n < 0) {
			gm_cli_fs_error(image, path, v, (int)n);
			status = GM_EXIT_FAIL;
		}
	}
	if (fflush(stdout) != 0) {
		gm_cli_error("writing to standard output: %s", strerror(errno));
		status = GM_EXIT_FAIL;
	}
out:
	free(buf);
	gm_view_close(v, NULL);
	rc = gm_cli_verify(img);
	gm_image_close(img);
	return rc ? rc : status;
}

/* ------------------------------------------------------------------ put */

struct put_opts {
	bool mode_set;
	mode_t mode;
};

static int put_own(int opt, const char *arg, void *priv)
{
	struct put_opts *p = priv;
	char *end;
	unsigned long m;

	if (opt != 'm')
		return -1;
	m = strtoul(arg, &end, 8);
	if (!*arg || *end || m > 07777) {
		gm_cli_error("--mode: '%s' is not an octal mode", arg);
		return -1;
	}
	p->mode = (mode_t)m;
	p->mode_set = true;
	return 0;
}

static const char *type_name(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFIFO: return "a FIFO";
	case S_IFSOCK: return "a socket";
	case S_IFLNK: return "a symbolic link";
	default: return "not a regular file";
	}
}

/* Copies local file fd into the image at path (created, or replaced in
 * place keeping its inode, owner and xattrs). Prints its own message. */
static int put_file(struct gm_view *v, int fd, const struct stat *lst, const char *path,
		    const struct put_opts *po, const struct gm_cli_common *c, const char *image)
{
	struct gm_creds creds = { c->owner_uid, c->owner_gid };
	struct gm_setattr sa = { 0 };
	char name[NAME_MAX + 1], problem[128];
	gm_vino_t dir, ino;
	struct stat st;
	uint64_t off = 0;
	char *buf = NULL;
	ssize_t n;
	int rc;

	rc = gm_path_resolve_parent(v, path, &dir, name);
	if (rc < 0)
		goto fail;
	rc = gm_view_lookup(v, dir, name, &ino);
	if (rc == 0) {
		/* Follow a symlink to what it names inside the image. */
		rc = gm_path_resolve(v, path, 0, &ino);
		if (rc == 0)
			rc = gm_view_getattr(v, ino, &st);
		if (rc == 0 && S_ISDIR(st.st_mode))
			rc = -EISDIR;
		if (rc == 0 && !S_ISREG(st.st_mode)) {
			/* cp would write into the device; in an image that means nothing */
			snprintf(problem, sizeof(problem), "not a regular file (%s)", type_name(st.st_mode));
			gm_cli_error("%s: %s: %s", image, path, problem);
			return GM_EXIT_FAIL;
		}
		if (rc == 0)
			rc = gm_view_truncate(v, ino, 0);
		if (rc < 0)
			goto fail;
		if (po->mode_set) {
			sa.valid |= GM_SET_MODE;
			sa.mode = po->mode;
		}
		if (c->owner_set) {
			sa.valid |= GM_SET_UID | GM_SET_GID;
			sa.uid = c->owner_uid;
			sa.gid = c->owner_gid;
		}
	} else if (rc == -ENOENT) {
		rc = gm_view_mknod(v, dir, name, S_IFREG | (po->mode_set ? po->mode : (lst->st_mode & 07777)),
				 0, c->owner_set ? &creds : NULL, &ino);
		if (rc < 0)
			goto fail;
	} else {
		goto fail;
	}
	buf = malloc(IO_CHUNK);
	if (!buf) {
		rc = -ENOMEM;
		goto fail;
	}
	while ((n = read(fd, buf, IO_CHUNK)) > 0) {
		ssize_t w = gm_view_write(v, ino, buf, (size_t)n, off);

		if (w < 0) {
			rc = (int)w;
			goto fail;
		}
		off += (uint64_t)n;
	}
	if (n < 0) {
		gm_cli_error("reading the local file: %s", strerror(errno));
		free(buf);
		return GM_EXIT_FAIL;
	}
	sa.valid |= GM_SET_MTIME;
	sa.mtime = lst->st_mtim;
	rc = gm_view_setattr(v, ino, &sa, NULL);
	if (rc < 0)
		goto fail;
	free(buf);
	return 0;
fail:
	free(buf);
	gm_cli_fs_error(image, path, v, rc);
	return GM_EXIT_FAIL;
}

int gm_cmd_put(int argc, char **argv)
{
	static const struct option own[] = { { "mode", required_argument, NULL, 'm' } };
	static const struct verb_cli cli = {
		"put", "usage: gcemount put [--mode MODE] [--owner UID:GID] [OPTIONS] IMAGE LOCAL_FILE PATH",
		"Copies LOCAL_FILE into IMAGE as PATH (into it, under its own name, if PATH is a\n"
		"directory; a PATH ending in '/' must be one), replacing a file in place (its\n"
		"inode, owner, mode and xattrs kept), and writes IMAGE back. A failed put\n"
		"writes nothing: the old file keeps its content.\n"
		"  -m, --mode MODE    permissions (octal) of the file; default: LOCAL_FILE's for\n"
		"                     a new file, unchanged for a replaced one\n"
		"  --owner UID:GID    owner of the file (default 0:0 for a new one)",
		"m:", own, 1, 3, 3,
	};
	struct gm_cli_common c = { 0 };
	struct put_opts po = { 0 };
	struct gm_image *img = NULL;
	struct gm_view *v = NULL;
	char target[PATH_MAX];
	struct stat lst, st;
	const char *path, *image, *local;
	size_t len;
	int fd, rc, status;

	rc = parse(argc, argv, &cli, &c, put_own, &po);
	if (rc)
		return rc < 0 ? GM_EXIT_OK : rc;
	image = argv[optind];
	local = argv[optind + 1];
	path = argv[optind + 2];
	fd = open(local, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &lst) < 0 || !S_ISREG(lst.st_mode)) {
		if (fd < 0)
			gm_cli_fs_error(local, NULL, NULL, -errno);
		else
			gm_cli_error("%s: not a regular file", local);
		if (fd >= 0)
			close(fd);
		return GM_EXIT_FAIL;
	}
	status = gm_cli_open(image, &c, true, &img, &v);
	if (status) {
		close(fd);
		return status;
	}
	len = strlen(path);
	if (gm_path_stat(v, path, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* PATH names a directory: copy into it under the local file's name. */
		char *lcopy = strdup(local);

		snprintf(target, sizeof(target), "%s%s%s", path, len && path[len - 1] == '/' ? "" : "/",
			 lcopy ? basename(lcopy) : "file");
		free(lcopy);
		path = target;
	} else if (len && path[len - 1] == '/') {
		/* as cp: a name ending in '/' must be a directory */
		gm_cli_fs_error(image, path, v, -ENOTDIR);
		status = GM_EXIT_FAIL;
	}
	if (!status)
		status = put_file(v, fd, &lst, path, &po, &c, image);
	close(fd);
	rc = gm_cli_finish(img, v, &c, status == 0);
	/* a damaged image explains the failure, if there was one */
	return rc == GM_EXIT_BADIMAGE || !status ? rc : status;
}

/* ------------------------------------------------------------------ rm */

struct rm_opts {
	bool recursive;
	bool force;
};

static int rm_own(int opt, const char *arg, void *priv)
{
	struct rm_opts *r = priv;

	(void)arg;
	if (opt == 'r' || opt == 'R')
		r->recursive = true;
	else if (opt == 'f')
		r->force = true;
	else
		return -1;
	return 0;
}

/* As rm -r: a directory's contents, then the name itself. A path ending in
 * '/' names what a link points to for the walk, but the link itself cannot
 * be removed as a directory (rmdir "link/" -> ENOTDIR), as with GNU rm.
 * Returns 0, a -errno about path itself (depth 0), or 1 when a failure
 * below it was reported (naming the path that failed). */
static int remove_tree(struct gm_view *v, const char *image, const char *path, int depth)
{
	struct name_list l = { .hidden = true };
	struct stat st;
	gm_vino_t ino;
	int rc;

	rc = gm_path_lstat(v, path, &st);
	if (rc == 0 && S_ISDIR(st.st_mode)) {
		if (depth > 4096)
			rc = -ELOOP;
		if (rc == 0)
			rc = gm_path_resolve(v, path, GM_PATH_NOFOLLOW, &ino);
		if (rc == 0)
			rc = gm_view_readdir(v, ino, 0, collect_names, &l);
		for (size_t i = 0; rc == 0 && i < l.n; i++) {
			size_t len = strlen(path);
			char *child;

			if (asprintf(&child, "%s%s%s", path, len && path[len - 1] == '/' ? "" : "/",
				     l.v[i]) < 0) {
				rc = -ENOMEM;
				break;
			}
			rc = remove_tree(v, image, child, depth + 1);
			free(child);
		}
		name_list_free(&l);
	}
	if (rc == 0)
		rc = gm_path_remove(v, path);
	if (rc < 0 && depth > 0) {
		gm_cli_fs_error(image, path, v, rc);
		rc = 1;
	}
	return rc;
}

int gm_cmd_rm(int argc, char **argv)
{
	static const struct option own[] = { { "recursive", no_argument, NULL, 'r' },
					     { "force", no_argument, NULL, 'f' } };
	static const struct verb_cli cli = {
		"rm", "usage: gcemount rm [-r] [-f] [OPTIONS] IMAGE PATH...",
		"Removes the files PATH... inside IMAGE (a symbolic link itself, not what it\n"
		"names), and writes IMAGE back. All or nothing: if one PATH cannot be removed,\n"
		"nothing is written.\n"
		"  -r, -R, --recursive  remove directories and their contents\n"
		"  -f, --force          a PATH that does not exist is not an error",
		"rRf", own, 2, 2, INT_MAX,
	};
	struct gm_cli_common c = { 0 };
	struct rm_opts ro = { 0 };
	struct gm_image *img = NULL;
	struct gm_view *v = NULL;
	const char *image;
	int rc, status, fin;

	rc = parse(argc, argv, &cli, &c, rm_own, &ro);
	if (rc)
		return rc < 0 ? GM_EXIT_OK : rc;
	image = argv[optind];
	status = gm_cli_open(image, &c, true, &img, &v);
	if (status)
		return status;
	for (int i = optind + 1; i < argc; i++) {
		const char *path = argv[i];
		gm_vino_t ino;

		const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

		if (gm_path_resolve(v, path, GM_PATH_NOFOLLOW, &ino) == 0 && ino == GM_ROOT_INO) {
			gm_cli_error("%s: %s: refusing to remove the root directory", image, path);
			status = GM_EXIT_FAIL;
			continue;
		}
		if (!strcmp(base, ".") || !strcmp(base, "..")) {
			gm_cli_error("%s: %s: refusing to remove '.' or '..'", image, path);
			status = GM_EXIT_FAIL;
			continue;
		}
		rc = ro.recursive ? remove_tree(v, image, path, 0) : gm_path_remove(v, path);
		if (rc == -ENOENT && ro.force)
			continue;
		if (rc > 0)
			status = GM_EXIT_FAIL;   /* remove_tree said which */
		if (rc < 0) {
			gm_cli_fs_error(image, path, v, rc);
			status = GM_EXIT_FAIL;
		}
	}
	fin = gm_cli_finish(img, v, &c, status == 0);
	return fin == GM_EXIT_BADIMAGE || !status ? fin : status;
}

/* ------------------------------------------------------------------ repack */

int gm_cmd_repack(int argc, char **argv)
{
	static const struct verb_cli cli = {
		"repack", "usage: gcemount repack [OPTIONS] IMAGE",
		"Writes IMAGE back (or to --output) in the GCE layout: old-GNU sparse tar,\n"
		"gzip, free filesystem blocks as holes. With --resume, first repairs the\n"
		"edits an interrupted session left (e2fsck -fy) and writes them back.",
		"", NULL, 0, 1, 1,
	};
	struct gm_cli_common c = { 0 };
	struct gm_image *img = NULL;
	struct gm_view *v = NULL;
	int rc, status;

	rc = parse(argc, argv, &cli, &c, NULL, NULL);
	if (rc)
		return rc < 0 ? GM_EXIT_OK : rc;
	c.force_writeback = true;
	status = gm_cli_open(argv[optind], &c, true, &img, &v);
	if (status)
		return status;
	return gm_cli_finish(img, v, &c, true);
}
