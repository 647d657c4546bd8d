"""DIGITS' textfile dataset form in headless Chromium: the lists uploaded
(a bad label shown beside its field), then server lists into an HDF5
database, whose encoding select follows DIGITS (raw pixels only)."""
import os

import pytest

from browser_harness import (browser, live, page, shoot, shots, site,  # noqa: F401
                             unlabeled_controls)

pytestmark = pytest.mark.filterwarnings('ignore::ResourceWarning')


def write_lists(root):
    """root/lists/{train,val,labels}.txt of the generated images."""
    folder = root / 'lists'
    folder.mkdir(exist_ok=True)
    for split, numbers in (('train', range(6)), ('val', range(6, 8))):
        (folder / (split + '.txt')).write_text(''.join(
            '%s/%03d.png %d\n' % (cls, i, label)
            for label, cls in enumerate(live.CLASSES) for i in numbers))
    (folder / 'labels.txt').write_text('\n'.join(live.CLASSES) + '\n')
    return folder


def test_textfile_form_uploads_then_server_lists_into_hdf5(page, site, shots, tmp_path):
    lists = write_lists(site.data_root)
    images = str(site.data_root / 'images')
    page.goto('/datasets/images/classification/new')
    page.check('#method-textfile')
    assert page.is_visible('#textfile_train_images') and not page.is_visible('#folder_pct_val')
    assert page.is_checked('#textfile_use_val') and not page.is_visible('#textfile_test_images')
    assert not page.is_visible('#compression')
    bad = tmp_path / 'bad.txt'
    bad.write_text('light/000.png 0\nlight/001.png 9\n')
    page.set_input_files('#textfile_train_images', str(bad))
    page.set_input_files('#textfile_val_images', str(lists / 'val.txt'))
    page.set_input_files('#textfile_labels_file', str(lists / 'labels.txt'))
    page.fill('#textfile_train_folder', images)
    page.fill('#textfile_val_folder', images)
    page.fill('#dataset_name', 'from lists')
    assert unlabeled_controls(page) == []
    shoot(page, shots, 'textfile-form-upload')
    page.click('button[type=submit]')
    error = page.wait_for_selector('#error-textfile_train_images')
    assert error.inner_text() == 'bad.txt:2: label 9 but the labels file has 3 line(s) ' \
                                 '(labels 0 to 2)'
    shoot(page, shots, 'textfile-form-error')

    page.check('#textfile_use_local_files')
    assert page.is_visible('#textfile_local_train_images')
    assert not page.is_visible('#textfile_train_images')
    page.fill('#textfile_local_train_images', str(lists / 'train.txt'))
    page.fill('#textfile_local_val_images', str(lists / 'val.txt'))
    page.fill('#textfile_local_labels_file', str(lists / 'labels.txt'))
    page.select_option('#resize_channels', '1')
    page.fill('#resize_width', '28')
    page.fill('#resize_height', '28')
    page.select_option('#backend', 'hdf5')
    assert page.is_disabled('#encoding') and page.input_value('#encoding') == 'none'
    page.select_option('#compression', 'gzip')
    shoot(page, shots, 'textfile-form-hdf5')
    # Enter in the name field submits: the resize previews, reloading after
    # the size changes, may move the button under a click
    page.press('#dataset_name', 'Enter')
    page.wait_for_url('**/datasets/*')
    dataset = page.url.rsplit('/', 1)[1]
    assert site.wait(dataset)['status'] == 'Done'
    page.wait_for_selector('#db-backend')
    assert page.inner_text('#db-backend') == 'HDF5, gzip compression'
    assert os.path.isfile(os.path.join(site.jobs_dir, dataset, 'val_db', 'list.txt'))
    shoot(page, shots, 'textfile-dataset-page')
