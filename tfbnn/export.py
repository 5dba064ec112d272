"""From a training run to a frozen GraphDef and a SavedModel that need no tfbnn.

The inference graph is built afresh from the run's config.json and dataset.json: no optimizer,
no ELBO, no input pipeline. It has one placeholder named `input` (`[None] + example shape`), in
mode 'sample' also the optional scalar int32 `num_samples` (K, default the export's K; see
`tfbnn.serving`), and named outputs:

  classification  probs, entropy, mutual_information (the K-sample
                  predictive; mode 'sample' only) and mean_probs (the
                  posterior-mean network, deterministic);
  regression      mean, stddev (the predictive, total; mode 'sample' only)
                  and mean_prediction (posterior-mean network), in the
                  targets' original units.

Mode 'mean' runs no random op (its SavedModel holds the variables' unused RandomUniform
initializers); mode 'sample' draws fresh weights on every run, with op seeds from `--seed S`
(each new session draws the same sequence). What each file checks of its input:
`export_formats.input_check` (the report's `checks_input`). The files land in the export folder
together or not at all (`internal.export_staging`); the report names them relative to it.
"""
import collections
import gzip
import math
import os
import re
import shutil
import tempfile

import tensorflow.compat.v1 as tf

from tfbnn import (export_formats, export_pruning, models, predictive, priors, run_config,
                   serving)
from tfbnn.errors import CheckpointError, ConfigError, ExportError, cause_line
from tfbnn.internal import checkpoint_reader, compat, export_staging
from tfbnn.internal.jsonio import read_json, write_json
from tfbnn.training import rundir, warm_start

__all__ = ['MODES', 'SIGNATURE_WITH_K', 'Run', 'InferenceGraph', 'load_run',
           'build_inference_graph', 'restore', 'freeze', 'save_saved_model', 'export_run',
           'RANDOM_OP_TYPES', 'MAX_SEED']

MODES = ('sample', 'mean')
SIGNATURE_WITH_K = 'serving_k'
MAX_SEED = 2 ** 31 - 1
RANDOM_OP_TYPES = frozenset(['RandomUniform', 'RandomStandardNormal', 'RandomUniformInt',
                             'TruncatedNormal', 'StatelessRandomUniform', 'Multinomial',
                             'RandomShuffle', 'RandomGamma', 'RandomPoisson', 'RandomPoissonV2'])

Run = collections.namedtuple('Run', ['directory', 'config', 'meta', 'checkpoint'])
InferenceGraph = collections.namedtuple('InferenceGraph', ['graph', 'input', 'outputs', 'saver',
                                                         'num_samples'])


def load_run(run_dir, checkpoint=None, log=None):
    """Reads a run directory: its config, data description and checkpoint
    (`checkpoint`, or the latest: `log`, if given, is told when the one the
    state names lacks its .index and an older one is taken).

    Raises:
      CheckpointError: a missing directory, config.json or dataset.json, a
        run written by an incompatible tfbnn, or no usable checkpoint.
    """
    if not os.path.isdir(run_dir):
        what = 'is a file, not a folder' if os.path.exists(run_dir) else 'does not exist'
        raise CheckpointError('run directory %s %s' % (run_dir, what))
    config = run_config.load(os.path.join(run_dir, rundir.CONFIG))
    meta = read_json(os.path.join(run_dir, rundir.DATASET))
    if meta is None:
        raise CheckpointError('%s has no %s: it was written by an older tfbnn; retrain to export'
                              % (run_dir, rundir.DATASET))
    problem = _meta_problem(meta)
    if problem:
        raise CheckpointError('%s is damaged (%s): the job writes it when a run starts; restore '
                              'it from a copy, or retrain' % (os.path.join(run_dir, rundir.DATASET),
                                                              problem))
    if checkpoint is not None:  # a file of the checkpoint for its prefix: model.ckpt-5.index
        checkpoint = re.sub(r'\.(index|meta|data-\d+-of-\d+)$', '', checkpoint)
    if checkpoint is None:
        checkpoint = rundir.latest_checkpoint(run_dir, log)
        if checkpoint is None:
            raise CheckpointError('no checkpoint in %s (the run saved none yet)' % run_dir)
    if not tf.io.gfile.exists(checkpoint + '.index'):
        raise CheckpointError('checkpoint %s is missing or incomplete (no .index file)'
                              % checkpoint)
    return Run(run_dir, config, meta, checkpoint)


