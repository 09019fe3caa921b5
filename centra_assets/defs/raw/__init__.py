"""The raw stage: every Centra data type pulled into day partitions of Parquet files."""
