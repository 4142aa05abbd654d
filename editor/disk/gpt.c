/* gpt.c — see gpt.h. */
#include "editor/disk/gpt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define SECTOR 512u
#define MAX_ARRAY (1u << 20)   /* as partition.c's plausibility check */

static uint32_t le32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t le64(const unsigned char *b) { return le32(b) | (uint64_t)le32(b + 4) << 32; }

static int read_at(int fd, void *buf, size_t len, uint64_t off, gm_gpt_wait_fn wait, void *wpriv)
{
	int rc;

	if (wait && (rc = wait(wpriv, off, len)))
		return rc;
	return pread(fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -EINVAL;
}

int gm_gpt_read(int fd, uint64_t disk_size, uint64_t lba, gm_gpt_wait_fn wait, void *wpriv,
		struct gm_gpt_hdr *h)
{
	unsigned char s[SECTOR], *ents;
	uint32_t hsize, crc;
	uint64_t alen;
	int rc;

	if (lba == 0 || lba >= disk_size / SECTOR)
		return -EINVAL;
	if ((rc = read_at(fd, s, sizeof(s), lba * SECTOR, wait, wpriv)))
		return rc;
	hsize = le32(s + 12);
	if (memcmp(s, "EFI PART", 8) || hsize < 92 || hsize > SECTOR)
		return -EINVAL;
	crc = le32(s + 16);
	memset(s + 16, 0, 4);
	if ((uint32_t)crc32(0, s, hsize) != crc)
		return -EINVAL;
	h->my_lba = le64(s + 24);
	h->alt_lba = le64(s + 32);
	h->first_lba = le64(s + 40);
	h->last_lba = le64(s + 48);
	memcpy(h->guid, s + 56, 16);
	h->entries_lba = le64(s + 72);
	h->n = le32(s + 80);
	h->esz = le32(s + 84);
	h->entries_crc = le32(s + 88);
	alen = (uint64_t)h->n * h->esz;
	if (h->my_lba != lba || h->esz < 128 || h->esz % 8 || alen > MAX_ARRAY ||
	    h->entries_lba == 0 || h->entries_lba > disk_size / SECTOR ||
	    alen > disk_size - h->entries_lba * SECTOR)
		return -EINVAL;
	ents = malloc(alen ? alen : 1);
	if (!ents)
		return -ENOMEM;
	rc = read_at(fd, ents, alen, h->entries_lba * SECTOR, wait, wpriv);
	if (!rc && (uint32_t)crc32(0, ents, (uInt)alen) != h->entries_crc)
		rc = -EINVAL;
	free(ents);
	return rc;
}

void gm_gpt_backup_problem(int fd, uint64_t disk_size, char *buf, size_t len)
{
	struct gm_gpt_hdr p, b;
	bool pv = gm_gpt_read(fd, disk_size, 1, NULL, NULL, &p) == 0, bv;

	buf[0] = '\0';
	bv = gm_gpt_read(fd, disk_size, pv ? p.alt_lba : disk_size / SECTOR - 1, NULL, NULL, &b) == 0;
	if (pv && !bv)
		snprintf(buf, len, "the backup GPT header (sector %llu, the end of the disk) is missing "
			 "or damaged; the primary was used", (unsigned long long)p.alt_lba);
	else if (!pv && bv)
		snprintf(buf, len, "the primary GPT header is damaged; the backup at the end of the "
			 "disk was used");
	else if (pv && bv && (b.alt_lba != 1 || b.n != p.n || b.esz != p.esz ||
			      b.entries_crc != p.entries_crc || b.first_lba != p.first_lba ||
			      b.last_lba != p.last_lba || memcmp(b.guid, p.guid, 16)))
		snprintf(buf, len, "the backup GPT at the end of the disk differs from the primary; "
			 "the primary was used");
}
