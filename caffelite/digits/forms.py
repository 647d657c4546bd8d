"""DIGITS' dataset and model forms: field names, defaults and validation
(wtforms' messages), so that requests written for DIGITS' REST API work.

``parse(FIELDS, form)`` reads a mapping of field name -> string (missing
fields take their default) and returns (values, errors): ``values`` the
typed values, ``errors`` {field: [messages]} as DIGITS answers them with
HTTP 400. Checks that need the server (does a job or folder exist) are
left to the caller.
"""
import os

from ..errors import ParseError
from ..protoio import parse_text
from ..proto import caffe_pb2
from ..images import RESIZE_MODES
from . import networks, solver, split

REQUIRED = 'This field is required.'
# The dataset splits DIGITS' form can read from a folder of their own.
SEPARATE_SPLITS = ('val', 'test')


class Field:
    """One form field. ``kind``: 'str', 'int', 'float', 'bool', 'choice';
    ``multi``: a comma-separated list (DIGITS' MultiIntegerField...);
    ``required``: always, or a {field: value} condition."""

    def __init__(self, kind, default=None, choices=None, low=None, high=None,
                 required=False, multi=False, initial=None):
        self.kind, self.default, self.choices = kind, default, choices
        self.low, self.high, self.required, self.multi = low, high, required, multi
        # what a new form shows, when that is not what a missing field means
        # (a checkbox checked at first: unchecked, the browser sends nothing)
        self.initial = default if initial is None else initial

    def is_required(self, values):
        if isinstance(self.required, dict):
            return all(values.get(k) == v for k, v in self.required.items())
        return self.required

    def convert(self, text):
        """The typed value of one non-empty string (ValueError: bad value)."""
        if self.kind == 'int':
            try:
                # DIGITS' MultiIntegerField reads '10.0' as 10
                return int(float(text)) if self.multi else int(text)
            except ValueError:
                raise ValueError('Not a valid integer value.') from None
        if self.kind == 'float':
            try:
                return float(text)
            except ValueError:
                raise ValueError('Not a valid float value.') from None
        if self.kind == 'bool':
            return text.strip().lower() not in ('false', '0', 'off', 'n', 'no', '')
        if self.kind == 'choice' and text not in self.choices:
            raise ValueError('Not a valid choice')
        return text

    def check_range(self, value):
        if self.low is not None and value < self.low:
            if self.high is not None:
                raise ValueError('Number must be between %s and %s.' % (self.low, self.high))
            raise ValueError('Number must be at least %s.' % self.low)
        if self.high is not None and value > self.high:
            raise ValueError('Number must be between %s and %s.' % (self.low, self.high))


def _field_value(field, text):
    if text is None or not str(text).strip():
        return field.default
    # a list may come in brackets, '[0.01, 0.02]', as DIGITS' multi fields allow
    parts = str(text).replace('[', '').replace(']', '').split(',') if field.multi \
        else [str(text)]
    values = [field.convert(p.strip()) for p in parts]
    for v in values:
        if field.kind in ('int', 'float'):
            field.check_range(v)
    return values if field.multi else values[0]


def _field_text(value):
    """The form text a stored form value was parsed from."""
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (list, tuple)):
        return ','.join(str(v) for v in value)
    return str(value)


def clone_fields(values):
    """The form fields (strings) that make a job like the one whose parsed
    form ``values`` were stored: DIGITS' ``clone=<job id>`` on a create
    request refills its form from the job so."""
    fields = {name: _field_text(value) for name, value in values.items()
              if name != 'previous_snapshot'}
    if values.get('previous_networks'):
        fields['%s-snapshot' % values['previous_networks']] = str(values['previous_snapshot'])
    return fields


def parse(fields, form):
    """(values, errors) of ``form`` (a mapping) against ``fields``."""
    values, errors = {}, {}
    for name, field in fields.items():
        try:
            values[name] = _field_value(field, form.get(name))
        except ValueError as e:
            errors[name] = [str(e)]
            values[name] = field.default
    for name, field in fields.items():
        empty = values[name] is None or values[name] == '' or values[name] == []
        if name not in errors and empty and field.is_required(values):
            errors[name] = [REQUIRED]
    return values, errors


