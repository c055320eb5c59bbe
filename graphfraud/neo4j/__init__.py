"""Neo4j: the investigators' shared workspace (I/O layer).

All Cypher goes through one :class:`~graphfraud.neo4j.gateway.Gateway`; statements are
generated from :data:`graphfraud.schema.GRAPH_SCHEMA` and always parameterised.
"""
