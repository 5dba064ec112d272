"""Shared by the tests of tfbnn.metrics: hand-computed examples and the check
that a bad input raises a ValueError saying what was wrong."""
import math

import numpy as np
import pytest

LOG2 = math.log(2.0)

# Four examples, three classes, num_bins = 4 (edges 0, .25, .5, .75, 1):
#   probs                 label  conf  argmax  correct  bin
#   [0.9, 0.05, 0.05]     0      0.9   0       yes      3
#   [0.8, 0.1, 0.1]       1      0.8   0       no       3
#   [0.3, 0.6, 0.1]       1      0.6   1       yes      2
#   [0.4, 0.35, 0.25]     2      0.4   0       no       1
# bin 0: empty; bin 1: conf .4, acc 0; bin 2: conf .6, acc 1;
# bin 3: conf .85, acc .5.
# ECE = 1/4 |0 - .4| + 1/4 |1 - .6| + 2/4 |.5 - .85| = .1 + .1 + .175 = .375.
ECE_PROBS = np.array([[0.9, 0.05, 0.05], [0.8, 0.1, 0.1], [0.3, 0.6, 0.1], [0.4, 0.35, 0.25]])
ECE_LABELS = np.array([0, 1, 1, 2])


def assert_raises_value_error(call, error, match):
    """`call()` raises `error`, a ValueError, with a message matching `match`."""
    with pytest.raises(error, match=match) as info:
        call()
    assert isinstance(info.value, ValueError)
