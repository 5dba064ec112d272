"""Independent numpy reference computations for the layer tests."""
import itertools

import numpy as np


# The stride of test_bayesian's transposed convolutions.
TRANSPOSE_STRIDE = 2


def linear(x, w, kind):
    """x @ w for dense, a stride-1 'valid' convolution, or a 'valid' transposed
    convolution of stride TRANSPOSE_STRIDE (channels last; w [kernel..., in, out])."""
    if kind == 'dense':
        return x @ w
    if kind.endswith('_transpose'):
        return transposed(x, w, TRANSPOSE_STRIDE)
    rank = w.ndim - 2
    out_sizes = [x.shape[1 + d] - w.shape[d] + 1 for d in range(rank)]
    out = np.zeros([x.shape[0]] + out_sizes + [w.shape[-1]])
    for offset in itertools.product(*[range(k) for k in w.shape[:rank]]):
        window = (slice(None),) + tuple(slice(o, o + n) for o, n in zip(offset, out_sizes))
        out += x[window] @ w[offset]
    return out


def transposed(x, w, stride):
    """The 'valid' transposed convolution: input position i adds x[i] @ w[o] at i * stride + o."""
    rank = w.ndim - 2
    in_sizes = x.shape[1:1 + rank]
    out_sizes = [n * stride + max(k - stride, 0) for n, k in zip(in_sizes, w.shape[:rank])]
    out = np.zeros([x.shape[0]] + out_sizes + [w.shape[-1]])
    for i in itertools.product(*[range(n) for n in in_sizes]):
        for o in itertools.product(*[range(k) for k in w.shape[:rank]]):
            at = (slice(None),) + tuple(a * stride + b for a, b in zip(i, o))
            out[at] += x[(slice(None),) + i] @ w[o]
    return out


def moments(x, kernel_loc, kernel_scale, bias_loc, bias_scale, kind):
    """Exact per-unit mean and variance of the layer's pre-activation."""
    mean = linear(x, kernel_loc, kind) + bias_loc
    var = linear(x ** 2, kernel_scale ** 2, kind) + bias_scale ** 2
    return mean, var


def softplus(x):
    return np.log1p(np.exp(x))
