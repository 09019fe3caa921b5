"""The realtime stage: sensors turning "Centra says this changed" into refreshed partitions."""
