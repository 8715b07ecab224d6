//===- Features.cpp - CompilerGym's InstCount and Autophase on LLVM 22 ----===//
//
// Definitions follow CompilerGym (compiler_gym/third_party/llvm/InstCount.cc
// and compiler_gym/third_party/autophase/InstCount.cc, LLVM 10), including
// their quirks:
//   * TotalFuncs counts every function of the module, declarations too;
//   * constants are counted per operand slot (an alloca's implicit `i32 1`
//     array size counts as a 32-bit constant and as a one);
//   * predecessor counts include duplicate edges (one per terminator use);
//   * BeginPhi counts blocks that start with a PHI, not PHIs;
//   * returnInt counts direct `call`s (not invoke) of integer-returning
//     functions, intrinsics included.
// LLVM 22 only: `ptrtoaddr` (new in LLVM 22) is counted under PtrToInt, so
// that TotalInsts stays the sum of the 67 opcode counts.  Debug intrinsics,
// which LLVM 10 counted as calls, are debug records in LLVM 22 and not
// instructions at all.
//
//===----------------------------------------------------------------------===//
#include "irpipe/Features.h"

#include "llvm/Analysis/CFG.h"
#include "llvm/IR/CFG.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/InstrTypes.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/Module.h"

#include <cstring>

using namespace llvm;

