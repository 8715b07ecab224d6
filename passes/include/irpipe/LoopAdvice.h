//===- LoopAdvice.h - per-loop decisions through llvm.loop metadata --------===//
//
// USAGE:
//   opt-22 -load-pass-plugin=passes/build/lib/libIRPipe.so -passes='default<O3>' \
//          -irpipe-print-loops in.ll -disable-output        (the ids the clang hook uses)
//   opt-22 -load-pass-plugin=passes/build/lib/libIRPipe.so -passes=irpipe-loops-print \
//          in.ll -disable-output                             (the loops of in.ll as it is)
//   opt-22 -load-pass-plugin=passes/build/lib/libIRPipe.so -passes=irpipe-apply-loops \
//          -irpipe-advice=A.json in.ll -S -o out.ll          (write the metadata only)
//   clang-22 -O3 -fpass-plugin=passes/build/lib/libIRPipe.so -mllvm -irpipe-advice=A.json -c a.c
//
// Loop identity.  A loop is `FUNCTION/L<path>`: top-level loops of the function
// are numbered 0, 1, 2 ... in the order of their header in the function's block
// list, subloops likewise within their parent (`kernel/L1.0` is the first subloop
// of kernel's second loop).  The id depends only on the loop nest and the block
// order, so it is the same in every compile of the same IR at the same point.
//
// Where loops are identified: ONE point, the vectorizer-start extension point
// (PassBuilder::registerVectorizerStartEPCallback) of LLVM's default pipelines
// (-O1..-O3, -Os, -Oz; clang -O2/-O3 are the ones irpipe targets).  Why there:
// the decisions below are consumed by LoopDistribute, LoopVectorize,
// LoopUnrollAndJam and the late LoopUnroll, which all run after it in the same
// function pipeline, and nothing between it and them adds or reorders loops
// (loop-rotate and loop-deletion run in between: they keep loop metadata or
// delete the loop).  Identifying loops earlier would name loops that inlining
// and the early full unroller then duplicate or remove.  Full unrolling of small
// constant-trip loops runs before this point (loop-unroll-full in the function
// simplification pipeline), so loops it removed have no id, and `full` is
// applied as llvm.loop.unroll.full for the late unroller.  `irpipe-loops-print`
// run by hand numbers the loops of the IR it is given; to see the ids a compile
// will use, print at the same point: `-irpipe-print-loops` with `default<O3>`
// (opt) or `-mllvm -irpipe-print-loops` (clang).
//
// Decisions (the "loops" object of an irpipe.advice version 2 module entry,
// irpipe/optimize/advice.py), written as llvm.loop metadata.  Only the decided
// entries are replaced; others (llvm.loop.mustprogress, debug locations) stay:
//   "unroll": N (2..1024)   llvm.loop.unroll.count N
//             "off"         llvm.loop.unroll.disable
//             "full"        llvm.loop.unroll.full
//             "runtime"     llvm.loop.unroll.enable (as `#pragma unroll`: LLVM picks
//                           the count, runtime trip counts included)
//             "no-runtime"  llvm.loop.unroll.runtime.disable (only constant trip
//                           counts may be unrolled)
//   "interleave": N (1..16) llvm.loop.interleave.count N
//   "vectorize": "off"      llvm.loop.vectorize.width 1 (interleaving stays possible)
//                "on"       llvm.loop.vectorize.enable true (LLVM picks the width)
//                N (2..64, a power of two)  enable true + llvm.loop.vectorize.width N
//   "unroll_and_jam": N (2..1024)  llvm.loop.unroll_and_jam.count N
//   "distribute": false            llvm.loop.distribute.enable false
//                 true             (below)
// LLVM's -O3 does not run LoopUnrollAndJam unless -enable-unroll-and-jam is set;
// when the advice file has an unroll_and_jam decision and the command line does
// not set that option, the plugin turns it on, so LLVM runs the pass where it
// puts it (after the vectorizer, before the late unroller).  A hand-written
// `-passes=` pipeline must name `loop(loop-unroll-and-jam)` itself.
// Distribution: LoopDistribute runs in -O3 but only on loops whose
// llvm.loop.distribute.enable is true, or on every loop under
// -enable-loop-distribute; and on a loop marked true it reports a failure as a
// clang warning ("loop not distributed: failed explicitly specified loop
// distribution", an error under -Werror).  So `"distribute": true` does not
// write true: the plugin turns -enable-loop-distribute on (unless the command
// line set it), drops the loop's own entry, and irpipe-apply-loops marks every
// other loop without an entry llvm.loop.distribute.enable false, so only the
// advised loops are distributed, and one that cannot be stays quiet.
//
// The FP rule.  Forcing vectorization (`"on"` or a width) lets LoopVectorize
// reorder floating-point reductions and inductions that the IR says are strict
// (no `reassoc`), which changes results.  Such a decision on a loop with a
// non-reassociable FP reduction or induction (RecurrenceDescriptor /
// InductionDescriptor on its header phis) is refused with one warning, and the
// loop keeps LLVM's own choice, unless `-irpipe-allow-fp-reorder` is given (the
// user's fast-math opt-in).  "off", interleave (LLVM never interleaves a strict
// reduction without a forced width), unroll, unroll-and-jam and distribution do
// not reorder a reduction chain and are never refused.
//
// Failure policy (as ApplyAdvice.h): a compile never fails because of irpipe.
// A bad value, a loop id this module does not have at the vectorizer start, and
// a refused decision each print one "irpipe: warning:" line; the rest applies.
// Advice is a hint: a decision LLVM cannot carry out (a loop that cannot be
// vectorized, unrolled or jammed) leaves the loop as LLVM would.  Forced
// llvm.loop entries that are still there after the loop passes make LLVM's
// transform-warning pass report "loop not vectorized/unrolled: the optimizer was
// unable to perform the requested transformation" as a clang warning
// (-Wpass-failed), an error under -Werror; so the plugin's pass gate skips
// transform-warning in the functions irpipe advised (a `#pragma clang loop` in
// such a function then loses that warning too).
// Live mode.  With -irpipe-server=SOCK and -irpipe-objective=speed, the module
// keeps the default pipeline and irpipe-apply-loops asks the server at the
// vectorizer start for each function that has loops: it sends the function's
// loop listing (the facts irpipe-loops-print prints) as {"op": "loops", ...}
// and applies the answered decisions like an advice file's (same checks, same
// FP rule).  The pipeline is built before any answer comes, so the request says
// whether unroll-and-jam and distribution run (-enable-unroll-and-jam,
// -enable-loop-distribute on the command line) and the policy chooses among
// what the compile can carry out.  A server that is absent, slow or answers
// anything else costs one warning; the process then stops asking (the rest of
// its functions keep LLVM's choices without another deadline each).
//===----------------------------------------------------------------------===//
#ifndef IRPIPE_LOOPADVICE_H
#define IRPIPE_LOOPADVICE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/IR/PassManager.h"
#include "llvm/Support/JSON.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace llvm {
class Loop;
class LoopInfo;
class ScalarEvolution;
} // namespace llvm

