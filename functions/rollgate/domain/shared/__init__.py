"""What every workflow shares: the request and record models, the ports, the error vocabulary,
validation, alias routing, smoke tests and reverts.
"""
