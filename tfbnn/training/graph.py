"""The training job's graph: in-memory data, a resumable tf.data index pipeline,
the network, the scaled ELBO, a NaN-guarded Adam step, and the predictive."""
import collections

import tensorflow.compat.v1 as tf

from tfbnn import (diagnostics, losses, models, outliers, predictive, pruning, replica_losses,
                   rho_step, run_config)
from tfbnn.errors import ConfigError
from tfbnn.training import outlier_data, sharding

__all__ = ['TrainGraph', 'Replica', 'build_train_graph', 'NON_FINITE_MESSAGE', 'steps_per_epoch',
           'log_summary_value']

NON_FINITE_MESSAGE = 'tfbnn: non-finite loss or gradient'

TrainGraph = collections.namedtuple('TrainGraph', [
    'global_step', 'data_init', 'data_feed', 'iterator_init', 'start_epoch', 'skip_batches',
    'train_op', 'fetches', 'summary', 'eval_input', 'predictive', 'saver', 'steps_per_epoch',
    'total_steps', 'diagnostics', 'diagnostics_summary', 'optimizer', 'data_variables',
    'best_saver'])
TrainGraph.__new__.__defaults__ = (None,)
TrainGraph.__doc__ = """Handles the session loop needs.

Attributes:
  global_step: int64 variable, checkpointed.
  data_init / data_feed: op and feed dict that load the arrays into the graph
    once (local variables, never checkpointed, never in the graph def).
  iterator_init, start_epoch, skip_batches: (re)start the training pipeline at
    an epoch and batch, so a resumed run sees exactly the batches that the
    uninterrupted run would have.
  train_op: one step; fails with NON_FINITE_MESSAGE before touching any
    trainable variable when the loss or the gradient norm is not finite
    (batch norm's moving statistics are updated by the forward pass).
  fetches: dict of per-step scalars for logging.
  summary: merged TensorBoard summaries of those scalars.
  eval_input: placeholder `[batch] + input_shape` of the predictive.
  predictive: `ClassificationPredictive` or `RegressionPredictive`.
  saver: `tf.train.Saver` of the global variables.
  diagnostics / diagnostics_summary: `tfbnn.diagnostics.layer_diagnostics`
    of the training loss and its TensorBoard summary (None unless
    --diagnostics-every is set); fetched with a training step, so they
    describe that step's forward pass and cost no extra batch.
  best_saver: None, or the `tf.train.Saver` of the best weights on the
    validation split (added by the loop with --validate-every).
  optimizer: the optimizer (a `tf.train.SyncReplicasOptimizer` for
    synchronous replicas, whose session hook the loop needs).
  data_variables: the local variables that data_init fills.

With a `Replica`, iterator_init, start_epoch and skip_batches are None (the
batch is a function of the global step when synchronous; asynchronous, of a
per-worker counter that starts at global_step // W), steps_per_epoch counts
global batches of W B examples, and total_steps counts global steps (W per
global batch when asynchronous).
"""

Replica = collections.namedtuple('Replica', ['num_replicas', 'index', 'sync', 'data_device'])
Replica.__doc__ = """This worker's place among W replicas sharing the variables.

Attributes:
  num_replicas: W, the number of workers.
  index: this worker's index w.
  sync: True for `tf.train.SyncReplicasOptimizer` (one update of the mean of
    W gradients per global step), False for asynchronous updates.
  data_device: where this worker's copy of the data lives, e.g.
    '/job:worker/task:1/cpu:0' (never on a parameter server).
"""


