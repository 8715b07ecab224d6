//===- LoopIds.cpp - stable loop ids and the facts irpipe enumerates --------===//
//
// USAGE:
//   opt-22 -load-pass-plugin=passes/build/lib/libIRPipe.so -passes=irpipe-loops-print in.ll -disable-output
//   opt-22 -load-pass-plugin=passes/build/lib/libIRPipe.so -passes='default<O3>' -irpipe-print-loops in.ll -disable-output
//   clang-22 -O3 -fpass-plugin=passes/build/lib/libIRPipe.so -mllvm -irpipe-print-loops -mllvm -irpipe-loop-ir=DIR -c a.c
//
// Names each loop `FUNCTION/L<path>` and prints one line per loop on stderr:
//   irpipe: loop {"id":"kernel/L1.0","depth":2,"blocks":3,"trip_count":100,
//                 "strict_fp_reduction":false,"strict_fp_induction":false,"instructions":14,...}
// The keys after strict_fp_induction describe the loop's body (its blocks, subloops included):
// what it computes and how it touches memory (LoopBody below).
// With -irpipe-loop-ir=DIR it also writes the module there, once per function with loops, to
// DIR/<function>.ll and lists each loop's "block_positions" (its blocks' indices in the function).
// (LoopAdvice.h: the id scheme, why the ids are taken at the vectorizer start.)
//===----------------------------------------------------------------------===//
#include "irpipe/LoopAdvice.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/Analysis/IVDescriptors.h"
#include "llvm/Analysis/LoopInfo.h"
#include "llvm/Analysis/ScalarEvolution.h"
#include "llvm/Analysis/ScalarEvolutionExpressions.h"
#include "llvm/IR/DataLayout.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/IntrinsicInst.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace llvm;

static cl::opt<bool> PrintLoopsOpt(
    "irpipe-print-loops",
    cl::desc("print each loop's irpipe id and facts at the vectorizer start of the default "
             "pipeline (the point where irpipe-apply-loops applies advice)"),
    cl::init(false));

static cl::opt<std::string> LoopIROpt(
    "irpipe-loop-ir",
    cl::desc("with the loop listing: write the module as it is there, once per function with loops, "
             "to DIR/<function>.ll, and list each loop's block positions in its function "
             "(\"block_positions\"), so that a program graph of that IR can be cut per loop"),
    cl::value_desc("DIR"), cl::init(""));

