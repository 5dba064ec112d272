"""tfbnn-train: train a Bayesian network in a plain tf.Session loop.

Exit status: 0 done; 2 a user error (bad flag, missing or corrupt data, an
unusable run directory, a checkpoint that cannot be written, e.g. on a full
disk: the last complete one stays), one line on stderr; 3 the loss diverged
(NaN/Inf); 130 interrupted (a checkpoint was saved first). A traceback means
a bug.
"""
import argparse
import copy
import dataclasses
import logging
import signal
import sys
import threading

from tfbnn.cli.help_format import DefaultsHelpFormatter, OneLineParser

__all__ = ['build_parser', 'given_flags', 'main', 'sigterm_interrupts']

EXIT_USER_ERROR, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 3, 130


def _words(text, example):
    """The entries of a list written with commas or spaces ('' is none); an
    empty entry between commas ('400,,400') is refused, not dropped."""
    if ',' in text and not all(w.strip() for w in text.split(',')):
        raise argparse.ArgumentTypeError('empty entry in %r: expected a list like %s'
                                         % (text, example))
    return text.replace(',', ' ').split()


def _int_list(text):
    words = _words(text, '400,400')
    try:
        return [int(t) for t in words]
    except ValueError:
        raise argparse.ArgumentTypeError('expected integers like 400,400, got %r' % text)


def _float_list(text, example='200,300'):
    words = _words(text, example)
    try:
        return [float(t) for t in words]
    except ValueError:
        raise argparse.ArgumentTypeError('expected numbers like 200,300, got %r' % text)


def _scale(text):
    values = _float_list(text, '0.01 or 0.005,0.02')
    if len(values) not in (1, 2):
        raise argparse.ArgumentTypeError('expected a number or LOW,HIGH, got %r' % text)
    return values[0] if len(values) == 1 else values


# What --help says above each group's flags (the groups come from the fields).
_GROUP_DESCRIPTIONS = dict(
    distributed='train on a TensorFlow cluster (between-graph replication: variables on the '
    'parameter servers, worker 0 is the chief). The cluster comes from these flags or from the '
    'TF_CONFIG environment variable; without either the job runs in one process.')

# How a field's `text` metadata is read from the command line.
_TEXT_TYPES = dict(int_list=_int_list, float_list=_float_list, scale=_scale)


def _add_cluster_flags(group):
    """The flags that say where this process runs: not part of the run's config."""
    group.add_argument('--cluster', default=None,
                       help='JSON of the cluster, e.g. \'{"ps": ["127.0.0.1:2222"], "worker": '
                            '["127.0.0.1:2223", "127.0.0.1:2224"]}\' (overrides TF_CONFIG)')
    group.add_argument('--job-name', default=None, help='ps or worker (with --cluster)')
    group.add_argument('--task-index', type=int, default=None,
                       help='index of this task in its job (with --cluster)')


def _add_field(group, field):
    """One flag of a `RunConfig` field: its default, help and choices (shown as
    the metavar; the value is checked by `RunConfig`, whose message names
    what is allowed)."""
    from tfbnn import run_config
    meta = field.metadata
    name = meta['flag'] if isinstance(meta['flag'], str) else run_config.flag(field.name)
    if meta['text'] == 'switch':  # a flag without a value flips the default
        group.add_argument(name, dest=field.name, default=field.default, help=meta['help'],
                           action='store_false' if field.default else 'store_true')
        if field.name != 'resume':  # and its opposite, for a --resume of a run given it
            opposite = ('--' + name[len('--no-'):] if name.startswith('--no-')
                        else '--no-' + name[2:])
            group.add_argument(opposite, dest=field.name, default=field.default,
                               action='store_true' if field.default else 'store_false',
                               help='the opposite of %s (the default), for a --resume of a '
                                    'run started with it' % name)
        return
    # A list, as the flag's type gives (and --help shows) it.
    default = list(field.default) if isinstance(field.default, tuple) else field.default
    kwargs = dict(dest=field.name, default=default, help=meta['help'])
    if meta['text'] is not None:
        kwargs['type'] = _TEXT_TYPES[meta['text']]
    elif isinstance(field.default, (int, float)):
        kwargs['type'] = type(field.default)
    if meta['choices'] is not None:
        kwargs['metavar'] = '{%s}' % ','.join(meta['choices'])
    group.add_argument(name, **kwargs)


def build_parser():
    """The tfbnn-train parser: one flag per `RunConfig` field (in its --help
    group, with its default and help), plus the cluster flags."""
    from tfbnn import run_config
    p = OneLineParser(
        prog='tfbnn-train', description=__doc__.split('\n')[0],
        formatter_class=DefaultsHelpFormatter,
        epilog='Outputs in --output-dir: config.json, model.ckpt-*, events (TensorBoard), '
               'history.json, metrics.json, train.log and PNG plots.')
    groups = {}
    for field in dataclasses.fields(run_config.RunConfig):
        if field.metadata['flag'] is False:
            continue
        name = field.metadata['group']
        if name not in groups:
            groups[name] = p.add_argument_group(name, _GROUP_DESCRIPTIONS.get(name))
            if name == 'distributed':
                _add_cluster_flags(groups[name])
        _add_field(groups[name], field)
    return p


# What a resume does not take from the saved run: the folder (it may have
# been moved: runs/latest is renamed when a new run starts there), what only
# starts a run (--init-from), and this process's machine (device, threads,
# progress bar).
_NOT_KEPT = ('resume', 'output_dir', 'init_from', 'device', 'threads', 'progress')


