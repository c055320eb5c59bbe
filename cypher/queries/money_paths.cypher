// Money paths shop -> organiser -> buyers: who a shop pays, and which buyers those payers pay back.
// Parameters: $merchant_id (string), $limit (integer).
MATCH (m:Merchant {merchant_id: $merchant_id})-[:OWNS]->(:PaymentAccount)-[funded:TRANSFERRED]->(org:PaymentAccount)
MATCH (org)-[paid:TRANSFERRED]->(:PaymentAccount)<-[:PAYS_WITH]-(buyer:Account)
RETURN org.payment_account_id AS organiser, sum(DISTINCT funded.amount) AS from_shop,
       count(DISTINCT buyer) AS buyers, count(paid) AS payouts, sum(paid.amount) AS paid_out
ORDER BY buyers DESC
LIMIT $limit