def _meta_problem(meta):
    """What makes `meta` no dataset.json of a run, or None."""
    if not isinstance(meta, dict):
        return 'not a JSON object'
    if meta.get('task') not in ('classification', 'regression'):
        return 'task %r, not classification or regression' % (meta.get('task'),)
    shape = meta.get('input_shape')
    if not isinstance(shape, list) or not shape or not all(
            isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape):
        return 'input_shape %r, not a list of positive sizes' % (shape,)
    classes = meta.get('num_classes')
    if meta['task'] == 'classification' and (
            not isinstance(classes, int) or isinstance(classes, bool) or classes < 2):
        return 'num_classes %r, not a count of classes' % (classes,)
    for key in ('target_mean', 'target_std') if meta['task'] == 'regression' else ():
        value = meta.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(
                value) or (key == 'target_std' and value <= 0):
            return '%s %r' % (key, value)
    return None


def build_inference_graph(run, mode='sample', samples=None, seed=None):
    """Builds the inference graph of `run` in a new `tf.Graph`.

    Args:
      run: a `Run` from `load_run`.
      mode: 'sample' or 'mean'.
      samples: K of the predictive (default the run's --eval-samples).
      seed: None (every session draws other weight samples), or an int >= 0,
        the graph-level seed of mode 'sample' (see the module docstring).

    Returns:
      `InferenceGraph` (graph, input placeholder, dict name -> output tensor,
      a Saver over the model's variables).

    Raises:
      ConfigError: an unknown mode, a non-positive sample count, a negative
        seed, or a seed for mode 'mean' (which draws nothing).
    """
    if mode not in MODES:
        raise ConfigError('--mode must be one of %s, got %r' % (', '.join(MODES), mode))
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < MAX_SEED:
            # (TensorFlow takes seeds modulo 2^31 - 1: larger ones would alias smaller.)
            raise ConfigError('--seed must be an integer in [0, %d), got %r' % (MAX_SEED, seed))
        if mode != 'sample':
            raise ConfigError('--seed needs --mode sample: the %s graph has no random op' % mode)
    if samples is not None and mode != 'sample':
        raise ConfigError('--samples needs --mode sample: the %s graph draws no weights' % mode)
    samples = run.config.eval_samples if samples is None else samples
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ConfigError('--samples must be a positive integer, got %r' % (samples,))
    meta = run.meta
    spec = run_config.model_spec(run.config, meta['task'], meta['num_classes'])
    # The prior only shapes the KL, which inference never computes; an
    # analytic one keeps the KL's Monte Carlo draw (a random op) out of the
    # exported graphs, the SavedModel included.
    spec = spec._replace(prior=priors.normal())
    graph = tf.Graph()
    with graph.as_default():
        if seed is not None:
            tf.set_random_seed(seed)
        x = tf.placeholder(tf.float32, [None] + list(meta['input_shape']), name='input')
        checked = serving.checked_input(x, meta['input_shape'])
        inputs = serving.standardised_input(checked, meta.get('input_mean'),
                                            meta.get('input_std'))
        k = None
        if mode == 'sample' and serving.supports_dynamic_k(spec):
            k = serving.num_samples_input(samples)
            build = (serving.classification_outputs if meta['task'] == 'classification'
                     else serving.regression_outputs)
            raw = build(spec, inputs, k, run.config.eval_estimator, in_turn=seed is not None)
        elif mode == 'sample':
            raw = _static_k_outputs(spec, inputs, meta['task'], samples,
                                    run.config.eval_estimator)
        else:
            net = models.build_network(spec, inputs, sample=False).outputs
            raw = ({'mean_probs': tf.nn.softmax(net)} if meta['task'] == 'classification'
                   else {'mean_prediction': net})
        if meta['task'] == 'regression':
            raw['mean_prediction'] = serving.flat_prediction(raw['mean_prediction'])
            scale, shift = float(meta['target_std']), float(meta['target_mean'])
            raw = {name: t * scale + (0.0 if name == 'stddev' else shift)
                   for name, t in raw.items()}
        outputs = {name: tf.identity(serving.follow_rows(t, checked, name), name=name)
                   for name, t in raw.items()}
        saver = tf.train.Saver(tf.global_variables())
    return InferenceGraph(graph, x, outputs, saver, k)


