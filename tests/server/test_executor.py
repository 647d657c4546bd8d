"""The local executor: a worker's output lines, and an abort that ends the
job also when the worker has processes of its own that ignore SIGINT."""
import asyncio
import sys
import time

from caffelite.server.executor import LocalExecutor

# A worker that ignores SIGINT and starts a child that shares its output
# pipe (as the solver ranks of multi-GPU training do), then waits.
STUBBORN = '''
import signal, subprocess, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
subprocess.Popen([sys.executable, '-c', 'import signal, time; '
                  'signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(20)'])
print('started', flush=True)
time.sleep(20)
'''


def test_abort_ends_a_worker_and_the_processes_it_started(tmp_path):
    async def abort_once_started():
        executor = LocalExecutor(grace=0.2)
        started = asyncio.Event()
        lines = []

        def on_line(line):
            lines.append(line)
            started.set()
        run = asyncio.create_task(executor.run(
            'j', 'cpu', [sys.executable, '-c', STUBBORN], str(tmp_path), lambda pid: None,
            on_line))
        await asyncio.wait_for(started.wait(), 30)
        began = time.time()
        assert await executor.stop('j')
        code = await asyncio.wait_for(run, 10)
        return lines, code, time.time() - began

    lines, code, seconds = asyncio.run(abort_once_started())
    assert lines == ['started'] and code == -9 and seconds < 5
