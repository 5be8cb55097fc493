"""Confine the current process before untrusted code runs in it. Standard library only.

One evaluation is one sandbox: the pool server starts each job as the first process
(PID 1) of a fresh PID namespace (``fork_into_pid_namespace``), so the candidate can
signal only its own processes and, when the job ends, the kernel kills everything
left in the namespace, ``setsid`` or not. In that process ``confine`` applies, in
order: resource limits; a private mount namespace with its own /tmp, /var/tmp,
/dev/shm and work directory (one size-limited tmpfs for the four), a read-only view of
everything else with evaluate.py covered, and a
/proc that shows only the namespace's processes; no network; and a switch to the
evaluation's own unprivileged uid (root), or, without root, the capabilities of a
user namespace dropped. It returns the protections in force: a kernel may refuse
some, and ``cambrian doctor`` shows which.
"""

import ctypes
import os
import platform
import resource
import signal
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 0x4000, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x1
SYSCALLS = {"x86_64": {"clone": 56, "mount_setattr": 442, "capset": 126},
            "aarch64": {"clone": 220, "mount_setattr": 442, "capset": 91}}.get(platform.machine(), {})
PRIVATE_TMP = ("/tmp", "/var/tmp", "/dev/shm")

_libc = None


def _c():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, "%s: %s" % (what, os.strerror(err)))


def _mount(source, target, fstype, flags, data=None):
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    _check(_c().mount(enc(source), enc(target), enc(fstype), flags, enc(data)), "mount " + target)


def _set_limit(name, soft, hard=None):
    res = getattr(resource, name)
    _, old_hard = resource.getrlimit(res)
    hard = soft if hard is None else hard
    if old_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, old_hard), min(hard, old_hard)
    resource.setrlimit(res, (soft, hard))


# -- the namespace of one job ------------------------------------------------
def fork_into_pid_namespace():
    """Fork, the child being PID 1 of a new PID namespace; like ``os.fork`` otherwise.

    ``unshare(CLONE_NEWPID)`` can be called only once per process, so a long-lived
    server that starts a namespace per job uses ``clone`` directly, wrapped in the
    interpreter's own before/after-fork hooks (exactly what ``os.fork`` does).
    Raises OSError where the kernel refuses (no privilege, no user namespace).
    """
    number = SYSCALLS.get("clone")
    if number is None:
        raise OSError(38, "no clone syscall number for " + platform.machine())
    api, libc = ctypes.pythonapi, ctypes.PyDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    api.PyOS_BeforeFork()
    pid = libc.syscall(ctypes.c_long(number), ctypes.c_ulong(CLONE_NEWPID | signal.SIGCHLD),
                       None, None, None, None)
    if pid == 0:
        api.PyOS_AfterFork_Child()
        return 0
    err = ctypes.get_errno()
    api.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(err, "clone(CLONE_NEWPID): " + os.strerror(err))
    return pid


def enter_user_namespace():
    """Without root: become the owner of a user namespace (same uid and gid inside), which
    lets this process create PID, mount and network namespaces. Called once, by the
    pool server. Returns why not, or None."""
    if os.geteuid() == 0:
        return None
    uid, gid = os.geteuid(), os.getegid()
    if _c().unshare(CLONE_NEWUSER) != 0:
        return "unprivileged user namespaces are refused: " + os.strerror(ctypes.get_errno())
    try:
        for name, text in (("setgroups", "deny"), ("uid_map", "%d %d 1" % (uid, uid)),
                           ("gid_map", "%d %d 1" % (gid, gid))):
            with open("/proc/self/" + name, "w") as f:
                f.write(text)
    except OSError as exc:
        return "user namespace mapping failed: %s" % exc
    return None


def _drop_capabilities():
    """Capabilities held inside our own user namespace go before the candidate runs."""
    number = SYSCALLS.get("capset")
    if number is None:
        raise OSError(38, "no capset syscall number")
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)
    data = (ctypes.c_uint32 * 6)()
    _check(_c().syscall(ctypes.c_long(number), header, data), "capset")
    for cap in range(64):
        _c().prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP; EINVAL past the last one


