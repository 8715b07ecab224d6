//===- ApplyLoops.cpp - irpipe-apply-loops: per-loop advice as llvm.loop metadata ===//
//
// USAGE:
//   opt-22 -load-pass-plugin=passes/build/lib/libIRPipe.so -passes=irpipe-apply-loops -irpipe-advice=A.json in.ll -S
//   clang-22 -O3 -fpass-plugin=passes/build/lib/libIRPipe.so -mllvm -irpipe-advice=A.json -c a.c
//
// Writes the decided llvm.loop entries of each advised loop (keeping the others),
// refuses forced vectorization of loops with strict FP math (the FP rule), and
// turns on the LLVM options that make -O3 run unroll-and-jam and distribution.
// See include/irpipe/LoopAdvice.h.
//===----------------------------------------------------------------------===//
#include "irpipe/ApplyAdvice.h"
#include "irpipe/LoopAdvice.h"

#include "llvm/Analysis/LoopInfo.h"
#include "llvm/Analysis/ScalarEvolution.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/Metadata.h"
#include "llvm/Support/CommandLine.h"

#include <atomic>
#include <mutex>
#include <set>

using namespace llvm;

static cl::opt<bool> AllowFPReorderOpt(
    "irpipe-allow-fp-reorder",
    cl::desc("let advice force vectorization of loops with strict (non-reassociable) FP "
             "reductions or inductions: results may change (fast-math opt-in)"),
    cl::init(false));

