"""The job's --outlier-exposure: the bank, the pairing, the objective's
bookkeeping, the log, resume, and every refusal."""
import dataclasses
import math
import os
import re

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tfbnn import data, outliers, run_config
from tfbnn.cli.train import main
from tfbnn.errors import CheckpointError, ConfigError
from tfbnn.run_config import RunConfig
from tfbnn.training import graph, outlier_data

from tests.training.test_train_job import QUICK, QUICK_FIXED, read, run

OE = ['--outlier-exposure', 'strokes']


def _images(n=12, size=8, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.uniform(0, 0.2, size=(n, size, size, 1)).astype(np.float32)
    x[:, 2:6, 3:5] = 1.0
    return data.make_dataset('tiny', 'classification', 'tiny', x, rng.randint(0, 3, n),
                             x[:2], rng.randint(0, 3, 2), num_classes=3)


@pytest.mark.parametrize('draws', [1, 2])
def test_the_job_trains_with_stroke_outliers_and_logs_their_term(tmp_path, capsys, draws):
    # (Without --outlier-disagreement the term is at least lambda log K.)
    code, out = run(tmp_path, *(QUICK + OE + ['--outlier-weight', '0.5', '--outlier-draws',
                                              str(draws)]))
    assert code == 0
    config = read(out, 'config.json')
    assert config['outlier_exposure'] == 'strokes' and config['outlier_weight'] == 0.5
    assert config['outlier_draws'] == draws
    history = read(out, 'history.json')
    assert len(history['outlier_term']) == 2
    for term, nll in zip(history['outlier_term'], history['nll_term']):
        # lambda H(U, p) >= lambda log K, and it is part of the nll term.
        assert term >= 0.5 * math.log(10) - 1e-4 and nll > term
    assert re.search(r'nll term [\d.]+ \(outliers [\d.]+ per example\)',
                     capsys.readouterr().out)
    assert read(out, 'metrics.json')['test_error'] < 0.9


def test_the_bank_is_drawn_from_the_seed_in_the_data_range(monkeypatch):
    monkeypatch.setattr(outlier_data, 'BANK_SIZE', 5)
    dataset = _images()
    config = RunConfig(outlier_exposure='strokes', seed=3)
    bank = outlier_data.outlier_bank(config, dataset)
    assert bank.shape == (5, 8, 8, 1) and bank.dtype == np.float32
    lo, hi = dataset.x_train.min(), dataset.x_train.max()
    assert bank.min() == pytest.approx(lo) and bank.max() <= hi
    np.testing.assert_array_equal(bank, outlier_data.outlier_bank(config, dataset))
    other = outlier_data.outlier_bank(dataclasses.replace(config, seed=4), dataset)
    assert not np.array_equal(bank, other)
    # Fewer examples than BANK_SIZE: one outlier per example.
    assert outlier_data.outlier_bank(config, _images(n=3)).shape[0] == 3


def test_each_example_meets_the_outlier_of_its_index(monkeypatch):
    monkeypatch.setattr(outlier_data, 'BANK_SIZE', 5)
    dataset = _images()
    config = RunConfig(outlier_exposure='strokes', batch_size=4, epochs=2, seed=1)
    bank = outlier_data.outlier_bank(config, dataset)
    with tf.Graph().as_default():
        inp = graph._input(config, dataset, None, tf.train.get_or_create_global_step())
        with tf.Session() as sess:
            sess.run(tf.group(*[v.initializer for v in inp.variables]), inp.feed)
            sess.run(inp.iterator.initializer, {inp.start_epoch: 0, inp.skip_batches: 0})
            seen = set()
            for _ in range(6):
                idx, x_out = sess.run([inp.idx, inp.x_outlier])
                np.testing.assert_array_equal(x_out, bank[idx % 5])
                seen.update(idx.tolist())
    assert seen == set(range(12))


def test_the_nll_of_an_example_gains_exactly_lambda_times_h_uniform():
    dataset = _images()
    spec = run_config.model_spec(RunConfig(hidden=[6]), 'classification', 3)
    with tf.Graph().as_default():
        tf.set_random_seed(0)
        x = tf.constant(dataset.x_train[:5])
        y = tf.constant(dataset.y_train[:5])
        bank = tf.constant(outlier_data.outlier_bank(RunConfig(outlier_exposure='strokes'),
                                                     dataset)[:5])
        net, nll, _, term = graph._likelihood(spec, x, y, 1, False, bank, 0.7)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            logits, nll_, term_ = sess.run([net.outputs, nll, term])
    assert logits.shape == (5, 3)  # the batch alone, the outliers split off
    z = logits - logits.max(1, keepdims=True)
    ce = -(z - np.log(np.exp(z).sum(1, keepdims=True)))[np.arange(5), dataset.y_train[:5]]
    # The same forward pass: the mean nll is the data's cross-entropy plus the term.
    np.testing.assert_allclose(nll_.mean(), ce.mean() + term_, rtol=1e-5)
    assert term_ >= 0.7 * math.log(3) - 1e-6


def test_several_weight_samples_split_the_outliers_off_each():
    dataset = _images()
    spec = run_config.model_spec(RunConfig(hidden=[6]), 'classification', 3)
    with tf.Graph().as_default():
        x, y = tf.constant(dataset.x_train[:5]), tf.constant(dataset.y_train[:5])
        net, nll, _, term = graph._likelihood(spec, x, y, 3, False, x[::-1], 1.0)
        assert net.outputs.shape.as_list()[0] == 3
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            logits, nll_ = sess.run([net.outputs, nll])
    assert logits.shape == (3, 5, 3) and nll_.shape == (3, 5)


def test_several_draws_pull_the_mixture_of_their_predictions_to_uniform(monkeypatch):
    """R = 2: each outlier is shown twice, every copy with its own weight
    noise, and the term is lambda H(U, p_bar) of the two draws' mixture
    (minus gamma times their mutual information)."""
    seen = []
    real = outliers.mixture_uniform_cross_entropy

    def spy(logits, axis=0):
        seen.append((logits, axis))
        return real(logits, axis)

    monkeypatch.setattr(outliers, 'mixture_uniform_cross_entropy', spy)
    dataset = _images()
    bank = outlier_data.outlier_bank(RunConfig(outlier_exposure='strokes'), dataset)[:5]
    for scale, k, gamma in ((0.5, 1, 0.0), (0.5, 3, 0.0), (2e-6, 1, 0.0), (0.5, 1, 0.3)):
        spec = run_config.model_spec(RunConfig(hidden=[6], posterior_init_scale=scale,
                                               estimator='local_reparameterization'),
                                     'classification', 3)
        del seen[:]
        with tf.Graph().as_default():
            tf.set_random_seed(0)
            x, y = tf.constant(dataset.x_train[:5]), tf.constant(dataset.y_train[:5])
            net, nll, _, term = graph._likelihood(spec, x, y, k, False, tf.constant(bank), 0.7,
                                                  outlier_draws=2, disagreement=gamma)
            (logits, axis), = seen
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                out, draws, nll_, term_ = sess.run([net.outputs, logits, nll, term])
        assert out.shape == ((5, 3) if k == 1 else (k, 5, 3))  # the batch alone
        assert draws.shape == ((2, 5, 3) if k == 1 else (k, 2, 5, 3)) and axis == -3
        p = np.exp(draws - draws.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        want = 0.7 * -np.log(p.mean(-3)).mean(-1)
        if gamma:  # minus gamma I(y; w | x~) of the two draws

            def entropy(q):
                return -(q * np.log(q)).sum(-1)
            want -= gamma * (entropy(p.mean(-3)) - entropy(p).mean(-2))
        np.testing.assert_allclose(term_, want.mean(), rtol=1e-5)
        if k == 1:
            z = out - out.max(1, keepdims=True)
            ce = -(z - np.log(np.exp(z).sum(1, keepdims=True)))[np.arange(5),
                                                                 dataset.y_train[:5]]
            np.testing.assert_allclose(nll_.mean(), ce.mean() + term_, rtol=1e-5)
        gap = np.abs(draws[..., 0, :, :] - draws[..., 1, :, :]).max()
        if scale < 1e-3:  # no noise: both copies are the same outliers' logits
            assert gap < 1e-3
        else:  # each copy its own noise
            assert gap > 1e-2


def test_resume_keeps_the_outlier_objective():
    saved = RunConfig(outlier_exposure='strokes')
    with pytest.raises(CheckpointError, match=re.escape(
            'cannot resume: --outlier-weight was 1.0 in the saved run, now 2.0; a resumed run '
            'keeps its objective')):
        run_config.check_compatible(saved, dataclasses.replace(saved, outlier_weight=2.0))
    with pytest.raises(CheckpointError, match="--outlier-exposure was 'strokes'"):
        run_config.check_compatible(saved, RunConfig(resume=True))
    with pytest.raises(CheckpointError, match='--outlier-draws was 1 in the saved run, now 2'):
        run_config.check_compatible(saved, dataclasses.replace(saved, outlier_draws=2))
    two = dataclasses.replace(saved, outlier_draws=2)
    with pytest.raises(CheckpointError, match='--outlier-disagreement was 0.0 in the saved run'):
        run_config.check_compatible(two, dataclasses.replace(two, outlier_disagreement=1.0))
    # A run directory from before the option: its config.json lacks it and means none.
    old = RunConfig().to_dict()
    for key in ('outlier_exposure', 'outlier_weight', 'outlier_draws', 'outlier_disagreement'):
        del old[key]
    loaded = RunConfig.from_dict(old)
    assert (loaded.outlier_exposure, loaded.outlier_draws, loaded.outlier_disagreement) == (
        'none', 1, 0.0)


def test_resume_with_outliers_continues(tmp_path):
    code, out = run(tmp_path, *(QUICK + OE))
    assert code == 0
    code, out = run(tmp_path, *(OE + ['--epochs', '3', '--hidden', '16', '--eval-samples', '4',
                                      '--progress', 'never', '--resume']))
    assert code == 0
    assert read(out, 'metrics.json')['steps'] == 3 * 12


@pytest.mark.parametrize('flags, match', [
    (['--dataset', 'uci', '--data-dir', 'x'], 'needs classification of 2-D images; --dataset '
                                               'uci is a regression task'),
    (['--dataset', 'toy_regression'], 'toy_regression is a regression task'),
    (['--dataset', 'volumes3d'], 'volumes3d is 3-D volumes'),
    (['--norm', 'batch'], 'the outliers would enter the batch statistics'),
    (['--outlier-weight', '0'], '--outlier-weight must be a positive number'),
    (['--outlier-exposure', 'none', '--outlier-weight', '0.5'],
     '--outlier-weight 0.5 needs --outlier-exposure'),
    (['--outlier-draws', '0'], '--outlier-draws must be a positive integer'),
    (['--outlier-exposure', 'none', '--outlier-draws', '2'],
     '--outlier-draws 2 needs --outlier-exposure'),
    (['--outlier-draws', '2', '--estimator', 'reparameterization'],
     'one weight sample serves the whole batch, so the draws would be the same'),
    (['--outlier-disagreement', '0.5'], '--outlier-disagreement 0.5 needs --outlier-draws 2'),
    (['--outlier-draws', '2', '--outlier-disagreement', '-1'],
     '--outlier-disagreement must be a number >= 0'),
])
def test_impossible_combinations_are_one_line_errors(tmp_path, capsys, flags, match):
    code, _ = run(tmp_path, *(QUICK + OE + flags))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and match in err[0], err


def test_an_unknown_kind_is_refused(capsys):
    assert main(['--outlier-exposure', 'photos']) == 2
    assert capsys.readouterr().err.strip() == (
        "tfbnn-train: error: --outlier-exposure must be one of none, strokes, got 'photos'")


def test_loaded_data_that_cannot_take_strokes_is_refused():
    config = RunConfig(outlier_exposure='strokes')
    regression = data.make_dataset('r', 'regression', 'r', np.zeros([4, 8, 8, 1]), np.zeros(4),
                                   np.zeros([2, 8, 8, 1]), np.zeros(2))
    with pytest.raises(ConfigError, match="needs a classification dataset; 'r' is a regression"):
        outlier_data.outlier_bank(config, regression)
    table = data.make_dataset('t', 'classification', 't', np.zeros([4, 5]), np.arange(4) % 2,
                              np.zeros([2, 5]), np.arange(2), num_classes=2)
    with pytest.raises(ConfigError, match=re.escape(
            "draws 2-D images [height, width, channels] or [height, width]; 't' has examples of "
            "shape [5]")):
        outlier_data.outlier_bank(config, table)


def test_images_without_a_channel_axis_get_the_same_outliers_without_one():
    with_channel = _images()
    x = with_channel.x_train[..., 0]
    bare = data.make_dataset('tiny', 'classification', 'tiny', x, with_channel.y_train, x[:2],
                             with_channel.y_test, num_classes=3)
    config = RunConfig(outlier_exposure='strokes')
    bank = outlier_data.outlier_bank(config, bare)
    assert bank.shape == (12, 8, 8) and bank.dtype == np.float32
    np.testing.assert_array_equal(bank, outlier_data.outlier_bank(config, with_channel)[..., 0])
    assert bank.max() > 0.9 and bank.min() < 0.1  # strokes in the data's range, not blank


def test_the_job_trains_with_outliers_on_images_without_a_channel_axis(tmp_path, capsys):
    x = _images(n=24).x_train[..., 0]
    path = str(tmp_path / 'set.npz')
    y = np.arange(24) % 3
    np.savez(path, x_train=x, y_train=y, x_test=x[:6], y_test=y[:6])
    for model in ('mlp', 'lenet5'):
        flags = (QUICK if model == 'mlp' else QUICK_FIXED) + OE + [
            '--dataset', 'npz', '--data-dir', path, '--model', model]
        code, out = run(tmp_path, *flags, name=model)
        assert code == 0, capsys.readouterr().err
        assert np.isfinite(read(out, 'metrics.json')['test_error'])


def test_the_bank_is_capped_by_bytes_and_any_seed_draws_one(monkeypatch):
    monkeypatch.setattr(outlier_data, 'BANK_BYTES', 4 * 64 * 3)  # three 8x8x1 images
    dataset = _images()
    assert outlier_data.outlier_bank(RunConfig(outlier_exposure='strokes'), dataset).shape[0] == 3
    top = RunConfig(outlier_exposure='strokes', seed=2 ** 32 - 1)
    assert outlier_data.outlier_bank(top, dataset).shape == (3, 8, 8, 1)


@pytest.mark.parametrize('x, y, match', [
    (np.zeros([12, 8, 8, 1]), np.linspace(0, 1, 12), "needs a classification dataset"),
    (np.zeros([12, 3, 3, 1]), np.arange(12) % 2, "draws images of at least 4x4 pixels; "
                                                  "'npz' has 3x3"),
    (np.zeros([12, 5]), np.arange(12) % 2, r"draws 2-D images \[height, width, channels\]"),
    (np.zeros([12, 1, 8, 8]), np.arange(12) % 2,
     r"at least 4x4 pixels; 'npz' has 1x8; if its examples are channels first \(PyTorch's "
     r"\[N, C, H, W\]\), transpose them to \[N, H, W, C\]$"),
])
def test_data_it_cannot_draw_for_is_refused_before_the_run_folder_is_written(tmp_path, capsys,
                                                                            x, y, match):
    path = str(tmp_path / 'set.npz')
    np.savez(path, x_train=x, y_train=y, x_test=x[:4], y_test=y[:4])
    code, out = run(tmp_path, *(QUICK + OE + ['--dataset', 'npz', '--data-dir', path]))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and re.search(match, err[0]), err
    assert not os.path.exists(out)  # nothing written: the same command without the flag runs


def test_without_the_option_the_graph_has_no_outlier_ops():
    dataset = _images()
    config = RunConfig(hidden=[6], epochs=1)
    with tf.Graph().as_default() as g:
        graph.build_train_graph(config, dataset, run_config.model_spec(
            config, 'classification', 3), '/cpu:0')
        names = [op.name for op in g.get_operations()]
    assert names and not [n for n in names if 'outlier' in n]
    with tf.Graph().as_default() as g:
        on = dataclasses.replace(config, outlier_exposure='strokes')
        graph.build_train_graph(on, dataset, run_config.model_spec(on, 'classification', 3),
                                '/cpu:0')
        assert [op for op in g.get_operations() if 'outlier' in op.name]


def test_evaluating_a_checkpoint_draws_no_outliers_and_scores_as_the_run(tmp_path, monkeypatch):
    from tfbnn.training import chief, rundir
    code, out = run(tmp_path, *(QUICK + OE))
    assert code == 0
    config = run_config.load(os.path.join(out, 'config.json'))
    dataset, ood = run_config.load_datasets(config)

    def no_drawing(*args, **kwargs):
        raise AssertionError('the outliers were drawn')
    monkeypatch.setattr(data, 'stroke_outliers', no_drawing)
    zeros = outlier_data.outlier_bank(config, dataset, draw=False)
    assert zeros.shape[1:] == dataset.x_train.shape[1:] and not zeros.any()
    metrics = chief.evaluate_checkpoint(config, dataset, rundir.latest_checkpoint(out),
                                        '/cpu:0', ood)
    saved = read(out, 'metrics.json')
    for key in ('test_error', 'test_nll', 'ece', 'ood_auroc_mi'):  # the same seeded draws
        assert metrics[key] == pytest.approx(saved[key], rel=1e-5), key
