-- A vendor device belongs to one account: at most one registration that is not retired per vendor
-- device. OCPP and OCPP_WALLBOX share one namespace, the charge point identity, so a charger is
-- one device whichever of the two it was onboarded under. Registrations that already share a
-- device keep the oldest; the later ones are retired first.
UPDATE devices SET lifecycle = 'RETIRED', state = 'RETIRED', retired_at = updated_at, version = version + 1
WHERE lifecycle <> 'RETIRED' AND EXISTS (
    SELECT 1 FROM devices older
    WHERE older.lifecycle <> 'RETIRED'
      AND older.integration_device_id = devices.integration_device_id
      AND (CASE WHEN older.provider IN ('OCPP', 'OCPP_WALLBOX') THEN 'OCPP' ELSE older.provider END)
        = (CASE WHEN devices.provider IN ('OCPP', 'OCPP_WALLBOX') THEN 'OCPP' ELSE devices.provider END)
      AND (older.created_at < devices.created_at OR (older.created_at = devices.created_at AND older.id < devices.id))
);
CREATE UNIQUE INDEX devices_one_registration ON devices (
    (CASE WHEN provider IN ('OCPP', 'OCPP_WALLBOX') THEN 'OCPP' ELSE provider END),
    integration_device_id
) WHERE lifecycle <> 'RETIRED';

-- What a charge point is rated for, from the catalogue entry it was onboarded as: the most current
-- per phase and the phases it can supply. No profile asks for more.
ALTER TABLE ocpp_charge_points ADD COLUMN rated_amperes DOUBLE PRECISION;
ALTER TABLE ocpp_charge_points ADD COLUMN rated_phases BIGINT;
