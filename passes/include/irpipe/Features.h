//===- Features.h - CompilerGym's InstCount and Autophase on LLVM 22 ------===//
//
// InstCount (70 values) and Autophase (56 values) with CompilerGym's names,
// order and definitions.  A `Function *Only` restricts the count to one
// function (per-function features); null counts the whole module.
//
//===----------------------------------------------------------------------===//
#ifndef IRPIPE_FEATURES_H
#define IRPIPE_FEATURES_H

#include <cstdint>

namespace llvm {
class Function;
class Module;
} // namespace llvm

namespace irpipe {

constexpr int InstCountSize = 70;
constexpr int AutophaseSize = 56;

extern const char *const InstCountNames[InstCountSize];
extern const char *const AutophaseNames[AutophaseSize];

/// Fill Out[0..70) with InstCount of M (or of Only when not null).
void computeInstCount(const llvm::Module &M, const llvm::Function *Only,
                      int64_t *Out);

/// Fill Out[0..56) with Autophase of M (or of Only when not null).
void computeAutophase(const llvm::Module &M, const llvm::Function *Only,
                      int64_t *Out);

} // namespace irpipe

#endif // IRPIPE_FEATURES_H