def steps_per_epoch(num_examples, batch_size):
    """M = ceil(N / B): the last, shorter batch is a step of its own."""
    return -(-num_examples // batch_size)


def _in_memory(array, name):
    """A local variable holding `array`, filled by feeding its initializer once."""
    ph = tf.placeholder(tf.as_dtype(array.dtype), array.shape, name=name + '_feed')
    var = tf.Variable(ph, trainable=False, collections=[tf.GraphKeys.LOCAL_VARIABLES],
                      name=name)
    return var, ph


def _index_pipeline(num_examples, batch_size, epochs, seed):
    """Batches of example indices, a fresh seeded permutation per epoch.

    The permutation of epoch e is a function of (seed, e) only (a stateless
    random op), so restarting at (start_epoch, skip_batches) replays the
    same batches as an uninterrupted run.
    """
    start_epoch = tf.placeholder(tf.int64, [], name='start_epoch')
    skip_batches = tf.placeholder(tf.int64, [], name='skip_batches')

    def epoch(e):
        return tf.data.Dataset.from_tensor_slices(
            sharding.epoch_permutation(num_examples, seed, e)).batch(batch_size)

    ds = (tf.data.Dataset.range(start_epoch, epochs).flat_map(epoch).skip(skip_batches)
          .prefetch(4))
    iterator = tf.data.make_initializable_iterator(ds)
    return iterator, start_epoch, skip_batches


_Input = collections.namedtuple('_Input', [
    'x', 'y', 'x_outlier', 'idx', 'variables', 'feed', 'iterator', 'start_epoch', 'skip_batches',
    'round', 'global_count', 'counter'])
_Input.__doc__ = """The training batch of a step (`_input`).

Attributes:
  x, y: the batch's examples and targets.
  x_outlier: with --outlier-exposure, an outlier image per example (else None).
  idx: int64 `Tensor` of the batch's example indices.
  variables: [x_train, y_train(, outliers)], the local variables holding the arrays.
  feed: the feed dict that fills them.
  iterator, start_epoch, skip_batches: the single-process index pipeline
    (None with a `Replica`).
  round: a replica's step of the single-process schedule (None without one).
  global_count: a replica's examples in the global batch (None without one).
  counter: an asynchronous replica's own data round variable (else None).
"""


def _input(config, dataset, replica, global_step, draw_outliers=True):
    """The arrays as local variables and the batch of the step, on the data device."""
    n, batch = dataset.x_train.shape[0], config.batch_size
    workers = replica.num_replicas if replica else 1
    round_ = global_count = counter = None
    with tf.device(replica.data_device if replica else '/cpu:0'), tf.name_scope('data'):
        x_var, x_ph = _in_memory(dataset.x_train, 'x_train')
        y_var, y_ph = _in_memory(dataset.y_train, 'y_train')
        if replica is None:
            iterator, start_epoch, skip = _index_pipeline(n, batch, config.epochs,
                                                          config.seed)
            idx = iterator.get_next()
        else:
            iterator = start_epoch = skip = None
            # The step s of the single-process schedule of batch G (pi_i and
            # warm-up). Asynchronous: W updates (one per worker) make one
            # global batch.
            round_ = tf.identity(global_step) // (1 if replica.sync else workers)
            data_round = round_
            if not replica.sync:
                # Asynchronous workers run at their own speeds, so the shared
                # round would hand a fast worker the same share twice and skip
                # shares of a slow one. Each walks through its own shares of
                # successive global batches with a counter of its own, which
                # starts at global_step // W whenever its session starts (so
                # a restarted worker picks up where the job is).
                counter = tf.Variable(round_, trainable=False, use_resource=True,
                                      collections=[tf.GraphKeys.LOCAL_VARIABLES],
                                      name='async_data_round')
                data_round = counter.read_value()
            idx, global_count = sharding.replica_batch(data_round, n, batch * workers, workers,
                                                       replica.index, config.seed)
        x = tf.gather(x_var, idx)
        y = tf.gather(y_var, idx)
        variables, feed = [x_var, y_var], {x_ph: dataset.x_train, y_ph: dataset.y_train}
        x_outlier = None
        if config.outlier_exposure != 'none':
            bank = outlier_data.outlier_bank(config, dataset, draw=draw_outliers)
            bank_var, bank_ph = _in_memory(bank, 'outliers')
            x_outlier = tf.gather(bank_var, idx % bank.shape[0])
            variables.append(bank_var)
            feed[bank_ph] = bank
    return _Input(x, y, x_outlier, idx, variables, feed, iterator, start_epoch, skip, round_,
                  global_count, counter)


def _likelihood(spec, x, y, k, regression, x_outlier=None, outlier_weight=1.0,
                outlier_draws=1, disagreement=0.0):
    """The network on the batch (K weight samples), its NLL and the summed train metric.

    With `x_outlier` (an outlier image per example), the network sees the
    outliers in the same pass (the same weight sample, after the batch) and
    the NLL of example b becomes nll_b + lambda H(U, p(. | x~_b, w))
    (`tfbnn.outliers`), so every ELBO scheme and replica share counts the
    outlier term as it counts the data term. With R = `outlier_draws` > 1
    the outliers are shown R times, each copy with its own weight noise (the
    estimators perturb every row apart), and the term is lambda H(U, p_bar)
    of the mixture of the R draws' predictions, minus gamma = `disagreement`
    times their mutual information I(y; w | x~).

    Returns:
      (`models.Network` on the batch alone, NLL per example (and sample),
      summed squared error or error count of the batch, the mean outlier
      term lambda H(U, p) (None without outliers)).
    """
    # Without outliers the graph is op for op the one before the option
    # existed: op-level seeds follow the op count, so runs repeat their records.
    outlier_term = None
    if x_outlier is not None:
        batch = tf.shape(x)[0]
        x = tf.concat([x] + [x_outlier] * outlier_draws, 0)
    # K weight samples see the same batch: the first layer takes it once
    # (shared_input) instead of K tiled copies, and does x mu once.
    net = models.build_network(spec, x, sample=True, num_samples=None if k == 1 else k,
                               shared_input=k > 1, training=True)
    if x_outlier is not None:
        with tf.name_scope('outlier_exposure'):
            logits = net.outputs[..., batch:, :]
            if outlier_draws == 1:
                per_example = outliers.uniform_cross_entropy(logits)
            else:  # [..., R * B, C] -> [..., R, B, C], the draws of each outlier apart
                classes = tf.dimension_value(logits.shape[-1])
                logits = tf.reshape(logits, tf.concat(
                    [tf.shape(logits)[:-2], [outlier_draws, batch, classes]], 0))
                per_example = outliers.mixture_uniform_cross_entropy(logits, axis=-3)
            per_example = outlier_weight * per_example
            if disagreement:
                per_example -= disagreement * outliers.draws_mutual_information(logits, -3)
            outlier_term = tf.reduce_mean(per_example)
        net = net._replace(outputs=net.outputs[..., :batch, :])
    with tf.name_scope('likelihood'):
        labels = y if k == 1 else tf.broadcast_to(y, tf.shape(net.outputs)[:2])
        if regression:
            nll = models.gaussian_nll(labels, net.outputs, net.noise_std)
            pred = net.outputs if k == 1 else tf.reduce_mean(net.outputs, 0)
            train_metric = tf.reduce_sum(tf.square(pred - y))
        else:
            nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                 logits=net.outputs)
            probs = tf.nn.softmax(net.outputs)
            probs = probs if k == 1 else tf.reduce_mean(probs, 0)
            train_metric = tf.reduce_sum(tf.cast(
                tf.not_equal(tf.argmax(probs, -1), y), tf.float32))
        if x_outlier is not None:
            nll += per_example
    return net, nll, train_metric, outlier_term


