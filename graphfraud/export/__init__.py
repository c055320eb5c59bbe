"""Writers: tables, run outputs and case files (all I/O lives here and in neo4j/)."""
