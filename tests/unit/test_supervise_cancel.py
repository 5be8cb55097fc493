"""A cancel while ``supervise`` hands the read ends to the event loop closes each pipe once.

Before the fix, a cancel there (a run stopping on a full disk cancels evaluations in
flight) left the descriptors the transports owned in ``Pipes.read_fds``; ``close_all``
closed them, then the transports closed the same numbers again: an "Exception in
callback _UnixReadPipeTransport._call_connection_lost ... Bad file descriptor"
traceback on the terminal, or an unrelated descriptor that reused the number closed."""

import asyncio
import os

import pytest

from cambrian.evaluation import sandbox


@pytest.mark.parametrize("steps", [0, 1, 2, 3, 4])
def test_cancel_while_connecting_pipes_closes_each_descriptor_once(steps):
    errors = []

    async def main():
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: errors.append(ctx))
        pipes = sandbox.Pipes()
        fds = list(pipes.read_fds)
        pipes.close_write_ends()
        never = asyncio.get_running_loop().create_future()
        task = asyncio.ensure_future(sandbox.supervise(pipes, kill=lambda: None, exited=never,
                                                       timeout=0.5, start=0.0))
        for _ in range(steps):
            await asyncio.sleep(0)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        pipes.close_all()            # what the evaluator does in its finally
        for _ in range(5):
            await asyncio.sleep(0)
        return fds

    fds = asyncio.run(main())
    assert errors == []
    for fd in fds:
        with pytest.raises(OSError):
            os.fstat(fd)
