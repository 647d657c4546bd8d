"""Object detection through DIGITS' pages in headless Chromium: the
object-detection dataset form filled and submitted, then a DetectNet
(trained through the JSON API) tested on one image from its model page,
whose boxes are drawn over the image."""
import pytest

from browser_harness import browser, live, page, shoot, shots, site  # noqa: F401

pytestmark = pytest.mark.filterwarnings('ignore::ResourceWarning')


@pytest.fixture(scope='module')
def kitti(site):
    root = site.data_root / 'kitti'
    live.write_kitti(str(root / 'train'), 8, 0)
    live.write_kitti(str(root / 'val'), 4, 1)
    return root


def test_detection_dataset_model_and_boxes(page, site, shots, kitti):
    page.goto('/')
    page.click('text=New Dataset: Images › Object Detection')
    for split in ('train', 'val'):
        for kind in ('image', 'label'):
            page.fill('#%s_%s_folder' % (split, kind),
                      str(kitti / split / ('images' if kind == 'image' else 'labels')))
    page.fill('#padding_image_width', '64')
    page.fill('#padding_image_height', '32')
    page.fill('#val_min_box_size', '4')
    page.fill('#custom_classes', 'dontcare,car')
    page.fill('#dataset_name', 'boxes')
    shoot(page, shots, 'detection-dataset-form')
    page.click('button[type=submit]')
    page.wait_for_url('**/datasets/*')
    dataset = page.url.rsplit('/', 1)[1]
    assert site.wait(dataset)['status'] == 'Done'
    # the page reloads itself when the job's status changes
    page.wait_for_selector('text=Create train DB')
    r = site.client.post('/models/images/generic.json', data=dict(
        model_name='detectnet', dataset=dataset, method='custom', username='student',
        custom_network=live.tiny_detectnet(), train_epochs='1', batch_size='4',
        solver_type='ADAM', use_mean='none', random_seed='1'))
    assert r.status_code == 200, r.text
    model = r.json()['id']
    assert site.wait(model)['status'] == 'Done'
    page.goto('/models/%s' % model)
    page.fill('#image_path', str(kitti / 'val' / 'images' / '000.png'))
    page.click('button[data-test=infer_one]')
    page.wait_for_selector('#results svg#bbox-view image')
    assert 'bounding box' in page.inner_text('#box-summary')
    shoot(page, shots, 'detection-test-one')
