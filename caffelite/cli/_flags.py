"""gflags-style command lines on argparse, as Caffe's own tools take them.

Every long option is declared once, spelled ``--with-hyphens``; the parser
also accepts ``-name``, ``--name_with_underscores`` (Caffe's spellings),
``-name=value``, and for on/off flags gflags' ``-name=true|false``,
``-name=1|0`` and ``-noname``. Help lists every option's default.
"""
import argparse

_TRUE = ('true', 't', 'yes', 'y', '1')
_FALSE = ('false', 'f', 'no', 'n', '0')


class DefaultsFormatter(argparse.HelpFormatter):
    """Appends "(default: X)" to each option's help unless it names one."""

    def _get_help_string(self, action):
        text = action.help or ''
        default = action.default
        if (not action.option_strings or 'default' in text or default is None
                or default is argparse.SUPPRESS or action.required):
            return text
        if action.nargs == 0:
            shown = 'on' if default else 'off'
        else:
            shown = '%(default)s'
        return '%s (default: %s)' % (text, shown)


def _is_number(token):
    try:
        float(token)
    except ValueError:
        return False
    return True


class GflagsParser(argparse.ArgumentParser):
    """An ArgumentParser that reads gflags spellings (see the module doc);
    sub-commands made from it are GflagsParsers too."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault('formatter_class', DefaultsFormatter)
        super().__init__(*args, **kwargs)
        self.add_argument('--debug', action='store_true', default=argparse.SUPPRESS,
                          help='show the full traceback of an error (default: off)')

    def error(self, message):
        """A usage error in one line, as every failure of a command (the
        usage is one --help away), with status 1: gflags' for a bad flag and
        Caffe's tools' for wrong arguments (argparse's own is 2)."""
        self.exit(1, '%s: error: %s (%s --help lists the arguments)\n'
                  % (self.prog, message, self.prog))

    def has_option(self, name):
        """Whether ``name`` (any spelling) is one of this parser's options."""
        return self._lookup(name) is not None

    def _lookup(self, name):
        """The registered option string for ``name`` in any spelling, or None."""
        for candidate in (name, name.replace('_', '-'), name.replace('-', '_')):
            if '--' + candidate in self._option_string_actions:
                return '--' + candidate
        return None

    def _normalize(self, tokens):
        """(tokens in the registered spellings, actions to switch off)."""
        out, negated = [], []
        for i, token in enumerate(tokens):
            if token == '--':
                out += tokens[i:]
                break
            name, eq, value = token.lstrip('-').partition('=')
            is_flag = token.startswith('-') and not _is_number(token) and (
                token.startswith('--') or len(name) > 1)
            option = self._lookup(name) if is_flag else None
            if option is None and is_flag and name.startswith('no') and not eq:
                off = self._lookup(name[2:])
                if off and self._option_string_actions[off].nargs == 0:
                    negated.append(self._option_string_actions[off])
                    continue
            if option is None:
                out.append(token)
                continue
            action = self._option_string_actions[option]
            if action.nargs == 0 and eq:
                if value.lower() in _FALSE:
                    negated.append(action)
                    continue
                if value.lower() not in _TRUE:
                    self.error('argument %s: expected true or false, got %r' % (option, value))
                out.append(option)
                continue
            out.append(option + eq + value)
        return out, negated

    def parse_known_args(self, args=None, namespace=None):
        import sys
        tokens = list(sys.argv[1:] if args is None else args)
        tokens, negated = self._normalize(tokens)
        namespace, extras = super().parse_known_args(tokens, namespace)
        for action in negated:
            # an on/off flag given as false: the opposite of what it switches to
            on = action.const if action.const is not None else True
            setattr(namespace, action.dest, not on)
        return namespace, extras
