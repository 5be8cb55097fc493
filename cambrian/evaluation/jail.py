"""Confine the current process before untrusted code runs in it. Standard library only.

Called in the candidate's process (forked by the warm pool or started fresh), in
this order: resource limits; then, when running as root, a private mount namespace
in which the directories Python needs are reachable, no network, and a switch to
an unprivileged user (so process limits and file permissions bind); when not root,
a user + network namespace for the network only. Returns the protections in force:
a kernel may refuse some, and ``cambrian doctor`` shows which.
"""

import ctypes
import os
import resource
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 0x4000, 1 << 18
MNT_DETACH = 2
PR_SET_NO_NEW_PRIVS = 38
PR_SET_DUMPABLE = 4

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


def python_paths(extra=()):
    return [sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))] + [
        p for p in sys.path if p] + list(extra)


def confine(limits, *, workdir, expose_paths=()):
    """Apply ``limits`` to this process; returns the protections in force."""
    active = []

    def attempt(name, fn):
        try:
            fn()
            active.append(name)
        except (OSError, ValueError):
            pass

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
    uid = limits.get("sandbox_uid")
    if os.geteuid() == 0 and uid is not None:
        flags = CLONE_NEWNS | (CLONE_NEWNET if limits.get("no_network") else 0)
        _check(_c().unshare(flags), "unshare")
        if limits.get("no_network"):
            active.append("no_network")
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        expose(python_paths(expose_paths), os.path.join(workdir, ".jail"))
        active.append("private_mounts")
        gid = int(limits.get("sandbox_gid", uid))
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(int(uid), int(uid), int(uid))
        active.append("unprivileged_user")
    elif limits.get("no_network"):
        if _c().unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
            active.append("no_network")
    if limits.get("processes") and os.geteuid() != 0:
        # RLIMIT_NPROC counts every process of the user. As the sandbox user that is the
        # candidates; as the invoking user it includes their shell and editor, so the
        # limit is on top of what already runs.
        extra = 0 if "unprivileged_user" in active else _processes_of(os.geteuid())
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
