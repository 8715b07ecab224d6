"""One exception tree for irpipe.

Every error irpipe raises on purpose derives from :class:`IrpipeError`; each
subclass also inherits the builtin that fits, so callers that only know Python's
builtins (``except ValueError``) still catch them.  Messages are one line that
names the problem and, where it helps, what *is* supported.
"""

from __future__ import annotations



def printable(text: str) -> str:
    """``text`` with lone surrogates (undecodable bytes of a file name) as backslash escapes
    (error messages name files; here so that every layer can use it)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class IrpipeError(Exception):
    """Base class of every error raised by irpipe."""


class PathError(IrpipeError, OSError):
    """A file or directory named by the user is missing, of the wrong kind (a directory where
    a file belongs, a FIFO, a device) or cannot be written where it was asked to go."""


class ToolError(IrpipeError, OSError):
    """An LLVM (or other external) tool is missing, has the wrong version or failed."""


class ToolNotFound(ToolError, FileNotFoundError):
    """A required tool is not on PATH."""


class ToolVersionMismatch(ToolError):
    """A tool was found but reports an unsupported version."""


class ToolFailed(ToolError):
    """A tool ran and exited non-zero; the message ends with its stderr tail."""


class ToolTimeout(ToolError, TimeoutError):
    """A tool ran past its time limit and was killed."""


class IRError(IrpipeError, ValueError):
    """LLVM IR or bitcode that cannot be read (corrupt, truncated, wrong LLVM version)."""


class MLIRError(IRError):
    """MLIR text that cannot be read: a syntax error, an unknown dialect or op, a failed verifier."""


class LoweringError(IrpipeError, RuntimeError):
    """A well-formed MLIR module that the compiler cannot lower or run (e.g. an unsupported op)."""


class RecipeError(IrpipeError, ValueError):
    """A recipe TOML is malformed (unknown key, missing field, bad value)."""


class FetchError(IrpipeError, OSError):
    """A package's sources could not be fetched (unknown package or version, no network)."""


class BuildError(IrpipeError, RuntimeError):
    """A package or benchmark build failed (a benchmark's does not compile or link); carries
    the log tail."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail


class BuildTimeout(BuildError, TimeoutError):
    """A package build ran past its time limit."""


class LicenseError(IrpipeError, ValueError):
    """A package's license is not in the allow-list (or cannot be determined)."""


class SchemaError(IrpipeError, ValueError):
    """A table does not conform to its declared schema or has another schema version."""


class ConfigError(IrpipeError, ValueError):
    """A config, vocabulary or checkpoint file is missing, malformed or of another version."""


class ModelError(IrpipeError, ValueError):
    """A model cannot be trained, loaded or applied (no data, mismatched checkpoint)."""


class EvalError(IrpipeError, ValueError):
    """An evaluation has nothing to evaluate (empty split, nothing measurable)."""


class GymError(IrpipeError, ValueError):
    """The gym environment was asked for something it does not have (an unknown environment,
    space, option or benchmark)."""


class InvalidAction(GymError):
    """``env.step`` got an action that is not in the action space (negative, out of range,
    a float, a bool, not an integer, or an unknown pass name)."""


class JobError(IrpipeError, RuntimeError):
    """A Ray job cannot start (e.g. no temporary folder short enough for Ray's sockets)."""


# --- measuring (irpipe.label) ---------------------------------------------------------------

class EvaluationError(IRError):
    """One evaluation failed: the pipeline does not parse, LLVM crashed or hung, bad IR.

    Not :class:`EvalError` (an evaluation with nothing to evaluate): this one is a single
    measurement that failed, and callers skip that pipeline and go on."""


class Miscompile(EvaluationError):
    """The optimized program's output differs from the -O0 build's."""


class Nondeterministic(EvaluationError):
    """The program's -O0 output differs between two runs: it cannot be checked."""


class NotRunnable(EvaluationError):
    """The module has no ``main`` or does not link / run."""


class NotLoaded(IRError):
    """The measuring child has no cached module under this key (first use, or a restarted
    child): the parent sends the module and asks again."""


# --- benchmarks (irpipe.bench) --------------------------------------------------------------

class SuiteError(ConfigError):
    """A benchmark.toml is malformed or names files that do not exist."""


class RunFailed(IrpipeError, RuntimeError):
    """A benchmark program exited non-zero or was killed by a signal."""


class RunTimeout(RunFailed, TimeoutError):
    """A benchmark program ran past its benchmark's time limit and was killed."""


# --- serving (irpipe.optimize) --------------------------------------------------------------

class ServeError(ToolError):
    """The server cannot start (socket path taken, not ours), or cannot be reached."""


class ProtocolError(IrpipeError, ValueError):
    """A message breaks the serve protocol: bad framing, not JSON, not a valid request or reply."""


class FramingError(ProtocolError):
    """The byte stream cannot be read on (frame too long, cut short): the connection ends."""


class NotServed(ProtocolError):
    """The server cannot take an optimize job now (its queue is full, or it predates op
    optimize): the client does the work itself."""


class AdvisorProtocolError(ToolError):
    """The compiler's stream is not LLVM's interactive (MLGO) advisor protocol, or was cut short."""
