"""Checks and previews the forms ask for before a job is made:

* the resize preview of DIGITS' dataset form (an image in each resize
  mode at the chosen size and encoding);
* a look at the chosen image folder (its classes, images per class, images
  that cannot be read);
* a custom network's parse and shape check, the error placed at its line.
"""
import os
import re

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, JSONResponse

from ..digits import forms
from ..digits.image_urls import is_url
from ..errors import CaffeError, ParseError
from ..net import TEST, TRAIN, Net
from .. import images, protoio
from ..tools.dataset import scan_folder
from . import jobs, models
from .gallery import data_uri
from .page_data import size_text
from .security import resolve_server_path
from .views_jobs import server
from .web import FormErrors, read_form, wants_json

# Images whose headers the folder check reads (beyond: counted, not read).
CHECK_IMAGES = 2000
MAX_PREVIEW_SIDE = 1024
LAYER_IN_MESSAGE = re.compile(r"layer '([^']+)'")


def example_picture():
    """DIGITS' resize preview shows one wide picture: ours is drawn here, a
    3:2 landscape (sky, sun, hill, house) whose shapes show what each resize
    mode keeps, stretches or pads."""
    h, w = 160, 240
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    picture = np.empty((h, w, 3), np.float32)
    picture[...] = (70 + 80 * y / h)[:, :, None] * [0.6, 0.8, 1.4]
    hill = y > 110 - 25 * np.sin(x / w * np.pi)
    picture[hill] = [60, 140, 60]
    picture[(x - 50) ** 2 + (y - 40) ** 2 < 22 ** 2] = [250, 200, 40]
    picture[(x > 160) & (x < 210) & (y > 70) & (y < 115)] = [170, 60, 50]
    return np.clip(picture, 0, 255).astype(np.uint8)


def first_image(folder):
    """The path of the first image of the first class of an image folder."""
    _, items = scan_folder(folder)
    return items[0].path


def _preview_source(state, fields):
    """(pixels of the picture to preview, its name): the first image of the
    chosen folder when it can be read, else the example picture."""
    folder = (fields.get('folder_train') or '').strip()
    if folder and state.config.data_roots:
        try:
            path = first_image(resolve_server_path(folder, state.config.data_roots))
            return images.read_like_digits(path, True), os.path.basename(path)
        except (HTTPException, CaffeError):
            pass
    return example_picture(), 'example picture'


def _field(fields, names, kind, default):
    for name in names:
        text = (fields.get(name) or '').strip()
        if text:
            try:
                return kind(text)
            except ValueError:
                raise HTTPException(400, '%s must be a number, not %r' % (name, text)) from None
    return default


def resized_example(pixels, width, height, channels, mode, encoding):
    """(data URI, size in bytes as stored) of ``pixels`` resized like DIGITS."""
    if channels == 1 and pixels.ndim == 3:
        from PIL import Image
        pixels = np.asarray(Image.fromarray(pixels).convert('L'))
    picture = images.resize_like_digits(pixels, height, width, mode,
                                        np.random.RandomState(0))
    if encoding in ('png', 'jpg'):
        stored = len(images.encode(picture, encoding, **({'quality': 90} if encoding == 'jpg'
                                                         else {})))
    else:
        stored = picture.size
    return data_uri(picture), stored


async def resize_example(request):
    """POST /datasets/images/resize-example (DIGITS' fields width, height,
    channels, resize_mode, encoding): DIGITS answers an <img> of the picture
    in ``resize_mode``; the .json route answers every mode:
    {"source", "examples": [{"resize_mode", "src", "size"}]}."""
    state = server(request)
    fields, _ = await read_form(request)
    width = _field(fields, ('width', 'resize_width'), int, 256)
    height = _field(fields, ('height', 'resize_height'), int, 256)
    if not (0 < width <= MAX_PREVIEW_SIDE and 0 < height <= MAX_PREVIEW_SIDE):
        raise HTTPException(400, 'width and height must be between 1 and %d'
                            % MAX_PREVIEW_SIDE)
    channels = _field(fields, ('channels', 'resize_channels'), int, 3)
    encoding = fields.get('encoding') or 'png'
    pixels, source = await run_in_threadpool(_preview_source, state, fields)
    modes = images.RESIZE_MODES if wants_json(request) else [fields.get('resize_mode',
                                                                         'squash')]
    if any(mode not in images.RESIZE_MODES for mode in modes):
        raise HTTPException(400, 'resize_mode must be one of %s'
                            % ', '.join(images.RESIZE_MODES))
    examples = []
    for mode in modes:
        src, stored = await run_in_threadpool(resized_example, pixels, width, height,
                                              channels, mode, encoding)
        examples.append({'resize_mode': mode, 'src': src, 'size': stored})
    if wants_json(request):
        return JSONResponse({'source': source, 'examples': examples})
    return HTMLResponse('<img src="%s" width="%d" height="%d" alt="%s resized (%s)">\n<br>\n'
                        '<i>Image size: %s</i>' % (examples[0]['src'], width, height, source,
                                                   modes[0], size_text(examples[0]['size'])))


