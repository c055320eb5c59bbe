// Rings touching a shop: flagged rings whose members reviewed or ordered there.
// Parameters: $merchant_id (string).
MATCH (m:Merchant {merchant_id: $merchant_id})
MATCH (a:RingMember)-[:MEMBER_OF]->(r:Ring)
WHERE EXISTS { (a)-[:WROTE]->(:Review)-[:ABOUT]->(m) } OR EXISTS { (a)-[:PLACED]->(:Order)-[:AT]->(m) }
RETURN r.ring_id AS ring, r.evidence AS evidence, r.ring_type AS ring_type, count(DISTINCT a) AS members_active
ORDER BY evidence DESC
