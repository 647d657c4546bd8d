"""``caffelite zoo list``, ``caffelite zoo info NAME`` and
``caffelite zoo fetch NAME [--dir D]``."""
from .. import zoo


def register(subparsers):
    p = subparsers.add_parser('zoo', help='model zoo: list models, show one, fetch official weights')
    sub = p.add_subparsers(dest='action', metavar='ACTION')
    sub.required = True
    sub.add_parser('list', help='list the zoo models').set_defaults(func=run_list)
    info = sub.add_parser('info', help="a model's manifest entry and prototxt paths")
    info.add_argument('name', help='zoo model name (see zoo list)')
    info.set_defaults(func=run_info)
    get = sub.add_parser('fetch', help="download a model's official weights (checksummed, "
                                       "resumable)")
    get.add_argument('name', help='zoo model name (see zoo list)')
    get.add_argument('--dir', default='.', help='destination folder')
    get.add_argument('--quiet', action='store_true', help='no progress bar')
    get.set_defaults(func=run_fetch)


def size_text(info):
    if not info.get('weights_url'):
        return 'none'
    if info.get('size_bytes') is None:
        return 'size ?'
    return '%.1f MB' % (info['size_bytes'] / 1e6)


def run_list(args):
    print('%-14s %-15s %-9s %-26s %s' % ('NAME', 'INPUT', 'WEIGHTS', 'PROTOTXT', 'MODEL'))
    for name in zoo.list_models():
        info = zoo.model_info(name)
        print('%-14s %-15s %-9s %-26s %s' % (name, 'x'.join(map(str, info['input_shape'])),
                                             size_text(info), ','.join(zoo.definitions(name)),
                                             info['title']))
    return 0


def run_info(args):
    info = zoo.model_info(args.name)
    for key in ('title', 'description', 'license', 'source', 'weights_url', 'mirrors',
                'weights_file', 'size_bytes', 'sha1', 'sha256', 'checksum_source',
                'input_shape', 'output', 'output_shape', 'classes'):
        print('%-16s %s' % (key + ':', info.get(key)))
    for kind in zoo.definitions(args.name):
        print('%-16s %s' % (kind + ':', zoo.prototxt_path(args.name, kind)))
    return 0


def run_fetch(args):
    info = zoo.model_info(args.name)
    path = zoo.fetch(args.name, args.dir, progress=not args.quiet)
    checked = [k for k in ('size_bytes', 'sha1', 'sha256') if info.get(k) is not None]
    print('%s (verified: %s)' % (path, ', '.join(checked)) if checked else path)
    return 0
