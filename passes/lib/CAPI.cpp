//===- CAPI.cpp - The C ABI of libIRPipeAnalysis ---------------------------===//
//
// Thin: parse/verify/split here, the analyses in Features.cpp and
// ProgramGraph.cpp.  No C++ exception or LLVM fatal error crosses this line
// for valid modules; inputs are verified before any analysis runs.
//
//===----------------------------------------------------------------------===//
#include "irpipe/CAPI.h"
#include "irpipe/Features.h"
#include "irpipe/Pipeline.h"
#include "irpipe/ProgramGraph.h"

#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/IRReader/IRReader.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Transforms/Utils/Cloning.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#define IRPIPE_API extern "C" __attribute__((visibility("default")))

using namespace llvm;

struct irpipe_module {
  LLVMContext Context;
  std::unique_ptr<Module> M;
  std::vector<const Function *> Defined;
};

struct irpipe_graph {
  irpipe::ProgramGraph G;
};

namespace {

char *copyString(const std::string &S) {
  char *P = static_cast<char *>(std::malloc(S.size() + 1));
  std::memcpy(P, S.data(), S.size());
  P[S.size()] = '\0';
  return P;
}

int fail(char **Error, const std::string &Message) {
  if (Error)
    *Error = copyString(Message);
  return 1;
}

std::string joinNames(const char *const *Names, int N) {
  std::string S;
  for (int I = 0; I < N; ++I) {
    if (I)
      S += '\n';
    S += Names[I];
  }
  return S;
}

const Function *pick(const irpipe_module *Mod, int64_t Index, bool &Bad) {
  Bad = Index >= (int64_t)Mod->Defined.size();
  return Index < 0 || Bad ? nullptr : Mod->Defined[Index];
}

size_t copyStrings(const std::vector<std::string> &Strings, char *Out) {
  size_t At = 0;
  for (const std::string &S : Strings) {
    if (Out) {
      std::memcpy(Out + At, S.data(), S.size());
      Out[At + S.size()] = '\0';
    }
    At += S.size() + 1;
  }
  return At;
}

} // namespace

IRPIPE_API int irpipe_abi_version(void) { return IRPIPE_ABI_VERSION; }

IRPIPE_API const char *irpipe_llvm_version(void) { return LLVM_VERSION_STRING; }

IRPIPE_API void irpipe_free(void *Ptr) { std::free(Ptr); }

IRPIPE_API const char *irpipe_instcount_names(void) {
  static const std::string Names =
      joinNames(irpipe::InstCountNames, irpipe::InstCountSize);
  return Names.c_str();
}

IRPIPE_API const char *irpipe_autophase_names(void) {
  static const std::string Names =
      joinNames(irpipe::AutophaseNames, irpipe::AutophaseSize);
  return Names.c_str();
}

IRPIPE_API int irpipe_module_parse(const char *Data, size_t Size,
                                   const char *Name, irpipe_module **Out,
                                   char **Error) {
  *Out = nullptr;
  auto Mod = std::make_unique<irpipe_module>();
  SMDiagnostic Diag;
  auto Buffer = MemoryBuffer::getMemBuffer(StringRef(Data, Size),
                                           Name ? Name : "<module>",
                                           /*RequiresNullTerminator=*/false);
  Mod->M = parseIR(Buffer->getMemBufferRef(), Diag, Mod->Context);
  if (!Mod->M) {
    std::string Message;
    raw_string_ostream OS(Message);
    if (Diag.getLineNo() > 0)
      OS << "line " << Diag.getLineNo() << ": ";
    OS << Diag.getMessage();
    return fail(Error, OS.str());
  }
  std::string Problems;
  raw_string_ostream OS(Problems);
  if (verifyModule(*Mod->M, &OS))
    return fail(Error, "verifier: " + OS.str());
  for (const Function &F : *Mod->M)
    if (!F.isDeclaration())
      Mod->Defined.push_back(&F);
  *Out = Mod.release();
  return 0;
}

IRPIPE_API void irpipe_module_free(irpipe_module *Mod) { delete Mod; }

IRPIPE_API int64_t irpipe_module_function_count(const irpipe_module *Mod) {
  return (int64_t)Mod->Defined.size();
}

IRPIPE_API const char *irpipe_module_function_name(const irpipe_module *Mod,
                                                   int64_t Index) {
  if (Index < 0 || Index >= (int64_t)Mod->Defined.size())
    return nullptr;
  return Mod->Defined[Index]->getName().data();
}

