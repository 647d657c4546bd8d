"""Dataset routes: DIGITS' classification dataset form, from a server
folder (under ``--data-root``; separate val/test folders too) or an
uploaded archive (``method=archive``, the file in ``archive``)."""
import os
import shutil
import tempfile

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from ..digits.forms import DATASET_FIELDS, REQUIRED, parse_dataset_form, separate_folders
from ..errors import CaffeError
from ..tools import dataset
from . import archives, datasets
from .security import resolve_server_path
from .views_jobs import get_job, server, with_clone
from .web import FormErrors, read_form, redirect, render, require_login, wants_json

# An archive may unpack to at most this many times the upload limit.
UNPACK_FACTOR = 4


async def new(request):
    """The form (filled from ?clone=<id>)."""
    state = server(request)
    clone = request.query_params.get('clone')
    values = {name: f.default for name, f in DATASET_FIELDS.items()}
    if clone:
        values.update(get_job(request, clone, 'dataset')['form'])
    return render(request, 'datasets/images/classification/new.html', {'form': values})


async def _save_upload(upload, folder):
    """Stream an uploaded file into a new temporary file in ``folder``."""
    suffix = next((s for s in archives.ARCHIVE_SUFFIXES
                   if upload.filename.lower().endswith(s)), '')
    fd, path = tempfile.mkstemp(prefix='.upload-', suffix=suffix, dir=folder)
    with os.fdopen(fd, 'wb') as out:
        while True:
            chunk = await upload.read(1 << 20)
            if not chunk:
                break
            out.write(chunk)
    return path


async def unpacked_archive(state, upload):
    """The folder (beside the jobs) an uploaded archive unpacks into."""
    path = await _save_upload(upload, state.store.jobs_dir)
    destination = path + '.d'
    try:
        await run_in_threadpool(archives.unpack, path, destination,
                                UNPACK_FACTOR * state.config.max_upload_bytes)
    except archives.ArchiveError as e:
        # the message names the temporary file: name the upload instead
        raise HTTPException(400, str(e).replace(path, upload.filename)
                            .replace(os.path.basename(path), upload.filename)) from None
    finally:
        os.remove(path)
    return destination


def check_separate_classes(folder, separate):
    """FormErrors naming each separate val/test folder ({split: path}) that
    is not an image folder or has a class the training ``folder`` lacks
    (DIGITS labels those images with the training folder's labels)."""
    if not separate:
        return
    try:
        known = dataset.class_folders(folder)
    except CaffeError as e:
        raise FormErrors({'folder_train': [str(e)]}) from None
    errors = {}
    for split, path in separate.items():
        try:
            dataset.check_classes(dataset.class_folders(path), known, path)
        except CaffeError as e:
            errors['folder_' + split] = [str(e)]
    if errors:
        raise FormErrors(errors)


async def create(request):
    """Make a dataset job; JSON answers the job, browsers go to its page."""
    state = server(request)
    fields, files = await read_form(request)
    user = require_login(request, fields)
    values, errors = parse_dataset_form(with_clone(request, fields, 'dataset'))
    if values['method'] == 'archive' and 'archive' not in files:
        errors['archive'] = [REQUIRED]
    if errors:
        raise FormErrors(errors)
    unpacked = folder = None
    separate = {}
    if values['method'] == 'folder':
        roots = state.config.data_roots
        folder = resolve_server_path(values['folder_train'], roots, 'folder_train')
        separate = {split: resolve_server_path(path, roots, 'folder_' + split)
                    for split, path in separate_folders(values).items()}
        if not os.path.isdir(folder):
            raise FormErrors({'folder_train': ['Folder does not exist']})
        check_separate_classes(folder, separate)
    else:
        unpacked = await unpacked_archive(state, files['archive'])
    job = None
    try:
        if unpacked:
            # the images move into the job folder, which the job then names
            folder = archives.image_root(unpacked)
        job = datasets.create_job(state.store, values, user, folder, separate=separate)
        if unpacked:
            images = state.store.path(job['id'], 'images')
            os.replace(unpacked, images)
            job['image_folder'] = os.path.normpath(
                os.path.join(images, os.path.relpath(folder, unpacked)))
            state.store.save(job)
    except BaseException:
        if job is not None:
            state.store.discard(job['id'])
        if unpacked:
            shutil.rmtree(unpacked, ignore_errors=True)
        raise
    job_id = job['id']
    state.runner.submit(job)
    if wants_json(request):
        return render(request, '', datasets.dataset_json(job, state.store.path(job_id), False))
    return redirect('/datasets/%s' % job_id)


async def show(request):
    state = server(request)
    job = get_job(request, job_type='dataset')
    return render(request, 'datasets/images/classification/show.html',
                  datasets.dataset_json(job, state.store.path(job['id'])))

