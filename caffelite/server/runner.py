"""Running jobs: each submitted job is an asyncio task that waits for its
device on the executor, runs its worker, follows its output and leaves the
job Done, Aborted or Error (with the exception that failed it, named).

A model job waits for its dataset job first, and writes its prototxt files
then if the dataset was not finished when the job was made. Abort stops a
waiting job at once and a running one within the executor's grace period;
what the worker wrote stays. Resume runs a model job again from its newest
solverstate.
"""
import asyncio
import logging
import os
import time

from ..glog import GlogFormatter
from . import dataset_kinds, datasets, detection_datasets, jobs, models, prebuilt_datasets

log = logging.getLogger('caffelite.server')
# How often (seconds) a running job's state is saved to disk.
SAVE_PERIOD = 5.0


def glog_line(message, level=logging.INFO):
    """``message`` as one line of Caffe's log format."""
    record = logging.LogRecord('caffelite.server', level, __file__, 0, message, None, None)
    return GlogFormatter().format(record)


class Runner:
    """Submits jobs of a JobStore to an executor and keeps their state."""

    def __init__(self, store, bus, executor, gpus=()):
        self.store, self.bus, self.executor = store, bus, executor
        self.gpus = list(gpus)
        self.tasks = {}
        self.aborting = set()
        self.finished = {}
        self.shutting_down = False

    # --- state changes ---------------------------------------------------
    def set_status(self, job, status, error=None):
        self.store.set_status(job, status, error)
        self.bus.publish(job['id'], 'status', status=status, error=job['error'])
        if status not in jobs.RUNNING:
            self.finished.setdefault(job['id'], asyncio.Event()).set()

    def publisher(self, job):
        """publish(event, **data) for one job, saving its state now and then."""
        last_save = [time.time()]

        def publish(event, **data):
            self.bus.publish(job['id'], event, **data)
            if time.time() - last_save[0] > SAVE_PERIOD:
                last_save[0] = time.time()
                self.store.save(job)
        return publish

    # --- submitting --------------------------------------------------------
    def submit(self, job):
        """Queue ``job`` (its state must be saved); returns its task."""
        self.finished[job['id']] = asyncio.Event()
        self.set_status(job, jobs.WAIT)
        task = asyncio.get_running_loop().create_task(self._run(job))
        self.tasks[job['id']] = task
        task.add_done_callback(lambda _: self.tasks.pop(job['id'], None))
        return task

    def device(self, job):
        """(executor device name, GPU id or None) a job runs on."""
        if job['type'] != 'model':
            return 'cpu', None
        return self.device_of(job['form'])

    def device_of(self, form):
        """(device name, GPU id or None) of a model form's select_gpu."""
        choice = form.get('select_gpu', 'next')
        if not self.gpus:
            return 'cpu', None
        gpu = self.gpus[0] if choice in (None, 'next') else int(choice)
        return 'gpu%d' % gpu, gpu

    async def _run(self, job):
        job_id, job_dir = job['id'], self.store.path(job['id'])
        watcher = None
        try:
            if job['type'] == 'model':
                await self._wait_for_dataset(job)
            device, gpu = self.device(job)
            publish = self.publisher(job)
            if job['type'] == 'dataset':
                kind = dataset_kinds.kind_of(job)
                first_log = {detection_datasets: 'create_train_db.log',
                             prebuilt_datasets: prebuilt_datasets.LOG_FILE}.get(kind)
                watcher = datasets.DatasetProgress(job, job_dir, publish, first_log)
                argv = kind.worker_argv(job_dir)
            else:
                self._prepare_model(job, gpu)
                watcher = models.TrainingProgress(job, job_dir, publish)
                argv = models.worker_argv(job, job_dir, gpu)
                states = models.solverstates(job_dir)
                if job.get('resume'):
                    watcher.write(glog_line(
                        'Restoring previous solver status from %s'
                        % os.path.basename(states[-1][1]) if states
                        else 'Training restarts from iteration 0'))

            def started(pid):
                job['pid'] = pid
                self.set_status(job, jobs.RUN)

            def on_line(line):
                watcher.feed(line)
                if getattr(watcher, 'error', None) and watcher.error.get('type') == 'NaNError' \
                        and job_id not in self.aborting:
                    self.aborting.add(job_id)
                    asyncio.get_running_loop().create_task(self.executor.stop(job_id))
            code = await self.executor.run(job_id, device, argv, job_dir, started, on_line)
            self._finish(job, code, watcher)
        except asyncio.CancelledError:
            self.set_status(job, jobs.ABORT, self._abort_reason(job_id))
            raise
        except Exception as e:  # the job fails, the server goes on
            log.exception('job %s failed', job_id)
            self.set_status(job, jobs.ERROR, {'type': type(e).__name__, 'message': str(e)})
        finally:
            if watcher is not None and hasattr(watcher, 'close'):
                watcher.close()
            job.pop('resume', None)
            self.store.save(job)

    def _abort_reason(self, job_id):
        """The error an aborted job keeps: none when a user aborted it."""
        self.aborting.discard(job_id)
        if self.shutting_down:
            return {'type': 'Interrupted', 'message': 'the server stopped while this job ran'}
        return None

    def _finish(self, job, code, watcher):
        job_id = job['id']
        error = watcher.error if watcher else None
        if error and error.get('type') == 'NaNError':
            self.aborting.discard(job_id)
            self.set_status(job, jobs.ERROR, error)
        elif job_id in self.aborting:
            self.set_status(job, jobs.ABORT, self._abort_reason(job_id))
        elif code == 0:
            if job['type'] == 'dataset':
                job.update(dataset_kinds.kind_of(job).finished_facts(self.store.path(job_id)))
            job['progress'] = 1.0
            self.set_status(job, jobs.DONE)
        else:
            self.set_status(job, jobs.ERROR, error or {
                'type': 'WorkerError', 'message': 'the worker exited with code %s' % code})

    async def _wait_for_dataset(self, job):
        dataset = self.store.jobs.get(job['dataset_id'])
        while dataset is not None and dataset['status'] in jobs.RUNNING:
            await self.finished.setdefault(dataset['id'], asyncio.Event()).wait()
        if dataset is None or dataset['status'] != jobs.DONE:
            raise RuntimeError('dataset job %s is %s' % (
                job['dataset_id'], 'deleted' if dataset is None else dataset['status']))

    def _prepare_model(self, job, gpu):
        """Write the model's files if its dataset was not done when it was made."""
        if job.get('files_written'):
            return
        dataset = self.store.jobs[job['dataset_id']]
        network = models.read_network(self.store.path(job['id'], models.ORIGINAL))
        models.write_model_files(job, self.store.path(job['id']), network, dataset,
                                 self.store.path(dataset['id']), gpu is not None)

    # --- abort, resume, shutdown -------------------------------------------
    async def abort(self, job):
        """Stop a waiting or running job; False when it is not running."""
        task = self.tasks.get(job['id'])
        if task is None or job['status'] not in jobs.RUNNING:
            return False
        self.aborting.add(job['id'])
        if not await self.executor.stop(job['id']):
            task.cancel()
        await asyncio.wait([task], timeout=5)
        return True

    def resume(self, job):
        """Run an aborted or failed model job again from its newest solverstate."""
        job['resume'] = True
        job['error'] = None
        return self.submit(job)

    async def shutdown(self):
        """Stop every job (workers snapshot and exit); they stay resumable."""
        self.shutting_down = True
        running = list(self.tasks.items())
        for job_id, task in running:
            self.aborting.add(job_id)
            if not await self.executor.stop(job_id):
                task.cancel()
        if running:
            await asyncio.wait([t for _, t in running], timeout=10)
