"""tfbnn-kl-study: regenerate every number and figure of docs/kl-weighting.md, or run
the same study on your own data and model.

Runs the study of tfbnn.kl_study (or renders a saved results.json), prints its
tables, and, unless --quick, writes them and the figures into the guide. With
tfbnn-train options after `--`, the schemes, priors and norms experiments run
on that setup instead, and everything goes to --work-dir (the docs untouched).

  tfbnn-kl-study            # full budget (minutes), updates docs/
  tfbnn-kl-study --quick    # about a minute; prints, leaves docs/ alone
  tfbnn-kl-study --only schemes --work-dir kl_mine -- --dataset npz --data-dir vols.npz \\
      --model conv3d --epochs 5

Exit status: 0 done; 2 a user error (one line on stderr); 130 interrupted
(the finished runs are kept: the same command with --resume continues).
"""
import argparse
import glob
import json
import os
import shutil
import signal
import sys
import tempfile

from tfbnn.cli.help_format import DefaultsHelpFormatter, OneLineParser

__all__ = ['build_parser', 'error', 'main', 'run_interruptible', 'work_dir_problem']

GUIDE = 'kl-weighting.md'
# Where a study of the user's own setup goes by default, and its tables.
OWN_WORK_DIR = 'kl_study'
OWN_REPORT = 'kl_study.md'
_NOT_A_STUDY = (KeyError, TypeError, ValueError, AttributeError, ZeroDivisionError)


