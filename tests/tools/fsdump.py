#!/usr/bin/env python3
"""fsdump.py SPEC: a full listing of an ext4 filesystem made by debugfs (an
oracle independent of gcemount): for every path, the `stat` output (type,
mode, owner, size, link count, all four times, flags) and its extended
attributes, plus file content hashes. SPEC is "disk.raw?offset=N".
Block numbers are left out, so two filesystems with the same files compare
equal even if blocks moved."""
import hashlib, re, subprocess, sys, tempfile, os

spec = sys.argv[1]
want_content = "--no-content" not in sys.argv

def debugfs(cmds):
    with tempfile.NamedTemporaryFile("w", delete=False) as f:
        f.write("\n".join(cmds) + "\n")
        name = f.name
    try:
        out = subprocess.run(["debugfs", "-f", name, spec], capture_output=True, check=True).stdout
    finally:
        os.unlink(name)
    return out.decode("utf-8", "surrogateescape")

def q(p):
    return '"' + p.replace('"', '\\"') + '"'

paths, todo = ["/"], ["/"]
while todo:
    d = todo.pop()
    out = debugfs(["ls -p " + q(d)])
    for line in out.splitlines():
        m = re.match(r"^/(\d+)/(\d+)/(\d+)/(\d+)/(.*)/(\d*)/$", line)
        if not m:
            continue
        name, mode = m.group(5), int(m.group(2), 8)
        if name in (".", ".."):
            continue
        p = (d.rstrip("/") + "/" + name)
        paths.append(p)
        if (mode & 0o170000) == 0o040000:
            todo.append(p)
paths.sort()
stats = debugfs([f"stat {q(p)}" for p in paths] + [f"ea_list {q(p)}" for p in paths])
keep = []
for line in stats.splitlines():
    if re.match(r"^\s*(EXTENTS|BLOCKS|\(\d|Inode checksum|Fragment|Size of extra inode|Generation)", line):
        continue
    line = re.sub(r"Generation: \d+", "", line)
    line = re.sub(r"File ACL: \d+", "File ACL: -", line)
    keep.append(line.rstrip())
print("\n".join(keep))
if want_content:
    # One debugfs rdump of the whole tree, then hash what it wrote.
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["debugfs", "-R", f"rdump / {d}", spec], capture_output=True, check=True)
        for root, dirs, files in os.walk(d):
            dirs.sort()
            for fn in sorted(files):
                full = os.path.join(root, fn)
                if os.path.isfile(full) and not os.path.islink(full):
                    with open(full, "rb") as fh:
                        print(os.path.relpath(full, d), hashlib.sha256(fh.read()).hexdigest())
