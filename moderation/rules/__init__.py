"""The rule language and the one decision: the tree, its parser, the compiled form, word
evidence and the SQL form. No Django."""
