//===- Pipeline.h - Run a textual new-PM pipeline and measure the result --===//
//
// Evaluates one pass pipeline on a copy of a module, in-process: the
// pipeline text is parsed by LLVM 22's PassBuilder (any pipeline `opt
// -passes=` accepts), run, optionally verified, and measured: IR instruction
// count, and the object file's executable bytes (every SHF_EXECINSTR
// section: .text, .text.unlikely.*, ...) as llc-22 -O2 emits it for the
// module's own target, plus the CPU seconds of each step.
//
// The module's target is never changed: its triple, data layout and every
// function's "target-cpu"/"target-features" come out as they went in, and
// the pipeline runs with the TargetMachine `opt-22` would build for it (the
// module's triple, no -mcpu; no TargetMachine at all for a module without a
// triple, as opt does).  Only an explicit Triple/CPU in EvalOptions changes
// the target, and then it is written into the output.
//
//===----------------------------------------------------------------------===//
#ifndef IRPIPE_PIPELINE_H
#define IRPIPE_PIPELINE_H

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace llvm {
class Module;
} // namespace llvm

namespace irpipe {

struct EvalOptions {
  bool Object = false;       ///< emit the object file and measure .text
  bool Assembly = false;     ///< also return the assembly (for llvm-mca)
  bool Bitcode = false;      ///< return the optimized module as bitcode
  bool Verify = true;        ///< run the verifier after the pipeline
  bool StripOptNone = true;  ///< drop optnone/noinline from -O0 builds first
  std::string Triple;        ///< "" keeps the module's (the user's --mtriple)
  std::string CPU;           ///< "" keeps the functions' (the user's --target-cpu)
  /// After the module pipeline, (function name, function pipeline) pairs run
  /// in order, as the pass plugin runs an advice entry's "functions": a name
  /// the module pipeline removed is skipped, a pipeline that does not parse is
  /// an error.  The text is a function pipeline (`instcombine,simplifycfg`,
  /// or the same wrapped in `function(...)`).
  std::vector<std::pair<std::string, std::string>> Functions;
  bool PerFunction = false;  ///< measure each defined function (EvalResult::PerFunction)
  /// Fill EvalResult::Digest: SHA-256 of the output bitcode, its code triple
  /// and CPU (everything the object depends on).
  bool Digest = false;
  /// Digests of outputs the caller has measured already: an output among them
  /// is not compiled to an object again (EvalResult::CodegenSkipped; no
  /// assembly asked).  Identical bitcode gives an identical object.
  std::vector<std::array<uint8_t, 32>> Known;
};

struct EvalResult {
  int64_t Instructions = 0;
  int64_t TextBytes = -1;
  int64_t ObjectBytes = -1;
  double OptSeconds = 0;     ///< thread CPU seconds of the pipeline
  double CodegenSeconds = 0; ///< thread CPU seconds of codegen
  std::string Bitcode, Assembly;
  /// With PerFunction: for each defined function after the pipelines, in module
  /// order, "name\0instructions\0code bytes\0" (bytes: the size of the
  /// function's symbol in the object, -1 without Object).
  std::string PerFunction;
  std::array<uint8_t, 32> Digest{}; ///< with EvalOptions::Digest
  bool CodegenSkipped = false;      ///< the digest was Known: no object built
};

/// Run Pipeline on a clone of M; false and Error set on a parse, verify or
/// codegen error (LLVM may still abort the process on some pipelines: run
/// this in an isolated process).
bool evaluatePipeline(const llvm::Module &M, const std::string &Pipeline,
                      const EvalOptions &Options, EvalResult &Result,
                      std::string &Message);

} // namespace irpipe

#endif // IRPIPE_PIPELINE_H
