# lit configuration for irpipe's CLI contracts (lit + filecheck from PyPI).
import os

import lit.formats

config.name = "irpipe-cli"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".test", ".ll"]
config.test_source_root = os.path.dirname(__file__)
config.environment["PATH"] = os.environ["PATH"]
config.environment["RAY_AUTH_MODE"] = "disabled"
config.substitutions.append(("%FileCheck", "filecheck"))
config.substitutions.append(("%{path}", os.environ["PATH"]))
config.substitutions.append(("%{irpipe}", __import__("shutil").which("irpipe")))
