"""`python -m rollgate_local.bridge`: the source fingerprints of every patched symbol at the installed moto,
by module, to paste into that module's FINGERPRINTS after re-reading its patches."""

from rollgate_local.bridge import print_fingerprints

print_fingerprints()
