"""Out-of-distribution detection by the training job's MNIST network.

The job with its defaults on MNIST, 784-400-400-10, 10 epochs, scored once
on the test images and on out-of-distribution images of the same shape:
the built-in sets (`tfbnn.data.ood`: inverted, pixel-permuted and smoothed
noise images made from the MNIST test set, grey crops of photographs and the
letters A-J drawn in fonts, framed like digits) and any folders of IDX files
given (Fashion-MNIST, KMNIST, ...: their test split). Each set gets the
AUROC of the predictive's mutual information and of its entropy, the score
being higher on the out-of-distribution images.
"""
import dataclasses
import os

import numpy as np

from tfbnn import data, metrics, run_config
from tfbnn.data.glyphs import LETTERS, font_paths
from tfbnn.data.ood import kind_seed, labelled_ood_images
from tfbnn.errors import ConfigError
from tfbnn.internal.jsonio import read_json, write_json
from tfbnn.reproduce import figures, runner
from tfbnn.reproduce.pruning import sigma_quantiles
from tfbnn.reproduce.report_ood import FIGURE
from tfbnn.training import outlier_data

__all__ = ['ood_options', 'reproduce_ood', 'letter_scores']


def ood_options(data_dir, out_dir, epochs=10):
    """The job's defaults on MNIST with the paper's 2x400 network."""
    return dict(dataset='mnist', data_dir=data_dir, hidden=[400, 400], epochs=epochs,
                output_dir=out_dir, ood_set='none')


def reproduce_ood(data_dir, out_dir, log, ood_dirs=(), epochs=10, verbose=False, run_dir=None):
    """Trains the network once and scores every OOD set; writes <out_dir>/ood.json
    and twelve images of each set, titled with its AUROC (`report_ood.FIGURE`).

    Args:
      data_dir: the MNIST IDX folder; with `run_dir`, None reads the run's own.
      out_dir: the record and the figure; a run trained here goes to
        <out_dir>/run.
      log: progress callable.
      ood_dirs: folders of IDX files of other image sets, scored beside the
        built-in ones; read and checked before any training.
      epochs: training epochs.
      verbose: print the run's epoch lines.
      run_dir: score this finished MNIST run of the job instead of training
        one (`epochs` unused): its early-stopping weights if it kept any,
        else its last, which are the weights its metrics.json describes.

    Returns:
      The record: the run's metrics, the checkpoint scored and its scales
      (`sigma_quantiles`), and per OOD set the two AUROCs; for `letters` also
      per letter (`by_letter`, see `letter_scores`) and the font faces drawn.

    Raises:
      ConfigError: bad epochs, no data folder, `run_dir` not an MNIST run, a
        folder's images of another shape, or `out_dir` holding the record of
        another run; CheckpointError: `run_dir` has no run or checkpoint;
        DataError: a folder cannot be read.
    """
    from tfbnn import export
    from tfbnn.training import rundir
    if int(epochs) != epochs or epochs < 1:
        raise ConfigError('--epochs must be >= 1, got %r' % (epochs,))
    if run_dir is None:
        if data_dir is None:
            raise ConfigError('mnist-ood: give --data-dir (the MNIST IDX folder)')
        config = run_config.validate(ood_options(data_dir, os.path.join(out_dir, 'run'), epochs))
    else:
        run_dir = os.path.abspath(run_dir)
        before = read_json(os.path.join(out_dir, 'ood.json'))
        if before and before.get('run_dir') != run_dir:
            raise ConfigError('%s holds the scores of another run (%s): give another --out'
                              % (out_dir, before.get('run_dir')))
        run = export.load_run(run_dir, rundir.chosen_checkpoint(run_dir))
        if run.config.dataset != 'mnist':
            raise ConfigError('%s: a run on dataset %r; mnist-ood scores MNIST runs'
                              % (run_dir, run.config.dataset))
        config = dataclasses.replace(run.config, data_dir=str(data_dir or run.config.data_dir))
    # Every set is read and checked before training, so a bad folder costs no run.
    dataset, sets = _load_sets(config, ood_dirs)
    if run_dir is None:
        log('mnist ood: training %d-400-400-%d for %d epochs with the job\'s defaults'
            % (np.prod(dataset.input_shape), dataset.num_classes, epochs))
        metrics_ = runner.run(config, verbose, reuse=True)
        run = export.load_run(config.output_dir)
    else:
        metrics_ = read_json(os.path.join(run_dir, 'metrics.json')) or {}
        log('mnist ood: scoring %s' % run.checkpoint)
    scores = _score(run, dataset.x_test, sets, config.eval_batch_size, log)
    scores['letters']['faces'] = [os.path.basename(p)[:-len('.ttf')] for p in font_paths()]
    rows = [('MNIST test digits (in distribution)', dataset.x_test)] + [
        ('%s: AUROC %.3f (mutual information)' % (name, scores[name]['auroc_mi']), x)
        for name, x, _ in sets]
    if config.outlier_exposure != 'none':
        rows.append(('the outliers it trained on (--outlier-exposure %s; not scored)'
                     % config.outlier_exposure,
                     outlier_data.outlier_bank(config, dataset, count=12)))
    figures.image_rows(rows, os.path.join(out_dir, FIGURE))
    record = dict(experiment='mnist_ood', protocol=dict(config.to_dict(), data_dir=config.data_dir,
                                                        output_dir=None),
                  run_dir=run_dir, checkpoint=os.path.basename(run.checkpoint),
                  sigma_quantiles=sigma_quantiles(run.checkpoint), metrics=metrics_, sets=scores)
    write_json(os.path.join(out_dir, 'ood.json'), record)
    return record