def _readonly_everywhere():
    """Every mount read-only in this mount namespace (one call on Linux >= 5.12)."""
    number = SYSCALLS.get("mount_setattr")

    class Attr(ctypes.Structure):
        _fields_ = [("set", ctypes.c_uint64), ("clr", ctypes.c_uint64),
                    ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]

    attr = Attr(MOUNT_ATTR_RDONLY, 0, 0, 0)
    if number is not None and _c().syscall(ctypes.c_long(number), -100, b"/", AT_RECURSIVE,
                                           ctypes.byref(attr), ctypes.sizeof(attr)) == 0:
        return
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY)  # the root mount only


def _under(path, roots):
    return any(path == r or path.startswith(r + "/") for r in roots)


SLOT_DIRS = (("work", None), ("tmp", "/tmp"), ("var_tmp", "/var/tmp"), ("shm", "/dev/shm"))


def _snapshot(workdir, prefix=""):
    """The work directory's files (the program: a few kilobytes, or a program's tree) before
    it is covered; a directory comes as an entry with data None, before what it holds."""
    info = os.stat(workdir)
    files = []
    for entry in sorted(os.scandir(workdir), key=lambda e: e.name):
        st = entry.stat(follow_symlinks=False)
        if entry.is_file(follow_symlinks=False):
            with open(entry.path, "rb") as f:
                files.append((prefix + entry.name, f.read(), st.st_mode & 0o7777, st.st_uid, st.st_gid))
        elif entry.is_dir(follow_symlinks=False):
            files.append((prefix + entry.name, None, st.st_mode & 0o7777, st.st_uid, st.st_gid))
            files += _snapshot(entry.path, prefix + entry.name + "/")[1]
    return (info.st_mode & 0o7777, info.st_uid, info.st_gid), files


def private_filesystem(workdir, *, readable=(), writable=(), disk_bytes, hide=()):
    """In a fresh mount namespace: everything read-only except the work directory and
    private, empty /tmp, /var/tmp and /dev/shm; /proc for this PID namespace only.

    The work directory, /tmp, /var/tmp and /dev/shm are four directories of ONE tmpfs of
    ``disk_bytes`` (``evaluation.disk_mb``): all a slot can write, together, is that much,
    whatever the host disk holds. The work directory's files (the program) are copied in.
    The ``readable`` paths (the evaluator's directory, the interpreter's) that lived under
    one of the covered directories come back at their own paths; the ``writable``
    directories (``evaluation.writable``) stay writable wherever they are. The ``hide``
    files (evaluate.py) are covered by an empty file nobody but root may open.
    """
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    workdir = os.path.realpath(workdir)
    covered = [p for p in PRIVATE_TMP if os.path.isdir(p)]
    keep = [(p, False) for p in sorted({os.path.realpath(r) for r in readable if os.path.isdir(r)})]
    keep = [(p, w) for p, w in keep if _under(p, covered)] + [
        (os.path.realpath(p), True) for p in writable if os.path.isdir(p)]
    # Outermost only: a bind brings what is under it.
    keep = [(p, w) for p, w in keep if w or not any(q != p and p.startswith(q + "/") for q, _ in keep)]
    hidden = sorted({os.path.realpath(h) for h in hide if os.path.isfile(h)} | {h for h in hide if os.path.isfile(h)})
    (mode, uid, gid), files = _snapshot(workdir)
    fds = [(os.open(p, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC), p, w) for p, w in keep]
    slot = {}
    try:
        _readonly_everywhere()
        # The slot's one budget, mounted (in this namespace only) over the host work directory;
        # its parts are then bound where they belong, which hides this mount point itself.
        _mount("tmpfs", workdir, "tmpfs", MS_NOSUID | MS_NODEV,
               "mode=0755,size=%d,nr_inodes=65536" % disk_bytes)
        for name, _ in SLOT_DIRS:
            os.mkdir(os.path.join(workdir, name), 0o700 if name == "work" else 0o1777)
            slot[name] = os.open(os.path.join(workdir, name), os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        os.chmod(os.path.join(workdir, "work"), mode)
        os.chown(os.path.join(workdir, "work"), uid, gid)
        for name in ("tmp", "var_tmp", "shm"):
            os.chmod(os.path.join(workdir, name), 0o1777)
        for name, data, fmode, fuid, fgid in files:
            path = os.path.join(workdir, "work", name)
            if data is None:
                os.mkdir(path, 0o700)
                os.chown(path, fuid, fgid)
                os.chmod(path, fmode)
                continue
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, data)
                os.fchown(fd, fuid, fgid)
                os.fchmod(fd, fmode)
            finally:
                os.close(fd)
        blank = os.path.join(workdir, "hidden")
        if hidden:
            os.close(os.open(blank, os.O_WRONLY | os.O_CREAT, 0))
            os.chmod(blank, 0)
            os.chown(blank, 0, 0) if os.geteuid() == 0 else None
            blank_fd = os.open(blank, os.O_PATH | os.O_CLOEXEC)
        for name, target in SLOT_DIRS:
            if target in covered:
                _mount("/proc/self/fd/%d" % slot[name], target, None, MS_BIND)
        os.makedirs(workdir, exist_ok=True)  # in the new /tmp, if it lived there
        _mount("/proc/self/fd/%d" % slot["work"], workdir, None, MS_BIND)
        for fd, path, writable in fds:
            os.makedirs(path, exist_ok=True)
            _mount("/proc/self/fd/%d" % fd, path, None, MS_BIND | MS_REC)
            if writable:
                _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV)
        if hidden:
            for path in hidden:
                _mount("/proc/self/fd/%d" % blank_fd, path, None, MS_BIND)
                _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
            os.close(blank_fd)
    finally:
        for fd, _, _ in fds:
            os.close(fd)
        for fd in slot.values():
            os.close(fd)
    if os.getpid() == 1:
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


