"""Filing a record in place of a published one: only for the same protocol.

`report` copies the records of --out into docs/results. A small run on
other data (two splits, a step budget of 1, a set the papers never ran)
would otherwise take a published row's place, and its verdicts with it.
"""
import json
import os

from tfbnn.errors import ConfigError
from tfbnn.internal.jsonio import read_json

__all__ = ['option_differences', 'protocol_differences', 'check_same_protocols', 'run_protocol',
           'read_record', 'MACHINE_KEYS']

# Options of this machine, not of the protocol: where the data are, how many
# threads ran. (Another copy of the same data is the same protocol.)
MACHINE_KEYS = ('data_dir', 'ood_data_dir', 'threads', 'device', 'output_dir', 'progress',
                'verbose')
# What a record says of its protocol besides `protocol`: the selection's
# schedule and budget, the pruning's checkpoint and retraining, and the sha256
# of the data its run read (`data_sha256`). Compared where both records have it.
_PROTOCOL_FIELDS = ('select_epochs', 'budget_minutes', 'prior', 'which', 'schedule', 'rate',
                    'epochs', 'learning_rate', 'lr_schedule', 'lr_decay_epochs',
                    'lr_decay_factor', 'refit_examples', 'mean_init_limit', 'data_sha256')
# Options of a run that are neither its protocol nor of this machine.
_NOT_PROTOCOL = ('resume', 'max_seconds')


def read_record(path, keys, missing):
    """The record (a JSON object) at `path`, holding every one of `keys`.

    Args:
      path: the record's file.
      keys: the keys its reader needs.
      missing: what to do when there is no file, for the message ('run the
        mnist experiment first').

    Raises:
      ConfigError: no file, or a file that is no such record (an object
        lacking one of `keys`, or not an object: written by hand or by
        another version); unreadable JSON, as `read_json`.
    """
    record = read_json(path)
    if record is None:
        raise ConfigError('%s not found: %s' % (path, missing))
    lacking = [k for k in keys if not isinstance(record, dict) or k not in record]
    if lacking:
        raise ConfigError('%s is not a complete record (%s): %s again to write it, or move it '
                          'aside' % (path, 'no ' + ', '.join(lacking)
                                     if isinstance(record, dict) else 'not a JSON object',
                                     missing.replace(' first', '')))
    return record


def run_protocol(options):
    """A run's options (config.json's dict) as a record's `protocol`: all
    but those of the machine and of its resuming."""
    return {k: v for k, v in options.items() if k not in MACHINE_KEYS + _NOT_PROTOCOL}


def _candidate_names(record):
    candidates = record.get('candidates')
    if not isinstance(candidates, list):
        return None
    return [c.get('name') if isinstance(c, dict) else c for c in candidates]


def option_differences(new, old, keys, ignored=frozenset()):
    """'key new vs old' (values as JSON, a missing one as null) for each of
    `keys`, in their order, not in `ignored`, on which dicts `new` and `old`
    differ."""
    return ['%s %s vs %s' % (k, json.dumps(new.get(k)), json.dumps(old.get(k)))
            for k in keys if k not in ignored and new.get(k) != old.get(k)]


def protocol_differences(new, old, sets=True):
    """What differs between two records of one experiment: the options of
    their `protocol` (not `MACHINE_KEYS`) and, for records by set (UCI) when
    `sets` is true, the sets they hold; as 'key new vs old' strings."""
    if ('protocol' in new) != ('protocol' in old):  # a record from before runs kept theirs
        return ['protocol %s vs %s' % tuple('recorded' if 'protocol' in r else 'none'
                                            for r in (new, old))]
    new_protocol, old_protocol = new.get('protocol') or {}, old.get('protocol') or {}
    found = option_differences(new_protocol, old_protocol,
                               sorted(set(new_protocol) | set(old_protocol)), MACHINE_KEYS)
    found += option_differences(new, old, [k for k in _PROTOCOL_FIELDS if k in new and k in old])
    names = _candidate_names(new), _candidate_names(old)
    if None not in names and names[0] != names[1]:
        found.append('candidates %s vs %s' % tuple(','.join(map(str, n)) for n in names))
    if sets and isinstance(new.get('sets'), dict) and isinstance(old.get('sets'), dict) and (
            sorted(new['sets']) != sorted(old['sets'])):
        found.append('sets %s vs %s' % (','.join(sorted(new['sets'])) or 'none',
                                        ','.join(sorted(old['sets']))))
    return found


def check_same_protocols(records, published, files, out_dir, results_dir):
    """Raises ConfigError for the first record of `records` (name -> record)
    whose `protocol_differences` from the `published` one it would replace
    are not empty; `files` maps a name to its file under either folder."""
    for name, record in sorted(records.items()):
        if name not in published:
            continue
        found = protocol_differences(record, published[name])
        if found:
            raise ConfigError(
                'report: %s ran another protocol than the %s it would replace (%s%s): pass '
                '--replace to file it, or give --results-dir and --doc of your own'
                % (os.path.join(out_dir, files[name]), os.path.join(results_dir, files[name]),
                   '; '.join(found[:4]), '; ...' if len(found) > 4 else ''))
