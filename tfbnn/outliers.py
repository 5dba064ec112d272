"""Outlier exposure: the predictive on off-data inputs pulled towards uniform.

A classifier trained on the data alone is never told what to say about an
input unlike any of its classes, and near such inputs (a letter drawn like a
digit) it is often confidently wrong. Outlier exposure (Hendrycks, Mazeika
and Dietterich 2019) adds, for inputs x~ known to belong to none of the K
classes, the cross-entropy from the uniform distribution U to the
network's prediction p(y | x~, w):

  H(U, p) = -(1/K) sum_k log p_k = logsumexp(z) - (1/K) sum_k z_k
          = KL(U || p) + log K,

z the logits. It is >= log K, with equality exactly when every logit is the
same, and its gradient in z is softmax(z) - 1/K. With weights sampled from
the posterior q it is a data-dependent prior in function space (in the
spirit of the noise-contrastive priors of Hafner et al. 2018): the ELBO's
data term becomes

  (1/B) sum_b [nll_b(w) + lambda H(U, p(. | x~_b, w))],   w ~ q,

so the posterior is asked to explain the data while staying uncertain off
it. The training job draws x~ from `tfbnn.data.render_strokes`
(`--outlier-exposure strokes`).
"""
import tensorflow.compat.v1 as tf

__all__ = ['uniform_cross_entropy', 'KINDS']

# What the training job's --outlier-exposure draws the outliers from.
KINDS = ('none', 'strokes')


def uniform_cross_entropy(logits, name=None):
    """H(U, softmax(logits)) over the last axis: logsumexp(z) - mean(z).

    Args:
      logits: float `Tensor` [..., K], K >= 1.
      name: optional op name.

    Returns:
      `Tensor` of shape `logits.shape[:-1]`: per example, >= log K.

    Raises:
      ValueError: `logits` has rank 0 or an unknown or empty last axis.
    """
    with tf.name_scope(name, 'uniform_cross_entropy', [logits]):
        logits = tf.convert_to_tensor(logits)
        if logits.shape.ndims == 0:
            raise ValueError('uniform_cross_entropy: logits must have a class axis, got a '
                             'scalar')
        classes = logits.shape[-1:].num_elements() if logits.shape.ndims else None
        if not classes:
            raise ValueError('uniform_cross_entropy: the class axis (last) must have a known, '
                             'positive size, got shape %s' % logits.shape)
        return tf.reduce_logsumexp(logits, -1) - tf.reduce_mean(logits, -1)
