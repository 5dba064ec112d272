"""--diagnostics-every: the per-layer table of a step in the log, its record
in <run>/diagnostics.json, and the closing report naming the layers whose KL
gradient outweighs the data's."""
import os

from tfbnn import diagnostics
from tfbnn.internal.jsonio import write_json
from tfbnn.training import rundir

__all__ = ['DiagnosticsLog']


class DiagnosticsLog(object):
    """The diagnostics of a run so far.

    Args:
      out: the run directory.
      records: the records of the steps before this process's first (a
        resumed run's diagnostics.json, cut at the step it resumes from).
      log: callable taking one line.
    """

    def __init__(self, out, records, log):
        self.path = os.path.join(out, rundir.DIAGNOSTICS)
        self.records, self.log = list(records), log

    def add(self, values, step):
        """Logs the table of one step and rewrites diagnostics.json.

        Args:
          values: dict layer -> `tfbnn.diagnostics.LayerDiagnostics` (fetched).
          step: the step they describe.
        """
        self.log('diagnostics at step %d:\n%s' % (step, diagnostics.format_table(values)))
        self.records.append(dict(step=step, layers={
            layer: {k: float(v) for k, v in d._asdict().items()} for layer, d in values.items()}))
        write_json(self.path, self.records)

    def report(self):
        """Names the layers whose KL gradient dominates at the last record, and what
        that suggests.

        Returns:
          None without records; else the list of KL-dominated layers (for
          metrics.json's 'kl_dominated_layers').
        """
        if not self.records or not self.records[-1].get('layers'):
            return None
        record = self.records[-1]
        # A resumed run's record may come from another tfbnn version: fields it
        # lacks are NaN (never 'dominated'), fields this version lacks are ignored.
        values = {layer: diagnostics.LayerDiagnostics(**{
            k: float(d.get(k, float('nan'))) for k in diagnostics.LayerDiagnostics._fields})
            for layer, d in record['layers'].items()}
        ratios = {layer: d.kl_to_nll_grad_ratio for layer, d in values.items()}
        dominated = diagnostics.dominated_layers(values, threshold=1.0)
        if not dominated:
            self.log('tfbnn: diagnostics: in every layer the data (NLL) gradient outweighs the '
                     'KL gradient (largest KL/NLL ratio %.3g, in %s)'
                     % (max(ratios.values()), max(ratios, key=ratios.get)))
            return []
        self.log(
            'tfbnn: diagnostics: the KL gradient outweighs the data gradient in %s (KL/NLL '
            'gradient norm ratio %s at step %d). The prior is pulling these posteriors harder '
            'than the data: a wider or more informative prior (--prior-sigma, --prior '
            'scale_mixture), more training data, or a smaller --kl-weight (a more tempered '
            'posterior, knowingly) would shift the balance; the KL grows with the parameter count, so '
            'smaller layers also help. See docs/kl-weighting.md.'
            % (', '.join(dominated), ', '.join('%.3g' % ratios[l] for l in dominated),
               record['step']))
        return dominated
