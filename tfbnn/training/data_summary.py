"""What `--resume` compares of the data: a summary of each array, not a hash.

A hash of the loaded arrays would refuse a resume after float noise in the
loading (another numpy's rounding of a standardisation); the summary is
compared with a tolerance, and still tells other data of the same shape.
"""
import numpy as np

from tfbnn.errors import CheckpointError

__all__ = ['data_summary', 'changed_arrays', 'check_same_data']

_ARRAYS = ('x_train', 'y_train', 'x_test', 'y_test', 'x_val', 'y_val')
_PROBES = 32


def data_summary(dataset):
    """name -> [mean, std, and the values at 32 evenly spaced flat positions]
    of each array of a `Dataset` (float64; none for a missing validation
    split): what `--resume` compares, with a tolerance, so float noise in the
    loading (another numpy) passes and other data of the same shape does not
    (other values move the mean or std; the same rows in another order move
    the probes)."""
    out = {}
    for name in _ARRAYS:
        array = getattr(dataset, name)
        if isinstance(array, np.ndarray) and array.size:
            flat = array.reshape(-1)
            at = np.linspace(0, flat.size - 1, _PROBES).astype(np.int64)
            out[name] = [float(np.mean(flat, dtype=np.float64)),
                         float(np.std(flat, dtype=np.float64))] + flat[at].astype(
                             np.float64).tolist()
    return out


def changed_arrays(saved, now, rtol=1e-5, atol=1e-6):
    """The arrays whose summaries differ beyond float noise (none when
    `saved` is None: a run from before the summary)."""
    if not isinstance(saved, dict):
        return []

    def same(a, b):
        return (isinstance(a, list) and len(a) == len(b)
                and np.allclose(a, b, rtol=rtol, atol=atol))
    return [name for name in _ARRAYS if (name in saved) != (name in now) or (
        name in now and not same(saved[name], now[name]))]


def check_same_data(saved, now, config):
    """Refuses to resume on data that would build another network, or feed
    it inputs scaled otherwise than its checkpoint was trained on.

    Args:
      saved: the run's dataset.json record (None or {} for a run without one).
      now: the record of the data loaded now (`rundir.dataset_record`).
      config: the resumed run's `RunConfig`.

    Raises:
      CheckpointError: the task, example shape, class count, the arrays'
        summaries or the inputs' standardisation differ.
    """
    if not saved:
        return
    for key, what in (('task', 'the task'), ('input_shape', 'the example shape'),
                      ('num_classes', 'the number of classes')):
        if saved.get(key) != now[key]:
            raise CheckpointError(
                'cannot resume: the data (%s) give %s %s, the saved run was trained on %s: the '
                'data changed since; start a new run in another --output-dir'
                % (config.data_dir or config.dataset, what, _shown(now[key]),
                   _shown(saved.get(key))))
    # (older runs have no summary: nothing to compare)
    changed = changed_arrays(saved.get('summary'), now['summary'])
    if changed:
        raise CheckpointError(
            'cannot resume: the data (%s) are not those the saved run was trained on (%s '
            'differ%s from dataset.json\'s summary): the data, or how they are loaded, changed '
            'since; start a new run in another --output-dir'
            % (config.data_dir or config.dataset, ', '.join(changed),
               '' if len(changed) > 1 else 's'))
    if (now['task'] == 'regression' and 'input_mean' not in saved and now['input_mean'] is None
            and config.validation_size and config.dataset != 'uci'):
        raise CheckpointError(
            'cannot resume: this run was started by an earlier tfbnn, which standardised the '
            '%s inputs under --validation-size; this one uses them as stored, so the network '
            'would see other inputs: start a new run in another --output-dir' % config.dataset)
    if saved.get('input_mean') is not None and now['input_mean'] is not None and not (
            np.allclose(saved['input_mean'], now['input_mean'])
            and np.allclose(saved['input_std'], now['input_std'])):
        raise CheckpointError(
            "cannot resume: the inputs' standardisation (dataset.json input_mean, input_std) "
            'differs from the saved run\'s: the data at %s changed since; start a new run in '
            'another --output-dir' % (config.data_dir or config.dataset))


def _shown(value):
    return 'x'.join(map(str, value)) if isinstance(value, list) else str(value)