def _objective(config, n, net, nll, inp, replica, global_step, regression):
    """The scaled ELBO (`losses.ElboTerms`): a single process's, or a replica's share."""
    batch = config.batch_size
    if replica is None:
        terms = losses.elbo(nll, n, batch_size=batch, scheme=config.kl_scheme,
                            kl_weight=config.kl_weight,
                            warmup_steps=config.warmup_steps, step=global_step)
    else:
        workers = replica.num_replicas
        terms = replica_losses.replica_elbo(
            nll, n, batch * workers, workers, inp.global_count, scheme=config.kl_scheme,
            kl_weight=config.kl_weight, warmup_steps=config.warmup_steps, step=inp.round)
    if regression and config.noise_prior == 'gamma':
        # The noise's log prior counts like the KL: once per pass over
        # the data, so it takes the KL's coefficient under every scheme.
        terms = terms._replace(loss=terms.loss - terms.kl_coefficient * models.noise_log_prior(
            net.noise_std, config.noise_prior_shape, config.noise_prior_rate))
    return terms


def _apply(opt, scale_opt, grads_and_vars, global_step):
    """`opt` applies every gradient, or with a scale optimizer the non-rho
    ones while `scale_opt` applies the rho ones; the step counts once."""
    if scale_opt is None:
        return opt.apply_gradients(grads_and_vars, global_step=global_step)
    rhos, rest = rho_step.split_rho(grads_and_vars)
    if not rhos:
        raise ConfigError('--scale-optimizer adam: the model has no posterior scales (rho '
                          'variables) to train')
    return tf.group(opt.apply_gradients(rest, global_step=global_step),
                    scale_opt.apply_gradients(rhos), name='train_op')


