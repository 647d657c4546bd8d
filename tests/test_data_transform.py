"""caffelite.data_transform: Caffe's DataTransformer (crop, mirror, mean,
scale), centered in TEST, random in TRAIN."""
import numpy as np

import caffelite as caffe
from caffelite.data_transform import DataTransformer
from caffelite.proto import caffe_pb2


def test_transformer_crop_mirror_mean_scale():
    param = caffe_pb2.TransformationParameter(crop_size=2, scale=0.5, mean_value=[1.0])
    images = np.arange(2 * 1 * 4 * 4, dtype=np.uint8).reshape(2, 1, 4, 4)
    out = DataTransformer(param, caffe.TEST)(images)
    np.testing.assert_allclose(out, (images[:, :, 1:3, 1:3] - 1.0) * 0.5)
    param.mirror = True
    caffe.set_random_seed(3)
    train = DataTransformer(param, caffe.TRAIN)(images)
    assert train.shape == (2, 1, 2, 2)
    for image, crop in zip(images, train):
        windows = [(image[0, r:r + 2, c:c + 2] - 1.0) * 0.5 for r in range(3) for c in range(3)]
        assert any(np.array_equal(crop[0], w) or np.array_equal(crop[0], w[:, ::-1])
                   for w in windows)