def _load_sets(config, ood_dirs):
    """(the MNIST dataset, [(name, images, labels or None)] of every OOD set).

    Raises:
      ConfigError: a folder's images are of another shape than MNIST's;
      DataError: the data folder or an OOD folder cannot be read.
    """
    dataset = run_config.load_data(config)
    low, high = float(dataset.x_train.min()), float(dataset.x_train.max())
    sets = [(kind,) + labelled_ood_images(dataset.x_test, kind, low, high, kind_seed(kind))
            for kind in data.ALL_KINDS]
    for folder in ood_dirs:
        other = run_config.load_data(config, folder)
        if other.input_shape != dataset.input_shape:
            raise ConfigError('%s: examples of shape %s, MNIST\'s are %s'
                              % (folder, other.input_shape, dataset.input_shape))
        sets.append((_unique(os.path.basename(os.path.normpath(folder)), folder, sets),
                     other.x_test, None))
    return dataset, sets


def _unique(name, folder, sets):
    """`name`, else the folder's absolute path, else that with #2, #3 ... (a
    name no set in `sets` has: a folder may be named like a built-in kind)."""
    taken = [named for named, _, _ in sets]
    candidates = [name, os.path.abspath(folder)] + [
        '%s #%d' % (os.path.abspath(folder), i) for i in range(2, len(sets) + 3)]
    return next(c for c in candidates if c not in taken)


def _score(run, inside_x, sets, batch, log):
    """set name -> its AUROCs (and `by_letter` for the letters) against `inside_x`."""
    from tfbnn import export
    import tensorflow.compat.v1 as tf
    # Seeded (the run's own seed): scoring a checkpoint twice gives one answer.
    inference = export.build_inference_graph(run, 'sample', seed=run.config.seed)
    ends = {k: inference.outputs[k] for k in ('entropy', 'mutual_information', 'mean_probs')}
    scores = {}
    with tf.Session(graph=inference.graph) as sess:
        export.restore(sess, inference, run.checkpoint)

        def predict(x):
            parts = [sess.run(ends, {inference.input: x[i:i + batch]})
                     for i in range(0, x.shape[0], batch)]
            return {k: np.concatenate([p[k] for p in parts]) for k in ends}
        inside = predict(inside_x)
        for name, x, labels in sets:
            outside = predict(x)
            scores[name] = dict(_aurocs(inside, outside), examples=int(x.shape[0]))
            if labels is not None and name == 'letters':
                scores[name]['by_letter'] = letter_scores(inside, outside, labels)
            log('mnist ood: %s: AUROC %.3f (mutual information), %.3f (entropy)'
                % (name, scores[name]['auroc_mi'], scores[name]['auroc_entropy']))
    return scores


def _aurocs(inside, outside):
    return dict(auroc_mi=metrics.auroc(inside['mutual_information'],
                                       outside['mutual_information']),
                auroc_entropy=metrics.auroc(inside['entropy'], outside['entropy']))


def letter_scores(inside, outside, labels, letters=LETTERS):
    """Per letter: the AUROCs of its images against all in-distribution ones,
    and the class the network gives it most often with that class's share.

    Args:
      inside, outside: dicts of `entropy`, `mutual_information` [N] and
        `mean_probs` [N, classes] arrays, in and out of distribution.
      labels: [M] the index into `letters` of each outside image.
      letters: the letters drawn.

    Returns:
      letter -> dict(auroc_mi, auroc_entropy, examples, taken_for, share).
    """
    out = {}
    predicted = np.argmax(outside['mean_probs'], axis=1)
    for index, letter in enumerate(letters):
        mine = labels == index
        if not mine.any():
            continue
        classes = np.bincount(predicted[mine], minlength=outside['mean_probs'].shape[1])
        part = {k: v[mine] for k, v in outside.items()}
        out[letter] = dict(_aurocs(inside, part), examples=int(mine.sum()),
                           taken_for=int(np.argmax(classes)),
                           share=float(classes.max()) / float(mine.sum()))
    return out
