"""The row sources each resource type is built from (queries and loaders; mapping is in
`ketaflow.fhir.mappers`)."""