# --- the dataset form (ImageClassificationDatasetForm) ----------------------
# The seed of a dataset's shuffles, a field DIGITS lacks: blank (a new
# dataset) draws one, as DIGITS shuffles every new dataset differently; the
# job's form records it, so its JSON shows it and a clone repeats the split.
SEED_FIELD = Field('int', low=0, high=2 ** 31 - 1)
LOCAL_TEXTFILE = {'method': 'textfile', 'textfile_use_local_files': True}
TEXTFILE_SPLITS = ('train', 'val', 'test')
DATASET_FIELDS = {
    'dataset_name': Field('str', required=True),
    'group_name': Field('str', ''),
    'method': Field('choice', 'folder', ('folder', 'textfile', 'archive')),
    'folder_train': Field('str', required={'method': 'folder'}),
    'folder_pct_val': Field('int', 25, low=0, high=100),
    'folder_pct_test': Field('int', 0, low=0, high=100),
    'folder_train_min_per_class': Field('int', 2, low=1),
    'folder_train_max_per_class': Field('int', low=1),
    'has_val_folder': Field('bool', False),
    'folder_val': Field('str', required={'method': 'folder', 'has_val_folder': True}),
    'folder_val_min_per_class': Field('int', 2, low=1),
    'folder_val_max_per_class': Field('int', low=1),
    'has_test_folder': Field('bool', False),
    'folder_test': Field('str', required={'method': 'folder', 'has_test_folder': True}),
    'folder_test_min_per_class': Field('int', 2, low=1),
    'folder_test_max_per_class': Field('int', low=1),
    'encoding': Field('choice', 'png', ('none', 'png', 'jpg')),
    'resize_channels': Field('choice', '3', ('1', '3')),
    'resize_width': Field('int', 256, low=1, high=4096, required=True),
    'resize_height': Field('int', 256, low=1, high=4096, required=True),
    'resize_mode': Field('choice', 'squash', RESIZE_MODES),
    'backend': Field('choice', 'lmdb', ('lmdb', 'hdf5')),
    'compression': Field('choice', 'none', ('none', 'gzip')),
    # method=textfile: "path label" lists, uploaded (textfile_<split>_images,
    # textfile_labels_file: files, see TEXTFILE_UPLOADS) or server files
    'textfile_use_local_files': Field('bool', False),
    'textfile_local_train_images': Field('str', required=LOCAL_TEXTFILE),
    'textfile_train_folder': Field('str', ''),
    'textfile_use_val': Field('bool', False, initial=True),
    'textfile_local_val_images': Field('str', required=dict(LOCAL_TEXTFILE,
                                                            textfile_use_val=True)),
    'textfile_val_folder': Field('str', ''),
    'textfile_use_test': Field('bool', False),
    'textfile_local_test_images': Field('str', required=dict(LOCAL_TEXTFILE,
                                                             textfile_use_test=True)),
    'textfile_test_folder': Field('str', ''),
    'textfile_local_labels_file': Field('str', required=LOCAL_TEXTFILE),
    'textfile_shuffle': Field('choice', '1', ('1', '0')),
    'seed': SEED_FIELD,
}


def parse_dataset_form(form):
    """(values, errors) of a dataset creation request."""
    values, errors = parse(DATASET_FIELDS, form)
    # DIGITS' validate_backend: LMDB is never compressed, HDF5 holds raw pixels
    if values['backend'] == 'lmdb':
        values['compression'] = 'none'
    else:
        values['encoding'] = 'none'
    # a textfile dataset's lists give its splits: the percentages are unused
    percent = values['folder_pct_val'] + values['folder_pct_test']
    if values['method'] != 'textfile' and percent > 100:
        errors.setdefault('folder_pct_val', []).append(
            'The validation and test percentages add up to more than 100.')
    for split in SEPARATE_SPLITS:
        if values['has_%s_folder' % split] and values['method'] != 'folder':
            errors.setdefault('has_%s_folder' % split, []).append(
                'A separate %s folder is read on the server: use method=folder.' % split)
    for split in ('train',) + SEPARATE_SPLITS:
        low = values['folder_%s_min_per_class' % split]
        high = values['folder_%s_max_per_class' % split]
        if low is not None and high is not None and high < low:
            errors.setdefault('folder_%s_max_per_class' % split, []).append(
                'Field must be greater than folder_%s_min_per_class.' % split)
    return values, errors


