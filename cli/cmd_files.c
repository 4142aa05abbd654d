/* cmd_files.c — the no-FUSE file verbs: ls, cat, put, rm, repack. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "editor/view/path.h"

#define IO_CHUNK (1u << 20)

/* Directory entry names collected by gm_fs_readdir (ls, rm -r). */
struct name_list {
	char **v;
	size_t n, cap;
	bool dots;      /* keep "." and ".." */
	bool hidden;    /* keep other names starting with '.' */
};

static int collect_names(void *priv, const char *name, size_t namelen, gm_ino_t ino,
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

/* Parses argv with the common options plus extra ones; positional arguments
 * are left in argv[optind..]. Returns 0, or an exit status. */
static int parse(int argc, char **argv, const char *usage, const char *shortopts,
		 const struct option *extra, size_t nextra, struct gm_cli_common *c,
		 int (*own)(int opt, const char *arg, void *priv), void *priv)
{
	static const struct option common[] = { GM_CLI_COMMON_LONGOPTS,
						{ "help", no_argument, NULL, 'h' } };
	size_t ncommon = sizeof(common) / sizeof(common[0]);
	struct option *all = calloc(ncommon + nextra + 1, sizeof(*all));
	int opt, rc = 0;

	if (!all) {
		gm_cli_error("out of memory");
		return GM_EXIT_FAIL;
	}
	memcpy(all, common, sizeof(common));
	if (nextra)
		memcpy(all + ncommon, extra, nextra * sizeof(*extra));
	optind = 1;
	while ((opt = getopt_long(argc, argv, shortopts, all, NULL)) != -1) {
		int r;

		if (opt == 'h') {
			printf("%s\noptions:\n%s", usage, gm_cli_common_help);
			rc = -1;
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
		fprintf(stderr, "%s\n", usage);
		rc = GM_EXIT_USAGE;
		break;
	}
	free(all);
	return rc;
}

static int need_args(int argc, int want_min, int want_max, const char *usage)
{
	int n = argc - optind;

	if (n < want_min || n > want_max) {
		fprintf(stderr, "%s\n", usage);
		return GM_EXIT_USAGE;
	}
	return 0;
}

/* ------------------------------------------------------------------ ls */

struct ls_state {
	bool longfmt;
	struct name_list names;
};

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

static void print_entry(struct gm_fs *fs, gm_ino_t dir_ino, const char *shown, const char *name,
			bool longfmt)
{
	struct stat st;
	gm_ino_t ino;
	char mode[11], when[32], target[PATH_MAX];
	struct tm tm;
	ssize_t n;

	if (!longfmt) {
		printf("%s\n", shown);
		return;
	}
	if (gm_fs_lookup(fs, dir_ino, name, &ino) < 0 || gm_fs_getattr(fs, ino, &st) < 0) {
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
	if (S_ISLNK(st.st_mode) && (n = gm_fs_readlink(fs, ino, target, sizeof(target) - 1)) >= 0) {
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
	else
		return -1;
	return 0;
}

int gm_cmd_ls(int argc, char **argv)
{
	static const char usage[] = "usage: gcemount ls [-l] [-a] [OPTIONS] IMAGE [PATH]";
	struct gm_cli_common c = { 0 };
	struct ls_state s = { 0 };
	struct gm_image *img = NULL;
	struct gm_fs *fs = NULL;
	const char *path;
	gm_ino_t ino, parent;
	char name[NAME_MAX + 1];
	struct stat st;
	int rc, status;

	c.quiet = true;
	rc = parse(argc, argv, usage, "laqh", NULL, 0, &c, ls_own, &s);
	if (rc)
		return rc < 0 ? GM_EXIT_OK : rc;
	if ((rc = need_args(argc, 1, 2, usage)))
		return rc;
	path = optind + 1 < argc ? argv[optind + 1] : "/";
	status = gm_cli_open(argv[optind], &c, false, &img, &fs);
	if (status)
		return status;
	rc = gm_path_resolve(fs, path, 0, &ino);
	if (rc == 0)
		rc = gm_fs_getattr(fs, ino, &st);
	if (rc < 0) {
		gm_cli_error("%s: %s: %s", argv[optind], path, strerror(-rc));
		status = GM_EXIT_FAIL;
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		/* A single file: show it as ls does (the link itself if PATH names one). */
		if (gm_path_resolve_parent(fs, path, &parent, name) == 0)
			print_entry(fs, parent, path, name, s.longfmt);
		goto out;
	}
	rc = gm_fs_readdir(fs, ino, 0, collect_names, &s.names);
	if (rc < 0) {
		gm_cli_error("%s: %s: %s", argv[optind], path, strerror(-rc));
		status = GM_EXIT_FAIL;
		goto out;
	}
	if (s.names.n)
		qsort(s.names.v, s.names.n, sizeof(*s.names.v), cmp_names);
	for (size_t i = 0; i < s.names.n; i++)
		print_entry(fs, ino, s.names.v[i], s.names.v[i], s.longfmt);
out:
	name_list_free(&s.names);
	gm_fs_close(fs, NULL);
	gm_image_close(img);
	return status;
}

/* ------------------------------------------------------------------ cat */

int gm_cmd_cat(int argc, char **argv)
{
	static const char usage[] = "usage: gcemount cat [OPTIONS] IMAGE PATH...";
	struct gm_cli_common c = { 0 };
	struct gm_image *img = NULL;
	struct gm_fs *fs = NULL;
	char *buf = NULL;
	int rc, status;

	c.quiet = true;
	rc = parse(argc, argv, usage, "qh", NULL, 0, &c, NULL, NULL);
	if (rc)
		return rc < 0 ? GM_EXIT_OK : rc;
	if ((rc = need_args(argc, 2, INT_MAX, usage)))
		return rc;
	status = gm_cli_open(argv[optind], &c, false, &img, &fs);
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
		gm_ino_t ino;
		uint64_t off = 0;
		ssize_t n;

		rc = gm_path_resolve(fs, path, 0, &ino);
		if (rc == 0)
			rc = gm_fs_getattr(fs, ino, &st);
		if (rc == 0 && S_ISDIR(st.st_mode))
			rc = -EISDIR;
		if (rc < 0) {
			gm_cli_error("%s: %s: %s", argv[optind], path, strerror(-rc));
			status = GM_EXIT_FAIL;
			continue;
		}
		while ((n = gm_fs_read(fs, ino, buf, IO_CHUNK, off)) > 0) {
			if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
				gm_cli_error("writing to standard output: %s", strerror(errno));
				status = GM_EXIT_FAIL;
				goto out;
			}
			off += (uint64_t)n;
		}
		if (n < 0) {
			gm_cli_error("%s: %s: %s", argv[optind], path, gm_fs_errmsg(fs));
			status = GM_EXIT_FAIL;
		}
	}
	if (fflush(stdout) != 0) {
		gm_cli_error("writing to standard output: %s", strerror(errno));
		status = GM_EXIT_FAIL;
	}
out:
	free(buf);
	gm_fs_close(fs, NULL);
	gm_image_close(img);
	return status;
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

/* Copies local file fd into the image at path (created, or replaced in
 * place keeping its inode, owner and xattrs). */
static int put_file(struct gm_fs *fs, int fd, const struct stat *lst, const char *path,
		    const struct put_opts *po, const struct gm_cli_common *c, const char *image)
{
	struct gm_creds creds = { c->owner_uid, c->owner_gid };
	struct gm_setattr sa = { 0 };
	char name[NAME_MAX + 1];
	gm_ino_t dir, ino;
	struct stat st;
	uint64_t off = 0;
	char *buf = NULL;
	ssize_t n;
	int rc;

	rc = gm_path_resolve_parent(fs, path, &dir, name);
	if (rc < 0)
		goto fail;
	rc = gm_fs_lookup(fs, dir, name, &ino);
	if (rc == 0) {
		/* Follow a symlink to what it names inside the image. */
		rc = gm_path_resolve(fs, path, 0, &ino);
		if (rc == 0)
			rc = gm_fs_getattr(fs, ino, &st);
		if (rc == 0 && S_ISDIR(st.st_mode))
			rc = -EISDIR;
		else if (rc == 0 && !S_ISREG(st.st_mode))
			rc = -EINVAL;
		if (rc == 0)
			rc = gm_fs_truncate(fs, ino, 0);
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
		rc = gm_fs_mknod(fs, dir, name, S_IFREG | (po->mode_set ? po->mode : (lst->st_mode & 07777)),
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
		ssize_t w = gm_fs_write(fs, ino, buf, (size_t)n, off);

		if (w < 0) {
			rc = (int)w;
			goto fail;
		}
		off += (uint64_t)n;
	}
	if (n < 0) {
		gm_cli_error("reading local file: %s", strerror(errno));
		free(buf);
		return GM_EXIT_FAIL;
	}
	sa.valid |= GM_SET_MTIME;
	sa.mtime = lst->st_mtim;
	rc = gm_fs_setattr(fs, ino, &sa, NULL);
	if (rc < 0)
		goto fail;
	free(buf);
	return 0;
fail:
	free(buf);
	gm_cli_error("%s: %s: %s", image, path, gm_fs_errmsg(fs)[0] ? gm_fs_errmsg(fs) : strerror(-rc));
	return GM_EXIT_FAIL;
}

int gm_cmd_put(int argc, char **argv)
{
	static const char usage[] =
		"usage: gcemount put [--mode MODE] [--owner UID:GID] [OPTIONS] IMAGE LOCAL_FILE PATH";
	static const struct option extra[] = { { "mode", required_argument, NULL, 'm' } };
	struct gm_cli_common c = { 0 };
	struct put_opts po = { 0 };
	struct gm_image *img = NULL;
	struct gm_fs *fs = NULL;
	char target[PATH_MAX];
	struct stat lst, st;
	const char *path;
	int fd, rc, status;

	rc = parse(argc, argv, usage, "m:qh", extra, 1, &c, put_own, &po);
	if (rc)
		return rc < 0 ? GM_EXIT_OK : rc;
	if ((rc = need_args(argc, 3, 3, usage)))
		return rc;
	fd = open(argv[optind + 1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &lst) < 0 || !S_ISREG(lst.st_mode)) {
		gm_cli_error("%s: %s", argv[optind + 1], fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return GM_EXIT_FAIL;
	}
	status = gm_cli_open(argv[optind], &c, true, &img, &fs);
	if (status) {
		close(fd);
		return status;
	}
	path = argv[optind + 2];
	/* PATH naming a directory: copy into it under the local file's name. */
	if (gm_path_stat(fs, path, &st) == 0 && S_ISDIR(st.st_mode)) {
		char *lcopy = strdup(argv[optind + 1]);

		snprintf(target, sizeof(target), "%s/%s", path, lcopy ? basename(lcopy) : "file");
		free(lcopy);
		path = target;
	}
	status = put_file(fs, fd, &lst, path, &po, &c, argv[optind]);
	close(fd);
	rc = gm_cli_finish(img, fs, &c, status == 0);
	return status ? status : rc;
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
	if (opt == 'r')
		r->recursive = true;
	else if (opt == 'f')
		r->force = true;
	else
		return -1;
	return 0;
}

static int remove_tree(struct gm_fs *fs, const char *path, int depth)
{
	struct name_list l = { .hidden = true };
	struct stat st;
	gm_ino_t ino;
	int rc;

	rc = gm_path_lstat(fs, path, &st);
	if (rc < 0)
		return rc;
	if (S_ISDIR(st.st_mode)) {
		if (depth > 4096)
			return -ELOOP;
		rc = gm_path_resolve(fs, path, GM_PATH_NOFOLLOW, &ino);
		if (rc == 0)
			rc = gm_fs_readdir(fs, ino, 0, collect_names, &l);
		for (size_t i = 0; rc == 0 && i < l.n; i++) {
			char *child;

			if (asprintf(&child, "%s/%s", strcmp(path, "/") ? path : "", l.v[i]) < 0) {
				rc = -ENOMEM;
				break;
			}
			rc = remove_tree(fs, child, depth + 1);
			free(child);
		}
		name_list_free(&l);
		if (rc < 0)
			return rc;
	}
	return gm_path_remove(fs, path);
}

int gm_cmd_rm(int argc, char **argv)
{
	static const char usage[] = "usage: gcemount rm [-r] [-f] [OPTIONS] IMAGE PATH...";
	struct gm_cli_common c = { 0 };
	struct rm_opts ro = { 0 };
	struct gm_image *img = NULL;
	struct gm_fs *fs = NULL;
	int rc, status, fin;

	rc = parse(argc, argv, usage, "rfqh", NULL, 0, &c, rm_own, &ro);
	if (rc)
		return rc < 0 ? GM_EXIT_OK : rc;
	if ((rc = need_args(argc, 2, INT_MAX, usage)))
		return rc;
	status = gm_cli_open(argv[optind], &c, true, &img, &fs);
	if (status)
		return status;
	for (int i = optind + 1; i < argc; i++) {
		const char *path = argv[i];

		if (!strcmp(path, "/") || !strcmp(path, "")) {
			gm_cli_error("%s: refusing to remove the image root", argv[optind]);
			status = GM_EXIT_FAIL;
			continue;
		}
		rc = ro.recursive ? remove_tree(fs, path, 0) : gm_path_remove(fs, path);
		if (rc == -ENOENT && ro.force)
			continue;
		if (rc < 0) {
			gm_cli_error("%s: %s: %s", argv[optind], path, strerror(-rc));
			status = GM_EXIT_FAIL;
		}
	}
	fin = gm_cli_finish(img, fs, &c, status == 0);
	return status ? status : fin;
}

/* ------------------------------------------------------------------ repack */

int gm_cmd_repack(int argc, char **argv)
{
	static const char usage[] = "usage: gcemount repack [OPTIONS] IMAGE [--output OUT]";
	struct gm_cli_common c = { 0 };
	struct gm_image *img = NULL;
	struct gm_fs *fs = NULL;
	int rc, status;

	rc = parse(argc, argv, usage, "qh", NULL, 0, &c, NULL, NULL);
	if (rc)
		return rc < 0 ? GM_EXIT_OK : rc;
	if ((rc = need_args(argc, 1, 1, usage)))
		return rc;
	c.force_writeback = true;
	status = gm_cli_open(argv[optind], &c, true, &img, &fs);
	if (status)
		return status;
	return gm_cli_finish(img, fs, &c, true);
}
