"""Reproduce published results with the training job; see docs/RESULTS.md.

  python scripts/reproduce.py mnist   --data-dir ../shared/data/mnist
  python scripts/reproduce.py pruning
  python scripts/reproduce.py uci     --data-dir ../shared/data/uci
  python scripts/reproduce.py report
"""
import sys

from tfbnn.cli.reproduce import main

if __name__ == '__main__':
    sys.exit(main())
