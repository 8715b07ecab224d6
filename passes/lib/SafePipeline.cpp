//===- SafePipeline.cpp - the loop-nest grammar and the forked trial run ---===//
// See include/irpipe/SafePipeline.h.
//===----------------------------------------------------------------------===//
#include "irpipe/SafePipeline.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/StructuralHash.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/ErrorHandling.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

using namespace llvm;

static cl::opt<unsigned> TrialMsOpt(
    "irpipe-trial-ms",
    cl::desc("time limit (ms) of the trial run of an advised pipeline that irpipe has not "
             "verified, in a forked child; 0 = no trial run"),
    cl::init(60000));

namespace irpipe {

unsigned trialTimeoutMs() { return TrialMsOpt; }

namespace {

/// Loop passes that keep MemorySSA up to date in LLVM 22.1.  Each changed loops
/// of a real module under loop-mssa(...) without the abort (passes/README.md);
/// loop-unroll-full, loop-versioning-licm and loop-interchange abort there.
const StringSet<> &preservesMemorySSA() {
  static const StringSet<> Names = {
      "licm",          "lnicm",          "loop-rotate", "loop-instsimplify",
      "loop-simplifycfg", "simple-loop-unswitch", "indvars", "loop-deletion",
      "loop-idiom",    "loop-reduce",    "loop-term-fold", "no-op-loop",
      "no-op-loopnest", "require"};
  return Names;
}

enum class Nest { None, Loop, LoopMSSA };

/// Check one pass of a loop nest.
std::string checkLeaf(StringRef Name, Nest In) {
  if (In == Nest::LoopMSSA && !preservesMemorySSA().contains(Name))
    return ("loop-mssa(...) runs " + Name +
            ", which does not preserve MemorySSA (LLVM aborts once it changes a loop)").str();
  if (In == Nest::Loop && (Name == "licm" || Name == "lnicm"))
    return (Name + " needs MemorySSA but runs in loop(...), not loop-mssa(...) (LLVM aborts)").str();
  return "";
}

/// Walk a comma-separated list of `name<params>(children)` up to a ')' or the end.
std::string walk(StringRef &S, Nest In) {
  while (!S.empty()) {
    size_t End = S.find_first_of("<(,)");
    StringRef Name = S.take_front(End);
    S = S.drop_front(Name.size());
    if (S.starts_with("<")) {  // parameters, possibly nested <...>
      int Depth = 0;
      size_t I = 0;
      for (; I < S.size(); ++I) {
        Depth += S[I] == '<' ? 1 : S[I] == '>' ? -1 : 0;
        if (Depth == 0)
          break;
      }
      S = S.drop_front(std::min(I + 1, S.size()));
    }
    if (S.starts_with("(")) {
      S = S.drop_front();
      Nest Inner = In;
      if (In == Nest::None && Name == "loop-mssa")
        Inner = Nest::LoopMSSA;
      else if (In == Nest::None && Name == "loop")
        Inner = Nest::Loop;
      if (std::string Why = walk(S, Inner); !Why.empty())
        return Why;
      S.consume_front(")");
    } else if (In != Nest::None) {
      if (std::string Why = checkLeaf(Name.trim(), In); !Why.empty())
        return Why;
    }
    if (!S.consume_front(","))
      return "";
  }
  return "";
}

using Clock = std::chrono::steady_clock;

[[noreturn]] void childFatal(void *, const char *Reason, bool) {
  std::string Line = std::string("LLVM ERROR: ") + Reason + "\n";
  ssize_t Ignored = ::write(2, Line.data(), Line.size());
  (void)Ignored;
  ::_exit(70);
}

/// The child: no LLVM signal handlers or fatal-error handler of the host (they
/// would delete the compiler's temporary output files, RemoveFileOnSignal, or
/// longjmp into clang's crash recovery), stdout to /dev/null, stderr to \p ErrFd.
[[noreturn]] void child(Module &M, function_ref<void(Module &)> Body, int ErrFd) {
#ifdef __linux__
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
  for (int Sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS, SIGINT,
                  SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGXCPU, SIGXFSZ, SIGUSR1, SIGUSR2})
    ::signal(Sig, SIG_DFL);
  int Null = ::open("/dev/null", O_RDWR);
  ::dup2(Null, 0);
  ::dup2(Null, 1);
  ::dup2(ErrFd, 2);
  remove_fatal_error_handler();
  install_fatal_error_handler(childFatal, nullptr);
  Body(M);
  if (verifyModule(M, &errs())) {
    errs() << "\nthe module it produced does not verify\n";
    ::_exit(3);
  }
  ::_exit(0);
}

/// Read the child's stderr until EOF or \p Deadline (false); keeps the first 64 KiB.
bool drain(int Fd, std::string &Out, Clock::time_point Deadline) {
  char Buf[4096];
  for (;;) {
    auto Left = std::chrono::duration_cast<std::chrono::milliseconds>(Deadline - Clock::now());
    if (Left.count() <= 0)
      return false;
    pollfd P{Fd, POLLIN, 0};
    int R = ::poll(&P, 1, static_cast<int>(Left.count()));
    if (R < 0 && errno == EINTR)
      continue;
    if (R <= 0)
      return R == 0 ? false : true;
    ssize_t N = ::read(Fd, Buf, sizeof(Buf));
    if (N < 0 && errno == EINTR)
      continue;
    if (N <= 0)
      return true;
    if (Out.size() < (64u << 10))
      Out.append(Buf, static_cast<size_t>(N));
  }
}

/// The line of the child's stderr that says what went wrong (one line, short).
std::string firstLine(StringRef Err) {
  StringRef Pick;
  for (StringRef Line : split(Err, '\n')) {
    Line = Line.trim();
    if (Line.empty())
      continue;
    if (Pick.empty())
      Pick = Line;
    if (Line.contains("LLVM ERROR") || Line.contains("does not verify")) {
      Pick = Line;
      break;
    }
  }
  return Pick.take_front(300).str();
}

/// Wait for \p Pid until \p Deadline, then kill it; its verdict ("" = success).
std::string reap(pid_t Pid, bool TimedOut, StringRef Err, unsigned TimeoutMs,
                 Clock::time_point Deadline) {
  int Status = 0;
  if (TimedOut)
    ::kill(Pid, SIGKILL);
  for (;;) {
    pid_t R = ::waitpid(Pid, &Status, TimedOut ? 0 : WNOHANG);
    if (R == Pid)
      break;
    if (R < 0 && errno != EINTR)
      return std::string("lost the trial child: ") + std::strerror(errno);
    if (R == 0 && Clock::now() >= Deadline) {
      TimedOut = true;
      ::kill(Pid, SIGKILL);
    } else if (R == 0) {
      ::usleep(2000);
    }
  }
  std::string Said = firstLine(Err);
  if (TimedOut)
    return "its trial run did not finish within " + std::to_string(TimeoutMs) + " ms";
  if (WIFEXITED(Status) && WEXITSTATUS(Status) == 0)
    return "";
  std::string How = WIFSIGNALED(Status)
                        ? "killed by signal " + std::to_string(WTERMSIG(Status)) + " (" +
                              ::strsignal(WTERMSIG(Status)) + ")"
                        : "exit status " + std::to_string(WEXITSTATUS(Status));
  return "its trial run failed (" + (Said.empty() ? How : Said + "; " + How) + ")";
}

std::string forkTrial(Module &M, function_ref<void(Module &)> Body, unsigned TimeoutMs) {
  int P[2];
  if (::pipe2(P, O_CLOEXEC) != 0)
    return std::string("no trial run possible (pipe: ") + std::strerror(errno) + ")";
  auto Deadline = Clock::now() + std::chrono::milliseconds(TimeoutMs);
  pid_t Pid = ::fork();
  if (Pid < 0) {
    ::close(P[0]);
    ::close(P[1]);
    return std::string("no trial run possible (fork: ") + std::strerror(errno) + ")";
  }
  if (Pid == 0)
    child(M, Body, P[1]);
  ::close(P[1]);
  std::string Err;
  bool Finished = drain(P[0], Err, Deadline);
  ::close(P[0]);
  return reap(Pid, !Finished, Err, TimeoutMs, Deadline);
}

} // namespace

std::string unsafeNest(StringRef Text) {
  StringRef S = Text;
  return walk(S, Nest::None);
}

std::string trialRun(Module &M, StringRef Key, function_ref<void(Module &)> Body,
                     unsigned TimeoutMs) {
  static std::mutex Lock;
  static std::map<std::pair<uint64_t, std::string>, std::string> Verdicts;
  std::pair<uint64_t, std::string> K{StructuralHash(M, /*DetailedHash=*/true), Key.str()};
  {
    std::lock_guard<std::mutex> G(Lock);
    if (auto It = Verdicts.find(K); It != Verdicts.end())
      return It->second;
  }
  std::string Verdict = forkTrial(M, Body, TimeoutMs);
  std::lock_guard<std::mutex> G(Lock);
  Verdicts.emplace(std::move(K), Verdict);
  return Verdict;
}

} // namespace irpipe
