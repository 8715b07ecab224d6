//===- LoopAdvice.cpp - read and check the per-loop decisions of an advice file ===//
//
// USAGE:
//   opt-22 -load-pass-plugin=passes/build/lib/libIRPipe.so -passes=irpipe-apply-loops -irpipe-advice=A.json in.ll -S
//   clang-22 -O3 -fpass-plugin=passes/build/lib/libIRPipe.so -mllvm -irpipe-advice=A.json -c a.c
//
// The "loops" of an advice entry (version 2): loop ids, each value checked (one
// warning per bad one), collected per module the first time one of its functions
// asks (ApplyLoops.cpp writes them as metadata).  See include/irpipe/LoopAdvice.h
// for the ids, the decisions, the FP rule and why the clang hook runs at the
// vectorizer start.
//===----------------------------------------------------------------------===//
#include "irpipe/LoopAdvice.h"
#include "irpipe/ApplyAdvice.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>

using namespace llvm;

namespace irpipe {

std::optional<StringRef> loopIdFunction(StringRef Id) {
  size_t At = Id.rfind("/L");
  if (At == StringRef::npos || At == 0)
    return std::nullopt;
  StringRef Path = Id.drop_front(At + 2);
  SmallVector<StringRef, 4> Parts;
  Path.split(Parts, '.');
  for (StringRef P : Parts)
    if (P.empty() || P.find_first_not_of("0123456789") != StringRef::npos ||
        (P.size() > 1 && P[0] == '0'))
      return std::nullopt;
  return Id.take_front(At);
}

namespace {

/// \p V as JSON text, for a warning.
std::string text(const json::Value &V) {
  std::string S;
  raw_string_ostream(S) << V;
  return S;
}

/// \p V as an integer in [Lo, Hi], else nullopt.
std::optional<unsigned> count(const json::Value &V, int64_t Lo, int64_t Hi) {
  std::optional<int64_t> N = V.getAsInteger();
  if (!N || *N < Lo || *N > Hi)
    return std::nullopt;
  return static_cast<unsigned>(*N);
}

/// Parse one decision \p Key = \p V into \p D; "" when good, else what was expected.
std::string decide(LoopDecisions &D, StringRef Key, const json::Value &V) {
  using U = LoopDecisions::Unroll;
  using Vec = LoopDecisions::Vectorize;
  std::optional<StringRef> S = V.getAsString();
  if (Key == "unroll") {
    static const std::pair<const char *, U> Words[] = {
        {"off", U::Off}, {"full", U::Full}, {"runtime", U::Runtime}, {"no-runtime", U::NoRuntime}};
    for (auto &[W, Kind] : Words)
      if (S && *S == W)
        D.U = Kind;
    if (std::optional<unsigned> N = count(V, 2, 1024)) {
      D.U = U::Count;
      D.UnrollCount = *N;
    }
    return D.U != U::Keep ? "" : "an unroll count 2..1024, \"off\", \"full\", \"runtime\" or \"no-runtime\"";
  }
  if (Key == "interleave")
    return (D.Interleave = count(V, 1, 16)) ? "" : "an interleave count 1..16";
  if (Key == "vectorize") {
    std::optional<unsigned> W = count(V, 2, 64);
    if (S && (*S == "off" || *S == "on"))
      D.V = *S == "off" ? Vec::Off : Vec::On;
    else if (W && (*W & (*W - 1)) == 0) {
      D.V = Vec::On;
      D.Width = *W;
    }
    return D.V != Vec::Keep ? "" : "\"off\", \"on\" or a vector width 2..64 that is a power of two";
  }
  if (Key == "unroll_and_jam")
    return (D.UnrollAndJam = count(V, 2, 1024)) ? "" : "an unroll-and-jam count 2..1024";
  if (Key == "distribute")
    return (D.Distribute = V.getAsBoolean()) ? "" : "true or false";
  return "a decision";
}

/// The advice's loops of one module, by function name (ids in sorted order).
struct ModulePlan {
  StringMap<AdvisedLoops> ByFunction;
};

ModulePlan makeModulePlan(const Module &M) {
  ModulePlan P;
  std::string Path = adviceFile();
  std::optional<json::Object> Entry = Path.empty() ? std::nullopt : adviceEntry(Path, M);
  const json::Value *Loops = Entry ? Entry->get("loops") : nullptr;
  if (!Loops)
    return P;
  const json::Object *Obj = Loops->getAsObject();
  if (!Obj) {
    warn("advice for module '" + M.getSourceFileName() + "': \"loops\" is not an object; ignored");
    return P;
  }
  for (const std::string &Id : sortedKeys(*Obj)) {
    std::optional<StringRef> Fn = loopIdFunction(Id);
    const json::Object *D = Obj->getObject(Id);
    if (!Fn || !D) {
      warn("advice for loop '" + Id + "': " +
           (Fn ? "its decisions are not an object" : "not a loop id FUNCTION/L<path> (e.g. kernel/L1.0)") +
           "; ignored");
      continue;
    }
    const Function *F = M.getFunction(*Fn);
    if (!F || F->isDeclaration()) {
      warn("advice names loop '" + Id + "', but this module does not define function '" + *Fn +
           "' when irpipe-apply-loops runs (inlined or removed?); ignored");
      continue;
    }
    P.ByFunction[*Fn].emplace_back(Id, parseDecisions(Id, *D));
  }
  return P;
}

/// The plan of \p M, made (with its warnings) the first time one of its functions
/// asks; never erased.
std::shared_ptr<const ModulePlan> planFor(const Module &M) {
  static std::mutex Lock;
  static std::map<std::pair<const Module *, std::string>, std::shared_ptr<const ModulePlan>> Plans;
  std::lock_guard<std::mutex> G(Lock);
  auto &Slot = Plans[{&M, M.getSourceFileName()}];
  if (!Slot)
    Slot = std::make_shared<const ModulePlan>(makeModulePlan(M));
  return Slot;
}

} // namespace

std::vector<std::string> sortedKeys(const json::Object &O) {
  std::vector<std::string> Keys;
  for (const auto &KV : O)
    Keys.push_back(KV.first.str());
  std::sort(Keys.begin(), Keys.end());
  return Keys;
}

LoopDecisions parseDecisions(StringRef Id, const json::Object &O) {
  LoopDecisions D;
  static const StringRef Known[] = {"unroll", "interleave", "vectorize", "unroll_and_jam",
                                    "distribute"};
  for (const std::string &Key : sortedKeys(O)) {
    const json::Value &V = *O.get(Key);
    if (!is_contained(Known, Key))
      warn("advice for loop '" + Id + "': unknown decision \"" + Key +
           "\" (known: unroll, interleave, vectorize, unroll_and_jam, distribute); ignored");
    else if (std::string Want = decide(D, Key, V); !Want.empty())
      warn("advice for loop '" + Id + "': \"" + Key + "\": " + text(V) + " is not " + Want +
           "; ignored");
  }
  return D;
}

LoopAdviceSummary loopAdviceSummary() {
  LoopAdviceSummary S;
  std::string Path = adviceFile();
  if (Path.empty())
    return S;
  ErrorOr<std::unique_ptr<MemoryBuffer>> Buf = MemoryBuffer::getFile(Path);
  if (!Buf)
    return S;
  Expected<json::Value> Doc = json::parse((*Buf)->getBuffer());
  if (!Doc) {
    consumeError(Doc.takeError());
    return S;
  }
  const json::Object *Top = Doc->getAsObject();
  const json::Array *Mods = Top ? Top->getArray("modules") : nullptr;
  if (!Mods || Top->getString("format") != "irpipe.advice" || Top->getInteger("version") != 2)
    return S;
  for (const json::Value &E : *Mods)
    if (const json::Object *Loops = E.getAsObject() ? E.getAsObject()->getObject("loops") : nullptr)
      for (const auto &KV : *Loops) {
        S.Any = true;
        const json::Object *D = KV.second.getAsObject();
        S.Jam |= D && D->get("unroll_and_jam");
        S.Distribute |= D && D->getBoolean("distribute") == true;
      }
  return S;
}

const AdvisedLoops *loopAdviceFor(const Function &F) {
  std::shared_ptr<const ModulePlan> Plan = planFor(*F.getParent());
  auto It = Plan->ByFunction.find(F.getName());
  return It == Plan->ByFunction.end() ? nullptr : &It->second;  // plans live for the process
}

} // namespace irpipe
