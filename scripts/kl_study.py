#!/usr/bin/env python
"""Regenerate docs/kl-weighting.md's numbers and figures: `scripts/kl_study.py --help`
(the logic is tfbnn.cli.kl_study; installed as `tfbnn-kl-study`).

  scripts/run.sh python scripts/kl_study.py            # full budget (minutes), updates docs/
  scripts/run.sh python scripts/kl_study.py --quick    # seconds; prints, leaves docs/ alone
"""
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
sys.path.insert(0, ROOT)
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from tfbnn.cli.kl_study import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main(docs=os.path.join(ROOT, 'docs')))  # this checkout's docs, from any folder
