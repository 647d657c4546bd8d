"""Issue 11 targets for the web pages of ``caffelite serve``:

* the home page with 100 jobs and a model page with 10,000 curve points
  load in under 300 ms, both as server time (the HTML answer, measured by an
  HTTP client) and as time to the browser's ``load`` event (headless
  Chromium, the navigation's loadEventEnd);
* a model page does not poll: how many requests it makes per second while
  its job trains (the curves come over one Server-Sent Events stream).

There is no peer to run beside it: DIGITS needs Python 2 and a Caffe build,
neither of which exists here, so the numbers are absolute (and this machine
is shared and noisy: look at medians).

The 100 jobs are one real dataset, one real LeNet model and copies of that
model's folder (without its weights); one copy gets a Caffe log of 10,000
curve points (8,000 train loss and learning-rate points, 2,000 validation
points), which the server reads back at start as it does after a restart.

Usage: python benchmarks/bench_pages.py [--repeats 15] [--train-seconds 10]
"""
import argparse
import json
import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'benchmarks'))
sys.path.insert(0, str(ROOT / 'tests' / 'browser'))

from browser_harness import CHROMIUM, CHROMIUM_ARGS, live, missing_browser  # noqa: E402
from harness import environment  # noqa: E402

HTML = {'Accept': 'text/html'}
JOBS = 100
POINTS = 10000


def log_line(message):
    return 'I0101 00:00:00.000000 1 solver.py:1] ' + message + '\n'


