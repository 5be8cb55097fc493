"""The warm pool's server: load the evaluator once, fork a fresh confined child per job.

Standard library only; started by ``PoolEvaluator`` as ``python pool_server.py
EVALUATOR SOCKET_FD``. Messages are JSON over a SOCK_SEQPACKET socket; a job
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
    evaluator_path, sock_fd = sys.argv[1], int(sys.argv[2])
    preload = json.loads(sys.argv[3]) if len(sys.argv) > 3 else []
    sock = socket.socket(fileno=sock_fd)
    error = None
    for name in preload:  # heavy imports, paid once for every candidate
        try:
            __import__(name)
        except Exception as exc:
            error = "preload of %s failed: %s: %s" % (name, type(exc).__name__, exc)
    evaluator, load_error = worker.prepare(evaluator_path)
    error = error or load_error
    # Orphans of candidates are reparented here and reaped, never left as zombies.
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    sock.send(json.dumps({"ready": True, "load_error": error}).encode())
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
                for pid in jobs:
                    _kill_group(pid)
                os._exit(0)
            job = json.loads(message)
            pid = os.fork()
            if pid == 0:
                _child(evaluator, error, job, fds, sock, wake_r, wake_w)
            for fd in fds:
                os.close(fd)
            jobs[pid] = job["id"]
            sock.send(json.dumps({"id": job["id"], "pid": pid}).encode())


def _child(evaluator, error, job, fds, sock, wake_r, wake_w):
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
        worker.start(evaluator, error, job, report)
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


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


if __name__ == "__main__":
    main()
