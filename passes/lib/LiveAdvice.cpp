//===- LiveAdvice.cpp - ask a running `irpipe serve` for a module's pipeline ===//
//
// USAGE:
//   irpipe serve --socket /tmp/irpipe.sock &
//   opt-22 -load-pass-plugin=libIRPipe.so -passes=irpipe-apply -irpipe-server=/tmp/irpipe.sock in.ll
//   clang-22 -O2 -fpass-plugin=libIRPipe.so -mllvm -irpipe-server=/tmp/irpipe.sock -c a.c
//
//   clang-22 -O3 -fpass-plugin=libIRPipe.so -mllvm -irpipe-server=/tmp/irpipe.sock \
//            -mllvm -irpipe-objective=speed -c a.c      (per-loop decisions, LoopAdvice.h)
//
// The request is irpipe serve's framed JSON (4-byte big-endian length + JSON):
// {"op": "advise", "module": <base64 bitcode>, "objective": ..., "source": ...,
// "digest": <the model input's digest, irpipe/ModelDigest.h>}.
// The socket must belong to this user (or root).  The whole exchange has a strict deadline (-irpipe-timeout-ms, default 500);
// a server that is absent, slow, or answers anything but {"ok": true,
// "pipeline": "<text>"} costs one warning and the module keeps the default
// pipeline.  The speed objective asks {"op": "loops", "loops": [<loop records>],
// "unroll_and_jam": b, "distribute": b} per function and wants {"ok": true,
// "loops": {id: decisions}} back (one warning for the process otherwise).
//===----------------------------------------------------------------------===//
#include "irpipe/ApplyAdvice.h"
#include "irpipe/LoopAdvice.h"
#include "irpipe/ModelDigest.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Base64.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

using namespace llvm;

static cl::opt<std::string> ServerOpt("irpipe-server",
                                      cl::desc("Unix socket of a running `irpipe serve`"),
                                      cl::init(""));
static cl::opt<unsigned> TimeoutOpt("irpipe-timeout-ms",
                                    cl::desc("deadline for one answer of irpipe serve"),
                                    cl::init(500));
static cl::opt<std::string> ObjectiveOpt(
    "irpipe-objective",
    cl::desc("size or instcount: irpipe serve chooses the module's pipeline; speed: the default "
             "pipeline stays and irpipe serve decides each loop at the vectorizer start"),
    cl::init("size"));