IRPIPE_API int64_t irpipe_module_instruction_count(const irpipe_module *Mod) {
  int64_t N = 0;
  for (const Function *F : Mod->Defined)
    N += F->getInstructionCount();
  return N;
}

IRPIPE_API int irpipe_instcount(const irpipe_module *Mod, int64_t Function,
                                int64_t *Out, char **Error) {
  bool Bad;
  const llvm::Function *F = pick(Mod, Function, Bad);
  if (Bad)
    return fail(Error, "no defined function #" + std::to_string(Function));
  irpipe::computeInstCount(*Mod->M, F, Out);
  return 0;
}

IRPIPE_API int irpipe_autophase(const irpipe_module *Mod, int64_t Function,
                                int64_t *Out, char **Error) {
  bool Bad;
  const llvm::Function *F = pick(Mod, Function, Bad);
  if (Bad)
    return fail(Error, "no defined function #" + std::to_string(Function));
  irpipe::computeAutophase(*Mod->M, F, Out);
  return 0;
}

IRPIPE_API int irpipe_module_print(const irpipe_module *Mod, char **Text,
                                   size_t *Size, char **Error) {
  std::string Printed;
  raw_string_ostream OS(Printed);
  Mod->M->print(OS, /*AAW=*/nullptr);
  OS.flush();
  *Size = Printed.size();
  *Text = static_cast<char *>(std::malloc(Printed.size() + 1));
  if (!*Text)
    return fail(Error, "out of memory printing the module");
  std::memcpy(*Text, Printed.c_str(), Printed.size() + 1);
  return 0;
}

IRPIPE_API int irpipe_split_function(const irpipe_module *Mod,
                                     int64_t Function, char **Bitcode,
                                     size_t *Size, char **Error) {
  bool Bad;
  const llvm::Function *F = pick(Mod, Function, Bad);
  if (Bad || !F)
    return fail(Error, "no defined function #" + std::to_string(Function));
  ValueToValueMapTy VMap;
  std::unique_ptr<Module> One = CloneModule(
      *Mod->M, VMap, [F](const GlobalValue *GV) { return GV == F; });
  // The clone turns the other definitions into declarations; a definition
  // with local linkage cannot be a declaration, so give those external
  // linkage (as llvm-extract does).
  for (GlobalValue &GV : One->global_values())
    if (GV.isDeclaration() && GV.hasLocalLinkage()) {
      GV.setLinkage(GlobalValue::ExternalLinkage);
      GV.setVisibility(GlobalValue::HiddenVisibility);
    }
  std::string Problems;
  raw_string_ostream VOS(Problems);
  if (verifyModule(*One, &VOS))
    return fail(Error, "split module does not verify: " + VOS.str());
  SmallVector<char, 0> Buffer;
  raw_svector_ostream OS(Buffer);
  WriteBitcodeToFile(*One, OS);
  *Size = Buffer.size();
  *Bitcode = static_cast<char *>(std::malloc(Buffer.size()));
  std::memcpy(*Bitcode, Buffer.data(), Buffer.size());
  return 0;
}

IRPIPE_API int irpipe_graph_build(const irpipe_module *Mod, int64_t Function,
                                  int Flags, irpipe_graph **Out,
                                  char **Error) {
  *Out = nullptr;
  bool Bad;
  const llvm::Function *F = pick(Mod, Function, Bad);
  if (Bad)
    return fail(Error, "no defined function #" + std::to_string(Function));
  irpipe::GraphOptions Options;
  Options.Types = Flags & IRPIPE_GRAPH_TYPES;
  Options.FullText = Flags & IRPIPE_GRAPH_FULL_TEXT;
  auto Graph = std::make_unique<irpipe_graph>();
  irpipe::buildProgramGraph(*Mod->M, F, Options, Graph->G);
  *Out = Graph.release();
  return 0;
}

IRPIPE_API void irpipe_graph_free(irpipe_graph *Graph) { delete Graph; }

IRPIPE_API void irpipe_graph_sizes(const irpipe_graph *Graph, int64_t *Sizes) {
  const irpipe::ProgramGraph &G = Graph->G;
  Sizes[0] = (int64_t)G.NodeType.size();
  Sizes[1] = (int64_t)G.EdgeSource.size();
  Sizes[2] = (int64_t)G.Texts.size();
  Sizes[3] = (int64_t)copyStrings(G.Texts, nullptr);
  Sizes[4] = (int64_t)G.Functions.size();
  Sizes[5] = G.FullText.empty() ? 0 : (int64_t)copyStrings(G.FullText, nullptr);
  Sizes[6] = (int64_t)copyStrings(G.Functions, nullptr);
}

