"""Names of the graph collections tfbnn writes to."""

__all__ = ['GraphKeys']


class GraphKeys(object):
    """Standard collection names, in the manner of `tf.GraphKeys`.

    Attributes:
      KL_LOSSES: one scalar `Tensor` per Bayesian layer, the KL divergence
        KL(q(w) || p(w)) of that layer's variational posterior from its prior.
        Added once, when the layer's variables are created; never on reuse.
        `tfbnn.losses.kl_divergence` sums this collection. Nothing tfbnn adds
        here is also added to `tf.GraphKeys.REGULARIZATION_LOSSES`, so no KL
        is counted twice.
    """
    KL_LOSSES = 'tfbnn_kl_losses'
    # Not empty once `tfbnn.pruning.allow_retraining` was called: the Bayesian
    # layers built after it leave pruned weights out of their KL.
    PRUNED_RETRAINING = 'tfbnn_pruned_retraining'
    # The posterior means made by `tfbnn.custom_getter` (each beside its
    # `<name>_rho`), so diagnostics and pruning find them by name.
    GETTER_POSTERIORS = 'tfbnn_getter_posteriors'
    # The kernel means of `tfbnn.layers`' transposed convolutions, laid out
    # `[..., in, filters]` where `tf.layers` lays its out `[..., filters, in]`:
    # `tfbnn.moped` swaps the two axes of the deterministic kernel it loads.
    TRANSPOSED_KERNELS = 'tfbnn_transposed_kernels'
    # Every posterior's rho (`tfbnn.layers` and `tfbnn.custom_getter`), once:
    # `tfbnn.rho_step` treats these, not any variable named '..._rho'.
    POSTERIOR_RHOS = 'tfbnn_posterior_rhos'
