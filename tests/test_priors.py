"""tfbnn.priors against closed forms, numerical integration and numpy."""
import math

import numpy as np
import pytest
import scipy.integrate
import scipy.stats
import tensorflow.compat.v1 as tf

from tfbnn import priors


def numpy_normal_kl(mu, s, m, sigma):
    return np.sum(np.log(sigma / s) + (s ** 2 + (mu - m) ** 2) / (2 * sigma ** 2) - 0.5)


@pytest.mark.parametrize('stddev,mean', [(1.0, 0.0), (0.1, 0.0), (2.5, -0.3)])
def test_normal_kl_matches_formula(sess, stddev, mean):
    rng = np.random.RandomState(0)
    mu = rng.randn(4, 5)
    s = rng.uniform(0.01, 2.0, size=(4, 5))
    kl = priors.normal(stddev, mean).kl_divergence(tf.constant(mu), tf.constant(s))
    assert kl.shape.ndims == 0
    np.testing.assert_allclose(sess.run(kl), numpy_normal_kl(mu, s, mean, stddev), rtol=1e-12)


def test_normal_kl_is_zero_at_the_prior(sess):
    kl = priors.normal(0.5).kl_divergence(tf.zeros([3], tf.float64), tf.constant([0.5] * 3, tf.float64))
    assert abs(sess.run(kl)) < 1e-12


def test_normal_log_prob(sess):
    x = np.linspace(-3, 3, 7)
    lp = sess.run(priors.normal(0.7, 0.2).log_prob(tf.constant(x)))
    np.testing.assert_allclose(lp, scipy.stats.norm(0.2, 0.7).logpdf(x), rtol=1e-12)


def mixture_logpdf(w, pi, s1, s2):
    return np.logaddexp(np.log(pi) + scipy.stats.norm(0, s1).logpdf(w),
                        np.log1p(-pi) + scipy.stats.norm(0, s2).logpdf(w))


def test_mixture_log_prob_matches_numpy_and_stays_finite_in_the_tails(sess):
    prior = priors.scale_mixture(0.25, math.exp(-1), math.exp(-7))
    x = np.array([0.0, 1e-4, 0.3, -2.0, 40.0, -1e3])
    lp = sess.run(prior.log_prob(tf.constant(x)))
    np.testing.assert_allclose(lp, mixture_logpdf(x, 0.25, math.exp(-1), math.exp(-7)), rtol=1e-10)
    # In float32 both component densities underflow at w = 30, a naive
    # log(pi p1 + (1 - pi) p2) would be -inf; the log-sum-exp is not.
    lp32 = sess.run(prior.log_prob(tf.constant([30.0, -500.0], tf.float32)))
    assert np.all(np.isfinite(lp32))
    np.testing.assert_allclose(lp32, mixture_logpdf(np.array([30.0, -500.0]), 0.25,
                                                    math.exp(-1), math.exp(-7)), rtol=1e-5)


def test_mixture_monte_carlo_kl_matches_numerical_integration(sess):
    pi, s1, s2 = 0.5, 1.0, math.exp(-6)
    mu = np.array([0.0, 0.05, -0.4])
    s = np.array([0.01, 0.002, 0.3])
    exact = 0.0
    for m, sd in zip(mu, s):
        q = scipy.stats.norm(m, sd)

        def integrand(w, q=q):
            return q.pdf(w) * (q.logpdf(w) - mixture_logpdf(w, pi, s1, s2))
        val, _ = scipy.integrate.quad(integrand, m - 12 * sd, m + 12 * sd, points=[0.0],
                                      limit=400, epsabs=1e-12)
        exact += val
    num = 200000
    loc, scale = tf.constant(mu), tf.constant(s)
    samples = loc + scale * tf.random.normal([num, 3], dtype=tf.float64)
    prior = priors.scale_mixture(pi, s1, s2)
    per_draw = tf.reduce_sum(
        -0.5 * tf.square((samples - loc) / scale) - tf.log(scale) - 0.5 * math.log(2 * math.pi)
        - prior.log_prob(samples), axis=1)
    kl, draws = sess.run([prior.kl_divergence(loc, scale, samples), per_draw])
    stderr = draws.std() / math.sqrt(num)
    # Unbiased estimator: within 6 standard errors of the integral.
    assert abs(kl - exact) < 6 * stderr, (kl, exact, stderr)
    assert abs(kl - draws.mean()) < 1e-9


