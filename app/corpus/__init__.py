"""The corpus layer: typed question bank, rubric and guides, loaded from `corpus/`."""