def curve_log(iterations, test_every):
    """A Caffe log whose curves hold 2 points per iteration (train loss and
    learning rate) and 2 per test (val accuracy and loss)."""
    lines = []
    for it in range(iterations):
        if it % test_every == 0:
            lines.append(log_line('Iteration %d, Testing net (#0)' % it))
            lines.append(log_line('    Test net output #0: accuracy = %g' % min(1, it / 3000.)))
            lines.append(log_line('    Test net output #1: loss = %g (* 1 = %g loss)'
                                  % ((2.0 / (1 + it / 100.),) * 2)))
        loss = 2.0 / (1 + it / 200.)
        lines.append(log_line('Iteration %d (10 iter/s, 0.1s/1 iters), loss = %g' % (it, loss)))
        lines.append(log_line('    Train net output #0: loss = %g (* 1 = %g loss)' % (loss, loss)))
        lines.append(log_line('Iteration %d, lr = %g' % (it, 0.01 * 0.1 ** (it // 1500))))
    return ''.join(lines)


def fabricate(jobs_dir, model_id):
    """Copy model ``model_id`` (without weights) until the jobs folder holds
    JOBS jobs; the first copy gets a log of POINTS curve points. Returns its id."""
    source = os.path.join(jobs_dir, model_id)
    existing = len([d for d in os.listdir(jobs_dir) if not d.startswith('.')])
    ids = ['20200101-%06d-%04x' % (i, i) for i in range(JOBS - existing)]
    for i, job_id in enumerate(ids):
        target = os.path.join(jobs_dir, job_id)
        shutil.copytree(source, target,
                        ignore=shutil.ignore_patterns('*.caffemodel', '*.solverstate'))
        state_path = os.path.join(target, 'status.json')
        with open(state_path) as f:
            state = json.load(f)
        state['name'] = 'copy %d' % i
        state['created'] = time.time() - 3600 - i
        if i == 0:
            iterations, test_every = POINTS * 2 // 5, 4
            state['max_iter'] = iterations
            state['form']['train_epochs'] = 100
            with open(os.path.join(target, 'caffe_output.log'), 'w') as f:
                f.write(curve_log(iterations, test_every))
        with open(state_path, 'w') as f:
            json.dump(state, f)
    return ids[0]


def median_ms(values):
    return 1000 * statistics.median(values)


def server_times(client, path, repeats):
    """Seconds of each GET of ``path`` as HTML, and the answer's size."""
    client.get(path, headers=HTML)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        r = client.get(path, headers=HTML)
        times.append(time.perf_counter() - start)
        assert r.status_code == 200, r.text
    return times, len(r.content)


LOAD_EVENT = "() => { const n = performance.getEntriesByType('navigation')[0]; " \
             "return n.loadEventEnd - n.startTime; }"


def browser_times(page, url, repeats):
    """Milliseconds to the load event, with the browser's cache disabled
    (every file fetched) and enabled (the static files cached)."""
    def loads():
        return [page.evaluate(LOAD_EVENT) for _ in range(repeats + 1)
                if page.goto(url, wait_until='load')][1:]
    cdp = page.context.new_cdp_session(page)
    cdp.send('Network.enable')
    cdp.send('Network.setCacheDisabled', {'cacheDisabled': True})
    cold = loads()
    cdp.send('Network.setCacheDisabled', {'cacheDisabled': False})
    return cold, loads()


def chart_draw_ms(page):
    return page.evaluate("""() => { const c = document.getElementById('loss-chart').lineChart;
        const t = performance.now(); for (let i = 0; i < 10; i++) c.draw();
        return [(performance.now() - t) / 10, c.points()]; }""")


def requests_while_training(page, server, dataset_id, seconds):
    """(requests per second after the load event, curve points received) on
    the page of a LeNet job while it trains."""
    r = server.client.post('/models/images/classification.json', data=dict(
        method='standard', standard_networks='lenet', train_epochs='400',
        snapshot_interval='100', model_name='trains', dataset=dataset_id, batch_size='16'))
    job = r.json()['id']
    server.wait(job, until=('Initialized', 'Waiting'))
    requests = []
    page.on('request', lambda request: requests.append((time.time(), request.url)))
    page.goto(server.base + '/models/' + job, wait_until='load')
    page.wait_for_function("document.getElementById('loss-chart').lineChart.points() > 0",
                           timeout=120000)
    start = time.time()
    first = page.evaluate("document.getElementById('loss-chart').lineChart.points()")
    time.sleep(seconds)
    points = page.evaluate("document.getElementById('loss-chart').lineChart.points()") - first
    during = [url for when, url in requests if when >= start]
    status = server.client.get('/jobs/%s/status' % job).json()['status']
    server.client.post('/models/%s/abort' % job)
    return len(during) / seconds, points / seconds, during, status


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=15)
    parser.add_argument('--train-seconds', type=float, default=10)
    args = parser.parse_args()
    reason = missing_browser()
    if reason:
        sys.exit('bench_pages: ' + reason)
    print(environment())
    work = pathlib.Path(tempfile.mkdtemp(prefix='bench-pages-'))
    try:
        live.make_images(str(work / 'data' / 'images'))
        server = live.LiveServer(work / 'jobs', '--data-root', work / 'data').start()
        server.login('bench')
        r = server.client.post('/datasets/images/classification.json', data=dict(
            method='folder', folder_train=str(work / 'data' / 'images'), dataset_name='shapes',
            resize_channels='1', resize_width='28', resize_height='28'))
        dataset_id = r.json()['id']
        server.wait(dataset_id)
        r = server.client.post('/models/images/classification.json', data=dict(
            method='standard', standard_networks='lenet', train_epochs='1', model_name='lenet',
            dataset=dataset_id, batch_size='16'))
        model_id = r.json()['id']
        server.wait(model_id)
        server.stop()
        big = fabricate(str(work / 'jobs'), model_id)
        server = live.LiveServer(work / 'jobs', '--data-root', work / 'data').start()
        server.login('bench')
        count = sum(len(v) for k, v in server.client.get('/index.json').json().items()
                    if isinstance(v, list))
        outputs = server.client.get('/models/%s.json' % big).json()
        points = sum(len(s) for phase in ('train_outputs', 'val_outputs')
                     for s in outputs[phase].values())
        print('\n%d jobs; model %s has %d curve points' % (count, big, points))
        home_server, home_size = server_times(server.client, '/', args.repeats)
        model_server, model_size = server_times(server.client, '/models/' + big, args.repeats)

        from playwright.sync_api import sync_playwright
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={'width': 1280, 'height': 900})
            context.add_cookies([{'name': 'username', 'value': 'bench', 'url': server.base}])
            page = context.new_page()
            home_cold, home_load = browser_times(page, server.base + '/', args.repeats)
            model_cold, model_load = browser_times(page, server.base + '/models/' + big,
                                                   args.repeats)
            draw_ms, drawn = chart_draw_ms(page)
            page.goto('about:blank')
            rate, point_rate, during, status = requests_while_training(
                context.new_page(), server, dataset_id, args.train_seconds)
            browser.close()
        server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print('\n== page loads (median of %d; target < 300 ms)' % args.repeats)
    for title, (server_s, size, cold, warm) in (
            ('home page, %d jobs' % count, (home_server, home_size, home_cold, home_load)),
            ('model page, %d points' % points, (model_server, model_size, model_cold,
                                                model_load))):
        print('  %-24s server %6.1f ms (%d KB of HTML)   load event %6.1f ms with a warm '
              'cache, %6.1f ms without' % (title, median_ms(server_s), size >> 10,
                                                    statistics.median(warm),
                                                    statistics.median(cold)))
    print('  drawing the %d-point chart: %.1f ms' % (drawn, draw_ms))
    print('\n== a model page while its job trains (%g s after its load event, job %s)'
          % (args.train_seconds, status))
    print('  %.2f requests/s (%d requests: %s); %.1f curve points/s arrived over the event '
          'stream' % (rate, len(during), ', '.join(sorted({u.split('?')[0].rsplit('/', 2)[-1]
                                                          for u in during})) or 'none',
                      point_rate))


if __name__ == '__main__':
    main()
