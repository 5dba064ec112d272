"""tfbnn.reproduce.filing: what makes a record another protocol than the published one."""
import json
import os

from tfbnn.reproduce import filing

RESULTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'docs', 'results')


def _published(name):
    with open(os.path.join(RESULTS, name)) as f:
        return json.load(f)


def test_a_smoke_selection_of_the_same_options_is_another_protocol():
    """The same `protocol` options, but a 2-epoch selection among fewer
    candidates on a small budget: its verdicts are not the published ones."""
    published = _published('mnist/mnist_scale_mixture.json')
    mine = dict(published, select_epochs=2, budget_minutes=1.0,
                candidates=published['candidates'][:1])
    assert filing.protocol_differences(mine, published) == [
        'select_epochs 2 vs 20', 'budget_minutes 1.0 vs 60.0',
        'candidates %s vs %s' % (published['candidates'][0]['name'],
                                 ','.join(c['name'] for c in published['candidates']))]
    assert filing.protocol_differences(dict(published), published) == []


def test_pruning_records_compare_the_pruned_runs_options_and_data():
    run = dict(epochs=240, learning_rate=0.1, data_dir='../shared/data/mnist', threads=1,
               max_seconds=3600, resume=True)
    protocol = filing.run_protocol(run)
    assert protocol == dict(epochs=240, learning_rate=0.1)  # not the machine's, not resuming's
    old = dict(experiment='pruning', which='best', protocol=protocol, data_sha256='a')
    smoke = dict(old, protocol=dict(protocol, epochs=2))
    assert filing.protocol_differences(smoke, old) == ['epochs 2 vs 240']
    assert filing.protocol_differences(dict(old, data_sha256='b'), old) == [
        'data_sha256 "b" vs "a"']
    assert filing.protocol_differences(dict(old, which='latest'), old) == [
        'which "latest" vs "best"']
    # Data of a record that does not say is not compared; a record from before
    # pruning records kept their run's options is another protocol until replaced.
    assert filing.protocol_differences(old, dict(old, data_sha256=None)) == [
        'data_sha256 "a" vs null']
    unsaid = dict(old)
    del unsaid['data_sha256']
    assert filing.protocol_differences(old, unsaid) == []
    before = dict(old)
    del before['protocol']
    assert filing.protocol_differences(old, before) == ['protocol recorded vs none']


def test_option_differences_lists_keys_in_order_and_skips_the_ignored():
    new, old = dict(a=1, b=[1, 2], c='x', d=None), dict(a=2, b=[1, 2], c='y')
    assert filing.option_differences(new, old, ['c', 'a', 'b', 'd']) == ['c "x" vs "y"',
                                                                          'a 1 vs 2']
    assert filing.option_differences(new, old, ['a', 'c', 'e'], ignored={'c'}) == ['a 1 vs 2']
    assert filing.option_differences(dict(e=0), {}, ['e']) == ['e 0 vs null']
