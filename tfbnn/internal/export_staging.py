"""An export's files land in its folder all together or not at all.

`tfbnn.export` writes every file of an export (the formats and
export_<mode>.json) into a staging folder inside the export folder, and moves
them into place only once all are written: renames need no disk space, so a
full disk or any other failure while writing leaves the previous export of
that mode as it was (or nothing, when there was none), never a mix of two
exports' files. The swap itself is renames: the old report goes first and the
new one comes last, so no report names a file of the other export, and a
rename that fails moves every old file back. (A process killed in the middle
of the swap can leave the folder without its report; the next export of that
mode puts everything right.) Staging folders a killed export left are removed
by the next export into the folder once they are an hour old.

Files of formats an export does not write stay; `record_earlier` describes
them in its report from the earlier report that named them.
"""
import os
import shutil
import tempfile
import time

from tfbnn.errors import CheckpointError
from tfbnn.internal.jsonio import TMP_SUFFIX, read_json

__all__ = ['PREFIX', 'Staging', 'record_earlier', 'temporary_prefix']

PREFIX = '.export_staging_'
_STALE_SECONDS = 3600.0


class Staging(object):
    """A staging folder for the files `names` of one export in `output_dir`.

    Args:
      output_dir: the export folder (it exists).
      names: the file or folder names this export replaces: those written
        are moved into place, the others (a format its converter refused)
        are removed, so no file of an earlier export stays beside them.
    """

    def __init__(self, output_dir, names):
        self.output_dir = output_dir
        self.names = list(names)
        self.previous = [n for n in self.names if os.path.lexists(self.final(n))]
        _remove_stale(output_dir)
        try:
            self.folder = tempfile.mkdtemp(prefix=PREFIX, dir=output_dir)
        except OSError as err:  # a read-only folder: name it, not a folder never made
            err.filename = output_dir
            err.export_left = self._left()
            raise

    def path(self, name):
        """Where `name` is written before the commit."""
        return os.path.join(self.folder, name)

    def final(self, name):
        return os.path.join(self.output_dir, name)

    def commit(self):
        """Swaps the new files in: the old files of `names` move aside (the
        report, last in `names`, first), the new ones into place (the report
        last), then the old ones are deleted. A rename that fails puts every
        old file back, removes the new ones and re-raises (`abort`)."""
        aside = os.path.join(self.folder, '.previous')
        moved, placed = [], []
        try:
            os.mkdir(aside)
            for name in reversed(self.names):
                if os.path.lexists(self.final(name)):
                    os.rename(self.final(name), os.path.join(aside, name))
                    moved.append(name)
            for name in self.names:
                if os.path.lexists(self.path(name)):
                    os.rename(self.path(name), self.final(name))
                    placed.append(name)
        except BaseException as err:
            stuck = self._put_back(aside, moved, placed)
            if not stuck:
                self.abort(err)
            elif isinstance(err, Exception):  # the staging folder stays: it holds them
                err.export_left = ("the previous export's %s could not be moved back from %s"
                                   % (', '.join(stuck), aside))
            raise
        shutil.rmtree(self.folder, ignore_errors=True)

    def _put_back(self, aside, moved, placed):
        """Undoes a swap: removes the new files placed, moves the old ones
        back; returns the old files that could not be moved back."""
        stuck = []
        for name in placed:
            try:
                _remove(self.final(name))
            except OSError:
                pass
        for name in moved:
            try:
                os.rename(os.path.join(aside, name), self.final(name))
            except OSError:
                stuck.append(name)
        return stuck

    def abort(self, err=None):
        """Removes the staging folder; an OSError naming a staged file is made
        to name its place in the export folder, and says what the folder holds
        (`err.export_left`, a phrase for the one-line error)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        if err is None:
            return
        name = getattr(err, 'filename', None)
        if isinstance(name, str) and name.startswith(self.folder + os.sep):
            head = name[len(self.folder) + 1:].split(os.sep)[0]
            err.filename = self.final(self._written_as(head))
        err.export_left = self._left()

    def _left(self):
        """What the export folder holds after a fault, as a phrase."""
        return ('the previous export there is intact (%s)' % ', '.join(self.previous)
                if self.previous else 'no file of this export was left there')

    def _written_as(self, head):
        """The name in `names` whose write made `head`, a file or folder in the
        staging folder: the name itself or its temporary one (NAME.tmp of
        `write_atomically`, `temporary_prefix(name)`XXXX of
        `export.save_saved_model`)."""
        for name in self.names:
            if head in (name, name + TMP_SUFFIX) or head.startswith(temporary_prefix(name)):
                return name
        return head


def temporary_prefix(path):
    """The prefix of a temporary folder built beside `path` and renamed to
    it (`tempfile.mkdtemp(prefix=...)`): hidden, and named after it."""
    return '.%s_' % os.path.basename(os.path.normpath(path))


# What tells an earlier export's files from this one's.
_EARLIER_FIELDS = ('checkpoint', 'seed', 'default_num_samples', 'fixed_num_samples',
                   'snr_threshold')


def record_earlier(report, report_path, others, log):
    """Enters the files of `others` (format -> file name: the formats this
    export does not write) that an earlier export of the mode, described by
    the report at `report_path`, left in its folder in the report's
    `earlier_files`.

    They stay (formats are often exported separately, TFLite from the tf2
    stack), so the report says which export each is: the earlier report's
    entry, its checkpoint, seed, K and pruning threshold. Files no report
    named are left out; an earlier report that cannot be read is said in a
    line and describes nothing.
    """
    path, output_dir = report_path, os.path.dirname(report_path)
    try:
        old = read_json(path) or {}
    except CheckpointError:
        old = None
    if not isinstance(old, dict):
        log('  (the earlier %s cannot be read: files of other formats it named are not '
            'described)' % os.path.basename(path))
        old = {}
    entries = {}
    for key, extra in (('earlier_files', {}),
                       ('files', {k: old[k] for k in _EARLIER_FIELDS if k in old})):
        listed = old.get(key)
        entries.update((fmt, dict(entry, **extra)) for fmt, entry in sorted(
            listed.items() if isinstance(listed, dict) else ()) if isinstance(entry, dict))
    kept = {fmt: entry for fmt, entry in sorted(entries.items())
            if fmt in others and entry.get('path') == others[fmt]
            and os.path.lexists(os.path.join(output_dir, entry['path']))}
    if kept:
        report['earlier_files'] = kept
        log('  kept %s of an earlier export (not rewritten: see earlier_files in the report)'
            % ', '.join(entry['path'] for entry in kept.values()))


def _remove_stale(output_dir):
    """Deletes staging folders in `output_dir` older than an hour (a killed export's)."""
    now = time.time()
    for entry in os.listdir(output_dir):
        path = os.path.join(output_dir, entry)
        try:
            if (entry.startswith(PREFIX) and os.path.isdir(path)
                    and now - os.path.getmtime(path) > _STALE_SECONDS):
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)