namespace irpipe {

/// One loop and its stable id.
struct NamedLoop {
  std::string Id;
  llvm::Loop *L;
};

/// The loops of \p F with their ids, a loop before its subloops, in id order.
std::vector<NamedLoop> loopIds(llvm::Function &F, llvm::LoopInfo &LI);

/// Why forcing vectorization of \p L would reorder strict FP math: the first
/// non-reassociable FP reduction (\p Reduction) or induction (\p Induction) of
/// its header, e.g. "FP reduction %sum (fadd without reassoc)"; "" when none.
struct StrictFP {
  std::string Reduction, Induction;
};
StrictFP strictFP(llvm::Loop &L, llvm::ScalarEvolution &SE);

/// The decisions for one loop; an unset field keeps LLVM's own choice.
struct LoopDecisions {
  enum class Unroll { Keep, Off, Count, Full, Runtime, NoRuntime };
  enum class Vectorize { Keep, Off, On };
  Unroll U = Unroll::Keep;
  unsigned UnrollCount = 0;
  std::optional<unsigned> Interleave;
  Vectorize V = Vectorize::Keep;
  unsigned Width = 0;  // with Vectorize::On: 0 = LLVM picks
  std::optional<unsigned> UnrollAndJam;
  std::optional<bool> Distribute;
};

/// What the listing says of one loop, in the printed order: id, shape, body facts.
using LoopFacts = std::vector<std::pair<std::string, llvm::json::Value>>;
LoopFacts loopFacts(const NamedLoop &N, llvm::LoopInfo &LI, llvm::ScalarEvolution &SE);

/// \p Facts as a JSON object (one entry of a live loops request).
llvm::json::Object loopRecord(const LoopFacts &Facts);

/// The advised loops of one function: (loop id, decisions), ids sorted.
using AdvisedLoops = std::vector<std::pair<std::string, LoopDecisions>>;

/// The advice file's loops of \p F's function, or nullptr.  The first call for
/// a module reads the file and warns once per bad value or loop of a function
/// the module does not define.
const AdvisedLoops *loopAdviceFor(const llvm::Function &F);

/// The function part of a loop id `FUNCTION/L<path>`; nullopt if \p Id is not one.
std::optional<llvm::StringRef> loopIdFunction(llvm::StringRef Id);

/// The keys of \p O sorted (json::Object iterates in hash order): deterministic warnings.
std::vector<std::string> sortedKeys(const llvm::json::Object &O);

/// \p O's decisions for loop \p Id; each bad key or value prints one warning
/// and is dropped.
LoopDecisions parseDecisions(llvm::StringRef Id, const llvm::json::Object &O);

/// What the advice file (-irpipe-advice / $IRPIPE_ADVICE) asks of loops, read
/// without warnings (irpipe-apply reports a bad file): the clang hook adds
/// irpipe-apply-loops only when \c Any; \c Jam and \c Distribute: some loop
/// asks for unroll-and-jam / distribution (see enableLoopPasses).
struct LoopAdviceSummary {
  bool Any = false, Jam = false, Distribute = false;
};
LoopAdviceSummary loopAdviceSummary();

/// Turn on LLVM's -enable-unroll-and-jam (\p S.Jam) and -enable-loop-distribute
/// (\p S.Distribute) unless the command line set them (LoopAdvice.h's top).
void enableLoopPasses(const LoopAdviceSummary &S);

/// The most loops one live request carries (irpipe serve refuses more: irpipe/llvm/loops.py,
/// MAX_LISTED_LOOPS); a function with more keeps LLVM's choices, with one warning.
constexpr size_t MaxLiveLoops = 1024;

/// Live per-loop mode: a server is set and -irpipe-objective=speed (see "Live mode").
bool liveLoopsRequested();

/// True once a live loops request of this process failed: no more are sent.
bool liveLoopsGaveUp();

/// Ask the server at \p Path for the decisions of \p Listing (one function's loop
/// records); the answer's "loops" object, or nullopt after one warning (and then
/// every later call of this process answers nullopt at once).
std::optional<llvm::json::Object> askServerLoops(const std::string &Path, llvm::json::Array Listing,
                                                 bool UnrollAndJam, bool Distribute);

/// -irpipe-print-loops: print the loops at the vectorizer-start point.
bool printLoopsRequested();

/// True once irpipe-apply-loops wrote a decision into \p F: the pass gate then
/// skips LLVM's transform-warning for \p F (see "Failure policy").
bool hasLoopAdvice(const llvm::Function &F);

/// `irpipe-loops-print`: one line per loop on stderr,
/// `irpipe: loop {"id": ..., "depth": ..., "blocks": ..., "trip_count": N|null,
/// "strict_fp_reduction": bool, "strict_fp_induction": bool}`.
class PrintLoopsPass : public llvm::PassInfoMixin<PrintLoopsPass> {
public:
  llvm::PreservedAnalyses run(llvm::Function &F, llvm::FunctionAnalysisManager &AM);
};

/// `irpipe-loops-profile` (and -irpipe-profile-loops at the vectorizer start): count each named
/// loop's entries and iterations; the program appends them to $IRPIPE_LOOP_PROFILE at exit
/// (ProfileLoops.cpp).
class ProfileLoopsPass : public llvm::PassInfoMixin<ProfileLoopsPass> {
public:
  llvm::PreservedAnalyses run(llvm::Function &F, llvm::FunctionAnalysisManager &AM);
};

/// Whether -irpipe-profile-loops was given.
bool profileLoopsRequested();

/// `irpipe-apply-loops`: write the advised loop decisions as llvm.loop metadata.
class ApplyLoopAdvicePass : public llvm::PassInfoMixin<ApplyLoopAdvicePass> {
public:
  llvm::PreservedAnalyses run(llvm::Function &F, llvm::FunctionAnalysisManager &AM);
};

} // namespace irpipe

#endif
