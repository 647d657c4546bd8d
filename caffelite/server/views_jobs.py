"""Routes common to every job: the home page and its JSON, login, status,
abort, resume, delete, clone, rename, live events and job files."""
import os
import shutil

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, \
    StreamingResponse

import caffelite
from ..digits import forms
from . import dataset_kinds, events, jobs, models, prebuilt_datasets
from .web import (check_username, read_form, redirect, render, require_login,
                  require_permission, wants_json)

JOB_TYPES = {'dataset': 'Image Classification Dataset', 'model': 'Image Classification Model',
             'pretrained': 'Pretrained Model'}
SHOW_URLS = {'dataset': '/datasets/%s', 'model': '/models/%s',
             'pretrained': '/pretrained_models/%s'}
LIST_TABS = {'/datasets': 1, '/models': 2, '/pretrained_models': 3}
# DIGITS' job types and forms of the jobs its generic (object-detection) forms make
GENERIC_TYPES = {'dataset': 'Generic Dataset', 'model': 'Generic Image Model'}
GENERIC_NEW_URLS = {'dataset': '/datasets/generic/new/', 'model': '/models/images/generic/new'}
PREBUILT_NEW_URL = '/datasets/images/generic/new'


def is_generic(state, job):
    """Whether a job is DIGITS' generic kind: an object-detection or a
    prebuilt generic image dataset, or a model of one."""
    dataset = state.store.jobs.get(job.get('dataset_id')) if job['type'] == 'model' else job
    return bool(dataset and dataset_kinds.is_generic(dataset))


def job_type(state, job):
    """DIGITS' name of a job's type ('Image Classification Dataset'...)."""
    if job['type'] == 'dataset' and prebuilt_datasets.is_prebuilt(job):
        return 'Generic Image Dataset'
    return (GENERIC_TYPES if is_generic(state, job) and job['type'] in GENERIC_TYPES
            else JOB_TYPES)[job['type']]


def new_url(state, job):
    """The form that makes a job like ``job``."""
    if job['type'] == 'dataset' and prebuilt_datasets.is_prebuilt(job):
        return PREBUILT_NEW_URL
    if is_generic(state, job) and job['type'] in GENERIC_NEW_URLS:
        return GENERIC_NEW_URLS[job['type']] + (job.get('extension_id') or '')
    return NEW_URLS[job['type']]
NEW_URLS = {'dataset': '/datasets/images/classification/new',
            'model': '/models/images/classification/new'}


def server(request):
    return request.app.state.server


def get_job(request, job_id=None, job_type=None):
    """The job of the request's ``job_id`` (404 when absent or of another type)."""
    state = server(request)
    job_id = job_id or request.path_params['job_id']
    job = state.store.jobs.get(job_id)
    if job is None or (job_type and job['type'] != job_type):
        raise HTTPException(404, 'Job not found: %s' % job_id)
    return job


def with_clone(request, fields, job_type):
    """A create request's form ``fields`` with, when it names ``clone`` (query
    or form), the form of that job over them, as DIGITS refills a cloned form."""
    clone = fields.get('clone')
    if not clone:
        return fields
    return dict(fields, **forms.clone_fields(get_job(request, clone, job_type)['form']))


async def owned_job(request, job_type=None):
    """(form fields, the request's job) once its user is logged in and may
    change the job."""
    fields, _ = await read_form(request)
    user = require_login(request, fields)
    job = get_job(request, job_type=job_type)
    require_permission(job, user)
    return fields, job


async def index(request):
    """DIGITS' home: every job, newest first, grouped by kind."""
    state = server(request)
    data = {'version': caffelite.__version__, 'jobs_dir': state.store.jobs_dir,
            'datasets': [], 'models': [], 'pretrained_models': []}
    lists = {'dataset': 'datasets', 'model': 'models', 'pretrained': 'pretrained_models'}
    for job in state.store.list():
        data[lists[job['type']]].append(state.job_json(job, detailed=False))
    return render(request, 'home.html', data)


async def job_list(request):
    """/datasets, /models, /pretrained_models: the home page at that tab."""
    return redirect('/?tab=%d' % LIST_TABS[request.url.path.rstrip('/')])


async def login(request):
    """Ask for a username (no password, as DIGITS); it is kept in a cookie."""
    fields, _ = await read_form(request)
    next_url = fields.get('next') or '/'
    if not next_url.startswith('/') or next_url.startswith('//'):
        next_url = '/'
    if request.method == 'GET':
        return render(request, 'login.html', {'next': next_url})
    name = (fields.get('username') or '').strip()
    if not name:
        raise HTTPException(400, 'username is required')
    check_username(name)
    response = (JSONResponse({'username': name}) if wants_json(request)
                else redirect(next_url))
    response.set_cookie('username', name, samesite='strict')
    return response


async def logout(request):
    response = redirect('/')
    response.delete_cookie('username')
    return response


