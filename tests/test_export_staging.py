"""A failed export never leaves files of two exports (`tfbnn.internal.export_staging`)."""
import errno
import json
import os

import pytest
import tensorflow.compat.v1 as tf

from tfbnn import export_formats
from tfbnn.cli.export import main as export_main
from tfbnn.internal import export_staging
from tests.test_export import trained  # noqa: F401  (the module's trained run)


def full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def contents(folder):
    """name -> bytes of every file under `folder`."""
    found = {}
    for d, _, files in os.walk(str(folder)):
        for f in files:
            with open(os.path.join(d, f), 'rb') as handle:
                found[os.path.relpath(os.path.join(d, f), str(folder))] = handle.read()
    return found


@pytest.mark.parametrize('earlier', [True, False])
def test_a_full_disk_in_a_re_export_leaves_one_export(
        trained, tmp_path, capsys, monkeypatch, earlier):  # noqa: F811
    out = tmp_path / 'exp'
    if earlier:
        assert export_main([trained, '--mode', 'mean', '--output-dir', str(out)]) == 0
    before = contents(out) if earlier else None
    capsys.readouterr()
    # The new export differs (pruned) and fails after its .pb, at the SavedModel.
    monkeypatch.setattr(tf.saved_model.builder.SavedModelBuilder, 'save', full_disk)
    assert export_main([trained, '--mode', 'mean', '--prune-snr', '0.5',
                        '--output-dir', str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'No space left on device' in err, err
    if earlier:
        assert contents(out) == before  # the old export byte for byte
        assert sorted(os.listdir(str(out))) == sorted(
            ['export_mean.json', 'frozen_mean.pb', 'saved_model_mean'])
        assert ('the previous export there is intact (frozen_mean.pb, saved_model_mean, '
                'export_mean.json)') in err
    else:  # nothing: the folder made for this export went with it
        assert not out.exists()
        assert 'no file of this export was left there' in err


def _first_export(trained, tmp_path, capsys):  # noqa: F811
    """(folder, its contents) of a mean export of `trained`, its lines read."""
    out = tmp_path / 'exp'
    assert export_main([trained, '--mode', 'mean', '--output-dir', str(out)]) == 0
    capsys.readouterr()
    return out, contents(out)


def test_ctrl_c_in_a_re_export_is_one_line_and_leaves_the_old_export(
        trained, tmp_path, capsys, monkeypatch):  # noqa: F811
    out, before = _first_export(trained, tmp_path, capsys)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt()
    monkeypatch.setattr(tf.saved_model.builder.SavedModelBuilder, 'save', interrupted)
    assert export_main([trained, '--mode', 'mean', '--output-dir', str(out)]) == 130
    assert capsys.readouterr().err == (
        'tfbnn-export: interrupted: the previous export there is intact (frozen_mean.pb, '
        'saved_model_mean, export_mean.json); the run is untouched\n')
    assert contents(out) == before


def test_a_read_only_export_folder_is_named_with_what_it_holds(
        trained, tmp_path, capsys, monkeypatch):  # noqa: F811
    out, before = _first_export(trained, tmp_path, capsys)

    def read_only(prefix, dir):  # (root ignores chmod, so the fault is simulated)
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.path.join(dir, prefix + 'x1'))
    monkeypatch.setattr(export_staging.tempfile, 'mkdtemp', read_only)
    assert export_main([trained, '--mode', 'mean', '--output-dir', str(out)]) == 2
    err = capsys.readouterr().err
    assert err == ('tfbnn-export: error: cannot write the export in %s: Read-only file system; '
                   'the previous export there is intact (frozen_mean.pb, saved_model_mean, '
                   'export_mean.json); the run is untouched: ' % out) + err.split('untouched: ')[1]
    assert contents(out) == before


def test_a_re_export_replaces_every_file_and_names_them_relative(trained, tmp_path,  # noqa: F811
                                                                  monkeypatch):
    out = tmp_path / 'exp'
    assert export_main([trained, '--mode', 'mean', '--format', 'graphdef,tflite',
                        '--output-dir', str(out)]) == 0
    old_pb = (out / 'frozen_mean.pb').read_bytes()

    def refuse(*args, **kwargs):
        raise export_formats.ExportError('TFLite conversion failed: refused')
    monkeypatch.setattr(export_formats, 'write_tflite', refuse)
    assert export_main([trained, '--mode', 'mean', '--prune-snr', '0.5', '--format',
                        'graphdef,tflite', '--output-dir', str(out)]) == 2
    # The refused format's old file is gone with the rest of the old export.
    assert sorted(os.listdir(str(out))) == ['export_mean.json', 'frozen_mean.pb']
    assert (out / 'frozen_mean.pb').read_bytes() != old_pb
    report = json.load(open(str(out / 'export_mean.json')))
    assert report['frozen_graph'] == report['files']['graphdef']['path'] == 'frozen_mean.pb'
    assert 'tflite' in report['failed'] and 'tflite' not in report['files']
    assert os.path.isabs(report['checkpoint'])


def test_a_swap_that_fails_midway_puts_the_previous_export_back(trained, tmp_path, capsys,
                                                                monkeypatch):  # noqa: F811
    """The swap is renames: one that fails (a busy folder) moves every old file back."""
    out = tmp_path / 'exp'
    assert export_main([trained, '--mode', 'mean', '--output-dir', str(out)]) == 0
    before = contents(out)
    real_rename, calls = os.rename, []

    def busy(src, dst):  # placing the new SavedModel fails, once
        if os.path.basename(dst) == 'saved_model_mean' and not calls:
            if os.path.basename(os.path.dirname(src)) != '.previous':
                calls.append(src)
                raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), dst)
        real_rename(src, dst)
    monkeypatch.setattr(export_staging.os, 'rename', busy)
    capsys.readouterr()
    assert export_main([trained, '--mode', 'mean', '--prune-snr', '0.5',
                        '--output-dir', str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'Device or resource busy' in err, err
    assert 'the previous export there is intact' in err
    assert contents(out) == before  # frozen_mean.pb had been placed: it is the old one again
    assert not [e for e in os.listdir(str(out)) if e.startswith(export_staging.PREFIX)]


def test_a_killed_exports_staging_folder_goes_once_an_hour_old(trained, tmp_path):  # noqa: F811
    out = tmp_path / 'exp'
    for age, name in ((7200, 'old'), (60, 'recent')):
        folder = out / (export_staging.PREFIX + name)
        folder.mkdir(parents=True)
        (folder / 'frozen_mean.pb').write_bytes(b'half')
        os.utime(str(folder), (os.path.getmtime(str(folder)) - age,) * 2)
    assert export_main([trained, '--mode', 'mean', '--output-dir', str(out)]) == 0
    assert sorted(e for e in os.listdir(str(out)) if e.startswith(export_staging.PREFIX)) == [
        export_staging.PREFIX + 'recent']


def test_a_fault_in_a_temporary_file_names_the_export_file(trained, tmp_path, capsys,
                                                           monkeypatch):  # noqa: F811
    """The line names saved_model_mean, not the temporary folder it was built in."""
    out = tmp_path / 'exp'

    def full(builder, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC),
                      os.path.join(builder._export_dir, 'variables', 'variables.index'))
    monkeypatch.setattr(tf.saved_model.builder.SavedModelBuilder, 'save', full)
    assert export_main([trained, '--mode', 'mean', '--output-dir', str(out)]) == 2
    err = capsys.readouterr().err
    assert 'cannot write the export in %s: No space left' % (out / 'saved_model_mean') in err, err


def test_files_of_formats_not_exported_again_are_described(trained, tmp_path,  # noqa: F811
                                                           capsys):
    """Formats exported separately stay; the new report says which export made each."""
    out = tmp_path / 'exp'
    flags = ['--mode', 'mean', '--output-dir', str(out)]
    assert export_main([trained, '--format', 'graphdef,tflite'] + flags) == 0
    assert export_main([trained, '--prune-snr', '0.5'] + flags) == 0  # graphdef, savedmodel
    assert 'kept frozen_mean.tflite of an earlier export' in capsys.readouterr().out
    report = json.load(open(str(out / 'export_mean.json')))
    assert sorted(report['files']) == ['graphdef', 'savedmodel']
    earlier = report['earlier_files']
    assert sorted(earlier) == ['tflite'] and earlier['tflite']['path'] == 'frozen_mean.tflite'
    assert earlier['tflite']['checkpoint'] == report['checkpoint']
    assert 'snr_threshold' in report and 'snr_threshold' not in earlier['tflite']
    # An earlier export's own earlier files carry on until their format is written again.
    assert export_main([trained, '--format', 'graphdef'] + flags) == 0
    earlier = json.load(open(str(out / 'export_mean.json')))['earlier_files']
    assert sorted(earlier) == ['savedmodel', 'tflite']
    assert earlier['savedmodel']['snr_threshold'] == report['snr_threshold']
    assert export_main([trained, '--format', 'tflite,savedmodel'] + flags) == 0
    earlier = json.load(open(str(out / 'export_mean.json')))['earlier_files']
    assert sorted(earlier) == ['graphdef']
    os.remove(str(out / 'frozen_mean.pb'))  # a file removed by hand is not described
    assert export_main([trained, '--format', 'tflite'] + flags) == 0
    earlier = json.load(open(str(out / 'export_mean.json')))['earlier_files']
    assert sorted(earlier) == ['savedmodel']
    assert export_main([trained, '--format', 'graphdef,savedmodel'] + flags) == 0
    assert 'earlier_files' in json.load(open(str(out / 'export_mean.json')))  # the .tflite
    assert export_main([trained, '--format', 'graphdef,savedmodel,tflite'] + flags) == 0
    assert 'earlier_files' not in json.load(open(str(out / 'export_mean.json')))


@pytest.mark.parametrize('earlier,described,said', [
    ('[1]', None, True),
    ('{not json', None, True),
    ('{"files": {"tflite": "frozen_mean.tflite"}}', None, False),
    ('{"files": [["tflite", 1]]}', None, False),
    ('{"files": {"tflite": {"path": "frozen_sample.tflite"}}}', None, False),  # the other mode's
    ('{"files": {"tflite": {}, "pb": {"bytes": 1}, "graphdef": {"path": "frozen_mean.pb"}}}',
     None, False),  # no path; an unknown format; a format this export writes
    ('{"files": {"tflite": {"path": "frozen_mean.tflite"}}, "seed": 3, "mode": "mean"}',
     {'tflite': {'path': 'frozen_mean.tflite', 'seed': 3}}, False),
])
def test_an_earlier_report_of_any_shape_never_stops_an_export(tmp_path, earlier, described, said):
    (tmp_path / 'frozen_mean.tflite').write_bytes(b'old')
    (tmp_path / 'export_mean.json').write_text(earlier)
    report, lines = {'mode': 'mean', 'files': {}}, []
    others = {'savedmodel': 'saved_model_mean', 'tflite': 'frozen_mean.tflite'}
    export_staging.record_earlier(report, str(tmp_path / 'export_mean.json'), others,
                                  lines.append)
    assert report.get('earlier_files') == described
    assert any('cannot be read' in line for line in lines) == said
