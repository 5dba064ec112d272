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

Asking every weight sample to be uniform on x~ asks for high entropy of
each draw, which is aleatoric-looking uncertainty: the mutual information
between the label and the weights, H(p_bar) - mean_r H(p_r), is highest when
the draws disagree confidently, and a term that makes each draw uniform
drives it to 0. With R draws w_1..w_R per outlier, `mixture_uniform_cross_entropy`
asks only their mixture to be uniform:

  H(U, p_bar) = -(1/K) sum_k log p_bar_k,   p_bar = (1/R) sum_r p(. | x~, w_r),

which is <= (1/R) sum_r H(U, p_r) (log is concave), equals it at R = 1, and
reaches its minimum log K by draws that each put their mass on a different
class as well as by uniform draws (`--outlier-draws R`). That allows
disagreement; `draws_mutual_information` asks for it: the job's term
becomes lambda H(U, p_bar) - gamma I(y; w | x~), with the mutual information
estimated from the same R draws (`--outlier-disagreement gamma`).
"""
import tensorflow.compat.v1 as tf

__all__ = ['uniform_cross_entropy', 'mixture_uniform_cross_entropy', 'draws_mutual_information',
           'KINDS']

# What the training job's --outlier-exposure draws the outliers from.
KINDS = ('none', 'strokes')


def _check_class_axis(logits, who):
    """Raises ValueError unless the last axis has a known, positive size."""
    if logits.shape.ndims == 0:
        raise ValueError('%s: logits must have a class axis, got a scalar' % who)
    classes = logits.shape[-1:].num_elements() if logits.shape.ndims else None
    if not classes:
        raise ValueError('%s: the class axis (last) must have a known, positive size, got '
                         'shape %s' % (who, logits.shape))


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
        _check_class_axis(logits, 'uniform_cross_entropy')
        return tf.reduce_logsumexp(logits, -1) - tf.reduce_mean(logits, -1)


def mixture_uniform_cross_entropy(logits, axis=0, name=None):
    """H(U, p_bar), p_bar the mean of softmax(logits) over the draws on `axis`.

    -(1/K) sum_k log p_bar_k, computed as -(1/K) sum_k [logsumexp_r
    log_softmax(z_r)_k - log R], stable for confident draws.

    Args:
      logits: float `Tensor` [..., K], K >= 1, with the R weight draws of each
        input on `axis`.
      axis: the draws' axis, not the last.
      name: optional op name.

    Returns:
      `Tensor`: `logits`' shape without `axis` and the class axis; per input,
      between log K and the mean over draws of `uniform_cross_entropy`.

    Raises:
      ValueError: no class axis, an unknown or empty one, or `axis` is the
        class axis or out of range.
    """
    with tf.name_scope(name, 'mixture_uniform_cross_entropy', [logits]):
        log_mix = _log_mixture(logits, axis, 'mixture_uniform_cross_entropy')[1]
        return -tf.reduce_mean(log_mix, -1)


def draws_mutual_information(logits, axis=0, name=None):
    """I(y; w | x) estimated from R draws: H(p_bar) - (1/R) sum_r H(p_r).

    The mutual information between the label and the weights (BALD) of the
    R draws' predictions softmax(z_r) and their mixture p_bar. It is >= 0
    (entropy is concave), 0 when the draws agree, and at most log min(R, K),
    reached by R <= K draws each sure of a different class.

    Args:
      logits: float `Tensor` [..., K] with the R draws of each input on `axis`.
      axis: the draws' axis, not the last.
      name: optional op name.

    Returns:
      `Tensor`: `logits`' shape without `axis` and the class axis, in nats.

    Raises:
      ValueError: as `mixture_uniform_cross_entropy`.
    """
    with tf.name_scope(name, 'draws_mutual_information', [logits]):
        log_p, log_mix = _log_mixture(logits, axis, 'draws_mutual_information')
        entropy_of_mix = -tf.reduce_sum(tf.exp(log_mix) * log_mix, -1)
        draw_entropy = -tf.reduce_sum(tf.exp(log_p) * log_p, -1)
        return entropy_of_mix - tf.reduce_mean(draw_entropy, axis + 1 if axis < 0 else axis)


def _log_mixture(logits, axis, who):
    """(log softmax of each draw, log of their mean over `axis`), checked."""
    logits = tf.convert_to_tensor(logits)
    _check_class_axis(logits, who)
    rank = logits.shape.ndims
    if not -rank <= axis < rank or axis % rank == rank - 1:
        raise ValueError('%s: axis %d must be a draws axis of logits of rank %d, not the class '
                         'axis (last)' % (who, axis, rank))
    log_p = tf.nn.log_softmax(logits)
    draws = tf.cast(tf.shape(logits)[axis], logits.dtype)
    return log_p, tf.reduce_logsumexp(log_p, axis) - tf.log(draws)
