/* fs_xattr.c — extended attributes through libext2fs' xattr handle API
 * (ext2fs_xattrs_open/read, ext2fs_xattr_get/set/remove). libext2fs stores
 * them in the inode's spare space or in an xattr block (sharing and
 * refcounts included) and translates system.posix_acl_* between the
 * posix_acl_xattr format of the syscalls and ext4's on-disk ACL format.
 * "system.data" (the body of inline-data files) is internal: never listed,
 * never set or removed. */
#include "editor/fs/fs_inode.h"

#include <errno.h>
#include <string.h>
#include <sys/xattr.h>

#define GM_XATTR_NAME_MAX 255
#define GM_XATTR_SIZE_MAX 65536

static bool internal_name(const char *name)
{
	return strcmp(name, "system.data") == 0;
}

static int check_name(struct gm_fs *fs, const char *name)
{
	static const char *const ns[] = { "user.", "trusted.", "security.", "system." };
	size_t len = name ? strlen(name) : 0;

	if (len == 0)
		return gm_fs_fail(fs, -ERANGE, "empty xattr name");
	if (len > GM_XATTR_NAME_MAX)
		return gm_fs_fail(fs, -ERANGE, "xattr name longer than %d bytes", GM_XATTR_NAME_MAX);
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		size_t n = strlen(ns[i]);

		if (len > n && strncmp(name, ns[i], n) == 0)
			return 0;
	}
	return gm_fs_fail(fs, -EOPNOTSUPP, "xattr '%s' is in no known namespace", name);
}

/* Opens and reads the xattrs of ino. */
static int open_xattrs(struct gm_fs *fs, gm_ino_t ino, struct ext2_xattr_handle **h)
{
	struct ext2_inode_large inode;
	errcode_t rc;
	int ret;

	ret = gm_fsi_read(fs, ino, &inode);
	if (ret)
		return ret;
	rc = ext2fs_xattrs_open(fs->e2fs, ino, h);
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "open extended attributes");
	rc = ext2fs_xattrs_read(*h);
	if (rc) {
		ext2fs_xattrs_close(h);
		return gm_fs_fail_ext2(fs, rc, "read extended attributes");
	}
	return 0;
}

/* 0 if present (value copied out when val is not NULL, caller frees),
 * -ENODATA if absent, else -errno. */
static int get_value(struct gm_fs *fs, struct ext2_xattr_handle *h, const char *name,
		     void **val, size_t *len)
{
	void *v = NULL;
	size_t n = 0;
	errcode_t rc;

	rc = ext2fs_xattr_get(h, name, &v, &n);
	if (rc == EXT2_ET_EA_KEY_NOT_FOUND)
		return gm_fs_fail(fs, -ENODATA, "no xattr '%s'", name);
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "get extended attribute");
	if (val)
		*val = v;
	else
		ext2fs_free_mem(&v);
	if (len)
		*len = n;
	return 0;
}

/* libext2fs rebuilds the posix_acl_xattr form with e_id 0 for the entries
 * that carry no id; the kernel reports ACL_UNDEFINED_ID (-1) there. */
static void acl_undefined_ids(void *val, size_t len)
{
	unsigned char *p = val;

	if (len < 4 || (len - 4) % 8 != 0 || p[0] != 2 || p[1] || p[2] || p[3])
		return;
	for (size_t off = 4; off < len; off += 8) {
		unsigned tag = p[off] | (unsigned)p[off + 1] << 8;

		if (tag != 0x02 && tag != 0x08)    /* ACL_USER, ACL_GROUP */
			memset(p + off + 4, 0xff, 4);
	}
}

ssize_t gm_fs_getxattr(struct gm_fs *fs, gm_ino_t ino, const char *name, void *buf, size_t size)
{
	struct ext2_xattr_handle *h = NULL;
	void *val = NULL;
	size_t len = 0;
	ssize_t ret;

	ret = check_name(fs, name);
	if (ret)
		return ret;
	if (internal_name(name))
		return gm_fs_fail(fs, -ENODATA, "no xattr '%s'", name);
	if (!ext2fs_has_feature_xattr(fs->e2fs->super))
		return gm_fs_fail(fs, -ENODATA, "no xattr '%s' (no ext_attr feature)", name);
	ret = open_xattrs(fs, ino, &h);
	if (ret)
		return ret;
	ret = get_value(fs, h, name, &val, &len);
	if (ret)
		goto out;
	if (!strncmp(name, "system.posix_acl_", 17))
		acl_undefined_ids(val, len);
	if (size == 0) {
		ret = (ssize_t)len;
	} else if (len > size) {
		ret = gm_fs_fail(fs, -ERANGE, "xattr '%s' is %zu bytes, buffer %zu", name, len, size);
	} else {
		memcpy(buf, val, len);
		ret = (ssize_t)len;
	}
out:
	ext2fs_free_mem(&val);
	ext2fs_xattrs_close(&h);
	return ret;
}

struct list_ctx {
	char *buf;
	size_t size, need;
};

static int list_cb(char *name, char *value, size_t value_len, void *priv)
{
	struct list_ctx *c = priv;
	size_t n = strlen(name) + 1;

	(void)value; (void)value_len;
	if (internal_name(name))
		return 0;
	if (c->buf && c->need + n <= c->size)
		memcpy(c->buf + c->need, name, n);
	c->need += n;
	return 0;
}

