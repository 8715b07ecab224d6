"""``irpipe graph FILE``: the ProGraML-style program graph of a module or function
(LLVM IR: irpipe.llvm.graph; MLIR: irpipe.mlir.graph; both are irpipe.ir.graph.ProgramGraphs)."""

from __future__ import annotations

import argparse
import json

from irpipe.cli.args import OUT_FILE
from irpipe.cli.features import add_module_arguments, read_any_input


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("graph", help="ProGraML-style program graph (PyG HeteroData, DOT)")
    add_module_arguments(p)
    p.add_argument("--function", help="only this defined function")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--dot", metavar="OUT", type=OUT_FILE, help="write Graphviz DOT (node labels = full IR text)")
    out.add_argument("--out", metavar="OUT.pt", type=OUT_FILE, help="write the graph for torch.load(weights_only=True)")
    p.add_argument("--no-types", action="store_true",
                   help="leave out type nodes and edges (MLIR graphs have none)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irpipe.ir import kinds
    from irpipe.ir.graph import save_pt

    name, data, max_bytes = read_any_input(args)
    g = kinds.get(name).graph(data, name=args.file, function=args.function, types=not args.no_types,
                              full_text=bool(args.dot), max_bytes=max_bytes)
    if args.dot:
        with open(args.dot, "w") as f:
            f.write(g.to_dot())
    if args.out:
        save_pt(g, args.out)
    summary = {"nodes": g.num_nodes, "edges": g.num_edges,
               **{f"{t}_nodes": g.count(node_type=t) for t in g.node_types},
               **{f"{f}_edges": g.count(flow=f) for f in g.flows},
               "functions": len(g.functions)}
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print(" ".join(f"{k}={v}" for k, v in summary.items()))
    return 0
