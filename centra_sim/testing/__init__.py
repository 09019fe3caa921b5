"""Support shared by the tests and the benchmarks: a simulator served in process with a gql client for it, real
PostgreSQL and S3 servers on 127.0.0.1, and Dagster runs launched as the daemon would."""
