"""tfbnn/internal/file_lock.py: one holder at a time, across processes."""
import multiprocessing
import os
import time

from tfbnn.internal.file_lock import exclusive_lock


def _hold(path, seconds, started):
    with exclusive_lock(path):
        started.set()
        time.sleep(seconds)


def test_a_second_process_waits_until_the_holder_leaves(tmp_path):
    path = str(tmp_path / 'deep' / 'x.lock')  # its folder is made
    started = multiprocessing.get_context('spawn').Event()
    holder = multiprocessing.get_context('spawn').Process(target=_hold,
                                                           args=(path, 1.5, started))
    holder.start()
    assert started.wait(60)
    begin = time.time()
    with exclusive_lock(path):
        waited = time.time() - begin
    holder.join(60)
    assert waited > 0.5 and holder.exitcode == 0 and os.path.exists(path)


def test_a_killed_holder_leaves_the_lock_free(tmp_path):
    path = str(tmp_path / 'x.lock')
    started = multiprocessing.get_context('spawn').Event()
    holder = multiprocessing.get_context('spawn').Process(target=_hold,
                                                           args=(path, 600, started))
    holder.start()
    assert started.wait(60)
    holder.kill()
    holder.join(60)
    begin = time.time()
    with exclusive_lock(path):
        assert time.time() - begin < 5
