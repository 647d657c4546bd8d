"""No module of caffelite reaches into another's private names (a leading
underscore): what two modules share is public in one of them, or in a
module of its own."""
import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / 'caffelite'


def _private(name):
    return name.startswith('_') and not name.startswith('__')


def _module_file(folder, name):
    """The module (file or package) ``name`` in ``folder``, or None."""
    for candidate in (folder / (name + '.py'), folder / name / '__init__.py'):
        if candidate.exists():
            return candidate
    return None


def _base(path, node):
    """The package folder a relative ``from`` import starts in."""
    folder = path.parent
    for _ in range(node.level - 1):
        folder = folder.parent
    for part in (node.module or '').split('.') if node.module else ():
        folder = folder / part
    return folder


def reaches(path):
    """['line: what'] of the private names of other modules ``path`` uses."""
    tree = ast.parse(path.read_text(), str(path))
    modules, found = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = _base(path, node)
            for alias in node.names:
                module = _module_file(base, alias.name)
                if module is not None:
                    modules.add(alias.asname or alias.name)
                    if _private(alias.name) and base != path.parent:
                        found.append('%d: private module %s' % (node.lineno, alias.name))
                elif _private(alias.name):
                    found.append('%d: from %s import %s' % (node.lineno, node.module, alias.name))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and _private(node.attr)
                and isinstance(node.value, ast.Name) and node.value.id in modules):
            found.append('%d: %s.%s' % (node.lineno, node.value.id, node.attr))
    return found


def test_no_module_uses_another_modules_private_names():
    offenders = {}
    for path in sorted(PACKAGE.rglob('*.py')):
        if path.name == 'caffe_pb2.py':
            continue
        found = reaches(path)
        if found:
            offenders[str(path.relative_to(PACKAGE))] = found
    assert offenders == {}


def test_the_check_sees_both_kinds(tmp_path):
    """It finds ``from .x import _f`` and ``x._f()`` (so it cannot pass by
    seeing nothing)."""
    package = tmp_path / 'pkg'
    package.mkdir()
    (package / '__init__.py').write_text('')
    (package / 'x.py').write_text('def _f():\n    pass\n')
    (package / 'y.py').write_text('from .x import _f\nfrom . import x\nx._f()\n')
    assert reaches(package / 'y.py') == ['1: from x import _f', '3: x._f']
