"""The sample axis: [K, batch, ...] tensors of K weight samples' outputs."""
import tensorflow.compat.v1 as tf

__all__ = ['tile_samples', 'fold_samples']


def tile_samples(x, num_samples):
    """[batch, ...] -> [K, batch, ...], the same batch K times."""
    return tf.tile(tf.expand_dims(x, 0), [num_samples] + [1] * x.shape.ndims)


def fold_samples(x, fn):
    """Applies `fn` (which takes [batch, ...]) to x of shape [K, batch, ...].

    The sample axis is folded into the batch for one call of `fn` and
    unfolded from its result, for ops with no notion of a sample axis
    (convolutions, pooling).
    """
    shape = tf.shape(x)
    y = fn(tf.reshape(x, tf.concat([[-1], shape[2:]], axis=0)))
    out = tf.reshape(y, tf.concat([shape[:2], tf.shape(y)[1:]], axis=0))
    out.set_shape(x.shape[:2].concatenate(y.shape[1:]))
    return out
