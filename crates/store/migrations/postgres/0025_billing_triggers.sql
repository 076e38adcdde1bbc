-- Billing triggers say when they fire: every `trigger_multiplier` days, months or years, on
-- `trigger_start_day` (of `trigger_start_month`, yearly). NULL follows the billing options: a
-- monthly trigger fires on each period's first day. Charges and statements now keep their own
-- cursors: `billed_through` is the first day not yet charged, `stated_through` the first day of
-- the first period without a statement.
ALTER TABLE billing_options ADD COLUMN trigger_multiplier INTEGER CHECK (trigger_multiplier BETWEEN 1 AND 31);
ALTER TABLE billing_options ADD COLUMN trigger_start_day INTEGER CHECK (trigger_start_day BETWEEN 1 AND 31);
ALTER TABLE billing_options ADD COLUMN trigger_start_month INTEGER CHECK (trigger_start_month BETWEEN 1 AND 12);
ALTER TABLE billing_options ADD COLUMN stated_through DATE;
UPDATE billing_options SET stated_through = billed_through;
