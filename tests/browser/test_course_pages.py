"""The DLI course path through DIGITS' pages, clicked in a real headless
Chromium against a real server: a dataset from a folder of three classes,
LeNet for 2 epochs, one image tested (top 5 and layer visualizations), a
list tested (confusion matrix), a clone with more epochs watched, aborted
and resumed, a pretrained model trained from, and a custom network whose
syntax error shows at its line. Each page is saved as a screenshot.
The jobs a step starts from (the dataset, the trained LeNet) come from
module fixtures made through the JSON API, so any test also runs alone."""
import re

import pytest

from browser_harness import (browser, chart_points, live, page, shoot, shots, site,  # noqa: F401
                             unlabeled_controls)

pytestmark = pytest.mark.filterwarnings('ignore::ResourceWarning')
TRAINING_TIMEOUT = 120000
# An abort waits for the training step under way (seconds on a loaded machine).
ABORT_TIMEOUT = 30000


@pytest.fixture(scope='module')
def shapes(site):
    """The id of a dataset job of the three classes, made through the JSON
    API as the course's first step makes it in the page, for the steps
    after it (each test can run alone)."""
    job_id = live.make_dataset(site, site.data_root / 'images', name='shapes',
                               username='student')
    assert site.wait(job_id)['status'] == 'Done'
    return job_id


@pytest.fixture(scope='module')
def lenet(site, shapes):
    """The id of LeNet trained 2 epochs on ``shapes`` (the course's model),
    made through the JSON API."""
    job = live.make_model(site, shapes, username='student')
    assert site.wait(job['id'], timeout=TRAINING_TIMEOUT / 1000)['status'] == 'Done'
    return job['id']


def expect_status(page, status, timeout=TRAINING_TIMEOUT):
    from playwright.sync_api import expect
    expect(page.locator('#job-status-badge')).to_have_text(status, timeout=timeout)


def test_home_tabs_work_from_the_keyboard(page, shots):
    page.goto('/')
    page.focus('#tab-datasets')
    page.keyboard.press('ArrowRight')
    assert page.is_visible('#panel-models') and not page.is_visible('#panel-datasets')
    assert page.evaluate('document.activeElement.id') == 'tab-models'
    page.keyboard.press('ArrowRight')
    assert page.is_visible('#upload-pretrained')
    assert unlabeled_controls(page) == []
    shoot(page, shots, 'home')


def test_dataset_form_says_what_is_wrong_with_a_folder(page, site):
    page.goto('/datasets/images/classification/new')
    page.fill('#folder_train', '/etc')
    page.click('#check-folder')
    page.wait_for_selector('.field-error[data-for=folder_train]')
    assert 'outside the allowed data roots' in page.inner_text('.field-error[data-for=folder_train]')
    assert page.get_attribute('#folder_train', 'aria-invalid') == 'true'
    page.fill('#folder_train', str(site.data_root / 'one_class'))
    page.click('#check-folder')
    page.wait_for_selector('.field-error[data-for=folder_train] >> text=needs 2 or more')
    page.fill('#dataset_name', 'nothing')
    page.click('button[type=submit]')
    page.wait_for_selector('.field-error[data-for=folder_train]')
    assert page.url.endswith('/datasets/images/classification/new')
    assert 'nothing' not in [d['name'] for d in site.client.get('/index.json').json()['datasets']]


def test_dataset_form_separate_val_folder(page, site):
    """The validation folder's fields show only while its box is checked,
    and the server's answer about that folder shows beside it."""
    page.goto('/datasets/images/classification/new')
    assert not page.is_visible('#folder_val') and not page.is_visible('#folder_test')
    page.check('#has_val_folder')
    assert page.is_visible('#folder_val') and not page.is_visible('#folder_test')
    assert unlabeled_controls(page) == []
    page.fill('#folder_train', str(site.data_root / 'images'))
    page.fill('#folder_val', str(site.data_root))
    page.fill('#dataset_name', 'val-folder')
    page.click('button[type=submit]')
    error = page.wait_for_selector('.field-error[data-for=folder_val]')
    assert 'the training images do not: images, one_class' in error.inner_text()
    page.uncheck('#has_val_folder')
    assert not page.is_visible('#folder_val')


