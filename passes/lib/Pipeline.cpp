//===- Pipeline.cpp - Run a textual new-PM pipeline and measure the result ===//
#include "irpipe/Pipeline.h"

#include "llvm/Analysis/CGSCCPassManager.h"
#include "llvm/Analysis/LoopAnalysisManager.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/PassManager.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Object/ELFObjectFile.h"
#include "llvm/Object/ObjectFile.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Triple.h"
#include "llvm/Transforms/Utils/Cloning.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <mutex>

using namespace llvm;

namespace irpipe {
namespace {

/// The triple llc-22 and opt-22 assume for a module that names none (codegen only).
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

/// One TargetMachine per (triple, cpu), made once (creating one costs about a
/// millisecond, as much as a small pipeline).  As opt-22/llc-22 build it with
/// no -mcpu/-mattr/-relocation-model flags: the functions' own target-cpu and
/// target-features attributes choose each function's subtarget.
TargetMachine *machineFor(const Triple &T, const std::string &CPU,
                          std::string &Message) {
  static std::map<std::string, std::unique_ptr<TargetMachine>> Machines;
  static std::mutex Lock;
  std::lock_guard<std::mutex> Guard(Lock);
  std::string Key = T.str() + "\n" + CPU;
  auto It = Machines.find(Key);
  if (It != Machines.end())
    return It->second.get();
  initTargets();
  const Target *Tgt = TargetRegistry::lookupTarget(T, Message);
  if (!Tgt)
    return nullptr;
  TargetOptions Opts;
  auto &Slot = Machines[Key];
  Slot.reset(Tgt->createTargetMachine(T, CPU, "", Opts, std::nullopt,
                                      std::nullopt, CodeGenOptLevel::Default));
  return Slot.get();
}

/// What the user asked to change (and only that): an explicit triple and
/// CPU are written into the module; optnone is dropped when asked.  A module
/// with a triple but no data layout gets the triple's, as opt-22 infers it.
void prepare(Module &M, TargetMachine *TM, const EvalOptions &Options) {
  if (TM && (!Options.Triple.empty() || M.getDataLayoutStr().empty()))
    M.setDataLayout(TM->createDataLayout());
  if (!Options.Triple.empty())
    M.setTargetTriple(Triple(Options.Triple));
  for (Function &F : M) {
    if (!Options.CPU.empty() && !F.isIntrinsic())
      F.addFnAttr("target-cpu", Options.CPU); // as opt -mcpu: declarations too
    if (F.isDeclaration())
      continue;
    if (Options.StripOptNone && F.hasFnAttribute(Attribute::OptimizeNone)) {
      F.removeFnAttr(Attribute::OptimizeNone);
      F.removeFnAttr(Attribute::NoInline);
    }
  }
}

/// Bytes of every executable section (SHF_EXECINSTR: .text, .text.hot.*,
/// .text.unlikely.*, ...), as llvm-size -A counts them.
bool executableBytes(const SmallVectorImpl<char> &Obj, int64_t &Bytes,
                     std::string &Message) {
  auto File = object::ObjectFile::createObjectFile(
      MemoryBufferRef(StringRef(Obj.data(), Obj.size()), "object"));
  if (!File) {
    Message = "cannot read the emitted object: " + toString(File.takeError());
    return false;
  }
  Bytes = 0;
  for (const object::SectionRef &Sec : (*File)->sections())
    if (Sec.isText())
      Bytes += (int64_t)Sec.getSize();
  return true;
}

/// Source, copied into Context through bitcode (lossless; about a millisecond
/// for a thousand instructions).
std::unique_ptr<Module> copyInto(const Module &Source, LLVMContext &Context,
                                 std::string &Message) {
  SmallVector<char, 0> Buffer;
  raw_svector_ostream OS(Buffer);
  WriteBitcodeToFile(Source, OS, /*ShouldPreserveUseListOrder=*/true);
  Expected<std::unique_ptr<Module>> Copy = parseBitcodeFile(
      MemoryBufferRef(StringRef(Buffer.data(), Buffer.size()), "copy"), Context);
  if (!Copy) {
    Message = "cannot copy the module: " + toString(Copy.takeError());
    return nullptr;
  }
  return std::move(*Copy);
}

/// Each function symbol's size in the object (ELF st_size), by name.
std::map<std::string, int64_t> symbolSizes(const SmallVectorImpl<char> &Obj) {
  std::map<std::string, int64_t> Sizes;
  auto File = object::ObjectFile::createObjectFile(
      MemoryBufferRef(StringRef(Obj.data(), Obj.size()), "object"));
  if (!File) {
    consumeError(File.takeError());
    return Sizes;
  }
  auto *ELF = dyn_cast<object::ELFObjectFileBase>(File->get());
  if (!ELF)
    return Sizes;
  for (const object::ELFSymbolRef &Sym : ELF->symbols()) {
    Expected<object::SymbolRef::Type> Type = Sym.getType();
    Expected<StringRef> Name = Sym.getName();
    if (!Type || !Name) {
      if (!Type) consumeError(Type.takeError());
      if (!Name) consumeError(Name.takeError());
      continue;
    }
    if (*Type == object::SymbolRef::ST_Function)
      Sizes[Name->str()] = (int64_t)Sym.getSize();
  }
  return Sizes;
}

/// (name, instructions) of each defined function of M, in module order.
std::vector<std::pair<std::string, int64_t>> functionCounts(const Module &M) {
  std::vector<std::pair<std::string, int64_t>> Counts;
  for (const Function &F : M)
    if (!F.isDeclaration())
      Counts.emplace_back(F.getName().str(), (int64_t)F.getInstructionCount());
  return Counts;
}

/// "name\0instructions\0bytes\0" for each counted function (bytes -1 without Sizes;
/// 0 for a function that emitted no symbol of its own).
std::string perFunction(const std::vector<std::pair<std::string, int64_t>> &Counts,
                        const std::map<std::string, int64_t> *Sizes) {
  std::string Out;
  for (const auto &[Name, Instructions] : Counts) {
    int64_t Bytes = -1;
    if (Sizes) {
      auto It = Sizes->find(Name);
      Bytes = It == Sizes->end() ? 0 : It->second;
    }
    for (const std::string &Field : {Name, std::to_string(Instructions), std::to_string(Bytes)}) {
      Out += Field;
      Out.push_back('\0');
    }
  }
  return Out;
}

/// Run the per-function pipelines of Options on M (after the module pipeline),
/// as the plugin's advice entries do: fresh function analyses for each.
bool runFunctionPipelines(Module &M, PassBuilder &PB, FunctionAnalysisManager &FAM,
                          const EvalOptions &Options, std::string &Message) {
  for (const auto &[Name, Text] : Options.Functions) {
    FunctionPassManager FPM;
    StringRef Inner = Text;
    if (Inner.consume_front("function(") && Inner.consume_back(")"))
      ; // the wrapped form names the same function pipeline
    else
      Inner = Text;
    if (Error E = PB.parsePassPipeline(FPM, Inner)) {
      Message = "invalid function pipeline '" + Text + "' for '" + Name + "': " +
                toString(std::move(E));
      return false;
    }
    Function *F = M.getFunction(Name);
    if (!F || F->isDeclaration())
      continue;  // the module pipeline removed it
    FAM.clear();
    FPM.run(*F, FAM);
  }
  return true;
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
  // opt-22 builds a TargetMachine only for a module that names its triple
  Triple OptTriple(Options.Triple.empty() ? Source.getTargetTriple().str()
                                          : Options.Triple);
  TargetMachine *OptTM = nullptr;
  if (!OptTriple.str().empty() && !(OptTM = machineFor(OptTriple, Options.CPU, Message)))
    return false;
  // A fresh context per evaluation: what an earlier one registered in a shared
  // context (metadata kinds such as loop_constrainer.loop.clone) would be
  // written into this one's bitcode, so output bytes would depend on history.
  LLVMContext Context;
  std::unique_ptr<Module> M = copyInto(Source, Context, Message);
  if (!M)
    return false;
  prepare(*M, OptTM, Options);

  LoopAnalysisManager LAM;
  FunctionAnalysisManager FAM;
  CGSCCAnalysisManager CGAM;
  ModuleAnalysisManager MAM;
  PassBuilder PB(OptTM);
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
  if (!Options.Functions.empty() &&
      !runFunctionPipelines(*M, PB, FAM, Options, Message))
    return false;
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
  std::vector<std::pair<std::string, int64_t>> Counts;
  if (Options.PerFunction)
    Counts = functionCounts(*M);  // before codegen, which changes the IR
  if (Options.Bitcode || Options.Digest) {
    raw_string_ostream OS(Result.Bitcode);
    WriteBitcodeToFile(*M, OS, /*ShouldPreserveUseListOrder=*/true);
  }
  bool Object = Options.Object;
  if (Options.Digest) {
    // what the object depends on: the module and the machine codegen builds for it
    SHA256 Hash;
    Hash.update(Result.Bitcode);
    Hash.update(StringRef("\0", 1));
    Hash.update(OptTM ? OptTriple.str() : std::string(DefaultTriple));
    Hash.update(StringRef("\0", 1));
    Hash.update(Options.CPU);
    Result.Digest = Hash.final();
    Result.CodegenSkipped = Object && !Options.Assembly &&
        std::find(Options.Known.begin(), Options.Known.end(), Result.Digest) != Options.Known.end();
    Object = Object && !Result.CodegenSkipped;
  }
  if (!Options.Bitcode)
    Result.Bitcode.clear();
  if (!Options.Assembly && !Object) {
    if (Options.PerFunction)
      Result.PerFunction = perFunction(Counts, nullptr);
    return true;
  }
  // codegen as llc-22 does it; a module without a triple gets llc's default
  // on a copy (the returned bitcode keeps none)
  TargetMachine *CodeTM = OptTM;
  if (!CodeTM) {
    if (!(CodeTM = machineFor(Triple(DefaultTriple), Options.CPU, Message)))
      return false;
    M->setTargetTriple(CodeTM->getTargetTriple());
    if (M->getDataLayoutStr().empty())
      M->setDataLayout(CodeTM->createDataLayout());
  }
  if (Options.Assembly) {
    std::unique_ptr<Module> Copy = CloneModule(*M);
    SmallVector<char, 0> Asm;
    if (!codegen(*Copy, *CodeTM, CodeGenFileType::AssemblyFile, Asm, Message))
      return false;
    Result.Assembly.assign(Asm.begin(), Asm.end());
  }
  SmallVector<char, 0> Obj;
  if (Object) {
    double C0 = threadSeconds();
    if (!codegen(*M, *CodeTM, CodeGenFileType::ObjectFile, Obj, Message))
      return false;
    Result.CodegenSeconds = threadSeconds() - C0;
    Result.ObjectBytes = (int64_t)Obj.size();
    if (!executableBytes(Obj, Result.TextBytes, Message))
      return false;
  }
  if (Options.PerFunction) {
    std::map<std::string, int64_t> Sizes;
    if (Object)
      Sizes = symbolSizes(Obj);
    Result.PerFunction = perFunction(Counts, Object ? &Sizes : nullptr);
  }
  return true;
}

} // namespace irpipe
