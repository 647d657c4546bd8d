"""The DIGITS-compatible web application (Starlette, served by uvicorn).

Routes keep DIGITS' paths, form fields and JSON keys (its
``docs/API.md`` walkthrough runs unchanged with curl). A route answers
JSON when its path ends in ``.json`` or the request prefers
``application/json``, HTML otherwise. Errors answer DIGITS' shapes with a
4xx/5xx code, never a traceback.
"""
import contextlib
import dataclasses
import logging
import os
import signal

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import Route

from ..errors import CaffeError
from . import (dataset_kinds, datasets, jobs, models, pages, views_datasets,
               views_inference, views_jobs, views_lists, views_models)
from .events import EventBus
from .executor import LocalExecutor
from .inference import ClassifierCache
from .runner import Runner
from .security import SecurityMiddleware
from .web import FormErrors, error_response

log = logging.getLogger('caffelite.server')


@dataclasses.dataclass
class ServerConfig:
    """``caffelite serve``'s options. ``data_roots``: folders whose files
    clients may name by path; ``token``: required from every request when
    set; ``gpus``: device ids jobs may train on (none: CPU)."""
    jobs_dir: str
    data_roots: tuple = ()
    token: str = None
    max_upload_mb: float = 500
    gpus: tuple = ()

    def __post_init__(self):
        self.jobs_dir = os.path.abspath(self.jobs_dir)
        self.data_roots = tuple(os.path.realpath(r) for r in self.data_roots)

    @property
    def max_upload_bytes(self):
        return int(self.max_upload_mb * (1 << 20))


class ServerState:
    """What the views share: the job store, event bus, runner and the
    loaded classifiers."""

    def __init__(self, config):
        self.config = config
        self.store = jobs.JobStore(config.jobs_dir)
        self.bus = EventBus()
        self.runner = Runner(self.store, self.bus, LocalExecutor(), config.gpus)
        self.classifiers = ClassifierCache(self.store)

    def job_json(self, job, detailed=True):
        folder = self.store.path(job['id'])
        if job['type'] == 'dataset':
            return dataset_kinds.kind_of(job).dataset_json(job, folder, detailed)
        if job['type'] == 'model':
            return models.model_json(job, folder, self.store.jobs.get(job['dataset_id']),
                                     self.store.path(job['dataset_id']), detailed)
        return pretrained_json(job, folder)

    def load(self):
        """Read the jobs folder; jobs cut off by a stop are marked Aborted
        (their orphan workers stopped) and model curves rebuilt."""
        for job in self.store.load_all():
            stop_orphan(job.get('pid'))
            self.store.set_status(job, jobs.ABORT, {
                'type': 'Interrupted', 'message': 'the server stopped while this job ran'})
        for job in self.store.list('model'):
            models.replay_log(job, self.store.path(job['id']))


def pretrained_json(job, folder):
    """A pretrained model's JSON; ``has_labels`` as DIGITS': whether it was
    given a labels file (none when made from a generic model)."""
    h, w, c = job['image_dims']
    has_labels = os.path.isfile(os.path.join(folder, datasets.LABELS_FILE))
    d = {'id': job['id'], 'name': job['name'], 'status': job['status'],
         'type': 'pretrained_model', 'username': job['username'], 'framework': 'caffe',
         'directory': folder, 'has_labels': has_labels, 'job id': job['id'],
         'image dimensions': [h, w, c], 'image resize mode': job['resize_mode'],
         'weights file': 'model.caffemodel', 'model file': models.ORIGINAL,
         'source_job_id': job['source_job_id']}
    if has_labels:
        d['labels file'] = datasets.LABELS_FILE
    return d


def stop_orphan(pid):
    """Stop a worker left running by a server that died (if ``pid`` is one)."""
    if not pid:
        return
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            if b'caffelite.server.worker' not in f.read():
                return
        os.kill(pid, signal.SIGINT)
    except (OSError, ValueError):
        pass


