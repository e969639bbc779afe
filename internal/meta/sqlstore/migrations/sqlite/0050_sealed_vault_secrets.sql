-- Key Vault secret values are sealed (AES-GCM under the server's key
-- file) by package keyvault; rows written before hold plain text
-- (sealed = 0) until the server seals them on start.
ALTER TABLE key_vault_secrets ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;
