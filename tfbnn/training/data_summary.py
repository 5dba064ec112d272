"""What `--resume` compares of the data: a summary of each array, not a hash.

A hash of the loaded arrays would refuse a resume after float noise in the
loading (another numpy's rounding of a standardisation); the summary is
compared with a tolerance, and still tells other data of the same shape.
"""
import numpy as np

__all__ = ['data_summary', 'changed_arrays']

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
