"""tfbnn/internal/jsonio.py: the records' JSON layout and its atomic write."""
import os

import pytest

from tfbnn.internal.jsonio import dumps, read_json, write_json


def test_lists_of_numbers_stay_on_one_line():
    text = dumps(dict(b=[1, 2.5, None], a=dict(c=[[1, 2], [3]], d={}, e=[])))
    assert text == ('{\n  "a": {\n    "c": [\n      [1, 2],\n      [3]\n    ],\n'
                    '    "d": {},\n    "e": []\n  },\n  "b": [1, 2.5, null]\n}')


def test_write_round_trips_and_leaves_no_file_for_what_json_cannot_hold(tmp_path):
    path = str(tmp_path / 'r.json')
    obj = {'curve': [0.5, None, 1e-30], 'rows': [{'k': 'v'}], 'nan': float('nan'), 1: True}
    write_json(path, obj)
    back = read_json(path)
    assert back['curve'] == [0.5, None, 1e-30] and back['rows'] == [{'k': 'v'}]
    assert back['1'] is True and back['nan'] != back['nan']
    write_json(path, {'ok': 1})
    with pytest.raises(TypeError):
        write_json(path, {'bad': object()})
    assert read_json(path) == {'ok': 1} and not os.path.exists(path + '.tmp')
