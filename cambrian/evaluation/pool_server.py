"""The warm pool's server: import the heavy modules once, fork a fresh child per job.

Started by ``PoolEvaluator`` as ``python pool_server.py SOCKET_FD PRELOAD_JSON``. Messages are JSON over a SOCK_SEQPACKET socket; a job
arrives with three file descriptors (the child's stdout, stderr and report pipe).
The server answers ``{"id", "pid"}`` when the child is forked, ``{"id", "exit"}``
when it has been reaped, or ``{"id", "error"}`` when it could not be forked; the
client's ``{"kill": id}`` kills a job's process group if it has not been reaped yet. Each
child is the first process of a PID namespace of its own (where the kernel allows)
and starts from the server's pristine state, so nothing one candidate does reaches
the next, and nothing it starts outlives it.
"""

import ctypes
import errno
import json
import os
import select
import signal
import socket
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jail  # noqa: E402
import worker  # noqa: E402

PR_SET_CHILD_SUBREAPER = 36


def main():
    sock_fd = int(sys.argv[1])
    preload = json.loads(sys.argv[2]) if len(sys.argv) > 2 else []
    sock = socket.socket(fileno=sock_fd)
    # Without root, a user namespace of our own lets each job have its PID, mount and
    # network namespaces; as root this is a no-op.
    userns_error = jail.enter_user_namespace()
    # Heavy imports are paid once here. The evaluator itself is never loaded here:
    # candidates are forked from this process and must not find its state in memory.
    failed = []
    for name in preload:
        try:
            __import__(name)
        except Exception as exc:
            failed.append("%s (%s)" % (name, type(exc).__name__))
    # Orphans of candidates are reparented here and reaped, never left as zombies.
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    # The lifeline: each job keeps the read end, which reads EOF once this process is gone.
    life_r, life_w = os.pipe()
    sock.send(json.dumps({"ready": True, "preload_failed": failed, "userns_error": userns_error}).encode())
    jobs = {}
    pid_ns = {"ok": True, "why": ""}
    while True:
        try:
            ready, _, _ = select.select([sock, wake_r], [], [])
        except InterruptedError:
            continue
        if wake_r in ready:
            try:
                while os.read(wake_r, 4096):
                    pass
            except BlockingIOError:
                pass
            _reap(sock, jobs)
        if sock in ready:
            try:
                message, fds, _, _ = socket.recv_fds(sock, 1 << 20, 3)
            except ConnectionError:
                message, fds = b"", []
            if not message:
                _shutdown(jobs)
            job = json.loads(message)
            if "kill" in job:  # the client's timeout: only here is it known the pid is not yet reaped
                for pid, job_id in jobs.items():
                    if job_id == job["kill"]:
                        _kill_group(pid)
                continue
            job["lifeline_fd"] = life_r
            try:
                pid = _fork(pid_ns)
            except OSError as exc:  # not the candidate's doing: the evaluator retries
                for fd in fds:
                    os.close(fd)
                sock.send(json.dumps({"id": job["id"], "error": "fork failed: %s" % exc}).encode())
                continue
            if pid == 0:
                _child(job, fds, sock, wake_r, wake_w, life_w, pid_ns["why"])
            for fd in fds:
                os.close(fd)
            jobs[pid] = job["id"]
            sock.send(json.dumps({"id": job["id"], "pid": pid}).encode())


def _fork(pid_ns):
    """A child in a new PID namespace; a plain fork where the kernel refuses namespaces."""
    if pid_ns["ok"]:
        try:
            return jail.fork_into_pid_namespace()
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EINVAL, errno.ENOSYS, errno.EACCES, errno.EUSERS):
                raise
            pid_ns.update(ok=False, why=str(exc))
    return os.fork()


def _child(job, fds, sock, wake_r, wake_w, life_w, pid_ns_error):
    """The job's process. Anything raised here is the sandbox failing, never the
    candidate (``worker.start`` turns the evaluator's and the candidate's failures into
    the report): the traceback goes to the report as an infrastructure failure."""
    report = fds[2]
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in (sock.fileno(), wake_r, wake_w, life_w):
            os.close(fd)
        os.setsid()
        stdout, stderr, report = fds
        os.dup2(stdout, 1)
        os.dup2(stderr, 2)
        os.close(stdout)
        os.close(stderr)
        job["pid_ns_error"] = pid_ns_error
        worker.start(job, report)
    except BaseException:
        text = traceback.format_exc()
        for fd, data in ((report, json.dumps({"infrastructure": text[-4000:]})), (2, text)):
            try:
                os.write(fd, data.encode())
            except OSError:
                pass
    finally:
        os._exit(70)


def _reap(sock, jobs):
    """Reap every exited child. A job's group is killed while its leader is still a
    zombie (looked at with WNOWAIT): until it is reaped its pid, and so its group id,
    cannot be reused by an unrelated process."""
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if info is None:
            return
        pid = info.si_pid
        job_id = jobs.pop(pid, None)
        if job_id is not None:
            _kill_group(pid)
        _, status = os.waitpid(pid, 0)
        if job_id is not None:
            sock.send(json.dumps({"id": job_id, "exit": os.waitstatus_to_exitcode(status)}).encode())


def _shutdown(jobs):
    """The client is gone: kill what runs, reap every child (orphans included), exit."""
    for pid in jobs:
        _kill_group(pid)
    signal.alarm(5)  # a process stuck in the kernel must not keep the server alive
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
    os._exit(0)


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


if __name__ == "__main__":
    main()