def test_make_a_dataset_from_a_folder(page, site, shots):
    page.context.clear_cookies()
    page.goto('/datasets/images/classification/new')
    assert unlabeled_controls(page) == []
    page.select_option('#resize_channels', '1')
    page.fill('#resize_width', '28')
    page.fill('#resize_height', '28')
    page.fill('#folder_train', str(site.data_root / 'images'))
    page.click('#check-folder')
    summary = page.wait_for_selector('#folder-summary .alert')
    assert '91 images in 3 classes' in page.inner_text('#folder-summary')
    assert 'broken.png' in summary.inner_text()
    page.wait_for_function("document.querySelector('img[data-mode=fill]').src.startsWith('data:')")
    shoot(page, shots, 'dataset_new')
    page.fill('#dataset_name', 'shapes')
    page.click('button[type=submit]')
    page.wait_for_selector('#login-dialog[open]')
    page.fill('#login-username', 'student')
    page.keyboard.press('Enter')
    page.wait_for_url('**/datasets/2*')
    expect_status(page, 'Done', 60000)
    assert page.locator('.bars').count() == 2
    assert page.locator('.bars').first.locator('.bar').count() == 3
    assert 'broken.png' in page.inner_text('#skipped-images')
    assert page.locator('.gallery figure').count() == 24
    assert page.evaluate("document.querySelector('.mean-image').naturalWidth") == 28
    assert unlabeled_controls(page) == []
    shoot(page, shots, 'dataset_show')
    page.click('text=Explore the db >> nth=0')
    page.select_option('#label', label='stripes')
    with page.expect_navigation():                      # Show submits the form: a new page
        page.click('text=Show')
    captions = page.locator('.gallery figcaption').all_inner_texts()
    assert captions and set(captions) == {'stripes'}
    shoot(page, shots, 'dataset_explore')


def test_home_follows_new_jobs_live(page, site):
    page.goto('/')
    r = site.client.post('/datasets/images/classification.json', data=dict(
        username='student', method='folder', folder_train=str(site.data_root / 'images'),
        dataset_name='live', resize_channels='1', resize_width='16', resize_height='16'))
    new = r.json()['id']
    row = page.locator('tr[data-job="%s"]' % new)
    from playwright.sync_api import expect
    expect(row.locator('.badge')).to_have_text('Done', timeout=60000)
    assert row.locator('.pct').inner_text() == '100%'
    assert site.client.delete('/datasets/%s' % new, params={'username': 'student'}).status_code == 200


def series_axes(page):
    """{series name: [axis (0 left, 1 right), scale]} of the loss chart."""
    return page.evaluate("Object.fromEntries(document.getElementById('loss-chart').lineChart"
                         ".series.map((s) => [s.name, [s.axis, s.scale]]))")