def _train_op(config, loss, replica, global_step, inp, spe):
    """The NaN-guarded update.

    Returns:
      (train op, optimizer, global gradient norm, learning rate).
    """
    rate = run_config.learning_rate(config, global_step if replica is None else inp.round, spe)
    opt = run_config.make_optimizer(config, rate)
    scale_opt = run_config.make_scale_optimizer(config, rate)
    if replica is not None and replica.sync:
        opt = tf.train.SyncReplicasOptimizer(opt, replicas_to_aggregate=replica.num_replicas,
                                             total_num_replicas=replica.num_replicas)
    grads_and_vars = [(g, v) for g, v in opt.compute_gradients(loss) if g is not None]
    grad_norm = tf.global_norm([g for g, _ in grads_and_vars])  # of the loss, before scaling
    grads_and_vars = rho_step.scale_rho_gradients(grads_and_vars, config.scale_lr_multiplier)
    if config.warm_start:  # the start may hold pruned weights: their means stay 0
        grads_and_vars = pruning.freeze_pruned(grads_and_vars)
    finite = tf.debugging.check_numerics(loss + grad_norm, NON_FINITE_MESSAGE)
    # The update only runs once the check has passed, so a NaN step leaves
    # every trainable variable at its last good value, and the job saves
    # nothing after it.
    gate = [finite] + tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    if replica is None:
        with tf.control_dependencies(gate):
            train_op = _apply(opt, scale_opt, grads_and_vars, global_step)
    else:
        # Gate the gradients, not the apply op: SyncReplicasOptimizer
        # creates variables and queues in apply_gradients, whose
        # initialisers must not wait for a training step.
        with tf.control_dependencies(gate):
            grads_and_vars = [(tf.identity(g), v) for g, v in grads_and_vars]
        train_op = _apply(opt, scale_opt, grads_and_vars, global_step)
        if not replica.sync:
            with tf.control_dependencies([train_op]):
                train_op = inp.counter.assign_add(1).op
    return train_op, opt, grad_norm, rate


def _summaries(fetches, train_metric, idx, regression):
    """The merged TensorBoard summaries of the per-step scalars."""
    keys = ('loss', 'nll_term', 'kl', 'kl_coefficient', 'scaled_kl', 'grad_norm')
    with tf.name_scope('summaries'):
        return tf.summary.merge([
            tf.summary.scalar('elbo/' + key, fetches[key])
            for key in keys + (('outlier_term',) if 'outlier_term' in fetches else ())] + [
            tf.summary.scalar('train/learning_rate', fetches['learning_rate']),
            tf.summary.scalar('train/batch_rmse' if regression else 'train/batch_error',
                              tf.sqrt(train_metric / tf.cast(tf.size(idx), tf.float32))
                              if regression else
                              train_metric / tf.cast(tf.size(idx), tf.float32))])


