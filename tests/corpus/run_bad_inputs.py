#!/usr/bin/env python3
"""run_bad_inputs.py CORPUS GCEMOUNT [GCEMOUNT_ASAN] — runs every case of
CORPUS/manifest.json (see make_bad_inputs.py) and asserts, for each:
  - the exit status is one of the expected ones, and no signal / sanitizer
    report (ASan, UBSan) / timeout (30 s);
  - on failure, stderr is exactly ONE line "gcemount: ..." matching the
    case's regex, naming the input file when the image itself is bad;
    on success every stderr line still starts with "gcemount: ";
  - the input file's sha256 is unchanged (verbs that may write run on a copy,
    and the copy must be unchanged whenever the verb failed);
  - no file is left beside the image (temp files of a failed write-back);
  - mount: nothing stays mounted. A mount opens the image lazily: one in
    place before a damaged stream showed counts as refused when its
    unmount exits 2, its log names the damage and the image is unchanged.
With a second (ASan) binary, the cases of ASAN_VERBS run again with it.
Prints one line per problem and a summary; exit 0 when there is none.
Environment: GM_BAD_JOBS (parallel inputs, default 2), GM_BAD_VERBOSE=1
(print every outcome), GM_BAD_MOUNT=0 (skip mount cases),
GM_BAD_ONLY=substring (only inputs whose name contains it), GM_BAD_STRICT=1
(problems of cases marked "known" in the manifest fail the run too).
"""
import collections
import concurrent.futures
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

TIMEOUT = 30
WRITING_VERBS = {"put", "apply", "mount"}
ASAN_VERBS = {"ls", "put", "check", "apply"}   # cat opens like ls
UNCLEAR = re.compile(r"\(null\)|Unknown code|unknown libext2fs error|\?\)$")
SANITIZER = re.compile(r"ERROR: (Address|Leak|Memory)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer")


CHUNK = 65536
ZERO = bytes(CHUNK)


def sha256(path):
    """sha256 of the content, computed fast on sparse files: the digest of
    (size, and index + bytes of every 64 KiB chunk that is not all zeros).
    Independent of how zeros are stored (holes or data), so a sparse copy of
    an input hashes like the input; any change of content changes it."""
    if not os.path.isfile(path):
        return None
    h = hashlib.sha256()
    with open(path, "rb") as f:
        fd = f.fileno()
        size = os.fstat(fd).st_size
        h.update(b"size %d\n" % size)
        off = 0
        while off < size:
            try:
                d = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:
                break
            e = os.lseek(fd, d, os.SEEK_HOLE)
            c = d - d % CHUNK
            while c < e:
                f.seek(c)
                b = f.read(CHUNK)
                if b != ZERO[:len(b)]:
                    h.update(b"chunk %d\n" % c)
                    h.update(b)
                c += CHUNK
            off = max(e, c)
    return h.hexdigest()



def mounted(path):
    """Whether path is a mount point, from the mount table: not from
    os.path.ismount, whose lstat goes to the FUSE server and fails once a
    mount's image turned out damaged (its reads fail with EIO)."""
    want = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 1 and re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)),
                                          fields[1]) == want:
                return True
    return False


