//===- SafePipeline.h - only pipelines irpipe has verified run in a compiler ===//
//
// USAGE (what ApplyAdvicePass does before it runs an advised pipeline):
//   std::string Why = irpipe::unsafeNest(irpipe::canonicalPipeline(MPM, PB));
//   if (Why.empty() && !Verified) Why = irpipe::trialRun(M, RunAdvice, TimeoutMs);
//   if (!Why.empty()) warn(...);   // and the module keeps the default pipeline
//
// A textual pipeline that parses can still abort LLVM (report_fatal_error,
// then clang exits 1 with no object).  Two checks stand between an advised
// pipeline and the compile:
//
// 1. A grammar of safe loop nests, on the pipeline as PassBuilder built it
//    (printPipeline: implicit adaptors written out, e.g. `function(licm)` is
//    `function(loop(licm<allowspeculation>))`).  Each pass inside a
//    `loop-mssa(...)` nest must be one that preserves MemorySSA (else LLVM
//    aborts "Loop pass manager using MemorySSA contains a pass that does not
//    preserve MemorySSA" as soon as that pass changes a loop), and licm/lnicm
//    may not run in a `loop(...)` nest ("LICM requires MemorySSA").  Static,
//    module-independent, free.
// 2. A trial run: the advised pipelines run first in a fork()ed child on its
//    copy of the module, with a time limit; the child exits 0 only when they
//    finished and the module verifies.  An abort, a signal, a non-verifying
//    result or the time limit each reject the advice.  The verdict is cached
//    per (module structural hash, pipelines) for the process.
//===----------------------------------------------------------------------===//
#ifndef IRPIPE_SAFEPIPELINE_H
#define IRPIPE_SAFEPIPELINE_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/IR/PassInstrumentation.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace llvm {
class Module;
}

namespace irpipe {

/// \p PM as PassBuilder's printPipeline writes it, with registered pass names
/// (class names for passes PassBuilder does not know).
template <typename PassManagerT>
std::string canonicalPipeline(PassManagerT &PM, llvm::PassBuilder &PB) {
  std::string Out;
  llvm::raw_string_ostream OS(Out);
  llvm::PassInstrumentationCallbacks *PIC = PB.getPassInstrumentationCallbacks();
  PM.printPipeline(OS, [PIC](llvm::StringRef ClassName) {
    llvm::StringRef Name = PIC ? PIC->getPassNameForClassName(ClassName) : "";
    return Name.empty() ? ClassName : Name;
  });
  return Out;
}

/// Why the canonical pipeline \p Text breaks the loop-nest grammar (LLVM would
/// abort on a module where the offending pass changes a loop), or "".
std::string unsafeNest(llvm::StringRef Text);

/// Run \p Body on \p M in a fork()ed child (its own copy of the module); "" when
/// it returned within \p TimeoutMs and the module then verifies, else why not
/// (one line).  \p Key names the pipelines for the per-process verdict cache.
std::string trialRun(llvm::Module &M, llvm::StringRef Key,
                     llvm::function_ref<void(llvm::Module &)> Body,
                     unsigned TimeoutMs);

/// The trial's time limit (-irpipe-trial-ms); 0 = no trial run.
unsigned trialTimeoutMs();

} // namespace irpipe

#endif
