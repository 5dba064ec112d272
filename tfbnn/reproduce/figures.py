"""Figures of docs/RESULTS.md: pruning, UCI beside the papers and its selection, MNIST
curves, the out-of-distribution sets.

Each function draws one `matplotlib.figure.Figure` (Agg, no pyplot) and
writes it with `tfbnn.plots.save_figure`.
"""
import numpy as np
from matplotlib.figure import Figure

from tfbnn.plots import save_figure
from tfbnn.reproduce import paper, selection

__all__ = ['pruning_curve', 'uci_comparison', 'uci_selection', 'mnist_curves', 'image_rows']


def _plain(name):
    """A set's name as a title shows it: matplotlib reads '$...$' as maths
    (and raises on some), so a folder named 'cost$_$' is escaped."""
    return name.replace('$', r'\$')


def pruning_curve(rows, snr, path):
    """Test (and validation) error against the fraction removed, beside
    Blundell et al.'s Table 2, and the histogram of log10 |mu| / sigma
    stacked by layer (`snr`: dict layer -> array of ratios), so the modes
    show whose weights they hold."""
    fig = Figure(figsize=(10.0, 4.0))
    left, right = fig.subplots(1, 2)
    frac = [100 * r['fraction'] for r in rows]
    left.plot(frac, [r['test_error'] for r in rows], 'o-', label='tfbnn 2x400, test')
    if all('val_error' in r for r in rows):
        left.plot(frac, [r['val_error'] for r in rows], 's--', label='tfbnn 2x400, validation')
    ref = sorted(paper.BLUNDELL_TABLE2.items())
    left.plot([100 * f for f, _ in ref], [e for _, e in ref], 'k^:',
              label='Blundell et al. 2x1200, test')
    left.set(xlabel='weights removed (%)', ylabel='error (%)',
             title='Pruning by signal-to-noise ratio')
    left.legend()
    logs = [np.log10(np.maximum(np.ravel(v), 1e-12)) for v in snr.values()]
    bins = np.linspace(min(v.min() for v in logs), max(v.max() for v in logs), 81)
    right.hist(logs, bins=bins, stacked=True, label=list(snr),
               color=['C%d' % i for i in range(len(logs))])
    right.legend(title='layer')
    right.set(xlabel='log10 |mu| / sigma', ylabel='kernel weights',
              title='Signal-to-noise ratio of the posterior')
    for row in rows[1:]:
        right.axvline(np.log10(max(row['snr_threshold'], 1e-12)), color='k', lw=0.8, ls=':')
    fig.tight_layout()
    return save_figure(fig, path)


def uci_comparison(record, path):
    """Test log-likelihood and RMSE per set, tfbnn beside VI, PBP and dropout,
    with standard-error bars."""
    sets = list(record['sets'])
    fig = Figure(figsize=(4.0 * len(sets), 6.5))
    axes = fig.subplots(2, len(sets), squeeze=False)
    for j, name in enumerate(sets):
        ours = record['sets'][name]
        labels = ['tfbnn\nchosen E', 'tfbnn\nE=40'] + [m.replace('MC ', '') for m in
                                                      paper.UCI_METHODS]
        ref = paper.UCI_TABLE.get(name, {})
        for i, (key, se_key, idx, title) in enumerate((
                ('test_ll', 'test_ll_se', 2, 'test log-likelihood'),
                ('rmse', 'rmse_se', 0, 'test RMSE'))):
            values = [ours['chosen'][key], ours['epochs40'][key]] + [
                ref[m][idx] if m in ref else np.nan for m in paper.UCI_METHODS]
            errors = [ours[row][se_key] or 0.0 for row in ('chosen', 'epochs40')] + [
                ref[m][idx + 1] if m in ref else np.nan for m in paper.UCI_METHODS]
            ax = axes[i][j]
            ax.bar(range(len(values)), values, yerr=errors, capsize=3,
                   color=['C0', 'C9', 'C7', 'C1', 'C2'])
            ax.set_xticks(range(len(values)))
            ax.set_xticklabels(labels, fontsize=8)
            ax.set_title('%s: %s' % (_plain(name), title), fontsize=9)
            if key == 'test_ll':
                low = min(v - e for v, e in zip(values, errors) if np.isfinite(v))
                ax.set_ylim(low - 0.2, max(0.0, max(values) + 0.2))
    fig.tight_layout()
    return save_figure(fig, path)


