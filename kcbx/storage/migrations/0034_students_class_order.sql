-- A page of a class's students (the /report buttons) is read in its order from the index,
-- without sorting the class at every press; the index on class_id alone is its prefix.
CREATE INDEX students_class_order ON students(class_id, grade, name, id);
DROP INDEX students_class;