namespace irpipe {

const char *const InstCountNames[InstCountSize] = {
    "TotalInsts", "TotalBlocks", "TotalFuncs", "Ret", "Br", "Switch",
    "IndirectBr", "Invoke", "Resume", "Unreachable", "CleanupRet", "CatchRet",
    "CatchSwitch", "CallBr", "FNeg", "Add", "FAdd", "Sub", "FSub", "Mul",
    "FMul", "UDiv", "SDiv", "FDiv", "URem", "SRem", "FRem", "Shl", "LShr",
    "AShr", "And", "Or", "Xor", "Alloca", "Load", "Store", "GetElementPtr",
    "Fence", "AtomicCmpXchg", "AtomicRMW", "Trunc", "ZExt", "SExt", "FPToUI",
    "FPToSI", "UIToFP", "SIToFP", "FPTrunc", "FPExt", "PtrToInt", "IntToPtr",
    "BitCast", "AddrSpaceCast", "CleanupPad", "CatchPad", "ICmp", "FCmp",
    "PHI", "Call", "Select", "UserOp1", "UserOp2", "VAArg", "ExtractElement",
    "InsertElement", "ShuffleVector", "ExtractValue", "InsertValue",
    "LandingPad", "Freeze"};

const char *const AutophaseNames[AutophaseSize] = {
    "BBNumArgsHi", "BBNumArgsLo", "onePred", "onePredOneSuc", "onePredTwoSuc",
    "oneSuccessor", "twoPred", "twoPredOneSuc", "twoEach", "twoSuccessor",
    "morePreds", "BB03Phi", "BBHiPhi", "BBNoPhi", "BeginPhi", "BranchCount",
    "returnInt", "CriticalCount", "NumEdges", "const32Bit", "const64Bit",
    "numConstZeroes", "numConstOnes", "UncondBranches", "binaryConstArg",
    "NumAShrInst", "NumAddInst", "NumAllocaInst", "NumAndInst", "BlockMid",
    "BlockLow", "NumBitCastInst", "NumBrInst", "NumCallInst",
    "NumGetElementPtrInst", "NumICmpInst", "NumLShrInst", "NumLoadInst",
    "NumMulInst", "NumOrInst", "NumPHIInst", "NumRetInst", "NumSExtInst",
    "NumSelectInst", "NumShlInst", "NumStoreInst", "NumSubInst",
    "NumTruncInst", "NumXorInst", "NumZExtInst", "TotalBlocks", "TotalInsts",
    "TotalMemInst", "TotalFuncs", "ArgsPhi", "testUnary"};

namespace {

/// InstCount slot (3..69) of an LLVM 22 opcode.
int instCountSlot(unsigned Opcode) {
  switch (Opcode) {
#define SLOT(OP, N)                                                            \
  case Instruction::OP:                                                        \
    return N;
    SLOT(Ret, 3) SLOT(Br, 4) SLOT(Switch, 5) SLOT(IndirectBr, 6)
    SLOT(Invoke, 7) SLOT(Resume, 8) SLOT(Unreachable, 9) SLOT(CleanupRet, 10)
    SLOT(CatchRet, 11) SLOT(CatchSwitch, 12) SLOT(CallBr, 13) SLOT(FNeg, 14)
    SLOT(Add, 15) SLOT(FAdd, 16) SLOT(Sub, 17) SLOT(FSub, 18) SLOT(Mul, 19)
    SLOT(FMul, 20) SLOT(UDiv, 21) SLOT(SDiv, 22) SLOT(FDiv, 23) SLOT(URem, 24)
    SLOT(SRem, 25) SLOT(FRem, 26) SLOT(Shl, 27) SLOT(LShr, 28) SLOT(AShr, 29)
    SLOT(And, 30) SLOT(Or, 31) SLOT(Xor, 32) SLOT(Alloca, 33) SLOT(Load, 34)
    SLOT(Store, 35) SLOT(GetElementPtr, 36) SLOT(Fence, 37)
    SLOT(AtomicCmpXchg, 38) SLOT(AtomicRMW, 39) SLOT(Trunc, 40) SLOT(ZExt, 41)
    SLOT(SExt, 42) SLOT(FPToUI, 43) SLOT(FPToSI, 44) SLOT(UIToFP, 45)
    SLOT(SIToFP, 46) SLOT(FPTrunc, 47) SLOT(FPExt, 48) SLOT(PtrToInt, 49)
    SLOT(PtrToAddr, 49) SLOT(IntToPtr, 50) SLOT(BitCast, 51)
    SLOT(AddrSpaceCast, 52) SLOT(CleanupPad, 53) SLOT(CatchPad, 54)
    SLOT(ICmp, 55) SLOT(FCmp, 56) SLOT(PHI, 57) SLOT(Call, 58)
    SLOT(Select, 59) SLOT(UserOp1, 60) SLOT(UserOp2, 61) SLOT(VAArg, 62)
    SLOT(ExtractElement, 63) SLOT(InsertElement, 64) SLOT(ShuffleVector, 65)
    SLOT(ExtractValue, 66) SLOT(InsertValue, 67) SLOT(LandingPad, 68)
    SLOT(Freeze, 69)
#undef SLOT
  default:
    return -1;
  }
}

template <typename Fn>
void forFunctions(const Module &M, const Function *Only, Fn Visit) {
  if (Only)
    Visit(*Only);
  else
    for (const Function &F : M)
      Visit(F);
}

} // namespace

void computeInstCount(const Module &M, const Function *Only, int64_t *Out) {
  std::memset(Out, 0, sizeof(int64_t) * InstCountSize);
  forFunctions(M, Only, [&](const Function &F) {
    ++Out[2];
    for (const BasicBlock &BB : F) {
      ++Out[1];
      for (const Instruction &I : BB) {
        ++Out[0];
        int Slot = instCountSlot(I.getOpcode());
        if (Slot >= 0)
          ++Out[Slot];
      }
    }
  });
}

namespace {

/// Autophase counters, named as in CompilerGym's autophase/InstCount.h.
struct Autophase {
  int64_t BBNumArgsHi = 0, BBNumArgsLo = 0, onePred = 0, onePredOneSuc = 0,
          onePredTwoSuc = 0, oneSuccessor = 0, twoPred = 0, twoPredOneSuc = 0,
          twoEach = 0, twoSuccessor = 0, morePreds = 0, BB03Phi = 0,
          BBHiPhi = 0, BBNoPhi = 0, BeginPhi = 0, BranchCount = 0,
          returnInt = 0, CriticalCount = 0, NumEdges = 0, const32Bit = 0,
          const64Bit = 0, numConstZeroes = 0, numConstOnes = 0,
          UncondBranches = 0, binaryConstArg = 0, BlockMid = 0, BlockLow = 0,
          TotalBlocks = 0, TotalInsts = 0, TotalMemInst = 0, TotalFuncs = 0,
          ArgsPhi = 0, testUnary = 0;
  int64_t Opcode[InstCountSize] = {0}; // by InstCount slot

  int64_t op(unsigned Opcode) const { return this->Opcode[instCountSlot(Opcode)]; }

