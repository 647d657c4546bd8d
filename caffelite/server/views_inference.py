"""DIGITS' generic inference routes (an object-detection model's): the
deploy net's outputs for one image, a list of images or a database, as
{"outputs": ...} in JSON, and a page drawing DetectNet's boxes over the
image (DIGITS' bounding-box view)."""
import io
import os

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from ..digits import segmentation
from ..digits.image_urls import is_url
from ..errors import CaffeError
from .extension_inference import (is_sunnybrook, own_size_outputs, segmentation_page,
                                  sunnybrook_input)
from .gallery import data_uri
from .model_requests import (epoch_field, fetch_image, loaded_classifier, model_job,
                             read_image, with_picture)
from .layer_views import layer_visualizations
from .security import resolve_server_path
from .views_jobs import server
from .views_models import image_list_paths
from .web import read_form, render, wants_json

BATCH = 16
# DIGITS' id of its image-segmentation view extension
SEGMENTATION = 'image-segmentation'
# how many images the page of many draws (the others are listed)
DRAWN = 50


def _forward(loaded, pictures):
    """{output: (N, ...) array} of loaded pictures, BATCH at a time."""
    parts = [loaded.classifier.outputs(pictures[i:i + BATCH])
             for i in range(0, len(pictures), BATCH)]
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def infer_image(state, job, epoch, image, visualize=False):
    """(H x W x C picture as the net saw it, {output: (1, ...) array},
    (layer visualizations, parameter count) or None) of one image (a path
    or a file object); the layers when ``visualize``."""
    def run(loaded, picture):
        outputs = _forward(loaded, [picture])
        layers = layer_visualizations(loaded.classifier.net) if visualize else None
        return picture, outputs, layers
    return with_picture(state, job, epoch, image, run)


def infer_images(state, job, epoch, sources):
    """([index of each read source], [their pictures as the net saw them],
    {output: (N, ...) array}, {index: reason}) of image sources (paths or
    file objects)."""
    loaded = loaded_classifier(state, job, epoch)
    kept, pictures, failed = [], [], {}
    with loaded.lock:
        for i, source in enumerate(sources):
            if isinstance(source, str) and not os.path.isfile(source):
                failed[i] = 'no such file: %s' % source
                continue
            try:
                pictures.append(loaded.classifier.load(source))
                kept.append(i)
            except CaffeError as e:
                failed[i] = str(e)
        if not pictures:
            raise HTTPException(400, 'Unable to read any image: %s' % '; '.join(
                failed.values()))
        return kept, pictures, _forward(loaded, pictures), failed


def _png_src(picture):
    """A data: URL of an H x W x C picture as DIGITS shows an input (a
    wider range than 8 bits stretched to 0-255)."""
    return data_uri(segmentation.display_image(picture))


def boxes_of(outputs):
    """DIGITS' bounding-box view of the outputs of one image: {output:
    [[x1, y1, x2, y2, confidence]]} of the (boxes, 5) outputs, rows with a
    confidence above 0 (the zero rows are padding)."""
    found = {}
    for name, value in outputs.items():
        rows = np.asarray(value).reshape(-1, value.shape[-1]) if value.ndim else None
        if rows is not None and rows.shape[-1] == 5:
            found[name] = [[round(float(v), 2) for v in row] for row in rows if row[4] > 0]
    return found


def infer_feature(state, job, epoch, feature, visualize=False):
    """Like :func:`infer_image` for an H x W x C feature a data extension
    made (fed as it is, at its own size, as DIGITS' extension inference)."""
    loaded = loaded_classifier(state, job, epoch)
    with loaded.lock:
        outputs = own_size_outputs(loaded.classifier, feature)
        layers = layer_visualizations(loaded.classifier.net) if visualize else None
    return feature, outputs, layers


async def infer_one(request):
    """{"outputs": {name: blob}} of one image (image_path or image_file;
    for a Sunnybrook model also a DICOM file or validation_record, as its
    inference form). ``view_extension_id=image-segmentation`` (a
    Sunnybrook model's default) shows the page as DIGITS' image-segmentation
    view, with its ``colormap``."""
    state = server(request)
    fields, files = await read_form(request)
    job = model_job(request, fields)
    dataset = state.store.jobs.get(job['dataset_id'])
    epoch = epoch_field(fields)
    visualize = not wants_json(request) and (fields.get('show_visualizations') or '').lower() \
        not in ('', '0', 'false', 'n')
    extension_input = (await sunnybrook_input(state, dataset, fields, files)
                       if is_sunnybrook(dataset) else None)
    if extension_input is not None:
        picture, outputs, layers = await run_in_threadpool(
            infer_feature, state, job, epoch, extension_input[1], visualize)
    else:
        image = await read_image(state, fields, files)
        picture, outputs, layers = await run_in_threadpool(infer_image, state, job, epoch,
                                                           image, visualize)
    answer = {'outputs': {name: value.tolist() for name, value in outputs.items()}}
    if wants_json(request):
        if request.url.path.startswith('/models/images/generic/infer_extension'):
            # DIGITS' extension inference answers by inference-DB record key
            answer = {'outputs': {'%09d' % 0: {name: value[0].tolist()
                                                for name, value in outputs.items()}}}
        return JSONResponse(answer)
    return render(request, 'models/images/generic/infer_one.html', {
        'outputs': answer['outputs'],
        'visualizations': layers[0] if layers else None,
        'parameter_count': layers[1] if layers else None,
        'job_id': job['id'], 'name': job['name'],
        'segmentation': _segmentation(fields, dataset, picture, outputs),
        'image': _png_src(picture),
        'size': [picture.shape[1], picture.shape[0]],
        'boxes': boxes_of({name: value[0] for name, value in outputs.items()})})


