"""Reproduce published results with the training job; see docs/RESULTS.md.

  python scripts/reproduce.py mnist   --data-dir ../shared/data/mnist
  python scripts/reproduce.py pruning
  python scripts/reproduce.py uci     --data-dir ../shared/data/uci
  python scripts/reproduce.py report
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '1')

from tfbnn.cli.reproduce import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
