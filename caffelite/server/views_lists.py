"""DIGITS' routes over several jobs or none: the home page's table rows
(``/completed_jobs.json``, ``/jobs/<id>/table_data.json``), the bulk
actions of its job table (``/group``, ``/abort_jobs``, ``DELETE /jobs``,
each over the form list ``job_ids[]``) and ``/autocomplete/path``."""
import glob
import os
import time

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, PlainTextResponse

from . import jobs
from .views_jobs import delete_job, get_job, server
from .web import require_login

# DIGITS' Status.css of each status (Bootstrap's alert classes).
STATUS_CSS = {jobs.INIT: 'warning', jobs.WAIT: 'warning', jobs.RUN: 'info',
              jobs.DONE: 'success', jobs.ABORT: 'warning', jobs.ERROR: 'danger'}
TABLE_TYPES = {'dataset': 'dataset', 'model': 'model', 'pretrained': 'pretrained_model'}
LISTS = {'dataset': 'datasets', 'model': 'models', 'pretrained': 'pretrained_models'}


def elapsed(job, now=None):
    """Seconds from the job's first Running to its end (or ``now``), 0 if it never ran."""
    history = job['status_history']
    starts = [t for status, t in history if status == jobs.RUN]
    if not starts:
        return 0
    stops = [t for status, t in history if status in (jobs.DONE, jobs.ABORT, jobs.ERROR)]
    return (max(stops) if stops else (now or time.time())) - starts[0]


def output_columns(job):
    """{'<output> (<train|val>) last|min|max': value} of a model's curves."""
    columns = {}
    for phase in ('train', 'val'):
        for name, points in job.get(phase + '_outputs', {}).items():
            values = [v for _, v in points]
            if values:
                key = '%s (%s) ' % (name, phase)
                columns.update({key + 'last': values[-1], key + 'min': min(values),
                                key + 'max': max(values)})
    return columns


def table_row(state, job):
    """DIGITS' row of a job in the home page's tables: the job's short JSON
    with its group, status class, submission time, run time, type and, for
    models, the last/min/max of each output."""
    row = dict(state.job_json(job, detailed=False), group=job['group'],
               status_css=STATUS_CSS.get(job['status'], 'default'),
               submitted=job['status_history'][0][1], elapsed=elapsed(job),
               type=TABLE_TYPES[job['type']])
    if job['type'] == 'dataset':
        row['backend'] = 'lmdb'
    if job['type'] == 'model':
        row.update(output_columns(job))
    return row


async def completed_jobs(request):
    """DIGITS' /completed_jobs.json: the jobs still running (any kind)
    apart, then the finished datasets, models and pretrained models, and
    ``model_output_fields`` the output columns the rows hold."""
    state = server(request)
    data = {'running': [], 'datasets': [], 'models': [], 'pretrained_models': []}
    fields = set()
    for job in state.store.list():
        running = job['status'] in jobs.RUNNING and job['type'] != 'pretrained'
        row = table_row(state, job)
        if job['type'] == 'model':
            fields.update(output_columns(job))
        data['running' if running else LISTS[job['type']]].append(row)
    data['model_output_fields'] = sorted(fields)
    return JSONResponse(data)


async def table_data(request):
    """DIGITS' /jobs/<id>/table_data.json: {"job": the job's table row}."""
    return JSONResponse({'job': table_row(server(request), get_job(request))})


async def _bulk(request, act, done, verb):
    """Apply ``act(state, job, fields)`` (False: failed) to each job of the
    form's ``job_ids[]`` the user may change; a 400 naming the counts of
    jobs not found, not permitted or failed, as DIGITS answers."""
    state = server(request)
    form = await request.form()
    fields = dict(request.query_params, **{k: v for k, v in form.items()
                                           if isinstance(v, str)})
    user = require_login(request, fields)
    missing = forbidden = failed = 0
    for job_id in form.getlist('job_ids[]'):
        job = state.store.jobs.get(job_id)
        if job is None:
            missing += 1
        elif job.get('username') and job['username'] != user:
            forbidden += 1
        elif await act(state, job, fields) is False:
            failed += 1
    errors = ['%d job%s %s.' % (n, '' if n == 1 else 's', what) for n, what in (
        (missing, 'not found'), (forbidden, 'not permitted to be ' + done),
        (failed, 'failed to ' + verb)) if n]
    if errors:
        raise HTTPException(400, ' '.join(errors))
    return PlainTextResponse('Jobs %s.' % done)


async def _regroup(state, job, fields):
    job['group'] = (fields.get('group_name') or '').strip()
    job['form']['group_name'] = job['group']
    state.store.save(job)


async def _abort(state, job, fields):
    return await state.runner.abort(job)


async def _delete(state, job, fields):
    return await delete_job(state, job)


async def group(request):
    """Set the group (``group_name``) of the jobs ``job_ids[]``."""
    return await _bulk(request, _regroup, 'regrouped', 'regroup')


async def abort_jobs(request):
    return await _bulk(request, _abort, 'aborted', 'abort')


async def delete_jobs(request):
    return await _bulk(request, _delete, 'deleted', 'delete')


def _allowed(path, roots):
    """Whether ``path`` is inside a data root or a folder on the way to one."""
    real = os.path.realpath(path)
    return any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) or
               r.startswith(real.rstrip(os.sep) + os.sep) for r in roots)


async def autocomplete_path(request):
    """DIGITS' path completion: {"suggestions": the paths starting with
    ``query`` (made absolute)}, limited to the data roots and the folders
    that lead to them."""
    query = request.query_params.get('query', '')
    if not os.path.isabs(query):
        query = os.sep + query
    roots = server(request).config.data_roots
    found = [os.path.abspath(p) for p in glob.glob(glob.escape(query) + '*')]
    return JSONResponse({'suggestions': sorted(p for p in found if _allowed(p, roots))})
