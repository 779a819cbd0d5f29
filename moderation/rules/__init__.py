"""The rule language and the one decision: parsing, the compiled form, word evidence, the SQL
form. No Django."""
