"""The measurements behind docs/kl-weighting.md, and the tables it shows.

Every number in the guide comes from `run_study` (scripts/kl_study.py), which
trains small networks with the training job and records test metrics, the KL,
and the per-layer gradient diagnostics. `render_tables` turns the saved
results into the guide's markdown tables, and `update_guide` writes them
between `<!-- study:NAME -->` markers, so the guide cannot drift from the
measurements (a test checks it).
"""
import collections
import json
import math
import os

import numpy as np

from tfbnn import data
from tfbnn.errors import ConfigError
from tfbnn.internal.jsonio import read_json, write_atomically
from tfbnn.training import rundir

__all__ = ['EXPERIMENTS', 'PINNED', 'VARIED', 'job_problem', 'run_study', 'render_tables',
           'update_guide', 'guide_with_tables', 'plot_study',
           'study_figures']

EXPERIMENTS = ('scaling', 'schemes', 'priors', 'norms')

_Budget = collections.namedtuple('_Budget', ['epochs', 'widths', 'volume_epochs', 'eval_samples',
                                             'diagnostics_every'])
FULL = _Budget(epochs=30, widths=(25, 50, 100, 200, 400), volume_epochs=8, eval_samples=50,
               diagnostics_every=24)
QUICK = _Budget(epochs=1, widths=(16, 32), volume_epochs=1, eval_samples=3, diagnostics_every=6)


def _run(work, name, log, label=None, **options):
    """One run of the job in work/name, and its row of the tables (`label`:
    the row's name in the log, default `name`). A run finished with the same
    options is read back, an unfinished one resumed
    (`tfbnn.reproduce.runner.run`): a study runs again where it stopped."""
    from tfbnn.reproduce import runner  # (tfbnn.reproduce's report imports this module)
    out = os.path.join(work, name)
    options['output_dir'] = out
    metrics = runner.run(options, reuse=True)
    history = read_json(os.path.join(out, rundir.HISTORY))
    diag = read_json(os.path.join(out, rundir.DIAGNOSTICS), [])
    params = None
    if diag:
        params = int(sum(d['num_params'] for d in diag[-1]['layers'].values()))
    record = dict(
        name=name, steps=metrics.get('steps'),
        test_error=metrics.get('test_error'), test_nll=metrics.get('test_nll'),
        ece=metrics.get('ece'), mean_mi=metrics.get('mean_mutual_information'),
        rmse=metrics.get('rmse'), test_ll=metrics.get('test_ll'),
        kl=history['kl'][-1], scaled_kl=history['scaled_kl'][-1],
        nll_term=history['nll_term'][-1], params=params,
        kl_share=history['scaled_kl'][-1] / (history['scaled_kl'][-1] + history['nll_term'][-1]),
        ratios={layer: d['kl_to_nll_grad_ratio'] for layer, d in diag[-1]['layers'].items()}
        if diag else {},
        ratio_history=[dict(step=r['step'], ratios={l: d['kl_to_nll_grad_ratio']
                                                   for l, d in r['layers'].items()})
                       for r in diag])
    error = record['test_error']
    log('  %-28s test error %s | KL %.4g | KL share of loss %.1f%% | max KL/NLL grad %.3g'
        % (label or name, '-' if error is None else '%.2f%%' % (100 * error),
           record['kl'], 100 * record['kl_share'],
           max(record['ratios'].values()) if record['ratios'] else float('nan')))
    return record


def _central_slices(work):
    """The volumes3d task seen in 2D: each volume's central slice, as an npz."""
    vol = data.load_dataset('volumes3d')
    path = os.path.join(work, 'slices.npz')
    mid = vol.x_train.shape[1] // 2
    np.savez(path, x_train=vol.x_train[:, mid], y_train=vol.y_train,
             x_test=vol.x_test[:, mid], y_test=vol.y_test)
    return path


# The guide's setup, pinned: the job's defaults have moved since the study
# was measured (docs/RESULTS.md, "The main job's defaults"); beta = 1 is the
# untempered ELBO whose coefficient the guide is about.
PINNED = dict(hidden=[100, 100], posterior_init_scale=1e-3, learning_rate=1e-3, kl_weight=1.0)


# The options each experiment sets in its runs: a study of the user's own
# setup (`job`) must leave them to the study.
VARIED = dict(scaling=('dataset', 'data_dir', 'model', 'hidden', 'epochs', 'batch_size'),
              schemes=('kl_scheme', 'warmup_steps'),
              priors=('prior', 'prior_sigma'), norms=('norm',))
