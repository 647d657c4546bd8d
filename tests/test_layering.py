"""The package's layering: the command line (cli/) and the web app
(server/, whose workers run CLI verbs) sit on top of the library, and the
library never imports the command line (``python -m caffelite``'s __main__
is its entry point)."""
import ast
import pathlib

import caffelite

PACKAGE = pathlib.Path(caffelite.__file__).resolve().parent


def imported_modules(path):
    """Absolute names of the modules a source file imports."""
    package = '.'.join(('caffelite',) + path.relative_to(PACKAGE).parent.parts)
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit('.', node.level - 1)[0] if node.level else ''
            module = '.'.join(part for part in (base, node.module) if part)
            yield module
            yield from (module + '.' + alias.name for alias in node.names)


def test_library_does_not_import_the_cli():
    library = [path for path in PACKAGE.rglob('*.py') if path.name != '__main__.py'
               and path.relative_to(PACKAGE).parts[0] not in ('cli', 'server')]
    offenders = [(str(path.relative_to(PACKAGE)), name) for path in library
                 for name in imported_modules(path)
                 if name == 'caffelite.cli' or name.startswith('caffelite.cli.')]
    assert offenders == []
