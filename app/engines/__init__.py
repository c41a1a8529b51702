"""The model seam and its two engines: offline (default) and LLM (OpenAI-compatible)."""
