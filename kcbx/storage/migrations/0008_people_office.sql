-- 0008: the office of district staff (A3). The administrator, the district leaders and the
-- bureau staff belong to the district (their unit), but a county's roster places them in the
-- department they work in (区教育局): it is kept as their office, so they stay findable there.
ALTER TABLE people ADD COLUMN office_id INTEGER REFERENCES units(id);
CREATE INDEX people_office ON people(office_id);
