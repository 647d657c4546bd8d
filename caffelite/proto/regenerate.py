"""Regenerate ``caffe_pb2.py`` from ``proto/caffe.proto`` (needs grpcio-tools).

Run from a source checkout: ``python -m caffelite.proto.regenerate``.
"""
import os
import re
import sys
import tempfile

PROTO_DIR = os.path.join(os.path.dirname(__file__), '..', '..', 'proto')
PROTO_FILE = 'caffe.proto'


def compile_descriptor(proto_dir=PROTO_DIR):
    """Compile caffe.proto and return its serialized FileDescriptorProto."""
    from grpc_tools import protoc
    from google.protobuf import descriptor_pb2
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, 'caffe.pb')
        rc = protoc.main(['protoc', '-I' + proto_dir,
                          '--descriptor_set_out=' + out, PROTO_FILE])
        if rc != 0:
            raise RuntimeError('protoc failed on %s' % PROTO_FILE)
        with open(out, 'rb') as f:
            fds = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    return normalized(fds.file[0])


def normalized(file_proto):
    """A FileDescriptorProto in a form where protoc's descriptor-set output
    and the descriptor embedded in a generated module compare equal: no
    json_name (only descriptor sets carry it) and float defaults as float32
    values (the Python generator rewrites 1e-08 as 9.99999994e-09)."""
    import numpy as np
    from google.protobuf import descriptor_pb2
    out = descriptor_pb2.FileDescriptorProto()
    out.CopyFrom(file_proto)
    float_type = descriptor_pb2.FieldDescriptorProto.TYPE_FLOAT

    def fix(messages):
        for m in messages:
            for f in m.field:
                f.ClearField('json_name')
                if f.type == float_type and f.HasField('default_value'):
                    f.default_value = repr(float(np.float32(f.default_value)))
            fix(m.nested_type)
    fix(out.message_type)
    return out


def strip_version_check(code):
    """Drop protoc's runtime-version guard so that any protobuf >= 3.20 loads
    the module: the descriptor it embeds does not depend on that version."""
    code = re.sub(r"_runtime_version\.ValidateProtobufRuntimeVersion\([^)]*\)\n",
                  '', code)
    return code.replace('from google.protobuf import runtime_version as '
                        '_runtime_version\n', '')


def main():
    from grpc_tools import protoc
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as tmp:
        rc = protoc.main(['protoc', '-I' + PROTO_DIR, '--python_out=' + tmp,
                          PROTO_FILE])
        if rc != 0:
            sys.exit('protoc failed')
        with open(os.path.join(tmp, 'caffe_pb2.py')) as f:
            code = strip_version_check(f.read())
        with open(os.path.join(here, 'caffe_pb2.py'), 'w') as f:
            f.write(code)


if __name__ == '__main__':
    main()
