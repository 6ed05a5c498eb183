"""The Remediate workflow: an alarm or an operator says a function is unwell; find the culprit and put it back."""
