/* rangeset.c — see rangeset.h. */
#include "editor/rangeset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void gm_rangeset_init(struct gm_rangeset *s)
{
	s->r = NULL;
	s->n = s->cap = 0;
}

void gm_rangeset_free(struct gm_rangeset *s)
{
	if (!s)
		return;
	free(s->r);
	gm_rangeset_init(s);
}

void gm_rangeset_clear(struct gm_rangeset *s)
{
	s->n = 0;
}

static int reserve(struct gm_rangeset *s, size_t want)
{
	struct gm_range *nr;
	size_t cap;

	if (want <= s->cap)
		return 0;
	cap = s->cap ? s->cap * 2 : 16;
	while (cap < want)
		cap *= 2;
	nr = realloc(s->r, cap * sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	s->r = nr;
	s->cap = cap;
	return 0;
}

/* First index whose end is >= off (a range that touches or follows off). */
static size_t first_touching(const struct gm_rangeset *s, uint64_t off)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->r[mid].off + s->r[mid].len < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int gm_rangeset_add(struct gm_rangeset *s, uint64_t off, uint64_t len)
{
	uint64_t end;
	size_t i, j;

	if (len == 0)
		return 0;
	if (off + len < off)
		return -EOVERFLOW;
	end = off + len;
	i = first_touching(s, off);
	j = i;
	while (j < s->n && s->r[j].off <= end) {
		if (s->r[j].off < off)
			off = s->r[j].off;
		if (s->r[j].off + s->r[j].len > end)
			end = s->r[j].off + s->r[j].len;
		j++;
	}
	if (j == i) {
		if (reserve(s, s->n + 1))
			return -ENOMEM;
		memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(s->r[0]));
		s->n++;
	} else if (j > i + 1) {
		memmove(&s->r[i + 1], &s->r[j], (s->n - j) * sizeof(s->r[0]));
		s->n -= j - i - 1;
	}
	s->r[i].off = off;
	s->r[i].len = end - off;
	return 0;
}

int gm_rangeset_remove(struct gm_rangeset *s, uint64_t off, uint64_t len)
{
	uint64_t end = off + len;
	size_t i;

	if (len == 0)
		return 0;
	if (end < off)
		end = UINT64_MAX;
	for (i = first_touching(s, off); i < s->n && s->r[i].off < end;) {
		uint64_t ro = s->r[i].off, re = ro + s->r[i].len;

		if (re <= off) {
			i++;
			continue;
		}
		if (ro < off && re > end) {          /* split in two */
			if (reserve(s, s->n + 1))
				return -ENOMEM;
			memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(s->r[0]));
			s->n++;
			s->r[i].len = off - ro;
			s->r[i + 1].off = end;
			s->r[i + 1].len = re - end;
			return 0;
		}
		if (ro < off) {                      /* trim tail */
			s->r[i].len = off - ro;
			i++;
		} else if (re > end) {               /* trim head */
			s->r[i].off = end;
			s->r[i].len = re - end;
			i++;
		} else {                             /* drop whole */
			memmove(&s->r[i], &s->r[i + 1], (s->n - i - 1) * sizeof(s->r[0]));
			s->n--;
		}
	}
	return 0;
}

int gm_rangeset_copy(struct gm_rangeset *dst, const struct gm_rangeset *src)
{
	struct gm_range *r = NULL;

	if (src->n) {
		r = malloc(src->n * sizeof(*r));
		if (!r)
			return -ENOMEM;
		memcpy(r, src->r, src->n * sizeof(*r));
	}
	free(dst->r);
	dst->r = r;
	dst->n = dst->cap = src->n;
	return 0;
}

bool gm_rangeset_contains(const struct gm_rangeset *s, uint64_t off, uint64_t len)
{
	size_t i = first_touching(s, off);

	while (i < s->n && s->r[i].off + s->r[i].len == off)
		i++;
	if (len == 0)
		return true;
	return i < s->n && s->r[i].off <= off && s->r[i].off + s->r[i].len >= off + len;
}

bool gm_rangeset_overlaps(const struct gm_rangeset *s, uint64_t off, uint64_t len)
{
	size_t i = first_touching(s, off);

	while (i < s->n && s->r[i].off + s->r[i].len == off)
		i++;
	return len && i < s->n && s->r[i].off < off + len;
}

uint64_t gm_rangeset_total(const struct gm_rangeset *s)
{
	uint64_t t = 0;

	for (size_t i = 0; i < s->n; i++)
		t += s->r[i].len;
	return t;
}
