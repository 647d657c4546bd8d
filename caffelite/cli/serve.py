"""``caffelite serve``: NVIDIA DIGITS' web app and JSON API (see
caffelite.server), on uvicorn."""
import socket
import sys


def register(subparsers):
    p = subparsers.add_parser(
        'serve', help="DIGITS' web app and REST API: datasets, training, inference",
        description="Serve DIGITS' web app and JSON API. Jobs live in --jobs-dir in DIGITS' "
                    "layout. Listening beyond 127.0.0.1 requires an access token.")
    p.add_argument('--jobs-dir', default='caffelite-jobs',
                   help='folder of the jobs (default ./caffelite-jobs)')
    p.add_argument('--host', default='127.0.0.1', help='address to listen on (default '
                                                       '127.0.0.1, this machine only)')
    p.add_argument('--port', type=int, default=5000, help='port (default 5000)')
    p.add_argument('--data-root', action='append', default=[], metavar='DIR',
                   help='a folder whose images clients may name by path (repeatable); '
                        'without one, images must be uploaded')
    p.add_argument('--token', default=None,
                   help='access token every request must carry (generated and printed '
                        'when --host is not loopback and none is given)')
    p.add_argument('--max-upload-mb', type=float, default=500,
                   help='largest request body in MB (default 500)')
    p.add_argument('--gpu', action='append', type=int, default=[], metavar='ID',
                   help='a GPU jobs may train on (repeatable; default: CPU only)')
    p.set_defaults(func=run)


def check_port(host, port):
    """Raise OSError, in one line, when ``host:port`` cannot be listened on
    (another server there): uvicorn would only log it after our 'open
    http://...' line. SO_REUSEADDR as uvicorn sets it, so that a port whose
    last connections linger in TIME_WAIT still passes."""
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as e:
            raise OSError('cannot listen on %s port %d: %s (another server there? give '
                          'another --port)' % (host, port, e.strerror or e)) from None


def run(args):
    import uvicorn
    from ..server.app import ServerConfig, create_app
    from ..server.security import needs_token, new_token
    from ._common import setup_logging
    check_port(args.host, args.port)
    token = args.token
    generated = token is None and needs_token(args.host)
    if generated:
        token = new_token()
    config = ServerConfig(args.jobs_dir, tuple(args.data_root), token, args.max_upload_mb,
                          tuple(args.gpu))
    setup_logging()
    url = 'http://%s:%d/' % (args.host if ':' not in args.host else '[%s]' % args.host,
                             args.port)
    print('caffelite serve: jobs in %s, open %s%s%s'
          % (config.jobs_dir, url, '?token=' + token if token else '',
             ' (a new access token, shown only now)' if generated else ''), file=sys.stderr)
    # Open event streams must not hold a stop: jobs are stopped (and stay
    # resumable) once the connections are closed.
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level='warning',
                timeout_graceful_shutdown=3)
    return 0
