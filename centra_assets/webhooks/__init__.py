"""The Centra webhook receiver: signature check, durable event store, HTTP app. Knows nothing of Dagster."""
