"""The 1-D toy regression curve of Blundell et al. (2015), generated.

Mathematical details:
  With eps ~ N(0, 0.02^2) drawn once per point and used three times,

    y = x + 0.3 sin(2 pi (x + eps)) + 0.3 sin(4 pi (x + eps)) + eps.

  Training inputs are x ~ U(0, 0.5); test inputs are evenly spaced over
  [-0.2, 1.2], so a plot of the predictive band shows the uncertainty
  growing away from the data, as in the paper's Figure 5.

References:
  Blundell, Cornebise, Kavukcuoglu & Wierstra (2015), "Weight Uncertainty in
  Neural Networks", ICML, Section 5.2 (the curve) and Figure 5.
"""
import numpy as np

from tfbnn.data._common import check_int, standardize
from tfbnn.data.dataset import make_dataset

__all__ = ['load_toy_regression', 'toy_regression_curve',
           'TOY_NOISE_STD', 'TOY_TRAIN_RANGE', 'TOY_TEST_RANGE']

TOY_NOISE_STD = 0.02
TOY_TRAIN_RANGE = (0.0, 0.5)
TOY_TEST_RANGE = (-0.2, 1.2)


def toy_regression_curve(x, eps):
    """The curve of the module docstring at inputs `x` and noise `eps`.

    Args:
      x: float or numpy array, the inputs.
      eps: float or numpy array broadcastable with `x`, the noise; 0 gives
        the noise-free curve.

    Returns:
      numpy array (or float) `x + 0.3 sin(2 pi (x + eps)) + 0.3 sin(4 pi (x + eps)) + eps`.
    """
    z = 2.0 * np.pi * (x + eps)
    return x + 0.3 * np.sin(z) + 0.3 * np.sin(2.0 * z) + eps


def load_toy_regression(seed=0, num_train=256, num_test=256):
    """Generates the toy regression set.

    Draws, from `np.random.RandomState(seed)` in this order: the training
    inputs, the training noise, the test noise.

    Args:
      seed: int in [0, 2**32), the generator's seed.
      num_train: int >= 1, training points, x ~ U(0, 0.5).
      num_test: int >= 1, test points, x evenly spaced over [-0.2, 1.2].

    Returns:
      A regression `Dataset` named 'toy_regression': `x` of shape `[N, 1]` in
      the original units (not standardised, so plots keep their axis), `y`
      standardised with the training mean `target_mean` and std `target_std`.

    Raises:
      ConfigError: an argument is not an integer in range.
    """
    seed = check_int('toy_regression', 'seed', seed, 0, 2 ** 32 - 1)
    num_train = check_int('toy_regression', 'num_train', num_train, 1)
    num_test = check_int('toy_regression', 'num_test', num_test, 1)
    rng = np.random.RandomState(seed)
    x_train = rng.uniform(TOY_TRAIN_RANGE[0], TOY_TRAIN_RANGE[1], num_train)
    y_train = toy_regression_curve(x_train, rng.normal(0.0, TOY_NOISE_STD, num_train))
    x_test = np.linspace(TOY_TEST_RANGE[0], TOY_TEST_RANGE[1], num_test)
    y_test = toy_regression_curve(x_test, rng.normal(0.0, TOY_NOISE_STD, num_test))
    y_train, y_test, y_mean, y_std = standardize(y_train, y_test)
    description = ('Blundell et al. (2015) toy curve: %d train x~U(0, 0.5) / %d test '
                   'x in [-0.2, 1.2], noise std 0.02' % (num_train, num_test))
    return make_dataset('toy_regression', 'regression', description,
                        x_train[:, None], y_train, x_test[:, None], y_test,
                        target_mean=float(y_mean), target_std=float(y_std))
