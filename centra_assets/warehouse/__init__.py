"""Where data lands: file access (files), the raw layout (layout), atomic publishing (publish), the turns between
builds and publishes (turns), Parquet partitions (parquet). Knows nothing of Centra, nor of Dagster."""
