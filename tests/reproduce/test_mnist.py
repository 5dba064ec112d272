"""tfbnn/reproduce/mnist.py: the candidate grid and continuing a chosen run."""
import math
import os

import pytest

from tfbnn._jsonio import read_json, write_json
from tfbnn.errors import ConfigError
from tfbnn.reproduce import mnist, runner


def test_candidates_come_from_the_papers_grid():
    for pi, a, b in mnist.PRIOR_CANDIDATES:
        assert pi in (0.25, 0.5, 0.75) and a in (0, 1, 2) and b in (6, 7, 8)
    names = [n for n, _ in mnist._candidates('scale_mixture', False)]
    assert names[0] == 'mixture_pi0.25_s1e-0_s2e-6' and len(set(names)) == 4
    options = dict(mnist._candidates('normal', False))['gaussian_se-1']
    assert options == dict(prior='normal', prior_sigma=math.exp(-1))
    base = mnist.base_options('d', 'o')
    assert (base['pixel_scale'], base['validation_size'], base['batch_size']) == (126.0, 10000,
                                                                                  128)


def test_extend_continues_the_chosen_run_at_a_new_step_size(tmp_path):
    protocol = dict(dataset='digits', hidden=[8], epochs=50, eval_samples=2,
                    validation_size=0.2, validate_every=1, seed=0)
    run_dir = str(tmp_path / 'chosen')
    first = runner.run(dict(protocol, max_seconds=1e-3, output_dir=run_dir))
    record = dict(protocol=protocol, chosen='chosen', chosen_options=dict(learning_rate=0.01),
                  run_dir=run_dir, train_seconds_total=first['train_seconds'],
                  metrics=first, prior='scale_mixture')
    write_json(str(tmp_path / 'mnist_scale_mixture.json'), record)
    lines = []
    longer = mnist.extend_mnist(str(tmp_path), (first['train_seconds'] + 2.0) / 60.0,
                                lines.append, learning_rate=0.003)
    assert read_json(str(tmp_path / 'mnist_scale_mixture_long.json'))['metrics'] == \
        longer['metrics']
    assert longer['metrics']['resumed_from_step'] == first['steps']
    assert longer['metrics']['steps'] > first['steps']
    assert longer['second_stage'] == dict(learning_rate=0.003, from_epoch=first['epochs'])
    assert longer['train_seconds_total'] == pytest.approx(
        first['train_seconds'] + longer['metrics']['train_seconds'])
    assert 'at learning rate 0.003' in lines[0]
    with pytest.raises(ConfigError, match='the run has already trained'):
        mnist.extend_mnist(str(tmp_path), 1e-4, print)
    os.remove(str(tmp_path / 'mnist_scale_mixture.json'))
    with pytest.raises(ConfigError, match='run the mnist experiment first'):
        mnist.extend_mnist(str(tmp_path), 10.0, print)
