"""The warm pool's server: import the heavy modules once, fork a fresh child per job.

Started by ``PoolEvaluator`` as ``python pool_server.py SOCKET_FD PRELOAD_JSON``. Messages are JSON over a SOCK_SEQPACKET socket; a job
arrives with three file descriptors (the child's stdout, stderr and report pipe).
The server answers ``{"id", "pid"}`` when the child is forked and ``{"id", "exit"}``
when it has been reaped. Each child starts from the server's pristine state, so
nothing one candidate does reaches the next.
"""

import ctypes
import json
import os
import select
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import worker  # noqa: E402

PR_SET_CHILD_SUBREAPER = 36


def main():
    sock_fd = int(sys.argv[1])
    preload = json.loads(sys.argv[2]) if len(sys.argv) > 2 else []
    sock = socket.socket(fileno=sock_fd)
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
    sock.send(json.dumps({"ready": True, "preload_failed": failed}).encode())
    jobs = {}
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
            pid = os.fork()
            if pid == 0:
                _child(job, fds, sock, wake_r, wake_w)
            for fd in fds:
                os.close(fd)
            jobs[pid] = job["id"]
            sock.send(json.dumps({"id": job["id"], "pid": pid}).encode())


def _child(job, fds, sock, wake_r, wake_w):
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in (sock.fileno(), wake_r, wake_w):
            os.close(fd)
        os.setsid()
        stdout, stderr, report = fds
        os.dup2(stdout, 1)
        os.dup2(stderr, 2)
        os.close(stdout)
        os.close(stderr)
        worker.start(job, report)
    finally:
        os._exit(70)


def _reap(sock, jobs):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        job_id = jobs.pop(pid, None)
        if job_id is not None:
            _kill_group(pid)
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
