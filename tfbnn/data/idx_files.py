"""Which MNIST-format IDX files a folder holds, and of which image set.

Three namings are recognised, each file plain or gzipped (`NAME.gz`):

* MNIST's own (LeCun et al.), which Fashion-MNIST and KMNIST share:
  `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
  `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`;
* the same with a dot before the type, as some mirrors ship them:
  `train-images.idx3-ubyte`, ..., `t10k-labels.idx1-ubyte`;
* EMNIST's (Cohen et al. 2017): `emnist-SPLIT-train-images-idx3-ubyte`, ...,
  `emnist-SPLIT-test-labels-idx1-ubyte` (its `test` is MNIST's `t10k`), for
  the splits of `EMNIST_SPLITS`.

EMNIST differs in more than its names: its images are stored transposed
(column by column), and its `letters` labels run 1..26. `find_idx_set`
returns what a loader needs to know of both. A folder holds one set: files of
MNIST's names beside EMNIST's, or of two EMNIST splits, are refused rather
than one of them chosen silently; EMNIST's own download (and torchvision's
copy) keeps all its splits in one folder, so `FOLDER/emnist-SPLIT`, a path
that is not itself a folder, names one split of FOLDER (`set_in_folder`).

References:
  Cohen, Afshar, Tapson & van Schaik (2017), EMNIST: an extension of MNIST to
  handwritten letters, arXiv:1702.05373, Table II (the splits and classes).
"""
import collections
import os
import re

from tfbnn.data._common import not_a_file, one_line
from tfbnn.errors import DataError

__all__ = ['IdxSet', 'find_idx_set', 'set_in_folder', 'idx_path', 'EMNIST_SPLITS',
           'MNIST_FILES', 'PARTS']

MNIST_FILES = ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte',
               't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')
# (split, kind) of each file, in the order of MNIST_FILES.
PARTS = (('train', 'images'), ('train', 'labels'), ('test', 'images'), ('test', 'labels'))
# EMNIST split -> number of classes (Cohen et al. 2017, Table II).
EMNIST_SPLITS = collections.OrderedDict([
    ('byclass', 62), ('bymerge', 47), ('balanced', 47), ('letters', 26), ('digits', 10),
    ('mnist', 10)])
# The smallest label of a split: letters stores A-Z as 1..26 (0 is unused).
_EMNIST_FIRST_LABEL = {'letters': 1}
_TYPES = {'images': 'idx3', 'labels': 'idx1'}
_EMNIST_SET = re.compile(r'^emnist-([a-z]+)$')
_EMNIST_NAME = re.compile(r'^emnist-([a-z]+)-(?:train|test)-(?:images-idx3|labels-idx1)-ubyte'
                          r'(?:\.gz)?$')

IdxSet = collections.namedtuple('IdxSet', [
    'folder', 'title', 'emnist_split', 'num_classes', 'first_label', 'transposed', 'paths'])
IdxSet.__doc__ = """The IDX files of one image set in a folder.

Attributes:
  folder: str, the folder.
  title: str, what the set is called in descriptions: 'MNIST-format' (MNIST's
    names: MNIST, Fashion-MNIST, KMNIST ...) or 'EMNIST letters' and the like.
  emnist_split: None for MNIST's names, else the EMNIST split ('letters', ...).
  num_classes: int, the classes of an EMNIST split (its labels are held to
    them); None for MNIST's names, whose classes the loader counts from the
    training labels (`tfbnn.data._common.count_classes`: the largest + 1).
  first_label: int, the smallest label (1 for EMNIST letters, else 0); an
    EMNIST split's labels run first_label..first_label + num_classes - 1.
  transposed: bool, whether each image is stored transposed (EMNIST).
  paths: dict (split, kind) -> path of each file found, split 'train' or
    'test', kind 'images' or 'labels' (see `PARTS`).
"""


def _candidates(emnist_split, part):
    """The file names one part may have, the preferred first (.gz before plain)."""
    split, kind = part
    if emnist_split is not None:
        stems = ['emnist-%s-%s-%s-%s-ubyte' % (emnist_split, split, kind, _TYPES[kind])]
    else:
        prefix = 't10k' if split == 'test' else 'train'
        stems = ['%s-%s%s%s-ubyte' % (prefix, kind, sep, _TYPES[kind]) for sep in '-.']
    return [name for stem in stems for name in (stem + '.gz', stem)]


def _set_files(folder):
    """set key (None: MNIST's names; else the EMNIST split) -> sorted file names."""
    try:
        names = sorted(os.listdir(folder))
    except OSError as err:
        raise DataError('%s: cannot list the folder (%s)' % (folder, one_line(err))) from err
    mnist_names = {name for part in PARTS for name in _candidates(None, part)}
    found = collections.OrderedDict()
    for name in names:
        if not os.path.isfile(os.path.join(folder, name)):
            continue
        match = _EMNIST_NAME.match(name)
        if match and match.group(1) not in EMNIST_SPLITS:
            raise DataError('%s: unknown EMNIST split %r (known: %s)'
                            % (os.path.join(folder, name), match.group(1),
                               ', '.join(EMNIST_SPLITS)))
        if match or name in mnist_names:
            found.setdefault(match.group(1) if match else None, []).append(name)
    return found


