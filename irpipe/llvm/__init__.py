"""LLVM 22 access: tools (subprocess) and IR (llvmlite, in-process)."""
