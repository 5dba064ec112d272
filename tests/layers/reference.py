"""Independent numpy reference computations for the layer tests."""
import itertools

import numpy as np


def linear(x, w, kind):
    """x @ w for dense, or a stride-1 'valid' convolution (channels last)."""
    if kind == 'dense':
        return x @ w
    rank = w.ndim - 2
    out_sizes = [x.shape[1 + d] - w.shape[d] + 1 for d in range(rank)]
    out = np.zeros([x.shape[0]] + out_sizes + [w.shape[-1]])
    for offset in itertools.product(*[range(k) for k in w.shape[:rank]]):
        window = (slice(None),) + tuple(slice(o, o + n) for o, n in zip(offset, out_sizes))
        out += x[window] @ w[offset]
    return out


def moments(x, kernel_loc, kernel_scale, bias_loc, bias_scale, kind):
    """Exact per-unit mean and variance of the layer's pre-activation."""
    mean = linear(x, kernel_loc, kind) + bias_loc
    var = linear(x ** 2, kernel_scale ** 2, kind) + bias_scale ** 2
    return mean, var


def softplus(x):
    return np.log1p(np.exp(x))
