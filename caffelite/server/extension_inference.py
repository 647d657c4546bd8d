"""Inference inputs of data extensions and the image-segmentation view.

DIGITS' Sunnybrook plug-in has an inference form of its own: an image file
(a DICOM path on the server) or a record of the validation set (its index
among the validation contours, listed by case). Its model is fed the
feature as the plug-in makes it, the raw 16-bit pixels (three copies for
'RGB'), at its own size, as DIGITS' extension inference does: an image of
another size than the net input's is not resized, the net is reshaped to it
(:func:`own_size_outputs`). caffelite takes these fields on ``infer_one``
(and DIGITS' ``infer_extension`` route), and a DICOM upload or
``image_path`` too.
"""
import io
import os

import numpy as np
from starlette.exceptions import HTTPException

from ..digits import processing, segmentation, sunnybrook
from ..digits.forms import SUNNYBROOK
from ..errors import CaffeError
from .gallery import data_uri
from .security import resolve_server_path

NO_RECORD = ('', 'none')


def is_sunnybrook(dataset):
    return bool(dataset) and dataset.get('extension_id') == SUNNYBROOK


def validation_pairs(dataset):
    """The (DICOM image, contour file) pairs of a Sunnybrook dataset's
    validation set, in the order its validation DB holds them."""
    form = dataset['form']
    pairs = sunnybrook.contour_pairs(form['image_folder'], form['contour_folder'])
    return processing.split_pairs(pairs, form['folder_pct_val'], form['seed'])['val']


def validation_records(dataset):
    """[(index, 'case (image file)')] of the validation records a
    Sunnybrook model can be tested on (empty when the folders are gone)."""
    try:
        pairs = validation_pairs(dataset)
    except CaffeError:
        return []
    return [(i, '%s (%s)' % (sunnybrook.case_name(image.split(os.sep)[-2]),
                             os.path.basename(image)))
            for i, (image, _) in enumerate(pairs)]


def _record(dataset, text):
    try:
        index = int(text)
        return validation_pairs(dataset)[index][0]
    except (ValueError, IndexError):
        raise HTTPException(400, 'validation_record %r is not a record of the validation set'
                            % text) from None
    except CaffeError as e:
        raise HTTPException(400, str(e)) from None


async def sunnybrook_input(state, dataset, fields, files):
    """(name, H x W x C feature) of a Sunnybrook model's inference request
    (validation_record, or a DICOM file: test_image_file / image_path on
    the server or an image_file upload), or None when the request names an
    ordinary image (tested as any generic model's)."""
    record = (fields.get('validation_record') or '').strip()
    path = (fields.get('test_image_file') or fields.get('image_path') or '').strip()
    upload = files.get('image_file')
    if record not in NO_RECORD:
        if path or upload is not None:
            raise HTTPException(400, 'Specify either an image or a record from the '
                                     'validation set.')
        source = name = _record(dataset, record)
    elif path:
        source = name = resolve_server_path(path, state.config.data_roots, 'image_path')
        with open(source, 'rb') as f:
            if not sunnybrook.is_dicom(f.read(132)) and not path.lower().endswith('.dcm'):
                return None
    elif upload is not None:
        data = await upload.read()
        await upload.seek(0)
        name = upload.filename or 'the upload'
        if not sunnybrook.is_dicom(data[:132]) and not name.lower().endswith('.dcm'):
            return None
        source = io.BytesIO(data)
    else:
        raise HTTPException(400, 'must provide image_path, image_file or validation_record')
    try:
        pixels = sunnybrook.read_dicom(source, name)
    except CaffeError as e:
        raise HTTPException(400, str(e)) from None
    feature = sunnybrook.feature(pixels, dataset['form']['channel_conversion'])
    return name, feature.reshape(feature.shape[:2] + (-1,))


def own_size_outputs(classifier, feature):
    """{output: (1, ...) array} of an H x W x C feature through a
    JobClassifier's net reshaped to H x W (DIGITS' extension inference);
    a 400 naming the layer of a net that cannot take that size (an
    InnerProduct after the convolutions)."""
    try:
        return classifier.outputs([feature], resize=False)
    except CaffeError as e:
        raise HTTPException(400, 'the net cannot take the %d x %d image at its own size (the '
                                 'net is reshaped to it, as DIGITS does): %s'
                            % (feature.shape[0], feature.shape[1], e)) from None


def segmentation_page(dataset, picture, outputs, fields, class_range=None):
    """The image-segmentation view of one inference for the page: the
    input as DIGITS shows it, a PNG whose red is each pixel's class and
    green its segment value (:func:`.segmentation.segment_values`; the page
    colours it), the class colours, legend, size, the request's
    ``colormap`` and display options (DIGITS' names and defaults), and the
    class range the colours were normalised over (``class_range``, for
    the next images of a page of many). ``outputs``: {name: (1, C, H, W)},
    the first is shown."""
    palette = labels = None
    if is_sunnybrook(dataset):
        palette, labels = segmentation.SUNNYBROOK_PALETTE, segmentation.SUNNYBROOK_LABELS
    scores = next(iter(outputs.values()))[0]
    colormap = fields.get('colormap') or 'dataset'
    try:
        options = segmentation.display_options(fields)
        view = segmentation.segmentation_view(scores, colormap, palette, labels, class_range)
    except CaffeError as e:
        raise HTTPException(400, str(e)) from None
    classes = view['classes']
    layers = np.stack([classes, view['segment'], np.zeros_like(classes)], axis=2)
    return {'image': data_uri(segmentation.display_image(picture)), 'classes': data_uri(layers),
            'size': [classes.shape[1], classes.shape[0]], 'colours': view['colours'],
            'legend': view['legend'], 'is_binary': view['is_binary'], 'colormap': colormap,
            'options': options, 'limits': segmentation.OPTIONS, 'class_range': view['class_range'],
            'requested': [name for name in options if (fields.get(name) or '').strip()]}
