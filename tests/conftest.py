"""Shared test set-up: a fresh graph and fixed seeds for every test."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tfbnn  # noqa: F401  (imports TensorFlow quietly first)
from tfbnn.internal.compat import script_setup

# The suite runs in graph mode on both stacks, as the programs do (on TF 2.x:
# disable_v2_behavior). tests/internal/test_compat.py covers TF 2.x without it.
script_setup()


@pytest.fixture(autouse=True)
def fresh_graph():
    """Every test builds into its own graph, with graph-level seed 1234."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(1234)
        np.random.seed(1234)
        yield graph


@pytest.fixture
def sess(fresh_graph):
    with tf.Session(graph=fresh_graph) as session:
        yield session
