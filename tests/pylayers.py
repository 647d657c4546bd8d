"""Python layers used by the tests, loaded through python_param like pycaffe's."""
import numpy as np

import caffelite as caffe


class TimesTenLayer(caffe.Layer):
    """Multiplies by 10."""

    def setup(self, bottom, top):
        pass

    def reshape(self, bottom, top):
        top[0].reshape(*bottom[0].data.shape)

    def forward(self, bottom, top):
        top[0].data[...] = 10 * bottom[0].data

    def backward(self, top, propagate_down, bottom):
        bottom[0].diff[...] = 10 * top[0].diff


class ParamStrLayer(caffe.Layer):
    """Adds the value given in param_str."""

    def setup(self, bottom, top):
        self.value = float(self.param_str)

    def reshape(self, bottom, top):
        top[0].reshape(*bottom[0].data.shape)

    def forward(self, bottom, top):
        top[0].data[...] = self.value + bottom[0].data

    def backward(self, top, propagate_down, bottom):
        bottom[0].diff[...] = self.value * top[0].diff


class PhaseLayer(caffe.Layer):
    """Outputs its phase."""

    def setup(self, bottom, top):
        pass

    def reshape(self, bottom, top):
        top[0].reshape()

    def forward(self, bottom, top):
        top[0].data[()] = self.phase


class LearnedScaleLayer(caffe.Layer):
    """y = w * x with one learnable weight in self.blobs."""

    def setup(self, bottom, top):
        self.blobs.append(caffe.Blob((1,)))
        self.blobs[0].data[...] = 2

    def reshape(self, bottom, top):
        top[0].reshape(*bottom[0].data.shape)

    def forward(self, bottom, top):
        top[0].data[...] = self.blobs[0].data[0] * bottom[0].data

    def backward(self, top, propagate_down, bottom):
        self.blobs[0].diff[0] += np.sum(top[0].diff * bottom[0].data)
        bottom[0].diff[...] = self.blobs[0].data[0] * top[0].diff


class ChannelScaleLayer(caffe.Layer):
    """y[n, c] = w[c] * x[n, c], w a blob made with pycaffe's add_blob."""

    def setup(self, bottom, top):
        self.blobs.add_blob(bottom[0].data.shape[1])
        self.blobs[0].data[...] = 1

    def reshape(self, bottom, top):
        top[0].reshape(*bottom[0].data.shape)

    def forward(self, bottom, top):
        top[0].data[...] = self.blobs[0].data * bottom[0].data

    def backward(self, top, propagate_down, bottom):
        self.blobs[0].diff[...] += (top[0].diff * bottom[0].data).sum(axis=0)
        bottom[0].diff[...] = self.blobs[0].data * top[0].diff


class LookupLayer(caffe.Layer):
    """Fails in forward with the KeyError its own code raises."""

    def setup(self, bottom, top):
        self.table = {}

    def reshape(self, bottom, top):
        top[0].reshape(*bottom[0].data.shape)

    def forward(self, bottom, top):
        top[0].data[...] = self.table['missing entry']
