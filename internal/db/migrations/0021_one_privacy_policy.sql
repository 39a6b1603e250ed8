-- The company's own privacy policy is one setting, in its privacy profile
-- (policy_url). The messaging settings' privacy_url, which messages used
-- to link instead of avis's information notice, moves there when the
-- profile has none; messages now always link to the information notice,
-- which links the company's policy.
INSERT INTO privacy_profiles (tenant_id, policy_url, updated_at)
    SELECT m.tenant_id, m.privacy_url, m.updated_at FROM messaging_settings m
    WHERE m.privacy_url <> '' AND NOT EXISTS (SELECT 1 FROM privacy_profiles p WHERE p.tenant_id = m.tenant_id);
UPDATE privacy_profiles SET policy_url = (SELECT m.privacy_url FROM messaging_settings m WHERE m.tenant_id = privacy_profiles.tenant_id)
    WHERE policy_url = '' AND EXISTS (SELECT 1 FROM messaging_settings m WHERE m.tenant_id = privacy_profiles.tenant_id AND m.privacy_url <> '');
ALTER TABLE messaging_settings DROP COLUMN privacy_url;
