"""Pretrained model jobs, made from a model's snapshot or uploaded.

An upload is DIGITS' ``POST /pretrained_models/new``: weights
(``weights_file``, .caffemodel), network (``model_def_file``, .prototxt),
optional ``labels_file`` and ``mean_file``, and the images it expects
(``image_type``, ``resize_mode``, ``width``, ``height``). Both kinds hold
their files under the same names (``model.caffemodel``,
``original.prototxt``, ``labels.txt``), so the New model page trains from
either the same way. DIGITS' ``POST /pretrained_models/upload_archive``
takes instead a model's download (``archive``: .tar, .tar.gz, .zip with
its ``info.json``)."""
import json
import os
import shutil

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from ..digits import forms
from ..errors import ParseError
from ..images import RESIZE_MODES
from . import datasets, jobs, models
from .views_datasets import unpacked_archive
from .views_jobs import server
from .web import FormErrors, read_form, redirect, require_login, wants_json

# info.json key of a model download -> upload field of the same file
INFO_FILES = {'snapshot file': 'weights_file', 'model file': 'model_def_file',
              'labels file': 'labels_file', 'mean file': 'mean_file'}
IMAGE_TYPES = {'3': 3, 'color': 3, '1': 1, 'grayscale': 1}
# upload field -> (file name in the job folder, required extension or None)
FILES = {'weights_file': ('model.caffemodel', '.caffemodel'),
         'model_def_file': (models.ORIGINAL, '.prototxt'),
         'labels_file': (datasets.LABELS_FILE, None),
         'mean_file': (datasets.MEAN_FILE, None)}


def _check(fields, files):
    """(values, errors) of an upload form."""
    errors = {}
    name = (fields.get('job_name') or '').strip()
    if not name:
        errors['job_name'] = [forms.REQUIRED]
    for field in ('weights_file', 'model_def_file'):
        upload, extension = files.get(field), FILES[field][1]
        if upload is None:
            errors[field] = [forms.REQUIRED]
        elif not upload.filename.lower().endswith(extension):
            errors[field] = ['must be a %s file' % extension]
    channels = IMAGE_TYPES.get((fields.get('image_type') or '3').lower())
    if channels is None:
        errors['image_type'] = ['Not a valid choice']
    resize_mode = fields.get('resize_mode') or 'squash'
    if resize_mode not in RESIZE_MODES:
        errors['resize_mode'] = ['Not a valid choice']
    size = {}
    for field in ('width', 'height'):
        text = (fields.get(field) or '256').strip()
        if not text.isdigit() or not 0 < int(text) <= 4096:
            errors[field] = ['Number must be between 1 and 4096.']
        else:
            size[field] = int(text)
    return dict(name=name, channels=channels, resize_mode=resize_mode, **size), errors


def register(state, job_id, name, user, group, **facts):
    """Register the finished pretrained job whose files are in the reserved
    folder ``job_id``. ``facts``: image_dims, resize_mode, source_job_id
    (None when uploaded) and snapshot (the weights it was made from)."""
    job = jobs.new_job('pretrained', name, user, group, **facts)
    job['status'], job['progress'] = jobs.DONE, 1.0
    return state.store.add(job_id, job)


def answer(request, state, job):
    """A new pretrained job: its JSON, or its page for a browser."""
    if wants_json(request):
        return JSONResponse(state.job_json(job))
    return redirect('/pretrained_models/%s' % job['id'])


def _save(upload, path):
    with open(path, 'wb') as out:
        shutil.copyfileobj(upload.file, out, 1 << 20)


async def upload(request):
    """Make a pretrained model job from uploaded files."""
    state = server(request)
    fields, files = await read_form(request)
    user = require_login(request, fields)
    values, errors = _check(fields, files)
    if 'model_def_file' not in errors:
        text = (await files['model_def_file'].read()).decode('utf-8', 'replace')
        try:
            forms.parse_network_text(text)
        except ParseError as e:
            errors['model_def_file'] = [str(e).replace('custom_network', 'model_def_file', 1)]
        await files['model_def_file'].seek(0)
    if errors:
        raise FormErrors(errors)
    with state.store.reserved() as job_id:
        for field, (name, _) in FILES.items():
            if field in files:
                await run_in_threadpool(_save, files[field], state.store.path(job_id, name))
        job = register(state, job_id, values['name'], user, fields.get('group_name', ''),
                       image_dims=[values['height'], values['width'], values['channels']],
                       resize_mode=values['resize_mode'], source_job_id=None,
                       snapshot='model.caffemodel')
    return answer(request, state, job)


def _archive_model(folder):
    """(info.json, {upload field: path}) of an unpacked model download."""
    found = [os.path.join(d, 'info.json') for d, _, names in os.walk(folder)
             if 'info.json' in names]
    if len(found) != 1:
        raise HTTPException(400, 'the archive holds %d info.json files (a model download '
                                 'holds one)' % len(found))
    root = os.path.dirname(found[0])
    with open(found[0], encoding='utf-8') as f:
        try:
            info = json.load(f)
        except ValueError as e:
            raise HTTPException(400, 'info.json: %s' % e) from None
    paths = {}
    for key, field in INFO_FILES.items():
        name = info.get(key)
        path = os.path.realpath(os.path.join(root, name)) if isinstance(name, str) else None
        if path and path.startswith(root + os.sep) and os.path.isfile(path):
            paths[field] = path
        elif field in ('weights_file', 'model_def_file'):
            raise HTTPException(400, 'info.json names no %s in the archive (%r)' % (key, name))
    return info, paths


async def upload_archive(request):
    """Make a pretrained model job from a model download (DIGITS' answer:
    {"status": "success"}, here with the job's id)."""
    state = server(request)
    fields, files = await read_form(request)
    user = require_login(request, fields)
    if 'archive' not in files:
        raise FormErrors({'archive': [forms.REQUIRED]})
    unpacked = await unpacked_archive(state, files['archive'])
    try:
        info, paths = _archive_model(unpacked)
        with open(paths['model_def_file'], encoding='utf-8', errors='replace') as f:
            try:
                forms.parse_network_text(f.read())
            except ParseError as e:
                raise FormErrors({'archive': [str(e)]}) from None
        dims = info.get('image dimensions') or [256, 256, 3]
        with state.store.reserved() as job_id:
            for field, path in paths.items():
                shutil.move(path, state.store.path(job_id, FILES[field][0]))
            job = register(state, job_id, str(info.get('name') or 'pretrained'), user,
                           fields.get('group_name', ''), image_dims=[int(d) for d in dims],
                           resize_mode=info.get('image resize mode') or 'squash',
                           source_job_id=None, snapshot='model.caffemodel')
    finally:
        shutil.rmtree(unpacked, ignore_errors=True)
    return JSONResponse({'status': 'success', 'id': job['id']})
