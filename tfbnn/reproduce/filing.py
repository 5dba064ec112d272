"""Filing a record in place of a published one: only for the same protocol.

`report` copies the records of --out into docs/results. A small run on
other data (two splits, a step budget of 1, a set the papers never ran)
would otherwise take a published row's place, and its verdicts with it.
"""
import json
import os

from tfbnn.errors import ConfigError

__all__ = ['protocol_differences', 'check_same_protocols', 'MACHINE_KEYS']

# Options of this machine, not of the protocol: where the data are, how many
# threads ran. (Another copy of the same data is the same protocol.)
MACHINE_KEYS = ('data_dir', 'ood_data_dir', 'threads', 'device', 'output_dir', 'progress',
                'verbose')


def protocol_differences(new, old, sets=True):
    """What differs between two records of one experiment: the options of
    their `protocol` (not `MACHINE_KEYS`) and, for records by set (UCI) when
    `sets` is true, the sets they hold; as 'key new vs old' strings."""
    new_protocol, old_protocol = new.get('protocol') or {}, old.get('protocol') or {}
    found = ['%s %s vs %s' % (k, json.dumps(new_protocol.get(k)), json.dumps(old_protocol.get(k)))
             for k in sorted(set(new_protocol) | set(old_protocol))
             if k not in MACHINE_KEYS and new_protocol.get(k) != old_protocol.get(k)]
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
