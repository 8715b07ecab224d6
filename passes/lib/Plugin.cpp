//===- Plugin.cpp - the irpipe new-PM pass plugin (libIRPipe.so) ----------===//
//
// USAGE:
//   opt-22 -load-pass-plugin=libIRPipe.so -passes=irpipe-apply -irpipe-advice=A.json in.ll
//   clang-22 -O2 -fpass-plugin=libIRPipe.so -mllvm -irpipe-advice=A.json -c a.c
//
// Registers `irpipe-apply` for textual pipelines, and hooks it at the end of
// the default optimization pipeline (OptimizerLastEP) so that an ordinary
// `clang -O2 -fpass-plugin=...` build applies the advice; without an advice
// file the hook does nothing.
//===----------------------------------------------------------------------===//
#include "irpipe/ApplyAdvice.h"

#include "llvm/Passes/PassBuilder.h"
#include "llvm/Plugins/PassPlugin.h"

using namespace llvm;

static void registerCallbacks(PassBuilder &PB) {
  PB.registerPipelineParsingCallback(
      [&PB](StringRef Name, ModulePassManager &MPM,
            ArrayRef<PassBuilder::PipelineElement>) {
        if (Name != "irpipe-apply")
          return false;
        MPM.addPass(irpipe::ApplyAdvicePass(PB));
        return true;
      });
  PB.registerOptimizerLastEPCallback(
      [&PB](ModulePassManager &MPM, OptimizationLevel Level,
            ThinOrFullLTOPhase) {
        if (Level != OptimizationLevel::O0 &&
            (!irpipe::adviceFile().empty() || !irpipe::serverSocket().empty()))
          MPM.addPass(irpipe::ApplyAdvicePass(PB));
      });
}

extern "C" LLVM_ATTRIBUTE_WEAK __attribute__((visibility("default")))
PassPluginLibraryInfo llvmGetPassPluginInfo() {
  return {LLVM_PLUGIN_API_VERSION, "irpipe", "0.1", registerCallbacks};
}
