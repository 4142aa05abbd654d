/* xattr_ops.c — the extended-attribute handlers (fuse/ops.c's table):
 * names and values pass through to editor/fs/fs.h, except POSIX ACLs,
 * whose ids are mapped (ids.c) and whose access ACL is also the mode. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/fuse_private.h"

/* The kernel hands ACLs over as raw xattrs when FUSE_CAP_POSIX_ACL is off
 * (it must be: it would force default_permissions). Do what the VFS does
 * for a local filesystem: the ACL's owner/group-or-mask/other permissions
 * become the mode, and an ACL that says no more than the mode is not kept
 * (cp -a and tar --acls set ACLs instead of calling chmod). value is as
 * stored (ids mapped in). */
static int set_acl_access(struct gm_fuse *f, gm_vino_t ino, const void *value, size_t size,
			  int flags)
{
	const unsigned char *p = value;
	unsigned user = 0, group = 0, mask = 0, other = 0, extra = 0;
	bool has_mask = false;
	struct gm_setattr sa = { .valid = GM_SET_MODE };
	struct stat st;
	int rc, n = gm_fuse_acl_check(value, size);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		const unsigned char *e = p + 4 + 8 * i;
		unsigned tag = e[0] | e[1] << 8, perm = (e[2] | e[3] << 8) & 7;

		switch (tag) {
		case 0x01: user = perm; break;
		case 0x04: group = perm; break;
		case 0x10: mask = perm; has_mask = true; break;
		case 0x20: other = perm; break;
		case 0x02: case 0x08: extra++; break;
		default: return -EINVAL;
		}
	}
	rc = gm_view_getattr(f->fs, ino, &st);
	if (rc < 0)
		return rc;
	sa.mode = (st.st_mode & 07000) | user << 6 | (has_mask ? mask : group) << 3 | other;
	rc = gm_view_setattr(f->fs, ino, &sa, NULL);
	if (rc < 0)
		return rc;
	if (extra || (has_mask && mask != group))
		return gm_view_setxattr(f->fs, ino, "system.posix_acl_access", value, size, flags);
	rc = gm_view_removexattr(f->fs, ino, "system.posix_acl_access");
	return rc == -ENODATA ? 0 : rc;
}

int gm_fuse_set_acl_access(struct gm_fuse *f, gm_vino_t ino, const void *value, size_t size,
			   int flags)
{
	struct gm_fuse_request r;
	int rc = gm_fuse_request_begin(f, &r);

	/* chmod, then the xattr: a failure of the second undoes the first */
	if (rc < 0)
		return rc;
	return gm_fuse_request_end(f, &r, set_acl_access(f, ino, value, size, flags), 0);
}

void gm_fuse_op_setxattr(fuse_req_t req, fuse_ino_t fino, const char *name, const char *value,
			size_t size, int flags)
{
	struct gm_fuse *f = gm_fuse_lock_req(req);
	gm_vino_t ino = gm_fuse_to_gm(fino);
	bool acl = gm_fuse_is_acl(name), access = acl && !strcmp(name, "system.posix_acl_access");
	void *copy = NULL;
	int rc;

	if (acl) {
		/* ACL entries name users and groups: stored as chown would. */
		if ((rc = gm_fuse_acl_check(value, size)) < 0)
			return gm_fuse_reply_err(f, req, rc, "setxattr", ino);
		if (!(copy = malloc(size)))
			return gm_fuse_reply_err(f, req, -ENOMEM, "setxattr", ino);
		memcpy(copy, value, size);
		gm_fuse_acl_map(f, copy, size, false);
		value = copy;
	}
	if (access)
		rc = gm_fuse_set_acl_access(f, ino, value, size, flags);
	else
		rc = gm_view_setxattr(f->fs, ino, name, value, size, flags);
	free(copy);
	if (rc < 0)
		return gm_fuse_reply_err(f, req, rc, "setxattr", ino);
	gm_fuse_unlock(f);
	fuse_reply_err(req, 0);
	/* The mode changed behind the kernel's attribute cache (attributes
	 * only: takes no inode lock, safe from the serving thread). */
	if (access)
		fuse_lowlevel_notify_inval_inode(f->se, fino, -1, 0);
}

/* getxattr and listxattr share the protocol: size 0 asks for the length,
 * anything else for the bytes. get is gm_view_getxattr or list_names. */
typedef ssize_t (*xattr_get_fn)(struct gm_view *fs, gm_vino_t ino, const char *name, void *buf,
				size_t size);

static ssize_t list_names(struct gm_view *fs, gm_vino_t ino, const char *name, void *buf, size_t size)
{
	(void)name;
	return gm_view_listxattr(fs, ino, buf, size);
}

static void reply_xattr_bytes(fuse_req_t req, fuse_ino_t fino, const char *name, size_t size,
			      xattr_get_fn get, const char *what)
{
	struct gm_fuse *f = gm_fuse_lock_req(req);
	gm_vino_t ino = gm_fuse_to_gm(fino);
	char *buf = NULL;
	ssize_t n;

	if (size && !(buf = malloc(size)))
		return gm_fuse_reply_err(f, req, -ENOMEM, what, ino);
	n = get(f->fs, ino, name, buf, size);
	if (n < 0) {
		free(buf);
		return gm_fuse_reply_err(f, req, (int)n, what, ino);
	}
	if (size && name && gm_fuse_is_acl(name))
		gm_fuse_acl_map(f, buf, (size_t)n, true);
	gm_fuse_unlock(f);
	if (size)
		fuse_reply_buf(req, buf, (size_t)n);
	else
		fuse_reply_xattr(req, (size_t)n);
	free(buf);
}

void gm_fuse_op_getxattr(fuse_req_t req, fuse_ino_t fino, const char *name, size_t size)
{
	reply_xattr_bytes(req, fino, name, size, gm_view_getxattr, "getxattr");
}

void gm_fuse_op_listxattr(fuse_req_t req, fuse_ino_t fino, size_t size)
{
	reply_xattr_bytes(req, fino, NULL, size, list_names, "listxattr");
}

void gm_fuse_op_removexattr(fuse_req_t req, fuse_ino_t fino, const char *name)
{
	struct gm_fuse *f = gm_fuse_lock_req(req);
	gm_vino_t ino = gm_fuse_to_gm(fino);
	int rc;

	rc = gm_view_removexattr(f->fs, ino, name);
	if (rc < 0)
		return gm_fuse_reply_err(f, req, rc, "removexattr", ino);
	gm_fuse_unlock(f);
	fuse_reply_err(req, 0);
}
