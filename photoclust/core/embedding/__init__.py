"""Semantic embeddings of photos: model registry, devices, the pipelined engine, the store."""
