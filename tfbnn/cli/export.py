"""tfbnn-export: a training run's checkpoint to a frozen GraphDef, SavedModel, TFLite, ONNX.

Exit status: 0 done; 2 a user error (missing or incomplete checkpoint, a run
directory from an incompatible version, an unknown mode or format, a format
whose extra is not installed) or a converter's refusal, one line on stderr.
"""
import os
import sys

from tfbnn.cli.help_format import DefaultsHelpFormatter, OneLineParser

__all__ = ['build_parser', 'main']


def build_parser():
    p = OneLineParser(
        prog='tfbnn-export', description=__doc__.split('\n')[0],
        formatter_class=DefaultsHelpFormatter,
        epilog='The frozen graph has a placeholder "input" ([None] + example shape) and the '
               'outputs probs, mean_probs, entropy, mutual_information (classification) or '
               'mean, stddev, mean_prediction (regression); --mode sample also takes the optional '
               'int32 scalar "num_samples" (K). --mode mean keeps only mean_probs / '
               'mean_prediction and has no random op.')
    p.add_argument('run_dir', help='the --output-dir of a training run')
    p.add_argument('--mode', default='sample', choices=('sample', 'mean'),
                   help='sample (Bayesian predictive) or mean')
    p.add_argument('--samples', type=int, default=None,
                   help='--mode sample: K weight samples of the predictive (default: the run\'s '
                        '--eval-samples)')
    p.add_argument('--seed', type=int, default=None,
                   help='--mode sample: seed its random ops, so each new session of the exported '
                        'graph draws the same sequence of weight samples (default: unseeded)')
    p.add_argument('--checkpoint', default=None, help='a checkpoint prefix (default: latest)')
    p.add_argument('--output-dir', default=None, help='default: RUN_DIR/export')
    p.add_argument('--prune-snr', type=float, default=0.0,
                   help='drop this fraction of kernel weights with the smallest |mu|/sigma')
    p.add_argument('--format', default=None,
                   help='comma-separated subset of graphdef,savedmodel,tflite,onnx (default: '
                        'graphdef,savedmodel); onnx needs the extra: pip install \'.[onnx]\'')
    p.add_argument('--no-saved-model', action='store_true',
                   help='the default formats without savedmodel (the frozen graph only)')
    return p


def main(argv=None):
    # No C++ INFO lines (CPU features, XLA service) from the installed `tfbnn-export`
    # either, as scripts/export.py: TF 1.15 reads the level at its first log line,
    # after the import (TF 2.x at the import); warnings and errors still print.
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '1')
    args = build_parser().parse_args(argv)
    import tensorflow.compat.v1 as tf
    from tfbnn import errors, export, export_formats
    from tfbnn.internal.compat import script_setup
    script_setup()
    try:
        formats = None if args.format is None else export_formats.parse_formats(args.format)
        export.export_run(args.run_dir, args.output_dir, args.mode, args.samples,
                          args.checkpoint, args.prune_snr, not args.no_saved_model,
                          formats=formats, seed=args.seed)
    except errors.TfbnnError as err:
        sys.stderr.write('tfbnn-export: error: %s\n' % err)
        return 2
    except KeyboardInterrupt as err:
        left = getattr(err, 'export_left', None)  # set by internal.export_staging
        sys.stderr.write('tfbnn-export: interrupted%s; the run is untouched\n'
                         % ('' if left is None else ': ' + left))
        return 130
    except (OSError, tf.errors.OpError) as err:  # a full disk, a read-only folder, ...
        from tfbnn.training.checkpoints import file_fault_remedy
        remedy = file_fault_remedy(err)  # (an OpError names no file: storage_remedy's alone)
        if remedy is None:
            raise
        where = (getattr(err, 'filename', None) or args.output_dir
                 or os.path.join(args.run_dir, 'export'))
        left = getattr(err, 'export_left', None)  # set by internal.export_staging
        sys.stderr.write('tfbnn-export: error: cannot write the export in %s: %s; %sthe run is '
                         'untouched: %s, then export again\n'
                         % (where, getattr(err, 'strerror', None) or errors.cause_line(err),
                            '' if left is None else left + '; ', remedy))
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
