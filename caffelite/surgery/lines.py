"""Where each layer of a prototxt starts: the 1-based line of every
top-level ``layer {`` (or legacy ``layers {``) block, in file order."""
import re

# Tokens that matter for block structure: strings, comments, braces, words.
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|#[^\n]*|[{}]|[A-Za-z_]\w*|\n')


def layer_lines(text):
    """[line of each top-level layer block] of prototxt ``text``."""
    lines, depth, line, pending = [], 0, 1, None
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token == '\n':
            line += 1
        elif token == '{':
            if depth == 0 and pending is not None:
                lines.append(pending)
            depth += 1
            pending = None
        elif token == '}':
            depth -= 1
        elif token[0] not in '"\'#':
            pending = line if depth == 0 and token in ('layer', 'layers') else None
    return lines
