"""The process a job runs in, started by the server's executor:

* ``python -m caffelite.server.worker dataset JOB_DIR`` builds a
  classification dataset from the image folder named in the job's state;
* ``python -m caffelite.server.worker extension JOB_DIR`` builds the
  dataset of a data extension (object detection: image and KITTI label
  folders; image processing: feature and label image folders) of its form;
* ``python -m caffelite.server.worker analyze JOB_DIR`` checks the
  prebuilt LMDBs of a generic image dataset (entries, same shape);
* ``python -m caffelite.server.worker train ARGS...`` is ``caffelite
  train ARGS`` (Caffe's ``caffe train``, which DIGITS ran too).

Output is Caffe's log format on stdout; the server parses it. A failure is
logged as one error line ``<ExceptionType>: <message>`` and exits 1; SIGINT
(abort) stops the work (training snapshots first) and exits 130. The worker
asks Linux to send it SIGINT if the server dies, so that no orphan keeps
training.
"""
import json
import logging
import os
import shutil
import signal
import sys

from ..errors import CaffeError

log = logging.getLogger('caffelite.worker')

# Decoding more pixels than this is refused (a decompression bomb).
MAX_IMAGE_PIXELS = 64 << 20
# where a dataset's URL images are downloaded while it is built
DOWNLOADS = '.downloads'


def error_of(line):
    """{'type', 'message'} of an error line in the worker's output (glog
    level E or F), or None: ``<ExceptionType>: <message>`` as the worker
    logs its failure, any other error text as a CaffeError."""
    if not line.startswith(('E', 'F')) or '] ' not in line:
        return None
    message = line.split('] ', 1)[1]
    kind, _, text = message.partition(': ')
    if text and kind.isidentifier():
        return {'type': kind, 'message': text}
    return {'type': 'CaffeError', 'message': message}