namespace irpipe {

std::string serverSocket() { return optionOrEnv(ServerOpt, "IRPIPE_SERVER"); }

namespace {
using Clock = std::chrono::steady_clock;

/// Wait for \p Events on \p Fd until \p Deadline; false on timeout or error.
bool waitFor(int Fd, short Events, Clock::time_point Deadline) {
  for (;;) {
    auto Left = std::chrono::duration_cast<std::chrono::milliseconds>(Deadline - Clock::now());
    if (Left.count() <= 0)
      return false;
    pollfd P{Fd, Events, 0};
    int R = ::poll(&P, 1, static_cast<int>(Left.count()));
    if (R > 0)
      return (P.revents & Events) != 0;
    if (R == 0 || errno != EINTR)
      return false;
  }
}

/// Send (\p Out) or receive all \p Size bytes before \p Deadline.
bool transfer(int Fd, char *Data, size_t Size, bool Out, Clock::time_point Deadline) {
  while (Size) {
    if (!waitFor(Fd, Out ? POLLOUT : POLLIN, Deadline))
      return false;
    ssize_t N = Out ? ::send(Fd, Data, Size, MSG_NOSIGNAL) : ::recv(Fd, Data, Size, 0);
    if (N < 0 && (errno == EAGAIN || errno == EINTR))
      continue;
    if (N <= 0)
      return false;
    Data += N;
    Size -= static_cast<size_t>(N);
  }
  return true;
}

struct Fd {
  int V;
  ~Fd() {
    if (V >= 0)
      ::close(V);
  }
};
} // namespace

namespace {
/// One exchange with the server at \p Path: \p Req out, its answer back when it is a JSON
/// object with "ok": true; otherwise \p Fail(why) and nullopt.  The whole exchange has
/// the -irpipe-timeout-ms deadline.
std::optional<json::Object> exchange(const std::string &Path, json::Object Req,
                                     function_ref<void(const Twine &)> Fail) {
  auto Deadline = Clock::now() + std::chrono::milliseconds(TimeoutOpt);
  // Only a server run by this user (or root) may choose our pipelines.
  struct stat St;
  if (::stat(Path.c_str(), &St) != 0)
    return Fail(Twine("cannot connect: ") + std::strerror(errno)), std::nullopt;
  if (!S_ISSOCK(St.st_mode))
    return Fail("not a socket"), std::nullopt;
  if (St.st_uid != ::getuid() && St.st_uid != 0)
    return Fail("the socket is owned by uid " + Twine(St.st_uid) + ", not by this user"), std::nullopt;
  std::string Body;
  raw_string_ostream(Body) << json::Value(std::move(Req));

  sockaddr_un Addr{};
  Addr.sun_family = AF_UNIX;
  if (Path.size() >= sizeof(Addr.sun_path))
    return Fail("socket path too long"), std::nullopt;
  std::memcpy(Addr.sun_path, Path.c_str(), Path.size() + 1);
  Fd S{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
  if (S.V < 0)
    return Fail(std::strerror(errno)), std::nullopt;
  if (::connect(S.V, reinterpret_cast<sockaddr *>(&Addr), sizeof(Addr)) != 0 &&
      !(errno == EINPROGRESS || errno == EAGAIN))
    return Fail(Twine("cannot connect: ") + std::strerror(errno)), std::nullopt;
  uint32_t Len = static_cast<uint32_t>(Body.size());
  char Head[4] = {char(Len >> 24), char(Len >> 16), char(Len >> 8), char(Len)};
  if (!transfer(S.V, Head, 4, true, Deadline) || !transfer(S.V, Body.data(), Body.size(), true, Deadline))
    return Fail("no answer within " + Twine(TimeoutOpt) + " ms (send)"), std::nullopt;
  unsigned char RHead[4];
  if (!transfer(S.V, reinterpret_cast<char *>(RHead), 4, false, Deadline))
    return Fail("no answer within " + Twine(TimeoutOpt) + " ms"), std::nullopt;
  uint32_t RLen = (uint32_t(RHead[0]) << 24) | (uint32_t(RHead[1]) << 16) |
                  (uint32_t(RHead[2]) << 8) | uint32_t(RHead[3]);
  if (RLen > (1u << 20))
    return Fail("answer too long (" + Twine(RLen) + " bytes): not irpipe serve?"), std::nullopt;
  std::string Answer(RLen, '\0');
  if (!transfer(S.V, Answer.data(), RLen, false, Deadline))
    return Fail("no answer within " + Twine(TimeoutOpt) + " ms"), std::nullopt;
  Expected<json::Value> V = json::parse(Answer);
  if (!V)
    return Fail("answer is not JSON (" + toString(V.takeError()) + ")"), std::nullopt;
  json::Object *O = V->getAsObject();
  if (!O)
    return Fail("answer is not a JSON object"), std::nullopt;
  if (O->getBoolean("ok") != true) {
    std::optional<StringRef> Error = O->getString("error");
    return Fail("refused" + (Error ? ": " + Error->str() : std::string())), std::nullopt;
  }
  return std::move(*O);
}

/// Set once a live loops request failed: the process stops asking (LoopAdvice.h, "Live mode").
std::atomic<bool> LoopServerFailed{false};
} // namespace

bool liveLoopsRequested() { return ObjectiveOpt == "speed" && !serverSocket().empty(); }

bool liveLoopsGaveUp() { return LoopServerFailed; }

std::optional<json::Object> askServer(const std::string &Path, const Module &M) {
  auto Fallback = [&](const Twine &Why) {
    warn("irpipe serve at " + Path + ": " + Why + "; keeping the default pipeline");
  };
  SmallVector<char, 0> Bitcode;
  raw_svector_ostream BOS(Bitcode);
  WriteBitcodeToFile(M, BOS);
  json::Object Req{{"op", "advise"},
                   {"module", encodeBase64(Bitcode)},
                   {"objective", ObjectiveOpt},
                   {"source", M.getSourceFileName()},
                   // lets the server answer a model input it has seen without a parse
                   {"digest", modelInputDigest(M)}};
  std::optional<json::Object> O = exchange(Path, std::move(Req), Fallback);
  if (!O)
    return std::nullopt;
  if (!O->getString("pipeline"))
    return Fallback("answer without a pipeline"), std::nullopt;
  return json::Object{{"pipeline", std::string(*O->getString("pipeline"))}};
}

std::optional<json::Object> askServerLoops(const std::string &Path, json::Array Listing,
                                           bool UnrollAndJam, bool Distribute) {
  if (LoopServerFailed)
    return std::nullopt;
  auto Fallback = [&](const Twine &Why) {
    if (!LoopServerFailed.exchange(true))  // one warning per process: it stops asking
      warn("irpipe serve at " + Path + ": " + Why + "; loops keep LLVM's choices (no more live loop "
           "requests in this compile)");
  };
  json::Object Req{{"op", "loops"}, {"loops", std::move(Listing)},
                   {"unroll_and_jam", UnrollAndJam}, {"distribute", Distribute}};
  std::optional<json::Object> O = exchange(Path, std::move(Req), Fallback);
  if (!O)
    return std::nullopt;
  json::Object *Loops = O->getObject("loops");
  if (!Loops)
    return Fallback("answer without \"loops\""), std::nullopt;
  return std::move(*Loops);
}

} // namespace irpipe