def _static_k_outputs(spec, x, task, samples, estimator):
    """The sampled outputs with K fixed in the graph (`tfbnn.predictive`)."""
    if task == 'classification':
        pred = predictive.classification_predictive(spec, x, samples, estimator)
        return dict(probs=pred.mean_probs, entropy=pred.entropy,
                    mutual_information=pred.mutual_information,
                    mean_probs=pred.mean_weights_probs)
    pred = predictive.regression_predictive(spec, x, samples, estimator)
    return dict(mean=pred.mean, stddev=pred.stddev, mean_prediction=pred.mean_weights_prediction)


def restore(sess, inference, checkpoint):
    """Restores the model variables; CheckpointError names one missing, or one extra."""
    saved = checkpoint_reader.reader(checkpoint).get_variable_to_shape_map()
    with inference.graph.as_default():
        needed = {v.op.name: v.shape.as_list() for v in tf.global_variables()}
    missing = sorted(n for n in needed if n not in saved)
    if missing:
        raise CheckpointError('checkpoint %s lacks %d variable(s) the model needs, e.g. %s: it '
                              'is not from this run\'s configuration'
                              % (checkpoint, len(missing), missing[0]))
    warm_start.refuse_extra('', checkpoint, saved, set(needed), 'model', warm_start.RUN_OPTIONS)
    wrong = sorted(n for n in needed if list(saved[n]) != needed[n])
    if wrong:
        raise CheckpointError('checkpoint %s has %s of shape %s, the model needs %s'
                              % (checkpoint, wrong[0], saved[wrong[0]], needed[wrong[0]]))
    try:
        inference.saver.restore(sess, checkpoint)
    except (tf.errors.OpError, ValueError) as err:
        raise CheckpointError('checkpoint %s is missing or incomplete: %s'
                              % (checkpoint, cause_line(err)))


def _restore_newest(sess, inference, run, follow, log, attempts=3):
    """Restores `run.checkpoint`; when `follow` (no --checkpoint given) and it was
    deleted while read, as a run still training rotates its checkpoints
    (--keep-checkpoints), the newest one instead. Returns the one restored."""
    checkpoint = run.checkpoint
    for attempt in range(attempts):
        try:
            restore(sess, inference, checkpoint)
            break
        except CheckpointError:
            newer = rundir.latest_checkpoint(run.directory) if follow else None
            if attempt == attempts - 1 or newer in (None, checkpoint):
                raise
            log('  (%s was deleted while it was read: the run is still training; exporting %s)'
                % (checkpoint, newer))
            checkpoint = newer
    if not os.path.exists(os.path.join(run.directory, rundir.METRICS)):
        log('  (the run has no %s yet: this is the checkpoint of an unfinished run)'
            % rundir.METRICS)
    return checkpoint


def freeze(sess, inference, path=None):
    """Folds the variables into constants; writes a binary GraphDef to `path` if given.

    Attributes at their default values are left out, so older TensorFlow
    versions read it too; the input checks stay (`serving.without_checks`).
    """
    names = [t.op.name for t in inference.outputs.values()]
    frozen = compat.strip_default_attrs(tf.graph_util.convert_variables_to_constants(
        sess, inference.graph.as_graph_def(), names))
    if path is not None:
        export_formats.write_atomically(path, frozen.SerializeToString())
    return frozen


