//===- ApplyAdvice.cpp - run the pipelines an irpipe advice file names ----===//
// See include/irpipe/ApplyAdvice.h for the format and the failure policy.
//===----------------------------------------------------------------------===//
#include "irpipe/ApplyAdvice.h"

#include "llvm/Analysis/CGSCCPassManager.h"
#include "llvm/Analysis/LoopAnalysisManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <mutex>
#include <optional>
#include <set>

using namespace llvm;

static cl::opt<std::string>
    AdviceOpt("irpipe-advice",
              cl::desc("irpipe advice file (JSON) for -passes=irpipe-apply"),
              cl::init(""));

namespace irpipe {

void warn(const Twine &Msg) { errs() << "irpipe: warning: " << Msg << "\n"; }

std::string optionOrEnv(const std::string &Option, const char *Env) {
  if (!Option.empty())
    return Option;
  const char *Value = std::getenv(Env);
  return Value ? Value : "";
}

std::string adviceFile() { return optionOrEnv(AdviceOpt, "IRPIPE_ADVICE"); }

// Modules whose default pipeline an advised one replaced (the pass gate asks
// for every optional pass; LTO backends may run modules on several threads).
static std::mutex ReplacedLock;
static std::set<const Module *> Replaced;

bool isReplaced(const Module &M) {
  std::lock_guard<std::mutex> G(ReplacedLock);
  return !Replaced.empty() && Replaced.count(&M);
}

static void markReplaced(const Module &M) {
  std::lock_guard<std::mutex> G(ReplacedLock);
  Replaced.insert(&M);
}

/// The advice entry for \p M, or nullptr (after a warning if the file is bad).
static std::optional<json::Object> lookup(const std::string &Path,
                                          const Module &M) {
  auto Buf = MemoryBuffer::getFile(Path);
  if (!Buf) {
    warn("cannot read advice file " + Path + ": " + Buf.getError().message() +
         "; keeping the default pipeline");
    return std::nullopt;
  }
  Expected<json::Value> Doc = json::parse((*Buf)->getBuffer());
  if (!Doc) {
    warn("advice file " + Path + " is not JSON (" + toString(Doc.takeError()) +
         "); keeping the default pipeline");
    return std::nullopt;
  }
  const json::Object *Top = Doc->getAsObject();
  if (!Top || Top->getString("format") != "irpipe.advice" ||
      Top->getInteger("version") != 1) {
    warn("advice file " + Path +
         " is not an irpipe.advice version 1 file; keeping the default "
         "pipeline");
    return std::nullopt;
  }
  const json::Array *Mods = Top->getArray("modules");
  if (!Mods)
    return std::nullopt;
  StringRef Source = M.getSourceFileName();
  StringRef Base = sys::path::filename(Source);
  for (const json::Value &V : *Mods) {
    const json::Object *E = V.getAsObject();
    if (!E)
      continue;
    std::optional<StringRef> S = E->getString("source");
    if (S && (*S == "*" || *S == Source || sys::path::filename(*S) == Base))
      return *E;
  }
  return std::nullopt;
}

PreservedAnalyses ApplyAdvicePass::run(Module &M, ModuleAnalysisManager &) {
  // An advised `default<Oz>` builds the default pipeline again, whose
  // PipelineStartEP hook adds this pass again: only the outermost one acts.
  static thread_local int Depth = 0;
  if (Depth > 0)
    return PreservedAnalyses::all();
  struct Enter {
    Enter() { ++Depth; }
    ~Enter() { --Depth; }
  } Guard;
  std::optional<json::Object> Entry;
  if (std::string Path = adviceFile(); !Path.empty())
    Entry = lookup(Path, M);
  else if (std::string Server = serverSocket(); !Server.empty())
    Entry = askServer(Server, M);
  if (!Entry)
    return PreservedAnalyses::all();

  // Fresh analysis managers, registered by the host's PassBuilder (target-aware).
  LoopAnalysisManager LAM;
  FunctionAnalysisManager FAM;
  CGSCCAnalysisManager CGAM;
  ModuleAnalysisManager MAM;
  PB->registerModuleAnalyses(MAM);
  PB->registerCGSCCAnalyses(CGAM);
  PB->registerFunctionAnalyses(FAM);
  PB->registerLoopAnalyses(LAM);
  PB->crossRegisterProxies(LAM, FAM, CGAM, MAM);

  bool Changed = false, ModulePipelineRan = false;
  if (std::optional<StringRef> Text = Entry->getString("pipeline")) {
    ModulePassManager MPM;
    if (Error E = PB->parsePassPipeline(MPM, *Text)) {
      warn("advice pipeline '" + *Text + "' does not parse (" +
           toString(std::move(E)) + "); skipped");
    } else {
      MPM.run(M, MAM);
      Changed = ModulePipelineRan = true;
    }
  }
  if (const json::Object *Fns = Entry->getObject("functions")) {
    for (const auto &KV : *Fns) {
      std::optional<StringRef> Text = KV.second.getAsString();
      Function *F = M.getFunction(KV.first.str());
      if (!F || F->isDeclaration()) {
        warn("advice names function '" + KV.first.str() +
             "', which this module does not define; skipped");
        continue;
      }
      FunctionPassManager FPM;
      if (!Text) {
        warn("advice for function '" + KV.first.str() + "' is not a string");
        continue;
      }
      if (Error E = PB->parsePassPipeline(FPM, *Text)) {
        warn("advice pipeline '" + *Text + "' for function '" + KV.first.str() +
             "' does not parse (" + toString(std::move(E)) + "); skipped");
        continue;
      }
      FAM.clear();
      FPM.run(*F, FAM);
      Changed = true;
    }
  }
  if (Replace && ModulePipelineRan)
    markReplaced(M);  // only now: the function pipelines above had to run
  return Changed ? PreservedAnalyses::none() : PreservedAnalyses::all();
}

} // namespace irpipe
