"""Model routes: DIGITS' classification model form (a sweep of batch
sizes and learning rates makes one job each), the model page and its JSON,
classification of one image or a list, pretrained models, download,
network customization and drawing, and the learning-rate preview."""
import io
import json
import os
import shutil
import tarfile
import tempfile
import zipfile

import numpy as np
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, JSONResponse, Response

from ..digits import forms, networks, solver as digits_solver
from ..digits.inference import accuracy_report, read_image_list
from ..digits.image_urls import is_url
from ..errors import CaffeError, NetError, ParseError
from ..proto import caffe_pb2
from ..protoio import atomic_open
from ..solver import learning_rate
from . import dataset_kinds, datasets, jobs, models, netsvg, pretrained
from .model_requests import (classify_image, classify_images, epoch_field, model_job,
                             percent_top, read_classify_one)
from .security import resolve_server_path
from .views_jobs import get_job, server, with_clone
from .web import FormErrors, read_form, redirect, render, require_login, wants_json

NETWORK_FIELDS = {'standard': 'standard_networks', 'previous': 'previous_networks',
                  'pretrained': 'pretrained_networks', 'custom': 'custom_network'}


async def new(request):
    """The form (filled from ?clone=<id>), with the standard networks."""
    return _new_form(request, False)


async def new_generic(request):
    """DIGITS' generic (object-detection) model form: no standard networks,
    the custom network's tab open."""
    return _new_form(request, True)


def _new_form(request, generic):
    clone = request.query_params.get('clone')
    values = {name: f.default for name, f in forms.MODEL_FIELDS.items()}
    values['standard_networks'] = networks.DEFAULT_NETWORK
    if generic:
        values['method'] = 'custom'
    if clone:
        values.update(get_job(request, clone, 'model')['form'])
    return render(request, 'models/images/%s/new.html' % ('generic' if generic
                                                          else 'classification'),
                  {'form': values, 'generic': generic,
                   'standard_networks': [] if generic else list(networks.STANDARD_NETWORKS)})


def _checked_dataset(state, values, generic=False):
    """The dataset job a model form names: an object-detection dataset for
    the generic form, a classification one else (DIGITS lists no other)."""
    dataset = state.store.jobs.get(values['dataset'])
    if dataset is None or dataset['type'] != 'dataset':
        raise FormErrors({'dataset': ['Unknown dataset job_id "%s"' % values['dataset']]})
    if dataset_kinds.is_generic(dataset) != generic:
        raise FormErrors({'dataset': ['Not a valid choice: %s is %s dataset' % (
            dataset['id'], 'a generic' if not generic else 'a classification')]})
    if dataset['status'] in (jobs.ABORT, jobs.ERROR):
        raise FormErrors({'dataset': ['Dataset %s is %s' % (dataset['id'], dataset['status'])]})
    return dataset


def _network(state, values):
    """(network, pretrained weights, source job) of the form, checked."""
    field = NETWORK_FIELDS[values['method']]
    try:
        network, weights, source = models.network_for(values, state.store)
    except models.NetworkChoiceError as e:
        raise FormErrors({e.field: [str(e)]}) from None
    except CaffeError as e:
        raise FormErrors({field: [str(e)]}) from None
    checked = []
    for path in weights:
        if values['method'] == 'custom':
            path = _server_file(state, path, 'custom_network_snapshot')
        if not os.path.isfile(path):
            raise FormErrors({'custom_network_snapshot': ['File "%s" does not exist' % path]})
        checked.append(path)
    return network, checked, source


# the files of a job folder a model form may name (what Customize hands out)
JOB_FILE_SUFFIXES = ('.caffemodel', models.PYTHON_LAYER)


def _server_file(state, path, field):
    """The real path of a server file a model form names: a snapshot or
    the Python layer module of a job (Customize fills the form with them,
    as DIGITS' does), else a path under a ``--data-root``."""
    if os.path.isabs(path):
        real = os.path.realpath(path)
        folder, name = os.path.split(real)
        if os.path.dirname(folder) == os.path.realpath(state.store.jobs_dir) \
                and os.path.basename(folder) in state.store.jobs \
                and name.endswith(JOB_FILE_SUFFIXES):
            return real
    return resolve_server_path(path, state.config.data_roots, field)


async def _python_layer(state, values, files):
    """The bytes of the form's Python layer module (None: none): the upload
    ``python_layer_client_file`` when ``python_layer_from_client`` is set,
    else the server file ``python_layer_server_file`` (under a data root)."""
    if values['python_layer_from_client']:
        if 'python_layer_client_file' not in files:
            raise FormErrors({'python_layer_client_file': [forms.REQUIRED]})
        return await files['python_layer_client_file'].read()
    path = values['python_layer_server_file'].strip()
    if not path:
        return None
    path = _server_file(state, path, 'python_layer_server_file')
    if not os.path.isfile(path):
        raise FormErrors({'python_layer_server_file': ['File "%s" does not exist' % path]})
    with open(path, 'rb') as f:
        return f.read()