def save_saved_model(sess, inference, directory):
    """Writes a SavedModel with a 'serving_default' signature over the outputs.

    A sampled graph whose K is an input also gets the signature 'serving_k',
    which takes `num_samples` besides `input` ('serving_default' uses the
    export's K: TF 2.x callers of a signature must pass all its inputs).

    Built beside `directory` and renamed into place: never half a model.
    """
    parent = os.path.dirname(os.path.abspath(directory))
    tmp = tempfile.mkdtemp(prefix=export_staging.temporary_prefix(directory), dir=parent)
    shutil.rmtree(tmp)
    builder = tf.saved_model.builder.SavedModelBuilder(tmp)
    signatures = {'serving_default': tf.saved_model.signature_def_utils.predict_signature_def(
        inputs={'input': inference.input}, outputs=inference.outputs)}
    if inference.num_samples is not None:
        signatures[SIGNATURE_WITH_K] = tf.saved_model.signature_def_utils.predict_signature_def(
            inputs={'input': inference.input, serving.NUM_SAMPLES: inference.num_samples},
            outputs=inference.outputs)
    try:
        with inference.graph.as_default():
            builder.add_meta_graph_and_variables(
                sess, [tf.saved_model.tag_constants.SERVING],
                signature_def_map=signatures, strip_default_attrs=True)
        builder.save()
    except BaseException:  # a full disk, an interrupt: no half model left behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if os.path.exists(directory):
        shutil.rmtree(directory)
    os.replace(tmp, directory)


def export_run(run_dir, output_dir=None, mode='sample', samples=None, checkpoint=None,
               prune_snr=0.0, saved_model=True, log=print, formats=None, seed=None):
    """Exports a run; see the module docstring. Returns a dict report.

    Args:
      seed: the sampled graph's seed (`build_inference_graph`), recorded in
        the report; None leaves its random ops unseeded.
      formats: a subset of `export_formats.FORMATS` (default graphdef and
        savedmodel; `saved_model=False` drops savedmodel from the default).

    Raises:
      ConfigError, CheckpointError: a user's mistake, before anything is written.
      ExportError: a converter refused the graph: the other formats are
        written (its old file removed); the report names what was not.
      OSError: a storage fault; the folder keeps its previous files.
    """
    if (isinstance(prune_snr, bool) or not isinstance(prune_snr, (int, float))
            or not 0.0 <= prune_snr < 1.0):
        raise ConfigError('--prune-snr must be a fraction in [0, 1), got %r' % (prune_snr,))
    formats = export_formats.chosen(formats, saved_model)
    export_formats.check_available(formats, mode)
    run = load_run(run_dir, checkpoint, lambda line: log('tfbnn-export: ' + line))
    inference = build_inference_graph(run, mode, samples, seed)
    output_dir = output_dir or os.path.join(run_dir, 'export')
    report = dict(checkpoint=run.checkpoint, mode=mode, outputs={}, files={},
                  inputs={'input': 'input:0'}, seed=seed)
    if inference.num_samples is not None:
        report['inputs'][serving.NUM_SAMPLES] = inference.num_samples.name
        report['default_num_samples'] = _default_k(inference)
    elif mode == 'sample':  # K fixed in the graph (--model lstm)
        report['fixed_num_samples'] = run.config.eval_samples if samples is None else samples
    for name, t in sorted(inference.outputs.items()):
        report['outputs'][name] = t.name
    report_name = 'export_%s.json' % mode
    log('tfbnn-export: %s, checkpoint %s%s' % (mode, run.checkpoint, '' if seed is None else
                                               ', seed %d' % seed))
    log('  input   %-20s float32 %s' % ('input:0', [None] + list(run.meta['input_shape'])))
    report['input_scaling'] = serving.input_scaling(run.meta, run.config.pixel_scale)
    if report['input_scaling']:
        log('          (%s)' % report['input_scaling'])
    if inference.num_samples is not None:
        log('  input   %-20s int32 [] (optional; default %d, the K of the predictive)'
            % (inference.num_samples.name, report['default_num_samples']))
    elif 'fixed_num_samples' in report:
        log('          (K = %d draws, fixed in the graph: no num_samples input)'
            % report['fixed_num_samples'])
    for name, t in sorted(inference.outputs.items()):
        log('  output  %-20s %s %s' % (t.name, t.dtype.name, t.shape.as_list()))
    with tf.Session(graph=inference.graph) as sess:
        report['checkpoint'] = os.path.abspath(_restore_newest(sess, inference, run,
                                                               checkpoint is None, log))
        created = not os.path.isdir(output_dir)
        try:  # only now: a checkpoint that cannot be read leaves no folder behind
            os.makedirs(output_dir, exist_ok=True)
        except OSError as err:
            raise ConfigError('cannot create the export folder %s: %s' % (output_dir,
                                                                          err.strerror or err))
        staging = None
        try:
            staging = export_staging.Staging(output_dir, [export_formats.file_name(f, mode)
                                                          for f in formats] + [report_name])
            graphs = _write_tensorflow_files(sess, inference, run, prune_snr, formats, report,
                                             staging, log)
            failed = export_formats.write_converted(
                graphs, formats, sorted(report['inputs'], key=lambda n: n != 'input'),
                sorted(report['outputs']), staging.folder, report, log)
            export_staging.record_earlier(report, os.path.join(output_dir, report_name), {
                f: export_formats.file_name(f, mode) for f in export_formats.FORMATS
                if f not in formats}, log)
            write_json(staging.path(report_name), report)
        except BaseException as err:  # a full disk, an interrupt: the old export stays
            if staging is not None:
                staging.abort(err)
            if created:  # and a folder made for this export goes, if it is empty
                try:
                    os.rmdir(output_dir)
                except OSError:
                    pass
            raise
    staging.commit()
    if failed:
        raise ExportError('; '.join(failed))
    return report