namespace irpipe {

bool printLoopsRequested() { return PrintLoopsOpt; }

namespace {

/// Append \p Loops (siblings) sorted by header position, each before its subloops.
void number(ArrayRef<Loop *> Loops, const std::string &Prefix,
            const DenseMap<const BasicBlock *, unsigned> &Position, std::vector<NamedLoop> &Out) {
  std::vector<Loop *> Sorted(Loops.begin(), Loops.end());
  std::sort(Sorted.begin(), Sorted.end(), [&](Loop *A, Loop *B) {
    return Position.lookup(A->getHeader()) < Position.lookup(B->getHeader());
  });
  for (size_t I = 0; I < Sorted.size(); ++I) {
    std::string Id = Prefix + std::to_string(I);
    Out.push_back({Id, Sorted[I]});
    number(Sorted[I]->getSubLoops(), Id + ".", Position, Out);
  }
}

/// \p V as an operand (`%sum`, `%5`), for a warning.
std::string valueName(const Value &V) {
  std::string S;
  raw_string_ostream OS(S);
  V.printAsOperand(OS, /*PrintType=*/false);
  return S;
}

/// What \p I computes, for a warning: `fadd`, `llvm.fmuladd.f32`.
std::string opName(const Instruction &I) {
  if (const auto *Call = dyn_cast<CallBase>(&I))
    if (const Function *Callee = Call->getCalledFunction())
      return Callee->getName().str();
  return I.getOpcodeName();
}

/// What a loop's body computes and how it touches memory, counted over its blocks (subloops
/// included).  Each load and store is classed by its address relative to the innermost loop
/// holding it: contiguous (steps by its own size), strided (another constant step), invariant,
/// or indirect (not an affine function of that loop: a gather or scatter).
struct LoopBody {
  int64_t Instructions = 0, Loads = 0, Stores = 0, FPOps = 0, IntOps = 0, Calls = 0, CondBranches = 0;
  int64_t Contiguous = 0, Strided = 0, Invariant = 0, Indirect = 0, Reductions = 0;
  int64_t MinAccessBits = 0, MaxAccessBits = 0;
};

void access(LoopBody &B, Value *Ptr, Type *Ty, const BasicBlock &BB, LoopInfo &LI, ScalarEvolution &SE) {
  const DataLayout &DL = BB.getDataLayout();
  int64_t Bits = static_cast<int64_t>(DL.getTypeSizeInBits(Ty).getKnownMinValue());
  B.MinAccessBits = B.MinAccessBits ? std::min(B.MinAccessBits, Bits) : Bits;
  B.MaxAccessBits = std::max(B.MaxAccessBits, Bits);
  Loop *Inner = LI.getLoopFor(&BB);
  const SCEV *S = SE.getSCEV(Ptr);
  if (SE.isLoopInvariant(S, Inner)) {
    ++B.Invariant;
    return;
  }
  const auto *Rec = dyn_cast<SCEVAddRecExpr>(S);
  const auto *Step = Rec && Rec->getLoop() == Inner && Rec->isAffine()
                         ? dyn_cast<SCEVConstant>(Rec->getStepRecurrence(SE)) : nullptr;
  if (!Step)
    ++B.Indirect;
  else if (Step->getAPInt().abs() == static_cast<uint64_t>(DL.getTypeStoreSize(Ty).getKnownMinValue()))
    ++B.Contiguous;
  else
    ++B.Strided;
}

LoopBody loopBody(Loop &L, LoopInfo &LI, ScalarEvolution &SE) {
  LoopBody B;
  for (BasicBlock *BB : L.blocks())
    for (Instruction &I : *BB) {
      ++B.Instructions;
      if (auto *Ld = dyn_cast<LoadInst>(&I)) {
        ++B.Loads;
        access(B, Ld->getPointerOperand(), Ld->getType(), *BB, LI, SE);
      } else if (auto *St = dyn_cast<StoreInst>(&I)) {
        ++B.Stores;
        access(B, St->getPointerOperand(), St->getValueOperand()->getType(), *BB, LI, SE);
      } else if (auto *Br = dyn_cast<BranchInst>(&I)) {
        B.CondBranches += Br->isConditional();
      } else if (auto *II = dyn_cast<IntrinsicInst>(&I)) {
        B.FPOps += II->getType()->isFPOrFPVectorTy();
      } else if (isa<CallBase>(&I)) {
        ++B.Calls;
      } else if (I.isBinaryOp() || isa<UnaryOperator>(&I)) {
        (I.getType()->isFPOrFPVectorTy() ? B.FPOps : B.IntOps) += 1;
      }
    }
  if (L.getLoopPreheader() && L.getLoopLatch())
    for (PHINode &Phi : L.getHeader()->phis()) {
      RecurrenceDescriptor RD;
      B.Reductions += RecurrenceDescriptor::isReductionPHI(&Phi, &L, RD, nullptr, nullptr, nullptr, &SE);
    }
  return B;
}

/// Each block's index in \p F's block list: the order loop ids and block_positions follow.
DenseMap<const BasicBlock *, unsigned> blockPositions(const Function &F) {
  DenseMap<const BasicBlock *, unsigned> Position;
  unsigned I = 0;
  for (const BasicBlock &BB : F)
    Position[&BB] = I++;
  return Position;
}

/// -irpipe-loop-ir: the module as it is at the listing, to DIR/<function>.ll (a warning, never
/// a failed compile, when it cannot be written).
void writeModuleAt(const Function &F) {
  SmallString<256> Path(LoopIROpt.getValue());
  std::string Name = F.getName().str();
  for (char &C : Name)
    if (!isalnum(static_cast<unsigned char>(C)) && C != '_' && C != '.' && C != '-')
      C = '_';
  sys::path::append(Path, Name + ".ll");
  std::error_code EC = sys::fs::create_directories(LoopIROpt.getValue());
  raw_fd_ostream Out(Path, EC, sys::fs::OF_Text);
  if (EC) {
    errs() << "irpipe: warning: cannot write " << Path << ": " << EC.message() << "\n";
    return;
  }
  F.getParent()->print(Out, nullptr);
}

} // namespace

std::vector<NamedLoop> loopIds(Function &F, LoopInfo &LI) {
  DenseMap<const BasicBlock *, unsigned> Position = blockPositions(F);
  std::vector<Loop *> Top(LI.begin(), LI.end());
  std::vector<NamedLoop> Out;
  number(Top, F.getName().str() + "/L", Position, Out);
  return Out;
}

StrictFP strictFP(Loop &L, ScalarEvolution &SE) {
  StrictFP Out;
  // The descriptors need a preheader and one latch; a loop without them (not
  // yet in simplified form) counts each FP header phi as strict.
  bool Simplified = L.getLoopPreheader() && L.getLoopLatch();
  for (PHINode &Phi : L.getHeader()->phis()) {
    if (!Phi.getType()->isFloatingPointTy())
      continue;
    if (!Simplified) {
      if (Out.Reduction.empty())
        Out.Reduction = "FP header phi " + valueName(Phi) + " (loop not in simplified form)";
      continue;
    }
    RecurrenceDescriptor RD;
    InductionDescriptor ID;
    if (RecurrenceDescriptor::isReductionPHI(&Phi, &L, RD, nullptr, nullptr, nullptr, &SE)) {
      if (RecurrenceDescriptor::isFloatingPointRecurrenceKind(RD.getRecurrenceKind()) &&
          RD.hasExactFPMath() && Out.Reduction.empty())
        Out.Reduction = "FP reduction " + valueName(Phi) + " (" +
                        opName(*RD.getExactFPMathInst()) + " without reassoc)";
    } else if (InductionDescriptor::isFPInductionPHI(&Phi, &L, &SE, ID) &&
               ID.getExactFPMathInst() && Out.Induction.empty()) {
      Out.Induction = "FP induction " + valueName(Phi) + " (" +
                      opName(*ID.getExactFPMathInst()) + " without reassoc)";
    }
  }
  return Out;
}

LoopFacts loopFacts(const NamedLoop &N, LoopInfo &LI, ScalarEvolution &SE) {
  StrictFP FP = strictFP(*N.L, SE);
  unsigned Trip = SE.getSmallConstantTripCount(N.L);
  LoopFacts Out = {{"id", N.Id},
                   {"depth", static_cast<int64_t>(N.L->getLoopDepth())},
                   {"blocks", static_cast<int64_t>(N.L->getNumBlocks())},
                   {"trip_count", Trip ? json::Value(static_cast<int64_t>(Trip)) : json::Value(nullptr)},
                   {"strict_fp_reduction", !FP.Reduction.empty()},
                   {"strict_fp_induction", !FP.Induction.empty()}};
  LoopBody B = loopBody(*N.L, LI, SE);
  for (auto [Key, Value] : {std::pair<const char *, int64_t>{"instructions", B.Instructions},
                            {"loads", B.Loads}, {"stores", B.Stores}, {"fp_ops", B.FPOps},
                            {"int_ops", B.IntOps}, {"calls", B.Calls}, {"cond_branches", B.CondBranches},
                            {"contiguous", B.Contiguous}, {"strided", B.Strided},
                            {"invariant", B.Invariant}, {"indirect", B.Indirect},
                            {"reductions", B.Reductions}, {"min_access_bits", B.MinAccessBits},
                            {"max_access_bits", B.MaxAccessBits}})
    Out.emplace_back(Key, Value);
  return Out;
}

json::Object loopRecord(const LoopFacts &Facts) {
  json::Object O;
  for (const auto &[Key, Value] : Facts)
    O[Key] = Value;
  return O;
}

PreservedAnalyses PrintLoopsPass::run(Function &F, FunctionAnalysisManager &AM) {
  LoopInfo &LI = AM.getResult<LoopAnalysis>(F);
  if (LI.empty())
    return PreservedAnalyses::all();
  ScalarEvolution &SE = AM.getResult<ScalarEvolutionAnalysis>(F);
  DenseMap<const BasicBlock *, unsigned> Position;
  if (!LoopIROpt.empty()) {
    writeModuleAt(F);
    Position = blockPositions(F);
  }
  for (const NamedLoop &N : loopIds(F, LI)) {
    std::string Line;
    raw_string_ostream OS(Line);
    json::OStream J(OS);
    J.object([&] {  // in the facts' order (a json::Object would print its keys sorted)
      for (const auto &[Key, Value] : loopFacts(N, LI, SE))
        J.attribute(Key, Value);
      if (!LoopIROpt.empty())
        J.attributeArray("block_positions", [&] {
          std::vector<int64_t> At;
          for (const BasicBlock *BB : N.L->blocks())
            At.push_back(Position.lookup(BB));
          std::sort(At.begin(), At.end());
          for (int64_t P : At)
            J.value(P);
        });
    });
    errs() << "irpipe: loop " << Line << "\n";
  }
  return PreservedAnalyses::all();
}

} // namespace irpipe
