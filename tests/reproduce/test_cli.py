"""tfbnn/cli/reproduce.py: user errors exit 2 with one line."""
import os

import pytest

from tfbnn.cli.reproduce import main
from tfbnn.internal.jsonio import read_json


@pytest.mark.parametrize('argv,message', [
    ([], 'choose an experiment'),
    (['mnist', '--budget-minutes', '0'], 'budgets must be positive minutes, got 0.0'),
    (['uci', '--select-splits', '0'], '--select-splits must be >= 1, got 0'),
    (['uci', '--splits', '0'], '--splits must be >= 1, got 0'),
    (['uci', '--sets', ''], "--sets must name distinct sets, comma-separated (folders of "
                            "--data-dir), got ''"),
    (['uci', '--sets', 'yacht,,energy'], "--sets must name distinct sets, comma-separated"),
    (['uci', '--sets', 'yacht,yacht'], "got 'yacht,yacht'"),
    (['uci', '--sets', 'yacht,./yacht/'], "got 'yacht,./yacht/'"),
    (['uci', '--sets', '/data/yacht'], '--sets names folders inside --data-dir, got /data/yacht: '
                                       'give --data-dir the folder that holds it'),
    (['uci', '--sets', 'a,../b'], '--sets names folders inside --data-dir, got ../b'),
    (['uci', '--prior-stddevs', '1,x'], "--prior-stddevs must be distinct positive numbers or "
                                        "eb, got '1,x'"),
    (['uci', '--prior-stddevs', '0'], '--prior-stddevs must be distinct positive numbers'),
    (['uci', '--prior-stddevs', 'eb,EB'], "--prior-stddevs must be distinct positive numbers "
                                          "or eb, got 'eb,EB'"),
    (['mnist', '--select-epochs', '1'], '--select-epochs must be >= 2 (the schedule decays '
                                        'before its last epoch), got 1'),
    (['mnist', '--epochs', '0'], '--epochs must be >= 2'),
    (['mnist', '--threads', '-1'], '--threads must be >= 0, got -1'),
    (['mnist-longer', '--budget-minutes', '0'], '--budget-minutes must be positive'),
    (['mnist-longer'], 'mnist_scale_mixture.json not found: run the mnist experiment first'),
    (['pruning'], 'no --run-dir and no'),
    (['pruning', '--model', 'mnist-scales'], 'mnist_scale_mixture_scales.json: run the '
                                             'mnist-scales experiment first'),
    (['mnist-scales', '--multipliers', '1,ten'], "--multipliers must be comma-separated numbers, "
                                                 "got '1,ten'"),
    (['mnist-scales', '--budget-minutes', '0'], '--budget-minutes must be positive'),
    (['mnist-scales'], 'mnist_scale_mixture.json not found: run the mnist experiment first'),
    (['mnist-scale-adam'], 'mnist_scale_mixture.json not found: run the mnist experiment first'),
    (['mnist-scale-adam', '--budget-minutes', '0'], '--budget-minutes must be positive'),
    (['mnist-scale-adam', '--scale-learning-rates', '1e-3,x'],
     "--scale-learning-rates must be comma-separated numbers, got '1e-3,x'"),
    (['pruning', '--model', 'mnist-scale-adam'], 'mnist_scale_mixture_scale_adam.json: run the '
                                                 'mnist-scale-adam experiment first'),
    (['mnist-mean-init'], 'mnist_scale_mixture.json not found: run the mnist experiment first'),
    (['mnist-mean-init', '--budget-minutes', '0'], '--budget-minutes must be positive'),
    (['mnist-mean-init', '--limits', '0.03,x'],
     "--limits must be comma-separated numbers, got '0.03,x'"),
    (['pruning', '--model', 'mnist-mean-init'], 'mnist_scale_mixture_mean_init.json: run the '
                                                'mnist-mean-init experiment first'),
    (['mnist-refit'], 'mnist_scale_mixture.json not found: run the mnist experiment first'),
    (['mnist-refit', '--prior', 'normal'], 'mnist_normal.json not found'),
    (['mnist-refit', '--budget-minutes', '0'], '--budget-minutes must be positive'),
    (['pruning', '--model', 'mnist-refit'], 'mnist_scale_mixture_refit.json: run the '
                                            'mnist-refit experiment first'),
    (['pruning-retrain'], 'no --run-dir and no'),
    (['pruning-retrain', '--model', 'mnist-refit'], 'mnist_scale_mixture_refit.json: run the '
                                                    'mnist-refit experiment first'),
    (['pruning-retrain', '--fractions', '0.95,x'],
     "--fractions must be comma-separated numbers, got '0.95,x'"),
    (['pruning-retrain', '--budget-minutes', '0'], '--budget-minutes must be positive'),
    (['pruning-retrain', '--fractions', '1.5', '--run-dir', '/nonexistent/run'],
     '--fractions must be distinct fractions in (0, 1), got 1.5'),
    (['pruning-retrain', '--fractions', '0.95,0.95'],
     '--fractions must be distinct fractions in (0, 1), got 0.95, 0.95'),
    (['pruning-retrain', '--fractions', ','],
     '--fractions must be distinct fractions in (0, 1), got none'),
    (['pruning', '--as-record'], '--as-record files a --run-dir run\'s record as the --model '
                                 'record\'s: give --run-dir'),
    (['pruning-retrain', '--run-dir', '/nonexistent/run'],
     '/nonexistent/run has no metrics.json: a finished run is needed'),
    (['report'], 'no records in'),
    (['uci', '--data-dir', '/nonexistent', '--sets', 'yacht'], 'no folder for yacht'),
])
def test_user_errors(tmp_path, capsys, argv, message):
    assert main(['--out', str(tmp_path / 'out')] + argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and err[0].startswith('tfbnn-reproduce: error: ')


def test_mnist_on_a_set_too_small_for_its_validation_split_is_one_line(tmp_path, capsys):
    from tests.training.test_train_job import mnist_fixture
    folder = mnist_fixture(str(tmp_path / 'small'), n_train=40)
    assert main(['--out', str(tmp_path / 'out'), 'mnist', '--data-dir', folder]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == ('tfbnn-reproduce: error: reproduce mnist: %s has 40 training images, '
                       'but the protocol holds out the last 10000 of them for validation '
                       '(50000 / 10000 on MNIST), so it needs more than 10000' % folder)
    assert not os.path.exists(str(tmp_path / 'out' / 'mnist'))


def test_report_renders_the_copied_records_beside_those_already_in_results(tmp_path):
    from tfbnn.internal.jsonio import write_json
    from tfbnn.reproduce import report
    results, out = tmp_path / 'results', tmp_path / 'out'
    (results / 'mnist').mkdir(parents=True)
    (out / 'pruning').mkdir(parents=True)
    write_json(str(results / 'mnist' / 'mnist_scale_mixture.json'), dict(
        prior='scale_mixture', chosen='c', train_seconds_total=3000.0, select_epochs=20,
        candidates=[], metrics=dict(test_error=0.0151, ece=0.0057, test_nll=0.06,
                                    selected_epoch=225, epochs=240.0)))
    write_json(str(out / 'pruning' / 'pruning.json'), dict(rows=[dict(
        fraction=0.0, test_error=1.52, test_error_change=0.0, snr_threshold=-1.0)]))
    doc = tmp_path / 'R.md'
    doc.write_text(''.join('<!-- results:%s -->\nold\n<!-- /results:%s -->\n' % (n, n)
                           for n in report.render_results({})))
    argv = ['--out', str(out), 'report', '--doc', str(doc), '--results-dir', str(results)]
    assert main(argv) == 0
    text = doc.read_text()
    assert '| 1.51% | 0.57% |' in text  # the record that was already there
    assert '| 0% | 1.24% | 1.52% | +0.00 pp |' in text  # the one copied from --out
    assert (results / 'pruning' / 'pruning.json').exists()


def test_report_without_its_doc_is_one_line_and_writes_nothing(tmp_path, capsys):
    from tfbnn.internal.jsonio import write_json
    out, results = tmp_path / 'out', tmp_path / 'results'
    (out / 'pruning').mkdir(parents=True)
    write_json(str(out / 'pruning' / 'pruning.json'), dict(rows=[]))
    argv = ['--out', str(out), 'report', '--doc', str(tmp_path / 'none.md'),
            '--results-dir', str(results)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and '--doc %s: no such file' % (tmp_path / 'none.md') in err[0]
    assert not results.exists()


def test_report_files_a_record_of_another_protocol_only_with_replace(tmp_path, capsys):
    """A small run on other data in --out must not silently replace the
    published record (and its verdicts)."""
    import copy
    import shutil
    from tfbnn.internal.jsonio import read_json, write_json
    from tfbnn.reproduce import report
    out, results = tmp_path / 'out', tmp_path / 'results'
    (out / 'uci').mkdir(parents=True)
    (results / 'uci').mkdir(parents=True)
    committed = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), 'docs', 'results', 'uci', 'uci.json')
    shutil.copyfile(committed, str(results / 'uci' / 'uci.json'))
    published = read_json(committed)
    mine = copy.deepcopy(published)
    mine['protocol'].update(data_dir='../mine', step_budget=1)
    mine['sets'] = {'yacht': mine['sets']['yacht']}
    write_json(str(out / 'uci' / 'uci.json'), mine)
    doc = tmp_path / 'R.md'
    doc.write_text(''.join('<!-- results:%s -->\nold\n<!-- /results:%s -->\n' % (n, n)
                           for n in report.render_results({})))
    argv = ['--out', str(out), 'report', '--doc', str(doc), '--results-dir', str(results)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert ('ran another protocol than the %s it would replace (step_budget 1 vs 24000; sets '
            'yacht vs bostonHousing,concrete,energy,yacht): pass --replace'
            % (results / 'uci' / 'uci.json')) in err[0]
    assert read_json(str(results / 'uci' / 'uci.json')) == published
    assert 'old' in doc.read_text()
    assert main(argv + ['--replace']) == 0
    assert read_json(str(results / 'uci' / 'uci.json'))['protocol']['data_dir'] == '../mine'
    # The same protocol run on another machine (the data elsewhere, other threads) is filed.
    again = copy.deepcopy(published)
    again['protocol'].update(data_dir='/data/uci', threads=0)
    write_json(str(out / 'uci' / 'uci.json'), again)
    shutil.copyfile(committed, str(results / 'uci' / 'uci.json'))
    assert main(argv) == 0
    assert read_json(str(results / 'uci' / 'uci.json'))['protocol']['data_dir'] == '/data/uci'


def test_an_interrupted_experiment_says_how_to_continue(tmp_path, capsys, monkeypatch):
    """The job's own advice (--resume) is not this command's: it resumes by itself."""
    from tfbnn.cli import reproduce
    from tfbnn.training import Interrupted

    def stopped(args, log):
        raise Interrupted(7, '/runs/x/model.ckpt-7')

    monkeypatch.setitem(reproduce._EXPERIMENTS, 'uci', stopped)
    assert main(['--out', str(tmp_path / 'out'), 'uci']) == 130
    err = capsys.readouterr().err.strip()
    assert err == ('tfbnn-reproduce: interrupted at step 7 (saved /runs/x/model.ckpt-7); '
                   'finished runs and their records are kept in %s; run the same command '
                   'again to continue' % (tmp_path / 'out'))


def test_the_uci_command_defaults_are_the_protocol_constants():
    """The CLI spells its defaults out (so --help needs no TensorFlow); they
    must stay the protocol's."""
    from tfbnn.cli.reproduce import build_parser
    from tfbnn.reproduce import uci
    args = build_parser().parse_args(['uci'])
    assert args.sets.split(',') == list(uci.SETS)
    assert (args.select_splits, args.splits, args.step_budget) == (
        uci.SELECT_SPLITS, uci.NUM_SPLITS, uci.STEP_BUDGET)
    assert args.prior_stddevs is None  # the grid as it is


def test_mnist_mean_init_train_only_trains_and_records_nothing(tmp_path):
    from tests.reproduce.test_mnist_scales import _record
    (tmp_path / 'out' / 'mnist').mkdir(parents=True)
    _record(tmp_path / 'out' / 'mnist')
    argv = ['--out', str(tmp_path / 'out'), 'mnist-mean-init', '--limits', '0.5', '--epochs', '3',
            '--train-only', '--threads', '1']
    assert main(argv) == 0
    mnist = tmp_path / 'out' / 'mnist'
    assert (mnist / 'chosen_mu0.5_full' / 'reproduce_done.json').exists()
    assert not (mnist / 'mnist_scale_mixture_mean_init.json').exists()


def test_mnist_refit_refits_the_chosen_prior_only(tmp_path):
    from tests.reproduce.test_mnist_refit import _kept_record
    mnist = tmp_path / 'out' / 'mnist'
    mnist.mkdir(parents=True)
    _kept_record(mnist)
    argv = ['--out', str(tmp_path / 'out'), 'mnist-refit', '--prior', 'scale_mixture',
            '--threads', '1', '--budget-minutes', '5']
    assert main(argv) == 0
    assert read_json(str(mnist / 'chosen_refit' / 'config.json'))['threads'] == 1
    assert (mnist / 'mnist_scale_mixture_refit.json').exists()
    assert not (mnist / 'mnist_normal_refit.json').exists()


@pytest.mark.parametrize('flags,folder,name', [
    ([], 'probes', 'retrain_%s.json'),  # 20 epochs (the default): no length in the name
    (['--rate', 'rewind', '--epochs', '2'], 'probes', 'retrain_rewind_e2_%s.json'),
    (['--schedule', 'iterative', '--rate', 'rewind', '--epochs', '1'], 'probes',
     'retrain_iterative_rewind_e1_%s.json'),
    (['--as-record'], 'pruning', 'pruning_retrain.json'),
])
def test_pruning_retrain_names_its_record_by_schedule_rate_and_length(tmp_path, flags, folder,
                                                                      name):
    """A --run-dir's record is a probe (named after the run too), which
    `report` never files as the table's pruning_retrain record, unless
    --as-record says the run is the one the experiment would have chosen."""
    from tests.reproduce.test_pruning_retrain import _trained
    run_dir, _ = _trained(tmp_path)
    name = name.replace('%s', os.path.basename(run_dir))
    out = tmp_path / 'out'
    argv = ['--out', str(out), 'pruning-retrain', '--run-dir', run_dir, '--fractions', '0.6',
            '--threads', '1'] + flags
    assert main(argv) == 0
    assert [p.name for p in out.glob('*/*.json')] == [name]
    record = read_json(str(out / folder / name))
    assert record['rate'] == ('rewind' if 'rewind' in flags else 'last')


def test_sigterm_between_runs_is_an_interrupt(tmp_path, capsys, monkeypatch):
    """A container's `docker stop` outside the job's loop: the same line as Ctrl-C."""
    import signal
    from tfbnn.cli import reproduce

    def terminated(args, log):
        os.kill(os.getpid(), signal.SIGTERM)
    monkeypatch.setitem(reproduce._EXPERIMENTS, 'uci', terminated)
    before = signal.getsignal(signal.SIGTERM)
    assert main(['--out', str(tmp_path / 'out'), 'uci']) == 130
    assert 'tfbnn-reproduce: interrupted; finished runs and their records are kept' in \
        capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) == before


@pytest.mark.parametrize('content, argv, said', [
    ('{}', ['pruning'], 'is not a complete record (no run_dir, metrics): run the mnist '
                        'experiment again to write it, or move it aside'),
    ('[]', ['pruning-retrain'], 'is not a complete record (not a JSON object)'),
    ('{"run_dir": "r"}', ['mnist-refit', '--data-dir', '.'],
     'is not a complete record (no protocol, chosen, chosen_options): run the mnist '
     'experiment again to write it'),
    ('{}', ['mnist-longer'], 'is not a complete record (no protocol, chosen, chosen_options)'),
], ids=['empty object', 'a list', 'a part', 'longer'])
def test_an_incomplete_mnist_record_is_one_line(tmp_path, capsys, content, argv, said):
    """Valid JSON that is no record of the experiment (written by hand, cut
    by another version): a KeyError or TypeError traceback before."""
    out = tmp_path / 'out'
    (out / 'mnist').mkdir(parents=True)
    (out / 'mnist' / 'mnist_scale_mixture.json').write_text(content)
    assert main(['--out', str(out)] + argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and said in err[0], err


def test_report_refuses_a_record_that_is_no_json_object(tmp_path, capsys):
    out = tmp_path / 'out'
    (out / 'pruning').mkdir(parents=True)
    (out / 'pruning' / 'pruning.json').write_text('[]')
    (tmp_path / 'R.md').write_text('# results\n')
    assert main(['--out', str(out), 'report', '--doc', str(tmp_path / 'R.md'), '--results-dir',
                 str(tmp_path / 'results')]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and ('%s is not a record (not a JSON object)'
                              % (out / 'pruning' / 'pruning.json')) in err[0], err


@pytest.mark.parametrize('argv, budgets', [
    (['--prior', 'normal', '--budget-minutes', '5'], {'normal': 5.0}),
    (['--prior', 'normal', '--budget-minutes', '5', '--gaussian-budget-minutes', '7'],
     {'normal': 7.0}),
    (['--budget-minutes', '5'], {'scale_mixture': 5.0, 'normal': 60.0}),
], ids=['normal takes --budget-minutes', 'its own flag first', 'both'])
def test_the_gaussian_run_s_budget(tmp_path, monkeypatch, argv, budgets):
    """--prior normal --budget-minutes 5 ran the Gaussian model for 60 minutes."""
    from tfbnn import reproduce
    got = {}
    monkeypatch.setattr(reproduce, 'reproduce_mnist',
                        lambda data_dir, out, prior, budget, *rest: got.update({prior: budget}))
    assert main(['--out', str(tmp_path / 'out'), 'mnist'] + argv) == 0
    assert got == budgets


@pytest.mark.parametrize('argv,what', [(['mnist'], 'the MNIST IDX files'),
                                       (['mnist-ood'], 'the MNIST IDX files'),
                                       (['uci'], 'one folder per UCI set')])
def test_a_default_data_dir_absent_here_says_to_give_one(tmp_path, capsys, monkeypatch, argv,
                                                         what):
    monkeypatch.chdir(tmp_path)  # no ../shared beside it, as on a user's clone
    assert main(['--out', str(tmp_path / 'out')] + argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ['tfbnn-reproduce: error: no folder ../shared/data/%s, the default --data-dir '
                   '(the layout of the machines these results were made on): give --data-dir '
                   'FOLDER with %s' % (argv[0].split('-')[0], what)]
