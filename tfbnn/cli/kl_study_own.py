"""tfbnn-kl-study on the user's own setup: `tfbnn-kl-study [...] -- <tfbnn-train options>`.

The guide's schemes, priors and norms experiments, run with the user's data,
model and training options (what they would give tfbnn-train), so that the KL
coefficient and the per-layer gradient instruments are measured where the
user will train. Everything goes to --work-dir: each run's folder,
results.json, kl_study.md (the tables) and grad_ratio_by_scheme.png. The
docs are never touched.
"""
import json
import os
import shlex

__all__ = ['study_own_setup']

# tfbnn-train's flags that belong to a cluster, not to a run.
_CLUSTER_DESTS = ('cluster', 'job_name', 'task_index')


def study_own_setup(parser, args, chosen, job_argv):
    """Runs the study on the setup `job_argv` describes; returns the exit status.

    Args:
      parser: tfbnn-kl-study's parser (for usage errors).
      args: its parsed arguments (before `--`).
      chosen: the experiments to run.
      job_argv: the tfbnn-train options after `--`.
    """
    from tfbnn.cli.kl_study import (OWN_REPORT, OWN_WORK_DIR, error, run_interruptible,
                                    work_dir_problem)
    if args.update_docs or args.from_results:
        parser.error('--update-docs and --from-results are for the guide\'s study; a study of '
                     'your own setup (options after --) writes into --work-dir only')
    work = args.work_dir or OWN_WORK_DIR
    try:
        job = _job_options(job_argv)
    except _Refused as err:
        return error('the options after --: %s (see tfbnn-train --help)' % err)
    from tfbnn import kl_study, run_config
    from tfbnn.errors import TfbnnError
    problem = kl_study.job_problem(job, chosen) or work_dir_problem(work, args.resume)
    if problem:
        return error(problem)
    from tfbnn.internal.compat import script_setup
    script_setup()
    try:
        run_config.RunConfig.from_dict(job)  # its own errors, before any run
    except TfbnnError as err:
        return error('the options after --: %s' % err)
    print('kl_study: %s on your setup, runs in %s (%s budget)'
          % (', '.join(chosen), work, 'quick' if args.quick else 'full'), flush=True)
    results, status = run_interruptible(work, lambda: kl_study.run_study(
        work, quick=args.quick, experiments=chosen, job=job,
        log=lambda line: print(line, flush=True)))
    if results is None:
        return status
    tables = kl_study.render_tables(results)
    for name, table in tables.items():
        print('\n## %s\n%s' % (name, table))
    report = os.path.join(work, OWN_REPORT)
    try:
        figures = kl_study.plot_study(results, work)
        _write_report(report, tables, results, job_argv, figures)
    except OSError as err:
        return error('cannot write into --work-dir %s: %s: %s'
                     % (work, err.filename or work, err.strerror or err))
    print('wrote %s' % ', '.join([report, os.path.join(work, 'results.json')] + figures))
    return 0


class _Refused(Exception):
    """tfbnn-train's parser refused the options after `--` (the message)."""


def _job_options(job_argv):
    """The tfbnn-train options given in `job_argv`, as a dict of RunConfig
    fields (only those given: the study's budget fills in the rest).

    Raises:
      _Refused: an unknown flag or bad value, or a cluster flag (the study
        runs single-process jobs); its message without tfbnn-train's usage.
    """
    from tfbnn.cli import train as train_cli
    parser = train_cli.build_parser()
    parser.prog = 'tfbnn-kl-study ... --'

    def refuse(message):
        raise _Refused(message)
    parser.error = refuse  # one line, not tfbnn-train's 50-line usage
    given = train_cli.given_flags(parser, job_argv)
    options = vars(parser.parse_args(job_argv))
    cluster = sorted(given & set(_CLUSTER_DESTS))
    if cluster:
        parser.error('the study runs single-process jobs: leave out %s'
                     % ', '.join('--' + d.replace('_', '-') for d in cluster))
    return {k: options[k] for k in sorted(given)}


def _write_report(path, tables, results, job_argv, figures):
    """kl_study.md: what was run, the tables, the figures."""
    from tfbnn.internal.jsonio import write_atomically
    setting = dict(results['budget'], **results.get('job', {}))
    lines = ['# The KL study on your setup', '',
             'Each row is one run of `tfbnn-train %s` with the row\'s setting (beta = 1 where the '
             'row sets none), %d epoch%s, %d evaluation samples and gradient diagnostics every %d '
             'steps. The last column is, for each Bayesian layer, the norm of the scaled KL\'s '
             'gradient over the norm of the NLL\'s gradient at the last step: above 1, the KL '
             'term moves that layer more than the data does.'
             % (' '.join(shlex.quote(a) for a in job_argv) or '(defaults)', setting['epochs'],
                '' if setting['epochs'] == 1 else 's', setting['eval_samples'],
                setting['diagnostics_every']), '']
    for name, table in tables.items():
        lines += ['## %s' % name, '', table, '']
    lines += ['![%s](%s)' % (os.path.basename(f), os.path.basename(f)) for f in figures]
    lines += ['', 'The options given: `%s`' % json.dumps(results.get('job', {}), sort_keys=True),
              '']
    write_atomically(path, '\n'.join(lines).encode('utf-8'))
