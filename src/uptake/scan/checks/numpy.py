"""Checks on a NumPy .npy array (alone or inside an .npz): header, declared size, and pickled object arrays.

An array of dtype `object` stores its data as a pickle, so `np.load(..., allow_pickle=True)` runs
whatever that pickle imports; such data goes through the pickle allow-list.
"""

from __future__ import annotations

import warnings
from typing import BinaryIO

import numpy as np
from numpy.lib import format as npy_format

from uptake.scan.checks.pickle import check_pickle_stream
from uptake.scan.report import NOWHERE, Finding, Location, Severity

MAX_HEADER_CHARS = 100_000


def read_npy_header(stream: BinaryIO) -> tuple[tuple[int, ...], np.dtype[np.generic]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # headers written by Python 2 come with a warning
        major, _minor = npy_format.read_magic(stream)
        # Version 3 differs from 2 only in allowing UTF-8 field names.
        reader = npy_format.read_array_header_1_0 if major == 1 else npy_format.read_array_header_2_0
        shape, _fortran, dtype = reader(stream, max_header_size=MAX_HEADER_CHARS)
    return tuple(shape), dtype


NPY_HEADER_ERRORS = (ValueError, TypeError, SyntaxError, OverflowError, MemoryError, EOFError)


def check_npy_stream(stream: BinaryIO, size: int, where: Location = NOWHERE) -> list[Finding]:
    """Checks on one .npy held in `stream` (positioned at its start) of `size` bytes."""
    try:
        shape, dtype = read_npy_header(stream)
    except NPY_HEADER_ERRORS as error:
        return [Finding("NPY001", Severity.ERROR, f"NumPy header cannot be read: {str(error)[:160]}", where)]
    data_start = stream.tell()
    if dtype.hasobject:
        findings = [
            Finding(
                "NPY004",
                Severity.INFO,
                "object array: its data is a pickle, checked against the allow-list",
                Location(member=where.member, offset=data_start),
            )
        ]
        return findings + check_pickle_stream(stream, size, where)
    elements = 1
    for dim in shape:
        elements *= dim
    expected = elements * dtype.itemsize
    actual = size - data_start
    if actual < expected:
        return [
            Finding(
                "NPY002",
                Severity.ERROR,
                f"header declares {expected} bytes ({dtype} x {list(shape)}) but only {actual} follow: truncated",
                Location(member=where.member, offset=data_start),
            )
        ]
    if actual > expected:
        return [
            Finding(
                "NPY003",
                Severity.WARNING,
                f"{actual - expected} bytes follow the array data (appended content)",
                Location(member=where.member, offset=data_start + expected),
            )
        ]
    return []
