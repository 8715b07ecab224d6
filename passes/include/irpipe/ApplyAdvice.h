//===- ApplyAdvice.h - run the pipelines an irpipe advice file names ------===//
//
// USAGE:
//   opt-22 -load-pass-plugin=passes/build/lib/libIRPipe.so \
//          -passes=irpipe-apply -irpipe-advice=advice.json in.ll -S -o out.ll
//   clang-22 -O2 -fpass-plugin=passes/build/lib/libIRPipe.so \
//          -mllvm -irpipe-advice=advice.json -c a.c     (or IRPIPE_ADVICE=advice.json)
//
// An advice file is versioned JSON (irpipe/optimize/advice.py writes the same):
//   {"format": "irpipe.advice", "version": 2,
//    "modules": [{"source": "a.c", "pipeline": "<module pipeline>",
//                 "functions": {"f": "<function pipeline>"}, "verified": true,
//                 "loops": {"f/L0": {"unroll": 4, "vectorize": "off"}}}]}
// Version 1 files (no "loops") still read.  "pipeline", "functions" and
// "loops" are each optional; irpipe-apply runs the pipelines, and
// irpipe-apply-loops applies "loops" at the vectorizer start (LoopAdvice.h).
// A module entry applies when its "source" equals the module's source file name
// (or its last path component), or is "*".  Its "pipeline" runs on the module,
// then each named function runs its own function-level pipeline.  "verified"
// (optional, default false): irpipe ran these pipelines on the module itself.
//
// A compile never fails because of irpipe: an unreadable or malformed file, a
// pipeline that does not parse and a function that does not exist each print
// one "irpipe: warning:" line and that advice is skipped (the module keeps the
// compiler's own pipeline).  Only pipelines irpipe has verified run
// (SafePipeline.h): each must pass the loop-nest grammar, and an entry not
// marked "verified" (and every live answer) runs first in a forked trial; a
// pipeline that would abort LLVM costs one warning and the default pipeline.
//===----------------------------------------------------------------------===//
#ifndef IRPIPE_APPLYADVICE_H
#define IRPIPE_APPLYADVICE_H

#include "llvm/ADT/Twine.h"
#include "llvm/IR/PassManager.h"
#include "llvm/Support/JSON.h"

#include <optional>
#include <string>

namespace llvm {
class PassBuilder;
}

namespace irpipe {

class ApplyAdvicePass : public llvm::PassInfoMixin<ApplyAdvicePass> {
public:
  /// \p PB is the host's PassBuilder (it knows the target): it parses and
  /// builds the advised pipelines.
  /// With \p Replace (the clang hook), an applied module pipeline replaces the
  /// rest of the default pipeline (see Plugin.cpp).
  ApplyAdvicePass(llvm::PassBuilder &PB, bool Replace) : PB(&PB), Replace(Replace) {}
  llvm::PreservedAnalyses run(llvm::Module &M, llvm::ModuleAnalysisManager &AM);
  static bool isRequired() { return true; }

private:
  llvm::PassBuilder *PB;
  bool Replace;
};

/// True once an advised pipeline has replaced the default pipeline for \p M.
bool isReplaced(const llvm::Module &M);

/// Print one "irpipe: warning: MSG" line on stderr (the only way irpipe reports a problem
/// inside a compile).
void warn(const llvm::Twine &Msg);

/// \p Option when set, else the environment variable \p Env, else "".
std::string optionOrEnv(const std::string &Option, const char *Env);

/// The advice file from -irpipe-advice=, else $IRPIPE_ADVICE, else "".
std::string adviceFile();

/// The entry of the advice file \p Path whose "source" matches \p M (or "*"), or
/// nullopt (after one warning when the file is unreadable, not JSON, or not an
/// irpipe.advice version 1 or 2 file; a version 1 entry loses its "loops").
std::optional<llvm::json::Object> adviceEntry(const std::string &Path, const llvm::Module &M);

/// The `irpipe serve` socket from -irpipe-server=, else $IRPIPE_SERVER, else "".
std::string serverSocket();

/// Live mode: ask the server at \p Path for \p M's pipeline (see LiveAdvice.cpp);
/// an entry {"pipeline": ...}, or nullopt after one warning.
std::optional<llvm::json::Object> askServer(const std::string &Path, const llvm::Module &M);

} // namespace irpipe

#endif
