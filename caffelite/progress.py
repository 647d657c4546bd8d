"""Progress bars that share the terminal with log lines.

A bar is drawn only when stderr is a terminal; in a pipe, a file or CI the
bar is silent and only the log lines are written. Log lines go through
``tqdm.write`` so that a line printed while a bar is showing clears the bar,
takes its own line and lets the bar redraw below it, instead of being glued
to the bar's text.
"""
import logging
import sys


def on_terminal(stream=None):
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, 'isatty', None)
    return bool(isatty and isatty())


def progress_bar(iterable=None, enabled=True, **kwargs):
    """A tqdm bar on stderr, shown only when stderr is a terminal (and
    ``enabled``); otherwise it counts silently. ``kwargs`` go to tqdm."""
    from tqdm import tqdm
    return tqdm(iterable, file=sys.stderr, disable=not (enabled and on_terminal()),
                dynamic_ncols=True, **kwargs)


class BarSafeHandler(logging.StreamHandler):
    """A StreamHandler whose lines step around any progress bar on the
    same terminal."""

    def emit(self, record):
        try:
            from tqdm import tqdm
            tqdm.write(self.format(record), file=self.stream)
        except Exception:  # logging's own contract: report, never raise
            self.handleError(record)
