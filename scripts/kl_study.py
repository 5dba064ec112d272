#!/usr/bin/env python
"""Regenerates every number and figure of docs/kl-weighting.md.

  scripts/run.sh python scripts/kl_study.py            # full budget (minutes), updates docs/
  scripts/run.sh python scripts/kl_study.py --quick    # seconds; prints, leaves docs/ alone
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
sys.path.insert(0, ROOT)
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from tfbnn import kl_study  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='tiny budget for tests; numbers are not meaningful')
    parser.add_argument('--work-dir', default=None, help='where the runs go (default: a temp dir)')
    parser.add_argument('--only', default=','.join(kl_study.EXPERIMENTS),
                        help='comma-separated subset of %s' % ', '.join(kl_study.EXPERIMENTS))
    parser.add_argument('--docs', default=os.path.join(ROOT, 'docs'),
                        help='folder of kl-weighting.md and kl_study/ (updated unless --quick)')
    parser.add_argument('--update-docs', action='store_true', help='update docs even with --quick')
    parser.add_argument('--from-results', default=None,
                        help='skip the runs: render (and update docs from) a saved results.json')
    args = parser.parse_args(argv)
    from tfbnn._compat import script_setup
    script_setup()
    chosen = [e for e in args.only.split(',') if e]
    unknown = sorted(set(chosen) - set(kl_study.EXPERIMENTS))
    if unknown:
        parser.error('unknown experiment(s) %s; choose from %s'
                     % (', '.join(unknown), ', '.join(kl_study.EXPERIMENTS)))
    if args.from_results:
        with open(args.from_results) as f:
            results = json.load(f)
        work = os.path.dirname(os.path.abspath(args.from_results))
    else:
        work = args.work_dir or tempfile.mkdtemp(prefix='tfbnn_kl_study_')
        print('kl_study: runs in %s (%s budget)' % (work, 'quick' if args.quick else 'full'),
              flush=True)
        results = kl_study.run_study(work, quick=args.quick, experiments=chosen,
                                     log=lambda line: print(line, flush=True))
    tables = kl_study.render_tables(results)
    for name, table in tables.items():
        print('\n## %s\n%s' % (name, table))
    if args.update_docs or not args.quick:
        folder = os.path.join(args.docs, 'kl_study')
        os.makedirs(folder, exist_ok=True)
        target = os.path.join(folder, 'results.json')
        if os.path.abspath(os.path.join(work, 'results.json')) != os.path.abspath(target):
            shutil.copy(os.path.join(work, 'results.json'), target)
        for path in kl_study.plot_study(results, folder):
            print('wrote %s' % path)
        kl_study.update_guide(os.path.join(args.docs, 'kl-weighting.md'), tables)
        print('updated %s' % os.path.join(args.docs, 'kl-weighting.md'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
