"""protoio: a write that fails names the file it was writing; the text
parser refuses what Caffe's refuses."""
import errno
import os

import pytest

from caffelite import protoio
from caffelite.proto import caffe_pb2


def test_a_full_disk_names_the_file_and_leaves_nothing(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, 'fsync', full)
    target = tmp_path / 'net_iter_10.caffemodel'
    with pytest.raises(OSError, match='No space left on device') as caught:
        protoio.write_binary(str(target), caffe_pb2.NetParameter(name='n'))
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.filename == str(target)
    assert str(target) in str(caught.value)
    assert os.listdir(tmp_path) == []



def test_a_single_field_given_twice_is_refused_at_its_line(tmp_path):
    """Caffe's TextFormat::Parse refuses a second value of a field that is
    not repeated ('specified multiple times'); a silent last-one-wins would
    train another net than the file's reader sees."""
    path = tmp_path / 'net.prototxt'
    path.write_text('name: "n"\nlayer {\n  name: "ip"\n  type: "InnerProduct"\n'
                    '  inner_product_param { num_output: 10\n    num_output: 20 }\n}\n')
    with pytest.raises(protoio.ParseError, match='multiple "num_output"') as caught:
        protoio.read_text(str(path), caffe_pb2.NetParameter())
    assert caught.value.line == 6 and str(path) in str(caught.value)
    repeated = protoio.parse_text('layer { bottom: "a" bottom: "b" }', caffe_pb2.NetParameter())
    assert list(repeated.layer[0].bottom) == ['a', 'b']


def test_text_or_binary_reads_non_utf8_comments_and_a_cut_character_as_text(tmp_path):
    """caffelite upgrade's guess: a prototxt with GBK comments, or whose 4
    KB sniff ends inside a UTF-8 character, is text; a binary file without
    a NUL byte up front is still binary."""
    gbk = tmp_path / 'gbk.prototxt'
    gbk.write_bytes('# 卷积网络\nname: "gbk"\n'.encode('gbk'))
    assert protoio.read_text_or_binary(str(gbk), caffe_pb2.NetParameter()).name == 'gbk'
    cut = tmp_path / 'cut.prototxt'
    padding = '#' + 'x' * 4093 + '\n'
    cut.write_bytes((padding + '# é\nname: "cut"\n').encode('utf-8'))
    assert len(padding.encode()) == 4095      # 'é' straddles byte 4096
    assert protoio.read_text_or_binary(str(cut), caffe_pb2.NetParameter()).name == 'cut'
    binary = tmp_path / 'blob.binaryproto'
    binary.write_bytes(caffe_pb2.BlobProto(num=1, data=[-1.1, 3.3]).SerializeToString())
    assert b'\0' not in binary.read_bytes()
    blob = protoio.read_text_or_binary(str(binary), caffe_pb2.BlobProto())
    assert blob.num == 1 and len(blob.data) == 2
