"""The library in each of TensorFlow's modes, each in a fresh interpreter.

The rest of the suite runs as the programs do: graph mode everywhere (on TF
2.x after `disable_v2_behavior`). Here, on TF 2.x's defaults (eager outside a
graph block, resource variables, v2 control flow), layers and the ELBO still
build and train inside `with tf.Graph().as_default():` and give the closed-form
KL; and building in eager mode ends in one clear line. On TF 1.15 the first is
its ordinary mode and the second is reached with `enable_eager_execution`.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import tfbnn
from tfbnn.internal import compat

GRAPH_BLOCK = r'''
import json, sys
import numpy as np
import tensorflow.compat.v1 as tf
import tfbnn
from tfbnn import layers
assert tf.executing_eagerly() == (int(tf.__version__[0]) >= 2)
rng = np.random.RandomState(0)
x_data = rng.randn(64, 5).astype(np.float32)
y_data = (x_data[:, 0] + x_data[:, 1] > 0).astype(np.int64)
with tf.Graph().as_default():
    tf.set_random_seed(1)
    training = tf.placeholder_with_default(True, [])
    h = layers.dense(tf.constant(x_data), 8, tf.nn.relu, posterior_init_scale=0.05, name='fc1')
    h = layers.batch_normalization(h, training=training, name='bn')
    h = tf.nn.relu(layers.group_norm(h, 2, name='gn'))
    logits = layers.dense(h, 2, estimator='flipout', name='fc2')
    nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y_data, logits=logits)
    terms = tfbnn.losses.elbo(nll, num_examples=64)
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        step = tf.train.AdamOptimizer(0.05).minimize(terms.loss)
    resource = any('VarHandleOp' == v.op.type for v in tf.global_variables())
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = np.mean([sess.run(terms.nll_term) for _ in range(20)])
        for _ in range(150):
            sess.run(step)
        last = np.mean([sess.run(terms.nll_term) for _ in range(20)])
        values = {v.op.name: sess.run(v).tolist() for v in tf.trainable_variables()}
        kl = float(sess.run(tfbnn.losses.kl_divergence()))
json.dump(dict(first=float(first), last=float(last), kl=kl, values=values, resource=resource),
          open(sys.argv[1], 'w'))
'''

EAGER = r'''
import sys
import tensorflow.compat.v1 as tf
if int(tf.__version__[0]) < 2:
    tf.enable_eager_execution()
import tfbnn
from tfbnn.errors import ConfigError
calls = [lambda: tfbnn.layers.dense(tf.zeros([2, 3]), 4, name='fc1'),
         lambda: tfbnn.layers.batch_normalization(tf.zeros([2, 3])),
         lambda: tfbnn.layers.group_norm(tf.zeros([2, 4]), 2),
         lambda: tfbnn.losses.elbo(tf.zeros([2]), num_examples=10),
         lambda: tfbnn.moped.init_from_checkpoint('/no/such/checkpoint'),
         lambda: tfbnn.diagnostics.layer_diagnostics(tf.zeros([]), 0.1),
         lambda: tfbnn.losses.kl_divergence(),  # no collections: it was 0, with a warning
         lambda: tfbnn.losses.get_kl_losses(),
         lambda: tfbnn.pruning.allow_retraining(),
         lambda: tfbnn.bayesian_scope('model').__enter__()]
for call in calls:
    try:
        call()
    except ConfigError as err:
        print(err)
    else:
        sys.exit('no error')
'''


IN_A_TF_FUNCTION = r'''
import tensorflow as tf
import tfbnn
@tf.function
def build(x):
    return tfbnn.layers.dense(x, 2, name='fc')
try:
    build(tf.zeros([3, 4]))
except Exception as err:  # tf.function wraps it in its StagingError
    print(str(err).strip().splitlines()[-1].strip())
'''

GETTER_IN_A_LOOP = r'''
import numpy as np
import tensorflow.compat.v1 as tf
import tfbnn
with tf.Graph().as_default():  # TF 2.x: v2 control flow builds the body as a function
    tf.set_random_seed(1)
    with tfbnn.bayesian_scope('loop', reuse=tf.AUTO_REUSE):
        _, draws = tf.while_loop(
            lambda i, ta: i < 3, lambda i, ta: (i + 1, ta.write(i, tf.get_variable('w', [2, 2]))),
            [0, tf.TensorArray(tf.float32, 3)])
    kl = tfbnn.losses.kl_divergence()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first, second = sess.run(draws.stack()), sess.run(draws.stack())
        assert np.allclose(first[0], first[1]) and np.allclose(first[0], first[2]), first
        assert not np.allclose(first[0], second[0])
        print(len(tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)), sess.run(kl) > 0)
'''


def _run(code, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
    proc = subprocess.run([sys.executable, '-c', code] + list(args), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _softplus_inv_free_kl(loc, rho):
    """KL(N(loc, softplus(rho)^2) || N(0, 1)) summed, the closed form."""
    scale = np.log1p(np.exp(np.asarray(rho)))
    loc = np.asarray(loc)
    return np.sum(0.5 * (scale ** 2 + loc ** 2 - 1.0) - np.log(scale))


def test_layers_and_elbo_train_in_a_graph_block_on_the_default_mode(tmp_path):
    out = str(tmp_path / 'out.json')
    _run(GRAPH_BLOCK, out)
    got = json.load(open(out))
    # TF 2.x's default variables are resource variables; TF 1.15's are not.
    assert got['resource'] == compat.TF2
    assert got['last'] < 0.5 * got['first']
    v = got['values']
    expected = sum(_softplus_inv_free_kl(v['%s/%s_loc' % (layer, part)],
                                         v['%s/%s_rho' % (layer, part)])
                   for layer in ('fc1', 'fc2') for part in ('kernel', 'bias')
                   if '%s/%s_rho' % (layer, part) in v)
    np.testing.assert_allclose(got['kl'], expected, rtol=1e-4)


def test_building_in_eager_mode_is_one_clear_error():
    lines = _run(EAGER).strip().split('\n')
    assert len(lines) == 10
    for line, who in zip(lines, ["dense 'fc1'", "batch_normalization", "group_norm",
                                 'tfbnn.losses.elbo', 'moped.init_from_checkpoint',
                                 'tfbnn.diagnostics.layer_diagnostics',
                                 'tfbnn.losses.kl_divergence', 'tfbnn.losses.get_kl_losses',
                                 'tfbnn.pruning.allow_retraining', 'tfbnn.bayesian_scope']):
        assert who in line
        assert 'is executing eagerly: call tf.compat.v1.disable_v2_behavior()' in line
        assert 'with tf.Graph().as_default():' in line


def test_stack_name_matches_the_tensorflow_version():
    import tensorflow as tf
    assert compat.stack_name() == ('tf2' if tf.__version__.startswith('2.') else 'tf1')
    assert tfbnn.__version__


def test_the_getter_in_a_while_loop_draws_once_per_run_on_the_default_mode():
    """TF 2.x's while loop builds its body as a function graph, which
    `tf.control_dependencies(None)` does not leave: the draw must be made
    outside it (`tf.init_scope`), or each iteration draws anew and the KL
    lives in the body, where no session can fetch it."""
    assert _run(GETTER_IN_A_LOOP).split() == ['1', 'True']


@pytest.mark.skipif(not compat.TF2, reason='tf.function traced from eager code is TF 2.x')
def test_a_tf_function_traced_from_eager_code_is_refused_in_one_line():
    assert _run(IN_A_TF_FUNCTION).strip().endswith(
        "dense 'fc' builds a graph but TensorFlow %s is executing eagerly (outside "
        "the tf.function being traced): call tf.compat.v1.disable_v2_behavior() (or "
        "disable_eager_execution()) at the start of the program, or build inside `with "
        "tf.Graph().as_default():`" % __import__('tensorflow').__version__)
