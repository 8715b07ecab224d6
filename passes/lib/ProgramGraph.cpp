//===- ProgramGraph.cpp - ProGraML-style program graphs on LLVM 22 --------===//
//
// See ProgramGraph.h for what a conformant graph holds.  Values are keyed by
// identity (pointer), never by name: embedded bitcode has no local names.
//
//===----------------------------------------------------------------------===//
#include "irpipe/ProgramGraph.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/InlineAsm.h"
#include "llvm/IR/InstrTypes.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/Metadata.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/ModuleSlotTracker.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>

using namespace llvm;

namespace irpipe {
namespace {

struct FunctionInfo {
  int32_t Entry = -1;           // node of the first instruction
  std::vector<int32_t> Returns; // nodes of its ret instructions
};

class Builder {
public:
  Builder(const Module &M, const GraphOptions &Options, ProgramGraph &G)
      : M(M), Options(Options), G(G) {
    if (Options.FullText)
      Slots = std::make_unique<ModuleSlotTracker>(&M);
  }

  void build(const Function *Only) {
    addNode(InstructionNode, intern("[external]"), -1, -1, "[external]");
    std::vector<const Function *> Included;
    for (const Function &F : M)
      if (!F.isDeclaration() && (!Only || &F == Only))
        Included.push_back(&F);
    for (const Function *F : Included)
      addInstructions(*F);
    for (const Function *F : Included)
      addControlAndData(*F);
    for (const Function *F : Included)
      addCalls(*F);
  }

private:
  const Module &M;
  const GraphOptions &Options;
  ProgramGraph &G;
  std::unique_ptr<ModuleSlotTracker> Slots;

  StringMap<int32_t> TextIds;
  DenseMap<const Type *, int32_t> TypeTextIds;
  DenseMap<const Value *, int32_t> InstNodes;  // instruction -> node
  DenseMap<const Value *, int32_t> ValueNodes; // variable/constant -> node
  DenseMap<const Type *, int32_t> TypeNodes;
  DenseMap<const Function *, FunctionInfo> Functions;
  DenseMap<const Function *, int32_t> FunctionIndex;
  DenseMap<const BasicBlock *, int32_t> BlockEntry;

  int32_t intern(StringRef Text) {
    auto [It, Inserted] = TextIds.try_emplace(Text, (int32_t)G.Texts.size());
    if (Inserted)
      G.Texts.push_back(Text.str());
    return It->second;
  }

  int32_t typeText(const Type *T) {
    auto It = TypeTextIds.find(T);
    if (It != TypeTextIds.end())
      return It->second;
    std::string S;
    raw_string_ostream OS(S);
    T->print(OS, /*IsForDebug=*/false, /*NoDetails=*/true);
    int32_t Id = intern(OS.str());
    TypeTextIds[T] = Id;
    return Id;
  }

  int32_t addNode(NodeKind Kind, int32_t Text, int32_t Function, int32_t Block,
                  const std::string &Full = std::string()) {
    int32_t Id = (int32_t)G.NodeType.size();
    G.NodeType.push_back(Kind);
    G.NodeText.push_back(Text);
    G.NodeFunction.push_back(Function);
    G.NodeBlock.push_back(Block);
    if (Options.FullText)
      G.FullText.push_back(Full);
    return Id;
  }

  void addEdge(FlowKind Flow, int32_t Source, int32_t Target, int32_t Pos) {
    G.EdgeSource.push_back(Source);
    G.EdgeTarget.push_back(Target);
    G.EdgeFlow.push_back(Flow);
    G.EdgePosition.push_back(Pos);
  }

  template <typename T> std::string printed(const T &V) {
    std::string S;
    raw_string_ostream OS(S);
    V.print(OS, *Slots);
    StringRef R = StringRef(S).trim();
    return R.str();
  }

  void addInstructions(const Function &F) {
    int32_t FIdx = (int32_t)G.Functions.size();
    G.Functions.push_back(F.getName().str());
    FunctionIndex[&F] = FIdx;
    FunctionInfo &Info = Functions[&F];
    if (Slots)
      Slots->incorporateFunction(F);
    int32_t BIdx = 0;
    for (const BasicBlock &BB : F) {
      bool First = true;
      for (const Instruction &I : BB) {
        int32_t Node =
            addNode(InstructionNode, intern(I.getOpcodeName()), FIdx, BIdx,
                    Options.FullText ? printed(I) : std::string());
        InstNodes[&I] = Node;
        if (First) {
          BlockEntry[&BB] = Node;
          if (Info.Entry < 0)
            Info.Entry = Node;
          First = false;
        }
        if (isa<ReturnInst>(I))
          Info.Returns.push_back(Node);
      }
      ++BIdx;
    }
  }