def _blocking_ancestor(path):
    """The highest directory on the way to ``path`` that others may not traverse, or None."""
    parts = path.strip("/").split("/")
    current = ""
    for part in parts[:-1] if len(parts) > 1 else []:
        current += "/" + part
        try:
            if not os.stat(current).st_mode & 0o001:
                return current
        except OSError:
            return None
    return None


def expose(paths, stage_dir):
    """In a private mount namespace: make ``paths`` reachable for an unprivileged user.

    A directory on the way that others cannot traverse (``/root`` holding a pyenv
    Python, say) is covered by an empty tmpfs into which only the needed subtrees
    are bound, read-only: the candidate reaches the interpreter and nothing else
    that lived there.
    """
    groups = {}
    for path in sorted({os.path.realpath(p) for p in paths if os.path.exists(p)}):
        block = _blocking_ancestor(path)
        if block is not None:
            groups.setdefault(block, set()).add(path)
    for n, (block, members) in enumerate(sorted(groups.items())):
        # Keep only the outermost members: binding a tree binds what is under it.
        outer = [m for m in sorted(members) if not any(m != o and m.startswith(o + "/") for o in members)]
        staged = []
        for i, member in enumerate(outer):
            stage = os.path.join(stage_dir, "s%d_%d" % (n, i))
            os.makedirs(stage, exist_ok=True)
            _mount(member, stage, None, MS_BIND | MS_REC)
            staged.append((stage, member))
        _mount("tmpfs", block, "tmpfs", 0, "mode=0755,size=1m")
        for stage, member in staged:
            os.makedirs(member, mode=0o755, exist_ok=True)
            _mount(stage, member, None, MS_BIND | MS_REC)
            _mount(None, member, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
            _c().umount2(stage.encode(), MNT_DETACH)
    return sorted(groups)


def non_dumpable():
    """No ptrace, no /proc/<pid>/mem for processes of the same user: the evaluator's
    memory stays out of the candidate's reach."""
    _c().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


# Cambrian's own package: an editable install reaches it through an import hook, not
# sys.path, so a checkout under /tmp would be hidden by the private /tmp without this.
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))


def python_paths(extra=()):
    return [sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable)),
            PACKAGE_DIR] + [p for p in sys.path if p] + list(extra)


