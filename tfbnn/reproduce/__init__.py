"""Reproductions of published results with the training job (docs/RESULTS.md).

  reproduce_mnist      Blundell et al. (2015) Table 1, 2x400 MNIST
  extend_mnist         the same chosen run, continued to a longer budget
  reproduce_mnist_scales  the same choice with the scales' SGD steps x M (M on validation)
  reproduce_pruning    Blundell et al. (2015) Table 2, pruning by |mu| / sigma
  reproduce_uci        the UCI regression benchmark (Hernandez-Lobato & Adams 2015)
  render_results       docs/RESULTS.md's tables from the JSON records
  update_results       ... written into the file
"""
from tfbnn.reproduce.mnist import extend_mnist, reproduce_mnist
from tfbnn.reproduce.mnist_scales import reproduce_mnist_scales
from tfbnn.reproduce.pruning import reproduce_pruning
from tfbnn.reproduce.report import render_results, update_results
from tfbnn.reproduce.uci import reproduce_uci

__all__ = ['reproduce_mnist', 'extend_mnist', 'reproduce_mnist_scales', 'reproduce_pruning',
           'reproduce_uci',
           'render_results', 'update_results']
