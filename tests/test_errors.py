"""The one line of an error that says what went wrong (`tfbnn.errors.cause_line`)."""
import tensorflow.compat.v1 as tf

from tfbnn.errors import cause_line

NO_SPACE = '/runs/a/model.ckpt-0.data-00000-of-00001.tempstate12; No space left on device'


def test_tf1_puts_the_cause_first():
    err = tf.errors.ResourceExhaustedError(None, None, NO_SPACE + '\n\t [[{{node save/SaveV2}}]]')
    assert cause_line(err) == NO_SPACE


def test_tf2s_preamble_is_skipped():
    err = tf.errors.DataLossError(None, None, 'Graph execution error:\n\nDetected at node '
                                  "'save/RestoreV2' defined at (most recent call last):\n"
                                  '  File "train.py", line 3\nNode: \'save/RestoreV2\'\n'
                                  'Checksum does not match: stored 1, computed 2.')
    assert cause_line(err) == 'Checksum does not match: stored 1, computed 2.'


def test_a_remote_tasks_name_is_not_the_cause():
    # A cluster chief's save runs on its worker device: TensorFlow names the task first.
    err = tf.errors.ResourceExhaustedError(None, None, 'From /job:worker/replica:0/task:0:\n'
                                           + NO_SPACE)
    assert cause_line(err) == NO_SPACE


def test_an_empty_message_is_the_errors_type():
    assert cause_line(OSError()) == 'OSError'
    assert cause_line(ValueError('only line')) == 'only line'
