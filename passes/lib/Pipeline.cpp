//===- Pipeline.cpp - Run a textual new-PM pipeline and measure the result ===//
#include "irpipe/Pipeline.h"

#include "llvm/Analysis/CGSCCPassManager.h"
#include "llvm/Analysis/LoopAnalysisManager.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/PassManager.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Object/ObjectFile.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Triple.h"
#include "llvm/Transforms/Utils/Cloning.h"

#include <ctime>
#include <map>
#include <mutex>

using namespace llvm;

namespace irpipe {
namespace {

constexpr const char *HostCPU = "x86-64-v3";
constexpr const char *DefaultTriple = "x86_64-unknown-linux-gnu";

double threadSeconds() {
  timespec T;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &T);
  return T.tv_sec + T.tv_nsec * 1e-9;
}

void initTargets() {
  static std::once_flag Once;
  std::call_once(Once, [] {
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86Target();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86AsmPrinter();
    LLVMInitializeX86AsmParser();
  });
}

/// One TargetMachine per triple, made once (creating one costs about a
/// millisecond, as much as a small pipeline).  Evaluations are sequential.
TargetMachine *hostMachine(const Triple &T, std::string &Message) {
  static std::map<std::string, std::unique_ptr<TargetMachine>> Machines;
  static std::mutex Lock;
  std::lock_guard<std::mutex> Guard(Lock);
  auto It = Machines.find(T.str());
  if (It != Machines.end())
    return It->second.get();
  initTargets();
  const Target *Tgt = TargetRegistry::lookupTarget(T, Message);
  if (!Tgt)
    return nullptr;
  TargetOptions Opts;
  auto &Slot = Machines[T.str()];
  Slot.reset(Tgt->createTargetMachine(T, HostCPU, "", Opts, Reloc::PIC_, std::nullopt,
                                      CodeGenOptLevel::Default));
  return Slot.get();
}

void prepare(Module &M, TargetMachine &TM, bool StripOptNone) {
  M.setTargetTriple(TM.getTargetTriple());
  M.setDataLayout(TM.createDataLayout());
  for (Function &F : M) {
    if (F.isDeclaration())
      continue;
    if (StripOptNone && F.hasFnAttribute(Attribute::OptimizeNone)) {
      F.removeFnAttr(Attribute::OptimizeNone);
      F.removeFnAttr(Attribute::NoInline);
    }
    F.addFnAttr("target-cpu", HostCPU); // one baseline CPU for every module
  }
}

int64_t instructionCount(const Module &M) {
  int64_t N = 0;
  for (const Function &F : M)
    N += F.getInstructionCount();
  return N;
}

bool codegen(Module &M, TargetMachine &TM, CodeGenFileType Kind,
             SmallVectorImpl<char> &Out, std::string &Message) {
  raw_svector_ostream OS(Out);
  legacy::PassManager PM;
  if (TM.addPassesToEmitFile(PM, OS, nullptr, Kind)) {
    Message = "the target cannot emit this file type";
    return false;
  }
  PM.run(M);
  return true;
}

} // namespace

bool evaluatePipeline(const Module &Source, const std::string &Pipeline,
                      const EvalOptions &Options, EvalResult &Result,
                      std::string &Message) {
  Triple T(Source.getTargetTriple());
  if (T.getArch() != Triple::x86_64)
    T = Triple(DefaultTriple);
  TargetMachine *TM = hostMachine(T, Message);
  if (!TM)
    return false;
  std::unique_ptr<Module> M = CloneModule(Source);
  prepare(*M, *TM, Options.StripOptNone);

  LoopAnalysisManager LAM;
  FunctionAnalysisManager FAM;
  CGSCCAnalysisManager CGAM;
  ModuleAnalysisManager MAM;
  PassBuilder PB(TM);
  PB.registerModuleAnalyses(MAM);
  PB.registerCGSCCAnalyses(CGAM);
  PB.registerFunctionAnalyses(FAM);
  PB.registerLoopAnalyses(LAM);
  PB.crossRegisterProxies(LAM, FAM, CGAM, MAM);
  ModulePassManager MPM;
  if (Error E = PB.parsePassPipeline(MPM, Pipeline)) {
    Message = "invalid pipeline '" + Pipeline + "': " + toString(std::move(E));
    return false;
  }
  double T0 = threadSeconds();
  MPM.run(*M, MAM);
  Result.OptSeconds = threadSeconds() - T0;
  if (Options.Verify) {
    std::string Problems;
    raw_string_ostream OS(Problems);
    if (verifyModule(*M, &OS)) {
      Message = "pipeline '" + Pipeline + "' produced invalid IR: " + OS.str();
      return false;
    }
  }
  Result.Instructions = instructionCount(*M);
  if (Options.Bitcode) {
    raw_string_ostream OS(Result.Bitcode);
    WriteBitcodeToFile(*M, OS);
  }
  if (Options.Assembly) {
    std::unique_ptr<Module> Copy = CloneModule(*M);
    SmallVector<char, 0> Asm;
    if (!codegen(*Copy, *TM, CodeGenFileType::AssemblyFile, Asm, Message))
      return false;
    Result.Assembly.assign(Asm.begin(), Asm.end());
  }
  if (Options.Object) {
    SmallVector<char, 0> Obj;
    double C0 = threadSeconds();
    if (!codegen(*M, *TM, CodeGenFileType::ObjectFile, Obj, Message))
      return false;
    Result.CodegenSeconds = threadSeconds() - C0;
    Result.ObjectBytes = (int64_t)Obj.size();
    auto File = object::ObjectFile::createObjectFile(
        MemoryBufferRef(StringRef(Obj.data(), Obj.size()), "object"));
    if (!File) {
      Message = "cannot read the emitted object: " + toString(File.takeError());
      return false;
    }
    Result.TextBytes = 0;
    for (const object::SectionRef &Sec : (*File)->sections()) {
      Expected<StringRef> Name = Sec.getName();
      if (Name && (*Name == ".text" || Name->starts_with(".text.")))
        Result.TextBytes += (int64_t)Sec.getSize();
      else if (!Name)
        consumeError(Name.takeError());
    }
  }
  return true;
}

} // namespace irpipe
