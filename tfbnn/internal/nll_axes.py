"""How `tfbnn.losses.elbo` reads a rank-2 NLL: `[num_samples, batch]`, and
the checks that keep a per-position `[batch, positions]` NLL from being
read so (it would be averaged over positions, its batch taken from them,
and the KL scaled wrongly with no error)."""
import tensorflow.compat.v1 as tf

from tfbnn.errors import ConfigError

__all__ = ['check_sample_axis', 'with_batch_check']


def with_batch_check(owner, nll, batch_size):
    """`nll` `[num_samples, ?]`, refused at run time with more examples than
    `batch_size` (a per-position `[batch, positions]` whose positions are
    known only then)."""
    check = tf.debugging.assert_less_equal(
        tf.shape(nll)[1], int(batch_size),
        message='%s: nll has more examples on its second axis than batch_size %d: a rank-2 nll '
        'is read as [num_samples, batch]. A per-position NLL ([batch, positions]): sum it over '
        'its positions first, tf.reduce_sum(nll, axis=1). A larger batch than in training (a '
        'validation set fed whole): build its ELBO with that batch_size'
        % (owner, batch_size))
    with tf.control_dependencies([check]):
        return tf.identity(nll)


def check_sample_axis(owner, shape, batch_size, reads_batch=False):
    """Refuses a rank-2 NLL that is not `[num_samples, batch]`.

    A per-position NLL (`[batch, time]`, voxels flattened to `[batch, D*H*W]`)
    has rank 2 too; read as samples, it would be averaged over positions and
    its batch taken from the positions, scaling the KL wrongly with no error.
    The number of weight samples is a Python int (the layers' `num_samples`),
    so the sample axis is statically known; a batch of unknown size in front,
    or `batch_size` in front and not behind, is the per-position case.
    `[B, 1]` (labels of shape `[batch, 1]`) with no `batch_size` is refused
    where the scheme reads B from the shape (`reads_batch`): read as B
    samples of a batch of 1, it would make M = N and the KL B times heavier.
    """
    samples, batch = (tf.dimension_value(d) for d in shape)
    hint = ('; a rank-2 nll is read as [num_samples, batch]: sum a per-position NLL '
            '([batch, positions]) over its positions first, tf.reduce_sum(nll, axis=1)')
    if samples is None:
        raise ConfigError('%s: nll of shape %s has a first axis of unknown size, so it is not '
                          'a sample axis (the number of weight samples is a Python int)%s'
                          % (owner, shape, hint))
    if reads_batch and batch_size is None and batch == 1 and samples > 1:
        raise ConfigError('%s: nll of shape %s would be read as [num_samples=%d, batch=1] (no '
                          'batch_size=): for one value per example (labels of shape [batch, '
                          '1]) squeeze the trailing axis, tf.squeeze(nll, 1); for %d samples '
                          'of a batch of 1, give batch_size=1' % (owner, shape, samples, samples))
    if batch_size is not None and samples == batch_size != batch and batch is not None:
        raise ConfigError('%s: nll of shape %s has the batch size (%d) in front%s'
                          % (owner, shape, batch_size, hint))
    if batch_size is not None and batch is not None and batch > batch_size != samples:
        raise ConfigError('%s: nll of shape %s has more examples than batch_size %d%s'
                          % (owner, shape, batch_size, hint))
