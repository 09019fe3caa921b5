"""Talking to Centra's GraphQL Integration API: client, pacing, retries, typed errors, pagination."""
