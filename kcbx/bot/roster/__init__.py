"""A county's roster in: its spreadsheets (units, staff, students) read, checked and imported.

- ``vocabulary``: the words the roster uses, as data a county can extend (roles, unit types,
  A9 categories, relations, grades, departments, column headers);
- ``cells``, ``fields``: one cell as offices type it; ``layout``: the sheets and their headers;
- ``reader``: a file into records and located errors (pure);
- ``tree``, ``resolver``, ``cadres``: the names the rows use, against the stored units;
- ``departments``: the A6/A9 departments found by name, and what is left without a liaison;
- ``importer``: all of it in one transaction; ``report``: the outcome, problems grouped.
"""
