"""Whole-file checks made before Spark reads anything: the encoding check (which skips
decoding ASCII chunks) and the content hashes that decide which files are new."""

from __future__ import annotations

import gzip
import hashlib

import pytest

from pipeline.ingest import IngestError, _check_encoding, _hash_files

CHUNK = 1 << 20  # _check_encoding reads a MiB at a time


def _lines(count: int) -> bytes:
    return b"".join(b"T%08d,C1,2024-01-05 10:00:00,10.50\n" % i for i in range(count))


def test_a_bad_byte_after_many_ascii_chunks_is_named_by_its_line(tmp_path):
    head = _lines(80_000)  # about 2.8 MiB of ASCII first
    assert len(head) > 2 * CHUNK
    path = tmp_path / "big.csv"
    path.write_bytes(head + "Jos\xe9,x\n".encode("latin-1") + _lines(10))
    with pytest.raises(IngestError, match=r"big\.csv: line 80,001 is not utf-8 text \(byte 0xe9\)"):
        _check_encoding(path)


def test_a_character_split_across_chunks_is_valid_utf8(tmp_path):
    path = tmp_path / "split.csv"
    path.write_bytes(b"a" * (CHUNK - 1) + "é\n".encode() + _lines(3))  # é's 2 bytes straddle
    _check_encoding(path)
    gz = tmp_path / "split.csv.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    _check_encoding(gz)


def test_a_file_cut_inside_a_character_is_called_truncated(tmp_path):
    path = tmp_path / "cut.csv"
    path.write_bytes(_lines(5) + "é".encode()[:1])
    with pytest.raises(IngestError, match=r"cut\.csv: the file ends in the middle"):
        _check_encoding(path)


def test_files_hashed_in_parallel_get_their_own_sha256(tmp_path):
    paths = []
    for i in range(5):
        path = tmp_path / f"f{i}.csv"
        path.write_bytes(_lines(1_000 * (i + 1)))
        paths.append(path)
    expected = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
    assert _hash_files(paths) == expected
    assert _hash_files(paths[:1]) == {"f0.csv": expected["f0.csv"]}
