"""What the routes that run a model job take from a request and do with
it: the job, the snapshot epoch, the image, the job's loaded classifier,
and the classification of one image or of a list; shared by the JSON API
(views_models) and the test pages (layer_views)."""
import io

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from ..digits import image_urls
from ..digits.image_urls import is_url
from ..errors import CaffeError
from .security import resolve_server_path
from .views_jobs import get_job, server
from .web import job_id_from, read_form

MAX_CLASSIFY_PIXELS = 64 << 20


def model_job(request, fields):
    """The model job named by the form's ``job_id`` or the route."""
    return get_job(request, job_id_from(request, fields), 'model')


def epoch_field(fields, name='snapshot_epoch'):
    """The snapshot epoch a form names (None: the newest)."""
    text = (fields.get(name) or '').strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise HTTPException(400, '%s must be a number, not %r' % (name, text)) from None


def loaded_classifier(state, job, epoch):
    """The job's LoadedClassifier at ``epoch``; 400 when it has no such
    snapshot."""
    try:
        return state.classifiers.get(job, epoch)
    except CaffeError as e:
        raise HTTPException(400, str(e)) from None


def fetch_image(url, max_bytes):
    """The bytes at an http(s) ``url`` (DIGITS' "Image URL"), at most
    ``max_bytes`` (the upload limit); HTTPException 400 naming the URL when
    they cannot be had."""
    try:
        return image_urls.fetch(url, max_bytes)
    except CaffeError as e:
        raise HTTPException(400, str(e)) from None


def image_source(state, fields, files):
    """The image of a classify request: an upload (a file object), or an
    http(s) URL or a checked server path (a string)."""
    if fields.get('image_path'):
        path = fields['image_path'].strip()
        if is_url(path):
            return path
        return resolve_server_path(path, state.config.data_roots, 'image_path')
    if 'image_file' in files:
        return files['image_file']
    raise HTTPException(400, 'must provide image_path or image_file')


async def read_image(state, fields, files):
    """The image of a request (image_path or image_file): a checked server
    path, or a BytesIO of an upload or of a fetched URL."""
    image = image_source(state, fields, files)
    if not isinstance(image, str):
        return io.BytesIO(await image.read())
    if is_url(image):
        return io.BytesIO(await run_in_threadpool(fetch_image, image,
                                                  state.config.max_upload_bytes))
    return image


async def read_classify_one(request):
    """(state, form fields, job, image path or BytesIO, epoch) of a
    classify_one request."""
    state = server(request)
    fields, files = await read_form(request)
    job = model_job(request, fields)
    return state, fields, job, await read_image(state, fields, files), epoch_field(fields)


def percent_top(classifier, scores, k=5):
    """DIGITS' [[label, percent rounded to 2 decimals]] of the best ``k``."""
    return [[label, round(100.0 * p, 2)] for label, p in classifier.top(scores, k)]


def _check_size(image):
    from PIL import Image
    try:
        with Image.open(image) as probe:
            if probe.width * probe.height > MAX_CLASSIFY_PIXELS:
                raise HTTPException(400, 'the image has %dx%d pixels, more than the %d allowed'
                                    % (probe.width, probe.height, MAX_CLASSIFY_PIXELS))
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        # PIL names an upload by the repr of its buffer ('<_io.BytesIO object
        # at 0x...>'); say 'the upload' instead (a path stays named)
        message = str(e) if isinstance(image, str) else str(e).replace(repr(image), 'the upload')
        raise HTTPException(400, 'cannot read the image: %s' % message) from None
    if hasattr(image, 'seek'):
        image.seek(0)


def with_picture(state, job, epoch, image, use):
    """``use(loaded classifier, picture)`` for one image (a path or a file
    object, checked for size) loaded at the dataset's size, the classifier
    held for the call."""
    _check_size(image)
    loaded = loaded_classifier(state, job, epoch)
    with loaded.lock:
        try:
            picture = loaded.classifier.load(image)
        except CaffeError as e:
            raise HTTPException(400, str(e)) from None
        return use(loaded, picture)


def classify_image(state, job, epoch, image):
    """The top 5 [[label, percent]] of one image (a path or a file object)."""
    return with_picture(state, job, epoch, image, lambda loaded, picture: percent_top(
        loaded.classifier, loaded.classifier.probabilities([picture])[0]))


def classify_images(state, job, epoch, paths, batch_size=16):
    """(classifier, scores (N, classes) of the N readable images, their
    indices in ``paths``, {path: reason} of the others). A path may be an
    http(s) URL, fetched first."""
    failed, sources = {}, {}
    for i, path in enumerate(paths):
        try:
            sources[i] = (io.BytesIO(fetch_image(path, state.config.max_upload_bytes))
                          if is_url(path) else path)
        except HTTPException as e:
            failed[path] = e.detail
    readable = sorted(sources)
    loaded = loaded_classifier(state, job, epoch)
    with loaded.lock:
        results = list(loaded.classifier.each([sources[i] for i in readable], batch_size))
    kept = [readable[k] for k, (_, scores, _) in enumerate(results) if scores is not None]
    scores = np.array([r[1] for r in results if r[1] is not None]).reshape(
        len(kept), -1 if kept else len(loaded.classifier.labels))
    # a fetched image's reason names its URL, not the buffer it was read from
    failed.update({paths[readable[k]]: reason.replace(repr(source), paths[readable[k]])
                   for k, (source, _, reason) in enumerate(results) if reason})
    return loaded.classifier, scores, kept, failed