def _source_python_layer(state, source):
    """The bytes of the Python layer module of the previous or pretrained
    model job ``source`` (None: it has none): its network imports it."""
    path = state.store.path(source, models.PYTHON_LAYER)
    if not os.path.isfile(path):
        return None
    with open(path, 'rb') as f:
        return f.read()


async def create(request):
    """Make one model job per (batch size, learning rate) of the form."""
    return await _create(request, generic=False)


async def create_generic(request):
    """DIGITS' generic image model (an object-detection dataset's): the
    same form, without standard networks."""
    return await _create(request, generic=True)


async def _create(request, generic):
    state = server(request)
    fields, files = await read_form(request)
    user = require_login(request, fields)
    values, errors = forms.parse_model_form(with_clone(request, fields, 'model'))
    if generic and values['method'] == 'standard':
        errors['standard_networks'] = ['Not a valid choice: an object-detection model takes '
                                       'a custom, previous or pretrained network']
    if errors:
        raise FormErrors(errors)
    gpus = [str(g) for g in state.config.gpus]
    if values['select_gpu'] not in ['next'] + gpus:
        raise FormErrors({'select_gpu': ['Not a valid choice (this server trains on %s)'
                                         % ('GPUs ' + ', '.join(gpus) if gpus else 'the CPU')]})
    dataset = _checked_dataset(state, values, generic)
    network, weights, source = _network(state, values)
    python_layer = await _python_layer(state, values, files)
    if python_layer is None and source is not None:
        python_layer = _source_python_layer(state, source)
    made = []
    try:
        for job_values, suffix in forms.sweep(values):
            made.append(models.create_job(state.store, job_values, job_values['model_name'] +
                                          suffix, user, dataset, network, weights, source,
                                          state.runner.device_of(job_values)[1] is not None))
            if python_layer is not None:
                with atomic_open(state.store.path(made[-1]['id'], models.PYTHON_LAYER)) as f:
                    f.write(python_layer)
    except (NetError, CaffeError) as e:
        for job in made:
            state.store.discard(job['id'])
        raise FormErrors({NETWORK_FIELDS[values['method']]: [str(e)]}) from None
    for job in made:
        state.runner.submit(job)
    if wants_json(request):
        answers = [state.job_json(job) for job in made]
        return JSONResponse(answers[0] if len(answers) == 1 else {'jobs': answers})
    return redirect('/models/%s' % made[0]['id'] if len(made) == 1 else '/')


async def show(request):
    state = server(request)
    job = get_job(request)
    if job['type'] == 'pretrained':
        return render(request, 'pretrained_models/show.html', state.job_json(job))
    if job['type'] != 'model':
        raise HTTPException(404, 'Job not found: %s' % job['id'])
    return render(request, 'models/images/classification/show.html', state.job_json(job))


async def large_graph(request):
    """DIGITS' large graph: the page of a model's curves alone (?job_id=)."""
    state = server(request)
    fields, _ = await read_form(request)
    job = model_job(request, fields)
    return render(request, 'models/images/classification/large_graph.html', state.job_json(job))


async def classify_one(request):
    """{"predictions": [[label, percent], ...]}: the top 5 of one image."""
    state, _, job, image, epoch = await read_classify_one(request)
    predictions = await run_in_threadpool(classify_image, state, job, epoch, image)
    return render(request, 'models/images/classification/classify_one.html',
                  {'predictions': predictions})


async def image_list_paths(request, state, fields, files):
    """(paths as given, their resolved paths, ground truths) of a list request."""
    if 'image_list' not in files:
        raise HTTPException(400, 'image_list is a required field')
    text = (await files['image_list'].read()).decode('utf-8', 'replace')
    folder = (fields.get('image_folder') or '').strip() or None
    if folder:
        folder = resolve_server_path(folder, state.config.data_roots, 'image_folder')
    limit = (fields.get('num_test_images') or '').strip()
    if limit and not limit.isdigit():
        raise HTTPException(400, 'num_test_images must be a number')
    paths, truths = read_image_list(text, folder, int(limit) if limit else None)
    real = [p if is_url(p) else resolve_server_path(p, state.config.data_roots, 'image_list path')
            for p in paths]
    return paths, real, truths


