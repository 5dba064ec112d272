"""Reproductions of published results with the training job.

  reproduce_mnist      Blundell et al. (2015) Table 1, 2x400 MNIST
  reproduce_pruning    Blundell et al. (2015) Table 2, pruning by |mu| / sigma
  reproduce_uci        the UCI regression benchmark (Hernandez-Lobato & Adams 2015)
  render_results       the tables of docs/RESULTS.md from the JSON records
"""
from tfbnn.reproduce.mnist import reproduce_mnist
from tfbnn.reproduce.uci import reproduce_uci

__all__ = ['reproduce_mnist', 'reproduce_uci']
