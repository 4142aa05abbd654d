/* clock.c — see clock.h. */
#include "editor/clock.h"

#include <errno.h>
#include <stdlib.h>

bool gm_clock_fixed(time_t *epoch)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	char *end;
	long long v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < 0)
		return false;
	*epoch = (time_t)v;
	return true;
}

void gm_clock_now(struct timespec *now)
{
	time_t epoch;

	if (gm_clock_fixed(&epoch)) {
		now->tv_sec = epoch;
		now->tv_nsec = 0;
		return;
	}
	clock_gettime(CLOCK_REALTIME, now);
}
