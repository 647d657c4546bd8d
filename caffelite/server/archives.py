"""Unpacking uploaded image archives (.zip, .tar, .tar.gz, .tgz) safely:
only regular files and folders, every member path relative and staying
inside the destination (no zip-slip), a cap on the number of members and on
the bytes actually written (no zip bomb)."""
import os
import shutil
import stat
import tarfile
import zipfile

from ..errors import CaffeError

ARCHIVE_SUFFIXES = ('.zip', '.tar', '.tar.gz', '.tgz')
MAX_MEMBERS = 200000
CHUNK = 1 << 20


class ArchiveError(CaffeError):
    """An archive that cannot be unpacked safely."""


def _member_path(destination, name, archive):
    """The absolute path of member ``name`` under ``destination``."""
    clean = name.replace('\\', '/')
    parts = [p for p in clean.split('/') if p not in ('', '.')]
    if clean.startswith('/') or (parts and ':' in parts[0]) or '..' in parts:
        raise ArchiveError('%s: member %r points outside the archive folder' % (archive, name))
    return os.path.join(destination, *parts) if parts else destination


def _copy(source, path, budget, archive):
    """Copy a member's stream to ``path``; returns the bytes left in ``budget``."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as out:
        while True:
            chunk = source.read(CHUNK)
            if not chunk:
                return budget
            budget -= len(chunk)
            if budget < 0:
                raise ArchiveError('%s unpacks to more than the allowed size' % archive)
            out.write(chunk)


def _unzip(path, destination, budget):
    with zipfile.ZipFile(path) as z:
        members = z.infolist()
        if len(members) > MAX_MEMBERS:
            raise ArchiveError('%s has more than %d members' % (path, MAX_MEMBERS))
        for info in members:
            target = _member_path(destination, info.filename, path)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise ArchiveError('%s: member %r is a symbolic link' % (path, info.filename))
            if info.is_dir():
                os.makedirs(target, exist_ok=True)
                continue
            with z.open(info) as source:
                budget = _copy(source, target, budget, path)


def _untar(path, destination, budget):
    with tarfile.open(path) as t:
        count = 0
        for member in t:
            count += 1
            if count > MAX_MEMBERS:
                raise ArchiveError('%s has more than %d members' % (path, MAX_MEMBERS))
            target = _member_path(destination, member.name, path)
            if member.isdir():
                os.makedirs(target, exist_ok=True)
            elif member.isfile():
                budget = _copy(t.extractfile(member), target, budget, path)
            else:
                raise ArchiveError('%s: member %r is not a regular file or folder'
                                   % (path, member.name))


def unpack(path, destination, max_bytes):
    """Unpack archive ``path`` into the new folder ``destination`` (removed
    again on failure), writing at most ``max_bytes``."""
    name = os.path.basename(path).lower()
    os.makedirs(destination)
    try:
        if name.endswith('.zip'):
            _unzip(path, destination, max_bytes)
        elif name.endswith(ARCHIVE_SUFFIXES):
            _untar(path, destination, max_bytes)
        else:
            raise ArchiveError('%s: not a .zip, .tar, .tar.gz or .tgz archive'
                               % os.path.basename(path))
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as e:
        shutil.rmtree(destination, ignore_errors=True)
        raise ArchiveError('%s: %s' % (os.path.basename(path), e)) from None
    except BaseException:
        shutil.rmtree(destination, ignore_errors=True)
        raise


def image_root(folder):
    """The folder whose sub-folders are the classes: ``folder`` itself, or
    its single sub-folder when the archive wrapped everything in one."""
    entries = [e for e in os.listdir(folder) if not e.startswith(('.', '__MACOSX'))]
    if len(entries) == 1 and os.path.isdir(os.path.join(folder, entries[0])):
        inner = os.path.join(folder, entries[0])
        if any(os.path.isdir(os.path.join(inner, e)) for e in os.listdir(inner)):
            return inner
    return folder