namespace irpipe {

namespace {

// True when the plugin turned -enable-loop-distribute on: loops not advised to
// be distributed are then marked llvm.loop.distribute.enable false.
std::atomic<bool> DistributeOnlyAdvised{false};

// Functions whose loops got advice (the pass gate asks for each optional pass).
std::mutex AdvisedLock;
std::set<const Function *> Advised;

/// Set LLVM's boolean option \p Name to true unless the command line set it;
/// whether this call set it.
bool turnOn(StringRef Name) {
  auto &Opts = cl::getRegisteredOptions();
  auto It = Opts.find(Name);
  if (It == Opts.end()) {
    warn("this LLVM has no -" + Name + " option; advice that needs it has no effect");
    return false;
  }
  if (It->second->getNumOccurrences() > 0)  // the user's own setting wins
    return false;
  return !It->second->addOccurrence(0, Name, "true");  // addOccurrence: true on error
}

/// The llvm.loop entries to drop and to add for \p D on loop \p L (\p Id); the
/// vectorize decision is refused (one warning) by the FP rule.
void metadataFor(const LoopDecisions &D, Loop &L, StringRef Id, ScalarEvolution &SE,
                 SmallVectorImpl<StringRef> &Drop, SmallVectorImpl<MDNode *> &Add) {
  LLVMContext &C = L.getHeader()->getContext();
  auto Flag = [&](StringRef Name) { return MDNode::get(C, MDString::get(C, Name)); };
  auto Int = [&](StringRef Name, unsigned Bits, uint64_t V) {
    Metadata *Ops[] = {MDString::get(C, Name),
                       ConstantAsMetadata::get(ConstantInt::get(IntegerType::get(C, Bits), V))};
    return MDNode::get(C, Ops);
  };
  using U = LoopDecisions::Unroll;
  if (D.U != U::Keep) {
    Drop.append({"llvm.loop.unroll.disable", "llvm.loop.unroll.count", "llvm.loop.unroll.full",
                 "llvm.loop.unroll.enable", "llvm.loop.unroll.runtime.disable"});
    Add.push_back(D.U == U::Count     ? Int("llvm.loop.unroll.count", 32, D.UnrollCount)
                  : D.U == U::Off     ? Flag("llvm.loop.unroll.disable")
                  : D.U == U::Full    ? Flag("llvm.loop.unroll.full")
                  : D.U == U::Runtime ? Flag("llvm.loop.unroll.enable")
                                      : Flag("llvm.loop.unroll.runtime.disable"));
  }
  if (D.Interleave) {
    Drop.push_back("llvm.loop.interleave.count");
    Add.push_back(Int("llvm.loop.interleave.count", 32, *D.Interleave));
  }
  if (D.UnrollAndJam) {
    Drop.append({"llvm.loop.unroll_and_jam.count", "llvm.loop.unroll_and_jam.disable",
                 "llvm.loop.unroll_and_jam.enable"});
    Add.push_back(Int("llvm.loop.unroll_and_jam.count", 32, *D.UnrollAndJam));
  }
  if (D.Distribute) {  // true: no entry, -enable-loop-distribute decides (LoopAdvice.h)
    Drop.push_back("llvm.loop.distribute.enable");
    if (!*D.Distribute)
      Add.push_back(Int("llvm.loop.distribute.enable", 1, 0));
  }
  // Vectorize last: the FP rule may refuse it.
  if (D.V == LoopDecisions::Vectorize::On && !AllowFPReorderOpt) {
    StrictFP FP = strictFP(L, SE);
    if (std::string Why = FP.Reduction.empty() ? FP.Induction : FP.Reduction; !Why.empty()) {
      std::string Said = D.Width ? std::to_string(D.Width) : std::string("\"on\"");
      warn("loop '" + Id + "': refused \"vectorize\": " + Said + ": its " + Why +
           " is strict and a forced vectorization lets LLVM reorder it (results change); "
           "the loop keeps LLVM's choice (-irpipe-allow-fp-reorder allows it)");
      return;
    }
  }
  if (D.V != LoopDecisions::Vectorize::Keep) {
    Drop.append({"llvm.loop.vectorize.enable", "llvm.loop.vectorize.width"});
    if (D.V == LoopDecisions::Vectorize::Off)
      Add.push_back(Int("llvm.loop.vectorize.width", 32, 1));
    else
      Add.push_back(Int("llvm.loop.vectorize.enable", 1, 1));
    if (D.Width)
      Add.push_back(Int("llvm.loop.vectorize.width", 32, D.Width));
  }
}

/// One warning for an advised loop id that \p F does not have.
void warnUnknown(StringRef Id, const Function &F, const std::vector<NamedLoop> &Named) {
  std::string Have;
  for (const NamedLoop &X : Named)
    Have += (Have.empty() ? "" : ", ") + X.Id;
  warn("advice names loop '" + Id + "', which function '" + F.getName() +
       "' does not have when irpipe-apply-loops runs (" +
       (Have.empty() ? std::string("it has no loops") : "its loops: " + Have) + "); ignored");
}

/// Whether LLVM's boolean option \p Name is on (the pipeline runs that pass).
bool optionOn(StringRef Name) {
  auto &Opts = cl::getRegisteredOptions();
  auto It = Opts.find(Name);
  // both options are cl::opt<bool> in LLVM 22 (PassBuilderPipelines.cpp, LoopDistribute.cpp)
  return It != Opts.end() && static_cast<cl::opt<bool> *>(It->second)->getValue();
}

/// Live mode: the server's decisions for the loops \p Named of one function (LoopAdvice.h).
AdvisedLoops liveLoopAdvice(const std::vector<NamedLoop> &Named, LoopInfo &LI, ScalarEvolution &SE) {
  json::Array Listing;
  for (const NamedLoop &N : Named)
    Listing.push_back(loopRecord(loopFacts(N, LI, SE)));
  AdvisedLoops Out;
  std::optional<json::Object> Loops = askServerLoops(
      serverSocket(), std::move(Listing), optionOn("enable-unroll-and-jam"), optionOn("enable-loop-distribute"));
  if (!Loops)
    return Out;
  for (const std::string &Id : sortedKeys(*Loops)) {  // ids sorted, as AdvisedLoops says
    if (const json::Object *D = Loops->getObject(Id))
      Out.emplace_back(Id, parseDecisions(Id, *D));
    else
      warn("irpipe serve's decisions for loop '" + Id + "' are not an object; ignored");
  }
  return Out;
}

} // namespace

void enableLoopPasses(const LoopAdviceSummary &S) {
  if (S.Jam)
    turnOn("enable-unroll-and-jam");
  if (S.Distribute && turnOn("enable-loop-distribute"))
    DistributeOnlyAdvised = true;
}

bool hasLoopAdvice(const Function &F) {
  std::lock_guard<std::mutex> G(AdvisedLock);
  return !Advised.empty() && Advised.count(&F);
}

PreservedAnalyses ApplyLoopAdvicePass::run(Function &F, FunctionAnalysisManager &AM) {
  const AdvisedLoops *Advice = loopAdviceFor(F);
  bool MarkOthers = DistributeOnlyAdvised;
  bool Live = !Advice && liveLoopsRequested() && !liveLoopsGaveUp();
  if (!Advice && !MarkOthers && !Live)
    return PreservedAnalyses::all();
  LoopInfo &LI = AM.getResult<LoopAnalysis>(F);
  ScalarEvolution &SE = AM.getResult<ScalarEvolutionAnalysis>(F);
  std::vector<NamedLoop> Named = loopIds(F, LI);
  AdvisedLoops Answered;
  if (Live && Named.size() > MaxLiveLoops)  // irpipe serve refuses longer listings
    warn("function '" + F.getName() + "' has " + Twine(Named.size()) + " loops, more than a live request "
         "carries (" + Twine(MaxLiveLoops) + "); they keep LLVM's choices");
  else if (Live && !Named.empty()) {
    Answered = liveLoopAdvice(Named, LI, SE);
    Advice = &Answered;
  }
  StringMap<const LoopDecisions *> ById;
  static const AdvisedLoops None;
  for (const auto &Entry : Advice ? *Advice : None) {  // both lvalues: no copy, ById points into it
    const std::string &Id = Entry.first;
    if (llvm::any_of(Named, [&](const NamedLoop &X) { return X.Id == Id; }))
      ById[Id] = &Entry.second;
    else
      warnUnknown(Id, F, Named);
  }
  bool Changed = false, Decided = false;
  for (const NamedLoop &N : Named) {
    SmallVector<StringRef, 8> Drop;
    SmallVector<MDNode *, 4> Add;
    const LoopDecisions *D = ById.lookup(N.Id);
    if (D)
      metadataFor(*D, *N.L, N.Id, SE, Drop, Add);
    if (MarkOthers && !(D && D->Distribute) &&
        !findOptionMDForLoop(N.L, "llvm.loop.distribute.enable")) {
      LLVMContext &C = F.getContext();
      Metadata *Ops[] = {MDString::get(C, "llvm.loop.distribute.enable"),
                         ConstantAsMetadata::get(ConstantInt::getFalse(C))};
      Add.push_back(MDNode::get(C, Ops));
    }
    if (Add.empty() && Drop.empty())
      continue;
    N.L->setLoopID(makePostTransformationMetadata(F.getContext(), N.L->getLoopID(), Drop, Add));
    Changed = true;
    Decided |= D != nullptr;
  }
  if (Decided) {
    std::lock_guard<std::mutex> G(AdvisedLock);
    Advised.insert(&F);
  }
  if (!Changed)
    return PreservedAnalyses::all();
  // Only loop metadata changed: the CFG, loops and SCEV stay valid.
  PreservedAnalyses PA;
  PA.preserveSet<CFGAnalyses>();
  PA.preserve<LoopAnalysis>();
  PA.preserve<ScalarEvolutionAnalysis>();
  return PA;
}

} // namespace irpipe
