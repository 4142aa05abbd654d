#!/usr/bin/env python3
"""Model-based random test of a mounted filesystem.

Applies the same random sequence of operations (create, write, truncate,
rename, unlink, mkdir, rmdir, symlink, link, chmod) to a directory inside the
mount (the system under test) and to a plain directory (the model), checking
after each operation that both succeed or both fail with the same errno, and
at the end that the two trees are identical (names, types, permission bits,
sizes, content hashes, symlink targets, link counts, hard-link groups).

  model_test.py run SEED NOPS MOUNTED_DIR MODEL_DIR [DEPTH]  (prints the seed)
  model_test.py compare MOUNTED_DIR MODEL_DIR [DEPTH]         (trees only)
DEPTH: MOUNTED_DIR's depth below the mount root, when the mount shows
symlinks contained (the default): an absolute target "/abs/path" (which
never exists in the image) then reads as "../" x (depth of the link's
directory below the mount root) + "abs/path".
Exit 0 when identical, 1 with the first difference otherwise.
"""
import errno
import hashlib
import os
import random
import stat
import sys


def walk(root, depth=None):
    """Relative path -> description, and the hard-link groups of files.
    depth: see the module's doc (for the model: what the mount shows)."""
    out, by_ino = {}, {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            d = {"type": stat.S_IFMT(st.st_mode), "perm": stat.S_IMODE(st.st_mode)}
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    d["sha"] = hashlib.sha256(f.read()).hexdigest()
                d["size"] = st.st_size
                d["nlink"] = st.st_nlink
                by_ino.setdefault(st.st_ino, []).append(rel)
            elif stat.S_ISLNK(st.st_mode):
                d["target"] = os.readlink(p)
                if depth is not None and d["target"].startswith("/"):
                    up = depth + rel.count("/")
                    d["target"] = "../" * up + d["target"].lstrip("/")
                d.pop("perm")
            elif stat.S_ISDIR(st.st_mode):
                d["nlink"] = st.st_nlink
            out[rel] = d
    groups = sorted(sorted(g) for g in by_ino.values() if len(g) > 1)
    return out, groups


def compare(sut, model, depth=None):
    a, ga = walk(sut)
    b, gb = walk(model, depth)
    bad = []
    for rel in sorted(set(a) | set(b)):
        if rel not in a:
            bad.append(f"missing in mount: {rel} {b[rel]}")
        elif rel not in b:
            bad.append(f"extra in mount: {rel} {a[rel]}")
        elif a[rel] != b[rel]:
            bad.append(f"differs: {rel}: mount {a[rel]} model {b[rel]}")
    if ga != gb:
        bad.append(f"hard-link groups differ: mount {ga} model {gb}")
    for line in bad[:20]:
        print("DIFF", line)
    return not bad, len(a)


class Model:
    def __init__(self, seed, sut, model):
        self.r = random.Random(seed)
        self.roots = (sut, model)
        self.refresh()

    def refresh(self):
        self.dirs, self.files, self.links = [""], [], []
        for dirpath, dirnames, filenames in os.walk(self.roots[1]):
            for n in dirnames + filenames:
                rel = os.path.relpath(os.path.join(dirpath, n), self.roots[1])
                st = os.lstat(os.path.join(self.roots[1], rel))
                if stat.S_ISDIR(st.st_mode):
                    self.dirs.append(rel)
                elif stat.S_ISLNK(st.st_mode):
                    self.links.append(rel)
                else:
                    self.files.append(rel)
        # Sorted: the same seed gives the same operations whatever the
        # directory order of the filesystem holding the model.
        self.dirs.sort()
        self.files.sort()
        self.links.sort()

    def newname(self):
        d = self.r.choice(self.dirs)
        n = self.r.choice(["a", "b", "c", "dd", "file", "x" * self.r.randint(1, 40),
                           f"n{self.r.randint(0, 30)}"])
        return os.path.join(d, n) if d else n

    def anyentry(self):
        pool = self.files + self.links + self.dirs[1:]
        return self.r.choice(pool) if pool else self.newname()

    def data(self):
        size = self.r.choice([0, 1, 100, 4095, 4096, 4097, 10000, 65536, 200000])
        return self.r.randbytes(size)

    def step(self):
        r = self.r
        kind = r.choices(
            ["create", "write", "truncate", "rename", "unlink", "mkdir", "rmdir",
             "symlink", "link", "chmod"],
            [14, 14, 8, 12, 8, 8, 5, 5, 5, 6])[0]
        if kind == "create":
            args = (self.newname(), self.data())
        elif kind == "write":
            f = r.choice(self.files) if self.files else self.newname()
            args = (f, r.choice([0, 1, 4096, 5000, 70000, 300000]), self.data()[:r.randint(0, 70000)])
        elif kind == "truncate":
            f = r.choice(self.files) if self.files else self.newname()
            args = (f, r.choice([0, 1, 4095, 4096, 12345, 100000, 1 << 20]))
        elif kind == "rename":
            dst = r.choice([self.newname(), self.anyentry()])
            args = (self.anyentry(), dst)
        elif kind in ("unlink",):
            pool = self.files + self.links
            args = (r.choice(pool) if pool else self.newname(),)
        elif kind == "mkdir":
            args = (self.newname(), r.choice([0o755, 0o700, 0o777]))
        elif kind == "rmdir":
            args = (r.choice(self.dirs[1:]) if len(self.dirs) > 1 else self.newname(),)
        elif kind == "symlink":
            args = (r.choice(["target", "../up", "/abs/path", "x" * r.randint(50, 300)]),
                    self.newname())
        elif kind == "link":
            args = (r.choice(self.files) if self.files else self.newname(), self.newname())
        else:
            # The owner keeps rwx: the model runs with normal permission
            # checks, the mount (owner's fakeroot view) without.
            args = (self.anyentry(), r.choice([0o755, 0o700, 0o750, 0o777, 0o1777, 0o751]))
        results = [apply(kind, root, args) for root in self.roots]
        if results[1] is None:
            self.track(kind, args)
        return kind, args, results

    def track(self, kind, args):
        """Keeps the entry lists current without walking the model tree."""
        if kind in ("create",):
            self.files.append(args[0])
        elif kind == "link":
            self.files.append(args[1])
        elif kind == "symlink":
            self.links.append(args[1])
        elif kind == "mkdir":
            self.dirs.append(args[0])
        elif kind == "rmdir":
            self.dirs.remove(args[0])
        elif kind == "unlink":
            for pool in (self.files, self.links):
                if args[0] in pool:
                    pool.remove(args[0])
        elif kind == "rename":
            self.refresh()


def apply(kind, root, args):
    """Returns None on success, else the errno."""
    p = lambda rel: os.path.join(root, rel)  # noqa: E731
    try:
        if kind == "create":
            with open(p(args[0]), "xb") as f:
                f.write(args[1])
        elif kind == "write":
            fd = os.open(p(args[0]), os.O_WRONLY)
            try:
                os.pwrite(fd, args[2], args[1])
            finally:
                os.close(fd)
        elif kind == "truncate":
            os.truncate(p(args[0]), args[1])
        elif kind == "rename":
            os.rename(p(args[0]), p(args[1]))
        elif kind == "unlink":
            os.unlink(p(args[0]))
        elif kind == "mkdir":
            os.mkdir(p(args[0]), args[1])
        elif kind == "rmdir":
            os.rmdir(p(args[0]))
        elif kind == "symlink":
            os.symlink(args[0], p(args[1]))
        elif kind == "link":
            os.link(p(args[0]), p(args[1]))
        elif kind == "chmod":
            if not os.path.islink(p(args[0])):
                os.chmod(p(args[0]), args[1])
        return None
    except OSError as e:
        return e.errno


def short(args):
    return tuple(f"<{len(a)} bytes>" if isinstance(a, bytes) else a for a in args)


def run(seed, nops, sut, model, depth=None):
    print(f"model_test: seed {seed}, {nops} operations", flush=True)
    os.umask(0o022)
    m = Model(seed, sut, model)
    counts = {}
    for i in range(nops):
        kind, args, (a, b) = m.step()
        counts[kind] = counts.get(kind, 0) + 1
        if a != b:
            print(f"op {i} {kind}{short(args)}: mount -> "
                  f"{errno.errorcode.get(a, a) if a else 'ok'}, model -> "
                  f"{errno.errorcode.get(b, b) if b else 'ok'} (seed {seed})")
            return 1
    ok, n = compare(sut, model, depth)
    print(f"model_test: {n} entries after {nops} ops {sorted(counts.items())}: "
          f"{'identical' if ok else 'DIFFERENT'}")
    return 0 if ok else 1


def main():
    if len(sys.argv) in (6, 7) and sys.argv[1] == "run":
        depth = int(sys.argv[6]) if len(sys.argv) == 7 else None
        return run(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], depth)
    if len(sys.argv) in (4, 5) and sys.argv[1] == "compare":
        depth = int(sys.argv[4]) if len(sys.argv) == 5 else None
        ok, n = compare(sys.argv[2], sys.argv[3], depth)
        print(f"model_test: {n} entries: {'identical' if ok else 'DIFFERENT'}")
        return 0 if ok else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
