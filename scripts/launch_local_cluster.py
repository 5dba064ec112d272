#!/usr/bin/env python
"""Run the training job on a local cluster: 1 ps and W workers on 127.0.0.1.

  scripts/launch_local_cluster.py --workers 2 --sync-replicas -- --epochs 5 --output-dir runs/dist

Everything after `--` goes to every task's scripts/train.py. Each output line
is prefixed with its task's name; every task is stopped when the job ends or
fails (the logic is tfbnn.training.launch).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

from tfbnn.training.launch import LocalCluster  # noqa: E402


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    train_args = []
    if '--' in argv:
        i = argv.index('--')
        argv, train_args = argv[:i], argv[i + 1:]
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--workers', type=int, default=2, help='W, the number of workers')
    p.add_argument('--ps', type=int, default=1, help='the number of parameter servers')
    p.add_argument('--sync-replicas', action='store_true',
                   help='synchronous training (SyncReplicasOptimizer)')
    p.add_argument('--max-restarts', type=int, default=3,
                   help='how often a dying non-chief worker is started again')
    p.add_argument('--timeout', type=float, default=None,
                   help='stop every task after this many seconds (exit status 124)')
    args = p.parse_args(argv)
    if args.workers < 1 or args.ps < 1:
        p.error('--workers and --ps must be at least 1')
    return LocalCluster(args.workers, train_args, sync=args.sync_replicas, num_ps=args.ps,
                        max_restarts=args.max_restarts).run(timeout=args.timeout)


if __name__ == '__main__':
    sys.exit(main())
