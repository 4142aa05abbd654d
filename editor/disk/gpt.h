/* gpt.h — GPT headers read directly (sector size 512, as for image files):
 * whether the primary header and its entry array are whole, and whether
 * the backup at the end of the disk agrees with it. libfdisk reads the
 * table itself (partition.c); this tells what it does not say: which copy
 * it could trust before the end of a disk arrived, and what a damaged
 * backup means for the image. Pure reads, bounded by the disk size.
 */
#ifndef GM_GPT_H
#define GM_GPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gm_gpt_hdr {
	uint64_t my_lba, alt_lba, first_lba, last_lba, entries_lba;
	uint32_t n, esz, entries_crc;
	unsigned char guid[16];
};

/* Called before a range of the disk is read (a disk still arriving); 0 or
 * -errno (then the read is not done). May be NULL. */
typedef int (*gm_gpt_wait_fn)(void *priv, uint64_t off, uint64_t len);

/* Reads the header at lba and checks it: signature, header size, header
 * CRC, that it says it is at lba, an entry array of plausible size inside
 * the disk, the array's CRC. 0 (h filled), -EINVAL (not a whole GPT
 * header there), -ENOMEM, or wait's error. */
int gm_gpt_read(int fd, uint64_t disk_size, uint64_t lba, gm_gpt_wait_fn wait, void *wpriv,
		struct gm_gpt_hdr *h);

/* For a disk whose primary or backup header is valid: one sentence into buf
 * when the backup at the end of the disk is missing, damaged or differs
 * from the primary (or the primary is the damaged one), else "". */
void gm_gpt_backup_problem(int fd, uint64_t disk_size, char *buf, size_t len);

#endif
