"""The schema: generated module up to date, Caffe-compatible numbers/defaults."""
import pathlib

import pytest

from caffelite.proto import caffe_pb2


def test_generated_module_matches_proto_file():
    pytest.importorskip('grpc_tools', reason='grpcio-tools is needed to compile caffe.proto')
    from caffelite.proto.regenerate import compile_descriptor, normalized
    from google.protobuf import descriptor_pb2
    fresh = compile_descriptor(str(pathlib.Path(__file__).resolve().parents[1] / 'proto'))
    shipped = normalized(descriptor_pb2.FileDescriptorProto.FromString(caffe_pb2.DESCRIPTOR.serialized_pb))
    assert shipped == fresh, ('caffelite/proto/caffe_pb2.py is stale: run '
                              'python -m caffelite.proto.regenerate')


@pytest.mark.parametrize('message, field, number', [
    ('NetParameter', 'layer', 100), ('NetParameter', 'layers', 2),
    ('NetParameter', 'input_shape', 8), ('LayerParameter', 'convolution_param', 106),
    ('LayerParameter', 'batch_norm_param', 139), ('LayerParameter', 'python_param', 130),
    ('SolverParameter', 'type', 40), ('SolverParameter', 'solver_type', 30),
    ('BlobProto', 'data', 5), ('BlobProto', 'shape', 7), ('Datum', 'encoded', 7),
    ('V1LayerParameter', 'blobs_lr', 7), ('V0LayerParameter', 'kernelsize', 8),
    ('SolverState', 'history', 3),
])
def test_field_numbers_match_caffe(message, field, number):
    assert getattr(caffe_pb2, message).DESCRIPTOR.fields_by_name[field].number == number


def test_defaults_match_caffe():
    conv = caffe_pb2.ConvolutionParameter()
    assert conv.bias_term and conv.group == 1 and conv.axis == 1
    lrn = caffe_pb2.LRNParameter()
    assert (lrn.local_size, lrn.alpha, lrn.beta, lrn.k) == (5, 1.0, 0.75, 1.0)
    solver = caffe_pb2.SolverParameter()
    assert solver.type == 'SGD' and solver.delta == pytest.approx(1e-8)
    assert solver.momentum2 == pytest.approx(0.999) and solver.rms_decay == pytest.approx(0.99)
    assert caffe_pb2.PoolingParameter().round_mode == caffe_pb2.PoolingParameter.CEIL
    assert caffe_pb2.BatchNormParameter().moving_average_fraction == pytest.approx(0.999)
    assert caffe_pb2.DropoutParameter().dropout_ratio == pytest.approx(0.5)


def test_every_caffe_message_is_present():
    for name in ['NetParameter', 'LayerParameter', 'SolverParameter', 'SolverState',
                 'BlobProto', 'BlobProtoVector', 'BlobShape', 'Datum', 'FillerParameter',
                 'NetState', 'NetStateRule', 'ParamSpec', 'V1LayerParameter',
                 'V0LayerParameter', 'TransformationParameter', 'LossParameter']:
        assert hasattr(caffe_pb2, name)
