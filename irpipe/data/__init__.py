"""Readers, splits and model inputs built from irpipe datasets (not HF ``datasets``)."""
