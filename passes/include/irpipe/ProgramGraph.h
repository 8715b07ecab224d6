//===- ProgramGraph.h - ProGraML-style program graphs on LLVM 22 ----------===//
//
// A program graph as in ProGraML (Cummins et al., ICML 2021), built from an
// LLVM 22 module held in memory, as flat arrays (struct of arrays) so that
// Python can copy them out with one memcpy per array.
//
// A conformant graph has:
//   * node 0: the root "[external]" instruction node;
//   * one INSTRUCTION node per instruction of every included function, text =
//     opcode name ("add", "br", ...), full text = the printed instruction;
//   * one VARIABLE node per instruction result, argument or global value that
//     is used as an operand, text = its printed type;
//   * one CONSTANT node per distinct constant operand (LLVM uniques
//     constants, so identity = value), text = its printed type;
//   * optionally one TYPE node per distinct type of a variable or constant,
//     with member/element types of aggregates as their own TYPE nodes;
//   * CONTROL edges between consecutive instructions of a block (position 0)
//     and from a terminator to the first instruction of its k-th successor
//     (position k);
//   * DATA edges instruction -> variable (position 0) for the value it
//     defines, and variable/constant -> instruction with position = operand
//     index; the callee of a direct call is a CALL edge, not a data operand;
//   * CALL edges from a call site to the entry instruction of a defined
//     callee (position 0) and from each of the callee's returns back to the
//     call site; calls to declarations, indirect calls and calls out of the
//     graph go to and from the root; the root calls every function's entry
//     and every return goes back to the root;
//   * TYPE edges type -> variable/constant (position 0) and member type ->
//     aggregate type (position = member index).
//
//===----------------------------------------------------------------------===//
#ifndef IRPIPE_PROGRAMGRAPH_H
#define IRPIPE_PROGRAMGRAPH_H

#include <cstdint>
#include <string>
#include <vector>

namespace llvm {
class Function;
class Module;
} // namespace llvm

namespace irpipe {

enum NodeKind : uint8_t {
  InstructionNode = 0,
  VariableNode = 1,
  ConstantNode = 2,
  TypeNode = 3
};
enum FlowKind : uint8_t { ControlFlow = 0, DataFlow = 1, CallFlow = 2, TypeFlow = 3 };

struct GraphOptions {
  bool Types = true;     ///< add TYPE nodes and edges
  bool FullText = false; ///< keep the printed text of every node (slower)
};

struct ProgramGraph {
  // Nodes.
  std::vector<uint8_t> NodeType;
  std::vector<int32_t> NodeText;     ///< index into Texts
  std::vector<int32_t> NodeFunction; ///< index into Functions, -1 if none
  std::vector<int32_t> NodeBlock;    ///< block index in its function, -1
  std::vector<std::string> FullText; ///< empty unless GraphOptions::FullText
  // Edges.
  std::vector<int32_t> EdgeSource, EdgeTarget, EdgePosition;
  std::vector<uint8_t> EdgeFlow;
  // Interned node texts and the names of the included functions.
  std::vector<std::string> Texts;
  std::vector<std::string> Functions;
};

/// Build the graph of M, or of the single function Only when not null.
void buildProgramGraph(const llvm::Module &M, const llvm::Function *Only,
                       const GraphOptions &Options, ProgramGraph &G);

} // namespace irpipe

#endif // IRPIPE_PROGRAMGRAPH_H