def given_flags(parser, argv):
    """The dests of the flags on the command line `argv` (None: sys.argv)."""
    quiet = copy.deepcopy(parser)
    for action in quiet._actions:
        action.default = argparse.SUPPRESS
    return set(vars(quiet.parse_args(argv)))


def _saved_options(parser, options, given, log):
    """`options` with the flags not given taken from the saved run's config.json.

    A bare `--resume --output-dir DIR` continues the run as it was started:
    its learning rate, schedule, optimizer, epochs, ... (not `_NOT_KEPT`). A
    flag given on the command line still overrides (and the resume checks
    refuse what a resume cannot change). A saved option that goes with a
    choice the command line changes is not kept (`_GOES_WITH`: --ood-set
    none or kinds replaces a saved --ood-data-dir, a schedule other than step
    takes no --lr-decay-epochs). Without a config.json, `options` as given.
    """
    import os
    from tfbnn import run_config
    from tfbnn.training.rundir import CONFIG
    path = os.path.join(options['output_dir'], CONFIG)
    if not os.path.exists(path):
        return options
    saved = run_config.load(path).to_dict()
    dropped = [k for k in _GOES_WITH if saved.get(k) and _dropped(k, options, given)]
    kept = [k for k in options if k not in given and k in saved and k not in _NOT_KEPT
            and saved[k] != run_config.json_value(options[k]) and k not in dropped]
    for k in dropped:
        choice = _GOES_WITH[k][0]
        log('tfbnn: --resume: %s leaves out the saved run\'s %s'
            % (_as_flag(parser, choice, options[choice]), _as_flag(parser, k, saved[k])))
    if kept:
        log('tfbnn: --resume keeps the saved run\'s %s (give a flag to change it)'
            % ', '.join(_as_flag(parser, k, saved[k]) for k in kept))
    return dict(options, **{k: saved[k] for k in kept})


# A saved option -> (the choice it goes with, whether a given value of that
# choice leaves it out): the run's one OOD set, a step schedule's epochs.
_GOES_WITH = {'ood_data_dir': ('ood_set', lambda choice: choice != 'auto'),
              'lr_decay_epochs': ('lr_schedule', lambda choice: choice != 'step')}


def _dropped(key, options, given):
    """Whether a resume leaves out the saved `key`: its choice was given,
    with a value that does not take it, and `key` itself was not."""
    choice, leaves_out = _GOES_WITH[key]
    return choice in given and key not in given and leaves_out(options[choice])


def _as_flag(parser, dest, value):
    """The command-line words that give `dest` the value `value`."""
    actions = [a for a in parser._actions if a.dest == dest and a.option_strings]
    for action in actions:
        if action.nargs == 0 and action.const == value:  # a switch and its opposite
            return action.option_strings[0]
    if isinstance(value, list):
        value = ','.join(str(v) for v in value) or "''"
    return '%s %s' % (actions[0].option_strings[0], value)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    from tfbnn import errors
    from tfbnn.training import Interrupted, train
    from tfbnn.internal.compat import script_setup
    script_setup()
    options = vars(args)
    cluster_flags = [options.pop(k) for k in ('cluster', 'job_name', 'task_index')]
    previous, cluster = None, None
    try:
        from tfbnn import run_config
        from tfbnn.training import cluster as cluster_lib
        cluster = cluster_lib.resolve(*cluster_flags, log=print)
        given = given_flags(parser, argv)
        if options['resume']:
            options = _saved_options(parser, options, given, print)
        config = run_config.RunConfig.from_dict(options)
        if not config.resume:  # (a resume's flags are its run's, or refused as changes)
            run_config.check_given(config, given)
        if cluster is None:
            previous = sigterm_interrupts()
            train(config)
        else:
            from tfbnn.training.distributed import run_task
            run_task(config, cluster)
    except errors.TrainingDivergedError as err:
        sys.stderr.write('tfbnn-train: error: %s\n' % err)
        return EXIT_DIVERGED
    except errors.TfbnnError as err:
        sys.stderr.write('tfbnn-train: error: %s\n' % err)
        if cluster is not None:  # (a task's process, about to exit)
            # The error stays one line: a graph left unrun (a cluster chief's that
            # failed at its first save) would have TensorFlow log its unused ops.
            logging.getLogger('tensorflow').setLevel(logging.CRITICAL)
        return EXIT_USER_ERROR
    except Interrupted as err:
        sys.stderr.write('tfbnn-train: %s\n' % err)
        return EXIT_INTERRUPTED
    except OSError as err:  # a record, plot or events write: a full disk, EIO, EPERM, ...
        from tfbnn.internal.jsonio import os_error_line
        from tfbnn.training.checkpoints import file_fault_remedy
        remedy = file_fault_remedy(err)
        if remedy is None:
            raise
        sys.stderr.write('tfbnn-train: error: %s; the checkpoints already saved are intact: %s, '
                         'then run the same command with --resume\n'
                         % (os_error_line(err), remedy))
        return EXIT_USER_ERROR
    except KeyboardInterrupt:  # before the loop (loading) or after it (evaluation)
        sys.stderr.write('tfbnn-train: interrupted outside the training loop; the checkpoints '
                         'already saved are intact\n')
        return EXIT_INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


def sigterm_interrupts():
    """SIGTERM outside the training loop (loading, evaluation) interrupts a
    single process as Ctrl-C does (the loop has its own handler). As PID 1 of
    a container (`docker stop`) the default action would be ignored until the
    SIGKILL. Not for cluster tasks: a parameter server blocks in C++ for
    good, where a Python handler never runs. Returns the handler it
    replaced, or None off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum, frame):
        raise KeyboardInterrupt()

    return signal.signal(signal.SIGTERM, interrupt)


if __name__ == '__main__':
    sys.exit(main())
