# lit configuration for the pass plugin's tests (lit + filecheck from PyPI).
import os
import shutil

import lit.formats

config.name = "irpipe-plugin"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".ll", ".test"]
config.test_source_root = os.path.dirname(__file__)
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
plugin = os.path.join(root, "build", "lib", "libIRPipe.so")
if not os.path.exists(plugin):
    lit_config.fatal(f"{plugin} is missing: run `make native` first")
config.environment["PATH"] = os.environ["PATH"]
config.substitutions.append(("%plugin", plugin))
config.substitutions.append(("%opt", shutil.which("opt-22") or "opt-22"))
config.substitutions.append(("%clang", shutil.which("clang-22") or "clang-22"))
config.substitutions.append(("%FileCheck", "filecheck"))
