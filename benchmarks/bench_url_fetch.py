"""Fetching a dataset's URL images: caffelite's pool of image_urls.THREADS
threads beside the one-at-a-time fetch it replaced (image_urls.fetch in a
loop), alternating in one run. The images are served from 127.0.0.1 by
http.server (started and stopped here) with a fixed delay per request,
standing in for a remote web server's latency.

Usage: python benchmarks/bench_url_fetch.py [--count 200] [--delay-ms 20] [--repeats 3]
"""
import argparse
import functools
import http.server
import os
import pathlib
import shutil
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'benchmarks'))

from caffelite.digits import image_urls  # noqa: E402
from harness import compare, environment, report  # noqa: E402

LIMIT = 1 << 20


class Server(http.server.ThreadingHTTPServer):
    # a listen backlog of 5 (socketserver's) drops connections a pool opens
    # at once; their SYN is sent again a second later
    request_queue_size = 128


class Delayed(http.server.SimpleHTTPRequestHandler):
    delay = 0.0

    def do_GET(self):
        time.sleep(self.delay)
        super().do_GET()

    def log_message(self, *args):
        pass


def one_at_a_time(urls, folder):
    """The fetch before the pool: each URL in turn into its file."""
    os.makedirs(folder, exist_ok=True)
    for i, url in enumerate(urls):
        with open(os.path.join(folder, '%08d' % i), 'wb') as f:
            f.write(image_urls.fetch(url, LIMIT))


def pooled(urls, folder):
    image_urls.Downloads(folder, LIMIT).save_all(urls)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--count', type=int, default=200)
    parser.add_argument('--delay-ms', type=float, default=20)
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args()
    print(environment())
    work = tempfile.mkdtemp(prefix='bench-url-fetch-')
    Delayed.delay = args.delay_ms / 1000
    web = Server(('127.0.0.1', 0), functools.partial(Delayed, directory=work))
    threading.Thread(target=web.serve_forever, args=(0.05,), daemon=True).start()
    try:
        names = []
        for i in range(args.count):
            names.append('%04d.png' % i)
            with open(os.path.join(work, names[-1]), 'wb') as f:
                f.write(os.urandom(2000))
        base = 'http://127.0.0.1:%d/' % web.server_address[1]
        urls = [base + name for name in names]
        copies = os.path.join(work, 'copies')

        def run(fetch):
            shutil.rmtree(copies, ignore_errors=True)
            fetch(urls, copies)
        times = compare([('one at a time', lambda: run(one_at_a_time)),
                         ('pool of %d threads' % image_urls.THREADS, lambda: run(pooled))],
                        repeats=args.repeats)
        report('%d URLs, %g ms per request' % (args.count, args.delay_ms), times,
               args.count, 'images')
    finally:
        web.shutdown()
        web.server_close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