def textfile_uploads(values):
    """{upload field: the file DIGITS saves it as in the job folder} that a
    textfile dataset form needs (none when its lists are server files)."""
    if values['method'] != 'textfile' or values['textfile_use_local_files']:
        return {}
    return dict({'textfile_%s_images' % split: '%s.txt' % split
                 for split in TEXTFILE_SPLITS if textfile_uses(values, split)},
                textfile_labels_file='labels.txt')


def textfile_uses(values, split):
    """Whether a textfile dataset form has a ``split`` list."""
    return split == 'train' or values['textfile_use_%s' % split]


def separate_folders(values):
    """{'val' / 'test': folder} of the splits a dataset form reads from
    their own folder (has_val_folder, has_test_folder)."""
    return {split: values['folder_' + split] for split in SEPARATE_SPLITS
            if values['has_%s_folder' % split]}


# --- the object-detection dataset form (GenericDatasetForm + the extension's) --
# DIGITS' data extension of object detection (KITTI labels)
OBJECT_DETECTION = 'image-object-detection'
DETECTION_DATASET_FIELDS = {
    'dataset_name': Field('str', required=True),
    'group_name': Field('str', ''),
    'dsopts_feature_encoding': Field('choice', 'png', ('none', 'png', 'jpg')),
    'dsopts_label_encoding': Field('choice', 'none', ('none', 'png', 'jpg')),
    'dsopts_batch_size': Field('int', 32, low=1),
    'dsopts_num_threads': Field('int', 4, low=1),
    'dsopts_backend': Field('choice', 'lmdb', ('lmdb',)),
    'dsopts_force_same_shape': Field('bool', True),
    'train_image_folder': Field('str', required=True),
    'train_label_folder': Field('str', required=True),
    'val_image_folder': Field('str', ''),
    'val_label_folder': Field('str', ''),
    'resize_image_width': Field('int', low=1),
    'resize_image_height': Field('int', low=1),
    'padding_image_width': Field('int', 1248, low=1),
    'padding_image_height': Field('int', 384, low=1),
    'channel_conversion': Field('choice', 'RGB', ('RGB', 'L', 'none')),
    'val_min_box_size': Field('int', 25, low=0),
    'custom_classes': Field('str', ''),
    'seed': SEED_FIELD,
}
# fields DIGITS requires when their partner is set (validate_required_if_set)
DETECTION_PAIRS = (('val_image_folder', 'val_label_folder'),
                   ('resize_image_width', 'resize_image_height'),
                   ('padding_image_width', 'padding_image_height'))


def parse_detection_dataset_form(form):
    """(values, errors) of an object-detection dataset creation request.
    An empty padding field means no padding (DIGITS' fields are optional)."""
    blank = [name for name in ('padding_image_width', 'padding_image_height')
             if name in form and not str(form[name]).strip()]
    values, errors = parse(DETECTION_DATASET_FIELDS, form)
    for name in blank:
        values[name] = None
    for pair in DETECTION_PAIRS:
        for name, other in (pair, pair[::-1]):
            if values[other] not in (None, '') and values[name] in (None, '') \
                    and name not in errors:
                errors[name] = [REQUIRED]
    return values, errors


# DIGITS' image-processing data extension (feature and label image folders)
IMAGE_PROCESSING = 'image-processing'
PROCESSING_DATASET_FIELDS = dict(
    {name: DETECTION_DATASET_FIELDS[name] for name in (
        'dataset_name', 'group_name', 'dsopts_feature_encoding', 'dsopts_label_encoding',
        'dsopts_batch_size', 'dsopts_num_threads', 'dsopts_backend',
        'dsopts_force_same_shape', 'seed')},
    feature_folder=Field('str', required=True),
    label_folder=Field('str', required=True),
    folder_pct_val=Field('int', 10, low=0, high=100),
    has_val_folder=Field('bool', False),
    validation_feature_folder=Field('str', required={'has_val_folder': True}),
    validation_label_folder=Field('str', required={'has_val_folder': True}),
    channel_conversion=Field('choice', 'none', ('RGB', 'L', 'none')))


def parse_processing_dataset_form(form):
    """(values, errors) of an image-processing dataset creation request."""
    return parse(PROCESSING_DATASET_FIELDS, form)


