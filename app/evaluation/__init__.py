"""`coach eval`: suites of assertions and labelled datasets, measured against human labels."""
