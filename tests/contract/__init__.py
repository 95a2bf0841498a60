"""Tests that hold for every graph backend (embedded ArcadeDB, Neo4j)."""