def routes():
    j, d, m = views_jobs, views_datasets, views_models
    table = [
        ('/', j.index, ['GET']), ('/index.json', j.index, ['GET']),
        ('/completed_jobs.json', views_lists.completed_jobs, ['GET']),
        ('/jobs/{job_id}/table_data.json', views_lists.table_data, ['GET']),
        ('/group', views_lists.group, ['POST']),
        ('/abort_jobs', views_lists.abort_jobs, ['POST']),
        ('/jobs', views_lists.delete_jobs, ['DELETE']),
        ('/autocomplete/path', views_lists.autocomplete_path, ['GET']),
        ('/datasets', j.job_list, ['GET']), ('/models', j.job_list, ['GET']),
        ('/pretrained_models', j.job_list, ['GET']),
        ('/login', j.login, ['GET', 'POST']), ('/logout', j.logout, ['GET', 'POST']),
        ('/events', j.all_events, ['GET']),
        ('/files/{path:path}', j.files, ['GET']),
        ('/clone/{clone}', j.clone, ['GET', 'POST']),
        ('/datasets/summary', d.summary, ['GET']),
        ('/datasets/generic/new/{extension_id}', d.new_generic, ['GET']),
        ('/datasets/generic/create/{extension_id}.json', d.create_generic, ['POST']),
        ('/datasets/generic/create/{extension_id}', d.create_generic, ['POST']),
        ('/datasets/images/generic/new', d.new_prebuilt, ['GET']),
        ('/datasets/images/generic.json', d.create_prebuilt, ['POST']),
        ('/datasets/images/generic', d.create_prebuilt, ['POST']),
        ('/datasets/images/classification/new', d.new, ['GET']),
        ('/datasets/images/classification.json', d.create, ['POST']),
        ('/datasets/images/classification', d.create, ['POST']),
        ('/models/images/generic/new', m.new_generic, ['GET']),
        ('/models/images/generic.json', m.create_generic, ['POST']),
        ('/models/images/generic', m.create_generic, ['POST']),
        ('/models/images/generic/infer_one.json', views_inference.infer_one, ['POST']),
        ('/models/images/generic/infer_one', views_inference.infer_one, ['POST']),
        ('/models/images/generic/infer_extension.json', views_inference.infer_one, ['POST']),
        ('/models/images/generic/infer_extension', views_inference.infer_one, ['POST']),
        ('/models/images/generic/infer_many.json', views_inference.infer_many, ['POST']),
        ('/models/images/generic/infer_many', views_inference.infer_many, ['POST']),
        ('/models/images/generic/infer_db.json', views_inference.infer_db, ['POST']),
        ('/models/images/generic/infer_db', views_inference.infer_db, ['POST']),
        ('/models/images/classification/new', m.new, ['GET']),
        ('/models/images/classification.json', m.create, ['POST']),
        ('/models/images/classification', m.create, ['POST']),
        ('/models/images/classification/large_graph', m.large_graph, ['GET']),
        ('/models/images/generic/large_graph', m.large_graph, ['GET']),
        ('/models/images/classification/classify_one.json', m.classify_one, ['POST']),
        ('/models/images/classification/classify_one', m.classify_one, ['POST']),
        ('/models/images/classification/classify_many.json', m.classify_many, ['POST']),
        ('/models/images/classification/classify_many', m.classify_many, ['POST']),
        ('/models/images/classification/top_n.json', m.top_n, ['POST']),
        ('/models/images/classification/top_n', m.top_n, ['POST']),
        ('/models/customize', m.customize, ['POST']),
        ('/models/visualize-network', m.visualize_network, ['POST']),
        ('/models/visualize-lr', m.visualize_lr, ['POST']),
        ('/models/{job_id}/to_pretrained', m.to_pretrained, ['GET', 'POST']),
        ('/models/{job_id}/download', m.download, ['GET', 'POST']),
        ('/models/{job_id}/download.{extension:path}', m.download, ['GET', 'POST']),
        ('/models/{job_id}/resume', j.resume, ['POST']),
        ('/pretrained_models/{job_id}.json', m.show, ['GET']),
        ('/pretrained_models/{job_id}', m.show, ['GET']),
    ]
    for kind in ('datasets', 'models', 'jobs'):
        table += [('/%s/{job_id}/status' % kind, j.status, ['GET']),
                  ('/%s/{job_id}/abort' % kind, j.abort, ['POST']),
                  ('/%s/{job_id}/events' % kind, j.job_events, ['GET'])]
    table += [('/jobs/{job_id}/resume', j.resume, ['POST']),
              ('/datasets/{job_id}.json', d.show, ['GET']),
              ('/datasets/{job_id}', d.show, ['GET']),
              ('/models/{job_id}.json', m.show, ['GET']),
              ('/models/{job_id}', m.show, ['GET']),
              ('/jobs/{job_id}', j.show, ['GET']),
              ('/jobs/{job_id}', j.edit, ['PUT'])]
    for kind in ('datasets', 'models', 'jobs', 'pretrained_models'):
        table.append(('/%s/{job_id}' % kind, j.delete, ['DELETE']))
    return [Route(path, endpoint, methods=methods) for path, endpoint, methods in table]


async def _http_error(request, exc):
    return error_response(request.scope, exc.status_code, exc.detail,
                          type(exc).__name__ if type(exc) is not HTTPException
                          else _HTTP_NAMES.get(exc.status_code, 'HTTPException'),
                          description=exc.detail)


_HTTP_NAMES = {400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound',
               405: 'MethodNotAllowed', 409: 'Conflict', 413: 'RequestEntityTooLarge'}


async def _form_errors(request, exc):
    return error_response(request.scope, 400, str(exc), 'ValidationError', exc.errors)


async def _caffe_error(request, exc):
    return error_response(request.scope, 400, str(exc), type(exc).__name__)


async def _unexpected(request, exc):
    log.exception('%s %s failed', request.method, request.url.path)
    return error_response(request.scope, 500, str(exc), type(exc).__name__)


async def _refuse(scope, receive, send, status, message):
    response = error_response(scope, status, message, _HTTP_NAMES.get(status, 'Error'),
                              description=message)
    await response(scope, receive, send)


def create_app(config):
    """The Starlette application serving ``config``'s jobs folder."""
    state = ServerState(config)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        state.load()
        yield
        await state.runner.shutdown()

    app = Starlette(routes=routes(), lifespan=lifespan, exception_handlers={
        HTTPException: _http_error, FormErrors: _form_errors, CaffeError: _caffe_error,
        Exception: _unexpected})
    app.state.server = state
    pages.install(app)
    app.add_middleware(SecurityMiddleware, refuse=_refuse, token=config.token,
                       max_upload=config.max_upload_bytes)
    return app