def unreadable_images(paths):
    """[path] of the image files among ``paths`` that Pillow cannot open
    (their headers and chunks are read, not their pixels)."""
    from PIL import Image
    bad = []
    for path in paths:
        try:
            with Image.open(path) as img:
                img.verify()
        except Exception:  # any failure of a decoder means the file is unreadable
            bad.append(path)
    return bad


def folder_summary(folder, min_per_class):
    """{'folder', 'classes': [{'name', 'images'}], 'image_count',
    'unreadable': [paths], 'checked'} of an image folder or folder URL (whose
    images are counted from its listing, not fetched: none checked);
    FormErrors when it cannot make a classification dataset."""
    url = is_url(folder)
    if not url and not os.path.isdir(folder):
        raise FormErrors({'folder_train': ['Folder does not exist: %s' % folder]})
    try:
        classes, items = scan_folder(folder)
    except CaffeError as e:
        raise FormErrors({'folder_train': [str(e)]}) from None
    counts = np.bincount([item.label for item in items], minlength=len(classes))
    usable = int((counts >= min_per_class).sum())
    if usable < 2:
        raise FormErrors({'folder_train': [
            '%s has %d class folder(s) with at least %d image(s); a classification dataset '
            'needs 2 or more (one sub-folder of images per class)'
            % (folder, usable, min_per_class)]})
    checked = [] if url else [item.path for item in items[:CHECK_IMAGES]]
    return {'folder': folder, 'image_count': len(items), 'checked': len(checked),
            'classes': [{'name': name, 'images': int(n)} for name, n in zip(classes, counts)],
            'unreadable': unreadable_images(checked)}


async def check_folder(request):
    """POST .../check-folder.json (folder_train, folder_train_min_per_class):
    what a dataset of that folder would hold, or why it cannot be made."""
    state = server(request)
    fields, _ = await read_form(request)
    values, errors = forms.parse(forms.DATASET_FIELDS, fields)
    if not values['folder_train']:
        errors['folder_train'] = [forms.REQUIRED]
    errors = {k: v for k, v in errors.items()
              if k in ('folder_train', 'folder_train_min_per_class')}
    if errors:
        raise FormErrors(errors)
    folder = values['folder_train']
    if not is_url(folder):
        folder = resolve_server_path(folder, state.config.data_roots, 'folder_train')
    summary = await run_in_threadpool(folder_summary, folder,
                                      values['folder_train_min_per_class'])
    return JSONResponse(summary)


def build_nets(network, dataset_job, dataset_dir, crop_size, use_mean):
    """Split ``network`` for the dataset and build its train, val and
    deploy nets at batch size 1, which raises the shape errors training
    would meet. Returns (deploy Net, its parameter count)."""
    cut = models.split_network(network, dataset_job, dataset_dir, 1, crop_size, use_mean)
    Net(cut.train_val, TRAIN)
    if cut.val_batch:
        Net(cut.train_val, TEST)
    deploy = Net(cut.deploy, TEST)
    count = sum(b.count for blobs in deploy.params.values() for b in blobs)
    return deploy, count


def _network_error(text, error):
    """The JSON answer of a network that fails: DIGITS' form error on
    custom_network, with the line (and column) at fault."""
    line = getattr(error, 'line', None)
    column = getattr(error, 'column', None)
    if line is None:
        name = getattr(error, 'layer_name', None)
        match = LAYER_IN_MESSAGE.search(str(error))
        name = name or (match.group(1) if match else None)
        line = protoio.layer_line(text, name) if name else None
    return JSONResponse({'errors': {'custom_network': ['Bad network: %s' % error]},
                         'line': line, 'column': column}, 400)


async def check_network(request):
    """POST .../check-network.json (custom_network, and the dataset,
    crop_size and use_mean of the form): parses the prototxt and, with a
    finished dataset, splits it and builds its nets, so that a parse or
    shape error shows at its line before a job is made. Answers {"layers",
    "parameters"} or 400 {"errors": {"custom_network": [...]}, "line",
    "column"}."""
    state = server(request)
    fields, _ = await read_form(request)
    text = fields.get('custom_network') or ''
    if not text.strip():
        raise FormErrors({'custom_network': [forms.REQUIRED]})
    try:
        network = forms.parse_network_text(text)
    except ParseError as e:
        return _network_error(text, e)
    answer = {'layers': len(network.layer) + len(network.layers), 'parameters': None}
    values, _ = forms.parse(forms.MODEL_FIELDS, fields)
    dataset = state.store.jobs.get(values['dataset'] or '')
    if dataset is None or dataset['type'] != 'dataset' or dataset['status'] != jobs.DONE:
        answer['checked'] = 'parsed only: pick a finished dataset to check the shapes'
        return JSONResponse(answer)
    try:
        _, answer['parameters'] = await run_in_threadpool(
            build_nets, network, dataset, state.store.path(dataset['id']),
            values['crop_size'], values['use_mean'])
    except CaffeError as e:
        return _network_error(text, e)
    answer['checked'] = 'shapes checked against dataset %s' % dataset['name']
    return JSONResponse(answer)
