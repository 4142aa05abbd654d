/* wal.h — the write-ahead undo log of an image's disk, on disk.
 *
 * One file per image, <cache>/<key>/undo (the cache directory keys raw
 * disks as it keys tarballs); without a cache directory an unlinked
 * temporary file (then nothing survives the process). It holds the
 * operation in progress (editor/disk/undo.h): before bytes of the disk are
 * overwritten, their old contents are appended here (a SAVE record), so a
 * process that dies at any instant leaves a log from which the next open
 * gives the disk back, byte for byte, as it was when the operation began
 * (gm_wal_recover).
 *
 * Format (host byte order; the file never leaves the machine):
 *   header, 64 bytes at offset 0: magic "GMWAL01\n", the disk's dev, inode
 *     and birth time (a file made anew under a reused inode number differs),
 *     a CRC-32 of the header.
 *   records from offset 64, each 48 bytes + dlen bytes of data:
 *     magic, type (BEGIN, SAVE, COMMIT, ABORT), flags, op (a number new for
 *     every operation), off/len (SAVE: the disk range; BEGIN: pid, time),
 *     prev (offset of the record before it), dlen, and a CRC-32 of the
 *     record (with crc 0) and its data.
 *   Every operation starts over at offset 64 with its BEGIN; what follows
 *   its last record (older operations' records) has another op number or
 *   fails its CRC, and ends the reading. An operation is pending when its
 *   records end without COMMIT or ABORT.
 * A SAVE record reaches the file (pwrite) before the disk bytes it protects
 * are overwritten, so against process death (SIGKILL, a crash) write order
 * is enough: a record cut short by death fails its CRC, and its bytes were
 * not overwritten yet. Against a crash of the machine (power loss) the page
 * cache may lose any unflushed write, in any order: with sync on (verbs),
 * the BEGIN record is flushed before the operation's first write and, at
 * the commit, the disk before the COMMIT record, so an operation the crash
 * cut is known as such (its BEGIN carries the boot id; recovery says
 * other_boot); its undo is then as good as the records that reached the
 * disk, and the caller must not trust the result as exact.
 * Not thread-safe: callers serialise (as for libext2fs). */
#ifndef GM_WAL_H
#define GM_WAL_H

#include <stdbool.h>
#include <stdint.h>

#include "editor/error.h"

#define GM_WAL_NAME "undo"
#define GM_WAL_REC_MAX (64u << 10)     /* data bytes of one SAVE record at most */

struct gm_wal;

enum gm_wal_save {
	GM_WAL_DATA = 0,       /* the bytes follow in the record */
	GM_WAL_ZERO = 1,       /* they were all zero: written back as zeros */
	GM_WAL_HOLE = 2,       /* a hole of the disk file: punched back */
};

/* Opens the log at path (created, mode 0600; NULL: an unlinked temporary
 * file) for the disk disk_fd. A log made for another disk (identity
 * differs) is started afresh. Recover first (gm_wal_recover): a pending
 * operation in the file is dropped here. 0 or -errno with err set. */
int gm_wal_open(const char *path, int disk_fd, struct gm_wal **out, struct gm_error *err);
/* Closes (an operation still open stays pending in the file). Accepts NULL. */
void gm_wal_close(struct gm_wal *w);

/* Whether the log lives in a file the next open finds. */
bool gm_wal_persistent(const struct gm_wal *w);
/* The number of the current (or last) operation. */
uint64_t gm_wal_op(const struct gm_wal *w);
/* A buffer of GM_WAL_REC_MAX bytes the caller may fill and pass to
 * gm_wal_save_buf without a copy (or use for gm_wal_read). */
unsigned char *gm_wal_data_buf(struct gm_wal *w);
/* Power-loss mode (see above); off by default. */
void gm_wal_set_sync(struct gm_wal *w, bool on);
/* Test hook (fuzzing): no fdatasync in any log of the process, whatever
 * gm_wal_set_sync says. */
void gm_wal_test_nosync(bool on);

/* Starts an operation: its BEGIN record (with this boot's id), made durable
 * (fdatasync) when sync is on. 0 or -errno. */
int gm_wal_begin(struct gm_wal *w);
/* Appends a SAVE of the disk's [off, off+len) as it is now (len <=
 * GM_WAL_REC_MAX): how is DATA (read from the disk), ZERO or HOLE (nothing
 * read). *where gets the file offset of the data (DATA). 0 or -errno. */
int gm_wal_save(struct gm_wal *w, uint64_t off, uint64_t len, enum gm_wal_save how,
		uint64_t *where);
/* As gm_wal_save with the bytes given (already read by the caller). */
int gm_wal_save_buf(struct gm_wal *w, uint64_t off, const void *buf, uint64_t len,
		    uint64_t *where);
/* Reads back len bytes of data saved at where (for an in-process undo). */
int gm_wal_read(struct gm_wal *w, uint64_t where, void *buf, uint64_t len);
/* The file offset the next record goes to, and dropping every record from
 * such an offset on (an inner level undone in process: its records go). */
uint64_t gm_wal_tail(const struct gm_wal *w);
int gm_wal_truncate(struct gm_wal *w, uint64_t tail);
/* Ends the operation: COMMIT (its changes stay) or ABORT (they were undone
 * in process). With sync on, the disk is flushed before a COMMIT and the
 * record made durable. 0 or -errno. */
int gm_wal_commit(struct gm_wal *w);
int gm_wal_abort(struct gm_wal *w);

/* What recovery found and did. */
struct gm_wal_recovery {
	bool rolled_back;      /* a pending operation was undone */
	long pid;              /* whose it was */
	int64_t time;          /* when it began (seconds) */
	unsigned records;      /* SAVE records replayed */
	uint64_t op;           /* its number */
	bool other_boot;       /* begun before the machine restarted: the undo
				* may lack writes the crash lost from the log */
};

/* Before anything else on an image: if the log at path holds a pending
 * operation for the disk disk_fd (opened for writing), writes every saved
 * range back, newest first (the disk then holds what it held when the
 * operation began), flushes the disk, and closes the operation with an
 * ABORT. A log of another disk, or none, is left alone (r->rolled_back
 * false). 0 or -errno with err set (the disk may then hold a mix: the log
 * stays pending, so a later recovery tries again). */
int gm_wal_recover(const char *path, int disk_fd, struct gm_wal_recovery *r,
		   struct gm_error *err);
/* Whether the log at path holds a pending operation (for a read-only
 * open that cannot recover: it must refuse). */
bool gm_wal_pending(const char *path);

/* For a signal handler (async-signal-safe: no allocation, no locks): rolls
 * back the operation in progress of the log registered with
 * gm_wal_signal_arm as gm_wal_recover would, from the file. Returns 1 when
 * it undid an operation, 0 when none was in progress, -1 on failure. */
int gm_wal_signal_rollback(void);
/* Registers w (NULL: none) as the log gm_wal_signal_rollback undoes. */
void gm_wal_signal_arm(struct gm_wal *w);

#endif
