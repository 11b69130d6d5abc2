-- 0024: a root unit (a district: no parent) is unique by kind and name, as every other unit
-- is by (parent, kind, name). The UNIQUE of 0001 treats NULL parents as distinct, so two
-- importers adding the same district at once could both insert it; with this index the
-- second one's INSERT ... ON CONFLICT DO NOTHING finds the first one's row.
CREATE UNIQUE INDEX units_root ON units(kind, name) WHERE parent_id IS NULL;