IRPIPE_API void irpipe_graph_export(const irpipe_graph *Graph,
                                    uint8_t *NodeType, int32_t *NodeText,
                                    int32_t *NodeFunction, int32_t *NodeBlock,
                                    int32_t *EdgeSource, int32_t *EdgeTarget,
                                    uint8_t *EdgeFlow, int32_t *EdgePosition,
                                    char *Texts, char *FullTexts,
                                    char *Functions) {
  const irpipe::ProgramGraph &G = Graph->G;
  auto Copy = [](const auto &V, auto *Out) {
    if (Out && !V.empty())
      std::memcpy(Out, V.data(), V.size() * sizeof(V[0]));
  };
  Copy(G.NodeType, NodeType);
  Copy(G.NodeText, NodeText);
  Copy(G.NodeFunction, NodeFunction);
  Copy(G.NodeBlock, NodeBlock);
  Copy(G.EdgeSource, EdgeSource);
  Copy(G.EdgeTarget, EdgeTarget);
  Copy(G.EdgeFlow, EdgeFlow);
  Copy(G.EdgePosition, EdgePosition);
  copyStrings(G.Texts, Texts);
  if (!G.FullText.empty())
    copyStrings(G.FullText, FullTexts);
  copyStrings(G.Functions, Functions);
}

IRPIPE_API int irpipe_evaluate(const irpipe_module *Mod, const char *Pipeline,
                               const char *Functions, size_t FunctionsSize,
                               int Flags, const char *Triple, const char *CPU,
                               const uint8_t *Known, size_t KnownCount,
                               irpipe_eval_result *Out,
                               char **Bitcode, size_t *BitcodeSize,
                               char **Assembly, size_t *AssemblySize,
                               char **PerFunction, size_t *PerFunctionSize,
                               char **Error) {
  irpipe::EvalOptions Options;
  Options.Object = Flags & IRPIPE_EVAL_OBJECT;
  Options.Assembly = (Flags & IRPIPE_EVAL_ASSEMBLY) && Assembly;
  Options.Bitcode = (Flags & IRPIPE_EVAL_BITCODE) && Bitcode;
  Options.Verify = !(Flags & IRPIPE_EVAL_NO_VERIFY);
  Options.StripOptNone = !(Flags & IRPIPE_EVAL_KEEP_OPTNONE);
  Options.PerFunction = (Flags & IRPIPE_EVAL_PER_FUNCTION) && PerFunction;
  Options.Triple = Triple ? Triple : "";
  Options.CPU = CPU ? CPU : "";
  Options.Digest = Flags & IRPIPE_EVAL_DIGEST;
  for (size_t I = 0; Known && I < KnownCount; ++I) {
    std::array<uint8_t, 32> D;
    std::memcpy(D.data(), Known + 32 * I, 32);
    Options.Known.push_back(D);
  }
  std::vector<std::string> Fields;
  for (size_t I = 0; Functions && I < FunctionsSize;) {
    size_t End = I;
    while (End < FunctionsSize && Functions[End])
      ++End;
    Fields.emplace_back(Functions + I, End - I);
    I = End + 1;
  }
  if (Fields.size() % 2)
    return fail(Error, "per-function pipelines: a function name without a pipeline");
  for (size_t I = 0; I < Fields.size(); I += 2)
    Options.Functions.emplace_back(Fields[I], Fields[I + 1]);
  irpipe::EvalResult R;
  std::string Message;
  if (!irpipe::evaluatePipeline(*Mod->M, Pipeline, Options, R, Message))
    return fail(Error, Message);
  Out->instructions = R.Instructions;
  Out->text_bytes = R.TextBytes;
  Out->object_bytes = R.ObjectBytes;
  Out->opt_seconds = R.OptSeconds;
  Out->codegen_seconds = R.CodegenSeconds;
  std::memcpy(Out->digest, R.Digest.data(), 32);
  Out->codegen_skipped = R.CodegenSkipped;
  auto Give = [](const std::string &S, char **Buf, size_t *Size) {
    *Buf = static_cast<char *>(std::malloc(S.size() + 1));
    std::memcpy(*Buf, S.data(), S.size());
    (*Buf)[S.size()] = '\0';
    *Size = S.size();
  };
  if (Options.Bitcode)
    Give(R.Bitcode, Bitcode, BitcodeSize);
  if (Options.Assembly)
    Give(R.Assembly, Assembly, AssemblySize);
  if (Options.PerFunction)
    Give(R.PerFunction, PerFunction, PerFunctionSize);
  return 0;
}
