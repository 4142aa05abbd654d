/* members.c — see members.h. */
#include "editor/container/members.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "editor/container/cache.h"

static char *dupnull(const char *s)
{
	return s ? strdup(s) : NULL;
}

int gm_members_add(struct gm_members *ms, const struct gm_tar_hdr *h, bool is_disk)
{
	struct gm_member *m;

	if (ms->n == ms->cap) {
		size_t cap = ms->cap ? ms->cap * 2 : 8;
		struct gm_member *nm = realloc(ms->m, cap * sizeof(*nm));

		if (!nm)
			return -ENOMEM;
		ms->m = nm;
		ms->cap = cap;
	}
	m = &ms->m[ms->n];
	memset(m, 0, sizeof(*m));
	m->h = *h;
	m->is_disk = is_disk;
	m->h.name = dupnull(h->name);
	m->h.linkname = dupnull(h->linkname);
	m->h.uname = dupnull(h->uname);
	m->h.gname = dupnull(h->gname);
	if ((h->name && !m->h.name) || (h->linkname && !m->h.linkname) ||
	    (h->uname && !m->h.uname) || (h->gname && !m->h.gname)) {
		free((char *)m->h.name);
		free((char *)m->h.linkname);
		free((char *)m->h.uname);
		free((char *)m->h.gname);
		return -ENOMEM;
	}
	ms->n++;
	return 0;
}

void gm_members_free(struct gm_members *ms)
{
	if (!ms)
		return;
	for (size_t i = 0; i < ms->n; i++) {
		free((char *)ms->m[i].h.name);
		free((char *)ms->m[i].h.linkname);
		free((char *)ms->m[i].h.uname);
		free((char *)ms->m[i].h.gname);
	}
	free(ms->m);
	ms->m = NULL;
	ms->n = ms->cap = 0;
}

char *gm_members_dir(const char *dir)
{
	return gm_path_join(dir, "members");
}

char *gm_members_data_path(const char *dir, size_t i)
{
	char *p;

	if (asprintf(&p, "%s/members/%zu", dir, i) < 0)
		return NULL;
	return p;
}

/* "-" for NULL, else hex bytes ("" is "=") */
static void put_hex(FILE *f, const char *s)
{
	if (!s) {
		fputs(" -", f);
		return;
	}
	fputc(' ', f);
	if (!*s)
		fputc('=', f);
	for (; *s; s++)
		fprintf(f, "%02x", (unsigned char)*s);
}

static int get_hex(char **cur, const char **out)
{
	char *tok = strsep(cur, " \n"), *s;
	size_t n;

	*out = NULL;
	if (!tok || !*tok)
		return -EINVAL;
	if (!strcmp(tok, "-"))
		return 0;
	if (!strcmp(tok, "=")) {
		*out = strdup("");
		return *out ? 0 : -ENOMEM;
	}
	n = strlen(tok);
	if (n % 2)
		return -EINVAL;
	s = malloc(n / 2 + 1);
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(tok + 2 * i, "%2x", &v) != 1 || !v) {
			free(s);
			return -EINVAL;
		}
		s[i] = (char)v;
	}
	s[n / 2] = '\0';
	*out = s;
	return 0;
}

int gm_members_save(const char *dir, const struct gm_members *ms)
{
	char *mdir = gm_members_dir(dir), *path = NULL, *tmp = NULL;
	FILE *f = NULL;
	int rc = -ENOMEM;

	if (!mdir || !(path = gm_path_join(mdir, "manifest")) ||
	    !(tmp = gm_path_join(mdir, "manifest.tmp")))
		goto out;
	f = fopen(tmp, "we");
	if (!f) {
		rc = -errno;
		goto out;
	}
	fprintf(f, "gcemount-members 1 %zu\n", ms->n);
	for (size_t i = 0; i < ms->n; i++) {
		const struct gm_tar_hdr *h = &ms->m[i].h;

		fprintf(f, "%c %d %o %" PRIu64 " %" PRIu64 " %" PRId64 " %" PRIu64 " %u %u",
			h->type, ms->m[i].is_disk ? 1 : 0, (unsigned)h->mode, h->uid, h->gid,
			h->mtime, h->size, (unsigned)h->devmajor, (unsigned)h->devminor);
		put_hex(f, h->name);
		put_hex(f, h->linkname);
		put_hex(f, h->uname);
		put_hex(f, h->gname);
		fputc('\n', f);
	}
	if (fflush(f) || gm_cache_fsync(fileno(f)) < 0) {
		rc = errno ? -errno : -EIO;
		goto out;
	}
	rc = fclose(f) ? -errno : 0;
	f = NULL;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (!rc)
		rc = gm_fsync_dir(mdir);
out:
	if (f)
		fclose(f);
	if (rc && tmp)
		unlink(tmp);
	free(mdir);
	free(path);
	free(tmp);
	return rc;
}

int gm_members_load(const char *dir, struct gm_members *ms)
{
	char *path = gm_path_join(dir, "members/manifest"), *line = NULL;
	size_t cap = 0, want = 0;
	FILE *f;
	int rc = 0;

	if (!path)
		return -ENOMEM;
	f = fopen(path, "re");
	free(path);
	if (!f)
		return -errno;
	if (getline(&line, &cap, f) < 0 || sscanf(line, "gcemount-members 1 %zu", &want) != 1) {
		rc = -EINVAL;
		goto out;
	}
	while (getline(&line, &cap, f) >= 0) {
		struct gm_tar_hdr h = { 0 };
		const char *name, *link, *un, *gn;
		char type, *cur;
		int isdisk, pos = 0;
		unsigned mode, dmaj, dmin;

		if (sscanf(line, "%c %d %o %" SCNu64 " %" SCNu64 " %" SCNd64 " %" SCNu64 " %u %u%n",
			   &type, &isdisk, &mode, &h.uid, &h.gid, &h.mtime, &h.size, &dmaj, &dmin,
			   &pos) != 9) {
			rc = -EINVAL;
			goto out;
		}
		cur = line + pos + 1;
		name = link = un = gn = NULL;
		if ((rc = get_hex(&cur, &name)) || (rc = get_hex(&cur, &link)) ||
		    (rc = get_hex(&cur, &un)) || (rc = get_hex(&cur, &gn)) || !name) {
			free((char *)name); free((char *)link); free((char *)un); free((char *)gn);
			rc = rc ? rc : -EINVAL;
			goto out;
		}
		h.type = type;
		h.mode = mode;
		h.devmajor = dmaj;
		h.devminor = dmin;
		h.name = name; h.linkname = link; h.uname = un; h.gname = gn;
		rc = gm_members_add(ms, &h, isdisk != 0);
		free((char *)name); free((char *)link); free((char *)un); free((char *)gn);
		if (rc)
			goto out;
	}
	if (ms->n != want)
		rc = -EINVAL;
out:
	free(line);
	fclose(f);
	if (rc)
		gm_members_free(ms);
	return rc;
}
