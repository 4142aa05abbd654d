/* srcmap.c — see srcmap.h. */
#include "editor/container/srcmap.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "editor/container/cache.h"

#define MAX_ENTRIES (1u << 24)

int gm_srcmap_add_region(struct gm_srcmap *s, uint64_t doff, uint64_t len, uint64_t toff)
{
	struct gm_srcmap_region *last = s->nr ? &s->r[s->nr - 1] : NULL;

	if (!len)
		return 0;
	if (last && last->doff + last->len == doff && last->toff + last->len == toff) {
		last->len += len;
		return 0;
	}
	if (s->nr == s->capr) {
		size_t cap = s->capr ? s->capr * 2 : 64;
		struct gm_srcmap_region *nr = realloc(s->r, cap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		s->r = nr;
		s->capr = cap;
	}
	s->r[s->nr++] = (struct gm_srcmap_region){ doff, len, toff };
	return 0;
}

int gm_srcmap_set_member(struct gm_srcmap *s, size_t i, uint64_t toff)
{
	while (s->nm <= i) {
		if (s->nm == s->capm) {
			size_t cap = s->capm ? s->capm * 2 : 16;
			uint64_t *nm = realloc(s->member_toff, cap * sizeof(*nm));

			if (!nm)
				return -ENOMEM;
			s->member_toff = nm;
			s->capm = cap;
		}
		s->member_toff[s->nm++] = GM_SRC_NONE;
	}
	s->member_toff[i] = toff;
	return 0;
}

uint64_t gm_srcmap_member(const struct gm_srcmap *s, size_t i)
{
	return i < s->nm ? s->member_toff[i] : GM_SRC_NONE;
}

int gm_srcmap_disk_map(const struct gm_srcmap *s, struct gm_rangeset *out)
{
	int rc;

	gm_rangeset_clear(out);
	for (size_t i = 0; i < s->nr; i++)
		if ((rc = gm_rangeset_add(out, s->r[i].doff, s->r[i].len)))
			return rc;
	return 0;
}

uint64_t gm_srcmap_disk_toff(const struct gm_srcmap *s, uint64_t doff, uint64_t *run)
{
	size_t lo = 0, hi = s->nr;

	while (lo < hi) {              /* first region ending after doff */
		size_t mid = lo + (hi - lo) / 2;

		if (s->r[mid].doff + s->r[mid].len <= doff)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == s->nr || s->r[lo].doff > doff) {
		*run = lo == s->nr ? UINT64_MAX - doff : s->r[lo].doff - doff;
		return GM_SRC_NONE;
	}
	*run = s->r[lo].doff + s->r[lo].len - doff;
	return s->r[lo].toff + (doff - s->r[lo].doff);
}

void gm_srcmap_free(struct gm_srcmap *s)
{
	if (!s)
		return;
	free(s->r);
	free(s->member_toff);
	memset(s, 0, sizeof(*s));
}

static int fill_srcmap(FILE *f, const void *arg)
{
	const struct gm_srcmap *s = arg;

	fprintf(f, "gcemount-srcmap 1 %d %" PRIu64 " %zu %zu\n", s->gnu_sparse ? 1 : 0,
		s->tar_size, s->nr, s->nm);
	for (size_t i = 0; i < s->nr; i++)
		fprintf(f, "r %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", s->r[i].doff, s->r[i].len,
			s->r[i].toff);
	for (size_t i = 0; i < s->nm; i++)
		fprintf(f, "m %" PRIu64 "\n", s->member_toff[i]);
	return 0;
}

int gm_srcmap_save(const char *dir, const struct gm_srcmap *s)
{
	return gm_file_replace(dir, "srcmap", fill_srcmap, s);
}

int gm_srcmap_load(const char *dir, struct gm_srcmap *out)
{
	struct gm_srcmap s = GM_SRCMAP_INIT;
	char *path = gm_path_join(dir, "srcmap");
	size_t nr = 0, nm = 0;
	int sparse = 0, rc = -EINVAL;
	uint64_t prev_end = 0;
	FILE *f;

	if (!path)
		return -ENOMEM;
	f = fopen(path, "re");
	free(path);
	if (!f)
		return errno == ENOENT ? -ENOENT : -errno;
	if (fscanf(f, "gcemount-srcmap 1 %d %" SCNu64 " %zu %zu\n", &sparse, &s.tar_size, &nr,
		   &nm) != 4 || nr > MAX_ENTRIES || nm > MAX_ENTRIES)
		goto out;
	s.gnu_sparse = sparse == 1;
	for (size_t i = 0; i < nr; i++) {
		uint64_t d, l, t;

		if (fscanf(f, "r %" SCNu64 " %" SCNu64 " %" SCNu64 "\n", &d, &l, &t) != 3 || !l ||
		    d < prev_end || d + l < d || t + l < t || t + l > s.tar_size)
			goto out;
		prev_end = d + l;
		if ((rc = gm_srcmap_add_region(&s, d, l, t)))
			goto out;
		rc = -EINVAL;
	}
	for (size_t i = 0; i < nm; i++) {
		uint64_t t;

		if (fscanf(f, "m %" SCNu64 "\n", &t) != 1 || (t != GM_SRC_NONE && t > s.tar_size))
			goto out;
		if ((rc = gm_srcmap_set_member(&s, i, t)))
			goto out;
		rc = -EINVAL;
	}
	if (fgetc(f) != EOF)
		goto out;
	rc = 0;
out:
	fclose(f);
	if (rc)
		gm_srcmap_free(&s);
	else
		*out = s;
	return rc;
}

int gm_srcmap_remove(const char *dir)
{
	return gm_file_remove(dir, "srcmap");
}