def set_in_folder(path):
    """(folder, EMNIST split or None) that `path` names.

    `FOLDER/emnist-SPLIT`, when it is not itself a folder and FOLDER is one,
    names the EMNIST split SPLIT of the files in FOLDER; any other path is a
    folder of one set (split None).

    Raises:
      DataError: `FOLDER/emnist-SPLIT` with an unknown SPLIT.
    """
    trimmed = os.path.normpath(path)
    match = _EMNIST_SET.match(os.path.basename(trimmed))
    folder = os.path.dirname(trimmed) or '.'
    if not match or os.path.isdir(path) or not os.path.isdir(folder):
        return path, None
    if match.group(1) not in EMNIST_SPLITS:
        raise DataError('%s: unknown EMNIST split %r (known: %s)'
                        % (path, match.group(1), ', '.join(EMNIST_SPLITS)))
    return folder, match.group(1)


def find_idx_set(folder):
    """The IDX files of the one image set in `folder`.

    Args:
      folder: str, an existing folder (the caller checks that it is one), or
        `FOLDER/emnist-SPLIT` for one split of FOLDER (`set_in_folder`).

    Returns:
      An `IdxSet`. Its `paths` may lack parts (or be empty, for a folder of
      no IDX files): `idx_path` raises a `DataError` naming a missing one.

    Raises:
      DataError: the folder cannot be listed, a file names an unknown EMNIST
        split, or the files are of several sets (MNIST's names and EMNIST's,
        or two EMNIST splits).
    """
    folder, chosen = set_in_folder(folder)
    found = _set_files(folder)
    if chosen is not None:
        if chosen not in found:
            raise DataError('%s: no emnist-%s-* IDX files here' % (folder, chosen))
        found = {chosen: found[chosen]}
    if len(found) > 1:
        emnist = [key for key in found if key is not None]
        raise DataError('%s: IDX files of %d sets (%s); use one folder per set%s'
                        % (folder, len(found), ', '.join(
                            'MNIST names' if key is None else 'EMNIST ' + key for key in found),
                           ', or name one split as %s' % os.path.join(folder, 'emnist-' + emnist[0])
                           if emnist else ''))
    emnist_split = next(iter(found), None)
    paths = {}
    for part in PARTS:
        for name in _candidates(emnist_split, part):
            if name in found.get(emnist_split, ()):
                paths[part] = os.path.join(folder, name)
                break
    if emnist_split is None:
        return IdxSet(folder=folder, title='MNIST-format', emnist_split=None,
                      num_classes=None, first_label=0, transposed=False, paths=paths)
    return IdxSet(folder=folder, title='EMNIST %s' % emnist_split, emnist_split=emnist_split,
                  num_classes=EMNIST_SPLITS[emnist_split],
                  first_label=_EMNIST_FIRST_LABEL.get(emnist_split, 0), transposed=True,
                  paths=paths)


def idx_path(idx_set, split, kind, need=None):
    """The path of one file of `idx_set`, or a `DataError` saying which names were looked for.

    Args:
      idx_set: `IdxSet`.
      split: 'train' or 'test'.
      kind: 'images' or 'labels'.
      need: str or None; why the file is needed, said in the message (None:
        the four files of the set are expected).

    Raises:
      DataError: `idx_set` has no such file.
    """
    if (split, kind) not in PARTS:
        raise ValueError('idx_path: (split, kind) must be one of %s, got %r'
                         % (PARTS, (split, kind)))
    path = idx_set.paths.get((split, kind))
    if path is not None:
        return path
    names = _candidates(idx_set.emnist_split, (split, kind))
    for other in (os.path.join(idx_set.folder, name) for name in names):
        if os.path.lexists(other):  # a folder or a pipe under the file's name
            raise DataError('%s: %s' % (other, not_a_file(other)))
    wanted = ' or '.join('%s[.gz]' % name for name in names[1::2])
    if need is None and idx_set.emnist_split is None:
        need = ('expected the four MNIST IDX files %s, plain or .gz, or named with a dot as '
                'train-images.idx3-ubyte; or EMNIST\'s emnist-SPLIT-train-images-idx3-ubyte '
                'and the like' % ', '.join(MNIST_FILES))
    elif need is None:
        need = ('expected the four files of %s: emnist-%s-{train,test}-{images-idx3,'
                'labels-idx1}-ubyte, plain or .gz' % (idx_set.title, idx_set.emnist_split))
    raise DataError('%s: no file %s (%s)' % (idx_set.folder, wanted, need))
