"""DIGITS' Sunnybrook data plug-in ("New Dataset > Images > Sunnybrook LV
Segmentation", its medical-imaging walkthrough): the Sunnybrook Cardiac MR
Left Ventricle Segmentation Challenge's 16-bit DICOM images and its
expert-drawn inner contours, made into the pairs of a generic dataset
(:func:`.processing.write_pair_dataset`):

* a contour file ``<contours>/<case>/contours-manual/IRCCI-expert/
  IM-0001-NNNN-icontour-manual.txt`` holds the ``x y`` points of a polygon;
* its image is ``<images>/<case>/IM-<series>-NNNN.dcm``, the case's short
  axis series being the challenge's (:data:`SAX_SERIES`), the case named
  without leading zeros (``SC-HF-I-01`` -> ``SC-HF-I-1``);
* the feature is the image's pixels (gray, or copied into three channels
  for 'RGB'), the label the polygon filled with 1 on 0, both H x W.

Reading DICOM needs pydicom (``pip install caffelite[medical]``).
"""
import os
import re

import numpy as np

from ..errors import CaffeError

# The short-axis series of each case of the challenge's training set whose
# images the inner contours were drawn on (the plug-in's table).
SAX_SERIES = {
    'SC-HF-I-1': '0004', 'SC-HF-I-2': '0106', 'SC-HF-I-4': '0116', 'SC-HF-I-40': '0134',
    'SC-HF-NI-3': '0379', 'SC-HF-NI-4': '0501', 'SC-HF-NI-34': '0446', 'SC-HF-NI-36': '0474',
    'SC-HYP-1': '0550', 'SC-HYP-3': '0650', 'SC-HYP-38': '0734', 'SC-HYP-40': '0755',
    'SC-N-2': '0898', 'SC-N-3': '0915', 'SC-N-40': '0944',
}
CONTOUR = re.compile(r'IM-0001-(\d{4})-icontour-manual\.txt$')
CONVERSIONS = ('RGB', 'L')


def case_name(folder):
    """A case folder's name as the series table spells it: each number
    without its leading zeros ('SC-HF-I-01' -> 'SC-HF-I-1')."""
    return '-'.join(str(int(part)) if part.isdigit() else part for part in folder.split('-'))


def contour_pairs(image_folder, contour_folder):
    """[(DICOM image, contour file)] of every inner contour under
    ``contour_folder`` (sorted); CaffeError naming a contour whose path is
    not the challenge's layout, whose case is not in the series table or
    whose image is missing."""
    pairs = []
    for root, _, names in os.walk(contour_folder, followlinks=True):
        for name in sorted(names):
            match = CONTOUR.match(name)
            if match:
                pairs.append((_image_of(os.path.join(root, name), match.group(1), image_folder),
                              os.path.join(root, name)))
    if not pairs:
        raise CaffeError('no contour files (IM-0001-NNNN-icontour-manual.txt) in %s'
                         % contour_folder)
    return sorted(pairs, key=lambda pair: pair[1])


def _image_of(contour, number, image_folder):
    parts = os.path.normpath(contour).split(os.sep)
    if len(parts) < 4 or parts[-3:-1] != ['contours-manual', 'IRCCI-expert']:
        raise CaffeError('%s: a contour file lies in <case>/contours-manual/IRCCI-expert/'
                         % contour)
    case = case_name(parts[-4])
    if case not in SAX_SERIES:
        raise CaffeError('%s: case %s is not one of the challenge\'s (%s)'
                         % (contour, case, ', '.join(sorted(SAX_SERIES))))
    image = os.path.join(image_folder, case, 'IM-%s-%s.dcm' % (SAX_SERIES[case], number))
    if not os.path.isfile(image):
        raise CaffeError('%s: its image %s does not exist' % (contour, image))
    return image


def read_dicom(path, name=None):
    """The H x W int32 pixels of a DICOM image (a path, or a file object
    that ``name`` names in errors)."""
    try:
        import pydicom
    except ImportError:
        raise CaffeError('reading %s needs pydicom: pip install caffelite[medical]'
                         % (name or path)) from None
    try:
        return pydicom.dcmread(path).pixel_array.astype(np.int32)
    except Exception as e:  # pydicom raises many kinds for a bad file
        raise CaffeError('cannot read the DICOM image %s: %s' % (name or path, e)) from None


def contour_label(path, shape):
    """The H x W uint8 label of a contour file: its polygon (points
    truncated to whole pixels) filled with 1, the rest 0."""
    import cv2
    try:
        points = np.loadtxt(path, ndmin=2).astype(np.int32)
    except ValueError as e:
        raise CaffeError('%s: %s' % (path, e)) from None
    if points.shape[1] != 2:
        raise CaffeError('%s: expected "x y" lines, got %d values a line'
                         % (path, points.shape[1]))
    label = np.zeros(shape, np.uint8)
    cv2.fillPoly(label, [points], 1)
    return label


def load_pair(pair, conversion):
    """(feature, label) arrays of a (DICOM image, contour file) pair: the
    image gray (H x W) or, for 'RGB', in three equal channels."""
    image = read_dicom(pair[0])
    return feature(image, conversion), contour_label(pair[1], image.shape)


def feature(image, conversion):
    """The feature of H x W DICOM pixels: as they are ('L'), or copied
    into three channels (H x W x 3, 'RGB')."""
    if conversion == 'RGB':
        return np.repeat(image[:, :, np.newaxis], 3, axis=2)
    return image


def is_dicom(head):
    """Whether the first bytes of a file are a DICOM file's (its 'DICM'
    marker after the 128-byte preamble)."""
    return head[128:132] == b'DICM'
