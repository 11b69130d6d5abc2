-- 0032: a village's place on the map (WGS-84 degrees), from the roster's 经度/纬度 or 坐标
-- column. A visit's location is then told as the nearest village ("银坪村附近（约0.8公里）")
-- rather than as raw numbers. Optional: units without them are as before.
ALTER TABLE units ADD COLUMN latitude REAL;
ALTER TABLE units ADD COLUMN longitude REAL;