class _HelpFormatter(DefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """The description (the module's docstring: its examples) as written."""


def build_parser(docs='docs'):
    """The argument parser; `docs` is the default of --docs."""
    from tfbnn.kl_study import EXPERIMENTS
    p = OneLineParser(
        prog='tfbnn-kl-study', usage='%(prog)s [options] [-- TFBNN-TRAIN OPTIONS]',
        description=__doc__.split('\n\n', 1)[1], formatter_class=_HelpFormatter)
    p.add_argument('--quick', action='store_true',
                   help='tiny budget for tests; numbers are not meaningful')
    p.add_argument('--work-dir', default=None,
                   help='where the runs go (default: a temp dir; with options after --, '
                   '%s)' % OWN_WORK_DIR)
    p.add_argument('--only', default=None,
                   help='comma-separated subset of %s (default: all; with options after --, '
                   'all but scaling)' % ', '.join(EXPERIMENTS))
    p.add_argument('--docs', default=docs,
                   help='folder of %s and kl_study/ (updated unless --quick)' % GUIDE)
    p.add_argument('--update-docs', action='store_true', help='update docs even with --quick')
    p.add_argument('--resume', action='store_true',
                   help='continue an interrupted study in --work-dir: its finished runs are '
                   'read back, the unfinished one resumed; with another --only, the results '
                   'of the experiments it ran before are kept')
    p.add_argument('--from-results', default=None,
                   help='skip the runs: render (and update docs from) a saved results.json')
    return p


def main(argv=None, docs='docs'):
    """Runs the command line `argv` (default sys.argv[1:]); returns the exit status.

    Args:
      argv: list of arguments.
      docs: the default of --docs (scripts/kl_study.py gives the checkout's docs/).
    """
    from tfbnn.kl_study import EXPERIMENTS
    argv = list(sys.argv[1:] if argv is None else argv)
    job_argv = argv[argv.index('--') + 1:] if '--' in argv else None
    parser = build_parser(docs)
    args = parser.parse_args(argv if job_argv is None else argv[:argv.index('--')])
    chosen = _chosen(parser, args.only, EXPERIMENTS, own=job_argv is not None)
    if job_argv is not None:
        from tfbnn.cli.kl_study_own import study_own_setup
        return study_own_setup(parser, args, chosen, job_argv)
    if args.resume and args.from_results:
        parser.error('--resume continues the runs of a study; --from-results renders a saved one '
                     'without runs: give one of them')
    update = args.update_docs or not args.quick
    guide = os.path.join(args.docs, GUIDE)
    if update and not os.path.isfile(guide):
        return error('no %s in --docs %s (the tables are written into it; --quick leaves the '
                     'docs alone)' % (GUIDE, args.docs))
    results = None
    if args.from_results:
        try:
            with open(args.from_results) as f:
                results = json.load(f)
        except (OSError, ValueError) as err:
            return error('cannot read --from-results %s: %s' % (args.from_results, err))
        problem = _not_a_study(results, EXPERIMENTS)
        if problem:
            return error('--from-results %s is not a results.json of the study (%s)'
                         % (args.from_results, problem))
    elif work_dir_problem(args.work_dir, args.resume):
        return error(work_dir_problem(args.work_dir, args.resume))
    from tfbnn import kl_study
    from tfbnn.internal.compat import script_setup
    if update:  # before any run: a partial study the docs would refuse wastes its minutes
        budget = results.get('budget') if results is not None else (
            kl_study.QUICK if args.quick else kl_study.FULL)._asdict()
        # A resumed study keeps the experiments it ran before (`run_study`).
        kept = _earlier_experiments(args.work_dir) if args.resume and results is None else set()
        clash = _budget_clash(args.docs, [k for k in EXPERIMENTS
                                          if k in (results or chosen) or k in kept],
                              budget, EXPERIMENTS)
        if clash:
            return error(clash)
    script_setup()
    if results is not None:
        work = os.path.dirname(os.path.abspath(args.from_results))
    else:
        work = args.work_dir or tempfile.mkdtemp(prefix='tfbnn_kl_study_')
        print('kl_study: runs in %s (%s budget)' % (work, 'quick' if args.quick else 'full'),
              flush=True)
        results, status = run_interruptible(work, lambda: kl_study.run_study(
            work, quick=args.quick, experiments=chosen,
            log=lambda line: print(line, flush=True)))
        if results is None:
            return status
    target = os.path.join(args.docs, 'kl_study', 'results.json')
    merge = update and not all(key in results for key in EXPERIMENTS) and os.path.exists(target)
    try:  # everything read before anything is written; drawn once, after a merge
        tables = kl_study.render_tables(results)
        figures = kl_study.study_figures(results) if update and not merge else None
    except _NOT_A_STUDY as err:
        return error('%s is not a results.json of the study (%s: %s)' % (
            args.from_results, type(err).__name__, err))
    for name, table in tables.items():
        print('\n## %s\n%s' % (name, table))
    if not update:
        return 0
    if merge:
        results, tables, figures = _merged(results, target, kl_study,
                                           args.from_results or os.path.join(work, 'results.json'))
        if results is None:
            return tables
    return _update_docs(args, results, os.path.join(work, 'results.json'), guide, kl_study,
                        (tables, figures), merge)


def _chosen(parser, only, experiments, own):
    """The experiments --only names (default: all, or all but scaling for
    the user's own setup), or a usage error."""
    if only is None:
        return [e for e in experiments if not (own and e == 'scaling')]
    chosen = [e for e in only.split(',') if e]
    unknown = sorted(set(chosen) - set(experiments))
    if unknown:
        parser.error('unknown experiment(s) %s; choose from %s'
                     % (', '.join(unknown), ', '.join(experiments)))
    if not chosen:
        parser.error('--only names no experiment; choose from %s' % ', '.join(experiments))
    return chosen


def work_dir_problem(path, resume):
    """Why `path` cannot take the study's runs, or None: it exists and is
    no empty folder (with `resume`: it holds no study), or `resume` without
    it."""
    from tfbnn.kl_study import STUDY_FILE
    if path is None:
        return ('--resume needs --work-dir, the folder of the study to continue'
                if resume else None)
    if os.path.exists(path) and not os.path.isdir(path):
        return '--work-dir %s is not a folder' % path
    if resume and not os.path.isfile(os.path.join(path, STUDY_FILE)):
        return ('--work-dir %s holds no study to continue (no %s; a study writes it before its '
                'first run): give the study\'s folder, or leave out --resume to start one'
                % (path, STUDY_FILE))
    if os.path.isdir(path) and os.listdir(path) and not resume:
        return ('--work-dir %s is not an empty folder: the study makes new runs there; give '
                '--resume to continue the study it holds, or choose another' % path)
    return None


def run_interruptible(work, study):
    """Runs `study()` with SIGTERM as Ctrl-C; returns (results, None) or
    (None, the exit status after a one-line message). A study that stops on
    an error before any run saved anything, in a folder that was empty or
    new, leaves no folder behind (the corrected command can take it)."""
    from tfbnn.cli.train import sigterm_interrupts
    from tfbnn.errors import TfbnnError
    from tfbnn.training import Interrupted
    fresh = not os.path.isdir(work) or not os.listdir(work)
    previous = sigterm_interrupts()
    try:
        return study(), None
    except (TfbnnError, OSError) as err:
        if fresh and not glob.glob(os.path.join(glob.escape(work), '*', '*.index')):
            shutil.rmtree(work, ignore_errors=True)
        reason = getattr(err, 'strerror', None) or err
        if getattr(err, 'filename', None):
            reason = '%s: %s' % (err.filename, reason)
        return None, error('the study stopped: %s' % reason)
    except (KeyboardInterrupt, Interrupted):
        sys.stderr.write('tfbnn-kl-study: interrupted; the finished runs are kept in %s: run the '
                         'same command with --resume (and --work-dir %s) to continue\n'
                         % (work, work))
        return None, 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def error(message):
    """Writes the one-line error; returns the exit status 2."""
    sys.stderr.write('tfbnn-kl-study: error: %s\n' % message)
    return 2


def _not_a_study(results, experiments):
    """What makes `results` no results.json of the study, or None."""
    if not isinstance(results, dict):
        return 'no object'
    if 'job' in results:
        return 'it is a study of your own setup (its tables are in %s beside it)' % OWN_REPORT
    if not any(key in results for key in experiments):
        return 'it has none of %s' % ', '.join(experiments)
    for key in experiments:
        if key in results and not (isinstance(results[key], list)
                                   and all(isinstance(r, dict) for r in results[key])):
            return '%s is not a list of runs' % key
    return None


def _earlier_experiments(work):
    """The experiments of the results.json in `work` (none when it is missing
    or unreadable: the study says so when it reads it)."""
    from tfbnn.errors import TfbnnError
    from tfbnn.internal.jsonio import read_json
    from tfbnn.kl_study import EXPERIMENTS
    try:
        earlier = read_json(os.path.join(work, 'results.json'))
    except TfbnnError:
        return set()
    return set(earlier) & set(EXPERIMENTS) if isinstance(earlier, dict) else set()


def _budget_clash(docs, experiments, budget, every):
    """The error when a study of only `experiments` would replace them in the
    docs' results.json, measured on another budget (the guide would mix
    budgets), or None."""
    target = os.path.join(docs, 'kl_study', 'results.json')
    if set(experiments) >= set(every):
        return None
    if not os.path.exists(target):  # the guide's other tables: of no budget that can be read
        return ('%s holds no results.json: the guide\'s other tables could not be checked for '
                'the same budget, so the %s experiment(s) alone would mix budgets in it; run '
                'them all, or choose another --docs' % (os.path.join(docs, 'kl_study'),
                                                        ', '.join(experiments)))
    try:
        with open(target) as f:
            saved = json.load(f)
    except (OSError, ValueError) as err:
        return 'cannot read %s: %s' % (target, err)
    # As JSON: the budget's tuples are the saved file's lists.
    if not isinstance(saved, dict) or json.loads(json.dumps(budget)) != saved.get('budget'):
        return ('%s was measured on %s: the %s experiment(s) alone would mix budgets '
                'in the guide; run them all, or choose another --docs'
                % (target, 'another budget' if isinstance(saved, dict) and saved.get('budget')
                   else 'a budget it does not name', ', '.join(experiments)))
    return None


def _merged(results, target, kl_study, source):
    """A study of some experiments (from `source`) merged into the docs'
    results.json `target`: (results, tables, figures) of the merge, drawn and
    not yet written, or (None, exit status, None) when they do not merge."""
    try:
        with open(target) as f:
            saved = json.load(f)
        results = {key: results[key] if key in results else saved[key]
                   for key in ['budget'] + list(kl_study.EXPERIMENTS)
                   if key in results or key in saved}
    except (OSError,) + _NOT_A_STUDY as err:
        return None, error('%s is not a results.json of the study (%s: %s); move it aside to '
                           'write a new one' % (target, type(err).__name__, err)), None
    try:
        return results, kl_study.render_tables(results), kl_study.study_figures(results)
    except _NOT_A_STUDY as err:
        return None, error('%s merged into %s is not a study the guide can show (%s: %s)' % (
            source, target, type(err).__name__, err)), None


def _update_docs(args, results, work_results, guide, kl_study, drawn, merge):
    """Writes results.json, the figures and the tables into --docs. A study of
    some experiments replaces only those in the docs' results.json (`merge`,
    with `results` already merged by `_merged`), and only when both were
    measured on the same budget, so that the guide's other tables keep the
    record they were rendered from. `drawn` is (tables, figures) of `results`:
    everything is read and drawn before the first file is written, so a bad
    docs' results.json or a guide without the study's blocks changes nothing."""
    from tfbnn.internal.jsonio import write_atomically
    folder = os.path.join(args.docs, 'kl_study')
    target = os.path.join(folder, 'results.json')
    source = args.from_results or work_results
    tables, figures = drawn
    try:
        text = kl_study.guide_with_tables(guide, tables)
    except ValueError as err:  # a guide without the study's markers
        return error(str(err))
    except OSError as err:
        return error('cannot read %s: %s' % (guide, err.strerror or err))
    try:
        os.makedirs(folder, exist_ok=True)
        if merge:
            write_atomically(target, json.dumps(results, indent=1, sort_keys=False).encode('utf-8'))
        elif os.path.abspath(source) != os.path.abspath(target):
            write_atomically(target, lambda tmp: shutil.copyfile(source, tmp))
        for path in kl_study.plot_study(results, folder, figures):
            print('wrote %s' % path)
        write_atomically(guide, text.encode('utf-8'))
    except OSError as err:  # a full disk: each file is whole, the old one or the new
        return error('cannot update --docs %s: %s: %s' % (args.docs, err.filename or folder,
                                                          err.strerror or err))
    print('updated %s' % guide)
    return 0


if __name__ == '__main__':
    sys.exit(main())