def _write_tensorflow_files(sess, inference, run, prune_snr, formats, report, staging, log):
    """Prunes, freezes and writes the graphdef and savedmodel formats into
    `staging`; returns format -> the frozen GraphDef to convert."""
    mode = report['mode']
    if prune_snr > 0:
        report.update(export_pruning.prune_with_report(sess, inference, run, prune_snr, log))
    frozen = freeze(sess, inference)
    report['random_ops'] = sorted({n.op for n in frozen.node if n.op in RANDOM_OP_TYPES})
    plain = (serving.without_checks(frozen, list(report['outputs']))
             if any(export_formats.unchecked_input(f, mode) for f in formats) else None)
    graphs = {f: plain if export_formats.unchecked_input(f, mode) else frozen for f in formats}
    if 'graphdef' in formats:
        pb_path = staging.path(export_formats.file_name('graphdef', mode))
        pb = graphs['graphdef'].SerializeToString()
        export_formats.write_atomically(pb_path, pb)
        report.update(frozen_graph=os.path.basename(pb_path), frozen_bytes=len(pb),
                      frozen_gzip_bytes=len(gzip.compress(pb)))
        export_formats.record_written(
            report, 'graphdef', pb_path, log, '' if not report['random_ops'] else
            '; random ops: ' + ', '.join(report['random_ops']))
    if 'savedmodel' in formats:
        path = staging.path(export_formats.file_name('savedmodel', mode))
        save_saved_model(sess, inference, path)
        report['saved_model'] = os.path.basename(path)
        export_formats.record_written(
            report, 'savedmodel', path, log, ' (signatures serving_default%s)' % (
                ', %s with num_samples' % SIGNATURE_WITH_K if inference.num_samples is not None
                else ''))
    return graphs


def _default_k(inference):
    """The K a sampled graph uses when `num_samples` is not fed."""
    default = inference.num_samples.op.inputs[0].op  # the placeholder's default, a Const
    return int(tf.make_ndarray(default.get_attr('value')))