def test_train_lenet_for_two_epochs(page, shots, shapes):
    page.goto('/models/images/classification/new')
    assert unlabeled_controls(page) == []
    page.select_option('#dataset', shapes)
    page.check('#standard-lenet')
    for name, value in (('train_epochs', '2'), ('learning_rate', '0.02'), ('batch_size', '16'),
                        ('random_seed', '1'), ('model_name', 'lenet')):
        page.fill('#' + name, value)
    page.wait_for_function("document.getElementById('lr-preview').lineChart.points() === 101")
    shoot(page, shots, 'model_new')
    page.click('button[type=submit]')
    page.wait_for_url('**/models/2*')
    expect_status(page, 'Done')
    assert chart_points(page) > 0 and chart_points(page, 'lr-chart') > 0
    assert 'loss (train)' in page.inner_text('#loss-chart .legend')
    assert 'accuracy (val)' in page.inner_text('#loss-chart .legend')
    assert series_axes(page) == {'loss (train)': [0, 1], 'loss (val)': [0, 1],
                                 'accuracy (val)': [1, 100]}
    assert page.locator('#snapshot_epoch option').first.inner_text() == 'Epoch #2'
    assert 'snapshot_iter_' in page.inner_text('#job-files')
    assert unlabeled_controls(page) == []
    shoot(page, shots, 'model_show')
    # As in DIGITS, the axis follows the type of the layer that makes an
    # output, not its name: GoogLeNet's Accuracy 'loss3/top-1' goes on the
    # accuracy axis in percent, DetectNet's Python-layer 'mAP' on the left.
    page.evaluate("""() => modelCurves({train_epochs: 2, output_types: {
        'loss3/top-1': 'Accuracy', 'mAP': 'Python'}}, [100, 50]).load(
        {train_outputs: {}, val_outputs: {'loss3/top-1': [[1, 0.5]], 'mAP': [[1, 40]]}})""")
    assert series_axes(page) == {'loss3/top-1 (val)': [1, 100], 'mAP (val)': [0, 1]}


def test_test_one_image_and_its_layers(page, site, shots, lenet):
    page.goto('/models/' + lenet)
    page.click('[data-test=classify_one]')
    alert = page.wait_for_selector('.alert.error')
    assert 'image_path or image_file' in alert.inner_text()
    page.fill('#image_path', str(site.data_root / 'images' / 'light' / '003.png'))
    page.check('#show_visualizations')
    page.click('[data-test=classify_one]')
    page.wait_for_selector('#results .predictions li')
    labels = page.locator('#results .predictions .label').all_inner_texts()
    assert 'light' in labels[:5] and len(labels) == 3
    layers = page.locator('#results table.vis tbody tr')
    assert layers.count() >= 10
    assert 'Weights (Convolution layer)' in page.inner_text('#results table.vis')
    assert 'learned parameters' in page.inner_text('#results')
    assert page.evaluate("document.querySelector('#results table.vis img').naturalWidth") > 0
    shoot(page, shots, 'classify_one')


def test_test_a_list_with_labels(page, site, shots, shapes, lenet):
    page.goto('/models/' + lenet)
    page.set_input_files('#image_list', site.jobs_dir + '/' + shapes + '/val.txt')
    page.click('[data-test=classify_many]')
    page.wait_for_selector('#results #confusion-matrix')
    assert re.match(r'\d+(\.\d+)?%', page.inner_text('#top1-accuracy'))
    assert page.locator('#confusion-matrix tbody tr').count() == 3
    assert page.locator('#per-class-accuracy tbody tr').count() == 3
    page.fill('#top_n', '4')
    page.click('[data-test=top_n]')
    page.wait_for_selector('#results .gallery figure img')
    assert page.locator('#results .gallery').first.locator('figure').count() == 4
    shoot(page, shots, 'classify_many')


def test_clone_watch_abort_and_resume(page, shots, lenet):
    page.goto('/models/' + lenet)
    page.click('text=Clone Job')
    page.wait_for_url('**/models/images/classification/new?clone=*')
    assert page.input_value('#train_epochs') == '2' and page.is_checked('#standard-lenet')
    # far more than it can train before the abort, even on a fast machine
    page.fill('#train_epochs', '5000')
    page.fill('#snapshot_interval', '50')
    page.fill('#model_name', 'lenet longer')
    page.click('button[type=submit]')
    page.wait_for_url('**/models/2*')
    expect_status(page, 'Running')
    page.wait_for_function("document.getElementById('loss-chart').lineChart.points() > 0",
                           timeout=TRAINING_TIMEOUT)
    first = chart_points(page)
    page.wait_for_function("(n) => document.getElementById('loss-chart').lineChart.points() > n",
                           arg=first, timeout=TRAINING_TIMEOUT)
    shoot(page, shots, 'model_training')
    page.click('[data-action=abort]')
    expect_status(page, 'Aborted', ABORT_TIMEOUT)
    page.click('[data-action=resume]')
    expect_status(page, 'Running')
    resumed = chart_points(page)
    page.wait_for_function("(n) => document.getElementById('loss-chart').lineChart.points() > n",
                           arg=resumed, timeout=TRAINING_TIMEOUT)
    page.click('[data-action=abort]')
    expect_status(page, 'Aborted', ABORT_TIMEOUT)
    page.click('[data-action=delete]')
    page.wait_for_url('**/')