# Set for every run, by the study: beta = 1 (the untempered ELBO) where a
# row sets no other.
STUDY_SETS = ('output_dir', 'resume', 'kl_weight')


def run_study(work, quick=False, experiments=EXPERIMENTS, log=print, seed=0, job=None):
    """Runs the experiments; returns (and writes to work/results.json) the results.

    Args:
      work: folder for the runs and results.json. A study interrupted there
        continues: its finished runs are read back (when their options are
        these), the unfinished one resumed from its latest checkpoint. The
        results of experiments an earlier call ran there and this one does
        not are kept.
      quick: a budget small enough for the test suite (numbers not meaningful).
      experiments: subset of EXPERIMENTS.
      log: progress lines go here.
      seed: run seed.
      job: None for the guide's setup (built-in digits, `PINNED`); or the
        training job's options of the user's own setup (data, model, ...), a
        dict as `tfbnn.training.train` takes: the budget's epochs,
        eval_samples and diagnostics_every fill in what it leaves out, and
        the runs use the job's defaults, not `PINNED` (but beta = 1 where a
        row sets no other). No 'scaling' then (its networks are the
        guide's), and no option of `VARIED` or `STUDY_SETS`.

    Raises:
      ConfigError: `job_problem`'s.
    """
    budget = QUICK if quick else FULL
    base = dict(epochs=budget.epochs, eval_samples=budget.eval_samples,
                diagnostics_every=budget.diagnostics_every, seed=seed, ood_set='none')
    if job is None:
        base.update(dataset='digits', **PINNED)
    else:
        problem = job_problem(job, experiments)
        if problem:
            raise ConfigError(problem)
        base.update(dict(kl_weight=1.0, **job))
        if 'ood_set' not in job:  # the study scores no OOD set, a folder neither
            base['ood_data_dir'] = None
        _check_rows(base, experiments)
    os.makedirs(work, exist_ok=True)
    _check_same_study(work, dict(job=job, budget=budget._asdict(), seed=seed))

    def run(name, label=None, **options):
        return _run(work, name, log, label, **options)
    results = collections.OrderedDict(budget=budget._asdict())
    if job is not None:
        results['job'] = job
    if 'scaling' in experiments:
        log('scaling: KL against the number of parameters')
        rows = [run('mlp_%d' % w, **dict(base, hidden=[w, w]))
                for w in budget.widths]
        vol = dict(base, dataset='volumes3d', epochs=budget.volume_epochs, batch_size=32)
        rows.append(run('conv3d_volumes', **dict(vol, model='conv3d')))
        rows.append(run('conv2d_central_slices', **dict(
            vol, dataset='npz', data_dir=_central_slices(work), model='lenet5')))
        results['scaling'] = rows
    if 'schemes' in experiments:
        log('schemes: the KL coefficient')
        results['schemes'] = _schemes(run, base)
    if 'priors' in experiments:
        log('priors')
        results['priors'] = [dict(run('prior_%d' % i, name, **dict(base, **options)), name=name)
                             for i, (name, options) in enumerate(ROWS['priors'])]
    if 'norms' in experiments:
        log('normalisation beside Bayesian layers')
        results['norms'] = [dict(run('norm_' + name, **dict(base, **options)), name=name)
                            for name, options in ROWS['norms']]
    # The experiments an earlier --only ran in this study (the same options,
    # budget and seed: `_check_same_study`) stay in its results.
    earlier = read_json(os.path.join(work, 'results.json'))
    if isinstance(earlier, dict):
        for name in EXPERIMENTS:
            if name in earlier and name not in results:
                results[name] = earlier[name]
                log('%s: kept from the earlier results of this study' % name)
    results = collections.OrderedDict(
        (key, results[key]) for key in ('budget', 'job') + EXPERIMENTS if key in results)
    write_atomically(os.path.join(work, 'results.json'),
                     json.dumps(results, indent=1, sort_keys=False).encode('utf-8'))
    return results


