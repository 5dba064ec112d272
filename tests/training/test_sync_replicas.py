"""SyncReplicasOptimizer on an in-process cluster (1 ps + W workers, each worker
its own graph and session, as on a real cluster): one synchronous update of W
workers of batch B moves the weights by exactly -lr times the single-process
gradient of batch W B, in float64, also when a worker's step timed out and it
only waited for the token (it must not send its gradient twice)."""
import threading

import numpy as np
import tensorflow.compat.v1 as tf

import tfbnn
from tfbnn import losses, replica_losses
from tfbnn.training import graph as graph_lib
from tfbnn.training import sharding
from tfbnn.training.launch import local_cluster
from tfbnn.training.sync_replicas import SyncReplicasHook, token_wait_op

N, B, W, SEED, LR = 20, 4, 3, 7, 0.5   # G = 12: M = 2 global batches, the second of 8
RNG = np.random.RandomState(0)
X, Y = RNG.randn(N, 5), RNG.randint(0, 3, N).astype(np.int64)


def _worker_graph(spec, w):
    """What build_train_graph builds for Replica(W, w, sync=True), with plain SGD."""
    graph = tf.Graph()
    device = '/job:worker/task:%d' % w
    with graph.as_default(), tf.device(tf.train.replica_device_setter(worker_device=device,
                                                                      cluster=spec)):
        tf.set_random_seed(1)
        step = tf.train.get_or_create_global_step()
        with tf.device(device + '/cpu:0'):
            idx, count = sharding.replica_batch(tf.identity(step), N, B * W, W, w, SEED)
            x, y = tf.gather(tf.constant(X), idx), tf.gather(tf.constant(Y), idx)
        logits = tfbnn.layers.dense(x, 3, sample=False, name='fc')
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        loss = replica_losses.replica_elbo(nll, N, B * W, W, count, scheme='per_example',
                                           step=step).loss
        opt = tf.train.SyncReplicasOptimizer(tf.train.GradientDescentOptimizer(LR),
                                             replicas_to_aggregate=W, total_num_replicas=W)
        train_op = opt.apply_gradients(opt.compute_gradients(loss), global_step=step)
        wait = token_wait_op(opt, step)
        hook = SyncReplicasHook(opt, is_chief=w == 0)
        hook.begin()
        init = (tf.global_variables_initializer(), tf.local_variables_initializer())
        params = {v.op.name: v for v in tf.trainable_variables()}
    return graph, dict(train=train_op, wait=wait, hook=hook, init=init, params=params,
                       step=step)


def _single_process_gradient(weights, s):
    """-lr times the gradient of the single-process batch-G ELBO at step s."""
    with tf.Graph().as_default():
        iterator, start_epoch, skip = graph_lib._index_pipeline(N, B * W, 1, SEED)
        idx = iterator.get_next()
        logits = tfbnn.layers.dense(tf.gather(tf.constant(X), idx), 3, sample=False, name='fc')
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.gather(tf.constant(Y), idx), logits=logits)
        loss = losses.elbo(nll, N, batch_size=B * W, scheme='per_example',
                           step=tf.constant(s, tf.int64)).loss
        params = {v.op.name: v for v in tf.trainable_variables()}
        grads = dict(zip(params, tf.gradients(loss, list(params.values()))))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(iterator.initializer, {start_epoch: 0, skip: s})
            for name, value in weights.items():
                params[name].load(value, sess)
            return {k: -LR * v for k, v in sess.run(grads).items()}


def _in_threads(calls):
    errors, threads = [], []
    for call in calls:
        def run(call=call):
            try:
                call()
            except Exception as err:  # noqa: BLE001 (reported below)
                errors.append(err)
        threads.append(threading.Thread(target=run, daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and not any(t.is_alive() for t in threads), errors


def test_a_synchronous_update_is_the_single_process_batch_wb_step_in_float64():
    spec = tf.train.ClusterSpec(local_cluster(W))
    servers = [tf.train.Server(spec, 'ps', 0)] + [tf.train.Server(spec, 'worker', w)
                                                  for w in range(W)]
    workers = [_worker_graph(spec, w) for w in range(W)]
    sessions = [tf.Session(servers[w + 1].target, graph=graph) for w, (graph, _) in
                enumerate(workers)]
    coord = tf.train.Coordinator()
    options = tf.RunOptions(timeout_in_ms=30000)
    try:
        (chief_graph, chief), chief_sess = workers[0], sessions[0]
        assert all(p.dtype.base_dtype == tf.float64 for p in chief['params'].values())
        assert all(p.device.startswith('/job:ps/task:0') for p in chief['params'].values())
        chief_sess.run(chief['init'])
        for (graph, ops), sess in zip(workers, sessions):
            if sess is not chief_sess:
                sess.run(ops['init'][1])
            ops['hook'].after_create_session(sess, coord)

        def weights():
            return chief_sess.run(chief['params'])

        # Update 0: worker 0 sends its gradient alone and its step times out,
        # as on a cluster when another worker is slow (after 5 s: time enough
        # for the gradient to reach the accumulator on a loaded machine); it
        # then only waits for the token while the others send theirs.
        # Re-running its train op here would put its gradient in twice.
        before = weights()
        try:
            sessions[0].run(workers[0][1]['train'], options=tf.RunOptions(timeout_in_ms=5000))
            raise AssertionError('the step should wait for the other workers')
        except tf.errors.DeadlineExceededError:
            pass
        assert chief_sess.run(chief['step']) == 0
        _in_threads([lambda: sessions[0].run(workers[0][1]['wait'], options=options)] +
                    [lambda w=w: sessions[w].run(workers[w][1]['train'], options=options)
                     for w in range(1, W)])
        # Update 1 (the short last batch of 8): every worker steps normally.
        middle = weights()
        assert chief_sess.run(chief['step']) == 1
        _in_threads([lambda w=w: sessions[w].run(workers[w][1]['train'], options=options)
                     for w in range(W)])
        after = weights()
        assert chief_sess.run(chief['step']) == 2
        for start, end, s in ((before, middle, 0), (middle, after, 1)):
            want = _single_process_gradient(start, s)
            for name in want:
                np.testing.assert_allclose(end[name] - start[name], want[name], rtol=0,
                                           atol=1e-6)
                assert np.abs(end[name] - start[name] - want[name]).max() < 1e-12
            assert max(np.abs(v).max() for v in want.values()) > 1e-3  # a real step
    finally:
        coord.request_stop()
        for sess in sessions:
            sess.close()
