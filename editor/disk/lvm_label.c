/* lvm_label.c — the volume group name of an LVM2 physical volume (see
 * partition.h, gm_lvm_vg_name). Layout as lvm2 writes it (lib/label/label.h,
 * lib/format_text/layout.h): a "LABELONE" label in one of the first four
 * sectors, then the PV header with its data and metadata area lists; a
 * metadata area starts with an mda header whose first raw location points
 * at the current text metadata, which begins "VGNAME {". Every offset comes
 * from the disk and is checked against the buffer before use. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "editor/disk/partition.h"

#define SECTOR 512u
#define LABEL_SCAN_SECTORS 4u
#define PV_UUID_LEN 32u
#define MDA_HEADER_SIZE 512u
#define MAX_AREAS 16u   /* lvm2 writes at most 2 of each; more is hostile */

static const unsigned char mda_magic[16] = " LVM2 x[5A%r0N*>";

static uint32_t rd32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t rd64(const unsigned char *b)
{
	return rd32(b) | (uint64_t)rd32(b + 4) << 32;
}

/* Whether [off, off+n) lies inside a buffer of len bytes. */
static int inside(uint64_t off, uint64_t n, size_t len)
{
	return off <= len && n <= len - off;
}

static int vg_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '_' || c == '.' || c == '-';
}

/* The VG name at text (the first token, then " {"). */
static int name_from_text(const unsigned char *text, size_t n, char *name, size_t namelen)
{
	size_t i = 0;

	while (i < n && vg_char(text[i]))
		i++;
	if (i == 0 || i >= namelen || i + 2 > n || text[i] != ' ' || text[i + 1] != '{')
		return -ENOENT;
	memcpy(name, text, i);
	name[i] = '\0';
	return 0;
}

static int vg_from_mda(const unsigned char *buf, size_t len, uint64_t mda_off, uint64_t mda_size,
		       char *name, size_t namelen)
{
	const unsigned char *h;
	uint64_t start, size, toff, tsize;
	unsigned char text[256];
	size_t want, first;

	if (mda_size < MDA_HEADER_SIZE || !inside(mda_off, MDA_HEADER_SIZE, len))
		return -ENOENT;
	h = buf + mda_off;
	if (memcmp(h + 4, mda_magic, sizeof(mda_magic)))
		return -ENOENT;
	start = rd64(h + 24);
	size = rd64(h + 32);
	/* the first raw location: offset, size, checksum, flags */
	toff = rd64(h + 40);
	tsize = rd64(h + 48);
	if (start != mda_off || size != mda_size || toff < MDA_HEADER_SIZE || toff >= size ||
	    tsize == 0 || tsize > size)
		return -ENOENT;
	want = tsize < sizeof(text) ? (size_t)tsize : sizeof(text);
	/* The text may wrap round the circular buffer, back to just after the header. */
	first = size - toff < want ? (size_t)(size - toff) : want;
	if (!inside(start + toff, first, len))
		return -ENOENT;
	memcpy(text, buf + start + toff, first);
	if (first < want) {
		if (!inside(start + MDA_HEADER_SIZE, want - first, len))
			return -ENOENT;
		memcpy(text + first, buf + start + MDA_HEADER_SIZE, want - first);
	}
	return name_from_text(text, want, name, namelen);
}

int gm_lvm_vg_name(const unsigned char *buf, size_t len, char *name, size_t namelen)
{
	for (unsigned s = 0; s < LABEL_SCAN_SECTORS; s++) {
		uint64_t lab = (uint64_t)s * SECTOR, pvh, p;
		unsigned lists = 0, areas = 0;

		if (!inside(lab, SECTOR, len) || memcmp(buf + lab, "LABELONE", 8) ||
		    memcmp(buf + lab + 24, "LVM2 001", 8))
			continue;
		pvh = lab + rd32(buf + lab + 20);
		if (rd32(buf + lab + 20) >= SECTOR || !inside(pvh, PV_UUID_LEN + 8, len))
			return -ENOENT;
		/* data areas, a zero entry, metadata areas, a zero entry */
		for (p = pvh + PV_UUID_LEN + 8; lists < 2; p += 16) {
			uint64_t off, size;

			if (!inside(p, 16, len) || p + 16 > lab + SECTOR || ++areas > 2 * MAX_AREAS)
				return -ENOENT;
			off = rd64(buf + p);
			size = rd64(buf + p + 8);
			if (off == 0) {   /* lvm2 ends each list at offset 0 (size 0 means "to the end") */
				lists++;
				continue;
			}
			if (lists == 1 && vg_from_mda(buf, len, off, size, name, namelen) == 0)
				return 0;
		}
		return -ENOENT;
	}
	return -ENOENT;
}