def job_problem(job, experiments):
    """Why `run_study` cannot run `experiments` on the user's setup `job`
    (scaling, or an option the study sets itself), or None."""
    if 'scaling' in experiments:
        return ('a study of your own setup has no scaling experiment (it measures the guide\'s '
                'networks); choose from schemes, priors, norms')
    clash = sorted(set(job) & set(STUDY_SETS + sum((VARIED[e] for e in experiments), ())))
    if clash:
        return ('the study varies or sets %s itself: leave %s out of your options'
                % (', '.join(clash), ', '.join('--' + k.replace('_', '-') for k in clash)))
    if 'diagnostics_every' in job and not job['diagnostics_every']:
        return ('--diagnostics-every 0 turns off the gradient diagnostics the study measures: '
                'give a number of steps, or leave it out')
    return None


# The rows of the schemes, priors and norms experiments: (name, options).
# The warm-up's length (None here) is a third of the first run's steps.
ROWS = dict(
    schemes=(('per_example', {}), ('per_batch', dict(kl_scheme='per_batch')),
             ('blundell', dict(kl_scheme='blundell')),
             ('per_example + warm-up', dict(warmup_steps=None)),
             ('per_example, beta = 0.1', dict(kl_weight=0.1))),
    priors=(('normal(0.1)', dict(prior_sigma=0.1)), ('normal(1)', dict(prior_sigma=1.0)),
            ('scale_mixture(0.5, 1, e^-6)', dict(prior='scale_mixture'))),
    norms=tuple((norm, dict(norm=norm)) for norm in ('none', 'batch', 'group')))