def test_a_region_refresh_keeps_the_focused_button_and_a_click_under_way(page, lenet):
    """A refresh of the status panel (at each snapshot and status change)
    replaces what changed and leaves the unchanged buttons in place: the
    focus stays on them, and a click pressed before a refresh and released
    after it still clicks (a swapped button lost it: an Abort that never
    happened left a loaded machine's test page 'Running')."""
    page.goto('/models/' + lenet)
    page.evaluate("document.querySelector('#job-progress .pct').textContent = '0%'")
    page.focus('#job-status [data-action=delete]')
    page.evaluate('CL.refreshRegions()')
    assert page.inner_text('#job-progress .pct') == '100%'
    assert page.evaluate('document.activeElement.dataset.action') == 'delete'
    box = page.locator('#job-status a:text("Clone Job")').bounding_box()
    page.mouse.move(box['x'] + box['width'] / 2, box['y'] + box['height'] / 2)
    page.mouse.down()
    page.evaluate('CL.refreshRegions()')
    page.mouse.up()
    page.wait_for_url('**/models/images/classification/new?clone=*')


def test_pretrained_model_and_a_model_from_it(page, shots, shapes, lenet):
    page.goto('/models/' + lenet)
    page.click('[data-test=to_pretrained]')
    page.wait_for_url('**/pretrained_models/*')
    shoot(page, shots, 'pretrained')
    page.click('text=Train a new model from it')
    assert page.get_attribute('#tab-pretrained', 'aria-selected') == 'true'
    assert page.is_checked('#panel-pretrained input[type=radio]')
    page.select_option('#dataset', shapes)
    page.fill('#train_epochs', '1')
    page.fill('#model_name', 'from pretrained')
    page.click('button[type=submit]')
    page.wait_for_url('**/models/2*')
    expect_status(page, 'Done')
    assert 'model.caffemodel' in page.inner_text('#main')


def test_custom_network_syntax_error_shows_at_its_line(page, site, shots, shapes):
    models = len(site.client.get('/index.json').json()['models'])
    page.goto('/models/images/classification/new')
    page.select_option('#dataset', shapes)
    page.click('button[data-customize=lenet]')
    page.wait_for_selector('#panel-custom:not([hidden])')
    text = page.input_value('#custom_network')
    page.click('#visualize-network')
    page.wait_for_function("document.querySelector('#network-drawing img')?.naturalWidth > 0")
    page.click('#network-dialog-close')
    lines = text.split('\n')
    line = next(i for i, l in enumerate(lines, 1) if 'num_output: 20' in l)
    lines[line - 1] = lines[line - 1].replace('num_output', 'num_outptu')
    page.fill('#custom_network', '\n'.join(lines))
    page.fill('#model_name', 'broken')
    page.click('button[type=submit]')
    page.wait_for_selector('#network-check.field-error >> text=Line %d' % line)
    assert 'num_outptu' in page.inner_text('#network-check')
    marked = page.locator('#editor .gutter div.error')
    assert marked.count() == 1 and marked.inner_text() == str(line)
    shoot(page, shots, 'custom_network_error')
    assert len(site.client.get('/index.json').json()['models']) == models
