"""What each page shows beyond the data of its JSON answer: one function
per template, ``(request, data) -> extra template context``."""
import collections
import os
import time

from ..digits import forms, networks
from ..digits.solver import LR_POLICIES, SOLVER_TYPES
from ..images import RESIZE_MODES
from ..tools.dataset import SPLITS
from . import dataset_kinds, datasets, extension_inference, gallery, jobs, models
from .security import resolve_server_path
from .views_jobs import server

# Dataset log files, in the order they are written.
DATASET_LOGS = ('parse_folder.log',) + tuple('create_%s_db.log' % s for s in SPLITS)
LOG_TAIL_LINES = 400
GALLERY_PREVIEW = 12
# How much of the data roots the dataset form looks through for image folders.
FOLDER_SCAN_ENTRIES = 20000
FOLDER_SCAN_DEPTH = 3
FOLDER_CHOICES = 100
NETWORK_NOTES = {'lenet': 'LeNet (1998): 28x28 gray digits, 2 conv + 2 fc layers',
                 'alexnet': 'AlexNet (2012): 256x256 color images, crop 227, 8 layers',
                 'googlenet': 'GoogLeNet (2014): Inception modules, 22 layers, crop 224'}
# Fields of the New model form that links may preset (?dataset=ID...).
PRESET_FIELDS = ('dataset', 'method', 'pretrained_networks', 'previous_networks')
# What the New model form shows of the chosen dataset.
DATASET_FACTS = ('name', 'status', 'image_dims', 'resize_mode', 'counts', 'labels')
POLICY_LABELS = {'lr_step_size': 'Step size (% of training)', 'lr_step_gamma': 'Gamma',
                 'lr_multistep_values': 'Step values (% of training, comma separated)',
                 'lr_multistep_gamma': 'Gamma', 'lr_exp_gamma': 'Gamma', 'lr_inv_gamma': 'Gamma',
                 'lr_inv_power': 'Power', 'lr_poly_power': 'Power',
                 'lr_sigmoid_step': 'Step (% of training)', 'lr_sigmoid_gamma': 'Gamma'}
# Summary of a job for pickers and links.
JobRef = collections.namedtuple('JobRef', 'id name status')


def _ref(job):
    return JobRef(job['id'], job['name'], job['status'])


def size_text(n):
    """``n`` bytes as DIGITS shows sizes (B, KB, MB, GB)."""
    for unit in ('B', 'KB', 'MB', 'GB'):
        if n < 1024 or unit == 'GB':
            return ('%d %s' if unit == 'B' else '%.1f %s') % (n, unit)
        n /= 1024.0


def duration_text(seconds):
    """Seconds as '42 s', '3 min 5 s' or '2 h 7 min' (blank when unknown)."""
    if seconds is None:
        return ''
    s = int(round(seconds))
    if s < 60:
        return '%d s' % s
    if s < 3600:
        return '%d min %d s' % divmod(s, 60)
    return '%d h %d min' % (s // 3600, s % 3600 // 60)


def form_value(value):
    """A form value as its input shows it: blank for None, a comma list for
    the fields that take several values (batch size, learning rate)."""
    if isinstance(value, (list, tuple)):
        return ','.join(form_value(v) for v in value if v is not None)
    return '' if value is None else '%s' % (value,)


def time_text(unix_time):
    """A unix time as local 'YYYY-MM-DD HH:MM:SS'."""
    return time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(unix_time))


def job_files(folder):
    """[(name, size text)] of the files of a job folder, and its total size."""
    found, total = [], 0
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.startswith('.'):
            continue
        if entry.is_file():
            size = entry.stat().st_size
            found.append((entry.name, size_text(size)))
            total += size
        elif entry.is_dir():
            total += sum(os.path.getsize(os.path.join(root, f))
                         for root, _, files in os.walk(entry.path) for f in files)
    return found, size_text(total)


def log_tail(path, lines=LOG_TAIL_LINES):
    """The last ``lines`` lines of a text file (all of it when shorter)."""
    with open(path, encoding='utf-8', errors='replace') as f:
        return ''.join(collections.deque(f, lines))


