"""tfbnn.run_setup: what a RunConfig builds (the model spec without a dataset, the optimiser)."""
import pytest

from tfbnn import priors, run_setup
from tfbnn.errors import ConfigError
from tfbnn.run_config import RunConfig


def test_the_model_spec_needs_only_the_task_and_the_classes():
    config = RunConfig(hidden=[8, 4], estimator='reparameterization', prior='scale_mixture',
                       posterior_init_scale=[0.01, 0.02], norm='group')
    spec = run_setup.model_spec(config, 'classification', 10)
    assert spec.hidden == (8, 4) and spec.output_units == 10 and spec.task == 'classification'
    assert spec.estimator == 'reparameterization' and spec.norm == 'group'
    assert spec.posterior_init_scale == (0.01, 0.02)
    assert isinstance(spec.prior, priors.ScaleMixturePrior)
    regression = run_setup.model_spec(RunConfig(), 'regression')
    assert regression.output_units == 1 and regression.task == 'regression'


@pytest.mark.parametrize('task,num_classes,model,error,message', [
    ('ranking', 3, 'mlp', ValueError,
     "model_spec: task must be one of classification, regression, got 'ranking'"),
    ('classification', None, 'mlp', ValueError, 'model_spec: a classification task needs '
                                                'num_classes'),
    ('regression', None, 'lenet5', ConfigError,
     "dataset 'digits' is a regression task: only --model mlp applies, got 'lenet5'"),
])
def test_model_spec_errors(task, num_classes, model, error, message):
    with pytest.raises(error, match='^%s$' % message.replace('(', r'\(').replace(')', r'\)')):
        run_setup.model_spec(RunConfig(model=model), task, num_classes)


def test_a_schedule_needs_the_step():
    config = RunConfig(lr_schedule='cosine')
    with pytest.raises(ValueError, match='--lr-schedule cosine needs the step and the steps '
                                         'per epoch'):
        run_setup.learning_rate(config)
    assert run_setup.learning_rate(RunConfig(learning_rate=0.1)) == 0.1
