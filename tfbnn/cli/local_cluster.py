"""tfbnn-local-cluster: run the training job on a local cluster, 1 ps and W workers on 127.0.0.1.

Everything after `--` goes to every task's tfbnn-train (`python -m
tfbnn.cli.train`). Each output line is prefixed with its task's name; every
task is stopped when the job ends or fails (the logic is
tfbnn.training.launch).

  tfbnn-local-cluster --workers 2 --sync-replicas -- --epochs 5 --output-dir runs/dist

Exit status: the chief's (0 done); 2 a user error (one line on stderr); 124
the --timeout passed; 130 interrupted.
"""
import sys

from tfbnn.cli.help_format import DefaultsHelpFormatter, OneLineParser

__all__ = ['build_parser', 'main']


def build_parser():
    p = OneLineParser(
        prog='tfbnn-local-cluster', description=__doc__.split('\n\n')[0],
        usage='%(prog)s [options] [-- TRAINING FLAGS FOR EVERY TASK]',
        formatter_class=DefaultsHelpFormatter)
    p.add_argument('--workers', type=int, default=2, help='W, the number of workers')
    p.add_argument('--ps', type=int, default=1, help='the number of parameter servers')
    p.add_argument('--sync-replicas', action='store_true',
                   help='synchronous training (SyncReplicasOptimizer)')
    p.add_argument('--max-restarts', type=int, default=3,
                   help='how often a dying non-chief worker is started again')
    p.add_argument('--timeout', type=float, default=None,
                   help='stop every task after this many seconds (exit status 124)')
    return p


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    train_args = []
    if '--' in argv:
        i = argv.index('--')
        argv, train_args = argv[:i], argv[i + 1:]
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.workers < 1 or args.ps < 1:
        parser.error('--workers and --ps must be at least 1, got %d and %d'
                     % (args.workers, args.ps))
    if args.max_restarts < 0:
        parser.error('--max-restarts must be >= 0, got %d' % args.max_restarts)
    if args.timeout is not None and args.timeout <= 0:
        parser.error('--timeout must be positive seconds, got %g' % args.timeout)
    from tfbnn.training.launch import LocalCluster
    return LocalCluster(args.workers, train_args, sync=args.sync_replicas, num_ps=args.ps,
                        max_restarts=args.max_restarts).run(timeout=args.timeout)


if __name__ == '__main__':
    sys.exit(main())
