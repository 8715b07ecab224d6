"""Apply a trained model: predict candidate pipelines for a module (and, later, apply and serve)."""
