// One ring's evidence subgraph: its members, the identifiers they share and the shops involved.
// Parameters: $ring_id (string) - e.g. from the top rings query.
MATCH (r:Ring {ring_id: $ring_id})
MATCH membership = (a:RingMember)-[:MEMBER_OF]->(r)
OPTIONAL MATCH shared = (a)-[:USES_DEVICE|PAYS_WITH|SHIPS_TO|HAS_PHONE|USES_IP]->(x)<-[:EVIDENCE]-(r)
OPTIONAL MATCH shops = (r)-[:EVIDENCE]->(:Merchant)
RETURN membership, shared, shops