def confine(limits, *, workdir, expose_paths=(), hide=(), missing=None, parent_alive=None):
    """Apply ``limits`` to this process; returns the protections in force (and fills
    ``missing`` with why each refused one was refused).

    A namespace the kernel refuses is a missing protection, not a failure, except
    that as root with a sandbox uid every step must succeed: a half-built sandbox
    raises, and the caller reports an infrastructure failure.
    """
    active = []
    missing = {} if missing is None else missing

    def attempt(name, fn):
        try:
            fn()
            active.append(name)
        except (OSError, ValueError) as exc:
            missing[name] = str(exc)

    attempt("no_core_dumps", lambda: _set_limit("RLIMIT_CORE", 0))
    if limits.get("cpu_seconds"):
        # SIGXCPU at the soft limit (reported as such), SIGKILL a second later.
        cpu = int(limits["cpu_seconds"])
        attempt("cpu_limit", lambda: _set_limit("RLIMIT_CPU", cpu, cpu + 1))
    if limits.get("memory_bytes"):
        attempt("memory_limit", lambda: _set_limit("RLIMIT_AS", int(limits["memory_bytes"])))
    if limits.get("open_files"):
        attempt("open_files_limit", lambda: _set_limit("RLIMIT_NOFILE", int(limits["open_files"])))
    if limits.get("file_bytes"):
        attempt("file_size_limit", lambda: _set_limit("RLIMIT_FSIZE", int(limits["file_bytes"])))
    attempt("no_new_privileges", lambda: _check(_c().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl"))
    if os.getpid() == 1:
        active.append("pid_namespace")
    if limits.get("cgroup"):
        with open(os.path.join(limits["cgroup"], "cgroup.procs"), "w") as f:
            f.write("0")
        active.append("cgroup_limits")
    disk_bytes = int(limits.get("disk_bytes") or 256 << 20)
    # Counted before /proc shows only this namespace: RLIMIT_NPROC counts machine-wide.
    already = _processes_of(os.geteuid()) if limits.get("processes") and os.geteuid() != 0 else 0
    uid = limits.get("sandbox_uid")
    if os.geteuid() == 0 and uid is not None:
        flags = CLONE_NEWNS | (CLONE_NEWNET if limits.get("no_network") else 0)
        _check(_c().unshare(flags), "unshare")
        if limits.get("no_network"):
            active.append("no_network")
        paths = python_paths(expose_paths)
        private_filesystem(workdir, readable=paths, writable=limits.get("writable") or (), disk_bytes=disk_bytes,
                           hide=hide)
        expose(paths, os.path.join(workdir, ".jail"))
        active += ["private_filesystem"]
        gid = int(limits.get("sandbox_gid", uid))
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(int(uid), int(uid), int(uid))
        active.append("own_uid")
    elif os.geteuid() != 0:
        flags = CLONE_NEWNS | (CLONE_NEWNET if limits.get("no_network") else 0)
        if _c().unshare(flags) == 0:
            if limits.get("no_network"):
                active.append("no_network")
            attempt("private_filesystem", lambda: private_filesystem(
                workdir, readable=python_paths(expose_paths), writable=limits.get("writable") or (),
                disk_bytes=disk_bytes, hide=hide))
            attempt("no_capabilities", _drop_capabilities)
        else:
            why = "unshare refused: " + os.strerror(ctypes.get_errno())
            missing["private_filesystem"] = why
            if limits.get("no_network") and _c().unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
                active.append("no_network")
            elif limits.get("no_network"):
                missing["no_network"] = why
    if limits.get("writable"):
        # Shared directories are shared by evaluations of different uids: what one creates
        # there the next may append to. (Everything else an evaluation writes is private.)
        os.umask(0)
    # Die with the pool server (set after the uid switch, which clears it).
    _c().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent_alive is not None and not parent_alive():
        # The pool server died before the line above: no signal will ever come.
        os._exit(71)
    if limits.get("processes") and os.geteuid() != 0:
        # RLIMIT_NPROC counts every process of the real uid. With a uid of its own that
        # is this evaluation's processes; as the invoking user it includes their shell
        # and editor, so the limit is on top of what already runs.
        extra = 0 if "own_uid" in active else already
        attempt("process_limit", lambda: _set_limit("RLIMIT_NPROC", extra + int(limits["processes"])))
    return active


def _processes_of(uid):
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat("/proc/" + entry).st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count
