#!/usr/bin/env python
"""Export a training run: `scripts/export.py --help` (the logic is tfbnn.export)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
# TensorFlow's C++ INFO lines (CPU features, XLA service); warnings and errors still print.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '1')

from tfbnn.cli.export import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