def build_train_graph(config, dataset, spec, device, replica=None, draw_outliers=True):
    """Builds everything the session loop runs, in the default graph.

    Args:
      config: `tfbnn.run_config.RunConfig`.
      dataset: `tfbnn.data.Dataset`.
      spec: `tfbnn.models.ModelSpec`.
      device: device string for the model ('/cpu:0', '/gpu:0').
      replica: None for a single process, or a `Replica`: this worker then
        takes its share of the global batch of W B examples of the global
        step (`tfbnn.training.sharding`) and minimises its share of the
        batch-W-B ELBO (`tfbnn.replica_losses`).
      draw_outliers: False for a graph that only evaluates: the outlier
        bank is zeros (`tfbnn.training.outlier_data.outlier_bank`), so its
        training ops would train on blank outliers; never run them.

    Returns:
      `TrainGraph`.
    """
    n = dataset.x_train.shape[0]
    workers = replica.num_replicas if replica else 1
    spe = steps_per_epoch(n, config.batch_size * workers)
    total = spe * config.epochs * (workers if replica and not replica.sync else 1)
    regression = dataset.task == 'regression'
    if config.warm_start:  # the start may hold pruned weights: their KL is left out
        pruning.allow_retraining()
    global_step = tf.train.get_or_create_global_step()
    inp = _input(config, dataset, replica, global_step, draw_outliers)
    with tf.device(device):
        net, nll, train_metric, outlier_term = _likelihood(
            spec, inp.x, inp.y, config.train_samples, regression, inp.x_outlier,
            config.outlier_weight, config.outlier_draws, config.outlier_disagreement)
        terms = _objective(config, n, net, nll, inp, replica, global_step, regression)
        train_op, opt, grad_norm, rate = _train_op(config, terms.loss, replica, global_step,
                                                   inp, spe)
        eval_input = tf.placeholder(tf.as_dtype(dataset.x_test.dtype),
                                    [None] + list(dataset.input_shape), name='eval_input')
        build = (predictive.regression_predictive if regression
                 else predictive.classification_predictive)
        pred_ops = build(spec, eval_input, config.eval_samples, config.eval_estimator)

    fetches = dict(loss=terms.loss, nll_term=terms.nll_term, kl=terms.kl,
                   kl_coefficient=terms.kl_coefficient, scaled_kl=terms.scaled_kl,
                   grad_norm=grad_norm, batch_size=tf.size(inp.idx),
                   train_metric_sum=train_metric,
                   learning_rate=tf.convert_to_tensor(rate, tf.float32))
    if outlier_term is not None:
        fetches['outlier_term'] = outlier_term
    summary = _summaries(fetches, train_metric, inp.idx, regression)
    diag = diag_summary = None
    if config.diagnostics_every:
        diag = diagnostics.layer_diagnostics(terms.nll_term, terms.kl_coefficient)
        diag_summary = diagnostics.add_summaries(diag)
    # Relative paths in the checkpoint state: a run folder can be moved (or
    # mounted elsewhere, as from a container) and still resume and export.
    saver = tf.train.Saver(max_to_keep=config.keep_checkpoints, save_relative_paths=True)
    data_init = tf.group(*[v.initializer for v in inp.variables])
    return TrainGraph(global_step, data_init, inp.feed,
                      inp.iterator.initializer if inp.iterator else None, inp.start_epoch,
                      inp.skip_batches, train_op, fetches, summary, eval_input, pred_ops, saver,
                      spe, total, diag, diag_summary, opt, inp.variables)


def log_summary_value(tag, value):
    """A tf.Summary with one scalar, for values computed outside the graph."""
    return tf.Summary(value=[tf.Summary.Value(tag=tag, simple_value=float(value))])