async def _classified_list(request, fields, files):
    """(paths as given, ground truths, classifier, scores, indices of the
    classified paths, {path as given: reason} of the others) of a list
    request; 400 when no image could be classified."""
    state = server(request)
    job = model_job(request, fields)
    paths, real, truths = await image_list_paths(request, state, fields, files)
    classifier, scores, kept, failed = await run_in_threadpool(
        classify_images, state, job, epoch_field(fields), real)
    if not kept:
        raise HTTPException(400, 'Unable to classify any image from the list')
    errors = {paths[real.index(p)]: reason for p, reason in failed.items()}
    return paths, truths, classifier, scores, kept, errors


async def classify_many(request):
    """{"classifications": {path: [[label, percent]...]}} and, when the list
    gives labels, top-1/top-5 accuracy, a confusion matrix and per-class
    accuracy."""
    fields, files = await read_form(request)
    paths, truths, classifier, scores, kept, failed = await _classified_list(request, fields,
                                                                            files)
    data = {'classifications': {paths[i]: percent_top(classifier, s)
                                for i, s in zip(kept, scores)},
            'labels': classifier.labels, 'errors': failed}
    report = accuracy_report(scores, [truths[i] for i in kept], len(classifier.labels))
    if report:
        data.update(report)
    return render(request, 'models/images/classification/classify_many.html', data)


async def top_n(request):
    """The ``top_n`` (default 9) images of each class with the highest score."""
    fields, files = await read_form(request)
    count = (fields.get('top_n') or '9').strip()
    if not count.isdigit():
        raise HTTPException(400, 'top_n must be a number')
    paths, _, classifier, scores, kept, _ = await _classified_list(request, fields, files)
    best = np.argsort(-scores, axis=0, kind='stable')[:int(count)]
    results = [{'label': label,
                'images': [{'path': paths[kept[i]], 'score': round(100 * float(scores[i, c]), 2)}
                           for i in best[:, c]]}
               for c, label in enumerate(classifier.labels[:scores.shape[1]])]
    return render(request, 'models/images/classification/top_n.html', {'results': results})


def _epoch_arg(request, fields):
    return epoch_field(request.query_params, 'epoch') if 'epoch' in request.query_params \
        else epoch_field(fields)


async def to_pretrained(request):
    """A pretrained model job from a snapshot: model.caffemodel,
    original.prototxt and the dataset's labels.txt."""
    state = server(request)
    fields, _ = await read_form(request)
    user = require_login(request, fields)
    job = get_job(request, job_type='model')
    try:
        weights = models.snapshot_path(job, state.store.path(job['id']), _epoch_arg(request,
                                                                                    fields))
    except CaffeError as e:
        raise HTTPException(400, str(e)) from None
    dataset = state.store.get(job['dataset_id'])
    with state.store.reserved() as job_id:
        folder = state.store.path(job_id)
        shutil.copyfile(weights, os.path.join(folder, 'model.caffemodel'))
        shutil.copyfile(state.store.path(job['id'], models.ORIGINAL),
                        os.path.join(folder, models.ORIGINAL))
        labels = dataset_kinds.labels_file(dataset, state.store.path(dataset['id']))
        if labels:
            shutil.copyfile(labels, os.path.join(folder, datasets.LABELS_FILE))
        # the network's Python layers import the job's module: it goes along
        python_layer = state.store.path(job['id'], models.PYTHON_LAYER)
        if os.path.isfile(python_layer):
            shutil.copyfile(python_layer, os.path.join(folder, models.PYTHON_LAYER))
        made = pretrained.register(state, job_id, job['name'], user, job['group'],
                                   image_dims=dataset['image_dims'],
                                   resize_mode=dataset['resize_mode'], source_job_id=job['id'],
                                   snapshot=os.path.basename(weights))
    return pretrained.answer(request, state, made)


def dataset_files(state, dataset):
    """The labels and mean files of a dataset job that a model's download
    takes: a generic dataset has no labels, and may have no mean."""
    folder = state.store.path(dataset['id'])
    return [path for path in (dataset_kinds.labels_file(dataset, folder),
                              dataset_kinds.mean_file(dataset, folder)) if path]


DOWNLOAD_FORMATS = {'tar.gz': 'w:gz', 'tgz': 'w:gz', 'tar': 'w', 'tar.bz2': 'w:bz2',
                    'zip': 'zip'}


def _write_archive(path, kind, members, info):
    if kind == 'zip':
        with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
            for source, name in members:
                z.write(source, name)
            z.writestr('info.json', info)
        return
    with tarfile.open(path, kind) as t:
        for source, name in members:
            t.add(source, arcname=name)
        data = info.encode('utf-8')
        entry = tarfile.TarInfo('info.json')
        entry.size = len(data)
        t.addfile(entry, io.BytesIO(data))


