"""IR text for the transformer: normalization and a BPE tokenizer (HF tokenizers, no hub).

:func:`normalize_ir` turns printed LLVM IR into the text a model sees:

* dropped: module header (ModuleID, source_filename, datalayout, triple),
  comments, metadata (definitions and ``!dbg``-style attachments), debug
  records, attribute groups and ``#N`` references;
* local names (values, arguments, labels) become ``%0, %1, …`` per function,
  in order of first appearance; named struct types become ``%T0, %T1, …``;
* global names: functions the module only declares keep their name (``@malloc``,
  ``@llvm.memcpy.p0.p0.i64`` carry meaning); every other global becomes
  ``@G0, @G1, …`` in order of first appearance;
* constants: integers with |v| <= 16 or a power of two stay; others become
  ``<intN>`` (N = number of decimal digits, sign kept); floating-point literals
  become ``<fp>`` (zero stays ``0.0``); string literals become ``c"<str>"``;
* whitespace is collapsed; one instruction per line.

:func:`normalize_mlir` does the same for MLIR text (``kind="mlir"``):

* dropped: ``//`` comments (whole lines and trailing), ``#loc`` definitions and every ``loc(...)``, the
  ``{-# dialect_resources ... #-}`` section;
* SSA names become ``%0, %1, …`` and block labels ``^bb0, ^bb1, …`` per function
  op (``func.func``, ``util.func``, ``llvm.func``, ``vm.func``, and initializers), in order of
  first appearance; symbols become ``@G0, @G1, …`` except those of function
  declarations and ``vm.import`` (as LLVM's declared callees, they carry meaning);
* ``dense<…>`` constants longer than 32 characters become ``dense<...>`` (one
  token), strings longer than 32 characters ``"<str>"``;
* numbers are bucketed as for LLVM (shape sizes such as ``64x128`` stay);
  whitespace is collapsed; one op per line.

The tokenizer is a BPE over lines (merges may span words, as in
SentencePiece) with the line end as a token of its own; it is saved as ``tokenizer.json`` (HF format) plus
``tokenizer_irpipe.json`` (normalization version, vocabulary size, training
data) in the directory of the model that uses it.

    USAGE: tok = train_tokenizer(texts, vocab_size=4000); tok.save(model_dir)
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable, Iterator

from irpipe.errors import ConfigError, SchemaError
from irpipe.llvm.ir import LABEL_DEF as _LABEL, LOCAL as _LOCAL, TYPE_DEF as _TYPE_DEF

NORMALIZATION_VERSION = 1
#: normalization version per IR kind (the LLVM one is NORMALIZATION_VERSION)
NORMALIZATION_VERSIONS = {"llvm": NORMALIZATION_VERSION, "mlir": 1}
KINDS = tuple(NORMALIZATION_VERSIONS)
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")

_DROP = re.compile(r"^\s*(?:;|!|#dbg_|attributes #|source_filename|target |$)")
_ATTACH = re.compile(r",?\s*!(?:[A-Za-z_][\w.]*)\s+!(?:\d+|\{[^}]*\}|[A-Za-z]+\([^)]*\))")
_TRAILING = re.compile(r"\s+;.*$")
_ATTR_REF = re.compile(r"\s#\d+\b")
_STRING = re.compile(r'c"(?:[^"\\]|\\.)*"')
_DECLARE = re.compile(r'^declare\b.*?@("[^"]*"|[-\w$.]+)\(')
_GLOBAL = re.compile(r'@(?:"[^"]*"|[-\w$.]+)')
_FLOAT = re.compile(r"(?<![\w.%@$])-?(?:0x[KLMHR]?[0-9A-Fa-f]+|\d+\.\d+(?:e[+-]?\d+)?)(?![\w.])")
_INT = re.compile(r"(?<![\w.%@$<])-?\d+(?![\w.>])")


def _bucket_int(match: re.Match[str]) -> str:
    text = match.group(0)
    value = int(text)
    magnitude = abs(value)
    if magnitude <= 16 or magnitude & (magnitude - 1) == 0:
        return text
    return ("-" if value < 0 else "") + f"<int{len(str(magnitude))}>"


def _bucket_float(match: re.Match[str]) -> str:
    text = match.group(0)
    if text.startswith(("0x", "-0x")):
        return "0.0" if set(text.lstrip("-")[2:]) <= {"0"} else "<fp>"
    return "0.0" if float(text) == 0.0 else "<fp>"


def normalize_ir(text: str) -> str:
    """The normalized form of printed LLVM IR (see the module docstring)."""
    lines = text.splitlines()
    types = {m.group(1): f"%T{i}" for i, m in enumerate(
        filter(None, (_TYPE_DEF.match(ln) for ln in lines)))}
    declared = {"@" + m.group(1) for m in filter(None, (_DECLARE.match(ln) for ln in lines))}
    globals_: dict[str, str] = {}

    def rename_global(m: re.Match[str]) -> str:
        name = m.group(0)
        if name in declared:
            return name
        return globals_.setdefault(name, f"@G{len(globals_)}")

    out: list[str] = []
    locals_: dict[str, str] = {}

    def rename_local(m: re.Match[str]) -> str:
        name = m.group(0)
        if name in types:
            return types[name]
        return locals_.setdefault(name, f"%{len(locals_)}")

    for line in lines:
        if _DROP.match(line):
            continue
        if line.startswith("define "):
            locals_ = {}
        label = _LABEL.match(line)
        if label:
            line = "%" + label.group(1) + ":"
        line = _STRING.sub('c"<str>"', line)
        line = _TRAILING.sub("", _ATTACH.sub("", line))
        line = _ATTR_REF.sub("", line)
        line = _LOCAL.sub(rename_local, _GLOBAL.sub(rename_global, line))
        line = _INT.sub(_bucket_int, _FLOAT.sub(_bucket_float, line))
        line = " ".join(line.split())
        if line:
            out.append(line)
    return "\n".join(out) + "\n"


_M_DROP = re.compile(r"^\s*(?://|#loc\d*\s*=|$)")
_M_LOC = re.compile(r"\s*\bloc\(")
_M_FUNC = re.compile(r"^\s*(?:func\.func|util\.func|util\.initializer|llvm\.func|vm\.func|"
                     r"vm\.initializer|vm\.import)\b")
_M_COMMENT = re.compile(r'^((?:[^"/]|"(?:[^"\\]|\\.)*"|/(?!/))*)//.*$')
_M_DECLARE = re.compile(r'^\s*(?:func\.func|util\.func|llvm\.func|vm\.import)\b[^@]*(@(?:"[^"]*"|[\w$.-]+))')
_M_SSA = re.compile(r"%(?:\d+|[A-Za-z$._-][\w$.-]*)")
_M_BLOCK = re.compile(r"\^[\w$.-]+")
_M_SYMBOL = re.compile(r'@(?:"[^"]*"|[\w$.-]+)')
_M_DENSE = re.compile(r'dense<("(?:[^"\\]|\\.)*"|[^<>"]*)>')
_M_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_M_INT = re.compile(r"(?<![\w.%@$#^])-?\d+(?![\w.])")
_M_LONG = 32


def _drop_locs(line: str) -> str:
    """``line`` without its ``loc(...)`` parts (balanced parentheses, quoted strings skipped)."""
    while (m := _M_LOC.search(line)) is not None:
        depth, i, quoted = 1, m.end(), False
        while i < len(line) and depth:
            ch = line[i]
            if quoted:
                quoted = not (ch == '"' and line[i - 1] != "\\")
            else:
                quoted = ch == '"'
                depth += (ch == "(") - (ch == ")")
            i += 1
        line = line[:m.start()] + line[i:]
    return line


def normalize_mlir(text: str) -> str:
    """The normalized form of MLIR text (see the module docstring)."""
    lines = text.splitlines()
    declared = {m.group(1) for ln in lines if not ln.rstrip().endswith("{")
                for m in [_M_DECLARE.match(ln)] if m}
    symbols: dict[str, str] = {}
    locals_: dict[str, str] = {}
    blocks: dict[str, str] = {}
    out: list[str] = []
    resources = False
    for line in lines:
        if line.lstrip().startswith("{-#"):
            resources = True
        if resources:
            resources = "#-}" not in line
            continue
        if _M_DROP.match(line):
            continue
        if _M_FUNC.match(line):
            locals_, blocks = {}, {}
        line = _drop_locs(_M_COMMENT.sub(r"\1", line))
        line = _M_DENSE.sub(lambda m: m.group(0) if len(m.group(1)) <= _M_LONG else "dense<...>", line)
        line = _M_STRING.sub(lambda m: m.group(0) if len(m.group(0)) <= _M_LONG + 2 else '"<str>"', line)
        line = _M_SYMBOL.sub(lambda m: m.group(0) if m.group(0) in declared
                             else symbols.setdefault(m.group(0), f"@G{len(symbols)}"), line)
        line = _M_SSA.sub(lambda m: locals_.setdefault(m.group(0), f"%{len(locals_)}"), line)
        line = _M_BLOCK.sub(lambda m: blocks.setdefault(m.group(0), f"^bb{len(blocks)}"), line)
        line = _M_INT.sub(_bucket_int, _FLOAT.sub(_bucket_float, line))
        line = " ".join(line.split())
        if line:
            out.append(line)
    return "\n".join(out) + "\n"


def normalize(text: str, kind: str = "llvm") -> str:
    """:func:`normalize_ir` (``kind="llvm"``) or :func:`normalize_mlir` (``kind="mlir"``)."""
    if kind == "llvm":
        return normalize_ir(text)
    if kind == "mlir":
        return normalize_mlir(text)
    raise ConfigError(f"unknown IR kind {kind!r}: choose from {', '.join(KINDS)}")


class IRTokenizer:
    """A trained BPE tokenizer over normalized IR (wraps ``tokenizers.Tokenizer``); its
    ``kind`` (``meta["kind"]``, "llvm" when absent) says which normalization it expects."""

    def __init__(self, tokenizer: "object", meta: dict):
        self.tokenizer = tokenizer
        self.meta = meta

    @property
    def vocab_size(self) -> int:
        return int(self.tokenizer.get_vocab_size())

    @property
    def kind(self) -> str:
        """The IR kind the tokenizer was trained on: "llvm" or "mlir"."""
        return str(self.meta.get("kind", "llvm"))

    def encode(self, ir_text: str, *, normalized: bool = False) -> list[int]:
        """Token ids of ``ir_text`` (normalized first, for the tokenizer's kind, unless ``normalized``)."""
        text = ir_text if normalized else normalize(ir_text, self.kind)
        return self.tokenizer.encode(text).ids

    def tokens(self, ir_text: str, *, normalized: bool = False) -> list[str]:
        """The token strings of ``ir_text`` (for inspection)."""
        text = ir_text if normalized else normalize(ir_text, self.kind)
        return self.tokenizer.encode(text).tokens

    def save(self, directory: str | Path) -> Path:
        """Write ``tokenizer.json`` and ``tokenizer_irpipe.json`` into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save(str(directory / "tokenizer.json"))
        (directory / "tokenizer_irpipe.json").write_text(json.dumps(self.meta, indent=1, sort_keys=True))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "IRTokenizer":
        """Read a tokenizer saved by :meth:`save`; refuse another normalization version."""
        from tokenizers import Tokenizer

        directory = Path(directory)
        meta = json.loads((directory / "tokenizer_irpipe.json").read_text())
        kind = meta.get("kind", "llvm")
        if kind not in NORMALIZATION_VERSIONS:
            raise SchemaError(f"{directory}: tokenizer for unknown IR kind {kind!r} "
                              f"(this irpipe reads {', '.join(KINDS)})")
        version = NORMALIZATION_VERSIONS[kind]
        if meta.get("normalization_version") != version:
            label = "IR" if kind == "llvm" else "MLIR"
            raise SchemaError(f"{directory}: tokenizer for {label} normalization v"
                              f"{meta.get('normalization_version')}, this irpipe has v{version}")
        return cls(Tokenizer.from_file(str(directory / "tokenizer.json")), meta)


def train_tokenizer(texts: Iterable[str], *, vocab_size: int = 8000, min_frequency: int = 2,
                    normalized: bool = False, source: str = "", kind: str = "llvm") -> IRTokenizer:
    """Train BPE in-process on IR texts of ``kind`` ("llvm" or "mlir"), normalized here
    (:func:`normalize`) unless ``normalized``."""
    if kind not in NORMALIZATION_VERSIONS:
        raise ConfigError(f"unknown IR kind {kind!r}: choose from {', '.join(KINDS)}")
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    # Each line (instruction) is one pre-token with spaces as "▁", so merges may
    # span words ("▁ptr▁%", ",▁align▁8") but never lines, as in SentencePiece;
    # the line end is a token of its own.
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex("\n"), behavior="isolated"),
        pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="never", split=False),
    ])
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="never", split=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                  special_tokens=list(SPECIAL_TOKENS), show_progress=False)
    count = {"texts": 0, "chars": 0}

    def stream() -> Iterator[str]:
        for text in texts:
            t = text if normalized else normalize(text, kind)
            count["texts"] += 1
            count["chars"] += len(t)
            yield t

    tok.train_from_iterator(stream(), trainer=trainer)
    meta = {"normalization_version": NORMALIZATION_VERSIONS[kind], "vocab_size": tok.get_vocab_size(),
            "min_frequency": min_frequency, "trained_on": source, **count}
    if kind != "llvm":                      # LLVM tokenizers' meta stays as it always was
        meta["kind"] = kind
    return IRTokenizer(tok, meta)


def dataset_texts(dataset: str | Path, *, limit: int | None = None, kind: str = "llvm") -> Iterator[str]:
    """Printed IR of the modules of ``kind`` in a dataset (in shard order, at most ``limit``):
    LLVM modules (``ir_kind`` "llvm" or null) printed by llvmlite, or MLIR modules' text."""
    from irpipe.runtime.shards import read_modules
    from irpipe.llvm import ir

    table = read_modules(dataset, columns=["content", "ir_kind"])
    n = 0
    for content, ir_kind in zip(table.column("content").to_pylist(), table.column("ir_kind").to_pylist()):
        if (ir_kind or "llvm") != kind:
            continue
        if limit is not None and n >= limit:
            return
        n += 1
        yield bytes(content).decode() if kind == "mlir" else ir.to_text(content)