ssize_t gm_fs_listxattr(struct gm_fs *fs, gm_ino_t ino, char *buf, size_t size)
{
	struct ext2_xattr_handle *h = NULL;
	struct list_ctx c = { .buf = size ? buf : NULL, .size = size };
	struct ext2_inode_large inode;
	errcode_t rc;
	int ret;

	if (!ext2fs_has_feature_xattr(fs->e2fs->super))
		return gm_fsi_read(fs, ino, &inode);
	ret = open_xattrs(fs, ino, &h);
	if (ret)
		return ret;
	rc = ext2fs_xattrs_iterate(h, list_cb, &c);
	ext2fs_xattrs_close(&h);
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "list extended attributes");
	if (size && c.need > size)
		return gm_fs_fail(fs, -ERANGE, "xattr names need %zu bytes, buffer %zu", c.need, size);
	return (ssize_t)c.need;
}

/* Common start of set/remove: writable, valid name, handle opened. */
static int begin_change(struct gm_fs *fs, gm_ino_t ino, const char *name,
			struct ext2_xattr_handle **h)
{
	int rc;

	if ((rc = gm_fsi_writable(fs)) || (rc = check_name(fs, name)))
		return rc;
	if (internal_name(name))
		return gm_fs_fail(fs, -EOPNOTSUPP, "'%s' is internal to ext4", name);
	if (!ext2fs_has_feature_xattr(fs->e2fs->super))
		return gm_fs_fail(fs, -EOPNOTSUPP, "the filesystem has no ext_attr feature");
	/* an xattr block may be freed (fs_txn.c) */
	if ((rc = gm_fs_txn_save_bmap(fs)))
		return rc;
	return open_xattrs(fs, ino, h);
}

/* libext2fs 1.47 leaves an xattr block allocated once its last entry is
 * gone; release it (as the kernel does) so no empty block lingers. */
static int drop_empty_block(struct gm_fs *fs, gm_ino_t ino)
{
	struct ext2_inode_large inode;
	char *buf = NULL;
	blk64_t blk;
	errcode_t rc;
	int ret;

	ret = gm_fsi_read(fs, ino, &inode);
	if (ret)
		return ret;
	blk = ext2fs_file_acl_block(fs->e2fs, (struct ext2_inode *)&inode);
	if (!blk)
		return 0;
	rc = ext2fs_get_mem(fs->e2fs->blocksize, &buf);
	if (!rc)
		rc = ext2fs_read_ext_attr3(fs->e2fs, blk, buf, ino);
	if (!rc && EXT2_EXT_IS_LAST_ENTRY(buf + sizeof(struct ext2_ext_attr_header))) {
		/* drops the reference in our copy only: write it back */
		rc = ext2fs_free_ext_attr(fs->e2fs, ino, &inode);
		if (!rc) {
			ext2fs_free_mem(&buf);
			return gm_fsi_write(fs, ino, &inode);
		}
	}
	ext2fs_free_mem(&buf);
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "release empty xattr block");
	return 0;
}

/* Closes the handle and stamps ctime (the inode is re-read: libext2fs has
 * just rewritten its xattr area). */
static int end_change(struct gm_fs *fs, gm_ino_t ino, struct ext2_xattr_handle **h, int rc)
{
	errcode_t err = ext2fs_xattrs_close(h);

	if (rc)
		return rc;
	if (err)
		return gm_fs_fail_ext2(fs, err, "write extended attributes");
	rc = drop_empty_block(fs, ino);
	if (rc)
		return rc;
	return gm_fsi_touch_ino(fs, ino, GM_T_CTIME);
}

static int setxattr_op(struct gm_fs *fs, gm_ino_t ino, const char *name, const void *value,
		   size_t size, int flags)
{
	struct ext2_xattr_handle *h = NULL;
	errcode_t err;
	int rc;

	if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
		return gm_fs_fail(fs, -EINVAL, "setxattr: unknown flags 0x%x", (unsigned)flags);
	if (size > GM_XATTR_SIZE_MAX)
		return gm_fs_fail(fs, -E2BIG, "xattr value of %zu bytes is too large", size);
	rc = begin_change(fs, ino, name, &h);
	if (rc)
		return rc;
	rc = get_value(fs, h, name, NULL, NULL);
	if (rc == 0 && (flags & XATTR_CREATE)) {
		rc = gm_fs_fail(fs, -EEXIST, "xattr '%s' already exists", name);
	} else if (rc == -ENODATA && !(flags & XATTR_REPLACE)) {
		rc = 0;
	}
	if (!rc) {
		err = ext2fs_xattr_set(h, name, value ? value : "", size);
		if (err)
			rc = gm_fs_fail_ext2(fs, err, "set extended attribute");
	}
	return end_change(fs, ino, &h, rc);
}

static int removexattr_op(struct gm_fs *fs, gm_ino_t ino, const char *name)
{
	struct ext2_xattr_handle *h = NULL;
	errcode_t err;
	int rc;

	rc = begin_change(fs, ino, name, &h);
	if (rc)
		return rc;
	rc = get_value(fs, h, name, NULL, NULL);
	if (!rc) {
		err = ext2fs_xattr_remove(h, name);
		if (err)
			rc = gm_fs_fail_ext2(fs, err, "remove extended attribute");
	}
	return end_change(fs, ino, &h, rc);
}

int gm_fs_setxattr(struct gm_fs *fs, gm_ino_t ino, const char *name, const void *value,
		   size_t size, int flags)
{
	int rc = gm_fs_txn_begin(fs);

	if (rc)
		return rc;
	return gm_fs_txn_end(fs, setxattr_op(fs, ino, name, value, size, flags), "setxattr");
}

int gm_fs_removexattr(struct gm_fs *fs, gm_ino_t ino, const char *name)
{
	int rc = gm_fs_txn_begin(fs);

	if (rc)
		return rc;
	return gm_fs_txn_end(fs, removexattr_op(fs, ino, name), "removexattr");
}
