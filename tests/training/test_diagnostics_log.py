"""tfbnn/training/diagnostics_log.py: the record and the closing report."""
import json
import os

from tfbnn import diagnostics
from tfbnn.training.diagnostics_log import DiagnosticsLog


def _values(ratio):
    return diagnostics.LayerDiagnostics(
        num_params=10, kl=5.0, kl_per_param=0.5, mean_sigma=0.02, snr_median=2.0, snr_p10=0.5,
        snr_p90=4.0, kl_grad_norm=ratio, nll_grad_norm=1.0, kl_to_nll_grad_ratio=ratio)


def test_records_are_written_and_the_dominated_layers_named(tmp_path):
    lines = []
    log = DiagnosticsLog(str(tmp_path), [], lines.append)
    assert log.report() is None
    log.add(dict(fc1=_values(3.0), fc2=_values(0.5)), step=7)
    with open(os.path.join(str(tmp_path), 'diagnostics.json')) as f:
        assert json.load(f) == [dict(step=7, layers=dict(
            fc1={k: float(v) for k, v in _values(3.0)._asdict().items()},
            fc2={k: float(v) for k, v in _values(0.5)._asdict().items()}))]
    assert log.report() == ['fc1']
    assert 'outweighs the data gradient in fc1 (KL/NLL gradient norm ratio 3 at step 7)' \
        in lines[-1]


def test_a_record_of_another_version_is_read_by_field_name(tmp_path):
    # A resumed run's diagnostics.json with a field this version does not
    # know, and without snr_p10: it reports, it does not fail.
    old = {k: float(v) for k, v in _values(0.2)._asdict().items()}
    del old['snr_p10']
    old['future_field'] = 1.0
    lines = []
    log = DiagnosticsLog(str(tmp_path), [dict(step=3, layers=dict(fc1=old))], lines.append)
    assert log.report() == []
    assert 'largest KL/NLL ratio 0.2, in fc1' in lines[-1]
    # A record without the ratio names no layer; one without layers reports nothing.
    del old['kl_to_nll_grad_ratio']
    assert DiagnosticsLog(str(tmp_path), [dict(step=3, layers=dict(fc1=old))], print).report() \
        == []
    assert DiagnosticsLog(str(tmp_path), [dict(step=3, layers={})], print).report() is None
