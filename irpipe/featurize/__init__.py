"""Features and program graphs for every module of a dataset (``irpipe featurize``)."""
