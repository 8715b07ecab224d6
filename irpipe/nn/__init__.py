"""irpipe.nn: the model parts, each a small ``torch.nn.Module``.

``gnn.GraphEncoder``        ProGraML-style message passing over program graphs (PyG HeteroData)
``transformer.TokenEncoder`` a transformer over IR tokens, one chunk per function
``heads``                   ``PipelineEncoder``, ``CostHead``, ``PolicyHead``, ``GlobalFeatures``

and, without torch, for inference: ``numpy_model.NumpyModel`` (the whole model's forward
pass, ``numpy_encoders`` its two encoders) and ``checkpoint_files`` (reading a checkpoint).

Nothing is imported here, so that ``irpipe --help`` does not import torch:
import the submodules (``from irpipe.nn.gnn import GraphEncoder``).
"""