# DIGITS' Sunnybrook data plug-in (DICOM images and contour folders)
SUNNYBROOK = 'image-sunnybrook'
SUNNYBROOK_DATASET_FIELDS = dict(
    {name: PROCESSING_DATASET_FIELDS[name] for name in (
        'dataset_name', 'group_name', 'dsopts_label_encoding', 'dsopts_batch_size',
        'dsopts_num_threads', 'dsopts_backend', 'dsopts_force_same_shape', 'seed',
        'folder_pct_val')},
    # 16-bit images: raw by default (the walkthrough's setting)
    dsopts_feature_encoding=Field('choice', 'none', ('none', 'png', 'jpg')),
    image_folder=Field('str', required=True),
    contour_folder=Field('str', required=True),
    channel_conversion=Field('choice', 'L', ('RGB', 'L')))


def parse_sunnybrook_dataset_form(form):
    """(values, errors) of a Sunnybrook dataset creation request. Its
    images are 16-bit: PNG and JPEG features are refused (DIGITS'
    walkthrough sets the feature encoding to none, the default here)."""
    values, errors = parse(SUNNYBROOK_DATASET_FIELDS, form)
    if values['dsopts_feature_encoding'] != 'none' and 'dsopts_feature_encoding' not in errors:
        errors['dsopts_feature_encoding'] = [
            'The DICOM images are 16-bit: PNG and JPEG hold 8 bits; choose none.']
    return values, errors


def detection_sizes(values):
    """(padding, resize) of an object-detection form, each (width, height)
    or None."""
    def size(kind):
        width, height = (values['%s_image_%s' % (kind, d)] for d in ('width', 'height'))
        return None if width is None or height is None else (width, height)
    return size('padding'), size('resize')


# --- the generic image dataset form (GenericImageDatasetForm): prebuilt LMDBs --
# the form's database fields, as DIGITS names and titles them
PREBUILT_DBS = {'prebuilt_train_images': 'Training Images',
                'prebuilt_train_labels': 'Training Labels',
                'prebuilt_val_images': 'Validation Images',
                'prebuilt_val_labels': 'Validation Labels'}
PREBUILT_DATASET_FIELDS = {
    'dataset_name': Field('str', required=True),
    'group_name': Field('str', ''),
    'method': Field('choice', 'prebuilt', ('prebuilt',)),
    'prebuilt_train_images': Field('str', required=True),
    'prebuilt_train_labels': Field('str', ''),
    'prebuilt_val_images': Field('str', ''),
    'prebuilt_val_labels': Field('str', ''),
    'prebuilt_mean_file': Field('str', ''),
    # DIGITS' select of 1/0 (a checkbox would send nothing when unchecked)
    'force_same_shape': Field('bool', True),
}


def parse_prebuilt_dataset_form(form):
    """(values, errors) of a generic image dataset creation request: the
    LMDB folders and mean file it names (paths stripped; existence is the
    caller's check). Validation labels without validation images are an
    error, as DIGITS only reads them with the images."""
    values, errors = parse(PREBUILT_DATASET_FIELDS, form)
    for name in list(PREBUILT_DBS) + ['prebuilt_mean_file']:
        values[name] = (values[name] or '').strip()
    if values['prebuilt_val_labels'] and not values['prebuilt_val_images']:
        errors.setdefault('prebuilt_val_images', []).append(
            'Validation Labels need Validation Images.')
    return values, errors