def uci_selection(record, path):
    """Each set's mean validation log-likelihood against the stopping epoch E, one
    curve per candidate with a band of +- one standard error of the mean over the
    selection splits, and the epochs the protocol chose (the chosen row and the
    E = 40 row) as vertical lines. A (step, batch, noise) keeps its colour across
    weight priors; N(0, 1) is drawn solid, other priors dashed or dash-dotted."""
    sets = list(record['sets'])
    tables = {name: selection.to_rows(record['sets'][name]['selection']) for name in sets}
    keys = ('learning_rate', 'batch_size', 'noise_prior', 'prior_sigma')
    candidates = sorted({tuple(r[k] for k in keys) for t in tables.values() for r in t},
                        key=str)
    bases = sorted({c[:3] for c in candidates}, key=str)
    priors = sorted({c[3] for c in candidates}, key=lambda p: (
        p != selection.DEFAULT_PRIOR_SIGMA, str(p)))
    columns = 2 if len(priors) == 1 else 1  # labels that name a prior are long
    legend_rows = -(-(len(candidates) + 2) // columns)
    fig = Figure(figsize=(4.0 * len(sets), 3.4 + 0.15 * legend_rows))
    axes = fig.subplots(1, len(sets), squeeze=False)[0]
    for ax, name in zip(axes, sets):
        entry = record['sets'][name]
        table = tables[name]
        curves = {}
        for row in table:
            curves.setdefault(tuple(row[k] for k in keys), []).append(row)
        for (lr, batch, noise, prior), rows in sorted(curves.items(), key=lambda kv: str(kv[0])):
            rows = sorted(rows, key=lambda r: r['epochs'])
            epochs = np.array([r['epochs'] for r in rows])
            mean = np.array([r['val_ll'] for r in rows])
            se = np.array([r['val_ll_se'] if r['val_ll_se'] is not None else 0.0
                           for r in rows])
            label = 'noise prior %s%s' % (noise, '' if prior == selection.DEFAULT_PRIOR_SIGMA
                                          else ', ' + selection.prior_text(prior))
            if len({c[0] for c in curves}) > 1:
                label += ', lr %g' % lr
            color = 'C%d' % (bases.index((lr, batch, noise)) % 10)
            style = ('-', '--', '-.', (0, (1, 1)))[min(priors.index(prior), 3)]
            ax.plot(epochs, mean, lw=1, color=color, ls=style, label=label)
            ax.fill_between(epochs, mean - se, mean + se, color=color, alpha=0.2)
        chosen = entry['chosen']['choice']
        ax.axvline(chosen['epochs'], color='k', lw=1, label='chosen E = %d' % chosen['epochs'])
        ax.axvline(entry['epochs40']['choice']['epochs'], color='k', ls=':', lw=1,
                   label='E = %d row' % entry['epochs40']['choice']['epochs'])
        values = [r['val_ll'] for r in table]
        best = max(values)
        ax.set_ylim(max(min(values), best - 1.5) - 0.05, best + 0.15)
        ax.set(xlabel='stopping epoch E', ylabel='validation log-likelihood (mean)')
        ax.set_title('%s: %d selection splits' % (_plain(name), max(
            r['splits'] for r in table)), fontsize=9)
        ax.legend(fontsize=7, loc='upper center', bbox_to_anchor=(0.5, -0.2), ncol=columns)
    fig.tight_layout()
    return save_figure(fig, path)


def mnist_curves(histories, path):
    """Validation error against epoch for each MNIST model (name -> history)."""
    fig = Figure(figsize=(6.0, 4.0))
    ax = fig.subplots(1, 1)
    for name, history in sorted(histories.items()):
        pairs = [(e, v) for e, v in zip(history['epoch'], history.get('val_error', []))
                 if v is not None]
        if pairs:
            ax.plot([e for e, _ in pairs], [100 * v for _, v in pairs], 'o-', ms=3, label=name)
    for method, widths in paper.BLUNDELL_TABLE1.items():
        ax.axhline(widths[400], ls=':', lw=0.8, color='k')
        ax.text(1, widths[400], ' %s (paper, test)' % method, fontsize=7, va='bottom')
    ax.set(xlabel='epoch', ylabel='validation error (%)', title='MNIST 784-400-400-10',
           ylim=(1.0, 3.0))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def image_rows(rows, path, per_row=12):
    """A grid of example images, one row per set.

    Args:
      rows: list of (label, images [N, height, width] or [N, height, width,
        channels]); each row shows the first `per_row` images in grey (the
        mean over channels), on one shared scale (the rows' joint minimum to
        maximum), under its label.
      path: where to write the PNG.
      per_row: images per row.
    """
    fig = Figure(figsize=(0.75 * per_row, 0.95 * len(rows)))
    axes = fig.subplots(len(rows), 1, squeeze=False)[:, 0]
    shown = [np.asarray(images, np.float64)[:per_row] for _, images in rows]
    shown = [x.mean(axis=-1) if x.ndim == 4 else x for x in shown]
    low, high = min(x.min() for x in shown), max(x.max() for x in shown)
    for ax, (label, _), images in zip(axes, rows, shown):
        gap = np.full([images.shape[1], 2], low)
        strip = np.concatenate([part for image in images for part in (image, gap)][:-1], axis=1)
        ax.imshow(strip, cmap='gray', vmin=low, vmax=high, interpolation='nearest')
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(label, fontsize=9, loc='left')
    fig.tight_layout()
    return save_figure(fig, path)
