"""ComPile-style extraction: recipes -> sources -> sandboxed builds -> bitcode -> shards.

Everything here is Ray-free; :mod:`irpipe.extract.job` wires it to Ray.
"""
