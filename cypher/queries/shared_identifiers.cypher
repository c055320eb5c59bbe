// Accounts sharing a device or a payment account with one account.
// Parameters: $account_id (string).
MATCH (a:Account {account_id: $account_id})-[:USES_DEVICE|PAYS_WITH]->(x)<-[:USES_DEVICE|PAYS_WITH]-(b:Account)
WHERE b <> a
RETURN labels(x)[0] AS kind, coalesce(x.device_id, x.payment_account_id) AS identifier,
       count(DISTINCT b) AS accounts, collect(DISTINCT b.account_id)[..25] AS sample
ORDER BY accounts DESC
