"""A real browser against a real server, for the pages' tests: Debian's
headless Chromium driven by Playwright (no browser download), and a
``caffelite serve`` process on a free port of 127.0.0.1 with a temporary
jobs folder and a data root of generated images.

Without Chromium or Playwright the tests skip, saying why; with
CAFFELITE_REQUIRE_BROWSER=1 (set by .ci/run) they fail instead, so CI always
runs them."""
import importlib.util
import os
import pathlib
import shutil

import pytest

CHROMIUM = os.environ.get('CAFFELITE_CHROMIUM', '/usr/bin/chromium')
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                 '--disable-background-networking', '--disable-component-update', '--disable-sync']
TESTS = pathlib.Path(__file__).resolve().parents[1]


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The server tests' live server and image generator, shared (not copied).
live = _load('server_live_helpers', TESTS / 'server' / 'server_fixtures.py')


def missing_browser():
    """Why the browser tests cannot run here (None when they can)."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return 'Chromium not found at %s (apt-get install chromium)' % CHROMIUM
    if importlib.util.find_spec('playwright') is None:
        return "Playwright's Python package is not installed (pip install playwright)"
    return None


def require_browser():
    reason = missing_browser()
    if reason is None:
        return
    if os.environ.get('CAFFELITE_REQUIRE_BROWSER') == '1':
        pytest.fail('CAFFELITE_REQUIRE_BROWSER=1 but ' + reason, pytrace=False)
    pytest.skip(reason)


def make_data_root(root):
    """``root/images``: three classes of 28x28 gray images and one file
    that is not an image; ``root/one_class``: a folder of a single class."""
    images = root / 'images'
    live.make_images(str(images))
    (images / 'light' / 'broken.png').write_bytes(b'not a png at all')
    live.make_images(str(root / 'one_class'), per_class=3)
    for extra in live.CLASSES[1:]:
        shutil.rmtree(root / 'one_class' / extra)
    return root


@pytest.fixture(scope='module')
def browser():
    require_browser()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    """The running server (a tests/server LiveServer) and its data root."""
    require_browser()
    root = make_data_root(tmp_path_factory.mktemp('pages-data'))
    server = live.LiveServer(tmp_path_factory.mktemp('pages-srv') / 'jobs',
                             '--data-root', root).start()
    server.data_root = root
    yield server
    server.stop()


@pytest.fixture(scope='module')
def shots(tmp_path_factory):
    """The folder of the pages' screenshots (kept by pytest's tmp dir)."""
    return tmp_path_factory.mktemp('screenshots')


@pytest.fixture
def page(browser, site):
    """A fresh browser tab logged in as 'student'; fails the test on any
    JavaScript error of the page."""
    context = browser.new_context(base_url=site.base, viewport={'width': 1280, 'height': 900})
    context.add_cookies([{'name': 'username', 'value': 'student', 'url': site.base}])
    tab = context.new_page()
    tab.set_default_timeout(30000)
    errors = []
    tab.on('pageerror', lambda e: errors.append(str(e)))
    tab.on('dialog', lambda d: d.accept())
    yield tab
    context.close()
    assert not errors, 'JavaScript errors: %s' % errors


def shoot(page, shots, name):
    """Save a full-page screenshot of ``page`` as shots/<name>.png."""
    page.screenshot(path=str(shots / (name + '.png')), full_page=True)


def unlabeled_controls(page):
    """Names of the visible form controls of the page that have no label."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('input, select, textarea'))
        .filter((el) => el.type !== 'hidden' && el.offsetParent !== null)
        .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                        && !el.getAttribute('aria-labelledby'))
        .map((el) => el.name || el.id)""")


def chart_points(page, chart='loss-chart'):
    return page.evaluate("(id) => document.getElementById(id).lineChart.points()", chart)
