/* ids.c — the owners and link counts the kernel is shown.
 *
 * The mounting user's view (no allow_other, -o ids=mapped, the default):
 * image uid 0 and the caller's uid U trade places on the way out (stat shows
 * U where the image says root, 0 where it says U), as a user namespace maps
 * a rootless container's root to its owner; on the way in both 0 and U are
 * stored as 0 (`chown root:` and `chown $USER:` both mean the image's root;
 * a file so changed keeps showing the caller as its owner, so the kernel's
 * own owner checks — setting ACLs, sticky directories, O_NOATIME — pass).
 * The same for gids with the caller's gid G. Every other id passes as is.
 * ACL entries (system.posix_acl_access/default, Linux xattr ABI: le32
 * version 2, then { le16 tag, le16 perm, le32 id }) are mapped the same way.
 *
 * Link counts: a file unlinked while open lives on under the hidden orphan
 * directory; it shows its names outside it only (0 when none is left), and
 * the root does not count the hidden directory. */
#include <errno.h>
#include <string.h>

#include "fuse/fuse_private.h"

#define ACL_USER 0x02
#define ACL_GROUP 0x08

static uint32_t swap_out(uint32_t id, uint32_t mine)
{
	if (id == 0)
		return mine;
	return id == mine ? 0 : id;
}

static uint32_t fold_in(uint32_t id, uint32_t mine)
{
	return id == mine ? 0 : id;
}

uid_t gm_fuse_uid_out(const struct gm_fuse *f, uid_t uid)
{
	return f->map_ids ? swap_out(uid, f->map_uid) : uid;
}

gid_t gm_fuse_gid_out(const struct gm_fuse *f, gid_t gid)
{
	return f->map_ids ? swap_out(gid, f->map_gid) : gid;
}

uid_t gm_fuse_uid_in(const struct gm_fuse *f, uid_t uid)
{
	return f->map_ids ? fold_in(uid, f->map_uid) : uid;
}

gid_t gm_fuse_gid_in(const struct gm_fuse *f, gid_t gid)
{
	return f->map_ids ? fold_in(gid, f->map_gid) : gid;
}

bool gm_fuse_is_acl(const char *name)
{
	return !strcmp(name, "system.posix_acl_access") ||
	       !strcmp(name, "system.posix_acl_default");
}

int gm_fuse_acl_check(const void *value, size_t size)
{
	const unsigned char *p = value;

	if (size < 4 || (size - 4) % 8 || p[0] != 2 || p[1] || p[2] || p[3])
		return -EINVAL;
	return (int)((size - 4) / 8);
}

void gm_fuse_acl_map(const struct gm_fuse *f, void *value, size_t size, bool out)
{
	unsigned char *p = value;
	int n = gm_fuse_acl_check(value, size);

	if (!f->map_ids || n < 0)
		return;
	for (int i = 0; i < n; i++) {
		unsigned char *e = p + 4 + 8 * i;
		unsigned tag = e[0] | e[1] << 8;
		uint32_t id = (uint32_t)e[4] | (uint32_t)e[5] << 8 | (uint32_t)e[6] << 16 |
			      (uint32_t)e[7] << 24;

		if (tag == ACL_USER)
			id = out ? swap_out(id, f->map_uid) : fold_in(id, f->map_uid);
		else if (tag == ACL_GROUP)
			id = out ? swap_out(id, f->map_gid) : fold_in(id, f->map_gid);
		else
			continue;
		e[4] = (unsigned char)id;
		e[5] = (unsigned char)(id >> 8);
		e[6] = (unsigned char)(id >> 16);
		e[7] = (unsigned char)(id >> 24);
	}
}

void gm_fuse_present(const struct gm_fuse *f, gm_vino_t ino, struct stat *st)
{
	unsigned hidden = gm_fuse_hidden_links(f, ino);

	st->st_ino = ino;
	st->st_uid = gm_fuse_uid_out(f, st->st_uid);
	st->st_gid = gm_fuse_gid_out(f, st->st_gid);
	if (hidden)
		st->st_nlink = st->st_nlink > hidden ? st->st_nlink - hidden : 0;
	/* A filesystem's root (the view's, /boot's) with its orphan directory. */
	if ((ino & GM_VINO_LOCAL_MASK) == GM_ROOT_INO && f->fs &&
	    f->orphan_dir[gm_view_member_of(f->fs, ino)] && st->st_nlink > 2)
		st->st_nlink--;
}
