#!/usr/bin/env python3
"""A privileged launcher, as a container runtime or Apptainer is: opens
/dev/fuse, mounts it with mount(2) (nosuid,nodev, owned by UID:GID), starts
the FUSE server given on the command line with the descriptor as
/dev/fd/N (N replaces "{fd}" in its arguments) and waits for it to serve.
Then runs CHECK (a shell command, given the mount point as $1) and, when
CHECK exits 0, unmounts (umount2) and waits for the server.

  fd_launcher.py MOUNTPOINT UID GID CHECK -- SERVER ARGS...

Exit status: the server's (its write-back result), or 90 when CHECK failed,
or 91 when the server ended before serving. The server's stderr is passed
through; a line saying "serving" must come once it serves.
Run as root."""
import ctypes
import os
import subprocess
import sys

MS_NOSUID, MS_NODEV = 2, 4


def main():
    argv = sys.argv[1:]
    if "--" not in argv or argv.index("--") != 4:
        print(__doc__, file=sys.stderr)
        return 2
    mp, uid, gid, check = argv[0], int(argv[1]), int(argv[2]), argv[3]
    server = argv[5:]
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/dev/fuse", os.O_RDWR)
    opts = f"fd={fd},rootmode=40000,user_id={uid},group_id={gid}"
    if libc.mount(b"gcemount-launcher", mp.encode(), b"fuse.gcemount",
                  MS_NOSUID | MS_NODEV, opts.encode()) != 0:
        e = ctypes.get_errno()
        print(f"fd_launcher: mount: {os.strerror(e)}", file=sys.stderr)
        return 2
    args = [a.replace("{fd}", str(fd)) for a in server]
    p = subprocess.Popen(args, pass_fds=(fd,), stderr=subprocess.PIPE)
    os.close(fd)
    while True:
        line = p.stderr.readline()
        sys.stderr.buffer.write(line)
        sys.stderr.flush()
        if not line or b"serving" in line:
            break
    if not line:
        # The server is gone: detach the mount it never served.
        libc.umount2(mp.encode(), 2)
        p.wait()
        return 91
    rc = subprocess.call(["sh", "-c", check, "check", mp])
    if libc.umount2(mp.encode(), 0) != 0:
        libc.umount2(mp.encode(), 2)
    rest = p.stderr.read()
    sys.stderr.buffer.write(rest)
    status = p.wait()
    return 90 if rc != 0 else status


if __name__ == "__main__":
    sys.exit(main())
