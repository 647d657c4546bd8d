"""Where jobs run: an executor starts a job's worker process on a device
and streams its output lines back. One small interface, so that jobs can
later run on a cluster engine; :class:`LocalExecutor` runs them on this
machine, one at a time per device (the CPU counts as one device).
"""
import asyncio
import os
import signal
import sys

import caffelite

# How long an aborted worker gets to stop by itself (it snapshots and
# exits on SIGINT) before it is killed: abort must end a job within 2 s.
ABORT_GRACE = 1.5
LINE_LIMIT = 1 << 20


class Executor:
    """Runs job processes. ``run`` waits for the device, runs ``argv`` in
    ``cwd``, calls ``on_start(pid)`` then ``on_line(text)`` for each output
    line, and returns the exit code; ``stop`` ends a running job."""

    async def run(self, job_id, device, argv, cwd, on_start, on_line):
        raise NotImplementedError

    async def stop(self, job_id):
        raise NotImplementedError


def worker_environment():
    """The environment of worker processes: unbuffered output, and this
    caffelite first on the import path so workers run the server's code."""
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    root = os.path.dirname(os.path.dirname(os.path.abspath(caffelite.__file__)))
    env['PYTHONPATH'] = os.pathsep.join(p for p in (root, env.get('PYTHONPATH')) if p)
    return env


def worker_command(*args):
    """argv of ``python -m caffelite.server.worker ARGS``."""
    return [sys.executable, '-m', 'caffelite.server.worker'] + [str(a) for a in args]


def signal_group(process, sig):
    """Send ``sig`` to the process group a worker leads: its own processes
    (e.g. the solver ranks of multi-GPU training) share its output pipe, so
    the job ends only when they all do."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


class LocalExecutor(Executor):
    """Subprocesses on this machine, FIFO per device, each worker leading a
    process group of its own."""

    def __init__(self, grace=ABORT_GRACE):
        self.grace = grace
        self.slots = {}
        self.processes = {}

    async def run(self, job_id, device, argv, cwd, on_start, on_line):
        slot = self.slots.setdefault(device, asyncio.Lock())
        async with slot:
            process = await asyncio.create_subprocess_exec(
                *argv, cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                env=worker_environment(), limit=LINE_LIMIT, start_new_session=True)
            self.processes[job_id] = process
            try:
                on_start(process.pid)
                while True:
                    line = await process.stdout.readline()
                    if not line:
                        break
                    on_line(line.decode('utf-8', 'replace').rstrip('\r\n'))
                return await process.wait()
            except BaseException:
                # cancelled (server shutting down) or a failing callback:
                # never leave a worker behind
                signal_group(process, signal.SIGKILL)
                await process.wait()
                raise
            finally:
                self.processes.pop(job_id, None)

    async def stop(self, job_id):
        """SIGINT to the worker's group (the worker snapshots and exits, as
        on Ctrl-C), then SIGKILL to the group after the grace period.
        Returns False when the job has no running process."""
        process = self.processes.get(job_id)
        if process is None or process.returncode is not None:
            return False
        signal_group(process, signal.SIGINT)
        try:
            await asyncio.wait_for(asyncio.shield(process.wait()), self.grace)
        except asyncio.TimeoutError:
            pass
        signal_group(process, signal.SIGKILL)
        await process.wait()
        return True
