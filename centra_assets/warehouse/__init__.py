"""Where data lands: partition paths, atomic Parquet writes and merges. Knows nothing of Centra."""
