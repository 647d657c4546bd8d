"""``caffelite classify``: top-k labels of images with a trained model
(a DIGITS job folder or a deploy.prototxt), as text or JSON."""
import json
import sys

from ..job_classifier import JobClassifier, list_images
from ..errors import CaffeError
from ..server.inference import job_folder_settings
from ._common import add_python_layers_flag, positive_int, setup_logging


def register(subparsers):
    p = subparsers.add_parser('classify', help='classify images with a trained model')
    p.add_argument('images', nargs='+', help='image files or folders of images')
    p.add_argument('--model', required=True,
                   help='a DIGITS-style job folder (deploy.prototxt, snapshots, labels.txt) '
                        'or a deploy.prototxt')
    p.add_argument('--weights', help='.caffemodel (default: the latest snapshot in the folder)')
    p.add_argument('--mean', help='mean.binaryproto or mean.jpg to subtract')
    p.add_argument('--labels', help='labels.txt, one class name per line')
    p.add_argument('--top-k', type=positive_int, default=5, help='labels to show per image')
    p.add_argument('--json', action='store_true', help='print JSON instead of text')
    add_python_layers_flag(p)
    p.set_defaults(func=run)


def run(args):
    setup_logging()
    paths = list_images(args.images)
    if not paths:
        raise CaffeError('no images found in %s' % ', '.join(args.images))
    # a model job of `caffelite serve`: its dataset's resize mode, size and
    # mean, and the model's use_mean, as the server classifies with them
    settings = job_folder_settings(args.model)
    settings['mean'] = args.mean or settings.get('mean')
    settings['labels'] = args.labels or settings.get('labels')
    classifier = JobClassifier(args.model, args.weights, **settings)
    entries, failed = [], 0
    for path, top, reason in classifier.classify(paths, args.top_k):
        if reason:
            failed += 1
            print('caffelite classify: skipped %s' % reason, file=sys.stderr)
            entries.append({'image': path, 'error': reason})
        elif args.json:
            entries.append({'image': path, 'predictions': [
                {'label': label, 'probability': prob} for label, prob in top]})
        else:
            print(path)
            for label, prob in top:
                print('  %6.2f%%  %s' % (100 * prob, label), flush=True)
    if args.json:
        print(json.dumps(entries, indent=1))
    if failed:
        raise CaffeError('%d of %d images could not be read (the others were classified)'
                         % (failed, len(paths)))
    return 0
