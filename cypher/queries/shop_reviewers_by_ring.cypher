// A shop's reviewers grouped by ring: how much of its reputation comes from flagged rings.
// Parameters: $merchant_id (string).
MATCH (m:Merchant {merchant_id: $merchant_id})<-[:ABOUT]-(rv:Review)<-[:WROTE]-(a:Account)
OPTIONAL MATCH (a)-[:MEMBER_OF]->(r:Ring)
RETURN coalesce(r.ring_id, 'not in a ring') AS ring, count(DISTINCT a) AS accounts, count(rv) AS reviews,
       avg(rv.rating) AS average_rating
ORDER BY reviews DESC
