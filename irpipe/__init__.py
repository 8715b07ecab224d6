"""irpipe: a compiler-IR dataset and ML optimizer pipeline on LLVM 22."""

__version__ = "0.1.0"