async def infer_many(request):
    """{"outputs": {path: {name: blob of that image}}} of an image list
    (image_list, optional image_folder and num_test_images), with
    {"errors": {path: reason}} of the images that could not be read."""
    state = server(request)
    fields, files = await read_form(request)
    job = model_job(request, fields)
    paths, real, _ = await image_list_paths(request, state, fields, files)
    sources, unreadable = [], {}
    for path, source in zip(paths, real):
        try:
            sources.append(io.BytesIO(await run_in_threadpool(
                fetch_image, source, state.config.max_upload_bytes)) if is_url(source)
                else source)
        except HTTPException as e:
            unreadable[path], source = e.detail, None
            sources.append(source)
    readable = [i for i, s in enumerate(sources) if s is not None]
    kept, pictures, outputs, failed = await run_in_threadpool(
        infer_images, state, job, epoch_field(fields), [sources[i] for i in readable])
    names = [paths[readable[k]] for k in kept]
    unreadable.update({paths[readable[k]]: reason for k, reason in failed.items()})
    if wants_json(request):
        return JSONResponse({'outputs': _by_image(names, outputs), 'errors': unreadable})
    return _many_page(request, fields, job, names, pictures, outputs, unreadable)


def _by_image(names, outputs):
    """DIGITS' {name: {output: that image's blob}} of N images' outputs."""
    return {name: {output: value[n].tolist() for output, value in outputs.items()}
            for n, name in enumerate(names)}


def _segmentation(fields, dataset, picture, outputs, class_range=None):
    """The image-segmentation view of one picture's outputs ({name: (1,
    ...)}) when the request asks for it (``view_extension_id``; a
    Sunnybrook model's default), else None; ``class_range``: the first
    view's on a page of many, as DIGITS colours them all alike."""
    view = fields.get('view_extension_id') or (SEGMENTATION if is_sunnybrook(dataset) else '')
    if view != SEGMENTATION:
        return None
    return segmentation_page(dataset, picture, outputs, fields, class_range)


def _many_page(request, fields, job, names, pictures, outputs, errors):
    """The page of many images' outputs: each image's boxes, the first
    DRAWN images drawn with them (or, asked for, their image-segmentation
    views)."""
    dataset = server(request).store.jobs.get(job['dataset_id'])
    found = [boxes_of({output: value[n] for output, value in outputs.items()})
             for n in range(len(names))]
    views, class_range = [], None
    for n, picture in enumerate(pictures[:DRAWN]):
        view = _segmentation(fields, dataset, picture,
                             {output: value[n:n + 1] for output, value in outputs.items()},
                             class_range)
        views.append(view)
        class_range = view and view['class_range']
    return render(request, 'models/images/generic/infer_many.html', {
        'job_id': job['id'], 'name': job['name'], 'errors': errors,
        'results': [{'name': name, 'boxes': boxes,
                     'image': _png_src(picture) if n < DRAWN else None,
                     'segmentation': views[n] if n < DRAWN else None,
                     'size': [picture.shape[1], picture.shape[0]]}
                    for n, (name, picture, boxes) in enumerate(zip(names, pictures, found))]})


def _db_images(db_path, limit=None):
    """(keys, H x W x C pictures) of the images of an LMDB of Datums."""
    from ..codec import datum_to_array
    from ..lmdbs import open_readonly
    from ..proto import caffe_pb2
    keys, pictures = [], []
    # the process's one environment of this DB (a net of the server may hold it)
    with open_readonly(db_path).begin() as txn:
        for key, value in txn.cursor():
            datum = caffe_pb2.Datum()
            datum.ParseFromString(value)
            pixels = datum_to_array(datum)
            # Datums hold BGR: the classifier's load gives RGB as PIL reads it
            keys.append(key.decode('utf-8', 'replace'))
            pictures.append(np.ascontiguousarray(pixels[::-1].transpose(1, 2, 0)
                                                 if pixels.shape[0] == 3
                                                 else pixels.transpose(1, 2, 0)))
            if limit and len(keys) >= limit:
                break
    return keys, pictures


def infer_db_outputs(state, job, epoch, db_path):
    """(keys, pictures, {output: (N, ...) array}) of an LMDB's images."""
    keys, pictures = _db_images(db_path)
    if not pictures:
        raise HTTPException(400, 'DB "%s" holds no images' % db_path)
    loaded = loaded_classifier(state, job, epoch)
    with loaded.lock:
        # the entries are at the dataset's size already, as the net was trained on them
        outputs = _forward(loaded, pictures)
    return keys, pictures, outputs


async def infer_db(request):
    """{"outputs": {key: {name: blob of that entry}}} of the images of an
    LMDB (db_path: a folder under a data root or the jobs folder, e.g. a
    dataset job's val_db/features)."""
    state = server(request)
    fields, _ = await read_form(request)
    job = model_job(request, fields)
    db_path = (fields.get('db_path') or '').strip()
    if not db_path:
        raise HTTPException(400, 'db_path is a required field')
    db_path = resolve_server_path(db_path, state.config.data_roots + (os.path.realpath(state.store.jobs_dir),),
                                  'db_path')
    if not os.path.exists(db_path):
        raise HTTPException(400, 'DB "%s" does not exist' % db_path)
    keys, pictures, outputs = await run_in_threadpool(infer_db_outputs, state, job,
                                                      epoch_field(fields), db_path)
    if wants_json(request):
        return JSONResponse({'outputs': _by_image(keys, outputs)})
    return _many_page(request, fields, job, keys, pictures, outputs, {})
