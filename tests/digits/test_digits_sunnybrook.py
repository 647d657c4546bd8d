"""DIGITS' Sunnybrook plug-in: the challenge's folder layout of DICOM
images and contour files, made into (feature, label) pairs of a generic
dataset. The files are generated: 16-bit DICOM images written by pydicom
and square contours."""
import numpy as np
import pytest

from caffelite.codec import datum_to_array
from caffelite.digits import processing, sunnybrook
from caffelite.errors import CaffeError
from caffelite.lmdbs import open_readonly
from caffelite.proto import caffe_pb2


def write_dicom(path, pixels):
    """A 16-bit MONOCHROME2 DICOM file of H x W ``pixels``."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.4'    # MR image
    meta.MediaStorageSOPInstanceUID = generate_uid()
    image = Dataset()
    image.file_meta = meta
    image.Rows, image.Columns = pixels.shape
    image.BitsAllocated, image.BitsStored, image.HighBit = 16, 16, 15
    image.PixelRepresentation, image.SamplesPerPixel = 0, 1
    image.PhotometricInterpretation = 'MONOCHROME2'
    image.PixelData = pixels.astype('<u2').tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save_as(str(path), enforce_file_format=True)


def write_challenge(root, cases=('SC-HF-I-01', 'SC-N-03'), images_per_case=3, size=16):
    """``root/images/<case>/IM-<series>-NNNN.dcm`` (16-bit ramps) and
    ``root/contours/<case>/contours-manual/IRCCI-expert/...`` (a square
    from (2+i, 3) to (9+i, 10) for image i+1), as the challenge lays them
    out. Returns (image folder, contour folder)."""
    for case in cases:
        short = sunnybrook.case_name(case)
        for i in range(images_per_case):
            number = 20 + i
            pixels = np.arange(size * size).reshape(size, size) * (i + 1) + 1000
            write_dicom(root / 'images' / short / ('IM-%s-%04d.dcm' % (
                sunnybrook.SAX_SERIES[short], number)), pixels)
            contour = (root / 'contours' / case / 'contours-manual' / 'IRCCI-expert' /
                       ('IM-0001-%04d-icontour-manual.txt' % number))
            contour.parent.mkdir(parents=True, exist_ok=True)
            contour.write_text(''.join('%.2f %.2f\n' % (x + i, y) for x, y in (
                (2.7, 3.2), (9.9, 3.2), (9.9, 10.5), (2.7, 10.5))))
    return root / 'images', root / 'contours'


def test_case_names_as_the_series_table_spells_them():
    assert sunnybrook.case_name('SC-HF-I-01') == 'SC-HF-I-1'
    assert sunnybrook.case_name('SC-HYP-40') == 'SC-HYP-40'


def test_pairs_and_their_arrays(tmp_path):
    """Each contour finds its case's DICOM image; the label is the polygon
    (points truncated) filled with 1; RGB copies the 16-bit pixels into
    three channels."""
    images, contours = write_challenge(tmp_path)
    pairs = sunnybrook.contour_pairs(str(images), str(contours))
    assert len(pairs) == 6
    assert pairs[0][0] == str(images / 'SC-HF-I-1' / 'IM-0004-0020.dcm')
    feature, label = sunnybrook.load_pair(pairs[1], 'L')
    assert feature.dtype == np.int32 and feature[0, 1] == 1002 and feature.shape == (16, 16)
    expected = np.zeros((16, 16), np.uint8)
    expected[3:11, 3:11] = 1                 # x 2.7+1 -> 3 ... 9.9+1 -> 10, y 3 ... 10
    np.testing.assert_array_equal(label, expected)
    rgb, _ = sunnybrook.load_pair(pairs[1], 'RGB')
    assert rgb.shape == (16, 16, 3) and (rgb[..., 2] == feature).all()


def test_layout_errors_name_the_contour(tmp_path):
    images, contours = write_challenge(tmp_path, cases=('SC-N-3',))
    stray = contours / 'SC-X-9' / 'contours-manual' / 'IRCCI-expert'
    stray.mkdir(parents=True)
    (stray / 'IM-0001-0001-icontour-manual.txt').write_text('1 1\n')
    with pytest.raises(CaffeError, match="SC-X-9.*case SC-X-9 is not one of the challenge's"):
        sunnybrook.contour_pairs(str(images), str(contours))
    (stray / 'IM-0001-0001-icontour-manual.txt').unlink()
    (images / 'SC-N-3' / 'IM-0915-0021.dcm').unlink()
    with pytest.raises(CaffeError, match='IM-0001-0021-icontour-manual.txt: its image .*'
                                         'IM-0915-0021.dcm does not exist'):
        sunnybrook.contour_pairs(str(images), str(contours))
    with pytest.raises(CaffeError, match='no contour files'):
        sunnybrook.contour_pairs(str(images), str(images))


def test_sixteen_bit_features_are_stored_raw(tmp_path):
    """Raw 16-bit features go to float_data (as DIGITS' array_to_datum
    does), 0/1 labels to bytes; PNG of 16-bit pixels is refused, naming
    the image."""
    images, contours = write_challenge(tmp_path, cases=('SC-N-3',))
    pairs = sunnybrook.contour_pairs(str(images), str(contours))

    def load(pair):
        return sunnybrook.load_pair(pair, 'L')
    processing.write_pair_dataset(str(tmp_path / 'out'), {'train': pairs}, load,
                                  feature_encoding='none')
    with open_readonly(str(tmp_path / 'out' / 'train_db' / 'features')).begin() as txn:
        first = caffe_pb2.Datum.FromString(next(iter(txn.cursor()))[1])
    assert len(first.float_data) == 256 and first.float_data[1] == 1001
    with open_readonly(str(tmp_path / 'out' / 'train_db' / 'labels')).begin() as txn:
        label = datum_to_array(caffe_pb2.Datum.FromString(next(iter(txn.cursor()))[1]))
    assert label.dtype == np.uint8 and label.sum() == 64
    with pytest.raises(CaffeError, match='IM-0915-0020.dcm: png encoding takes 8-bit pixels'):
        processing.write_pair_dataset(str(tmp_path / 'png'), {'train': pairs}, load,
                                      feature_encoding='png')


def test_mean_of_sixteen_bit_features_wraps_as_digits(tmp_path):
    """DIGITS' generic writer stores the rounded mean cast to 8 bits, so a
    mean of 16-bit features wraps modulo 256; caffelite's file holds the
    same values."""
    from caffelite.codec import load_mean
    images, contours = write_challenge(tmp_path, cases=('SC-N-3',))
    pairs = sunnybrook.contour_pairs(str(images), str(contours))
    processing.write_pair_dataset(str(tmp_path / 'out'), {'train': pairs},
                                  lambda pair: sunnybrook.load_pair(pair, 'L'),
                                  feature_encoding='none')
    ramp = np.arange(256.0).reshape(1, 16, 16)
    true_mean = np.mean([ramp * k + 1000 for k in (1, 2, 3)], axis=0)
    np.testing.assert_array_equal(
        load_mean(str(tmp_path / 'out' / 'train_db' / 'mean.binaryproto')),
        np.around(true_mean).astype(np.int64) % 256)