def image_folders(roots):
    """Folders under the data roots that hold two or more sub-folders (the
    likely class folders of a dataset), found breadth first within a bounded
    number of directory entries, so that the form stays fast on big trees."""
    queue = collections.deque((root, 0) for root in roots)
    found, seen = [], 0
    while queue and seen < FOLDER_SCAN_ENTRIES and len(found) < FOLDER_CHOICES:
        folder, depth = queue.popleft()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        seen += len(entries)
        subfolders = [e.path for e in entries
                      if not e.name.startswith('.') and e.is_dir()]
        if len(subfolders) >= 2:
            found.append(folder)
        if depth < FOLDER_SCAN_DEPTH:
            queue.extend((f, depth + 1) for f in subfolders)
    return found


def _choices(fields, name):
    return fields[name].choices


# --- one function per template -------------------------------------------
# DIGITS' home tabs by number (?tab=), and the list routes that open one
HOME_TABS = {'1': 1, '2': 2, '3': 3}


def home(request, data):
    state = server(request)
    return {'tab': HOME_TABS.get(request.query_params.get('tab'), 1),'dataset_names': {j['id']: j['name'] for j in state.store.list('dataset')},
            'created': {j['id']: j['created'] for j in state.store.list()},
            'resize_modes': RESIZE_MODES}


def dataset_form(request, data):
    roots = server(request).config.data_roots
    return {'data_roots': roots, 'folders': image_folders(roots),
            'resize_modes': RESIZE_MODES,
            'encodings': _choices(forms.DATASET_FIELDS, 'encoding')}


def dataset_logs(folder):
    """[(name, tail)] of a dataset job's log files, in writing order."""
    return [(name, log_tail(os.path.join(folder, name))) for name in DATASET_LOGS
            if os.path.isfile(os.path.join(folder, name))]


def dataset_page(request, data):
    state = server(request)
    job = state.store.get(data['id'])
    folder = state.store.path(job['id'])
    logs = dataset_logs(folder)
    skipped = [line.split('] Skipped ', 1)[1].strip() for _, text in logs
               for line in text.splitlines() if '] Skipped ' in line]
    labels = (datasets.read_labels(folder)
              if os.path.isfile(os.path.join(folder, datasets.LABELS_FILE)) else [])
    previews = {}
    if job['status'] == jobs.DONE:
        for split in SPLITS:
            db = os.path.join(folder, split + '_db')
            if os.path.isdir(db):
                previews[split] = gallery.db_page(db, 0, GALLERY_PREVIEW)
    return {'labels': labels, 'logs': logs, 'skipped': skipped, 'previews': previews,
            'created': job['created'], 'status_history': job['status_history'],
            'has_mean': os.path.isfile(os.path.join(folder, datasets.MEAN_IMAGE)),
            'used_by': [_ref(j) for j in state.store.dependents(job['id'])]}


# The folder fields of the object-detection dataset form, with their titles.
DETECTION_FOLDERS = (('train_image_folder', 'Training image folder'),
                     ('train_label_folder', 'Training label folder'),
                     ('val_image_folder', 'Validation image folder'),
                     ('val_label_folder', 'Validation label folder'))


# The folder fields of the image-processing dataset form, with their titles.
PROCESSING_FOLDERS = (('feature_folder', 'Feature image folder'),
                      ('label_folder', 'Label image folder'),
                      ('validation_feature_folder', 'Validation feature image folder'),
                      ('validation_label_folder', 'Validation label image folder'))


# The folder fields of the Sunnybrook dataset form, with their titles.
SUNNYBROOK_FOLDERS = (('image_folder', 'Image folder'), ('contour_folder', 'Contour folder'))
# each data extension's folder fields
EXTENSION_FOLDERS = {forms.OBJECT_DETECTION: DETECTION_FOLDERS,
                     forms.IMAGE_PROCESSING: PROCESSING_FOLDERS,
                     forms.SUNNYBROOK: SUNNYBROOK_FOLDERS}


def detection_dataset_form(request, data):
    return {'folders': DETECTION_FOLDERS}


def processing_dataset_form(request, data):
    return {'folders': PROCESSING_FOLDERS}


def sunnybrook_dataset_form(request, data):
    return {'folders': SUNNYBROOK_FOLDERS}


