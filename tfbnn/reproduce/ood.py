"""Out-of-distribution detection by the training job's MNIST network.

The job with its defaults on MNIST, 784-400-400-10, 10 epochs, scored once
on the test images and on out-of-distribution images of the same shape:
the built-in sets (`tfbnn.data.ood`: inverted, pixel-permuted and smoothed
noise images made from the MNIST test set, and grey crops of photographs) and any folders of IDX files
given (Fashion-MNIST, KMNIST, ...: their test split). Each set gets the
AUROC of the predictive's mutual information and of its entropy, the score
being higher on the out-of-distribution images.
"""
import os

from tfbnn import data, metrics, run_config
from tfbnn.internal.jsonio import write_json
from tfbnn.reproduce import runner

__all__ = ['ood_options', 'reproduce_ood']


def ood_options(data_dir, out_dir, epochs=10):
    """The job's defaults on MNIST with the paper's 2x400 network."""
    return dict(dataset='mnist', data_dir=data_dir, hidden=[400, 400], epochs=epochs,
                output_dir=out_dir, ood_set='none')


def reproduce_ood(data_dir, out_dir, log, ood_dirs=(), epochs=10, verbose=False):
    """Trains the network once and scores every OOD set; writes <out_dir>/ood.json.

    Args:
      data_dir: the MNIST IDX folder.
      out_dir: the run goes to <out_dir>/run.
      log: progress callable.
      ood_dirs: folders of IDX files of other image sets, scored beside the
        built-in ones.
      epochs: training epochs.

    Returns:
      The record: test metrics and, per OOD set, the two AUROCs.
    """
    from tfbnn import export
    import numpy as np
    import tensorflow.compat.v1 as tf
    config = run_config.validate(ood_options(data_dir, os.path.join(out_dir, 'run'), epochs))
    log('mnist ood: training 784-400-400-10 for %d epochs with the job\'s defaults' % epochs)
    metrics_ = runner.run(config, verbose, reuse=True)
    dataset = run_config.load_data(config)
    sets = [(kind, data.builtin_ood(dataset, (kind,)).x_test) for kind in data.ALL_KINDS]
    for folder in ood_dirs:
        other = run_config.load_data(config, folder)
        if other.input_shape != dataset.input_shape:
            from tfbnn.errors import ConfigError
            raise ConfigError('%s: examples of shape %s, MNIST\'s are %s'
                              % (folder, other.input_shape, dataset.input_shape))
        sets.append((os.path.basename(os.path.normpath(folder)), other.x_test))
    run = export.load_run(config.output_dir)
    inference = export.build_inference_graph(run, 'sample')
    scores = {}
    with tf.Session(graph=inference.graph) as sess:
        export.restore(sess, inference, run.checkpoint)

        def predict(x, batch=config.eval_batch_size):
            ends = {k: inference.outputs[k] for k in ('entropy', 'mutual_information')}
            parts = [sess.run(ends, {inference.input: x[i:i + batch]})
                     for i in range(0, x.shape[0], batch)]
            return {k: np.concatenate([p[k] for p in parts]) for k in ends}
        inside = predict(dataset.x_test)
        for name, x in sets:
            outside = predict(x)
            scores[name] = dict(
                auroc_mi=metrics.auroc(inside['mutual_information'],
                                       outside['mutual_information']),
                auroc_entropy=metrics.auroc(inside['entropy'], outside['entropy']),
                examples=int(x.shape[0]))
            log('mnist ood: %s: AUROC %.3f (mutual information), %.3f (entropy)'
                % (name, scores[name]['auroc_mi'], scores[name]['auroc_entropy']))
    record = dict(experiment='mnist_ood', protocol=dict(config.to_dict(), data_dir=str(data_dir),
                                                        output_dir=None),
                  metrics=metrics_, sets=scores)
    write_json(os.path.join(out_dir, 'ood.json'), record)
    return record
