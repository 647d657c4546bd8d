"""``caffelite zoo list`` and ``caffelite zoo fetch NAME [--dir D]``."""
from .. import zoo


def register(subparsers):
    p = subparsers.add_parser('zoo', help='model zoo: list models, fetch official weights')
    sub = p.add_subparsers(dest='action', metavar='ACTION')
    listing = sub.add_parser('list', help='list the zoo models')
    listing.set_defaults(func=run_list)
    get = sub.add_parser('fetch', help="download a model's official weights")
    get.add_argument('name', help='zoo model name (see zoo list)')
    get.add_argument('--dir', default='.', help='destination folder')
    get.set_defaults(func=run_fetch)


def run_list(args):
    for name in zoo.list_models():
        info = zoo.model_info(name)
        print('%-14s %-22s %s' % (name, 'x'.join(map(str, info['input_shape'])),
                                  info['description']))
        print('%-14s deploy: %s' % ('', zoo.deploy_path(name)))
    return 0


def run_fetch(args):
    info = zoo.model_info(args.name)
    path, digest = zoo.fetch(args.name, args.dir)
    if info.get('sha1'):
        print('%s (sha1 %s verified)' % (path, digest))
    else:
        print('%s (sha1 %s; no published checksum to verify against)' % (path, digest))
    return 0
