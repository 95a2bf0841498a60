"""The graph system of record: domain model, `GraphStore`, backends, lineage. Imports nothing else of ours."""
