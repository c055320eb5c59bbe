// Reviews of a shop in a burst window: who reviewed between $from and $from + $hours, ring members marked.
// Parameters: $merchant_id (string), $from (ISO 8601 date-time string), $hours (integer).
MATCH (m:Merchant {merchant_id: $merchant_id})<-[:ABOUT]-(rv:Review)<-[:WROTE]-(a:Account)
WHERE rv.created_at >= datetime($from) AND rv.created_at < datetime($from) + duration({hours: $hours})
RETURN a.account_id AS account, a:RingMember AS ring_member, rv.rating AS rating, rv.text AS text,
       rv.created_at AS at
ORDER BY at