def _schemes(run, base):
    """The schemes experiment's rows; the warm-up lasts a third of the
    steps the first run took (its data fixes how many)."""
    rows, steps = [], None
    for i, (name, options) in enumerate(ROWS['schemes']):
        if options.get('warmup_steps', 0) is None:
            options = dict(options, warmup_steps=max(1, (steps or 1) // 3))
        rows.append(dict(run('scheme_%d' % i, name, **dict(base, **options)), name=name))
        steps = rows[0]['steps']
    return rows


def _check_rows(base, experiments):
    """Refuses, before any run, a row the user's setup cannot train (no
    --norm for an LSTM, say), naming it."""
    from tfbnn import run_config
    for experiment in experiments:
        for name, options in ROWS[experiment]:
            options = {k: 1 if v is None else v for k, v in options.items()}
            try:
                run_config.RunConfig.from_dict(dict(base, **options))
            except ConfigError as err:
                raise ConfigError('the %s experiment\'s row %r cannot run on your setup (%s); '
                                  'leave it out with --only' % (experiment, name, err))


# What a study's folder records of how it was started (`_check_same_study`).
STUDY_FILE = 'study.json'


def _check_same_study(work, started):
    """Records how the study in `work` was started, or refuses to continue
    one started otherwise (other options, budget or seed): its runs would be
    mixed with, or relabelled as, runs of these options."""
    path = os.path.join(work, STUDY_FILE)
    started = json.loads(json.dumps(started))  # tuples as the saved lists
    saved = read_json(path)
    if saved is None:
        write_atomically(path, json.dumps(started, indent=1).encode('utf-8'))
    elif saved != started:
        what = [k for k in ('job', 'budget', 'seed') if saved.get(k) != started[k]]
        raise ConfigError('the study in %s was started with another %s (%s, not %s): continue it '
                          'with the options it was started with, or choose another --work-dir'
                          % (work, ' and '.join(what), '; '.join(json.dumps(saved.get(k),
                                                                            sort_keys=True)
                                                                 for k in what),
                             '; '.join(json.dumps(started[k], sort_keys=True) for k in what)))


def _pct(v):
    return '-' if v is None else '%.2f%%' % (100 * v)


def _g(v, digits=3):
    return '-' if v is None or (isinstance(v, float) and math.isnan(v)) else '%.*g' % (digits, v)


def _ratios(row):
    return ', '.join('%s %s' % (k.split('/')[-1], _g(v, 2)) for k, v in row['ratios'].items())


def render_tables(results):
    """Markdown tables by experiment name (only those present in `results`)."""
    tables = collections.OrderedDict()
    if 'scaling' in results:
        lines = ['| network | parameters | KL | KL / parameter | KL share of loss | '
                 'largest KL/NLL gradient ratio | test error |',
                 '|---|---:|---:|---:|---:|---:|---:|']
        for r in results['scaling']:
            lines.append('| %s | %s | %s | %s | %.1f%% | %s | %s |' % (
                r['name'], r['params'], _g(r['kl'], 4), _g(r['kl'] / r['params']),
                100 * r['kl_share'], _g(max(r['ratios'].values()) if r['ratios'] else None, 2),
                _pct(r['test_error'])))
        tables['scaling'] = '\n'.join(lines)
    for key in ('schemes', 'priors', 'norms'):
        if key in results:
            tables[key] = _row_table(key, results[key])
    return tables


def _row_table(key, rows):
    """The table of the schemes, priors or norms experiment: test error,
    NLL and ECE for a classifier, RMSE and log-likelihood for a regression."""
    regression = all(r.get('test_error') is None and r.get('rmse') is not None for r in rows)
    quality = ('test RMSE | test log-likelihood' if regression else 'test error | test NLL | ECE')
    lines = ['| %s | %s | KL share of loss | KL/NLL gradient norm by layer (last step) |'
             % ({'schemes': 'scheme', 'priors': 'prior', 'norms': 'normalisation'}[key], quality),
             '|---|---:|---:|%s---:|---|' % ('' if regression else '---:|')]
    for r in rows:
        values = ((_g(r['rmse']), _g(r['test_ll'])) if regression else
                  (_pct(r['test_error']), _g(r['test_nll']), _pct(r['ece'])))
        lines.append('| %s | %s | %.1f%% | %s |' % (r['name'], ' | '.join(values),
                                                    100 * r['kl_share'], _ratios(r)))
    return '\n'.join(lines)


def guide_with_tables(guide_path, tables, tag='study'):
    """The text of the markdown file `guide_path` with each
    `<!-- TAG:NAME -->...<!-- /TAG:NAME -->` block replaced by `tables[NAME]`;
    raises ValueError for a missing block. Writes nothing."""
    with open(guide_path) as f:
        text = f.read()
    for name, table in tables.items():
        start, end = '<!-- %s:%s -->' % (tag, name), '<!-- /%s:%s -->' % (tag, name)
        if start not in text or end not in text:
            raise ValueError('%s has no %s ... %s block' % (guide_path, start, end))
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = head + start + '\n' + table + '\n' + end + tail
    return text


def update_guide(guide_path, tables, tag='study'):
    """Writes `guide_with_tables(guide_path, tables, tag)` over the file
    (atomically: a full disk keeps the old guide)."""
    text = guide_with_tables(guide_path, tables, tag)
    write_atomically(guide_path, text.encode('utf-8'))


def plot_study(results, folder, figures=None):
    """Writes the guide's figures into `folder`; returns the paths written.

    Args:
      results: the study's results dict.
      folder: where the PNGs go (made if missing).
      figures: `study_figures(results)`, when the caller built them already.
    """
    figures = study_figures(results) if figures is None else figures
    os.makedirs(folder, exist_ok=True)
    written = []
    for name, fig in figures:
        path = os.path.join(folder, name)
        write_atomically(path, lambda tmp, fig=fig: fig.savefig(tmp, dpi=110, format='png'))
        written.append(path)
    return written


def study_figures(results):
    """The guide's figures, drawn and not yet written: a list of (file name,
    matplotlib `Figure`).

    Raises:
      KeyError, TypeError, ValueError: `results` lacks what a figure needs.
    """
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    figures = []
    if 'scaling' in results:
        fig = Figure(figsize=(6, 4))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        rows = results['scaling']
        params = [r['params'] for r in rows]
        kls = [r['kl'] for r in rows]
        ax.loglog(params, kls, 'o')
        for r in rows:
            ax.annotate(r['name'], (r['params'], r['kl']), fontsize=7)
        ax.set_xlabel('parameters with a posterior')
        ax.set_ylabel('KL(q || p) (nats)')
        ax.set_title('Total KL grows with the parameter count')
        fig.tight_layout()
        figures.append(('kl_vs_params.png', fig))
    if 'schemes' in results:
        rows = results['schemes']
        fig = Figure(figsize=(7, 4))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        for r in rows:
            measured = [h for h in r['ratio_history'] if h['ratios']]
            steps = [h['step'] for h in measured]
            worst = [max(h['ratios'].values()) for h in measured]
            if steps:
                ax.semilogy(steps, worst, marker='.', label=r['name'])
        ax.axhline(1.0, color='grey', linestyle='--', linewidth=1)
        ax.set_xlabel('training step')
        ax.set_ylabel('max over layers of |grad cKL| / |grad NLL|')
        ax.set_title('What the KL term does to the gradients, by scheme')
        ax.legend(fontsize=7)
        fig.tight_layout()
        figures.append(('grad_ratio_by_scheme.png', fig))
    return figures
