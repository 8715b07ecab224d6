//===- ModelDigest.h - A digest of what the GNN reads of a module ---------===//
//
// The pass plugin's live mode sends it with each advise request: `irpipe serve`
// answers a module whose model input it has already seen (the -fPIC twin of a
// file compiled just before: other bytes, the same program graph) without
// parsing it.  The server only *stores* digests it computed itself from a
// module it parsed (irpipe/data/examples.py, `input_digest`: the same bytes
// hashed the same way), so a wrong digest costs only its sender's answer.
//
//===----------------------------------------------------------------------===//
#ifndef IRPIPE_MODELDIGEST_H
#define IRPIPE_MODELDIGEST_H

#include <string>

namespace llvm {
class Module;
} // namespace llvm

namespace irpipe {

/// SHA-256 (64 lowercase hex digits) of M's program graph (type nodes
/// included), InstCount and Autophase, serialized as `input_digest` does.
std::string modelInputDigest(const llvm::Module &M);

} // namespace irpipe

#endif // IRPIPE_MODELDIGEST_H
