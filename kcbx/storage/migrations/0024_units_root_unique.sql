-- 0024: a district (the root of a county's tree: no parent) is unique by name, as every
-- other unit is by (parent, kind, name). The UNIQUE of 0001 treats NULL parents as distinct,
-- so two importers adding the same district at once could both insert it; with this index
-- the second one's INSERT ... ON CONFLICT DO NOTHING finds the first one's row. Only
-- districts: `kcbx db copy` writes every unit without its parent first, then the parents.
CREATE UNIQUE INDEX units_root ON units(name) WHERE parent_id IS NULL AND kind = 'district';
