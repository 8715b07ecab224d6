//===- Plugin.cpp - the irpipe new-PM pass plugin (libIRPipe.so) ----------===//
//
// USAGE:
//   opt-22 -load-pass-plugin=libIRPipe.so -passes=irpipe-apply -irpipe-advice=A.json in.ll
//   clang-22 -O2 -fpass-plugin=libIRPipe.so -mllvm -irpipe-advice=A.json -c a.c
//
// Registers `irpipe-apply` for textual pipelines (it runs the advised pipeline
// where it stands), and hooks the start of the default optimization pipeline
// (PipelineStartEP) so that an ordinary `clang -O2 -fpass-plugin=...` build
// *replaces* the default pipeline by the advised one for each advised module:
// the advised passes run on clang's unoptimized IR, exactly what irpipe
// optimize measured, and a pass gate (ShouldRunOptionalPass) then skips the
// optional passes of the default pipeline for that module.  Required passes
// still run; codegen keeps the build's -O level.  A module without advice (or
// whose advice fails) keeps the whole default pipeline; so does a module whose
// advised pipeline would abort LLVM (SafePipeline.h: a loop-nest grammar and a
// forked trial run).  Without an advice file or server the hook adds nothing.
//
// Per-loop advice (LoopAdvice.h): registers the function passes
// `irpipe-loops-print` (alias `irpipe-loops`) and `irpipe-apply-loops`, and
// hooks the vectorizer start of the default pipeline: -irpipe-print-loops
// prints the loop ids there, and an advice file with "loops" (version 2) adds
// irpipe-apply-loops there (and turns on -enable-unroll-and-jam and
// -enable-loop-distribute when it has such decisions); so does a live server
// with -irpipe-objective=speed, which then decides loops only (LoopAdvice.h).
// -irpipe-profile-loops (or the function pass `irpipe-loops-profile`) adds
// counters there instead: a build for trip-count profiles (ProfileLoops.cpp).
//===----------------------------------------------------------------------===//
#include "irpipe/ApplyAdvice.h"
#include "irpipe/LoopAdvice.h"

#include "llvm/Analysis/LazyCallGraph.h"
#include "llvm/Analysis/LoopInfo.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/PassInstrumentation.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Plugins/PassPlugin.h"

using namespace llvm;

/// The module an IR unit handed to pass instrumentation belongs to (or null).
static const Module *unitModule(const Any &IR) {
  if (const auto *M = llvm::any_cast<const Module *>(&IR))
    return *M;
  if (const auto *F = llvm::any_cast<const Function *>(&IR))
    return (*F)->getParent();
  if (const auto *L = llvm::any_cast<const Loop *>(&IR))
    return (*L)->getHeader()->getModule();
  if (const auto *C = llvm::any_cast<const LazyCallGraph::SCC *>(&IR))
    return (*C)->begin()->getFunction().getParent();
  return nullptr;
}

static void registerCallbacks(PassBuilder &PB) {
  PB.registerPipelineParsingCallback(
      [&PB](StringRef Name, ModulePassManager &MPM,
            ArrayRef<PassBuilder::PipelineElement>) {
        if (Name != "irpipe-apply")
          return false;
        MPM.addPass(irpipe::ApplyAdvicePass(PB, /*Replace=*/false));
        return true;
      });
  PB.registerPipelineParsingCallback(
      [](StringRef Name, FunctionPassManager &FPM, ArrayRef<PassBuilder::PipelineElement>) {
        if (Name == "irpipe-loops-print" || Name == "irpipe-loops")
          FPM.addPass(irpipe::PrintLoopsPass());
        else if (Name == "irpipe-apply-loops")
          FPM.addPass(irpipe::ApplyLoopAdvicePass());
        else if (Name == "irpipe-loops-profile")
          FPM.addPass(irpipe::ProfileLoopsPass());
        else
          return false;
        return true;
      });
  // Loops are named and advised at ONE point: the vectorizer start (LoopAdvice.h says why).
  irpipe::LoopAdviceSummary Loops = irpipe::loopAdviceSummary();
  irpipe::enableLoopPasses(Loops);
  PB.registerVectorizerStartEPCallback([Loops](FunctionPassManager &FPM, OptimizationLevel) {
    if (irpipe::printLoopsRequested())
      FPM.addPass(irpipe::PrintLoopsPass());
    if (Loops.Any || irpipe::liveLoopsRequested())
      FPM.addPass(irpipe::ApplyLoopAdvicePass());
    if (irpipe::profileLoopsRequested())
      FPM.addPass(irpipe::ProfileLoopsPass());
  });
  PB.registerPipelineStartEPCallback(
      [&PB](ModulePassManager &MPM, OptimizationLevel Level) {
        // live speed asks per loop (above), not for the module's pipeline
        if (Level != OptimizationLevel::O0 &&
            (!irpipe::adviceFile().empty() ||
             (!irpipe::serverSocket().empty() && !irpipe::liveLoopsRequested())))
          MPM.addPass(irpipe::ApplyAdvicePass(PB, /*Replace=*/true));
      });
  if (PassInstrumentationCallbacks *PIC = PB.getPassInstrumentationCallbacks())
    PIC->registerShouldRunOptionalPassCallback([](StringRef Pass, Any IR) {
      // Leftover forced loop metadata of irpipe's advice is not the user's pragma:
      // no -Wpass-failed warning (an error under -Werror) for it (LoopAdvice.h).
      if (Pass == "WarnMissedTransformationsPass")
        if (const auto *F = llvm::any_cast<const Function *>(&IR))
          if (irpipe::hasLoopAdvice(**F))
            return false;
      const Module *M = unitModule(IR);
      return !M || !irpipe::isReplaced(*M);
    });
}

extern "C" LLVM_ATTRIBUTE_WEAK __attribute__((visibility("default")))
PassPluginLibraryInfo llvmGetPassPluginInfo() {
  return {LLVM_PLUGIN_API_VERSION, "irpipe", "0.3", registerCallbacks};
}