# --- the model form (ImageClassificationModelForm) ---------------------------
MODEL_FIELDS = {
    'model_name': Field('str', required=True),
    'group_name': Field('str', ''),
    'dataset': Field('str', required=True),
    'framework': Field('choice', 'caffe', ('caffe',)),
    'method': Field('choice', 'standard', ('standard', 'previous', 'pretrained', 'custom')),
    'standard_networks': Field('choice', None, networks.STANDARD_NETWORKS,
                               required={'method': 'standard'}),
    'previous_networks': Field('str', required={'method': 'previous'}),
    'pretrained_networks': Field('str', required={'method': 'pretrained'}),
    'custom_network': Field('str', required={'method': 'custom'}),
    'custom_network_snapshot': Field('str', ''),
    'train_epochs': Field('int', 30, low=1),
    'snapshot_interval': Field('float', 1.0, low=0),
    'val_interval': Field('float', 1.0, low=0),
    'random_seed': Field('int', low=0),
    'batch_size': Field('int', [None], low=1, multi=True),
    'batch_accumulation': Field('int', low=1),
    'solver_type': Field('choice', 'SGD', tuple(solver.SOLVER_TYPES)),
    'rms_decay': Field('float', 0.99, low=0),
    'learning_rate': Field('float', [0.01], low=0, multi=True),
    'lr_policy': Field('choice', 'step', solver.LR_POLICIES),
    'lr_step_size': Field('float', 33.0),
    'lr_step_gamma': Field('float', 0.1),
    'lr_multistep_values': Field('str', '50,85'),
    'lr_multistep_gamma': Field('float', 0.5),
    'lr_exp_gamma': Field('float', 0.95),
    'lr_inv_gamma': Field('float', 0.1),
    'lr_inv_power': Field('float', 0.5),
    'lr_poly_power': Field('float', 3.0),
    'lr_sigmoid_step': Field('float', 50.0),
    'lr_sigmoid_gamma': Field('float', 0.1),
    'crop_size': Field('int', low=1),
    'use_mean': Field('choice', 'image', split.USE_MEAN),
    'select_gpu': Field('str', 'next'),
    # a Python layer module for the network: uploaded (python_layer_client_file)
    # or a server file; the job folder gets it as digits_python_layers.py
    'python_layer_from_client': Field('bool', False),
    'python_layer_server_file': Field('str', ''),
}
# The form fields of each lr policy, by the solver's names for them.
POLICY_FIELDS = {
    'step': {'stepsize': 'lr_step_size', 'gamma': 'lr_step_gamma'},
    'multistep': {'stepvalue': 'lr_multistep_values', 'gamma': 'lr_multistep_gamma'},
    'exp': {'gamma': 'lr_exp_gamma'},
    'inv': {'gamma': 'lr_inv_gamma', 'power': 'lr_inv_power'},
    'poly': {'power': 'lr_poly_power'},
    'sigmoid': {'stepsize': 'lr_sigmoid_step', 'gamma': 'lr_sigmoid_gamma'},
    'fixed': {},
}


def parse_network_text(text):
    """A NetParameter from prototxt text; ParseError names line:column."""
    return parse_text(text, caffe_pb2.NetParameter(), path='custom_network')


def parse_model_form(form):
    """(values, errors) of a model creation request; the snapshot epoch of
    a previous network comes in the field ``<job id>-snapshot``."""
    values, errors = parse(MODEL_FIELDS, form)
    if values['lr_policy'] == 'multistep':
        try:
            [float(v) for v in values['lr_multistep_values'].split(',')]
        except ValueError:
            errors['lr_multistep_values'] = ['invalid value']
    if values['method'] == 'custom' and values['custom_network'] and \
            'custom_network' not in errors:
        try:
            parse_network_text(values['custom_network'])
        except ParseError as e:
            errors['custom_network'] = ['Bad network: %s' % e]
    previous = values['previous_networks']
    values['previous_snapshot'] = 0.0
    if values['method'] == 'previous' and previous:
        try:
            values['previous_snapshot'] = float(form.get('%s-snapshot' % previous) or 0)
        except ValueError:
            errors['%s-snapshot' % previous] = ['Not a valid float value.']
    return values, errors


def lr_policy(values):
    """The solver's lr policy dict ({'policy': name, field: value}) of a form."""
    name = values['lr_policy']
    return dict({key: values[field] for key, field in POLICY_FIELDS[name].items()},
                policy=name)


def sweep(values):
    """One (values, name suffix) per job of a model form whose learning
    rate and batch size may be comma lists, as DIGITS names them."""
    jobs = []
    rates, batches = values['learning_rate'], values['batch_size']
    for batch in batches:
        for rate in rates:
            suffix = ''
            if len(rates) > 1:
                suffix += ' learning_rate:%s' % rate
            if len(batches) > 1:
                suffix += ' batch_size:%d' % batch
            jobs.append((dict(values, learning_rate=rate, batch_size=batch), suffix))
    return jobs


def pretrained_paths(values):
    """The custom network's pretrained model paths (``os.pathsep`` list)."""
    return [p for p in values['custom_network_snapshot'].strip().split(os.pathsep) if p]
