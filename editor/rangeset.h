/* rangeset.h — a sorted set of disjoint byte ranges [off, off+len).
 *
 * Used for the dirty map (ranges the io_manager wrote), the data map of a
 * sparse disk (what the tar writer emits as data) and free-block holes.
 * Adjacent and overlapping ranges are merged on insert. Not thread-safe.
 */
#ifndef GM_RANGESET_H
#define GM_RANGESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gm_range {
	uint64_t off;
	uint64_t len;
};

struct gm_rangeset {
	struct gm_range *r;   /* sorted by off, disjoint, non-adjacent */
	size_t n;
	size_t cap;
};

#define GM_RANGESET_INIT { NULL, 0, 0 }

void gm_rangeset_init(struct gm_rangeset *s);
void gm_rangeset_free(struct gm_rangeset *s);          /* accepts NULL; leaves s empty */
void gm_rangeset_clear(struct gm_rangeset *s);
/* Adds [off, off+len). 0, or -ENOMEM (s unchanged), or -EOVERFLOW. */
int gm_rangeset_add(struct gm_rangeset *s, uint64_t off, uint64_t len);
/* Removes [off, off+len) from s. 0 or -ENOMEM. */
int gm_rangeset_remove(struct gm_rangeset *s, uint64_t off, uint64_t len);
/* dst = copy of src. 0 or -ENOMEM (dst untouched). */
int gm_rangeset_copy(struct gm_rangeset *dst, const struct gm_rangeset *src);
bool gm_rangeset_contains(const struct gm_rangeset *s, uint64_t off, uint64_t len);
bool gm_rangeset_overlaps(const struct gm_rangeset *s, uint64_t off, uint64_t len);
uint64_t gm_rangeset_total(const struct gm_rangeset *s);

#endif
