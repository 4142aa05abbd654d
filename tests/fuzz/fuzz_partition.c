/* fuzz_partition.c — libFuzzer target: partition table probing (libfdisk +
 * libblkid through gm_partition_probe) and the choice of the partition to
 * edit, on a disk that is the fuzz input (a memfd).
 * Invariants: a failure gives one message line; every reported partition
 * lies inside the disk or the table's problems say why not; the chosen
 * partition is one of the table's and lies inside the disk. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "editor/disk/partition.h"
#include "tests/fuzz/fuzz_common.h"

static int fuzz_partition_one(const uint8_t *data, size_t n)
{
	static struct gm_partition_table t;
	struct gm_error err = { 0 };
	const struct gm_partition *chosen = NULL;
	char why[256];
	int fd, rc;
	size_t i;

	fd = memfd_create("gm-fuzz-disk", MFD_CLOEXEC);
	GM_FUZZ_ASSERT(fd >= 0);
	GM_FUZZ_ASSERT(write(fd, data, n) == (ssize_t)n);
	memset(&t, 0, sizeof(t));
	rc = gm_partition_probe(fd, n, &t, &err);
	if (rc < 0) {
		GM_FUZZ_ASSERT(gm_error_msg(&err)[0] != '\0');
		GM_FUZZ_ASSERT(strchr(gm_error_msg(&err), '\n') == NULL);
		goto out;
	}
	GM_FUZZ_ASSERT(t.n <= GM_MAX_PARTITIONS);
	GM_FUZZ_ASSERT(memchr(t.problems, 0, sizeof(t.problems)) != NULL);
	for (i = 0; i < t.n; i++) {
		const struct gm_partition *p = &t.parts[i];
		GM_FUZZ_ASSERT(memchr(p->fstype, 0, sizeof(p->fstype)) != NULL);
		GM_FUZZ_ASSERT(memchr(p->type_name, 0, sizeof(p->type_name)) != NULL);
		if (p->offset > n || p->size > n - p->offset)
			GM_FUZZ_ASSERT(t.problems[0] != '\0');
	}
	gm_error_clear(&err);
	rc = gm_partition_choose(&t, 0, &chosen, why, sizeof(why), &err);
	if (rc == 0) {
		GM_FUZZ_ASSERT(chosen >= t.parts && chosen < t.parts + t.n);
		GM_FUZZ_ASSERT(chosen->offset <= n && chosen->size <= n - chosen->offset);
		GM_FUZZ_ASSERT(memchr(why, 0, sizeof(why)) != NULL);
	} else {
		GM_FUZZ_ASSERT(strchr(gm_error_msg(&err), '\n') == NULL);
	}
out:
	close(fd);
	return 0;
}

GM_FUZZ_ENTRY(fuzz_partition_one)