class Runner:
    def __init__(self, corpus, binary, asan):
        self.corpus = corpus
        self.bin = binary
        self.asan = asan
        self.problems = []
        self.known = []
        self.strict = os.environ.get("GM_BAD_STRICT") == "1"
        self.outcomes = []
        self.runs = 0
        self.verbose = os.environ.get("GM_BAD_VERBOSE") == "1"
        self.mount_ok = os.environ.get("GM_BAD_MOUNT", "1") != "0" and self._mount_usable()
        self.payload = os.path.join(corpus, ".payload")
        with open(self.payload, "wb") as f:
            f.write(b"gcemount bad-input test payload\n" * 300)
        self.help = {}

    def _mount_usable(self):
        if not os.path.exists("/dev/fuse") or not shutil.which("fusermount3"):
            return False
        try:
            os.close(os.open("/dev/fuse", os.O_RDWR))
        except OSError:
            return False
        return True

    def verb_supported(self, binary, verb):
        """Whether this gcemount has the verb (others land over time):
        the verbs listed by `gcemount --help`, and the mount when a
        verb-less call is not answered with "unknown verb"."""
        key = (binary, verb)
        if key not in self.help:
            if verb == "mount":
                self.help[key] = self._has_mount(binary)
            else:
                r = subprocess.run([binary, "--help"], capture_output=True, text=True)
                self.help[key] = re.search(r"^\s+%s\s" % verb, r.stdout, re.M) is not None
        return self.help[key]

    def _has_mount(self, binary):
        # `gcemount IMAGE MNT` on a missing image: a verb-less binary says
        # "unknown verb"; one with mount support says something else.
        r = subprocess.run([binary, "/nonexistent.img", "/nonexistent-mnt"],
                           capture_output=True, text=True, timeout=TIMEOUT)
        return "unknown verb" not in r.stderr

    def problem(self, case, label, msg):
        (self.known if case.get("known") and not self.strict else self.problems).append("%-28s %-6s %s%s" % (case["input"] + (" +" + case["policy"] if case["policy"] else ""),
                                                 case["verb"], "[asan] " if label else "", msg + (" (known: %s)" % case["known"] if case.get("known") else "")))

    def argv(self, binary, case, image, cache, mnt):
        v, path = case["verb"], case["path"]
        common = ["--cache", cache]
        if v == "ls":
            return [binary, "ls"] + common + [image, path or "/"]
        if v == "cat":
            return [binary, "cat"] + common + [image, path or "/etc/hostname"]
        if v == "put":
            return [binary, "put"] + common + [image, self.payload, path or "/etc/gm-bad-input-put"]
        if v == "apply":
            pol = os.path.join(self.corpus, case["policy"]) if case["policy"] else "gce-hardening"
            return [binary, "apply"] + common + [image, pol]
        if v == "check":
            pol = ["--policy", os.path.join(self.corpus, case["policy"])] if case["policy"] else []
            return [binary, "check"] + common + pol + [image]
        if v == "mount":  # daemonizes once mounted; cleanup_mount unmounts
            return [binary] + common + [image, mnt]
        raise ValueError(v)

    def run_case(self, binary, label, case, work):
        src = os.path.join(self.corpus, case["input"])
        regular = os.path.isfile(src) and not os.path.islink(src)
        before = sha256(src)
        image = src
        casedir = tempfile.mkdtemp(dir=work, prefix=case["verb"] + ".")
        cache = os.path.join(casedir, ".cache")
        mnt = os.path.join(casedir, ".mnt")
        os.mkdir(mnt)
        if case["verb"] in WRITING_VERBS and regular:
            image = os.path.join(casedir, case["input"])
            subprocess.run(["cp", "--sparse=always", src, image], check=True)
        listing_before = sorted(os.listdir(casedir))
        argv = self.argv(binary, case, image, cache, mnt)
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:exitcode=99"
        env["UBSAN_OPTIONS"] = "halt_on_error=1:exitcode=98:print_stacktrace=1"
        t0 = time.monotonic()
        self.runs += 1
        try:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=TIMEOUT, env=env,
                               start_new_session=True)
            rc, err = r.returncode, r.stderr.decode(errors="replace")
        except subprocess.TimeoutExpired as e:
            rc, err = None, (e.stderr or b"").decode(errors="replace")
        dt = time.monotonic() - t0
        unmount_rc = None
        if case["verb"] == "mount":
            unmount_rc = self.cleanup_mount(binary, mnt)
        # A mount opens the image lazily (docs/performance.md): it may be in
        # place before a damaged stream shows (the trailer is read last);
        # then the server logs the damage, and the unmount exits 2 and
        # writes nothing back. That is the expected refusal, come late.
        late = (case["verb"] == "mount" and rc == 0 and unmount_rc == 2 and
                2 in case["exit"] and 0 not in case["exit"])
        if late:
            logs = glob.glob(os.path.join(cache, "mounts", "*.log"))
            text = "".join(open(l, errors="replace").read() for l in logs)
            if case["regex"] and not re.search(case["regex"], text):
                self.problem(case, label, "mounted, and the unmount exited 2, but the log does not "
                             "match /%s/: %r" % (case["regex"], text[-300:]))
            if sha256(image) != before:
                self.problem(case, label, "mounted a damaged image and changed it")
        cmd = " ".join(os.path.basename(a) if a.startswith(self.corpus) or a.startswith(casedir) else a
                       for a in argv[1:] if a not in ("--cache", cache))
        lines = err.splitlines()
        outcome = "%-5s %5.2fs %s -> %s" % (rc, dt, cmd, lines[0] if lines else "")
        self.outcomes.append(("[asan] " if label else "") + outcome)
        if self.verbose:
            print(outcome, flush=True)
        if rc is None:
            self.problem(case, label, "HANG: no exit within %ds: %s" % (TIMEOUT, cmd))
        elif rc < 0:
            self.problem(case, label, "CRASH: killed by signal %d: %s" % (-rc, cmd))
        elif SANITIZER.search(err):
            m = SANITIZER.search(err)
            ctx = err[m.start():].splitlines()[0:1]
            self.problem(case, label, "SANITIZER (exit %d): %s: %s" % (rc, cmd, " ".join(ctx)))
        elif rc not in case["exit"] and not late:
            self.problem(case, label, "exit %d, expected %s: %s: %r" % (
                rc, "|".join(map(str, case["exit"])), cmd, err[:300]))
        report = case["verb"] == "check" and rc == 1 and not lines
        if report:
            # check's report of an image it could not fully read: no stderr,
            # the reason in a FAIL row of the table on stdout (docs/check.md)
            out = r.stdout.decode(errors="replace")
            fails = [l for l in out.splitlines() if re.search(r"\bFAIL\b", l)]
            if not fails:
                self.problem(case, label, "check exited 1 with no message and no FAIL row")
            # a filesystem gcemount cannot read (xfs, btrfs) is named in N/A rows:
            # the guide allows any filesystem (issue 10 §1), so it is no FAIL
            elif case["regex"] and 2 in case["exit"] and not any(
                    re.search(case["regex"], l) for l in out.splitlines() if re.search(r"\b(FAIL|N/A)\b", l)):
                self.problem(case, label, "no FAIL row of the report matches /%s/: %r" % (case["regex"], fails[:3]))
        elif rc is not None and rc >= 0:
            bad_lines = [l for l in lines if not l.startswith("gcemount: ")]
            if rc != 0 and len(lines) != 1:
                self.problem(case, label, "%d stderr lines (want exactly one): %r" % (len(lines), err[:400]))
            elif bad_lines and not SANITIZER.search(err):
                self.problem(case, label, "stderr line without 'gcemount: ': %r" % bad_lines[0][:200])
            if rc != 0 and lines and rc in case["exit"]:
                line = lines[0]
                if case["regex"] and not re.search(case["regex"], line):
                    self.problem(case, label, "message %r does not match /%s/" % (line, case["regex"]))
                if UNCLEAR.search(line):
                    self.problem(case, label, "unclear message %r" % line)
                if case["names_input"] and case["input"] not in line:
                    self.problem(case, label, "message %r does not name %s" % (line, case["input"]))
        if sha256(src) != before:
            self.problem(case, label, "INPUT MODIFIED: %s" % src)
        if image != src and rc not in (0, None) and sha256(image) != before:
            self.problem(case, label, "failed (exit %s) but changed the image" % rc)
        left = sorted(set(os.listdir(casedir)) - set(listing_before) - {".cache"})
        if left:
            self.problem(case, label, "left files beside the image: %s" % left)
        shutil.rmtree(casedir, ignore_errors=True)

    def cleanup_mount(self, binary, mnt):
        """Unmounts what a case left mounted: the exit status of
        `gcemount -u`, or None when nothing was mounted."""
        if not mounted(mnt):
            return None
        r = subprocess.run([binary, "-u", mnt], capture_output=True, timeout=TIMEOUT)
        if mounted(mnt):
            subprocess.run(["fusermount3", "-uz", mnt], capture_output=True)
            self.problems.append("mount left %s mounted after 'gcemount -u'" % mnt)
        return r.returncode

    def run_group(self, cases, work):
        gwork = tempfile.mkdtemp(dir=work, prefix="g.")
        for case in cases:
            if case["verb"] == "mount" and not self.mount_ok:
                continue
            if not self.verb_supported(self.bin, case["verb"]):
                continue
            self.run_case(self.bin, "", case, gwork)
            if self.asan and case["verb"] in ASAN_VERBS and self.verb_supported(self.asan, case["verb"]):
                self.run_case(self.asan, "asan", case, gwork)
        shutil.rmtree(gwork, ignore_errors=True)


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: run_bad_inputs.py CORPUS GCEMOUNT [GCEMOUNT_ASAN]")
    corpus = os.path.abspath(sys.argv[1])
    r = Runner(corpus, os.path.abspath(sys.argv[2]),
               os.path.abspath(sys.argv[3]) if len(sys.argv) == 4 else None)
    cases = json.load(open(os.path.join(corpus, "manifest.json")))
    only = os.environ.get("GM_BAD_ONLY")
    if only:
        cases = [c for c in cases if only in c["input"] or (c["policy"] and only in c["policy"])]
    groups = collections.OrderedDict()
    for c in cases:
        groups.setdefault((c["input"], c["policy"]), []).append(c)
    skipped_verbs = sorted(v for v in {c["verb"] for c in cases}
                           if (v == "mount" and not r.mount_ok) or not r.verb_supported(r.bin, v))
    work = tempfile.mkdtemp(prefix="gm-bad.", dir=os.environ.get("TMPDIR", os.getcwd()))
    jobs = int(os.environ.get("GM_BAD_JOBS", "2"))
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(jobs) as ex:
        for f in [ex.submit(r.run_group, g, work) for g in groups.values()]:
            f.result()
    shutil.rmtree(work, ignore_errors=True)
    os.unlink(r.payload)
    inputs = {c["input"] for c in cases} | {c["policy"] for c in cases if c["policy"]}
    for p in r.known:
        print("KNOWN   " + p)
    for p in r.problems:
        print("PROBLEM " + p)
    print("bad inputs: %d inputs, %d runs of gcemount%s in %.0fs; %d problems, %d known%s" % (
        len(inputs), r.runs, " (ASan binary too)" if r.asan else "", time.monotonic() - t0,
        len(r.problems), len(r.known), "; verbs not available yet: " + ", ".join(skipped_verbs) if skipped_verbs else ""))
    sys.exit(1 if r.problems else 0)


if __name__ == "__main__":
    main()
