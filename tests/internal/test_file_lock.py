"""tfbnn/internal/file_lock.py: one holder at a time, across processes."""
import subprocess
import sys
import time

from tfbnn.internal.file_lock import exclusive_lock

# Another process holding the lock as exclusive_lock takes it (flock on the
# file), without importing tfbnn: it says 'held', then keeps the lock for
# argv[2] seconds.
_HOLDER = ('import fcntl, sys, time\n'
           'f = open(sys.argv[1], "w")\n'
           'fcntl.flock(f, fcntl.LOCK_EX)\n'
           'print("held", flush=True)\n'
           'time.sleep(float(sys.argv[2]))\n')


def _holder(path, seconds):
    process = subprocess.Popen([sys.executable, '-c', _HOLDER, path, str(seconds)],
                               stdout=subprocess.PIPE, universal_newlines=True)
    assert process.stdout.readline().strip() == 'held'
    return process


def test_a_second_process_waits_until_the_holder_leaves(tmp_path):
    path = str(tmp_path / 'deep' / 'x.lock')
    with exclusive_lock(path):  # its folder is made
        pass
    holder = _holder(path, 1.5)
    begin = time.time()
    with exclusive_lock(path):
        waited = time.time() - begin  # the holder keeps it 1.5 s after it said 'held'
    assert waited > 0.5 and holder.wait(60) == 0


def test_a_killed_holder_leaves_the_lock_free(tmp_path):
    path = str(tmp_path / 'x.lock')
    holder = _holder(path, 600)
    holder.kill()
    holder.wait(60)
    begin = time.time()
    with exclusive_lock(path):
        assert time.time() - begin < 5