async def status(request):
    """DIGITS' status route: {"status", "type", "name", "error"}; an unknown
    job answers {"error": "Job not found."} (HTTP 200), as DIGITS does."""
    job = server(request).store.jobs.get(request.path_params['job_id'])
    if job is None:
        return JSONResponse({'error': 'Job not found.'})
    error = job['error']
    return JSONResponse({'status': job['status'], 'type': job_type(server(request), job),
                         'name': job['name'], 'progress': int(round(100 * job['progress'])),
                         'eta': job['eta'],
                         'error': '%s: %s' % (error['type'], error['message']) if error
                         else None})


async def show(request):
    """/jobs/<id>: the dataset, model or pretrained model page."""
    job = get_job(request)
    return redirect(SHOW_URLS[job['type']] % job['id'])


def _done(request, text, job):
    if wants_json(request):
        return JSONResponse(server(request).job_json(job))
    return PlainTextResponse(text)


async def abort(request):
    _, job = await owned_job(request)
    if not await server(request).runner.abort(job):
        raise HTTPException(403, 'Job not aborted: job %s is %s' % (job['id'], job['status']))
    return _done(request, 'Job aborted.', job)


async def resume(request):
    """Train an aborted (or failed) model job on from its newest solverstate."""
    _, job = await owned_job(request, job_type='model')
    if job['status'] not in (jobs.ABORT, jobs.ERROR) or not job.get('files_written'):
        raise HTTPException(403, 'Job not resumed: job %s is %s' % (job['id'], job['status']))
    server(request).runner.resume(job)
    return _done(request, 'Job resumed.', job)


async def delete_job(state, job):
    """Delete a job and its folder (aborting it first); False when other
    jobs use it."""
    if state.store.dependents(job['id']):
        return False
    await state.runner.abort(job)
    state.classifiers.forget(job['id'])
    state.store.jobs.pop(job['id'], None)
    shutil.rmtree(state.store.path(job['id']), ignore_errors=True)
    return True


async def delete(request):
    """Delete a job (403 while other jobs use it)."""
    _, job = await owned_job(request)
    state = server(request)
    users = [j['id'] for j in state.store.dependents(job['id'])]
    if not await delete_job(state, job):
        raise HTTPException(403, 'Job not deleted: jobs %s use it' % ', '.join(users))
    return PlainTextResponse('Job deleted.')


async def edit(request):
    """PUT /jobs/<id>: rename (job_name) or annotate (job_notes) a job."""
    fields, job = await owned_job(request)
    if 'job_name' in fields:
        if not fields['job_name'].strip():
            raise HTTPException(400, 'name cannot be blank')
        job['name'] = fields['job_name'].strip()
        # a clone takes the new name, as in DIGITS
        for key in ('dataset_name', 'model_name'):
            if key in job['form']:
                job['form'][key] = job['name']
    if 'job_notes' in fields:
        job['notes'] = fields['job_notes'].strip() or None
    server(request).store.save(job)
    return _done(request, '%s updated.' % job_type(server(request), job), job)


async def clone(request):
    """The form values of a job, to make another; browsers go to its form."""
    job = get_job(request, request.path_params['clone'])
    if job['type'] not in NEW_URLS:
        raise HTTPException(400, 'Invalid job type: %s jobs cannot be cloned' % job['type'])
    url = new_url(server(request), job) + '?clone=' + job['id']
    if wants_json(request):
        return JSONResponse({'type': job['type'], 'form': job['form'], 'url': url})
    return redirect(url)


def _first_events(state, job):
    first = [('status', dict(job_id=job['id'], status=job['status'], error=job['error'])),
             ('progress', dict(job_id=job['id'], percentage=int(round(100 * job['progress'])),
                               eta=job['eta']))]
    if job['type'] == 'model':
        found = models.snapshots(job, state.store.path(job['id']))
        first.append(('snapshots', dict(job_id=job['id'], snapshots=[e for _, e in found])))
    return first


def _event_stream(stream):
    return StreamingResponse(stream, media_type='text/event-stream',
                             headers={'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no'})


async def job_events(request):
    """Server-Sent Events of one job (see caffelite.server.events)."""
    state = server(request)
    job = get_job(request)
    return _event_stream(events.stream(state.bus, job['id'], lambda: _first_events(state, job)))


async def all_events(request):
    """Server-Sent Events of every job (the home page)."""
    state = server(request)
    def first():
        return [e for job in state.store.list() for e in _first_events(state, job)[:2]]
    return _event_stream(events.stream(state.bus, events.ALL_JOBS, first))


async def files(request):
    """A file of a job folder, e.g. /files/<job id>/mean.jpg."""
    root = server(request).store.jobs_dir
    path = os.path.realpath(os.path.join(root, request.path_params['path']))
    if not path.startswith(root + os.sep) or not os.path.isfile(path):
        raise HTTPException(404, 'File not found: %s' % request.path_params['path'])
    return FileResponse(path)
