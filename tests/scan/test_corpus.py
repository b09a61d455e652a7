"""The generated scan corpus: deterministic, every family populated, and every malicious file carries its
payload where a decoder can see it. Nothing here unpickles, unmarshals or loads a corpus file: pickles are
only disassembled with pickletools, and zips and HDF5 files are read as bytes. The scanner's verdicts on
the corpus are tested elsewhere."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import pickletools
import struct
import zipfile
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from corpus import FAMILIES, CorpusFile, build_corpus

PICKLE_FAMILIES = {
    "pickle-plain",
    "pickle-odd-start",
    "pickle-odd-name",
    "pickle-late-stream",
    "pickle-broken-tail",
    "zip-tampered",
    "joblib-compressed",
    "pickle-frame-tamper",
    "npy-object",
}
NOT_PICKLES = {".h5", ".keras", ".safetensors"}
STRING_OPCODES = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING", "BINSTRING", "SHORT_BINSTRING"}
MARK = object()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[CorpusFile]:
    return build_corpus(tmp_path_factory.mktemp("corpus"))


def payload_name(file: CorpusFile) -> str:
    """Malicious variants end with the dotted name of the callable their payload reaches."""
    return file.variant.rsplit("-", 1)[-1]


# ------------------------------------------------------------------ reading without loading


def read_pickle(stream: io.BytesIO, names: set[str]) -> None:
    """Disassemble one pickle from `stream`, adding each global it names (GLOBAL, INST, and STACK_GLOBAL
    with its module and name tracked through the stack and memo) to `names`, even if it breaks later."""
    stack: list[object] = []
    memo: dict[int, object] = {}
    for opcode, arg, _ in pickletools.genops(stream):
        name = opcode.name
        if name in STRING_OPCODES:
            stack.append(arg)
        elif name == "MARK":
            stack.append(MARK)
        elif name == "STACK_GLOBAL":
            global_name, module = (stack.pop() if stack else None), (stack.pop() if stack else None)
            if isinstance(module, str) and isinstance(global_name, str):
                names.add(f"{module}.{global_name}")
            stack.append(None)
        elif name == "MEMOIZE":
            memo[len(memo)] = stack[-1] if stack else None
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[arg if isinstance(arg, int) else -1] = stack[-1] if stack else None
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            stack.append(memo.get(arg if isinstance(arg, int) else -1))
        else:
            if name in ("GLOBAL", "INST"):
                names.add(str(arg).replace(" ", "."))
            apply_stack_effect(opcode, stack)


def apply_stack_effect(opcode: pickletools.OpcodeInfo, stack: list[object]) -> None:
    before = opcode.stack_before
    if pickletools.markobject in before:
        while stack and stack.pop() is not MARK:
            pass
        extra = before.index(pickletools.markobject)
    else:
        extra = len(before)
    del stack[max(0, len(stack) - extra) :]
    stack.extend([None] * len(opcode.stack_after))


def decode(data: bytes, resync: bool = False) -> tuple[set[str], int]:
    """Globals named in the decodable prefix of back-to-back pickles, and how many pickles completed.

    With `resync`, a decoding error does not end the search: it starts again one byte further on, to step
    over raw bytes a loader reads itself (joblib's arrays) and find what the stream names after them."""
    names: set[str] = set()
    stream, complete = io.BytesIO(data), 0
    while stream.tell() < len(data):
        start = stream.tell()
        try:
            read_pickle(stream, names)
        except ValueError:
            if not resync:
                break
            stream.seek(start + 1)
            continue
        complete += 1
    return names, complete


def zip_members(data: bytes) -> list[bytes]:
    """Every member's bytes, found through the central directory and read at its local header, with no
    CRC, flag or name checks: the tampered zips fail those on purpose."""
    end = data.rfind(b"PK\x05\x06")
    count, directory_size, directory_offset = struct.unpack_from("<HII", data, end + 10)
    shift = end - directory_size - directory_offset  # bytes prepended without fixing offsets
    members, position = [], directory_offset + shift
    for _ in range(count):
        (method,) = struct.unpack_from("<H", data, position + 10)
        (size,) = struct.unpack_from("<I", data, position + 20)
        name_length, extra_length, comment_length = struct.unpack_from("<HHH", data, position + 28)
        (local,) = struct.unpack_from("<I", data, position + 42)
        local_name, local_extra = struct.unpack_from("<HH", data, local + shift + 26)
        start = local + shift + 30 + local_name + local_extra
        raw = data[start : start + size]
        members.append(zlib.decompressobj(-15).decompress(raw) if method == zipfile.ZIP_DEFLATED else raw)
        position += 46 + name_length + extra_length + comment_length
    return members


def pickle_payloads(data: bytes) -> list[bytes]:
    """The bytes a loader would unpickle: zip members, .npy bodies and joblib's decompressed streams."""
    if b"PK\x05\x06" in data[-(1 << 16) - 22 :] and b"PK\x03\x04" in data:
        return [payload for member in zip_members(data) for payload in pickle_payloads(member)]
    if data.startswith(b"\x93NUMPY"):
        size_format = "<H" if data[6] == 1 else "<I"
        (header,) = struct.unpack_from(size_format, data, 8)
        return [data[8 + struct.calcsize(size_format) + header :]]
    if data.startswith(b"ZF"):
        return [zlib.decompress(data[21:])]
    for magic, decompress in (
        (b"\x78", zlib.decompress),
        (b"\x1f\x8b", gzip.decompress),
        (b"BZh", bz2.decompress),
        (b"\xfd7zXZ", lzma.decompress),
        (b"\x5d\x00\x00", lzma.decompress),
    ):
        if data.startswith(magic):
            return [decompress(data)]
    return [data]


def file_globals(file: CorpusFile) -> set[str]:
    names: set[str] = set()
    for payload in pickle_payloads(file.path.read_bytes()):
        names |= decode(payload, resync="after-array" in file.variant)[0]
    return names


def keras_configs(file: CorpusFile) -> list[Any]:
    """The model configs a Keras file carries: config.json of a .keras zip, or the JSON text of an .h5's
    model_config attribute, found in the file's bytes rather than read through h5py."""
    data = file.path.read_bytes()
    if file.path.suffix == ".keras":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [json.loads(archive.read("config.json"))]
    text, decoder, configs = data.decode("latin-1"), json.JSONDecoder(), []
    start = text.find('{"')
    while start != -1:
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find('{"', start + 1)
            continue
        if isinstance(value, dict) and "config" in value:
            configs.append(value)
        start = text.find('{"', end)
    return configs


def class_names(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["class_name"]} if isinstance(value.get("class_name"), str) else set()
        return found.union(*(class_names(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(class_names(item) for item in value))
    return set()


# ------------------------------------------------------------------------------------ the tests


def test_build_is_deterministic(tmp_path: Path) -> None:
    first, second = build_corpus(tmp_path / "a"), build_corpus(tmp_path / "b")
    assert [(f.family, f.variant, f.malicious, f.path.relative_to(tmp_path / "a")) for f in first] == [
        (f.family, f.variant, f.malicious, f.path.relative_to(tmp_path / "b")) for f in second
    ]
    written = sorted(path.relative_to(tmp_path / "a") for path in (tmp_path / "a").rglob("*") if path.is_file())
    assert written == sorted(path.relative_to(tmp_path / "b") for path in (tmp_path / "b").rglob("*") if path.is_file())
    changed = [path for path in written if (tmp_path / "a" / path).read_bytes() != (tmp_path / "b" / path).read_bytes()]
    assert changed == []


def test_every_family_has_files(corpus: list[CorpusFile]) -> None:
    counts = Counter(file.family for file in corpus)
    assert set(counts) == set(FAMILIES)
    assert {family: count for family, count in counts.items() if count < 5} == {}
    assert 250 <= len(corpus) <= 400


def test_entries_match_their_family(corpus: list[CorpusFile]) -> None:
    assert [file for file in corpus if file.malicious != FAMILIES[file.family][0]] == []
    assert len({(file.family, file.variant) for file in corpus}) == len(corpus)
    assert len({file.path for file in corpus}) == len(corpus)
    for file in corpus:
        assert file.path.is_file() and file.path.stat().st_size > 0
        assert file.path.parent.name == file.family


def test_malicious_pickles_name_their_payload(corpus: list[CorpusFile]) -> None:
    missing = [
        (file.family, file.variant, sorted(file_globals(file)))
        for file in corpus
        if file.family in PICKLE_FAMILIES and payload_name(file) not in file_globals(file)
    ]
    assert missing == []


def test_benign_pickles_name_no_payload(corpus: list[CorpusFile]) -> None:
    payloads = {payload_name(file) for file in corpus if file.family in PICKLE_FAMILIES}
    assert len(payloads) >= 40
    flagged = [
        (file.family, file.variant, sorted(file_globals(file) & payloads))
        for file in corpus
        if not file.malicious and file.path.suffix not in NOT_PICKLES and file_globals(file) & payloads
    ]
    assert flagged == []


def test_benign_pickles_decode_completely(corpus: list[CorpusFile]) -> None:
    incomplete = [
        file.variant
        for file in corpus
        if file.family in {"benign-builtins", "benign-stdlib", "benign-numpy"}
        and file.path.suffix == ".pkl"
        and decode(file.path.read_bytes())[1] != 1
    ]
    assert incomplete == []


def test_odd_start_pickles_skip_the_usual_first_opcodes(corpus: list[CorpusFile]) -> None:
    odd = [file for file in corpus if file.family == "pickle-odd-start"]
    assert [file.variant for file in odd if file.path.read_bytes()[:1] in b"(c]}lde\x80"] == []


def test_late_stream_payload_is_not_in_the_first_pickle(corpus: list[CorpusFile]) -> None:
    for file in (file for file in corpus if file.family == "pickle-late-stream"):
        data = file.path.read_bytes()
        first: set[str] = set()
        stream = io.BytesIO(data)
        read_pickle(stream, first)
        assert first == set(), file.variant
        assert decode(data)[1] >= 5, file.variant


def test_broken_tails_do_not_disassemble(corpus: list[CorpusFile]) -> None:
    for file in (file for file in corpus if file.family == "pickle-broken-tail"):
        payload = next(p for p in pickle_payloads(file.path.read_bytes()) if payload_name(file) in decode(p)[0])
        with pytest.raises(ValueError):
            pickletools.dis(payload, out=io.StringIO())


def test_keras_lambda_files_carry_a_lambda_layer(corpus: list[CorpusFile]) -> None:
    keras = [file for file in corpus if file.family in {"keras-lambda", "benign-keras"}]
    wrong = [
        file.variant
        for file in keras
        if ("Lambda" in set().union(*map(class_names, keras_configs(file)))) != file.malicious
    ]
    assert wrong == []
