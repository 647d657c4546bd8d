"""``caffelite classify``: top-k labels of images with a trained model
(a DIGITS job folder or a deploy.prototxt), as text or JSON."""
import json

from ..job_classifier import JobClassifier, list_images
from ..errors import CaffeError
from ._common import positive_int


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
    p.set_defaults(func=run)


def run(args):
    paths = list_images(args.images)
    if not paths:
        raise CaffeError('no images found in %s' % ', '.join(args.images))
    classifier = JobClassifier(args.model, args.weights, args.mean, args.labels)
    results = classifier.classify(paths, args.top_k)
    if args.json:
        print(json.dumps([{'image': path, 'predictions': [
            {'label': label, 'probability': prob} for label, prob in top]}
            for path, top in results], indent=1))
        return 0
    for path, top in results:
        print(path)
        for label, prob in top:
            print('  %6.2f%%  %s' % (100 * prob, label))
    return 0