def detection_dataset_page(request, data):
    """The page of a data extension's dataset (object detection, image
    processing or Sunnybrook: the folders of its form)."""
    return dict(_generic_dataset_page(request, data),
                folders=EXTENSION_FOLDERS[data.get('extension_id')])


def prebuilt_dataset_form(request, data):
    return {'databases': list(forms.PREBUILT_DBS.items())}


def prebuilt_dataset_page(request, data):
    return _generic_dataset_page(request, data)


def _generic_dataset_page(request, data):
    """A generic dataset page's form, logs, history and the models using it."""
    state = server(request)
    job = state.store.get(data['id'])
    logs = dataset_logs(state.store.path(job['id']))
    return {'form': job['form'], 'logs': logs,
            'created': job['created'], 'status_history': job['status_history'],
            'used_by': [_ref(j) for j in state.store.dependents(job['id'])]}


def model_form(request, data):
    state = server(request)
    store = state.store
    # the generic form trains on generic datasets, the other on the rest
    usable = [j for j in store.list('dataset') if j['status'] not in (jobs.ABORT, jobs.ERROR)
              and dataset_kinds.is_generic(j) == bool(data.get('generic'))]
    names = {j['id']: j['name'] for j in store.list('dataset')}
    previous = []
    kinds = {j['id']: dataset_kinds.is_generic(j) for j in store.list('dataset')}
    for job in store.list('model'):
        # DIGITS lists the models of the form's kind only
        if kinds.get(job['dataset_id'], False) != bool(data.get('generic')):
            continue
        found = models.snapshots(job, store.path(job['id']))
        previous.append(dict(id=job['id'], name=job['name'], status=job['status'],
                             dataset=names.get(job['dataset_id'], job['dataset_id']),
                             snapshots=[e for _, e in found]))
    clone = request.query_params.get('clone')
    preset = {k: v for k, v in request.query_params.items() if k in PRESET_FIELDS}
    return {'form': dict(data['form'], **preset), 'datasets': usable, 'previous': previous,
            'pretrained': store.list('pretrained'),
            'clone_of': _ref(store.jobs[clone]) if clone in store.jobs else None,
            'network_notes': NETWORK_NOTES, 'solver_types': SOLVER_TYPES,
            'lr_policies': LR_POLICIES, 'use_mean_choices': _choices(forms.MODEL_FIELDS,
                                                                    'use_mean'),
            'gpus': state.config.gpus, 'standard_networks': networks.STANDARD_NETWORKS,
            'titles': networks.TITLES, 'policy_fields': forms.POLICY_FIELDS,
            'policy_labels': POLICY_LABELS,
            'dataset_facts': {j['id']: {k: j.get(k) for k in DATASET_FACTS} for j in usable}}


def _source(store, job):
    source = job.get('source_job_id')
    return _ref(store.jobs[source]) if source in store.jobs else None


def model_page(request, data):
    state = server(request)
    store = state.store
    job = store.get(data['id'])
    dataset = store.jobs.get(job['dataset_id'])
    files, disk_size = job_files(store.path(job['id']))
    return {'dataset': dataset, 'files': files, 'disk_size': disk_size,
            'generic': bool(dataset) and dataset_kinds.is_generic(dataset),
            'sunnybrook': extension_inference.is_sunnybrook(dataset),
            'validation_records': extension_inference.validation_records(dataset)
            if extension_inference.is_sunnybrook(dataset) else [],
            'data_roots': state.config.data_roots,
            'source': _source(store, job), 'method': job['form'].get('method'),
            'form': job['form'], 'status_history': job['status_history'],
            'pretrained_model': job.get('pretrained_model') or []}


def pretrained_page(request, data):
    store = server(request).store
    job = store.get(data['id'])
    files, disk_size = job_files(store.path(job['id']))
    return {'files': files, 'disk_size': disk_size, 'source': _source(store, job),
            'used_by': [_ref(j) for j in store.dependents(job['id'])]}


def top_n(request, data):
    """Thumbnails of the images of the Top N page, by path."""
    roots = server(request).config.data_roots
    thumbnails = {}
    for result in data['results']:
        for image in result['images']:
            path = image['path']
            if path not in thumbnails:
                thumbnails[path] = gallery.file_thumbnail(resolve_server_path(path, roots))
    return {'thumbnails': thumbnails}
