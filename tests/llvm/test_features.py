"""irpipe.llvm.features: CompilerGym's InstCount/Autophase, checked against an independent count."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from irpipe.llvm import features, ir
from irpipe.testing.factories import GRAPH_IR, SIMPLE_IR, sample_modules

# Printed opcode -> CompilerGym InstCount name.  The independent count reads llvmlite's
# printed IR text; the code under test walks LLVM's in-memory module in C++.
TEXT_OPCODES = {
    "ret": "Ret", "br": "Br", "switch": "Switch", "indirectbr": "IndirectBr", "invoke": "Invoke",
    "resume": "Resume", "unreachable": "Unreachable", "cleanupret": "CleanupRet",
    "catchret": "CatchRet", "catchswitch": "CatchSwitch", "callbr": "CallBr", "fneg": "FNeg",
    "add": "Add", "fadd": "FAdd", "sub": "Sub", "fsub": "FSub", "mul": "Mul", "fmul": "FMul",
    "udiv": "UDiv", "sdiv": "SDiv", "fdiv": "FDiv", "urem": "URem", "srem": "SRem", "frem": "FRem",
    "shl": "Shl", "lshr": "LShr", "ashr": "AShr", "and": "And", "or": "Or", "xor": "Xor",
    "alloca": "Alloca", "load": "Load", "store": "Store", "getelementptr": "GetElementPtr",
    "fence": "Fence", "cmpxchg": "AtomicCmpXchg", "atomicrmw": "AtomicRMW", "trunc": "Trunc",
    "zext": "ZExt", "sext": "SExt", "fptoui": "FPToUI", "fptosi": "FPToSI", "uitofp": "UIToFP",
    "sitofp": "SIToFP", "fptrunc": "FPTrunc", "fpext": "FPExt", "ptrtoint": "PtrToInt",
    "ptrtoaddr": "PtrToInt", "inttoptr": "IntToPtr", "bitcast": "BitCast",
    "addrspacecast": "AddrSpaceCast", "cleanuppad": "CleanupPad", "catchpad": "CatchPad",
    "icmp": "ICmp", "fcmp": "FCmp", "phi": "PHI", "call": "Call", "select": "Select",
    "va_arg": "VAArg", "extractelement": "ExtractElement", "insertelement": "InsertElement",
    "shufflevector": "ShuffleVector", "extractvalue": "ExtractValue", "insertvalue": "InsertValue",
    "landingpad": "LandingPad", "freeze": "Freeze",
}
_RESULT = re.compile(r'^\s+(?:%(?:"[^"]*"|[-\w.$]+)\s*=\s*)?(?:(?:tail|musttail|notail)\s+)?([a-z_]+)')
# Lines that continue an instruction (invoke's "to label", landingpad clauses) or are not one.
CONTINUATIONS = ("#dbg_", ";", "to label", "cleanup", "catch ", "filter ")
_LABEL = re.compile(r'^(?:"[^"]*"|[-\w.$]+):')


def count_from_text(text: str) -> Counter:
    """InstCount from printed IR: opcodes of instruction lines, blocks from labels, functions."""
    counts: Counter = Counter()
    in_body = in_list = entry_unlabelled = False
    for line in text.splitlines():
        if in_list:  # the case lines of a multi-line switch, up to its "]"
            in_list = not line.strip().startswith("]")
            continue
        if line.startswith(("define ", "declare ")):
            counts["TotalFuncs"] += 1
            in_body = entry_unlabelled = line.startswith("define ")
            continue
        if not in_body:
            continue
        if line == "}":
            in_body = False
        elif _LABEL.match(line):
            counts["TotalBlocks"] += 1
            entry_unlabelled = False
        elif line.startswith("  ") and not line.lstrip().startswith(CONTINUATIONS):
            opcode = _RESULT.match(line).group(1)
            counts[TEXT_OPCODES[opcode]] += 1
            counts["TotalInsts"] += 1
            if entry_unlabelled:  # an unnamed entry block prints no label
                counts["TotalBlocks"] += 1
                entry_unlabelled = False
            in_list = line.rstrip().endswith("[")
    return counts


def test_names_are_compilergyms() -> None:
    ic, ap = features.instcount_names(), features.autophase_names()
    assert (len(ic), len(ap)) == (70, 56)
    assert ic[:5] == ("TotalInsts", "TotalBlocks", "TotalFuncs", "Ret", "Br") and ic[-1] == "Freeze"
    assert ap[:3] == ("BBNumArgsHi", "BBNumArgsLo", "onePred") and ap[-2:] == ("ArgsPhi", "testUnary")


def test_instcount_matches_an_independent_count_on_real_modules() -> None:
    modules = sample_modules(28)
    assert len(modules) >= 20
    names = features.instcount_names()
    for name, data in modules:
        ours = features.compute(data, name=name, isolate_llvm=False).instcount
        theirs = count_from_text(str(ir.parse(data, name=name)))
        assert {n: int(v) for n, v in zip(names, ours) if v} == dict(theirs), name
        assert ours[0] == ours[3:].sum()


def test_autophase_on_hand_written_ir() -> None:
    f = features.compute(SIMPLE_IR, per_function=True).as_dict()
    ap = f["Autophase"]
    # SIMPLE_IR: @add (1 block) and @loop (entry -> head <-> head -> exit).
    assert ap["TotalFuncs"] == 2 and ap["TotalBlocks"] == 4 and ap["TotalInsts"] == 8
    assert ap["NumEdges"] == 3                 # entry->head, head->exit, head->head
    assert ap["onePred"] == 1 and ap["twoPred"] == 1   # exit; head (entry + itself)
    assert ap["CriticalCount"] == 1            # head->head: 2 successors, 2 predecessors
    assert ap["BeginPhi"] == 1 and ap["ArgsPhi"] == 2 and ap["BBNumArgsLo"] == 1
    assert ap["const32Bit"] == 2 and ap["numConstZeroes"] == 1 and ap["numConstOnes"] == 1
    assert ap["binaryConstArg"] == 1 and ap["UncondBranches"] == 1 and ap["BranchCount"] == 2
    assert ap["BlockLow"] == 4 and ap["BBNoPhi"] == 3
    assert f["functions"]["loop"]["InstCount"]["PHI"] == 1
    assert f["functions"]["add"]["InstCount"]["TotalFuncs"] == 1


def test_autophase_quirks_as_in_compilergym() -> None:
    ap = features.compute(GRAPH_IR).as_dict()["Autophase"]
    assert ap["TotalFuncs"] == 3               # declarations count, as in CompilerGym
    assert ap["returnInt"] == 2                # direct calls of i32 functions (sq, ext)
    assert ap["TotalMemInst"] == 3             # 2 calls + 1 load
    assert ap["testUnary"] == 1                # the load


@pytest.mark.parametrize("bad", [b"", b"define i32 @f( {"])
def test_bad_input_raises(bad: bytes) -> None:
    with pytest.raises(ir.IRError, match="LLVM 22"):
        features.compute(bad)
