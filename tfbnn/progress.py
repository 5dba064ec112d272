"""A one-line progress bar with ETA for terminals, silent in logs."""
import sys
import time

__all__ = ['ProgressBar', 'format_duration']


def format_duration(seconds):
    """Seconds as H:MM:SS (or M:SS under an hour)."""
    seconds = max(0, int(round(seconds)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return '%d:%02d:%02d' % (h, m, s) if h else '%d:%02d' % (m, s)


class ProgressBar(object):
    """Redraws `[#####-----] 50% 120/240 steps, 1234 ex/s, ETA 0:42` in place.

    Args:
      total: the step count at which the work is done.
      start: the step the work starts from (resumed runs start mid-way).
      enabled: draw at all; by default only when `stream` is a terminal, so
        logs and CI output get the per-epoch lines and no carriage returns.
      stream: where to draw (default stderr).
      min_interval: seconds between redraws.
    """

    def __init__(self, total, start=0, enabled=None, stream=None, width=24, min_interval=0.2):
        self.stream = stream or sys.stderr
        if enabled is None:
            enabled = hasattr(self.stream, 'isatty') and self.stream.isatty()
        self.enabled = enabled
        self.total, self.start, self.width = total, start, width
        self.min_interval = min_interval
        self._t0 = time.time()
        self._last_draw = 0.0
        self._drawn = False

    def update(self, step, examples_per_second=None, note=''):
        if not self.enabled:
            return
        now = time.time()
        if now - self._last_draw < self.min_interval and step < self.total:
            return
        self._last_draw = now
        frac = step / float(self.total) if self.total else 1.0
        done = int(round(frac * self.width))
        rate = (step - self.start) / max(now - self._t0, 1e-9)
        eta = (self.total - step) / rate if rate > 0 else float('nan')
        line = '[%s%s] %3d%% %d/%d steps' % ('#' * done, '-' * (self.width - done),
                                              int(100 * frac), step, self.total)
        if examples_per_second:
            line += ', %.0f ex/s' % examples_per_second
        line += ', ETA %s' % (format_duration(eta) if eta == eta else '?')
        if note:
            line += ', ' + note
        self.stream.write('\r' + line + '\033[K')
        self.stream.flush()
        self._drawn = True

    def clear(self):
        """Removes the bar so a log line can be printed in its place."""
        if self.enabled and self._drawn:
            self.stream.write('\r\033[K')
            self.stream.flush()
            self._drawn = False
