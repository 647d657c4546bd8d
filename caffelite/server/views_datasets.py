"""Dataset routes: DIGITS' classification dataset form, from a server
folder (under ``--data-root``; separate val/test folders too) or an
uploaded archive (``method=archive``, the file in ``archive``)."""
import os
import shutil
import tempfile

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from ..digits.forms import (DATASET_FIELDS, DETECTION_DATASET_FIELDS, IMAGE_PROCESSING,
                            OBJECT_DETECTION, PREBUILT_DATASET_FIELDS, PREBUILT_DBS,
                            PROCESSING_DATASET_FIELDS, REQUIRED, SUNNYBROOK,
                            SUNNYBROOK_DATASET_FIELDS, parse_dataset_form,
                            parse_detection_dataset_form, parse_prebuilt_dataset_form,
                            parse_processing_dataset_form, parse_sunnybrook_dataset_form,
                            separate_folders)
from ..digits import url_folders
from ..digits.image_urls import is_url
from ..errors import CaffeError
from ..tools import dataset
from . import (archives, datasets, detection_datasets, jobs,
               prebuilt_datasets, textfile_datasets)
from .security import resolve_server_path
from .views_jobs import get_job, server, with_clone
from .web import (TEMPLATES, FormErrors, job_id_from, read_form, redirect, render,
                  require_login, wants_json)

# An archive may unpack to at most this many times the upload limit.
UNPACK_FACTOR = 4


async def new(request):
    """The form (filled from ?clone=<id>)."""
    state = server(request)
    clone = request.query_params.get('clone')
    values = {name: f.initial for name, f in DATASET_FIELDS.items()}
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


def _image_folder(value, roots, field):
    """The folder a folder field names: a URL (DIGITS reads the web
    server's listing of it), or a checked server path."""
    if is_url(value.strip()):
        return url_folders.folder_url(value.strip())
    return resolve_server_path(value, roots, field)


def _check_folders(folder, separate):
    """FormErrors naming the field of a training ``folder`` or separate
    folder ({split: folder}) that does not exist (a URL whose listing
    cannot be had), then those :func:`check_separate_classes` refuses."""
    errors = {}
    for field, path in [('folder_train', folder)] + [('folder_' + split, path)
                                                     for split, path in separate.items()]:
        if is_url(path):
            try:
                url_folders.list_folder(path)
            except CaffeError as e:
                errors[field] = [str(e)]
        elif field == 'folder_train' and not os.path.isdir(path):
            errors[field] = ['Folder does not exist']
    if errors:
        raise FormErrors(errors)
    check_separate_classes(folder, separate)


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
    if values['method'] == 'textfile':
        job = await _textfile_job(state, values, files, user)
    else:
        job = await _image_folder_job(state, values, files, user)
    job_id = job['id']
    state.runner.submit(job)
    if wants_json(request):
        return render(request, '', datasets.dataset_json(job, state.store.path(job_id), False))
    return redirect('/datasets/%s' % job_id)


async def _textfile_job(state, values, files, user):
    """The dataset job of a textfile form (see :mod:`.textfile_datasets`)."""
    roots = state.config.data_roots
    folders, local = textfile_datasets.server_sources(values, files, roots)
    uploads = await textfile_datasets.read_uploads(values, files)
    return await run_in_threadpool(
        datasets.create_job, state.store, values, user, None,
        textfiles=lambda job_dir: textfile_datasets.prepare_job_dir(
            values, uploads, roots, folders, local, job_dir, state.config.max_upload_bytes))


async def _image_folder_job(state, values, files, user):
    """The dataset job of a folder form, or of an uploaded archive (whose
    images move into the job folder)."""
    unpacked = folder = None
    separate = {}
    if values['method'] == 'folder':
        roots = state.config.data_roots
        folder = _image_folder(values['folder_train'], roots, 'folder_train')
        separate = {split: _image_folder(path, roots, 'folder_' + split)
                    for split, path in separate_folders(values).items()}
        await run_in_threadpool(_check_folders, folder, separate)
    else:
        unpacked = await unpacked_archive(state, files['archive'])
    job = None
    try:
        if unpacked:
            # the images move into the job folder, which the job then names
            folder = archives.image_root(unpacked)
        job = datasets.create_job(state.store, values, user, folder, separate=separate,
                                  max_url_bytes=state.config.max_upload_bytes)
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
    return job


async def show(request):
    state = server(request)
    job = get_job(request, job_type='dataset')
    template = ('datasets/generic/show.html' if detection_datasets.is_extension(job)
                else 'datasets/images/generic/show.html' if prebuilt_datasets.is_prebuilt(job)
                else 'datasets/images/classification/show.html')
    return render(request, template, state.job_json(job))



