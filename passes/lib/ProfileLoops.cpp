//===- ProfileLoops.cpp - count each named loop's entries and iterations ---===//
//
// USAGE:
//   clang-22 -O3 -fpass-plugin=passes/build/lib/libIRPipe.so -mllvm -irpipe-profile-loops prog.c -o prog
//   IRPIPE_LOOP_PROFILE=prof.txt ./prog          # appends one line per loop at exit:
//   irpipe: loop-profile main/L0.1 <entries> <iterations>
//   opt-22 -load-pass-plugin=passes/build/lib/libIRPipe.so -passes=irpipe-loops-profile in.ll -o out.bc
//
// A counting build for trip-count profiles: at the vectorizer start (where loops are named and
// advised, LoopAdvice.h), each named loop gets two counters, one bumped on entry (its
// header, reached from outside the loop: a phi of 1 and 0) and one per iteration (its header). The counters are volatile, so no later pass
// vectorizes, merges or drops them; unrolling copies a header bump into every unrolled copy, so
// the iteration count stays exact. The mean trip count of a loop is iterations / entries. A
// function with loops gets a destructor that appends its lines to the file named by the
// environment variable IRPIPE_LOOP_PROFILE (nothing when it is unset or cannot be opened), so
// the program's own stdout and stderr are untouched. No block or edge is added, so the
// counting build names its loops as the measured builds do.
// The build measures nothing else: its speed is not the program's.
//===----------------------------------------------------------------------===//
#include "irpipe/LoopAdvice.h"

#include "llvm/Analysis/LoopInfo.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/DerivedTypes.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/CFG.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Transforms/Utils/ModuleUtils.h"

using namespace llvm;

static cl::opt<bool> ProfileLoopsOpt(
    "irpipe-profile-loops",
    cl::desc("count each named loop's entries and iterations at the vectorizer start of the "
             "default pipeline; the program appends them to $IRPIPE_LOOP_PROFILE at exit"),
    cl::init(false));

namespace irpipe {

bool profileLoopsRequested() { return ProfileLoopsOpt; }

namespace {

/// counter += \p By, volatile: kept as it is by every later pass.
void bump(IRBuilder<> &B, GlobalVariable *Counters, unsigned Index, Value *By) {
  Type *I64 = B.getInt64Ty();
  Value *Slot = B.CreateConstInBoundsGEP2_64(Counters->getValueType(), Counters, 0, Index);
  LoadInst *Old = B.CreateLoad(I64, Slot, /*isVolatile=*/true);
  B.CreateStore(B.CreateAdd(Old, By), Slot, /*isVolatile=*/true);
}

/// In \p L's header: 1 when it was reached from outside the loop (an entry), 0 from a latch.
Value *enteredFromOutside(Loop &L) {
  BasicBlock *H = L.getHeader();
  Type *I64 = Type::getInt64Ty(H->getContext());
  PHINode *Phi = PHINode::Create(I64, 2, "irpipe.entered");
  Phi->insertBefore(H->begin());
  for (BasicBlock *Pred : predecessors(H))
    Phi->addIncoming(ConstantInt::get(I64, L.contains(Pred) ? 0 : 1), Pred);
  return Phi;
}

/// The destructor that appends one line per loop of \p F to $IRPIPE_LOOP_PROFILE.
void addWriter(Function &F, GlobalVariable *Counters, const std::vector<NamedLoop> &Loops) {
  Module &M = *F.getParent();
  LLVMContext &C = M.getContext();
  Type *I64 = Type::getInt64Ty(C), *I32 = Type::getInt32Ty(C);
  PointerType *Ptr = PointerType::getUnqual(C);
  FunctionCallee Getenv = M.getOrInsertFunction("getenv", FunctionType::get(Ptr, {Ptr}, false));
  FunctionCallee Fopen = M.getOrInsertFunction("fopen", FunctionType::get(Ptr, {Ptr, Ptr}, false));
  FunctionCallee Fprintf = M.getOrInsertFunction("fprintf", FunctionType::get(I32, {Ptr, Ptr}, true));
  FunctionCallee Fclose = M.getOrInsertFunction("fclose", FunctionType::get(I32, {Ptr}, false));
  Function *W = Function::Create(FunctionType::get(Type::getVoidTy(C), false), GlobalValue::InternalLinkage,
                                 "irpipe.loop_profile." + F.getName(), M);
  BasicBlock *Entry = BasicBlock::Create(C, "entry", W), *Open = BasicBlock::Create(C, "open", W),
             *Write = BasicBlock::Create(C, "write", W), *Done = BasicBlock::Create(C, "done", W);
  IRBuilder<> B(Entry);
  Value *Path = B.CreateCall(Getenv, {B.CreateGlobalString("IRPIPE_LOOP_PROFILE")});
  B.CreateCondBr(B.CreateIsNull(Path), Done, Open);
  B.SetInsertPoint(Open);
  Value *File = B.CreateCall(Fopen, {Path, B.CreateGlobalString("a")});
  B.CreateCondBr(B.CreateIsNull(File), Done, Write);
  B.SetInsertPoint(Write);
  Value *Format = B.CreateGlobalString("irpipe: loop-profile %s %llu %llu\n");
  for (unsigned I = 0; I < Loops.size(); ++I) {
    auto Count = [&](unsigned Index) {
      Value *Slot = B.CreateConstInBoundsGEP2_64(Counters->getValueType(), Counters, 0, Index);
      return B.CreateLoad(I64, Slot, /*isVolatile=*/true);
    };
    B.CreateCall(Fprintf, {File, Format, B.CreateGlobalString(Loops[I].Id), Count(2 * I), Count(2 * I + 1)});
  }
  B.CreateCall(Fclose, {File});
  B.CreateBr(Done);
  B.SetInsertPoint(Done);
  B.CreateRetVoid();
  appendToGlobalDtors(M, W, /*Priority=*/0);
}

} // namespace

PreservedAnalyses ProfileLoopsPass::run(Function &F, FunctionAnalysisManager &AM) {
  LoopInfo &LI = AM.getResult<LoopAnalysis>(F);
  if (LI.empty() || F.getName().starts_with("irpipe.loop_profile."))
    return PreservedAnalyses::all();
  std::vector<NamedLoop> Loops = loopIds(F, LI);
  Module &M = *F.getParent();
  ArrayType *Ty = ArrayType::get(Type::getInt64Ty(M.getContext()), 2 * Loops.size());
  auto *Counters = new GlobalVariable(M, Ty, /*isConstant=*/false, GlobalValue::InternalLinkage,
                                      ConstantAggregateZero::get(Ty), "irpipe.loop_counts." + F.getName());
  Type *I64 = Type::getInt64Ty(M.getContext());
  for (unsigned I = 0; I < Loops.size(); ++I) {
    Loop *L = Loops[I].L;
    Value *Entered = enteredFromOutside(*L);
    IRBuilder<> B(&*L->getHeader()->getFirstInsertionPt());
    bump(B, Counters, 2 * I, Entered);
    bump(B, Counters, 2 * I + 1, ConstantInt::get(I64, 1));
  }
  addWriter(F, Counters, Loops);
  PreservedAnalyses PA;  // new instructions only, no new blocks or edges
  PA.preserveSet<CFGAnalyses>();
  return PA;
}

} // namespace irpipe