async def download(request):
    """The files to run the model: deploy, train_val, solver and original
    prototxt, labels, mean, the snapshot, the Python layer module if any and
    info.json (the job's JSON)."""
    state = server(request)
    fields, _ = await read_form(request)
    job = get_job(request, job_type='model')
    extension = request.path_params.get('extension', 'tar.gz')
    if extension not in DOWNLOAD_FORMATS:
        raise HTTPException(400, 'Invalid extension %r (use tar.gz, tgz, tar, tar.bz2 or zip)'
                            % extension)
    job_dir = state.store.path(job['id'])
    epoch = _epoch_arg(request, fields)
    try:
        weights = models.snapshot_path(job, job_dir, epoch)
    except CaffeError as e:
        raise HTTPException(400, str(e)) from None
    members = [(os.path.join(job_dir, n), n) for n in (models.DEPLOY, models.TRAIN_VAL,
                                                       models.SOLVER, models.ORIGINAL)]
    members += [(path, os.path.basename(path))
                for path in dataset_files(state, state.store.get(job['dataset_id']))]
    members.append((weights, os.path.basename(weights)))
    if os.path.isfile(os.path.join(job_dir, models.PYTHON_LAYER)):
        members.append((os.path.join(job_dir, models.PYTHON_LAYER), models.PYTHON_LAYER))
    info = dict(state.job_json(job, detailed=False),
                **{'snapshot file': os.path.basename(weights)})
    fd, path = tempfile.mkstemp(prefix='.download-', dir=state.store.jobs_dir)
    os.close(fd)
    try:
        await run_in_threadpool(_write_archive, path, DOWNLOAD_FORMATS[extension], members,
                                json.dumps(info, sort_keys=True, indent=4))
    except BaseException:
        os.remove(path)
        raise
    return FileResponse(path, filename=download_name(job['id'], epoch, extension),
                        background=BackgroundTask(os.remove, path))


def download_name(job_id, epoch, extension):
    """DIGITS' name of a model download: ``<id>_epoch_<epoch>.<extension>``,
    the epoch as Python prints the float asked for ('2.0'), -1 when none was
    asked for (the newest snapshot)."""
    return '%s_epoch_%s.%s' % (job_id, -1 if epoch is None else float(epoch), extension)


async def customize(request):
    """{"network": prototxt} of a standard network or of a job (plus the
    snapshot of ``snapshot_epoch`` for a model job, and the path of the
    job's Python layer module, None when it has none), as DIGITS answers."""
    state = server(request)
    fields, _ = await read_form(request)
    name = fields.get('network')
    if not name:
        raise HTTPException(400, 'network not provided')
    if name in networks.STANDARD_NETWORKS:
        return JSONResponse({'network': networks.standard_network_text(name)})
    job = get_job(request, name)
    if job['type'] not in ('model', 'pretrained'):
        raise HTTPException(400, 'job %s is not a model' % name)
    folder = state.store.path(job['id'])
    with open(os.path.join(folder, models.ORIGINAL)) as f:
        network = f.read()
    snapshot = None
    python_layer = os.path.join(folder, models.PYTHON_LAYER)
    if job['type'] == 'pretrained':
        snapshot = os.path.join(folder, 'model.caffemodel')
    elif epoch_field(fields):
        try:
            snapshot = models.snapshot_path(job, folder, epoch_field(fields))
        except CaffeError as e:
            raise HTTPException(400, str(e)) from None
    return JSONResponse({'network': network, 'snapshot': snapshot, 'python_layer':
                         python_layer if os.path.isfile(python_layer) else None})


async def visualize_network(request):
    """An SVG drawing of the ``custom_network`` prototxt; a prototxt error
    answers 400 naming its line and column."""
    fields, _ = await read_form(request)
    text = fields.get('custom_network')
    if text is None:
        raise HTTPException(400, 'custom_network is a required field')
    try:
        network = forms.parse_network_text(text)
    except ParseError as e:
        raise HTTPException(400, str(e)) from None
    return Response(netsvg.draw(network), media_type='image/svg+xml')


async def visualize_lr(request):
    """DIGITS' learning-rate preview: 101 values over 0-100 % of training
    for each rate of ``learning_rate`` (a comma list)."""
    fields, _ = await read_form(request)
    values, errors = forms.parse(forms.MODEL_FIELDS, fields)
    for name in ('learning_rate', 'lr_policy') + tuple(
            forms.POLICY_FIELDS[values['lr_policy']].values()):
        if name in errors:
            raise FormErrors({name: errors[name]})
    columns = []
    for j, rate in enumerate(values['learning_rate']):
        param = caffe_pb2.SolverParameter(base_lr=rate, max_iter=100)
        digits_solver.apply_lr_policy(param, forms.lr_policy(values))
        steps = list(param.stepvalue)
        column = ['Learning Rate %d' % j]
        for i in range(101):
            step = sum(1 for s in steps if i >= s)
            column.append(learning_rate(param, i, step))
        columns.append(column)
    return JSONResponse({'data': {'columns': columns}})
