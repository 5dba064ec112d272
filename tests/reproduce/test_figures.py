"""tfbnn/reproduce/figures.py: the UCI selection figure from a record."""
import os

import pytest
from matplotlib.figure import Figure

from tfbnn.reproduce import figures, selection


def _row(lr, noise, epochs, ll, se, prior=1.0):
    return dict(learning_rate=lr, batch_size=32, noise_prior=noise, prior_sigma=prior,
                epochs=epochs, val_ll=ll, val_ll_se=se, splits=3)


def _mean(lr, epochs, prior=1.0):
    return -3.0 + 0.001 * epochs * (2 if lr == 1e-3 else 1) + (0.01 if prior == 'eb' else 0.0)


def _record(form):
    """A record whose selection is rows (as records were kept before
    2026-12-04) or curves: three splits at mean +- 0.05 and the mean, except
    at E = 20, which one split alone scored (no standard error there)."""
    grid = ((3e-3, 'none', 1.0), (3e-3, 'gamma', 1.0), (1e-3, 'none', 1.0), (1e-3, 'none', 'eb'))
    if form == 'rows':
        selection_ = [_row(lr, noise, e, _mean(lr, e, prior), se, prior)
                      for lr, noise, prior in grid
                      for e, se in ((10, 0.05), (20, None), (30, 0.04))]
    else:
        selection_ = selection.to_curves({(lr, 32, noise, prior): [
            {e: _mean(lr, e, prior) + d for e in (10, 20, 30) if d == 0.0 or e != 20}
            for d in (0.0, -0.05, 0.05)] for lr, noise, prior in grid}, 3)
    choice = _row(3e-3, 'none', 30, _mean(3e-3, 30), 0.04)
    return dict(sets=dict(toy=dict(selection=selection_, chosen=dict(choice=choice),
                                   epochs40=dict(choice=_row(3e-3, 'none', 20, -2.98, None)))))


@pytest.mark.parametrize('form', ['curves', 'rows'])
def test_uci_selection_draws_a_curve_per_candidate_and_the_chosen_epochs(tmp_path, form,
                                                                         monkeypatch):
    drawn = []
    save = figures.save_figure

    def keep(fig, path):
        drawn.append(fig)
        return save(fig, path)

    monkeypatch.setattr(figures, 'save_figure', keep)
    path = figures.uci_selection(_record(form), str(tmp_path / 'sel.png'))
    assert os.path.getsize(path) > 0
    with open(path, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    (ax,) = drawn[0].axes
    assert isinstance(drawn[0], Figure)
    curves = {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}
    # One curve per candidate (the step named, since there are several), in epoch order;
    # a missing standard error draws no band there but keeps the point.
    assert curves['noise prior none, lr 0.001'] == pytest.approx([-2.98, -2.96, -2.94])
    assert curves['noise prior gamma, lr 0.003'] == pytest.approx([-2.99, -2.98, -2.97])
    # A weight prior other than N(0, 1) is named, dashed, in its N(0, 1) twin's colour.
    assert curves['noise prior none, empirical Bayes, lr 0.001'] == pytest.approx(
        [-2.97, -2.95, -2.93])
    lines = {line.get_label(): line for line in ax.get_lines()}
    eb = lines['noise prior none, empirical Bayes, lr 0.001']
    twin = lines['noise prior none, lr 0.001']
    assert (eb.get_linestyle(), twin.get_linestyle()) == ('--', '-')
    assert eb.get_color() == twin.get_color() != lines['noise prior none, lr 0.003'].get_color()
    assert list(ax.get_lines()[-2].get_xdata()) == [30, 30]  # chosen E
    assert ax.get_lines()[-2].get_label() == 'chosen E = 30'
    assert ax.get_lines()[-1].get_label() == 'E = 20 row'
    assert ax.get_title() == 'toy: 3 selection splits'


@pytest.fixture
def drawn(monkeypatch):
    """The figures the module saves, in order."""
    figs = []
    save = figures.save_figure
    monkeypatch.setattr(figures, 'save_figure',
                        lambda fig, path: figs.append(fig) or save(fig, path))
    return figs


def test_image_rows_shows_each_sets_first_images_on_one_scale(tmp_path, drawn):
    import numpy as np
    digits = np.zeros([20, 4, 3, 1])
    digits[:, 1, 1, 0] = 1.0
    other = np.full([5, 4, 3], 0.5)  # fewer than a row, no channel axis
    path = figures.image_rows([('digits', digits), ('other', other)], str(tmp_path / 'r.png'),
                              per_row=6)
    assert os.path.getsize(path) > 0
    top, bottom = drawn[0].axes
    assert (top.get_title(loc='left'), bottom.get_title(loc='left')) == ('digits', 'other')
    strip = top.get_images()[0].get_array()
    # Six 4x3 images, a two-pixel gap between neighbours: 6 * 3 + 5 * 2 columns.
    assert strip.shape == (4, 28) and strip[1, 1] == 1.0 and strip[1, 6] == 1.0
    assert bottom.get_images()[0].get_array().shape == (4, 5 * 3 + 4 * 2)
    assert top.get_images()[0].get_clim() == bottom.get_images()[0].get_clim() == (0.0, 1.0)


def test_image_rows_shows_colour_images_in_grey(tmp_path, drawn):
    import numpy as np
    rgb = np.zeros([2, 3, 3, 3])
    rgb[:, 0, 0] = [0.0, 0.3, 0.6]  # grey 0.3
    figures.image_rows([('rgb', rgb)], str(tmp_path / 'c.png'), per_row=2)
    strip = drawn[0].axes[0].get_images()[0].get_array()
    assert strip.shape == (3, 3 + 2 + 3) and strip[0, 0] == pytest.approx(0.3)


def test_a_set_named_like_maths_is_drawn_as_written(tmp_path):
    """A folder 'cost$_$' would be mathtext, which raises: escaped in titles."""
    record = _record('curves')
    record['sets'] = {'cost$_$': record['sets']['toy']}
    path = figures.uci_selection(record, str(tmp_path / 'sel.png'))
    assert os.path.getsize(path) > 0
