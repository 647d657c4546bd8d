"""DIGITS' medical-imaging walkthrough in headless Chromium: a Sunnybrook
model's page tests a record of the validation set, and the answer is the
image-segmentation view (the class map painted over the input, its legend
and options)."""
import numpy as np
import pytest

from browser_harness import TESTS, _load, browser, page, shoot, shots, site  # noqa: F401

pytestmark = pytest.mark.filterwarnings('ignore::ResourceWarning')
# class 1 where a pixel exceeds 1100: a fixed two-class scorer (nothing to learn)
THRESHOLD_NET = '''
layer { name: "low" type: "Power" bottom: "data" top: "low" power_param { scale: 0 } }
layer { name: "high" type: "Power" bottom: "data" top: "high"
        power_param { scale: 0.001 shift: -1.1 } }
layer { name: "score" type: "Concat" bottom: "low" bottom: "high" top: "score" }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "score" bottom: "label" top: "loss"
        exclude { stage: "deploy" } }
'''


@pytest.fixture(scope='module')
def sunnybrook_model(site):
    files = _load('sunnybrook_pages_files', TESTS / 'digits' / 'test_digits_sunnybrook.py')
    images, contours = files.write_challenge(site.data_root / 'sunnybrook', images_per_case=5)
    r = site.client.post('/datasets/generic/create/image-sunnybrook.json', data=dict(
        dataset_name='lv', folder_pct_val='20', image_folder=str(images),
        contour_folder=str(contours), username='student'))
    dataset = r.json()['id']
    assert site.wait(dataset)['status'] == 'Done'
    r = site.client.post('/models/images/generic.json', data=dict(
        model_name='lv-threshold', dataset=dataset, method='custom', username='student',
        custom_network=THRESHOLD_NET, train_epochs='1', batch_size='4', use_mean='none'))
    assert r.status_code == 200, r.text
    assert site.wait(r.json()['id'])['status'] == 'Done'
    return r.json()['id']


def overlay_alphas(page):
    """(pixels painted opaque, pixels painted at all) of the first view's canvas."""
    return page.evaluate("""() => {
        const canvas = document.querySelector('#results .seg-view canvas');
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let opaque = 0, painted = 0;
        for (let i = 3; i < data.length; i += 4) { opaque += data[i] === 255; painted += data[i] > 0; }
        return [opaque, painted];
    }""")


def white_pixels(page):
    """How many pixels of the first view's canvas are painted white."""
    return page.evaluate("""() => {
        const canvas = document.querySelector('#results .seg-view canvas');
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let white = 0;
        for (let i = 0; i < data.length; i += 4) white += data[i] === 255 && data[i + 3] > 0;
        return white;
    }""")


def set_option(page, name, value):
    control = '#results [data-option=%s]' % name
    if name == 'colormap':
        page.check(control) if value else page.uncheck(control)
    else:
        page.fill(control, str(value))
        page.dispatch_event(control, 'input')


def input_pixels(page):
    """The input image as the page renders it (its filters applied): H x W x 3."""
    import io

    import numpy as np
    from PIL import Image
    shot = page.locator('#results .seg-input').screenshot(animations='disabled')
    return np.asarray(Image.open(io.BytesIO(shot)).convert('RGB'), np.float64)


def view_record(page, model):
    """Test the second validation record of ``model`` on its page and wait
    for the view to be painted."""
    page.goto('/models/%s' % model)
    page.select_option('#validation_record', index=1)
    assert page.input_value('#view_extension_id') == 'image-segmentation'
    page.click('button[data-test=infer_one]')
    page.wait_for_selector('#results .seg-view canvas')
    page.wait_for_function("""() => {
        const c = document.querySelector('#results .seg-view canvas');
        return c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v) => v > 0);
    }""")


def legend_colour(page):
    return page.eval_on_selector('#results .seg-class', 'e => getComputedStyle(e).color')


def test_sunnybrook_record_as_segmentation(page, shots, sunnybrook_model):
    view_record(page, sunnybrook_model)
    shoot(page, shots, 'sunnybrook-segmentation-defaults')
    assert 'left ventricle' in page.inner_text('#results .seg-legend')
    opaque, painted = overlay_alphas(page)
    # outlines opaque, the inside at opacity 0.3, the background (mask 0) clear
    assert 0 < opaque < painted < 256
    # a 2-class map is drawn white on black (DIGITS' binary segment)
    assert white_pixels(page) == painted
    set_option(page, 'mask', 1)
    assert overlay_alphas(page)[1] == 256 and white_pixels(page) == painted
    # the threshold moves the boundary along the signed distance: the
    # class shrinks above 0 and grows into the background below
    set_option(page, 'threshold', 2)
    shrunk = white_pixels(page)
    set_option(page, 'threshold', -2)
    grown = white_pixels(page)
    assert shrunk < painted < grown
    assert page.inner_text('#results [data-shows=threshold]') == '-2'
    set_option(page, 'mask', 0.4)
    set_option(page, 'line_width', 0)
    assert overlay_alphas(page)[0] == 0        # no outline: nothing opaque
    # gamma below 1 brightens the input; the colormap false-colours it
    before = input_pixels(page)
    set_option(page, 'gamma', 0.4)
    assert page.inner_text('#results [data-shows=gamma]') == '0.40'
    brighter = input_pixels(page)
    assert brighter.mean() > before.mean() + 10
    set_option(page, 'colormap', True)
    coloured = input_pixels(page)
    assert np.abs(coloured[:, :, 0] - coloured[:, :, 2]).max() > 100 >= np.abs(
        before[:, :, 0] - before[:, :, 2]).max()
    set_option(page, 'line_width', 3)
    shoot(page, shots, 'sunnybrook-segmentation-options')
    # DIGITS' legend hint: the entry of the class under the mouse black
    # (the last row is the class: pixels above 1100), gray over the background
    stack = page.locator('#results .seg-stack').bounding_box()
    page.mouse.move(stack['x'] + stack['width'] / 2, stack['y'] + stack['height'] - 2)
    assert legend_colour(page) == 'rgb(0, 0, 0)'
    page.mouse.move(stack['x'] + 2, stack['y'] + 2)
    assert legend_colour(page) == 'rgb(119, 119, 119)'
    # the options last to the next page, as DIGITS keeps them in local storage
    view_record(page, sunnybrook_model)
    assert page.input_value('#results [data-option=threshold]') == '-2'
    assert page.is_checked('#results [data-option=colormap]')
    page.click('#results .seg-reset')
    assert [page.input_value('#results [data-option=%s]' % name) for name in
            ('opacity', 'mask', 'threshold', 'line_width', 'gamma')] == ['0.3', '0', '0', '3', '1']
    assert not page.is_checked('#results [data-option=colormap]')
    assert overlay_alphas(page) == [opaque, painted]
