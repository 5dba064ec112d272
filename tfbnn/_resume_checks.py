"""What a resumed run must keep of the run it continues (`check_compatible`),
and the groups of `RunConfig` fields that decide it."""
import os

from tfbnn._run_checks import flag, json_value
from tfbnn.errors import CheckpointError

__all__ = ['ARCHITECTURE_KEYS', 'RESUME_KEYS', 'OUTLIER_KEYS', 'OBJECTIVE_KEYS', 'PATH_KEYS',
           'check_compatible']

# The options that name files or folders: config.json keeps them in full, so a
# resume from another folder reads the same data.
PATH_KEYS = ('data_dir', 'ood_data_dir', 'init_from', 'warm_start')

# What fixes the variables and their shapes: resume (or export) keeps them.
ARCHITECTURE_KEYS = ('dataset', 'model', 'hidden', 'norm', 'group_values')
# ... and what fixes the data a step sees: the batch size sets steps per epoch
# (and so the epoch, batch offset and pi_i of a step), the seed the batch
# order, the split and validation size which examples are training data, the
# pixel scale their values; a warm start's pruned weights stay frozen.
RESUME_KEYS = ARCHITECTURE_KEYS + ('batch_size', 'seed', 'split', 'data_dir', 'pixel_scale',
                                   'validation_size', 'warm_start', 'prune_fraction')
# The options of outlier exposure (part of the objective).
OUTLIER_KEYS = ('outlier_exposure', 'outlier_weight', 'outlier_draws', 'outlier_disagreement')
# ... and what fixes the objective: a resumed run must go on minimising the
# ELBO it started on (the job's default --kl-weight changed in 0.2, so a plain
# --resume of an older run would otherwise switch objectives half-way).
OBJECTIVE_KEYS = ('kl_scheme', 'kl_weight', 'warmup_steps', 'train_samples', 'prior',
                  'prior_sigma', 'prior_pi', 'prior_sigma1', 'prior_sigma2', 'noise_prior',
                  'noise_prior_shape', 'noise_prior_rate') + OUTLIER_KEYS


def _schedule(config):
    if not config.workers:
        return 'a single process'
    return '%d %s workers' % (config.workers,
                              'synchronous' if config.sync_replicas else 'asynchronous')


def check_compatible(saved, requested):
    """Raises CheckpointError if `requested` would build different variables, see
    other batches, minimise another objective (`OBJECTIVE_KEYS`), update with
    another optimizer (the checkpoint holds its slots), bend a cosine schedule
    (its curve is fixed by --epochs and --lr-decay-factor) or read the global
    step differently. The step size, a constant or step schedule, the length
    of the run and the evaluation may change.

    A cluster's global step counts global batches of W B examples
    (synchronous) or single-worker updates (asynchronous, W per global batch),
    and a single process's batches of B, so a run resumes only with the same
    W (0 for a single process) and the same --sync-replicas: another would
    put the run at another epoch and point of its schedule.

    Args:
      saved, requested: `RunConfig`s.
    """
    for key in RESUME_KEYS + OBJECTIVE_KEYS:
        was, now = json_value(getattr(saved, key)), json_value(getattr(requested, key))
        if key in PATH_KEYS and was and now and os.path.realpath(was) == os.path.realpath(now):
            continue  # one path, named relative to here or in full
        if was != now:
            hint = ('; a resumed run keeps its objective: give %s %s, or start a new run'
                    % (flag(key), was)) if key in OBJECTIVE_KEYS else ''
            raise CheckpointError('cannot resume: %s was %r in the saved run, now %r%s'
                                  % (flag(key), was, now, hint))
    for key in ('optimizer', 'scale_optimizer'):
        was, now = getattr(saved, key), getattr(requested, key)
        if was != now:
            raise CheckpointError('cannot resume: %s was %s in the saved run, now %s (the '
                                  'checkpoint holds its state); give %s %s, or start a new run'
                                  % (flag(key), was, now, flag(key), was))
    if 'cosine' in (saved.lr_schedule, requested.lr_schedule) and (
            saved.epochs != requested.epochs or saved.lr_schedule != requested.lr_schedule):
        raise CheckpointError(
            'cannot resume: the cosine schedule decays over --epochs (%s over %d in the saved '
            'run, now %s over %d), so the rate would jump; give --lr-schedule %s --epochs %d, or '
            'start a new run' % (saved.lr_schedule, saved.epochs, requested.lr_schedule,
                                 requested.epochs, saved.lr_schedule, saved.epochs))
    if saved.lr_schedule == 'cosine' and saved.lr_decay_factor != requested.lr_decay_factor:
        raise CheckpointError(
            'cannot resume: the cosine schedule decays to --lr-decay-factor times the rate (%g '
            'in the saved run, now %g), so the rate would jump; give --lr-decay-factor %g, or '
            'start a new run' % (saved.lr_decay_factor, requested.lr_decay_factor,
                                 saved.lr_decay_factor))
    if _schedule(saved) != _schedule(requested):
        raise CheckpointError('cannot resume: the saved run was trained by %s, now %s (the '
                              'global step would mean another batch, epoch and point of the '
                              'schedule); resume it with the same workers and --sync-replicas'
                              % (_schedule(saved), _schedule(requested)))
