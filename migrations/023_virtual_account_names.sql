-- Virtual Accounts are created, renamed and deleted by administrators. A
-- name is unique in its Smart Account whatever its case, as people read
-- them: "Sales" and "SALES" are one name. The index holds that under
-- concurrent changes; the store maps its violation to "name taken".
CREATE UNIQUE INDEX virtual_accounts_name_folded_key ON virtual_accounts (smart_account_id, lower(name));
