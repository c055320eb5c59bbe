// Top rings: the flagged rings of the current run, most suspicious first.
// Parameters: $limit (integer) - how many rings.
MATCH (r:Ring)
OPTIONAL MATCH (a:RingMember)-[:MEMBER_OF]->(r)
RETURN r.ring_id AS ring, r.evidence AS evidence, r.ring_type AS ring_type, count(a) AS members, r.reasons AS reasons
ORDER BY evidence DESC, ring
LIMIT $limit
