"""The store layer: offline embeddings, the Chroma collection, ingest of the corpus."""
