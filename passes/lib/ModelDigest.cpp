//===- ModelDigest.cpp - A digest of what the GNN reads of a module -------===//
#include "irpipe/ModelDigest.h"

#include "irpipe/Features.h"
#include "irpipe/ProgramGraph.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/SHA256.h"

#include <cstdint>
#include <vector>

using namespace llvm;

namespace irpipe {
namespace {

/// Little-endian bytes of V (x86-64 and every target LLVM 22 runs irpipe on).
template <typename T> void put(SHA256 &H, const T &V) {
  H.update(ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(&V), sizeof(T)));
}

template <typename T> void putArray(SHA256 &H, const std::vector<T> &A) {
  put(H, static_cast<uint64_t>(A.size()));
  H.update(ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(A.data()), A.size() * sizeof(T)));
}

void putStrings(SHA256 &H, const std::vector<std::string> &S) {
  put(H, static_cast<uint64_t>(S.size()));
  for (const std::string &Text : S) {
    H.update(Text);
    H.update(StringRef("\0", 1));
  }
}

} // namespace

std::string modelInputDigest(const Module &M) {
  ProgramGraph G;
  GraphOptions Options;
  Options.Types = true;
  buildProgramGraph(M, nullptr, Options, G);
  int64_t Counts[InstCountSize], Autophase[AutophaseSize];
  computeInstCount(M, nullptr, Counts);
  computeAutophase(M, nullptr, Autophase);
  SHA256 H;
  H.update(StringRef("irpipe-model-input-1\0", 21));
  putArray(H, G.NodeType);
  putArray(H, G.NodeText);
  putArray(H, G.NodeFunction);
  putArray(H, G.NodeBlock);
  putArray(H, G.EdgeSource);
  putArray(H, G.EdgeTarget);
  putArray(H, G.EdgeFlow);
  putArray(H, G.EdgePosition);
  putStrings(H, G.Texts);
  putStrings(H, G.Functions);
  for (int64_t V : Counts)
    put(H, V);
  for (int64_t V : Autophase)
    put(H, V);
  return toHex(H.final(), /*LowerCase=*/true);
}

} // namespace irpipe
