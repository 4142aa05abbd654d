/* clock.h — the time gcemount writes into images.
 *
 * When SOURCE_DATE_EPOCH is set (reproducible builds convention) every
 * timestamp gcemount writes — inode times, the superblock's write time, tar
 * entry mtimes — is that instant, so the same input and the same edits give a
 * byte-identical image. Otherwise it is the real time. */
#ifndef GM_CLOCK_H
#define GM_CLOCK_H

#include <stdbool.h>
#include <time.h>

/* Fills now; never fails. */
void gm_clock_now(struct timespec *now);
/* True (and *epoch set) when SOURCE_DATE_EPOCH holds a valid timestamp. */
bool gm_clock_fixed(time_t *epoch);

#endif