async def summary(request):
    """DIGITS' short HTML summary of a dataset (?job_id=), the fragment its
    New model form shows for the dataset chosen."""
    state = server(request)
    fields, _ = await read_form(request)
    job = get_job(request, job_id_from(request, fields), 'dataset')
    finished = job['status_history'][-1][1] if job['status'] not in jobs.RUNNING else None
    return TEMPLATES.TemplateResponse(request, 'datasets/summary.html', {
        'data': state.job_json(job), 'finished': finished})


# each data extension: (its form's fields, parser, folder fields, template)
EXTENSIONS = {
    OBJECT_DETECTION: (DETECTION_DATASET_FIELDS, parse_detection_dataset_form,
                       ('train_image_folder', 'train_label_folder', 'val_image_folder',
                        'val_label_folder'), 'datasets/generic/new.html'),
    IMAGE_PROCESSING: (PROCESSING_DATASET_FIELDS, parse_processing_dataset_form,
                       ('feature_folder', 'label_folder', 'validation_feature_folder',
                        'validation_label_folder'), 'datasets/generic/new_processing.html'),
    SUNNYBROOK: (SUNNYBROOK_DATASET_FIELDS, parse_sunnybrook_dataset_form,
                 ('image_folder', 'contour_folder'), 'datasets/generic/new_sunnybrook.html')}


def _extension(request):
    """The data extension a generic dataset route names (those of DIGITS'
    that caffelite has: image-object-detection, image-processing,
    image-sunnybrook); 404 else."""
    extension = request.path_params['extension_id']
    if extension not in EXTENSIONS:
        raise HTTPException(404, "Unknown extension '%s' (caffelite has %s)"
                                 % (extension, ', '.join(EXTENSIONS)))
    return extension


async def new_generic(request):
    """DIGITS' New dataset form of a data extension (filled from ?clone=<id>)."""
    fields, _, _, template = EXTENSIONS[_extension(request)]
    values = {name: f.default for name, f in fields.items()}
    clone = request.query_params.get('clone')
    if clone:
        values.update(get_job(request, clone, 'dataset')['form'])
    return render(request, template, {'form': values})


async def create_generic(request):
    """Make a data extension's dataset job from server folders (images and
    KITTI labels, or feature and label images); JSON answers the job,
    browsers go to its page."""
    state = server(request)
    extension = _extension(request)
    _, parse_form, folders, _ = EXTENSIONS[extension]
    fields, _ = await read_form(request)
    user = require_login(request, fields)
    values, errors = parse_form(with_clone(request, fields, 'dataset'))
    for name in folders:
        if values[name] and name not in errors:
            values[name] = resolve_server_path(values[name], state.config.data_roots, name)
            if not os.path.isdir(values[name]):
                errors[name] = ['Folder does not exist or is not reachable']
    if errors:
        raise FormErrors(errors)
    if extension == OBJECT_DETECTION:
        job = detection_datasets.create_job(state.store, values, user)
    else:
        job = detection_datasets.create_processing_job(state.store, values, user, extension)
    state.runner.submit(job)
    if wants_json(request):
        return render(request, '', detection_datasets.dataset_json(
            job, state.store.path(job['id']), False))
    return redirect('/datasets/%s' % job['id'])


async def new_prebuilt(request):
    """DIGITS' New generic image dataset form ("Images > Other"; filled
    from ?clone=<id>)."""
    values = {name: f.initial for name, f in PREBUILT_DATASET_FIELDS.items()}
    clone = request.query_params.get('clone')
    if clone:
        values.update(get_job(request, clone, 'dataset')['form'])
    return render(request, 'datasets/images/generic/new.html', {'form': values})


async def create_prebuilt(request):
    """Make a generic image dataset job of prebuilt LMDB folders and a mean
    file on the server (under ``--data-root``); JSON answers the job,
    browsers go to its page."""
    state = server(request)
    fields, _ = await read_form(request)
    user = require_login(request, fields)
    values, errors = parse_prebuilt_dataset_form(with_clone(request, fields, 'dataset'))
    roots = state.config.data_roots
    for name in list(PREBUILT_DBS) + ['prebuilt_mean_file']:
        if not values[name] or name in errors:
            continue
        values[name] = resolve_server_path(values[name], roots, name)
        if name == 'prebuilt_mean_file':
            if not os.path.isfile(values[name]):
                errors[name] = ['File does not exist']
        elif not os.path.isdir(values[name]):
            errors[name] = ['Folder does not exist']
    if errors:
        raise FormErrors(errors)
    job = await run_in_threadpool(prebuilt_datasets.create_job, state.store, values, user)
    state.runner.submit(job)
    if wants_json(request):
        return render(request, '', prebuilt_datasets.dataset_json(
            job, state.store.path(job['id']), False))
    return redirect('/datasets/%s' % job['id'])