def die_with_parent():
    """SIGINT when the parent process exits (Linux prctl PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith('linux'):
        return
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGINT)
    if os.getppid() == 1:
        raise KeyboardInterrupt


def limit_image_pixels(limit=MAX_IMAGE_PIXELS):
    """Make Pillow refuse images above ``limit`` pixels (it raises at twice
    its MAX_IMAGE_PIXELS and only warns below)."""
    import warnings
    from PIL import Image
    Image.MAX_IMAGE_PIXELS = limit // 2
    warnings.simplefilter('ignore', Image.DecompressionBombWarning)


def keep_classes(classes, items, minimum=None, maximum=None):
    """DIGITS' per-class limits: classes with fewer than ``minimum`` images
    are dropped (labels renumbered), classes above ``maximum`` keep their
    first ``maximum``. Returns (classes, items)."""
    from ..tools.dataset import Item
    by_label = {}
    for item in items:
        by_label.setdefault(item.label, []).append(item)
    kept_classes, kept_items = [], []
    for label, name in enumerate(classes):
        group = by_label.get(label, [])
        if minimum and len(group) < minimum:
            log.warning('Class %s has %d images, fewer than %d: ignored', name, len(group),
                        minimum)
            continue
        group = group[:maximum] if maximum else group
        kept_items += [Item(i.path, i.name, len(kept_classes)) for i in group]
        kept_classes.append(name)
    return kept_classes, kept_items


class ProgressLog:
    """Logs ``Processed N/TOTAL images`` about 50 times over the dataset
    (and at each split's end), counting across splits."""

    def __init__(self, total):
        self.total, self.before, self.step = total, 0, max(1, total // 50)
        self.split = None

    def __call__(self, split, done, split_total):
        if split != self.split:
            if self.split is not None:
                self.before += self.split_total
            self.split, self.split_total = split, split_total
            log.info('Creating %s_db (%d images)', split, split_total)
        overall = self.before + done
        if done == split_total or overall % self.step == 0:
            log.info('Processed %d/%d images', overall, self.total)


def separate_split(split, folder, form, known):
    """The [Item] of a separate val or test ``folder``, after its own
    per-class limits, labelled by the training classes ``known``."""
    from ..tools import dataset
    classes, items = dataset.scan_folder(folder)
    classes, items = keep_classes(classes, items, form['folder_%s_min_per_class' % split],
                                  form['folder_%s_max_per_class' % split])
    log.info('Found %d %s images in %d classes in %s', len(items), split, len(classes), folder)
    return dataset.relabel(classes, items, known, folder)


def textfile_items(textfiles, downloads):
    """(classes, train [Item], {'val' / 'test': [Item]}) of a textfile
    dataset job's lists (its fact ``textfiles``); their URL images are
    fetched into ``downloads`` (an image_urls.Downloads)."""
    from ..digits.textfiles import read_labelled_list
    from ..textfile import read_labels
    from ..tools.dataset import Item
    classes = read_labels(textfiles['labels'])
    splits = {}
    for split, (path, name, folder) in textfiles['lists'].items():
        splits[split] = [Item(full, listed, label) for listed, full, label
                         in read_labelled_list(path, folder, len(classes), name,
                                               fetch=downloads.save_all)]
        if downloads.files:
            log.info('%d images downloaded', len(downloads.files))
        log.info('%d valid lines in %s', len(splits[split]), name)
    return classes, splits.pop('train'), splits


def folder_items(job, downloads):
    """(classes, train [Item], {'val' / 'test': [Item]}) of a dataset job
    reading an image folder (and separate val/test folders), local or
    given as URLs (whose images are fetched into ``downloads``)."""
    from ..tools import dataset
    from .datasets import folders_of
    form = job['form']
    folder = job['image_folder']
    classes, items = dataset.scan_folder(folder)
    classes, items = keep_classes(classes, items, form['folder_train_min_per_class'],
                                  form['folder_train_max_per_class'])
    if len(classes) < 2:
        raise CaffeError('%s has %d class folder(s) with at least %d images; a '
                                 'classification dataset needs 2 or more'
                                 % (folder, len(classes), form['folder_train_min_per_class']))
    log.info('Found %d images in %d classes in %s', len(items), len(classes), folder)
    fixed = {split: separate_split(split, path, form, classes)
             for split, path in folders_of(job).items()}
    downloads.save_items([items, *fixed.values()])
    if downloads.files:
        log.info('%d images downloaded', len(downloads.files))
    return classes, items, fixed


def build_dataset(job_dir):
    """Create the dataset described by ``JOB_DIR/status.json``'s form into
    the job folder (built aside, moved in when complete)."""
    from ..digits.image_urls import Downloads
    from ..tools import dataset
    with open(os.path.join(job_dir, 'status.json'), encoding='utf-8') as f:
        job = json.load(f)
    # the images a textfile list or a folder URL names, fetched for this build only
    downloads = Downloads(os.path.join(job_dir, DOWNLOADS), job.get('max_url_bytes') or
                          (job.get('textfiles') or {}).get('max_url_bytes', 0))
    try:
        report = _build_classification(job, job_dir, downloads)
    finally:
        shutil.rmtree(downloads.folder, ignore_errors=True)
    for path, reason in report.skipped:
        log.warning('Skipped %s', reason)
    for split in dataset.SPLITS:
        log.info('%s_db: %d images', split, sum(report.counts[split].values()))


def _build_classification(job, job_dir, downloads):
    """The tools.dataset Report of building a classification dataset job
    into its folder; the URLs its lists name fetched into ``downloads``."""
    from ..tools import dataset
    form = job['form']
    textfile = form['method'] == 'textfile'
    classes, items, fixed = (textfile_items(job['textfiles'], downloads) if textfile
                             else folder_items(job, downloads))
    return _move_in(job_dir, lambda build: dataset.create_dataset(
        build, items, classes, form['resize_width'], form['resize_height'],
        form['resize_channels'] == '3', form['resize_mode'],
        0 if textfile else form['folder_pct_val'], 0 if textfile else form['folder_pct_test'],
        form['encoding'], seed=form['seed'],
        progress=ProgressLog(len(items) + sum(map(len, fixed.values()))), fixed=fixed,
        shuffle=form.get('textfile_shuffle', '1') == '1' or not textfile,
        backend=form['backend'], compression=form['compression'], db_root=job_dir,
        read=downloads.read))


def build_extension_dataset(job_dir):
    """Create the dataset of ``JOB_DIR/status.json``'s data extension into
    the job folder: built aside, moved in when complete."""
    with open(os.path.join(job_dir, 'status.json'), encoding='utf-8') as f:
        state = json.load(f)
    build = {'image-processing': build_processing_dataset,
             'image-sunnybrook': build_sunnybrook_dataset}.get(state['extension_id'],
                                                                build_detection_dataset)
    build(state['form'], job_dir)


def build_processing_dataset(form, job_dir):
    """The image-processing dataset of ``form`` (DIGITS' image-processing
    extension) into ``job_dir``."""
    from ..digits import processing
    pairs = processing.pair_folders(form['feature_folder'], form['label_folder'])
    if form['has_val_folder']:
        splits = {'train': pairs, 'val': processing.pair_folders(
            form['validation_feature_folder'], form['validation_label_folder'])}
    else:
        splits = processing.split_pairs(pairs, form['folder_pct_val'], form['seed'])
    conversion = form['channel_conversion']
    _write_pairs(form, job_dir, splits, lambda pair: processing.load_images(pair, conversion))


def build_sunnybrook_dataset(form, job_dir):
    """The dataset of DIGITS' Sunnybrook plug-in (DICOM images, contour
    files) of ``form`` into ``job_dir``."""
    from ..digits import processing, sunnybrook
    pairs = sunnybrook.contour_pairs(form['image_folder'], form['contour_folder'])
    splits = processing.split_pairs(pairs, form['folder_pct_val'], form['seed'])
    conversion = form['channel_conversion']
    _write_pairs(form, job_dir, splits, lambda pair: sunnybrook.load_pair(pair, conversion))


def _write_pairs(form, job_dir, splits, load):
    """Write a generic dataset of {split: pairs} (``load(pair)``: its
    feature and label arrays) in the form's encodings into ``job_dir``."""
    from ..digits import processing
    for split, entries in splits.items():
        log.info('Found %d entries for stage %s', len(entries), split)
    _move_in(job_dir, lambda build: processing.write_pair_dataset(
        build, splits, load,
        progress=ProgressLog(sum(len(entries) for entries in splits.values())),
        feature_encoding=form['dsopts_feature_encoding'],
        label_encoding=form['dsopts_label_encoding']))


def build_detection_dataset(form, job_dir):
    """The object-detection dataset of ``form`` (DIGITS' object-detection
    extension) into ``job_dir``."""
    from ..detection import dataset
    from ..digits.forms import detection_sizes
    splits = dataset.read_splits(form['train_image_folder'], form['train_label_folder'],
                                 form['val_image_folder'] or None,
                                 form['val_label_folder'] or None)
    for split, (entries, _) in splits.items():
        log.info('Found %d entries for stage %s', len(entries), split)
    padding, resize = detection_sizes(form)
    _move_in(job_dir, lambda build: dataset.write_detection_dataset(
        build, splits, padding, resize, form['channel_conversion'], form['val_min_box_size'],
        form['custom_classes'] or None, form['seed'],
        progress=ProgressLog(sum(len(entries) for entries, _ in splits.values())),
        feature_encoding=form['dsopts_feature_encoding']))


def _move_in(job_dir, write):
    """``write(folder)`` a dataset into a new folder beside the job's
    files, then move its files into the job folder; returns what ``write``
    returns."""
    build = os.path.join(job_dir, '.dataset')
    result = write(build)
    for name in os.listdir(build):
        os.replace(os.path.join(build, name), os.path.join(job_dir, name))
    os.rmdir(build)
    return result


def train(argv):
    """``caffelite train`` with these arguments."""
    from ..cli import build_parser
    args = build_parser().parse_args(['train'] + argv)
    return args.func(args)


def main(argv=None):
    from ..cli._common import setup_logging
    argv = sys.argv[1:] if argv is None else argv
    setup_logging(sys.stdout)
    try:
        die_with_parent()
        limit_image_pixels()
        if argv[:1] == ['dataset'] and len(argv) == 2:
            build_dataset(os.path.abspath(argv[1]))
            return 0
        if argv[:1] == ['extension'] and len(argv) == 2:
            build_extension_dataset(os.path.abspath(argv[1]))
            return 0
        if argv[:1] == ['analyze'] and len(argv) == 2:
            from .prebuilt_datasets import analyze
            analyze(os.path.abspath(argv[1]))
            return 0
        if argv[:1] == ['train']:
            return train(argv[1:])
        raise ValueError('usage: python -m caffelite.server.worker dataset JOB_DIR | '
                         'extension JOB_DIR | analyze JOB_DIR | train ARGS...')
    except KeyboardInterrupt:
        logging.getLogger('caffelite.worker').warning('Aborted')
        shutil.rmtree(os.path.join(os.getcwd(), '.dataset'), ignore_errors=True)
        return 130
    except Exception as e:  # every failure ends the job with its name and message
        message = ' '.join(str(e).split())
        logging.getLogger('caffelite.worker').error('%s: %s', type(e).__name__, message)
        return 1


if __name__ == '__main__':
    sys.exit(main())
