"""An export's files land in its folder all together or not at all.

`tfbnn.export` writes every file of an export (the formats and
export_<mode>.json) into a staging folder inside the export folder, and moves
them into place only once all are written: renames need no disk space, so a
full disk or any other failure while writing leaves the previous export of
that mode as it was (or nothing, when there was none), never a mix of two
exports' files.
"""
import os
import shutil
import tempfile

__all__ = ['PREFIX', 'Staging']

PREFIX = '.export_staging_'


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
        self.folder = tempfile.mkdtemp(prefix=PREFIX, dir=output_dir)

    def path(self, name):
        """Where `name` is written before the commit."""
        return os.path.join(self.folder, name)

    def final(self, name):
        return os.path.join(self.output_dir, name)

    def commit(self):
        """Removes the old files of `names`, then renames the new ones into place."""
        for name in self.names:
            _remove(self.final(name))
        for name in self.names:
            if os.path.lexists(self.path(name)):
                os.replace(self.path(name), self.final(name))
        shutil.rmtree(self.folder, ignore_errors=True)

    def abort(self, err=None):
        """Removes the staging folder; an OSError naming a staged file is made
        to name its place in the export folder, and says what the folder holds
        (`err.export_left`, a phrase for the one-line error)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        if not isinstance(err, Exception):
            return
        name = getattr(err, 'filename', None)
        if isinstance(name, str) and name.startswith(self.folder + os.sep):
            err.filename = os.path.join(self.output_dir, name[len(self.folder) + 1:])
        err.export_left = ('the previous export there is intact (%s)' % ', '.join(self.previous)
                           if self.previous else 'no file of this export was left there')


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)