def test_mixture_kl_needs_samples():
    with pytest.raises(ValueError, match='needs posterior samples'):
        priors.scale_mixture().kl_divergence(tf.zeros([2]), tf.ones([2]))


@pytest.mark.parametrize('factory,kwargs,match', [
    (priors.normal, dict(stddev=0.0), 'normal prior: stddev must be a positive finite number'),
    (priors.normal, dict(stddev=-1.0), 'stddev must be a positive'),
    (priors.normal, dict(stddev=float('inf')), 'stddev must be a positive finite'),
    (priors.normal, dict(mean=float('nan')), 'mean must be a finite number'),
    (priors.scale_mixture, dict(pi=0.0), r'pi must be in \(0, 1\), got 0.0'),
    (priors.scale_mixture, dict(pi=1.5), r'pi must be in \(0, 1\)'),
    (priors.scale_mixture, dict(sigma1=0.0), 'sigma1 must be a positive'),
    (priors.scale_mixture, dict(sigma2=-2.0), 'sigma2 must be a positive'),
    (priors.scale_mixture, dict(sigma1='1'), 'sigma1 must be a positive'),
])
def test_invalid_prior_parameters(factory, kwargs, match):
    with pytest.raises(ValueError, match=match):
        factory(**kwargs)


def test_empirical_bayes_kl_is_the_normal_kl_at_the_fitted_stddev(sess):
    rng = np.random.RandomState(1)
    mu = rng.randn(6, 3) * 0.4
    s = rng.uniform(0.05, 0.5, size=(6, 3))
    prior = priors.empirical_bayes_normal()
    loc, scale = tf.constant(mu), tf.constant(s)
    kl, fitted = sess.run([prior.kl_divergence(loc, scale), prior.fitted_stddev(loc, scale)])
    assert fitted == pytest.approx(np.sqrt(np.mean(mu ** 2 + s ** 2)), rel=1e-12)
    np.testing.assert_allclose(kl, numpy_normal_kl(mu, s, 0.0, fitted), rtol=1e-12)
    # ... which is the smallest KL over all N(0, sigma^2) priors.
    grid = fitted * np.exp(np.linspace(-0.5, 0.5, 101))
    assert kl <= min(numpy_normal_kl(mu, s, 0.0, g) for g in grid) + 1e-12


def test_empirical_bayes_gradient_is_the_fixed_priors_at_the_fitted_stddev(sess):
    # d KL(s*) / d mu_j = mu_j / s*^2 and d / d sigma_j = -1 / sigma_j + sigma_j / s*^2:
    # the fixed prior's gradient, since d KL / d s = 0 at s*.
    rng = np.random.RandomState(2)
    mu, s = rng.randn(5), rng.uniform(0.1, 1.0, size=5)
    loc, scale = tf.constant(mu), tf.constant(s)
    d_mu, d_s = sess.run(tf.gradients(priors.empirical_bayes_normal().kl_divergence(
        loc, scale), [loc, scale]))
    s2 = np.mean(mu ** 2 + s ** 2)
    np.testing.assert_allclose(d_mu, mu / s2, rtol=1e-10)
    np.testing.assert_allclose(d_s, -1.0 / s + s / s2, rtol=1e-10)


def test_empirical_bayes_kl_is_zero_only_for_a_posterior_it_can_fit(sess):
    prior = priors.empirical_bayes_normal()
    same = prior.kl_divergence(tf.zeros([4], tf.float64), tf.constant([0.3] * 4, tf.float64))
    spread = prior.kl_divergence(tf.zeros([2], tf.float64), tf.constant([0.1, 1.0], tf.float64))
    one = prior.kl_divergence(tf.constant([2.0], tf.float64), tf.constant([0.5], tf.float64))
    same, spread, one = sess.run([same, spread, one])
    assert abs(same) < 1e-12
    # n / 2 log mean(sigma^2) - sum log sigma = log(0.505) - log(0.1): Jensen's gap.
    assert spread == pytest.approx(math.log(0.505) - math.log(0.1), rel=1e-12)
    # A single weight: 0.5 log(1 + mu^2 / sigma^2).
    assert one == pytest.approx(0.5 * math.log(1.0 + 16.0), rel=1e-12)
    with pytest.raises(ValueError, match='empirical_bayes_normal prior: it has no density'):
        prior.log_prob(tf.zeros([2]))
