"""The prune-then-retrain report (tfbnn/reproduce/report_pruning.py): the
protocol chosen on the `mnist` model's validation split, judged on the refit."""
import pytest

from tfbnn.reproduce import report, report_pruning


def _retrain(schedule, changes, vals=None, base=1.5, rewind_epochs=None):
    rows = [dict(fraction=f, test_error=base + c, test_error_change=c,
                 predictive_test_error_change=c + 0.01, reported=True)
            for f, c in zip((0.95, 0.98), changes)]
    if vals is not None:
        for row, v in zip(rows, vals):
            row['val_error'] = v
    if schedule == 'iterative':
        rows.insert(0, dict(fraction=0.5, test_error=base, test_error_change=0.0,
                            predictive_test_error_change=0.0, reported=False, val_error=9.9))
    # a record from before 2026-12-05: the last rate, and nothing else said of it
    record = dict(schedule=schedule, epochs=20, learning_rate=0.01, rows=rows,
                  base=dict(test_error=base, predictive_test_error=base))
    if rewind_epochs:  # the run's step schedule, 0.1 then 0.01 for the last quarter
        record.update(epochs=rewind_epochs, rate='rewind', learning_rate=0.1, lr_schedule='step',
                      lr_decay_epochs=[rewind_epochs * 3 // 4], lr_decay_factor=0.1,
                      lr_warmup_epochs=0.0)
    return record


@pytest.mark.parametrize('one_shot_vals,iterative_vals,choice', [
    ((1.9, 2.6), (1.8, 2.2), 'iterative'),
    ((1.9, 2.6), (1.9, 2.59), 'one-shot'),  # within 0.02 pp: the simpler one
    ((1.9, 2.6), (1.9, 2.58), 'one-shot'),  # exactly 0.02 pp is still a tie
    ((1.9, 2.6), (1.9, 2.57), 'iterative'),
    ((1.8, 2.2), (1.9, 2.6), 'one-shot'),
])
def test_the_retraining_schedule_is_chosen_on_validation_and_judged_on_the_refit(
        one_shot_vals, iterative_vals, choice):
    records = dict(pruning_retrain=_retrain('one-shot', (0.4, 1.1), one_shot_vals),
                   pruning_retrain_iterative=_retrain('iterative', (0.2, 0.5), iterative_vals),
                   pruning_retrain_refit=_retrain('one-shot', (0.36, 1.17)),
                   pruning_retrain_iterative_refit=_retrain('iterative', (0.05, 0.28)))
    assert report_pruning.retrain_choice(records) == (choice, 'last')
    goals = report.render_results(records)['goals']
    if choice == 'iterative':
        assert ('| Pruning 95% by SNR, then retraining, costs <= 0.1 pp (the refit model; '
                'retraining chosen on validation: iterative) | +0.05 pp (1.50% to 1.55%) | '
                '**met** | `reproduce.py pruning-retrain --model mnist-refit --schedule '
                'iterative` |' in goals)
        assert 'then retraining, costs <= 0.3 pp (the refit model; retraining chosen on ' \
               'validation: iterative) | +0.28 pp (1.50% to 1.78%) | **met**' in goals
    else:
        assert ('costs <= 0.1 pp (the refit model; retraining chosen on validation: one-shot) '
                '| +0.36 pp (1.50% to 1.86%) | **missed** | `reproduce.py pruning-retrain '
                '--model mnist-refit` |' in goals)
    table = report.render_results(records)['pruning_retrain']
    assert table.count('\n| mnist |') == 5 and table.count('\n| mnist-refit |') == 5
    assert ('| mnist | iterative, 20 epochs at 0.01 | 1.50%% | 95%% | 1.70%% | +0.20 pp | '
            '+0.21 pp | %.2f%% | `reproduce.py pruning-retrain --schedule iterative` |'
            % iterative_vals[0]) in table
    # The iterative schedule's stages are shown, and chosen and judged on nothing.
    assert '| 50% (a stage on the way) | 1.50% | +0.00 pp |' in table
    assert table.endswith('the retraining chosen on validation (the `mnist` model, 95%% + '
                          '98%%): %s.' % choice)


@pytest.mark.parametrize('rewind_vals,schedule_vals,choice', [
    ((1.7, 1.8), (1.8, 2.2), 'iterative, rate rewound'),
    ((1.8, 2.18), (1.8, 2.2), 'iterative'),  # 0.02 pp below the last rate: the simpler
    ((1.9, 2.4), (1.8, 2.2), 'iterative'),
    # one-shot chosen first: the iterative rewound record is not its candidate
    ((1.0, 1.0), (2.0, 3.0), 'one-shot'),
])
def test_the_retraining_rate_is_chosen_after_the_schedule_on_validation(
        rewind_vals, schedule_vals, choice):
    records = dict(pruning_retrain=_retrain('one-shot', (0.4, 1.1), (1.9, 2.6)),
                   pruning_retrain_iterative=_retrain('iterative', (0.2, 0.5), schedule_vals),
                   pruning_retrain_iterative_rewind=_retrain(
                       'iterative', (0.0, 0.2), rewind_vals, rewind_epochs=20),
                   pruning_retrain_iterative_rewind_refit=_retrain(
                       'iterative', (0.08, 0.25), rewind_epochs=20))
    rendered = report.render_results(records)
    assert rendered['pruning_retrain'].endswith(': %s.' % choice)
    assert ('| mnist | iterative, 20 epochs at 0.1, x0.1 at epoch 15 | 1.50%% | 95%% | 1.50%% | '
            '+0.00 pp | +0.01 pp | %.2f%% | `reproduce.py pruning-retrain --schedule iterative '
            '--rate rewind` |' % rewind_vals[0]) in rendered['pruning_retrain']
    if choice == 'iterative, rate rewound':
        assert ('(the refit model; retraining chosen on validation: iterative, rate rewound) | '
                '+0.08 pp (1.50% to 1.58%) | **met** | `reproduce.py pruning-retrain --model '
                'mnist-refit --schedule iterative --rate rewind` |' in rendered['goals'])
    else:  # the chosen protocol has no refit record here
        assert ('retraining chosen on validation: %s) | not run | **missed**' % choice
                in rendered['goals'])


def test_a_one_shot_choice_chooses_its_rate_among_one_shot_records():
    records = dict(pruning_retrain=_retrain('one-shot', (0.4, 1.1), (1.8, 2.2)),
                   pruning_retrain_iterative=_retrain('iterative', (0.2, 0.5), (1.9, 2.6)),
                   pruning_retrain_rewind=_retrain('one-shot', (0.1, 0.3), (1.6, 1.9),
                                                   rewind_epochs=20),
                   pruning_retrain_rewind_refit=_retrain('one-shot', (0.09, 0.3),
                                                         rewind_epochs=20))
    assert report_pruning.retrain_choice(records) == ('one-shot', 'rewind')
    rendered = report.render_results(records)
    assert ('| mnist | one-shot, 20 epochs at 0.1, x0.1 at epoch 15 | 1.50% | 98% | 1.80% | '
            '+0.30 pp | +0.31 pp | 1.90% | `reproduce.py pruning-retrain --rate rewind` |'
            in rendered['pruning_retrain'])
    assert rendered['pruning_retrain'].endswith(': one-shot, rate rewound.')
    assert ('(the refit model; retraining chosen on validation: one-shot, rate rewound) | '
            '+0.09 pp (1.50% to 1.59%) | **met** | `reproduce.py pruning-retrain --model '
            'mnist-refit --rate rewind` |' in rendered['goals'])
    assert ('(the refit model; retraining chosen on validation: one-shot, rate rewound) | '
            '+0.30 pp (1.50% to 1.80%) | **met** |' in rendered['goals'])


def test_without_validation_records_no_schedule_is_chosen():
    records = dict(pruning_retrain_refit=_retrain('one-shot', (0.36, 1.17)))
    assert report_pruning.retrain_choice(records) is None
    goals = report.render_results(records)['goals']
    assert 'retraining chosen on validation: not yet) | not run | **missed**' in goals
    assert 'none |' in report.render_results(records)['pruning_retrain']
    assert 'retraining' not in report.render_results({})['goals']
