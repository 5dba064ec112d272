"""The published numbers the reproductions are compared with.

Blundell, Cornebise, Kavukcuoglu, Wierstra (2015). Weight Uncertainty in
Neural Networks. ICML. Tables 1 and 2 (MNIST test error, %).
Hernandez-Lobato, Adams (2015). Probabilistic Backpropagation for Scalable
Learning of Bayesian Neural Networks. ICML. Tables (VI and PBP columns).
Gal, Ghahramani (2016). Dropout as a Bayesian Approximation. ICML. Table 1
(MC dropout column). UCI: test RMSE and test log-likelihood, mean and
standard error over 20 random 90/10 splits.
"""

__all__ = ['BLUNDELL_TABLE1', 'BLUNDELL_TABLE2', 'UCI_TABLE', 'UCI_METHODS', 'UCI_STRONG']

# Test error (%) of a 784-W-W-10 network, by method and width W.
BLUNDELL_TABLE1 = {
    'Bayes by Backprop, scale mixture prior': {400: 1.36, 800: 1.34, 1200: 1.32},
    'Bayes by Backprop, Gaussian prior': {400: 1.82, 800: 1.99, 1200: 2.04},
    'SGD with dropout': {400: 1.51, 800: 1.33, 1200: 1.36},
}

# Test error (%) of the 1200-unit scale-mixture network after removing the
# given fraction of weights by signal-to-noise ratio.
BLUNDELL_TABLE2 = {0.0: 1.24, 0.5: 1.24, 0.75: 1.24, 0.95: 1.29, 0.98: 1.39}

UCI_METHODS = ('VI', 'PBP', 'MC dropout')

# set -> method -> (rmse, rmse_se, ll, ll_se)
UCI_TABLE = {
    'bostonHousing': {'VI': (4.32, 0.29, -2.90, 0.07), 'PBP': (3.01, 0.18, -2.57, 0.09),
                      'MC dropout': (2.97, 0.85, -2.46, 0.25)},
    'concrete': {'VI': (7.13, 0.12, -3.39, 0.02), 'PBP': (5.67, 0.09, -3.16, 0.02),
                 'MC dropout': (5.23, 0.53, -3.04, 0.09)},
    'energy': {'VI': (2.65, 0.08, -2.39, 0.03), 'PBP': (1.80, 0.05, -2.04, 0.02),
               'MC dropout': (1.66, 0.19, -1.99, 0.09)},
    'yacht': {'VI': (6.89, 0.67, -3.43, 0.16), 'PBP': (1.02, 0.05, -1.63, 0.02),
              'MC dropout': (1.11, 0.38, -1.55, 0.12)},
}

# Test log-likelihood of stronger baselines, 20 splits: MC dropout tuned
# (Gal's DropoutUncertaintyExps repository, README: 10x the epochs and a
# grid over the noise precision) and deep ensembles (Lakshminarayanan,
# Pritzel, Blundell 2017, Table 1).
UCI_STRONG = {
    'MC dropout (tuned)': {'bostonHousing': -2.40, 'concrete': -2.93, 'energy': -1.21,
                           'yacht': -1.25},
    'deep ensembles': {'bostonHousing': -2.41, 'concrete': -3.06, 'energy': -1.38,
                       'yacht': -1.18},
}
