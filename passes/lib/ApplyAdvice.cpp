//===- ApplyAdvice.cpp - run the pipelines an irpipe advice file names ----===//
// See include/irpipe/ApplyAdvice.h for the format and the failure policy.
//===----------------------------------------------------------------------===//
#include "irpipe/ApplyAdvice.h"
#include "irpipe/LoopAdvice.h"
#include "irpipe/SafePipeline.h"

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
#include <utility>
#include <vector>

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

std::optional<json::Object> adviceEntry(const std::string &Path, const Module &M) {
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
  std::optional<int64_t> Version = Top ? Top->getInteger("version") : std::nullopt;
  if (!Top || Top->getString("format") != "irpipe.advice" || !Version ||
      (*Version != 1 && *Version != 2)) {
    warn("advice file " + Path +
         " is not an irpipe.advice version 1 or 2 file; keeping the default "
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
    if (!S || !(*S == "*" || *S == Source || sys::path::filename(*S) == Base))
      continue;
    json::Object Entry = *E;
    if (*Version == 1 && Entry.erase("loops"))  // per-loop decisions came with version 2
      warn("advice file " + Path + ": \"loops\" needs an irpipe.advice version 2 file; "
           "per-loop decisions ignored");
    return Entry;
  }
  return std::nullopt;
}

namespace {

/// Fresh analysis managers, registered by the host's PassBuilder (target-aware).
struct Analyses {
  LoopAnalysisManager LAM;
  FunctionAnalysisManager FAM;
  CGSCCAnalysisManager CGAM;
  ModuleAnalysisManager MAM;
  explicit Analyses(PassBuilder &PB) {
    PB.registerModuleAnalyses(MAM);
    PB.registerCGSCCAnalyses(CGAM);
    PB.registerFunctionAnalyses(FAM);
    PB.registerLoopAnalyses(LAM);
    PB.crossRegisterProxies(LAM, FAM, CGAM, MAM);
  }
};

/// The pipelines of one advice entry that parsed and passed the loop-nest grammar.
struct Plan {
  std::optional<ModulePassManager> MPM;
  std::vector<std::pair<std::string, FunctionPassManager>> Functions;
  std::string Names;  // what the warning and the trial cache call them

  void add(const Twine &What) { Names += (Names.empty() ? "" : " + ") + What.str(); }

  void run(Module &M, Analyses &A) {
    if (MPM)
      MPM->run(M, A.MAM);
    for (auto &[Name, FPM] : Functions) {
      Function *F = M.getFunction(Name);  // after the module pipeline, which may remove it
      if (!F || F->isDeclaration()) {
        warn("advice names function '" + Name + "', which the module pipeline removed; skipped");
        continue;
      }
      A.FAM.clear();
      FPM.run(*F, A.FAM);
    }
  }
};

/// Parse \p Text into \p PM and check it; false after one warning naming \p What.
template <typename PassManagerT>
bool prepare(PassBuilder &PB, PassManagerT &PM, StringRef Text, const Twine &What,
             const Module &M, StringRef Fallback) {
  if (Error E = PB.parsePassPipeline(PM, Text)) {
    warn("advice pipeline '" + Text + "'" + What + " does not parse (" +
         toString(std::move(E)) + "); skipped");
    return false;
  }
  if (std::string Why = unsafeNest(canonicalPipeline(PM, PB)); !Why.empty()) {
    warn("module '" + M.getSourceFileName() + "': advised pipeline '" + Text + "'" + What +
         " rejected: " + Why + "; " + Fallback);
    return false;
  }
  return true;
}

/// The entry's pipelines that parse and pass the grammar (the rest: one warning each).
Plan makePlan(PassBuilder &PB, const json::Object &Entry, Module &M) {
  Plan P;
  if (std::optional<StringRef> Text = Entry.getString("pipeline")) {
    ModulePassManager MPM;
    if (prepare(PB, MPM, *Text, "", M, "keeping the default pipeline")) {
      P.MPM = std::move(MPM);
      P.add("'" + *Text + "'");
    }
  }
  if (const json::Object *Fns = Entry.getObject("functions")) {
    for (const auto &KV : *Fns) {
      std::optional<StringRef> Text = KV.second.getAsString();
      Function *F = M.getFunction(KV.first.str());
      if (!F || F->isDeclaration()) {
        warn("advice names function '" + KV.first.str() +
             "', which this module does not define; skipped");
        continue;
      }
      if (!Text) {
        warn("advice for function '" + KV.first.str() + "' is not a string");
        continue;
      }
      FunctionPassManager FPM;
      if (!prepare(PB, FPM, *Text, " for function '" + KV.first.str() + "'", M, "skipped"))
        continue;
      P.Functions.emplace_back(KV.first.str(), std::move(FPM));
      P.add("'" + *Text + "' on " + KV.first.str());
    }
  }
  return P;
}

/// Whether \p Text is exactly one of LLVM's O-level pipelines (`default<Oz>` ...).
bool isOLevel(StringRef Text) {
  return Text.consume_front("default<O") && Text.size() == 2 && Text.ends_with(">") &&
         StringRef("0123sz").contains(Text[0]);
}

} // namespace

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
    Entry = adviceEntry(Path, M);
  else if (std::string Server = serverSocket(); !Server.empty() && !liveLoopsRequested())
    Entry = askServer(Server, M);  // (live speed decides loops, not the module's pipeline)
  if (!Entry)
    return PreservedAnalyses::all();

  Plan P = makePlan(*PB, *Entry, M);
  if (!P.MPM && P.Functions.empty())
    return PreservedAnalyses::all();
  // Only pipelines irpipe has verified run here: `irpipe optimize` marks what it
  // ran on the module ("verified": true), and LLVM's own O-level pipelines are
  // what the compiler runs anyway; anything else runs in a trial first.
  bool Trusted = Entry->getBoolean("verified") == true ||
                 (P.Functions.empty() && isOLevel(Entry->getString("pipeline").value_or("")));
  if (!Trusted && trialTimeoutMs() > 0) {
    std::string Why = trialRun(M, P.Names, [&](Module &Copy) {
      Analyses A(*PB);
      P.run(Copy, A);
    }, trialTimeoutMs());
    if (!Why.empty()) {
      warn("module '" + M.getSourceFileName() + "': advised pipeline " + P.Names +
           " rejected: " + Why + "; keeping the default pipeline");
      return PreservedAnalyses::all();
    }
  }
  Analyses A(*PB);
  P.run(M, A);
  if (Replace && P.MPM)
    markReplaced(M);  // only now: the function pipelines above had to run
  return PreservedAnalyses::none();
}

} // namespace irpipe