  void visitBlock(const BasicBlock &BB) {
    ++TotalBlocks;
    const Instruction *Term = BB.getTerminator();
    unsigned NumSucc = Term ? Term->getNumSuccessors() : 0;
    for (unsigned K = 0; K < NumSucc; ++K) {
      ++NumEdges;
      if (isCriticalEdge(Term, K))
        ++CriticalCount;
    }
    unsigned NumPreds = (unsigned)std::distance(pred_begin(&BB), pred_end(&BB));
    if (NumSucc == 1)
      ++oneSuccessor;
    else if (NumSucc == 2)
      ++twoSuccessor;
    if (NumPreds == 1)
      ++onePred;
    else if (NumPreds == 2)
      ++twoPred;
    else if (NumPreds > 2)
      ++morePreds;
    if (NumPreds == 1 && NumSucc == 1)
      ++onePredOneSuc;
    else if (NumPreds == 2 && NumSucc == 1)
      ++twoPredOneSuc;
    else if (NumPreds == 1 && NumSucc == 2)
      ++onePredTwoSuc;
    else if (NumPreds == 2 && NumSucc == 2)
      ++twoEach;

    unsigned Count = 0, Phis = 0, Incoming = 0;
    bool First = true;
    for (const Instruction &I : BB) {
      ++TotalInsts;
      int Slot = instCountSlot(I.getOpcode());
      if (Slot >= 0)
        ++Opcode[Slot];
      if (const auto *Br = dyn_cast<BranchInst>(&I)) {
        ++BranchCount;
        if (Br->isUnconditional())
          ++UncondBranches;
      }
      for (const Value *V : I.operand_values())
        if (const auto *CI = dyn_cast<ConstantInt>(V)) {
          const APInt &Val = CI->getValue();
          if (Val.getBitWidth() == 32)
            ++const32Bit;
          else if (Val.getBitWidth() == 64)
            ++const64Bit;
          if (Val == 1)
            ++numConstOnes;
          else if (Val == 0)
            ++numConstZeroes;
        }
      if (const auto *Call = dyn_cast<CallInst>(&I))
        if (const Function *Callee = Call->getCalledFunction())
          if (Callee->getReturnType()->isIntegerTy())
            ++returnInt;
      if (isa<UnaryInstruction>(I))
        ++testUnary;
      if (isa<BinaryOperator>(I) &&
          (isa<Constant>(I.getOperand(0)) || isa<Constant>(I.getOperand(1))))
        ++binaryConstArg;
      if (const auto *Phi = dyn_cast<PHINode>(&I)) {
        if (First)
          ++BeginPhi;
        ++Phis;
        ArgsPhi += Phi->getNumIncomingValues();
        Incoming += Phi->getNumIncomingValues();
      }
      First = false;
      ++Count;
    }
    if (Phis == 0)
      ++BBNoPhi;
    else if (Phis <= 3)
      ++BB03Phi;
    else
      ++BBHiPhi;
    if (Incoming > 5)
      ++BBNumArgsHi;
    else if (Incoming >= 1)
      ++BBNumArgsLo;
    if (Count < 15)
      ++BlockLow;
    else if (Count <= 500)
      ++BlockMid;
  }

  void write(int64_t *Out) const {
    using I = Instruction;
    const int64_t Values[AutophaseSize] = {
        BBNumArgsHi, BBNumArgsLo, onePred, onePredOneSuc, onePredTwoSuc,
        oneSuccessor, twoPred, twoPredOneSuc, twoEach, twoSuccessor, morePreds,
        BB03Phi, BBHiPhi, BBNoPhi, BeginPhi, BranchCount, returnInt,
        CriticalCount, NumEdges, const32Bit, const64Bit, numConstZeroes,
        numConstOnes, UncondBranches, binaryConstArg, op(I::AShr), op(I::Add),
        op(I::Alloca), op(I::And), BlockMid, BlockLow, op(I::BitCast),
        op(I::Br), op(I::Call), op(I::GetElementPtr), op(I::ICmp), op(I::LShr),
        op(I::Load), op(I::Mul), op(I::Or), op(I::PHI), op(I::Ret),
        op(I::SExt), op(I::Select), op(I::Shl), op(I::Store), op(I::Sub),
        op(I::Trunc), op(I::Xor), op(I::ZExt), TotalBlocks, TotalInsts,
        op(I::GetElementPtr) + op(I::Load) + op(I::Store) + op(I::Call) +
            op(I::Invoke) + op(I::Alloca),
        TotalFuncs, ArgsPhi, testUnary};
    std::memcpy(Out, Values, sizeof(Values));
  }
};

} // namespace

void computeAutophase(const Module &M, const Function *Only, int64_t *Out) {
  Autophase A;
  forFunctions(M, Only, [&](const Function &F) {
    ++A.TotalFuncs;
    for (const BasicBlock &BB : F)
      A.visitBlock(BB);
  });
  A.write(Out);
}

} // namespace irpipe
