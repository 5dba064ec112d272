#!/usr/bin/env python
"""Run the training job on a local cluster: `scripts/launch_local_cluster.py --help`
(the logic is tfbnn.cli.local_cluster; installed as `tfbnn-local-cluster`).

  scripts/launch_local_cluster.py --workers 2 --sync-replicas -- --epochs 5 --output-dir runs/dist
"""
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
sys.path.insert(0, ROOT)
# The tasks run `python -m tfbnn.cli.train`: they import this checkout too.
os.environ['PYTHONPATH'] = os.pathsep.join(filter(None, [ROOT, os.environ.get('PYTHONPATH')]))

from tfbnn.cli.local_cluster import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
