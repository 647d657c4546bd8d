"""Reading and writing Caffe's protobuf files, text and binary.

Text parse errors become :class:`ParseError` with the file, line and column.
Binary files of any size are read (protobuf's Python runtime has no 64 MB
message cap, unlike Caffe's C++ CodedInputStream default). Every write goes
to a temporary file in the target folder, is flushed to disk and renamed
into place, so a crash never leaves half a file under the final name.
Temporary files and folders are named ``.<final name>.<pid>.<random>``, so
that :func:`remove_stale_temps` can clean up those of a process that was
killed before it could.
"""
import codecs
import contextlib
import os
import re
import shutil
import tempfile

from google.protobuf import message as pb_message
from google.protobuf import text_format

from .errors import ParseError


# .<final name>.<pid>.<tempfile's 8 random characters>[.tmp]
_TEMP_NAME = re.compile(r'^\..+\.(\d+)\.[a-z0-9_]{8}(\.tmp)?$')


def temp_prefix(path):
    """The name prefix of this process's temporary files for ``path``."""
    return '.%s.%d.' % (os.path.basename(path), os.getpid())


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def remove_stale_temps(folder):
    """Delete the temporary files and folders that processes no longer
    running left in ``folder`` (killed mid-write); returns their names."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    removed = []
    for name in names:
        match = _TEMP_NAME.match(name)
        if not match or _alive(int(match.group(1))):
            continue
        path = os.path.join(folder, name)
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(path)
        removed.append(name)
    return removed


def _sync_folder(folder):
    """Make a rename in ``folder`` durable (where the OS allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def writes_named(path):
    """Re-raise a failed write that names no file (ENOSPC on a full disk, a
    quota, EIO: the errno of write() or fsync() alone) naming ``path``."""
    try:
        yield
    except OSError as e:
        if type(e) is not OSError or e.filename is not None:
            raise
        raise OSError(e.errno, e.strerror, path) from None


@contextlib.contextmanager
def atomic_open(path, mode='wb'):
    """Open a temporary file beside ``path``; on success flush it to disk
    and rename it onto ``path``."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix='.tmp', dir=folder)
    except OSError as e:
        # name the file asked for, not the temporary one beside it
        raise type(e)(e.errno, e.strerror, path) from None
    # mkstemp makes the file owner-only; give it the permissions open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)
    try:
        with writes_named(path), os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _sync_folder(folder)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# Fields of Caffe forks whose meaning BVLC Caffe spells another way.
_FORK_FIELDS = {
    'ceil_mode': "; BVLC Caffe's pooling says round_mode: FLOOR for ceil_mode: false "
                 "(CEIL, the default, for true)",
}


def parse_text(text, message, path=None):
    """Parse prototxt ``text`` into ``message`` (cleared first); returns
    ``message``. A field that is not repeated may be given once, as Caffe's
    parser (protobuf's C++ TextFormat) requires: a second value is an
    error naming its line, not a silent replacement of the first."""
    try:
        text_format.Parse(text, message, allow_unknown_extension=False)
    except text_format.ParseError as e:
        line, col = e.GetLine(), e.GetColumn()
        msg = str(e)
        # text_format prefixes "line:col : "; keep only the reason.
        if line is not None and msg.startswith('%s:%s' % (line, col)):
            msg = msg.split(':', 2)[-1].strip()
        if line is not None:
            msg += _enclosing_layer(text, line)
        msg += ''.join(hint for field, hint in _FORK_FIELDS.items() if '"%s"' % field in msg)
        # bytes that are not UTF-8 (see read_text) shown as \xNN, printable
        msg = msg.encode('utf-8', 'surrogateescape').decode('utf-8', 'backslashreplace')
        raise ParseError(msg, path, line, col) from None
    return message


# Prototxt tokens: comments, quoted strings, braces and colons, and words.
_TOKEN = re.compile(r"""#[^\n]*|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|[{}<>:]|[^\s{}<>:#"']+""")
_LAYER_KEYS = ('layer', 'layers')


def layer_blocks(text):
    """The top-level ``layer``/``layers`` blocks of prototxt ``text``, in
    order, as [first line, last line, name, type] (1-based lines; name and
    type None where not given; V0's, inside the nested ``layer``, count; a
    ``param`` spec's name does not). A block left open by a syntax error
    runs to the end. Protobuf keeps no positions: errors found in a parsed
    net point at its layers with this."""
    blocks, keys, key, key_line, line, pos = [], [], None, 1, 1, 0
    for m in _TOKEN.finditer(text):
        line += text.count('\n', pos, m.start())
        pos, token = m.start(), m.group()
        if token[0] == '#' or token == ':':
            continue
        if token in '{<':
            if not keys and key in _LAYER_KEYS:
                blocks.append([key_line, None, None, None])
            keys.append(key)
        elif token in '}>':
            keys = keys[:-1]
            if not keys and blocks and blocks[-1][1] is None:
                blocks[-1][1] = line
        elif key in ('name', 'type') and keys[:1] in (['layer'], ['layers']) \
                and keys[1:] in ([], ['layer']):
            field = 2 if key == 'name' else 3
            if blocks[-1][field] is None:
                blocks[-1][field] = token.strip('"\'')
        key, key_line = token, line
    for block in blocks:
        block[1] = block[1] or line
    return blocks


def layer_line(text, name):
    """The line where the first layer block of ``text`` named ``name``
    opens, or None."""
    return next((first for first, _, n, _ in layer_blocks(text) if n == name), None)


def _enclosing_layer(text, line):
    """' (in layer 'x' (T))' for the layer block holding ``line``, or ''."""
    for first, last, name, type_ in layer_blocks(text):
        if first <= line <= last:
            return " (in layer '%s' (%s))" % (name or '?', type_ or 'no type given')
    return ''


def read_text(path, message):
    """Parse the prototxt file at ``path`` into ``message``."""
    path = os.fspath(path)
    # Caffe's parser skips comments byte by byte, so comments in another
    # encoding than UTF-8 (GBK, Latin-1) are fine there; surrogateescape
    # keeps such bytes, and text_format rejects them only inside a string.
    with open(path, 'r', encoding='utf-8', errors='surrogateescape') as f:
        text = f.read()
    if '\0' in text:
        raise ParseError('not a text prototxt (it holds NUL bytes: a binary file?)', path)
    return parse_text(text, message, path)


def write_text(path, message):
    with atomic_open(os.fspath(path), 'w') as f:
        f.write(text_format.MessageToString(message))


def read_binary(path, message):
    """Parse the binary protobuf file at ``path`` into ``message``."""
    path = os.fspath(path)
    with open(path, 'rb') as f:
        data = f.read()
    try:
        message.ParseFromString(data)
    except pb_message.DecodeError as e:
        raise ParseError('not a valid binary %s (%s)'
                         % (message.DESCRIPTOR.name, e), path) from None
    return message


def write_binary(path, message):
    with atomic_open(os.fspath(path), 'wb') as f:
        f.write(message.SerializeToString())


def read_text_or_binary(path, message):
    """Read ``path`` as text when it parses as text, else as binary: a file
    with a NUL byte in its first 4 KB is binary; another is text unless it
    fails to parse as text and holds bytes that are not UTF-8 (a binary
    file without NULs there), when it is read as binary if it parses so."""
    path = os.fspath(path)
    with open(path, 'rb') as f:
        head = f.read(4096)
    if b'\0' in head:
        return read_binary(path, message)
    try:
        return read_text(path, message)
    except ParseError as text_error:
        if _utf8_start(head):
            raise
        binary = message.__class__()
        try:
            read_binary(path, binary)
        except ParseError:
            raise text_error from None
    message.CopyFrom(binary)
    return message


def _utf8_start(head):
    """Whether ``head`` (a file's first bytes) is UTF-8, a character cut
    at its end allowed."""
    try:
        codecs.getincrementaldecoder('utf-8')().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def blob_shape_of(proto):
    """Shape of a BlobProto: ``shape.dim``, or legacy (num, channels, height, width)."""
    if proto.HasField('shape'):
        return tuple(int(d) for d in proto.shape.dim)
    if _has_legacy_dims(proto):
        return (proto.num, proto.channels, proto.height, proto.width)
    return ()  # Caffe writes no shape at all for a 0-axis (scalar) blob


def _has_legacy_dims(proto):
    return any(proto.HasField(f) for f in ('num', 'channels', 'height', 'width'))


def proto_fits_shape(proto, shape):
    """True when a BlobProto can fill a blob of ``shape`` as Caffe allows:
    exactly, or through the legacy 4-d dims padded with ones on the left."""
    if not _has_legacy_dims(proto):
        return blob_shape_of(proto) == tuple(shape)
    if len(shape) > 4:
        return False
    padded = (1,) * (4 - len(shape)) + tuple(shape)
    return padded == (proto.num, proto.channels, proto.height, proto.width)


def _varint(n):
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def set_packed_floats(proto, field, values):
    """Replace a packed ``repeated float`` field with ``values`` quickly.

    Extending a repeated field element by element costs seconds for VGG-size
    blobs; merging the field's wire encoding (tag, length, raw little-endian
    float32) costs a memcpy.
    """
    import numpy as np
    proto.ClearField(field)
    raw = np.ascontiguousarray(values, dtype='<f4').tobytes()
    number = proto.DESCRIPTOR.fields_by_name[field].number
    proto.MergeFromString(_varint(number << 3 | 2) + _varint(len(raw)) + raw)