  /// The type node of T, with its member types for aggregates.
  int32_t typeNode(const Type *T) {
    auto It = TypeNodes.find(T);
    if (It != TypeNodes.end())
      return It->second;
    int32_t Node = addNode(TypeNode, typeText(T), -1, -1,
                           Options.FullText ? G.Texts[typeText(T)] : "");
    TypeNodes[T] = Node; // before recursing: struct types may be recursive
    if (auto *ST = dyn_cast<StructType>(T)) {
      for (unsigned K = 0; K < ST->getNumElements(); ++K)
        addEdge(TypeFlow, typeNode(ST->getElementType(K)), Node, K);
    } else if (auto *AT = dyn_cast<ArrayType>(T)) {
      addEdge(TypeFlow, typeNode(AT->getElementType()), Node, 0);
    } else if (auto *VT = dyn_cast<VectorType>(T)) {
      addEdge(TypeFlow, typeNode(VT->getElementType()), Node, 0);
    }
    return Node;
  }

  /// The variable or constant node of an operand value, created on first use.
  int32_t valueNode(const Value *V, int32_t FIdx) {
    auto It = ValueNodes.find(V);
    if (It != ValueNodes.end())
      return It->second;
    bool IsConstant = isa<Constant>(V) || isa<InlineAsm>(V);
    int32_t Scope = isa<Instruction>(V) || isa<Argument>(V) ? FIdx : -1;
    std::string Full;
    if (Options.FullText) {
      if (isa<Instruction>(V) || isa<Argument>(V) || isa<GlobalValue>(V)) {
        raw_string_ostream OS(Full);
        V->printAsOperand(OS, /*PrintType=*/true, *Slots);
      } else {
        Full = printed(*V);
      }
    }
    int32_t Node = addNode(IsConstant ? ConstantNode : VariableNode,
                           typeText(V->getType()), Scope, -1, Full);
    ValueNodes[V] = Node;
    if (const auto *I = dyn_cast<Instruction>(V)) {
      auto Producer = InstNodes.find(I);
      if (Producer != InstNodes.end())
        addEdge(DataFlow, Producer->second, Node, 0);
    }
    if (Options.Types)
      addEdge(TypeFlow, typeNode(V->getType()), Node, 0);
    return Node;
  }

  void addControlAndData(const Function &F) {
    int32_t FIdx = FunctionIndex[&F];
    for (const BasicBlock &BB : F) {
      int32_t Prev = -1;
      for (const Instruction &I : BB) {
        int32_t Node = InstNodes[&I];
        if (Prev >= 0)
          addEdge(ControlFlow, Prev, Node, 0);
        Prev = Node;
        const auto *CB = dyn_cast<CallBase>(&I);
        for (unsigned K = 0, N = I.getNumOperands(); K < N; ++K) {
          const Value *V = I.getOperand(K);
          if (isa<BasicBlock>(V) || isa<MetadataAsValue>(V))
            continue;
          if (CB && CB->isCallee(&I.getOperandUse(K)) && isa<Function>(V))
            continue; // a direct callee: a CALL edge, not data
          addEdge(DataFlow, valueNode(V, FIdx), Node, K);
        }
      }
      const Instruction *Term = BB.getTerminator();
      if (!Term)
        continue;
      for (unsigned K = 0, N = Term->getNumSuccessors(); K < N; ++K)
        addEdge(ControlFlow, InstNodes[Term], BlockEntry[Term->getSuccessor(K)],
                K);
    }
  }

  /// The entry/returns of a direct callee: an included definition, or (as in
  /// ProGraML) one "; undefined function" node per called declaration, which
  /// the root calls and which returns to the root.
  const FunctionInfo *callee(const Function *Callee) {
    if (!Callee)
      return nullptr;
    auto It = Functions.find(Callee);
    if (It != Functions.end())
      return &It->second;
    if (!Callee->isDeclaration())
      return nullptr;
    int32_t Node = addNode(InstructionNode, intern("; undefined function"), -1, -1,
                           ("declare @" + Callee->getName()).str());
    FunctionInfo &Info = Functions[Callee];
    Info.Entry = Node;
    Info.Returns.push_back(Node);
    addEdge(CallFlow, 0, Node, 0);
    addEdge(CallFlow, Node, 0, 0);
    return &Info;
  }

  void addCalls(const Function &F) {
    const FunctionInfo &Info = Functions[&F];
    addEdge(CallFlow, 0, Info.Entry, 0);
    for (int32_t Ret : Info.Returns)
      addEdge(CallFlow, Ret, 0, 0);
    for (const BasicBlock &BB : F)
      for (const Instruction &I : BB) {
        const auto *CB = dyn_cast<CallBase>(&I);
        if (!CB)
          continue;
        int32_t Site = InstNodes[&I];
        const Function *Callee =
            dyn_cast<Function>(CB->getCalledOperand()->stripPointerCasts());
        const FunctionInfo *Target = callee(Callee);
        if (!Target) { // indirect, or a function outside this graph
          addEdge(CallFlow, Site, 0, 0);
          addEdge(CallFlow, 0, Site, 0);
          continue;
        }
        addEdge(CallFlow, Site, Target->Entry, 0);
        for (int32_t Ret : Target->Returns)
          addEdge(CallFlow, Ret, Site, 0);
      }
  }
};

} // namespace

void buildProgramGraph(const Module &M, const Function *Only,
                       const GraphOptions &Options, ProgramGraph &G) {
  Builder(M, Options, G).build(Only);
}

} // namespace irpipe
