"""Labels: pipeline evaluation, the action space, autotuning search and the label job."""
